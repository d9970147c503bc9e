//! The two value encodings of the NW reply that are not plain integers: temperatures
//! (`protocols/jk-nw.md` §1.6) and the current (§1.5). Both directions live here so that the
//! decoder and the simulator's encoder cannot drift apart.

/// Highest temperature code that maps to an `i16` in 0.1 °C: 100 − 3376 = −3276 °C
/// (§1.6 formula; the doc defines codes up to 140 = −40 °C, larger ones follow the same rule).
pub const MAX_TEMPERATURE_CODE: u16 = 3376;
/// Highest positive temperature the code can carry, °C (§1.6: 0..100 = +0..100 °C).
pub const MAX_TEMPERATURE_C: i16 = 100;

/// Temperature in 0.1 °C from its code (§1.6): `raw ≤ 100 ? raw : 100 − raw` °C, so 101 is
/// −1 °C. `None` for codes whose temperature does not fit (above [`MAX_TEMPERATURE_CODE`]).
pub fn temperature_from_code(raw: u16) -> Option<i16> {
    let celsius = if raw <= MAX_TEMPERATURE_C as u16 {
        i32::from(raw)
    } else {
        i32::from(MAX_TEMPERATURE_C) - i32::from(raw)
    };
    i16::try_from(celsius * 10).ok()
}

/// The code for a temperature in 0.1 °C (§1.6). The protocol carries whole degrees from
/// −3276 to +100 °C: other values are rounded to the nearest degree (halves away from zero)
/// and clamped into that range.
pub fn temperature_to_code(deci_celsius: i16) -> u16 {
    let d = i32::from(deci_celsius);
    let celsius = (d + 5 * d.signum()) / 10; // round half away from zero
    let celsius = celsius.clamp(
        i32::from(MAX_TEMPERATURE_C) - i32::from(MAX_TEMPERATURE_CODE),
        i32::from(MAX_TEMPERATURE_C),
    );
    let code = if celsius >= 0 {
        celsius
    } else {
        i32::from(MAX_TEMPERATURE_C) - celsius
    };
    // In 0..=MAX_TEMPERATURE_CODE after the clamp above.
    code as u16
}

/// How tag 0x84 encodes the current, chosen by the protocol version tag 0xC0 (§1.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CurrentEncoding {
    /// Protocol version 1: bit 15 set = charging, bits 0–14 = magnitude in 10 mA.
    /// Not two's complement.
    SignMagnitude,
    /// Protocol version 0 or no 0xC0 tag (old firmware): `(10000 − raw) × 10 mA`, positive =
    /// charging. No real capture exists (§1.5: low confidence).
    Offset10000,
}

/// Bit 15 of a version-1 current code: set = charging (§1.5).
const CHARGING_BIT: u16 = 0x8000;
/// Offset of the legacy current code, in 10 mA (§1.5).
const LEGACY_OFFSET: i32 = 10_000;
/// The current code counts in 10 mA (§1.4, 0x84 "× 0.01 A").
const MA_PER_UNIT: i32 = 10;

impl CurrentEncoding {
    /// The encoding for a protocol version tag value (`None` = tag absent), or `None` for a
    /// version this codec does not know.
    pub fn for_version(version: Option<u8>) -> Option<Self> {
        match version {
            None | Some(0) => Some(Self::Offset10000),
            Some(1) => Some(Self::SignMagnitude),
            Some(_) => None,
        }
    }

    /// Current in mA, positive = charging.
    pub fn decode(self, raw: u16) -> i32 {
        match self {
            Self::SignMagnitude => {
                let magnitude = i32::from(raw & !CHARGING_BIT) * MA_PER_UNIT;
                if raw & CHARGING_BIT != 0 {
                    magnitude
                } else {
                    -magnitude
                }
            }
            Self::Offset10000 => (LEGACY_OFFSET - i32::from(raw)) * MA_PER_UNIT,
        }
    }

