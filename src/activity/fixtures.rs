//! Synthetic flows for the unit tests of the activity families. A flow's packets are fed one
//! by one through [`MediaStats::observe`], so the tests judge the counters the rules read as
//! the capture would set them, not fields set by hand; its record (sockets, extent, counts)
//! follows from the same packets.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, SocketAddr};

use super::{FlowSummary, MediaStats};
use crate::capture::Timestamp;
use crate::decode::{Packet, proto};
use crate::flow::Dir;
use crate::model::{Event, EventKind, FlowRecord, Proto, Role};
use crate::scenario::{rtcp_receiver_report, rtp_packet};

/// The synthetic captures start here (2023-11-14).
const T0: i64 = 1_700_000_000 * Timestamp::NANOS_PER_SEC;

/// `secs` seconds into the capture.
pub(super) fn at(secs: f64) -> Timestamp {
    Timestamp(T0 + (secs * 1e9).round() as i64)
}

/// `secs` seconds into the capture, as events and records write times.
pub(super) fn secs(secs: f64) -> f64 {
    at(secs).as_secs_f64()
}

pub(super) fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// The packets of one flow, in any order; fed in time order.
#[derive(Clone)]
pub(super) struct Trace {
    proto: u8,
    /// Client and server port.
    ports: (u16, u16),
    packets: Vec<(Timestamp, Dir, Vec<u8>)>,
    /// TCP flags every segment carries, when the trace says (`None`: no TCP header decoded).
    tcp_flags: Option<u8>,
}

impl Trace {
    pub(super) fn udp(client_port: u16, server_port: u16) -> Self {
        Self {
            proto: proto::UDP,
            ports: (client_port, server_port),
            packets: Vec::new(),
            tcp_flags: None,
        }
    }

    pub(super) fn tcp(client_port: u16, server_port: u16) -> Self {
        Self {
            proto: proto::TCP,
            ports: (client_port, server_port),
            packets: Vec::new(),
            tcp_flags: None,
        }
    }

    /// A TCP connection captured after its handshake: every segment carries ACK and PSH, none
    /// a SYN.
    pub(super) fn mid_stream(mut self) -> Self {
        self.tcp_flags = Some(0x18);
        self
    }

    pub(super) fn send(mut self, t: f64, dir: Dir, payload: &[u8]) -> Self {
        self.packets.push((at(t), dir, payload.to_vec()));
        self
    }

    /// `len` bytes of encrypted payload: a TLS record on TCP, media no header names on UDP
    /// (its first byte is none of STUN, DTLS, TURN, RTP or RTCP, RFC 7983).
    pub(super) fn opaque(self, t: f64, dir: Dir, len: usize) -> Self {
        let byte = if self.proto == proto::TCP { 0x17 } else { 0xe5 };
        self.send(t, dir, &vec![byte; len])
    }

    /// `n` records of `len` bytes one way, `gap` seconds apart from `t`.
    pub(super) fn records(mut self, t: f64, gap: f64, n: u32, dir: Dir, len: usize) -> Self {
        for i in 0..n {
            self = self.opaque(t + gap * f64::from(i), dir, len);
        }
        self
    }

    /// An RTP stream one way: `pps` packets a second of `len` bytes for `dur` seconds from
    /// `start`, one SSRC, sequence numbers in order.
    pub(super) fn rtp(
        mut self,
        (start, dur): (f64, f64),
        pps: u32,
        dir: Dir,
        ssrc: u32,
        len: usize,
    ) -> Self {
        let n = (dur * f64::from(pps)).round() as u32;
        for i in 0..n {
            let t = start + f64::from(i) / f64::from(pps);
            let seq = (i % 65_536) as u16 + 1;
            let p = rtp_packet(111, seq, i * 960, ssrc, len, &[0x5a, 0xc3, 0x17]);
            self.packets.push((at(t), dir, p));
        }
        self
    }

    /// RTCP receiver reports one way, `pps` a second for `dur` seconds from `start`.
    pub(super) fn rtcp(mut self, (start, dur): (f64, f64), pps: u32, dir: Dir) -> Self {
        let n = (dur * f64::from(pps)).round() as u32;
        for i in 0..n {
            let t = start + f64::from(i) / f64::from(pps);
            self.packets
                .push((at(t), dir, rtcp_receiver_report(0x5151, 0x4444)));
        }
        self
    }

    /// The per-flow counters after every packet, the flow ended.
    pub(super) fn stats(&mut self) -> MediaStats {
        self.packets.sort_by_key(|p| p.0);
        let mut m = MediaStats::default();
        for (ts, dir, payload) in &self.packets {
            let (src_port, dst_port) = match dir {
                Dir::Up => self.ports,
                Dir::Down => (self.ports.1, self.ports.0),
            };
            let pkt = Packet {
                frag: None,
                ts: *ts,
                wire_len: payload.len() as u32 + 28,
                src: IpAddr::from([10, 0, 0, 1]),
                dst: IpAddr::from([10, 0, 0, 2]),
                proto: self.proto,
                src_port,
                dst_port,
                tcp: self.tcp_flags.map(|flags| crate::decode::TcpInfo {
                    flags,
                    seq: 0,
                    ack: 0,
                    window: 0,
                    syn: None,
                }),
                payload,
                payload_len: payload.len() as u32,
                ttl: 64,
            };
            m.observe(&pkt, *dir);
        }
        m.finish();
        m
    }

    /// The finished flow between the addresses `client` and `server` (their ports are the
    /// trace's): its record's extent and counts from the packets, its counters from
    /// [`Trace::stats`].
    pub(super) fn flow(mut self, client: &str, server: &str) -> FlowSummary {
        let media = self.stats();
        let mut record = FlowRecord {
            proto: Proto(self.proto),
            client: SocketAddr::new(ip(client), self.ports.0),
            server: SocketAddr::new(ip(server), self.ports.1),
            first_ts: self.packets.first().map_or(0.0, |p| p.0.as_secs_f64()),
            last_ts: self.packets.last().map_or(0.0, |p| p.0.as_secs_f64()),
            ..FlowRecord::default()
        };
        for (_, dir, payload) in &self.packets {
            let (packets, bytes) = match dir {
                Dir::Up => (&mut record.packets_up, &mut record.bytes_up),
                Dir::Down => (&mut record.packets_down, &mut record.bytes_down),
            };
            *packets += 1;
            *bytes += payload.len() as u64 + 28;
        }
        FlowSummary { record, media }
    }
}

/// `f` named as `service`'s flow with `role`.
pub(super) fn named(mut f: FlowSummary, service: &str, role: Role) -> FlowSummary {
    f.record.service = Some(service.to_string());
    f.record.service_role = Some(role);
    f
}

/// The events of `kind`.
pub(super) fn of_kind(events: &[Event], kind: EventKind) -> Vec<&Event> {
    events.iter().filter(|e| e.kind == kind).collect()
}
