//! The decoder is the exact inverse of the encoder: any battery state, encoded and written as
//! candump text (any of the three forms), decodes to the state's values as the encoder's
//! documented rounding and clamping leave them; and the decoded values, encoded again, give
//! the same bytes. Garbage never panics.

use busbar::battery::{
    AlarmFields, BatteryState, CellExtreme, ChargePhase, CvlReason, Flag, PackCounts, SystemLimit,
    TemperatureExtreme, VictronAlarms,
};
use busbar::can::decode::{Crumb, DecodedBattery, Decoder};
use busbar::can::{encode_all, CanFrame, EncoderSettings, Firmware, FrameSet};
use busbar::config::CanProfile;
use proptest::option;
use proptest::prelude::*;

fn flag() -> impl Strategy<Value = Flag> {
    prop_oneof![Just(Flag::Unsupported), Just(Flag::Ok), Just(Flag::Active)]
}

fn fields() -> impl Strategy<Value = AlarmFields> {
    proptest::collection::vec(flag(), 13).prop_map(|f| fields_from(&f))
}

/// The 13 fields of one 0x35A half in table order (victron-can.md §3.4, reserved bits left out).
fn fields_from(f: &[Flag]) -> AlarmFields {
    AlarmFields {
        general: f[0],
        high_voltage: f[1],
        low_voltage: f[2],
        high_temperature: f[3],
        low_temperature: f[4],
        high_temperature_charge: f[5],
        low_temperature_charge: f[6],
        high_discharge_current: f[7],
        high_charge_current: f[8],
        contactor: f[9],
        short_circuit: f[10],
        bms_internal: f[11],
        cell_imbalance: f[12],
    }
}

fn flags_of(f: &AlarmFields) -> [Flag; 13] {
    [
        f.general,
        f.high_voltage,
        f.low_voltage,
        f.high_temperature,
        f.low_temperature,
        f.high_temperature_charge,
        f.low_temperature_charge,
        f.high_discharge_current,
        f.high_charge_current,
        f.contactor,
        f.short_circuit,
        f.bms_internal,
        f.cell_imbalance,
    ]
}

fn cell() -> impl Strategy<Value = CellExtreme> {
    // Packs past 9999 do not fit the 8-byte id; cells 1..=40; a plausible cell is never 0 mV.
    (0usize..12_000, 1usize..=40, 1u16..=u16::MAX).prop_map(|(pack, cell, mv)| CellExtreme {
        pack,
        cell,
        mv,
    })
}

fn sensor() -> impl Strategy<Value = TemperatureExtreme> {
    (0usize..12_000, 1usize..=8, any::<i16>()).prop_map(|(pack, sensor, dc)| TemperatureExtreme {
        pack,
        sensor,
        dc,
    })
}

fn counts() -> impl Strategy<Value = PackCounts> {
    let n = prop_oneof![0usize..20, 0usize..100_000];
    (n.clone(), n.clone(), n.clone(), n).prop_map(|(a, b, c, d)| PackCounts {
        online: a,
        blocking_charge: b,
        blocking_discharge: c,
        offline: d,
    })
}

prop_compose! {
    fn limits()(
        cvl_mv in prop_oneof![40_000u32..70_000, 100u32..8_000_000],
        ccl_ma in prop_oneof![0u32..400_000, any::<u32>()],
        dcl_ma in prop_oneof![0u32..400_000, any::<u32>()],
        dvl_mv in prop_oneof![40_000u32..70_000, any::<u32>()],
    ) -> (u32, u32, u32, u32) {
        (cvl_mv, ccl_ma, dcl_ma, dvl_mv)
    }
}

prop_compose! {
    fn state()(
        (cvl_mv, ccl_ma, dcl_ma, dvl_mv) in limits(),
        soc_centi_pct in option::of(prop_oneof![0u16..=10_000, any::<u16>()]),
        soh_pct in any::<u8>(),
        voltage_mv in prop_oneof![40_000u32..70_000, 5u32..=u32::MAX],
        current_ma in prop_oneof![-400_000i32..400_000, any::<i32>()],
        temperature_dc in option::of(any::<i16>()),
        alarms in fields(),
        warnings in fields(),
        min_cell in option::of(cell()),
        max_cell in option::of(cell()),
        min_temperature in option::of(sensor()),
        max_temperature in option::of(sensor()),
        counts in counts(),
        installed_capacity_ah in prop_oneof![0u32..5_000, any::<u32>()],
    ) -> BatteryState {
        BatteryState {
            cvl_mv,
            ccl_ma,
            dcl_ma,
            dvl_mv,
            charge_phase: ChargePhase::Absorption,
            cvl_reason: CvlReason::Phase,
            charge_limit: SystemLimit::PackMaxima,
            discharge_limit: SystemLimit::PackMaxima,
            lowered: false,
            soc_centi_pct,
            soh_pct,
            voltage_mv,
            current_ma,
            temperature_dc,
            alarms: VictronAlarms { alarms, warnings },
            min_cell,
            max_cell,
            min_temperature,
            max_temperature,
            counts,
            installed_capacity_ah,
            packs: Vec::new(),
        }
    }
}

