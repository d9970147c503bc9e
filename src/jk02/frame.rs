//! The 300-byte JK02 frame (`protocols/jk02.md` §2.1): header `55 AA EB 90`, a type byte, a
//! counter, 293 bytes of little-endian payload and an 8-bit sum at offset 299.

/// Start of every frame (jk02.md §2.1, offset 0).
pub const HEADER: [u8; 4] = [0x55, 0xAA, 0xEB, 0x90];
/// Every frame is exactly this long (jk02.md §2.1).
pub const FRAME_LEN: usize = 300;
/// Offset of the frame type (jk02.md §2.1). Byte 5 is a counter, not part of the type.
pub const TYPE_OFFSET: usize = 4;
/// Offset of the frame counter (jk02.md §2.1).
pub const COUNTER_OFFSET: usize = 5;
/// Offset of the checksum: sum of bytes 0..=298, low 8 bits (jk02.md §2.1).
pub const CHECKSUM_OFFSET: usize = 299;

/// The frame types busbar reads (jk02.md §2.1, offset 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FrameType {
    Settings = 0x01,
    CellInfo = 0x02,
    DeviceInfo = 0x03,
}

impl FrameType {
    pub const fn from_byte(b: u8) -> Option<Self> {
        match b {
            0x01 => Some(FrameType::Settings),
            0x02 => Some(FrameType::CellInfo),
            0x03 => Some(FrameType::DeviceInfo),
            _ => None,
        }
    }
}

/// Why 300 bytes are not a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("{0} bytes is not a JK02 frame ({FRAME_LEN} bytes)")]
    Length(usize),
    #[error("no 55 AA EB 90 header")]
    Header,
    #[error("checksum {got:#04x}, expected {expected:#04x}")]
    Checksum { expected: u8, got: u8 },
    #[error("frame type {got:#04x}, expected {expected:#04x}")]
    Type { expected: u8, got: u8 },
}

/// The 8-bit sum of bytes 0..=298 (jk02.md §2.1).
pub fn checksum(frame: &[u8; FRAME_LEN]) -> u8 {
    frame[..CHECKSUM_OFFSET]
        .iter()
        .fold(0u8, |sum, &b| sum.wrapping_add(b))
}

/// A checksum-verified frame.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    bytes: &'a [u8; FRAME_LEN],
}

impl core::fmt::Debug for Frame<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Frame")
            .field("type", &self.type_byte())
            .field("counter", &self.counter())
            .finish()
    }
}

impl<'a> Frame<'a> {
    /// Check header and checksum of exactly [`FRAME_LEN`] bytes.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, FrameError> {
        let bytes: &[u8; FRAME_LEN] = bytes
            .try_into()
            .map_err(|_| FrameError::Length(bytes.len()))?;
        if bytes[..4] != HEADER {
            return Err(FrameError::Header);
        }
        let expected = checksum(bytes);
        let got = bytes[CHECKSUM_OFFSET];
        if got != expected {
            return Err(FrameError::Checksum { expected, got });
        }
        Ok(Self { bytes })
    }

    /// A frame whose header and checksum the caller has just verified with [`Self::parse`].
    pub(crate) fn verified(bytes: &'a [u8; FRAME_LEN]) -> Self {
        Self { bytes }
    }

    pub fn bytes(&self) -> &'a [u8; FRAME_LEN] {
        self.bytes
    }

    pub fn type_byte(&self) -> u8 {
        self.bytes[TYPE_OFFSET]
    }

    pub fn frame_type(&self) -> Option<FrameType> {
        FrameType::from_byte(self.type_byte())
    }

    pub fn counter(&self) -> u8 {
        self.bytes[COUNTER_OFFSET]
    }

    /// The frame if it has type `expected`.
    pub fn expect(self, expected: FrameType) -> Result<Self, FrameError> {
        match self.type_byte() {
            got if got == expected as u8 => Ok(self),
            got => Err(FrameError::Type {
                expected: expected as u8,
                got,
            }),
        }
    }
}

/// Start a frame of `frame_type`: header, type and counter written, the rest zero.
pub fn blank(frame_type: FrameType, counter: u8) -> [u8; FRAME_LEN] {
    let mut out = [0u8; FRAME_LEN];
    out[..4].copy_from_slice(&HEADER);
    out[TYPE_OFFSET] = frame_type as u8;
    out[COUNTER_OFFSET] = counter;
    out
}

/// Write the checksum into byte 299.
pub fn seal(frame: &mut [u8; FRAME_LEN]) {
    frame[CHECKSUM_OFFSET] = checksum(frame);
}

/// Little-endian field access for the payload decoders: every offset they use is a constant
/// below [`CHECKSUM_OFFSET`], so the slices cannot fail; they are written with `get` anyway so a
/// wrong constant shows as a zero in a test, never as a panic.
pub(crate) mod le {
    use super::FRAME_LEN;

    fn array<const N: usize>(f: &[u8; FRAME_LEN], at: usize) -> [u8; N] {
        f.get(at..at + N)
            .and_then(|s| s.try_into().ok())
            .unwrap_or([0; N])
    }
    pub fn u8(f: &[u8; FRAME_LEN], at: usize) -> u8 {
        f.get(at).copied().unwrap_or(0)
    }
    pub fn u16(f: &[u8; FRAME_LEN], at: usize) -> u16 {
        u16::from_le_bytes(array(f, at))
    }
    pub fn i16(f: &[u8; FRAME_LEN], at: usize) -> i16 {
        i16::from_le_bytes(array(f, at))
    }
    pub fn u32(f: &[u8; FRAME_LEN], at: usize) -> u32 {
        u32::from_le_bytes(array(f, at))
    }
    pub fn i32(f: &[u8; FRAME_LEN], at: usize) -> i32 {
        i32::from_le_bytes(array(f, at))
    }

    fn put<const N: usize>(f: &mut [u8; FRAME_LEN], at: usize, bytes: [u8; N]) {
        if let Some(slot) = f.get_mut(at..at + N) {
            slot.copy_from_slice(&bytes);
        }
    }
    pub fn put_u8(f: &mut [u8; FRAME_LEN], at: usize, v: u8) {
        put(f, at, [v]);
    }
    pub fn put_u16(f: &mut [u8; FRAME_LEN], at: usize, v: u16) {
        put(f, at, v.to_le_bytes());
    }
    pub fn put_i16(f: &mut [u8; FRAME_LEN], at: usize, v: i16) {
        put(f, at, v.to_le_bytes());
    }
    pub fn put_u32(f: &mut [u8; FRAME_LEN], at: usize, v: u32) {
        put(f, at, v.to_le_bytes());
    }
    pub fn put_i32(f: &mut [u8; FRAME_LEN], at: usize, v: i32) {
        put(f, at, v.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_blank_frame_parses_and_a_flipped_bit_does_not() {
        let mut f = blank(FrameType::Settings, 7);
        seal(&mut f);
        let frame = Frame::parse(&f).unwrap();
        assert_eq!(frame.frame_type(), Some(FrameType::Settings));
        assert_eq!(frame.counter(), 7);
        assert!(frame.expect(FrameType::CellInfo).is_err());
        f[100] ^= 0x10;
        assert!(matches!(Frame::parse(&f), Err(FrameError::Checksum { .. })));
        assert_eq!(Frame::parse(&f[..299]), Err(FrameError::Length(299)));
        f[0] = 0;
        assert_eq!(Frame::parse(&f), Err(FrameError::Header));
    }
}
