//! The SQL the runner builds around a model: how a night's rows combine with the published
//! table (`merge` or `replace`), what later models see as the table, and its `__changed` and
//! `__previous` rows. Pure functions from table names and columns to SQL text, so that each is
//! tested on the text it emits (`tests/it/incremental.rs`) as well as end to end.
//!
//! The tables they name are registered by the runner:
//! - `new`: the rows the model's query produced this night;
//! - `old`: the published table (partition column last);
//! - `staged`: what the night wrote to staging for this model.

use crate::sql::{in_dates, quote};

/// The names the runner registers for one model's intermediate tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tables {
    /// The night's rows (`__new_<model>`).
    pub new: String,
    /// The published table (`__old_<model>`).
    pub old: String,
    /// What the night staged (`__staged_<model>`).
    pub staged: String,
}

impl Tables {
    /// The intermediate tables of `model`.
    pub fn of(model: &str) -> Self {
        Self {
            new: format!("__new_{model}"),
            old: format!("__old_{model}"),
            staged: staged_table(model),
        }
    }
}

/// The name under which a model's staged rows are registered (the data tests read it).
pub fn staged_table(model: &str) -> String {
    format!("__staged_{model}")
}

/// What the builders need to know of one model.
#[derive(Debug, Clone, Copy)]
pub struct Shape<'a> {
    /// Intermediate table names.
    pub tables: &'a Tables,
    /// The model's columns in output order (partition column included where the model has
    /// one), unquoted.
    pub columns: &'a [String],
    /// The partition column, if any.
    pub partition: Option<&'a str>,
    /// The merge key, unquoted.
    pub key: &'a [String],
    /// The partitions the night rebuilds or touches (`Date32` days).
    pub touched: &'a [i32],
}

impl Shape<'_> {
    fn cols(&self) -> String {
        self.columns
            .iter()
            .map(|c| quote(c))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn in_touched(&self, qualifier: &str) -> Option<String> {
        self.partition
            .map(|p| in_dates(&format!("{qualifier}{}", quote(p)), self.touched))
    }

    /// The merge key of `left` and `right` compared NULL-safely: a key column may be NULL (an
    /// empty queue_log data field), and `=` is never true on NULL.
    fn key_match(&self, left: &str, right: &str) -> String {
        self.key
            .iter()
            .map(|k| {
                format!(
                    "({left}.{k} IS NOT DISTINCT FROM {right}.{k})",
                    k = quote(k)
                )
            })
            .collect::<Vec<_>>()
            .join(" AND ")
    }
}

/// The published rows of the partitions the night touches (the whole table when unpartitioned).
pub fn old_in_touched(s: &Shape) -> String {
    let base = format!("SELECT {} FROM {}", s.cols(), quote(&s.tables.old));
    match s.in_touched("") {
        Some(cond) => format!("{base} WHERE {cond}"),
        None => base,
    }
}

/// `replace`: the night's rows are the whole new content of what they touch.
pub fn replace_content(s: &Shape) -> String {
    format!("SELECT {} FROM {}", s.cols(), quote(&s.tables.new))
}

/// `merge`: the night's rows and the published rows of the touched partitions, one row per key:
/// the first by `latest_by` (an ORDER BY list that may use `__source_rank`, 0 for the night's
/// rows and 1 for the published ones), or the night's row when `latest_by` is `None`.
pub fn merge_content(s: &Shape, has_old: bool, latest_by: Option<&str>) -> String {
    let cols = s.cols();
    let mut unioned = format!(
        "SELECT {cols}, 0 AS __source_rank FROM {}",
        quote(&s.tables.new)
    );
    if has_old {
        unioned = format!(
            "{unioned} UNION ALL SELECT *, 1 AS __source_rank FROM ({}) AS o",
            old_in_touched(s)
        );
    }
    let key: Vec<String> = s.key.iter().map(|k| quote(k)).collect();
    let order = latest_by.unwrap_or("__source_rank");
    format!(
        "SELECT {cols} FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY {} ORDER BY {order}) AS __keep FROM ({unioned}) AS u) AS k WHERE __keep = 1",
        key.join(", ")
    )
}

