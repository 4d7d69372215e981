//! Deciding a flow's service from what the dissectors found on it ([`FlowNaming`]).
//!
//! The strongest evidence wins, and every piece found is listed, strongest first. Each tier
//! below is one function, and [`Attributor::attribute`] calls them in this order:
//! 1. the server name of a TLS or QUIC ClientHello (`sni:`), unless Encrypted Client Hello
//!    makes it a cover name; then the Host of a clear-text HTTP request (`http-host:`) and the
//!    subject of a clear-text server certificate (`cert:`);
//! 2. on a DNS flow, the name it asks for (`dns-query:`), which names the service with the role
//!    `dns`; then the name the client looked up in DNS for this server (`dns:`);
//! 3. vendor STUN markers or a protocol prologue (`stun-attr:`, `stun-realm:`, `prologue:`,
//!    `quic-then-rtp:`, `xml-stream`), then what another flow of the same socket said
//!    (`same-socket:`), then, for a flow that names nothing itself, the name another flow of
//!    the capture or a DNS answer gave its server (`same-server:`, see [`super::directory`]);
//! 4. the service's published address ranges (`ip-list:`), and short prologues that a range or
//!    a port of their own service corroborates;
//! 5. the autonomous system, which names the company, never the app (`asn:`), unless one of
//!    the company's services is the only one the catalog lists for the port;
//! 6. the port (`port:`), the weakest hint, used alone only when it points to one service.
//!
//! When nothing named an app, the autonomous system names the company. Only TCP and UDP flows
//! are named; `rtp` and `dtls` close the list when seen.
//!
//! A flow's role comes from its transport, port and behaviour, never from an address alone: a
//! range's or a borrowed name's `call` role holds on UDP or with STUN, RTP or DTLS seen; on
//! TCP without them it is the role the catalog gives the service on that TCP port, else `chat`
//! (see [`transport_role`]).
//!
//! Deciding reads only the flow's settled naming state and bundled data, so it can run on any
//! thread and gives the same answer wherever it runs. It never sees payload.

use std::net::IpAddr;
use std::sync::Arc;

use super::catalog::{Catalog, Marker, Role, ServiceId};
use super::geo::{Geo, GeoInfo, is_local};
use super::namer::{
    FlowNaming, HasNaming, prologue_evidence, quic_then_rtp_hit, range_evidence, stun_hit,
};
use crate::decode::{proto, tcp_flag};
use crate::flow::Flow;
use crate::model::{Evidence, EvidenceKind};

/// Weight of each kind of evidence, the confidence reported when it decides.
mod weight {
    pub const SNI: f64 = 0.95;
    /// A server name next to an Encrypted Client Hello extension: browsers send a GREASE one
    /// with the real name, so a service's own name there was not hidden.
    pub const SNI_WITH_ECH: f64 = 0.9;
    pub const HTTP_HOST: f64 = 0.9;
    /// A name in the server's clear-text certificate: chosen by the server, so it names the
    /// service as surely as the SNI, but a shared certificate may cover several services.
    pub const CERT: f64 = 0.85;
    pub const DNS: f64 = 0.85;
    /// Another flow of the same socket carried a call service's markers.
    pub const SAME_SOCKET: f64 = 0.75;
    /// A short protocol prologue on a port its service uses.
    pub const PREFIX_AND_PORT: f64 = 0.7;
    /// A port one service uses, on an AS of the company that runs that service.
    pub const ASN_AND_PORT: f64 = 0.6;
    pub const MARKER: f64 = 0.8;
    pub const IP_LIST: f64 = 0.7;
    pub const ASN: f64 = 0.4;
    pub const PORT: f64 = 0.3;
    /// A name borrowed from another flow of the same server is worth a little less than on
    /// the flow that showed it: the address may serve more than the one name seen.
    pub const LEND_DISCOUNT: f64 = 0.1;

    /// The weight of a name learnt in this way on the flow that showed it.
    pub fn of_name(how: crate::model::EvidenceKind) -> f64 {
        use crate::model::EvidenceKind as K;
        match how {
            K::Sni => SNI,
            K::HttpHost => HTTP_HOST,
            K::Cert => CERT,
            _ => DNS,
        }
    }
}

/// The decision for one flow.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Attribution {
    pub service: Option<String>,
    pub role: Option<Role>,
    /// Evidence, strongest first.
    pub evidence: Vec<Evidence>,
    /// 0 to 1: how much the deciding evidence is worth.
    pub confidence: f64,
    /// What is known about the server side.
    pub remote: GeoInfo,
    /// When only the network named the company behind the flow: the services it runs.
    #[serde(skip)]
    pub company_services: Arc<[String]>,
}

/// Decides a flow's service from its settled naming state alone, so it can run on another
/// thread than the analysis (the writer's), and gives the same answer wherever it runs.
pub struct Attributor {
    catalog: Arc<Catalog>,
    geo: Geo,
}

impl std::fmt::Debug for Attributor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attributor").finish_non_exhaustive()
    }
}

