//! Object-store locations: one type for every place the pipeline reads or writes.
//!
//! A location is given as a URL: a local path, `file://`, `s3://bucket/prefix`,
//! `gs://bucket/prefix` or `az://container/prefix`. Credentials and endpoints come only from
//! each cloud's standard environment variables (`AWS_*`, `GOOGLE_*`, `AZURE_*`), read by
//! `object_store`'s `from_env` builders, so an S3-compatible endpoint works with
//! `AWS_ENDPOINT_URL` and `AWS_ALLOW_HTTP=true`.

use std::sync::Arc;

use crate::error::{Context, Error, Result};
use object_store::ClientConfigKey;
use object_store::ObjectStore;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
use object_store::gcp::{GoogleCloudStorageBuilder, GoogleConfigKey};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use url::Url;

/// A store plus a prefix inside it, with the URL DataFusion knows the store by.
#[derive(Debug, Clone)]
pub struct Location {
    /// The object store holding the data.
    pub store: Arc<dyn ObjectStore>,
    /// The store's root URL as registered in DataFusion (`file:///`, `s3://bucket`, ...).
    pub store_url: Url,
    /// The prefix of this location inside the store.
    pub prefix: Path,
    /// The URL as the user wrote it, for messages.
    pub display: String,
}

impl Location {
    /// Opens a location from a URL or local path. A local directory is created if missing.
    pub fn open(spec: &str) -> Result<Self> {
        Self::open_inner(spec, true)
    }

    /// Opens a location that must already exist (for inputs): a missing local directory is an
    /// error naming it.
    pub fn open_existing(spec: &str) -> Result<Self> {
        Self::open_inner(spec, false)
    }

    fn open_inner(spec: &str, create: bool) -> Result<Self> {
        let spec = spec.trim();
        if spec.is_empty() {
            return Err(Error::Usage("empty storage URL".into()));
        }
        let has_scheme = spec.contains("://");
        if !has_scheme || spec.starts_with("file://") {
            let raw = spec.strip_prefix("file://").unwrap_or(spec);
            let path = std::path::Path::new(raw);
            if create {
                std::fs::create_dir_all(path)
                    .with_context(|| format!("cannot create directory {}", path.display()))?;
            } else if !path.is_dir() {
                return Err(Error::Invalid(format!(
                    "{}: no such directory",
                    path.display()
                )));
            }
            let abs = std::fs::canonicalize(path)
                .with_context(|| format!("cannot resolve {}", path.display()))?;
            let prefix = Path::from_filesystem_path(&abs)
                .map_err(|e| Error::Usage(format!("not a valid path: {}: {e}", abs.display())))?;
            return Ok(Self {
                store: Arc::new(LocalFileSystem::new()),
                store_url: Url::parse("file:///").expect("static URL"),
                prefix,
                display: spec.to_string(),
            });
        }
        let url = Url::parse(spec)
            .map_err(|e| Error::Usage(format!("not a storage URL: {spec}: {e}")))?;
        let bucket = url
            .host_str()
            .ok_or_else(|| Error::Usage(format!("{spec}: the URL names no bucket or container")))?;
        let tuning = StorageTuning::from_env()?;
        let store: Arc<dyn ObjectStore> = match url.scheme() {
            "s3" | "s3a" => Arc::new(
                tuning
                    .client_keys()
                    .fold(AmazonS3Builder::from_env(), |b, (k, v)| {
                        b.with_config(AmazonS3ConfigKey::Client(k), v)
                    })
                    .with_url(spec)
                    .with_retry(tuning.retry())
                    .build()
                    .with_context(|| format!("cannot open {spec}"))?,
            ),
            "gs" => Arc::new(
                tuning
                    .client_keys()
                    .fold(GoogleCloudStorageBuilder::from_env(), |b, (k, v)| {
                        b.with_config(GoogleConfigKey::Client(k), v)
                    })
                    .with_url(spec)
                    .with_retry(tuning.retry())
                    .build()
                    .with_context(|| format!("cannot open {spec}"))?,
            ),
            "az" | "abfs" | "abfss" | "azure" => Arc::new(
                tuning
                    .client_keys()
                    .fold(MicrosoftAzureBuilder::from_env(), |b, (k, v)| {
                        b.with_config(AzureConfigKey::Client(k), v)
                    })
                    .with_url(spec)
                    .with_retry(tuning.retry())
                    .build()
                    .with_context(|| {
                        format!(
                            "cannot open {spec} (set AZURE_STORAGE_ACCOUNT_NAME and a credential, \
                             or AZURE_STORAGE_USE_EMULATOR=true for Azurite)"
                        )
                    })?,
            ),
            other => {
                return Err(Error::Usage(format!(
                    "{spec}: unsupported scheme {other}:// (use a path, file://, s3://, gs:// or az://)"
                )));
            }
        };
        // DataFusion finds a store by the scheme and host of a URL, ignoring any user part, so
        // two containers of one Azure account (abfss://raw@acme... and abfss://dwh@acme...) would
        // share a key: the container goes into the host of the key instead.
        let key_host = match url.username() {
            "" => bucket.to_string(),
            container => format!("{container}.{bucket}"),
        };
        let store_url = Url::parse(&format!("{}://{}", url.scheme(), key_host))
            .map_err(|e| Error::Usage(format!("cannot build the store URL of {spec}: {e}")))?;
        Ok(Self {
            store,
            store_url,
            prefix: Path::from(url.path().trim_matches('/')),
            display: spec.trim_end_matches('/').to_string(),
        })
    }

