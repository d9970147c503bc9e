//! `candump -L` output: one line per frame, as can-utils' `candump -L` prints and `canplayer`
//! replays:
//!
//! ```text
//! (1700000000.123456) can0 351#2802E8031C024C01
//! ```
//!
//! The timestamp is wall-clock time (seconds since the Unix epoch, ten digits zero padded, a
//! dot, six digits of microseconds: candump's `(%010llu.%06llu)`), read once per frame. The
//! interface name is `can0` unless set with [`CandumpWriter::with_interface_name`]: a file
//! written by busbar replays on any bus with `canplayer -I FILE vcan0=can0` (or as-is onto a
//! real `can0`).
//!
//! `candump:-` writes to stdout, `candump:PATH` appends to PATH (created if missing). Each frame
//! set is formatted into one buffer and written with one `write_all` and a `flush`, so a pipe
//! reader sees whole sets at once. The writes are plain blocking writes of under 1 KiB per set:
//! a file or a pipe somebody reads never holds the daemon up; a pipe nobody reads does (the
//! demo's output is then unused anyway), and a closed pipe is `EPIPE`, a typed error.

use std::fmt::Write as _;
use std::future::Future;
use std::io::{self, Write};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use super::episode::{self, Episode};
use super::frame::CanFrame;
use super::transport::{CanOpenError, CanSendError, CanTransport, RxEvent};

/// The interface name written into each line unless told otherwise.
pub const DEFAULT_INTERFACE_NAME: &str = "can0";

/// Where the wall time for each line comes from (tests pass a fixed one).
pub type WallClock = Box<dyn FnMut() -> SystemTime + Send>;

/// Append one `candump -L` line for `frame`, received at `wall`, on `interface`.
pub fn format_line(out: &mut String, wall: SystemTime, interface: &str, frame: &CanFrame) {
    // Before 1970 cannot happen on a running system; print zero rather than fail.
    let since = wall.duration_since(UNIX_EPOCH).unwrap_or_default();
    // Writing to a String cannot fail.
    let _ = writeln!(
        out,
        "({:010}.{:06}) {interface} {frame}",
        since.as_secs(),
        since.subsec_micros()
    );
}

/// The candump transport.
pub struct CandumpWriter<W: Write + Send = Box<dyn Write + Send>> {
    out: W,
    /// For error messages and logs: `stdout` or the path.
    target: String,
    interface: String,
    clock: WallClock,
    episode: Episode,
    line_buf: String,
}

impl CandumpWriter {
    /// `candump:-`.
    pub fn stdout() -> Self {
        CandumpWriter::new(Box::new(io::stdout()) as Box<dyn Write + Send>, "stdout")
    }

    /// `candump:PATH`: append, create if missing.
    pub fn append(path: &Path) -> Result<Self, CanOpenError> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|source| CanOpenError::File {
                path: path.to_owned(),
                source,
            })?;
        Ok(CandumpWriter::new(
            Box::new(file) as Box<dyn Write + Send>,
            path.display().to_string(),
        ))
    }
}

impl<W: Write + Send> CandumpWriter<W> {
    /// Lines to `out`; `target` names it in errors and logs. System clock, interface `can0`.
    pub fn new(out: W, target: impl Into<String>) -> Self {
        Self {
            out,
            target: target.into(),
            interface: DEFAULT_INTERFACE_NAME.to_owned(),
            clock: Box::new(SystemTime::now),
            episode: Episode::new(),
            line_buf: String::new(),
        }
    }

    pub fn with_clock(mut self, clock: impl FnMut() -> SystemTime + Send + 'static) -> Self {
        self.clock = Box::new(clock);
        self
    }

    pub fn with_interface_name(mut self, name: impl Into<String>) -> Self {
        self.interface = name.into();
        self
    }

    pub fn target(&self) -> &str {
        &self.target
    }

    pub fn get_ref(&self) -> &W {
        &self.out
    }

    pub fn into_inner(self) -> W {
        self.out
    }

    /// Write `frames` as one block and flush.
    pub fn write_set(&mut self, frames: &[CanFrame]) -> Result<(), CanSendError> {
        self.line_buf.clear();
        for frame in frames {
            let wall = (self.clock)();
            format_line(&mut self.line_buf, wall, &self.interface, frame);
        }
        let written = self
            .out
            .write_all(self.line_buf.as_bytes())
            .and_then(|()| self.out.flush());
        let now = std::time::Instant::now();
        match written {
            Ok(()) => {
                if let Some(change) = self.episode.succeeded(now) {
                    episode::log(&self.target, change, None);
                }
                Ok(())
            }
            Err(source) => {
                let err = CanSendError::Io {
                    target: self.target.clone(),
                    source,
                };
                if let Some(change) = self.episode.failed(err.fault(), now) {
                    episode::log(&self.target, change, Some(&err));
                }
                Err(err)
            }
        }
    }
}

impl<W: Write + Send> CanTransport for CandumpWriter<W> {
    fn send_all(
        &mut self,
        frames: &[CanFrame],
    ) -> impl Future<Output = Result<(), CanSendError>> + Send {
        std::future::ready(self.write_set(frames))
    }

    /// A candump output hears nothing.
    fn recv(&mut self) -> impl Future<Output = RxEvent> + Send {
        std::future::pending()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_line_is_byte_exact() {
        let f = CanFrame::new(0x351, &[0x28, 0x02, 0xE8, 0x03, 0x1C, 0x02, 0x4C, 0x01]).unwrap();
        let t = UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_789);
        let mut s = String::new();
        format_line(&mut s, t, "can0", &f);
        assert_eq!(s, "(1700000000.123456) can0 351#2802E8031C024C01\n");
    }

    #[test]
    fn seconds_and_microseconds_are_zero_padded() {
        let f = CanFrame::new(0x35E, b"BUSBAR").unwrap();
        let mut s = String::new();
        format_line(&mut s, UNIX_EPOCH + Duration::from_micros(7), "vcan0", &f);
        assert_eq!(s, "(0000000000.000007) vcan0 35E#425553424152\n");
    }
}
