//! Messages: per service, how many were sent and received, when, at what pace and in how many
//! back-and-forth conversations; and per local hour.

use std::collections::BTreeMap;

use super::build::Builder;
use super::{
    Conversation, Finding, Messages, MsgHour, MsgService, flows_of, plural, score, service_name,
    words,
};
use crate::model::{Event, EventKind};

/// Messages of one service less than this apart belong to one conversation. A choice, not a
/// measurement: replies in the corpus's labelled WhatsApp chats (wissamnd/whatsappCall) come
/// 10 to 60 s apart, and a pause of three minutes reads as a new conversation.
pub const CONVERSATION_GAP_SECS: f64 = 180.0;

/// Message counts per (local day and hour, service).
type Hours = BTreeMap<(String, String), MsgHour>;

impl Builder<'_> {
    pub(super) fn messages(&mut self) -> Messages {
        let mut by_service: BTreeMap<String, Vec<&Event>> = BTreeMap::new();
        for e in
            self.events_of(|e| e.kind == EventKind::MessageOut || e.kind == EventKind::MessageIn)
        {
            by_service
                .entry(service_name(e.service.as_deref()).to_string())
                .or_default()
                .push(e);
        }
        let mut out = Messages::default();
        let mut hours: Hours = BTreeMap::new();
        for (service, evs) in &by_service {
            let sent = evs
                .iter()
                .filter(|e| e.kind == EventKind::MessageOut)
                .count() as u64;
            let received = evs.len() as u64 - sent;
            let first = evs.iter().map(|e| e.start_ts).fold(f64::MAX, f64::min);
            let last = evs.iter().map(|e| e.end_ts).fold(f64::MIN, f64::max);
            let convs = self.conversations(service, evs);
            self.count_hours(&mut hours, service, evs);
            let starts: Vec<f64> = evs.iter().map(|e| e.start_ts).collect();
            let mut gaps: Vec<f64> = starts.windows(2).map(|w| w[1] - w[0]).collect();
            gaps.sort_by(f64::total_cmp);
            let rhythm = match gaps.get(gaps.len() / 2) {
                Some(&g) if evs.len() >= 3 && g < 60.0 => ", one every few seconds".to_string(),
                Some(&g) if evs.len() >= 3 && g < 600.0 => {
                    format!(", about one every {}", words::duration(g))
                }
                Some(_) if evs.len() >= 3 => ", spread out over the time".to_string(),
                _ => String::new(),
            };
            let conv_words = match convs.len() {
                0 => String::new(),
                1 => " in one back-and-forth conversation".to_string(),
                n => format!(" in {n} back-and-forth conversations"),
            };
            let counts = match (sent, received) {
                (0, r) => plural(r, "received", "received"),
                (s, 0) => plural(s, "sent", "sent"),
                (s, r) => format!("{s} sent and {r} received"),
            };
            let who = if evs.iter().any(|e| e.service.is_none()) {
                "Messages of an unidentified service".to_string()
            } else {
                format!("{service} messages")
            };
            let sentence = format!(
                "{who} {}: {counts}{rhythm}{conv_words}.",
                self.zone.from_to(first, last),
            );
            self.push(Finding {
                score: score::MESSAGES + if convs.is_empty() { 0.0 } else { 0.01 },
                sentence,
                events: evs.iter().map(|e| e.id).collect(),
                flows: flows_of(evs.iter().copied()),
                kind: "messages".into(),
                mitigation: "timing_volume".into(),
                start_ts: Some(first),
            });
            out.per_service.push(MsgService {
                service: service.clone(),
                sent,
                received,
                first_ts: first,
                last_ts: last,
                span: self.zone.span(first, last),
                conversations: convs.len(),
            });
            out.conversations.extend(convs);
        }
        let mut per_hour: Vec<MsgHour> = hours.into_values().collect();
        per_hour.sort_by(|a, b| {
            a.hour_ts
                .total_cmp(&b.hour_ts)
                .then(a.service.cmp(&b.service))
        });
        out.per_hour = per_hour;
        out.conversations.sort_by(|a, b| {
            a.start_ts
                .total_cmp(&b.start_ts)
                .then(a.service.cmp(&b.service))
        });
        out
    }

    /// Conversations: runs of messages less than the gap apart with both directions.
    fn conversations(&self, service: &str, evs: &[&Event]) -> Vec<Conversation> {
        let mut convs = Vec::new();
        let mut i = 0;
        while i < evs.len() {
            let mut j = i;
            while j + 1 < evs.len() && evs[j + 1].start_ts - evs[j].end_ts <= CONVERSATION_GAP_SECS
            {
                j += 1;
            }
            let run = &evs[i..=j];
            let s = run
                .iter()
                .filter(|e| e.kind == EventKind::MessageOut)
                .count() as u64;
            let r = run.len() as u64 - s;
            if s > 0 && r > 0 {
                let turns = run.windows(2).filter(|w| w[0].kind != w[1].kind).count() as u64;
                let (a, z) = (run[0].start_ts, run[run.len() - 1].end_ts);
                convs.push(Conversation {
                    service: service.to_string(),
                    start_ts: a,
                    end_ts: z,
                    span: self.zone.span(a, z),
                    sent: s,
                    received: r,
                    turns,
                    events: run.iter().map(|e| e.id).collect(),
                });
            }
            i = j + 1;
        }
        convs
    }

    /// Adds one service's messages to the counts per local hour.
    fn count_hours(&self, hours: &mut Hours, service: &str, evs: &[&Event]) {
        for e in evs {
            let hour_ts = (e.start_ts / 3600.0).floor() * 3600.0;
            let label = self.zone.hour_label(e.start_ts);
            let h = hours
                .entry((self.zone.day_key(e.start_ts) + &label, service.to_string()))
                .or_insert_with(|| MsgHour {
                    hour_ts,
                    hour: label.clone(),
                    service: service.to_string(),
                    sent: 0,
                    received: 0,
                });
            if e.kind == EventKind::MessageOut {
                h.sent += 1;
            } else {
                h.received += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observer::digest::Digest;
    use crate::observer::testkit::{HOUR, MONDAY, build, event, finding};

    fn message(id: u64, kind: EventKind, at: f64) -> Event {
        event(id, kind, at, at + 1.0)
    }

    #[test]
    fn replies_within_the_gap_make_a_conversation_and_a_pause_ends_it() {
        let t = MONDAY + 21.0 * HOUR;
        let events = [
            message(1, EventKind::MessageOut, t),
            message(2, EventKind::MessageIn, t + 100.0),
            message(3, EventKind::MessageOut, t + 200.0),
            // A pause longer than the gap, then a run of one direction only: no conversation.
            message(
                4,
                EventKind::MessageIn,
                t + 201.0 + CONVERSATION_GAP_SECS + 19.0,
            ),
            message(5, EventKind::MessageIn, t + 500.0),
        ];
        let m = build(&Digest::default(), &events, false);
        assert_eq!(m.messages.conversations.len(), 1);
        let c = &m.messages.conversations[0];
        assert_eq!((c.sent, c.received, c.turns), (2, 1, 2));
        assert_eq!(c.events, [1, 2, 3]);
        let s = &m.messages.per_service[0];
        assert_eq!((s.service.as_str(), s.sent, s.received), ("WhatsApp", 2, 3));
        assert_eq!(s.conversations, 1);
        let f = finding(&m, "messages", "WhatsApp messages");
        assert_eq!(
            f.sentence,
            "WhatsApp messages from Mon 21:00 to 21:08: 2 sent and 3 received, about one every \
             2 min in one back-and-forth conversation."
        );
        assert_eq!(f.events, [1, 2, 3, 4, 5]);
    }

    #[test]
    fn messages_are_counted_per_local_hour_and_service() {
        let t = MONDAY + 9.0 * HOUR;
        let mut signal = message(3, EventKind::MessageIn, t + 10.0);
        signal.service = Some("Signal".into());
        let events = [
            message(1, EventKind::MessageOut, t + 5.0),
            message(2, EventKind::MessageOut, t + HOUR + 5.0),
            signal,
        ];
        let m = build(&Digest::default(), &events, false);
        let hours: Vec<(&str, &str, u64, u64)> = m
            .messages
            .per_hour
            .iter()
            .map(|h| (h.hour.as_str(), h.service.as_str(), h.sent, h.received))
            .collect();
        assert_eq!(
            hours,
            [
                ("Mon 09:00", "Signal", 0, 1),
                ("Mon 09:00", "WhatsApp", 1, 0),
                ("Mon 10:00", "WhatsApp", 1, 0),
            ]
        );
        assert!(m.messages.conversations.is_empty());
        finding(&m, "messages", "Signal messages at Mon 09:00: 1 received.");
    }
}
