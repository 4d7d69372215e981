//! `onlooker flows`: one record per flow, from capture files.

use std::io::{self, Write};
use std::path::PathBuf;

use anyhow::Context;

use super::{Failure, FlowArgs, config, exit_of_run};
use crate::analysis::{self, Depth, Engine, FILE_BATCH, Stage};
use crate::sandbox::Plan;
use crate::views::export::{Format, RecordWriter, stats_text};
use crate::views::progress::Progress;

/// `onlooker flows`: one record per flow. Reading, analysis and writing run on three threads:
/// deciding each flow's service, building its record and writing it happen on the writer's.
pub(super) fn flows(
    format: Format,
    with_stats: bool,
    flow: &FlowArgs,
    files: &[PathBuf],
) -> Result<u8, Failure> {
    // On a terminal, a progress line on stderr while the files are read (never on stdout).
    let opened = super::open_files(files)?;
    let (namer, attributor) = flow.namer()?;
    super::confine(&Plan::new().reading(files))?;
    let mut source = Progress::new(super::start_reader(opened)?, files);
    let depth = if flow.no_names {
        Depth::Bare
    } else {
        Depth::Names
    };
    let attributor = (depth == Depth::Names).then_some(attributor);
    let out = io::BufWriter::with_capacity(1 << 16, io::stdout());
    let mut writer =
        spawn_writer(format, out, FILE_BATCH, attributor).context("starting the writer")?;
    let mut engine = Engine::new(config(flow), namer, depth);
    let end = engine.run(&mut source, &mut |f, r| writer.push((f, r)));
    let (out, written) = writer
        .finish()
        .unwrap_or_else(|| (None, Err(io::Error::other("the writer thread panicked"))));
    written.context("writing flow records")?;
    let stats = engine.stats();
    if let Some(mut out) = out {
        if with_stats {
            out.write_stats(&stats).context("writing statistics")?;
        }
        out.flush().context("writing flow records")?;
    }
    eprint!("{}", stats_text(&stats));
    exit_of_run(end, &stats)
}

/// The writer thread of `flows` and `live --headless`: decides, formats and writes finished
/// flows in order; hands back the record writer (for the statistics record) with the first
/// write error. After an error it only drains what is sent, so the analysis never blocks.
pub(super) type FlowWriter<W> = Stage<analysis::Ended, (Option<RecordWriter<W>>, io::Result<()>)>;

pub(super) fn spawn_writer<W: Write + Send + 'static>(
    format: Format,
    out: W,
    batch_size: usize,
    attributor: Option<crate::naming::Attributor>,
) -> io::Result<FlowWriter<W>> {
    Stage::spawn("writer", batch_size, move |items| {
        let mut w = RecordWriter::new(format, out);
        let mut result = Ok(());
        for (flow, reason) in items {
            if result.is_err() {
                continue;
            }
            let rec = analysis::record(attributor.as_ref(), &flow, reason);
            result = w.write(&rec);
            if result.is_ok() && batch_size <= 1 {
                result = w.flush();
            }
        }
        (Some(w), result)
    })
}
