//! Call signalling read in the clear: SIP dialogs (RFC 3261) and H.323 calls (H.225.0) that
//! were set up but carried no call the media rules found.

use super::calls::CALL_LINK_SECS;
use super::{FlowSummary, on_flow};
use crate::model::{Direction, Event, EventKind};

/// SIP dialogs that never connected: INVITEs with no 2xx answer on the flow are a call
/// attempt (missed, declined, cancelled or refused), from the first INVITE to the last SIP
/// message after it. A dialog that was answered is left to the media rules.
pub(super) fn sip_attempts(flows: &[FlowSummary], out: &mut Vec<Event>) {
    for f in flows {
        let (r, sip) = (&f.record, &f.media.sip);
        let (Some(first), Some(last)) = (sip.first_invite, sip.last) else {
            continue;
        };
        if sip.answered > 0 {
            continue;
        }
        let service = r.service.as_deref().unwrap_or("SIP");
        let (start, end) = (first.as_secs_f64(), last.as_secs_f64());
        out.push(Event {
            confidence: 0.7,
            evidence: format!(
                "{} {} {}: {} SIP INVITE(s), {} CANCEL, {} BYE, {} final refusal(s) and no 2xx answer to an INVITE over {:.1} s (SIP start lines and CSeq, RFC 3261)",
                r.proto,
                r.client,
                r.server,
                sip.invites,
                sip.cancels,
                sip.byes,
                sip.refused,
                end - start
            ),
            ..on_flow(r, EventKind::CallAttempt, service, (start, end), Direction::Both)
        });
    }
}

