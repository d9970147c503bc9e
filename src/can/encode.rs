//! [`BatteryState`] → the CAN frame set the inverter obeys. Pure: no I/O, no clock, no
//! allocation. Every frame has DLC 8, little-endian fields, zero padding (victron-can.md §3.1,
//! §3.8). `dbc/busbar.dbc` describes the same layout and is the test oracle
//! (`tests/can_dbc.rs`).
//!
//! | id | bytes | field | wire unit | from the state | rounding / limits |
//! |---|---|---|---|---|---|
//! | 0x351 | 0–1 | CVL | u16 0.1 V | `cvl_mv` | down; refused if 0 |
//! | | 2–3 | CCL | s16 0.1 A | `ccl_ma` | down; ≤ 3276.7 A |
//! | | 4–5 | DCL | s16 0.1 A, positive | `dcl_ma` | down; ≤ 3276.7 A |
//! | | 6–7 | DVL | u16 0.1 V | `dvl_mv` | up, then ≤ CVL |
//! | 0x355 | 0–1 | SOC | u16 1 % | `soc_centi_pct` | nearest; ≤ 100; frame left out if unknown |
//! | | 2–3 | SOH | u16 1 % | `soh_pct` | ≤ 100 |
//! | | 4–5 | SOC | u16 0.01 % | `soc_centi_pct` | ≤ 100.00 |
//! | 0x356 | 0–1 | voltage | s16 0.01 V | `voltage_mv` | nearest; ≤ 327.67 V; refused if 0 |
//! | | 2–3 | current | s16 0.1 A, + charging | `current_ma` | nearest, halves away from 0; s16 range |
//! | | 4–5 | temperature | s16 0.1 °C | `temperature_dc` | −273.0 °C if unknown |
//! | 0x359 | 0–7 | Pylon flags | bits | `alarms`, `counts` | pylon profile only, see `pylon_flags` below |
//! | 0x35A | 0–7 | alarms, warnings | 2-bit fields | `alarms` | [`Flag::crumb`] |
//! | 0x35C | 0–1 | Pylon request | bits | CCL, DCL as sent | pylon profile only |
//! | 0x35E | 0–7 | name | ASCII | settings | NUL (Victron) or space (Pylon) padded |
//! | 0x35F | 0–1 | product id | u16 | 0 | §3.8 "model 0" |
//! | | 2, 3 | firmware major, minor | u8, u8 | crate version | |
//! | | 4–5 | capacity | u16 1 Ah | `installed_capacity_ah` | ≤ 65535 |
//! | | 6–7 | hardware version | u16 | 0 | |
//! | 0x370, 0x371 | 0–7 | BMS name | ASCII | "busbar 0.1.0" | NUL padded to 16 |
//! | 0x372 | 0–7 | online, blocking charge, blocking discharge, offline | 4 × u16 | `counts` | ≤ 65535 |
//! | 0x373 | 0–3 | min, max cell | 2 × u16 1 mV | `min_cell`, `max_cell` | 0 if unknown |
//! | | 4–7 | min, max temperature | 2 × u16 1 K | `min/max_temperature` | °C + 273, nearest (halves up), ≥ 1; 0 if unknown |
//! | 0x374–0x377 | 0–7 | min cell, max cell, min T, max T id | ASCII | `P2C05`, `P3T1` | NUL padded; all NUL if unknown |
//! | 0x379 | 0–1 | installed capacity | u16 1 Ah | `installed_capacity_ah` | ≤ 65535 |
//! | 0x382 | 0–7 | product family | ASCII | "BUSBAR" | NUL padded |
//!
//! Rounding always goes the safe way for a limit: CVL, CCL and DCL down (never more than the
//! core allows), DVL up (stop discharging no later than asked). A value that does not fit its
//! field is clamped to the field's end, never wrapped.
//!
//! Two states are refused ([`EncodeError`]) rather than corrected: CVL or battery voltage that
//! would go out as 0. The core never produces either (DESIGN.md rules 4 and 6); should it ever,
//! nothing is sent, which Venus treats as a lost BMS: its chargers stop (victron-can.md §3.7,
//! §3.8 "stop sending 0x351"). Any corrected value would be a guess.

use super::frame::CanFrame;
use super::id;
use super::layout::{
    self, CELL_ABSENT_MV, KELVIN_ABSENT, KELVIN_OFFSET, PYLON_ALARM, PYLON_PROTECTION,
    REQUEST_CHARGE_ENABLE, REQUEST_DISCHARGE_ENABLE, TEMPERATURE_ABSENT_DC,
};
use super::settings::{EncoderSettings, BMS_NAME};
use crate::battery::{AlarmFields, BatteryState, CellExtreme, Flag, TemperatureExtreme};
use crate::config::CanProfile;

/// Room in a [`FrameSet`]: more than the largest set ([`MOST_FRAMES`]).
pub const MAX_FRAMES: usize = 24;

/// The frames of one cadence, in sending order, without allocation.
pub type FrameSet = heapless::Vec<CanFrame, MAX_FRAMES>;

/// Frames in the largest set: 16 Victron frames, 2 more for Pylon.
pub const MOST_FRAMES: usize = 18;
const _: () = assert!(MOST_FRAMES <= MAX_FRAMES);

