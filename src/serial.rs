//! Serial transport: one port, request/response with a timeout, reopened with backoff when the
//! adapter goes away. Knows nothing of any protocol: the caller hands in the request bytes and a
//! function that says when the bytes read so far hold a complete answer.
//!
//! A USB-serial adapter that is unplugged makes `read` return 0 bytes (or an I/O error) forever;
//! treating that as "gone", closing, and reopening no sooner than the backoff allows keeps the
//! reader from spinning and lets it recover when the adapter comes back.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;
use tokio_serial::{SerialPort, SerialPortBuilderExt, SerialStream};

/// All JK serial ports run at 115200 baud, 8N1 (jk-nw.md §1.1; jk02.md).
pub const JK_BAUD_RATE: u32 = 115_200;

/// Why an exchange with the port did not produce an answer.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("cannot open {}: {source}", path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: tokio_serial::Error,
    },
    #[error("{} is closed after a failure; next attempt in {} ms", path.display(), retry_in.as_millis())]
    Waiting { path: PathBuf, retry_in: Duration },
    #[error("{} is gone (read returned 0 bytes: adapter unplugged?)", path.display())]
    Gone { path: PathBuf },
    #[error("I/O error on {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("no complete answer from {} within {} ms ({received} bytes received)", path.display(), waited.as_millis())]
    Timeout {
        path: PathBuf,
        waited: Duration,
        received: usize,
    },
}

/// Exponential backoff between reopen attempts: 250 ms doubling to 8 s. Short enough that a
/// re-plugged adapter is back within a few polls, long enough not to spin on a dead one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    next: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new(Duration::from_millis(250), Duration::from_secs(8))
    }
}

impl Backoff {
    pub fn new(min: Duration, max: Duration) -> Self {
        Self {
            min,
            max,
            next: min,
        }
    }

    /// A failure happened: how long to wait before the next attempt.
    pub fn failed(&mut self) -> Duration {
        let wait = self.next;
        self.next = (self.next * 2).min(self.max);
        wait
    }

    /// An attempt worked: start again from the shortest wait.
    pub fn succeeded(&mut self) {
        self.next = self.min;
    }
}

/// One serial port, opened on demand.
pub struct SerialLink {
    path: PathBuf,
    baud_rate: u32,
    stream: Option<SerialStream>,
    backoff: Backoff,
    /// While closed after a failure: not before this instant.
    retry_at: Option<Instant>,
}

impl SerialLink {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            baud_rate: JK_BAUD_RATE,
            stream: None,
            backoff: Backoff::default(),
            retry_at: None,
        }
    }

    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn is_open(&self) -> bool {
        self.stream.is_some()
    }

    /// Send `request`, then read until `complete` returns an answer or `timeout` passes.
    ///
    /// `complete` sees each chunk as it arrives (a decoder keeps its own buffer) and returns
    /// `Some` once it has a full answer. Input that arrived before the request is discarded
    /// first, so a late answer to an earlier request cannot be taken for this one.
    pub async fn exchange<T>(
        &mut self,
        request: &[u8],
        timeout: Duration,
        mut complete: impl FnMut(&[u8]) -> Option<T>,
    ) -> Result<T, LinkError> {
        let path = self.path.clone();
        let stream = self.open()?;
        // Best effort: a port that cannot flush still works, and a stale frame is rejected by
        // the caller's decoder anyway.
        let _ = stream.clear(tokio_serial::ClearBuffer::Input);
        if let Err(source) = write_all(stream, request).await {
            return Err(self.fail(LinkError::Io { path, source }));
        }
        let started = Instant::now();
        let mut received = 0usize;
        let mut buf = [0u8; 512];
        loop {
            let left = timeout.saturating_sub(started.elapsed());
            let read = match tokio::time::timeout(left, stream.read(&mut buf)).await {
                Err(_) => {
                    // A silent BMS is not a broken adapter: keep the port open.
                    return Err(LinkError::Timeout {
                        path,
                        waited: timeout,
                        received,
                    });
                }
                Ok(read) => read,
            };
            match read {
                Ok(0) => return Err(self.fail(LinkError::Gone { path })),
                Ok(n) => {
                    received += n;
                    if let Some(answer) = complete(&buf[..n]) {
                        return Ok(answer);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => return Err(self.fail(LinkError::Io { path, source })),
            }
        }
    }

    /// Close the port (if open) without counting a failure.
    pub fn close(&mut self) {
        if let Some(mut stream) = self.stream.take() {
            // Release TIOCEXCL so the next open (ours, or another tool's) is not refused with
            // EBUSY while someone else still holds the tty (a simulator's pty does).
            let _ = stream.set_exclusive(false);
        }
    }

    fn open(&mut self) -> Result<&mut SerialStream, LinkError> {
        if self.stream.is_none() {
            if let Some(at) = self.retry_at {
                let now = Instant::now();
                if now < at {
                    return Err(LinkError::Waiting {
                        path: self.path.clone(),
                        retry_in: at - now,
                    });
                }
            }
            match open_port(&self.path, self.baud_rate) {
                Ok(stream) => {
                    self.stream = Some(stream);
                    self.retry_at = None;
                    self.backoff.succeeded();
                }
                Err(source) => {
                    let path = self.path.clone();
                    return Err(self.fail(LinkError::Open { path, source }));
                }
            }
        }
        // Just ensured above: either it was open or the open succeeded.
        Ok(self.stream.as_mut().expect("stream opened above"))
    }

    /// Close after a failure and schedule the next attempt.
    fn fail(&mut self, error: LinkError) -> LinkError {
        self.close();
        self.retry_at = Some(Instant::now() + self.backoff.failed());
        error
    }
}

impl Drop for SerialLink {
    fn drop(&mut self) {
        self.close();
    }
}

async fn write_all(stream: &mut SerialStream, bytes: &[u8]) -> io::Result<()> {
    stream.write_all(bytes).await?;
    stream.flush().await
}

/// Open `path` raw, 8N1, no flow control.
pub fn open_port(path: &Path, baud_rate: u32) -> Result<SerialStream, tokio_serial::Error> {
    tokio_serial::new(path.to_string_lossy(), baud_rate)
        .data_bits(tokio_serial::DataBits::Eight)
        .parity(tokio_serial::Parity::None)
        .stop_bits(tokio_serial::StopBits::One)
        .flow_control(tokio_serial::FlowControl::None)
        .open_native_async()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_ceiling_and_resets() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_millis(350));
        assert_eq!(b.failed(), Duration::from_millis(100));
        assert_eq!(b.failed(), Duration::from_millis(200));
        assert_eq!(b.failed(), Duration::from_millis(350));
        assert_eq!(b.failed(), Duration::from_millis(350));
        b.succeeded();
        assert_eq!(b.failed(), Duration::from_millis(100));
    }
}
