//! The session thread: reads the source, paces a replay by its timestamps, runs the analysis,
//! answers the UI's controls and publishes snapshots.
//!
//! Pacing uses the wall clock only to wait: at speed `s` a packet stamped `t` is analysed no
//! earlier than `anchor_wall + (t - anchor_ts) / s`, where the anchor is set by the first
//! packet and moved on every change of speed and on resume to the capture time the replay had
//! reached ("virtual time"), so a pause stops the clock and a new speed applies from now on.
//! Waits are spent in `recv_timeout` on the control channel, never in a sleep, so a control is
//! seen as soon as it is sent. While reading at full speed the channel is polled every
//! [`POLL_EVERY`] frames.
//!
//! A snapshot is built on this thread (it needs the flow table), at most every
//! [`PUBLISH_INTERVAL`], and never sooner than [`BUILD_SHARE`] times its own build cost after
//! the previous one: however many flows there are, building snapshots takes at most a fifth
//! of the thread's time. A control is answered at once with a status-only snapshot (the
//! previous one with the new speed or pause state).
//!
//! This module must never wait for the UI (publishing swaps one `Arc` under a lock held for
//! nothing else), and never let the wall clock reach the analysis.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::store::{Analysis, PUBLISH_INTERVAL};
use super::{Control, SessionConfig, Snapshot, SourceKind, Speed};
use crate::analysis::pipeline::RunEnd;
use crate::capture::{Next, PacketSource, Timestamp};

/// Frames analysed between two looks at the control channel and the clock when nothing
/// waits: at the analysis's million-odd frames per second that is a look every ~0.1 ms,
/// while keeping `Instant::now()` and the channel off the per-packet cost.
const POLL_EVERY: u32 = 64;

/// The wait before the next snapshot is at least this many times the last one's build cost:
/// 5 keeps snapshot building at or below a fifth of the session thread's time however large
/// the flow table grows (the UI still gets a snapshot every 0.1 s up to ~20 ms of build).
pub const BUILD_SHARE: u32 = 5;

/// Replay clock.
struct Pace {
    speed: Speed,
    paused: bool,
    /// Wall instant and capture time that correspond.
    anchor: Option<(Instant, Timestamp)>,
}

impl Pace {
    /// Capture time the replay has reached at `now` (`None` before the first packet, or at
    /// full speed).
    fn virtual_ts(&self, now: Instant) -> Option<Timestamp> {
        let (wall, ts) = self.anchor?;
        let factor = self.speed.factor()?;
        if self.paused {
            return Some(ts);
        }
        let gone = now.saturating_duration_since(wall).as_nanos();
        let gone = i64::try_from(gone.saturating_mul(u128::from(factor))).unwrap_or(i64::MAX);
        Some(Timestamp(ts.0.saturating_add(gone)))
    }

    /// How long until a packet stamped `ts` is due (zero when due or at full speed).
    fn wait_for(&self, ts: Timestamp, now: Instant) -> Duration {
        let (Some((wall, at)), Some(factor)) = (self.anchor, self.speed.factor()) else {
            return Duration::ZERO;
        };
        let ahead = ts.0.saturating_sub(at.0);
        if ahead <= 0 {
            return Duration::ZERO;
        }
        let due = Duration::from_nanos(ahead.unsigned_abs() / u64::from(factor));
        due.saturating_sub(now.saturating_duration_since(wall))
    }

    /// Move the anchor to `ts` at `now`.
    fn reanchor(&mut self, now: Instant, ts: Option<Timestamp>) {
        self.anchor = ts.map(|t| (now, t));
    }
}

/// The session's analysis and publishing state.
pub struct Engine {
    live: bool,
    analysis: Analysis,
    controls: Receiver<Control>,
    stop_flag: Arc<AtomicBool>,
    latest: Arc<Mutex<Arc<Snapshot>>>,
    pace: Pace,
    stopping: bool,
    kernel_drops: Option<u64>,
    /// Snapshot bookkeeping.
    last: Arc<Snapshot>,
    last_publish: Instant,
    last_packets: u64,
    next_publish: Instant,
    /// Something the next snapshot must show: packets analysed, flows ended.
    dirty: bool,
}

