//! The dashboard's commands (`replay`, `demo`, `live` without `--headless`): open the source,
//! give up privileges where a live capture needed them, start the analysis session, and hand
//! it to the dashboard, which only draws and sends controls.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;

use super::exit;
use crate::analysis::PipelineConfig;
use crate::capture::PacketSource;
use crate::capture::live::LiveOptions;
use crate::capture::memory::MemorySource;
use crate::naming::catalog::Catalog;
use crate::naming::geo::Geo;
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

/// What a dashboard session needs besides its source.
#[derive(Debug)]
pub struct Setup {
    pub catalog: Catalog,
    pub geo: Geo,
    pub pipeline: PipelineConfig,
    pub no_color: bool,
}

impl Setup {
    fn session(self, kind: SourceKind, source: String, speed: Speed) -> (SessionConfig, bool) {
        let no_color = self.no_color || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        (
            SessionConfig {
                kind,
                source,
                pipeline: self.pipeline,
                catalog: self.catalog,
                geo: self.geo,
                // The dashboard shows UTC; the findings' sentences say the same clock.
                observer: crate::observer::Options {
                    tz: Some("UTC".into()),
                    redact: false,
                },
                speed,
            },
            no_color,
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
pub fn replay(files: &[PathBuf], speed: SpeedArg, setup: Setup) -> anyhow::Result<u8> {
    let source = super::read_files(files)?;
    let (cfg, no_color) = setup.session(SourceKind::Replay, file_label(files), speed.into());
    let handle = session::start(Box::new(source), cfg).context("starting the analysis")?;
    let last = crate::views::tui::run(handle, no_color, || {})?;
    Ok(exit_of(&last))
}

/// Where the bundled demo capture is in a source checkout.
const DEMO_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/demo.pcap");

/// Speed of `onlooker demo` when none is given: the demo's eight minutes pass in under a
/// minute, so a newcomer sees calls and messages appear without waiting.
pub const DEMO_SPEED: SpeedArg = SpeedArg::X10;

/// `onlooker demo`: the dashboard over the bundled synthetic capture. It reads
/// assets/demo.pcap when the checkout is there, and otherwise writes the same packets in memory
/// with the scenario writer that made the file (a test checks the two are identical), so it
/// needs no privileges and no files at all.
pub fn demo(speed: Option<SpeedArg>, setup: Setup) -> anyhow::Result<u8> {
    let source: Box<dyn PacketSource + Send> = if Path::new(DEMO_PATH).is_file() {
        Box::new(super::read_files(&[PathBuf::from(DEMO_PATH)])?)
    } else {
        Box::new(MemorySource::new(crate::scenario::demo().into_frames()))
    };
    let (cfg, no_color) = setup.session(
        SourceKind::Demo { synthetic: true },
        "demo.pcap".into(),
        speed.unwrap_or(DEMO_SPEED).into(),
    );
    let handle = session::start(source, cfg).context("starting the analysis")?;
    let last = crate::views::tui::run(handle, no_color, || {})?;
    Ok(exit_of(&last))
}

/// `onlooker live` without `--headless`: the dashboard on a live capture. Opening, the
/// privilege drop and the order of threads are those of the headless mode: the handle is
/// opened, every privilege dropped, and only then do other threads start.
pub fn live(opts: LiveOptions, setup: Setup) -> anyhow::Result<u8> {
    let stop = Arc::new(AtomicBool::new(false));
    let source = super::open_live(&opts, Arc::clone(&stop))?;
    let (cfg, no_color) = setup.session(SourceKind::Live, opts.interface.clone(), Speed::X1);
    // Only now, with privileges given up, the capture thread starts: it only copies frames out
    // of the kernel ring, so the ring is emptied however busy the analysis is.
    let source = crate::capture::threaded::ThreadedSource::spawn_live(source)
        .context("starting the capture thread")?;
    let handle = session::start(Box::new(source), cfg).context("starting the analysis")?;
    let stop_capture = Arc::clone(&stop);
    let last = crate::views::tui::run(handle, no_color, move || {
        stop_capture.store(true, Ordering::SeqCst)
    })?;
    Ok(match &last.error {
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
