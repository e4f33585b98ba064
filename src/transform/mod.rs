//! Transform: the SQL models of `pipelines/`, compiled and run by DataFusion, with the
//! functions and run tables they read and the unit cases that test them.

pub mod cases;
pub mod compile;
pub mod docs;
pub mod functions;
pub mod incremental;
pub mod model;
pub mod partitions;
pub mod phone;
pub mod run_tables;
pub mod runner;
