//! The confidence an event states, measured rather than chosen: for each event kind the labels
//! can judge, the share of such events that were right on the labelled corpus, from
//! assets/activity/confidence.tsv (compiled in, read once). The rules still give a confidence of
//! their own; it stays only for the kinds no label judges (typing indicators, read receipts,
//! pushes, probing, online sessions), and docs/activity-model.md says so. It must never be
//! fitted to the capture being analysed: the table is fixed data, measured once and checked
//! leave-one-source-out by `tests/corpus_events.rs`.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use super::table::{self, TableFault, is_date};
use crate::model::{Event, EventKind};

/// The bundled table.
const BUNDLED: &str = include_str!("../../assets/activity/confidence.tsv");

/// The columns of the table, in order; its first line that is not a comment names them.
const HEADER: [&str; 5] = ["kind", "confidence", "right", "judged", "measured"];

/// Never state certainty: an estimate from a few dozen labelled events is no proof.
pub const MAX_CONFIDENCE: f64 = 0.95;

/// A table that does not follow its format.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfidenceError {
    #[error("confidence.tsv line {line}: {message}")]
    Row { line: usize, message: String },
    #[error("confidence.tsv: no header line")]
    NoHeader,
}

/// The estimate of a kind's precision from `right` of `judged` events: the rule of succession,
/// (right + 1) / (judged + 2), which neither states certainty from a handful of events nor
/// zero from none, capped at [`MAX_CONFIDENCE`].
pub fn estimate(right: usize, judged: usize) -> f64 {
    ((right as f64 + 1.0) / (judged as f64 + 2.0)).min(MAX_CONFIDENCE)
}

/// Parse a table: `#` comments, the header, then one row per kind with the stated confidence,
/// the events right and judged it rests on, and the date it was measured (`YYYY-MM-DD`).
pub fn parse(text: &str) -> Result<BTreeMap<EventKind, f64>, ConfidenceError> {
    let rows = table::rows(text, &HEADER).map_err(|f| match f {
        TableFault::Row { line, message } => ConfidenceError::Row { line, message },
        TableFault::NoHeader => ConfidenceError::NoHeader,
    })?;
    let mut out = BTreeMap::new();
    for (line, cols) in rows {
        let err = |message: String| ConfidenceError::Row { line, message };
        let [kind, confidence, right, judged, measured] = cols[..] else {
            return Err(err("a row of the wrong width".into()));
        };
        let kind = EventKind::parse(kind).ok_or_else(|| err(format!("unknown kind {kind:?}")))?;
        let confidence: f64 = confidence
            .parse()
            .map_err(|_| err(format!("confidence {confidence:?} is not a number")))?;
        if !(0.0..=MAX_CONFIDENCE).contains(&confidence) {
            return Err(err(format!(
                "confidence {confidence} is outside 0 to {MAX_CONFIDENCE}"
            )));
        }
        let (Ok(_), Ok(_)) = (right.parse::<usize>(), judged.parse::<usize>()) else {
            return Err(err("right and judged must be counts".into()));
        };
        if !is_date(measured) {
            return Err(err(format!("date {measured:?} is not YYYY-MM-DD")));
        }
        if out.insert(kind, confidence).is_some() {
            return Err(err(format!("{kind} is listed twice")));
        }
    }
    Ok(out)
}

/// The bundled table (empty, so that every rule keeps its own value, if it failed to parse;
/// a test checks it parses).
fn table() -> &'static BTreeMap<EventKind, f64> {
    static TABLE: OnceLock<BTreeMap<EventKind, f64>> = OnceLock::new();
    TABLE.get_or_init(|| parse(BUNDLED).unwrap_or_default())
}

/// Give each event of a measured kind the confidence measured for its kind.
pub(super) fn calibrate(events: &mut [Event]) {
    let t = table();
    for e in events {
        if let Some(c) = t.get(&e.kind) {
            e.confidence = *c;
        }
    }
}

/// The measured confidence of a kind, if the table has it.
pub fn measured(kind: EventKind) -> Option<f64> {
    table().get(&kind).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_table_parses_and_states_no_certainty() {
        let t = parse(BUNDLED).unwrap_or_else(|e| panic!("{e}"));
        assert!(t.contains_key(&EventKind::VoiceCall));
        assert!(t.values().all(|c| *c <= MAX_CONFIDENCE));
    }

    #[test]
    fn the_estimate_neither_claims_certainty_nor_zero() {
        assert_eq!(estimate(0, 0), 0.5);
        assert_eq!(estimate(6, 6), 7.0 / 8.0);
        assert_eq!(estimate(200, 200), MAX_CONFIDENCE);
        assert_eq!(estimate(0, 8), 0.1);
    }

    #[test]
    fn a_malformed_table_says_where() {
        let head = "kind\tconfidence\tright\tjudged\tmeasured\n";
        assert_eq!(parse(""), Err(ConfidenceError::NoHeader));
        let bad = format!("{head}voice_call\t1.2\t1\t1\t2026-12-03\n");
        assert!(matches!(
            parse(&bad),
            Err(ConfidenceError::Row { line: 2, .. })
        ));
        let unknown = format!("{head}singing\t0.5\t1\t1\t2026-12-03\n");
        assert!(parse(&unknown).is_err());
    }
}
