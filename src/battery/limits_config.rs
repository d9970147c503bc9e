//! The `[limits]` section: the per-pack limit tables of DESIGN.md "Per-pack limits", as a user
//! reads and edits them (V, A, %, °C), with their validation.
//!
//! Every rule is a table of rows from the most severe row outward. A row names a threshold and
//! the current allowed once the value has reached it; past the last row the pack's own
//! `max_charge_current` / `max_discharge_current` applies. The defaults reproduce DESIGN.md
//! exactly:
//!
//! ```toml
//! [limits.charge_by_cell]        # the pack's highest cell; a row applies once it is >= volts
//! enabled = true
//! mode = "step"                  # "step" or "linear"
//! points = [
//!   { volts = 3.55, amps = 0 },
//!   { volts = 3.50, amps = 2 },
//!   { volts = 3.45, amps = 30 },
//!   { volts = 3.30, amps = 60 },
//! ]
//! [limits.discharge_by_cell]     # the pack's lowest cell; a row applies once it is <= volts
//! points = [{ volts = 2.70, amps = 0 }, { volts = 2.90, amps = 5 }, { volts = 3.10, amps = 30 }]
//! [limits.charge_by_soc]         # a row applies once SOC >= soc
//! points = [{ soc = 99, amps = 5 }, { soc = 95, percent_of_max = 25 }, { soc = 91, percent_of_max = 50 }]
//! [limits.discharge_by_soc]      # a row applies once SOC <= soc
//! points = [{ soc = 10, amps = 5 }, { soc = 20, percent_of_max = 25 }, { soc = 30, percent_of_max = 50 }]
//! [limits.charge_by_temperature] # sensors T1..Tn; strictly below / strictly above
//! below = [{ celsius = 0, amps = 0 }]
//! above = [{ celsius = 55, amps = 0 }]
//! [limits.discharge_by_temperature]
//! below = [{ celsius = -20, amps = 0 }]
//! above = [{ celsius = 55, amps = 0 }]
//! ```
//!
//! Boundaries (DESIGN.md writes bands as "3.50–3.55 → 2 A" and "≥ 3.55 V → 0 A"): cell and SOC
//! rows include their threshold, so 3.55 V exactly gives 0 A, 3.50 V exactly 2 A, SOC 95 %
//! exactly ¼ max, SOC 20 % exactly ¼ max (the "≤ 10 %" row includes 10). Temperature rows exclude
//! it, because DESIGN.md says "below 0 °C" / "above 55 °C": 0.0 °C still charges.
//! SOC is a whole number (the BMS reports whole %), so "99–100 %" and "95–98 %" leave no gap.
//!
//! `mode = "linear"`: between two rows the current follows the straight line from one row's
//! current to the next's; at or beyond the most severe row its current holds; on the
//! comfortable side of the last row the pack's max applies, as in step mode (add a row with
//! `percent_of_max = 100` further out to ramp smoothly up to the max instead). With currents that
//! fall toward the severe end, linear never allows more than step.

use serde::{Deserialize, Serialize};

use super::config_problem::{ConfigProblem, Problems};
use crate::pack::{PLAUSIBLE_CELL_MAX_MV, PLAUSIBLE_CELL_MIN_MV};

/// Largest current CAN frame 0x351 can carry: s16 in 0.1 A (victron-can.md §3.2).
pub const MAX_CAN_CURRENT_A: f64 = 3276.7;

/// Coldest and hottest temperature a JK BMS reports: −40..=100 °C (jk-nw.md §1.6).
const TEMPERATURE_RANGE_C: std::ops::RangeInclusive<f64> = -40.0..=100.0;

/// How a table turns a value into a current.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The current of the band the value is in.
    #[default]
    Step,
    /// Interpolated between the two rows around the value (see the module docs).
    Linear,
}

/// One row of a cell-voltage table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CellPoint {
    /// Cell voltage threshold in V.
    pub volts: f64,
    /// Current in A. Exactly one of `amps` and `percent_of_max`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amps: Option<f64>,
    /// Current as a percentage of the pack's own max current.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent_of_max: Option<f64>,
}

/// One row of a SOC table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SocPoint {
    /// SOC threshold in whole %.
    pub soc: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amps: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent_of_max: Option<f64>,
}

