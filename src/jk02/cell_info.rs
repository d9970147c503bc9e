//! The cell-info frame (type 0x02) in both layouts, and its mapping onto [`PackSnapshot`]
//! (`protocols/jk02.md` §2.3 for every offset, §2.4 for the error bits).
//!
//! # Layouts (jk02.md §2.1)
//! `JK02_32S` (fw ≥ 11.x and every JK-PB) has 32 cell slots; `JK02_24S` (JK-B2A24S etc., fw 10.x)
//! has 24. Everything in 24S bytes 54..=111 sits 16 bytes later in 32S, everything from 24S
//! byte 112 on sits 32 bytes later, with two exceptions the table names: the MOSFET temperature
//! (24S 134, 32S 144) and the error bitmask (24S u16 at 136, 32S u32 at 166).
//!
//! # Which layout
//! A JK-PB on the RS485 bus always sends 32S: the bus reader asks for [`Layout::Jk02_32S`].
//! Where the source is unknown (a capture, a BLE dump), [`Layout::detect`] judges the frame
//! itself: a layout fits when its enabled-cell bitmask is `2^n - 1` with 1 ≤ n ≤ its cell
//! slots and its average cell voltage lies between the lowest and highest of those n cells.
//! In the other layout the same bytes are cell voltages or wire resistances, which are never of
//! that form together with a matching average. If both or neither fit, 32S is taken (the newer
//! and far more common layout); an implausible frame is then rejected by the plausibility rule.

use super::frame::{le, Frame, FrameError, FrameType, FRAME_LEN};
use crate::pack::{Alarms, PackSnapshot, MAX_CELLS};

/// One of the two cell-info layouts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Layout {
    #[serde(rename = "JK02_24S")]
    Jk02_24S,
    #[serde(rename = "JK02_32S")]
    Jk02_32S,
}

/// Byte offsets of one layout (jk02.md §2.3, "32S offset" / "24S offset" columns).
struct Offsets {
    cell_slots: usize,
    enabled_mask: usize,
    average: usize,
    delta: usize,
    max_index: usize,
    min_index: usize,
    resistances: usize,
    mos_temperature: usize,
    wire_warnings: usize,
    /// Everything from the pack voltage (32S 150) on: 32S offset minus this.
    shift: usize,
}

const OFFSETS_32S: Offsets = Offsets {
    cell_slots: 32,
    enabled_mask: 70,
    average: 74,
    delta: 76,
    max_index: 78,
    min_index: 79,
    resistances: 80,
    mos_temperature: 144,
    wire_warnings: 146,
    shift: 0,
};

const OFFSETS_24S: Offsets = Offsets {
    cell_slots: 24,
    enabled_mask: 54,
    average: 58,
    delta: 60,
    max_index: 62,
    min_index: 63,
    resistances: 64,
    mos_temperature: 134,
    wire_warnings: 114,
    shift: 32,
};

/// 32S offsets from the pack voltage on (jk02.md §2.3); the 24S ones are 32 lower.
mod at {
    pub const VOLTAGE: usize = 150;
    pub const POWER: usize = 154;
    pub const CURRENT: usize = 158;
    pub const T1: usize = 162;
    pub const T2: usize = 164;
    /// 32S only: u32 at 166. 24S: u16 at 136 ([`super::ERRORS_24S`]).
    pub const ERRORS: usize = 166;
    pub const BALANCE_CURRENT: usize = 170;
    pub const BALANCER_STATE: usize = 172;
    pub const SOC: usize = 173;
    pub const REMAINING: usize = 174;
    pub const FULL: usize = 178;
    pub const CYCLES: usize = 182;
    pub const CYCLE_CAPACITY: usize = 186;
    pub const SOH: usize = 190;
    pub const PRECHARGE: usize = 191;
    pub const USER_ALARM: usize = 192;
    pub const RUNTIME: usize = 194;
    pub const CHARGE_MOS: usize = 198;
    pub const DISCHARGE_MOS: usize = 199;
    pub const PRECHARGE_MOS: usize = 200;
    pub const BALANCER_WORKING: usize = 201;
    pub const SENSORS_PRESENT: usize = 214;
    pub const HEATING: usize = 215;
    pub const HEATER_CURRENT: usize = 236;
    /// 32S only: T3, T4, T5 at 254 / 256 / 258 (official names; jk02.md §2.3 [!]).
    pub const T3: usize = 254;
}

