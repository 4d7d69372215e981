//! What a session knows between snapshots: the records of finished flows (made once, shared by
//! every snapshot), the flows the activity model needs, and a cache of the open flows' records
//! so that a snapshot rebuilds only the flows that saw packets since the previous one.
//!
//! [`Analysis`] is the session's analysis without a thread or pacing: feed it what a source
//! answers and take snapshots when wanted (the session thread does this; so do benchmarks).
//!
//! This module must never change the live analysis state it looks at (open flows are copied,
//! and what naming a copy needs is put back), and never keep more finished records than
//! [`MAX_FINISHED_RECORDS`] besides those events rest on.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use rustc_hash::FxHashMap;

use crate::activity::{self, Event, FlowSummary};
use crate::capture::Timestamp;
use crate::dissect::naming::{Attributor, FlowNaming, Namer};
use crate::flow::{EndReason, Flow, FlowKey, FlowTable};
use crate::views::export::FlowRecord;

/// Finished flow records the Flows table keeps. A record costs about 600 B (the struct, its
/// strings, the shared pointer and the ordering entries; measured by `examples/snapshot-cost`),
/// so the cap bounds the table near 60 MB, about what a tenth of the default flow table holds
/// open, and a snapshot of it stays a few milliseconds. Flows the activity model rests on are
/// kept beyond it (they are bounded by activity, as `onlooker events` keeps them).
pub const MAX_FINISHED_RECORDS: usize = 100_000;

/// Shortest wall-clock time between two snapshots: the dashboard draws about ten times a
/// second, so publishing more often would build snapshots nobody sees.
pub const PUBLISH_INTERVAL: Duration = Duration::from_millis(100);

/// `end_reason` of a flow still open in a snapshot (finished flows carry the reasons of
/// `flow::EndReason`).
pub const OPEN: &str = "open";

/// Where a flow sits in the Flows table: first packet time, then the order flows ended in.
type Order = (i64, u64);

/// Finished flows.
#[derive(Default)]
pub struct Finished {
    by_start: BTreeMap<Order, Arc<FlowRecord>>,
    /// Records that may be dropped, oldest ended first.
    evictable: VecDeque<Order>,
    seq: u64,
    cap: usize,
    pub dropped: u64,
    /// Every finished flow `activity::relevant` keeps, in the order they ended.
    pub relevant: Vec<FlowSummary>,
}

impl Finished {
    pub fn new(cap: usize) -> Self {
        Self {
            cap,
            ..Self::default()
        }
    }

    pub fn len(&self) -> usize {
        self.by_start.len()
    }

    /// A flow that ended: settle it, decide its service, keep its record; returns whether the
    /// activity model keeps it (its events may change).
    pub fn end(
        &mut self,
        namer: &mut Namer,
        attributor: &Attributor,
        mut f: Flow<FlowNaming>,
        reason: EndReason,
    ) -> bool {
        // Exactly what `onlooker events` does with an ending flow (cli::events and
        // views::export::FlowCollector), so the last snapshot's events are the same.
        namer.settle(&mut f);
        f.ext.media.finish();
        let record = FlowRecord::named(&f, reason, attributor.attribute(&f));
        let summary = FlowSummary {
            record,
            media: std::mem::take(&mut f.ext.media),
        };
        let keep = activity::relevant(&summary);
        let order = (f.first_ts.as_nanos(), self.seq);
        self.seq += 1;
        if keep {
            self.by_start
                .insert(order, Arc::new(summary.record.clone()));
            self.relevant.push(summary);
        } else {
            self.by_start.insert(order, Arc::new(summary.record));
            self.evictable.push_back(order);
            while self.evictable.len() > self.cap {
                if let Some(o) = self.evictable.pop_front() {
                    self.by_start.remove(&o);
                    self.dropped += 1;
                }
            }
        }
        keep
    }
}

/// An open flow as the previous snapshot showed it.
struct OpenEntry {
    first: Timestamp,
    packets: u64,
    /// The refresh that last saw the flow open.
    seen: u64,
    record: Arc<FlowRecord>,
    /// Its activity view (a copy of its counters, finished), when the activity model keeps it.
    summary: Option<FlowSummary>,
}

/// Records of the open flows, rebuilt only for flows that changed.
#[derive(Default)]
pub struct Open {
    map: FxHashMap<FlowKey, OpenEntry>,
    round: u64,
}

/// What one refresh of the open flows found.
pub struct Refreshed {
    /// Open flows' records ordered by first packet time.
    pub records: Vec<(i64, Arc<FlowRecord>)>,
    /// Whether a flow the activity model keeps appeared, changed or went.
    pub activity_changed: bool,
    /// Records rebuilt.
    #[allow(dead_code)]
    pub rebuilt: usize,
}

