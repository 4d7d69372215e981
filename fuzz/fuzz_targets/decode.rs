//! `onlooker::decode::decode` on one frame of any link type.
//!
//! Input: 4 bytes (little-endian u32) choose a link type from `LINK_TYPES` (index modulo the
//! list length, so every byte value maps to a type the decoder knows), the rest is the frame.
#![no_main]

use libfuzzer_sys::fuzz_target;
use onlooker::capture::{Frame, LinkType, Timestamp};

const LINK_TYPES: [LinkType; 17] = LinkType::ALL;

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let sel = u32::from_le_bytes([data[0], data[1], data[2], data[3]]);
    let link = LINK_TYPES[sel as usize % LINK_TYPES.len()];
    let frame_bytes = &data[4..];
    let frame = Frame {
        ts: Timestamp::from_secs(1_700_000_000),
        wire_len: frame_bytes.len() as u32,
        link,
        data: frame_bytes,
    };
    if let Ok(pkt) = onlooker::decode::decode(&frame) {
        // Cheap invariant: the payload is a view into the frame.
        assert!(pkt.payload.len() <= frame_bytes.len());
    }
});
