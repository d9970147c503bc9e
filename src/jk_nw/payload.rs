//! Decoding a read-all reply: walk the TLV info field by ID, with the known size of each ID
//! (`protocols/jk-nw.md` §1.4), into an [`NwReply`].
//!
//! Never fixed offsets: firmware < 10.10 leaves out 0xB9, and the cell list 0x79 is as long as
//! the pack has cells. The current 0x84 is interpreted only after the whole stream is read,
//! because the protocol version 0xC0 that decides its encoding comes last (§1.5).
//!
//! Strictness, and why:
//! - An unknown ID ends decoding ([`PayloadError::UnknownTag`]): its size is unknown, so nothing
//!   after it can be found.
//! - A tag seen twice is an error: which copy would be true?
//! - Every known tag is mandatory except 0xB9 (fw < 10.10) and 0xC0 (old firmware); see
//!   [`super::tag::OPTIONAL`]. All documented firmware sends the rest, and a reply without, say,
//!   the alarm word or a temperature would leave the core guessing about safety. So the
//!   readings the core needs (cells 0x79, temperatures 0x80–0x82, voltage 0x83, current 0x84,
//!   SOC 0x85, alarms 0x8B, status 0x8C) are certainly mandatory, and so are the settings,
//!   because a frame that lacks a tag every known firmware sends is not a frame we understand.
//! - Cells must be numbered 1..=n in order, 1 ≤ n ≤ [`MAX_CELLS`].

use thiserror::Error;

use super::codes::{temperature_from_code, CurrentEncoding};
use super::decoder::Decoder;
use super::frame::{command, transmission, Frame, FrameError};
use super::reply::{CellType, NwReply, Password};
use super::{tag, text};
use crate::pack::{Alarms, CellVoltages, MAX_CELLS};

/// Why a checksum-verified frame is not a reply we can read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum PayloadError {
    /// Not a read-all reply (e.g. the echo of our own request on a half-duplex bus).
    #[error("not a read-all reply: command 0x{command:02X}, transmission type 0x{transmission_type:02X}")]
    NotAReply { command: u8, transmission_type: u8 },
    /// An ID this codec does not know (its size is unknown, so the walk cannot go on).
    #[error("unknown tag 0x{id:02X} at info offset {offset}")]
    UnknownTag { id: u8, offset: usize },
    /// The tag's value runs past the end of the info field.
    #[error("tag 0x{id:02X} at info offset {offset} runs past the end of the info field")]
    Truncated { id: u8, offset: usize },
    #[error("tag 0x{0:02X} appears twice")]
    DuplicateTag(u8),
    /// A mandatory tag is missing (the lowest one missing is named).
    #[error("mandatory tag 0x{0:02X} is missing")]
    MissingTag(u8),
    /// The cell list length byte is 0 or not a multiple of 3.
    #[error("cell list length {0} is not a positive multiple of 3")]
    BadCellListLength(u8),
    #[error("{0} cells, more than {MAX_CELLS}")]
    TooManyCells(usize),
    /// Cell entries must be numbered 1, 2, 3, ... in order; entry `position` (1-based) is not.
    #[error("cell list entry {position} is numbered {number}")]
    CellNumber { position: usize, number: u8 },
    /// A temperature code whose temperature does not fit in i16 0.1 °C (§1.6).
    #[error("temperature code {raw} of tag 0x{id:02X} is out of range")]
    TemperatureOutOfRange { id: u8, raw: u16 },
    /// A protocol version (0xC0) whose current encoding is unknown (§1.5).
    #[error("unknown protocol version {0}")]
    UnknownProtocolVersion(u8),
}

