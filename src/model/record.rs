//! The record of one finished flow, as every later stage and every output sees it.
//!
//! It exists so that naming, activity, the observer and the views share one plain value instead
//! of reaching into the flow table's state. It must never hold payload bytes, and its field
//! names and meanings are the documented output format (docs/formats.md): changing one is a
//! breaking change for people's scripts.

use std::net::SocketAddr;

use serde::Serialize;

use super::{FlowRef, Proto, Role};
use crate::flow::{EndReason, Flow, tcp_flags_str};

/// One flow as exported.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FlowRecord {
    pub proto: Proto,
    /// `ip:port`, IPv6 in brackets (`[2001:db8::1]:443`) when written.
    pub client: SocketAddr,
    pub server: SocketAddr,
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
    pub service_role: Option<Role>,
    /// Evidence, strongest first; each is written as its text ("sni:mmg.whatsapp.net",
    /// "stun-attr:0x4000", ...).
    pub service_evidence: Vec<crate::model::Evidence>,
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

impl Default for FlowRecord {
    /// An empty record between unspecified sockets (a base for test fixtures).
    fn default() -> Self {
        let any = SocketAddr::from(([0, 0, 0, 0], 0));
        Self {
            proto: Proto::default(),
            client: any,
            server: any,
            first_ts: 0.0,
            last_ts: 0.0,
            packets_up: 0,
            packets_down: 0,
            bytes_up: 0,
            bytes_down: 0,
            tcp_flags: String::new(),
            end_reason: "",
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
            client_ttl: None,
            syn_window: None,
            syn_options: None,
            syn_mss: None,
            syn_wscale: None,
            company_services: std::sync::Arc::default(),
        }
    }
}

impl FlowRecord {
    /// The reference other values name this flow by.
    pub fn flow_ref(&self) -> FlowRef {
        FlowRef {
            proto: self.proto,
            client: self.client,
            server: self.server,
            first_ts: self.first_ts,
        }
    }

    pub fn from_flow<T>(flow: &Flow<T>, reason: EndReason) -> Self {
        Self {
            proto: Proto(flow.proto()),
            client: SocketAddr::from(flow.client()),
            server: SocketAddr::from(flow.server()),
            first_ts: flow.first_ts.as_secs_f64(),
            last_ts: flow.last_ts.as_secs_f64(),
            packets_up: flow.up.packets,
            packets_down: flow.down.packets,
            bytes_up: flow.up.bytes,
            bytes_down: flow.down.bytes,
            tcp_flags: tcp_flags_str(flow.tcp_flags()),
            end_reason: reason.as_str(),
            client_ttl: flow.client_ttl,
            syn_window: flow.client_syn.map(|(w, _)| w),
            syn_options: flow.client_syn.map(|(_, o)| o.layout()),
            syn_mss: flow.client_syn.and_then(|(_, o)| o.mss),
            syn_wscale: flow.client_syn.and_then(|(_, o)| o.wscale),
            ..Self::default()
        }
    }
}
