//! Everything the core needs to know, in integer milli-units, built from plain values by the
//! daemon's config glue (not from the file itself, so tests and the simulator build it directly).

use std::time::Duration;

use super::config_problem::{ConfigProblem, Problems};
use super::control_config::ControlConfig;
use super::limits_config::LimitsConfig;
use crate::pack::{MAX_CELLS, PLAUSIBLE_CELL_MAX_MV, PLAUSIBLE_CELL_MIN_MV};

/// One `[[pack]]`, as far as the core cares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackSettings {
    /// Shown in logs and reasons ("pack3 charge limited by ...").
    pub name: String,
    /// mA: this pack's base charge current when nothing limits it.
    pub max_charge_current_ma: u32,
    /// mA: this pack's base discharge current.
    pub max_discharge_current_ma: u32,
}

/// The battery as the inverter should see it, and the packs in config order.
#[derive(Clone, Debug, PartialEq)]
pub struct BatterySettings {
    /// Cells in series, the same for every pack.
    pub cells: usize,
    /// mV per cell in absorption: CVL = cells × this.
    pub charge_voltage_mv: u32,
    /// mV per cell in float.
    pub float_voltage_mv: u32,
    /// mV per cell: DVL = cells × this.
    pub discharge_voltage_mv: u32,
    /// mA: the cap for the whole system (DESIGN.md rule 3).
    pub max_charge_current_ma: u32,
    /// mA.
    pub max_discharge_current_ma: u32,
    /// A pack whose last valid reading is this old is offline (DESIGN.md rule 1).
    pub offline_after: Duration,
    /// In config order; the index into this is the pack index everywhere in the core.
    pub packs: Vec<PackSettings>,
    pub limits: LimitsConfig,
    pub control: ControlConfig,
}

/// Converts a value in V or A (as the config file writes them) to mV or mA, rounding to the
/// nearest. `None` for negative, non-finite or too large values (the loader has already
/// rejected those; this keeps the glue free of `as` casts).
pub fn to_milli(value: f64) -> Option<u32> {
    let milli = (value * 1000.0).round();
    (milli.is_finite() && (0.0..=f64::from(u32::MAX)).contains(&milli)).then_some(milli as u32)
}

/// Largest current a CAN frame can carry, in mA:
/// [`MAX_CAN_CURRENT_A`](super::limits_config::MAX_CAN_CURRENT_A) (victron-can.md §3.2:
/// s16 × 0.1 A), written out because 3276.7 × 1000 is not exact in f64.
pub const MAX_CAN_CURRENT_MA: u32 = 3_276_700;

impl BatterySettings {
    /// Everything that would make the core's arithmetic meaningless, named by config key
    /// (`battery.cells`, `pack[2].max_charge_current`, `limits.…`, `control.…`).
    pub fn validate(&self) -> Result<(), Vec<ConfigProblem>> {
        let mut problems = Problems::default();
        if !(1..=MAX_CELLS).contains(&self.cells) {
            problems.push(
                "battery.cells",
                format!("{} cells: busbar supports 1..={MAX_CELLS}", self.cells),
            );
        }
        let plausible = u32::from(PLAUSIBLE_CELL_MIN_MV)..=u32::from(PLAUSIBLE_CELL_MAX_MV);
        for (key, mv) in [
            ("battery.charge_voltage", self.charge_voltage_mv),
            ("battery.float_voltage", self.float_voltage_mv),
            ("battery.discharge_voltage", self.discharge_voltage_mv),
        ] {
            if !plausible.contains(&mv) {
                problems.push(
                    key,
                    format!("{mv} mV per cell is not a plausible cell voltage"),
                );
            }
        }
        if self.float_voltage_mv > self.charge_voltage_mv {
            problems.push(
                "battery.float_voltage",
                "float voltage is above the charge (absorption) voltage",
            );
        }
        if self.discharge_voltage_mv >= self.float_voltage_mv {
            problems.push(
                "battery.discharge_voltage",
                "discharge voltage must be below the float voltage (CVL is never below DVL)",
            );
        }
        for (key, ma) in [
            ("battery.max_charge_current", self.max_charge_current_ma),
            (
                "battery.max_discharge_current",
                self.max_discharge_current_ma,
            ),
        ] {
            if ma > MAX_CAN_CURRENT_MA {
                problems.push(
                    key,
                    format!("{ma} mA is more than CAN frame 0x351 can carry"),
                );
            }
        }
        if self.offline_after.is_zero() {
            problems.push("timing.offline_after", "must be longer than 0");
        }
        if self.packs.is_empty() {
            problems.push("pack", "at least one [[pack]] is needed");
        }
        for (i, pack) in self.packs.iter().enumerate() {
            if pack.name.is_empty() {
                problems.push(format!("pack[{i}].name"), "a pack needs a name");
            } else if self.packs[..i].iter().any(|p| p.name == pack.name) {
                problems.push(
                    format!("pack[{i}].name"),
                    format!("the name {:?} is used twice", pack.name),
                );
            }
            for (key, ma) in [
                ("max_charge_current", pack.max_charge_current_ma),
                ("max_discharge_current", pack.max_discharge_current_ma),
            ] {
                if ma > MAX_CAN_CURRENT_MA {
                    problems.push(
                        format!("pack[{i}].{key}"),
                        format!("{ma} mA is more than CAN frame 0x351 can carry"),
                    );
                }
            }
        }
        self.limits.check(&mut problems);
        self.control.check(&mut problems);
        problems.into_result()
    }

