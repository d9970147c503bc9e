//! Frames → what the inverter hears: the exact inverse of [`encode`](super::encode), and
//! lenient enough for other batteries' frames (shorter DLCs as in victron-can.md §3.1, text
//! padded with spaces or NULs). Pure; never panics on any input. Keeps the latest value of
//! each frame.
//!
//! Units are those of [`BatteryState`](crate::battery::BatteryState): mV, mA, 0.1 °C, 0.01 %.
//! A field the encoder marks "unknown" (`layout`) decodes to `None`.
//!
//! | id | needs at least | decoded into |
//! |---|---|---|
//! | 0x351 | 8 bytes | [`Limits`] |
//! | 0x355 | 4 bytes (SOC hi-res with 6) | [`Soc`] |
//! | 0x356 | 6 bytes | [`Measurements`] |
//! | 0x359 | 7 bytes | [`PylonFlags`] |
//! | 0x35A | 8 bytes | [`AlarmBytes`] |
//! | 0x35C | 1 byte | [`PylonRequest`] |
//! | 0x35E, 0x370, 0x371, 0x374–0x377, 0x382 | 0 bytes | [`Text`] |
//! | 0x35F | 6 bytes (hardware version with 8) | [`Info`] |
//! | 0x372, 0x373 | 8 bytes | [`Modules`], [`CellExtremes`] |
//! | 0x379 | 2 bytes | installed Ah |
//! | 0x305 | 0 bytes | counted |
//!
//! The minimum lengths are those of Victron's own checker (§3.1 GIST) where it gives one.

use std::fmt;

use super::candump_line::{parse_line, DumpLine};
use super::frame::CanFrame;
use super::id;
use super::layout::{
    self, Bit, ALARM_FIELDS, CELL_ABSENT_MV, KELVIN_ABSENT, KELVIN_OFFSET, PYLON_ALARM,
    PYLON_PROTECTION, PYLON_REQUEST, SOC_HIRES_INVALID, TEMPERATURE_ABSENT_DC,
};
use super::settings::Firmware;

/// 0x351.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub cvl_mv: u32,
    pub ccl_ma: i32,
    /// As sent: positive for busbar and every real battery (§3.2).
    pub dcl_ma: i32,
    pub dvl_mv: u32,
}

/// 0x355.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Soc {
    pub soc_pct: u16,
    pub soh_pct: u16,
    /// Bytes 4–5 in 0.01 %; `None` when the frame is shorter, says 0xFFFF (invalid), or says
    /// 0 beside a non-zero SOC (not filled in, as BYD does).
    pub soc_centi_pct: Option<u16>,
}

/// 0x356.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Measurements {
    pub voltage_mv: i32,
    /// Positive = charging.
    pub current_ma: i32,
    /// 0.1 °C; `None` for busbar's "no sensor" marker (−273.0 °C) or anything colder.
    pub temperature_dc: Option<i16>,
}

/// One 2-bit field of 0x35A (§3.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Crumb {
    /// 00 or 11.
    Unsupported,
    /// 10.
    Ok,
    /// 01.
    Active,
}

impl Crumb {
    pub const fn from_bits(bits: u8) -> Self {
        match bits & 0b11 {
            0b01 => Self::Active,
            0b10 => Self::Ok,
            _ => Self::Unsupported,
        }
    }
}

/// 0x35A as sent: alarms in bytes 0–3, warnings in bytes 4–7.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AlarmBytes(pub [u8; 8]);

impl AlarmBytes {
    fn half(&self, warnings: bool) -> [u8; 4] {
        let base = if warnings { 4 } else { 0 };
        let mut out = [0u8; 4];
        out.copy_from_slice(&self.0[base..base + 4]);
        out
    }

    /// Field `index` (see `layout::ALARM_FIELDS`) of the alarm half.
    pub fn alarm(&self, index: usize) -> Crumb {
        Crumb::from_bits(layout::crumb(&self.half(false), index))
    }

    /// Field `index` of the warning half.
    pub fn warning(&self, index: usize) -> Crumb {
        Crumb::from_bits(layout::crumb(&self.half(true), index))
    }

    /// The names of the raised alarms, in table order.
    pub fn active_alarms(&self) -> impl Iterator<Item = &'static str> + '_ {
        ALARM_FIELDS
            .iter()
            .enumerate()
            .filter(|&(i, _)| self.alarm(i) == Crumb::Active)
            .map(|(_, &name)| name)
    }

    /// The names of the raised warnings, in table order.
    pub fn active_warnings(&self) -> impl Iterator<Item = &'static str> + '_ {
        ALARM_FIELDS
            .iter()
            .enumerate()
            .filter(|&(i, _)| self.warning(i) == Crumb::Active)
            .map(|(_, &name)| name)
    }
}

