//! Drawing: one function per tab, reading the [`App`]'s prepared rows and the snapshot (the
//! Observer tab in [`observer`], Help in [`help`]).
//!
//! Nothing here sorts, filters or counts over all flows: it renders only what fits on screen
//! (the visible slice of the flow table, the visible lanes), so a frame costs the same with ten
//! flows or a hundred thousand. It must never change a count or decide anything.

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::canvas::{Canvas, Map, MapResolution};
use ratatui::widgets::{Block, Paragraph, Tabs, Wrap};

mod help;
mod observer;

pub use help::{GLOSSARY, KEYS};

use super::app::App;
use super::columns::FlowCol;
use super::fmt;
use super::nav::{ListKind, Tab};
use crate::model::FlowRecord;
use crate::model::{Event, EventKind, PeerKind, Role, SizeClass};
use crate::session::{Snapshot, SourceKind};

/// Styles, with or without colour. Colours are the terminal's own ANSI palette (no fixed
/// background, no white or black text), so they read on dark and light themes; every
/// distinction made by colour is also made by a symbol, so `--no-color` loses nothing.
#[derive(Clone, Copy, Debug)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    fn fg(self, c: Color) -> Style {
        if self.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    }
    fn bold(self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }
    fn dim(self) -> Style {
        Style::new().add_modifier(Modifier::DIM)
    }
    fn selected(self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }
    fn title(self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }
    fn error(self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }
    fn out(self) -> Style {
        self.fg(Color::Cyan)
    }
    fn inbound(self) -> Style {
        self.fg(Color::Magenta)
    }
    fn voice(self) -> Style {
        self.fg(Color::Green)
    }
    fn video(self) -> Style {
        self.fg(Color::Red)
    }
}

/// Draw the whole screen.
pub fn draw(frame: &mut Frame<'_>, app: &App, latest: &Snapshot) {
    // The tabs show the snapshot the app prepared rows for; the status bar the newest.
    let snap: &Snapshot = app.view().map_or(latest, |s| s.as_ref());
    let th = Theme {
        color: !app.no_color,
    };
    let [top, body, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    tab_bar(frame, top, app, th);
    match app.tab {
        Tab::Observer => observer::observer(frame, body, app, snap, th),
        Tab::Timeline => timeline(frame.buffer_mut(), body, app, snap, th),
        Tab::Flows => flows(frame, body, app, snap, th),
        Tab::Events => events(frame, body, app, snap, th),
        Tab::Map => map(frame, body, app, snap, th),
        Tab::Help => help::help(frame, body, app, snap, th),
    }
    status_bar(frame, status, app, latest, th);
}

fn tab_bar(frame: &mut Frame<'_>, area: Rect, app: &App, th: Theme) {
    let titles: Vec<Line<'_>> = Tab::ALL
        .iter()
        .map(|t| Line::from(format!("{} {}", t.key(), t.title())))
        .collect();
    let tabs = Tabs::new(titles)
        .select(app.tab.index())
        .style(Style::new())
        .highlight_style(th.selected().add_modifier(Modifier::BOLD))
        .divider("│")
        .padding(" ", " ");
    frame.render_widget(tabs, area);
}

fn status_bar(frame: &mut Frame<'_>, area: Rect, app: &App, snap: &Snapshot, th: Theme) {
    if let Some(n) = &app.notice {
        frame.render_widget(
            Paragraph::new(Line::styled(format!(" {n}"), th.bold())).style(th.selected()),
            area,
        );
        return;
    }
    let kind = match snap.kind {
        SourceKind::Replay => "replay",
        SourceKind::Live => "live",
        SourceKind::Demo { synthetic: true } => "demo (synthetic)",
        SourceKind::Demo { synthetic: false } => "demo",
    };
    let wide = area.width >= 100;
    let kind = if wide {
        kind
    } else {
        kind.split(' ').next().unwrap_or(kind)
    };
    let pos = snap.position_ts.map_or_else(
        || "--:--:--".to_string(),
        |t| {
            if wide {
                app.clock.datetime(t)
            } else {
                app.clock.time(t)
            }
        },
    );
    let state = if snap.finished {
        "done".to_string()
    } else if snap.kind == SourceKind::Live {
        "capturing".to_string()
    } else if snap.paused {
        format!("paused {}", fmt::speed_label(snap.speed))
    } else {
        format!("▶ {}", fmt::speed_label(snap.speed))
    };
    let source = if wide {
        format!("{kind} {}", snap.source)
    } else if snap.kind == SourceKind::Replay {
        fmt::fit(&snap.source, 22)
    } else {
        format!("{kind} {}", fmt::fit(&snap.source, 16))
    };
    let mut parts = vec![
        Span::styled(format!(" {source} "), th.bold()),
        Span::raw(format!(" {pos} {} ", app.clock.label())),
        Span::raw(format!(" {state} ")),
        Span::raw(format!(" {} pkt/s ", fmt::rate(snap.pps))),
    ];
    if let Some(drops) = snap.kernel_drops {
        let st = if drops > 0 { th.error() } else { Style::new() };
        parts.push(Span::styled(format!(" drops {} ", fmt::count(drops)), st));
    }
    parts.push(Span::raw(format!(
        " {} ",
        fmt::counted(snap.flows.len() as u64, "flow", "flows")
    )));
    parts.push(Span::raw(format!(
        " {} ",
        fmt::counted(snap.events.len() as u64, "event", "events")
    )));
    if let Some(e) = &snap.error {
        parts.push(Span::styled(format!(" {e} "), th.error()));
    }
    let mut spans = Vec::with_capacity(parts.len() * 2);
    for (i, p) in parts.into_iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled("│", th.dim()));
        }
        spans.push(p);
    }
    frame.render_widget(Paragraph::new(Line::from(spans)).style(th.selected()), area);
}

