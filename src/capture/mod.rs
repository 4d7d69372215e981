//! Packet sources: where packets come from.
//!
//! Everything downstream sees packets only through [`PacketSource`], so the whole pipeline runs in
//! tests from files or from synthetic packets built in memory, without capture privileges. Two
//! real sources exist: [`offline::FileSource`] (pcap and pcapng files, read by libpcap) and
//! [`live::LiveSource`] (an interface, through libpcap). [`memory::MemorySource`] replays packets
//! a test built.
//!
//! This module must never interpret packet bytes (that is `decode`'s job) and never hold on to
//! a packet after the next one is requested: sources lend each packet for one step only, which is
//! what keeps the per-packet path free of allocation.

pub mod classic;
mod ffi;
pub mod live;
pub mod memory;
pub mod offline;
pub mod pcapng;
pub mod privileges;
pub mod save;
pub mod threaded;
pub mod writer;

use std::fmt;
use std::path::PathBuf;

/// A libpcap link-layer type (`LINKTYPE_*` / `DLT_*` value), as found in a capture file header or
/// reported by a live handle. See <https://www.tcpdump.org/linktypes.html>.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LinkType(pub u32);

impl LinkType {
    /// BSD loopback: a 4-byte address family in the capturing host's byte order.
    pub const NULL: Self = Self(0);
    /// Ethernet II, possibly with 802.1Q / 802.1ad tags.
    pub const ETHERNET: Self = Self(1);
    /// PPP in HDLC-like framing (RFC 1662) or a bare protocol field.
    pub const PPP: Self = Self(9);
    /// Raw IP as most platforms number DLT_RAW.
    pub const DLT_RAW_12: Self = Self(12);
    /// Raw IP as OpenBSD numbers DLT_RAW.
    pub const DLT_RAW_14: Self = Self(14);
    /// PPP in HDLC-like framing, serial lines.
    pub const PPP_SERIAL: Self = Self(50);
    /// PPPoE traffic as seen by some capture drivers (PPP with HDLC framing).
    pub const PPP_ETHER: Self = Self(51);
    /// LINKTYPE_RAW: raw IPv4 or IPv6, told apart by the version nibble.
    pub const RAW: Self = Self(101);
    /// Cisco HDLC: address, control, then an EtherType.
    pub const C_HDLC: Self = Self(104);
    /// OpenBSD loopback: like NULL but the family is in network byte order.
    pub const LOOP: Self = Self(108);
    /// Linux cooked capture v1 (SLL), 16-byte header.
    pub const LINUX_SLL: Self = Self(113);
    /// Per-Packet Information header followed by another link type.
    pub const PPI: Self = Self(192);
    /// Raw IPv4 only.
    pub const IPV4: Self = Self(228);
    /// Raw IPv6 only.
    pub const IPV6: Self = Self(229);
    /// Linux netfilter NFLOG: TLVs, one of which carries the IP packet.
    pub const NFLOG: Self = Self(239);
    /// Apple PKTAP: a metadata header followed by another link type.
    pub const PKTAP: Self = Self(258);
    /// Linux cooked capture v2 (SLL2), 20-byte header.
    pub const LINUX_SLL2: Self = Self(276);

    /// Every link type the decoder reads (tests and fuzz targets walk this list).
    pub const ALL: [Self; 17] = [
        Self::NULL,
        Self::ETHERNET,
        Self::PPP,
        Self::DLT_RAW_12,
        Self::DLT_RAW_14,
        Self::PPP_SERIAL,
        Self::PPP_ETHER,
        Self::RAW,
        Self::C_HDLC,
        Self::LOOP,
        Self::LINUX_SLL,
        Self::PPI,
        Self::IPV4,
        Self::IPV6,
        Self::NFLOG,
        Self::PKTAP,
        Self::LINUX_SLL2,
    ];
}

impl fmt::Display for LinkType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A point in packet time: nanoseconds since the Unix epoch, as the capture recorded it.
///
/// Packet time is the only clock analysis uses (live and replay must agree), so this type is
/// deliberately not convertible from the system clock except through [`Timestamp::from_nanos`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// Nanoseconds in one second.
    pub const NANOS_PER_SEC: i64 = 1_000_000_000;

    pub fn from_nanos(n: i64) -> Self {
        Self(n)
    }

    pub fn from_secs(s: i64) -> Self {
        Self(s.saturating_mul(Self::NANOS_PER_SEC))
    }

    pub fn from_parts(secs: i64, nanos: i64) -> Self {
        Self(
            secs.saturating_mul(Self::NANOS_PER_SEC)
                .saturating_add(nanos),
        )
    }

    pub fn as_nanos(self) -> i64 {
        self.0
    }

    /// Seconds since the epoch as a float, the unit of every time field in outputs, rounded to
    /// the microsecond: an f64 holds about 16 significant digits, so for present-day epoch
    /// seconds that is the finest resolution it can carry without printing noise digits.
    pub fn as_secs_f64(self) -> f64 {
        let micros = self.0.div_euclid(1_000) + i64::from(self.0.rem_euclid(1_000) >= 500);
        micros as f64 / 1e6
    }

    /// `self + secs`, saturating.
    pub fn plus_secs(self, secs: u32) -> Self {
        Self(self.0.saturating_add(i64::from(secs) * Self::NANOS_PER_SEC))
    }
}

/// One captured frame, lent by a source until the next call.
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    pub ts: Timestamp,
    /// Length of the frame on the wire; `data` may be shorter when the snaplen cut it.
    pub wire_len: u32,
    pub link: LinkType,
    pub data: &'a [u8],
}

