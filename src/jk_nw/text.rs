//! Fixed-width ASCII values of the reply (0xB2, 0xB4, 0xB5, 0xB7, 0xBA; `protocols/jk-nw.md`
//! §1.4): NUL padded, sometimes with NULs inside ("NUL→space" for 0xBA).

/// Stands in for a byte that is not printable ASCII: one byte, so the text never outgrows
/// the field it came from.
const REPLACEMENT: char = '?';

/// Padding at either end of a field: NUL (§1.4) or space.
fn is_padding(b: u8) -> bool {
    b == 0x00 || b == b' '
}

/// Decode a fixed-width text field of `M` bytes into a string of capacity `N` ≥ `M`: padding
/// (NUL, space) trimmed at both ends, NULs inside turned into spaces, any other byte that is
/// not printable ASCII replaced by `?`.
pub(crate) fn decode<const M: usize, const N: usize>(raw: &[u8; M]) -> heapless::String<N> {
    const { assert!(M <= N, "the string must hold the whole field") };
    let first = raw.iter().position(|&b| !is_padding(b)).unwrap_or(M);
    let last = raw
        .iter()
        .rposition(|&b| !is_padding(b))
        .map_or(first, |i| i + 1);
    // Map into a byte buffer first and validate once: much faster than pushing char by char.
    let mut ascii = [0u8; M];
    let mut len = 0;
    for (slot, &b) in ascii
        .iter_mut()
        .zip(raw.get(first..last).unwrap_or_default())
    {
        *slot = match b {
            0x00 => b' ',
            0x20..=0x7E => b,
            _ => REPLACEMENT as u8,
        };
        len += 1;
    }
    let mut text = heapless::String::new();
    // Only printable ASCII was written, so the UTF-8 check passes; the fit is asserted above
    // (M ≤ N). Either failure would leave the text empty rather than panic.
    if let Ok(s) = core::str::from_utf8(ascii.get(..len).unwrap_or_default()) {
        let _ = text.push_str(s);
    }
    text
}

/// Append `text` as a field of `width` bytes: printable ASCII as is, any other char as `?`,
/// cut at `width`, NUL padded (as the password in every capture).
pub(crate) fn encode(text: &str, width: usize, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend(
        text.chars()
            .map(|c| match c {
                ' '..='~' => c as u8,
                _ => REPLACEMENT as u8,
            })
            .take(width),
    );
    out.resize(start + width, 0x00);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_str<const M: usize>(raw: &[u8; M]) -> String {
        decode::<M, 32>(raw).as_str().to_owned()
    }

    #[test]
    fn padding_is_trimmed_and_inner_nul_becomes_space() {
        assert_eq!(decode_str(b"123456\0\0\0\0"), "123456");
        assert_eq!(decode_str(b"\0 21\0"), "21");
        assert_eq!(decode_str(b"AB\0\0CD\0"), "AB  CD");
        assert_eq!(decode_str(b"\0\0\0\0"), "");
        assert_eq!(decode_str(b"10.XW_S10.07___"), "10.XW_S10.07___");
    }

    #[test]
    fn bytes_that_are_not_printable_ascii_become_question_marks() {
        assert_eq!(decode_str(&[b'A', 0xFF, 0x07, 0x7F, b'B']), "A???B");
        // 24 bytes of 0xC3 (a UTF-8 lead byte) stay 24 chars: never more than the field.
        let s = decode::<24, 24>(&[0xC3; 24]);
        assert_eq!(s.len(), 24);
    }

    #[test]
    fn encode_pads_with_nul_and_cuts_at_the_width() {
        let mut out = Vec::new();
        encode("123456", 10, &mut out);
        assert_eq!(out, b"123456\0\0\0\0");
        out.clear();
        encode("toolongforthefield", 4, &mut out);
        assert_eq!(out, b"tool");
        out.clear();
        encode("é!", 4, &mut out);
        assert_eq!(out, b"?!\0\0");
    }
}
