//! Live capture without the dashboard (`onlooker live --headless`), from an interface or from
//! a capture still being written to standard input (`--stdin`): flows as NDJSON, or the events
//! as they settle (`--events`), until Ctrl-C, SIGTERM, SIGHUP or the end of the input; then the
//! report (`--report FILE`). `-w FILE` saves what was read, here and in the dashboard.

mod results;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::Context;

use super::events::EventsFormat;
use super::flows::spawn_writer;
use super::{Failure, FlowArgs, config, exit};
use crate::analysis::{Depth, Engine, RunEnd, RunStats};
use crate::capture::live::LiveOptions;
use crate::capture::offline::{FileSource, STDIN};
use crate::capture::save::SavedCapture;
use crate::capture::threaded::ThreadedSource;
use crate::capture::{Next, PacketSource, Timestamp};
use crate::observer::words::Zone;
use crate::sandbox::Plan;
use crate::views::export::{Format, stats_text};
use crate::views::report::{Inputs, ReportFormat};

/// Packet time between two looks at what has settled (`--events`): events wait
/// [`results::SETTLE_SECS`] anyway, so a look every few seconds costs nothing and delays
/// nothing that matters.
const HORIZON_EVERY_SECS: i64 = 5;

/// Where packets come from.
#[derive(Debug)]
pub(super) enum Input {
    Interface(LiveOptions),
    /// A pcap or pcapng stream on standard input (`--stdin`), read as it arrives.
    Stdin,
}

impl Input {
    /// "interface eth0" or "standard input", for messages.
    fn describe(&self) -> String {
        match self {
            Self::Interface(o) => format!("interface {}", o.interface),
            Self::Stdin => "standard input".into(),
        }
    }
}

/// What a headless run writes besides the statistics.
#[derive(Debug)]
pub(super) struct Wants {
    /// Every SECONDS, a line on stderr.
    pub progress: Option<u32>,
    /// Events instead of flows on stdout, in this format.
    pub events: Option<EventsFormat>,
    /// The report, written to this file in this format when the capture stops.
    pub report: Option<(PathBuf, ReportFormat)>,
    pub redact: bool,
    pub zone: Zone,
    /// `-w FILE`.
    pub save: Option<PathBuf>,
}

/// The report's format when `--report-format` is not given: from the file's extension (.md,
/// .json, .html), else text.
pub(super) fn report_format_of(path: &Path) -> ReportFormat {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("md" | "markdown") => ReportFormat::Markdown,
        Some("json") => ReportFormat::Json,
        Some("html" | "htm") => ReportFormat::Html,
        _ => ReportFormat::Text,
    }
}

/// Start saving the capture to `path` (`-w FILE`), with the one line that says what the file
/// holds.
pub(super) fn save(path: &Path, snaplen: u32) -> Result<SavedCapture, Failure> {
    let saved = SavedCapture::create(path, snaplen).map_err(anyhow::Error::new)?;
    eprintln!(
        "onlooker: saving every captured packet to {}: the file holds their contents (who this \
         device talks to, when, and whatever is not encrypted); keep it private, delete it when done",
        path.display()
    );
    Ok(saved)
}

/// The input, opened and not yet read: a live handle (privileges already dropped) or the
/// capture on standard input.
pub(super) enum Opened {
    Live(crate::capture::live::LiveSource),
    Stdin(Box<FileSource>),
}

impl Opened {
    /// The link type a live handle delivers (standard input's is known once its header is
    /// read).
    pub(super) fn live_link(&self) -> Option<crate::capture::LinkType> {
        match self {
            Self::Live(l) => Some(l.link()),
            Self::Stdin(_) => None,
        }
    }
}

/// Open `input` without starting any thread: the sandbox is installed between this and
/// [`spawn_source`].
pub(super) fn open_input(input: &Input, stop: &Arc<AtomicBool>) -> anyhow::Result<Opened> {
    Ok(match input {
        Input::Interface(opts) => Opened::Live(super::open_live(opts, Arc::clone(stop))?),
        Input::Stdin => Opened::Stdin(Box::new(FileSource::new(&[PathBuf::from(STDIN)])?)),
    })
}

