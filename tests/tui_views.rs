//! Every dashboard tab drawn on ratatui's TestBackend from a fixed replay: a snapshot built
//! deterministically from a real capture (the whole analysis run to the end, bundled catalog and
//! IP metadata only), compared with the reviewed screens in tests/snapshots/. Times on screen
//! are UTC, so the screens do not depend on the machine's zone.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use onlooker::capture::offline::FileSource;
use onlooker::naming::catalog::Catalog;
use onlooker::naming::geo::Geo;
use onlooker::session::{Snapshot, SourceKind, Speed};
use onlooker::views::tui::App;
use onlooker::views::tui::app::Tab;
use onlooker::views::tui::draw::draw;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// What a finished replay of `path` shows: the analysis run to the end.
fn replayed(path: &Path, kind: SourceKind, label: &str) -> Arc<Snapshot> {
    let mut src = FileSource::new(&[path.to_path_buf()]).expect("opening the capture");
    let (flows, stats) = onlooker::analysis::summarize(
        &mut src,
        Catalog::bundled().expect("bundled catalog"),
        Geo::bundled(),
        onlooker::analysis::pipeline::PipelineConfig::default(),
    );
    let events = onlooker::activity::infer(&flows);
    let mut records: Vec<_> = flows.into_iter().map(|f| f.record).collect();
    records.sort_by(|a, b| a.first_ts.total_cmp(&b.first_ts));
    Arc::new(Snapshot {
        kind,
        source: label.into(),
        first_ts: records.iter().map(|r| r.first_ts).reduce(f64::min),
        position_ts: records.iter().map(|r| r.last_ts).reduce(f64::max),
        packets: stats.frames,
        bytes: stats.bytes,
        pps: 0.0,
        kernel_drops: None,
        findings: onlooker::observer::headline(
            records.iter(),
            &events,
            &onlooker::observer::Options {
                tz: Some("UTC".into()),
                redact: false,
            },
        ),
        flows: records.into_iter().map(Arc::new).collect(),
        events,
        flows_dropped: 0,
        speed: Speed::X10,
        paused: false,
        finished: true,
        error: stats.partial_inputs.first().cloned(),
    })
}

fn demo() -> Arc<Snapshot> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo.pcap");
    replayed(&p, SourceKind::Demo { synthetic: true }, "demo.pcap")
}

fn screen(app: &mut App, snap: &Arc<Snapshot>, w: u16, h: u16) -> String {
    app.sync(snap);
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| draw(f, app, snap)).unwrap();
    t.backend().to_string()
}

fn tab(snap: &Arc<Snapshot>, tab: Tab, w: u16, h: u16) -> String {
    let mut app = App::new(true);
    app.tab = tab;
    screen(&mut app, snap, w, h)
}

fn key(app: &mut App, c: KeyCode) {
    app.on_key(KeyEvent::new(c, KeyModifiers::NONE));
}

#[test]
fn demo_observer() {
    let s = tab(&demo(), Tab::Observer, 80, 24);
    assert!(
        s.contains("synthetic capture"),
        "the demo says it is synthetic"
    );
    assert!(
        s.contains("Calls 1 (1 voice"),
        "the demo's relayed voice call is counted"
    );
    insta::assert_snapshot!(s);
}

#[test]
fn demo_timeline() {
    let snap = demo();
    let s = tab(&snap, Tab::Timeline, 80, 24);
    assert!(
        s.contains("WhatsApp") && s.contains("Signal"),
        "one lane per service"
    );
    assert!(s.contains('━'), "the voice call is a bar");
    insta::assert_snapshot!(s);
    // Zoomed in twice and scrolled right: the window is a quarter of the capture.
    let mut app = App::new(true);
    app.tab = Tab::Timeline;
    app.sync(&snap);
    key(&mut app, KeyCode::Char('+'));
    key(&mut app, KeyCode::Char('+'));
    key(&mut app, KeyCode::Right);
    let z = screen(&mut app, &snap, 80, 24);
    assert!(!z.contains("whole capture"));
    insta::assert_snapshot!("demo_timeline_zoomed", z);
}

