//! STUN and TURN messages (RFC 5389 / RFC 8489, RFC 8656, classic RFC 3489)
//! and TURN ChannelData.
//!
//! Why it exists: calls of end-to-end-encrypted messengers start with ICE
//! connectivity checks and TURN allocations. Those are in clear: the message
//! type, the server's SOFTWARE and REALM, the public address the server saw
//! (XOR-MAPPED-ADDRESS), and vendor attributes that identify the app
//! (WhatsApp's 0x4000–0x4007 range, Microsoft's 0x8054–0x8070, Google's
//! 0xFF03/0xFF04).
//!
//! What it must never do: keep USERNAME (only its length is reported: it
//! carries ICE ufrag pairs or long-term credentials), keep any attribute
//! value other than REALM, SOFTWARE and the decoded addresses, or allocate
//! for a packet that is not STUN (the header checks run first; strings are
//! allocated only for a message that passed them).
//!
//! False positives: a message must have its two top bits zero, a length that
//! is a multiple of 4 and equals the bytes present (RFC 8489 §5), and
//! attributes that tile the body exactly. Without the magic cookie (RFC 3489)
//! the message type must also be one of the six classic Binding/Shared
//! Secret types and every attribute a classic one.
//!
//! Bounds: [`MAX_ATTRS`] attribute types kept, [`MAX_TEXT_LEN`] bytes per
//! string, [`MAX_WALK_ATTRS`] attributes walked.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Magic cookie (RFC 8489 §5).
pub const MAGIC_COOKIE: u32 = 0x2112_A442;
/// STUN header length (RFC 8489 §5).
pub const HEADER_LEN: usize = 20;
/// Attribute types kept in [`StunInfo::attrs`]; real messages carry 3–15.
pub const MAX_ATTRS: usize = 24;
/// Attributes walked before the message is declared implausible (a 1500-byte
/// datagram holds at most 370 empty attributes; 128 is ample for real ones).
pub const MAX_WALK_ATTRS: usize = 128;
/// REALM and SOFTWARE are at most 127 characters, up to 763 bytes
/// (RFC 8489 §14.9, §14.14); longer values are cut at a character boundary.
pub const MAX_TEXT_LEN: usize = 763;

