//! The pipeline: a packet source driven through decode and the flow table.
//!
//! One loop, one thread: take a frame, decode it, account it in its flow, hand the packet to
//! the per-flow hook of later stages, and pass every flow that ends to the sink. Frames that do
//! not decode are counted by reason. A damaged file stops only that file: the error is kept for
//! the summary and reading goes on with the next file.
//!
//! This module must never block on anything but its source, and never drop a frame without
//! counting it.

use crate::capture::{CaptureError, KernelStats, Next, PacketSource, RecordAnomalies};
use crate::decode::{self, Packet, Skip};
use crate::flow::fragments::{FragmentStats, FragmentTracker};
use crate::flow::{EndReason, Flow, FlowTable, Observed, Timeouts};

/// What a run counted.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct RunStats {
    /// Frames read from the source.
    pub frames: u64,
    /// Their on-wire bytes.
    pub bytes: u64,
    /// Frames decoded to a flow packet.
    pub decoded: u64,
    /// Frames not decoded, by reason (see `decode::Skip`).
    pub undecodable: std::collections::BTreeMap<&'static str, u64>,
    pub flows: crate::flow::TableStats,
    pub fragments: FragmentStats,
    /// Kernel counters of a live capture.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernel: Option<KernelStats>,
    /// Odd but readable records of capture files (empty, longer than the snaplen, absurd
    /// timestamps), by kind.
    pub record_anomalies: RecordAnomalies,
    /// Files whose reading stopped early, with where and why.
    pub partial_inputs: Vec<String>,
    /// Counters of the naming stage, when it ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub naming: Option<crate::naming::NamingStats>,
}

/// Settings of the flow stage.
#[derive(Clone, Copy, Debug)]
pub struct PipelineConfig {
    pub timeouts: Timeouts,
    pub max_flows: usize,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        Self {
            timeouts: Timeouts::default(),
            max_flows: crate::flow::DEFAULT_MAX_FLOWS,
        }
    }
}

/// How a run ended.
#[derive(Debug)]
pub enum RunEnd {
    /// The source was exhausted or asked to stop.
    Complete,
    /// The source failed for good (an interface went away); flows so far were flushed.
    Failed(CaptureError),
}

/// The work later stages do inside a run: on every decoded packet, right after its flow was
/// updated, and on every flow that ends (idle, closed, evicted, or at the end of input). One
/// value does both, so the state they share (the namer) needs no cell.
pub trait Stages<T> {
    fn packet(&mut self, flow: &mut Flow<T>, pkt: &Packet<'_>, obs: Observed);
    fn ended(&mut self, flow: Flow<T>, reason: EndReason);
}

/// Two closures as [`Stages`], for runs whose per-packet and end-of-flow work share nothing.
struct Closures<'a, H, S> {
    hook: &'a mut H,
    sink: &'a mut S,
}

