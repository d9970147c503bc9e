//! The pure core: several packs in, one battery out (DESIGN.md "Shape", "Safety rules").
//!
//! No I/O, no clock, no threads: time is a parameter. The daemon hands every reading to
//! [`Battery::accept`] and calls [`Battery::tick`] at least every `can_interval` (and may call it
//! after each reading, so that a cut reaches the bus at once, DESIGN.md rule 5); whatever
//! [`BatteryState`] it returns goes on CAN and the status page.
//!
//! Units: voltages mV (u32, per battery unless named per cell), currents mA (u32 limits, i32
//! measured current, positive = charging), temperatures 0.1 °C (i16), SOC 0.01 %.
//!
//! One concern per file: [`limits_config`] and [`control_config`] (the `[limits]` and
//! `[control]` sections), [`settings`] (plain values in), `limit_table` and `hysteresis` (one
//! table and its memory), [`pack_limits`] (one pack's limits and reasons), [`fleet`] (readings,
//! online, contributions), `aggregate` (the packs folded into one battery), [`cvl`], `ramp`,
//! [`alarms`] (what blocks what, and 0x35A).

mod aggregate;
pub mod alarms;
mod config_problem;
pub mod control_config;
pub mod cvl;
pub mod describe;
pub mod fleet;
mod hysteresis;
mod limit_table;
pub mod limits_config;
pub mod pack_limits;
mod ramp;
pub mod settings;

#[cfg(test)]
mod table_row_tests;

use std::sync::Arc;
use std::time::Instant;

pub use aggregate::{CellExtreme, TemperatureExtreme, COMFORT_HIGH_DC, COMFORT_LOW_DC};
pub use alarms::{AlarmFields, Flag, VictronAlarms, CHARGE_BLOCKING, DISCHARGE_BLOCKING};
pub use config_problem::ConfigProblem;
pub use control_config::ControlConfig;
pub use cvl::{ChargePhase, CvlReason};
pub use fleet::Rejected;
pub use limits_config::{LimitsConfig, Mode};
pub use pack_limits::{LimitReason, PackLimit};
pub use settings::{BatterySettings, PackSettings};

use aggregate::Aggregator;
use alarms::AlarmInputs;
use cvl::{CvlController, CvlInputs, Penalty};
use fleet::Fleet;
use pack_limits::PackRules;
use ramp::Ramp;

use crate::pack::{Alarms, PackSnapshot};

/// State of health sent in 0x355: JK BMSs report none usable, so 100 % as every bridge does
/// (victron-can.md §3.6 "SOH fixed 100 %").
pub const SOH_PCT: u8 = 100;

/// Settings that cannot be used; every problem named by its config key.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid battery settings: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct InvalidSettings(pub Vec<ConfigProblem>);

/// What holds the system CCL (or DCL) where it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SystemLimit {
    /// Every pack gives its own max: the sum of the pack maxima.
    PackMaxima,
    /// The sum of contributions, held down most by this pack (the largest shortfall below its
    /// own max), for this reason.
    Pack { index: usize, reason: LimitReason },
    /// `battery.max_charge_current` / `max_discharge_current` is below the sum (DESIGN.md rule 3).
    SystemCap,
    /// Rising toward `target_ma` at `control.ramp_rate` (DESIGN.md rule 5).
    Rising { target_ma: u32 },
    /// The last frame set before exit (DESIGN.md rule 8).
    ShuttingDown,
}

/// How many packs are in which state (CAN 0x372).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PackCounts {
    pub online: usize,
    /// Online packs whose charge contribution is 0 (MOSFET, alarm or a rule at 0 A).
    pub blocking_charge: usize,
    pub blocking_discharge: usize,
    pub offline: usize,
}

/// One pack in the battery state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackReport {
    pub name: Arc<str>,
    pub online: bool,
    /// When its last valid reading came, if ever.
    pub last_valid: Option<Instant>,
    pub charge: PackLimit,
    pub discharge: PackLimit,
}

