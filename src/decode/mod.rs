//! Decode: from a captured frame to the few header fields the flow table needs.
//!
//! Link layers are peeled here (Ethernet with any stack of 802.1Q/802.1ad tags, MPLS, PPPoE
//! sessions, Linux cooked capture v1 and v2, raw IP, BSD loopback, PPP and Cisco HDLC, NFLOG, and
//! the PPI and PKTAP wrappers), then etherparse reads IPv4/IPv6 with their extension headers and
//! the TCP or UDP header. IP-in-IP (protocols 4 and 41) is followed to the inner packet, as
//! Wireshark counts such frames for their inner TCP/UDP conversation. Other tunnels (GRE, VXLAN,
//! Teredo, GTP) stay their outer flow: that is what an on-path observer sees first.
//!
//! Everything here works on borrowed bytes and allocates nothing. A frame that cannot be decoded
//! is never dropped silently: it yields a [`Skip`] reason that the caller counts. Non-first IP
//! fragments carry no transport header; they are a `Skip` of their own kind so they are counted
//! apart from real failures.
//!
//! This module must never panic on any bytes, never read past a slice, and never look at
//! transport payload beyond handing it on.

use std::net::IpAddr;

use etherparse::{
    IpNumber, Ipv6ExtensionSlice, LaxIpSlice, TcpSlice, UdpSlice, err::ip::LaxHeaderSliceError,
};

use crate::capture::{Frame, LinkType, Timestamp};

/// How many VLAN tags, MPLS labels or wrapper headers are followed before giving up. Real
/// networks stack two or three (QinQ, MPLS VPNs); a bound keeps hostile frames from looping.
const MAX_LINK_NESTING: usize = 8;
/// How many IP-in-IP layers are followed. 4in4, 6in4, 4in6 and 6in6 need one; more than three
/// is not seen in practice and only costs time on hostile input.
const MAX_IP_NESTING: u8 = 3;

/// EtherType values (IEEE registry) this decoder understands.
mod ethertype {
    pub const IPV4: u16 = 0x0800;
    pub const IPV6: u16 = 0x86dd;
    pub const VLAN_8021Q: u16 = 0x8100;
    pub const VLAN_8021AD: u16 = 0x88a8;
    /// Pre-standard QinQ tag types still emitted by some switches.
    pub const VLAN_QINQ_9100: u16 = 0x9100;
    pub const VLAN_QINQ_9200: u16 = 0x9200;
    pub const MPLS_UNICAST: u16 = 0x8847;
    pub const MPLS_MULTICAST: u16 = 0x8848;
    pub const PPPOE_SESSION: u16 = 0x8864;
    /// Cisco VN-Tag: 4 bytes of tag, then the next EtherType.
    pub const VNTAG: u16 = 0x8926;
    /// IEEE 802.1BR E-Tag: 6 bytes of tag, then the next EtherType.
    pub const ETAG: u16 = 0x893f;
    /// Cisco FabricPath: 2 bytes (FTag, TTL), then a whole inner Ethernet header.
    pub const FABRICPATH: u16 = 0x8903;
    /// Values below this are IEEE 802.3 length fields, not EtherTypes.
    pub const MIN_ETHERTYPE: u16 = 0x0600;
}

/// PPP protocol numbers (RFC 1661, RFC 5072) for IP.
mod ppp {
    pub const IPV4: u16 = 0x0021;
    pub const IPV6: u16 = 0x0057;
}

/// Why a frame did not become a flow packet. Each reason is counted and reported at the end of
/// every run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Skip {
    /// The frame ended inside a header.
    Truncated,
    /// The capture's link type is not one this decoder reads.
    UnsupportedLinkType,
    /// A link-layer frame that carries something other than IP (ARP, LLDP, STP, ...).
    NotIp,
    /// An IP header whose fields make no sense (wrong version, bad lengths).
    BadIpHeader,
    /// An IP fragment after the first: no transport header, counted apart.
    NonFirstFragment,
    /// Wrappers, tags or IP-in-IP nested deeper than the decoder follows.
    TooDeep,
}

impl Skip {
    /// All reasons, in the order they are reported.
    pub const ALL: [Skip; 6] = [
        Skip::Truncated,
        Skip::UnsupportedLinkType,
        Skip::NotIp,
        Skip::BadIpHeader,
        Skip::NonFirstFragment,
        Skip::TooDeep,
    ];