fn set_bits<'a>(bytes: &'a [u8], table: &'a [Bit]) -> impl Iterator<Item = &'static str> + 'a {
    table
        .iter()
        .filter(|(byte, mask, _)| bytes.get(*byte).is_some_and(|b| b & mask != 0))
        .map(|&(_, _, name)| name)
}

/// 0x359 (Pylon, §3.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PylonFlags {
    /// Bytes 0–3: protection (0–1) and alarm (2–3) bits.
    pub flags: [u8; 4],
    pub modules: u8,
    /// Bytes 5–6, "PN" from a Pylon battery.
    pub tag: [u8; 2],
}

impl PylonFlags {
    pub fn protections(&self) -> impl Iterator<Item = &'static str> + '_ {
        set_bits(&self.flags, &PYLON_PROTECTION)
    }

    pub fn alarms(&self) -> impl Iterator<Item = &'static str> + '_ {
        set_bits(&self.flags, &PYLON_ALARM)
    }
}

/// 0x35C (Pylon, §3.5), byte 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PylonRequest(pub u8);

impl PylonRequest {
    pub fn charge_enabled(&self) -> bool {
        self.0 & layout::REQUEST_CHARGE_ENABLE != 0
    }

    pub fn discharge_enabled(&self) -> bool {
        self.0 & layout::REQUEST_DISCHARGE_ENABLE != 0
    }

    /// The names of the bits set.
    pub fn set(&self) -> impl Iterator<Item = &'static str> + '_ {
        set_bits(std::slice::from_ref(&self.0), &PYLON_REQUEST)
    }
}

/// 0x35F.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Info {
    pub product_id: u16,
    pub firmware: Firmware,
    pub capacity_ah: u16,
    /// `None` when the frame has fewer than 8 bytes.
    pub hardware_version: Option<u16>,
}

/// 0x372.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Modules {
    pub online: u16,
    pub blocking_charge: u16,
    pub blocking_discharge: u16,
    pub offline: u16,
}

/// 0x373; `None` for busbar's "unknown" markers (0 mV, 0 K).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CellExtremes {
    pub min_cell_mv: Option<u16>,
    pub max_cell_mv: Option<u16>,
    pub min_temperature_k: Option<u16>,
    pub max_temperature_k: Option<u16>,
}

/// K → °C as sent (°C + 273, §3.2).
pub fn kelvin_to_celsius(k: u16) -> i32 {
    i32::from(k) - KELVIN_OFFSET
}

/// An ASCII text field, as sent (up to 8 bytes).
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct Text {
    bytes: [u8; 8],
    len: u8,
}

impl Text {
    fn of(data: &[u8]) -> Self {
        let mut bytes = [0u8; 8];
        let len = data.len().min(8);
        bytes[..len].copy_from_slice(&data[..len]);
        Self {
            bytes,
            // At most 8.
            len: len as u8,
        }
    }

    /// The bytes up to the first NUL (a C string's reading, as the GX has it).
    pub fn bytes(&self) -> &[u8] {
        let all = &self.bytes[..usize::from(self.len)];
        let end = all.iter().position(|&b| b == 0).unwrap_or(all.len());
        &all[..end]
    }

    /// Nothing before the first NUL: busbar's "unknown" id.
    pub fn is_empty(&self) -> bool {
        self.bytes().is_empty()
    }
}

/// Printable ASCII as is (trailing spaces kept), anything else as `\xNN`.
impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for &b in self.bytes() {
            if (b' '..=b'~').contains(&b) {
                write!(f, "{}", char::from(b))?;
            } else {
                write!(f, "\\x{b:02X}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Text({:?})", self.to_string())
    }
}

/// The latest value of every frame heard; `None` until the frame comes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DecodedBattery {
    pub limits: Option<Limits>,
    pub soc: Option<Soc>,
    pub measurements: Option<Measurements>,
    pub alarms: Option<AlarmBytes>,
    pub pylon_flags: Option<PylonFlags>,
    pub pylon_request: Option<PylonRequest>,
    pub name: Option<Text>,
    pub info: Option<Info>,
    /// 0x370, 0x371.
    pub bms_name: [Option<Text>; 2],
    pub modules: Option<Modules>,
    pub cells: Option<CellExtremes>,
    pub min_cell_id: Option<Text>,
    pub max_cell_id: Option<Text>,
    pub min_temperature_id: Option<Text>,
    pub max_temperature_id: Option<Text>,
    pub installed_capacity_ah: Option<u16>,
    pub product_family: Option<Text>,
    /// 0x305 frames from the inverter / GX.
    pub keep_alives: u64,
}