/// One row of a temperature table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemperaturePoint {
    /// Temperature threshold in °C.
    pub celsius: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amps: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent_of_max: Option<f64>,
}

/// A table by cell voltage: `enabled`, `mode`, `points`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CellRule {
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub mode: Mode,
    /// Rows, the most severe first.
    #[serde(default)]
    pub points: Vec<CellPoint>,
}

/// A table by SOC: `enabled`, `mode`, `points`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SocRule {
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub mode: Mode,
    /// Rows, the most severe first.
    #[serde(default)]
    pub points: Vec<SocPoint>,
}

/// A pair of temperature tables: `below` acts on the coldest sensor, `above` on the hottest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemperatureRule {
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub mode: Mode,
    /// Rows from the coldest up; a row applies while the coldest sensor is strictly below it.
    #[serde(default)]
    pub below: Vec<TemperaturePoint>,
    /// Rows from the hottest down; a row applies while the hottest sensor is strictly above it.
    #[serde(default)]
    pub above: Vec<TemperaturePoint>,
}

fn yes() -> bool {
    true
}

/// The `[limits]` section. A table left out keeps its DESIGN.md default; a table written out is
/// taken as written, no row filled in from the defaults (so what is in the file is what applies):
/// `[limits.charge_by_soc]` with `enabled = false` alone switches that rule off, and an enabled
/// table without rows is an error.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Charge current by the pack's highest cell.
    pub charge_by_cell: CellRule,
    /// Discharge current by the pack's lowest cell.
    pub discharge_by_cell: CellRule,
    /// Charge current by the pack's SOC.
    pub charge_by_soc: SocRule,
    /// Discharge current by the pack's SOC.
    pub discharge_by_soc: SocRule,
    /// Charge current by the pack's battery sensors T1..Tn.
    pub charge_by_temperature: TemperatureRule,
    /// Discharge current by the pack's battery sensors T1..Tn.
    pub discharge_by_temperature: TemperatureRule,
}

fn amps(a: f64) -> Option<f64> {
    Some(a)
}

fn cell(volts: f64, a: f64) -> CellPoint {
    CellPoint {
        volts,
        amps: amps(a),
        percent_of_max: None,
    }
}

fn soc_amps(soc: u8, a: f64) -> SocPoint {
    SocPoint {
        soc,
        amps: amps(a),
        percent_of_max: None,
    }
}

fn soc_share(soc: u8, percent: f64) -> SocPoint {
    SocPoint {
        soc,
        amps: None,
        percent_of_max: Some(percent),
    }
}

fn temperature(celsius: f64, a: f64) -> TemperaturePoint {
    TemperaturePoint {
        celsius,
        amps: amps(a),
        percent_of_max: None,
    }
}

impl Default for LimitsConfig {
    /// DESIGN.md "Per-pack limits", row for row.
    fn default() -> Self {
        Self {
            // ≥ 3.55 V → 0 A; 3.50–3.55 → 2 A; 3.45–3.50 → 30 A; 3.30–3.45 → 60 A; below → max.
            charge_by_cell: CellRule {
                enabled: true,
                mode: Mode::Step,
                points: vec![
                    cell(3.55, 0.0),
                    cell(3.50, 2.0),
                    cell(3.45, 30.0),
                    cell(3.30, 60.0),
                ],
            },
            // ≤ 2.70 V → 0 A; 2.70–2.90 → 5 A; 2.90–3.10 → 30 A; above → max.
            discharge_by_cell: CellRule {
                enabled: true,
                mode: Mode::Step,
                points: vec![cell(2.70, 0.0), cell(2.90, 5.0), cell(3.10, 30.0)],
            },
            // 99–100 % → 5 A; 95–98 % → ¼ max; 91–95 % → ½ max.
            charge_by_soc: SocRule {
                enabled: true,
                mode: Mode::Step,
                points: vec![soc_amps(99, 5.0), soc_share(95, 25.0), soc_share(91, 50.0)],
            },
            // ≤ 10 % → 5 A; 10–20 % → ¼ max; 20–30 % → ½ max.
            discharge_by_soc: SocRule {
                enabled: true,
                mode: Mode::Step,
                points: vec![soc_amps(10, 5.0), soc_share(20, 25.0), soc_share(30, 50.0)],
            },
            // Charge 0 A below 0 °C or above 55 °C.
            charge_by_temperature: TemperatureRule {
                enabled: true,
                mode: Mode::Step,
                below: vec![temperature(0.0, 0.0)],
                above: vec![temperature(55.0, 0.0)],
            },
            // Discharge 0 A below −20 °C or above 55 °C.
            discharge_by_temperature: TemperatureRule {
                enabled: true,
                mode: Mode::Step,
                below: vec![temperature(-20.0, 0.0)],
                above: vec![temperature(55.0, 0.0)],
            },
        }
    }
}

