//! Handshakes that arrive as slowly and as badly as a sender can make them: a TLS ClientHello
//! in one-byte TCP segments, in reverse order, in overlapping segments, or retransmitted
//! forever; QUIC Initials whose CRYPTO frames come one per datagram in reverse order. Each
//! either completes with the right fields or gives up at its documented bound
//! (`tls::MAX_STALLED_SEGMENTS`, `tls::MAX_HELLO_BYTES`, `quic::MAX_DATAGRAMS`, the 64 packets
//! per flow the dissectors look at), and never grows beyond it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::{IpAddr, Ipv4Addr};

use onlooker::capture::writer::{Transport, ethernet_frame, tcp_flags};
use onlooker::capture::{LinkType, Timestamp};
use onlooker::dissect::quic::{self, QuicInitialTracker};
use onlooker::dissect::tls::{self, TlsClientHelloReassembler};
use onlooker::dissect::{GiveUp, Progress};

/// A ClientHello handshake message (type and 3-byte length included) with an SNI, one ALPN
/// entry and TLS 1.3 in supported_versions, padded with a padding extension (RFC 7685) to
/// about `pad` extra bytes. Layout from RFC 8446 §4.1.2 and RFC 6066 §3.
fn client_hello(sni: &str, pad: usize) -> Vec<u8> {
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
    push(16, &[0, 3, 2, b'h', b'2']);
    push(43, &[2, 0x03, 0x04]);
    if pad > 0 {
        push(21, &vec![0; pad]);
    }
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

/// The handshake message in one TLS record (RFC 8446 §5.1).
fn record(msg: &[u8]) -> Vec<u8> {
    let mut out = vec![22, 3, 1];
    out.extend_from_slice(&(msg.len() as u16).to_be_bytes());
    out.extend_from_slice(msg);
    out
}

fn sni_of(r: &TlsClientHelloReassembler) -> Option<String> {
    r.info().and_then(|i| i.sni.clone())
}

#[test]
fn a_client_hello_in_one_byte_segments_completes() {
    let stream = record(&client_hello("drip.example.org", 300));
    let isn = 0xffff_ff00u32; // the sequence numbers wrap around inside the hello
    for with_isn in [true, false] {
        let mut r = TlsClientHelloReassembler::new();
        if with_isn {
            r.set_client_isn(isn);
        }
        let mut last = Progress::Idle;
        for (i, b) in stream.iter().enumerate() {
            last = r.push(
                isn.wrapping_add(1).wrapping_add(i as u32),
                std::slice::from_ref(b),
            );
            if i + 1 < stream.len() {
                assert!(
                    !last.is_final(),
                    "final after {} of {} bytes: {last:?}",
                    i + 1,
                    stream.len()
                );
            }
        }
        assert_eq!(last, Progress::Done, "isn known: {with_isn}");
        assert_eq!(sni_of(&r).as_deref(), Some("drip.example.org"));
        assert_eq!(r.info().unwrap().alpn, vec!["h2".to_string()]);
    }
}

/// Out of order, the reassembler waits for the first bytes for at most
/// `tls::MAX_STALLED_SEGMENTS` segments that do not extend the gap-free prefix: a hello in
/// fewer reversed segments completes, one in reversed single bytes gives up right at the bound.
#[test]
fn a_client_hello_in_reverse_order_completes_or_gives_up_at_the_bound() {
    let stream = record(&client_hello("reverse.example.org", 200));
    let isn = 77u32;
    let stalled = usize::from(tls::MAX_STALLED_SEGMENTS);
    for seg in [stream.len().div_ceil(stalled), 1] {
        let mut r = TlsClientHelloReassembler::new();
        r.set_client_isn(isn);
        let starts: Vec<usize> = (0..stream.len()).step_by(seg).collect();
        let mut pushes = 0;
        for &s in starts.iter().rev() {
            pushes += 1;
            let e = (s + seg).min(stream.len());
            if r.push(isn + 1 + s as u32, &stream[s..e]).is_final() {
                break;
            }
        }
        if starts.len() <= stalled {
            assert_eq!(r.progress(), Progress::Done, "{} segments", starts.len());
            assert_eq!(sni_of(&r).as_deref(), Some("reverse.example.org"));
        } else {
            assert_eq!(r.progress(), Progress::GaveUp(GiveUp::TooManyPackets));
            // None of them extends the prefix (the first byte comes last): the one past the
            // bound ends it.
            assert_eq!(pushes, stalled + 1, "gives up at the bound");
        }
    }
}

#[test]
fn overlapping_segments_complete() {
    let stream = record(&client_hello("overlap.example.org", 500));
    let isn = 1000u32;
    let mut r = TlsClientHelloReassembler::new();
    r.set_client_isn(isn);
    let mut last = Progress::Idle;
    // Segments of 100 bytes starting every 37 bytes: each overlaps the next two, and the
    // first segment arrives last.
    let starts: Vec<usize> = (0..stream.len()).step_by(37).collect();
    for &s in starts.iter().skip(1).chain(starts.first()) {
        let e = (s + 100).min(stream.len());
        last = r.push(isn + 1 + s as u32, &stream[s..e]);
    }
    assert_eq!(last, Progress::Done);
    assert_eq!(sni_of(&r).as_deref(), Some("overlap.example.org"));
}

#[test]
fn retransmissions_without_progress_give_up_at_the_bound() {
    let stream = record(&client_hello("stall.example.org", 0));
    let mut r = TlsClientHelloReassembler::new();
    // The first half, then the same segment over and over: nothing new arrives.
    let half = &stream[..stream.len() / 2];
    assert_eq!(r.push(5, half), Progress::NeedMore);
    let mut pushes = 0;
    while !r.progress().is_final() && pushes < 10_000 {
        r.push(5, half);
        pushes += 1;
    }
    assert_eq!(r.progress(), Progress::GaveUp(GiveUp::TooManyPackets));
    assert_eq!(pushes, usize::from(tls::MAX_STALLED_SEGMENTS) + 1);
}

#[test]
fn a_client_hello_longer_than_the_buffer_gives_up() {
    // A record header announcing more than the reassembly buffer holds, then one-byte drips.
    let mut msg = client_hello("big.example.org", 0);
    let claimed = tls::MAX_HELLO_BYTES as u32 + 100;
    msg[1..4].copy_from_slice(&claimed.to_be_bytes()[1..]);
    let mut stream = vec![22, 3, 1, 0x40, 0x00];
    stream.extend_from_slice(&msg);
    stream.resize(5 + 0x4000, 0);
    let mut r = TlsClientHelloReassembler::new();
    let mut pushed = 0;
    for (i, b) in stream.iter().enumerate() {
        if r.push(i as u32, std::slice::from_ref(b)).is_final() {
            break;
        }
        pushed += 1;
    }
    assert_eq!(
        r.progress(),
        Progress::GaveUp(GiveUp::TooLarge),
        "after {pushed} bytes"
    );
    assert!(pushed <= tls::MAX_HELLO_BYTES);
}

/// A TCP connection (SYN, SYN-ACK, ACK) whose client then sends `stream` in `seg`-byte
/// segments, as an Ethernet pcap.
fn tcp_capture(stream: &[u8], seg: usize) -> Vec<u8> {
    let c = (IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)), 50_000);
    let s = (IpAddr::V4(Ipv4Addr::new(198, 51, 100, 20)), 443);
    let isn = 4_000_000_000u32;
    let t = |k: usize| Timestamp::from_nanos(1_700_000_000_000_000_000 + k as i64 * 1_000_000);
    let tcp = |seq, ack, flags| Transport::Tcp { seq, ack, flags };
    use tcp_flags::*;
    let mut frames = vec![
        (t(0), ethernet_frame(c, s, tcp(isn, 0, SYN), b"").unwrap()),
        (
            t(1),
            ethernet_frame(s, c, tcp(9, isn + 1, SYN | ACK), b"").unwrap(),
        ),
        (
            t(2),
            ethernet_frame(c, s, tcp(isn + 1, 10, ACK), b"").unwrap(),
        ),
    ];
    for (i, piece) in stream.chunks(seg).enumerate() {
        let seq = isn.wrapping_add(1).wrapping_add((i * seg) as u32);
        frames.push((
            t(3 + i),
            ethernet_frame(c, s, tcp(seq, 10, PSH | ACK), piece).unwrap(),
        ));
    }
    common::pcap_bytes(LinkType::ETHERNET, 65_535, &frames).0
}

