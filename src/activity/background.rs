//! What happens without the user: pushes that wake an idle channel, runs of answered small
//! records that look like silent delivery-receipt probing, and, from the user's own activities,
//! the stretches of use (online sessions) that pushes and probes do not make.

use std::collections::BTreeMap;

use super::plural;
use super::stats::{PROBE_MIN_PAIRS, RECEIPT_ANSWER_NANOS};
use super::{FlowSummary, flow_ref, on_flow};
use crate::model::{Direction, Event, EventKind, FlowRecord, Proto, Role};

/// A connection that carries pushes: named as a push service, on the push ports of Apple
/// (TCP 5223) or Google (TCP 5228-5230), or a messaging service's chat connection.
pub(super) fn push_channel(r: &FlowRecord) -> bool {
    r.proto == Proto::TCP
        && (matches!(r.service_role, Some(Role::Push | Role::Chat))
            || matches!(r.server.port(), 5223 | 5228..=5230))
}

/// Activities of one service closer than this belong to one stretch of use. Background traffic
/// (keep-alives, push) is not an activity, so it does not extend a session. The value is a
/// choice, not a measurement: five minutes joins a conversation's messages (minutes apart in
/// the corpus) while separating uses of an app an hour apart.
pub const SESSION_GAP_SECS: f64 = 300.0;

/// Stretches of active use: a service's calls, messages and media joined when less than
/// [`SESSION_GAP_SECS`] apart.
pub(super) fn online_sessions(events: &[Event]) -> Vec<Event> {
    let mut by_service: BTreeMap<&str, Vec<&Event>> = BTreeMap::new();
    for e in events {
        if let Some(s) = e.service.as_deref() {
            // Attempts, pushes and probes happen without the user: they do not make a session.
            // Typing indicators and read receipts accompany messages and are too uncertain
            // to make a session of their own.
            if !matches!(
                e.kind,
                EventKind::CallAttempt
                    | EventKind::PushWakeup
                    | EventKind::ProbingSuspected
                    | EventKind::TypingIndicator
                    | EventKind::ReadReceipt
            ) {
                by_service.entry(s).or_default().push(e);
            }
        }
    }
    let mut out = Vec::new();
    for (service, mut evs) in by_service {
        evs.sort_by(|a, b| a.start_ts.total_cmp(&b.start_ts));
        let mut i = 0;
        while i < evs.len() {
            let mut j = i;
            let mut end = evs[i].end_ts;
            while j + 1 < evs.len() && evs[j + 1].start_ts <= end + SESSION_GAP_SECS {
                j += 1;
                end = end.max(evs[j].end_ts);
            }
            let part = &evs[i..=j];
            let count = |is: fn(EventKind) -> bool| part.iter().filter(|e| is(e.kind)).count();
            out.push(Event {
                id: 0,
                kind: EventKind::OnlineSession,
                service: Some(service.to_string()),
                start_ts: evs[i].start_ts,
                end_ts: end,
                direction: Direction::Both,
                bytes_out: part.iter().map(|e| e.bytes_out).sum(),
                bytes_in: part.iter().map(|e| e.bytes_in).sum(),
                packets_out: part.iter().map(|e| e.packets_out).sum(),
                packets_in: part.iter().map(|e| e.packets_in).sum(),
                flows: Vec::new(),
                peer_ip: None,
                peer_asn: None,
                peer_as_org: None,
                peer_country: None,
                peer_city: None,
                peer_kind: None,
                size_class: None,
                confidence: 0.5,
                evidence: format!(
                    "{} of {service} without a pause of {} min: {}, {}, {}, over {:.0} min",
                    if part.len() == 1 {
                        "1 activity".to_string()
                    } else {
                        format!("{} activities", part.len())
                    },
                    SESSION_GAP_SECS / 60.0,
                    plural(count(EventKind::is_message) as u64, "message"),
                    plural(count(EventKind::is_call) as u64, "call"),
                    plural(count(EventKind::is_media) as u64, "media transfer"),
                    (end - evs[i].start_ts) / 60.0
                ),
            });
            i = j + 1;
        }
    }
    out
}

/// App activity this soon after a push counts as its consequence (an app woken by a push
/// connects and syncs within seconds; 30 s allows for a phone waking its radio).
pub const PUSH_FOLLOW_SECS: f64 = 30.0;

