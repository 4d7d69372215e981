//! Floods against every table the analysis keeps: the flow table stays within `--max-flows`
//! and counts each eviction; one flow of many packets keeps at most `flow::SAMPLES` samples;
//! IP fragments that never complete stay within `fragments::MAX_PENDING` and are counted;
//! DNS answers for more (client, server) pairs than `naming::DNS_MAP_CAP` evict the oldest and
//! count them. The memory side (peak RSS for 5 M flows) is a benchmark: scripts/flood.sh.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::{IpAddr, Ipv4Addr};

use onlooker::analysis::pipeline::{Pipeline, PipelineConfig};
use onlooker::capture::memory::{MemorySource, OwnedFrame};
use onlooker::capture::writer::{Transport, ethernet_frame};
use onlooker::capture::{Frame, LinkType, Timestamp};
use onlooker::flow::fragments::{FragmentTracker, MAX_PENDING};

fn addr(i: u32) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | (i & 0x00ff_ffff)))
}

fn ts(us: i64) -> Timestamp {
    Timestamp::from_nanos(1_700_000_000_000_000_000 + us * 1_000)
}

#[test]
fn a_flood_of_distinct_flows_stays_within_max_flows() {
    const FLOWS: u32 = 200_000;
    const CAP: usize = 5_000;
    let frames: Vec<OwnedFrame> = (0..FLOWS)
        .map(|i| {
            let f = ethernet_frame(
                (addr(i), 1024 + (i % 50_000) as u16),
                (IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), 9),
                Transport::Udp,
                b"x",
            )
            .unwrap();
            OwnedFrame::new(ts(i64::from(i)), LinkType::ETHERNET, f)
        })
        .collect();
    let mut source = MemorySource::new(frames);
    let cfg = PipelineConfig {
        max_flows: CAP,
        ..PipelineConfig::default()
    };
    let mut p: Pipeline<()> = Pipeline::new(cfg);
    let mut ended = 0u64;
    let mut packets = 0u64;
    p.run(&mut source, &mut |_, _, _| {}, &mut |f, _| {
        ended += 1;
        packets += f.packets();
    });
    let s = p.stats();
    assert_eq!(s.flows.flows_created, u64::from(FLOWS));
    assert_eq!(
        s.flows.peak_flows, CAP as u64,
        "never more than --max-flows at once"
    );
    assert_eq!(
        s.flows.flows_evicted,
        u64::from(FLOWS) - CAP as u64,
        "each eviction counted"
    );
    assert_eq!(ended, u64::from(FLOWS), "every flow reaches the output");
    assert_eq!(packets, u64::from(FLOWS), "no packet lost");
    assert!(p.table.is_empty());
}

#[test]
fn one_flow_of_many_packets_keeps_a_bounded_sample() {
    const PACKETS: i64 = 100_000;
    let c = (IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 5000);
    let s = (IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)), 6000);
    let up = ethernet_frame(c, s, Transport::Udp, &[1; 200]).unwrap();
    let down = ethernet_frame(s, c, Transport::Udp, &[2; 100]).unwrap();
    let frames: Vec<OwnedFrame> = (0..PACKETS)
        .map(|i| {
            let f = if i % 2 == 0 { up.clone() } else { down.clone() };
            OwnedFrame::new(ts(i * 100), LinkType::ETHERNET, f)
        })
        .collect();
    let mut source = MemorySource::new(frames);
    let mut p: Pipeline<()> = Pipeline::new(PipelineConfig::default());
    let mut got = Vec::new();
    p.run(&mut source, &mut |_, _, _| {}, &mut |f, _| {
        got.push((f.packets(), f.samples().len()))
    });
    assert_eq!(got, vec![(PACKETS as u64, onlooker::flow::SAMPLES)]);
}

