//! One limit table compiled to integers (mV, %, 0.1 °C → mA), and how a value is looked up in
//! it, in step or linear mode. The semantics are those of `limits_config.rs`.

use super::limits_config::{CellPoint, Mode, SocPoint, TemperaturePoint, Worse};
use super::settings::to_milli;

/// The current of one row, before the pack's max is known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RowCurrent {
    Milliamps(u32),
    /// Share of the pack's max current, in parts per million (`percent_of_max` × 10 000).
    PartsPerMillion(u32),
}

impl RowCurrent {
    fn from_config(amps: Option<f64>, percent_of_max: Option<f64>) -> Self {
        // Validation guarantees exactly one of the two, finite and in range; if the core is
        // handed an unvalidated table anyway, a missing or unusable current reads as 0 A, the
        // safe side.
        match (amps, percent_of_max) {
            (Some(a), _) => Self::Milliamps(to_milli(a).unwrap_or(0)),
            (None, Some(p)) => {
                Self::PartsPerMillion(to_milli(p * 10.0).unwrap_or(0).min(1_000_000))
            }
            (None, None) => Self::Milliamps(0),
        }
    }

    fn resolve(self, max_ma: u32) -> i64 {
        match self {
            Self::Milliamps(ma) => i64::from(ma),
            Self::PartsPerMillion(ppm) => i64::from(max_ma) * i64::from(ppm) / 1_000_000,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Row {
    /// Threshold in the table's "severity" coordinate: the value itself when high is worse, its
    /// negation when low is worse, so that larger is always more severe.
    severity: i32,
    current: RowCurrent,
}

/// A compiled table. Rows are ordered most severe first (validation checked the order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LimitTable {
    rows: Vec<Row>,
    worse: Worse,
    /// Whether reaching the threshold exactly applies the row (cells, SOC) or only passing it
    /// does (temperature: "below 0 °C").
    inclusive: bool,
    mode: Mode,
}

fn severity(value: i32, worse: Worse) -> i32 {
    match worse {
        Worse::High => value,
        Worse::Low => value.saturating_neg(),
    }
}

/// V → mV, °C → 0.1 °C, rounded to the nearest; non-finite values saturate (validation keeps
/// them out).
fn scaled(value: f64, factor: f64) -> i32 {
    (value * factor).round() as i32
}

impl LimitTable {
    fn new(
        rows: impl Iterator<Item = (i32, RowCurrent)>,
        worse: Worse,
        inclusive: bool,
        mode: Mode,
    ) -> Self {
        Self {
            rows: rows
                .map(|(threshold, current)| Row {
                    severity: severity(threshold, worse),
                    current,
                })
                .collect(),
            worse,
            inclusive,
            mode,
        }
    }

    /// A cell table in mV; cell rows include their threshold.
    pub(crate) fn cells(points: &[CellPoint], worse: Worse, mode: Mode) -> Self {
        Self::new(
            points.iter().map(|p| {
                (
                    scaled(p.volts, 1000.0),
                    RowCurrent::from_config(p.amps, p.percent_of_max),
                )
            }),
            worse,
            true,
            mode,
        )
    }

    /// A SOC table in whole %; SOC rows include their threshold.
    pub(crate) fn soc(points: &[SocPoint], worse: Worse, mode: Mode) -> Self {
        Self::new(
            points.iter().map(|p| {
                (
                    i32::from(p.soc),
                    RowCurrent::from_config(p.amps, p.percent_of_max),
                )
            }),
            worse,
            true,
            mode,
        )
    }

    /// A temperature table in 0.1 °C; temperature rows exclude their threshold.
    pub(crate) fn temperature(points: &[TemperaturePoint], worse: Worse, mode: Mode) -> Self {
        Self::new(
            points.iter().map(|p| {
                (
                    scaled(p.celsius, 10.0),
                    RowCurrent::from_config(p.amps, p.percent_of_max),
                )
            }),
            worse,
            false,
            mode,
        )
    }

    /// The current this table allows at `value` (in the table's units), or `None` when the value
    /// is on the comfortable side of every row (the pack's max applies). Not yet capped at
    /// `max_ma`; the caller takes the minimum.
    pub(crate) fn lookup(&self, value: i32, max_ma: u32) -> Option<u32> {
        let s = severity(value, self.worse);
        let reached = |row: &Row| {
            if self.inclusive {
                s >= row.severity
            } else {
                s > row.severity
            }
        };
        let index = self.rows.iter().position(reached)?;
        let row = self.rows[index];
        let here = row.current.resolve(max_ma);
        let current = match (self.mode, index.checked_sub(1)) {
            (Mode::Step, _) | (Mode::Linear, None) => here,
            (Mode::Linear, Some(previous)) => {
                // Between this row and the more severe one before it: the straight line from
                // this row's current (at its threshold) to that row's (at its threshold).
                let next = self.rows[previous];
                let span = i64::from(next.severity) - i64::from(row.severity);
                let into = i64::from(s) - i64::from(row.severity);
                let towards = next.current.resolve(max_ma);
                // Floor division: any rounding goes to the lower current.
                here + ((towards - here) * into).div_euclid(span.max(1))
            }
        };
        // Both ends are row currents in 0..=u32::MAX mA, and the line stays between them.
        Some(u32::try_from(current.max(0)).unwrap_or(u32::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::battery::limits_config::LimitsConfig;

    fn charge_by_cell(mode: Mode) -> LimitTable {
        LimitTable::cells(
            &LimitsConfig::default().charge_by_cell.points,
            Worse::High,
            mode,
        )
    }

    #[test]
    fn step_takes_the_band_including_its_lower_edge() {
        let t = charge_by_cell(Mode::Step);
        assert_eq!(t.lookup(3600, 60_000), Some(0));
        assert_eq!(t.lookup(3550, 60_000), Some(0));
        assert_eq!(t.lookup(3549, 60_000), Some(2_000));
        assert_eq!(t.lookup(3450, 60_000), Some(30_000));
        assert_eq!(t.lookup(3300, 60_000), Some(60_000));
        assert_eq!(t.lookup(3299, 60_000), None);
    }

    #[test]
    fn linear_interpolates_between_rows_and_rounds_down() {
        let t = charge_by_cell(Mode::Linear);
        assert_eq!(t.lookup(3450, 60_000), Some(30_000));
        // 3.47 V: 30 A − 28 A × 20/50 = 18.8 A.
        assert_eq!(t.lookup(3470, 60_000), Some(18_800));
        // 3.301 V: 60 A − 30 A × 1/150 = 59.8 A, rounded down to the mA.
        assert_eq!(t.lookup(3301, 60_000), Some(59_800));
        assert_eq!(t.lookup(3299, 60_000), None);
        assert_eq!(t.lookup(3551, 60_000), Some(0));
    }

    #[test]
    fn percent_rows_resolve_against_the_pack_max() {
        let t = LimitTable::soc(
            &LimitsConfig::default().charge_by_soc.points,
            Worse::High,
            Mode::Step,
        );
        assert_eq!(t.lookup(96, 60_000), Some(15_000));
        assert_eq!(t.lookup(96, 100_000), Some(25_000));
    }

    #[test]
    fn temperature_rows_exclude_their_threshold() {
        let rule = LimitsConfig::default().charge_by_temperature;
        let cold = LimitTable::temperature(&rule.below, Worse::Low, Mode::Step);
        assert_eq!(cold.lookup(0, 60_000), None);
        assert_eq!(cold.lookup(-1, 60_000), Some(0));
        let hot = LimitTable::temperature(&rule.above, Worse::High, Mode::Step);
        assert_eq!(hot.lookup(550, 60_000), None);
        assert_eq!(hot.lookup(551, 60_000), Some(0));
    }
}
