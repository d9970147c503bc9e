//! Shared builders for the battery core's integration tests: the seed set-up and pack readings.
#![allow(dead_code)] // each test file uses its own part

use std::time::{Duration, Instant};

use busbar::battery::{BatterySettings, ControlConfig, LimitsConfig, PackSettings};
use busbar::pack::PackSnapshot;

/// The seed set-up (DESIGN.md, config/busbar.example.toml): 5 packs 16S, 60 A / 70 A each,
/// system caps 300 / 350 A, offline after 3 s.
pub fn seed() -> BatterySettings {
    settings(5, 16, 60, 70)
}

pub fn settings(packs: usize, cells: usize, charge_a: u32, discharge_a: u32) -> BatterySettings {
    BatterySettings {
        cells,
        charge_voltage_mv: 3450,
        float_voltage_mv: 3375,
        discharge_voltage_mv: 2900,
        max_charge_current_ma: 300_000,
        max_discharge_current_ma: 350_000,
        offline_after: Duration::from_secs(3),
        packs: (1..=packs)
            .map(|i| PackSettings {
                name: format!("pack{i}"),
                max_charge_current_ma: charge_a * 1000,
                max_discharge_current_ma: discharge_a * 1000,
            })
            .collect(),
        limits: LimitsConfig::default(),
        control: ControlConfig::default(),
    }
}

/// A healthy 16S pack at rest: every cell at `cell_mv`, SOC 50 %, T1/T2 20/21 °C, MOSFETs on,
/// 280 Ah.
pub fn pack(cell_mv: u16) -> PackSnapshot {
    pack_of(16, cell_mv)
}

pub fn pack_of(cells: usize, cell_mv: u16) -> PackSnapshot {
    let mut p = PackSnapshot {
        cell_voltages_mv: std::iter::repeat_n(cell_mv, cells).collect(),
        temperatures_dc: [200, 210].into_iter().collect(),
        mos_temperature_dc: Some(250),
        soc_pct: 50,
        capacity_ah: 280.0,
        charge_mosfet: true,
        discharge_mosfet: true,
        ..PackSnapshot::default()
    };
    p.voltage_mv = p.cell_sum_mv();
    p
}

/// `p` with cell `cell` (1-based) at `mv`, the pack voltage kept consistent.
pub fn with_cell(mut p: PackSnapshot, cell: usize, mv: u16) -> PackSnapshot {
    p.cell_voltages_mv[cell - 1] = mv;
    p.voltage_mv = p.cell_sum_mv();
    p
}

/// Seconds after `t0`.
pub fn at(t0: Instant, seconds: f64) -> Instant {
    t0 + Duration::from_secs_f64(seconds)
}