/// Everything the CAN encoder and the status page need after one tick.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatteryState {
    /// 0x351 CVL, mV. Never 0, never below DVL (DESIGN.md rule 4).
    pub cvl_mv: u32,
    /// 0x351 CCL, mA.
    pub ccl_ma: u32,
    /// 0x351 DCL, mA (sent as a positive number, victron-can.md §3.2).
    pub dcl_ma: u32,
    /// 0x351 DVL, mV: cells × `discharge_voltage`.
    pub dvl_mv: u32,
    pub charge_phase: ChargePhase,
    pub cvl_reason: CvlReason,
    pub charge_limit: SystemLimit,
    pub discharge_limit: SystemLimit,
    /// CVL, CCL or DCL went down in this tick: send the frame set now, without waiting for the
    /// cadence (DESIGN.md rule 5). False on the first state.
    pub lowered: bool,
    /// 0x355 SOC in 0.01 %, capacity-weighted over the online packs. With no pack online the
    /// last value is held (a jump to 0 % would invite a grid charge); `None` only if no pack has
    /// ever been heard.
    pub soc_centi_pct: Option<u16>,
    /// 0x355 SOH, %.
    pub soh_pct: u8,
    /// 0x356 voltage, mV: the mean of the online packs. With no pack online, the CVL sent: under
    /// DVCC shared voltage sense the chargers regulate to CVL on this voltage, and a battery
    /// already "at" CVL makes none of them push current into packs nobody hears (victron-can.md
    /// §3.7: with DC-coupled feed-in only CVL limits them). Never 0 (DESIGN.md rule 6).
    pub voltage_mv: u32,
    /// 0x356 current, mA, positive = charging: the sum of the online packs (0 with none).
    pub current_ma: i32,
    /// 0x356 temperature, 0.1 °C: the online sensor furthest outside [`COMFORT_LOW_DC`]..
    /// [`COMFORT_HIGH_DC`] (inside it, the highest). `None` with no sensor online.
    pub temperature_dc: Option<i16>,
    /// 0x35A.
    pub alarms: VictronAlarms,
    /// 0x373–0x375, over the online packs.
    pub min_cell: Option<CellExtreme>,
    pub max_cell: Option<CellExtreme>,
    /// 0x373, 0x376, 0x377, over the online packs' sensors T1..Tn.
    pub min_temperature: Option<TemperatureExtreme>,
    pub max_temperature: Option<TemperatureExtreme>,
    /// 0x372.
    pub counts: PackCounts,
    /// 0x379: the online packs' nominal capacity, Ah.
    pub installed_capacity_ah: u32,
    /// Config order.
    pub packs: Vec<PackReport>,
}

impl BatteryState {
    /// SOC in whole % (0x355 bytes 0–1), rounded to the nearest.
    pub fn soc_pct(&self) -> Option<u8> {
        self.soc_centi_pct
            .map(|c| u8::try_from((u32::from(c) + 50) / 100).unwrap_or(100))
    }
}

/// The virtual battery.
#[derive(Clone, Debug)]
pub struct Battery {
    settings: BatterySettings,
    names: Vec<Arc<str>>,
    rules: PackRules,
    fleet: Fleet,
    cvl: CvlController,
    ccl: Ramp,
    dcl: Ramp,
    started: Instant,
    ready: bool,
    last_soc: Option<u16>,
    /// (CVL, CCL, DCL) of the last state returned.
    last_sent: Option<(u32, u32, u32)>,
}

impl Battery {
    /// A battery of `settings.packs`, started at `now` (DESIGN.md rule 6 counts from here).
    pub fn new(settings: BatterySettings, now: Instant) -> Result<Self, InvalidSettings> {
        settings.validate().map_err(InvalidSettings)?;
        let control = &settings.control;
        // A/s → mA/s; validation keeps the rate positive and finite.
        let current_rate = (control.ramp_rate * 1000.0).round().max(1.0) as u64;
        Ok(Self {
            names: settings
                .packs
                .iter()
                .map(|p| Arc::from(p.name.as_str()))
                .collect(),
            rules: PackRules::new(&settings.limits, control),
            fleet: Fleet::new(settings.packs.len(), settings.cells, settings.offline_after),
            cvl: CvlController::new(&settings),
            ccl: Ramp::new(current_rate),
            dcl: Ramp::new(current_rate),
            started: now,
            ready: false,
            last_soc: None,
            last_sent: None,
            settings,
        })
    }

