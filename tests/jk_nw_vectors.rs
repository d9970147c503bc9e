//! Real captured NW replies (tests/vectors/jk-nw) decode to every value their
//! `.expected.txt` lists, survive noise and chunking, and variants of them (older firmware,
//! legacy current encoding) decode as the spec says.

mod common;

use busbar::jk_nw::{
    decode_reply, tag, CellType, CurrentEncoding, DecodeError, Decoder, Frame, FrameError, NwReply,
    PayloadError,
};
use common::{info_with_value, info_without, vector, vectors, with_info, Rng, Vector};

fn decode(v: &Vector) -> NwReply {
    decode_reply(&v.bytes).unwrap_or_else(|e| panic!("{}: {e}", v.name))
}

fn int(value: &str) -> i64 {
    let value = value.trim();
    match value.strip_prefix("0x") {
        Some(hex) => i64::from_str_radix(hex, 16),
        None => value.parse(),
    }
    .unwrap_or_else(|e| panic!("not an integer: {value:?}: {e}"))
}

/// A decimal in the expected file scaled by 1000 (V -> mV, A -> mA), exactly.
fn milli(value: &str) -> i64 {
    let value = value.trim();
    let (negative, digits) = match value.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, value),
    };
    let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
    assert!(frac.len() <= 3, "more than milli precision: {value}");
    let frac = format!("{frac:0<3}");
    let m = int(whole) * 1000 + int(&frac);
    if negative {
        -m
    } else {
        m
    }
}

fn int_list(value: &str) -> Vec<i64> {
    value
        .trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .split(',')
        .map(int)
        .collect()
}

/// The text after `key` in `line` up to the next `stop` char.
fn field<'a>(line: &'a str, key: &str, stop: char) -> &'a str {
    let start = line
        .find(key)
        .unwrap_or_else(|| panic!("no {key:?} in {line:?}"))
        + key.len();
    let rest = &line[start..];
    &rest[..rest.find(stop).unwrap_or(rest.len())]
}

/// Check the `== ...` header line: sizes, header fields, record, checksum.
fn check_header_line(v: &Vector, line: &str) {
    let frame = Frame::parse(&v.bytes).unwrap_or_else(|e| panic!("{}: {e}", v.name));
    assert_eq!(v.bytes.len() as i64, int(field(line, "total ", ' ')));
    let length = u16::from_be_bytes([v.bytes[2], v.bytes[3]]);
    assert_eq!(i64::from(length), int(field(line, "lenfield=", ',')));
    assert_eq!(
        i64::from(frame.terminal),
        int(&format!("0x{}", field(line, "'terminal': '", '\'')))
    );
    assert_eq!(i64::from(frame.command), int(field(line, "'cmd': ", ',')));
    assert_eq!(i64::from(frame.source), int(field(line, "'src': ", ',')));
    assert_eq!(
        i64::from(frame.transmission_type),
        int(field(line, "'ftype': ", '}'))
    );
    assert_eq!(
        i64::from(frame.record),
        int(&format!("0x{}", field(line, "record=", ',')))
    );
    let n = v.bytes.len();
    let checksum = u16::from_be_bytes([v.bytes[n - 2], v.bytes[n - 1]]);
    assert_eq!(i64::from(checksum), int(field(line, "checksum rx=", ' ')));
    assert_eq!(
        i64::from(busbar::jk_nw::checksum(&v.bytes[..n - 4])),
        int(field(line, "calc=", ' '))
    );
    assert_eq!(field(line, "ok=", ' '), "True");
}

