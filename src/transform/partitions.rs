//! The partitions a model rebuilds, written into its plan as literal dates.
//!
//! A model reads the partitions it rebuilds as the table `__partitions` (`WHERE dt IN (SELECT
//! dt FROM __partitions)`). A subquery cannot prune anything while the query is planned, so
//! every upstream table would be listed and scanned whole, every night: a night's cost would
//! grow with the warehouse's history. Once the dates are known, each uncorrelated `IN`
//! subquery that reads nothing but `__partitions` is evaluated (it is a handful of rows) and
//! replaced by the list of its values, which the planner pushes down to the tables' partition
//! directories like any literal filter.

use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::logical_expr::expr::{InList, InSubquery};
use datafusion::logical_expr::{Expr, LogicalPlan};
use datafusion::prelude::{DataFrame, SessionContext, lit};
use datafusion::scalar::ScalarValue;

use crate::error::Result;

/// The table holding the partitions a model rebuilds.
pub const TABLE: &str = "__partitions";

/// `planned` with every `x [NOT] IN (SELECT ... FROM __partitions)` replaced by `x [NOT] IN
/// (<its values>)`. `__partitions` must hold its final rows.
pub async fn inline(ctx: &SessionContext, planned: DataFrame) -> Result<DataFrame> {
    let (state, plan) = planned.into_parts();
    let mut subqueries: Vec<LogicalPlan> = Vec::new();
    plan.apply_with_subqueries(|node| {
        node.apply_expressions(|e| {
            e.apply(|e| {
                if let Expr::InSubquery(s) = e
                    && reads_only_partitions(s)
                    && !subqueries.contains(&s.subquery.subquery)
                {
                    subqueries.push(s.subquery.subquery.as_ref().clone());
                }
                Ok(TreeNodeRecursion::Continue)
            })
        })
    })?;
    if subqueries.is_empty() {
        return Ok(DataFrame::new(state, plan));
    }
    let mut values: Vec<Vec<Expr>> = Vec::with_capacity(subqueries.len());
    for sub in &subqueries {
        let batches = ctx
            .execute_logical_plan(sub.clone())
            .await?
            .collect()
            .await?;
        let mut list: Vec<ScalarValue> = Vec::new();
        for b in &batches {
            for i in 0..b.num_rows() {
                let v = ScalarValue::try_from_array(b.column(0), i)?;
                if !list.contains(&v) {
                    list.push(v);
                }
            }
        }
        values.push(list.into_iter().map(lit).collect());
    }
    let plan = plan
        .transform_up_with_subqueries(|node| {
            node.map_expressions(|e| {
                e.transform_up(|e| match e {
                    Expr::InSubquery(s) if reads_only_partitions(&s) => {
                        match subqueries
                            .iter()
                            .position(|p| p == s.subquery.subquery.as_ref())
                        {
                            Some(i) => Ok(Transformed::yes(Expr::InList(InList::new(
                                s.expr,
                                values[i].clone(),
                                s.negated,
                            )))),
                            None => Ok(Transformed::no(Expr::InSubquery(s))),
                        }
                    }
                    other => Ok(Transformed::no(other)),
                })
            })
        })?
        .data;
    Ok(DataFrame::new(state, plan))
}

/// Whether the subquery is uncorrelated and scans `__partitions` and no other table.
fn reads_only_partitions(s: &InSubquery) -> bool {
    if !s.subquery.outer_ref_columns.is_empty() {
        return false;
    }
    let (mut partitions, mut others) = (false, false);
    let _ = s.subquery.subquery.apply_with_subqueries(|n| {
        if let LogicalPlan::TableScan(scan) = n {
            if scan.table_name.table() == TABLE {
                partitions = true;
            } else {
                others = true;
            }
        }
        Ok(TreeNodeRecursion::Continue)
    });
    partitions && !others
}
