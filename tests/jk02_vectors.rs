//! Real JK02 frames (tests/vectors/jk02) decode to every key of their `.expected.txt`, are found
//! by the scanner inside the bytes a JK-PB bus really carries (echo, padding, ACK), and the
//! trigger requests are byte for byte those of jk02.md §2.2.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use busbar::jk02::{
    ack, request, CellInfo, Event, Frame, FrameError, Layout, Message, Register, ScanError, Scanner,
};

struct Vector {
    name: String,
    bytes: Vec<u8>,
    expected: BTreeMap<String, String>,
}

fn vectors() -> Vec<Vector> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/jk02");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("vector directory")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "hex"))
        .collect();
    paths.sort();
    assert_eq!(paths.len(), 3, "the three jk02 vectors");
    paths
        .into_iter()
        .map(|path| {
            let hex = std::fs::read_to_string(&path).unwrap();
            let bytes = hex
                .lines()
                .filter(|l| !l.trim_start().starts_with('#'))
                .flat_map(str::split_whitespace)
                .map(|h| u8::from_str_radix(h, 16).unwrap())
                .collect();
            let text = std::fs::read_to_string(path.with_extension("expected.txt")).unwrap();
            let expected = text
                .lines()
                .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
                .map(|l| {
                    let (k, v) = l.split_once(':').expect("key: value");
                    (k.trim().to_string(), v.trim().to_string())
                })
                .collect();
            Vector {
                name: path.file_stem().unwrap().to_string_lossy().into_owned(),
                bytes,
                expected,
            }
        })
        .collect()
}

fn int(v: &str) -> i64 {
    match v.strip_prefix("0x") {
        Some(h) => i64::from_str_radix(h, 16).unwrap(),
        None => v.parse().unwrap_or_else(|e| panic!("{v:?}: {e}")),
    }
}

/// A decimal scaled by `scale` (1000: V -> mV; 10: °C -> 0.1 °C), exactly.
fn scaled(v: &str, digits: usize) -> i64 {
    let (neg, d) = match v.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, v),
    };
    let (whole, frac) = d.split_once('.').unwrap_or((d, ""));
    assert!(frac.len() <= digits, "{v}");
    let m = int(whole) * 10i64.pow(digits as u32) + int(&format!("{frac:0<digits$}"));
    if neg {
        -m
    } else {
        m
    }
}

fn list(v: &str) -> Vec<i64> {
    v.trim_matches(['[', ']'])
        .split(',')
        .map(|s| int(s.trim()))
        .collect()
}

/// Every key of the expected file compared with the decoded value; unknown keys fail.
fn check(v: &Vector, info: &CellInfo) {
    let mut checked = 0;
    for (key, value) in &v.expected {
        let got: i64 = match key.as_str() {
            "checksum_ok" => {
                assert_eq!(value, "True");
                checked += 1;
                continue;
            }
            "cells_mV" => {
                let got: Vec<i64> = info.cells_mv.iter().map(|&c| c.into()).collect();
                assert_eq!(got, list(value), "{}: {key}", v.name);
                checked += 1;
                continue;
            }
            "res_mOhm" => {
                let got: Vec<i64> = info.resistances_mohm.iter().map(|&c| c.into()).collect();
                assert_eq!(got, list(value), "{}: {key}", v.name);
                checked += 1;
                continue;
            }
            "type" => 2,
            "counter" => info.counter.into(),
            "enabled_mask" => info.enabled_mask.into(),
            "avg_mV" => info.average_mv.into(),
            "delta_mV" => info.delta_mv.into(),
            "max_idx" => info.max_cell_index.into(),
            "min_idx" => info.min_cell_index.into(),
            "T_mos" => info.mos_temperature_dc.into(),
            "V" => info.voltage_mv.into(),
            "P_W" => info.power_mw.into(),
            "I_A" => info.current_ma.into(),
            "T1" => info.t1_dc.into(),
            "T2" => info.t2_dc.into(),
            "T3" | "T4" | "T5" => {
                let k = usize::from(key.as_bytes()[1] - b'3');
                info.t3_to_t5_dc.expect("32S has T3..T5")[k].into()
            }
            "alarms" => info.errors.into(),
            "bal_I_A" => info.balance_current_ma.into(),
            "bal_state" => info.balancer_state.into(),
            "SOC" => info.soc_pct.into(),
            "cap_rem_Ah" => info.remaining_mah.into(),
            "cap_nom_Ah" => info.full_capacity_mah.into(),
            "cycles" => info.cycles.into(),
            "cycle_cap_Ah" => info.cycle_capacity_mah.into(),
            "SOH" => info.soh_pct.into(),
            "precharge" => info.precharge.into(),
            "runtime_s" => info.runtime_s.into(),
            "chg_fet" => info.charge_mosfet.into(),
            "dis_fet" => info.discharge_mosfet.into(),
            "prechg_fet" => info.precharge_mosfet.into(),
            "bal_work" => info.balancer_working.into(),
            "temp_sensor_bits" => info.sensors_present.into(),
            "heating" => info.heating.into(),
            "heat_I_A" => info.heater_current_ma.into(),
            other => panic!("{}: key {other} not checked", v.name),
        };
        let want = match key.as_str() {
            "V" | "P_W" | "I_A" | "bal_I_A" | "cap_rem_Ah" | "cap_nom_Ah" | "cycle_cap_Ah"
            | "heat_I_A" => scaled(value, 3),
            "T_mos" | "T1" | "T2" | "T3" | "T4" | "T5" => scaled(value, 1),
            _ => int(value),
        };
        assert_eq!(got, want, "{}: {key}", v.name);
        checked += 1;
    }
    assert_eq!(checked, v.expected.len());
    assert!(checked >= 30, "{}: only {checked} keys", v.name);
}

