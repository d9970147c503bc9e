//! What the encoder needs besides the battery state: the profile, the 0x35E name (checked once,
//! here, so encoding cannot fail on it), the firmware version for 0x35F and the BMS name for
//! 0x370/0x371.

use crate::config::{CanConfig, CanProfile};

/// Why a name cannot go into 0x35E.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error("the CAN name must be 1 to 8 characters (it fills frame 0x35E), not {0}")]
    NameLength(usize),
    #[error("the CAN name must be printable ASCII (frame 0x35E); byte {position} is 0x{byte:02X}")]
    NameCharacter { position: usize, byte: u8 },
    #[error(
        "a Victron GX treats a battery named {0}... specially and replaces CCL = 0 with a \
         charge current (victron-can.md §3.7); use a neutral name or the pylon profile"
    )]
    BrandName(&'static str),
}

/// Firmware version in 0x35F bytes 2–3: major and minor, each a plain byte read as decimal
/// (victron-can.md §3.2: BYD `01 17` = v1.23).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Firmware {
    pub major: u8,
    pub minor: u8,
}

impl Firmware {
    /// This crate's version (`CARGO_PKG_VERSION_MAJOR` / `_MINOR`), each saturated at 255.
    pub const CRATE: Self = Self {
        major: parse_u8(env!("CARGO_PKG_VERSION_MAJOR")),
        minor: parse_u8(env!("CARGO_PKG_VERSION_MINOR")),
    };
}

/// Decimal digits → u8, saturating at 255; stops at the first non-digit.
const fn parse_u8(text: &str) -> u8 {
    let bytes = text.as_bytes();
    let mut value: u32 = 0;
    let mut i = 0;
    while i < bytes.len() && bytes[i].is_ascii_digit() {
        value = value * 10 + (bytes[i] - b'0') as u32;
        if value > 255 {
            return 255;
        }
        i += 1;
    }
    value as u8
}

/// 0x370/0x371 text: "busbar " and the crate version, NUL padded to 16 characters; a longer
/// version is cut at 16 (victron-can.md §3.2: 16 ASCII characters over two frames).
pub const BMS_NAME: [u8; 16] = bms_name(concat!("busbar ", env!("CARGO_PKG_VERSION")));

const fn bms_name(text: &str) -> [u8; 16] {
    let bytes = text.as_bytes();
    let mut out = [0u8; 16];
    let mut i = 0;
    while i < bytes.len() && i < 16 {
        out[i] = bytes[i];
        i += 1;
    }
    out
}

/// Venus prefixes that trigger brand quirks on CCL = 0 (victron-can.md §3.7; the config
/// validation refuses the same names).
const VICTRON_QUIRK_BRANDS: [&str; 2] = ["PYLON", "BYD"];

/// The neutral default name (DESIGN.md rule 9).
pub const DEFAULT_NAME: &str = "BUSBAR";

/// Encoder settings, valid by construction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncoderSettings {
    profile: CanProfile,
    name: [u8; 8],
    firmware: Firmware,
}

impl EncoderSettings {
    /// `name` is 1–8 printable ASCII characters. 0x35E is padded to 8 bytes with NUL in the
    /// Victron profile (as the BYD battery talking to Venus does, and as a C string reads it:
    /// the GX shows "BUSBAR", not "BUSBAR  ") and with spaces in the Pylon profile (the real
    /// Pylontech US5000 sends "PYLON   ", which is what Pylon-protocol inverters were tested
    /// against). Both captures are in `tests/vectors/can/`.
    ///
    /// Under the Victron profile a name Venus treats as PYLON or BYD is refused (DESIGN.md
    /// rule 9): Venus would then replace CCL = 0 with a charge current.
    pub fn new(profile: CanProfile, name: &str) -> Result<Self, SettingsError> {
        let bytes = name.as_bytes();
        if bytes.is_empty() || bytes.len() > 8 {
            return Err(SettingsError::NameLength(bytes.len()));
        }
        if let Some((position, &byte)) = bytes
            .iter()
            .enumerate()
            .find(|(_, b)| !(b' '..=b'~').contains(*b))
        {
            return Err(SettingsError::NameCharacter { position, byte });
        }
        if profile == CanProfile::Victron {
            let upper = name.to_ascii_uppercase();
            if let Some(brand) = VICTRON_QUIRK_BRANDS
                .into_iter()
                .find(|b| upper.starts_with(b))
            {
                return Err(SettingsError::BrandName(brand));
            }
        }
        let pad = match profile {
            CanProfile::Victron => 0,
            CanProfile::Pylon => b' ',
        };
        let mut padded = [pad; 8];
        padded[..bytes.len()].copy_from_slice(bytes);
        Ok(Self {
            profile,
            name: padded,
            firmware: Firmware::CRATE,
        })
    }

