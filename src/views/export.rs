//! Flow records as NDJSON (one JSON object per line) or CSV, with the same field names.
//!
//! The record layout is documented field by field in docs/formats.md; changing a name or a
//! meaning here is a breaking change for people's scripts.

use std::io::{self, Write};

use serde::Serialize;

use crate::analysis::RunStats;

/// Output format of record streams.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Ndjson,
    Csv,
}

/// Writes records in one format.
pub enum RecordWriter<W: Write> {
    Ndjson(W),
    /// CSV rows; the header is written before the first row, from the record's field names.
    Csv {
        out: Box<csv::Writer<W>>,
        header: bool,
    },
}

impl<W: Write> RecordWriter<W> {
    pub fn new(format: Format, out: W) -> Self {
        match format {
            Format::Ndjson => Self::Ndjson(out),
            Format::Csv => Self::Csv {
                out: Box::new(csv::Writer::from_writer(out)),
                header: false,
            },
        }
    }

    pub fn write<R: Serialize>(&mut self, rec: &R) -> io::Result<()> {
        match self {
            Self::Csv { out, header } => {
                // Through a JSON value so that lists become one cell ("a;b") and absent values
                // empty cells, with the same field names and order as NDJSON.
                let serde_json::Value::Object(fields) =
                    serde_json::to_value(rec).map_err(io::Error::other)?
                else {
                    return Err(io::Error::other("a record must be a JSON object"));
                };
                if !*header {
                    out.write_record(fields.keys()).map_err(io::Error::other)?;
                    *header = true;
                }
                out.write_record(fields.values().map(csv_cell))
                    .map_err(io::Error::other)
            }
            Self::Ndjson(w) => {
                serde_json::to_writer(&mut *w, rec)?;
                w.write_all(b"\n")
            }
        }
    }

    /// Write the run statistics as a final NDJSON record (`{"stats": {...}}`). CSV has no
    /// place for them; the caller prints them to stderr instead.
    pub fn write_stats(&mut self, stats: &RunStats) -> io::Result<()> {
        #[derive(Serialize)]
        struct StatsRecord<'a> {
            stats: &'a RunStats,
        }
        if let Self::Ndjson(w) = self {
            serde_json::to_writer(&mut *w, &StatsRecord { stats })?;
            w.write_all(b"\n")?;
        }
        Ok(())
    }

    pub fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::Csv { out, .. } => out.flush(),
            Self::Ndjson(w) => w.flush(),
        }
    }
}

/// One CSV cell from a JSON value: strings as they are, lists joined with ';', null empty.
fn csv_cell(v: &serde_json::Value) -> String {
    use serde_json::Value;
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(csv_cell).collect::<Vec<_>>().join(";"),
        other => other.to_string(),
    }
}

/// Human-readable statistics for stderr.
pub fn stats_text(stats: &RunStats) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "onlooker: {} frames ({}), {} decoded into {} {}",
        stats.frames,
        crate::observer::words::bytes(stats.bytes),
        stats.decoded,
        stats.flows.flows_created,
        if stats.flows.flows_created == 1 {
            "flow"
        } else {
            "flows"
        }
    );
    if stats.undecodable.is_empty() {
        let _ = writeln!(s, "  undecodable: none");
    } else {
        let parts: Vec<String> = stats
            .undecodable
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        let _ = writeln!(s, "  undecodable: {}", parts.join(", "));
    }
    let f = &stats.flows;
    let _ = writeln!(
        s,
        "  flows ended: idle {}, closed {}, evicted {}, end of input {}; peak tracked {}; timestamps going backwards {}",
        f.flows_ended_idle,
        f.flows_ended_closed,
        f.flows_evicted,
        f.flows_ended_at_end_of_input,
        f.peak_flows,
        f.timestamps_backwards
    );
    if let Some(k) = &stats.kernel {
        let _ = writeln!(
            s,
            "  capture: received {}, dropped by kernel {}, dropped by interface {}",
            k.received, k.dropped_by_kernel, k.dropped_by_interface
        );
    }
    let a = &stats.record_anomalies;
    if a.empty + a.over_snaplen + a.captured_over_wire + a.before_1970 + a.after_2106 > 0 {
        let _ = writeln!(
            s,
            "  odd records: empty {}, longer than the file's snaplen {}, captured more than on the wire {}, stamped before 1970 {}, after 2106 {}",
            a.empty, a.over_snaplen, a.captured_over_wire, a.before_1970, a.after_2106
        );
    }
    if let Some(n) = &stats.naming {
        if n.dns_names_evicted + n.call_sockets_evicted + n.server_names_evicted > 0 {
            let _ = writeln!(
                s,
                "  naming tables full: DNS names evicted {}, call sockets evicted {}, server names evicted {}",
                n.dns_names_evicted, n.call_sockets_evicted, n.server_names_evicted
            );
        }
        if n.names_wait_overflow > 0 {
            let _ = writeln!(
                s,
                "  unnamed flows that could not wait for a name learnt later in the file: {} (written with the names known when they ended)",
                n.names_wait_overflow
            );
        }
    }
    for p in &stats.partial_inputs {
        let _ = writeln!(s, "  partial input: {p}");
    }
    s
}
