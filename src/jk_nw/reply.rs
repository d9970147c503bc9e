//! The typed content of a read-all reply (`protocols/jk-nw.md` §1.4): the pack's live state as
//! the shared [`PackSnapshot`], the protection settings, and the raw words behind them.

use serde::Serialize;

use crate::pack::PackSnapshot;

/// Everything one read-all reply says.
///
/// Produced by [`super::decode_reply`] / [`NwReply::from_frame`]; written by
/// [`NwReply::encode`] (see there which field wins where two describe the same bytes).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NwReply {
    /// The live readings, as every codec reports them. For NW:
    /// - `temperatures_dc` is always `[T1 (0x81), T2 (0x82)]`, `mos_temperature_dc` always
    ///   `Some` (0x80); all three are mandatory tags.
    /// - `capacity_ah` is the nominal capacity setting 0xAA. `remaining_capacity_ah` is `None`:
    ///   NW carries no remaining capacity (SOC × capacity is an estimate, the core's to make).
    ///   The actual capacity 0xB9 is in [`NwSettings::actual_capacity_ah`].
    /// - `device.hardware_version` is empty: NW has no such field (it is part of the
    ///   software version text, e.g. `H6.X__S6.1.3S__`).
    pub pack: PackSnapshot,
    pub settings: NwSettings,
    /// Tag 0xC0; `None` when the reply has none (old firmware, legacy current encoding §1.5).
    pub protocol_version: Option<u8>,
    /// Tag 0x86: number of temperature sensors.
    pub temperature_sensor_count: u8,
    /// Tag 0x8A: the cell count the BMS states (the cell list 0x79 is what `pack` holds).
    pub reported_cell_count: u16,
    /// Tag 0x89: total cycle capacity in Ah.
    pub total_cycle_capacity_ah: u32,
    /// Tag 0x8B as received (§1.7); bits 0–13 are in `pack.alarms`.
    pub alarm_bits: u16,
    /// Tag 0x8C as received (§1.8); bits 0–2 are in `pack.charge_mosfet`, `discharge_mosfet`,
    /// `balancing`. Bit 3 is ignored (its polarity contradicts the captures, §1.8).
    pub status_bits: u16,
}

/// The protection and configuration settings a reply carries (tags 0x8E..=0xB9 that are not
/// live readings or identity texts), in the units the spec gives (§1.4).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct NwSettings {
    /// 0x8E pack over-voltage protection, mV.
    pub pack_ovp_mv: u32,
    /// 0x8F pack under-voltage protection, mV.
    pub pack_uvp_mv: u32,
    /// 0x90 cell over-voltage protection, mV.
    pub cell_ovp_mv: u16,
    /// 0x91 cell OVP recovery, mV.
    pub cell_ovp_recovery_mv: u16,
    /// 0x92 cell OVP delay, s.
    pub cell_ovp_delay_s: u16,
    /// 0x93 cell under-voltage protection, mV.
    pub cell_uvp_mv: u16,
    /// 0x94 cell UVP recovery, mV.
    pub cell_uvp_recovery_mv: u16,
    /// 0x95 cell UVP delay, s.
    pub cell_uvp_delay_s: u16,
    /// 0x96 cell voltage-difference protection, mV.
    pub cell_diff_protection_mv: u16,
    /// 0x97 discharge over-current protection, A.
    pub discharge_ocp_a: u16,
    /// 0x98 discharge OCP delay, s.
    pub discharge_ocp_delay_s: u16,
    /// 0x99 charge over-current protection, A.
    pub charge_ocp_a: u16,
    /// 0x9A charge OCP delay, s.
    pub charge_ocp_delay_s: u16,
    /// 0x9B balance start voltage, mV.
    pub balance_start_mv: u16,
    /// 0x9C balance trigger delta, mV.
    pub balance_delta_mv: u16,
    /// 0x9D active balancer switch (any non-zero byte = on).
    pub balancer_enabled: bool,
    /// 0x9E MOSFET over-temperature protection, °C.
    pub mos_otp_c: u16,
    /// 0x9F MOSFET OTP recovery, °C.
    pub mos_otp_recovery_c: u16,
    /// 0xA0 battery-box over-temperature protection, °C.
    pub box_otp_c: u16,
    /// 0xA1 battery-box OTP recovery, °C.
    pub box_otp_recovery_c: u16,
    /// 0xA2 sensor temperature-difference protection, °C.
    pub temperature_diff_protection_c: u16,
    /// 0xA3 charge over-temperature protection, °C.
    pub charge_otp_c: u16,
    /// 0xA4 discharge over-temperature protection, °C.
    pub discharge_otp_c: u16,
    /// 0xA5 charge under-temperature protection, °C (s16, two's complement).
    pub charge_utp_c: i16,
    /// 0xA6 charge UTP recovery, °C.
    pub charge_utp_recovery_c: i16,
    /// 0xA7 discharge under-temperature protection, °C.
    pub discharge_utp_c: i16,
    /// 0xA8 discharge UTP recovery, °C.
    pub discharge_utp_recovery_c: i16,
    /// 0xA9 cell-count setting.
    pub cell_count: u8,
    /// 0xAA nominal capacity, Ah (also `pack.capacity_ah`).
    pub nominal_capacity_ah: u32,
    /// 0xAB charge MOS switch: charging allowed by configuration (not the MOSFET state).
    pub charge_mos_enabled: bool,
    /// 0xAC discharge MOS switch.
    pub discharge_mos_enabled: bool,
    /// 0xAD current calibration, mA.
    pub current_calibration_ma: u16,
    /// 0xAE board address.
    pub board_address: u8,
    /// 0xAF cell chemistry.
    pub cell_type: CellType,
    /// 0xB0 sleep wait time, s.
    pub sleep_wait_s: u16,
    /// 0xB1 low-capacity alarm threshold, %.
    pub low_capacity_alarm_pct: u8,
    /// 0xB2 parameter password (masked in `Debug`, never serialised).
    #[serde(skip)]
    pub password: Password,
    /// 0xB3 dedicated charger switch.
    pub dedicated_charger: bool,
    /// 0xB6 total runtime, minutes.
    pub runtime_minutes: u32,
    /// 0xB8 start current calibration.
    pub start_current_calibration: u8,
    /// 0xB9 actual battery capacity, Ah; `None` when the reply has no 0xB9 (firmware < 10.10).
    pub actual_capacity_ah: Option<u32>,
}

