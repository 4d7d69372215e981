//! The analysis engine: one source driven through decode, the flow table, naming and the
//! activity counters, wired once for every command that reads packets.
//!
//! It exists so that `flows`, `events`, `report`, `live --headless`, the dashboard's session and
//! the tests all run the very same steps in the very same order: a packet is named, then the
//! activity counters take it; a flow that ends is settled (what other flows' sockets said about
//! it), its counters close, and only then is it handed on. Before this module those steps were
//! written out by hand in seven places and kept alike by comments.
//!
//! This module must never format text for people or write outputs (views and the command line
//! do), and never use a clock but packet time.

pub mod pipeline;
mod run;
mod stage;

pub use pipeline::{Pipeline, PipelineConfig, RunEnd, RunStats, Stages};
pub use run::{Collected, FILE_BATCH, collect, collect_events, model_of, summarize};
pub use stage::Stage;

use crate::activity::{FlowSummary, MediaStats};
use crate::capture::{CaptureError, Next, PacketSource};
use crate::decode::Packet;
use crate::flow::{EndReason, Flow, FlowTable, Observed};
use crate::model::FlowRecord;
use crate::naming::{Attributor, FlowNaming, Namer};

/// What a run computes per flow besides the flow table's counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Depth {
    /// Addresses and counters only (`flows --no-names`).
    Bare,
    /// The dissectors and naming (`flows`, `live --headless`).
    Names,
    /// Naming and the activity model's counters (`events`, `report`, the dashboard).
    Activity,
}

/// The per-flow state of a run: what the dissectors found, and the activity model's counters.
#[derive(Debug, Default)]
pub struct FlowState {
    pub naming: FlowNaming,
    /// Boxed, and allocated only when the activity model first looks at a packet: a flow table
    /// slot stays small, and `onlooker flows`, which runs no activity rules, never pays for the
    /// counters (900 bytes).
    media: Option<Box<MediaStats>>,
}

impl FlowState {
    /// The activity model's counters, allocated on first use.
    pub fn media_mut(&mut self) -> &mut MediaStats {
        self.media.get_or_insert_with(Box::default)
    }

    /// The activity model's counters, if it looked at this flow.
    pub fn media(&self) -> Option<&MediaStats> {
        self.media.as_deref()
    }

    /// The counters, leaving none behind (empty ones if the activity model never looked).
    pub fn take_media(&mut self) -> MediaStats {
        self.media.take().map(|b| *b).unwrap_or_default()
    }
}

impl AsRef<FlowNaming> for FlowState {
    fn as_ref(&self) -> &FlowNaming {
        &self.naming
    }
}

impl AsMut<FlowNaming> for FlowState {
    fn as_mut(&mut self) -> &mut FlowNaming {
        &mut self.naming
    }
}

/// A flow that ended, settled and with its counters closed, and why it ended.
pub type Ended = (Flow<FlowState>, EndReason);

/// A finished flow as the activity model sees it: its record (service decided by
/// `attributor`) and its counters. The one place a finished flow becomes a [`FlowSummary`].
pub fn summary(
    attributor: &Attributor,
    mut flow: Flow<FlowState>,
    reason: EndReason,
) -> FlowSummary {
    let record = FlowRecord::named(&flow, reason, attributor.attribute(&flow));
    FlowSummary {
        record,
        media: flow.ext.take_media(),
    }
}

/// The record of a finished flow as `onlooker flows` prints it: named, or bare when no naming
/// ran.
pub fn record(
    attributor: Option<&Attributor>,
    flow: &Flow<FlowState>,
    reason: EndReason,
) -> FlowRecord {
    match attributor {
        Some(at) => FlowRecord::named(flow, reason, at.attribute(flow)),
        None => FlowRecord::from_flow(flow, reason),
    }
}

