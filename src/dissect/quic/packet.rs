//! QUIC wire parsing without keys: variable-length integers (RFC 9000 §16), the long header
//! (§17.2), and the frames of a decrypted Initial payload (§19), of which only CRYPTO data is
//! kept.

/// Maximum connection ID length in QUIC v1/v2 long headers (RFC 9000 §17.2).
pub(super) const MAX_CID_LEN: usize = 20;

/// Reads a QUIC variable-length integer (RFC 9000 §16).
pub fn read_varint(b: &[u8]) -> Option<(u64, &[u8])> {
    let first = *b.first()?;
    let len = 1usize << (first >> 6);
    let bytes = b.get(..len)?;
    let mut v = u64::from(first & 0x3f);
    for &x in bytes.iter().skip(1) {
        v = (v << 8) | u64::from(x);
    }
    Some((v, b.get(len..)?))
}

/// Long header fields common to all long-header packet types
/// (RFC 9000 §17.2).
#[derive(Debug, Clone, Copy)]
pub(super) struct LongHeader<'a> {
    pub(super) first: u8,
    pub(super) version: u32,
    pub(super) dcid: &'a [u8],
    /// Bytes after the SCID.
    pub(super) rest: &'a [u8],
}

pub(super) fn parse_long_header(p: &[u8]) -> Option<LongHeader<'_>> {
    let (&first, r) = p.split_first()?;
    if first & 0x80 == 0 {
        return None;
    }
    let version = u32::from_be_bytes(r.get(..4)?.try_into().ok()?);
    let r = r.get(4..)?;
    let (&dl, r) = r.split_first()?;
    let dcid = r.get(..usize::from(dl))?;
    let r = r.get(usize::from(dl)..)?;
    let (&sl, r) = r.split_first()?;
    let r = r.get(usize::from(sl)..)?;
    Some(LongHeader {
        first,
        version,
        dcid,
        rest: r,
    })
}

/// Walks the frames of a decrypted Initial payload (RFC 9000 §19) and hands
/// every CRYPTO frame to `on_crypto`. Stops cleanly at the first frame type
/// not allowed in Initial packets (RFC 9000 §12.4) or at malformed data.
/// Returns the number of CRYPTO frames seen.
pub fn walk_initial_frames(p: &[u8], on_crypto: impl FnMut(u64, &[u8])) -> usize {
    walk_frames(p, false, on_crypto)
}

/// Frame walker; `google` selects Google T05x frame types, where only
/// PADDING (0x00), PING (0x07) and CRYPTO (0x08, offset and length as
/// varints) are understood.
pub(super) fn walk_frames(
    mut p: &[u8],
    google: bool,
    mut on_crypto: impl FnMut(u64, &[u8]),
) -> usize {
    let mut n_crypto = 0;
    while let Some((typ, r)) = read_varint(p) {
        p = r;
        let typ = match (google, typ) {
            (false, t) => t,
            (true, 0x00) => 0x00,
            (true, 0x07) => 0x01,
            (true, 0x08) => 0x06,
            (true, _) => return n_crypto,
        };
        match typ {
            0x00 => {
                // PADDING: skip the whole run at once.
                let zeros = p.iter().take_while(|&&b| b == 0).count();
                p = p.get(zeros..).unwrap_or(&[]);
            }
            0x01 => {} // PING
            0x02 | 0x03 => {
                // ACK: largest, delay, range count, first range, ranges, [ECN].
                let Some(r) = skip_ack(p, typ == 0x03) else {
                    return n_crypto;
                };
                p = r;
            }
            0x06 => {
                let Some((off, r)) = read_varint(p) else {
                    return n_crypto;
                };
                let Some((len, r)) = read_varint(r) else {
                    return n_crypto;
                };
                let Some(data) = usize::try_from(len).ok().and_then(|l| r.get(..l)) else {
                    return n_crypto;
                };
                on_crypto(off, data);
                n_crypto += 1;
                p = r.get(data.len()..).unwrap_or(&[]);
            }
            0x1c | 0x1d => {
                // CONNECTION_CLOSE: error code, [frame type], reason.
                let Some((_, mut r)) = read_varint(p) else {
                    return n_crypto;
                };
                if typ == 0x1c {
                    let Some((_, r2)) = read_varint(r) else {
                        return n_crypto;
                    };
                    r = r2;
                }
                let Some((len, r)) = read_varint(r) else {
                    return n_crypto;
                };
                let Some(rest) = usize::try_from(len).ok().and_then(|l| r.get(l..)) else {
                    return n_crypto;
                };
                p = rest;
            }
            _ => return n_crypto,
        }
    }
    n_crypto
}

fn skip_ack(p: &[u8], ecn: bool) -> Option<&[u8]> {
    let (_, r) = read_varint(p)?; // largest acknowledged
    let (_, r) = read_varint(r)?; // ack delay
    let (count, r) = read_varint(r)?;
    let (_, mut r) = read_varint(r)?; // first range
    // Each range takes at least two bytes: the remaining length bounds it.
    if count > r.len() as u64 {
        return None;
    }
    for _ in 0..count {
        let (_, r2) = read_varint(r)?;
        let (_, r2) = read_varint(r2)?;
        r = r2;
    }
    if ecn {
        for _ in 0..3 {
            let (_, r2) = read_varint(r)?;
            r = r2;
        }
    }
    Some(r)
}
