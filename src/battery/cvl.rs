//! The charge voltage limit (DESIGN.md rule 4): absorption, then float, lowered by a high cell,
//! never 0 and never below DVL, frozen at its last safe value while no pack is heard.
//!
//! - Absorption: CVL = cells × `charge_voltage`. The battery counts as held in absorption while
//!   the highest online cell is at or above `control.absorption_cell_voltage` or the mean pack
//!   voltage is within [`ABSORPTION_MARGIN_MV_PER_CELL`] of the absorption CVL. Time held is
//!   added up (a passing cloud pauses the count, it does not restart it); after
//!   `control.absorption_time` CVL switches to float, cells × `float_voltage`.
//! - Float → absorption when the battery SOC falls strictly below `control.rebulk_soc`; the
//!   count starts again from 0.
//! - High-cell penalty: for every online pack with cells above `control.high_cell_voltage`,
//!   a candidate CVL = that pack's cell sum − Σ (cell − limit) over its cells above the limit.
//!   That is just under the present voltage, so the chargers stop pushing while the one high
//!   cell is over the limit, and resume once it is back: the "P-controller" of
//!   dbus-serialbattery (`battery.py`, `manage_charge_voltage_linear`: `voltage_sum −
//!   penalty_sum`). It acts even where chargers ignore CCL = 0 (victron-can.md §3.7: DC-coupled
//!   PV with feed-in), before the BMS trips on cell over-voltage.
//! - CVL is never below DVL (and so never 0: DVL = cells × `discharge_voltage` > 0). Victron
//!   reads CVL 0 as over-voltage and discharges at full power (victron-can.md §3.7, §3.8).
//! - Decreases act at once; increases are rate-limited by `control.cvl_ramp_rate`.
//! - No pack online: CVL stays at its last value. Before any pack was ever heard that is the
//!   float CVL, the lower of the two: nothing known, nothing invited.

use std::time::{Duration, Instant};

use super::pack_limits::Observed;
use super::ramp::Ramp;
use super::settings::BatterySettings;

/// "Pack voltage at CVL" allows this much per cell under the absorption CVL: the BMS measures at
/// the cells, the charger regulates at its terminals, and the cables between drop a little.
/// 10 mV per cell = 0.16 V at 16S.
pub const ABSORPTION_MARGIN_MV_PER_CELL: u32 = 10;

/// Where the battery is in its charge cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChargePhase {
    Absorption,
    Float,
}

/// Why CVL is what it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CvlReason {
    /// The phase's voltage (absorption or float).
    Phase,
    /// Lowered by the high-cell penalty: pack index, its highest cell (1-based) and mV.
    HighCell { pack: usize, cell: usize, mv: u16 },
    /// Held up at DVL (a penalty would have gone lower).
    Dvl,
    /// Rising toward the target at `cvl_ramp_rate`.
    Rising { target_mv: u32 },
    /// No pack online: held at the last safe value.
    NoPackOnline,
}

/// What the CVL controller needs from the online packs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CvlInputs {
    /// Highest cell of any online pack, mV.
    pub max_cell_mv: u16,
    /// Mean voltage of the online packs, mV.
    pub voltage_mv: u32,
    /// Battery SOC, whole % (rounded down: re-bulk reacts no later than the threshold).
    pub soc_pct: u8,
    /// The lowest penalty candidate, if any pack has a cell above the limit.
    pub penalty: Option<Penalty>,
}

/// One pack's high-cell penalty candidate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Penalty {
    pub cvl_mv: u32,
    pub pack: usize,
    pub cell: usize,
    pub mv: u16,
}

impl Penalty {
    /// The candidate for one pack: its cell sum minus the excess of its cells over the limit
    /// (both found by [`Observed`]); `None` when no cell is above.
    pub(crate) fn of_pack(pack: usize, seen: &Observed) -> Option<Self> {
        let (cell, mv) = seen.high_cell;
        (seen.excess_mv > 0).then(|| Self {
            cvl_mv: seen.cell_sum_mv.saturating_sub(seen.excess_mv),
            pack,
            cell,
            mv,
        })
    }
}

/// CVL state: phase, absorption time, last safe value.
#[derive(Clone, Debug)]
pub(crate) struct CvlController {
    absorption_mv: u32,
    float_mv: u32,
    dvl_mv: u32,
    absorption_cell_mv: u16,
    absorption_voltage_mv: u32,
    absorption_time: Duration,
    rebulk_soc: u8,
    phase: ChargePhase,
    absorbed: Duration,
    last_update: Option<Instant>,
    ramp: Ramp,
    last_safe_mv: u32,
}

