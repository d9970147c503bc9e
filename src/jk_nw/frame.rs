//! The NW frame: layout constants, the raw frame view, the checksum, and the frame encoder
//! (`protocols/jk-nw.md` §1.2). Nothing here knows what the info field means; that is
//! [`super::payload`]'s job.

use thiserror::Error;

/// Start of every frame: "NW" (jk-nw.md §1.2, offset 0).
pub const STX: [u8; 2] = [0x4E, 0x57];
/// The byte that ends the checksummed part of every frame (jk-nw.md §1.2, offset 15+N).
pub const END: u8 = 0x68;

/// Offset of the LENGTH field, u16 BE (jk-nw.md §1.2).
pub const LENGTH_OFFSET: usize = 2;
/// Bytes before the info field: STX 2, LENGTH 2, terminal number 4, command, source,
/// transmission type (jk-nw.md §1.2: the info field starts at offset 11).
pub const HEADER_LEN: usize = 11;
/// Bytes after the info field: record number 4, end byte 1, unused "CRC" high part 2,
/// checksum 2 (jk-nw.md §1.2: offsets 11+N .. 19+N).
pub const TRAILER_LEN: usize = 9;
/// Total frame length = N + 20 (jk-nw.md §1.2).
pub const OVERHEAD: usize = HEADER_LEN + TRAILER_LEN;
/// LENGTH counts every byte but the two STX bytes: LENGTH = N + 18, total = LENGTH + 2
/// (jk-nw.md §1.2).
pub const LENGTH_EXCLUDED: usize = STX.len();
/// Smallest LENGTH: a frame with an empty info field (ODTU's 20-byte read request, §1.3).
pub const MIN_LENGTH: u16 = (OVERHEAD - LENGTH_EXCLUDED) as u16;

/// Largest whole frame the decoder accepts, in bytes.
///
/// The largest reply the protocol can carry is every §1.4 tag once with
/// [`crate::pack::MAX_CELLS`] (32) cells: 20 + 223 + 3 × 32 = 339 bytes (§1.4: N = 223 + 3n).
/// 512 leaves room for a firmware that adds tags, while a false STX in line noise can hold the
/// decoder for at most 512 bytes (45 ms at 115200 baud, §1.1) before it is judged.
pub const MAX_FRAME_LEN: usize = 512;
/// Largest LENGTH field the decoder accepts (total = LENGTH + 2, jk-nw.md §1.2).
pub const MAX_LENGTH: u16 = (MAX_FRAME_LEN - LENGTH_EXCLUDED) as u16;
/// Largest info field that fits in [`MAX_FRAME_LEN`].
pub const MAX_INFO_LEN: usize = MAX_FRAME_LEN - OVERHEAD;

/// Command words (jk-nw.md §1.2, offset 8).
pub mod command {
    /// Wake a sleeping BMS (§1.1).
    pub const ACTIVATE: u8 = 0x01;
    /// Write one register (§1.3; out of scope for busbar).
    pub const WRITE: u8 = 0x02;
    /// Read one ID; ID 0x00 reads everything (§1.3, MPP).
    pub const READ: u8 = 0x03;
    /// Send the parameter password before a write (§1.3).
    pub const PASSWORD: u8 = 0x05;
    /// Read all data (§1.3).
    pub const READ_ALL: u8 = 0x06;
}

/// Frame sources (jk-nw.md §1.2, offset 9).
pub mod source {
    /// The BMS itself; every observed reply uses it.
    pub const BMS: u8 = 0x00;
    pub const BLUETOOTH: u8 = 0x01;
    pub const GPS: u8 = 0x02;
    /// A PC / host: what busbar sends.
    pub const PC: u8 = 0x03;
}

/// Transmission types (jk-nw.md §1.2, offset 10).
pub mod transmission {
    pub const REQUEST: u8 = 0x00;
    pub const RESPONSE: u8 = 0x01;
    /// The BMS sends without being asked.
    pub const ACTIVE_UPLOAD: u8 = 0x02;
}

