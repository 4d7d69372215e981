//! Storage of the flow table: a hash index into chunked slots, with one recency list per
//! timeout class for O(1) expiry and eviction.

use rustc_hash::FxHashMap;

use super::{Dir, EndReason, Flow, FlowKey, Timeouts};
use crate::capture::Timestamp;
use crate::decode::{Packet, proto, tcp_flag};

/// Slots per chunk. Chunks are allocated whole and never moved, so growing the table never
/// copies existing flows (a doubling `Vec` would briefly need twice the memory).
const CHUNK: usize = 1024;

/// First port past the well-known (system) range of RFC 6335 §6: servers listen below it,
/// clients' ephemeral ports are above it.
const WELL_KNOWN_PORTS_END: u16 = 1024;

/// First port of the dynamic (private, ephemeral) range of RFC 6335 §6, from which clients'
/// ports are drawn (IANA; Windows and macOS use it as their ephemeral range).
const DYNAMIC_PORTS_START: u16 = 49152;

/// "No slot" in the intrusive lists.
const NIL: u32 = u32::MAX;

/// Index of a flow's slot. Valid until the flow ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FlowId(u32);

/// Timeout classes, each with its own recency list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    Tcp = 0,
    TcpClosed = 1,
    Udp = 2,
    Other = 3,
}

const CLASSES: usize = 4;

impl Class {
    fn of<T>(flow: &Flow<T>) -> Self {
        match flow.key.proto {
            proto::TCP if flow.closed() => Class::TcpClosed,
            proto::TCP => Class::Tcp,
            proto::UDP => Class::Udp,
            _ => Class::Other,
        }
    }

    fn timeout(self, t: &Timeouts) -> u32 {
        match self {
            Class::Tcp => t.tcp,
            Class::TcpClosed => t.tcp_closed,
            Class::Udp => t.udp,
            Class::Other => t.other,
        }
    }
}

struct Slot<T> {
    /// The flow; `None` once it ended and the slot waits on the free list.
    flow: Option<Flow<T>>,
    /// Clock value when the flow last saw a packet (never earlier than a previous value, so
    /// lists stay ordered even when packet timestamps go backwards).
    touched: Timestamp,
    class: Class,
    prev: u32,
    next: u32,
}

#[derive(Clone, Copy)]
struct List {
    head: u32,
    tail: u32,
}

/// What [`FlowTable::observe`] did with a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Observed {
    pub id: FlowId,
    pub dir: Dir,
    /// True when this packet created the flow.
    pub new: bool,
}

/// Counters of the table's own decisions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct TableStats {
    pub flows_created: u64,
    pub flows_ended_idle: u64,
    pub flows_ended_closed: u64,
    pub flows_evicted: u64,
    pub flows_ended_at_end_of_input: u64,
    /// Packets whose timestamp was earlier than the latest one seen.
    pub timestamps_backwards: u64,
    /// Largest number of flows tracked at once.
    pub peak_flows: u64,
}

/// The flow table. `T` is the per-flow state of later stages.
pub struct FlowTable<T> {
    index: FxHashMap<FlowKey, u32>,
    chunks: Vec<Vec<Slot<T>>>,
    free: Vec<u32>,
    lists: [List; CLASSES],
    timeouts: Timeouts,
    max_flows: usize,
    now: Option<Timestamp>,
    stats: TableStats,
    /// Whether flows keep their first packets as samples ([`FlowTable::keep_samples`]).
    samples: bool,
}

impl<T: Default> FlowTable<T> {
    /// A table holding at most `max_flows` flows (at least 1).
    pub fn new(timeouts: Timeouts, max_flows: usize) -> Self {
        Self {
            index: FxHashMap::default(),
            chunks: Vec::new(),
            free: Vec::new(),
            lists: [List {
                head: NIL,
                tail: NIL,
            }; CLASSES],
            timeouts,
            max_flows: max_flows.max(1),
            now: None,
            stats: TableStats::default(),
            samples: true,
        }
    }