/// Pushes: wakeups of push channels, each with what followed it.
pub(super) fn push_wakeups(flows: &[FlowSummary], activity: &[Event]) -> Vec<Event> {
    // Events by start time, for the "what followed" look-up in O(log n) per push.
    let mut by_start: Vec<&Event> = activity
        .iter()
        .filter(|e| e.kind != EventKind::OnlineSession)
        .collect();
    by_start.sort_by(|a, b| a.start_ts.total_cmp(&b.start_ts));
    let mut out = Vec::new();
    for f in flows {
        let r = &f.record;
        if f.media.wakeups.is_empty() || !push_channel(r) {
            continue;
        }
        let own = flow_ref(r);
        let service = r
            .service
            .clone()
            .unwrap_or_else(|| "push channel".to_string());
        for w in &f.media.wakeups {
            let (start, end) = (w.start.as_secs_f64(), w.end.as_secs_f64());
            // On a chat connection, an exchange that carried a message is that message.
            if r.service_role == Some(Role::Chat)
                && f.media.messages.iter().any(|m| m.start == w.start)
            {
                continue;
            }
            let from = by_start.partition_point(|e| e.start_ts < start);
            let next = by_start[from..]
                .iter()
                .take_while(|e| e.start_ts <= start + PUSH_FOLLOW_SECS)
                .find(|e| e.flows.first() != Some(&own));
            let followed = match next {
                Some(e) => format!(
                    "followed {:.1} s later by {} of {}",
                    e.start_ts - start,
                    e.kind,
                    e.service.as_deref().unwrap_or("an unnamed service")
                ),
                None => format!("no app activity followed within {PUSH_FOLLOW_SECS:.0} s"),
            };
            out.push(Event {
                bytes_out: w.bytes_up,
                bytes_in: w.bytes_down,
                confidence: if next.is_some() { 0.7 } else { 0.5 },
                evidence: format!(
                    "{} {} {}: {} B in (and {} B out) after {} s of silence on the push channel; {followed}",
                    r.proto, r.client, r.server, w.bytes_down, w.bytes_up, w.idle_secs
                ),
                ..on_flow(r, EventKind::PushWakeup, &service, (start, end), Direction::In)
            });
        }
    }
    out
}

/// Activity of a service that shows the user at the device: what a silent probe is not.
fn user_activity(e: &Event) -> bool {
    matches!(
        e.kind,
        EventKind::MessageOut
            | EventKind::MediaUpload
            | EventKind::VoiceCall
            | EventKind::VideoCall
            | EventKind::CallAttempt
    )
}

/// User activity this close to a run of receipts explains it (the user is chatting).
const PROBE_QUIET_SECS: f64 = 10.0;

