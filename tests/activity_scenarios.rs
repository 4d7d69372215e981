//! The activity rules on synthetic captures whose truth is known exactly (src/scenario.rs):
//! short calls carried by RTP streams, one-way media with receiver reports, bandwidth probes
//! and padding bursts that are not calls, silent receipt probing, pushes after idle, parts of a
//! transfer joined by context, a gQUIC call set-up that was never answered, and the bounds of
//! the per-flow buffers. They complement the real captures of tests/corpus_events.rs
//! and never replace them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, SocketAddr};

use onlooker::activity::{FlowSummary, MAX_MESSAGES, PROBE_MIN_PAIRS, infer};
use onlooker::analysis::pipeline::PipelineConfig;
use onlooker::analysis::summarize;
use onlooker::capture::Timestamp;
use onlooker::capture::memory::MemorySource;
use onlooker::model::{Direction, Event, EventKind, PeerKind};
use onlooker::naming::catalog::Catalog;
use onlooker::naming::geo::Geo;
use onlooker::scenario::Scenario;

const T0: i64 = 1_772_571_480 * Timestamp::NANOS_PER_SEC;

fn at(secs: f64) -> Timestamp {
    Timestamp(T0 + (secs * 1e9) as i64)
}

fn ep(ip: [u8; 4], port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::from(ip), port)
}

fn flows_of(s: Scenario) -> Vec<FlowSummary> {
    let mut src = MemorySource::new(s.into_frames());
    let (flows, _) = summarize(
        &mut src,
        Catalog::bundled().unwrap(),
        Geo::bundled(),
        PipelineConfig::default(),
    );
    flows
}

fn calls(events: &[Event]) -> Vec<&Event> {
    events
        .iter()
        .filter(|e| e.kind == EventKind::VoiceCall || e.kind == EventKind::VideoCall)
        .collect()
}

/// Voice both ways between `a` and `b`: RTP at 50 packets/s of 90-150 B for `secs` seconds
/// from `t`, the other side's stream 20 ms behind, with SSRCs `ssrc.0` (from `a`) and `ssrc.1`.
fn voice_both_ways(
    s: &mut Scenario,
    t: f64,
    secs: f64,
    (a, b): (SocketAddr, SocketAddr),
    ssrc: (u32, u32),
) {
    s.rtp_stream(at(t), secs, 50, a, b, ssrc.0, (90, 150));
    s.rtp_stream(at(t + 0.02), secs, 50, b, a, ssrc.1, (90, 150));
}

const PHONE: [u8; 4] = [192, 168, 1, 23];
const PEER: [u8; 4] = [203, 0, 113, 9];

#[test]
fn a_call_of_two_seconds_is_found_from_its_rtp_streams() {
    // Answered and hung up at once: 1.6 s of audio at 7 packets/s each way, too few packets
    // for the volume rule, but both RTP streams are in order.
    let mut s = Scenario::new(1);
    let (me, peer) = (ep(PHONE, 48_447), ep(PEER, 45_945));
    s.rtp_stream(at(10.0), 1.6, 7, me, peer, 0x1111, (100, 150));
    s.rtp_stream(at(10.1), 1.6, 7, peer, me, 0x2222, (90, 210));
    let events = infer(&flows_of(s));
    let c = calls(&events);
    assert_eq!(c.len(), 1, "{events:#?}");
    assert_eq!(c[0].kind, EventKind::VoiceCall);
    assert!((c[0].start_ts - at(10.0).as_secs_f64()).abs() < 0.5);
    assert!((c[0].end_ts - at(11.7).as_secs_f64()).abs() < 0.5);
    // A documentation address is neither a known relay nor an access network.
    assert_eq!(c[0].peer_kind, Some(PeerKind::Unknown));
    assert_eq!(
        c[0].peer_ip.map(|ip| ip.to_string()).as_deref(),
        Some("203.0.113.9")
    );
    assert!(
        c[0].evidence.contains("RTP streams both ways"),
        "{}",
        c[0].evidence
    );
}

