//! The analysis engine: one source driven through decode, the flow table, naming and the
//! activity counters, wired once for every command that reads packets.
//!
//! It exists so that `flows`, `events`, `report`, `live --headless`, the dashboard's session and
//! the tests all run the very same steps in the very same order: a packet is named, then the
//! activity counters take it; a flow that ends is settled (what other flows' sockets said about
//! it), its counters close, and only then is it handed on. Before this module those steps were
//! written out by hand in seven places and kept alike by comments.
//!
//! A file is read once, and what it teaches about a server later (a handshake, a DNS answer
//! that lands after the SYN) is applied when records are settled: a flow that names nothing
//! itself and whose server nothing has named yet waits, in a bounded buffer, until the end of
//! the file ([`WAITING_CAP`], overflow counted in `NamingStats::names_wait_overflow`). Every
//! other flow streams as it ends. So records reach the sink in the order their flows end,
//! except the ones that waited, which follow at the end of the file in the order they ended.
//! A run driven step by step ([`Engine::feed`]: live capture, the dashboard) never waits: a
//! flow gets the name known when it ends. A waiting record keeps its activity counters only
//! when the activity model could want them under any name it may still be lent
//! ([`Engine::keep_media_when`]): the wait then costs little more than the flow itself.
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
use crate::model::{FlowRecord, Role};
use crate::naming::{Attribution, Attributor, FlowNaming, Lending, Namer};

/// Records that wait for a later flow or DNS answer to name their server, at most. Most
/// captures hold a few hundred such flows (a flow to a server named only later, or never; the
/// corpus at most 6,000, a FaceTime capture); 8,192 finished flows of at most about 2 kB each
/// (568 bytes of flow and naming state without packet samples, the activity counters when the
/// activity model may want them, the few names a flow that names nothing holds) keep the wait
/// under 16 MB however long the file, and a flow pushed out early is named with what was known
/// then, and counted.
pub const WAITING_CAP: usize = 8_192;

/// The records waiting for a name while a file is read.
#[derive(Debug)]
struct Waiting {
    /// Set while [`Engine::run`] reads a source to its end.
    on: bool,
    /// [`WAITING_CAP`], smaller in tests.
    cap: usize,
    /// Never holds more than `cap` records, so its buffer never grows past `cap` slots (a
    /// `VecDeque` doubles when pushed past its capacity: 8,193 records would take 16,384 slots
    /// of about 1 kB).
    held: std::collections::VecDeque<Ended>,
    /// The activity model's test of whether it needs a finished flow ([`Engine::keep_media_when`]).
    wants: Option<fn(&FlowSummary) -> bool>,
}

impl Default for Waiting {
    fn default() -> Self {
        Self {
            on: false,
            cap: WAITING_CAP,
            held: std::collections::VecDeque::new(),
            wants: None,
        }
    }
}

/// Every role a name lent later may give a record (`None`: none lent).
const ROLES: [Option<Role>; 7] = [
    None,
    Some(Role::Chat),
    Some(Role::Media),
    Some(Role::Call),
    Some(Role::Push),
    Some(Role::Web),
    Some(Role::Dns),
];

/// Fails to compile when a role is added and [`ROLES`] not told of it.
const _: fn(Role) = |r| match r {
    Role::Chat | Role::Media | Role::Call | Role::Push | Role::Web | Role::Dns => {}
};

impl Waiting {
    /// Hold a record until the end of the input; when the wait is full, the oldest leaves
    /// first (returned, to be named with what is known now).
    fn hold(&mut self, mut ended: Ended) -> Option<Ended> {
        if let Some(wants) = self.wants {
            drop_unwanted_media(&mut ended.0, ended.1, wants);
        }
        let out = if self.held.len() >= self.cap {
            self.held.pop_front()
        } else {
            None
        };
        if self.held.capacity() == 0 {
            // Grow in steps up to the cap, never past it.
            self.held.reserve_exact(self.cap.min(256));
        } else if self.held.len() == self.held.capacity() {
            let more = self.held.capacity().min(self.cap - self.held.len());
            self.held.reserve_exact(more);
        }
        self.held.push_back(ended);
        out
    }
}