/// Attribute types (RFC 8489 §18.3, RFC 8656 §18, RFC 3489 §11.2).
pub mod attr {
    /// MAPPED-ADDRESS.
    pub const MAPPED_ADDRESS: u16 = 0x0001;
    /// RESPONSE-ADDRESS (RFC 3489).
    pub const RESPONSE_ADDRESS: u16 = 0x0002;
    /// CHANGE-REQUEST (RFC 3489 / RFC 5780).
    pub const CHANGE_REQUEST: u16 = 0x0003;
    /// SOURCE-ADDRESS (RFC 3489).
    pub const SOURCE_ADDRESS: u16 = 0x0004;
    /// CHANGED-ADDRESS (RFC 3489).
    pub const CHANGED_ADDRESS: u16 = 0x0005;
    /// USERNAME.
    pub const USERNAME: u16 = 0x0006;
    /// PASSWORD (RFC 3489).
    pub const PASSWORD: u16 = 0x0007;
    /// MESSAGE-INTEGRITY.
    pub const MESSAGE_INTEGRITY: u16 = 0x0008;
    /// ERROR-CODE.
    pub const ERROR_CODE: u16 = 0x0009;
    /// UNKNOWN-ATTRIBUTES.
    pub const UNKNOWN_ATTRIBUTES: u16 = 0x000A;
    /// REFLECTED-FROM (RFC 3489).
    pub const REFLECTED_FROM: u16 = 0x000B;
    /// CHANNEL-NUMBER (TURN).
    pub const CHANNEL_NUMBER: u16 = 0x000C;
    /// LIFETIME (TURN).
    pub const LIFETIME: u16 = 0x000D;
    /// XOR-PEER-ADDRESS (TURN).
    pub const XOR_PEER_ADDRESS: u16 = 0x0012;
    /// DATA (TURN).
    pub const DATA: u16 = 0x0013;
    /// REALM.
    pub const REALM: u16 = 0x0014;
    /// NONCE.
    pub const NONCE: u16 = 0x0015;
    /// XOR-RELAYED-ADDRESS (TURN).
    pub const XOR_RELAYED_ADDRESS: u16 = 0x0016;
    /// REQUESTED-ADDRESS-FAMILY (TURN).
    pub const REQUESTED_ADDRESS_FAMILY: u16 = 0x0017;
    /// EVEN-PORT (TURN).
    pub const EVEN_PORT: u16 = 0x0018;
    /// REQUESTED-TRANSPORT (TURN).
    pub const REQUESTED_TRANSPORT: u16 = 0x0019;
    /// DONT-FRAGMENT (TURN).
    pub const DONT_FRAGMENT: u16 = 0x001A;
    /// MESSAGE-INTEGRITY-SHA256.
    pub const MESSAGE_INTEGRITY_SHA256: u16 = 0x001C;
    /// PASSWORD-ALGORITHM.
    pub const PASSWORD_ALGORITHM: u16 = 0x001D;
    /// USERHASH.
    pub const USERHASH: u16 = 0x001E;
    /// XOR-MAPPED-ADDRESS.
    pub const XOR_MAPPED_ADDRESS: u16 = 0x0020;
    /// RESERVATION-TOKEN (TURN).
    pub const RESERVATION_TOKEN: u16 = 0x0022;
    /// PRIORITY (ICE, RFC 8445).
    pub const PRIORITY: u16 = 0x0024;
    /// USE-CANDIDATE (ICE).
    pub const USE_CANDIDATE: u16 = 0x0025;
    /// PADDING (RFC 5780).
    pub const PADDING: u16 = 0x0026;
    /// RESPONSE-PORT (RFC 5780).
    pub const RESPONSE_PORT: u16 = 0x0027;
    /// CONNECTION-ID (RFC 6062).
    pub const CONNECTION_ID: u16 = 0x002A;
    /// ADDITIONAL-ADDRESS-FAMILY (TURN).
    pub const ADDITIONAL_ADDRESS_FAMILY: u16 = 0x8000;
    /// ADDRESS-ERROR-CODE (TURN).
    pub const ADDRESS_ERROR_CODE: u16 = 0x8001;
    /// PASSWORD-ALGORITHMS.
    pub const PASSWORD_ALGORITHMS: u16 = 0x8002;
    /// ALTERNATE-DOMAIN.
    pub const ALTERNATE_DOMAIN: u16 = 0x8003;
    /// ICMP (TURN).
    pub const ICMP: u16 = 0x8004;
    /// Pre-RFC 5389 XOR-MAPPED-ADDRESS codepoint still sent by some stacks.
    pub const XOR_MAPPED_ADDRESS_OLD: u16 = 0x8020;
    /// SOFTWARE.
    pub const SOFTWARE: u16 = 0x8022;
    /// ALTERNATE-SERVER.
    pub const ALTERNATE_SERVER: u16 = 0x8023;
    /// TRANSACTION_TRANSMIT_COUNTER (RFC 7982).
    pub const TRANSACTION_TRANSMIT_COUNTER: u16 = 0x8025;
    /// CACHE-TIMEOUT (RFC 5780).
    pub const CACHE_TIMEOUT: u16 = 0x8027;
    /// FINGERPRINT.
    pub const FINGERPRINT: u16 = 0x8028;
    /// ICE-CONTROLLED.
    pub const ICE_CONTROLLED: u16 = 0x8029;
    /// ICE-CONTROLLING.
    pub const ICE_CONTROLLING: u16 = 0x802A;
    /// RESPONSE-ORIGIN (RFC 5780).
    pub const RESPONSE_ORIGIN: u16 = 0x802B;
    /// OTHER-ADDRESS (RFC 5780).
    pub const OTHER_ADDRESS: u16 = 0x802C;
}

/// True for attribute types registered by the IETF documents above; vendor
/// and unknown types (WhatsApp 0x4000–0x4007, Microsoft 0x8054–0x8070,
/// Google 0xC057/0xFF03/0xFF04, ...) return false.
pub fn is_standard_attr(t: u16) -> bool {
    matches!(t, 0x0001..=0x001E | 0x0020 | 0x0022 | 0x0024..=0x0027 | 0x002A
        | 0x8000..=0x8004 | 0x8020 | 0x8022 | 0x8023 | 0x8025 | 0x8027..=0x802C)
}

/// Message class (RFC 8489 §5: bits C1 C0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StunClass {
    /// 0b00.
    Request,
    /// 0b01.
    Indication,
    /// 0b10.
    SuccessResponse,
    /// 0b11.
    ErrorResponse,
}

/// Message method (RFC 8489 §18.2, RFC 8656 §17, RFC 6062 §6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StunMethod {
    /// 0x001.
    Binding,
    /// 0x002 (RFC 3489 Shared Secret).
    SharedSecret,
    /// 0x003.
    Allocate,
    /// 0x004.
    Refresh,
    /// 0x006.
    Send,
    /// 0x007.
    Data,
    /// 0x008.
    CreatePermission,
    /// 0x009.
    ChannelBind,
    /// 0x00A.
    Connect,
    /// 0x00B.
    ConnectionBind,
    /// 0x00C.
    ConnectionAttempt,
    /// Anything else (vendor methods, e.g. WhatsApp's 0x800 range).
    Other(u16),
}

