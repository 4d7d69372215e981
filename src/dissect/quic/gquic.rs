//! Google QUIC (Qxxx) recognition: the version of a gQUIC packet, and the SNI tag of a
//! cleartext CHLO (Q043–Q046). Nothing gQUIC is decrypted: Q050+ is recognised and reported
//! only.

/// Tags kept from a gQUIC CHLO tag table before giving up on it; a Chrome
/// CHLO has about 25 tags.
const GQUIC_MAX_TAGS: usize = 64;

/// If this datagram starts a gQUIC packet, its version (four ASCII bytes
/// 'Q', digit, digit, digit).
///
/// Q046 and later use a long header with the version at bytes 1..5. Q043
/// and older use the public header: flags byte with 0x01 = version present,
/// 0x08 = 8-byte connection ID present, 0x80 unused (then the version
/// follows the connection ID).
pub fn gquic_version(dg: &[u8]) -> Option<u32> {
    let first = *dg.first()?;
    let at = if first & 0x80 != 0 {
        1
    } else if first & 0x01 != 0 {
        if first & 0x08 != 0 { 9 } else { 1 }
    } else {
        return None;
    };
    let v: [u8; 4] = dg.get(at..at + 4)?.try_into().ok()?;
    (v[0] == b'Q' && v[1..].iter().all(u8::is_ascii_digit)).then(|| u32::from_be_bytes(v))
}

/// gQUIC version number (43 for "Q043").
pub(super) fn gquic_number(v: u32) -> u32 {
    v.to_be_bytes()
        .iter()
        .skip(1)
        .fold(0u32, |acc, &d| acc * 10 + u32::from(d.wrapping_sub(b'0')))
}

/// Finds a cleartext gQUIC CHLO message in `dg` and returns its SNI tag.
/// CHLO layout: "CHLO", uint16 LE tag count, uint16 padding, then per tag
/// (uint32 tag, uint32 LE end offset), then the values back to back.
/// `None` = no CHLO found; `Some(None)` = a CHLO without SNI.
pub fn gquic_chlo_sni(dg: &[u8]) -> Option<Option<String>> {
    let mut from = 0usize;
    while let Some(rel) = find(dg.get(from..).unwrap_or(&[]), b"CHLO") {
        let at = from + rel;
        if let Some(r) = parse_chlo(dg.get(at + 4..).unwrap_or(&[])) {
            return Some(r);
        }
        from = at + 1;
    }
    None
}

fn find(hay: &[u8], needle: &[u8; 4]) -> Option<usize> {
    hay.windows(4).position(|w| w == needle)
}

/// Parses a CHLO tag table (after the "CHLO" tag). `None` when it is not a
/// consistent table.
fn parse_chlo(p: &[u8]) -> Option<Option<String>> {
    let n = usize::from(u16::from_le_bytes([*p.first()?, *p.get(1)?]));
    if n == 0 || n > GQUIC_MAX_TAGS {
        return None;
    }
    let table = p.get(4..4 + 8 * n)?;
    let values = p.get(4 + 8 * n..)?;
    let mut prev_end = 0usize;
    let mut sni = None;
    for e in table.chunks_exact(8) {
        let end = u32::from_le_bytes(e.get(4..8)?.try_into().ok()?) as usize;
        if end < prev_end {
            return None;
        }
        if e.get(..4)? == b"SNI\0" {
            // The value may run past this datagram (CHLO split over packets).
            sni = values
                .get(prev_end..end)
                .and_then(|v| (!v.is_empty() && v.len() <= 255).then_some(v))
                .map(|v| String::from_utf8_lossy(v).into_owned());
        }
        prev_end = end;
    }
    Some(sni)
}
