//! `onlooker report`: what an observer learned from capture files, in words.

use std::io;
use std::path::PathBuf;

use anyhow::Context;

use super::{Failure, FlowArgs, config, exit_of_run, read_files};
use crate::analysis;
use crate::observer::words::Zone;
use crate::views::export::stats_text;
use crate::views::report::{Inputs, ReportFormat};

/// `onlooker report`: analyse, then write the report to stdout.
pub(super) fn report(
    format: ReportFormat,
    zone: &Zone,
    redact: bool,
    flow: &FlowArgs,
    files: &[PathBuf],
) -> Result<u8, Failure> {
    let mut source = read_files(files)?;
    let (namer, attributor) = flow.namer()?;
    let (model, end, stats) =
        analysis::model_of(&mut source, namer, attributor, config(flow), zone, redact)
            .context("starting the collector")?;
    let inputs = Inputs::new(files, &stats.partial_inputs);
    let mut out = io::BufWriter::new(io::stdout().lock());
    crate::views::report::write(&mut out, &model, &inputs, format).context("writing the report")?;
    eprint!("{}", stats_text(&stats));
    exit_of_run(end, &stats)
}
