//! Unit tests of the flow table, fed decoded packets directly: one flow for both directions,
//! who the client is, per-direction counters, samples, the ways a flow ends (TCP close, idle
//! timeouts per class, eviction of the least recently seen flow, end of input), clocks going
//! backwards, and the order flows are flushed in.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::*;
use crate::decode::{Packet, TcpInfo};

const SYN: u8 = 0x02;
const SYN_ACK: u8 = 0x12;
const ACK: u8 = 0x10;
const PSH_ACK: u8 = 0x18;
const FIN_ACK: u8 = 0x11;
const RST: u8 = 0x04;

/// Base of packet time in the tests: 2023-11-14T22:13:20Z.
const T0: i64 = 1_700_000_000;

/// `ms` milliseconds after T0.
fn at(ms: i64) -> Timestamp {
    Timestamp::from_nanos(T0 * Timestamp::NANOS_PER_SEC + ms * 1_000_000)
}

fn v4(last: u8, port: u16) -> Endpoint {
    (IpAddr::V4(Ipv4Addr::new(10, 0, 0, last)), port)
}

fn v6(last: u16, port: u16) -> Endpoint {
    (
        IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, last)),
        port,
    )
}

/// A packet as decode would hand it on.
#[derive(Clone, Copy, Debug)]
struct P {
    ts: Timestamp,
    from: Endpoint,
    to: Endpoint,
    proto: u8,
    flags: Option<u8>,
    wire: u32,
    payload: u32,
}

impl P {
    fn tcp(ts: Timestamp, from: Endpoint, to: Endpoint, flags: u8) -> Self {
        Self {
            ts,
            from,
            to,
            proto: proto::TCP,
            flags: Some(flags),
            wire: 66,
            payload: 0,
        }
    }

    fn udp(ts: Timestamp, from: Endpoint, to: Endpoint) -> Self {
        Self {
            ts,
            from,
            to,
            proto: proto::UDP,
            flags: None,
            wire: 100,
            payload: 58,
        }
    }

    fn sized(mut self, wire: u32, payload: u32) -> Self {
        self.wire = wire;
        self.payload = payload;
        self
    }

    fn packet(&self) -> Packet<'static> {
        Packet {
            frag: None,
            ts: self.ts,
            wire_len: self.wire,
            src: self.from.0,
            dst: self.to.0,
            proto: self.proto,
            src_port: self.from.1,
            dst_port: self.to.1,
            tcp: self.flags.map(|flags| TcpInfo {
                flags,
                seq: 1,
                ack: 1,
                window: 1000,
                syn: None,
            }),
            payload: &[],
            payload_len: self.payload,
            ttl: 64,
        }
    }
}

/// A table and the flows it ended, in order.
struct Harness {
    table: FlowTable<()>,
    ended: Vec<(Flow<()>, EndReason)>,
}

impl Harness {
    fn new() -> Self {
        Self::with(Timeouts::default(), DEFAULT_MAX_FLOWS)
    }

    fn with(timeouts: Timeouts, max_flows: usize) -> Self {
        Self {
            table: FlowTable::new(timeouts, max_flows),
            ended: Vec::new(),
        }
    }

    fn feed(&mut self, p: P) -> Observed {
        let ended = &mut self.ended;
        self.table
            .observe(&p.packet(), &mut |f, r| ended.push((f, r)))
    }

    fn feed_all(&mut self, ps: &[P]) {
        for &p in ps {
            self.feed(p);
        }
    }

    /// End of input: every flow, in the order they ended.
    fn finish(mut self) -> Vec<(Flow<()>, EndReason)> {
        let ended = &mut self.ended;
        self.table.flush(&mut |f, r| ended.push((f, r)));
        assert!(self.table.is_empty());
        self.ended
    }
}

