//! Streaming frame decoder: bytes in as they come off the wire, checksum-verified frames out
//! (the receiver algorithm of `protocols/jk-nw.md` §1.2, hardened against noise).
//!
//! Sans-IO: the caller reads the port and [`Decoder::push`]es what it got, then calls
//! [`Decoder::next_frame`] until it returns `None` ("need more bytes").
//!
//! Resynchronisation rules:
//! - Bytes before an STX (`4E 57`) are dropped and reported as [`FrameError::GarbageSkipped`].
//! - A frame start with an impossible LENGTH, a wrong end byte or a wrong checksum is reported
//!   and only its first byte is dropped, so a real frame that starts inside the rejected bytes
//!   is still found.
//! - While a frame start waits for more bytes, the bytes already inside its declared length are
//!   searched for a complete, valid frame. If one is there, the waiting start was noise or a cut
//!   off frame: it is dropped ([`FrameError::Truncated`]) and the inner frame comes out at
//!   once, instead of when the next reply completes the false one. (A valid frame inside a real
//!   frame would need `4E 57`, a fitting LENGTH, 0x68 in the right place and a matching
//!   16-bit sum in the real frame's data; ASCII fields cannot even give a LENGTH below 0x2020.)
//! - The buffer holds [`BUFFER_CAPACITY`] bytes and never grows.

use super::frame::{scan, Frame, FrameError, Scan, MAX_FRAME_LEN, STX};

/// Bytes the decoder buffers: two largest frames. After [`Decoder::next_frame`] has returned
/// `None`, at most `MAX_FRAME_LEN - 1` bytes wait (an incomplete frame start), so
/// [`Decoder::push`] then takes at least `BUFFER_CAPACITY - MAX_FRAME_LEN + 1` = 513 bytes.
pub const BUFFER_CAPACITY: usize = 2 * MAX_FRAME_LEN;

/// What the decoder has seen, for the daemon's bad-frame counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DecoderStats {
    /// Valid frames returned.
    pub frames: u64,
    /// Bytes dropped as [`FrameError::GarbageSkipped`].
    pub garbage_bytes: u64,
    /// [`FrameError::BadLength`] rejections.
    pub bad_length: u64,
    /// [`FrameError::BadEndByte`] rejections.
    pub bad_end_byte: u64,
    /// [`FrameError::BadChecksum`] rejections.
    pub bad_checksum: u64,
    /// [`FrameError::Truncated`] frame starts.
    pub truncated: u64,
}

impl DecoderStats {
    /// Frame starts that turned out bad (length, end byte, checksum, truncated).
    pub fn bad_frames(&self) -> u64 {
        self.bad_length + self.bad_end_byte + self.bad_checksum + self.truncated
    }

    fn count(&mut self, error: &FrameError) {
        match *error {
            FrameError::GarbageSkipped(n) => self.garbage_bytes += n as u64,
            FrameError::Truncated(_) => self.truncated += 1,
            FrameError::BadLength(_) => self.bad_length += 1,
            FrameError::BadEndByte(_) => self.bad_end_byte += 1,
            FrameError::BadChecksum { .. } => self.bad_checksum += 1,
            // Only Frame::parse reports these; the decoder never does.
            FrameError::MissingStx
            | FrameError::Incomplete(_)
            | FrameError::SizeMismatch { .. } => {}
        }
    }
}

/// Streaming NW frame decoder with a fixed-size buffer. See the module docs.
pub struct Decoder {
    buf: [u8; BUFFER_CAPACITY],
    window: Window,
    stats: DecoderStats,
}

/// Which bytes of the buffer are pending. Kept apart from the buffer so a returned frame can
/// borrow the buffer while the window moves past it.
#[derive(Clone, Copy, Debug, Default)]
struct Window {
    /// Pending bytes are `buf[start..end]`.
    start: usize,
    end: usize,
    /// How many pending bytes the last look-ahead saw (0 after bytes were consumed): every
    /// inner frame start whose declared end lies within them has been judged already.
    judged: usize,
}

impl Window {
    fn len(&self) -> usize {
        self.end - self.start
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
        if self.start >= self.end {
            // Empty: start over at the front so push never has to move bytes.
            self.start = 0;
            self.end = 0;
        }
        self.judged = 0;
    }
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl core::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Decoder")
            .field("pending", &self.window.len())
            .field("stats", &self.stats)
            .finish()
    }
}

impl Decoder {
    pub fn new() -> Self {
        Self {
            buf: [0; BUFFER_CAPACITY],
            window: Window::default(),
            stats: DecoderStats::default(),
        }
    }

