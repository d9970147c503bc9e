//! The `[control]` section: how fast limits may rise, when absorption turns into float, the
//! high-cell CVL penalty and the hysteresis of the limit tables.
//!
//! ```toml
//! [control]
//! ramp_rate = 10.0                # A/s: CCL and DCL rise at most this fast (DESIGN.md rule 5)
//! cvl_ramp_rate = 0.05            # V/s: CVL rises at most this fast (whole battery)
//! absorption_cell_voltage = 3.45  # V: the highest cell at or above this counts as absorption
//! absorption_time = "15m"         # absorption held this long (in total) -> float
//! rebulk_soc = 90                 # %: in float, SOC below this -> absorption again
//! high_cell_voltage = 3.55        # V: any cell above this lowers CVL (high-cell penalty)
//! cell_hysteresis = 0.03          # V: a cell limit released only 30 mV past its threshold
//! soc_hysteresis = 2              # %: a SOC limit released only 2 % past its threshold
//! temperature_hysteresis = 2.0    # °C: a temperature limit released only 2 °C past it
//! ```

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::config_problem::{ConfigProblem, Problems};
use crate::pack::{PLAUSIBLE_CELL_MAX_MV, PLAUSIBLE_CELL_MIN_MV};

/// The `[control]` section. Every key has a default; see the module docs for the shape.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ControlConfig {
    /// A/s. CCL and DCL rise at most this fast; they fall at once (DESIGN.md rule 5, default
    /// 10 A/s from there).
    pub ramp_rate: f64,
    /// V/s for the whole battery. CVL rises at most this fast (after a high-cell penalty ends, or
    /// float returns to absorption), so a cell that just came back under the limit is not pushed
    /// straight back over it; CVL falls at once. Default 0.05 V/s: back from a 1 V penalty in
    /// 20 s, from float (54.0 V) to absorption (55.2 V) on 16S in 24 s.
    pub cvl_ramp_rate: f64,
    /// V per cell. The battery counts as "in absorption" while the highest online cell is at or
    /// above this, or the mean pack voltage is within 10 mV per cell of the absorption CVL.
    /// Default 3.45 V, the DESIGN.md default `charge_voltage`.
    pub absorption_cell_voltage: f64,
    /// Absorption held this long in total (since the last re-bulk) switches CVL to float.
    /// Default 15 minutes.
    #[serde(with = "humantime_serde")]
    pub absorption_time: Duration,
    /// Whole %. In float, the battery SOC (capacity-weighted, online packs) falling strictly
    /// below this switches CVL back to absorption. Default 90 %: one ordinary evening of use,
    /// not every cloud.
    pub rebulk_soc: u8,
    /// V per cell. Any online cell above this lowers CVL to that pack's cell sum minus the
    /// excess of its cells over this value (see `cvl.rs`). Default 3.55 V, where the
    /// charge-by-cell table already asks 0 A: the penalty is what still ends charging when a
    /// charger ignores CCL (victron-can.md §3.7, DC-coupled PV with feed-in).
    pub high_cell_voltage: f64,
    /// V. A cell-voltage limit that went down is released only once the cell is this far back
    /// past the threshold. Default 0.03 V: more than the drop of an LFP cell when the charge
    /// current is cut from 30 A to 2 A near the knee, so the cut does not undo itself.
    pub cell_hysteresis: f64,
    /// Whole %. Likewise for the SOC tables. Default 2 % (the BMS reports whole %, and its SOC
    /// steps back and forth by one when it recalibrates).
    pub soc_hysteresis: u8,
    /// °C. Likewise for the temperature tables. Default 2 °C (JK NW reports whole °C).
    pub temperature_hysteresis: f64,
}

impl Default for ControlConfig {
    fn default() -> Self {
        Self {
            ramp_rate: 10.0,
            cvl_ramp_rate: 0.05,
            absorption_cell_voltage: 3.45,
            absorption_time: Duration::from_secs(15 * 60),
            rebulk_soc: 90,
            high_cell_voltage: 3.55,
            cell_hysteresis: 0.03,
            soc_hysteresis: 2,
            temperature_hysteresis: 2.0,
        }
    }
}

/// Largest hysteresis accepted: beyond these a limit would practically never be released.
const MAX_CELL_HYSTERESIS_V: f64 = 0.5;
const MAX_SOC_HYSTERESIS_PCT: u8 = 20;
const MAX_TEMPERATURE_HYSTERESIS_C: f64 = 10.0;