#[test]
fn both_directions_land_in_one_flow() {
    let (c, s) = (v4(1, 51_000), v4(2, 443));
    let mut h = Harness::new();
    let a = h.feed(P::udp(at(0), c, s));
    let b = h.feed(P::udp(at(10), s, c));
    let d = h.feed(P::udp(at(20), c, s));
    assert!(a.new && !b.new && !d.new);
    assert_eq!(a.id, b.id);
    assert_eq!(b.id, d.id);
    assert_eq!((a.dir, b.dir, d.dir), (Dir::Up, Dir::Down, Dir::Up));
    assert_eq!(h.table.len(), 1);
    let flows = h.finish();
    assert_eq!(flows.len(), 1);
    let (f, reason) = &flows[0];
    assert_eq!(*reason, EndReason::EndOfInput);
    assert_eq!((f.up.packets, f.down.packets), (2, 1));
    assert_eq!((f.client(), f.server()), (c, s));
}

#[test]
fn the_same_endpoints_with_another_protocol_are_another_flow() {
    let (c, s) = (v4(1, 5000), v4(2, 5000));
    let mut h = Harness::new();
    h.feed(P::udp(at(0), c, s));
    h.feed(P::tcp(at(1), c, s, SYN));
    assert_eq!(h.table.len(), 2);
}

#[test]
fn client_is_the_first_sender_whichever_endpoint_sorts_first() {
    for (c, s) in [
        (v4(1, 41_000), v4(2, 42_000)),
        (v4(2, 2000), v4(1, 1000)),
        (v4(9, 80), v4(9, 79)),
        (v6(0xffff, 60_000), v6(1, 50_000)),
    ] {
        let mut h = Harness::new();
        // Not a SYN: plain data, so the first sender decides.
        h.feed(P::tcp(at(0), c, s, PSH_ACK));
        h.feed(P::tcp(at(1), s, c, ACK));
        h.feed(P::tcp(at(2), s, c, PSH_ACK));
        let flows = h.finish();
        let f = &flows[0].0;
        assert_eq!(f.client(), c, "{c:?} → {s:?}");
        assert_eq!(f.server(), s);
        assert_eq!(f.client_addr(), std::net::SocketAddr::from(c));
        assert_eq!((f.up.packets, f.down.packets), (1, 2));
    }
}

#[test]
fn syn_sender_is_the_client() {
    for (c, s) in [(v4(200, 60_000), v4(1, 22)), (v4(1, 22), v4(200, 60_000))] {
        let mut h = Harness::new();
        h.feed_all(&[
            P::tcp(at(0), c, s, SYN),
            P::tcp(at(1), s, c, SYN_ACK),
            P::tcp(at(2), c, s, ACK),
        ]);
        let f = &h.finish()[0].0;
        assert_eq!(f.client(), c);
        assert_eq!((f.up.packets, f.down.packets), (2, 1));
        assert_eq!(f.up.tcp_flags, SYN | ACK);
        assert_eq!(f.down.tcp_flags, SYN_ACK);
    }
}

#[test]
fn syn_ack_seen_first_makes_its_receiver_the_client() {
    for (c, s) in [(v4(5, 50_000), v4(6, 443)), (v4(6, 443), v4(5, 50_000))] {
        let mut h = Harness::new();
        let first = h.feed(P::tcp(at(0), s, c, SYN_ACK));
        assert_eq!(first.dir, Dir::Down);
        let second = h.feed(P::tcp(at(1), c, s, ACK));
        assert_eq!(second.dir, Dir::Up);
        let f = &h.finish()[0].0;
        assert_eq!((f.client(), f.server()), (c, s));
        assert_eq!((f.up.packets, f.down.packets), (1, 1));
        assert_eq!(f.down.tcp_flags, SYN_ACK);
    }
}

