//! Call signalling read in the clear: SIP dialogs (RFC 3261) and H.323 calls (H.225.0) that
//! were set up but carried no call the media rules found, and the STUN signalling of a flow
//! ([`StunSignals`]) that tells a call being placed (ICE connectivity checks towards a peer,
//! TURN permissions for a peer) from a bare allocation or pre-warm. Only STUN message types and
//! attribute types are read, never their values; nothing is kept but counts and times.

use super::calls::CALL_LINK_SECS;
use super::plural;
use super::{FlowSummary, on_flow};
use crate::capture::Timestamp;
use crate::dissect::iax::IAX_PORT;
use crate::dissect::stun::{StunClass, StunMethod, scan_turn, split_type};
use crate::flow::Dir;
use crate::model::{Direction, Event, EventKind, PeerKind};

/// STUN header: type, length, magic cookie, transaction ID (RFC 8489 §5).
const STUN_HEADER: usize = 20;

/// The STUN signalling of one flow, per packet in O(1) and without allocation: messages each
/// way, the last one each way, ICE connectivity checks and TURN messages that name a peer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StunSignals {
    /// STUN messages (standard or vendor) from the client and from the server.
    pub up: u32,
    pub down: u32,
    /// STUN requests from the client and from the server: the device is the side that sends
    /// them to a STUN or TURN server (RFC 8489 §6.1).
    pub req_up: u32,
    pub req_down: u32,
    /// First and last STUN message each way.
    pub first_up: Option<Timestamp>,
    pub last_up: Option<Timestamp>,
    pub first_down: Option<Timestamp>,
    pub last_down: Option<Timestamp>,
    /// Binding requests carrying an ICE attribute (PRIORITY, USE-CANDIDATE, ICE-CONTROLLED,
    /// ICE-CONTROLLING): connectivity checks between two candidates of a call (RFC 8445 §7.2),
    /// or consent checks during it (RFC 7675 §5.1).
    pub ice_checks: u32,
    /// TURN CreatePermission, ChannelBind, Send or Data (RFC 8656 §9-§12): the client lets a
    /// peer's address reach its allocation or exchanges data with it, which a pre-warmed
    /// allocation never does.
    pub turn_peer: u32,
}

impl StunSignals {
    /// Account one STUN message (`p` starts with its header) sent `dir` at `ts`.
    pub fn observe(&mut self, p: &[u8], dir: Dir, ts: Timestamp) {
        match dir {
            Dir::Up => {
                self.up = self.up.saturating_add(1);
                self.first_up.get_or_insert(ts);
                self.last_up = Some(ts);
            }
            Dir::Down => {
                self.down = self.down.saturating_add(1);
                self.first_down.get_or_insert(ts);
                self.last_down = Some(ts);
            }
        }
        let Some(h) = p.get(..STUN_HEADER) else {
            return;
        };
        let (class, method) = split_type(u16::from_be_bytes([h[0], h[1]]) & 0x3fff);
        if class == StunClass::Request {
            match dir {
                Dir::Up => self.req_up = self.req_up.saturating_add(1),
                Dir::Down => self.req_down = self.req_down.saturating_add(1),
            }
        }
        match method {
            StunMethod::CreatePermission
            | StunMethod::ChannelBind
            | StunMethod::Send
            | StunMethod::Data => self.turn_peer = self.turn_peer.saturating_add(1),
            StunMethod::Binding
                if class == StunClass::Request && scan_turn(p).is_some_and(|s| s.ice) =>
            {
                self.ice_checks = self.ice_checks.saturating_add(1);
            }
            _ => {}
        }
    }

    /// Whether the flow carried call signalling beyond an allocation or a Binding to a STUN
    /// server: connectivity checks or a peer's permission.
    pub fn placed_a_call(&self) -> bool {
        self.ice_checks > 0 || self.turn_peer > 0
    }
}

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
        // A call to a telephone number: the callee is a line of the telephone network, reached
        // through the provider's gateway (RFC 3261 §19.1.6, RFC 3966), never a device on the
        // internet. Other SIP attempts carry no media, so nothing says their path.
        let phone = (sip.phone_invites > 0).then(|| {
            format!(
                "; path: through the provider: {} a telephone number (a Request-URI of digits, RFC 3261 §19.1.6, RFC 3966), so the call leaves for the telephone network through the provider's gateway and never reaches the callee's own device",
                if sip.phone_invites == 1 {
                    "the INVITE named".to_string()
                } else {
                    format!("{} INVITEs named", sip.phone_invites)
                }
            )
        });
        let mut e = Event {
            confidence: 0.7,
            evidence: format!(
                "{} {} {}: {}, {} CANCEL, {} BYE, {} and no 2xx answer to an INVITE over {:.1} s (SIP start lines and CSeq, RFC 3261){}",
                r.proto,
                r.client,
                r.server,
                plural(sip.invites, "SIP INVITE"),
                sip.cancels,
                sip.byes,
                plural(sip.refused, "final refusal"),
                end - start,
                phone.as_deref().unwrap_or("")
            ),
            ..on_flow(
                r,
                EventKind::CallAttempt,
                service,
                (start, end),
                Direction::Both,
            )
        };
        if phone.is_some() {
            e.peer_kind = Some(PeerKind::Relay);
        }
        out.push(e);
    }
}