/// One source's analysis. Feed it what the source answers (or let [`Engine::run`] read the
/// source to its end); each flow that ends reaches the sink settled, with its counters closed.
pub struct Engine {
    pipeline: Pipeline<FlowState>,
    namer: Namer,
    depth: Depth,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("depth", &self.depth)
            .finish_non_exhaustive()
    }
}

/// The engine's per-packet and end-of-flow steps, with the caller's sink.
struct Steps<'a, S> {
    namer: &'a mut Namer,
    depth: Depth,
    sink: &'a mut S,
}

impl<S: FnMut(Flow<FlowState>, EndReason)> Stages<FlowState> for Steps<'_, S> {
    fn packet(&mut self, flow: &mut Flow<FlowState>, pkt: &Packet<'_>, obs: Observed) {
        match self.depth {
            Depth::Bare => {}
            Depth::Names => self.namer.on_packet(flow, pkt, obs),
            Depth::Activity => {
                self.namer.on_packet(flow, pkt, obs);
                flow.ext.media_mut().observe(pkt, obs.dir);
            }
        }
    }

    fn ended(&mut self, mut flow: Flow<FlowState>, reason: EndReason) {
        match self.depth {
            Depth::Bare => {}
            Depth::Names => self.namer.settle(&mut flow),
            Depth::Activity => {
                self.namer.settle(&mut flow);
                flow.ext.media_mut().finish();
            }
        }
        (self.sink)(flow, reason);
    }
}

impl Engine {
    pub fn new(cfg: PipelineConfig, namer: Namer, depth: Depth) -> Self {
        Self {
            pipeline: Pipeline::new(cfg),
            namer,
            depth,
        }
    }

    /// Read `source` to its end.
    pub fn run(
        &mut self,
        source: &mut dyn PacketSource,
        sink: &mut impl FnMut(Flow<FlowState>, EndReason),
    ) -> RunEnd {
        let Self {
            pipeline,
            namer,
            depth,
        } = self;
        pipeline.run_with(
            source,
            &mut Steps {
                namer,
                depth: *depth,
                sink,
            },
        )
    }

    /// One step: analyse what the source answered (see [`Pipeline::feed`]); `Some` when the
    /// run ends, after which [`Engine::finish`] flushes what is open.
    pub fn feed(
        &mut self,
        next: Result<Next<'_>, CaptureError>,
        sink: &mut impl FnMut(Flow<FlowState>, EndReason),
    ) -> Option<RunEnd> {
        let Self {
            pipeline,
            namer,
            depth,
        } = self;
        pipeline.feed_with(
            next,
            &mut Steps {
                namer,
                depth: *depth,
                sink,
            },
        )
    }

    /// End a run driven by [`Engine::feed`]: every flow still open reaches the sink.
    pub fn finish(
        &mut self,
        source: &mut dyn PacketSource,
        sink: &mut impl FnMut(Flow<FlowState>, EndReason),
    ) {
        let Self {
            pipeline,
            namer,
            depth,
        } = self;
        pipeline.finish_with(
            source,
            &mut Steps {
                namer,
                depth: *depth,
                sink,
            },
        );
    }

    /// Counters so far, with the naming stage's when it runs.
    pub fn stats(&self) -> RunStats {
        let mut stats = self.pipeline.stats();
        if self.depth != Depth::Bare {
            stats.naming = Some(self.namer.stats);
        }
        stats
    }

    /// Frames read so far and their on-wire bytes (cheaper than [`Engine::stats`]).
    pub fn frames(&self) -> (u64, u64) {
        self.pipeline.frames()
    }

    /// Files whose reading stopped early so far, with where and why.
    pub fn partial_inputs(&self) -> &[String] {
        self.pipeline.partial_inputs()
    }

    /// The flow table and the namer, for a snapshot of the flows still open.
    pub fn open_parts(&mut self) -> (&mut FlowTable<FlowState>, &mut Namer) {
        (&mut self.pipeline.table, &mut self.namer)
    }

    /// Flows open in the table now.
    pub fn open_flows(&self) -> usize {
        self.pipeline.table.len()
    }
}
