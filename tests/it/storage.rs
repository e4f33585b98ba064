//! Storage URLs and cloud credentials: every URL form, the retry and timeout settings, and GCS
//! credentials (service account, application default credentials, workload identity through the
//! metadata server) exercised by the binary against local stand-ins for Google's endpoints.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kpi_etl::storage::{Location, StorageTuning};

use crate::common::{output, pipeline};

#[test]
fn every_url_form_names_its_store_and_prefix() {
    // Building a cloud store contacts nothing; dummy keys keep the S3 builder off the metadata
    // address even if a request were made.
    let cases = [
        ("s3://acme-raw/pbx/landing/", "s3://acme-raw", "pbx/landing"),
        ("s3a://acme-raw/pbx", "s3a://acme-raw", "pbx"),
        ("gs://acme-dwh/kpi", "gs://acme-dwh", "kpi"),
        ("gs://acme-dwh", "gs://acme-dwh", ""),
        (
            "abfss://raw@acme.dfs.core.windows.net/pbx",
            "abfss://raw.acme.dfs.core.windows.net",
            "pbx",
        ),
        (
            "abfss://dwh@acme.dfs.core.windows.net/kpi",
            "abfss://dwh.acme.dfs.core.windows.net",
            "kpi",
        ),
    ];
    for (url, store, prefix) in cases {
        let loc = Location::open(url).unwrap_or_else(|e| panic!("{url}: {e:#}"));
        assert_eq!(loc.store_url.as_str().trim_end_matches('/'), store, "{url}");
        assert_eq!(loc.prefix.as_ref(), prefix, "{url}");
        assert_eq!(loc.display, url.trim_end_matches('/'));
    }
    if std::env::var_os("AZURE_STORAGE_ACCOUNT_NAME").is_none()
        && std::env::var_os("AZURE_STORAGE_USE_EMULATOR").is_none()
    {
        // az://CONTAINER/PREFIX takes its account from the environment, and says so.
        let err = Location::open("az://raw/pbx").unwrap_err();
        assert!(
            format!("{err:#}").contains("AZURE_STORAGE_ACCOUNT_NAME"),
            "{err:#}"
        );
    }
    let err = Location::open("ftp://host/x").unwrap_err();
    assert!(
        format!("{err:#}").contains("unsupported scheme ftp://"),
        "{err:#}"
    );
    let err = Location::open("gs:///kpi").unwrap_err();
    assert!(format!("{err:#}").contains("gs:///kpi"), "{err:#}");
}

#[test]
fn retry_and_timeout_settings_come_from_the_environment() {
    let none = StorageTuning::from_vars(|_| None).unwrap();
    assert_eq!(none, StorageTuning::default());
    assert_eq!(none.retry().max_retries, 10);
    let vars = [
        ("KPI_ETL_STORAGE_TIMEOUT", "2s"),
        ("KPI_ETL_STORAGE_CONNECT_TIMEOUT", "500ms"),
        ("KPI_ETL_STORAGE_RETRY_TIMEOUT", "1m"),
        ("KPI_ETL_STORAGE_MAX_RETRIES", "3"),
    ];
    let t = StorageTuning::from_vars(|k| {
        vars.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string())
    })
    .unwrap();
    assert_eq!(t.timeout, Duration::from_secs(2));
    assert_eq!(t.connect_timeout, Duration::from_millis(500));
    assert_eq!(t.retry().retry_timeout, Duration::from_secs(60));
    assert_eq!(t.retry().max_retries, 3);
    let err = StorageTuning::from_vars(|k| (k == "KPI_ETL_STORAGE_TIMEOUT").then(|| "soon".into()))
        .unwrap_err();
    assert!(
        format!("{err:#}").contains("KPI_ETL_STORAGE_TIMEOUT=soon"),
        "{err:#}"
    );
}