/// What one frame did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    /// Decoded; the battery holds its value now.
    Decoded(u16),
    /// An id this decoder does not know.
    Unknown(u16),
    /// A known id with fewer bytes than its fields need; ignored.
    Short { id: u16, len: usize },
}

fn u16_at(d: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([d[at], d[at + 1]])
}

fn i16_at(d: &[u8], at: usize) -> i16 {
    i16::from_le_bytes([d[at], d[at + 1]])
}

fn some_unless(value: u16, marker: u16) -> Option<u16> {
    (value != marker).then_some(value)
}

impl DecodedBattery {
    /// Take in one frame.
    pub fn apply(&mut self, frame: &CanFrame) -> Applied {
        let d = frame.data();
        let id = frame.id();
        let need = match id {
            id::LIMITS | id::ALARMS | id::MODULES | id::CELL_EXTREMES => 8,
            id::PYLON_FLAGS => 7,
            id::MEASUREMENTS | id::INFO => 6,
            id::SOC => 4,
            id::INSTALLED_CAPACITY => 2,
            id::PYLON_REQUEST => 1,
            id::NAME
            | id::BMS_NAME_1
            | id::BMS_NAME_2
            | id::MIN_CELL_ID
            | id::MAX_CELL_ID
            | id::MIN_TEMPERATURE_ID
            | id::MAX_TEMPERATURE_ID
            | id::PRODUCT_FAMILY
            | id::INVERTER_KEEP_ALIVE => 0,
            _ => return Applied::Unknown(id),
        };
        if d.len() < need {
            return Applied::Short { id, len: d.len() };
        }
        // Every index below is within `need` bytes, checked above.
        match id {
            id::LIMITS => {
                self.limits = Some(Limits {
                    cvl_mv: u32::from(u16_at(d, 0)) * 100,
                    ccl_ma: i32::from(i16_at(d, 2)) * 100,
                    dcl_ma: i32::from(i16_at(d, 4)) * 100,
                    dvl_mv: u32::from(u16_at(d, 6)) * 100,
                })
            }
            id::SOC => {
                let soc_pct = u16_at(d, 0);
                self.soc = Some(Soc {
                    soc_pct,
                    soh_pct: u16_at(d, 2),
                    // A 0 beside a SOC that is not 0 is a battery that leaves the field
                    // empty (§3.2: "BYD sends 0"), not an empty battery. busbar never sends
                    // that pair: its whole-% SOC is the 0.01 % one rounded.
                    soc_centi_pct: (d.len() >= 6)
                        .then(|| u16_at(d, 4))
                        .and_then(|c| some_unless(c, SOC_HIRES_INVALID))
                        .filter(|&c| c != 0 || soc_pct == 0),
                })
            }
            id::MEASUREMENTS => {
                let t = i16_at(d, 4);
                self.measurements = Some(Measurements {
                    voltage_mv: i32::from(i16_at(d, 0)) * 10,
                    current_ma: i32::from(i16_at(d, 2)) * 100,
                    temperature_dc: (t > TEMPERATURE_ABSENT_DC).then_some(t),
                })
            }
            id::ALARMS => {
                let mut bytes = [0u8; 8];
                bytes.copy_from_slice(&d[..8]);
                self.alarms = Some(AlarmBytes(bytes));
            }
            id::PYLON_FLAGS => {
                self.pylon_flags = Some(PylonFlags {
                    flags: [d[0], d[1], d[2], d[3]],
                    modules: d[layout::PYLON_MODULE_COUNT_BYTE],
                    tag: [d[5], d[6]],
                })
            }
            id::PYLON_REQUEST => self.pylon_request = Some(PylonRequest(d[0])),
            id::NAME => self.name = Some(Text::of(d)),
            id::INFO => {
                self.info = Some(Info {
                    product_id: u16_at(d, 0),
                    firmware: Firmware {
                        major: d[2],
                        minor: d[3],
                    },
                    capacity_ah: u16_at(d, 4),
                    hardware_version: (d.len() >= 8).then(|| u16_at(d, 6)),
                })
            }
            id::BMS_NAME_1 => self.bms_name[0] = Some(Text::of(d)),
            id::BMS_NAME_2 => self.bms_name[1] = Some(Text::of(d)),
            id::MODULES => {
                self.modules = Some(Modules {
                    online: u16_at(d, 0),
                    blocking_charge: u16_at(d, 2),
                    blocking_discharge: u16_at(d, 4),
                    offline: u16_at(d, 6),
                })
            }
            id::CELL_EXTREMES => {
                self.cells = Some(CellExtremes {
                    min_cell_mv: some_unless(u16_at(d, 0), CELL_ABSENT_MV),
                    max_cell_mv: some_unless(u16_at(d, 2), CELL_ABSENT_MV),
                    min_temperature_k: some_unless(u16_at(d, 4), KELVIN_ABSENT),
                    max_temperature_k: some_unless(u16_at(d, 6), KELVIN_ABSENT),
                })
            }
            id::MIN_CELL_ID => self.min_cell_id = Some(Text::of(d)),
            id::MAX_CELL_ID => self.max_cell_id = Some(Text::of(d)),
            id::MIN_TEMPERATURE_ID => self.min_temperature_id = Some(Text::of(d)),
            id::MAX_TEMPERATURE_ID => self.max_temperature_id = Some(Text::of(d)),
            id::INSTALLED_CAPACITY => self.installed_capacity_ah = Some(u16_at(d, 0)),
            id::PRODUCT_FAMILY => self.product_family = Some(Text::of(d)),
            id::INVERTER_KEEP_ALIVE => self.keep_alives = self.keep_alives.saturating_add(1),
            _ => return Applied::Unknown(id),
        }
        Applied::Decoded(id)
    }

