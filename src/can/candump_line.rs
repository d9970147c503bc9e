//! Text from can-utils → frames: the three forms a user has at hand.
//!
//! | form | example |
//! |---|---|
//! | `candump -L` (log) | `(1700000000.123456) can0 351#2802E8031C024C01` |
//! | `candump can0` (plain, also with `-t…`, `-a`, `-x`) | `  can0  351   [8]  28 02 E8 03 1C 02 4C 01` |
//! | `cansend` argument | `351#2802E8031C024C01` (bytes may be separated by `.`) |
//!
//! The capture files in `tests/vectors/can/` (`0x351 [8] 14 02 …   decoded text`) read as the
//! plain form. Lines starting with `#` are comments. Pure; never panics on any input.

use super::frame::{CanFrame, MAX_STANDARD_ID};

/// What one line holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DumpLine {
    /// Empty, or a `#` comment.
    Blank,
    /// A classic data frame with an 11-bit id.
    Frame(CanFrame),
    /// A well-formed line for a frame busbar never deals with: 29-bit id, remote request or
    /// CAN FD (victron-can.md §3.1: Venus ignores extended frames too).
    Other,
    /// Anything else.
    Garbage,
}

/// One line of candump / cansend text.
pub fn parse_line(line: &str) -> DumpLine {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return DumpLine::Blank;
    }
    let mut tokens = line.split_whitespace().peekable();
    // A timestamp: `(1700000000.123456)` or, with `-tA`, `(2023-11-14 22:13:20.123456)`.
    if tokens.peek().is_some_and(|t| t.starts_with('(')) {
        for t in tokens.by_ref() {
            if t.ends_with(')') {
                break;
            }
        }
    }
    let rest: heapless::Vec<&str, 16> = tokens.take(16).collect();
    // Compact form: the id#data token is first, or second after the interface.
    if let Some(compact) = rest.iter().take(2).find(|t| t.contains('#')) {
        return parse_compact(compact);
    }
    // Plain form: the first `[n]` token, the id just before it.
    let Some(k) = rest.iter().position(|t| dlc_token(t).is_some()) else {
        return DumpLine::Garbage;
    };
    let (Some(dlc), Some(id)) = (
        dlc_token(rest[k]),
        k.checked_sub(1).and_then(|i| rest.get(i)),
    ) else {
        return DumpLine::Garbage;
    };
    let Some(id) = parse_id(id) else {
        return DumpLine::Garbage;
    };
    let data_tokens = &rest[k + 1..];
    if data_tokens.first() == Some(&"remote") {
        return DumpLine::Other;
    }
    let mut data = [0u8; 8];
    for (slot, token) in data.iter_mut().zip(data_tokens).take(dlc) {
        match hex_byte(token) {
            Some(b) => *slot = b,
            None => return DumpLine::Garbage,
        }
    }
    if data_tokens.len() < dlc {
        return DumpLine::Garbage;
    }
    frame(id, &data[..dlc])
}

/// A frame id as text: up to 3 hex digits (standard) or exactly 8 (extended), `0x` allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Id {
    Standard(u16),
    Extended,
}

fn parse_id(text: &str) -> Option<Id> {
    let digits = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    match digits.len() {
        1..=3 => {
            let id = u16::from_str_radix(digits, 16).ok()?;
            (id <= MAX_STANDARD_ID).then_some(Id::Standard(id))
        }
        8 => Some(Id::Extended),
        _ => None,
    }
}

/// `[8]` → 8 (0..=8).
fn dlc_token(t: &str) -> Option<usize> {
    let n: usize = t.strip_prefix('[')?.strip_suffix(']')?.parse().ok()?;
    (n <= 8).then_some(n)
}

fn hex_byte(t: &str) -> Option<u8> {
    (t.len() == 2)
        .then(|| u8::from_str_radix(t, 16).ok())
        .flatten()
}

