//! The path of calls against the corpus labels (`expected/labels.tsv`, column
//! `relay_or_direct`, evidence per row in `expected/labels-path.md`): for every labelled call,
//! voice or video call or call attempt, whose path is `relay`, `direct` or `both` (a relay leg
//! and a direct leg), the call and attempt events that overlap it within 2 s and their
//! `peer_kind`. Right: relay as relay, direct as direct, both as direct (the peer was exposed on
//! the direct leg). A `both` call reported as a relay only (its direct leg not seen) is counted
//! apart. Prints the table per label and the totals per label and per corpus source; asserts
//! that no relayed call is reported direct and the accuracy reached.

mod common;

use std::collections::BTreeMap;

use onlooker::model::{Event, EventKind};

/// The share of labelled calls whose path is right: the target, reached with 50 of 52
/// (docs/activity-model.md lists the two others: a relay-and-direct Zoom call whose direct leg
/// the trimmed capture barely shows, and provider equipment on private addresses, unknown).
const MIN_ACCURACY: f64 = 0.95;
/// A call event belongs to a label when they overlap within this margin (as in
/// tests/corpus_events.rs).
const MARGIN_SECS: f64 = 2.0;

/// What the events overlapping one label say of its path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Verdict {
    Right,
    /// A `both` call reported through a relay only: its direct leg was not seen.
    BothAsRelay,
    /// No event said relay or direct: unknown, or no path.
    Unknown,
    /// No call or attempt event overlaps the label.
    NotFound,
    /// The wrong path claimed.
    Wrong,
}

fn judge(label: &str, kinds: &[&str]) -> Verdict {
    let has = |k: &str| kinds.contains(&k);
    if kinds.is_empty() {
        return Verdict::NotFound;
    }
    match label {
        "relay" if has("direct") => Verdict::Wrong,
        "relay" if has("relay") => Verdict::Right,
        "direct" | "both" if has("direct") => Verdict::Right,
        "both" if has("relay") => Verdict::BothAsRelay,
        "direct" if has("relay") => Verdict::Wrong,
        _ => Verdict::Unknown,
    }
}

#[test]
fn call_paths_agree_with_the_labels() {
    let Some(corpus) = common::corpus() else {
        common::skip("call_paths_agree_with_the_labels");
        return;
    };
    let mut rows = Vec::new();
    for r in common::read_tsv(&corpus.join("expected/labels.tsv")) {
        if r.len() < 10 || !matches!(r[2].as_str(), "voice_call" | "video_call" | "call_attempt") {
            continue;
        }
        let label = r[9].clone();
        if !matches!(label.as_str(), "relay" | "direct" | "both") {
            continue;
        }
        let (Ok(start), Ok(end)) = (r[3].parse::<f64>(), r[4].parse::<f64>()) else {
            continue;
        };
        rows.push((r[0].clone(), r[2].clone(), start, end, label));
    }
    assert!(!rows.is_empty(), "no labelled call paths in labels.tsv");
    let mut cache: BTreeMap<String, Vec<Event>> = BTreeMap::new();
    let mut totals: BTreeMap<(String, Verdict), usize> = BTreeMap::new();
    let mut by_source: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut wrong_direct = Vec::new();
    let mut wrong_relay = Vec::new();
    println!("file\tactivity\tstart\tlabel\tonlooker\tverdict");
    for (file, activity, start, end, label) in &rows {
        let events = cache
            .entry(file.clone())
            .or_insert_with(|| common::events_of(&corpus.join("pcap").join(file)));
        let mut kinds: Vec<&str> = events
            .iter()
            .filter(|e| e.kind.is_call() || e.kind == EventKind::CallAttempt)
            .filter(|e| e.start_ts <= end + MARGIN_SECS && *start <= e.end_ts + MARGIN_SECS)
            .map(|e| e.peer_kind.map_or("none", |k| k.as_str()))
            .collect();
        kinds.sort_unstable();
        kinds.dedup();
        let v = judge(label, &kinds);
        println!(
            "{file}\t{activity}\t{start:.3}\t{label}\t{}\t{v:?}",
            kinds.join(",")
        );
        *totals.entry((label.clone(), v)).or_default() += 1;
        let source = file.split('/').next().unwrap_or_default().to_string();
        let s = by_source.entry(source).or_default();
        s.0 += 1;
        s.1 += usize::from(v == Verdict::Right);
        if v == Verdict::Wrong {
            let which = format!("{file} {activity} {start:.3}");
            if label == "relay" {
                wrong_direct.push(which);
            } else {
                wrong_relay.push(which);
            }
        }
    }
    println!("\nlabel\tverdict\tcalls");
    for ((label, v), n) in &totals {
        println!("{label}\t{v:?}\t{n}");
    }
    println!("\nsource\tright\tlabelled");
    for (s, (n, right)) in &by_source {
        println!("{s}\t{right}\t{n}");
    }
    let n = rows.len();
    let right: usize = totals
        .iter()
        .filter(|((_, v), _)| *v == Verdict::Right)
        .map(|(_, c)| c)
        .sum();
    let both_relay: usize = totals
        .iter()
        .filter(|((_, v), _)| *v == Verdict::BothAsRelay)
        .map(|(_, c)| c)
        .sum();
    let found = n - totals
        .iter()
        .filter(|((_, v), _)| *v == Verdict::NotFound)
        .map(|(_, c)| c)
        .sum::<usize>();
    let accuracy = right as f64 / n as f64;
    println!(
        "\npath right on {right} of {n} labelled calls ({:.1}%), {right} of the {found} found ({:.1}%); {both_relay} relay-and-direct calls reported through the relay only (their direct leg not seen); {} relayed calls reported direct",
        100.0 * accuracy,
        100.0 * right as f64 / found.max(1) as f64,
        wrong_direct.len()
    );
    assert!(
        wrong_direct.is_empty(),
        "relayed calls reported direct (the peer's address claimed exposed): {wrong_direct:?}"
    );
    assert!(
        wrong_relay.is_empty(),
        "calls with a direct leg reported through a relay only: {wrong_relay:?}"
    );
    assert!(
        accuracy >= MIN_ACCURACY,
        "path right on {right} of {n} labelled calls, below {MIN_ACCURACY}"
    );
}
