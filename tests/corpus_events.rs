//! Activities against the verified labels of the corpus (`expected/labels.tsv`): calls found
//! (recall), voice and video told apart, start and end within 2 s, call attempts reported as
//! attempts, calls reported where none was labelled (precision), media transfers with their
//! direction and size, receipt probing where none happened. Prints a per-kind table; asserts
//! the levels reached (docs/activity-model.md lists them with the labels still missed).

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use onlooker::activity::infer;
use onlooker::analysis::pipeline::PipelineConfig;
use onlooker::analysis::summarize;
use onlooker::capture::offline::FileSource;
use onlooker::model::{Event, EventKind};
use onlooker::naming::catalog::Catalog;
use onlooker::naming::geo::Geo;

fn events_of(path: &Path) -> Vec<Event> {
    let Ok(mut src) = FileSource::new(&[path.to_path_buf()]) else {
        return Vec::new();
    };
    let catalog = Catalog::bundled().unwrap_or_else(|e| panic!("{e}"));
    let (flows, _) = summarize(&mut src, catalog, Geo::bundled(), PipelineConfig::default());
    infer(&flows)
}

struct Label {
    kind: String,
    start: f64,
    end: f64,
    /// Transfers or endpoints the row sums (its count, or its endpoints if more).
    parts: usize,
    evidence: String,
    confidence: String,
}

fn overlaps(e: &Event, l: &Label, margin: f64) -> bool {
    e.start_ts <= l.end + margin && l.start <= e.end_ts + margin
}

/// "176 KB payload" in a label's evidence, in bytes.
fn label_payload(ev: &str) -> Option<f64> {
    let i = ev.find(" KB payload")?;
    let num: String = ev[..i]
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    num.parse::<f64>().ok().map(|k| k * 1000.0)
}

