//! Load: the partitioned Parquet writer, BigQuery-safe types, atomic publishing, and reading
//! written tables back as listing tables.

pub mod listing;
pub mod publish;
pub mod types;
pub mod writer;
