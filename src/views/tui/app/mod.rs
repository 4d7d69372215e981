//! The dashboard's state apart from drawing: the tab, selections, the flow table's sort and
//! filter, the timeline's zoom and scroll, and the prepared work of the snapshot on screen.
//!
//! It exists to keep what is on screen consistent. Everything costly (filtering and sorting
//! flows, counting, placing countries, lanes) is done once per snapshot or per change of
//! sort/filter, never per frame, so drawing only reads prepared rows and renders the visible
//! ones. That work is one function ([`super::prepare::prepare`]) run on the dashboard's worker
//! thread ([`App::start_worker`], [`App::sync_paced`]) or inline ([`App::sync`], for tests);
//! this module swaps the finished work in whole, keeping the selection on the same flow and
//! event, and drops results made for a sort or filter that has changed since. What keys do
//! to this state is in [`keys`].
//!
//! It must never draw, and never change what the session counted: it only chooses which of
//! the snapshot's rows are shown, in what order, and which one is selected.

mod keys;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::prepare::{Job, Prepared, Selection, ViewParams, prepare};
use super::worker::Worker;
use crate::model::{Event, FlowRecord};
use crate::session::Snapshot;

// The types of the App's fields and answers, named here so that `app::Tab`, `app::FlowCol`
// and the rest stay where the dashboard's users (tests, benchmarks, examples) find them.
pub use super::columns::{FlowCol, SortKey};
pub use super::derive::{Counters, Derived, Lane, Place};
pub use super::fmt::Clock;
pub use super::nav::{FilterLine, ListKind, ListNav, ObserverPane, Scroll, Tab, Timeline};
pub use keys::Action;

/// The latest request made of the worker.
#[derive(Debug)]
struct Requested {
    seq: u64,
    snap: Arc<Snapshot>,
    params: ViewParams,
    /// Its result has not arrived yet.
    waiting: bool,
}

/// The dashboard's state.
#[derive(Debug)]
pub struct App {
    pub tab: Tab,
    /// The tab Help returns to.
    pub back: Tab,
    pub no_color: bool,
    pub flows: ListNav,
    pub events: ListNav,
    pub sort: FlowCol,
    pub descending: bool,
    pub flow_filter: FilterLine,
    pub event_filter: FilterLine,
    /// The list whose filter is being typed.
    pub editing: Option<ListKind>,
    pub timeline: Timeline,
    /// What the Observer tab shows, and how far each of its texts and Help are scrolled.
    pub observer_pane: ObserverPane,
    pub findings_scroll: Scroll,
    pub mitigations_scroll: Scroll,
    pub help_scroll: Scroll,
    /// The clock times are shown in (`--tz`; UTC otherwise).
    pub clock: Clock,
    /// A line for the status bar until the next key (where an export was written).
    pub notice: Option<String>,
    snap: Option<Arc<Snapshot>>,
    derived: Arc<Derived>,
    flow_rows: Vec<u32>,
    event_rows: Vec<u32>,
    /// The view parameters the rows on screen were made for (`None` before the first).
    shown: Option<ViewParams>,
    selection: Selection,
    /// When the last new snapshot was taken (or asked of the worker), and what preparing the
    /// latest one cost.
    last_derive: Option<(Instant, Duration)>,
    /// Prepares snapshots off the UI thread once [`App::start_worker`] is called.
    worker: Option<Worker>,
    /// The number of the last job made, and of the work on screen.
    seq: u64,
    shown_seq: u64,
    requested: Option<Requested>,
    /// The newest result received and not yet swapped in.
    inbox: Option<Prepared>,
}

impl App {
    pub fn new(no_color: bool) -> Self {
        Self {
            tab: Tab::Observer,
            back: Tab::Observer,
            no_color,
            flows: ListNav::default(),
            events: ListNav::default(),
            sort: FlowCol::Start,
            descending: false,
            flow_filter: FilterLine::default(),
            event_filter: FilterLine::default(),
            editing: None,
            timeline: Timeline::default(),
            observer_pane: ObserverPane::default(),
            findings_scroll: Scroll::default(),
            mitigations_scroll: Scroll::default(),
            help_scroll: Scroll::default(),
            clock: Clock::utc(),
            notice: None,
            snap: None,
            derived: Arc::new(Derived::default()),
            flow_rows: Vec::new(),
            event_rows: Vec::new(),
            shown: None,
            selection: Selection::default(),
            last_derive: None,
            worker: None,
            seq: 0,
            shown_seq: 0,
            requested: None,
            inbox: None,
        }
    }

    /// Show times on `clock` (set before the first snapshot: the observer's sentences are
    /// worded in its zone when a snapshot is prepared).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Prepare snapshots, sorts and filters on a thread of their own from now on: the UI
    /// thread then only swaps finished work in and never waits for it. `ready` is called (on the
    /// worker thread) each time a result is waiting, so the UI can wake and show it.
    pub fn start_worker(&mut self, ready: impl Fn() + Send + 'static) -> std::io::Result<()> {
        self.worker = Some(Worker::spawn(Box::new(ready))?);
        Ok(())
    }

