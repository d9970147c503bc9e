//! Where the flag fields sit and which values mean "not known": the facts the encoder, the
//! decoder and `dbc/busbar.dbc` must agree on, kept in one place.
//!
//! ## 0x35A alarms and warnings (victron-can.md §3.4)
//!
//! Crumb *i* (a 2-bit field) of a half sits in byte `i / 4` of the half, bits `2 (i % 4)` and
//! `2 (i % 4) + 1`. Bytes 0–3 are the alarms, bytes 4–7 the warnings, same layout.
//!
//! | crumb | field | | crumb | field |
//! |---|---|---|---|---|
//! | 0 | general | | 7 | high (discharge) current |
//! | 1 | high voltage | | 8 | high charge current |
//! | 2 | low voltage | | 9 | contactor |
//! | 3 | high temperature | | 10 | short circuit |
//! | 4 | low temperature | | 11 | BMS internal |
//! | 5 | high temperature while charging | | 12 | cell imbalance |
//! | 6 | low temperature while charging | | 13–15 | reserved (always 00) |
//!
//! Crumb values: 01 raised, 10 OK, 00 and 11 not supported.
//!
//! ## 0x359 Pylon protection and alarm bits (victron-can.md §3.3)
//!
//! | byte | mask | [`PYLON_PROTECTION`] | | byte | mask | [`PYLON_ALARM`] |
//! |---|---|---|---|---|---|---|
//! | 0 | 0x02 | over-voltage | | 2 | 0x02 | high voltage |
//! | 0 | 0x04 | under-voltage | | 2 | 0x04 | low voltage |
//! | 0 | 0x08 | over-temperature | | 2 | 0x08 | high temperature |
//! | 0 | 0x10 | under-temperature | | 2 | 0x10 | low temperature |
//! | 0 | 0x80 | discharge over-current | | 2 | 0x80 | discharge high current |
//! | 1 | 0x01 | charge over-current | | 3 | 0x01 | charge high current |
//! | 1 | 0x08 | system error | | 3 | 0x08 | internal communication fail |
//!
//! Byte 4 module count, bytes 5–6 "PN", byte 7 zero.
//!
//! ## 0x35C Pylon request bits (victron-can.md §3.5), byte 0; byte 1 is 0
//!
//! 0x80 charge enable, 0x40 discharge enable, 0x20 force charge I, 0x10 force charge II,
//! 0x08 full charge request.

/// The 0x35A fields of one half, snake_case, in crumb order (§3.4). Crumbs 13–15 are reserved.
pub const ALARM_FIELDS: [&str; 13] = [
    "general",
    "high_voltage",
    "low_voltage",
    "high_temperature",
    "low_temperature",
    "high_temperature_charge",
    "low_temperature_charge",
    "high_discharge_current",
    "high_charge_current",
    "contactor",
    "short_circuit",
    "bms_internal",
    "cell_imbalance",
];

/// The 2-bit value of crumb `index` (0..16) of a 4-byte half of 0x35A.
pub const fn crumb(half: &[u8; 4], index: usize) -> u8 {
    (half[(index / 4) % 4] >> (2 * (index % 4))) & 0b11
}

/// One bit of 0x359 or 0x35C: byte, mask, snake_case name.
pub type Bit = (usize, u8, &'static str);

/// 0x359 bytes 0–1: protection (the pack has cut, or is about to) (§3.3).
pub const PYLON_PROTECTION: [Bit; 7] = [
    (0, 0x02, "over_voltage"),
    (0, 0x04, "under_voltage"),
    (0, 0x08, "over_temperature"),
    (0, 0x10, "under_temperature"),
    (0, 0x80, "discharge_over_current"),
    (1, 0x01, "charge_over_current"),
    (1, 0x08, "system_error"),
];

/// 0x359 bytes 2–3: alarm / warning (§3.3).
pub const PYLON_ALARM: [Bit; 7] = [
    (2, 0x02, "high_voltage"),
    (2, 0x04, "low_voltage"),
    (2, 0x08, "high_temperature"),
    (2, 0x10, "low_temperature"),
    (2, 0x80, "discharge_high_current"),
    (3, 0x01, "charge_high_current"),
    (3, 0x08, "internal_communication_fail"),
];

/// 0x359 byte 4: number of modules (§3.3).
pub const PYLON_MODULE_COUNT_BYTE: usize = 4;
/// 0x359 bytes 5–6: the ASCII tag "PN" (§3.3).
pub const PYLON_TAG: [u8; 2] = *b"PN";

/// 0x35C byte 0 bits (§3.5).
pub const REQUEST_CHARGE_ENABLE: u8 = 0x80;
pub const REQUEST_DISCHARGE_ENABLE: u8 = 0x40;
pub const REQUEST_FORCE_CHARGE_1: u8 = 0x20;
pub const REQUEST_FORCE_CHARGE_2: u8 = 0x10;
pub const REQUEST_FULL_CHARGE: u8 = 0x08;

/// 0x35C byte 0 bits with names.
pub const PYLON_REQUEST: [Bit; 5] = [
    (0, REQUEST_CHARGE_ENABLE, "charge_enable"),
    (0, REQUEST_DISCHARGE_ENABLE, "discharge_enable"),
    (0, REQUEST_FORCE_CHARGE_1, "force_charge_1"),
    (0, REQUEST_FORCE_CHARGE_2, "force_charge_2"),
    (0, REQUEST_FULL_CHARGE, "full_charge"),
];

/// 0x356 bytes 4–5 when no temperature sensor is heard: −273.0 °C (absolute zero, in 0.1 °C).
/// No sensor reads that, so it cannot be mistaken for a reading; and a charger that takes the
/// battery temperature from the GX (DVCC shared temperature sense) sees a battery far below
/// its low-temperature charge cut-off, so it does not charge on a guess. Readings at or below
/// it are sent as [`TEMPERATURE_ABSENT_DC`] + 1.
pub const TEMPERATURE_ABSENT_DC: i16 = -2730;

/// 0x373 min/max temperature when no sensor is heard: 0 K, the same absolute zero. Readings
/// are sent as at least 1 K.
pub const KELVIN_ABSENT: u16 = 0;

/// 0x373 min/max cell when no cell is heard: 0 mV (a plausible cell is at least 1000 mV,
/// DESIGN.md rule 1).
pub const CELL_ABSENT_MV: u16 = 0;

/// °C → K in 0x373 (victron-can.md §3.2: "°C + 273", as DIY/BSC send it).
pub const KELVIN_OFFSET: i32 = 273;

/// 0x355 bytes 4–5 that mean "SOC not valid" in SMA's and VCB's reading (§3.2).
pub const SOC_HIRES_INVALID: u16 = 0xFFFF;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crumb_positions_follow_the_table() {
        // Seplos capture (tests/vectors/can/3_4-…): AA AA AA 02 = every field OK, reserved 00.
        let half = [0xAA, 0xAA, 0xAA, 0x02];
        for i in 0..13 {
            assert_eq!(crumb(&half, i), 0b10, "crumb {i}");
        }
        for i in 13..16 {
            assert_eq!(crumb(&half, i), 0b00, "crumb {i}");
        }
        // BYD example: 0x10 in byte 0 = bits 4–5 = 01 = low voltage raised.
        assert_eq!(crumb(&[0x10, 0, 0, 0], 2), 0b01);
        assert_eq!(ALARM_FIELDS[2], "low_voltage");
    }
}