fn block(title: impl Into<String>, th: Theme) -> Block<'static> {
    Block::bordered().title(Span::styled(format!(" {} ", title.into()), th.title()))
}

/// One short line for an event: "voice call via relay (US), 95 s".
pub fn describe(e: &Event) -> String {
    let cc = e
        .peer_country
        .as_deref()
        .map(|c| format!(" ({c})"))
        .unwrap_or_default();
    let peer = match e.peer_kind {
        Some(PeerKind::Direct) => format!(", direct to the peer{cc}"),
        Some(PeerKind::Relay) => format!(" via relay{cc}"),
        Some(PeerKind::Unknown) => format!(", path unknown{cc}"),
        None => String::new(),
    };
    let dur = fmt::duration(e.end_ts - e.start_ts);
    match e.kind {
        EventKind::MessageOut => format!("message sent, {}", fmt::bytes(e.bytes_out)),
        EventKind::MessageIn => format!("message received, {}", fmt::bytes(e.bytes_in)),
        EventKind::VoiceCall => format!("voice call{peer}, {dur}"),
        EventKind::VideoCall => format!("video call{peer}, {dur}"),
        EventKind::CallAttempt => format!("call attempt{peer}"),
        EventKind::MediaUpload => format!(
            "media sent, {} ({})",
            fmt::bytes(e.bytes_out),
            e.size_class.map_or("?", SizeClass::as_str)
        ),
        EventKind::MediaDownload => format!(
            "media received, {} ({})",
            fmt::bytes(e.bytes_in),
            e.size_class.map_or("?", SizeClass::as_str)
        ),
        EventKind::OnlineSession => format!("online for {dur}"),
        k => format!("{}, {dur}", crate::observer::words::kind(k)),
    }
}

fn event_style(e: &Event, th: Theme) -> Style {
    match e.kind {
        EventKind::VoiceCall => th.voice(),
        EventKind::VideoCall => th.video(),
        EventKind::MessageOut | EventKind::MediaUpload => th.out(),
        EventKind::MessageIn | EventKind::MediaDownload => th.inbound(),
        _ => Style::new(),
    }
}

/// Width of the service names left of the lanes.
const LANE_LABEL: u16 = 11;

/// Lane marker for a transfer of `bytes`: larger transfers get larger marks.
fn media_mark(bytes: u64) -> &'static str {
    match bytes {
        0..=60_000 => "·",
        60_001..=1_500_000 => "•",
        _ => "●",
    }
}

/// Tick spacing of the time axis: the first step at least `min` seconds long.
fn axis_step(min: f64) -> f64 {
    const STEPS: [f64; 16] = [
        1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0,
        21600.0, 86400.0,
    ];
    STEPS
        .iter()
        .copied()
        .find(|s| *s >= min)
        .unwrap_or((min / 86400.0).ceil() * 86400.0)
}

