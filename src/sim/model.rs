//! A simulated 16S LiFePO4 pack: what its BMS would report at a given time. Pure and
//! deterministic: the same pack number and time give the same reading, so tests can predict
//! values and the simulator needs no clock of its own.
//!
//! The model is deliberately simple but shaped like the real thing: a LiFePO4 open-circuit
//! voltage curve (flat between 20 % and 90 % SOC, steep at both ends), an internal resistance,
//! a fixed per-cell offset that widens near the top knee (where imbalance shows), a slow current
//! cycle that each pack shares a little differently, and temperatures that follow the current.

use std::f64::consts::TAU;
use std::time::Duration;

use crate::pack::{Alarms, PackSnapshot, ShortText};

/// LiFePO4 rested cell voltage (mV) by SOC (%), typical of EVE LF280K datasheet curves.
const LFP_OCV: [(f64, f64); 13] = [
    (0.0, 2800.0),
    (5.0, 3100.0),
    (10.0, 3200.0),
    (20.0, 3250.0),
    (30.0, 3275.0),
    (40.0, 3290.0),
    (50.0, 3300.0),
    (60.0, 3310.0),
    (70.0, 3320.0),
    (80.0, 3330.0),
    (90.0, 3345.0),
    (95.0, 3380.0),
    (100.0, 3450.0),
];

/// Per-cell internal resistance incl. busbars, in mΩ (LF280K ≈ 0.25 mΩ AC; DC and
/// connections roughly double it).
const CELL_RESISTANCE_MOHM: f64 = 0.5;

/// Period of the simulated charge/discharge cycle: long enough to look like a day compressed,
/// short enough that a demo shows movement within minutes.
const CYCLE: Duration = Duration::from_secs(20 * 60);

/// Faults a test or the demo can switch on for one pack.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Faults {
    /// Do not answer at all (a dead link).
    pub silent: bool,
    /// Answer with a wrong checksum (never trusted).
    pub bad_checksum: bool,
    /// Send garbage bytes before each reply (must still be read).
    pub garbage: bool,
    /// Charge MOSFET open.
    pub charge_mosfet_off: bool,
    /// Discharge MOSFET open.
    pub discharge_mosfet_off: bool,
    /// Force one cell (1-based) to a voltage in mV.
    pub cell_override: Option<(usize, u16)>,
    /// Force every battery temperature sensor to this value in °C.
    pub temperature_override: Option<i16>,
}

/// One simulated pack.
#[derive(Clone, Debug, PartialEq)]
pub struct SimPack {
    pub cells: usize,
    pub capacity_ah: f64,
    /// SOC (%) at t = 0.
    soc0: f64,
    /// Peak current (A) of the cycle; positive half = charging.
    amplitude_a: f64,
    /// Phase of the cycle, so packs are not in lock step.
    phase: f64,
    /// Fixed per-cell offsets in mV (manufacturing spread).
    offsets_mv: Vec<f64>,
    ambient_c: f64,
    cycles: u32,
}

/// A small deterministic hash so pack N always gets the same character; no RNG dependency.
fn jitter(pack: usize, salt: u64) -> f64 {
    let mut x = (pack as u64 + 1)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(salt.wrapping_mul(0xBF58_476D_1CE4_E5B9));
    x ^= x >> 31;
    x = x.wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 29;
    // Map to [-1, 1).
    (x >> 11) as f64 / (1u64 << 52) as f64 - 1.0
}

impl SimPack {
    /// Pack number `index` (0-based) of a fleet of LF280K packs with `cells` in series.
    pub fn new(index: usize, cells: usize) -> Self {
        Self {
            cells,
            capacity_ah: 280.0,
            soc0: 55.0 + 15.0 * jitter(index, 1),
            amplitude_a: 40.0 * (1.0 + 0.08 * jitter(index, 2)),
            phase: 0.05 * jitter(index, 3),
            offsets_mv: (0..cells)
                .map(|c| 4.0 * jitter(index, 100 + c as u64))
                .collect(),
            ambient_c: 20.0 + 3.0 * jitter(index, 4),
            cycles: 40 + (index as u32 * 7) % 30,
        }
    }

    /// Current in A at time `t` (positive = charging).
    pub fn current_a(&self, t: Duration) -> f64 {
        self.amplitude_a * (TAU * (t.as_secs_f64() / CYCLE.as_secs_f64() + self.phase)).sin()
    }

    /// SOC in % at time `t`: the integral of the current, kept within 3..=99 %.
    pub fn soc_pct(&self, t: Duration) -> f64 {
        let period = CYCLE.as_secs_f64();
        let w = TAU / period;
        let p = TAU * self.phase;
        // ∫ A sin(w s + p) ds from 0 to t, in As.
        let charge_as = self.amplitude_a / w * (p.cos() - (w * t.as_secs_f64() + p).cos());
        let soc = self.soc0 + 100.0 * charge_as / 3600.0 / self.capacity_ah;
        soc.clamp(3.0, 99.0)
    }