    /// Stable name used in statistics output.
    pub fn as_str(self) -> &'static str {
        match self {
            Skip::Truncated => "truncated",
            Skip::UnsupportedLinkType => "unsupported_link_type",
            Skip::NotIp => "not_ip",
            Skip::BadIpHeader => "bad_ip_header",
            Skip::NonFirstFragment => "ip_fragment_non_first",
            Skip::TooDeep => "nested_too_deep",
        }
    }

    /// Position in [`Skip::ALL`], for counting in a fixed array.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// TCP header fields the flow table and dissectors use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpInfo {
    /// The flag byte (FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10, URG 0x20, ECE 0x40,
    /// CWR 0x80).
    pub flags: u8,
    pub seq: u32,
    pub ack: u32,
    pub window: u16,
    /// The options of a SYN, for passive operating-system hints; `None` on other segments.
    pub syn: Option<SynOptions>,
}

/// What a SYN's options say about the sender's network stack, kept without allocating: the
/// order of the option kinds (operating systems differ in it, as p0f's signature database
/// records), the maximum segment size and the window scale.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SynOptions {
    /// Option kinds in order (RFC 9293 §3.2): 0 EOL, 1 NOP, 2 MSS, 3 window scale, 4 SACK
    /// permitted, 8 timestamps, others as their kind number.
    pub kinds: [u8; SynOptions::MAX_KINDS],
    pub count: u8,
    pub mss: Option<u16>,
    pub wscale: Option<u8>,
}

impl SynOptions {
    /// Kinds kept: a SYN carries at most 40 option bytes, and the layouts operating systems
    /// send hold 5 to 10 entries (p0f v3's p0f.fp).
    pub const MAX_KINDS: usize = 12;

    /// Read the options area of a TCP header (the bytes after the fixed 20). Stops at EOL, at
    /// a malformed length, or at the end of the bytes.
    pub fn parse(opts: &[u8]) -> Self {
        let mut s = Self::default();
        let mut i = 0;
        while i < opts.len() && usize::from(s.count) < Self::MAX_KINDS {
            let kind = opts[i];
            s.kinds[usize::from(s.count)] = kind;
            s.count += 1;
            match kind {
                0 => break,
                1 => i += 1,
                _ => {
                    let Some(&len) = opts.get(i + 1) else { break };
                    let len = usize::from(len);
                    if len < 2 || i + len > opts.len() {
                        break;
                    }
                    let body = &opts[i + 2..i + len];
                    match (kind, body) {
                        (2, [a, b]) => s.mss = Some(u16::from_be_bytes([*a, *b])),
                        (3, [w]) => s.wscale = Some(*w),
                        _ => {}
                    }
                    i += len;
                }
            }
        }
        s
    }

    /// The option order in p0f's notation: `mss,nop,ws,nop,nop,ts,sok,eol`.
    pub fn layout(&self) -> String {
        let mut out = String::new();
        for &k in &self.kinds[..usize::from(self.count)] {
            if !out.is_empty() {
                out.push(',');
            }
            match k {
                0 => out.push_str("eol"),
                1 => out.push_str("nop"),
                2 => out.push_str("mss"),
                3 => out.push_str("ws"),
                4 => out.push_str("sok"),
                5 => out.push_str("sack"),
                8 => out.push_str("ts"),
                other => {
                    out.push('?');
                    out.push_str(&other.to_string());
                }
            }
        }
        out
    }
}

/// TCP flag bits (RFC 9293 §3.1).
pub mod tcp_flag {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const ACK: u8 = 0x10;
}

/// IP protocol numbers (IANA) the rest of the crate names.
pub mod proto {
    pub const ICMP: u8 = 1;
    pub const TCP: u8 = 6;
    pub const UDP: u8 = 17;
    pub const ICMPV6: u8 = 58;
}

/// Where an IP fragment sits in its datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fragment {
    /// IPv4 identification or IPv6 fragment header identification.
    pub id: u32,
    /// Offset of this fragment's data in the datagram, in bytes.
    pub offset_bytes: u32,
    /// More fragments follow.
    pub more: bool,
}