fn timeline(buf: &mut Buffer, area: Rect, app: &App, snap: &Snapshot, th: Theme) {
    let d = app.derived();
    let (t0, t1) = app.timeline.window(d.first_ts, d.last_ts);
    let title = format!(
        "Timeline {} – {} {} ({}){}",
        app.clock.time(t0),
        app.clock.time(t1),
        app.clock.label(),
        fmt::duration(t1 - t0),
        if app.timeline.span.is_none() {
            ", whole capture"
        } else {
            ""
        }
    );
    let b = block(title, th);
    let inner = b.inner(area);
    ratatui::widgets::Widget::render(b, area, buf);
    if inner.width <= LANE_LABEL + 2 || inner.height < 5 {
        return;
    }
    let plot_x = inner.x + LANE_LABEL;
    let plot_w = inner.width - LANE_LABEL;
    let col = |t: f64| -> Option<u16> {
        if t < t0 || t > t1 {
            return None;
        }
        let f = (t - t0) / (t1 - t0).max(1e-9);
        Some(((f * f64::from(plot_w)) as u16).min(plot_w - 1))
    };
    // Columns a span [a, b] covers, clipped to the window.
    let cols = |a: f64, b: f64| -> Option<(u16, u16)> {
        if b < t0 || a > t1 {
            return None;
        }
        Some((col(a.max(t0))?, col(b.min(t1))?))
    };
    // The legend takes the last two lines when there is room for a lane besides.
    let legend_h = if inner.height >= 2 + LEGEND_H + 4 {
        LEGEND_H
    } else {
        0
    };
    let lanes_h = inner.height - 2 - legend_h;
    let per_lane = 4u16;
    let visible = usize::from(lanes_h / per_lane);
    if d.lanes.is_empty() {
        buf.set_string(inner.x, inner.y, "No named service yet.", th.dim());
    }
    for (li, lane) in d
        .lanes
        .iter()
        .skip(app.timeline.lane_offset)
        .take(visible)
        .enumerate()
    {
        let y = inner.y + li as u16 * per_lane;
        let (y_out, y_mid, y_in) = (y, y + 1, y + 2);
        buf.set_string(
            inner.x,
            y_mid,
            fmt::fit(&lane.service, usize::from(LANE_LABEL - 1)),
            th.bold(),
        );
        buf.set_string(inner.x, y_out, "  out", th.dim());
        buf.set_string(inner.x, y_in, "  in", th.dim());
        // When the service's flows were open: a faint baseline.
        for &(a, b) in &lane.activity {
            if let Some((c0, c1)) = cols(a, b) {
                for c in c0..=c1 {
                    buf.set_string(plot_x + c, y_mid, "·", th.dim());
                }
            }
        }
        // Online sessions shaded, then calls as bars over them, then ticks and markers.
        let evs = || {
            lane.events
                .iter()
                .filter_map(|&i| snap.events.get(i as usize))
        };
        for e in evs().filter(|e| e.kind == EventKind::OnlineSession) {
            if let Some((c0, c1)) = cols(e.start_ts, e.end_ts) {
                for c in c0..=c1 {
                    buf.set_string(plot_x + c, y_mid, "░", th.dim());
                }
            }
        }
        for e in evs() {
            let (sym, st) = match e.kind {
                EventKind::VoiceCall => ("━", th.voice().add_modifier(Modifier::BOLD)),
                EventKind::VideoCall => ("█", th.video()),
                EventKind::CallAttempt => ("╌", Style::new()),
                _ => continue,
            };
            if let Some((c0, c1)) = cols(e.start_ts, e.end_ts) {
                for c in c0..=c1 {
                    buf.set_string(plot_x + c, y_mid, sym, st);
                }
            }
        }
        for e in evs() {
            let (row, sym, st) = match e.kind {
                EventKind::MessageOut => (y_out, "╷", th.out()),
                EventKind::MessageIn => (y_in, "╵", th.inbound()),
                EventKind::MediaUpload => (
                    y_out,
                    media_mark(e.bytes_out),
                    th.out().add_modifier(Modifier::BOLD),
                ),
                EventKind::MediaDownload => (
                    y_in,
                    media_mark(e.bytes_in),
                    th.inbound().add_modifier(Modifier::BOLD),
                ),
                _ => continue,
            };
            if let Some(c) = col(e.start_ts) {
                buf.set_string(plot_x + c, row, sym, st);
            }
        }
    }
    if d.lanes.len() > visible {
        let more = format!(
            " lanes {}-{} of {} (↑/↓) ",
            app.timeline.lane_offset + 1,
            (app.timeline.lane_offset + visible).min(d.lanes.len()),
            d.lanes.len()
        );
        let w = more.chars().count() as u16;
        buf.set_string(area.right().saturating_sub(w + 1), area.y, more, th.dim());
    }
    // Time axis: ticks and labels every step, the step chosen so labels do not touch.
    let y_axis = inner.y + lanes_h;
    let label_w = 9.0;
    let secs_per_col = (t1 - t0) / f64::from(plot_w);
    let step = axis_step(label_w * secs_per_col);
    let mut t = (t0 / step).ceil() * step;
    buf.set_string(
        inner.x,
        y_axis + 1,
        fmt::fit(app.clock.label(), usize::from(LANE_LABEL - 1)),
        th.dim(),
    );
    while t <= t1 {
        if let Some(c) = col(t) {
            buf.set_string(plot_x + c, y_axis, "┴", th.dim());
            let label = app.clock.time(t);
            let label = if step < 60.0 {
                label
            } else {
                label.chars().take(5).collect()
            };
            if c + label.len() as u16 <= plot_w {
                buf.set_string(plot_x + c, y_axis + 1, label, Style::new());
            }
        }
        t += step;
    }
    if legend_h > 0 {
        let at = Rect {
            y: y_axis + 2,
            height: legend_h,
            ..inner
        };
        ratatui::widgets::Widget::render(Paragraph::new(legend(th)), at, buf);
    }
}

