//! Flow records as NDJSON (one JSON object per line) or CSV, with the same field names.
//!
//! The record layout is documented field by field in docs/formats.md; changing a name or a
//! meaning here is a breaking change for people's scripts.

use std::io::{self, Write};

use serde::Serialize;

use crate::dissect::catalog::Role;
use crate::dissect::naming::{Attribution, Attributor, FlowNaming};
use crate::flow::{EndReason, Flow, proto_name, tcp_flags_str};
use crate::pipeline::RunStats;

/// Output format of record streams.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Ndjson,
    Csv,
}

/// One flow as exported.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
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
    /// Server name from a TLS or QUIC ClientHello.
    pub sni: Option<String>,
    /// ALPN protocols offered, in order.
    pub alpn: Vec<String>,
    /// Highest TLS version the client offered ("1.3", "1.2", ...).
    pub tls_version: Option<String>,
    /// True when the ClientHello carried Encrypted Client Hello: `sni` is then a cover name.
    pub ech: bool,
    /// QUIC version of the client's Initial ("1", "2", "draft-29", "Q046", ...).
    pub quic_version: Option<String>,
    /// The name this client looked up for this server in DNS answers seen earlier.
    pub dns_name: Option<String>,
    /// STUN seen on the flow: message types, vendor attributes, realm, software.
    pub stun: Option<String>,
    pub service: Option<String>,
    pub service_role: Option<&'static str>,
    /// Evidence, strongest first ("sni:mmg.whatsapp.net", "stun-attr:0x4000", ...).
    pub service_evidence: Vec<String>,
    /// 0 to 1: the weight of the evidence that decided `service`.
    pub confidence: f64,
    /// The remote side's autonomous system, organisation, country and city.
    pub asn: Option<u32>,
    pub as_org: Option<String>,
    pub country: Option<String>,
    pub city: Option<String>,
    /// IP TTL (IPv6 hop limit) of the client's first packet, as it arrived at the capture.
    pub client_ttl: Option<u8>,
    /// The client's SYN: its window, and its options in p0f's notation
    /// (`mss,sok,ts,nop,ws`), with the MSS and window scale values.
    pub syn_window: Option<u16>,
    pub syn_options: Option<String>,
    pub syn_mss: Option<u16>,
    pub syn_wscale: Option<u8>,
    /// When only the network named the company behind the flow (`service` is the company):
    /// the services that company runs. Context for the activity model; not exported, since
    /// the company's name and `asn` already say it.
    #[serde(skip)]
    pub company_services: std::sync::Arc<[String]>,
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
            sni: None,
            alpn: Vec::new(),
            tls_version: None,
            ech: false,
            quic_version: None,
            dns_name: None,
            stun: None,
            service: None,
            service_role: None,
            service_evidence: Vec::new(),
            confidence: 0.0,
            asn: None,
            as_org: None,
            country: None,
            city: None,
            client_ttl: flow.client_ttl,
            syn_window: flow.client_syn.map(|(w, _)| w),
            syn_options: flow.client_syn.map(|(_, o)| o.layout()),
            syn_mss: flow.client_syn.and_then(|(_, o)| o.mss),
            syn_wscale: flow.client_syn.and_then(|(_, o)| o.wscale),
            company_services: std::sync::Arc::default(),
        }
    }

    /// A flow with what the dissectors found and the service decided.
    pub fn named(flow: &Flow<FlowNaming>, reason: EndReason, a: Attribution) -> Self {
        let mut r = Self::from_flow(flow, reason);
        let n = &flow.ext;
        if let Some(h) = &n.hello {
            r.sni.clone_from(&h.sni);
            r.alpn.clone_from(&h.alpn);
            r.tls_version = h.tls_version.map(|v| v.to_string());
            r.ech = h.ech;
        }
        r.quic_version = n
            .quic_version
            .map(|v| crate::dissect::quic::QuicVersionKind::of(v).to_string());
        r.dns_name = n.dns_name.clone().or_else(|| n.dns_query.clone());
        r.stun = n.stun.as_ref().map(|s| s.summary());
        r.service = a.service;
        r.service_role = a.role.map(Role::as_str);
        r.service_evidence = a.evidence;
        r.confidence = a.confidence;
        r.company_services = a.company_services;
        r.asn = a.remote.asn;
        r.as_org = a.remote.as_org;
        r.country = a.remote.country;
        r.city = a.remote.city;
        r
    }
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
    let a = &stats.record_anomalies;
    if a.empty + a.over_snaplen + a.captured_over_wire + a.before_1970 + a.after_2106 > 0 {
        let _ = writeln!(
            s,
            "  odd records: empty {}, longer than the file's snaplen {}, captured more than on the wire {}, stamped before 1970 {}, after 2106 {}",
            a.empty, a.over_snaplen, a.captured_over_wire, a.before_1970, a.after_2106
        );
    }
    if let Some(n) = &stats.naming {
        if n.dns_names_evicted + n.call_sockets_evicted > 0 {
            let _ = writeln!(
                s,
                "  naming tables full: DNS names evicted {}, call sockets evicted {}",
                n.dns_names_evicted, n.call_sockets_evicted
            );
        }
    }
    for p in &stats.partial_inputs {
        let _ = writeln!(s, "  partial input: {p}");
    }
    s
}