#[test]
fn mid_way_packet_from_a_server_port_makes_its_receiver_the_client() {
    // (first sender, its receiver, UDP?, is the receiver the client?)
    for (from, to, udp, reversed) in [
        (v4(6, 80), v4(5, 41_562), false, true),
        (v4(6, 443), v4(5, 1_024), false, true),
        (v4(6, 5_223), v4(5, 49_193), false, true),
        (v4(6, 53), v4(5, 40_000), true, true),
        // A lower dynamic-looking port proves nothing for UDP: call peers use any.
        (v4(6, 5_223), v4(5, 49_193), true, false),
        (v4(6, 3_478), v4(5, 50_000), true, false),
        // Both well-known, or both registered: the first sender stays the client.
        (v4(6, 123), v4(5, 123), true, false),
        (v4(6, 5_222), v4(5, 40_000), false, false),
    ] {
        let mut h = Harness::new();
        let p = if udp {
            P::udp(at(0), from, to)
        } else {
            P::tcp(at(0), from, to, PSH_ACK)
        };
        let first = h.feed(p);
        let f = &h.finish()[0].0;
        let (client, dir) = if reversed {
            (to, Dir::Down)
        } else {
            (from, Dir::Up)
        };
        assert_eq!(f.client(), client, "{from:?} → {to:?} udp={udp}");
        assert_eq!(first.dir, dir);
    }
    // A SYN decides whatever its ports.
    let mut h = Harness::new();
    h.feed(P::tcp(at(0), v4(6, 80), v4(5, 50_000), SYN));
    assert_eq!(h.finish()[0].0.client(), v4(6, 80));
}

#[test]
fn per_direction_counters_and_times() {
    let (c, s) = (v6(1, 40_000), v6(2, 443));
    let ups = [
        P::tcp(at(0), c, s, SYN).sized(74, 0),
        P::tcp(at(30), c, s, ACK).sized(66, 0),
        P::tcp(at(31), c, s, PSH_ACK).sized(583, 517),
        P::tcp(at(900), c, s, FIN_ACK).sized(66, 0),
    ];
    let downs = [
        P::tcp(at(29), s, c, SYN_ACK).sized(74, 0),
        P::tcp(at(60), s, c, PSH_ACK).sized(1514, 1448),
        P::tcp(at(61), s, c, PSH_ACK).sized(300, 234),
    ];
    let mut all: Vec<P> = ups.iter().chain(downs.iter()).copied().collect();
    all.sort_by_key(|p| p.ts);
    let mut h = Harness::new();
    h.feed_all(&all);
    let f = &h.finish()[0].0;
    let sum = |ps: &[P]| -> (u64, u64, u64) {
        (
            ps.len() as u64,
            ps.iter().map(|p| u64::from(p.wire)).sum(),
            ps.iter().map(|p| u64::from(p.payload)).sum(),
        )
    };
    assert_eq!((f.up.packets, f.up.bytes, f.up.payload_bytes), sum(&ups));
    assert_eq!(
        (f.down.packets, f.down.bytes, f.down.payload_bytes),
        sum(&downs)
    );
    assert_eq!(f.packets(), all.len() as u64);
    assert_eq!(f.bytes(), sum(&ups).1 + sum(&downs).1);
    assert_eq!((f.up.first_ts, f.up.last_ts), (Some(at(0)), Some(at(900))));
    assert_eq!(
        (f.down.first_ts, f.down.last_ts),
        (Some(at(29)), Some(at(61)))
    );
    assert_eq!((f.first_ts, f.last_ts), (at(0), at(900)));
    // Flag unions per direction and over the flow.
    assert_eq!(f.up.tcp_flags, SYN | ACK | PSH_ACK | FIN_ACK);
    assert_eq!(f.down.tcp_flags, SYN_ACK | PSH_ACK);
    assert_eq!(f.tcp_flags(), SYN | ACK | 0x08 | 0x01);
    assert_eq!(tcp_flags_str(f.tcp_flags()), "SAPF");
}

#[test]
fn the_first_samples_are_kept_and_no_more() {
    let (c, s) = (v4(1, 1234), v4(2, 4321));
    let mut h = Harness::new();
    let mut sent = Vec::new();
    for i in 0..(SAMPLES as i64 + 6) {
        let down = i % 3 == 1;
        let (from, to) = if down { (s, c) } else { (c, s) };
        let wire = 60 + (i as u32 * 37) % 1400;
        let p = P::udp(at(i * 250), from, to).sized(wire, wire - 42);
        sent.push((p, if down { Dir::Down } else { Dir::Up }));
        h.feed(p);
    }
    let f = &h.finish()[0].0;
    let samples = f.samples();
    assert_eq!(samples.len(), SAMPLES);
    for (i, (smp, (p, dir))) in samples.iter().zip(&sent).enumerate() {
        assert_eq!(smp.dir(), *dir, "sample {i}");
        assert_eq!(u32::from(smp.size), p.wire, "sample {i}");
        assert_eq!(u32::from(smp.payload()), p.payload, "sample {i}");
        assert_eq!(
            i64::from(smp.offset_us),
            (p.ts.as_nanos() - at(0).as_nanos()) / 1_000,
            "sample {i}"
        );
    }
    // Every packet still counts, sampled or not.
    assert_eq!(f.packets(), sent.len() as u64);
}

