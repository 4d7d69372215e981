//! Synthetic captures from a script of events.
//!
//! Tests and the bundled demo need traffic whose truth is known exactly, and the project must
//! not ship anyone's real traffic. A [`Scenario`] turns a list of activities (a DNS lookup, a TLS
//! connection to a named host, a chat connection with message bursts, a call) into frames with
//! the timing and sizes that published measurements report for such activities, and writes them
//! with the project's own pcap writer. Randomness comes from a seeded generator, so the same
//! script always gives the same bytes.
//!
//! The payloads are built only as far as an observer reads them: DNS messages, TLS ClientHellos
//! with their server name, STUN headers. Everything after a handshake is filler bytes. A
//! scenario must never be mistaken for real traffic: the demo says it is synthetic.

use std::io;
use std::net::{IpAddr, SocketAddr};

use crate::capture::memory::OwnedFrame;
use crate::capture::writer::{PcapWriter, Transport, ethernet_frame, tcp_flags};
use crate::capture::{LinkType, Timestamp};

/// A deterministic xorshift64* generator: enough for jitter and sizes, no dependency.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        lo + self.next_u64() % (hi - lo + 1)
    }
}

/// A TCP connection being scripted: tracks sequence numbers of both sides.
#[derive(Clone, Copy, Debug)]
pub struct TcpConn {
    pub client: SocketAddr,
    pub server: SocketAddr,
    seq_c: u32,
    seq_s: u32,
}

/// Builds frames in time order.
#[derive(Debug)]
pub struct Scenario {
    frames: Vec<OwnedFrame>,
    pub rng: Rng,
}

/// Nanoseconds in a millisecond.
const MS: i64 = 1_000_000;

/// Largest TCP payload per segment on a 1500-byte Ethernet path (1500 - 20 IP - 20 TCP - 12 of
/// timestamp option, as most stacks send).
const TCP_MSS: usize = 1448;

impl Scenario {
    pub fn new(seed: u64) -> Self {
        Self {
            frames: Vec::new(),
            rng: Rng::new(seed),
        }
    }

    /// Frames so far, sorted by time (stable for equal times).
    pub fn into_frames(mut self) -> Vec<OwnedFrame> {
        self.frames.sort_by_key(|f| f.ts);
        self.frames
    }

    /// Write the scenario as a pcap file.
    pub fn write_pcap(self, out: impl io::Write) -> io::Result<()> {
        let mut w = PcapWriter::new(out, LinkType::ETHERNET, 65_535)?;
        for f in self.into_frames() {
            w.write(f.ts, &f.data)?;
        }
        w.finish().map(|_| ())
    }

    fn push(&mut self, ts: Timestamp, src: SocketAddr, dst: SocketAddr, t: Transport, p: &[u8]) {
        if let Ok(frame) = ethernet_frame((src.ip(), src.port()), (dst.ip(), dst.port()), t, p) {
            self.frames
                .push(OwnedFrame::new(ts, LinkType::ETHERNET, frame));
        }
    }

    /// One UDP datagram.
    pub fn udp(&mut self, ts: Timestamp, src: SocketAddr, dst: SocketAddr, payload: &[u8]) {
        self.push(ts, src, dst, Transport::Udp, payload);
    }

    /// A DNS query and its answer (A/AAAA records for `addrs`), 20-40 ms apart.
    pub fn dns(
        &mut self,
        ts: Timestamp,
        client: SocketAddr,
        resolver: SocketAddr,
        name: &str,
        addrs: &[IpAddr],
    ) {
        let id = self.rng.range(1, 0xffff) as u16;
        let q = dns_message(id, name, &[], false);
        let a = dns_message(id, name, addrs, true);
        self.udp(ts, client, resolver, &q);
        let rtt = self.rng.range(20, 40) as i64 * MS;
        self.udp(Timestamp(ts.0 + rtt), resolver, client, &a);
    }