/// Lines the timeline's legend takes.
const LEGEND_H: u16 = 2;

/// What the timeline's marks mean, drawn in their own styles.
fn legend(th: Theme) -> Vec<Line<'static>> {
    let bold = |st: Style| st.add_modifier(Modifier::BOLD);
    let mark = |sym: &'static str, st: Style, what: &'static str| {
        [Span::styled(sym, st), Span::styled(what, th.dim())]
    };
    let mut one = vec![Span::styled("messages ", th.bold())];
    one.extend(mark("╷", th.out(), " sent  "));
    one.extend(mark("╵", th.inbound(), " received    "));
    one.push(Span::styled("media ", th.bold()));
    one.extend(mark("·", bold(th.out()), " to 60 kB  "));
    one.extend(mark("•", bold(th.out()), " to 1.5 MB  "));
    one.extend(mark("●", bold(th.out()), " larger"));
    let mut two = vec![Span::styled("calls ", th.bold())];
    two.extend(mark("━", bold(th.voice()), " voice  "));
    two.extend(mark("█", th.video(), " video  "));
    two.extend(mark("╌", Style::new(), " attempt   "));
    two.extend(mark("░", th.dim(), " online  "));
    two.extend(mark("·", th.dim(), " flows open"));
    vec![Line::from(one), Line::from(two)]
}

/// Fixed-width cell text, right-aligned for numbers.
fn cell(s: &str, w: usize, right: bool) -> String {
    let s = fmt::fit(s, w);
    if right {
        format!("{s:>w$}")
    } else {
        format!("{s:<w$}")
    }
}

/// The columns shown at this width: client and role only when every column fits whole
/// (each cell is followed by a space); the room left widens the server and service names,
/// the cells cut first.
fn flow_columns(width: u16) -> Vec<(FlowCol, usize)> {
    use FlowCol::*;
    const WIDE: [(FlowCol, usize); 10] = [
        (Start, 8),
        (Proto, 5),
        (Client, 24),
        (Server, 30),
        (Service, 16),
        (Role, 6),
        (Country, 2),
        (Packets, 6),
        (Bytes, 8),
        (Duration, 6),
    ];
    const NARROW: [(FlowCol, usize); 8] = [
        (Start, 8),
        (Proto, 5),
        (Server, 21),
        (Service, 11),
        (Country, 2),
        (Packets, 6),
        (Bytes, 8),
        (Duration, 6),
    ];
    /// Widest the server column grows (an IPv6 address with its port in brackets).
    const SERVER_MAX: usize = 47;
    /// Widest the service column grows.
    const SERVICE_MAX: usize = 24;
    let need = |c: &[(FlowCol, usize)]| c.iter().map(|(_, w)| w + 1).sum::<usize>();
    let w = usize::from(width);
    let mut cols = if w >= need(&WIDE) {
        WIDE.to_vec()
    } else {
        NARROW.to_vec()
    };
    let mut spare = w.saturating_sub(need(&cols));
    for (c, cw) in &mut cols {
        let max = match c {
            Server => SERVER_MAX,
            Service => SERVICE_MAX,
            _ => continue,
        };
        let add = if *c == Server {
            (spare * 2 / 3).min(max.saturating_sub(*cw))
        } else {
            spare.min(max.saturating_sub(*cw))
        };
        *cw += add;
        spare -= add;
    }
    cols
}