impl Attributor {
    /// What decides with `catalog` (shared with the namer) and the IP databases.
    pub(super) fn new(catalog: Arc<Catalog>, geo: Geo) -> Self {
        Self { catalog, geo }
    }

    /// Decide the service of a flow from everything found, strongest evidence first.
    pub fn attribute<T: HasNaming>(&self, flow: &Flow<T>) -> Attribution {
        let f = Facts::of(flow);
        let remote = if is_local(f.remote_ip) {
            GeoInfo::default()
        } else {
            self.geo.lookup(f.remote_ip)
        };
        weigh(&self.catalog, &f, remote)
    }
}

/// What the tiers read of a flow: its naming state and where its server is.
#[derive(Clone, Copy, Debug)]
struct Facts<'a> {
    n: &'a FlowNaming,
    proto: u8,
    server_port: u16,
    /// The remote side: the server, unless the server is local and the client is not.
    remote_ip: IpAddr,
    /// The flow carried data both ways (or some after a full TCP handshake) with a remote on
    /// the Internet: a conversation, not a scan.
    conversed: bool,
}

impl<'a> Facts<'a> {
    fn of<T: HasNaming>(flow: &'a Flow<T>) -> Self {
        let (server_ip, server_port) = flow.server();
        let (client_ip, _) = flow.client();
        let remote_ip = if is_local(server_ip) && !is_local(client_ip) {
            client_ip
        } else {
            server_ip
        };
        let both_ways = flow.up.payload_bytes > 0 && flow.down.payload_bytes > 0;
        let established =
            flow.up.tcp_flags & tcp_flag::SYN != 0 && flow.down.tcp_flags & tcp_flag::SYN != 0;
        let conversed = !is_local(remote_ip)
            && match flow.proto() {
                proto::TCP => {
                    (established && flow.up.payload_bytes + flow.down.payload_bytes > 0)
                        || both_ways
                }
                _ => both_ways,
            };
        Self {
            n: flow.ext.as_ref(),
            proto: flow.proto(),
            server_port,
            remote_ip,
            conversed,
        }
    }

    /// A host's role, or `call` when the flow carried STUN, RTP or DTLS.
    fn media_role(&self, r: Role) -> Role {
        if self.n.stun.is_some() || self.n.rtp_confirmed || self.n.dtls {
            Role::Call
        } else {
            r
        }
    }

    /// The flow showed a server name in the clear (SNI, certificate or HTTP Host).
    fn named_in_clear(&self) -> bool {
        self.n.hello.as_ref().is_some_and(|h| h.sni.is_some())
            || !self.n.cert_names.is_empty()
            || self.n.http_host.is_some()
    }
}

/// A decision under way: the evidence found so far, and the service once one decided.
struct Draft<'c> {
    catalog: &'c Catalog,
    a: Attribution,
    /// Prologues too short to name a service alone: they count only beside a range or a port
    /// of the same service.
    weak_prefix: Vec<(ServiceId, Evidence)>,
}

impl<'c> Draft<'c> {
    fn new(catalog: &'c Catalog, remote: GeoInfo) -> Self {
        Self {
            catalog,
            a: Attribution {
                remote,
                ..Attribution::default()
            },
            weak_prefix: Vec::new(),
        }
    }

    fn push(&mut self, kind: EvidenceKind, detail: impl Into<String>) {
        self.a.evidence.push(Evidence::new(kind, detail));
    }

    /// Name the service, unless stronger evidence already did.
    fn decide(&mut self, id: ServiceId, role: Role, weight: f64) {
        if self.a.service.is_none() {
            self.a.service = Some(self.catalog.service_name(id).to_string());
            self.a.role = Some(role);
            self.a.confidence = weight;
        }
    }
}

/// The driver: every tier in order, strongest first (see the module doc).
fn weigh(catalog: &Catalog, f: &Facts<'_>, remote: GeoInfo) -> Attribution {
    let mut d = Draft::new(catalog, remote);
    client_hello_name(f, &mut d);
    clear_text_names(f, &mut d);
    dns_flow_query(f, &mut d);
    dns_name(f, &mut d);
    prologues(f, &mut d);
    stun_markers(f, &mut d);
    xml_stream(f, &mut d);
    socket_claims(f, &mut d);
    same_server(f, &mut d);
    address_range(f, &mut d);
    let ports = port_services(catalog, f);
    prefix_on_port(&ports, &mut d);
    // A name seen in the clear that the catalog does not know says the flow is something
    // else: then ports do not name it.
    let unknown_name = d.a.service.is_none() && f.named_in_clear();
    network(f, &ports, unknown_name, &mut d);
    port(f, &ports, unknown_name, &mut d);
    company(&mut d);
    finish(f, d)
}