/// Cell chemistry setting, tag 0xAF (§1.4). Serialised as `lfp`, `nmc`, `lto`, `{"unknown": n}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CellType {
    /// 0: LiFePO4.
    #[default]
    Lfp,
    /// 1: NMC / "ternary" lithium.
    Nmc,
    /// 2: lithium titanate.
    Lto,
    /// Any other code, kept as sent.
    Unknown(u8),
}

impl CellType {
    pub fn from_code(code: u8) -> Self {
        match code {
            0 => Self::Lfp,
            1 => Self::Nmc,
            2 => Self::Lto,
            other => Self::Unknown(other),
        }
    }

    pub fn code(self) -> u8 {
        match self {
            Self::Lfp => 0,
            Self::Nmc => 1,
            Self::Lto => 2,
            Self::Unknown(code) => code,
        }
    }
}

/// The BMS parameter password (tag 0xB2, 10 ASCII bytes). `Debug` never shows it, so it cannot
/// leak into logs; [`Password::reveal`] gives the text to code that really needs it.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Password(heapless::String<{ super::tag::PASSWORD_LEN }>);

impl Password {
    /// A password of up to 10 bytes; `None` if longer.
    pub fn new(text: &str) -> Option<Self> {
        heapless::String::try_from(text).ok().map(Self)
    }

    pub(crate) fn from_text(text: heapless::String<{ super::tag::PASSWORD_LEN }>) -> Self {
        Self(text)
    }

    /// The password in clear text. Never log it.
    pub fn reveal(&self) -> &str {
        self.0.as_str()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl core::fmt::Debug for Password {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Password(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_is_masked_in_debug() {
        let settings = NwSettings {
            password: Password::new("123456").unwrap(), // 6 bytes fit in 10
            ..NwSettings::default()
        };
        let shown = format!("{settings:?} {:?}", settings.password);
        assert!(!shown.contains("123456"), "{shown}");
        assert!(shown.contains("Password(***)"));
        assert_eq!(settings.password.reveal(), "123456");
        assert_eq!(Password::new("12345678901"), None);
    }

    #[test]
    fn cell_type_codes() {
        for code in 0..=255u8 {
            assert_eq!(CellType::from_code(code).code(), code);
        }
        assert_eq!(CellType::from_code(0), CellType::Lfp);
        assert_eq!(CellType::from_code(1), CellType::Nmc);
        assert_eq!(CellType::from_code(2), CellType::Lto);
        assert_eq!(CellType::from_code(7), CellType::Unknown(7));
    }
}