impl ControlConfig {
    /// Every problem in the section, each named by its key path under `control.`.
    pub fn validate(&self) -> Result<(), Vec<ConfigProblem>> {
        let mut problems = Problems::default();
        self.check(&mut problems);
        problems.into_result()
    }

    pub(crate) fn check(&self, problems: &mut Problems) {
        let positive = |problems: &mut Problems, key: &str, value: f64, unit: &str| {
            if !(value.is_finite() && value > 0.0) {
                problems.push(
                    format!("control.{key}"),
                    format!("{value} {unit} must be a number above 0"),
                );
            }
        };
        positive(problems, "ramp_rate", self.ramp_rate, "A/s");
        positive(problems, "cvl_ramp_rate", self.cvl_ramp_rate, "V/s");
        let cells =
            f64::from(PLAUSIBLE_CELL_MIN_MV) / 1000.0..=f64::from(PLAUSIBLE_CELL_MAX_MV) / 1000.0;
        for (key, v) in [
            ("absorption_cell_voltage", self.absorption_cell_voltage),
            ("high_cell_voltage", self.high_cell_voltage),
        ] {
            if !v.is_finite() || !cells.contains(&v) {
                problems.push(
                    format!("control.{key}"),
                    format!(
                        "{v} V is outside {:.1}..={:.1} V (a per-cell value)",
                        cells.start(),
                        cells.end()
                    ),
                );
            }
        }
        if self.rebulk_soc > 100 {
            problems.push(
                "control.rebulk_soc",
                format!("{} % is above 100 %", self.rebulk_soc),
            );
        }
        if !(self.cell_hysteresis.is_finite()
            && (0.0..=MAX_CELL_HYSTERESIS_V).contains(&self.cell_hysteresis))
        {
            problems.push(
                "control.cell_hysteresis",
                format!(
                    "{} V is outside 0..={MAX_CELL_HYSTERESIS_V} V",
                    self.cell_hysteresis
                ),
            );
        }
        if self.soc_hysteresis > MAX_SOC_HYSTERESIS_PCT {
            problems.push(
                "control.soc_hysteresis",
                format!(
                    "{} % is above {MAX_SOC_HYSTERESIS_PCT} %",
                    self.soc_hysteresis
                ),
            );
        }
        if !(self.temperature_hysteresis.is_finite()
            && (0.0..=MAX_TEMPERATURE_HYSTERESIS_C).contains(&self.temperature_hysteresis))
        {
            problems.push(
                "control.temperature_hysteresis",
                format!(
                    "{} °C is outside 0..={MAX_TEMPERATURE_HYSTERESIS_C} °C",
                    self.temperature_hysteresis
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_an_empty_section_gives_them() {
        assert_eq!(ControlConfig::default().validate(), Ok(()));
        assert_eq!(
            toml::from_str::<ControlConfig>("").unwrap(),
            ControlConfig::default()
        );
    }

    #[test]
    fn durations_read_as_humans_write_them_and_survive_a_round_trip() {
        let c: ControlConfig = toml::from_str("absorption_time = \"1h 30m\"").unwrap();
        assert_eq!(c.absorption_time, Duration::from_secs(90 * 60));
        let text = toml::to_string_pretty(&ControlConfig::default()).unwrap();
        assert_eq!(
            toml::from_str::<ControlConfig>(&text).unwrap(),
            ControlConfig::default()
        );
    }

    #[test]
    fn unknown_keys_are_errors() {
        assert!(toml::from_str::<ControlConfig>("ramp = 5").is_err());
    }

    #[test]
    fn every_bad_value_is_named() {
        let c = ControlConfig {
            ramp_rate: 0.0,
            cvl_ramp_rate: f64::NAN,
            absorption_cell_voltage: 55.2,
            high_cell_voltage: 0.5,
            rebulk_soc: 101,
            cell_hysteresis: -0.01,
            soc_hysteresis: 50,
            temperature_hysteresis: 11.0,
            ..ControlConfig::default()
        };
        let keys: Vec<String> = c
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|p| p.key)
            .collect();
        assert_eq!(
            keys,
            vec![
                "control.ramp_rate",
                "control.cvl_ramp_rate",
                "control.absorption_cell_voltage",
                "control.high_cell_voltage",
                "control.rebulk_soc",
                "control.cell_hysteresis",
                "control.soc_hysteresis",
                "control.temperature_hysteresis",
            ]
        );
    }
}