#[test]
fn a_table_that_keeps_no_samples_still_counts_every_packet() {
    let (c, s) = (v4(1, 1234), v4(2, 4321));
    let mut h = Harness::new();
    h.table.keep_samples(false);
    for i in 0..10 {
        h.feed(P::udp(at(i), c, s).sized(100, 58));
    }
    let f = &h.finish()[0].0;
    assert!(f.samples().is_empty());
    assert_eq!((f.packets(), f.up.bytes), (10, 1000));
    // Half the size of a flow that keeps them inline.
    let size = std::mem::size_of::<Flow<()>>();
    println!("a flow: {size} bytes");
    assert!(
        size < SAMPLES * std::mem::size_of::<Sample>(),
        "{size} bytes"
    );
}

#[test]
fn sample_fields_saturate() {
    let (c, s) = (v4(1, 1), v4(2, 2));
    let mut h = Harness::new();
    h.feed(P::tcp(at(0), c, s, PSH_ACK).sized(70_000, 65_000));
    // Keep-alives every 500 s (within the TCP timeout) up to 5000 s: beyond what a u32 of
    // microseconds holds (about 4295 s).
    for k in 1..=10 {
        h.feed(P::tcp(at(k * 500_000), s, c, ACK).sized(100, 40_000));
    }
    let f = &h.finish()[0].0;
    let smp = f.samples();
    assert_eq!(smp.len(), 11);
    assert_eq!(
        (smp[0].size, smp[0].payload(), smp[0].dir()),
        (u16::MAX, 0x7fff, Dir::Up)
    );
    assert_eq!(
        (smp[1].size, smp[1].payload(), smp[1].dir()),
        (100, 0x7fff, Dir::Down)
    );
    assert_eq!(smp[1].offset_us, 500_000_000);
    assert_eq!(smp[10].offset_us, u32::MAX);
    // The counters themselves do not saturate.
    assert_eq!(f.up.bytes, 70_000);
    assert_eq!(f.up.payload_bytes, 65_000);
    assert_eq!(f.down.payload_bytes, 400_000);
}

/// A whole TCP connection closed by FINs both ways, between `t` ms and `t + 40` ms.
fn fin_closed(c: Endpoint, s: Endpoint, t: i64) -> Vec<P> {
    vec![
        P::tcp(at(t), c, s, SYN),
        P::tcp(at(t + 10), s, c, SYN_ACK),
        P::tcp(at(t + 20), c, s, ACK),
        P::tcp(at(t + 30), c, s, FIN_ACK),
        P::tcp(at(t + 35), s, c, FIN_ACK),
        P::tcp(at(t + 40), c, s, ACK),
    ]
}

#[test]
fn fin_both_ways_then_the_closed_timeout_ends_the_flow_as_fin() {
    let (c, s) = (v4(1, 50_000), v4(2, 80));
    let (o1, o2) = (v4(3, 1), v4(4, 2));
    let closed_after = i64::from(Timeouts::default().tcp_closed) * 1000;
    let mut h = Harness::new();
    h.feed_all(&fin_closed(c, s, 0));
    assert_eq!(h.table.len(), 1);
    // Another flow's packet just before the closed timeout runs out: still there.
    h.feed(P::udp(at(40 + closed_after - 1), o1, o2));
    assert!(h.ended.is_empty());
    // And after it.
    h.feed(P::udp(at(40 + closed_after + 1), o1, o2));
    assert_eq!(h.ended.len(), 1);
    let (f, reason) = &h.ended[0];
    assert_eq!(*reason, EndReason::Fin);
    assert_eq!(f.client(), c);
    assert_eq!(f.packets(), 6);
    assert_eq!(h.table.stats().flows_ended_closed, 1);
}

