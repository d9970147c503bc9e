//! Properties of the NW codec: it never panics, encoded replies round-trip exactly, a damaged
//! frame is never decoded into different values, and every valid frame in a noisy stream is
//! found.

mod common;

use busbar::jk_nw::{
    decode_reply, encode_frame, CellType, CurrentEncoding, Decoder, Frame, NwReply, NwSettings,
    Password, BUFFER_CAPACITY, MAX_FRAME_LEN,
};
use busbar::pack::{Alarms, DeviceInfo, PackSnapshot, ShortText, MAX_CELLS};
use common::{vector, vectors};
use proptest::collection::vec;
use proptest::prelude::*;

/// Map a random byte so that the protocol's special values are over-represented: random
/// input then often holds STX, END and plausible lengths.
fn bias(b: u8) -> u8 {
    match b {
        0..=19 => 0x4E,
        20..=39 => 0x57,
        40..=49 => 0x68,
        50..=59 => 0x00,
        60..=69 => 0x01,
        other => other,
    }
}

/// Random wire bytes (biased, see [`bias`]). Mapped as a whole vector: far cheaper to
/// generate than a union strategy per byte.
fn wire_bytes(len: std::ops::Range<usize>) -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), len).prop_map(|v| v.into_iter().map(bias).collect())
}

/// Push `stream` in chunks of the given sizes (cycled), draining after each push.
fn feed(stream: &[u8], chunks: &[usize], mut on_reply: impl FnMut(NwReply)) -> Decoder {
    let mut decoder = Decoder::new();
    let mut rest = stream;
    let mut sizes = chunks.iter().cycle();
    while !rest.is_empty() {
        let size = (*sizes.next().unwrap_or(&1)).clamp(1, rest.len());
        let mut chunk = &rest[..size];
        rest = &rest[size..];
        while !chunk.is_empty() {
            let taken = decoder.push(chunk);
            chunk = &chunk[taken..];
            assert!(decoder.pending() <= BUFFER_CAPACITY);
            while let Some(result) = decoder.next_reply() {
                if let Ok(reply) = result {
                    on_reply(reply);
                }
            }
            // Drained: an incomplete frame start is all that may wait.
            assert!(decoder.pending() < MAX_FRAME_LEN);
        }
    }
    decoder
}

/// A text value as decoding gives it back: printable ASCII, no padding at either end.
fn text(width: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("([!-~]([ -~]{{0,{}}}[!-~])?)?", width - 2))
        .expect("valid regex")
}

fn short(s: &str) -> ShortText {
    ShortText::try_from(s).expect("text fields are at most 24 bytes")
}

/// Whole degrees the temperature code can carry (§1.6), in 0.1 °C.
fn temperature() -> impl Strategy<Value = i16> {
    (-3276i16..=100).prop_map(|c| c * 10)
}

