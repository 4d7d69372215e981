//! The command line: argument parsing, exit codes, and error messages people read.
//!
//! Errors from the stages are typed; this is the edge where they become one clear line each,
//! naming the thing and what to do, plus a documented exit code (see [`exit`]).
//!
//! This module must never analyse anything itself; it only wires sources, the pipeline and
//! views together.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::capture::live::{DEFAULT_SNAPLEN, LiveOptions, LiveSource};
use crate::capture::offline::FileSource;
use crate::capture::threaded::ThreadedSource;
use crate::capture::{CaptureError, PacketSource};
use crate::dissect::catalog::Catalog;
use crate::dissect::geo::Geo;
use crate::dissect::naming::{Attributor, FlowNaming, Namer};
use crate::flow::{DEFAULT_MAX_FLOWS, Timeouts};
use crate::pipeline::{Pipeline, PipelineConfig, RunEnd};
use crate::views::export::{FlowCollector, FlowWriter, Format, RecordWriter, stats_text};

/// Exit codes. Documented in the README; scripts rely on them.
pub mod exit {
    /// Everything read and written.
    pub const OK: u8 = 0;
    /// An unexpected failure (writing output, an internal error).
    pub const FAILURE: u8 = 1;
    /// The command line was wrong (clap's own code for usage errors).
    pub const USAGE: u8 = 2;
    /// An input file was cut short or corrupt: results cover what was readable.
    pub const PARTIAL_INPUT: u8 = 3;
    /// An input could not be used at all: missing, unreadable, a directory, compressed, or not
    /// a capture.
    pub const BAD_INPUT: u8 = 4;
    /// No permission to capture live (see docs/privileges.md).
    pub const NO_PRIVILEGE: u8 = 5;
    /// The capture interface does not exist, went away, or libpcap failed on it.
    pub const INTERFACE: u8 = 6;
}

#[derive(Debug, Parser)]
#[command(
    name = "onlooker",
    version,
    about = "Shows what a network observer learns about your encrypted messaging from metadata alone",
    long_about = None
)]
pub struct Cli {
    /// Print where bundled data comes from, its licenses and attribution, and exit.
    #[arg(long)]
    pub about: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Flow-table and naming options shared by commands.
#[derive(Debug, Clone, clap::Args)]
pub struct FlowArgs {
    /// Most flows tracked at once; beyond it the least recently seen flow is ended ("evicted").
    #[arg(long, default_value_t = DEFAULT_MAX_FLOWS)]
    pub max_flows: usize,
    /// Extra service catalog file (TSV, same columns as assets/catalog); may be repeated.
    #[arg(long, value_name = "FILE")]
    pub catalog: Vec<PathBuf>,
    /// Use only the --catalog files, not the bundled catalog.
    #[arg(long, requires = "catalog")]
    pub catalog_replace: bool,
    /// Skip the dissectors and naming: a plain flow table, about twice as fast, with the
    /// naming fields left empty.
    #[arg(long)]
    pub no_names: bool,
    /// Directory with MaxMind-format databases (GeoLite2-ASN/Country/City.mmdb), searched
    /// before /usr/share/GeoIP, /var/lib/GeoIP and the XDG data directory.
    #[arg(long, value_name = "DIR")]
    pub geoip_dir: Option<PathBuf>,
}

impl FlowArgs {
    /// The naming stage these options ask for: the dissectors (analysis thread) and what
    /// decides from their findings (writer thread).
    fn namer(&self) -> anyhow::Result<(Namer, Attributor)> {
        let (catalog, geo) = self.catalog_geo()?;
        let namer = Namer::new(catalog);
        let attributor = namer.attributor(geo);
        Ok((namer, attributor))
    }

    /// The service catalog and IP metadata these options ask for.
    fn catalog_geo(&self) -> anyhow::Result<(Catalog, Geo)> {
        let mut catalog = if self.catalog_replace {
            Catalog::default()
        } else {
            Catalog::bundled().context("loading the bundled service catalog")?
        };
        for f in &self.catalog {
            catalog
                .load_file(f)
                .with_context(|| format!("loading catalog {}", f.display()))?;
        }
        let mut dirs = Vec::new();
        if let Some(d) = &self.geoip_dir {
            crate::dissect::geo::check_dir(d).map_err(|e| anyhow::anyhow!("--geoip-dir {e}"))?;
            dirs.push(d.clone());
        }
        dirs.extend(crate::dissect::geo::default_dirs());
        let geo = Geo::discover(&dirs);
        for w in &geo.sources.warnings {
            eprintln!("onlooker: warning: {w}");
        }
        Ok((catalog, geo))
    }

