//! Naming a flow, first half: run the dissectors on its first packets and keep what they read.
//!
//! Per flow, [`FlowNaming`] holds what the dissectors read in the clear (the ClientHello of TLS
//! or QUIC, the name this client looked up for this server in DNS, STUN attributes, a protocol
//! prologue) and the small bounded trackers still at work. [`Namer::on_packet`] feeds a flow's
//! packets to the trackers until each is done or the flow has passed
//! [`DISSECT_PACKET_LIMIT`] packets; after that a packet costs one comparison. When the flow
//! ends, [`Attributor::attribute`] decides its service.
//!
//! Deciding is [`super::attribute`]'s: it weighs what this module found, strongest evidence
//! first.
//!
//! This module must never keep payload bytes: trackers drop their buffers as soon as they are
//! done, and only parsed fields stay.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use super::attribute::Attributor;
use super::catalog::{Catalog, Marker, RangeEntry, ServiceId};
use super::directory::{Directory, Lent};
use super::geo::{Geo, is_local};
use crate::capture::Timestamp;
use crate::decode::{Packet, proto};
use crate::dissect::cert::ServerCertReader;
use crate::dissect::quic::QuicInitialTracker;
use crate::dissect::rtp::{self, RtpTracker, UdpMediaKind};
use crate::dissect::stun::{self, StunInfo};
use crate::dissect::tls::{ClientHelloInfo, TlsClientHelloReassembler};
use crate::dissect::{Progress, dns};
use crate::flow::{Dir, Flow, Observed};
use crate::model::{Evidence, EvidenceKind};

/// Packets of a flow the dissectors look at. Handshakes (DNS, TLS, QUIC, STUN) finish within
/// the first few packets; 64 leaves room for retransmissions and for STUN checks that precede
/// media by several round trips.
pub const DISSECT_PACKET_LIMIT: u64 = 64;

/// Names remembered from DNS answers, as (client, server address) pairs. A busy host resolves
/// a few thousand names an hour; 65,536 keeps hours of them and bounds a flood.
pub const DNS_MAP_CAP: usize = 65_536;

/// Distinct STUN message types and vendor attributes kept per flow.
const STUN_KEEP: usize = 8;

/// Well-known DNS port (RFC 1035).
const DNS_PORT: u16 = 53;

/// Prefix markers shorter than this are too common in random bytes to name a service alone;
/// they only corroborate other evidence for the same service.
const MIN_STANDALONE_PREFIX: usize = 4;

/// STUN as seen on a flow.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StunSeen {
    pub msg_types: Vec<u16>,
    pub vendor_attrs: Vec<u16>,
    pub realm: Option<String>,
    pub software: Option<String>,
    /// A public address an XOR-MAPPED-ADDRESS revealed.
    pub mapped: Option<std::net::SocketAddr>,
    pub messages: u32,
}

impl StunSeen {
    fn merge(&mut self, s: &StunInfo) {
        self.messages += 1;
        if self.msg_types.len() < STUN_KEEP && !self.msg_types.contains(&s.msg_type) {
            self.msg_types.push(s.msg_type);
        }
        for a in s.vendor_attrs() {
            if self.vendor_attrs.len() < STUN_KEEP && !self.vendor_attrs.contains(&a) {
                self.vendor_attrs.push(a);
            }
        }
        if self.realm.is_none() {
            self.realm.clone_from(&s.realm);
        }
        if self.software.is_none() {
            self.software.clone_from(&s.software);
        }
        if self.mapped.is_none() {
            self.mapped = s.mapped;
        }
    }

    /// Compact text form for outputs: `types=0x0001,0x0101 attrs=0x4000 realm=... software=...`.
    pub fn summary(&self) -> String {
        let hex = |v: &[u16]| {
            v.iter()
                .map(|t| format!("0x{t:04x}"))
                .collect::<Vec<_>>()
                .join(",")
        };
        let mut parts = vec![format!("types={}", hex(&self.msg_types))];
        if !self.vendor_attrs.is_empty() {
            parts.push(format!("attrs={}", hex(&self.vendor_attrs)));
        }
        if let Some(r) = &self.realm {
            parts.push(format!("realm={r}"));
        }
        if let Some(s) = &self.software {
            parts.push(format!("software={s}"));
        }
        parts.join(" ")
    }
}