#[test]
fn rtp_one_way_is_not_a_call_without_receiver_reports() {
    let mut s = Scenario::new(2);
    let (me, peer) = (ep(PHONE, 50_000), ep(PEER, 50_001));
    s.rtp_stream(at(0.0), 3.0, 50, me, peer, 0x3333, (90, 130));
    let events = infer(&flows_of(s));
    assert!(calls(&events).is_empty(), "{events:#?}");
}

#[test]
fn one_way_media_answered_by_receiver_reports_is_a_call() {
    // A muted conference leg: audio up at 50/s, only RTCP receiver reports come back.
    let mut s = Scenario::new(3);
    let (me, peer) = (ep(PHONE, 50_010), ep(PEER, 3478));
    s.rtp_stream(at(0.0), 4.0, 50, me, peer, 0x4444, (90, 130));
    s.rtcp_reports(at(0.05), 4.0, 10, peer, me, 0x4444);
    let events = infer(&flows_of(s));
    let c = calls(&events);
    assert_eq!(c.len(), 1, "{events:#?}");
    assert!(
        c[0].evidence.contains("RTCP receiver reports"),
        "{}",
        c[0].evidence
    );

    // The same at 5 packets/s (a sender in discontinuous transmission, nobody answering).
    let mut s = Scenario::new(4);
    s.rtp_stream(at(0.0), 6.0, 5, me, peer, 0x4444, (45, 120));
    s.rtcp_reports(at(0.05), 6.0, 5, peer, me, 0x4444);
    let events = infer(&flows_of(s));
    assert!(calls(&events).is_empty(), "{events:#?}");
}

#[test]
fn a_probe_before_the_ring_is_not_the_call_start_nor_video() {
    let mut s = Scenario::new(5);
    let (me, peer) = (ep(PHONE, 51_161), ep(PEER, 29_070));
    // 18 x 549 B each way in 0.4 s, 7 s of ringing, then 6 s of voice at 50/s.
    s.padding_probe(at(0.0), 18, 20, me, peer, 0x5555, 549);
    s.padding_probe(at(0.01), 18, 20, peer, me, 0x6666, 549);
    s.rtp_stream(at(7.5), 6.0, 50, me, peer, 0x7777, (83, 131));
    s.rtp_stream(at(7.52), 6.0, 50, peer, me, 0x8888, (83, 131));
    let events = infer(&flows_of(s));
    let c = calls(&events);
    assert_eq!(c.len(), 1, "{events:#?}");
    assert_eq!(c[0].kind, EventKind::VoiceCall, "{}", c[0].evidence);
    assert!(
        (c[0].start_ts - at(7.5).as_secs_f64()).abs() < 1.0,
        "{:?}",
        c[0]
    );
}

#[test]
fn a_padding_burst_is_not_media() {
    // A 0.1-s downlink padding probe at 400/s and a slow uplink: no call.
    let mut s = Scenario::new(6);
    let (me, peer) = (ep(PHONE, 45_400), ep(PEER, 19_305));
    s.padding_probe(at(1.0), 40, 2, peer, me, 0x9999, 260);
    s.rtp_stream(at(0.5), 1.0, 12, me, peer, 0xaaaa, (45, 87));
    let events = infer(&flows_of(s));
    assert!(calls(&events).is_empty(), "{events:#?}");
}

/// A WhatsApp chat connection (named by its SNI), already past its login exchange.
fn chat(s: &mut Scenario, port: u16) -> (onlooker::scenario::TcpConn, Timestamp) {
    let (mut conn, t) = s.tls_session(
        at(0.0),
        ep(PHONE, port),
        ep([157, 240, 21, 60], 443),
        "g.whatsapp.net",
        &[],
    );
    let t = s.tls_data(&mut conn, Timestamp(t.0 + 100_000_000), true, 400);
    (conn, t)
}

