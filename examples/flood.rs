//! Writes a flood capture: N distinct flows of one packet each, random addresses and ports, for
//! the memory benchmark of `scripts/flood.sh` (docs/robustness.md).
//!
//! `cargo run --release --example flood -- OUT.pcap [FLOWS] [SEED] [stun]` (defaults 5,000,000
//! and 1). With `stun`, every packet is UDP and carries a STUN Binding request (RFC 8489 §5:
//! type 0x0001, length 0, the magic cookie, a transaction ID): each flow then looks like the
//! start of a call to the activity model, the worst case for what `events` keeps.
//!
//! Every packet starts a new flow: its source address is a bijective mix of the packet's index
//! (so no two packets share a 5-tuple), destination address and both ports come from a seeded
//! xorshift generator, and two thirds are UDP datagrams, one third TCP SYNs (IPv4, 60-byte
//! Ethernet frames). Packets are 1 µs apart, so no flow reaches an idle timeout during the
//! run and the table can only stay bounded by `--max-flows` evictions. The same seed writes
//! the same file.

use std::io::{BufWriter, Write};
use std::net::{IpAddr, Ipv4Addr};

use onlooker::capture::writer::{PcapWriter, Transport, ethernet_frame, tcp_flags};
use onlooker::capture::{LinkType, Timestamp};

/// xorshift64*: enough randomness for addresses and ports, deterministic per seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// A bijection on u32 (odd multiplier and xor-shifts are each invertible), so distinct indexes
/// give distinct source addresses that still look random.
fn mix(mut x: u32) -> u32 {
    x = x.wrapping_mul(0x9e37_79b1);
    x ^= x >> 15;
    x = x.wrapping_mul(0x85eb_ca77);
    x ^= x >> 13;
    x
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let Some(out) = args.next() else {
        eprintln!("usage: flood OUT.pcap [FLOWS] [SEED]");
        std::process::exit(2);
    };
    let parse = |s: Option<String>, default: u64, what: &str| -> u64 {
        match s {
            None => default,
            Some(s) => s.parse().unwrap_or_else(|_| {
                eprintln!("flood: {what} must be a number, not {s:?}");
                std::process::exit(2);
            }),
        }
    };
    let flows = parse(args.next(), 5_000_000, "FLOWS");
    let seed = parse(args.next(), 1, "SEED");
    let stun = args.next().is_some_and(|a| a == "stun");
    if flows > u64::from(u32::MAX) {
        eprintln!("flood: at most {} flows", u32::MAX);
        std::process::exit(2);
    }
    let file = BufWriter::with_capacity(1 << 20, std::fs::File::create(&out)?);
    let mut w = PcapWriter::new(file, LinkType::ETHERNET, 65_535)?;
    let mut rng = Rng(seed.max(1));
    let start = Timestamp::from_secs(1_700_000_000);
    for i in 0..flows {
        let r = rng.next();
        let src = Ipv4Addr::from(mix(i as u32));
        let dst = Ipv4Addr::from((r >> 32) as u32);
        let sport = (r >> 16) as u16 | 1024;
        let dport = r as u16;
        let transport = if i % 3 == 0 && !stun {
            Transport::Tcp {
                seq: r as u32,
                ack: 0,
                flags: tcp_flags::SYN,
            }
        } else {
            Transport::Udp
        };
        let mut binding = [0u8; 20];
        binding[1] = 1;
        binding[4..8].copy_from_slice(&0x2112_a442u32.to_be_bytes());
        binding[8..16].copy_from_slice(&r.to_le_bytes());
        binding[16..20].copy_from_slice(&(i as u32).to_le_bytes());
        let payload: &[u8] = match transport {
            Transport::Udp if stun => &binding,
            Transport::Udp => &[0u8; 18],
            Transport::Tcp { .. } => &[0u8; 6],
        };
        let frame = ethernet_frame(
            (IpAddr::V4(src), sport),
            (IpAddr::V4(dst), dport),
            transport,
            payload,
        )?;
        let ts = Timestamp::from_nanos(start.as_nanos() + i as i64 * 1_000);
        w.write(ts, &frame)?;
    }
    w.finish()?.flush()?;
    eprintln!("flood: wrote {flows} one-packet flows to {out}");
    Ok(())
}
