//! Streaming file output. A [`FileSink`] accumulates bytes in a chunk buffer that the
//! generators fill synchronously; the async caller flushes it into an object-store
//! [`BufWriter`] (multipart upload for big files), gzip-compressing on the way for `.gz` names
//! (hazard: the same source lands both plain and compressed). Memory per open file is bounded
//! by the chunk size whatever the volume.

use std::io::Write;
use std::sync::Arc;

use flate2::Compression;
use flate2::write::GzEncoder;
use object_store::ObjectStore;
use object_store::buffered::BufWriter;
use object_store::path::Path;
use tokio::io::AsyncWriteExt;

/// Buffered bytes above which [`FileSink::flush_if_full`] pushes a chunk to the store.
pub const CHUNK: usize = 4 << 20;

/// `<root>/<parts...>` as an object-store path.
pub fn join(root: &Path, parts: &[&str]) -> Path {
    let mut p = root.clone();
    for part in parts {
        p = p.join(*part);
    }
    p
}

/// One output file being written.
pub struct FileSink {
    /// Bytes not yet handed to the store; generators append to it directly.
    pub buf: Vec<u8>,
    writer: BufWriter,
    gz: Option<GzEncoder<Vec<u8>>>,
    written: u64,
}

impl FileSink {
    /// Opens `path` for writing; compressed with gzip when the name ends in `.gz`.
    pub fn new(store: &Arc<dyn ObjectStore>, path: Path) -> FileSink {
        let gz = path
            .as_ref()
            .ends_with(".gz")
            .then(|| GzEncoder::new(Vec::with_capacity(CHUNK / 2), Compression::fast()));
        FileSink {
            buf: Vec::with_capacity(CHUNK + (64 << 10)),
            writer: BufWriter::new(store.clone(), path),
            gz,
            written: 0,
        }
    }

    /// Flushes the buffer to the store when it holds at least [`CHUNK`] bytes.
    pub async fn flush_if_full(&mut self) -> crate::Result<()> {
        if self.buf.len() >= CHUNK {
            self.flush().await?;
        }
        Ok(())
    }

    /// Hands every buffered byte to the store writer (through the compressor if any).
    async fn flush(&mut self) -> crate::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        if let Some(enc) = self.gz.as_mut() {
            enc.write_all(&self.buf)?;
            self.buf.clear();
            let out = enc.get_mut();
            if !out.is_empty() {
                self.writer.write_all(out).await?;
                self.written += out.len() as u64;
                out.clear();
            }
        } else {
            self.writer.write_all(&self.buf).await?;
            self.written += self.buf.len() as u64;
            self.buf.clear();
        }
        Ok(())
    }

    /// Completes the file and returns its size in the store.
    pub async fn finish(mut self) -> crate::Result<u64> {
        self.flush().await?;
        if let Some(enc) = self.gz.take() {
            let tail = enc.finish()?;
            self.writer.write_all(&tail).await?;
            self.written += tail.len() as u64;
        }
        self.writer.shutdown().await?;
        Ok(self.written)
    }
}
