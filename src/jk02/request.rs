//! The FC 0x10 "write multiple registers" triggers a host sends to a JK-PB on the RS485 bus, and
//! the ACK the BMS sends after its frame (`protocols/jk02.md` §2.2).
//!
//! ```text
//! request: [addr] 10 [reg hi] [reg lo] 00 01 02 00 00 [crc lo] [crc hi]   (11 bytes)
//! ACK:     [addr] 10 [reg hi] [reg lo] 00 01 [crc lo] [crc hi]            (8 bytes)
//! ```

use super::crc::{crc16_modbus, crc_ok};
use super::frame::FrameType;

/// Modbus function code "write multiple registers" (jk02.md §2.2).
pub const FC_WRITE_MULTIPLE: u8 = 0x10;
/// Length of a trigger request.
pub const REQUEST_LEN: usize = 11;
/// Length of the FC16 ACK that follows the frame.
pub const ACK_LEN: usize = 8;

/// DIP-switch addresses a host may poll; 0 is the bus master (jk02.md §2.2).
pub const POLLABLE_ADDRESSES: std::ops::RangeInclusive<u8> = 1..=15;

/// The three trigger registers (jk02.md §2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Register {
    /// 0x1620 → type 0x02 cell-info frame.
    CellInfo,
    /// 0x161E → type 0x01 settings frame.
    Settings,
    /// 0x161C → type 0x03 device-info frame.
    DeviceInfo,
}

impl Register {
    pub const fn address(self) -> u16 {
        match self {
            Register::CellInfo => 0x1620,
            Register::Settings => 0x161E,
            Register::DeviceInfo => 0x161C,
        }
    }

    pub const fn from_address(reg: u16) -> Option<Self> {
        match reg {
            0x1620 => Some(Register::CellInfo),
            0x161E => Some(Register::Settings),
            0x161C => Some(Register::DeviceInfo),
            _ => None,
        }
    }

    /// The frame type the BMS answers this trigger with.
    pub const fn answer(self) -> FrameType {
        match self {
            Register::CellInfo => FrameType::CellInfo,
            Register::Settings => FrameType::Settings,
            Register::DeviceInfo => FrameType::DeviceInfo,
        }
    }
}

/// The trigger request for `register` at bus `address`, CRC appended.
pub fn request(address: u8, register: Register) -> [u8; REQUEST_LEN] {
    let [hi, lo] = register.address().to_be_bytes();
    let mut out = [
        address,
        FC_WRITE_MULTIPLE,
        hi,
        lo,
        0x00,
        0x01, // one register
        0x02, // two data bytes
        0x00,
        0x00, // value 0x0000
        0,
        0,
    ];
    let [crc_lo, crc_hi] = crc16_modbus(&out[..9]).to_le_bytes();
    out[9] = crc_lo;
    out[10] = crc_hi;
    out
}

/// The ACK a BMS at `address` sends after answering `register`.
pub fn ack(address: u8, register: Register) -> [u8; ACK_LEN] {
    let [hi, lo] = register.address().to_be_bytes();
    let mut out = [address, FC_WRITE_MULTIPLE, hi, lo, 0x00, 0x01, 0, 0];
    let [crc_lo, crc_hi] = crc16_modbus(&out[..6]).to_le_bytes();
    out[6] = crc_lo;
    out[7] = crc_hi;
    out
}

/// A Modbus message recognised on the bus.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Message {
    /// A trigger request (ours echoed back, or another master's).
    Request { address: u8, register: Register },
    /// The ACK after a frame.
    Ack { address: u8, register: Register },
}

/// What the bytes at the start of `bytes` are, as a Modbus message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Match {
    Message(Message, usize),
    /// Could still become a message once more bytes arrive.
    NeedMore,
    No,
}

/// Whether `bytes` starts with a trigger request or an ACK with a valid CRC. Only the three
/// trigger registers with one register of value 0 are recognised.
pub(crate) fn match_message(bytes: &[u8]) -> Match {
    let (Some(&address), Some(&fc)) = (bytes.first(), bytes.get(1)) else {
        return if !bytes.is_empty() {
            Match::NeedMore
        } else {
            Match::No
        };
    };
    if fc != FC_WRITE_MULTIPLE {
        return Match::No;
    }
    let Some(reg) = bytes.get(2..4) else {
        return Match::NeedMore;
    };
    let Some(register) = Register::from_address(u16::from_be_bytes([reg[0], reg[1]])) else {
        return Match::No;
    };
    let Some(count) = bytes.get(4..6) else {
        return Match::NeedMore;
    };
    if count != [0x00, 0x01] {
        return Match::No;
    }
    // Both shapes share the first six bytes; the CRC tells which one this is.
    let ack = bytes.get(..ACK_LEN);
    if ack.is_some_and(crc_ok) {
        return Match::Message(Message::Ack { address, register }, ACK_LEN);
    }
    let request = bytes.get(..REQUEST_LEN);
    if request.is_some_and(|r| r[6..9] == [0x02, 0x00, 0x00] && crc_ok(r)) {
        return Match::Message(Message::Request { address, register }, REQUEST_LEN);
    }
    if bytes.len() < REQUEST_LEN {
        Match::NeedMore
    } else {
        Match::No
    }
}

/// Parse one whole request (the simulator's side of the bus).
pub fn parse_request(bytes: &[u8]) -> Option<(u8, Register)> {
    match match_message(bytes) {
        Match::Message(Message::Request { address, register }, REQUEST_LEN)
            if bytes.len() == REQUEST_LEN =>
        {
            Some((address, register))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The documented request bytes are checked in tests/jk02_vectors.rs.

    #[test]
    fn messages_are_recognised_and_told_apart() {
        for address in 0..=255u8 {
            for register in [Register::CellInfo, Register::Settings, Register::DeviceInfo] {
                let r = request(address, register);
                assert_eq!(parse_request(&r), Some((address, register)));
                assert_eq!(
                    match_message(&r),
                    Match::Message(Message::Request { address, register }, REQUEST_LEN)
                );
                let a = ack(address, register);
                assert_eq!(
                    match_message(&a),
                    Match::Message(Message::Ack { address, register }, ACK_LEN)
                );
                assert_eq!(parse_request(&a), None);
            }
        }
    }

    #[test]
    fn prefixes_need_more_and_wrong_bytes_are_no_match() {
        let r = request(3, Register::Settings);
        for cut in 1..ACK_LEN {
            assert_eq!(match_message(&r[..cut]), Match::NeedMore, "cut {cut}");
        }
        assert_eq!(match_message(&[]), Match::No);
        assert_eq!(match_message(&[0x01, 0x03]), Match::No);
        assert_eq!(match_message(&[0x01, 0x10, 0x12, 0x00]), Match::No);
        let mut bad = r;
        bad[10] ^= 1;
        assert_eq!(match_message(&bad), Match::No);
    }
}
