//! Writing a read-all reply, for the pack simulator: [`NwReply::encode`] and a realistic
//! 16S LiFePO4 reply, [`NwReply::lfp16`].

use super::codes::{temperature_to_code, CurrentEncoding};
use super::frame::{command, finish_frame, source, transmission, write_header, OVERHEAD};
use super::reply::{CellType, NwReply, NwSettings, Password};
use super::{tag, text};
use crate::pack::{PackSnapshot, ShortText};

/// Alarm bits the pack's [`crate::pack::Alarms`] holds for NW: 0–13 (§1.7).
const NW_ALARM_MASK: u16 = 0x3FFF;
/// Status bits the pack holds: charge MOSFET, discharge MOSFET, balancing (§1.8 bits 0–2).
const NW_STATUS_MASK: u16 = 0b111;

/// Appends TLVs to a frame being written.
struct TlvWriter<'a> {
    out: &'a mut Vec<u8>,
}

impl TlvWriter<'_> {
    fn u8(&mut self, id: u8, v: u8) {
        self.out.extend_from_slice(&[id, v]);
    }
    fn bool(&mut self, id: u8, v: bool) {
        self.u8(id, u8::from(v));
    }
    fn u16(&mut self, id: u8, v: u16) {
        self.out.push(id);
        self.out.extend_from_slice(&v.to_be_bytes());
    }
    fn i16(&mut self, id: u8, v: i16) {
        self.out.push(id);
        self.out.extend_from_slice(&v.to_be_bytes());
    }
    fn u32(&mut self, id: u8, v: u32) {
        self.out.push(id);
        self.out.extend_from_slice(&v.to_be_bytes());
    }
    fn text(&mut self, id: u8, v: &str, width: usize) {
        self.out.push(id);
        text::encode(v, width, self.out);
    }
    /// A value in mV as a u16 count of 10 mV (§1.4), rounded to nearest and clamped.
    fn centivolts(&mut self, id: u8, mv: u32) {
        let v = (u64::from(mv) + 5) / 10;
        self.u16(id, v.min(u64::from(u16::MAX)) as u16);
    }
}

impl NwReply {
    /// Append this reply as a complete frame, as a real BMS sends it: command 0x06, source 0x00
    /// (BMS), type 0x01 (response), every tag in the devices' order (0xB9 only when
    /// `settings.actual_capacity_ah` is `Some`, 0xC0 last and only when `protocol_version` is
    /// `Some`), record number 0, checksum.
    ///
    /// Where two fields describe the same bytes, this one wins:
    /// - live readings and identity come from `pack`: cells, temperatures, voltage, current,
    ///   SOC, cycles, status bits 0–2, alarm bits 0–13, device texts;
    /// - configuration comes from `settings`, including the nominal capacity 0xAA
    ///   (`pack.capacity_ah` and `pack.remaining_capacity_ah` are ignored);
    /// - `alarm_bits` and `status_bits` supply only the bits no typed field holds (alarms
    ///   14–15, status 3–15).
    ///
    /// Values the protocol cannot carry are rounded or clamped: voltages to 10 mV, current to
    /// 10 mA (and its range, [`CurrentEncoding::encode`]), temperatures to whole °C within
    /// −3276..=100 °C, cycles to u16, texts cut to their field; a missing T1/T2/MOS temperature
    /// is sent as 0 °C; at most 32 cells exist ([`crate::pack::MAX_CELLS`]).
    /// [`super::decode_reply`] of the result gives `self` back exactly when `self` is
    /// representable. A `protocol_version` this codec does not know is written as given with
    /// the version-1 current encoding (and will not decode).
    pub fn encode(&self, out: &mut Vec<u8>) {
        self.encode_with_command(command::READ_ALL, out);
    }

    /// [`Self::encode`] with another command byte: a reply to "read ID 0x00" (command 0x03)
    /// echoes 0x03 (§1.3, MPP).
    pub fn encode_with_command(&self, command: u8, out: &mut Vec<u8>) {
        let start = out.len();
        // §1.4: N = 223 + 3n for a full reply.
        out.reserve(OVERHEAD + 223 + 3 * self.pack.cell_voltages_mv.len());
        write_header(out, 0, command, source::BMS, transmission::RESPONSE);
        self.write_info(&mut TlvWriter { out });
        // The info field is at most 223 + 3 × 32 = 319 bytes < MAX_INFO_LEN (492).
        finish_frame(out, start, 0);
    }