/// 1. The server name of a TLS or QUIC ClientHello. Beside an ECH extension an unknown name
///    may be a cover name; a known service's own name was not hidden.
fn client_hello_name(f: &Facts<'_>, d: &mut Draft<'_>) {
    let Some(hello) = &f.n.hello else { return };
    let Some(sni) = &hello.sni else { return };
    match (d.catalog.domain(sni).map(|(_, e)| e), hello.ech) {
        (Some(e), false) => {
            d.push(EvidenceKind::Sni, sni.as_str());
            d.decide(e.service, f.media_role(e.role), weight::SNI);
        }
        (Some(e), true) => {
            d.push(
                EvidenceKind::Sni,
                format!("{sni} (beside an ECH extension, name not hidden)"),
            );
            d.decide(e.service, f.media_role(e.role), weight::SNI_WITH_ECH);
        }
        (None, true) => d.push(
            EvidenceKind::Sni,
            format!("{sni} (ECH: may be a cover name)"),
        ),
        (None, false) => d.push(EvidenceKind::Sni, sni.as_str()),
    }
}

/// 1. The Host of a clear-text HTTP request, then the server certificate's subject name (TLS
///    1.2 and older). Only the subject decides: shared certificates list many services among
///    their alternative names.
fn clear_text_names(f: &Facts<'_>, d: &mut Draft<'_>) {
    if let Some(host) = &f.n.http_host {
        d.push(EvidenceKind::HttpHost, host.as_str());
        if let Some((_, e)) = d.catalog.domain(host) {
            d.decide(e.service, e.role, weight::HTTP_HOST);
        }
    }
    if let Some(cn) = f.n.cert_names.first() {
        d.push(EvidenceKind::Cert, cn.as_str());
        if let Some((_, e)) = d.catalog.domain(cn.trim_start_matches("*.")) {
            d.decide(e.service, f.media_role(e.role), weight::CERT);
        }
    }
}

/// A DNS flow: named after the service of the name it asks for, with the role `dns`.
fn dns_flow_query(f: &Facts<'_>, d: &mut Draft<'_>) {
    if let Some(q) = &f.n.dns_query {
        d.push(EvidenceKind::DnsQuery, q.as_str());
        if let Some((_, e)) = d.catalog.domain(q) {
            d.decide(e.service, Role::Dns, weight::DNS);
        }
    }
}

/// 2. The name this client looked up in DNS for this server.
fn dns_name(f: &Facts<'_>, d: &mut Draft<'_>) {
    if let Some(name) = &f.n.dns_name {
        d.push(EvidenceKind::Dns, name.as_str());
        if let Some((_, e)) = d.catalog.domain(name) {
            d.decide(e.service, f.media_role(e.role), weight::DNS);
        }
    }
}

/// 3. Protocol prologues long enough (or of an exact packet length) to name a service alone;
///    shorter ones are kept for the range and port tiers.
fn prologues(f: &Facts<'_>, d: &mut Draft<'_>) {
    let markers = d.catalog.markers();
    for &i in &f.n.prologue {
        let Some(m) = markers.get(usize::from(i)) else {
            continue;
        };
        let Some((ev, standalone)) = prologue_evidence(&m.marker) else {
            continue;
        };
        if standalone {
            d.a.evidence.push(ev);
            let role = if f.proto == proto::UDP {
                Role::Call
            } else {
                Role::Chat
            };
            d.decide(m.service, role, weight::MARKER);
        } else {
            d.weak_prefix.push((m.service, ev));
        }
    }
}

/// 3. A QUIC handshake without a server name followed by RTP, then vendor STUN markers.
fn stun_markers(f: &Facts<'_>, d: &mut Draft<'_>) {
    let markers = d.catalog.markers();
    if f.n.rtp_after_quic {
        for m in markers {
            if let Some(ev) = quic_then_rtp_hit(f.n, &m.marker) {
                d.a.evidence.push(ev);
                d.decide(m.service, Role::Call, weight::MARKER);
            }
        }
    }
    if let Some(s) = &f.n.stun {
        for m in markers {
            if let Some(ev) = stun_hit(s, &m.marker) {
                if !d.a.evidence.contains(&ev) {
                    d.a.evidence.push(ev);
                }
                d.decide(m.service, Role::Call, weight::MARKER);
            }
        }
    }
}

/// 3. A clear-text XML stream, on a port of the service the catalog says such streams name
///    (stun.tsv, kind `xml-stream`).
fn xml_stream(f: &Facts<'_>, d: &mut Draft<'_>) {
    if !f.n.xml {
        return;
    }
    let catalog = d.catalog;
    let on_its_port = |svc: ServiceId| {
        catalog
            .ports(f.proto, f.server_port)
            .any(|p| p.service == svc)
    };
    if let Some(m) = catalog
        .markers()
        .iter()
        .find(|m| m.marker == Marker::XmlStream && on_its_port(m.service))
    {
        d.a.evidence.push(Evidence::flag(EvidenceKind::XmlStream));
        d.decide(m.service, Role::Chat, weight::MARKER);
    }
}

