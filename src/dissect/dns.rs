//! DNS answers, mapped back to the name the client asked for.
//!
//! Why it exists: most flows of an end-to-end-encrypted messenger go to IP
//! addresses the client learned from a DNS lookup seconds before. When the
//! client asked "web.whatsapp.com" and got a CNAME "mmx-ds.cdn.whatsapp.net"
//! and an A record, the observer can name the later flow to that address
//! after the ORIGINAL queried name (and the canonical one). HTTPS/SVCB
//! records (RFC 9460) add address hints and reveal ECH support.
//!
//! What it must never do: keep anything but the names, addresses and TTLs
//! below; use multicast DNS (RFC 6762, port 5353) or LLMNR (RFC 4795, port
//! 5355) for naming (any host on the link can answer anything there: see
//! [`usable_for_naming`]); allocate for a packet that does not pass the
//! cheap header check in [`looks_like_dns`].
//!
//! Bounds: a message passes to the parser (the `simple-dns` crate) only if
//! its record counts fit its length (each record takes at least 11 bytes,
//! RFC 1035 §4.1.3), which bounds the parser's allocations by the packet
//! size; the output keeps at most [`MAX_ADDRS`] addresses, [`MAX_CNAMES`]
//! chain links and [`MAX_SVCB`] service bindings, names at most 255 bytes.
//! Over TCP, messages carry a 2-byte length prefix (RFC 1035 §4.2.2):
//! [`TcpDnsFrames`] splits a buffer into messages.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use simple_dns::rdata::{RData, SVCB, SVCParam};
use thiserror::Error;

/// DNS over UDP/TCP (RFC 1035 §4.2).
pub const DNS_PORT: u16 = 53;
/// Multicast DNS (RFC 6762 §3): never used for naming.
pub const MDNS_PORT: u16 = 5353;
/// Link-Local Multicast Name Resolution (RFC 4795 §2.1): never used for
/// naming.
pub const LLMNR_PORT: u16 = 5355;

/// Addresses kept per message (a CDN answer has 1–8; 16 bounds a hostile
/// one).
pub const MAX_ADDRS: usize = 16;
/// CNAME links followed from the queried name (resolvers cap chains at
/// 8–16; real chains are 1–3 long).
pub const MAX_CNAMES: usize = 8;
/// HTTPS/SVCB records kept per message.
pub const MAX_SVCB: usize = 4;
/// DNS header size (RFC 1035 §4.1.1).
const HEADER_LEN: usize = 12;
/// Smallest resource record: root name (1) + type, class (4) + TTL (4) +
/// rdlength (2) (RFC 1035 §4.1.3).
const MIN_RR_LEN: usize = 11;
/// Smallest question: root name (1) + qtype, qclass (4) (RFC 1035 §4.1.2).
const MIN_Q_LEN: usize = 5;
/// Longest name kept (RFC 1035 §2.3.4: 255 octets on the wire).
const MAX_NAME_LEN: usize = 255;

/// Record type A (RFC 1035 §3.2.2), for comparing with [`DnsAnswers::qtype`].
pub const TYPE_A: u16 = 1;
/// Record type AAAA (RFC 3596 §2.1).
pub const TYPE_AAAA: u16 = 28;
/// Record type CNAME (RFC 1035 §3.2.2).
pub const TYPE_CNAME: u16 = 5;
/// Record type SVCB (RFC 9460 §14.1).
pub const TYPE_SVCB: u16 = 64;
/// Record type HTTPS (RFC 9460 §14.1).
pub const TYPE_HTTPS: u16 = 65;

/// True when either port is mDNS.
pub fn is_mdns(src_port: u16, dst_port: u16) -> bool {
    src_port == MDNS_PORT || dst_port == MDNS_PORT
}

/// Whether answers seen on these ports may name flows: not mDNS, not LLMNR
/// (link-local multicast protocols where any host answers for any name).
pub fn usable_for_naming(src_port: u16, dst_port: u16) -> bool {
    !is_mdns(src_port, dst_port) && src_port != LLMNR_PORT && dst_port != LLMNR_PORT
}

/// Why a message was not parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum DnsError {
    /// Fewer than 12 bytes.
    #[error("shorter than a DNS header")]
    TooShort,
    /// The header is not that of a standard query or response with one
    /// question and record counts that fit the message.
    #[error("not a plausible DNS message")]
    NotDns,
    /// The parser rejected the message.
    #[error("malformed DNS message")]
    Malformed,
}