    /// What the dashboard needs to start a session.
    fn dashboard(&self, no_color: bool) -> anyhow::Result<crate::views::tui::Setup> {
        let (catalog, geo) = self.catalog_geo()?;
        Ok(crate::views::tui::Setup {
            catalog,
            geo,
            pipeline: config(self),
            no_color,
        })
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print one record per flow from saved captures (pcap or pcapng), read in order as one.
    Flows {
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Ndjson)]
        format: Format,
        /// With --format ndjson, end with a {"stats": ...} record (statistics always go to
        /// stderr as well).
        #[arg(long)]
        stats: bool,
        #[command(flatten)]
        flow: FlowArgs,
        /// Capture files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Print the activities inferred from saved captures (calls, call attempts, messages, media
    /// transfers), one record each, with the evidence that decided them.
    Events {
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Ndjson)]
        format: Format,
        #[command(flatten)]
        flow: FlowArgs,
        /// Capture files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Open the dashboard on saved captures (pcap or pcapng), read in order as one and played
    /// at the capture's own pace.
    Replay {
        /// Replay speed at the start (keys change it while playing).
        #[arg(long, value_enum, default_value_t = crate::views::tui::SpeedArg::X1)]
        speed: crate::views::tui::SpeedArg,
        /// Draw without colours (also when NO_COLOR is set).
        #[arg(long)]
        no_color: bool,
        #[command(flatten)]
        flow: FlowArgs,
        /// Capture files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Report what an observer on the path learned about the user from saved captures: the
    /// most revealing findings, services, rhythm, calls, messages, media, destinations, leaks
    /// and what would have hidden them, each with its evidence.
    Report {
        /// Output format.
        #[arg(long, value_enum, default_value_t = crate::views::report::ReportFormat::Text)]
        format: crate::views::report::ReportFormat,
        /// Time zone for times (IANA name such as Europe/Lisbon, or UTC); default: this
        /// machine's zone (TZ, then /etc/localtime, else UTC). Capture files record no zone.
        #[arg(long, value_name = "ZONE")]
        tz: Option<String>,
        /// Hide addresses and host names of the local side and of direct call peers (networks
        /// and countries stay), for sharing the report.
        #[arg(long)]
        redact: bool,
        #[command(flatten)]
        flow: FlowArgs,
        /// Capture files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Open the dashboard on the bundled synthetic capture (assets/demo.pcap): no privileges,
    /// no files of your own.
    Demo {
        /// Replay speed at the start (default x10: the demo's eight minutes in under one).
        #[arg(long, value_enum)]
        speed: Option<crate::views::tui::SpeedArg>,
        /// Draw without colours (also when NO_COLOR is set).
        #[arg(long)]
        no_color: bool,
        #[command(flatten)]
        flow: FlowArgs,
    },
    /// Capture live from an interface.
    Live {
        /// Interface to capture on (default: libpcap's first suitable interface).
        #[arg(short, long)]
        interface: Option<String>,
        /// BPF capture filter, as in tcpdump (e.g. "udp or tcp port 443").
        #[arg(short = 'f', long)]
        filter: Option<String>,
        /// Put the interface in promiscuous mode (off by default: see only this host's traffic).
        #[arg(long)]
        promisc: bool,
        /// Bytes captured per packet.
        #[arg(long, default_value_t = DEFAULT_SNAPLEN)]
        snaplen: u32,
        /// Kernel capture ring size in bytes (default 64 MiB; see docs/live-load.md).
        #[arg(long)]
        buffer_size: Option<u32>,
        /// Stream finished flows as NDJSON on stdout instead of opening the dashboard.
        #[arg(long)]
        headless: bool,
        /// Headless: every SECONDS, print a line to stderr with the frames so far, the flows
        /// tracked and the kernel's drop count.
        #[arg(long, value_name = "SECONDS", requires = "headless", value_parser = clap::value_parser!(u32).range(1..))]
        progress: Option<u32>,
        /// Dashboard: draw without colours (also when NO_COLOR is set).
        #[arg(long, conflicts_with = "headless")]
        no_color: bool,
        #[command(flatten)]
        flow: FlowArgs,
    },
    /// List capture interfaces, their addresses, and whether capture is permitted.
    Interfaces {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// A failure with its exit code.
struct Failure {
    code: u8,
    error: anyhow::Error,
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Self {
        let code = error
            .downcast_ref::<CaptureError>()
            .map_or(exit::FAILURE, exit_code_of);
        Self { code, error }
    }
}

impl From<CaptureError> for Failure {
    fn from(e: CaptureError) -> Self {
        anyhow::Error::new(e).into()
    }
}

fn exit_code_of(e: &CaptureError) -> u8 {
    match e {
        CaptureError::Partial { .. } => exit::PARTIAL_INPUT,
        CaptureError::NotFound { .. }
        | CaptureError::IsDirectory { .. }
        | CaptureError::FileNotReadable { .. }
        | CaptureError::EmptyFile { .. }
        | CaptureError::Compressed { .. }
        | CaptureError::NotACapture { .. }
        | CaptureError::Open { .. } => exit::BAD_INPUT,
        CaptureError::PermissionDenied { .. } => exit::NO_PRIVILEGE,
        CaptureError::BadFilter { .. } => exit::USAGE,
        CaptureError::NoSuchInterface { .. }
        | CaptureError::InterfaceGone { .. }
        | CaptureError::Live { .. } => exit::INTERFACE,
    }
}

/// A command line clap refused, as one line on stderr (help and version print as usual).
fn usage_error(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let _ = e.print();
        return ExitCode::from(exit::OK);
    }
    if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        let _ = e.print();
        return ExitCode::from(exit::USAGE);
    }
    let rendered = e.render().to_string();
    let mut lines = rendered.lines().map(str::trim).filter(|l| !l.is_empty());
    let mut first = lines
        .next()
        .unwrap_or("the command line is wrong")
        .trim_start_matches("error: ")
        .to_string();
    // "the following required arguments were not provided:" names them on the next line.
    if first.ends_with(':') {
        if let Some(next) = lines.next() {
            first = format!("{first} {next}");
        }
    }
    eprintln!("onlooker: {first} (see 'onlooker --help', or 'onlooker COMMAND --help')");
    ExitCode::from(exit::USAGE)
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e),
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(f) => {
            if is_broken_pipe(&f.error) {
                return ExitCode::from(exit::OK);
            }
            eprintln!("onlooker: {:#}", f.error);
            ExitCode::from(f.code)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

fn run(cli: Cli) -> Result<u8, Failure> {
    if cli.about {
        print!("{}", about_text());
        return Ok(exit::OK);
    }
    match cli.command {
        Some(Command::Flows {
            format,
            stats,
            flow,
            files,
        }) => flows(format, stats, &flow, &files),
        Some(Command::Events {
            format,
            flow,
            files,
        }) => events(format, &flow, &files),
        Some(Command::Report {
            format,
            tz,
            redact,
            flow,
            files,
        }) => {
            let zone =
                crate::observer::words::Zone::resolve(tz.as_deref()).map_err(|e| Failure {
                    code: exit::USAGE,
                    error: anyhow::Error::new(e).context("--tz"),
                })?;
            let mut source =
                ThreadedSource::spawn(FileSource::new(&files)?).context("starting the reader")?;
            let (namer, attributor) = flow.namer()?;
            let (end, stats) = crate::views::report::run(
                &mut source,
                namer,
                attributor,
                config(&flow),
                &files,
                format,
                &zone,
                redact,
            )?;
            eprint!("{}", stats_text(&stats));
            exit_of_run(end, &stats)
        }
        Some(Command::Live {
            interface,
            filter,
            promisc,
            snaplen,
            buffer_size,
            headless,
            progress,
            no_color,
            flow,
        }) => {
            let interface = match interface {
                Some(i) => i,
                None => pcap::Device::lookup()
                    .context("looking up a default capture interface")?
                    .map(|d| d.name)
                    .ok_or_else(|| {
                        anyhow::anyhow!("no capture interface found; name one with -i")
                    })?,
            };
            let opts = LiveOptions {
                interface,
                filter,
                promisc,
                snaplen,
                buffer_size,
            };
            if !headless {
                return Ok(crate::views::tui::live(opts, flow.dashboard(no_color)?)?);
            }
            live_headless(opts, &flow, progress)
        }
        Some(Command::Replay {
            speed,
            no_color,
            flow,
            files,
        }) => Ok(crate::views::tui::replay(
            &files,
            speed,
            flow.dashboard(no_color)?,
        )?),
        Some(Command::Demo {
            speed,
            no_color,
            flow,
        }) => Ok(crate::views::tui::demo(speed, flow.dashboard(no_color)?)?),
        Some(Command::Interfaces { json }) => interfaces(json),
        None => {
            use clap::CommandFactory;
            let _ = Cli::command().print_help();
            Ok(exit::USAGE)
        }
    }
}

fn config(flow: &FlowArgs) -> PipelineConfig {
    PipelineConfig {
        timeouts: Timeouts::default(),
        max_flows: flow.max_flows,
    }
}

fn flows(
    format: Format,
    with_stats: bool,
    flow: &FlowArgs,
    files: &[PathBuf],
) -> Result<u8, Failure> {
    // Reading runs on its own thread, overlapping with the analysis.
    let mut source =
        ThreadedSource::spawn(FileSource::new(files)?).context("starting the reader")?;
    let (namer, attributor) = flow.namer()?;
    let naming = !flow.no_names;
    let namer = std::cell::RefCell::new(namer);
    let out = io::BufWriter::with_capacity(1 << 16, io::stdout());
    let mut writer = FlowWriter::spawn(format, out, FLOWS_BATCH, naming.then_some(attributor))
        .context("starting the writer")?;
    let mut pipeline: Pipeline<FlowNaming> = Pipeline::new(config(flow));
    let end = pipeline.run(
        &mut source,
        &mut |f, p, o| {
            if naming {
                namer.borrow_mut().on_packet(f, p, o);
            }
        },
        &mut |mut f, reason| {
            if naming {
                namer.borrow_mut().settle(&mut f);
            }
            writer.push((f, reason));
        },
    );
    let (out, written) = writer.finish();
    written.context("writing flow records")?;
    let mut stats = pipeline.stats();
    stats.naming = naming.then(|| namer.borrow().stats);
    if let Some(mut out) = out {
        if with_stats {
            out.write_stats(&stats).context("writing statistics")?;
        }
        out.flush().context("writing flow records")?;
    }
    eprint!("{}", stats_text(&stats));
    exit_of_run(end, &stats)
}

/// Exit code of a run over files: a failed source is an error; a damaged file is partial input.
fn exit_of_run(end: RunEnd, stats: &crate::pipeline::RunStats) -> Result<u8, Failure> {
    if let RunEnd::Failed(e) = end {
        return Err(anyhow::Error::new(e).into());
    }
    Ok(if stats.partial_inputs.is_empty() {
        exit::OK
    } else {
        exit::PARTIAL_INPUT
    })
}

fn events(format: Format, flow: &FlowArgs, files: &[PathBuf]) -> Result<u8, Failure> {
    let mut source =
        ThreadedSource::spawn(FileSource::new(files)?).context("starting the reader")?;
    let (namer, attributor) = flow.namer()?;
    let namer = std::cell::RefCell::new(namer);
    let mut collector =
        FlowCollector::spawn(attributor, flow.max_flows).context("starting the collector")?;
    let mut pipeline: Pipeline<FlowNaming> = Pipeline::new(config(flow));
    let end = pipeline.run(
        &mut source,
        &mut |f, p, o| crate::activity::observe_packet(&mut namer.borrow_mut(), f, p, o),
        &mut |mut f, reason| {
            crate::activity::end_flow(&mut namer.borrow_mut(), &mut f);
            collector.push((f, reason));
        },
    );
    let kept = collector.finish().context("collecting flows")?;
    let events = crate::activity::infer(&kept.flows);
    let mut out = RecordWriter::new(format, io::BufWriter::new(io::stdout()));
    for e in &events {
        out.write(e).context("writing events")?;
    }
    out.flush().context("writing events")?;
    let stats = pipeline.stats();
    eprint!("{}", stats_text(&stats));
    eprintln!("  events: {}", events.len());
    if kept.dropped > 0 {
        eprintln!(
            "  flows not kept for events: {} (more call candidates than --max-flows allows)",
            kept.dropped
        );
    }
    exit_of_run(end, &stats)
}

/// Flows per batch handed to the writer thread when reading files: large enough that the
/// channel costs nothing per flow, small enough to keep memory flat.
const FLOWS_BATCH: usize = 256;

fn live_headless(opts: LiveOptions, flow: &FlowArgs, progress: Option<u32>) -> Result<u8, Failure> {
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
    let live = LiveSource::open(&opts, Arc::clone(&stop))?;
    // The handle is open: nothing from here on needs a privilege, so give them all up before
    // the first packet is read and before any other thread starts (capabilities are per
    // thread). Failing to drop stops the run.
    match crate::capture::privileges::drop_privileges() {
        Ok(Some(dropped)) => eprintln!("onlooker: {dropped}"),
        Ok(None) => eprintln!("onlooker: no privileges to drop (no capabilities held)"),
        Err(e) => {
            drop(live);
            return Err(anyhow::Error::new(e).into());
        }
    }
    // The capture thread only empties the kernel ring into the batches; analysis runs on the
    // thread below, so a slow moment there is absorbed by the batches and the ring.
    let mut source = ThreadedSource::spawn_live(live).context("starting the capture thread")?;
    let interface = opts.interface.clone();
    let cfg = config(flow);
    // Capture and analysis run on their own thread, records are written on another; this one
    // only waits, so a slow terminal never holds up reading packets.
    let worker = std::thread::Builder::new()
        .name("analysis".into())
        .spawn(move || -> io::Result<_> {
            let mut writer = FlowWriter::spawn(Format::Ndjson, io::stdout(), 1, Some(attributor))?;
            let namer = std::cell::RefCell::new(namer);
            let mut pipeline: Pipeline<FlowNaming> = Pipeline::new(cfg);
            let hook = &mut |f: &mut crate::flow::Flow<FlowNaming>,
                             p: &crate::decode::Packet<'_>,
                             o: crate::flow::Observed| {
                namer.borrow_mut().on_packet(f, p, o)
            };
            let sink = &mut |mut f, reason| {
                namer.borrow_mut().settle(&mut f);
                writer.push((f, reason));
            };
            let started = std::time::Instant::now();
            let every = progress.map(|s| std::time::Duration::from_secs(u64::from(s)));
            let mut next_line = every.map(|d| started + d);
            let end = loop {
                if let Some(end) = pipeline.feed(source.next_frame(), hook, sink) {
                    break end;
                }
                if let (Some(at), Some(d)) = (next_line, every) {
                    let now = std::time::Instant::now();
                    if now >= at {
                        next_line = Some(at + d);
                        eprintln!(
                            "{}",
                            progress_line(now - started, &pipeline.stats(), source.kernel_stats())
                        );
                    }
                }
            };
            pipeline.finish(&mut source, hook, sink);
            let (out, written) = writer.finish();
            let mut stats = pipeline.stats();
            stats.naming = Some(namer.borrow().stats);
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

/// One `--progress` line: how long the capture has run, frames, flows tracked and the kernel's
/// drops so far, so a long run shows losses while it happens.
fn progress_line(
    elapsed: std::time::Duration,
    stats: &crate::pipeline::RunStats,
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

fn interfaces(json: bool) -> Result<u8, Failure> {
    let list = crate::capture::live::list_interfaces()?;
    let mut out = io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &list).context("writing the interface list")?;
        writeln!(out).context("writing the interface list")?;
    } else {
        for i in &list {
            let state = if i.capture_permitted {
                "capture permitted".to_string()
            } else {
                format!(
                    "capture NOT permitted: {}",
                    i.reason.as_deref().unwrap_or("unknown")
                )
            };
            writeln!(
                out,
                "{}{}{}\n    addresses: {}\n    {}",
                i.name,
                if i.up { " (up)" } else { " (down)" },
                if i.loopback { " loopback" } else { "" },
                if i.addresses.is_empty() {
                    "none".to_string()
                } else {
                    i.addresses.join(", ")
                },
                state
            )
            .context("writing the interface list")?;
        }
    }
    Ok(exit::OK)
}

/// Attribution the CC BY 4.0 license of the bundled IP metadata requires (verbatim, see
/// assets/geoip/README.md).
pub const GEOIP_ATTRIBUTION: &str = "IP address metadata (country, AS number, AS organization) from ip-location-db by sapics (https://github.com/sapics/ip-location-db), built from data by the Number Resource Organization (https://www.nro.net), Route Views (https://www.routeviews.org) and DB-IP (https://db-ip.com), licensed under CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/); converted to MaxMind DB format and modified (special-purpose address ranges removed, overlapping ranges resolved) by the onlooker project.";

/// Text of `--about`: where bundled data comes from and the attribution its licenses require.
pub fn about_text() -> String {
    let geo = Geo::discover(&crate::dissect::geo::default_dirs());
    let src = |s: &Option<String>| s.clone().unwrap_or_else(|| "none".into());
    format!(
        "onlooker {}\n\n\
         Reads packet metadata only; never decrypts content (except the QUIC Initial packets the\n\
         protocol makes readable to any observer) and makes no network connections of its own.\n\n\
         Service catalog: assets/catalog (domains, address ranges, AS numbers, ports, STUN\n\
         markers), each entry with its public source and date; see assets/catalog/SOURCES.md.\n\n\
         IP metadata in use:\n  ASN:     {}\n  country: {}\n  city:    {}\n\n\
         Bundled IP metadata (data of 2026-06-17, built 2026-11-24):\n{}\n",
        env!("CARGO_PKG_VERSION"),
        src(&geo.sources.asn),
        src(&geo.sources.country),
        src(&geo.sources.city),
        GEOIP_ATTRIBUTION
    )
}
