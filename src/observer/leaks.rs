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
        let (dns, local_names, tls, ech) = (&names.dns, &names.local_names, &names.tls, &names.ech);
        if !dns.names.is_empty() {
            let messaging = dns.names.iter().any(|n| n.service.is_some());
            let sentence = format!(
                "{} looked up in clear DNS, readable by anyone on the path: {}.",
                plural(dns.names.len() as u64, "name", "names"),
                Self::names_sentence(dns)
            );
            let score = score::DNS + if messaging { 0.01 } else { 0.0 };
            self.name_finding(&d.dns_names, dns, score, sentence, ("dns", "encrypted_dns"));
        }
        if !local_names.names.is_empty() {
            let sentence = format!(
                "{} announced or asked on the local network (mDNS/LLMNR), often naming the \
                 device or its owner: {}.",
                plural(local_names.names.len() as u64, "name", "names"),
                Self::names_sentence(local_names)
            );
            let kind = ("local_names", "local_names");
            self.name_finding(
                &d.local_names,
                local_names,
                score::LOCAL_NAMES,
                sentence,
                kind,
            );
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
            let sentence = format!(
                "{} readable in TLS/QUIC handshakes ({ech_note}): {}.",
                plural(tls.names.len() as u64, "server name", "server names"),
                Self::names_sentence(tls)
            );
            self.name_finding(&d.tls_names, tls, score::TLS, sentence, ("tls", "ech"));
        }
    }

    /// One finding about names read in the clear: its flows and first time come from the
    /// list; `(kind, mitigation)` name the finding.
    fn name_finding(
        &mut self,
        map: &BTreeMap<String, NameAgg>,
        list: &NameList,
        score: f64,
        sentence: String,
        (kind, mitigation): (&str, &str),
    ) {
        self.push(Finding {
            score,
            sentence,
            events: Vec::new(),
            flows: Self::name_flows(map, list),
            kind: kind.into(),
            mitigation: mitigation.into(),
            start_ts: list.names.iter().map(|n| n.first_ts).reduce(f64::min),
        });
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

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::*;
    use crate::model::{FlowRecord, Role};
    use crate::observer::digest::Digest;
    use crate::observer::testkit::{MONDAY, build, finding};

    /// A flow from the phone at 192.168.1.5 to port `port`, at `MONDAY + at`.
    fn flow(port: u16, at: f64) -> FlowRecord {
        FlowRecord {
            client: SocketAddr::from(([192, 168, 1, 5], 40000)),
            server: SocketAddr::from(([192, 168, 1, 1], port)),
            first_ts: MONDAY + at,
            last_ts: MONDAY + at + 1.0,
            client_ttl: Some(64),
            ..FlowRecord::default()
        }
    }

    fn dns(name: &str, at: f64) -> FlowRecord {
        FlowRecord {
            dns_name: Some(name.into()),
            ..flow(53, at)
        }
    }

    fn digest() -> Digest {
        let mut whatsapp = dns("mmg.whatsapp.net", 2.0);
        whatsapp.service = Some("WhatsApp".into());
        whatsapp.service_role = Some(Role::Dns);
        let mut signal = flow(443, 4.0);
        signal.server = SocketAddr::from(([203, 0, 113, 80], 443));
        signal.sni = Some("chat.signal.org".into());
        let mut ech = signal.clone();
        ech.sni = Some("cover.example".into());
        ech.ech = true;
        let local = FlowRecord {
            dns_name: Some("Alices-iPhone.local".into()),
            ..flow(5353, 5.0)
        };
        Digest::from_flows(&[
            dns("example.org", 1.0),
            whatsapp,
            dns("5.1.168.192.in-addr.arpa", 3.0),
            signal,
            ech,
            local,
        ])
    }

    #[test]
    fn leaks_list_clear_dns_names_messaging_first_and_the_handshake_names() {
        let m = build(&digest(), &[], false);
        let names: Vec<&str> = m.leaks.dns.names.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "mmg.whatsapp.net",
                "example.org",
                "5.1.168.192.in-addr.arpa"
            ]
        );
        let f = finding(&m, "dns", "clear DNS");
        assert_eq!(
            f.sentence,
            "3 names looked up in clear DNS, readable by anyone on the path: mmg.whatsapp.net \
             (WhatsApp), example.org, 5.1.168.192.in-addr.arpa."
        );
        assert_eq!(f.score, score::DNS + 0.01);
        assert_eq!(f.start_ts, Some(MONDAY + 1.0));
        assert_eq!(
            finding(&m, "tls", "handshakes").sentence,
            "1 server name readable in TLS/QUIC handshakes (1 handshake name more behind \
             Encrypted Client Hello): chat.signal.org."
        );
        assert_eq!(m.leaks.ech.names[0].name, "cover.example");
        finding(&m, "local_names", "alices-iphone.local");
        // One device, the phone, read from its TTL.
        let [hint] = m.leaks.device_hints.as_slice() else {
            panic!("{:?}", m.leaks.device_hints);
        };
        assert_eq!(hint.client, "192.168.1.5");
        assert_eq!(hint.initial_ttl, Some(64));
    }

    #[test]
    fn a_redacted_report_hides_names_of_the_local_side() {
        let m = build(&digest(), &[], true);
        let dns = &m.leaks.dns;
        assert_eq!((dns.total, dns.hidden, dns.names.len()), (3, 1, 2));
        assert!(dns.names.iter().all(|n| !n.name.ends_with(".arpa")));
        assert_eq!(m.leaks.local_names.hidden, 1);
        assert!(m.leaks.local_names.names.is_empty());
        assert!(m.findings.iter().all(|f| f.kind != "local_names"));
        finding(&m, "dns", "2 names looked up");
        assert_eq!(m.leaks.device_hints[0].client, "device-1");
        let all = serde_json::to_string(&m.leaks).unwrap_or_default();
        assert!(
            !all.contains("192.168.1.5") && !all.contains("iphone"),
            "{all}"
        );
    }

    #[test]
    fn names_of_the_local_side_are_reverse_lookups_and_local_domains() {
        assert!(local_side_name("5.1.168.192.in-addr.arpa"));
        assert!(local_side_name("nas.home.arpa"));
        assert!(local_side_name("printer.lan"));
        assert!(!local_side_name("chat.signal.org"));
        assert!(!local_side_name("lan.example.com"));
    }
}
