//! Other activities: events of kinds the observer has no wording of its own for (pushes,
//! probing, typing indicators, read receipts), reported generically, grouped by kind and
//! service.

use std::collections::BTreeMap;

use super::build::Builder;
use super::{Finding, KNOWN_KINDS, OtherRow, flows_of, score, service_name, words};
use crate::model::{Event, EventKind};

/// Event kinds read from record sizes alone, with low confidence (see [`score::SIZE_HINT`]).
const SIZE_HINT_KINDS: [EventKind; 2] = [EventKind::TypingIndicator, EventKind::ReadReceipt];

impl Builder<'_> {
    pub(super) fn other_activities(&mut self) -> Vec<OtherRow> {
        let evs = self.events_of(|e| !KNOWN_KINDS.contains(&e.kind));
        let rows: Vec<OtherRow> = evs
            .iter()
            .map(|e| OtherRow {
                event: e.id,
                kind: e.kind,
                service: e.service.clone(),
                start_ts: e.start_ts,
                start: self.zone.day_time(e.start_ts),
                duration_secs: (e.end_ts - e.start_ts).max(0.0),
                evidence: self.red.text(&e.evidence),
            })
            .collect();
        let mut groups: BTreeMap<(EventKind, &str), Vec<&Event>> = BTreeMap::new();
        for e in &evs {
            groups
                .entry((e.kind, service_name(e.service.as_deref())))
                .or_default()
                .push(e);
        }
        for ((kind, service), g) in groups {
            let first = g.iter().map(|e| e.start_ts).fold(f64::MAX, f64::min);
            let last = g.iter().map(|e| e.end_ts).fold(f64::MIN, f64::max);
            let sentence = if g.len() == 1 {
                format!(
                    "{}: {} ({service}).",
                    self.zone.span(first, last),
                    words::kind(kind)
                )
            } else {
                let mut what = words::kind(kind).to_string();
                if let Some(c) = what.get_mut(0..1) {
                    c.make_ascii_uppercase();
                }
                format!(
                    "{what} ({service}), {} times from {} to {}.",
                    g.len(),
                    self.zone.day_time(first),
                    self.zone.day_time(last)
                )
            };
            self.push(Finding {
                score: if SIZE_HINT_KINDS.contains(&kind) {
                    score::SIZE_HINT
                } else {
                    score::OTHER_ACTIVITY
                },
                sentence,
                events: g.iter().map(|e| e.id).collect(),
                flows: flows_of(g.iter().copied()),
                kind: kind.to_string(),
                mitigation: "timing_volume".into(),
                start_ts: Some(first),
            });
        }
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observer::digest::Digest;
    use crate::observer::testkit::{HOUR, MONDAY, build, event, finding};

    #[test]
    fn kinds_without_wording_are_grouped_and_size_hints_rank_lowest() {
        let t = MONDAY + 9.0 * HOUR;
        let events = [
            event(1, EventKind::TypingIndicator, t, t + 1.0),
            event(2, EventKind::PushWakeup, t + 60.0, t + 61.0),
            event(3, EventKind::PushWakeup, t + 600.0, t + 601.0),
            event(4, EventKind::MessageOut, t + 5.0, t + 6.0),
        ];
        let m = build(&Digest::default(), &events, false);
        let ids: Vec<u64> = m.other_activities.iter().map(|o| o.event).collect();
        assert_eq!(ids, [1, 2, 3]);
        let pushes = finding(&m, "push_wakeup", "Push wakeup");
        assert_eq!(
            pushes.sentence,
            "Push wakeup (WhatsApp), 2 times from Mon 09:01 to Mon 09:10."
        );
        assert_eq!(pushes.score, score::OTHER_ACTIVITY);
        let typing = finding(&m, "typing_indicator", "likely typing indicator");
        assert_eq!(
            typing.sentence,
            "Mon 09:00: likely typing indicator (WhatsApp)."
        );
        assert_eq!(typing.score, score::SIZE_HINT);
        assert!(
            m.findings
                .last()
                .is_some_and(|f| f.kind == "typing_indicator")
        );
        // The redactor reaches the evidence: the fixture's names the local address.
        let red = build(&Digest::default(), &events, true);
        assert!(
            red.other_activities
                .iter()
                .all(|o| !o.evidence.contains("192.168.1.5"))
        );
    }
}