/// 3b. Another flow of the same socket carried a call service's markers: seen when this flow
///     started, or claimed later by another flow (then only when nothing else named this one).
fn socket_claims(f: &Facts<'_>, d: &mut Draft<'_>) {
    if let Some((svc, ev)) =
        f.n.call_marker
            .as_ref()
            .filter(|(_, ev)| ev.kind == EvidenceKind::SameSocket)
    {
        d.a.evidence.push(ev.clone());
        d.decide(*svc, Role::Call, weight::SAME_SOCKET);
    }
    if let Some((svc, ev)) = &f.n.socket_claim {
        if d.a.service.is_none() {
            d.a.evidence.push(ev.clone());
            d.decide(*svc, Role::Call, weight::SAME_SOCKET);
        }
    }
}

/// 3c. A flow that names nothing itself: the name another flow of the capture or a DNS answer
///     gave its server, a little less surely than there.
fn same_server(f: &Facts<'_>, d: &mut Draft<'_>) {
    let Some(l) = &f.n.lent else { return };
    if !f.n.names_nothing() {
        return;
    }
    d.a.evidence.push(l.evidence.clone());
    let role = transport_role(d.catalog, f, l.service, l.role);
    d.decide(
        l.service,
        role,
        weight::of_name(l.how) - weight::LEND_DISCOUNT,
    );
}

/// 4. The service's published address ranges, with the short prologues of the same service.
fn address_range(f: &Facts<'_>, d: &mut Draft<'_>) {
    let Some(r) = d.catalog.range(f.remote_ip) else {
        return;
    };
    d.a.evidence.push(range_evidence(d.catalog, r));
    for (svc, ev) in &d.weak_prefix {
        if *svc == r.service {
            d.a.evidence.push(ev.clone());
        }
    }
    let role = transport_role(d.catalog, f, r.service, r.role);
    d.decide(r.service, role, weight::IP_LIST);
}

/// The role of a flow named by where its server is (a range, a borrowed name): STUN, RTP or
/// DTLS on it make it a call flow; a `call` host reached over TCP without them carries the
/// role the catalog gives the service on that TCP port (Zoom's 8801, TURN over TCP), else
/// `chat`: calls carry their media over UDP and fall back to TCP only through TURN or ICE-TCP
/// (RFC 8835, Transports for WebRTC; such fallback ports are listed in ports.tsv), while the
/// same hosts' TLS on 443 is signalling. When the flow itself named a host the catalog does not
/// know (Microsoft's telemetry `mobile.pipe.aria.microsoft.com` inside Teams' range), it is
/// `web`: another site on the service's network, not the app's chat.
fn transport_role(catalog: &Catalog, f: &Facts<'_>, service: ServiceId, role: Role) -> Role {
    let role = f.media_role(role);
    if role != Role::Call || f.proto != proto::TCP || f.media_role(Role::Chat) == Role::Call {
        return role;
    }
    // Reaching this tier with a clear name means the catalog does not know the name.
    let fallback = if f.named_in_clear() {
        Role::Web
    } else {
        Role::Chat
    };
    catalog
        .ports(proto::TCP, f.server_port)
        .find(|p| p.service == service)
        .map_or(fallback, |p| p.role)
}

/// The services the catalog lists for the server port, each once, with its role there.
fn port_services(catalog: &Catalog, f: &Facts<'_>) -> Vec<(ServiceId, Role)> {
    let mut services: Vec<(ServiceId, Role)> = Vec::new();
    for p in catalog.ports(f.proto, f.server_port) {
        if !services.iter().any(|(s, _)| *s == p.service) {
            services.push((p.service, p.role));
        }
    }
    services
}

/// 4b. A short prologue is trusted when the port is one its service uses.
fn prefix_on_port(ports: &[(ServiceId, Role)], d: &mut Draft<'_>) {
    for (svc, ev) in std::mem::take(&mut d.weak_prefix) {
        if let Some(&(_, role)) = ports.iter().find(|(s, _)| *s == svc) {
            d.a.evidence.push(ev);
            d.decide(svc, role, weight::PREFIX_AND_PORT);
        }
    }
}

/// 5. The autonomous system names the company; with a port that only one of its services
///    uses (and that is not everyone's), that service.
fn network(f: &Facts<'_>, ports: &[(ServiceId, Role)], unknown_name: bool, d: &mut Draft<'_>) {
    let Some(asn) = d.a.remote.asn else { return };
    let org = d.a.remote.as_org.as_deref().unwrap_or_default();
    let detail = format!("AS{asn} {org}").trim_end().to_string();
    d.push(EvidenceKind::Asn, detail);
    let Some(e) = d.catalog.asn(asn) else { return };
    if unknown_name {
        return;
    }
    let run_by_company: Vec<(ServiceId, Role)> = ports
        .iter()
        .copied()
        .filter(|(s, _)| e.services.contains(s))
        .collect();
    if let [(s, role)] = run_by_company[..] {
        if !is_generic_port(f.server_port) {
            d.decide(s, f.media_role(role), weight::ASN_AND_PORT);
        }
    }
}