    /// Open a TCP connection with a three-way handshake (RTT `rtt_ms`). Returns the connection
    /// and the time the handshake completes.
    pub fn tcp_open(
        &mut self,
        ts: Timestamp,
        client: SocketAddr,
        server: SocketAddr,
        rtt_ms: i64,
    ) -> (TcpConn, Timestamp) {
        let seq_c = self.rng.next_u64() as u32;
        let seq_s = self.rng.next_u64() as u32;
        self.push(
            ts,
            client,
            server,
            Transport::Tcp {
                seq: seq_c,
                ack: 0,
                flags: tcp_flags::SYN,
            },
            &[],
        );
        let t1 = Timestamp(ts.0 + rtt_ms * MS);
        self.push(
            t1,
            server,
            client,
            Transport::Tcp {
                seq: seq_s,
                ack: seq_c.wrapping_add(1),
                flags: tcp_flags::SYN | tcp_flags::ACK,
            },
            &[],
        );
        let t2 = Timestamp(t1.0 + MS / 10);
        let conn = TcpConn {
            client,
            server,
            seq_c: seq_c.wrapping_add(1),
            seq_s: seq_s.wrapping_add(1),
        };
        self.push(
            t2,
            client,
            server,
            Transport::Tcp {
                seq: conn.seq_c,
                ack: conn.seq_s,
                flags: tcp_flags::ACK,
            },
            &[],
        );
        (conn, t2)
    }

    /// Send `payload` on a connection, cut into MSS-sized segments 0.1 ms apart. `up` is client
    /// to server. Returns the time of the last segment.
    pub fn tcp_send(
        &mut self,
        conn: &mut TcpConn,
        ts: Timestamp,
        up: bool,
        payload: &[u8],
    ) -> Timestamp {
        let mut t = ts;
        for chunk in payload.chunks(TCP_MSS) {
            let (src, dst, seq, ack) = if up {
                (conn.client, conn.server, &mut conn.seq_c, conn.seq_s)
            } else {
                (conn.server, conn.client, &mut conn.seq_s, conn.seq_c)
            };
            let s = *seq;
            *seq = seq.wrapping_add(chunk.len() as u32);
            self.push(
                t,
                src,
                dst,
                Transport::Tcp {
                    seq: s,
                    ack,
                    flags: tcp_flags::ACK | tcp_flags::PSH,
                },
                chunk,
            );
            t = Timestamp(t.0 + MS / 10);
        }
        t
    }

    /// Close a connection: FIN from the client, FIN-ACK back, final ACK.
    pub fn tcp_close(&mut self, conn: &mut TcpConn, ts: Timestamp) {
        let fa = tcp_flags::FIN | tcp_flags::ACK;
        self.push(
            ts,
            conn.client,
            conn.server,
            Transport::Tcp {
                seq: conn.seq_c,
                ack: conn.seq_s,
                flags: fa,
            },
            &[],
        );
        conn.seq_c = conn.seq_c.wrapping_add(1);
        let t1 = Timestamp(ts.0 + 30 * MS);
        self.push(
            t1,
            conn.server,
            conn.client,
            Transport::Tcp {
                seq: conn.seq_s,
                ack: conn.seq_c,
                flags: fa,
            },
            &[],
        );
        conn.seq_s = conn.seq_s.wrapping_add(1);
        let t2 = Timestamp(t1.0 + MS / 10);
        self.push(
            t2,
            conn.client,
            conn.server,
            Transport::Tcp {
                seq: conn.seq_c,
                ack: conn.seq_s,
                flags: tcp_flags::ACK,
            },
            &[],
        );
    }