#[test]
fn one_fin_is_not_a_close() {
    let (c, s) = (v4(1, 50_000), v4(2, 80));
    let mut h = Harness::new();
    h.feed_all(&[P::tcp(at(0), c, s, PSH_ACK), P::tcp(at(1), c, s, FIN_ACK)]);
    // Well past the closed timeout, well within the open-TCP one.
    h.feed(P::udp(at(60_000), v4(7, 7), v4(8, 8)));
    assert!(h.ended.is_empty());
    let flows = h.finish();
    assert_eq!(flows[0].1, EndReason::EndOfInput);
}

#[test]
fn rst_ends_the_flow_as_rst() {
    let (c, s) = (v4(1, 50_000), v4(2, 80));
    let mut h = Harness::new();
    h.feed_all(&[P::tcp(at(0), c, s, SYN), P::tcp(at(1), s, c, RST | ACK)]);
    h.feed(P::udp(at(10_000), v4(7, 7), v4(8, 8)));
    assert_eq!(h.ended.len(), 1);
    assert_eq!(h.ended[0].1, EndReason::Rst);
    assert_eq!(h.ended[0].0.down.tcp_flags, RST | ACK);
}

#[test]
fn a_closed_flow_at_end_of_input_keeps_its_close_reason() {
    let mut h = Harness::new();
    h.feed_all(&fin_closed(v4(1, 1), v4(2, 2), 0));
    h.feed_all(&[
        P::tcp(at(100), v4(3, 3), v4(4, 4), SYN),
        P::tcp(at(101), v4(4, 4), v4(3, 3), RST),
    ]);
    let reasons: Vec<EndReason> = h.finish().iter().map(|(_, r)| *r).collect();
    assert_eq!(reasons, vec![EndReason::Fin, EndReason::Rst]);
}

#[test]
fn a_new_syn_after_a_fin_close_starts_a_second_flow() {
    let (c, s) = (v4(1, 50_000), v4(2, 80));
    let mut h = Harness::new();
    h.feed_all(&fin_closed(c, s, 0));
    // Port reuse well within the closed timeout.
    let o = h.feed(P::tcp(at(1000), c, s, SYN));
    assert!(o.new);
    assert_eq!(h.ended.len(), 1);
    assert_eq!(h.ended[0].1, EndReason::Fin);
    assert_eq!(h.ended[0].0.packets(), 6);
    h.feed(P::tcp(at(1001), s, c, SYN_ACK));
    let flows = h.finish();
    assert_eq!(flows.len(), 2);
    assert_eq!(flows[1].0.packets(), 2);
    assert_eq!(flows[1].0.first_ts, at(1000));
    assert_eq!(flows[1].0.client(), c);
}

#[test]
fn a_new_syn_after_a_rst_ends_the_old_flow_as_rst() {
    let (c, s) = (v4(1, 50_000), v4(2, 80));
    let mut h = Harness::new();
    h.feed_all(&[
        P::tcp(at(0), c, s, SYN),
        P::tcp(at(1), s, c, RST | ACK),
        P::tcp(at(500), c, s, SYN),
    ]);
    assert_eq!(h.ended.len(), 1);
    assert_eq!(h.ended[0].1, EndReason::Rst);
}

#[test]
fn late_packets_of_a_closed_flow_still_join_it() {
    let (c, s) = (v4(1, 50_000), v4(2, 80));
    let mut h = Harness::new();
    h.feed_all(&fin_closed(c, s, 0));
    // A retransmitted FIN within the closed timeout.
    let o = h.feed(P::tcp(at(2000), s, c, FIN_ACK));
    assert!(!o.new);
    let flows = h.finish();
    assert_eq!(flows.len(), 1);
    assert_eq!(flows[0].0.packets(), 7);
}