    /// From the `[can]` section (which config validation has checked already).
    pub fn from_config(can: &CanConfig) -> Result<Self, SettingsError> {
        Self::new(can.profile, &can.name)
    }

    /// Another firmware version in 0x35F (tests; the daemon keeps the crate's).
    pub const fn with_firmware(mut self, firmware: Firmware) -> Self {
        self.firmware = firmware;
        self
    }

    pub const fn profile(&self) -> CanProfile {
        self.profile
    }

    /// The 8 bytes of 0x35E, padded.
    pub const fn name(&self) -> [u8; 8] {
        self.name
    }

    pub const fn firmware(&self) -> Firmware {
        self.firmware
    }
}

impl Default for EncoderSettings {
    /// Victron profile, name `BUSBAR`, this crate's firmware version.
    fn default() -> Self {
        let mut name = [0u8; 8];
        let default = DEFAULT_NAME.as_bytes();
        name[..default.len()].copy_from_slice(default);
        Self {
            profile: CanProfile::Victron,
            name,
            firmware: Firmware::CRATE,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_padded_per_profile() {
        let v = EncoderSettings::new(CanProfile::Victron, "BUSBAR").unwrap();
        assert_eq!(&v.name(), b"BUSBAR\0\0");
        assert_eq!(v, EncoderSettings::default());
        let p = EncoderSettings::new(CanProfile::Pylon, "PYLON").unwrap();
        assert_eq!(&p.name(), b"PYLON   ");
        assert_eq!(
            &EncoderSettings::new(CanProfile::Victron, "12345678")
                .unwrap()
                .name(),
            b"12345678"
        );
    }

    #[test]
    fn names_that_do_not_fit_0x35e_are_refused() {
        for (name, err) in [
            ("", SettingsError::NameLength(0)),
            ("BUSBAR123", SettingsError::NameLength(9)),
            (
                "BUS\tBAR",
                SettingsError::NameCharacter {
                    position: 3,
                    byte: b'\t',
                },
            ),
            (
                "BÜS",
                SettingsError::NameCharacter {
                    position: 1,
                    byte: 0xC3,
                },
            ),
        ] {
            assert_eq!(EncoderSettings::new(CanProfile::Pylon, name), Err(err));
        }
    }

    #[test]
    fn brand_names_are_refused_under_the_victron_profile_only() {
        assert_eq!(
            EncoderSettings::new(CanProfile::Victron, "Pylon"),
            Err(SettingsError::BrandName("PYLON"))
        );
        assert_eq!(
            EncoderSettings::new(CanProfile::Victron, "BYD"),
            Err(SettingsError::BrandName("BYD"))
        );
        assert!(EncoderSettings::new(CanProfile::Pylon, "PYLON").is_ok());
    }

    #[test]
    fn firmware_and_bms_name_come_from_the_crate_version() {
        let version = env!("CARGO_PKG_VERSION");
        let mut parts = version.split('.').map(|p| p.parse::<u8>().unwrap());
        assert_eq!(
            Firmware::CRATE,
            Firmware {
                major: parts.next().unwrap(),
                minor: parts.next().unwrap()
            }
        );
        let text = format!("busbar {version}");
        assert_eq!(&BMS_NAME[..text.len()], text.as_bytes());
        assert!(BMS_NAME[text.len()..].iter().all(|&b| b == 0));
        assert_eq!(parse_u8("300"), 255);
        assert_eq!(parse_u8("7-rc"), 7);
        assert_eq!(&bms_name("abcdefghijklmnopq"), b"abcdefghijklmnop");
    }
}
