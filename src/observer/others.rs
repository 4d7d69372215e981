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