#[test]
fn udp_idle_timeout_splits_a_conversation() {
    let (c, s) = (v4(1, 5353), v4(2, 53));
    let udp = i64::from(Timeouts::default().udp) * 1000;
    // Just inside the timeout: one flow.
    let mut h = Harness::new();
    h.feed_all(&[P::udp(at(0), c, s), P::udp(at(udp - 1000), s, c)]);
    assert_eq!(h.finish().len(), 1);
    // Beyond it: the first flow ends idle, a second begins with the late packet.
    let mut h = Harness::new();
    h.feed_all(&[
        P::udp(at(0), c, s),
        P::udp(at(10), s, c),
        P::udp(at(10 + udp + 1000), s, c),
    ]);
    let flows = h.finish();
    assert_eq!(flows.len(), 2);
    assert_eq!(flows[0].1, EndReason::Idle);
    assert_eq!(flows[0].0.packets(), 2);
    assert_eq!(flows[1].1, EndReason::EndOfInput);
    assert_eq!(flows[1].0.packets(), 1);
    // The late packet opens the new flow; sent from the server's well-known port, it makes
    // its receiver the client, as the first flow had it.
    assert_eq!(flows[1].0.client(), c);
    assert_eq!(flows[1].0.down.packets, 1);
}

#[test]
fn tcp_idle_timeout_is_the_long_one() {
    let (c, s) = (v4(1, 50_000), v4(2, 5222));
    let tcp = i64::from(Timeouts::default().tcp) * 1000;
    let udp = i64::from(Timeouts::default().udp) * 1000;
    assert!(tcp > udp);
    let mut h = Harness::new();
    h.feed_all(&[
        P::tcp(at(0), c, s, SYN),
        P::tcp(at(10), s, c, SYN_ACK),
        P::tcp(at(20), c, s, ACK),
        // A keep-alive after longer than the UDP timeout keeps the connection whole.
        P::tcp(at(20 + udp * 2), c, s, ACK),
    ]);
    assert!(h.ended.is_empty());
    h.feed(P::tcp(at(20 + udp * 2 + tcp + 1000), s, c, ACK));
    assert_eq!(h.ended.len(), 1);
    assert_eq!(h.ended[0].1, EndReason::Idle);
    assert_eq!(h.ended[0].0.packets(), 4);
    assert_eq!(h.table.stats().flows_ended_idle, 1);
}

#[test]
fn other_protocols_use_their_own_timeout() {
    let (a, b) = (v4(1, 0), v4(2, 0));
    let other = i64::from(Timeouts::default().other) * 1000;
    let mut h = Harness::new();
    let icmp = |ts, from, to| P {
        ts,
        from,
        to,
        proto: proto::ICMP,
        flags: None,
        wire: 98,
        payload: 64,
    };
    h.feed_all(&[icmp(at(0), a, b), icmp(at(other - 1), b, a)]);
    assert!(h.ended.is_empty());
    h.feed(icmp(at(2 * other), a, b));
    assert_eq!(h.ended.len(), 1);
    assert_eq!(h.ended[0].1, EndReason::Idle);
}

#[test]
fn tick_expires_idle_flows_without_a_packet() {
    let mut h = Harness::new();
    h.feed(P::udp(at(0), v4(1, 1), v4(2, 2)));
    let ended = &mut h.ended;
    let now = h.table.tick(at(1_000_000), &mut |f, r| ended.push((f, r)));
    assert_eq!(now, at(1_000_000));
    assert_eq!(h.ended.len(), 1);
    assert_eq!(h.ended[0].1, EndReason::Idle);
    assert!(h.table.is_empty());
}

#[test]
fn eviction_ends_the_least_recently_seen_flows() {
    let mut h = Harness::with(Timeouts::default(), 3);
    let a = (v4(1, 1), v4(9, 9));
    let b = (v4(2, 2), v4(9, 9));
    let c = (v4(3, 3), v4(9, 9));
    let d = (v4(4, 4), v4(9, 9));
    let e = (v4(5, 5), v4(9, 9));
    // A and C are UDP, B is TCP: the oldest is found across timeout classes.
    h.feed(P::udp(at(0), a.0, a.1));
    h.feed(P::tcp(at(1), b.0, b.1, SYN));
    h.feed(P::udp(at(2), c.0, c.1));
    // A is seen again: now B is the least recently seen, then C.
    h.feed(P::udp(at(3), a.1, a.0));
    h.feed(P::udp(at(4), d.0, d.1));
    assert_eq!(h.table.len(), 3);
    h.feed(P::tcp(at(5), e.0, e.1, SYN));
    assert_eq!(h.table.len(), 3);
    let evicted: Vec<Endpoint> = h.ended.iter().map(|(f, _)| f.client()).collect();
    assert_eq!(evicted, vec![b.0, c.0]);
    assert!(h.ended.iter().all(|(_, r)| *r == EndReason::Evicted));
    let st = h.table.stats();
    assert_eq!(st.flows_evicted, 2);
    assert_eq!(st.flows_created, 5);
    assert_eq!(st.peak_flows, 3);
    let rest: Vec<Endpoint> = h.finish()[2..].iter().map(|(f, _)| f.client()).collect();
    assert_eq!(rest, vec![a.0, d.0, e.0]);
}