fn flow_cell(r: &FlowRecord, c: FlowCol, clock: &fmt::Clock) -> String {
    match c {
        FlowCol::Start => clock.time(r.first_ts),
        FlowCol::Proto => r.proto.to_string(),
        FlowCol::Client => r.client.to_string(),
        FlowCol::Server => r.server.to_string(),
        FlowCol::Service => r.service.clone().unwrap_or_else(|| "-".into()),
        FlowCol::Role => r.service_role.map_or("-", Role::as_str).to_string(),
        FlowCol::Country => r.country.clone().unwrap_or_else(|| "-".into()),
        FlowCol::Packets => fmt::count(r.packets_up + r.packets_down),
        FlowCol::Bytes => fmt::bytes(r.bytes_up + r.bytes_down),
        FlowCol::Duration => fmt::duration(r.last_ts - r.first_ts),
    }
}

fn is_numeric(c: FlowCol) -> bool {
    matches!(c, FlowCol::Packets | FlowCol::Bytes | FlowCol::Duration)
}

/// The filter line under a list's title: the text being typed, or the error.
fn filter_line(app: &App, list: ListKind, th: Theme) -> Option<Line<'static>> {
    let f = match list {
        ListKind::Flows => &app.flow_filter,
        ListKind::Events => &app.event_filter,
    };
    let editing = app.editing == Some(list);
    if !editing && f.text.is_empty() {
        return None;
    }
    let mut spans = vec![
        Span::styled("filter ", th.bold()),
        Span::raw(f.text.clone()),
    ];
    if editing {
        spans.push(Span::styled("▏", th.bold()));
    }
    if let Some(e) = &f.error {
        spans.push(Span::styled(format!("  {e}"), th.error()));
    } else if editing {
        spans.push(Span::styled("  Enter keeps, Esc clears", th.dim()));
    }
    Some(Line::from(spans))
}

fn flows(frame: &mut Frame<'_>, area: Rect, app: &App, snap: &Snapshot, th: Theme) {
    let [table_area, detail_area] =
        Layout::vertical([Constraint::Min(6), Constraint::Length(9)]).areas(area);
    let rows = app.flow_rows();
    let title = format!(
        "Flows {} of {} · sort {} {} (s, S) · / filter{}",
        fmt::count(rows.len() as u64),
        fmt::count(snap.flows.len() as u64),
        app.sort.title(),
        if app.descending { "↓" } else { "↑" },
        updating(app)
    );
    let b = block(title, th);
    let mut inner = b.inner(table_area);
    frame.render_widget(b, table_area);
    if let Some(l) = filter_line(app, ListKind::Flows, th) {
        frame.render_widget(Paragraph::new(l), Rect { height: 1, ..inner });
        inner.y += 1;
        inner.height = inner.height.saturating_sub(1);
    }
    if inner.height == 0 {
        return;
    }
    let cols = flow_columns(inner.width);
    let header: Vec<Span<'_>> = cols
        .iter()
        .map(|(c, w)| {
            let mut t = c.title().to_string();
            if *c == app.sort {
                t.push(if app.descending { '↓' } else { '↑' });
            }
            let st = if *c == app.sort {
                th.bold().add_modifier(Modifier::UNDERLINED)
            } else {
                th.bold()
            };
            Span::styled(format!("{} ", cell(&t, *w, is_numeric(*c))), st)
        })
        .collect();
    let height = usize::from(inner.height - 1);
    let from = app.flows.visible_from(height, rows.len());
    let mut lines = Vec::with_capacity(height + 1);
    lines.push(Line::from(header));
    for (k, &i) in rows.iter().enumerate().skip(from).take(height) {
        let Some(r) = snap.flows.get(i as usize) else {
            continue;
        };
        let text: String = cols
            .iter()
            .map(|(c, w)| {
                format!(
                    "{} ",
                    cell(&flow_cell(r, *c, &app.clock), *w, is_numeric(*c))
                )
            })
            .collect();
        let st = if k == app.flows.selected {
            th.selected()
        } else if r.service.is_none() {
            th.dim()
        } else {
            Style::new()
        };
        lines.push(Line::styled(text, st));
    }
    if rows.is_empty() {
        lines.push(Line::styled(
            if snap.flows.is_empty() {
                "No flows yet."
            } else {
                "No flow matches the filter."
            },
            th.dim(),
        ));
    }
    frame.render_widget(Paragraph::new(lines), inner);
    flow_detail(frame, detail_area, app, snap, th);
}

