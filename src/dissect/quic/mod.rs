//! QUIC Initial packets from the client: version, and the TLS ClientHello
//! that RFC 9001 makes readable to any observer.
//!
//! Why it exists: QUIC encrypts everything except the Initial packets, whose
//! keys derive from the client's Destination Connection ID and a public,
//! per-version salt (RFC 9001 §5.2, RFC 9369 §3.3). Decrypting them is what
//! every on-path observer can do, and it reveals the ClientHello (SNI, ALPN,
//! ECH presence) exactly as over TCP.
//!
//! What it must never do: decrypt anything but client Initial packets (no
//! Handshake, 0-RTT or 1-RTT packets, nothing from the server), keep payload
//! beyond the parsed fields (the CRYPTO buffer and the decryption scratch are
//! freed as soon as the ClientHello is parsed or the tracker gives up), or
//! decrypt gQUIC Q050 (recognised and reported only).
//!
//! Sources of the facts used here (no code was copied):
//! - RFC 9000 §16 (variable-length integers), §17.2 (long header), §17.2.2
//!   (Initial), §17.2.1 (Version Negotiation), §17.2.5 (Retry), §19 (frames),
//!   §12.2 (coalesced packets), Appendix A.3 (packet number decoding);
//! - RFC 9001 §5.2 (Initial secrets, v1 salt), §5.3 (AEAD nonce), §5.4
//!   (header protection), Appendix A (test vectors used in the tests);
//! - RFC 9369 §3.1–§3.3 (v2 version, packet types, salt, "quicv2" labels),
//!   Appendix A (test vectors); draft-ietf-quic-v2-04 §3.3.1 (salt of the
//!   provisional v2 codepoint 0x709a50c4);
//! - draft-ietf-quic-tls-22 / -23 / -29 §5.2 (draft salts); the T050/T051
//!   salts and the mvfst/Google version codepoints as published by the
//!   Wireshark QUIC dissector's version table;
//! - gQUIC wire layout (public header flags, CHLO tag/value message) from
//!   the Chromium QUIC crypto documentation.
//!
//! Versions: v1, v2 (and its provisional codepoint), IETF drafts 21–34,
//! Facebook mvfst and Google T050/T051 are decrypted. Reserved "greasing"
//! versions (0x?a?a?a?a) that clients send to force Version Negotiation are
//! tried with the v1, draft-29 and draft-23 salts (clients protect them with
//! a version they support; the AEAD tag tells which). T05x carry gQUIC frame
//! types: only PADDING/PING/CRYPTO are read, so a CRYPTO frame placed after
//! a gQUIC ACK frame in the same packet is not seen. gQUIC Q043–Q046 send
//! the CHLO in clear: its SNI tag is read; Q050+ is reported, not
//! decrypted. Version Negotiation and Retry packets are recognised and
//! skipped. Client Initials after the first keep the original DCID's keys
//! even when they carry the server's connection ID (RFC 9001 §5.2); after a
//! Retry, or a compatible version switch (RFC 9368), keys are re-derived
//! from the packet's DCID or for the new version.
//!
//! Bounds: one [`MAX_CRYPTO_BYTES`] (16 KiB) CRYPTO reassembly buffer, the
//! ring keys (< 1 KiB) and a scratch copy of the largest Initial packet seen
//! (≈1.2–1.5 KB; at most one UDP payload) are allocated per flow, only once a
//! client Initial of a known version is seen; at most [`MAX_DATAGRAMS`]
//! client datagrams, [`MAX_DECRYPT_FAILURES`] undecryptable Initials and
//! [`MAX_COALESCED`] packets per datagram are looked at.

use std::fmt;

use ring::aead::{self, quic::HeaderProtectionKey};
use ring::hkdf;

use super::reasm::StreamBuf;
use super::tls::{ClientHelloInfo, parse_client_hello};
use super::{GiveUp, Progress};

/// Cap on the reassembled CRYPTO stream of the Initial packet number space.
/// A ClientHello with a post-quantum key share is about 1.8 KB and is split
/// over two Initial packets; 16 KiB leaves room for large PSK/ECH payloads
/// while bounding memory per flow.
pub const MAX_CRYPTO_BYTES: usize = 16 * 1024;

/// Client datagrams looked at before giving up without a complete
/// ClientHello. A ClientHello needs 1–3 Initial datagrams (plus
/// retransmissions); 32 is generous but still bounds work on a dead flow.
pub const MAX_DATAGRAMS: u16 = 32;

/// Initial packets of a known version that failed to decrypt before giving
/// up (RFC 9001 §5.2: wrong DCID guess, corrupted capture, or an unknown
/// salt). 8 covers a Retry and a DCID change with margin.
pub const MAX_DECRYPT_FAILURES: u16 = 8;

/// Packets parsed in one datagram (RFC 9000 §12.2 coalescing: Initial,
/// 0-RTT, Handshake, then 1-RTT; a handful in practice).
pub const MAX_COALESCED: usize = 8;

/// Datagrams that do not start with a QUIC long header of a known version
/// before the tracker decides the flow is not QUIC from the client side.
const MAX_NON_QUIC_DATAGRAMS: u16 = 4;

/// Datagrams in which a gQUIC CHLO is searched for (Q043 and older send it
/// in the first packet; a large CHLO spills into the second).
const GQUIC_MAX_DATAGRAMS: u16 = 3;

/// Maximum connection ID length in QUIC v1/v2 long headers (RFC 9000 §17.2).
const MAX_CID_LEN: usize = 20;

/// AEAD tag and header-protection sample length for AES-128-GCM
/// (RFC 9001 §5.3, §5.4.2).
const TAG_LEN: usize = 16;
const SAMPLE_LEN: usize = 16;

/// Tags kept from a gQUIC CHLO tag table before giving up on it; a Chrome
/// CHLO has about 25 tags.
const GQUIC_MAX_TAGS: usize = 64;