/// 6. The port: always listed; alone it names a service only for a flow that conversed with a
///    remote on the Internet, on a port that is not generic and points to one service, once
///    services run only from other networks are ruled out (Apple Push is only served from
///    Apple's networks, for instance).
fn port(f: &Facts<'_>, ports: &[(ServiceId, Role)], unknown_name: bool, d: &mut Draft<'_>) {
    if ports.is_empty() {
        return;
    }
    let names: Vec<&str> = ports
        .iter()
        .map(|(s, _)| d.catalog.service_name(*s))
        .collect();
    let detail = format!(
        "{}/{} {}",
        crate::flow::proto_name(f.proto),
        f.server_port,
        names.join("|")
    );
    d.push(EvidenceKind::Port, detail);
    let candidates: Vec<(ServiceId, Role)> = ports
        .iter()
        .copied()
        .filter(|(s, _)| {
            let operated_by: Vec<u32> = d.catalog.asns_running(*s);
            operated_by.is_empty() || d.a.remote.asn.is_some_and(|n| operated_by.contains(&n))
        })
        .collect();
    if let [(s, role)] = candidates[..] {
        if f.conversed && !unknown_name && !is_generic_port(f.server_port) {
            d.decide(s, role, weight::PORT);
        }
    }
}

/// When nothing named an app: the company whose network the remote is on, and its services.
fn company(d: &mut Draft<'_>) {
    if d.a.service.is_some() {
        return;
    }
    if let Some(e) = d.a.remote.asn.and_then(|n| d.catalog.asn(n)) {
        d.a.service = Some(e.company.clone());
        d.a.role = None;
        d.a.confidence = weight::ASN;
        d.a.company_services = Arc::clone(&e.service_names);
    }
}

/// Only TCP and UDP flows are named (an ICMP echo to a service's server says little); RTP and
/// DTLS close the evidence.
fn finish(f: &Facts<'_>, d: Draft<'_>) -> Attribution {
    let mut a = d.a;
    if !matches!(f.proto, proto::TCP | proto::UDP) {
        a.service = None;
        a.role = None;
        a.confidence = 0.0;
    }
    if f.n.rtp_confirmed {
        a.evidence.push(Evidence::flag(EvidenceKind::Rtp));
    }
    if f.n.dtls {
        a.evidence.push(Evidence::flag(EvidenceKind::Dtls));
    }
    a
}