/// Which end of a table is the severe one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Worse {
    /// Higher values are worse (charge by highest cell, charge by SOC, too hot):
    /// rows go from the highest threshold down.
    High,
    /// Lower values are worse (discharge by lowest cell, discharge by SOC, too cold):
    /// rows go from the lowest threshold up.
    Low,
}

/// What validation needs to know about a row, whatever its quantity.
trait Row {
    /// TOML key of the threshold (`volts`, `soc`, `celsius`).
    const KEY: &'static str;
    const UNIT: &'static str;
    fn threshold(&self) -> f64;
    fn amps(&self) -> Option<f64>;
    fn percent_of_max(&self) -> Option<f64>;
}

impl Row for CellPoint {
    const KEY: &'static str = "volts";
    const UNIT: &'static str = "V";
    fn threshold(&self) -> f64 {
        self.volts
    }
    fn amps(&self) -> Option<f64> {
        self.amps
    }
    fn percent_of_max(&self) -> Option<f64> {
        self.percent_of_max
    }
}

impl Row for SocPoint {
    const KEY: &'static str = "soc";
    const UNIT: &'static str = "%";
    fn threshold(&self) -> f64 {
        f64::from(self.soc)
    }
    fn amps(&self) -> Option<f64> {
        self.amps
    }
    fn percent_of_max(&self) -> Option<f64> {
        self.percent_of_max
    }
}

impl Row for TemperaturePoint {
    const KEY: &'static str = "celsius";
    const UNIT: &'static str = "°C";
    fn threshold(&self) -> f64 {
        self.celsius
    }
    fn amps(&self) -> Option<f64> {
        self.amps
    }
    fn percent_of_max(&self) -> Option<f64> {
        self.percent_of_max
    }
}

/// Check one table: each row's current, each threshold in range, thresholds strictly ordered
/// from the severe end outward.
fn check_rows<R: Row>(
    key: &str,
    rows: &[R],
    worse: Worse,
    range: std::ops::RangeInclusive<f64>,
    problems: &mut Problems,
) {
    let mut previous: Option<f64> = None;
    for (i, row) in rows.iter().enumerate() {
        let row_key = format!("{key}[{i}]");
        let t = row.threshold();
        if !t.is_finite() || !range.contains(&t) {
            problems.push(
                format!("{row_key}.{}", R::KEY),
                format!(
                    "{t} {} is outside {}..={} {}",
                    R::UNIT,
                    range.start(),
                    range.end(),
                    R::UNIT
                ),
            );
        } else if let Some(p) = previous {
            let ordered = match worse {
                Worse::High => t < p,
                Worse::Low => t > p,
            };
            if !ordered {
                let (relation, direction) = match worse {
                    Worse::High => ("below", "from the highest value down"),
                    Worse::Low => ("above", "from the lowest value up"),
                };
                problems.push(
                    format!("{row_key}.{}", R::KEY),
                    format!(
                        "{t} {unit} must be {relation} the previous row's {p} {unit} \
                         (rows go {direction}, the most severe first)",
                        unit = R::UNIT
                    ),
                );
            }
        }
        if t.is_finite() {
            previous = Some(t);
        }
        match (row.amps(), row.percent_of_max()) {
            (Some(a), None) => {
                if !a.is_finite() || !(0.0..=MAX_CAN_CURRENT_A).contains(&a) {
                    problems.push(
                        format!("{row_key}.amps"),
                        format!("{a} A is outside 0..={MAX_CAN_CURRENT_A} A"),
                    );
                }
            }
            (None, Some(p)) => {
                if !p.is_finite() || !(0.0..=100.0).contains(&p) {
                    problems.push(
                        format!("{row_key}.percent_of_max"),
                        format!("{p} % is outside 0..=100 % of the pack's max current"),
                    );
                }
            }
            (Some(_), Some(_)) => problems.push(
                row_key,
                "give either `amps` or `percent_of_max`, not both".to_string(),
            ),
            (None, None) => problems.push(
                row_key,
                "give the current: `amps = ...` or `percent_of_max = ...`".to_string(),
            ),
        }
    }
}

