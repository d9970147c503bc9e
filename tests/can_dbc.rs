//! `dbc/busbar.dbc` as the oracle: (a) frames encoded from known battery states decode through
//! the DBC to the values of the state that made them; (b) the DBC and the encoder agree on the
//! set of frames; (c) real captures from real batteries (`tests/vectors/can/`) decode through
//! the DBC to the values stated beside them.

mod dbc_support;
mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Instant;

use busbar::battery::alarms::AlarmInputs;
use busbar::battery::{
    AlarmFields, Battery, BatteryState, CellExtreme, ChargePhase, CvlReason, Flag, PackCounts,
    SystemLimit, TemperatureExtreme, VictronAlarms,
};
use busbar::can::{encode_all, id, EncoderSettings, Firmware};
use busbar::config::CanProfile;
use busbar::pack::{Alarms, PackSnapshot};
use can_dbc::{Dbc, Message};

use dbc_support::{load, message, raw, signal, text, value};
use support::{at, pack, settings, with_cell};

// ---------------------------------------------------------------------------------------------
// States

/// Five 16S packs, all heard: different SOCs, currents and temperatures.
fn healthy() -> BatteryState {
    let t0 = Instant::now();
    let mut battery = Battery::new(settings(5, 16, 60, 70), t0).unwrap();
    for i in 0..5 {
        let mut p = pack(3300 + 5 * i as u16);
        p.soc_pct = 40 + 10 * i as u8;
        p.current_ma = 12_345 * (i as i32 + 1) - 20_000;
        p.temperatures_dc = [180 + 10 * i as i16, 215].into_iter().collect();
        battery.accept(i, t0, p).unwrap();
    }
    battery.tick(t0).unwrap()
}

/// Pack 3 (index 2) has a cell at 3.52 V and an over-voltage alarm; pack 5 never answers.
fn high_cell_one_silent() -> BatteryState {
    let t0 = Instant::now();
    let mut battery = Battery::new(settings(5, 16, 60, 70), t0).unwrap();
    for i in 0..4 {
        let mut p = pack(3400);
        if i == 2 {
            p = with_cell(p, 5, 3520);
            p.alarms = Alarms::CELL_OVER_VOLTAGE;
        }
        battery.accept(i, at(t0, 2.0), p).unwrap();
    }
    battery.tick(at(t0, 3.0)).unwrap()
}

/// Cold and discharging hard: −5.5 °C on one sensor, 150 A out of two packs.
fn cold_discharging() -> BatteryState {
    let t0 = Instant::now();
    let mut battery = Battery::new(settings(2, 16, 60, 70), t0).unwrap();
    for i in 0..2 {
        let mut p: PackSnapshot = pack(3150);
        p.current_ma = -75_050;
        p.temperatures_dc = [-55, 20].into_iter().collect();
        p.soc_pct = 23;
        battery.accept(i, t0, p).unwrap();
    }
    battery.tick(t0).unwrap()
}

/// No pack ever heard: CCL = DCL = 0, BMS-internal alarm, no SOC (0x355 left out).
fn all_silent() -> BatteryState {
    let t0 = Instant::now();
    let mut battery = Battery::new(settings(3, 16, 60, 70), t0).unwrap();
    battery.tick(at(t0, 3.0)).unwrap()
}