/// Initial salts (20 bytes each).
/// RFC 9001 §5.2 (also draft-ietf-quic-tls-33/34).
const SALT_V1: [u8; 20] = hex20(*b"38762cf7f55934b34d179ae6a4c80cadccbb7f0a");
/// RFC 9369 §3.3.1.
const SALT_V2: [u8; 20] = hex20(*b"0dede3def700a6db819381be6e269dcbf9bd2ed9");
/// draft-ietf-quic-v2-04 §3.3.1 (provisional codepoint 0x709a50c4).
const SALT_V2_DRAFT: [u8; 20] = hex20(*b"a707c203a59b47184a1d62ca570406ea7ae3e5d3");
/// draft-ietf-quic-tls-29..32 §5.2.
const SALT_DRAFT_29: [u8; 20] = hex20(*b"afbfec289993d24c9e9786f19c6111e04390a899");
/// draft-ietf-quic-tls-23..28 §5.2.
const SALT_DRAFT_23: [u8; 20] = hex20(*b"c3eef712c72ebb5a11a7d2432bb46365bef9f502");
/// draft-ietf-quic-tls-21/22 §5.2.
const SALT_DRAFT_22: [u8; 20] = hex20(*b"7fbcdb0e7c66bbe9193a96cd21519ebd7a02644a");
/// Google T050 (QUIC with TLS, pre-RFC), per Wireshark's version table.
const SALT_T050: [u8; 20] = hex20(*b"7ff579e5acd072915580304c43a2367c60488310");
/// Google T051, per Wireshark's version table.
const SALT_T051: [u8; 20] = hex20(*b"7a4edef4e7ccee5fa4506c19124fc8ccda6e033d");

/// Version codepoints (RFC 9000 §15, RFC 9369 §3.1, IANA QUIC registry).
const VERSION_V1: u32 = 0x0000_0001;
const VERSION_V2: u32 = 0x6b33_43cf;
const VERSION_V2_DRAFT: u32 = 0x709a_50c4;

/// Compile-time hex decoding of a 40-digit string.
const fn hex20<const N: usize>(s: [u8; N]) -> [u8; 20] {
    const fn nib(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => 0,
        }
    }
    let mut out = [0u8; 20];
    let mut i = 0;
    let mut o = 0;
    while i < s.len() && o < 40 {
        if s[i] != b' ' {
            if o % 2 == 0 {
                out[o / 2] = nib(s[i]) << 4;
            } else {
                out[o / 2] |= nib(s[i]);
            }
            o += 1;
        }
        i += 1;
    }
    out
}

/// How one QUIC version protects its Initial packets.
#[derive(Debug, Clone, Copy)]
struct Profile {
    salt: &'static [u8; 20],
    /// HKDF label prefix: "quic " (v1 and drafts) or "quicv2 " (RFC 9369).
    v2_labels: bool,
    /// Long-header type bits of an Initial packet: 0b00 (v1), 0b01 (v2).
    v2_types: bool,
    /// Google T05x: gQUIC frame types inside IETF-style protected Initial
    /// packets (CRYPTO is 0x08, PING 0x07).
    google_frames: bool,
}

const P_V1: Profile = Profile {
    salt: &SALT_V1,
    v2_labels: false,
    v2_types: false,
    google_frames: false,
};
const P_V2: Profile = Profile {
    salt: &SALT_V2,
    v2_labels: true,
    v2_types: true,
    google_frames: false,
};
const P_V2_DRAFT: Profile = Profile {
    salt: &SALT_V2_DRAFT,
    v2_labels: true,
    v2_types: true,
    google_frames: false,
};
const P_D29: Profile = Profile {
    salt: &SALT_DRAFT_29,
    v2_labels: false,
    v2_types: false,
    google_frames: false,
};
const P_D23: Profile = Profile {
    salt: &SALT_DRAFT_23,
    v2_labels: false,
    v2_types: false,
    google_frames: false,
};
const P_D22: Profile = Profile {
    salt: &SALT_DRAFT_22,
    v2_labels: false,
    v2_types: false,
    google_frames: false,
};
const P_T050: Profile = Profile {
    salt: &SALT_T050,
    v2_labels: false,
    v2_types: false,
    google_frames: true,
};
const P_T051: Profile = Profile {
    salt: &SALT_T051,
    v2_labels: false,
    v2_types: false,
    google_frames: true,
};

/// Initial protection profile(s) of a version; empty when unknown. Several
/// candidates are tried in order (the AEAD tag tells which one is right).
fn profiles(version: u32) -> &'static [Profile] {
    match version {
        VERSION_V1 | 0xff00_0021 | 0xff00_0022 => &[P_V1],
        VERSION_V2 => &[P_V2],
        VERSION_V2_DRAFT => &[P_V2_DRAFT],
        0xff00_001d..=0xff00_0020 => &[P_D29],
        0xff00_0017..=0xff00_001c => &[P_D23],
        0xff00_0015 | 0xff00_0016 => &[P_D22],
        0xfaceb001 => &[P_D22],
        0xfaceb002 | 0xfaceb00e => &[P_D23],
        0xfaceb000..=0xfaceb0ff => &[P_V1, P_D23, P_D29],
        0x5430_3530 => &[P_T050],
        0x5430_3531 => &[P_T051],
        // Reserved versions (RFC 9000 §15) in client Initials force Version
        // Negotiation; clients protect them with the keys of a version they
        // support, so the usual salts are tried.
        v if v & 0x0f0f_0f0f == 0x0a0a_0a0a => &[P_V1, P_D29, P_D23],
        _ => &[],
    }
}

/// What kind of QUIC version a codepoint is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuicVersionKind {
    /// Version Negotiation (0x00000000, RFC 9000 §17.2.1).
    Negotiation,
    /// QUIC v1 (RFC 9000).
    V1,
    /// QUIC v2 (RFC 9369), including the provisional draft codepoint.
    V2,
    /// An IETF draft (0xff0000NN).
    Draft(u8),
    /// Facebook mvfst codepoints (0xfaceb0NN).
    Mvfst(u32),
    /// Google QUIC with TLS (T05x).
    GoogleTls(u32),
    /// Google QUIC with QUIC-crypto (Qxxx): gQUIC.
    GoogleQuic(u32),
    /// Reserved for version negotiation greasing (0x?a?a?a?a, RFC 9000 §15).
    Grease(u32),
    /// Anything else.
    Unknown(u32),
}

