//! Arbitrary bytes through the streaming NW decoder (and the one-shot decoder): no panic, and
//! every reply that decodes re-encodes to bytes that decode to the same reply.
//!
//! The first input byte steers: bits 0–6 pick the chunk size the stream is pushed in, so the
//! fuzzer also explores how input is split; bit 7 wraps the rest of the input as the info
//! field of a frame with a valid checksum, so the TLV walker is reached without the fuzzer
//! having to find 16-bit checksums.
#![no_main]

use busbar::jk_nw::{decode_reply, encode_frame, Decoder, NwReply};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&first, bytes)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(first & 0x7F) + 1;
    let mut wrapped = Vec::new();
    let stream = if first & 0x80 != 0 {
        // Read-all (0x06), from the BMS (0x00), response (0x01): jk-nw.md §1.2.
        if encode_frame(0x06, 0x00, 0x01, bytes, &mut wrapped).is_err() {
            return; // longer than a frame can be
        }
        &wrapped[..]
    } else {
        bytes
    };

    let mut decoder = Decoder::new();
    for piece in stream.chunks(chunk) {
        let mut rest = piece;
        while !rest.is_empty() {
            let taken = decoder.push(rest);
            rest = &rest[taken..];
            while let Some(result) = decoder.next_frame() {
                let Ok(frame) = result else { continue };
                if let Ok(reply) = NwReply::from_frame(&frame) {
                    let mut out = Vec::new();
                    reply.encode(&mut out);
                    assert_eq!(decode_reply(&out).as_ref(), Ok(&reply));
                }
            }
        }
    }
    let _ = decode_reply(stream);
});