/// The sandbox of a live run: the capture handle when there is one, the report file (created
/// empty now so that the rule can name it; written at the stop).
pub(super) fn plan(opened: &Opened, report: Option<&Path>) -> anyhow::Result<Plan> {
    let mut plan = Plan::new();
    if matches!(opened, Opened::Live(_)) {
        plan = plan.capture();
    }
    if let Some(path) = report {
        std::fs::File::create(path)
            .with_context(|| format!("creating the report file {}", path.display()))?;
        plan = plan.writing(path);
    }
    Ok(plan)
}

/// The input on a reader thread of its own, every frame saved on the way when `save` is given.
/// Call it only after privileges were dropped and the sandbox installed.
pub(super) fn spawn_source(
    opened: Opened,
    save: Option<&SavedCapture>,
    stop: &Arc<AtomicBool>,
) -> anyhow::Result<ThreadedSource> {
    fn go<S: PacketSource + Send + 'static>(
        s: S,
        save: Option<&SavedCapture>,
    ) -> io::Result<ThreadedSource> {
        // Both sources hand batches over when idle or 50 ms old, so a pipe written as packets
        // come shows them as they come.
        match save {
            Some(v) => ThreadedSource::spawn_live(v.record(s)),
            None => ThreadedSource::spawn_live(s),
        }
    }
    match opened {
        Opened::Live(l) => go(l, save).context("starting the capture thread"),
        Opened::Stdin(f) => {
            let mut t = go(*f, save).context("starting the reader")?;
            // A pipe may stay silent: a stop must not wait for its writer.
            t.stop_on(Arc::clone(stop));
            Ok(t)
        }
    }
}

