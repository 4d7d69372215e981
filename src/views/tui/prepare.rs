//! What the worker and the App share: a request for prepared work ([`Job`]: a snapshot, the
//! view parameters and the selection of the moment), the work itself ([`Prepared`]: derived
//! counts and the filtered, sorted rows), and the one function that makes it ([`prepare`]).
//!
//! It exists so that the worker thread and the UI thread run the same preparation and hand
//! it over whole, and so that neither module needs the other's insides: the worker depends on
//! this module, the App on the worker and on this module, never the other way round. It never
//! decides anything: it filters by the user's filter and orders what the snapshot holds, and
//! it must never hold state between jobs, wait, or touch the screen.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::columns::{FlowCol, SortKey};
use super::derive::{Derived, derive};
use super::filter::Filter;
use crate::model::{EventKind, FlowRef};
use crate::observer::words::Zone;
use crate::session::Snapshot;

/// Identity of a flow, to keep it selected while new snapshots arrive.
pub(super) type FlowKey = FlowRef;

/// What the rows depend on besides the snapshot: rows made for other parameters are stale.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct ViewParams {
    pub(super) sort: FlowCol,
    pub(super) descending: bool,
    pub(super) flow_filter: Filter,
    pub(super) event_filter: Filter,
}

/// The selected flow and event by identity, to find them again in new rows.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct Selection {
    pub(super) flow: Option<FlowKey>,
    pub(super) event: Option<(EventKind, f64)>,
}

impl Selection {
    pub(super) fn flow_in(&self, snap: &Snapshot, rows: &[u32]) -> Option<usize> {
        let k = self.flow.as_ref()?;
        rows.iter()
            .position(|&i| *k == snap.flows[i as usize].flow_ref())
    }

    pub(super) fn event_in(&self, snap: &Snapshot, rows: &[u32]) -> Option<usize> {
        let (kind, ts) = self.event?;
        rows.iter().position(|&i| {
            let e = &snap.events[i as usize];
            e.kind == kind && e.start_ts == ts
        })
    }
}

/// A request for prepared work: a snapshot and the view parameters and selection of the moment.
#[derive(Debug)]
pub(super) struct Job {
    /// Requests are numbered; a result older than the one on screen is dropped.
    pub(super) seq: u64,
    pub(super) snap: Arc<Snapshot>,
    pub(super) params: ViewParams,
    pub(super) selection: Selection,
    /// The zone the observer's sentences are worded in.
    pub(super) zone: Zone,
}

/// Everything the tabs read for one snapshot and one set of view parameters, prepared in one go
/// (on the worker thread in the dashboard, inline by [`super::App::sync`]) and swapped in
/// whole, so the snapshot, its derived work and its rows always belong together.
#[derive(Debug)]
pub(super) struct Prepared {
    pub(super) seq: u64,
    pub(super) snap: Arc<Snapshot>,
    pub(super) derived: Arc<Derived>,
    pub(super) params: ViewParams,
    pub(super) flow_rows: Vec<u32>,
    pub(super) event_rows: Vec<u32>,
    /// The selection the job was given, and where it is in the rows.
    pub(super) selection: Selection,
    pub(super) flow_pos: Option<usize>,
    pub(super) event_pos: Option<usize>,
    /// What preparing cost (paces the next snapshot).
    pub(super) cost: Duration,
}

/// Filter and sort a snapshot's flows and events for `params`, and derive its counters, places
/// and lanes unless `derived` (already made from the same snapshot) is given.
pub(super) fn prepare(job: Job, derived: Option<Arc<Derived>>) -> Prepared {
    let t = Instant::now();
    let Job {
        seq,
        snap,
        params,
        selection,
        zone,
    } = job;
    let derived = derived.unwrap_or_else(|| Arc::new(derive(&snap, &zone)));
    let flow_rows = flow_rows(&snap, &params);
    let f = &params.event_filter;
    let event_rows: Vec<u32> = (0..snap.events.len() as u32)
        .filter(|&i| f.matches_event(&snap.events[i as usize]))
        .collect();
    let flow_pos = selection.flow_in(&snap, &flow_rows);
    let event_pos = selection.event_in(&snap, &event_rows);
    Prepared {
        seq,
        snap,
        derived,
        params,
        flow_rows,
        event_rows,
        selection,
        flow_pos,
        event_pos,
        cost: t.elapsed(),
    }
}

/// The snapshot's flows that pass the filter, in the order of the sort column.
fn flow_rows(snap: &Snapshot, params: &ViewParams) -> Vec<u32> {
    let f = &params.flow_filter;
    let mut rows: Vec<u32> = if f.is_empty() {
        (0..snap.flows.len() as u32).collect()
    } else {
        (0..snap.flows.len() as u32)
            .filter(|&i| f.matches_flow(&snap.flows[i as usize]))
            .collect()
    };
    // Flows usually arrive ordered by first packet time: that order needs no sort.
    let (col, desc) = (params.sort, params.descending);
    let in_order = !desc
        && col == FlowCol::Start
        && rows.is_sorted_by(|&i, &j| {
            snap.flows[i as usize].first_ts <= snap.flows[j as usize].first_ts
        });
    if !in_order {
        let mut keyed: Vec<(SortKey, u32)> = rows
            .iter()
            .map(|&i| (col.key(&snap.flows[i as usize]), i))
            .collect();
        // Ties keep first-packet order in both directions.
        keyed.sort_unstable_by(|a, b| {
            let o = a.0.cmp(&b.0);
            (if desc { o.reverse() } else { o }).then(a.1.cmp(&b.1))
        });
        rows = keyed.into_iter().map(|(_, i)| i).collect();
    }
    rows
}
