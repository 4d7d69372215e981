//! The builder: one value per run that the sections fill in turn, and [`Model::build`], which
//! runs them in order, redacts, ranks the findings and picks the headline.

use super::digest::Digest;
use super::redact::Redactor;
use super::words::Zone;
use super::{Capture, Finding, Model, call_peer, headline, mitigations};
use crate::model::{Event, EventKind, PeerKind};

/// Builds the model; one value per run, then dropped.
pub(super) struct Builder<'a> {
    pub(super) digest: &'a Digest,
    pub(super) events: &'a [Event],
    pub(super) zone: &'a Zone,
    pub(super) red: Redactor,
    pub(super) findings: Vec<Finding>,
}

impl Model {
    /// Every section, from the digest of all flows and the events of the activity model.
    pub fn build(digest: &Digest, events: &[Event], zone: &Zone, redact: bool) -> Self {
        let zone = &zone.for_span(digest.first_ts, digest.last_ts);
        let red = redactor(digest, events, redact);
        let mut b = Builder {
            digest,
            events,
            zone,
            red,
            findings: Vec::new(),
        };
        let calls = b.calls();
        let media = b.media();
        let messages = b.messages();
        let rhythm = b.rhythm();
        let services = b.services();
        let destinations = b.destinations();
        let other_activities = b.other_activities();
        let leaks = b.leaks(&calls, &other_activities);
        let mut findings = std::mem::take(&mut b.findings);
        super::hedge::hedge_all(&mut findings, events);
        for f in &mut findings {
            f.sentence = b.red.text(&f.sentence);
            f.flows = f.flows.iter().map(|x| b.red.text(x)).collect();
        }
        findings.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then(
                    a.start_ts
                        .unwrap_or(f64::MAX)
                        .total_cmp(&b.start_ts.unwrap_or(f64::MAX)),
                )
                .then(a.sentence.cmp(&b.sentence))
        });
        let headline = headline::pick_headline(&findings);
        let mitigations = mitigations::applying(&findings);
        let messaging_traffic = services.iter().any(|s| {
            s.kind == "messaging"
                && s.roles
                    .iter()
                    .any(|r| matches!(r.as_str(), "chat" | "media" | "call"))
        }) || events.iter().any(|e| {
            e.kind != EventKind::OnlineSession
                && (e.service.is_some() || e.kind.is_call() || e.kind == EventKind::CallAttempt)
        });
        Model {
            zone: zone.info.clone(),
            capture: capture(digest, events, zone),
            messaging_traffic,
            redacted: redact,
            headline,
            findings,
            services,
            rhythm,
            calls,
            messages,
            media,
            destinations,
            leaks,
            other_activities,
            mitigations,
        }
    }
}

/// The redactor of a run: off, or hiding direct call peers, every client the digest recorded
/// and every local address.
fn redactor(digest: &Digest, events: &[Event], redact: bool) -> Redactor {
    let mut red = Redactor::off();
    if redact {
        // Peers first: a peer that opened the direct leg is also a flow's client.
        for e in events {
            if e.peer_kind == Some(PeerKind::Direct) {
                if let Some(ip) = call_peer(e) {
                    red.peer(ip);
                }
            }
        }
        for ip in digest.clients.keys() {
            red.device(*ip);
        }
        if digest.clients_dropped > 0 {
            red.hide_all_local();
        }
        // Redaction must hide something even when no client was recorded.
        red.hide_all_local();
    }
    red
}

/// When the capture ran, and how much it holds.
fn capture(digest: &Digest, events: &[Event], zone: &Zone) -> Capture {
    let (first, last) = (digest.first_ts, digest.last_ts);
    Capture {
        first_ts: first,
        last_ts: last,
        first: first.map(|t| zone.rfc3339(t)),
        last: last.map(|t| zone.rfc3339(t)),
        span: first.zip(last).map(|(a, b)| {
            if zone.day_key(a) == zone.day_key(b) {
                format!("{} {} to {}", zone.date(a), zone.time(a), zone.time(b))
            } else {
                format!(
                    "{} {} to {} {}",
                    zone.date(a),
                    zone.time(a),
                    zone.date(b),
                    zone.time(b)
                )
            }
        }),
        duration_secs: match (first, last) {
            (Some(a), Some(b)) => (b - a).max(0.0),
            _ => 0.0,
        },
        flows: digest.flows,
        events: events.len(),
    }
}

impl<'a> Builder<'a> {
    pub(super) fn push(&mut self, f: Finding) {
        self.findings.push(f);
    }

    pub(super) fn events_of(&self, pred: impl Fn(&Event) -> bool) -> Vec<&'a Event> {
        let events: &'a [Event] = self.events;
        events.iter().filter(|e| pred(e)).collect()
    }
}
