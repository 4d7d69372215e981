//! H.323 call signalling (H.225.0 over TPKT, RFC 1006) in the clear: whether calls were set
//! up, alerted, connected or released, from the Q.931 message type alone.
//!
//! It exists because an H.323 call attempt shows no media. It must never keep any byte past
//! the message type. No maintained Rust crate parses H.225.0; only four fixed-offset bytes are
//! read, on a bounded, allocation-free path.

use crate::capture::Timestamp;

/// H.323 call signalling (H.225.0) on its registered TCP port.
pub const H225_PORT: u16 = 1720;

/// Q.931 message types (ITU-T Q.931 table 4-2) that H.225.0 call signalling uses.
mod q931 {
    /// The protocol discriminator of Q.931 call control messages.
    pub const DISCRIMINATOR: u8 = 0x08;
    pub const ALERTING: u8 = 0x01;
    pub const SETUP: u8 = 0x05;
    pub const CONNECT: u8 = 0x07;
    pub const RELEASE_COMPLETE: u8 = 0x5a;
}

/// What the Q.931 message types of a flow's H.225.0 call signalling say about its calls
/// (H.323: a TPKT header, RFC 1006, then a Q.931 message whose fourth-or-later byte is its
/// type). Only the type of a message that starts a segment is read; nothing else is kept.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct H225Calls {
    pub setups: u32,
    pub alerting: u32,
    pub connects: u32,
    pub releases: u32,
    pub first_setup: Option<Timestamp>,
    pub last: Option<Timestamp>,
}

impl H225Calls {
    /// Count what one segment says.
    pub fn observe(&mut self, p: &[u8], ts: Timestamp) {
        // TPKT: version 3, reserved, 16-bit length including the 4-byte header.
        let Some([3, 0, hi, lo, q @ ..]) = p.get(..p.len().min(64)) else {
            return;
        };
        if usize::from(u16::from_be_bytes([*hi, *lo])) < 8 {
            return;
        }
        // Q.931: discriminator, call reference length (low 4 bits) and value, message type.
        let Some((&q931::DISCRIMINATOR, rest)) = q.split_first() else {
            return;
        };
        let Some((&len, rest)) = rest.split_first() else {
            return;
        };
        let Some(&kind) = rest.get(usize::from(len & 0x0f)) else {
            return;
        };
        match kind {
            q931::SETUP => {
                self.setups += 1;
                self.first_setup.get_or_insert(ts);
            }
            q931::ALERTING => self.alerting += 1,
            q931::CONNECT => self.connects += 1,
            q931::RELEASE_COMPLETE => self.releases += 1,
            _ => {}
        }
        if self.first_setup.is_some() {
            self.last = Some(ts);
        }
    }
}
