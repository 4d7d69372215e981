//! Call legs joined: groups of call flows judged alone (in [`mod@super::calls`]) that are one
//! call, either streams of it running at the same time (audio and video on their own ports, or
//! both sides' legs), or legs that follow each other on new sockets to one media server.

use std::net::{IpAddr, SocketAddr};

use super::calls::VIDEO_SHARE;
use crate::model::{Event, EventKind};

/// Legs of one call that follow each other on new sockets: a call, or an attempt that carried
/// media, from one device to the same media server (address and port) of one service, each
/// starting within this long of the previous leg's end. Voice channels re-open their socket
/// while the channel stays joined (`ndpi/discord.pcap`: 25 legs to one voice server, a new
/// device port every 60 s, over 24 min, labelled as one call), and a dropped call is redialled
/// within a minute. The value is the shortest lifetime RFC 4787 (REQ-5) allows a NAT's UDP
/// mapping: a path unused for longer has to be set up anew, so a leg after that is a new
/// call. Two calls through one server endpoint less than 2 min apart are joined (the cost).
/// Legs that overlap in time are not joined this way: concurrent flows to one server that
/// share no socket are other streams (a meeting's control channel, a bandwidth probe:
/// `ndpi/zoom2.pcap`), not a call that moved to a new socket.
pub const CALL_REJOIN_SECS: f64 = 120.0;

/// Two calls between the same device and the same remote address that overlap for at least
/// this share of the shorter one are one call carried on several streams: audio and video on
/// separate ports, or each side's leg when caller and callee share the capture point
/// (`ndpi/KakaoTalk_talk.pcap`: two RTP streams to one relay on ports 23044 and 23046 over the
/// same 45 s, labelled as one call). Half is a choice: a second call to the same relay would
/// have to start and end with the first to be taken for one, while a stream added mid-call (the
/// issue's "a video stream added mid-call") overlaps the call for its whole length.
pub const CONCURRENT_STREAM_OVERLAP: f64 = 0.5;

/// Calls that are streams of one call (see [`CONCURRENT_STREAM_OVERLAP`]) become one leg: the
/// earlier stream's peer and key, the streams' flows, counts and extent; video when the media
/// together are.
pub(super) fn merge_concurrent(mut legs: Vec<Leg>) -> Vec<Leg> {
    legs.sort_by(|a, b| {
        a.hosts
            .cmp(&b.hosts)
            .then(b.is_call.cmp(&a.is_call))
            .then(a.event.start_ts.total_cmp(&b.event.start_ts))
            .then(a.event.flows.cmp(&b.event.flows))
    });
    let mut out: Vec<Leg> = Vec::with_capacity(legs.len());
    for leg in legs {
        if let Some(prev) = out.last_mut()
            && prev.is_call
            && leg.is_call
            && prev.hosts.is_some()
            && prev.hosts == leg.hosts
            && prev.event.service == leg.event.service
        {
            let (a, b) = (&prev.event, &leg.event);
            let shared = a.end_ts.min(b.end_ts) - a.start_ts.max(b.start_ts);
            let shorter = (a.end_ts - a.start_ts).min(b.end_ts - b.start_ts);
            if shorter > 0.0 && shared >= CONCURRENT_STREAM_OVERLAP * shorter {
                absorb(prev, leg);
                continue;
            }
        }
        out.push(leg);
    }
    out
}

fn absorb(into: &mut Leg, other: Leg) {
    let e = &mut into.event;
    let o = other.event;
    e.start_ts = e.start_ts.min(o.start_ts);
    e.end_ts = e.end_ts.max(o.end_ts);
    e.bytes_out += o.bytes_out;
    e.bytes_in += o.bytes_in;
    e.packets_out += o.packets_out;
    e.packets_in += o.packets_in;
    e.flows.extend(o.flows);
    into.media += other.media;
    into.big += other.big;
    let video = f64::from(into.big) / f64::from(into.media.max(1)) >= VIDEO_SHARE;
    e.kind = if video {
        EventKind::VideoCall
    } else {
        EventKind::VoiceCall
    };
    let streams = e.flows.len();
    e.evidence = format!(
        "{streams} concurrent media flows between one device and {} over the same {:.0} s are one call; {}; and {}",
        e.peer_ip
            .map_or_else(|| "the same remote".to_string(), |ip| ip.to_string()),
        e.end_ts - e.start_ts,
        e.evidence,
        o.evidence
    );
}

/// One group of call flows, judged on its own, before legs of one call are joined.
pub(super) struct Leg {
    pub(super) event: Event,
    /// Service, device address and remote endpoint (the media server or the peer).
    pub(super) key: Option<(String, IpAddr, SocketAddr)>,
    pub(super) is_call: bool,
    /// Media packets in all and video-sized ones.
    pub(super) media: u32,
    pub(super) big: u32,
    /// First and last media packet, for attempts that carried media.
    pub(super) media_span: Option<(f64, f64)>,
    /// Device address and the remote's address (no ports), whatever the service.
    pub(super) hosts: Option<(IpAddr, IpAddr)>,
}

