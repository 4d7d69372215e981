//! TLS ClientHello over TCP: reassembly and the observer-visible fields.
//!
//! Why it exists: the ClientHello is the one TLS message an on-path observer
//! always sees in clear (RFC 8446 §4.1.2). Its `server_name` (RFC 6066 §3),
//! ALPN list (RFC 7301 §3.1), `supported_versions` (RFC 8446 §4.2.1) and the
//! presence of `encrypted_client_hello` (draft-ietf-tls-esni, codepoint
//! 0xfe0d) name the service and tell how much the client tries to hide.
//!
//! What it must never do: keep payload beyond the parsed fields (the
//! reassembly buffer is freed as soon as the ClientHello is parsed or the
//! reassembler gives up), look at any record after the ClientHello, or
//! decrypt anything.
//!
//! Bounds:
//! - nothing is allocated until a segment starts with a TLS handshake record
//!   header; then one buffer of [`MAX_HELLO_BYTES`] (16 KiB) is allocated for
//!   the flow, plus the fixed range table of the shared reassembly buffer
//!   (256 bytes);
//! - at most [`MAX_LEADING_SEGMENTS`] data segments are inspected before a
//!   ClientHello starts (STARTTLS, SOCKS and similar preambles), at most
//!   [`MAX_STALLED_SEGMENTS`] consecutive segments that do not extend the
//!   reassembled prefix are tolerated (retransmissions, reordering), and at
//!   most 32 holes (see `reasm::MAX_RANGES`);
//! - [`ClientHelloInfo::alpn`] keeps at most [`MAX_ALPN`] entries and names
//!   are at most [`MAX_NAME_LEN`] bytes.
//!
//! Anchoring: the first client segment that starts with a handshake record
//! header (content type 22, version 3.x, handshake type 1) anchors the
//! stream; earlier non-TLS segments (STARTTLS, SOCKS, RDP negotiation) are
//! skipped, and a PROXY protocol v1/v2 header at the start of a segment is
//! stepped over. If the caller passes the SYN's sequence number
//! ([`TlsClientHelloReassembler::set_client_isn`]), a ClientHello whose
//! first segment arrives late is reassembled too.
//!
//! ECH: Chrome and Firefox send a GREASE `encrypted_client_hello` when the
//! server has no ECH config, so `ech: true` with a real-looking SNI is
//! common; with real ECH the SNI is the provider's cover name
//! (e.g. cloudflare-ech.com). An observer cannot tell the two apart.
//!
//! Parsing uses the `tls-parser` crate (`parse_tls_handshake_client_hello`
//! and `parse_tls_client_hello_extension`) on the handshake message after
//! this module joined the record fragments; the record and handshake headers
//! themselves (RFC 8446 §5.1 and §4) are read here.

use std::fmt;

use thiserror::Error;
use tls_parser::{SNIType, TlsExtension};

use super::reasm::{InsertError, StreamBuf};
use super::{GiveUp, Progress};

/// Cap on the reassembled bytes (records included) kept for one ClientHello.
/// A post-quantum (X25519MLKEM768) ClientHello is about 1.8 KB, padded ones
/// reach 2 KB and a few with big PSK identities 4–5 KB; 16 KiB is also the
/// maximum TLS plaintext record size (RFC 8446 §5.1), so one full record fits.
pub const MAX_HELLO_BYTES: usize = 16 * 1024;

/// Consecutive segments that do not extend the reassembled prefix before the
/// reassembler gives up (retransmissions, reordering, segments beyond the
/// cap). A real capture shows a couple at most; 16 leaves room for bursts of
/// reordering without keeping a dead flow's buffer forever.
pub const MAX_STALLED_SEGMENTS: u16 = 16;

/// Client data segments inspected before a ClientHello starts. Covers
/// protocol preambles sent before TLS on the same connection (SOCKS5 greeting
/// and CONNECT, XMPP/SMTP/IMAP STARTTLS exchanges take 2–6 client segments).
pub const MAX_LEADING_SEGMENTS: u16 = 8;

/// ALPN entries kept (RFC 7301 §3.1 allows up to 2^16-1 bytes of names; real
/// clients send 1–3, so 8 keeps everything meaningful with a fixed bound).
pub const MAX_ALPN: usize = 8;

/// Longest host name or ALPN protocol name kept, in bytes. DNS names are at
/// most 253 characters (RFC 1035 §2.3.4) and ALPN names at most 255 bytes
/// (RFC 7301 §3.1); a longer SNI is reported as absent rather than truncated.
pub const MAX_NAME_LEN: usize = 255;