/// What a source has to say when asked for the next frame.
#[derive(Debug)]
pub enum Next<'a> {
    Frame(Frame<'a>),
    /// A live source waited its read timeout without traffic. Carries the wall-clock time of the
    /// moment, which in live capture is the same clock as packet timestamps: the pipeline may use
    /// it to expire flows that have been idle, exactly as a later packet would.
    Idle(Timestamp),
    /// The source is exhausted (end of the last file) or was asked to stop.
    End,
}

/// Kernel-level counters of a live capture, as libpcap reports them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct KernelStats {
    /// Packets the kernel handed to the capture.
    pub received: u64,
    /// Packets dropped because the capture buffer was full (we were too slow).
    pub dropped_by_kernel: u64,
    /// Packets the interface or its driver dropped.
    pub dropped_by_interface: u64,
}

/// Records of a capture file that were readable but odd. Each is still read and analysed as
/// it is; these counters say how many there were, so none passes unnoticed. (Timestamps going
/// backwards are counted by the flow table, whose clock they affect.)
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct RecordAnomalies {
    /// Records with no captured bytes (decode then counts each as `truncated`).
    pub empty: u64,
    /// Records with more captured bytes than the snapshot length in the file header: a writer
    /// that declared the wrong snaplen. They are read whole, as Wireshark reads them.
    pub over_snaplen: u64,
    /// Records claiming fewer bytes on the wire than were captured; the captured length is
    /// taken as the on-wire length.
    pub captured_over_wire: u64,
    /// Timestamps before 1970-01-01 (pcapng only: classic pcap seconds are unsigned).
    pub before_1970: u64,
    /// Timestamps after 2106-02-07 06:28:15 UTC, the last second a classic pcap record holds
    /// (pcapng only; beyond the year 2262 nanoseconds saturate).
    pub after_2106: u64,
}

impl RecordAnomalies {
    /// Count the odd things about one record: its time, captured and claimed on-wire lengths,
    /// and the file's snapshot length (0 when the file declares none).
    pub fn count(&mut self, ts: Timestamp, caplen: u32, wire_len: u32, snaplen: u32) {
        self.empty += u64::from(caplen == 0);
        self.over_snaplen += u64::from(snaplen != 0 && caplen > snaplen);
        self.captured_over_wire += u64::from(caplen > wire_len);
        self.before_1970 += u64::from(ts.as_nanos() < 0);
        self.after_2106 +=
            u64::from(ts.as_nanos() > i64::from(u32::MAX) * Timestamp::NANOS_PER_SEC + 999_999_999);
    }

    /// Whether anything was counted.
    pub fn any(&self) -> bool {
        *self != Self::default()
    }
}

/// Errors of packet sources.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("{path}: no such file (check the path and name)")]
    NotFound { path: PathBuf },
    #[error("{path}: is a directory, not a capture file")]
    IsDirectory { path: PathBuf },
    #[error("{path}: permission denied reading the file (check its mode: ls -l)")]
    FileNotReadable { path: PathBuf },
    #[error("{path}: the file is empty")]
    EmptyFile { path: PathBuf },
    #[error("{path}: {format}-compressed; decompress it first ({hint})")]
    Compressed {
        path: PathBuf,
        format: &'static str,
        hint: &'static str,
    },
    #[error(
        "{path}: not a pcap or pcapng capture (it starts with bytes {magic}; pcap starts with a1b2c3d4 or d4c3b2a1, pcapng with 0a0d0d0a)"
    )]
    NotACapture { path: PathBuf, magic: String },
    #[error("{path}: libpcap cannot open it: {message}")]
    Open { path: PathBuf, message: String },
    #[error(
        "{path}: reading stopped at byte offset {offset} after {records} records: {message}; the flows read so far are kept"
    )]
    Partial {
        path: PathBuf,
        offset: u64,
        records: u64,
        message: String,
    },
    #[error(
        "no permission to capture on {interface}: {message}\n  grant it once with:  sudo setcap cap_net_raw=eip {exe}\n  or run onlooker as root (sudo). See docs/privileges.md."
    )]
    PermissionDenied {
        interface: String,
        message: String,
        exe: String,
    },
    #[error("no such capture interface: {interface} (list them with: onlooker interfaces)")]
    NoSuchInterface { interface: String },
    #[error("capture interface {interface} went away: {message}")]
    InterfaceGone { interface: String, message: String },
    #[error(
        "bad capture filter {filter:?}: {message} (filters use the tcpdump syntax, see man pcap-filter)"
    )]
    BadFilter { filter: String, message: String },
    #[error("live capture on {interface} failed: {message}")]
    Live { interface: String, message: String },
}

/// Anything packets can be read from.
///
/// Implementations lend one frame at a time; the returned frame borrows the source, so a caller
/// finishes with it before asking for the next one.
pub trait PacketSource {
    /// The next frame, an idle tick, or the end.
    ///
    /// An error that leaves the rest of the input unreadable (a truncated file) is returned once
    /// with [`CaptureError::Partial`]; the source then moves on to its next file, if any.
    fn next_frame(&mut self) -> Result<Next<'_>, CaptureError>;

    /// Kernel counters, for live sources.
    fn kernel_stats(&mut self) -> Option<KernelStats> {
        None
    }

    /// Odd but readable records seen so far (files only).
    fn record_anomalies(&mut self) -> RecordAnomalies {
        RecordAnomalies::default()
    }

    /// A short human description ("file x.pcap", "interface eth0").
    fn describe(&self) -> String;

    /// A descriptor that polls readable when more input is there, for a source that reads a
    /// stream (a pipe, standard input): a reader thread hands over the frames it holds before
    /// it would wait on it. `None` when unknown (reading never waits long, or wakes up by
    /// itself, as a live capture does).
    fn stream_fd(&self) -> Option<std::os::fd::RawFd> {
        None
    }
}
