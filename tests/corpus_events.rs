//! Activities against the verified labels of the corpus (`expected/labels.tsv`), with the
//! figures the targets of docs/activity-model.md name: calls found (recall), voice and video
//! told apart, start and end within 2 s, call attempts reported as attempts, calls reported where
//! none was labelled (precision), extra call and attempt events beside a labelled call, media
//! transfers with their direction and size, message bursts found, message and media events that
//! match no labelled activity in the captures labelled for them, receipt probing where none
//! happened. Every figure is also printed per source (the corpus directory a capture came
//! from), so a rule that holds on one source only shows; and the stated confidence of each
//! event kind is set against the precision measured on the sources it was not stated for.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

use onlooker::activity::confidence::estimate;
use onlooker::model::{Event, EventKind};

struct Label {
    kind: String,
    start: f64,
    end: f64,
    /// Transfers or endpoints the row sums (its count, or its endpoints if more).
    parts: usize,
    /// The row's `count` column: how many like activities it aggregates (labels-method.md:
    /// `ndpi/sip.pcap`'s call_attempt row, count 4, holds four INVITE dialogs).
    count: usize,
    evidence: String,
    confidence: String,
    /// Measured payload bytes of a media row (the `bytes` column).
    bytes: Option<f64>,
}

impl Label {
    fn trusted(&self) -> bool {
        self.confidence == "high" || self.confidence == "medium"
    }
    fn is_call(&self) -> bool {
        self.kind == "voice_call" || self.kind == "video_call"
    }
    fn is_call_row(&self) -> bool {
        self.is_call() || self.kind == "call_attempt"
    }
    fn is_media(&self) -> bool {
        self.kind == "media_transfer_up" || self.kind == "media_transfer_down"
    }
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

/// The counts behind every figure, for one source or for all.
#[derive(Default, Clone)]
struct Tally {
    calls: usize,
    found: usize,
    kind_ok: usize,
    times_ok: usize,
    attempts: usize,
    attempts_ok: usize,
    reported_calls: usize,
    false_calls: usize,
    /// Labelled call rows (calls and attempts) and the call or attempt events beside the one
    /// that matches each (a leg, a probe or an allocation reported as a call of its own).
    call_rows: usize,
    extra_events: usize,
    media: usize,
    media_found: usize,
    media_size_10: usize,
    media_size_25: usize,
    msgs: usize,
    msgs_found: usize,
    /// Message and media events in the captures labelled for them, and those that match no
    /// labelled activity.
    msg_reported: usize,
    msg_unmatched: usize,
    media_reported: usize,
    media_unmatched: usize,
    probing: usize,
}

impl Tally {
    fn add(&mut self, o: &Tally) {
        macro_rules! sum {
            ($($f:ident),*) => { $( self.$f += o.$f; )* };
        }
        sum!(
            calls,
            found,
            kind_ok,
            times_ok,
            attempts,
            attempts_ok,
            reported_calls,
            false_calls,
            call_rows,
            extra_events,
            media,
            media_found,
            media_size_10,
            media_size_25,
            msgs,
            msgs_found,
            msg_reported,
            msg_unmatched,
            media_reported,
            media_unmatched,
            probing
        );
    }
}

/// An event's kind as the confidence table groups it, and whether it was right: for each
/// event of a kind the labels can judge, in a capture labelled for that kind.
struct Judged {
    source: String,
    kind: EventKind,
    stated: f64,
    right: bool,
}

/// A labelled call onlooker found, with the share of its media packets that were video-sized
/// (from its evidence): what the voice/video threshold is fitted on.
struct CallShare {
    source: String,
    video: bool,
    share: f64,
}

struct Scored {
    by_source: BTreeMap<String, Tally>,
    shares: Vec<CallShare>,
    notes: Vec<String>,
    judged: Vec<Judged>,
}

fn read_labels(corpus: &Path) -> BTreeMap<String, Vec<Label>> {
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
            count,
            evidence: r[7].clone(),
            confidence: r[8].clone(),
            bytes: r.get(10).and_then(|b| b.parse::<f64>().ok()),
        });
    }
    by_file
}

