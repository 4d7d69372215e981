//! The path of a call: whether its remote is a relay (a server of the service or a TURN
//! relay), the other person's device (direct), or unknown, each with the evidence that says
//! so. The decision rests on who the remote is, never on ports or vendor markers alone (a
//! service's markers are spoken to its relays and to peers alike, and ports 3478/443 are
//! used both ways).
//!
//! Relay, from protocol facts first: an address a TURN server handed out as a relay
//! (XOR-RELAYED-ADDRESS, RFC 8656 §7.3) anywhere in the capture; an address that acted as a
//! TURN server (TURN requests went to it or REALM credentials were spoken with it, RFC 8656,
//! RFC 8489 §9.2); a relay host name of the capture (DNS, SNI, certificate) or a TURN
//! server's SOFTWARE (assets/netclass/relay-names.tsv); a service's published call range
//! (assets/catalog/ip-ranges.tsv); a hosting, cloud or service-owned network
//! (assets/netclass/asn-classes.tsv). Direct: a private or link-local address (not
//! carrier-grade NAT space, which is the operator's); an access network (residential or
//! mobile ISP, same table); or a peer candidate that is none of the above: an address a TURN
//! client named as its peer (XOR-PEER-ADDRESS) or one that sent ICE connectivity checks
//! itself (a full ICE agent; media servers are ICE-lite and only answer, RFC 8445 §2.5).
//! Anything else is unknown, and said so.
//!
//! What it must never do: call a remote direct without positive evidence of a person's
//! device ("the peer's address is exposed" about a server is a false claim about nobody), or
//! read anything but the records, the TURN facts and the bundled data.

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::OnceLock;

use super::FlowSummary;
use super::plural;
use super::turn::CaptureTurn;
use crate::model::{Event, EventKind, EvidenceKind, FlowRecord, FlowRef, PeerKind, Proto, Role};
use crate::naming::catalog::Catalog;
use crate::naming::geo::{Geo, is_local};

const NETCLASS: &str = include_str!("../../assets/netclass/asn-classes.tsv");
const RELAY_WORDS: &str = include_str!("../../assets/netclass/relay-names.tsv");

/// A leg carries the call's media, for the choice of the call's path, with at least this many
/// media packets each way: one packet back proves the other side answered on that path; a few
/// unanswered packets to a peer's address are a failed attempt (`ndpi/telegram.pcap`'s
/// second call sends 3 to an ISP address before it goes through the reflectors).
const LEG_MIN_MEDIA_EACH_WAY: u32 = 1;

/// The class of a network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetClass {
    /// Data centres, server hosting, cloud, content delivery.
    Hosting,
    /// A service's own network (its relays and servers).
    Service,
    /// Homes, offices and phones: residential and mobile ISPs.
    Access,
}

/// The bundled network classes, by AS number, parsed on first use. Rows that do not parse
/// are skipped (the unit tests make sure there are none).
fn classes() -> &'static HashMap<u32, NetClass> {
    static T: OnceLock<HashMap<u32, NetClass>> = OnceLock::new();
    T.get_or_init(|| {
        NETCLASS
            .lines()
            .filter(|l| !l.starts_with('#') && !l.starts_with("asn\t"))
            .filter_map(|l| {
                let mut c = l.split('\t');
                let asn = c.next()?.parse().ok()?;
                let class = match c.next()? {
                    "hosting" => NetClass::Hosting,
                    "service" => NetClass::Service,
                    "access" => NetClass::Access,
                    _ => return None,
                };
                Some((asn, class))
            })
            .collect()
    })
}

/// The class of AS `asn`, if the table lists it.
pub fn net_class(asn: u32) -> Option<NetClass> {
    classes().get(&asn).copied()
}

/// Relay words of one kind (`name` or `software`).
fn relay_words(kind: &str) -> Vec<&'static str> {
    RELAY_WORDS
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("word\t"))
        .filter_map(|l| {
            let mut c = l.split('\t');
            let w = c.next()?;
            (c.next()? == kind).then_some(w)
        })
        .collect()
}

fn name_words() -> &'static [&'static str] {
    static W: OnceLock<Vec<&'static str>> = OnceLock::new();
    W.get_or_init(|| relay_words("name"))
}

