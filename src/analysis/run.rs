//! Whole runs over a source that end in the activity model: the flows it keeps (for `events`),
//! the observer's model (for `report`), or every finished flow (for tests and library users).

use std::io;

use super::{Depth, Engine, PipelineConfig, RunEnd, RunStats, Stage, summary};
use crate::activity::{FlowSummary, KeptFlows};
use crate::capture::PacketSource;
use crate::model::{Event, FlowRecord};
use crate::naming::catalog::Catalog;
use crate::naming::geo::Geo;
use crate::naming::{Attributor, Namer};
use crate::observer::Model;
use crate::observer::digest::Digest;
use crate::observer::words::Zone;

/// Flows per batch handed to a stage thread when reading files: large enough that the channel
/// costs nothing per flow, small enough to keep memory flat.
pub const FILE_BATCH: usize = 256;

/// What a collecting run ends with.
#[derive(Debug)]
pub struct Collected<D> {
    /// The flows the activity model needs, at most `--max-flows` of them.
    pub kept: KeptFlows,
    /// What the fold made of every finished flow's record.
    pub folded: D,
    pub end: RunEnd,
    pub stats: RunStats,
}

/// Read `source` to its end with the activity model. Each finished flow is decided and folded
/// into `folded` by `fold` on a thread of its own; those the activity model needs are kept
/// (at most `cfg.max_flows`).
pub fn collect<D: Send + 'static>(
    source: &mut dyn PacketSource,
    namer: Namer,
    attributor: Attributor,
    cfg: PipelineConfig,
    folded: D,
    fold: fn(&mut D, &FlowRecord),
) -> io::Result<Collected<D>> {
    let mut stage = Stage::spawn("collector", FILE_BATCH, move |items| {
        let mut kept = KeptFlows::new(cfg.max_flows);
        let mut folded = folded;
        for (flow, reason) in items {
            let s = summary(&attributor, flow, reason);
            fold(&mut folded, &s.record);
            kept.offer(s);
        }
        (kept, folded)
    })?;
    let mut engine = Engine::new(cfg, namer, Depth::Activity);
    // The collector folds every record but keeps a flow's counters only in `kept`, which
    // takes only what `relevant` passes.
    engine.keep_media_when(crate::activity::relevant);
    let end = engine.run(source, &mut |f, r| stage.push((f, r)));
    let (kept, folded) = stage
        .finish()
        .ok_or_else(|| io::Error::other("the collector thread panicked"))?;
    Ok(Collected {
        kept,
        folded,
        end,
        stats: engine.stats(),
    })
}

/// `onlooker events`: the events of a source, with the collecting run they came from.
pub fn collect_events(
    source: &mut dyn PacketSource,
    namer: Namer,
    attributor: Attributor,
    cfg: PipelineConfig,
) -> io::Result<(Vec<Event>, Collected<()>)> {
    let c = collect(source, namer, attributor, cfg, (), |_, _| {})?;
    Ok((crate::activity::infer(&c.kept.flows), c))
}

/// `onlooker report`: the observer's model of a source. Flows are folded into the digest as
/// they end (on the collector thread); only those the activity model needs are kept whole.
pub fn model_of(
    source: &mut dyn PacketSource,
    namer: Namer,
    attributor: Attributor,
    cfg: PipelineConfig,
    zone: &Zone,
    redact: bool,
) -> io::Result<(Model, RunEnd, RunStats)> {
    let c = collect(
        source,
        namer,
        attributor,
        cfg,
        Digest::default(),
        Digest::add,
    )?;
    let events = crate::activity::infer(&c.kept.flows);
    let model = Model::build(&c.folded, &events, zone, redact);
    Ok((model, c.end, c.stats))
}

/// Run a source through the whole analysis on this thread and keep every finished flow with
/// its activity counters: what `onlooker events` does across threads, in one call for tests
/// and library users.
pub fn summarize(
    source: &mut dyn PacketSource,
    catalog: Catalog,
    geo: Geo,
    cfg: PipelineConfig,
) -> (Vec<FlowSummary>, RunStats) {
    let namer = Namer::new(catalog);
    let attributor = namer.attributor(geo);
    let mut flows = Vec::new();
    let mut engine = Engine::new(cfg, namer, Depth::Activity);
    engine.run(source, &mut |f, r| flows.push(summary(&attributor, f, r)));
    (flows, engine.stats())
}
