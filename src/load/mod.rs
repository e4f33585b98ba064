//! Load: the partitioned Parquet writer, BigQuery-safe types, and atomic publishing.

pub mod publish;
pub mod types;
pub mod writer;