fn software_words() -> &'static [&'static str] {
    static W: OnceLock<Vec<&'static str>> = OnceLock::new();
    W.get_or_init(|| relay_words("software"))
}

/// Whether a host name names a relay: a piece of one of its labels (split at digits, '-'
/// and '_') starts with a relay word.
pub fn relay_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name.split('.')
        .flat_map(|l| l.split(|c: char| !c.is_ascii_alphabetic()))
        .any(|p| !p.is_empty() && name_words().iter().any(|w| p.starts_with(w)))
}

/// Whether a STUN SOFTWARE value names a TURN server implementation.
fn relay_software(s: &str) -> bool {
    let s = s.to_ascii_lowercase();
    s.split(|c: char| !c.is_ascii_alphabetic())
        .any(|p| !p.is_empty() && software_words().iter().any(|w| p.starts_with(w)))
}

/// The bundled catalog, for the services' published call ranges.
fn catalog() -> Option<&'static Catalog> {
    static C: OnceLock<Option<Catalog>> = OnceLock::new();
    C.get_or_init(|| Catalog::bundled().ok()).as_ref()
}

/// 100.64.0.0/10 (RFC 6598): the operator's side of a carrier-grade NAT, not a device.
fn cgnat(ip: IpAddr) -> bool {
    matches!(ip, IpAddr::V4(v4) if v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64)
}

/// The prefix of one site's private network: a home network is a /24, an office's up to a
/// /16 (IPv4); an IPv6 site gets a /48 (RFC 6177 §2; unique local addresses, RFC 4193 §3.2,
/// share the site's 48-bit prefix). A private peer outside the device's prefix is reached
/// through routers of other networks (a VPN, a company's WAN, a provider's core, as between
/// the media gateway and the session border controller of
/// `ndpi/FAX-Call-t38-CA-TDM-SIP-FB-1.pcap`), so nothing says it is a person's device.
const SITE_PREFIX_V4: u32 = 16;
const SITE_PREFIX_V6: u32 = 48;

/// Whether `ip` is a private or link-local address on the same site as the device: a device
/// on the user's own network. Carrier-grade NAT space (RFC 6598) is the operator's, never a
/// site's.
fn same_site(ip: IpAddr, device: IpAddr) -> bool {
    if !is_local(ip) || cgnat(ip) || ip.is_loopback() || ip.is_multicast() || ip.is_unspecified() {
        return false;
    }
    match (ip, device) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            a.is_link_local()
                || (u32::from(a) >> (32 - SITE_PREFIX_V4))
                    == (u32::from(b) >> (32 - SITE_PREFIX_V4))
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            (a.segments()[0] & 0xffc0) == 0xfe80
                || (u128::from(a) >> (128 - SITE_PREFIX_V6))
                    == (u128::from(b) >> (128 - SITE_PREFIX_V6))
        }
        _ => false,
    }
}

/// A call's path and the sentence that says why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Path {
    pub kind: PeerKind,
    pub evidence: String,
}

impl Path {
    fn new(kind: PeerKind, evidence: String) -> Self {
        Self { kind, evidence }
    }
}

/// "AS32934 Facebook, Inc." or "no known network". A record's AS describes its remote side
/// ([`remote_of`]).
fn network(r: &FlowRecord, remote: SocketAddr) -> String {
    match (remote == remote_of(r)).then_some(r.asn).flatten() {
        Some(asn) => match r.as_org.as_deref() {
            Some(org) => format!("AS{asn} {org}"),
            None => format!("AS{asn}"),
        },
        None => "no known network".into(),
    }
}

/// "AS64500 Example is no known relay network", or "no network of a relay is known for it"
/// when the address has no AS.
fn not_a_relay_network(r: &FlowRecord, remote: SocketAddr) -> String {
    match (remote == remote_of(r)).then_some(r.asn).flatten() {
        Some(_) => format!("{} is no known relay network", network(r, remote)),
        None => "no network of a relay is known for it".into(),
    }
}

