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
