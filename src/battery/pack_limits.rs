//! Per-pack limits (DESIGN.md "Per-pack limits"): the charge and discharge current one pack may
//! take from its own readings, the smallest enabled rule winning, with the reason.
//!
//! Which temperatures count: the battery sensors T1..Tn only. The MOSFET sensor measures the
//! BMS's power stage, which runs warm under load while the cells may be freezing; its own
//! protection is the BMS's MOSFET over-temperature alarm, which blocks the pack (`alarms.rs`).
//!
//! Gating by online state, MOSFETs and alarms (DESIGN.md rule 2) is the fleet's business
//! (`fleet.rs`); this file only applies the tables.

use std::fmt;

use super::control_config::ControlConfig;
use super::hysteresis::Backlash;
use super::limit_table::LimitTable;
use super::limits_config::{LimitsConfig, Worse};
use crate::pack::{Alarms, PackSnapshot};

/// Why a pack's contribution is what it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitReason {
    /// Nothing limits it below the pack's own max current.
    PackMax,
    /// Charge limited by the pack's highest cell (1-based cell number, mV).
    HighCell { cell: usize, mv: u16 },
    /// Discharge limited by the pack's lowest cell.
    LowCell { cell: usize, mv: u16 },
    /// Limited by the pack's SOC.
    Soc { pct: u8 },
    /// Limited by the hottest battery sensor (1-based T number, 0.1 °C).
    HighTemperature { sensor: usize, dc: i16 },
    /// Limited by the coldest battery sensor.
    LowTemperature { sensor: usize, dc: i16 },
    /// A temperature rule is enabled but the pack reports no battery sensor: what is not heard is
    /// not trusted, so 0 A.
    NoTemperatureSensor,
    /// The BMS has the charge (or discharge) MOSFET off.
    MosfetOff,
    /// The BMS reports alarms that block this direction (`alarms.rs`): the blocking ones.
    Alarm(Alarms),
    /// No valid reading younger than `offline_after` (DESIGN.md rule 1).
    Offline,
    /// The pack's own BMS is set to trip above this current (jk-pb settings frame: charge or
    /// discharge over-current protection), below what the rules allow.
    BmsLimit,
}

/// Writes mV as volts with at least two decimals: 3470 → "3.47 V", 3475 → "3.475 V".
fn write_volts(f: &mut fmt::Formatter<'_>, mv: u16) -> fmt::Result {
    let (volts, milli) = (mv / 1000, mv % 1000);
    if milli % 10 == 0 {
        write!(f, "{volts}.{:02} V", milli / 10)
    } else {
        write!(f, "{volts}.{milli:03} V")
    }
}

impl fmt::Display for LimitReason {
    /// Reads after "pack3 charge limited by ": "cell 12 at 3.47 V", "SOC 96 %", "T2 at -1.0 °C".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::PackMax => f.write_str("its own max current"),
            Self::HighCell { cell, mv } | Self::LowCell { cell, mv } => {
                write!(f, "cell {cell} at ")?;
                write_volts(f, mv)
            }
            Self::Soc { pct } => write!(f, "SOC {pct} %"),
            Self::HighTemperature { sensor, dc } | Self::LowTemperature { sensor, dc } => {
                write!(f, "T{sensor} at {:.1} °C", f64::from(dc) / 10.0)
            }
            Self::NoTemperatureSensor => f.write_str("no temperature sensor reported"),
            Self::MosfetOff => f.write_str("its MOSFET being off"),
            Self::Alarm(alarms) => {
                f.write_str("alarm ")?;
                for (i, name) in alarms.names().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    f.write_str(&name)?;
                }
                Ok(())
            }
            Self::Offline => f.write_str("being offline"),
            Self::BmsLimit => f.write_str("its BMS's own over-current protection"),
        }
    }
}

/// A pack's allowed current in one direction and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PackLimit {
    pub current_ma: u32,
    pub reason: LimitReason,
}

impl PackLimit {
    pub(crate) const fn blocked(reason: LimitReason) -> Self {
        Self {
            current_ma: 0,
            reason,
        }
    }

    /// Never more than the BMS's own over-current protection, where the BMS reports one
    /// (`Some(0)` and `None`: not reported, nothing changes). Only ever lowers the limit.
    pub(crate) fn within_bms_limit(self, bms_limit_ma: Option<u32>) -> Self {
        match bms_limit_ma {
            Some(own) if own > 0 && own < self.current_ma => Self {
                current_ma: own,
                reason: LimitReason::BmsLimit,
            },
            _ => self,
        }
    }
}

/// The values of one reading the core looks at, with where they were measured, found in one
/// pass over the cells and sensors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Observed {
    /// (1-based cell, mV); the first of equal cells is named.
    pub high_cell: (usize, u16),
    pub low_cell: (usize, u16),
    pub soc: u8,
    /// (1-based sensor, 0.1 °C); `None` without battery sensors.
    pub hottest: Option<(usize, i16)>,
    pub coldest: Option<(usize, i16)>,
    /// Sum of the cells, mV.
    pub cell_sum_mv: u32,
    /// Σ (cell − limit) over the cells above the high-cell penalty limit, mV (`cvl.rs`).
    pub excess_mv: u32,
}

