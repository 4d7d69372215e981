//! The rhythm: online sessions, stretches of active use across services, activities per hour
//! of the day, and, in a capture long enough, the first and last act of the user on each
//! waking day (wake and sleep hints).

use std::collections::{BTreeMap, BTreeSet};

use super::build::Builder;
use super::{
    DayRow, Finding, KNOWN_KINDS, Rhythm, SessionRow, list_and, plural, score, service_name, words,
};
use crate::model::{Event, EventKind};

/// First and last activity per day are shown when the capture covers at least this long: a
/// night's quiet and a day's activity must both fit in it for them to hint at sleep (a
/// capture of a few hours around 04:00 would otherwise "show" a night of minutes).
pub const DAYS_MIN_SPAN_SECS: f64 = 20.0 * 3600.0;
/// Event kinds that show the user at the device, the only ones wake and sleep hints rest on:
/// something sent (a message, media) or a call answered (media both ways). A message or media
/// received, a call attempt (it may be one that rang unanswered), a push wakeup, a keep-alive
/// or probing all happen while the user sleeps, and would move "wake" earlier and "sleep"
/// later: they say when others or the servers were active.
pub const USER_ACT_KINDS: [EventKind; 4] = [
    EventKind::MessageOut,
    EventKind::MediaUpload,
    EventKind::VoiceCall,
    EventKind::VideoCall,
];
/// Days whose times one sentence lists; a longer capture's further days are counted.
const DAYS_IN_SENTENCE: usize = 7;

/// A stretch online: start, end, services, and the sessions' events.
type Stretch = (f64, f64, BTreeSet<String>, Vec<u64>);

