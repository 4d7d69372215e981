//! The dashboard's commands (`replay`, `demo`, `live` without `--headless`): open the source,
//! give up privileges where a live capture needed them, start the analysis session, and hand
//! it to the dashboard, which only draws and sends controls. Without a terminal to draw on,
//! `replay` and `demo` say so in one line and name the command that prints the same as text.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use std::io::IsTerminal as _;

use anyhow::Context;

use super::{Failure, exit};
use crate::analysis::PipelineConfig;
use crate::capture::PacketSource;
use crate::capture::memory::MemorySource;
use crate::naming::catalog::Catalog;
use crate::naming::geo::Geo;
use crate::sandbox::Plan;
use crate::session::{self, SessionConfig, Snapshot, SourceKind, Speed};

/// Replay speed on the command line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum SpeedArg {
    /// The capture's own pace.
    #[default]
    X1,
    X10,
    X100,
    /// As fast as the analysis goes.
    Max,
}

impl From<SpeedArg> for Speed {
    fn from(s: SpeedArg) -> Self {
        match s {
            SpeedArg::X1 => Speed::X1,
            SpeedArg::X10 => Speed::X10,
            SpeedArg::X100 => Speed::X100,
            SpeedArg::Max => Speed::Max,
        }
    }
}

/// The dashboard's own options, shared by `replay`, `demo` and `live`.
#[derive(Clone, Debug, clap::Args)]
pub struct DashArgs {
    /// Time zone for times on screen and in exported reports (IANA name such as
    /// Europe/Lisbon, or UTC); default UTC. Capture files record no zone.
    #[arg(long, value_name = "ZONE")]
    pub tz: Option<String>,
    /// Folder the export keys (x: Markdown, X: JSON) write reports into; it must exist.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub export_dir: PathBuf,
}

impl DashArgs {
    /// The dashboard's options, or a usage error for a zone or folder that does not exist.
    fn options(&self, no_color: bool) -> Result<crate::views::tui::Options, Failure> {
        let usage = |error: anyhow::Error| Failure {
            code: exit::USAGE,
            error,
        };
        let clock = match &self.tz {
            Some(tz) => crate::views::tui::fmt::Clock::new(
                crate::observer::words::Zone::resolve(Some(tz))
                    .map_err(|e| usage(anyhow::Error::new(e).context("--tz")))?,
            ),
            None => crate::views::tui::fmt::Clock::utc(),
        };
        if !self.export_dir.is_dir() {
            return Err(usage(anyhow::anyhow!(
                "--export-dir {}: not a folder (the export keys write there; create it first)",
                self.export_dir.display()
            )));
        }
        Ok(crate::views::tui::Options {
            no_color,
            clock,
            export_dir: self.export_dir.clone(),
        })
    }
}

/// Without a terminal (output piped, no controlling terminal): one line that says so and what
/// prints the same as text, with the usage exit code.
fn need_terminal(command: &str, instead: &str) -> Result<(), Failure> {
    let tty = std::io::stdout().is_terminal() && std::fs::File::open("/dev/tty").is_ok();
    if tty {
        return Ok(());
    }
    Err(Failure {
        code: exit::USAGE,
        error: anyhow::anyhow!(
            "{command} draws a dashboard and needs a terminal; for the same as text, run: {instead}"
        ),
    })
}