/// 24S error bitmask: u16 at 136 (jk02.md §2.3).
const ERRORS_24S: usize = 136;

/// Bits of the temperature-sensor present byte (32S 214; jk02.md §2.3): bit 0 MOS, bit k = Tk.
pub const SENSOR_PRESENT_MOS: u8 = 1 << 0;

/// Every field of a cell-info frame, raw units (mV, mA, mΩ, mAh, 0.1 °C, s).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct CellInfo {
    pub layout: Option<Layout>,
    pub counter: u8,
    /// The first n cells, n = highest set bit of `enabled_mask` + 1 (at most the layout's slots).
    pub cells_mv: heapless::Vec<u16, MAX_CELLS>,
    pub enabled_mask: u32,
    pub average_mv: u16,
    pub delta_mv: u16,
    /// 0-based.
    pub max_cell_index: u8,
    pub min_cell_index: u8,
    /// Balance-wire resistance of the same n cells.
    pub resistances_mohm: heapless::Vec<u16, MAX_CELLS>,
    pub mos_temperature_dc: i16,
    pub wire_resistance_warnings: u32,
    pub voltage_mv: u32,
    /// Unsigned magnitude (jk02.md §2.3): use V × I for the sign.
    pub power_mw: u32,
    /// Positive = charging.
    pub current_ma: i32,
    pub t1_dc: i16,
    pub t2_dc: i16,
    /// 32S only: T3, T4, T5.
    pub t3_to_t5_dc: Option<[i16; 3]>,
    /// Error bitmask (jk02.md §2.4); 16 bits in 24S.
    pub errors: u32,
    pub balance_current_ma: i16,
    /// 0 off, 1 charge-balancing, 2 discharge-balancing.
    pub balancer_state: u8,
    pub soc_pct: u8,
    pub remaining_mah: i32,
    pub full_capacity_mah: u32,
    pub cycles: u32,
    pub cycle_capacity_mah: u32,
    pub soh_pct: u8,
    pub precharge: u8,
    pub user_alarm: u16,
    pub runtime_s: u32,
    pub charge_mosfet: u8,
    pub discharge_mosfet: u8,
    /// 32S meaning; in 24S frames the bytes at the shifted offsets are read but mean something
    /// else (jk02.md §2.3 "n/a"), and busbar does not use them.
    pub precharge_mosfet: u8,
    pub balancer_working: u8,
    pub sensors_present: u8,
    pub heating: u8,
    pub heater_current_ma: i16,
}

/// Why a frame is not a cell-info reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CellInfoError {
    #[error(transparent)]
    Frame(#[from] FrameError),
}

impl Layout {
    fn offsets(self) -> &'static Offsets {
        match self {
            Layout::Jk02_24S => &OFFSETS_24S,
            Layout::Jk02_32S => &OFFSETS_32S,
        }
    }

    /// Cell slots of the layout.
    pub fn cell_slots(self) -> usize {
        self.offsets().cell_slots
    }

    /// The layout a cell-info frame is in, judged from the frame (see the module docs).
    pub fn detect(frame: &[u8; FRAME_LEN]) -> Layout {
        let fits = |layout: Layout| {
            let o = layout.offsets();
            let mask = le::u32(frame, o.enabled_mask);
            let n = mask.count_ones() as usize;
            if n == 0 || n > o.cell_slots || mask != (((1u64 << n) - 1) as u32) {
                return false;
            }
            let cells = (0..n).map(|k| le::u16(frame, 6 + 2 * k));
            let (lo, hi) = cells.fold((u16::MAX, 0), |(lo, hi), c| (lo.min(c), hi.max(c)));
            (lo..=hi).contains(&le::u16(frame, o.average))
        };
        match (fits(Layout::Jk02_24S), fits(Layout::Jk02_32S)) {
            (true, false) => Layout::Jk02_24S,
            _ => Layout::Jk02_32S,
        }
    }
}

/// Number of cells an enabled-cell bitmask declares, at most `slots`.
fn cell_count(mask: u32, slots: usize) -> usize {
    (32 - mask.leading_zeros() as usize).min(slots)
}