/// Score one capture's events against its labels.
fn score_file(
    file: &str,
    labels: &[Label],
    events: &[Event],
    t: &mut Tally,
    notes: &mut Vec<String>,
    judged: &mut Vec<Judged>,
    shares: &mut Vec<CallShare>,
) {
    let source = file.split('/').next().unwrap_or(file).to_string();
    for l in labels.iter().filter(|l| l.trusted()) {
        if l.is_call() {
            score_call(file, l, events, t, notes, shares);
        } else if l.kind == "call_attempt" {
            t.attempts += 1;
            let ok = events
                .iter()
                .any(|e| e.kind == EventKind::CallAttempt && overlaps(e, l, 2.0))
                && !events.iter().any(|e| {
                    e.kind.is_call()
                        && overlaps(e, l, 0.0)
                        && !labels.iter().any(|c| c.is_call() && overlaps(e, c, 2.0))
                });
            t.attempts_ok += usize::from(ok);
            if !ok {
                notes.push(format!(
                    "{file}: call_attempt {:.3}-{:.3} not reported as an attempt",
                    l.start, l.end
                ));
            }
        } else if l.kind == "message_burst" {
            t.msgs += 1;
            let hit = events
                .iter()
                .any(|e| e.kind.is_message() && overlaps(e, l, 1.0));
            t.msgs_found += usize::from(hit);
            if !hit {
                notes.push(format!(
                    "{file}: message_burst {:.3}-{:.3} not found",
                    l.start, l.end
                ));
            }
        } else if l.is_media() {
            score_media(file, l, events, t, notes);
        }
    }
    score_extras(file, labels, events, t, notes);
    // No capture of the corpus holds receipt probing: every report is a false one.
    for e in events
        .iter()
        .filter(|e| e.kind == EventKind::ProbingSuspected)
    {
        t.probing += 1;
        notes.push(format!("{file}: probing reported: {}", e.evidence));
    }
    for e in events.iter().filter(|e| e.kind.is_call()) {
        t.reported_calls += 1;
        let right = labels.iter().any(|l| l.is_call() && overlaps(e, l, 2.0));
        judged.push(Judged {
            source: source.clone(),
            kind: e.kind,
            stated: e.confidence,
            right,
        });
        if !right {
            t.false_calls += 1;
            notes.push(format!(
                "{file}: onlooker reports {} {:.3}-{:.3} not in the labels",
                e.kind, e.start_ts, e.end_ts
            ));
        }
    }
    // Attempts are right when they overlap a labelled attempt and no labelled call.
    if labels.iter().any(Label::is_call_row) {
        for e in events.iter().filter(|e| e.kind == EventKind::CallAttempt) {
            let right = labels
                .iter()
                .any(|l| l.kind == "call_attempt" && overlaps(e, l, 2.0))
                && !labels.iter().any(|l| l.is_call() && overlaps(e, l, 0.0));
            judged.push(Judged {
                source: source.clone(),
                kind: e.kind,
                stated: e.confidence,
                right,
            });
        }
    }
    // Precision of messages and media, in the captures labelled for them (a capture with no
    // such label may hold messages nobody labelled).
    let msg_labelled = labels.iter().any(|l| l.kind == "message_burst");
    let media_labelled = labels.iter().any(Label::is_media);
    for e in events {
        let (labelled, matched) = if e.kind.is_message() {
            (
                msg_labelled,
                labels
                    .iter()
                    .any(|l| l.kind == "message_burst" && overlaps(e, l, 1.0)),
            )
        } else if e.kind.is_media() {
            let want = if e.kind == EventKind::MediaUpload {
                "media_transfer_up"
            } else {
                "media_transfer_down"
            };
            (
                media_labelled,
                labels.iter().any(|l| l.kind == want && overlaps(e, l, 2.0)),
            )
        } else {
            continue;
        };
        if !labelled {
            continue;
        }
        if e.kind.is_message() {
            t.msg_reported += 1;
            t.msg_unmatched += usize::from(!matched);
        } else {
            t.media_reported += 1;
            t.media_unmatched += usize::from(!matched);
        }
        judged.push(Judged {
            source: source.clone(),
            kind: e.kind,
            stated: e.confidence,
            right: matched,
        });
        if !matched {
            notes.push(format!(
                "{file}: onlooker reports {} {:.3}-{:.3} matching no label",
                e.kind, e.start_ts, e.end_ts
            ));
        }
    }
}