/// TLS record content type "handshake" (RFC 8446 §5.1).
const CONTENT_HANDSHAKE: u8 = 22;
/// Handshake message type "client_hello" (RFC 8446 §4).
const HS_CLIENT_HELLO: u8 = 1;
/// Largest record length accepted: 2^14 plaintext plus the 2048 bytes of
/// expansion TLS 1.2 allows (RFC 5246 §6.2.3); anything larger is not TLS.
const MAX_RECORD_LEN: usize = 16384 + 2048;
/// Extension codepoints (IANA TLS ExtensionType registry).
const EXT_SERVER_NAME: u16 = 0; // RFC 6066 §3
const EXT_ALPN: u16 = 16; // RFC 7301 §3.1
const EXT_SUPPORTED_VERSIONS: u16 = 43; // RFC 8446 §4.2.1
const EXT_ECH: u16 = 0xfe0d; // draft-ietf-tls-esni-18 §5 (encrypted_client_hello)
const EXT_ESNI: u16 = 0xffce; // draft-ietf-tls-esni-01..06 (encrypted_server_name)

/// A TLS protocol version as announced by a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsVersion {
    /// SSL 3.0 (0x0300).
    Ssl3,
    /// TLS 1.0 (0x0301).
    Tls10,
    /// TLS 1.1 (0x0302).
    Tls11,
    /// TLS 1.2 (0x0303).
    Tls12,
    /// TLS 1.3 (0x0304).
    Tls13,
    /// A TLS 1.3 draft (0x7fNN: draft NN).
    Tls13Draft(u8),
    /// Anything else (experimental codepoints such as 0xfb1a).
    Other(u16),
}

impl TlsVersion {
    /// Maps a wire value.
    pub fn from_wire(v: u16) -> Self {
        match v {
            0x0300 => TlsVersion::Ssl3,
            0x0301 => TlsVersion::Tls10,
            0x0302 => TlsVersion::Tls11,
            0x0303 => TlsVersion::Tls12,
            0x0304 => TlsVersion::Tls13,
            0x7f00..=0x7fff => TlsVersion::Tls13Draft((v & 0xff) as u8),
            other => TlsVersion::Other(other),
        }
    }

    /// Wire value.
    pub fn to_wire(self) -> u16 {
        match self {
            TlsVersion::Ssl3 => 0x0300,
            TlsVersion::Tls10 => 0x0301,
            TlsVersion::Tls11 => 0x0302,
            TlsVersion::Tls12 => 0x0303,
            TlsVersion::Tls13 => 0x0304,
            TlsVersion::Tls13Draft(d) => 0x7f00 | u16::from(d),
            TlsVersion::Other(v) => v,
        }
    }

    /// Ordering used to pick the "highest" version: final TLS 1.3 above its
    /// drafts, drafts above TLS 1.2, unknown codepoints lowest.
    fn rank(self) -> u32 {
        match self {
            TlsVersion::Other(_) => 0,
            TlsVersion::Ssl3 => 1,
            TlsVersion::Tls10 => 2,
            TlsVersion::Tls11 => 3,
            TlsVersion::Tls12 => 4,
            TlsVersion::Tls13Draft(d) => 5 + u32::from(d),
            TlsVersion::Tls13 => 1000,
        }
    }
}

impl fmt::Display for TlsVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsVersion::Ssl3 => f.write_str("SSL3"),
            TlsVersion::Tls10 => f.write_str("1.0"),
            TlsVersion::Tls11 => f.write_str("1.1"),
            TlsVersion::Tls12 => f.write_str("1.2"),
            TlsVersion::Tls13 => f.write_str("1.3"),
            TlsVersion::Tls13Draft(d) => write!(f, "1.3-draft{d}"),
            TlsVersion::Other(v) => write!(f, "0x{v:04x}"),
        }
    }
}

/// True for GREASE values (RFC 8701 §2: 0x0A0A, 0x1A1A, ..., 0xFAFA).
pub fn is_grease(v: u16) -> bool {
    (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff)
}

/// What an observer learns from one ClientHello.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClientHelloInfo {
    /// First `host_name` entry of `server_name` (RFC 6066 §3). When
    /// [`ClientHelloInfo::ech`] is true this is the outer (cover) name of
    /// ECH, or the real name when the client sends GREASE ECH: an observer
    /// cannot tell which.
    pub sni: Option<String>,
    /// ALPN protocol names in client preference order (at most [`MAX_ALPN`]).
    pub alpn: Vec<String>,
    /// Highest non-GREASE version of `supported_versions`, else the legacy
    /// `ClientHello.version` field.
    pub tls_version: Option<TlsVersion>,
    /// `encrypted_client_hello` (0xfe0d) or its ESNI predecessor (0xffce) is
    /// present.
    pub ech: bool,
}