#[test]
fn demo_flows() {
    let snap = demo();
    let s = tab(&snap, Tab::Flows, 80, 24);
    assert!(s.contains("Evidence of the selected flow"));
    insta::assert_snapshot!(s);
    // Wide: client and role columns appear.
    let w = tab(&snap, Tab::Flows, 140, 30);
    assert!(w.contains("Client") && w.contains("Role"));
    insta::assert_snapshot!("demo_flows_wide", w);
    // Filtered to calls, sorted by bytes, largest first.
    let mut app = App::new(true);
    app.tab = Tab::Flows;
    app.sync(&snap);
    key(&mut app, KeyCode::Char('/'));
    for c in "service:whatsapp kind:udp".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Enter);
    for _ in 0..8 {
        key(&mut app, KeyCode::Char('s'));
    }
    key(&mut app, KeyCode::Char('S'));
    let f = screen(&mut app, &snap, 80, 24);
    assert!(f.contains("sort Bytes ↓"));
    insta::assert_snapshot!("demo_flows_filtered", f);
}

#[test]
fn demo_events() {
    let snap = demo();
    let mut app = App::new(true);
    app.tab = Tab::Events;
    app.sync(&snap);
    // Select the call: its evidence sentence is in the detail pane.
    let call = app
        .event_rows()
        .iter()
        .position(|&i| snap.events[i as usize].kind == onlooker::model::EventKind::VoiceCall)
        .expect("the demo has a voice call");
    for _ in 0..call {
        key(&mut app, KeyCode::Down);
    }
    let s = screen(&mut app, &snap, 80, 24);
    assert!(
        s.contains("media packets/s"),
        "the call's evidence is shown"
    );
    insta::assert_snapshot!(s);
}

#[test]
fn demo_map() {
    let snap = demo();
    let s = tab(&snap, Tab::Map, 80, 24);
    assert!(
        s.contains("R US"),
        "the relay's country is listed as a relay"
    );
    insta::assert_snapshot!(s);
}

#[test]
fn demo_help() {
    let s = tab(&demo(), Tab::Help, 80, 24);
    for k in ["q, Ctrl-C", "F5 F6 F7 F8", "Times are UTC"] {
        assert!(s.contains(k), "help lists {k}");
    }
    insta::assert_snapshot!(s);
}

#[test]
fn tiny_terminal_does_not_panic() {
    let snap = demo();
    for t in Tab::ALL {
        for (w, h) in [(1, 1), (10, 3), (40, 10), (80, 24)] {
            let _ = tab(&snap, t, w, h);
        }
    }
}

#[test]
fn corpus_call_views() {
    let Some(corpus) = common::corpus() else {
        common::skip("corpus_call_views");
        return;
    };
    let p = corpus.join("pcap/ndpi/whatsapp_login_call.pcap");
    if !p.is_file() {
        common::skip("corpus_call_views (whatsapp_login_call.pcap)");
        return;
    }
    let snap = replayed(&p, SourceKind::Replay, "whatsapp_login_call.pcap");
    let calls = snap.events.iter().filter(|e| e.kind.is_call()).count();
    assert!(calls >= 1, "the capture holds a call");
    let o = tab(&snap, Tab::Observer, 80, 24);
    insta::assert_snapshot!("corpus_call_observer", o);
    let t = tab(&snap, Tab::Timeline, 80, 24);
    insta::assert_snapshot!("corpus_call_timeline", t);
    let m = tab(&snap, Tab::Map, 80, 24);
    insta::assert_snapshot!("corpus_call_map", m);
    let e = tab(&snap, Tab::Events, 80, 24);
    insta::assert_snapshot!("corpus_call_events", e);
}
