//! The dashboard's state and what keys do to it, apart from drawing: tabs, selections, the flow
//! table's sort and filter, the timeline's zoom and scroll, and the work derived from each
//! snapshot.
//!
//! Everything costly (filtering and sorting flows, counting, placing countries, lanes) is done
//! once per snapshot or per change of sort/filter, never per frame, so drawing only reads
//! prepared rows and renders the visible ones. That work is one function ([`prepare`]) run on
//! the dashboard's worker thread ([`App::start_worker`], [`App::sync_paced`]) or inline
//! ([`App::sync`], for tests); the UI thread swaps the finished work in whole, keeping the
//! selection on the same flow and event, and drops results made for a sort or filter that has
//! changed since.

use std::cell::Cell;
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::filter::{self, Filter, FilterError};
use super::places::{self, Centroid};
use super::worker::Worker;
use crate::model::{Event, EventKind, FlowRecord, FlowRef, PeerKind, Role};
use crate::session::{Control, Snapshot, SourceKind, Speed};

/// The tabs, in the order of the tab bar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tab {
    Observer,
    Timeline,
    Flows,
    Events,
    Map,
    Help,
}

impl Tab {
    pub const ALL: [Tab; 6] = [
        Tab::Observer,
        Tab::Timeline,
        Tab::Flows,
        Tab::Events,
        Tab::Map,
        Tab::Help,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Tab::Observer => "Observer",
            Tab::Timeline => "Timeline",
            Tab::Flows => "Flows",
            Tab::Events => "Events",
            Tab::Map => "Map",
            Tab::Help => "Help",
        }
    }

    /// The key that opens it.
    pub fn key(self) -> char {
        match self {
            Tab::Observer => '1',
            Tab::Timeline => '2',
            Tab::Flows => '3',
            Tab::Events => '4',
            Tab::Map => '5',
            Tab::Help => '?',
        }
    }

    pub fn index(self) -> usize {
        Tab::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }
}

/// Columns of the flow table; every one sorts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlowCol {
    Start,
    Proto,
    Client,
    Server,
    Service,
    Role,
    Country,
    Packets,
    Bytes,
    Duration,
}

impl FlowCol {
    pub const ALL: [FlowCol; 10] = [
        FlowCol::Start,
        FlowCol::Proto,
        FlowCol::Client,
        FlowCol::Server,
        FlowCol::Service,
        FlowCol::Role,
        FlowCol::Country,
        FlowCol::Packets,
        FlowCol::Bytes,
        FlowCol::Duration,
    ];

    pub fn title(self) -> &'static str {
        match self {
            FlowCol::Start => "Start",
            FlowCol::Proto => "Proto",
            FlowCol::Client => "Client",
            FlowCol::Server => "Server",
            FlowCol::Service => "Service",
            FlowCol::Role => "Role",
            FlowCol::Country => "Cc",
            FlowCol::Packets => "Pkts",
            FlowCol::Bytes => "Bytes",
            FlowCol::Duration => "Dur",
        }
    }

    fn next(self) -> Self {
        let i = FlowCol::ALL.iter().position(|c| *c == self).unwrap_or(0);
        FlowCol::ALL[(i + 1) % FlowCol::ALL.len()]
    }

    /// Order of two flows by this column (ties are left to the caller's stable sort).
    pub fn compare(self, a: &FlowRecord, b: &FlowRecord) -> Ordering {
        let s = |o: &Option<String>| o.as_deref().unwrap_or("").to_ascii_lowercase();
        match self {
            FlowCol::Start => a.first_ts.total_cmp(&b.first_ts),
            FlowCol::Proto => a.proto.to_string().cmp(&b.proto.to_string()),
            FlowCol::Client => endpoint_order(a.client, b.client),
            FlowCol::Server => endpoint_order(a.server, b.server),
            // Unnamed flows sort after named ones in ascending order.
            FlowCol::Service => match (&a.service, &b.service) {
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                _ => s(&a.service).cmp(&s(&b.service)),
            },
            FlowCol::Role => a
                .service_role
                .map_or("~", Role::as_str)
                .cmp(b.service_role.map_or("~", Role::as_str)),
            FlowCol::Country => match (&a.country, &b.country) {
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                _ => a.country.cmp(&b.country),
            },
            FlowCol::Packets => {
                (a.packets_up + a.packets_down).cmp(&(b.packets_up + b.packets_down))
            }
            FlowCol::Bytes => (a.bytes_up + a.bytes_down).cmp(&(b.bytes_up + b.bytes_down)),
            FlowCol::Duration => (a.last_ts - a.first_ts).total_cmp(&(b.last_ts - b.first_ts)),
        }
    }
}

/// A flow's sort key for one column, computed once per row so that sorting 100,000 flows
/// compares plain values instead of parsing addresses or lowercasing names per comparison.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SortKey {
    /// Absent values (no service, no country) sort after present ones.
    rank: u8,
    num: u128,
    port: u16,
    text: String,
}

/// `f64` bits mapped so that unsigned order is `total_cmp` order.
fn f64_key(x: f64) -> u128 {
    let b = x.to_bits();
    u128::from(if b >> 63 == 1 { !b } else { b | (1 << 63) })
}

fn endpoint_key(a: std::net::SocketAddr) -> SortKey {
    SortKey {
        rank: u8::from(a.is_ipv6()),
        num: match a.ip() {
            std::net::IpAddr::V4(v) => u128::from(u32::from(v)),
            std::net::IpAddr::V6(v) => u128::from(v),
        },
        port: a.port(),
        text: String::new(),
    }
}

