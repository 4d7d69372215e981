//! `QuicInitialTracker::push_client_datagram` on a sequence of datagrams, plus the gQUIC helpers
//! and the frame walker.
//!
//! Input: records `[len_hi, len_lo, datagram (len)...]`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use onlooker::dissect::quic::{self, QuicInitialTracker};

fuzz_target!(|data: &[u8]| {
    let _ = quic::read_varint(data);
    let _ = quic::gquic_version(data);
    let _ = quic::gquic_chlo_sni(data);
    let _ = quic::walk_initial_frames(data, |_off, _bytes| {});

    let mut t = QuicInitialTracker::new();
    let mut rest = data;
    let mut was_final = false;
    while rest.len() >= 2 {
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        rest = &rest[2..];
        let take = len.min(rest.len());
        let (dg, tail) = rest.split_at(take);
        rest = tail;
        let p = t.push_client_datagram(dg);
        if was_final {
            assert!(p.is_final(), "progress left a final state: {p:?}");
        }
        was_final = p.is_final();
    }
    let _ = t.info().map(|i| i.version_kind());
    let _ = t.last_version();
    let _ = t.take_info();
});