    /// Whether work is prepared off the UI thread ([`App::start_worker`]).
    pub fn has_worker(&self) -> bool {
        self.worker.is_some()
    }

    fn params(&self) -> ViewParams {
        ViewParams {
            sort: self.sort,
            descending: self.descending,
            flow_filter: self.flow_filter.parsed.clone(),
            event_filter: self.event_filter.parsed.clone(),
        }
    }

    fn job(&mut self, snap: Arc<Snapshot>) -> Job {
        self.seq += 1;
        Job {
            seq: self.seq,
            snap,
            params: self.params(),
            selection: self.selection.clone(),
            zone: self.clock.zone().clone(),
        }
    }

    /// Whether the rows on screen are not yet those of the current sort and filter (the
    /// worker is preparing them; the previous rows stay until then).
    pub fn preparing(&self) -> bool {
        self.snap.is_some() && self.shown.as_ref() != Some(&self.params())
    }

    /// Take the newest snapshot at a pace the machine keeps up with. A new snapshot is taken
    /// when the previous one's work has been on screen for a while: at least a frame, and four
    /// times what preparing it cost, so that with a hundred thousand flows preparing takes at
    /// most about a fifth of a core. The last snapshot of a finished source is always taken.
    ///
    /// With a worker ([`App::start_worker`]) this only swaps in finished work and hands new
    /// work over: it never waits. Without one the work is done here, on the calling thread.
    pub fn sync_paced(&mut self, snap: &Arc<Snapshot>, now: Instant) {
        let due = self.last_derive.is_none_or(|(at, cost)| {
            now.duration_since(at) >= (cost * 4).max(Duration::from_millis(super::FRAME_MS))
        });
        if self.worker.is_none() {
            let new = self.snap.as_ref().is_none_or(|s| !Arc::ptr_eq(s, snap));
            if new && !due && !snap.finished {
                self.refresh();
                return;
            }
            let t = Instant::now();
            self.sync(snap);
            if new {
                self.last_derive = Some((now, t.elapsed()));
            }
            return;
        }
        self.receive();
        if self.worker.is_none() {
            // The worker ended (it cannot, short of a bug): carry on inline.
            self.sync(snap);
            return;
        }
        let params = self.params();
        let (asked_snap, asked_params, waiting) = match &self.requested {
            Some(r) => (Some(&r.snap), Some(&r.params), r.waiting),
            None => (self.snap.as_ref(), self.shown.as_ref(), false),
        };
        let new = asked_snap.is_none_or(|s| !Arc::ptr_eq(s, snap));
        let take_new = new && !waiting && (due || snap.finished);
        if take_new {
            self.last_derive = Some((now, self.last_derive.map_or(Duration::ZERO, |d| d.1)));
            self.submit(Arc::clone(snap));
        } else if asked_params != Some(&params) {
            // A sort or filter changed: redo the rows of the snapshot on screen.
            let s = self.snap.clone().unwrap_or_else(|| Arc::clone(snap));
            self.submit(s);
        }
    }

    /// Hand a job to the worker (it replaces one not yet started).
    fn submit(&mut self, snap: Arc<Snapshot>) {
        let job = self.job(Arc::clone(&snap));
        let params = job.params.clone();
        let seq = job.seq;
        if let Some(w) = &self.worker {
            w.submit(job);
            self.requested = Some(Requested {
                seq,
                snap,
                params,
                waiting: true,
            });
        }
    }

    /// Collect the worker's results and swap in the newest that is still current.
    fn receive(&mut self) {
        let Some(w) = &self.worker else { return };
        let (results, alive) = w.collect();
        for p in results {
            self.arrived(p);
        }
        if !alive {
            self.worker = None;
            self.requested = None;
        }
        let Some(p) = self.inbox.take() else { return };
        if p.seq <= self.shown_seq || p.params != self.params() {
            // Older than the screen, or for a sort/filter changed since (asked again).
            self.retire(p);
            return;
        }
        if let Some((at, _)) = self.last_derive {
            self.last_derive = Some((at, p.cost));
        }
        self.install(p);
    }

    fn arrived(&mut self, p: Prepared) {
        if let Some(r) = &mut self.requested {
            if r.seq == p.seq {
                r.waiting = false;
            }
        }
        match self.inbox.take() {
            Some(old) if old.seq > p.seq => {
                self.inbox = Some(old);
                self.retire(p);
            }
            Some(old) => {
                self.inbox = Some(p);
                self.retire(old);
            }
            None => self.inbox = Some(p),
        }
    }

