//! What the dashboard's UI thread spends with N flows (default 100,000), with each snapshot's
//! work (counters, places, lanes, filtered and sorted rows) done inline on the UI thread (as
//! before the worker) and on the worker thread (as `onlooker replay` does now):
//!
//! 1. the UI thread's CPU time per new snapshot and per key (`s` next sort column, `S` reverse,
//!    a filter character, `Down`), median and worst of several (thread CPU time, so a busy
//!    machine's scheduling does not count);
//! 2. the time from a key to its answer on screen while new snapshots arrive every 100 ms (the
//!    session's publishing interval, as in a replay at full speed) and keys arrive every 15 ms:
//!    the dashboard's loop (a tokio select over frames, keys and the worker's wake-up, then
//!    `App::sync_paced` and a draw at 160x50) run for SECONDS in each mode. With the worker it
//!    also prints how long a sort key's new rows take to be on screen (the key itself is
//!    answered at once: the title shows the new sort and "updating…").
//!
//! The flows and snapshots are synthetic (the benchmark's generator); each new snapshot changes
//! 1% of the flows, so sorting by bytes has real work to do.
//!
//! usage: `cargo run --release --example dashboard-latency -- [N] [SECONDS]` (100000, 5)

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../benches/support/synthetic.rs"]
mod synthetic;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent};
use onlooker::model::FlowRecord;
use onlooker::session::Snapshot;
use onlooker::views::tui::App;
use onlooker::views::tui::app::{FlowCol, Tab};
use onlooker::views::tui::draw::draw;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use synthetic::flow;

/// Snapshot number `k`: the base flows with 1% of them grown by `k` MB.
fn snapshot(base: &[Arc<FlowRecord>], k: u32) -> Arc<Snapshot> {
    let mut flows = base.to_vec();
    for j in ((k as usize % 100)..flows.len()).step_by(100) {
        let mut r = (*flows[j]).clone();
        r.bytes_down += u64::from(k) * 1_000_000;
        r.last_ts += f64::from(k);
        flows[j] = Arc::new(r);
    }
    synthetic::snapshot(flows, k)
}

fn app(worker: bool) -> App {
    let mut app = App::new(true);
    app.tab = Tab::Flows;
    app.sort = FlowCol::Bytes;
    app.descending = true;
    if worker {
        app.start_worker(|| {}).expect("starting the worker");
    }
    app
}

/// CPU time this thread has used: what the UI thread itself spends, without the time the
/// scheduler gives other threads (the machine may be busy with the worker and other work).
fn cpu_now() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec through a valid pointer.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// "median / worst" of some durations, in ms.
fn summary(v: &mut [Duration]) -> String {
    v.sort_unstable();
    match v {
        [] => "-".into(),
        _ => format!("{:7.3} / {:7.3}", ms(v[v.len() / 2]), ms(v[v.len() - 1])),
    }
}

/// A moment far enough ahead that pacing lets the next snapshot in.
fn later(k: u32) -> Instant {
    Instant::now() + Duration::from_secs(3600 * u64::from(k + 1))
}

/// Part 1: the UI thread's cost of one new snapshot and of keys.
fn ui_costs(base: &[Arc<FlowRecord>], worker: bool) {
    const ROUNDS: u32 = 20;
    let mut a = app(worker);
    let mut k = 0;
    let take = |a: &mut App, snap: &Arc<Snapshot>, k: u32| -> Duration {
        let t = cpu_now();
        a.sync_paced(snap, later(k));
        let mut d = cpu_now() - t;
        if worker {
            assert!(a.wait_ready(Duration::from_secs(60)));
            let t = cpu_now();
            a.sync_paced(snap, later(k));
            d += cpu_now() - t;
        }
        d
    };
    let snap0 = snapshot(base, 0);
    take(&mut a, &snap0, k);
    let mut per_snapshot = Vec::new();
    for _ in 0..ROUNDS {
        k += 1;
        let s = snapshot(base, k);
        per_snapshot.push(take(&mut a, &s, k));
    }
    let snap = a.view().cloned().expect("a snapshot on screen");
    let mut key_cost = |code: KeyCode, times: u32| -> Vec<Duration> {
        (0..times)
            .map(|_| {
                let t = cpu_now();
                a.on_key(KeyEvent::from(code));
                a.sync_paced(&snap, Instant::now());
                let mut d = cpu_now() - t;
                if worker {
                    assert!(a.wait_ready(Duration::from_secs(60)));
                    let t = cpu_now();
                    a.sync_paced(&snap, Instant::now());
                    d += cpu_now() - t;
                }
                d
            })
            .collect()
    };
    let mut reverse = key_cost(KeyCode::Char('S'), ROUNDS);
    let mut next_col = key_cost(KeyCode::Char('s'), 10);
    let mut down = key_cost(KeyCode::Down, 100);
    key_cost(KeyCode::Char('/'), 1);
    let mut typing = Vec::new();
    for c in "service:whatsapp".chars() {
        typing.extend(key_cost(KeyCode::Char(c), 1));
    }
    let mode = if worker { "worker" } else { "inline" };
    println!(
        "  {mode}: new snapshot (sorted by bytes ↓)   {}",
        summary(&mut per_snapshot)
    );
    println!(
        "  {mode}: key S (reverse the sort)         {}",
        summary(&mut reverse)
    );
    println!(
        "  {mode}: key s (next sort column)         {}",
        summary(&mut next_col)
    );
    println!(
        "  {mode}: a filter character              {}",
        summary(&mut typing)
    );
    println!(
        "  {mode}: key Down                         {}",
        summary(&mut down)
    );
}

