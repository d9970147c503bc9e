//! JK-BMS "NW" serial protocol (frames start `4E 57` = "NW"), spoken by JK-B* / JK-BD* BMS on
//! the UART-TTL "GPS"/"RS485" socket at 115200 8N1. Reference: `protocols/jk-nw.md`.
//!
//! Sans-IO: this module turns bytes into typed values and values into bytes. It never touches a
//! port, a clock or a thread, allocates nothing per decoded frame, and never panics on any
//! input.
//!
//! # Frame (§1.2)
//!
//! | Offset | Len | Field | Notes |
//! |---|---|---|---|
//! | 0 | 2 | STX `4E 57` | [`frame::STX`] |
//! | 2 | 2 | LENGTH, u16 BE | N + 18: everything after STX through the checksum |
//! | 4 | 4 | BMS terminal number | `00 00 00 00` in all captures |
//! | 8 | 1 | command | 0x01 activate, 0x02 write, 0x03 read one ID, 0x05 password, 0x06 read all |
//! | 9 | 1 | source | 0 BMS, 1 Bluetooth, 2 GPS, 3 PC |
//! | 10 | 1 | transmission type | 0 request, 1 response, 2 active upload |
//! | 11 | N | info | request: ID (0x00 = all); reply: TLV stream (§1.4) |
//! | 11+N | 4 | record number | zeros in all captures |
//! | 15+N | 1 | END `0x68` | [`frame::END`] |
//! | 16+N | 2 | "CRC" high part | unused, `00 00`, not checked |
//! | 18+N | 2 | checksum, u16 BE | byte sum of offsets 0 ..= 15+N |
//!
//! A read-all reply's info field is a TLV stream: an ID byte, then a value whose size the ID
//! fixes ([`tag::value_size`]); the cell list is `79 L` + L bytes. A full reply is
//! 243 + 3 × cells bytes (291 for 16S).
//!
//! # Use
//!
//! Daemon (reading a pack):
//! ```
//! use busbar::jk_nw::{Decoder, READ_ALL_REQUEST};
//! # let bytes_from_port: &[u8] = &[];
//! // write READ_ALL_REQUEST to the port, then feed what comes back:
//! let mut decoder = Decoder::new();
//! let mut rest = bytes_from_port;
//! while !rest.is_empty() {
//!     let taken = decoder.push(rest);
//!     rest = &rest[taken..];
//!     while let Some(result) = decoder.next_reply() {
//!         match result {
//!             Ok(reply) => { /* reply.pack: a PackSnapshot */ }
//!             Err(error) => { /* count it; the decoder has resynchronised */ }
//!         }
//!     }
//! }
//! ```
//! Simulator (answering): [`Decoder::next_frame`] → [`parse_request`] →
//! [`NwReply::encode_with_command`] with [`Request::reply_command`].
//!
//! # Files
//! - [`frame`] — layout constants, [`Frame`], checksum, [`encode_frame`], [`READ_ALL_REQUEST`]
//! - [`decoder`] — the streaming [`Decoder`]
//! - [`tag`] — the TLV IDs and their sizes
//! - [`codes`] — temperature (§1.6) and current (§1.5) codes
//! - `text` — fixed-width ASCII fields
//! - [`reply`] — [`NwReply`], [`NwSettings`]
//! - [`payload`] — TLV walk, [`decode_reply`]
//! - [`encode`] — [`NwReply::encode`], [`NwReply::lfp16`]
//! - [`request`] — [`parse_request`]

pub mod codes;
pub mod decoder;
pub mod encode;
pub mod frame;
pub mod payload;
pub mod reply;
pub mod request;
pub mod tag;
mod text;

pub use codes::CurrentEncoding;
pub use decoder::{Decoder, DecoderStats, BUFFER_CAPACITY};
pub use frame::{
    checksum, encode_frame, read_all_request, EncodeError, Frame, FrameError, MAX_FRAME_LEN,
    READ_ALL_REQUEST,
};
pub use payload::{decode_reply, DecodeError, PayloadError};
pub use reply::{CellType, NwReply, NwSettings, Password};
pub use request::{parse_request, Request, RequestError};