/// 0x35F bytes 0–1: no product id of our own (victron-can.md §3.8: "model 0"; the Seplos
/// battery in Victron mode sends 0 as well). Venus identifies batteries by 0x35E (§3.7).
pub const PRODUCT_ID: u16 = 0;
/// 0x35F bytes 6–7: no hardware version.
pub const HARDWARE_VERSION: u16 = 0;
/// 0x382: the product family. Venus reads 0x382 for brand detection (§3.7, VEN #940): a name
/// no brand uses keeps the generic behaviour.
pub const PRODUCT_FAMILY: [u8; 8] = *b"BUSBAR\0\0";

/// A state the encoder will not put on the bus.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    #[error(
        "CVL of {cvl_mv} mV would go out as 0.0 V, which Victron reads as over-voltage and \
         answers by discharging at full power (DESIGN.md rule 4): nothing sent"
    )]
    ZeroChargeVoltage { cvl_mv: u32 },
    #[error(
        "battery voltage of {voltage_mv} mV would go out as 0.00 V (DESIGN.md rule 6): \
         nothing sent"
    )]
    ZeroVoltage { voltage_mv: u32 },
}

/// The whole frame set for `state`: 0x351 first (it carries the limits), then 0x355, 0x356,
/// 0x35A, the Pylon frames 0x359/0x35C in that profile, and the descriptive frames.
/// 0x355 is left out while no pack has ever been heard (`soc_centi_pct` is `None`): no SOC is
/// better than a made-up one (a 0 % would invite a grid charge); 0x351 with CCL = DCL = 0 is
/// what Venus needs to keep the battery (§3.7 "bmsPresent is called when 0x351 is observed").
pub fn encode_all(
    state: &BatteryState,
    settings: &EncoderSettings,
) -> Result<FrameSet, EncodeError> {
    let limits = Limits::of(state)?;
    let voltage = voltage_raw(state.voltage_mv)?;
    let mut set = FrameSet::new();
    let mut push = |frame| {
        // Invariant: at most MOST_FRAMES frames are pushed below, and MAX_FRAMES >= MOST_FRAMES
        // is checked at compile time.
        set.push(frame)
            .expect("a FrameSet has room for MOST_FRAMES frames");
    };
    push(limits.frame());
    if let Some(frame) = soc(state) {
        push(frame);
    }
    push(measurements(state, voltage));
    push(alarms(state));
    if settings.profile() == CanProfile::Pylon {
        push(pylon_flags(state));
        push(pylon_request(&limits));
    }
    push(CanFrame::with_8_bytes(id::NAME, settings.name()));
    push(info(state, settings));
    push(CanFrame::with_8_bytes(id::BMS_NAME_1, half(&BMS_NAME, 0)));
    push(CanFrame::with_8_bytes(id::BMS_NAME_2, half(&BMS_NAME, 1)));
    push(modules(state));
    push(cell_extremes(state));
    push(CanFrame::with_8_bytes(
        id::MIN_CELL_ID,
        cell_id(state.min_cell),
    ));
    push(CanFrame::with_8_bytes(
        id::MAX_CELL_ID,
        cell_id(state.max_cell),
    ));
    push(CanFrame::with_8_bytes(
        id::MIN_TEMPERATURE_ID,
        sensor_id(state.min_temperature),
    ));
    push(CanFrame::with_8_bytes(
        id::MAX_TEMPERATURE_ID,
        sensor_id(state.max_temperature),
    ));
    push(installed_capacity(state));
    push(CanFrame::with_8_bytes(id::PRODUCT_FAMILY, PRODUCT_FAMILY));
    Ok(set)
}

/// 0x351 alone: what the scheduler sends at once when a limit falls (DESIGN.md rule 5).
pub fn encode_limits(state: &BatteryState) -> Result<CanFrame, EncodeError> {
    Ok(Limits::of(state)?.frame())
}

/// 0x351 in wire units (victron-can.md §3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Limits {
    /// 0.1 V.
    cvl: u16,
    /// 0.1 A.
    ccl: i16,
    /// 0.1 A, positive (§3.2: every real battery sends DCL positive).
    dcl: i16,
    /// 0.1 V.
    dvl: u16,
}

impl Limits {
    fn of(state: &BatteryState) -> Result<Self, EncodeError> {
        let cvl = tenths_down_u16(state.cvl_mv);
        if cvl == 0 {
            return Err(EncodeError::ZeroChargeVoltage {
                cvl_mv: state.cvl_mv,
            });
        }
        Ok(Self {
            cvl,
            ccl: tenths_down_i16(state.ccl_ma),
            dcl: tenths_down_i16(state.dcl_ma),
            // Up, but never above CVL: the core keeps DVL <= CVL in mV, and rounding the two
            // different ways must not swap them.
            dvl: tenths_up_u16(state.dvl_mv).min(cvl),
        })
    }

    fn frame(&self) -> CanFrame {
        let mut data = [0u8; 8];
        put_u16(&mut data, 0, self.cvl);
        put_i16(&mut data, 2, self.ccl);
        put_i16(&mut data, 4, self.dcl);
        put_u16(&mut data, 6, self.dvl);
        CanFrame::with_8_bytes(id::LIMITS, data)
    }
}

/// mV or mA → 0.1 units, rounded down, clamped to u16.
fn tenths_down_u16(milli: u32) -> u16 {
    u16::try_from(milli / 100).unwrap_or(u16::MAX)
}

/// mA → 0.1 A, rounded down, clamped to the positive s16 range (3276.7 A).
fn tenths_down_i16(milli: u32) -> i16 {
    i16::try_from(milli / 100).unwrap_or(i16::MAX)
}