#[test]
fn events_agree_with_the_verified_labels() {
    let Some(corpus) = common::corpus() else {
        common::skip("events_agree_with_the_verified_labels");
        return;
    };
    let mut by_file: BTreeMap<String, Vec<Label>> = BTreeMap::new();
    for r in common::read_tsv(&corpus.join("expected/labels.tsv")) {
        if r.len() < 9 {
            continue;
        }
        let (Ok(start), Ok(end)) = (r[3].parse::<f64>(), r[4].parse::<f64>()) else {
            continue;
        };
        let count = r[6].parse::<usize>().unwrap_or(1);
        let endpoints = r[5].split(';').filter(|e| !e.is_empty()).count();
        by_file.entry(r[0].clone()).or_default().push(Label {
            kind: r[2].clone(),
            start,
            end,
            parts: count.max(endpoints),
            evidence: r[7].clone(),
            confidence: r[8].clone(),
        });
    }
    let trusted = |l: &Label| l.confidence == "high" || l.confidence == "medium";
    let is_call = |k: &str| k == "voice_call" || k == "video_call";
    let (mut calls, mut found, mut kind_ok, mut times_ok) = (0, 0, 0, 0);
    let (mut attempts, mut attempts_ok) = (0, 0);
    let (mut reported_calls, mut false_calls) = (0, 0);
    let (mut media, mut media_found, mut media_size_ok) = (0, 0, 0);
    let (mut msgs, mut msgs_found) = (0, 0);
    let mut probing = Vec::new();
    let mut notes = Vec::new();
    for (file, labels) in &by_file {
        let events = events_of(&corpus.join("pcap").join(file));
        for l in labels.iter().filter(|l| trusted(l)) {
            if is_call(&l.kind) {
                calls += 1;
                let hit = events
                    .iter()
                    .filter(|e| e.kind.is_call() && overlaps(e, l, 2.0))
                    .min_by(|a, b| {
                        (a.start_ts - l.start)
                            .abs()
                            .total_cmp(&(b.start_ts - l.start).abs())
                    });
                match hit {
                    Some(e) => {
                        found += 1;
                        kind_ok += usize::from(e.kind.as_str() == l.kind);
                        let t =
                            (e.start_ts - l.start).abs() <= 2.0 && (e.end_ts - l.end).abs() <= 2.0;
                        times_ok += usize::from(t);
                        if e.kind.as_str() != l.kind || !t {
                            notes.push(format!(
                                "{file}: {} {:.3}-{:.3} vs onlooker {} {:.3}-{:.3}",
                                l.kind, l.start, l.end, e.kind, e.start_ts, e.end_ts
                            ));
                        }
                    }
                    None => notes.push(format!(
                        "{file}: {} {:.3}-{:.3} not found",
                        l.kind, l.start, l.end
                    )),
                }
            } else if l.kind == "call_attempt" {
                attempts += 1;
                let ok = events
                    .iter()
                    .any(|e| e.kind == EventKind::CallAttempt && overlaps(e, l, 2.0))
                    && !events.iter().any(|e| {
                        e.kind.is_call()
                            && overlaps(e, l, 0.0)
                            && !labels
                                .iter()
                                .any(|c| is_call(&c.kind) && overlaps(e, c, 2.0))
                    });
                attempts_ok += usize::from(ok);
                if !ok {
                    notes.push(format!(
                        "{file}: call_attempt {:.3}-{:.3} not reported as an attempt",
                        l.start, l.end
                    ));
                }
            } else if l.kind == "message_burst" {
                msgs += 1;
                let hit = events
                    .iter()
                    .any(|e| e.kind.is_message() && overlaps(e, l, 1.0));
                msgs_found += usize::from(hit);
                if !hit {
                    notes.push(format!(
                        "{file}: message_burst {:.3}-{:.3} not found",
                        l.start, l.end
                    ));
                }
            } else if l.kind == "media_transfer_up" || l.kind == "media_transfer_down" {
                media += 1;
                let want = if l.kind.ends_with("up") {
                    EventKind::MediaUpload
                } else {
                    EventKind::MediaDownload
                };
                // The transfer that starts nearest the label's (two downloads one after the
                // other both overlap a label within the margin). A row that sums several
                // transfers or connections (a feed's photos over a dozen connections, seven
                // profile pictures) gives their total: it is compared with the total of the
                // transfers onlooker reports inside its span.
                let size = if l.parts > 1 {
                    let inside: Vec<&Event> = events
                        .iter()
                        .filter(|e| {
                            e.kind == want && e.start_ts >= l.start - 2.0 && e.end_ts <= l.end + 2.0
                        })
                        .collect();
                    (!inside.is_empty()).then(|| {
                        inside
                            .iter()
                            .map(|e| (e.bytes_out + e.bytes_in) as f64)
                            .sum()
                    })
                } else {
                    events
                        .iter()
                        .filter(|e| e.kind == want && overlaps(e, l, 2.0))
                        .min_by(|a, b| {
                            (a.start_ts - l.start)
                                .abs()
                                .total_cmp(&(b.start_ts - l.start).abs())
                        })
                        .map(|e| (e.bytes_out + e.bytes_in) as f64)
                };
                if let Some(size) = size {
                    media_found += 1;
                    if let Some(expected) = label_payload(&l.evidence) {
                        if (size - expected).abs() <= 0.1 * expected {
                            media_size_ok += 1;
                        } else {
                            notes.push(format!(
                                "{file}: {} size {expected:.0} vs onlooker {size:.0}",
                                l.kind
                            ));
                        }
                    }
                } else {
                    notes.push(format!(
                        "{file}: {} {:.3}-{:.3} not found",
                        l.kind, l.start, l.end
                    ));
                }
            }
        }
        // No capture of the corpus holds receipt probing: every report is a false one.
        for e in events
            .iter()
            .filter(|e| e.kind == EventKind::ProbingSuspected)
        {
            probing.push(format!("{file}: {}", e.evidence));
        }
        for e in events.iter().filter(|e| e.kind.is_call()) {
            reported_calls += 1;
            if !labels
                .iter()
                .any(|l| is_call(&l.kind) && overlaps(e, l, 2.0))
            {
                false_calls += 1;
                notes.push(format!(
                    "{file}: onlooker reports {} {:.3}-{:.3} not in the labels",
                    e.kind, e.start_ts, e.end_ts
                ));
            }
        }
    }
    let pct = |a: usize, b: usize| 100.0 * a as f64 / b.max(1) as f64;
    println!("kind            measure                      value");
    println!(
        "calls           recall                       {found}/{calls} = {:.0}% (target 95%)",
        pct(found, calls)
    );
    println!(
        "calls           voice/video right            {kind_ok}/{found} = {:.0}% (target 90%)",
        pct(kind_ok, found)
    );
    println!(
        "calls           start and end within 2 s     {times_ok}/{found} = {:.0}%",
        pct(times_ok, found)
    );
    println!(
        "calls           precision                    {}/{reported_calls} = {:.0}% (target 95%)",
        reported_calls - false_calls,
        pct(reported_calls - false_calls, reported_calls)
    );
    println!(
        "call_attempt    reported as attempts         {attempts_ok}/{attempts} = {:.0}%",
        pct(attempts_ok, attempts)
    );
    println!(
        "media_transfer  recall                       {media_found}/{media} = {:.0}%",
        pct(media_found, media)
    );
    println!("media_transfer  size within 10%              {media_size_ok}/{media_found}");
    println!(
        "message_burst   recall                       {msgs_found}/{msgs} = {:.0}%",
        pct(msgs_found, msgs)
    );
    println!(
        "probing         reported (none labelled)     {}",
        probing.len()
    );
    for n in notes.iter().chain(&probing) {
        println!("  {n}");
    }
    assert!(calls >= 15, "expected the labelled calls, found {calls}");
    // Levels reached on 2026-12-01 (see docs/activity-model.md): a rule that regresses by one
    // label fails here.
    assert!(pct(found, calls) >= 95.0, "call recall fell");
    assert!(pct(kind_ok, found) >= 90.0, "voice/video fell");
    assert!(pct(times_ok, found) >= 95.0, "call start/end fell");
    assert!(
        pct(reported_calls - false_calls, reported_calls) >= 95.0,
        "call precision fell"
    );
    assert!(pct(attempts_ok, attempts) >= 95.0, "call attempts fell");
    assert!(pct(media_found, media) >= 99.0, "media recall fell");
    assert!(pct(media_size_ok, media_found) >= 95.0, "media sizes fell");
    assert!(pct(msgs_found, msgs) >= 85.0, "message recall fell");
    assert!(
        probing.is_empty(),
        "probing reported where none was labelled"
    );
}
