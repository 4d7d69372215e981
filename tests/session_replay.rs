//! The dashboard's engine on replays: the last snapshot holds what `onlooker events` infers
//! from the same input at any speed; pause, resume, jump to the end and stop do what they say;
//! a call shows as an event while it is still going; the Flows table's cap counts what it drops.
//!
//! No assertion here depends on how fast anything runs: tests wait for outcomes (with generous
//! limits that only a hung session reaches) and compare results.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use onlooker::activity::infer;
use onlooker::analysis::pipeline::PipelineConfig;
use onlooker::analysis::summarize;
use onlooker::capture::memory::{MemorySource, OwnedFrame};
use onlooker::capture::{CaptureError, Frame, Next, PacketSource, Timestamp};
use onlooker::model::{Event, EventKind, FlowRef};
use onlooker::naming::catalog::Catalog;
use onlooker::naming::geo::Geo;
use onlooker::session::{self, Control, SessionConfig, SessionHandle, Snapshot, SourceKind, Speed};

/// A session that does not end within this long is hung (the slowest case here, the demo at
/// x100, needs about 6 s of pacing).
const HUNG: Duration = Duration::from_secs(180);

fn config(kind: SourceKind, speed: Speed) -> SessionConfig {
    SessionConfig {
        kind,
        source: "test".into(),
        pipeline: PipelineConfig::default(),
        catalog: Catalog::bundled().unwrap(),
        geo: Geo::bundled(),
        observer: Default::default(),
        speed,
    }
}

fn demo_frames() -> Vec<OwnedFrame> {
    onlooker::scenario::demo().into_frames()
}

/// What `onlooker events` infers from the same frames (the same code path in one call).
fn expected_events(frames: Vec<OwnedFrame>) -> Vec<Event> {
    let mut src = MemorySource::new(frames);
    let (flows, _) = summarize(
        &mut src,
        Catalog::bundled().unwrap(),
        Geo::bundled(),
        PipelineConfig::default(),
    );
    infer(&flows)
}

