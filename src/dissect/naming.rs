//! Naming a flow: run the dissectors on its first packets, then weigh what they found.
//!
//! Per flow, [`FlowNaming`] holds what the dissectors read in the clear (the ClientHello of TLS
//! or QUIC, the name this client looked up for this server in DNS, STUN attributes, a protocol
//! prologue) and the small bounded trackers still at work. [`Namer::on_packet`] feeds a flow's
//! packets to the trackers until each is done or the flow has passed
//! [`DISSECT_PACKET_LIMIT`] packets; after that a packet costs one comparison. When the flow
//! ends, [`Namer::attribute`] decides its service.
//!
//! Deciding: the strongest evidence wins, and every piece found is listed, strongest first:
//! 1. the server name of a TLS or QUIC ClientHello (`sni:`), unless Encrypted Client Hello
//!    makes it a cover name;
//! 2. the name the client looked up in DNS for this server (`dns:`);
//! 3. vendor STUN markers or a protocol prologue (`stun-attr:`, `stun-realm:`, `prologue:`);
//! 4. the service's published address ranges (`ip-list:`);
//! 5. the autonomous system, which names the company, never the app (`asn:`);
//! 6. the port (`port:`), the weakest hint, used alone only when it points to one service.
//!
//! A DNS flow is named after the service of the name it asks for, with the role `dns`.
//!
//! This module must never keep payload bytes: trackers drop their buffers as soon as they are
//! done, and only parsed fields stay.

use std::collections::VecDeque;
use std::net::IpAddr;

use rustc_hash::FxHashMap;

use super::catalog::{Catalog, Marker, Role, ServiceId};
use super::geo::{Geo, GeoInfo, is_local};
use super::quic::QuicInitialTracker;
use super::rtp::{self, RtpTracker, UdpMediaKind};
use super::stun::{self, StunInfo};
use super::tls::{ClientHelloInfo, TlsClientHelloReassembler};
use super::{Progress, dns};
use crate::decode::{Packet, proto};
use crate::flow::{Dir, Flow, Observed};

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
    /// Whether the first payload of each direction was checked for prologue markers.
    prologue_checked: [bool; 2],
    pub hello: Option<ClientHelloInfo>,
    pub quic_version: Option<String>,
    /// The name this client looked up for this server, from DNS answers seen earlier.
    pub dns_name: Option<String>,
    /// For a DNS flow: the name it asked for.
    pub dns_query: Option<String>,
    pub stun: Option<Box<StunSeen>>,
    /// Indices of prologue markers (in the catalog) that matched a first payload.
    pub prologue: Vec<u16>,
    pub rtp_confirmed: bool,
    pub dtls: bool,
}

/// The decision for one flow.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Attribution {
    pub service: Option<String>,
    pub role: Option<Role>,
    /// Evidence strings, strongest first.
    pub evidence: Vec<String>,
    /// 0 to 1: how much the deciding evidence is worth.
    pub confidence: f64,
    /// What is known about the server side.
    pub remote: GeoInfo,
}

/// Counters of the naming stage.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct NamingStats {
    pub dns_answers: u64,
    pub dns_names_evicted: u64,
    pub client_hellos: u64,
    pub quic_initials: u64,
    pub stun_messages: u64,
}

/// Runs dissectors and decides.
pub struct Namer {
    pub catalog: Catalog,
    pub geo: Geo,
    dns: FxHashMap<(IpAddr, IpAddr), String>,
    dns_order: VecDeque<(IpAddr, IpAddr)>,
    pub stats: NamingStats,
}

impl std::fmt::Debug for Namer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Namer").field("stats", &self.stats).finish()
    }
}

/// Weight of each kind of evidence, the confidence reported when it decides.
mod weight {
    pub const SNI: f64 = 0.95;
    pub const DNS: f64 = 0.85;
    pub const MARKER: f64 = 0.8;
    pub const IP_LIST: f64 = 0.7;
    pub const ASN: f64 = 0.4;
    pub const PORT: f64 = 0.3;
}

impl Namer {
    pub fn new(catalog: Catalog, geo: Geo) -> Self {
        Self {
            catalog,
            geo,
            dns: FxHashMap::default(),
            dns_order: VecDeque::new(),
            stats: NamingStats::default(),
        }
    }

