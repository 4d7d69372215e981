//! Claims worded by how sure they are: a finding that rests on inferred events says "probably"
//! or "possibly" unless its events are sure, so the report and the dashboard never state a
//! guess as fact. It must never hedge what was read in the clear (a name in DNS, a server name,
//! an address): those findings are facts of the capture, not inferences.

use std::collections::BTreeMap;

use super::Finding;
use crate::model::Event;

/// From this stated confidence on, a claim is worded as a fact. Stated confidences are
/// calibrated on the labelled corpus (docs/activity-model.md, "Confidence"): at 0.8 about
/// four claims in five were right there.
pub const SURE: f64 = 0.8;
/// From this stated confidence on (and below [`SURE`]), a claim is "probably" so; below it,
/// "possibly".
pub const PROBABLE: f64 = 0.6;

/// The finding kinds that rest on inferred events (calls, media, messages and the other
/// activities the model reports); the rest (services, names, destinations, the device, the
/// rhythm of online sessions) are read from flows or summarise many events.
fn inferred(kind: &str) -> bool {
    !matches!(
        kind,
        "service" | "destinations" | "dns" | "local_names" | "tls" | "device" | "rhythm" | "days"
    )
}

/// The hedge word for a confidence, or none for a sure claim.
pub fn word(confidence: f64) -> Option<&'static str> {
    if confidence >= SURE {
        None
    } else if confidence >= PROBABLE {
        Some("probably")
    } else {
        Some("possibly")
    }
}

/// Hedge every finding about inferred events by the mean confidence of its events.
pub(super) fn hedge_all(findings: &mut [Finding], events: &[Event]) {
    let by_id: BTreeMap<u64, f64> = events.iter().map(|e| (e.id, e.confidence)).collect();
    for f in findings.iter_mut().filter(|f| inferred(&f.kind)) {
        let known: Vec<f64> = f
            .events
            .iter()
            .filter_map(|id| by_id.get(id))
            .copied()
            .collect();
        if known.is_empty() {
            continue;
        }
        let mean = known.iter().sum::<f64>() / known.len() as f64;
        if let Some(w) = word(mean) {
            f.sentence = hedged(&f.sentence, w);
        }
    }
}

/// `sentence` with `w` put where the claim starts: after the time that leads it ("Tue 21:01:
/// probably a 2-minute call"), or in front. A sentence that already hedges is left alone.
fn hedged(sentence: &str, w: &str) -> String {
    let lower = sentence.to_lowercase();
    if ["probably", "possibly", "likely", "suspected", "perhaps"]
        .iter()
        .any(|h| lower.contains(h))
    {
        return sentence.to_string();
    }
    if let Some(i) = sentence.find(": ") {
        let (head, rest) = sentence.split_at(i + 2);
        return format!("{head}{w} {rest}");
    }
    let mut cap = w.to_string();
    if let Some(c) = cap.get_mut(0..1) {
        c.make_ascii_uppercase();
    }
    format!("{cap}: {sentence}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sure_claims_stay_facts_and_others_are_hedged_after_their_time() {
        assert_eq!(word(0.9), None);
        assert_eq!(word(0.7), Some("probably"));
        assert_eq!(word(0.3), Some("possibly"));
        assert_eq!(
            hedged(
                "Tue 21:01-21:02: a 2-minute WhatsApp voice call.",
                "probably"
            ),
            "Tue 21:01-21:02: probably a 2-minute WhatsApp voice call."
        );
        assert_eq!(
            hedged("In active use Tue 20:58.", "possibly"),
            "Possibly: In active use Tue 20:58."
        );
        assert_eq!(
            hedged("Tue 21:00: likely typing indicator.", "possibly"),
            "Tue 21:00: likely typing indicator."
        );
    }

    #[test]
    fn findings_read_in_the_clear_are_never_hedged() {
        let mut findings = vec![
            Finding {
                score: 0.5,
                sentence: "Tue 20:58: a WhatsApp message.".into(),
                events: vec![1],
                flows: Vec::new(),
                kind: "messages".into(),
                mitigation: String::new(),
                start_ts: None,
            },
            Finding {
                score: 0.5,
                sentence: "WhatsApp in use: named in DNS.".into(),
                events: vec![1],
                flows: Vec::new(),
                kind: "service".into(),
                mitigation: String::new(),
                start_ts: None,
            },
        ];
        let events = vec![Event {
            confidence: 0.5,
            ..crate::observer::testkit::event(1, crate::model::EventKind::MessageOut, 0.0, 1.0)
        }];
        hedge_all(&mut findings, &events);
        assert_eq!(
            findings[0].sentence,
            "Tue 20:58: possibly a WhatsApp message."
        );
        assert_eq!(findings[1].sentence, "WhatsApp in use: named in DNS.");
    }
}