/// "55% video-sized packets" in an event's evidence, as a share.
fn video_share(evidence: &str) -> Option<f64> {
    let i = evidence.find("% video-sized")?;
    let digits: String = evidence[..i]
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    digits.parse::<f64>().ok().map(|p| p / 100.0)
}

fn score_call(
    file: &str,
    l: &Label,
    events: &[Event],
    t: &mut Tally,
    notes: &mut Vec<String>,
    shares: &mut Vec<CallShare>,
) {
    t.calls += 1;
    let hit = events
        .iter()
        .filter(|e| e.kind.is_call() && overlaps(e, l, 2.0))
        .min_by(|a, b| {
            (a.start_ts - l.start)
                .abs()
                .total_cmp(&(b.start_ts - l.start).abs())
        });
    let Some(e) = hit else {
        notes.push(format!(
            "{file}: {} {:.3}-{:.3} not found",
            l.kind, l.start, l.end
        ));
        return;
    };
    t.found += 1;
    if let Some(share) = video_share(&e.evidence) {
        shares.push(CallShare {
            source: file.split('/').next().unwrap_or(file).to_string(),
            video: l.kind == "video_call",
            share,
        });
    }
    t.kind_ok += usize::from(e.kind.as_str() == l.kind);
    let times = (e.start_ts - l.start).abs() <= 2.0 && (e.end_ts - l.end).abs() <= 2.0;
    t.times_ok += usize::from(times);
    if e.kind.as_str() != l.kind || !times {
        notes.push(format!(
            "{file}: {} {:.3}-{:.3} vs onlooker {} {:.3}-{:.3}",
            l.kind, l.start, l.end, e.kind, e.start_ts, e.end_ts
        ));
    }
}

/// Call and attempt events beside the one that matches each labelled call row: every such
/// event overlapping a labelled row (2 s margin) that no row claims as its own.
fn score_extras(
    file: &str,
    labels: &[Label],
    events: &[Event],
    t: &mut Tally,
    notes: &mut Vec<String>,
) {
    let rows: Vec<&Label> = labels
        .iter()
        .filter(|l| l.trusted() && l.is_call_row())
        .collect();
    t.call_rows += rows.len();
    let callish = |e: &&Event| e.kind.is_call() || e.kind == EventKind::CallAttempt;
    let beside: Vec<&Event> = events
        .iter()
        .filter(callish)
        .filter(|e| rows.iter().any(|l| overlaps(e, l, 2.0)))
        .collect();
    let mut claimed = vec![false; beside.len()];
    for l in &rows {
        // A row aggregating several attempts (its count) claims one event per attempt, as long
        // as each lies more than the activity model's own rejoin window from the others it
        // claims: events that close together are one attempt's legs, and extra.
        let allowed = if l.kind == "call_attempt" {
            l.count.max(1)
        } else {
            1
        };
        let mut mine: Vec<f64> = Vec::new();
        for _ in 0..allowed {
            let best = beside
                .iter()
                .enumerate()
                .filter(|(i, e)| !claimed[*i] && overlaps(e, l, 2.0))
                .filter(|(_, e)| {
                    mine.iter()
                        .all(|t| (e.start_ts - t).abs() > onlooker::activity::CALL_REJOIN_SECS)
                })
                .min_by(|a, b| {
                    (a.1.start_ts - l.start)
                        .abs()
                        .total_cmp(&(b.1.start_ts - l.start).abs())
                })
                .map(|(i, _)| i);
            let Some(i) = best else { break };
            claimed[i] = true;
            mine.push(beside[i].start_ts);
        }
    }
    for (e, c) in beside.iter().zip(&claimed) {
        if !c {
            t.extra_events += 1;
            notes.push(format!(
                "{file}: extra {} {:.3}-{:.3} beside a labelled call",
                e.kind, e.start_ts, e.end_ts
            ));
        }
    }
}