/// Any reply the protocol can represent exactly (see `NwReply::encode`).
fn reply() -> impl Strategy<Value = NwReply> {
    let live = (
        vec(any::<u16>(), 1..=MAX_CELLS),
        (temperature(), temperature(), temperature()),
        prop_oneof![Just(None), Just(Some(0u8)), Just(Some(1u8))],
        any::<u16>(), // current code
        any::<[u16; 5]>(),
        any::<[u8; 8]>(),
    );
    let settings = (
        any::<[u16; 24]>(),
        any::<[i16; 4]>(),
        any::<[u32; 4]>(),
        any::<[bool; 5]>(),
    );
    let texts = (text(15), text(8), text(4), text(24), text(10));
    (live, settings, texts).prop_map(
        |(
            (cells, (t_mos, t1, t2), version, current_code, w, b),
            (u, i, l, flags),
            (sw, id, date, mfr, password),
        )| {
            let [reported_cell_count, alarm_bits, status_bits, voltage, cycles] = w;
            let encoding = CurrentEncoding::for_version(version).expect("known version");
            let pack = PackSnapshot {
                cell_voltages_mv: cells.into_iter().collect(),
                temperatures_dc: [t1, t2].into_iter().collect(),
                mos_temperature_dc: Some(t_mos),
                voltage_mv: u32::from(voltage) * 10,
                current_ma: encoding.decode(current_code),
                soc_pct: b[0],
                cycles: u32::from(cycles),
                capacity_ah: l[0] as f32,
                remaining_capacity_ah: None,
                charge_mosfet: status_bits & 1 != 0,
                discharge_mosfet: status_bits & 2 != 0,
                balancing: status_bits & 4 != 0,
                balance_current_ma: None,
                alarms: Alarms::from_bits_truncate(u32::from(alarm_bits)),
                device: DeviceInfo {
                    software_version: short(&sw),
                    hardware_version: ShortText::new(),
                    device_id: short(&id),
                    manufacturer: short(&mfr),
                    manufacture_date: short(&date),
                },
                bms_settings: None,
            };
            let settings = NwSettings {
                pack_ovp_mv: u32::from(u[0]) * 10,
                pack_uvp_mv: u32::from(u[1]) * 10,
                cell_ovp_mv: u[2],
                cell_ovp_recovery_mv: u[3],
                cell_ovp_delay_s: u[4],
                cell_uvp_mv: u[5],
                cell_uvp_recovery_mv: u[6],
                cell_uvp_delay_s: u[7],
                cell_diff_protection_mv: u[8],
                discharge_ocp_a: u[9],
                discharge_ocp_delay_s: u[10],
                charge_ocp_a: u[11],
                charge_ocp_delay_s: u[12],
                balance_start_mv: u[13],
                balance_delta_mv: u[14],
                balancer_enabled: flags[0],
                mos_otp_c: u[15],
                mos_otp_recovery_c: u[16],
                box_otp_c: u[17],
                box_otp_recovery_c: u[18],
                temperature_diff_protection_c: u[19],
                charge_otp_c: u[20],
                discharge_otp_c: u[21],
                charge_utp_c: i[0],
                charge_utp_recovery_c: i[1],
                discharge_utp_c: i[2],
                discharge_utp_recovery_c: i[3],
                cell_count: b[1],
                nominal_capacity_ah: l[0],
                charge_mos_enabled: flags[1],
                discharge_mos_enabled: flags[2],
                current_calibration_ma: u[22],
                board_address: b[2],
                cell_type: CellType::from_code(b[3]),
                sleep_wait_s: u[23],
                low_capacity_alarm_pct: b[4],
                password: Password::new(&password).expect("at most 10 bytes"),
                dedicated_charger: flags[3],
                runtime_minutes: l[1],
                start_current_calibration: b[5],
                actual_capacity_ah: flags[4].then_some(l[3]),
            };
            NwReply {
                pack,
                settings,
                protocol_version: version,
                temperature_sensor_count: b[6],
                reported_cell_count,
                total_cycle_capacity_ah: l[2],
                alarm_bits,
                status_bits,
            }
        },
    )
}

fn encoded(reply: &NwReply) -> Vec<u8> {
    let mut out = Vec::new();
    reply.encode(&mut out);
    out
}

