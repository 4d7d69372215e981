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
use onlooker::observer::words::Zone;
use onlooker::session::{Snapshot, SourceKind, Speed};
use onlooker::views::tui::App;
use onlooker::views::tui::app::{Clock, Tab};
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
fn demo_observer_lists_every_finding() {
    let snap = demo();
    // Tall enough for all of them: every finding is there, the last ones included.
    let tall = tab(&snap, Tab::Observer, 100, 60);
    let n = tall
        .split("What the observer knows: ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse::<usize>().ok())
        .expect("the title counts the findings");
    assert!(n > 7, "more than the headline's seven: {n}");
    assert!(
        tall.contains(&format!("│{n:>2}. ")),
        "the last finding is shown"
    );
    assert!(
        tall.contains("TCP SYN without options, window 65535"),
        "no empty option list: {tall}"
    );
    for kind in ["clear DNS", "server names readable", "The device at"] {
        assert!(
            tall.contains(kind),
            "a {kind} finding is listed:
{tall}"
        );
    }
    assert!(!tall.contains("lines 1-"), "no scroll when all fit");
    insta::assert_snapshot!("demo_observer_tall", tall);
    // At 80x24 they scroll: End shows the last one.
    let mut app = App::new(true);
    app.sync(&snap);
    let first = screen(&mut app, &snap, 80, 24);
    assert!(first.contains(" 1. ") && !first.contains(&format!("{n:>2}. ")));
    key(&mut app, KeyCode::End);
    let end = screen(&mut app, &snap, 80, 24);
    assert!(end.contains(&format!("{n:>2}. ")), "{end}");
    assert!(!end.contains(" 1. Tue"), "{end}");
    insta::assert_snapshot!("demo_observer_end", end);
    key(&mut app, KeyCode::Home);
    assert_eq!(screen(&mut app, &snap, 80, 24), first, "Home goes back");
}

#[test]
fn demo_mitigations() {
    let snap = demo();
    let mut app = App::new(true);
    app.sync(&snap);
    key(&mut app, KeyCode::Char('m'));
    let s = screen(&mut app, &snap, 80, 30);
    assert!(s.contains("What would have hidden it"), "{s}");
    // The observer's own table, with the findings each applies to, worded as a sentence.
    assert!(
        s.contains("Timing and volume, for findings 1, 2, 3, 4 and 5:"),
        "{s}"
    );
    assert!(s.contains("Encrypted DNS, for finding 10:"), "{s}");
    assert!(s.contains("protects what is said"), "{s}");
    assert!(!s.contains("(findings "), "{s}");
    // The demo's call went through a relay: relay-only calls would hide nothing more.
    assert!(!s.contains("Relay-only calls"), "{s}");
    insta::assert_snapshot!(s);
    key(&mut app, KeyCode::Char('m'));
    assert!(screen(&mut app, &snap, 80, 30).contains("What the observer knows"));
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
    for legend in ["╷ sent", "╵ received", "● larger", "━ voice", "░ online"] {
        assert!(
            s.contains(legend),
            "the legend explains {legend}:
{s}"
        );
    }
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
    assert!(s.contains("up 1 packet, 74 B"), "plurals: {s}");
    assert!(s.contains("193 kB"), "the report's byte units: {s}");
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
fn every_width_keeps_the_duration_column() {
    let snap = demo();
    for w in 80..=160 {
        let s = tab(&snap, Tab::Flows, w, 24);
        let rows: Vec<&str> = s.lines().filter(|l| l.contains("20:58:00 tcp")).collect();
        assert!(
            rows.first().is_some_and(|r| r.contains("10 min")),
            "width {w}: the duration is cut:\n{s}"
        );
        assert!(s.contains(" Dur "), "width {w}: header {s}");
    }
}

#[test]
fn a_zone_moves_every_time_on_screen() {
    let snap = demo();
    let tokyo = Zone::resolve(Some("Asia/Tokyo")).expect("a bundled zone");
    let mut app = App::new(true).with_clock(Clock::new(tokyo));
    app.tab = Tab::Events;
    let s = screen(&mut app, &snap, 100, 24);
    // 21:08:00 UTC is 06:08:00 the next day in Tokyo.
    assert!(s.contains("2026-03-04 06:08:00 Asia/Tokyo"), "{s}");
    assert!(s.contains("  1 05:58:12"), "{s}");
    app.tab = Tab::Observer;
    let o = screen(&mut app, &snap, 100, 30);
    assert!(
        o.contains("Wed 06:01-06:02: a 2-minute WhatsApp voice call"),
        "{o}"
    );
    app.tab = Tab::Timeline;
    let t = screen(&mut app, &snap, 100, 24);
    assert!(t.contains("Timeline 05:58:00 – 06:08:00 Asia/Tokyo"), "{t}");
    insta::assert_snapshot!("demo_events_tokyo", s);
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
    assert!(
        s.contains("#9 voice call, 2026-03-03"),
        "kinds as words: {s}"
    );
    assert!(
        s.contains("flow udp 192.168.1.23:40005 → 157.240.21.51:3478 at 21:01:20"),
        "the flow with a readable time: {s}"
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
    for k in ["q, Ctrl-C", "F5 F6 F7 F8", "Times are UTC", "x, X"] {
        assert!(s.contains(k), "help lists {k}");
    }
    insta::assert_snapshot!(s);
    // The glossary is below the keys: End scrolls to it.
    let snap = demo();
    let mut app = App::new(true);
    app.tab = Tab::Help;
    app.sync(&snap);
    key(&mut app, KeyCode::End);
    let g = screen(&mut app, &snap, 80, 24);
    for term in [
        "SNI",
        "STUN",
        "ECH",
        "AS ",
        "relay",
        "direct peer",
        "OS guess",
    ] {
        assert!(
            g.contains(&format!("│{term}")),
            "the glossary explains {term}:\n{g}"
        );
    }
    insta::assert_snapshot!("demo_help_glossary", g);
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
