//! Unit tests of decode: every link layer the decoder peels, IPv4 options, IPv6 extension
//! headers, fragments, IP-in-IP, snaplen cuts, and property tests that no bytes make it panic and
//! that a generated valid frame decodes to exactly the fields it was built from.
//!
//! Frames are built by hand from the published header layouts (and, in the property tests, by
//! the project's writer), so every expectation comes from the bytes the test itself wrote.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;

use super::*;
use crate::capture::writer::{Transport, ethernet_frame};

// ---------------------------------------------------------------------------------------------
// Builders
// ---------------------------------------------------------------------------------------------

const V4_SRC: [u8; 4] = [10, 1, 2, 3];
const V4_DST: [u8; 4] = [192, 0, 2, 9];
const V6_SRC: [u8; 16] = [
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x11,
];
const V6_DST: [u8; 16] = [
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x22,
];
const SPORT: u16 = 40_000;
const DPORT: u16 = 443;
const PAYLOAD: &[u8] = b"hello, onlooker";
const SEQ: u32 = 0x0102_0304;
const ACK: u32 = 0x0a0b_0c0d;
const WINDOW: u16 = 29_200;
/// PSH | ACK.
const DATA_FLAGS: u8 = 0x18;

const ET_IPV4: [u8; 2] = [0x08, 0x00];
const ET_IPV6: [u8; 2] = [0x86, 0xdd];

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// Internet checksum (RFC 1071) of an IPv4 header.
fn checksum(h: &[u8]) -> u16 {
    let mut sum: u32 = h
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An IPv4 header and its fields.
#[derive(Clone, Debug)]
struct V4 {
    src: [u8; 4],
    dst: [u8; 4],
    proto: u8,
    ttl: u8,
    options: Vec<u8>,
    id: u16,
    offset_bytes: u16,
    more: bool,
}

impl V4 {
    fn new(proto: u8) -> Self {
        Self {
            src: V4_SRC,
            dst: V4_DST,
            proto,
            ttl: 57,
            options: Vec::new(),
            id: 0x1234,
            offset_bytes: 0,
            more: false,
        }
    }

    /// The packet with `payload` after the header; total length counts all of it.
    fn build(&self, payload: &[u8]) -> Vec<u8> {
        assert_eq!(
            self.options.len() % 4,
            0,
            "IPv4 options come in 4-byte words"
        );
        let hl = 20 + self.options.len();
        let total = u16::try_from(hl + payload.len()).unwrap();
        let frag = (u16::from(self.more) << 13) | (self.offset_bytes / 8);
        let mut h = vec![0x40 | (hl / 4) as u8, 0];
        h.extend_from_slice(&total.to_be_bytes());
        h.extend_from_slice(&self.id.to_be_bytes());
        h.extend_from_slice(&frag.to_be_bytes());
        h.extend_from_slice(&[self.ttl, self.proto, 0, 0]);
        h.extend_from_slice(&self.src);
        h.extend_from_slice(&self.dst);
        h.extend_from_slice(&self.options);
        let c = checksum(&h);
        h[10..12].copy_from_slice(&c.to_be_bytes());
        h.extend_from_slice(payload);
        h
    }
}

/// An IPv6 packet whose first header after the fixed one is `next`; `rest` holds any
/// extension headers and the transport.
fn ipv6(src: [u8; 16], dst: [u8; 16], next: u8, hop_limit: u8, rest: &[u8]) -> Vec<u8> {
    ipv6_declaring(src, dst, next, hop_limit, rest, rest.len())
}

fn ipv6_declaring(
    src: [u8; 16],
    dst: [u8; 16],
    next: u8,
    hop_limit: u8,
    rest: &[u8],
    declared: usize,
) -> Vec<u8> {
    let mut h = vec![0x60, 0, 0, 0];
    h.extend_from_slice(&u16::try_from(declared).unwrap().to_be_bytes());
    h.extend_from_slice(&[next, hop_limit]);
    h.extend_from_slice(&src);
    h.extend_from_slice(&dst);
    h.extend_from_slice(rest);
    h
}

/// An IPv6 options extension header (hop-by-hop or destination options) of `units` 8-byte
/// units, filled with one PadN option.
fn ipv6_opts(next: u8, units: u8) -> Vec<u8> {
    let size = usize::from(units) * 8;
    let mut h = vec![next, units - 1, 1, (size - 4) as u8];
    h.resize(size, 0);
    h
}

/// An IPv6 fragment header.
fn ipv6_frag(next: u8, offset_bytes: u16, more: bool, id: u32) -> Vec<u8> {
    let mut h = vec![next, 0];
    h.extend_from_slice(&(((offset_bytes / 8) << 3) | u16::from(more)).to_be_bytes());
    h.extend_from_slice(&id.to_be_bytes());
    h
}

/// A TCP segment (checksum left zero: the decoder does not verify it).
fn tcp(sport: u16, dport: u16, flags: u8, options: &[u8], payload: &[u8]) -> Vec<u8> {
    assert_eq!(options.len() % 4, 0, "TCP options come in 4-byte words");
    let hl = 20 + options.len();
    let mut h = Vec::with_capacity(hl + payload.len());
    h.extend_from_slice(&sport.to_be_bytes());
    h.extend_from_slice(&dport.to_be_bytes());
    h.extend_from_slice(&SEQ.to_be_bytes());
    h.extend_from_slice(&ACK.to_be_bytes());
    h.extend_from_slice(&[((hl / 4) as u8) << 4, flags]);
    h.extend_from_slice(&WINDOW.to_be_bytes());
    h.extend_from_slice(&[0, 0, 0, 0]);
    h.extend_from_slice(options);
    h.extend_from_slice(payload);
    h
}

fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut h = Vec::with_capacity(8 + payload.len());
    h.extend_from_slice(&sport.to_be_bytes());
    h.extend_from_slice(&dport.to_be_bytes());
    h.extend_from_slice(&u16::try_from(8 + payload.len()).unwrap().to_be_bytes());
    h.extend_from_slice(&[0, 0]);
    h.extend_from_slice(payload);
    h
}

/// Ethernet II header with `ethertype`, then `rest`.
fn eth(ethertype: [u8; 2], rest: &[u8]) -> Vec<u8> {
    cat(&[
        &[0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01],
        &ethertype,
        rest,
    ])
}

/// The standard IPv4/TCP packet: V4_SRC:SPORT → V4_DST:DPORT, PSH|ACK, PAYLOAD.
fn tcp4() -> Vec<u8> {
    V4::new(proto::TCP).build(&tcp(SPORT, DPORT, DATA_FLAGS, &[], PAYLOAD))
}

/// The standard IPv6/UDP packet: V6_SRC:SPORT → V6_DST:DPORT, PAYLOAD.
fn udp6() -> Vec<u8> {
    ipv6(V6_SRC, V6_DST, proto::UDP, 33, &udp(SPORT, DPORT, PAYLOAD))
}

fn decode_as(link: LinkType, data: &[u8]) -> Result<Packet<'_>, Skip> {
    decode(&Frame {
        ts: Timestamp::from_secs(1_700_000_000),
        wire_len: u32::try_from(data.len()).unwrap(),
        link,
        data,
    })
}