/// Built by hand: every alarm field exercised (alarms and warnings), odd values.
fn by_hand() -> BatteryState {
    BatteryState {
        cvl_mv: 54_037,
        ccl_ma: 12_399,
        dcl_ma: 250_001,
        dvl_mv: 46_401,
        charge_phase: ChargePhase::Float,
        cvl_reason: CvlReason::Phase,
        charge_limit: SystemLimit::SystemCap,
        discharge_limit: SystemLimit::PackMaxima,
        lowered: true,
        soc_centi_pct: Some(9_951),
        soh_pct: 97,
        voltage_mv: 52_996,
        current_ma: -1_234_567,
        temperature_dc: Some(-123),
        alarms: VictronAlarms::evaluate(&AlarmInputs {
            active: Alarms::CELL_OVER_VOLTAGE
                | Alarms::CHARGE_LOW_TEMPERATURE
                | Alarms::DISCHARGE_OVER_CURRENT
                | Alarms::CELL_VOLTAGE_DIFFERENCE
                | Alarms::SHORT_CIRCUIT,
            charge_impossible: true,
            discharge_impossible: false,
            online: 7,
            offline: 2,
        }),
        min_cell: Some(CellExtreme {
            pack: 11,
            cell: 3,
            mv: 2_999,
        }),
        max_cell: Some(CellExtreme {
            pack: 0,
            cell: 32,
            mv: 3_651,
        }),
        min_temperature: Some(TemperatureExtreme {
            pack: 6,
            sensor: 4,
            dc: -123,
        }),
        max_temperature: Some(TemperatureExtreme {
            pack: 8,
            sensor: 1,
            dc: 455,
        }),
        counts: PackCounts {
            online: 7,
            blocking_charge: 7,
            blocking_discharge: 1,
            offline: 2,
        },
        installed_capacity_ah: 1_960,
        packs: Vec::new(),
    }
}

fn states() -> Vec<(&'static str, BatteryState)> {
    vec![
        ("healthy", healthy()),
        ("high cell, one silent", high_cell_one_silent()),
        ("cold, discharging", cold_discharging()),
        ("all silent", all_silent()),
        ("by hand", by_hand()),
    ]
}

fn settings_for(profile: CanProfile) -> EncoderSettings {
    EncoderSettings::new(profile, "BUSBAR")
        .unwrap()
        .with_firmware(Firmware {
            major: 3,
            minor: 14,
        })
}

// ---------------------------------------------------------------------------------------------
// (a) encode → DBC → the state's values

/// `a` and `b` within a tolerance that absorbs f64 noise only.
fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6
}