/// Poll until `pred` holds for the latest snapshot.
fn wait_for(h: &SessionHandle, what: &str, pred: impl Fn(&Snapshot) -> bool) -> Arc<Snapshot> {
    let until = Instant::now() + HUNG;
    loop {
        let s = h.latest();
        if pred(&s) {
            return s;
        }
        assert!(
            Instant::now() < until,
            "session hung waiting for {what}: packets {} finished {} paused {} speed {:?}",
            s.packets,
            s.finished,
            s.paused,
            s.speed
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn run_demo(speed: Speed) -> Arc<Snapshot> {
    let h = session::start(
        session::demo_source(),
        config(SourceKind::Demo { synthetic: true }, speed),
    )
    .unwrap();
    let s = wait_for(&h, "the end", |s| s.finished);
    h.stop();
    s
}

fn json(events: &[Event]) -> Vec<serde_json::Value> {
    events
        .iter()
        .map(|e| serde_json::to_value(e).unwrap())
        .collect()
}

#[test]
fn final_snapshot_of_the_demo_equals_the_events_command_at_any_speed() {
    let expected = expected_events(demo_frames());
    assert!(
        expected.iter().any(|e| e.kind == EventKind::VoiceCall),
        "the demo scripts a call: {expected:#?}"
    );
    let total = demo_frames().len() as u64;
    for speed in [Speed::Max, Speed::X100] {
        let s = run_demo(speed);
        assert!(s.finished);
        assert_eq!(s.packets, total, "{speed:?}: every frame analysed");
        assert_eq!(json(&s.events), json(&expected), "{speed:?}");
        assert!(s.flows.iter().all(|f| f.end_reason != session::OPEN));
        assert_eq!(s.flows_dropped, 0);
        assert!(s.error.is_none(), "{:?}", s.error);
    }
}

#[test]
fn final_flows_are_the_flows_of_the_run() {
    let mut src = MemorySource::new(demo_frames());
    let (flows, _) = summarize(
        &mut src,
        Catalog::bundled().unwrap(),
        Geo::bundled(),
        PipelineConfig::default(),
    );
    let mut want: Vec<String> = flows
        .iter()
        .map(|f| serde_json::to_string(&f.record).unwrap())
        .collect();
    let s = run_demo(Speed::Max);
    let mut got: Vec<String> = s
        .flows
        .iter()
        .map(|f| serde_json::to_string(f.as_ref()).unwrap())
        .collect();
    // Ordered by first packet time.
    assert!(s.flows.windows(2).all(|w| w[0].first_ts <= w[1].first_ts));
    want.sort();
    got.sort();
    assert_eq!(got, want);
}

#[test]
fn final_snapshot_of_a_corpus_call_equals_onlooker_events() {
    let Some(corpus) = common::corpus() else {
        common::skip("final_snapshot_of_a_corpus_call_equals_onlooker_events");
        return;
    };
    let path = corpus.join("pcap/ndpi/whatsapp_login_call.pcap");
    let out = common::onlooker([std::ffi::OsStr::new("events"), path.as_os_str()]);
    assert_eq!(common::exit_code(&out), Some(0));
    let expected = common::ndjson(&out.stdout);
    assert!(
        expected
            .iter()
            .any(|e| e["kind"].as_str().is_some_and(|k| k.ends_with("_call"))),
        "the capture holds a call"
    );
    for speed in [Speed::Max, Speed::X100] {
        let src = session::replay_source(std::slice::from_ref(&path)).unwrap();
        let h = session::start(src, config(SourceKind::Replay, speed)).unwrap();
        let s = wait_for(&h, "the end", |s| s.finished);
        h.stop();
        assert_eq!(json(&s.events), expected, "{speed:?}");
    }
}

#[test]
fn pause_holds_the_replay_and_resume_finishes_it() {
    let expected = expected_events(demo_frames());
    // The demo spans ten minutes: at x1 it is still playing when paused.
    let h = session::start(
        session::demo_source(),
        config(SourceKind::Demo { synthetic: true }, Speed::X1),
    )
    .unwrap();
    wait_for(&h, "the first packet", |s| s.packets > 0);
    h.send(Control::TogglePause);
    let paused = wait_for(&h, "the pause", |s| s.paused);
    assert!(!paused.finished);
    // Whatever was in flight when the pause arrived is analysed, then nothing more.
    std::thread::sleep(Duration::from_millis(200));
    let held = h.latest().packets;
    std::thread::sleep(Duration::from_millis(500));
    let later = h.latest();
    assert!(later.paused && !later.finished);
    assert_eq!(later.packets, held, "no packet is analysed while paused");
    assert_eq!(later.pps, 0.0);
    // Resume at full speed.
    h.send(Control::SetSpeed(Speed::Max));
    h.send(Control::TogglePause);
    let s = wait_for(&h, "the end", |s| s.finished);
    assert!(!s.paused);
    assert_eq!(s.speed, Speed::Max);
    assert_eq!(json(&s.events), json(&expected));
    h.stop();
}

#[test]
fn jump_to_end_reads_the_rest_at_once() {
    let expected = expected_events(demo_frames());
    let total = demo_frames().len() as u64;
    // At x1 the demo would take ten minutes; the jump must end it well within the limit.
    let h = session::start(
        session::demo_source(),
        config(SourceKind::Demo { synthetic: true }, Speed::X1),
    )
    .unwrap();
    wait_for(&h, "the first packet", |s| s.packets > 0);
    h.send(Control::JumpToEnd);
    let s = wait_for(&h, "the end", |s| s.finished);
    assert_eq!(s.packets, total);
    assert_eq!(json(&s.events), json(&expected));
    h.stop();
}

#[test]
fn stop_flushes_open_flows_into_a_last_snapshot() {
    let total = demo_frames().len() as u64;
    let h = session::start(
        session::demo_source(),
        config(SourceKind::Demo { synthetic: true }, Speed::X1),
    )
    .unwrap();
    wait_for(&h, "the first packets", |s| s.packets > 2);
    let s = h.finish();
    assert!(s.finished);
    assert!(s.packets < total, "stopped before the end");
    assert!(!s.flows.is_empty());
    assert!(
        s.flows.iter().all(|f| f.end_reason != session::OPEN),
        "open flows were flushed"
    );
}

/// Frames of a list, holding back at `gate` (answering idle ticks at the last frame's time,
/// as a quiet live capture would) until `open` is set.
struct GatedSource {
    frames: Vec<OwnedFrame>,
    next: usize,
    gate: usize,
    open: Arc<AtomicBool>,
}

impl PacketSource for GatedSource {
    fn next_frame(&mut self) -> Result<Next<'_>, CaptureError> {
        if self.next == self.gate && !self.open.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(2));
            let ts = self.frames[self.next.saturating_sub(1)].ts;
            return Ok(Next::Idle(ts));
        }
        let Some(f) = self.frames.get(self.next) else {
            return Ok(Next::End);
        };
        self.next += 1;
        Ok(Next::Frame(Frame {
            ts: f.ts,
            wire_len: f.wire_len,
            link: f.link,
            data: &f.data,
        }))
    }

    fn describe(&self) -> String {
        "gated frames".into()
    }
}

