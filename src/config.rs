//! The pipeline configuration file (`pipelines/nightly.toml`) and the files of its models.
//!
//! It says where the SQL models are and how the sources are laid out. Settings that change per
//! run (dates, storage URLs, timezone) are command-line options instead.
//!
//! A pipeline is read either from a folder on disk or from the copy embedded in the binary at
//! build time (where only the binary is deployed). Either way it comes out as text in memory:
//! the configuration plus every model file as a [`PipelineFile`], so nothing is ever written to
//! a temporary folder to be read back, and every file is named as it was found (`embedded:` for
//! the built-in copy).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};

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
    /// Where the configuration was read from.
    #[serde(skip)]
    pub origin: Origin,
    /// The files of the models folder: SQL models and their unit cases.
    #[serde(skip)]
    pub files: Vec<PipelineFile>,
}

/// Where a pipeline comes from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Origin {
    /// The copy compiled into the binary.
    #[default]
    Embedded,
    /// A configuration file on disk.
    File(PathBuf),
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Embedded => write!(f, "{EMBEDDED_PREFIX}nightly.toml"),
            Origin::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// One file of the models folder, held in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineFile {
    /// The file as people see it: its path on disk, or `embedded:<relative path>`.
    pub shown: String,
    /// The path relative to the models folder, with `/` separators (`staging/stg_cdr.sql`).
    pub relative: String,
    /// The content.
    pub text: String,
}

impl PipelineFile {
    /// The first folder of its relative path (`staging`, `facts`, `marts`), if any.
    pub fn layer(&self) -> Option<&str> {
        self.relative.split_once('/').map(|(first, _)| first)
    }
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

/// The default Master.csv layout: the 21 columns Asterisk's `cdr_csv` writes with
/// `loguniqueid`, `loguserfield` and `newcdrcolumns` on.
pub const DEFAULT_CDR_COLUMNS: [&str; 21] = [
    "accountcode",
    "src",
    "dst",
    "dcontext",
    "clid",
    "channel",
    "dstchannel",
    "lastapp",
    "lastdata",
    "start",
    "answer",
    "end",
    "duration",
    "billsec",
    "disposition",
    "amaflags",
    "uniqueid",
    "userfield",
    "peeraccount",
    "linkedid",
    "sequence",
];

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
    DEFAULT_CDR_COLUMNS.iter().map(|s| s.to_string()).collect()
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

/// How the files of the embedded pipeline are named in messages and artifacts.
pub const EMBEDDED_PREFIX: &str = "embedded:";

/// The name of the configuration file inside a pipeline folder.
const CONFIG_FILE: &str = "nightly.toml";

/// Is this a file of the models folder (a SQL model or its unit cases)?
fn is_model_file(relative: &str) -> bool {
    relative.ends_with(".sql") || relative.ends_with(".cases.toml")
}

impl PipelineConfig {
    /// Loads `path`; when it is the default path and does not exist (only the binary was
    /// deployed), the pipeline embedded in the binary at build time instead.
    pub fn load_or_embedded(path: &Path) -> Result<Self> {
        if path.exists() || path != Path::new(DEFAULT_PIPELINE) {
            return Self::load(path);
        }
        tracing::info!("{DEFAULT_PIPELINE} not found: using the pipeline embedded in the binary");
        Self::embedded()
    }

    /// The pipeline embedded in the binary, read from memory.
    pub fn embedded() -> Result<Self> {
        let (_, text) = EMBEDDED_PIPELINE
            .iter()
            .find(|(rel, _)| *rel == CONFIG_FILE)
            .expect("the embedded pipeline has its configuration file");
        let mut cfg = Self::parse(text, &Origin::Embedded)?;
        let models = normalise_dir(&cfg.pipeline.models);
        cfg.files = EMBEDDED_PIPELINE
            .iter()
            .filter_map(|(rel, text)| {
                let relative = match models.as_str() {
                    "" => Some(*rel),
                    m => rel.strip_prefix(m).and_then(|r| r.strip_prefix('/')),
                }?;
                is_model_file(relative).then(|| PipelineFile {
                    shown: format!("{EMBEDDED_PREFIX}{rel}"),
                    relative: relative.to_string(),
                    text: text.to_string(),
                })
            })
            .collect();
        Ok(cfg)
    }

    /// Reads and validates a configuration file and the files of its models folder.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::config_caused(path.display(), "cannot read the pipeline file", e)
        })?;
        let mut cfg = Self::parse(&text, &Origin::File(path.to_path_buf()))?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let dir = match normalise_dir(&cfg.pipeline.models).as_str() {
            "" => base,
            sub => base.join(sub),
        };
        let mut found = Vec::new();
        if dir.exists() {
            collect_files(&dir, &dir, &mut found).map_err(|e| {
                Error::config_caused(dir.display(), "cannot read the models folder", e)
            })?;
        }
        found.sort();
        for (relative, file) in found {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| Error::config_caused(file.display(), "cannot read the file", e))?;
            cfg.files.push(PipelineFile {
                shown: file.display().to_string(),
                relative,
                text,
            });
        }
        Ok(cfg)
    }

    fn parse(text: &str, origin: &Origin) -> Result<Self> {
        let mut cfg: PipelineConfig = toml::from_str(text)
            .map_err(|e| Error::config_caused(origin, "invalid pipeline configuration", e))?;
        if cfg.pipeline.batch_size == 0 {
            return Err(Error::config(
                origin,
                "pipeline.batch_size must be positive",
            ));
        }
        cfg.origin = origin.clone();
        Ok(cfg)
    }

    /// The SQL model files.
    pub fn model_files(&self) -> impl Iterator<Item = &PipelineFile> {
        self.files.iter().filter(|f| f.relative.ends_with(".sql"))
    }

    /// The unit-case file of a model file, if it has one (`x.sql` beside `x.cases.toml`).
    pub fn cases_file(&self, model: &PipelineFile) -> Option<&PipelineFile> {
        let stem = model.relative.strip_suffix(".sql")?;
        let want = format!("{stem}.cases.toml");
        self.files.iter().find(|f| f.relative == want)
    }
}

/// Writes the embedded pipeline into `dir` as editable files (`kpi-etl init`); returns the
/// files written. Refuses to overwrite an existing configuration file.
pub fn write_embedded(dir: &Path) -> Result<Vec<PathBuf>> {
    let config = dir.join(CONFIG_FILE);
    if config.exists() {
        return Err(Error::Usage(format!(
            "{} exists already: choose an empty folder",
            config.display()
        )));
    }
    let mut out = Vec::new();
    for (rel, text) in EMBEDDED_PIPELINE {
        let p = dir.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&p, text)?;
        out.push(p);
    }
    Ok(out)
}

/// `.`, `./x/`, `x` → ``, `x`, `x`.
fn normalise_dir(d: &str) -> String {
    d.trim_start_matches("./")
        .trim_matches('/')
        .trim_start_matches('.')
        .to_string()
}

fn collect_files(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let p = entry?.path();
        if p.is_dir() {
            collect_files(root, &p, out)?;
            continue;
        }
        let relative = p
            .strip_prefix(root)
            .unwrap_or(&p)
            .to_string_lossy()
            .replace('\\', "/");
        if is_model_file(&relative) {
            out.push((relative, p));
        }
    }
    Ok(())
}
