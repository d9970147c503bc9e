//! Helpers shared by the jk-nw integration tests: the captured vectors and a TLV splitter.
#![allow(dead_code)] // each test crate uses a different part

use std::ops::Range;
use std::path::{Path, PathBuf};

use busbar::jk_nw::tag::{value_size, ValueSize};
use busbar::jk_nw::{encode_frame, Frame};

/// One captured reply with its expected values.
pub struct Vector {
    pub name: String,
    pub bytes: Vec<u8>,
    /// The contents of the `.expected.txt` beside the `.hex`.
    pub expected: String,
}

pub fn vector_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/jk-nw")
}

/// Every `tests/vectors/jk-nw/*.hex` with its `.expected.txt`, sorted by name.
pub fn vectors() -> Vec<Vector> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(vector_dir())
        .expect("vector directory")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "hex"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no jk-nw vectors found");
    paths
        .into_iter()
        .map(|path| {
            let hex = std::fs::read_to_string(&path).expect("hex file");
            let expected_path = path.with_extension("expected.txt");
            let expected = std::fs::read_to_string(&expected_path)
                .unwrap_or_else(|e| panic!("{}: {e}", expected_path.display()));
            Vector {
                name: path.file_stem().unwrap().to_string_lossy().into_owned(),
                bytes: parse_hex(&hex),
                expected,
            }
        })
        .collect()
}

/// The vector whose name starts with `prefix` (e.g. "1_3").
pub fn vector(prefix: &str) -> Vector {
    vectors()
        .into_iter()
        .find(|v| v.name.starts_with(prefix))
        .unwrap_or_else(|| panic!("no vector {prefix}"))
}

/// `#` comment lines, then hex bytes separated by whitespace.
pub fn parse_hex(text: &str) -> Vec<u8> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .flat_map(str::split_whitespace)
        .map(|h| u8::from_str_radix(h, 16).unwrap_or_else(|e| panic!("bad hex {h:?}: {e}")))
        .collect()
}

/// Each TLV of a reply's info field: (ID, byte range of ID + value), walked by known size.
pub fn tlv_spans(info: &[u8]) -> Vec<(u8, Range<usize>)> {
    let mut spans = Vec::new();
    let mut at = 0;
    while at < info.len() {
        let id = info[at];
        let len = match value_size(id) {
            Some(ValueSize::Fixed(n)) => 1 + n,
            Some(ValueSize::CellList) => 2 + usize::from(info[at + 1]),
            None => panic!("unknown tag 0x{id:02X} at {at}"),
        };
        spans.push((id, at..at + len));
        at += len;
    }
    spans
}

/// The frame rebuilt with a new info field (LENGTH and checksum fixed up).
pub fn with_info(frame_bytes: &[u8], info: &[u8]) -> Vec<u8> {
    let frame = Frame::parse(frame_bytes).expect("valid frame");
    let mut out = Vec::new();
    encode_frame(
        frame.command,
        frame.source,
        frame.transmission_type,
        info,
        &mut out,
    )
    .expect("info fits");
    out
}

/// The info field of a frame with the TLV `id` removed.
pub fn info_without(frame_bytes: &[u8], id: u8) -> Vec<u8> {
    let frame = Frame::parse(frame_bytes).expect("valid frame");
    let mut info = Vec::new();
    let mut found = false;
    for (tlv, range) in tlv_spans(frame.info) {
        if tlv == id {
            found = true;
        } else {
            info.extend_from_slice(&frame.info[range]);
        }
    }
    assert!(found, "tag 0x{id:02X} not in the frame");
    info
}

/// The info field of a frame with the value of TLV `id` replaced.
pub fn info_with_value(frame_bytes: &[u8], id: u8, value: &[u8]) -> Vec<u8> {
    let frame = Frame::parse(frame_bytes).expect("valid frame");
    let mut info = Vec::new();
    let mut found = false;
    for (tlv, range) in tlv_spans(frame.info) {
        if tlv == id {
            found = true;
            assert_eq!(range.len(), 1 + value.len(), "value size of 0x{id:02X}");
            info.push(id);
            info.extend_from_slice(value);
        } else {
            info.extend_from_slice(&frame.info[range]);
        }
    }
    assert!(found, "tag 0x{id:02X} not in the frame");
    info
}

/// A small deterministic PRNG (xorshift64*) so that tests need no seed management.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform-ish in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// Line noise, sprinkled with STX bytes and false STX headers so resync is exercised.
    pub fn garbage(&mut self, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len);
        while out.len() < len {
            match self.below(10) {
                0 => out.push(0x4E),
                1 => out.extend_from_slice(&[0x4E, 0x57]),
                // A false header with a plausible LENGTH.
                2 => out.extend_from_slice(&[0x4E, 0x57, 0x01, self.below(256) as u8]),
                _ => out.push(self.next() as u8),
            }
        }
        out.truncate(len);
        out
    }
}