    /// Feed one packet of `flow` (already accounted by the flow table).
    pub fn on_packet(&mut self, flow: &mut Flow<FlowNaming>, pkt: &Packet<'_>, obs: Observed) {
        if obs.new {
            let (client, server) = (flow.client().0, flow.server().0);
            if let Some(name) = self.dns.get(&(client, server)) {
                flow.ext.dns_name = Some(name.clone());
            }
        }
        if flow.ext.done {
            return;
        }
        if flow.packets() > DISSECT_PACKET_LIMIT {
            let n = &mut flow.ext;
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
        if !flow.ext.prologue_checked[dir_idx] {
            flow.ext.prologue_checked[dir_idx] = true;
            self.check_prologue(&mut flow.ext, pkt.payload);
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
            _ => flow.ext.done = true,
        }
    }

    fn check_prologue(&self, n: &mut FlowNaming, payload: &[u8]) {
        for (i, m) in self.catalog.markers().iter().enumerate() {
            if let Marker::Prefix(p) = &m.marker {
                if payload.starts_with(p) && n.prologue.len() < STUN_KEEP {
                    n.prologue.push(i as u16);
                }
            }
        }
    }

    fn on_dns(&mut self, flow: &mut Flow<FlowNaming>, msg: &[u8]) {
        let (sp, dp) = (flow.client().1, flow.server().1);
        if !dns::usable_for_naming(sp, dp) || !dns::looks_like_dns(msg) {
            return;
        }
        let Ok(ans) = dns::parse_dns(msg) else {
            return;
        };
        if flow.ext.dns_query.is_none() && !ans.qname.is_empty() {
            flow.ext.dns_query = Some(ans.qname.clone());
        }
        if !ans.response {
            return;
        }
        self.stats.dns_answers += 1;
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

    fn on_tcp(&mut self, flow: &mut Flow<FlowNaming>, pkt: &Packet<'_>, dir: Dir) {
        let Some(tcp) = pkt.tcp else { return };
        let n = &mut flow.ext;
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
        // STUN/TURN over TCP (RFC 4571 framing or plain) in the first segments.
        if stun::looks_like_stun(pkt.payload) {
            if let Some(s) = stun::parse_stun(pkt.payload) {
                self.stats.stun_messages += 1;
                n.stun.get_or_insert_with(Box::default).merge(&s);
            }
        }
        if n.tls_finished && n.stun.is_none() {
            n.done = true;
        }
    }

    fn on_udp(&mut self, flow: &mut Flow<FlowNaming>, pkt: &Packet<'_>, dir: Dir) {
        let n = &mut flow.ext;
        let p = pkt.payload;
        // QUIC long header: the form and fixed bits set (RFC 9000 §17.2).
        if dir == Dir::Up && n.hello.is_none() && p.first().is_some_and(|b| b & 0xc0 == 0xc0) {
            let q = n.quic.get_or_insert_with(Box::default);
            let progress = q.push_client_datagram(p);
            if let Some(v) = q.last_version() {
                n.quic_version = Some(super::quic::QuicVersionKind::of(v).to_string());
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
            if let Some(v) = super::quic::gquic_version(p) {
                n.quic_version = Some(super::quic::QuicVersionKind::of(v).to_string());
                if let Some(Some(sni)) = super::quic::gquic_chlo_sni(p) {
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

    /// Decide the service of a flow from everything found, strongest evidence first.
    pub fn attribute(&self, flow: &Flow<FlowNaming>) -> Attribution {
        let n = &flow.ext;
        let (server_ip, server_port) = flow.server();
        let (client_ip, _) = flow.client();
        // The remote side: the server, unless the server is local and the client is not.
        let remote_ip = if is_local(server_ip) && !is_local(client_ip) {
            client_ip
        } else {
            server_ip
        };
        let remote = if is_local(remote_ip) {
            GeoInfo::default()
        } else {
            self.geo.lookup(remote_ip)
        };
        let mut a = Attribution {
            remote,
            ..Attribution::default()
        };
        let decide = |a: &mut Attribution, id: ServiceId, role: Role, w: f64| {
            if a.service.is_none() {
                a.service = Some(self.catalog.service_name(id).to_string());
                a.role = Some(role);
                a.confidence = w;
            }
        };
        // 1. SNI.
        if let Some(h) = &n.hello {
            if let Some(sni) = &h.sni {
                let cover = if h.ech { " (ECH outer name)" } else { "" };
                match self.catalog.domain(sni) {
                    Some((_, e)) => {
                        a.evidence.push(format!("sni:{sni}{cover}"));
                        if !h.ech {
                            decide(&mut a, e.service, e.role, weight::SNI);
                        }
                    }
                    None => a.evidence.push(format!("sni:{sni}{cover}")),
                }
            }
        }
        // DNS flows: the name asked for.
        if let Some(q) = &n.dns_query {
            a.evidence.push(format!("dns-query:{q}"));
            if let Some((_, e)) = self.catalog.domain(q) {
                decide(&mut a, e.service, Role::Dns, weight::DNS);
            }
        }
        // 2. The name looked up for this server.
        if let Some(name) = &n.dns_name {
            a.evidence.push(format!("dns:{name}"));
            if let Some((_, e)) = self.catalog.domain(name) {
                decide(&mut a, e.service, e.role, weight::DNS);
            }
        }
        // 3. STUN markers and prologues.
        let markers = self.catalog.markers();
        let mut weak_prefix: Vec<(ServiceId, String)> = Vec::new();
        for &i in &n.prologue {
            if let Some(m) = markers.get(usize::from(i)) {
                if let Marker::Prefix(p) = &m.marker {
                    let ev = format!("prologue:0x{}", hex(p));
                    if p.len() >= MIN_STANDALONE_PREFIX {
                        a.evidence.push(ev);
                        let role = if flow.proto() == proto::UDP {
                            Role::Call
                        } else {
                            Role::Chat
                        };
                        decide(&mut a, m.service, role, weight::MARKER);
                    } else {
                        weak_prefix.push((m.service, ev));
                    }
                }
            }
        }
        if let Some(s) = &n.stun {
            for m in markers {
                let hit = match &m.marker {
                    Marker::Attr(t) => s
                        .vendor_attrs
                        .contains(t)
                        .then(|| format!("stun-attr:0x{t:04x}")),
                    Marker::MsgType(t) => s
                        .msg_types
                        .contains(t)
                        .then(|| format!("stun-type:0x{t:04x}")),
                    Marker::Realm(r) => s
                        .realm
                        .as_deref()
                        .filter(|v| v.to_ascii_lowercase().contains(r.as_str()))
                        .map(|v| format!("stun-realm:{v}")),
                    Marker::Software(r) => s
                        .software
                        .as_deref()
                        .filter(|v| v.to_ascii_lowercase().contains(r.as_str()))
                        .map(|v| format!("stun-software:{v}")),
                    Marker::Prefix(_) => None,
                };
                if let Some(ev) = hit {
                    if !a.evidence.contains(&ev) {
                        a.evidence.push(ev);
                    }
                    decide(&mut a, m.service, Role::Call, weight::MARKER);
                }
            }
        }
        // 4. Published address ranges.
        if let Some(r) = self.catalog.range(remote_ip) {
            a.evidence.push(format!(
                "ip-list:{} {}",
                self.catalog.service_name(r.service),
                r.cidr
            ));
            for (svc, ev) in &weak_prefix {
                if *svc == r.service {
                    a.evidence.push(ev.clone());
                }
            }
            let role = if n.stun.is_some() || n.rtp_confirmed {
                Role::Call
            } else {
                r.role
            };
            decide(&mut a, r.service, role, weight::IP_LIST);
        }
        // 5. The autonomous system names the company only.
        if let Some(asn) = a.remote.asn {
            let org = a.remote.as_org.clone().unwrap_or_default();
            a.evidence
                .push(format!("asn:AS{asn} {org}").trim_end().to_string());
            if a.service.is_none() {
                if let Some(e) = self.catalog.asn(asn) {
                    a.service = Some(e.company.clone());
                    a.role = None;
                    a.confidence = weight::ASN;
                }
            }
        }
        // 6. The port, only when it points to exactly one service.
        let mut port_services: Vec<(ServiceId, Role)> = Vec::new();
        for p in self.catalog.ports(flow.proto(), server_port) {
            if !port_services.iter().any(|(s, _)| *s == p.service) {
                port_services.push((p.service, p.role));
            }
        }
        if !port_services.is_empty() {
            let names: Vec<&str> = port_services
                .iter()
                .map(|(s, _)| self.catalog.service_name(*s))
                .collect();
            a.evidence.push(format!(
                "port:{}/{} {}",
                crate::flow::proto_name(flow.proto()),
                server_port,
                names.join("|")
            ));
            if let [(s, role)] = port_services[..] {
                if a.service.is_none() && !is_generic_port(server_port) {
                    decide(&mut a, s, role, weight::PORT);
                }
            }
        }
        if n.rtp_confirmed {
            a.evidence.push("rtp".into());
        }
        if n.dtls {
            a.evidence.push("dtls".into());
        }
        a
    }
}

/// Ports too widely shared to name a service by themselves (web, DNS, generic STUN/TURN).
fn is_generic_port(p: u16) -> bool {
    matches!(p, 80 | 443 | 53 | 3478 | 5349 | 8080 | 8443)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