#[test]
fn silent_receipts_at_one_a_second_are_suspected_probing() {
    let mut s = Scenario::new(7);
    let (mut conn, _) = chat(&mut s, 41_000);
    // The rate of Careless Whisper (RAID 2025): one probe a second, here for three minutes.
    s.receipt_probing(&mut conn, at(30.0), 180, 1000, 180, 60);
    let events = infer(&flows_of(s));
    let p: Vec<_> = events
        .iter()
        .filter(|e| e.kind == EventKind::ProbingSuspected)
        .collect();
    assert_eq!(p.len(), 1, "{events:#?}");
    assert!(
        p[0].evidence.contains("180 inbound records"),
        "{}",
        p[0].evidence
    );
    assert!(p[0].confidence <= 0.6);
    assert!(
        !events
            .iter()
            .any(|e| e.kind == EventKind::OnlineSession && e.start_ts >= at(29.0).as_secs_f64()),
        "probes are not the user's session: {events:#?}"
    );
}

#[test]
fn a_group_chats_messages_answered_by_receipts_are_not_probing() {
    // Two minutes of a busy group: small messages in bursts (a few within a second, then a
    // pause of up to two seconds), each acknowledged by a delivery receipt, nothing sent.
    let mut s = Scenario::new(9);
    let (mut conn, _) = chat(&mut s, 41_004);
    let mut t = at(30.0);
    for i in 0..120u32 {
        let gap_ms = if i % 4 == 0 {
            1_900
        } else {
            120 + 40 * i64::from(i % 3)
        };
        t = s.receipt_probing(
            &mut conn,
            Timestamp(t.0 + gap_ms * 1_000_000),
            1,
            1000,
            240,
            60,
        );
    }
    let events = infer(&flows_of(s));
    assert!(
        !events.iter().any(|e| e.kind == EventKind::ProbingSuspected),
        "{events:#?}"
    );
}

#[test]
fn receipts_of_a_conversation_are_not_probing() {
    // The same receipts, but the user is writing: an outgoing message amid them.
    let mut s = Scenario::new(8);
    let (mut conn, _) = chat(&mut s, 41_001);
    let t = s.receipt_probing(&mut conn, at(30.0), 6, 1000, 180, 60);
    let t = s.tls_data(&mut conn, Timestamp(t.0 + 300_000_000), true, 240);
    s.receipt_probing(&mut conn, Timestamp(t.0 + 500_000_000), 6, 1000, 180, 60);
    // And messages minutes apart, each answered by a receipt.
    let mut t = at(100.0);
    for _ in 0..(PROBE_MIN_PAIRS + 2) {
        t = s.tls_data(&mut conn, Timestamp(t.0 + 20_000_000_000), false, 220);
        t = s.tls_data(&mut conn, Timestamp(t.0 + 150_000_000), true, 60);
    }
    let events = infer(&flows_of(s));
    assert!(
        !events.iter().any(|e| e.kind == EventKind::ProbingSuspected),
        "{events:#?}"
    );
}

#[test]
fn a_push_after_idle_is_a_wakeup_and_a_heartbeat_is_not() {
    let mut s = Scenario::new(9);
    let (mut apns, t) = s.tls_session(
        at(0.0),
        ep(PHONE, 42_000),
        ep([17, 57, 144, 20], 5223),
        "courier.push.apple.com",
        &[],
    );
    let t = s.tls_data(&mut apns, Timestamp(t.0 + 50_000_000), true, 120);
    // Heartbeat after 60 s: 30 B each way, client first.
    let t = s.tls_data(&mut apns, Timestamp(t.0 + 60_000_000_000), true, 30);
    let t = s.tls_data(&mut apns, Timestamp(t.0 + 80_000_000), false, 30);
    // A push after 120 s of silence, acknowledged.
    let t = s.tls_data(&mut apns, Timestamp(t.0 + 120_000_000_000), false, 300);
    s.tls_data(&mut apns, Timestamp(t.0 + 90_000_000), true, 40);
    let events = infer(&flows_of(s));
    let w: Vec<_> = events
        .iter()
        .filter(|e| e.kind == EventKind::PushWakeup)
        .collect();
    assert_eq!(w.len(), 1, "{events:#?}");
    assert!(w[0].bytes_in >= 300, "{:?}", w[0]);
    assert!(
        w[0].evidence.contains("120 s of silence"),
        "{}",
        w[0].evidence
    );
    assert!(w[0].evidence.contains("no app activity followed"));
}