impl Observed {
    /// Without a penalty limit (tests of the tables).
    #[cfg(test)]
    pub(crate) fn of(snapshot: &PackSnapshot) -> Self {
        Self::with_penalty_limit(snapshot, u16::MAX)
    }

    pub(crate) fn with_penalty_limit(snapshot: &PackSnapshot, penalty_limit_mv: u16) -> Self {
        let mut high: Option<(usize, u16)> = None;
        let mut low: Option<(usize, u16)> = None;
        let mut cell_sum_mv = 0u32;
        let mut excess_mv = 0u32;
        for (i, &mv) in snapshot.cell_voltages_mv.iter().enumerate() {
            cell_sum_mv += u32::from(mv);
            excess_mv += u32::from(mv.saturating_sub(penalty_limit_mv));
            // Strict comparisons: the first of equals stays.
            if high.is_none_or(|(_, h)| mv > h) {
                high = Some((i + 1, mv));
            }
            if low.is_none_or(|(_, l)| mv < l) {
                low = Some((i + 1, mv));
            }
        }
        let mut hottest: Option<(usize, i16)> = None;
        let mut coldest: Option<(usize, i16)> = None;
        for (i, &dc) in snapshot.temperatures_dc.iter().enumerate() {
            if hottest.is_none_or(|(_, h)| dc > h) {
                hottest = Some((i + 1, dc));
            }
            if coldest.is_none_or(|(_, c)| dc < c) {
                coldest = Some((i + 1, dc));
            }
        }
        Self {
            // A stored snapshot passed check_plausible with ≥ 1 cell, so both exist; were they
            // missing, the worst values stand in (high cell at u16::MAX, low cell at 0 mV),
            // which limit to 0 A.
            high_cell: high.unwrap_or((0, u16::MAX)),
            low_cell: low.unwrap_or((0, 0)),
            soc: snapshot.soc_pct,
            hottest,
            coldest,
            cell_sum_mv,
            excess_mv,
        }
    }
}

/// Per-pack hysteresis state: the effective value of each quantity a table looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RuleMemory {
    high_cell: Backlash,
    low_cell: Backlash,
    soc_for_charge: Backlash,
    soc_for_discharge: Backlash,
    hottest: Backlash,
    coldest: Backlash,
}

impl Default for RuleMemory {
    fn default() -> Self {
        Self {
            high_cell: Backlash::new(Worse::High),
            low_cell: Backlash::new(Worse::Low),
            soc_for_charge: Backlash::new(Worse::High),
            soc_for_discharge: Backlash::new(Worse::Low),
            hottest: Backlash::new(Worse::High),
            coldest: Backlash::new(Worse::Low),
        }
    }
}

/// The values after hysteresis, in the tables' units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Effective {
    high_cell_mv: i32,
    low_cell_mv: i32,
    soc_for_charge: i32,
    soc_for_discharge: i32,
    hottest_dc: Option<i32>,
    coldest_dc: Option<i32>,
}

/// Hysteresis widths in the tables' units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Widths {
    cell_mv: i32,
    soc_pct: i32,
    temperature_dc: i32,
}

/// The enabled rules, compiled; `None` = switched off.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PackRules {
    charge_by_cell: Option<LimitTable>,
    discharge_by_cell: Option<LimitTable>,
    charge_by_soc: Option<LimitTable>,
    discharge_by_soc: Option<LimitTable>,
    charge_by_temperature: Option<TemperatureTables>,
    discharge_by_temperature: Option<TemperatureTables>,
    widths: Widths,
    /// `control.high_cell_voltage` in mV, for [`Observed::excess_mv`].
    penalty_limit_mv: u16,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct TemperatureTables {
    cold: LimitTable,
    hot: LimitTable,
}

impl PackRules {
    pub(crate) fn new(limits: &LimitsConfig, control: &ControlConfig) -> Self {
        let cells = |rule: &super::limits_config::CellRule, worse| {
            rule.enabled
                .then(|| LimitTable::cells(&rule.points, worse, rule.mode))
        };
        let soc = |rule: &super::limits_config::SocRule, worse| {
            rule.enabled
                .then(|| LimitTable::soc(&rule.points, worse, rule.mode))
        };
        let temperature = |rule: &super::limits_config::TemperatureRule| {
            rule.enabled.then(|| TemperatureTables {
                cold: LimitTable::temperature(&rule.below, Worse::Low, rule.mode),
                hot: LimitTable::temperature(&rule.above, Worse::High, rule.mode),
            })
        };
        Self {
            charge_by_cell: cells(&limits.charge_by_cell, Worse::High),
            discharge_by_cell: cells(&limits.discharge_by_cell, Worse::Low),
            charge_by_soc: soc(&limits.charge_by_soc, Worse::High),
            discharge_by_soc: soc(&limits.discharge_by_soc, Worse::Low),
            charge_by_temperature: temperature(&limits.charge_by_temperature),
            discharge_by_temperature: temperature(&limits.discharge_by_temperature),
            widths: Widths {
                cell_mv: (control.cell_hysteresis * 1000.0).round() as i32,
                soc_pct: i32::from(control.soc_hysteresis),
                temperature_dc: (control.temperature_hysteresis * 10.0).round() as i32,
            },
            penalty_limit_mv: (control.high_cell_voltage * 1000.0).round() as u16,
        }
    }

