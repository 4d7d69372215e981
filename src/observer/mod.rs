//! The observer model: from flows and events to what a person on the path now knows about the
//! user, as ranked findings, each resting on evidence (event ids and flows).
//!
//! The report (`onlooker report`) and the dashboard's Observer tab both read this model, so
//! they always agree: [`Model::build`] makes every section the report prints, and
//! [`headline`] returns the same top findings. The wording lives here too ([`words`]), so the
//! dashboard shows the same sentences.
//!
//! This module must never invent a claim without evidence, and never decide anything the
//! activity model or the naming did not (it words and ranks; it does not infer). Same input,
//! same model: every collection is ordered, and ties are broken by time and then by text.
//! Flows reach it folded into a bounded [`digest::Digest`], never as a list it keeps.

pub mod countries;
pub mod device;
pub mod digest;
pub mod redact;
pub mod words;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use serde::Serialize;

use crate::model::{Event, EventKind, FlowRef, PeerKind};
use crate::naming::geo::is_local;
use crate::model::FlowRecord;
use digest::{Digest, NameAgg};
use redact::Redactor;
use words::{Zone, ZoneInfo};

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

/// Findings in the headline: the issue asks for the five to seven most revealing.
pub const HEADLINE_MAX: usize = 7;
/// At most this many findings of one kind in the headline, so that ten media transfers do not
/// push the call and the messaging rhythm out of it.
pub const HEADLINE_PER_KIND: usize = 2;

/// How revealing each kind of finding is, 0 to 1. The order is the issue's: a direct call
/// exposing the peer's address > a call > media > the messaging rhythm > services used >
/// DNS/SNI leaks. The values are a ranking, not a measurement.
pub mod score {
    pub const DIRECT_CALL: f64 = 0.95;
    pub const VIDEO_CALL: f64 = 0.88;
    pub const VOICE_CALL: f64 = 0.85;
    pub const MEDIA: f64 = 0.72;
    pub const MESSAGES: f64 = 0.68;
    pub const CALL_ATTEMPT: f64 = 0.62;
    pub const DAYS: f64 = 0.60;
    pub const RHYTHM: f64 = 0.56;
    /// An event kind the observer has no wording of its own for.
    pub const OTHER_ACTIVITY: f64 = 0.52;
    /// Typing indicators and read receipts: the activity model gives them 0.3-0.5 confidence
    /// (docs/activity-model.md), so they rank below every finding the observer is sure of and
    /// never push a call, a message run or a push wakeup out of the headline.
    pub const SIZE_HINT: f64 = 0.28;
    pub const SERVICE_ACTIVE: f64 = 0.50;
    pub const SERVICE_CONTACTED: f64 = 0.46;
    pub const DESTINATIONS: f64 = 0.42;
    pub const SERVICE_DNS_ONLY: f64 = 0.40;
    pub const DNS: f64 = 0.36;
    pub const TLS: f64 = 0.34;
    pub const LOCAL_NAMES: f64 = 0.30;
    pub const DEVICE: f64 = 0.25;
    /// Added within a kind for longer calls and larger transfers (at most), so that the
    /// biggest of a kind comes first.
    pub const SIZE_BONUS: f64 = 0.03;
    /// Added to a call's score when it went direct to a private address: the observer learns
    /// that the peer is nearby, but no network or place (so it stays below [`DIRECT_CALL`]).
    pub const PRIVATE_PEER: f64 = 0.02;
}

/// Messages of one service less than this apart belong to one conversation. A choice, not a
/// measurement: replies in the corpus's labelled WhatsApp chats (wissamnd/whatsappCall) come
/// 10 to 60 s apart, and a pause of three minutes reads as a new conversation.
pub const CONVERSATION_GAP_SECS: f64 = 180.0;
/// First and last activity per day are shown when the capture covers at least this long: a
/// night's quiet and a day's activity must both fit in it for them to hint at sleep (a
/// capture of a few hours around 04:00 would otherwise "show" a night of minutes).
pub const DAYS_MIN_SPAN_SECS: f64 = 20.0 * 3600.0;
/// Event kinds that show the user at the device, the only ones wake and sleep hints rest on:
/// something sent (a message, media) or a call answered (media both ways). A message or media
/// received, a call attempt (it may be one that rang unanswered), a push wakeup, a keep-alive
/// or probing all happen while the user sleeps, and would move "wake" earlier and "sleep"
/// later: they say when others or the servers were active.
pub const USER_ACT_KINDS: [EventKind; 4] = [
    EventKind::MessageOut,
    EventKind::MediaUpload,
    EventKind::VoiceCall,
    EventKind::VideoCall,
];
/// Days whose times one sentence lists; a longer capture's further days are counted.
const DAYS_IN_SENTENCE: usize = 7;
/// Device hints shown: the clients with the most flows.
pub const MAX_DEVICE_HINTS: usize = 3;
/// Names quoted in one sentence.
const NAMES_IN_SENTENCE: usize = 4;
/// Flows cited by one finding (the rest are in its events).
const MAX_FLOW_REFS: usize = 16;

/// Event kinds read from record sizes alone, with low confidence (see [`score::SIZE_HINT`]).
const SIZE_HINT_KINDS: [EventKind; 2] = [EventKind::TypingIndicator, EventKind::ReadReceipt];

/// Event kinds the observer words itself; any other kind is reported generically.
const KNOWN_KINDS: [EventKind; 8] = [
    EventKind::VoiceCall,
    EventKind::VideoCall,
    EventKind::CallAttempt,
    EventKind::MessageOut,
    EventKind::MessageIn,
    EventKind::MediaUpload,
    EventKind::MediaDownload,
    EventKind::OnlineSession,
];