impl StunMethod {
    fn from_code(m: u16) -> Self {
        match m {
            0x001 => StunMethod::Binding,
            0x002 => StunMethod::SharedSecret,
            0x003 => StunMethod::Allocate,
            0x004 => StunMethod::Refresh,
            0x006 => StunMethod::Send,
            0x007 => StunMethod::Data,
            0x008 => StunMethod::CreatePermission,
            0x009 => StunMethod::ChannelBind,
            0x00A => StunMethod::Connect,
            0x00B => StunMethod::ConnectionBind,
            0x00C => StunMethod::ConnectionAttempt,
            other => StunMethod::Other(other),
        }
    }
}

impl fmt::Display for StunMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StunMethod::Other(m) => write!(f, "Method 0x{m:03x}"),
            m => write!(f, "{m:?}"),
        }
    }
}

impl fmt::Display for StunClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StunClass::Request => "Request",
            StunClass::Indication => "Indication",
            StunClass::SuccessResponse => "Success Response",
            StunClass::ErrorResponse => "Error Response",
        })
    }
}

/// Splits a 14-bit message type into class and method (RFC 8489 §5:
/// M11..M7 C1 M6..M4 C0 M3..M0).
pub fn split_type(t: u16) -> (StunClass, StunMethod) {
    let c = ((t >> 7) & 0x2) | ((t >> 4) & 0x1);
    let m = (t & 0x000f) | ((t >> 1) & 0x0070) | ((t >> 2) & 0x0f80);
    let class = match c {
        0 => StunClass::Request,
        1 => StunClass::Indication,
        2 => StunClass::SuccessResponse,
        _ => StunClass::ErrorResponse,
    };
    (class, StunMethod::from_code(m))
}

/// A fixed-capacity list of attribute types (no allocation).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AttrList {
    items: [u16; MAX_ATTRS],
    len: u8,
    /// More attributes were present than fit.
    pub truncated: bool,
}

impl Default for AttrList {
    fn default() -> Self {
        AttrList {
            items: [0; MAX_ATTRS],
            len: 0,
            truncated: false,
        }
    }
}

impl AttrList {
    /// Appends, or sets `truncated` when full.
    pub fn push(&mut self, t: u16) {
        match self.items.get_mut(usize::from(self.len)) {
            Some(slot) => {
                *slot = t;
                self.len += 1;
            }
            None => self.truncated = true,
        }
    }

    /// The types in message order.
    pub fn as_slice(&self) -> &[u16] {
        self.items.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// Number of types kept.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// No attribute.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Does the list hold `t`?
    pub fn contains(&self, t: u16) -> bool {
        self.as_slice().contains(&t)
    }
}

impl fmt::Debug for AttrList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.as_slice().iter().map(|t| format!("0x{t:04x}")))
            .finish()
    }
}

/// What an observer learns from one STUN message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StunInfo {
    /// The 14-bit message type.
    pub msg_type: u16,
    /// Its class.
    pub class: StunClass,
    /// Its method.
    pub method: StunMethod,
    /// No magic cookie: classic RFC 3489 STUN.
    pub classic: bool,
    /// Transaction ID (RFC 8489 §5; for classic STUN, the last 12 of its
    /// 16 bytes): pairs requests with responses.
    pub transaction_id: [u8; 12],
    /// Every attribute type, in order (vendor ones included; see
    /// [`StunInfo::vendor_attrs`]).
    pub attrs: AttrList,
    /// Length of USERNAME, if present (the value itself is never kept).
    pub username_len: Option<u16>,
    /// REALM (TURN long-term credentials: names the TURN service).
    pub realm: Option<String>,
    /// SOFTWARE (names the client or server implementation).
    pub software: Option<String>,
    /// XOR-MAPPED-ADDRESS, else MAPPED-ADDRESS: the public address the
    /// server saw.
    pub mapped: Option<SocketAddr>,
    /// XOR-RELAYED-ADDRESS (TURN Allocate success): the relay address.
    pub relayed: Option<SocketAddr>,
    /// XOR-PEER-ADDRESS (TURN CreatePermission, ChannelBind, Send and Data, RFC 8656
    /// §14.3): the address of the other party as the TURN client knows it, which is one of
    /// the peer's ICE candidates (its own device, or its own relay).
    pub peer: Option<SocketAddr>,
    /// ERROR-CODE as class*100+number (e.g. 401, 438).
    pub error_code: Option<u16>,
}

impl StunInfo {
    /// Attribute types outside the IETF registry (vendor fingerprints).
    pub fn vendor_attrs(&self) -> impl Iterator<Item = u16> + '_ {
        self.attrs
            .as_slice()
            .iter()
            .copied()
            .filter(|t| !is_standard_attr(*t))
    }
}

