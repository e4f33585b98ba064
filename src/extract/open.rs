//! Opening a landed object as a streaming, blocking `Read`, decompressing `.gz` by extension.
//!
//! Parsers (`csv`, `serde_json`) are synchronous, so each file is read on a blocking thread
//! through [`SyncIoBridge`] over the object store's byte stream: nothing is downloaded whole.

use std::io::{BufRead, BufReader, Read};

use futures::TryStreamExt;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt};
use tokio_util::io::{StreamReader, SyncIoBridge};

use super::ReadError;

/// A blocking reader over one object, decompressed when its name ends in `.gz`.
pub type FileReader = Box<dyn BufRead + Send>;

/// Starts the download of `meta` and returns a blocking reader over its (decompressed) bytes.
///
/// Must be called from within the tokio runtime; the returned reader must be used on a
/// blocking thread (`tokio::task::spawn_blocking`).
pub async fn open(
    store: &dyn ObjectStore,
    meta: &ObjectMeta,
    display: &str,
) -> Result<FileReader, ReadError> {
    let result = store.get(&meta.location).await.map_err(|e| ReadError::Unreadable {
        file: display.to_string(),
        reason: e.to_string(),
    })?;
    let stream = result.into_stream().map_err(std::io::Error::other);
    let bridge = SyncIoBridge::new(StreamReader::new(stream));
    let buffered = BufReader::with_capacity(1 << 20, bridge);
    if meta.location.as_ref().ends_with(".gz") {
        Ok(Box::new(BufReader::with_capacity(
            1 << 20,
            GzipChecked::new(buffered, display),
        )))
    } else {
        Ok(Box::new(buffered))
    }
}

/// A gzip decoder whose errors name the file and say what is wrong with it.
struct GzipChecked<R: BufRead> {
    inner: flate2::bufread::MultiGzDecoder<R>,
    file: String,
}

impl<R: BufRead> GzipChecked<R> {
    fn new(inner: R, file: &str) -> Self {
        Self { inner: flate2::bufread::MultiGzDecoder::new(inner), file: file.to_string() }
    }
}

impl<R: BufRead> Read for GzipChecked<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.inner.read(buf).map_err(|e| {
            let what = match e.kind() {
                std::io::ErrorKind::UnexpectedEof => "truncated gzip stream".to_string(),
                std::io::ErrorKind::InvalidInput | std::io::ErrorKind::InvalidData => {
                    format!("not a valid gzip file ({e})")
                }
                _ => e.to_string(),
            };
            std::io::Error::new(e.kind(), format!("{}: {what}", self.file))
        })
    }
}