    /// Whether flows created from now on keep their first [`super::SAMPLES`] packets as
    /// samples (the default). Without them a flow is about half the size and nothing is
    /// allocated for it.
    pub fn keep_samples(&mut self, keep: bool) {
        self.samples = keep;
    }

    pub fn stats(&self) -> TableStats {
        self.stats
    }

    /// Flows currently tracked.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// The table's clock: the latest packet time seen.
    pub fn now(&self) -> Option<Timestamp> {
        self.now
    }

    pub fn get(&self, id: FlowId) -> Option<&Flow<T>> {
        self.slot(id.0).and_then(|s| s.flow.as_ref())
    }

    pub fn get_mut(&mut self, id: FlowId) -> Option<&mut Flow<T>> {
        self.slot_mut(id.0).and_then(|s| s.flow.as_mut())
    }

    /// Visit every tracked flow (for snapshots).
    pub fn for_each(&self, mut f: impl FnMut(&Flow<T>)) {
        for &i in self.index.values() {
            if let Some(flow) = self.slot(i).and_then(|s| s.flow.as_ref()) {
                f(flow);
            }
        }
    }

    /// Visit every tracked flow mutably, in slot order, without touching the table's lists,
    /// clock or counters: for snapshots that must look at a flow's later-stage state (and put
    /// back whatever they changed). A flow's key and times must not be changed.
    pub fn for_each_mut(&mut self, mut f: impl FnMut(&mut Flow<T>)) {
        for chunk in &mut self.chunks {
            for slot in chunk.iter_mut() {
                if let Some(flow) = slot.flow.as_mut() {
                    f(flow);
                }
            }
        }
    }

    /// Visit mutably the flows that saw a packet when the table's clock was at `since` or
    /// later (every flow when `None`), newest first, in O(flows visited): each timeout class
    /// list is ordered by that time, so the walk goes back from its tail. Changes nothing in
    /// the table; as with [`FlowTable::for_each_mut`], a flow's key and times must not be
    /// changed.
    pub fn for_each_touched_since_mut(
        &mut self,
        since: Option<Timestamp>,
        mut f: impl FnMut(&mut Flow<T>),
    ) {
        let Some(since) = since else {
            self.for_each_mut(f);
            return;
        };
        for c in 0..CLASSES {
            let mut i = self.lists[c].tail;
            while let Some(s) = self.slot_mut(i) {
                if s.touched < since {
                    break;
                }
                i = s.prev;
                if let Some(flow) = s.flow.as_mut() {
                    f(flow);
                }
            }
        }
    }

    /// Account a packet: expire what has gone idle by its time, find or create its flow (evicting
    /// the least recently seen flow when full), update it. Flows that end are passed to `sink`.
    pub fn observe(
        &mut self,
        pkt: &Packet<'_>,
        sink: &mut impl FnMut(Flow<T>, EndReason),
    ) -> Observed {
        self.observe_inner(pkt, sink, true)
    }

    /// Like [`FlowTable::observe`], for a packet released late by the fragment tracker: its
    /// earlier timestamp is expected and not counted as the clock going backwards.
    pub fn observe_released(
        &mut self,
        pkt: &Packet<'_>,
        sink: &mut impl FnMut(Flow<T>, EndReason),
    ) -> Observed {
        self.observe_inner(pkt, sink, false)
    }