/// A finished flow on its way to the output: the flow (settled) and why it ended.
pub type Finished = (Flow<FlowNaming>, EndReason);

/// Decides, formats and writes finished flows on a thread of its own, so deciding the service
/// (catalog and IP database lookups), building and serialising records (about a third of the
/// work per flow) run beside the analysis instead of after it.
///
/// Flows are sent in batches of `batch` (1 for live capture, where each flow is printed as
/// soon as it ends); order is kept. The channel is bounded, so a slow output slows the
/// analysis down instead of growing memory.
pub struct FlowWriter<W: Write + Send + 'static> {
    tx: Option<std::sync::mpsc::SyncSender<Vec<Finished>>>,
    batch: Vec<Finished>,
    batch_size: usize,
    handle: Option<std::thread::JoinHandle<(RecordWriter<W>, io::Result<()>)>>,
}

/// Batches in flight between the analysis and the writer thread.
const WRITER_QUEUE: usize = 16;

impl<W: Write + Send + 'static> FlowWriter<W> {
    pub fn spawn(
        format: Format,
        out: W,
        batch_size: usize,
        attributor: Option<Attributor>,
    ) -> io::Result<Self> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Finished>>(WRITER_QUEUE);
        let handle = std::thread::Builder::new()
            .name("writer".into())
            .spawn(move || {
                let mut w = RecordWriter::new(format, out);
                let mut result = Ok(());
                for batch in rx {
                    if result.is_err() {
                        continue;
                    }
                    for (flow, reason) in batch {
                        let rec = match &attributor {
                            Some(at) => FlowRecord::named(&flow, reason, at.attribute(&flow)),
                            None => FlowRecord::from_flow(&flow, reason),
                        };
                        if let Err(e) = w.write(&rec) {
                            result = Err(e);
                            break;
                        }
                    }
                    if result.is_ok() && batch_size <= 1 {
                        result = w.flush();
                    }
                }
                (w, result)
            })?;
        Ok(Self {
            tx: Some(tx),
            batch: Vec::with_capacity(batch_size.max(1)),
            batch_size: batch_size.max(1),
            handle: Some(handle),
        })
    }

    /// Queue one finished flow.
    pub fn push(&mut self, item: Finished) {
        self.batch.push(item);
        if self.batch.len() >= self.batch_size {
            self.send();
        }
    }

    fn send(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let full = std::mem::replace(&mut self.batch, Vec::with_capacity(self.batch_size));
        if let Some(tx) = &self.tx {
            // A send fails only when the writer stopped on an error, reported by `finish`.
            let _ = tx.send(full);
        }
    }

    /// Write what is queued, stop the thread, and hand back the record writer (for the
    /// statistics record) with the first write error, if any.
    pub fn finish(mut self) -> (Option<RecordWriter<W>>, io::Result<()>) {
        self.send();
        self.tx = None;
        match self.handle.take().map(std::thread::JoinHandle::join) {
            Some(Ok((w, r))) => (Some(w), r),
            Some(Err(_)) => (None, Err(io::Error::other("the writer thread panicked"))),
            None => (None, Ok(())),
        }
    }
}

/// Collects finished flows on a thread of its own (deciding each flow's service there) for the
/// activity model, which needs them all.
pub struct FlowCollector {
    tx: Option<std::sync::mpsc::SyncSender<Vec<Finished>>>,
    batch: Vec<Finished>,
    handle: Option<std::thread::JoinHandle<crate::activity::KeptFlows>>,
}

impl FlowCollector {
    /// Keeps at most `cap` flows (see `activity::KeptFlows`).
    pub fn spawn(attributor: Attributor, cap: usize) -> io::Result<Self> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Finished>>(WRITER_QUEUE);
        let handle = std::thread::Builder::new()
            .name("collector".into())
            .spawn(move || {
                let mut out = crate::activity::KeptFlows::new(cap);
                for batch in rx {
                    for (mut flow, reason) in batch {
                        let a = attributor.attribute(&flow);
                        let record = FlowRecord::named(&flow, reason, a);
                        out.offer(crate::activity::FlowSummary {
                            record,
                            media: flow.ext.take_media(),
                        });
                    }
                }
                out
            })?;
        Ok(Self {
            tx: Some(tx),
            batch: Vec::with_capacity(256),
            handle: Some(handle),
        })
    }

    pub fn push(&mut self, item: Finished) {
        self.batch.push(item);
        if self.batch.len() >= 256 {
            let full = std::mem::replace(&mut self.batch, Vec::with_capacity(256));
            if let Some(tx) = &self.tx {
                let _ = tx.send(full);
            }
        }
    }

    /// The collected flows, with the count of those over the cap.
    pub fn finish(mut self) -> io::Result<crate::activity::KeptFlows> {
        let rest = std::mem::take(&mut self.batch);
        if let Some(tx) = self.tx.take() {
            let _ = tx.send(rest);
        }
        match self.handle.take().map(std::thread::JoinHandle::join) {
            Some(Ok(v)) => Ok(v),
            _ => Err(io::Error::other("the collector thread panicked")),
        }
    }
}