/// Why a ClientHello did not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum TlsError {
    /// Fewer bytes than the handshake header announces.
    #[error("truncated handshake message")]
    Truncated,
    /// The handshake message is not a ClientHello.
    #[error("handshake message type {0} is not a ClientHello")]
    NotClientHello(u8),
    /// The ClientHello body is malformed.
    #[error("malformed ClientHello")]
    Malformed,
}

/// Parses one complete handshake message (4-byte header `msg_type`,
/// `uint24 length`, then the body; RFC 8446 §4) that must be a ClientHello.
/// Used for TLS over TCP (after record reassembly) and for the QUIC CRYPTO
/// stream, where handshake messages are not inside records (RFC 9001 §4).
pub fn parse_client_hello(msg: &[u8]) -> Result<ClientHelloInfo, TlsError> {
    let (&typ, rest) = msg.split_first().ok_or(TlsError::Truncated)?;
    if typ != HS_CLIENT_HELLO {
        return Err(TlsError::NotClientHello(typ));
    }
    let len = match rest {
        [a, b, c, ..] => (usize::from(*a) << 16) | (usize::from(*b) << 8) | usize::from(*c),
        _ => return Err(TlsError::Truncated),
    };
    let body = rest.get(3..3 + len).ok_or(TlsError::Truncated)?;
    parse_client_hello_body(body)
}

/// Parses a ClientHello body (what follows the 4-byte handshake header).
pub fn parse_client_hello_body(body: &[u8]) -> Result<ClientHelloInfo, TlsError> {
    let (_, ch) =
        tls_parser::parse_tls_handshake_client_hello(body).map_err(|_| TlsError::Malformed)?;
    let mut info = ClientHelloInfo::default();
    let mut best: Option<TlsVersion> = None;
    let mut rest = ch.ext.unwrap_or(&[]);
    // Walk the extension list ourselves so that one extension tls-parser
    // does not like does not hide the others (RFC 8446 §4.2 layout:
    // uint16 type, uint16 length, data).
    while let [t0, t1, l0, l1, tail @ ..] = rest {
        let typ = u16::from_be_bytes([*t0, *t1]);
        let len = usize::from(u16::from_be_bytes([*l0, *l1]));
        let Some(whole) = rest.get(..4 + len) else {
            break; // truncated extension list: keep what we have
        };
        let _ = tail;
        rest = rest.get(4 + len..).unwrap_or(&[]);
        match typ {
            EXT_SERVER_NAME | EXT_ALPN | EXT_SUPPORTED_VERSIONS => {}
            EXT_ECH | EXT_ESNI => {
                info.ech = true;
                continue;
            }
            _ => continue,
        }
        let Ok((_, ext)) = tls_parser::parse_tls_client_hello_extension(whole) else {
            continue;
        };
        match ext {
            TlsExtension::SNI(list) if info.sni.is_none() => {
                info.sni = list
                    .iter()
                    .find(|(t, _)| *t == SNIType::HostName)
                    .and_then(|(_, name)| bytes_to_name(name));
            }
            TlsExtension::ALPN(list) => {
                for p in list.iter().take(MAX_ALPN) {
                    if info.alpn.len() >= MAX_ALPN {
                        break;
                    }
                    if let Some(s) = bytes_to_name(p) {
                        info.alpn.push(s);
                    }
                }
            }
            TlsExtension::SupportedVersions(list) => {
                for v in list.iter().map(|v| v.0).filter(|v| !is_grease(*v)) {
                    let v = TlsVersion::from_wire(v);
                    if best.is_none_or(|b| v.rank() > b.rank()) {
                        best = Some(v);
                    }
                }
            }
            _ => {}
        }
    }
    info.tls_version = best.or(Some(TlsVersion::from_wire(ch.version.0)));
    Ok(info)
}

/// Bytes to an owned name: at most [`MAX_NAME_LEN`] bytes, non-UTF-8 bytes
/// replaced (names are ASCII in practice).
fn bytes_to_name(b: &[u8]) -> Option<String> {
    if b.is_empty() || b.len() > MAX_NAME_LEN {
        return None;
    }
    Some(String::from_utf8_lossy(b).into_owned())
}

/// Does this segment look like the start of a TLS handshake record carrying
/// a ClientHello? Checks as many header bytes as the segment has (a segment
/// may hold a single byte).
fn looks_like_hello_start(p: &[u8]) -> bool {
    let ok0 = p.first() == Some(&CONTENT_HANDSHAKE);
    let ok1 = p.get(1).is_none_or(|&b| b == 3);
    let ok2 = p.get(2).is_none_or(|&b| b <= 4);
    let ok5 = p.get(5).is_none_or(|&b| b == HS_CLIENT_HELLO);
    ok0 && ok1 && ok2 && ok5
}

