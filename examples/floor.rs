//! The benchmark floor: read a capture with libpcap and slice each frame with etherparse,
//! nothing more.
//!
//! Every analysis onlooker does (decode, flow table, dissectors, output) sits on top of exactly
//! this work, so this is the speed no analysis can beat. `scripts/bench.sh` reports the
//! `onlooker` commands as a ratio of this binary's packets per second (see
//! docs/benchmarks.md).
//!
//! It accumulates a cheap checksum of the slices (frames with a transport layer, captured
//! bytes) and prints it, so the compiler cannot optimise the slicing away.
//!
//! usage: `cargo run --release --example floor -- FILE` (the frames must be Ethernet)

use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let (Some(path), None) = (args.next(), args.next()) else {
        eprintln!("usage: floor FILE   (an Ethernet pcap or pcapng capture)");
        return ExitCode::from(2);
    };
    let start = Instant::now();
    let mut cap = match pcap::Capture::from_file(&path) {
        Ok(cap) => cap,
        Err(e) => {
            eprintln!("floor: cannot open {}: {e}", path.to_string_lossy());
            return ExitCode::from(4);
        }
    };

    let (mut packets, mut bytes, mut transport, mut unsliced) = (0u64, 0u64, 0u64, 0u64);
    loop {
        match cap.next_packet() {
            Ok(packet) => {
                packets += 1;
                bytes += packet.data.len() as u64;
                match etherparse::LaxSlicedPacket::from_ethernet(packet.data) {
                    Ok(sliced) => transport += u64::from(sliced.transport.is_some()),
                    Err(_) => unsliced += 1,
                }
            }
            Err(pcap::Error::NoMorePackets) => break,
            Err(e) => {
                eprintln!("floor: read error after {packets} packets: {e}");
                return ExitCode::from(3);
            }
        }
    }

    let secs = start.elapsed().as_secs_f64();
    println!(
        "packets {packets} bytes {bytes} transport {transport} unsliced {unsliced} \
         seconds {secs:.3} packets_per_s {:.0}",
        packets as f64 / secs.max(1e-9)
    );
    ExitCode::SUCCESS
}