fn cell_range() -> std::ops::RangeInclusive<f64> {
    f64::from(PLAUSIBLE_CELL_MIN_MV) / 1000.0..=f64::from(PLAUSIBLE_CELL_MAX_MV) / 1000.0
}

impl CellRule {
    fn check(&self, key: &str, worse: Worse, problems: &mut Problems) {
        if self.enabled && self.points.is_empty() {
            problems.push(
                format!("{key}.points"),
                "an enabled rule needs at least one row (or write enabled = false)",
            );
        }
        check_rows(
            &format!("{key}.points"),
            &self.points,
            worse,
            cell_range(),
            problems,
        );
    }
}

impl SocRule {
    fn check(&self, key: &str, worse: Worse, problems: &mut Problems) {
        if self.enabled && self.points.is_empty() {
            problems.push(
                format!("{key}.points"),
                "an enabled rule needs at least one row (or write enabled = false)",
            );
        }
        check_rows(
            &format!("{key}.points"),
            &self.points,
            worse,
            0.0..=100.0,
            problems,
        );
    }
}

impl TemperatureRule {
    fn check(&self, key: &str, problems: &mut Problems) {
        if self.enabled && self.below.is_empty() && self.above.is_empty() {
            problems.push(
                key,
                "an enabled rule needs at least one row in `below` or `above` (or write enabled = false)",
            );
        }
        check_rows(
            &format!("{key}.below"),
            &self.below,
            Worse::Low,
            TEMPERATURE_RANGE_C,
            problems,
        );
        check_rows(
            &format!("{key}.above"),
            &self.above,
            Worse::High,
            TEMPERATURE_RANGE_C,
            problems,
        );
        // A "below" row above an "above" row would block the pack at every temperature.
        if let (Some(cold), Some(hot)) = (self.below.last(), self.above.last()) {
            if cold.celsius.is_finite() && hot.celsius.is_finite() && cold.celsius >= hot.celsius {
                problems.push(
                    format!("{key}.below"),
                    format!(
                        "the warmest `below` row ({} °C) must be under the coolest `above` row ({} °C), \
                         or no temperature is allowed",
                        cold.celsius, hot.celsius
                    ),
                );
            }
        }
    }
}

impl LimitsConfig {
    /// Every problem in the section, each named by its key path under `limits.`.
    pub fn validate(&self) -> Result<(), Vec<ConfigProblem>> {
        let mut problems = Problems::default();
        self.check(&mut problems);
        problems.into_result()
    }

    pub(crate) fn check(&self, problems: &mut Problems) {
        self.charge_by_cell
            .check("limits.charge_by_cell", Worse::High, problems);
        self.discharge_by_cell
            .check("limits.discharge_by_cell", Worse::Low, problems);
        self.charge_by_soc
            .check("limits.charge_by_soc", Worse::High, problems);
        self.discharge_by_soc
            .check("limits.discharge_by_soc", Worse::Low, problems);
        self.charge_by_temperature
            .check("limits.charge_by_temperature", problems);
        self.discharge_by_temperature
            .check("limits.discharge_by_temperature", problems);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert_eq!(LimitsConfig::default().validate(), Ok(()));
    }

    #[test]
    fn empty_section_gives_the_defaults() {
        let parsed: LimitsConfig = toml::from_str("").unwrap();
        assert_eq!(parsed, LimitsConfig::default());
    }

    #[test]
    fn a_written_table_parses_as_humans_write_it() {
        let parsed: LimitsConfig = toml::from_str(
            r#"
            [charge_by_cell]
            mode = "linear"
            points = [{ volts = 3.6, amps = 0 }, { volts = 3.4, percent_of_max = 50 }]
            [discharge_by_temperature]
            enabled = false
            "#,
        )
        .unwrap();
        assert_eq!(parsed.charge_by_cell.mode, Mode::Linear);
        assert!(parsed.charge_by_cell.enabled);
        assert_eq!(parsed.charge_by_cell.points[1].percent_of_max, Some(50.0));
        assert!(!parsed.discharge_by_temperature.enabled);
        assert!(parsed.discharge_by_temperature.below.is_empty());
        // Untouched tables keep their defaults.
        assert_eq!(parsed.charge_by_soc, LimitsConfig::default().charge_by_soc);
        assert_eq!(parsed.validate(), Ok(()));
    }

