//! The project's own packet writer: classic pcap files (nanosecond timestamps) and the frames
//! that go into them.
//!
//! Tests, the benchmark inputs and the bundled demo capture are written with it, so that what
//! onlooker ships and checks itself against is produced by code it owns, from published traffic
//! figures, never copied from someone's real traffic.
//!
//! It writes only what it is given; it must never be used on the analysis path.

use std::io::{self, Write};
use std::net::IpAddr;

use etherparse::PacketBuilder;

use super::{LinkType, Timestamp};

/// Magic of a pcap file whose record timestamps carry nanoseconds (written in our byte order).
const PCAP_NANO_MAGIC: u32 = 0xa1b2_3c4d;
/// pcap format version 2.4, the only one in use.
const PCAP_VERSION: (u16, u16) = (2, 4);

/// Writes a classic pcap stream.
pub struct PcapWriter<W: Write> {
    out: W,
    snaplen: u32,
}

impl<W: Write> PcapWriter<W> {
    /// Write the file header for `link` frames cut at `snaplen` bytes.
    pub fn new(mut out: W, link: LinkType, snaplen: u32) -> io::Result<Self> {
        let mut h = Vec::with_capacity(24);
        h.extend_from_slice(&PCAP_NANO_MAGIC.to_le_bytes());
        h.extend_from_slice(&PCAP_VERSION.0.to_le_bytes());
        h.extend_from_slice(&PCAP_VERSION.1.to_le_bytes());
        h.extend_from_slice(&0i32.to_le_bytes()); // thiszone
        h.extend_from_slice(&0u32.to_le_bytes()); // sigfigs
        h.extend_from_slice(&snaplen.to_le_bytes());
        h.extend_from_slice(&link.0.to_le_bytes());
        out.write_all(&h)?;
        Ok(Self { out, snaplen })
    }

    /// Write one frame; it is cut to the snaplen, and its original length recorded.
    pub fn write(&mut self, ts: Timestamp, data: &[u8]) -> io::Result<()> {
        let nanos = ts.as_nanos();
        let secs = nanos.div_euclid(Timestamp::NANOS_PER_SEC);
        let frac = nanos.rem_euclid(Timestamp::NANOS_PER_SEC);
        let secs = u32::try_from(secs)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "timestamp out of range"))?;
        let orig = u32::try_from(data.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame too large"))?;
        let incl = orig.min(self.snaplen);
        let mut h = [0u8; 16];
        h[0..4].copy_from_slice(&secs.to_le_bytes());
        h[4..8].copy_from_slice(&(frac as u32).to_le_bytes());
        h[8..12].copy_from_slice(&incl.to_le_bytes());
        h[12..16].copy_from_slice(&orig.to_le_bytes());
        self.out.write_all(&h)?;
        self.out.write_all(&data[..incl as usize])
    }

    /// Flush and hand back the underlying writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Transport of a synthetic frame.
#[derive(Clone, Copy, Debug)]
pub enum Transport {
    Udp,
    /// TCP with sequence number and flags (SYN, ACK, FIN, RST, PSH as in the TCP header byte).
    Tcp {
        seq: u32,
        ack: u32,
        flags: u8,
    },
}

/// TCP flag bits, as in the 13th byte of the TCP header (RFC 9293).
pub mod tcp_flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
}

/// Build an Ethernet II frame carrying IPv4 or IPv6 and the given transport and payload.
///
/// Addresses of different families are an error; MAC addresses are fixed locally administered
/// values, since nothing downstream reads them.
pub fn ethernet_frame(
    src: (IpAddr, u16),
    dst: (IpAddr, u16),
    transport: Transport,
    payload: &[u8],
) -> io::Result<Vec<u8>> {
    const SRC_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
    const DST_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];
    const TTL: u8 = 64;
    let eth = PacketBuilder::ethernet2(SRC_MAC, DST_MAC);
    let ip = match (src.0, dst.0) {
        (IpAddr::V4(s), IpAddr::V4(d)) => eth.ipv4(s.octets(), d.octets(), TTL),
        (IpAddr::V6(s), IpAddr::V6(d)) => eth.ipv6(s.octets(), d.octets(), TTL),
        _ => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "source and destination of different address families",
            ));
        }
    };
    let mut out = Vec::new();
    let res = match transport {
        Transport::Udp => ip.udp(src.1, dst.1).write(&mut out, payload),
        Transport::Tcp { seq, ack, flags } => {
            let mut b = ip.tcp(src.1, dst.1, seq, 65535);
            if flags & tcp_flags::SYN != 0 {
                b = b.syn();
            }
            if flags & tcp_flags::ACK != 0 {
                b = b.ack(ack);
            }
            if flags & tcp_flags::FIN != 0 {
                b = b.fin();
            }
            if flags & tcp_flags::RST != 0 {
                b = b.rst();
            }
            if flags & tcp_flags::PSH != 0 {
                b = b.psh();
            }
            b.write(&mut out, payload)
        }
    };
    res.map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
    Ok(out)
}
