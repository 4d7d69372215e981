//! The flow table: packets become bidirectional flows.
//!
//! A flow is keyed by transport protocol and its two endpoints, in either direction. The client
//! is the side that sent the first packet seen, except that a TCP SYN names its sender and a
//! SYN-ACK its receiver. Per direction the table counts packets and on-wire bytes, first and last
//! time and the TCP flags seen; per flow it can keep the first [`SAMPLES`] packets as (time
//! offset, direction, size, payload length), for classifiers that work on packet sizes and
//! timing ([`FlowTable::keep_samples`]; kept by default, off in the analysis engine, whose
//! stages read none).
//!
//! Flows end on an idle timeout (per protocol class, see [`Timeouts`]), shortly after a TCP
//! close (both FINs, or a RST), when the table is full (the least recently seen flow is
//! evicted, and counted), or at end of input. Ending a flow hands it to a sink once, then its
//! slot is reused.
//!
//! Bounds and cost: the table never holds more than `max_flows` flows; slots live in fixed-size
//! chunks that are allocated once and reused, so after warm-up the per-packet path allocates
//! nothing (a table that keeps samples allocates a flow's 512 bytes of them with its first
//! packet). Expiry and eviction are O(1) per flow: each timeout class keeps its flows in a list
//! ordered by last activity, so the oldest flow of each class is always at the head.
//!
//! Time is packet time only. The table's clock is the latest timestamp seen; a packet stamped
//! earlier than that (clocks do go backwards in real captures) updates its flow but does not move
//! the clock back, and is counted.
//!
//! This module must never look at payload bytes (the dissectors do), and never grow without a
//! bound.

pub mod fragments;
mod table;

pub use table::{FlowId, FlowTable, Observed, TableStats};

use std::net::{IpAddr, SocketAddr};

use crate::capture::Timestamp;
use crate::decode::{Packet, proto, tcp_flag};

/// How many packets of each flow are kept as samples (when kept). 64 covers the
/// handshakes and first exchanges that published classifiers use (they look at the first 10 to
/// 50 packets of a flow), at 8 bytes a packet.
pub const SAMPLES: usize = 64;

/// Default cap on tracked flows. A flow costs about 1.5 KB while tracked (704 B for the flow
/// with its 64 samples when kept, 704 B of naming and activity state, the index entry), so the
/// cap bounds
/// the table near 1.5 GB: far above what a single host ever has open (the 4-million-packet
/// benchmark peaks at a few thousand), while still bounding a flood of forged addresses. Use
/// `--max-flows` for a tighter bound (100,000 flows: about 150 MB).
pub const DEFAULT_MAX_FLOWS: usize = 1_000_000;

/// Idle timeouts per protocol class, in seconds of packet time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// An open TCP connection. Chat and push connections idle for minutes between keep-alives
    /// (Apple Push keep-alives are minutes apart); 10 minutes keeps them whole, while a
    /// connection silent for longer has most likely been dropped by a NAT on the path.
    pub tcp: u32,
    /// A TCP connection after both FINs or a RST: long enough for the last ACKs and
    /// retransmitted FINs to join it, short enough that a reused port starts a new flow.
    pub tcp_closed: u32,
    /// UDP. RFC 4787 (REQ-5) requires NAT UDP mappings to live at least 2 minutes, and
    /// messaging apps keep call and STUN mappings alive well within that.
    pub udp: u32,
    /// Everything else (ICMP, GRE, ESP, ...).
    pub other: u32,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            tcp: 600,
            tcp_closed: 5,
            udp: 120,
            other: 60,
        }
    }
}

/// One end of a flow.
pub type Endpoint = (IpAddr, u16);

/// Flow key: protocol and the two endpoints in a canonical order (the smaller first), so both
/// directions find the same flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlowKey {
    pub proto: u8,
    pub lo: Endpoint,
    pub hi: Endpoint,
}

/// An address as one integer, for hashing and ordering on the per-packet path (the derived
/// implementations go through byte slices). IPv4 and IPv6 never share a key, so the values
/// need not be distinct across families.
fn addr_bits(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

impl std::hash::Hash for FlowKey {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        h.write_u128(addr_bits(self.lo.0));
        h.write_u128(addr_bits(self.hi.0));
        h.write_u64(
            u64::from(self.proto) << 32 | u64::from(self.lo.1) << 16 | u64::from(self.hi.1),
        );
    }
}

