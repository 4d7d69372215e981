//! Synthetic events for the observer's unit tests.

use std::net::{IpAddr, SocketAddr};

use crate::model::{Direction, Event, EventKind, FlowRef, SizeClass};

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