/// The read-all request as sent from `source` (jk-nw.md §1.3): LENGTH 0x0013, command 0x06,
/// info = ID 0x00 (all), record number 0, checksum computed here at compile time.
pub const fn read_all_request(source: u8) -> [u8; 21] {
    let mut frame = [
        STX[0],
        STX[1], // STX "NW"
        0x00,
        0x13, // LENGTH = 19 = N + 18 with N = 1
        0x00,
        0x00,
        0x00,
        0x00, // BMS terminal number
        command::READ_ALL,
        source,
        transmission::REQUEST,
        0x00, // info: ID 0x00 = all
        0x00,
        0x00,
        0x00,
        0x00, // record number
        END,
        0x00,
        0x00, // unused "CRC" high part
        0x00,
        0x00, // checksum, filled in below
    ];
    // Checksum = byte sum of offsets 0..=16 (STX through END), §1.2.
    let mut sum: u16 = 0;
    let mut i = 0;
    while i <= 16 {
        sum = sum.wrapping_add(frame[i] as u16);
        i += 1;
    }
    let [hi, lo] = sum.to_be_bytes();
    frame[19] = hi;
    frame[20] = lo;
    frame
}

/// The request busbar sends to read a pack: read-all from source 0x03 "PC" (jk-nw.md §1.3).
pub const READ_ALL_REQUEST: [u8; 21] = read_all_request(source::PC);

/// The NW checksum: the plain 16-bit sum of `bytes` (jk-nw.md §1.2). Pass the frame from STX
/// through the END byte.
pub fn checksum(bytes: &[u8]) -> u16 {
    // Wrapping u16 adds: the sum is defined mod 65536, and this form vectorises.
    bytes
        .iter()
        .fold(0u16, |sum, &b| sum.wrapping_add(u16::from(b)))
}

/// One checksum-verified frame, borrowed from the bytes it was found in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    /// BMS terminal number (offset 4): MSB reserved, low 24 bits unit ID; 0 in all captures.
    pub terminal: u32,
    /// Command word, see [`command`].
    pub command: u8,
    /// Frame source, see [`source`].
    pub source: u8,
    /// Transmission type, see [`transmission`].
    pub transmission_type: u8,
    /// The info field: one ID byte in a request, a TLV stream in a reply (§1.4).
    pub info: &'a [u8],
    /// Record number (offset 11+N): MSB random, low 3 bytes a sequence; 0 in all captures.
    pub record: u32,
}

/// Why bytes are not a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum FrameError {
    /// The streaming decoder dropped bytes that cannot start a frame (line noise, or the rest
    /// of a frame rejected just before).
    #[error("skipped {0} bytes that do not start a frame")]
    GarbageSkipped(usize),
    /// The streaming decoder abandoned a frame start after this many bytes because a complete,
    /// valid frame began inside it: the first one was cut short (or was noise that looked like
    /// an STX).
    #[error("abandoned a frame start after {0} bytes: a complete frame began inside it")]
    Truncated(usize),
    /// The bytes do not begin with the STX `4E 57`.
    #[error("frame does not start with 4E 57")]
    MissingStx,
    /// The LENGTH field is outside what a frame can hold.
    #[error("LENGTH {0} is outside {MIN_LENGTH}..={MAX_LENGTH}")]
    BadLength(u16),
    /// The byte where 0x68 belongs holds something else.
    #[error("end byte is 0x{0:02X}, not 0x68")]
    BadEndByte(u8),
    /// The checksum does not match the bytes.
    #[error("checksum 0x{received:04X} received, 0x{computed:04X} computed")]
    BadChecksum { received: u16, computed: u16 },
    /// [`Frame::parse`] only: too few bytes to read the LENGTH field.
    #[error("only {0} bytes: not a whole frame")]
    Incomplete(usize),
    /// [`Frame::parse`] only: the slice is not exactly as long as its LENGTH field says.
    #[error("LENGTH says the frame is {declared} bytes, but {actual} were given")]
    SizeMismatch { declared: usize, actual: usize },
}

/// What the bytes at the start of a buffer are.
#[derive(Debug)]
pub(crate) enum Scan<'a> {
    /// A valid frame, `len` bytes long.
    Complete { frame: Frame<'a>, len: usize },
    /// Not a frame; the reason.
    Reject(FrameError),
    /// Could still become a frame; `len` is its total length once known (after 4 bytes).
    NeedMore { len: Option<usize> },
}

fn be16(b: [u8; 2]) -> u16 {
    u16::from_be_bytes(b)
}

