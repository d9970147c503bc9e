//! BMS alarms: which ones stop a pack from charging or discharging (DESIGN.md rule 2), and the
//! Victron/SMA 0x35A alarm and warning set the whole battery reports (victron-can.md §3.4).
//!
//! Severity on CAN: a condition that leaves the whole battery unable to charge (or discharge) is
//! an ALARM; the same condition in one pack while others still take the current is a WARNING
//! (the battery as a whole still works). Venus only shows these as notifications; SMA Sunny
//! Island stops on any alarm (victron-can.md §3.4), another reason not to raise an alarm for what
//! the other packs cover.

use crate::pack::Alarms;

/// Alarms that keep a pack out of the charge current (jk-nw.md §1.7, jk02.md §2.4; the
/// protection each bit stands for, victron-can.md §3.6):
/// - over-voltage of a cell or the pack, over-current in charge: the BMS protects charging;
/// - any over-temperature (MOSFET, sensors, box) and the JK "battery low temperature" bit 9,
///   which disables charging (AJ, jk-nw.md §1.7), and the JK02 charge temperature bits;
/// - short circuit, the "309" protections and the JK02 faults that make the readings themselves
///   doubtful (balance-wire resistance, co-processor link, cell count, sensor fault, other):
///   what is not heard reliably is not trusted.
///
/// Not blocking: low capacity (a SOC warning; jk-nw.md §1.7 "warning only") and cell voltage
/// difference (the cell tables already act on the extreme cells, which is what an imbalance
/// endangers).
pub const CHARGE_BLOCKING: Alarms = Alarms::MOSFET_OVER_TEMPERATURE
    .union(Alarms::CHARGE_OVER_VOLTAGE)
    .union(Alarms::BATTERY_OVER_TEMPERATURE)
    .union(Alarms::CHARGE_OVER_CURRENT)
    .union(Alarms::BOX_OVER_TEMPERATURE)
    .union(Alarms::BATTERY_LOW_TEMPERATURE)
    .union(Alarms::CELL_OVER_VOLTAGE)
    .union(Alarms::CHARGE_LOW_TEMPERATURE)
    .union(Alarms::CHARGE_OVER_TEMPERATURE)
    .union(FAULTS);

/// Alarms that keep a pack out of the discharge current: under-voltage of a cell or the pack,
/// over-current in discharge, over-temperature (MOSFET, sensors, box), the JK02 discharge
/// temperature bits, and the faults of [`CHARGE_BLOCKING`]. The JK bit 9 "battery low
/// temperature" does not block discharge (AJ: it disables charging only); the discharge
/// temperature table covers cold discharge.
pub const DISCHARGE_BLOCKING: Alarms = Alarms::MOSFET_OVER_TEMPERATURE
    .union(Alarms::DISCHARGE_UNDER_VOLTAGE)
    .union(Alarms::BATTERY_OVER_TEMPERATURE)
    .union(Alarms::DISCHARGE_OVER_CURRENT)
    .union(Alarms::BOX_OVER_TEMPERATURE)
    .union(Alarms::CELL_UNDER_VOLTAGE)
    .union(Alarms::DISCHARGE_LOW_TEMPERATURE)
    .union(Alarms::DISCHARGE_OVER_TEMPERATURE)
    .union(FAULTS);

/// Faults of the pack or its BMS that block both directions.
const FAULTS: Alarms = Alarms::SHORT_CIRCUIT
    .union(Alarms::PROTECTION_309_A)
    .union(Alarms::PROTECTION_309_B)
    .union(Alarms::WIRE_RESISTANCE)
    .union(Alarms::COPROCESSOR_COMMUNICATION)
    .union(Alarms::CELL_COUNT_MISMATCH)
    .union(Alarms::TEMPERATURE_SENSOR_FAULT)
    .union(Alarms::OTHER);

/// One 2-bit field of 0x35A (victron-can.md §3.4).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Flag {
    /// Not supported: crumb 00.
    #[default]
    Unsupported,
    /// Supported and clear: crumb 10.
    Ok,
    /// Raised: crumb 01.
    Active,
}

impl Flag {
    /// The 2-bit value on the wire (victron-can.md §3.4: 01 active, 10 OK, 00 not supported).
    pub const fn crumb(self) -> u8 {
        match self {
            Self::Unsupported => 0b00,
            Self::Ok => 0b10,
            Self::Active => 0b01,
        }
    }

    fn raised(active: bool) -> Self {
        if active {
            Self::Active
        } else {
            Self::Ok
        }
    }
}

