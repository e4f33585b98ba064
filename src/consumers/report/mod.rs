//! `kpi-etl report`: a static HTML page of the marts that a manager opens without any server.
//!
//! Three charts with the tables behind them: conversion and win rate by first-contact channel
//! (kpi_sales_daily), target attainment by agent on the last day of the range
//! (kpi_target_attainment), and service level by day and channel group
//! (kpi_contact_center_daily). Ratios are re-aggregated from their numerators and denominators.

mod svg;

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::error::{Context, Error, Result};
use chrono::NaiveDate;
use chrono_tz::Tz;
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::prelude::SessionContext;

use crate::warehouse::Warehouse;
use svg::esc;

/// Rows of a query as text cells (NULL as None).
async fn rows(ctx: &SessionContext, sql: &str) -> Result<Vec<Vec<Option<String>>>> {
    let batches: Vec<RecordBatch> = ctx.sql(sql).await?.collect().await?;
    let mut out = Vec::new();
    for b in batches {
        let cols: Vec<_> = b
            .columns()
            .iter()
            .map(|c| cast(c, &DataType::Utf8))
            .collect::<std::result::Result<_, _>>()?;
        for i in 0..b.num_rows() {
            out.push(
                cols.iter()
                    .map(|c| {
                        let c = c.as_string::<i32>();
                        (!c.is_null(i)).then(|| c.value(i).to_string())
                    })
                    .collect(),
            );
        }
    }
    Ok(out)
}

fn num(v: &Option<String>) -> f64 {
    v.as_deref().and_then(|s| s.parse().ok()).unwrap_or(0.0)
}

fn pct(v: f64) -> String {
    format!("{:.1}%", v * 100.0)
}

fn table(head: &[&str], body: &[Vec<Option<String>>]) -> String {
    let mut s = String::from("<table><tr>");
    for h in head {
        let _ = write!(s, "<th>{}</th>", esc(h));
    }
    s.push_str("</tr>");
    for r in body {
        s.push_str("<tr>");
        for c in r {
            let _ = write!(s, "<td>{}</td>", esc(c.as_deref().unwrap_or("")));
        }
        s.push_str("</tr>");
    }
    s.push_str("</table>");
    s
}

/// A query result as rows of optional texts.
type Rows = Vec<Vec<Option<String>>>;

/// Builds the report page for local dates `from..=to` of the warehouse.
pub async fn render(warehouse: &str, tz: Tz, from: NaiveDate, to: NaiveDate) -> Result<String> {
    let (ctx, tables) = Warehouse::open(warehouse)?.session(tz).await?;
    for t in [
        "kpi_sales_daily",
        "kpi_target_attainment",
        "kpi_contact_center_daily",
    ] {
        if !tables.iter().any(|x| x.name == t) {
            return Err(Error::Usage(format!(
                "{warehouse} has no {t}: run the pipeline first"
            )));
        }
    }
    let range = format!("dt BETWEEN DATE '{from}' AND DATE '{to}'");
    let mut html = header(from, to);
    html.push_str(&sales_section(&rows(&ctx, &sales_sql(&range)).await?));
    html.push_str(&attainment_section(
        &rows(&ctx, &attainment_sql(&range)).await?,
    ));
    html.push_str(&service_section(&rows(&ctx, &service_sql(&range)).await?)?);
    html.push_str("</body></html>\n");
    Ok(html)
}

fn sales_sql(range: &str) -> String {
    format!(
        "SELECT channel, SUM(leads_created), SUM(leads_converted), SUM(opportunities_created), SUM(opportunities_won), SUM(opportunities_lost),
                SUM(leads_converted) / NULLIF(CAST(SUM(leads_created) AS DOUBLE), 0),
                SUM(opportunities_won) / NULLIF(CAST(SUM(opportunities_won + opportunities_lost) AS DOUBLE), 0),
                SUM(won_amount), SUM(orders), SUM(order_amount)
         FROM kpi_sales_daily WHERE {range} GROUP BY channel ORDER BY SUM(leads_created) DESC, channel"
    )
}

fn attainment_sql(range: &str) -> String {
    format!(
        "SELECT COALESCE(a.name, t.agent_id), t.quota_amount, t.won_amount_mtd, t.attainment, CAST(t.dt AS VARCHAR)
         FROM kpi_target_attainment t
         LEFT JOIN (SELECT agent_id, name FROM dim_agent WHERE is_current) a ON a.agent_id = t.agent_id
         WHERE t.dt = (SELECT MAX(dt) FROM kpi_target_attainment WHERE {range})
         ORDER BY t.attainment DESC NULLS LAST"
    )
}