    /// The BMS name of 0x370 + 0x371, each up to its first NUL; `None` before either came.
    pub fn bms_name(&self) -> Option<String> {
        if self.bms_name.iter().all(Option::is_none) {
            return None;
        }
        Some(
            self.bms_name
                .iter()
                .map(|t| t.map(|t| t.to_string()).unwrap_or_default())
                .collect(),
        )
    }
}

/// How much of the input was what.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Frames decoded.
    pub decoded: u64,
    /// Frames with an id not decoded here (other devices, 29-bit ids, remote, CAN FD).
    pub unknown: u64,
    /// Known ids with too few bytes.
    pub short: u64,
    /// Lines that are no candump / cansend line.
    pub garbage: u64,
}

/// Candump text in, the battery out: [`parse_line`] then [`DecodedBattery::apply`].
#[derive(Clone, Debug, Default)]
pub struct Decoder {
    pub battery: DecodedBattery,
    pub stats: Stats,
}

impl Decoder {
    /// Take in one line; the frame id when it decoded one.
    pub fn feed_line(&mut self, line: &str) -> Option<u16> {
        match parse_line(line) {
            DumpLine::Blank => None,
            DumpLine::Garbage => {
                self.stats.garbage += 1;
                None
            }
            DumpLine::Other => {
                self.stats.unknown += 1;
                None
            }
            DumpLine::Frame(frame) => self.feed_frame(&frame),
        }
    }