/// Why bytes are not a readable reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum DecodeError {
    #[error(transparent)]
    Frame(#[from] FrameError),
    #[error(transparent)]
    Payload(#[from] PayloadError),
}

/// Decode one complete reply frame (`bytes` holds exactly the frame).
pub fn decode_reply(bytes: &[u8]) -> Result<NwReply, DecodeError> {
    let frame = Frame::parse(bytes)?;
    Ok(NwReply::from_frame(&frame)?)
}

impl Decoder {
    /// [`Decoder::next_frame`], decoded as a reply.
    pub fn next_reply(&mut self) -> Option<Result<NwReply, DecodeError>> {
        Some(match self.next_frame()? {
            Ok(frame) => NwReply::from_frame(&frame).map_err(DecodeError::from),
            Err(e) => Err(e.into()),
        })
    }
}

/// Reads values off the info field, remembering which tag it is in for error reports.
struct Walker<'a> {
    rest: &'a [u8],
    info_len: usize,
    /// The tag being read and its offset in the info field.
    id: u8,
    offset: usize,
}

impl<'a> Walker<'a> {
    fn new(info: &'a [u8]) -> Self {
        Self {
            rest: info,
            info_len: info.len(),
            id: 0,
            offset: 0,
        }
    }

    fn next_id(&mut self) -> Option<u8> {
        let (&id, rest) = self.rest.split_first()?;
        self.offset = self.info_len - self.rest.len();
        self.id = id;
        self.rest = rest;
        Some(id)
    }

    fn truncated(&self) -> PayloadError {
        PayloadError::Truncated {
            id: self.id,
            offset: self.offset,
        }
    }

    fn array<const N: usize>(&mut self) -> Result<&'a [u8; N], PayloadError> {
        let (value, rest) = self
            .rest
            .split_first_chunk::<N>()
            .ok_or_else(|| self.truncated())?;
        self.rest = rest;
        Ok(value)
    }

    fn bytes(&mut self, n: usize) -> Result<&'a [u8], PayloadError> {
        if n > self.rest.len() {
            return Err(self.truncated());
        }
        let (value, rest) = self.rest.split_at(n);
        self.rest = rest;
        Ok(value)
    }

    fn u8(&mut self) -> Result<u8, PayloadError> {
        let &[b] = self.array::<1>()?;
        Ok(b)
    }

    /// A u8 switch: any non-zero byte is on (C truth; only 0 and 1 were ever seen).
    fn bool(&mut self) -> Result<bool, PayloadError> {
        Ok(self.u8()? != 0)
    }

    fn u16(&mut self) -> Result<u16, PayloadError> {
        Ok(u16::from_be_bytes(*self.array::<2>()?))
    }

    fn i16(&mut self) -> Result<i16, PayloadError> {
        Ok(i16::from_be_bytes(*self.array::<2>()?))
    }

    fn u32(&mut self) -> Result<u32, PayloadError> {
        Ok(u32::from_be_bytes(*self.array::<4>()?))
    }

    /// A temperature code (§1.6), in 0.1 °C.
    fn temperature(&mut self) -> Result<i16, PayloadError> {
        let raw = self.u16()?;
        temperature_from_code(raw).ok_or(PayloadError::TemperatureOutOfRange { id: self.id, raw })
    }

    /// A fixed-width text value of `M` bytes (§1.4).
    fn text<const M: usize, const N: usize>(
        &mut self,
    ) -> Result<heapless::String<N>, PayloadError> {
        Ok(text::decode::<M, N>(self.array::<M>()?))
    }

    /// The cell list 0x79: `L`, then L/3 × (cell number u8, mV u16 BE) (§1.4).
    fn cells(&mut self, cells: &mut CellVoltages) -> Result<(), PayloadError> {
        let len = self.u8()?;
        if len == 0 || len % 3 != 0 {
            return Err(PayloadError::BadCellListLength(len));
        }
        let count = usize::from(len / 3);
        if count > MAX_CELLS {
            return Err(PayloadError::TooManyCells(count));
        }
        let entries = self.bytes(usize::from(len))?;
        for (i, entry) in entries.chunks_exact(3).enumerate() {
            let position = i + 1;
            // chunks_exact(3) yields 3-byte slices only; the else arm is never taken.
            let &[number, hi, lo] = entry else {
                return Err(PayloadError::BadCellListLength(len));
            };
            if usize::from(number) != position {
                return Err(PayloadError::CellNumber { position, number });
            }
            cells
                .push(u16::from_be_bytes([hi, lo]))
                .map_err(|_| PayloadError::TooManyCells(count))?;
        }
        Ok(())
    }
}