/// The whole model: every section of the report.
#[derive(Clone, Debug, Serialize)]
pub struct Model {
    pub zone: ZoneInfo,
    pub capture: Capture,
    /// Whether any messaging traffic (chat, media or call flows of a messaging service, or
    /// any messaging activity) was seen.
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
    /// Whether the capture is long enough ([`DAYS_MIN_SPAN_SECS`]) for first and last activity
    /// per day, and holds any act of the user.
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

/// One waking day (from [`words::DAY_START_HOUR`] to the same hour the next day) with the
/// user's own activity in it.
#[derive(Clone, Debug, Serialize)]
pub struct DayRow {
    /// The date the waking day starts on ("Tue 1 Dec 2026").
    pub date: String,
    /// The day's first and last act of the user ([`USER_ACT_KINDS`]).
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

/// Mitigations, keyed as findings name them: what would have hidden a finding, with its limits.
pub const MITIGATIONS: [(&str, &str, &str); 7] = [
    (
        "relay_calls",
        "Relay-only calls",
        "In WhatsApp: Settings > Privacy > Advanced > Protect IP address in calls. In Signal: \
         Settings > Privacy > Advanced > Always relay calls. Calls then run through the \
         service's servers, so neither the peer nor an observer learns the other side's address, \
         network or place. The observer still sees that a call happened, when, for how long and \
         whether it carried video; relayed calls can sound slightly worse.",
    ),
    (
        "timing_volume",
        "Timing and volume",
        "No app setting hides these: end-to-end encryption protects what is said, not when, how \
         much, or with which service. A VPN moves the observer but does not remove it: the local \
         network and the ISP then see one encrypted tunnel (whose timing and volume still show \
         calls and transfers), and the VPN provider sees everything they saw before. Padding and \
         cover traffic (dummy traffic at a constant rate) would blur these patterns; mainstream \
         messengers do not offer them.",
    ),
    (
        "encrypted_dns",
        "Encrypted DNS",
        "Encrypted DNS (Android's Private DNS, DNS over HTTPS in the browser or an iOS/macOS \
         profile) hides the names from the local network and the ISP. The chosen resolver still \
         sees every name, and the addresses contacted afterwards still point at the service's \
         network.",
    ),
    (
        "ech",
        "Encrypted Client Hello",
        "Encrypted Client Hello hides the server name in TLS and QUIC handshakes, but only when \
         both the app and the server support it, which most messaging services do not yet. The \
         server's address and network still name the company.",
    ),
    (
        "vpn_destinations",
        "Hiding who is contacted",
        "Which services and countries are contacted shows in the server addresses themselves. \
         Only a VPN or Tor hides them from the local network and the ISP, and the VPN provider \
         (or the Tor exit) then sees them instead.",
    ),
    (
        "local_names",
        "Local-network names",
        "mDNS and LLMNR names stay on the local network, but everyone on it reads them. Give the \
         device a name that does not identify its owner; a VPN does not hide these.",
    ),
    (
        "device_os",
        "Device fingerprints",
        "These hints come from the operating system's network stack: no app setting changes \
         them, and a VPN leaves them readable on the tunnel's own packets. They are guesses: a \
         NAT, a tethering phone or a VPN can change the TTL or the TCP options.",
    ),
];

/// The most revealing findings, highest first.
pub fn headline<'a>(
    flows: impl IntoIterator<Item = &'a FlowRecord>,
    events: &[Event],
    opts: &Options,
) -> Vec<Finding> {
    let digest = Digest::from_flows(flows);
    let zone = Zone::resolve(opts.tz.as_deref()).unwrap_or_else(|_| Zone::utc());
    Model::build(&digest, events, &zone, opts.redact).headline
}

/// The address of a call's other side. The event names the server side of its busiest flow;
/// when a direct leg was opened from the far end, that side is the device itself (a local
/// address), and the flow's other endpoint, the one the event's network and place describe,
/// is the peer.
pub fn call_peer(e: &Event) -> Option<IpAddr> {
    let ip = e.peer_ip?;
    if e.peer_kind != Some(PeerKind::Direct) || !is_local(ip) {
        return Some(ip);
    }
    e.flows
        .iter()
        .find(|f| f.server.ip() == ip && !is_local(f.client.ip()))
        .map_or(Some(ip), |f| Some(f.client.ip()))
}

fn is_call(kind: EventKind) -> bool {
    kind.is_call()
}

fn service_name(s: Option<&str>) -> &str {
    s.unwrap_or("an unidentified service")
}

/// "a WhatsApp", "an Instagram", "a" (no service named) before a noun.
fn with_article(s: Option<&str>) -> String {
    match s {
        Some(name) => format!("{} {name}", words::article(name)),
        None => "a".to_string(),
    }
}

/// Names of the local side that `--redact` hides: reverse lookups of addresses and names of
/// local-only domains (RFC 6762 `.local`, RFC 8375 `home.arpa`, and common router suffixes).
fn local_side_name(name: &str) -> bool {
    [
        ".in-addr.arpa",
        ".ip6.arpa",
        ".local",
        ".home.arpa",
        ".lan",
        ".home",
        ".internal",
        ".localdomain",
    ]
    .iter()
    .any(|s| name.ends_with(s))
}

/// Deduplicated flow references of some events, in order, at most [`MAX_FLOW_REFS`].
fn flows_of<'e>(events: impl IntoIterator<Item = &'e Event>) -> Vec<String> {
    let mut seen: BTreeSet<FlowRef> = BTreeSet::new();
    let mut out = Vec::new();
    for e in events {
        for f in &e.flows {
            if out.len() < MAX_FLOW_REFS && seen.insert(*f) {
                out.push(f.to_string());
            }
        }
    }
    out
}

/// "a, b and c".
fn list_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [a] => a.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Builds the model; one value per run, then dropped.
struct Builder<'a> {
    digest: &'a Digest,
    events: &'a [Event],
    zone: &'a Zone,
    red: Redactor,
    findings: Vec<Finding>,
}