/// Ports too widely shared to name a service by themselves (web, DNS, generic STUN/TURN).
fn is_generic_port(p: u16) -> bool {
    matches!(p, 80 | 443 | 53 | 3478 | 5349 | 8080 | 8443)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::dissect::tls::ClientHelloInfo;

    /// A flow's naming state with what `set` puts in it.
    fn naming(set: impl FnOnce(&mut FlowNaming)) -> FlowNaming {
        let mut n = FlowNaming::default();
        set(&mut n);
        n
    }

    fn catalog() -> Catalog {
        Catalog::bundled().unwrap()
    }

    /// A flow's facts: a conversation from a private client to `remote` on `proto/port`.
    fn facts<'a>(n: &'a FlowNaming, proto: u8, port: u16, remote: &str) -> Facts<'a> {
        Facts {
            n,
            proto,
            server_port: port,
            remote_ip: remote.parse().unwrap(),
            conversed: true,
        }
    }

    fn hello(sni: &str, ech: bool) -> Option<ClientHelloInfo> {
        Some(ClientHelloInfo {
            sni: Some(sni.into()),
            ech,
            ..ClientHelloInfo::default()
        })
    }

    fn texts(a: &Attribution) -> Vec<String> {
        a.evidence.iter().map(ToString::to_string).collect()
    }

    /// A public address in no catalog range.
    const NOWHERE: &str = "198.18.7.7";

    #[test]
    fn an_sni_beats_a_dns_name() {
        let c = catalog();
        let n = naming(|n| {
            n.hello = hello("g.whatsapp.net", false);
            n.dns_name = Some("chat.signal.org".into());
        });
        let a = weigh(&c, &facts(&n, proto::TCP, 443, NOWHERE), GeoInfo::default());
        assert_eq!(a.service.as_deref(), Some("WhatsApp"));
        assert_eq!(a.role, Some(Role::Chat));
        assert_eq!(a.confidence, weight::SNI);
        assert_eq!(
            texts(&a)[..2],
            ["sni:g.whatsapp.net", "dns:chat.signal.org"]
        );
        // Without the SNI, the DNS name decides.
        let n = naming(|n| n.dns_name = Some("chat.signal.org".into()));
        let a = weigh(&c, &facts(&n, proto::TCP, 443, NOWHERE), GeoInfo::default());
        assert_eq!(a.service.as_deref(), Some("Signal"));
        assert_eq!(a.confidence, weight::DNS);
    }

    #[test]
    fn ech_makes_an_unknown_sni_a_cover_name() {
        let c = catalog();
        let n = naming(|n| n.hello = hello("cover.example.net", true));
        let mut d = Draft::new(&c, GeoInfo::default());
        client_hello_name(&facts(&n, proto::TCP, 443, NOWHERE), &mut d);
        assert_eq!(d.a.service, None);
        assert_eq!(
            texts(&d.a),
            ["sni:cover.example.net (ECH: may be a cover name)"]
        );
        // A service's own name beside an ECH extension was not hidden: it decides, a little
        // less surely.
        let n = naming(|n| {
            n.hello = hello("g.whatsapp.net", true);
        });
        let mut d = Draft::new(&c, GeoInfo::default());
        client_hello_name(&facts(&n, proto::TCP, 443, NOWHERE), &mut d);
        assert_eq!(d.a.service.as_deref(), Some("WhatsApp"));
        assert_eq!(d.a.confidence, weight::SNI_WITH_ECH);
        assert_eq!(
            texts(&d.a),
            ["sni:g.whatsapp.net (beside an ECH extension, name not hidden)"]
        );
    }

    #[test]
    fn an_unknown_clear_name_keeps_ports_from_naming_the_flow() {
        let c = catalog();
        let n = naming(|n| {
            n.hello = hello("www.example.org", false);
        });
        let a = weigh(
            &c,
            &facts(&n, proto::TCP, 8448, NOWHERE),
            GeoInfo::default(),
        );
        assert_eq!(a.service, None);
        assert_eq!(texts(&a), ["sni:www.example.org", "port:tcp/8448 Matrix"]);
    }

    #[test]
    fn a_port_alone_names_a_service_only_when_it_points_to_one() {
        let c = catalog();
        let n = FlowNaming::default();
        let name = |port: u16, conversed: bool| {
            let f = Facts {
                conversed,
                ..facts(&n, proto::TCP, port, NOWHERE)
            };
            weigh(&c, &f, GeoInfo::default())
        };
        let a = name(8448, true);
        assert_eq!(a.service.as_deref(), Some("Matrix"));
        assert_eq!(a.confidence, weight::PORT);
        assert_eq!(texts(&a), ["port:tcp/8448 Matrix"]);
        // Not a conversation (a scan, a lone SYN): listed, but not named.
        let a = name(8448, false);
        assert_eq!(a.service, None);
        assert_eq!(texts(&a), ["port:tcp/8448 Matrix"]);
        // 5222 is WhatsApp's (only from Meta's networks), Threema's and XMPP's: two remain.
        let a = name(5222, true);
        assert_eq!(a.service, None);
        assert_eq!(texts(&a), ["port:tcp/5222 Threema|WhatsApp|XMPP"]);
        // No service on a port nobody lists.
        let a = name(12345, true);
        assert_eq!(a.service, None);
        assert!(a.evidence.is_empty());
    }

    #[test]
    fn an_as_names_the_company_not_the_app() {
        let c = catalog();
        let n = FlowNaming::default();
        let meta = GeoInfo {
            asn: Some(32934),
            as_org: Some("Facebook, Inc.".into()),
            ..GeoInfo::default()
        };
        let a = weigh(&c, &facts(&n, proto::TCP, 443, NOWHERE), meta);
        assert_eq!(a.service.as_deref(), Some("Meta"));
        assert_eq!(a.role, None);
        assert_eq!(a.confidence, weight::ASN);
        assert!(a.company_services.iter().any(|s| s == "WhatsApp"));
        assert_eq!(
            texts(&a),
            [
                "asn:AS32934 Facebook, Inc.",
                "port:tcp/443 Apple Push|Threema|WhatsApp"
            ]
        );
    }

    #[test]
    fn an_as_with_a_port_of_one_of_its_services_names_that_service() {
        let c = catalog();
        let n = FlowNaming::default();
        let apple = GeoInfo {
            asn: Some(714),
            ..GeoInfo::default()
        };
        let mut d = Draft::new(&c, apple);
        let f = facts(&n, proto::TCP, 5223, NOWHERE);
        let ports = port_services(&c, &f);
        network(&f, &ports, false, &mut d);
        assert_eq!(d.a.service.as_deref(), Some("Apple Push"));
        assert_eq!(d.a.confidence, weight::ASN_AND_PORT);
        assert_eq!(texts(&d.a), ["asn:AS714"]);
        // An unknown clear name says the flow is something else.
        let mut d = Draft::new(&c, d.a.remote.clone());
        network(&f, &ports, true, &mut d);
        assert_eq!(d.a.service, None);
    }

    #[test]
    fn a_clear_text_xml_stream_names_the_catalog_service_on_its_port() {
        let c = catalog();
        let n = naming(|n| {
            n.xml = true;
        });
        let a = weigh(
            &c,
            &facts(&n, proto::TCP, 5222, NOWHERE),
            GeoInfo::default(),
        );
        assert_eq!(a.service.as_deref(), Some("XMPP"));
        assert_eq!(a.role, Some(Role::Chat));
        assert_eq!(a.confidence, weight::MARKER);
        assert_eq!(a.evidence[0], Evidence::flag(EvidenceKind::XmlStream));
        let mut d = Draft::new(&c, GeoInfo::default());
        xml_stream(&facts(&n, proto::TCP, 443, NOWHERE), &mut d);
        assert_eq!(d.a, Draft::new(&c, GeoInfo::default()).a);
        // The service comes from the catalog: a catalog without the row names nothing.
        let mut bare = Catalog::default();
        bare.load_str(
            "ports.tsv",
            "service\trole\tproto\tports\nXMPP\tchat\ttcp\t5222\ts\t2026-01-01\n",
        )
        .unwrap();
        let mut d = Draft::new(&bare, GeoInfo::default());
        xml_stream(&facts(&n, proto::TCP, 5222, NOWHERE), &mut d);
        assert_eq!(d.a.service, None);
    }

    #[test]
    fn a_dns_flow_is_named_after_the_name_it_asks_for() {
        let c = catalog();
        let n = naming(|n| {
            n.dns_query = Some("g.whatsapp.net".into());
        });
        let a = weigh(
            &c,
            &facts(&n, proto::UDP, 53, "9.9.9.9"),
            GeoInfo::default(),
        );
        assert_eq!(a.service.as_deref(), Some("WhatsApp"));
        assert_eq!(a.role, Some(Role::Dns));
        assert_eq!(a.confidence, weight::DNS);
        assert_eq!(texts(&a), ["dns-query:g.whatsapp.net"]);
    }

    #[test]
    fn a_short_prologue_counts_only_beside_its_range_or_port() {
        let c = catalog();
        let zoom_sfu = c
            .markers()
            .iter()
            .position(|m| m.marker == Marker::Prefix(vec![0x01, 0x00, 0x02]))
            .unwrap();
        let n = naming(|n| {
            n.prologue = vec![u16::try_from(zoom_sfu).unwrap()];
        });
        // On a Zoom port.
        let a = weigh(
            &c,
            &facts(&n, proto::UDP, 8801, NOWHERE),
            GeoInfo::default(),
        );
        assert_eq!(a.service.as_deref(), Some("Zoom"));
        assert_eq!(a.confidence, weight::PREFIX_AND_PORT);
        assert_eq!(texts(&a), ["prologue:0x010002", "port:udp/8801 Zoom"]);
        // To a Zoom range: the range decides, the prologue backs it.
        let a = weigh(
            &c,
            &facts(&n, proto::UDP, 9999, "3.7.35.10"),
            GeoInfo::default(),
        );
        assert_eq!(a.service.as_deref(), Some("Zoom"));
        assert_eq!(a.confidence, weight::IP_LIST);
        assert_eq!(texts(&a), ["ip-list:Zoom 3.7.35.0/25", "prologue:0x010002"]);
        // Elsewhere: three bytes are too common to say anything.
        let a = weigh(
            &c,
            &facts(&n, proto::UDP, 9999, NOWHERE),
            GeoInfo::default(),
        );
        assert_eq!(a.service, None);
        assert!(a.evidence.is_empty());
    }

    #[test]
    fn a_stun_marker_beats_a_range_and_marks_a_call() {
        let c = catalog();
        let n = naming(|n| {
            n.stun = Some(Box::new(crate::naming::StunSeen {
                vendor_attrs: vec![0x4000],
                ..crate::naming::StunSeen::default()
            }));
        });
        let a = weigh(
            &c,
            &facts(&n, proto::UDP, 3478, "91.108.4.7"),
            GeoInfo::default(),
        );
        assert_eq!(a.service.as_deref(), Some("WhatsApp"));
        assert_eq!(a.role, Some(Role::Call));
        assert_eq!(a.confidence, weight::MARKER);
        let t = texts(&a);
        assert_eq!(t[0], "stun-attr:0x4000");
        assert!(t[1].starts_with("ip-list:Telegram "), "{t:?}");
    }

    #[test]
    fn socket_claims_name_a_call_flow() {
        let c = catalog();
        let zoom = c.service_id("Zoom").unwrap();
        let claim = Evidence::new(
            EvidenceKind::SameSocket,
            "192.168.1.2:50000 as a Zoom call flow (stun-attr:0x0101)",
        );
        let n = naming(|n| {
            n.call_marker = Some((zoom, claim.clone()));
        });
        let mut d = Draft::new(&c, GeoInfo::default());
        socket_claims(&facts(&n, proto::UDP, 50000, NOWHERE), &mut d);
        assert_eq!(d.a.service.as_deref(), Some("Zoom"));
        assert_eq!(d.a.role, Some(Role::Call));
        assert_eq!(d.a.confidence, weight::SAME_SOCKET);
        assert_eq!(d.a.evidence, std::slice::from_ref(&claim));
        // A flow's own marker (not a same-socket one) is not a claim; a later claim counts
        // only when nothing stronger named the flow.
        let n = naming(|n| {
            n.call_marker = Some((zoom, Evidence::new(EvidenceKind::StunAttr, "0x0101")));
            n.socket_claim = Some((zoom, claim));
            n.hello = hello("g.whatsapp.net", false);
        });
        let a = weigh(
            &c,
            &facts(&n, proto::UDP, 50000, NOWHERE),
            GeoInfo::default(),
        );
        assert_eq!(a.service.as_deref(), Some("WhatsApp"));
        assert_eq!(texts(&a), ["sni:g.whatsapp.net"]);
    }

    #[test]
    fn only_tcp_and_udp_flows_are_named_and_media_flags_close_the_list() {
        let c = catalog();
        let n = naming(|n| {
            n.rtp_confirmed = true;
            n.dtls = true;
        });
        let a = weigh(
            &c,
            &facts(&n, proto::ICMP, 0, "91.108.4.7"),
            GeoInfo::default(),
        );
        assert_eq!(a.service, None);
        assert_eq!(a.confidence, 0.0);
        assert_eq!(texts(&a), ["ip-list:Telegram 91.108.4.0/22", "rtp", "dtls"]);
        let a = weigh(
            &c,
            &facts(&n, proto::UDP, 40000, "91.108.4.7"),
            GeoInfo::default(),
        );
        assert_eq!(a.service.as_deref(), Some("Telegram"));
        // RTP and DTLS make a range's host a call host.
        assert_eq!(a.role, Some(Role::Call));
    }

    fn lent(
        c: &Catalog,
        name: &str,
        how: EvidenceKind,
    ) -> Option<Box<crate::naming::directory::Lent>> {
        let mut d = crate::naming::directory::Directory::default();
        let ip: IpAddr = NOWHERE.parse().unwrap();
        d.learn(c, ip, None, name, how);
        d.lookup(ip, 443).map(Box::new)
    }

    #[test]
    fn a_flow_that_names_nothing_borrows_its_servers_name_a_little_less_surely() {
        let c = catalog();
        let n = naming(|n| n.lent = lent(&c, "g.whatsapp.net", EvidenceKind::Sni));
        let a = weigh(&c, &facts(&n, proto::TCP, 443, NOWHERE), GeoInfo::default());
        assert_eq!(a.service.as_deref(), Some("WhatsApp"));
        assert_eq!(a.role, Some(Role::Chat));
        assert!((a.confidence - (weight::SNI - weight::LEND_DISCOUNT)).abs() < 1e-9);
        assert_eq!(texts(&a)[0], "same-server:g.whatsapp.net (from sni)");
        // It beats a published range of another service (a name beats an address)...
        let a = weigh(
            &c,
            &facts(&n, proto::TCP, 443, "91.108.4.7"),
            GeoInfo::default(),
        );
        assert_eq!(a.service.as_deref(), Some("WhatsApp"));
        // ...but never a flow's own name.
        let n = naming(|n| {
            n.lent = lent(&c, "g.whatsapp.net", EvidenceKind::Dns);
            n.hello = hello("www.example.org", false);
        });
        let a = weigh(&c, &facts(&n, proto::TCP, 443, NOWHERE), GeoInfo::default());
        assert_eq!(a.service, None);
        assert!(!texts(&a).iter().any(|t| t.starts_with("same-server")));
    }

    #[test]
    fn an_address_alone_never_makes_a_tcp_flow_a_call_flow() {
        let c = catalog();
        // Teams' published 52.112.0.0/14 is a `call` range: on TCP/443 it names Teams, as chat.
        let n = FlowNaming::default();
        let a = weigh(
            &c,
            &facts(&n, proto::TCP, 443, "52.113.1.1"),
            GeoInfo::default(),
        );
        assert_eq!(a.service.as_deref(), Some("Teams"));
        assert_eq!(a.role, Some(Role::Chat));
        // A host of another name there (Microsoft's telemetry) is a web host, not the chat.
        let telemetry = naming(|n| n.hello = hello("mobile.pipe.aria.microsoft.com", false));
        let a = weigh(
            &c,
            &facts(&telemetry, proto::TCP, 443, "52.113.1.1"),
            GeoInfo::default(),
        );
        assert_eq!(a.service.as_deref(), Some("Teams"));
        assert_eq!(a.role, Some(Role::Web));
        // On UDP it stays a call flow, and so does TCP carrying STUN (TURN over TCP).
        let a = weigh(
            &c,
            &facts(&n, proto::UDP, 3478, "52.113.1.1"),
            GeoInfo::default(),
        );
        assert_eq!(a.role, Some(Role::Call));
        let stun = naming(|n| n.stun = Some(Box::default()));
        let a = weigh(
            &c,
            &facts(&stun, proto::TCP, 443, "52.113.1.1"),
            GeoInfo::default(),
        );
        assert_eq!(a.role, Some(Role::Call));
        // A TCP port the catalog lists for the service keeps that port's role (Zoom 8801).
        let a = weigh(
            &c,
            &facts(&n, proto::TCP, 8801, "3.7.35.10"),
            GeoInfo::default(),
        );
        assert_eq!(a.service.as_deref(), Some("Zoom"));
        assert_eq!(a.role, Some(Role::Call));
        let a = weigh(
            &c,
            &facts(&n, proto::TCP, 443, "3.7.35.10"),
            GeoInfo::default(),
        );
        assert_eq!(a.role, Some(Role::Chat));
    }
}