/// The path to `remote`, one side of `r` (the record's AS describes its remote side, its names
/// the server). `turn` holds the capture's TURN facts; `checks_from_remote` counts the STUN
/// Binding requests the remote sent on this flow.
pub fn judge(
    r: &FlowRecord,
    remote: SocketAddr,
    turn: &CaptureTurn,
    checks_from_remote: u32,
) -> Path {
    let ip = remote.ip();
    let device = if remote == r.server {
        r.client.ip()
    } else {
        r.server.ip()
    };
    let on_server = remote == r.server;
    let relay = |why: String| {
        Path::new(
            PeerKind::Relay,
            format!("the remote {ip} is a relay: {why}"),
        )
    };
    let direct = |why: String| {
        Path::new(
            PeerKind::Direct,
            format!("the remote {ip} is the peer's device: {why}"),
        )
    };
    if turn.relayed.contains(&ip) {
        return relay(
            "a TURN server of this capture handed it out as a relayed address (XOR-RELAYED-ADDRESS, RFC 8656 §7.3)".into(),
        );
    }
    if turn.servers.contains(&ip) {
        return relay(
            "it acted as a TURN server in this capture (TURN requests or REALM credentials went to it, RFC 8656)".into(),
        );
    }
    if on_server {
        for e in &r.service_evidence {
            match e.kind {
                EvidenceKind::StunRealm => {
                    return relay(format!(
                        "the flow spoke TURN long-term credentials with it (STUN REALM {}, RFC 8489 §9.2)",
                        e.detail
                    ));
                }
                EvidenceKind::StunSoftware if relay_software(&e.detail) => {
                    return relay(format!("its STUN SOFTWARE {} is a TURN server's", e.detail));
                }
                _ => {}
            }
        }
        let names = r
            .dns_name
            .iter()
            .chain(r.sni.iter())
            .map(String::as_str)
            .chain(
                r.service_evidence
                    .iter()
                    .filter(|e| {
                        matches!(
                            e.kind,
                            EvidenceKind::Sni
                                | EvidenceKind::Cert
                                | EvidenceKind::Dns
                                | EvidenceKind::HttpHost
                        )
                    })
                    .map(|e| e.detail.as_str()),
            );
        for n in names {
            if relay_name(n) {
                return relay(format!("this capture names it {n}, a relay host"));
            }
        }
    }
    if let Some(c) = catalog()
        && let Some(range) = c.range(ip)
        && range.role == Role::Call
    {
        return relay(format!(
            "it is in {}'s published call range {}",
            c.service_name(range.service),
            range.cidr
        ));
    }
    let class = (remote == remote_of(r))
        .then_some(r.asn)
        .flatten()
        .and_then(|asn| {
            net_class(asn).or_else(|| {
                // A company the catalog lists as running a messaging or call service
                // (assets/catalog/asns.tsv) owns the network: its relays are there.
                catalog()
                    .and_then(|c| c.asn(asn))
                    .is_some_and(|e| !e.services.is_empty())
                    .then_some(NetClass::Service)
            })
        });
    match class {
        Some(NetClass::Service) => {
            return relay(format!(
                "{} is a service's own network, which runs its relays (assets/netclass)",
                network(r, remote)
            ));
        }
        Some(NetClass::Hosting) => {
            return relay(format!(
                "{} is a hosting or cloud network (assets/netclass)",
                network(r, remote)
            ));
        }
        _ => {}
    }
    if same_site(ip, device) {
        return direct(format!(
            "a private or link-local address on the device's own network ({device} is on it too)"
        ));
    }
    if class == Some(NetClass::Access) {
        return direct(format!(
            "{} is an access network, a residential or mobile ISP (assets/netclass)",
            network(r, remote)
        ));
    }
    if turn.peers.contains(&ip) {
        return direct(format!(
            "a TURN client named it as its peer (XOR-PEER-ADDRESS, RFC 8656 §9), and {}",
            not_a_relay_network(r, remote)
        ));
    }
    if checks_from_remote > 0 {
        return direct(format!(
            "it sent {} itself, connectivity checks of an ICE agent, which STUN and TURN servers never send (RFC 8489 §6.3) nor ICE-lite media servers (RFC 8445 §2.5), and {}",
            plural(checks_from_remote, "STUN Binding request"),
            not_a_relay_network(r, remote)
        ));
    }
    Path::new(
        PeerKind::Unknown,
        format!(
            "the path is unknown: the remote {ip} ({}) is neither a known relay nor an access network",
            network(r, remote)
        ),
    )
}