#[test]
fn a_call_shows_as_an_event_while_it_is_going() {
    let frames = demo_frames();
    // The demo's call: media from 203 s to 298 s after the first frame. Hold the input back
    // 40 s into it.
    let t0 = frames[0].ts.as_nanos();
    let gate = frames
        .iter()
        .position(|f| f.ts.as_nanos() >= t0 + 243 * Timestamp::NANOS_PER_SEC)
        .unwrap();
    let open = Arc::new(AtomicBool::new(false));
    let src = GatedSource {
        frames: frames.clone(),
        next: 0,
        gate,
        open: Arc::clone(&open),
    };
    let h = session::start(Box::new(src), config(SourceKind::Replay, Speed::Max)).unwrap();
    let during = wait_for(&h, "the held-back point", |s| s.packets == gate as u64);
    assert!(!during.finished);
    let call = during
        .events
        .iter()
        .find(|e| e.kind == EventKind::VoiceCall)
        .unwrap_or_else(|| panic!("no call while it is going: {:#?}", during.events));
    let position = during.position_ts.unwrap();
    assert!(call.start_ts < position && call.end_ts <= position);
    assert!(
        during
            .flows
            .iter()
            .any(|f| f.end_reason == session::OPEN && f.server.port() == 3478),
        "the call's flow is shown open"
    );
    open.store(true, Ordering::Relaxed);
    let end = wait_for(&h, "the end", |s| s.finished);
    let final_call = end
        .events
        .iter()
        .find(|e| e.kind == EventKind::VoiceCall)
        .unwrap();
    assert_eq!(final_call.start_ts, call.start_ts);
    assert!(
        final_call.end_ts > call.end_ts,
        "the end moved with the media"
    );
    assert_eq!(json(&end.events), json(&expected_events(frames)));
    h.stop();
}

#[test]
fn the_flows_table_cap_counts_what_it_drops() {
    // 50 DNS lookups (flows no event rests on) and the demo's call.
    let mut s = onlooker::scenario::Scenario::new(7);
    let base = 1_772_571_480i64 * Timestamp::NANOS_PER_SEC;
    let resolver: std::net::SocketAddr = "192.168.1.1:53".parse().unwrap();
    for i in 0..50u16 {
        let client: std::net::SocketAddr = format!("192.168.1.23:{}", 30_000 + i).parse().unwrap();
        s.dns(
            Timestamp(base + i64::from(i) * Timestamp::NANOS_PER_SEC),
            client,
            resolver,
            "example.org",
            &["93.184.215.14".parse().unwrap()],
        );
    }
    let mut frames = s.into_frames();
    frames.extend(demo_frames());
    frames.sort_by_key(|f| f.ts);
    let expected = expected_events(frames.clone());
    let mut a = session::Analysis::with_cap(config(SourceKind::Replay, Speed::Max), 10);
    let mut src = MemorySource::new(frames);
    while a.feed(src.next_frame()).is_none() {}
    a.finish(&mut src);
    let snap = a.snapshot(true);
    assert!(snap.flows_dropped >= 40, "dropped {}", snap.flows_dropped);
    // Kept: at most the cap, plus every flow an event rests on.
    let kept_refs: Vec<FlowRef> = snap.flows.iter().map(|r| r.flow_ref()).collect();
    for e in &snap.events {
        for f in &e.flows {
            assert!(kept_refs.contains(f), "event flow {f} kept");
        }
    }
    assert_eq!(json(&snap.events), json(&expected));
}
