//! Unit tests of the QUIC module: the RFC 9001 / RFC 9369 key and packet test vectors,
//! varints and packet numbers, gQUIC, Version Negotiation / Retry / noise, packets sealed here
//! for multi-packet, coalesced, DCID-change, draft and Google versions, and the frame walker.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use ring::aead;

use super::keys::{InitialKeys, TAG_LEN, decode_pn, decrypt_initial};
use super::tracker::MAX_NON_QUIC_DATAGRAMS;
use super::version::{P_V1, P_V2, SALT_T050, SALT_V1, VERSION_V1, VERSION_V2, profiles};
use super::*;
use crate::dissect::{GiveUp, Progress};

fn unhex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

const A2_V1: &str = include_str!("../../../tests/vectors/rfc9001_a2_client_initial.hex");
const A2_V2: &str = include_str!("../../../tests/vectors/rfc9369_a2_client_initial.hex");
const A2_FRAME: &str = include_str!("../../../tests/vectors/rfc9001_a2_crypto_frame.hex");

#[test]
fn key_block_size() {
    let n = std::mem::size_of::<InitialKeys>();
    println!("InitialKeys: {n} bytes");
    assert!(n < 1024, "{n}");
}

#[test]
fn salts_decode() {
    assert_eq!(SALT_V1[0], 0x38);
    assert_eq!(SALT_V1[19], 0x0a);
    assert_eq!(SALT_T050[10], 0x30);
    assert_eq!(SALT_T050[11], 0x4c);
    assert_eq!(SALT_T050[19], 0x10);
}

#[test]
fn rfc9001_a1_keys() {
    let k = InitialKeys::derive(1, P_V1, &unhex("8394c8f03e515708")).unwrap();
    assert_eq!(k.iv.to_vec(), unhex("fa044b2f42a3fd3b46fb255c"));
    // hp: AES-ECB(hp, sample) from A.2 gives mask 437b9aec36
    let mask =
        k.hp.new_mask(&unhex("d1b1c98dd7689fb8ec11d242b123dc9b"))
            .unwrap();
    assert_eq!(mask.to_vec(), unhex("437b9aec36"));
}

#[test]
fn rfc9369_a1_keys() {
    let k = InitialKeys::derive(VERSION_V2, P_V2, &unhex("8394c8f03e515708")).unwrap();
    assert_eq!(k.iv.to_vec(), unhex("91f73e2351d8fa91660e909f"));
    let mask =
        k.hp.new_mask(&unhex("ffe67b6abcdb4298b485dd04de806071"))
            .unwrap();
    assert_eq!(mask.to_vec(), unhex("94a0c95e80"));
}

fn check_vector(hex: &str, version: u32) {
    let pkt = unhex(hex);
    assert_eq!(pkt.len(), 1200);
    let mut t = QuicInitialTracker::new();
    assert_eq!(t.push_client_datagram(&pkt), Progress::Done);
    let info = t.info().unwrap();
    assert_eq!(info.version, version);
    let hello = info.hello.as_ref().unwrap();
    assert_eq!(hello.sni.as_deref(), Some("example.com"));
    assert_eq!(hello.alpn, vec!["alpn".to_string()]);
    assert_eq!(
        hello.tls_version,
        Some(crate::dissect::tls::TlsVersion::Tls13)
    );
    assert!(!hello.ech);
    // freed after completion
    assert!(t.crypto.is_none() && t.keys.is_none() && t.scratch.capacity() == 0);
}

#[test]
fn rfc9001_a2_client_initial() {
    check_vector(A2_V1, 1);
}

#[test]
fn rfc9369_a2_client_initial() {
    check_vector(A2_V2, VERSION_V2);
    assert_eq!(QuicVersionKind::of(VERSION_V2).to_string(), "2");
}

#[test]
fn decrypted_payload_matches_rfc9001_a2() {
    let pkt = unhex(A2_V1);
    let k = InitialKeys::derive(1, P_V1, &unhex("8394c8f03e515708")).unwrap();
    let mut scratch = Vec::new();
    let (range, pn) = decrypt_initial(&k, &pkt, 18, None, &mut scratch).unwrap();
    assert_eq!(pn, 2);
    let plain = &scratch[range];
    assert_eq!(plain.len(), 1162);
    let frame = unhex(A2_FRAME);
    assert_eq!(&plain[..frame.len()], &frame[..]);
    assert!(plain[frame.len()..].iter().all(|&b| b == 0));
    // header: unprotected c300000001088394c8f03e5157080000449e00000002
    assert_eq!(
        scratch[..22].to_vec(),
        unhex("c300000001088394c8f03e5157080000449e00000002")
    );
}