/// Free a waiting flow's activity counters when `wants` (the activity model's test) needs
/// them under none of the roles a name lent later may give it. What else decides that test
/// (transport, ports, the flow's own SNI, QUIC and STUN findings) is final once the flow
/// ended; only the service and its role may still change. Such a flow reaches the activity
/// model with empty counters, which it drops as it would have dropped the full ones.
fn drop_unwanted_media(
    flow: &mut Flow<FlowState>,
    reason: EndReason,
    wants: fn(&FlowSummary) -> bool,
) {
    let Some(media) = flow.ext.media.as_deref_mut().map(std::mem::take) else {
        return;
    };
    let mut probe = FlowSummary {
        record: FlowRecord::named(flow, reason, Attribution::default()),
        media,
    };
    let wanted = ROLES.iter().any(|&role| {
        probe.record.service_role = role;
        wants(&probe)
    });
    if wanted {
        if let Some(m) = flow.ext.media.as_deref_mut() {
            *m = probe.media;
        }
    } else {
        flow.ext.media = None;
    }
}

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
    waiting: Waiting,
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
    waiting: &'a mut Waiting,
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
        if self.depth != Depth::Bare
            && self.namer.lend(&mut flow) == Lending::Waits
            && self.waiting.on
        {
            self.namer.stats.names_waited += 1;
            if let Some((mut f, r)) = self.waiting.hold((flow, reason)) {
                self.namer.stats.names_wait_overflow += 1;
                self.namer.lend(&mut f);
                (self.sink)(f, r);
            }
            return;
        }
        (self.sink)(flow, reason);
    }
}

impl<S: FnMut(Flow<FlowState>, EndReason)> Steps<'_, S> {
    /// The end of the input: every waiting record gets what the whole capture taught about
    /// its server, in the order the flows ended.
    fn release(&mut self) {
        while let Some((mut f, r)) = self.waiting.held.pop_front() {
            self.namer.lend(&mut f);
            (self.sink)(f, r);
        }
    }
}

impl Engine {
    pub fn new(cfg: PipelineConfig, namer: Namer, depth: Depth) -> Self {
        let mut pipeline = Pipeline::new(cfg);
        // No stage reads a flow's packet samples: without them a flow is half the size, in
        // the table, in the wait for a name and on its way to the sink.
        pipeline.table.keep_samples(false);
        Self {
            pipeline,
            namer,
            depth,
            waiting: Waiting::default(),
        }
    }