/// IPv4 first fragments (offset 0, more fragments) of distinct datagrams whose rest never
/// comes: an Ethernet UDP frame with the MF bit and an identification set in its IP header.
fn first_fragment(i: u32) -> Vec<u8> {
    let mut f = ethernet_frame(
        (addr(i % 1000), 4000),
        (IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7)), 4001),
        Transport::Udp,
        &[0; 64],
    )
    .unwrap();
    let ip = 14;
    f[ip + 4..ip + 6].copy_from_slice(&(i as u16).to_be_bytes());
    f[ip + 6] = 0x20; // MF, offset 0
    f[ip + 7] = 0;
    // Header checksum (RFC 791) over the changed header.
    f[ip + 10] = 0;
    f[ip + 11] = 0;
    let mut sum = 0u32;
    for w in f[ip..ip + 20].chunks(2) {
        sum += u32::from(u16::from_be_bytes([w[0], w[1]]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    f[ip + 10..ip + 12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
    f
}

#[test]
fn a_flood_of_fragments_that_never_complete_stays_within_the_cap() {
    const DATAGRAMS: u32 = 3 * MAX_PENDING as u32;
    let mut t = FragmentTracker::default();
    let mut released = 0usize;
    for i in 0..DATAGRAMS {
        let bytes = first_fragment(i);
        let frame = Frame {
            ts: ts(i64::from(i)),
            wire_len: bytes.len() as u32,
            link: LinkType::ETHERNET,
            data: &bytes,
        };
        let pkt = onlooker::decode::decode(&frame).unwrap();
        assert!(pkt.frag.is_some(), "fragment {i} decodes as one");
        t.push(&pkt, &mut |_| released += 1);
        // Everything beyond the cap is given up (and released to count alone) at once.
        assert_eq!(
            released,
            (i as usize + 1).saturating_sub(MAX_PENDING),
            "after {i}"
        );
    }
    assert_eq!(
        t.stats().datagrams_incomplete,
        u64::from(DATAGRAMS) - MAX_PENDING as u64
    );
    let mut rest = 0usize;
    t.finish(&mut |_| rest += 1);
    assert_eq!(rest, MAX_PENDING);
    assert_eq!(t.stats().datagrams_incomplete, u64::from(DATAGRAMS));
}

/// A DNS response (RFC 1035 §4.1) for `name` with one A record.
fn dns_response(id: u16, name: &str, a: Ipv4Addr) -> Vec<u8> {
    let mut m = id.to_be_bytes().to_vec();
    m.extend_from_slice(&[0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0]);
    for label in name.split('.') {
        m.push(label.len() as u8);
        m.extend_from_slice(label.as_bytes());
    }
    m.push(0);
    m.extend_from_slice(&[0, 1, 0, 1]);
    m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]);
    m.extend_from_slice(&a.octets());
    m
}

#[test]
fn a_flood_of_dns_answers_evicts_the_oldest_names_and_counts_them() {
    let cap = onlooker::naming::namer::DNS_MAP_CAP;
    let answers = cap + 4_464;
    let resolver = (IpAddr::V4(Ipv4Addr::new(192, 0, 2, 53)), 53);
    let frames: Vec<(Timestamp, Vec<u8>)> = (0..answers)
        .map(|i| {
            let a = Ipv4Addr::from(0x6400_0000u32 + i as u32);
            let msg = dns_response(i as u16, &format!("n{i}.flood.example"), a);
            let client = addr(i as u32);
            let f = ethernet_frame(resolver, (client, 40_000), Transport::Udp, &msg).unwrap();
            (ts(i as i64 * 10), f)
        })
        .collect();
    let (bytes, _) = common::pcap_bytes(LinkType::ETHERNET, 65_535, &frames);
    let dir = tempfile::tempdir().unwrap();
    let path = common::write_file(dir.path(), "dns-flood.pcap", &bytes);
    let out = common::onlooker(["flows".as_ref(), "--stats".as_ref(), path.as_os_str()]);
    assert_eq!(
        common::exit_code(&out),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let recs = common::ndjson(&out.stdout);
    let stats = &recs.last().unwrap()["stats"];
    assert_eq!(
        stats["naming"]["dns_answers"].as_u64(),
        Some(answers as u64),
        "{stats}"
    );
    assert_eq!(
        stats["naming"]["dns_names_evicted"].as_u64(),
        Some((answers - cap) as u64),
        "{stats}"
    );
}