#[test]
fn tampered_packet_fails_cleanly() {
    let mut pkt = unhex(A2_V1);
    pkt[500] ^= 1;
    let mut t = QuicInitialTracker::new();
    let mut last = Progress::Idle;
    for _ in 0..MAX_DECRYPT_FAILURES {
        last = t.push_client_datagram(&pkt);
    }
    assert_eq!(last, Progress::GaveUp(GiveUp::DecryptFailed));
    assert!(t.info().is_none());
}

#[test]
fn varints() {
    // RFC 9000 §A.1 examples
    assert_eq!(
        read_varint(&unhex("c2197c5eff14e88c")).unwrap().0,
        151288809941952652
    );
    assert_eq!(read_varint(&unhex("9d7f3e7d")).unwrap().0, 494878333);
    assert_eq!(read_varint(&unhex("7bbd")).unwrap().0, 15293);
    assert_eq!(read_varint(&unhex("25")).unwrap().0, 37);
    assert!(read_varint(&unhex("7b")).is_none());
}

#[test]
fn packet_number_decoding() {
    // RFC 9000 §A.3 example: largest 0xa82f30ea, truncated 0x9b32 (16 bits)
    assert_eq!(decode_pn(Some(0xa82f30ea), 0x9b32, 2), 0xa82f9b32);
    assert_eq!(decode_pn(None, 2, 4), 2);
}

#[test]
fn gquic_versions_and_chlo() {
    // Q043 public header: flags 0x0d (version + 8-byte CID + 1-byte pn)
    let mut dg = vec![0x0d];
    dg.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
    dg.extend_from_slice(b"Q043");
    dg.push(1); // packet number
    dg.extend_from_slice(&[0u8; 12]); // message hash
    dg.extend_from_slice(&[0xa0, 0x01, 0x00, 0x00]); // stream frame header-ish
    dg.extend_from_slice(b"CHLO");
    dg.extend_from_slice(&2u16.to_le_bytes());
    dg.extend_from_slice(&[0, 0]);
    dg.extend_from_slice(b"PAD\0");
    dg.extend_from_slice(&4u32.to_le_bytes());
    dg.extend_from_slice(b"SNI\0");
    dg.extend_from_slice(&(4u32 + 14).to_le_bytes());
    dg.extend_from_slice(b"----");
    dg.extend_from_slice(b"www.google.com");
    assert_eq!(gquic_version(&dg), Some(u32::from_be_bytes(*b"Q043")));
    let mut t = QuicInitialTracker::new();
    assert_eq!(t.push_client_datagram(&dg), Progress::Done);
    let info = t.info().unwrap();
    assert_eq!(info.version_kind().to_string(), "Q043");
    assert_eq!(
        info.hello.as_ref().unwrap().sni.as_deref(),
        Some("www.google.com")
    );

    // Q050: long header, recognised, not decrypted
    let mut dg = vec![0xc3];
    dg.extend_from_slice(b"Q050");
    dg.extend_from_slice(&[0x08, 1, 2, 3, 4, 5, 6, 7, 8, 0]);
    dg.extend_from_slice(&[0u8; 100]);
    let mut t = QuicInitialTracker::new();
    assert_eq!(
        t.push_client_datagram(&dg),
        Progress::GaveUp(GiveUp::UnsupportedVersion)
    );
    assert_eq!(t.info().unwrap().version_kind().to_string(), "Q050");
    assert!(t.info().unwrap().hello.is_none());
}

#[test]
fn version_negotiation_retry_and_noise() {
    // Version Negotiation packet
    let vn = unhex("80000000000408090a0b0000000100000002");
    let mut t = QuicInitialTracker::new();
    assert_eq!(t.push_client_datagram(&vn), Progress::Idle);
    // Retry (v1 type 0b11)
    let retry = unhex("f0000000010008f067a5502a4262b5746f6b656e00112233445566778899aabbccddeeff");
    assert_eq!(t.push_client_datagram(&retry), Progress::Idle);
    // RTP-looking noise
    let mut t = QuicInitialTracker::new();
    let rtp = unhex("80e0123400000001deadbeef0102030405060708");
    let mut last = Progress::Idle;
    for _ in 0..MAX_NON_QUIC_DATAGRAMS {
        last = t.push_client_datagram(&rtp);
    }
    assert!(matches!(last, Progress::GaveUp(_)));
}

