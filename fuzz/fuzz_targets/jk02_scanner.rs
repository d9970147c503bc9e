//! Arbitrary bytes through the streaming JK02 scanner: no panic, a bounded buffer, and every
//! frame it returns decodes (both layouts, settings, device info) and a cell-info frame
//! re-encodes to a frame that decodes to the same values.
//!
//! The first input byte steers: bits 0–6 pick the chunk size; bit 7 makes the rest of the
//! input (padded to 293 bytes) the payload of a cell-info frame with a valid checksum, so the
//! field decoders are reached without the fuzzer having to find the 8-bit sum.
#![no_main]

use busbar::jk02::{
    scanner::BUFFER_CAPACITY, CellInfo, DeviceInfo, Event, Frame, Scanner, Settings,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&first, bytes)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(first & 0x7F) + 1;
    let mut wrapped = [0u8; 300];
    let stream: &[u8] = if first & 0x80 != 0 {
        wrapped[..6].copy_from_slice(&[0x55, 0xAA, 0xEB, 0x90, 0x02, 0x00]);
        let n = bytes.len().min(293);
        wrapped[6..6 + n].copy_from_slice(&bytes[..n]);
        wrapped[299] = busbar::jk02::checksum(&wrapped);
        &wrapped
    } else {
        bytes
    };
    let mut scanner = Scanner::new();
    for piece in stream.chunks(chunk) {
        let mut rest = piece;
        while !rest.is_empty() {
            let taken = scanner.push(rest);
            rest = &rest[taken..];
            assert!(scanner.pending() <= BUFFER_CAPACITY);
            while let Some(event) = scanner.next_event() {
                let Ok(Event::Frame(frame)) = event else {
                    continue;
                };
                let _ = Settings::decode(&frame);
                let _ = DeviceInfo::decode(&frame);
                if let Ok(info) = CellInfo::decode(&frame, None) {
                    let _ = info.to_snapshot();
                    let again = info.encode();
                    let back = Frame::parse(&again).expect("encode seals the frame");
                    assert_eq!(CellInfo::decode(&back, info.layout).as_ref(), Ok(&info));
                }
            }
        }
    }
});
