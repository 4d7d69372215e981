//! `onlooker report` and `onlooker demo --report`: what an observer learned from capture
//! files, or from the bundled synthetic demo, in words.

use std::io;
use std::path::PathBuf;

use anyhow::Context;

use super::{Failure, FlowArgs, config, exit_of_run};
use crate::analysis;
use crate::capture::PacketSource;
use crate::observer::words::Zone;
use crate::sandbox::Plan;
use crate::views::export::stats_text;
use crate::views::progress::Progress;
use crate::views::report::{Inputs, ReportFormat};

/// `onlooker report`: analyse, then write the report to stdout.
pub(super) fn report(
    format: ReportFormat,
    zone: &Zone,
    redact: bool,
    flow: &FlowArgs,
    files: &[PathBuf],
) -> Result<u8, Failure> {
    // On a terminal, a progress line on stderr while the files are read (never on stdout).
    let opened = super::open_files(files)?;
    let (namer, attributor) = flow.namer()?;
    super::confine(&Plan::new().reading(files))?;
    let mut source = Progress::new(super::start_reader(opened)?, files);
    let (model, end, stats) =
        analysis::model_of(&mut source, namer, attributor, config(flow), zone, redact)
            .context("starting the collector")?;
    let mut inputs = Inputs::new(files, &stats.partial_inputs);
    inputs.synthetic = files.iter().any(|f| super::demo::is_bundled_demo(f));
    let mut out = io::BufWriter::new(io::stdout().lock());
    crate::views::report::write(&mut out, &model, &inputs, format).context("writing the report")?;
    eprint!("{}", stats_text(&stats));
    exit_of_run(end, &stats)
}

/// `onlooker demo --report`: the report of the bundled synthetic capture, made in memory by
/// the scenario writer, so it works from any directory. No statistics on stderr: they describe
/// reading a file, and no file was read.
pub(super) fn demo_report(
    format: ReportFormat,
    zone: &Zone,
    flow: &FlowArgs,
) -> Result<u8, Failure> {
    let mut source = super::demo::source();
    let (namer, attributor) = flow.namer()?;
    super::confine(&Plan::new())?;
    let (model, end, stats) = analysis::model_of(
        source.as_mut() as &mut dyn PacketSource,
        namer,
        attributor,
        config(flow),
        zone,
        false,
    )
    .context("starting the collector")?;
    let inputs = Inputs {
        files: vec![super::demo::NAME.to_string()],
        partial: Vec::new(),
        synthetic: true,
    };
    let mut out = io::BufWriter::new(io::stdout().lock());
    crate::views::report::write(&mut out, &model, &inputs, format).context("writing the report")?;
    exit_of_run(end, &stats)
}
