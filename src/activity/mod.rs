//! Activity inference: what people did, from the timing and volume of their flows.
//!
//! Per flow, [`MediaStats`] keeps a few counters updated on every packet in O(1) and bounded
//! space: media packets each way (UDP payloads that are not STUN, DTLS or RTCP), receiver
//! reports, the RTP stream each way, how many packets are large (video-sized), the longest
//! run of seconds with media flowing both ways, bulk bursts (runs of large packets in one
//! direction, split by idle gaps), message exchanges, pushes after idle and runs of answered
//! small records. When flows end, [`infer`] groups the flows of one call (those sharing a
//! socket of the device within a call's time, then legs that follow each other to one media
//! server), joins a service's parallel bulk bursts to its media hosts, and turns them, the
//! exchanges (messages, typing indicators, read receipts), the pushes and the receipt runs
//! into [`Event`]s, each with the numbers that decided it.
//!
//! Thresholds, their values and where they come from are listed in docs/activity-model.md.
//! Everything runs on packet timestamps, and `infer` is deterministic, so the dashboard may
//! re-run it on snapshots of open flows. This module must never look at payload bytes beyond
//! their length and the header fields that tell STUN, DTLS, RTP and RTCP apart (first byte,
//! STUN cookie and length, RTP SSRC and sequence number), and never keep any of them.
//!
//! The rules come in families, one file each: `stats` (the per-packet counters and their
//! thresholds), `calls` (call candidates, their grouping and the judgement of one group),
//! `legs` (concurrent streams and successive legs joined into one call), `signalling`
//! (SIP and H.225.0 call attempts), `transfers` (media uploads and downloads), `messages`
//! (messages, typing indicators, read receipts; `padding` holds what each service's padding
//! leaves of a length, as data) and `background` (pushes, probing, online sessions). This
//! file keeps what ties them: the finished flow ([`FlowSummary`]), which flows are kept
//! ([`relevant`], [`KeptFlows`]) and the order the rules run in ([`infer`]).

mod background;
mod calls;
pub mod confidence;
#[cfg(test)]
mod fixtures;
mod legs;
mod messages;
mod order;
mod padding;
mod path;
mod receipts;
mod signalling;
mod stats;
mod table;
mod transfers;
mod turn;

pub use background::{PUSH_FOLLOW_SECS, SESSION_GAP_SECS};
pub use calls::VIDEO_SHARE;
pub use legs::{CALL_REJOIN_SECS, CONCURRENT_STREAM_OVERLAP};
pub use messages::{
    CALL_SIGNAL_SECS, CHAT_STATE_MIN, READ_RECEIPT_SECS, RECEIPT_MIN, TYPING_LEAD_SECS,
};
pub use stats::{
    BULK_GAP_SECS, BULK_MIN_BYTES, BULK_PART_MIN_BYTES, BULK_PAYLOAD, Burst, MAX_BURSTS,
    MAX_MESSAGES, MAX_RECEIPT_RUNS, MAX_WAKEUPS, MEDIA_MIN_PAYLOAD, MSG_GAP_NANOS, MSG_MIN_PAYLOAD,
    MediaDir, MediaStats, MsgBurst, PROBE_GAP_NANOS, PROBE_IN_MAX, PROBE_MAX_NANOS,
    PROBE_MIN_PAIRS, PROBE_PERIOD_NANOS, PUSH_IDLE_NANOS, PUSH_MIN_PAYLOAD, RECEIPT_ANSWER_NANOS,
    RECEIPT_MAX, RTP_SEQ_STEP_MAX, ReceiptRun, RtpStream, SMALL_RECORD, TWO_WAY_PPS, VIDEO_PAYLOAD,
    Wakeup,
};

pub use turn::{AddrSet, MAX_TURN_ADDRS, TurnFacts};

use background::{online_sessions, probing, push_channel, push_wakeups};
use calls::{call_candidate, calls};
use messages::{call_signalling, messages};
use signalling::{h225_attempts, iax_calls, sip_attempts};
use transfers::media;

use crate::model::{Direction, Event, EventKind, FlowRecord, FlowRef, Role};

/// A finished flow as the activity model sees it.
#[derive(Clone, Debug)]
pub struct FlowSummary {
    pub record: FlowRecord,
    pub media: MediaStats,
}

