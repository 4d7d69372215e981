//! Flows, events and snapshots for the dashboard's unit tests, shared by the modules that
//! test on them (`columns`, `derive`, `app`).
//!
//! It exists so every test builds its data the same way; it holds no assertions and must
//! never be compiled outside tests.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use crate::model::{Direction, Event, EventKind, FlowRecord, Proto, Role};
use crate::session::{Snapshot, SourceKind, Speed};

pub(super) fn flow(i: u32, service: Option<&str>, country: Option<&str>, bytes: u64) -> FlowRecord {
    FlowRecord {
        proto: if i % 2 == 0 { Proto::TCP } else { Proto::UDP },
        client: format!("192.168.1.{}:4000{}", 10 + i, i % 10)
            .parse()
            .unwrap(),
        server: format!("10.0.{}.{}:443", i % 3, 200 - i).parse().unwrap(),
        first_ts: 1000.0 + f64::from(i),
        last_ts: 1000.0 + f64::from(i) + f64::from(10 - i % 10),
        packets_up: u64::from(i),
        packets_down: 1,
        bytes_up: bytes,
        bytes_down: 0,
        end_reason: "idle",
        service: service.map(str::to_string),
        service_role: service.map(|_| Role::Chat),
        confidence: 0.5,
        country: country.map(str::to_string),
        ..Default::default()
    }
}

pub(super) fn snapshot(flows: Vec<FlowRecord>) -> Arc<Snapshot> {
    Arc::new(Snapshot {
        kind: SourceKind::Replay,
        source: "t.pcap".into(),
        first_ts: Some(1000.0),
        position_ts: Some(1100.0),
        packets: 0,
        bytes: 0,
        pps: 0.0,
        kernel_drops: None,
        flows: flows.into_iter().map(Arc::new).collect(),
        events: Vec::new(),
        findings: Vec::new(),
        flows_dropped: 0,
        speed: Speed::X1,
        paused: false,
        finished: false,
        error: None,
    })
}

pub(super) fn sample() -> Arc<Snapshot> {
    snapshot(vec![
        flow(0, Some("WhatsApp"), Some("US"), 500),
        flow(1, Some("Signal"), Some("DE"), 9000),
        flow(2, None, None, 50),
        flow(3, Some("WhatsApp"), Some("PT"), 7000),
    ])
}

pub(super) fn event(i: u32, service: &str, kind: EventKind, flow: &FlowRecord) -> Event {
    Event {
        id: u64::from(i) + 1,
        kind,
        service: Some(service.into()),
        start_ts: flow.first_ts + 0.5,
        end_ts: flow.first_ts + 1.5,
        direction: Direction::Out,
        bytes_out: u64::from(i) * 100,
        bytes_in: 10,
        packets_out: 2,
        packets_in: 1,
        flows: vec![flow.flow_ref()],
        peer_ip: None,
        peer_asn: None,
        peer_as_org: None,
        peer_country: flow.country.clone(),
        peer_city: None,
        peer_kind: None,
        size_class: None,
        confidence: 0.5,
        evidence: format!("event {i}"),
    }
}

/// A snapshot of `n` flows whose columns take many values (and tie often), with events.
pub(super) fn varied(n: u32, extra_bytes: u64) -> Arc<Snapshot> {
    let svc = [Some("WhatsApp"), Some("Signal"), None, Some("Telegram")];
    let cc = [Some("US"), Some("DE"), Some("PT"), None, Some("NL")];
    let flows: Vec<FlowRecord> = (0..n)
        .map(|i| {
            let mut f = flow(
                i % 150,
                svc[(i % 4) as usize],
                cc[(i % 5) as usize],
                u64::from(i * 7919 % 1000) + extra_bytes * u64::from(i % 3),
            );
            f.first_ts = 1000.0 + f64::from(i) * 0.25;
            f.client = format!("192.168.{}.{}:{}", i % 3, i % 200 + 1, 40000 + i)
                .parse()
                .unwrap();
            f
        })
        .collect();
    let kinds = [
        EventKind::MessageOut,
        EventKind::MessageIn,
        EventKind::VoiceCall,
        EventKind::MediaUpload,
    ];
    let events = flows
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 7 == 0)
        .map(|(i, f)| {
            let i = i as u32;
            event(
                i,
                f.service.as_deref().unwrap_or("Signal"),
                kinds[(i % 4) as usize],
                f,
            )
        })
        .collect();
    let mut s = (*snapshot(flows)).clone();
    s.events = events;
    Arc::new(s)
}