/// What the dissectors found on one flow, and the trackers still at work.
#[derive(Debug, Default)]
pub struct FlowNaming {
    tls: Option<Box<TlsClientHelloReassembler>>,
    quic: Option<Box<QuicInitialTracker>>,
    rtp: Option<Box<RtpTracker>>,
    /// Set once the flow needs no more dissection.
    done: bool,
    /// The TLS reassembler ran and finished (found a ClientHello or gave up).
    tls_finished: bool,
    cert: Option<Box<ServerCertReader>>,
    /// The server certificate reader finished (or never applied).
    cert_finished: bool,
    /// Names in the server's certificate (TLS 1.2 and older send it in the clear).
    pub cert_names: Vec<String>,
    /// Whether the first payload of each direction was checked for prologue markers.
    prologue_checked: [bool; 2],
    pub hello: Option<ClientHelloInfo>,
    /// QUIC version of the client's long-header packets (the wire value).
    pub quic_version: Option<u32>,
    /// The name this client looked up for this server, from DNS answers seen earlier.
    pub dns_name: Option<String>,
    /// For a DNS flow: the name it asked for.
    pub dns_query: Option<String>,
    pub stun: Option<Box<StunSeen>>,
    /// Indices of prologue markers (in the catalog) that matched a first payload.
    pub prologue: Vec<u16>,
    pub rtp_confirmed: bool,
    /// RTP or RTCP followed a QUIC handshake on this 5-tuple.
    pub rtp_after_quic: bool,
    pub dtls: bool,
    /// Host header of a clear-text HTTP request (or CONNECT target) on this flow.
    pub http_host: Option<String>,
    /// A direction's first payload is an XML stanza (clear-text XMPP).
    pub xml: bool,
    /// The call service this flow's own markers name, decided as soon as they are seen so
    /// other flows of the same socket can be named by it.
    pub call_marker: Option<(ServiceId, Evidence)>,
    /// A call service another flow of the same socket was named by (set by `Namer::settle`).
    pub socket_claim: Option<(ServiceId, Evidence)>,
    /// The name another flow of the capture (or a DNS answer) gave this flow's server, for a
    /// flow that names nothing itself (set by `Namer::lend`).
    pub lent: Option<Box<Lent>>,
    /// Which of this flow's own names were already given to the directory (`LEARNT_*`).
    learnt: u8,
}

/// Bits of [`FlowNaming::learnt`].
const LEARNT_SNI: u8 = 1;
const LEARNT_CERT: u8 = 2;
const LEARNT_HTTP: u8 = 4;

impl FlowNaming {
    /// The flow named nothing itself: no server name in the clear, no DNS name looked up for
    /// it, not a DNS flow, no call marker of its own or of its socket. Only such a flow
    /// borrows its server's name from the directory.
    pub fn names_nothing(&self) -> bool {
        self.hello.as_ref().is_none_or(|h| h.sni.is_none())
            && self.cert_names.is_empty()
            && self.http_host.is_none()
            && self.dns_name.is_none()
            && self.dns_query.is_none()
            && self.call_marker.is_none()
            && self.socket_claim.is_none()
            && !self.xml
    }
}

/// What [`Namer::lend`] did for a flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lending {
    /// The flow names itself (or is not a TCP/UDP flow to a remote server): nothing to lend.
    NotNeeded,
    /// The directory named the flow's server: the name is lent.
    Lent,
    /// Nothing names the flow's server yet: a later handshake or DNS answer may.
    Waits,
}

/// Per-flow state that carries a [`FlowNaming`]: the naming stage works on any flow table whose
/// per-flow state holds one, so later stages can add their own state beside it without naming
/// knowing of them.
pub trait HasNaming: AsRef<FlowNaming> + AsMut<FlowNaming> {}

impl<T: AsRef<FlowNaming> + AsMut<FlowNaming>> HasNaming for T {}

impl AsRef<FlowNaming> for FlowNaming {
    fn as_ref(&self) -> &FlowNaming {
        self
    }
}

impl AsMut<FlowNaming> for FlowNaming {
    fn as_mut(&mut self) -> &mut FlowNaming {
        self
    }
}

/// Counters of the naming stage.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct NamingStats {
    pub dns_answers: u64,
    /// (client, server) → name pairs dropped, oldest first, to stay within [`DNS_MAP_CAP`].
    pub dns_names_evicted: u64,
    /// Call sockets forgotten, oldest first, to stay within [`SOCKET_MAP_CAP`].
    pub call_sockets_evicted: u64,
    pub client_hellos: u64,
    pub quic_initials: u64,
    pub stun_messages: u64,
    /// Server bindings of the capture's directory forgotten, oldest first, to stay within
    /// [`super::directory::DIRECTORY_CAP`].
    pub server_names_evicted: u64,
    /// Records that named nothing themselves and were lent their server's name.
    pub names_lent: u64,
    /// Records that named nothing themselves and waited for the rest of the file to name
    /// their server (reading a file; live capture never waits).
    pub names_waited: u64,
    /// Of those, records that left the wait before the end of the file because the wait is
    /// full (`analysis::WAITING_CAP`): named with what was known then.
    pub names_wait_overflow: u64,
}