    fn write_info(&self, w: &mut TlvWriter<'_>) {
        let p = &self.pack;
        let s = &self.settings;
        let encoding = CurrentEncoding::for_version(self.protocol_version)
            .unwrap_or(CurrentEncoding::SignMagnitude);

        // 0x79: L = 3n, then (cell number, mV) with numbers from 1. n ≤ MAX_CELLS (32), so
        // L ≤ 96 and every number fits in a byte.
        let cells = &p.cell_voltages_mv;
        w.u8(tag::CELL_VOLTAGES, (3 * cells.len()) as u8);
        for (i, &mv) in cells.iter().enumerate() {
            w.out.push((i + 1) as u8);
            w.out.extend_from_slice(&mv.to_be_bytes());
        }
        let temperature = |t: Option<&i16>| temperature_to_code(t.copied().unwrap_or(0));
        w.u16(
            tag::MOS_TEMPERATURE,
            temperature(p.mos_temperature_dc.as_ref()),
        );
        w.u16(tag::TEMPERATURE_1, temperature(p.temperatures_dc.first()));
        w.u16(tag::TEMPERATURE_2, temperature(p.temperatures_dc.get(1)));
        w.centivolts(tag::TOTAL_VOLTAGE, p.voltage_mv);
        w.u16(tag::CURRENT, encoding.encode(p.current_ma));
        w.u8(tag::SOC, p.soc_pct);
        w.u8(tag::TEMPERATURE_SENSOR_COUNT, self.temperature_sensor_count);
        w.u16(tag::CYCLE_COUNT, p.cycles.min(u32::from(u16::MAX)) as u16);
        w.u32(tag::TOTAL_CYCLE_CAPACITY, self.total_cycle_capacity_ah);
        w.u16(tag::CELL_COUNT, self.reported_cell_count);
        // Alarms bits 0–13 = pack::Alarms bits 0–13 (§1.7, pack.rs).
        let alarms = (self.alarm_bits & !NW_ALARM_MASK) | (p.alarms.bits() as u16 & NW_ALARM_MASK);
        w.u16(tag::ALARMS, alarms);
        let status = (self.status_bits & !NW_STATUS_MASK)
            | u16::from(p.charge_mosfet)
            | u16::from(p.discharge_mosfet) << 1
            | u16::from(p.balancing) << 2;
        w.u16(tag::STATUS, status);

        w.centivolts(tag::PACK_OVP, s.pack_ovp_mv);
        w.centivolts(tag::PACK_UVP, s.pack_uvp_mv);
        w.u16(tag::CELL_OVP, s.cell_ovp_mv);
        w.u16(tag::CELL_OVP_RECOVERY, s.cell_ovp_recovery_mv);
        w.u16(tag::CELL_OVP_DELAY, s.cell_ovp_delay_s);
        w.u16(tag::CELL_UVP, s.cell_uvp_mv);
        w.u16(tag::CELL_UVP_RECOVERY, s.cell_uvp_recovery_mv);
        w.u16(tag::CELL_UVP_DELAY, s.cell_uvp_delay_s);
        w.u16(tag::CELL_DIFF_PROTECTION, s.cell_diff_protection_mv);
        w.u16(tag::DISCHARGE_OCP, s.discharge_ocp_a);
        w.u16(tag::DISCHARGE_OCP_DELAY, s.discharge_ocp_delay_s);
        w.u16(tag::CHARGE_OCP, s.charge_ocp_a);
        w.u16(tag::CHARGE_OCP_DELAY, s.charge_ocp_delay_s);
        w.u16(tag::BALANCE_START, s.balance_start_mv);
        w.u16(tag::BALANCE_DELTA, s.balance_delta_mv);
        w.bool(tag::BALANCER_SWITCH, s.balancer_enabled);
        w.u16(tag::MOS_OTP, s.mos_otp_c);
        w.u16(tag::MOS_OTP_RECOVERY, s.mos_otp_recovery_c);
        w.u16(tag::BOX_OTP, s.box_otp_c);
        w.u16(tag::BOX_OTP_RECOVERY, s.box_otp_recovery_c);
        w.u16(
            tag::TEMPERATURE_DIFF_PROTECTION,
            s.temperature_diff_protection_c,
        );
        w.u16(tag::CHARGE_OTP, s.charge_otp_c);
        w.u16(tag::DISCHARGE_OTP, s.discharge_otp_c);
        w.i16(tag::CHARGE_UTP, s.charge_utp_c);
        w.i16(tag::CHARGE_UTP_RECOVERY, s.charge_utp_recovery_c);
        w.i16(tag::DISCHARGE_UTP, s.discharge_utp_c);
        w.i16(tag::DISCHARGE_UTP_RECOVERY, s.discharge_utp_recovery_c);
        w.u8(tag::CELL_COUNT_SETTING, s.cell_count);
        w.u32(tag::NOMINAL_CAPACITY, s.nominal_capacity_ah);
        w.bool(tag::CHARGE_MOS_SWITCH, s.charge_mos_enabled);
        w.bool(tag::DISCHARGE_MOS_SWITCH, s.discharge_mos_enabled);
        w.u16(tag::CURRENT_CALIBRATION, s.current_calibration_ma);
        w.u8(tag::BOARD_ADDRESS, s.board_address);
        w.u8(tag::CELL_TYPE, s.cell_type.code());
        w.u16(tag::SLEEP_WAIT, s.sleep_wait_s);
        w.u8(tag::LOW_CAPACITY_ALARM, s.low_capacity_alarm_pct);
        w.text(tag::PASSWORD, s.password.reveal(), tag::PASSWORD_LEN);
        w.bool(tag::DEDICATED_CHARGER_SWITCH, s.dedicated_charger);
        w.text(tag::DEVICE_ID, &p.device.device_id, tag::DEVICE_ID_LEN);
        w.text(
            tag::MANUFACTURE_DATE,
            &p.device.manufacture_date,
            tag::MANUFACTURE_DATE_LEN,
        );
        w.u32(tag::RUNTIME, s.runtime_minutes);
        w.text(
            tag::SOFTWARE_VERSION,
            &p.device.software_version,
            tag::SOFTWARE_VERSION_LEN,
        );
        w.u8(tag::START_CURRENT_CALIBRATION, s.start_current_calibration);
        if let Some(ah) = s.actual_capacity_ah {
            w.u32(tag::ACTUAL_CAPACITY, ah);
        }
        w.text(
            tag::MANUFACTURER,
            &p.device.manufacturer,
            tag::MANUFACTURER_LEN,
        );
        if let Some(version) = self.protocol_version {
            w.u8(tag::PROTOCOL_VERSION, version);
        }
    }