    /// Filler bytes of a given length (what encrypted records look like to an observer).
    pub fn filler(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.rng.next_u64() as u8).collect()
    }

    /// A TLS connection to `sni`: handshake, then `up`/`down` bytes of application data as TLS
    /// records. Returns the connection (still open) and the time of its last packet.
    pub fn tls_session(
        &mut self,
        ts: Timestamp,
        client: SocketAddr,
        server: SocketAddr,
        sni: &str,
        alpn: &[&str],
    ) -> (TcpConn, Timestamp) {
        let (mut conn, t) = self.tcp_open(ts, client, server, 40);
        let random = self.filler(32);
        let hello = client_hello(sni, alpn, &random);
        let t = self.tcp_send(&mut conn, Timestamp(t.0 + MS), true, &hello);
        // ServerHello, certificate and finished as opaque records: sizes typical of TLS 1.3.
        let mut sh = tls_record(22, &self.filler(122));
        sh.extend(tls_record(23, &self.filler(2_900)));
        let t = self.tcp_send(&mut conn, Timestamp(t.0 + 40 * MS), false, &sh);
        let fin = tls_record(23, &self.filler(53));
        let t = self.tcp_send(&mut conn, Timestamp(t.0 + MS), true, &fin);
        (conn, t)
    }

    /// Application data on a TLS connection: `len` bytes in records of at most 2^14 bytes
    /// (RFC 8446 §5.1).
    pub fn tls_data(
        &mut self,
        conn: &mut TcpConn,
        ts: Timestamp,
        up: bool,
        len: usize,
    ) -> Timestamp {
        const MAX_RECORD: usize = 1 << 14;
        let body = self.filler(len);
        let mut stream = Vec::with_capacity(len + (len / MAX_RECORD + 1) * 5);
        for chunk in body.chunks(MAX_RECORD) {
            stream.extend(tls_record(23, chunk));
        }
        self.tcp_send(conn, ts, up, &stream)
    }
}

/// An RTP header (RFC 3550 §5.1: version 2, no padding, extension or CSRC) and filler up to
/// `len` bytes of UDP payload.
pub fn rtp_packet(pt: u8, seq: u16, timestamp: u32, ssrc: u32, len: usize, fill: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(len.max(12));
    p.push(0x80);
    p.push(pt & 0x7f);
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&timestamp.to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend(fill.iter().copied().cycle().take(len.saturating_sub(12)));
    p
}

/// An RTCP receiver report (RFC 3550 §6.4.2) with one report block: 32 bytes.
pub fn rtcp_receiver_report(ssrc: u32, source: u32) -> Vec<u8> {
    let mut p = vec![0x81, 201, 0, 7];
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(&source.to_be_bytes());
    p.extend_from_slice(&[0u8; 20]);
    p
}

impl Scenario {
    /// One RTP stream from `src` to `dst`: `pps` packets a second for `secs` seconds, payload
    /// sizes drawn from `sizes`, sequence numbers in order from 1. Returns the last packet's
    /// time.
    #[allow(clippy::too_many_arguments)]
    pub fn rtp_stream(
        &mut self,
        start: Timestamp,
        secs: f64,
        pps: u32,
        src: SocketAddr,
        dst: SocketAddr,
        ssrc: u32,
        sizes: (usize, usize),
    ) -> Timestamp {
        let n = (secs * f64::from(pps)).round().max(1.0) as u32;
        let step = 1_000_000_000 / i64::from(pps.max(1));
        let mut t = start;
        for i in 0..n {
            t = Timestamp(start.0 + i64::from(i) * step + self.rng.range(0, 3) as i64 * MS);
            let len = self.rng.range(sizes.0 as u64, sizes.1 as u64) as usize;
            let fill = self.filler(16);
            let seq = u16::try_from(i % 65_536).unwrap_or(0).wrapping_add(1);
            let p = rtp_packet(120, seq, i.wrapping_mul(960), ssrc, len, &fill);
            self.udp(t, src, dst, &p);
        }
        t
    }

    /// RTCP receiver reports from `src` about `source`, `pps` a second for `secs` seconds.
    pub fn rtcp_reports(
        &mut self,
        start: Timestamp,
        secs: f64,
        pps: u32,
        src: SocketAddr,
        dst: SocketAddr,
        source: u32,
    ) {
        let n = (secs * f64::from(pps)).round().max(1.0) as u32;
        let step = 1_000_000_000 / i64::from(pps.max(1));
        for i in 0..n {
            let p = rtcp_receiver_report(0x5151_0000 ^ source, source);
            self.udp(Timestamp(start.0 + i64::from(i) * step), src, dst, &p);
        }
    }