impl<T, H, S> Stages<T> for Closures<'_, H, S>
where
    H: FnMut(&mut Flow<T>, &Packet<'_>, Observed),
    S: FnMut(Flow<T>, EndReason),
{
    fn packet(&mut self, flow: &mut Flow<T>, pkt: &Packet<'_>, obs: Observed) {
        (self.hook)(flow, pkt, obs);
    }

    fn ended(&mut self, flow: Flow<T>, reason: EndReason) {
        (self.sink)(flow, reason);
    }
}

/// Drives packets into a flow table.
pub struct Pipeline<T> {
    pub table: FlowTable<T>,
    fragments: FragmentTracker,
    skipped: [u64; Skip::ALL.len()],
    frames: u64,
    bytes: u64,
    decoded: u64,
    partial: Vec<String>,
    kernel: Option<KernelStats>,
    anomalies: RecordAnomalies,
}

impl<T: Default> Pipeline<T> {
    pub fn new(cfg: PipelineConfig) -> Self {
        Self {
            table: FlowTable::new(cfg.timeouts, cfg.max_flows),
            fragments: FragmentTracker::default(),
            skipped: [0; Skip::ALL.len()],
            frames: 0,
            bytes: 0,
            decoded: 0,
            partial: Vec::new(),
            kernel: None,
            anomalies: RecordAnomalies::default(),
        }
    }

    /// Read `source` to its end. `hook` sees every decoded packet with its flow right after the
    /// flow was updated; `sink` receives each flow as it ends (including at the end of input).
    pub fn run(
        &mut self,
        source: &mut dyn PacketSource,
        hook: &mut impl FnMut(&mut Flow<T>, &Packet<'_>, Observed),
        sink: &mut impl FnMut(Flow<T>, EndReason),
    ) -> RunEnd {
        self.run_with(source, &mut Closures { hook, sink })
    }

    /// [`Pipeline::run`] with one value doing the per-packet and the end-of-flow work.
    pub fn run_with(
        &mut self,
        source: &mut dyn PacketSource,
        stages: &mut impl Stages<T>,
    ) -> RunEnd {
        let end = loop {
            if let Some(end) = self.feed_with(source.next_frame(), stages) {
                break end;
            }
        };
        self.finish_with(source, stages);
        end
    }

    /// One step of a run, for callers that drive the source themselves (the dashboard's
    /// session paces a replay between reading a frame and analysing it): account what the
    /// source answered. Returns how the run ends when it does (end of input, or a source that
    /// failed for good); then call [`Pipeline::finish`]. `run` is exactly `feed` until it
    /// returns, then `finish`.
    pub fn feed(
        &mut self,
        next: Result<Next<'_>, CaptureError>,
        hook: &mut impl FnMut(&mut Flow<T>, &Packet<'_>, Observed),
        sink: &mut impl FnMut(Flow<T>, EndReason),
    ) -> Option<RunEnd> {
        self.feed_with(next, &mut Closures { hook, sink })
    }

    /// [`Pipeline::feed`] with one value doing the per-packet and the end-of-flow work.
    pub fn feed_with(
        &mut self,
        next: Result<Next<'_>, CaptureError>,
        stages: &mut impl Stages<T>,
    ) -> Option<RunEnd> {
        match next {
            Ok(Next::Frame(frame)) => {
                self.frames += 1;
                self.bytes += u64::from(frame.wire_len);
                match decode::decode(&frame) {
                    Ok(pkt) if pkt.frag.is_some() => {
                        if pkt.frag.is_some_and(|f| f.offset_bytes != 0) {
                            self.skipped[Skip::NonFirstFragment.index()] += 1;
                        } else {
                            self.decoded += 1;
                        }
                        let mut done = FragmentOutput::default();
                        self.fragments.push(&pkt, &mut |p| done.push(p));
                        for p in done.iter() {
                            self.account(p, stages, p.ts >= pkt.ts);
                        }
                    }
                    Ok(pkt) => {
                        self.decoded += 1;
                        self.account(&pkt, stages, true);
                    }
                    Err(skip) => self.skipped[skip.index()] += 1,
                }
                None
            }
            Ok(Next::Idle(now)) => {
                self.table.tick(now, &mut |f, r| stages.ended(f, r));
                None
            }
            Ok(Next::End) => Some(RunEnd::Complete),
            Err(e @ CaptureError::Partial { .. }) => {
                self.partial.push(e.to_string());
                None
            }
            Err(e) => Some(RunEnd::Failed(e)),
        }
    }

    /// End a run driven by [`Pipeline::feed`] (or stopped early): take the source's kernel
    /// counters, release the fragments still waiting, and end every flow still open.
    pub fn finish(
        &mut self,
        source: &mut dyn PacketSource,
        hook: &mut impl FnMut(&mut Flow<T>, &Packet<'_>, Observed),
        sink: &mut impl FnMut(Flow<T>, EndReason),
    ) {
        self.finish_with(source, &mut Closures { hook, sink });
    }

    /// [`Pipeline::finish`] with one value doing the per-packet and the end-of-flow work.
    pub fn finish_with(&mut self, source: &mut dyn PacketSource, stages: &mut impl Stages<T>) {
        self.kernel = source.kernel_stats();
        self.anomalies = source.record_anomalies();
        let mut rest = Vec::new();
        self.fragments.finish(&mut |p| rest.push(p));
        for p in &rest {
            self.account(p, stages, false);
        }
        self.table.flush(&mut |f, r| stages.ended(f, r));
    }

    /// Frames read so far and their on-wire bytes (cheaper than [`Pipeline::stats`]).
    pub fn frames(&self) -> (u64, u64) {
        (self.frames, self.bytes)
    }

    /// Files whose reading stopped early so far, with where and why.
    pub fn partial_inputs(&self) -> &[String] {
        &self.partial
    }

    fn account(&mut self, pkt: &Packet<'_>, stages: &mut impl Stages<T>, on_time: bool) {
        // Packets the fragment tracker releases late carry their own (earlier) time.
        let sink = &mut |f, r| stages.ended(f, r);
        let obs = if on_time {
            self.table.observe(pkt, sink)
        } else {
            self.table.observe_released(pkt, sink)
        };
        if let Some(flow) = self.table.get_mut(obs.id) {
            stages.packet(flow, pkt, obs);
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> RunStats {
        RunStats {
            frames: self.frames,
            bytes: self.bytes,
            decoded: self.decoded,
            undecodable: Skip::ALL
                .iter()
                .filter(|s| self.skipped[s.index()] > 0)
                .map(|s| (s.as_str(), self.skipped[s.index()]))
                .collect(),
            flows: self.table.stats(),
            fragments: self.fragments.stats(),
            kernel: self.kernel,
            record_anomalies: self.anomalies,
            partial_inputs: self.partial.clone(),
            naming: None,
        }
    }
}

/// Packets released by one fragment: the completed datagram and, rarely, first fragments of
/// datagrams that timed out. A small inline buffer, so the per-packet path does not allocate.
#[derive(Default)]
struct FragmentOutput {
    items: [Option<Packet<'static>>; 4],
    len: usize,
    /// Beyond the inline capacity (only when several datagrams time out at one packet).
    spill: Vec<Packet<'static>>,
}

impl FragmentOutput {
    fn push(&mut self, p: Packet<'static>) {
        if self.len < self.items.len() {
            self.items[self.len] = Some(p);
            self.len += 1;
        } else {
            self.spill.push(p);
        }
    }

    fn iter(&self) -> impl Iterator<Item = &Packet<'static>> {
        self.items[..self.len]
            .iter()
            .flatten()
            .chain(self.spill.iter())
    }
}
