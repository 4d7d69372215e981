//! The terminal dashboard (`onlooker replay`, `demo`, `live`): watch what an observer learns,
//! from a capture or as packets arrive.
//!
//! It exists so that a person sees the analysis happen: the findings, the activity of each
//! service over time, every flow and event with its evidence, and where the traffic goes. It
//! is a view: it draws the session's snapshots ([`crate::session`]) and sends it controls
//! (speed, pause, jump to the end); it must never change a count, decide anything, or make the
//! analysis wait. The UI draws at its own pace ([`FRAME_MS`]) whatever the analysis does, reads
//! keys on a thread of its own, prepares each snapshot's rows on another (`worker`) so a key
//! never waits for a snapshot of 100,000 flows, and restores the terminal on quit, on error, on
//! panic and on SIGTERM/SIGHUP/SIGINT.
//!
//! State and logic ([`app`], [`filter`]) are apart from drawing ([`draw`]) so they are tested
//! without a terminal. Times on screen are UTC unless `--tz` names a zone ([`fmt::Clock`]).
//! A key exports the report of what is on screen ([`export`]) into the folder named at start.
//!
//! Inside, each module uses only those before it in this order, never one after it:
//! [`fmt`], [`places`], [`filter`]; `columns` (the flow table's order) and `nav` (tabs,
//! cursors, filter lines, the timeline window); `derive` (counts per snapshot); `prepare` (the
//! work a snapshot needs, shared by the worker and the App); `worker`; [`app`] (the state and
//! its keys); [`draw`]; [`export`].

pub mod app;
mod columns;
mod derive;
pub mod draw;
pub mod export;
pub mod filter;
#[cfg(test)]
mod fixtures;
pub mod fmt;
mod nav;
pub mod places;
mod prepare;
mod worker;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use crossterm::event::Event as TermEvent;

use crate::session::{SessionHandle, Snapshot};

pub use app::App;

/// Milliseconds between frames: ten a second is smooth for counters and timelines and leaves
/// the cores to the analysis.
pub const FRAME_MS: u64 = 100;
/// How long the key thread waits for a key before checking whether to stop; also bounds the
/// time from a key press to its answer (well under the 50 ms the dashboard promises, since a
/// key is answered and drawn as soon as it arrives).
const INPUT_POLL_MS: u64 = 25;

/// How long quitting waits for the session's final snapshot before ending it anyway.
const FINAL_WAIT_MS: u64 = 1000;

/// Leaves raw mode and the alternate screen however the dashboard ends (ratatui's panic hook
/// covers panics).
struct Restore;

impl Drop for Restore {
    fn drop(&mut self) {
        ratatui::restore();
    }
}

/// How the dashboard draws, and where its export key writes.
#[derive(Clone, Debug)]
pub struct Options {
    pub no_color: bool,
    /// The clock times are shown in (`--tz`).
    pub clock: fmt::Clock,
    /// Where the export key writes reports (`--export-dir`).
    pub export_dir: PathBuf,
}

/// Run the dashboard until the user quits or a signal arrives; then end the session
/// (`on_quit` first, e.g. to stop a live capture) and return its last snapshot.
pub fn run(
    handle: SessionHandle,
    opts: &Options,
    on_quit: impl FnOnce(),
) -> anyhow::Result<Arc<Snapshot>> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the dashboard's runtime")?;
    let result = rt.block_on(ui(&handle, opts));
    on_quit();
    // The session flushes open flows into a last snapshot when asked to stop: give it a moment
    // so the closing line counts them (a long replay's rest is not read: quitting stays quick).
    handle.send(crate::session::Control::Stop);
    let asked = std::time::Instant::now();
    while !handle.latest().finished && asked.elapsed() < Duration::from_millis(FINAL_WAIT_MS) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let last = handle.latest();
    handle.stop();
    let last = match result {
        Ok(()) => last,
        Err(e) => return Err(e),
    };
    // The terminal may be gone (a closed window, a lost connection): the closing line must not
    // fail the exit, so a failed write to stderr is ignored.
    use std::io::Write as _;
    let _ = writeln!(
        std::io::stderr(),
        "onlooker: {}: {}, {}, {}{}",
        last.source,
        fmt::counted(last.packets, "packet", "packets"),
        fmt::counted(last.flows.len() as u64, "flow", "flows"),
        fmt::counted(last.events.len() as u64, "event", "events"),
        last.error
            .as_ref()
            .map(|e| format!("; {e}"))
            .unwrap_or_default()
    );
    Ok(last)
}

