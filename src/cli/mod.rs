//! The command line: argument parsing, exit codes, and error messages people read.
//!
//! Errors from the stages are typed; this is the edge where they become one clear line each,
//! naming the thing and what to do, plus a documented exit code (see [`exit`]).
//!
//! This module must never analyse anything itself; it only wires sources, the pipeline and
//! views together.

use std::io;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::analysis::pipeline::{PipelineConfig, RunEnd};
use crate::capture::CaptureError;
use crate::capture::live::{DEFAULT_SNAPLEN, LiveOptions, LiveSource};
use crate::capture::offline::FileSource;
use crate::capture::threaded::ThreadedSource;
use crate::flow::{DEFAULT_MAX_FLOWS, Timeouts};
use crate::naming::catalog::Catalog;
use crate::naming::geo::Geo;
use crate::naming::{Attributor, Namer};
use crate::views::export::Format;

mod dashboard;
mod demo;
mod events;
mod flows;
mod interfaces;
mod live;
mod report;
mod shell;

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
    /// Run without the sandbox that confines every command once its inputs are open
    /// (Landlock and a system call filter; docs/privileges.md): for debugging only.
    #[arg(long, global = true)]
    pub no_sandbox: bool,
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
    /// naming fields left empty (`flows` and `live --headless` only: the other commands need
    /// the names).
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
    pub(crate) fn namer(&self) -> anyhow::Result<(Namer, Attributor)> {
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
            crate::naming::geo::check_dir(d).map_err(|e| anyhow::anyhow!("--geoip-dir {e}"))?;
            dirs.push(d.clone());
        }
        dirs.extend(crate::naming::geo::default_dirs());
        let geo = Geo::discover(&dirs);
        for w in &geo.sources.warnings {
            eprintln!("onlooker: warning: {w}");
        }
        Ok((catalog, geo))
    }

    /// What the dashboard needs to start a session.
    fn dashboard(&self, no_color: bool) -> anyhow::Result<dashboard::Setup> {
        let (catalog, geo) = self.catalog_geo()?;
        Ok(dashboard::Setup {
            catalog,
            geo,
            pipeline: config(self),
            no_color,
        })
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print one record per flow from saved captures (pcap or pcapng).
    ///
    /// Several files are read in order as one capture; `-` is standard input.
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
        /// Capture files (`-`: standard input).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Print the activities inferred from saved captures: calls, messages, media transfers.
    ///
    /// One record each (calls, call attempts, messages, media transfers, online sessions), with
    /// the evidence that decided it; `--format table` to read them.
    #[command(mut_arg("no_names", |a| a.hide(true)))]
    Events {
        /// Output format: records for scripts, or a table to read.
        #[arg(long, value_enum, default_value_t = events::EventsFormat::Ndjson)]
        format: events::EventsFormat,
        /// Time zone of the table's times (IANA name such as Europe/Lisbon, or UTC); default:
        /// this machine's zone. NDJSON and CSV write seconds since 1970, which have none.
        #[arg(long, value_name = "ZONE")]
        tz: Option<String>,
        #[command(flatten)]
        flow: FlowArgs,
        /// Capture files (`-`: standard input).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Open the dashboard on saved captures, played at the capture's own pace.
    ///
    /// Several files (pcap or pcapng) are read in order as one capture.
    #[command(mut_arg("no_names", |a| a.hide(true)))]
    Replay {
        /// Replay speed at the start (keys change it while playing).
        #[arg(long, value_enum, default_value_t = dashboard::SpeedArg::X1)]
        speed: dashboard::SpeedArg,
        /// Draw without colours (also when NO_COLOR is set).
        #[arg(long)]
        no_color: bool,
        #[command(flatten)]
        dash: dashboard::DashArgs,
        #[command(flatten)]
        flow: FlowArgs,
        /// Capture files (`-`: standard input).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Report in words what an observer on the path learned from saved captures.
    ///
    /// The most revealing findings, services, rhythm, calls, messages, media, destinations,
    /// leaks and what would have hidden them, each with its evidence.
    #[command(mut_arg("no_names", |a| a.hide(true)))]
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
        /// Capture files (`-`: standard input).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Open the dashboard on the bundled synthetic capture, or print its report.
    ///
    /// The demo capture (ten minutes of an invented evening of WhatsApp and Signal, written by
    /// onlooker's own scenario writer) is built into the binary: no privileges, no files of
    /// your own, from any directory.
    #[command(mut_arg("no_names", |a| a.hide(true)))]
    Demo {
        /// Replay speed at the start (default x10: the demo's ten minutes in one).
        #[arg(long, value_enum)]
        speed: Option<dashboard::SpeedArg>,
        /// Draw without colours (also when NO_COLOR is set).
        #[arg(long)]
        no_color: bool,
        #[command(flatten)]
        dash: dashboard::DashArgs,
        #[command(flatten)]
        flow: FlowArgs,
        /// Print the demo's report instead of opening the dashboard (FORMAT: text, markdown
        /// or json; default text): no terminal needed, from any directory.
        #[arg(long, value_name = "FORMAT", num_args = 0..=1, default_missing_value = "text", conflicts_with = "events")]
        report: Option<crate::views::report::ReportFormat>,
        /// Print the demo's activities as a table instead of opening the dashboard.
        #[arg(long)]
        events: bool,
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
        /// Read a pcap or pcapng capture from standard input as another program writes it
        /// (`tcpdump -U -w - | onlooker live --stdin`) instead of capturing: shown as live, no
        /// pacing, ends at the end of the input.
        #[arg(long, conflicts_with_all = ["interface", "filter", "promisc", "snaplen", "buffer_size"])]
        stdin: bool,
        /// Also save what is captured to FILE (pcapng). The file holds the packets' contents:
        /// who this device talks to, and whatever is not encrypted.
        #[arg(short = 'w', long = "write", value_name = "FILE")]
        write: Option<PathBuf>,
        /// Stream finished flows as NDJSON on stdout instead of opening the dashboard.
        #[arg(long)]
        headless: bool,
        /// Headless: write the activities (as `onlooker events` does) on stdout instead of
        /// flows, each once it is settled (seven minutes of capture time after it ends, and
        /// once flows open before then have ended), the rest when the capture stops.
        #[arg(long, requires = "headless")]
        events: bool,
        /// With --events: ndjson (default), csv, or table (written when the capture stops).
        #[arg(long, value_enum, requires = "events")]
        format: Option<events::EventsFormat>,
        /// Headless: when the capture stops (Ctrl-C, SIGTERM, end of input), write the report
        /// of everything captured to FILE.
        #[arg(long, value_name = "FILE", requires = "headless")]
        report: Option<PathBuf>,
        /// With --report: text, markdown, json or html (default: from FILE's extension, .md,
        /// .json, .html, else text).
        #[arg(long, value_enum, requires = "report")]
        report_format: Option<crate::views::report::ReportFormat>,
        /// With --report: hide addresses and host names of the local side and of direct call
        /// peers, as `report --redact` does.
        #[arg(long, requires = "report")]
        redact: bool,
        /// Headless: every SECONDS, print a line to stderr with the frames so far, the flows
        /// tracked and the kernel's drop count.
        #[arg(long, value_name = "SECONDS", requires = "headless", value_parser = clap::value_parser!(u32).range(1..))]
        progress: Option<u32>,
        /// Dashboard: draw without colours (also when NO_COLOR is set).
        #[arg(long, conflicts_with = "headless")]
        no_color: bool,
        #[command(flatten)]
        dash: dashboard::DashArgs,
        #[command(flatten)]
        flow: FlowArgs,
    },
    /// List capture interfaces, their addresses, and whether capture is permitted.
    Interfaces {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Print a shell completion script.
    ///
    /// For example: `onlooker completions bash >
    /// ~/.local/share/bash-completion/completions/onlooker`.
    Completions {
        /// The shell to complete in.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff).
    ///
    /// Read it with `onlooker man | man -l -`.
    Man,
}

/// A failure with its exit code.
pub(crate) struct Failure {
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
    if cli.no_sandbox {
        crate::sandbox::disable();
    }
    if cli.about {
        print!("{}", about_text());
        return Ok(exit::OK);
    }
    if let Some(refused) = cli.command.as_ref().and_then(no_names_refused) {
        return Err(Failure {
            code: exit::USAGE,
            error: anyhow::anyhow!(
                "--no-names acts only in `flows` and `live --headless` (plain flow tables); \
                 {refused} needs the service names, so leave it out"
            ),
        });
    }
    match cli.command {
        Some(Command::Flows {
            format,
            stats,
            flow,
            files,
        }) => flows::flows(format, stats, &flow, &files),
        Some(Command::Events {
            format,
            tz,
            flow,
            files,
        }) => events::events(format, &zone(tz.as_deref())?, &flow, &files),
        Some(Command::Report {
            format,
            tz,
            redact,
            flow,
            files,
        }) => report::report(format, &zone(tz.as_deref())?, redact, &flow, &files),
        Some(Command::Live {
            interface,
            filter,
            promisc,
            snaplen,
            buffer_size,
            stdin,
            write,
            headless,
            events,
            format,
            report,
            report_format,
            redact,
            progress,
            no_color,
            dash,
            flow,
        }) => {
            let input = if stdin {
                live::Input::Stdin
            } else {
                live::Input::Interface(LiveOptions {
                    interface: default_interface(interface)?,
                    filter,
                    promisc,
                    snaplen,
                    buffer_size,
                })
            };
            if !headless {
                return dashboard::live(input, write, flow.dashboard(no_color)?, &dash);
            }
            let wants = live::Wants {
                progress,
                events: events.then(|| format.unwrap_or(events::EventsFormat::Ndjson)),
                report: report.map(|r| {
                    let f = report_format.unwrap_or_else(|| live::report_format_of(&r));
                    (r, f)
                }),
                redact,
                zone: zone(dash.tz.as_deref())?,
                save: write,
            };
            live::headless(input, &flow, wants)
        }
        Some(Command::Replay {
            speed,
            no_color,
            dash,
            flow,
            files,
        }) => dashboard::replay(&files, speed, flow.dashboard(no_color)?, &dash),
        Some(Command::Demo {
            flow,
            dash,
            report: Some(format),
            ..
        }) => report::demo_report(format, &zone(dash.tz.as_deref())?, &flow),
        Some(Command::Demo {
            flow,
            dash,
            events: true,
            ..
        }) => events::demo_events(&zone(dash.tz.as_deref())?, &flow),
        Some(Command::Demo {
            speed,
            no_color,
            dash,
            flow,
            ..
        }) => dashboard::demo(speed, flow.dashboard(no_color)?, &dash),
        Some(Command::Interfaces { json }) => interfaces::interfaces(json),
        Some(Command::Completions { shell }) => shell::completions(shell),
        Some(Command::Man) => shell::man(),
        None => {
            use clap::CommandFactory;
            let _ = Cli::command().print_help();
            Ok(exit::USAGE)
        }
    }
}

/// The interface `-i` names, else libpcap's default.
fn default_interface(interface: Option<String>) -> anyhow::Result<String> {
    match interface {
        Some(i) => Ok(i),
        None => pcap::Device::lookup()
            .context("looking up a default capture interface")?
            .map(|d| d.name)
            .ok_or_else(|| anyhow::anyhow!("no capture interface found; name one with -i")),
    }
}

/// The command given `--no-names` where it would not act (events, reports and the dashboard
/// are built on the service names), as the error names it.
fn no_names_refused(command: &Command) -> Option<&'static str> {
    match command {
        Command::Events { flow, .. } if flow.no_names => Some("`events`"),
        Command::Report { flow, .. } if flow.no_names => Some("`report`"),
        Command::Replay { flow, .. } if flow.no_names => Some("the dashboard (`replay`)"),
        Command::Demo { flow, .. } if flow.no_names => Some("`demo`"),
        Command::Live {
            flow,
            headless: false,
            ..
        } if flow.no_names => Some("the dashboard (`live` without --headless)"),
        Command::Live {
            flow, events: true, ..
        } if flow.no_names => Some("`live --events`"),
        Command::Live {
            flow,
            report: Some(_),
            ..
        } if flow.no_names => Some("`live --report`"),
        _ => None,
    }
}

/// The time zone `--tz` names, else this machine's; an unknown name is a usage error.
fn zone(tz: Option<&str>) -> Result<crate::observer::words::Zone, Failure> {
    crate::observer::words::Zone::resolve(tz).map_err(|e| Failure {
        code: exit::USAGE,
        error: anyhow::Error::new(e).context("--tz"),
    })
}

/// Capture files checked (each opened and its header read) but not read yet: the reader
/// thread starts after [`confine`].
pub(crate) fn open_files(files: &[PathBuf]) -> anyhow::Result<FileSource> {
    Ok(FileSource::new(files)?)
}

/// The reader thread over files [`open_files`] checked.
pub(crate) fn start_reader(files: FileSource) -> anyhow::Result<ThreadedSource> {
    ThreadedSource::spawn(files).context("starting the reader")
}

/// Confine the process to `plan` (see [`crate::sandbox`]): called once per command, with its
/// inputs open and before any other thread starts.
pub(crate) fn confine(plan: &crate::sandbox::Plan) -> anyhow::Result<()> {
    crate::sandbox::confine(plan).context("starting the sandbox (--no-sandbox turns it off)")?;
    Ok(())
}

/// Open a live capture, then give up every privilege at once: nothing from here on needs
/// one, and they are dropped before the first packet is read and before any other thread
/// starts (capabilities are per thread). Failing to drop stops the run, handle closed.
pub(crate) fn open_live(opts: &LiveOptions, stop: Arc<AtomicBool>) -> anyhow::Result<LiveSource> {
    let live = LiveSource::open(opts, stop)?;
    match crate::capture::privileges::drop_privileges() {
        Ok(Some(dropped)) => eprintln!("onlooker: {dropped}"),
        Ok(None) => eprintln!("onlooker: no privileges to drop (no capabilities held)"),
        Err(e) => {
            drop(live);
            return Err(anyhow::Error::new(e));
        }
    }
    Ok(live)
}

pub(crate) fn config(flow: &FlowArgs) -> PipelineConfig {
    PipelineConfig {
        timeouts: Timeouts::default(),
        max_flows: flow.max_flows,
    }
}

/// Exit code of a run over files: a failed source is an error; a damaged file is partial input.
pub(crate) fn exit_of_run(
    end: RunEnd,
    stats: &crate::analysis::pipeline::RunStats,
) -> Result<u8, Failure> {
    if let RunEnd::Failed(e) = end {
        return Err(anyhow::Error::new(e).into());
    }
    Ok(if stats.partial_inputs.is_empty() {
        exit::OK
    } else {
        exit::PARTIAL_INPUT
    })
}

/// Attribution the CC BY 4.0 license of the bundled IP metadata requires (verbatim, see
/// assets/geoip/README.md).
pub const GEOIP_ATTRIBUTION: &str = "IP address metadata (country, AS number, AS organization) from ip-location-db by sapics (https://github.com/sapics/ip-location-db), built from data by the Number Resource Organization (https://www.nro.net), Route Views (https://www.routeviews.org) and DB-IP (https://db-ip.com), licensed under CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/); converted to MaxMind DB format and modified (special-purpose address ranges removed, overlapping ranges resolved) by the onlooker project.";

/// Text of `--about`: where bundled data comes from and the attribution its licenses require.
pub fn about_text() -> String {
    let geo = Geo::discover(&crate::naming::geo::default_dirs());
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