/// Compare one `key: value` line of the expected file with the decoded reply.
fn check_key(r: &NwReply, key: &str, value: &str) {
    let p = &r.pack;
    let s = &r.settings;
    let text = value.trim();
    let b = |x: bool| i64::from(x);
    match key {
        "cells_mV" => {
            let cells: Vec<i64> = p.cell_voltages_mv.iter().map(|&c| c.into()).collect();
            assert_eq!(cells, int_list(value));
        }
        // The decoder requires cells numbered 1..=n in order, so this is the numbering it saw.
        "cell_idx" => {
            let n = p.cell_voltages_mv.len() as i64;
            assert_eq!(int_list(value), (1..=n).collect::<Vec<_>>());
        }
        "T_mos" => assert_eq!(p.mos_temperature_dc.map(i64::from), Some(int(value) * 10)),
        "T1" => assert_eq!(i64::from(p.temperatures_dc[0]), int(value) * 10),
        "T2" => assert_eq!(i64::from(p.temperatures_dc[1]), int(value) * 10),
        "V" => assert_eq!(i64::from(p.voltage_mv), milli(value)),
        "I_raw" => {
            let raw = int(value) as u16;
            let encoding = CurrentEncoding::for_version(r.protocol_version).unwrap();
            assert_eq!(encoding.decode(raw), p.current_ma);
            assert_eq!(encoding.encode(p.current_ma), raw);
        }
        "I_A" => assert_eq!(i64::from(p.current_ma), milli(value)),
        "SOC" => assert_eq!(i64::from(p.soc_pct), int(value)),
        "ntemp" => assert_eq!(i64::from(r.temperature_sensor_count), int(value)),
        "cycles" => assert_eq!(i64::from(p.cycles), int(value)),
        "cycle_cap_Ah" => assert_eq!(i64::from(r.total_cycle_capacity_ah), int(value)),
        "cell_count" => assert_eq!(i64::from(r.reported_cell_count), int(value)),
        "alarms" => {
            assert_eq!(i64::from(r.alarm_bits), int(value));
            assert_eq!(i64::from(p.alarms.bits()), int(value) & 0x3FFF);
        }
        "status" => {
            let bits = int(value);
            assert_eq!(i64::from(r.status_bits), bits);
            assert_eq!(b(p.charge_mosfet), bits & 1);
            assert_eq!(b(p.discharge_mosfet), (bits >> 1) & 1);
            assert_eq!(b(p.balancing), (bits >> 2) & 1);
        }
        "ovp_batt_V" => assert_eq!(i64::from(s.pack_ovp_mv), milli(value)),
        "uvp_batt_V" => assert_eq!(i64::from(s.pack_uvp_mv), milli(value)),
        "cell_ovp_mV" => assert_eq!(i64::from(s.cell_ovp_mv), int(value)),
        "cell_ovpr_mV" => assert_eq!(i64::from(s.cell_ovp_recovery_mv), int(value)),
        "cell_uvp_mV" => assert_eq!(i64::from(s.cell_uvp_mv), int(value)),
        "cell_uvpr_mV" => assert_eq!(i64::from(s.cell_uvp_recovery_mv), int(value)),
        "dis_ocp_A" => assert_eq!(i64::from(s.discharge_ocp_a), int(value)),
        "chg_ocp_A" => assert_eq!(i64::from(s.charge_ocp_a), int(value)),
        "bal_start_mV" => assert_eq!(i64::from(s.balance_start_mv), int(value)),
        "bal_delta_mV" => assert_eq!(i64::from(s.balance_delta_mv), int(value)),
        "bal_sw" => assert_eq!(b(s.balancer_enabled), int(value)),
        "chg_low_T" => assert_eq!(i64::from(s.charge_utp_c), int(value)),
        "capacity_Ah" => {
            assert_eq!(i64::from(s.nominal_capacity_ah), int(value));
            assert_eq!(p.capacity_ah, int(value) as f32);
        }
        "chg_sw" => assert_eq!(b(s.charge_mos_enabled), int(value)),
        "dis_sw" => assert_eq!(b(s.discharge_mos_enabled), int(value)),
        "addr" => assert_eq!(i64::from(s.board_address), int(value)),
        "batt_type" => {
            assert_eq!(i64::from(s.cell_type.code()), int(value));
            assert_eq!(s.cell_type, CellType::from_code(int(value) as u8));
        }
        "runtime_min" => assert_eq!(i64::from(s.runtime_minutes), int(value)),
        "sw" => assert_eq!(p.device.software_version.as_str(), text),
        "dev_id" => assert_eq!(p.device.device_id.as_str(), text),
        "mfg" => assert_eq!(p.device.manufacture_date.as_str(), text),
        "vendor" => assert_eq!(p.device.manufacturer.as_str(), text),
        "proto" => assert_eq!(r.protocol_version.map(i64::from), Some(int(value))),
        other => panic!("no check for expected key {other:?}: add one"),
    }
}

#[test]
fn every_capture_decodes_to_every_expected_value() {
    let vectors = vectors();
    assert_eq!(vectors.len(), 3);
    for v in &vectors {
        let reply = decode(v);
        let mut keys = 0;
        let mut header = false;
        for line in v.expected.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            if line.starts_with("==") {
                check_header_line(v, line);
                header = true;
                continue;
            }
            let (key, value) = line
                .split_once(':')
                .unwrap_or_else(|| panic!("{}: odd line {line:?}", v.name));
            let result = std::panic::catch_unwind(|| check_key(&reply, key.trim(), value));
            if result.is_err() {
                panic!("{}: key {} does not match (see above)", v.name, key.trim());
            }
            keys += 1;
        }
        assert!(header, "{}: no header line", v.name);
        assert!(keys >= 37, "{}: only {keys} keys checked", v.name);
    }
}