/// mV → 0.1 V, rounded up, clamped to u16.
fn tenths_up_u16(milli: u32) -> u16 {
    u16::try_from(milli.div_ceil(100)).unwrap_or(u16::MAX)
}

/// 0x356 bytes 0–1: mV → 0.01 V, nearest (halves up), clamped to the s16 range so that
/// readers taking it as s16 (Pylon) or u16 (MG) agree (§3.2). 0 is refused.
fn voltage_raw(mv: u32) -> Result<i16, EncodeError> {
    let hundredths = mv / 10 + u32::from(mv % 10 >= 5);
    let raw = i16::try_from(hundredths).unwrap_or(i16::MAX);
    if raw == 0 {
        return Err(EncodeError::ZeroVoltage { voltage_mv: mv });
    }
    Ok(raw)
}

/// 0x356 bytes 2–3: mA → 0.1 A, nearest with halves away from zero (so +x and −x encode
/// symmetrically), clamped to s16.
fn current_raw(ma: i32) -> i16 {
    let ma = i64::from(ma);
    let tenths = if ma >= 0 {
        (ma + 50) / 100
    } else {
        (ma - 50) / 100
    };
    i16::try_from(tenths).unwrap_or(if tenths < 0 { i16::MIN } else { i16::MAX })
}

/// 0x356 bytes 4–5: the state's 0.1 °C as is; [`TEMPERATURE_ABSENT_DC`] when unknown, and a
/// reading at or below it one step above, so it never reads as unknown.
fn temperature_raw(dc: Option<i16>) -> i16 {
    dc.map_or(TEMPERATURE_ABSENT_DC, |dc| {
        dc.max(TEMPERATURE_ABSENT_DC + 1)
    })
}

/// 0x373 temperature: 0.1 °C → whole K = °C + 273 (§3.2), nearest with halves up, at least
/// 1 K; [`KELVIN_ABSENT`] when unknown.
fn kelvin(t: Option<TemperatureExtreme>) -> u16 {
    t.map_or(KELVIN_ABSENT, |t| {
        let k = (i32::from(t.dc) + KELVIN_OFFSET * 10 + 5).div_euclid(10);
        // From i16 the sum is at most 3550 K; the floor of 1 keeps it off the "unknown" 0.
        u16::try_from(k.max(1)).unwrap_or(u16::MAX)
    })
}

fn put_u16(data: &mut [u8; 8], at: usize, value: u16) {
    data[at..at + 2].copy_from_slice(&value.to_le_bytes());
}

fn put_i16(data: &mut [u8; 8], at: usize, value: i16) {
    data[at..at + 2].copy_from_slice(&value.to_le_bytes());
}

fn saturate_u16(n: impl TryInto<u16>) -> u16 {
    n.try_into().unwrap_or(u16::MAX)
}

/// 0x355: SOC %, SOH %, SOC 0.01 %, zero (§3.2, §3.8). `None` while the SOC is unknown.
fn soc(state: &BatteryState) -> Option<CanFrame> {
    // Above 100.00 % cannot be (the core weighs SOCs of at most 100); clamp all the same.
    let centi = state.soc_centi_pct?.min(10_000);
    let mut data = [0u8; 8];
    put_u16(&mut data, 0, (centi + 50) / 100);
    // A state of health above 100 % means nothing; 100 is the most a battery has.
    put_u16(&mut data, 2, u16::from(state.soh_pct.min(100)));
    put_u16(&mut data, 4, centi);
    Some(CanFrame::with_8_bytes(id::SOC, data))
}

/// 0x356: voltage, current, temperature, zero (§3.2, §3.8).
fn measurements(state: &BatteryState, voltage: i16) -> CanFrame {
    let mut data = [0u8; 8];
    put_i16(&mut data, 0, voltage);
    put_i16(&mut data, 2, current_raw(state.current_ma));
    put_i16(&mut data, 4, temperature_raw(state.temperature_dc));
    CanFrame::with_8_bytes(id::MEASUREMENTS, data)
}

/// The 13 fields of one half of 0x35A in crumb order (`layout::ALARM_FIELDS`).
fn crumbs(fields: &AlarmFields) -> [Flag; 13] {
    [
        fields.general,
        fields.high_voltage,
        fields.low_voltage,
        fields.high_temperature,
        fields.low_temperature,
        fields.high_temperature_charge,
        fields.low_temperature_charge,
        fields.high_discharge_current,
        fields.high_charge_current,
        fields.contactor,
        fields.short_circuit,
        fields.bms_internal,
        fields.cell_imbalance,
    ]
}

/// 0x35A: alarms in bytes 0–3, warnings in bytes 4–7, crumb `i` at byte `i / 4`, bits
/// `2 (i % 4)` (§3.4). The reserved crumbs 13–15 stay 00.
fn alarms(state: &BatteryState) -> CanFrame {
    let mut data = [0u8; 8];
    for (base, fields) in [(0, &state.alarms.alarms), (4, &state.alarms.warnings)] {
        for (i, flag) in crumbs(fields).into_iter().enumerate() {
            data[base + i / 4] |= flag.crumb() << (2 * (i % 4));
        }
    }
    CanFrame::with_8_bytes(id::ALARMS, data)
}

fn active(flags: &[Flag]) -> bool {
    flags.contains(&Flag::Active)
}