impl FlowKey {
    /// The key of a packet, and whether the packet's source is the `lo` side.
    pub fn of(pkt: &Packet<'_>) -> (Self, bool) {
        let s = (pkt.src, pkt.src_port);
        let d = (pkt.dst, pkt.dst_port);
        // The same order as comparing the endpoints, computed on integers: addresses of one
        // family compare like their big-endian integers.
        let s_first = match (pkt.src, pkt.dst) {
            (IpAddr::V4(_), IpAddr::V4(_)) | (IpAddr::V6(_), IpAddr::V6(_)) => {
                (addr_bits(pkt.src), pkt.src_port) <= (addr_bits(pkt.dst), pkt.dst_port)
            }
            _ => s <= d,
        };
        if s_first {
            (
                Self {
                    proto: pkt.proto,
                    lo: s,
                    hi: d,
                },
                true,
            )
        } else {
            (
                Self {
                    proto: pkt.proto,
                    lo: d,
                    hi: s,
                },
                false,
            )
        }
    }
}

/// Direction of a packet within its flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Dir {
    /// Client to server.
    Up,
    /// Server to client.
    Down,
}

/// Counters of one direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DirStats {
    pub packets: u64,
    pub bytes: u64,
    pub payload_bytes: u64,
    pub first_ts: Option<Timestamp>,
    pub last_ts: Option<Timestamp>,
    /// Union of the TCP flag bytes seen in this direction.
    pub tcp_flags: u8,
}

/// One sampled packet, 8 bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sample {
    /// Microseconds since the flow's first packet, saturating at about 71 minutes.
    pub offset_us: u32,
    /// On-wire frame size, saturating at 65535.
    pub size: u16,
    /// Transport payload length (low 15 bits, saturating at 32767) and direction (high bit set
    /// for server to client).
    dir_payload: u16,
}

impl Sample {
    const DOWN_BIT: u16 = 0x8000;

    fn new(offset_us: u32, size: u32, payload: u32, dir: Dir) -> Self {
        let p = payload.min(u32::from(!Self::DOWN_BIT)) as u16;
        Self {
            offset_us,
            size: size.min(u32::from(u16::MAX)) as u16,
            dir_payload: p | if dir == Dir::Down { Self::DOWN_BIT } else { 0 },
        }
    }

    pub fn dir(&self) -> Dir {
        if self.dir_payload & Self::DOWN_BIT != 0 {
            Dir::Down
        } else {
            Dir::Up
        }
    }

    pub fn payload(&self) -> u16 {
        self.dir_payload & !Self::DOWN_BIT
    }
}

/// Why a flow ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    Idle,
    Fin,
    Rst,
    Evicted,
    EndOfInput,
}

impl EndReason {
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Idle => "idle",
            EndReason::Fin => "fin",
            EndReason::Rst => "rst",
            EndReason::Evicted => "evicted",
            EndReason::EndOfInput => "end_of_input",
        }
    }
}

/// A flow and whatever the later stages attach to it (`T`).
#[derive(Clone, Debug)]
pub struct Flow<T> {
    pub key: FlowKey,
    /// True when the client is `key.lo`.
    pub client_is_lo: bool,
    pub up: DirStats,
    pub down: DirStats,
    pub first_ts: Timestamp,
    pub last_ts: Timestamp,
    /// Boxed, and only when the table keeps samples: half the size of a flow, moved with it
    /// from the table to every later stage.
    samples: Option<Box<[Sample; SAMPLES]>>,
    sample_count: u8,
    fin_up: bool,
    fin_down: bool,
    rst: bool,
    /// IP TTL (hop limit) of the client's first packet: with the SYN options below, what an
    /// observer reads passively about the client's operating system.
    pub client_ttl: Option<u8>,
    /// The options of the client's SYN, when the handshake was seen.
    pub client_syn: Option<(u16, crate::decode::SynOptions)>,
    /// Per-flow state of later stages.
    pub ext: T,
}

impl<T: Default> Flow<T> {
    fn new(key: FlowKey, client_is_lo: bool, ts: Timestamp, keep_samples: bool) -> Self {
        Self {
            key,
            client_is_lo,
            up: DirStats::default(),
            down: DirStats::default(),
            first_ts: ts,
            last_ts: ts,
            samples: keep_samples.then(|| Box::new([Sample::default(); SAMPLES])),
            sample_count: 0,
            fin_up: false,
            fin_down: false,
            rst: false,
            client_ttl: None,
            client_syn: None,
            ext: T::default(),
        }
    }
}

impl<T> Flow<T> {
    pub fn client(&self) -> Endpoint {
        if self.client_is_lo {
            self.key.lo
        } else {
            self.key.hi
        }
    }

