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
    /// INVITEs addressed to a telephone number (see [`phone_number_uri`]): calls that leave
    /// for the telephone network through the provider's gateway. The number itself is never
    /// kept.
    pub phone_invites: u32,
    pub first_invite: Option<Timestamp>,
    pub last: Option<Timestamp>,
}

/// Digits a Request-URI's user part needs to be taken for a telephone number: the shortest
/// international numbers in E.164 have 7 digits with their country code (Niue, +683 and four
/// digits), while PBX extensions, which reach a device on the same exchange, have 2 to 6.
const PHONE_MIN_DIGITS: usize = 7;

/// Whether an INVITE's Request-URI (the start line's second field) names a telephone number:
/// a `tel:` URI (RFC 3966), a `sip:`/`sips:` URI with `user=phone` (RFC 3261 §19.1.6), or one
/// whose user part is a number of at least [`PHONE_MIN_DIGITS`] digits with an optional `+`
/// and RFC 3966's visual separators. Only this answer leaves the function.
fn phone_number_uri(uri: &[u8]) -> bool {
    if uri.len() >= 4 && uri[..4].eq_ignore_ascii_case(b"tel:") {
        return true;
    }
    let rest = if uri.len() >= 5 && uri[..5].eq_ignore_ascii_case(b"sips:") {
        &uri[5..]
    } else if uri.len() >= 4 && uri[..4].eq_ignore_ascii_case(b"sip:") {
        &uri[4..]
    } else {
        return false;
    };
    let Some(at) = rest.iter().position(|&b| b == b'@') else {
        return false;
    };
    let params = &rest[at..];
    if params
        .windows(11)
        .any(|w| w.eq_ignore_ascii_case(b";user=phone"))
    {
        return true;
    }
    let user = &rest[..at];
    let user = user.strip_prefix(b"+").unwrap_or(user);
    let digits = user.iter().filter(|b| b.is_ascii_digit()).count();
    digits >= PHONE_MIN_DIGITS
        && user
            .iter()
            .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'.' | b'(' | b')'))
}

impl SipDialogs {
    /// Count what one message (a segment or datagram payload) says.
    pub fn observe(&mut self, p: &[u8], ts: Timestamp) {
        let line = p.split(|&b| b == b'\r' || b == b'\n').next().unwrap_or(&[]);
        let is_request = |m: &[u8]| line.starts_with(m) && line.ends_with(b"SIP/2.0");
        if is_request(b"INVITE ") {
            self.invites += 1;
            if line
                .split(|&b| b == b' ')
                .nth(1)
                .is_some_and(phone_number_uri)
            {
                self.phone_invites += 1;
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn invite(uri: &str) -> SipDialogs {
        let mut d = SipDialogs::default();
        let msg = format!("INVITE {uri} SIP/2.0\r\nCSeq: 1 INVITE\r\n\r\n");
        d.observe(msg.as_bytes(), Timestamp(1));
        d
    }

    #[test]
    fn invites_to_telephone_numbers_are_counted_apart() {
        for uri in [
            "sip:97239287044@voip.example.net",
            "sip:+1-212-555-0100@example.com",
            "sips:0097239287044@sip.example.dk",
            "tel:+442079460000",
            "sip:alice@example.com;user=phone",
        ] {
            let d = invite(uri);
            assert_eq!((d.invites, d.phone_invites), (1, 1), "{uri}");
        }
        for uri in [
            "sip:alice@example.com",
            "sip:4711@pbx.example.com",
            "sip:816666@192.168.1.2",
            "sip:bob12345678x@example.com",
        ] {
            let d = invite(uri);
            assert_eq!((d.invites, d.phone_invites), (1, 0), "{uri}");
        }
    }
}
