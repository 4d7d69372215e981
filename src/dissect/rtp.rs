//! RTP, RTCP, SRTP, DTLS and STUN demultiplexing of one UDP payload, and a
//! tiny per-flow RTP confirmation tracker.
//!
//! Why it exists: a call's media flows carry no name, but their shape does:
//! RTP headers (RFC 3550 §5.1) give payload type, SSRC and sequence numbers
//! in clear even when the media is SRTP-encrypted (RFC 3711 §3.1), and the
//! DTLS-SRTP handshake and ICE checks share the same 5-tuple. RFC 7983 §7
//! tells them apart by the first byte: 0–3 STUN, 16–19 ZRTP, 20–63 DTLS,
//! 64–79 TURN ChannelData, 128–191 RTP/RTCP.
//!
//! What it must never do: allocate, copy payload, or look past the fixed
//! headers (the media itself is never read).
//!
//! Recognition from one packet is weak (any datagram starting with 0x80
//! "looks like" RTP): [`RtpTracker`] confirms RTP only after
//! [`RTP_CONFIRM_PACKETS`] packets of one SSRC with increasing sequence
//! numbers.

use super::stun;

/// RTP version (RFC 3550 §5.1).
const RTP_VERSION: u8 = 2;
/// Fixed RTP header (RFC 3550 §5.1).
const RTP_HEADER_LEN: usize = 12;
/// RTCP packet types that collide with RTP payload types 64–95 (RFC 5761
/// §4: the second byte of RTCP is 192–223 in practice).
const RTCP_PT_RANGE: std::ops::RangeInclusive<u8> = 192..=223;
/// DTLS record header: type, version, epoch, sequence number, length
/// (RFC 6347 §4.1).
const DTLS_HEADER_LEN: usize = 13;

/// Consecutive packets of one SSRC with increasing sequence numbers needed
/// to confirm RTP. 4 packets are 80 ms of 20 ms audio frames; WhatsApp
/// audio at 4–8 pps confirms within a second. Random data passes the
/// per-packet checks with probability about 2^-2 each and the sequence check
/// with about 2^-12, so 4 in a row make a false positive negligible.
pub const RTP_CONFIRM_PACKETS: u8 = 4;
/// Largest forward sequence jump still counted as "increasing" (packet
/// loss); RFC 3550 Appendix A.1 uses MAX_DROPOUT = 3000 for a stream already
/// validated, a candidate stream deserves a tighter bound.
pub const RTP_MAX_SEQ_GAP: u16 = 100;
/// SSRC candidates tracked per direction (BUNDLE puts audio, video and
/// retransmission streams on one 5-tuple, RFC 8843).
pub const RTP_SLOTS: usize = 4;

/// What one UDP payload looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UdpMediaKind {
    /// RTP or SRTP (header fields are in clear in both).
    Rtp {
        /// Payload type (7 bits).
        pt: u8,
        /// Synchronisation source.
        ssrc: u32,
        /// Sequence number.
        seq: u16,
    },
    /// RTCP or SRTCP (first packet type of a compound packet, 192–223).
    Rtcp {
        /// Packet type (200 SR, 201 RR, 202 SDES, 203 BYE, 204 APP, ...).
        pt: u8,
    },
    /// A DTLS record (DTLS-SRTP handshake or data).
    Dtls,
    /// A STUN message (ICE connectivity check, TURN).
    Stun,
    /// A TURN ChannelData message (RFC 8656 §12.4).
    TurnChannel {
        /// Channel number.
        channel: u16,
    },
    /// None of the above.
    Other,
}

/// Classifies one UDP payload (RFC 7983 §7 first-byte ranges, then the
/// protocol's header checks). Allocation-free, constant time.
pub fn classify(p: &[u8]) -> UdpMediaKind {
    let Some(&b0) = p.first() else {
        return UdpMediaKind::Other;
    };
    match b0 {
        0..=3 if stun::looks_like_stun(p) => UdpMediaKind::Stun,
        20..=63 if looks_like_dtls(p) => UdpMediaKind::Dtls,
        64..=79 => match stun::parse_channel_data(p) {
            Some(c) => UdpMediaKind::TurnChannel { channel: c.channel },
            None => UdpMediaKind::Other,
        },
        128..=191 => rtp_or_rtcp(p),
        _ => UdpMediaKind::Other,
    }
}

/// DTLS 1.0/1.2 record (content type 20–25, version 0xFEFF/0xFEFD, length
/// fitting) or DTLS 1.3 unified header (RFC 9147 §4: first bits 001).
fn looks_like_dtls(p: &[u8]) -> bool {
    let Some(&b0) = p.first() else {
        return false;
    };
    if (20..=25).contains(&b0) {
        let Some(h) = p.get(..DTLS_HEADER_LEN) else {
            return false;
        };
        let version = u16::from_be_bytes([h[1], h[2]]);
        let len = usize::from(u16::from_be_bytes([h[11], h[12]]));
        matches!(version, 0xfeff | 0xfefd | 0xfefc) && DTLS_HEADER_LEN + len <= p.len()
    } else {
        // Unified header: 001CSLEE, then connection ID, 8/16-bit sequence
        // number and optional length; at least header + 16-byte tag.
        b0 & 0xe0 == 0x20 && p.len() >= 1 + 1 + 16
    }
}

