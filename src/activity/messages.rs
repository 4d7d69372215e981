//! Messages on a service's chat connections: each exchange that carries a message-sized record
//! is a message sent or received, and exchanges of small records only are typing indicators or
//! read receipts when their timing says so. The evidence tells what the service's padding
//! leaves of a message's length ([`padding`]).

use super::padding;
use super::plural;
use super::receipts;
use super::stats::{MSG_MIN_PAYLOAD, MsgBurst, SMALL_RECORD};
use super::{FlowSummary, on_flow};
use crate::flow::Dir;
use crate::model::{Direction, Event, EventKind, Role};

/// Messages sent and received on a service's chat connections, and the typing indicators and
/// read receipts around them (see [`chatter`]).
pub(super) fn messages(flows: &[FlowSummary], out: &mut Vec<Event>) {
    for f in flows {
        let r = &f.record;
        if r.service_role != Some(Role::Chat) {
            continue;
        }
        let Some(service) = r.service.clone() else {
            continue;
        };
        chatter(f, &service, out);
        for m in &f.media.messages {
            let Some(Lead {
                dir,
                size: lead,
                stanza,
            }) = message_of(m, &service)
            else {
                continue;
            };
            let (kind, direction) = match dir {
                Dir::Up => (EventKind::MessageOut, Direction::Out),
                Dir::Down => (EventKind::MessageIn, Direction::In),
            };
            let (start, end) = (m.start.as_secs_f64(), m.end.as_secs_f64());
            out.push(Event {
                bytes_out: m.bytes_up,
                bytes_in: m.bytes_down,
                packets_out: u64::from(m.packets_up),
                packets_in: u64::from(m.packets_down),
                evidence: format!(
                    "{} {} {}: a {lead}-byte {} {} then {} up / {} down ({} B / {} B of payload) within {:.2} s on the chat connection, {} of them small (up to {SMALL_RECORD} B: receipt-, ack- or typing-sized, which sizes alone cannot tell apart); {}",
                    r.proto,
                    r.client,
                    r.server,
                    if stanza { "cleartext XMPP <message> stanza" } else { "record" },
                    if dir == Dir::Up { "sent" } else { "received" },
                    plural(m.packets_up, "packet"),
                    m.packets_down,
                    m.bytes_up,
                    m.bytes_down,
                    end - start,
                    m.small.0 + m.small.1,
                    padding::note(&service)
                ),
                confidence: if lead >= 2 * MSG_MIN_PAYLOAD { 0.7 } else { 0.5 },
                ..on_flow(r, kind, &service, (start, end), direction)
            });
        }
    }
}

/// The record that makes an exchange a message: its direction and size, and whether a
/// cleartext XMPP stanza said so.
struct Lead {
    dir: Dir,
    size: u32,
    stanza: bool,
}

