//! `onlooker report`: the observer model ([`crate::observer::Model`]) as text for a terminal
//! (100 columns), Markdown for a code-hosting site, or JSON (documented in docs/formats.md,
//! section "Report").
//!
//! The sections are views of one model, in the order of the issue: headline, services seen,
//! rhythm, calls, messages, media, where the traffic goes, what else leaks, what would have
//! hidden it, then every finding with its evidence. This module must never decide or count
//! anything itself: it formats what the model holds, and the model is built once per run.

use std::io::{self, Write};
use std::path::PathBuf;

use serde::Serialize;

use crate::model::EventKind;
use crate::observer::words;
use crate::observer::{Finding, Leaks, Model};

/// Output format of the report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Text,
    Markdown,
    Json,
    /// One self-contained page with inline SVG pictures (views::html).
    Html,
}

/// Version of the JSON layout; raised on any change that is not an added field.
pub const JSON_VERSION: u32 = 2;
/// Width of the text report: fits a 100-column terminal.
pub const TEXT_WIDTH: usize = 100;
/// Width of a time column: "Tue 21:04", or "25 Jun 2019 21:04" in a capture of a week or more
/// that covers two years (the table narrows its widest columns when they do not fit).
const TIME_CAP: usize = 17;
/// The last column of a text table keeps at least this width (it wraps, the others are cut).
const TABLE_LAST_MIN: usize = 16;
/// Names listed per list in text and Markdown (JSON lists all the digest kept).
const NAMES_LISTED: usize = 25;
/// Flows cited under one finding in text and Markdown (JSON lists all the finding holds).
const FLOWS_LISTED: usize = 6;

/// What the report says about its inputs besides the model.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Inputs {
    /// File names (without directories: a report is meant to be shared).
    pub files: Vec<String>,
    /// Inputs whose reading stopped early.
    pub partial: Vec<String>,
    /// The input is the bundled synthetic demo capture: the report says so in its body, so
    /// that no copy of it is mistaken for a real person's traffic.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub synthetic: bool,
}

impl Inputs {
    /// The inputs as a report names them: file names without directories (a report is meant
    /// to be shared), also inside the messages of inputs whose reading stopped early.
    pub fn new(files: &[PathBuf], partial_inputs: &[String]) -> Self {
        let name_of = |f: &PathBuf| {
            if f.as_os_str() == crate::capture::offline::STDIN {
                return "standard input".to_string();
            }
            f.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| f.display().to_string())
        };
        Self {
            files: files.iter().map(name_of).collect(),
            partial: partial_inputs
                .iter()
                .map(|p| {
                    files.iter().fold(p.clone(), |p, f| {
                        let name = f
                            .file_name()
                            .map(|n| n.to_string_lossy().into_owned())
                            .unwrap_or_default();
                        let full = f.display().to_string();
                        if name.is_empty() || !p.starts_with(&full) {
                            p
                        } else {
                            format!("{name}{}", &p[full.len()..])
                        }
                    })
                })
                .collect(),
            synthetic: false,
        }
    }
}

/// A flow as the outputs write it ("tcp 192.168.1.2:50000 157.240.1.1:443 1700000000.123456"),
/// read for people: "tcp 192.168.1.2:50000 → 157.240.1.1:443 at 2023-11-14 22:13:20". The exact time
/// stays in the JSON form; text of another form, or without a zone, is returned as it is.
fn flow_for_people(zone: Option<&words::Zone>, written: &str) -> String {
    let parts: Vec<&str> = written.split(' ').collect();
    match (zone, parts.as_slice()) {
        (Some(z), [proto, client, server, ts]) => match ts.parse::<f64>() {
            Ok(t) => format!(
                "{proto} {client} → {server} at {} {}",
                z.day_key(t),
                z.time_secs(t)
            ),
            Err(_) => written.to_string(),
        },
        _ => written.to_string(),
    }
}