/// A socket (address and port) seen carrying a call service's markers.
#[derive(Clone, Debug)]
struct SocketClaim {
    service: ServiceId,
    evidence: Evidence,
    since: Timestamp,
}

/// Sockets remembered as belonging to a call. One call uses a handful; 16,384 bounds a flood.
pub const SOCKET_MAP_CAP: usize = 16_384;

/// How long around a claim a flow on the same socket is taken to be the same call: a call's
/// relay checks, direct leg and renegotiations fall within minutes of each other, while an
/// operating system reuses a UDP port only much later.
const SOCKET_CLAIM_SECS: u32 = 600;

/// Runs the dissectors on the analysis thread.
pub struct Namer {
    pub catalog: Arc<Catalog>,
    /// The catalog's prologue markers by the first byte they match (see [`Prologues`]).
    prologues: Prologues,
    dns: FxHashMap<(IpAddr, IpAddr), String>,
    dns_order: VecDeque<(IpAddr, IpAddr)>,
    sockets: FxHashMap<(IpAddr, u16), SocketClaim>,
    socket_order: VecDeque<(IpAddr, u16)>,
    /// Every name learnt in the capture per server address.
    directory: Directory,
    pub stats: NamingStats,
}

/// The catalog's prologue markers (`Prefix`, `Packet`) sorted by the first byte of their
/// prefix, each with whether it is text. A flow's first payload in each direction is compared
/// with the markers its first byte can match, in catalog order, instead of with every marker
/// of the catalog: the same markers match, found in the same order, at a fraction of the cost
/// (it ran for every new flow, 5% of `onlooker events`).
#[derive(Debug, Default)]
struct Prologues {
    /// `by_first[b]`: the markers a payload starting with byte `b` can match (those whose prefix
    /// starts with `b`, and those with an empty prefix); `by_first[256]`: those an empty
    /// payload can match (empty prefix only). Each list in catalog order, as
    /// (catalog index, text).
    by_first: Vec<Vec<(u16, bool)>>,
}

impl Prologues {
    fn of(catalog: &Catalog) -> Self {
        let mut by_first = vec![Vec::new(); 257];
        for (i, m) in catalog.markers().iter().enumerate() {
            let p = match &m.marker {
                Marker::Prefix(p) => p,
                Marker::Packet { prefix, .. } => prefix,
                _ => continue,
            };
            // The flow's prologue list holds `u16` indexes; a catalog of more markers than that
            // could not be named by them either.
            let Ok(i) = u16::try_from(i) else {
                continue;
            };
            let text = p.iter().all(|b| b.is_ascii_graphic() || *b == b' ');
            match p.first() {
                Some(&b) => by_first[usize::from(b)].push((i, text)),
                None => by_first.iter_mut().for_each(|l| l.push((i, text))),
            }
        }
        Self { by_first }
    }

    /// The markers `payload` can match, in catalog order.
    fn for_payload(&self, payload: &[u8]) -> &[(u16, bool)] {
        let b = payload.first().map_or(256, |&b| usize::from(b));
        self.by_first.get(b).map_or(&[], Vec::as_slice)
    }
}

impl std::fmt::Debug for Namer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Namer").field("stats", &self.stats).finish()
    }
}

impl Namer {
    pub fn new(catalog: Catalog) -> Self {
        Self {
            prologues: Prologues::of(&catalog),
            catalog: Arc::new(catalog),
            dns: FxHashMap::default(),
            dns_order: VecDeque::new(),
            sockets: FxHashMap::default(),
            socket_order: VecDeque::new(),
            directory: Directory::default(),
            stats: NamingStats::default(),
        }
    }

