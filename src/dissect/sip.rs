//! SIP call signalling (RFC 3261) in the clear: whether calls were offered, answered, refused
//! or cancelled, from the start lines and the CSeq header alone.
//!
//! It exists because an unanswered SIP call is an event of its own (a call attempt) that no
//! media flow shows. It must never keep a header value or a body: a flow's SIP messages leave
//! only the counters below. Written here rather than with a SIP crate because two fixed-form
//! lines of the first bytes are all it reads, on a bounded, allocation-free path.

use crate::capture::Timestamp;

/// SIP (RFC 3261) on its registered port: the start line of each message is plain text.
pub const SIP_PORT: u16 = 5060;

/// What the start lines and CSeq headers of a flow's SIP messages say about its calls: no
/// other field, and nothing is kept but these counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SipDialogs {
    pub invites: u32,
    pub cancels: u32,
    pub byes: u32,
    /// Final responses (2xx) to an INVITE: a call was answered.
    pub answered: u32,
    /// Other final responses to an INVITE (3xx-6xx except the 401/407 challenges that a
    /// re-sent INVITE answers).
    pub refused: u32,
    pub first_invite: Option<Timestamp>,
    pub last: Option<Timestamp>,
}

impl SipDialogs {
    /// Count what one message (a segment or datagram payload) says.
    pub fn observe(&mut self, p: &[u8], ts: Timestamp) {
        let line = p.split(|&b| b == b'\r' || b == b'\n').next().unwrap_or(&[]);
        let is_request = |m: &[u8]| line.starts_with(m) && line.ends_with(b"SIP/2.0");
        if is_request(b"INVITE ") {
            self.invites += 1;
            self.first_invite.get_or_insert(ts);
        } else if is_request(b"CANCEL ") {
            self.cancels += 1;
        } else if is_request(b"BYE ") {
            self.byes += 1;
        } else if let Some(code) = line
            .strip_prefix(b"SIP/2.0 ")
            .and_then(|r| r.get(..3))
            .and_then(|c| std::str::from_utf8(c).ok())
            .and_then(|c| c.parse::<u16>().ok())
        {
            if !cseq_is_invite(p) {
                return;
            }
            match code {
                200..=299 => self.answered += 1,
                401 | 407 => {}
                300..=699 => self.refused += 1,
                _ => {}
            }
        } else {
            return;
        }
        if self.first_invite.is_some() {
            self.last = Some(ts);
        }
    }
}

/// Whether a SIP message's CSeq header (RFC 3261 §20.16, compact form none) names INVITE.
fn cseq_is_invite(p: &[u8]) -> bool {
    p.split(|&b| b == b'\n').any(|l| {
        let l = l.strip_suffix(b"\r").unwrap_or(l);
        l.len() > 5 && l[..5].eq_ignore_ascii_case(b"cseq:") && l.ends_with(b"INVITE")
    })
}