#[test]
fn decoded_captures_are_plausible_and_identify_themselves() {
    for v in vectors() {
        let r = decode(&v);
        let cells = r.pack.cell_voltages_mv.len();
        assert_eq!(r.pack.check_plausible(cells), Ok(()), "{}", v.name);
        assert_eq!(usize::from(r.reported_cell_count), cells);
        assert_eq!(usize::from(r.settings.cell_count), cells);
        assert_eq!(r.settings.password.reveal(), "123456");
        assert_eq!(r.pack.remaining_capacity_ah, None);
        assert_eq!(r.settings.actual_capacity_ah, Some(0));
    }
}

/// Re-encoding a decoded capture gives the capture back byte for byte: every field, not only
/// the listed ones, was read at the right place and with the right size.
#[test]
fn decoded_captures_re_encode_byte_for_byte() {
    for v in vectors() {
        let mut out = Vec::new();
        decode(&v).encode(&mut out);
        assert_eq!(out, v.bytes, "{}", v.name);
    }
}

#[test]
fn the_16s_capture_in_full() {
    let r = decode(&vector("1_3"));
    let s = &r.settings;
    assert_eq!(r.pack.voltage_mv, 51_210);
    assert_eq!(r.pack.current_ma, -690);
    assert_eq!(r.pack.temperatures_dc.as_slice(), &[160, 160]);
    assert_eq!(r.pack.mos_temperature_dc, Some(180));
    assert_eq!(r.pack.min_cell(), Some((7, 3185)));
    assert!(r.pack.charge_mosfet && r.pack.discharge_mosfet && !r.pack.balancing);
    assert_eq!(r.pack.alarms, busbar::pack::Alarms::empty());
    assert_eq!(
        (
            s.cell_ovp_delay_s,
            s.cell_uvp_delay_s,
            s.cell_diff_protection_mv
        ),
        (5, 5, 300)
    );
    assert_eq!((s.discharge_ocp_delay_s, s.charge_ocp_delay_s), (300, 30));
    assert_eq!((s.mos_otp_c, s.mos_otp_recovery_c), (90, 70));
    assert_eq!((s.box_otp_c, s.box_otp_recovery_c), (100, 100));
    assert_eq!(s.temperature_diff_protection_c, 20);
    assert_eq!((s.charge_otp_c, s.discharge_otp_c), (70, 70));
    assert_eq!((s.charge_utp_c, s.charge_utp_recovery_c), (0, 5));
    assert_eq!((s.discharge_utp_c, s.discharge_utp_recovery_c), (-20, -10));
    assert_eq!(s.cell_count, 16);
    assert_eq!(s.current_calibration_ma, 725);
    assert_eq!(s.sleep_wait_s, 10);
    assert_eq!(s.low_capacity_alarm_pct, 20);
    assert!(!s.dedicated_charger);
    assert_eq!(s.start_current_calibration, 0);
}

/// Each capture, surrounded by noise and fed in random chunks, comes out once and intact.
#[test]
fn captures_are_found_in_noise_and_chunks() {
    for v in vectors() {
        let expected = decode(&v);
        for seed in 0..200 {
            let mut rng = Rng::new(seed);
            let head_len = rng.below(600);
            let mut stream = rng.garbage(head_len);
            stream.extend_from_slice(&v.bytes);
            let tail_len = rng.below(600);
            stream.extend(rng.garbage(tail_len));

            let mut decoder = Decoder::new();
            let mut replies = Vec::new();
            let mut rest = &stream[..];
            while !rest.is_empty() {
                let chunk = 1 + rng.below(rest.len().min(400));
                let taken = decoder.push(&rest[..chunk]);
                rest = &rest[taken..];
                while let Some(result) = decoder.next_reply() {
                    match result {
                        Ok(reply) => replies.push(reply),
                        // Noise may hold short false frames with valid checksums by chance;
                        // those fail as payload, never as a wrong reading.
                        Err(DecodeError::Frame(_)) | Err(DecodeError::Payload(_)) => {}
                    }
                }
            }
            assert_eq!(replies, vec![expected.clone()], "{} seed {seed}", v.name);
        }
    }
}