impl CellInfo {
    /// Decode a verified frame in `layout` (`None`: [`Layout::detect`]).
    pub fn decode(frame: &Frame<'_>, layout: Option<Layout>) -> Result<Self, CellInfoError> {
        let frame = frame.expect(FrameType::CellInfo)?;
        let f = frame.bytes();
        let layout = layout.unwrap_or_else(|| Layout::detect(f));
        let o = layout.offsets();
        let s = |at32: usize| at32 - o.shift;
        let enabled_mask = le::u32(f, o.enabled_mask);
        let n = cell_count(enabled_mask, o.cell_slots);
        let mut info = CellInfo {
            layout: Some(layout),
            counter: frame.counter(),
            enabled_mask,
            average_mv: le::u16(f, o.average),
            delta_mv: le::u16(f, o.delta),
            max_cell_index: le::u8(f, o.max_index),
            min_cell_index: le::u8(f, o.min_index),
            mos_temperature_dc: le::i16(f, o.mos_temperature),
            wire_resistance_warnings: le::u32(f, o.wire_warnings),
            voltage_mv: le::u32(f, s(at::VOLTAGE)),
            power_mw: le::u32(f, s(at::POWER)),
            current_ma: le::i32(f, s(at::CURRENT)),
            t1_dc: le::i16(f, s(at::T1)),
            t2_dc: le::i16(f, s(at::T2)),
            t3_to_t5_dc: None,
            errors: match layout {
                Layout::Jk02_32S => le::u32(f, at::ERRORS),
                Layout::Jk02_24S => u32::from(le::u16(f, ERRORS_24S)),
            },
            balance_current_ma: le::i16(f, s(at::BALANCE_CURRENT)),
            balancer_state: le::u8(f, s(at::BALANCER_STATE)),
            soc_pct: le::u8(f, s(at::SOC)),
            remaining_mah: le::i32(f, s(at::REMAINING)),
            full_capacity_mah: le::u32(f, s(at::FULL)),
            cycles: le::u32(f, s(at::CYCLES)),
            cycle_capacity_mah: le::u32(f, s(at::CYCLE_CAPACITY)),
            soh_pct: le::u8(f, s(at::SOH)),
            precharge: le::u8(f, s(at::PRECHARGE)),
            user_alarm: le::u16(f, s(at::USER_ALARM)),
            runtime_s: le::u32(f, s(at::RUNTIME)),
            charge_mosfet: le::u8(f, s(at::CHARGE_MOS)),
            discharge_mosfet: le::u8(f, s(at::DISCHARGE_MOS)),
            precharge_mosfet: le::u8(f, s(at::PRECHARGE_MOS)),
            balancer_working: le::u8(f, s(at::BALANCER_WORKING)),
            sensors_present: le::u8(f, s(at::SENSORS_PRESENT)),
            heating: le::u8(f, s(at::HEATING)),
            heater_current_ma: le::i16(f, s(at::HEATER_CURRENT)),
            ..CellInfo::default()
        };
        if layout == Layout::Jk02_32S {
            info.t3_to_t5_dc = Some([0, 1, 2].map(|k| le::i16(f, at::T3 + 2 * k)));
        }
        for k in 0..n {
            // n <= cell_slots <= MAX_CELLS: the pushes cannot fail.
            let _ = info.cells_mv.push(le::u16(f, 6 + 2 * k));
            let _ = info
                .resistances_mohm
                .push(le::u16(f, o.resistances + 2 * k));
        }
        Ok(info)
    }