    fn observe_inner(
        &mut self,
        pkt: &Packet<'_>,
        sink: &mut impl FnMut(Flow<T>, EndReason),
        count_backwards: bool,
    ) -> Observed {
        let now = self.advance(pkt.ts, sink, count_backwards);
        let (key, src_is_lo) = FlowKey::of(pkt);
        let syn_only = pkt
            .tcp
            .is_some_and(|t| t.flags & (tcp_flag::SYN | tcp_flag::ACK) == tcp_flag::SYN);
        if let Some(&i) = self.index.get(&key) {
            // A fresh SYN on a closed connection is a new connection on a reused port.
            if syn_only && self.flow(i).is_some_and(Flow::closed) {
                let reason = self
                    .flow(i)
                    .map_or(EndReason::Fin, |f| f.end_reason(EndReason::Fin));
                self.end(i, reason, sink);
            } else if let Some(s) = self.slot_mut(i) {
                let Some(flow) = s.flow.as_mut() else {
                    return Observed {
                        id: FlowId(i),
                        dir: Dir::Up,
                        new: false,
                    };
                };
                let dir = if src_is_lo == flow.client_is_lo {
                    Dir::Up
                } else {
                    Dir::Down
                };
                flow.update(pkt, dir);
                s.touched = now;
                self.relist(i);
                return Observed {
                    id: FlowId(i),
                    dir,
                    new: false,
                };
            }
        }
        if self.index.len() >= self.max_flows {
            self.evict_one(sink);
        }
        // A SYN-ACK seen first means its receiver opened the connection.
        let syn_ack = pkt.tcp.is_some_and(|t| {
            t.flags & (tcp_flag::SYN | tcp_flag::ACK) == (tcp_flag::SYN | tcp_flag::ACK)
        });
        // A flow caught mid-way (its first packet no handshake: the capture started during the
        // connection, or the query was lost) from a well-known port to a registered or dynamic
        // one is the server speaking: its receiver is the client, as the handshake would have
        // shown. Both ports below 1024 (NTP, DHCP, NetBIOS) say nothing. For TCP, so is a
        // segment from a registered port (Apple Push 5223, XMPP 5222) to a dynamic one:
        // TCP servers listen below the dynamic range, where clients' ports are drawn from.
        // UDP peers of a call both use dynamic ports, and there a lower port proves nothing.
        let from_server_port = |lo: u16| pkt.src_port < lo && pkt.dst_port >= lo;
        let mid_way_reply = !syn_only
            && !syn_ack
            && (from_server_port(WELL_KNOWN_PORTS_END)
                || (pkt.proto == proto::TCP && from_server_port(DYNAMIC_PORTS_START)));
        let reversed = syn_ack || mid_way_reply;
        let client_is_lo = src_is_lo != reversed;
        let mut flow = Flow::new(key, client_is_lo, pkt.ts, self.samples);
        let dir = if reversed { Dir::Down } else { Dir::Up };
        flow.update(pkt, dir);
        let i = self.alloc(flow, now);
        self.index.insert(key, i);
        self.stats.flows_created += 1;
        self.stats.peak_flows = self.stats.peak_flows.max(self.index.len() as u64);
        Observed {
            id: FlowId(i),
            dir,
            new: true,
        }
    }

    /// Move the clock to `ts` (if later) and end every flow idle for longer than its timeout.
    /// Returns the clock.
    pub fn tick(&mut self, ts: Timestamp, sink: &mut impl FnMut(Flow<T>, EndReason)) -> Timestamp {
        self.advance(ts, sink, true)
    }

    fn advance(
        &mut self,
        ts: Timestamp,
        sink: &mut impl FnMut(Flow<T>, EndReason),
        count_backwards: bool,
    ) -> Timestamp {
        let now = match self.now {
            Some(n) if ts < n => {
                if count_backwards {
                    self.stats.timestamps_backwards += 1;
                }
                n
            }
            _ => ts,
        };
        self.now = Some(now);
        for c in [Class::Tcp, Class::TcpClosed, Class::Udp, Class::Other] {
            let limit = c.timeout(&self.timeouts);
            loop {
                let head = self.lists[c as usize].head;
                let Some(s) = self.slot(head) else { break };
                if s.touched.plus_secs(limit) > now {
                    break;
                }
                let reason = s
                    .flow
                    .as_ref()
                    .map_or(EndReason::Idle, |f| f.end_reason(EndReason::Idle));
                self.end(head, reason, sink);
            }
        }
        now
    }

    /// End every remaining flow (end of input), in order of first packet, then key.
    pub fn flush(&mut self, sink: &mut impl FnMut(Flow<T>, EndReason)) {
        let mut ids: Vec<u32> = self.index.values().copied().collect();
        ids.sort_by_key(|&i| {
            self.flow(i)
                .map(|f| (f.first_ts, f.key.proto, f.key.lo, f.key.hi))
        });
        for i in ids {
            let reason = self.flow(i).map_or(EndReason::EndOfInput, |f| {
                f.end_reason(EndReason::EndOfInput)
            });
            self.end(i, reason, sink);
        }
    }