fn decode_cut(link: LinkType, data: &[u8], wire_len: usize) -> Result<Packet<'_>, Skip> {
    decode(&Frame {
        ts: Timestamp::from_secs(1_700_000_000),
        wire_len: u32::try_from(wire_len).unwrap(),
        link,
        data,
    })
}

/// `r` is the standard IPv4/TCP packet.
#[track_caller]
fn assert_tcp4(r: Result<Packet<'_>, Skip>, what: &str) {
    let p = r.unwrap_or_else(|e| panic!("{what}: expected a packet, got {e:?}"));
    assert_eq!(p.src, IpAddr::from(V4_SRC), "{what}: src");
    assert_eq!(p.dst, IpAddr::from(V4_DST), "{what}: dst");
    assert_eq!(p.proto, proto::TCP, "{what}: proto");
    assert_eq!((p.src_port, p.dst_port), (SPORT, DPORT), "{what}: ports");
    assert_eq!(
        p.tcp,
        Some(TcpInfo {
            flags: DATA_FLAGS,
            seq: SEQ,
            ack: ACK,
            window: WINDOW,
            syn: None,
        }),
        "{what}: tcp"
    );
    assert_eq!(p.payload, PAYLOAD, "{what}: payload");
    assert_eq!(p.payload_len as usize, PAYLOAD.len(), "{what}: payload_len");
    assert_eq!(p.ttl, 57, "{what}: ttl");
    assert_eq!(p.frag, None, "{what}: frag");
}

/// `r` is the standard IPv6/UDP packet.
#[track_caller]
fn assert_udp6(r: Result<Packet<'_>, Skip>, what: &str) {
    let p = r.unwrap_or_else(|e| panic!("{what}: expected a packet, got {e:?}"));
    assert_eq!(p.src, IpAddr::from(V6_SRC), "{what}: src");
    assert_eq!(p.dst, IpAddr::from(V6_DST), "{what}: dst");
    assert_eq!(p.proto, proto::UDP, "{what}: proto");
    assert_eq!((p.src_port, p.dst_port), (SPORT, DPORT), "{what}: ports");
    assert_eq!(p.tcp, None, "{what}: tcp");
    assert_eq!(p.payload, PAYLOAD, "{what}: payload");
    assert_eq!(p.payload_len as usize, PAYLOAD.len(), "{what}: payload_len");
    assert_eq!(p.ttl, 33, "{what}: hop limit");
    assert_eq!(p.frag, None, "{what}: frag");
}

/// A 4-byte MPLS label stack entry.
fn mpls_label(label: u32, bottom: bool) -> [u8; 4] {
    ((label << 12) | (u32::from(bottom) << 8) | 64).to_be_bytes()
}

/// An 802.1Q/802.1ad tag: TCI then the next EtherType.
fn vlan_tag(vid: u16, next: [u8; 2]) -> Vec<u8> {
    cat(&[&vid.to_be_bytes(), &next])
}

/// Every link type the decoder claims to read.
const SUPPORTED: [LinkType; 17] = LinkType::ALL;

// ---------------------------------------------------------------------------------------------
// Ethernet and its tags
// ---------------------------------------------------------------------------------------------

#[test]
fn ethernet_ipv4_and_ipv6() {
    assert_tcp4(
        decode_as(LinkType::ETHERNET, &eth(ET_IPV4, &tcp4())),
        "eth/ipv4",
    );
    assert_udp6(
        decode_as(LinkType::ETHERNET, &eth(ET_IPV6, &udp6())),
        "eth/ipv6",
    );
}

#[test]
fn ethernet_wire_len_and_timestamp_are_the_frame_s() {
    let f = eth(ET_IPV4, &tcp4());
    let ts = Timestamp::from_parts(1_650_000_000, 123_456_789);
    let p = decode(&Frame {
        ts,
        wire_len: 1514,
        link: LinkType::ETHERNET,
        data: &f,
    })
    .unwrap();
    assert_eq!(p.ts, ts);
    assert_eq!(p.wire_len, 1514);
}

#[test]
fn vlan_8021q() {
    let f = eth([0x81, 0x00], &cat(&[&vlan_tag(100, ET_IPV4), &tcp4()]));
    assert_tcp4(decode_as(LinkType::ETHERNET, &f), "802.1Q");
    let f = eth([0x81, 0x00], &cat(&[&vlan_tag(0x0fff, ET_IPV6), &udp6()]));
    assert_udp6(decode_as(LinkType::ETHERNET, &f), "802.1Q ipv6");
}

#[test]
fn vlan_qinq_8021ad_then_8021q() {
    let f = eth(
        [0x88, 0xa8],
        &cat(&[&vlan_tag(10, [0x81, 0x00]), &vlan_tag(20, ET_IPV4), &tcp4()]),
    );
    assert_tcp4(decode_as(LinkType::ETHERNET, &f), "QinQ");
}

#[test]
fn vlan_three_tags_deep() {
    let f = eth(
        [0x88, 0xa8],
        &cat(&[
            &vlan_tag(1, [0x81, 0x00]),
            &vlan_tag(2, [0x81, 0x00]),
            &vlan_tag(3, ET_IPV6),
            &udp6(),
        ]),
    );
    assert_udp6(decode_as(LinkType::ETHERNET, &f), "three tags");
    // The pre-standard 0x9100 / 0x9200 outer tag types too.
    for outer in [[0x91, 0x00], [0x92, 0x00]] {
        let f = eth(
            outer,
            &cat(&[
                &vlan_tag(1, [0x81, 0x00]),
                &vlan_tag(2, [0x81, 0x00]),
                &vlan_tag(3, ET_IPV4),
                &tcp4(),
            ]),
        );
        assert_tcp4(decode_as(LinkType::ETHERNET, &f), "9x00 outer tag");
    }
}

#[test]
fn vlan_tags_without_end_are_too_deep_not_a_hang() {
    let mut rest = Vec::new();
    for i in 0..40 {
        rest.extend_from_slice(&vlan_tag(i, [0x81, 0x00]));
    }
    rest.extend_from_slice(&tcp4());
    assert_eq!(
        decode_as(LinkType::ETHERNET, &eth([0x81, 0x00], &rest)).err(),
        Some(Skip::TooDeep)
    );
}

#[test]
fn vlan_tag_cut_short_is_truncated() {
    let f = eth([0x81, 0x00], &[0x00, 0x64, 0x08]);
    assert_eq!(
        decode_as(LinkType::ETHERNET, &f).err(),
        Some(Skip::Truncated)
    );
}

#[test]
fn mpls_one_and_two_labels_ipv4_and_ipv6() {
    for et in [[0x88, 0x47], [0x88, 0x48]] {
        let one4 = eth(et, &cat(&[&mpls_label(16, true), &tcp4()]));
        assert_tcp4(decode_as(LinkType::ETHERNET, &one4), "mpls 1 label ipv4");
        let two4 = eth(
            et,
            &cat(&[&mpls_label(16, false), &mpls_label(17, true), &tcp4()]),
        );
        assert_tcp4(decode_as(LinkType::ETHERNET, &two4), "mpls 2 labels ipv4");
        let one6 = eth(et, &cat(&[&mpls_label(1000, true), &udp6()]));
        assert_udp6(decode_as(LinkType::ETHERNET, &one6), "mpls 1 label ipv6");
        let two6 = eth(
            et,
            &cat(&[&mpls_label(1000, false), &mpls_label(2000, true), &udp6()]),
        );
        assert_udp6(decode_as(LinkType::ETHERNET, &two6), "mpls 2 labels ipv6");
    }
}

