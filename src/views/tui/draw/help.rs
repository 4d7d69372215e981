//! The Help tab: every key, where exports go, and a short glossary of the words the other tabs
//! use (SNI, STUN, ECH, AS, relay, direct peer, the OS guess), scrollable.
//!
//! It exists so that a newcomer reads the screens without the docs. It must never list a key
//! the dashboard does not answer: [`KEYS`] is the one list the tab shows, and
//! docs/dashboard.md lists the same keys.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::{Theme, block};
use crate::session::{Snapshot, SourceKind};
use crate::views::tui::app::App;

/// Every key, as the Help tab and docs/dashboard.md list them.
pub const KEYS: &[(&str, &str)] = &[
    ("1-5, Tab, S-Tab", "Observer, Timeline, Flows, Events, Map"),
    ("? or F1", "this help (again or Esc: back)"),
    ("q, Ctrl-C", "quit (the terminal is restored)"),
    ("Space or p", "pause / resume the replay"),
    (
        "> or .  < or ,",
        "replay faster / slower (x1, x10, x100, max)",
    ),
    (
        "F5 F6 F7 F8",
        "replay at x1, x10, x100, as fast as possible",
    ),
    ("E", "jump to the end of the replay"),
    (
        "↑↓ j k, PgUp PgDn",
        "select (Flows, Events, Map); scroll (Observer, Help)",
    ),
    ("Home g, End G", "first / last row"),
    ("m", "Observer: the findings / what would have hidden them"),
    ("x, X", "export the report as Markdown / JSON"),
    ("/", "filter: service:X kind:X country:CC ip:A text"),
    ("Esc", "clear the filter"),
    ("s, S", "sort flows by the next column / reverse"),
    ("+ -", "timeline: zoom in / out"),
    ("← → h l", "timeline: scroll"),
    ("↑↓ j k", "timeline: scroll lanes"),
    ("0", "timeline: whole capture"),
];

/// The words the tabs use, one plain line each.
pub const GLOSSARY: &[(&str, &str)] = &[
    (
        "SNI",
        "the server name a TLS or QUIC handshake sends before encryption starts: anyone on the path reads it",
    ),
    (
        "ECH",
        "Encrypted Client Hello: hides that name, when both the app and the server support it",
    ),
    (
        "STUN",
        "the packets calls send to find a way between two devices: they mark where a call starts",
    ),
    (
        "AS",
        "a network run by one organisation (an ISP, a cloud, a company), known by its number, as in AS32934",
    ),
    (
        "relay",
        "a server of the service that carries a call, so neither side learns the other's address",
    ),
    (
        "direct peer",
        "the other person's device, reached without a relay: its address, network and country show",
    ),
    (
        "OS guess",
        "which system (Windows, Android, iOS...) a device probably runs, from how its packets start; a guess",
    ),
];

/// Width of the key and term column.
const KEY_W: usize = 19;

pub(super) fn help(frame: &mut Frame<'_>, area: Rect, app: &App, snap: &Snapshot, th: Theme) {
    // Long lines wrap under the text column, so the scroll counts screen lines.
    let w = usize::from(area.width.saturating_sub(2));
    let text_w = w.saturating_sub(KEY_W).max(8);
    let row = |lines: &mut Vec<Line<'static>>, k: &str, v: &str| {
        for (i, part) in textwrap::wrap(v, text_w).into_iter().enumerate() {
            let head = if i == 0 {
                Span::styled(format!("{k:<KEY_W$}"), th.bold())
            } else {
                Span::raw(" ".repeat(KEY_W))
            };
            lines.push(Line::from(vec![head, Span::raw(part.into_owned())]));
        }
    };
    let dim = |lines: &mut Vec<Line<'static>>, text: &str| {
        for part in textwrap::wrap(text, w.max(8)) {
            lines.push(Line::styled(part.into_owned(), th.dim()));
        }
    };
    let mut lines: Vec<Line<'static>> = Vec::new();
    for (k, v) in KEYS {
        row(&mut lines, k, v);
    }
    lines.push(Line::raw(""));
    dim(
        &mut lines,
        &format!(
            "Times are {}. Filter terms are AND-ed; -term negates; \"quotes\" keep spaces.",
            app.clock.label()
        ),
    );
    if snap.kind == SourceKind::Live {
        dim(
            &mut lines,
            "Live: replay keys do nothing; drops are the kernel's.",
        );
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled("Words on these screens", th.title()));
    for (k, v) in GLOSSARY {
        row(&mut lines, k, v);
    }
    super::observer::scrolled(
        frame,
        area,
        block("Keys and words", th),
        lines,
        &app.help_scroll,
        th,
    );
}