/// One HTTP request as a stand-in server saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A local HTTP server standing in for Google: the metadata server's token endpoint, and the
/// GCS XML API answering every listing with an empty bucket. Records every request.
fn google_stand_in() -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let log = log.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                let mut parts = line.split_whitespace();
                let method = parts.next().unwrap_or_default().to_string();
                let target = parts.next().unwrap_or_default().to_string();
                let mut headers = Vec::new();
                loop {
                    let mut h = String::new();
                    reader.read_line(&mut h).unwrap();
                    let h = h.trim_end();
                    if h.is_empty() {
                        break;
                    }
                    if let Some((k, v)) = h.split_once(':') {
                        headers.push((k.trim().to_string(), v.trim().to_string()));
                    }
                }
                let req = Seen {
                    method,
                    target,
                    headers,
                };
                if let Some(n) = req.header("content-length").and_then(|n| n.parse().ok()) {
                    let mut body = vec![0u8; n];
                    reader.read_exact(&mut body).unwrap();
                }
                let (ctype, body) = if req.target.starts_with("/computeMetadata/") {
                    (
                        "application/json",
                        r#"{"access_token":"token-from-metadata","expires_in":3600,"token_type":"Bearer"}"#
                            .to_string(),
                    )
                } else {
                    (
                        "application/xml",
                        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult \
                         xmlns=\"http://doc.s3.amazonaws.com/2006-03-01\"><Name>acme-raw</Name>\
                         <KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>\
                         </ListBucketResult>"
                            .to_string(),
                    )
                };
                log.lock().unwrap().push(req);
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            });
        }
    });
    (addr, seen)
}

/// A service-account key file with a fresh RSA key, as the Cloud console downloads it.
fn service_account_file(dir: &Path, private_key: Option<&str>) -> std::path::PathBuf {
    let pem = match private_key {
        Some(k) => k.to_string(),
        None => {
            let out = Command::new("openssl")
                .args([
                    "genpkey",
                    "-algorithm",
                    "RSA",
                    "-pkeyopt",
                    "rsa_keygen_bits:2048",
                ])
                .output()
                .expect("openssl makes the test key");
            assert!(out.status.success());
            String::from_utf8(out.stdout).unwrap()
        }
    };
    let json = serde_json::json!({
        "type": "service_account",
        "project_id": "acme-dwh",
        "private_key_id": "key-id-1234",
        "private_key": pem,
        "client_email": "kpi-etl@acme-dwh.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": "https://oauth2.googleapis.com/token",
    });
    let p = dir.join("sa.json");
    std::fs::write(&p, json.to_string()).unwrap();
    p
}

/// `kpi-etl run` of a date with nothing landed in `gs://acme-raw/landing`, with only the given
/// variables of Google's (every other GOOGLE_*/GCE_* variable removed).
fn run_on_gcs(dir: &Path, vars: &[(&str, String)]) -> (i32, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kpi-etl"));
    for (k, _) in std::env::vars() {
        if k.starts_with("GOOGLE_") || k.starts_with("GCE_") {
            c.env_remove(k);
        }
    }
    c.env("HOME", dir) // no gcloud well-known file
        .env("KPI_ETL_PII_KEY", "k")
        .env("KPI_ETL_STORAGE_MAX_RETRIES", "1")
        .env("KPI_ETL_STORAGE_RETRY_TIMEOUT", "5s")
        .arg("--pipeline")
        .arg(pipeline())
        .args([
            "run",
            "--date",
            "2026-10-20",
            "--raw",
            "gs://acme-raw/landing",
            "--warehouse",
        ])
        .arg(dir.join("wh"));
    for (k, v) in vars {
        c.env(k, v);
    }
    output(&mut c)
}

