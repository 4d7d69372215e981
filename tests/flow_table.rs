//! The flow table driven through the whole pipeline with synthetic frames: one flow per
//! conversation with the right client and per-direction counts (on-wire bytes, snaplen cuts
//! included), closes, idle timeouts, eviction, clocks going backwards, flush order, determinism,
//! and IP fragments counted once per datagram.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use onlooker::analysis::pipeline::{Pipeline, PipelineConfig, RunEnd, RunStats};
use onlooker::capture::memory::{MemorySource, OwnedFrame};
use onlooker::capture::writer::{Transport, ethernet_frame, tcp_flags};
use onlooker::capture::{LinkType, Timestamp};
use onlooker::flow::{Dir, EndReason, Flow, Timeouts};
use onlooker::model::FlowRecord;

const T0: i64 = 1_700_000_000;

fn at(ms: i64) -> Timestamp {
    Timestamp::from_nanos(T0 * Timestamp::NANOS_PER_SEC + ms * 1_000_000)
}

fn v4(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 168, 1, last))
}

fn v6(last: u16) -> IpAddr {
    IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, last))
}

type Ep = (IpAddr, u16);

fn tcp(ms: i64, from: Ep, to: Ep, flags: u8, payload: &[u8]) -> OwnedFrame {
    let data = ethernet_frame(
        from,
        to,
        Transport::Tcp {
            seq: 1,
            ack: 1,
            flags,
        },
        payload,
    )
    .unwrap();
    OwnedFrame::new(at(ms), LinkType::ETHERNET, data)
}

fn udp(ms: i64, from: Ep, to: Ep, payload: &[u8]) -> OwnedFrame {
    let data = ethernet_frame(from, to, Transport::Udp, payload).unwrap();
    OwnedFrame::new(at(ms), LinkType::ETHERNET, data)
}

/// Everything one run produced.
struct Run {
    flows: Vec<(Flow<()>, EndReason)>,
    /// Per packet the hook saw: flow client, direction, whether it created the flow.
    seen: Vec<(Ep, Dir, bool)>,
    stats: RunStats,
}

impl Run {
    fn records(&self) -> Vec<FlowRecord> {
        self.flows
            .iter()
            .map(|(f, r)| FlowRecord::from_flow(f, *r))
            .collect()
    }
}

fn run_with(cfg: PipelineConfig, frames: Vec<OwnedFrame>) -> Run {
    let mut source = MemorySource::new(frames);
    let mut pipeline: Pipeline<()> = Pipeline::new(cfg);
    let mut flows = Vec::new();
    let mut seen = Vec::new();
    let end = pipeline.run(
        &mut source,
        &mut |f, _p, obs| seen.push((f.client(), obs.dir, obs.new)),
        &mut |f, r| flows.push((f, r)),
    );
    assert!(matches!(end, RunEnd::Complete));
    let stats = pipeline.stats();
    // No frame is dropped without being counted.
    let skipped: u64 = stats.undecodable.values().sum();
    assert_eq!(stats.frames, stats.decoded + skipped, "{stats:?}");
    Run { flows, seen, stats }
}

fn run(frames: Vec<OwnedFrame>) -> Run {
    run_with(PipelineConfig::default(), frames)
}

fn frame_len(f: &OwnedFrame) -> u64 {
    u64::from(f.wire_len)
}