    /// A burst of equal-size padding packets (a bandwidth probe): `n` packets of `len` bytes,
    /// `gap_ms` apart, as RTP of one SSRC (WebRTC sends its probes as RTP padding).
    #[allow(clippy::too_many_arguments)]
    pub fn padding_probe(
        &mut self,
        start: Timestamp,
        n: u32,
        gap_ms: i64,
        src: SocketAddr,
        dst: SocketAddr,
        ssrc: u32,
        len: usize,
    ) -> Timestamp {
        let mut t = start;
        for i in 0..n {
            t = Timestamp(start.0 + i64::from(i) * gap_ms * MS);
            let fill = self.filler(16);
            let seq = u16::try_from(i % 65_536).unwrap_or(0).wrapping_add(1);
            let p = rtp_packet(99, seq, 0, ssrc, len, &fill);
            self.udp(t, src, dst, &p);
        }
        t
    }

    /// Silent delivery-receipt probing on an open chat connection ("Careless Whisper", RAID
    /// 2025): `n` inbound records of `len_in` bytes every `period_ms`, each answered by a
    /// `len_receipt`-byte receipt after 80-250 ms. Returns the last packet's time.
    pub fn receipt_probing(
        &mut self,
        conn: &mut TcpConn,
        start: Timestamp,
        n: u32,
        period_ms: i64,
        len_in: usize,
        len_receipt: usize,
    ) -> Timestamp {
        let mut t = start;
        for i in 0..n {
            let at = Timestamp(start.0 + i64::from(i) * period_ms * MS);
            t = self.tls_data(conn, at, false, len_in);
            let answer = Timestamp(t.0 + self.rng.range(80, 250) as i64 * MS);
            t = self.tls_data(conn, answer, true, len_receipt);
        }
        t
    }
}

/// A TLS record (RFC 8446 §5.1) of `content_type` around `body`, legacy version 3.3.
pub fn tls_record(content_type: u8, body: &[u8]) -> Vec<u8> {
    let mut r = vec![content_type, 3, 3];
    r.extend_from_slice(&(body.len() as u16).to_be_bytes());
    r.extend_from_slice(body);
    r
}

/// A TLS 1.3 ClientHello (RFC 8446 §4.1.2) with server_name (RFC 6066 §3), ALPN (RFC 7301) and
/// supported_versions, in one record.
pub fn client_hello(sni: &str, alpn: &[&str], random: &[u8]) -> Vec<u8> {
    let mut body = vec![3, 3];
    let mut rnd = [0u8; 32];
    for (d, s) in rnd.iter_mut().zip(random) {
        *d = *s;
    }
    body.extend_from_slice(&rnd);
    body.push(32);
    body.extend_from_slice(&rnd);
    // Cipher suites: TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256.
    body.extend_from_slice(&[0, 6, 0x13, 0x01, 0x13, 0x02, 0x13, 0x03]);
    body.extend_from_slice(&[1, 0]);
    let mut ext = Vec::new();
    // server_name
    let name = sni.as_bytes();
    let mut sn = Vec::new();
    sn.extend_from_slice(&((name.len() + 3) as u16).to_be_bytes());
    sn.push(0);
    sn.extend_from_slice(&(name.len() as u16).to_be_bytes());
    sn.extend_from_slice(name);
    push_ext(&mut ext, 0x0000, &sn);
    // supported_versions: TLS 1.3, 1.2
    push_ext(&mut ext, 0x002b, &[4, 3, 4, 3, 3]);
    if !alpn.is_empty() {
        let mut list = Vec::new();
        for p in alpn {
            list.push(p.len() as u8);
            list.extend_from_slice(p.as_bytes());
        }
        let mut a = (list.len() as u16).to_be_bytes().to_vec();
        a.extend(list);
        push_ext(&mut ext, 0x0010, &a);
    }
    body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
    body.extend(ext);
    let mut hs = vec![1];
    hs.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    hs.extend(body);
    let mut rec = vec![22, 3, 1];
    rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
    rec.extend(hs);
    rec
}

