//! Decoding the real JK-PB bus capture (tests/vectors/jk02 vector 2.1, 300 bytes, JK02_32S, 16
//! cells) into a pack snapshot: one-shot (`Frame::parse` + `CellInfo::decode` + `to_snapshot`),
//! and through the streaming scanner with the ACK after it, as the bus reader sees it.

use std::hint::black_box;
use std::path::Path;

use busbar::jk02::{ack, CellInfo, Event, Frame, Layout, Register, Scanner};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn capture() -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(
        "tests/vectors/jk02/2_1-real-rs485-capture-jk-pb-16s-lfp-304-ah-at-address-0x01-repl.hex",
    );
    let text = std::fs::read_to_string(&path).expect("vector 2.1");
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .flat_map(str::split_whitespace)
        .map(|h| u8::from_str_radix(h, 16).expect("hex byte"))
        .collect()
}

fn bench(c: &mut Criterion) {
    let bytes = capture();
    assert_eq!(bytes.len(), 300);
    let mut wire = bytes.clone();
    wire.extend_from_slice(&ack(1, Register::CellInfo));

    let mut group = c.benchmark_group("jk02_32s_16s");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("decode_to_snapshot", |b| {
        b.iter(|| {
            let frame = Frame::parse(black_box(&bytes)).ok()?;
            CellInfo::decode(&frame, Some(Layout::Jk02_32S))
                .ok()
                .map(|c| c.to_snapshot())
        })
    });
    group.bench_function("decode_detect_layout", |b| {
        b.iter(|| {
            let frame = Frame::parse(black_box(&bytes)).ok()?;
            CellInfo::decode(&frame, None).ok().map(|c| c.to_snapshot())
        })
    });
    let mut scanner = Scanner::new();
    group.bench_function("scanner_frame_and_ack_to_snapshot", |b| {
        b.iter(|| {
            let taken = scanner.push(black_box(&wire));
            debug_assert_eq!(taken, wire.len());
            let mut snapshot = None;
            while let Some(event) = scanner.next_event() {
                if let Ok(Event::Frame(frame)) = event {
                    snapshot = CellInfo::decode(&frame, Some(Layout::Jk02_32S))
                        .ok()
                        .map(|c| c.to_snapshot());
                }
            }
            snapshot
        })
    });
    let info = {
        let frame = Frame::parse(&bytes).expect("valid vector");
        CellInfo::decode(&frame, Some(Layout::Jk02_32S)).expect("cell info")
    };
    group.bench_function("encode", |b| b.iter(|| black_box(&info).encode()));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
