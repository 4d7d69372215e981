//! `onlooker report --format html`: the report as one self-contained page to share: the
//! findings with their evidence, what would have hidden them, the calls, messages and media
//! tables, and pictures as inline SVG (a timeline, the hours of activity, where the traffic
//! went).
//!
//! It exists for people who will not read a terminal report. It must never reference anything
//! outside the page (no script, stylesheet, font or image fetched from anywhere: the page is
//! opened on machines that should not call out), and, like the other forms, it formats what
//! the model holds and decides nothing. `--redact` has acted on the model already.

use std::fmt::Write as _;

use crate::observer::words;
use crate::observer::{Finding, Model};
use crate::views::report::Inputs;

/// Width of the SVG pictures in CSS pixels; they scale down with the page.
const SVG_WIDTH: f64 = 900.0;
/// Height of one service's lane in the timeline.
const LANE: f64 = 22.0;
/// Left margin of the timeline, for the service names.
const LABEL_WIDTH: f64 = 140.0;
/// Countries drawn in the destinations chart (the tables list all).
const COUNTRIES_DRAWN: usize = 12;

/// The page's own style: inline, so nothing is fetched.
const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;\
padding:0 1em;color:#222;line-height:1.45}h1{font-size:1.6em}h2{margin-top:1.8em;\
border-bottom:1px solid #ccc}table{border-collapse:collapse;margin:.5em 0}td,th{border:1px \
solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}th{background:#f3f3f3}\
.note{background:#fff6d6;border-left:4px solid #e0b000;padding:.5em 1em}.ev{color:#555;\
font-size:.9em}svg{max-width:100%;height:auto}code{font-size:.9em}";

/// Escape text for HTML content and attribute values.
fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c if c.is_control() && c != '\n' => o.push('\u{fffd}'),
            c => o.push(c),
        }
    }
    o
}

/// The whole page.
pub fn render(model: &Model, inputs: &Inputs) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>What an observer on the path learned</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <h1>What an observer on the path learned</h1>\n"
    );
    header(&mut h, model, inputs);
    h.push_str("<h2>Headline</h2>\n<ul>\n");
    for f in &model.headline {
        let _ = writeln!(h, "<li>{}</li>", esc(&f.sentence));
    }
    h.push_str("</ul>\n");
    timeline(&mut h, model);
    hours(&mut h, model);
    calls(&mut h, model);
    messages(&mut h, model);
    media(&mut h, model);
    destinations(&mut h, model);
    mitigations(&mut h, model);
    findings(&mut h, &model.findings);
    h.push_str("</body>\n</html>\n");
    h
}

fn header(h: &mut String, m: &Model, inputs: &Inputs) {
    let c = &m.capture;
    h.push_str("<ul>\n");
    let _ = writeln!(h, "<li>Captures: {}</li>", esc(&inputs.files.join(", ")));
    let covers = c.span.as_deref().map_or_else(
        || "no packets".to_string(),
        |s| format!("{s} ({})", words::duration(c.duration_secs)),
    );
    let _ = writeln!(
        h,
        "<li>Covers: {}; {} {}, {} {} inferred</li>",
        esc(&covers),
        c.flows,
        if c.flows == 1 { "flow" } else { "flows" },
        c.events,
        if c.events == 1 {
            "activity"
        } else {
            "activities"
        }
    );
    let _ = writeln!(h, "<li>Times are in {}.</li>", esc(&m.zone.name));
    if m.redacted {
        h.push_str(
            "<li>Redacted for sharing: addresses of this side are shown as device-N and those \
             of direct call peers as peer-N; local host names are left out.</li>\n",
        );
    }
    for p in &inputs.partial {
        let _ = writeln!(
            h,
            "<li>Partial input (read up to the damage): {}</li>",
            esc(p)
        );
    }
    h.push_str("</ul>\n");
    if inputs.synthetic {
        h.push_str(
            "<p class=\"note\">Synthetic capture: onlooker's bundled demo, written by its own \
             scenario writer from published traffic figures. No real person's traffic is in it; \
             the people, calls and messages below are invented.</p>\n",
        );
    }
    h.push_str(
        "<p class=\"note\">Everything below comes from metadata alone (addresses, timing, sizes, \
         names sent in the clear); no content was decrypted.</p>\n",
    );
}