    /// Encode into a sealed frame (the simulator's side). Cells beyond the layout's slots are
    /// dropped; `layout: None` encodes 32S.
    pub fn encode(&self) -> [u8; FRAME_LEN] {
        let layout = self.layout.unwrap_or(Layout::Jk02_32S);
        let o = layout.offsets();
        let s = |at32: usize| at32 - o.shift;
        let mut f = super::frame::blank(FrameType::CellInfo, self.counter);
        for (k, &mv) in self.cells_mv.iter().take(o.cell_slots).enumerate() {
            le::put_u16(&mut f, 6 + 2 * k, mv);
        }
        for (k, &r) in self.resistances_mohm.iter().take(o.cell_slots).enumerate() {
            le::put_u16(&mut f, o.resistances + 2 * k, r);
        }
        le::put_u32(&mut f, o.enabled_mask, self.enabled_mask);
        le::put_u16(&mut f, o.average, self.average_mv);
        le::put_u16(&mut f, o.delta, self.delta_mv);
        le::put_u8(&mut f, o.max_index, self.max_cell_index);
        le::put_u8(&mut f, o.min_index, self.min_cell_index);
        le::put_i16(&mut f, o.mos_temperature, self.mos_temperature_dc);
        le::put_u32(&mut f, o.wire_warnings, self.wire_resistance_warnings);
        le::put_u32(&mut f, s(at::VOLTAGE), self.voltage_mv);
        le::put_u32(&mut f, s(at::POWER), self.power_mw);
        le::put_i32(&mut f, s(at::CURRENT), self.current_ma);
        le::put_i16(&mut f, s(at::T1), self.t1_dc);
        le::put_i16(&mut f, s(at::T2), self.t2_dc);
        match layout {
            Layout::Jk02_32S => le::put_u32(&mut f, at::ERRORS, self.errors),
            Layout::Jk02_24S => le::put_u16(&mut f, ERRORS_24S, self.errors as u16),
        }
        le::put_i16(&mut f, s(at::BALANCE_CURRENT), self.balance_current_ma);
        le::put_u8(&mut f, s(at::BALANCER_STATE), self.balancer_state);
        le::put_u8(&mut f, s(at::SOC), self.soc_pct);
        le::put_i32(&mut f, s(at::REMAINING), self.remaining_mah);
        le::put_u32(&mut f, s(at::FULL), self.full_capacity_mah);
        le::put_u32(&mut f, s(at::CYCLES), self.cycles);
        le::put_u32(&mut f, s(at::CYCLE_CAPACITY), self.cycle_capacity_mah);
        le::put_u8(&mut f, s(at::SOH), self.soh_pct);
        le::put_u8(&mut f, s(at::PRECHARGE), self.precharge);
        le::put_u16(&mut f, s(at::USER_ALARM), self.user_alarm);
        le::put_u32(&mut f, s(at::RUNTIME), self.runtime_s);
        le::put_u8(&mut f, s(at::CHARGE_MOS), self.charge_mosfet);
        le::put_u8(&mut f, s(at::DISCHARGE_MOS), self.discharge_mosfet);
        le::put_u8(&mut f, s(at::PRECHARGE_MOS), self.precharge_mosfet);
        le::put_u8(&mut f, s(at::BALANCER_WORKING), self.balancer_working);
        le::put_u8(&mut f, s(at::SENSORS_PRESENT), self.sensors_present);
        le::put_u8(&mut f, s(at::HEATING), self.heating);
        le::put_i16(&mut f, s(at::HEATER_CURRENT), self.heater_current_ma);
        if let (Layout::Jk02_32S, Some(t)) = (layout, self.t3_to_t5_dc) {
            for (k, &v) in t.iter().enumerate() {
                le::put_i16(&mut f, at::T3 + 2 * k, v);
            }
        }
        super::frame::seal(&mut f);
        f
    }

    /// The pack snapshot every codec fills.
    ///
    /// - Temperatures: T1 and T2 always (every layout has them); in 32S also T3..T5, each only
    ///   when its bit in the sensor-present byte (214) is set, so an unconnected sensor's value
    ///   never reaches the temperature rules.
    /// - Balancing: balancer state ≠ 0, or in 32S the "balancer working" byte ≠ 0.
    /// - Alarms: [`alarms_from_errors`].
    pub fn to_snapshot(&self) -> PackSnapshot {
        let layout = self.layout.unwrap_or(Layout::Jk02_32S);
        let mut p = PackSnapshot {
            cell_voltages_mv: self.cells_mv.clone(),
            mos_temperature_dc: Some(self.mos_temperature_dc),
            voltage_mv: self.voltage_mv,
            current_ma: self.current_ma,
            soc_pct: self.soc_pct,
            cycles: self.cycles,
            capacity_ah: self.full_capacity_mah as f32 / 1000.0,
            remaining_capacity_ah: Some(self.remaining_mah as f32 / 1000.0),
            charge_mosfet: self.charge_mosfet != 0,
            discharge_mosfet: self.discharge_mosfet != 0,
            balancing: self.balancer_state != 0
                || (layout == Layout::Jk02_32S && self.balancer_working != 0),
            balance_current_ma: Some(self.balance_current_ma),
            alarms: alarms_from_errors(self.errors),
            ..PackSnapshot::default()
        };
        // Capacity 8 > 5 sensors: the pushes cannot fail.
        let _ = p.temperatures_dc.push(self.t1_dc);
        let _ = p.temperatures_dc.push(self.t2_dc);
        if let (Layout::Jk02_32S, Some(t)) = (layout, self.t3_to_t5_dc) {
            for (k, &v) in t.iter().enumerate() {
                if self.sensors_present & (1 << (3 + k)) != 0 {
                    let _ = p.temperatures_dc.push(v);
                }
            }
        }
        p
    }

