//! Link types end to end: a pcap file of each link type onlooker decodes, written with the
//! project's writer and read back through libpcap (which renumbers some LINKTYPE_ values into
//! DLT_ ones), must give the one flow it holds, with on-wire byte counts; a link type nobody
//! decodes is counted, not dropped.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use onlooker::analysis::pipeline::{Pipeline, PipelineConfig};
use onlooker::capture::offline::FileSource;
use onlooker::capture::writer::{Transport, ethernet_frame};
use onlooker::capture::{LinkType, Timestamp};
use onlooker::model::FlowRecord;

type Ep = (IpAddr, u16);

fn endpoints(v6: bool) -> (Ep, Ep) {
    if v6 {
        (
            (
                IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 1)),
                5060,
            ),
            (
                IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 2, 0, 0, 0, 0, 2)),
                5061,
            ),
        )
    } else {
        (
            (IpAddr::V4(Ipv4Addr::new(172, 16, 0, 1)), 5060),
            (IpAddr::V4(Ipv4Addr::new(172, 16, 0, 2)), 5061),
        )
    }
}

/// The IP packet (no link header) of a UDP datagram.
fn ip_packet(from: Ep, to: Ep, payload: &[u8]) -> Vec<u8> {
    ethernet_frame(from, to, Transport::Udp, payload).unwrap()[14..].to_vec()
}

