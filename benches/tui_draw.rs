//! Dashboard frame cost with 100,000 flows: drawing each tab from a prepared snapshot (what
//! happens ten times a second), and the per-snapshot work (filter and sort) that drawing relies
//! on being cached (the dashboard's worker thread does it; `App::sync` does the same inline
//! here). Run: `cargo bench --bench tui_draw`. The UI thread's own cost per key and per
//! snapshot, inline and with the worker, is measured by `examples/dashboard-latency.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use onlooker::activity::Event;
use onlooker::session::{Snapshot, SourceKind, Speed};
use onlooker::views::export::FlowRecord;
use onlooker::views::tui::App;
use onlooker::views::tui::app::{FlowCol, Tab};
use onlooker::views::tui::draw::draw;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const FLOWS: u32 = 100_000;

fn flow(i: u32) -> FlowRecord {
    let services = [Some("WhatsApp"), Some("Signal"), Some("Telegram"), None];
    let countries = ["US", "DE", "PT", "IE", "NL", "BR", "JP", "IN"];
    let svc = services[(i % 4) as usize];
    FlowRecord {
        proto: if i % 3 == 0 { "udp" } else { "tcp" }.into(),
        client: format!("192.168.{}.{}:{}", i % 7, i % 250 + 1, 30_000 + i % 30_000),
        server: format!(
            "{}.{}.{}.{}:443",
            31 + i % 100,
            (i >> 8) % 256,
            i % 256,
            i % 200
        ),
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
        service_role: svc.map(|_| "chat"),
        service_evidence: vec!["sni:g.example".into()],
        confidence: 0.9,
        asn: Some(32934),
        as_org: Some("Example AS".into()),
        country: Some(countries[(i % 8) as usize].into()),
        city: None,
        ..Default::default()
    }
}

fn event(i: u32) -> Event {
    let kinds = ["message_out", "message_in", "voice_call", "media_download"];
    Event {
        id: u64::from(i) + 1,
        kind: kinds[(i % 4) as usize],
        service: Some(["WhatsApp", "Signal", "Telegram"][(i % 3) as usize].into()),
        start_ts: 1_700_000_000.0 + f64::from(i) * 2.0,
        end_ts: 1_700_000_000.0 + f64::from(i) * 2.0 + 30.0,
        direction: "both",
        bytes_out: 500,
        bytes_in: 70_000,
        packets_out: 3,
        packets_in: 3,
        flows: vec![],
        peer_ip: Some("31.13.1.1".into()),
        peer_asn: None,
        peer_as_org: None,
        peer_country: Some("US".into()),
        peer_city: None,
        peer_kind: Some("relay"),
        size_class: Some("photo"),
        confidence: 0.7,
        evidence: "synthetic benchmark event".into(),
    }
}

fn snapshot() -> Arc<Snapshot> {
    Arc::new(Snapshot {
        kind: SourceKind::Replay,
        source: "bench.pcap".into(),
        first_ts: Some(1_700_000_000.0),
        position_ts: Some(1_700_005_600.0),
        packets: 10_000_000,
        bytes: 8_000_000_000,
        pps: 250_000.0,
        kernel_drops: None,
        flows: (0..FLOWS).map(|i| Arc::new(flow(i))).collect(),
        events: (0..2_000).map(event).collect(),
        findings: Vec::new(),
        flows_dropped: 0,
        speed: Speed::Max,
        paused: false,
        finished: false,
        error: None,
    })
}

fn bench(c: &mut Criterion) {
    let snap = snapshot();
    for (w, h) in [(80u16, 24u16), (160, 50)] {
        for tab in [
            Tab::Observer,
            Tab::Timeline,
            Tab::Flows,
            Tab::Events,
            Tab::Map,
        ] {
            let mut app = App::new(false);
            app.tab = tab;
            // Sorted by bytes, descending, and a selection deep in the table.
            app.sort = FlowCol::Bytes;
            app.descending = true;
            app.sync(&snap);
            app.flows.selected = 50_000;
            let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
            c.bench_function(&format!("draw {} {w}x{h}, 100k flows", tab.title()), |b| {
                b.iter(|| {
                    term.draw(|f| draw(f, &app, &snap)).unwrap();
                });
            });
        }
    }
    // Per-snapshot work: a new snapshot arrives, rows are filtered and sorted once.
    let mut group = c.benchmark_group("per snapshot");
    group.sample_size(20);
    for (name, sort, filter) in [
        ("derive + rows, start order", FlowCol::Start, ""),
        ("derive + rows, sort by server", FlowCol::Server, ""),
        (
            "derive + rows, filter service:whatsapp country:PT",
            FlowCol::Start,
            "service:whatsapp country:PT",
        ),
    ] {
        group.bench_function(name, |b| {
            b.iter_batched(
                || {
                    let mut app = App::new(false);
                    app.sort = sort;
                    app.tab = Tab::Flows;
                    app.on_key(crossterm::event::KeyEvent::from(
                        crossterm::event::KeyCode::Char('/'),
                    ));
                    for ch in filter.chars() {
                        app.on_key(crossterm::event::KeyEvent::from(
                            crossterm::event::KeyCode::Char(ch),
                        ));
                    }
                    app
                },
                |mut app| app.sync(&snap),
                criterion::BatchSize::LargeInput,
            );
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
