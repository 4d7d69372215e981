//! The model's rows: every section of the report as it is serialized (JSON) and read by the
//! text and Markdown views and the dashboard.

use serde::Serialize;

use super::device;
use super::words::ZoneInfo;
use crate::model::EventKind;

/// One thing the observer learned.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Finding {
    /// How revealing it is, 0 to 1; findings are ordered by it, highest first.
    pub score: f64,
    /// One plain sentence ("Tue 21:04-21:37: a 33-minute WhatsApp video call, direct to ...").
    pub sentence: String,
    /// The events it rests on.
    pub events: Vec<u64>,
    /// The flows it rests on, as events name them ("proto client server first_ts").
    pub flows: Vec<String>,
    /// What it is about: `direct_call`, `call`, `call_attempt`, `media`, `messages`, `rhythm`,
    /// `days`, `service`, `destinations`, `dns`, `local_names`, `tls`, `device`, or the kind of
    /// an event the activity model reports that the observer has no wording of its own for.
    pub kind: String,
    /// Key of the mitigation that applies (see [`Model::mitigations`]).
    pub mitigation: String,
    /// When it starts (seconds since 1970), if it is about a time.
    pub start_ts: Option<f64>,
}

/// How findings are worded.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Time zone for times in sentences (IANA name); the local zone when `None`.
    pub tz: Option<String>,
    /// Hide addresses and host names of the local side and of direct peers.
    pub redact: bool,
}