    pub fn server(&self) -> Endpoint {
        if self.client_is_lo {
            self.key.hi
        } else {
            self.key.lo
        }
    }

    pub fn client_addr(&self) -> SocketAddr {
        self.client().into()
    }

    pub fn server_addr(&self) -> SocketAddr {
        self.server().into()
    }

    pub fn proto(&self) -> u8 {
        self.key.proto
    }

    /// The sampled first packets, in order (none when the table keeps no samples).
    pub fn samples(&self) -> &[Sample] {
        self.samples
            .as_deref()
            .map_or(&[], |s| &s[..usize::from(self.sample_count)])
    }

    pub fn packets(&self) -> u64 {
        self.up.packets + self.down.packets
    }

    pub fn bytes(&self) -> u64 {
        self.up.bytes + self.down.bytes
    }

    /// Union of TCP flags over both directions.
    pub fn tcp_flags(&self) -> u8 {
        self.up.tcp_flags | self.down.tcp_flags
    }

    /// True once the TCP connection has closed (both FINs or a RST).
    pub fn closed(&self) -> bool {
        self.rst || (self.fin_up && self.fin_down)
    }

    /// How the flow ended when its end comes from its own packets (a close), else `fallback`.
    fn end_reason(&self, fallback: EndReason) -> EndReason {
        if self.rst {
            EndReason::Rst
        } else if self.fin_up && self.fin_down {
            EndReason::Fin
        } else {
            fallback
        }
    }

    /// Account one packet travelling in `dir`.
    fn update(&mut self, pkt: &Packet<'_>, dir: Dir) {
        let d = match dir {
            Dir::Up => &mut self.up,
            Dir::Down => &mut self.down,
        };
        d.packets += 1;
        d.bytes += u64::from(pkt.wire_len);
        d.payload_bytes += u64::from(pkt.payload_len);
        d.first_ts = Some(d.first_ts.map_or(pkt.ts, |t| t.min(pkt.ts)));
        d.last_ts = Some(d.last_ts.map_or(pkt.ts, |t| t.max(pkt.ts)));
        if dir == Dir::Up {
            if self.client_ttl.is_none() {
                self.client_ttl = Some(pkt.ttl);
            }
            if let Some(tcp) = pkt.tcp {
                if let (Some(syn), true) = (tcp.syn, tcp.flags & tcp_flag::ACK == 0) {
                    self.client_syn.get_or_insert((tcp.window, syn));
                }
            }
        }
        if let Some(tcp) = pkt.tcp {
            d.tcp_flags |= tcp.flags;
            if tcp.flags & tcp_flag::RST != 0 {
                self.rst = true;
            }
            if tcp.flags & tcp_flag::FIN != 0 {
                match dir {
                    Dir::Up => self.fin_up = true,
                    Dir::Down => self.fin_down = true,
                }
            }
        }
        self.last_ts = self.last_ts.max(pkt.ts);
        self.first_ts = self.first_ts.min(pkt.ts);
        let n = usize::from(self.sample_count);
        if let Some(samples) = self.samples.as_deref_mut().filter(|_| n < SAMPLES) {
            let off = pkt
                .ts
                .as_nanos()
                .saturating_sub(self.first_ts.as_nanos())
                .max(0)
                / 1_000;
            samples[n] = Sample::new(
                u32::try_from(off).unwrap_or(u32::MAX),
                pkt.wire_len,
                pkt.payload_len,
                dir,
            );
            self.sample_count += 1;
        }
    }
}

/// Text form of a TCP flag byte: one letter per flag seen, in a fixed order (S SYN, A ACK,
/// P PSH, F FIN, R RST, U URG, E ECE, C CWR).
pub fn tcp_flags_str(flags: u8) -> String {
    const ORDER: [(u8, char); 8] = [
        (0x02, 'S'),
        (0x10, 'A'),
        (0x08, 'P'),
        (0x01, 'F'),
        (0x04, 'R'),
        (0x20, 'U'),
        (0x40, 'E'),
        (0x80, 'C'),
    ];
    ORDER
        .iter()
        .filter(|(bit, _)| flags & bit != 0)
        .map(|&(_, c)| c)
        .collect()
}

/// Name of an IP protocol for outputs.
pub fn proto_name(p: u8) -> std::borrow::Cow<'static, str> {
    match p {
        proto::TCP => "tcp".into(),
        proto::UDP => "udp".into(),
        proto::ICMP => "icmp".into(),
        proto::ICMPV6 => "icmpv6".into(),
        n => n.to_string().into(),
    }
}

#[cfg(test)]
mod tests;
