//! `parse_dns` on one message, and the RFC 1035 TCP framing iterator on the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use onlooker::dissect::dns;

fuzz_target!(|data: &[u8]| {
    let _ = dns::looks_like_dns(data);
    if let Ok(a) = dns::parse_dns(data) {
        let _ = a.canonical_name();
        for addr in a.addrs.iter() {
            let _ = a.names_for(addr.addr);
        }
    }
    let mut frames = dns::TcpDnsFrames::new(data);
    for msg in frames.by_ref() {
        let _ = dns::parse_dns(msg);
    }
    assert!(frames.consumed() <= data.len());
});