#[test]
fn max_flows_of_zero_still_tracks_one() {
    let mut h = Harness::with(Timeouts::default(), 0);
    h.feed(P::udp(at(0), v4(1, 1), v4(2, 2)));
    h.feed(P::udp(at(1), v4(2, 2), v4(1, 1)));
    assert_eq!(h.table.len(), 1);
    h.feed(P::udp(at(2), v4(3, 3), v4(4, 4)));
    assert_eq!(h.table.len(), 1);
    assert_eq!(h.table.stats().flows_evicted, 1);
    assert_eq!(h.ended[0].0.packets(), 2);
}

#[test]
fn timestamps_going_backwards_are_counted_and_do_not_move_the_clock() {
    let (c, s) = (v4(1, 41_000), v4(2, 42_000));
    let mut h = Harness::new();
    h.feed_all(&[
        P::udp(at(10_000), c, s),
        P::udp(at(5_000), s, c),  // backwards
        P::udp(at(7_000), c, s),  // still behind the clock
        P::udp(at(20_000), s, c), // forwards again
        P::udp(at(19_999), c, s), // backwards
    ]);
    assert_eq!(h.table.stats().timestamps_backwards, 3);
    assert_eq!(h.table.now(), Some(at(20_000)));
    let f = &h.finish()[0].0;
    assert_eq!(f.packets(), 5);
    assert_eq!((f.first_ts, f.last_ts), (at(5_000), at(20_000)));
    assert_eq!(
        (f.down.first_ts, f.down.last_ts),
        (Some(at(5_000)), Some(at(20_000)))
    );
    assert_eq!(f.up.last_ts, Some(at(19_999)));
    // Every packet is sampled, none with an offset beyond the flow's span.
    assert_eq!(f.samples().len(), 5);
    let span_us = (f.last_ts.as_nanos() - f.first_ts.as_nanos()) / 1_000;
    assert!(
        f.samples()
            .iter()
            .all(|x| i64::from(x.offset_us) <= span_us)
    );
}

#[test]
fn per_direction_first_time_is_the_earliest_like_the_flow_s() {
    let (c, s) = (v4(1, 41_000), v4(2, 42_000));
    let mut h = Harness::new();
    h.feed_all(&[
        P::udp(at(10_000), c, s),
        P::udp(at(12_000), s, c),
        P::udp(at(7_000), c, s), // backwards, earlier than the first up packet
    ]);
    let f = &h.finish()[0].0;
    assert_eq!(f.first_ts, at(7_000));
    assert_eq!(f.up.first_ts, Some(at(7_000)));
}

#[test]
fn extreme_timestamps_do_not_panic() {
    let (c, s) = (v4(1, 41_000), v4(2, 42_000));
    let mut h = Harness::new();
    for ts in [
        Timestamp(0),
        Timestamp(i64::MAX),
        Timestamp(1),
        Timestamp(i64::MAX - 1),
        Timestamp(0),
    ] {
        h.feed(P::udp(ts, c, s));
        h.feed(P::tcp(ts, c, s, SYN));
    }
    assert!(h.table.stats().timestamps_backwards >= 3);
    let flows = h.finish();
    let total: u64 = flows.iter().map(|(f, _)| f.packets()).sum();
    assert_eq!(total, 10);
}

