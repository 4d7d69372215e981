//! An analysis session: one packet source driven through the whole analysis on its own thread,
//! publishing snapshots of what is known so far for the dashboard.
//!
//! The dashboard never waits for analysis and analysis never waits for the dashboard: the
//! session thread replaces the latest [`Snapshot`] (an `Arc`) at its own pace, and the UI reads
//! whichever is newest when it draws. Replay pacing follows packet timestamps, so a replay at
//! x1 shows the capture as it happened; "as fast as possible" only removes the waits, never
//! changes a result.
//!
//! Events are shown as soon as they are certain: each snapshot re-runs the activity model over
//! the finished flows it needs plus a copy of the flows still open, so a call appears while it
//! is going and its end moves with its media. The last snapshot, after every open flow was
//! flushed, holds exactly what `onlooker events` infers from the same input, at any speed.
//!
//! Costs are bounded: finished flows become a shared record once; open flows' records are
//! rebuilt only when they saw packets since the previous snapshot; the Flows table keeps at
//! most [`MAX_FINISHED_RECORDS`] finished records (the rest are counted in
//! [`Snapshot::flows_dropped`]); snapshots are published at most every [`PUBLISH_INTERVAL`]
//! and never take more than a fifth of the session thread's time (see `engine`).
//!
//! This module must never block on the UI, and never use the wall clock for analysis (only
//! for pacing a replay and for the packets/s figure of the status bar).

mod engine;
mod store;

pub use engine::BUILD_SHARE;
pub use store::{Analysis, MAX_FINISHED_RECORDS, NAME_BUDGET, OPEN, PUBLISH_INTERVAL};

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::model::Event;
use crate::model::FlowRecord;

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
    /// Finished flows no longer in `flows` because the Flows table keeps at most
    /// [`MAX_FINISHED_RECORDS`] of them (the earliest to end go first; flows the activity model
    /// rests on are always kept). Events and findings still count them.
    pub flows_dropped: u64,
}

impl Speed {
    /// Capture seconds per wall-clock second; `None` for as fast as possible.
    pub fn factor(self) -> Option<u32> {
        match self {
            Speed::X1 => Some(1),
            Speed::X10 => Some(10),
            Speed::X100 => Some(100),
            Speed::Max => None,
        }
    }
}

/// What a session needs besides its source.
#[derive(Debug)]
pub struct SessionConfig {
    pub kind: SourceKind,
    /// Shown in the status bar.
    pub source: String,
    pub pipeline: crate::analysis::pipeline::PipelineConfig,
    pub catalog: crate::naming::catalog::Catalog,
    pub geo: crate::naming::geo::Geo,
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
    /// Shared with a live source (`LiveSource::open`): set on stop, so a capture waiting for
    /// packets ends at its next poll.
    stop: Arc<AtomicBool>,
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
        if c == Control::Stop {
            self.stop.store(true, Ordering::Relaxed);
        }
        let _ = self.controls.send(c);
    }

    /// Stop the session and wait for its thread. The last snapshot (`finished`, open flows
    /// flushed) stays available through [`SessionHandle::latest`] until then; read it before.
    pub fn stop(mut self) {
        self.send(Control::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    /// Stop the session, wait for its thread and return the last snapshot.
    pub fn finish(mut self) -> Arc<Snapshot> {
        self.send(Control::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.latest()
    }

    /// Whether the session thread has ended (its last snapshot is published).
    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(|t| t.is_finished())
    }
}

impl Drop for SessionHandle {
    /// A handle dropped without [`SessionHandle::stop`] still ends the session (without
    /// waiting for it).
    fn drop(&mut self) {
        self.send(Control::Stop);
    }
}

/// Why a session could not start.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Capture(#[from] crate::capture::CaptureError),
    #[error(transparent)]
    Privileges(#[from] crate::capture::privileges::PrivilegeError),
    #[error("starting the session thread: {0}")]
    Thread(#[from] std::io::Error),
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
        flows_dropped: 0,
    }
}

/// Start analysing `source` on a thread of its own.
///
/// A replay (`SourceKind::Replay` or `Demo`) is paced by its timestamps at `cfg.speed`; a live
/// source (`SourceKind::Live`) is read as packets come. For a live capture use
/// [`start_with_stop`] (or [`start_live`]) so that stopping the session also ends a capture
/// that is waiting for packets.
pub fn start(
    source: Box<dyn crate::capture::PacketSource + Send>,
    cfg: SessionConfig,
) -> std::io::Result<SessionHandle> {
    start_with_stop(source, cfg, Arc::new(AtomicBool::new(false)))
}

/// [`start`] with the stop flag the source was opened with (`LiveSource::open(opts, flag)`):
/// [`SessionHandle::stop`] and `Control::Stop` set it. A signal handler may set it too; the
/// session then ends as at the end of a file (open flows flushed, a last snapshot).
pub fn start_with_stop(
    source: Box<dyn crate::capture::PacketSource + Send>,
    cfg: SessionConfig,
    stop: Arc<AtomicBool>,
) -> std::io::Result<SessionHandle> {
    let latest = Arc::new(std::sync::Mutex::new(Arc::new(empty(&cfg))));
    let (tx, rx) = std::sync::mpsc::channel();
    let engine = engine::Engine::new(cfg, Arc::clone(&latest), rx, Arc::clone(&stop));
    let thread = std::thread::Builder::new()
        .name("session".into())
        .spawn(move || engine.run(source))?;
    Ok(SessionHandle {
        latest,
        controls: tx,
        thread: Some(thread),
        stop,
    })
}

/// Open a live capture, give up capture privileges, and start a session on it. Call it before
/// the UI starts any thread: privileges are per thread, and the drop checks every thread of
/// the process (see `capture::privileges`). Returns what was given up (`None`: nothing held).
pub fn start_live(
    opts: &crate::capture::live::LiveOptions,
    cfg: SessionConfig,
) -> Result<(SessionHandle, Option<crate::capture::privileges::Dropped>), SessionError> {
    let stop = Arc::new(AtomicBool::new(false));
    let source = crate::capture::live::LiveSource::open(opts, Arc::clone(&stop))?;
    let dropped = match crate::capture::privileges::drop_privileges() {
        Ok(d) => d,
        Err(e) => {
            drop(source);
            return Err(e.into());
        }
    };
    // Only now, with privileges given up, the capture thread starts (see ThreadedSource).
    let source = crate::capture::threaded::ThreadedSource::spawn_live(source)?;
    let handle = start_with_stop(Box::new(source), cfg, stop)?;
    Ok((handle, dropped))
}

/// Capture files read in order as one, on a reader thread of their own (as `onlooker flows`
/// reads them), for [`start`].
pub fn replay_source(
    paths: &[PathBuf],
) -> Result<Box<dyn crate::capture::PacketSource + Send>, SessionError> {
    let files = crate::capture::offline::FileSource::new(paths)?;
    Ok(Box::new(crate::capture::threaded::ThreadedSource::spawn(
        files,
    )?))
}

/// The bundled demo capture, built in memory by the scenario writer that wrote
/// `assets/demo.pcap` (a test checks the two are the same frames), so the demo needs no file.
pub fn demo_source() -> Box<dyn crate::capture::PacketSource + Send> {
    Box::new(crate::capture::memory::MemorySource::new(
        crate::scenario::demo().into_frames(),
    ))
}
