//! Property tests for the parsers tests/proptest_dissect.rs does not cover, so every CI run
//! exercises what the fuzz targets exercise (fuzz/README.md): link and IP decode under every
//! link type, the whole per-packet path (decode, fragments, flow table, naming) on arbitrary
//! frames, the server certificate reader and the catalog loader never panic; frames built from
//! random addresses, ports and payloads decode back to them; DNS answers built from random
//! names and addresses parse back to them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;

use proptest::prelude::*;

use onlooker::analysis::pipeline::{Pipeline, PipelineConfig};
use onlooker::capture::memory::{MemorySource, OwnedFrame};
use onlooker::capture::writer::{Transport, ethernet_frame};
use onlooker::capture::{Frame, LinkType, Timestamp};
use onlooker::dissect::cert::ServerCertReader;
use onlooker::dissect::dns;
use onlooker::naming::catalog::Catalog;
use onlooker::naming::{FlowNaming, Namer};

/// Every link type the decoder knows (the constants of `capture::LinkType`).
const LINK_TYPES: [LinkType; 17] = LinkType::ALL;

fn catalog() -> &'static Catalog {
    static C: OnceLock<Catalog> = OnceLock::new();
    C.get_or_init(|| Catalog::bundled().unwrap())
}

fn ts() -> Timestamp {
    Timestamp::from_secs(1_700_000_000)
}

fn ip_pair() -> impl Strategy<Value = (IpAddr, IpAddr)> {
    prop_oneof![
        (any::<u32>(), any::<u32>())
            .prop_map(|(a, b)| (IpAddr::V4(Ipv4Addr::from(a)), IpAddr::V4(Ipv4Addr::from(b)))),
        (any::<u128>(), any::<u128>())
            .prop_map(|(a, b)| (IpAddr::V6(Ipv6Addr::from(a)), IpAddr::V6(Ipv6Addr::from(b)))),
    ]
}

