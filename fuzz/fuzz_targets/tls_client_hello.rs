//! `TlsClientHelloReassembler::push` with arbitrary TCP segments, plus the one-shot parsers.
//!
//! Input: records `[seq_delta (2 bytes BE), len (1 byte), payload (len)...]`. The first four
//! bytes are the client ISN (`set_client_isn`) when the first byte is odd; sequence numbers move
//! by a signed delta so overlaps, retransmissions, holes and wrap-around all happen.
#![no_main]

use libfuzzer_sys::fuzz_target;
use onlooker::dissect::tls::{self, TlsClientHelloReassembler};

fuzz_target!(|data: &[u8]| {
    // One-shot parsers on the whole input.
    let _ = tls::parse_client_hello(data);
    let _ = tls::client_hello_from_bytes(data);

    if data.len() < 5 {
        return;
    }
    let mut r = TlsClientHelloReassembler::new();
    let isn = u32::from_be_bytes([data[1], data[2], data[3], data[4]]);
    if data[0] & 1 == 1 {
        r.set_client_isn(isn);
    }
    let mut seq = isn.wrapping_add(1);
    let mut rest = &data[5..];
    let mut was_final = false;
    while rest.len() >= 3 {
        let delta = i16::from_be_bytes([rest[0], rest[1]]);
        let len = usize::from(rest[2]) * 4;
        rest = &rest[3..];
        let take = len.min(rest.len());
        let (seg, tail) = rest.split_at(take);
        rest = tail;
        seq = seq.wrapping_add(delta as i32 as u32);
        let p = r.push(seq, seg);
        // Documented contract: once final, a push returns the same final value.
        if was_final {
            assert!(p.is_final(), "progress left a final state: {p:?}");
        }
        was_final = p.is_final();
        assert_eq!(p, r.progress());
        seq = seq.wrapping_add(seg.len() as u32);
    }
    let _ = r.info();
    let _ = r.take_info();
});
