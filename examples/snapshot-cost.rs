//! What a dashboard snapshot costs with many flows: the time `session::Analysis::snapshot`
//! takes with N flows open (the first snapshots, naming them; again with nothing changed;
//! after 1% of the flows saw a packet) and with N flows finished, and the memory a finished
//! record costs (resident size before and after).
//!
//! The flows are synthetic UDP exchanges (a datagram each way with a few bytes), N distinct
//! client sockets to 50 servers, all within 10 s of capture time so none expires.
//!
//! usage: `cargo run --release --example snapshot-cost -- [N]` (default 100000)

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Instant;

use onlooker::capture::memory::MemorySource;
use onlooker::capture::{PacketSource, Timestamp};
use onlooker::session::{Analysis, SessionConfig, SourceKind, Speed};

fn rss_kib() -> u64 {
    // Resident pages (second field of /proc/self/statm) times the page size.
    let page = 4;
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<u64>().ok())
        })
        .map_or(0, |p| p * page)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: u32 = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(100_000);
    let base = 1_772_571_480i64 * Timestamp::NANOS_PER_SEC;
    let mut s = onlooker::scenario::Scenario::new(1);
    let client = |i: u32| {
        SocketAddr::new(
            IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + (i / 50_000))),
            (10_000 + i % 50_000) as u16,
        )
    };
    let server = |i: u32| SocketAddr::new(IpAddr::V4(Ipv4Addr::from(0xc633_6400 + i % 50)), 4000);
    let step = 10 * Timestamp::NANOS_PER_SEC / i64::from(n.max(1));
    for i in 0..n {
        let ts = Timestamp(base + i64::from(i) * step);
        s.udp(ts, client(i), server(i), &[0x17; 40]);
        s.udp(
            Timestamp(ts.0 + 1_000_000),
            server(i),
            client(i),
            &[0x17; 40],
        );
    }
    // 1% of the flows see one more packet after the first snapshots.
    let mut touch = onlooker::scenario::Scenario::new(2);
    for i in (0..n).step_by(100) {
        touch.udp(
            Timestamp(base + 11 * Timestamp::NANOS_PER_SEC),
            client(i),
            server(i),
            &[0x17; 40],
        );
    }
    let cfg = || SessionConfig {
        kind: SourceKind::Replay,
        source: "synthetic".into(),
        pipeline: onlooker::analysis::pipeline::PipelineConfig::default(),
        catalog: onlooker::naming::catalog::Catalog::bundled().unwrap_or_default(),
        geo: onlooker::naming::geo::Geo::bundled(),
        observer: Default::default(),
        speed: Speed::Max,
    };
    let mut a = Analysis::with_cap(cfg(), n as usize);
    let mut src = MemorySource::new(s.into_frames());
    let t = Instant::now();
    while a.feed(src.next_frame()).is_none() {}
    println!(
        "analysed {} frames into {} open flows in {:.0} ms",
        a.packets(),
        a.open_flows(),
        t.elapsed().as_secs_f64() * 1e3
    );
    let time = |a: &mut Analysis, what: &str, finished: bool| {
        let t = Instant::now();
        let snap = a.snapshot(finished);
        let ms = t.elapsed().as_secs_f64() * 1e3;
        println!(
            "{what}: {:.1} ms ({} flows, {} events)",
            ms,
            snap.flows.len(),
            snap.events.len()
        );
        snap
    };
    let rss_before = rss_kib();
    drop(time(&mut a, "snapshot, open flows, first", false));
    // The first refreshes name at most session::NAME_BUDGET flows each.
    let rounds = (n as usize).div_ceil(onlooker::session::NAME_BUDGET);
    for i in 1..rounds {
        let label = format!("snapshot, open flows, naming round {}", i + 1);
        drop(time(&mut a, &label, false));
    }
    let rss_open = rss_kib();
    drop(time(&mut a, "snapshot, open flows, nothing changed", false));
    let mut more = MemorySource::new(touch.into_frames());
    while a.feed(more.next_frame()).is_none() {}
    drop(time(&mut a, "snapshot, open flows, 1% changed", false));
    a.finish(&mut more);
    let rss_fin0 = rss_kib();
    drop(time(&mut a, "snapshot, all flows finished", true));
    let held = time(&mut a, "snapshot, all flows finished, again", true);
    println!(
        "resident: +{} KiB for the open-flow record cache ({} B a flow); {} KiB after finishing",
        rss_open.saturating_sub(rss_before),
        rss_open.saturating_sub(rss_before) * 1024 / u64::from(n.max(1)),
        rss_fin0
    );
    drop(held);
    Ok(())
}