/// One tick's CVL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CvlOutput {
    pub cvl_mv: u32,
    pub phase: ChargePhase,
    pub reason: CvlReason,
}

impl CvlController {
    pub(crate) fn new(settings: &BatterySettings) -> Self {
        let control = &settings.control;
        let absorption_mv = settings.absorption_cvl_mv();
        let cells = u32::try_from(settings.cells).unwrap_or(u32::MAX);
        let dvl_mv = settings.dvl_mv().max(1);
        Self {
            absorption_mv,
            float_mv: settings.float_cvl_mv(),
            dvl_mv,
            absorption_cell_mv: (control.absorption_cell_voltage * 1000.0).round() as u16,
            absorption_voltage_mv: absorption_mv
                .saturating_sub(cells.saturating_mul(ABSORPTION_MARGIN_MV_PER_CELL)),
            absorption_time: control.absorption_time,
            rebulk_soc: control.rebulk_soc,
            phase: ChargePhase::Absorption,
            absorbed: Duration::ZERO,
            last_update: None,
            // V/s → mV/s; validation keeps the rate positive and finite.
            ramp: Ramp::new((control.cvl_ramp_rate * 1000.0).round().max(1.0) as u64),
            last_safe_mv: settings.float_cvl_mv().max(dvl_mv),
        }
    }