/// All three captures back to back with noise between: all three come out, in order.
#[test]
fn consecutive_captures_with_noise_between_all_come_out() {
    let vectors = vectors();
    let expected: Vec<NwReply> = vectors.iter().map(decode).collect();
    for seed in 0..50 {
        let mut rng = Rng::new(1000 + seed);
        let mut stream = Vec::new();
        for v in &vectors {
            let gap = rng.below(300);
            stream.extend(rng.garbage(gap));
            stream.extend_from_slice(&v.bytes);
        }
        let mut decoder = Decoder::new();
        let mut replies = Vec::new();
        for chunk in stream.chunks(1 + rng.below(64)) {
            let mut rest = chunk;
            while !rest.is_empty() {
                let taken = decoder.push(rest);
                rest = &rest[taken..];
                while let Some(result) = decoder.next_reply() {
                    if let Ok(reply) = result {
                        replies.push(reply);
                    }
                }
            }
        }
        assert_eq!(replies, expected, "seed {seed}");
        assert_eq!(decoder.stats().frames, 3);
    }
}

/// Firmware < 10.10 leaves out 0xB9 (§1.4): with it removed (LENGTH and checksum fixed up)
/// the capture still decodes, to the same values but no actual capacity.
#[test]
fn capture_without_b9_still_decodes() {
    for v in vectors() {
        let info = info_without(&v.bytes, tag::ACTUAL_CAPACITY);
        let bytes = with_info(&v.bytes, &info);
        assert_eq!(bytes.len(), v.bytes.len() - 5);
        let mut expected = decode(&v);
        expected.settings.actual_capacity_ah = None;
        assert_eq!(decode_reply(&bytes), Ok(expected.clone()), "{}", v.name);
        // And it re-encodes to the shorter frame.
        let mut out = Vec::new();
        expected.encode(&mut out);
        assert_eq!(out, bytes);
    }
}

/// Protocol version 0 (and no 0xC0 at all) use `(10000 − raw) × 10 mA` (§1.5), with the JK
/// doc's examples: raw 11000 = −10 A (discharge), raw 9500 = +5 A (charge).
#[test]
fn version_zero_current_formula() {
    let v = vector("1_1");
    for (raw, ma) in [(11_000u16, -10_000), (9_500, 5_000), (10_000, 0)] {
        let bytes_v1 = with_info(
            &v.bytes,
            &info_with_value(&v.bytes, tag::CURRENT, &raw.to_be_bytes()),
        );
        // C0 00: version 0.
        let v0_info = info_with_value(&bytes_v1, tag::PROTOCOL_VERSION, &[0x00]);
        let r = decode_reply(&with_info(&v.bytes, &v0_info)).unwrap();
        assert_eq!(r.protocol_version, Some(0));
        assert_eq!(r.pack.current_ma, ma, "raw {raw}, C0 00");
        // No C0: old firmware, same formula.
        let none_info = info_without(&bytes_v1, tag::PROTOCOL_VERSION);
        let r = decode_reply(&with_info(&v.bytes, &none_info)).unwrap();
        assert_eq!(r.protocol_version, None);
        assert_eq!(r.pack.current_ma, ma, "raw {raw}, no C0");
    }
    // The capture's own 0x80D0 read as version 0 is (10000 − 32976) × 10 mA: the version
    // decides, not the raw value.
    let v0 = with_info(
        &v.bytes,
        &info_with_value(&v.bytes, tag::PROTOCOL_VERSION, &[0x00]),
    );
    assert_eq!(decode_reply(&v0).unwrap().pack.current_ma, -229_760);
    assert_eq!(decode(&v).pack.current_ma, 2_080);
}

/// Damaged captures are rejected with the right error, never decoded wrong.
#[test]
fn damaged_captures_are_rejected() {
    let v = vector("1_3");
    let n = v.bytes.len();

    let mut bad = v.bytes.clone();
    bad[20] ^= 0x01; // a cell voltage bit
    assert!(matches!(
        decode_reply(&bad),
        Err(DecodeError::Frame(FrameError::BadChecksum { .. }))
    ));

    let mut bad = v.bytes.clone();
    bad[n - 5] = 0x00; // END
    assert_eq!(
        decode_reply(&bad),
        Err(DecodeError::Frame(FrameError::BadEndByte(0x00)))
    );

    assert_eq!(
        decode_reply(&v.bytes[..n - 1]),
        Err(DecodeError::Frame(FrameError::SizeMismatch {
            declared: n,
            actual: n - 1
        }))
    );

    // A tag duplicated (valid checksum): a typed payload error.
    let mut info = Frame::parse(&v.bytes).unwrap().info.to_vec();
    info.extend_from_slice(&[0x85, 0x10]);
    assert_eq!(
        decode_reply(&with_info(&v.bytes, &info)),
        Err(DecodeError::Payload(PayloadError::DuplicateTag(0x85)))
    );

    // A mandatory tag removed (valid checksum).
    let info = info_without(&v.bytes, tag::ALARMS);
    assert_eq!(
        decode_reply(&with_info(&v.bytes, &info)),
        Err(DecodeError::Payload(PayloadError::MissingTag(0x8B)))
    );
}