impl FlowCol {
    /// The key this column sorts by; ordering keys orders flows as [`FlowCol::compare`].
    pub fn key(self, r: &FlowRecord) -> SortKey {
        let num = |n: u128| SortKey {
            rank: 0,
            num: n,
            port: 0,
            text: String::new(),
        };
        let text = |o: Option<&str>| SortKey {
            rank: u8::from(o.is_none()),
            num: 0,
            port: 0,
            text: o.unwrap_or("").to_ascii_lowercase(),
        };
        match self {
            FlowCol::Start => num(f64_key(r.first_ts)),
            FlowCol::Proto => text(Some(&r.proto.to_string())),
            FlowCol::Client => endpoint_key(r.client),
            FlowCol::Server => endpoint_key(r.server),
            FlowCol::Service => text(r.service.as_deref()),
            FlowCol::Role => text(r.service_role.map(Role::as_str)),
            FlowCol::Country => text(r.country.as_deref()),
            FlowCol::Packets => num(u128::from(r.packets_up + r.packets_down)),
            FlowCol::Bytes => num(u128::from(r.bytes_up + r.bytes_down)),
            FlowCol::Duration => num(f64_key(r.last_ts - r.first_ts)),
        }
    }
}

/// Endpoints ordered by address, then port.
fn endpoint_order(x: std::net::SocketAddr, y: std::net::SocketAddr) -> Ordering {
    x.ip().cmp(&y.ip()).then(x.port().cmp(&y.port()))
}

/// A list's cursor. `offset` (first visible row) and `page` (visible rows) are written while
/// drawing, which is the only place that knows the height.
#[derive(Debug, Default)]
pub struct ListNav {
    pub selected: usize,
    pub offset: Cell<usize>,
    pub page: Cell<usize>,
}

impl ListNav {
    fn step(&mut self, delta: isize, len: usize) {
        if len == 0 {
            self.selected = 0;
            return;
        }
        let s = self.selected as isize + delta;
        self.selected = s.clamp(0, len as isize - 1) as usize;
    }

    /// The first row to draw so that the selection is visible in `height` rows.
    pub fn visible_from(&self, height: usize, len: usize) -> usize {
        self.page.set(height.max(1));
        let mut off = self.offset.get();
        if self.selected < off {
            off = self.selected;
        } else if height > 0 && self.selected >= off + height {
            off = self.selected + 1 - height;
        }
        off = off.min(len.saturating_sub(height.max(1)));
        self.offset.set(off);
        off
    }
}

/// A filter line being typed or in force.
#[derive(Debug, Default)]
pub struct FilterLine {
    pub text: String,
    pub parsed: Filter,
    pub error: Option<FilterError>,
}

impl FilterLine {
    fn set(&mut self, text: String) {
        match filter::parse(&text) {
            Ok(f) => {
                self.parsed = f;
                self.error = None;
            }
            Err(e) => {
                // A half-typed filter keeps nothing out until it parses.
                self.parsed = Filter::default();
                self.error = Some(e);
            }
        }
        self.text = text;
    }
}

/// Which list a filter edit goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListKind {
    Flows,
    Events,
}

/// The timeline's window: `None` span follows the whole capture.
#[derive(Debug, Default)]
pub struct Timeline {
    /// Seconds shown across the width; `None` fits the capture.
    pub span: Option<f64>,
    /// Start of the window, seconds after the first packet.
    pub start: f64,
    /// First lane drawn.
    pub lane_offset: usize,
}

/// Narrowest window the timeline zooms to (one character is then a fraction of a second, the
/// scale at which a message exchange's records separate).
const MIN_SPAN_SECS: f64 = 2.0;

impl Timeline {
    /// The window (capture time) for a capture from `first` to `last`.
    pub fn window(&self, first: f64, last: f64) -> (f64, f64) {
        let whole = (last - first).max(1.0);
        match self.span {
            None => (first, first + whole),
            Some(span) => (first + self.start, first + self.start + span),
        }
    }

    fn zoom(&mut self, factor: f64, first: f64, last: f64) {
        let (t0, t1) = self.window(first, last);
        let whole = (last - first).max(1.0);
        let span = ((t1 - t0) * factor).clamp(MIN_SPAN_SECS, whole.max(MIN_SPAN_SECS));
        let centre = (t0 + t1) / 2.0 - first;
        if factor > 1.0 && span >= whole {
            self.span = None;
            self.start = 0.0;
            return;
        }
        self.span = Some(span);
        self.start = (centre - span / 2.0).clamp(0.0, (whole - span).max(0.0));
    }

    fn scroll(&mut self, frac: f64, first: f64, last: f64) {
        let whole = (last - first).max(1.0);
        let span = self.span.unwrap_or(whole);
        if self.span.is_none() {
            return;
        }
        self.start = (self.start + span * frac).clamp(0.0, (whole - span).max(0.0));
    }
}

/// What the status bar and the Observer tab count.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    pub services: usize,
    pub messages_out: usize,
    pub messages_in: usize,
    pub voice_calls: usize,
    pub video_calls: usize,
    pub call_attempts: usize,
    pub media_up: usize,
    pub media_down: usize,
    pub media_bytes: u64,
    pub bytes: u64,
}

