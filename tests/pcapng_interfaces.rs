//! pcapng files whose interfaces differ in link type or snapshot length, which libpcap refuses:
//! every packet is read with its own interface's link type, the flows equal tshark's, and a file
//! cut inside a block reports where reading stopped and keeps what was read.

mod common;

use std::collections::BTreeMap;
use std::net::IpAddr;

use onlooker::analysis::pipeline::{Pipeline, PipelineConfig};
use onlooker::capture::offline::FileSource;
use onlooker::capture::writer::{Transport, ethernet_frame};
use onlooker::capture::{CaptureError, Next, PacketSource};
use onlooker::model::FlowRecord;

/// One pcapng block (little-endian): type, total length, body padded to 4 bytes, total length.
fn block(kind: u32, body: &[u8]) -> Vec<u8> {
    let mut body = body.to_vec();
    while body.len() % 4 != 0 {
        body.push(0);
    }
    let total = (12 + body.len()) as u32;
    let mut b = Vec::new();
    b.extend_from_slice(&kind.to_le_bytes());
    b.extend_from_slice(&total.to_le_bytes());
    b.extend_from_slice(&body);
    b.extend_from_slice(&total.to_le_bytes());
    b
}

fn section_header() -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&0x1a2b_3c4d_u32.to_le_bytes());
    body.extend_from_slice(&1u16.to_le_bytes());
    body.extend_from_slice(&0u16.to_le_bytes());
    body.extend_from_slice(&(-1i64).to_le_bytes());
    block(0x0a0d_0d0a, &body)
}

fn interface(link: u16, snaplen: u32) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&link.to_le_bytes());
    body.extend_from_slice(&0u16.to_le_bytes());
    body.extend_from_slice(&snaplen.to_le_bytes());
    block(1, &body)
}

/// An Enhanced Packet Block on `iface` at `micros` (default resolution: microseconds).
fn packet(iface: u32, micros: u64, data: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&iface.to_le_bytes());
    body.extend_from_slice(&((micros >> 32) as u32).to_le_bytes());
    body.extend_from_slice(&(micros as u32).to_le_bytes());
    body.extend_from_slice(&(data.len() as u32).to_le_bytes());
    body.extend_from_slice(&(data.len() as u32).to_le_bytes());
    body.extend_from_slice(data);
    block(6, &body)
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// An Ethernet interface and a BSD loopback one (link types 1 and 0): two UDP packets on the
/// first, one on the loopback.
fn mixed_file() -> Vec<u8> {
    let eth = |sport: u16| {
        ethernet_frame(
            (ip("192.168.1.2"), sport),
            (ip("198.51.100.7"), 3478),
            Transport::Udp,
            b"hello",
        )
        .unwrap_or_else(|e| panic!("{e}"))
    };
    // NULL: a 4-byte address family in host order (AF_INET = 2), then the IPv4 packet, which
    // is the Ethernet frame without its 14-byte header.
    let mut null = 2u32.to_le_bytes().to_vec();
    null.extend_from_slice(&eth(5353)[14..]);
    let mut f = section_header();
    f.extend(interface(1, 65_535));
    f.extend(interface(0, 262_144));
    f.extend(packet(0, 1_700_000_000_000_000, &eth(40_000)));
    f.extend(packet(1, 1_700_000_000_500_000, &null));
    f.extend(packet(0, 1_700_000_001_000_000, &eth(40_000)));
    f
}

fn flows_of(path: &std::path::Path) -> (Vec<FlowRecord>, Vec<String>) {
    let mut src = FileSource::new(std::slice::from_ref(&path.to_path_buf()))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut p: Pipeline<()> = Pipeline::new(PipelineConfig::default());
    let mut out = Vec::new();
    p.run(&mut src, &mut |_, _, _| {}, &mut |f, r| {
        out.push(FlowRecord::from_flow(&f, r));
    });
    (out, p.stats().partial_inputs)
}

#[test]
fn every_packet_is_read_with_its_interfaces_link_type() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = common::write_file(dir.path(), "mixed.pcapng", &mixed_file());
    let mut src = FileSource::new(std::slice::from_ref(&path)).unwrap_or_else(|e| panic!("{e}"));
    let mut links = Vec::new();
    let mut times = Vec::new();
    loop {
        match src.next_frame() {
            Ok(Next::Frame(f)) => {
                links.push(f.link.0);
                times.push(f.ts.as_nanos());
            }
            Ok(Next::End) => break,
            Ok(Next::Idle(_)) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(links, [1, 0, 1]);
    assert_eq!(
        times,
        [
            1_700_000_000_000_000_000,
            1_700_000_000_500_000_000,
            1_700_000_001_000_000_000
        ]
    );
    let (flows, partial) = flows_of(&path);
    assert!(partial.is_empty(), "{partial:?}");
    let mut by_port: BTreeMap<u16, u64> = BTreeMap::new();
    for f in &flows {
        *by_port.entry(f.client.port()).or_default() += f.packets_up + f.packets_down;
    }
    assert_eq!(by_port, BTreeMap::from([(5353, 1), (40_000, 2)]));
}

#[test]
fn a_mixed_file_cut_inside_a_block_keeps_what_was_read_and_says_where() {
    let whole = mixed_file();
    let cut = &whole[..whole.len() - 20];
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = common::write_file(dir.path(), "cut.pcapng", cut);
    let (flows, partial) = flows_of(&path);
    let packets: u64 = flows.iter().map(|f| f.packets_up + f.packets_down).sum();
    assert_eq!(packets, 2, "the two whole packets are kept");
    assert_eq!(partial.len(), 1, "{partial:?}");
    assert!(
        partial[0].contains("cut short") && partial[0].contains("after 2 records"),
        "{}",
        partial[0]
    );
    // The error is the typed partial-input one, with the byte offset of the cut block.
    let mut src = FileSource::new(std::slice::from_ref(&path)).unwrap_or_else(|e| panic!("{e}"));
    let err = loop {
        match src.next_frame() {
            Ok(Next::End) => panic!("the cut was not reported"),
            Ok(_) => {}
            Err(e) => break e,
        }
    };
    let last_block = whole.len() - packet(0, 0, &[0u8; 47]).len();
    match err {
        CaptureError::Partial {
            offset, records, ..
        } => {
            assert_eq!(records, 2);
            assert_eq!(offset as usize, last_block);
        }
        other => panic!("not a partial input: {other}"),
    }
}

/// The corpus's pcapng files with mixed interfaces give exactly tshark's conversations.
#[test]
fn corpus_files_with_mixed_interfaces_match_tshark() {
    let Some(corpus) = common::corpus() else {
        common::skip("corpus_files_with_mixed_interfaces_match_tshark");
        return;
    };
    let mut checked = 0;
    for file in ["many_interfaces-1.pcapng", "too_many_interfaces.pcapng"] {
        let path = corpus.join("pcap/pcapplusplus").join(file);
        let Some(expected) = common::tshark_flows(&corpus, "pcapplusplus", file) else {
            continue;
        };
        let (flows, partial) = flows_of(&path);
        assert!(partial.is_empty(), "{file}: {partial:?}");
        let mut ours: common::Conversations = BTreeMap::new();
        for r in &flows {
            let (a, b) = common::ordered(r.client.to_string(), r.server.to_string());
            let e = ours.entry((r.proto.to_string(), a, b)).or_default();
            e.0 += r.packets_up + r.packets_down;
            e.1 += r.bytes_up + r.bytes_down;
        }
        assert_eq!(ours, expected, "{file}");
        checked += 1;
    }
    assert_eq!(checked, 2, "both files have tshark's answers in the corpus");
}