fn push_ext(ext: &mut Vec<u8>, ty: u16, data: &[u8]) {
    ext.extend_from_slice(&ty.to_be_bytes());
    ext.extend_from_slice(&(data.len() as u16).to_be_bytes());
    ext.extend_from_slice(data);
}

/// A DNS message (RFC 1035 §4.1): one question for `name` (type A, or AAAA when the first
/// answer is IPv6), and with `response` one answer per address, TTL 300.
pub fn dns_message(id: u16, name: &str, addrs: &[IpAddr], response: bool) -> Vec<u8> {
    let mut m = id.to_be_bytes().to_vec();
    let flags: u16 = if response { 0x8180 } else { 0x0100 };
    m.extend_from_slice(&flags.to_be_bytes());
    m.extend_from_slice(&1u16.to_be_bytes());
    let an = if response { addrs.len() as u16 } else { 0 };
    m.extend_from_slice(&an.to_be_bytes());
    m.extend_from_slice(&[0, 0, 0, 0]);
    for label in name.split('.').filter(|l| !l.is_empty()) {
        m.push(label.len() as u8);
        m.extend_from_slice(label.as_bytes());
    }
    m.push(0);
    let qtype: u16 = if matches!(addrs.first(), Some(IpAddr::V6(_))) {
        28
    } else {
        1
    };
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&1u16.to_be_bytes());
    if response {
        for a in addrs {
            // Name as a pointer to the question (offset 12).
            m.extend_from_slice(&[0xc0, 12]);
            let (ty, data) = match a {
                IpAddr::V4(v4) => (1u16, v4.octets().to_vec()),
                IpAddr::V6(v6) => (28u16, v6.octets().to_vec()),
            };
            m.extend_from_slice(&ty.to_be_bytes());
            m.extend_from_slice(&1u16.to_be_bytes());
            m.extend_from_slice(&300u32.to_be_bytes());
            m.extend_from_slice(&(data.len() as u16).to_be_bytes());
            m.extend(data);
        }
    }
    m
}