/// A country the traffic goes to.
#[derive(Clone, Debug, PartialEq)]
pub struct Place {
    pub code: String,
    pub centroid: Option<Centroid>,
    pub flows: usize,
    pub bytes: u64,
    /// Calls through a relay server there, and calls direct to a peer there.
    pub relays: usize,
    pub directs: usize,
    /// The service with most bytes there.
    pub top_service: Option<String>,
}

/// One timeline lane: a service, its events, and when its flows were open.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Lane {
    pub service: String,
    /// Indexes into the snapshot's events.
    pub events: Vec<u32>,
    /// Merged (start, end) spans of the service's flows, sorted.
    pub activity: Vec<(f64, f64)>,
}

/// Work derived from one snapshot.
#[derive(Debug, Default, PartialEq)]
pub struct Derived {
    pub counters: Counters,
    pub places: Vec<Place>,
    pub lanes: Vec<Lane>,
    /// Flow reference ("proto client server first_ts") → ids of the events resting on it.
    pub flow_events: HashMap<FlowRef, Vec<u64>>,
    pub first_ts: f64,
    pub last_ts: f64,
}

fn derive(snap: &Snapshot) -> Derived {
    let mut d = Derived::default();
    let mut services: BTreeMap<&str, (usize, Vec<u32>)> = BTreeMap::new();
    let mut bytes_by_flows = 0u64;
    let mut places: BTreeMap<&str, (Place, BTreeMap<&str, u64>)> = BTreeMap::new();
    let mut spans: BTreeMap<&str, Vec<(f64, f64)>> = BTreeMap::new();
    for f in &snap.flows {
        let b = f.bytes_up + f.bytes_down;
        bytes_by_flows += b;
        if let Some(s) = f.service.as_deref() {
            services.entry(s).or_default();
            spans.entry(s).or_default().push((f.first_ts, f.last_ts));
        }
        if let Some(c) = f.country.as_deref() {
            let (p, svc) = places.entry(c).or_insert_with(|| {
                (
                    Place {
                        code: c.to_string(),
                        centroid: places::centroid(c),
                        flows: 0,
                        bytes: 0,
                        relays: 0,
                        directs: 0,
                        top_service: None,
                    },
                    BTreeMap::new(),
                )
            });
            p.flows += 1;
            p.bytes += b;
            if let Some(s) = f.service.as_deref() {
                *svc.entry(s).or_default() += b;
            }
        }
    }
    let c = &mut d.counters;
    for (i, e) in snap.events.iter().enumerate() {
        match e.kind {
            EventKind::MessageOut => c.messages_out += 1,
            EventKind::MessageIn => c.messages_in += 1,
            EventKind::VoiceCall => c.voice_calls += 1,
            EventKind::VideoCall => c.video_calls += 1,
            EventKind::CallAttempt => c.call_attempts += 1,
            EventKind::MediaUpload => c.media_up += 1,
            EventKind::MediaDownload => c.media_down += 1,
            _ => {}
        }
        if e.kind.is_media() {
            c.media_bytes += e.bytes_out + e.bytes_in;
        }
        if let Some(s) = e.service.as_deref() {
            let entry = services.entry(s).or_default();
            entry.0 += 1;
            entry.1.push(i as u32);
        }
        if let (Some(kind), Some(cc)) = (e.peer_kind, e.peer_country.as_deref()) {
            if let Some((p, _)) = places.get_mut(cc) {
                match kind {
                    PeerKind::Relay => p.relays += 1,
                    PeerKind::Direct => p.directs += 1,
                }
            }
        }
        for f in &e.flows {
            d.flow_events.entry(*f).or_default().push(e.id);
        }
    }
    c.services = services.len();
    c.bytes = if snap.bytes > 0 {
        snap.bytes
    } else {
        bytes_by_flows
    };
    let mut lanes: Vec<(usize, Lane)> = services
        .into_iter()
        .map(|(s, (n, events))| {
            let mut spans = spans.remove(s).unwrap_or_default();
            spans.sort_by(|a, b| a.0.total_cmp(&b.0));
            let mut merged: Vec<(f64, f64)> = Vec::new();
            for (a, b) in spans {
                match merged.last_mut() {
                    Some(last) if a <= last.1 => last.1 = last.1.max(b),
                    _ => merged.push((a, b)),
                }
            }
            (
                n,
                Lane {
                    service: s.to_string(),
                    events,
                    activity: merged,
                },
            )
        })
        .collect();
    // Services with the most events first; then by name.
    lanes.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.service.cmp(&b.1.service)));
    d.lanes = lanes.into_iter().map(|(_, l)| l).collect();
    let mut places: Vec<Place> = places
        .into_values()
        .map(|(mut p, svc)| {
            p.top_service = svc
                .into_iter()
                .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))
                .map(|(s, _)| s.to_string());
            p
        })
        .collect();
    places.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.code.cmp(&b.code)));
    d.places = places;
    d.first_ts = snap
        .first_ts
        .or_else(|| snap.flows.iter().map(|f| f.first_ts).reduce(f64::min))
        .unwrap_or(0.0);
    d.last_ts = snap
        .position_ts
        .or_else(|| snap.flows.iter().map(|f| f.last_ts).reduce(f64::max))
        .unwrap_or(d.first_ts);
    d
}

/// What a key asks of the program beyond the dashboard's own state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Quit,
    Session(Control),
}

/// Identity of a flow, to keep it selected while new snapshots arrive.
pub(super) type FlowKey = FlowRef;