    /// Take in one frame; its id when it was decoded.
    pub fn feed_frame(&mut self, frame: &CanFrame) -> Option<u16> {
        match self.battery.apply(frame) {
            Applied::Decoded(id) => {
                self.stats.decoded += 1;
                Some(id)
            }
            Applied::Unknown(_) => {
                self.stats.unknown += 1;
                None
            }
            Applied::Short { .. } => {
                self.stats.short += 1;
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(lines: &str) -> Decoder {
        let mut d = Decoder::default();
        for line in lines.lines() {
            d.feed_line(line);
        }
        d
    }

    #[test]
    fn the_byd_capture_reads_as_stated() {
        let d = decode(
            "0x351 [8] 48 02 00 05 00 05 AE 01\n\
             0x355 [8] 43 00 64 00 00 00 00 00\n\
             0x356 [8] BE 14 F9 FF 8C 00 00 00\n\
             0x35A [8] 10 00 00 00 00 00 00 00\n\
             0x35E [8] 42 59 44 00 00 00 00 00\n\
             0x35F [8] 4C 69 01 17 69 00 00 00\n\
             0x372 [8] 02 00 00 00 00 00 00 00\n\
             0x373 [8] EA 0C 01 0D 1F 01 22 01\n\
             0x374 [8] 32 00 00 00 00 00 00 00\n\
             0x379 [8] 9C 00 00 00 00 00 00 00\n\
             0x382 [8] 50 52 45 4D 49 55 4D 00\n\
             0x307 [8] 12 34 56 78 56 49 43 00\n\
             0x378 [8] 40 08 00 00 2B 07 00 00\n",
        );
        let b = &d.battery;
        assert_eq!(
            b.limits,
            Some(Limits {
                cvl_mv: 58_400,
                ccl_ma: 128_000,
                dcl_ma: 128_000,
                dvl_mv: 43_000
            })
        );
        // BYD leaves the 0.01 % field at 0: not read as 0 %.
        assert_eq!(
            b.soc,
            Some(Soc {
                soc_pct: 67,
                soh_pct: 100,
                soc_centi_pct: None
            })
        );
        assert_eq!(
            b.measurements,
            Some(Measurements {
                voltage_mv: 53_100,
                current_ma: -700,
                temperature_dc: Some(140)
            })
        );
        let alarms = b.alarms.unwrap();
        assert_eq!(alarms.active_alarms().collect::<Vec<_>>(), ["low_voltage"]);
        assert_eq!(alarms.active_warnings().count(), 0);
        assert_eq!(alarms.alarm(0), Crumb::Unsupported);
        assert_eq!(b.name.unwrap().to_string(), "BYD");
        let info = b.info.unwrap();
        assert_eq!(info.product_id, 0x694C);
        assert_eq!(
            info.firmware,
            Firmware {
                major: 1,
                minor: 23
            }
        );
        assert_eq!((info.capacity_ah, info.hardware_version), (105, Some(0)));
        assert_eq!(b.modules.unwrap().online, 2);
        let cells = b.cells.unwrap();
        assert_eq!(
            (cells.min_cell_mv, cells.max_cell_mv),
            (Some(3306), Some(3329))
        );
        assert_eq!(cells.min_temperature_k.map(kelvin_to_celsius), Some(14));
        assert_eq!(cells.max_temperature_k, Some(290));
        assert_eq!(b.min_cell_id.unwrap().to_string(), "2");
        assert_eq!(b.installed_capacity_ah, Some(156));
        assert_eq!(b.product_family.unwrap().to_string(), "PREMIUM");
        assert_eq!(
            d.stats,
            Stats {
                decoded: 11,
                unknown: 2,
                short: 0,
                garbage: 0
            }
        );
    }

    #[test]
    fn short_pylon_frames_decode_what_they_carry() {
        let d = decode(
            "0x355 [4] 58 00 5E 00\n\
             0x356 [6] 7A 13 F2 FE 6B 01\n\
             0x359 [7] 00 00 00 00 06 50 4E\n\
             0x35C [2] C0 00\n\
             0x35E [8] 50 59 4C 4F 4E 20 20 20\n\
             0x351 [4] 14 02 C0 12\n",
        );
        let b = &d.battery;
        assert_eq!(b.soc.unwrap().soc_centi_pct, None);
        assert_eq!(b.measurements.unwrap().current_ma, -27_000);
        let flags = b.pylon_flags.unwrap();
        assert_eq!((flags.modules, &flags.tag), (6, b"PN"));
        assert_eq!(flags.protections().count() + flags.alarms().count(), 0);
        let req = b.pylon_request.unwrap();
        assert!(req.charge_enabled() && req.discharge_enabled());
        assert_eq!(
            req.set().collect::<Vec<_>>(),
            ["charge_enable", "discharge_enable"]
        );
        assert_eq!(b.name.unwrap().to_string(), "PYLON   ");
        // A 4-byte 0x351 carries no complete set of limits.
        assert_eq!(b.limits, None);
        assert_eq!(d.stats.short, 1);
    }

    #[test]
    fn markers_decode_to_unknown_and_latest_value_wins() {
        let d = decode(
            "356#1A14000056F50000\n\
             373#0000000000000000\n\
             374#0000000000000000\n\
             355#43006400FFFF0000\n\
             356#1A1400005AF50000\n",
        );
        let b = &d.battery;
        // −2730 then −2726: the first is the marker, the second a (cold) reading.
        assert_eq!(b.measurements.unwrap().temperature_dc, Some(-2726));
        let cells = b.cells.unwrap();
        assert_eq!(cells.min_cell_mv, None);
        assert_eq!(cells.max_temperature_k, None);
        assert!(b.min_cell_id.unwrap().is_empty());
        assert_eq!(b.soc.unwrap().soc_centi_pct, None);
        // An empty battery says 0 in both fields.
        let mut d = Decoder::default();
        d.feed_line("355#0000640000000000");
        assert_eq!(d.battery.soc.unwrap().soc_centi_pct, Some(0));
        let mut d = Decoder::default();
        d.feed_line("356#1A14000056F50000");
        assert_eq!(d.battery.measurements.unwrap().temperature_dc, None);
    }

    #[test]
    fn text_shows_non_ascii_escaped() {
        assert_eq!(Text::of(b"A\x01\xFFB\0C").to_string(), "A\\x01\\xFFB");
        assert_eq!(Text::of(b"").to_string(), "");
        assert_eq!(Text::of(b"123456789").bytes(), b"12345678");
    }
}
