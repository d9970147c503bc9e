//! Encoding the full CAN frame set (`busbar::can::encode_all`) from a realistic 16-pack state,
//! made by the real core: 16 packs × 16 cells, every pack online, a spread of cells,
//! temperatures and currents, one pack warning. Both profiles; the Pylon set is the largest
//! (18 frames). Goal ≤ 2 µs.
//!
//! Run: `cargo bench --bench can_encode`

use std::time::{Duration, Instant};

use busbar::battery::{
    Battery, BatterySettings, BatteryState, ControlConfig, LimitsConfig, PackSettings,
};
use busbar::can::{encode_all, encode_limits, EncoderSettings};
use busbar::config::CanProfile;
use busbar::pack::{Alarms, PackSnapshot};
use criterion::{black_box, criterion_group, criterion_main, Criterion};

const PACKS: usize = 16;
const CELLS: usize = 16;

fn settings() -> BatterySettings {
    BatterySettings {
        cells: CELLS,
        charge_voltage_mv: 3450,
        float_voltage_mv: 3375,
        discharge_voltage_mv: 2900,
        max_charge_current_ma: 800_000,
        max_discharge_current_ma: 1_000_000,
        offline_after: Duration::from_secs(3),
        packs: (0..PACKS)
            .map(|i| PackSettings {
                name: format!("pack{}", i + 1),
                max_charge_current_ma: 60_000,
                max_discharge_current_ma: 70_000,
            })
            .collect(),
        limits: LimitsConfig::default(),
        control: ControlConfig::default(),
    }
}

fn snapshot(i: usize) -> PackSnapshot {
    let mut p = PackSnapshot {
        cell_voltages_mv: (0..CELLS)
            .map(|c| 3290 + ((c * 7 + i * 13) % 40) as u16)
            .collect(),
        temperatures_dc: [180 + i as i16, 215, 199].into_iter().collect(),
        mos_temperature_dc: Some(310),
        soc_pct: 55 + (i % 10) as u8,
        capacity_ah: 280.0,
        current_ma: 8_000 - 1_000 * i as i32,
        charge_mosfet: true,
        discharge_mosfet: true,
        alarms: if i == 7 {
            Alarms::CELL_VOLTAGE_DIFFERENCE
        } else {
            Alarms::empty()
        },
        ..PackSnapshot::default()
    };
    p.voltage_mv = p.cell_sum_mv();
    p
}

fn state() -> BatteryState {
    let t0 = Instant::now();
    let mut battery = Battery::new(settings(), t0).expect("valid settings");
    for i in 0..PACKS {
        battery.accept(i, t0, snapshot(i)).expect("plausible");
    }
    battery.tick(t0).expect("every pack answered")
}

fn encode(c: &mut Criterion) {
    let state = state();
    let victron = EncoderSettings::default();
    let pylon = EncoderSettings::new(CanProfile::Pylon, "BUSBAR").expect("valid name");
    c.bench_function("encode_all victron, 16 packs", |b| {
        b.iter(|| encode_all(black_box(&state), black_box(&victron)))
    });
    c.bench_function("encode_all pylon, 16 packs", |b| {
        b.iter(|| encode_all(black_box(&state), black_box(&pylon)))
    });
    c.bench_function("encode_limits", |b| {
        b.iter(|| encode_limits(black_box(&state)))
    });
}

criterion_group!(benches, encode);
criterion_main!(benches);
