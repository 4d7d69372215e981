//! Synthetic flows, events and snapshots for the dashboard's benchmark and latency example:
//! many flows of a few services and countries, shaped like a busy replay, deterministic.
//! Included by `benches/tui_draw.rs` and `examples/dashboard-latency.rs` (`#[path]`).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use onlooker::model::{
    Direction, Event, EventKind, Evidence, EvidenceKind, FlowRecord, PeerKind, Proto, Role,
    SizeClass,
};
use onlooker::session::{Snapshot, SourceKind, Speed};

/// Flow number `i`.
pub fn flow(i: u32) -> FlowRecord {
    let services = [Some("WhatsApp"), Some("Signal"), Some("Telegram"), None];
    let countries = ["US", "DE", "PT", "IE", "NL", "BR", "JP", "IN"];
    let svc = services[(i % 4) as usize];
    FlowRecord {
        proto: if i % 3 == 0 { Proto::UDP } else { Proto::TCP },
        client: SocketAddr::from((
            [192, 168, (i % 7) as u8, (i % 250 + 1) as u8],
            (30_000 + i % 30_000) as u16,
        )),
        server: SocketAddr::from((
            [
                (31 + i % 100) as u8,
                ((i >> 8) % 256) as u8,
                (i % 256) as u8,
                (i % 200) as u8,
            ],
            443,
        )),
        first_ts: 1_700_000_000.0 + f64::from(i) * 0.05,
        last_ts: 1_700_000_000.0 + f64::from(i) * 0.05 + f64::from(i % 600),
        packets_up: u64::from(i % 1000),
        packets_down: u64::from(i % 777),
        bytes_up: u64::from(i % 100_000),
        bytes_down: u64::from((i * 7) % 1_000_000),
        tcp_flags: "SA".into(),
        end_reason: "idle",
        sni: svc.map(|s| format!("g.{}.example", s.to_lowercase())),
        alpn: vec!["h2".into()],
        tls_version: Some("1.3".into()),
        ech: false,
        quic_version: None,
        dns_name: None,
        stun: None,
        service: svc.map(str::to_string),
        service_role: svc.map(|_| Role::Chat),
        service_evidence: vec![Evidence::new(EvidenceKind::Sni, "g.example")],
        confidence: 0.9,
        asn: Some(32934),
        as_org: Some("Example AS".into()),
        country: Some(countries[(i % 8) as usize].into()),
        city: None,
        ..Default::default()
    }
}

pub fn event(i: u32) -> Event {
    let kinds = [
        EventKind::MessageOut,
        EventKind::MessageIn,
        EventKind::VoiceCall,
        EventKind::MediaDownload,
    ];
    Event {
        id: u64::from(i) + 1,
        kind: kinds[(i % 4) as usize],
        service: Some(["WhatsApp", "Signal", "Telegram"][(i % 3) as usize].into()),
        start_ts: 1_700_000_000.0 + f64::from(i) * 2.0,
        end_ts: 1_700_000_000.0 + f64::from(i) * 2.0 + 30.0,
        direction: Direction::Both,
        bytes_out: 500,
        bytes_in: 70_000,
        packets_out: 3,
        packets_in: 3,
        flows: vec![],
        peer_ip: Some(IpAddr::from([31, 13, 1, 1])),
        peer_asn: None,
        peer_as_org: None,
        peer_country: Some("US".into()),
        peer_city: None,
        peer_kind: Some(PeerKind::Relay),
        size_class: Some(SizeClass::Photo),
        confidence: 0.7,
        evidence: "synthetic event".into(),
    }
}

/// A replay snapshot at full speed over `flows`, with 2,000 events; `k` moves its position.
pub fn snapshot(flows: Vec<Arc<FlowRecord>>, k: u32) -> Arc<Snapshot> {
    Arc::new(Snapshot {
        kind: SourceKind::Replay,
        source: "synthetic".into(),
        first_ts: Some(1_700_000_000.0),
        position_ts: Some(1_700_005_600.0 + f64::from(k)),
        packets: 10_000_000 + u64::from(k),
        bytes: 8_000_000_000,
        pps: 250_000.0,
        kernel_drops: None,
        flows,
        events: (0..2_000).map(event).collect(),
        findings: Vec::new(),
        flows_dropped: 0,
        speed: Speed::Max,
        paused: false,
        finished: false,
        error: None,
    })
}