    pub fn settings(&self) -> &BatterySettings {
        &self.settings
    }

    /// Hand in a reading of pack `pack` (config index) received at `now`. Only a plausible one
    /// refreshes the pack (DESIGN.md rule 1).
    pub fn accept(
        &mut self,
        pack: usize,
        now: Instant,
        snapshot: PackSnapshot,
    ) -> Result<(), Rejected> {
        self.fleet.accept(pack, now, snapshot)
    }

    /// The last valid reading of `pack` and when it came, online or not (status page).
    pub fn last_reading(&self, pack: usize) -> Option<(&PackSnapshot, Instant)> {
        self.fleet.reading(pack).map(|r| (&r.snapshot, r.received))
    }

    /// Whether `pack` is online at `now` (DESIGN.md rule 1).
    pub fn is_online(&self, pack: usize, now: Instant) -> bool {
        self.fleet.online_reading(pack, now).is_some()
    }

    /// The battery at `now`. `None` until every pack has answered once or `offline_after` has
    /// passed since start (DESIGN.md rule 6): send nothing until then.
    pub fn tick(&mut self, now: Instant) -> Option<BatteryState> {
        if !self.ready {
            let waited = now.saturating_duration_since(self.started);
            if !(self.fleet.all_answered() || waited >= self.settings.offline_after) {
                return None;
            }
            self.ready = true;
        }

        let count = self.settings.packs.len();
        let mut packs = Vec::with_capacity(count);
        let mut aggregator = Aggregator::default();
        let mut counts = PackCounts::default();
        let mut active = Alarms::empty();
        let mut penalty: Option<Penalty> = None;
        let mut charge = Sum::default();
        let mut discharge = Sum::default();

        for index in 0..count {
            let pack = &self.settings.packs[index];
            let eval = self.fleet.evaluate(index, now, &self.rules, pack);
            let reading = self.fleet.online_reading(index, now);
            if let (Some(seen), Some(reading)) = (eval.seen, reading) {
                let snapshot = &reading.snapshot;
                counts.online += 1;
                counts.blocking_charge += usize::from(eval.charge.current_ma == 0);
                counts.blocking_discharge += usize::from(eval.discharge.current_ma == 0);
                active |= snapshot.alarms;
                aggregator.add(index, snapshot, &seen);
                if let Some(p) = Penalty::of_pack(index, &seen) {
                    if penalty.is_none_or(|q| p.cvl_mv < q.cvl_mv) {
                        penalty = Some(p);
                    }
                }
            } else {
                counts.offline += 1;
            }
            charge.add(index, eval.charge, pack.max_charge_current_ma);
            discharge.add(index, eval.discharge, pack.max_discharge_current_ma);
            packs.push(PackReport {
                name: Arc::clone(&self.names[index]),
                online: eval.online,
                last_valid: self.fleet.reading(index).map(|r| r.received),
                charge: eval.charge,
                discharge: eval.discharge,
            });
        }

        let measured = aggregator.finish();
        let cvl = self.cvl.update(
            now,
            measured
                .map(|m| CvlInputs {
                    max_cell_mv: m.max_cell.mv,
                    voltage_mv: m.voltage_mv,
                    // Rounded down, so re-bulk happens no later than the threshold.
                    soc_pct: u8::try_from(m.soc_centi_pct / 100).unwrap_or(100),
                    penalty,
                })
                .as_ref(),
        );

        // DESIGN.md rule 3: min(sum, cap); rule 5: cut at once, rise slowly.
        let (ccl_ma, charge_limit) =
            charge.system(self.settings.max_charge_current_ma, &mut self.ccl, now);
        let (dcl_ma, discharge_limit) =
            discharge.system(self.settings.max_discharge_current_ma, &mut self.dcl, now);

        let alarms = VictronAlarms::evaluate(&AlarmInputs {
            active,
            charge_impossible: charge.total == 0,
            discharge_impossible: discharge.total == 0,
            online: counts.online,
            offline: counts.offline,
        });

        if let Some(m) = measured {
            self.last_soc = Some(m.soc_centi_pct);
        }
        let lowered = self.last_sent.is_some_and(|(cvl_was, ccl_was, dcl_was)| {
            cvl.cvl_mv < cvl_was || ccl_ma < ccl_was || dcl_ma < dcl_was
        });
        self.last_sent = Some((cvl.cvl_mv, ccl_ma, dcl_ma));

        Some(BatteryState {
            cvl_mv: cvl.cvl_mv,
            ccl_ma,
            dcl_ma,
            dvl_mv: self.settings.dvl_mv(),
            charge_phase: cvl.phase,
            cvl_reason: cvl.reason,
            charge_limit,
            discharge_limit,
            lowered,
            soc_centi_pct: self.last_soc,
            soh_pct: SOH_PCT,
            voltage_mv: measured.map_or(cvl.cvl_mv, |m| m.voltage_mv),
            current_ma: measured.map_or(0, |m| m.current_ma),
            temperature_dc: measured.and_then(|m| m.temperature_dc),
            alarms,
            min_cell: measured.map(|m| m.min_cell),
            max_cell: measured.map(|m| m.max_cell),
            min_temperature: measured.and_then(|m| m.min_temperature),
            max_temperature: measured.and_then(|m| m.max_temperature),
            counts,
            installed_capacity_ah: measured.map_or(0, |m| m.installed_capacity_ah),
            packs,
        })
    }