impl QuicVersionKind {
    /// Classifies a version codepoint.
    pub fn of(v: u32) -> Self {
        let b = v.to_be_bytes();
        match v {
            0 => QuicVersionKind::Negotiation,
            VERSION_V1 => QuicVersionKind::V1,
            VERSION_V2 | VERSION_V2_DRAFT => QuicVersionKind::V2,
            0xff00_0000..=0xff00_00ff => QuicVersionKind::Draft(b[3]),
            0xfaceb000..=0xfaceb0ff => QuicVersionKind::Mvfst(v),
            _ if v & 0x0f0f_0f0f == 0x0a0a_0a0a => QuicVersionKind::Grease(v),
            _ if b[0] == b'T' && b[1..].iter().all(u8::is_ascii_digit) => {
                QuicVersionKind::GoogleTls(v)
            }
            _ if b[0] == b'Q' && b[1..].iter().all(u8::is_ascii_digit) => {
                QuicVersionKind::GoogleQuic(v)
            }
            _ => QuicVersionKind::Unknown(v),
        }
    }
}

impl fmt::Display for QuicVersionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            QuicVersionKind::Negotiation => f.write_str("version-negotiation"),
            QuicVersionKind::V1 => f.write_str("1"),
            QuicVersionKind::V2 => f.write_str("2"),
            QuicVersionKind::Draft(d) => write!(f, "draft-{d}"),
            QuicVersionKind::Mvfst(v) => write!(f, "mvfst-0x{v:08x}"),
            QuicVersionKind::GoogleTls(v) | QuicVersionKind::GoogleQuic(v) => {
                for c in v.to_be_bytes() {
                    write!(f, "{}", char::from(c))?;
                }
                Ok(())
            }
            QuicVersionKind::Grease(v) => write!(f, "grease-0x{v:08x}"),
            QuicVersionKind::Unknown(v) => write!(f, "0x{v:08x}"),
        }
    }
}

/// What an observer learns from a flow's client Initial packets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuicInitialInfo {
    /// Version field of the client's long header (for gQUIC the four ASCII
    /// bytes, e.g. 0x51303433 = "Q043").
    pub version: u32,
    /// The ClientHello (IETF QUIC and T05x), or for gQUIC Q043-Q046 the
    /// cleartext CHLO's SNI tag in [`ClientHelloInfo::sni`] (other fields
    /// empty). `None` when the version is recognised but not readable
    /// (gQUIC Q050+) or the CHLO carried no SNI.
    pub hello: Option<ClientHelloInfo>,
}

impl QuicInitialInfo {
    /// The version's kind, printable ("1", "2", "draft-29", "Q043", ...).
    pub fn version_kind(&self) -> QuicVersionKind {
        QuicVersionKind::of(self.version)
    }
}

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
struct LongHeader<'a> {
    first: u8,
    version: u32,
    dcid: &'a [u8],
    /// Bytes after the SCID.
    rest: &'a [u8],
}

fn parse_long_header(p: &[u8]) -> Option<LongHeader<'_>> {
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

/// Client Initial keys (RFC 9001 §5.1–§5.4).
struct InitialKeys {
    version: u32,
    dcid: [u8; MAX_CID_LEN],
    dcid_len: usize,
    profile: Profile,
    aead: aead::LessSafeKey,
    iv: [u8; 12],
    hp: HeaderProtectionKey,
}

impl fmt::Debug for InitialKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InitialKeys")
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

/// Output length for ring's HKDF.
struct Len(usize);
impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

/// HKDF-Expand-Label (RFC 8446 §7.1) with an empty context.
fn expand_label(prk: &hkdf::Prk, label: &[u8], out: &mut [u8]) -> Option<()> {
    let len = u16::try_from(out.len()).ok()?;
    let label_len = u8::try_from(6 + label.len()).ok()?;
    let len_bytes = len.to_be_bytes();
    let info: [&[u8]; 5] = [&len_bytes, &[label_len], b"tls13 ", label, &[0]];
    prk.expand(&info, Len(out.len())).ok()?.fill(out).ok()
}

impl InitialKeys {
    /// Derives the client Initial keys from a DCID (RFC 9001 §5.2).
    fn derive(version: u32, profile: Profile, dcid: &[u8]) -> Option<Self> {
        if dcid.len() > MAX_CID_LEN {
            return None;
        }
        let initial = hkdf::Salt::new(hkdf::HKDF_SHA256, profile.salt).extract(dcid);
        let mut client = [0u8; 32];
        expand_label(&initial, b"client in", &mut client)?;
        let client = hkdf::Prk::new_less_safe(hkdf::HKDF_SHA256, &client);
        let (lk, li, lh): (&[u8], &[u8], &[u8]) = if profile.v2_labels {
            (b"quicv2 key", b"quicv2 iv", b"quicv2 hp")
        } else {
            (b"quic key", b"quic iv", b"quic hp")
        };
        let mut key = [0u8; 16];
        let mut iv = [0u8; 12];
        let mut hp = [0u8; 16];
        expand_label(&client, lk, &mut key)?;
        expand_label(&client, li, &mut iv)?;
        expand_label(&client, lh, &mut hp)?;
        let aead = aead::LessSafeKey::new(aead::UnboundKey::new(&aead::AES_128_GCM, &key).ok()?);
        let hp = HeaderProtectionKey::new(&aead::quic::AES_128, &hp).ok()?;
        let mut d = [0u8; MAX_CID_LEN];
        d.get_mut(..dcid.len())?.copy_from_slice(dcid);
        Some(InitialKeys {
            version,
            dcid: d,
            dcid_len: dcid.len(),
            profile,
            aead,
            iv,
            hp,
        })
    }

    fn dcid(&self) -> &[u8] {
        self.dcid.get(..self.dcid_len).unwrap_or(&[])
    }
}

