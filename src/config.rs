//! The pipeline configuration file (`pipelines/nightly.toml`).
//!
//! It says where the SQL models are and how the sources are laid out. Settings that change per
//! run (dates, storage URLs, timezone) are command-line options instead.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Deserialize;

/// The whole configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineConfig {
    /// General settings.
    #[serde(default)]
    pub pipeline: PipelineSection,
    /// The Asterisk CDR layout and dialplan contexts.
    #[serde(default)]
    pub cdr: CdrSection,
    /// Service-level thresholds of the contact-centre KPIs.
    #[serde(default)]
    pub service_level: ServiceLevelSection,
    /// The folder the file was read from; models are found relative to it.
    #[serde(skip)]
    pub base_dir: PathBuf,
}

/// `[pipeline]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineSection {
    /// Name shown in run summaries.
    #[serde(default = "default_name")]
    pub name: String,
    /// Folder of the SQL models, relative to the configuration file.
    #[serde(default = "default_models")]
    pub models: String,
    /// Rows per batch read from raw files.
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// Memory DataFusion may use before sorts and aggregations spill to local disk, in MiB.
    #[serde(default = "default_memory_limit_mb")]
    pub memory_limit_mb: usize,
}

/// `[cdr]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CdrSection {
    /// Column layout of Master.csv, in file order.
    #[serde(default = "default_cdr_columns")]
    pub columns: Vec<String>,
    /// Dialplan contexts in which inbound calls arrive.
    #[serde(default = "default_inbound")]
    pub inbound_contexts: Vec<String>,
    /// Dialplan contexts of outbound calls.
    #[serde(default = "default_outbound")]
    pub outbound_contexts: Vec<String>,
}

/// `[service_level]`: a contact answered within this many seconds counts as within service
/// level, per channel group.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceLevelSection {
    /// Voice calls (default 20 s).
    #[serde(default = "default_voice_sl")]
    pub voice_s: i64,
    /// WhatsApp conversations (default 300 s).
    #[serde(default = "default_messaging_sl")]
    pub messaging_s: i64,
}

impl Default for ServiceLevelSection {
    fn default() -> Self {
        Self {
            voice_s: default_voice_sl(),
            messaging_s: default_messaging_sl(),
        }
    }
}

fn default_voice_sl() -> i64 {
    20
}
fn default_messaging_sl() -> i64 {
    300
}

fn default_name() -> String {
    "nightly".into()
}
fn default_models() -> String {
    ".".into()
}
fn default_batch_size() -> usize {
    8192
}
fn default_memory_limit_mb() -> usize {
    4096
}
fn default_cdr_columns() -> Vec<String> {
    crate::extract::cdr::DEFAULT_COLUMNS
        .iter()
        .map(|s| s.to_string())
        .collect()
}
fn default_inbound() -> Vec<String> {
    vec!["from-trunk".into(), "from-pstn".into(), "ext-did".into()]
}
fn default_outbound() -> Vec<String> {
    vec!["from-internal".into()]
}

impl Default for PipelineSection {
    fn default() -> Self {
        Self {
            name: default_name(),
            models: default_models(),
            batch_size: default_batch_size(),
            memory_limit_mb: default_memory_limit_mb(),
        }
    }
}

impl Default for CdrSection {
    fn default() -> Self {
        Self {
            columns: default_cdr_columns(),
            inbound_contexts: default_inbound(),
            outbound_contexts: default_outbound(),
        }
    }
}

include!(concat!(env!("OUT_DIR"), "/embedded_pipeline.rs"));

/// The default pipeline file, relative to the working directory.
pub const DEFAULT_PIPELINE: &str = "pipelines/nightly.toml";

impl PipelineConfig {
    /// Loads `path`; when it is the default path and does not exist (only the binary was
    /// deployed), loads the pipeline embedded in the binary at build time instead.
    pub fn load_or_embedded(path: &Path) -> Result<Self> {
        if path.exists() || path != Path::new(DEFAULT_PIPELINE) {
            return Self::load(path);
        }
        let dir = std::env::temp_dir().join(format!("kpi-etl-pipeline-{}", std::process::id()));
        for (rel, content) in EMBEDDED_PIPELINE {
            let p = dir.join(rel);
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&p, content)?;
        }
        tracing::info!(dir = %dir.display(), "{DEFAULT_PIPELINE} not found: using the pipeline embedded in the binary");
        Self::load(&dir.join("nightly.toml"))
    }

    /// Reads and validates a configuration file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the pipeline file {}", path.display()))?;
        let mut cfg: PipelineConfig = toml::from_str(&text)
            .with_context(|| format!("{}: invalid pipeline configuration", path.display()))?;
        cfg.base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        if cfg.pipeline.batch_size == 0 {
            anyhow::bail!("{}: pipeline.batch_size must be positive", path.display());
        }
        Ok(cfg)
    }

    /// The folder holding the SQL models.
    pub fn models_dir(&self) -> PathBuf {
        self.base_dir.join(&self.pipeline.models)
    }
}
