//! Properties of the JK02 codec: the scanner never panics on any bytes in any chunking, keeps
//! its buffer bounded, finds every valid frame and ACK in noise; cell info, settings and device
//! info round-trip exactly; the simulator's readings survive encode + decode.

use std::time::Duration;

use busbar::jk02::scanner::BUFFER_CAPACITY;
use busbar::jk02::{
    ack, representable_alarms, CellInfo, DeviceInfo, Event, Frame, Layout, Message, Register,
    Scanner, Settings, FRAME_LEN,
};
use busbar::pack::ShortText;
use busbar::sim::{Faults, SimPack};
use proptest::collection::vec;
use proptest::prelude::*;

/// Over-represent the protocol's special bytes so random input holds headers and Modbus starts.
fn bias(b: u8) -> u8 {
    match b {
        0..=14 => 0x55,
        15..=29 => 0xAA,
        30..=44 => 0xEB,
        45..=59 => 0x90,
        60..=74 => 0x10,
        75..=84 => 0x01,
        85..=94 => 0x16,
        other => other,
    }
}

fn wire_bytes(len: std::ops::Range<usize>) -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), len).prop_map(|v| v.into_iter().map(bias).collect())
}

#[derive(Debug, PartialEq)]
enum Seen {
    Frame(Vec<u8>),
    Message(Message),
}

fn feed(stream: &[u8], chunks: &[usize]) -> Vec<Seen> {
    let mut scanner = Scanner::new();
    let mut seen = Vec::new();
    let mut rest = stream;
    let mut sizes = chunks.iter().cycle();
    while !rest.is_empty() {
        let size = (*sizes.next().unwrap_or(&1)).clamp(1, rest.len());
        let mut chunk = &rest[..size];
        rest = &rest[size..];
        while !chunk.is_empty() {
            let taken = scanner.push(chunk);
            chunk = &chunk[taken..];
            assert!(scanner.pending() <= BUFFER_CAPACITY);
            while let Some(event) = scanner.next_event() {
                match event {
                    Ok(Event::Frame(f)) => {
                        // Whatever comes out is a valid frame and decodes without panic.
                        assert!(Frame::parse(f.bytes()).is_ok());
                        let _ = CellInfo::decode(&f, None).map(|c| c.to_snapshot());
                        let _ = Settings::decode(&f);
                        let _ = DeviceInfo::decode(&f);
                        seen.push(Seen::Frame(f.bytes().to_vec()));
                    }
                    Ok(Event::Message(m)) => seen.push(Seen::Message(m)),
                    Err(_) => {}
                }
            }
            assert!(scanner.pending() < FRAME_LEN);
        }
    }
    seen
}

fn text(s: &str) -> ShortText {
    s.try_into().unwrap_or_default()
}