impl Open {
    /// Bring the cache up to date with the table.
    pub fn refresh(
        &mut self,
        table: &mut FlowTable<FlowNaming>,
        namer: &mut Namer,
        attributor: &Attributor,
    ) -> Refreshed {
        self.round += 1;
        let round = self.round;
        let mut changed = false;
        let mut rebuilt = 0usize;
        let mut records = Vec::with_capacity(table.len());
        table.for_each_mut(|flow| {
            let packets = flow.packets();
            match self.map.get_mut(&flow.key) {
                Some(e) if e.first == flow.first_ts && e.packets == packets => {
                    e.seen = round;
                    records.push((flow.first_ts.as_nanos(), Arc::clone(&e.record)));
                }
                slot => {
                    let was_relevant = slot.is_some_and(|e| e.summary.is_some());
                    let (record, summary) = open_view(flow, namer, attributor);
                    changed |= was_relevant || summary.is_some();
                    rebuilt += 1;
                    let record = Arc::new(record);
                    records.push((flow.first_ts.as_nanos(), Arc::clone(&record)));
                    self.map.insert(
                        flow.key,
                        OpenEntry {
                            first: flow.first_ts,
                            packets,
                            seen: round,
                            record,
                            summary,
                        },
                    );
                }
            }
        });
        self.map.retain(|_, e| {
            let keep = e.seen == round;
            changed |= !keep && e.summary.is_some();
            keep
        });
        // By first packet time, then endpoints: a stable order for flows of one instant.
        records.sort_unstable_by(|a, b| {
            a.0.cmp(&b.0)
                .then_with(|| a.1.client.cmp(&b.1.client))
                .then_with(|| a.1.server.cmp(&b.1.server))
                .then_with(|| a.1.proto.cmp(&b.1.proto))
        });
        Refreshed {
            records,
            activity_changed: changed,
            rebuilt,
        }
    }

    /// Copies of the open flows the activity model keeps, by first packet time.
    pub fn summaries(&self) -> Vec<FlowSummary> {
        let mut v: Vec<&FlowSummary> = self.map.values().filter_map(|e| e.summary.as_ref()).collect();
        v.sort_by(|a, b| {
            a.record
                .first_ts
                .total_cmp(&b.record.first_ts)
                .then_with(|| a.record.client.cmp(&b.record.client))
                .then_with(|| a.record.server.cmp(&b.record.server))
        });
        v.into_iter().cloned().collect()
    }

    pub fn clear(&mut self) {
        self.map.clear();
    }
}

/// An open flow as if it ended now, without changing it: its record named with what the
/// namer knows so far (what `Namer::settle` would add is put back afterwards), and a copy of
/// its activity counters with the open bins and bursts closed.
fn open_view(
    flow: &mut Flow<FlowNaming>,
    namer: &mut Namer,
    attributor: &Attributor,
) -> (FlowRecord, Option<FlowSummary>) {
    let claim = flow.ext.socket_claim.clone();
    namer.settle(flow);
    let attribution = attributor.attribute(flow);
    flow.ext.socket_claim = claim;
    let mut record = FlowRecord::named(flow, EndReason::EndOfInput, attribution);
    record.end_reason = OPEN;
    // A flow with no activity counters at all cannot be kept by the activity model.
    let summary = if flow.ext.media == activity::MediaStats::default() {
        None
    } else {
        let mut media = flow.ext.media.clone();
        media.finish();
        let s = FlowSummary {
            record: record.clone(),
            media,
        };
        activity::relevant(&s).then_some(s)
    };
    (record, summary)
}

/// The Flows table of a snapshot: finished and open records merged by first packet time.
pub fn merge(finished: &Finished, open: &[(i64, Arc<FlowRecord>)]) -> Vec<Arc<FlowRecord>> {
    let mut out = Vec::with_capacity(finished.len() + open.len());
    let mut fin = finished.by_start.iter().peekable();
    let mut op = open.iter().peekable();
    loop {
        let take_fin = match (fin.peek(), op.peek()) {
            (Some((o, _)), Some((t, _))) => o.0 <= *t,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        if take_fin {
            if let Some((_, r)) = fin.next() {
                out.push(Arc::clone(r));
            }
        } else if let Some((_, r)) = op.next() {
            out.push(Arc::clone(r));
        }
    }
    out
}

/// Events from the finished flows the activity model keeps plus the open ones.
pub fn events(finished: &mut Finished, open: &Open) -> Vec<Event> {
    let base = finished.relevant.len();
    finished.relevant.extend(open.summaries());
    let events = activity::infer(&finished.relevant);
    finished.relevant.truncate(base);
    events
}

/// One source's analysis, step by step, with snapshots of what is known so far.
pub struct Analysis {
    kind: super::SourceKind,
    source_name: String,
    observer: crate::observer::Options,
    speed: super::Speed,
    pipeline: crate::pipeline::Pipeline<FlowNaming>,
    namer: Namer,
    attributor: Attributor,
    finished: Finished,
    open: Open,
    first_ts: Option<Timestamp>,
    position: Option<Timestamp>,
    /// The activity model's input changed since events were last inferred.
    activity_dirty: bool,
    events: Vec<Event>,
    findings: Vec<crate::observer::Finding>,
    failure: Option<String>,
}

impl std::fmt::Debug for Analysis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Analysis")
            .field("source", &self.source_name)
            .finish_non_exhaustive()
    }
}

