//! kpi-etl: contact-centre telephony and CRM dumps into a sales-KPI warehouse.
//!
//! The crate reads like the pipeline runs, each layer using only the layers below it:
//!
//! | layer | modules |
//! |---|---|
//! | what readers get | [`consumers`]: BigQuery DDL, spreadsheet export, the HTML report |
//! | one night | [`run`]: extract, transform, test and publish a landing date; artifacts |
//! | reading back | [`warehouse`]: the published tables, their schemas, a query session |
//! | models | [`transform`]: SQL models, compiled and run incrementally; their unit cases |
//! | checks, load | [`checks`]: data tests; [`load`]: Parquet writer, publishing, listing |
//! | extract | [`extract`]: the raw sources of the landing zone as DataFusion tables |
//! | ground | [`config`], [`storage`], [`pii`], [`sql`], [`error`] |
//!
//! The command line (`src/main.rs`, `src/cli/`) sits on top. The sample-data generator is
//! the separate crate `kpi-etl-generate`, an independent oracle that shares no code with this
//! one.

#![warn(missing_docs)]

pub mod checks;
pub mod config;
pub mod consumers;
pub mod error;
pub mod extract;
pub mod load;
pub mod pii;
pub mod run;
pub mod sql;
pub mod storage;
pub mod transform;
pub mod warehouse;

pub use error::{Error, Result};