/// `351#2802E803` / `351#R` / `351##1…` (CAN FD).
fn parse_compact(token: &str) -> DumpLine {
    let Some((id, data)) = token.split_once('#') else {
        return DumpLine::Garbage;
    };
    let Some(id) = parse_id(id) else {
        return DumpLine::Garbage;
    };
    if data.starts_with('#') || data.starts_with(['R', 'r']) {
        // CAN FD or remote request: well formed, not ours.
        return DumpLine::Other;
    }
    let mut bytes = [0u8; 8];
    let mut len = 0;
    let mut digits = data.bytes().filter(|&b| b != b'.');
    loop {
        match (digits.next(), digits.next()) {
            (None, _) => break,
            (Some(hi), Some(lo)) => {
                let (Some(hi), Some(lo)) = (nibble(hi), nibble(lo)) else {
                    return DumpLine::Garbage;
                };
                let Some(slot) = bytes.get_mut(len) else {
                    return DumpLine::Garbage;
                };
                *slot = hi << 4 | lo;
                len += 1;
            }
            (Some(_), None) => return DumpLine::Garbage,
        }
    }
    frame(id, &bytes[..len])
}

fn nibble(c: u8) -> Option<u8> {
    char::from(c)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

fn frame(id: Id, data: &[u8]) -> DumpLine {
    match id {
        Id::Extended => DumpLine::Other,
        Id::Standard(id) => match CanFrame::new(id, data) {
            Ok(f) => DumpLine::Frame(f),
            Err(_) => DumpLine::Garbage,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame_of(line: &str) -> CanFrame {
        match parse_line(line) {
            DumpLine::Frame(f) => f,
            other => panic!("{line:?}: {other:?}"),
        }
    }

    const BYTES: [u8; 8] = [0x28, 0x02, 0xE8, 0x03, 0x1C, 0x02, 0x4C, 0x01];

    #[test]
    fn reads_the_three_forms() {
        for line in [
            "(1700000000.123456) can0 351#2802E8031C024C01",
            "  can0  351   [8]  28 02 E8 03 1C 02 4C 01",
            "351#2802E8031C024C01",
            "351#28.02.E8.03.1C.02.4C.01",
            " (1700000000.123456)  can1  351   [8]  28 02 E8 03 1C 02 4C 01   '(...L.'",
            "(2023-11-14 22:13:20.123456)  can0  351   [8]  28 02 E8 03 1C 02 4C 01",
            "  can0  TX - -  351   [8]  28 02 E8 03 1C 02 4C 01",
            "0x351 [8] 28 02 E8 03 1C 02 4C 01   CVL=55.2V CCL=100.0A",
            "351#2802e8031c024c01",
        ] {
            let f = frame_of(line);
            assert_eq!((f.id(), f.data()), (0x351, &BYTES[..]), "{line}");
        }
        let short = frame_of("0x35C [2] C0 00                     req=charge_en");
        assert_eq!((short.id(), short.data()), (0x35C, &[0xC0, 0x00][..]));
        assert_eq!(frame_of("can0 35E#").data(), &[] as &[u8]);
    }

    #[test]
    fn comments_blank_lines_and_foreign_frames() {
        assert_eq!(parse_line(""), DumpLine::Blank);
        assert_eq!(parse_line("   "), DumpLine::Blank);
        assert_eq!(parse_line("# REAL Pylontech US5000"), DumpLine::Blank);
        for other in [
            "(1.0) can0 18FF50E5#0102",
            "  can0  18FF50E5   [2]  01 02",
            "(1.0) can0 351#R",
            "  can0  351   [8]  remote request",
            "(1.0) can0 351##1AABB",
        ] {
            assert_eq!(parse_line(other), DumpLine::Other, "{other}");
        }
    }

    #[test]
    fn garbage_is_counted_never_a_panic() {
        for bad in [
            "hello",
            "351#123",                // odd number of digits
            "351#112233445566778899", // 9 bytes
            "351#GG",
            "800#00",             // not 11 bits
            "3510#00",            // 4 digits: neither standard nor extended
            "#351#00",            // a comment, in fact
            "can0 351 [8] 01 02", // fewer bytes than the DLC
            "can0 351 [9] 01 02 03 04 05 06 07 08 09",
            "can0 351 [8] 1 2 3 4 5 6 7 8",
            "[8] 00",
            "(((((",
            "(1.0)",
            "351#ÄÖ",
            "can0 0x [1] 00",
        ] {
            let got = parse_line(bad);
            assert!(
                matches!(got, DumpLine::Garbage | DumpLine::Blank),
                "{bad:?}: {got:?}"
            );
        }
    }
}