/// The fields of one half of 0x35A (bytes 0–3 alarms, bytes 4–7 warnings), in table order
/// (victron-can.md §3.4); the reserved crumbs are left out (always 00).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AlarmFields {
    /// Byte 0/4 bits 0–1: raised when any other field of this half is.
    pub general: Flag,
    pub high_voltage: Flag,
    pub low_voltage: Flag,
    pub high_temperature: Flag,
    pub low_temperature: Flag,
    pub high_temperature_charge: Flag,
    pub low_temperature_charge: Flag,
    pub high_discharge_current: Flag,
    pub high_charge_current: Flag,
    /// No contactor in a JK pack: always [`Flag::Unsupported`].
    pub contactor: Flag,
    pub short_circuit: Flag,
    /// BMS internal: JK faults, and packs that went silent (DESIGN.md rule 7).
    pub bms_internal: Flag,
    pub cell_imbalance: Flag,
}

/// The whole 0x35A set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VictronAlarms {
    pub alarms: AlarmFields,
    pub warnings: AlarmFields,
}

/// The 0x35A fields a BMS alarm can raise, without `general` and `contactor`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    HighVoltage,
    LowVoltage,
    HighTemperature,
    LowTemperature,
    HighTemperatureCharge,
    LowTemperatureCharge,
    HighDischargeCurrent,
    HighChargeCurrent,
    ShortCircuit,
    BmsInternal,
    CellImbalance,
}

/// Which JK alarms raise which field: victron-can.md §3.6 for the NW bits ("high voltage ←
/// bits 2,10; low voltage ← 3,11; high temp ← 1,4,8; low temp ← 9; high discharge current ← 6;
/// high charge current ← 5; BMS internal ← 12,13; cell imbalance ← 7"), extended by meaning to
/// the JK02 bits (`pack.rs`). Low capacity (bit 0, "warning only") shows as a low-voltage
/// warning: the battery is nearly empty.
const MAPPING: [(Field, Alarms); 11] = [
    (
        Field::HighVoltage,
        Alarms::CHARGE_OVER_VOLTAGE.union(Alarms::CELL_OVER_VOLTAGE),
    ),
    (
        Field::LowVoltage,
        Alarms::DISCHARGE_UNDER_VOLTAGE
            .union(Alarms::CELL_UNDER_VOLTAGE)
            .union(Alarms::LOW_CAPACITY),
    ),
    (
        Field::HighTemperature,
        Alarms::MOSFET_OVER_TEMPERATURE
            .union(Alarms::BATTERY_OVER_TEMPERATURE)
            .union(Alarms::BOX_OVER_TEMPERATURE)
            .union(Alarms::DISCHARGE_OVER_TEMPERATURE),
    ),
    (
        Field::LowTemperature,
        Alarms::BATTERY_LOW_TEMPERATURE.union(Alarms::DISCHARGE_LOW_TEMPERATURE),
    ),
    (
        Field::HighTemperatureCharge,
        Alarms::CHARGE_OVER_TEMPERATURE,
    ),
    (Field::LowTemperatureCharge, Alarms::CHARGE_LOW_TEMPERATURE),
    (Field::HighDischargeCurrent, Alarms::DISCHARGE_OVER_CURRENT),
    (Field::HighChargeCurrent, Alarms::CHARGE_OVER_CURRENT),
    (Field::ShortCircuit, Alarms::SHORT_CIRCUIT),
    (
        Field::BmsInternal,
        Alarms::PROTECTION_309_A
            .union(Alarms::PROTECTION_309_B)
            .union(Alarms::WIRE_RESISTANCE)
            .union(Alarms::COPROCESSOR_COMMUNICATION)
            .union(Alarms::CELL_COUNT_MISMATCH)
            .union(Alarms::TEMPERATURE_SENSOR_FAULT)
            .union(Alarms::OTHER),
    ),
    (Field::CellImbalance, Alarms::CELL_VOLTAGE_DIFFERENCE),
];

/// What the whole battery looks like, as far as 0x35A needs it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AlarmInputs {
    /// Union of the alarms of the online packs (an offline pack's last alarms are not heard now,
    /// so they are not reported; its silence is).
    pub active: Alarms,
    /// No online pack may charge: the sum of charge contributions is 0.
    pub charge_impossible: bool,
    /// No online pack may discharge.
    pub discharge_impossible: bool,
    pub online: usize,
    pub offline: usize,
}

/// How bad a field is, in rising order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Severity {
    Clear,
    Warning,
    Alarm,
}