/// Cheap check (no allocation): could this be a STUN message? Two top bits
/// zero, length multiple of 4 matching the payload exactly, and the magic
/// cookie (or, without it, a classic message type).
pub fn looks_like_stun(p: &[u8]) -> bool {
    let Some(h) = p.get(..HEADER_LEN) else {
        return false;
    };
    if h[0] & 0xc0 != 0 {
        return false;
    }
    let len = usize::from(u16::from_be_bytes([h[2], h[3]]));
    if len % 4 != 0 || HEADER_LEN + len != p.len() {
        return false;
    }
    let cookie = u32::from_be_bytes([h[4], h[5], h[6], h[7]]);
    cookie == MAGIC_COOKIE || is_classic_type(u16::from_be_bytes([h[0], h[1]]))
}

/// RFC 3489 §11.1 message types.
fn is_classic_type(t: u16) -> bool {
    matches!(t, 0x0001 | 0x0101 | 0x0111 | 0x0002 | 0x0102 | 0x0112)
}

/// Parses one STUN message that must fill `p` exactly (a UDP payload, or a
/// message cut out of a TCP stream with [`next_tcp_item`]).
pub fn parse_stun(p: &[u8]) -> Option<StunInfo> {
    if !looks_like_stun(p) {
        return None;
    }
    let msg_type = u16::from_be_bytes([p[0], p[1]]);
    let cookie = u32::from_be_bytes([p[4], p[5], p[6], p[7]]);
    let classic = cookie != MAGIC_COOKIE;
    // Cookie and transaction ID: the XOR key of XOR-*-ADDRESS (RFC 8489
    // §14.2).
    let xor_key = p.get(4..20)?;
    let mut txid = [0u8; 12];
    txid.copy_from_slice(p.get(8..20)?);

    // First pass: validate the attribute tiling without allocating.
    let mut body = p.get(HEADER_LEN..)?;
    let mut n = 0usize;
    while !body.is_empty() {
        let (t, v, rest) = next_attr(body)?;
        if classic && !matches!(t, 0x0001..=0x000B) {
            return None;
        }
        let _ = v;
        body = rest;
        n += 1;
        if n > MAX_WALK_ATTRS {
            return None;
        }
    }

    let (class, method) = split_type(msg_type);
    let mut info = StunInfo {
        msg_type,
        class,
        method,
        classic,
        transaction_id: txid,
        attrs: AttrList::default(),
        username_len: None,
        realm: None,
        software: None,
        mapped: None,
        relayed: None,
        peer: None,
        error_code: None,
    };
    let mut body = p.get(HEADER_LEN..)?;
    let mut xor_mapped = None;
    while let Some((t, v, rest)) = next_attr(body) {
        body = rest;
        // Type 0x0000 is reserved; zero-length ones are used as padding by
        // some clients and would flood the list.
        if !(t == 0 && v.is_empty()) {
            info.attrs.push(t);
        }
        match t {
            attr::USERNAME => info.username_len = u16::try_from(v.len()).ok(),
            attr::REALM => info.realm = text(v),
            attr::SOFTWARE => info.software = text(v),
            attr::MAPPED_ADDRESS => info.mapped = info.mapped.or_else(|| address(v, None)),
            attr::XOR_MAPPED_ADDRESS | attr::XOR_MAPPED_ADDRESS_OLD if !classic => {
                xor_mapped = xor_mapped.or_else(|| address(v, Some(xor_key)));
            }
            attr::XOR_RELAYED_ADDRESS if !classic => {
                info.relayed = info.relayed.or_else(|| address(v, Some(xor_key)));
            }
            attr::XOR_PEER_ADDRESS if !classic => {
                info.peer = info.peer.or_else(|| address(v, Some(xor_key)));
            }
            attr::ERROR_CODE => {
                if let [_, _, class, number, ..] = *v {
                    info.error_code = Some(u16::from(class & 0x07) * 100 + u16::from(number));
                }
            }
            _ => {}
        }
    }
    if xor_mapped.is_some() {
        info.mapped = xor_mapped;
    }
    Some(info)
}

/// What the path of a call needs from one STUN message, read without allocating (the
/// per-packet path of the activity model calls this): its class and method, the TURN
/// addresses it carries, and whether it is an ICE connectivity check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TurnScan {
    pub class: StunClass,
    pub method: StunMethod,
    /// XOR-RELAYED-ADDRESS.
    pub relayed: Option<SocketAddr>,
    /// XOR-PEER-ADDRESS.
    pub peer: Option<SocketAddr>,
    /// A Binding request: the sender is a STUN client (an ICE agent checking a path, or a
    /// client asking its address); STUN and TURN servers only answer (RFC 8489 §6.3).
    pub binding_request: bool,
    /// REALM present: TURN long-term credentials (RFC 8489 §9.2), spoken only between a
    /// client and its TURN server; ICE checks between peers use short-term ones.
    pub realm: bool,
    /// PRIORITY, USE-CANDIDATE, ICE-CONTROLLED or ICE-CONTROLLING present: only ICE
    /// connectivity checks carry them (RFC 8445 §7.1.1), a Binding to a STUN server does not.
    pub ice: bool,
}