/// A file name as a shell reads it back: quoted when it holds anything but plain characters.
fn shell_word(p: &Path) -> String {
    let s = p.display().to_string();
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:,@".contains(c));
    if plain {
        s
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// What a dashboard session needs besides its source.
#[derive(Debug)]
pub struct Setup {
    pub catalog: Catalog,
    pub geo: Geo,
    pub pipeline: PipelineConfig,
    pub no_color: bool,
}

impl Setup {
    fn session(
        self,
        kind: SourceKind,
        source: String,
        speed: Speed,
        view: &crate::views::tui::Options,
    ) -> (SessionConfig, crate::views::tui::Options) {
        let no_color = self.no_color || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        (
            SessionConfig {
                kind,
                source,
                pipeline: self.pipeline,
                catalog: self.catalog,
                geo: self.geo,
                // The findings' sentences say the clock the dashboard shows.
                observer: crate::observer::Options {
                    tz: Some(view.clock.zone().info.name.clone()),
                    redact: false,
                },
                speed,
            },
            crate::views::tui::Options {
                no_color,
                ..view.clone()
            },
        )
    }
}

fn file_label(files: &[PathBuf]) -> String {
    files
        .iter()
        .map(|f| {
            f.file_name().map_or_else(
                || f.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            )
        })
        .collect::<Vec<_>>()
        .join(" + ")
}

/// `onlooker replay FILE...`: the dashboard over capture files, at the capture's pace.
pub fn replay(
    files: &[PathBuf],
    speed: SpeedArg,
    setup: Setup,
    dash: &DashArgs,
) -> Result<u8, Failure> {
    let view = dash.options(setup.no_color)?;
    // A file that cannot be read is said first: it would fail the report too.
    let source = super::open_files(files)?;
    let names: Vec<String> = files.iter().map(|f| shell_word(f)).collect();
    need_terminal("replay", &format!("onlooker report {}", names.join(" ")))?;
    super::confine(
        &Plan::new()
            .reading(files)
            .writing_in(&view.export_dir)
            .terminal(),
    )?;
    let mut source = super::start_reader(source)?;
    let (cfg, view) = setup.session(SourceKind::Replay, file_label(files), speed.into(), &view);
    let stop = Arc::new(AtomicBool::new(false));
    if files.iter().any(|f| crate::capture::offline::is_stream(f)) {
        // A pipe whose writer goes on (`tcpdump -U -w - | onlooker replay -`) must not keep
        // quitting waiting for its next packet.
        source.stop_on(Arc::clone(&stop));
    }
    let handle =
        session::start_with_stop(Box::new(source), cfg, stop).context("starting the analysis")?;
    let last = crate::views::tui::run(handle, &view, || {})?;
    Ok(exit_of(&last))
}

/// Where the bundled demo capture is in a source checkout.
const DEMO_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/demo.pcap");

/// Speed of `onlooker demo` when none is given: the demo's ten minutes pass in one, so a
/// newcomer sees calls and messages appear without waiting.
pub const DEMO_SPEED: SpeedArg = SpeedArg::X10;

/// `onlooker demo`: the dashboard over the bundled synthetic capture. It reads
/// assets/demo.pcap when the checkout is there, and otherwise writes the same packets in memory
/// with the scenario writer that made the file (a test checks the two are identical), so it
/// needs no privileges and no files at all.
pub fn demo(speed: Option<SpeedArg>, setup: Setup, dash: &DashArgs) -> Result<u8, Failure> {
    let view = dash.options(setup.no_color)?;
    need_terminal("demo", "onlooker demo --report")?;
    let file = Path::new(DEMO_PATH)
        .is_file()
        .then(|| PathBuf::from(DEMO_PATH));
    let opened = file
        .as_ref()
        .map(|f| super::open_files(std::slice::from_ref(f)))
        .transpose()?;
    super::confine(
        &Plan::new()
            .reading(file)
            .writing_in(&view.export_dir)
            .terminal(),
    )?;
    let source: Box<dyn PacketSource + Send> = match opened {
        Some(files) => Box::new(super::start_reader(files)?),
        None => Box::new(MemorySource::new(crate::scenario::demo().into_frames())),
    };
    let (cfg, view) = setup.session(
        SourceKind::Demo { synthetic: true },
        "demo.pcap".into(),
        speed.unwrap_or(DEMO_SPEED).into(),
        &view,
    );
    let handle = session::start(source, cfg).context("starting the analysis")?;
    let last = crate::views::tui::run(handle, &view, || {})?;
    Ok(exit_of(&last))
}

/// `onlooker live` without `--headless`: the dashboard on a live capture, or on a capture
/// another program is still writing to standard input (`--stdin`, shown as live: no pacing,
/// it ends at the end of the input and the dashboard stays up on the result). Opening, the
/// privilege drop and the order of threads are those of the headless mode: the handle is
/// opened, every privilege dropped, and only then do other threads start.
pub fn live(
    input: super::live::Input,
    write: Option<PathBuf>,
    setup: Setup,
    dash: &DashArgs,
) -> Result<u8, Failure> {
    let view = dash.options(setup.no_color)?;
    let stop = Arc::new(AtomicBool::new(false));
    let stdin = matches!(input, super::live::Input::Stdin);
    let (label, snaplen) = match &input {
        super::live::Input::Interface(o) => (o.interface.clone(), o.snaplen),
        super::live::Input::Stdin => ("standard input".to_string(), 0),
    };
    let opened = super::live::open_input(&input, &stop)?;
    let saved = write
        .as_deref()
        .map(|p| super::live::save(p, snaplen))
        .transpose()?;
    if let (Some(s), Some(link)) = (&saved, opened.live_link()) {
        s.declare(link);
    }
    super::confine(
        &super::live::plan(&opened, None)?
            .writing_in(&view.export_dir)
            .terminal(),
    )?;
    let (cfg, view) = setup.session(SourceKind::Live, label, Speed::X1, &view);
    // Only now, with privileges given up and the sandbox installed, the capture thread
    // starts: it only copies frames out of the kernel ring, so the ring is emptied however
    // busy the analysis is.
    let source = super::live::spawn_source(opened, saved.as_ref(), &stop)?;
    let handle = session::start_with_stop(Box::new(source), cfg, Arc::clone(&stop))
        .context("starting the analysis")?;
    let stop_capture = Arc::clone(&stop);
    let last = crate::views::tui::run(handle, &view, move || {
        stop_capture.store(true, Ordering::SeqCst)
    })?;
    if let Some(saved) = &saved {
        saved.finish().map_err(anyhow::Error::new)?;
        eprintln!("onlooker: capture saved to {}", saved.path().display());
    }
    Ok(match &last.error {
        Some(_) if stdin => exit::PARTIAL_INPUT,
        Some(_) => exit::INTERFACE,
        None => exit::OK,
    })
}

fn exit_of(last: &Snapshot) -> u8 {
    if last.error.is_some() {
        exit::PARTIAL_INPUT
    } else {
        exit::OK
    }
}