/// The remote side of a flow: the server, or the client when the server is on a local
/// address and the client is not (a direct leg opened by the other party towards the
/// device). The same rule as the call's own in [`super::calls`].
fn remote_of(r: &FlowRecord) -> SocketAddr {
    if is_local(r.server.ip()) && !is_local(r.client.ip()) {
        r.client
    } else {
        r.server
    }
}

/// Whether `ip` is a server by the capture's facts or the bundled data: a TURN relay or
/// server of the capture, in a published call range, or on a hosting, cloud or service
/// network (its AS looked up in the bundled ASN database).
fn server_address(ip: IpAddr, turn: &CaptureTurn) -> bool {
    if is_local(ip) {
        return false;
    }
    thread_local! {
        static GEO: Geo = Geo::bundled();
    }
    turn.relayed.contains(&ip)
        || turn.servers.contains(&ip)
        || catalog()
            .and_then(|c| c.range(ip))
            .is_some_and(|r| r.role == Role::Call)
        || GEO.with(|g| g.lookup(ip).asn).is_some_and(|asn| {
            matches!(net_class(asn), Some(NetClass::Hosting | NetClass::Service))
                || catalog()
                    .and_then(|c| c.asn(asn))
                    .is_some_and(|e| !e.services.is_empty())
        })
}

/// A flow whose side taken for the device is a server (see [`server_address`]) while the
/// other side is not: a flow caught mid-way and oriented by its first packet, its sides
/// swapped (a device does not sit on a server network; `ndpi/discord_mid_flow.pcap` starts
/// with a packet from Discord's voice server). The record turned round, the server side
/// described from the bundled ASN database, else `None`.
fn turned_round(r: &FlowRecord, turn: &CaptureTurn) -> Option<FlowRecord> {
    let remote = remote_of(r);
    let device = if remote == r.server {
        r.client
    } else {
        r.server
    };
    if is_local(remote.ip())
        || !server_address(device.ip(), turn)
        || server_address(remote.ip(), turn)
    {
        return None;
    }
    let info = Geo::bundled().lookup(device.ip());
    Some(FlowRecord {
        client: remote,
        server: device,
        dns_name: None,
        sni: None,
        service_evidence: Vec::new(),
        asn: info.asn,
        as_org: info.as_org,
        country: info.country,
        city: info.city,
        ..r.clone()
    })
}

/// The path of one flow of a call, to its remote, and the record that describes the remote
/// (the flow's own, or the flow turned round when its sides were swapped).
pub fn flow_path<'a>(
    f: &'a FlowSummary,
    turn: &CaptureTurn,
) -> (SocketAddr, Path, Cow<'a, FlowRecord>) {
    let t = &f.media.turn;
    let r = match turned_round(&f.record, turn) {
        Some(r) => Cow::Owned(r),
        None => Cow::Borrowed(&f.record),
    };
    let remote = remote_of(&r);
    // Binding requests the remote sent: those from the flow's server side when it is the
    // remote, else those from its client side.
    let checks = if remote == f.record.server {
        t.requests_down
    } else {
        t.requests_up
    };
    let p = judge(&r, remote, turn, checks);
    (remote, p, r)
}

/// A flow reference writes its first time to the microsecond: the flow it names started
/// within a microsecond of it.
const REF_TIME_SLACK: f64 = 1e-6;