fn score_media(file: &str, l: &Label, events: &[Event], t: &mut Tally, notes: &mut Vec<String>) {
    t.media += 1;
    let want = if l.kind.ends_with("up") {
        EventKind::MediaUpload
    } else {
        EventKind::MediaDownload
    };
    // The transfer that starts nearest the label's (two downloads one after the other both
    // overlap a label within the margin). A row that sums several transfers or connections (a
    // feed's photos over a dozen connections, seven profile pictures) gives their total: it is
    // compared with the total of the transfers onlooker reports inside its span.
    let size = if l.parts > 1 {
        let inside: Vec<&Event> = events
            .iter()
            .filter(|e| e.kind == want && e.start_ts >= l.start - 2.0 && e.end_ts <= l.end + 2.0)
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
    let Some(size) = size else {
        notes.push(format!(
            "{file}: {} {:.3}-{:.3} not found",
            l.kind, l.start, l.end
        ));
        return;
    };
    t.media_found += 1;
    // The evidence's figure covers what the labeller read as the transfer; the `bytes` column
    // only the listed endpoints (labels-bytes.md): the nearer of the two is the label's size.
    let candidates = [label_payload(&l.evidence), l.bytes];
    let Some(err) = candidates
        .iter()
        .flatten()
        .map(|want| (size - want).abs() / want)
        .min_by(f64::total_cmp)
    else {
        return;
    };
    t.media_size_10 += usize::from(err <= 0.10);
    t.media_size_25 += usize::from(err <= 0.25);
    if err > 0.10 {
        notes.push(format!(
            "{file}: {} size {:?} vs onlooker {size:.0}",
            l.kind, candidates
        ));
    }
}

fn scored() -> Option<&'static Scored> {
    static SCORED: OnceLock<Option<Scored>> = OnceLock::new();
    SCORED
        .get_or_init(|| {
            let corpus = common::corpus()?;
            let mut by_source: BTreeMap<String, Tally> = BTreeMap::new();
            let mut notes = Vec::new();
            let mut judged = Vec::new();
            let mut shares = Vec::new();
            for (file, labels) in &read_labels(&corpus) {
                let events = common::events_of(&corpus.join("pcap").join(file));
                let source = file.split('/').next().unwrap_or(file).to_string();
                let t = by_source.entry(source).or_default();
                score_file(
                    file,
                    labels,
                    &events,
                    t,
                    &mut notes,
                    &mut judged,
                    &mut shares,
                );
            }
            Some(Scored {
                by_source,
                shares,
                notes,
                judged,
            })
        })
        .as_ref()
}

fn pct(a: usize, b: usize) -> f64 {
    100.0 * a as f64 / b.max(1) as f64
}

fn ratio(a: usize, b: usize) -> String {
    format!("{a}/{b} = {:.0}%", pct(a, b))
}

