//! The whole per-packet path: decode, IP fragment reassembly, the flow table and every
//! dissector the naming stage drives (DNS, TLS ClientHello, server certificates, QUIC Initial,
//! STUN/TURN, RTP) and the activity counters, through the analysis engine with a `Namer` over
//! the bundled catalog.
//!
//! Input: a sequence of records `[len_hi, len_lo, dt, frame bytes (len)...]`; `dt` adds
//! `dt * 10 ms` to the clock, with `dt == 255` jumping 10 minutes ahead so flow timeouts and
//! idle expiry are exercised too. All frames are Ethernet. A truncated last record takes what
//! is left.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use onlooker::capture::memory::{MemorySource, OwnedFrame};
use onlooker::capture::{LinkType, Timestamp};
use onlooker::analysis::{Depth, Engine, PipelineConfig};
use onlooker::naming::Namer;
use onlooker::naming::catalog::Catalog;

/// Bounds the work per input (libFuzzer's -max_len bounds the bytes anyway).
const MAX_FRAMES: usize = 256;

fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| match Catalog::bundled() {
        Ok(c) => c,
        Err(e) => panic!("bundled catalog does not load: {e}"),
    })
}

fuzz_target!(|data: &[u8]| {
    let mut frames = Vec::new();
    let mut rest = data;
    let mut ts = Timestamp::from_secs(1_700_000_000).as_nanos();
    while rest.len() >= 3 && frames.len() < MAX_FRAMES {
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        let dt = rest[2];
        rest = &rest[3..];
        let take = len.min(rest.len());
        let (frame, tail) = rest.split_at(take);
        rest = tail;
        ts += if dt == 255 {
            600 * 1_000_000_000
        } else {
            i64::from(dt) * 10_000_000
        };
        frames.push(OwnedFrame::new(
            Timestamp::from_nanos(ts),
            LinkType::ETHERNET,
            frame.to_vec(),
        ));
    }
    let n = frames.len() as u64;
    let mut source = MemorySource::new(frames);
    let namer = Namer::new(catalog().clone());
    let mut engine = Engine::new(PipelineConfig::default(), namer, Depth::Activity);
    let mut ended = 0u64;
    engine.run(&mut source, &mut |_f, _why| ended += 1);
    let stats = engine.stats();
    assert_eq!(stats.frames, n);
    let _ = ended;
});
