//! The settings frame (type 0x01): the BMS's own protection settings, u32/s32 little-endian
//! (`protocols/jk02.md` §2.5, "Settings frame"; byte offsets = official register map block
//! 0x1000 + 6). busbar uses the cell count, the design capacity and the BMS's own charge and
//! discharge over-current limits; the rest is decoded for `probe`.

use super::frame::{le, Frame, FrameError, FrameType, FRAME_LEN};

/// The offsets of jk02.md §2.5, in frame order.
mod at {
    pub const SMART_SLEEP_MV: usize = 6;
    pub const CELL_UVP_MV: usize = 10;
    pub const CELL_UVP_RELEASE_MV: usize = 14;
    pub const CELL_OVP_MV: usize = 18;
    pub const CELL_OVP_RELEASE_MV: usize = 22;
    pub const BALANCE_TRIGGER_DELTA_MV: usize = 26;
    pub const SOC_100_MV: usize = 30;
    pub const SOC_0_MV: usize = 34;
    pub const REQUEST_CHARGE_MV: usize = 38;
    pub const FLOAT_MV: usize = 42;
    pub const POWER_OFF_MV: usize = 46;
    pub const MAX_CHARGE_CURRENT_MA: usize = 50;
    pub const CHARGE_OCP_DELAY_S: usize = 54;
    pub const CHARGE_OCP_RECOVERY_S: usize = 58;
    pub const MAX_DISCHARGE_CURRENT_MA: usize = 62;
    pub const DISCHARGE_OCP_DELAY_S: usize = 66;
    pub const DISCHARGE_OCP_RECOVERY_S: usize = 70;
    pub const SCP_RECOVERY_S: usize = 74;
    pub const MAX_BALANCE_CURRENT_MA: usize = 78;
    /// 8 × s32, 0.1 °C: COT, COTR, DcOT, DcOTR, CUT, CUTR, MosOT, MosOTR.
    pub const TEMPERATURES: usize = 82;
    pub const CELLS: usize = 114;
    pub const CHARGE_ENABLED: usize = 118;
    pub const DISCHARGE_ENABLED: usize = 122;
    pub const BALANCE_ENABLED: usize = 126;
    pub const DESIGN_CAPACITY_MAH: usize = 130;
    pub const SCP_DELAY_US: usize = 134;
    pub const BALANCE_START_MV: usize = 138;
    pub const DEVICE_ADDRESS: usize = 270;
}

/// The settings a JK02 BMS reports.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Settings {
    pub smart_sleep_mv: u32,
    pub cell_uvp_mv: u32,
    pub cell_uvp_release_mv: u32,
    pub cell_ovp_mv: u32,
    pub cell_ovp_release_mv: u32,
    pub balance_trigger_delta_mv: u32,
    pub soc_100_mv: u32,
    pub soc_0_mv: u32,
    pub request_charge_mv: u32,
    pub float_mv: u32,
    pub power_off_mv: u32,
    /// The BMS's own charge over-current protection (CurBatCOC).
    pub max_charge_current_ma: u32,
    pub charge_ocp_delay_s: u32,
    pub charge_ocp_recovery_s: u32,
    /// The BMS's own discharge over-current protection (CurBatDcOC).
    pub max_discharge_current_ma: u32,
    pub discharge_ocp_delay_s: u32,
    pub discharge_ocp_recovery_s: u32,
    pub scp_recovery_s: u32,
    pub max_balance_current_ma: u32,
    /// 0.1 °C: charge over-temperature, its release, discharge OT, release, charge
    /// under-temperature, release, MOSFET OT, release.
    pub temperature_limits_dc: [i32; 8],
    pub cells: u32,
    pub charge_enabled: u32,
    pub discharge_enabled: u32,
    pub balance_enabled: u32,
    pub design_capacity_mah: u32,
    pub scp_delay_us: u32,
    pub balance_start_mv: u32,
    pub device_address: u8,
}

impl Settings {
    /// Decode a verified settings frame.
    pub fn decode(frame: &Frame<'_>) -> Result<Self, FrameError> {
        let f = frame.expect(FrameType::Settings)?.bytes();
        let u = |at: usize| le::u32(f, at);
        Ok(Settings {
            smart_sleep_mv: u(at::SMART_SLEEP_MV),
            cell_uvp_mv: u(at::CELL_UVP_MV),
            cell_uvp_release_mv: u(at::CELL_UVP_RELEASE_MV),
            cell_ovp_mv: u(at::CELL_OVP_MV),
            cell_ovp_release_mv: u(at::CELL_OVP_RELEASE_MV),
            balance_trigger_delta_mv: u(at::BALANCE_TRIGGER_DELTA_MV),
            soc_100_mv: u(at::SOC_100_MV),
            soc_0_mv: u(at::SOC_0_MV),
            request_charge_mv: u(at::REQUEST_CHARGE_MV),
            float_mv: u(at::FLOAT_MV),
            power_off_mv: u(at::POWER_OFF_MV),
            max_charge_current_ma: u(at::MAX_CHARGE_CURRENT_MA),
            charge_ocp_delay_s: u(at::CHARGE_OCP_DELAY_S),
            charge_ocp_recovery_s: u(at::CHARGE_OCP_RECOVERY_S),
            max_discharge_current_ma: u(at::MAX_DISCHARGE_CURRENT_MA),
            discharge_ocp_delay_s: u(at::DISCHARGE_OCP_DELAY_S),
            discharge_ocp_recovery_s: u(at::DISCHARGE_OCP_RECOVERY_S),
            scp_recovery_s: u(at::SCP_RECOVERY_S),
            max_balance_current_ma: u(at::MAX_BALANCE_CURRENT_MA),
            temperature_limits_dc: core::array::from_fn(|k| le::i32(f, at::TEMPERATURES + 4 * k)),
            cells: u(at::CELLS),
            charge_enabled: u(at::CHARGE_ENABLED),
            discharge_enabled: u(at::DISCHARGE_ENABLED),
            balance_enabled: u(at::BALANCE_ENABLED),
            design_capacity_mah: u(at::DESIGN_CAPACITY_MAH),
            scp_delay_us: u(at::SCP_DELAY_US),
            balance_start_mv: u(at::BALANCE_START_MV),
            device_address: le::u8(f, at::DEVICE_ADDRESS),
        })
    }

