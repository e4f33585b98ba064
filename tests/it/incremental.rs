//! The SQL the runner builds around a model, as text: merge, replace, the table view, and the
//! `__changed` and `__previous` rows.

use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::prelude::SessionContext;
use kpi_etl::transform::incremental::{
    Shape, Tables, after_and_before, changed, changes, changes_side, merge_content, old_in_touched,
    old_partitions_among, previous, replace_content, table_view,
};
use kpi_etl::transform::partitions;

fn shape<'a>(
    tables: &'a Tables,
    columns: &'a [String],
    key: &'a [String],
    daily: bool,
) -> Shape<'a> {
    Shape {
        tables,
        columns,
        partition: daily.then_some("dt"),
        key,
        // 2026-10-20 and 2026-10-21.
        touched: &[20746, 20747],
    }
}

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn merge_keeps_one_row_per_key_from_the_night_and_the_touched_partitions() {
    let t = Tables::of("stg_cdr");
    let cols = names(&["uniqueid", "sequence", "dt"]);
    let key = names(&["uniqueid", "sequence"]);
    let s = shape(&t, &cols, &key, true);
    assert_eq!(
        old_in_touched(&s),
        r#"SELECT "uniqueid", "sequence", "dt" FROM "__old_stg_cdr" WHERE "dt" IN (DATE '2026-10-20', DATE '2026-10-21')"#
    );
    assert_eq!(
        merge_content(&s, true, None),
        r#"SELECT "uniqueid", "sequence", "dt" FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY "uniqueid", "sequence" ORDER BY __source_rank) AS __keep FROM (SELECT "uniqueid", "sequence", "dt", 0 AS __source_rank FROM "__new_stg_cdr" UNION ALL SELECT *, 1 AS __source_rank FROM (SELECT "uniqueid", "sequence", "dt" FROM "__old_stg_cdr" WHERE "dt" IN (DATE '2026-10-20', DATE '2026-10-21')) AS o) AS u) AS k WHERE __keep = 1"#
    );
    // Without a published table, only the night's rows; `latest_by` orders the candidates.
    let first = merge_content(&s, false, Some("landed_on DESC"));
    assert!(!first.contains("__old_"), "{first}");
    assert!(first.contains("ORDER BY landed_on DESC"), "{first}");
}

#[test]
fn replace_takes_the_nights_rows_and_rewrites_the_published_partitions() {
    let t = Tables::of("kpi_sales_daily");
    let cols = names(&["channel", "dt"]);
    let s = shape(&t, &cols, &[], true);
    assert_eq!(
        replace_content(&s),
        r#"SELECT "channel", "dt" FROM "__new_kpi_sales_daily""#
    );
    assert_eq!(
        old_partitions_among(&s).unwrap(),
        r#"SELECT DISTINCT "dt" FROM "__old_kpi_sales_daily" WHERE "dt" IN (DATE '2026-10-20', DATE '2026-10-21')"#
    );
    let whole = Tables::of("dim_agent");
    assert!(old_partitions_among(&shape(&whole, &cols, &[], false)).is_none());
}

