//! RFC 7983 demultiplexing (`classify`) and the RTP confirmation tracker.
//!
//! Input: records `[len, payload (len)...]` fed to one `RtpTracker` in order.
#![no_main]

use libfuzzer_sys::fuzz_target;
use onlooker::dissect::rtp::{self, RtpTracker};

fuzz_target!(|data: &[u8]| {
    let _ = rtp::classify(data);
    let mut t = RtpTracker::new();
    let mut rest = data;
    while let Some((&len, tail)) = rest.split_first() {
        let take = usize::from(len).min(tail.len());
        let (p, tail) = tail.split_at(take);
        rest = tail;
        let k = t.push(p);
        assert_eq!(k, rtp::classify(p));
        let _ = t.state();
    }
});