#[test]
fn mpls_under_vlan() {
    let f = eth(
        [0x81, 0x00],
        &cat(&[&vlan_tag(5, [0x88, 0x47]), &mpls_label(16, true), &tcp4()]),
    );
    assert_tcp4(decode_as(LinkType::ETHERNET, &f), "vlan/mpls");
}

#[test]
fn mpls_non_ip_and_endless_stacks() {
    // A pseudowire control word (first nibble 0) after the bottom label is not IP.
    let f = eth(
        [0x88, 0x47],
        &cat(&[&mpls_label(16, true), &[0, 0, 0, 0], &tcp4()]),
    );
    assert_eq!(decode_as(LinkType::ETHERNET, &f).err(), Some(Skip::NotIp));
    // Bottom of stack never set.
    let mut labels = Vec::new();
    for i in 0..40 {
        labels.extend_from_slice(&mpls_label(i, false));
    }
    labels.extend_from_slice(&tcp4());
    assert_eq!(
        decode_as(LinkType::ETHERNET, &eth([0x88, 0x47], &labels)).err(),
        Some(Skip::TooDeep)
    );
    // Bottom label and nothing after it.
    let f = eth([0x88, 0x47], &mpls_label(16, true));
    assert_eq!(
        decode_as(LinkType::ETHERNET, &f).err(),
        Some(Skip::Truncated)
    );
}

/// PPPoE session header (version/type 0x11, code 0, session id, length) and PPP protocol.
fn pppoe(ppp_proto: u16, ip: &[u8]) -> Vec<u8> {
    let len = u16::try_from(ip.len() + 2).unwrap();
    cat(&[
        &[0x11, 0x00, 0x12, 0x34],
        &len.to_be_bytes(),
        &ppp_proto.to_be_bytes(),
        ip,
    ])
}

#[test]
fn pppoe_session_over_ethernet() {
    let f = eth([0x88, 0x64], &pppoe(0x0021, &tcp4()));
    assert_tcp4(decode_as(LinkType::ETHERNET, &f), "pppoe ipv4");
    let f = eth([0x88, 0x64], &pppoe(0x0057, &udp6()));
    assert_udp6(decode_as(LinkType::ETHERNET, &f), "pppoe ipv6");
    // LCP inside a PPPoE session is not IP.
    let f = eth([0x88, 0x64], &pppoe(0xc021, &[1, 1, 0, 4]));
    assert_eq!(decode_as(LinkType::ETHERNET, &f).err(), Some(Skip::NotIp));
    // A PPPoE session on a QinQ access line.
    let f = eth(
        [0x88, 0xa8],
        &cat(&[
            &vlan_tag(7, [0x81, 0x00]),
            &vlan_tag(8, [0x88, 0x64]),
            &pppoe(0x0021, &tcp4()),
        ]),
    );
    assert_tcp4(decode_as(LinkType::ETHERNET, &f), "qinq/pppoe");
}

#[test]
fn ppp_ether_link_type_starts_with_pppoe() {
    assert_tcp4(
        decode_as(LinkType::PPP_ETHER, &pppoe(0x0021, &tcp4())),
        "PPP_ETHER ipv4",
    );
    assert_udp6(
        decode_as(LinkType::PPP_ETHER, &pppoe(0x0057, &udp6())),
        "PPP_ETHER ipv6",
    );
}

#[test]
fn vn_tag_e_tag_and_fabricpath() {
    // VN-Tag: 4 bytes of tag, then the EtherType.
    let f = eth(
        [0x89, 0x26],
        &cat(&[&[0x80, 0x01, 0x00, 0x02], &ET_IPV4, &tcp4()]),
    );
    assert_tcp4(decode_as(LinkType::ETHERNET, &f), "vn-tag");
    // E-Tag: 6 bytes of tag, then the EtherType.
    let f = eth(
        [0x89, 0x3f],
        &cat(&[&[0, 0, 0x10, 0x01, 0, 0], &ET_IPV6, &udp6()]),
    );
    assert_udp6(decode_as(LinkType::ETHERNET, &f), "e-tag");
    // FabricPath: FTag/TTL, then a whole inner Ethernet header.
    let inner = eth(ET_IPV4, &tcp4());
    let f = eth([0x89, 0x03], &cat(&[&[0x00, 0x3f], &inner]));
    assert_tcp4(decode_as(LinkType::ETHERNET, &f), "fabricpath");
    // FabricPath carrying a tagged inner frame.
    let inner = eth([0x81, 0x00], &cat(&[&vlan_tag(9, ET_IPV6), &udp6()]));
    let f = eth([0x89, 0x03], &cat(&[&[0x00, 0x3f], &inner]));
    assert_udp6(decode_as(LinkType::ETHERNET, &f), "fabricpath/vlan");
}