impl Builder<'_> {
    pub(super) fn rhythm(&mut self) -> Rhythm {
        let sessions = self.sessions();
        let by_hour = self.by_hour();
        self.stretches(&sessions);
        let (days_shown, days) = self.days();
        Rhythm {
            sessions,
            by_hour,
            days_shown,
            days,
        }
    }

    fn sessions(&self) -> Vec<SessionRow> {
        self.events_of(|e| e.kind == EventKind::OnlineSession)
            .into_iter()
            .map(|e| SessionRow {
                event: e.id,
                service: service_name(e.service.as_deref()).to_string(),
                start_ts: e.start_ts,
                end_ts: e.end_ts,
                span: self.zone.span(e.start_ts, e.end_ts),
                duration_secs: (e.end_ts - e.start_ts).max(0.0),
            })
            .collect()
    }

    /// Activities starting in each local hour of the day.
    fn by_hour(&self) -> Vec<u64> {
        // The messaging activities the observer words itself; pushes, probing and kinds it has
        // no wording for (keep-alives, background traffic) say nothing of when the user is up.
        let activities =
            self.events_of(|e| e.kind != EventKind::OnlineSession && KNOWN_KINDS.contains(&e.kind));
        let mut by_hour = vec![0u64; 24];
        for e in &activities {
            if let Some(h) = by_hour.get_mut(self.zone.hour(e.start_ts)) {
                *h += 1;
            }
        }
        by_hour
    }

    /// The finding of stretches in active use, if there were any sessions.
    fn stretches(&mut self, sessions: &[SessionRow]) {
        // Stretches online across services: sessions that overlap or touch are one stretch.
        let mut sorted: Vec<&SessionRow> = sessions.iter().collect();
        sorted.sort_by(|a, b| a.start_ts.total_cmp(&b.start_ts));
        let mut stretches: Vec<Stretch> = Vec::new();
        for s in sorted {
            match stretches.last_mut() {
                Some(last) if s.start_ts <= last.1 + crate::activity::SESSION_GAP_SECS => {
                    last.1 = last.1.max(s.end_ts);
                    last.2.insert(s.service.clone());
                    last.3.push(s.event);
                }
                _ => stretches.push((
                    s.start_ts,
                    s.end_ts,
                    BTreeSet::from([s.service.clone()]),
                    vec![s.event],
                )),
            }
        }
        if !stretches.is_empty() {
            let parts: Vec<String> = stretches
                .iter()
                .take(4)
                .map(|(a, z, svc, _)| {
                    format!(
                        "{} ({}, {})",
                        self.zone.span(*a, *z),
                        words::duration(z - a),
                        svc.iter().cloned().collect::<Vec<_>>().join(" and ")
                    )
                })
                .collect();
            let more = stretches.len().saturating_sub(4);
            let sentence = if stretches.len() == 1 {
                format!("In active use {}.", list_and(&parts))
            } else {
                format!(
                    "In active use in {} stretches: {}{}.",
                    stretches.len(),
                    parts.join("; "),
                    if more > 0 {
                        format!("; and {more} more")
                    } else {
                        String::new()
                    }
                )
            };
            self.push(Finding {
                score: score::RHYTHM,
                sentence,
                events: stretches.iter().flat_map(|s| s.3.clone()).collect(),
                flows: Vec::new(),
                kind: "rhythm".into(),
                mitigation: "timing_volume".into(),
                start_ts: stretches.first().map(|s| s.0),
            });
        }
    }

    /// Whether days are shown, and the waking days with the user's own acts, with their
    /// finding.
    fn days(&mut self) -> (bool, Vec<DayRow>) {
        let span = match (self.digest.first_ts, self.digest.last_ts) {
            (Some(a), Some(b)) => b - a,
            _ => 0.0,
        };
        let own = self.events_of(|e| USER_ACT_KINDS.contains(&e.kind));
        let days_shown = span >= DAYS_MIN_SPAN_SECS && !own.is_empty();
        let mut days: Vec<DayRow> = Vec::new();
        if days_shown {
            days = self.day_rows(&own);
            self.days_finding(&days, &own);
        }
        (days_shown, days)
    }

    /// One row per waking day with an act of the user in it.
    fn day_rows(&self, own: &[&Event]) -> Vec<DayRow> {
        let (cap_first, cap_last) = (
            self.digest.first_ts.unwrap_or(0.0),
            self.digest.last_ts.unwrap_or(0.0),
        );
        let mut days: Vec<DayRow> = Vec::new();
        // Per waking day: (start, end, date, first act, last act, acts).
        let mut by_day: BTreeMap<i64, (f64, f64, String, f64, f64, u64)> = BTreeMap::new();
        for e in own {
            let Some((a, z, date)) = self.zone.waking_day(e.start_ts) else {
                continue;
            };
            let d = by_day
                .entry(a as i64)
                .or_insert((a, z, date, e.start_ts, e.end_ts, 0));
            d.3 = d.3.min(e.start_ts);
            d.4 = d.4.max(e.end_ts);
            d.5 += 1;
        }
        for (_, (a, z, date, first, last, n)) in by_day {
            days.push(DayRow {
                date,
                first_ts: first,
                last_ts: last,
                first: self.zone.time(first),
                last: self.zone.time(last),
                activities: n,
                // The capture ran through the quiet before the first act and after the
                // last one: the whole waking day was watched on that side.
                wake_hint: cap_first <= a,
                sleep_hint: cap_last >= z,
                first_next_date: self.zone.day_key(first) != self.zone.day_key(a),
                last_next_date: self.zone.day_key(last) != self.zone.day_key(a),
                day_start_ts: a,
                day_end_ts: z,
            });
        }
        days
    }

    /// The wake and sleep hints of the days, if any day was watched from its start or to its
    /// end.
    fn days_finding(&mut self, days: &[DayRow], own: &[&Event]) {
        let wakes: Vec<String> = days
            .iter()
            .filter(|d| d.wake_hint)
            .map(|d| self.zone.day_time(d.first_ts))
            .collect();
        let sleeps: Vec<String> = days
            .iter()
            .filter(|d| d.sleep_hint)
            .map(|d| self.zone.day_time(d.last_ts))
            .collect();
        let listed = |v: &[String]| -> String {
            if v.len() <= DAYS_IN_SENTENCE {
                list_and(v)
            } else {
                format!(
                    "{} and {} more",
                    v[..DAYS_IN_SENTENCE].join(", "),
                    v.len() - DAYS_IN_SENTENCE
                )
            }
        };
        let parts: Vec<String> = [
            (!wakes.is_empty()).then(|| format!("began at {}", listed(&wakes))),
            (!sleeps.is_empty()).then(|| format!("ended at {}", listed(&sleeps))),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !parts.is_empty() {
            self.push(Finding {
                score: score::DAYS,
                sentence: format!(
                    "Wake and sleep hints over {}: the user's own activity (messages and \
                     media sent, calls) {}.",
                    plural(days.len() as u64, "day", "days"),
                    parts.join(" and ")
                ),
                events: own.iter().map(|e| e.id).collect(),
                flows: Vec::new(),
                kind: "days".into(),
                mitigation: "timing_volume".into(),
                start_ts: days.first().map(|d| d.first_ts),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observer::digest::Digest;
    use crate::observer::testkit::{HOUR, MONDAY, build, event, finding};

    /// A digest of a capture from Monday 00:00 lasting `hours`.
    fn capture(hours: f64) -> Digest {
        Digest {
            first_ts: Some(MONDAY),
            last_ts: Some(MONDAY + hours * HOUR),
            ..Digest::default()
        }
    }

    fn acts() -> Vec<Event> {
        vec![
            // Received while the user may sleep: no hint of waking.
            event(
                1,
                EventKind::MessageIn,
                MONDAY + 6.0 * HOUR,
                MONDAY + 6.0 * HOUR + 1.0,
            ),
            event(
                2,
                EventKind::MessageOut,
                MONDAY + 8.0 * HOUR,
                MONDAY + 8.0 * HOUR + 1.0,
            ),
            event(
                3,
                EventKind::MessageOut,
                MONDAY + 23.5 * HOUR,
                MONDAY + 23.5 * HOUR + 1.0,
            ),
        ]
    }

    #[test]
    fn days_are_shown_only_when_the_capture_spans_long_enough() {
        let short = build(&capture(DAYS_MIN_SPAN_SECS / HOUR - 1.0), &acts(), false);
        assert!(!short.rhythm.days_shown);
        assert!(short.rhythm.days.is_empty());
        assert!(short.findings.iter().all(|f| f.kind != "days"));

        let long = build(&capture(30.0), &acts(), false);
        assert!(long.rhythm.days_shown);
        let [day] = long.rhythm.days.as_slice() else {
            panic!("{:?}", long.rhythm.days);
        };
        assert_eq!(day.date, "Mon 1 Dec 2025");
        assert_eq!((day.first.as_str(), day.last.as_str()), ("08:00", "23:30"));
        assert_eq!(day.activities, 2);
        assert!(day.wake_hint && day.sleep_hint);
        assert_eq!(day.day_start_ts, MONDAY + 4.0 * HOUR);
        let f = finding(&long, "days", "Wake and sleep hints");
        assert_eq!(
            f.sentence,
            "Wake and sleep hints over 1 day: the user's own activity (messages and media sent, \
             calls) began at Mon 08:00 and ended at Mon 23:30."
        );
        assert_eq!(f.events, [2, 3]);
    }

    #[test]
    fn a_capture_ending_before_the_day_does_hints_only_at_waking() {
        // Twenty-two hours from Monday 00:00 end before the waking day does (Tuesday 04:00).
        let m = build(&capture(22.0), &acts(), false);
        assert!(m.rhythm.days_shown);
        assert!(m.rhythm.days[0].wake_hint && !m.rhythm.days[0].sleep_hint);
        let f = finding(&m, "days", "began at Mon 08:00.");
        assert!(!f.sentence.contains("ended"), "{}", f.sentence);
    }

    #[test]
    fn sessions_close_together_are_one_stretch_and_hours_count_messaging_only() {
        let t = MONDAY + 21.0 * HOUR;
        let mut signal = event(2, EventKind::OnlineSession, t + 700.0, t + 1200.0);
        signal.service = Some("Signal".into());
        let events = [
            event(1, EventKind::OnlineSession, t, t + 600.0),
            signal,
            event(
                3,
                EventKind::OnlineSession,
                t + 2.0 * HOUR,
                t + 2.0 * HOUR + 60.0,
            ),
            event(4, EventKind::MessageOut, t + 10.0, t + 11.0),
            event(5, EventKind::PushWakeup, t + 20.0, t + 21.0),
        ];
        let m = build(&Digest::default(), &events, false);
        assert_eq!(m.rhythm.sessions.len(), 3);
        let f = finding(&m, "rhythm", "In active use in 2 stretches");
        assert_eq!(
            f.sentence,
            "In active use in 2 stretches: Mon 21:00-21:20 (20 min, Signal and WhatsApp); \
             Mon 23:00-23:01 (60 s, WhatsApp)."
        );
        assert_eq!(f.events, [1, 2, 3]);
        // The message only: sessions and pushes say nothing of when the user is up.
        assert_eq!(m.rhythm.by_hour.iter().sum::<u64>(), 1);
        assert_eq!(m.rhythm.by_hour[21], 1);
    }
}