/// Total voltage and pack protection voltages count in 10 mV (§1.4, "× 0.01 V").
const MV_PER_10MV: u32 = 10;

/// Status word bits (§1.8).
const STATUS_CHARGE_MOSFET: u16 = 1 << 0;
const STATUS_DISCHARGE_MOSFET: u16 = 1 << 1;
const STATUS_BALANCING: u16 = 1 << 2;

impl NwReply {
    /// Decode a verified frame: it must be a read-all reply (command 0x06, or 0x03 answering
    /// "read ID 0x00", §1.3) sent as a response or an active upload (§1.2).
    pub fn from_frame(frame: &Frame<'_>) -> Result<Self, PayloadError> {
        let is_read = matches!(frame.command, command::READ_ALL | command::READ);
        let is_reply = matches!(
            frame.transmission_type,
            transmission::RESPONSE | transmission::ACTIVE_UPLOAD
        );
        if !(is_read && is_reply) {
            return Err(PayloadError::NotAReply {
                command: frame.command,
                transmission_type: frame.transmission_type,
            });
        }
        Self::from_info(frame.info)
    }

    /// Decode the TLV info field of a read-all reply (§1.4).
    pub fn from_info(info: &[u8]) -> Result<Self, PayloadError> {
        let mut reply = NwReply::default();
        let mut seen: u128 = 0;
        let mut current_raw = 0u16;
        let mut t1 = 0i16;
        let mut t2 = 0i16;
        let mut w = Walker::new(info);
        while let Some(id) = w.next_id() {
            let bit = tag::bit(id);
            if seen & bit != 0 {
                return Err(PayloadError::DuplicateTag(id));
            }
            seen |= bit;
            let pack = &mut reply.pack;
            let s = &mut reply.settings;
            match id {
                tag::CELL_VOLTAGES => w.cells(&mut pack.cell_voltages_mv)?,
                tag::MOS_TEMPERATURE => pack.mos_temperature_dc = Some(w.temperature()?),
                tag::TEMPERATURE_1 => t1 = w.temperature()?,
                tag::TEMPERATURE_2 => t2 = w.temperature()?,
                tag::TOTAL_VOLTAGE => pack.voltage_mv = u32::from(w.u16()?) * MV_PER_10MV,
                tag::CURRENT => current_raw = w.u16()?,
                tag::SOC => pack.soc_pct = w.u8()?,
                tag::TEMPERATURE_SENSOR_COUNT => reply.temperature_sensor_count = w.u8()?,
                tag::CYCLE_COUNT => pack.cycles = u32::from(w.u16()?),
                tag::TOTAL_CYCLE_CAPACITY => reply.total_cycle_capacity_ah = w.u32()?,
                tag::CELL_COUNT => reply.reported_cell_count = w.u16()?,
                tag::ALARMS => reply.alarm_bits = w.u16()?,
                tag::STATUS => reply.status_bits = w.u16()?,
                tag::PACK_OVP => s.pack_ovp_mv = u32::from(w.u16()?) * MV_PER_10MV,
                tag::PACK_UVP => s.pack_uvp_mv = u32::from(w.u16()?) * MV_PER_10MV,
                tag::CELL_OVP => s.cell_ovp_mv = w.u16()?,
                tag::CELL_OVP_RECOVERY => s.cell_ovp_recovery_mv = w.u16()?,
                tag::CELL_OVP_DELAY => s.cell_ovp_delay_s = w.u16()?,
                tag::CELL_UVP => s.cell_uvp_mv = w.u16()?,
                tag::CELL_UVP_RECOVERY => s.cell_uvp_recovery_mv = w.u16()?,
                tag::CELL_UVP_DELAY => s.cell_uvp_delay_s = w.u16()?,
                tag::CELL_DIFF_PROTECTION => s.cell_diff_protection_mv = w.u16()?,
                tag::DISCHARGE_OCP => s.discharge_ocp_a = w.u16()?,
                tag::DISCHARGE_OCP_DELAY => s.discharge_ocp_delay_s = w.u16()?,
                tag::CHARGE_OCP => s.charge_ocp_a = w.u16()?,
                tag::CHARGE_OCP_DELAY => s.charge_ocp_delay_s = w.u16()?,
                tag::BALANCE_START => s.balance_start_mv = w.u16()?,
                tag::BALANCE_DELTA => s.balance_delta_mv = w.u16()?,
                tag::BALANCER_SWITCH => s.balancer_enabled = w.bool()?,
                tag::MOS_OTP => s.mos_otp_c = w.u16()?,
                tag::MOS_OTP_RECOVERY => s.mos_otp_recovery_c = w.u16()?,
                tag::BOX_OTP => s.box_otp_c = w.u16()?,
                tag::BOX_OTP_RECOVERY => s.box_otp_recovery_c = w.u16()?,
                tag::TEMPERATURE_DIFF_PROTECTION => s.temperature_diff_protection_c = w.u16()?,
                tag::CHARGE_OTP => s.charge_otp_c = w.u16()?,
                tag::DISCHARGE_OTP => s.discharge_otp_c = w.u16()?,
                tag::CHARGE_UTP => s.charge_utp_c = w.i16()?,
                tag::CHARGE_UTP_RECOVERY => s.charge_utp_recovery_c = w.i16()?,
                tag::DISCHARGE_UTP => s.discharge_utp_c = w.i16()?,
                tag::DISCHARGE_UTP_RECOVERY => s.discharge_utp_recovery_c = w.i16()?,
                tag::CELL_COUNT_SETTING => s.cell_count = w.u8()?,
                tag::NOMINAL_CAPACITY => s.nominal_capacity_ah = w.u32()?,
                tag::CHARGE_MOS_SWITCH => s.charge_mos_enabled = w.bool()?,
                tag::DISCHARGE_MOS_SWITCH => s.discharge_mos_enabled = w.bool()?,
                tag::CURRENT_CALIBRATION => s.current_calibration_ma = w.u16()?,
                tag::BOARD_ADDRESS => s.board_address = w.u8()?,
                tag::CELL_TYPE => s.cell_type = CellType::from_code(w.u8()?),
                tag::SLEEP_WAIT => s.sleep_wait_s = w.u16()?,
                tag::LOW_CAPACITY_ALARM => s.low_capacity_alarm_pct = w.u8()?,
                tag::PASSWORD => {
                    s.password = Password::from_text(w.text::<{ tag::PASSWORD_LEN }, _>()?)
                }
                tag::DEDICATED_CHARGER_SWITCH => s.dedicated_charger = w.bool()?,
                tag::DEVICE_ID => pack.device.device_id = w.text::<{ tag::DEVICE_ID_LEN }, _>()?,
                tag::MANUFACTURE_DATE => {
                    pack.device.manufacture_date = w.text::<{ tag::MANUFACTURE_DATE_LEN }, _>()?
                }
                tag::RUNTIME => s.runtime_minutes = w.u32()?,
                tag::SOFTWARE_VERSION => {
                    pack.device.software_version = w.text::<{ tag::SOFTWARE_VERSION_LEN }, _>()?
                }
                tag::START_CURRENT_CALIBRATION => s.start_current_calibration = w.u8()?,
                tag::ACTUAL_CAPACITY => s.actual_capacity_ah = Some(w.u32()?),
                tag::MANUFACTURER => {
                    pack.device.manufacturer = w.text::<{ tag::MANUFACTURER_LEN }, _>()?
                }
                tag::PROTOCOL_VERSION => {
                    let version = w.u8()?;
                    if CurrentEncoding::for_version(Some(version)).is_none() {
                        return Err(PayloadError::UnknownProtocolVersion(version));
                    }
                    reply.protocol_version = Some(version);
                }
                _ => {
                    return Err(PayloadError::UnknownTag {
                        id,
                        offset: w.offset,
                    })
                }
            }
        }
        let missing = tag::MANDATORY & !seen;
        if missing != 0 {
            return Err(PayloadError::MissingTag(tag::lowest(missing)));
        }

        let pack = &mut reply.pack;
        // Now that 0xC0 (the last tag) is known, the current can be read (§1.5). Versions
        // without a known encoding were rejected at the tag, so the fallback is never taken.
        let encoding = CurrentEncoding::for_version(reply.protocol_version)
            .unwrap_or(CurrentEncoding::SignMagnitude);
        pack.current_ma = encoding.decode(current_raw);
        // Two sensors, T1 then T2 (§1.4); the list holds MAX_TEMPERATURE_SENSORS (8) ≥ 2, so
        // neither push can fail.
        pack.temperatures_dc.clear();
        let _ = pack.temperatures_dc.push(t1);
        let _ = pack.temperatures_dc.push(t2);
        pack.capacity_ah = reply.settings.nominal_capacity_ah as f32;
        pack.remaining_capacity_ah = None;
        let status = reply.status_bits;
        pack.charge_mosfet = status & STATUS_CHARGE_MOSFET != 0;
        pack.discharge_mosfet = status & STATUS_DISCHARGE_MOSFET != 0;
        pack.balancing = status & STATUS_BALANCING != 0;
        // Alarm bits 0–13 are pack::Alarms bits 0–13 one to one (§1.7, pack.rs); 14–15 are
        // reserved and dropped here (still in alarm_bits).
        pack.alarms = Alarms::from_bits_truncate(u32::from(reply.alarm_bits));
        Ok(reply)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jk_nw::frame::{encode_frame, source};

    fn err(info: &[u8]) -> PayloadError {
        NwReply::from_info(info).unwrap_err()
    }

    #[test]
    fn unknown_tag_is_an_error_with_its_offset() {
        let info = [
            0x85, 0x32, // SOC 50 %
            0x88, 0x00, // 0x88: a gap in the tag table, size unknown
        ];
        assert_eq!(
            err(&info),
            PayloadError::UnknownTag {
                id: 0x88,
                offset: 2
            }
        );
        // Write-only IDs (§1.4) cannot appear in a reply either.
        assert_eq!(
            err(&[0xBB]),
            PayloadError::UnknownTag {
                id: 0xBB,
                offset: 0
            }
        );
        assert_eq!(
            err(&[0x00]),
            PayloadError::UnknownTag {
                id: 0x00,
                offset: 0
            }
        );
    }

    #[test]
    fn value_past_the_end_is_truncated() {
        let info = [
            0x85, 0x32, // SOC 50 %
            0x83, 0x14, // total voltage: only 1 of 2 bytes
        ];
        assert_eq!(
            err(&info),
            PayloadError::Truncated {
                id: 0x83,
                offset: 2
            }
        );
        assert_eq!(
            err(&[0x85]),
            PayloadError::Truncated {
                id: 0x85,
                offset: 0
            }
        );
        let info = [
            0x79, 0x06, // cell list of 6 bytes = 2 cells
            0x01, 0x0C, 0x81, // cell 1: 3201 mV
            0x02, 0x0C, // cell 2: cut short
        ];
        assert_eq!(
            err(&info),
            PayloadError::Truncated {
                id: 0x79,
                offset: 0
            }
        );
    }

    #[test]
    fn duplicate_tag_is_an_error() {
        let info = [
            0x85, 0x32, // SOC 50 %
            0x85, 0x33, // SOC again, 51 %: which one is true?
        ];
        assert_eq!(err(&info), PayloadError::DuplicateTag(0x85));
    }

    #[test]
    fn missing_mandatory_tag_names_the_lowest() {
        let info = [
            0x85, 0x32, // SOC only
        ];
        assert_eq!(err(&info), PayloadError::MissingTag(0x79));
        assert_eq!(err(&[]), PayloadError::MissingTag(0x79));
    }

    #[test]
    fn cell_list_length_must_be_a_positive_multiple_of_three() {
        assert_eq!(
            err(&[0x79, 0x04, 0x01, 0x0C, 0x81, 0x02]), // L = 4
            PayloadError::BadCellListLength(4)
        );
        assert_eq!(err(&[0x79, 0x00]), PayloadError::BadCellListLength(0)); // no cells
    }

    #[test]
    fn more_than_max_cells_is_an_error() {
        let mut info = vec![0x79, 3 * 33]; // 33 cells, one more than MAX_CELLS
        for n in 1..=33u8 {
            info.extend_from_slice(&[n, 0x0C, 0x80]);
        }
        assert_eq!(err(&info), PayloadError::TooManyCells(33));
    }

    #[test]
    fn cells_must_be_numbered_in_order_from_one() {
        let info = [
            0x79, 0x06, // 2 cells
            0x01, 0x0C, 0x81, // cell 1
            0x03, 0x0C, 0x81, // "cell 3" in second place
        ];
        assert_eq!(
            err(&info),
            PayloadError::CellNumber {
                position: 2,
                number: 3
            }
        );
        let info = [
            0x79, 0x03, // 1 cell
            0x00, 0x0C, 0x81, // numbered 0: cell numbers are 1-based
        ];
        assert_eq!(
            err(&info),
            PayloadError::CellNumber {
                position: 1,
                number: 0
            }
        );
    }

    #[test]
    fn temperature_code_out_of_range_is_an_error() {
        let info = [
            0x81, 0x0D, 0x31, // T1 code 3377: 100 − 3377 °C does not fit in i16 0.1 °C
        ];
        assert_eq!(
            err(&info),
            PayloadError::TemperatureOutOfRange {
                id: 0x81,
                raw: 3377
            }
        );
    }

    #[test]
    fn unknown_protocol_version_is_an_error() {
        let info = [
            0xC0, 0x02, // protocol version 2: current encoding unknown
        ];
        assert_eq!(err(&info), PayloadError::UnknownProtocolVersion(2));
    }

    #[test]
    fn requests_are_not_replies() {
        let mut bytes = Vec::new();
        // Our own read-all request, as echoed on a half-duplex bus.
        encode_frame(
            command::READ_ALL,
            source::PC,
            transmission::REQUEST,
            &[0x00],
            &mut bytes,
        )
        .unwrap(); // 1-byte info fits
        assert_eq!(
            decode_reply(&bytes),
            Err(DecodeError::Payload(PayloadError::NotAReply {
                command: 0x06,
                transmission_type: 0x00
            }))
        );
        bytes.clear();
        // A write acknowledgement (command 0x02) is not a reading either.
        encode_frame(
            command::WRITE,
            source::BMS,
            transmission::RESPONSE,
            &[],
            &mut bytes,
        )
        .unwrap();
        assert_eq!(
            decode_reply(&bytes),
            Err(DecodeError::Payload(PayloadError::NotAReply {
                command: 0x02,
                transmission_type: 0x01
            }))
        );
    }

    #[test]
    fn frame_errors_pass_through_decode_reply() {
        assert_eq!(
            decode_reply(&[0x4E, 0x57, 0x00]),
            Err(DecodeError::Frame(FrameError::Incomplete(3)))
        );
    }
}