    /// Feed one packet of `flow` (already accounted by the flow table).
    pub fn on_packet<T: HasNaming>(&mut self, flow: &mut Flow<T>, pkt: &Packet<'_>, obs: Observed) {
        if obs.new {
            let (client, server) = (flow.client().0, flow.server().0);
            if let Some(name) = self.dns.get(&(client, server)) {
                flow.ext.as_mut().dns_name = Some(name.clone());
            }
            // A UDP flow to a service's published range: its local socket belongs to that
            // service for now (a call's direct leg often shares the socket). A flow on a socket
            // already claimed inherits the claim and passes it on to its other end.
            if pkt.proto == proto::UDP && pkt.src_port != DNS_PORT && pkt.dst_port != DNS_PORT {
                let ends = [flow.client(), flow.server()];
                let remote = if is_local(server) { client } else { server };
                if let Some(r) = self.catalog.range(remote) {
                    let ev = range_evidence(&self.catalog, r);
                    let service = r.service;
                    flow.ext.as_mut().call_marker = Some((service, ev.clone()));
                    self.claim_sockets(ends, service, &ev, pkt.ts);
                } else if let Some((ep, c)) = ends.iter().find_map(|ep| {
                    self.sockets
                        .get(ep)
                        .filter(|c| c.since.plus_secs(SOCKET_CLAIM_SECS) >= pkt.ts)
                        .map(|c| (*ep, c.clone()))
                }) {
                    let ev = same_socket_evidence(&self.catalog, ep, c.service, &c.evidence);
                    flow.ext.as_mut().call_marker = Some((c.service, ev));
                    self.claim_sockets(ends, c.service, &c.evidence, pkt.ts);
                }
            }
        }
        if flow.ext.as_mut().done {
            return;
        }
        if flow.packets() > DISSECT_PACKET_LIMIT {
            let n = flow.ext.as_mut();
            n.done = true;
            n.tls = None;
            n.quic = None;
            n.rtp = None;
            return;
        }
        if pkt.payload.is_empty() {
            return;
        }
        let dir_idx = usize::from(obs.dir == Dir::Down);
        if !flow.ext.as_mut().prologue_checked[dir_idx] {
            flow.ext.as_mut().prologue_checked[dir_idx] = true;
            self.check_prologue(flow.ext.as_mut(), pkt.payload, pkt.proto);
        }
        let is_dns = pkt.src_port == DNS_PORT || pkt.dst_port == DNS_PORT;
        match pkt.proto {
            proto::UDP if is_dns => self.on_dns(flow, pkt.payload),
            proto::UDP => self.on_udp(flow, pkt, obs.dir),
            proto::TCP if is_dns => {
                for frame in dns::TcpDnsFrames::new(pkt.payload) {
                    self.on_dns(flow, frame);
                }
            }
            proto::TCP => self.on_tcp(flow, pkt, obs.dir),
            _ => flow.ext.as_mut().done = true,
        }
        self.learn_names(flow);
    }

    /// Give the directory the names this flow found for its server (once each).
    fn learn_names<T: HasNaming>(&mut self, flow: &mut Flow<T>) {
        let (ip, port) = flow.server();
        let n = flow.ext.as_mut();
        if n.learnt & LEARNT_SNI == 0 {
            if let Some(sni) = n.hello.as_ref().and_then(|h| h.sni.as_deref()) {
                n.learnt |= LEARNT_SNI;
                self.directory
                    .learn(&self.catalog, ip, Some(port), sni, EvidenceKind::Sni);
            }
        }
        if n.learnt & LEARNT_CERT == 0 {
            if let Some(cn) = n.cert_names.first() {
                n.learnt |= LEARNT_CERT;
                self.directory
                    .learn(&self.catalog, ip, Some(port), cn, EvidenceKind::Cert);
            }
        }
        if n.learnt & LEARNT_HTTP == 0 {
            if let Some(host) = &n.http_host {
                n.learnt |= LEARNT_HTTP;
                self.directory
                    .learn(&self.catalog, ip, Some(port), host, EvidenceKind::HttpHost);
            }
        }
        self.stats.server_names_evicted = self.directory.evicted;
    }

    fn check_prologue(&self, n: &mut FlowNaming, payload: &[u8], transport: u8) {
        let tcp = transport == proto::TCP;
        if tcp && is_xml_stanza(payload) {
            n.xml = true;
        }
        if tcp && n.http_host.is_none() {
            n.http_host = http_host(payload);
        }
        let markers = self.catalog.markers();
        for &(i, text) in self.prologues.for_payload(payload) {
            let Some(m) = markers.get(usize::from(i)) else {
                continue;
            };
            let (p, len) = match &m.marker {
                Marker::Prefix(p) => (p, None),
                Marker::Packet { prefix, len } => (prefix, Some(*len)),
                _ => continue,
            };
            // Text prologues (XML, HTTP-like) belong to stream protocols; on UDP the same bytes
            // start unrelated discovery protocols (WS-Discovery, SSDP).
            if text && !tcp {
                continue;
            }
            let fits = len.is_none_or(|l| l == payload.len());
            if fits && payload.starts_with(p) && n.prologue.len() < STUN_KEEP {
                n.prologue.push(i);
            }
        }
    }