impl VictronAlarms {
    /// The 0x35A set for the battery.
    pub fn evaluate(inputs: &AlarmInputs) -> Self {
        let severity_of = |bits: Alarms| -> Severity {
            let raised = inputs.active & bits;
            if raised.is_empty() {
                return Severity::Clear;
            }
            let stops_charge = raised.intersects(CHARGE_BLOCKING) && inputs.charge_impossible;
            let stops_discharge =
                raised.intersects(DISCHARGE_BLOCKING) && inputs.discharge_impossible;
            if stops_charge || stops_discharge {
                Severity::Alarm
            } else {
                Severity::Warning
            }
        };
        let mut out = Self::default();
        for (field, bits) in MAPPING {
            let mut severity = severity_of(bits);
            if field == Field::BmsInternal && inputs.offline > 0 {
                // DESIGN.md rule 7: every pack silent is an alarm; some silent, the others
                // carrying on, a warning.
                let silence = if inputs.online == 0 {
                    Severity::Alarm
                } else {
                    Severity::Warning
                };
                severity = severity.max(silence);
            }
            out.set(field, severity);
        }
        out.alarms.general = Flag::raised(out.alarms.any_raised());
        out.warnings.general = Flag::raised(out.warnings.any_raised());
        // A JK pack has no contactor.
        out.alarms.contactor = Flag::Unsupported;
        out.warnings.contactor = Flag::Unsupported;
        out
    }

    fn set(&mut self, field: Field, severity: Severity) {
        let alarm = Flag::raised(severity == Severity::Alarm);
        let warning = Flag::raised(severity == Severity::Warning);
        for (fields, flag) in [(&mut self.alarms, alarm), (&mut self.warnings, warning)] {
            *fields.field_mut(field) = flag;
        }
    }
}

impl AlarmFields {
    fn field_mut(&mut self, field: Field) -> &mut Flag {
        match field {
            Field::HighVoltage => &mut self.high_voltage,
            Field::LowVoltage => &mut self.low_voltage,
            Field::HighTemperature => &mut self.high_temperature,
            Field::LowTemperature => &mut self.low_temperature,
            Field::HighTemperatureCharge => &mut self.high_temperature_charge,
            Field::LowTemperatureCharge => &mut self.low_temperature_charge,
            Field::HighDischargeCurrent => &mut self.high_discharge_current,
            Field::HighChargeCurrent => &mut self.high_charge_current,
            Field::ShortCircuit => &mut self.short_circuit,
            Field::BmsInternal => &mut self.bms_internal,
            Field::CellImbalance => &mut self.cell_imbalance,
        }
    }