/// Total frame length from its LENGTH field, or `BadLength` (§1.2: total = LENGTH + 2).
fn total_len(length: u16) -> Result<usize, FrameError> {
    if (MIN_LENGTH..=MAX_LENGTH).contains(&length) {
        Ok(usize::from(length) + LENGTH_EXCLUDED)
    } else {
        Err(FrameError::BadLength(length))
    }
}

/// Judge the bytes at the start of `buf` as a frame: the receiver algorithm of jk-nw.md §1.2
/// (sync on STX, read LENGTH, expect 0x68 at LENGTH − 3, verify the sum).
pub(crate) fn scan(buf: &[u8]) -> Scan<'_> {
    match buf {
        [] => return Scan::NeedMore { len: None },
        [first] if *first == STX[0] => return Scan::NeedMore { len: None },
        [a, b, ..] if [*a, *b] == STX => {}
        _ => return Scan::Reject(FrameError::MissingStx),
    }
    let Some(&[_, _, len_hi, len_lo]) = buf.first_chunk::<4>() else {
        return Scan::NeedMore { len: None };
    };
    let len = match total_len(be16([len_hi, len_lo])) {
        Ok(len) => len,
        Err(e) => return Scan::Reject(e),
    };
    let Some(bytes) = buf.get(..len) else {
        return Scan::NeedMore { len: Some(len) };
    };
    // len >= OVERHEAD (MIN_LENGTH), so both splits succeed; the else arms are never taken.
    let Some((head, rest)) = bytes.split_first_chunk::<HEADER_LEN>() else {
        return Scan::Reject(FrameError::BadLength(0));
    };
    let Some((info, tail)) = rest.split_last_chunk::<TRAILER_LEN>() else {
        return Scan::Reject(FrameError::BadLength(0));
    };
    let [_, _, _, _, t0, t1, t2, t3, command, source, transmission_type] = *head;
    // Trailer (§1.2): record number 4, END, unused "CRC" high part 2, checksum 2. The "CRC"
    // high part is not checked: it is zero in every capture, outside the checksum, and carries
    // nothing we use, so rejecting on it could only lose good data.
    let [r0, r1, r2, r3, end, _, _, sum_hi, sum_lo] = *tail;
    if end != END {
        return Scan::Reject(FrameError::BadEndByte(end));
    }
    // Summed: STX through END = everything but the last 4 bytes (§1.2).
    let Some((summed, _)) = bytes.split_last_chunk::<4>() else {
        return Scan::Reject(FrameError::BadLength(0));
    };
    let computed = checksum(summed);
    let received = be16([sum_hi, sum_lo]);
    if computed != received {
        return Scan::Reject(FrameError::BadChecksum { received, computed });
    }
    Scan::Complete {
        frame: Frame {
            terminal: u32::from_be_bytes([t0, t1, t2, t3]),
            command,
            source,
            transmission_type,
            info,
            record: u32::from_be_bytes([r0, r1, r2, r3]),
        },
        len,
    }
}

impl<'a> Frame<'a> {
    /// Parse exactly one complete frame: `bytes` must hold the frame and nothing else.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, FrameError> {
        match scan(bytes) {
            Scan::Complete { frame, len } if len == bytes.len() => Ok(frame),
            Scan::Complete { len, .. } | Scan::NeedMore { len: Some(len) } => {
                Err(FrameError::SizeMismatch {
                    declared: len,
                    actual: bytes.len(),
                })
            }
            Scan::NeedMore { len: None } => Err(FrameError::Incomplete(bytes.len())),
            Scan::Reject(e) => Err(e),
        }
    }

    /// Append this frame, checksum included, to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        if self.info.len() > MAX_INFO_LEN {
            return Err(EncodeError::InfoTooLong(self.info.len()));
        }
        let start = out.len();
        out.reserve(self.info.len() + OVERHEAD);
        write_header(
            out,
            self.terminal,
            self.command,
            self.source,
            self.transmission_type,
        );
        out.extend_from_slice(self.info);
        finish_frame(out, start, self.record);
        Ok(())
    }
}

/// A frame that cannot be encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum EncodeError {
    #[error("info field of {0} bytes is longer than {MAX_INFO_LEN}")]
    InfoTooLong(usize),
}

/// Append a frame with terminal number 0 and record number 0 (as in every capture) to `out`.
pub fn encode_frame(
    command: u8,
    source: u8,
    transmission_type: u8,
    info: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    Frame {
        terminal: 0,
        command,
        source,
        transmission_type,
        info,
        record: 0,
    }
    .encode(out)
}

