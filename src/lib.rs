//! kpi-etl: contact-centre telephony and CRM dumps into a sales-KPI warehouse.
//!
//! The crate reads like the pipeline runs:
//!
//! - [`extract`]: the raw sources of the landing zone (Asterisk CDR and queue_log, WhatsApp
//!   webhooks, Salesforce exports) as DataFusion tables, with rejects for malformed rows;
//! - [`transform`]: the SQL models of `pipelines/` and the SQL functions they use;
//! - [`load`]: the partitioned Parquet writer and atomic publishing;
//! - [`checks`]: data tests declared next to the models, run before publishing;
//! - [`run`]: one night (or a backfill of many) from landing to published warehouse;
//! - [`generate`]: a realistic raw landing zone for demos, tests and benchmarks;
//! - [`report`]: a static HTML page of the marts;
//! - [`storage`] and [`config`]: where data lives and how the pipeline is configured;
//! - [`pii`]: what personal data is hashed or masked.
//!
//! The command line (`src/main.rs`, `src/cli/`) sits on top.

pub mod checks;
pub mod config;
pub mod consumers;
pub mod error;
pub mod extract;
pub mod generate;
pub mod load;
pub mod pii;
pub mod report;
pub mod run;
pub mod storage;
pub mod transform;