#[test]
fn negative_and_positive_timestamps_in_one_flow_do_not_panic() {
    let (c, s) = (v4(1, 41_000), v4(2, 42_000));
    let mut h = Harness::new();
    // The clock stays at the latest time, so the flow is not idle when the third packet
    // comes; the second moved its first time far back.
    let (late, early) = (4_000_000_000_000_000_000, -6_000_000_000_000_000_000);
    h.feed(P::udp(Timestamp(late), c, s));
    h.feed(P::udp(Timestamp(early), s, c));
    h.feed(P::udp(Timestamp(late), c, s));
    assert_eq!(h.finish()[0].0.packets(), 3);
}

#[test]
fn flush_orders_flows_by_first_packet_time() {
    let mut h = Harness::new();
    // Forty flows created in an order unrelated to their endpoints, with first packets spread
    // in time; one arrives with a timestamp earlier than all others (clock going backwards).
    let mut expected = Vec::new();
    for i in 0..40u16 {
        let port = 10_000 + (u32::from(i) * 7919 % 40) as u16;
        let c = v4((i % 5) as u8 + 1, port);
        let ts = at(i64::from(i) * 100);
        h.feed(P::udp(ts, c, v4(200, 53)));
        expected.push((ts, c));
    }
    let early = v6(1, 1);
    h.feed(P::udp(at(-5_000), early, v6(2, 2)));
    expected.push((at(-5_000), early));
    expected.sort();
    let order: Vec<(Timestamp, Endpoint)> = h
        .finish()
        .iter()
        .map(|(f, r)| {
            assert_eq!(*r, EndReason::EndOfInput);
            (f.first_ts, f.client())
        })
        .collect();
    assert_eq!(order, expected);
}

#[test]
fn flush_ties_on_first_time_are_broken_by_key() {
    let mut h = Harness::new();
    let ends: Vec<Endpoint> = (1..=20u8).rev().map(|i| v4(i, 1)).collect();
    for &e in &ends {
        h.feed(P::udp(at(0), e, v4(100, 2)));
    }
    let order: Vec<Endpoint> = h.finish().iter().map(|(f, _)| f.client()).collect();
    let mut sorted = ends.clone();
    sorted.sort();
    assert_eq!(order, sorted);
}

#[test]
fn slots_are_reused_after_flows_end() {
    let mut h = Harness::with(Timeouts::default(), 4);
    // Many short flows one after another: the table never holds more than its cap, and every
    // flow comes out whole.
    for i in 0..500u16 {
        let c = v4((i % 250) as u8, 1024 + i);
        h.feed(P::udp(at(i64::from(i) * 10), c, v4(254, 53)));
        h.feed(P::udp(at(i64::from(i) * 10 + 1), v4(254, 53), c));
    }
    assert!(h.table.len() <= 4);
    let flows = h.finish();
    assert_eq!(flows.len(), 500);
    assert!(flows.iter().all(|(f, _)| f.packets() == 2));
}

#[test]
fn flow_key_is_the_same_both_ways() {
    for (x, y) in [
        (v4(1, 80), v4(2, 1)),
        (v6(9, 1), v6(3, 2)),
        (v4(5, 9), v4(5, 8)),
    ] {
        let a = P::udp(at(0), x, y).packet();
        let b = P::udp(at(0), y, x).packet();
        let (ka, lo_a) = FlowKey::of(&a);
        let (kb, lo_b) = FlowKey::of(&b);
        assert_eq!(ka, kb);
        assert_ne!(lo_a, lo_b);
        assert!(ka.lo < ka.hi);
        assert_eq!(ka.lo, x.min(y));
    }
}

#[test]
fn names_of_protocols_and_flags() {
    assert_eq!(proto_name(proto::TCP), "tcp");
    assert_eq!(proto_name(proto::UDP), "udp");
    assert_eq!(proto_name(proto::ICMP), "icmp");
    assert_eq!(proto_name(proto::ICMPV6), "icmpv6");
    assert_eq!(proto_name(47), "47");
    assert_eq!(tcp_flags_str(0), "");
    assert_eq!(tcp_flags_str(0xff), "SAPFRUEC");
    assert_eq!(tcp_flags_str(SYN_ACK), "SA");
}
