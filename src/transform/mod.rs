//! Transform: SQL models run by DataFusion, with the functions they need.

pub mod compile;
pub mod docs;
pub mod functions;
pub mod model;
pub mod phone;
pub mod runner;
