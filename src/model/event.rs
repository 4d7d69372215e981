//! An inferred activity (a call, a message, a transfer, ...) as every later stage and every
//! output sees it.
//!
//! Events are made only by the activity model; the observer and the views read them. Their
//! serialized form is the documented `onlooker events` format (docs/formats.md).

use std::net::IpAddr;

use super::{Direction, EventKind, FlowRef, PeerKind, SizeClass};

/// One inferred activity.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Event {
    pub id: u64,
    pub kind: EventKind,
    pub service: Option<String>,
    pub start_ts: f64,
    pub end_ts: f64,
    pub direction: Direction,
    pub bytes_out: u64,
    pub bytes_in: u64,
    pub packets_out: u64,
    pub packets_in: u64,
    /// The flows it rests on (written "proto client server first_ts").
    pub flows: Vec<FlowRef>,
    pub peer_ip: Option<IpAddr>,
    pub peer_asn: Option<u32>,
    pub peer_as_org: Option<String>,
    pub peer_country: Option<String>,
    pub peer_city: Option<String>,
    /// Relay or direct, for calls.
    pub peer_kind: Option<PeerKind>,
    /// Size class of media transfers.
    pub size_class: Option<SizeClass>,
    pub confidence: f64,
    pub evidence: String,
}
