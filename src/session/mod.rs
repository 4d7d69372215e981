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
