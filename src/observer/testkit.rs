//! Synthetic events for the observer's unit tests.

use std::net::{IpAddr, SocketAddr};

use super::Model;
use super::digest::Digest;
use super::words::Zone;
use crate::model::{Direction, Event, EventKind, FlowRef, SizeClass};

/// Monday 1 December 2025, 00:00 UTC.
pub(super) const MONDAY: f64 = 1_764_547_200.0;
/// An hour, in seconds.
pub(super) const HOUR: f64 = 3600.0;

/// A WhatsApp event between 192.168.1.5 and 203.0.113.9 (a public address on the
/// "Example Mobile" network in Porto, Portugal), with one UDP flow, of a photo's size.
pub(super) fn event(id: u64, kind: EventKind, start: f64, end: f64) -> Event {
    Event {
        id,
        kind,
        service: Some("WhatsApp".into()),
        start_ts: start,
        end_ts: end,
        direction: Direction::Both,
        bytes_out: 100_000,
        bytes_in: 0,
        packets_out: 10,
        packets_in: 10,
        flows: vec![FlowRef {
            proto: crate::model::Proto::UDP,
            client: SocketAddr::from(([192, 168, 1, 5], 4000)),
            server: SocketAddr::from(([203, 0, 113, 9], 5000)),
            first_ts: start,
        }],
        peer_ip: Some(IpAddr::from([203, 0, 113, 9])),
        peer_asn: Some(64500),
        peer_as_org: Some("Example Mobile".into()),
        peer_country: Some("PT".into()),
        peer_city: Some("Porto".into()),
        peer_kind: None,
        size_class: Some(SizeClass::Photo),
        confidence: 0.8,
        evidence: "test evidence from 192.168.1.5".into(),
    }
}

/// The model of `events` and `digest`, worded in UTC.
pub(super) fn build(digest: &Digest, events: &[Event], redact: bool) -> Model {
    Model::build(digest, events, &Zone::utc(), redact)
}

/// The finding of `kind` whose sentence contains `text`.
pub(super) fn finding<'m>(m: &'m Model, kind: &str, text: &str) -> &'m super::Finding {
    m.findings
        .iter()
        .find(|f| f.kind == kind && f.sentence.contains(text))
        .unwrap_or_else(|| panic!("no {kind} finding with {text:?} in {:#?}", m.findings))
}