#[test]
fn llc_snap() {
    let ip = tcp4();
    let len = u16::try_from(ip.len() + 8).unwrap();
    let f = eth(
        len.to_be_bytes(),
        &cat(&[&[0xaa, 0xaa, 0x03, 0, 0, 0], &ET_IPV4, &ip]),
    );
    assert_tcp4(decode_as(LinkType::ETHERNET, &f), "llc/snap");
    // Plain 802.2 LLC (spanning tree, DSAP/SSAP 0x42) is not IP.
    let f = eth([0x00, 0x26], &[0x42, 0x42, 0x03, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(decode_as(LinkType::ETHERNET, &f).err(), Some(Skip::NotIp));
    // A SNAP header cut short.
    let f = eth([0x00, 0x26], &[0xaa, 0xaa, 0x03, 0]);
    assert_eq!(
        decode_as(LinkType::ETHERNET, &f).err(),
        Some(Skip::Truncated)
    );
}

#[test]
fn arp_and_other_ethertypes_are_not_ip() {
    // ARP request (RFC 826) for Ethernet/IPv4.
    let arp = cat(&[
        &[0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01],
        &[0x02, 0, 0, 0, 0, 1],
        &V4_SRC,
        &[0; 6],
        &V4_DST,
    ]);
    assert_eq!(
        decode_as(LinkType::ETHERNET, &eth([0x08, 0x06], &arp)).err(),
        Some(Skip::NotIp)
    );
    // ARP inside a VLAN tag, LLDP, and ARP in Linux cooked capture.
    let f = eth([0x81, 0x00], &cat(&[&vlan_tag(1, [0x08, 0x06]), &arp]));
    assert_eq!(decode_as(LinkType::ETHERNET, &f).err(), Some(Skip::NotIp));
    let f = eth([0x88, 0xcc], &[0x02, 0x07, 0x04, 0, 0, 0, 0, 0, 1]);
    assert_eq!(decode_as(LinkType::ETHERNET, &f).err(), Some(Skip::NotIp));
    let f = cat(&[&sll_header([0x08, 0x06]), &arp]);
    assert_eq!(decode_as(LinkType::LINUX_SLL, &f).err(), Some(Skip::NotIp));
}

// ---------------------------------------------------------------------------------------------
// Cooked, raw, loopback, PPP, HDLC
// ---------------------------------------------------------------------------------------------

/// Linux cooked capture v1 header: packet type, ARPHRD type, address length, address (8),
/// protocol at offset 14.
fn sll_header(protocol: [u8; 2]) -> Vec<u8> {
    cat(&[
        &[0x00, 0x00, 0x00, 0x01, 0x00, 0x06],
        &[0x02, 0, 0, 0, 0, 0x09, 0, 0],
        &protocol,
    ])
}

/// Linux cooked capture v2 header: protocol at offset 0, then reserved, interface index,
/// ARPHRD type, packet type, address length, address (8): 20 bytes.
fn sll2_header(protocol: [u8; 2]) -> Vec<u8> {
    cat(&[
        &protocol,
        &[0, 0],
        &3u32.to_be_bytes(),
        &[0x00, 0x01, 0x04, 0x06],
        &[0x02, 0, 0, 0, 0, 0x09, 0, 0],
    ])
}

#[test]
fn linux_sll_v1_and_v2() {
    assert_eq!(sll_header(ET_IPV4).len(), 16);
    assert_eq!(sll2_header(ET_IPV4).len(), 20);
    assert_tcp4(
        decode_as(LinkType::LINUX_SLL, &cat(&[&sll_header(ET_IPV4), &tcp4()])),
        "sll ipv4",
    );
    assert_udp6(
        decode_as(LinkType::LINUX_SLL, &cat(&[&sll_header(ET_IPV6), &udp6()])),
        "sll ipv6",
    );
    assert_tcp4(
        decode_as(
            LinkType::LINUX_SLL2,
            &cat(&[&sll2_header(ET_IPV4), &tcp4()]),
        ),
        "sll2 ipv4",
    );
    assert_udp6(
        decode_as(
            LinkType::LINUX_SLL2,
            &cat(&[&sll2_header(ET_IPV6), &udp6()]),
        ),
        "sll2 ipv6",
    );
    // A VLAN tag kept in a cooked header (protocol 0x8100) is followed too.
    let f = cat(&[&sll_header([0x81, 0x00]), &vlan_tag(4, ET_IPV4), &tcp4()]);
    assert_tcp4(decode_as(LinkType::LINUX_SLL, &f), "sll/vlan");
}

#[test]
fn raw_ip_link_types() {
    for link in [LinkType::RAW, LinkType::DLT_RAW_12, LinkType::DLT_RAW_14] {
        assert_tcp4(decode_as(link, &tcp4()), &format!("raw {link} ipv4"));
        assert_udp6(decode_as(link, &udp6()), &format!("raw {link} ipv6"));
    }
    assert_tcp4(decode_as(LinkType::IPV4, &tcp4()), "LINKTYPE_IPV4");
    assert_udp6(decode_as(LinkType::IPV6, &udp6()), "LINKTYPE_IPV6");
}

#[test]
fn raw_ip_with_a_bad_version_is_a_bad_header() {
    let mut p = tcp4();
    p[0] = 0x55;
    assert_eq!(decode_as(LinkType::RAW, &p).err(), Some(Skip::BadIpHeader));
}

#[test]
fn null_loopback_families() {
    // NULL: family in the capturing host's byte order, here little-endian.
    assert_tcp4(
        decode_as(LinkType::NULL, &cat(&[&2u32.to_le_bytes(), &tcp4()])),
        "NULL AF_INET le",
    );
    for af6 in [30u32, 24, 28, 10] {
        assert_udp6(
            decode_as(LinkType::NULL, &cat(&[&af6.to_le_bytes(), &udp6()])),
            &format!("NULL AF_INET6={af6} le"),
        );
    }
    // A big-endian host's NULL capture.
    assert_tcp4(
        decode_as(LinkType::NULL, &cat(&[&2u32.to_be_bytes(), &tcp4()])),
        "NULL AF_INET be",
    );
    assert_udp6(
        decode_as(LinkType::NULL, &cat(&[&30u32.to_be_bytes(), &udp6()])),
        "NULL AF_INET6 be",
    );
    // An unknown family (AF_APPLETALK, 16) is not IP.
    assert_eq!(
        decode_as(LinkType::NULL, &cat(&[&16u32.to_le_bytes(), &tcp4()])).err(),
        Some(Skip::NotIp)
    );
    assert_eq!(
        decode_as(LinkType::NULL, &[2, 0, 0]).err(),
        Some(Skip::Truncated)
    );
}

#[test]
fn loop_family_is_big_endian() {
    assert_tcp4(
        decode_as(LinkType::LOOP, &cat(&[&2u32.to_be_bytes(), &tcp4()])),
        "LOOP AF_INET",
    );
    for af6 in [24u32, 28, 30] {
        assert_udp6(
            decode_as(LinkType::LOOP, &cat(&[&af6.to_be_bytes(), &udp6()])),
            &format!("LOOP AF_INET6={af6}"),
        );
    }
}

#[test]
fn ppp_framings() {
    for link in [LinkType::PPP, LinkType::PPP_SERIAL] {
        let cases: [(&[u8], Vec<u8>, bool); 7] = [
            (&[0xff, 0x03, 0x00, 0x21], tcp4(), true),
            (&[0x00, 0x21], tcp4(), true),
            (&[0x21], tcp4(), true),
            (&[0xff, 0x03, 0x21], tcp4(), true),
            (&[0xff, 0x03, 0x00, 0x57], udp6(), false),
            (&[0x00, 0x57], udp6(), false),
            (&[0x57], udp6(), false),
        ];
        for (hdr, ip, v4) in cases {
            let f = cat(&[hdr, &ip]);
            let what = format!("{link} with {hdr:02x?}");
            if v4 {
                assert_tcp4(decode_as(link, &f), &what);
            } else {
                assert_udp6(decode_as(link, &f), &what);
            }
        }
        // LCP (0xc021) is not IP.
        let lcp = [0xff, 0x03, 0xc0, 0x21, 0x01, 0x01, 0x00, 0x04];
        assert_eq!(decode_as(link, &lcp).err(), Some(Skip::NotIp));
        assert_eq!(decode_as(link, &[0xff, 0x03]).err(), Some(Skip::Truncated));
    }
}

#[test]
fn cisco_hdlc_under_c_hdlc_ppp_and_null() {
    let v4 = cat(&[&[0x0f, 0x00], &ET_IPV4, &tcp4()]);
    let v6 = cat(&[&[0x8f, 0x00], &ET_IPV6, &udp6()]);
    for link in [
        LinkType::C_HDLC,
        LinkType::PPP,
        LinkType::NULL,
        LinkType::LOOP,
    ] {
        assert_tcp4(decode_as(link, &v4), &format!("chdlc under {link}"));
        assert_udp6(
            decode_as(link, &v6),
            &format!("chdlc multicast under {link}"),
        );
    }
    // PPP in HDLC framing where a loopback link type was declared.
    let ppp_in_null = cat(&[&[0xff, 0x03, 0x00, 0x21], &tcp4()]);
    assert_tcp4(decode_as(LinkType::NULL, &ppp_in_null), "ppp under NULL");
    // Cisco SLARP (0x8035) is not IP.
    let slarp = cat(&[&[0x8f, 0x00, 0x80, 0x35], &[0; 20]]);
    assert_eq!(decode_as(LinkType::C_HDLC, &slarp).err(), Some(Skip::NotIp));
}

// ---------------------------------------------------------------------------------------------
// NFLOG, PPI, PKTAP
// ---------------------------------------------------------------------------------------------

/// One NFLOG TLV: length (header included) and type, little-endian, padded to 4 bytes.
fn nflog_tlv(ty: u16, value: &[u8]) -> Vec<u8> {
    let len = u16::try_from(4 + value.len()).unwrap();
    let mut t = cat(&[&len.to_le_bytes(), &ty.to_le_bytes(), value]);
    while t.len() % 4 != 0 {
        t.push(0);
    }
    t
}

#[test]
fn nflog_payload_tlv() {
    let f = cat(&[
        &[2, 0, 0, 5],                      // AF_INET, version 0, resource id 5
        &nflog_tlv(1, &[0x08, 0x00, 3, 0]), // NFULA_PACKET_HDR
        &nflog_tlv(10, b"prefix\0"),        // NFULA_PREFIX: 7 bytes, padded
        &nflog_tlv(9, &tcp4()),             // NFULA_PAYLOAD
        &nflog_tlv(11, &[0, 0, 0, 1]),      // NFULA_UID after it
    ]);
    assert_tcp4(decode_as(LinkType::NFLOG, &f), "nflog ipv4");
    let f = cat(&[
        &[10, 0, 0, 0],
        &nflog_tlv(2, &[0; 8]),
        &nflog_tlv(9, &udp6()),
    ]);
    assert_udp6(decode_as(LinkType::NFLOG, &f), "nflog ipv6");
    // No payload TLV at all.
    let f = cat(&[&[2, 0, 0, 0], &nflog_tlv(1, &[0x08, 0x00, 3, 0])]);
    assert_eq!(decode_as(LinkType::NFLOG, &f).err(), Some(Skip::Truncated));
    // A TLV claiming a length below its own header cannot be walked.
    let f = cat(&[&[2, 0, 0, 0], &[2, 0, 1, 0], &tcp4()]);
    assert_eq!(decode_as(LinkType::NFLOG, &f).err(), Some(Skip::Truncated));
}

/// PPI header (version, flags, length LE, DLT LE) with `fields` bytes of field data.
fn ppi(dlt: u32, fields: &[u8], inner: &[u8]) -> Vec<u8> {
    let len = u16::try_from(8 + fields.len()).unwrap();
    cat(&[
        &[0, 0],
        &len.to_le_bytes(),
        &dlt.to_le_bytes(),
        fields,
        inner,
    ])
}

/// PKTAP header: its length (LE u32), the DLT of the payload (LE u32), then the rest of
/// Apple's metadata, zero here.
fn pktap(dlt: u32, inner: &[u8]) -> Vec<u8> {
    const PTH_LEN: u32 = 108;
    let mut h = cat(&[&PTH_LEN.to_le_bytes(), &dlt.to_le_bytes()]);
    h.resize(PTH_LEN as usize, 0);
    cat(&[&h, inner])
}

#[test]
fn ppi_and_pktap_wrap_ethernet() {
    let e4 = eth(ET_IPV4, &tcp4());
    let e6 = eth(ET_IPV6, &udp6());
    // PPI with no fields, and with one 802.11-common-like field of 20 bytes.
    assert_tcp4(decode_as(LinkType::PPI, &ppi(1, &[], &e4)), "ppi/eth");
    let field = cat(&[&2u16.to_le_bytes(), &16u16.to_le_bytes(), &[0u8; 16]]);
    assert_udp6(
        decode_as(LinkType::PPI, &ppi(1, &field, &e6)),
        "ppi+field/eth",
    );
    assert_tcp4(decode_as(LinkType::PKTAP, &pktap(1, &e4)), "pktap/eth");
    assert_udp6(decode_as(LinkType::PKTAP, &pktap(1, &e6)), "pktap/eth6");
    // Wrapping raw IP and NULL.
    assert_tcp4(decode_as(LinkType::PKTAP, &pktap(12, &tcp4())), "pktap/raw");
    let null = cat(&[&30u32.to_le_bytes(), &udp6()]);
    assert_udp6(decode_as(LinkType::PKTAP, &pktap(0, &null)), "pktap/null");
    // An unknown inner link type.
    assert_eq!(
        decode_as(LinkType::PPI, &ppi(105, &[], &e4)).err(),
        Some(Skip::UnsupportedLinkType)
    );
    // PKTAP whose length is below its own fixed fields.
    let bad = cat(&[&4u32.to_le_bytes(), &1u32.to_le_bytes(), &e4]);
    assert_eq!(
        decode_as(LinkType::PKTAP, &bad).err(),
        Some(Skip::Truncated)
    );
    // A PPI length beyond the frame.
    let mut bad = ppi(1, &[], &e4);
    bad[2..4].copy_from_slice(&u16::MAX.to_le_bytes());
    assert_eq!(decode_as(LinkType::PPI, &bad).err(), Some(Skip::Truncated));
}

#[test]
fn wrappers_nested_without_end_are_too_deep() {
    let mut f = eth(ET_IPV4, &tcp4());
    let mut dlt = 1;
    for _ in 0..30 {
        f = ppi(dlt, &[], &f);
        dlt = LinkType::PPI.0;
    }
    assert_eq!(decode_as(LinkType::PPI, &f).err(), Some(Skip::TooDeep));
    // Two levels are fine.
    let two = ppi(LinkType::PPI.0, &[], &ppi(1, &[], &eth(ET_IPV4, &tcp4())));
    assert_tcp4(decode_as(LinkType::PPI, &two), "ppi/ppi/eth");
}

#[test]
fn unknown_link_types_are_unsupported() {
    let f = eth(ET_IPV4, &tcp4());
    for lt in [105u32, 127, 147, 220, 0xffff_ffff] {
        assert_eq!(
            decode_as(LinkType(lt), &f).err(),
            Some(Skip::UnsupportedLinkType),
            "link type {lt}"
        );
    }
}

#[test]
fn empty_frames_are_truncated_for_every_supported_link_type() {
    for link in SUPPORTED {
        assert_eq!(decode_as(link, &[]).err(), Some(Skip::Truncated), "{link}");
    }
}

// ---------------------------------------------------------------------------------------------
// IP layer
// ---------------------------------------------------------------------------------------------

#[test]
fn ipv4_with_options() {
    let mut h = V4::new(proto::TCP);
    // Router alert (RFC 2113), then NOPs and an end-of-list to fill 12 bytes.
    h.options = vec![0x94, 0x04, 0, 0, 1, 1, 1, 1, 1, 1, 1, 0];
    let ip = h.build(&tcp(SPORT, DPORT, DATA_FLAGS, &[], PAYLOAD));
    assert_eq!(ip[0] & 0x0f, 8);
    assert_tcp4(
        decode_as(LinkType::ETHERNET, &eth(ET_IPV4, &ip)),
        "ipv4 options",
    );
    // A header length pointing beyond the frame is truncated.
    let cut = &ip[..28];
    assert_eq!(decode_as(LinkType::RAW, cut).err(), Some(Skip::Truncated));
}

#[test]
fn ipv4_header_length_below_minimum_is_bad() {
    let mut ip = tcp4();
    ip[0] = 0x44; // IHL 4: 16 bytes, less than the fixed header
    assert_eq!(decode_as(LinkType::RAW, &ip).err(), Some(Skip::BadIpHeader));
}

#[test]
fn ipv6_hop_by_hop_and_destination_options_before_transport() {
    for (transport, proto) in [
        (tcp(SPORT, DPORT, DATA_FLAGS, &[], PAYLOAD), proto::TCP),
        (udp(SPORT, DPORT, PAYLOAD), proto::UDP),
    ] {
        let rest = cat(&[&ipv6_opts(60, 1), &ipv6_opts(proto, 2), &transport]);
        let ip = ipv6(V6_SRC, V6_DST, 0, 33, &rest);
        let f = eth(ET_IPV6, &ip);
        let p = decode_as(LinkType::ETHERNET, &f).unwrap();
        assert_eq!(p.proto, proto);
        assert_eq!((p.src, p.dst), (IpAddr::from(V6_SRC), IpAddr::from(V6_DST)));
        assert_eq!((p.src_port, p.dst_port), (SPORT, DPORT));
        assert_eq!(p.payload, PAYLOAD);
        assert_eq!(p.payload_len as usize, PAYLOAD.len());
        assert_eq!(p.tcp.is_some(), proto == proto::TCP);
        assert_eq!(p.frag, None);
    }
}

#[test]
fn ipv4_first_and_non_first_fragments() {
    let udp_payload = [0x5a; 64];
    let datagram = udp(SPORT, DPORT, &udp_payload);
    let mut h = V4::new(proto::UDP);
    h.id = 0xbeef;
    h.more = true;
    let first = h.build(&datagram[..40]);
    let p = decode_as(LinkType::RAW, &first).unwrap();
    assert_eq!(
        p.frag,
        Some(Fragment {
            id: 0xbeef,
            offset_bytes: 0,
            more: true
        })
    );
    assert_eq!((p.src_port, p.dst_port), (SPORT, DPORT));
    assert_eq!(p.proto, proto::UDP);
    // On-wire payload of this fragment: its IP payload less the UDP header.
    assert_eq!(p.payload_len, 40 - 8);

    h.more = false;
    h.offset_bytes = 40;
    let last = h.build(&datagram[40..]);
    let p = decode_as(LinkType::RAW, &last).unwrap();
    assert_eq!(
        p.frag,
        Some(Fragment {
            id: 0xbeef,
            offset_bytes: 40,
            more: false
        })
    );
    assert_eq!((p.src_port, p.dst_port), (0, 0));
    assert_eq!(p.tcp, None);
    assert_eq!(p.proto, proto::UDP);
    assert_eq!(p.payload_len as usize, datagram.len() - 40);
    assert_eq!((p.src, p.dst), (IpAddr::from(V4_SRC), IpAddr::from(V4_DST)));

    // A middle fragment of TCP has no TCP fields either, even if its bytes look like a header.
    let mut h = V4::new(proto::TCP);
    h.more = true;
    h.offset_bytes = 1480;
    let mid = h.build(&tcp(1, 2, 0x02, &[], &[0; 8]));
    let p = decode_as(LinkType::RAW, &mid).unwrap();
    assert_eq!(p.frag.map(|f| (f.offset_bytes, f.more)), Some((1480, true)));
    assert_eq!((p.src_port, p.dst_port, p.tcp), (0, 0, None));
}

#[test]
fn ipv6_first_and_non_first_fragments() {
    let datagram = tcp(SPORT, DPORT, DATA_FLAGS, &[], &[7u8; 100]);
    let first = ipv6(
        V6_SRC,
        V6_DST,
        44,
        33,
        &cat(&[
            &ipv6_frag(proto::TCP, 0, true, 0xdead_beef),
            &datagram[..48],
        ]),
    );
    let p = decode_as(LinkType::RAW, &first).unwrap();
    assert_eq!(
        p.frag,
        Some(Fragment {
            id: 0xdead_beef,
            offset_bytes: 0,
            more: true
        })
    );
    assert_eq!(p.proto, proto::TCP);
    assert_eq!((p.src_port, p.dst_port), (SPORT, DPORT));
    assert_eq!(p.tcp.map(|t| t.flags), Some(DATA_FLAGS));
    assert_eq!(p.payload_len, 48 - 20);

    let last = ipv6(
        V6_SRC,
        V6_DST,
        44,
        33,
        &cat(&[
            &ipv6_frag(proto::TCP, 48, false, 0xdead_beef),
            &datagram[48..],
        ]),
    );
    let p = decode_as(LinkType::RAW, &last).unwrap();
    assert_eq!(
        p.frag,
        Some(Fragment {
            id: 0xdead_beef,
            offset_bytes: 48,
            more: false
        })
    );
    assert_eq!(p.proto, proto::TCP);
    assert_eq!((p.src_port, p.dst_port, p.tcp), (0, 0, None));
    assert_eq!(p.payload_len as usize, datagram.len() - 48);
}

#[test]
fn ip_in_ip_yields_the_inner_five_tuple() {
    let inner4 = tcp4();
    let inner6 = udp6();
    let mut outer4 = V4::new(4);
    outer4.src = [198, 51, 100, 1];
    outer4.dst = [198, 51, 100, 2];
    outer4.ttl = 200;
    let outer_v6_src = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    let outer_v6_dst = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

    let f = eth(ET_IPV4, &outer4.build(&inner4));
    assert_tcp4(decode_as(LinkType::ETHERNET, &f), "4in4");

    outer4.proto = 41;
    let f = eth(ET_IPV4, &outer4.build(&inner6));
    assert_udp6(decode_as(LinkType::ETHERNET, &f), "6in4");

    let f = eth(ET_IPV6, &ipv6(outer_v6_src, outer_v6_dst, 4, 200, &inner4));
    assert_tcp4(decode_as(LinkType::ETHERNET, &f), "4in6");

    let f = eth(ET_IPV6, &ipv6(outer_v6_src, outer_v6_dst, 41, 200, &inner6));
    assert_udp6(decode_as(LinkType::ETHERNET, &f), "6in6");
}

/// `layers` IP headers, alternating IPv4 and IPv6, around the standard TCP segment.
fn nested_ip(layers: usize) -> Vec<u8> {
    let mut pkt = tcp4();
    for i in 1..layers {
        pkt = if i % 2 == 1 {
            ipv6(V6_SRC, V6_DST, 4, 9, &pkt)
        } else {
            let mut h = V4::new(41);
            h.ttl = 9;
            h.build(&pkt)
        };
    }
    pkt
}

#[test]
fn ip_in_ip_nested_too_deep() {
    let max = usize::from(MAX_IP_NESTING);
    // The outer header plus MAX_IP_NESTING inner ones are followed.
    let ok = nested_ip(max + 1);
    assert_tcp4(decode_as(LinkType::RAW, &nested_ip(1)), "no nesting");
    assert_tcp4(decode_as(LinkType::RAW, &ok), "deepest followed nesting");
    assert_eq!(
        decode_as(LinkType::RAW, &nested_ip(max + 2)).err(),
        Some(Skip::TooDeep)
    );
    assert_eq!(
        decode_as(LinkType::RAW, &nested_ip(40)).err(),
        Some(Skip::TooDeep)
    );
}

#[test]
fn icmp_has_zero_ports() {
    let icmp = [8, 0, 0, 0, 0, 1, 0, 1, b'p', b'i', b'n', b'g'];
    let ip = V4::new(proto::ICMP).build(&icmp);
    let p = decode_as(LinkType::RAW, &ip).unwrap();
    assert_eq!(p.proto, proto::ICMP);
    assert_eq!((p.src_port, p.dst_port, p.tcp), (0, 0, None));
    assert_eq!(p.payload, &icmp[..]);
    assert_eq!(p.payload_len as usize, icmp.len());
}

// ---------------------------------------------------------------------------------------------
// Snaplen cuts and truncation
// ---------------------------------------------------------------------------------------------

#[test]
fn tcp_options_cut_by_snaplen_still_give_ports() {
    // 20 bytes of options: MSS, SACK permitted, timestamps, NOP, window scale.
    let opts = [
        2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7,
    ];
    let full = eth(
        ET_IPV4,
        &V4::new(proto::TCP).build(&tcp(SPORT, DPORT, DATA_FLAGS, &opts, PAYLOAD)),
    );
    let options_start = 14 + 20 + 20;
    for cut in options_start..options_start + opts.len() {
        let p = decode_cut(LinkType::ETHERNET, &full[..cut], full.len())
            .unwrap_or_else(|e| panic!("cut at {cut}: {e:?}"));
        assert_eq!((p.src_port, p.dst_port), (SPORT, DPORT), "cut at {cut}");
        assert_eq!(
            p.tcp.map(|t| (t.flags, t.seq, t.ack)),
            Some((DATA_FLAGS, SEQ, ACK))
        );
        assert!(p.payload.is_empty(), "cut at {cut}");
        assert_eq!(p.payload_len as usize, PAYLOAD.len(), "cut at {cut}");
        assert_eq!(p.wire_len as usize, full.len());
    }
}

#[test]
fn payload_len_is_the_on_wire_length_when_the_snaplen_cuts_the_payload() {
    let big = [0xab_u8; 1200];
    let tcp_frame = eth(
        ET_IPV4,
        &V4::new(proto::TCP).build(&tcp(SPORT, DPORT, DATA_FLAGS, &[], &big)),
    );
    let udp_frame = eth(
        ET_IPV6,
        &ipv6(V6_SRC, V6_DST, 17, 33, &udp(SPORT, DPORT, &big)),
    );
    for snap in [54usize, 64, 96, 128, 200] {
        let p = decode_cut(LinkType::ETHERNET, &tcp_frame[..snap], tcp_frame.len()).unwrap();
        assert_eq!(p.payload_len as usize, big.len(), "tcp snap {snap}");
        assert_eq!(p.payload.len(), snap - 54, "tcp snap {snap}");
        assert_eq!(p.wire_len as usize, tcp_frame.len());
        let hdrs = 14 + 40 + 8;
        if snap >= hdrs {
            let p = decode_cut(LinkType::ETHERNET, &udp_frame[..snap], udp_frame.len()).unwrap();
            assert_eq!(p.payload_len as usize, big.len(), "udp snap {snap}");
            assert_eq!(p.payload.len(), snap - hdrs, "udp snap {snap}");
        }
    }
}

#[test]
fn zero_ipv4_total_length_falls_back_to_the_captured_length() {
    // TSO offload writes 0 in the total length; the captured bytes are the best estimate.
    let seg = tcp(SPORT, DPORT, DATA_FLAGS, &[], PAYLOAD);
    let mut ip = V4::new(proto::TCP).build(&seg);
    ip[2..4].copy_from_slice(&[0, 0]);
    let p = decode_as(LinkType::RAW, &ip).unwrap();
    assert_eq!((p.src_port, p.dst_port), (SPORT, DPORT));
    assert_eq!(p.payload_len as usize, PAYLOAD.len());
}

#[test]
fn zero_ipv6_payload_length_falls_back_to_the_captured_length() {
    let seg = udp(SPORT, DPORT, PAYLOAD);
    let ip = ipv6_declaring(V6_SRC, V6_DST, proto::UDP, 33, &seg, 0);
    assert_udp6(decode_as(LinkType::RAW, &ip), "ipv6 payload length 0");
}

#[test]
fn ethernet_ipv4_tcp_truncated_at_every_byte() {
    let opts = [1, 1, 1, 1, 2, 4, 0x05, 0xb4, 1, 1, 1, 0];
    let full = eth(
        ET_IPV4,
        &V4::new(proto::TCP).build(&tcp(SPORT, DPORT, DATA_FLAGS, &opts, PAYLOAD)),
    );
    let fixed_end = 14 + 20 + 20;
    let header_end = fixed_end + opts.len();
    for cut in 0..=full.len() {
        let data = &full[..cut];
        let a = decode_cut(LinkType::ETHERNET, data, full.len());
        let b = decode_cut(LinkType::ETHERNET, data, full.len());
        assert_eq!(
            format!("{a:?}"),
            format!("{b:?}"),
            "cut at {cut}: not deterministic"
        );
        if cut < fixed_end {
            assert_eq!(a.err(), Some(Skip::Truncated), "cut at {cut}");
        } else {
            let p = a.unwrap_or_else(|e| panic!("cut at {cut}: {e:?}"));
            assert_eq!((p.src_port, p.dst_port), (SPORT, DPORT), "cut at {cut}");
            assert_eq!(
                p.payload,
                &PAYLOAD[..cut.saturating_sub(header_end)],
                "cut {cut}"
            );
            assert_eq!(p.payload_len as usize, PAYLOAD.len(), "cut at {cut}");
        }
    }
}

#[test]
fn ethernet_ipv6_extension_headers_truncated_at_every_byte() {
    let rest = cat(&[
        &ipv6_opts(60, 1),
        &ipv6_opts(proto::TCP, 2),
        &tcp(SPORT, DPORT, DATA_FLAGS, &[], PAYLOAD),
    ]);
    let full = eth(ET_IPV6, &ipv6(V6_SRC, V6_DST, 0, 33, &rest));
    let transport_end = 14 + 40 + 8 + 16 + 20;
    for cut in 0..=full.len() {
        let r = decode_cut(LinkType::ETHERNET, &full[..cut], full.len());
        if cut < transport_end {
            assert_eq!(
                r.as_ref().err(),
                Some(&Skip::Truncated),
                "cut at {cut}: got {:?}",
                r.map(|p| p.proto)
            );
        } else {
            let p = r.unwrap_or_else(|e| panic!("cut at {cut}: {e:?}"));
            assert_eq!(p.proto, proto::TCP, "cut at {cut}");
            assert_eq!((p.src_port, p.dst_port), (SPORT, DPORT), "cut at {cut}");
        }
    }
}

#[test]
fn udp_truncated_inside_its_header() {
    let full = udp6();
    for cut in 40..48 {
        assert_eq!(
            decode_as(LinkType::RAW, &full[..cut]).err(),
            Some(Skip::Truncated),
            "cut at {cut}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Property tests
// ---------------------------------------------------------------------------------------------

fn any_link() -> impl Strategy<Value = LinkType> {
    prop_oneof![
        prop::sample::select(SUPPORTED.to_vec()),
        any::<u32>().prop_map(LinkType),
    ]
}

/// Bytes that start like something the decoder follows, so random tails reach deeper layers.
fn plausible_prefix() -> impl Strategy<Value = Vec<u8>> {
    prop::sample::select(vec![
        eth(ET_IPV4, &[0x45]),
        eth(ET_IPV6, &[0x60]),
        eth([0x81, 0x00], &[0, 1]),
        eth([0x88, 0x47], &[]),
        eth([0x88, 0x64], &[0x11, 0, 0, 1, 0, 0x40, 0, 0x21]),
        eth([0x89, 0x03], &[]),
        vec![0x45, 0x00],
        vec![0x60],
        vec![0x0f, 0x00, 0x08, 0x00, 0x45],
        vec![0xff, 0x03, 0x00, 0x57, 0x60],
        vec![2, 0, 0, 0, 0x45],
        vec![0, 0, 8, 0, 1, 0, 0, 0],
    ])
}

fn addr_pair() -> impl Strategy<Value = (IpAddr, IpAddr)> {
    prop_oneof![
        (any::<[u8; 4]>(), any::<[u8; 4]>()).prop_map(|(a, b)| (
            IpAddr::from(Ipv4Addr::from(a)),
            IpAddr::from(Ipv4Addr::from(b))
        )),
        (any::<[u8; 16]>(), any::<[u8; 16]>()).prop_map(|(a, b)| (
            IpAddr::from(Ipv6Addr::from(a)),
            IpAddr::from(Ipv6Addr::from(b))
        )),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(
        link in any_link(),
        data in prop::collection::vec(any::<u8>(), 0..256),
        wire_extra in 0u32..2000,
    ) {
        let wire = u32::try_from(data.len()).unwrap() + wire_extra;
        let a = decode_cut(link, &data, wire as usize);
        let b = decode_cut(link, &data, wire as usize);
        prop_assert_eq!(format!("{a:?}"), format!("{b:?}"));
        if let Ok(p) = a {
            // The payload is borrowed from the frame, never invented.
            let range = data.as_ptr_range();
            prop_assert!(p.payload.is_empty() || range.contains(&p.payload.as_ptr()));
            prop_assert!(p.payload.len() <= data.len());
            prop_assert_eq!(p.wire_len, wire);
        }
    }

    #[test]
    fn plausible_prefixes_with_random_tails_never_panic(
        link in prop::sample::select(SUPPORTED.to_vec()),
        prefix in plausible_prefix(),
        tail in prop::collection::vec(any::<u8>(), 0..128),
    ) {
        let data = cat(&[&prefix, &tail]);
        let _ = decode_as(link, &data);
        let _ = decode_as(LinkType::ETHERNET, &data);
        let _ = decode_as(LinkType::RAW, &data);
    }

    #[test]
    fn generated_frames_decode_to_their_fields(
        (src, dst) in addr_pair(),
        sport in any::<u16>(),
        dport in any::<u16>(),
        is_tcp in any::<bool>(),
        flags in 0u8..32,
        seq in any::<u32>(),
        ack in any::<u32>(),
        payload in prop::collection::vec(any::<u8>(), 0..1400),
        cut in any::<prop::sample::Index>(),
    ) {
        let transport = if is_tcp { Transport::Tcp { seq, ack, flags } } else { Transport::Udp };
        let frame = ethernet_frame((src, sport), (dst, dport), transport, &payload).unwrap();
        let ts = Timestamp::from_parts(1_700_000_000, 42);
        let p = decode(&Frame {
            ts,
            wire_len: u32::try_from(frame.len()).unwrap(),
            link: LinkType::ETHERNET,
            data: &frame,
        }).unwrap();
        prop_assert_eq!(p.src, src);
        prop_assert_eq!(p.dst, dst);
        prop_assert_eq!(p.src_port, sport);
        prop_assert_eq!(p.dst_port, dport);
        prop_assert_eq!(p.proto, if is_tcp { proto::TCP } else { proto::UDP });
        prop_assert_eq!(p.payload, &payload[..]);
        prop_assert_eq!(p.payload_len as usize, payload.len());
        prop_assert_eq!(p.ts, ts);
        prop_assert_eq!(p.wire_len as usize, frame.len());
        prop_assert_eq!(p.frag, None);
        match p.tcp {
            Some(t) => {
                prop_assert!(is_tcp);
                prop_assert_eq!(t.flags, flags);
                prop_assert_eq!(t.seq, seq);
                if flags & 0x10 != 0 {
                    prop_assert_eq!(t.ack, ack);
                }
            }
            None => prop_assert!(!is_tcp),
        }

        // The same frame cut by a snaplen anywhere after its headers keeps the on-wire
        // payload length and hands on a prefix of the payload.
        let headers = frame.len() - payload.len();
        let snap = headers + cut.index(payload.len() + 1);
        let q = decode_cut(LinkType::ETHERNET, &frame[..snap], frame.len()).unwrap();
        prop_assert_eq!((q.src, q.dst, q.src_port, q.dst_port), (src, dst, sport, dport));
        prop_assert_eq!(q.payload, &payload[..snap - headers]);
        prop_assert_eq!(q.payload_len as usize, payload.len());
    }
}

#[test]
fn syn_options_are_read_in_order_and_malformed_ones_stop_the_walk() {
    use crate::decode::SynOptions;
    // macOS/iOS layout (p0f v3 p0f.fp): mss,nop,ws,nop,nop,ts,sok,eol.
    let mac = [
        2, 4, 0x05, 0xb4, 1, 3, 3, 6, 1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 4, 2, 0, 0,
    ];
    let o = SynOptions::parse(&mac);
    assert_eq!(o.layout(), "mss,nop,ws,nop,nop,ts,sok,eol");
    assert_eq!((o.mss, o.wscale), (Some(1460), Some(6)));
    // A length running past the end, a zero length, and nothing at all.
    assert_eq!(SynOptions::parse(&[2, 4, 5]).layout(), "mss");
    assert_eq!(SynOptions::parse(&[3, 0, 1, 1]).layout(), "ws");
    assert_eq!(SynOptions::parse(&[]).layout(), "");
    // More options than are kept: the walk stops at the cap.
    assert_eq!(
        usize::from(SynOptions::parse(&[1; 40]).count),
        SynOptions::MAX_KINDS
    );
}