/// 0x359 (Pylon, §3.3), from the same information as 0x35A:
/// - protection bits (bytes 0–1) from the 0x35A alarm half (the condition stops the whole
///   battery in that direction), alarm bits (bytes 2–3) from the warning half;
/// - over/under-temperature: the temperature fields with and without "while charging";
/// - discharge over-current: high discharge current or short circuit (a JK short-circuit trip
///   is a discharge over-current protection; Pylon has no bit of its own for it);
/// - system error: BMS internal (alarm half); internal communication fail: BMS internal
///   (warning half: some packs silent or faulty, the others carrying on) or any pack offline;
/// - cell imbalance and contactor have no Pylon bit;
/// - byte 4: the packs online, at most 255; bytes 5–6 "PN"; byte 7 zero.
fn pylon_flags(state: &BatteryState) -> CanFrame {
    let a = &state.alarms.alarms;
    let w = &state.alarms.warnings;
    let mut data = [0u8; 8];
    // Same order as layout::PYLON_PROTECTION.
    let protection = [
        active(&[a.high_voltage]),
        active(&[a.low_voltage]),
        active(&[a.high_temperature, a.high_temperature_charge]),
        active(&[a.low_temperature, a.low_temperature_charge]),
        active(&[a.high_discharge_current, a.short_circuit]),
        active(&[a.high_charge_current]),
        active(&[a.bms_internal]),
    ];
    // Same order as layout::PYLON_ALARM.
    let alarm = [
        active(&[w.high_voltage]),
        active(&[w.low_voltage]),
        active(&[w.high_temperature, w.high_temperature_charge]),
        active(&[w.low_temperature, w.low_temperature_charge]),
        active(&[w.high_discharge_current, w.short_circuit]),
        active(&[w.high_charge_current]),
        active(&[w.bms_internal]) || state.counts.offline > 0,
    ];
    for (raised, (byte, mask, _)) in protection
        .into_iter()
        .zip(PYLON_PROTECTION)
        .chain(alarm.into_iter().zip(PYLON_ALARM))
    {
        if raised {
            data[byte] |= mask;
        }
    }
    data[layout::PYLON_MODULE_COUNT_BYTE] = u8::try_from(state.counts.online).unwrap_or(u8::MAX);
    data[5..7].copy_from_slice(&layout::PYLON_TAG);
    CanFrame::with_8_bytes(id::PYLON_FLAGS, data)
}

/// 0x35C (Pylon, §3.5): charge enable iff the CCL *as sent* is at least 0.1 A, discharge enable
/// likewise, so the two frames never disagree. Force charge and full charge are never
/// requested: busbar asks for no charge the limits do not allow.
fn pylon_request(limits: &Limits) -> CanFrame {
    let mut data = [0u8; 8];
    if limits.ccl > 0 {
        data[0] |= REQUEST_CHARGE_ENABLE;
    }
    if limits.dcl > 0 {
        data[0] |= REQUEST_DISCHARGE_ENABLE;
    }
    CanFrame::with_8_bytes(id::PYLON_REQUEST, data)
}

/// 0x35F: product id, firmware major.minor, capacity Ah, hardware version (§3.2). The capacity
/// is the installed (online, nominal) capacity, as MG's "total battery capacity" reads it;
/// the sources disagree on its meaning (§4), and the same number as 0x379 cannot mislead.
fn info(state: &BatteryState, settings: &EncoderSettings) -> CanFrame {
    let mut data = [0u8; 8];
    put_u16(&mut data, 0, PRODUCT_ID);
    data[2] = settings.firmware().major;
    data[3] = settings.firmware().minor;
    put_u16(&mut data, 4, saturate_u16(state.installed_capacity_ah));
    put_u16(&mut data, 6, HARDWARE_VERSION);
    CanFrame::with_8_bytes(id::INFO, data)
}

/// 8 bytes of a 16-byte text: `part` 0 or 1.
fn half(text: &[u8; 16], part: usize) -> [u8; 8] {
    let mut out = [0u8; 8];
    out.copy_from_slice(&text[part * 8..part * 8 + 8]);
    out
}

/// 0x372: packs online, blocking charge, blocking discharge, offline (§3.2).
fn modules(state: &BatteryState) -> CanFrame {
    let c = &state.counts;
    let mut data = [0u8; 8];
    for (i, n) in [c.online, c.blocking_charge, c.blocking_discharge, c.offline]
        .into_iter()
        .enumerate()
    {
        put_u16(&mut data, 2 * i, saturate_u16(n));
    }
    CanFrame::with_8_bytes(id::MODULES, data)
}

/// 0x373: min cell mV, max cell mV, min temperature K, max temperature K (§3.2). A known cell
/// is never 0 mV (a plausible reading has every cell at 1000 mV or more, DESIGN.md rule 1), so
/// 0 is free to mean "unknown".
fn cell_extremes(state: &BatteryState) -> CanFrame {
    let mut data = [0u8; 8];
    put_u16(
        &mut data,
        0,
        state.min_cell.map_or(CELL_ABSENT_MV, |c| c.mv),
    );
    put_u16(
        &mut data,
        2,
        state.max_cell.map_or(CELL_ABSENT_MV, |c| c.mv),
    );
    put_u16(&mut data, 4, kelvin(state.min_temperature));
    put_u16(&mut data, 6, kelvin(state.max_temperature));
    CanFrame::with_8_bytes(id::CELL_EXTREMES, data)
}

/// 0x379: installed capacity, Ah (§3.2).
fn installed_capacity(state: &BatteryState) -> CanFrame {
    let mut data = [0u8; 8];
    put_u16(&mut data, 0, saturate_u16(state.installed_capacity_ah));
    CanFrame::with_8_bytes(id::INSTALLED_CAPACITY, data)
}

