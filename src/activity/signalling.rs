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