impl Model {
    /// Every section, from the digest of all flows and the events of the activity model.
    pub fn build(digest: &Digest, events: &[Event], zone: &Zone, redact: bool) -> Self {
        let zone = &zone.for_span(digest.first_ts, digest.last_ts);
        let mut red = Redactor::off();
        if redact {
            // Peers first: a peer that opened the direct leg is also a flow's client.
            for e in events {
                if e.peer_kind == Some(PeerKind::Direct) {
                    if let Some(ip) = call_peer(e) {
                        red.peer(ip);
                    }
                }
            }
            for ip in digest.clients.keys() {
                red.device(*ip);
            }
            if digest.clients_dropped > 0 {
                red.hide_all_local();
            }
            // Redaction must hide something even when no client was recorded.
            red.hide_all_local();
        }
        let mut b = Builder {
            digest,
            events,
            zone,
            red,
            findings: Vec::new(),
        };
        let calls = b.calls();
        let media = b.media();
        let messages = b.messages();
        let rhythm = b.rhythm();
        let services = b.services();
        let destinations = b.destinations();
        let other_activities = b.other_activities();
        let leaks = b.leaks(&calls, &other_activities);
        let mut findings = std::mem::take(&mut b.findings);
        for f in &mut findings {
            f.sentence = b.red.text(&f.sentence);
            f.flows = f.flows.iter().map(|x| b.red.text(x)).collect();
        }
        findings.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then(
                    a.start_ts
                        .unwrap_or(f64::MAX)
                        .total_cmp(&b.start_ts.unwrap_or(f64::MAX)),
                )
                .then(a.sentence.cmp(&b.sentence))
        });
        let headline = pick_headline(&findings);
        let mitigations = MITIGATIONS
            .iter()
            .filter_map(|(key, title, text)| {
                let idx: Vec<usize> = findings
                    .iter()
                    .enumerate()
                    .filter(|(_, f)| f.mitigation == *key)
                    .map(|(i, _)| i)
                    .collect();
                (!idx.is_empty()).then_some(Mitigation {
                    key,
                    title,
                    text,
                    findings: idx,
                })
            })
            .collect();
        let messaging_traffic = services.iter().any(|s| {
            s.kind == "messaging"
                && s.roles
                    .iter()
                    .any(|r| matches!(r.as_str(), "chat" | "media" | "call"))
        }) || events
            .iter()
            .any(|e| e.kind != EventKind::OnlineSession && e.service.is_some());
        let (first, last) = (digest.first_ts, digest.last_ts);
        Model {
            zone: zone.info.clone(),
            capture: Capture {
                first_ts: first,
                last_ts: last,
                first: first.map(|t| zone.rfc3339(t)),
                last: last.map(|t| zone.rfc3339(t)),
                span: first.zip(last).map(|(a, b)| {
                    if zone.day_key(a) == zone.day_key(b) {
                        format!("{} {} to {}", zone.date(a), zone.time(a), zone.time(b))
                    } else {
                        format!(
                            "{} {} to {} {}",
                            zone.date(a),
                            zone.time(a),
                            zone.date(b),
                            zone.time(b)
                        )
                    }
                }),
                duration_secs: match (first, last) {
                    (Some(a), Some(b)) => (b - a).max(0.0),
                    _ => 0.0,
                },
                flows: digest.flows,
                events: events.len(),
            },
            messaging_traffic,
            redacted: redact,
            headline,
            findings,
            services,
            rhythm,
            calls,
            messages,
            media,
            destinations,
            leaks,
            other_activities,
            mitigations,
        }
    }
}

fn pick_headline(sorted: &[Finding]) -> Vec<Finding> {
    let mut per_kind: BTreeMap<&str, usize> = BTreeMap::new();
    let mut out = Vec::new();
    for f in sorted {
        if out.len() >= HEADLINE_MAX {
            break;
        }
        // Two events worded alike (two streams of one call the activity model did not join)
        // would read as a repeated line; the second stays in the full list.
        if out.iter().any(|o: &Finding| o.sentence == f.sentence) {
            continue;
        }
        let n = per_kind.entry(f.kind.as_str()).or_default();
        if *n < HEADLINE_PER_KIND {
            *n += 1;
            out.push(f.clone());
        }
    }
    out
}

impl<'a> Builder<'a> {
    fn push(&mut self, f: Finding) {
        self.findings.push(f);
    }