/// 0x374/0x375: `P2C05` = pack 2 (1-based, config order), cell 5 (two digits, as JK numbers
/// up to 32 cells). NUL padded; all NUL when unknown.
fn cell_id(cell: Option<CellExtreme>) -> [u8; 8] {
    cell.map_or([0; 8], |c| {
        let mut t = Text::default();
        t.byte(b'P');
        t.number(c.pack.saturating_add(1), 1);
        t.byte(b'C');
        t.number(c.cell, 2);
        t.finish()
    })
}

/// 0x376/0x377: `P3T1` = pack 3, sensor T1 (1-based). NUL padded; all NUL when unknown.
fn sensor_id(sensor: Option<TemperatureExtreme>) -> [u8; 8] {
    sensor.map_or([0; 8], |s| {
        let mut t = Text::default();
        t.byte(b'P');
        t.number(s.pack.saturating_add(1), 1);
        t.byte(b'T');
        t.number(s.sensor, 1);
        t.finish()
    })
}

/// At most 8 ASCII bytes, NUL padded. A text that does not fit (pack 10000 and up) becomes
/// all NUL, "unknown", rather than a cut one that names another cell.
#[derive(Default)]
struct Text {
    buf: [u8; 8],
    len: usize,
    overflow: bool,
}

impl Text {
    fn byte(&mut self, b: u8) {
        match self.buf.get_mut(self.len) {
            Some(slot) => {
                *slot = b;
                self.len += 1;
            }
            None => self.overflow = true,
        }
    }

    /// `n` in decimal, with leading zeros to at least `min_digits`.
    fn number(&mut self, mut n: usize, min_digits: usize) {
        let mut digits = [0u8; 20];
        let mut count = 0;
        while n > 0 || count < min_digits.max(1) {
            // count < 20: usize has at most 20 decimal digits and min_digits is 1 or 2 here.
            if count == digits.len() {
                break;
            }
            digits[count] = b'0' + (n % 10) as u8;
            n /= 10;
            count += 1;
        }
        for &d in digits[..count].iter().rev() {
            self.byte(d);
        }
    }