    /// CVL in absorption, mV.
    pub fn absorption_cvl_mv(&self) -> u32 {
        self.battery_mv(self.charge_voltage_mv)
    }

    /// CVL in float, mV.
    pub fn float_cvl_mv(&self) -> u32 {
        self.battery_mv(self.float_voltage_mv)
    }

    /// DVL, mV.
    pub fn dvl_mv(&self) -> u32 {
        self.battery_mv(self.discharge_voltage_mv)
    }

    fn battery_mv(&self, per_cell_mv: u32) -> u32 {
        // cells ≤ MAX_CELLS (32) and per-cell ≤ 5000 mV after validation: no overflow; saturate
        // rather than wrap if called on unvalidated settings.
        u32::try_from(self.cells)
            .unwrap_or(u32::MAX)
            .saturating_mul(per_cell_mv)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The seed set-up: 5 packs 16S, 60 A / 70 A each, caps 300 / 350 A.
    pub(crate) fn seed() -> BatterySettings {
        BatterySettings {
            cells: 16,
            charge_voltage_mv: 3450,
            float_voltage_mv: 3375,
            discharge_voltage_mv: 2900,
            max_charge_current_ma: 300_000,
            max_discharge_current_ma: 350_000,
            offline_after: Duration::from_secs(3),
            packs: (1..=5)
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

    #[test]
    fn seed_is_valid_and_gives_the_design_voltages() {
        let s = seed();
        assert_eq!(s.validate(), Ok(()));
        assert_eq!(s.absorption_cvl_mv(), 55_200);
        assert_eq!(s.float_cvl_mv(), 54_000);
        assert_eq!(s.dvl_mv(), 46_400);
    }

    #[test]
    fn to_milli_rounds_and_refuses_nonsense() {
        assert_eq!(to_milli(3.45), Some(3450));
        assert_eq!(to_milli(3.375), Some(3375));
        assert_eq!(to_milli(60.0), Some(60_000));
        assert_eq!(to_milli(-1.0), None);
        assert_eq!(to_milli(f64::NAN), None);
        assert_eq!(to_milli(1e12), None);
    }

    #[test]
    fn problems_name_the_config_key() {
        let mut s = seed();
        s.cells = 0;
        s.float_voltage_mv = 3500;
        s.packs[2].name = "pack1".into();
        s.packs[3].max_discharge_current_ma = 4_000_000;
        s.control.ramp_rate = -1.0;
        let keys: Vec<String> = s
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|p| p.key)
            .collect();
        assert_eq!(
            keys,
            vec![
                "battery.cells",
                "battery.float_voltage",
                "pack[2].name",
                "pack[3].max_discharge_current",
                "control.ramp_rate",
            ]
        );
    }
}