/// Builds a protected client Initial (RFC 9001 §5) carrying `frames`,
/// padded to `pad_to` bytes of payload.
fn seal_initial(version: u32, dcid: &[u8], pn: u32, frames: &[u8], pad_to: usize) -> Vec<u8> {
    let prof = profiles(version)[0];
    let k = InitialKeys::derive(version, prof, dcid).unwrap();
    let typ: u8 = if prof.v2_types { 0b01 } else { 0b00 };
    let mut payload = frames.to_vec();
    payload.resize(payload.len().max(pad_to), 0);
    let mut hdr = vec![0xc0 | (typ << 4) | 0x03];
    hdr.extend_from_slice(&version.to_be_bytes());
    hdr.push(dcid.len() as u8);
    hdr.extend_from_slice(dcid);
    hdr.push(0); // empty SCID
    hdr.push(0); // empty token
    let len = 4 + payload.len() + TAG_LEN;
    hdr.extend_from_slice(&(0x4000u16 | len as u16).to_be_bytes());
    let pn_offset = hdr.len();
    hdr.extend_from_slice(&pn.to_be_bytes());
    let mut nonce = k.iv;
    for (n, p) in nonce.iter_mut().skip(4).zip(u64::from(pn).to_be_bytes()) {
        *n ^= p;
    }
    k.aead
        .seal_in_place_append_tag(
            aead::Nonce::assume_unique_for_key(nonce),
            aead::Aad::from(&hdr[..]),
            &mut payload,
        )
        .unwrap();
    let mut pkt = hdr;
    pkt.extend_from_slice(&payload);
    let mask = k.hp.new_mask(&pkt[pn_offset + 4..pn_offset + 20]).unwrap();
    pkt[0] ^= mask[0] & 0x0f;
    for i in 0..4 {
        pkt[pn_offset + i] ^= mask[1 + i];
    }
    pkt
}

fn crypto_frame(off: usize, data: &[u8]) -> Vec<u8> {
    let mut f = vec![0x06];
    f.extend_from_slice(&(0x8000_0000u32 | off as u32).to_be_bytes());
    f.extend_from_slice(&(0x4000u16 | data.len() as u16).to_be_bytes());
    f.extend_from_slice(data);
    f
}

#[test]
fn multi_packet_out_of_order_coalesced_and_same_dcid() {
    use crate::dissect::tls::tests::build_client_hello;
    let hello = build_client_hello(Some("chat.example.net"), &["h3"], &[0x0304], true, 1700);
    assert!(hello.len() > 1800);
    let dcid = [0xaa, 0xbb, 0xcc, 0xdd, 1, 2, 3, 4];
    // Second half first, in its own datagram (Chrome-style split), with
    // the CRYPTO frames of the first half reversed and interleaved with
    // PING/PADDING in a later datagram reusing the same DCID.
    let (a, b) = hello.split_at(900);
    let (a1, a2) = a.split_at(400);
    let mut f2 = crypto_frame(900, b);
    f2.extend_from_slice(&[0x01]);
    let p2 = seal_initial(VERSION_V1, &dcid, 1, &f2, 1200);
    let mut f1 = crypto_frame(400, a2);
    f1.extend_from_slice(&[0x01, 0x00, 0x00]);
    f1.extend_from_slice(&crypto_frame(0, a1));
    let p1 = seal_initial(VERSION_V1, &dcid, 0, &f1, 1000);
    // a coalesced 0-RTT-like long header packet after the Initial
    let mut dg1 = p1.clone();
    dg1.extend_from_slice(&[0xd0, 0, 0, 0, 1, 8]);
    dg1.extend_from_slice(&dcid);
    dg1.extend_from_slice(&[0, 0x40, 20]);
    dg1.extend_from_slice(&[0x55; 20]);

    let mut t = QuicInitialTracker::new();
    assert_eq!(t.push_client_datagram(&p2), Progress::NeedMore);
    assert_eq!(t.push_client_datagram(&dg1), Progress::Done);
    let h = t.info().unwrap().hello.clone().unwrap();
    assert_eq!(h.sni.as_deref(), Some("chat.example.net"));
    assert_eq!(h.alpn, vec!["h3".to_string()]);
    assert!(h.ech);

    // v2: the same, in one datagram holding two coalesced Initials
    let q1 = seal_initial(VERSION_V2, &dcid, 0, &crypto_frame(0, a), 0);
    let q2 = seal_initial(VERSION_V2, &dcid, 1, &crypto_frame(900, b), 0);
    let mut dg = q1;
    dg.extend_from_slice(&q2);
    let mut t = QuicInitialTracker::new();
    assert_eq!(t.push_client_datagram(&dg), Progress::Done);
    assert_eq!(t.info().unwrap().version, VERSION_V2);
    assert_eq!(
        t.info().unwrap().hello.as_ref().unwrap().sni.as_deref(),
        Some("chat.example.net")
    );
}

