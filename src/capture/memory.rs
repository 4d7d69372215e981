//! Packets held in memory: the source tests use to drive the whole pipeline without files or
//! privileges, and the way synthetic scenarios are replayed.

use super::{CaptureError, Frame, LinkType, Next, PacketSource, Timestamp};

/// One owned frame.
#[derive(Clone, Debug)]
pub struct OwnedFrame {
    pub ts: Timestamp,
    pub wire_len: u32,
    pub link: LinkType,
    pub data: Vec<u8>,
}

impl OwnedFrame {
    /// A frame captured whole.
    pub fn new(ts: Timestamp, link: LinkType, data: Vec<u8>) -> Self {
        let wire_len = u32::try_from(data.len()).unwrap_or(u32::MAX);
        Self {
            ts,
            wire_len,
            link,
            data,
        }
    }
}

/// Replays a list of frames in order.
#[derive(Debug, Default)]
pub struct MemorySource {
    frames: Vec<OwnedFrame>,
    next: usize,
}

impl MemorySource {
    pub fn new(frames: Vec<OwnedFrame>) -> Self {
        Self { frames, next: 0 }
    }
}

impl PacketSource for MemorySource {
    fn next_frame(&mut self) -> Result<Next<'_>, CaptureError> {
        let Some(f) = self.frames.get(self.next) else {
            return Ok(Next::End);
        };
        self.next += 1;
        Ok(Next::Frame(Frame {
            ts: f.ts,
            wire_len: f.wire_len,
            link: f.link,
            data: &f.data,
        }))
    }

    fn describe(&self) -> String {
        format!("{} frames in memory", self.frames.len())
    }
}