fn flow_ref(r: &FlowRecord) -> FlowRef {
    r.flow_ref()
}

/// The finished flows the activity model keeps, bounded: at most as many as the flow table
/// may track (`--max-flows`), so a flood of one-packet STUN flows (each a possible call)
/// costs no more memory than the flow table itself. Flows offered past the cap are counted,
/// never kept silently.
#[derive(Debug, Default)]
pub struct KeptFlows {
    pub flows: Vec<FlowSummary>,
    /// Relevant flows not kept because the cap was reached.
    pub dropped: u64,
    cap: usize,
}

impl KeptFlows {
    pub fn new(cap: usize) -> Self {
        Self {
            flows: Vec::new(),
            dropped: 0,
            cap,
        }
    }

    /// Keep `f` if the activity model needs it and there is room.
    pub fn offer(&mut self, f: FlowSummary) {
        if !relevant(&f) {
            return;
        }
        if self.flows.len() >= self.cap {
            self.dropped += 1;
        } else {
            self.flows.push(f);
        }
    }
}

/// Whether the activity model needs a finished flow at all: a call candidate, or a flow with a
/// bulk burst. Other flows are dropped as they end, which bounds memory by activity rather than
/// by the size of the capture.
pub fn relevant(f: &FlowSummary) -> bool {
    let m = &f.media;
    let transfer = |b: &Burst| b.bytes >= BULK_MIN_BYTES;
    call_candidate(f)
        || m.bursts_up.iter().any(transfer)
        || m.bursts_down.iter().any(transfer)
        || (f.record.service_role == Some(Role::Media)
            && (!m.bursts_up.is_empty() || !m.bursts_down.is_empty()))
        || (!f.media.messages.is_empty() && f.record.service_role == Some(Role::Chat))
        || (!f.media.wakeups.is_empty() && push_channel(&f.record))
        || !f.media.receipt_runs.is_empty()
        || f.media.sip.invites > 0
        || f.media.h225.setups > 0
        || f.media.iax.as_ref().is_some_and(|x| x.first.is_some())
}

/// Infer events from finished flows (in any order; output is sorted by start time).
pub fn infer(flows: &[FlowSummary]) -> Vec<Event> {
    let mut events = Vec::new();
    calls(flows, &mut events);
    // The path of each call, from the capture's TURN facts and who each remote is.
    path::settle(&mut events, flows);
    media(flows, &mut events);
    messages(flows, &mut events);
    call_signalling(&mut events);
    sip_attempts(flows, &mut events);
    h225_attempts(flows, &mut events);
    iax_calls(flows, &mut events);
    let wakeups = push_wakeups(flows, &events);
    let probes = probing(flows, &events);
    // The inbound records of a suspected probe are the probe, not messages for the user.
    events.retain(|e| {
        e.kind != EventKind::MessageIn
            || probes.is_empty()
            || !probes
                .iter()
                .any(|p| p.flows == e.flows && e.start_ts <= p.end_ts && p.start_ts <= e.end_ts)
    });
    events.extend(wakeups);
    events.extend(probes);
    let sessions = online_sessions(&events);
    events.extend(sessions);
    confidence::calibrate(&mut events);
    order::sort_then_by_flows(
        &mut events,
        |e| &e.flows,
        |a, b| a.start_ts.total_cmp(&b.start_ts).then(a.kind.cmp(&b.kind)),
    );
    for (i, e) in events.iter_mut().enumerate() {
        e.id = i as u64 + 1;
    }
    events
}

/// An event resting on one flow: its reference and the server side as the peer. Counts,
/// confidence and evidence are the caller's.
fn on_flow(
    r: &FlowRecord,
    kind: EventKind,
    service: &str,
    (start, end): (f64, f64),
    direction: Direction,
) -> Event {
    Event {
        id: 0,
        kind,
        service: Some(service.to_string()),
        start_ts: start,
        end_ts: end,
        direction,
        bytes_out: 0,
        bytes_in: 0,
        packets_out: 0,
        packets_in: 0,
        flows: vec![flow_ref(r)],
        peer_ip: Some(r.server.ip()),
        peer_asn: r.asn,
        peer_as_org: r.as_org.clone(),
        peer_country: r.country.clone(),
        peer_city: r.city.clone(),
        peer_kind: None,
        size_class: None,
        confidence: 0.5,
        evidence: String::new(),
    }
}