fn service_sql(range: &str) -> String {
    format!(
        "SELECT CAST(dt AS VARCHAR), CASE WHEN channel = 'whatsapp' THEN 'WhatsApp' ELSE 'Voice' END AS grp,
                SUM(answered_within_sl) / NULLIF(CAST(SUM(offered) AS DOUBLE), 0), SUM(offered), SUM(answered), SUM(abandoned)
         FROM kpi_contact_center_daily WHERE {range} GROUP BY 1, 2 ORDER BY 1, 2"
    )
}

/// The page up to its first section.
fn header(from: NaiveDate, to: NaiveDate) -> String {
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sales and contact-centre KPIs {from} to {to}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:900px;margin:2em auto;color:#222}}h1{{font-size:1.5em}}h2{{font-size:1.2em;margin-top:2em}}
table{{border-collapse:collapse;font-size:.85em;margin-top:.5em}}td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}td:first-child,th:first-child{{text-align:left}}</style></head><body>
<h1>Sales and contact-centre KPIs</h1><p>Local dates {from} to {to}. Ratios are recomputed from their numerators and denominators over the whole range.</p>"#
    )
}

/// `rows` with the columns `cols` shown as percentages.
fn with_percentages(rows: &Rows, cols: &[usize]) -> Rows {
    rows.iter()
        .map(|r| {
            let mut r = r.clone();
            for &c in cols {
                r[c] = r[c].as_ref().map(|v| pct(v.parse().unwrap_or(0.0)));
            }
            r
        })
        .collect()
}

/// Conversion by first-contact channel: two bar charts and the table.
fn sales_section(sales: &Rows) -> String {
    let mut html = String::from(
        "<h2>Conversion by first-contact channel</h2><p>Win rate: won / (won + lost) opportunities closed in the range.</p>",
    );
    let labels: Vec<String> = sales
        .iter()
        .map(|r| r[0].clone().unwrap_or_default())
        .collect();
    let column = |i: usize| sales.iter().map(|r| num(&r[i])).collect::<Vec<_>>();
    html.push_str(&svg::bars(&labels, &column(7), pct, None));
    html.push_str("<p>Lead conversion: leads converted / leads created.</p>");
    html.push_str(&svg::bars(&labels, &column(6), pct, None));
    html.push_str(&table(
        &[
            "channel",
            "leads",
            "converted",
            "opportunities",
            "won",
            "lost",
            "lead conversion",
            "win rate",
            "won amount",
            "orders",
            "order amount",
        ],
        &with_percentages(sales, &[6, 7]),
    ));
    html
}

/// Target attainment by agent on the last day of the range: bars against 100 % and the table.
fn attainment_section(attainment: &Rows) -> String {
    let day = attainment
        .first()
        .and_then(|r| r[4].clone())
        .unwrap_or_default();
    let mut html = format!(
        "<h2>Target attainment by agent on {}</h2><p>Won amount month to date / quota; the dashed line is 100%.</p>",
        esc(&day)
    );
    let names: Vec<String> = attainment
        .iter()
        .map(|r| r[0].clone().unwrap_or_default())
        .collect();
    let values: Vec<f64> = attainment.iter().map(|r| num(&r[3])).collect();
    html.push_str(&svg::bars(&names, &values, pct, Some(1.0)));
    let body: Rows = attainment.iter().map(|r| r[..4].to_vec()).collect();
    html.push_str(&table(
        &["agent", "quota", "won month to date", "attainment"],
        &with_percentages(&body, &[3]),
    ));
    html
}

/// Service level by day and channel group: a line chart and the table.
fn service_section(service: &Rows) -> Result<String> {
    let mut html = String::from(
        "<h2>Service level by day</h2><p>Contacts answered within the service-level threshold / contacts offered.</p>",
    );
    let mut days: Vec<String> = service.iter().filter_map(|r| r[0].clone()).collect();
    days.dedup();
    let mut by_group: BTreeMap<String, Vec<Option<f64>>> = BTreeMap::new();
    for r in service {
        let i = days
            .iter()
            .position(|d| Some(d) == r[0].as_ref())
            .context("day")?;
        let g = by_group
            .entry(r[1].clone().unwrap_or_default())
            .or_insert_with(|| vec![None; days.len()]);
        g[i] = r[2].as_deref().and_then(|v| v.parse().ok());
    }
    html.push_str(&svg::lines(
        &days,
        &by_group.into_iter().collect::<Vec<_>>(),
    ));
    html.push_str(&table(
        &[
            "day",
            "channel",
            "service level",
            "offered",
            "answered",
            "abandoned",
        ],
        &with_percentages(service, &[2]),
    ));
    Ok(html)
}
