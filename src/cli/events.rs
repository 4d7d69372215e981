//! `onlooker events`: the activities inferred from capture files, one record each.

use std::io;
use std::path::PathBuf;

use anyhow::Context;

use super::{Failure, FlowArgs, config, exit_of_run, read_files};
use crate::analysis;
use crate::views::export::{Format, RecordWriter, stats_text};

/// `onlooker events`: the activities inferred, one record each.
pub(super) fn events(format: Format, flow: &FlowArgs, files: &[PathBuf]) -> Result<u8, Failure> {
    let mut source = read_files(files)?;
    let (namer, attributor) = flow.namer()?;
    let (events, run) = analysis::collect_events(&mut source, namer, attributor, config(flow))
        .context("collecting flows")?;
    let mut out = RecordWriter::new(format, io::BufWriter::new(io::stdout()));
    for e in &events {
        out.write(e).context("writing events")?;
    }
    out.flush().context("writing events")?;
    eprint!("{}", stats_text(&run.stats));
    eprintln!("  events: {}", events.len());
    if run.kept.dropped > 0 {
        eprintln!(
            "  flows not kept for events: {} (more call candidates than --max-flows allows)",
            run.kept.dropped
        );
    }
    exit_of_run(run.end, &run.stats)
}