/// Settle the path of every call and call attempt of `events` from the capture's flows and
/// TURN facts: the path of the event's remote, or direct when any of its flows carried media
/// both ways with a peer's device (a call that moved from a relay to a direct leg exposes the
/// peer). The event's evidence gets the sentence; a direct leg becomes the event's peer.
pub fn settle(events: &mut [Event], flows: &[FlowSummary]) {
    let turn = CaptureTurn::gather(flows);
    // Flows by their socket pair (hashing addresses, never formatting a reference: a capture
    // may keep hundreds of thousands of flows); a reference then picks its flow by first time.
    let mut by_pair: HashMap<(Proto, SocketAddr, SocketAddr), Vec<&FlowSummary>> = HashMap::new();
    for f in flows {
        let r = &f.record;
        by_pair
            .entry((r.proto, r.client, r.server))
            .or_default()
            .push(f);
    }
    let find = |r: &FlowRef| -> Option<&FlowSummary> {
        by_pair
            .get(&(r.proto, r.client, r.server))?
            .iter()
            .copied()
            .filter(|f| (f.record.first_ts - r.first_ts).abs() < REF_TIME_SLACK)
            .min_by(|a, b| {
                (a.record.first_ts - r.first_ts)
                    .abs()
                    .total_cmp(&(b.record.first_ts - r.first_ts).abs())
            })
    };
    for e in events.iter_mut() {
        if !(e.kind.is_call() || e.kind == EventKind::CallAttempt) || e.peer_kind.is_none() {
            continue;
        }
        let legs: Vec<Leg<'_>> = e
            .flows
            .iter()
            .filter_map(find)
            .map(|f| {
                let (remote, path, record) = flow_path(f, &turn);
                Leg {
                    flow: f,
                    remote,
                    path,
                    record,
                }
            })
            .collect();
        let media_both_ways = |f: &FlowSummary| {
            f.media.up.packets >= LEG_MIN_MEDIA_EACH_WAY
                && f.media.down.packets >= LEG_MIN_MEDIA_EACH_WAY
        };
        // An attempt's connectivity checks answered by a peer already gave each side the
        // other's address (RFC 8445 section 7.2.5: a check succeeds when its response comes
        // back), though no media followed.
        let checked_both_ways = |f: &FlowSummary| {
            e.kind == EventKind::CallAttempt && f.record.packets_up > 0 && f.record.packets_down > 0
        };
        let direct_leg = legs
            .iter()
            .filter(|l| {
                l.path.kind == PeerKind::Direct
                    && (media_both_ways(l.flow) || checked_both_ways(l.flow))
            })
            .max_by_key(|l| l.flow.media.up.packets + l.flow.media.down.packets);
        // The event's own remote: the leg whose remote it named, or whose flow holds it (a
        // flow turned round names its other side).
        let main = legs
            .iter()
            .find(|l| Some(l.remote.ip()) == e.peer_ip)
            .or_else(|| {
                legs.iter().find(|l| {
                    e.peer_ip.is_some_and(|ip| {
                        ip == l.flow.record.client.ip() || ip == l.flow.record.server.ip()
                    })
                })
            });
        let Some(leg) = direct_leg.or(main) else {
            continue;
        };
        let host_candidate = (leg.path.kind == PeerKind::Unknown)
            .then(|| host_candidate(leg, &legs))
            .flatten();
        let leg_path = host_candidate.as_ref().unwrap_or(&leg.path);
        if Some(leg.remote.ip()) != e.peer_ip {
            let r = &leg.record;
            e.peer_ip = Some(leg.remote.ip());
            e.peer_asn = r.asn;
            e.peer_as_org = r.as_org.clone();
            e.peer_country = r.country.clone();
            e.peer_city = r.city.clone();
        }
        e.peer_kind = Some(leg_path.kind);
        let relayed_too = leg_path.kind == PeerKind::Direct
            && host_candidate.is_none()
            && legs.iter().any(|l| l.path.kind == PeerKind::Relay);
        e.evidence = format!(
            "{}; path: {}{}",
            e.evidence,
            leg_path.evidence,
            if relayed_too {
                " (the call also ran through a relay)"
            } else {
                ""
            }
        );
    }
}

/// The path of a leg to a private address off the device's own site, when the same call also
/// reached a relay of the service at a public address: the device was sent there by the
/// call's own signalling, and a service on the internet hands its clients public relay
/// addresses, never another site's private one. What the other side announces at a private
/// address is its own interface, a host candidate (RFC 8445 §5.1.1.1), so the device tried
/// the peer directly (`ndpi/zoom_p2p.pcapng`'s second call: P2P hellos to 10.78.14.178 beside
/// unanswered STUN to Zoom). Without a public relay leg the private remote may be a provider's
/// own equipment (the media gateway and session border controller of
/// `ndpi/FAX-Call-t38-CA-TDM-SIP-FB-1.pcap`), and the path stays unknown.
fn host_candidate(leg: &Leg<'_>, legs: &[Leg<'_>]) -> Option<Path> {
    let ip = leg.remote.ip();
    if !is_local(ip) || cgnat(ip) || ip.is_loopback() || ip.is_multicast() {
        return None;
    }
    let relay = legs
        .iter()
        .find(|l| l.path.kind == PeerKind::Relay && !is_local(l.remote.ip()))?;
    Some(Path::new(
        PeerKind::Direct,
        format!(
            "the remote {ip} is the peer's device, reached or tried directly: a private address off the device's own network, which only the other side can have announced (its own interface, an ICE host candidate, RFC 8445 §5.1.1.1), while the same call reached the service's relay at the public address {} (a service hands out public relay addresses)",
            relay.remote.ip()
        ),
    ))
}

