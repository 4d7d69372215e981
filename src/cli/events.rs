//! `onlooker events` and `onlooker demo --events`: the activities inferred from capture files
//! (or the bundled demo), one record each, for scripts (NDJSON, CSV) or people (a table).

use std::io::{self, Write};
use std::path::PathBuf;

use anyhow::Context;

use super::{Failure, FlowArgs, config, exit_of_run};
use crate::analysis;
use crate::capture::PacketSource;
use crate::model::Event;
use crate::observer::words::Zone;
use crate::sandbox::Plan;
use crate::views::export::{Format, RecordWriter, stats_text};
use crate::views::progress::Progress;

/// Output format of `events`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum EventsFormat {
    /// One JSON object per line, every field (docs/formats.md).
    Ndjson,
    /// The same fields as CSV columns.
    Csv,
    /// A table to read: time, activity in words, service, duration, bytes, evidence.
    Table,
}

/// `onlooker events`: the activities inferred, one record each.
pub(super) fn events(
    format: EventsFormat,
    zone: &Zone,
    flow: &FlowArgs,
    files: &[PathBuf],
) -> Result<u8, Failure> {
    // On a terminal, a progress line on stderr while the files are read (never on stdout).
    let opened = super::open_files(files)?;
    let (namer, attributor) = flow.namer()?;
    super::confine(&Plan::new().reading(files))?;
    let mut source = Progress::new(super::start_reader(opened)?, files);
    let (events, run) = analysis::collect_events(&mut source, namer, attributor, config(flow))
        .context("collecting flows")?;
    write(format, zone, &events)?;
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

/// `onlooker demo --events`: the activities of the bundled synthetic capture, as a table.
pub(super) fn demo_events(zone: &Zone, flow: &FlowArgs) -> Result<u8, Failure> {
    let mut source = super::demo::source();
    let (namer, attributor) = flow.namer()?;
    super::confine(&Plan::new())?;
    let (events, run) = analysis::collect_events(
        source.as_mut() as &mut dyn PacketSource,
        namer,
        attributor,
        config(flow),
    )
    .context("collecting flows")?;
    write(EventsFormat::Table, zone, &events)?;
    exit_of_run(run.end, &run.stats)
}

fn write(format: EventsFormat, zone: &Zone, events: &[Event]) -> Result<(), Failure> {
    let out = io::BufWriter::new(io::stdout());
    let record = match format {
        EventsFormat::Ndjson => Format::Ndjson,
        EventsFormat::Csv => Format::Csv,
        EventsFormat::Table => {
            let mut out = out;
            out.write_all(crate::views::table::events(events, zone).as_bytes())
                .and_then(|()| out.flush())
                .context("writing events")?;
            return Ok(());
        }
    };
    let mut out = RecordWriter::new(record, out);
    for e in events {
        out.write(e).context("writing events")?;
    }
    out.flush().context("writing events")?;
    Ok(())
}