/// [`parse_stun`]'s checks, then only the facts of [`TurnScan`]; `None` for what is not a
/// modern (cookie) STUN message.
pub fn scan_turn(p: &[u8]) -> Option<TurnScan> {
    if !looks_like_stun(p) {
        return None;
    }
    let cookie = u32::from_be_bytes([p[4], p[5], p[6], p[7]]);
    if cookie != MAGIC_COOKIE {
        return None;
    }
    let (class, method) = split_type(u16::from_be_bytes([p[0], p[1]]));
    let xor_key = p.get(4..20)?;
    let mut scan = TurnScan {
        class,
        method,
        relayed: None,
        peer: None,
        binding_request: class == StunClass::Request && method == StunMethod::Binding,
        realm: false,
        ice: false,
    };
    let mut body = p.get(HEADER_LEN..)?;
    let mut n = 0usize;
    while !body.is_empty() {
        let (t, v, rest) = next_attr(body)?;
        body = rest;
        n += 1;
        if n > MAX_WALK_ATTRS {
            return None;
        }
        match t {
            attr::XOR_RELAYED_ADDRESS => {
                scan.relayed = scan.relayed.or_else(|| address(v, Some(xor_key)));
            }
            attr::XOR_PEER_ADDRESS => scan.peer = scan.peer.or_else(|| address(v, Some(xor_key))),
            attr::REALM => scan.realm = true,
            attr::PRIORITY | attr::USE_CANDIDATE | attr::ICE_CONTROLLED | attr::ICE_CONTROLLING => {
                scan.ice = true;
            }
            _ => {}
        }
    }
    Some(scan)
}

/// One attribute: (type, value, rest after padding). RFC 8489 §14: values
/// are padded to 4 bytes.
fn next_attr(b: &[u8]) -> Option<(u16, &[u8], &[u8])> {
    let t = u16::from_be_bytes([*b.first()?, *b.get(1)?]);
    let len = usize::from(u16::from_be_bytes([*b.get(2)?, *b.get(3)?]));
    let v = b.get(4..4 + len)?;
    let padded = (len + 3) & !3;
    let rest = b.get(4 + padded..)?;
    Some((t, v, rest))
}

fn text(v: &[u8]) -> Option<String> {
    let s = String::from_utf8_lossy(v);
    let mut end = s.len().min(MAX_TEXT_LEN);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    let t = s.get(..end)?.trim_end_matches('\0');
    (!t.is_empty()).then(|| t.to_string())
}

/// (XOR-)MAPPED-ADDRESS value (RFC 8489 §14.1, §14.2): reserved, family
/// (1 = IPv4, 2 = IPv6), port, address. `xor` is the cookie and transaction
/// ID (16 bytes) for the XOR variants.
fn address(v: &[u8], xor: Option<&[u8]>) -> Option<SocketAddr> {
    let family = *v.get(1)?;
    let mut port = u16::from_be_bytes([*v.get(2)?, *v.get(3)?]);
    let key: [u8; 16] = match xor {
        Some(k) => k.get(..16)?.try_into().ok()?,
        None => [0; 16],
    };
    port ^= u16::from_be_bytes([key[0], key[1]]);
    let ip = match family {
        1 => {
            let mut a: [u8; 4] = v.get(4..8)?.try_into().ok()?;
            for (x, k) in a.iter_mut().zip(key) {
                *x ^= k;
            }
            IpAddr::V4(Ipv4Addr::from(a))
        }
        2 => {
            let mut a: [u8; 16] = v.get(4..20)?.try_into().ok()?;
            for (x, k) in a.iter_mut().zip(key) {
                *x ^= k;
            }
            IpAddr::V6(Ipv6Addr::from(a))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// TURN ChannelData message header (RFC 8656 §12.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelData {
    /// Channel number (0x4000–0x7FFF: RFC 8656 allots 0x4000–0x4FFF,
    /// RFC 5766 allowed up to 0x7FFF).
    pub channel: u16,
    /// Application data length.
    pub len: u16,
}

/// Recognises a ChannelData message filling `p` (UDP: exactly 4 + length,
/// or padded to a multiple of 4).
pub fn parse_channel_data(p: &[u8]) -> Option<ChannelData> {
    let channel = u16::from_be_bytes([*p.first()?, *p.get(1)?]);
    let len = u16::from_be_bytes([*p.get(2)?, *p.get(3)?]);
    let l = usize::from(len);
    let fits = p.len() == 4 + l || p.len() == 4 + ((l + 3) & !3);
    ((0x4000..=0x7fff).contains(&channel) && fits).then_some(ChannelData { channel, len })
}

/// How STUN/TURN is framed on a TCP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpFraming {
    /// RFC 8489 §6.2.2 / RFC 8656 §12.5: messages back to back,
    /// self-delimiting (ChannelData padded to 4 bytes).
    Plain,
    /// RFC 4571 (used by ICE-TCP, RFC 6544): each message prefixed by a
    /// 2-byte length.
    Rfc4571,
}

/// One item cut out of a TCP byte stream.
// An item lives only while its message is read (it is never stored or collected), so the size
// of the STUN variant costs a stack slot, not memory per flow; boxing it would allocate per
// message instead.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TcpItem {
    /// A STUN message.
    Stun(StunInfo),
    /// A TURN ChannelData message.
    ChannelData(ChannelData),
    /// A complete frame that is neither (RFC 4571 framing only).
    Other,
}

