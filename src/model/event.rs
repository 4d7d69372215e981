//! An inferred activity (a call, a message, a transfer, ...) as every later stage and every
//! output sees it.
//!
//! Events are made only by the activity model; the observer and the views read them. Their
//! serialized form is the documented `onlooker events` format (docs/formats.md).

/// One inferred activity.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Event {
    pub id: u64,
    pub kind: &'static str,
    pub service: Option<String>,
    pub start_ts: f64,
    pub end_ts: f64,
    pub direction: &'static str,
    pub bytes_out: u64,
    pub bytes_in: u64,
    pub packets_out: u64,
    pub packets_in: u64,
    /// The flows it rests on, as "proto client server first_ts".
    pub flows: Vec<String>,
    pub peer_ip: Option<String>,
    pub peer_asn: Option<u32>,
    pub peer_as_org: Option<String>,
    pub peer_country: Option<String>,
    pub peer_city: Option<String>,
    /// "relay" or "direct" for calls.
    pub peer_kind: Option<&'static str>,
    /// Size class of media transfers: voice_note, photo, video, document.
    pub size_class: Option<&'static str>,
    pub confidence: f64,
    pub evidence: String,
}