/// When each service was active (its online sessions as bars) and when calls happened
/// (marks), over the capture's span.
fn timeline(h: &mut String, m: &Model) {
    let (Some(t0), Some(t1)) = (m.capture.first_ts, m.capture.last_ts) else {
        return;
    };
    let span = (t1 - t0).max(1.0);
    let mut lanes: Vec<&str> = Vec::new();
    for s in &m.rhythm.sessions {
        if !lanes.contains(&s.service.as_str()) {
            lanes.push(&s.service);
        }
    }
    for c in &m.calls {
        let name = c.service.as_deref().unwrap_or("unknown");
        if !lanes.contains(&name) {
            lanes.push(name);
        }
    }
    if lanes.is_empty() {
        return;
    }
    let plot = SVG_WIDTH - LABEL_WIDTH - 10.0;
    let x = |t: f64| LABEL_WIDTH + (t - t0) / span * plot;
    let height = LANE * lanes.len() as f64 + 30.0;
    h.push_str("<h2>Timeline</h2>\n");
    let _ = writeln!(
        h,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {SVG_WIDTH} {height}\" \
         width=\"{SVG_WIDTH}\" height=\"{height}\" role=\"img\" aria-label=\"Timeline of online \
         sessions and calls per service\">"
    );
    for (i, lane) in lanes.iter().enumerate() {
        let y = i as f64 * LANE;
        let _ = writeln!(
            h,
            "<text x=\"4\" y=\"{:.1}\" font-size=\"12\">{}</text>",
            y + 15.0,
            esc(lane)
        );
        for s in m.rhythm.sessions.iter().filter(|s| s.service == *lane) {
            let _ = writeln!(
                h,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"14\" fill=\"#9cc3e6\">\
                 <title>{} online {}</title></rect>",
                x(s.start_ts),
                y + 4.0,
                (x(s.end_ts) - x(s.start_ts)).max(2.0),
                esc(lane),
                esc(&s.span)
            );
        }
        for c in m
            .calls
            .iter()
            .filter(|c| c.service.as_deref().unwrap_or("unknown") == *lane)
        {
            let _ = writeln!(
                h,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"8\" fill=\"#c0392b\">\
                 <title>{} at {}, {}</title></rect>",
                x(c.start_ts),
                y + 7.0,
                (x(c.end_ts) - x(c.start_ts)).max(3.0),
                esc(&c.kind),
                esc(&c.start),
                esc(&words::duration(c.duration_secs))
            );
        }
    }
    let axis = LANE * lanes.len() as f64 + 16.0;
    let _ = writeln!(
        h,
        "<text x=\"{LABEL_WIDTH}\" y=\"{axis:.1}\" font-size=\"11\">{}</text>\
         <text x=\"{:.1}\" y=\"{axis:.1}\" font-size=\"11\" text-anchor=\"end\">{}</text>",
        esc(&axis_time(m.capture.first.as_deref())),
        SVG_WIDTH - 10.0,
        esc(&axis_time(m.capture.last.as_deref()))
    );
    h.push_str(
        "</svg>\n<p class=\"ev\">Blue: online sessions; red: calls and call attempts.</p>\n",
    );
}

/// "2026-03-03 20:58" from the model's RFC 3339 time ("2026-03-03T20:58:00+00:00"), already in
/// the report's zone.
fn axis_time(rfc3339: Option<&str>) -> String {
    let t = rfc3339.unwrap_or_default();
    t.get(..16).unwrap_or(t).replacen('T', " ", 1)
}

/// Messaging activities per local hour of the day, as 24 bars.
fn hours(h: &mut String, m: &Model) {
    let by_hour = &m.rhythm.by_hour;
    let max = by_hour.iter().copied().max().unwrap_or(0);
    if max == 0 {
        return;
    }
    let bar = (SVG_WIDTH - 40.0) / 24.0;
    let tall = 120.0;
    h.push_str("<h2>Hours of activity</h2>\n");
    let _ = writeln!(
        h,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {SVG_WIDTH} {}\" \
         width=\"{SVG_WIDTH}\" height=\"{}\" role=\"img\" aria-label=\"Messaging activities per \
         hour of the day\">",
        tall + 30.0,
        tall + 30.0
    );
    for (hour, &n) in by_hour.iter().enumerate() {
        let bh = n as f64 / max as f64 * tall;
        let bx = 20.0 + hour as f64 * bar;
        let _ = writeln!(
            h,
            "<rect x=\"{bx:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bh:.1}\" fill=\"#5b8c5a\">\
             <title>{hour:02}:00: {n}</title></rect><text x=\"{:.1}\" y=\"{:.1}\" \
             font-size=\"10\" text-anchor=\"middle\">{hour:02}</text>",
            tall - bh + 5.0,
            bar - 4.0,
            bx + (bar - 4.0) / 2.0,
            tall + 20.0
        );
    }
    let _ = writeln!(
        h,
        "</svg>\n<p class=\"ev\">Calls, messages and media starting in each hour ({}).</p>",
        esc(&m.zone.name)
    );
}