    /// A cell-info frame's worth of fields from a snapshot (the simulator's side): the inverse
    /// of [`Self::to_snapshot`] for everything a snapshot holds; the rest is derived (average,
    /// delta, min/max index, power) or a fixed plausible value (resistances 60 mΩ, SOH 100 %).
    pub fn from_snapshot(p: &PackSnapshot, layout: Layout, counter: u8) -> Self {
        let n = p.cell_voltages_mv.len().min(layout.cell_slots());
        let cells: heapless::Vec<u16, MAX_CELLS> =
            p.cell_voltages_mv.iter().copied().take(n).collect();
        let sum: u32 = cells.iter().map(|&c| u32::from(c)).sum();
        let (min, max) = (p.min_cell(), p.max_cell());
        let temps = &p.temperatures_dc;
        let extra: [i16; 3] = [2, 3, 4].map(|k| temps.get(k).copied().unwrap_or(0));
        let mut present = SENSOR_PRESENT_MOS | 0b110;
        for k in 2..temps.len().min(5) {
            present |= 1 << (k + 1);
        }
        let power = i64::from(p.voltage_mv) * i64::from(p.current_ma) / 1000;
        CellInfo {
            layout: Some(layout),
            counter,
            enabled_mask: if n == 0 { 0 } else { ((1u64 << n) - 1) as u32 },
            average_mv: if n == 0 { 0 } else { (sum / n as u32) as u16 },
            delta_mv: match (min, max) {
                (Some((_, lo)), Some((_, hi))) => hi - lo,
                _ => 0,
            },
            max_cell_index: max.map_or(0, |(c, _)| (c - 1) as u8),
            min_cell_index: min.map_or(0, |(c, _)| (c - 1) as u8),
            resistances_mohm: cells.iter().map(|_| 60).collect(),
            cells_mv: cells,
            mos_temperature_dc: p.mos_temperature_dc.unwrap_or(0),
            voltage_mv: p.voltage_mv,
            power_mw: power.unsigned_abs().min(u64::from(u32::MAX)) as u32,
            current_ma: p.current_ma,
            t1_dc: temps.first().copied().unwrap_or(0),
            t2_dc: temps.get(1).copied().unwrap_or(0),
            t3_to_t5_dc: (layout == Layout::Jk02_32S).then_some(extra),
            errors: errors_from_alarms(p.alarms, layout),
            balancer_state: u8::from(p.balancing),
            balancer_working: u8::from(p.balancing && layout == Layout::Jk02_32S),
            balance_current_ma: p.balance_current_ma.unwrap_or(0),
            soc_pct: p.soc_pct,
            remaining_mah: p
                .remaining_capacity_ah
                .map_or(0, |ah| (f64::from(ah) * 1000.0).round() as i32),
            full_capacity_mah: (f64::from(p.capacity_ah) * 1000.0).round() as u32,
            cycles: p.cycles,
            soh_pct: 100,
            charge_mosfet: u8::from(p.charge_mosfet),
            discharge_mosfet: u8::from(p.discharge_mosfet),
            sensors_present: if layout == Layout::Jk02_32S {
                present
            } else {
                0
            },
            ..CellInfo::default()
        }
    }
}

/// JK02 error bits (jk02.md §2.4) and the alarm each one raises. Several bits may raise the same
/// alarm; the first listed is the one the encoder writes. Bits not listed are informational
/// (18 GPS disconnected, 19 "modify password in time", 28 GPS remote lock: they say nothing
/// about the cells) and raise nothing.
pub const ERROR_BITS: [(u8, Alarms); 25] = [
    (0, Alarms::WIRE_RESISTANCE),
    (1, Alarms::MOSFET_OVER_TEMPERATURE),
    (2, Alarms::CELL_COUNT_MISMATCH),
    (3, Alarms::OTHER), // current sensor error
    (4, Alarms::CELL_OVER_VOLTAGE),
    (5, Alarms::CHARGE_OVER_VOLTAGE), // battery OVP
    (6, Alarms::CHARGE_OVER_CURRENT),
    (7, Alarms::SHORT_CIRCUIT), // charge SCP
    (8, Alarms::CHARGE_OVER_TEMPERATURE),
    (9, Alarms::CHARGE_LOW_TEMPERATURE),
    (10, Alarms::COPROCESSOR_COMMUNICATION),
    (11, Alarms::CELL_UNDER_VOLTAGE),
    (12, Alarms::DISCHARGE_UNDER_VOLTAGE), // battery UVP
    (13, Alarms::DISCHARGE_OVER_CURRENT),
    (14, Alarms::SHORT_CIRCUIT), // discharge SCP
    (15, Alarms::DISCHARGE_OVER_TEMPERATURE),
    (16, Alarms::OTHER), // charge MOSFET abnormal
    (17, Alarms::OTHER), // discharge MOSFET abnormal
    (20, Alarms::OTHER), // discharge on failed
    (21, Alarms::BATTERY_OVER_TEMPERATURE),
    (22, Alarms::TEMPERATURE_SENSOR_FAULT),
    (23, Alarms::OTHER),                  // PCL / parallel module anomaly
    (24, Alarms::SHORT_CIRCUIT),          // SCP release failed
    (25, Alarms::DISCHARGE_OVER_CURRENT), // discharge OCP II (26: OCP III, same alarm)
    (27, Alarms::DISCHARGE_LOW_TEMPERATURE),
];