impl Engine {
    pub fn new(
        cfg: SessionConfig,
        latest: Arc<Mutex<Arc<Snapshot>>>,
        controls: Receiver<Control>,
        stop_flag: Arc<AtomicBool>,
    ) -> Self {
        let live = cfg.kind == SourceKind::Live;
        let speed = if live { Speed::Max } else { cfg.speed };
        let now = Instant::now();
        let last = match latest.lock() {
            Ok(g) => Arc::clone(&g),
            Err(p) => Arc::clone(&p.into_inner()),
        };
        Self {
            live,
            analysis: Analysis::new(cfg),
            controls,
            stop_flag,
            latest,
            pace: Pace {
                speed,
                paused: false,
                anchor: None,
            },
            stopping: false,
            kernel_drops: None,
            last,
            last_publish: now,
            last_packets: 0,
            next_publish: now,
            dirty: true,
        }
    }

    /// Run the session to its end: the source exhausted or failed, or a stop.
    pub fn run(mut self, mut source: Box<dyn PacketSource + Send>) {
        let _ = self.drive(source.as_mut());
        self.analysis.finish(source.as_mut());
        self.kernel_drops = self.analysis.kernel_drops().or(self.kernel_drops);
        self.publish_full(true);
    }

    /// The reading loop.
    fn drive(&mut self, source: &mut (dyn PacketSource + Send)) -> RunEnd {
        let mut since_poll = 0u32;
        loop {
            if self.stopping {
                return RunEnd::Complete;
            }
            let next = source.next_frame();
            let ts = match &next {
                Ok(Next::Frame(f)) => Some(f.ts),
                _ => None,
            };
            if let Some(ts) = ts {
                if !self.live {
                    self.wait_until_due(ts);
                    if self.stopping {
                        return RunEnd::Complete;
                    }
                }
                if self.pace.anchor.is_none() {
                    self.pace.reanchor(Instant::now(), Some(ts));
                }
            }
            let end = self.analysis.feed(next);
            self.dirty = true;
            if let Some(end) = end {
                return end;
            }
            since_poll += 1;
            // Idle ticks (a live source with no traffic) and paced replays look every time.
            if since_poll >= POLL_EVERY || ts.is_none() || self.pace.speed != Speed::Max {
                since_poll = 0;
                self.poll_controls();
                let now = Instant::now();
                if self.live && now >= self.next_publish {
                    // One system call (libpcap's stats), only when a snapshot is due.
                    self.kernel_drops = source
                        .kernel_stats()
                        .map(|k| k.dropped_by_kernel + k.dropped_by_interface);
                }
                self.maybe_publish(now);
            }
        }
    }

    /// Wait until a packet stamped `ts` is due, answering controls meanwhile.
    fn wait_until_due(&mut self, ts: Timestamp) {
        loop {
            self.poll_controls();
            if self.stopping {
                return;
            }
            let now = Instant::now();
            let wait = if self.pace.paused {
                // Nothing moves while paused: wake only for controls (and a status refresh).
                PUBLISH_INTERVAL * 10
            } else {
                let w = self.pace.wait_for(ts, now);
                if w.is_zero() {
                    return;
                }
                w
            };
            self.maybe_publish(now);
            let until_publish = self.next_publish.saturating_duration_since(now);
            let wait = if self.dirty || self.last.pps > 0.0 {
                wait.min(until_publish.max(Duration::from_millis(1)))
            } else {
                wait
            };
            match self.controls.recv_timeout(wait) {
                Ok(c) => self.control(c, Some(ts)),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => self.stopping = true,
            }
        }
    }

