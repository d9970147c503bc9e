//! Streaming scanner for what a JK-PB bus carries: 300-byte JK02 frames and the Modbus FC16
//! requests and ACKs around them, with whatever echo and padding the adapter adds in between
//! (`protocols/jk02.md` §2.2: "scan for `55 AA EB 90`, take 300 bytes, then scan for
//! `[addr] 10`").
//!
//! Sans-IO like [`crate::jk_nw::Decoder`]: [`Scanner::push`] the bytes read, then call
//! [`Scanner::next_event`] until it returns `None`.
//!
//! Resynchronisation rules:
//! - Bytes that start neither a frame header nor a Modbus message are dropped and reported as
//!   [`ScanError::GarbageSkipped`].
//! - A header whose 300 bytes fail the checksum is reported and only its first byte is dropped,
//!   so a real frame that starts inside the rejected bytes is still found. A false header in
//!   front of a real frame is always judged before the real frame completes (it ends earlier),
//!   so no look-ahead is needed.
//! - A Modbus message is recognised only with a valid CRC-16; a partial one holds at most
//!   [`super::request::REQUEST_LEN`] bytes.
//! - The buffer holds [`BUFFER_CAPACITY`] bytes and never grows.

use super::frame::{Frame, FrameError, FRAME_LEN, HEADER};
use super::request::{match_message, Match, Message};

/// Bytes the scanner buffers. After [`Scanner::next_event`] has returned `None`, at most
/// `FRAME_LEN - 1` bytes wait, so a push then takes at least 725 bytes.
pub const BUFFER_CAPACITY: usize = 1024;

/// What the scanner found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// A checksum-verified frame of any type.
    Frame(Frame<'a>),
    /// A CRC-verified FC16 request or ACK.
    Message(Message),
}

/// Bytes the scanner dropped, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScanError {
    #[error("{0} byte(s) of noise skipped")]
    GarbageSkipped(usize),
    #[error("JK02 frame rejected: {0}")]
    BadFrame(FrameError),
}

/// Counters since the scanner was made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScannerStats {
    pub frames: u64,
    pub messages: u64,
    pub garbage_bytes: u64,
    pub bad_frames: u64,
}

/// The streaming scanner. See the module docs.
pub struct Scanner {
    buf: [u8; BUFFER_CAPACITY],
    start: usize,
    end: usize,
    stats: ScannerStats,
}

impl Default for Scanner {
    fn default() -> Self {
        Self::new()
    }
}

impl core::fmt::Debug for Scanner {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Scanner")
            .field("pending", &self.pending())
            .field("stats", &self.stats)
            .finish()
    }
}

enum Candidate {
    Frame,
    Message(Message, usize),
    NeedMore,
}

/// What starts at the front of `bytes`, if anything could.
fn candidate(bytes: &[u8]) -> Option<Candidate> {
    let head = bytes.len().min(HEADER.len());
    if head > 0 && bytes[..head] == HEADER[..head] {
        return Some(if head == HEADER.len() {
            Candidate::Frame
        } else {
            Candidate::NeedMore
        });
    }
    match match_message(bytes) {
        Match::Message(m, len) => Some(Candidate::Message(m, len)),
        Match::NeedMore => Some(Candidate::NeedMore),
        Match::No => None,
    }
}

impl Scanner {
    pub fn new() -> Self {
        Self {
            buf: [0; BUFFER_CAPACITY],
            start: 0,
            end: 0,
            stats: ScannerStats::default(),
        }
    }

    /// Append received bytes; returns how many were taken (fewer only when the buffer is full:
    /// drain [`Self::next_event`] and push the rest).
    #[must_use = "bytes not taken must be pushed again after draining next_event"]
    pub fn push(&mut self, bytes: &[u8]) -> usize {
        if self.end + bytes.len() > BUFFER_CAPACITY && self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        let n = bytes.len().min(BUFFER_CAPACITY - self.end);
        self.buf[self.end..self.end + n].copy_from_slice(&bytes[..n]);
        self.end += n;
        n
    }