#[test]
fn messages_beyond_the_buffer_are_counted_not_kept() {
    let mut s = Scenario::new(10);
    let (mut conn, mut t) = chat(&mut s, 41_002);
    let n = MAX_MESSAGES + 10;
    for _ in 0..n {
        t = s.tls_data(&mut conn, Timestamp(t.0 + 5_000_000_000), true, 200);
        t = s.tls_data(&mut conn, Timestamp(t.0 + 150_000_000), false, 60);
    }
    let flows = flows_of(s);
    let f = flows
        .iter()
        .find(|f| f.record.server.port() == 443)
        .unwrap();
    assert_eq!(f.media.messages.len(), MAX_MESSAGES);
    // The login exchange is not a message; the rest beyond the buffer are counted.
    assert_eq!(
        f.media.messages.len() + f.media.messages_dropped as usize,
        n,
        "kept {} dropped {}",
        f.media.messages.len(),
        f.media.messages_dropped
    );
}

#[test]
fn infer_is_deterministic_and_ids_follow_start_time() {
    let mut s = Scenario::new(11);
    let (me, peer) = (ep(PHONE, 48_000), ep(PEER, 48_001));
    s.rtp_stream(at(10.0), 5.0, 50, me, peer, 1, (100, 150));
    s.rtp_stream(at(10.0), 5.0, 50, peer, me, 2, (100, 150));
    let (mut conn, _) = chat(&mut s, 41_003);
    s.receipt_probing(&mut conn, at(60.0), 20, 800, 150, 60);
    let flows = flows_of(s);
    let a = infer(&flows);
    let mut rev = flows.clone();
    rev.reverse();
    let b = infer(&rev);
    assert_eq!(a, b);
    assert!(a.windows(2).all(|w| w[0].start_ts <= w[1].start_ts));
    assert!(a.iter().enumerate().all(|(i, e)| e.id == i as u64 + 1));
}

const MEET: [u8; 4] = [74, 125, 250, 10];

#[test]
fn successive_legs_to_one_media_server_are_one_call() {
    // A voice channel that re-opens its socket every 60 s: four legs of RTP both ways, then a
    // leg where only the user speaks, all to one server of one service.
    let mut s = Scenario::new(12);
    let server = ep(MEET, 19_305);
    for leg in 0..4u16 {
        let me = ep(PHONE, 40_000 + leg);
        let t = 60.0 * f64::from(leg);
        let ssrc = (0x100 + u32::from(leg), 0x200 + u32::from(leg));
        voice_both_ways(&mut s, t, 0.6, (me, server), ssrc);
    }
    let last = s.rtp_stream(
        at(240.0),
        0.6,
        50,
        ep(PHONE, 40_010),
        server,
        0x300,
        (90, 150),
    );
    let events = infer(&flows_of(s));
    let c = calls(&events);
    assert_eq!(c.len(), 1, "{events:#?}");
    assert_eq!(c[0].flows.len(), 5, "{:?}", c[0]);
    assert!(
        (c[0].start_ts - at(0.0).as_secs_f64()).abs() < 0.1,
        "{:?}",
        c[0]
    );
    assert!((c[0].end_ts - last.as_secs_f64()).abs() < 0.1, "{:?}", c[0]);
    assert!(c[0].evidence.contains("5 legs"), "{}", c[0].evidence);
    assert!(
        !events.iter().any(|e| e.kind == EventKind::CallAttempt),
        "the one-way leg is part of the call: {events:#?}"
    );
}