async fn ui(handle: &SessionHandle, opts: &Options) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("installing signal handlers")?;
    let mut hup = signal(SignalKind::hangup()).context("installing signal handlers")?;
    let mut int = signal(SignalKind::interrupt()).context("installing signal handlers")?;

    let mut terminal = ratatui::try_init().context("opening the terminal")?;
    let _restore = Restore;

    // Keys are read on their own thread and handed over, so the loop below never blocks on
    // the terminal.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<TermEvent>();
    let stop_keys = Arc::new(AtomicBool::new(false));
    let stop = Arc::clone(&stop_keys);
    let keys = std::thread::Builder::new()
        .name("keys".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match crossterm::event::poll(Duration::from_millis(INPUT_POLL_MS)) {
                    Ok(true) => match crossterm::event::read() {
                        Ok(ev) => {
                            if tx.send(ev).is_err() {
                                break;
                            }
                        }
                        Err(_) => break,
                    },
                    Ok(false) => {}
                    Err(_) => break,
                }
            }
        })
        .context("starting the key reader")?;

    // Snapshots are prepared on the worker thread; it wakes this loop when one is ready.
    let mut app = App::new(opts.no_color).with_clock(opts.clock.clone());
    let ready = Arc::new(tokio::sync::Notify::new());
    let wake = Arc::clone(&ready);
    app.start_worker(move || wake.notify_one())
        .context("starting the dashboard's worker")?;
    let mut frames = tokio::time::interval(Duration::from_millis(FRAME_MS));
    frames.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut quit = false;
    let result = loop {
        tokio::select! {
            _ = frames.tick() => {
                // A hung-up terminal (its window closed, the connection lost) answers every
                // request with an error: end rather than draw into nothing. SIGHUP says the
                // same, but only to the terminal's foreground process group.
                if crossterm::terminal::size().is_err() {
                    quit = true;
                }
            }
            _ = ready.notified() => {}
            ev = rx.recv() => match ev {
                Some(ev) => {
                    quit |= on_event(&mut app, handle, opts, ev);
                    while let Ok(ev) = rx.try_recv() {
                        quit |= on_event(&mut app, handle, opts, ev);
                    }
                }
                None => quit = true,
            },
            _ = term.recv() => quit = true,
            _ = hup.recv() => quit = true,
            _ = int.recv() => quit = true,
        }
        if quit {
            break Ok(());
        }
        let snap = handle.latest();
        app.sync_paced(&snap, std::time::Instant::now());
        if let Err(e) = terminal.draw(|f| draw::draw(f, &app, &snap)) {
            break Err(anyhow::Error::new(e).context("drawing the dashboard"));
        }
    };
    stop_keys.store(true, Ordering::Relaxed);
    // The key reader ends at its next poll, unless the terminal is gone: on a hung-up terminal
    // crossterm's poll spins without returning, so waiting for it would keep the process alive
    // for ever. Wait a few polls, then leave it: the process is about to end.
    let asked = std::time::Instant::now();
    while !keys.is_finished() && asked.elapsed() < Duration::from_millis(KEYS_WAIT_MS) {
        std::thread::sleep(Duration::from_millis(10));
    }
    if keys.is_finished() {
        let _ = keys.join();
    }
    result
}

/// How long the dashboard waits for its key reader to stop: three of its polls.
const KEYS_WAIT_MS: u64 = 3 * INPUT_POLL_MS;

/// Answer one terminal event; true when the dashboard should end.
fn on_event(app: &mut App, handle: &SessionHandle, opts: &Options, ev: TermEvent) -> bool {
    let TermEvent::Key(key) = ev else {
        // A resize needs nothing: the next draw takes the new size.
        return false;
    };
    match app.on_key(key) {
        Some(app::Action::Quit) => true,
        Some(app::Action::Session(c)) => {
            handle.send(c);
            false
        }
        Some(app::Action::Export(format)) => {
            // The report of the snapshot on screen, from the model the Observer tab shows.
            let written = match app.view().cloned() {
                Some(snap) => export::export(
                    &opts.export_dir,
                    app.derived().observed.0.as_deref(),
                    &snap,
                    format,
                    jiff::Timestamp::now(),
                ),
                None => Err(export::ExportError::Empty),
            };
            app.notice = Some(match written {
                Ok(path) => format!("report written to {}", path.display()),
                Err(e) => format!("export failed: {e}"),
            });
            false
        }
        None => false,
    }
}