/// A count and its noun, in the plural unless the count is one: "1 flow", "2 flows", "0 STUN
/// packets". Every noun the evidence counts takes an "s".
pub(super) fn plural(n: impl Into<u64>, noun: &str) -> String {
    let n = n.into();
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{Trace, named, of_kind};
    use super::*;
    use crate::flow::Dir;
    use crate::scenario::stun_binding_request;

    /// A chat connection: the login, then one message out at 10 s.
    fn chat() -> FlowSummary {
        Trace::tcp(50_000, 443)
            .opaque(0.0, Dir::Up, 300)
            .opaque(0.1, Dir::Down, 300)
            .opaque(10.0, Dir::Up, 300)
            .opaque(10.2, Dir::Down, 70)
            .flow("192.168.1.10", "157.240.1.1")
    }

    #[test]
    fn relevant_keeps_what_a_rule_may_use_and_drops_the_rest() {
        assert!(!relevant(&chat()));
        assert!(relevant(&named(chat(), "WhatsApp", Role::Chat)));
        assert!(!relevant(&named(chat(), "WhatsApp", Role::Web)));
        let stun = Trace::udp(40_000, 3478)
            .send(0.0, Dir::Up, &stun_binding_request([3; 12], &[]))
            .flow("192.168.1.10", "203.0.113.7");
        assert!(relevant(&stun));
        let dns = Trace::udp(40_000, 53)
            .send(0.0, Dir::Up, &stun_binding_request([3; 12], &[]))
            .flow("192.168.1.10", "203.0.113.7");
        assert!(!relevant(&dns));
    }

    #[test]
    fn kept_flows_count_what_the_cap_turns_away() {
        let mut kept = KeptFlows::new(1);
        kept.offer(chat());
        kept.offer(named(chat(), "WhatsApp", Role::Chat));
        kept.offer(named(chat(), "Signal", Role::Chat));
        assert_eq!(kept.flows.len(), 1);
        assert_eq!(kept.flows[0].record.service.as_deref(), Some("WhatsApp"));
        assert_eq!(kept.dropped, 1);
    }

    #[test]
    fn infer_numbers_the_events_in_time_order() {
        let call = Trace::udp(40_000, 50_000)
            .rtp((2.0, 5.0), 50, Dir::Up, 1, 120)
            .rtp((2.01, 5.0), 50, Dir::Down, 2, 120)
            .flow("192.168.1.10", "203.0.113.7");
        let events = infer(&[named(chat(), "WhatsApp", Role::Chat), call]);
        let kinds: Vec<EventKind> = events.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [
                EventKind::VoiceCall,
                EventKind::MessageOut,
                EventKind::OnlineSession
            ]
        );
        let ids: Vec<u64> = events.iter().map(|e| e.id).collect();
        assert_eq!(ids, [1, 2, 3]);
        assert!(events.windows(2).all(|w| w[0].start_ts <= w[1].start_ts));
    }

    #[test]
    fn inbound_records_of_a_suspected_probe_are_not_messages() {
        // Fifty 200-byte records a steady 1.5 s apart, each a message by its size, each
        // answered by a receipt.
        let mut t = Trace::tcp(50_000, 443);
        for i in 0..50 {
            let s = 1.5 * f64::from(i);
            t = t.opaque(s, Dir::Down, 200).opaque(s + 0.2, Dir::Up, 60);
        }
        let f = named(
            t.flow("192.168.1.10", "157.240.1.1"),
            "WhatsApp",
            Role::Chat,
        );
        let mut out = Vec::new();
        messages::messages(std::slice::from_ref(&f), &mut out);
        assert_eq!(of_kind(&out, EventKind::MessageIn).len(), 49);
        let events = infer(&[f]);
        assert!(
            of_kind(&events, EventKind::MessageIn).is_empty(),
            "{events:#?}"
        );
        assert_eq!(of_kind(&events, EventKind::ProbingSuspected).len(), 1);
    }
}
