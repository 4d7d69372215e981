//! Flow records as NDJSON (one JSON object per line) or CSV, with the same field names.
//!
//! The record layout is documented field by field in docs/formats.md; changing a name or a
//! meaning here is a breaking change for people's scripts.

use std::io::{self, Write};

use serde::Serialize;

use crate::flow::{EndReason, Flow, proto_name, tcp_flags_str};
use crate::pipeline::RunStats;

/// Output format of record streams.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Ndjson,
    Csv,
}

/// One flow as exported.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FlowRecord {
    pub proto: String,
    pub client: String,
    pub server: String,
    pub first_ts: f64,
    pub last_ts: f64,
    pub packets_up: u64,
    pub packets_down: u64,
    pub bytes_up: u64,
    pub bytes_down: u64,
    pub tcp_flags: String,
    pub end_reason: &'static str,
}

/// `ip:port`, with IPv6 in brackets (`[2001:db8::1]:443`), as `SocketAddr` prints it.
fn endpoint(e: (std::net::IpAddr, u16)) -> String {
    std::net::SocketAddr::from(e).to_string()
}

impl FlowRecord {
    pub fn from_flow<T>(flow: &Flow<T>, reason: EndReason) -> Self {
        Self {
            proto: proto_name(flow.proto()).into_owned(),
            client: endpoint(flow.client()),
            server: endpoint(flow.server()),
            first_ts: flow.first_ts.as_secs_f64(),
            last_ts: flow.last_ts.as_secs_f64(),
            packets_up: flow.up.packets,
            packets_down: flow.down.packets,
            bytes_up: flow.up.bytes,
            bytes_down: flow.down.bytes,
            tcp_flags: tcp_flags_str(flow.tcp_flags()),
            end_reason: reason.as_str(),
        }
    }
}

/// Writes records in one format.
pub enum RecordWriter<W: Write> {
    Ndjson(W),
    Csv(csv::Writer<W>),
}

impl<W: Write> RecordWriter<W> {
    pub fn new(format: Format, out: W) -> Self {
        match format {
            Format::Ndjson => Self::Ndjson(out),
            Format::Csv => Self::Csv(csv::Writer::from_writer(out)),
        }
    }

    pub fn write<R: Serialize>(&mut self, rec: &R) -> io::Result<()> {
        match self {
            Self::Csv(c) => c.serialize(rec).map_err(io::Error::other),
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
            Self::Csv(c) => c.flush(),
            Self::Ndjson(w) => w.flush(),
        }
    }
}

/// Human-readable statistics for stderr.
pub fn stats_text(stats: &RunStats) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "onlooker: {} frames ({} bytes), {} decoded into {} flows",
        stats.frames, stats.bytes, stats.decoded, stats.flows.flows_created
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
    for p in &stats.partial_inputs {
        let _ = writeln!(s, "  partial input: {p}");
    }
    s
}