/// Result of walking the reassembled record prefix.
enum Walk {
    NeedMore,
    /// The ClientHello is complete: its handshake length (header included).
    Complete(usize),
    Fail(GiveUp),
}

/// Resumable walk over the TLS records of the reassembled prefix: only
/// complete records are committed, so each push costs O(new records).
#[derive(Debug, Default, Clone, Copy)]
struct Walker {
    /// Offset of the first record not yet fully seen.
    pos: usize,
    /// Handshake bytes in the committed records.
    hs_have: usize,
    /// First four handshake bytes (msg_type, uint24 length).
    hs_head: [u8; 4],
    /// Handshake message length including its header, once known.
    need: Option<usize>,
}

/// Walks TLS records (RFC 8446 §5.1: type, version, uint16 length) in
/// `stream` and tells whether the first handshake message is complete.
fn walk_records(w: &mut Walker, stream: &[u8]) -> Walk {
    loop {
        let pos = w.pos;
        let Some(hdr) = stream.get(pos..pos + 5) else {
            // Validate a partial header as far as it goes.
            let part = stream.get(pos..).unwrap_or(&[]);
            if !part.is_empty() && !looks_like_hello_start_record(part) {
                return Walk::Fail(GiveUp::Malformed);
            }
            return Walk::NeedMore;
        };
        if !looks_like_hello_start_record(hdr) {
            return Walk::Fail(if pos == 0 {
                GiveUp::NotThisProtocol
            } else {
                GiveUp::Malformed
            });
        }
        let rec_len = usize::from(u16::from_be_bytes([hdr[3], hdr[4]]));
        if rec_len == 0 || rec_len > MAX_RECORD_LEN {
            return Walk::Fail(GiveUp::Malformed);
        }
        let body = stream.get(pos + 5..).unwrap_or(&[]);
        let avail = rec_len.min(body.len());
        for (i, &b) in body.iter().take(avail).enumerate() {
            match w.hs_head.get_mut(w.hs_have + i) {
                Some(slot) => *slot = b,
                None => break,
            }
        }
        let have = w.hs_have + avail;
        if w.need.is_none() && have >= 4 {
            if w.hs_head[0] != HS_CLIENT_HELLO {
                return Walk::Fail(GiveUp::NotThisProtocol);
            }
            let len = (usize::from(w.hs_head[1]) << 16)
                | (usize::from(w.hs_head[2]) << 8)
                | usize::from(w.hs_head[3]);
            let total = 4 + len;
            // The records' 5-byte headers take room in the buffer too.
            if total + 5 > MAX_HELLO_BYTES {
                return Walk::Fail(GiveUp::TooLarge);
            }
            w.need = Some(total);
        }
        if let Some(n) = w.need {
            if have >= n {
                return Walk::Complete(n);
            }
        }
        if avail < rec_len {
            return Walk::NeedMore;
        }
        w.hs_have = have;
        w.pos = pos + 5 + rec_len;
    }
}

/// Header check for a record that must carry handshake data (any prefix of
/// the 5-byte header may be given).
fn looks_like_hello_start_record(h: &[u8]) -> bool {
    h.first() == Some(&CONTENT_HANDSHAKE)
        && h.get(1).is_none_or(|&b| b == 3)
        && h.get(2).is_none_or(|&b| b <= 4)
}

/// Moves the handshake fragments of the records in `buf` to its front
/// (in place: the destination never passes the source) and returns the
/// number of handshake bytes now at the front, at most `want`.
fn compact_records(buf: &mut [u8], want: usize) -> usize {
    let mut pos = 0usize;
    let mut dst = 0usize;
    while dst < want {
        let Some(hdr) = buf.get(pos..pos + 5) else {
            break;
        };
        let rec_len = usize::from(u16::from_be_bytes([hdr[3], hdr[4]]));
        let start = pos + 5;
        let avail = rec_len.min(buf.len().saturating_sub(start));
        let take = avail.min(want - dst);
        if take == 0 {
            break;
        }
        buf.copy_within(start..start + take, dst);
        dst += take;
        pos = start + rec_len;
    }
    dst
}

/// Per-flow reassembler for the client→server direction of a TCP flow.
///
/// Feed every client→server TCP segment (payload may be empty) with its
/// sequence number, in capture order. Costs about 90 bytes inline while
/// idle; while a ClientHello is being reassembled, one extra heap block of
/// [`MAX_HELLO_BYTES`] + 256 bytes, freed when it completes or gives up.
#[derive(Debug, Default)]
pub struct TlsClientHelloReassembler {
    state: ReasmState,
    /// Sequence number of the first payload byte, if the caller saw the SYN.
    data_start: Option<u32>,
    /// Sequence number at buffer offset 0.
    base: u32,
    buf: Option<Box<StreamBuf>>,
    walker: Walker,
    leading: u16,
    stalled: u16,
    info: Option<ClientHelloInfo>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum ReasmState {
    #[default]
    Searching,
    Collecting,
    /// Collecting from a known data start, but the first byte has not been
    /// seen yet (out-of-order start).
    Tentative,
    Final(Progress),
}

impl TlsClientHelloReassembler {
    /// A fresh reassembler (nothing allocated).
    pub fn new() -> Self {
        Self::default()
    }