/// What the rows depend on besides the snapshot: rows made for other parameters are stale.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct ViewParams {
    sort: FlowCol,
    descending: bool,
    flow_filter: Filter,
    event_filter: Filter,
}

/// The selected flow and event by identity, to find them again in new rows.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct Selection {
    flow: Option<FlowKey>,
    event: Option<(EventKind, f64)>,
}

impl Selection {
    fn flow_in(&self, snap: &Snapshot, rows: &[u32]) -> Option<usize> {
        let k = self.flow.as_ref()?;
        rows.iter().position(|&i| *k == snap.flows[i as usize].flow_ref())
    }

    fn event_in(&self, snap: &Snapshot, rows: &[u32]) -> Option<usize> {
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
    params: ViewParams,
    selection: Selection,
}

/// Everything the tabs read for one snapshot and one set of view parameters, prepared in one go
/// (on the worker thread in the dashboard, inline by [`App::sync`]) and swapped in whole, so the
/// snapshot, its derived work and its rows always belong together.
#[derive(Debug)]
pub(super) struct Prepared {
    pub(super) seq: u64,
    pub(super) snap: Arc<Snapshot>,
    pub(super) derived: Arc<Derived>,
    params: ViewParams,
    flow_rows: Vec<u32>,
    event_rows: Vec<u32>,
    /// The selection the job was given, and where it is in the rows.
    selection: Selection,
    flow_pos: Option<usize>,
    event_pos: Option<usize>,
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
    } = job;
    let derived = derived.unwrap_or_else(|| Arc::new(derive(&snap)));
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