#[test]
fn a_tcp_conversation_is_one_flow_with_per_direction_counts() {
    let c = (v4(10), 51_515);
    let s = (v4(1), 443);
    use tcp_flags::*;
    let up = [
        tcp(0, c, s, SYN, b""),
        tcp(40, c, s, ACK, b""),
        tcp(41, c, s, PSH | ACK, &[1; 517]),
        tcp(300, c, s, FIN | ACK, b""),
    ];
    let down = [
        tcp(39, s, c, SYN | ACK, b""),
        tcp(80, s, c, PSH | ACK, &[2; 1400]),
        tcp(81, s, c, PSH | ACK, &[3; 99]),
        tcp(301, s, c, FIN | ACK, b""),
    ];
    let mut frames: Vec<OwnedFrame> = up.iter().chain(&down).cloned().collect();
    frames.sort_by_key(|f| f.ts);
    let r = run(frames.clone());
    assert_eq!(r.flows.len(), 1);
    let (f, reason) = &r.flows[0];
    assert_eq!(*reason, EndReason::Fin);
    assert_eq!((f.client(), f.server()), (c, s));
    assert_eq!(f.up.packets, up.len() as u64);
    assert_eq!(f.down.packets, down.len() as u64);
    assert_eq!(f.up.bytes, up.iter().map(frame_len).sum::<u64>());
    assert_eq!(f.down.bytes, down.iter().map(frame_len).sum::<u64>());
    assert_eq!(f.up.payload_bytes, 517);
    assert_eq!(f.down.payload_bytes, 1499);
    assert_eq!((f.first_ts, f.last_ts), (at(0), at(301)));
    assert_eq!((f.up.first_ts, f.up.last_ts), (Some(at(0)), Some(at(300))));
    assert_eq!(
        (f.down.first_ts, f.down.last_ts),
        (Some(at(39)), Some(at(301)))
    );
    assert_eq!(f.up.tcp_flags, SYN | ACK | PSH | FIN);
    assert_eq!(f.down.tcp_flags, SYN | ACK | PSH | FIN);
    let rec = FlowRecord::from_flow(f, *reason);
    assert_eq!(rec.tcp_flags, "SAPF");
    assert_eq!(rec.end_reason, "fin");
    assert_eq!(rec.proto.to_string(), "tcp");
    assert_eq!(rec.client.to_string(), "192.168.1.10:51515");
    // The hook saw every packet, in order, with its direction.
    let dirs: Vec<Dir> = r.seen.iter().map(|s| s.1).collect();
    let expected: Vec<Dir> = frames
        .iter()
        .map(|fr| {
            if up.iter().any(|u| u.ts == fr.ts) {
                Dir::Up
            } else {
                Dir::Down
            }
        })
        .collect();
    assert_eq!(dirs, expected);
    assert_eq!(r.seen.iter().filter(|s| s.2).count(), 1);
    assert_eq!(r.stats.frames, frames.len() as u64);
    assert_eq!(r.stats.decoded, frames.len() as u64);
    assert_eq!(r.stats.bytes, frames.iter().map(frame_len).sum::<u64>());
}

#[test]
fn syn_ack_seen_first_names_its_receiver_the_client() {
    let c = (v4(200), 60_000);
    let s = (v4(2), 993);
    use tcp_flags::*;
    let r = run(vec![
        tcp(0, s, c, SYN | ACK, b""),
        tcp(1, c, s, ACK, b""),
        tcp(2, c, s, PSH | ACK, b"a"),
    ]);
    let f = &r.flows[0].0;
    assert_eq!((f.client(), f.server()), (c, s));
    assert_eq!((f.up.packets, f.down.packets), (2, 1));
}

#[test]
fn bytes_are_on_wire_lengths_even_when_the_snaplen_cut_the_frame() {
    let c = (v6(1), 4433);
    let s = (v6(2), 443);
    let full = udp(0, c, s, &[9; 1200]);
    let mut cut = full.clone();
    cut.data.truncate(96);
    assert!(cut.wire_len as usize > cut.data.len());
    let mut tiny = udp(5, s, c, &[8; 700]);
    tiny.data.truncate(62); // Ethernet + IPv6 + UDP header only
    let r = run(vec![cut.clone(), tiny.clone()]);
    let f = &r.flows[0].0;
    assert_eq!(f.up.bytes, u64::from(full.wire_len));
    assert_eq!(f.down.bytes, u64::from(tiny.wire_len));
    assert_eq!(f.up.payload_bytes, 1200);
    assert_eq!(f.down.payload_bytes, 700);
    assert_eq!(
        r.stats.bytes,
        u64::from(full.wire_len) + u64::from(tiny.wire_len)
    );
    let smp = f.samples();
    assert_eq!(u32::from(smp[0].size), full.wire_len);
    assert_eq!(smp[0].payload(), 1200);
}