/// H.323 calls set up with no media call at the same time: a SETUP on the flow, and no voice
/// or video call found by the media rules overlapping the signalling, is a call attempt. A
/// CONNECT does not make it a call (`ndpi/h323.pcap`: SETUP, CALL PROCEEDING, ALERTING and
/// CONNECT, then H.245, but no RTP in the capture): what the observer sees is a call set up
/// and nothing spoken, and the evidence says whether it was answered.
pub(super) fn h225_attempts(flows: &[FlowSummary], out: &mut Vec<Event>) {
    for f in flows {
        let (r, h) = (&f.record, &f.media.h225);
        let (Some(first), Some(last)) = (h.first_setup, h.last) else {
            continue;
        };
        let (start, end) = (first.as_secs_f64(), last.as_secs_f64());
        let media_call = out.iter().any(|e| {
            matches!(e.kind, EventKind::VoiceCall | EventKind::VideoCall)
                && e.start_ts <= end + CALL_LINK_SECS
                && start <= e.end_ts + CALL_LINK_SECS
        });
        if media_call {
            continue;
        }
        let answered = if h.connects > 0 {
            "answered (CONNECT) but no media call seen"
        } else {
            "never answered (no CONNECT)"
        };
        let service = r.service.as_deref().unwrap_or("H.323");
        out.push(Event {
            confidence: if h.connects > 0 { 0.6 } else { 0.7 },
            evidence: format!(
                "{} {} {}: {} H.225.0 SETUP, {} ALERTING, {} CONNECT, {} RELEASE COMPLETE over {:.1} s, {answered} (TPKT and Q.931 message types, ITU-T H.225.0)",
                r.proto,
                r.client,
                r.server,
                h.setups,
                h.alerting,
                h.connects,
                h.releases,
                end - start
            ),
            ..on_flow(r, EventKind::CallAttempt, service, (start, end), Direction::Both)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{Trace, secs};
    use super::*;
    use crate::flow::Dir;

    const INVITE: &str = "INVITE sip:bob@example.com SIP/2.0\r\nCSeq: 1 INVITE\r\n\r\n";
    const RINGING: &str = "SIP/2.0 180 Ringing\r\nCSeq: 1 INVITE\r\n\r\n";
    const CANCEL: &str = "CANCEL sip:bob@example.com SIP/2.0\r\nCSeq: 1 CANCEL\r\n\r\n";
    const OK: &str = "SIP/2.0 200 OK\r\nCSeq: 1 INVITE\r\n\r\n";

    /// SIP messages one a second from the client (requests) and the server (responses).
    fn sip(messages: &[&str]) -> Vec<FlowSummary> {
        let mut t = Trace::udp(5060, 5060);
        for (i, m) in messages.iter().enumerate() {
            let dir = if m.starts_with("SIP/2.0") {
                Dir::Down
            } else {
                Dir::Up
            };
            t = t.send(i as f64, dir, m.as_bytes());
        }
        vec![t.flow("192.168.1.10", "198.51.100.20")]
    }

    /// H.225.0 messages (TPKT, then Q.931 with a 2-byte call reference) of the given types, one
    /// a second, SETUP from the client and the others from the server.
    fn h225(types: &[u8]) -> Vec<FlowSummary> {
        let mut t = Trace::tcp(50_000, 1720);
        for (i, &ty) in types.iter().enumerate() {
            let dir = if ty == 0x05 { Dir::Up } else { Dir::Down };
            t = t.send(i as f64, dir, &[3, 0, 0, 12, 0x08, 2, 0, 1, ty, 0, 0, 0]);
        }
        vec![t.flow("192.168.1.10", "198.51.100.21")]
    }

    #[test]
    fn an_invite_with_no_2xx_is_an_attempt() {
        let mut out = Vec::new();
        sip_attempts(&sip(&[INVITE, RINGING, CANCEL]), &mut out);
        assert_eq!(out.len(), 1, "{out:#?}");
        let e = &out[0];
        assert_eq!(e.kind, EventKind::CallAttempt);
        assert_eq!(e.service.as_deref(), Some("SIP"));
        assert_eq!((e.start_ts, e.end_ts), (secs(0.0), secs(2.0)));
        assert!(
            e.evidence
                .contains("1 SIP INVITE(s), 1 CANCEL, 0 BYE, 0 final refusal(s)"),
            "{}",
            e.evidence
        );
    }

    #[test]
    fn an_answered_invite_is_left_to_the_media_rules() {
        let mut out = Vec::new();
        sip_attempts(&sip(&[INVITE, RINGING, OK]), &mut out);
        assert!(out.is_empty(), "{out:#?}");
        // Responses with no INVITE before them are no dialog.
        sip_attempts(&sip(&[RINGING]), &mut out);
        assert!(out.is_empty(), "{out:#?}");
    }

    #[test]
    fn an_h225_setup_without_a_media_call_is_an_attempt() {
        let mut out = Vec::new();
        h225_attempts(&h225(&[0x05, 0x5a]), &mut out);
        assert_eq!(out.len(), 1, "{out:#?}");
        assert_eq!(out[0].service.as_deref(), Some("H.323"));
        assert_eq!(out[0].confidence, 0.7);
        assert!(
            out[0].evidence.contains(
                "1 H.225.0 SETUP, 0 ALERTING, 0 CONNECT, 1 RELEASE COMPLETE over 1.0 s, never answered"
            ),
            "{}",
            out[0].evidence
        );
        // Answered: still an attempt when no media call is seen, with less confidence.
        let mut out = Vec::new();
        h225_attempts(&h225(&[0x05, 0x01, 0x07]), &mut out);
        assert_eq!(out[0].confidence, 0.6);
        assert!(
            out[0]
                .evidence
                .contains("answered (CONNECT) but no media call seen")
        );
    }

    #[test]
    fn a_media_call_at_the_same_time_hides_the_h225_attempt() {
        let flows = h225(&[0x05, 0x07]);
        let call = super::super::on_flow(
            &flows[0].record,
            EventKind::VoiceCall,
            "H.323",
            (secs(20.0), secs(80.0)),
            Direction::Both,
        );
        let mut out = vec![call];
        h225_attempts(&flows, &mut out);
        assert_eq!(out.len(), 1, "{out:#?}");
    }
}