    /// A path below this location, from `/`-separated parts.
    pub fn child(&self, rel: &str) -> Path {
        join(&self.prefix, rel)
    }

    /// The full URL of a path of this location's store, as DataFusion's listing tables want it.
    pub fn url_of(&self, path: &Path) -> String {
        let base = self.store_url.as_str().trim_end_matches('/');
        format!("{base}/{path}")
    }

    /// The local filesystem path of `path`, when this location is on local disk.
    pub fn local_path(&self, path: &Path) -> Option<std::path::PathBuf> {
        (self.store_url.scheme() == "file").then(|| std::path::Path::new("/").join(path.as_ref()))
    }

    /// How a path of this store is shown to a person: the location's URL plus the relative part.
    pub fn show(&self, path: &Path) -> String {
        let full = path.as_ref();
        let pre = self.prefix.as_ref();
        match full.strip_prefix(pre) {
            Some(rest) => format!(
                "{}/{}",
                self.display.trim_end_matches('/'),
                rest.trim_start_matches('/')
            ),
            None => self.url_of(path),
        }
    }
}

/// Joins a relative `/`-separated path onto a prefix.
pub fn join(prefix: &Path, rel: &str) -> Path {
    let mut out = prefix.clone();
    for part in rel.split('/').filter(|p| !p.is_empty()) {
        out = out.join(part);
    }
    out
}

/// How hard a cloud store tries before a request fails, from `KPI_ETL_STORAGE_*` variables.
///
/// Every request to S3, GCS or Azure is retried on connection errors, HTTP 5xx and 429, and
/// timeouts, with exponential backoff (100 ms doubling up to 15 s), until `max_retries` retries or
/// `retry_timeout` have passed. A single attempt is cut after `timeout` (connecting after
/// `connect_timeout`), so a stalled server costs a retry, never a hung run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageTuning {
    /// Time limit of one HTTP request (`KPI_ETL_STORAGE_TIMEOUT`, default 60s).
    pub timeout: std::time::Duration,
    /// Time limit of establishing a connection (`KPI_ETL_STORAGE_CONNECT_TIMEOUT`, default 5s).
    pub connect_timeout: std::time::Duration,
    /// Time budget of all retries of one request (`KPI_ETL_STORAGE_RETRY_TIMEOUT`, default 3m).
    pub retry_timeout: std::time::Duration,
    /// Retries of one request (`KPI_ETL_STORAGE_MAX_RETRIES`, default 10).
    pub max_retries: usize,
}

impl Default for StorageTuning {
    fn default() -> Self {
        Self {
            timeout: std::time::Duration::from_secs(60),
            connect_timeout: std::time::Duration::from_secs(5),
            retry_timeout: std::time::Duration::from_secs(180),
            max_retries: 10,
        }
    }
}

impl StorageTuning {
    /// The defaults, overridden by whichever `KPI_ETL_STORAGE_*` variables are set. Durations are
    /// written like `30s`, `500ms` or `2m`.
    pub fn from_env() -> Result<Self> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// The defaults, overridden by the variables `lookup` knows.
    pub fn from_vars(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let mut t = Self::default();
        let duration = |name: &str, slot: &mut std::time::Duration| -> Result<()> {
            if let Some(v) = lookup(name) {
                *slot = humantime::parse_duration(v.trim()).map_err(|e| {
                    Error::Usage(format!(
                        "{name}={v} is not a duration (e.g. 30s, 500ms): {e}"
                    ))
                })?;
            }
            Ok(())
        };
        duration("KPI_ETL_STORAGE_TIMEOUT", &mut t.timeout)?;
        duration("KPI_ETL_STORAGE_CONNECT_TIMEOUT", &mut t.connect_timeout)?;
        duration("KPI_ETL_STORAGE_RETRY_TIMEOUT", &mut t.retry_timeout)?;
        if let Some(v) = lookup("KPI_ETL_STORAGE_MAX_RETRIES") {
            t.max_retries = v.trim().parse().map_err(|e| {
                Error::Usage(format!(
                    "KPI_ETL_STORAGE_MAX_RETRIES={v} is not a number: {e}"
                ))
            })?;
        }
        Ok(t)
    }

    /// Retries with exponential backoff, bounded in number and in time.
    pub fn retry(&self) -> object_store::RetryConfig {
        object_store::RetryConfig {
            backoff: object_store::BackoffConfig {
                init_backoff: std::time::Duration::from_millis(100),
                max_backoff: std::time::Duration::from_secs(15),
                base: 2.0,
            },
            max_retries: self.max_retries,
            retry_timeout: self.retry_timeout,
        }
    }

    /// The HTTP client settings, as `object_store` configuration keys.
    fn client_keys(&self) -> impl Iterator<Item = (ClientConfigKey, String)> {
        [
            (ClientConfigKey::Timeout, self.timeout),
            (ClientConfigKey::ConnectTimeout, self.connect_timeout),
        ]
        .into_iter()
        .map(|(k, d)| (k, humantime::format_duration(d).to_string()))
    }
}