/// The named 0x35A fields of one half (DBC signal names without the half prefix).
fn alarm_flags(f: &AlarmFields) -> [(&'static str, Flag); 13] {
    [
        ("General", f.general),
        ("HighVoltage", f.high_voltage),
        ("LowVoltage", f.low_voltage),
        ("HighTemperature", f.high_temperature),
        ("LowTemperature", f.low_temperature),
        ("HighTemperatureCharge", f.high_temperature_charge),
        ("LowTemperatureCharge", f.low_temperature_charge),
        ("HighDischargeCurrent", f.high_discharge_current),
        ("HighChargeCurrent", f.high_charge_current),
        ("Contactor", f.contactor),
        ("ShortCircuit", f.short_circuit),
        ("BmsInternal", f.bms_internal),
        ("CellImbalance", f.cell_imbalance),
    ]
}

fn active(flags: &[Flag]) -> f64 {
    if flags.contains(&Flag::Active) {
        1.0
    } else {
        0.0
    }
}

fn check_state(dbc: &Dbc, name: &str, state: &BatteryState, profile: CanProfile) {
    let settings = settings_for(profile);
    let set = encode_all(state, &settings).unwrap();
    let frame = |id: u16| -> Option<(&Message, Vec<u8>)> {
        let f = set.iter().find(|f| f.id() == id)?;
        let m = message(dbc, id).unwrap_or_else(|| panic!("0x{id:X} not in the DBC"));
        Some((m, f.data().to_vec()))
    };
    let ctx = format!("{name} ({profile:?})");

    // 0x351: CVL/CCL/DCL rounded down to 0.1, DVL rounded up (and never above CVL).
    let (m, d) = frame(id::LIMITS).unwrap();
    let cvl = value(m, "ChargeVoltageLimit", &d);
    let want = f64::from(state.cvl_mv) / 1000.0;
    assert!(
        cvl > 0.0 && cvl <= want + 1e-6 && want - cvl < 0.1,
        "{ctx}: CVL {cvl} for {want}"
    );
    for (sig, ma) in [
        ("ChargeCurrentLimit", state.ccl_ma),
        ("DischargeCurrentLimit", state.dcl_ma),
    ] {
        let got = value(m, sig, &d);
        let want = f64::from(ma) / 1000.0;
        assert!(
            got >= 0.0 && got <= want + 1e-6 && want - got < 0.1,
            "{ctx}: {sig} {got} for {want}"
        );
    }
    let dvl = value(m, "DischargeVoltageLimit", &d);
    let want = f64::from(state.dvl_mv) / 1000.0;
    assert!(
        close(dvl, cvl) || (dvl + 1e-6 >= want && dvl - want < 0.1),
        "{ctx}: DVL {dvl} for {want}"
    );

    // 0x355, only with a SOC.
    match (state.soc_centi_pct, frame(id::SOC)) {
        (None, None) => {}
        (Some(centi), Some((m, d))) => {
            let pct = f64::from(centi) / 100.0;
            assert!(
                (value(m, "StateOfCharge", &d) - pct).abs() <= 0.5 + 1e-6,
                "{ctx}: SOC"
            );
            assert!(
                close(value(m, "StateOfChargeHiRes", &d), pct),
                "{ctx}: SOC hi-res"
            );
            assert!(
                close(value(m, "StateOfHealth", &d), f64::from(state.soh_pct)),
                "{ctx}"
            );
        }
        (soc, frame) => panic!("{ctx}: SOC {soc:?} but 0x355 {frame:?}"),
    }

    // 0x356.
    let (m, d) = frame(id::MEASUREMENTS).unwrap();
    let v = value(m, "BatteryVoltage", &d);
    assert!(
        (v - f64::from(state.voltage_mv) / 1000.0).abs() <= 0.005 + 1e-6,
        "{ctx}: V {v}"
    );
    let i = value(m, "BatteryCurrent", &d);
    let want = f64::from(state.current_ma) / 1000.0;
    assert!((i - want).abs() <= 0.05 + 1e-6, "{ctx}: I {i} for {want}");
    let t = value(m, "BatteryTemperature", &d);
    let want = state
        .temperature_dc
        .map_or(-273.0, |dc| f64::from(dc) / 10.0);
    assert!(close(t, want), "{ctx}: T {t} for {want}");

    // 0x35A: every named field, both halves.
    let (m, d) = frame(id::ALARMS).unwrap();
    for (half, fields) in [
        ("Alarm", &state.alarms.alarms),
        ("Warning", &state.alarms.warnings),
    ] {
        for (field, flag) in alarm_flags(fields) {
            let got = value(m, &format!("{half}_{field}"), &d);
            assert!(
                close(got, f64::from(flag.crumb())),
                "{ctx}: {half}_{field} {got} for {flag:?}"
            );
        }
    }

    // 0x35E, 0x35F, 0x370/0x371, 0x382.
    let (m, d) = frame(id::NAME).unwrap();
    let want_name = match profile {
        CanProfile::Victron => "BUSBAR",
        CanProfile::Pylon => "BUSBAR  ",
    };
    assert_eq!(text(m, &d), want_name, "{ctx}");
    let (m, d) = frame(id::INFO).unwrap();
    assert!(close(value(m, "ProductId", &d), 0.0));
    assert!(close(value(m, "FirmwareMajor", &d), 3.0));
    assert!(close(value(m, "FirmwareMinor", &d), 14.0));
    assert!(
        close(
            value(m, "Capacity", &d),
            f64::from(state.installed_capacity_ah)
        ),
        "{ctx}"
    );
    let (m1, d1) = frame(id::BMS_NAME_1).unwrap();
    let (m2, d2) = frame(id::BMS_NAME_2).unwrap();
    let bms = text(m1, &d1) + &text(m2, &d2);
    assert_eq!(
        bms,
        format!("busbar {}", env!("CARGO_PKG_VERSION")),
        "{ctx}"
    );
    let (m, d) = frame(id::PRODUCT_FAMILY).unwrap();
    assert_eq!(text(m, &d), "BUSBAR");

    // 0x372.
    let (m, d) = frame(id::MODULES).unwrap();
    let c = state.counts;
    for (sig, n) in [
        ("ModulesOnline", c.online),
        ("ModulesBlockingCharge", c.blocking_charge),
        ("ModulesBlockingDischarge", c.blocking_discharge),
        ("ModulesOffline", c.offline),
    ] {
        assert!(close(value(m, sig, &d), n as f64), "{ctx}: {sig}");
    }

    // 0x373: cells in V (1 mV steps), temperatures in K = °C + 273 (nearest), 0 = unknown.
    let (m, d) = frame(id::CELL_EXTREMES).unwrap();
    for (sig, cell) in [
        ("MinCellVoltage", state.min_cell),
        ("MaxCellVoltage", state.max_cell),
    ] {
        let want = cell.map_or(0.0, |c| f64::from(c.mv) / 1000.0);
        assert!(close(value(m, sig, &d), want), "{ctx}: {sig}");
    }
    for (sig, t) in [
        ("MinCellTemperature", state.min_temperature),
        ("MaxCellTemperature", state.max_temperature),
    ] {
        let k = value(m, sig, &d);
        match t {
            None => assert!(close(k, 0.0), "{ctx}: {sig} {k}"),
            Some(t) => {
                let celsius = f64::from(t.dc) / 10.0;
                assert!(
                    (k - 273.0 - celsius).abs() <= 0.5 + 1e-6,
                    "{ctx}: {sig} {k} K for {celsius} °C"
                );
            }
        }
    }

    // 0x374–0x377: which cell and sensor, 1-based.
    let cell_id = |c: Option<CellExtreme>| {
        c.map_or(String::new(), |c| format!("P{}C{:02}", c.pack + 1, c.cell))
    };
    let sensor_id = |t: Option<TemperatureExtreme>| {
        t.map_or(String::new(), |t| format!("P{}T{}", t.pack + 1, t.sensor))
    };
    for (id, want) in [
        (id::MIN_CELL_ID, cell_id(state.min_cell)),
        (id::MAX_CELL_ID, cell_id(state.max_cell)),
        (id::MIN_TEMPERATURE_ID, sensor_id(state.min_temperature)),
        (id::MAX_TEMPERATURE_ID, sensor_id(state.max_temperature)),
    ] {
        let (m, d) = frame(id).unwrap();
        assert_eq!(text(m, &d), want, "{ctx}: 0x{id:X}");
    }

    // 0x379.
    let (m, d) = frame(id::INSTALLED_CAPACITY).unwrap();
    assert!(close(
        value(m, "InstalledCapacity", &d),
        f64::from(state.installed_capacity_ah)
    ));

    // Pylon frames, from the same alarms and limits.
    match profile {
        CanProfile::Victron => {
            assert!(frame(id::PYLON_FLAGS).is_none() && frame(id::PYLON_REQUEST).is_none());
        }
        CanProfile::Pylon => {
            let (m, d) = frame(id::PYLON_FLAGS).unwrap();
            let a = &state.alarms.alarms;
            let w = &state.alarms.warnings;
            for (sig, want) in [
                ("ProtectionOverVoltage", active(&[a.high_voltage])),
                ("ProtectionUnderVoltage", active(&[a.low_voltage])),
                (
                    "ProtectionOverTemperature",
                    active(&[a.high_temperature, a.high_temperature_charge]),
                ),
                (
                    "ProtectionUnderTemperature",
                    active(&[a.low_temperature, a.low_temperature_charge]),
                ),
                (
                    "ProtectionDischargeOverCurrent",
                    active(&[a.high_discharge_current, a.short_circuit]),
                ),
                (
                    "ProtectionChargeOverCurrent",
                    active(&[a.high_charge_current]),
                ),
                ("ProtectionSystemError", active(&[a.bms_internal])),
                ("AlarmHighVoltage", active(&[w.high_voltage])),
                ("AlarmLowVoltage", active(&[w.low_voltage])),
                (
                    "AlarmHighTemperature",
                    active(&[w.high_temperature, w.high_temperature_charge]),
                ),
                (
                    "AlarmLowTemperature",
                    active(&[w.low_temperature, w.low_temperature_charge]),
                ),
                (
                    "AlarmDischargeHighCurrent",
                    active(&[w.high_discharge_current, w.short_circuit]),
                ),
                ("AlarmChargeHighCurrent", active(&[w.high_charge_current])),
                (
                    "AlarmInternalCommunicationFail",
                    if c.offline > 0 {
                        1.0
                    } else {
                        active(&[w.bms_internal])
                    },
                ),
                ("ModuleCount", c.online.min(255) as f64),
                ("ManufacturerTag", f64::from(u16::from_le_bytes(*b"PN"))),
            ] {
                assert!(close(value(m, sig, &d), want), "{ctx}: {sig}");
            }
            let (m, d) = frame(id::PYLON_REQUEST).unwrap();
            let enabled = |limit: f64| if limit > 0.0 { 1.0 } else { 0.0 };
            let (lm, ld) = frame(id::LIMITS).unwrap();
            for (sig, want) in [
                (
                    "ChargeEnable",
                    enabled(value(lm, "ChargeCurrentLimit", &ld)),
                ),
                (
                    "DischargeEnable",
                    enabled(value(lm, "DischargeCurrentLimit", &ld)),
                ),
                ("ForceChargeI", 0.0),
                ("ForceChargeII", 0.0),
                ("FullChargeRequest", 0.0),
            ] {
                assert!(close(value(m, sig, &d), want), "{ctx}: {sig}");
            }
        }
    }
}

#[test]
fn encoded_states_decode_through_the_dbc_to_the_state_values() {
    let dbc = load();
    for (name, state) in states() {
        for profile in [CanProfile::Victron, CanProfile::Pylon] {
            check_state(&dbc, name, &state, profile);
        }
    }
}

#[test]
fn the_states_cover_what_they_claim() {
    let silent = all_silent();
    assert_eq!(
        (silent.ccl_ma, silent.dcl_ma, silent.soc_centi_pct),
        (0, 0, None)
    );
    assert_eq!(silent.alarms.alarms.bms_internal, Flag::Active);
    let h = high_cell_one_silent();
    assert_eq!(h.counts.offline, 1);
    assert_eq!(
        h.max_cell.map(|c| (c.pack, c.cell, c.mv)),
        Some((2, 5, 3520))
    );
    let cold = cold_discharging();
    assert!(cold.current_ma < 0);
    assert_eq!(cold.min_temperature.map(|t| t.dc), Some(-55));
    let hand = by_hand();
    assert!(hand.alarms.alarms.any_raised() && hand.alarms.warnings.any_raised());
}

// ---------------------------------------------------------------------------------------------
// (b) the DBC and the encoder describe the same frames

#[test]
fn every_frame_the_encoder_sends_is_in_the_dbc_and_vice_versa() {
    let dbc = load();
    let mut sent = BTreeSet::new();
    for (_, state) in states() {
        for profile in [CanProfile::Victron, CanProfile::Pylon] {
            for f in encode_all(&state, &settings_for(profile)).unwrap() {
                assert_eq!(f.len(), 8, "0x{:X}", f.id());
                sent.insert(f.id());
            }
        }
    }
    let mut described = BTreeSet::new();
    for m in &dbc.messages {
        let can_dbc::MessageId::Standard(id) = m.id else {
            panic!("{}: busbar uses 11-bit ids only", m.name);
        };
        assert_eq!(m.size, 8, "{}", m.name);
        for s in &m.signals {
            assert!(s.start_bit + s.size <= 64, "{}.{}", m.name, s.name);
            assert_eq!(
                s.byte_order,
                can_dbc::ByteOrder::LittleEndian,
                "{}.{}",
                m.name,
                s.name
            );
        }
        match m.transmitter.as_deref() {
            Some("BUSBAR") => {
                described.insert(id);
            }
            Some("INVERTER") => assert_eq!(id, id::INVERTER_KEEP_ALIVE, "{}", m.name),
            other => panic!("{}: transmitter {other:?}", m.name),
        }
    }
    assert_eq!(sent, described);
    assert!(message(&dbc, id::INVERTER_KEEP_ALIVE).is_some());
    // Every signal has a comment; the 0x35A crumbs have the value table.
    for m in &dbc.messages {
        assert!(dbc.message_comment(m.id).is_some(), "{} has no CM_", m.name);
        for s in &m.signals {
            assert!(
                dbc.signal_comment(m.id, &s.name).is_some(),
                "{}.{} has no CM_",
                m.name,
                s.name
            );
        }
    }
    let alarms = message(&dbc, id::ALARMS).unwrap();
    for s in &alarms.signals {
        let table = dbc
            .value_descriptions_for_signal(alarms.id, &s.name)
            .unwrap_or_else(|| panic!("{} has no VAL_", s.name));
        let names: Vec<(i64, &str)> = table
            .iter()
            .map(|v| (v.id, v.description.as_str()))
            .collect();
        for want in [
            (0, "Unsupported"),
            (1, "Active"),
            (2, "OK"),
            (3, "Unsupported"),
        ] {
            assert!(names.contains(&want), "{}: {names:?}", s.name);
        }
    }
}

#[test]
fn signals_do_not_overlap_within_a_frame() {
    let dbc = load();
    for m in &dbc.messages {
        let mut used = 0u64;
        for s in &m.signals {
            let mask = if s.size == 64 {
                u64::MAX
            } else {
                ((1u64 << s.size) - 1) << s.start_bit
            };
            assert_eq!(used & mask, 0, "{}.{} overlaps", m.name, s.name);
            used |= mask;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// (c) real captures

/// One capture line: `0xID [DLC] bytes   decoded values`.
struct Line {
    id: u16,
    data: Vec<u8>,
    stated: String,
}

fn captures() -> Vec<(String, Vec<Line>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/can");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 3, "captures missing in {}", dir.display());
    paths
        .into_iter()
        .map(|path| {
            let lines = std::fs::read_to_string(&path)
                .unwrap()
                .lines()
                .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
                .map(parse_capture_line)
                .collect();
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                lines,
            )
        })
        .collect()
}

fn parse_capture_line(line: &str) -> Line {
    let mut tokens = line.split_whitespace();
    let id = tokens.next().unwrap();
    let id = u16::from_str_radix(id.trim_start_matches("0x"), 16).unwrap();
    let dlc: usize = tokens
        .next()
        .unwrap()
        .trim_matches(|c| c == '[' || c == ']')
        .parse()
        .unwrap();
    let data: Vec<u8> = (&mut tokens)
        .take(dlc)
        .map(|b| u8::from_str_radix(b, 16).unwrap())
        .collect();
    assert_eq!(data.len(), dlc, "{line}");
    Line {
        id,
        data,
        // Kept as written: quoted texts hold spaces ('PYLON   ').
        stated: after_tokens(line, 2 + dlc).to_string(),
    }
}

/// `line` after its first `n` whitespace-separated tokens, leading whitespace removed.
fn after_tokens(line: &str, n: usize) -> &str {
    let mut rest = line;
    for _ in 0..n {
        rest = rest.trim_start();
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        rest = &rest[end..];
    }
    rest.trim_start()
}

/// `KEY=VALUE` pairs of the stated text, VALUE up to the next space.
fn stated_value<'a>(stated: &'a str, key: &str) -> Option<&'a str> {
    stated
        .split_whitespace()
        .find_map(|t| t.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
}

/// A number with its unit (and anything after it, like `(21.85C)`) cut off.
fn number(text: &str) -> f64 {
    let end = text
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || c == '.' || (c == '-' && i == 0)))
        .map_or(text.len(), |(i, _)| i);
    text[..end]
        .parse()
        .unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

/// The text between the first pair of single quotes.
fn quoted(stated: &str) -> &str {
    let start = stated.find('\'').unwrap() + 1;
    let len = stated[start..].find('\'').unwrap();
    &stated[start..start + len]
}

/// The (signal, value) pairs a capture line states, by frame.
fn expectations(line: &Line) -> Vec<(String, f64)> {
    let s = line.stated.as_str();
    let mut out = Vec::new();
    let mut put = |sig: &str, v: f64| out.push((sig.to_string(), v));
    match line.id {
        id::LIMITS => {
            for (key, sig) in [
                ("CVL", "ChargeVoltageLimit"),
                ("CCL", "ChargeCurrentLimit"),
                ("DCL", "DischargeCurrentLimit"),
                ("DVL", "DischargeVoltageLimit"),
            ] {
                put(sig, number(stated_value(s, key).unwrap()));
            }
        }
        id::SOC => {
            put("StateOfCharge", number(stated_value(s, "SOC").unwrap()));
            put("StateOfHealth", number(stated_value(s, "SOH").unwrap()));
            if let Some(v) = stated_value(s, "SOC_hires") {
                put("StateOfChargeHiRes", number(v));
            }
        }
        id::MEASUREMENTS => {
            put("BatteryVoltage", number(stated_value(s, "V").unwrap()));
            put("BatteryCurrent", number(stated_value(s, "I").unwrap()));
            put("BatteryTemperature", number(stated_value(s, "T").unwrap()));
        }
        id::PYLON_FLAGS => {
            // `flags=00 00 00 00 (none) modules=6 tag='PN'`: bytes 0–3, then count and tag.
            let after = &s[s.find("flags=").unwrap() + 6..];
            let flags: Vec<u8> = after
                .split_whitespace()
                .take(4)
                .map(|b| u8::from_str_radix(b, 16).unwrap())
                .collect();
            for (sig, byte, mask) in [
                ("ProtectionOverVoltage", 0, 0x02),
                ("ProtectionUnderVoltage", 0, 0x04),
                ("ProtectionOverTemperature", 0, 0x08),
                ("ProtectionUnderTemperature", 0, 0x10),
                ("ProtectionDischargeOverCurrent", 0, 0x80),
                ("ProtectionChargeOverCurrent", 1, 0x01),
                ("ProtectionSystemError", 1, 0x08),
                ("AlarmHighVoltage", 2, 0x02),
                ("AlarmLowVoltage", 2, 0x04),
                ("AlarmHighTemperature", 2, 0x08),
                ("AlarmLowTemperature", 2, 0x10),
                ("AlarmDischargeHighCurrent", 2, 0x80),
                ("AlarmChargeHighCurrent", 3, 0x01),
                ("AlarmInternalCommunicationFail", 3, 0x08),
            ] {
                put(sig, f64::from(u8::from(flags[byte] & mask != 0)));
            }
            put("ModuleCount", number(stated_value(s, "modules").unwrap()));
            let tag = quoted(s).as_bytes();
            put(
                "ManufacturerTag",
                f64::from(u16::from_le_bytes([tag[0], tag[1]])),
            );
        }
        id::PYLON_REQUEST => {
            let req: Vec<&str> = stated_value(s, "req").unwrap().split(',').collect();
            put(
                "ChargeEnable",
                f64::from(u8::from(req.contains(&"charge_en"))),
            );
            put(
                "DischargeEnable",
                f64::from(u8::from(req.contains(&"discharge_en"))),
            );
        }
        id::ALARMS => {
            // `b0=2|2|2|2 b1=…`: crumb j of byte b. Crumb positions without a signal are the
            // reserved ones; their stated value must be 0 or unsupported.
            for b in 0..8 {
                let crumbs: Vec<f64> = stated_value(s, &format!("b{b}"))
                    .unwrap()
                    .split('|')
                    .map(number)
                    .collect();
                for (j, c) in crumbs.into_iter().enumerate() {
                    out.push((format!("@{}", 8 * b + 2 * j), c));
                }
            }
        }
        id::INFO => {
            let model = stated_value(s, "model/type").unwrap();
            put(
                "ProductId",
                f64::from(u16::from_str_radix(model.trim_start_matches("0x"), 16).unwrap()),
            );
            let fw = stated_value(s, "fw").unwrap();
            let (major, minor) = fw.split_once('.').unwrap();
            put("FirmwareMajor", number(major));
            put("FirmwareMinor", number(minor));
            put("Capacity", number(stated_value(s, "cap").unwrap()));
            let hw = stated_value(s, "hw").unwrap();
            put(
                "HardwareVersion",
                f64::from(u16::from_str_radix(hw.trim_start_matches("0x"), 16).unwrap()),
            );
        }
        id::MODULES => {
            let counts: Vec<f64> = stated_value(s, "online/blockChg/blockDis/offline")
                .unwrap()
                .split('/')
                .map(number)
                .collect();
            for (sig, n) in [
                "ModulesOnline",
                "ModulesBlockingCharge",
                "ModulesBlockingDischarge",
                "ModulesOffline",
            ]
            .into_iter()
            .zip(counts)
            {
                put(sig, n);
            }
        }
        id::CELL_EXTREMES => {
            put(
                "MinCellVoltage",
                number(stated_value(s, "minCell").unwrap()) / 1000.0,
            );
            put(
                "MaxCellVoltage",
                number(stated_value(s, "maxCell").unwrap()) / 1000.0,
            );
            put(
                "MinCellTemperature",
                number(stated_value(s, "minT").unwrap()),
            );
            put(
                "MaxCellTemperature",
                number(stated_value(s, "maxT").unwrap()),
            );
        }
        id::INSTALLED_CAPACITY => put(
            "InstalledCapacity",
            number(stated_value(s, "capacity").unwrap()),
        ),
        _ => {}
    }
    out
}

#[test]
fn real_captures_decode_through_the_dbc_to_the_stated_values() {
    let dbc = load();
    let mut checked = 0;
    let mut not_ours = BTreeSet::new();
    for (file, lines) in captures() {
        for line in lines {
            let ctx = format!("{file}: 0x{:X} {}", line.id, line.stated);
            let Some(m) = message(&dbc, line.id) else {
                not_ours.insert(line.id);
                continue;
            };
            if s_is_text(m) {
                assert_eq!(
                    text(m, &line.data),
                    quoted(&line.stated).trim_end_matches('\0'),
                    "{ctx}"
                );
                checked += 1;
                continue;
            }
            let want = expectations(&line);
            if line.id == id::INVERTER_KEEP_ALIVE {
                assert!(line.data.iter().all(|&b| b == 0), "{ctx}");
                continue;
            }
            assert!(!want.is_empty(), "{ctx}: nothing stated to check");
            for (sig, v) in want {
                let got = if let Some(bit) = sig.strip_prefix('@') {
                    // A crumb by position: the signal there, if any.
                    let bit: u64 = bit.parse().unwrap();
                    match m.signals.iter().find(|s| s.start_bit == bit && s.size == 2) {
                        Some(s) => raw(s, &line.data).unwrap() as f64,
                        None => {
                            // Reserved: not a DBC signal. The stated value is what the
                            // battery sent there; nothing to decode.
                            continue;
                        }
                    }
                } else {
                    match dbc_support::physical(signal(m, &sig), &line.data) {
                        Some(v) => v,
                        None => panic!("{ctx}: {sig} beyond DLC {}", line.data.len()),
                    }
                };
                assert!((got - v).abs() < 1e-6, "{ctx}: {sig} = {got}, stated {v}");
                checked += 1;
            }
            if line.id == id::ALARMS {
                check_stated_active(m, &line, &ctx);
            }
        }
    }
    // The three captures hold 0x307 (inverter id), 0x360 (force charge) and 0x378 (energy):
    // frames busbar neither sends nor describes.
    assert_eq!(not_ours, BTreeSet::from([0x307, 0x360, 0x378]));
    assert!(checked >= 100, "only {checked} values checked");
}

fn s_is_text(m: &Message) -> bool {
    m.signals.iter().all(|s| s.name.contains("Char")) && !m.signals.is_empty()
}

/// `active: none` or `active: low voltage alarm ACTIVE, high voltage warn ACTIVE`: exactly
/// those DBC signals decode to 1 (Active).
fn check_stated_active(m: &Message, line: &Line, ctx: &str) {
    let stated = &line.stated[line.stated.find("active:").unwrap() + 7..];
    let mut want = BTreeSet::new();
    if stated.trim() != "none" {
        for item in stated.split(',') {
            let item = item.trim().trim_end_matches(" ACTIVE");
            let (field, half) = item.rsplit_once(' ').unwrap();
            let half = match half {
                "alarm" => "Alarm",
                "warn" => "Warning",
                other => panic!("{ctx}: {other}"),
            };
            let camel: String = field
                .split(' ')
                .map(|w| w[..1].to_uppercase() + &w[1..])
                .collect();
            want.insert(format!("{half}_{camel}"));
        }
    }
    let got: BTreeSet<String> = m
        .signals
        .iter()
        .filter(|s| raw(s, &line.data) == Some(1))
        .map(|s| s.name.clone())
        .collect();
    assert_eq!(got, want, "{ctx}");
}