/// What makes the exchange `m` on a chat connection of `service` a message, or `None` when it
/// is none: by its stanzas when it is cleartext XMPP, else by its sizes and by what the
/// protocol answers.
fn message_of(m: &MsgBurst, service: &str) -> Option<Lead> {
    if m.xmpp {
        // Cleartext XMPP says what each stanza is (RFC 6120 section 8): an exchange is a
        // message when a `<message` stanza travels in it, whatever its sizes, and none when only
        // presence and info/query stanzas do (`ndpi/jabber.pcap`: vCard and room-configuration
        // queries of 154-703 B, a room join's presence).
        let (dir, size) = m.xmpp_message?;
        return Some(Lead {
            dir,
            size,
            stanza: true,
        });
    }
    let (dir, lead) = m.lead?;
    if dir == Dir::Up && m.reply > lead {
        // The server's first record back is larger than what the device sent: a result to a
        // query (XMPP answers every IQ get with a result, RFC 6120 section 8.2.3;
        // `ndpi/jabber.pcap`'s 153-B and 160-B queries get 199-B and 415-B results in a
        // millisecond), where a message is acknowledged with a small record or not at all.
        return None;
    }
    if dir == Dir::Down && receipts::answers_each_delivery(service) {
        // The service's clients answer every message delivered to them at once (a delivery
        // receipt or an ack, assets/catalog/receipts.tsv). A record left unanswered is a
        // server's notice (presence, a status or key update), not a message for the user
        // (`matousp/ma4__WhatsApp1.pcapng`: lone 273-B and 289-B records followed by nothing up
        // for 4.3 and 4.9 s, while each labelled incoming message there is answered by a 54-B
        // receipt). One that came right after a request of the device's is its answer unless
        // the device answered it in turn: a lookup's result gets no receipt (ma4's 318-B
        // results), a message does, even when it lands just after the device's typing
        // indicator (`wissamnd/whatsappCall.pcapng` 828.8: 41 B up, 340 B down, 62-B receipt).
        let receipted = m.reply > 0 || m.next_up_after.is_some_and(|n| n <= RECEIPT_WAIT_NANOS);
        if !receipted || (m.answer && m.reply == 0) {
            return None;
        }
    } else if m.answer {
        // The device spoke first, with small records only, and the server's first record back
        // is the message-sized one: the answer to a request (a profile picture or key lookup, a
        // presence query), not a message pushed to the user, which arrives unasked
        // (`matousp/ma4__WhatsApp1.pcapng`: six 48-B requests each answered by a 318-B record
        // in 0.24 s).
        return None;
    }
    Some(Lead {
        dir,
        size: lead,
        stanza: false,
    })
}

/// A delivery receipt or ack comes this soon after the message it answers. Careless Whisper
/// (RAID 2025) measures receipt round trips under a second for a phone in use and above a second
/// for an idle one; the corpus's latest ack comes 2.3 s after its message (`ndpi/threema.pcap`,
/// 38 B after a 468-B record delivered at login). 3 s is a choice above both, not fitted: a
/// later record up is no longer taken as the answer.
pub const RECEIPT_WAIT_NANOS: i64 = 3_000_000_000;

/// A call's offer, answer and hang-up travel on the service's chat connection (WhatsApp's and
/// Viber's calls are signalled there: `ndpi/viber.pcap` sends a 530-B record on its TCP/4244 chat
/// connection 0.11 s before the call's first UDP packet, and `ndpi/whatsapp_login_call.pcap`'s
/// chat connection carries bursts as each call starts). An exchange that far from a call's or
/// an attempt's start or end is its signalling, not a message: the offer leads the media or the
/// connectivity checks by one round trip to the server and back (well under a second on the
/// corpus), and 2 s leaves room for a slow network.
pub const CALL_SIGNAL_SECS: f64 = 2.0;

/// Drop the messages that are a call's signalling (see [`CALL_SIGNAL_SECS`]): exchanges on a chat
/// connection of the call's service that begin within that time of a call's or an attempt's
/// start or end, or at any time while an attempt's connectivity checks run. While a call is
/// being set up its signalling keeps flowing on the chat connection: WhatsApp's call stanzas
/// (offer, pre-accept, transport, relay latency, terminate, as the open whatsmeow client
/// decodes them in types/events/call.go) report each relay's latency as the checks go on
/// (`ndpi/whatsapp_voice_and_message.pcap`: a 536-B record on the chat connection 4.7 s into
/// the checks of an unanswered call). A call that was answered keeps only its edges: the user
/// may chat while talking.
pub(super) fn call_signalling(events: &mut Vec<Event>) {
    let spans: Vec<(Option<String>, f64, f64)> = events
        .iter()
        .filter(|e| e.kind.is_call() || e.kind == EventKind::CallAttempt)
        .flat_map(|e| {
            let edge = |t: f64| {
                (
                    e.service.clone(),
                    t - CALL_SIGNAL_SECS,
                    t + CALL_SIGNAL_SECS,
                )
            };
            let whole = (e.kind == EventKind::CallAttempt).then(|| {
                (
                    e.service.clone(),
                    e.start_ts - CALL_SIGNAL_SECS,
                    e.end_ts + CALL_SIGNAL_SECS,
                )
            });
            [Some(edge(e.start_ts)), Some(edge(e.end_ts)), whole]
        })
        .flatten()
        .collect();
    if spans.is_empty() {
        return;
    }
    events.retain(|e| {
        !e.kind.is_message()
            || !spans.iter().any(|(service, from, to)| {
                service.is_some() && *service == e.service && (*from..=*to).contains(&e.start_ts)
            })
    });
}