/// One decoded packet: what the flow table needs, borrowed from the frame.
///
/// A non-first IP fragment decodes too, with `frag` set, zero ports and no TCP fields: it has
/// no transport header, and only the fragment tracker may use it.
#[derive(Clone, Copy, Debug)]
pub struct Packet<'a> {
    /// Set when the packet is an IP fragment.
    pub frag: Option<Fragment>,
    pub ts: Timestamp,
    /// On-wire frame length (what byte counts add up).
    pub wire_len: u32,
    pub src: IpAddr,
    pub dst: IpAddr,
    /// IP protocol number of the transport.
    pub proto: u8,
    /// Ports for TCP and UDP, zero otherwise.
    pub src_port: u16,
    pub dst_port: u16,
    pub tcp: Option<TcpInfo>,
    /// Transport payload as captured (may be shorter than on the wire).
    pub payload: &'a [u8],
    /// Transport payload length on the wire, from the IP length fields.
    pub payload_len: u32,
    /// IPv4 TTL or IPv6 hop limit of the innermost IP header.
    pub ttl: u8,
}

/// Decode a frame down to its transport header.
pub fn decode<'a>(frame: &Frame<'a>) -> Result<Packet<'a>, Skip> {
    let ip = link_to_ip(frame.link, frame.data, 0)?;
    decode_ip(ip, frame.ts, frame.wire_len, 0)
}

/// Peel the link layer of `data` (of link type `link`) down to the first byte of the IP header.
fn link_to_ip(link: LinkType, data: &[u8], depth: usize) -> Result<&[u8], Skip> {
    if depth > MAX_LINK_NESTING {
        return Err(Skip::TooDeep);
    }
    match link {
        LinkType::ETHERNET => {
            let et = be16(data, 12)?;
            from_ethertype(et, data.get(14..).ok_or(Skip::Truncated)?)
        }
        LinkType::NULL | LinkType::LOOP => {
            // Some loopback-typed captures really hold Cisco HDLC or PPP frames; Wireshark
            // recognises them by their first bytes, and so do we.
            if let Some(ip) = hdlc_to_ip(data) {
                return ip;
            }
            let b = data.get(..4).ok_or(Skip::Truncated)?;
            // The family is in the capturing host's byte order (NULL) or network order (LOOP);
            // reading both ways is safe because the values do not collide.
            let le = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            let be = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
            let rest = &data[4..];
            // AF_INET is 2 everywhere; AF_INET6 is 24 (NetBSD/OpenBSD), 28 (FreeBSD), 30
            // (macOS), 10 (Linux).
            match (le, be) {
                (2, _) | (_, 2) => Ok(rest),
                (24 | 28 | 30 | 10, _) | (_, 24 | 28 | 30 | 10) => Ok(rest),
                _ => Err(Skip::NotIp),
            }
        }
        LinkType::RAW | LinkType::DLT_RAW_12 | LinkType::DLT_RAW_14 => Ok(data),
        LinkType::IPV4 | LinkType::IPV6 => Ok(data),
        LinkType::PPP | LinkType::PPP_SERIAL => ppp_to_ip(data),
        LinkType::PPP_ETHER => pppoe_to_ip(data),
        LinkType::C_HDLC => {
            let et = be16(data, 2)?;
            from_ethertype(et, data.get(4..).ok_or(Skip::Truncated)?)
        }
        LinkType::LINUX_SLL => {
            let et = be16(data, 14)?;
            from_ethertype(et, data.get(16..).ok_or(Skip::Truncated)?)
        }
        LinkType::LINUX_SLL2 => {
            let et = be16(data, 0)?;
            from_ethertype(et, data.get(20..).ok_or(Skip::Truncated)?)
        }
        LinkType::NFLOG => nflog_to_ip(data),
        LinkType::PPI => {
            // PPI header: version, flags, length (LE u16), DLT of the payload (LE u32).
            let len = usize::from(le16(data, 2)?);
            let dlt = le32(data, 4)?;
            link_to_ip(
                LinkType(dlt),
                data.get(len..).ok_or(Skip::Truncated)?,
                depth + 1,
            )
        }
        LinkType::PKTAP => {
            // PKTAP header: its own length (u32) then the DLT of the payload (u32), in the
            // capturing host's byte order, little-endian on every Apple platform.
            let len = le32(data, 0)? as usize;
            let dlt = le32(data, 4)?;
            if len < 8 {
                return Err(Skip::Truncated);
            }
            link_to_ip(
                LinkType(dlt),
                data.get(len..).ok_or(Skip::Truncated)?,
                depth + 1,
            )
        }
        _ => Err(Skip::UnsupportedLinkType),
    }
}