    /// Tell the engine which finished flows the sink's activity model needs (its `relevant`
    /// test): a record waiting for a name keeps its activity counters only if the test may
    /// pass under a name lent later. Only for sinks that use a record's counters for nothing
    /// but what passes the test.
    pub fn keep_media_when(&mut self, wants: fn(&FlowSummary) -> bool) {
        self.waiting.wants = Some(wants);
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
            waiting,
        } = self;
        waiting.on = true;
        let mut steps = Steps {
            namer,
            depth: *depth,
            waiting,
            sink,
        };
        let end = pipeline.run_with(source, &mut steps);
        steps.release();
        steps.waiting.on = false;
        end
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
            waiting,
        } = self;
        pipeline.feed_with(
            next,
            &mut Steps {
                namer,
                depth: *depth,
                waiting,
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
            waiting,
        } = self;
        let mut steps = Steps {
            namer,
            depth: *depth,
            waiting,
            sink,
        };
        pipeline.finish_with(source, &mut steps);
        steps.release();
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::capture::Timestamp;
    use crate::capture::memory::MemorySource;
    use crate::model::Role;
    use crate::naming::catalog::Catalog;
    use crate::naming::geo::Geo;
    use crate::scenario::Scenario;
    use std::net::SocketAddr;

    const SEC: i64 = 1_000_000_000;

    fn at(s: i64) -> Timestamp {
        Timestamp(s * SEC)
    }

    fn ep(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    /// A connection caught mid-stream (no handshake) to a server that a ClientHello names only
    /// later in the file, and a connection to an unnamed server.
    fn named_later() -> Scenario {
        let mut sc = Scenario::new(7);
        let phone = ep("192.168.1.20:40000");
        let server = ep("198.18.5.5:443");
        let mut mid = sc.tcp_open(at(1), phone, server, 40).0;
        sc.tls_data(&mut mid, at(2), true, 300);
        sc.tls_data(&mut mid, at(2), false, 300);
        sc.tcp_close(&mut mid, at(3));
        let mut other = sc
            .tcp_open(at(4), ep("192.168.1.20:40001"), ep("198.18.9.9:443"), 40)
            .0;
        sc.tls_data(&mut other, at(5), true, 300);
        sc.tcp_close(&mut other, at(6));
        let (mut named, t) = sc.tls_session(
            at(100),
            ep("192.168.1.20:40002"),
            server,
            "g.whatsapp.net",
            &[],
        );
        sc.tcp_close(&mut named, Timestamp(t.0 + SEC));
        sc
    }

    fn new_engine() -> (Engine, Attributor) {
        let namer = Namer::new(Catalog::bundled().unwrap());
        let at = namer.attributor(Geo::bundled());
        (
            Engine::new(PipelineConfig::default(), namer, Depth::Names),
            at,
        )
    }

    #[test]
    fn a_flow_waits_for_a_later_handshake_to_name_its_server() {
        let (mut engine, at) = new_engine();
        let mut src = MemorySource::new(named_later().into_frames());
        let mut out = Vec::new();
        engine.run(&mut src, &mut |f, r| out.push(record(Some(&at), &f, r)));
        let ports: Vec<u16> = out.iter().map(|r| r.client.port()).collect();
        // Records stream as flows end; those that waited follow, in the order they ended.
        assert_eq!(ports, [40002, 40000, 40001]);
        let mid = &out[1];
        assert_eq!(mid.service.as_deref(), Some("WhatsApp"));
        assert_eq!(mid.service_role, Some(Role::Chat));
        assert_eq!(
            mid.service_evidence[0].to_string(),
            "same-server:g.whatsapp.net (from sni)"
        );
        assert!((mid.confidence - 0.85).abs() < 1e-9, "{}", mid.confidence);
        assert_eq!(out[2].service, None);
        let n = engine.stats().naming.unwrap();
        assert_eq!(
            (n.names_waited, n.names_lent, n.names_wait_overflow),
            (2, 1, 0)
        );
    }

    /// [`named_later`] with a UDP exchange to a server nothing names: a possible call leg
    /// under a name lent later, so its counters must stay.
    fn named_later_with_udp() -> Scenario {
        let mut sc = named_later();
        let (phone, far) = (ep("192.168.1.20:50000"), ep("198.18.7.7:3478"));
        for i in 0..40 {
            sc.udp(Timestamp(7 * SEC + i * SEC / 50), phone, far, &[0x55; 160]);
            sc.udp(
                Timestamp(7 * SEC + i * SEC / 50 + 1),
                far,
                phone,
                &[0x55; 160],
            );
        }
        sc
    }

    /// Each record an activity run hands on (client port, whether it kept counters) and the
    /// records of the flows the activity model keeps.
    fn activity_run(keep_when: bool) -> (Vec<(u16, bool)>, Vec<String>) {
        let namer = Namer::new(Catalog::bundled().unwrap());
        let at = namer.attributor(Geo::bundled());
        let mut engine = Engine::new(PipelineConfig::default(), namer, Depth::Activity);
        if keep_when {
            engine.keep_media_when(crate::activity::relevant);
        }
        let mut src = MemorySource::new(named_later_with_udp().into_frames());
        let (mut seen, mut kept) = (Vec::new(), Vec::new());
        engine.run(&mut src, &mut |f, r| {
            seen.push((f.client().1, f.ext.media().is_some()));
            let s = summary(&at, f, r);
            if crate::activity::relevant(&s) {
                kept.push(format!("{:?} {:?}", s.record, s.media));
            }
        });
        (seen, kept)
    }

    #[test]
    fn a_waiting_record_keeps_its_counters_only_when_the_activity_model_may_want_them() {
        let (all, kept_all) = activity_run(false);
        let (some, kept_some) = activity_run(true);
        println!("without the test: {all:?}\nwith it: {some:?}");
        assert!(all.iter().all(|&(_, m)| m), "{all:?}");
        // The TLS flow to the server nothing names waits, and no name can make it a flow
        // the activity model needs; the UDP flow may become a call leg and keeps its counters.
        assert!(some.contains(&(40001, false)), "{some:?}");
        assert!(some.contains(&(50000, true)), "{some:?}");
        // Records flowing straight through keep theirs.
        assert!(some.contains(&(40002, true)), "{some:?}");
        // And the activity model keeps the very same flows, counters and all.
        assert!(!kept_all.is_empty());
        assert_eq!(kept_all, kept_some);
    }

    #[test]
    fn a_waiting_record_is_small_enough_for_the_cap() {
        // WAITING_CAP's bound (under 16 MB) takes a waiting record of at most about 2 kB: the
        // flow's fixed part (packet samples boxed, and not kept by the engine) plus its boxed
        // activity counters and the few names a flow that names nothing can hold.
        let size = std::mem::size_of::<Ended>();
        println!("a waiting record: {size} bytes");
        assert!(size <= 640, "{size} bytes");
    }

    #[test]
    fn a_step_by_step_run_never_waits_and_a_full_wait_is_counted() {
        // Live capture (`feed`): the record leaves when the flow ends, with what is known then.
        let (mut engine, at) = new_engine();
        let mut src = MemorySource::new(named_later().into_frames());
        let mut out = Vec::new();
        let sink = &mut |f: Flow<FlowState>, r| out.push(record(Some(&at), &f, r));
        while engine.feed(src.next_frame(), sink).is_none() {}
        engine.finish(&mut src, sink);
        let mid = out.iter().find(|r| r.client.port() == 40000).unwrap();
        assert_eq!(mid.service, None);
        assert_eq!(engine.stats().naming.unwrap().names_waited, 0);
        // A wait of one record: the first to wait is pushed out by the second, and counted.
        let (mut engine, at) = new_engine();
        engine.waiting.cap = 1;
        let mut src = MemorySource::new(named_later().into_frames());
        let mut out = Vec::new();
        engine.run(&mut src, &mut |f, r| out.push(record(Some(&at), &f, r)));
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].client.port(), 40000);
        assert_eq!(out[0].service, None);
        let n = engine.stats().naming.unwrap();
        assert_eq!((n.names_waited, n.names_wait_overflow), (2, 1));
    }
}