/// The whole model: every section of the report.
#[derive(Clone, Debug, Serialize)]
pub struct Model {
    pub zone: ZoneInfo,
    pub capture: Capture,
    /// Whether any messaging traffic (chat, media or call flows of a messaging service, or
    /// any messaging activity, including a call or call attempt of a service left unnamed) was
    /// seen.
    pub messaging_traffic: bool,
    pub redacted: bool,
    pub headline: Vec<Finding>,
    pub findings: Vec<Finding>,
    pub services: Vec<ServiceRow>,
    pub rhythm: Rhythm,
    pub calls: Vec<CallRow>,
    pub messages: Messages,
    pub media: Vec<MediaRow>,
    pub destinations: Vec<DestRow>,
    pub leaks: Leaks,
    pub other_activities: Vec<OtherRow>,
    pub mitigations: Vec<Mitigation>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Capture {
    pub first_ts: Option<f64>,
    pub last_ts: Option<f64>,
    pub first: Option<String>,
    pub last: Option<String>,
    /// "Tue 25 Jun 2019 09:41 to Tue 25 Jun 2019 09:42".
    pub span: Option<String>,
    pub duration_secs: f64,
    pub flows: u64,
    pub events: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct ServiceRow {
    pub service: String,
    /// `messaging` (a service named from its own hosts, ranges, ports or markers) or
    /// `company` (only the network of the company behind it is known).
    pub kind: &'static str,
    pub first_ts: f64,
    pub last_ts: f64,
    pub first: String,
    pub last: String,
    /// Time covered by its online sessions (stretches of calls, messages and media).
    pub active_secs: f64,
    pub flows: u64,
    pub bytes_up: u64,
    pub bytes_down: u64,
    /// How its flows were recognised, most flows first, in words.
    pub recognised_by: Vec<String>,
    pub roles: Vec<String>,
    pub events: Vec<u64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Rhythm {
    pub sessions: Vec<SessionRow>,
    /// Messaging activities (calls and call attempts, messages and media both ways; not
    /// sessions, pushes, probing or kinds the observer has no wording for) starting in each
    /// local hour of the day, 0 to 23.
    pub by_hour: Vec<u64>,
    /// Whether the capture is long enough ([`DAYS_MIN_SPAN_SECS`](super::DAYS_MIN_SPAN_SECS))
    /// for first and last activity per day, and holds any act of the user.
    pub days_shown: bool,
    pub days: Vec<DayRow>,
}

#[derive(Clone, Debug, Serialize)]
pub struct SessionRow {
    pub event: u64,
    pub service: String,
    pub start_ts: f64,
    pub end_ts: f64,
    pub span: String,
    pub duration_secs: f64,
}

/// One waking day (from [`words::DAY_START_HOUR`](super::words::DAY_START_HOUR) to the same
/// hour the next day) with the user's own activity in it.
#[derive(Clone, Debug, Serialize)]
pub struct DayRow {
    /// The date the waking day starts on ("Tue 1 Dec 2026").
    pub date: String,
    /// The day's first and last act of the user ([`USER_ACT_KINDS`](super::USER_ACT_KINDS)).
    pub first_ts: f64,
    pub last_ts: f64,
    /// Their local times ("07:12"; the last may fall after midnight, on the next date).
    pub first: String,
    pub last: String,
    /// Acts of the user in the day.
    pub activities: u64,
    /// The capture was running when the day began, so its first act hints at waking.
    pub wake_hint: bool,
    /// The capture was still running when the day ended, so its last act hints at sleep.
    pub sleep_hint: bool,
    /// The first or the last act fell after midnight, on the date after `date`.
    pub first_next_date: bool,
    pub last_next_date: bool,
    /// The waking day's bounds.
    pub day_start_ts: f64,
    pub day_end_ts: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct CallRow {
    pub event: u64,
    pub service: Option<String>,
    /// `voice_call`, `video_call`, `call_attempt`.
    pub kind: String,
    pub start_ts: f64,
    pub end_ts: f64,
    pub start: String,
    pub duration_secs: f64,
    /// `voice`, `video`, or `none` for an attempt.
    pub media: &'static str,
    /// `relay`, `direct`, or `unknown`.
    pub path: &'static str,
    /// The relay's or the peer's address (a direct peer's is hidden with `--redact`).
    pub peer_ip: Option<String>,
    pub network: Option<String>,
    pub asn: Option<u32>,
    pub country: Option<String>,
    pub city: Option<String>,
    pub flows: Vec<String>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Messages {
    pub per_service: Vec<MsgService>,
    pub per_hour: Vec<MsgHour>,
    pub conversations: Vec<Conversation>,
}

#[derive(Clone, Debug, Serialize)]
pub struct MsgService {
    pub service: String,
    pub sent: u64,
    pub received: u64,
    pub first_ts: f64,
    pub last_ts: f64,
    pub span: String,
    pub conversations: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct MsgHour {
    /// Start of the local hour, and as text ("Tue 21:00").
    pub hour_ts: f64,
    pub hour: String,
    pub service: String,
    pub sent: u64,
    pub received: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Conversation {
    pub service: String,
    pub start_ts: f64,
    pub end_ts: f64,
    pub span: String,
    pub sent: u64,
    pub received: u64,
    /// Changes of direction (a message answered by one the other way).
    pub turns: u64,
    pub events: Vec<u64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct MediaRow {
    pub event: u64,
    pub service: Option<String>,
    /// `upload` or `download`.
    pub direction: &'static str,
    pub start_ts: f64,
    pub start: String,
    pub duration_secs: f64,
    pub bytes: u64,
    /// The activity model's size class (`voice_note`, `photo`, `video`, `document`).
    pub size_class: Option<String>,
    /// The likely kind, in words ("a photo"): a guess from the size alone.
    pub likely: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct DestRow {
    pub service: String,
    pub countries: Vec<CountryRow>,
    pub networks: Vec<NetworkRow>,
}

#[derive(Clone, Debug, Serialize)]
pub struct CountryRow {
    pub code: String,
    pub name: String,
    pub flows: u64,
    pub bytes: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct NetworkRow {
    pub network: String,
    pub flows: u64,
    pub bytes: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Leaks {
    /// Names asked in clear DNS.
    pub dns: NameList,
    /// Names announced or asked on the local network (mDNS, LLMNR).
    pub local_names: NameList,
    /// Server names readable in TLS or QUIC ClientHellos.
    pub tls: NameList,
    /// ClientHellos with Encrypted Client Hello, by the outer (cover) name they showed.
    pub ech: NameList,
    /// Flows of encrypted DNS (DNS over TLS or QUIC, DNS over HTTPS to a known resolver).
    pub encrypted_dns_flows: u64,
    /// Direct calls: the peer's address, network and place the observer learned.
    pub direct_peers: Vec<PeerRow>,
    /// Events whose kind says probing (from the activity model), if any.
    pub probing: Vec<OtherRow>,
    pub device_hints: Vec<device::DeviceHint>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct NameList {
    /// Distinct names (including those hidden by `--redact`).
    pub total: usize,
    /// Names hidden by `--redact` (names of the local side).
    pub hidden: usize,
    /// Names not kept because of the digest's cap, counted in flows.
    pub dropped_flows: u64,
    pub names: Vec<NameRow>,
}

#[derive(Clone, Debug, Serialize)]
pub struct NameRow {
    pub name: String,
    pub service: Option<String>,
    pub flows: u64,
    pub first_ts: f64,
    pub quic: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct PeerRow {
    pub event: u64,
    pub service: Option<String>,
    pub ip: Option<String>,
    pub network: Option<String>,
    pub country: Option<String>,
    pub city: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct OtherRow {
    pub event: u64,
    pub kind: EventKind,
    pub service: Option<String>,
    pub start_ts: f64,
    pub start: String,
    pub duration_secs: f64,
    pub evidence: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Mitigation {
    pub key: &'static str,
    pub title: &'static str,
    pub text: &'static str,
    /// Positions in `findings` it applies to.
    pub findings: Vec<usize>,
}