fn settings() -> impl Strategy<Value = EncoderSettings> {
    (
        prop_oneof![Just(CanProfile::Victron), Just(CanProfile::Pylon)],
        "[A-Za-z0-9 _-]{1,8}",
        any::<u8>(),
        any::<u8>(),
    )
        .prop_filter_map("brand name", |(profile, name, major, minor)| {
            EncoderSettings::new(profile, &name)
                .ok()
                .map(|s| s.with_firmware(Firmware { major, minor }))
        })
}

/// One frame as a line of text, in the form `form` picks.
fn line(frame: &CanFrame, form: u8, n: usize) -> String {
    match form % 3 {
        0 => format!("(1700000000.{n:06}) can1 {frame}"),
        1 => {
            let bytes: Vec<String> = frame.data().iter().map(|b| format!("{b:02X}")).collect();
            format!(
                "  can1  {:03X}   [{}]  {}",
                frame.id(),
                frame.len(),
                bytes.join(" ")
            )
        }
        _ => frame.to_string(),
    }
}

fn decode(set: &FrameSet, forms: &[u8]) -> Decoder {
    let mut decoder = Decoder::default();
    for (n, frame) in set.iter().enumerate() {
        let form = forms.get(n).copied().unwrap_or(0);
        assert_eq!(decoder.feed_line(&line(frame, form, n)), Some(frame.id()));
    }
    assert_eq!(decoder.stats.decoded, set.len() as u64);
    decoder
}

fn crumb(flag: Flag) -> Crumb {
    match flag {
        Flag::Unsupported => Crumb::Unsupported,
        Flag::Ok => Crumb::Ok,
        Flag::Active => Crumb::Active,
    }
}

fn cell_id(c: &CellExtreme) -> String {
    let id = format!("P{}C{:02}", c.pack + 1, c.cell);
    if id.len() <= 8 {
        id
    } else {
        String::new()
    }
}

fn sensor_id(t: &TemperatureExtreme) -> String {
    let id = format!("P{}T{}", t.pack + 1, t.sensor);
    if id.len() <= 8 {
        id
    } else {
        String::new()
    }
}

fn sat16(n: u64) -> u16 {
    u16::try_from(n).unwrap_or(u16::MAX)
}