/// One answered address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsAddr {
    /// The address (A, AAAA, or an HTTPS/SVCB ipv4hint/ipv6hint).
    pub addr: IpAddr,
    /// The name the record answers for (owner of the A/AAAA record; for a
    /// hint, the service binding's target), lower-case.
    pub name: String,
    /// TTL in seconds.
    pub ttl: u32,
    /// `name` is the queried name or on its CNAME chain, so the address
    /// maps back to [`DnsAnswers::qname`].
    pub for_qname: bool,
}

/// One HTTPS/SVCB record (RFC 9460 §2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsSvcb {
    /// Owner name, lower-case.
    pub owner: String,
    /// Target name ("." is replaced by the owner, RFC 9460 §2.5).
    pub target: String,
    /// SvcPriority (0 = AliasMode).
    pub priority: u16,
    /// An "ech" parameter (key 5) is present: the service supports ECH.
    pub ech: bool,
}

/// What an observer learns from one DNS message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DnsAnswers {
    /// Transaction ID (to pair a response with its query).
    pub id: u16,
    /// QR bit: this is a response.
    pub response: bool,
    /// RCODE (0 = NOERROR, 3 = NXDOMAIN).
    pub rcode: u8,
    /// The queried name, lower-case, without the trailing dot.
    pub qname: String,
    /// QTYPE (1 = A, 28 = AAAA, 65 = HTTPS...).
    pub qtype: u16,
    /// CNAME chain from the queried name: `cnames[0]` is the target of
    /// `qname`'s CNAME, `cnames[1]` the target of `cnames[0]`'s, ...
    pub cnames: Vec<String>,
    /// Answered addresses (at most [`MAX_ADDRS`]).
    pub addrs: Vec<DnsAddr>,
    /// HTTPS/SVCB records (at most [`MAX_SVCB`]).
    pub svcb: Vec<DnsSvcb>,
}

impl DnsAnswers {
    /// The canonical name (end of the CNAME chain, or the queried name).
    pub fn canonical_name(&self) -> &str {
        self.cnames
            .last()
            .map_or(self.qname.as_str(), String::as_str)
    }

    /// Names an address answers for: the queried name first, then the
    /// record's own name when it differs (the canonical name). Empty when
    /// the address is not in this message or not on the queried chain.
    pub fn names_for(&self, ip: IpAddr) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for a in self.addrs.iter().filter(|a| a.addr == ip && a.for_qname) {
            if !out.contains(&self.qname.as_str()) {
                out.push(&self.qname);
            }
            if !out.contains(&a.name.as_str()) {
                out.push(&a.name);
            }
        }
        out
    }
}

/// Cheap header check (no allocation): 12-byte header, opcode QUERY,
/// exactly one question, and record counts that fit the message length.
pub fn looks_like_dns(msg: &[u8]) -> bool {
    let Some(h) = msg.get(..HEADER_LEN) else {
        return false;
    };
    let opcode = (h[2] >> 3) & 0x0f;
    let qd = usize::from(u16::from_be_bytes([h[4], h[5]]));
    let an = usize::from(u16::from_be_bytes([h[6], h[7]]));
    let ns = usize::from(u16::from_be_bytes([h[8], h[9]]));
    let ar = usize::from(u16::from_be_bytes([h[10], h[11]]));
    let body = msg.len() - HEADER_LEN;
    opcode == 0 && qd == 1 && MIN_Q_LEN + (an + ns + ar) * MIN_RR_LEN <= body
}

fn lower(name: &impl std::fmt::Display) -> Option<String> {
    let mut s = name.to_string();
    if s.len() > MAX_NAME_LEN {
        return None;
    }
    s.make_ascii_lowercase();
    if let Some(stripped) = s.strip_suffix('.') {
        s = stripped.to_string();
    }
    Some(s)
}