/// The alarms an error bitmask raises (jk02.md §2.4, [`ERROR_BITS`]; bit 26 = OCP III).
pub fn alarms_from_errors(errors: u32) -> Alarms {
    let mut alarms = Alarms::empty();
    for (bit, alarm) in ERROR_BITS {
        if errors & (1 << bit) != 0 {
            alarms |= alarm;
        }
    }
    if errors & (1 << 26) != 0 {
        alarms |= Alarms::DISCHARGE_OVER_CURRENT;
    }
    alarms
}

/// The error bitmask that raises `alarms` (first bit per alarm in [`ERROR_BITS`]); alarms the
/// layout cannot carry (24S: bits ≥ 16) or JK02 has no bit for are dropped.
pub fn errors_from_alarms(alarms: Alarms, layout: Layout) -> u32 {
    let width = match layout {
        Layout::Jk02_24S => 16,
        Layout::Jk02_32S => 32,
    };
    let mut errors = 0u32;
    for flag in alarms.iter() {
        if let Some(&(bit, _)) = ERROR_BITS.iter().find(|&&(_, a)| a == flag) {
            if u32::from(bit) < width {
                errors |= 1 << bit;
            }
        }
    }
    errors
}

/// The part of `alarms` a frame in `layout` can carry: what a snapshot keeps through the
/// simulator's encode and the reader's decode.
pub fn representable_alarms(alarms: Alarms, layout: Layout) -> Alarms {
    alarms_from_errors(errors_from_alarms(alarms, layout))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_alarm_with_a_bit_round_trips_through_its_canonical_bit() {
        for (bit, alarm) in ERROR_BITS {
            assert_eq!(
                alarms_from_errors(errors_from_alarms(alarm, Layout::Jk02_32S)),
                alarm,
                "bit {bit}"
            );
        }
        // 24S cannot carry bits >= 16.
        assert_eq!(
            errors_from_alarms(Alarms::TEMPERATURE_SENSOR_FAULT, Layout::Jk02_24S),
            0
        );
        assert_eq!(
            alarms_from_errors(1 << 18 | 1 << 19 | 1 << 28),
            Alarms::empty()
        );
    }

    #[test]
    fn both_layouts_round_trip_and_are_detected() {
        let mut p = PackSnapshot {
            voltage_mv: 42_800,
            current_ma: -12_345,
            soc_pct: 47,
            cycles: 56,
            capacity_ah: 132.0,
            remaining_capacity_ah: Some(63.168),
            charge_mosfet: true,
            alarms: Alarms::CELL_UNDER_VOLTAGE,
            mos_temperature_dc: Some(5),
            ..PackSnapshot::default()
        };
        for k in 0..13 {
            p.cell_voltages_mv.push(3290 + k).unwrap();
        }
        p.temperatures_dc.push(-31).unwrap();
        p.temperatures_dc.push(-29).unwrap();
        for layout in [Layout::Jk02_24S, Layout::Jk02_32S] {
            let info = CellInfo::from_snapshot(&p, layout, 9);
            let bytes = info.encode();
            assert_eq!(Layout::detect(&bytes), layout);
            let frame = Frame::parse(&bytes).unwrap();
            let back = CellInfo::decode(&frame, None).unwrap();
            assert_eq!(back, info);
            let expected = PackSnapshot {
                balance_current_ma: Some(0),
                ..p.clone()
            };
            assert_eq!(back.to_snapshot(), expected, "{layout:?}");
        }
    }
}
