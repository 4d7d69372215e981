//! IP fragments: a fragmented datagram counts once in its flow, when it is complete.
//!
//! Only the first fragment carries the transport header that names the flow; the last one
//! completes the datagram. This tracker remembers the first fragment's ports, and when the
//! datagram's first and last fragments have both been seen (in either order) it yields one packet
//! for the flow, stamped with the time and size of the frame that completed it. That is how
//! Wireshark counts a reassembled datagram, so per-flow counts stay comparable with it. Middle
//! fragments are counted apart; a datagram that never completes within the timeout is counted as
//! incomplete and does not reach a flow. No payload is kept.
//!
//! Bounds: at most [`MAX_PENDING`] datagrams wait at once; beyond that the oldest is given up
//! and counted. Nothing here grows with the input.

use std::collections::VecDeque;
use std::net::IpAddr;

use rustc_hash::FxHashMap;

use crate::capture::Timestamp;
use crate::decode::{Packet, TcpInfo, proto};

/// Datagrams waiting for their other end at once. A host reassembles a few at a time; 4096 is
/// far above honest traffic and bounds a flood of lone fragments to well under a megabyte.
pub const MAX_PENDING: usize = 4096;

/// Seconds a datagram may wait for its missing first or last fragment: Linux's default
/// reassembly timeout (net.ipv4.ipfrag_time = 30 s).
pub const REASSEMBLY_TIMEOUT_SECS: u32 = 30;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Key {
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    id: u32,
}

/// What the first fragment told us.
#[derive(Clone, Copy, Debug)]
struct First {
    ts: Timestamp,
    wire_len: u32,
    payload_len: u32,
    src_port: u16,
    dst_port: u16,
    tcp: Option<TcpInfo>,
    ttl: u8,
    /// Length of the transport header in the first fragment.
    transport_header: u32,
}

/// The last fragment, when it came before the first.
#[derive(Clone, Copy, Debug)]
struct Last {
    /// IP payload length of the whole datagram.
    datagram_len: u32,
}

#[derive(Clone, Copy, Debug)]
struct Pending {
    since: Timestamp,
    first: Option<First>,
    last: Option<Last>,
}

impl Key {
    /// The first fragment alone, as the packet its flow counts when the datagram never completes.
    fn first_alone(&self, f: &First) -> Packet<'static> {
        Packet {
            frag: None,
            ts: f.ts,
            wire_len: f.wire_len,
            src: self.src,
            dst: self.dst,
            proto: self.proto,
            src_port: f.src_port,
            dst_port: f.dst_port,
            tcp: f.tcp,
            payload: &[],
            payload_len: f.payload_len,
            ttl: f.ttl,
        }
    }
}

/// Counters of the tracker.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct FragmentStats {
    /// Datagrams whose first and last fragments were both seen.
    pub datagrams_completed: u64,
    /// Datagrams given up (timeout or the pending cap) before completing.
    pub datagrams_incomplete: u64,
}

/// Joins fragments of a datagram.
#[derive(Default)]
pub struct FragmentTracker {
    pending: FxHashMap<Key, Pending>,
    order: VecDeque<(Timestamp, Key)>,
    stats: FragmentStats,
}

impl FragmentTracker {
    pub fn stats(&self) -> FragmentStats {
        self.stats
    }

    /// Take a fragment (a packet with `frag` set). `out` receives the packet to account in a
    /// flow when this fragment completes its datagram, and the first fragments of datagrams that
    /// time out incomplete (they count alone, as their transport header names their flow).
    pub fn push(&mut self, pkt: &Packet<'_>, out: &mut impl FnMut(Packet<'static>)) {
        let Some(frag) = pkt.frag else { return };
        self.expire(pkt.ts, out);
        let key = Key {
            src: pkt.src,
            dst: pkt.dst,
            proto: pkt.proto,
            id: frag.id,
        };
        let is_first = frag.offset_bytes == 0;
        let is_last = !frag.more;
        if !is_first && !is_last {
            return;
        }
        if !self.pending.contains_key(&key) {
            if self.pending.len() >= MAX_PENDING {
                self.give_up_oldest(out);
            }
            self.pending.insert(
                key,
                Pending {
                    since: pkt.ts,
                    first: None,
                    last: None,
                },
            );
            self.order.push_back((pkt.ts, key));
        }
        let Some(entry) = self.pending.get_mut(&key) else {
            return;
        };
        if is_first {
            let transport_header = match pkt.proto {
                proto::UDP => 8,
                _ => 0,
            };
            entry.first = Some(First {
                ts: pkt.ts,
                wire_len: pkt.wire_len,
                payload_len: pkt.payload_len,
                src_port: pkt.src_port,
                dst_port: pkt.dst_port,
                tcp: pkt.tcp,
                ttl: pkt.ttl,
                transport_header,
            });
        }
        if is_last {
            entry.last = Some(Last {
                datagram_len: frag.offset_bytes.saturating_add(pkt.payload_len),
            });
        }
        let (Some(first), Some(last)) = (entry.first, entry.last) else {
            return;
        };
        self.pending.remove(&key);
        self.stats.datagrams_completed += 1;
        out(Packet {
            frag: None,
            ts: pkt.ts,
            wire_len: pkt.wire_len,
            src: pkt.src,
            dst: pkt.dst,
            proto: pkt.proto,
            src_port: first.src_port,
            dst_port: first.dst_port,
            tcp: first.tcp,
            payload: &[],
            payload_len: last.datagram_len.saturating_sub(first.transport_header),
            ttl: first.ttl,
        });
    }

    fn expire(&mut self, now: Timestamp, out: &mut impl FnMut(Packet<'static>)) {
        while let Some(&(since, _)) = self.order.front() {
            if since.plus_secs(REASSEMBLY_TIMEOUT_SECS) > now {
                break;
            }
            self.give_up_oldest(out);
        }
    }

    fn give_up_oldest(&mut self, out: &mut impl FnMut(Packet<'static>)) {
        while let Some((since, key)) = self.order.pop_front() {
            if self.pending.get(&key).is_some_and(|p| p.since == since) {
                self.give_up(key, out);
                return;
            }
        }
    }

    fn give_up(&mut self, key: Key, out: &mut impl FnMut(Packet<'static>)) {
        if let Some(p) = self.pending.remove(&key) {
            self.stats.datagrams_incomplete += 1;
            if let Some(f) = p.first {
                out(key.first_alone(&f));
            }
        }
    }

    /// End of input: every datagram still waiting is incomplete, in arrival order.
    pub fn finish(&mut self, out: &mut impl FnMut(Packet<'static>)) {
        while !self.order.is_empty() {
            self.give_up_oldest(out);
        }
        self.pending.clear();
    }
}
