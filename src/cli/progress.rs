//! The terminal's progress bar over the models of a night; hidden when standard error is not a
//! terminal (logs say the same in plain lines).

use indicatif::{ProgressBar, ProgressStyle};
use kpi_etl::transform::model::Model;
use kpi_etl::transform::runner::{ModelResult, Progress};

/// A progress bar over the models of each night.
pub struct Bar {
    bar: ProgressBar,
}

impl Bar {
    /// A bar on an interactive terminal, a hidden one otherwise.
    pub fn new() -> Self {
        use std::io::IsTerminal;
        let bar = if std::io::stderr().is_terminal() {
            let b = ProgressBar::new(0);
            b.set_style(
                ProgressStyle::with_template("{spinner} models {pos}/{len} [{bar:30}] {msg}")
                    .expect("valid template")
                    .progress_chars("=> "),
            );
            b
        } else {
            ProgressBar::hidden()
        };
        Self { bar }
    }
}

impl Progress for Bar {
    fn started(&self, model: &Model, index: usize, total: usize) {
        self.bar.set_length(total as u64);
        self.bar.set_position(index as u64);
        self.bar.set_message(model.name.clone());
    }

    fn finished(&self, _model: &Model, _result: &ModelResult) {
        self.bar.inc(1);
        if self.bar.position() >= self.bar.length().unwrap_or(0) {
            self.bar.finish_and_clear();
            self.bar.reset();
        }
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}
