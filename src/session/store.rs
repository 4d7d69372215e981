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

use crate::activity::{self, FlowSummary};
use crate::analysis::{Depth, Engine, FlowState};
use crate::capture::Timestamp;
use crate::flow::{EndReason, Flow, FlowKey, FlowTable};
use crate::model::{Event, FlowRecord};
use crate::naming::{Attributor, Namer};

/// Finished flow records the Flows table keeps. A kept record costs about 0.9 KB (the record
/// with its strings, the shared pointer and its ordering entries: `examples/snapshot-cost`
/// measures 890 B a flow of resident growth for 100,000 records), so the cap bounds the table
/// near 90 MB, and a snapshot of it stays near 10 ms (same example). Flows the activity model
/// rests on are kept beyond it (they are bounded by activity, as `onlooker events` keeps
/// them); the oldest to end are dropped first, and counted.
pub const MAX_FINISHED_RECORDS: usize = 100_000;

/// Shortest wall-clock time between two snapshots: the dashboard draws about ten times a
/// second, so publishing more often would build snapshots nobody sees.
pub const PUBLISH_INTERVAL: Duration = Duration::from_millis(100);

/// Open flows named per refresh at most. Naming a record (deciding the service, geo lookups,
/// strings) costs 5 µs on an idle core and up to 15 µs on a loaded one (`examples/snapshot-cost`),
/// so 10,000 keep one refresh near 50 ms however many flows appeared at once (the time within
/// which the dashboard must answer a key); the others are shown with their addresses and
/// counters only and named in the next refreshes, newest first.
pub const NAME_BUDGET: usize = 10_000;

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

    /// A flow that ended (settled, its counters closed): decide its service, keep its record;
    /// returns whether the activity model keeps it (its events may change).
    pub fn end(&mut self, attributor: &Attributor, f: Flow<FlowState>, reason: EndReason) -> bool {
        let order = (f.first_ts.as_nanos(), self.seq);
        let summary = crate::analysis::summary(attributor, f, reason);
        let keep = activity::relevant(&summary);
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
    packets: u64,
    record: Arc<FlowRecord>,
    /// Its activity view (a copy of its counters, finished), when the activity model keeps it.
    summary: Option<Box<FlowSummary>>,
}

/// Where an open flow sits in the Flows table: first packet time, then its key.
type OpenOrder = (i64, u8, crate::flow::Endpoint, crate::flow::Endpoint);

fn open_order(flow: &Flow<FlowState>) -> OpenOrder {
    (
        flow.first_ts.as_nanos(),
        flow.key.proto,
        flow.key.lo,
        flow.key.hi,
    )
}

/// Records of the open flows, ordered as the Flows table shows them. A refresh visits only
/// the flows that saw packets since the previous one (the table's recency lists give them in
/// O(changed)) and rebuilds those whose packet count moved; flows leave as they end.
#[derive(Default)]
pub struct Open {
    by_order: BTreeMap<OpenOrder, OpenEntry>,
    /// Each open flow's place and the packet count its record shows.
    index: FxHashMap<FlowKey, (OpenOrder, u64)>,
    /// The table's clock at the previous refresh.
    since: Option<Timestamp>,
    /// A flow the activity model keeps ended since the previous refresh.
    relevant_ended: bool,
}

/// What one refresh of the open flows found.
pub struct Refreshed {
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
        table: &mut FlowTable<FlowState>,
        namer: &mut Namer,
        attributor: &Attributor,
    ) -> Refreshed {
        let mut changed = std::mem::take(&mut self.relevant_ended);
        let mut rebuilt = 0usize;
        let mut over_budget = false;
        let since = self.since;
        let now = table.now();
        let Self {
            by_order, index, ..
        } = self;
        table.for_each_touched_since_mut(since, |flow| {
            let order = open_order(flow);
            let packets = flow.packets();
            if let Some((old, cached)) = index.get(&flow.key).copied() {
                if old == order && cached == packets {
                    return;
                }
                if old == order && cached == u64::MAX && rebuilt >= NAME_BUDGET {
                    // Shown unnamed already, still waiting for its turn.
                    over_budget = true;
                    return;
                }
                if let Some(e) = by_order.remove(&old) {
                    changed |= e.summary.is_some();
                }
            }
            let entry = if rebuilt < NAME_BUDGET {
                let (record, summary) = open_view(flow, namer, attributor);
                changed |= summary.is_some();
                rebuilt += 1;
                OpenEntry {
                    packets,
                    record: Arc::new(record),
                    summary: summary.map(Box::new),
                }
            } else {
                // Over the budget: addresses and counters now, the name at a later refresh
                // (a packet count no flow has makes it rebuilt then).
                over_budget = true;
                let mut record = FlowRecord::from_flow(flow, EndReason::EndOfInput);
                record.end_reason = OPEN;
                OpenEntry {
                    packets: u64::MAX,
                    record: Arc::new(record),
                    summary: None,
                }
            };
            index.insert(flow.key, (order, entry.packets));
            by_order.insert(order, entry);
        });
        // With flows left unnamed, the next refresh walks the same stretch again (the flows
        // named already are skipped at the cost of a lookup).
        if !over_budget {
            self.since = now;
        }
        Refreshed {
            activity_changed: changed,
            rebuilt,
        }
    }

    /// A flow ended: it leaves the open ones.
    pub fn ended(&mut self, key: &FlowKey) {
        if let Some((order, _)) = self.index.remove(key) {
            if let Some(e) = self.by_order.remove(&order) {
                self.relevant_ended |= e.summary.is_some();
            }
        }
    }

    pub fn len(&self) -> usize {
        self.by_order.len()
    }

    /// Copies of the open flows the activity model keeps, by first packet time.
    pub fn summaries(&self) -> Vec<FlowSummary> {
        self.by_order
            .values()
            .filter_map(|e| e.summary.as_deref().cloned())
            .collect()
    }

    pub fn clear(&mut self) {
        self.by_order.clear();
        self.index.clear();
        self.since = None;
    }
}