/// Parses one DNS message (UDP payload, or one TCP frame without its
/// length prefix).
pub fn parse_dns(msg: &[u8]) -> Result<DnsAnswers, DnsError> {
    if msg.len() < HEADER_LEN {
        return Err(DnsError::TooShort);
    }
    if !looks_like_dns(msg) {
        return Err(DnsError::NotDns);
    }
    let pkt = simple_dns::Packet::parse(msg).map_err(|_| DnsError::Malformed)?;
    let q = pkt.questions.first().ok_or(DnsError::NotDns)?;
    let mut out = DnsAnswers {
        id: u16::from_be_bytes([msg[0], msg[1]]),
        response: msg[2] & 0x80 != 0,
        rcode: msg[3] & 0x0f,
        qname: lower(&q.qname).ok_or(DnsError::Malformed)?,
        qtype: u16::from(q.qtype),
        ..DnsAnswers::default()
    };

    // CNAME chain from the queried name (bounded; loops stop at the bound).
    let mut cur = out.qname.clone();
    for _ in 0..MAX_CNAMES {
        let next = pkt.answers.iter().find_map(|rr| match &rr.rdata {
            RData::CNAME(c) if lower(&rr.name).as_deref() == Some(cur.as_str()) => lower(&c.0),
            _ => None,
        });
        match next {
            Some(n) if n != cur && !out.cnames.contains(&n) => {
                out.cnames.push(n.clone());
                cur = n;
            }
            _ => break,
        }
    }
    let on_chain = |n: &str, out: &DnsAnswers| n == out.qname || out.cnames.iter().any(|c| c == n);

    for rr in &pkt.answers {
        let Some(owner) = lower(&rr.name) else {
            continue;
        };
        match &rr.rdata {
            RData::A(a) => push_addr(
                &mut out,
                IpAddr::V4(Ipv4Addr::from(a.address)),
                owner,
                rr.ttl,
                &on_chain,
            ),
            RData::AAAA(a) => push_addr(
                &mut out,
                IpAddr::V6(Ipv6Addr::from(a.address)),
                owner,
                rr.ttl,
                &on_chain,
            ),
            RData::HTTPS(h) => push_svcb(&mut out, &h.0, owner, rr.ttl, &on_chain),
            RData::SVCB(s) => push_svcb(&mut out, s, owner, rr.ttl, &on_chain),
            _ => {}
        }
    }
    Ok(out)
}

fn push_addr(
    out: &mut DnsAnswers,
    addr: IpAddr,
    name: String,
    ttl: u32,
    on_chain: &impl Fn(&str, &DnsAnswers) -> bool,
) {
    if out.addrs.len() >= MAX_ADDRS {
        return;
    }
    let for_qname = on_chain(&name, out);
    out.addrs.push(DnsAddr {
        addr,
        name,
        ttl,
        for_qname,
    });
}

fn push_svcb(
    out: &mut DnsAnswers,
    s: &SVCB<'_>,
    owner: String,
    ttl: u32,
    on_chain: &impl Fn(&str, &DnsAnswers) -> bool,
) {
    let target = match lower(&s.target) {
        Some(t) if !t.is_empty() => t,
        _ => owner.clone(),
    };
    let owner_on_chain = on_chain(&owner, out);
    let mut ech = false;
    for p in s.iter_params() {
        match p {
            SVCParam::Ipv4Hint(v) => {
                for a in v.iter().take(MAX_ADDRS) {
                    push_hint(
                        out,
                        IpAddr::V4(Ipv4Addr::from(*a)),
                        &target,
                        ttl,
                        owner_on_chain,
                    );
                }
            }
            SVCParam::Ipv6Hint(v) => {
                for a in v.iter().take(MAX_ADDRS) {
                    push_hint(
                        out,
                        IpAddr::V6(Ipv6Addr::from(*a)),
                        &target,
                        ttl,
                        owner_on_chain,
                    );
                }
            }
            SVCParam::Ech(_) => ech = true,
            _ => {}
        }
    }
    if out.svcb.len() < MAX_SVCB {
        out.svcb.push(DnsSvcb {
            owner,
            target,
            priority: s.priority,
            ech,
        });
    }
}

fn push_hint(out: &mut DnsAnswers, addr: IpAddr, target: &str, ttl: u32, owner_on_chain: bool) {
    if out.addrs.len() >= MAX_ADDRS {
        return;
    }
    out.addrs.push(DnsAddr {
        addr,
        name: target.to_string(),
        ttl,
        // Hints are addresses of the service the queried name binds to.
        for_qname: owner_on_chain,
    });
}

/// Splits DNS-over-TCP bytes (RFC 1035 §4.2.2: each message prefixed by a
/// 2-byte length) into complete messages. After iteration,
/// [`TcpDnsFrames::consumed`] tells how many bytes were used, so the caller
/// can keep the (bounded) remainder for the next segment.
#[derive(Debug, Clone)]
pub struct TcpDnsFrames<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> TcpDnsFrames<'a> {
    /// Iterates over the complete messages at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        TcpDnsFrames { buf, pos: 0 }
    }

    /// Bytes consumed by the messages returned so far.
    pub fn consumed(&self) -> usize {
        self.pos
    }
}

