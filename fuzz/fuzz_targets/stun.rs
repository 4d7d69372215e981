//! `parse_stun`, `parse_channel_data` and `next_tcp_item` (both framings) over arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use onlooker::dissect::stun::{self, TcpFraming};

fuzz_target!(|data: &[u8]| {
    let _ = stun::looks_like_stun(data);
    if let Some(info) = stun::parse_stun(data) {
        let _ = info.vendor_attrs().count();
        let _ = format!("{info:?}");
    }
    let _ = stun::parse_channel_data(data);
    for framing in [TcpFraming::Plain, TcpFraming::Rfc4571] {
        let mut rest = data;
        // Every item consumes at least 4 bytes, so this ends; bound it anyway.
        for _ in 0..1024 {
            let Some((_item, used)) = stun::next_tcp_item(rest, framing) else {
                break;
            };
            assert!(
                used > 0 && used <= rest.len(),
                "used {used} of {}",
                rest.len()
            );
            rest = &rest[used..];
        }
    }
});
