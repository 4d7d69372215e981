//! What the report needs of every flow, folded in as each flow ends, in bounded space: per
//! service (first and last time, volume, how it was recognised, countries and networks), the
//! names readable in clear DNS and in TLS/QUIC handshakes, and per client the header fields an
//! observer reads passively (IP TTL, SYN options).
//!
//! The activity model keeps only the flows it needs; the report needs a little of every flow.
//! Folding them here keeps memory proportional to the number of services, names and clients
//! (each capped, overflow counted), never to the number of flows. It must never keep a flow
//! record itself.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::LazyLock;

use serde::Serialize;

use crate::model::{FlowRecord, Role};

/// Distinct DNS names and TLS/QUIC server names kept: a day of a phone's traffic names a few
/// hundred hosts; beyond this cap further names are only counted.
pub const MAX_NAMES: usize = 4096;
/// Client addresses kept for device hints and redaction: a home network has tens of devices.
pub const MAX_CLIENTS: usize = 256;
/// Networks (autonomous systems) kept per service; the rest are summed into one row.
pub const MAX_NETWORKS: usize = 64;
/// Distinct SYN signatures kept per client (one stack sends one or two).
const MAX_SYN_SIGS: usize = 16;
/// Example flows kept per service and per name, as evidence.
const MAX_EXAMPLES: usize = 4;

/// Ports of DNS in the clear (RFC 1035) and of its local-link forms, mDNS (RFC 6762) and LLMNR
/// (RFC 4795), which name devices on the local network.
const DNS_PORT: u16 = 53;
const LOCAL_NAME_PORTS: [u16; 2] = [5353, 5355];
/// DNS over TLS and over QUIC (RFC 7858, RFC 9250).
const DOT_PORT: u16 = 853;
/// Server names of the public DNS-over-HTTPS resolvers that browsers and phones offer as
/// presets (Android's Private DNS, Firefox, Chrome): data, with a source and date per row, in
/// `assets/resolvers/doh.tsv` (see `assets/resolvers/README.md`).
static DOH_NAMES: LazyLock<Vec<&'static str>> =
    LazyLock::new(|| doh_names(include_str!("../../assets/resolvers/doh.tsv")));

/// The `name` column of a resolver table: comment lines (`#`) and the header are skipped.
fn doh_names(table: &'static str) -> Vec<&'static str> {
    table
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .skip(1)
        .filter_map(|l| l.split('\t').nth(1))
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .collect()
}

/// One service's traffic.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ServiceAgg {
    pub first_ts: f64,
    pub last_ts: f64,
    pub flows: u64,
    pub bytes_up: u64,
    pub bytes_down: u64,
    /// Evidence kinds that named its flows ("sni", "dns", "ip-list", ...), with flow counts.
    pub how: BTreeMap<String, u64>,
    /// Roles of its flows (chat, media, call, push, web, dns); empty when only the company
    /// behind the addresses is known.
    pub roles: BTreeMap<String, u64>,
    /// Country code of the remote side → (flows, bytes).
    pub countries: BTreeMap<String, (u64, u64)>,
    /// "AS32934 Facebook, Inc." → (flows, bytes).
    pub networks: BTreeMap<String, (u64, u64)>,
    pub networks_other: (u64, u64),
    pub examples: Vec<String>,
}

/// A name read in the clear.
#[derive(Clone, Debug, Default, Serialize)]
pub struct NameAgg {
    pub service: Option<String>,
    pub flows: u64,
    pub first_ts: f64,
    /// Seen in a QUIC Initial rather than a TLS ClientHello over TCP.
    pub quic: bool,
    pub examples: Vec<String>,
}

/// Header fields of one client's packets.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ClientAgg {
    pub flows: u64,
    /// TTL of its flows' first packets → flows.
    pub ttl: BTreeMap<u8, u64>,
    /// The same for flows opened with a TCP SYN: the stack's default TTL, whereas other
    /// packets may carry one their protocol or program sets (Apple's resolver sends unicast
    /// DNS at 255, as ndpi/iphone.pcap shows, while its SYNs start at 64).
    pub syn_ttl: BTreeMap<u8, u64>,
    /// SYN (window, options layout, MSS, window scale) → flows.
    pub syn: BTreeMap<SynSig, u64>,
    /// Flows whose SYN or first packet was read, as evidence.
    pub examples: Vec<String>,
}

/// A SYN's passive signature.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct SynSig {
    pub window: u16,
    pub layout: String,
    pub mss: Option<u16>,
    pub wscale: Option<u8>,
}