pub(super) fn join_legs(mut legs: Vec<Leg>, out: &mut Vec<Event>) {
    legs.sort_by(|a, b| {
        a.key
            .cmp(&b.key)
            .then(a.event.start_ts.total_cmp(&b.event.start_ts))
            .then(a.event.flows.cmp(&b.event.flows))
    });
    // A leg joins a chain when it is a call or carried media (RTP_CALL_MIN_PACKETS one way);
    // checks without media stay events of their own and do not break a chain.
    let (legs, single): (Vec<Leg>, Vec<Leg>) = legs
        .into_iter()
        .partition(|l| l.key.is_some() && (l.is_call || l.media_span.is_some()));
    out.extend(single.into_iter().map(|l| l.event));
    let mut i = 0;
    while i < legs.len() {
        let mut j = i;
        let mut end = legs[i].event.end_ts;
        while j + 1 < legs.len()
            && legs[j + 1].key == legs[i].key
            && legs[j + 1].event.start_ts >= end
            && legs[j + 1].event.start_ts <= end + CALL_REJOIN_SECS
        {
            j += 1;
            end = end.max(legs[j].event.end_ts);
        }
        let chain = &legs[i..=j];
        if chain.len() > 1 && chain.iter().any(|l| l.is_call) {
            out.push(joined_call(chain));
        } else {
            out.extend(chain.iter().map(|l| l.event.clone()));
        }
        i = j + 1;
    }
}

/// One call from its legs (see [`CALL_REJOIN_SECS`]): the first call leg's peer and evidence,
/// the legs' flows, counts and extent.
fn joined_call(chain: &[Leg]) -> Event {
    let span = |l: &Leg| {
        if l.is_call {
            (l.event.start_ts, l.event.end_ts)
        } else {
            l.media_span.unwrap_or((l.event.start_ts, l.event.end_ts))
        }
    };
    let start = chain.iter().map(|l| span(l).0).fold(f64::MAX, f64::min);
    let end = chain.iter().map(|l| span(l).1).fold(f64::MIN, f64::max);
    let media: u32 = chain.iter().map(|l| l.media).sum();
    let big: u32 = chain.iter().map(|l| l.big).sum();
    let video = f64::from(big) / f64::from(media.max(1)) >= VIDEO_SHARE;
    let calls = chain.iter().filter(|l| l.is_call).count();
    let first = chain.iter().find(|l| l.is_call).unwrap_or(&chain[0]);
    let remote = first.key.as_ref().map(|k| k.2);
    let mut e = first.event.clone();
    e.kind = if video {
        EventKind::VideoCall
    } else {
        EventKind::VoiceCall
    };
    e.start_ts = start;
    e.end_ts = end;
    e.flows = chain
        .iter()
        .flat_map(|l| l.event.flows.iter().cloned())
        .collect();
    e.bytes_out = chain.iter().map(|l| l.event.bytes_out).sum();
    e.bytes_in = chain.iter().map(|l| l.event.bytes_in).sum();
    e.packets_out = chain.iter().map(|l| l.event.packets_out).sum();
    e.packets_in = chain.iter().map(|l| l.event.packets_in).sum();
    e.evidence = format!(
        "{} legs to {} from the same device, each within {CALL_REJOIN_SECS:.0} s of the previous, over {:.0} s ({calls} with a call's media, the others media one way); first call leg: {}",
        chain.len(),
        remote.map(|r| r.to_string()).unwrap_or_default(),
        end - start,
        first.event.evidence
    );
    e
}

#[cfg(test)]
mod tests {
    use super::super::FlowSummary;
    use super::super::calls::calls;
    use super::super::fixtures::{Trace, named, secs};
    use super::*;
    use crate::flow::Dir;
    use crate::model::Role;

    /// A Discord voice leg from the device's port `device` to the voice server's `server`.
    fn leg(start: f64, dur: f64, device: u16, server: u16) -> FlowSummary {
        let t = Trace::udp(device, server)
            .rtp((start, dur), 50, Dir::Up, 0x1111, 120)
            .rtp((start + 0.01, dur), 50, Dir::Down, 0x2222, 120);
        named(t.flow("192.168.1.10", "203.0.113.7"), "Discord", Role::Call)
    }

    fn events(flows: &[FlowSummary]) -> Vec<Event> {
        let mut out = Vec::new();
        calls(flows, &mut out);
        out
    }

    #[test]
    fn legs_to_one_server_within_the_rejoin_time_are_one_call() {
        let e = events(&[
            leg(0.0, 5.0, 40_000, 50_003),
            leg(35.0, 5.0, 40_001, 50_003),
        ]);
        assert_eq!(e.len(), 1, "{e:#?}");
        assert_eq!(e[0].kind, EventKind::VoiceCall);
        assert_eq!(e[0].flows.len(), 2);
        assert!((e[0].end_ts - secs(40.0)).abs() < 0.05, "{}", e[0].end_ts);
        assert!(
            e[0].evidence
                .starts_with("2 legs to 203.0.113.7:50003 from the same device"),
            "{}",
            e[0].evidence
        );
    }

    #[test]
    fn legs_further_apart_than_the_rejoin_time_are_two_calls() {
        let later = 5.0 + CALL_REJOIN_SECS + 10.0;
        let e = events(&[
            leg(0.0, 5.0, 40_000, 50_003),
            leg(later, 5.0, 40_001, 50_003),
        ]);
        assert_eq!(e.len(), 2, "{e:#?}");
        assert!(e.iter().all(|e| e.flows.len() == 1));
    }

    #[test]
    fn concurrent_streams_to_one_host_are_one_call() {
        let e = events(&[
            leg(0.0, 10.0, 40_000, 23_044),
            leg(0.5, 9.0, 40_002, 23_046),
        ]);
        assert_eq!(e.len(), 1, "{e:#?}");
        assert_eq!(e[0].flows.len(), 2);
        assert!(
            e[0].evidence
                .starts_with("2 concurrent media flows between one device and 203.0.113.7"),
            "{}",
            e[0].evidence
        );
        // Streams of two services are two calls.
        let mut other = leg(0.5, 9.0, 40_002, 23_046);
        other.record.service = Some("Signal".into());
        assert_eq!(events(&[leg(0.0, 10.0, 40_000, 23_044), other]).len(), 2);
    }
}