    fn events_of(&self, pred: impl Fn(&Event) -> bool) -> Vec<&'a Event> {
        let events: &'a [Event] = self.events;
        events.iter().filter(|e| pred(e)).collect()
    }

    fn calls(&mut self) -> Vec<CallRow> {
        let mut rows = Vec::new();
        for e in self.events_of(|e| is_call(e.kind) || e.kind == EventKind::CallAttempt) {
            let dur = (e.end_ts - e.start_ts).max(0.0);
            let path = match e.peer_kind {
                Some(PeerKind::Relay) => "relay",
                Some(PeerKind::Direct) => "direct",
                _ => "unknown",
            };
            let media = match e.kind {
                EventKind::VideoCall => "video",
                EventKind::VoiceCall => "voice",
                _ => "none",
            };
            let network = words::network(e.peer_asn, e.peer_as_org.as_deref());
            let place = words::place(e.peer_city.as_deref(), e.peer_country.as_deref());
            let peer = call_peer(e);
            // A private peer address names no network or place: the peer is on the same local
            // network (or reached through a VPN).
            let private_peer = peer.is_some_and(is_local);
            let where_ = |prefix: &str| {
                let mut s = prefix.to_string();
                if let Some(n) = &network {
                    s.push_str(&format!(" on the {n} network"));
                }
                if let Some(p) = &place {
                    s.push_str(&format!(" in {p}"));
                }
                s
            };
            let (sentence, kind, mitigation, score) = if e.kind == EventKind::CallAttempt {
                (
                    format!(
                        "{}: {} call attempt, {} of call set-up and connectivity checks without \
                         media (a call placed or received but not answered, or one that failed).",
                        self.zone.day_time(e.start_ts),
                        with_article(e.service.as_deref()),
                        words::duration(dur)
                    ),
                    "call_attempt",
                    "timing_volume",
                    score::CALL_ATTEMPT,
                )
            } else {
                let what = match e.service.as_deref() {
                    Some(name) => format!(
                        "{}: {} {name} {media} call",
                        self.zone.span(e.start_ts, e.end_ts),
                        words::duration_adj(dur),
                    ),
                    None => format!(
                        "{}: {} {media} call (service not identified)",
                        self.zone.span(e.start_ts, e.end_ts),
                        words::duration_adj(dur),
                    ),
                };
                let bonus = score::SIZE_BONUS * (dur / 3600.0).min(1.0);
                match path {
                    "direct" if private_peer => (
                        format!(
                            "{what}, direct to a device at {}, a private address: the peer is \
                             on the same local network or reached through a VPN.",
                            peer.map_or_else(|| "a private address".to_string(), |p| p.to_string())
                        ),
                        "direct_call",
                        "relay_calls",
                        // Less revealing than a public peer (no network, no place), more than
                        // a relayed call (the peer is nearby).
                        if media == "video" {
                            score::VIDEO_CALL
                        } else {
                            score::VOICE_CALL
                        } + score::PRIVATE_PEER
                            + bonus,
                    ),
                    "direct" => {
                        let at = peer
                            .map(|ip| format!("direct to a device at {ip}"))
                            .unwrap_or_else(|| "direct to the peer's device".into());
                        let exposed = match (network.is_some(), place.is_some()) {
                            (true, true) => "the peer's address, network and place are exposed",
                            (true, false) => "the peer's address and network are exposed",
                            (false, true) => "the peer's address and place are exposed",
                            (false, false) => "the peer's address is exposed",
                        };
                        (
                            format!("{what}, {}: {exposed}.", where_(&at)),
                            "direct_call",
                            "relay_calls",
                            score::DIRECT_CALL + bonus,
                        )
                    }
                    "relay" => (
                        format!("{what}, {}.", where_("through a relay")),
                        "call",
                        "timing_volume",
                        if media == "video" {
                            score::VIDEO_CALL
                        } else {
                            score::VOICE_CALL
                        } + bonus,
                    ),
                    _ => (
                        format!("{what}."),
                        "call",
                        "timing_volume",
                        score::VOICE_CALL + bonus,
                    ),
                }
            };
            self.push(Finding {
                score: score.min(1.0),
                sentence,
                events: vec![e.id],
                flows: e.flows.iter().take(MAX_FLOW_REFS).map(ToString::to_string).collect(),
                kind: kind.into(),
                mitigation: mitigation.into(),
                start_ts: Some(e.start_ts),
            });
            let peer_ip = peer.map(|ip| self.red.text(&ip.to_string()));
            rows.push(CallRow {
                event: e.id,
                service: e.service.clone(),
                kind: e.kind.to_string(),
                start_ts: e.start_ts,
                end_ts: e.end_ts,
                start: self.zone.day_time(e.start_ts),
                duration_secs: dur,
                media,
                path,
                peer_ip,
                network,
                asn: e.peer_asn,
                country: e.peer_country.clone(),
                city: e.peer_city.clone(),
                flows: e.flows.iter().map(|f| self.red.text(&f.to_string())).collect(),
            });
        }
        rows
    }

    fn media(&mut self) -> Vec<MediaRow> {
        let mut rows = Vec::new();
        for e in self.events_of(|e| e.kind == EventKind::MediaUpload || e.kind == EventKind::MediaDownload) {
            let up = e.kind == EventKind::MediaUpload;
            let bytes = if up { e.bytes_out } else { e.bytes_in };
            let likely = words::size_class(e.size_class).to_string();
            let what = if up { "upload" } else { "download" };
            let sentence = match e.service.as_deref() {
                Some(name) => format!(
                    "{}: {} {name} {what} of {}, likely {likely}.",
                    self.zone.day_time(e.start_ts),
                    words::article(name),
                    words::bytes(bytes),
                ),
                None => format!(
                    "{}: {} {what} of {} (service not identified), likely {likely}.",
                    self.zone.day_time(e.start_ts),
                    words::article(what),
                    words::bytes(bytes),
                ),
            };
            let bonus = score::SIZE_BONUS * ((bytes as f64).max(1.0).log10() / 9.0).min(1.0);
            self.push(Finding {
                score: score::MEDIA + bonus,
                sentence,
                events: vec![e.id],
                flows: e.flows.iter().map(ToString::to_string).collect(),
                kind: "media".into(),
                mitigation: "timing_volume".into(),
                start_ts: Some(e.start_ts),
            });
            rows.push(MediaRow {
                event: e.id,
                service: e.service.clone(),
                direction: if up { "upload" } else { "download" },
                start_ts: e.start_ts,
                start: self.zone.day_time(e.start_ts),
                duration_secs: (e.end_ts - e.start_ts).max(0.0),
                bytes,
                size_class: e.size_class.map(|c| c.to_string()),
                likely,
            });
        }
        rows
    }

    fn messages(&mut self) -> Messages {
        let mut by_service: BTreeMap<String, Vec<&Event>> = BTreeMap::new();
        for e in self.events_of(|e| e.kind == EventKind::MessageOut || e.kind == EventKind::MessageIn) {
            by_service
                .entry(service_name(e.service.as_deref()).to_string())
                .or_default()
                .push(e);
        }
        let mut out = Messages::default();
        let mut hours: BTreeMap<(String, String), MsgHour> = BTreeMap::new();
        for (service, evs) in &by_service {
            let sent = evs.iter().filter(|e| e.kind == EventKind::MessageOut).count() as u64;
            let received = evs.len() as u64 - sent;
            let first = evs.iter().map(|e| e.start_ts).fold(f64::MAX, f64::min);
            let last = evs.iter().map(|e| e.end_ts).fold(f64::MIN, f64::max);
            // Conversations: runs of messages less than the gap apart with both directions.
            let mut convs = Vec::new();
            let mut i = 0;
            while i < evs.len() {
                let mut j = i;
                while j + 1 < evs.len()
                    && evs[j + 1].start_ts - evs[j].end_ts <= CONVERSATION_GAP_SECS
                {
                    j += 1;
                }
                let run = &evs[i..=j];
                let s = run.iter().filter(|e| e.kind == EventKind::MessageOut).count() as u64;
                let r = run.len() as u64 - s;
                if s > 0 && r > 0 {
                    let turns = run.windows(2).filter(|w| w[0].kind != w[1].kind).count() as u64;
                    let (a, z) = (run[0].start_ts, run[run.len() - 1].end_ts);
                    convs.push(Conversation {
                        service: service.clone(),
                        start_ts: a,
                        end_ts: z,
                        span: self.zone.span(a, z),
                        sent: s,
                        received: r,
                        turns,
                        events: run.iter().map(|e| e.id).collect(),
                    });
                }
                i = j + 1;
            }
            for e in evs {
                let hour_ts = (e.start_ts / 3600.0).floor() * 3600.0;
                let label = self.zone.hour_label(e.start_ts);
                let h = hours
                    .entry((self.zone.day_key(e.start_ts) + &label, service.clone()))
                    .or_insert_with(|| MsgHour {
                        hour_ts,
                        hour: label.clone(),
                        service: service.clone(),
                        sent: 0,
                        received: 0,
                    });
                if e.kind == EventKind::MessageOut {
                    h.sent += 1;
                } else {
                    h.received += 1;
                }
            }
            let starts: Vec<f64> = evs.iter().map(|e| e.start_ts).collect();
            let mut gaps: Vec<f64> = starts.windows(2).map(|w| w[1] - w[0]).collect();
            gaps.sort_by(f64::total_cmp);
            let rhythm = match gaps.get(gaps.len() / 2) {
                Some(&g) if evs.len() >= 3 && g < 60.0 => ", one every few seconds".to_string(),
                Some(&g) if evs.len() >= 3 && g < 600.0 => {
                    format!(", about one every {}", words::duration(g))
                }
                Some(_) if evs.len() >= 3 => ", spread out over the time".to_string(),
                _ => String::new(),
            };
            let conv_words = match convs.len() {
                0 => String::new(),
                1 => " in one back-and-forth conversation".to_string(),
                n => format!(" in {n} back-and-forth conversations"),
            };
            let counts = match (sent, received) {
                (0, r) => plural(r, "received", "received"),
                (s, 0) => plural(s, "sent", "sent"),
                (s, r) => format!("{s} sent and {r} received"),
            };
            let who = if evs.iter().any(|e| e.service.is_none()) {
                "Messages of an unidentified service".to_string()
            } else {
                format!("{service} messages")
            };
            let sentence = format!(
                "{who} {}: {counts}{rhythm}{conv_words}.",
                self.zone.from_to(first, last),
            );
            self.push(Finding {
                score: score::MESSAGES + if convs.is_empty() { 0.0 } else { 0.01 },
                sentence,
                events: evs.iter().map(|e| e.id).collect(),
                flows: flows_of(evs.iter().copied()),
                kind: "messages".into(),
                mitigation: "timing_volume".into(),
                start_ts: Some(first),
            });
            out.per_service.push(MsgService {
                service: service.clone(),
                sent,
                received,
                first_ts: first,
                last_ts: last,
                span: self.zone.span(first, last),
                conversations: convs.len(),
            });
            out.conversations.extend(convs);
        }
        let mut per_hour: Vec<MsgHour> = hours.into_values().collect();
        per_hour.sort_by(|a, b| {
            a.hour_ts
                .total_cmp(&b.hour_ts)
                .then(a.service.cmp(&b.service))
        });
        out.per_hour = per_hour;
        out.conversations.sort_by(|a, b| {
            a.start_ts
                .total_cmp(&b.start_ts)
                .then(a.service.cmp(&b.service))
        });
        out
    }

    fn rhythm(&mut self) -> Rhythm {
        let sessions: Vec<SessionRow> = self
            .events_of(|e| e.kind == EventKind::OnlineSession)
            .into_iter()
            .map(|e| SessionRow {
                event: e.id,
                service: service_name(e.service.as_deref()).to_string(),
                start_ts: e.start_ts,
                end_ts: e.end_ts,
                span: self.zone.span(e.start_ts, e.end_ts),
                duration_secs: (e.end_ts - e.start_ts).max(0.0),
            })
            .collect();
        // The messaging activities the observer words itself; pushes, probing and kinds it has
        // no wording for (keep-alives, background traffic) say nothing of when the user is up.
        let activities =
            self.events_of(|e| e.kind != EventKind::OnlineSession && KNOWN_KINDS.contains(&e.kind));
        let mut by_hour = vec![0u64; 24];
        for e in &activities {
            if let Some(h) = by_hour.get_mut(self.zone.hour(e.start_ts)) {
                *h += 1;
            }
        }
        // Stretches online across services: sessions that overlap or touch are one stretch.
        let mut sorted: Vec<&SessionRow> = sessions.iter().collect();
        sorted.sort_by(|a, b| a.start_ts.total_cmp(&b.start_ts));
        let mut stretches: Vec<(f64, f64, BTreeSet<String>, Vec<u64>)> = Vec::new();
        for s in sorted {
            match stretches.last_mut() {
                Some(last) if s.start_ts <= last.1 + crate::activity::SESSION_GAP_SECS => {
                    last.1 = last.1.max(s.end_ts);
                    last.2.insert(s.service.clone());
                    last.3.push(s.event);
                }
                _ => stretches.push((
                    s.start_ts,
                    s.end_ts,
                    BTreeSet::from([s.service.clone()]),
                    vec![s.event],
                )),
            }
        }
        if !stretches.is_empty() {
            let parts: Vec<String> = stretches
                .iter()
                .take(4)
                .map(|(a, z, svc, _)| {
                    format!(
                        "{} ({}, {})",
                        self.zone.span(*a, *z),
                        words::duration(z - a),
                        svc.iter().cloned().collect::<Vec<_>>().join(" and ")
                    )
                })
                .collect();
            let more = stretches.len().saturating_sub(4);
            let sentence = if stretches.len() == 1 {
                format!("In active use {}.", list_and(&parts))
            } else {
                format!(
                    "In active use in {} stretches: {}{}.",
                    stretches.len(),
                    parts.join("; "),
                    if more > 0 {
                        format!("; and {more} more")
                    } else {
                        String::new()
                    }
                )
            };
            self.push(Finding {
                score: score::RHYTHM,
                sentence,
                events: stretches.iter().flat_map(|s| s.3.clone()).collect(),
                flows: Vec::new(),
                kind: "rhythm".into(),
                mitigation: "timing_volume".into(),
                start_ts: stretches.first().map(|s| s.0),
            });
        }
        let span = match (self.digest.first_ts, self.digest.last_ts) {
            (Some(a), Some(b)) => b - a,
            _ => 0.0,
        };
        let (cap_first, cap_last) = (
            self.digest.first_ts.unwrap_or(0.0),
            self.digest.last_ts.unwrap_or(0.0),
        );
        let own = self.events_of(|e| USER_ACT_KINDS.contains(&e.kind));
        let days_shown = span >= DAYS_MIN_SPAN_SECS && !own.is_empty();
        let mut days: Vec<DayRow> = Vec::new();
        if days_shown {
            // Per waking day: (start, end, date, first act, last act, acts).
            let mut by_day: BTreeMap<i64, (f64, f64, String, f64, f64, u64)> = BTreeMap::new();
            for e in &own {
                let Some((a, z, date)) = self.zone.waking_day(e.start_ts) else {
                    continue;
                };
                let d = by_day
                    .entry(a as i64)
                    .or_insert((a, z, date, e.start_ts, e.end_ts, 0));
                d.3 = d.3.min(e.start_ts);
                d.4 = d.4.max(e.end_ts);
                d.5 += 1;
            }
            for (_, (a, z, date, first, last, n)) in by_day {
                days.push(DayRow {
                    date,
                    first_ts: first,
                    last_ts: last,
                    first: self.zone.time(first),
                    last: self.zone.time(last),
                    activities: n,
                    // The capture ran through the quiet before the first act and after the
                    // last one: the whole waking day was watched on that side.
                    wake_hint: cap_first <= a,
                    sleep_hint: cap_last >= z,
                    first_next_date: self.zone.day_key(first) != self.zone.day_key(a),
                    last_next_date: self.zone.day_key(last) != self.zone.day_key(a),
                    day_start_ts: a,
                    day_end_ts: z,
                });
            }
            let wakes: Vec<String> = days
                .iter()
                .filter(|d| d.wake_hint)
                .map(|d| self.zone.day_time(d.first_ts))
                .collect();
            let sleeps: Vec<String> = days
                .iter()
                .filter(|d| d.sleep_hint)
                .map(|d| self.zone.day_time(d.last_ts))
                .collect();
            let listed = |v: &[String]| -> String {
                if v.len() <= DAYS_IN_SENTENCE {
                    list_and(v)
                } else {
                    format!(
                        "{} and {} more",
                        v[..DAYS_IN_SENTENCE].join(", "),
                        v.len() - DAYS_IN_SENTENCE
                    )
                }
            };
            let parts: Vec<String> = [
                (!wakes.is_empty()).then(|| format!("began at {}", listed(&wakes))),
                (!sleeps.is_empty()).then(|| format!("ended at {}", listed(&sleeps))),
            ]
            .into_iter()
            .flatten()
            .collect();
            if !parts.is_empty() {
                self.push(Finding {
                    score: score::DAYS,
                    sentence: format!(
                        "Wake and sleep hints over {}: the user's own activity (messages and \
                         media sent, calls) {}.",
                        plural(days.len() as u64, "day", "days"),
                        parts.join(" and ")
                    ),
                    events: own.iter().map(|e| e.id).collect(),
                    flows: Vec::new(),
                    kind: "days".into(),
                    mitigation: "timing_volume".into(),
                    start_ts: days.first().map(|d| d.first_ts),
                });
            }
        }
        Rhythm {
            sessions,
            by_hour,
            days_shown,
            days,
        }
    }

    fn services(&mut self) -> Vec<ServiceRow> {
        let mut rows = Vec::new();
        for (name, s) in &self.digest.services {
            let messaging = !s.roles.is_empty();
            let evs = self.events_of(|e| e.service.as_deref() == Some(name.as_str()));
            let active: f64 = evs
                .iter()
                .filter(|e| e.kind == EventKind::OnlineSession)
                .map(|e| (e.end_ts - e.start_ts).max(0.0))
                // Not `sum()`: an empty f64 sum is -0.0, which JSON would print as such.
                .fold(0.0, |a, b| a + b);
            let mut how: Vec<(&String, &u64)> = s.how.iter().collect();
            how.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            let mut recognised_by: Vec<String> = Vec::new();
            for (k, _) in how {
                let w = words::evidence_kind(k).to_string();
                if !recognised_by.contains(&w) {
                    recognised_by.push(w);
                }
            }
            let roles: Vec<String> = s.roles.keys().cloned().collect();
            let row = ServiceRow {
                service: name.clone(),
                kind: if messaging { "messaging" } else { "company" },
                first_ts: s.first_ts,
                last_ts: s.last_ts,
                first: self.zone.day_time(s.first_ts),
                last: self.zone.day_time(s.last_ts),
                active_secs: active,
                flows: s.flows,
                bytes_up: s.bytes_up,
                bytes_down: s.bytes_down,
                recognised_by,
                roles,
                events: evs.iter().map(|e| e.id).collect(),
            };
            if messaging {
                let dns_only = row.roles.iter().all(|r| r == "dns");
                let how_words = list_and(
                    &row.recognised_by
                        .iter()
                        .take(3)
                        .cloned()
                        .collect::<Vec<_>>(),
                );
                let (sentence, sc) = if dns_only {
                    (
                        format!(
                            "{} servers were looked up in DNS at {}, though no traffic to them \
                             was seen: the device has {name} or is about to use it.",
                            words::possessive(name),
                            self.zone.day_time(s.first_ts)
                        ),
                        score::SERVICE_DNS_ONLY,
                    )
                } else if active > 0.0 {
                    (
                        format!(
                            "{name} in use {} ({} of activity, {} exchanged), recognised by \
                             {how_words}.",
                            self.zone.from_to(s.first_ts, s.last_ts),
                            words::duration(active),
                            words::bytes(s.bytes_up + s.bytes_down)
                        ),
                        score::SERVICE_ACTIVE,
                    )
                } else {
                    (
                        format!(
                            "{name} contacted {} ({}, {} exchanged), recognised by {how_words}.",
                            self.zone.from_to(s.first_ts, s.last_ts),
                            plural(s.flows, "connection", "connections"),
                            words::bytes(s.bytes_up + s.bytes_down)
                        ),
                        score::SERVICE_CONTACTED,
                    )
                };
                let mut flows = s.examples.clone();
                for f in flows_of(evs.iter().copied()) {
                    if flows.len() < MAX_FLOW_REFS && !flows.contains(&f) {
                        flows.push(f);
                    }
                }
                self.push(Finding {
                    score: sc,
                    sentence,
                    events: row.events.clone(),
                    flows,
                    kind: "service".into(),
                    mitigation: "vpn_destinations".into(),
                    start_ts: Some(s.first_ts),
                });
            }
            rows.push(row);
        }
        // Messaging services first, then by first time seen.
        rows.sort_by(|a, b| {
            (a.kind != "messaging")
                .cmp(&(b.kind != "messaging"))
                .then(a.first_ts.total_cmp(&b.first_ts))
                .then(a.service.cmp(&b.service))
        });
        rows
    }

    fn destinations(&mut self) -> Vec<DestRow> {
        let mut rows = Vec::new();
        for (name, s) in &self.digest.services {
            if s.countries.is_empty() && s.networks.is_empty() {
                continue;
            }
            let mut countries: Vec<CountryRow> = s
                .countries
                .iter()
                .map(|(c, (f, b))| CountryRow {
                    code: c.clone(),
                    name: words::country(c),
                    flows: *f,
                    bytes: *b,
                })
                .collect();
            countries.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.code.cmp(&b.code)));
            let mut networks: Vec<NetworkRow> = s
                .networks
                .iter()
                .map(|(n, (f, b))| NetworkRow {
                    network: n.clone(),
                    flows: *f,
                    bytes: *b,
                })
                .collect();
            if s.networks_other.0 > 0 {
                networks.push(NetworkRow {
                    network: "other networks".into(),
                    flows: s.networks_other.0,
                    bytes: s.networks_other.1,
                });
            }
            networks.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.network.cmp(&b.network)));
            if !s.roles.is_empty() && !s.roles.keys().all(|r| r == "dns") && !countries.is_empty() {
                let names: Vec<String> = countries
                    .iter()
                    .take(3)
                    .map(|c| words::country_in_sentence(&c.code))
                    .collect();
                let nets: Vec<String> =
                    networks.iter().take(2).map(|n| n.network.clone()).collect();
                self.push(Finding {
                    score: score::DESTINATIONS,
                    sentence: format!(
                        "{name} traffic went to {}{}{}",
                        list_and(&names),
                        match countries.len() {
                            0..=3 => String::new(),
                            4 => " and 1 other country".to_string(),
                            n => format!(" and {} other countries", n - 3),
                        },
                        if nets.is_empty() {
                            String::new()
                        } else {
                            format!(", on {}", list_and(&nets))
                        }
                    )
                    .pipe_end(),
                    events: Vec::new(),
                    flows: s.examples.clone(),
                    kind: "destinations".into(),
                    mitigation: "vpn_destinations".into(),
                    start_ts: Some(s.first_ts),
                });
            }
            rows.push(DestRow {
                service: name.clone(),
                countries,
                networks,
            });
        }
        rows
    }

    fn other_activities(&mut self) -> Vec<OtherRow> {
        let evs = self.events_of(|e| !KNOWN_KINDS.contains(&e.kind));
        let rows: Vec<OtherRow> = evs
            .iter()
            .map(|e| OtherRow {
                event: e.id,
                kind: e.kind,
                service: e.service.clone(),
                start_ts: e.start_ts,
                start: self.zone.day_time(e.start_ts),
                duration_secs: (e.end_ts - e.start_ts).max(0.0),
                evidence: self.red.text(&e.evidence),
            })
            .collect();
        let mut groups: BTreeMap<(EventKind, &str), Vec<&Event>> = BTreeMap::new();
        for e in &evs {
            groups
                .entry((e.kind, service_name(e.service.as_deref())))
                .or_default()
                .push(e);
        }
        for ((kind, service), g) in groups {
            let first = g.iter().map(|e| e.start_ts).fold(f64::MAX, f64::min);
            let last = g.iter().map(|e| e.end_ts).fold(f64::MIN, f64::max);
            let sentence = if g.len() == 1 {
                format!(
                    "{}: {} ({service}).",
                    self.zone.span(first, last),
                    words::kind(kind)
                )
            } else {
                let mut what = words::kind(kind).to_string();
                if let Some(c) = what.get_mut(0..1) {
                    c.make_ascii_uppercase();
                }
                format!(
                    "{what} ({service}), {} times from {} to {}.",
                    g.len(),
                    self.zone.day_time(first),
                    self.zone.day_time(last)
                )
            };
            self.push(Finding {
                score: if SIZE_HINT_KINDS.contains(&kind) {
                    score::SIZE_HINT
                } else {
                    score::OTHER_ACTIVITY
                },
                sentence,
                events: g.iter().map(|e| e.id).collect(),
                flows: flows_of(g.iter().copied()),
                kind: kind.to_string(),
                mitigation: "timing_volume".into(),
                start_ts: Some(first),
            });
        }
        rows
    }

    fn name_list(&self, map: &BTreeMap<String, NameAgg>, hide: impl Fn(&str) -> bool) -> NameList {
        let mut l = NameList {
            total: map.len(),
            ..NameList::default()
        };
        for (name, n) in map {
            if hide(name) {
                l.hidden += 1;
                continue;
            }
            l.names.push(NameRow {
                name: name.clone(),
                service: n.service.clone(),
                flows: n.flows,
                first_ts: n.first_ts,
                quic: n.quic,
            });
        }
        // Names of a messaging service first, then by first time seen.
        l.names.sort_by(|a, b| {
            a.service
                .is_none()
                .cmp(&b.service.is_none())
                .then(a.first_ts.total_cmp(&b.first_ts))
                .then(a.name.cmp(&b.name))
        });
        l
    }

    fn names_sentence(l: &NameList) -> String {
        let quoted: Vec<String> = l
            .names
            .iter()
            .take(NAMES_IN_SENTENCE)
            .map(|n| match &n.service {
                Some(s) => format!("{} ({s})", n.name),
                None => n.name.clone(),
            })
            .collect();
        let more = l.names.len().saturating_sub(NAMES_IN_SENTENCE);
        let mut s = quoted.join(", ");
        if more > 0 {
            s.push_str(&format!(" and {more} more"));
        }
        s
    }

    fn name_flows(map: &BTreeMap<String, NameAgg>, l: &NameList) -> Vec<String> {
        l.names
            .iter()
            .take(NAMES_IN_SENTENCE)
            .filter_map(|n| map.get(&n.name).and_then(|a| a.examples.first().cloned()))
            .collect()
    }

    fn leaks(&mut self, calls: &[CallRow], others: &[OtherRow]) -> Leaks {
        let redact = self.red.is_on();
        let d = self.digest;
        // Names of the local side, and names that are a hidden address themselves (a client
        // may send an address as its TLS server name).
        let hide = |n: &str| {
            redact && (local_side_name(n) || n.parse::<IpAddr>().is_ok_and(|ip| self.red.hides(ip)))
        };
        let mut dns = self.name_list(&d.dns_names, hide);
        dns.dropped_flows = d.names_dropped;
        let local_names = self.name_list(&d.local_names, |_| redact);
        let tls = self.name_list(&d.tls_names, hide);
        let ech = self.name_list(&d.ech_names, hide);
        if !dns.names.is_empty() {
            let messaging = dns.names.iter().any(|n| n.service.is_some());
            self.push(Finding {
                score: score::DNS + if messaging { 0.01 } else { 0.0 },
                sentence: format!(
                    "{} looked up in clear DNS, readable by anyone on the path: {}.",
                    plural(dns.names.len() as u64, "name", "names"),
                    Self::names_sentence(&dns)
                ),
                events: Vec::new(),
                flows: Self::name_flows(&d.dns_names, &dns),
                kind: "dns".into(),
                mitigation: "encrypted_dns".into(),
                start_ts: dns.names.iter().map(|n| n.first_ts).reduce(f64::min),
            });
        }
        if !local_names.names.is_empty() {
            self.push(Finding {
                score: score::LOCAL_NAMES,
                sentence: format!(
                    "{} announced or asked on the local network (mDNS/LLMNR), often naming the \
                     device or its owner: {}.",
                    plural(local_names.names.len() as u64, "name", "names"),
                    Self::names_sentence(&local_names)
                ),
                events: Vec::new(),
                flows: Self::name_flows(&d.local_names, &local_names),
                kind: "local_names".into(),
                mitigation: "local_names".into(),
                start_ts: local_names
                    .names
                    .iter()
                    .map(|n| n.first_ts)
                    .reduce(f64::min),
            });
        }
        if !tls.names.is_empty() {
            let ech_note = if ech.total == 0 {
                "none hidden by Encrypted Client Hello".to_string()
            } else {
                format!(
                    "{} more behind Encrypted Client Hello",
                    plural(ech.total as u64, "handshake name", "handshake names")
                )
            };
            self.push(Finding {
                score: score::TLS,
                sentence: format!(
                    "{} readable in TLS/QUIC handshakes ({ech_note}): {}.",
                    plural(tls.names.len() as u64, "server name", "server names"),
                    Self::names_sentence(&tls)
                ),
                events: Vec::new(),
                flows: Self::name_flows(&d.tls_names, &tls),
                kind: "tls".into(),
                mitigation: "ech".into(),
                start_ts: tls.names.iter().map(|n| n.first_ts).reduce(f64::min),
            });
        }
        let direct_peers = calls
            .iter()
            .filter(|c| c.path == "direct")
            .map(|c| PeerRow {
                event: c.event,
                service: c.service.clone(),
                ip: c.peer_ip.clone(),
                network: c.network.clone(),
                country: c.country.clone(),
                city: c.city.clone(),
            })
            .collect();
        let probing = others
            .iter()
            .filter(|o| o.kind == EventKind::ProbingSuspected)
            .cloned()
            .collect();
        let mut clients: Vec<(&IpAddr, &digest::ClientAgg)> = d.clients.iter().collect();
        clients.sort_by(|a, b| b.1.flows.cmp(&a.1.flows).then(a.0.cmp(b.0)));
        let mut device_hints = Vec::new();
        let readable = |ip: &IpAddr| match ip {
            IpAddr::V4(v4) => !(v4.is_unspecified() || v4.is_broadcast() || v4.is_multicast()),
            IpAddr::V6(v6) => !(v6.is_unspecified() || v6.is_multicast()),
        };
        // The user's devices are on the local side when any client is; other clients are
        // servers' far ends (a peer opening a direct leg) and not the user's.
        let any_local = clients
            .iter()
            .any(|(ip, _)| readable(ip) && crate::naming::geo::is_local(**ip));
        for (ip, agg) in clients
            .into_iter()
            .filter(|(ip, _)| readable(ip))
            .filter(|(ip, _)| !any_local || crate::naming::geo::is_local(**ip))
            .take(MAX_DEVICE_HINTS)
        {
            let shown = self.red.text(&ip.to_string());
            if let Some(h) = device::hint(shown, agg).filter(|h| h.guess != "unknown") {
                self.push(Finding {
                    score: score::DEVICE,
                    sentence: format!(
                        "The device at {}: {} (a guess from its {}, read the way p0f does).",
                        h.client, h.guess, h.basis
                    ),
                    events: Vec::new(),
                    flows: agg.examples.clone(),
                    kind: "device".into(),
                    mitigation: "device_os".into(),
                    start_ts: None,
                });
                device_hints.push(h);
            }
        }
        Leaks {
            dns,
            local_names,
            tls,
            ech,
            encrypted_dns_flows: d.encrypted_dns_flows,
            direct_peers,
            probing,
            device_hints,
        }
    }
}