    /// Tells the reassembler the client's initial sequence number (from the
    /// SYN). Optional: it lets a ClientHello whose first segment arrives
    /// after later ones be reassembled; without it the first segment that
    /// starts with a handshake record header anchors the stream.
    pub fn set_client_isn(&mut self, isn: u32) {
        if self.state == ReasmState::Searching && self.leading == 0 {
            self.data_start = Some(isn.wrapping_add(1));
        }
    }

    /// The parsed ClientHello, once [`Progress::Done`] was returned.
    pub fn info(&self) -> Option<&ClientHelloInfo> {
        self.info.as_ref()
    }

    /// Takes the parsed ClientHello out.
    pub fn take_info(&mut self) -> Option<ClientHelloInfo> {
        self.info.take()
    }

    /// Current progress without pushing anything.
    pub fn progress(&self) -> Progress {
        match self.state {
            ReasmState::Searching => Progress::Idle,
            ReasmState::Collecting | ReasmState::Tentative => Progress::NeedMore,
            ReasmState::Final(p) => p,
        }
    }

    fn finish(&mut self, p: Progress) -> Progress {
        self.buf = None;
        self.state = ReasmState::Final(p);
        p
    }

    /// Feeds one client→server TCP segment.
    pub fn push(&mut self, seq: u32, payload: &[u8]) -> Progress {
        if let ReasmState::Final(p) = self.state {
            return p;
        }
        if payload.is_empty() {
            return self.progress();
        }
        let (mut seq, mut payload) = (seq, payload);
        match self.state {
            ReasmState::Searching => {
                let first_data = self.leading == 0;
                self.leading = self.leading.saturating_add(1);
                // A load balancer's PROXY protocol header may precede the
                // ClientHello in the same segment: skip it.
                if let Some(n) = proxy_header_len(payload) {
                    seq = seq.wrapping_add(n as u32);
                    payload = payload.get(n..).unwrap_or(&[]);
                }
                if looks_like_hello_start(payload) {
                    // A record header anchors the stream, even if bytes
                    // before it were lost from the capture.
                    self.base = seq;
                    self.buf = Some(Box::new(StreamBuf::new(MAX_HELLO_BYTES)));
                    self.state = ReasmState::Collecting;
                } else if let Some(ds) = self.data_start.filter(|_| first_data) {
                    if seq != ds && seq_in_window(seq, ds) {
                        // First data we see is not at the data start: keep it
                        // tentatively until the first byte shows up.
                        self.base = ds;
                        self.buf = Some(Box::new(StreamBuf::new(MAX_HELLO_BYTES)));
                        self.state = ReasmState::Tentative;
                    } else {
                        return self.searching_miss();
                    }
                } else {
                    return self.searching_miss();
                }
            }
            ReasmState::Collecting | ReasmState::Tentative | ReasmState::Final(_) => {}
        }
        self.collect(seq, payload)
    }

    fn searching_miss(&mut self) -> Progress {
        if self.leading >= MAX_LEADING_SEGMENTS {
            return self.finish(Progress::GaveUp(GiveUp::NotThisProtocol));
        }
        Progress::Idle
    }