/// Packet number decoding (RFC 9000 Appendix A.3).
fn decode_pn(largest: Option<u64>, truncated: u64, pn_len: usize) -> u64 {
    let expected = largest.map_or(0, |l| l.saturating_add(1));
    let win = 1u64 << (8 * pn_len as u32);
    let hwin = win / 2;
    let mask = win - 1;
    let candidate = (expected & !mask) | truncated;
    if candidate.saturating_add(hwin) <= expected && candidate < (1u64 << 62) - win {
        candidate + win
    } else if candidate > expected.saturating_add(hwin) && candidate >= win {
        candidate - win
    } else {
        candidate
    }
}

/// Removes header protection and decrypts one Initial packet (RFC 9001 §5.4,
/// §5.3) in `scratch`, a copy of `pkt`. Returns the plaintext range in
/// `scratch` and the packet number.
fn decrypt_initial(
    keys: &InitialKeys,
    pkt: &[u8],
    pn_offset: usize,
    largest: Option<u64>,
    scratch: &mut Vec<u8>,
) -> Option<(std::ops::Range<usize>, u64)> {
    let sample = pkt.get(pn_offset + 4..pn_offset + 4 + SAMPLE_LEN)?;
    let mask = keys.hp.new_mask(sample).ok()?;
    scratch.clear();
    scratch.extend_from_slice(pkt);
    let first = scratch.first_mut()?;
    *first ^= mask[0] & 0x0f; // long header: low 4 bits protected
    let pn_len = usize::from(*first & 0x03) + 1;
    let mut truncated = 0u64;
    for i in 0..pn_len {
        let b = scratch.get_mut(pn_offset + i)?;
        *b ^= mask[1 + i];
        truncated = (truncated << 8) | u64::from(*b);
    }
    let pn = decode_pn(largest, truncated, pn_len);
    let mut nonce = keys.iv;
    for (n, p) in nonce.iter_mut().skip(4).zip(pn.to_be_bytes()) {
        *n ^= p;
    }
    let hdr_len = pn_offset + pn_len;
    if scratch.len() < hdr_len + TAG_LEN {
        return None;
    }
    let (hdr, payload) = scratch.split_at_mut(hdr_len);
    let plain_len = keys
        .aead
        .open_in_place(
            aead::Nonce::assume_unique_for_key(nonce),
            aead::Aad::from(&*hdr),
            payload,
        )
        .ok()?
        .len();
    Some((hdr_len..hdr_len + plain_len, pn))
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
fn walk_frames(mut p: &[u8], google: bool, mut on_crypto: impl FnMut(u64, &[u8])) -> usize {
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
fn gquic_number(v: u32) -> u32 {
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

/// Per-flow tracker of the client's Initial packets.
///
/// Feed every client→server UDP payload of the flow in capture order.
/// Inline size is about 150 bytes; once a client Initial of a known version
/// is seen, the ring keys (< 1 KiB), the CRYPTO buffer
/// ([`MAX_CRYPTO_BYTES`] + 256 bytes) and a scratch copy of the largest
/// Initial packet are allocated, and freed when the tracker finishes.
#[derive(Debug, Default)]
pub struct QuicInitialTracker {
    state: QState,
    last_version: Option<u32>,
    keys: Option<Box<InitialKeys>>,
    crypto: Option<Box<StreamBuf>>,
    scratch: Vec<u8>,
    largest_pn: Option<u64>,
    datagrams: u16,
    non_quic: u16,
    failures: u16,
    info: Option<QuicInitialInfo>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum QState {
    #[default]
    Idle,
    Collecting,
    /// gQUIC Q043–Q049 seen, CHLO not found yet.
    Gquic,
    Final(Progress),
}

impl QuicInitialTracker {
    /// A fresh tracker (nothing allocated).
    pub fn new() -> Self {
        Self::default()
    }

    /// The result, once [`Progress::Done`] was returned (also set, with
    /// `hello: None`, when gQUIC Q050+ was recognised).
    pub fn info(&self) -> Option<&QuicInitialInfo> {
        self.info.as_ref()
    }

    /// Takes the result out.
    pub fn take_info(&mut self) -> Option<QuicInitialInfo> {
        self.info.take()
    }

    /// Version field of the last client long header seen, even when the
    /// version is unknown.
    pub fn last_version(&self) -> Option<u32> {
        self.last_version
    }

    /// Current progress without pushing anything.
    pub fn progress(&self) -> Progress {
        match self.state {
            QState::Idle => Progress::Idle,
            QState::Collecting | QState::Gquic => Progress::NeedMore,
            QState::Final(p) => p,
        }
    }

    fn finish(&mut self, p: Progress) -> Progress {
        self.keys = None;
        self.crypto = None;
        self.scratch = Vec::new();
        self.state = QState::Final(p);
        p
    }

    /// Feeds one client→server UDP payload.
    pub fn push_client_datagram(&mut self, dg: &[u8]) -> Progress {
        if let QState::Final(p) = self.state {
            return p;
        }
        if dg.is_empty() {
            return self.progress();
        }
        self.datagrams = self.datagrams.saturating_add(1);

        if let Some(v) = gquic_version(dg) {
            return self.on_gquic(v, dg);
        }
        if self.state == QState::Gquic {
            return self.gquic_budget();
        }

        let mut pos = 0usize;
        let mut saw_known = false;
        for _ in 0..MAX_COALESCED {
            let Some(pkt) = dg.get(pos..).filter(|p| !p.is_empty()) else {
                break;
            };
            let Some(h) = parse_long_header(pkt) else {
                break; // short header (1-RTT) or not QUIC: nothing more to read
            };
            self.last_version = Some(h.version);
            if h.version == 0 {
                break; // Version Negotiation (server → client): nothing to read
            }
            let profs = profiles(h.version);
            let Some(prof) = profs.first() else {
                break;
            };
            if h.dcid.len() > MAX_CID_LEN {
                break;
            }
            saw_known = true;
            let typ = (h.first >> 4) & 0x03;
            let is_initial = if prof.v2_types {
                typ == 0b01
            } else {
                typ == 0b00
            };
            let is_retry = if prof.v2_types {
                typ == 0b00
            } else {
                typ == 0b11
            };
            if is_retry {
                break; // Retry (server → client): the rest is the Retry itself
            }
            let mut r = h.rest;
            if is_initial {
                let Some((tlen, r2)) = read_varint(r) else {
                    break;
                };
                let Some(r2) = usize::try_from(tlen).ok().and_then(|l| r2.get(l..)) else {
                    break;
                };
                r = r2;
            }
            let Some((len, r2)) = read_varint(r) else {
                break;
            };
            let pn_offset = pkt.len() - r2.len();
            let Some(end) = usize::try_from(len)
                .ok()
                .map(|l| pn_offset.saturating_add(l))
            else {
                break;
            };
            if is_initial {
                match pkt.get(..end) {
                    Some(whole) => self.on_initial(h.version, h.dcid, whole, pn_offset),
                    // Truncated capture: the AEAD needs the whole packet.
                    None => self.failures = self.failures.saturating_add(1),
                }
                if let QState::Final(p) = self.state {
                    return p;
                }
            }
            pos = pos.saturating_add(end);
        }

        if !saw_known && self.state == QState::Idle {
            self.non_quic = self.non_quic.saturating_add(1);
            if self.non_quic >= MAX_NON_QUIC_DATAGRAMS {
                let why = match self.last_version {
                    Some(v) if v != 0 => GiveUp::UnsupportedVersion,
                    _ => GiveUp::NotThisProtocol,
                };
                return self.finish(Progress::GaveUp(why));
            }
        }
        if self.failures >= MAX_DECRYPT_FAILURES && self.crypto.is_none() {
            return self.finish(Progress::GaveUp(GiveUp::DecryptFailed));
        }
        if self.datagrams >= MAX_DATAGRAMS {
            return self.finish(Progress::GaveUp(GiveUp::TooManyPackets));
        }
        self.progress()
    }

    fn on_gquic(&mut self, v: u32, dg: &[u8]) -> Progress {
        self.last_version = Some(v);
        if gquic_number(v) >= 50 {
            // Q050+ protects its Initial packets; recognised, not decrypted.
            self.info = Some(QuicInitialInfo {
                version: v,
                hello: None,
            });
            return self.finish(Progress::GaveUp(GiveUp::UnsupportedVersion));
        }
        match gquic_chlo_sni(dg) {
            Some(sni) => {
                self.info = Some(QuicInitialInfo {
                    version: v,
                    hello: sni.map(|s| ClientHelloInfo {
                        sni: Some(s),
                        ..ClientHelloInfo::default()
                    }),
                });
                self.finish(Progress::Done)
            }
            None => {
                self.state = QState::Gquic;
                if self.info.is_none() {
                    self.info = Some(QuicInitialInfo {
                        version: v,
                        hello: None,
                    });
                }
                self.gquic_budget()
            }
        }
    }

    fn gquic_budget(&mut self) -> Progress {
        if self.datagrams >= GQUIC_MAX_DATAGRAMS {
            // Recognised as gQUIC, but no CHLO seen: report the version only.
            return self.finish(Progress::Done);
        }
        Progress::NeedMore
    }

    /// Decrypts one client Initial packet (`pkt` is exactly the packet) and
    /// feeds its CRYPTO frames.
    fn on_initial(&mut self, version: u32, dcid: &[u8], pkt: &[u8], pn_offset: usize) {
        let mut plain = None;
        // 1) keys we already have for this version (derived from the
        //    original DCID: later Initials may carry the server's CID).
        if let Some(k) = self.keys.as_deref().filter(|k| k.version == version) {
            plain = decrypt_initial(k, pkt, pn_offset, self.largest_pn, &mut self.scratch);
        }
        // 2) keys from this packet's DCID (first Initial, or after a Retry),
        //    or from the original DCID for a newly negotiated version.
        if plain.is_none() {
            let orig = self.keys.as_deref().map(|k| {
                let mut d = [0u8; MAX_CID_LEN];
                let n = k.dcid_len;
                if let (Some(dst), Some(src)) = (d.get_mut(..n), k.dcid.get(..n)) {
                    dst.copy_from_slice(src);
                }
                (d, n, k.version, k.profile.salt)
            });
            let mut candidates: [Option<&[u8]>; 2] = [Some(dcid), None];
            if let Some((ref d, n, kv, _)) = orig {
                if kv != version || d.get(..n) != Some(dcid) {
                    candidates[1] = d.get(..n);
                }
            }
            'outer: for cid in candidates.into_iter().flatten() {
                for prof in profiles(version) {
                    if let Some(k) = self.keys.as_deref() {
                        if k.version == version && k.dcid() == cid && k.profile.salt == prof.salt {
                            continue; // already tried in step 1
                        }
                    }
                    let Some(k) = InitialKeys::derive(version, *prof, cid) else {
                        continue;
                    };
                    if let Some(r) =
                        decrypt_initial(&k, pkt, pn_offset, self.largest_pn, &mut self.scratch)
                    {
                        plain = Some(r);
                        self.keys = Some(Box::new(k));
                        break 'outer;
                    }
                }
            }
        }
        let Some((range, pn)) = plain else {
            self.failures = self.failures.saturating_add(1);
            return;
        };
        self.largest_pn = Some(self.largest_pn.map_or(pn, |l| l.max(pn)));
        if self.state == QState::Idle {
            self.state = QState::Collecting;
        }
        let crypto = self
            .crypto
            .get_or_insert_with(|| Box::new(StreamBuf::new(MAX_CRYPTO_BYTES)));
        let plaintext = self.scratch.get(range).unwrap_or(&[]);
        let google = self
            .keys
            .as_deref()
            .is_some_and(|k| k.profile.google_frames);
        walk_frames(plaintext, google, |off, data| {
            // Data beyond the cap or too fragmented is dropped; the
            // completeness check below decides.
            let _ = crypto.insert(off, data);
        });
        self.info.get_or_insert(QuicInitialInfo {
            version,
            hello: None,
        });
        let outcome = match *crypto.prefix() {
            [typ, a, b, c, ..] => {
                let need = 4 + ((usize::from(a) << 16) | (usize::from(b) << 8) | usize::from(c));
                if typ != 1 {
                    Some(Err(GiveUp::Malformed))
                } else if need > crypto.cap() {
                    Some(Err(GiveUp::TooLarge))
                } else {
                    crypto
                        .prefix()
                        .get(..need)
                        .map(|msg| parse_client_hello(msg).map_err(|_| GiveUp::Malformed))
                }
            }
            _ => None,
        };
        match outcome {
            None => {}
            Some(Ok(hello)) => {
                self.info = Some(QuicInitialInfo {
                    version,
                    hello: Some(hello),
                });
                self.finish(Progress::Done);
            }
            Some(Err(g)) => {
                self.finish(Progress::GaveUp(g));
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    const A2_V1: &str = include_str!("../../../tests/vectors/rfc9001_a2_client_initial.hex");
    const A2_V2: &str = include_str!("../../../tests/vectors/rfc9369_a2_client_initial.hex");
    const A2_FRAME: &str = include_str!("../../../tests/vectors/rfc9001_a2_crypto_frame.hex");

    #[test]
    fn key_block_size() {
        let n = std::mem::size_of::<InitialKeys>();
        println!("InitialKeys: {n} bytes");
        assert!(n < 1024, "{n}");
    }

    #[test]
    fn salts_decode() {
        assert_eq!(SALT_V1[0], 0x38);
        assert_eq!(SALT_V1[19], 0x0a);
        assert_eq!(SALT_T050[10], 0x30);
        assert_eq!(SALT_T050[11], 0x4c);
        assert_eq!(SALT_T050[19], 0x10);
    }

    #[test]
    fn rfc9001_a1_keys() {
        let k = InitialKeys::derive(1, P_V1, &unhex("8394c8f03e515708")).unwrap();
        assert_eq!(k.iv.to_vec(), unhex("fa044b2f42a3fd3b46fb255c"));
        // hp: AES-ECB(hp, sample) from A.2 gives mask 437b9aec36
        let mask =
            k.hp.new_mask(&unhex("d1b1c98dd7689fb8ec11d242b123dc9b"))
                .unwrap();
        assert_eq!(mask.to_vec(), unhex("437b9aec36"));
    }

    #[test]
    fn rfc9369_a1_keys() {
        let k = InitialKeys::derive(VERSION_V2, P_V2, &unhex("8394c8f03e515708")).unwrap();
        assert_eq!(k.iv.to_vec(), unhex("91f73e2351d8fa91660e909f"));
        let mask =
            k.hp.new_mask(&unhex("ffe67b6abcdb4298b485dd04de806071"))
                .unwrap();
        assert_eq!(mask.to_vec(), unhex("94a0c95e80"));
    }

    fn check_vector(hex: &str, version: u32) {
        let pkt = unhex(hex);
        assert_eq!(pkt.len(), 1200);
        let mut t = QuicInitialTracker::new();
        assert_eq!(t.push_client_datagram(&pkt), Progress::Done);
        let info = t.info().unwrap();
        assert_eq!(info.version, version);
        let hello = info.hello.as_ref().unwrap();
        assert_eq!(hello.sni.as_deref(), Some("example.com"));
        assert_eq!(hello.alpn, vec!["alpn".to_string()]);
        assert_eq!(
            hello.tls_version,
            Some(crate::dissect::tls::TlsVersion::Tls13)
        );
        assert!(!hello.ech);
        // freed after completion
        assert!(t.crypto.is_none() && t.keys.is_none() && t.scratch.capacity() == 0);
    }

    #[test]
    fn rfc9001_a2_client_initial() {
        check_vector(A2_V1, 1);
    }

    #[test]
    fn rfc9369_a2_client_initial() {
        check_vector(A2_V2, VERSION_V2);
        assert_eq!(QuicVersionKind::of(VERSION_V2).to_string(), "2");
    }

    #[test]
    fn decrypted_payload_matches_rfc9001_a2() {
        let pkt = unhex(A2_V1);
        let k = InitialKeys::derive(1, P_V1, &unhex("8394c8f03e515708")).unwrap();
        let mut scratch = Vec::new();
        let (range, pn) = decrypt_initial(&k, &pkt, 18, None, &mut scratch).unwrap();
        assert_eq!(pn, 2);
        let plain = &scratch[range];
        assert_eq!(plain.len(), 1162);
        let frame = unhex(A2_FRAME);
        assert_eq!(&plain[..frame.len()], &frame[..]);
        assert!(plain[frame.len()..].iter().all(|&b| b == 0));
        // header: unprotected c300000001088394c8f03e5157080000449e00000002
        assert_eq!(
            scratch[..22].to_vec(),
            unhex("c300000001088394c8f03e5157080000449e00000002")
        );
    }

    #[test]
    fn tampered_packet_fails_cleanly() {
        let mut pkt = unhex(A2_V1);
        pkt[500] ^= 1;
        let mut t = QuicInitialTracker::new();
        let mut last = Progress::Idle;
        for _ in 0..MAX_DECRYPT_FAILURES {
            last = t.push_client_datagram(&pkt);
        }
        assert_eq!(last, Progress::GaveUp(GiveUp::DecryptFailed));
        assert!(t.info().is_none());
    }

    #[test]
    fn varints() {
        // RFC 9000 §A.1 examples
        assert_eq!(
            read_varint(&unhex("c2197c5eff14e88c")).unwrap().0,
            151288809941952652
        );
        assert_eq!(read_varint(&unhex("9d7f3e7d")).unwrap().0, 494878333);
        assert_eq!(read_varint(&unhex("7bbd")).unwrap().0, 15293);
        assert_eq!(read_varint(&unhex("25")).unwrap().0, 37);
        assert!(read_varint(&unhex("7b")).is_none());
    }

    #[test]
    fn packet_number_decoding() {
        // RFC 9000 §A.3 example: largest 0xa82f30ea, truncated 0x9b32 (16 bits)
        assert_eq!(decode_pn(Some(0xa82f30ea), 0x9b32, 2), 0xa82f9b32);
        assert_eq!(decode_pn(None, 2, 4), 2);
    }

    #[test]
    fn gquic_versions_and_chlo() {
        // Q043 public header: flags 0x0d (version + 8-byte CID + 1-byte pn)
        let mut dg = vec![0x0d];
        dg.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
        dg.extend_from_slice(b"Q043");
        dg.push(1); // packet number
        dg.extend_from_slice(&[0u8; 12]); // message hash
        dg.extend_from_slice(&[0xa0, 0x01, 0x00, 0x00]); // stream frame header-ish
        dg.extend_from_slice(b"CHLO");
        dg.extend_from_slice(&2u16.to_le_bytes());
        dg.extend_from_slice(&[0, 0]);
        dg.extend_from_slice(b"PAD\0");
        dg.extend_from_slice(&4u32.to_le_bytes());
        dg.extend_from_slice(b"SNI\0");
        dg.extend_from_slice(&(4u32 + 14).to_le_bytes());
        dg.extend_from_slice(b"----");
        dg.extend_from_slice(b"www.google.com");
        assert_eq!(gquic_version(&dg), Some(u32::from_be_bytes(*b"Q043")));
        let mut t = QuicInitialTracker::new();
        assert_eq!(t.push_client_datagram(&dg), Progress::Done);
        let info = t.info().unwrap();
        assert_eq!(info.version_kind().to_string(), "Q043");
        assert_eq!(
            info.hello.as_ref().unwrap().sni.as_deref(),
            Some("www.google.com")
        );

        // Q050: long header, recognised, not decrypted
        let mut dg = vec![0xc3];
        dg.extend_from_slice(b"Q050");
        dg.extend_from_slice(&[0x08, 1, 2, 3, 4, 5, 6, 7, 8, 0]);
        dg.extend_from_slice(&[0u8; 100]);
        let mut t = QuicInitialTracker::new();
        assert_eq!(
            t.push_client_datagram(&dg),
            Progress::GaveUp(GiveUp::UnsupportedVersion)
        );
        assert_eq!(t.info().unwrap().version_kind().to_string(), "Q050");
        assert!(t.info().unwrap().hello.is_none());
    }

    #[test]
    fn version_negotiation_retry_and_noise() {
        // Version Negotiation packet
        let vn = unhex("80000000000408090a0b0000000100000002");
        let mut t = QuicInitialTracker::new();
        assert_eq!(t.push_client_datagram(&vn), Progress::Idle);
        // Retry (v1 type 0b11)
        let retry =
            unhex("f0000000010008f067a5502a4262b5746f6b656e00112233445566778899aabbccddeeff");
        assert_eq!(t.push_client_datagram(&retry), Progress::Idle);
        // RTP-looking noise
        let mut t = QuicInitialTracker::new();
        let rtp = unhex("80e0123400000001deadbeef0102030405060708");
        let mut last = Progress::Idle;
        for _ in 0..MAX_NON_QUIC_DATAGRAMS {
            last = t.push_client_datagram(&rtp);
        }
        assert!(matches!(last, Progress::GaveUp(_)));
    }

    /// Builds a protected client Initial (RFC 9001 §5) carrying `frames`,
    /// padded to `pad_to` bytes of payload.
    fn seal_initial(version: u32, dcid: &[u8], pn: u32, frames: &[u8], pad_to: usize) -> Vec<u8> {
        let prof = profiles(version)[0];
        let k = InitialKeys::derive(version, prof, dcid).unwrap();
        let typ: u8 = if prof.v2_types { 0b01 } else { 0b00 };
        let mut payload = frames.to_vec();
        payload.resize(payload.len().max(pad_to), 0);
        let mut hdr = vec![0xc0 | (typ << 4) | 0x03];
        hdr.extend_from_slice(&version.to_be_bytes());
        hdr.push(dcid.len() as u8);
        hdr.extend_from_slice(dcid);
        hdr.push(0); // empty SCID
        hdr.push(0); // empty token
        let len = 4 + payload.len() + TAG_LEN;
        hdr.extend_from_slice(&(0x4000u16 | len as u16).to_be_bytes());
        let pn_offset = hdr.len();
        hdr.extend_from_slice(&pn.to_be_bytes());
        let mut nonce = k.iv;
        for (n, p) in nonce.iter_mut().skip(4).zip(u64::from(pn).to_be_bytes()) {
            *n ^= p;
        }
        k.aead
            .seal_in_place_append_tag(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::from(&hdr[..]),
                &mut payload,
            )
            .unwrap();
        let mut pkt = hdr;
        pkt.extend_from_slice(&payload);
        let mask = k.hp.new_mask(&pkt[pn_offset + 4..pn_offset + 20]).unwrap();
        pkt[0] ^= mask[0] & 0x0f;
        for i in 0..4 {
            pkt[pn_offset + i] ^= mask[1 + i];
        }
        pkt
    }

    fn crypto_frame(off: usize, data: &[u8]) -> Vec<u8> {
        let mut f = vec![0x06];
        f.extend_from_slice(&(0x8000_0000u32 | off as u32).to_be_bytes());
        f.extend_from_slice(&(0x4000u16 | data.len() as u16).to_be_bytes());
        f.extend_from_slice(data);
        f
    }

    #[test]
    fn multi_packet_out_of_order_coalesced_and_same_dcid() {
        use crate::dissect::tls::tests::build_client_hello;
        let hello = build_client_hello(Some("chat.example.net"), &["h3"], &[0x0304], true, 1700);
        assert!(hello.len() > 1800);
        let dcid = [0xaa, 0xbb, 0xcc, 0xdd, 1, 2, 3, 4];
        // Second half first, in its own datagram (Chrome-style split), with
        // the CRYPTO frames of the first half reversed and interleaved with
        // PING/PADDING in a later datagram reusing the same DCID.
        let (a, b) = hello.split_at(900);
        let (a1, a2) = a.split_at(400);
        let mut f2 = crypto_frame(900, b);
        f2.extend_from_slice(&[0x01]);
        let p2 = seal_initial(VERSION_V1, &dcid, 1, &f2, 1200);
        let mut f1 = crypto_frame(400, a2);
        f1.extend_from_slice(&[0x01, 0x00, 0x00]);
        f1.extend_from_slice(&crypto_frame(0, a1));
        let p1 = seal_initial(VERSION_V1, &dcid, 0, &f1, 1000);
        // a coalesced 0-RTT-like long header packet after the Initial
        let mut dg1 = p1.clone();
        dg1.extend_from_slice(&[0xd0, 0, 0, 0, 1, 8]);
        dg1.extend_from_slice(&dcid);
        dg1.extend_from_slice(&[0, 0x40, 20]);
        dg1.extend_from_slice(&[0x55; 20]);

        let mut t = QuicInitialTracker::new();
        assert_eq!(t.push_client_datagram(&p2), Progress::NeedMore);
        assert_eq!(t.push_client_datagram(&dg1), Progress::Done);
        let h = t.info().unwrap().hello.clone().unwrap();
        assert_eq!(h.sni.as_deref(), Some("chat.example.net"));
        assert_eq!(h.alpn, vec!["h3".to_string()]);
        assert!(h.ech);

        // v2: the same, in one datagram holding two coalesced Initials
        let q1 = seal_initial(VERSION_V2, &dcid, 0, &crypto_frame(0, a), 0);
        let q2 = seal_initial(VERSION_V2, &dcid, 1, &crypto_frame(900, b), 0);
        let mut dg = q1;
        dg.extend_from_slice(&q2);
        let mut t = QuicInitialTracker::new();
        assert_eq!(t.push_client_datagram(&dg), Progress::Done);
        assert_eq!(t.info().unwrap().version, VERSION_V2);
        assert_eq!(
            t.info().unwrap().hello.as_ref().unwrap().sni.as_deref(),
            Some("chat.example.net")
        );
    }

    #[test]
    fn later_initial_with_server_chosen_dcid_uses_original_keys() {
        use crate::dissect::tls::tests::build_client_hello;
        let hello = build_client_hello(Some("later.example"), &[], &[0x0304], false, 1500);
        let (a, b) = hello.split_at(1000);
        let odcid = [9u8; 8];
        let p1 = seal_initial(VERSION_V1, &odcid, 0, &crypto_frame(0, a), 0);
        // Second Initial: keys still from the original DCID, but the header
        // carries the server's connection ID.
        let mut p2 = seal_initial(VERSION_V1, &odcid, 1, &crypto_frame(1000, b), 0);
        // rewrite the DCID bytes in the header (not protected by HP, but
        // covered by the AEAD: so build it with the new DCID in the AAD)
        let new_dcid = [7u8; 8];
        let prof = P_V1;
        let k = InitialKeys::derive(VERSION_V1, prof, &odcid).unwrap();
        // unprotect p2, swap DCID, reprotect
        let mut scratch = Vec::new();
        let (range, _) = decrypt_initial(&k, &p2, 18, None, &mut scratch).unwrap();
        let frames = scratch[range].to_vec();
        p2 = {
            let mut hdr = vec![0xc3];
            hdr.extend_from_slice(&1u32.to_be_bytes());
            hdr.push(8);
            hdr.extend_from_slice(&new_dcid);
            hdr.extend_from_slice(&[0, 0]);
            let len = 4 + frames.len() + TAG_LEN;
            hdr.extend_from_slice(&(0x4000u16 | len as u16).to_be_bytes());
            let pn_offset = hdr.len();
            hdr.extend_from_slice(&1u32.to_be_bytes());
            let mut payload = frames;
            let mut nonce = k.iv;
            nonce[11] ^= 1;
            k.aead
                .seal_in_place_append_tag(
                    aead::Nonce::assume_unique_for_key(nonce),
                    aead::Aad::from(&hdr[..]),
                    &mut payload,
                )
                .unwrap();
            let mut pkt = hdr;
            pkt.extend_from_slice(&payload);
            let mask = k.hp.new_mask(&pkt[pn_offset + 4..pn_offset + 20]).unwrap();
            pkt[0] ^= mask[0] & 0x0f;
            for i in 0..4 {
                pkt[pn_offset + i] ^= mask[1 + i];
            }
            pkt
        };
        let mut t = QuicInitialTracker::new();
        assert_eq!(t.push_client_datagram(&p1), Progress::NeedMore);
        assert_eq!(t.push_client_datagram(&p2), Progress::Done);
        assert_eq!(
            t.info().unwrap().hello.as_ref().unwrap().sni.as_deref(),
            Some("later.example")
        );
    }

    #[test]
    fn draft_and_google_versions() {
        use crate::dissect::tls::tests::build_client_hello;
        let hello = build_client_hello(Some("d.example"), &[], &[], false, 0);
        for v in [
            0xff00_001d,
            0xff00_001b,
            0xff00_0016,
            0xfaceb002,
            0x0a1a_2a3a,
        ] {
            let p = seal_initial(
                v,
                &[1, 2, 3, 4, 5, 6, 7, 8],
                0,
                &crypto_frame(0, &hello),
                1100,
            );
            let mut t = QuicInitialTracker::new();
            assert_eq!(
                t.push_client_datagram(&p),
                Progress::Done,
                "version {v:08x}"
            );
            assert_eq!(t.info().unwrap().version, v);
        }
        // T051: gQUIC frame types (CRYPTO = 0x08)
        let mut f = crypto_frame(0, &hello);
        f[0] = 0x08;
        let p = seal_initial(0x5430_3531, &[1; 8], 0, &f, 1100);
        let mut t = QuicInitialTracker::new();
        assert_eq!(t.push_client_datagram(&p), Progress::Done);
        assert_eq!(t.info().unwrap().version_kind().to_string(), "T051");
    }

    #[test]
    fn frames_walk() {
        // PADDING, PING, ACK(1 range), CRYPTO(off 5, "hello"), CONNECTION_CLOSE, unknown
        let p = unhex("0000010203000100010100060505");
        let mut p = p;
        p.extend_from_slice(b"hello");
        p.extend_from_slice(&unhex("1c0000016f"));
        p.extend_from_slice(&unhex("08ffff"));
        let mut got = Vec::new();
        let n = walk_initial_frames(&p, |off, d| got.push((off, d.to_vec())));
        assert_eq!(n, 1);
        assert_eq!(got, vec![(5, b"hello".to_vec())]);
    }
}
