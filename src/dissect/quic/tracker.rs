//! The per-flow tracker of a client's Initial packets ([`QuicInitialTracker`]) and what it
//! reports ([`QuicInitialInfo`]): it walks the coalesced packets of each client datagram,
//! decrypts client Initials, reassembles their CRYPTO stream and parses the ClientHello, within
//! the bounds below, and frees its buffers as soon as it is done.

use crate::dissect::reasm::StreamBuf;
use crate::dissect::tls::{ClientHelloInfo, parse_client_hello};
use crate::dissect::{GiveUp, Progress};

use super::gquic::{gquic_chlo_sni, gquic_number, gquic_version};
use super::keys::{InitialKeys, decrypt_initial};
use super::packet::{MAX_CID_LEN, parse_long_header, read_varint, walk_frames};
use super::version::{QuicVersionKind, profiles};

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
pub(super) const MAX_NON_QUIC_DATAGRAMS: u16 = 4;

/// Datagrams in which a gQUIC CHLO is searched for (Q043 and older send it
/// in the first packet; a large CHLO spills into the second).
const GQUIC_MAX_DATAGRAMS: u16 = 3;

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
    // Visible to the unit tests, which check they are freed on completion.
    pub(super) keys: Option<Box<InitialKeys>>,
    pub(super) crypto: Option<Box<StreamBuf>>,
    pub(super) scratch: Vec<u8>,
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