    /// The code for a current in mA (positive = charging). The protocol carries 10 mA steps
    /// within ±327.67 A (version 1) or −555.35..=+100 A (legacy): other values are rounded to
    /// the nearest step (halves away from zero) and clamped. Zero is `0x0000` in version 1.
    pub fn encode(self, milliamps: i32) -> u16 {
        let ma = i64::from(milliamps);
        let units = (ma + 5 * ma.signum()) / i64::from(MA_PER_UNIT);
        match self {
            Self::SignMagnitude => {
                let max = i64::from(!CHARGING_BIT);
                let magnitude = units.unsigned_abs().min(max as u64) as u16;
                if units > 0 {
                    CHARGING_BIT | magnitude
                } else {
                    magnitude
                }
            }
            Self::Offset10000 => {
                (i64::from(LEGACY_OFFSET) - units).clamp(0, i64::from(u16::MAX)) as u16
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CurrentEncoding::{Offset10000, SignMagnitude};

    #[test]
    fn temperature_codes_follow_the_doc_formula() {
        assert_eq!(temperature_from_code(0), Some(0));
        assert_eq!(temperature_from_code(29), Some(290));
        assert_eq!(temperature_from_code(100), Some(1000));
        assert_eq!(temperature_from_code(101), Some(-10)); // −1 °C, not −2 (SY-NW) (§1.6)
        assert_eq!(temperature_from_code(140), Some(-400));
        assert_eq!(temperature_from_code(3376), Some(-32760));
        assert_eq!(temperature_from_code(3377), None);
        assert_eq!(temperature_from_code(u16::MAX), None);
    }

    #[test]
    fn every_representable_temperature_code_round_trips() {
        for raw in 0..=MAX_TEMPERATURE_CODE {
            let t = temperature_from_code(raw).unwrap(); // raw is within range
            assert_eq!(temperature_to_code(t), raw);
        }
    }

    #[test]
    fn temperatures_are_rounded_and_clamped_when_encoded() {
        assert_eq!(temperature_to_code(164), 16); // 16.4 °C -> 16
        assert_eq!(temperature_to_code(165), 17); // 16.5 °C -> 17
        assert_eq!(temperature_to_code(-14), 101); // -1.4 °C -> -1
        assert_eq!(temperature_to_code(-15), 102); // -1.5 °C -> -2
        assert_eq!(temperature_to_code(1500), 100); // 150 °C does not exist: 100
        assert_eq!(temperature_to_code(i16::MIN), MAX_TEMPERATURE_CODE);
    }

    #[test]
    fn version_one_current_is_sign_and_magnitude() {
        // The vectors and the JK doc examples (§1.5).
        assert_eq!(SignMagnitude.decode(0x80D0), 2_080);
        assert_eq!(SignMagnitude.decode(0x81C5), 4_530);
        assert_eq!(SignMagnitude.decode(0x0045), -690);
        assert_eq!(SignMagnitude.decode(0x07D0), -20_000);
        assert_eq!(SignMagnitude.decode(0x87D0), 20_000);
        assert_eq!(SignMagnitude.decode(0x0000), 0);
        assert_eq!(SignMagnitude.decode(0x8000), 0);
        assert_eq!(SignMagnitude.decode(0xFFFF), 327_670);
        assert_eq!(SignMagnitude.decode(0x7FFF), -327_670);
    }

    #[test]
    fn legacy_current_is_offset_10000() {
        // The JK doc examples (§1.5).
        assert_eq!(Offset10000.decode(11_000), -10_000);
        assert_eq!(Offset10000.decode(9_500), 5_000);
        assert_eq!(Offset10000.decode(10_000), 0);
        assert_eq!(Offset10000.decode(0), 100_000);
        assert_eq!(Offset10000.decode(u16::MAX), -555_350);
    }

    #[test]
    fn every_current_code_round_trips_through_its_value() {
        for raw in 0..=u16::MAX {
            let ma = Offset10000.decode(raw);
            assert_eq!(Offset10000.encode(ma), raw);
            let ma = SignMagnitude.decode(raw);
            // 0x8000 ("+0") is written as 0x0000.
            let expected = if raw == CHARGING_BIT { 0 } else { raw };
            assert_eq!(SignMagnitude.encode(ma), expected);
        }
    }

    #[test]
    fn currents_are_rounded_and_clamped_when_encoded() {
        assert_eq!(SignMagnitude.encode(2_084), 0x80D0);
        assert_eq!(SignMagnitude.encode(2_085), 0x80D1);
        assert_eq!(SignMagnitude.encode(-694), 0x0045);
        assert_eq!(SignMagnitude.encode(4), 0x0000);
        assert_eq!(SignMagnitude.encode(i32::MAX), 0xFFFF);
        assert_eq!(SignMagnitude.encode(i32::MIN), 0x7FFF);
        assert_eq!(Offset10000.encode(i32::MAX), 0);
        assert_eq!(Offset10000.encode(i32::MIN), u16::MAX);
    }

    #[test]
    fn versions_select_the_encoding() {
        assert_eq!(CurrentEncoding::for_version(None), Some(Offset10000));
        assert_eq!(CurrentEncoding::for_version(Some(0)), Some(Offset10000));
        assert_eq!(CurrentEncoding::for_version(Some(1)), Some(SignMagnitude));
        assert_eq!(CurrentEncoding::for_version(Some(2)), None);
    }
}