/// An open flow as if it ended now, without changing it: its record named with what the
/// namer knows so far (what `Namer::settle` would add is put back afterwards), and a copy of
/// its activity counters with the open bins and bursts closed.
fn open_view(
    flow: &mut Flow<FlowState>,
    namer: &mut Namer,
    attributor: &Attributor,
) -> (FlowRecord, Option<FlowSummary>) {
    let claim = flow.ext.naming.socket_claim.clone();
    namer.settle(flow);
    // The name the capture gave this flow's server so far (live: from the moment it is known).
    namer.lend(flow);
    let attribution = attributor.attribute(flow);
    flow.ext.naming.socket_claim = claim;
    let mut record = FlowRecord::named(flow, EndReason::EndOfInput, attribution);
    record.end_reason = OPEN;
    // A flow with no activity counters at all cannot be kept by the activity model.
    let summary = if let Some(m) = flow
        .ext
        .media()
        .filter(|m| **m != activity::MediaStats::default())
    {
        let mut media = m.clone();
        media.finish();
        let s = FlowSummary {
            record: record.clone(),
            media,
        };
        activity::relevant(&s).then_some(s)
    } else {
        None
    };
    (record, summary)
}

/// The Flows table of a snapshot: finished and open records merged by first packet time.
pub fn merge(finished: &Finished, open: &Open) -> Vec<Arc<FlowRecord>> {
    let mut out = Vec::with_capacity(finished.len() + open.len());
    let mut fin = finished.by_start.iter().peekable();
    let mut op = open
        .by_order
        .iter()
        .map(|(o, e)| (o.0, &e.record))
        .peekable();
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
    engine: Engine,
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
        let engine = Engine::new(cfg.pipeline, namer, Depth::Activity);
        Self {
            kind: cfg.kind,
            source_name: cfg.source,
            observer: cfg.observer,
            speed: cfg.speed,
            engine,
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
    ) -> Option<crate::analysis::pipeline::RunEnd> {
        if let Ok(crate::capture::Next::Frame(f)) = &next {
            self.first_ts.get_or_insert(f.ts);
            self.position = Some(self.position.map_or(f.ts, |p| p.max(f.ts)));
        }
        let Self {
            engine,
            attributor,
            finished,
            open,
            activity_dirty,
            ..
        } = self;
        let mut ended_relevant = false;
        let end = engine.feed(next, &mut |f, r| {
            open.ended(&f.key);
            ended_relevant |= finished.end(attributor, f, r);
        });
        *activity_dirty |= ended_relevant;
        if let Some(crate::analysis::pipeline::RunEnd::Failed(e)) = &end {
            self.failure = Some(e.to_string());
        }
        end
    }

    /// End the analysis: every open flow is flushed into the finished ones.
    pub fn finish(&mut self, source: &mut dyn crate::capture::PacketSource) {
        let Self {
            engine,
            attributor,
            finished,
            ..
        } = self;
        engine.finish(source, &mut |f, r| {
            finished.end(attributor, f, r);
        });
        self.open.clear();
        self.activity_dirty = true;
    }

    /// Capture time of the latest frame analysed.
    pub fn position(&self) -> Option<Timestamp> {
        self.position
    }

    /// Frames analysed.
    pub fn packets(&self) -> u64 {
        self.engine.frames().0
    }

    /// Flows open in the table now.
    pub fn open_flows(&self) -> usize {
        self.engine.open_flows()
    }

    /// Kernel drops the source reported at the end (live).
    pub fn kernel_drops(&self) -> Option<u64> {
        self.engine
            .stats()
            .kernel
            .map(|k| k.dropped_by_kernel + k.dropped_by_interface)
    }

    /// Everything known now. Status fields the analysis does not own (speed, paused, packets
    /// per second, kernel drops) are the caller's to fill in.
    pub fn snapshot(&mut self, finished: bool) -> super::Snapshot {
        let (table, namer) = self.engine.open_parts();
        let open = self.open.refresh(table, namer, &self.attributor);
        self.activity_dirty |= open.activity_changed;
        let flows = merge(&self.finished, &self.open);
        if self.activity_dirty {
            self.events = events(&mut self.finished, &self.open);
            self.findings = crate::observer::headline(
                flows.iter().map(|r| r.as_ref()),
                &self.events,
                &self.observer,
            );
            self.activity_dirty = false;
        }
        let (packets, bytes) = self.engine.frames();
        let error = self
            .failure
            .clone()
            .or_else(|| match self.engine.partial_inputs() {
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