    /// Encode into a sealed frame (the simulator's side).
    pub fn encode(&self, counter: u8) -> [u8; FRAME_LEN] {
        let mut f = super::frame::blank(FrameType::Settings, counter);
        for (at, v) in [
            (at::SMART_SLEEP_MV, self.smart_sleep_mv),
            (at::CELL_UVP_MV, self.cell_uvp_mv),
            (at::CELL_UVP_RELEASE_MV, self.cell_uvp_release_mv),
            (at::CELL_OVP_MV, self.cell_ovp_mv),
            (at::CELL_OVP_RELEASE_MV, self.cell_ovp_release_mv),
            (at::BALANCE_TRIGGER_DELTA_MV, self.balance_trigger_delta_mv),
            (at::SOC_100_MV, self.soc_100_mv),
            (at::SOC_0_MV, self.soc_0_mv),
            (at::REQUEST_CHARGE_MV, self.request_charge_mv),
            (at::FLOAT_MV, self.float_mv),
            (at::POWER_OFF_MV, self.power_off_mv),
            (at::MAX_CHARGE_CURRENT_MA, self.max_charge_current_ma),
            (at::CHARGE_OCP_DELAY_S, self.charge_ocp_delay_s),
            (at::CHARGE_OCP_RECOVERY_S, self.charge_ocp_recovery_s),
            (at::MAX_DISCHARGE_CURRENT_MA, self.max_discharge_current_ma),
            (at::DISCHARGE_OCP_DELAY_S, self.discharge_ocp_delay_s),
            (at::DISCHARGE_OCP_RECOVERY_S, self.discharge_ocp_recovery_s),
            (at::SCP_RECOVERY_S, self.scp_recovery_s),
            (at::MAX_BALANCE_CURRENT_MA, self.max_balance_current_ma),
            (at::CELLS, self.cells),
            (at::CHARGE_ENABLED, self.charge_enabled),
            (at::DISCHARGE_ENABLED, self.discharge_enabled),
            (at::BALANCE_ENABLED, self.balance_enabled),
            (at::DESIGN_CAPACITY_MAH, self.design_capacity_mah),
            (at::SCP_DELAY_US, self.scp_delay_us),
            (at::BALANCE_START_MV, self.balance_start_mv),
        ] {
            le::put_u32(&mut f, at, v);
        }
        for (k, &t) in self.temperature_limits_dc.iter().enumerate() {
            le::put_i32(&mut f, at::TEMPERATURES + 4 * k, t);
        }
        le::put_u8(&mut f, at::DEVICE_ADDRESS, self.device_address);
        super::frame::seal(&mut f);
        f
    }

    /// Typical JK-PB2A16S20P settings for a 16S LiFePO4 pack (the simulator's).
    pub fn lfp16(capacity_mah: u32, address: u8) -> Self {
        Settings {
            smart_sleep_mv: 3300,
            cell_uvp_mv: 2600,
            cell_uvp_release_mv: 2800,
            cell_ovp_mv: 3650,
            cell_ovp_release_mv: 3450,
            balance_trigger_delta_mv: 10,
            soc_100_mv: 3450,
            soc_0_mv: 2800,
            request_charge_mv: 3450,
            float_mv: 3375,
            power_off_mv: 2550,
            max_charge_current_ma: 200_000,
            charge_ocp_delay_s: 30,
            charge_ocp_recovery_s: 60,
            max_discharge_current_ma: 200_000,
            discharge_ocp_delay_s: 300,
            discharge_ocp_recovery_s: 60,
            scp_recovery_s: 5,
            max_balance_current_ma: 2000,
            temperature_limits_dc: [700, 600, 700, 600, 0, 50, 1000, 800],
            cells: 16,
            charge_enabled: 1,
            discharge_enabled: 1,
            balance_enabled: 1,
            design_capacity_mah: capacity_mah,
            scp_delay_us: 1500,
            balance_start_mv: 3400,
            device_address: address,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip() {
        let s = Settings::lfp16(280_000, 3);
        let bytes = s.encode(1);
        let frame = Frame::parse(&bytes).unwrap();
        assert_eq!(Settings::decode(&frame).unwrap(), s);
        // Per-byte: the charge over-current limit 200 A = 0x00030D40 at 50..=53, LE.
        assert_eq!(bytes[50..54], [0x40, 0x0D, 0x03, 0x00]);
        // Cell count 16 at 114.
        assert_eq!(bytes[114..118], [0x10, 0x00, 0x00, 0x00]);
    }
}
