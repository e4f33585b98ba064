//! The command line: argument parsing ([`args`]) kept apart from what commands do
//! ([`commands`]) and how summaries are printed ([`summary`]).

pub mod args;
pub mod commands;
pub mod summary;