impl<'a> Iterator for TcpDnsFrames<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let rest = self.buf.get(self.pos..)?;
        let len = usize::from(u16::from_be_bytes([*rest.first()?, *rest.get(1)?]));
        let msg = rest.get(2..2 + len)?;
        self.pos += 2 + len;
        Some(msg)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use simple_dns::rdata::{A, AAAA, CNAME, HTTPS};
    use simple_dns::{CLASS, Name, Packet, QTYPE, Question, ResourceRecord, TYPE};

    fn response() -> Vec<u8> {
        let mut p = Packet::new_reply(0x1234);
        p.questions.push(Question::new(
            Name::new_unchecked("Web.WhatsApp.com"),
            TYPE::A.into(),
            simple_dns::QCLASS::CLASS(CLASS::IN),
            false,
        ));
        p.answers.push(ResourceRecord::new(
            Name::new_unchecked("web.whatsapp.com"),
            CLASS::IN,
            300,
            RData::CNAME(CNAME(Name::new_unchecked("mmx-ds.cdn.whatsapp.net"))),
        ));
        p.answers.push(ResourceRecord::new(
            Name::new_unchecked("mmx-ds.cdn.whatsapp.net"),
            CLASS::IN,
            60,
            RData::A(A {
                address: u32::from(Ipv4Addr::new(157, 240, 1, 2)),
            }),
        ));
        p.answers.push(ResourceRecord::new(
            Name::new_unchecked("unrelated.example"),
            CLASS::IN,
            60,
            RData::AAAA(AAAA {
                address: u128::from("2001:db8::1".parse::<Ipv6Addr>().unwrap()),
            }),
        ));
        p.build_bytes_vec().unwrap()
    }

    #[test]
    fn cname_chain_maps_back_to_qname() {
        let a = parse_dns(&response()).unwrap();
        assert!(a.response);
        assert_eq!(a.id, 0x1234);
        assert_eq!(a.qname, "web.whatsapp.com");
        assert_eq!(a.qtype, TYPE_A);
        assert_eq!(a.cnames, vec!["mmx-ds.cdn.whatsapp.net".to_string()]);
        assert_eq!(a.canonical_name(), "mmx-ds.cdn.whatsapp.net");
        let ip = IpAddr::V4(Ipv4Addr::new(157, 240, 1, 2));
        assert_eq!(
            a.names_for(ip),
            vec!["web.whatsapp.com", "mmx-ds.cdn.whatsapp.net"]
        );
        assert_eq!(a.addrs[0].ttl, 60);
        let other: IpAddr = "2001:db8::1".parse().unwrap();
        assert!(!a.addrs[1].for_qname);
        assert!(a.names_for(other).is_empty());
    }

    #[test]
    fn https_record_hints_and_ech() {
        let mut p = Packet::new_reply(7);
        p.questions.push(Question::new(
            Name::new_unchecked("crypto.cloudflare.com"),
            QTYPE::TYPE(TYPE::HTTPS),
            simple_dns::QCLASS::CLASS(CLASS::IN),
            false,
        ));
        let mut s = SVCB::new(1, Name::new_unchecked(""));
        s.set_ipv4hint(&[u32::from(Ipv4Addr::new(162, 159, 135, 79))]);
        s.set_param(SVCParam::Ech(std::borrow::Cow::Borrowed(&[0, 1, 2])));
        p.answers.push(ResourceRecord::new(
            Name::new_unchecked("crypto.cloudflare.com"),
            CLASS::IN,
            300,
            RData::HTTPS(HTTPS(s)),
        ));
        let a = parse_dns(&p.build_bytes_vec().unwrap()).unwrap();
        assert_eq!(a.qtype, TYPE_HTTPS);
        assert_eq!(a.svcb.len(), 1);
        assert!(a.svcb[0].ech);
        assert_eq!(a.svcb[0].target, "crypto.cloudflare.com");
        let ip = IpAddr::V4(Ipv4Addr::new(162, 159, 135, 79));
        assert_eq!(a.names_for(ip), vec!["crypto.cloudflare.com"]);
    }

    #[test]
    fn tcp_framing_and_rejects() {
        let m = response();
        let mut stream = (m.len() as u16).to_be_bytes().to_vec();
        stream.extend_from_slice(&m);
        stream.extend_from_slice(&(m.len() as u16).to_be_bytes());
        stream.extend_from_slice(&m[..10]); // partial second message
        let mut it = TcpDnsFrames::new(&stream);
        assert_eq!(it.next(), Some(&m[..]));
        assert_eq!(it.next(), None);
        assert_eq!(it.consumed(), m.len() + 2);
        assert_eq!(parse_dns(&[0; 5]), Err(DnsError::TooShort));
        // claims 65535 answers in 20 bytes: refused before parsing
        let mut bogus = vec![0u8; 20];
        bogus[5] = 1;
        bogus[6] = 0xff;
        bogus[7] = 0xff;
        assert_eq!(parse_dns(&bogus), Err(DnsError::NotDns));
        assert!(is_mdns(5353, 5353));
        assert!(!usable_for_naming(5353, 12345));
        assert!(!usable_for_naming(5355, 12345));
        assert!(usable_for_naming(53, 40000));
    }
}