    /// A reply for `pack` with the settings of a real 16S LiFePO4 JK-BD6A17S6P (vector 1.3),
    /// pack-level voltages scaled to the pack's cell count, protocol version 1.
    ///
    /// The pack is made to fit what NW carries: exactly two temperature sensors (missing ones
    /// read 25.0 °C, extra ones are dropped), a MOS temperature (25.0 °C if missing), a whole
    /// nominal capacity (81 Ah, as vector 1.3, if the pack has none), no remaining capacity, no
    /// hardware version; empty device texts are filled in (the manufacturer names the
    /// simulator). Cell type is LFP (vector 1.3 says 1 = NMC, a set-up slip on that pack).
    pub fn lfp16(mut pack: PackSnapshot) -> NwReply {
        // Vector 1.3 values (§1.4 units).
        const CELL_OVP_MV: u16 = 3650;
        const CELL_UVP_MV: u16 = 2650;
        const VECTOR_CAPACITY_AH: u32 = 81;
        const ROOM_TEMPERATURE_DC: i16 = 250;

        let cells = pack.cell_voltages_mv.len();
        pack.temperatures_dc.truncate(2);
        while pack.temperatures_dc.len() < 2 {
            // Capacity 8 ≥ 2: cannot fail.
            let _ = pack.temperatures_dc.push(ROOM_TEMPERATURE_DC);
        }
        pack.mos_temperature_dc = pack.mos_temperature_dc.or(Some(ROOM_TEMPERATURE_DC));
        let nominal = if pack.capacity_ah >= 1.0 {
            // Saturating float-to-int cast: a capacity beyond u32 becomes u32::MAX.
            pack.capacity_ah.round() as u32
        } else {
            VECTOR_CAPACITY_AH
        };
        pack.capacity_ah = nominal as f32;
        pack.remaining_capacity_ah = None;
        let device = &mut pack.device;
        device.hardware_version.clear();
        fill(&mut device.software_version, "H7.X__S7.1.0H__");
        fill(&mut device.device_id, "Input Us");
        fill(&mut device.manufacture_date, "2106");
        fill(&mut device.manufacturer, "busbar simulator");

        let settings = NwSettings {
            pack_ovp_mv: u32::from(CELL_OVP_MV) * cells as u32,
            pack_uvp_mv: u32::from(CELL_UVP_MV) * cells as u32,
            cell_ovp_mv: CELL_OVP_MV,
            cell_ovp_recovery_mv: 3550,
            cell_ovp_delay_s: 5,
            cell_uvp_mv: CELL_UVP_MV,
            cell_uvp_recovery_mv: 2750,
            cell_uvp_delay_s: 5,
            cell_diff_protection_mv: 300,
            discharge_ocp_a: 60,
            discharge_ocp_delay_s: 300,
            charge_ocp_a: 30,
            charge_ocp_delay_s: 30,
            balance_start_mv: 3450,
            balance_delta_mv: 10,
            balancer_enabled: true,
            mos_otp_c: 90,
            mos_otp_recovery_c: 70,
            box_otp_c: 100,
            box_otp_recovery_c: 100,
            temperature_diff_protection_c: 20,
            charge_otp_c: 70,
            discharge_otp_c: 70,
            charge_utp_c: 0,
            charge_utp_recovery_c: 5,
            discharge_utp_c: -20,
            discharge_utp_recovery_c: -10,
            cell_count: cells as u8,
            nominal_capacity_ah: nominal,
            charge_mos_enabled: true,
            discharge_mos_enabled: true,
            current_calibration_ma: 725,
            board_address: 1,
            cell_type: CellType::Lfp,
            sleep_wait_s: 10,
            low_capacity_alarm_pct: 20,
            // JK's factory default, as in every capture.
            password: Password::new("123456").unwrap_or_default(),
            dedicated_charger: false,
            runtime_minutes: 91_136,
            start_current_calibration: 0,
            actual_capacity_ah: Some(nominal),
        };
        let status_bits = u16::from(pack.charge_mosfet)
            | u16::from(pack.discharge_mosfet) << 1
            | u16::from(pack.balancing) << 2;
        NwReply {
            temperature_sensor_count: 2,
            reported_cell_count: cells as u16,
            total_cycle_capacity_ah: pack.cycles.saturating_mul(nominal),
            alarm_bits: pack.alarms.bits() as u16 & NW_ALARM_MASK,
            status_bits,
            protocol_version: Some(1),
            settings,
            pack,
        }
    }
}

