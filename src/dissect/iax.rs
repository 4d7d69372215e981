//! IAX2 (RFC 5456), the Inter-Asterisk eXchange protocol: call set-up and voice between a
//! phone or PBX and an Asterisk server, on one UDP port for both.
//!
//! It exists because an IAX2 call carries no RTP and no STUN, so the media rules do not see
//! it, while its full frames say in the clear that a call was offered, answered or hung up.
//! It reads the 12-byte full-frame header (frame type and subclass, RFC 5456 §8.1.1) and
//! counts mini frames (§8.1.2), and must never keep a frame's body: information elements
//! (caller and called numbers, §8.6) stay unread.

use crate::capture::Timestamp;

/// IAX2's registered UDP port (RFC 5456 §1; IANA "iax").
pub const IAX_PORT: u16 = 4569;

/// A full frame's header length (RFC 5456 §8.1.1).
const FULL_HEADER: usize = 12;
/// A mini frame's header length (RFC 5456 §8.1.2).
const MINI_HEADER: usize = 4;

/// Frame types (RFC 5456 §8.2).
const TYPE_VOICE: u8 = 0x02;
const TYPE_CONTROL: u8 = 0x04;
const TYPE_IAX: u8 = 0x06;

/// Control frame subclasses (RFC 5456 §8.3).
const CONTROL_HANGUP: u8 = 0x01;
const CONTROL_ANSWER: u8 = 0x04;

/// IAX control frame subclasses (RFC 5456 §8.4).
const IAX_NEW: u8 = 0x01;
const IAX_HANGUP: u8 = 0x05;
const IAX_REJECT: u8 = 0x06;
const IAX_ACCEPT: u8 = 0x07;
/// TXREQ to TXREJ (0x16-0x1b): a transfer that may move the media straight between the two
/// endpoints (§6.3), away from the server.
const IAX_TRANSFER: std::ops::RangeInclusive<u8> = 0x16..=0x1b;

/// What a flow's IAX2 frames say about its calls: counters only.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IaxCalls {
    /// NEW frames: a call offered.
    pub news: u16,
    /// ACCEPT frames and ANSWER control frames: a call taken and answered.
    pub accepts: u16,
    pub answers: u16,
    /// HANGUP (control or IAX) and REJECT frames.
    pub hangups: u16,
    /// Transfer frames (TXREQ and its answers): the media may have left the server.
    pub transfers: u16,
    /// Voice carried in full frames and in mini frames, each way (`[from client, from
    /// server]`), counted only after a full frame opened the call.
    pub voice: [u32; 2],
    pub first: Option<Timestamp>,
    pub last: Option<Timestamp>,
}

impl IaxCalls {
    /// Count one datagram from the flow's client (`from_client`) or server side. A datagram
    /// that is no IAX2 frame changes nothing.
    pub fn observe(&mut self, p: &[u8], from_client: bool, ts: Timestamp) {
        let side = usize::from(!from_client);
        let Some(&b0) = p.first() else {
            return;
        };
        if b0 & 0x80 == 0 {
            // A mini frame (F bit clear): voice, but only within a call a full frame opened,
            // and never a meta frame (§8.1.3, its first 16 bits are zero).
            if self.first.is_some() && p.len() > MINI_HEADER && (b0 != 0 || p.get(1) != Some(&0)) {
                self.voice[side] = self.voice[side].saturating_add(1);
                self.last = Some(ts);
            }
            return;
        }
        let Some(h) = p.get(..FULL_HEADER) else {
            return;
        };
        let (kind, sub) = (h[10], h[11]);
        let count = |c: &mut u16| *c = c.saturating_add(1);
        match (kind, sub) {
            (TYPE_IAX, IAX_NEW) => count(&mut self.news),
            (TYPE_IAX, IAX_ACCEPT) => count(&mut self.accepts),
            (TYPE_IAX, IAX_HANGUP | IAX_REJECT) | (TYPE_CONTROL, CONTROL_HANGUP) => {
                count(&mut self.hangups);
            }
            (TYPE_IAX, s) if IAX_TRANSFER.contains(&s) => count(&mut self.transfers),
            (TYPE_CONTROL, CONTROL_ANSWER) => count(&mut self.answers),
            (TYPE_VOICE, _) if self.first.is_some() => {
                self.voice[side] = self.voice[side].saturating_add(1);
            }
            (TYPE_IAX | TYPE_CONTROL | TYPE_VOICE, _) => {}
            _ => return,
        }
        let opens = matches!(
            (kind, sub),
            (TYPE_IAX, IAX_NEW | IAX_ACCEPT) | (TYPE_CONTROL, CONTROL_ANSWER)
        );
        if opens || self.first.is_some() {
            self.first.get_or_insert(ts);
            self.last = Some(ts);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full(kind: u8, sub: u8) -> Vec<u8> {
        let mut f = vec![0x80, 0x04, 0x00, 0x17, 0, 0, 0, 1, 0, 0, kind, sub];
        f.extend_from_slice(&[0; 6]);
        f
    }

    #[test]
    fn a_call_offered_answered_and_spoken_is_counted() {
        let mut c = IaxCalls::default();
        // Voice before any NEW belongs to no call seen.
        c.observe(&[0, 4, 0, 0x38, 0xd5, 0xd5], true, Timestamp(0));
        assert_eq!(c.voice, [0, 0]);
        c.observe(&full(TYPE_IAX, IAX_NEW), true, Timestamp(1));
        c.observe(&full(TYPE_IAX, IAX_ACCEPT), false, Timestamp(2));
        c.observe(&full(TYPE_CONTROL, CONTROL_ANSWER), false, Timestamp(3));
        c.observe(&full(TYPE_VOICE, 2), false, Timestamp(4));
        c.observe(&[0, 4, 0, 0x38, 0xd5, 0xd5], true, Timestamp(5));
        // A meta trunk frame and a truncated full frame are not voice.
        c.observe(&[0, 0, 0, 1, 9, 9], true, Timestamp(6));
        c.observe(&[0x80, 4, 0], true, Timestamp(7));
        assert_eq!((c.news, c.accepts, c.answers), (1, 1, 1));
        assert_eq!(c.voice, [1, 1]);
        assert_eq!((c.first, c.last), (Some(Timestamp(1)), Some(Timestamp(5))));
        c.observe(&full(TYPE_IAX, 0x16), true, Timestamp(8));
        c.observe(&full(TYPE_IAX, IAX_HANGUP), true, Timestamp(9));
        assert_eq!((c.transfers, c.hangups), (1, 1));
    }
}
