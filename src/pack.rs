//! What one pack says about itself, in one typed snapshot that every codec fills (jk-nw today,
//! jk-pb later) and the core reads. Pure data: no I/O, no clock.
//!
//! Units are integers in milli- or deci- units so that thresholds compare exactly
//! (3.55 V is 3550 mV, not 3.5499999). Conversion to V / A / °C happens at the edges
//! ([`PackJson`], logs).

use bitflags::bitflags;
use serde::Serialize;

/// Most cells any supported BMS reports (JK-PB / JK02_32S: 32).
pub const MAX_CELLS: usize = 32;
/// Most temperature sensors any supported BMS reports besides the MOSFET sensor
/// (JK02_32S: T1..T5).
pub const MAX_TEMPERATURE_SENSORS: usize = 8;

/// Cell voltages in mV, cell 1 first.
pub type CellVoltages = heapless::Vec<u16, MAX_CELLS>;
/// Temperatures in 0.1 °C, sensor T1 first.
pub type Temperatures = heapless::Vec<i16, MAX_TEMPERATURE_SENSORS>;
/// A short ASCII text from the BMS (version, model, ...), trimmed of NUL and padding.
pub type ShortText = heapless::String<32>;

bitflags! {
    /// Alarms a BMS reports, normalised across protocols.
    ///
    /// Bits 0–13 are the JK NW alarm word (ID 0x8B, `protocols/jk-nw.md` §1.7) bit for bit, so the
    /// NW codec copies that word straight in. Bits 16 and up are alarms only other JK protocols
    /// report (JK02, `protocols/jk02.md`).
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct Alarms: u32 {
        const LOW_CAPACITY = 1 << 0;
        const MOSFET_OVER_TEMPERATURE = 1 << 1;
        const CHARGE_OVER_VOLTAGE = 1 << 2;
        const DISCHARGE_UNDER_VOLTAGE = 1 << 3;
        const BATTERY_OVER_TEMPERATURE = 1 << 4;
        const CHARGE_OVER_CURRENT = 1 << 5;
        const DISCHARGE_OVER_CURRENT = 1 << 6;
        const CELL_VOLTAGE_DIFFERENCE = 1 << 7;
        const BOX_OVER_TEMPERATURE = 1 << 8;
        const BATTERY_LOW_TEMPERATURE = 1 << 9;
        const CELL_OVER_VOLTAGE = 1 << 10;
        const CELL_UNDER_VOLTAGE = 1 << 11;
        const PROTECTION_309_A = 1 << 12;
        const PROTECTION_309_B = 1 << 13;
        // JK02-only alarms (jk02.md) start here.
        const SHORT_CIRCUIT = 1 << 16;
        const CHARGE_LOW_TEMPERATURE = 1 << 17;
        const DISCHARGE_LOW_TEMPERATURE = 1 << 18;
        const CHARGE_OVER_TEMPERATURE = 1 << 19;
        const DISCHARGE_OVER_TEMPERATURE = 1 << 20;
        const WIRE_RESISTANCE = 1 << 21;
        const COPROCESSOR_COMMUNICATION = 1 << 22;
        const CELL_COUNT_MISMATCH = 1 << 23;
        const TEMPERATURE_SENSOR_FAULT = 1 << 24;
        const OTHER = 1 << 31;
    }
}

impl Alarms {
    /// The alarm names in snake_case, as the JSON and logs show them.
    pub fn names(&self) -> impl Iterator<Item = String> + '_ {
        self.iter_names().map(|(name, _)| name.to_ascii_lowercase())
    }
}

/// Identity of the BMS, as far as the protocol tells it. Empty strings where it does not.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DeviceInfo {
    pub software_version: ShortText,
    pub hardware_version: ShortText,
    pub device_id: ShortText,
    pub manufacturer: ShortText,
    pub manufacture_date: ShortText,
}