/// The JSON payload of a JWT bearer token.
fn jwt_part(token: &str, i: usize) -> serde_json::Value {
    use base64::Engine;
    let part = token.split('.').nth(i).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// Every GCS request went to the bucket's XML API with a bearer token; returns the token.
fn gcs_bearer(seen: &[Seen]) -> String {
    let gcs: Vec<&Seen> = seen
        .iter()
        .filter(|s| !s.target.starts_with("/computeMetadata/"))
        .collect();
    assert!(!gcs.is_empty(), "no GCS request: {seen:?}");
    assert!(
        gcs.iter()
            .all(|s| s.method == "GET" && s.target.contains("list-type=2"))
    );
    let tokens: std::collections::BTreeSet<&str> = gcs
        .iter()
        .map(|s| {
            s.header("authorization")
                .expect("authorized")
                .strip_prefix("Bearer ")
                .unwrap()
        })
        .collect();
    assert_eq!(tokens.len(), 1, "{tokens:?}");
    tokens.into_iter().next().unwrap().to_string()
}

#[test]
fn gcs_service_account_key_from_google_service_account_or_application_credentials() {
    for var in ["GOOGLE_SERVICE_ACCOUNT", "GOOGLE_APPLICATION_CREDENTIALS"] {
        let dir = tempfile::tempdir().unwrap();
        let (addr, seen) = google_stand_in();
        let sa = service_account_file(dir.path(), None);
        let (code, text) = run_on_gcs(
            dir.path(),
            &[
                (var, sa.to_string_lossy().into_owned()),
                ("GOOGLE_BASE_URL", format!("http://{addr}")),
            ],
        );
        // Nothing landed: the "no input" outcome, after listing the bucket for real.
        assert_eq!(code, 4, "{var}: {text}");
        let seen = seen.lock().unwrap().clone();
        let token = gcs_bearer(&seen);
        // A service account signs its own token (a JWT) with its key: no token server involved.
        assert_eq!(jwt_part(&token, 0)["kid"], "key-id-1234", "{var}");
        assert_eq!(
            jwt_part(&token, 1)["iss"],
            "kpi-etl@acme-dwh.iam.gserviceaccount.com"
        );
        assert!(
            !seen
                .iter()
                .any(|s| s.target.starts_with("/computeMetadata/"))
        );
    }
}

#[test]
fn gcs_without_a_key_uses_the_metadata_server_as_workload_identity_does() {
    let dir = tempfile::tempdir().unwrap();
    let (addr, seen) = google_stand_in();
    let (code, text) = run_on_gcs(
        dir.path(),
        &[
            ("GCE_METADATA_HOST", addr.clone()),
            ("GOOGLE_BASE_URL", format!("http://{addr}")),
        ],
    );
    assert_eq!(code, 4, "{text}");
    let seen = seen.lock().unwrap().clone();
    let md = seen
        .iter()
        .find(|s| {
            s.target
                .starts_with("/computeMetadata/v1/instance/service-accounts/default/token")
        })
        .unwrap_or_else(|| panic!("no metadata request: {seen:?}"));
    assert_eq!(md.header("metadata-flavor"), Some("Google"));
    assert_eq!(gcs_bearer(&seen), "token-from-metadata");
}

#[test]
fn a_bad_gcs_key_is_an_error_that_names_the_file_and_never_shows_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "-----BEGIN PRIVATE KEY-----\nS3CR3T-NOT-A-KEY-9f2c\n-----END PRIVATE KEY-----\n";
    let sa = service_account_file(dir.path(), Some(secret));
    let (addr, seen) = google_stand_in();
    let (code, text) = run_on_gcs(
        dir.path(),
        &[
            ("GOOGLE_SERVICE_ACCOUNT", sa.to_string_lossy().into_owned()),
            ("GOOGLE_BASE_URL", format!("http://{addr}")),
        ],
    );
    assert_ne!(code, 0);
    assert!(text.contains("gs://acme-raw/landing"), "{text}");
    assert!(!text.contains("S3CR3T"), "the key leaked: {text}");
    assert!(
        seen.lock().unwrap().is_empty(),
        "nothing is sent with a broken key"
    );

    let missing = dir.path().join("missing.json");
    let (code, text) = run_on_gcs(
        dir.path(),
        &[(
            "GOOGLE_SERVICE_ACCOUNT",
            missing.to_string_lossy().into_owned(),
        )],
    );
    assert_ne!(code, 0);
    assert!(text.contains("missing.json"), "{text}");
}