#[test]
fn every_vector_decodes_to_its_expected_values() {
    for v in vectors() {
        let frame = Frame::parse(&v.bytes).unwrap_or_else(|e| panic!("{}: {e}", v.name));
        let info = CellInfo::decode(&frame, None).unwrap();
        check(&v, &info);
    }
}

#[test]
fn the_layout_is_detected_from_the_frame_itself() {
    for v in vectors() {
        let bytes: &[u8; 300] = v.bytes.as_slice().try_into().unwrap();
        let want = if v.name.contains("24s") {
            Layout::Jk02_24S
        } else {
            Layout::Jk02_32S
        };
        assert_eq!(Layout::detect(bytes), want, "{}", v.name);
    }
}

#[test]
fn the_real_bus_capture_becomes_a_plausible_snapshot() {
    let v = vectors()
        .into_iter()
        .find(|v| v.name.starts_with("2_1"))
        .unwrap();
    let frame = Frame::parse(&v.bytes).unwrap();
    let p = CellInfo::decode(&frame, Some(Layout::Jk02_32S))
        .unwrap()
        .to_snapshot();
    assert_eq!(p.check_plausible(16), Ok(()));
    assert_eq!(p.voltage_mv, 53_538);
    assert_eq!(p.current_ma, 0);
    assert_eq!(p.soc_pct, 100);
    assert_eq!(p.capacity_ah, 304.0);
    assert_eq!(p.remaining_capacity_ah, Some(302.762));
    assert!(p.charge_mosfet && p.discharge_mosfet && !p.balancing);
    assert_eq!(p.mos_temperature_dc, Some(206));
    // Sensor-present byte 0xFF: T1..T5 all present.
    assert_eq!(p.temperatures_dc.as_slice(), &[192, 199, 206, 191, 193]);
    assert!(p.alarms.is_empty());

    // The 24S frame: 13 cells, MOSFETs off, negative temperatures, T1 and T2 only.
    let v = vectors()
        .into_iter()
        .find(|v| v.name.starts_with("2_5"))
        .unwrap();
    let frame = Frame::parse(&v.bytes).unwrap();
    let p = CellInfo::decode(&frame, None).unwrap().to_snapshot();
    assert_eq!(p.check_plausible(13), Ok(()));
    assert_eq!(p.temperatures_dc.as_slice(), &[-31, -29]);
    assert!(!p.charge_mosfet && !p.discharge_mosfet);
    assert_eq!(p.current_ma, 0);
}

#[test]
fn a_corrupted_vector_is_rejected_with_its_checksum() {
    let mut bytes = vectors().remove(0).bytes;
    bytes[173] = 99; // SOC 100 -> 99: one byte, the sum no longer matches
    assert!(matches!(
        Frame::parse(&bytes),
        Err(FrameError::Checksum {
            expected: _,
            got: 0xCC
        })
    ));
}

#[test]
fn requests_are_the_documented_bytes() {
    // jk02.md §2.2 (and the real bus captures it cites).
    assert_eq!(
        request(1, Register::CellInfo),
        [0x01, 0x10, 0x16, 0x20, 0x00, 0x01, 0x02, 0x00, 0x00, 0xD6, 0xF1]
    );
    assert_eq!(
        request(1, Register::Settings),
        [0x01, 0x10, 0x16, 0x1E, 0x00, 0x01, 0x02, 0x00, 0x00, 0xD2, 0x2F]
    );
    assert_eq!(
        request(1, Register::DeviceInfo),
        [0x01, 0x10, 0x16, 0x1C, 0x00, 0x01, 0x02, 0x00, 0x00, 0xD3, 0xCD]
    );
    assert_eq!(
        ack(1, Register::CellInfo),
        [0x01, 0x10, 0x16, 0x20, 0x00, 0x01, 0x04, 0x4B]
    );
}

/// The capture as the factory CH341 adapter delivers it (jk02.md §2.2 [!]): our request echoed,
/// a 0x00, the frame, a 0x00, the ACK, a 0x00; in every chunking the scanner finds the frame
/// and then the ACK.
#[test]
fn the_scanner_finds_frame_and_ack_in_what_the_adapter_delivers() {
    let v = vectors().remove(0);
    let mut wire = request(1, Register::CellInfo).to_vec();
    wire.push(0x00);
    wire.extend_from_slice(&v.bytes);
    wire.push(0x00);
    wire.extend_from_slice(&ack(1, Register::CellInfo));
    wire.push(0x00);
    for chunk in [1, 2, 7, 64, 300, 400] {
        let mut scanner = Scanner::new();
        let mut seen = Vec::new();
        for piece in wire.chunks(chunk) {
            let mut rest = piece;
            while !rest.is_empty() {
                let n = scanner.push(rest);
                rest = &rest[n..];
                while let Some(e) = scanner.next_event() {
                    match e {
                        Ok(Event::Frame(f)) => seen.push(format!("frame {}", f.counter())),
                        Ok(Event::Message(Message::Ack { address, .. })) => {
                            seen.push(format!("ack {address}"))
                        }
                        Ok(Event::Message(Message::Request { .. })) => seen.push("echo".into()),
                        Err(ScanError::GarbageSkipped(_)) => {}
                        Err(e) => panic!("chunk {chunk}: {e}"),
                    }
                }
            }
        }
        assert_eq!(seen, ["echo", "frame 5", "ack 1"], "chunk {chunk}");
    }
}
