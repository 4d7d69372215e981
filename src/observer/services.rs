//! Services: every service or company the flows were named after, with when, how much and how
//! it was recognised; a finding for each messaging service.

use super::build::Builder;
use super::{Finding, MAX_FLOW_REFS, ServiceRow, flows_of, list_and, plural, score, words};
use crate::model::EventKind;

impl Builder<'_> {
    pub(super) fn services(&mut self) -> Vec<ServiceRow> {
        let mut rows = Vec::new();
        for (name, s) in &self.digest.services {
            let messaging = !s.roles.is_empty();
            let evs = self.events_of(|e| e.service.as_deref() == Some(name.as_str()));
            let active: f64 = evs
                .iter()
                .filter(|e| e.kind == EventKind::OnlineSession)
                .map(|e| (e.end_ts - e.start_ts).max(0.0))
                // Not `sum()`: an empty f64 sum is -0.0, which JSON would print as such.
                .fold(0.0, |a, b| a + b);
            let mut how: Vec<(&String, &u64)> = s.how.iter().collect();
            how.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            let mut recognised_by: Vec<String> = Vec::new();
            for (k, _) in how {
                let w = words::evidence_kind(k).to_string();
                if !recognised_by.contains(&w) {
                    recognised_by.push(w);
                }
            }
            let roles: Vec<String> = s.roles.keys().cloned().collect();
            let row = ServiceRow {
                service: name.clone(),
                kind: if messaging { "messaging" } else { "company" },
                first_ts: s.first_ts,
                last_ts: s.last_ts,
                first: self.zone.day_time(s.first_ts),
                last: self.zone.day_time(s.last_ts),
                active_secs: active,
                flows: s.flows,
                bytes_up: s.bytes_up,
                bytes_down: s.bytes_down,
                recognised_by,
                roles,
                events: evs.iter().map(|e| e.id).collect(),
            };
            if messaging {
                let dns_only = row.roles.iter().all(|r| r == "dns");
                let how_words = list_and(
                    &row.recognised_by
                        .iter()
                        .take(3)
                        .cloned()
                        .collect::<Vec<_>>(),
                );
                let (sentence, sc) = if dns_only {
                    (
                        format!(
                            "{} servers were looked up in DNS at {}, though no traffic to them \
                             was seen: the device has {name} or is about to use it.",
                            words::possessive(name),
                            self.zone.day_time(s.first_ts)
                        ),
                        score::SERVICE_DNS_ONLY,
                    )
                } else if active > 0.0 {
                    (
                        format!(
                            "{name} in use {} ({} of activity, {} exchanged), recognised by \
                             {how_words}.",
                            self.zone.from_to(s.first_ts, s.last_ts),
                            words::duration(active),
                            words::bytes(s.bytes_up + s.bytes_down)
                        ),
                        score::SERVICE_ACTIVE,
                    )
                } else {
                    (
                        format!(
                            "{name} contacted {} ({}, {} exchanged), recognised by {how_words}.",
                            self.zone.from_to(s.first_ts, s.last_ts),
                            plural(s.flows, "connection", "connections"),
                            words::bytes(s.bytes_up + s.bytes_down)
                        ),
                        score::SERVICE_CONTACTED,
                    )
                };
                let mut flows = s.examples.clone();
                for f in flows_of(evs.iter().copied()) {
                    if flows.len() < MAX_FLOW_REFS && !flows.contains(&f) {
                        flows.push(f);
                    }
                }
                self.push(Finding {
                    score: sc,
                    sentence,
                    events: row.events.clone(),
                    flows,
                    kind: "service".into(),
                    mitigation: "vpn_destinations".into(),
                    start_ts: Some(s.first_ts),
                });
            }
            rows.push(row);
        }
        // Messaging services first, then by first time seen.
        rows.sort_by(|a, b| {
            (a.kind != "messaging")
                .cmp(&(b.kind != "messaging"))
                .then(a.first_ts.total_cmp(&b.first_ts))
                .then(a.service.cmp(&b.service))
        });
        rows
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use crate::model::EventKind;
    use crate::observer::digest::{Digest, ServiceAgg};
    use crate::observer::testkit::{HOUR, MONDAY, build, event, finding};

    fn service(first: f64, roles: &[&str], how: &[(&str, u64)]) -> ServiceAgg {
        ServiceAgg {
            first_ts: first,
            last_ts: first + HOUR,
            flows: 3,
            bytes_up: 40_000,
            bytes_down: 2_000_000,
            how: how.iter().map(|(k, n)| (k.to_string(), *n)).collect(),
            roles: roles.iter().map(|r| (r.to_string(), 1)).collect(),
            ..ServiceAgg::default()
        }
    }

    #[test]
    fn messaging_services_come_first_and_are_worded_by_what_was_seen() {
        let services = BTreeMap::from([
            ("Meta".to_string(), service(MONDAY, &[], &[("asn", 3)])),
            (
                "Signal".to_string(),
                service(
                    MONDAY + 2.0 * HOUR,
                    &["chat"],
                    &[
                        ("sni", 3),
                        ("stun-attr", 2),
                        ("stun-realm", 1),
                        ("ip-list", 1),
                    ],
                ),
            ),
            (
                "Telegram".to_string(),
                service(MONDAY + HOUR, &["dns"], &[("dns-query", 1)]),
            ),
            (
                "Threema".to_string(),
                service(MONDAY + 3.0 * HOUR, &["chat"], &[("port", 3)]),
            ),
        ]);
        let digest = Digest {
            services,
            ..Digest::default()
        };
        let mut session = event(
            1,
            EventKind::OnlineSession,
            MONDAY + 2.0 * HOUR,
            MONDAY + 2.0 * HOUR + 600.0,
        );
        session.service = Some("Signal".into());
        let m = build(&digest, &[session], false);
        let rows: Vec<(&str, &str)> = m
            .services
            .iter()
            .map(|r| (r.service.as_str(), r.kind))
            .collect();
        assert_eq!(
            rows,
            [
                ("Telegram", "messaging"),
                ("Signal", "messaging"),
                ("Threema", "messaging"),
                ("Meta", "company")
            ]
        );
        assert_eq!(m.services[1].active_secs, 600.0);
        assert_eq!(m.services[1].events, [1]);
        // Most flows first; two evidence kinds worded alike appear once.
        assert_eq!(
            m.services[1].recognised_by,
            [
                "server name in TLS/QUIC (SNI)",
                "STUN markers",
                "published address range"
            ]
        );
        assert_eq!(
            finding(&m, "service", "Signal").sentence,
            "Signal in use from Mon 02:00 to 03:00 (10 min of activity, 2.0 MB exchanged), \
             recognised by server name in TLS/QUIC (SNI), STUN markers and published address \
             range."
        );
        assert_eq!(
            finding(&m, "service", "Telegram").sentence,
            "Telegram's servers were looked up in DNS at Mon 01:00, though no traffic to them was \
             seen: the device has Telegram or is about to use it."
        );
        assert!(
            finding(
                &m,
                "service",
                "Threema contacted from Mon 03:00 to 04:00 (3 connections"
            )
            .score
                < finding(&m, "service", "Signal").score
        );
        assert!(m.findings.iter().all(|f| !f.sentence.contains("Meta")));
    }
}