/// The decoded values equal the state's, as the encoder's table (src/can/encode.rs) says it
/// rounds and clamps them.
fn check_values(state: &BatteryState, settings: &EncoderSettings, b: &DecodedBattery) {
    let l = b.limits.unwrap();
    let cvl = (state.cvl_mv / 100).min(65_535);
    assert_eq!(l.cvl_mv, cvl * 100);
    assert_eq!(
        l.ccl_ma,
        i32::try_from((state.ccl_ma / 100).min(32_767) * 100).unwrap()
    );
    assert_eq!(
        l.dcl_ma,
        i32::try_from((state.dcl_ma / 100).min(32_767) * 100).unwrap()
    );
    assert_eq!(
        l.dvl_mv,
        state.dvl_mv.div_ceil(100).min(65_535).min(cvl) * 100
    );

    match state.soc_centi_pct {
        None => assert_eq!(b.soc, None),
        Some(c) => {
            let s = b.soc.unwrap();
            let c = c.min(10_000);
            assert_eq!(s.soc_centi_pct, Some(c));
            assert_eq!(s.soc_pct, (c + 50) / 100);
            assert_eq!(s.soh_pct, u16::from(state.soh_pct.min(100)));
        }
    }

    let m = b.measurements.unwrap();
    let v = u64::from(state.voltage_mv);
    assert_eq!(
        m.voltage_mv,
        i32::from(sat16((v + 5) / 10).min(32_767) as i16) * 10
    );
    let i = i64::from(state.current_ma);
    let tenths = if i >= 0 {
        (i + 50) / 100
    } else {
        (i - 50) / 100
    };
    assert_eq!(i64::from(m.current_ma), tenths.clamp(-32_768, 32_767) * 100);
    assert_eq!(m.temperature_dc, state.temperature_dc.map(|t| t.max(-2729)));

    let a = b.alarms.unwrap();
    for (i, flag) in flags_of(&state.alarms.alarms).into_iter().enumerate() {
        assert_eq!(a.alarm(i), crumb(flag), "alarm {i}");
    }
    for (i, flag) in flags_of(&state.alarms.warnings).into_iter().enumerate() {
        assert_eq!(a.warning(i), crumb(flag), "warning {i}");
    }

    let name = settings.name();
    assert_eq!(
        b.name.unwrap().bytes(),
        &name[..name.iter().position(|&c| c == 0).unwrap_or(8)]
    );
    assert_eq!(
        b.bms_name().unwrap(),
        format!("busbar {}", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(b.product_family.unwrap().to_string(), "BUSBAR");
    let info = b.info.unwrap();
    assert_eq!(info.firmware, settings.firmware());
    assert_eq!(info.capacity_ah, sat16(state.installed_capacity_ah.into()));
    assert_eq!(b.installed_capacity_ah, Some(info.capacity_ah));

    let md = b.modules.unwrap();
    let c = state.counts;
    assert_eq!(
        [
            md.online,
            md.blocking_charge,
            md.blocking_discharge,
            md.offline
        ],
        [c.online, c.blocking_charge, c.blocking_discharge, c.offline].map(|n| sat16(n as u64))
    );

    let cells = b.cells.unwrap();
    assert_eq!(cells.min_cell_mv, state.min_cell.map(|c| c.mv));
    assert_eq!(cells.max_cell_mv, state.max_cell.map(|c| c.mv));
    for (k, t) in [
        (cells.min_temperature_k, state.min_temperature),
        (cells.max_temperature_k, state.max_temperature),
    ] {
        match t {
            None => assert_eq!(k, None),
            Some(t) => {
                let k = f64::from(k.unwrap());
                let want = (f64::from(t.dc) / 10.0 + 273.0).max(1.0);
                assert!((k - want).abs() <= 0.5, "{k} K for {} °C", t.dc);
            }
        }
    }
    let text = |t: Option<busbar::can::decode::Text>| t.unwrap().to_string();
    assert_eq!(
        text(b.min_cell_id),
        state.min_cell.as_ref().map(cell_id).unwrap_or_default()
    );
    assert_eq!(
        text(b.max_cell_id),
        state.max_cell.as_ref().map(cell_id).unwrap_or_default()
    );
    assert_eq!(
        text(b.min_temperature_id),
        state
            .min_temperature
            .as_ref()
            .map(sensor_id)
            .unwrap_or_default()
    );
    assert_eq!(
        text(b.max_temperature_id),
        state
            .max_temperature
            .as_ref()
            .map(sensor_id)
            .unwrap_or_default()
    );

    match settings.profile() {
        CanProfile::Victron => assert!(b.pylon_flags.is_none() && b.pylon_request.is_none()),
        CanProfile::Pylon => {
            let f = b.pylon_flags.unwrap();
            assert_eq!(usize::from(f.modules), c.online.min(255));
            assert_eq!(&f.tag, b"PN");
            let r = b.pylon_request.unwrap();
            assert_eq!(r.charge_enabled(), l.ccl_ma > 0);
            assert_eq!(r.discharge_enabled(), l.dcl_ma > 0);
            assert_eq!(r.0 & 0x3F, 0, "no force or full charge request");
        }
    }
}

/// `P12C05` → (pack index 11, cell 5); `P3T1` → (2, 1).
fn parse_id(text: &str, letter: char) -> Option<(usize, usize)> {
    let (pack, n) = text.strip_prefix('P')?.split_once(letter)?;
    Some((pack.parse::<usize>().ok()? - 1, n.parse().ok()?))
}

/// A state holding exactly what was decoded (ids that did not fit go to a pack that does not
/// fit either).
fn rebuild(b: &DecodedBattery) -> BatteryState {
    let l = b.limits.unwrap();
    let m = b.measurements.unwrap();
    let cells = b.cells.unwrap();
    let a = b.alarms.unwrap();
    let flag = |c: Crumb| match c {
        Crumb::Unsupported => Flag::Unsupported,
        Crumb::Ok => Flag::Ok,
        Crumb::Active => Flag::Active,
    };
    let half = |get: &dyn Fn(usize) -> Crumb| {
        let f: Vec<Flag> = (0..13).map(|i| flag(get(i))).collect();
        fields_from(&f)
    };
    let text = |t: Option<busbar::can::decode::Text>| t.unwrap().to_string();
    let cell = |mv: Option<u16>, id: String| {
        mv.map(|mv| {
            let (pack, cell) = parse_id(&id, 'C').unwrap_or((99_999, 1));
            CellExtreme { pack, cell, mv }
        })
    };
    let sensor = |k: Option<u16>, id: String| {
        k.map(|k| {
            let (pack, sensor) = parse_id(&id, 'T').unwrap_or((99_999, 1));
            let dc = i16::try_from((i32::from(k) - 273) * 10).unwrap_or(i16::MAX);
            TemperatureExtreme { pack, sensor, dc }
        })
    };
    let md = b.modules.unwrap();
    BatteryState {
        cvl_mv: l.cvl_mv,
        ccl_ma: u32::try_from(l.ccl_ma).unwrap(),
        dcl_ma: u32::try_from(l.dcl_ma).unwrap(),
        dvl_mv: l.dvl_mv,
        charge_phase: ChargePhase::Float,
        cvl_reason: CvlReason::NoPackOnline,
        charge_limit: SystemLimit::SystemCap,
        discharge_limit: SystemLimit::SystemCap,
        lowered: true,
        soc_centi_pct: b.soc.map(|s| s.soc_centi_pct.unwrap()),
        soh_pct: b.soc.map_or(100, |s| u8::try_from(s.soh_pct).unwrap()),
        voltage_mv: u32::try_from(m.voltage_mv).unwrap(),
        current_ma: m.current_ma,
        temperature_dc: m.temperature_dc,
        alarms: VictronAlarms {
            alarms: half(&|i| a.alarm(i)),
            warnings: half(&|i| a.warning(i)),
        },
        min_cell: cell(cells.min_cell_mv, text(b.min_cell_id)),
        max_cell: cell(cells.max_cell_mv, text(b.max_cell_id)),
        min_temperature: sensor(cells.min_temperature_k, text(b.min_temperature_id)),
        max_temperature: sensor(cells.max_temperature_k, text(b.max_temperature_id)),
        counts: PackCounts {
            online: md.online.into(),
            blocking_charge: md.blocking_charge.into(),
            blocking_discharge: md.blocking_discharge.into(),
            offline: md.offline.into(),
        },
        installed_capacity_ah: b.installed_capacity_ah.unwrap().into(),
        packs: Vec::new(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn encode_then_candump_text_then_decode_gives_the_state_back(
        state in state(),
        settings in settings(),
        forms in proptest::collection::vec(any::<u8>(), 18),
    ) {
        let set = encode_all(&state, &settings).unwrap();
        let decoder = decode(&set, &forms);
        check_values(&state, &settings, &decoder.battery);
        // Byte for byte: what was decoded encodes to the very same frames.
        let again = encode_all(&rebuild(&decoder.battery), &settings).unwrap();
        prop_assert_eq!(again, set);
    }

    #[test]
    fn any_line_is_taken_without_panic(line in ".{0,80}") {
        let mut decoder = Decoder::default();
        decoder.feed_line(&line);
        let s = decoder.stats;
        prop_assert!(s.decoded + s.unknown + s.short + s.garbage <= 1);
    }

    #[test]
    fn candump_like_lines_are_taken_without_panic(
        line in r"(\([0-9.]{0,12}\) )?(can[0-9] )?[0-9A-Fa-fx]{0,9}(#|##|  \[[0-9]{1,2}\] )[0-9A-Fa-fR. ]{0,30}"
    ) {
        let mut decoder = Decoder::default();
        decoder.feed_line(&line);
    }

    #[test]
    fn any_frame_is_taken_without_panic(id in 0u16..=0x7FF, data in proptest::collection::vec(any::<u8>(), 0..=8)) {
        let mut battery = DecodedBattery::default();
        battery.apply(&CanFrame::new(id, &data).unwrap());
        let stats = busbar::can::decode::Stats::default();
        let _ = busbar::can::report::human(&battery, &stats);
        let _ = busbar::can::report::json(&battery, &stats);
    }
}