/// One flow of a call with the path to its remote.
struct Leg<'a> {
    flow: &'a FlowSummary,
    remote: SocketAddr,
    path: Path,
    /// The record that describes the remote (the flow's, or the flow turned round).
    record: Cow<'a, FlowRecord>,
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{Trace, of_kind};
    use super::super::infer;
    use super::*;
    use crate::flow::Dir;
    use crate::model::Evidence;

    const PHONE: &str = "192.168.1.10";

    fn rec(server: &str, asn: Option<u32>) -> FlowRecord {
        FlowRecord {
            client: "192.168.1.10:40000"
                .parse()
                .unwrap_or_else(|e| panic!("{e}")),
            server: server.parse().unwrap_or_else(|e| panic!("{e}")),
            asn,
            as_org: asn.map(|a| format!("Org {a}")),
            ..FlowRecord::default()
        }
    }

    fn kind(r: &FlowRecord, turn: &CaptureTurn, checks: u32) -> PeerKind {
        judge(r, r.server, turn, checks).kind
    }

    /// A STUN message of type `t` with one XOR address attribute `at` holding `addr`.
    fn stun_with(t: u16, at: u16, addr: [u8; 4], port: u16) -> Vec<u8> {
        let cookie = [0x21, 0x12, 0xa4, 0x42];
        let mut v = vec![0, 1];
        v.extend_from_slice(&(port ^ 0x2112).to_be_bytes());
        v.extend(addr.iter().zip(cookie).map(|(x, k)| x ^ k));
        let mut m = t.to_be_bytes().to_vec();
        m.extend_from_slice(&(4 + v.len() as u16).to_be_bytes());
        m.extend_from_slice(&cookie);
        m.extend_from_slice(&[5; 12]);
        m.extend_from_slice(&at.to_be_bytes());
        m.extend_from_slice(&(v.len() as u16).to_be_bytes());
        m.extend_from_slice(&v);
        m
    }

    /// Voice both ways for 5 s from `start` between the ports.
    fn voice(start: f64, ports: (u16, u16)) -> Trace {
        Trace::udp(ports.0, ports.1)
            .rtp((start, 5.0), 50, Dir::Up, 0x1111, 120)
            .rtp((start + 0.01, 5.0), 50, Dir::Down, 0x2222, 120)
    }

    #[test]
    fn an_address_a_turn_server_allocated_elsewhere_in_the_capture_is_a_relay() {
        // The TURN server at 198.51.100.1 allocates 198.51.100.9:50000 on one socket; the
        // call's media then runs to that address on another.
        let alloc = Trace::udp(40_000, 3478)
            .send(0.0, Dir::Up, &stun_with(0x0003, 0x0019, [0; 4], 0))
            .send(
                0.05,
                Dir::Down,
                &stun_with(0x0103, 0x0016, [198, 51, 100, 9], 50_000),
            )
            .flow(PHONE, "198.51.100.1");
        let media = voice(1.0, (40_002, 50_000)).flow(PHONE, "198.51.100.9");
        let e = infer(&[alloc, media.clone()]);
        let call = of_kind(&e, EventKind::VoiceCall);
        assert_eq!(call.len(), 1, "{e:#?}");
        assert_eq!(call[0].peer_kind, Some(PeerKind::Relay));
        assert!(
            call[0].evidence.contains("XOR-RELAYED-ADDRESS"),
            "{}",
            call[0].evidence
        );
        // Without the allocation nothing says who 198.51.100.9 is.
        let e = infer(&[media]);
        assert_eq!(
            of_kind(&e, EventKind::VoiceCall)[0].peer_kind,
            Some(PeerKind::Unknown)
        );
    }

    #[test]
    fn a_call_with_a_relay_leg_and_a_direct_leg_is_direct() {
        // First through the service's relay on Meta's network, then straight to a peer that
        // sends its own connectivity checks, from the same socket of the device.
        let mut relay = voice(0.0, (40_000, 3478)).flow(PHONE, "157.240.1.1");
        relay.record.asn = Some(32934);
        let peer = voice(5.5, (40_000, 41_000))
            .send(5.4, Dir::Down, &stun_with(0x0001, 0x0020, [1, 2, 3, 4], 5))
            .flow(PHONE, "203.0.113.7");
        let e = infer(&[relay.clone(), peer]);
        let calls = of_kind(&e, EventKind::VoiceCall);
        assert_eq!(calls.len(), 1, "{e:#?}");
        assert_eq!(calls[0].peer_kind, Some(PeerKind::Direct));
        assert_eq!(
            calls[0].peer_ip,
            Some("203.0.113.7".parse().unwrap_or_else(|e| panic!("{e}")))
        );
        assert!(
            calls[0].evidence.contains("Binding request"),
            "{}",
            calls[0].evidence
        );
        assert!(calls[0].evidence.contains("also ran through a relay"));
        let e = infer(&[relay]);
        assert_eq!(
            of_kind(&e, EventKind::VoiceCall)[0].peer_kind,
            Some(PeerKind::Relay)
        );
    }

    #[test]
    fn a_private_address_off_site_beside_a_public_relay_is_a_host_candidate() {
        use super::super::fixtures::named;
        // Unanswered checks to the service's relay on Meta's network, then packets from the
        // same socket to a private address of another site: the peer's host candidate.
        let mut relay = Trace::udp(40_000, 3478);
        for i in 0..4 {
            relay = relay.send(
                f64::from(i),
                Dir::Up,
                &stun_with(0x0001, 0x0020, [1, 2, 3, 4], 5),
            );
        }
        let mut relay = named(relay.flow(PHONE, "157.240.1.1"), "WhatsApp", Role::Call);
        relay.record.asn = Some(32934);
        let peer = named(
            Trace::udp(40_000, 41_000)
                .rtp((4.0, 3.0), 30, Dir::Up, 0x1111, 120)
                .flow(PHONE, "10.78.14.178"),
            "WhatsApp",
            Role::Call,
        );
        let e = infer(&[relay, peer.clone()]);
        let attempts = of_kind(&e, EventKind::CallAttempt);
        assert_eq!(attempts.len(), 1, "{e:#?}");
        assert_eq!(attempts[0].peer_kind, Some(PeerKind::Direct));
        assert!(
            attempts[0].evidence.contains("ICE host candidate"),
            "{}",
            attempts[0].evidence
        );
        // Alone, a private address of another site may be a provider's own equipment.
        let e = infer(&[peer]);
        assert_eq!(
            of_kind(&e, EventKind::CallAttempt)[0].peer_kind,
            Some(PeerKind::Unknown),
            "{e:#?}"
        );
    }

    #[test]
    fn a_flow_caught_mid_way_from_a_server_network_is_turned_round() {
        // The first packet came from a voice server on i3D.net's hosting network: the other
        // side, on an access network, is the device, not a peer.
        let mut f = voice(0.0, (50_001, 54_935)).flow("66.22.242.132", "5.36.141.228");
        f.record.asn = Some(28885);
        f.record.as_org = Some("Oman Telecommunications Company (S.A.O.G)".into());
        let (remote, p, r) = flow_path(&f, &CaptureTurn::default());
        assert_eq!(remote, f.record.client);
        assert_eq!(p.kind, PeerKind::Relay, "{}", p.evidence);
        assert_eq!(r.asn, Some(49544));
        // The same flow the right way round is judged as it stands.
        let mut g = voice(0.0, (54_935, 50_001)).flow("5.36.141.228", "66.22.242.132");
        g.record.asn = Some(49544);
        let (remote, p, _) = flow_path(&g, &CaptureTurn::default());
        assert_eq!((remote, p.kind), (g.record.server, PeerKind::Relay));
    }

    #[test]
    fn the_bundled_tables_parse() {
        assert!(NETCLASS.lines().filter(|l| !l.starts_with('#')).count() > 1000);
        let rows = NETCLASS
            .lines()
            .filter(|l| !l.starts_with('#') && !l.starts_with("asn\t"))
            .count();
        assert_eq!(classes().len(), rows, "every row parses, no AS twice");
        assert_eq!(net_class(32934), Some(NetClass::Service));
        assert_eq!(net_class(16509), Some(NetClass::Hosting));
        assert!(name_words().contains(&"turn") && software_words().contains(&"coturn"));
    }

    #[test]
    fn relay_names_match_whole_label_pieces() {
        assert!(relay_name("turn3.voip.signal.org"));
        assert!(relay_name("zoomfrn99mmr.zoom.us"));
        assert!(relay_name("relay-eu.example.net"));
        assert!(!relay_name("saturn.example.com"));
        assert!(!relay_name("mmg.whatsapp.net"));
        assert!(relay_software("Coturn-4.5.2 'dan Eider'"));
        assert!(!relay_software("WebRTC"));
    }

    #[test]
    fn turn_facts_of_the_capture_make_any_network_a_relay() {
        // An access ISP's address that a TURN server allocated is a relay, not a person.
        let r = rec("198.51.100.7:3478", Some(3269));
        let none = CaptureTurn::default();
        assert_eq!(kind(&r, &none, 0), PeerKind::Direct);
        let mut t = CaptureTurn::default();
        t.relayed.insert(r.server.ip());
        assert_eq!(kind(&r, &t, 0), PeerKind::Relay);
        let mut t = CaptureTurn::default();
        t.servers.insert(r.server.ip());
        assert_eq!(kind(&r, &t, 5), PeerKind::Relay);
    }

    #[test]
    fn names_realms_and_networks_say_relay() {
        let none = CaptureTurn::default();
        let mut r = rec("203.0.113.5:3478", None);
        assert_eq!(kind(&r, &none, 0), PeerKind::Unknown);
        r.dns_name = Some("turn2.voip.signal.org".into());
        assert_eq!(kind(&r, &none, 0), PeerKind::Relay);
        let mut r = rec("203.0.113.5:3478", None);
        r.service_evidence = vec![Evidence::new(EvidenceKind::StunRealm, "example.org")];
        assert_eq!(kind(&r, &none, 0), PeerKind::Relay);
        assert_eq!(
            kind(&rec("157.240.1.1:3478", Some(32934)), &none, 0),
            PeerKind::Relay
        );
        assert_eq!(
            kind(&rec("3.5.1.1:50000", Some(16509)), &none, 0),
            PeerKind::Relay
        );
        // Zoom's published call range.
        assert_eq!(
            kind(&rec("144.195.73.154:8801", None), &none, 0),
            PeerKind::Relay
        );
    }

    #[test]
    fn direct_needs_a_local_address_an_access_network_or_a_peer_candidate() {
        let none = CaptureTurn::default();
        assert_eq!(
            kind(&rec("192.168.1.20:5000", None), &none, 0),
            PeerKind::Direct
        );
        // A private address of another site is routed there, not a device on the network.
        assert_eq!(
            kind(&rec("10.23.1.52:5000", None), &none, 0),
            PeerKind::Unknown
        );
        assert_eq!(
            kind(&rec("169.254.3.4:5000", None), &none, 0),
            PeerKind::Direct
        );
        // Carrier-grade NAT space is the operator's, not a device on the LAN.
        assert_eq!(
            kind(&rec("100.64.1.2:5000", None), &none, 0),
            PeerKind::Unknown
        );
        let p = judge(
            &rec("198.51.100.7:5000", Some(3269)),
            "198.51.100.7:5000"
                .parse()
                .unwrap_or_else(|e| panic!("{e}")),
            &none,
            0,
        );
        assert_eq!(p.kind, PeerKind::Direct);
        assert!(p.evidence.contains("AS3269"), "{}", p.evidence);
        let unlisted = rec("203.0.113.9:5000", None);
        let u = judge(&unlisted, unlisted.server, &none, 0);
        assert_eq!(u.kind, PeerKind::Unknown);
        assert!(
            u.evidence
                .contains("neither a known relay nor an access network")
        );
        let mut t = CaptureTurn::default();
        t.peers.insert(unlisted.server.ip());
        assert_eq!(kind(&unlisted, &t, 0), PeerKind::Direct);
        assert_eq!(kind(&unlisted, &none, 2), PeerKind::Direct);
        // A peer candidate on a cloud network is the peer's relay.
        let mut t = CaptureTurn::default();
        let aws = rec("18.195.131.143:61156", Some(16509));
        t.peers.insert(aws.server.ip());
        assert_eq!(kind(&aws, &t, 3), PeerKind::Relay);
    }
}