/// A typing indicator precedes the message it announces by at most this long when it is
/// reported with more confidence: in `wissamnd/whatsappCall.pcapng` the unanswered 41-B and
/// 55-B chat-state records come 1.5 to 26 s before the next message the same way.
pub const TYPING_LEAD_SECS: f64 = 30.0;
/// A small answered exchange this soon after a message the other way is its read receipt:
/// the corpus's receipt-sized exchanges that are not part of a message's own exchange follow
/// it by 1.3 to 29 s (`wissamnd/whatsappCall.pcapng`); later ones cannot be told from
/// heartbeats by size or timing.
pub const READ_RECEIPT_SECS: f64 = 60.0;
/// A typing indicator names the chat and a read receipt the messages it answers, under an
/// AEAD tag (16 B): the corpus's chat-state records are 41-55 B and its receipts 60-79 B
/// (`wissamnd/whatsappCall.pcapng`), while heartbeats are 25-37 B
/// (`matousp/ma4__WhatsApp1.pcapng`'s 33/37-B pings, `ndpi/wa_voice.pcap`'s 25-B ping). The
/// initiating side's largest record must reach these sizes.
pub const CHAT_STATE_MIN: u32 = 40;
/// See [`CHAT_STATE_MIN`].
pub const RECEIPT_MIN: u32 = 48;

