//! `kpi-etl test`: the models' unit cases.

use anyhow::Result;
use clap::Args;
use kpi_etl::transform::cases::CaseRunner;

use super::global::Global;
use super::output::out;

/// Run the models' unit cases: given rows in, expected rows out.
///
/// Each model's cases live beside it in `<model>.cases.toml`: rows given for the tables it
/// reads, and the rows it must produce. No warehouse or data is read. Each case is printed as
/// PASS or FAIL with a row diff; the exit code is 1 when one fails.
///
/// Example: kpi-etl test kpi_sales_daily fact_call
#[derive(Debug, Args)]
pub struct TestArgs {
    /// Models to test (default: every model with cases).
    #[arg(value_name = "MODEL")]
    pub models: Vec<String>,
}

impl TestArgs {
    /// Runs the cases, prints each as PASS or FAIL with a row diff, and fails when one fails.
    pub async fn execute(&self, g: &Global) -> Result<()> {
        let config = g.pipeline_config()?;
        let runner = CaseRunner::new(&config, g.timezone).await?;
        let cases = runner.cases(&self.models)?;
        let mut failed = 0;
        for case in &cases {
            let o = runner.run(case).await?;
            if o.passed() {
                out!("PASS {}: {}", o.model, o.case)?;
                continue;
            }
            failed += 1;
            out!("FAIL {}: {} ({})", o.model, o.case, o.file)?;
            if let Some(e) = &o.error {
                out!("  error: {e}")?;
            }
            for r in &o.missing {
                out!("  - expected, not produced: {r}")?;
            }
            for r in &o.unexpected {
                out!("  + produced, not expected: {r}")?;
            }
        }
        out!("{} passed, {failed} failed", cases.len() - failed)?;
        if failed > 0 {
            return Err(kpi_etl::Error::CasesFailed {
                failed,
                total: cases.len(),
            }
            .into());
        }
        Ok(())
    }
}