    fn on_dns<T: HasNaming>(&mut self, flow: &mut Flow<T>, msg: &[u8]) {
        let (sp, dp) = (flow.client().1, flow.server().1);
        if !dns::usable_for_naming(sp, dp) || !dns::looks_like_dns(msg) {
            return;
        }
        // A query after the first teaches nothing new: only answers feed the name map.
        let is_response = msg.get(2).is_some_and(|b| b & 0x80 != 0);
        if !is_response && flow.ext.as_mut().dns_query.is_some() {
            return;
        }
        let Ok(ans) = dns::parse_dns(msg) else {
            return;
        };
        if flow.ext.as_mut().dns_query.is_none() && !ans.qname.is_empty() {
            flow.ext.as_mut().dns_query = Some(ans.qname.clone());
        }
        if !ans.response {
            return;
        }
        if ans.addrs.is_empty() {
            return;
        }
        self.stats.dns_answers += 1;
        self.directory.learn_answer(
            &self.catalog,
            ans.addrs.iter().map(|a| a.addr),
            &ans.qname,
            &ans.cnames,
        );
        let client = flow.client().0;
        for a in &ans.addrs {
            let key = (client, a.addr);
            if !self.dns.contains_key(&key) {
                if self.dns.len() >= DNS_MAP_CAP {
                    if let Some(old) = self.dns_order.pop_front() {
                        self.dns.remove(&old);
                        self.stats.dns_names_evicted += 1;
                    }
                }
                self.dns_order.push_back(key);
            }
            self.dns.insert(key, ans.qname.clone());
        }
    }

    fn on_tcp<T: HasNaming>(&mut self, flow: &mut Flow<T>, pkt: &Packet<'_>, dir: Dir) {
        let Some(tcp) = pkt.tcp else { return };
        let n = flow.ext.as_mut();
        if dir == Dir::Up {
            // The reassembler itself recognises a ClientHello (also behind a PROXY header) and
            // gives up quickly on anything else; it allocates only once a handshake starts.
            if n.tls.is_none() && n.hello.is_none() && !n.tls_finished {
                n.tls = Some(Box::default());
            }
            if let Some(t) = n.tls.as_mut() {
                let p = t.push(tcp.seq, pkt.payload);
                if p == Progress::Done {
                    n.hello = t.take_info();
                    self.stats.client_hellos += 1;
                }
                if p.is_final() {
                    n.tls = None;
                    n.tls_finished = true;
                }
            }
        }
        if dir == Dir::Down && !n.cert_finished && n.cert.is_none() {
            // The certificate matters when the ClientHello did not already name a known
            // service: no SNI, or one the catalog does not know. Other flows skip the buffering.
            let needed = match &n.hello {
                Some(h) => h
                    .sni
                    .as_deref()
                    .is_none_or(|sni| self.catalog.domain(sni).is_none()),
                None => false,
            };
            if !needed {
                n.cert_finished = true;
            }
        }
        if dir == Dir::Down && !n.cert_finished {
            let r = n.cert.get_or_insert_with(Box::default);
            let p = r.push(tcp.seq, pkt.payload);
            if p == Progress::Done {
                n.cert_names = r.take_names();
            }
            if p.is_final() {
                n.cert = None;
                n.cert_finished = true;
            }
        }
        // STUN/TURN over TCP (RFC 4571 framing or plain) in the first segments.
        if stun::looks_like_stun(pkt.payload) {
            if let Some(s) = stun::parse_stun(pkt.payload) {
                self.stats.stun_messages += 1;
                n.stun.get_or_insert_with(Box::default).merge(&s);
            }
        }
        if n.tls_finished && n.cert_finished && n.stun.is_none() {
            n.done = true;
        }
    }

