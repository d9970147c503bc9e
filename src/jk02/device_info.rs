//! The device-info frame (type 0x03): fixed-width ASCII fields (`protocols/jk02.md` §2.5,
//! "Device-info frame"; byte offsets = official register map block 0x1400 + 6).

use super::frame::{le, Frame, FrameError, FrameType, FRAME_LEN};
use crate::pack::ShortText;

/// (offset, width) of the text fields (jk02.md §2.5).
mod at {
    pub const MODEL: (usize, usize) = (6, 16);
    pub const HARDWARE: (usize, usize) = (22, 8);
    pub const SOFTWARE: (usize, usize) = (30, 8);
    pub const UPTIME_S: usize = 38;
    pub const POWER_ON_COUNT: usize = 42;
    pub const NAME: (usize, usize) = (46, 16);
    pub const MANUFACTURED: (usize, usize) = (78, 8);
    pub const SERIAL: (usize, usize) = (86, 16);
}

/// What a JK02 BMS says about itself. The passcode fields (62–77, 118–133) are not read.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct DeviceInfo {
    pub model: ShortText,
    pub hardware_version: ShortText,
    pub software_version: ShortText,
    pub uptime_s: u32,
    pub power_on_count: u32,
    pub name: ShortText,
    pub manufacture_date: ShortText,
    pub serial_number: ShortText,
}

fn text(f: &[u8; FRAME_LEN], (at, width): (usize, usize)) -> ShortText {
    let raw = f.get(at..at + width).unwrap_or_default();
    let mut out = ShortText::new();
    for &b in raw {
        if b == 0 {
            break;
        }
        let c = if b.is_ascii_graphic() || b == b' ' {
            b as char
        } else {
            '?'
        };
        // width <= 16 < capacity 32: cannot fail.
        let _ = out.push(c);
    }
    let trimmed_len = out.trim_end().len();
    out.truncate(trimmed_len);
    out
}

fn put_text(f: &mut [u8; FRAME_LEN], (at, width): (usize, usize), s: &str) {
    for (k, b) in s.bytes().take(width).enumerate() {
        le::put_u8(f, at + k, b);
    }
}

impl DeviceInfo {
    pub fn decode(frame: &Frame<'_>) -> Result<Self, FrameError> {
        let f = frame.expect(FrameType::DeviceInfo)?.bytes();
        Ok(DeviceInfo {
            model: text(f, at::MODEL),
            hardware_version: text(f, at::HARDWARE),
            software_version: text(f, at::SOFTWARE),
            uptime_s: le::u32(f, at::UPTIME_S),
            power_on_count: le::u32(f, at::POWER_ON_COUNT),
            name: text(f, at::NAME),
            manufacture_date: text(f, at::MANUFACTURED),
            serial_number: text(f, at::SERIAL),
        })
    }

    /// Encode into a sealed frame (the simulator's side); texts are cut to their field width.
    pub fn encode(&self, counter: u8) -> [u8; FRAME_LEN] {
        let mut f = super::frame::blank(FrameType::DeviceInfo, counter);
        put_text(&mut f, at::MODEL, &self.model);
        put_text(&mut f, at::HARDWARE, &self.hardware_version);
        put_text(&mut f, at::SOFTWARE, &self.software_version);
        le::put_u32(&mut f, at::UPTIME_S, self.uptime_s);
        le::put_u32(&mut f, at::POWER_ON_COUNT, self.power_on_count);
        put_text(&mut f, at::NAME, &self.name);
        put_text(&mut f, at::MANUFACTURED, &self.manufacture_date);
        put_text(&mut f, at::SERIAL, &self.serial_number);
        super::frame::seal(&mut f);
        f
    }

    /// The identity fields of the shared snapshot: model → manufacturer (JK's "vendor ID" is
    /// the model string), device name → device_id.
    pub fn to_pack_device(&self) -> crate::pack::DeviceInfo {
        crate::pack::DeviceInfo {
            software_version: self.software_version.clone(),
            hardware_version: self.hardware_version.clone(),
            device_id: self.name.clone(),
            manufacturer: self.model.clone(),
            manufacture_date: self.manufacture_date.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> ShortText {
        s.try_into().unwrap()
    }

    #[test]
    fn device_info_round_trips_and_trims() {
        let d = DeviceInfo {
            model: t("JK_PB2A16S15P"),
            hardware_version: t("15A"),
            software_version: t("15.38"),
            uptime_s: 24_530_060,
            power_on_count: 9,
            name: t("pack 1"),
            manufacture_date: t("240115"),
            serial_number: t("40123456789"),
        };
        let bytes = d.encode(3);
        assert_eq!(&bytes[6..19], b"JK_PB2A16S15P");
        assert_eq!(bytes[19], 0);
        let frame = Frame::parse(&bytes).unwrap();
        assert_eq!(DeviceInfo::decode(&frame).unwrap(), d);
        assert_eq!(d.to_pack_device().manufacturer, t("JK_PB2A16S15P"));
    }
}