/// Reads the first complete item of `buf`; returns it and the bytes it
/// took, or `None` when more bytes are needed or the stream is not
/// STUN/TURN.
pub fn next_tcp_item(buf: &[u8], framing: TcpFraming) -> Option<(TcpItem, usize)> {
    match framing {
        TcpFraming::Rfc4571 => {
            let len = usize::from(u16::from_be_bytes([*buf.first()?, *buf.get(1)?]));
            let frame = buf.get(2..2 + len)?;
            let item = if let Some(s) = parse_stun(frame) {
                TcpItem::Stun(s)
            } else if let Some(c) = parse_channel_data(frame) {
                TcpItem::ChannelData(c)
            } else {
                TcpItem::Other
            };
            Some((item, 2 + len))
        }
        TcpFraming::Plain => {
            let first = *buf.first()?;
            let len = usize::from(u16::from_be_bytes([*buf.get(2)?, *buf.get(3)?]));
            if first & 0xc0 == 0 {
                let total = HEADER_LEN + len;
                let msg = buf.get(..total)?;
                parse_stun(msg).map(|s| (TcpItem::Stun(s), total))
            } else if (0x40..=0x7f).contains(&first) {
                let total = 4 + ((len + 3) & !3);
                let msg = buf.get(..total)?;
                parse_channel_data(msg).map(|c| (TcpItem::ChannelData(c), total))
            } else {
                None
            }
        }
    }
}

/// STUN messages a TCP segment carries whole, from its first byte: TURN over TCP sends
/// messages back to back with no framing (RFC 8656 §3.1, ChannelData padded to four bytes,
/// §12.5), ICE over TCP frames each with a 16-bit length (RFC 6544 §3, RFC 4571). Only
/// messages with the magic cookie are taken (RFC 8489 §5: a message with it is told apart
/// from other data), at most [`TCP_SEGMENT_MAX_MESSAGES`] per segment, and a message cut by
/// the segment's end is left alone: the bounded, allocation-free path of the activity model,
/// which counts signalling and needs no stream reassembly.
pub fn tcp_segment_messages(segment: &[u8]) -> TcpSegmentMessages<'_> {
    TcpSegmentMessages {
        rest: segment,
        left: TCP_SEGMENT_MAX_MESSAGES,
    }
}

/// A TCP segment of TURN traffic holds a few messages (a Send indication with its media, a
/// Refresh); more are never needed to count a call's signalling.
const TCP_SEGMENT_MAX_MESSAGES: u8 = 8;

/// The iterator of [`tcp_segment_messages`].
pub struct TcpSegmentMessages<'a> {
    rest: &'a [u8],
    left: u8,
}

