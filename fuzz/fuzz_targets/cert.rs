//! `ServerCertReader::push`: the server's first TLS flight (ServerHello, Certificate) over
//! arbitrary TCP segments, with x509 parsing of whatever certificate it finds.
//!
//! Input: 4 bytes initial sequence number, then records `[seq_delta (2 bytes BE), len, payload
//! (len * 4)...]`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use onlooker::dissect::cert::ServerCertReader;

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let mut r = ServerCertReader::default();
    let mut seq = u32::from_be_bytes([data[0], data[1], data[2], data[3]]);
    let mut rest = &data[4..];
    // Also the whole input as one segment, the common case.
    let mut whole = ServerCertReader::default();
    let _ = whole.push(seq, rest);
    let _ = whole.take_names();
    while rest.len() >= 3 {
        let delta = i16::from_be_bytes([rest[0], rest[1]]);
        let len = usize::from(rest[2]) * 4;
        rest = &rest[3..];
        let take = len.min(rest.len());
        let (seg, tail) = rest.split_at(take);
        rest = tail;
        seq = seq.wrapping_add(delta as i32 as u32);
        let _ = r.push(seq, seg);
        seq = seq.wrapping_add(seg.len() as u32);
    }
    let _ = r.names();
    let _ = r.take_names();
});