#[test]
fn calls_far_apart_are_two_and_concurrent_streams_are_one() {
    let server = ep(MEET, 19_305);
    // Two calls through one server, ten minutes apart: two calls.
    let mut s = Scenario::new(13);
    for (i, t) in [0.0, 600.0].into_iter().enumerate() {
        let me = ep(PHONE, 41_000 + i as u16);
        let ssrc = (0x400 + i as u32, 0x500 + i as u32);
        voice_both_ways(&mut s, t, 5.0, (me, server), ssrc);
    }
    let events = infer(&flows_of(s));
    assert_eq!(calls(&events).len(), 2, "{events:#?}");

    // A call and a second stream to the same server from another socket over most of its
    // length (a meeting's second stream, or audio and video on their own ports): one call
    // carried on two streams, not a leg that continues another.
    let mut s = Scenario::new(14);
    let (a, b) = (ep(PHONE, 41_100), ep(PHONE, 41_101));
    voice_both_ways(&mut s, 0.0, 10.0, (a, server), (0x600, 0x601));
    voice_both_ways(&mut s, 3.0, 30.0, (b, server), (0x602, 0x603));
    let events = infer(&flows_of(s));
    let c = calls(&events);
    assert_eq!(c.len(), 1, "{events:#?}");
    assert_eq!(c[0].flows.len(), 2, "{:?}", c[0]);
    assert!(c[0].evidence.contains("concurrent"), "{}", c[0].evidence);
    assert!(!c[0].evidence.contains("legs"), "{}", c[0].evidence);
    assert!(
        (c[0].end_ts - c[0].start_ts - 33.0).abs() < 1.0,
        "{:?}",
        c[0]
    );

    // Two calls to the same server that only touch (a second call starts as the first ends):
    // under half of the shorter overlaps, so they stay two.
    let mut s = Scenario::new(15);
    voice_both_ways(&mut s, 0.0, 10.0, (a, server), (0x700, 0x701));
    voice_both_ways(&mut s, 8.0, 30.0, (b, server), (0x702, 0x703));
    let events = infer(&flows_of(s));
    let c = calls(&events);
    assert_eq!(c.len(), 2, "{events:#?}");
    assert!(c.iter().all(|e| e.flows.len() == 1), "{c:#?}");
}

fn downloads(events: &[Event]) -> Vec<&Event> {
    events
        .iter()
        .filter(|e| e.kind == EventKind::MediaDownload)
        .collect()
}

#[test]
fn pieces_fetched_over_parallel_connections_are_one_transfer() {
    // A feed's photos: five connections to the service's media host, each fetching 6 KB,
    // within a second. No connection alone carries a transfer's worth.
    let mut s = Scenario::new(15);
    let cdn = ep([31, 13, 86, 52], 443);
    for i in 0..5u16 {
        let t0 = at(10.0 + 0.2 * f64::from(i));
        let (mut conn, t) = s.tls_session(
            t0,
            ep(PHONE, 43_000 + i),
            cdn,
            "scontent-mxp1-1.cdninstagram.com",
            &[],
        );
        s.tls_data(&mut conn, Timestamp(t.0 + 30_000_000), false, 6_000);
    }
    let events = infer(&flows_of(s));
    let d = downloads(&events);
    assert_eq!(d.len(), 1, "{events:#?}");
    assert_eq!(d[0].flows.len(), 5, "{:?}", d[0]);
    // Five 6-KB objects (plus the handshakes' certificate records, also bulk-sized).
    assert!(
        d[0].bytes_in >= 30_000 && d[0].bytes_in < 50_000,
        "{:?}",
        d[0]
    );
    assert_eq!(d[0].service.as_deref(), Some("Instagram"));
}

#[test]
fn two_downloads_one_after_the_other_stay_two() {
    // Two media of a chat, fetched on two connections 0.3 s apart: 200 KB, then 60 KB.
    let mut s = Scenario::new(16);
    let cdn = ep([157, 240, 30, 54], 443);
    let host = "media-prg1-1.cdn.whatsapp.net";
    let (mut a, t) = s.tls_session(at(5.0), ep(PHONE, 44_000), cdn, host, &[]);
    let end = s.tls_data(&mut a, Timestamp(t.0 + 30_000_000), false, 200_000);
    let (mut b, t) = s.tls_session(
        Timestamp(end.0 + 300_000_000),
        ep(PHONE, 44_001),
        cdn,
        host,
        &[],
    );
    s.tls_data(&mut b, Timestamp(t.0 + 30_000_000), false, 60_000);
    let events = infer(&flows_of(s));
    let d = downloads(&events);
    assert_eq!(d.len(), 2, "{events:#?}");
    assert!(d[0].bytes_in > 190_000 && d[1].bytes_in < 70_000, "{d:#?}");
}