#[test]
fn the_table_view_is_the_staged_partitions_plus_the_untouched_ones() {
    let t = Tables::of("fact_call");
    let cols = names(&["call_id", "dt"]);
    let s = shape(&t, &cols, &[], true);
    assert_eq!(
        table_view(&s, true),
        r#"SELECT * FROM "__staged_fact_call" UNION ALL SELECT * FROM "__old_fact_call" WHERE NOT ("dt" IN (DATE '2026-10-20', DATE '2026-10-21'))"#
    );
    assert_eq!(table_view(&s, false), r#"SELECT * FROM "__old_fact_call""#);
    let whole = shape(&t, &cols, &[], false);
    assert_eq!(
        table_view(&whole, true),
        r#"SELECT * FROM "__staged_fact_call""#
    );
}

#[test]
fn changes_compare_the_rows_of_what_the_night_touched() {
    let t = Tables::of("dim_agent");
    let cols = names(&["agent_id", "valid_from"]);
    let key = names(&["agent_id", "valid_from"]);
    let s = shape(&t, &cols, &key, false);
    let (after, before) = after_and_before(&s, true);
    assert_eq!(
        after,
        r#"SELECT s.* FROM "__staged_dim_agent" AS s WHERE EXISTS (SELECT 1 FROM "__new_dim_agent" AS n WHERE (n."agent_id" IS NOT DISTINCT FROM s."agent_id") AND (n."valid_from" IS NOT DISTINCT FROM s."valid_from"))"#
    );
    assert_eq!(
        before,
        r#"SELECT s.* FROM "__old_dim_agent" AS s WHERE EXISTS (SELECT 1 FROM "__new_dim_agent" AS n WHERE (n."agent_id" IS NOT DISTINCT FROM s."agent_id") AND (n."valid_from" IS NOT DISTINCT FROM s."valid_from"))"#
    );
    assert_eq!(
        changed("A", "B"),
        "SELECT * FROM (A) AS a EXCEPT SELECT * FROM (B) AS b"
    );
    assert_eq!(
        previous("A", "B"),
        "SELECT * FROM (B) AS b EXCEPT SELECT * FROM (A) AS a"
    );
    // A daily merge compares the published rows of the touched partitions only; a replace, the
    // touched partitions whole.
    let daily = shape(&t, &cols, &key, true);
    let (_, before) = after_and_before(&daily, true);
    assert!(
        before.ends_with(r#"AND s."dt" IN (DATE '2026-10-20', DATE '2026-10-21')"#),
        "{before}"
    );
    let (after, before) = after_and_before(&daily, false);
    assert_eq!(after, r#"SELECT * FROM "__staged_dim_agent""#);
    assert_eq!(
        before,
        r#"SELECT * FROM "__old_dim_agent" WHERE "dt" IN (DATE '2026-10-20', DATE '2026-10-21')"#
    );
}

/// The sorted rows of `sql` in `ctx`, as a table.
async fn rows(ctx: &SessionContext, sql: &str) -> String {
    let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
    pretty_format_batches(&batches).unwrap().to_string()
}

#[tokio::test]
async fn one_pass_changes_equal_the_two_excepts_with_nulls_and_duplicates() {
    let ctx = SessionContext::new();
    // After: (1, x) kept, (2, NULL) kept with a NULL, (3, y) new, (4, z) twice.
    ctx.sql("CREATE VIEW a AS SELECT * FROM (VALUES (1, 'x'), (2, NULL), (3, 'y'), (4, 'z'), (4, 'z')) AS t(k, v)")
        .await
        .unwrap();
    // Before: the same (1, x) and (2, NULL), (3, old) edited, (5, w) gone.
    ctx.sql("CREATE VIEW b AS SELECT * FROM (VALUES (1, 'x'), (2, NULL), (3, 'old'), (5, 'w')) AS t(k, v)")
        .await
        .unwrap();
    let t = Tables::of("t");
    let cols = names(&["k", "v"]);
    let key = names(&["k"]);
    let s = shape(&t, &cols, &key, false);
    let both = changes(&s, "SELECT * FROM a", "SELECT * FROM b");
    ctx.sql(&format!("CREATE TABLE c AS {both}")).await.unwrap();
    for after in [true, false] {
        let one_pass = rows(&ctx, &format!("{} ORDER BY k", changes_side("c", after))).await;
        let except = if after {
            changed("SELECT * FROM a", "SELECT * FROM b")
        } else {
            previous("SELECT * FROM a", "SELECT * FROM b")
        };
        let two_pass = rows(&ctx, &format!("SELECT * FROM ({except}) ORDER BY k")).await;
        assert_eq!(one_pass, two_pass, "after = {after}");
    }
    let changed_rows = rows(&ctx, &format!("{} ORDER BY k", changes_side("c", true))).await;
    assert!(changed_rows.contains("| 3 | y |") && changed_rows.contains("| 4 | z |"));
    assert!(!changed_rows.contains("| 2 |"), "{changed_rows}");
}

#[tokio::test]
async fn the_partitions_a_model_rebuilds_reach_its_plan_as_literal_dates() {
    let ctx = SessionContext::new();
    ctx.sql("CREATE TABLE __partitions AS SELECT * FROM (VALUES (DATE '2026-10-20'), (DATE '2026-10-21'), (DATE '2026-10-21')) AS t(dt)")
        .await
        .unwrap();
    ctx.sql("CREATE TABLE f AS SELECT * FROM (VALUES (DATE '2026-10-19', 1), (DATE '2026-10-20', 2), (DATE '2026-10-21', 3)) AS t(dt, n)")
        .await
        .unwrap();
    let sql = "SELECT n FROM f WHERE dt IN (SELECT dt FROM __partitions) \
               AND n NOT IN (SELECT n FROM f WHERE dt IN (SELECT dt FROM __partitions) AND n = 3) \
               ORDER BY n";
    let planned = ctx.sql(sql).await.unwrap();
    let inlined = partitions::inline(&ctx, planned).await.unwrap();
    let plan = inlined.logical_plan().display_indent().to_string();
    assert!(
        plan.contains(r#"IN ([Date32("2026-10-20"), Date32("2026-10-21")])"#),
        "{plan}"
    );
    // The subquery that also reads `f` is kept; only those reading `__partitions` alone go.
    assert_eq!(plan.matches("__partitions").count(), 0, "{plan}");
    assert!(plan.contains("NOT IN (<subquery>)"), "{plan}");
    let batches = inlined.collect().await.unwrap();
    let got = pretty_format_batches(&batches).unwrap().to_string();
    assert_eq!(got, rows(&ctx, sql).await);
    assert!(
        got.contains("| 2 |") && !got.contains("| 3 |") && !got.contains("| 1 |"),
        "{got}"
    );

    // No partitions to rebuild: the list is empty and no row is read.
    ctx.sql("CREATE OR REPLACE TABLE __partitions AS SELECT dt FROM f WHERE FALSE")
        .await
        .unwrap();
    let planned = ctx.sql(sql).await.unwrap();
    let empty = partitions::inline(&ctx, planned)
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert_eq!(empty.iter().map(|b| b.num_rows()).sum::<usize>(), 0);
}

#[test]
fn identifiers_are_quoted_and_no_dates_is_false() {
    let t = Tables::of("we\"ird");
    let cols = names(&["a\"b", "dt"]);
    let s = Shape {
        tables: &t,
        columns: &cols,
        partition: Some("dt"),
        key: &[],
        touched: &[],
    };
    assert_eq!(
        old_in_touched(&s),
        r#"SELECT "a""b", "dt" FROM "__old_we""ird" WHERE FALSE"#
    );
}

#[test]
fn delete_insert_replaces_every_published_row_of_the_keys_it_holds() {
    let t = Tables::of("int_phone_agent_touches");
    let cols = names(&["phone_hash", "agent_id", "first_touch_date"]);
    let key = names(&["phone_hash"]);
    let s = shape(&t, &cols, &key, false);
    assert_eq!(
        kpi_etl::transform::incremental::delete_insert_content(&s, true),
        r#"SELECT "phone_hash", "agent_id", "first_touch_date" FROM "__new_int_phone_agent_touches" UNION ALL SELECT * FROM (SELECT "phone_hash", "agent_id", "first_touch_date" FROM "__old_int_phone_agent_touches") AS o WHERE NOT EXISTS (SELECT 1 FROM "__new_int_phone_agent_touches" AS n WHERE (n."phone_hash" IS NOT DISTINCT FROM o."phone_hash"))"#
    );
    assert_eq!(
        kpi_etl::transform::incremental::delete_insert_content(&s, false),
        r#"SELECT "phone_hash", "agent_id", "first_touch_date" FROM "__new_int_phone_agent_touches""#
    );
}