impl<'a> Iterator for TcpSegmentMessages<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let with_cookie = |m: &[u8]| {
            m.get(4..8)
                .is_some_and(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) == MAGIC_COOKIE)
                && looks_like_stun(m)
        };
        while self.left > 0 {
            self.left -= 1;
            let b = self.rest;
            let first = *b.first()?;
            let len = usize::from(u16::from_be_bytes([*b.get(2)?, *b.get(3)?]));
            // Plain: a STUN message, or ChannelData skipped over.
            if first & 0xc0 == 0
                && let Some(m) = b.get(..HEADER_LEN + len)
                && with_cookie(m)
            {
                self.rest = &b[m.len()..];
                return Some(m);
            }
            if (0x40..=0x4f).contains(&first) {
                let total = 4 + ((len + 3) & !3);
                self.rest = b.get(total..)?;
                continue;
            }
            // RFC 4571: a 16-bit length, then the message.
            let framed = usize::from(u16::from_be_bytes([first, *b.get(1)?]));
            let m = b.get(2..2 + framed)?;
            if !with_cookie(m) {
                return None;
            }
            self.rest = &b[2 + framed..];
            return Some(m);
        }
        None
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

    /// RFC 5769 §2.2: sample IPv4 response.
    const RFC5769_IPV4_RESPONSE: &str = "
        0101003c 2112a442 b7e7a701 bc34d686 fa87dfae 802200 0b 7465 7374 2076
        6563 746f 7220 0020 0008 0001 a147 e112 a643 0008 0014 2b91 f599 fd9e
        90c3 8c74 89f9 2af9 ba53 f06b e7d7 8028 0004 c07d 4c96";

    /// RFC 5769 §2.3: sample IPv6 response.
    const RFC5769_IPV6_RESPONSE: &str = "
        01010048 2112a442 b7e7a701 bc34d686 fa87dfae 8022000b 74657374 20766563
        746f7220 00200014 0002a147 0113a9fa a5d3f179 bc25f4b5 bed2b9d9 00080014
        a382954e 4be67bf1 1784c97c 8292c275 bfe3ed41 80280004 c8fb0b4c";

    #[test]
    fn rfc5769_vectors() {
        let s = parse_stun(&unhex(RFC5769_IPV4_RESPONSE)).unwrap();
        assert_eq!(s.class, StunClass::SuccessResponse);
        assert_eq!(s.method, StunMethod::Binding);
        assert_eq!(s.software.as_deref(), Some("test vector"));
        assert_eq!(s.mapped, Some("192.0.2.1:32853".parse().unwrap()));
        assert!(s.attrs.contains(attr::FINGERPRINT));
        assert_eq!(s.vendor_attrs().count(), 0);

        let s = parse_stun(&unhex(RFC5769_IPV6_RESPONSE)).unwrap();
        assert_eq!(
            s.mapped,
            Some(
                "[2001:db8:1234:5678:11:2233:4455:6677]:32853"
                    .parse()
                    .unwrap()
            )
        );
    }

    fn build(t: u16, cookie: bool, attrs: &[(u16, &[u8])]) -> Vec<u8> {
        let mut body = Vec::new();
        for (at, v) in attrs {
            body.extend_from_slice(&at.to_be_bytes());
            body.extend_from_slice(&(v.len() as u16).to_be_bytes());
            body.extend_from_slice(v);
            while body.len() % 4 != 0 {
                body.push(0);
            }
        }
        let mut m = t.to_be_bytes().to_vec();
        m.extend_from_slice(&(body.len() as u16).to_be_bytes());
        if cookie {
            m.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
        } else {
            m.extend_from_slice(&[9, 9, 9, 9]);
        }
        m.extend_from_slice(&[7; 12]);
        m.extend_from_slice(&body);
        m
    }

    #[test]
    fn allocate_error_with_realm_vendor_attrs_and_username_length_only() {
        let m = build(
            0x0113, // Allocate Error Response
            true,
            &[
                (attr::USERNAME, b"secret-user:frag"),
                (attr::ERROR_CODE, &[0, 0, 4, 1, b'U', b'n']),
                (attr::REALM, b"turn.example.org"),
                (0x4003, &[1, 2, 3, 4]),
                (0x8055, &[0; 4]),
                (0xff03, &[]),
            ],
        );
        let s = parse_stun(&m).unwrap();
        assert_eq!(s.method, StunMethod::Allocate);
        assert_eq!(s.class, StunClass::ErrorResponse);
        assert_eq!(s.error_code, Some(401));
        assert_eq!(s.username_len, Some(16));
        assert_eq!(s.realm.as_deref(), Some("turn.example.org"));
        assert_eq!(
            s.vendor_attrs().collect::<Vec<_>>(),
            vec![0x4003, 0x8055, 0xff03]
        );
        assert!(!format!("{s:?}").contains("secret"));
        assert_eq!(
            split_type(0x0101),
            (StunClass::SuccessResponse, StunMethod::Binding)
        );
        assert_eq!(
            split_type(0x0001),
            (StunClass::Request, StunMethod::Binding)
        );
        assert_eq!(split_type(0x0016).1, StunMethod::Send);
        assert_eq!(
            split_type(0x0017),
            (StunClass::Indication, StunMethod::Data)
        );
    }

    /// An XOR address attribute value (RFC 8489 §14.2) for `a` under the message's cookie
    /// and transaction ID `[7; 12]` (what `build` writes).
    fn xor_v4(a: [u8; 4], port: u16) -> Vec<u8> {
        let key = [0x21, 0x12, 0xa4, 0x42];
        let mut v = vec![0, 1];
        v.extend_from_slice(&(port ^ 0x2112).to_be_bytes());
        v.extend(a.iter().zip(key).map(|(x, k)| x ^ k));
        v
    }

    #[test]
    fn turn_addresses_are_read_with_and_without_allocating() {
        let relayed = xor_v4([203, 0, 113, 9], 50_000);
        let ok = build(0x0103, true, &[(attr::XOR_RELAYED_ADDRESS, &relayed)]);
        let want: SocketAddr = "203.0.113.9:50000".parse().unwrap();
        assert_eq!(parse_stun(&ok).unwrap().relayed, Some(want));
        let s = scan_turn(&ok).unwrap();
        assert_eq!(
            (s.class, s.method),
            (StunClass::SuccessResponse, StunMethod::Allocate)
        );
        assert_eq!((s.relayed, s.peer), (Some(want), None));
        let peer = xor_v4([198, 51, 100, 4], 41_107);
        let perm = build(
            0x0008,
            true,
            &[
                (attr::XOR_PEER_ADDRESS, &peer),
                (attr::REALM, b"example.org"),
            ],
        );
        let want: SocketAddr = "198.51.100.4:41107".parse().unwrap();
        assert_eq!(parse_stun(&perm).unwrap().peer, Some(want));
        let s = scan_turn(&perm).unwrap();
        assert_eq!(
            (s.peer, s.realm, s.binding_request),
            (Some(want), true, false)
        );
        let check = build(0x0001, true, &[(attr::PRIORITY, &[0, 0, 0, 1])]);
        assert!(scan_turn(&check).unwrap().binding_request);
        // A response is no request, and classic STUN carries no TURN.
        let resp = build(0x0101, true, &[(attr::PRIORITY, &[0, 0, 0, 1])]);
        assert!(!scan_turn(&resp).unwrap().binding_request);
        assert!(scan_turn(&build(0x0001, false, &[])).is_none());
    }

    #[test]
    fn classic_and_false_positives() {
        let m = build(0x0001, false, &[(attr::CHANGE_REQUEST, &[0, 0, 0, 0])]);
        let s = parse_stun(&m).unwrap();
        assert!(s.classic);
        assert_eq!(s.method, StunMethod::Binding);
        // classic with a non-classic attribute: refused
        assert!(parse_stun(&build(0x0001, false, &[(0x8022, b"x")])).is_none());
        // cookie-less non-classic type: refused
        assert!(parse_stun(&build(0x0003, false, &[])).is_none());
        // length mismatch / misaligned / bad tiling
        let mut m = build(0x0001, true, &[(attr::PRIORITY, &[0, 0, 0, 1])]);
        m.push(0);
        assert!(parse_stun(&m).is_none());
        let mut m = build(0x0001, true, &[(attr::PRIORITY, &[0, 0, 0, 1])]);
        m[23] = 200; // attribute longer than the message
        assert!(parse_stun(&m).is_none());
        assert!(parse_stun(&[0x80; 40]).is_none());
    }

    #[test]
    fn channel_data_and_tcp() {
        let mut cd = vec![0x40, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5];
        assert_eq!(
            parse_channel_data(&cd),
            Some(ChannelData {
                channel: 0x4001,
                len: 5
            })
        );
        cd.extend_from_slice(&[0, 0, 0]);
        assert!(parse_channel_data(&cd).is_some());
        assert!(parse_channel_data(&[0x80, 0, 0, 0]).is_none());

        let m = build(0x0001, true, &[(attr::SOFTWARE, b"app 1.0")]);
        let mut stream = m.clone();
        stream.extend_from_slice(&cd);
        let (item, used) = next_tcp_item(&stream, TcpFraming::Plain).unwrap();
        assert!(matches!(item, TcpItem::Stun(ref s) if s.software.as_deref() == Some("app 1.0")));
        let (item, used2) = next_tcp_item(&stream[used..], TcpFraming::Plain).unwrap();
        assert!(matches!(item, TcpItem::ChannelData(c) if c.channel == 0x4001));
        assert_eq!(used + used2, stream.len());

        let mut framed = (m.len() as u16).to_be_bytes().to_vec();
        framed.extend_from_slice(&m);
        let (item, used) = next_tcp_item(&framed, TcpFraming::Rfc4571).unwrap();
        assert!(matches!(item, TcpItem::Stun(_)));
        assert_eq!(used, framed.len());
        assert!(next_tcp_item(&framed[..10], TcpFraming::Rfc4571).is_none());
    }

    #[test]
    fn tcp_segments_yield_whole_messages_in_either_framing() {
        let m = build(0x0001, true, &[(attr::SOFTWARE, b"app 1.0")]);
        let cd = [0x40, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5, 0, 0, 0];
        // TURN over TCP: a message, ChannelData, a message.
        let mut plain = m.clone();
        plain.extend_from_slice(&cd);
        plain.extend_from_slice(&m);
        assert_eq!(tcp_segment_messages(&plain).count(), 2);
        // ICE-TCP: two framed messages.
        let mut framed = Vec::new();
        for _ in 0..2 {
            framed.extend_from_slice(&(m.len() as u16).to_be_bytes());
            framed.extend_from_slice(&m);
        }
        let got: Vec<&[u8]> = tcp_segment_messages(&framed).collect();
        assert_eq!(got, vec![&m[..], &m[..]]);
        // A message cut by the segment's end, or other data, yields nothing.
        assert_eq!(tcp_segment_messages(&m[..m.len() - 1]).count(), 0);
        assert_eq!(tcp_segment_messages(b"GET / HTTP/1.1\r\n\r\n").count(), 0);
        // Classic RFC 3489 messages (no cookie) are not taken from TCP.
        let classic = build(0x0001, false, &[]);
        assert_eq!(tcp_segment_messages(&classic).count(), 0);
    }
}