/// Everything folded from the flows.
#[derive(Clone, Debug, Default)]
pub struct Digest {
    pub flows: u64,
    pub first_ts: Option<f64>,
    pub last_ts: Option<f64>,
    pub services: BTreeMap<String, ServiceAgg>,
    /// Names asked in clear DNS (port 53).
    pub dns_names: BTreeMap<String, NameAgg>,
    /// Names of the local network (mDNS, LLMNR): often a device's own name.
    pub local_names: BTreeMap<String, NameAgg>,
    /// Server names readable in TLS or QUIC ClientHellos without Encrypted Client Hello.
    pub tls_names: BTreeMap<String, NameAgg>,
    /// ClientHellos with Encrypted Client Hello, by the (outer) name they showed.
    pub ech_names: BTreeMap<String, NameAgg>,
    pub names_dropped: u64,
    /// Flows of encrypted DNS (DoT, DoQ, DoH to a known resolver).
    pub encrypted_dns_flows: u64,
    pub clients: BTreeMap<IpAddr, ClientAgg>,
    pub clients_dropped: u64,
}

impl Digest {
    pub fn from_flows<'a>(flows: impl IntoIterator<Item = &'a FlowRecord>) -> Self {
        let mut d = Self::default();
        for f in flows {
            d.add(f);
        }
        d
    }

    /// Fold one finished flow in.
    pub fn add(&mut self, r: &FlowRecord) {
        self.flows += 1;
        self.first_ts = Some(self.first_ts.map_or(r.first_ts, |t| t.min(r.first_ts)));
        self.last_ts = Some(self.last_ts.map_or(r.last_ts, |t| t.max(r.last_ts)));
        let flow_ref = || r.flow_ref().to_string();
        let server_port = Some(r.server.port());
        if let Some(service) = &r.service {
            let s = self.services.entry(service.clone()).or_default();
            if s.flows == 0 {
                s.first_ts = r.first_ts;
                s.last_ts = r.last_ts;
            }
            s.first_ts = s.first_ts.min(r.first_ts);
            s.last_ts = s.last_ts.max(r.last_ts);
            s.flows += 1;
            s.bytes_up += r.bytes_up;
            s.bytes_down += r.bytes_down;
            let bytes = r.bytes_up + r.bytes_down;
            if let Some(e) = r.service_evidence.first() {
                *s.how.entry(e.kind.as_str().to_string()).or_default() += 1;
            }
            if let Some(role) = r.service_role {
                *s.roles.entry(role.to_string()).or_default() += 1;
            }
            // DNS flows go to the resolver, not to the service: they say nothing of where the
            // service's traffic goes.
            if r.service_role != Some(Role::Dns) {
                if let Some(c) = &r.country {
                    let e = s.countries.entry(c.clone()).or_default();
                    e.0 += 1;
                    e.1 += bytes;
                }
                if let Some(asn) = r.asn {
                    let key = match &r.as_org {
                        Some(o) => format!("AS{asn} {o}"),
                        None => format!("AS{asn}"),
                    };
                    if s.networks.contains_key(&key) || s.networks.len() < MAX_NETWORKS {
                        let e = s.networks.entry(key).or_default();
                        e.0 += 1;
                        e.1 += bytes;
                    } else {
                        s.networks_other.0 += 1;
                        s.networks_other.1 += bytes;
                    }
                }
            }
            if s.examples.len() < MAX_EXAMPLES {
                s.examples.push(flow_ref());
            }
        }
        if let Some(name) = &r.dns_name {
            let map = match server_port {
                Some(DNS_PORT) => Some(&mut self.dns_names),
                Some(p) if LOCAL_NAME_PORTS.contains(&p) => Some(&mut self.local_names),
                _ => None,
            };
            if let Some(map) = map {
                add_name(map, &mut self.names_dropped, name, r, false, flow_ref);
            }
        }
        if let Some(sni) = &r.sni {
            let quic = r.quic_version.is_some();
            let map = if r.ech {
                &mut self.ech_names
            } else {
                &mut self.tls_names
            };
            add_name(map, &mut self.names_dropped, sni, r, quic, flow_ref);
        }
        let encrypted_dns = server_port == Some(DOT_PORT)
            || r.sni
                .as_deref()
                .is_some_and(|s| DOH_NAMES.iter().any(|d| s.eq_ignore_ascii_case(d)));
        if encrypted_dns {
            self.encrypted_dns_flows += 1;
        }
        {
            let ip = r.client.ip();
            let known = self.clients.contains_key(&ip);
            if known || self.clients.len() < MAX_CLIENTS {
                let c = self.clients.entry(ip).or_default();
                c.flows += 1;
                // Packets to multicast and broadcast addresses carry TTLs their protocols fix
                // (mDNS 255, RFC 6762 §11; SSDP and LLMNR 1 to 4), not the system's default.
                let unicast = match r.server.ip() {
                    IpAddr::V4(v4) => !(v4.is_multicast() || v4.is_broadcast()),
                    IpAddr::V6(v6) => !v6.is_multicast(),
                };
                if let (Some(ttl), true) = (r.client_ttl, unicast) {
                    *c.ttl.entry(ttl).or_default() += 1;
                }
                if let (Some(window), Some(layout)) = (r.syn_window, &r.syn_options) {
                    let sig = SynSig {
                        window,
                        layout: layout.clone(),
                        mss: r.syn_mss,
                        wscale: r.syn_wscale,
                    };
                    if c.syn.contains_key(&sig) || c.syn.len() < MAX_SYN_SIGS {
                        *c.syn.entry(sig).or_default() += 1;
                    }
                    if let Some(ttl) = r.client_ttl {
                        *c.syn_ttl.entry(ttl).or_default() += 1;
                    }
                    if c.examples.len() < MAX_EXAMPLES {
                        c.examples.push(flow_ref());
                    }
                } else if c.examples.is_empty() && r.client_ttl.is_some() {
                    c.examples.push(flow_ref());
                }
            } else {
                self.clients_dropped += 1;
            }
        }
    }
}