#[test]
fn events_agree_with_the_verified_labels() {
    let Some(s) = scored() else {
        common::skip("events_agree_with_the_verified_labels");
        return;
    };
    let mut all = Tally::default();
    for t in s.by_source.values() {
        all.add(t);
    }
    let t = &all;
    let rows: [(&str, &str, String); 14] = [
        ("calls", "recall (target 95%)", ratio(t.found, t.calls)),
        ("calls", "voice/video right", ratio(t.kind_ok, t.found)),
        (
            "calls",
            "start and end within 2 s (90%)",
            ratio(t.times_ok, t.found),
        ),
        (
            "calls",
            "precision (target 95%)",
            ratio(t.reported_calls - t.false_calls, t.reported_calls),
        ),
        (
            "call_attempt",
            "reported as attempts (90%)",
            ratio(t.attempts_ok, t.attempts),
        ),
        (
            "calls",
            "extra events per labelled (5%)",
            ratio(t.extra_events, t.call_rows),
        ),
        (
            "media_transfer",
            "recall (target 90%)",
            ratio(t.media_found, t.media),
        ),
        (
            "media_transfer",
            "size within 10%",
            ratio(t.media_size_10, t.media_found),
        ),
        (
            "media_transfer",
            "size within 25% (target 80%)",
            ratio(t.media_size_25, t.media_found),
        ),
        (
            "media_transfer",
            "unmatched of reported (10%)",
            ratio(t.media_unmatched, t.media_reported),
        ),
        (
            "message_burst",
            "recall (target 90%)",
            ratio(t.msgs_found, t.msgs),
        ),
        (
            "message",
            "unmatched of reported (10%)",
            ratio(t.msg_unmatched, t.msg_reported),
        ),
        ("probing", "reported (none labelled)", t.probing.to_string()),
        ("", "", String::new()),
    ];
    println!("kind            measure                          value");
    for (k, m, v) in rows.iter().filter(|r| !r.0.is_empty()) {
        println!("{k:<15} {m:<32} {v}");
    }
    println!();
    println!(
        "per source      calls found  call prec.  extras  msgs found  msg unmatched  media found"
    );
    for (src, t) in &s.by_source {
        println!(
            "{src:<15} {:>11}  {:>10}  {:>6}  {:>10}  {:>13}  {:>11}",
            format!("{}/{}", t.found, t.calls),
            format!("{}/{}", t.reported_calls - t.false_calls, t.reported_calls),
            format!("{}/{}", t.extra_events, t.call_rows),
            format!("{}/{}", t.msgs_found, t.msgs),
            format!("{}/{}", t.msg_unmatched, t.msg_reported),
            format!("{}/{}", t.media_found, t.media),
        );
    }
    println!();
    for n in &s.notes {
        println!("  {n}");
    }
    assert!(
        t.calls >= 15,
        "expected the labelled calls, found {}",
        t.calls
    );
    // Levels reached (docs/activity-model.md lists them with the labels still missed): a rule
    // that regresses by one label fails here.
    assert!(pct(t.found, t.calls) >= 95.0, "call recall fell");
    assert!(pct(t.kind_ok, t.found) >= 90.0, "voice/video fell");
    assert!(pct(t.times_ok, t.found) >= 90.0, "call start/end fell");
    assert!(
        pct(t.reported_calls - t.false_calls, t.reported_calls) >= 95.0,
        "call precision fell"
    );
    assert!(pct(t.attempts_ok, t.attempts) >= 90.0, "call attempts fell");
    assert!(pct(t.media_found, t.media) >= 90.0, "media recall fell");
    assert!(
        pct(t.media_size_25, t.media_found) >= 80.0,
        "media sizes fell"
    );
    assert!(pct(t.msgs_found, t.msgs) >= 90.0, "message recall fell");
    assert!(
        pct(t.msg_unmatched, t.msg_reported) <= 13.0,
        "messages matching no label rose"
    );
    assert!(
        pct(t.extra_events, t.call_rows) <= 5.0,
        "extra call and attempt events rose"
    );
    assert!(
        pct(t.media_unmatched, t.media_reported) <= 10.0,
        "media transfers matching no label rose"
    );
    assert!(t.probing == 0, "probing reported where none was labelled");
}