prop_compose! {
    fn cell_info()(
        layout in prop_oneof![Just(Layout::Jk02_24S), Just(Layout::Jk02_32S)],
        n in 0usize..=32,
        cells in vec(any::<u16>(), 32),
        res in vec(any::<u16>(), 32),
        words in vec(any::<u32>(), 12),
        shorts in vec(any::<i16>(), 10),
        bytes in vec(any::<u8>(), 16),
    ) -> CellInfo {
        let n = n.min(layout.cell_slots());
        let is32 = layout == Layout::Jk02_32S;
        CellInfo {
            layout: Some(layout),
            counter: bytes[0],
            cells_mv: cells[..n].iter().copied().collect(),
            enabled_mask: if n == 0 { 0 } else { ((1u64 << n) - 1) as u32 },
            average_mv: shorts[0] as u16,
            delta_mv: shorts[1] as u16,
            max_cell_index: bytes[1],
            min_cell_index: bytes[2],
            resistances_mohm: res[..n].iter().copied().collect(),
            mos_temperature_dc: shorts[2],
            wire_resistance_warnings: words[0],
            voltage_mv: words[1],
            power_mw: words[2],
            current_ma: words[3] as i32,
            t1_dc: shorts[3],
            t2_dc: shorts[4],
            t3_to_t5_dc: is32.then_some([shorts[5], shorts[6], shorts[7]]),
            errors: if is32 { words[4] } else { words[4] & 0xFFFF },
            balance_current_ma: shorts[8],
            balancer_state: bytes[3],
            soc_pct: bytes[4],
            remaining_mah: words[5] as i32,
            full_capacity_mah: words[6],
            cycles: words[7],
            cycle_capacity_mah: words[8],
            soh_pct: bytes[5],
            precharge: bytes[6],
            user_alarm: shorts[9] as u16,
            runtime_s: words[9],
            charge_mosfet: bytes[7],
            discharge_mosfet: bytes[8],
            precharge_mosfet: bytes[9],
            balancer_working: bytes[10],
            sensors_present: bytes[11],
            heating: bytes[12],
            heater_current_ma: words[10] as i16,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_scanner_never_panics_on_any_bytes(
        stream in wire_bytes(0..3000),
        chunks in vec(1usize..700, 1..8),
    ) {
        feed(&stream, &chunks);
    }

    #[test]
    fn cell_info_round_trips_in_both_layouts(info in cell_info()) {
        let bytes = info.encode();
        let frame = Frame::parse(&bytes).unwrap();
        prop_assert_eq!(CellInfo::decode(&frame, info.layout).unwrap(), info);
    }

    #[test]
    fn settings_and_device_info_round_trip(words in vec(any::<u32>(), 28), t in vec(any::<i32>(), 8), addr in any::<u8>()) {
        let s = Settings {
            smart_sleep_mv: words[0], cell_uvp_mv: words[1], cell_uvp_release_mv: words[2],
            cell_ovp_mv: words[3], cell_ovp_release_mv: words[4], balance_trigger_delta_mv: words[5],
            soc_100_mv: words[6], soc_0_mv: words[7], request_charge_mv: words[8], float_mv: words[9],
            power_off_mv: words[10], max_charge_current_ma: words[11], charge_ocp_delay_s: words[12],
            charge_ocp_recovery_s: words[13], max_discharge_current_ma: words[14],
            discharge_ocp_delay_s: words[15], discharge_ocp_recovery_s: words[16],
            scp_recovery_s: words[17], max_balance_current_ma: words[18],
            temperature_limits_dc: t.clone().try_into().unwrap(), cells: words[19],
            charge_enabled: words[20], discharge_enabled: words[21], balance_enabled: words[22],
            design_capacity_mah: words[23], scp_delay_us: words[24], balance_start_mv: words[25],
            device_address: addr,
        };
        let bytes = s.encode(words[26] as u8);
        prop_assert_eq!(Settings::decode(&Frame::parse(&bytes).unwrap()).unwrap(), s);
        let d = DeviceInfo {
            model: text(&format!("JK_PB{}", words[0] % 1000)),
            hardware_version: text("15A"),
            software_version: text(&format!("{}.{}", words[1] % 100, words[2] % 100)),
            uptime_s: words[3],
            power_on_count: words[4],
            name: text(&format!("pack {}", words[5])),
            manufacture_date: text("240101"),
            serial_number: text(&format!("{}", words[6])),
        };
        let bytes = d.encode(1);
        prop_assert_eq!(DeviceInfo::decode(&Frame::parse(&bytes).unwrap()).unwrap(), d);
    }

    /// The simulator's reading, encoded as the simulated JK-PB sends it and decoded as the bus
    /// reader does, is the same reading (alarms as far as JK02 can carry them).
    #[test]
    fn simulator_readings_round_trip(index in 0usize..16, secs in 0u64..7200, off in any::<bool>()) {
        let faults = Faults { charge_mosfet_off: off, ..Faults::default() };
        let mut p = SimPack::new(index, 16).snapshot(Duration::from_secs(secs), &faults);
        let bytes = CellInfo::from_snapshot(&p, Layout::Jk02_32S, 1).encode();
        let back = CellInfo::decode(&Frame::parse(&bytes).unwrap(), Some(Layout::Jk02_32S))
            .unwrap()
            .to_snapshot();
        p.alarms = representable_alarms(p.alarms, Layout::Jk02_32S);
        // Remaining capacity travels in whole mAh.
        p.remaining_capacity_ah = p
            .remaining_capacity_ah
            .map(|ah| ((f64::from(ah) * 1000.0).round() as i32) as f32 / 1000.0);
        p.device = Default::default();
        // JK02 always carries a balance current; the simulator's reading may have none.
        p.balance_current_ma = Some(p.balance_current_ma.unwrap_or(0));
        prop_assert_eq!(back, p);
    }

    /// Frames and ACKs interleaved with noise: every one is found, in order (noise is built
    /// from bytes that can start neither a header nor a Modbus message).
    #[test]
    fn every_frame_and_ack_in_noise_is_found(
        infos in vec(cell_info(), 1..4),
        noise in vec(vec(any::<u8>().prop_map(|b| if b == 0x55 { 0x54 } else { b }), 0..40), 4),
        chunks in vec(1usize..400, 1..6),
    ) {
        let mut stream = Vec::new();
        let mut want = Vec::new();
        for (k, info) in infos.iter().enumerate() {
            // A noise byte followed by 0x10 could start a Modbus message: break such pairs.
            let n: Vec<u8> = noise[k % 4].iter().map(|&b| if b == 0x10 { 0x11 } else { b }).collect();
            stream.extend_from_slice(&n);
            let f = info.encode();
            stream.extend_from_slice(&f);
            want.push(Seen::Frame(f.to_vec()));
            let address = (k % 15) as u8 + 1;
            stream.extend_from_slice(&ack(address, Register::CellInfo));
            want.push(Seen::Message(Message::Ack { address, register: Register::CellInfo }));
        }
        prop_assert_eq!(feed(&stream, &chunks), want);
    }
}