#[test]
fn unanswered_chat_states_are_typing_and_answered_ones_after_a_message_are_receipts() {
    let mut s = Scenario::new(17);
    let (mut conn, _) = chat(&mut s, 41_010);
    // The other party's message, answered at once by the delivery receipt.
    let t = s.tls_data(&mut conn, at(20.0), false, 300);
    let t = s.tls_data(&mut conn, Timestamp(t.0 + 100_000_000), true, 60);
    // 4 s later the user opens the chat: a receipt-sized record, acknowledged.
    let t = s.tls_data(&mut conn, Timestamp(t.0 + 4_000_000_000), true, 65);
    let t = s.tls_data(&mut conn, Timestamp(t.0 + 80_000_000), false, 67);
    // The user types (a 41-B record, unanswered), then sends 6 s later.
    let typed = Timestamp(t.0 + 5_000_000_000);
    let t = s.tls_data(&mut conn, typed, true, 41);
    let t = s.tls_data(&mut conn, Timestamp(t.0 + 6_000_000_000), true, 220);
    s.tls_data(&mut conn, Timestamp(t.0 + 120_000_000), false, 75);
    let events = infer(&flows_of(s));
    let kinds: Vec<(EventKind, Direction)> = events
        .iter()
        .filter(|e| e.kind != EventKind::OnlineSession)
        .map(|e| (e.kind, e.direction))
        .collect();
    assert_eq!(
        kinds,
        [
            (EventKind::MessageIn, Direction::In),
            (EventKind::ReadReceipt, Direction::Out),
            (EventKind::TypingIndicator, Direction::Out),
            (EventKind::MessageOut, Direction::Out)
        ],
        "{events:#?}"
    );
    let typing = events
        .iter()
        .find(|e| e.kind == EventKind::TypingIndicator)
        .unwrap();
    assert!((typing.start_ts - typed.as_secs_f64()).abs() < 0.01);
    assert!(typing.confidence <= 0.5, "{typing:?}");
    assert!(
        events
            .iter()
            .filter(|e| e.kind == EventKind::ReadReceipt)
            .all(|e| e.confidence <= 0.3)
    );
}

fn sip(s: &mut Scenario, t: f64, from: SocketAddr, to: SocketAddr, start_line: &str, cseq: &str) {
    let msg = format!(
        "{start_line}\r\nVia: SIP/2.0/UDP 192.168.1.23:5060\r\nCSeq: {cseq}\r\nContent-Length: 0\r\n\r\n"
    );
    s.udp(at(t), from, to, msg.as_bytes());
}

#[test]
fn a_sip_invite_never_answered_is_a_call_attempt() {
    let (me, proxy) = (ep(PHONE, 5060), ep(PEER, 5060));
    let mut s = Scenario::new(18);
    sip(
        &mut s,
        1.0,
        me,
        proxy,
        "INVITE sip:bob@example.org SIP/2.0",
        "1 INVITE",
    );
    sip(
        &mut s,
        1.1,
        proxy,
        me,
        "SIP/2.0 407 Proxy Authentication Required",
        "1 INVITE",
    );
    sip(
        &mut s,
        1.3,
        me,
        proxy,
        "INVITE sip:bob@example.org SIP/2.0",
        "2 INVITE",
    );
    sip(&mut s, 1.5, proxy, me, "SIP/2.0 180 Ringing", "2 INVITE");
    sip(
        &mut s,
        9.0,
        me,
        proxy,
        "CANCEL sip:bob@example.org SIP/2.0",
        "2 CANCEL",
    );
    sip(&mut s, 9.1, proxy, me, "SIP/2.0 200 OK", "2 CANCEL");
    sip(
        &mut s,
        9.2,
        proxy,
        me,
        "SIP/2.0 487 Request Terminated",
        "2 INVITE",
    );
    let events = infer(&flows_of(s));
    let a: Vec<_> = events
        .iter()
        .filter(|e| e.kind == EventKind::CallAttempt)
        .collect();
    assert_eq!(a.len(), 1, "{events:#?}");
    assert!(
        (a[0].start_ts - at(1.0).as_secs_f64()).abs() < 0.01,
        "{:?}",
        a[0]
    );
    assert!(
        (a[0].end_ts - at(9.2).as_secs_f64()).abs() < 0.01,
        "{:?}",
        a[0]
    );
    assert!(
        a[0].evidence.contains("2 SIP INVITEs, 1 CANCEL"),
        "{}",
        a[0].evidence
    );
    assert!(calls(&events).is_empty());

    // Answered (200 OK to the INVITE): not an attempt.
    let mut s = Scenario::new(19);
    sip(
        &mut s,
        1.0,
        me,
        proxy,
        "INVITE sip:bob@example.org SIP/2.0",
        "1 INVITE",
    );
    sip(&mut s, 2.0, proxy, me, "SIP/2.0 200 OK", "1 INVITE");
    sip(
        &mut s,
        20.0,
        me,
        proxy,
        "BYE sip:bob@example.org SIP/2.0",
        "2 BYE",
    );
    let events = infer(&flows_of(s));
    assert!(
        !events.iter().any(|e| e.kind == EventKind::CallAttempt),
        "{events:#?}"
    );
}

