//! What a key does: switch tabs, move a list's cursor, scroll the findings or Help, type a
//! filter, change the sort, zoom and scroll the timeline, ask the session for a replay control,
//! or ask the program to export the report.
//!
//! It exists so that the dashboard's answer to each key is read in one place and tested
//! without a terminal. It only moves the [`App`]'s view state and returns an [`Action`] for
//! the program; it must never change the session itself (controls go back to the caller to
//! send), never prepare rows here (a changed sort or filter is handed to [`App::refresh`]),
//! and never draw.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::App;
use crate::session::{Control, SourceKind, Speed};
use crate::views::report::ReportFormat;
use crate::views::tui::nav::{FilterLine, ListKind, ObserverPane, Scroll, Tab, Timeline};

/// What a key asks of the program beyond the dashboard's own state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Quit,
    Session(Control),
    /// Write the report of what is on screen into the export folder.
    Export(ReportFormat),
}

impl App {
    /// Answer a key. Returns what the program must do besides redrawing.
    pub fn on_key(&mut self, key: KeyEvent) -> Option<Action> {
        if key.kind == KeyEventKind::Release {
            return None;
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl && matches!(key.code, KeyCode::Char('c' | 'q')) {
            return Some(Action::Quit);
        }
        if let Some(list) = self.editing {
            self.edit_filter(list, key);
            return None;
        }
        // A notice (where an export went) stays until the next key.
        self.notice = None;
        let replay = self
            .snap
            .as_ref()
            .is_some_and(|s| s.kind != SourceKind::Live);
        let speed = self.snap.as_ref().map_or(Speed::X1, |s| s.speed);
        match key.code {
            KeyCode::Char('q') => return Some(Action::Quit),
            KeyCode::Esc if self.tab == Tab::Help => self.tab = self.back,
            KeyCode::Tab => self.go(Tab::ALL[(self.tab.index() + 1) % Tab::ALL.len()]),
            KeyCode::BackTab => {
                self.go(Tab::ALL[(self.tab.index() + Tab::ALL.len() - 1) % Tab::ALL.len()]);
            }
            KeyCode::Char('?') | KeyCode::F(1) => {
                if self.tab == Tab::Help {
                    self.tab = self.back;
                } else {
                    self.go(Tab::Help);
                }
            }
            KeyCode::Char(c @ '1'..='5') => {
                if let Some(t) = Tab::ALL.iter().find(|t| t.key() == c) {
                    self.go(*t);
                }
            }
            KeyCode::Char(' ') | KeyCode::Char('p') if replay => {
                return Some(Action::Session(Control::TogglePause));
            }
            KeyCode::Char('>') | KeyCode::Char('.') if replay => {
                return Some(Action::Session(Control::SetSpeed(faster(speed))));
            }
            KeyCode::Char('<') | KeyCode::Char(',') if replay => {
                return Some(Action::Session(Control::SetSpeed(slower(speed))));
            }
            KeyCode::F(n @ 5..=8) if replay => {
                let s = [Speed::X1, Speed::X10, Speed::X100, Speed::Max][usize::from(n - 5)];
                return Some(Action::Session(Control::SetSpeed(s)));
            }
            KeyCode::Char('E') if replay => return Some(Action::Session(Control::JumpToEnd)),
            KeyCode::Char('x') => return Some(Action::Export(ReportFormat::Markdown)),
            KeyCode::Char('X') => return Some(Action::Export(ReportFormat::Json)),
            _ => self.tab_key(key),
        }
        None
    }

    fn go(&mut self, t: Tab) {
        if t == Tab::Help && self.tab != Tab::Help {
            self.back = self.tab;
        }
        self.tab = t;
    }

    fn tab_key(&mut self, key: KeyEvent) {
        match self.tab {
            Tab::Flows | Tab::Map => self.list_key(ListKind::Flows, key),
            Tab::Events => self.list_key(ListKind::Events, key),
            Tab::Timeline => self.timeline_key(key),
            Tab::Observer => {
                if key.code == KeyCode::Char('m') {
                    self.observer_pane = match self.observer_pane {
                        ObserverPane::Findings => ObserverPane::Mitigations,
                        ObserverPane::Mitigations => ObserverPane::Findings,
                    };
                    return;
                }
                let scroll = match self.observer_pane {
                    ObserverPane::Findings => &mut self.findings_scroll,
                    ObserverPane::Mitigations => &mut self.mitigations_scroll,
                };
                scroll_key(scroll, key);
            }
            Tab::Help => scroll_key(&mut self.help_scroll, key),
        }
    }

    fn list_key(&mut self, list: ListKind, key: KeyEvent) {
        let (len, nav) = match list {
            ListKind::Flows => (self.flow_rows.len(), &mut self.flows),
            ListKind::Events => (self.event_rows.len(), &mut self.events),
        };
        let page = nav.page.get().max(1) as isize;
        match key.code {
            KeyCode::Up | KeyCode::Char('k') => nav.step(-1, len),
            KeyCode::Down | KeyCode::Char('j') => nav.step(1, len),
            KeyCode::PageUp => nav.step(-page, len),
            KeyCode::PageDown => nav.step(page, len),
            KeyCode::Home | KeyCode::Char('g') => nav.selected = 0,
            KeyCode::End | KeyCode::Char('G') => nav.selected = len.saturating_sub(1),
            KeyCode::Char('/') if self.tab != Tab::Map => self.editing = Some(list),
            KeyCode::Esc => {
                self.filter_of(list).set(String::new());
            }
            KeyCode::Char('s') if list == ListKind::Flows => {
                self.sort = self.sort.next();
            }
            KeyCode::Char('S') if list == ListKind::Flows => {
                self.descending = !self.descending;
            }
            _ => {}
        }
        self.remember_selection();
        self.refresh();
    }

    fn filter_of(&mut self, list: ListKind) -> &mut FilterLine {
        match list {
            ListKind::Flows => &mut self.flow_filter,
            ListKind::Events => &mut self.event_filter,
        }
    }

    fn edit_filter(&mut self, list: ListKind, key: KeyEvent) {
        let mut text = self.filter_of(list).text.clone();
        match key.code {
            KeyCode::Enter => {
                self.editing = None;
                return;
            }
            KeyCode::Esc => {
                self.editing = None;
                text.clear();
            }
            KeyCode::Backspace => {
                text.pop();
            }
            KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => text.clear(),
            KeyCode::Char(c) => text.push(c),
            _ => return,
        }
        self.filter_of(list).set(text);
        self.refresh();
    }

    fn timeline_key(&mut self, key: KeyEvent) {
        let (first, last) = (self.derived.first_ts, self.derived.last_ts);
        let lanes = self.derived.lanes.len();
        let t = &mut self.timeline;
        match key.code {
            KeyCode::Char('+') | KeyCode::Char('=') => t.zoom(0.5, first, last),
            KeyCode::Char('-') | KeyCode::Char('_') => t.zoom(2.0, first, last),
            KeyCode::Left | KeyCode::Char('h') => t.scroll(-0.25, first, last),
            KeyCode::Right | KeyCode::Char('l') => t.scroll(0.25, first, last),
            KeyCode::Char('0') => *t = Timeline::default(),
            KeyCode::Up | KeyCode::Char('k') => t.lane_offset = t.lane_offset.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => {
                t.lane_offset = (t.lane_offset + 1).min(lanes.saturating_sub(1));
            }
            _ => {}
        }
    }
}

/// Scroll a text: a line, a page, to the top or the end.
fn scroll_key(s: &mut Scroll, key: KeyEvent) {
    let page = s.page.get().max(1) as isize;
    match key.code {
        KeyCode::Up | KeyCode::Char('k') => s.step(-1),
        KeyCode::Down | KeyCode::Char('j') => s.step(1),
        KeyCode::PageUp => s.step(-page),
        KeyCode::PageDown => s.step(page),
        KeyCode::Home | KeyCode::Char('g') => s.top = 0,
        // The end whatever was drawn last: drawing clamps it to the last full view.
        KeyCode::End | KeyCode::Char('G') => s.top = usize::MAX,
        _ => {}
    }
}

fn faster(s: Speed) -> Speed {
    match s {
        Speed::X1 => Speed::X10,
        Speed::X10 => Speed::X100,
        Speed::X100 | Speed::Max => Speed::Max,
    }
}

fn slower(s: Speed) -> Speed {
    match s {
        Speed::Max => Speed::X100,
        Speed::X100 => Speed::X10,
        Speed::X10 | Speed::X1 => Speed::X1,
    }
}