/// Follow an EtherType (through VLAN tags, MPLS labels and PPPoE) to the IP header.
fn from_ethertype(mut et: u16, mut rest: &[u8]) -> Result<&[u8], Skip> {
    for _ in 0..MAX_LINK_NESTING {
        match et {
            ethertype::IPV4 | ethertype::IPV6 => return Ok(rest),
            ethertype::VLAN_8021Q
            | ethertype::VLAN_8021AD
            | ethertype::VLAN_QINQ_9100
            | ethertype::VLAN_QINQ_9200 => {
                // Tag control information (2 bytes), then the next EtherType.
                et = be16(rest, 2)?;
                rest = rest.get(4..).ok_or(Skip::Truncated)?;
            }
            ethertype::VNTAG => {
                et = be16(rest, 4)?;
                rest = rest.get(6..).ok_or(Skip::Truncated)?;
            }
            ethertype::ETAG => {
                et = be16(rest, 6)?;
                rest = rest.get(8..).ok_or(Skip::Truncated)?;
            }
            ethertype::FABRICPATH => {
                // FTag/TTL (2), inner destination and source MAC (12), inner EtherType.
                et = be16(rest, 14)?;
                rest = rest.get(16..).ok_or(Skip::Truncated)?;
            }
            ethertype::MPLS_UNICAST | ethertype::MPLS_MULTICAST => return mpls_to_ip(rest),
            ethertype::PPPOE_SESSION => return pppoe_to_ip(rest),
            t if t < ethertype::MIN_ETHERTYPE => {
                // 802.3 length field: only LLC/SNAP (AA AA 03, OUI 00 00 00) carries an
                // EtherType on.
                let snap = rest.get(..8).ok_or(Skip::Truncated)?;
                if snap[..6] != [0xaa, 0xaa, 0x03, 0, 0, 0] {
                    return Err(Skip::NotIp);
                }
                et = u16::from_be_bytes([snap[6], snap[7]]);
                rest = &rest[8..];
            }
            _ => return Err(Skip::NotIp),
        }
    }
    Err(Skip::TooDeep)
}

/// Cisco HDLC address bytes (unicast 0x0F, multicast 0x8F), followed by a zero control byte.
const CHDLC_UNICAST: u8 = 0x0f;
const CHDLC_MULTICAST: u8 = 0x8f;

/// Recognise a frame that starts with Cisco HDLC (`0F 00` / `8F 00`) or PPP in HDLC framing
/// (`FF 03`) where another link type was declared.
fn hdlc_to_ip(data: &[u8]) -> Option<Result<&[u8], Skip>> {
    match data {
        [CHDLC_UNICAST | CHDLC_MULTICAST, 0x00, ..] => Some(
            be16(data, 2).and_then(|et| from_ethertype(et, data.get(4..).ok_or(Skip::Truncated)?)),
        ),
        [0xff, 0x03, ..] => Some(ppp_to_ip(data)),
        _ => None,
    }
}

/// Pop MPLS labels (RFC 3032: 4 bytes each, bottom of stack bit 0x100 in the third byte) and
/// guess IPv4/IPv6 from the version nibble, as MPLS carries no payload type.
fn mpls_to_ip(mut rest: &[u8]) -> Result<&[u8], Skip> {
    for _ in 0..MAX_LINK_NESTING {
        let label = rest.get(..4).ok_or(Skip::Truncated)?;
        let bottom = label[2] & 0x01 != 0;
        rest = &rest[4..];
        if bottom {
            return match rest.first().map(|b| b >> 4) {
                Some(4 | 6) => Ok(rest),
                Some(_) => Err(Skip::NotIp),
                None => Err(Skip::Truncated),
            };
        }
    }
    Err(Skip::TooDeep)
}

/// PPPoE session header (RFC 2516): version/type, code, session id, length; then PPP protocol.
fn pppoe_to_ip(data: &[u8]) -> Result<&[u8], Skip> {
    let proto = be16(data, 6)?;
    let rest = data.get(8..).ok_or(Skip::Truncated)?;
    match proto {
        ppp::IPV4 | ppp::IPV6 => Ok(rest),
        _ => Err(Skip::NotIp),
    }
}

