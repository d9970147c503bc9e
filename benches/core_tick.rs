//! One `Battery::tick` for 16 packs × 32 cells (`PackSnapshot` holds up to 32 cells), every pack
//! online and every rule enabled. Goal ≤ 5 µs.
//!
//! Run: `cargo bench --bench core_tick`

use std::time::{Duration, Instant};

use busbar::battery::{Battery, BatterySettings, ControlConfig, LimitsConfig, PackSettings};
use busbar::pack::{PackSnapshot, MAX_CELLS};
use criterion::{black_box, criterion_group, criterion_main, Criterion};

const PACKS: usize = 16;

fn settings() -> BatterySettings {
    BatterySettings {
        cells: MAX_CELLS,
        charge_voltage_mv: 3450,
        float_voltage_mv: 3375,
        discharge_voltage_mv: 2900,
        max_charge_current_ma: 1_000_000,
        max_discharge_current_ma: 1_000_000,
        offline_after: Duration::from_secs(3),
        packs: (0..PACKS)
            .map(|i| PackSettings {
                name: format!("pack{i}"),
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
        // A spread of cells so that the extremes move around the packs.
        cell_voltages_mv: (0..MAX_CELLS)
            .map(|c| 3300 + ((c * 7 + i * 13) % 40) as u16)
            .collect(),
        temperatures_dc: [200, 210, 190, 205].into_iter().collect(),
        mos_temperature_dc: Some(300),
        soc_pct: 60,
        capacity_ah: 280.0,
        current_ma: 10_000,
        charge_mosfet: true,
        discharge_mosfet: true,
        ..PackSnapshot::default()
    };
    p.voltage_mv = p.cell_sum_mv();
    p
}

fn tick(c: &mut Criterion) {
    let t0 = Instant::now();
    let mut battery = Battery::new(settings(), t0).expect("valid settings");
    for i in 0..PACKS {
        battery.accept(i, t0, snapshot(i)).expect("plausible");
    }
    let mut now = t0;
    c.bench_function("tick 16 packs x 32 cells", |b| {
        b.iter(|| {
            // Stay within offline_after of the readings: every pack online on every tick.
            now += Duration::from_nanos(1);
            black_box(battery.tick(black_box(now)))
        })
    });
}

criterion_group!(benches, tick);
criterion_main!(benches);