pub(super) fn headless(input: Input, flow: &FlowArgs, wants: Wants) -> Result<u8, Failure> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ] {
        signal_hook::flag::register(sig, Arc::clone(&stop))
            .context("installing signal handlers")?;
    }
    let (namer, attributor) = flow.namer()?;
    let snaplen = match &input {
        Input::Interface(o) => o.snaplen,
        Input::Stdin => 0,
    };
    let saved = wants
        .save
        .as_deref()
        .map(|p| save(p, snaplen))
        .transpose()?;
    let opened = open_input(&input, &stop)?;
    if let (Some(s), Some(link)) = (&saved, opened.live_link()) {
        s.declare(link);
    }
    // Asked before confinement: listing interfaces needs sockets the sandbox refuses.
    let loopback = match &input {
        Input::Interface(o) => is_loopback(&o.interface),
        Input::Stdin => false,
    };
    let described = input.describe();
    let interface = match &input {
        Input::Interface(o) => Some(o.interface.clone()),
        Input::Stdin => None,
    };
    super::confine(&plan(
        &opened,
        wants.report.as_ref().map(|(p, _)| p.as_path()),
    )?)?;
    // The capture thread only empties the kernel ring into the batches; analysis runs on the
    // thread below, so a slow moment there is absorbed by the batches and the ring.
    let source = spawn_source(opened, saved.as_ref(), &stop)?;
    let cfg = config(flow);
    let results = wants.events.is_some() || wants.report.is_some();
    let depth = if results {
        Depth::Activity
    } else if flow.no_names {
        Depth::Bare
    } else {
        Depth::Names
    };
    let progress = wants.progress;
    let (output, zone) = (
        wants
            .events
            .map_or(results::Output::Flows, results::Output::Events),
        wants.zone.clone(),
    );
    let report = wants.report.is_some();
    // Capture and analysis run on their own thread, records are written on another; this one
    // only waits, so a slow terminal never holds up reading packets.
    let worker = std::thread::Builder::new()
        .name("analysis".into())
        .spawn(move || -> io::Result<_> {
            let mut source = source;
            let engine = Engine::new(cfg, namer, depth);
            if results {
                let stage = results::spawn(output, report, zone, attributor, cfg.max_flows)?;
                return Ok(run_results(engine, &mut source, stage, progress));
            }
            let attributor = (depth == Depth::Names).then_some(attributor);
            let mut writer = spawn_writer(Format::Ndjson, io::stdout(), 1, attributor)?;
            let mut engine = engine;
            let sink = &mut |f, r| writer.push((f, r));
            let mut progress = ProgressLines::new(progress);
            let end = loop {
                if let Some(end) = engine.feed(source.next_frame(), sink) {
                    break end;
                }
                progress.tick(&engine, &mut source);
            };
            engine.finish(&mut source, sink);
            let (out, written) = writer
                .finish()
                .unwrap_or_else(|| (None, Err(io::Error::other("the writer thread panicked"))));
            let stats = engine.stats();
            if let Some(mut out) = out {
                let _ = out.write_stats(&stats);
                let _ = out.flush();
            }
            Ok(Ran {
                end,
                stats,
                write_err: written.err(),
                waits: source.reader_waits(),
                outcome: None,
            })
        })
        .context("starting the analysis thread")?;
    let ran = worker
        .join()
        .map_err(|_| anyhow::anyhow!("the analysis thread panicked"))?
        .context("starting the writer")?;
    let Ran {
        end,
        stats,
        write_err,
        waits,
        outcome,
    } = ran;
    let saved_result = saved.as_ref().map(SavedCapture::finish);
    eprint!("{}", stats_text(&stats));
    if let Some(o) = &outcome {
        if wants.events.is_some() {
            eprintln!("  events: {}", o.events.len());
        }
        if o.kept_dropped > 0 {
            eprintln!(
                "  flows not kept for events: {} (more call candidates than --max-flows allows)",
                o.kept_dropped
            );
        }
    }
    if let Some(k) = stats.kernel
        && k.received > stats.frames
        && loopback
    {
        // libpcap drops the outgoing copy of each loopback packet (it would be seen twice), but
        // the kernel's count includes both copies.
        eprintln!(
            "  on a loopback interface the kernel counts every packet twice (sent and received); \
             libpcap keeps one copy, so {} frames were read of {} counted",
            stats.frames, k.received
        );
    }
    if let Some(k) = stats.kernel
        && k.dropped_by_kernel + k.dropped_by_interface > 0
    {
        let lost = k.dropped_by_kernel + k.dropped_by_interface;
        eprintln!(
            "onlooker: {lost} packets were dropped before onlooker could read them ({:.2}% of {}); the flows above miss them. A larger --buffer-size absorbs longer stalls (docs/live-load.md)",
            100.0 * lost as f64 / (stats.frames + lost).max(1) as f64,
            stats.frames + lost
        );
    }
    if waits > 0 {
        // The analysis fell behind by every batch in flight; the kernel's drop count above says
        // whether the ring absorbed it.
        eprintln!("  capture thread waited for the analysis {waits} times");
    }
    if let (Some((path, format)), Some(o)) = (&wants.report, &outcome) {
        write_report(path, *format, o, &stats, &wants, &described)?;
    }
    if let Some(Err(e)) = saved_result {
        return Err(anyhow::Error::new(e).into());
    }
    if let Some(e) = write_err {
        if e.kind() != io::ErrorKind::BrokenPipe {
            let what = if wants.events.is_some() {
                "writing events"
            } else {
                "writing flow records"
            };
            return Err(anyhow::Error::new(e).context(what).into());
        }
    }
    match end {
        RunEnd::Complete if stats.partial_inputs.is_empty() => Ok(exit::OK),
        RunEnd::Complete => Ok(exit::PARTIAL_INPUT),
        RunEnd::Failed(e) => Err(anyhow::Error::new(e)
            .context(format!(
                "capturing on {}; {} so far were written",
                interface.as_deref().unwrap_or("standard input"),
                if wants.events.is_some() {
                    "events"
                } else {
                    "flows"
                }
            ))
            .into()),
    }
}

/// What the analysis thread hands back.
struct Ran {
    end: RunEnd,
    stats: RunStats,
    write_err: Option<io::Error>,
    waits: u64,
    /// The events and the digest (`--events`, `--report`).
    outcome: Option<results::Outcome>,
}