fn is_v6(ip: &[u8]) -> bool {
    ip[0] >> 4 == 6
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn ethertype(ip: &[u8]) -> [u8; 2] {
    if is_v6(ip) {
        [0x86, 0xdd]
    } else {
        [0x08, 0x00]
    }
}

fn eth(ip: &[u8]) -> Vec<u8> {
    cat(&[&[2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1], &ethertype(ip), ip])
}

fn nflog_tlv(ty: u16, value: &[u8]) -> Vec<u8> {
    let len = u16::try_from(4 + value.len()).unwrap();
    let mut t = cat(&[&len.to_le_bytes(), &ty.to_le_bytes(), value]);
    t.resize(t.len().div_ceil(4) * 4, 0);
    t
}

/// The frame of link type `link` carrying `ip`.
fn wrap(link: u32, ip: &[u8]) -> Vec<u8> {
    let v6 = is_v6(ip);
    match link {
        // NULL: host byte order (little-endian here); AF_INET6 as macOS numbers it.
        0 => cat(&[&(if v6 { 30u32 } else { 2 }).to_le_bytes(), ip]),
        1 => eth(ip),
        // PPP in HDLC-like framing.
        9 | 50 => cat(&[&[0xff, 0x03, 0x00, if v6 { 0x57 } else { 0x21 }], ip]),
        // PPPoE session header, then the PPP protocol.
        51 => {
            let len = u16::try_from(ip.len() + 2).unwrap().to_be_bytes();
            cat(&[
                &[
                    0x11,
                    0,
                    0,
                    7,
                    len[0],
                    len[1],
                    0x00,
                    if v6 { 0x57 } else { 0x21 },
                ],
                ip,
            ])
        }
        12 | 14 | 101 | 228 | 229 => ip.to_vec(),
        104 => cat(&[&[0x0f, 0x00], &ethertype(ip), ip]),
        // LOOP: network byte order; AF_INET6 as OpenBSD numbers it.
        108 => cat(&[&(if v6 { 24u32 } else { 2 }).to_be_bytes(), ip]),
        113 => cat(&[
            &[0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0],
            &ethertype(ip),
            ip,
        ]),
        192 => cat(&[&[0, 0, 8, 0], &1u32.to_le_bytes(), &eth(ip)]),
        239 => cat(&[
            &[if v6 { 10 } else { 2 }, 0, 0, 0],
            &nflog_tlv(1, &cat(&[&ethertype(ip), &[1, 0]])),
            &nflog_tlv(9, ip),
        ]),
        258 => {
            let mut h = cat(&[&108u32.to_le_bytes(), &1u32.to_le_bytes()]);
            h.resize(108, 0);
            cat(&[&h, &eth(ip)])
        }
        276 => cat(&[
            &ethertype(ip),
            &[0, 0, 0, 0, 0, 2, 0, 1, 0, 6],
            &[2, 0, 0, 0, 0, 1, 0, 0],
            ip,
        ]),
        _ => unreachable!("no wrapper for link type {link}"),
    }
}

/// Write a two-packet exchange of link type `link` to a pcap file and read it back.
fn flows_of(
    link: u32,
    v6: bool,
) -> (
    Vec<FlowRecord>,
    onlooker::analysis::pipeline::RunStats,
    Vec<u32>,
) {
    let (c, s) = endpoints(v6);
    let frames = vec![
        (
            Timestamp::from_secs(1_700_000_000),
            wrap(link, &ip_packet(c, s, b"INVITE")),
        ),
        (
            Timestamp::from_parts(1_700_000_000, 250_000_000),
            wrap(link, &ip_packet(s, c, b"SIP/2.0 100 Trying")),
        ),
    ];
    let lens: Vec<u32> = frames
        .iter()
        .map(|(_, d)| u32::try_from(d.len()).unwrap())
        .collect();
    let (bytes, _) = common::pcap_bytes(LinkType(link), 65_535, &frames);
    let dir = tempfile::tempdir().unwrap();
    let path = common::write_file(dir.path(), &format!("link{link}.pcap"), &bytes);
    let mut source = FileSource::new(std::slice::from_ref(&path)).unwrap();
    let mut p: Pipeline<()> = Pipeline::new(PipelineConfig::default());
    let mut recs = Vec::new();
    p.run(&mut source, &mut |_, _, _| {}, &mut |f, r| {
        recs.push(FlowRecord::from_flow(&f, r));
    });
    (recs, p.stats(), lens)
}

#[test]
fn every_supported_link_type_in_a_pcap_file_gives_its_flow() {
    // LINKTYPE_IPV4 and LINKTYPE_IPV6 carry one family each: see the next test.
    let links = [
        0u32, 1, 9, 12, 14, 50, 51, 101, 104, 108, 113, 192, 239, 258, 276,
    ];
    let mut failures = Vec::new();
    for link in links {
        for v6 in [false, true] {
            let (recs, stats, lens) = flows_of(link, v6);
            let (c, s) = endpoints(v6);
            // (proto, client, server, first_ts, last_ts, packets, bytes, flags, end reason)
            let want = (
                "udp".to_string(),
                std::net::SocketAddr::from(c).to_string(),
                std::net::SocketAddr::from(s).to_string(),
                1_700_000_000.0,
                1_700_000_000.25,
                (1, 1),
                (u64::from(lens[0]), u64::from(lens[1])),
                String::new(),
                "end_of_input",
            );
            let got: Vec<_> = recs
                .iter()
                .map(|r| {
                    (
                        r.proto.to_string(),
                        r.client.to_string(),
                        r.server.to_string(),
                        r.first_ts,
                        r.last_ts,
                        (r.packets_up, r.packets_down),
                        (r.bytes_up, r.bytes_down),
                        r.tcp_flags.clone(),
                        r.end_reason,
                    )
                })
                .collect();
            if got != [want] || stats.frames != 2 || stats.decoded != 2 {
                failures.push(format!(
                    "link type {link} ({}): got {got:?}, stats {:?}",
                    if v6 { "IPv6" } else { "IPv4" },
                    stats.undecodable
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_single_family_raw_link_types() {
    for (link, v6) in [(228u32, false), (229, true)] {
        let (recs, stats, _) = flows_of(link, v6);
        assert_eq!(recs.len(), 1, "link type {link}");
        assert_eq!(stats.decoded, 2);
    }
}

#[test]
fn a_link_type_nobody_decodes_is_counted() {
    // LINKTYPE_USER0: private use, never decodable.
    let frames: Vec<(Timestamp, Vec<u8>)> = (0..5)
        .map(|i| (Timestamp::from_secs(1_700_000_000 + i), vec![0x45; 40]))
        .collect();
    let (bytes, _) = common::pcap_bytes(LinkType(147), 65_535, &frames);
    let dir = tempfile::tempdir().unwrap();
    let path = common::write_file(dir.path(), "user0.pcap", &bytes);
    let mut source = FileSource::new(std::slice::from_ref(&path)).unwrap();
    let mut p: Pipeline<()> = Pipeline::new(PipelineConfig::default());
    let mut n = 0;
    p.run(&mut source, &mut |_, _, _| {}, &mut |_, _| n += 1);
    let stats = p.stats();
    assert_eq!(n, 0);
    assert_eq!(stats.frames, 5);
    assert_eq!(stats.undecodable.get("unsupported_link_type"), Some(&5));
}

#[test]
fn snaplen_cut_records_count_their_original_length() {
    let (c, s) = endpoints(false);
    let big = eth(&ip_packet(c, s, &[0x77; 1400]));
    let frames = vec![(Timestamp::from_secs(1_700_000_000), big.clone())];
    // A snaplen of 96 keeps Ethernet, IPv4 and UDP headers and a little payload.
    let (bytes, _) = common::pcap_bytes(LinkType::ETHERNET, 96, &frames);
    assert_eq!(bytes.len(), 24 + 16 + 96);
    let dir = tempfile::tempdir().unwrap();
    let path = common::write_file(dir.path(), "snap.pcap", &bytes);
    let mut source = FileSource::new(std::slice::from_ref(&path)).unwrap();
    let mut p: Pipeline<()> = Pipeline::new(PipelineConfig::default());
    let mut recs = Vec::new();
    p.run(&mut source, &mut |_, _, _| {}, &mut |f, r| {
        assert_eq!(f.up.payload_bytes, 1400);
        recs.push(FlowRecord::from_flow(&f, r));
    });
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].bytes_up, big.len() as u64);
    assert_eq!(p.stats().bytes, big.len() as u64);
}