/// IAX2 calls (RFC 5456): a call answered (ACCEPT or ANSWER) with voice frames each way is a
/// voice call, a call offered and never answered an attempt. The remote is the IAX2 server
/// the call was set up with (its registered port, 4569): IAX2 sends the voice through that
/// server unless a transfer (TXREQ, RFC 5456 §6.3) hands it to the two endpoints, so without
/// one the path is a relay (`ndpi/iax.pcap`: a provider's trunk delivering a telephone call).
pub(super) fn iax_calls(flows: &[FlowSummary], out: &mut Vec<Event>) {
    for f in flows {
        let (r, Some(x)) = (&f.record, f.media.iax.as_deref()) else {
            continue;
        };
        let (Some(first), Some(last)) = (x.first, x.last) else {
            continue;
        };
        let answered = x.accepts + x.answers > 0;
        let spoken = x.voice[0] > 0 && x.voice[1] > 0;
        if !(answered && spoken) && x.news == 0 {
            continue;
        }
        let kind = if answered && spoken {
            EventKind::VoiceCall
        } else {
            EventKind::CallAttempt
        };
        // The remote is the side on IAX2's registered port, or the non-local side.
        let (remote, device) = if r.server.port() == IAX_PORT
            || (r.client.port() != IAX_PORT && !crate::naming::geo::is_local(r.server.ip()))
        {
            (r.server, r.client)
        } else {
            (r.client, r.server)
        };
        let service = r.service.as_deref().unwrap_or("IAX2");
        let (start, end) = (first.as_secs_f64(), last.as_secs_f64());
        let mut e = on_flow(r, kind, service, (start, end), Direction::Both);
        let (up, down) = if device == r.client {
            (x.voice[0], x.voice[1])
        } else {
            (x.voice[1], x.voice[0])
        };
        e.packets_out = u64::from(up);
        e.packets_in = u64::from(down);
        e.confidence = if kind == EventKind::VoiceCall {
            0.8
        } else {
            0.7
        };
        if remote != r.server {
            e.peer_ip = Some(remote.ip());
        }
        let path = if x.transfers == 0 {
            e.peer_kind = Some(PeerKind::Relay);
            format!(
                "; path: the remote {} is the IAX2 server of the call, a relay: IAX2 carries the voice through the server the call was set up with unless a transfer hands it to the endpoints (RFC 5456 §6.3), and none was seen",
                remote.ip()
            )
        } else {
            e.peer_kind = Some(PeerKind::Unknown);
            format!(
                "; path: unknown: {} moved the voice, possibly straight between the endpoints (RFC 5456 §6.3)",
                plural(x.transfers, "transfer frame")
            )
        };
        e.evidence = format!(
            "{} {} {}: {}, {}, {}, {}; {} out and {} in over {:.1} s (IAX2 frame types, RFC 5456 §8){}",
            r.proto,
            r.client,
            r.server,
            plural(x.news, "NEW"),
            plural(x.accepts, "ACCEPT"),
            plural(x.answers, "ANSWER"),
            plural(x.hangups, "hang-up"),
            plural(up, "voice frame"),
            plural(down, "voice frame"),
            end - start,
            path
        );
        out.push(e);
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
    use super::super::fixtures::{Trace, at, secs};
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
    fn stun_signalling_tells_checks_and_permissions_from_gathering() {
        let msg = |ty: u16, attrs: &[(u16, &[u8])]| {
            let mut p = crate::scenario::stun_binding_request([2; 12], attrs);
            p[..2].copy_from_slice(&ty.to_be_bytes());
            p
        };
        let mut s = StunSignals::default();
        // Gathering: a Binding to a STUN server (no ICE attribute), an Allocate, their answers.
        s.observe(&msg(0x0001, &[(0x8022, b"app")]), Dir::Up, at(0.0));
        s.observe(&msg(0x0101, &[]), Dir::Down, at(0.1));
        s.observe(&msg(0x0003, &[]), Dir::Up, at(0.2));
        s.observe(&msg(0x0103, &[]), Dir::Down, at(0.3));
        assert!(!s.placed_a_call(), "{s:?}");
        assert_eq!((s.up, s.down, s.req_up, s.req_down), (2, 2, 2, 0));
        assert_eq!((s.first_down, s.last_down), (Some(at(0.1)), Some(at(0.3))));
        // A connectivity check: PRIORITY after another attribute (RFC 8445 §7.1.1).
        let mut c = s;
        c.observe(
            &msg(0x0001, &[(0x0006, b"ab:cd"), (0x0024, &[0, 0, 0, 1])]),
            Dir::Down,
            at(1.0),
        );
        assert_eq!((c.ice_checks, c.req_down), (1, 1));
        assert!(c.placed_a_call());
        // A TURN permission for a peer (RFC 8656 §9).
        let mut p = s;
        p.observe(&msg(0x0008, &[]), Dir::Up, at(1.0));
        assert_eq!(p.turn_peer, 1);
        assert!(p.placed_a_call());
        // A truncated attribute list stops the walk without a check.
        let mut t = s;
        let mut cut = msg(0x0001, &[(0x0006, b"abcdefgh")]);
        cut.truncate(26);
        t.observe(&cut, Dir::Up, at(2.0));
        assert!(!t.placed_a_call());
    }

    #[test]
    fn an_attempt_to_a_telephone_number_goes_through_the_provider() {
        const TO_NUMBER: &str =
            "INVITE sip:0097239287044@sip.example.dk SIP/2.0\r\nCSeq: 1 INVITE\r\n\r\n";
        let mut out = Vec::new();
        sip_attempts(&sip(&[TO_NUMBER, RINGING, CANCEL]), &mut out);
        assert_eq!(out[0].peer_kind, Some(PeerKind::Relay), "{out:#?}");
        assert!(
            out[0]
                .evidence
                .contains("the INVITE named a telephone number")
        );
        // A call to a SIP address says nothing of its path.
        let mut out = Vec::new();
        sip_attempts(&sip(&[INVITE, RINGING, CANCEL]), &mut out);
        assert_eq!(out[0].peer_kind, None);
    }

    #[test]
    fn an_answered_iax2_call_is_a_voice_call_through_its_server() {
        let full = |sub_kind: u8, sub: u8| {
            let mut f = vec![0x80, 0x04, 0x00, 0x17, 0, 0, 0, 1, 0, 0, sub_kind, sub];
            f.extend_from_slice(&[0; 6]);
            f
        };
        let mini = [0x00, 0x04, 0x00, 0x38, 0xd5, 0xd5, 0xd5, 0xd5];
        let mut t = Trace::udp(4566, IAX_PORT)
            .send(0.0, Dir::Down, &full(0x06, 0x01))
            .send(0.1, Dir::Up, &full(0x06, 0x07))
            .send(0.2, Dir::Up, &full(0x04, 0x04));
        for i in 0..10 {
            let at = 0.3 + f64::from(i) * 0.02;
            t = t.send(at, Dir::Up, &mini).send(at + 0.01, Dir::Down, &mini);
        }
        let flows = vec![t.flow("192.168.2.120", "198.51.100.84")];
        let mut out = Vec::new();
        iax_calls(&flows, &mut out);
        assert_eq!(out.len(), 1, "{out:#?}");
        let e = &out[0];
        assert_eq!(e.kind, EventKind::VoiceCall);
        assert_eq!(e.peer_kind, Some(PeerKind::Relay));
        assert_eq!((e.packets_out, e.packets_in), (10, 10));
        assert!(
            e.evidence.contains("1 NEW, 1 ACCEPT, 1 ANSWER"),
            "{}",
            e.evidence
        );
        // Offered and never answered: an attempt.
        let t = Trace::udp(4566, IAX_PORT).send(0.0, Dir::Down, &full(0x06, 0x01));
        let mut out = Vec::new();
        iax_calls(&[t.flow("192.168.2.120", "198.51.100.84")], &mut out);
        assert_eq!(out[0].kind, EventKind::CallAttempt);
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
                .contains("1 SIP INVITE, 1 CANCEL, 0 BYE, 0 final refusals"),
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
