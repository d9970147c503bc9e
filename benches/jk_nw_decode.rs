//! Decoding the real 16S capture (tests/vectors/jk-nw vector 1.3, 291 bytes): one-shot
//! through `decode_reply`, and through the streaming decoder (push + next_reply).

use std::hint::black_box;
use std::path::Path;

use busbar::jk_nw::{decode_reply, Decoder, NwReply};
use busbar::pack::PackSnapshot;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn capture_16s() -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors/jk-nw/1_3-16s-lifepo4-jk-bd6a17s6p-fw-7-1-0h-discharging-0-69-a.hex");
    let text = std::fs::read_to_string(&path).expect("vector 1.3");
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .flat_map(str::split_whitespace)
        .map(|h| u8::from_str_radix(h, 16).expect("hex byte"))
        .collect()
}

fn bench(c: &mut Criterion) {
    let bytes = capture_16s();
    assert_eq!(bytes.len(), 291);
    assert!(decode_reply(&bytes).is_ok());

    let mut group = c.benchmark_group("jk_nw_16s");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("decode_reply", |b| {
        b.iter(|| decode_reply(black_box(&bytes)))
    });
    let mut decoder = Decoder::new();
    group.bench_function("stream_push_next_reply", |b| {
        b.iter(|| {
            let taken = decoder.push(black_box(&bytes));
            let reply = decoder.next_reply();
            debug_assert_eq!(taken, bytes.len());
            reply
        })
    });
    let reply = NwReply::lfp16(PackSnapshot {
        cell_voltages_mv: [3300u16; 16].into_iter().collect(),
        voltage_mv: 52_800,
        ..PackSnapshot::default()
    });
    let mut out = Vec::with_capacity(512);
    group.bench_function("encode", |b| {
        b.iter(|| {
            out.clear();
            black_box(&reply).encode(&mut out);
            out.len()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