    /// The next frame or message, an error describing dropped bytes, or `None` when more bytes
    /// are needed.
    pub fn next_event(&mut self) -> Option<Result<Event<'_>, ScanError>> {
        let pending = &self.buf[self.start..self.end];
        let mut at = 0;
        let found = loop {
            if at >= pending.len() {
                break None;
            }
            if let Some(c) = candidate(&pending[at..]) {
                break Some(c);
            }
            at += 1;
        };
        if at > 0 {
            self.consume(at);
            self.stats.garbage_bytes += at as u64;
            return Some(Err(ScanError::GarbageSkipped(at)));
        }
        match found? {
            Candidate::NeedMore => None,
            Candidate::Message(message, len) => {
                self.consume(len);
                self.stats.messages += 1;
                Some(Ok(Event::Message(message)))
            }
            Candidate::Frame => {
                if pending.len() < FRAME_LEN {
                    return None;
                }
                let start = self.start;
                let verdict = Frame::parse(&self.buf[start..start + FRAME_LEN]).map(|_| ());
                match verdict {
                    Ok(()) => {
                        self.consume(FRAME_LEN);
                        self.stats.frames += 1;
                        // Consuming only moved the window; the bytes stay until the next push.
                        let bytes = self.buf[start..start + FRAME_LEN].try_into().ok()?;
                        Some(Ok(Event::Frame(Frame::verified(bytes))))
                    }
                    Err(why) => {
                        self.consume(1);
                        self.stats.bad_frames += 1;
                        Some(Err(ScanError::BadFrame(why)))
                    }
                }
            }
        }
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
        if self.start >= self.end {
            // Empty: start over at the front. The consumed bytes are left in place, so a frame
            // returned just now still reads them.
            self.start = 0;
            self.end = 0;
        }
    }

    /// Bytes waiting in the buffer.
    pub fn pending(&self) -> usize {
        self.end - self.start
    }

    /// Drop everything buffered. Statistics are kept.
    pub fn reset(&mut self) {
        self.start = 0;
        self.end = 0;
    }

    pub fn stats(&self) -> &ScannerStats {
        &self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jk02::frame::{blank, seal, FrameType};
    use crate::jk02::request::{ack, request, Register};

    fn frame(counter: u8) -> [u8; FRAME_LEN] {
        let mut f = blank(FrameType::CellInfo, counter);
        f[10] = 0x55; // a stray header byte inside the payload must not matter
        seal(&mut f);
        f
    }

    #[derive(Debug, PartialEq)]
    enum Seen {
        Frame(u8),
        Message(Message),
        Error(ScanError),
    }

    fn scan_all(chunks: &[&[u8]]) -> Vec<Seen> {
        let mut s = Scanner::new();
        let mut out = Vec::new();
        for chunk in chunks {
            let mut rest = *chunk;
            loop {
                let n = s.push(rest);
                rest = &rest[n..];
                while let Some(e) = s.next_event() {
                    out.push(match e {
                        Ok(Event::Frame(f)) => Seen::Frame(f.counter()),
                        Ok(Event::Message(m)) => Seen::Message(m),
                        Err(e) => Seen::Error(e),
                    });
                }
                if rest.is_empty() {
                    break;
                }
            }
        }
        out
    }

    #[test]
    fn echo_frame_padding_and_ack_as_the_factory_adapter_sends_them() {
        let mut wire = request(2, Register::CellInfo).to_vec();
        wire.push(0x00);
        wire.extend_from_slice(&frame(9));
        wire.push(0x00);
        wire.extend_from_slice(&ack(2, Register::CellInfo));
        wire.push(0x00);
        let expected = vec![
            Seen::Message(Message::Request {
                address: 2,
                register: Register::CellInfo,
            }),
            Seen::Error(ScanError::GarbageSkipped(1)),
            Seen::Frame(9),
            Seen::Error(ScanError::GarbageSkipped(1)),
            Seen::Message(Message::Ack {
                address: 2,
                register: Register::CellInfo,
            }),
        ];
        assert_eq!(scan_all(&[&wire]), expected);
        // Byte by byte gives the same, except that the trailing 0x00 waits (it may start a
        // message) instead of being dropped.
        let bytes: Vec<&[u8]> = wire.chunks(1).collect();
        assert_eq!(scan_all(&bytes), expected);
    }

    #[test]
    fn a_corrupt_frame_is_reported_and_the_next_one_still_found() {
        let mut bad = frame(1);
        bad[150] ^= 0xFF;
        let good = frame(2);
        let out = scan_all(&[&bad, &good]);
        assert!(matches!(
            out[0],
            Seen::Error(ScanError::BadFrame(FrameError::Checksum { .. }))
        ));
        assert_eq!(out.last(), Some(&Seen::Frame(2)));
        assert_eq!(
            out.iter().filter(|s| matches!(s, Seen::Frame(_))).count(),
            1
        );
    }

    #[test]
    fn a_false_header_in_front_of_a_frame_costs_nothing_but_bytes() {
        let mut wire = vec![0x55, 0xAA, 0xEB, 0x90, 0x02, 0x11];
        wire.extend_from_slice(&frame(5));
        let out = scan_all(&[&wire]);
        assert_eq!(out.last(), Some(&Seen::Frame(5)));
    }

    #[test]
    fn a_full_buffer_takes_what_fits_and_drains() {
        let mut s = Scanner::new();
        let noise = [0x42u8; 3000];
        let mut rest = &noise[..];
        let mut skipped = 0;
        while !rest.is_empty() {
            let n = s.push(rest);
            assert!(n > 0);
            rest = &rest[n..];
            while let Some(e) = s.next_event() {
                if let Err(ScanError::GarbageSkipped(k)) = e {
                    skipped += k;
                }
            }
        }
        // The last byte may still be the address of a Modbus message: it waits.
        assert_eq!(s.pending(), 1);
        assert_eq!(skipped, 2999);
    }
}