/// PPP with optional HDLC address/control bytes (FF 03, RFC 1662) and a 1- or 2-byte protocol
/// field (protocol field compression, RFC 1661 §6.5: an odd first byte is a 1-byte field).
fn ppp_to_ip(data: &[u8]) -> Result<&[u8], Skip> {
    if data
        .first()
        .is_some_and(|&b| b == CHDLC_UNICAST || b == CHDLC_MULTICAST)
    {
        let et = be16(data, 2)?;
        return from_ethertype(et, data.get(4..).ok_or(Skip::Truncated)?);
    }
    let mut rest = data;
    if rest.starts_with(&[0xff, 0x03]) {
        rest = &rest[2..];
    }
    let first = *rest.first().ok_or(Skip::Truncated)?;
    let (proto, hdr) = if first & 1 == 1 {
        (u16::from(first), 1)
    } else {
        (be16(rest, 0)?, 2)
    };
    match proto {
        ppp::IPV4 | ppp::IPV6 => rest.get(hdr..).ok_or(Skip::Truncated),
        _ => Err(Skip::NotIp),
    }
}

/// NFLOG (Linux netfilter log): a 4-byte header (family, version, resource id) then TLVs with
/// 16-bit length and type in host byte order (little-endian here), padded to 4 bytes. The
/// packet is TLV type 9, NFULA_PAYLOAD.
fn nflog_to_ip(data: &[u8]) -> Result<&[u8], Skip> {
    const NFULA_PAYLOAD: u16 = 9;
    const MAX_TLVS: usize = 64;
    let mut off = 4;
    data.get(..4).ok_or(Skip::Truncated)?;
    for _ in 0..MAX_TLVS {
        let len = usize::from(le16(data, off)?);
        let ty = le16(data, off + 2)? & 0x7fff;
        if len < 4 {
            return Err(Skip::Truncated);
        }
        if ty == NFULA_PAYLOAD {
            return data.get(off + 4..off + len).ok_or(Skip::Truncated);
        }
        off += (len + 3) & !3;
    }
    Err(Skip::TooDeep)
}

