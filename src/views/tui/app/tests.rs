//! What keys do to the App, and the worker-prepared screen matching the inline one.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::model::FlowRecord;
use crate::session::{Control, Snapshot, SourceKind, Speed};
use crate::views::tui::fixtures::{flow, sample, snapshot, varied};
use crate::views::tui::nav::MIN_SPAN_SECS;

fn key(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

fn services(app: &App, snap: &Snapshot) -> Vec<Option<String>> {
    app.flow_rows()
        .iter()
        .map(|&i| snap.flows[i as usize].service.clone())
        .collect()
}

#[test]
fn sorts_by_any_column_both_ways() {
    let snap = sample();
    let mut app = App::new(true);
    app.tab = Tab::Flows;
    app.sync(&snap);
    assert_eq!(app.flow_rows(), &[0, 1, 2, 3], "start time order");
    app.sort = FlowCol::Bytes;
    app.sync(&snap);
    assert_eq!(app.flow_rows(), &[2, 0, 3, 1]);
    app.on_key(key(KeyCode::Char('S')));
    assert_eq!(app.flow_rows(), &[1, 3, 0, 2], "S reverses");
    app.sort = FlowCol::Service;
    app.descending = false;
    app.sync(&snap);
    // Named services first, alphabetically; ties keep start order; unnamed last.
    assert_eq!(app.flow_rows(), &[1, 0, 3, 2]);
    // Every column gives a total order that puts different flows in a defined place.
    for c in FlowCol::ALL {
        app.sort = c;
        app.sync(&snap);
        let mut seen = app.flow_rows().to_vec();
        seen.sort_unstable();
        assert_eq!(seen, vec![0, 1, 2, 3], "{c:?} keeps every row");
    }
}

#[test]
fn s_steps_through_every_column() {
    let snap = sample();
    let mut app = App::new(true);
    app.tab = Tab::Flows;
    app.sync(&snap);
    let mut seen = vec![app.sort];
    for _ in 1..FlowCol::ALL.len() {
        app.on_key(key(KeyCode::Char('s')));
        seen.push(app.sort);
    }
    assert_eq!(seen, FlowCol::ALL.to_vec());
    app.on_key(key(KeyCode::Char('s')));
    assert_eq!(app.sort, FlowCol::Start, "wraps around");
}

#[test]
fn typing_a_filter_narrows_rows_and_esc_clears() {
    let snap = sample();
    let mut app = App::new(true);
    app.tab = Tab::Flows;
    app.sync(&snap);
    app.on_key(key(KeyCode::Char('/')));
    assert_eq!(app.editing, Some(ListKind::Flows));
    for c in "service:whatsapp".chars() {
        app.on_key(key(KeyCode::Char(c)));
    }
    assert_eq!(services(&app, &snap).len(), 2);
    assert!(
        services(&app, &snap)
            .iter()
            .all(|s| s.as_deref() == Some("WhatsApp"))
    );
    // 'q' while typing is text, not quit.
    assert_eq!(app.on_key(key(KeyCode::Char(' '))), None);
    for c in "country:pt".chars() {
        assert_eq!(app.on_key(key(KeyCode::Char(c))), None);
    }
    assert_eq!(app.flow_rows(), &[3]);
    app.on_key(key(KeyCode::Enter));
    assert_eq!(app.editing, None);
    assert_eq!(app.flow_rows(), &[3], "Enter keeps the filter");
    app.on_key(key(KeyCode::Esc));
    assert_eq!(app.flow_rows().len(), 4, "Esc clears it");
    // A bad key shows an error and hides nothing.
    app.on_key(key(KeyCode::Char('/')));
    for c in "colour:red".chars() {
        app.on_key(key(KeyCode::Char(c)));
    }
    assert!(app.flow_filter.error.is_some());
    assert_eq!(app.flow_rows().len(), 4);
}

#[test]
fn selection_follows_the_flow_across_snapshots_and_sorts() {
    let snap = sample();
    let mut app = App::new(true);
    app.tab = Tab::Flows;
    app.sync(&snap);
    app.on_key(key(KeyCode::Down));
    app.on_key(key(KeyCode::Down));
    assert_eq!(app.selected_flow(&snap).map(|f| f.first_ts), Some(1002.0));
    app.on_key(key(KeyCode::Char('S')));
    assert_eq!(
        app.selected_flow(&snap).map(|f| f.first_ts),
        Some(1002.0),
        "reversing keeps the same flow selected"
    );
    // A newer snapshot with a flow that sorts before it.
    let mut flows: Vec<FlowRecord> = snap.flows.iter().map(|f| (**f).clone()).collect();
    flows.push(flow(4, Some("Telegram"), Some("NL"), 1));
    let next = snapshot(flows);
    app.sync(&next);
    assert_eq!(app.selected_flow(&next).map(|f| f.first_ts), Some(1002.0));
    // Moving past either end stays on the list.
    for _ in 0..10 {
        app.on_key(key(KeyCode::Down));
    }
    assert_eq!(app.flows.selected, 4);
    app.on_key(key(KeyCode::Home));
    assert_eq!(app.flows.selected, 0);
}

#[test]
fn keys_switch_tabs_control_the_replay_and_quit() {
    let snap = sample();
    let mut app = App::new(true);
    app.sync(&snap);
    app.on_key(key(KeyCode::Char('3')));
    assert_eq!(app.tab, Tab::Flows);
    app.on_key(key(KeyCode::Tab));
    assert_eq!(app.tab, Tab::Events);
    app.on_key(key(KeyCode::BackTab));
    app.on_key(key(KeyCode::BackTab));
    assert_eq!(app.tab, Tab::Timeline);
    app.on_key(key(KeyCode::Char('?')));
    assert_eq!(app.tab, Tab::Help);
    app.on_key(key(KeyCode::Esc));
    assert_eq!(app.tab, Tab::Timeline, "help returns where it came from");
    assert_eq!(
        app.on_key(key(KeyCode::Char(' '))),
        Some(Action::Session(Control::TogglePause))
    );
    assert_eq!(
        app.on_key(key(KeyCode::Char('>'))),
        Some(Action::Session(Control::SetSpeed(Speed::X10)))
    );
    assert_eq!(
        app.on_key(key(KeyCode::F(8))),
        Some(Action::Session(Control::SetSpeed(Speed::Max)))
    );
    assert_eq!(
        app.on_key(key(KeyCode::Char('E'))),
        Some(Action::Session(Control::JumpToEnd))
    );
    assert_eq!(app.on_key(key(KeyCode::Char('q'))), Some(Action::Quit));
    assert_eq!(
        app.on_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
        Some(Action::Quit)
    );
}

#[test]
fn live_ignores_replay_keys() {
    let mut s = (*sample()).clone();
    s.kind = SourceKind::Live;
    let snap = Arc::new(s);
    let mut app = App::new(true);
    app.sync(&snap);
    assert_eq!(app.on_key(key(KeyCode::Char(' '))), None);
    assert_eq!(app.on_key(key(KeyCode::Char('E'))), None);
}

#[test]
fn timeline_zooms_scrolls_and_fits() {
    let snap = sample();
    let mut app = App::new(true);
    app.tab = Tab::Timeline;
    app.sync(&snap);
    assert_eq!(app.timeline.window(1000.0, 1100.0), (1000.0, 1100.0));
    app.on_key(key(KeyCode::Char('+')));
    assert_eq!(app.timeline.window(1000.0, 1100.0), (1025.0, 1075.0));
    app.on_key(key(KeyCode::Right));
    let (a, b) = app.timeline.window(1000.0, 1100.0);
    assert!((a - 1037.5).abs() < 1e-9 && (b - 1087.5).abs() < 1e-9);
    for _ in 0..10 {
        app.on_key(key(KeyCode::Right));
    }
    assert_eq!(
        app.timeline.window(1000.0, 1100.0),
        (1050.0, 1100.0),
        "scrolling stops at the end"
    );
    for _ in 0..20 {
        app.on_key(key(KeyCode::Char('+')));
    }
    let (a, b) = app.timeline.window(1000.0, 1100.0);
    assert!(
        (b - a - MIN_SPAN_SECS).abs() < 1e-9,
        "zoom stops at the minimum"
    );
    app.on_key(key(KeyCode::Char('0')));
    assert_eq!(app.timeline.span, None);
    app.on_key(key(KeyCode::Char('+')));
    app.on_key(key(KeyCode::Char('-')));
    assert_eq!(
        app.timeline.span, None,
        "zooming out to the whole capture fits it"
    );
}
/// What a worker-driven app shows once the worker has answered.
fn settled(app: &mut App, snap: &Arc<Snapshot>) {
    // Each call an hour after the last, so pacing always lets a new snapshot in.
    static HOURS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let h = HOURS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let now = std::time::Instant::now() + std::time::Duration::from_secs(3600 * h);
    app.sync_paced(snap, now);
    assert!(
        app.wait_ready(std::time::Duration::from_secs(20)),
        "the worker answers"
    );
    app.sync_paced(snap, now);
    assert!(!app.preparing(), "the answer is on screen");
}

fn same_screen(a: &App, b: &App, what: &str) {
    assert_eq!(a.flow_rows(), b.flow_rows(), "flow rows, {what}");
    assert_eq!(a.event_rows(), b.event_rows(), "event rows, {what}");
    assert_eq!(a.derived(), b.derived(), "derived work, {what}");
    assert_eq!(a.flows.selected, b.flows.selected, "flow selection, {what}");
    assert_eq!(
        a.events.selected, b.events.selected,
        "event selection, {what}"
    );
    assert!(
        Arc::ptr_eq(a.view().unwrap(), b.view().unwrap()),
        "same snapshot, {what}"
    );
}

#[test]
fn the_worker_prepares_what_sync_does() {
    let first = varied(600, 0);
    // The next snapshot: more flows, and bytes changed so the byte order changes.
    let second = varied(700, 5000);
    let mut inline = App::new(true);
    let mut worked = App::new(true);
    worked.start_worker(|| {}).unwrap();
    assert!(worked.has_worker() && !inline.has_worker());
    for app in [&mut inline, &mut worked] {
        app.tab = Tab::Flows;
    }
    inline.sync(&first);
    settled(&mut worked, &first);
    same_screen(&inline, &worked, "first snapshot");
    assert_eq!(inline.flow_rows().len(), 600);
    // Every column both ways, a filter on each list, and the selection moved.
    let keys: Vec<KeyCode> = [KeyCode::Char('S'), KeyCode::Char('s')]
        .repeat(FlowCol::ALL.len())
        .into_iter()
        .chain([KeyCode::Down; 37])
        .chain([KeyCode::Char('/')])
        .chain("service:whatsapp -country:pt".chars().map(KeyCode::Char))
        .chain([KeyCode::Enter, KeyCode::Char('s'), KeyCode::Down])
        .collect();
    for (n, k) in keys.into_iter().enumerate() {
        inline.on_key(key(k));
        worked.on_key(key(k));
        inline.sync(&first);
        settled(&mut worked, &first);
        same_screen(&inline, &worked, &format!("after key {n} {k:?}"));
    }
    assert!(
        inline.flow_rows().len() < 600,
        "the filter keeps fewer rows"
    );
    let chosen = inline.selected_flow(&first).cloned();
    assert!(chosen.is_some());
    // A new snapshot keeps the same flow selected on both paths.
    inline.sync(&second);
    settled(&mut worked, &second);
    same_screen(&inline, &worked, "second snapshot");
    assert_eq!(
        worked.selected_flow(&second),
        chosen.as_ref().map(|c| {
            second
                .flows
                .iter()
                .find(|f| c.flow_ref() == f.flow_ref())
                .unwrap()
                .as_ref()
        })
    );
    // Events: a filter and a selection.
    for k in [
        KeyCode::Char('4'),
        KeyCode::Down,
        KeyCode::Down,
        KeyCode::Char('/'),
    ]
    .into_iter()
    .chain("kind:message".chars().map(KeyCode::Char))
    {
        inline.on_key(key(k));
        worked.on_key(key(k));
        inline.sync(&second);
        settled(&mut worked, &second);
        same_screen(&inline, &worked, &format!("events key {k:?}"));
    }
    assert!(worked.event_rows().len() < second.events.len());
}

#[test]
fn the_worker_never_shows_rows_of_an_old_sort() {
    let snap = varied(2000, 0);
    let mut app = App::new(true);
    app.tab = Tab::Flows;
    app.start_worker(|| {}).unwrap();
    settled(&mut app, &snap);
    let mut want = App::new(true);
    want.tab = Tab::Flows;
    want.sync(&snap);
    // Sort by bytes (nine steps from Start), then reverse: only the last is current.
    for _ in 0..8 {
        app.on_key(key(KeyCode::Char('s')));
        want.on_key(key(KeyCode::Char('s')));
    }
    app.on_key(key(KeyCode::Char('S')));
    want.on_key(key(KeyCode::Char('S')));
    let start_order: Vec<u32> = (0..2000).collect();
    // Whatever has arrived by now, the screen shows the old rows or the current ones.
    let now = std::time::Instant::now();
    app.sync_paced(&snap, now);
    let rows = app.flow_rows().to_vec();
    assert!(
        rows == start_order || rows == want.flow_rows(),
        "no rows of an intermediate sort"
    );
    assert_eq!(app.preparing(), rows == start_order);
    settled(&mut app, &snap);
    assert_eq!(app.flow_rows(), want.flow_rows());
    assert_ne!(app.flow_rows(), &start_order[..]);
}

#[test]
fn export_keys_and_the_observer_pane() {
    let snap = sample();
    let mut app = App::new(true);
    app.sync(&snap);
    use crate::views::report::ReportFormat;
    assert_eq!(
        app.on_key(key(KeyCode::Char('x'))),
        Some(Action::Export(ReportFormat::Markdown))
    );
    assert_eq!(
        app.on_key(key(KeyCode::Char('X'))),
        Some(Action::Export(ReportFormat::Json))
    );
    // Where the export went stays on screen until the next key.
    app.notice = Some("report written to ./r.md".into());
    app.on_key(key(KeyCode::Char('m')));
    assert_eq!(app.notice, None);
    assert_eq!(app.observer_pane, ObserverPane::Mitigations);
    app.on_key(key(KeyCode::Char('m')));
    assert_eq!(app.observer_pane, ObserverPane::Findings);
    // A typed filter takes x as a letter, not as an export.
    app.tab = Tab::Flows;
    app.on_key(key(KeyCode::Char('/')));
    assert_eq!(app.on_key(key(KeyCode::Char('x'))), None);
    assert_eq!(app.flow_filter.text, "x");
}