    fn evict_one(&mut self, sink: &mut impl FnMut(Flow<T>, EndReason)) {
        let oldest = self
            .lists
            .iter()
            .filter_map(|l| self.slot(l.head).map(|s| (s.touched, l.head)))
            .min();
        if let Some((_, i)) = oldest {
            self.end(i, EndReason::Evicted, sink);
        }
    }

    fn end(&mut self, i: u32, reason: EndReason, sink: &mut impl FnMut(Flow<T>, EndReason)) {
        self.unlink(i);
        let Some(flow) = self.slot_mut(i).and_then(|s| s.flow.take()) else {
            return;
        };
        self.index.remove(&flow.key);
        self.free.push(i);
        match reason {
            EndReason::Idle => self.stats.flows_ended_idle += 1,
            EndReason::Fin | EndReason::Rst => self.stats.flows_ended_closed += 1,
            EndReason::Evicted => self.stats.flows_evicted += 1,
            EndReason::EndOfInput => self.stats.flows_ended_at_end_of_input += 1,
        }
        sink(flow, reason);
    }

    fn alloc(&mut self, flow: Flow<T>, now: Timestamp) -> u32 {
        let class = Class::of(&flow);
        let slot = Slot {
            flow: Some(flow),
            touched: now,
            class,
            prev: NIL,
            next: NIL,
        };
        let i = if let Some(i) = self.free.pop() {
            if let Some(s) = self.slot_mut(i) {
                *s = slot;
            }
            i
        } else {
            if self.chunks.last().is_none_or(|c| c.len() == CHUNK) {
                self.chunks.push(Vec::with_capacity(CHUNK));
            }
            let ci = self.chunks.len() - 1;
            let chunk = &mut self.chunks[ci];
            chunk.push(slot);
            (ci * CHUNK + chunk.len() - 1) as u32
        };
        self.push_tail(i, class);
        i
    }

    fn flow(&self, i: u32) -> Option<&Flow<T>> {
        self.slot(i).and_then(|s| s.flow.as_ref())
    }

    fn slot(&self, i: u32) -> Option<&Slot<T>> {
        let i = i as usize;
        self.chunks.get(i / CHUNK)?.get(i % CHUNK)
    }

    fn slot_mut(&mut self, i: u32) -> Option<&mut Slot<T>> {
        let i = i as usize;
        self.chunks.get_mut(i / CHUNK)?.get_mut(i % CHUNK)
    }

    /// Move a just-updated flow to the tail of its (possibly new) class list.
    fn relist(&mut self, i: u32) {
        let Some((class, old)) = self
            .slot(i)
            .and_then(|s| s.flow.as_ref().map(|f| (Class::of(f), s.class)))
        else {
            return;
        };
        // Bursts hit the same flow packet after packet: it is already the newest of its list.
        if class == old && self.lists[class as usize].tail == i {
            return;
        }
        self.unlink(i);
        self.push_tail(i, class);
    }

    fn push_tail(&mut self, i: u32, class: Class) {
        let tail = self.lists[class as usize].tail;
        if let Some(s) = self.slot_mut(i) {
            s.class = class;
            s.prev = tail;
            s.next = NIL;
        }
        match self.slot_mut(tail) {
            Some(t) => t.next = i,
            None => self.lists[class as usize].head = i,
        }
        self.lists[class as usize].tail = i;
    }

    fn unlink(&mut self, i: u32) {
        let Some((prev, next, class)) = self.slot(i).map(|s| (s.prev, s.next, s.class)) else {
            return;
        };
        match self.slot_mut(prev) {
            Some(p) => p.next = next,
            None => self.lists[class as usize].head = next,
        }
        match self.slot_mut(next) {
            Some(n) => n.prev = prev,
            None => self.lists[class as usize].tail = prev,
        }
        if let Some(s) = self.slot_mut(i) {
            s.prev = NIL;
            s.next = NIL;
        }
    }
}