proptest! {
    /// Arbitrary bytes in arbitrary chunks: no panic, the buffer stays bounded (in `feed`),
    /// and anything that comes out as a frame is a valid frame of those bytes.
    #[test]
    fn decoder_never_panics(
        bytes in wire_bytes(0..3000),
        chunks in vec(1usize..700, 1..16),
    ) {
        let mut decoder = Decoder::new();
        let mut rest = &bytes[..];
        let mut sizes = chunks.iter().cycle();
        while !rest.is_empty() {
            let size = (*sizes.next().unwrap()).min(rest.len());
            let mut chunk = &rest[..size];
            rest = &rest[size..];
            while !chunk.is_empty() {
                let taken = decoder.push(chunk);
                chunk = &chunk[taken..];
                while let Some(result) = decoder.next_frame() {
                    if let Ok(frame) = result {
                        // Re-encoding the frame gives bytes that parse to the same frame.
                        let mut again = Vec::new();
                        frame.encode(&mut again).unwrap();
                        prop_assert_eq!(Frame::parse(&again), Ok(frame));
                        let _ = NwReply::from_frame(&frame);
                    }
                }
            }
        }
    }

    /// One-shot decoding of arbitrary bytes never panics.
    #[test]
    fn decode_reply_never_panics(bytes in wire_bytes(0..600)) {
        let _ = decode_reply(&bytes);
    }

    /// Arbitrary info fields inside valid frames reach the TLV walker: never a panic.
    #[test]
    fn payload_walker_never_panics(info in wire_bytes(0..480)) {
        let mut bytes = Vec::new();
        encode_frame(0x06, 0x00, 0x01, &info, &mut bytes).unwrap();
        let _ = decode_reply(&bytes);
    }

    /// A real capture's info field with a stretch overwritten: decoded or a typed error.
    #[test]
    fn damaged_payload_never_panics(
        which in 0usize..3,
        at in 0usize..300,
        patch in wire_bytes(1..40),
    ) {
        let v = &vectors()[which];
        let mut info = Frame::parse(&v.bytes).unwrap().info.to_vec();
        let at = at % info.len();
        let end = (at + patch.len()).min(info.len());
        info[at..end].copy_from_slice(&patch[..end - at]);
        let mut bytes = Vec::new();
        encode_frame(0x06, 0x00, 0x01, &info, &mut bytes).unwrap();
        let _ = decode_reply(&bytes);
    }

    /// Every representable reply survives encode -> decode exactly, whole or streamed.
    #[test]
    fn encoded_replies_round_trip(reply in reply(), chunks in vec(1usize..100, 1..8)) {
        let bytes = encoded(&reply);
        prop_assert_eq!(decode_reply(&bytes), Ok(reply.clone()));
        let mut streamed = Vec::new();
        feed(&bytes, &chunks, |r| streamed.push(r));
        prop_assert_eq!(streamed, vec![reply]);
    }

    /// Encoding is deterministic through a decode: encode(decode(encode(x))) == encode(x).
    #[test]
    fn re_encoding_a_decoded_reply_gives_the_same_bytes(reply in reply()) {
        let bytes = encoded(&reply);
        let back = decode_reply(&bytes).unwrap();
        prop_assert_eq!(encoded(&back), bytes);
    }

    /// Any single byte changed: rejected, or decoded to exactly the same values (only the
    /// unchecked "CRC" high bytes can do that) — never silently wrong.
    #[test]
    fn single_byte_change_is_rejected_or_harmless(
        reply in reply(),
        index in any::<prop::sample::Index>(),
        delta in 1u8..=255,
    ) {
        let bytes = encoded(&reply);
        let mut bad = bytes.clone();
        let i = index.index(bad.len());
        bad[i] = bad[i].wrapping_add(delta);
        if let Ok(decoded) = decode_reply(&bad) {
            prop_assert_eq!(&decoded, &reply, "byte {} changed", i);
        }
        let mut streamed = Vec::new();
        feed(&bad, &[bad.len()], |r| streamed.push(r));
        prop_assert!(streamed.iter().all(|r| r == &reply));
    }

    /// Valid frames interleaved with noise, fed in arbitrary chunks: every frame comes out,
    /// in order, and nothing else.
    #[test]
    fn every_frame_in_a_noisy_stream_is_found(
        replies in vec(reply(), 1..5),
        gaps in vec(wire_bytes(0..400), 5),
        chunks in vec(1usize..600, 1..12),
    ) {
        let mut stream = Vec::new();
        for (reply, gap) in replies.iter().zip(&gaps) {
            stream.extend_from_slice(gap);
            stream.extend(encoded(reply));
        }
        stream.extend_from_slice(&gaps[4]);
        let mut found = Vec::new();
        let decoder = feed(&stream, &chunks, |r| found.push(r));
        prop_assert_eq!(found, replies);
        prop_assert!(decoder.stats().frames >= 1);
    }
}

/// Exhaustive on the real 16S capture: every byte, every other value.
#[test]
fn every_single_byte_change_of_the_16s_capture_is_rejected_or_harmless() {
    let v = vector("1_3");
    let good = decode_reply(&v.bytes).unwrap();
    let n = v.bytes.len();
    let mut accepted = 0;
    let mut bad = v.bytes.clone();
    for i in 0..n {
        for delta in 1..=255u8 {
            bad[i] = v.bytes[i].wrapping_add(delta);
            if let Ok(decoded) = decode_reply(&bad) {
                assert_eq!(decoded, good, "byte {i} + {delta}");
                accepted += 1;
            }
        }
        bad[i] = v.bytes[i];
    }
    // Exactly the two unchecked "CRC" high bytes (offsets n-4, n-3) are accepted.
    assert_eq!(accepted, 2 * 255);
}