#[test]
fn samples_keep_the_first_64_packets() {
    let c = (v4(3), 3478);
    let s = (v4(4), 3478 + 1);
    let mut frames = Vec::new();
    let mut expect = Vec::new();
    for i in 0..65usize {
        let down = i % 4 == 3;
        let len = (i * 13) % 900;
        let payload = vec![0u8; len];
        let (from, to) = if down { (s, c) } else { (c, s) };
        let f = udp(i as i64 * 20, from, to, &payload);
        expect.push((
            if down { Dir::Down } else { Dir::Up },
            f.wire_len,
            len,
            i as i64 * 20_000,
        ));
        frames.push(f);
    }
    let r = run(frames);
    let f = &r.flows[0].0;
    let samples = f.samples();
    assert_eq!(samples.len(), 64);
    for (i, (smp, e)) in samples.iter().zip(&expect).enumerate() {
        assert_eq!(
            (
                smp.dir(),
                u32::from(smp.size),
                usize::from(smp.payload()),
                i64::from(smp.offset_us)
            ),
            *e,
            "sample {i}"
        );
    }
    assert_eq!(f.packets(), 65);
}

#[test]
fn closes_rst_and_port_reuse() {
    use tcp_flags::*;
    let c = (v4(10), 40_000);
    let s = (v4(1), 80);
    let c2 = (v4(11), 40_001);
    let closed = i64::from(Timeouts::default().tcp_closed) * 1000;
    let r = run(vec![
        // A connection closed by FINs, then the same 5-tuple reused by a new SYN.
        tcp(0, c, s, SYN, b""),
        tcp(1, s, c, SYN | ACK, b""),
        tcp(2, c, s, FIN | ACK, b""),
        tcp(3, s, c, FIN | ACK, b""),
        tcp(4, c, s, ACK, b""),
        tcp(1000, c, s, SYN, b""),
        tcp(1001, s, c, SYN | ACK, b""),
        // A connection reset.
        tcp(1100, c2, s, SYN, b""),
        tcp(1101, s, c2, RST | ACK, b""),
        // Something much later, so the closed flows expire by time.
        udp(1101 + closed * 3, (v4(50), 5), (v4(51), 6), b"x"),
    ]);
    let got: Vec<(Ep, u64, EndReason)> = r
        .flows
        .iter()
        .map(|(f, why)| (f.client(), f.packets(), *why))
        .collect();
    // The reused connection is still open when the late packet comes: it ends at the end of
    // input, after the flows that closed.
    assert_eq!(
        got,
        vec![
            (c, 5, EndReason::Fin),
            (c2, 2, EndReason::Rst),
            (c, 2, EndReason::EndOfInput),
            ((v4(50), 5), 1, EndReason::EndOfInput),
        ]
    );
    assert_eq!(r.stats.flows.flows_ended_closed, 2);
}

#[test]
fn udp_idle_beyond_the_timeout_makes_two_flows() {
    let c = (v4(7), 5353);
    let s = (v4(8), 53);
    let idle = i64::from(Timeouts::default().udp) * 1000;
    let r = run(vec![
        udp(0, c, s, b"q"),
        udp(5, s, c, b"r"),
        udp(5 + idle + 1000, c, s, b"q"),
        udp(5 + idle + 1001, s, c, b"r"),
    ]);
    let got: Vec<(u64, EndReason, Timestamp)> = r
        .flows
        .iter()
        .map(|(f, why)| (f.packets(), *why, f.first_ts))
        .collect();
    assert_eq!(
        got,
        vec![
            (2, EndReason::Idle, at(0)),
            (2, EndReason::EndOfInput, at(5 + idle + 1000)),
        ]
    );
    assert_eq!(r.stats.flows.flows_ended_idle, 1);
    assert_eq!(r.stats.flows.flows_created, 2);
}