/// An IPv4 or IPv6 header start, so arbitrary tails reach the transport parsers.
fn ipish() -> impl Strategy<Value = Vec<u8>> {
    (
        any::<bool>(),
        proptest::collection::vec(any::<u8>(), 0..200),
    )
        .prop_map(|(v6, tail)| {
            let mut b = if v6 {
                let mut h = vec![0x60, 0, 0, 0];
                h.extend_from_slice(&(tail.len() as u16).to_be_bytes());
                h.extend_from_slice(&[17, 64]);
                h.extend_from_slice(&[0x20; 32]);
                h
            } else {
                let mut h = vec![0x45, 0];
                h.extend_from_slice(&((20 + tail.len()) as u16).to_be_bytes());
                h.extend_from_slice(&[0, 1, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
                h
            };
            b.extend_from_slice(&tail);
            b
        })
}

/// A DNS response for `name` with one A or AAAA record per address (RFC 1035 §4.1, RFC 3596).
fn dns_response(id: u16, name: &str, addrs: &[IpAddr]) -> Vec<u8> {
    let mut m = id.to_be_bytes().to_vec();
    m.extend_from_slice(&[0x81, 0x80, 0, 1]);
    m.extend_from_slice(&(addrs.len() as u16).to_be_bytes());
    m.extend_from_slice(&[0, 0, 0, 0]);
    for label in name.split('.') {
        m.push(label.len() as u8);
        m.extend_from_slice(label.as_bytes());
    }
    m.push(0);
    m.extend_from_slice(&[0, 1, 0, 1]);
    for a in addrs {
        m.extend_from_slice(&[0xc0, 12]);
        match a {
            IpAddr::V4(v4) => {
                m.extend_from_slice(&[0, 1, 0, 1, 0, 0, 1, 0, 0, 4]);
                m.extend_from_slice(&v4.octets());
            }
            IpAddr::V6(v6) => {
                m.extend_from_slice(&[0, 28, 0, 1, 0, 0, 1, 0, 0, 16]);
                m.extend_from_slice(&v6.octets());
            }
        }
    }
    m
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn decode_never_panics_under_any_link_type(
        lt in 0usize..LINK_TYPES.len(),
        data in prop_oneof![proptest::collection::vec(any::<u8>(), 0..400), ipish()],
        prefix in proptest::collection::vec(any::<u8>(), 0..48),
        wire in any::<u32>(),
    ) {
        // Raw bytes, and an IP-looking packet behind a random link header.
        for bytes in [data.clone(), [prefix.as_slice(), data.as_slice()].concat()] {
            let frame = Frame { ts: ts(), wire_len: wire, link: LINK_TYPES[lt], data: &bytes };
            if let Ok(p) = onlooker::decode::decode(&frame) {
                prop_assert!(p.payload.len() <= bytes.len());
            }
        }
    }

    #[test]
    fn frames_decode_back_to_what_built_them(
        (src, dst) in ip_pair(),
        sport in any::<u16>(),
        dport in any::<u16>(),
        tcp in any::<bool>(),
        seq in any::<u32>(),
        payload in proptest::collection::vec(any::<u8>(), 0..1400),
    ) {
        let transport = if tcp {
            Transport::Tcp { seq, ack: 0, flags: 0x18 }
        } else {
            Transport::Udp
        };
        let bytes = ethernet_frame((src, sport), (dst, dport), transport, &payload).unwrap();
        let frame = Frame {
            ts: ts(),
            wire_len: bytes.len() as u32,
            link: LinkType::ETHERNET,
            data: &bytes,
        };
        let p = onlooker::decode::decode(&frame).unwrap();
        prop_assert_eq!(p.src, src);
        prop_assert_eq!(p.dst, dst);
        prop_assert_eq!((p.src_port, p.dst_port), (sport, dport));
        prop_assert_eq!(p.proto, if tcp { 6 } else { 17 });
        prop_assert_eq!(p.payload, payload.as_slice());
        prop_assert_eq!(p.payload_len as usize, payload.len());
        prop_assert_eq!(p.tcp.is_some(), tcp);
    }

    #[test]
    fn the_per_packet_path_never_panics_on_arbitrary_frames(
        frames in proptest::collection::vec(
            (prop_oneof![proptest::collection::vec(any::<u8>(), 0..300), ipish()
                .prop_map(|ip| { let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1];
                    f.extend_from_slice(&[if ip[0] >> 4 == 6 { 0x86 } else { 0x08 },
                        if ip[0] >> 4 == 6 { 0xdd } else { 0x00 }]);
                    f.extend_from_slice(&ip); f })],
             0u8..=255),
            0..48),
    ) {
        let mut t = ts().as_nanos();
        let n = frames.len() as u64;
        let owned: Vec<OwnedFrame> = frames
            .into_iter()
            .map(|(data, dt)| {
                // dt 255: ten minutes later, so idle timeouts run too.
                t += if dt == 255 { 600_000_000_000 } else { i64::from(dt) * 10_000_000 };
                OwnedFrame::new(Timestamp::from_nanos(t), LinkType::ETHERNET, data)
            })
            .collect();
        let mut source = MemorySource::new(owned);
        let namer = std::cell::RefCell::new(Namer::new(catalog().clone()));
        let mut p: Pipeline<FlowNaming> = Pipeline::new(PipelineConfig::default());
        let mut ended = 0u64;
        p.run(
            &mut source,
            &mut |f, pkt, o| namer.borrow_mut().on_packet(f, pkt, o),
            &mut |mut f, _| {
                namer.borrow_mut().settle(&mut f);
                ended += 1;
            },
        );
        let s = p.stats();
        prop_assert_eq!(s.frames, n);
        prop_assert_eq!(ended, s.flows.flows_created);
    }

    #[test]
    fn the_certificate_reader_never_panics(
        segs in proptest::collection::vec(
            (any::<i16>(), proptest::collection::vec(any::<u8>(), 0..300)), 0..12),
        hello in any::<bool>(),
        isn in any::<u32>(),
    ) {
        let mut r = ServerCertReader::default();
        let mut seq = isn;
        for (i, (d, mut bytes)) in segs.into_iter().enumerate() {
            if hello && i == 0 && bytes.len() >= 6 {
                // A handshake record header with a ServerHello or Certificate type.
                bytes[..6].copy_from_slice(&[22, 3, 3, 0x10, 0, if d & 1 == 0 { 2 } else { 11 }]);
            }
            seq = seq.wrapping_add(d as i32 as u32);
            let _ = r.push(seq, &bytes);
        }
        let _ = r.take_names();
    }

    #[test]
    fn the_catalog_loader_never_panics(
        rows in proptest::collection::vec(
            proptest::collection::vec("[a-z0-9.:/*-]{0,20}|\\PC{0,8}", 0..7), 0..12),
        table in 0usize..6,
    ) {
        let file = ["domains.tsv", "ip-ranges.tsv", "asns.tsv", "ports.tsv", "stun.tsv", "x.tsv"][table];
        let text: String = rows.iter().map(|r| r.join("\t") + "\n").collect();
        let mut c = Catalog::default();
        let _ = c.load_str(file, &text);
        let _ = c.domain("a.b.example.com");
        let _ = c.range("10.1.2.3".parse().unwrap());
        let _ = c.ports(17, 3478).count();
    }

    #[test]
    fn dns_answers_parse_back_to_their_names_and_addresses(
        labels in proptest::collection::vec("[a-z0-9]{1,20}", 1..5),
        addrs in proptest::collection::vec(
            prop_oneof![any::<u32>().prop_map(|a| IpAddr::V4(Ipv4Addr::from(a))),
                        any::<u128>().prop_map(|a| IpAddr::V6(Ipv6Addr::from(a)))], 1..8),
        id in any::<u16>(),
    ) {
        let name = labels.join(".");
        let msg = dns_response(id, &name, &addrs);
        prop_assert!(dns::looks_like_dns(&msg));
        let a = dns::parse_dns(&msg).unwrap();
        prop_assert_eq!(a.id, id);
        prop_assert_eq!(&a.qname, &name);
        let got: Vec<IpAddr> = a.addrs.iter().map(|x| x.addr).collect();
        let want: Vec<IpAddr> = addrs.iter().copied().take(dns::MAX_ADDRS).collect();
        prop_assert_eq!(got, want);
        prop_assert!(a.addrs.iter().all(|x| x.for_qname && x.name == name));
    }
}