    /// Any field other than `general` raised.
    pub fn any_raised(&self) -> bool {
        [
            self.high_voltage,
            self.low_voltage,
            self.high_temperature,
            self.low_temperature,
            self.high_temperature_charge,
            self.low_temperature_charge,
            self.high_discharge_current,
            self.high_charge_current,
            self.contactor,
            self.short_circuit,
            self.bms_internal,
            self.cell_imbalance,
        ]
        .contains(&Flag::Active)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(active: Alarms) -> AlarmInputs {
        AlarmInputs {
            active,
            charge_impossible: false,
            discharge_impossible: false,
            online: 5,
            offline: 0,
        }
    }

    #[test]
    fn all_clear_is_ok_everywhere_but_the_contactor() {
        let v = VictronAlarms::evaluate(&inputs(Alarms::empty()));
        for half in [v.alarms, v.warnings] {
            assert_eq!(half.general, Flag::Ok);
            assert_eq!(half.high_voltage, Flag::Ok);
            assert_eq!(half.bms_internal, Flag::Ok);
            assert_eq!(half.contactor, Flag::Unsupported);
            assert!(!half.any_raised());
        }
    }

    #[test]
    fn one_pack_over_voltage_that_others_cover_is_a_warning() {
        let v = VictronAlarms::evaluate(&inputs(Alarms::CELL_OVER_VOLTAGE));
        assert_eq!(v.warnings.high_voltage, Flag::Active);
        assert_eq!(v.warnings.general, Flag::Active);
        assert_eq!(v.alarms.high_voltage, Flag::Ok);
        assert_eq!(v.alarms.general, Flag::Ok);
    }

    #[test]
    fn over_voltage_with_no_pack_left_to_charge_is_an_alarm() {
        let mut i = inputs(Alarms::CELL_OVER_VOLTAGE);
        i.charge_impossible = true;
        let v = VictronAlarms::evaluate(&i);
        assert_eq!(v.alarms.high_voltage, Flag::Active);
        assert_eq!(v.alarms.general, Flag::Active);
        assert_eq!(v.warnings.high_voltage, Flag::Ok);
        // Discharge is still possible: a charge-only condition does not become a discharge alarm.
        let mut i = inputs(Alarms::CELL_OVER_VOLTAGE);
        i.discharge_impossible = true;
        assert_eq!(
            VictronAlarms::evaluate(&i).warnings.high_voltage,
            Flag::Active
        );
    }

    #[test]
    fn non_blocking_alarms_are_always_warnings() {
        let mut i = inputs(Alarms::LOW_CAPACITY | Alarms::CELL_VOLTAGE_DIFFERENCE);
        i.charge_impossible = true;
        i.discharge_impossible = true;
        let v = VictronAlarms::evaluate(&i);
        assert_eq!(v.warnings.low_voltage, Flag::Active);
        assert_eq!(v.warnings.cell_imbalance, Flag::Active);
        assert_eq!(v.alarms.low_voltage, Flag::Ok);
        assert_eq!(v.alarms.cell_imbalance, Flag::Ok);
    }

    #[test]
    fn jk_bits_map_as_victron_can_3_6_says() {
        let cases = [
            (Alarms::CHARGE_OVER_VOLTAGE, "high_voltage"),
            (Alarms::DISCHARGE_UNDER_VOLTAGE, "low_voltage"),
            (Alarms::CELL_UNDER_VOLTAGE, "low_voltage"),
            (Alarms::MOSFET_OVER_TEMPERATURE, "high_temperature"),
            (Alarms::BATTERY_OVER_TEMPERATURE, "high_temperature"),
            (Alarms::BOX_OVER_TEMPERATURE, "high_temperature"),
            (Alarms::BATTERY_LOW_TEMPERATURE, "low_temperature"),
            (Alarms::DISCHARGE_OVER_CURRENT, "high_discharge_current"),
            (Alarms::CHARGE_OVER_CURRENT, "high_charge_current"),
            (Alarms::PROTECTION_309_A, "bms_internal"),
            (Alarms::PROTECTION_309_B, "bms_internal"),
            (Alarms::CELL_VOLTAGE_DIFFERENCE, "cell_imbalance"),
            (Alarms::SHORT_CIRCUIT, "short_circuit"),
            (Alarms::CHARGE_LOW_TEMPERATURE, "low_temperature_charge"),
            (Alarms::CHARGE_OVER_TEMPERATURE, "high_temperature_charge"),
        ];
        for (bit, name) in cases {
            let w = VictronAlarms::evaluate(&inputs(bit)).warnings;
            let raised: Vec<&str> = [
                ("high_voltage", w.high_voltage),
                ("low_voltage", w.low_voltage),
                ("high_temperature", w.high_temperature),
                ("low_temperature", w.low_temperature),
                ("high_temperature_charge", w.high_temperature_charge),
                ("low_temperature_charge", w.low_temperature_charge),
                ("high_discharge_current", w.high_discharge_current),
                ("high_charge_current", w.high_charge_current),
                ("short_circuit", w.short_circuit),
                ("bms_internal", w.bms_internal),
                ("cell_imbalance", w.cell_imbalance),
            ]
            .into_iter()
            .filter(|(_, f)| *f == Flag::Active)
            .map(|(n, _)| n)
            .collect();
            assert_eq!(raised, vec![name], "{bit:?}");
        }
    }

    #[test]
    fn some_packs_silent_is_a_warning_all_silent_an_alarm() {
        let mut i = inputs(Alarms::empty());
        i.online = 4;
        i.offline = 1;
        let v = VictronAlarms::evaluate(&i);
        assert_eq!(v.warnings.bms_internal, Flag::Active);
        assert_eq!(v.alarms.bms_internal, Flag::Ok);
        i.online = 0;
        i.offline = 5;
        let v = VictronAlarms::evaluate(&i);
        assert_eq!(v.alarms.bms_internal, Flag::Active);
        assert_eq!(v.alarms.general, Flag::Active);
        assert_eq!(v.warnings.bms_internal, Flag::Ok);
    }

    #[test]
    fn crumbs_are_the_wire_values() {
        assert_eq!(Flag::Active.crumb(), 0b01);
        assert_eq!(Flag::Ok.crumb(), 0b10);
        assert_eq!(Flag::Unsupported.crumb(), 0b00);
    }

    #[test]
    fn low_capacity_blocks_nothing_and_bit_9_blocks_only_charge() {
        assert!(!CHARGE_BLOCKING.intersects(Alarms::LOW_CAPACITY | Alarms::CELL_VOLTAGE_DIFFERENCE));
        assert!(
            !DISCHARGE_BLOCKING.intersects(Alarms::LOW_CAPACITY | Alarms::CELL_VOLTAGE_DIFFERENCE)
        );
        assert!(CHARGE_BLOCKING.contains(Alarms::BATTERY_LOW_TEMPERATURE));
        assert!(!DISCHARGE_BLOCKING.contains(Alarms::BATTERY_LOW_TEMPERATURE));
        assert!(CHARGE_BLOCKING.contains(Alarms::CELL_OVER_VOLTAGE));
        assert!(!DISCHARGE_BLOCKING.contains(Alarms::CELL_OVER_VOLTAGE));
        assert!(DISCHARGE_BLOCKING.contains(Alarms::CELL_UNDER_VOLTAGE));
        assert!(!CHARGE_BLOCKING.contains(Alarms::CELL_UNDER_VOLTAGE));
    }
}