/// `delete_insert`: the night's rows, plus the published rows (of the touched partitions) whose
/// key the night's rows do not hold.
pub fn delete_insert_content(s: &Shape, has_old: bool) -> String {
    let new = format!("SELECT {} FROM {}", s.cols(), quote(&s.tables.new));
    if !has_old {
        return new;
    }
    format!(
        "{new} UNION ALL SELECT * FROM ({}) AS o WHERE NOT EXISTS (SELECT 1 FROM {} AS n WHERE {})",
        old_in_touched(s),
        quote(&s.tables.new),
        s.key_match("n", "o")
    )
}

/// The published partitions among the rebuilt ones (each must be rewritten, empty if need be).
pub fn old_partitions_among(s: &Shape) -> Option<String> {
    let p = s.partition?;
    Some(format!(
        "SELECT DISTINCT {} FROM {} WHERE {}",
        quote(p),
        quote(&s.tables.old),
        in_dates(&quote(p), s.touched)
    ))
}

/// The table as later models see it: the staged rows, plus the published partitions the night
/// did not touch; or the published table when the night wrote nothing.
pub fn table_view(s: &Shape, wrote: bool) -> String {
    let staged = quote(&s.tables.staged);
    let old = quote(&s.tables.old);
    match (wrote, s.in_touched("")) {
        (true, Some(cond)) => {
            format!("SELECT * FROM {staged} UNION ALL SELECT * FROM {old} WHERE NOT ({cond})")
        }
        (true, None) => format!("SELECT * FROM {staged}"),
        (false, _) => format!("SELECT * FROM {old}"),
    }
}

/// The rows after and before the night, for what it touched: the keys of the night's rows
/// (`merge` and `delete_insert`, `by_key`) or the touched partitions (`replace`).
pub fn after_and_before(s: &Shape, by_key: bool) -> (String, String) {
    let staged = quote(&s.tables.staged);
    let old = quote(&s.tables.old);
    if by_key {
        let semi = |table: &str| {
            format!(
                "SELECT s.* FROM {table} AS s WHERE EXISTS (SELECT 1 FROM {} AS n WHERE {})",
                quote(&s.tables.new),
                s.key_match("n", "s")
            )
        };
        let before = match s.in_touched("s.") {
            Some(cond) => format!("{} AND {cond}", semi(&old)),
            None => semi(&old),
        };
        (semi(&staged), before)
    } else {
        let before = match s.in_touched("") {
            Some(cond) => format!("SELECT * FROM {old} WHERE {cond}"),
            None => format!("SELECT * FROM {old}"),
        };
        (format!("SELECT * FROM {staged}"), before)
    }
}

/// `<model>__changed`: rows the night added or altered.
pub fn changed(after: &str, before: &str) -> String {
    format!("SELECT * FROM ({after}) AS a EXCEPT SELECT * FROM ({before}) AS b")
}

/// `<model>__previous`: rows the night removed or altered, as they were.
pub fn previous(after: &str, before: &str) -> String {
    format!("SELECT * FROM ({before}) AS b EXCEPT SELECT * FROM ({after}) AS a")
}

/// Both `<model>__changed` and `<model>__previous` in one pass: the distinct rows found on
/// one side only, with `__after` true for those of `after` (changed) and false for those of
/// `before` (previous). Grouping compares NULLs as equal, as EXCEPT does.
pub fn changes(s: &Shape, after: &str, before: &str) -> String {
    let cols = s.cols();
    format!(
        "SELECT {cols}, BOOL_AND(__after) AS __after FROM (SELECT *, TRUE AS __after FROM ({after}) AS a UNION ALL SELECT *, FALSE AS __after FROM ({before}) AS b) AS u GROUP BY {cols} HAVING BOOL_AND(__after) = BOOL_OR(__after)"
    )
}

/// One side of what [`changes`] computed into `table`: the changed rows (`after`) or the
/// previous ones.
pub fn changes_side(table: &str, after: bool) -> String {
    let side = if after { "" } else { "NOT " };
    format!(
        "SELECT * EXCLUDE (__after) FROM {} WHERE {side}__after",
        quote(table)
    )
}

/// The distinct partition values of the night's rows.
pub fn produced_partitions(s: &Shape) -> Option<String> {
    let p = s.partition?;
    Some(format!(
        "SELECT DISTINCT {} FROM {}",
        quote(p),
        quote(&s.tables.new)
    ))
}