#[test]
fn later_initial_with_server_chosen_dcid_uses_original_keys() {
    use crate::dissect::tls::tests::build_client_hello;
    let hello = build_client_hello(Some("later.example"), &[], &[0x0304], false, 1500);
    let (a, b) = hello.split_at(1000);
    let odcid = [9u8; 8];
    let p1 = seal_initial(VERSION_V1, &odcid, 0, &crypto_frame(0, a), 0);
    // Second Initial: keys still from the original DCID, but the header
    // carries the server's connection ID.
    let mut p2 = seal_initial(VERSION_V1, &odcid, 1, &crypto_frame(1000, b), 0);
    // rewrite the DCID bytes in the header (not protected by HP, but
    // covered by the AEAD: so build it with the new DCID in the AAD)
    let new_dcid = [7u8; 8];
    let prof = P_V1;
    let k = InitialKeys::derive(VERSION_V1, prof, &odcid).unwrap();
    // unprotect p2, swap DCID, reprotect
    let mut scratch = Vec::new();
    let (range, _) = decrypt_initial(&k, &p2, 18, None, &mut scratch).unwrap();
    let frames = scratch[range].to_vec();
    p2 = {
        let mut hdr = vec![0xc3];
        hdr.extend_from_slice(&1u32.to_be_bytes());
        hdr.push(8);
        hdr.extend_from_slice(&new_dcid);
        hdr.extend_from_slice(&[0, 0]);
        let len = 4 + frames.len() + TAG_LEN;
        hdr.extend_from_slice(&(0x4000u16 | len as u16).to_be_bytes());
        let pn_offset = hdr.len();
        hdr.extend_from_slice(&1u32.to_be_bytes());
        let mut payload = frames;
        let mut nonce = k.iv;
        nonce[11] ^= 1;
        k.aead
            .seal_in_place_append_tag(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::from(&hdr[..]),
                &mut payload,
            )
            .unwrap();
        let mut pkt = hdr;
        pkt.extend_from_slice(&payload);
        let mask = k.hp.new_mask(&pkt[pn_offset + 4..pn_offset + 20]).unwrap();
        pkt[0] ^= mask[0] & 0x0f;
        for i in 0..4 {
            pkt[pn_offset + i] ^= mask[1 + i];
        }
        pkt
    };
    let mut t = QuicInitialTracker::new();
    assert_eq!(t.push_client_datagram(&p1), Progress::NeedMore);
    assert_eq!(t.push_client_datagram(&p2), Progress::Done);
    assert_eq!(
        t.info().unwrap().hello.as_ref().unwrap().sni.as_deref(),
        Some("later.example")
    );
}

#[test]
fn draft_and_google_versions() {
    use crate::dissect::tls::tests::build_client_hello;
    let hello = build_client_hello(Some("d.example"), &[], &[], false, 0);
    for v in [
        0xff00_001d,
        0xff00_001b,
        0xff00_0016,
        0xfaceb002,
        0x0a1a_2a3a,
    ] {
        let p = seal_initial(
            v,
            &[1, 2, 3, 4, 5, 6, 7, 8],
            0,
            &crypto_frame(0, &hello),
            1100,
        );
        let mut t = QuicInitialTracker::new();
        assert_eq!(
            t.push_client_datagram(&p),
            Progress::Done,
            "version {v:08x}"
        );
        assert_eq!(t.info().unwrap().version, v);
    }
    // T051: gQUIC frame types (CRYPTO = 0x08)
    let mut f = crypto_frame(0, &hello);
    f[0] = 0x08;
    let p = seal_initial(0x5430_3531, &[1; 8], 0, &f, 1100);
    let mut t = QuicInitialTracker::new();
    assert_eq!(t.push_client_datagram(&p), Progress::Done);
    assert_eq!(t.info().unwrap().version_kind().to_string(), "T051");
}

#[test]
fn frames_walk() {
    // PADDING, PING, ACK(1 range), CRYPTO(off 5, "hello"), CONNECTION_CLOSE, unknown
    let p = unhex("0000010203000100010100060505");
    let mut p = p;
    p.extend_from_slice(b"hello");
    p.extend_from_slice(&unhex("1c0000016f"));
    p.extend_from_slice(&unhex("08ffff"));
    let mut got = Vec::new();
    let n = walk_initial_frames(&p, |off, d| got.push((off, d.to_vec())));
    assert_eq!(n, 1);
    assert_eq!(got, vec![(5, b"hello".to_vec())]);
}