    /// Answer a key. Returns what the program must do besides redrawing.
    pub fn on_key(&mut self, key: KeyEvent) -> Option<Action> {
        if key.kind == KeyEventKind::Release {
            return None;
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl && matches!(key.code, KeyCode::Char('c' | 'q')) {
            return Some(Action::Quit);
        }
        if let Some(list) = self.editing {
            self.edit_filter(list, key);
            return None;
        }
        let replay = self
            .snap
            .as_ref()
            .is_some_and(|s| s.kind != SourceKind::Live);
        let speed = self.snap.as_ref().map_or(Speed::X1, |s| s.speed);
        match key.code {
            KeyCode::Char('q') => return Some(Action::Quit),
            KeyCode::Esc if self.tab == Tab::Help => self.tab = self.back,
            KeyCode::Tab => self.go(Tab::ALL[(self.tab.index() + 1) % Tab::ALL.len()]),
            KeyCode::BackTab => {
                self.go(Tab::ALL[(self.tab.index() + Tab::ALL.len() - 1) % Tab::ALL.len()]);
            }
            KeyCode::Char('?') | KeyCode::F(1) => {
                if self.tab == Tab::Help {
                    self.tab = self.back;
                } else {
                    self.go(Tab::Help);
                }
            }
            KeyCode::Char(c @ '1'..='5') => {
                if let Some(t) = Tab::ALL.iter().find(|t| t.key() == c) {
                    self.go(*t);
                }
            }
            KeyCode::Char(' ') | KeyCode::Char('p') if replay => {
                return Some(Action::Session(Control::TogglePause));
            }
            KeyCode::Char('>') | KeyCode::Char('.') if replay => {
                return Some(Action::Session(Control::SetSpeed(faster(speed))));
            }
            KeyCode::Char('<') | KeyCode::Char(',') if replay => {
                return Some(Action::Session(Control::SetSpeed(slower(speed))));
            }
            KeyCode::F(n @ 5..=8) if replay => {
                let s = [Speed::X1, Speed::X10, Speed::X100, Speed::Max][usize::from(n - 5)];
                return Some(Action::Session(Control::SetSpeed(s)));
            }
            KeyCode::Char('E') if replay => return Some(Action::Session(Control::JumpToEnd)),
            _ => self.tab_key(key),
        }
        None
    }

    fn go(&mut self, t: Tab) {
        if t == Tab::Help && self.tab != Tab::Help {
            self.back = self.tab;
        }
        self.tab = t;
    }

    fn tab_key(&mut self, key: KeyEvent) {
        match self.tab {
            Tab::Flows | Tab::Map => self.list_key(ListKind::Flows, key),
            Tab::Events => self.list_key(ListKind::Events, key),
            Tab::Timeline => self.timeline_key(key),
            Tab::Observer | Tab::Help => {}
        }
    }

    fn list_key(&mut self, list: ListKind, key: KeyEvent) {
        let (len, nav) = match list {
            ListKind::Flows => (self.flow_rows.len(), &mut self.flows),
            ListKind::Events => (self.event_rows.len(), &mut self.events),
        };
        let page = nav.page.get().max(1) as isize;
        match key.code {
            KeyCode::Up | KeyCode::Char('k') => nav.step(-1, len),
            KeyCode::Down | KeyCode::Char('j') => nav.step(1, len),
            KeyCode::PageUp => nav.step(-page, len),
            KeyCode::PageDown => nav.step(page, len),
            KeyCode::Home | KeyCode::Char('g') => nav.selected = 0,
            KeyCode::End | KeyCode::Char('G') => nav.selected = len.saturating_sub(1),
            KeyCode::Char('/') if self.tab != Tab::Map => self.editing = Some(list),
            KeyCode::Esc => {
                self.filter_of(list).set(String::new());
            }
            KeyCode::Char('s') if list == ListKind::Flows => {
                self.sort = self.sort.next();
            }
            KeyCode::Char('S') if list == ListKind::Flows => {
                self.descending = !self.descending;
            }
            _ => {}
        }
        self.remember_selection();
        self.refresh();
    }

    fn filter_of(&mut self, list: ListKind) -> &mut FilterLine {
        match list {
            ListKind::Flows => &mut self.flow_filter,
            ListKind::Events => &mut self.event_filter,
        }
    }

    fn edit_filter(&mut self, list: ListKind, key: KeyEvent) {
        let mut text = self.filter_of(list).text.clone();
        match key.code {
            KeyCode::Enter => {
                self.editing = None;
                return;
            }
            KeyCode::Esc => {
                self.editing = None;
                text.clear();
            }
            KeyCode::Backspace => {
                text.pop();
            }
            KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => text.clear(),
            KeyCode::Char(c) => text.push(c),
            _ => return,
        }
        self.filter_of(list).set(text);
        self.refresh();
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

    fn timeline_key(&mut self, key: KeyEvent) {
        let (first, last) = (self.derived.first_ts, self.derived.last_ts);
        let lanes = self.derived.lanes.len();
        let t = &mut self.timeline;
        match key.code {
            KeyCode::Char('+') | KeyCode::Char('=') => t.zoom(0.5, first, last),
            KeyCode::Char('-') | KeyCode::Char('_') => t.zoom(2.0, first, last),
            KeyCode::Left | KeyCode::Char('h') => t.scroll(-0.25, first, last),
            KeyCode::Right | KeyCode::Char('l') => t.scroll(0.25, first, last),
            KeyCode::Char('0') => *t = Timeline::default(),
            KeyCode::Up | KeyCode::Char('k') => t.lane_offset = t.lane_offset.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => {
                t.lane_offset = (t.lane_offset + 1).min(lanes.saturating_sub(1));
            }
            _ => {}
        }
    }
}

fn faster(s: Speed) -> Speed {
    match s {
        Speed::X1 => Speed::X10,
        Speed::X10 => Speed::X100,
        Speed::X100 | Speed::Max => Speed::Max,
    }
}

fn slower(s: Speed) -> Speed {
    match s {
        Speed::Max => Speed::X100,
        Speed::X100 => Speed::X10,
        Speed::X10 | Speed::X1 => Speed::X1,
    }
}

/// "x1", "x10", "x100", "max".
pub fn speed_label(s: Speed) -> &'static str {
    match s {
        Speed::X1 => "x1",
        Speed::X10 => "x10",
        Speed::X100 => "x100",
        Speed::Max => "max",
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::model::{Direction, Proto};
    use crossterm::event::KeyEvent;

    fn flow(i: u32, service: Option<&str>, country: Option<&str>, bytes: u64) -> FlowRecord {
        FlowRecord {
            proto: if i % 2 == 0 { Proto::TCP } else { Proto::UDP },
            client: format!("192.168.1.{}:4000{}", 10 + i, i % 10).parse().unwrap(),
            server: format!("10.0.{}.{}:443", i % 3, 200 - i).parse().unwrap(),
            first_ts: 1000.0 + f64::from(i),
            last_ts: 1000.0 + f64::from(i) + f64::from(10 - i % 10),
            packets_up: u64::from(i),
            packets_down: 1,
            bytes_up: bytes,
            bytes_down: 0,
            end_reason: "idle",
            service: service.map(str::to_string),
            service_role: service.map(|_| Role::Chat),
            confidence: 0.5,
            country: country.map(str::to_string),
            ..Default::default()
        }
    }

    fn snapshot(flows: Vec<FlowRecord>) -> Arc<Snapshot> {
        Arc::new(Snapshot {
            kind: SourceKind::Replay,
            source: "t.pcap".into(),
            first_ts: Some(1000.0),
            position_ts: Some(1100.0),
            packets: 0,
            bytes: 0,
            pps: 0.0,
            kernel_drops: None,
            flows: flows.into_iter().map(Arc::new).collect(),
            events: Vec::new(),
            findings: Vec::new(),
            flows_dropped: 0,
            speed: Speed::X1,
            paused: false,
            finished: false,
            error: None,
        })
    }

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    fn sample() -> Arc<Snapshot> {
        snapshot(vec![
            flow(0, Some("WhatsApp"), Some("US"), 500),
            flow(1, Some("Signal"), Some("DE"), 9000),
            flow(2, None, None, 50),
            flow(3, Some("WhatsApp"), Some("PT"), 7000),
        ])
    }

    fn services(app: &App, snap: &Snapshot) -> Vec<Option<String>> {
        app.flow_rows()
            .iter()
            .map(|&i| snap.flows[i as usize].service.clone())
            .collect()
    }

    #[test]
    fn sorts_by_any_column_both_ways() {
        let snap = sample();
        let mut app = App::new(true);
        app.tab = Tab::Flows;
        app.sync(&snap);
        assert_eq!(app.flow_rows(), &[0, 1, 2, 3], "start time order");
        app.sort = FlowCol::Bytes;
        app.sync(&snap);
        assert_eq!(app.flow_rows(), &[2, 0, 3, 1]);
        app.on_key(key(KeyCode::Char('S')));
        assert_eq!(app.flow_rows(), &[1, 3, 0, 2], "S reverses");
        app.sort = FlowCol::Service;
        app.descending = false;
        app.sync(&snap);
        // Named services first, alphabetically; ties keep start order; unnamed last.
        assert_eq!(app.flow_rows(), &[1, 0, 3, 2]);
        // Every column gives a total order that puts different flows in a defined place.
        for c in FlowCol::ALL {
            app.sort = c;
            app.sync(&snap);
            let mut seen = app.flow_rows().to_vec();
            seen.sort_unstable();
            assert_eq!(seen, vec![0, 1, 2, 3], "{c:?} keeps every row");
        }
    }

    #[test]
    fn sort_keys_order_as_compare_does() {
        let mut flows: Vec<FlowRecord> = (0..12)
            .map(|i| {
                flow(
                    i,
                    [Some("b"), None, Some("A")][i as usize % 3],
                    None,
                    u64::from(i * 37 % 11),
                )
            })
            .collect();
        flows[3].server = "[2001:db8::1]:443".parse().unwrap();
        flows[4].server = "10.0.0.9:80".parse().unwrap();
        flows[5].server = "9.0.0.1:443".parse().unwrap();
        flows[6].first_ts = -1.0;
        for c in FlowCol::ALL {
            for a in &flows {
                for b in &flows {
                    assert_eq!(c.key(a).cmp(&c.key(b)), c.compare(a, b), "{c:?}");
                }
            }
        }
    }

    #[test]
    fn s_steps_through_every_column() {
        let snap = sample();
        let mut app = App::new(true);
        app.tab = Tab::Flows;
        app.sync(&snap);
        let mut seen = vec![app.sort];
        for _ in 1..FlowCol::ALL.len() {
            app.on_key(key(KeyCode::Char('s')));
            seen.push(app.sort);
        }
        assert_eq!(seen, FlowCol::ALL.to_vec());
        app.on_key(key(KeyCode::Char('s')));
        assert_eq!(app.sort, FlowCol::Start, "wraps around");
    }

    #[test]
    fn typing_a_filter_narrows_rows_and_esc_clears() {
        let snap = sample();
        let mut app = App::new(true);
        app.tab = Tab::Flows;
        app.sync(&snap);
        app.on_key(key(KeyCode::Char('/')));
        assert_eq!(app.editing, Some(ListKind::Flows));
        for c in "service:whatsapp".chars() {
            app.on_key(key(KeyCode::Char(c)));
        }
        assert_eq!(services(&app, &snap).len(), 2);
        assert!(
            services(&app, &snap)
                .iter()
                .all(|s| s.as_deref() == Some("WhatsApp"))
        );
        // 'q' while typing is text, not quit.
        assert_eq!(app.on_key(key(KeyCode::Char(' '))), None);
        for c in "country:pt".chars() {
            assert_eq!(app.on_key(key(KeyCode::Char(c))), None);
        }
        assert_eq!(app.flow_rows(), &[3]);
        app.on_key(key(KeyCode::Enter));
        assert_eq!(app.editing, None);
        assert_eq!(app.flow_rows(), &[3], "Enter keeps the filter");
        app.on_key(key(KeyCode::Esc));
        assert_eq!(app.flow_rows().len(), 4, "Esc clears it");
        // A bad key shows an error and hides nothing.
        app.on_key(key(KeyCode::Char('/')));
        for c in "colour:red".chars() {
            app.on_key(key(KeyCode::Char(c)));
        }
        assert!(app.flow_filter.error.is_some());
        assert_eq!(app.flow_rows().len(), 4);
    }

    #[test]
    fn selection_follows_the_flow_across_snapshots_and_sorts() {
        let snap = sample();
        let mut app = App::new(true);
        app.tab = Tab::Flows;
        app.sync(&snap);
        app.on_key(key(KeyCode::Down));
        app.on_key(key(KeyCode::Down));
        assert_eq!(app.selected_flow(&snap).map(|f| f.first_ts), Some(1002.0));
        app.on_key(key(KeyCode::Char('S')));
        assert_eq!(
            app.selected_flow(&snap).map(|f| f.first_ts),
            Some(1002.0),
            "reversing keeps the same flow selected"
        );
        // A newer snapshot with a flow that sorts before it.
        let mut flows: Vec<FlowRecord> = snap.flows.iter().map(|f| (**f).clone()).collect();
        flows.push(flow(4, Some("Telegram"), Some("NL"), 1));
        let next = snapshot(flows);
        app.sync(&next);
        assert_eq!(app.selected_flow(&next).map(|f| f.first_ts), Some(1002.0));
        // Moving past either end stays on the list.
        for _ in 0..10 {
            app.on_key(key(KeyCode::Down));
        }
        assert_eq!(app.flows.selected, 4);
        app.on_key(key(KeyCode::Home));
        assert_eq!(app.flows.selected, 0);
    }

    #[test]
    fn keys_switch_tabs_control_the_replay_and_quit() {
        let snap = sample();
        let mut app = App::new(true);
        app.sync(&snap);
        app.on_key(key(KeyCode::Char('3')));
        assert_eq!(app.tab, Tab::Flows);
        app.on_key(key(KeyCode::Tab));
        assert_eq!(app.tab, Tab::Events);
        app.on_key(key(KeyCode::BackTab));
        app.on_key(key(KeyCode::BackTab));
        assert_eq!(app.tab, Tab::Timeline);
        app.on_key(key(KeyCode::Char('?')));
        assert_eq!(app.tab, Tab::Help);
        app.on_key(key(KeyCode::Esc));
        assert_eq!(app.tab, Tab::Timeline, "help returns where it came from");
        assert_eq!(
            app.on_key(key(KeyCode::Char(' '))),
            Some(Action::Session(Control::TogglePause))
        );
        assert_eq!(
            app.on_key(key(KeyCode::Char('>'))),
            Some(Action::Session(Control::SetSpeed(Speed::X10)))
        );
        assert_eq!(
            app.on_key(key(KeyCode::F(8))),
            Some(Action::Session(Control::SetSpeed(Speed::Max)))
        );
        assert_eq!(
            app.on_key(key(KeyCode::Char('E'))),
            Some(Action::Session(Control::JumpToEnd))
        );
        assert_eq!(app.on_key(key(KeyCode::Char('q'))), Some(Action::Quit));
        assert_eq!(
            app.on_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(Action::Quit)
        );
    }

    #[test]
    fn live_ignores_replay_keys() {
        let mut s = (*sample()).clone();
        s.kind = SourceKind::Live;
        let snap = Arc::new(s);
        let mut app = App::new(true);
        app.sync(&snap);
        assert_eq!(app.on_key(key(KeyCode::Char(' '))), None);
        assert_eq!(app.on_key(key(KeyCode::Char('E'))), None);
    }

    #[test]
    fn timeline_zooms_scrolls_and_fits() {
        let snap = sample();
        let mut app = App::new(true);
        app.tab = Tab::Timeline;
        app.sync(&snap);
        assert_eq!(app.timeline.window(1000.0, 1100.0), (1000.0, 1100.0));
        app.on_key(key(KeyCode::Char('+')));
        assert_eq!(app.timeline.window(1000.0, 1100.0), (1025.0, 1075.0));
        app.on_key(key(KeyCode::Right));
        let (a, b) = app.timeline.window(1000.0, 1100.0);
        assert!((a - 1037.5).abs() < 1e-9 && (b - 1087.5).abs() < 1e-9);
        for _ in 0..10 {
            app.on_key(key(KeyCode::Right));
        }
        assert_eq!(
            app.timeline.window(1000.0, 1100.0),
            (1050.0, 1100.0),
            "scrolling stops at the end"
        );
        for _ in 0..20 {
            app.on_key(key(KeyCode::Char('+')));
        }
        let (a, b) = app.timeline.window(1000.0, 1100.0);
        assert!(
            (b - a - MIN_SPAN_SECS).abs() < 1e-9,
            "zoom stops at the minimum"
        );
        app.on_key(key(KeyCode::Char('0')));
        assert_eq!(app.timeline.span, None);
        app.on_key(key(KeyCode::Char('+')));
        app.on_key(key(KeyCode::Char('-')));
        assert_eq!(
            app.timeline.span, None,
            "zooming out to the whole capture fits it"
        );
    }

    fn event(i: u32, service: &str, kind: EventKind, flow: &FlowRecord) -> Event {
        Event {
            id: u64::from(i) + 1,
            kind,
            service: Some(service.into()),
            start_ts: flow.first_ts + 0.5,
            end_ts: flow.first_ts + 1.5,
            direction: Direction::Out,
            bytes_out: u64::from(i) * 100,
            bytes_in: 10,
            packets_out: 2,
            packets_in: 1,
            flows: vec![flow.flow_ref()],
            peer_ip: None,
            peer_asn: None,
            peer_as_org: None,
            peer_country: flow.country.clone(),
            peer_city: None,
            peer_kind: None,
            size_class: None,
            confidence: 0.5,
            evidence: format!("event {i}"),
        }
    }

    /// A snapshot of `n` flows whose columns take many values (and tie often), with events.
    fn varied(n: u32, extra_bytes: u64) -> Arc<Snapshot> {
        let svc = [Some("WhatsApp"), Some("Signal"), None, Some("Telegram")];
        let cc = [Some("US"), Some("DE"), Some("PT"), None, Some("NL")];
        let flows: Vec<FlowRecord> = (0..n)
            .map(|i| {
                let mut f = flow(
                    i % 150,
                    svc[(i % 4) as usize],
                    cc[(i % 5) as usize],
                    u64::from(i * 7919 % 1000) + extra_bytes * u64::from(i % 3),
                );
                f.first_ts = 1000.0 + f64::from(i) * 0.25;
                f.client = format!("192.168.{}.{}:{}", i % 3, i % 200 + 1, 40000 + i)
                    .parse()
                    .unwrap();
                f
            })
            .collect();
        let kinds = [EventKind::MessageOut, EventKind::MessageIn, EventKind::VoiceCall, EventKind::MediaUpload];
        let events = flows
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 7 == 0)
            .map(|(i, f)| {
                let i = i as u32;
                event(
                    i,
                    f.service.as_deref().unwrap_or("Signal"),
                    kinds[(i % 4) as usize],
                    f,
                )
            })
            .collect();
        let mut s = (*snapshot(flows)).clone();
        s.events = events;
        Arc::new(s)
    }

    /// What a worker-driven app shows once the worker has answered.
    fn settled(app: &mut App, snap: &Arc<Snapshot>) {
        // Each call an hour after the last, so pacing always lets a new snapshot in.
        static HOURS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let h = HOURS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let now = std::time::Instant::now() + std::time::Duration::from_secs(3600 * h);
        app.sync_paced(snap, now);
        assert!(
            app.wait_ready(std::time::Duration::from_secs(20)),
            "the worker answers"
        );
        app.sync_paced(snap, now);
        assert!(!app.preparing(), "the answer is on screen");
    }

    fn same_screen(a: &App, b: &App, what: &str) {
        assert_eq!(a.flow_rows(), b.flow_rows(), "flow rows, {what}");
        assert_eq!(a.event_rows(), b.event_rows(), "event rows, {what}");
        assert_eq!(a.derived(), b.derived(), "derived work, {what}");
        assert_eq!(a.flows.selected, b.flows.selected, "flow selection, {what}");
        assert_eq!(
            a.events.selected, b.events.selected,
            "event selection, {what}"
        );
        assert!(
            Arc::ptr_eq(a.view().unwrap(), b.view().unwrap()),
            "same snapshot, {what}"
        );
    }

    #[test]
    fn the_worker_prepares_what_sync_does() {
        let first = varied(600, 0);
        // The next snapshot: more flows, and bytes changed so the byte order changes.
        let second = varied(700, 5000);
        let mut inline = App::new(true);
        let mut worked = App::new(true);
        worked.start_worker(|| {}).unwrap();
        assert!(worked.has_worker() && !inline.has_worker());
        for app in [&mut inline, &mut worked] {
            app.tab = Tab::Flows;
        }
        inline.sync(&first);
        settled(&mut worked, &first);
        same_screen(&inline, &worked, "first snapshot");
        assert_eq!(inline.flow_rows().len(), 600);
        // Every column both ways, a filter on each list, and the selection moved.
        let keys: Vec<KeyCode> = [KeyCode::Char('S'), KeyCode::Char('s')]
            .repeat(FlowCol::ALL.len())
            .into_iter()
            .chain([KeyCode::Down; 37])
            .chain([KeyCode::Char('/')])
            .chain("service:whatsapp -country:pt".chars().map(KeyCode::Char))
            .chain([KeyCode::Enter, KeyCode::Char('s'), KeyCode::Down])
            .collect();
        for (n, k) in keys.into_iter().enumerate() {
            inline.on_key(key(k));
            worked.on_key(key(k));
            inline.sync(&first);
            settled(&mut worked, &first);
            same_screen(&inline, &worked, &format!("after key {n} {k:?}"));
        }
        assert!(
            inline.flow_rows().len() < 600,
            "the filter keeps fewer rows"
        );
        let chosen = inline.selected_flow(&first).cloned();
        assert!(chosen.is_some());
        // A new snapshot keeps the same flow selected on both paths.
        inline.sync(&second);
        settled(&mut worked, &second);
        same_screen(&inline, &worked, "second snapshot");
        assert_eq!(
            worked.selected_flow(&second),
            chosen.as_ref().map(|c| {
                second
                    .flows
                    .iter()
                    .find(|f| c.flow_ref() == f.flow_ref())
                    .unwrap()
                    .as_ref()
            })
        );
        // Events: a filter and a selection.
        for k in [
            KeyCode::Char('4'),
            KeyCode::Down,
            KeyCode::Down,
            KeyCode::Char('/'),
        ]
        .into_iter()
        .chain("kind:message".chars().map(KeyCode::Char))
        {
            inline.on_key(key(k));
            worked.on_key(key(k));
            inline.sync(&second);
            settled(&mut worked, &second);
            same_screen(&inline, &worked, &format!("events key {k:?}"));
        }
        assert!(worked.event_rows().len() < second.events.len());
    }

    #[test]
    fn the_worker_never_shows_rows_of_an_old_sort() {
        let snap = varied(2000, 0);
        let mut app = App::new(true);
        app.tab = Tab::Flows;
        app.start_worker(|| {}).unwrap();
        settled(&mut app, &snap);
        let mut want = App::new(true);
        want.tab = Tab::Flows;
        want.sync(&snap);
        // Sort by bytes (nine steps from Start), then reverse: only the last is current.
        for _ in 0..8 {
            app.on_key(key(KeyCode::Char('s')));
            want.on_key(key(KeyCode::Char('s')));
        }
        app.on_key(key(KeyCode::Char('S')));
        want.on_key(key(KeyCode::Char('S')));
        let start_order: Vec<u32> = (0..2000).collect();
        // Whatever has arrived by now, the screen shows the old rows or the current ones.
        let now = std::time::Instant::now();
        app.sync_paced(&snap, now);
        let rows = app.flow_rows().to_vec();
        assert!(
            rows == start_order || rows == want.flow_rows(),
            "no rows of an intermediate sort"
        );
        assert_eq!(app.preparing(), rows == start_order);
        settled(&mut app, &snap);
        assert_eq!(app.flow_rows(), want.flow_rows());
        assert_ne!(app.flow_rows(), &start_order[..]);
    }

    #[test]
    fn derived_counts_places_and_lanes() {
        let snap = sample();
        let d = derive(&snap);
        assert_eq!(d.counters.services, 2);
        assert_eq!(d.counters.bytes, 500 + 9000 + 50 + 7000);
        let codes: Vec<&str> = d.places.iter().map(|p| p.code.as_str()).collect();
        assert_eq!(codes, vec!["DE", "PT", "US"], "by bytes, most first");
        assert!(d.places.iter().all(|p| p.centroid.is_some()));
        let lanes: Vec<&str> = d.lanes.iter().map(|l| l.service.as_str()).collect();
        assert_eq!(lanes, vec!["Signal", "WhatsApp"]);
        // WhatsApp's two flows (1000-1010 and 1003-1010) merge into one span.
        assert_eq!(d.lanes[1].activity, vec![(1000.0, 1010.0)]);
    }
}
