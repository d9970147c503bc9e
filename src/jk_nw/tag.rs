//! The IDs of the reply's TLV stream and the size of each value (`protocols/jk-nw.md` §1.4).
//!
//! The decoder ([`super::payload`]) and the encoder ([`super::encode`]) each read or write the
//! size their field's type has; a test checks both against [`value_size`], the table as the
//! spec writes it.

/// Cell voltages: `79 L` then L/3 × (cell number u8, mV u16), L = 3 × cells.
pub const CELL_VOLTAGES: u8 = 0x79;
/// MOSFET ("power tube") temperature, temperature code (§1.6).
pub const MOS_TEMPERATURE: u8 = 0x80;
/// T1, "battery box" (outer) sensor, temperature code.
pub const TEMPERATURE_1: u8 = 0x81;
/// T2, "battery" sensor, temperature code.
pub const TEMPERATURE_2: u8 = 0x82;
/// Total voltage, u16 × 10 mV.
pub const TOTAL_VOLTAGE: u8 = 0x83;
/// Current, current code (§1.5) × 10 mA.
pub const CURRENT: u8 = 0x84;
/// State of charge, u8 %.
pub const SOC: u8 = 0x85;
/// Number of temperature sensors, u8.
pub const TEMPERATURE_SENSOR_COUNT: u8 = 0x86;
/// Cycle count, u16.
pub const CYCLE_COUNT: u8 = 0x87;
/// Total cycle capacity, u32 Ah.
pub const TOTAL_CYCLE_CAPACITY: u8 = 0x89;
/// Cell count, u16.
pub const CELL_COUNT: u8 = 0x8A;
/// Alarm bits, u16 (§1.7).
pub const ALARMS: u8 = 0x8B;
/// Status bits, u16 (§1.8).
pub const STATUS: u8 = 0x8C;
/// Pack over-voltage protection, u16 × 10 mV.
pub const PACK_OVP: u8 = 0x8E;
/// Pack under-voltage protection, u16 × 10 mV.
pub const PACK_UVP: u8 = 0x8F;
/// Cell OVP, u16 mV.
pub const CELL_OVP: u8 = 0x90;
/// Cell OVP recovery, u16 mV.
pub const CELL_OVP_RECOVERY: u8 = 0x91;
/// Cell OVP delay, u16 s.
pub const CELL_OVP_DELAY: u8 = 0x92;
/// Cell UVP, u16 mV.
pub const CELL_UVP: u8 = 0x93;
/// Cell UVP recovery, u16 mV.
pub const CELL_UVP_RECOVERY: u8 = 0x94;
/// Cell UVP delay, u16 s.
pub const CELL_UVP_DELAY: u8 = 0x95;
/// Cell voltage-difference protection, u16 mV.
pub const CELL_DIFF_PROTECTION: u8 = 0x96;
/// Discharge over-current protection, u16 A.
pub const DISCHARGE_OCP: u8 = 0x97;
/// Discharge OCP delay, u16 s.
pub const DISCHARGE_OCP_DELAY: u8 = 0x98;
/// Charge over-current protection, u16 A.
pub const CHARGE_OCP: u8 = 0x99;
/// Charge OCP delay, u16 s.
pub const CHARGE_OCP_DELAY: u8 = 0x9A;
/// Balance start voltage, u16 mV.
pub const BALANCE_START: u8 = 0x9B;
/// Balance trigger delta, u16 mV.
pub const BALANCE_DELTA: u8 = 0x9C;
/// Active balancer switch, u8 bool.
pub const BALANCER_SWITCH: u8 = 0x9D;
/// MOSFET over-temperature protection, u16 °C.
pub const MOS_OTP: u8 = 0x9E;
/// MOSFET OTP recovery, u16 °C.
pub const MOS_OTP_RECOVERY: u8 = 0x9F;
/// Battery-box over-temperature protection, u16 °C.
pub const BOX_OTP: u8 = 0xA0;
/// Battery-box OTP recovery, u16 °C.
pub const BOX_OTP_RECOVERY: u8 = 0xA1;
/// Sensor temperature-difference protection, u16 °C.
pub const TEMPERATURE_DIFF_PROTECTION: u8 = 0xA2;
/// Charge over-temperature protection, u16 °C.
pub const CHARGE_OTP: u8 = 0xA3;
/// Discharge over-temperature protection, u16 °C.
pub const DISCHARGE_OTP: u8 = 0xA4;
/// Charge under-temperature protection, s16 °C.
pub const CHARGE_UTP: u8 = 0xA5;
/// Charge UTP recovery, s16 °C.
pub const CHARGE_UTP_RECOVERY: u8 = 0xA6;
/// Discharge under-temperature protection, s16 °C.
pub const DISCHARGE_UTP: u8 = 0xA7;
/// Discharge UTP recovery, s16 °C.
pub const DISCHARGE_UTP_RECOVERY: u8 = 0xA8;
/// Cell-count setting, u8.
pub const CELL_COUNT_SETTING: u8 = 0xA9;
/// Nominal capacity setting, u32 Ah.
pub const NOMINAL_CAPACITY: u8 = 0xAA;
/// Charge MOS switch (enable setting), u8 bool.
pub const CHARGE_MOS_SWITCH: u8 = 0xAB;
/// Discharge MOS switch (enable setting), u8 bool.
pub const DISCHARGE_MOS_SWITCH: u8 = 0xAC;
/// Current calibration, u16 mA.
pub const CURRENT_CALIBRATION: u8 = 0xAD;
/// Board address, u8.
pub const BOARD_ADDRESS: u8 = 0xAE;
/// Cell type, u8: 0 LFP, 1 NMC, 2 LTO.
pub const CELL_TYPE: u8 = 0xAF;
/// Sleep wait time, u16 s.
pub const SLEEP_WAIT: u8 = 0xB0;
/// Low-capacity alarm threshold, u8 %.
pub const LOW_CAPACITY_ALARM: u8 = 0xB1;
/// Parameter password, 10 bytes ASCII, NUL padded.
pub const PASSWORD: u8 = 0xB2;
/// Dedicated charger switch, u8 bool.
pub const DEDICATED_CHARGER_SWITCH: u8 = 0xB3;
/// Device ID, 8 bytes ASCII.
pub const DEVICE_ID: u8 = 0xB4;
/// Manufacture date, 4 bytes ASCII YYMM.
pub const MANUFACTURE_DATE: u8 = 0xB5;
/// Total runtime, u32 minutes.
pub const RUNTIME: u8 = 0xB6;
/// Software version, 15 bytes ASCII.
pub const SOFTWARE_VERSION: u8 = 0xB7;
/// Start current calibration, u8.
pub const START_CURRENT_CALIBRATION: u8 = 0xB8;
/// Actual battery capacity, u32 Ah (firmware ≥ 10.10 only).
pub const ACTUAL_CAPACITY: u8 = 0xB9;
/// Manufacturer ID, 24 bytes ASCII.
pub const MANUFACTURER: u8 = 0xBA;
/// Protocol version, u8: 0 legacy, 1 current encoding of 0x84 (§1.5). Always the last tag.
pub const PROTOCOL_VERSION: u8 = 0xC0;