    /// Wait up to `timeout` for the worker's answer to the latest request, and keep it for the
    /// next [`App::sync_paced`] to swap in; true when it is there (or nothing was asked). For
    /// tests, benchmarks and examples: the dashboard never waits for the worker.
    pub fn wait_ready(&mut self, timeout: Duration) -> bool {
        let until = Instant::now() + timeout;
        loop {
            match &self.requested {
                Some(r) if r.waiting => {}
                _ => return true,
            }
            let Some(w) = &self.worker else { return true };
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            match w.recv_timeout(left) {
                Some(p) => self.arrived(p),
                None => return !self.requested.as_ref().is_some_and(|r| r.waiting),
            }
        }
    }

    /// Put prepared work on screen, the selection kept on the same flow and event.
    fn install(&mut self, p: Prepared) {
        let same = p.selection == self.selection;
        let flow_pos = if same {
            p.flow_pos
        } else {
            self.selection.flow_in(&p.snap, &p.flow_rows)
        };
        let event_pos = if same {
            p.event_pos
        } else {
            self.selection.event_in(&p.snap, &p.event_rows)
        };
        let old = (
            self.snap.replace(p.snap),
            std::mem::replace(&mut self.derived, p.derived),
            std::mem::replace(&mut self.flow_rows, p.flow_rows),
            std::mem::replace(&mut self.event_rows, p.event_rows),
        );
        self.shown = Some(p.params);
        self.shown_seq = p.seq;
        if let Some(pos) = flow_pos {
            self.flows.selected = pos;
        }
        self.flows.selected = self
            .flows
            .selected
            .min(self.flow_rows.len().saturating_sub(1));
        if let Some(pos) = event_pos {
            self.events.selected = pos;
        }
        self.events.selected = self
            .events
            .selected
            .min(self.event_rows.len().saturating_sub(1));
        self.retire(old);
    }

    /// Let the worker free what left the screen (the last reference to an old snapshot can
    /// be a hundred thousand records), so the UI thread does not.
    fn retire<T: Send + 'static>(&self, t: T) {
        match &self.worker {
            Some(w) => w.retire(Box::new(t)),
            None => drop(t),
        }
    }

    /// The snapshot the tabs show (the status bar shows the newest).
    pub fn view(&self) -> Option<&Arc<Snapshot>> {
        self.snap.as_ref()
    }

    /// Take a snapshot (cheap when it is the one already seen) and bring derived work and rows
    /// up to date now, on this thread, whether or not a worker runs: the deterministic path of
    /// tests and benchmarks.
    pub fn sync(&mut self, snap: &Arc<Snapshot>) {
        let new = self.snap.as_ref().is_none_or(|s| !Arc::ptr_eq(s, snap));
        if !new && self.shown.as_ref() == Some(&self.params()) {
            return;
        }
        let derived = (!new).then(|| Arc::clone(&self.derived));
        let job = self.job(Arc::clone(snap));
        let p = prepare(job, derived);
        self.install(p);
    }

    fn remember_selection(&mut self) {
        let Some(snap) = &self.snap else { return };
        self.selection.flow = self
            .flow_rows
            .get(self.flows.selected)
            .and_then(|&i| snap.flows.get(i as usize))
            .map(|r| r.flow_ref());
        self.selection.event = self
            .event_rows
            .get(self.events.selected)
            .and_then(|&i| snap.events.get(i as usize))
            .map(|e| (e.kind, e.start_ts));
    }

    pub fn derived(&self) -> &Derived {
        &self.derived
    }

    /// Indexes into the snapshot's flows, filtered and sorted.
    pub fn flow_rows(&self) -> &[u32] {
        &self.flow_rows
    }

    /// Indexes into the snapshot's events, filtered.
    pub fn event_rows(&self) -> &[u32] {
        &self.event_rows
    }

    /// The selected flow, if any.
    pub fn selected_flow<'s>(&self, snap: &'s Snapshot) -> Option<&'s FlowRecord> {
        self.flow_rows
            .get(self.flows.selected)
            .and_then(|&i| snap.flows.get(i as usize))
            .map(|a| a.as_ref())
    }

    /// The selected event, if any.
    pub fn selected_event<'s>(&self, snap: &'s Snapshot) -> Option<&'s Event> {
        self.event_rows
            .get(self.events.selected)
            .and_then(|&i| snap.events.get(i as usize))
    }

    /// Redo the rows when the sort or filter changed (keys between snapshots): handed to the
    /// worker when there is one (the rows on screen stay until it answers), done here otherwise.
    fn refresh(&mut self) {
        let Some(snap) = self.snap.clone() else {
            return;
        };
        if self.worker.is_none() {
            self.sync(&snap);
            return;
        }
        let asked = self
            .requested
            .as_ref()
            .map(|r| &r.params)
            .or(self.shown.as_ref());
        if asked != Some(&self.params()) {
            self.submit(snap);
        }
    }
}