/// Append the 11 header bytes with a zero LENGTH placeholder that [`finish_frame`] fills.
pub(crate) fn write_header(
    out: &mut Vec<u8>,
    terminal: u32,
    command: u8,
    source: u8,
    transmission_type: u8,
) {
    out.extend_from_slice(&STX);
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&terminal.to_be_bytes());
    out.extend_from_slice(&[command, source, transmission_type]);
}

/// Append the trailer to the frame that starts at `out[start]` (header and info already
/// written), then fill in its LENGTH and checksum (§1.2).
///
/// Callers keep the info field within [`MAX_INFO_LEN`], so LENGTH fits in u16.
pub(crate) fn finish_frame(out: &mut Vec<u8>, start: usize, record: u32) {
    out.extend_from_slice(&record.to_be_bytes());
    out.push(END);
    out.extend_from_slice(&[0, 0]); // unused "CRC" high part (§1.2)
    let length = (out.len() + 2 - start - LENGTH_EXCLUDED) as u16;
    if let Some(field) = out.get_mut(start + LENGTH_OFFSET..start + LENGTH_OFFSET + 2) {
        field.copy_from_slice(&length.to_be_bytes());
    }
    // Summed: STX through END, i.e. all written so far except the two "CRC" bytes (§1.2).
    let sum = out
        .get(start..out.len() - 2)
        .map(checksum)
        .unwrap_or_default();
    out.extend_from_slice(&sum.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The read-all request exactly as jk-nw.md §1.3 documents it.
    const DOCUMENTED_READ_ALL_PC: [u8; 21] = [
        0x4E, 0x57, // STX
        0x00, 0x13, // LENGTH 19
        0x00, 0x00, 0x00, 0x00, // terminal number
        0x06, // command: read all
        0x03, // source: PC
        0x00, // transmission type: request
        0x00, // info: ID 0x00 = all
        0x00, 0x00, 0x00, 0x00, // record number
        0x68, // END
        0x00, 0x00, // "CRC" high part
        0x01, 0x29, // checksum
    ];

    #[test]
    fn read_all_request_matches_the_documented_bytes() {
        assert_eq!(READ_ALL_REQUEST, DOCUMENTED_READ_ALL_PC);
        // The GPS-source variant from §1.3 differs in the source byte and so in the checksum.
        let gps = read_all_request(source::GPS);
        assert_eq!(gps[9], 0x02);
        assert_eq!(&gps[19..], &[0x01, 0x28]);
    }

    #[test]
    fn encode_frame_builds_the_documented_request() {
        let mut out = vec![0xAA]; // something already in the buffer stays untouched
        encode_frame(
            command::READ_ALL,
            source::PC,
            transmission::REQUEST,
            &[0x00],
            &mut out,
        )
        .unwrap(); // 1-byte info is far below MAX_INFO_LEN
        assert_eq!(out[0], 0xAA);
        assert_eq!(&out[1..], &DOCUMENTED_READ_ALL_PC);
    }

    #[test]
    fn parse_reads_every_header_field() {
        let frame = Frame::parse(&DOCUMENTED_READ_ALL_PC).unwrap();
        assert_eq!(
            frame,
            Frame {
                terminal: 0,
                command: command::READ_ALL,
                source: source::PC,
                transmission_type: transmission::REQUEST,
                info: &[0x00],
                record: 0,
            }
        );
    }

    #[test]
    fn terminal_and_record_round_trip() {
        let frame = Frame {
            terminal: 0x0012_3456,
            command: command::READ,
            source: source::BMS,
            transmission_type: transmission::RESPONSE,
            info: &[0x85, 0x32],
            record: 0x8000_0001,
        };
        let mut out = Vec::new();
        frame.encode(&mut out).unwrap();
        assert_eq!(out.len(), 2 + OVERHEAD);
        assert_eq!(Frame::parse(&out), Ok(frame));
    }

    #[test]
    fn empty_info_is_a_valid_frame() {
        // ODTU's 20-byte read request without an ID byte (§1.3).
        let bytes = [
            0x4E, 0x57, // STX
            0x00, 0x12, // LENGTH 18 = N + 18 with N = 0
            0x00, 0x00, 0x00, 0x00, // terminal
            0x06, 0x03, 0x00, // read all, from PC, request
            0x00, 0x00, 0x00, 0x00, // record
            0x68, // END
            0x00, 0x00, // "CRC" high
            0x01, 0x28, // checksum: 4E+57+12+06+03+68 = 0x0128
        ];
        let frame = Frame::parse(&bytes).unwrap();
        assert!(frame.info.is_empty());
    }

    #[test]
    fn bad_checksum_is_rejected() {
        let mut bytes = DOCUMENTED_READ_ALL_PC;
        bytes[20] = 0x2A; // checksum low byte off by one
        assert_eq!(
            Frame::parse(&bytes),
            Err(FrameError::BadChecksum {
                received: 0x012A,
                computed: 0x0129
            })
        );
    }

    #[test]
    fn bad_end_byte_is_rejected() {
        let mut bytes = DOCUMENTED_READ_ALL_PC;
        bytes[16] = 0x69; // END must be 0x68
        assert_eq!(Frame::parse(&bytes), Err(FrameError::BadEndByte(0x69)));
    }

    #[test]
    fn lengths_outside_the_bounds_are_rejected() {
        let mut bytes = DOCUMENTED_READ_ALL_PC;
        bytes[2..4].copy_from_slice(&[0x00, 0x11]); // LENGTH 17 < 18: not even the overhead
        assert_eq!(Frame::parse(&bytes), Err(FrameError::BadLength(17)));
        bytes[2..4].copy_from_slice(&[0x01, 0xFF]); // LENGTH 511 > MAX_LENGTH 510
        assert_eq!(Frame::parse(&bytes), Err(FrameError::BadLength(511)));
        bytes[2..4].copy_from_slice(&[0xFF, 0xFF]);
        assert_eq!(Frame::parse(&bytes), Err(FrameError::BadLength(0xFFFF)));
    }

    #[test]
    fn missing_stx_is_rejected() {
        let mut bytes = DOCUMENTED_READ_ALL_PC;
        bytes[1] = 0x58; // "NX"
        assert_eq!(Frame::parse(&bytes), Err(FrameError::MissingStx));
        assert_eq!(Frame::parse(&[0x00]), Err(FrameError::MissingStx));
    }

    #[test]
    fn short_or_long_slices_are_size_mismatches() {
        assert_eq!(Frame::parse(&[]), Err(FrameError::Incomplete(0)));
        assert_eq!(
            Frame::parse(&DOCUMENTED_READ_ALL_PC[..3]),
            Err(FrameError::Incomplete(3))
        );
        assert_eq!(
            Frame::parse(&DOCUMENTED_READ_ALL_PC[..20]),
            Err(FrameError::SizeMismatch {
                declared: 21,
                actual: 20
            })
        );
        let mut long = DOCUMENTED_READ_ALL_PC.to_vec();
        long.push(0x00);
        assert_eq!(
            Frame::parse(&long),
            Err(FrameError::SizeMismatch {
                declared: 21,
                actual: 22
            })
        );
    }

    #[test]
    fn crc_high_bytes_are_ignored() {
        // They are outside the checksum and zero in every capture (§1.2).
        let mut bytes = DOCUMENTED_READ_ALL_PC;
        bytes[17] = 0x12;
        bytes[18] = 0x34;
        assert_eq!(Frame::parse(&bytes), Frame::parse(&DOCUMENTED_READ_ALL_PC));
    }

    #[test]
    fn oversized_info_is_not_encoded() {
        let info = vec![0u8; MAX_INFO_LEN + 1];
        let mut out = Vec::new();
        assert_eq!(
            encode_frame(0x06, 0, 1, &info, &mut out),
            Err(EncodeError::InfoTooLong(MAX_INFO_LEN + 1))
        );
        assert!(out.is_empty());
        // The largest one is, and parses back.
        encode_frame(0x06, 0, 1, &info[1..], &mut out).unwrap();
        assert_eq!(out.len(), MAX_FRAME_LEN);
        assert_eq!(Frame::parse(&out).unwrap().info.len(), MAX_INFO_LEN);
    }

    #[test]
    fn checksum_wraps_at_16_bits() {
        assert_eq!(checksum(&[0xFF; 258]), (0xFFu32 * 258 % 65536) as u16);
        assert_eq!(checksum(&[0xFF; 300]), ((0xFF * 300) & 0xFFFF) as u16);
    }
}
