//! Client Initial keys and packet protection: Initial secrets and HKDF-Expand-Label
//! (RFC 9001 §5.2), AES-128-GCM (§5.3), header protection (§5.4) and packet number decoding
//! (RFC 9000 Appendix A.3). Only client Initial packets are ever decrypted here.

use std::fmt;

use ring::aead::{self, quic::HeaderProtectionKey};
use ring::hkdf;

use super::packet::MAX_CID_LEN;
use super::version::Profile;

/// AEAD tag and header-protection sample length for AES-128-GCM
/// (RFC 9001 §5.3, §5.4.2).
pub(super) const TAG_LEN: usize = 16;
const SAMPLE_LEN: usize = 16;

/// Client Initial keys (RFC 9001 §5.1–§5.4).
pub(super) struct InitialKeys {
    pub(super) version: u32,
    pub(super) dcid: [u8; MAX_CID_LEN],
    pub(super) dcid_len: usize,
    pub(super) profile: Profile,
    pub(super) aead: aead::LessSafeKey,
    pub(super) iv: [u8; 12],
    pub(super) hp: HeaderProtectionKey,
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
    pub(super) fn derive(version: u32, profile: Profile, dcid: &[u8]) -> Option<Self> {
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

    pub(super) fn dcid(&self) -> &[u8] {
        self.dcid.get(..self.dcid_len).unwrap_or(&[])
    }
}

/// Packet number decoding (RFC 9000 Appendix A.3).
pub(super) fn decode_pn(largest: Option<u64>, truncated: u64, pn_len: usize) -> u64 {
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
pub(super) fn decrypt_initial(
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