/// What the BMS itself is set to, where its protocol reports it (JK02 settings frame,
/// `protocols/jk02.md` §2.5). Read rarely; carried with each reading of the pack.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct BmsSettings {
    /// Cells in series the BMS is set to.
    pub cells: u32,
    /// Design capacity in mAh.
    pub capacity_mah: u32,
    /// The BMS's own charge over-current protection, mA.
    pub max_charge_current_ma: u32,
    /// The BMS's own discharge over-current protection, mA.
    pub max_discharge_current_ma: u32,
}

/// One complete, checksum-verified reading of a pack.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PackSnapshot {
    /// Cell voltages in mV, cell 1 first.
    pub cell_voltages_mv: CellVoltages,
    /// Battery temperature sensors T1..Tn in 0.1 °C.
    pub temperatures_dc: Temperatures,
    /// MOSFET (power tube) temperature in 0.1 °C, if the BMS reports one.
    pub mos_temperature_dc: Option<i16>,
    /// Pack voltage in mV.
    pub voltage_mv: u32,
    /// Pack current in mA, positive = charging.
    pub current_ma: i32,
    /// State of charge in %, 0..=100.
    pub soc_pct: u8,
    pub cycles: u32,
    /// Nominal (configured) capacity in Ah.
    pub capacity_ah: f32,
    /// Remaining capacity in Ah, where the BMS reports it.
    pub remaining_capacity_ah: Option<f32>,
    /// Charge MOSFET on (current may flow into the pack).
    pub charge_mosfet: bool,
    /// Discharge MOSFET on.
    pub discharge_mosfet: bool,
    /// The balancer is working right now.
    pub balancing: bool,
    /// Balancing current in mA, where the BMS reports it (jk-pb); + = charging the low cell.
    pub balance_current_ma: Option<i16>,
    pub alarms: Alarms,
    pub device: DeviceInfo,
    /// The BMS's own settings, where the protocol reports them (jk-pb).
    pub bms_settings: Option<BmsSettings>,
}

/// Why a reading that passed its checksum is still not believed (DESIGN.md safety rule 1).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Implausible {
    #[error("{got} cells reported, {expected} configured")]
    CellCount { expected: usize, got: usize },
    #[error(
        "cell {cell} at {mv} mV is outside {PLAUSIBLE_CELL_MIN_MV}..={PLAUSIBLE_CELL_MAX_MV} mV"
    )]
    CellVoltage { cell: usize, mv: u16 },
    #[error("pack voltage {pack_mv} mV differs from the cell sum {sum_mv} mV by more than 5 %")]
    PackVoltage { pack_mv: u32, sum_mv: u32 },
    #[error("SOC {0} % is above 100 %")]
    Soc(u8),
}

/// DESIGN.md rule 1: every cell 1.0–5.0 V.
pub const PLAUSIBLE_CELL_MIN_MV: u16 = 1000;
pub const PLAUSIBLE_CELL_MAX_MV: u16 = 5000;

impl PackSnapshot {
    /// DESIGN.md safety rule 1: a reading is valid only with the configured cell count, every cell
    /// within 1.0–5.0 V and the pack voltage within 5 % of the cell sum.
    pub fn check_plausible(&self, expected_cells: usize) -> Result<(), Implausible> {
        let got = self.cell_voltages_mv.len();
        if got != expected_cells {
            return Err(Implausible::CellCount {
                expected: expected_cells,
                got,
            });
        }
        for (i, &mv) in self.cell_voltages_mv.iter().enumerate() {
            if !(PLAUSIBLE_CELL_MIN_MV..=PLAUSIBLE_CELL_MAX_MV).contains(&mv) {
                return Err(Implausible::CellVoltage { cell: i + 1, mv });
            }
        }
        let sum_mv = self.cell_sum_mv();
        // |pack - sum| <= 5 % of sum, in integers: 20 * |diff| <= sum.
        if 20 * u64::from(self.voltage_mv.abs_diff(sum_mv)) > u64::from(sum_mv) {
            return Err(Implausible::PackVoltage {
                pack_mv: self.voltage_mv,
                sum_mv,
            });
        }
        if self.soc_pct > 100 {
            return Err(Implausible::Soc(self.soc_pct));
        }
        Ok(())
    }

