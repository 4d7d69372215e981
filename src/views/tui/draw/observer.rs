//! The Observer tab: the counters, every finding of the observer's model (scrollable, numbered
//! as the report numbers them) or what would have hidden them (`m`), and what is being learned
//! now.
//!
//! It words nothing itself: the findings and the mitigations are the observer model's own
//! ([`crate::observer::Model`], built once per snapshot in `derive`), so the tab and the report
//! always say the same. It only wraps, numbers and scrolls them.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Color;
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Paragraph, Wrap};

use super::{Theme, block, describe, event_style};
use crate::model::Event;
use crate::observer::{Finding, Mitigation};
use crate::session::{Snapshot, SourceKind};
use crate::views::tui::app::App;
use crate::views::tui::fmt::{self, Clock};
use crate::views::tui::nav::{ObserverPane, Scroll};

pub(super) const SYNTHETIC: &str = "Demo: a synthetic capture written by onlooker's own scenario writer from published traffic figures; no real person's traffic.";

/// Flows named under one finding (the report's JSON lists them all).
const FLOWS_SHOWN: usize = 1;

/// Terminal height from which "Learning now" shows five events rather than three.
const TALL: u16 = 30;

pub(super) fn observer(frame: &mut Frame<'_>, area: Rect, app: &App, snap: &Snapshot, th: Theme) {
    let banner = matches!(snap.kind, SourceKind::Demo { synthetic: true });
    let now_h = if area.height >= TALL { 7 } else { 5 };
    let [banner_area, counters_area, main_area, now_area] = Layout::vertical([
        Constraint::Length(if banner { 2 } else { 0 }),
        Constraint::Length(4),
        Constraint::Min(3),
        Constraint::Length(now_h),
    ])
    .areas(area);
    if banner {
        frame.render_widget(
            Paragraph::new(Span::styled(SYNTHETIC, th.fg(Color::Magenta)))
                .wrap(Wrap { trim: true }),
            banner_area,
        );
    }
    counters(frame, counters_area, app, snap, th);
    let model = app.derived().observed.0.as_deref();
    let findings: &[Finding] = model.map_or(&snap.findings, |m| &m.findings);
    match app.observer_pane {
        ObserverPane::Findings => {
            let title = format!(
                "What the observer knows: {} · m: what would have hidden it",
                fmt::counted(findings.len() as u64, "finding", "findings")
            );
            let lines = finding_lines(findings, snap, &app.clock, main_area, th);
            scrolled(
                frame,
                main_area,
                block(title, th),
                lines,
                &app.findings_scroll,
                th,
            );
        }
        ObserverPane::Mitigations => {
            let mitigations = model.map_or(&[][..], |m| &m.mitigations);
            let lines = mitigation_lines(mitigations, main_area, th);
            let title = "What would have hidden it · m: the findings";
            scrolled(
                frame,
                main_area,
                block(title, th),
                lines,
                &app.mitigations_scroll,
                th,
            );
        }
    }
    learning_now(frame, now_area, app, snap, th);
}

fn counters(frame: &mut Frame<'_>, area: Rect, app: &App, snap: &Snapshot, th: Theme) {
    let c = &app.derived().counters;
    let calls = c.voice_calls + c.video_calls;
    let n = |x: usize| x as u64;
    let counters = Text::from(vec![
        Line::from(vec![
            Span::styled("Services ", th.bold()),
            Span::raw(format!("{}  ", c.services)),
            Span::styled("Messages ", th.bold()),
            Span::raw(format!(
                "{} ({} out, {} in)  ",
                c.messages_out + c.messages_in,
                c.messages_out,
                c.messages_in
            )),
            Span::styled("Calls ", th.bold()),
            Span::raw(format!(
                "{calls} ({} voice, {} video, {})",
                c.voice_calls,
                c.video_calls,
                fmt::counted(n(c.call_attempts), "attempt", "attempts")
            )),
        ]),
        Line::from(vec![
            Span::styled("Media ", th.bold()),
            Span::raw(format!(
                "{} ({} out, {} in, {})  ",
                c.media_up + c.media_down,
                c.media_up,
                c.media_down,
                fmt::bytes(c.media_bytes)
            )),
            Span::styled("Bytes ", th.bold()),
            Span::raw(format!(
                "{} in {}",
                fmt::bytes(c.bytes),
                fmt::counted(snap.packets, "packet", "packets")
            )),
        ]),
    ]);
    frame.render_widget(
        Paragraph::new(counters)
            .wrap(Wrap { trim: true })
            .block(block("What the observer counts", th)),
        area,
    );
}

/// Text wrapped at spaces to `width`, later lines indented by `indent` spaces.
fn wrapped(text: &str, width: usize, indent: usize) -> Vec<String> {
    let pad = " ".repeat(indent);
    let opts = textwrap::Options::new(width.max(indent + 8))
        .subsequent_indent(&pad)
        .break_words(true);
    textwrap::wrap(text, opts)
        .into_iter()
        .map(|l| l.into_owned())
        .collect()
}

/// Width of the text inside a bordered panel.
fn inner_width(area: Rect) -> usize {
    usize::from(area.width.saturating_sub(2))
}