    fn collect(&mut self, seq: u32, payload: &[u8]) -> Progress {
        let Some(buf) = self.buf.as_mut() else {
            return self.finish(Progress::GaveUp(GiveUp::Malformed));
        };
        // Offset relative to the anchor, with sequence-number wrap-around.
        let delta = seq.wrapping_sub(self.base) as i32;
        let (off, data) = if delta < 0 {
            let skip = delta.unsigned_abs() as usize;
            (0u64, payload.get(skip..).unwrap_or(&[]))
        } else {
            (u64::from(delta as u32), payload)
        };
        let grew = if data.is_empty() {
            false
        } else {
            match buf.insert(off, data) {
                Ok(g) => g,
                Err(InsertError::BeyondCap) | Err(InsertError::TooFragmented) => false,
            }
        };
        if !grew {
            self.stalled = self.stalled.saturating_add(1);
            if self.stalled > MAX_STALLED_SEGMENTS {
                return self.finish(Progress::GaveUp(GiveUp::TooManyPackets));
            }
            return Progress::NeedMore;
        }
        self.stalled = 0;
        if self.state == ReasmState::Tentative {
            // The first byte just arrived: is it really a ClientHello?
            if !looks_like_hello_start(buf.prefix()) {
                // Not TLS at the data start: fall back to searching later
                // segments (STARTTLS-like preambles).
                self.buf = None;
                self.walker = Walker::default();
                self.state = ReasmState::Searching;
                self.data_start = None;
                return self.searching_miss();
            }
            self.state = ReasmState::Collecting;
        }
        match walk_records(&mut self.walker, buf.prefix()) {
            Walk::NeedMore => Progress::NeedMore,
            Walk::Fail(GiveUp::NotThisProtocol) => {
                // A handshake-looking segment that is not a ClientHello:
                // go back to searching (bounded by MAX_LEADING_SEGMENTS).
                self.buf = None;
                self.walker = Walker::default();
                self.state = ReasmState::Searching;
                self.data_start = None;
                self.searching_miss()
            }
            Walk::Fail(g) => self.finish(Progress::GaveUp(g)),
            Walk::Complete(n) => {
                let got = compact_records(buf.prefix_mut(), n);
                let parsed = buf
                    .prefix()
                    .get(..got)
                    .ok_or(TlsError::Truncated)
                    .and_then(parse_client_hello);
                match parsed {
                    Ok(info) => {
                        self.info = Some(info);
                        self.finish(Progress::Done)
                    }
                    Err(_) => self.finish(Progress::GaveUp(GiveUp::Malformed)),
                }
            }
        }
    }
}

/// PROXY protocol signatures (HAProxy "PROXY protocol" spec, §2.1 text
/// header "PROXY ..." of at most 107 bytes ending in CRLF, §2.2 binary
/// header: 12-byte signature, version/command, family, uint16 length).
const PROXY_V1_PREFIX: &[u8] = b"PROXY ";
const PROXY_V1_MAX: usize = 107;
const PROXY_V2_SIG: &[u8] = b"\r\n\r\n\0\r\nQUIT\n";

/// Length of a PROXY protocol header at the start of `p`, if any.
fn proxy_header_len(p: &[u8]) -> Option<usize> {
    if p.starts_with(PROXY_V2_SIG) {
        let len = usize::from(u16::from_be_bytes([*p.get(14)?, *p.get(15)?]));
        return Some(16 + len);
    }
    if p.starts_with(PROXY_V1_PREFIX) {
        let head = p.get(..p.len().min(PROXY_V1_MAX))?;
        let end = head.windows(2).position(|w| w == b"\r\n")?;
        return Some(end + 2);
    }
    None
}

/// Is `seq` at or after `start` and within the reassembly window?
fn seq_in_window(seq: u32, start: u32) -> bool {
    (seq.wrapping_sub(start) as usize) < MAX_HELLO_BYTES
}

/// Reads the record layer of a whole single buffer (for callers that
/// already hold the full client payload, e.g. tests or a one-shot check):
/// feeds it as one segment.
pub fn client_hello_from_bytes(stream: &[u8]) -> Option<ClientHelloInfo> {
    let mut r = TlsClientHelloReassembler::new();
    match r.push(0, stream) {
        Progress::Done => r.take_info(),
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
pub(crate) mod tests {
    use super::*;

    /// Builds a ClientHello handshake message (with its 4-byte header).
    pub(crate) fn build_client_hello(
        sni: Option<&str>,
        alpn: &[&str],
        versions: &[u16],
        ech: bool,
        pad: usize,
    ) -> Vec<u8> {
        let mut ext = Vec::new();
        let mut push_ext = |t: u16, d: &[u8]| {
            ext.extend_from_slice(&t.to_be_bytes());
            ext.extend_from_slice(&(d.len() as u16).to_be_bytes());
            ext.extend_from_slice(d);
        };
        push_ext(0x0a0a, &[]); // GREASE extension
        if let Some(s) = sni {
            let mut d = Vec::new();
            d.extend_from_slice(&((s.len() + 3) as u16).to_be_bytes());
            d.push(0);
            d.extend_from_slice(&(s.len() as u16).to_be_bytes());
            d.extend_from_slice(s.as_bytes());
            push_ext(0, &d);
        }
        if !alpn.is_empty() {
            let mut l = Vec::new();
            for p in alpn {
                l.push(p.len() as u8);
                l.extend_from_slice(p.as_bytes());
            }
            let mut d = (l.len() as u16).to_be_bytes().to_vec();
            d.extend_from_slice(&l);
            push_ext(16, &d);
        }
        if !versions.is_empty() {
            let mut d = vec![(versions.len() * 2) as u8];
            for v in versions {
                d.extend_from_slice(&v.to_be_bytes());
            }
            push_ext(43, &d);
        }
        if ech {
            push_ext(0xfe0d, &[0, 1, 2, 3, 4, 5]);
        }
        if pad > 0 {
            push_ext(21, &vec![0u8; pad]);
        }
        let mut body = Vec::new();
        body.extend_from_slice(&[3, 3]);
        body.extend_from_slice(&[0x11; 32]);
        body.push(32);
        body.extend_from_slice(&[0x22; 32]);
        body.extend_from_slice(&[0, 4, 0x13, 0x01, 0x13, 0x02]);
        body.extend_from_slice(&[1, 0]);
        body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
        body.extend_from_slice(&ext);
        let mut msg = vec![1];
        msg.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        msg.extend_from_slice(&body);
        msg
    }

    /// Wraps a handshake message into TLS records of at most `rec` bytes.
    pub(crate) fn into_records(msg: &[u8], rec: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for chunk in msg.chunks(rec.max(1)) {
            out.extend_from_slice(&[22, 3, 1]);
            out.extend_from_slice(&(chunk.len() as u16).to_be_bytes());
            out.extend_from_slice(chunk);
        }
        out
    }

    #[test]
    fn parses_fields() {
        let msg = build_client_hello(
            Some("web.whatsapp.com"),
            &["h2", "http/1.1"],
            &[0x3a3a, 0x0304, 0x0303],
            false,
            0,
        );
        let info = parse_client_hello(&msg).unwrap();
        assert_eq!(info.sni.as_deref(), Some("web.whatsapp.com"));
        assert_eq!(info.alpn, vec!["h2".to_string(), "http/1.1".to_string()]);
        assert_eq!(info.tls_version, Some(TlsVersion::Tls13));
        assert_eq!(info.tls_version.unwrap().to_string(), "1.3");
        assert!(!info.ech);
    }

    #[test]
    fn legacy_version_and_ech() {
        let msg = build_client_hello(Some("cover.example"), &[], &[], true, 0);
        let info = parse_client_hello(&msg).unwrap();
        assert_eq!(info.tls_version, Some(TlsVersion::Tls12));
        assert!(info.ech);
        assert_eq!(info.sni.as_deref(), Some("cover.example"));
    }

    #[test]
    fn draft_versions_rank_below_final() {
        let msg = build_client_hello(None, &[], &[0x7f17, 0x0304, 0x0303], false, 0);
        let info = parse_client_hello(&msg).unwrap();
        assert_eq!(info.tls_version, Some(TlsVersion::Tls13));
        let msg = build_client_hello(None, &[], &[0x7f17, 0x0303], false, 0);
        let info = parse_client_hello(&msg).unwrap();
        assert_eq!(info.tls_version, Some(TlsVersion::Tls13Draft(23)));
        assert_eq!(info.sni, None);
    }

    #[test]
    fn alpn_is_bounded() {
        let names: Vec<String> = (0..20).map(|i| format!("p{i}")).collect();
        let refs: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
        let msg = build_client_hello(Some("a.b"), &refs, &[], false, 0);
        let info = parse_client_hello(&msg).unwrap();
        assert_eq!(info.alpn.len(), MAX_ALPN);
        assert_eq!(info.alpn[0], "p0");
    }

    #[test]
    fn one_byte_segments_with_duplicates() {
        let msg = build_client_hello(Some("example.com"), &["h2"], &[0x0304], false, 1500);
        let stream = into_records(&msg, 700); // three records
        let mut r = TlsClientHelloReassembler::new();
        let mut last = Progress::Idle;
        for (i, b) in stream.iter().enumerate() {
            let seq = 1000u32.wrapping_add(i as u32);
            last = r.push(seq, std::slice::from_ref(b));
            // retransmit every 7th byte together with its predecessor
            if i % 7 == 0 && i > 0 && !last.is_final() {
                last = r.push(seq - 1, &stream[i - 1..=i]);
            }
            if i + 1 < stream.len() {
                assert_eq!(last, Progress::NeedMore, "at byte {i}");
            }
        }
        assert_eq!(last, Progress::Done);
        assert_eq!(r.info().unwrap().sni.as_deref(), Some("example.com"));
        assert_eq!(r.push(5, b"more"), Progress::Done);
    }

    #[test]
    fn overlapping_and_reordered_segments_across_seq_wrap() {
        let msg = build_client_hello(Some("pq.example.org"), &["h2"], &[0x0304], false, 1700);
        let stream = into_records(&msg, 16384);
        assert!(stream.len() > 1800);
        let base = u32::MAX - 500; // wraps inside the hello
        let mut r = TlsClientHelloReassembler::new();
        // first segment in order, then segment 3 before 2, with overlaps
        assert_eq!(r.push(base, &stream[..600]), Progress::NeedMore);
        assert_eq!(
            r.push(base.wrapping_add(1100), &stream[1100..]),
            Progress::NeedMore
        );
        assert_eq!(
            r.push(base.wrapping_add(500), &stream[500..1200]),
            Progress::Done
        );
        assert_eq!(r.info().unwrap().sni.as_deref(), Some("pq.example.org"));
    }

    #[test]
    fn several_handshake_messages_in_one_record() {
        let mut msg = build_client_hello(Some("multi.example"), &[], &[], false, 0);
        // a second (bogus) handshake message in the same record
        msg.extend_from_slice(&[16, 0, 0, 2, 0xaa, 0xbb]);
        let stream = into_records(&msg, 16384);
        assert_eq!(
            client_hello_from_bytes(&stream).unwrap().sni.as_deref(),
            Some("multi.example")
        );
    }

    #[test]
    fn out_of_order_start_with_isn() {
        let msg = build_client_hello(Some("late.example"), &[], &[], false, 300);
        let stream = into_records(&msg, 16384);
        let mut r = TlsClientHelloReassembler::new();
        r.set_client_isn(41);
        assert_eq!(r.push(42 + 100, &stream[100..]), Progress::NeedMore);
        assert_eq!(r.push(42, &stream[..100]), Progress::Done);
        assert_eq!(r.info().unwrap().sni.as_deref(), Some("late.example"));
    }

    #[test]
    fn preamble_then_tls() {
        let msg = build_client_hello(Some("socks.example"), &[], &[], false, 0);
        let stream = into_records(&msg, 16384);
        let mut r = TlsClientHelloReassembler::new();
        r.set_client_isn(0);
        assert_eq!(r.push(1, &[5, 1, 0]), Progress::Idle);
        assert_eq!(r.push(4, &[5, 1, 0, 3, 4, b'a']), Progress::Idle);
        assert_eq!(r.push(10, &stream), Progress::Done);
        assert_eq!(r.info().unwrap().sni.as_deref(), Some("socks.example"));
    }

    #[test]
    fn proxy_protocol_prefix() {
        let msg = build_client_hello(Some("behind.proxy"), &[], &[], false, 0);
        let stream = into_records(&msg, 16384);
        let mut seg = b"PROXY TCP4 1.1.1.1 2.2.2.2 48502 443\r\n".to_vec();
        seg.extend_from_slice(&stream[..50]);
        let mut r = TlsClientHelloReassembler::new();
        assert_eq!(r.push(100, &seg), Progress::NeedMore);
        let next = 100 + seg.len() as u32;
        assert_eq!(r.push(next, &stream[50..]), Progress::Done);
        assert_eq!(r.info().unwrap().sni.as_deref(), Some("behind.proxy"));
        // v2 binary header
        let mut seg = PROXY_V2_SIG.to_vec();
        seg.extend_from_slice(&[0x21, 0x11, 0, 12]);
        seg.extend_from_slice(&[0u8; 12]);
        seg.extend_from_slice(&stream);
        assert_eq!(
            client_hello_from_bytes(&seg).unwrap().sni.as_deref(),
            Some("behind.proxy")
        );
    }

    #[test]
    fn gives_up() {
        let mut r = TlsClientHelloReassembler::new();
        for i in 0..MAX_LEADING_SEGMENTS {
            let p = r.push(u32::from(i) * 10, b"GET / HTTP/1.1\r\n");
            if i + 1 < MAX_LEADING_SEGMENTS {
                assert_eq!(p, Progress::Idle);
            } else {
                assert_eq!(p, Progress::GaveUp(GiveUp::NotThisProtocol));
            }
        }
        // too large
        let mut r = TlsClientHelloReassembler::new();
        assert_eq!(
            r.push(0, &[22, 3, 1, 0x40, 0, 1, 0, 0x80, 0]),
            Progress::GaveUp(GiveUp::TooLarge)
        );
        // stalled: only retransmissions of the first segment
        let msg = build_client_hello(Some("x.example"), &[], &[], false, 0);
        let stream = into_records(&msg, 16384);
        let mut r = TlsClientHelloReassembler::new();
        assert_eq!(r.push(7, &stream[..10]), Progress::NeedMore);
        let mut last = Progress::NeedMore;
        for _ in 0..=MAX_STALLED_SEGMENTS {
            last = r.push(7, &stream[..10]);
        }
        assert_eq!(last, Progress::GaveUp(GiveUp::TooManyPackets));
    }

    #[test]
    fn server_hello_is_not_a_client_hello() {
        let mut r = TlsClientHelloReassembler::new();
        let p = r.push(0, &[22, 3, 3, 0, 6, 2, 0, 0, 2, 3, 3]);
        assert_eq!(p, Progress::Idle);
    }
}