/// Typing indicators and read receipts on a chat connection, from the exchanges of small
/// records only. Chat-state notifications are sent without an answer (XMPP's XEP-0085, from
/// which WhatsApp's protocol descends, acknowledges none), so records of one direction with no
/// answer are typing indicators; an answered small exchange started by one side shortly after
/// a message from the other is a read receipt. Sizes alone cannot confirm either, so their
/// confidence stays low; a heartbeat can look alike.
fn chatter(f: &FlowSummary, service: &str, out: &mut Vec<Event>) {
    let r = &f.record;
    let m = &f.media;
    for x in &m.chatter {
        let all_small = x.small.0 + x.small.1 == x.packets_up + x.packets_down;
        if !all_small {
            continue;
        }
        let dir = if x.first_down { Dir::Down } else { Dir::Up };
        let direction = if dir == Dir::Up {
            Direction::Out
        } else {
            Direction::In
        };
        let largest = if dir == Dir::Up { x.max.0 } else { x.max.1 };
        let (start, end) = (x.start.as_secs_f64(), x.end.as_secs_f64());
        let one_way = (x.packets_up == 0) != (x.packets_down == 0);
        if largest < if one_way { CHAT_STATE_MIN } else { RECEIPT_MIN } {
            continue;
        }
        let (kind, confidence, why) = if one_way {
            let next = m.messages.iter().find(|n| {
                n.lead.map(|l| l.0) == Some(dir)
                    && n.start > x.end
                    && n.start.as_secs_f64() <= end + TYPING_LEAD_SECS
            });
            match next {
                Some(n) => (
                    EventKind::TypingIndicator,
                    0.5,
                    format!(
                        "unanswered, as chat-state notifications are, and followed {:.1} s later by a message the same way",
                        n.start.as_secs_f64() - end
                    ),
                ),
                None => (
                    EventKind::TypingIndicator,
                    0.3,
                    format!(
                        "unanswered, as chat-state notifications are; no message followed the same way within {TYPING_LEAD_SECS:.0} s (typing given up, or a keep-alive)"
                    ),
                ),
            }
        } else {
            let before = m.messages.iter().rev().find(|n| {
                n.lead.is_some_and(|l| l.0 != dir)
                    && n.end < x.start
                    && start - n.end.as_secs_f64() <= READ_RECEIPT_SECS
            });
            let Some(n) = before else { continue };
            (
                EventKind::ReadReceipt,
                0.3,
                format!(
                    "answered, {:.1} s after a message the other way (a read receipt, or a heartbeat of the same size)",
                    start - n.end.as_secs_f64()
                ),
            )
        };
        out.push(Event {
            bytes_out: x.bytes_up,
            bytes_in: x.bytes_down,
            packets_out: u64::from(x.packets_up),
            packets_in: u64::from(x.packets_down),
            confidence,
            evidence: format!(
                "{} {} {}: {} up ({} B) and {} down ({} B), none over {SMALL_RECORD} B, on the chat connection, {why}",
                r.proto,
                r.client,
                r.server,
                plural(x.packets_up, "record"),
                x.bytes_up,
                x.packets_down,
                x.bytes_down
            ),
            ..on_flow(r, kind, service, (start, end), direction)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{Trace, named, of_kind, secs};
    use super::*;

    /// A chat connection whose first exchange (the login) is done at 0.1 s.
    fn login() -> Trace {
        Trace::tcp(50_000, 443)
            .opaque(0.0, Dir::Up, 300)
            .opaque(0.1, Dir::Down, 300)
    }

    fn events(t: Trace, role: Role) -> Vec<Event> {
        let f = named(t.flow("192.168.1.10", "157.240.1.1"), "WhatsApp", role);
        let mut out = Vec::new();
        messages(&[f], &mut out);
        out
    }

    #[test]
    fn a_message_record_each_way_is_a_message_out_and_a_message_in() {
        let t = login()
            .opaque(10.0, Dir::Up, 300)
            .opaque(10.2, Dir::Down, 70)
            .opaque(20.0, Dir::Down, 400)
            .opaque(20.2, Dir::Up, 70);
        let e = events(t, Role::Chat);
        let kinds: Vec<(EventKind, Direction)> = e.iter().map(|e| (e.kind, e.direction)).collect();
        assert_eq!(
            kinds,
            [
                (EventKind::MessageOut, Direction::Out),
                (EventKind::MessageIn, Direction::In)
            ]
        );
        assert_eq!((e[0].start_ts, e[1].start_ts), (secs(10.0), secs(20.0)));
        assert_eq!(
            (e[0].bytes_out, e[0].bytes_in, e[0].confidence),
            (300, 70, 0.7)
        );
        assert!(
            e[0].evidence.contains(
                "a 300-byte record sent then 1 packet up / 1 down (300 B / 70 B of payload)"
            ),
            "{}",
            e[0].evidence
        );
        assert!(
            e[0].evidence.ends_with(
                "; WhatsApp pads only a little, so the record's length is close to the message's"
            ),
            "{}",
            e[0].evidence
        );
    }

    #[test]
    fn a_connection_not_named_as_chat_carries_no_messages() {
        let t = || {
            login()
                .opaque(10.0, Dir::Up, 300)
                .opaque(10.2, Dir::Down, 70)
        };
        assert_eq!(events(t(), Role::Chat).len(), 1);
        assert!(events(t(), Role::Media).is_empty());
    }

    #[test]
    fn an_unanswered_small_record_before_a_message_is_a_typing_indicator() {
        let t = login()
            .opaque(15.0, Dir::Up, 45)
            .opaque(20.0, Dir::Up, 300)
            .opaque(20.2, Dir::Down, 70);
        let e = events(t, Role::Chat);
        let typing = of_kind(&e, EventKind::TypingIndicator);
        assert_eq!(typing.len(), 1, "{e:#?}");
        assert_eq!(
            (typing[0].direction, typing[0].confidence),
            (Direction::Out, 0.5)
        );
        assert!(
            typing[0]
                .evidence
                .contains("followed 5.0 s later by a message the same way")
        );
        // With no message after it, it may be a keep-alive: less confidence.
        let e = events(login().opaque(15.0, Dir::Up, 45), Role::Chat);
        assert_eq!(of_kind(&e, EventKind::TypingIndicator)[0].confidence, 0.3);
        // Below the size of a chat-state record it is nothing.
        assert!(events(login().opaque(15.0, Dir::Up, 33), Role::Chat).is_empty());
    }

    #[test]
    fn a_small_answered_exchange_after_a_message_is_a_read_receipt() {
        let t = login()
            .opaque(10.0, Dir::Down, 300)
            .opaque(10.2, Dir::Up, 70)
            .opaque(20.0, Dir::Up, 60)
            .opaque(20.1, Dir::Down, 50);
        let e = events(t, Role::Chat);
        let receipts = of_kind(&e, EventKind::ReadReceipt);
        assert_eq!(receipts.len(), 1, "{e:#?}");
        assert_eq!(
            (receipts[0].direction, receipts[0].confidence),
            (Direction::Out, 0.3)
        );
        assert!(
            receipts[0]
                .evidence
                .contains("answered, 9.8 s after a message the other way")
        );
    }
    #[test]
    fn an_answer_to_the_devices_request_is_no_message_in() {
        // A 48-B lookup answered by a 318-B record: a request and its result.
        let lookup = login()
            .opaque(10.0, Dir::Up, 48)
            .opaque(10.24, Dir::Down, 318);
        assert!(events(lookup, Role::Chat).is_empty());
        // The server acknowledges the device's receipt first, then a message arrives: that
        // message was not asked for.
        let pushed = login()
            .opaque(10.0, Dir::Up, 62)
            .opaque(10.1, Dir::Down, 67)
            .opaque(10.3, Dir::Down, 243)
            .opaque(10.4, Dir::Up, 60);
        let e = events(pushed, Role::Chat);
        assert_eq!(of_kind(&e, EventKind::MessageIn).len(), 1, "{e:#?}");
    }

    #[test]
    fn a_record_answered_by_a_larger_one_is_a_query_not_a_message_out() {
        let query = login()
            .opaque(10.0, Dir::Up, 160)
            .opaque(10.001, Dir::Down, 415);
        assert!(events(query, Role::Chat).is_empty());
        let message = login()
            .opaque(10.0, Dir::Up, 160)
            .opaque(10.05, Dir::Down, 68);
        assert_eq!(events(message, Role::Chat).len(), 1);
    }

    #[test]
    fn an_exchange_at_a_calls_start_or_end_is_its_signalling() {
        let t = login()
            .opaque(10.0, Dir::Up, 530)
            .opaque(10.1, Dir::Down, 110)
            .opaque(40.0, Dir::Up, 300)
            .opaque(40.1, Dir::Down, 60);
        let mut e = events(t, Role::Chat);
        assert_eq!(e.len(), 2);
        let mut attempt = e[0].clone();
        attempt.kind = EventKind::CallAttempt;
        (attempt.start_ts, attempt.end_ts) = (secs(10.11), secs(25.0));
        e.push(attempt);
        call_signalling(&mut e);
        let messages: Vec<f64> = e
            .iter()
            .filter(|e| e.kind.is_message())
            .map(|e| e.start_ts - secs(0.0))
            .collect();
        assert_eq!(messages.len(), 1, "{e:#?}");
        assert!((messages[0] - 40.0).abs() < 1e-6);
    }

    #[test]
    fn an_exchange_while_an_attempts_checks_run_is_its_signalling_but_not_during_a_call() {
        let t = login()
            .opaque(15.0, Dir::Up, 536)
            .opaque(15.1, Dir::Down, 67);
        for (kind, kept) in [(EventKind::CallAttempt, 0), (EventKind::VoiceCall, 1)] {
            let mut e = events(t.clone(), Role::Chat);
            let mut call = e[0].clone();
            call.kind = kind;
            (call.start_ts, call.end_ts) = (secs(10.0), secs(70.0));
            e.push(call);
            call_signalling(&mut e);
            let n = e.iter().filter(|e| e.kind.is_message()).count();
            assert_eq!(n, kept, "{kind:?}: {e:#?}");
        }
    }

    #[test]
    fn a_record_the_device_leaves_unanswered_is_no_message_of_a_service_that_sends_receipts() {
        // WhatsApp answers every delivered message with a receipt (Careless Whisper, RAID 2025).
        let t = login()
            .opaque(10.0, Dir::Down, 273)
            .opaque(20.0, Dir::Down, 366)
            .opaque(22.0, Dir::Up, 54)
            .opaque(40.0, Dir::Down, 289)
            .opaque(45.0, Dir::Up, 37);
        let e = events(t, Role::Chat);
        let starts: Vec<f64> = of_kind(&e, EventKind::MessageIn)
            .iter()
            .map(|e| e.start_ts)
            .collect();
        // 10.0: never answered; 20.0: a receipt 2 s later; 40.0: the next record up 5 s later.
        assert_eq!(starts, [secs(20.0)], "{e:#?}");
    }

    #[test]
    fn a_service_without_receipts_keeps_its_unanswered_records_as_messages() {
        let t = login().opaque(10.0, Dir::Down, 273);
        let f = named(t.flow("192.168.1.10", "52.0.253.101"), "Viber", Role::Chat);
        let mut out = Vec::new();
        messages(&[f], &mut out);
        assert_eq!(of_kind(&out, EventKind::MessageIn).len(), 1, "{out:#?}");
    }

    #[test]
    fn an_answer_the_device_acknowledges_is_a_message_after_all() {
        // A 41-B typing indicator up, then a 340-B message down and its 62-B receipt.
        let acked = login()
            .opaque(10.0, Dir::Up, 41)
            .opaque(10.4, Dir::Down, 340)
            .opaque(10.6, Dir::Up, 62);
        assert_eq!(events(acked, Role::Chat).len(), 1);
        // A 48-B lookup answered by a 318-B result, which gets no receipt.
        let lookup = login()
            .opaque(10.0, Dir::Up, 3)
            .opaque(10.0, Dir::Up, 48)
            .opaque(10.2, Dir::Down, 318);
        assert!(events(lookup, Role::Chat).is_empty());
    }

    #[test]
    fn cleartext_xmpp_is_judged_by_its_stanzas() {
        let t = login()
            // A vCard update (an IQ set of 703 B) and its result: no message.
            .send(
                10.0,
                Dir::Up,
                format!("<iq type='set' id='a1'>{}", "v".repeat(680)).as_bytes(),
            )
            .send(10.01, Dir::Down, b"<iq type='result' id='a1'/>")
            // A short chat message of 90 B, under the size a record needs otherwise.
            .send(
                20.0,
                Dir::Up,
                format!("<message type='chat' to='b@x'>{}", "m".repeat(60)).as_bytes(),
            );
        let e = events(t, Role::Chat);
        let kinds: Vec<EventKind> = e
            .iter()
            .filter(|e| e.kind.is_message())
            .map(|e| e.kind)
            .collect();
        assert_eq!(kinds, [EventKind::MessageOut], "{e:#?}");
        assert!(
            e[0].evidence
                .contains("cleartext XMPP <message> stanza sent"),
            "{}",
            e[0].evidence
        );
    }

    #[test]
    fn a_push_on_a_connection_captured_mid_stream_is_a_message() {
        // The capture begins inside the connection: the server's record is a push, the
        // device's first exchange a resumed sync.
        let push = Trace::tcp(50_000, 443)
            .mid_stream()
            .opaque(0.0, Dir::Down, 400)
            .opaque(0.1, Dir::Up, 60);
        assert_eq!(events(push, Role::Chat).len(), 1);
        let sync = Trace::tcp(50_000, 443)
            .mid_stream()
            .opaque(0.0, Dir::Up, 400)
            .opaque(0.1, Dir::Down, 60);
        assert!(events(sync, Role::Chat).is_empty());
        // With its handshake seen (no TCP header in the trace: not mid-stream), the first
        // exchange is the login.
        let login_only =
            Trace::tcp(50_000, 443)
                .opaque(0.0, Dir::Down, 400)
                .opaque(0.1, Dir::Up, 60);
        assert!(events(login_only, Role::Chat).is_empty());
    }
}