/// "1", "1 and 3", "1, 2 and 4".
fn numbers(ns: &[usize]) -> String {
    let s: Vec<String> = ns.iter().map(usize::to_string).collect();
    match s.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// Every finding, numbered as the report numbers them, each with the events and flows it
/// rests on (flows written with readable times).
fn finding_lines(
    findings: &[Finding],
    snap: &Snapshot,
    clock: &Clock,
    area: Rect,
    th: Theme,
) -> Vec<Line<'static>> {
    let w = inner_width(area);
    let mut lines = Vec::new();
    if findings.is_empty() {
        lines.push(Line::styled(
            if snap.finished {
                "No findings."
            } else {
                "No findings yet."
            },
            th.dim(),
        ));
    }
    for (i, f) in findings.iter().enumerate() {
        let head = format!("{:>2}. ", i + 1);
        for (k, l) in wrapped(&format!("{head}{}", f.sentence), w, 4)
            .into_iter()
            .enumerate()
        {
            if k == 0 {
                let rest: String = l.chars().skip(head.chars().count()).collect();
                lines.push(Line::from(vec![
                    Span::styled(head.clone(), th.bold()),
                    Span::raw(rest),
                ]));
            } else {
                lines.push(Line::raw(l));
            }
        }
        let mut evidence = Vec::new();
        if !f.events.is_empty() {
            let ids: Vec<usize> = f.events.iter().map(|&e| e as usize).collect();
            evidence.push(format!(
                "{} {}",
                if ids.len() == 1 { "event" } else { "events" },
                numbers(&ids)
            ));
        }
        if !f.flows.is_empty() {
            let shown: Vec<String> = f
                .flows
                .iter()
                .take(FLOWS_SHOWN)
                .map(|r| clock.flow_ref(r))
                .collect();
            let more = f.flows.len().saturating_sub(FLOWS_SHOWN);
            let mut s = shown.join("; ");
            if more > 0 {
                s.push_str(&format!(
                    " and {more} more {}",
                    if more == 1 { "flow" } else { "flows" }
                ));
            }
            evidence.push(s);
        }
        if !evidence.is_empty() {
            let text = format!("    {}", evidence.join(" · "));
            for l in wrapped(&text, w, 4) {
                lines.push(Line::styled(l, th.dim()));
            }
        }
    }
    lines
}

/// What would have hidden the findings, each with the findings it applies to.
fn mitigation_lines(mitigations: &[Mitigation], area: Rect, th: Theme) -> Vec<Line<'static>> {
    let w = inner_width(area);
    let mut lines = Vec::new();
    if mitigations.is_empty() {
        lines.push(Line::styled("Nothing to hide was found yet.", th.dim()));
    }
    for (i, m) in mitigations.iter().enumerate() {
        if i > 0 {
            lines.push(Line::raw(""));
        }
        let nums: Vec<usize> = m.findings.iter().map(|i| i + 1).collect();
        lines.push(Line::from(vec![
            Span::styled(m.title.to_string(), th.bold()),
            Span::styled(
                format!(
                    ", for {} {}:",
                    if nums.len() == 1 {
                        "finding"
                    } else {
                        "findings"
                    },
                    numbers(&nums)
                ),
                th.dim(),
            ),
        ]));
        for l in wrapped(&format!("  {}", m.text), w, 2) {
            lines.push(Line::raw(l));
        }
    }
    lines
}

/// Lines in a bordered panel from the scroll's first line, with where they are in the bottom
/// border when they do not all fit.
pub(super) fn scrolled(
    frame: &mut Frame<'_>,
    area: Rect,
    b: Block<'static>,
    lines: Vec<Line<'static>>,
    scroll: &Scroll,
    th: Theme,
) {
    let height = usize::from(area.height.saturating_sub(2));
    let from = scroll.visible_from(height, lines.len());
    let b = if lines.len() > height && height > 0 {
        b.title_bottom(
            Line::styled(
                format!(
                    " lines {}-{} of {} (↑/↓ PgUp PgDn) ",
                    from + 1,
                    (from + height).min(lines.len()),
                    lines.len()
                ),
                th.dim(),
            )
            .right_aligned(),
        )
    } else {
        b
    };
    let shown: Vec<Line<'static>> = lines.into_iter().skip(from).take(height).collect();
    frame.render_widget(Paragraph::new(shown).block(b), area);
}

/// The most recently ended events first: what is being learned right now.
fn learning_now(frame: &mut Frame<'_>, area: Rect, app: &App, snap: &Snapshot, th: Theme) {
    let rows = usize::from(area.height.saturating_sub(2));
    let mut recent: Vec<&Event> = snap.events.iter().collect();
    recent.sort_by(|a, b| b.end_ts.total_cmp(&a.end_ts).then(b.id.cmp(&a.id)));
    let mut lines: Vec<Line<'_>> = recent
        .iter()
        .take(rows)
        .map(|e| {
            Line::from(vec![
                Span::styled(app.clock.time(e.end_ts), th.dim()),
                Span::raw("  "),
                Span::styled(
                    format!("{:<10}", fmt::fit(e.service.as_deref().unwrap_or("?"), 10)),
                    th.bold(),
                ),
                Span::raw(" "),
                Span::styled(describe(e), event_style(e, th)),
            ])
        })
        .collect();
    if lines.is_empty() {
        lines.push(Line::styled("Nothing inferred yet.", th.dim()));
    }
    frame.render_widget(Paragraph::new(lines).block(block("Learning now", th)), area);
}