fn flow_detail(frame: &mut Frame<'_>, area: Rect, app: &App, snap: &Snapshot, th: Theme) {
    let Some(r) = app.selected_flow(snap) else {
        frame.render_widget(block("Evidence", th), area);
        return;
    };
    let kv = |k: &str, v: String| {
        Line::from(vec![
            Span::styled(format!("{k:<9}"), th.bold()),
            Span::raw(v),
        ])
    };
    let mut lines = vec![
        kv(
            "flow",
            format!(
                "{} {} → {}, {} – {} {}, ended {}",
                r.proto,
                r.client,
                r.server,
                app.clock.datetime(r.first_ts),
                app.clock.time(r.last_ts),
                app.clock.label(),
                r.end_reason
            ),
        ),
        kv(
            "traffic",
            format!(
                "up {}, {} · down {}, {}",
                fmt::counted(r.packets_up, "packet", "packets"),
                fmt::bytes(r.bytes_up),
                fmt::counted(r.packets_down, "packet", "packets"),
                fmt::bytes(r.bytes_down)
            ),
        ),
        kv(
            "service",
            match &r.service {
                Some(s) => format!(
                    "{s}{} (confidence {:.2}) because {}",
                    r.service_role.map(|x| format!(", {x}")).unwrap_or_default(),
                    r.confidence,
                    if r.service_evidence.is_empty() {
                        "-".to_string()
                    } else {
                        let texts: Vec<String> =
                            r.service_evidence.iter().map(ToString::to_string).collect();
                        texts.join(", ")
                    }
                ),
                None => "not named".to_string(),
            },
        ),
    ];
    let mut seen = Vec::new();
    if let Some(s) = &r.sni {
        seen.push(format!(
            "SNI {s}{}",
            if r.ech { " (ECH cover name)" } else { "" }
        ));
    }
    if let Some(v) = &r.tls_version {
        seen.push(format!("TLS {v}"));
    }
    if let Some(v) = &r.quic_version {
        seen.push(format!("QUIC {v}"));
    }
    if !r.alpn.is_empty() {
        seen.push(format!("ALPN {}", r.alpn.join(",")));
    }
    if let Some(n) = &r.dns_name {
        seen.push(format!("DNS {n}"));
    }
    if let Some(s) = &r.stun {
        seen.push(format!("STUN {s}"));
    }
    if !seen.is_empty() {
        lines.push(kv("seen", seen.join(" · ")));
    }
    let net: Vec<String> = [
        r.asn.map(|a| format!("AS{a}")),
        r.as_org.clone(),
        r.country.clone(),
        r.city.clone(),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !net.is_empty() {
        lines.push(kv("network", net.join(" · ")));
    }
    if let Some(ids) = app.derived().flow_events.get(&r.flow_ref()) {
        let list: Vec<String> = ids
            .iter()
            .filter_map(|id| snap.events.iter().find(|e| e.id == *id))
            .map(|e| format!("#{} {}", e.id, describe(e)))
            .collect();
        lines.push(kv("events", list.join("; ")));
    }
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: true })
            .block(block("Evidence of the selected flow", th)),
        area,
    );
}

