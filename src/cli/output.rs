//! Writing to standard output. Every command prints through [`out!`]: a write error comes back
//! as an error instead of a panic, and a closed pipe (`kpi-etl query ... | head -1`) ends the
//! command quietly with exit code 0 ([`is_closed_pipe`]).

/// `println!` that returns the write's `std::io::Result`.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)
    }};
}
pub(crate) use out;

/// Whether an error comes from writing to a pipe whose reader has gone.
pub fn is_closed_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