/// Decode an IP packet (and IP-in-IP inside it) down to its transport header.
fn decode_ip(data: &[u8], ts: Timestamp, wire_len: u32, depth: u8) -> Result<Packet<'_>, Skip> {
    let (ip, ext_err) = LaxIpSlice::from_slice(data).map_err(|e| match e {
        LaxHeaderSliceError::Len(_) => Skip::Truncated,
        LaxHeaderSliceError::Content(_) => Skip::BadIpHeader,
    })?;
    // An IPv6 extension header that could not be read leaves no transport header to trust.
    if let Some((e, _)) = ext_err {
        return Err(match e {
            etherparse::err::ipv6_exts::HeaderSliceError::Len(_) => Skip::Truncated,
            etherparse::err::ipv6_exts::HeaderSliceError::Content(_) => Skip::BadIpHeader,
        });
    }
    let (src, dst, ttl, declared_payload, frag) = match &ip {
        LaxIpSlice::Ipv4(v4) => {
            let h = v4.header();
            let hl = usize::from(h.ihl()) * 4;
            let declared = usize::from(h.total_len()).checked_sub(hl);
            let offset = h.fragments_offset().value();
            let frag = (offset != 0 || h.more_fragments()).then_some(Fragment {
                id: u32::from(h.identification()),
                offset_bytes: u32::from(offset) * 8,
                more: h.more_fragments(),
            });
            (
                IpAddr::from(h.source()),
                IpAddr::from(h.destination()),
                h.ttl(),
                declared,
                frag,
            )
        }
        LaxIpSlice::Ipv6(v6) => {
            let h = v6.header();
            let exts = v6.extensions();
            let mut frag = None;
            for ext in exts.clone() {
                if let Ipv6ExtensionSlice::Fragment(f) = ext {
                    frag = Some(Fragment {
                        id: f.identification(),
                        offset_bytes: u32::from(f.fragment_offset().value()) * 8,
                        more: f.more_fragments(),
                    });
                }
            }
            let declared = usize::from(h.payload_length()).checked_sub(exts.slice().len());
            (
                IpAddr::from(h.source()),
                IpAddr::from(h.destination()),
                h.hop_limit(),
                declared,
                frag,
            )
        }
    };
    let payload = ip.payload();
    // A zero or impossible length field (TSO offload, jumbograms) leaves the captured length as
    // the best estimate of the on-wire payload.
    let declared_payload = declared_payload
        .filter(|&d| d > 0)
        .unwrap_or(payload.payload.len());
    match payload.ip_number {
        IpNumber::IPV4 | IpNumber::IPV6 if !payload.fragmented => {
            if depth >= MAX_IP_NESTING {
                return Err(Skip::TooDeep);
            }
            return decode_ip(payload.payload, ts, wire_len, depth + 1);
        }
        _ => {}
    }
    let proto = payload.ip_number.0;
    let mut pkt = Packet {
        frag,
        ts,
        wire_len,
        src,
        dst,
        proto,
        src_port: 0,
        dst_port: 0,
        tcp: None,
        payload: &[],
        payload_len: 0,
        ttl,
    };
    if frag.is_some_and(|f| f.offset_bytes != 0) {
        // No transport header here: the fragment tracker joins it to its first fragment.
        pkt.payload_len = declared_payload as u32;
        return Ok(pkt);
    }
    match proto {
        proto::TCP => match TcpSlice::from_slice(payload.payload) {
            Ok(tcp) => {
                let hl = tcp.header_slice().len();
                pkt.src_port = tcp.source_port();
                pkt.dst_port = tcp.destination_port();
                let flags = tcp.header_slice()[13];
                pkt.tcp = Some(TcpInfo {
                    flags,
                    seq: tcp.sequence_number(),
                    ack: tcp.acknowledgment_number(),
                    window: tcp.window_size(),
                    syn: (flags & tcp_flag::SYN != 0)
                        .then(|| SynOptions::parse(tcp.header_slice().get(20..).unwrap_or(&[]))),
                });
                pkt.payload = tcp.payload();
                pkt.payload_len = declared_payload.saturating_sub(hl) as u32;
            }
            Err(_) => {
                // The snaplen cut the TCP options: the fixed 20-byte header still names the
                // flow, and the frame still counts (as it does in Wireshark).
                let (ports, info, hl) = tcp_fixed_header(payload.payload)?;
                (pkt.src_port, pkt.dst_port) = ports;
                pkt.tcp = Some(info);
                pkt.payload_len = declared_payload.saturating_sub(hl) as u32;
            }
        },
        proto::UDP => {
            let udp = UdpSlice::from_slice_lax(payload.payload).map_err(|_| Skip::Truncated)?;
            pkt.src_port = udp.source_port();
            pkt.dst_port = udp.destination_port();
            pkt.payload = udp.payload();
            pkt.payload_len = declared_payload.saturating_sub(8) as u32;
        }
        _ => {
            pkt.payload = payload.payload;
            pkt.payload_len = declared_payload as u32;
        }
    }
    Ok(pkt)
}

/// The fixed part of a TCP header (RFC 9293 §3.1) when the options are cut off: ports, flags,
/// sequence numbers and the header length the data offset declares.
fn tcp_fixed_header(d: &[u8]) -> Result<((u16, u16), TcpInfo, usize), Skip> {
    const FIXED: usize = 20;
    let h = d.get(..FIXED).ok_or(Skip::Truncated)?;
    let hl = usize::from(h[12] >> 4) * 4;
    if hl < FIXED {
        return Err(Skip::Truncated);
    }
    let be32 = |i: usize| u32::from_be_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
    Ok((
        (
            u16::from_be_bytes([h[0], h[1]]),
            u16::from_be_bytes([h[2], h[3]]),
        ),
        TcpInfo {
            flags: h[13],
            seq: be32(4),
            ack: be32(8),
            window: u16::from_be_bytes([h[14], h[15]]),
            syn: None,
        },
        hl,
    ))
}

fn be16(d: &[u8], at: usize) -> Result<u16, Skip> {
    d.get(at..at + 2)
        .map(|b| u16::from_be_bytes([b[0], b[1]]))
        .ok_or(Skip::Truncated)
}

fn le16(d: &[u8], at: usize) -> Result<u16, Skip> {
    d.get(at..at + 2)
        .map(|b| u16::from_le_bytes([b[0], b[1]]))
        .ok_or(Skip::Truncated)
}

fn le32(d: &[u8], at: usize) -> Result<u32, Skip> {
    d.get(at..at + 4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or(Skip::Truncated)
}

#[cfg(test)]
mod tests;