    fn on_udp<T: HasNaming>(&mut self, flow: &mut Flow<T>, pkt: &Packet<'_>, dir: Dir) {
        let ends = [flow.client(), flow.server()];
        let n = flow.ext.as_mut();
        self.udp_dissect(n, pkt, dir);
        if n.call_marker.is_none()
            && (n.stun.is_some()
                || !n.prologue.is_empty()
                || n.rtp_confirmed
                || n.dtls
                || n.rtp_after_quic)
        {
            n.call_marker = self.call_marker(n).or_else(|| {
                // Media plumbing to a call service's published relay range.
                let remote = if is_local(ends[1].0) {
                    ends[0].0
                } else {
                    ends[1].0
                };
                self.catalog
                    .range(remote)
                    .map(|r| (r.service, range_evidence(&self.catalog, r)))
            });
            if let Some((service, evidence)) = &n.call_marker {
                self.claim_sockets(ends, *service, evidence, pkt.ts);
            }
        }
    }

    /// Remember the call's sockets: its local endpoints (private or link-local addresses), or
    /// the client's when neither side is local, and a direct peer's endpoint.
    fn claim_sockets(
        &mut self,
        ends: [(IpAddr, u16); 2],
        service: ServiceId,
        evidence: &Evidence,
        ts: Timestamp,
    ) {
        let mut local: Vec<(IpAddr, u16)> =
            ends.iter().copied().filter(|e| is_local(e.0)).collect();
        if local.is_empty() {
            local.push(ends[0]);
        }
        // A remote endpoint that looks like a peer's own mapping (an unlisted high port outside
        // every service range) rather than a shared server (3478, 19302, a relay range).
        for e in ends {
            let peer_like = !is_local(e.0)
                && e.1 >= 1024
                && self.catalog.ports(proto::UDP, e.1).next().is_none()
                && self.catalog.range(e.0).is_none();
            if peer_like && !local.contains(&e) {
                local.push(e);
            }
        }
        for ep in local {
            if !self.sockets.contains_key(&ep) {
                if self.sockets.len() >= SOCKET_MAP_CAP {
                    if let Some(old) = self.socket_order.pop_front() {
                        self.sockets.remove(&old);
                        self.stats.call_sockets_evicted += 1;
                    }
                }
                self.socket_order.push_back(ep);
            }
            self.sockets.insert(
                ep,
                SocketClaim {
                    service,
                    evidence: evidence.clone(),
                    since: ts,
                },
            );
        }
    }

    /// The call service a flow's own STUN markers or UDP prologue name, with the evidence.
    fn call_marker(&self, n: &FlowNaming) -> Option<(ServiceId, Evidence)> {
        let markers = self.catalog.markers();
        for &i in &n.prologue {
            if let Some(m) = markers.get(usize::from(i)) {
                if let Some((ev, true)) = prologue_evidence(&m.marker) {
                    return Some((m.service, ev));
                }
            }
        }
        if let Some(hit) = markers
            .iter()
            .find_map(|m| quic_then_rtp_hit(n, &m.marker).map(|ev| (m.service, ev)))
        {
            return Some(hit);
        }
        let s = n.stun.as_ref()?;
        markers
            .iter()
            .find_map(|m| stun_hit(s, &m.marker).map(|ev| (m.service, ev)))
    }

    fn udp_dissect(&mut self, n: &mut FlowNaming, pkt: &Packet<'_>, dir: Dir) {
        let p = pkt.payload;
        // QUIC long header: the form and fixed bits set (RFC 9000 §17.2).
        if dir == Dir::Up && n.hello.is_none() && p.first().is_some_and(|b| b & 0xc0 == 0xc0) {
            let q = n.quic.get_or_insert_with(Box::default);
            let progress = q.push_client_datagram(p);
            // Encrypted media of call apps starts with any byte, so a "long header" with a
            // version nobody assigned is not QUIC: only known versions name the flow QUIC.
            if let Some(v) = q.last_version() {
                if !matches!(
                    crate::dissect::quic::QuicVersionKind::of(v),
                    crate::dissect::quic::QuicVersionKind::Unknown(_)
                        | crate::dissect::quic::QuicVersionKind::Negotiation
                ) {
                    n.quic_version = Some(v);
                }
            }
            if progress == Progress::Done {
                if let Some(info) = q.take_info() {
                    n.hello = info.hello;
                    self.stats.quic_initials += 1;
                }
            }
            if progress.is_final() {
                n.quic = None;
            }
            return;
        }
        if dir == Dir::Up && n.quic_version.is_none() && n.hello.is_none() {
            if let Some(v) = crate::dissect::quic::gquic_version(p) {
                n.quic_version = Some(v);
                if let Some(Some(sni)) = crate::dissect::quic::gquic_chlo_sni(p) {
                    n.hello = Some(ClientHelloInfo {
                        sni: Some(sni),
                        ..ClientHelloInfo::default()
                    });
                }
                return;
            }
        }
        match rtp::classify(p) {
            UdpMediaKind::Stun => {
                if let Some(s) = stun::parse_stun(p) {
                    self.stats.stun_messages += 1;
                    n.stun.get_or_insert_with(Box::default).merge(&s);
                }
            }
            UdpMediaKind::Dtls => n.dtls = true,
            UdpMediaKind::Rtp { .. } | UdpMediaKind::Rtcp { .. } => {
                if n.quic_version.is_some() {
                    n.rtp_after_quic = true;
                }
                let t = n.rtp.get_or_insert_with(Box::default);
                t.push(p);
                if matches!(t.state(), rtp::RtpState::Confirmed { .. }) {
                    n.rtp_confirmed = true;
                    n.rtp = None;
                }
            }
            _ => {}
        }
    }