/// The run with the activity model: finished flows go to the results stage, and every
/// [`HORIZON_EVERY_SECS`] of packet time it learns how far events have settled.
fn run_results(
    mut engine: Engine,
    source: &mut ThreadedSource,
    mut stage: crate::analysis::Stage<results::Item, results::Outcome>,
    progress: Option<u32>,
) -> Ran {
    let mut progress = ProgressLines::new(progress);
    let mut next_horizon: Option<Timestamp> = None;
    let end = loop {
        let next = source.next_frame();
        let now = match &next {
            Ok(Next::Frame(f)) => Some(f.ts),
            Ok(Next::Idle(ts)) => Some(*ts),
            _ => None,
        };
        if let Some(end) = engine.feed(next, &mut |f, r| stage.push(results::Item::Ended(f, r))) {
            break end;
        }
        if let Some(now) = now
            && next_horizon.is_none_or(|at| now >= at)
        {
            next_horizon = Some(Timestamp(
                now.as_nanos() + HORIZON_EVERY_SECS * Timestamp::NANOS_PER_SEC,
            ));
            // What is open may still add to anything after its first packet.
            let mut horizon = now;
            engine
                .open_parts()
                .0
                .for_each(|f| horizon = horizon.min(f.first_ts));
            stage.push(results::Item::Horizon(horizon));
        }
        progress.tick(&engine, source);
    };
    engine.finish(source, &mut |f, r| stage.push(results::Item::Ended(f, r)));
    let stats = engine.stats();
    let waits = source.reader_waits();
    match stage.finish() {
        Some(mut outcome) => {
            let write_err = std::mem::replace(&mut outcome.written, Ok(())).err();
            if let Some(out) = outcome.out.as_mut() {
                let _ = out.write_stats(&stats);
                let _ = out.flush();
            }
            Ran {
                end,
                stats,
                write_err,
                waits,
                outcome: Some(outcome),
            }
        }
        None => Ran {
            end,
            stats,
            write_err: Some(io::Error::other("the results thread panicked")),
            waits,
            outcome: None,
        },
    }
}

/// Write the report of the whole run to `path` (`--report FILE`).
fn write_report(
    path: &Path,
    format: ReportFormat,
    outcome: &results::Outcome,
    stats: &RunStats,
    wants: &Wants,
    described: &str,
) -> Result<(), Failure> {
    let digest = outcome.digest.clone().unwrap_or_default();
    let model = crate::observer::Model::build(&digest, &outcome.events, &wants.zone, wants.redact);
    let inputs = if described == "standard input" {
        Inputs::new(&[PathBuf::from(STDIN)], &stats.partial_inputs)
    } else {
        Inputs {
            files: vec![described.to_string()],
            partial: stats.partial_inputs.clone(),
            synthetic: false,
        }
    };
    let file = std::fs::File::create(path)
        .with_context(|| format!("writing the report to {}", path.display()))?;
    let mut out = io::BufWriter::new(file);
    crate::views::report::write(&mut out, &model, &inputs, format)
        .and_then(|()| io::Write::flush(&mut out))
        .with_context(|| format!("writing the report to {}", path.display()))?;
    eprintln!("onlooker: report written to {}", path.display());
    Ok(())
}

/// `--progress`: a line on stderr every so many seconds of wall-clock time.
struct ProgressLines {
    started: std::time::Instant,
    every: Option<std::time::Duration>,
    next_line: Option<std::time::Instant>,
}

impl ProgressLines {
    fn new(seconds: Option<u32>) -> Self {
        let started = std::time::Instant::now();
        let every = seconds.map(|s| std::time::Duration::from_secs(u64::from(s)));
        Self {
            started,
            every,
            next_line: every.map(|d| started + d),
        }
    }

    fn tick(&mut self, engine: &Engine, source: &mut ThreadedSource) {
        if let (Some(at), Some(d)) = (self.next_line, self.every) {
            let now = std::time::Instant::now();
            if now >= at {
                self.next_line = Some(at + d);
                eprintln!(
                    "{}",
                    progress_line(now - self.started, &engine.stats(), source.kernel_stats())
                );
            }
        }
    }
}

/// Whether `name` is a loopback interface (an unknown name, or a list libpcap cannot give,
/// counts as not loopback: the note it decides only explains a count).
fn is_loopback(name: &str) -> bool {
    pcap::Device::list()
        .is_ok_and(|list| list.iter().any(|d| d.name == name && d.flags.is_loopback()))
}

/// One `--progress` line: how long the capture has run, frames, flows tracked and the kernel's
/// drops so far, so a long run shows losses while it happens.
fn progress_line(
    elapsed: std::time::Duration,
    stats: &RunStats,
    kernel: Option<crate::capture::KernelStats>,
) -> String {
    let f = &stats.flows;
    let ended =
        f.flows_ended_idle + f.flows_ended_closed + f.flows_evicted + f.flows_ended_at_end_of_input;
    let kernel = kernel.map_or_else(String::new, |k| {
        format!(
            ", dropped by kernel {}, by interface {}",
            k.dropped_by_kernel, k.dropped_by_interface
        )
    });
    format!(
        "onlooker: {} s: frames {}, flows tracked {}, ended {}, evicted {}{kernel}",
        elapsed.as_secs(),
        stats.frames,
        f.flows_created.saturating_sub(ended),
        ended,
        f.flows_evicted
    )
}
