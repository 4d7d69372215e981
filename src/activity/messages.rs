//! Messages on a service's chat connections: each exchange that carries a message-sized record
//! is a message sent or received, and exchanges of small records only are typing indicators or
//! read receipts when their timing says so. The evidence tells what the service's padding
//! leaves of a message's length ([`padding`]).

use super::padding;
use super::stats::{MSG_MIN_PAYLOAD, SMALL_RECORD};
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
            let Some((dir, lead)) = m.lead else { continue };
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
                    "{} {} {}: a {lead}-byte record {} then {} packets up / {} down ({} B / {} B of payload) within {:.2} s on the chat connection, {} of them small (up to {SMALL_RECORD} B: receipt-, ack- or typing-sized, which sizes alone cannot tell apart); {}",
                    r.proto,
                    r.client,
                    r.server,
                    if dir == Dir::Up { "sent" } else { "received" },
                    m.packets_up,
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
                "{} {} {}: {} record(s) up ({} B) and {} down ({} B), none over {SMALL_RECORD} B, on the chat connection, {why}",
                r.proto, r.client, r.server, x.packets_up, x.bytes_up, x.packets_down, x.bytes_down
            ),
            ..on_flow(r, kind, service, (start, end), direction)
        });
    }
}