/// Widths of the text values (§1.4).
pub const PASSWORD_LEN: usize = 10;
pub const DEVICE_ID_LEN: usize = 8;
pub const MANUFACTURE_DATE_LEN: usize = 4;
pub const SOFTWARE_VERSION_LEN: usize = 15;
pub const MANUFACTURER_LEN: usize = 24;

/// Size of a tag's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueSize {
    /// This many bytes follow the ID.
    Fixed(usize),
    /// A length byte L follows the ID, then L bytes (0x79 only).
    CellList,
}

/// The value size of `id` in a reply (§1.4), `None` for IDs a reply cannot carry: unknown ones
/// and the write-only 0xBB–0xBF. A walker cannot step over those.
pub const fn value_size(id: u8) -> Option<ValueSize> {
    use ValueSize::{CellList, Fixed};
    Some(match id {
        CELL_VOLTAGES => CellList,
        SOC
        | TEMPERATURE_SENSOR_COUNT
        | BALANCER_SWITCH
        | CELL_COUNT_SETTING
        | CHARGE_MOS_SWITCH
        | DISCHARGE_MOS_SWITCH
        | BOARD_ADDRESS
        | CELL_TYPE
        | LOW_CAPACITY_ALARM
        | DEDICATED_CHARGER_SWITCH
        | START_CURRENT_CALIBRATION
        | PROTOCOL_VERSION => Fixed(1),
        MOS_TEMPERATURE..=CURRENT
        | CYCLE_COUNT
        | CELL_COUNT..=STATUS
        | PACK_OVP..=BALANCE_DELTA
        | MOS_OTP..=DISCHARGE_UTP_RECOVERY
        | CURRENT_CALIBRATION
        | SLEEP_WAIT => Fixed(2),
        TOTAL_CYCLE_CAPACITY | NOMINAL_CAPACITY | RUNTIME | ACTUAL_CAPACITY => Fixed(4),
        PASSWORD => Fixed(PASSWORD_LEN),
        DEVICE_ID => Fixed(DEVICE_ID_LEN),
        MANUFACTURE_DATE => Fixed(MANUFACTURE_DATE_LEN),
        SOFTWARE_VERSION => Fixed(SOFTWARE_VERSION_LEN),
        MANUFACTURER => Fixed(MANUFACTURER_LEN),
        _ => return None,
    })
}