    #[test]
    fn unknown_keys_are_errors() {
        assert!(toml::from_str::<LimitsConfig>("[charge_by_cel]\npoints = []").is_err());
        assert!(toml::from_str::<LimitsConfig>(
            "[charge_by_cell]\npoints = [{ volts = 3.5, amp = 0 }]"
        )
        .is_err());
        assert!(
            toml::from_str::<LimitsConfig>("[charge_by_cell]\nmode = \"smooth\"\npoints = []")
                .is_err()
        );
    }

    #[test]
    fn the_defaults_survive_a_round_trip_through_toml() {
        let text = toml::to_string_pretty(&LimitsConfig::default()).unwrap();
        let back: LimitsConfig = toml::from_str(&text).unwrap();
        assert_eq!(back, LimitsConfig::default());
    }

    fn keys(config: &LimitsConfig) -> Vec<String> {
        config
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|p| p.key)
            .collect()
    }

    #[test]
    fn out_of_order_rows_name_the_row() {
        let mut c = LimitsConfig::default();
        c.charge_by_cell.points[2].volts = 3.52; // above the 3.50 row before it
        assert_eq!(keys(&c), vec!["limits.charge_by_cell.points[2].volts"]);

        let mut c = LimitsConfig::default();
        c.discharge_by_soc.points[1].soc = 10; // equal to the row before: not strictly ordered
        assert_eq!(keys(&c), vec!["limits.discharge_by_soc.points[1].soc"]);
    }

    #[test]
    fn bad_currents_name_the_key() {
        let mut c = LimitsConfig::default();
        c.charge_by_cell.points[1].amps = Some(-1.0);
        c.charge_by_soc.points[1].percent_of_max = Some(150.0);
        c.discharge_by_cell.points[0].percent_of_max = Some(10.0); // both given
        c.discharge_by_soc.points[2].percent_of_max = None; // neither given
        assert_eq!(
            keys(&c),
            vec![
                "limits.charge_by_cell.points[1].amps",
                "limits.discharge_by_cell.points[0]",
                "limits.charge_by_soc.points[1].percent_of_max",
                "limits.discharge_by_soc.points[2]",
            ]
        );
    }

    #[test]
    fn thresholds_outside_what_a_bms_reports_are_errors() {
        let mut c = LimitsConfig::default();
        c.charge_by_cell.points[0].volts = 35.5; // a pack voltage, not a cell voltage
        c.charge_by_soc.points[0].soc = 101;
        c.charge_by_temperature.above[0].celsius = f64::NAN;
        assert_eq!(
            keys(&c),
            vec![
                "limits.charge_by_cell.points[0].volts",
                "limits.charge_by_soc.points[0].soc",
                "limits.charge_by_temperature.above[0].celsius",
            ]
        );
    }

    #[test]
    fn an_enabled_rule_without_rows_is_an_error_a_disabled_one_is_not() {
        let mut c = LimitsConfig::default();
        c.charge_by_cell.points.clear();
        c.discharge_by_temperature.below.clear();
        c.discharge_by_temperature.above.clear();
        assert_eq!(
            keys(&c),
            vec![
                "limits.charge_by_cell.points",
                "limits.discharge_by_temperature"
            ]
        );
        c.charge_by_cell.enabled = false;
        c.discharge_by_temperature.enabled = false;
        assert_eq!(c.validate(), Ok(()));
    }

    #[test]
    fn a_temperature_window_that_allows_nothing_is_an_error() {
        let mut c = LimitsConfig::default();
        c.charge_by_temperature.below[0].celsius = 60.0;
        assert_eq!(keys(&c), vec!["limits.charge_by_temperature.below"]);
    }

    #[test]
    fn problems_display_key_then_message() {
        let mut c = LimitsConfig::default();
        c.charge_by_cell.points[0].amps = Some(f64::INFINITY);
        let text = c.validate().unwrap_err()[0].to_string();
        assert!(
            text.starts_with("limits.charge_by_cell.points[0].amps: "),
            "{text}"
        );
    }
}
