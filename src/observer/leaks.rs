//! Leaks: names readable on the path (clear DNS, local-network names, TLS/QUIC server names),
//! the peers of direct calls, suspected probing, and guesses at the user's devices.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::build::Builder;
use super::digest::{self, NameAgg};
use super::{CallRow, Finding, Leaks, NameList, NameRow, OtherRow, PeerRow, device, plural, score};
use crate::model::EventKind;

/// Device hints shown: the clients with the most flows.
pub const MAX_DEVICE_HINTS: usize = 3;
/// Names quoted in one sentence.
const NAMES_IN_SENTENCE: usize = 4;

/// Names of the local side that `--redact` hides: reverse lookups of addresses and names of
/// local-only domains (RFC 6762 `.local`, RFC 8375 `home.arpa`, and common router suffixes).
fn local_side_name(name: &str) -> bool {
    [
        ".in-addr.arpa",
        ".ip6.arpa",
        ".local",
        ".home.arpa",
        ".lan",
        ".home",
        ".internal",
        ".localdomain",
    ]
    .iter()
    .any(|s| name.ends_with(s))
}

/// The names read in the clear: asked in DNS, of the local network, in TLS/QUIC handshakes,
/// and the outer names of handshakes with Encrypted Client Hello.
struct Names {
    dns: NameList,
    local_names: NameList,
    tls: NameList,
    ech: NameList,
}