#[test]
fn tcp_idle_beyond_its_timeout_ends_idle() {
    use tcp_flags::*;
    let c = (v4(7), 50_000);
    let s = (v4(8), 5223);
    let idle = i64::from(Timeouts::default().tcp) * 1000;
    let r = run(vec![
        tcp(0, c, s, SYN, b""),
        tcp(1, s, c, SYN | ACK, b""),
        tcp(2, c, s, ACK, b""),
        tcp(idle - 1000, c, s, PSH | ACK, b"keepalive"),
        tcp(2 * idle, s, c, PSH | ACK, b"late"),
    ]);
    assert_eq!(r.flows.len(), 2);
    assert_eq!(r.flows[0].1, EndReason::Idle);
    assert_eq!(r.flows[0].0.packets(), 4);
    assert_eq!(r.flows[1].0.packets(), 1);
}

#[test]
fn max_flows_evicts_the_least_recently_seen() {
    let s = (v4(1), 443);
    let cl = |i: u8| (v4(100 + i), 10_000 + u16::from(i));
    let cfg = PipelineConfig {
        max_flows: 3,
        ..PipelineConfig::default()
    };
    let r = run_with(
        cfg,
        vec![
            udp(0, cl(0), s, b"a"),
            udp(1, cl(1), s, b"b"),
            udp(2, cl(2), s, b"c"),
            // Flow 0 is refreshed, so 1 then 2 are the least recently seen.
            udp(3, s, cl(0), b"a'"),
            udp(4, cl(3), s, b"d"),
            udp(5, cl(4), s, b"e"),
        ],
    );
    assert_eq!(r.stats.flows.flows_evicted, 2);
    assert_eq!(r.stats.flows.peak_flows, 3);
    let evicted: Vec<Ep> = r
        .flows
        .iter()
        .filter(|(_, why)| *why == EndReason::Evicted)
        .map(|(f, _)| f.client())
        .collect();
    assert_eq!(evicted, vec![cl(1), cl(2)]);
    let kept: Vec<(Ep, u64)> = r
        .flows
        .iter()
        .filter(|(_, why)| *why == EndReason::EndOfInput)
        .map(|(f, _)| (f.client(), f.packets()))
        .collect();
    assert_eq!(kept, vec![(cl(0), 2), (cl(3), 1), (cl(4), 1)]);
}

#[test]
fn timestamps_going_backwards_are_counted() {
    let c = (v4(1), 1);
    let s = (v4(2), 2);
    let r = run(vec![
        udp(10_000, c, s, b"1"),
        udp(9_000, s, c, b"2"),
        udp(11_000, c, s, b"3"),
        udp(0, s, c, b"4"),
        udp(-1_000_000, c, s, b"5"),
    ]);
    assert_eq!(r.stats.flows.timestamps_backwards, 3);
    assert_eq!(r.flows.len(), 1);
    let f = &r.flows[0].0;
    assert_eq!(f.packets(), 5);
    assert_eq!((f.first_ts, f.last_ts), (at(-1_000_000), at(11_000)));
}

#[test]
fn end_of_input_flushes_in_order_of_first_packet() {
    let s = (v4(1), 53);
    let mut frames = Vec::new();
    let mut firsts = Vec::new();
    for i in 0..30u8 {
        // Clients in an order unrelated to their times.
        let c = (
            v4(2 + ((u16::from(i) * 37) % 200) as u8),
            1000 + u16::from(i),
        );
        let t = i64::from(i) * 10;
        frames.push(udp(t, c, s, b"q"));
        firsts.push((at(t), c));
    }
    // Every flow answered afterwards, newest first.
    for &(_, c) in firsts.clone().iter().rev() {
        frames.push(udp(1000, s, c, b"r"));
    }
    let r = run(frames);
    let order: Vec<(Timestamp, Ep)> = r
        .flows
        .iter()
        .map(|(f, _)| (f.first_ts, f.client()))
        .collect();
    firsts.sort();
    assert_eq!(order, firsts);
    assert!(
        r.flows
            .iter()
            .all(|(f, why)| *why == EndReason::EndOfInput && f.packets() == 2)
    );
}