fn table(h: &mut String, title: &str, head: &[&str], rows: &[Vec<String>]) {
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(h, "<h2>{}</h2>\n<table>\n<tr>", esc(title));
    for c in head {
        let _ = write!(h, "<th>{}</th>", esc(c));
    }
    h.push_str("</tr>\n");
    for r in rows {
        h.push_str("<tr>");
        for c in r {
            let _ = write!(h, "<td>{}</td>", esc(c));
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</table>\n");
}

fn calls(h: &mut String, m: &Model) {
    let t = super::rows::calls(m);
    table(h, "Calls", t.head, &t.rows);
}

fn messages(h: &mut String, m: &Model) {
    let t = super::rows::messages(m);
    table(
        h,
        "Messages (estimated from bursts of traffic)",
        t.head,
        &t.rows,
    );
}

fn media(h: &mut String, m: &Model) {
    let t = super::rows::media(m);
    table(h, "Media", t.head, &t.rows);
}

/// Bytes per country over every service, as horizontal bars, then the table.
fn destinations(h: &mut String, m: &Model) {
    let mut per: Vec<(String, u64)> = Vec::new();
    for d in &m.destinations {
        for c in &d.countries {
            match per.iter_mut().find(|(n, _)| *n == c.name) {
                Some(p) => p.1 += c.bytes,
                None => per.push((c.name.clone(), c.bytes)),
            }
        }
    }
    per.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let max = per.first().map_or(0, |p| p.1);
    if max == 0 {
        return;
    }
    let drawn = &per[..per.len().min(COUNTRIES_DRAWN)];
    let height = drawn.len() as f64 * LANE + 4.0;
    h.push_str("<h2>Where the traffic went</h2>\n");
    let _ = writeln!(
        h,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {SVG_WIDTH} {height}\" \
         width=\"{SVG_WIDTH}\" height=\"{height}\" role=\"img\" aria-label=\"Bytes per \
         destination country\">"
    );
    let plot = SVG_WIDTH - 2.0 * LABEL_WIDTH;
    for (i, (name, bytes)) in drawn.iter().enumerate() {
        let y = i as f64 * LANE;
        let w = (*bytes as f64 / max as f64 * plot).max(1.0);
        let _ = writeln!(
            h,
            "<text x=\"4\" y=\"{:.1}\" font-size=\"12\">{}</text><rect x=\"{LABEL_WIDTH}\" \
             y=\"{:.1}\" width=\"{w:.1}\" height=\"14\" fill=\"#8e7cc3\"/><text x=\"{:.1}\" \
             y=\"{:.1}\" font-size=\"11\">{}</text>",
            y + 15.0,
            esc(name),
            y + 4.0,
            LABEL_WIDTH + w + 6.0,
            y + 15.0,
            esc(&words::bytes(*bytes))
        );
    }
    h.push_str("</svg>\n");
    let rows: Vec<Vec<String>> = m
        .destinations
        .iter()
        .map(|d| {
            vec![
                d.service.clone(),
                d.countries
                    .iter()
                    .map(|c| format!("{} ({})", c.name, words::bytes(c.bytes)))
                    .collect::<Vec<_>>()
                    .join(", "),
            ]
        })
        .collect();
    let mut t = String::new();
    table(&mut t, "x", &["service", "countries"], &rows);
    // The chart's section heading stands for the table's.
    h.push_str(t.split_once('\n').map_or("", |(_, rest)| rest));
}

fn mitigations(h: &mut String, m: &Model) {
    if m.mitigations.is_empty() {
        return;
    }
    h.push_str("<h2>What would have hidden it</h2>\n<ul>\n");
    for x in &m.mitigations {
        let _ = writeln!(
            h,
            "<li><strong>{}</strong>: {}</li>",
            esc(x.title),
            esc(x.text)
        );
    }
    h.push_str("</ul>\n");
}

fn findings(h: &mut String, all: &[Finding]) {
    if all.is_empty() {
        return;
    }
    h.push_str("<h2>Every finding, with its evidence</h2>\n<ol>\n");
    for f in all {
        let _ = write!(h, "<li>{}", esc(&f.sentence));
        if !f.events.is_empty() || !f.flows.is_empty() {
            let events = f
                .events
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            let _ = write!(h, "<div class=\"ev\">");
            if !events.is_empty() {
                let _ = write!(h, "events {}", esc(&events));
            }
            for flow in &f.flows {
                let _ = write!(h, "<br><code>{}</code>", esc(flow));
            }
            h.push_str("</div>");
        }
        h.push_str("</li>\n");
    }
    h.push_str("</ol>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_for_content_and_attributes() {
        assert_eq!(
            esc("<script>\"a\" & 'b'</script>"),
            "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;"
        );
    }
}