impl Builder<'_> {
    fn name_list(&self, map: &BTreeMap<String, NameAgg>, hide: impl Fn(&str) -> bool) -> NameList {
        let mut l = NameList {
            total: map.len(),
            ..NameList::default()
        };
        for (name, n) in map {
            if hide(name) {
                l.hidden += 1;
                continue;
            }
            l.names.push(NameRow {
                name: name.clone(),
                service: n.service.clone(),
                flows: n.flows,
                first_ts: n.first_ts,
                quic: n.quic,
            });
        }
        // Names of a messaging service first, then by first time seen.
        l.names.sort_by(|a, b| {
            a.service
                .is_none()
                .cmp(&b.service.is_none())
                .then(a.first_ts.total_cmp(&b.first_ts))
                .then(a.name.cmp(&b.name))
        });
        l
    }

    fn names_sentence(l: &NameList) -> String {
        let quoted: Vec<String> = l
            .names
            .iter()
            .take(NAMES_IN_SENTENCE)
            .map(|n| match &n.service {
                Some(s) => format!("{} ({s})", n.name),
                None => n.name.clone(),
            })
            .collect();
        let more = l.names.len().saturating_sub(NAMES_IN_SENTENCE);
        let mut s = quoted.join(", ");
        if more > 0 {
            s.push_str(&format!(" and {more} more"));
        }
        s
    }

    fn name_flows(map: &BTreeMap<String, NameAgg>, l: &NameList) -> Vec<String> {
        l.names
            .iter()
            .take(NAMES_IN_SENTENCE)
            .filter_map(|n| map.get(&n.name).and_then(|a| a.examples.first().cloned()))
            .collect()
    }

    pub(super) fn leaks(&mut self, calls: &[CallRow], others: &[OtherRow]) -> Leaks {
        let names = self.names();
        self.names_findings(&names);
        let Names {
            dns,
            local_names,
            tls,
            ech,
        } = names;
        let direct_peers = calls
            .iter()
            .filter(|c| c.path == "direct")
            .map(|c| PeerRow {
                event: c.event,
                service: c.service.clone(),
                ip: c.peer_ip.clone(),
                network: c.network.clone(),
                country: c.country.clone(),
                city: c.city.clone(),
            })
            .collect();
        let probing = others
            .iter()
            .filter(|o| o.kind == EventKind::ProbingSuspected)
            .cloned()
            .collect();
        let device_hints = self.device_hints();
        Leaks {
            dns,
            local_names,
            tls,
            ech,
            encrypted_dns_flows: self.digest.encrypted_dns_flows,
            direct_peers,
            probing,
            device_hints,
        }
    }

    /// The names read in the clear, less those `--redact` hides.
    fn names(&self) -> Names {
        let redact = self.red.is_on();
        let d = self.digest;
        // Names of the local side, and names that are a hidden address themselves (a client
        // may send an address as its TLS server name).
        let hide = |n: &str| {
            redact && (local_side_name(n) || n.parse::<IpAddr>().is_ok_and(|ip| self.red.hides(ip)))
        };
        let mut dns = self.name_list(&d.dns_names, hide);
        dns.dropped_flows = d.names_dropped;
        let local_names = self.name_list(&d.local_names, |_| redact);
        let tls = self.name_list(&d.tls_names, hide);
        let ech = self.name_list(&d.ech_names, hide);
        Names {
            dns,
            local_names,
            tls,
            ech,
        }
    }

    /// A finding for each kind of name read in the clear, when any was.
    fn names_findings(&mut self, names: &Names) {
        let d = self.digest;
        let Names {
            dns,
            local_names,
            tls,
            ech,
        } = names;
        if !dns.names.is_empty() {
            let messaging = dns.names.iter().any(|n| n.service.is_some());
            self.push(Finding {
                score: score::DNS + if messaging { 0.01 } else { 0.0 },
                sentence: format!(
                    "{} looked up in clear DNS, readable by anyone on the path: {}.",
                    plural(dns.names.len() as u64, "name", "names"),
                    Self::names_sentence(dns)
                ),
                events: Vec::new(),
                flows: Self::name_flows(&d.dns_names, dns),
                kind: "dns".into(),
                mitigation: "encrypted_dns".into(),
                start_ts: dns.names.iter().map(|n| n.first_ts).reduce(f64::min),
            });
        }
        if !local_names.names.is_empty() {
            self.push(Finding {
                score: score::LOCAL_NAMES,
                sentence: format!(
                    "{} announced or asked on the local network (mDNS/LLMNR), often naming the \
                     device or its owner: {}.",
                    plural(local_names.names.len() as u64, "name", "names"),
                    Self::names_sentence(local_names)
                ),
                events: Vec::new(),
                flows: Self::name_flows(&d.local_names, local_names),
                kind: "local_names".into(),
                mitigation: "local_names".into(),
                start_ts: local_names
                    .names
                    .iter()
                    .map(|n| n.first_ts)
                    .reduce(f64::min),
            });
        }
        if !tls.names.is_empty() {
            let ech_note = if ech.total == 0 {
                "none hidden by Encrypted Client Hello".to_string()
            } else {
                format!(
                    "{} more behind Encrypted Client Hello",
                    plural(ech.total as u64, "handshake name", "handshake names")
                )
            };
            self.push(Finding {
                score: score::TLS,
                sentence: format!(
                    "{} readable in TLS/QUIC handshakes ({ech_note}): {}.",
                    plural(tls.names.len() as u64, "server name", "server names"),
                    Self::names_sentence(tls)
                ),
                events: Vec::new(),
                flows: Self::name_flows(&d.tls_names, tls),
                kind: "tls".into(),
                mitigation: "ech".into(),
                start_ts: tls.names.iter().map(|n| n.first_ts).reduce(f64::min),
            });
        }
    }

    /// Guesses at the operating systems of the user's devices (the clients with the most
    /// flows), each with a finding.
    fn device_hints(&mut self) -> Vec<device::DeviceHint> {
        let d = self.digest;
        let mut clients: Vec<(&IpAddr, &digest::ClientAgg)> = d.clients.iter().collect();
        clients.sort_by(|a, b| b.1.flows.cmp(&a.1.flows).then(a.0.cmp(b.0)));
        let mut device_hints = Vec::new();
        let readable = |ip: &IpAddr| match ip {
            IpAddr::V4(v4) => !(v4.is_unspecified() || v4.is_broadcast() || v4.is_multicast()),
            IpAddr::V6(v6) => !(v6.is_unspecified() || v6.is_multicast()),
        };
        // The user's devices are on the local side when any client is; other clients are
        // servers' far ends (a peer opening a direct leg) and not the user's.
        let any_local = clients
            .iter()
            .any(|(ip, _)| readable(ip) && crate::naming::geo::is_local(**ip));
        for (ip, agg) in clients
            .into_iter()
            .filter(|(ip, _)| readable(ip))
            .filter(|(ip, _)| !any_local || crate::naming::geo::is_local(**ip))
            .take(MAX_DEVICE_HINTS)
        {
            let shown = self.red.text(&ip.to_string());
            if let Some(h) = device::hint(shown, agg).filter(|h| h.guess != "unknown") {
                self.push(Finding {
                    score: score::DEVICE,
                    sentence: format!(
                        "The device at {}: {} (a guess from its {}, read the way p0f does).",
                        h.client, h.guess, h.basis
                    ),
                    events: Vec::new(),
                    flows: agg.examples.clone(),
                    kind: "device".into(),
                    mitigation: "device_os".into(),
                    start_ts: None,
                });
                device_hints.push(h);
            }
        }
        device_hints
    }
}