    /// Append received bytes. Returns how many were taken: fewer than `bytes.len()` only when
    /// the buffer is full, in which case drain [`Self::next_frame`] and push the rest.
    #[must_use = "bytes not taken must be pushed again after draining next_frame"]
    pub fn push(&mut self, bytes: &[u8]) -> usize {
        let w = &mut self.window;
        if w.end + bytes.len() > BUFFER_CAPACITY && w.start > 0 {
            // Make room: move the pending bytes to the front.
            self.buf.copy_within(w.start..w.end, 0);
            w.end -= w.start;
            w.start = 0;
        }
        let n = bytes.len().min(BUFFER_CAPACITY - w.end);
        let (taken, _) = bytes.split_at(n);
        self.buf[w.end..w.end + n].copy_from_slice(taken);
        w.end += n;
        n
    }

    /// The next frame, an error describing bytes that were dropped, or `None` when more bytes
    /// are needed. Call it until it returns `None` after every [`Self::push`].
    pub fn next_frame(&mut self) -> Option<Result<Frame<'_>, FrameError>> {
        let Self { buf, window, stats } = self;
        // Only read from here on, so the returned frame may borrow it for as long as `self`.
        let buf: &[u8; BUFFER_CAPACITY] = buf;
        let pending = &buf[window.start..window.end];
        let (drop, error) = match find_stx(pending) {
            Sync::At(0) => match scan(pending) {
                Scan::Complete { frame, len } => {
                    window.consume(len);
                    stats.frames += 1;
                    return Some(Ok(frame));
                }
                // Drop only the first byte: a real frame may start inside the rejected ones.
                Scan::Reject(error) => (1, error),
                Scan::NeedMore { .. } => match look_ahead(pending, window.judged) {
                    Some(at) => (at, FrameError::Truncated(at)),
                    None => {
                        window.judged = pending.len();
                        return None;
                    }
                },
            },
            Sync::At(at) => (at, FrameError::GarbageSkipped(at)),
            Sync::None { keep } => match pending.len() - keep {
                0 => return None,
                len => (len, FrameError::GarbageSkipped(len)),
            },
        };
        window.consume(drop);
        stats.count(&error);
        Some(Err(error))
    }

    /// Bytes waiting in the buffer.
    pub fn pending(&self) -> usize {
        self.window.len()
    }

    /// Room left for [`Self::push`].
    pub fn free(&self) -> usize {
        BUFFER_CAPACITY - self.pending()
    }

    /// Drop everything buffered (e.g. after the port was reopened). Statistics are kept.
    pub fn reset(&mut self) {
        self.window = Window::default();
    }

    /// Counters of frames and errors since the decoder was made.
    pub fn stats(&self) -> &DecoderStats {
        &self.stats
    }
}

enum Sync {
    /// An STX (or, at the very end, its first byte) starts at this offset.
    At(usize),
    /// No STX: all bytes but the last `keep` (a trailing 0x4E) are garbage.
    None { keep: usize },
}

fn find_stx(pending: &[u8]) -> Sync {
    let mut from = 0;
    while let Some(offset) = pending
        .get(from..)
        .and_then(|rest| rest.iter().position(|&b| b == STX[0]))
    {
        let at = from + offset;
        match pending.get(at + 1) {
            Some(&b) if b == STX[1] => return Sync::At(at),
            Some(_) => from = at + 1,
            // A 0x4E as the very last byte may be the first half of an STX.
            None => return Sync::None { keep: 1 },
        }
    }
    Sync::None { keep: 0 }
}

/// Offset of the first complete, valid frame that starts inside `pending` (past offset 0).
///
/// `judged`: the pending length at the previous look-ahead. Frame starts whose declared end
/// lies within it were complete then and, as nothing was returned, invalid; they are skipped
/// without summing them again, so each frame start is checksummed at most once.
fn look_ahead(pending: &[u8], judged: usize) -> Option<usize> {
    if pending.len() <= judged {
        return None;
    }
    let mut from = 1;
    while let Some(offset) = pending
        .get(from..)
        .and_then(|rest| rest.iter().position(|&b| b == STX[0]))
    {
        let at = from + offset;
        let rest = pending.get(at..).unwrap_or_default();
        if let Some(len) = declared_len(rest) {
            if at + len > judged && at + len <= pending.len() {
                if let Scan::Complete { .. } = scan(rest) {
                    return Some(at);
                }
            }
        }
        from = at + 1;
    }
    None
}