    /// The CVL for this tick. `inputs` is `None` when no pack is online.
    pub(crate) fn update(&mut self, now: Instant, inputs: Option<&CvlInputs>) -> CvlOutput {
        let elapsed = self
            .last_update
            .map_or(Duration::ZERO, |last| now.saturating_duration_since(last));
        self.last_update = Some(now);
        let Some(inputs) = inputs else {
            // Time with no pack heard does not count as absorption. The value held is what the
            // ramp rises from once packs come back.
            if self.ramp.value().is_none() {
                self.ramp.set(self.last_safe_mv, now);
            }
            return CvlOutput {
                cvl_mv: self.last_safe_mv,
                phase: self.phase,
                reason: CvlReason::NoPackOnline,
            };
        };
        match self.phase {
            ChargePhase::Absorption => {
                let held = inputs.max_cell_mv >= self.absorption_cell_mv
                    || inputs.voltage_mv >= self.absorption_voltage_mv;
                if held {
                    self.absorbed += elapsed;
                }
                if self.absorbed >= self.absorption_time {
                    self.phase = ChargePhase::Float;
                }
            }
            ChargePhase::Float => {
                if inputs.soc_pct < self.rebulk_soc {
                    self.phase = ChargePhase::Absorption;
                    self.absorbed = Duration::ZERO;
                }
            }
        }
        let base = match self.phase {
            ChargePhase::Absorption => self.absorption_mv,
            ChargePhase::Float => self.float_mv,
        };
        let (mut target, mut reason) = (base, CvlReason::Phase);
        if let Some(p) = inputs.penalty {
            if p.cvl_mv < target {
                target = p.cvl_mv;
                reason = CvlReason::HighCell {
                    pack: p.pack,
                    cell: p.cell,
                    mv: p.mv,
                };
            }
        }
        if target < self.dvl_mv {
            target = self.dvl_mv;
            reason = CvlReason::Dvl;
        }
        let cvl_mv = self.ramp.step(target, now);
        if cvl_mv < target {
            reason = CvlReason::Rising { target_mv: target };
        }
        self.last_safe_mv = cvl_mv;
        CvlOutput {
            cvl_mv,
            phase: self.phase,
            reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::battery::settings::tests::seed;
    use crate::pack::PackSnapshot;

    fn inputs(max_cell_mv: u16, soc_pct: u8) -> CvlInputs {
        CvlInputs {
            max_cell_mv,
            voltage_mv: 53_000,
            soc_pct,
            penalty: None,
        }
    }

    #[test]
    fn absorption_then_float_after_the_hold_time_then_back_below_rebulk_soc() {
        let t0 = Instant::now();
        let mut c = CvlController::new(&seed());
        assert_eq!(c.update(t0, Some(&inputs(3400, 95))).cvl_mv, 55_200);
        let mut now = t0;
        // 14 min 59 s at 3.45 V: still absorption.
        for _ in 0..(15 * 60 - 1) {
            now += Duration::from_secs(1);
            let out = c.update(now, Some(&inputs(3450, 99)));
            assert_eq!(out.phase, ChargePhase::Absorption);
        }
        now += Duration::from_secs(1);
        let out = c.update(now, Some(&inputs(3450, 100)));
        assert_eq!((out.phase, out.cvl_mv), (ChargePhase::Float, 54_000));
        // SOC 90 is not below 90: float holds.
        now += Duration::from_secs(1);
        assert_eq!(c.update(now, Some(&inputs(3300, 90))).cvl_mv, 54_000);
        now += Duration::from_secs(1);
        let out = c.update(now, Some(&inputs(3300, 89)));
        assert_eq!(out.phase, ChargePhase::Absorption);
        // Rising back to absorption at 0.05 V/s: 1 s since the last tick.
        assert_eq!(out.cvl_mv, 54_050);
        assert_eq!(out.reason, CvlReason::Rising { target_mv: 55_200 });
        now += Duration::from_secs(10);
        assert_eq!(c.update(now, Some(&inputs(3300, 89))).cvl_mv, 54_550);
    }

    #[test]
    fn absorption_time_adds_up_across_interruptions() {
        let t0 = Instant::now();
        let mut c = CvlController::new(&seed());
        c.update(t0, Some(&inputs(3450, 99)));
        let mut now = t0;
        for minute in 0..20 {
            // Each minute: 50 s held, 10 s below (a cloud).
            for s in 0..60 {
                now += Duration::from_secs(1);
                let cell = if s < 50 { 3450 } else { 3400 };
                c.update(now, Some(&inputs(cell, 99)));
            }
            if minute < 17 {
                assert_eq!(c.phase, ChargePhase::Absorption, "minute {minute}");
            }
        }
        // 18 minutes × 50 s = 15 min.
        assert_eq!(c.phase, ChargePhase::Float);
    }

    #[test]
    fn the_pack_voltage_at_cvl_also_counts_as_absorption() {
        let t0 = Instant::now();
        let mut c = CvlController::new(&seed());
        let at_cvl = CvlInputs {
            max_cell_mv: 3440,
            voltage_mv: 55_200 - 160,
            soc_pct: 99,
            penalty: None,
        };
        c.update(t0, Some(&at_cvl));
        c.update(t0 + Duration::from_secs(15 * 60), Some(&at_cvl));
        assert_eq!(c.phase, ChargePhase::Float);
    }

    #[test]
    fn penalty_is_the_cell_sum_minus_the_excess() {
        let mut cells = [3400u16; 16];
        cells[11] = 3600;
        cells[3] = 3570;
        let snapshot = |cells: &[u16]| PackSnapshot {
            cell_voltages_mv: cells.iter().copied().collect(),
            ..PackSnapshot::default()
        };
        let seen = Observed::with_penalty_limit(&snapshot(&cells), 3550);
        let p = Penalty::of_pack(2, &seen).unwrap();
        // Sum 14 × 3.40 + 3.60 + 3.57 = 54.77 V; excess 50 + 20 mV.
        assert_eq!(p.cvl_mv, 54_770 - 70);
        assert_eq!((p.pack, p.cell, p.mv), (2, 12, 3600));
        let at_limit = Observed::with_penalty_limit(&snapshot(&[3550; 16]), 3550);
        assert_eq!(Penalty::of_pack(2, &at_limit), None);
    }

    #[test]
    fn no_pack_online_holds_the_last_value_and_before_any_the_float_cvl() {
        let t0 = Instant::now();
        let mut c = CvlController::new(&seed());
        let out = c.update(t0, None);
        assert_eq!((out.cvl_mv, out.reason), (54_000, CvlReason::NoPackOnline));
        // Packs heard: CVL rises from the held float value at 0.05 V/s, not in one jump.
        let out = c.update(t0 + Duration::from_secs(1), Some(&inputs(3300, 50)));
        assert_eq!(out.cvl_mv, 54_050);
        let later = t0 + Duration::from_secs(100);
        assert_eq!(c.update(later, Some(&inputs(3300, 50))).cvl_mv, 55_200);
        assert_eq!(
            c.update(later + Duration::from_secs(9), None).cvl_mv,
            55_200
        );
    }
}