/// A mixed input with every kind of event: several flows, closes, idles, junk frames.
fn mixed_input() -> Vec<OwnedFrame> {
    use tcp_flags::*;
    let mut frames = Vec::new();
    for i in 0..20u16 {
        let c = (
            if i % 2 == 0 {
                v4(10 + i as u8)
            } else {
                v6(10 + i)
            },
            40_000 + i,
        );
        let s = (if i % 2 == 0 { v4(1) } else { v6(1) }, 443);
        let t = i64::from(i) * 7_000;
        frames.push(tcp(t, c, s, SYN, b""));
        frames.push(tcp(t + 1, s, c, SYN | ACK, b""));
        frames.push(tcp(t + 2, c, s, PSH | ACK, &vec![0; usize::from(i) * 10]));
        if i % 3 == 0 {
            frames.push(tcp(t + 3, c, s, RST, b""));
        }
        frames.push(udp(t + 4, c, (s.0, 53), b"dns"));
    }
    // An ARP frame and a frame of a link type nobody decodes.
    let mut arp = vec![0xff; 12];
    arp.extend_from_slice(&[0x08, 0x06]);
    arp.extend_from_slice(&[0; 28]);
    frames.push(OwnedFrame::new(at(500), LinkType::ETHERNET, arp));
    frames.push(OwnedFrame::new(at(501), LinkType(147), vec![1, 2, 3]));
    frames.sort_by_key(|f| f.ts);
    frames
}

#[test]
fn the_same_input_twice_gives_identical_records() {
    let a = run(mixed_input());
    let b = run(mixed_input());
    assert_eq!(a.records(), b.records());
    assert_eq!(
        serde_json::to_string(&a.stats).unwrap(),
        serde_json::to_string(&b.stats).unwrap()
    );
    assert!(a.records().len() >= 40);
    assert_eq!(a.stats.undecodable.get("not_ip"), Some(&1));
    assert_eq!(a.stats.undecodable.get("unsupported_link_type"), Some(&1));
}

// ---------------------------------------------------------------------------------------------
// IP fragments
// ---------------------------------------------------------------------------------------------

const FRAG_ID: u16 = 0x4242;

/// A UDP datagram of `payload` from `src` to `dst`, as the bytes after the IP header.
fn udp_datagram(src_port: u16, dst_port: u16, payload: &[u8]) -> Vec<u8> {
    let mut d = Vec::new();
    d.extend_from_slice(&src_port.to_be_bytes());
    d.extend_from_slice(&dst_port.to_be_bytes());
    d.extend_from_slice(&u16::try_from(payload.len() + 8).unwrap().to_be_bytes());
    d.extend_from_slice(&[0, 0]);
    d.extend_from_slice(payload);
    d
}

/// An Ethernet frame with one IPv4 fragment of a UDP datagram.
fn v4_fragment(src: Ipv4Addr, dst: Ipv4Addr, offset: usize, more: bool, data: &[u8]) -> Vec<u8> {
    assert_eq!(offset % 8, 0);
    let mut f = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00];
    let total = u16::try_from(20 + data.len()).unwrap();
    let frag = (u16::from(more) << 13) | u16::try_from(offset / 8).unwrap();
    f.extend_from_slice(&[0x45, 0]);
    f.extend_from_slice(&total.to_be_bytes());
    f.extend_from_slice(&FRAG_ID.to_be_bytes());
    f.extend_from_slice(&frag.to_be_bytes());
    f.extend_from_slice(&[64, 17, 0, 0]);
    f.extend_from_slice(&src.octets());
    f.extend_from_slice(&dst.octets());
    f.extend_from_slice(data);
    f
}

