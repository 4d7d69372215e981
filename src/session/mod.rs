//! An analysis session: one packet source driven through the whole analysis on its own thread,
//! publishing snapshots of what is known so far for the dashboard.
//!
//! The dashboard never waits for analysis and analysis never waits for the dashboard: the
//! session thread replaces the latest [`Snapshot`] (an `Arc`) at its own pace, and the UI reads
//! whichever is newest when it draws. Replay pacing follows packet timestamps, so a replay at
//! x1 shows the capture as it happened; "as fast as possible" only removes the waits, never
//! changes a result.
//!
//! This module must never block on the UI, and never use the wall clock for analysis (only
//! for pacing a replay and for the packets/s figure of the status bar).
//!
//! (Skeleton: the types the dashboard draws from; the engine is being written.)

use std::sync::Arc;

use crate::activity::Event;
use crate::views::export::FlowRecord;

/// Replay speed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Speed {
    /// The capture's own pace.
    #[default]
    X1,
    X10,
    X100,
    /// As fast as the analysis goes.
    Max,
}

/// What the UI asks the session to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    SetSpeed(Speed),
    TogglePause,
    /// Read the rest of a replay as fast as possible and stop there.
    JumpToEnd,
    /// End the session (flows still open are flushed into the last snapshot).
    Stop,
}

/// Where packets come from, for the status bar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceKind {
    Replay,
    Live,
    /// A bundled capture; `synthetic` when the project's scenario writer made it.
    Demo {
        synthetic: bool,
    },
}

/// What is known at one moment of a session.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub kind: SourceKind,
    /// "demo.pcap", "a.pcap + b.pcap", "eth0".
    pub source: String,
    /// Capture time of the first packet and of the latest one processed (seconds since 1970).
    pub first_ts: Option<f64>,
    pub position_ts: Option<f64>,
    /// Frames processed so far, and their rate in wall-clock packets per second.
    pub packets: u64,
    pub bytes: u64,
    pub pps: f64,
    /// Packets the kernel dropped (live only).
    pub kernel_drops: Option<u64>,
    /// Every flow so far, finished and still open, ordered by first packet time.
    pub flows: Vec<Arc<FlowRecord>>,
    /// The events inferred so far (a call still going has its end at the latest media packet).
    pub events: Vec<Event>,
    /// The observer's findings from `flows` and `events`.
    pub findings: Vec<crate::observer::Finding>,
    pub speed: Speed,
    pub paused: bool,
    /// The source is exhausted (replay) or the capture has ended (live).
    pub finished: bool,
    /// A reading error or partial input, as one line for the status bar.
    pub error: Option<String>,
}

/// What a session needs besides its source.
#[derive(Debug)]
pub struct SessionConfig {
    pub kind: SourceKind,
    /// Shown in the status bar.
    pub source: String,
    pub pipeline: crate::pipeline::PipelineConfig,
    pub catalog: crate::dissect::catalog::Catalog,
    pub geo: crate::dissect::geo::Geo,
    pub observer: crate::observer::Options,
    /// Replay speed at the start (live ignores it).
    pub speed: Speed,
}

/// The UI's end of a running session.
#[derive(Debug)]
pub struct SessionHandle {
    latest: Arc<std::sync::Mutex<Arc<Snapshot>>>,
    controls: std::sync::mpsc::Sender<Control>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SessionHandle {
    /// The newest snapshot (cheap: one `Arc` clone under a lock held only to swap it).
    pub fn latest(&self) -> Arc<Snapshot> {
        match self.latest.lock() {
            Ok(g) => Arc::clone(&g),
            Err(p) => Arc::clone(&p.into_inner()),
        }
    }

    /// Ask the session to do something; ignored once it has ended.
    pub fn send(&self, c: Control) {
        let _ = self.controls.send(c);
    }

    /// Stop the session and wait for its thread.
    pub fn stop(mut self) {
        self.send(Control::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn empty(cfg: &SessionConfig) -> Snapshot {
    Snapshot {
        kind: cfg.kind.clone(),
        source: cfg.source.clone(),
        first_ts: None,
        position_ts: None,
        packets: 0,
        bytes: 0,
        pps: 0.0,
        kernel_drops: None,
        flows: Vec::new(),
        events: Vec::new(),
        findings: Vec::new(),
        speed: cfg.speed,
        paused: false,
        finished: false,
        error: None,
    }
}

/// Start analysing `source` on a thread of its own.
///
/// (Skeleton engine: reads the whole source at full speed and publishes one snapshot at the
/// end; pacing and snapshots while reading come with the real engine.)
pub fn start(
    mut source: Box<dyn crate::capture::PacketSource + Send>,
    cfg: SessionConfig,
) -> std::io::Result<SessionHandle> {
    let latest = Arc::new(std::sync::Mutex::new(Arc::new(empty(&cfg))));
    let (tx, _rx) = std::sync::mpsc::channel();
    let shared = Arc::clone(&latest);
    let thread = std::thread::Builder::new()
        .name("session".into())
        .spawn(move || {
            let mut snap = empty(&cfg);
            let (flows, stats) =
                crate::activity::summarize(source.as_mut(), cfg.catalog, cfg.geo, cfg.pipeline);
            let events = crate::activity::infer(&flows);
            snap.findings =
                crate::observer::headline(flows.iter().map(|f| &f.record), &events, &cfg.observer);
            snap.first_ts = flows.iter().map(|f| f.record.first_ts).reduce(f64::min);
            snap.position_ts = flows.iter().map(|f| f.record.last_ts).reduce(f64::max);
            snap.packets = stats.frames;
            snap.bytes = stats.bytes;
            snap.flows = flows.into_iter().map(|f| Arc::new(f.record)).collect();
            snap.events = events;
            snap.finished = true;
            snap.error = stats.partial_inputs.first().cloned();
            if let Ok(mut g) = shared.lock() {
                *g = Arc::new(snap);
            }
        })?;
    Ok(SessionHandle {
        latest,
        controls: tx,
        thread: Some(thread),
    })
}