fn rtp_or_rtcp(p: &[u8]) -> UdpMediaKind {
    let Some(h) = p.get(..RTP_HEADER_LEN) else {
        // An RTCP packet can be as short as 8 bytes (empty RR).
        return rtcp(p);
    };
    if h[0] >> 6 != RTP_VERSION {
        return UdpMediaKind::Other;
    }
    if RTCP_PT_RANGE.contains(&h[1]) {
        return rtcp(p);
    }
    let cc = usize::from(h[0] & 0x0f);
    let mut hdr = RTP_HEADER_LEN + 4 * cc;
    if h[0] & 0x10 != 0 {
        // Header extension: profile (2), length in 32-bit words (2).
        let Some(ext) = p.get(hdr..hdr + 4) else {
            return UdpMediaKind::Other;
        };
        hdr += 4 + 4 * usize::from(u16::from_be_bytes([ext[2], ext[3]]));
    }
    if hdr > p.len() {
        return UdpMediaKind::Other;
    }
    if h[0] & 0x20 != 0 {
        // Padding: the last byte counts the padding, header excluded. With
        // SRTP the auth tag follows, so only check it is not zero.
        match p.last() {
            Some(0) | None => return UdpMediaKind::Other,
            Some(_) => {}
        }
    }
    UdpMediaKind::Rtp {
        pt: h[1] & 0x7f,
        ssrc: u32::from_be_bytes([h[8], h[9], h[10], h[11]]),
        seq: u16::from_be_bytes([h[2], h[3]]),
    }
}

/// RTCP (RFC 3550 §6.4): version 2, packet type 192–223, first packet's
/// length (32-bit words minus one) fitting the datagram.
fn rtcp(p: &[u8]) -> UdpMediaKind {
    let Some(h) = p.get(..4) else {
        return UdpMediaKind::Other;
    };
    let len = (usize::from(u16::from_be_bytes([h[2], h[3]])) + 1) * 4;
    if h[0] >> 6 == RTP_VERSION && RTCP_PT_RANGE.contains(&h[1]) && len <= p.len() && p.len() >= 8 {
        UdpMediaKind::Rtcp { pt: h[1] }
    } else {
        UdpMediaKind::Other
    }
}

/// Per-direction RTP confirmation state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RtpState {
    /// No RTP-looking packet yet.
    Unknown,
    /// Some RTP-looking packets, not yet a confirmed stream.
    Candidate,
    /// A stream confirmed: [`RTP_CONFIRM_PACKETS`] packets of this SSRC with
    /// increasing sequence numbers.
    Confirmed {
        /// The stream's SSRC.
        ssrc: u32,
        /// Its payload type (last seen).
        pt: u8,
    },
}

#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    ssrc: u32,
    seq: u16,
    pt: u8,
    run: u8,
    used: bool,
    age: u32,
}

/// Tiny per-direction tracker (about 70 bytes, no allocation): feed every
/// payload of one direction of a UDP flow. Confirms RTP when
/// [`RTP_CONFIRM_PACKETS`] consecutive packets of one SSRC (among
/// [`RTP_SLOTS`] interleaved SSRCs) have sequence numbers increasing by 1 to
/// [`RTP_MAX_SEQ_GAP`] (modulo 2^16).
#[derive(Debug, Clone, Default)]
pub struct RtpTracker {
    slots: [Slot; RTP_SLOTS],
    clock: u32,
    confirmed: Option<(u32, u8)>,
    seen: bool,
}

impl RtpTracker {
    /// A fresh tracker.
    pub fn new() -> Self {
        Self::default()
    }

    /// Current state.
    pub fn state(&self) -> RtpState {
        match (self.confirmed, self.seen) {
            (Some((ssrc, pt)), _) => RtpState::Confirmed { ssrc, pt },
            (None, true) => RtpState::Candidate,
            (None, false) => RtpState::Unknown,
        }
    }

