//! Requests as the pack simulator receives them (`protocols/jk-nw.md` §1.3).

use thiserror::Error;

use super::frame::{command, transmission, Frame};

/// ID 0x00 in a read request's info field: "all" (§1.3).
const ID_ALL: u8 = 0x00;

/// A request the simulator can answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    /// Read everything. `command` is the request's command byte, which the reply echoes:
    /// 0x06 (read all) or 0x03 (read ID 0x00, as MPP sends it).
    ReadAll { command: u8 },
}

impl Request {
    /// The command byte the reply must carry.
    pub fn reply_command(&self) -> u8 {
        match *self {
            Self::ReadAll { command } => command,
        }
    }
}

/// Why a frame is not a request the simulator answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum RequestError {
    /// The transmission type is not 0x00 "request" (§1.2).
    #[error("transmission type 0x{0:02X} is not a request")]
    NotARequest(u8),
    /// Activate, write, password, or an unknown command.
    #[error("command 0x{0:02X} is not supported")]
    UnsupportedCommand(u8),
    /// Read (0x03) of one ID rather than of all (ID 0x00).
    #[error("reading the single ID 0x{0:02X} is not supported")]
    UnsupportedReadId(u8),
    /// The info field is not what a read request carries (one ID byte, §1.3).
    #[error("read request with a {0}-byte info field")]
    UnexpectedInfo(usize),
}

/// Recognise a request (§1.3): read-all is command 0x06 with info `00` (or no info at all, as
/// ODTU sends it), or command 0x03 with ID 0x00.
pub fn parse_request(frame: &Frame<'_>) -> Result<Request, RequestError> {
    if frame.transmission_type != transmission::REQUEST {
        return Err(RequestError::NotARequest(frame.transmission_type));
    }
    match (frame.command, frame.info) {
        (command::READ_ALL, [] | [ID_ALL]) | (command::READ, [ID_ALL]) => Ok(Request::ReadAll {
            command: frame.command,
        }),
        (command::READ, [id]) => Err(RequestError::UnsupportedReadId(*id)),
        (command::READ_ALL | command::READ, info) => Err(RequestError::UnexpectedInfo(info.len())),
        (other, _) => Err(RequestError::UnsupportedCommand(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jk_nw::frame::{source, READ_ALL_REQUEST};

    fn request(command: u8, transmission_type: u8, info: &[u8]) -> Frame<'_> {
        Frame {
            terminal: 0,
            command,
            source: source::PC,
            transmission_type,
            info,
            record: 0,
        }
    }

    #[test]
    fn documented_read_all_request_is_recognised() {
        let frame = Frame::parse(&READ_ALL_REQUEST).unwrap(); // a valid constant
        assert_eq!(
            parse_request(&frame),
            Ok(Request::ReadAll { command: 0x06 })
        );
    }

    #[test]
    fn read_variants_of_section_1_3() {
        // ODTU: read all without an ID byte.
        assert_eq!(
            parse_request(&request(0x06, 0x00, &[])),
            Ok(Request::ReadAll { command: 0x06 })
        );
        // MPP: read (0x03) ID 0x00; the reply echoes 0x03.
        let r = parse_request(&request(0x03, 0x00, &[0x00])).unwrap();
        assert_eq!(r, Request::ReadAll { command: 0x03 });
        assert_eq!(r.reply_command(), 0x03);
    }

    #[test]
    fn other_frames_are_typed_errors() {
        assert_eq!(
            parse_request(&request(0x06, 0x01, &[0x00])),
            Err(RequestError::NotARequest(0x01))
        );
        assert_eq!(
            parse_request(&request(0x01, 0x00, &[0x00])),
            Err(RequestError::UnsupportedCommand(0x01))
        );
        assert_eq!(
            parse_request(&request(0x02, 0x00, &[0xAB, 0x00])),
            Err(RequestError::UnsupportedCommand(0x02))
        );
        assert_eq!(
            parse_request(&request(0x03, 0x00, &[0x85])),
            Err(RequestError::UnsupportedReadId(0x85))
        );
        assert_eq!(
            parse_request(&request(0x06, 0x00, &[0x00, 0x00])),
            Err(RequestError::UnexpectedInfo(2))
        );
        assert_eq!(
            parse_request(&request(0x03, 0x00, &[])),
            Err(RequestError::UnexpectedInfo(0))
        );
        assert_eq!(
            parse_request(&request(0x06, 0x00, &[0x01])),
            Err(RequestError::UnexpectedInfo(1))
        );
    }
}