/// "1 flow", "7 flows": a count with its noun in the right number.
fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Write the report of `model` in `format` to `out`.
pub fn write(
    out: &mut impl Write,
    model: &Model,
    inputs: &Inputs,
    format: ReportFormat,
) -> io::Result<()> {
    out.write_all(render(model, inputs, format).as_bytes())?;
    out.flush()
}

/// The report in one format.
pub fn render(model: &Model, inputs: &Inputs, format: ReportFormat) -> String {
    match format {
        ReportFormat::Json => json(model, inputs),
        ReportFormat::Html => crate::views::html::render(model, inputs),
        ReportFormat::Text => Doc::new(Style::Text).report(model, inputs),
        ReportFormat::Markdown => Doc::new(Style::Markdown).report(model, inputs),
    }
}

fn json(model: &Model, inputs: &Inputs) -> String {
    #[derive(Serialize)]
    struct Json<'a> {
        report_version: u32,
        inputs: &'a Inputs,
        #[serde(flatten)]
        model: &'a Model,
    }
    let mut s = serde_json::to_string_pretty(&Json {
        report_version: JSON_VERSION,
        inputs,
        model,
    })
    .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Style {
    Text,
    Markdown,
}

/// A document being written in one style.
struct Doc {
    style: Style,
    out: String,
    section: usize,
}

/// Wrapping at spaces only: host names and addresses contain hyphens and must stay whole
/// (a word longer than the line is still broken, so no line exceeds the width). First fit,
/// not textwrap's default optimal fit, which lets a line overflow the width when that
/// balances the paragraph better.
fn wrap_opts(width: usize) -> textwrap::Options<'static> {
    textwrap::Options::new(width)
        .word_separator(textwrap::WordSeparator::AsciiSpace)
        .word_splitter(textwrap::WordSplitter::NoHyphenation)
        .wrap_algorithm(textwrap::WrapAlgorithm::FirstFit)
}