    /// Before a flow leaves the analysis thread: record what other flows' sockets say about it
    /// (claims made after this flow started), so deciding needs nothing but the flow.
    pub fn settle<T: HasNaming>(&mut self, flow: &mut Flow<T>) {
        if flow.proto() != proto::UDP {
            return;
        }
        for ep in [flow.client(), flow.server()] {
            let Some(c) = self.sockets.get(&ep) else {
                continue;
            };
            let near = c.since <= flow.last_ts.plus_secs(SOCKET_CLAIM_SECS)
                && flow.first_ts <= c.since.plus_secs(SOCKET_CLAIM_SECS);
            if near
                && flow
                    .ext
                    .as_ref()
                    .call_marker
                    .as_ref()
                    .is_none_or(|m| m.0 != c.service)
            {
                flow.ext.as_mut().socket_claim = Some((
                    c.service,
                    same_socket_evidence(&self.catalog, ep, c.service, &c.evidence),
                ));
                return;
            }
        }
    }

    /// Lend a flow that names nothing itself the name the capture gave its server so far
    /// (replacing an earlier loan: what is known now is at least as much). Says whether the
    /// flow still waits for a name.
    pub fn lend<T: HasNaming>(&mut self, flow: &mut Flow<T>) -> Lending {
        if !matches!(flow.proto(), proto::TCP | proto::UDP) {
            return Lending::NotNeeded;
        }
        let (client, server) = (flow.client(), flow.server());
        let remote = if is_local(server.0) && !is_local(client.0) {
            client
        } else {
            server
        };
        let n = flow.ext.as_mut();
        if is_local(remote.0) || server.1 == DNS_PORT || client.1 == DNS_PORT || !n.names_nothing()
        {
            return Lending::NotNeeded;
        }
        match self.directory.lookup(remote.0, remote.1) {
            Some(l) => {
                if n.lent.is_none() {
                    self.stats.names_lent += 1;
                }
                n.lent = Some(Box::new(l));
                Lending::Lent
            }
            None => {
                n.lent = None;
                // A prologue that names a service alone names the flow: it need not wait.
                let markers = self.catalog.markers();
                let named = n.prologue.iter().any(|&i| {
                    markers
                        .get(usize::from(i))
                        .and_then(|m| prologue_evidence(&m.marker))
                        .is_some_and(|(_, standalone)| standalone)
                });
                if named {
                    Lending::NotNeeded
                } else {
                    Lending::Waits
                }
            }
        }
    }

    /// What decides a flow's service: the catalog (shared) and the IP databases.
    pub fn attributor(&self, geo: Geo) -> Attributor {
        Attributor::new(Arc::clone(&self.catalog), geo)
    }
}

/// The evidence of a published address range: `ip-list:SERVICE CIDR`.
pub(super) fn range_evidence(catalog: &Catalog, r: &RangeEntry) -> Evidence {
    Evidence::new(
        EvidenceKind::IpList,
        format!("{} {}", catalog.service_name(r.service), r.cidr),
    )
}

/// The evidence of a socket that another flow showed to carry a call service's markers.
fn same_socket_evidence(
    catalog: &Catalog,
    ep: (IpAddr, u16),
    service: ServiceId,
    because: &Evidence,
) -> Evidence {
    Evidence::new(
        EvidenceKind::SameSocket,
        format!(
            "{} as a {} call flow ({because})",
            std::net::SocketAddr::from(ep),
            catalog.service_name(service),
        ),
    )
}