/// Suspected silent probing: receipt runs of a named flow with no user activity of the
/// service around them (see [`PROBE_IN_MAX`](super::PROBE_IN_MAX)).
pub(super) fn probing(flows: &[FlowSummary], activity: &[Event]) -> Vec<Event> {
    let mut out = Vec::new();
    if flows.iter().all(|f| f.media.receipt_runs.is_empty()) {
        return out;
    }
    // The user's own activity per service, as time intervals.
    let mut busy_of: BTreeMap<&str, Vec<(f64, f64)>> = BTreeMap::new();
    for e in activity.iter().filter(|e| user_activity(e)) {
        if let Some(s) = e.service.as_deref() {
            busy_of.entry(s).or_default().push((e.start_ts, e.end_ts));
        }
    }
    for f in flows {
        let r = &f.record;
        let Some(service) = r.service.clone() else {
            continue;
        };
        for run in &f.media.receipt_runs {
            let (start, end) = (run.start.as_secs_f64(), run.end.as_secs_f64());
            let busy = busy_of.get(service.as_str()).is_some_and(|v| {
                v.iter()
                    .any(|&(a, b)| a <= end + PROBE_QUIET_SECS && start <= b + PROBE_QUIET_SECS)
            });
            if busy {
                continue;
            }
            let secs = (end - start).max(0.001);
            out.push(Event {
                bytes_out: run.bytes_up,
                bytes_in: run.bytes_down,
                packets_out: u64::from(run.pairs),
                packets_in: u64::from(run.pairs),
                confidence: if run.pairs >= 3 * PROBE_MIN_PAIRS { 0.6 } else { 0.4 },
                evidence: format!(
                    "{} {} {}: {} inbound records of at most {} B in {:.0} s ({:.1}/s), each answered within {:.0} s by an outbound record of at most {} B, with no message sent, call or upload of {service} within {PROBE_QUIET_SECS:.0} s: the pattern of silent delivery-receipt probing (Careless Whisper, RAID 2025)",
                    r.proto,
                    r.client,
                    r.server,
                    run.pairs,
                    run.max_down,
                    secs,
                    f64::from(run.pairs) / secs,
                    RECEIPT_ANSWER_NANOS as f64 / 1e9,
                    run.max_up
                ),
                ..on_flow(r, EventKind::ProbingSuspected, &service, (start, end), Direction::In)
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{Trace, named, secs};
    use super::*;
    use crate::flow::Dir;

    /// A connection to port `port` that logs in at 0 s, then is silent until the server sends
    /// 200 bytes at 100 s, answered by 50.
    fn woken(port: u16) -> FlowSummary {
        Trace::tcp(50_000, port)
            .opaque(0.0, Dir::Up, 100)
            .opaque(0.1, Dir::Down, 100)
            .opaque(100.0, Dir::Down, 200)
            .opaque(100.2, Dir::Up, 50)
            .flow("192.168.1.10", "17.57.144.10")
    }

    /// An event of WhatsApp on a flow of its own, from `start` to `end` seconds.
    fn event(kind: EventKind, (start, end): (f64, f64)) -> Event {
        let r = Trace::tcp(50_001, 443)
            .opaque(start, Dir::Up, 300)
            .flow("192.168.1.10", "157.240.1.1")
            .record;
        on_flow(
            &r,
            kind,
            "WhatsApp",
            (secs(start), secs(end)),
            Direction::Both,
        )
    }

    #[test]
    fn an_idle_push_channel_woken_by_the_server_is_a_push() {
        let e = push_wakeups(&[woken(5223)], &[]);
        assert_eq!(e.len(), 1, "{e:#?}");
        assert_eq!(
            (e[0].kind, e[0].direction),
            (EventKind::PushWakeup, Direction::In)
        );
        assert_eq!(e[0].service.as_deref(), Some("push channel"));
        assert_eq!(
            (e[0].bytes_in, e[0].bytes_out, e[0].confidence),
            (200, 50, 0.5)
        );
        assert!(
            e[0].evidence.contains(
                "200 B in (and 50 B out) after 99 s of silence on the push channel; no app activity followed"
            ),
            "{}",
            e[0].evidence
        );
        // An app's activity right after it is what the push caused.
        let after = event(EventKind::MessageIn, (110.0, 110.5));
        let e = push_wakeups(&[woken(5223)], &[after]);
        assert_eq!(e[0].confidence, 0.7);
        assert!(
            e[0].evidence.contains("followed 10.0 s later by"),
            "{}",
            e[0].evidence
        );
    }

    #[test]
    fn only_push_channels_carry_pushes() {
        assert!(push_wakeups(&[woken(443)], &[]).is_empty());
        assert!(push_channel(&woken(5228).record));
        assert!(push_channel(
            &named(woken(443), "Signal", Role::Chat).record
        ));
        let mut udp = woken(5223).record;
        udp.proto = Proto::UDP;
        assert!(!push_channel(&udp));
    }

    #[test]
    fn sessions_split_at_the_session_gap_and_background_makes_none() {
        let late = 100.5 + SESSION_GAP_SECS + 1.0;
        let events = [
            event(EventKind::MessageOut, (0.0, 0.5)),
            event(EventKind::MessageIn, (100.0, 100.5)),
            event(EventKind::MediaUpload, (late, late + 2.0)),
            event(EventKind::PushWakeup, (late + 1000.0, late + 1000.5)),
            event(EventKind::CallAttempt, (late + 2000.0, late + 2010.0)),
        ];
        let s = online_sessions(&events);
        let spans: Vec<(f64, f64)> = s.iter().map(|e| (e.start_ts, e.end_ts)).collect();
        assert_eq!(
            spans,
            [(secs(0.0), secs(100.5)), (secs(late), secs(late + 2.0))]
        );
        assert!(
            s[0].evidence.starts_with(
                "2 activities of WhatsApp without a pause of 5 min: 2 messages, 0 calls, 0 media transfers"
            ),
            "{}",
            s[0].evidence
        );
    }

    #[test]
    fn answered_records_with_nobody_chatting_are_suspected_probing() {
        // Fifty records at a steady 1.5 s, over 73.5 s (PROBE_MIN_SECS is a minute).
        let mut t = Trace::tcp(50_000, 443);
        for i in 0..50 {
            let s = 1.5 * f64::from(i);
            t = t.opaque(s, Dir::Down, 200).opaque(s + 0.2, Dir::Up, 60);
        }
        let flows = [named(
            t.flow("192.168.1.10", "157.240.1.1"),
            "WhatsApp",
            Role::Chat,
        )];
        let e = probing(&flows, &[]);
        assert_eq!(e.len(), 1, "{e:#?}");
        assert_eq!(e[0].kind, EventKind::ProbingSuspected);
        assert_eq!((e[0].packets_in, e[0].confidence), (50, 0.6));
        // The user writing at the same time explains the receipts.
        let busy = event(EventKind::MessageOut, (5.0, 5.5));
        assert!(probing(&flows, &[busy]).is_empty());
    }
}