/// Part 2: key to screen while snapshots arrive.
fn latency(base: Arc<Vec<Arc<FlowRecord>>>, worker: bool, secs: u64) {
    let latest = Arc::new(Mutex::new(snapshot(&base, 0)));
    let stop = Arc::new(AtomicBool::new(false));
    // The session's side: a new snapshot every 100 ms.
    let publisher = {
        let (latest, stop, base) = (Arc::clone(&latest), Arc::clone(&stop), Arc::clone(&base));
        std::thread::spawn(move || {
            let mut k = 0;
            let mut published = 0u32;
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(100));
                k += 1;
                let s = snapshot(&base, k);
                *latest.lock().unwrap() = s;
                published += 1;
            }
            published
        })
    };
    // The key reader's side: a key every 15 ms (a held arrow key repeats about as fast),
    // moving the selection, and a sort key (reverse) about once a second.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(KeyEvent, Instant)>();
    let keys = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let moves = [KeyCode::Down, KeyCode::Down, KeyCode::PageDown, KeyCode::Up];
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(15));
                let code = if i % 64 == 63 {
                    KeyCode::Char('S')
                } else {
                    moves[i % moves.len()]
                };
                if tx.send((KeyEvent::from(code), Instant::now())).is_err() {
                    break;
                }
                i += 1;
            }
        })
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut a = app(worker);
    let ready = Arc::new(tokio::sync::Notify::new());
    if worker {
        let wake = Arc::clone(&ready);
        a.start_worker(move || wake.notify_one()).unwrap();
    }
    let mut term = Terminal::new(TestBackend::new(160, 50)).unwrap();
    let mut answers: Vec<Duration> = Vec::new();
    let mut sorted_rows: Vec<Duration> = Vec::new();
    let mut sort_asked: Option<Instant> = None;
    let mut shown = 0u32;
    let mut loop_work: Vec<Duration> = Vec::new();
    let mut loop_cpu: Vec<Duration> = Vec::new();
    rt.block_on(async {
        let until = tokio::time::Instant::now() + Duration::from_secs(secs);
        let mut frames = tokio::time::interval(Duration::from_millis(100));
        frames.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut last_view: Option<Arc<Snapshot>> = None;
        loop {
            let mut sent = Vec::new();
            tokio::select! {
                _ = frames.tick() => {}
                _ = ready.notified() => {}
                k = rx.recv() => {
                    if let Some(k) = k {
                        sent.push(k);
                        while let Ok(k) = rx.try_recv() {
                            sent.push(k);
                        }
                    }
                }
                _ = tokio::time::sleep_until(until) => break,
            }
            let t = Instant::now();
            let cpu = cpu_now();
            for (key, at) in &sent {
                a.on_key(*key);
                if key.code == KeyCode::Char('S') && sort_asked.is_none() {
                    sort_asked = Some(*at);
                }
            }
            let snap = latest.lock().unwrap().clone();
            a.sync_paced(&snap, Instant::now());
            term.draw(|f| draw(f, &a, &snap)).unwrap();
            let done = Instant::now();
            loop_work.push(done - t);
            loop_cpu.push(cpu_now() - cpu);
            for (_, at) in sent {
                answers.push(done - at);
            }
            if let Some(at) = sort_asked {
                if !a.preparing() {
                    sorted_rows.push(done - at);
                    sort_asked = None;
                }
            }
            let v = a.view().cloned();
            if v.as_ref().map(Arc::as_ptr) != last_view.as_ref().map(Arc::as_ptr) {
                shown += 1;
                last_view = v;
            }
        }
    });
    stop.store(true, Ordering::Relaxed);
    let published = publisher.join().unwrap();
    keys.join().unwrap();
    let n = answers.len();
    answers.sort_unstable();
    let p99 = answers.get(n * 99 / 100).copied().unwrap_or_default();
    let mode = if worker { "worker" } else { "inline" };
    println!(
        "  {mode}: {n} keys, key to screen median / p99 / worst {:.1} / {:.1} / {:.1} ms; \
         UI loop iteration median / worst {} ms (CPU time {}); {shown} of {published} \
         snapshots shown",
        ms(answers.get(n / 2).copied().unwrap_or_default()),
        ms(p99),
        ms(answers.last().copied().unwrap_or_default()),
        summary(&mut loop_work),
        summary(&mut loop_cpu),
    );
    if worker {
        println!(
            "  {mode}: a sort key's rows on screen after median / worst {} ms",
            summary(&mut sorted_rows)
        );
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: u32 = args.next().map_or(100_000, |a| a.parse().expect("N flows"));
    let secs: u64 = args.next().map_or(5, |a| a.parse().expect("SECONDS"));
    let base: Arc<Vec<Arc<FlowRecord>>> = Arc::new((0..n).map(|i| Arc::new(flow(i))).collect());
    println!("{n} flows, 2,000 events; UI thread CPU time per operation, ms median / worst:");
    for worker in [false, true] {
        ui_costs(&base, worker);
    }
    println!("key to screen while a snapshot arrives every 100 ms, {secs} s each:");
    for worker in [false, true] {
        latency(Arc::clone(&base), worker, secs);
    }
}