/// Through the whole program: a ClientHello in segments few enough for the 64 packets per flow
/// the dissectors look at gives its SNI; in one-byte segments (hundreds of packets) the flow is
/// still reported, with no SNI, and the run ends normally.
#[test]
fn the_program_reads_a_dripped_hello_within_the_packets_it_looks_at() {
    let stream = record(&client_hello("drip.example.net", 0));
    assert!(
        stream.len() > 64 && stream.len() / 8 < 60,
        "{}",
        stream.len()
    );
    let dir = tempfile::tempdir().unwrap();
    for (seg, want) in [(8usize, Some("drip.example.net")), (1, None)] {
        let p = common::write_file(
            dir.path(),
            &format!("seg{seg}.pcap"),
            &tcp_capture(&stream, seg),
        );
        let out = common::onlooker(["flows".as_ref(), p.as_os_str()]);
        assert_eq!(
            common::exit_code(&out),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let recs = common::ndjson(&out.stdout);
        assert_eq!(recs.len(), 1, "{recs:?}");
        assert_eq!(recs[0]["sni"].as_str(), want, "segments of {seg} bytes");
        assert_eq!(
            recs[0]["packets_up"].as_u64(),
            Some(2 + stream.len().div_ceil(seg) as u64),
            "every packet counted"
        );
    }
}

// ---- QUIC: client Initials sealed as RFC 9001 §5 describes --------------------------------

/// RFC 9001 §5.2 initial salt of QUIC version 1.
const V1_SALT: [u8; 20] = [
    0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad,
    0xcc, 0xbb, 0x7f, 0x0a,
];

struct Len(usize);

impl ring::hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

/// HKDF-Expand-Label (RFC 8446 §7.1) with an empty context.
fn expand_label(prk: &ring::hkdf::Prk, label: &str, len: usize) -> Vec<u8> {
    let full = format!("tls13 {label}");
    let mut info = (len as u16).to_be_bytes().to_vec();
    info.push(full.len() as u8);
    info.extend_from_slice(full.as_bytes());
    info.push(0);
    let mut out = vec![0; len];
    prk.expand(&[&info], Len(len))
        .unwrap()
        .fill(&mut out)
        .unwrap();
    out
}

/// A protected QUIC v1 client Initial carrying `frames`, padded to 1162 payload bytes (a
/// 1200-byte datagram, RFC 9000 §14.1).
fn seal_initial(dcid: &[u8], pn: u32, frames: &[u8]) -> Vec<u8> {
    use ring::{aead, hkdf};
    let initial = hkdf::Salt::new(hkdf::HKDF_SHA256, &V1_SALT).extract(dcid);
    let client = expand_label(&initial, "client in", 32);
    let client = hkdf::Prk::new_less_safe(hkdf::HKDF_SHA256, &client);
    let key = expand_label(&client, "quic key", 16);
    let iv = expand_label(&client, "quic iv", 12);
    let hp = expand_label(&client, "quic hp", 16);
    let mut payload = frames.to_vec();
    payload.resize(payload.len().max(1162), 0);
    let mut hdr = vec![0xc3];
    hdr.extend_from_slice(&1u32.to_be_bytes());
    hdr.push(dcid.len() as u8);
    hdr.extend_from_slice(dcid);
    hdr.extend_from_slice(&[0, 0]); // empty SCID, empty token
    let len = 4 + payload.len() + 16;
    hdr.extend_from_slice(&(0x4000u16 | len as u16).to_be_bytes());
    let pn_at = hdr.len();
    hdr.extend_from_slice(&pn.to_be_bytes());
    let mut nonce = [0u8; 12];
    nonce.copy_from_slice(&iv);
    for (n, p) in nonce.iter_mut().skip(4).zip(u64::from(pn).to_be_bytes()) {
        *n ^= p;
    }
    let k = aead::LessSafeKey::new(aead::UnboundKey::new(&aead::AES_128_GCM, &key).unwrap());
    k.seal_in_place_append_tag(
        aead::Nonce::assume_unique_for_key(nonce),
        aead::Aad::from(&hdr[..]),
        &mut payload,
    )
    .unwrap();
    let mut pkt = hdr;
    pkt.extend_from_slice(&payload);
    let hpk = aead::quic::HeaderProtectionKey::new(&aead::quic::AES_128, &hp).unwrap();
    let mask = hpk.new_mask(&pkt[pn_at + 4..pn_at + 20]).unwrap();
    pkt[0] ^= mask[0] & 0x0f;
    for i in 0..4 {
        pkt[pn_at + i] ^= mask[1 + i];
    }
    pkt
}

/// A CRYPTO frame (RFC 9000 §19.6) with 4-byte offset and 2-byte length varints.
fn crypto_frame(off: usize, data: &[u8]) -> Vec<u8> {
    let mut f = vec![0x06];
    f.extend_from_slice(&(0x8000_0000u32 | off as u32).to_be_bytes());
    f.extend_from_slice(&(0x4000u16 | data.len() as u16).to_be_bytes());
    f.extend_from_slice(data);
    f
}

/// The ClientHello cut into `n` CRYPTO frames, one per Initial, sent last piece first.
fn reversed_initials(hello: &[u8], n: usize) -> Vec<Vec<u8>> {
    let dcid = [0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08];
    let piece = hello.len().div_ceil(n);
    let mut dgs: Vec<Vec<u8>> = hello
        .chunks(piece)
        .enumerate()
        .map(|(i, c)| seal_initial(&dcid, i as u32, &crypto_frame(i * piece, c)))
        .collect();
    dgs.reverse();
    dgs
}

#[test]
fn quic_initials_out_of_order_complete_within_the_datagram_bound() {
    let hello = client_hello("quic-drip.example.org", 1200);
    let n = usize::from(quic::MAX_DATAGRAMS) - 2;
    let mut t = QuicInitialTracker::new();
    let mut last = Progress::Idle;
    for (i, dg) in reversed_initials(&hello, n).iter().enumerate() {
        last = t.push_client_datagram(dg);
        if i + 1 < n {
            assert_eq!(last, Progress::NeedMore, "datagram {i}");
        }
    }
    assert_eq!(last, Progress::Done);
    let sni = t
        .info()
        .and_then(|i| i.hello.as_ref())
        .and_then(|h| h.sni.clone());
    assert_eq!(sni.as_deref(), Some("quic-drip.example.org"));
}

#[test]
fn quic_initials_beyond_the_datagram_bound_give_up() {
    let hello = client_hello("quic-flood.example.org", 1200);
    let n = usize::from(quic::MAX_DATAGRAMS) + 8;
    let mut t = QuicInitialTracker::new();
    let mut seen = 0;
    for dg in reversed_initials(&hello, n) {
        seen += 1;
        if t.push_client_datagram(&dg).is_final() {
            break;
        }
    }
    assert!(
        matches!(t.progress(), Progress::GaveUp(_)),
        "{:?}",
        t.progress()
    );
    assert_eq!(
        seen,
        usize::from(quic::MAX_DATAGRAMS),
        "gives up at the bound, not later"
    );
    assert!(t.info().and_then(|i| i.hello.as_ref()).is_none());
}
