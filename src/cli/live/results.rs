//! What `live --headless --events` and `--report FILE` make of a capture while it runs: the
//! stage that takes every finished flow, keeps what the activity model needs (as `events`
//! keeps it), folds every record into the report's digest (as `report` folds it), and writes
//! each event once nothing still to come can change it.
//!
//! An event is settled when the capture's packet time, and the first packet of every flow still
//! open, are [`SETTLE_SECS`] past its end: the activity model joins nothing across a longer
//! gap, so no later flow can extend, merge or reorder it, and its `id` (its place in start
//! order) is the one `onlooker events` gives it on the same packets. A flow that stays open
//! (a chat connection) therefore holds back the events after its start until it ends or the
//! capture stops; at the stop every event not yet written is written.
//!
//! This module must never use a clock but packet time, and never decide anything itself: the
//! events are `activity::infer`'s, the report is the observer model's.

use std::collections::BTreeSet;
use std::io::{self, Write};

use crate::activity::{self, KeptFlows, SESSION_GAP_SECS};
use crate::analysis::{self, FlowState, Stage};
use crate::capture::Timestamp;
use crate::flow::{EndReason, Flow};
use crate::model::Event;
use crate::naming::Attributor;
use crate::observer::digest::Digest;
use crate::observer::words::Zone;
use crate::views::export::{Format, RecordWriter};

use super::super::events::EventsFormat;

/// Seconds of packet time after an event's end (and after the first packet of every flow still
/// open) before it is written: the longest gap the activity model joins across is an online
/// session's ([`SESSION_GAP_SECS`], 300 s), and a call's legs rejoin within
/// [`activity::CALL_REJOIN_SECS`] (120 s); past both, nothing to come changes the event.
pub const SETTLE_SECS: f64 = SESSION_GAP_SECS + activity::CALL_REJOIN_SECS;

/// What the stage is given.
// Nearly every item is a finished flow: boxing it would cost an allocation per flow to save
// space only on the rare horizon.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Item {
    /// A finished flow.
    Ended(Flow<FlowState>, EndReason),
    /// Packet time, or the first packet of the oldest flow still open if earlier: what is
    /// settled is decided against it.
    Horizon(Timestamp),
}

/// What the stage writes on standard output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// Flow records as NDJSON (`live --headless` without `--events`).
    Flows,
    /// Events in the format of `onlooker events`.
    Events(EventsFormat),
}

/// What the stage ends with.
pub struct Outcome {
    /// Every event, as `onlooker events` infers them from the same flows.
    pub events: Vec<Event>,
    /// Every record folded (only when a report was asked for).
    pub digest: Option<Digest>,
    /// Flows the activity model would have wanted past `--max-flows`.
    pub kept_dropped: u64,
    /// The writer, for a statistics record after the flows.
    pub out: Option<RecordWriter<io::BufWriter<io::Stdout>>>,
    /// The first failure writing standard output.
    pub written: io::Result<()>,
}

/// Start the stage.
pub fn spawn(
    output: Output,
    report: bool,
    zone: Zone,
    attributor: Attributor,
    max_flows: usize,
) -> io::Result<Stage<Item, Outcome>> {
    Stage::spawn("results", 1, move |items| {
        let mut kept = KeptFlows::new(max_flows);
        let mut digest = report.then(Digest::default);
        let stdout = io::BufWriter::new(io::stdout());
        let (mut records, mut table) = match output {
            Output::Flows => (Some(RecordWriter::new(Format::Ndjson, stdout)), None),
            Output::Events(EventsFormat::Ndjson) => {
                (Some(RecordWriter::new(Format::Ndjson, stdout)), None)
            }
            Output::Events(EventsFormat::Csv) => {
                (Some(RecordWriter::new(Format::Csv, stdout)), None)
            }
            Output::Events(EventsFormat::Table) => (None, Some(stdout)),
        };
        let streaming = matches!(
            output,
            Output::Events(EventsFormat::Ndjson | EventsFormat::Csv)
        );
        let mut written = Ok(());
        let mut events = Vec::new();
        // The activity model's input changed since `events` was inferred.
        let mut stale = false;
        let mut done: BTreeSet<u64> = BTreeSet::new();
        for item in items {
            match item {
                Item::Ended(flow, reason) => {
                    let s = analysis::summary(&attributor, flow, reason);
                    if let Some(d) = digest.as_mut() {
                        d.add(&s.record);
                    }
                    if output == Output::Flows
                        && written.is_ok()
                        && let Some(w) = records.as_mut()
                    {
                        written = w.write(&s.record).and_then(|()| w.flush());
                    }
                    let before = (kept.flows.len(), kept.dropped);
                    kept.offer(s);
                    stale |= (kept.flows.len(), kept.dropped) != before;
                }
                Item::Horizon(h) if streaming => {
                    if stale {
                        events = activity::infer(&kept.flows);
                        stale = false;
                    }
                    let horizon = h.as_secs_f64();
                    let mut any = false;
                    for e in &events {
                        if e.end_ts + SETTLE_SECS <= horizon
                            && written.is_ok()
                            && done.insert(e.id)
                            && let Some(w) = records.as_mut()
                        {
                            written = w.write(e);
                            any = true;
                        }
                    }
                    if any && written.is_ok() {
                        written = records.as_mut().map_or(Ok(()), RecordWriter::flush);
                    }
                }
                Item::Horizon(_) => {}
            }
        }
        if stale {
            events = activity::infer(&kept.flows);
        }
        if streaming && let Some(w) = records.as_mut() {
            for e in events.iter().filter(|e| !done.contains(&e.id)) {
                if written.is_ok() {
                    written = w.write(e);
                }
            }
        }
        if let Some(out) = table.as_mut()
            && written.is_ok()
        {
            written = out
                .write_all(crate::views::table::events(&events, &zone).as_bytes())
                .and_then(|()| out.flush());
        }
        if written.is_ok()
            && let Some(w) = records.as_mut()
        {
            written = w.flush();
        }
        Outcome {
            events,
            digest,
            kept_dropped: kept.dropped,
            out: records.filter(|_| output == Output::Flows),
            written,
        }
    })
}