/// Said in a list's title while the rows of a new sort or filter are being prepared (the
/// previous rows stay on screen until then).
fn updating(app: &App) -> &'static str {
    if app.preparing() {
        " · updating…"
    } else {
        ""
    }
}

fn events(frame: &mut Frame<'_>, area: Rect, app: &App, snap: &Snapshot, th: Theme) {
    let [list_area, detail_area] =
        Layout::vertical([Constraint::Min(6), Constraint::Length(9)]).areas(area);
    let rows = app.event_rows();
    let title = format!(
        "Events {} of {} · / filter{}",
        fmt::count(rows.len() as u64),
        fmt::count(snap.events.len() as u64),
        updating(app)
    );
    let b = block(title, th);
    let mut inner = b.inner(list_area);
    frame.render_widget(b, list_area);
    if let Some(l) = filter_line(app, ListKind::Events, th) {
        frame.render_widget(Paragraph::new(l), Rect { height: 1, ..inner });
        inner.y += 1;
        inner.height = inner.height.saturating_sub(1);
    }
    if inner.height == 0 {
        return;
    }
    let height = usize::from(inner.height - 1);
    let from = app.events.visible_from(height, rows.len());
    let mut lines = vec![Line::styled(
        format!("{:>4} {:<8} {:<11} {}", "#", "Start", "Service", "What"),
        th.bold(),
    )];
    let what_w = usize::from(inner.width).saturating_sub(26);
    for (k, &i) in rows.iter().enumerate().skip(from).take(height) {
        let Some(e) = snap.events.get(i as usize) else {
            continue;
        };
        let text = format!(
            "{:>4} {:<8} {:<11} {}",
            e.id,
            app.clock.time(e.start_ts),
            fmt::fit(e.service.as_deref().unwrap_or("?"), 11),
            fmt::fit(&describe(e), what_w)
        );
        let st = if k == app.events.selected {
            th.selected()
        } else {
            event_style(e, th)
        };
        lines.push(Line::styled(text, st));
    }
    if rows.is_empty() {
        lines.push(Line::styled(
            if snap.events.is_empty() {
                "No events yet."
            } else {
                "No event matches the filter."
            },
            th.dim(),
        ));
    }
    frame.render_widget(Paragraph::new(lines), inner);
    let Some(e) = app.selected_event(snap) else {
        frame.render_widget(block("Evidence", th), detail_area);
        return;
    };
    let mut head = format!(
        "#{} {}, {} – {} {} ({}), confidence {:.2}",
        e.id,
        crate::observer::words::kind(e.kind),
        app.clock.datetime(e.start_ts),
        app.clock.time(e.end_ts),
        app.clock.label(),
        fmt::duration(e.end_ts - e.start_ts),
        e.confidence
    );
    if let Some(ip) = &e.peer_ip {
        head.push_str(&format!("; peer {ip}"));
        let net: Vec<String> = [
            e.peer_kind.map(|k| k.to_string()),
            e.peer_asn.map(|a| format!("AS{a}")),
            e.peer_as_org.clone(),
            e.peer_country.clone(),
            e.peer_city.clone(),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !net.is_empty() {
            head.push_str(&format!(" ({})", net.join(", ")));
        }
    }
    let mut lines = vec![Line::styled(head, th.bold())];
    if !e.flows.is_empty() {
        let flows: Vec<String> = e
            .flows
            .iter()
            .map(|f| app.clock.flow_ref(&f.to_string()))
            .collect();
        lines.push(Line::from(vec![
            Span::styled(if flows.len() == 1 { "flow " } else { "flows " }, th.bold()),
            Span::raw(flows.join("; ")),
        ]));
    }
    lines.push(Line::raw(e.evidence.clone()));
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: true })
            .block(block("Evidence of the selected event", th)),
        detail_area,
    );
}

