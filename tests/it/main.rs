//! The one integration test binary (each test binary links all of DataFusion).

mod cases;
mod cli;
mod common;
mod consumers;
mod convergence;
mod dst;
mod formats;
mod generated;
mod hygiene;
mod incremental;
mod marts;
mod models;
mod operability;
mod phone;
mod pipeline;
mod readers;
mod star;
mod storage;
