//! JK02 frames (`55 AA EB 90`, 300 bytes) and the JK-PB RS485 bus that carries them: Modbus
//! FC 0x10 trigger requests out, a frame and an FC16 ACK back. Reference:
//! `protocols/jk02.md` (section numbers below are that file's).
//!
//! Sans-IO, like [`crate::jk_nw`]: bytes in, typed values out, values in, bytes out. No port, no
//! clock, no allocation per frame, no panic on any input.
//!
//! # On the wire (§2.2)
//! ```text
//! host -> bus : [addr] 10 16 20 00 01 02 00 00 [crc lo] [crc hi]   cell info (0x1620)
//! BMS  -> host: (echo 0..11 B) (00) 55 AA EB 90 02 .. 300 B .. (00) [addr] 10 16 20 00 01 [crc] (00)
//! ```
//! The frame carries no address (§2.1), so the reader takes a frame as the answer of the
//! address it asked only when that address's ACK follows it.
//!
//! # Files
//! - [`crc`] — CRC-16/MODBUS (the `crc` crate)
//! - [`request`] — trigger requests, ACKs, [`Register`]
//! - [`frame`] — header, checksum, [`Frame`]
//! - [`scanner`] — the streaming [`Scanner`] (frames and Modbus messages out of noise)
//! - [`cell_info`] — type 0x02 in both layouts, [`CellInfo::to_snapshot`]
//! - [`settings`] — type 0x01
//! - [`device_info`] — type 0x03

pub mod cell_info;
pub mod crc;
pub mod device_info;
pub mod frame;
pub mod request;
pub mod scanner;
pub mod settings;

pub use cell_info::{
    alarms_from_errors, errors_from_alarms, representable_alarms, CellInfo, CellInfoError, Layout,
};
pub use device_info::DeviceInfo;
pub use frame::{checksum, Frame, FrameError, FrameType, FRAME_LEN, HEADER};
pub use request::{ack, parse_request, request, Message, Register, ACK_LEN, REQUEST_LEN};
pub use scanner::{Event, ScanError, Scanner, ScannerStats};
pub use settings::Settings;