fn add_name(
    map: &mut BTreeMap<String, NameAgg>,
    dropped: &mut u64,
    name: &str,
    r: &FlowRecord,
    quic: bool,
    flow_ref: impl Fn() -> String,
) {
    let key = name.trim_end_matches('.').to_ascii_lowercase();
    if !map.contains_key(&key) && map.len() >= MAX_NAMES {
        *dropped += 1;
        return;
    }
    let n = map.entry(key).or_default();
    if n.flows == 0 {
        n.first_ts = r.first_ts;
    }
    n.first_ts = n.first_ts.min(r.first_ts);
    n.flows += 1;
    n.quic |= quic;
    if n.service.is_none() && r.service_role.is_some() {
        n.service.clone_from(&r.service);
    }
    if n.examples.len() < MAX_EXAMPLES {
        n.examples.push(flow_ref());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;

    #[test]
    fn the_resolver_table_gives_every_name_with_a_source_and_a_date() {
        let mut names = DOH_NAMES.clone();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "cloudflare-dns.com",
                "dns.adguard-dns.com",
                "dns.google",
                "dns.nextdns.io",
                "dns.quad9.net",
                "doh.mullvad.net",
                "doh.opendns.com",
                "one.one.one.one",
            ]
        );
        let table = include_str!("../../assets/resolvers/doh.tsv");
        let rows: Vec<Vec<&str>> = table
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| l.split('\t').collect())
            .collect();
        assert_eq!(rows[0], ["operator", "name", "source", "date"]);
        for r in &rows[1..] {
            assert_eq!(r.len(), 4, "{r:?}");
            assert!(!r[2].trim().is_empty(), "no source: {r:?}");
            let date: Vec<&str> = r[3].split('-').collect();
            assert!(
                date.len() == 3 && date.iter().all(|p| p.parse::<u16>().is_ok()),
                "no date: {r:?}"
            );
        }
        // Comments and the header are no names.
        assert_eq!(
            doh_names("# c\nname\tx\n\nop\tdns.example\n"),
            ["dns.example"]
        );
    }

    #[test]
    fn flows_to_port_853_and_to_known_resolvers_count_as_encrypted_dns() {
        let flow = |port: u16, sni: Option<&str>| FlowRecord {
            client: SocketAddr::from(([192, 168, 1, 5], 40000)),
            server: SocketAddr::from(([203, 0, 113, 53], port)),
            sni: sni.map(str::to_string),
            ..FlowRecord::default()
        };
        let flows = [
            flow(443, Some("DNS.Google")),
            flow(853, None),
            flow(443, Some("dns.example")),
            flow(443, Some("mozilla.cloudflare-dns.com")),
            flow(443, None),
        ];
        let d = Digest::from_flows(&flows);
        assert_eq!(d.encrypted_dns_flows, 2);
        assert_eq!(d.flows, 5);
    }
}