/// Ends a sentence with one full stop, also when it ends with an abbreviation ("Inc.").
trait SentenceEnd {
    fn pipe_end(self) -> String;
}

impl SentenceEnd for String {
    fn pipe_end(mut self) -> String {
        if !self.ends_with('.') {
            self.push('.');
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Direction, SizeClass};
    use std::net::SocketAddr;

    fn event(id: u64, kind: EventKind, start: f64, end: f64) -> Event {
        Event {
            id,
            kind,
            service: Some("WhatsApp".into()),
            start_ts: start,
            end_ts: end,
            direction: Direction::Both,
            bytes_out: 100_000,
            bytes_in: 0,
            packets_out: 10,
            packets_in: 10,
            flows: vec![FlowRef {
                proto: crate::model::Proto::UDP,
                client: SocketAddr::from(([192, 168, 1, 5], 4000)),
                server: SocketAddr::from(([203, 0, 113, 9], 5000)),
                first_ts: start,
            }],
            peer_ip: Some(IpAddr::from([203, 0, 113, 9])),
            peer_asn: Some(64500),
            peer_as_org: Some("Example Mobile".into()),
            peer_country: Some("PT".into()),
            peer_city: Some("Porto".into()),
            peer_kind: None,
            size_class: Some(SizeClass::Photo),
            confidence: 0.8,
            evidence: "test evidence from 192.168.1.5".into(),
        }
    }

    #[test]
    fn a_direct_call_leads_and_unknown_kinds_are_reported_generically() {
        let mut call = event(1, EventKind::VideoCall, 1_764_623_040.0, 1_764_623_040.0 + 1980.0);
        call.peer_kind = Some(PeerKind::Direct);
        let mut events = vec![
            call,
            event(2, EventKind::MediaUpload, 1_764_623_100.0, 1_764_623_101.0),
        ];
        for (i, k) in [EventKind::ProbingSuspected, EventKind::PushWakeup, EventKind::PushWakeup]
            .into_iter()
            .enumerate()
        {
            events.push(event(
                3 + i as u64,
                k,
                1_764_623_200.0 + i as f64,
                1_764_623_201.0,
            ));
        }
        let m = Model::build(&Digest::default(), &events, &Zone::utc(), false);
        let first = &m.headline[0];
        assert_eq!(first.kind, "direct_call");
        assert_eq!(first.mitigation, "relay_calls");
        assert!(
            first
                .sentence
                .starts_with("Mon 21:04-21:37: a 33-minute WhatsApp video call, direct"),
            "{}",
            first.sentence
        );
        assert!(
            first.sentence.contains("Porto, Portugal"),
            "{}",
            first.sentence
        );
        assert_eq!(m.other_activities.len(), 3);
        assert_eq!(m.leaks.probing.len(), 1);
        let push = m.findings.iter().find(|f| f.kind == "push_wakeup");
        assert_eq!(push.map(|f| f.events.clone()), Some(vec![4, 5]));
        // Sorted by score, highest first.
        assert!(m.findings.windows(2).all(|w| w[0].score >= w[1].score));
    }

    #[test]
    fn the_headline_keeps_at_most_two_of_a_kind_and_seven_in_all() {
        let events: Vec<Event> = (0..10)
            .map(|i| {
                event(
                    i + 1,
                    EventKind::MediaDownload,
                    1e9 + 100.0 * i as f64,
                    1e9 + 100.0 * i as f64 + 1.0,
                )
            })
            .collect();
        let m = Model::build(&Digest::default(), &events, &Zone::utc(), false);
        assert_eq!(m.findings.iter().filter(|f| f.kind == "media").count(), 10);
        assert_eq!(
            m.headline.iter().filter(|f| f.kind == "media").count(),
            HEADLINE_PER_KIND
        );
        // Two events worded alike appear once in the headline, both in the findings.
        let same: Vec<Event> = (0..2)
            .map(|i| event(i + 1, EventKind::MediaDownload, 1e9, 1e9 + 1.0))
            .collect();
        let m = Model::build(&Digest::default(), &same, &Zone::utc(), false);
        assert_eq!(m.findings.iter().filter(|f| f.kind == "media").count(), 2);
        assert_eq!(m.headline.iter().filter(|f| f.kind == "media").count(), 1);
        assert!(m.headline.len() <= HEADLINE_MAX);
    }

    #[test]
    fn redaction_reaches_sentences_flows_and_evidence() {
        let mut call = event(1, EventKind::VoiceCall, 1e9, 1e9 + 60.0);
        call.peer_kind = Some(PeerKind::Direct);
        let events = vec![call, event(2, EventKind::PushWakeup, 1e9 + 5.0, 1e9 + 6.0)];
        let m = Model::build(&Digest::default(), &events, &Zone::utc(), true);
        let all = serde_json::to_string(&m).unwrap_or_default();
        assert!(!all.contains("203.0.113.9"), "the direct peer is shown");
        assert!(!all.contains("192.168.1.5"), "the local side is shown");
        assert!(all.contains("Example Mobile") && all.contains("Portugal"));
    }
}
