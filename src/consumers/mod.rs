//! What the warehouse's readers get besides the Parquet itself: the BigQuery external tables
//! that expose it ([`bigquery`]) and spreadsheet exports of a table ([`export`]).

pub mod bigquery;
pub mod export;
pub mod published;