/// The confidence an event states against how often such events are right. The stated value
/// comes from assets/activity/confidence.tsv, measured on this corpus; so that the check does
/// not grade the table on the events it was fitted to, each source's events are also given the
/// value a table fitted on the other sources would state (leave one source out), and that
/// prediction must come within 0.1 of the precision measured, for every kind judged 10 times or
/// more. Prints the table's rows as measured now ("suggested").
#[test]
fn stated_confidence_tracks_measured_precision() {
    let Some(s) = scored() else {
        common::skip("stated_confidence_tracks_measured_precision");
        return;
    };
    let mut kinds: BTreeMap<EventKind, Vec<&Judged>> = BTreeMap::new();
    for j in &s.judged {
        kinds.entry(j.kind).or_default().push(j);
    }
    println!("kind              n  stated  measured  held-out  sources");
    let mut off = Vec::new();
    let mut suggested = Vec::new();
    let mut unconfirmed = Vec::new();
    for (kind, js) in &kinds {
        let n = js.len();
        let right = js.iter().filter(|j| j.right).count();
        let stated = js.iter().map(|j| j.stated).sum::<f64>() / n as f64;
        let measured = right as f64 / n as f64;
        let mut sources: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
        for j in js {
            let e = sources.entry(j.source.as_str()).or_default();
            e.0 += 1;
            e.1 += usize::from(j.right);
        }
        // Each source's events get the estimate from the other sources' events.
        let held_out = sources
            .keys()
            .map(|src| {
                let (on, or) = sources
                    .iter()
                    .filter(|(o, _)| *o != src)
                    .fold((0, 0), |a, (_, (n, r))| (a.0 + n, a.1 + r));
                estimate(or, on) * sources[src].0 as f64
            })
            .sum::<f64>()
            / n as f64;
        println!(
            "{:<15} {n:>4}  {stated:>6.2}  {measured:>8.2}  {held_out:>8.2}  {}",
            kind.as_str(),
            sources
                .iter()
                .map(|(s, (n, r))| format!("{s} {r}/{n}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        suggested.push(format!(
            "{}\t{:.2}\t{right}\t{n}",
            kind.as_str(),
            estimate(right, n)
        ));
        // Compared as printed, to two decimals.
        let gap = |a: f64, b: f64| ((a - b).abs() * 100.0).round() / 100.0;
        // The held-out value means something only when every source's complement was judged
        // 10 times or more; otherwise it is printed, and docs/activity-model.md says the kind
        // is not confirmed leave one source out.
        let confirmable = sources.values().all(|(sn, _)| n - sn >= 10);
        if !confirmable {
            unconfirmed.push(kind.as_str());
        }
        if n >= 10
            && (gap(stated, measured) > 0.1 || (confirmable && gap(held_out, measured) > 0.1))
        {
            off.push(format!(
                "{kind}: stated {stated:.2}, held-out {held_out:.2}, measured {measured:.2}"
            ));
        }
    }
    println!(
        "not confirmed leave one source out (a source's complement judged under 10 times): {unconfirmed:?}"
    );
    println!("suggested table rows:");
    for r in &suggested {
        println!("{r}");
    }
    assert!(
        kinds.values().filter(|js| js.len() >= 10).count() >= 4,
        "too few event kinds judged against the labels"
    );
    assert!(off.is_empty(), "confidence off by more than 0.1: {off:?}");
}

/// A threshold fitted on the corpus, checked leave one source out: the share of video-sized
/// packets from which a call is a video call (`VIDEO_SHARE`). For each source, the threshold
/// that tells voice from video best on the other sources (the middle of the best range on a
/// grid of 1% steps) is tried on the source left out. Prints each fold; the held-out accuracy
/// must stay at the level the rule reaches on the whole corpus less one call.
#[test]
fn the_video_share_holds_leave_one_source_out() {
    let Some(s) = scored() else {
        common::skip("the_video_share_holds_leave_one_source_out");
        return;
    };
    let right = |cut: f64, c: &CallShare| (c.share >= cut) == c.video;
    let best_cut = |train: &[&CallShare]| -> f64 {
        let scores: Vec<(f64, usize)> = (1..=90)
            .map(|p| {
                let cut = f64::from(p) / 100.0;
                (cut, train.iter().filter(|c| right(cut, c)).count())
            })
            .collect();
        let top = scores.iter().map(|x| x.1).max().unwrap_or(0);
        let best: Vec<f64> = scores.iter().filter(|x| x.1 == top).map(|x| x.0).collect();
        (best[0] + best[best.len() - 1]) / 2.0
    };
    let sources: std::collections::BTreeSet<&str> =
        s.shares.iter().map(|c| c.source.as_str()).collect();
    let (mut held_right, mut held_n) = (0, 0);
    println!("left out        calls  fitted on the rest  right on the left-out");
    for src in &sources {
        let train: Vec<&CallShare> = s.shares.iter().filter(|c| c.source != *src).collect();
        let test: Vec<&CallShare> = s.shares.iter().filter(|c| c.source == *src).collect();
        let cut = best_cut(&train);
        let ok = test.iter().filter(|c| right(cut, c)).count();
        println!(
            "{src:<15} {:>5}  {:>17.0}%  {ok}/{}",
            test.len(),
            cut * 100.0,
            test.len()
        );
        held_right += ok;
        held_n += test.len();
    }
    let all: Vec<&CallShare> = s.shares.iter().collect();
    let shipped = onlooker::activity::VIDEO_SHARE;
    let shipped_ok = all.iter().filter(|c| right(shipped, c)).count();
    println!(
        "held out: {held_right}/{held_n}; the shipped {:.0}% on all: {shipped_ok}/{}",
        shipped * 100.0,
        all.len()
    );
    assert!(held_n >= 15, "too few calls with a video share: {held_n}");
    assert!(
        held_right + 1 >= shipped_ok,
        "the fitted threshold does not carry over to the sources left out"
    );
}