    fn finish(self) -> [u8; 8] {
        if self.overflow {
            [0; 8]
        } else {
            self.buf
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::battery::alarms::AlarmInputs;
    use crate::battery::{ChargePhase, CvlReason, PackCounts, SystemLimit, VictronAlarms, SOH_PCT};
    use crate::pack::Alarms;

    /// The BYD Battery-Box capture's battery (tests/vectors/can/3_5-…): 58.4 V / 128 A / 128 A
    /// / 43.0 V, SOC 67 %, 53.10 V, −0.7 A, 14.0 °C, two modules, cells 3306–3329 mV,
    /// 287–290 K, 156 Ah; no alarm.
    fn byd_state() -> BatteryState {
        BatteryState {
            cvl_mv: 58_400,
            ccl_ma: 128_000,
            dcl_ma: 128_000,
            dvl_mv: 43_000,
            charge_phase: ChargePhase::Absorption,
            cvl_reason: CvlReason::Phase,
            charge_limit: SystemLimit::PackMaxima,
            discharge_limit: SystemLimit::PackMaxima,
            lowered: false,
            soc_centi_pct: Some(6_700),
            soh_pct: SOH_PCT,
            voltage_mv: 53_100,
            current_ma: -700,
            temperature_dc: Some(140),
            alarms: VictronAlarms::evaluate(&AlarmInputs {
                online: 2,
                ..AlarmInputs::default()
            }),
            min_cell: Some(CellExtreme {
                pack: 1,
                cell: 5,
                mv: 3306,
            }),
            max_cell: Some(CellExtreme {
                pack: 0,
                cell: 16,
                mv: 3329,
            }),
            // 13.8 °C → 286.8 K → 287; 16.9 °C → 289.9 K → 290.
            min_temperature: Some(TemperatureExtreme {
                pack: 2,
                sensor: 1,
                dc: 138,
            }),
            max_temperature: Some(TemperatureExtreme {
                pack: 0,
                sensor: 2,
                dc: 169,
            }),
            counts: PackCounts {
                online: 2,
                ..PackCounts::default()
            },
            installed_capacity_ah: 156,
            packs: Vec::new(),
        }
    }

    fn frame(set: &FrameSet, id: u16) -> [u8; 8] {
        let f = set
            .iter()
            .find(|f| f.id() == id)
            .unwrap_or_else(|| panic!("no 0x{id:X} in {set:?}"));
        f.data().try_into().unwrap()
    }

    fn victron() -> EncoderSettings {
        EncoderSettings::default().with_firmware(crate::can::Firmware {
            major: 1,
            minor: 23,
        })
    }

    fn pylon() -> EncoderSettings {
        EncoderSettings::new(CanProfile::Pylon, "BUSBAR")
            .unwrap()
            .with_firmware(crate::can::Firmware {
                major: 1,
                minor: 23,
            })
    }

    #[test]
    fn victron_set_is_sixteen_frames_of_dlc_8_in_order() {
        let set = encode_all(&byd_state(), &victron()).unwrap();
        let ids: Vec<u16> = set.iter().map(CanFrame::id).collect();
        assert_eq!(
            ids,
            [
                0x351, 0x355, 0x356, 0x35A, 0x35E, 0x35F, 0x370, 0x371, 0x372, 0x373, 0x374, 0x375,
                0x376, 0x377, 0x379, 0x382
            ]
        );
        assert!(set.iter().all(|f| f.len() == 8));
        let set = encode_all(&byd_state(), &pylon()).unwrap();
        assert_eq!(set.len(), MOST_FRAMES);
        assert_eq!(set[4].id(), 0x359);
        assert_eq!(set[5].id(), 0x35C);
    }

    #[test]
    fn limits_0x351_byte_by_byte() {
        let set = encode_all(&byd_state(), &victron()).unwrap();
        assert_eq!(
            frame(&set, 0x351),
            [
                0x48, 0x02, // CVL 584 × 0.1 V = 58.4 V, u16 LE
                0x00, 0x05, // CCL 1280 × 0.1 A = 128.0 A, s16 LE
                0x00, 0x05, // DCL 1280 × 0.1 A = 128.0 A, positive
                0xAE, 0x01, // DVL 430 × 0.1 V = 43.0 V
            ]
        );
        // The same bytes the real BYD battery sent for the same limits.
        assert_eq!(
            frame(&set, 0x351),
            [0x48, 0x02, 0x00, 0x05, 0x00, 0x05, 0xAE, 0x01]
        );
        assert_eq!(encode_limits(&byd_state()).unwrap(), set[0]);
    }

    #[test]
    fn soc_0x355_byte_by_byte() {
        let mut state = byd_state();
        state.soc_centi_pct = Some(6_742);
        let set = encode_all(&state, &victron()).unwrap();
        assert_eq!(
            frame(&set, 0x355),
            [
                0x43, 0x00, // SOC 67 % (67.42 rounded to nearest)
                0x64, 0x00, // SOH 100 %
                0x56, 0x1A, // SOC 6742 × 0.01 % = 67.42 %
                0x00, 0x00, // unused (§3.8: 0)
            ]
        );
        // 67.50 % rounds up to 68.
        state.soc_centi_pct = Some(6_750);
        assert_eq!(
            frame(&encode_all(&state, &victron()).unwrap(), 0x355)[0],
            68
        );
    }

    #[test]
    fn unknown_soc_leaves_0x355_out_rather_than_sending_zero() {
        let mut state = byd_state();
        state.soc_centi_pct = None;
        let set = encode_all(&state, &victron()).unwrap();
        assert!(set.iter().all(|f| f.id() != id::SOC));
        assert_eq!(set.len(), MOST_FRAMES - 3);
        assert_eq!(set[0].id(), id::LIMITS);
    }

    #[test]
    fn measurements_0x356_byte_by_byte_negative_current() {
        let set = encode_all(&byd_state(), &victron()).unwrap();
        assert_eq!(
            frame(&set, 0x356),
            [
                0xBE, 0x14, // 5310 × 0.01 V = 53.10 V
                0xF9, 0xFF, // −7 × 0.1 A = −0.7 A (discharging), s16 two's complement
                0x8C, 0x00, // 140 × 0.1 °C = 14.0 °C
                0x00, 0x00, // unused
            ]
        );
        // Bytes 0–5 are the BYD battery's own.
        assert_eq!(
            frame(&set, 0x356)[..6],
            [0xBE, 0x14, 0xF9, 0xFF, 0x8C, 0x00]
        );
    }

    #[test]
    fn negative_temperature_and_charging_current() {
        let mut state = byd_state();
        state.current_ma = 12_345; // 12.345 A → 12.3 A
        state.temperature_dc = Some(-55); // −5.5 °C
        let set = encode_all(&state, &victron()).unwrap();
        let m = frame(&set, 0x356);
        assert_eq!(m[2..4], [0x7B, 0x00]); // 123
        assert_eq!(m[4..6], [0xC9, 0xFF]); // −55
                                           // Halves round away from zero both ways.
        assert_eq!(current_raw(50), 1);
        assert_eq!(current_raw(-50), -1);
        assert_eq!(current_raw(-49), 0);
        assert_eq!(current_raw(-12_345), -123);
        // −5.5 °C = 267.5 K → 268 K (halves up); −40.0 °C = 233 K.
        let t = |dc| {
            kelvin(Some(TemperatureExtreme {
                pack: 0,
                sensor: 1,
                dc,
            }))
        };
        assert_eq!(t(-55), 268);
        assert_eq!(t(-400), 233);
        assert_eq!(t(0), 273);
        assert_eq!(t(-2735), 1);
    }

    #[test]
    fn unknown_temperature_is_absolute_zero_and_readings_never_look_unknown() {
        let mut state = byd_state();
        state.temperature_dc = None;
        state.min_temperature = None;
        state.max_temperature = None;
        let set = encode_all(&state, &victron()).unwrap();
        assert_eq!(frame(&set, 0x356)[4..6], (-2730i16).to_le_bytes());
        assert_eq!(frame(&set, 0x373)[4..8], [0, 0, 0, 0]);
        assert_eq!(frame(&set, 0x376), [0; 8]);
        assert_eq!(frame(&set, 0x377), [0; 8]);
        assert_eq!(temperature_raw(Some(i16::MIN)), -2729);
        assert_eq!(temperature_raw(Some(-2730)), -2729);
        assert_eq!(temperature_raw(Some(i16::MAX)), i16::MAX);
    }

    #[test]
    fn alarms_0x35a_all_ok() {
        let set = encode_all(&byd_state(), &victron()).unwrap();
        assert_eq!(
            frame(&set, 0x35A),
            [
                0xAA, // general, high V, low V, high T: 10 10 10 10 = OK
                0xAA, // low T, high T charge, low T charge, high discharge I: OK
                0xA2, // high charge I OK, contactor 00 (a JK pack has none), short circuit OK, BMS internal OK
                0x02, // cell imbalance OK, three reserved crumbs 00
                0xAA, 0xAA, 0xA2, 0x02, // warnings: same layout
            ]
        );
    }

    #[test]
    fn alarms_0x35a_alarm_versus_warning() {
        let mut state = byd_state();
        // Over-voltage with no pack left to charge: an alarm (crumb 1 of byte 0 = 01).
        state.alarms = VictronAlarms::evaluate(&AlarmInputs {
            active: Alarms::CELL_OVER_VOLTAGE,
            charge_impossible: true,
            online: 2,
            ..AlarmInputs::default()
        });
        let a = frame(&encode_all(&state, &victron()).unwrap(), 0x35A);
        assert_eq!(a[0], 0b10_10_01_01); // high T ok, low V ok, high V ACTIVE, general ACTIVE
        assert_eq!(a[4], 0xAA); // no warning
                                // The same with other packs still charging: a warning (byte 4).
        state.alarms = VictronAlarms::evaluate(&AlarmInputs {
            active: Alarms::CELL_OVER_VOLTAGE,
            online: 2,
            ..AlarmInputs::default()
        });
        let w = frame(&encode_all(&state, &victron()).unwrap(), 0x35A);
        assert_eq!(w[0], 0xAA);
        assert_eq!(w[4], 0b10_10_01_01);
        // All packs silent: BMS internal alarm (byte 2 bits 6–7 = 01).
        state.alarms = VictronAlarms::evaluate(&AlarmInputs {
            offline: 2,
            ..AlarmInputs::default()
        });
        let s = frame(&encode_all(&state, &victron()).unwrap(), 0x35A);
        assert_eq!(s[0], 0b10_10_10_01);
        assert_eq!(s[2], 0b01_10_00_10);
    }

    #[test]
    fn name_info_and_bms_name_byte_by_byte() {
        let set = encode_all(&byd_state(), &victron()).unwrap();
        assert_eq!(frame(&set, 0x35E), *b"BUSBAR\0\0");
        assert_eq!(
            frame(&set, 0x35F),
            [
                0x00, 0x00, // product id 0 (§3.8)
                0x01,
                0x17, // firmware 1.23: major 1, minor 23 decimal (BYD sends 01 17 for v1.23)
                0x9C, 0x00, // capacity 156 Ah
                0x00, 0x00, // hardware version 0
            ]
        );
        let name = format!("busbar {}", env!("CARGO_PKG_VERSION"));
        let mut sixteen = [0u8; 16];
        sixteen[..name.len()].copy_from_slice(name.as_bytes());
        assert_eq!(frame(&set, 0x370), sixteen[..8]);
        assert_eq!(frame(&set, 0x371), sixteen[8..]);
        assert_eq!(frame(&set, 0x382), *b"BUSBAR\0\0");
        assert_eq!(
            frame(&encode_all(&byd_state(), &pylon()).unwrap(), 0x35E),
            *b"BUSBAR  "
        );
    }

    #[test]
    fn modules_cells_and_capacity_byte_by_byte() {
        let set = encode_all(&byd_state(), &victron()).unwrap();
        // online 2, blocking charge 0, blocking discharge 0, offline 0: the BYD bytes.
        assert_eq!(frame(&set, 0x372), [0x02, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            frame(&set, 0x373),
            [
                0xEA, 0x0C, // min cell 3306 mV
                0x01, 0x0D, // max cell 3329 mV
                0x1F, 0x01, // min T 287 K (13.8 °C)
                0x22, 0x01, // max T 290 K (16.9 °C)
            ]
        );
        // The BYD capture's own 0x373 bytes.
        assert_eq!(
            frame(&set, 0x373),
            [0xEA, 0x0C, 0x01, 0x0D, 0x1F, 0x01, 0x22, 0x01]
        );
        assert_eq!(frame(&set, 0x379), [0x9C, 0x00, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn ids_name_pack_and_cell_one_based() {
        let set = encode_all(&byd_state(), &victron()).unwrap();
        assert_eq!(frame(&set, 0x374), *b"P2C05\0\0\0");
        assert_eq!(frame(&set, 0x375), *b"P1C16\0\0\0");
        assert_eq!(frame(&set, 0x376), *b"P3T1\0\0\0\0");
        assert_eq!(frame(&set, 0x377), *b"P1T2\0\0\0\0");
        let cell = |pack, cell| {
            cell_id(Some(CellExtreme {
                pack,
                cell,
                mv: 3300,
            }))
        };
        assert_eq!(&cell(9998, 32), b"P9999C32");
        // Pack 10000 does not fit 8 bytes: unknown, not a cut id naming another cell.
        assert_eq!(cell(9999, 1), [0; 8]);
        assert_eq!(cell(usize::MAX, 1), [0; 8]);
        assert_eq!(cell_id(None), [0; 8]);
    }

    #[test]
    fn values_that_do_not_fit_are_clamped_not_wrapped() {
        let mut state = byd_state();
        state.cvl_mv = 7_000_000; // 7000 V > 6553.5 V
        state.dvl_mv = u32::MAX;
        state.ccl_ma = u32::MAX;
        state.dcl_ma = 3_276_800; // one step above 3276.7 A
        state.voltage_mv = 400_000; // 400 V > 327.67 V
        state.current_ma = i32::MIN;
        state.soc_centi_pct = Some(12_000);
        state.soh_pct = 200;
        state.installed_capacity_ah = 70_000;
        state.counts = PackCounts {
            online: 300,
            blocking_charge: 70_000,
            blocking_discharge: usize::MAX,
            offline: 0,
        };
        let set = encode_all(&state, &pylon()).unwrap();
        assert_eq!(
            frame(&set, 0x351),
            [0xFF, 0xFF, 0xFF, 0x7F, 0xFF, 0x7F, 0xFF, 0xFF]
        );
        let m = frame(&set, 0x356);
        assert_eq!(m[0..2], [0xFF, 0x7F]);
        assert_eq!(m[2..4], [0x00, 0x80]); // −3276.8 A
        state.current_ma = i32::MAX;
        assert_eq!(
            frame(&encode_all(&state, &pylon()).unwrap(), 0x356)[2..4],
            [0xFF, 0x7F]
        );
        assert_eq!(
            frame(&set, 0x355),
            [100, 0, 100, 0, 0x10, 0x27, 0, 0] // 100 %, SOH 100 %, 10000 × 0.01 %
        );
        assert_eq!(frame(&set, 0x35F)[4..6], [0xFF, 0xFF]);
        assert_eq!(frame(&set, 0x379)[0..2], [0xFF, 0xFF]);
        assert_eq!(
            frame(&set, 0x372),
            [0x2C, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0]
        );
        assert_eq!(frame(&set, 0x359)[4], 255);
    }

    #[test]
    fn limits_round_the_safe_way() {
        let mut state = byd_state();
        state.cvl_mv = 55_249; // → 55.2 V, never 55.3
        state.ccl_ma = 60_099; // → 60.0 A
        state.dcl_ma = 99; // → 0.0 A: less than 0.1 A is no current
        state.dvl_mv = 46_401; // → 46.5 V (stop discharging no later)
        let f = encode_limits(&state).unwrap();
        assert_eq!(f.data(), [0x28, 0x02, 0x58, 0x02, 0x00, 0x00, 0xD1, 0x01]);
        // DVL rounded up never passes CVL rounded down.
        state.cvl_mv = 46_450;
        state.dvl_mv = 46_449;
        let f = encode_limits(&state).unwrap();
        assert_eq!(f.data()[0..2], f.data()[6..8]);
    }

    #[test]
    fn cvl_or_voltage_of_zero_is_refused_never_sent() {
        let mut state = byd_state();
        state.cvl_mv = 99; // would be 0.0 V
        assert_eq!(
            encode_all(&state, &victron()),
            Err(EncodeError::ZeroChargeVoltage { cvl_mv: 99 })
        );
        assert_eq!(
            encode_limits(&state),
            Err(EncodeError::ZeroChargeVoltage { cvl_mv: 99 })
        );
        state.cvl_mv = 100;
        assert_eq!(encode_limits(&state).unwrap().data()[0..2], [1, 0]);
        let mut state = byd_state();
        state.voltage_mv = 4; // would be 0.00 V
        assert_eq!(
            encode_all(&state, &victron()),
            Err(EncodeError::ZeroVoltage { voltage_mv: 4 })
        );
        state.voltage_mv = 5;
        assert!(encode_all(&state, &victron()).is_ok());
        // 0x351 alone carries no battery voltage: a cut still goes out.
        state.voltage_mv = 0;
        assert!(encode_limits(&state).is_ok());
    }

    #[test]
    fn pylon_flags_0x359_and_request_0x35c() {
        let set = encode_all(&byd_state(), &pylon()).unwrap();
        assert_eq!(
            frame(&set, 0x359),
            [
                0x00, 0x00, // no protection
                0x00, 0x00, // no alarm
                0x02, // two modules online
                0x50, 0x4E, // "PN"
                0x00,
            ]
        );
        // Charge and discharge enabled: the US5000's `C0 00`.
        assert_eq!(frame(&set, 0x35C), [0xC0, 0, 0, 0, 0, 0, 0, 0]);

        let mut state = byd_state();
        state.ccl_ma = 0;
        state.counts.offline = 1;
        state.alarms = VictronAlarms::evaluate(&AlarmInputs {
            active: Alarms::CELL_OVER_VOLTAGE | Alarms::BATTERY_LOW_TEMPERATURE,
            charge_impossible: true,
            online: 2,
            offline: 1,
            ..AlarmInputs::default()
        });
        let set = encode_all(&state, &pylon()).unwrap();
        let flags = frame(&set, 0x359);
        // Over-voltage and under-temperature protection: no pack may charge.
        assert_eq!(flags[0], 0x02 | 0x10);
        // One pack silent: BMS internal warning → internal communication fail.
        assert_eq!(flags[3], 0x08);
        assert_eq!(flags[1], 0);
        assert_eq!(flags[2], 0);
        // CCL 0: charge not enabled; discharge still is.
        assert_eq!(frame(&set, 0x35C), [0x40, 0, 0, 0, 0, 0, 0, 0]);
        // The Victron profile sends neither.
        let set = encode_all(&state, &victron()).unwrap();
        assert!(set.iter().all(|f| f.id() != 0x359 && f.id() != 0x35C));
    }

    #[test]
    fn pylon_request_follows_the_limits_as_sent() {
        let mut state = byd_state();
        state.ccl_ma = 99; // goes out as 0.0 A
        state.dcl_ma = 100; // 0.1 A
        let set = encode_all(&state, &pylon()).unwrap();
        assert_eq!(frame(&set, 0x35C)[0], 0x40);
    }
}