/// An Ethernet frame with one IPv6 fragment (fragment header) of a UDP datagram.
fn v6_fragment(src: Ipv6Addr, dst: Ipv6Addr, offset: usize, more: bool, data: &[u8]) -> Vec<u8> {
    assert_eq!(offset % 8, 0);
    let mut f = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x86, 0xdd];
    f.extend_from_slice(&[0x60, 0, 0, 0]);
    f.extend_from_slice(&u16::try_from(8 + data.len()).unwrap().to_be_bytes());
    f.extend_from_slice(&[44, 64]);
    f.extend_from_slice(&src.octets());
    f.extend_from_slice(&dst.octets());
    let off = (u16::try_from(offset / 8).unwrap() << 3) | u16::from(more);
    f.extend_from_slice(&[17, 0]);
    f.extend_from_slice(&off.to_be_bytes());
    f.extend_from_slice(&u32::from(FRAG_ID).to_be_bytes());
    f.extend_from_slice(data);
    f
}

/// Cut `datagram` at `cuts` (multiples of 8) and build one frame per piece with `build`.
fn fragments(
    datagram: &[u8],
    cuts: &[usize],
    build: impl Fn(usize, bool, &[u8]) -> Vec<u8>,
) -> Vec<Vec<u8>> {
    let mut bounds = vec![0];
    bounds.extend_from_slice(cuts);
    bounds.push(datagram.len());
    bounds
        .windows(2)
        .map(|w| build(w[0], w[1] < datagram.len(), &datagram[w[0]..w[1]]))
        .collect()
}

/// Run `pieces` (sent in the order of `order`, 10 ms apart) plus one unrelated packet, and
/// check the datagram counted once, as the frame that arrived last.
fn check_fragmented_datagram(pieces: &[Vec<u8>], order: &[usize], udp_payload_len: usize) {
    let frames: Vec<OwnedFrame> = order
        .iter()
        .enumerate()
        .map(|(k, &i)| OwnedFrame::new(at(k as i64 * 10), LinkType::ETHERNET, pieces[i].clone()))
        .collect();
    let completing = frames.last().unwrap().clone();
    let r = run(frames);
    assert_eq!(r.flows.len(), 1, "{:?}", r.records());
    let f = &r.flows[0].0;
    assert_eq!(f.packets(), 1, "a fragmented datagram counts once");
    assert_eq!(f.bytes(), u64::from(completing.wire_len));
    assert_eq!(f.first_ts, completing.ts);
    assert_eq!(f.up.payload_bytes, udp_payload_len as u64);
    assert_eq!((f.client().1, f.server().1), (5004, 5005));
    let non_first = pieces.len() - 1;
    assert_eq!(
        r.stats.undecodable.get("ip_fragment_non_first").copied(),
        Some(non_first as u64)
    );
    assert_eq!(r.stats.fragments.datagrams_completed, 1);
    assert_eq!(r.stats.fragments.datagrams_incomplete, 0);
}

#[test]
fn ipv4_fragments_in_order_and_reversed_count_one_packet() {
    let (src, dst) = (Ipv4Addr::new(10, 9, 8, 7), Ipv4Addr::new(10, 9, 8, 6));
    let payload: Vec<u8> = (0..2900u32).map(|i| i as u8).collect();
    let datagram = udp_datagram(5004, 5005, &payload);
    // Three fragments of different sizes, so which frame was counted shows in the bytes.
    let pieces = fragments(&datagram, &[1480, 2680], |o, m, d| {
        v4_fragment(src, dst, o, m, d)
    });
    assert_eq!(pieces.len(), 3);
    check_fragmented_datagram(&pieces, &[0, 1, 2], payload.len());
    check_fragmented_datagram(&pieces, &[2, 1, 0], payload.len());
}

