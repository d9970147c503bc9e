//! One classic CAN 2.0A data frame as busbar sends it: an 11-bit identifier and up to 8 bytes
//! (victron-can.md §3.1: 11-bit standard IDs; Venus ignores extended frames). A plain value
//! type, so encoder, scheduler and tests need no socket library; transports convert it.

use std::fmt;

/// Largest 11-bit identifier.
pub const MAX_STANDARD_ID: u16 = 0x7FF;

/// Why bytes cannot be a classic standard frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CanFrameError {
    #[error("identifier 0x{0:X} does not fit 11 bits")]
    Id(u16),
    #[error("{0} data bytes: a classic CAN frame carries at most 8")]
    Length(usize),
}

/// A classic CAN data frame with a standard (11-bit) identifier.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CanFrame {
    id: u16,
    len: u8,
    data: [u8; 8],
}

impl CanFrame {
    pub fn new(id: u16, data: &[u8]) -> Result<Self, CanFrameError> {
        if id > MAX_STANDARD_ID {
            return Err(CanFrameError::Id(id));
        }
        if data.len() > 8 {
            return Err(CanFrameError::Length(data.len()));
        }
        let mut bytes = [0u8; 8];
        bytes[..data.len()].copy_from_slice(data);
        Ok(Self {
            id,
            // At most 8, checked above.
            len: data.len() as u8,
            data: bytes,
        })
    }

    /// A frame with DLC 8. Every busbar frame is sent with 8 bytes, zero padded, as BYD and
    /// Pylontech batteries do (victron-can.md §3.1).
    pub const fn with_8_bytes(id: u16, data: [u8; 8]) -> Self {
        assert!(id <= MAX_STANDARD_ID, "CAN id must fit 11 bits");
        Self { id, len: 8, data }
    }

    pub fn id(&self) -> u16 {
        self.id
    }

    pub fn data(&self) -> &[u8] {
        &self.data[..usize::from(self.len)]
    }

    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// `351#2802E8031C024C01`: the frame part of a `candump -L` line (can-utils lib.c
/// `sprint_canframe`: three hex digits of id, `#`, upper-case data bytes).
impl fmt::Display for CanFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:03X}#", self.id)?;
        for b in self.data() {
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for CanFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CanFrame({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_like_candump() {
        let f = CanFrame::new(0x351, &[0x28, 0x02, 0xE8, 0x03, 0x1C, 0x02, 0x4C, 0x01]).unwrap();
        assert_eq!(f.to_string(), "351#2802E8031C024C01");
        assert_eq!(CanFrame::new(0x35E, b"").unwrap().to_string(), "35E#");
    }

    #[test]
    fn refuses_what_a_classic_standard_frame_cannot_carry() {
        assert_eq!(CanFrame::new(0x800, &[]), Err(CanFrameError::Id(0x800)));
        assert_eq!(CanFrame::new(0x351, &[0; 9]), Err(CanFrameError::Length(9)));
        assert_eq!(CanFrame::new(0x7FF, &[1, 2]).unwrap().data(), &[1, 2]);
    }
}