/// Every tag of a full reply in the order real devices send them (vectors 1.1–1.3).
pub const REPLY_ORDER: [u8; 59] = [
    CELL_VOLTAGES,
    MOS_TEMPERATURE,
    TEMPERATURE_1,
    TEMPERATURE_2,
    TOTAL_VOLTAGE,
    CURRENT,
    SOC,
    TEMPERATURE_SENSOR_COUNT,
    CYCLE_COUNT,
    TOTAL_CYCLE_CAPACITY,
    CELL_COUNT,
    ALARMS,
    STATUS,
    PACK_OVP,
    PACK_UVP,
    CELL_OVP,
    CELL_OVP_RECOVERY,
    CELL_OVP_DELAY,
    CELL_UVP,
    CELL_UVP_RECOVERY,
    CELL_UVP_DELAY,
    CELL_DIFF_PROTECTION,
    DISCHARGE_OCP,
    DISCHARGE_OCP_DELAY,
    CHARGE_OCP,
    CHARGE_OCP_DELAY,
    BALANCE_START,
    BALANCE_DELTA,
    BALANCER_SWITCH,
    MOS_OTP,
    MOS_OTP_RECOVERY,
    BOX_OTP,
    BOX_OTP_RECOVERY,
    TEMPERATURE_DIFF_PROTECTION,
    CHARGE_OTP,
    DISCHARGE_OTP,
    CHARGE_UTP,
    CHARGE_UTP_RECOVERY,
    DISCHARGE_UTP,
    DISCHARGE_UTP_RECOVERY,
    CELL_COUNT_SETTING,
    NOMINAL_CAPACITY,
    CHARGE_MOS_SWITCH,
    DISCHARGE_MOS_SWITCH,
    CURRENT_CALIBRATION,
    BOARD_ADDRESS,
    CELL_TYPE,
    SLEEP_WAIT,
    LOW_CAPACITY_ALARM,
    PASSWORD,
    DEDICATED_CHARGER_SWITCH,
    DEVICE_ID,
    MANUFACTURE_DATE,
    RUNTIME,
    SOFTWARE_VERSION,
    START_CURRENT_CALIBRATION,
    ACTUAL_CAPACITY,
    MANUFACTURER,
    PROTOCOL_VERSION,
];

/// Tags a reply may leave out: 0xB9 (firmware < 10.10, §1.4) and 0xC0 (old firmware, which
/// then uses the legacy current encoding, §1.5). Every other known tag must be there.
pub const OPTIONAL: [u8; 2] = [ACTUAL_CAPACITY, PROTOCOL_VERSION];

/// Bit of `id` in a 128-bit set of tags (IDs 0x79..=0xC0 map to bits 0..=71), 0 outside.
pub(crate) const fn bit(id: u8) -> u128 {
    if id >= CELL_VOLTAGES && id <= PROTOCOL_VERSION {
        1 << (id - CELL_VOLTAGES)
    } else {
        0
    }
}

/// The set of tags a reply must carry: every known tag but [`OPTIONAL`].
pub(crate) const MANDATORY: u128 = {
    let mut set = 0u128;
    let mut id = CELL_VOLTAGES;
    while id <= PROTOCOL_VERSION {
        if value_size(id).is_some() {
            set |= bit(id);
        }
        id += 1;
    }
    let mut i = 0;
    while i < OPTIONAL.len() {
        set &= !bit(OPTIONAL[i]);
        i += 1;
    }
    set
};

/// The lowest tag in `set` (bits as [`bit`]).
pub(crate) fn lowest(set: u128) -> u8 {
    // Bits above 71 are never set, so the sum stays below 0xC1.
    CELL_VOLTAGES.wrapping_add(set.trailing_zeros() as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_order_lists_every_known_tag_once() {
        let known: Vec<u8> = (0..=255u8).filter(|&id| value_size(id).is_some()).collect();
        assert_eq!(known.len(), 59);
        let mut order: Vec<u8> = REPLY_ORDER.to_vec();
        order.sort_unstable();
        assert_eq!(order, known);
        // 0xC0 is always last (§1.4), 0xB9 comes right before 0xBA.
        assert_eq!(REPLY_ORDER[58], PROTOCOL_VERSION);
        assert_eq!(REPLY_ORDER[56..58], [ACTUAL_CAPACITY, MANUFACTURER]);
    }

    #[test]
    fn gaps_and_write_only_ids_have_no_size() {
        for id in [0x00, 0x78, 0x7A, 0x7F, 0x88, 0x8D, 0xBB, 0xBF, 0xC1, 0xFF] {
            assert_eq!(value_size(id), None, "0x{id:02X}");
        }
    }

    #[test]
    fn full_reply_size_matches_the_spec_formula() {
        // §1.4: N = 223 + 3n for a full reply with n cells.
        let n = 16;
        let info: usize = REPLY_ORDER
            .iter()
            .map(|&id| match value_size(id) {
                Some(ValueSize::Fixed(len)) => 1 + len,
                Some(ValueSize::CellList) => 2 + 3 * n,
                None => unreachable!("REPLY_ORDER holds known tags only"),
            })
            .sum();
        assert_eq!(info, 223 + 3 * n);
    }

    #[test]
    fn mandatory_is_every_known_tag_but_b9_and_c0() {
        assert_eq!(MANDATORY.count_ones(), 57);
        assert_eq!(MANDATORY & bit(ACTUAL_CAPACITY), 0);
        assert_eq!(MANDATORY & bit(PROTOCOL_VERSION), 0);
        assert_ne!(MANDATORY & bit(CELL_VOLTAGES), 0);
        assert_eq!(lowest(MANDATORY), CELL_VOLTAGES);
        assert_eq!(lowest(bit(MANUFACTURER)), MANUFACTURER);
    }
}