/// Text from the capture (names in DNS and handshakes, evidence) with control characters and
/// the invisible characters that reorder or hide text shown as `\u{..}` escapes: a name on
/// the wire may hold any byte, and a terminal must not obey it (nor a table break on it).
fn printable(s: &str) -> String {
    let hidden = |c: char| {
        c.is_control()
            || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
            || c == '\u{feff}'
    };
    if !s.chars().any(hidden) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if hidden(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// Markdown's special characters escaped (CommonMark lets any ASCII punctuation be escaped
/// with a backslash): `|` would split a table cell, `<` start HTML, `*`, `_` and backquotes
/// change the emphasis, and a `]` followed by `(` or `[` close a link. Other brackets and `>`
/// stay as they are (the report's own "[event 3]" and "Settings > Privacy" read as written).
fn md_escape(s: &str) -> String {
    let s = printable(s);
    let mut out = String::with_capacity(s.len() + 8);
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        let link = c == ']' && matches!(chars.peek(), Some('(' | '['));
        if link || matches!(c, '\\' | '|' | '*' | '_' | '`' | '<') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn ids(ids: &[u64]) -> String {
    ids.iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

impl Doc {
    fn new(style: Style) -> Self {
        Self {
            style,
            out: String::new(),
            section: 0,
        }
    }

    fn line(&mut self, s: &str) {
        self.out.push_str(s);
        self.out.push('\n');
    }

    fn blank(&mut self) {
        if !self.out.ends_with("\n\n") && !self.out.is_empty() {
            self.out.push('\n');
        }
    }

    fn title(&mut self, s: &str) {
        match self.style {
            Style::Text => {
                self.line(s);
                self.line(&"=".repeat(s.chars().count().min(TEXT_WIDTH)));
            }
            Style::Markdown => self.line(&format!("# {s}")),
        }
        self.blank();
    }

    fn heading(&mut self, s: &str) {
        self.section += 1;
        self.blank();
        let h = format!("{}. {s}", self.section);
        match self.style {
            Style::Text => {
                self.line(&h);
                self.line(&"-".repeat(h.chars().count()));
            }
            Style::Markdown => self.line(&format!("## {h}")),
        }
        self.blank();
    }

    fn sub(&mut self, s: &str) {
        self.blank();
        match self.style {
            Style::Text => self.line(&format!("{s}:")),
            Style::Markdown => self.line(&format!("### {s}")),
        }
        self.blank();
    }

    /// A paragraph, wrapped in text.
    fn para(&mut self, s: &str) {
        match self.style {
            Style::Text => {
                for l in textwrap::wrap(&printable(s), wrap_opts(TEXT_WIDTH)) {
                    self.line(&l);
                }
            }
            Style::Markdown => self.line(&md_escape(s)),
        }
        self.blank();
    }

    /// A list item (wrapped with a hanging indent in text).
    fn item(&mut self, s: &str) {
        match self.style {
            Style::Text => {
                let opts = wrap_opts(TEXT_WIDTH)
                    .initial_indent("  * ")
                    .subsequent_indent("    ");
                for l in textwrap::wrap(&printable(s), opts) {
                    self.line(&l);
                }
            }
            Style::Markdown => self.line(&format!("- {}", md_escape(s))),
        }
    }

    /// A table. In text, every column but the last is cut to `caps[i]` characters and the last
    /// wraps in what remains of the width.
    fn table(&mut self, head: &[&str], rows: &[Vec<String>], caps: &[usize]) {
        if rows.is_empty() {
            return;
        }
        match self.style {
            Style::Markdown => {
                self.line(&format!("| {} |", head.join(" | ")));
                self.line(&format!(
                    "|{}|",
                    head.iter().map(|_| "---").collect::<Vec<_>>().join("|")
                ));
                for r in rows {
                    let cells: Vec<String> = r.iter().map(|c| md_escape(c)).collect();
                    self.line(&format!("| {} |", cells.join(" | ")));
                }
            }
            Style::Text => {
                let rows: Vec<Vec<String>> = rows
                    .iter()
                    .map(|r| r.iter().map(|c| printable(c)).collect())
                    .collect();
                let n = head.len();
                let cut = |s: &str, w: usize| -> String {
                    if s.chars().count() <= w {
                        s.to_string()
                    } else {
                        let mut t: String = s.chars().take(w.saturating_sub(1)).collect();
                        t.push('~');
                        t
                    }
                };
                let mut widths: Vec<usize> = head.iter().map(|h| h.chars().count()).collect();
                for r in &rows {
                    for (i, c) in r.iter().enumerate().take(n.saturating_sub(1)) {
                        let cap = caps.get(i).copied().unwrap_or(24);
                        if let Some(w) = widths.get_mut(i) {
                            *w = (*w).max(c.chars().count().min(cap));
                        }
                    }
                }
                // Narrow the widest leading column until the last one keeps its minimum, so
                // that no line exceeds the width whatever the cells hold.
                let lead_of = |w: &[usize]| -> usize {
                    w.iter().take(n.saturating_sub(1)).map(|w| w + 2).sum()
                };
                while lead_of(&widths) + 2 + TABLE_LAST_MIN > TEXT_WIDTH {
                    let widest = widths
                        .iter()
                        .take(n.saturating_sub(1))
                        .enumerate()
                        .max_by_key(|(i, w)| (**w, usize::MAX - i))
                        .map(|(i, _)| i);
                    match widest.and_then(|i| widths.get_mut(i)) {
                        Some(w) if *w > 1 => *w -= 1,
                        _ => break,
                    }
                }
                let lead = lead_of(&widths);
                let last_w = TEXT_WIDTH.saturating_sub(lead + 2).max(TABLE_LAST_MIN);
                let fmt_row = |cells: &[String]| -> Vec<String> {
                    let mut prefix = String::from("  ");
                    for (i, w) in widths.iter().enumerate().take(n.saturating_sub(1)) {
                        let c = cells.get(i).map(String::as_str).unwrap_or("");
                        prefix.push_str(&format!("{:<w$}  ", cut(c, *w), w = *w));
                    }
                    let last = cells
                        .get(n.saturating_sub(1))
                        .map(String::as_str)
                        .unwrap_or("");
                    let wrapped = textwrap::wrap(last, wrap_opts(last_w));
                    let mut out = Vec::new();
                    for (k, l) in wrapped.iter().enumerate() {
                        if k == 0 {
                            out.push(format!("{prefix}{l}").trim_end().to_string());
                        } else {
                            out.push(format!("{}{l}", " ".repeat(lead + 2)));
                        }
                    }
                    if out.is_empty() {
                        out.push(prefix.trim_end().to_string());
                    }
                    out
                };
                let head_cells: Vec<String> = head.iter().map(|h| h.to_string()).collect();
                for l in fmt_row(&head_cells) {
                    self.line(&l);
                }
                for r in &rows {
                    for l in fmt_row(r) {
                        self.line(&l);
                    }
                }
            }
        }
        self.blank();
    }

    fn evidence(f: &Finding) -> String {
        let mut parts = Vec::new();
        if !f.events.is_empty() {
            parts.push(format!(
                "event{} {}",
                if f.events.len() == 1 { "" } else { "s" },
                ids(&f.events)
            ));
        }
        if !f.flows.is_empty() {
            parts.push(format!(
                "{} flow{}",
                f.flows.len(),
                if f.flows.len() == 1 { "" } else { "s" }
            ));
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!(" [{}]", parts.join("; "))
        }
    }

    fn report(mut self, m: &Model, inputs: &Inputs) -> String {
        self.title("What an observer on the path learned");
        self.header(m, inputs);
        self.headline(m);
        self.services(m);
        self.rhythm(m);
        self.calls(m);
        self.messages(m);
        self.media(m);
        self.destinations(m);
        self.leaks(m);
        self.mitigations(m);
        self.all_findings(m);
        while self.out.ends_with("\n\n") {
            self.out.pop();
        }
        self.out
    }

    fn header(&mut self, m: &Model, inputs: &Inputs) {
        let zone_src = match m.zone.source.as_str() {
            "--tz" => "chosen with --tz".to_string(),
            "TZ" => "this machine's zone, from the TZ variable".to_string(),
            "/etc/localtime" => "this machine's zone, from /etc/localtime".to_string(),
            _ => "no zone is configured on this machine, so UTC".to_string(),
        };
        let c = &m.capture;
        let covers = match &c.span {
            Some(s) => format!("{s} ({})", words::duration(c.duration_secs)),
            None => "no packets".to_string(),
        };
        self.item(&format!("Captures: {}", inputs.files.join(", ")));
        self.item(&format!(
            "Covers: {covers}; {}, {} inferred",
            count(c.flows, "flow", "flows"),
            count(c.events as u64, "activity", "activities")
        ));
        self.item(&format!(
            "Times are in {} ({zone_src}); capture files record no time zone, use --tz to choose \
             one.",
            m.zone.name
        ));
        if m.redacted {
            self.item(
                "Redacted for sharing: addresses of this side are shown as device-N and those of \
                 direct call peers as peer-N; local host names are left out. Networks and \
                 countries are kept.",
            );
        }
        for p in &inputs.partial {
            self.item(&format!("Partial input (read up to the damage): {p}"));
        }
        if inputs.synthetic {
            self.item(
                "Synthetic capture: onlooker's bundled demo, written by its own scenario writer \
                 from published traffic figures. No real person's traffic is in it; the people, \
                 calls and messages below are invented.",
            );
        }
        self.item(
            "Everything below comes from metadata alone (addresses, timing, sizes, names sent in \
             the clear); no content was decrypted.",
        );
        self.blank();
        if !m.messaging_traffic {
            self.para(
                "No messaging traffic was seen: no flow of a messaging service carried chat, \
                 media or calls, and no messaging activity was inferred. What else the traffic \
                 leaked follows.",
            );
        }
    }

    fn headline(&mut self, m: &Model) {
        self.heading("Headline");
        if m.headline.is_empty() {
            self.para("Nothing revealing was found.");
            return;
        }
        for f in &m.headline {
            self.item(&format!("{}{}", f.sentence, Self::evidence(f)));
        }
        self.blank();
    }

    fn services(&mut self, m: &Model) {
        self.heading("Services seen");
        if m.services.is_empty() {
            self.para("No flow was named as a service.");
            return;
        }
        let rows: Vec<Vec<String>> = m
            .services
            .iter()
            .map(|s| {
                vec![
                    if s.kind == "company" {
                        format!("{} (company)", s.service)
                    } else {
                        s.service.clone()
                    },
                    s.first.clone(),
                    s.last.clone(),
                    if s.active_secs > 0.0 {
                        words::duration(s.active_secs)
                    } else {
                        "-".into()
                    },
                    words::bytes(s.bytes_up + s.bytes_down),
                    s.flows.to_string(),
                    s.recognised_by.join(", "),
                ]
            })
            .collect();
        self.table(
            &[
                "service",
                "first",
                "last",
                "active",
                "volume",
                "flows",
                "recognised by",
            ],
            &rows,
            &[22, TIME_CAP, TIME_CAP, 10, 8, 5],
        );
        self.para(
            "Active time is the time covered by online sessions (calls, messages and media less \
             than 5 minutes apart). \"(company)\": only the network of the company behind the \
             servers is known, not which of its apps.",
        );
    }

    fn rhythm(&mut self, m: &Model) {
        self.heading("Rhythm");
        let r = &m.rhythm;
        if r.sessions.is_empty() {
            self.para("No online session: no calls, messages or media were inferred.");
        } else {
            self.sub("Online sessions");
            let rows: Vec<Vec<String>> = r
                .sessions
                .iter()
                .map(|s| {
                    vec![
                        s.span.clone(),
                        words::duration(s.duration_secs),
                        s.service.clone(),
                        format!("event {}", s.event),
                    ]
                })
                .collect();
            self.table(
                &["when", "length", "service", "evidence"],
                &rows,
                &[24, 10, 20],
            );
        }
        let total: u64 = r.by_hour.iter().sum();
        if total > 0 {
            self.sub(&format!("Activity by hour of day ({})", m.zone.name));
            let max = r.by_hour.iter().copied().max().unwrap_or(1).max(1);
            let rows: Vec<Vec<String>> = r
                .by_hour
                .iter()
                .enumerate()
                .filter(|(_, n)| **n > 0)
                .map(|(h, n)| {
                    let bar = "#".repeat(((*n as f64 / max as f64) * 50.0).ceil() as usize);
                    vec![format!("{h:02}:00"), n.to_string(), bar]
                })
                .collect();
            self.table(&["hour", "activities", ""], &rows, &[5, 10]);
        }
        if r.days_shown {
            self.sub(&format!(
                "First and last activity of each day (wake and sleep hints; days from {:02}:00)",
                words::DAY_START_HOUR
            ));
            let rows: Vec<Vec<String>> = r
                .days
                .iter()
                .map(|d| {
                    let next = |t: &str, after_midnight: bool| {
                        if after_midnight {
                            format!("{t} next day")
                        } else {
                            t.to_string()
                        }
                    };
                    let (first, last) = (
                        next(&d.first, d.first_next_date),
                        next(&d.last, d.last_next_date),
                    );
                    let mark = |s: String, hint: bool| if hint { s } else { format!("({s})") };
                    vec![
                        d.date.clone(),
                        mark(first, d.wake_hint),
                        mark(last, d.sleep_hint),
                        d.activities.to_string(),
                    ]
                })
                .collect();
            self.table(
                &["day", "first", "last", "own activities"],
                &rows,
                &[16, 16, 16],
            );
            self.para(
                "Only the user's own activity counts here: messages and media sent, calls \
                 answered. Received messages, pushes and keep-alives arrive while people sleep. \
                 A time in parentheses is not a hint: the capture began after that day started, \
                 or ended before it ended.",
            );
        } else {
            self.para(&format!(
                "First and last activity per day (wake and sleep hints) are shown for captures \
                 of {} or more; this one covers {}.",
                words::duration(crate::observer::DAYS_MIN_SPAN_SECS),
                words::duration(m.capture.duration_secs)
            ));
        }
    }

    fn calls(&mut self, m: &Model) {
        self.heading("Calls");
        if m.calls.is_empty() {
            self.para("No call or call attempt was seen.");
            return;
        }
        let t = super::rows::calls(m);
        self.table(t.head, &t.rows, &[TIME_CAP, 11, 12, 7, 7, 24]);
        self.para(
            "\"relay\": through the service's servers (the observer sees the relay, not the \
             peer); \"direct\": peer to peer, so the observer (and the peer) see each other's \
             address. An attempt's length is its signalling, not a conversation.",
        );
    }

    fn messages(&mut self, m: &Model) {
        self.heading("Messages");
        let msg = &m.messages;
        if msg.per_service.is_empty() {
            self.para("No message was seen.");
            return;
        }
        let t = super::rows::messages(m);
        self.table(t.head, &t.rows, &[20, 5, 8, 13]);
        self.sub("Per hour");
        let rows: Vec<Vec<String>> = msg
            .per_hour
            .iter()
            .map(|h| {
                vec![
                    h.hour.clone(),
                    h.service.clone(),
                    h.sent.to_string(),
                    h.received.to_string(),
                ]
            })
            .collect();
        self.table(
            &["hour", "service", "sent", "received"],
            &rows,
            &[TIME_CAP, 20, 5],
        );
        if msg.conversations.is_empty() {
            self.para(
                "No back-and-forth conversation (messages both ways less than 3 minutes apart).",
            );
        } else {
            self.sub("Conversations (messages both ways, less than 3 minutes apart)");
            let rows: Vec<Vec<String>> = msg
                .conversations
                .iter()
                .map(|c| {
                    vec![
                        c.span.clone(),
                        c.service.clone(),
                        c.sent.to_string(),
                        c.received.to_string(),
                        c.turns.to_string(),
                        format!("events {}", ids(&c.events)),
                    ]
                })
                .collect();
            self.table(
                &["when", "service", "sent", "received", "turns", "evidence"],
                &rows,
                &[24, 16, 5, 8, 5],
            );
        }
        self.para(
            "A message is an exchange of records on the chat connection led by one of message \
             size; its size bounds the text's length, never its content.",
        );
    }

    fn media(&mut self, m: &Model) {
        self.heading("Media");
        if m.media.is_empty() {
            self.para("No media transfer was seen.");
            return;
        }
        let t = super::rows::media(m);
        self.table(t.head, &t.rows, &[TIME_CAP, 16, 9, 9]);
    }

    fn destinations(&mut self, m: &Model) {
        self.heading("Where the traffic goes");
        if m.destinations.is_empty() {
            self.para("No country or network is known for any flow (no IP metadata).");
            return;
        }
        for d in &m.destinations {
            let countries: Vec<String> = d
                .countries
                .iter()
                .map(|c| format!("{} ({})", c.name, words::bytes(c.bytes)))
                .collect();
            let networks: Vec<String> = d
                .networks
                .iter()
                .map(|n| format!("{} ({})", n.network, words::bytes(n.bytes)))
                .collect();
            self.item(&format!(
                "{}: {}; networks: {}",
                d.service,
                if countries.is_empty() {
                    "country unknown".to_string()
                } else {
                    countries.join(", ")
                },
                if networks.is_empty() {
                    "unknown".to_string()
                } else {
                    networks.join(", ")
                }
            ));
        }
        self.blank();
        self.para(
            "Volumes are the bytes of the service's flows to each country and network (DNS \
             lookups excluded: they go to the resolver).",
        );
    }

    fn name_rows(list: &crate::observer::NameList) -> Vec<Vec<String>> {
        list.names
            .iter()
            .take(NAMES_LISTED)
            .map(|n| {
                vec![
                    n.name.clone(),
                    n.service.clone().unwrap_or_else(|| "-".into()),
                    format!("{}{}", n.flows, if n.quic { " (QUIC)" } else { "" }),
                ]
            })
            .collect()
    }

    fn names_note(&mut self, list: &crate::observer::NameList) {
        let mut notes = Vec::new();
        if list.names.len() > NAMES_LISTED {
            notes.push(format!(
                "{} more in the JSON report",
                list.names.len() - NAMES_LISTED
            ));
        }
        if list.hidden > 0 {
            notes.push(format!(
                "{} hidden by --redact",
                count(list.hidden as u64, "local name", "local names")
            ));
        }
        if list.dropped_flows > 0 {
            notes.push(format!(
                "{} with further names beyond the {} kept",
                count(list.dropped_flows, "flow", "flows"),
                crate::observer::digest::MAX_NAMES
            ));
        }
        if !notes.is_empty() {
            self.para(&format!("({})", notes.join("; ")));
        }
    }

    fn leaks(&mut self, m: &Model) {
        self.heading("What else leaks");
        self.leaked_names(&m.leaks);
        self.exposures(&m.leaks);
        self.other_activities(m);
        self.device_hints(&m.leaks);
    }

    /// Names read in the clear: DNS, local-network names, TLS/QUIC server names, and ECH.
    fn leaked_names(&mut self, l: &Leaks) {
        self.sub(&format!("Names in clear DNS ({})", l.dns.total));
        if l.dns.names.is_empty() {
            self.para("None seen.");
        } else {
            self.table(
                &["name", "service", "flows"],
                &Self::name_rows(&l.dns),
                &[48, 20],
            );
        }
        self.names_note(&l.dns);
        if l.encrypted_dns_flows > 0 {
            self.para(&format!(
                "Encrypted DNS was also used: {} (DNS over TLS/QUIC, or DNS over HTTPS to a \
                 known resolver), whose names the observer cannot read.",
                count(l.encrypted_dns_flows, "flow", "flows")
            ));
        }
        if l.local_names.total > 0 {
            self.sub(&format!(
                "Names on the local network, mDNS/LLMNR ({})",
                l.local_names.total
            ));
            if !l.local_names.names.is_empty() {
                self.table(
                    &["name", "service", "flows"],
                    &Self::name_rows(&l.local_names),
                    &[48, 20],
                );
            }
            self.names_note(&l.local_names);
        }
        self.sub(&format!(
            "Server names in clear TLS/QUIC handshakes ({})",
            l.tls.total
        ));
        if l.tls.names.is_empty() {
            self.para("None seen.");
        } else {
            self.table(
                &["name", "service", "flows"],
                &Self::name_rows(&l.tls),
                &[48, 20],
            );
        }
        self.names_note(&l.tls);
        if l.ech.total == 0 {
            self.para("Encrypted Client Hello: not used by any handshake seen.");
        } else {
            self.para(&format!(
                "Encrypted Client Hello: {} hid the real server behind a cover name: {}.",
                count(l.ech.total as u64, "handshake name", "handshake names"),
                l.ech
                    .names
                    .iter()
                    .take(NAMES_LISTED)
                    .map(|n| n.name.clone())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }

    /// Direct calls' peer addresses and suspected probing.
    fn exposures(&mut self, l: &Leaks) {
        self.sub("IP exposure of direct calls");
        if l.direct_peers.is_empty() {
            self.para("No direct call: the peers' addresses were not exposed.");
        } else {
            let rows: Vec<Vec<String>> = l
                .direct_peers
                .iter()
                .map(|p| {
                    vec![
                        p.service.clone().unwrap_or_else(|| "?".into()),
                        p.ip.clone().unwrap_or_else(|| "-".into()),
                        p.network.clone().unwrap_or_else(|| "-".into()),
                        format!(
                            "{}; event {}",
                            words::place(p.city.as_deref(), p.country.as_deref())
                                .unwrap_or_else(|| "-".into()),
                            p.event
                        ),
                    ]
                })
                .collect();
            self.table(
                &["service", "peer", "network", "place"],
                &rows,
                &[16, 24, 30],
            );
        }
        self.sub("Suspected probing");
        if l.probing.is_empty() {
            self.para("None reported by the activity model.");
        } else {
            let rows: Vec<Vec<String>> = l
                .probing
                .iter()
                .map(|o| {
                    vec![
                        o.start.clone(),
                        o.service.clone().unwrap_or_else(|| "?".into()),
                        format!("{} (event {})", o.evidence, o.event),
                    ]
                })
                .collect();
            self.table(&["start", "service", "evidence"], &rows, &[TIME_CAP, 16]);
        }
    }

    fn other_activities(&mut self, m: &Model) {
        let others: Vec<_> = m
            .other_activities
            .iter()
            .filter(|o| o.kind != EventKind::ProbingSuspected)
            .collect();
        if !others.is_empty() {
            self.sub("Other activities");
            let rows: Vec<Vec<String>> = others
                .iter()
                .map(|o| {
                    vec![
                        o.start.clone(),
                        words::kind(o.kind).to_string(),
                        o.service.clone().unwrap_or_else(|| "?".into()),
                        format!("{} (event {})", o.evidence, o.event),
                    ]
                })
                .collect();
            self.table(
                &["start", "activity", "service", "evidence"],
                &rows,
                &[TIME_CAP, 20, 16],
            );
        }
    }

    fn device_hints(&mut self, l: &Leaks) {
        self.sub("Device hints (guesses)");
        if l.device_hints.is_empty() {
            self.para("None: no client packet carried a TTL or SYN to read.");
        } else {
            let rows: Vec<Vec<String>> = l
                .device_hints
                .iter()
                .map(|h| {
                    vec![
                        h.client.clone(),
                        h.flows.to_string(),
                        format!("{}: {}", h.guess, h.basis),
                    ]
                })
                .collect();
            self.table(&["device", "flows", "guess and basis"], &rows, &[24, 6]);
            self.para(
                "Operating-system guesses follow p0f's published approach (initial IP TTL, SYN \
                 option order); they are guesses, and a NAT or VPN can change what they read.",
            );
        }
    }

    fn mitigations(&mut self, m: &Model) {
        self.heading("What would have hidden it");
        if m.mitigations.is_empty() {
            self.para("Nothing to hide was found.");
            return;
        }
        for x in &m.mitigations {
            let nums: Vec<u64> = x.findings.iter().map(|i| *i as u64 + 1).collect();
            self.item(&format!(
                "{} ({} {}): {}",
                x.title,
                if nums.len() == 1 {
                    "finding"
                } else {
                    "findings"
                },
                ids(&nums),
                x.text
            ));
        }
        self.blank();
    }

    fn all_findings(&mut self, m: &Model) {
        self.heading("All findings, most revealing first, with their evidence");
        let zone = words::Zone::resolve(Some(&m.zone.name))
            .ok()
            .map(|z| z.for_span(m.capture.first_ts, m.capture.last_ts));
        for (i, f) in m.findings.iter().enumerate() {
            let mut s = format!("[{}] {} (score {:.2})", i + 1, f.sentence, f.score);
            if !f.events.is_empty() {
                s.push_str(&format!(" Events: {}.", ids(&f.events)));
            }
            if !f.flows.is_empty() {
                let shown: Vec<String> = f
                    .flows
                    .iter()
                    .take(FLOWS_LISTED)
                    .map(|w| flow_for_people(zone.as_ref(), w))
                    .collect();
                let more = f.flows.len().saturating_sub(FLOWS_LISTED);
                s.push_str(&format!(
                    " Flows: {}{}.",
                    shown.join("; "),
                    if more > 0 {
                        format!("; and {more} more")
                    } else {
                        String::new()
                    }
                ));
            }
            self.item(&s);
        }
        self.blank();
    }
}
