//! Where the user is looking: the tab, each list's cursor, the filter lines, and the timeline's
//! window.
//!
//! It exists so that the state a key moves is apart from the snapshot it is moved over: these
//! types only hold positions and typed text, and move them when asked. They must never read a
//! snapshot or decide what a row is: the rows they point into are prepared elsewhere
//! ([`super::prepare`]), and drawing only reads them.

use std::cell::Cell;

use super::filter::{self, Filter, FilterError};

/// The tabs, in the order of the tab bar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tab {
    Observer,
    Timeline,
    Flows,
    Events,
    Map,
    Help,
}

impl Tab {
    pub const ALL: [Tab; 6] = [
        Tab::Observer,
        Tab::Timeline,
        Tab::Flows,
        Tab::Events,
        Tab::Map,
        Tab::Help,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Tab::Observer => "Observer",
            Tab::Timeline => "Timeline",
            Tab::Flows => "Flows",
            Tab::Events => "Events",
            Tab::Map => "Map",
            Tab::Help => "Help",
        }
    }

    /// The key that opens it.
    pub fn key(self) -> char {
        match self {
            Tab::Observer => '1',
            Tab::Timeline => '2',
            Tab::Flows => '3',
            Tab::Events => '4',
            Tab::Map => '5',
            Tab::Help => '?',
        }
    }

    pub fn index(self) -> usize {
        Tab::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }
}

/// A list's cursor. `offset` (first visible row) and `page` (visible rows) are written while
/// drawing, which is the only place that knows the height.
#[derive(Debug, Default)]
pub struct ListNav {
    pub selected: usize,
    pub offset: Cell<usize>,
    pub page: Cell<usize>,
}

impl ListNav {
    pub(super) fn step(&mut self, delta: isize, len: usize) {
        if len == 0 {
            self.selected = 0;
            return;
        }
        let s = self.selected as isize + delta;
        self.selected = s.clamp(0, len as isize - 1) as usize;
    }

    /// The first row to draw so that the selection is visible in `height` rows.
    pub fn visible_from(&self, height: usize, len: usize) -> usize {
        self.page.set(height.max(1));
        let mut off = self.offset.get();
        if self.selected < off {
            off = self.selected;
        } else if height > 0 && self.selected >= off + height {
            off = self.selected + 1 - height;
        }
        off = off.min(len.saturating_sub(height.max(1)));
        self.offset.set(off);
        off
    }
}

/// A filter line being typed or in force.
#[derive(Debug, Default)]
pub struct FilterLine {
    pub text: String,
    pub parsed: Filter,
    pub error: Option<FilterError>,
}

impl FilterLine {
    pub(super) fn set(&mut self, text: String) {
        match filter::parse(&text) {
            Ok(f) => {
                self.parsed = f;
                self.error = None;
            }
            Err(e) => {
                // A half-typed filter keeps nothing out until it parses.
                self.parsed = Filter::default();
                self.error = Some(e);
            }
        }
        self.text = text;
    }
}

/// Which list a filter edit goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListKind {
    Flows,
    Events,
}

/// The timeline's window: `None` span follows the whole capture.
#[derive(Debug, Default)]
pub struct Timeline {
    /// Seconds shown across the width; `None` fits the capture.
    pub span: Option<f64>,
    /// Start of the window, seconds after the first packet.
    pub start: f64,
    /// First lane drawn.
    pub lane_offset: usize,
}

/// Narrowest window the timeline zooms to (one character is then a fraction of a second, the
/// scale at which a message exchange's records separate).
pub(super) const MIN_SPAN_SECS: f64 = 2.0;

impl Timeline {
    /// The window (capture time) for a capture from `first` to `last`.
    pub fn window(&self, first: f64, last: f64) -> (f64, f64) {
        let whole = (last - first).max(1.0);
        match self.span {
            None => (first, first + whole),
            Some(span) => (first + self.start, first + self.start + span),
        }
    }

    pub(super) fn zoom(&mut self, factor: f64, first: f64, last: f64) {
        let (t0, t1) = self.window(first, last);
        let whole = (last - first).max(1.0);
        let span = ((t1 - t0) * factor).clamp(MIN_SPAN_SECS, whole.max(MIN_SPAN_SECS));
        let centre = (t0 + t1) / 2.0 - first;
        if factor > 1.0 && span >= whole {
            self.span = None;
            self.start = 0.0;
            return;
        }
        self.span = Some(span);
        self.start = (centre - span / 2.0).clamp(0.0, (whole - span).max(0.0));
    }

    pub(super) fn scroll(&mut self, frac: f64, first: f64, last: f64) {
        let whole = (last - first).max(1.0);
        let span = self.span.unwrap_or(whole);
        if self.span.is_none() {
            return;
        }
        self.start = (self.start + span * frac).clamp(0.0, (whole - span).max(0.0));
    }
}

/// What the Observer tab's main panel shows (`m` switches).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ObserverPane {
    /// Every finding, most revealing first.
    #[default]
    Findings,
    /// What would have hidden them.
    Mitigations,
}

/// A scrolled text's first line. `max` (the last first line that still fills the view) and
/// `page` (the lines in view) are written while drawing, the only place that knows the size.
#[derive(Debug, Default)]
pub struct Scroll {
    pub top: usize,
    pub max: Cell<usize>,
    pub page: Cell<usize>,
}

impl Scroll {
    pub(super) fn step(&mut self, delta: isize) {
        let top = self.top.min(self.max.get()) as isize + delta;
        self.top = top.clamp(0, self.max.get() as isize) as usize;
    }

    /// The first line to draw of `len` lines in `height`, remembered for the keys.
    pub fn visible_from(&self, height: usize, len: usize) -> usize {
        let max = len.saturating_sub(height);
        self.max.set(max);
        self.page.set(height.max(1));
        self.top.min(max)
    }
}