/// The evidence when a STUN summary matches a catalog marker.
pub(super) fn stun_hit(s: &StunSeen, m: &Marker) -> Option<Evidence> {
    match m {
        Marker::Attr(t) => s
            .vendor_attrs
            .contains(t)
            .then(|| Evidence::new(EvidenceKind::StunAttr, format!("0x{t:04x}"))),
        Marker::MsgType(t) => s
            .msg_types
            .contains(t)
            .then(|| Evidence::new(EvidenceKind::StunType, format!("0x{t:04x}"))),
        Marker::Realm(r) => s
            .realm
            .as_deref()
            .filter(|v| v.to_ascii_lowercase().contains(r.as_str()))
            .map(|v| Evidence::new(EvidenceKind::StunRealm, v)),
        Marker::Software(r) => s
            .software
            .as_deref()
            .filter(|v| v.to_ascii_lowercase().contains(r.as_str()))
            .map(|v| Evidence::new(EvidenceKind::StunSoftware, v)),
        Marker::Prefix(_) | Marker::Packet { .. } | Marker::QuicThenRtp(_) | Marker::XmlStream => {
            None
        }
    }
}

/// Evidence of a [`Marker::QuicThenRtp`]: the flow's QUIC version is the marker's, its
/// handshake named no server, and RTP or RTCP came after it.
pub(super) fn quic_then_rtp_hit(n: &FlowNaming, m: &Marker) -> Option<Evidence> {
    let Marker::QuicThenRtp(v) = m else {
        return None;
    };
    let named = n.hello.as_ref().is_some_and(|h| h.sni.is_some());
    (n.rtp_after_quic && !named && n.quic_version == Some(*v)).then(|| {
        let tag = String::from_utf8_lossy(&v.to_be_bytes()).into_owned();
        Evidence::new(
            EvidenceKind::QuicThenRtp,
            format!("{tag} without a server name, then RTP/RTCP on the same 5-tuple"),
        )
    })
}

/// Evidence of a prologue marker, and whether it may name a service by itself (a prefix of at
/// least four bytes, or a packet of an exact length).
pub(super) fn prologue_evidence(m: &Marker) -> Option<(Evidence, bool)> {
    match m {
        Marker::Prefix(p) => Some((
            Evidence::new(EvidenceKind::Prologue, format!("0x{}", hex(p))),
            p.len() >= MIN_STANDALONE_PREFIX,
        )),
        Marker::Packet { prefix, len } => Some((
            Evidence::new(EvidenceKind::Prologue, format!("0x{}/{len}", hex(prefix))),
            true,
        )),
        _ => None,
    }
}

/// A clear-text XML stanza (`<?xml`, `<stream:stream`, `<iq`, ...) starts here.
fn is_xml_stanza(p: &[u8]) -> bool {
    let p = p.trim_ascii_start();
    matches!(p, [b'<', c, ..] if c.is_ascii_alphabetic() || *c == b'?' || *c == b'/')
}

/// Longest request head searched for a Host header: request lines and headers of real clients
/// fit in far less.
const HTTP_HEAD_LIMIT: usize = 2048;

/// The Host of a clear-text HTTP/1.x request (RFC 9112 §3.2), or the target of a CONNECT,
/// without its port. Only the first payload of a flow is looked at.
fn http_host(p: &[u8]) -> Option<String> {
    const METHODS: [&[u8]; 9] = [
        b"GET ",
        b"POST ",
        b"HEAD ",
        b"PUT ",
        b"DELETE ",
        b"OPTIONS ",
        b"PATCH ",
        b"CONNECT ",
        b"TRACE ",
    ];
    let head = &p[..p.len().min(HTTP_HEAD_LIMIT)];
    let method = METHODS.iter().find(|m| head.starts_with(m))?;
    let clean = |h: &[u8]| -> Option<String> {
        let h = std::str::from_utf8(h).ok()?.trim();
        let h = match h.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
            _ => h,
        };
        let h = h.trim_start_matches('[').trim_end_matches(']');
        (!h.is_empty()
            && h.len() <= 253
            && h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.:_".contains(&b)))
        .then(|| h.to_ascii_lowercase())
    };
    if *method == b"CONNECT " {
        let rest = &head[method.len()..];
        let end = rest.iter().position(|&b| b == b' ')?;
        return clean(&rest[..end]);
    }
    let mut lines = head.split(|&b| b == b'\n').skip(1);
    lines.find_map(|l| {
        let l = l.strip_suffix(b"\r").unwrap_or(l);
        let (k, v) = l.split_at(l.iter().position(|&b| b == b':')?);
        k.eq_ignore_ascii_case(b"host")
            .then(|| clean(&v[1..]))
            .flatten()
    })
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