/// A STUN Binding Request (RFC 8489 §5) with a transaction id and the given extra attributes
/// (type, value), each padded to 4 bytes.
pub fn stun_binding_request(txid: [u8; 12], attrs: &[(u16, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (ty, v) in attrs {
        body.extend_from_slice(&ty.to_be_bytes());
        body.extend_from_slice(&(v.len() as u16).to_be_bytes());
        body.extend_from_slice(v);
        while body.len() % 4 != 0 {
            body.push(0);
        }
    }
    let mut m = vec![0x00, 0x01];
    m.extend_from_slice(&(body.len() as u16).to_be_bytes());
    m.extend_from_slice(&0x2112_a442u32.to_be_bytes());
    m.extend_from_slice(&txid);
    m.extend(body);
    m
}

/// The scenario behind the bundled demo capture: one evening of a phone using WhatsApp and
/// Signal, built from published figures (see docs/activity-model.md). Synthetic: no real
/// person's traffic.
pub fn demo() -> Scenario {
    let mut s = Scenario::new(0x0b5e_55ed);
    // 2026-03-03 20:58:00 UTC.
    let t0 = 1_772_571_480i64 * Timestamp::NANOS_PER_SEC;
    let at = |secs: f64| Timestamp(t0 + (secs * 1e9) as i64);
    let phone: IpAddr = IpAddr::from([192, 168, 1, 23]);
    let resolver = SocketAddr::new(IpAddr::from([192, 168, 1, 1]), 53);
    let ep = |ip: [u8; 4], port: u16| SocketAddr::new(IpAddr::from(ip), port);
    let mut port = 40_000u16;
    let mut next_port = || {
        port += 1;
        SocketAddr::new(phone, port)
    };

    // WhatsApp chat connection (g.whatsapp.net, TLS on 443) with message bursts.
    let wa_chat = IpAddr::from([157, 240, 21, 60]);
    s.dns(at(0.0), next_port(), resolver, "g.whatsapp.net", &[wa_chat]);
    let (mut chat, mut t) = s.tls_session(
        at(0.2),
        next_port(),
        SocketAddr::new(wa_chat, 443),
        "g.whatsapp.net",
        &[],
    );
    for (i, gap) in [12.0, 3.5, 41.0, 7.0, 95.0, 2.0, 30.0].iter().enumerate() {
        t = Timestamp(t.0 + (*gap * 1e9) as i64);
        let up = i % 2 == 0;
        let len = s.rng.range(90, 260) as usize;
        t = s.tls_data(&mut chat, t, up, len);
        // Delivery receipt the other way.
        t = s.tls_data(&mut chat, Timestamp(t.0 + 180 * MS), !up, 45);
    }

    // A photo download from WhatsApp's media CDN.
    let wa_media = IpAddr::from([157, 240, 21, 52]);
    s.dns(
        at(60.0),
        next_port(),
        resolver,
        "mmg.whatsapp.net",
        &[wa_media],
    );
    let (mut media, t) = s.tls_session(
        at(60.3),
        next_port(),
        SocketAddr::new(wa_media, 443),
        "mmg.whatsapp.net",
        &["h2"],
    );
    let t = s.tls_data(&mut media, Timestamp(t.0 + 5 * MS), true, 420);
    let t = s.tls_data(&mut media, Timestamp(t.0 + 60 * MS), false, 182_000);
    s.tcp_close(&mut media, Timestamp(t.0 + 2_000 * MS));

    // A WhatsApp voice call through a relay: STUN, then media at 50 packets/s each way.
    let relay = ep([157, 240, 21, 51], 3478);
    let local = next_port();
    let start = at(200.0);
    for i in 0..4u8 {
        let req = stun_binding_request([i; 12], &[(0x4000, &[0, 0, 0, 1])]);
        s.udp(
            Timestamp(start.0 + i64::from(i) * 250 * MS),
            local,
            relay,
            &req,
        );
        let mut resp = req.clone();
        resp[0] = 0x01;
        s.udp(
            Timestamp(start.0 + i64::from(i) * 250 * MS + 45 * MS),
            relay,
            local,
            &resp,
        );
    }
    let media_start = start.0 + 3_000 * MS;
    let call_secs = 95;
    for k in 0..(call_secs * 50) {
        let base = media_start + k * 20 * MS;
        let up_len = s.rng.range(90, 180) as usize;
        let dn_len = s.rng.range(90, 180) as usize;
        let mut pkt = s.filler(up_len);
        pkt[0] = 0x80;
        pkt[1] = 120;
        s.udp(Timestamp(base), local, relay, &pkt);
        let mut back = s.filler(dn_len);
        back[0] = 0x80;
        back[1] = 120;
        s.udp(Timestamp(base + 7 * MS), relay, local, &back);
    }

    // Signal messages: its chat service over TLS.
    let signal = IpAddr::from([13, 248, 212, 111]);
    s.dns(
        at(400.0),
        next_port(),
        resolver,
        "chat.signal.org",
        &[signal],
    );
    let (mut sig, mut t) = s.tls_session(
        at(400.2),
        next_port(),
        SocketAddr::new(signal, 443),
        "chat.signal.org",
        &["http/1.1"],
    );
    for gap in [5.0, 20.0, 3.0, 60.0] {
        t = s.tls_data(&mut sig, Timestamp(t.0 + (gap * 1e9) as i64), true, 160 * 3);
        t = s.tls_data(&mut sig, Timestamp(t.0 + 250 * MS), false, 160);
    }
    s.tcp_close(&mut sig, Timestamp(t.0 + 10_000 * MS));
    s.tcp_close(&mut chat, at(600.0));
    s
}
