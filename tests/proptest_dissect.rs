//! Property tests: no parser panics on arbitrary or mutated input, and a
//! ClientHello built from random SNI/ALPN survives reassembly from random,
//! reordered, duplicated segments.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;

use onlooker::dissect::quic::{self, QuicInitialTracker};
use onlooker::dissect::tls::{self, TlsClientHelloReassembler};
use onlooker::dissect::{Progress, dns, rtp, stun};

/// Builds a ClientHello handshake message (4-byte header included).
fn client_hello(sni: &str, alpn: &[String]) -> Vec<u8> {
    let mut ext = Vec::new();
    let mut push = |t: u16, d: &[u8]| {
        ext.extend_from_slice(&t.to_be_bytes());
        ext.extend_from_slice(&(d.len() as u16).to_be_bytes());
        ext.extend_from_slice(d);
    };
    let mut d = ((sni.len() + 3) as u16).to_be_bytes().to_vec();
    d.push(0);
    d.extend_from_slice(&(sni.len() as u16).to_be_bytes());
    d.extend_from_slice(sni.as_bytes());
    push(0, &d);
    if !alpn.is_empty() {
        let mut l = Vec::new();
        for p in alpn {
            l.push(p.len() as u8);
            l.extend_from_slice(p.as_bytes());
        }
        let mut d = (l.len() as u16).to_be_bytes().to_vec();
        d.extend_from_slice(&l);
        push(16, &d);
    }
    push(43, &[4, 0x03, 0x04, 0x03, 0x03]);
    let mut body = vec![3, 3];
    body.extend_from_slice(&[0x42; 32]);
    body.push(0);
    body.extend_from_slice(&[0, 2, 0x13, 0x01, 1, 0]);
    body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
    body.extend_from_slice(&ext);
    let mut m = vec![1];
    m.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    m.extend_from_slice(&body);
    m
}

fn records(msg: &[u8], rec: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for c in msg.chunks(rec.max(1)) {
        out.extend_from_slice(&[22, 3, 1]);
        out.extend_from_slice(&(c.len() as u16).to_be_bytes());
        out.extend_from_slice(c);
    }
    out
}

fn hostname() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[a-z0-9]{1,20}(\\.[a-z0-9-]{1,20}){0,4}").unwrap()
}

fn alpn_list() -> impl Strategy<Value = Vec<String>> {
    proptest::collection::vec(
        proptest::string::string_regex("[a-z0-9/.]{1,12}").unwrap(),
        0..6,
    )
}

const RFC9001_A2: &str = include_str!("vectors/rfc9001_a2_client_initial.hex");