/// Set `text` to `default` if it is empty.
fn fill(text: &mut ShortText, default: &str) {
    if text.is_empty() {
        // Every default above is shorter than ShortText's 32 bytes; on failure it stays empty.
        let _ = text.push_str(default);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jk_nw::decode_reply;
    use crate::jk_nw::frame::Frame;
    use crate::jk_nw::tag::{value_size, ValueSize, REPLY_ORDER};
    use crate::pack::Alarms;

    fn pack16() -> PackSnapshot {
        PackSnapshot {
            cell_voltages_mv: [3300u16; 16].into_iter().collect(),
            voltage_mv: 52_800,
            current_ma: -12_340,
            soc_pct: 57,
            cycles: 3,
            capacity_ah: 280.0,
            charge_mosfet: true,
            discharge_mosfet: true,
            ..PackSnapshot::default()
        }
    }

    #[test]
    fn lfp16_round_trips() {
        let reply = NwReply::lfp16(pack16());
        let mut out = Vec::new();
        reply.encode(&mut out);
        // §1.4: a full 16S reply is 243 + 3 × 16 = 291 bytes.
        assert_eq!(out.len(), 291);
        assert_eq!(decode_reply(&out), Ok(reply.clone()));
        assert_eq!(reply.settings.pack_ovp_mv, 58_400); // as vector 1.3
        assert_eq!(reply.settings.nominal_capacity_ah, 280);
        assert_eq!(reply.pack.temperatures_dc.as_slice(), &[250, 250]);
        assert_eq!(reply.status_bits, 0b011);
    }

    #[test]
    fn encoded_tags_follow_the_device_order_and_sizes() {
        let reply = NwReply::lfp16(pack16());
        let mut out = Vec::new();
        reply.encode(&mut out);
        let frame = Frame::parse(&out).unwrap(); // just encoded
        assert_eq!(
            (frame.command, frame.source, frame.transmission_type),
            (0x06, 0x00, 0x01)
        );
        let mut info = frame.info;
        let mut ids = Vec::new();
        while let Some((&id, rest)) = info.split_first() {
            let len = match value_size(id) {
                Some(ValueSize::Fixed(len)) => len,
                Some(ValueSize::CellList) => 1 + usize::from(rest[0]),
                None => panic!("encoder wrote unknown tag 0x{id:02X}"),
            };
            ids.push(id);
            info = &rest[len..];
        }
        assert_eq!(ids, REPLY_ORDER);
    }

    #[test]
    fn optional_tags_are_left_out_when_absent() {
        let mut reply = NwReply::lfp16(pack16());
        reply.settings.actual_capacity_ah = None;
        reply.protocol_version = None;
        let mut out = Vec::new();
        reply.encode(&mut out);
        assert_eq!(out.len(), 291 - 5 - 2);
        assert_eq!(decode_reply(&out), Ok(reply));
    }

    #[test]
    fn pack_fields_win_over_raw_words_for_the_bits_they_hold() {
        let mut reply = NwReply::lfp16(pack16());
        reply.status_bits = 0b1000; // bit 3 set, bits 0–2 contradict the pack
        reply.alarm_bits = 0x8001; // bit 15 reserved, bit 0 contradicts the pack
        reply.pack.alarms = Alarms::CELL_OVER_VOLTAGE;
        let mut out = Vec::new();
        reply.encode(&mut out);
        let back = decode_reply(&out).unwrap(); // just encoded
        assert_eq!(back.status_bits, 0b1011);
        assert_eq!(back.alarm_bits, 0x8000 | 0x0400);
        assert_eq!(back.pack.alarms, Alarms::CELL_OVER_VOLTAGE);
    }

    #[test]
    fn unrepresentable_values_are_rounded_and_clamped() {
        let mut pack = pack16();
        pack.voltage_mv = 52_806; // -> 52.81 V
        pack.current_ma = 1_234_567; // beyond ±327.67 A
        pack.temperatures_dc = [164i16, -3000].into_iter().collect(); // 16.4 °C, -300.0 °C
        pack.cycles = 70_000; // beyond u16
        let reply = NwReply::lfp16(pack);
        let mut out = Vec::new();
        reply.encode(&mut out);
        let back = decode_reply(&out).unwrap(); // just encoded
        assert_eq!(back.pack.voltage_mv, 52_810);
        assert_eq!(back.pack.current_ma, 327_670);
        assert_eq!(back.pack.temperatures_dc.as_slice(), &[160, -3000]);
        assert_eq!(back.pack.cycles, 65_535);
    }

    #[test]
    fn encode_with_command_echoes_the_read_command() {
        let reply = NwReply::lfp16(pack16());
        let mut out = Vec::new();
        reply.encode_with_command(command::READ, &mut out);
        assert_eq!(Frame::parse(&out).unwrap().command, command::READ); // just encoded
        assert_eq!(decode_reply(&out), Ok(reply));
    }
}