    /// Sum of the cell voltages in mV.
    pub fn cell_sum_mv(&self) -> u32 {
        self.cell_voltages_mv.iter().map(|&mv| u32::from(mv)).sum()
    }

    /// Lowest cell: (1-based cell number, mV). `None` with no cells.
    pub fn min_cell(&self) -> Option<(usize, u16)> {
        // min_by_key keeps the first of equal cells, which is what a user expects to see named.
        self.cell_voltages_mv
            .iter()
            .enumerate()
            .min_by_key(|&(_, &mv)| mv)
            .map(|(i, &mv)| (i + 1, mv))
    }

    /// Highest cell: (1-based cell number, mV). `None` with no cells.
    pub fn max_cell(&self) -> Option<(usize, u16)> {
        // max_by_key returns the last of equal maxima; reverse so the first one is named.
        self.cell_voltages_mv
            .iter()
            .enumerate()
            .rev()
            .max_by_key(|&(_, &mv)| mv)
            .map(|(i, &mv)| (i + 1, mv))
    }

    /// The pack as the JSON object of DESIGN.md (`probe --json`, status API).
    pub fn to_json(&self) -> PackJson {
        PackJson::from(self)
    }
}

/// The pack JSON object fixed by DESIGN.md ("Pack JSON"), in V / A / °C.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PackJson {
    pub voltage: f64,
    pub current: f64,
    pub soc: u8,
    pub cell_voltages: Vec<f64>,
    pub temperatures: Vec<f64>,
    pub mos_temperature: Option<f64>,
    pub charge_enabled: bool,
    pub discharge_enabled: bool,
    pub balancing: bool,
    pub cycles: u32,
    pub capacity_ah: f64,
    pub alarms: Vec<String>,
    // Extra fields, welcome per DESIGN.md.
    pub remaining_capacity_ah: Option<f64>,
    pub cell_min: Option<CellJson>,
    pub cell_max: Option<CellJson>,
    pub cell_delta: f64,
    pub power: f64,
    /// A, where the BMS reports it (jk-pb).
    pub balance_current: Option<f64>,
    pub device: DeviceInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bms_settings: Option<BmsSettings>,
}

/// One named cell in the JSON: `{"cell": 12, "voltage": 3.47}`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct CellJson {
    pub cell: usize,
    pub voltage: f64,
}

fn milli(v: i64) -> f64 {
    v as f64 / 1000.0
}

fn deci(v: i16) -> f64 {
    f64::from(v) / 10.0
}

