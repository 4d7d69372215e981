//! QUIC version codepoints and how each version protects its Initial packets: the per-version
//! salts (RFC 9001 §5.2, RFC 9369 §3.3 and the drafts), the protection profile of each known
//! version, and the printable classification of any codepoint ([`QuicVersionKind`]).

use std::fmt;

/// Initial salts (20 bytes each).
/// RFC 9001 §5.2 (also draft-ietf-quic-tls-33/34).
pub(super) const SALT_V1: [u8; 20] = hex20(*b"38762cf7f55934b34d179ae6a4c80cadccbb7f0a");
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
pub(super) const SALT_T050: [u8; 20] = hex20(*b"7ff579e5acd072915580304c43a2367c60488310");
/// Google T051, per Wireshark's version table.
const SALT_T051: [u8; 20] = hex20(*b"7a4edef4e7ccee5fa4506c19124fc8ccda6e033d");

/// Version codepoints (RFC 9000 §15, RFC 9369 §3.1, IANA QUIC registry).
pub(super) const VERSION_V1: u32 = 0x0000_0001;
pub(super) const VERSION_V2: u32 = 0x6b33_43cf;
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
pub(super) struct Profile {
    pub(super) salt: &'static [u8; 20],
    /// HKDF label prefix: "quic " (v1 and drafts) or "quicv2 " (RFC 9369).
    pub(super) v2_labels: bool,
    /// Long-header type bits of an Initial packet: 0b00 (v1), 0b01 (v2).
    pub(super) v2_types: bool,
    /// Google T05x: gQUIC frame types inside IETF-style protected Initial
    /// packets (CRYPTO is 0x08, PING 0x07).
    pub(super) google_frames: bool,
}

pub(super) const P_V1: Profile = Profile {
    salt: &SALT_V1,
    v2_labels: false,
    v2_types: false,
    google_frames: false,
};
pub(super) const P_V2: Profile = Profile {
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
pub(super) fn profiles(version: u32) -> &'static [Profile] {
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