    fn poll_controls(&mut self) {
        if self.stop_flag.load(Ordering::Relaxed) {
            self.stopping = true;
        }
        loop {
            match self.controls.try_recv() {
                Ok(c) => self.control(c, None),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    self.stopping = true;
                    break;
                }
            }
        }
    }

    /// Apply one control. `pending` is the timestamp of the frame being waited for, if any.
    fn control(&mut self, c: Control, pending: Option<Timestamp>) {
        let now = Instant::now();
        // Where the replay stands: the capture time reached, never before the last packet
        // analysed nor past the one waited for.
        let reached = match (self.pace.virtual_ts(now), self.analysis.position(), pending) {
            (Some(v), Some(p), Some(n)) => Some(v.max(p).min(n.max(p))),
            (_, p, _) => p,
        };
        match c {
            Control::Stop => self.stopping = true,
            _ if self.live => {
                // Live: nothing to pace; a pause freezes the view, not the capture.
                if c == Control::TogglePause {
                    self.pace.paused = !self.pace.paused;
                }
            }
            Control::SetSpeed(s) => {
                if s != self.pace.speed {
                    self.pace.reanchor(now, reached);
                    self.pace.speed = s;
                }
            }
            Control::TogglePause => {
                self.pace.reanchor(now, reached);
                self.pace.paused = !self.pace.paused;
            }
            Control::JumpToEnd => {
                self.pace.speed = Speed::Max;
                self.pace.paused = false;
                self.pace.reanchor(now, reached);
            }
        }
        if !self.stopping {
            self.publish_status(now);
        }
    }

    /// Publish a full snapshot if one is due and something changed.
    fn maybe_publish(&mut self, now: Instant) {
        if now < self.next_publish {
            return;
        }
        if self.live && self.pace.paused {
            return;
        }
        if self.dirty {
            self.publish_full(false);
        } else if self.last.pps > 0.0 || self.kernel_drops != self.last.kernel_drops {
            // Nothing analysed since: let the rate fall to zero.
            self.publish_status(now);
        }
    }

    fn packets_per_sec(&mut self, now: Instant) -> f64 {
        let packets = self.analysis.packets();
        let secs = now
            .saturating_duration_since(self.last_publish)
            .as_secs_f64();
        if secs <= 0.0 {
            return self.last.pps;
        }
        let pps = packets.saturating_sub(self.last_packets) as f64 / secs;
        self.last_publish = now;
        self.last_packets = packets;
        pps
    }

    /// The previous snapshot with the status of now.
    fn publish_status(&mut self, now: Instant) {
        let pps = if now.saturating_duration_since(self.last_publish) >= PUBLISH_INTERVAL {
            self.packets_per_sec(now)
        } else {
            self.last.pps
        };
        let snap = Snapshot {
            speed: self.pace.speed,
            paused: self.pace.paused,
            kernel_drops: self.kernel_drops,
            pps: if self.pace.paused && !self.live {
                0.0
            } else {
                pps
            },
            ..(*self.last).clone()
        };
        self.swap(snap);
    }

    /// Build and publish a snapshot of everything known now.
    fn publish_full(&mut self, finished: bool) {
        let started = Instant::now();
        let mut snap = self.analysis.snapshot(finished);
        let pps = self.packets_per_sec(started);
        snap.pps = if finished || (self.pace.paused && !self.live) {
            0.0
        } else {
            pps
        };
        snap.kernel_drops = self.kernel_drops;
        snap.speed = self.pace.speed;
        snap.paused = self.pace.paused;
        self.swap(snap);
        self.dirty = false;
        let done = Instant::now();
        let cost = done.saturating_duration_since(started);
        let gap = PUBLISH_INTERVAL.max(cost.saturating_mul(BUILD_SHARE));
        self.next_publish = done.checked_add(gap).unwrap_or(done);
    }

    fn swap(&mut self, snap: Snapshot) {
        let snap = Arc::new(snap);
        self.last = Arc::clone(&snap);
        let old = match self.latest.lock() {
            Ok(mut g) => std::mem::replace(&mut *g, snap),
            Err(p) => std::mem::replace(&mut *p.into_inner(), snap),
        };
        // The previous snapshot is freed (if the UI holds no copy) outside the lock.
        drop(old);
    }
}