    /// What the core looks at in one reading.
    pub(crate) fn see(&self, snapshot: &PackSnapshot) -> Observed {
        Observed::with_penalty_limit(snapshot, self.penalty_limit_mv)
    }

    /// Feed one reading through the pack's hysteresis state.
    pub(crate) fn observe(&self, memory: &mut RuleMemory, seen: &Observed) -> Effective {
        let w = self.widths;
        let soc = i32::from(seen.soc);
        Effective {
            high_cell_mv: memory
                .high_cell
                .update(i32::from(seen.high_cell.1), w.cell_mv),
            low_cell_mv: memory
                .low_cell
                .update(i32::from(seen.low_cell.1), w.cell_mv),
            soc_for_charge: memory.soc_for_charge.update(soc, w.soc_pct),
            soc_for_discharge: memory.soc_for_discharge.update(soc, w.soc_pct),
            hottest_dc: seen
                .hottest
                .map(|(_, dc)| memory.hottest.update(i32::from(dc), w.temperature_dc)),
            coldest_dc: seen
                .coldest
                .map(|(_, dc)| memory.coldest.update(i32::from(dc), w.temperature_dc)),
        }
    }

    /// The pack's charge limit from its tables; `max_ma` is its `max_charge_current`.
    pub(crate) fn charge(&self, seen: &Observed, eff: &Effective, max_ma: u32) -> PackLimit {
        let mut best = Smallest::new(max_ma);
        if let Some(table) = &self.charge_by_cell {
            let (cell, mv) = seen.high_cell;
            best.offer(
                table.lookup(eff.high_cell_mv, max_ma),
                LimitReason::HighCell { cell, mv },
            );
        }
        if let Some(table) = &self.charge_by_soc {
            best.offer(
                table.lookup(eff.soc_for_charge, max_ma),
                LimitReason::Soc { pct: seen.soc },
            );
        }
        if let Some(tables) = &self.charge_by_temperature {
            best.temperature(tables, seen, eff, max_ma);
        }
        best.limit
    }

    /// The pack's discharge limit from its tables; `max_ma` is its `max_discharge_current`.
    pub(crate) fn discharge(&self, seen: &Observed, eff: &Effective, max_ma: u32) -> PackLimit {
        let mut best = Smallest::new(max_ma);
        if let Some(table) = &self.discharge_by_cell {
            let (cell, mv) = seen.low_cell;
            best.offer(
                table.lookup(eff.low_cell_mv, max_ma),
                LimitReason::LowCell { cell, mv },
            );
        }
        if let Some(table) = &self.discharge_by_soc {
            best.offer(
                table.lookup(eff.soc_for_discharge, max_ma),
                LimitReason::Soc { pct: seen.soc },
            );
        }
        if let Some(tables) = &self.discharge_by_temperature {
            best.temperature(tables, seen, eff, max_ma);
        }
        best.limit
    }
}

/// The smallest offer wins; on a tie the earlier rule stays (cell, then SOC, then temperature),
/// and an offer equal to the pack max leaves the reason at `PackMax`.
struct Smallest {
    limit: PackLimit,
}

impl Smallest {
    fn new(max_ma: u32) -> Self {
        Self {
            limit: PackLimit {
                current_ma: max_ma,
                reason: LimitReason::PackMax,
            },
        }
    }

    fn offer(&mut self, current_ma: Option<u32>, reason: LimitReason) {
        if let Some(current_ma) = current_ma {
            if current_ma < self.limit.current_ma {
                self.limit = PackLimit { current_ma, reason };
            }
        }
    }

    fn temperature(
        &mut self,
        tables: &TemperatureTables,
        seen: &Observed,
        eff: &Effective,
        max_ma: u32,
    ) {
        match (seen.coldest, seen.hottest, eff.coldest_dc, eff.hottest_dc) {
            (Some((cold_sensor, cold_dc)), Some((hot_sensor, hot_dc)), Some(cold), Some(hot)) => {
                self.offer(
                    tables.cold.lookup(cold, max_ma),
                    LimitReason::LowTemperature {
                        sensor: cold_sensor,
                        dc: cold_dc,
                    },
                );
                self.offer(
                    tables.hot.lookup(hot, max_ma),
                    LimitReason::HighTemperature {
                        sensor: hot_sensor,
                        dc: hot_dc,
                    },
                );
            }
            _ => self.offer(Some(0), LimitReason::NoTemperatureSensor),
        }
    }
}
