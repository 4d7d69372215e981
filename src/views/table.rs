//! `onlooker events --format table`: the inferred activities as a table people read in a
//! terminal, one line each with its evidence wrapped below it.
//!
//! NDJSON and CSV (views::export) are for scripts and keep every field; this form is for
//! people, so it writes kinds as words, times in a zone and byte counts in the one unit
//! convention of the report and dashboard ([`words::bytes`]). It must never decide or count
//! anything: it formats the events it is given, in their order.

use std::fmt::Write as _;

use crate::model::{Event, EventKind, PeerKind};
use crate::observer::words::{self, Zone};

/// Width of the table: fits a 100-column terminal, as the text report does.
pub const WIDTH: usize = 100;
/// Indent of an event's evidence under its line.
const EVIDENCE_INDENT: &str = "    ";
/// Width of the activity column: "suspected silent-receipt probing" is the longest kind.
const WHAT_WIDTH: usize = 32;
/// Width of the service column; longer names are cut with "~".
const SERVICE_WIDTH: usize = 12;

/// The events as a table: a header, then per event its start time, what it was, the
/// service, how long it lasted and the bytes each way, and its evidence indented below.
pub fn events(events: &[Event], zone: &Zone) -> String {
    let zone = zone.for_span(
        events.iter().map(|e| e.start_ts).reduce(f64::min),
        events.iter().map(|e| e.end_ts).reduce(f64::max),
    );
    let mut out = String::new();
    let head = format!("when ({})", zone.info.name);
    let rows: Vec<[String; 5]> = events
        .iter()
        .map(|e| {
            [
                when(&zone, e.start_ts),
                what(e),
                e.service.clone().unwrap_or_else(|| "unknown".into()),
                if e.end_ts - e.start_ts >= 0.5 {
                    words::duration(e.end_ts - e.start_ts)
                } else {
                    String::new()
                },
                format!(
                    "{} out, {} in",
                    words::bytes(e.bytes_out),
                    words::bytes(e.bytes_in)
                ),
            ]
        })
        .collect();
    let when_width = rows
        .iter()
        .map(|r| r[0].chars().count())
        .chain([head.chars().count()])
        .max()
        .unwrap_or(0);
    let line = |out: &mut String, cells: [&str; 5]| {
        let _ = writeln!(
            out,
            "{:<when_width$}  {:<WHAT_WIDTH$}  {:<SERVICE_WIDTH$}  {:<8}  {}",
            cells[0],
            cells[1],
            cut(cells[2], SERVICE_WIDTH),
            cells[3],
            cells[4]
        );
    };
    line(&mut out, [&head, "activity", "service", "lasted", "bytes"]);
    for (e, r) in events.iter().zip(&rows) {
        line(&mut out, [&r[0], &r[1], &r[2], &r[3], &r[4]]);
        let opts = textwrap::Options::new(WIDTH)
            .initial_indent(EVIDENCE_INDENT)
            .subsequent_indent(EVIDENCE_INDENT)
            .word_separator(textwrap::WordSeparator::AsciiSpace)
            .word_splitter(textwrap::WordSplitter::NoHyphenation);
        for l in textwrap::wrap(&e.evidence, opts) {
            let _ = writeln!(out, "{}", l.trim_end());
        }
    }
    let n = events.len();
    let _ = writeln!(
        out,
        "{n} {}",
        if n == 1 { "activity" } else { "activities" }
    );
    out
}

/// "Tue 21:04:07" ("3 Mar 21:04:07" in a capture of a week or more): the report's day and
/// time, to the second, since events a few seconds apart are told apart by it.
fn when(zone: &Zone, ts: f64) -> String {
    let day_time = zone.day_time(ts);
    match day_time.rsplit_once(' ') {
        Some((day, _)) => format!("{day} {}", zone.time_secs(ts)),
        None => zone.time_secs(ts),
    }
}

/// What an event was, in words: "voice call via a relay", "media download (a photo)".
fn what(e: &Event) -> String {
    let kind = words::kind(e.kind);
    match e.kind {
        EventKind::VoiceCall | EventKind::VideoCall | EventKind::CallAttempt => match e.peer_kind {
            Some(PeerKind::Relay) => format!("{kind} via a relay"),
            Some(PeerKind::Direct) => format!("{kind}, direct"),
            _ => kind.to_string(),
        },
        EventKind::MediaUpload | EventKind::MediaDownload if e.size_class.is_some() => {
            format!("{kind} ({})", words::size_class(e.size_class))
        }
        _ => kind.to_string(),
    }
}

/// `s` cut to `width` characters, the last one "~" when it was longer.
fn cut(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_string();
    }
    let mut c: String = s.chars().take(width.saturating_sub(1)).collect();
    c.push('~');
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_are_cut_with_a_mark_and_short_ones_kept() {
        assert_eq!(cut("WhatsApp", 12), "WhatsApp");
        assert_eq!(cut("Facebook Messenger", 12), "Facebook Me~");
        assert_eq!(cut("Facebook Messenger", 12).chars().count(), 12);
    }
}