    /// Feeds one payload of this direction; returns its classification and
    /// updates the confirmation state.
    pub fn push(&mut self, payload: &[u8]) -> UdpMediaKind {
        let kind = classify(payload);
        if let UdpMediaKind::Rtp { pt, ssrc, seq } = kind {
            self.seen = true;
            self.clock = self.clock.wrapping_add(1);
            let clock = self.clock;
            let slot = match self.slots.iter().position(|s| s.used && s.ssrc == ssrc) {
                Some(i) => i,
                None => {
                    // Free slot, else the least recently used one.
                    let i = self
                        .slots
                        .iter()
                        .enumerate()
                        .min_by_key(|(_, s)| (s.used, s.age))
                        .map_or(0, |(i, _)| i);
                    if let Some(s) = self.slots.get_mut(i) {
                        *s = Slot {
                            ssrc,
                            seq,
                            pt,
                            run: 1,
                            used: true,
                            age: clock,
                        };
                    }
                    return kind;
                }
            };
            if let Some(s) = self.slots.get_mut(slot) {
                let step = seq.wrapping_sub(s.seq);
                if (1..=RTP_MAX_SEQ_GAP).contains(&step) {
                    s.run = s.run.saturating_add(1);
                } else if step != 0 {
                    s.run = 1; // reordering or a jump: start over
                }
                s.seq = seq;
                s.pt = pt;
                s.age = clock;
                if s.run >= RTP_CONFIRM_PACKETS && self.confirmed.is_none_or(|(c, _)| c == ssrc) {
                    self.confirmed = Some((ssrc, pt));
                }
            }
        }
        kind
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn rtp(pt: u8, seq: u16, ssrc: u32) -> Vec<u8> {
        let mut p = vec![0x80, pt];
        p.extend_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&1234u32.to_be_bytes());
        p.extend_from_slice(&ssrc.to_be_bytes());
        p.extend_from_slice(&[0xab; 40]);
        p
    }

    #[test]
    fn classify_kinds() {
        assert_eq!(
            classify(&rtp(111, 7, 0xdeadbeef)),
            UdpMediaKind::Rtp {
                pt: 111,
                ssrc: 0xdeadbeef,
                seq: 7
            }
        );
        // marker bit set: pt is the low 7 bits
        assert!(matches!(
            classify(&rtp(0x80 | 96, 1, 1)),
            UdpMediaKind::Rtp { pt: 96, .. }
        ));
        // RTCP receiver report: 0x81 201 len=7 (32 bytes)
        let mut rr = vec![0x81, 201, 0, 7];
        rr.extend_from_slice(&[0; 28]);
        assert_eq!(classify(&rr), UdpMediaKind::Rtcp { pt: 201 });
        // DTLS 1.2 ClientHello record header
        let mut d = vec![22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4];
        d.extend_from_slice(&[1, 2, 3, 4]);
        assert_eq!(classify(&d), UdpMediaKind::Dtls);
        d[2] = 0x03; // TLS version: not DTLS
        assert_eq!(classify(&d), UdpMediaKind::Other);
        // STUN binding request with cookie, empty body
        let mut s = vec![0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42];
        s.extend_from_slice(&[5; 12]);
        assert_eq!(classify(&s), UdpMediaKind::Stun);
        assert_eq!(
            classify(&[0x40, 0x00, 0x00, 0x01, 9]),
            UdpMediaKind::TurnChannel { channel: 0x4000 }
        );
        assert_eq!(classify(&[]), UdpMediaKind::Other);
        assert_eq!(classify(&[0x80, 1, 2]), UdpMediaKind::Other);
        // version 1 / bad CSRC count
        assert_eq!(classify(&[0x4f; 20]), UdpMediaKind::Other);
        let mut bad = rtp(0, 1, 1);
        bad[0] = 0x8f; // 15 CSRCs do not fit
        bad.truncate(40);
        assert_eq!(classify(&bad), UdpMediaKind::Other);
    }

    #[test]
    fn tracker_confirms_and_rejects() {
        let mut t = RtpTracker::new();
        assert_eq!(t.state(), RtpState::Unknown);
        for i in 0..3u16 {
            t.push(&rtp(111, 65534u16.wrapping_add(i), 42));
        }
        assert_eq!(t.state(), RtpState::Candidate);
        t.push(&rtp(111, 1, 42)); // wraps 65534, 65535, 0, 1
        assert_eq!(t.state(), RtpState::Confirmed { ssrc: 42, pt: 111 });

        // interleaved audio/video SSRCs still confirm
        let mut t = RtpTracker::new();
        for i in 0..4u16 {
            t.push(&rtp(111, 100 + i, 1));
            t.push(&rtp(96, 5000 + 2 * i, 2));
        }
        assert!(matches!(t.state(), RtpState::Confirmed { .. }));

        // random-looking 0x80 packets: SSRC changes every time
        let mut t = RtpTracker::new();
        for i in 0..50u32 {
            t.push(&rtp(5, (i * 7919) as u16, i.wrapping_mul(2654435761)));
        }
        assert_eq!(t.state(), RtpState::Candidate);
        // same SSRC, sequence jumping around
        let mut t = RtpTracker::new();
        for seq in [1u16, 30000, 2, 60000, 3, 9] {
            t.push(&rtp(5, seq, 7));
        }
        assert_eq!(t.state(), RtpState::Candidate);
    }
}
