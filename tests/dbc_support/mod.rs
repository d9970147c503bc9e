//! A small generic DBC signal decoder over `can-dbc`'s parsed file: little-endian (`@1`)
//! signals, signed or unsigned, factor and offset. Knows nothing about busbar's frames, so
//! `dbc/busbar.dbc` can be the oracle for the encoder and for real captures.
#![allow(dead_code)] // each test crate uses a different part

use std::path::{Path, PathBuf};

use can_dbc::{ByteOrder, Dbc, Message, MessageId, Signal, ValueType};

pub fn dbc_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("dbc/busbar.dbc")
}

/// `dbc/busbar.dbc`, parsed; panics with can-dbc's error if it does not parse.
pub fn load() -> Dbc {
    let text = std::fs::read_to_string(dbc_path()).expect("dbc/busbar.dbc");
    Dbc::try_from(text.as_str()).unwrap_or_else(|e| panic!("dbc/busbar.dbc does not parse: {e:?}"))
}

pub fn message(dbc: &Dbc, id: u16) -> Option<&Message> {
    dbc.messages
        .iter()
        .find(|m| m.id == MessageId::Standard(id))
}

pub fn signal<'a>(message: &'a Message, name: &str) -> &'a Signal {
    message
        .signals
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no signal {name} in {}", message.name))
}

/// The raw value of `signal` in `data`, or `None` when the signal lies beyond the frame's
/// bytes (a short DLC). Only little-endian signals are supported: busbar's DBC has no other.
pub fn raw(signal: &Signal, data: &[u8]) -> Option<i64> {
    assert_eq!(
        signal.byte_order,
        ByteOrder::LittleEndian,
        "{}: only @1 signals are supported",
        signal.name
    );
    let start = usize::try_from(signal.start_bit).unwrap();
    let size = usize::try_from(signal.size).unwrap();
    assert!((1..=64).contains(&size), "{}: size {size}", signal.name);
    if start + size > data.len() * 8 {
        return None;
    }
    let mut word = [0u8; 8];
    word[..data.len()].copy_from_slice(data);
    let all = u64::from_le_bytes(word);
    let mask = if size == 64 {
        u64::MAX
    } else {
        (1u64 << size) - 1
    };
    let value = (all >> start) & mask;
    Some(match signal.value_type {
        ValueType::Unsigned => i64::try_from(value).unwrap(),
        ValueType::Signed => {
            // Sign-extend from `size` bits.
            let shift = 64 - size;
            ((value << shift) as i64) >> shift
        }
    })
}

/// The physical value: raw × factor + offset.
pub fn physical(signal: &Signal, data: &[u8]) -> Option<f64> {
    raw(signal, data).map(|r| r as f64 * signal.factor + signal.offset)
}

/// Every signal of `message` that `data` carries, by name.
pub fn decode(message: &Message, data: &[u8]) -> Vec<(String, f64)> {
    message
        .signals
        .iter()
        .filter_map(|s| physical(s, data).map(|v| (s.name.clone(), v)))
        .collect()
}

/// The value of `name` in `data`, which must carry it.
pub fn value(message: &Message, name: &str, data: &[u8]) -> f64 {
    physical(signal(message, name), data)
        .unwrap_or_else(|| panic!("{}.{name} is beyond the frame's bytes", message.name))
}

/// A text frame (8 one-byte `…Char…` signals): the characters in start-bit order, up to the
/// first NUL, as a C string reads them.
pub fn text(message: &Message, data: &[u8]) -> String {
    let mut chars: Vec<&Signal> = message
        .signals
        .iter()
        .filter(|s| s.name.contains("Char") && s.size == 8)
        .collect();
    assert!(!chars.is_empty(), "{} is not a text frame", message.name);
    chars.sort_by_key(|s| s.start_bit);
    chars
        .into_iter()
        .filter_map(|s| raw(s, data))
        .map(|r| u8::try_from(r).unwrap())
        .take_while(|&b| b != 0)
        .map(char::from)
        .collect()
}