    /// The last frame set before exit: the state at `now` with CCL = DCL = 0 (DESIGN.md rule 8).
    /// `None` if nothing was ever sent (DESIGN.md rule 6: then there is nothing to withdraw).
    /// Ticking on afterwards ramps up from 0 again.
    pub fn shutdown_state(&mut self, now: Instant) -> Option<BatteryState> {
        let mut state = self.tick(now)?;
        state.lowered = state.ccl_ma > 0 || state.dcl_ma > 0 || state.lowered;
        state.ccl_ma = 0;
        state.dcl_ma = 0;
        state.charge_limit = SystemLimit::ShuttingDown;
        state.discharge_limit = SystemLimit::ShuttingDown;
        self.ccl.set(0, now);
        self.dcl.set(0, now);
        self.last_sent = Some((state.cvl_mv, 0, 0));
        Some(state)
    }
}

/// The sum of one direction's contributions, and which pack holds it down most.
#[derive(Clone, Copy, Debug, Default)]
struct Sum {
    total: u64,
    /// (shortfall below the pack's own max, pack index, reason) of the pack giving up most.
    worst: Option<(u32, usize, LimitReason)>,
}

impl Sum {
    fn add(&mut self, index: usize, limit: PackLimit, max_ma: u32) {
        self.total += u64::from(limit.current_ma);
        let shortfall = max_ma.saturating_sub(limit.current_ma);
        if shortfall > 0 && self.worst.is_none_or(|(w, _, _)| shortfall > w) {
            self.worst = Some((shortfall, index, limit.reason));
        }
    }

    /// System limit = min(sum, cap), through the ramp; and what holds it there.
    fn system(&self, cap_ma: u32, ramp: &mut Ramp, now: Instant) -> (u32, SystemLimit) {
        let target = u32::try_from(self.total.min(u64::from(cap_ma))).unwrap_or(cap_ma);
        let value = ramp.step(target, now);
        let limit = if value < target {
            SystemLimit::Rising { target_ma: target }
        } else if u64::from(cap_ma) < self.total {
            SystemLimit::SystemCap
        } else {
            match self.worst {
                Some((_, index, reason)) => SystemLimit::Pack { index, reason },
                None => SystemLimit::PackMaxima,
            }
        };
        (value, limit)
    }
}