fn unhex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = tls::parse_client_hello(&data);
        let _ = tls::parse_client_hello_body(&data);
        let _ = tls::client_hello_from_bytes(&data);
        let mut r = TlsClientHelloReassembler::new();
        for (i, c) in data.chunks(97).enumerate() {
            let _ = r.push((i as u32).wrapping_mul(97), c);
        }
        let mut q = QuicInitialTracker::new();
        let _ = q.push_client_datagram(&data);
        let _ = quic::gquic_version(&data);
        let _ = quic::gquic_chlo_sni(&data);
        let _ = quic::walk_initial_frames(&data, |_, _| {});
        let _ = dns::parse_dns(&data);
        for m in dns::TcpDnsFrames::new(&data) {
            let _ = dns::parse_dns(m);
        }
        let _ = stun::parse_stun(&data);
        let _ = stun::parse_channel_data(&data);
        let _ = stun::next_tcp_item(&data, stun::TcpFraming::Plain);
        let _ = stun::next_tcp_item(&data, stun::TcpFraming::Rfc4571);
        for m in stun::tcp_segment_messages(&data) {
            prop_assert!(stun::looks_like_stun(m));
        }
        let mut sip = onlooker::dissect::sip::SipDialogs::default();
        sip.observe(&data, onlooker::capture::Timestamp(0));
        let mut iax = onlooker::dissect::iax::IaxCalls::default();
        for (i, c) in data.chunks(40).enumerate() {
            iax.observe(c, i % 2 == 0, onlooker::capture::Timestamp(i as i64));
        }
        let _ = rtp::classify(&data);
        let mut t = rtp::RtpTracker::new();
        let _ = t.push(&data);
    }

    /// Headers that pass the cheap checks, random bodies: reaches deeper.
    #[test]
    fn plausible_headers_never_panic(
        body in proptest::collection::vec(any::<u8>(), 0..600),
        first in any::<u8>(),
        n in 0u16..40,
    ) {
        // STUN with cookie and exact length
        let mut s = vec![first & 0x3f, 1];
        s.extend_from_slice(&((body.len() & !3) as u16).to_be_bytes());
        s.extend_from_slice(&stun::MAGIC_COOKIE.to_be_bytes());
        s.extend_from_slice(&[1; 12]);
        s.extend_from_slice(&body[..body.len() & !3]);
        let _ = stun::parse_stun(&s);
        // DNS with one question and n answers
        let mut d = vec![0x12, 0x34, 0x81, 0x80, 0, 1];
        d.extend_from_slice(&n.to_be_bytes());
        d.extend_from_slice(&[0, 0, 0, 0]);
        d.extend_from_slice(&body);
        let _ = dns::parse_dns(&d);
        // TLS record with a ClientHello header and random body
        let mut t = vec![22, 3, 1];
        t.extend_from_slice(&((body.len() + 4) as u16).to_be_bytes());
        t.extend_from_slice(&[1, 0]);
        t.extend_from_slice(&(body.len() as u16).to_be_bytes());
        t.extend_from_slice(&body);
        let _ = tls::client_hello_from_bytes(&t);
        // QUIC v1 long header with random rest
        let mut q = vec![0xc0 | (first & 0x3f), 0, 0, 0, 1, 8];
        q.extend_from_slice(&[3; 8]);
        q.push(0);
        q.extend_from_slice(&body);
        let mut tr = QuicInitialTracker::new();
        let _ = tr.push_client_datagram(&q);
        // gQUIC Q043 public header
        let mut g = vec![0x0d, 1, 2, 3, 4, 5, 6, 7, 8, b'Q', b'0', b'4', b'3'];
        g.extend_from_slice(b"CHLO");
        g.extend_from_slice(&body);
        let _ = quic::gquic_chlo_sni(&g);
    }

    /// Mutations of the RFC 9001 client Initial: never panics, and either
    /// decrypts to the same SNI or is rejected.
    #[test]
    fn mutated_quic_initial(pos in 0usize..1200, val in any::<u8>(), cut in 0usize..1300) {
        let mut p = unhex(RFC9001_A2);
        p[pos] = val;
        let p = &p[..cut.min(p.len())];
        let mut t = QuicInitialTracker::new();
        if t.push_client_datagram(p) == Progress::Done {
            let sni = t.info().and_then(|i| i.hello.as_ref()).and_then(|h| h.sni.clone());
            prop_assert_eq!(sni.as_deref(), Some("example.com"));
        }
    }

    /// Mutations of a valid ClientHello: never panics.
    #[test]
    fn mutated_client_hello(sni in hostname(), pos in any::<usize>(), val in any::<u8>()) {
        let mut m = client_hello(&sni, &["h2".to_string()]);
        let i = pos % m.len();
        m[i] = val;
        let _ = tls::parse_client_hello(&m);
        let _ = tls::client_hello_from_bytes(&records(&m, 100));
    }

    /// Random SNI/ALPN, random record size, split into random segments,
    /// delivered with local reordering and duplicates: same fields out.
    #[test]
    fn client_hello_round_trips_through_reassembly(
        sni in hostname(),
        alpn in alpn_list(),
        rec in 1usize..2000,
        cuts in proptest::collection::vec(1usize..300, 1..40),
        swaps in proptest::collection::vec(any::<bool>(), 40),
        dups in proptest::collection::vec(any::<bool>(), 40),
        isn in any::<u32>(),
    ) {
        let msg = client_hello(&sni, &alpn);
        let stream = records(&msg, rec);
        // cut points
        let mut segs = Vec::new();
        let mut off = 0usize;
        let mut k = 0usize;
        while off < stream.len() {
            let n = cuts[k % cuts.len()].min(stream.len() - off);
            segs.push((off, n));
            off += n;
            k += 1;
        }
        // local reordering: swap disjoint neighbour pairs (not the first
        // segment, whose record header anchors the stream)
        let mut i = 1;
        while i + 1 < segs.len() {
            if swaps[i % swaps.len()] {
                segs.swap(i, i + 1);
            }
            i += 2;
        }
        let mut r = TlsClientHelloReassembler::new();
        r.set_client_isn(isn);
        let base = isn.wrapping_add(1);
        let mut last = Progress::Idle;
        for (i, &(o, n)) in segs.iter().enumerate() {
            let seq = base.wrapping_add(o as u32);
            last = r.push(seq, &stream[o..o + n]);
            if dups[i % dups.len()] {
                last = r.push(seq, &stream[o..o + n]);
            }
        }
        prop_assert_eq!(last, Progress::Done);
        let info = r.info().unwrap();
        prop_assert_eq!(info.sni.as_deref(), Some(sni.as_str()));
        let want: Vec<String> = alpn.iter().take(tls::MAX_ALPN).cloned().collect();
        prop_assert_eq!(&info.alpn, &want);
        prop_assert_eq!(info.tls_version, Some(tls::TlsVersion::Tls13));
    }
}