impl Analysis {
    pub fn new(cfg: super::SessionConfig) -> Self {
        Self::with_cap(cfg, MAX_FINISHED_RECORDS)
    }

    /// With another cap on kept finished records (tests of the cap).
    pub fn with_cap(cfg: super::SessionConfig, cap: usize) -> Self {
        let namer = Namer::new(cfg.catalog);
        let attributor = namer.attributor(cfg.geo);
        Self {
            kind: cfg.kind,
            source_name: cfg.source,
            observer: cfg.observer,
            speed: cfg.speed,
            pipeline: crate::pipeline::Pipeline::new(cfg.pipeline),
            namer,
            attributor,
            finished: Finished::new(cap),
            open: Open::default(),
            first_ts: None,
            position: None,
            activity_dirty: true,
            events: Vec::new(),
            findings: Vec::new(),
            failure: None,
        }
    }

    /// Analyse what the source answered (see `Pipeline::feed`); `Some` when the run ends.
    pub fn feed(
        &mut self,
        next: Result<crate::capture::Next<'_>, crate::capture::CaptureError>,
    ) -> Option<crate::pipeline::RunEnd> {
        if let Ok(crate::capture::Next::Frame(f)) = &next {
            self.first_ts.get_or_insert(f.ts);
            self.position = Some(self.position.map_or(f.ts, |p| p.max(f.ts)));
        }
        let Self {
            pipeline,
            namer,
            attributor,
            finished,
            activity_dirty,
            ..
        } = self;
        let namer = std::cell::RefCell::new(namer);
        let mut ended_relevant = false;
        let end = pipeline.feed(
            next,
            &mut |f, p, o| {
                namer.borrow_mut().on_packet(f, p, o);
                f.ext.media.observe(p, o.dir);
            },
            &mut |f, r| {
                ended_relevant |= finished.end(&mut namer.borrow_mut(), attributor, f, r);
            },
        );
        *activity_dirty |= ended_relevant;
        if let Some(crate::pipeline::RunEnd::Failed(e)) = &end {
            self.failure = Some(e.to_string());
        }
        end
    }

    /// End the analysis: every open flow is flushed into the finished ones.
    pub fn finish(&mut self, source: &mut dyn crate::capture::PacketSource) {
        let Self {
            pipeline,
            namer,
            attributor,
            finished,
            ..
        } = self;
        let namer = std::cell::RefCell::new(namer);
        pipeline.finish(
            source,
            &mut |f, p, o| {
                namer.borrow_mut().on_packet(f, p, o);
                f.ext.media.observe(p, o.dir);
            },
            &mut |f, r| {
                finished.end(&mut namer.borrow_mut(), attributor, f, r);
            },
        );
        self.open.clear();
        self.activity_dirty = true;
    }

    /// Capture time of the latest frame analysed.
    pub fn position(&self) -> Option<Timestamp> {
        self.position
    }

    /// Frames analysed.
    pub fn packets(&self) -> u64 {
        self.pipeline.frames().0
    }

    /// Flows open in the table now.
    pub fn open_flows(&self) -> usize {
        self.pipeline.table.len()
    }

    /// Kernel drops the source reported at the end (live).
    pub fn kernel_drops(&self) -> Option<u64> {
        self.pipeline
            .stats()
            .kernel
            .map(|k| k.dropped_by_kernel + k.dropped_by_interface)
    }

    /// Everything known now. Status fields the analysis does not own (speed, paused, packets
    /// per second, kernel drops) are the caller's to fill in.
    pub fn snapshot(&mut self, finished: bool) -> super::Snapshot {
        let open = self
            .open
            .refresh(&mut self.pipeline.table, &mut self.namer, &self.attributor);
        self.activity_dirty |= open.activity_changed;
        let flows = merge(&self.finished, &open.records);
        if self.activity_dirty {
            self.events = events(&mut self.finished, &self.open);
            self.findings = crate::observer::headline(
                flows.iter().map(|r| r.as_ref()),
                &self.events,
                &self.observer,
            );
            self.activity_dirty = false;
        }
        let (packets, bytes) = self.pipeline.frames();
        let error = self
            .failure
            .clone()
            .or_else(|| match self.pipeline.partial_inputs() {
                [] => None,
                [one] => Some(one.clone()),
                [first, rest @ ..] => Some(format!("{first} (and {} more)", rest.len())),
            });
        super::Snapshot {
            kind: self.kind.clone(),
            source: self.source_name.clone(),
            first_ts: self.first_ts.map(Timestamp::as_secs_f64),
            position_ts: self.position.map(Timestamp::as_secs_f64),
            packets,
            bytes,
            pps: 0.0,
            kernel_drops: None,
            flows,
            events: self.events.clone(),
            findings: self.findings.clone(),
            speed: self.speed,
            paused: false,
            finished,
            error,
            flows_dropped: self.finished.dropped,
        }
    }
}
