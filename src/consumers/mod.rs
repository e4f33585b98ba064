//! What the warehouse's readers get besides the Parquet itself: the BigQuery external tables
//! that expose it ([`bigquery`]), spreadsheet exports of a table ([`export`]) and a static HTML
//! report of the marts ([`report`]). Each reads the warehouse through [`crate::warehouse`].

pub mod bigquery;
pub mod export;
pub mod report;