    /// The reading the BMS gives at time `t` with `faults` applied.
    pub fn snapshot(&self, t: Duration, faults: &Faults) -> PackSnapshot {
        let current = self.current_a(t);
        let soc = self.soc_pct(t);
        let ocv = interpolate(&LFP_OCV, soc);
        // Imbalance shows at the top knee: widen the spread above 90 % SOC.
        let spread = 1.0 + ((soc - 90.0).max(0.0) / 10.0) * 4.0;
        let mut snapshot = PackSnapshot {
            soc_pct: soc.round() as u8,
            current_ma: (current * 1000.0).round() as i32,
            cycles: self.cycles,
            capacity_ah: self.capacity_ah as f32,
            remaining_capacity_ah: Some((self.capacity_ah * soc / 100.0) as f32),
            charge_mosfet: !faults.charge_mosfet_off,
            discharge_mosfet: !faults.discharge_mosfet_off,
            alarms: Alarms::empty(),
            ..PackSnapshot::default()
        };
        for (c, offset) in self.offsets_mv.iter().enumerate() {
            let mut mv = ocv + current * CELL_RESISTANCE_MOHM + offset * spread;
            if let Some((cell, forced)) = faults.cell_override {
                if cell == c + 1 {
                    mv = f64::from(forced);
                }
            }
            // The model stays within 2.5..4.0 V, so the value fits u16 and MAX_CELLS was checked
            // by the caller choosing `cells`; a failed push would only drop a cell.
            let _ = snapshot
                .cell_voltages_mv
                .push(mv.round().clamp(0.0, 65_535.0) as u16);
        }
        snapshot.voltage_mv = snapshot.cell_sum_mv();
        // BMS balances above its start voltage (3.40 V is a common LFP setting) when charging.
        let max = snapshot.max_cell().map_or(0, |(_, mv)| mv);
        let min = snapshot.min_cell().map_or(0, |(_, mv)| mv);
        snapshot.balancing = current > 0.0 && max >= 3400 && max - min >= 10;
        let heat = current.abs() / 20.0;
        let battery_c = faults
            .temperature_override
            .map_or(self.ambient_c + heat, f64::from);
        for sensor in 0..2 {
            let t_c = battery_c + 0.5 * sensor as f64;
            let _ = snapshot.temperatures_dc.push((t_c * 10.0).round() as i16);
        }
        snapshot.mos_temperature_dc = Some(((self.ambient_c + 2.0 * heat) * 10.0).round() as i16);
        if faults.cell_override.is_some_and(|(_, mv)| mv >= 3650) {
            snapshot.alarms |= Alarms::CELL_OVER_VOLTAGE;
        }
        if soc < 20.0 {
            snapshot.alarms |= Alarms::LOW_CAPACITY;
        }
        snapshot.device.software_version = text("11.XW_S11.26___");
        snapshot.device.device_id = text("busbar");
        snapshot.device.manufacturer = text("busbar simulator");
        snapshot.device.manufacture_date = text("2611");
        snapshot
    }
}

fn text(s: &str) -> ShortText {
    let mut t = ShortText::new();
    // Every literal above is shorter than ShortText's capacity.
    let _ = t.push_str(s);
    t
}

/// Piecewise-linear interpolation in a table sorted by x.
fn interpolate(table: &[(f64, f64)], x: f64) -> f64 {
    let (first, last) = (table[0], table[table.len() - 1]);
    if x <= first.0 {
        return first.1;
    }
    if x >= last.0 {
        return last.1;
    }
    table.windows(2).find(|w| x <= w[1].0).map_or(last.1, |w| {
        let ((x0, y0), (x1, y1)) = (w[0], w[1]);
        y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_are_plausible_16s_lifepo4_all_cycle_long() {
        for index in 0..8 {
            let pack = SimPack::new(index, 16);
            for minute in 0..60 {
                let s = pack.snapshot(Duration::from_secs(minute * 60), &Faults::default());
                assert_eq!(
                    s.check_plausible(16),
                    Ok(()),
                    "pack {index} minute {minute}"
                );
                let (_, max) = s.max_cell().unwrap();
                let (_, min) = s.min_cell().unwrap();
                assert!((2900..=3600).contains(&min) && max <= 3600, "{min}..{max}");
                assert!(s.current_ma.abs() <= 45_000);
                assert!(s.charge_mosfet && s.discharge_mosfet);
            }
        }
    }

    #[test]
    fn packs_differ_and_drift() {
        let a = SimPack::new(0, 16);
        let b = SimPack::new(1, 16);
        let t0 = Duration::from_secs(60);
        let t1 = Duration::from_secs(300);
        let f = Faults::default();
        assert_ne!(
            a.snapshot(t0, &f).cell_voltages_mv,
            b.snapshot(t0, &f).cell_voltages_mv
        );
        assert_ne!(a.snapshot(t0, &f).current_ma, a.snapshot(t1, &f).current_ma);
        assert_ne!(a.soc_pct(t0), a.soc_pct(t1));
    }

    #[test]
    fn soc_follows_the_current() {
        let p = SimPack::new(2, 16);
        let t = Duration::from_secs(100);
        let dt = Duration::from_secs(10);
        // Midpoint rule: exact to second order over a short step.
        let expected = p.current_a(t + dt / 2) * 10.0 / 3600.0 / p.capacity_ah * 100.0;
        let got = p.soc_pct(t + dt) - p.soc_pct(t);
        assert!(
            (got - expected).abs() < 0.01 * expected.abs() + 1e-6,
            "{got} vs {expected}"
        );
    }

    #[test]
    fn faults_show_in_the_reading() {
        let p = SimPack::new(0, 16);
        let faults = Faults {
            charge_mosfet_off: true,
            cell_override: Some((12, 3470)),
            temperature_override: Some(-3),
            ..Faults::default()
        };
        let s = p.snapshot(Duration::ZERO, &faults);
        assert!(!s.charge_mosfet && s.discharge_mosfet);
        assert_eq!(s.cell_voltages_mv[11], 3470);
        assert_eq!(s.max_cell(), Some((12, 3470)));
        assert_eq!(s.temperatures_dc[0], -30);
    }

    #[test]
    fn interpolation_is_linear_between_points_and_clamped_outside() {
        let t = [(0.0, 0.0), (10.0, 100.0)];
        assert_eq!(interpolate(&t, 5.0), 50.0);
        assert_eq!(interpolate(&t, -1.0), 0.0);
        assert_eq!(interpolate(&t, 11.0), 100.0);
    }
}
