//! CRC-16/MODBUS (poly 0x8005 reflected = 0xA001, init 0xFFFF, no final XOR), appended low
//! byte first (`protocols/jk02.md` §2.2). The `crc` crate's catalogue entry is used rather than a
//! hand-rolled table.

/// The catalogue algorithm, built at compile time.
const MODBUS: crc::Crc<u16> = crc::Crc::<u16>::new(&crc::CRC_16_MODBUS);

/// CRC-16/MODBUS of `bytes`.
pub fn crc16_modbus(bytes: &[u8]) -> u16 {
    MODBUS.checksum(bytes)
}

/// Whether `message` ends with the CRC-16/MODBUS of the bytes before it, low byte first.
pub fn crc_ok(message: &[u8]) -> bool {
    match message.len().checked_sub(2) {
        Some(body) if body > 0 => {
            let crc = crc16_modbus(&message[..body]).to_le_bytes();
            message[body..] == crc
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_check_value() {
        // The standard check value of CRC-16/MODBUS over "123456789".
        assert_eq!(crc16_modbus(b"123456789"), 0x4B37);
    }

    #[test]
    fn documented_ack_has_a_valid_crc() {
        // jk02.md §2.2: the FC16 ACK `01 10 16 20 00 01 04 4B`.
        assert!(crc_ok(&[0x01, 0x10, 0x16, 0x20, 0x00, 0x01, 0x04, 0x4B]));
        assert!(!crc_ok(&[0x01, 0x10, 0x16, 0x20, 0x00, 0x01, 0x4B, 0x04]));
        assert!(!crc_ok(&[0x04]));
        assert!(!crc_ok(&[]));
    }
}
