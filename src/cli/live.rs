//! Live capture without the dashboard (`onlooker live --headless`): flows as NDJSON until
//! Ctrl-C, SIGTERM or SIGHUP.

use std::io;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::Context;

use super::flows::spawn_writer;
use super::{Failure, FlowArgs, config, exit};
use crate::analysis::{Depth, Engine, RunEnd, RunStats};
use crate::capture::PacketSource;
use crate::capture::live::LiveOptions;
use crate::capture::threaded::ThreadedSource;
use crate::views::export::{Format, stats_text};

pub(super) fn headless(
    opts: LiveOptions,
    flow: &FlowArgs,
    progress: Option<u32>,
) -> Result<u8, Failure> {
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
    let live = super::open_live(&opts, Arc::clone(&stop))?;
    // Asked before confinement: listing interfaces needs sockets the sandbox refuses.
    let loopback = is_loopback(&opts.interface);
    super::confine(&crate::sandbox::Plan::new().capture())?;
    // The capture thread only empties the kernel ring into the batches; analysis runs on the
    // thread below, so a slow moment there is absorbed by the batches and the ring.
    let mut source = ThreadedSource::spawn_live(live).context("starting the capture thread")?;
    let interface = opts.interface.clone();
    let cfg = config(flow);
    let depth = if flow.no_names {
        Depth::Bare
    } else {
        Depth::Names
    };
    // Capture and analysis run on their own thread, records are written on another; this one
    // only waits, so a slow terminal never holds up reading packets.
    let worker = std::thread::Builder::new()
        .name("analysis".into())
        .spawn(move || -> io::Result<_> {
            let attributor = (depth == Depth::Names).then_some(attributor);
            let mut writer = spawn_writer(Format::Ndjson, io::stdout(), 1, attributor)?;
            let mut engine = Engine::new(cfg, namer, depth);
            let sink = &mut |f, r| writer.push((f, r));
            let started = std::time::Instant::now();
            let every = progress.map(|s| std::time::Duration::from_secs(u64::from(s)));
            let mut next_line = every.map(|d| started + d);
            let end = loop {
                if let Some(end) = engine.feed(source.next_frame(), sink) {
                    break end;
                }
                if let (Some(at), Some(d)) = (next_line, every) {
                    let now = std::time::Instant::now();
                    if now >= at {
                        next_line = Some(at + d);
                        eprintln!(
                            "{}",
                            progress_line(now - started, &engine.stats(), source.kernel_stats())
                        );
                    }
                }
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
            Ok((end, stats, written.err(), source.reader_waits()))
        })
        .context("starting the analysis thread")?;
    let (end, stats, write_err, waits) = worker
        .join()
        .map_err(|_| anyhow::anyhow!("the analysis thread panicked"))?
        .context("starting the writer")?;
    eprint!("{}", stats_text(&stats));
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
    if let Some(e) = write_err {
        if e.kind() != io::ErrorKind::BrokenPipe {
            return Err(anyhow::Error::new(e).context("writing flow records").into());
        }
    }
    match end {
        RunEnd::Complete => Ok(exit::OK),
        RunEnd::Failed(e) => Err(anyhow::Error::new(e)
            .context(format!(
                "capturing on {interface}; flows so far were written"
            ))
            .into()),
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