/// A TPKT-framed Q.931 message of H.225.0 call signalling: type `kind`, a 2-byte call
/// reference, and a user-user element standing in for the H.225 body.
fn q931(kind: u8) -> Vec<u8> {
    let body = [
        0x08, 0x02, 0x12, 0x34, kind, 0x7e, 0x00, 0x03, 0x05, 0x00, 0x00,
    ];
    let len = (4 + body.len()) as u16;
    let mut m = vec![3, 0];
    m.extend_from_slice(&len.to_be_bytes());
    m.extend_from_slice(&body);
    m
}

#[test]
fn an_h323_setup_without_media_is_a_call_attempt_and_with_media_is_not() {
    const SETUP: u8 = 0x05;
    const ALERTING: u8 = 0x01;
    const RELEASE_COMPLETE: u8 = 0x5a;
    let (me, gw) = (ep(PHONE, 40_500), ep(PEER, 1720));
    let script = |s: &mut Scenario| {
        let (mut c, t) = s.tcp_open(at(1.0), me, gw, 20);
        s.tcp_send(&mut c, t, true, &q931(SETUP));
        s.tcp_send(&mut c, at(1.2), false, &q931(ALERTING));
        s.tcp_send(&mut c, at(20.0), true, &q931(RELEASE_COMPLETE));
    };
    let mut s = Scenario::new(20);
    script(&mut s);
    let events = infer(&flows_of(s));
    let a: Vec<_> = events
        .iter()
        .filter(|e| e.kind == EventKind::CallAttempt)
        .collect();
    assert_eq!(a.len(), 1, "{events:#?}");
    assert!(
        a[0].evidence
            .contains("1 H.225.0 SETUP, 1 ALERTING, 0 CONNECT"),
        "{}",
        a[0].evidence
    );
    assert!(
        (a[0].end_ts - at(20.0).as_secs_f64()).abs() < 0.01,
        "{:?}",
        a[0]
    );
    assert!(calls(&events).is_empty());

    // The same signalling with RTP both ways meanwhile: a call, and no attempt beside it.
    let mut s = Scenario::new(21);
    script(&mut s);
    let (a_rtp, b_rtp) = (ep(PHONE, 40_600), ep(PEER, 40_602));
    voice_both_ways(&mut s, 2.0, 15.0, (a_rtp, b_rtp), (0x900, 0x901));
    let events = infer(&flows_of(s));
    assert_eq!(calls(&events).len(), 1, "{events:#?}");
    assert!(
        !events.iter().any(|e| e.kind == EventKind::CallAttempt),
        "{events:#?}"
    );
}