impl From<&PackSnapshot> for PackJson {
    fn from(p: &PackSnapshot) -> Self {
        let cell = |c: Option<(usize, u16)>| {
            c.map(|(cell, mv)| CellJson {
                cell,
                voltage: milli(mv.into()),
            })
        };
        let delta_mv = match (p.min_cell(), p.max_cell()) {
            (Some((_, lo)), Some((_, hi))) => hi - lo,
            _ => 0,
        };
        let voltage = milli(p.voltage_mv.into());
        let current = milli(p.current_ma.into());
        PackJson {
            voltage,
            current,
            soc: p.soc_pct,
            cell_voltages: p
                .cell_voltages_mv
                .iter()
                .map(|&mv| milli(mv.into()))
                .collect(),
            temperatures: p.temperatures_dc.iter().map(|&t| deci(t)).collect(),
            mos_temperature: p.mos_temperature_dc.map(deci),
            charge_enabled: p.charge_mosfet,
            discharge_enabled: p.discharge_mosfet,
            balancing: p.balancing,
            cycles: p.cycles,
            capacity_ah: f64::from(p.capacity_ah),
            alarms: p.alarms.names().collect(),
            remaining_capacity_ah: p.remaining_capacity_ah.map(f64::from),
            cell_min: cell(p.min_cell()),
            cell_max: cell(p.max_cell()),
            cell_delta: milli(delta_mv.into()),
            // Rounded to 10 mW so the JSON does not show float noise.
            power: (voltage * current * 100.0).round() / 100.0,
            balance_current: p.balance_current_ma.map(|ma| milli(ma.into())),
            device: p.device.clone(),
            bms_settings: p.bms_settings,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pack(cells: &[u16], voltage_mv: u32) -> PackSnapshot {
        PackSnapshot {
            cell_voltages_mv: cells.iter().copied().collect(),
            voltage_mv,
            soc_pct: 50,
            ..PackSnapshot::default()
        }
    }

    #[test]
    fn plausible_pack_passes() {
        let p = pack(&[3300; 16], 52_800);
        assert_eq!(p.check_plausible(16), Ok(()));
    }

    #[test]
    fn wrong_cell_count_is_implausible() {
        let p = pack(&[3300; 15], 49_500);
        assert_eq!(
            p.check_plausible(16),
            Err(Implausible::CellCount {
                expected: 16,
                got: 15
            })
        );
    }

    #[test]
    fn cell_outside_one_to_five_volts_is_implausible() {
        let mut cells = [3300u16; 16];
        cells[4] = 999;
        let p = pack(&cells, 49_500);
        assert_eq!(
            p.check_plausible(16),
            Err(Implausible::CellVoltage { cell: 5, mv: 999 })
        );
        cells[4] = 5001;
        let p = pack(&cells, 54_500);
        assert_eq!(
            p.check_plausible(16),
            Err(Implausible::CellVoltage { cell: 5, mv: 5001 })
        );
        // The bounds themselves are plausible.
        cells[4] = 1000;
        cells[5] = 5000;
        let p = pack(&cells, cells.iter().map(|&c| u32::from(c)).sum());
        assert_eq!(p.check_plausible(16), Ok(()));
    }

    #[test]
    fn pack_voltage_more_than_five_percent_off_the_cell_sum_is_implausible() {
        // Sum 52.8 V; 5 % = 2.64 V.
        assert_eq!(
            pack(&[3300; 16], 52_800 + 2_640).check_plausible(16),
            Ok(())
        );
        assert_eq!(
            pack(&[3300; 16], 52_800 - 2_640).check_plausible(16),
            Ok(())
        );
        assert_eq!(
            pack(&[3300; 16], 52_800 + 2_641).check_plausible(16),
            Err(Implausible::PackVoltage {
                pack_mv: 55_441,
                sum_mv: 52_800
            })
        );
        assert!(pack(&[3300; 16], 0).check_plausible(16).is_err());
    }

    #[test]
    fn min_and_max_cell_name_the_first_of_equals() {
        let p = pack(&[3300, 3290, 3310, 3290, 3310], 16_500);
        assert_eq!(p.min_cell(), Some((2, 3290)));
        assert_eq!(p.max_cell(), Some((3, 3310)));
        assert_eq!(PackSnapshot::default().min_cell(), None);
    }

    #[test]
    fn json_uses_volts_amps_and_alarm_names() {
        let mut p = pack(&[3300, 3310], 6_610);
        p.current_ma = -690;
        p.temperatures_dc.push(-10).unwrap(); // capacity 8 > 1: cannot fail
        p.alarms = Alarms::CELL_OVER_VOLTAGE | Alarms::LOW_CAPACITY;
        let j = p.to_json();
        assert_eq!(j.voltage, 6.61);
        assert_eq!(j.current, -0.69);
        assert_eq!(j.cell_voltages, vec![3.3, 3.31]);
        assert_eq!(j.temperatures, vec![-1.0]);
        assert_eq!(j.alarms, vec!["low_capacity", "cell_over_voltage"]);
        assert_eq!(j.cell_delta, 0.01);
    }
}