fn map(frame: &mut Frame<'_>, area: Rect, app: &App, snap: &Snapshot, th: Theme) {
    let legend_w = if area.width >= 70 { 28 } else { 0 };
    let [map_area, legend_area] =
        Layout::horizontal([Constraint::Min(20), Constraint::Length(legend_w)]).areas(area);
    let d = app.derived();
    let sel_flow = app.selected_flow(snap);
    let sel_country = sel_flow.and_then(|f| f.country.clone());
    let sel_event = app
        .selected_event(snap)
        .filter(|e| e.peer_kind.is_some())
        .and_then(|e| e.peer_country.clone());
    let plain: Vec<(f64, f64)> = d
        .places
        .iter()
        .filter(|p| p.relays == 0 && p.directs == 0)
        .filter_map(|p| p.centroid.map(|c| (c.lon, c.lat)))
        .collect();
    let relays: Vec<(f64, f64)> = d
        .places
        .iter()
        .filter(|p| p.relays > 0 && p.directs == 0)
        .filter_map(|p| p.centroid.map(|c| (c.lon, c.lat)))
        .collect();
    let directs: Vec<(f64, f64)> = d
        .places
        .iter()
        .filter(|p| p.directs > 0)
        .filter_map(|p| p.centroid.map(|c| (c.lon, c.lat)))
        .collect();
    let highlight: Vec<(f64, f64, String)> = [sel_country.clone(), sel_event.clone()]
        .into_iter()
        .flatten()
        .filter_map(|c| super::places::centroid(&c).map(|p| (p.lon, p.lat, c)))
        .collect();
    let canvas = Canvas::default()
        .block(block("Where the traffic goes (country centres)", th))
        .marker(Marker::Braille)
        .x_bounds([-180.0, 180.0])
        .y_bounds([-90.0, 90.0])
        .paint(|ctx| {
            ctx.draw(&Map {
                resolution: MapResolution::High,
                color: Color::Reset,
            });
            ctx.layer();
            for &(x, y) in &plain {
                ctx.print(
                    x,
                    y,
                    Span::styled("•", th.fg(Color::Cyan).add_modifier(Modifier::BOLD)),
                );
            }
            for &(x, y) in &relays {
                ctx.print(
                    x,
                    y,
                    Span::styled("R", th.voice().add_modifier(Modifier::BOLD)),
                );
            }
            for &(x, y) in &directs {
                ctx.print(
                    x,
                    y,
                    Span::styled("D", th.video().add_modifier(Modifier::BOLD)),
                );
            }
            for (x, y, c) in &highlight {
                ctx.print(
                    *x,
                    *y,
                    Span::styled(format!("[{c}]"), th.selected().add_modifier(Modifier::BOLD)),
                );
            }
        });
    frame.render_widget(canvas, map_area);
    if legend_w == 0 {
        return;
    }
    let mut lines = vec![
        Line::from(vec![
            Span::styled("• ", th.fg(Color::Cyan)),
            Span::raw("servers"),
        ]),
        Line::from(vec![
            Span::styled("R ", th.voice().add_modifier(Modifier::BOLD)),
            Span::raw("call relay"),
        ]),
        Line::from(vec![
            Span::styled("D ", th.video().add_modifier(Modifier::BOLD)),
            Span::raw("direct call peer"),
        ]),
        Line::from(vec![
            Span::styled("[..] ", th.selected()),
            Span::raw("selected flow/event"),
        ]),
        Line::raw(""),
        Line::styled("  cc flows    bytes top", th.bold()),
    ];
    for p in &d.places {
        let mark = if p.directs > 0 {
            "D"
        } else if p.relays > 0 {
            "R"
        } else {
            "•"
        };
        let st = if sel_country.as_deref() == Some(p.code.as_str())
            || sel_event.as_deref() == Some(p.code.as_str())
        {
            th.selected()
        } else {
            Style::new()
        };
        lines.push(Line::styled(
            format!(
                "{mark} {} {:>5} {:>8} {}",
                p.code,
                p.flows,
                fmt::bytes(p.bytes),
                fmt::fit(p.top_service.as_deref().unwrap_or(""), 8)
            ),
            st,
        ));
    }
    if d.places.is_empty() {
        lines.push(Line::styled("No located flow yet.", th.dim()));
    }
    if let Some(f) = sel_flow {
        lines.push(Line::raw(""));
        lines.push(Line::styled("selected (↑/↓):", th.bold()));
        lines.push(Line::raw(fmt::fit(&f.server.to_string(), 26)));
        lines.push(Line::raw(fmt::fit(
            &format!(
                "{} {}",
                f.service.as_deref().unwrap_or("-"),
                f.country.as_deref().unwrap_or("-")
            ),
            26,
        )));
    }
    frame.render_widget(
        Paragraph::new(lines).block(block("Places", th)),
        legend_area,
    );
}