#[test]
fn an_unnamed_connection_to_the_services_network_joins_its_transfer() {
    // A feed: one photo host named by its SNI, and at the same moment a connection to another
    // address that named no host (as when its handshake came before the capture).
    let feed = |other: SocketAddr| {
        let mut s = Scenario::new(22);
        let cdn = ep([31, 13, 86, 52], 443);
        let host = "scontent-mxp1-1.cdninstagram.com";
        let (mut a, t) = s.tls_session(at(5.0), ep(PHONE, 45_000), cdn, host, &[]);
        s.tls_data(&mut a, Timestamp(t.0 + 30_000_000), false, 40_000);
        let (mut b, t) = s.tcp_open(at(5.0), ep(PHONE, 45_001), other, 40);
        let body = s.filler(30_000);
        s.tcp_send(&mut b, Timestamp(t.0 + 60_000_000), false, &body);
        infer(&flows_of(s))
    };
    // On Meta's network, where the service's own host was seen: one transfer of both, marked
    // as resting on context.
    let events = feed(ep([31, 13, 86, 60], 443));
    let d = downloads(&events);
    assert_eq!(d.len(), 1, "{events:#?}");
    assert_eq!(d[0].flows.len(), 2, "{:?}", d[0]);
    assert!(d[0].bytes_in >= 70_000, "{:?}", d[0]);
    assert!(d[0].evidence.contains("named no host"), "{}", d[0].evidence);
    // Its confidence is the one measured for downloads on the labelled corpus, where
    // transfers joined from such context parts were right as often as the others.
    let measured = onlooker::activity::confidence::measured(EventKind::MediaDownload);
    assert_eq!(Some(d[0].confidence), measured);
    // On a network the service was not seen on: the named transfer alone.
    let events = feed(ep([93, 184, 216, 34], 443));
    let d = downloads(&events);
    assert_eq!(d.len(), 1, "{events:#?}");
    assert_eq!(d[0].flows.len(), 1, "{:?}", d[0]);
    assert!(d[0].bytes_in < 50_000, "{:?}", d[0]);
    assert_eq!(Some(d[0].confidence), measured);
}

/// A gQUIC Q046 first datagram (long header) whose CHLO names no server: tags PAD, VER, CCS.
fn gquic_chlo_without_sni() -> Vec<u8> {
    let mut p = vec![0xc3, b'Q', b'0', b'4', b'6', 0x50];
    p.extend([0xc3, 0x80, 0x46, 0xe7, 0x7a, 0xa3, 0x06, 0xea, 0, 0, 0, 1]);
    p.extend(b"CHLO");
    p.extend([3, 0, 0, 0]);
    for (tag, end) in [(b"PAD\0", 100u32), (b"VER\0", 104), (b"CCS\0", 120)] {
        p.extend(tag);
        p.extend(end.to_le_bytes());
    }
    p.resize(1_350, 0x2d);
    p
}

#[test]
fn gquic_without_a_name_then_receiver_reports_only_is_a_call_attempt() {
    // An unanswered AddLive call: the handshake, then RTCP both ways for 8 s, no media.
    let script = |reports: bool| {
        let mut s = Scenario::new(23);
        let (me, relay) = (ep(PHONE, 42_083), ep([18, 184, 138, 142], 443));
        s.udp(at(1.0), me, relay, &gquic_chlo_without_sni());
        let rej = s.filler(1_350);
        s.udp(at(1.02), relay, me, &rej);
        if reports {
            s.rtcp_reports(at(1.5), 8.0, 2, me, relay, 0x52);
            s.rtcp_reports(at(1.7), 8.0, 2, relay, me, 0x51);
        }
        flows_of(s)
    };
    let flows = script(true);
    assert_eq!(flows.len(), 1);
    let r = &flows[0].record;
    assert_eq!(r.service.as_deref(), Some("Snapchat"), "{r:?}");
    assert!(
        r.service_evidence[0]
            .to_string()
            .starts_with("quic-then-rtp:Q046"),
        "{r:?}"
    );
    let events = infer(&flows);
    let a: Vec<_> = events
        .iter()
        .filter(|e| e.kind == EventKind::CallAttempt)
        .collect();
    assert_eq!(a.len(), 1, "{events:#?}");
    assert_eq!(a[0].service.as_deref(), Some("Snapchat"));
    assert!(calls(&events).is_empty(), "{events:#?}");
    // The handshake alone is web QUIC to a cloud: not named, no event.
    let flows = script(false);
    assert!(
        flows.iter().all(|f| f.record.service.is_none()),
        "{:?}",
        flows.first().map(|f| &f.record)
    );
    assert!(infer(&flows).is_empty());
}
