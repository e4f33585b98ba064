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

/// A started download, to be turned into a [`FileReader`] on a blocking thread.
pub struct Download {
    bytes: BufReader<SyncIoBridge<StreamReader<BoxedBytes, bytes::Bytes>>>,
    gzip: bool,
    display: String,
}

type BoxedBytes = futures::stream::BoxStream<'static, std::io::Result<bytes::Bytes>>;

impl Download {
    /// The blocking reader over the (decompressed) bytes. Call it on a blocking thread: the gzip
    /// decoder reads the header at once.
    pub fn into_reader(self) -> FileReader {
        if self.gzip {
            Box::new(BufReader::with_capacity(
                1 << 20,
                GzipChecked::new(self.bytes, &self.display),
            ))
        } else {
            Box::new(self.bytes)
        }
    }
}

/// Starts the download of `meta`. Must be called from within the tokio runtime.
pub async fn open(
    store: &dyn ObjectStore,
    meta: &ObjectMeta,
    display: &str,
) -> Result<Download, ReadError> {
    let result = store
        .get(&meta.location)
        .await
        .map_err(|e| ReadError::Unreadable {
            file: display.to_string(),
            reason: e.to_string(),
        })?;
    let stream: BoxedBytes = Box::pin(result.into_stream().map_err(std::io::Error::other));
    let bridge = SyncIoBridge::new(StreamReader::new(stream));
    Ok(Download {
        bytes: BufReader::with_capacity(1 << 20, bridge),
        gzip: meta.location.as_ref().ends_with(".gz"),
        display: display.to_string(),
    })
}

/// A gzip decoder whose errors name the file and say what is wrong with it.
struct GzipChecked<R: BufRead> {
    inner: flate2::bufread::MultiGzDecoder<R>,
    file: String,
}

impl<R: BufRead> GzipChecked<R> {
    fn new(inner: R, file: &str) -> Self {
        Self {
            inner: flate2::bufread::MultiGzDecoder::new(inner),
            file: file.to_string(),
        }
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

/// Turns CRLF line endings into LF as bytes stream through, so that the CSV reader's line
/// numbers are those of the file whatever its line endings.
pub struct CrlfToLf<R: Read> {
    inner: R,
    /// A `\r` seen at the end of the previous chunk, not yet known to precede `\n`.
    pending_cr: bool,
}

impl<R: Read> CrlfToLf<R> {
    /// Wraps `inner`.
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            pending_cr: false,
        }
    }
}

impl<R: Read> Read for CrlfToLf<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if buf.len() < 2 {
            return self.inner.read(buf);
        }
        loop {
            let start = usize::from(self.pending_cr);
            let n = self.inner.read(&mut buf[start..])?;
            if self.pending_cr {
                buf[0] = b'\r';
                self.pending_cr = false;
            }
            if n == 0 {
                return Ok(start);
            }
            let len = start + n;
            let mut w = 0;
            for r in 0..len {
                let b = buf[r];
                if b == b'\r' && r + 1 < len && buf[r + 1] == b'\n' {
                    continue;
                }
                buf[w] = b;
                w += 1;
            }
            if w > 0 && buf[w - 1] == b'\r' {
                // Might be the first half of a CRLF split across reads.
                w -= 1;
                self.pending_cr = true;
            }
            if w > 0 {
                return Ok(w);
            }
        }
    }
}
