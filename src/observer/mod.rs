//! The observer model: from flows and events to what a person on the path now knows about the
//! user, as ranked findings, each resting on evidence (event ids and flows).
//!
//! The report (`onlooker report`) and the dashboard's Observer tab both read this model, so
//! they always agree: [`Model::build`] makes every section the report prints, and
//! [`headline`] returns the same top findings. The wording lives here too ([`words`]), so the
//! dashboard shows the same sentences.
//!
//! This module must never invent a claim without evidence, and never decide anything the
//! activity model or the naming did not (it words and ranks; it does not infer). Same input,
//! same model: every collection is ordered, and ties are broken by time and then by text.
//! Flows reach it folded into a bounded [`digest::Digest`], never as a list it keeps.

pub mod countries;
pub mod device;
pub mod digest;
pub mod redact;
pub mod score;
pub mod words;

mod build;
mod calls;
mod destinations;
mod headline;
pub mod hedge;
mod leaks;
mod media;
mod messages;
mod mitigations;
mod model;
mod others;
mod rhythm;
mod services;
#[cfg(test)]
mod testkit;

use std::collections::BTreeSet;

use crate::model::{Event, EventKind, FlowRef};

pub use calls::call_peer;
pub use headline::{HEADLINE_MAX, HEADLINE_PER_KIND, headline};
pub use leaks::MAX_DEVICE_HINTS;
pub use messages::CONVERSATION_GAP_SECS;
pub use mitigations::MITIGATIONS;
pub use model::{
    CallRow, Capture, Conversation, CountryRow, DayRow, DestRow, Finding, Leaks, MediaRow,
    Messages, Mitigation, Model, MsgHour, MsgService, NameList, NameRow, NetworkRow, Options,
    OtherRow, PeerRow, Rhythm, ServiceRow, SessionRow,
};
pub use rhythm::{DAYS_MIN_SPAN_SECS, USER_ACT_KINDS};

/// Flows cited by one finding (the rest are in its events).
const MAX_FLOW_REFS: usize = 16;

/// Event kinds the observer words itself; any other kind is reported generically.
const KNOWN_KINDS: [EventKind; 8] = [
    EventKind::VoiceCall,
    EventKind::VideoCall,
    EventKind::CallAttempt,
    EventKind::MessageOut,
    EventKind::MessageIn,
    EventKind::MediaUpload,
    EventKind::MediaDownload,
    EventKind::OnlineSession,
];

fn service_name(s: Option<&str>) -> &str {
    s.unwrap_or("an unidentified service")
}

/// Deduplicated flow references of some events, in order, at most [`MAX_FLOW_REFS`].
fn flows_of<'e>(events: impl IntoIterator<Item = &'e Event>) -> Vec<String> {
    let mut seen: BTreeSet<FlowRef> = BTreeSet::new();
    let mut out = Vec::new();
    for e in events {
        for f in &e.flows {
            if out.len() < MAX_FLOW_REFS && seen.insert(*f) {
                out.push(f.to_string());
            }
        }
    }
    out
}

/// "a, b and c".
fn list_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [a] => a.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::digest::Digest;
    use super::testkit::event;
    use super::words::Zone;
    use super::*;
    use crate::model::PeerKind;

    #[test]
    fn a_direct_call_leads_and_unknown_kinds_are_reported_generically() {
        let mut call = event(
            1,
            EventKind::VideoCall,
            1_764_623_040.0,
            1_764_623_040.0 + 1980.0,
        );
        call.peer_kind = Some(PeerKind::Direct);
        let mut events = vec![
            call,
            event(2, EventKind::MediaUpload, 1_764_623_100.0, 1_764_623_101.0),
        ];
        for (i, k) in [
            EventKind::ProbingSuspected,
            EventKind::PushWakeup,
            EventKind::PushWakeup,
        ]
        .into_iter()
        .enumerate()
        {
            events.push(event(
                3 + i as u64,
                k,
                1_764_623_200.0 + i as f64,
                1_764_623_201.0,
            ));
        }
        let m = Model::build(&Digest::default(), &events, &Zone::utc(), false);
        let first = &m.headline[0];
        assert_eq!(first.kind, "direct_call");
        assert_eq!(first.mitigation, "relay_calls");
        assert!(
            first
                .sentence
                .starts_with("Mon 21:04-21:37: a 33-minute WhatsApp video call, direct"),
            "{}",
            first.sentence
        );
        assert!(
            first.sentence.contains("Porto, Portugal"),
            "{}",
            first.sentence
        );
        assert_eq!(m.other_activities.len(), 3);
        assert_eq!(m.leaks.probing.len(), 1);
        let push = m.findings.iter().find(|f| f.kind == "push_wakeup");
        assert_eq!(push.map(|f| f.events.clone()), Some(vec![4, 5]));
        // Sorted by score, highest first.
        assert!(m.findings.windows(2).all(|w| w[0].score >= w[1].score));
    }

    #[test]
    fn the_headline_keeps_at_most_two_of_a_kind_and_seven_in_all() {
        let events: Vec<Event> = (0..10)
            .map(|i| {
                event(
                    i + 1,
                    EventKind::MediaDownload,
                    1e9 + 100.0 * i as f64,
                    1e9 + 100.0 * i as f64 + 1.0,
                )
            })
            .collect();
        let m = Model::build(&Digest::default(), &events, &Zone::utc(), false);
        assert_eq!(m.findings.iter().filter(|f| f.kind == "media").count(), 10);
        assert_eq!(
            m.headline.iter().filter(|f| f.kind == "media").count(),
            HEADLINE_PER_KIND
        );
        // Two events worded alike appear once in the headline, both in the findings.
        let same: Vec<Event> = (0..2)
            .map(|i| event(i + 1, EventKind::MediaDownload, 1e9, 1e9 + 1.0))
            .collect();
        let m = Model::build(&Digest::default(), &same, &Zone::utc(), false);
        assert_eq!(m.findings.iter().filter(|f| f.kind == "media").count(), 2);
        assert_eq!(m.headline.iter().filter(|f| f.kind == "media").count(), 1);
        assert!(m.headline.len() <= HEADLINE_MAX);
    }

    #[test]
    fn redaction_reaches_sentences_flows_and_evidence() {
        let mut call = event(1, EventKind::VoiceCall, 1e9, 1e9 + 60.0);
        call.peer_kind = Some(PeerKind::Direct);
        let events = vec![call, event(2, EventKind::PushWakeup, 1e9 + 5.0, 1e9 + 6.0)];
        let m = Model::build(&Digest::default(), &events, &Zone::utc(), true);
        let all = serde_json::to_string(&m).unwrap_or_default();
        assert!(!all.contains("203.0.113.9"), "the direct peer is shown");
        assert!(!all.contains("192.168.1.5"), "the local side is shown");
        assert!(all.contains("Example Mobile") && all.contains("Portugal"));
    }
}