/// Total length an STX + LENGTH header at the start of `bytes` declares, if it is one.
fn declared_len(bytes: &[u8]) -> Option<usize> {
    match scan(bytes.get(..4)?) {
        Scan::NeedMore { len } => len,
        Scan::Complete { .. } | Scan::Reject(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jk_nw::frame::READ_ALL_REQUEST;

    /// A minimal frame: a response carrying the single TLV `85 32` (SOC 50 %).
    const SOC_FRAME: [u8; 22] = [
        0x4E, 0x57, // STX
        0x00, 0x14, // LENGTH 20 = N + 18, N = 2
        0x00, 0x00, 0x00, 0x00, // terminal number
        0x06, // command: read all
        0x00, // source: BMS
        0x01, // transmission type: response
        0x85, 0x32, // info: SOC = 50
        0x00, 0x00, 0x00, 0x00, // record number
        0x68, // END
        0x00, 0x00, // "CRC" high part
        0x01, 0xDF, // checksum: 4E+57+14+06+01+85+32+68 = 0x01DF
    ];

    fn drain(decoder: &mut Decoder) -> Vec<Result<Vec<u8>, FrameError>> {
        let mut out = Vec::new();
        while let Some(r) = decoder.next_frame() {
            out.push(r.map(|f| f.info.to_vec()));
        }
        out
    }

    fn push_all(decoder: &mut Decoder, bytes: &[u8]) -> Vec<Result<Vec<u8>, FrameError>> {
        let mut out = Vec::new();
        let mut rest = bytes;
        while !rest.is_empty() {
            let n = decoder.push(rest);
            rest = &rest[n..];
            out.extend(drain(decoder));
        }
        out
    }

    #[test]
    fn the_minimal_frame_is_valid() {
        assert_eq!(Frame::parse(&SOC_FRAME).unwrap().info, &[0x85, 0x32]);
    }

    #[test]
    fn whole_frame_comes_out_in_one_push() {
        let mut d = Decoder::new();
        assert_eq!(push_all(&mut d, &SOC_FRAME), vec![Ok(vec![0x85, 0x32])]);
        assert_eq!(d.pending(), 0);
        assert_eq!(d.stats().frames, 1);
    }

    #[test]
    fn byte_by_byte_gives_none_until_the_last_byte() {
        let mut d = Decoder::new();
        for &b in &SOC_FRAME[..SOC_FRAME.len() - 1] {
            assert_eq!(d.push(&[b]), 1);
            assert_eq!(d.next_frame(), None);
        }
        assert_eq!(d.push(&SOC_FRAME[SOC_FRAME.len() - 1..]), 1);
        assert_eq!(d.next_frame().unwrap().unwrap().info, &[0x85, 0x32]);
        assert_eq!(d.next_frame(), None);
    }

    #[test]
    fn garbage_before_a_frame_is_reported_then_the_frame_follows() {
        let mut d = Decoder::new();
        let mut bytes = vec![0x00, 0xFF, 0x4E, 0x00, 0x57]; // noise, incl. a lone 4E and 57
        bytes.extend_from_slice(&SOC_FRAME);
        assert_eq!(
            push_all(&mut d, &bytes),
            vec![Err(FrameError::GarbageSkipped(5)), Ok(vec![0x85, 0x32])]
        );
        assert_eq!(d.stats().garbage_bytes, 5);
    }

    #[test]
    fn pure_garbage_is_dropped_except_a_trailing_4e() {
        let mut d = Decoder::new();
        assert_eq!(d.push(&[0x01, 0x02, 0x4E]), 3);
        assert_eq!(d.next_frame(), Some(Err(FrameError::GarbageSkipped(2))));
        assert_eq!(d.next_frame(), None);
        assert_eq!(d.pending(), 1); // the 4E may be the start of an STX
        let rest = &SOC_FRAME[1..];
        assert_eq!(d.push(rest), rest.len());
        assert_eq!(d.next_frame().unwrap().unwrap().info, &[0x85, 0x32]);
    }

    #[test]
    fn bad_checksum_is_reported_and_the_next_frame_still_found() {
        let mut bad = SOC_FRAME;
        bad[21] = 0xE0; // checksum low byte off by one
        let mut bytes = bad.to_vec();
        bytes.extend_from_slice(&SOC_FRAME);
        let mut d = Decoder::new();
        assert_eq!(
            push_all(&mut d, &bytes),
            vec![
                Err(FrameError::BadChecksum {
                    received: 0x01E0,
                    computed: 0x01DF
                }),
                // The rest of the rejected frame, after its first byte.
                Err(FrameError::GarbageSkipped(21)),
                Ok(vec![0x85, 0x32]),
            ]
        );
        assert_eq!(d.stats().bad_checksum, 1);
        assert_eq!(d.stats().bad_frames(), 1);
    }

    #[test]
    fn bad_end_byte_is_reported() {
        let mut bad = SOC_FRAME;
        bad[17] = 0x00; // END must be 0x68
        let mut d = Decoder::new();
        assert_eq!(d.push(&bad), bad.len());
        assert_eq!(d.next_frame(), Some(Err(FrameError::BadEndByte(0x00))));
        assert_eq!(d.stats().bad_end_byte, 1);
    }

    #[test]
    fn absurd_length_is_rejected_without_waiting() {
        let mut d = Decoder::new();
        // STX, LENGTH 0xFFFF: judged as soon as the 4 header bytes are in.
        assert_eq!(d.push(&[0x4E, 0x57, 0xFF, 0xFF]), 4);
        assert_eq!(d.next_frame(), Some(Err(FrameError::BadLength(0xFFFF))));
        assert_eq!(d.stats().bad_length, 1);
        // LENGTH 17: shorter than the 18 bytes of overhead.
        let mut d = Decoder::new();
        assert_eq!(d.push(&[0x4E, 0x57, 0x00, 0x11]), 4);
        assert_eq!(d.next_frame(), Some(Err(FrameError::BadLength(17))));
    }

    #[test]
    fn frame_inside_a_false_start_comes_out_without_waiting() {
        // A false STX with a plausible LENGTH (0x0100 = 256) swallows the real frame that
        // follows; the look-ahead finds it before the false start has its 258 bytes.
        let mut bytes = vec![0x4E, 0x57, 0x01, 0x00, 0xAA];
        bytes.extend_from_slice(&SOC_FRAME);
        let mut d = Decoder::new();
        assert_eq!(
            push_all(&mut d, &bytes),
            vec![Err(FrameError::Truncated(5)), Ok(vec![0x85, 0x32])]
        );
        assert_eq!(d.stats().truncated, 1);
        assert_eq!(d.pending(), 0);
    }

    #[test]
    fn frame_inside_a_false_start_also_found_byte_by_byte() {
        let mut bytes = vec![0x4E, 0x57, 0x01, 0x00, 0xAA];
        bytes.extend_from_slice(&SOC_FRAME);
        let mut d = Decoder::new();
        let mut results = Vec::new();
        for b in &bytes {
            assert_eq!(d.push(std::slice::from_ref(b)), 1);
            results.extend(drain(&mut d));
        }
        assert_eq!(
            results,
            vec![Err(FrameError::Truncated(5)), Ok(vec![0x85, 0x32])]
        );
    }

    #[test]
    fn two_frames_back_to_back() {
        let mut bytes = SOC_FRAME.to_vec();
        bytes.extend_from_slice(&READ_ALL_REQUEST);
        let mut d = Decoder::new();
        assert_eq!(
            push_all(&mut d, &bytes),
            vec![Ok(vec![0x85, 0x32]), Ok(vec![0x00])]
        );
    }

    #[test]
    fn buffer_is_bounded_and_push_reports_what_it_took() {
        let mut d = Decoder::new();
        let noise = vec![0x00u8; 3 * BUFFER_CAPACITY];
        assert_eq!(d.push(&noise), BUFFER_CAPACITY);
        assert_eq!(d.push(&noise), 0); // full until drained
        assert_eq!(
            d.next_frame(),
            Some(Err(FrameError::GarbageSkipped(BUFFER_CAPACITY)))
        );
        assert_eq!(d.free(), BUFFER_CAPACITY);
        // A long stream of noise never holds more than the capacity.
        let results = push_all(&mut d, &noise);
        assert!(results
            .iter()
            .all(|r| matches!(r, Err(FrameError::GarbageSkipped(_)))));
        assert_eq!(d.stats().garbage_bytes, 4 * BUFFER_CAPACITY as u64);
    }

    #[test]
    fn after_draining_push_takes_at_least_513_bytes() {
        let mut d = Decoder::new();
        // A frame start declaring the largest length, one byte short of complete.
        let mut start = vec![0x4E, 0x57, 0x01, 0xFE];
        start.resize(MAX_FRAME_LEN - 1, 0x00);
        assert_eq!(d.push(&start), start.len());
        assert_eq!(d.next_frame(), None);
        assert_eq!(d.free(), BUFFER_CAPACITY - MAX_FRAME_LEN + 1);
        assert_eq!(d.push(&[0u8; 600]), 513);
    }

    #[test]
    fn reset_drops_pending_bytes() {
        let mut d = Decoder::new();
        assert_eq!(d.push(&SOC_FRAME[..10]), 10);
        assert_eq!(d.next_frame(), None);
        d.reset();
        assert_eq!(d.pending(), 0);
        assert_eq!(d.push(&SOC_FRAME), SOC_FRAME.len());
        assert!(matches!(d.next_frame(), Some(Ok(_))));
    }
}