#[test]
fn ipv6_fragments_in_order_and_reversed_count_one_packet() {
    let (src, dst) = (
        Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 7),
        Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 6),
    );
    let payload: Vec<u8> = (0..3000u32).map(|i| (i * 7) as u8).collect();
    let datagram = udp_datagram(5004, 5005, &payload);
    let pieces = fragments(&datagram, &[1448, 2400], |o, m, d| {
        v6_fragment(src, dst, o, m, d)
    });
    check_fragmented_datagram(&pieces, &[0, 1, 2], payload.len());
    check_fragmented_datagram(&pieces, &[2, 1, 0], payload.len());
}

#[test]
fn a_lone_first_fragment_counts_itself_at_end_of_input() {
    let (src, dst) = (Ipv4Addr::new(10, 9, 8, 7), Ipv4Addr::new(10, 9, 8, 6));
    let datagram = udp_datagram(5004, 5005, &[1u8; 2000]);
    let pieces = fragments(&datagram, &[1480], |o, m, d| v4_fragment(src, dst, o, m, d));
    let first = OwnedFrame::new(at(0), LinkType::ETHERNET, pieces[0].clone());
    let r = run(vec![first.clone()]);
    assert_eq!(r.flows.len(), 1);
    let f = &r.flows[0].0;
    assert_eq!(f.packets(), 1);
    assert_eq!(f.bytes(), u64::from(first.wire_len));
    assert_eq!(f.first_ts, at(0));
    assert_eq!(r.stats.fragments.datagrams_incomplete, 1);
    assert_eq!(r.stats.fragments.datagrams_completed, 0);
    assert_eq!(r.stats.decoded, 1);
}

#[test]
fn middle_fragments_are_counted_apart() {
    let (src, dst) = (
        Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 7),
        Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 6),
    );
    let datagram = udp_datagram(5004, 5005, &[3u8; 5000]);
    let pieces = fragments(&datagram, &[1000, 2000, 3000, 4000], |o, m, d| {
        v6_fragment(src, dst, o, m, d)
    });
    // Only the middle fragments: no flow, each counted as a non-first fragment.
    let frames: Vec<OwnedFrame> = pieces[1..4]
        .iter()
        .enumerate()
        .map(|(k, p)| OwnedFrame::new(at(k as i64), LinkType::ETHERNET, p.clone()))
        .collect();
    let r = run(frames);
    assert!(r.flows.is_empty());
    assert_eq!(r.stats.undecodable.get("ip_fragment_non_first"), Some(&3));
    assert_eq!(r.stats.decoded, 0);
}

#[test]
fn a_first_fragment_given_up_after_the_reassembly_timeout_counts_alone_at_its_own_time() {
    use onlooker::flow::fragments::REASSEMBLY_TIMEOUT_SECS;
    let (src, dst) = (Ipv4Addr::new(10, 9, 8, 7), Ipv4Addr::new(10, 9, 8, 6));
    let datagram = udp_datagram(5004, 5005, &[1u8; 2000]);
    let pieces = fragments(&datagram, &[1480], |o, m, d| v4_fragment(src, dst, o, m, d));
    let late = i64::from(REASSEMBLY_TIMEOUT_SECS) * 1000 + 1000;
    let first = OwnedFrame::new(at(0), LinkType::ETHERNET, pieces[0].clone());
    // Its last fragment comes too late to complete it.
    let last = OwnedFrame::new(at(late), LinkType::ETHERNET, pieces[1].clone());
    let r = run(vec![first.clone(), last]);
    assert_eq!(r.stats.fragments.datagrams_completed, 0);
    // The given-up first half, and the late last fragment that never found its first.
    assert!(r.stats.fragments.datagrams_incomplete >= 1);
    assert_eq!(r.stats.flows.timestamps_backwards, 0);
    assert_eq!(r.flows.len(), 1);
    let f = &r.flows[0].0;
    assert_eq!((f.packets(), f.bytes()), (1, u64::from(first.wire_len)));
    assert_eq!(f.first_ts, at(0));
}
