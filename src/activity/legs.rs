//! Call legs joined: groups of call flows judged alone (in [`mod@super::calls`]) that are one
//! call, either streams of it running at the same time (audio and video on their own ports, or
//! both sides' legs), or legs that follow each other on new sockets to one media server; and
//! then one event per device, service and time window (ICE candidate legs, IPv4 and IPv6,
//! relay-to-direct switches, checks beside a call), which lists its legs. It must never join
//! two calls whose media are seconds apart, nor let a pre-warm stand as an attempt.

use std::net::{IpAddr, SocketAddr};

use super::calls::CALL_OVERLAP_SECS;

use super::calls::VIDEO_SHARE;
use super::order::sort_then_by_flows;
use crate::model::{Event, EventKind, FlowRef, PeerKind};

/// A leg's flows, the last key of every sort of legs.
fn leg_flows(l: &Leg) -> &[FlowRef] {
    &l.event.flows
}

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
    sort_then_by_flows(&mut legs, leg_flows, |a, b| {
        a.hosts
            .cmp(&b.hosts)
            .then(b.is_call.cmp(&a.is_call))
            .then(a.event.start_ts.total_cmp(&b.event.start_ts))
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
#[derive(Clone, Debug)]
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
    /// The remote endpoint of the leg's main flow (relay, media server or peer).
    pub(super) remote: SocketAddr,
    /// First and last packet of the leg's flows, whatever they carried.
    pub(super) flows_span: (f64, f64),
    /// No event on its own: only a pre-warm (STUN to one server, no media and no call
    /// signalling, see `calls::PREWARM_MAX_ANSWERS`), or checks of no named service. Such a
    /// leg joins the call or attempt of its device and time, which lends it its service.
    pub(super) bare: bool,
}

pub(super) fn join_legs(mut legs: Vec<Leg>) -> Vec<Leg> {
    let mut out = Vec::with_capacity(legs.len());
    sort_then_by_flows(&mut legs, leg_flows, |a, b| {
        a.key
            .cmp(&b.key)
            .then(a.event.start_ts.total_cmp(&b.event.start_ts))
    });
    // A leg joins a chain when it is a call or carried media (RTP_CALL_MIN_PACKETS one way);
    // checks without media stay events of their own and do not break a chain.
    let (legs, single): (Vec<Leg>, Vec<Leg>) = legs
        .into_iter()
        .partition(|l| l.key.is_some() && (l.is_call || l.media_span.is_some()));
    out.extend(single);
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
            out.extend(chain.iter().map(Leg::clone));
        }
        i = j + 1;
    }
    out
}

/// One call from its legs (see [`CALL_REJOIN_SECS`]): the first call leg's peer and evidence,
/// the legs' flows, counts and extent.
fn joined_call(chain: &[Leg]) -> Leg {
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
    Leg {
        event: e,
        key: first.key.clone(),
        is_call: true,
        media,
        big,
        media_span: None,
        hosts: first.hosts,
        remote: first.remote,
        flows_span: (
            chain
                .iter()
                .map(|l| l.flows_span.0)
                .fold(f64::MAX, f64::min),
            chain
                .iter()
                .map(|l| l.flows_span.1)
                .fold(f64::MIN, f64::max),
        ),
        bare: false,
    }
}

/// Legs listed by name in a merged call's evidence; more are counted.
const LEGS_LISTED: usize = 8;

/// Call and attempt legs of one device and one service that overlap in time: one call (or one
/// attempt) listing its legs. A call places ICE candidate pairs on several sockets at once
/// (IPv4 and IPv6, host, server-reflexive and relayed candidates: RFC 8445 §5.1.1), checks
/// them in parallel (§6.1.4), may start on a relay and move to the direct pair or back (an ICE
/// restart, §9), and adds streams (screen share) and bandwidth probes; each is a leg of the
/// same call, not a call or attempt of its own.
struct Window {
    legs: Vec<Leg>,
    /// Device addresses of the legs.
    devices: Vec<IpAddr>,
    /// The first service named by a leg; unnamed legs take it.
    service: Option<String>,
    /// First and last packet of the legs' flows.
    flows: (f64, f64),
    /// Start and end of the legs judged calls.
    calls: Option<(f64, f64)>,
}

impl Window {
    fn new(leg: Leg) -> Self {
        let mut w = Window {
            legs: Vec::new(),
            devices: Vec::new(),
            service: None,
            flows: leg.flows_span,
            calls: None,
        };
        w.add(leg);
        w
    }

    /// Whether `l` is a leg of this window's call: the same device (its address, or the other
    /// address family's with the same service named: one device's IPv4 and IPv6 candidates),
    /// the same service or none named, and overlapping in time. Two legs that are each a call
    /// must overlap within [`CALL_OVERLAP_SECS`] and have different remotes (a relay leg
    /// handing over to the direct one follows within a round trip; two calls seconds apart stay
    /// two, `ndpi/telegram.pcap`);
    /// an attempt's flows must overlap the window's flows.
    fn takes(&self, l: &Leg) -> bool {
        let Some((dev, _)) = l.hosts else {
            return false;
        };
        let service = &l.event.service;
        let service_ok = match (&self.service, service) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        };
        let same_device = self.devices.contains(&dev)
            || (service.is_some()
                && service == &self.service
                && self.devices.iter().any(|d| d.is_ipv4() != dev.is_ipv4()));
        if !service_ok || !same_device {
            return false;
        }
        match (l.is_call, self.calls) {
            (true, Some((a, b))) => {
                // Calls to the same remote host were judged by [`merge_concurrent`] and
                // [`join_legs`]: streams of one call overlap for half their length, a call that
                // only touches another is a second call.
                let same_remote = self
                    .legs
                    .iter()
                    .any(|w| w.is_call && w.hosts.map(|h| h.1) == l.hosts.map(|h| h.1));
                !same_remote
                    && l.event.start_ts <= b + CALL_OVERLAP_SECS
                    && a <= l.event.end_ts + CALL_OVERLAP_SECS
            }
            _ => l.flows_span.0 <= self.flows.1 && self.flows.0 <= l.flows_span.1,
        }
    }

    fn add(&mut self, leg: Leg) {
        if let Some((d, _)) = leg.hosts
            && !self.devices.contains(&d)
        {
            self.devices.push(d);
        }
        if self.service.is_none() {
            self.service.clone_from(&leg.event.service);
        }
        self.flows = (
            self.flows.0.min(leg.flows_span.0),
            self.flows.1.max(leg.flows_span.1),
        );
        if leg.is_call {
            let (a, b) = (leg.event.start_ts, leg.event.end_ts);
            self.calls = Some(self.calls.map_or((a, b), |(x, y)| (x.min(a), y.max(b))));
        }
        self.legs.push(leg);
    }

    /// Latest time a leg may start at and still join.
    fn open_until(&self) -> f64 {
        self.flows
            .1
            .max(self.calls.map_or(f64::MIN, |c| c.1 + CALL_OVERLAP_SECS))
    }

    /// The window's one event: its main leg (the call leg with the most media, else the
    /// attempt leg with the most media, the earliest on a tie) with every leg's flows and
    /// counts; none when every leg is a pre-warm.
    fn into_event(mut self) -> Option<Event> {
        if self.legs.iter().all(|l| l.bare) {
            return None;
        }
        if self.legs.len() == 1 {
            return self.legs.pop().map(|l| l.event);
        }
        sort_then_by_flows(&mut self.legs, leg_flows, |a, b| {
            a.event.start_ts.total_cmp(&b.event.start_ts)
        });
        let any_call = self.legs.iter().any(|l| l.is_call);
        let counted = |l: &&Leg| l.is_call == any_call && !l.bare;
        let main = self
            .legs
            .iter()
            .filter(counted)
            .fold(None::<&Leg>, |best, l| match best {
                Some(b) if b.media >= l.media => Some(b),
                _ => Some(l),
            })?;
        let mut e = main.event.clone();
        let span = self
            .legs
            .iter()
            .filter(counted)
            .fold((f64::MAX, f64::MIN), |(a, b), l| {
                (a.min(l.event.start_ts), b.max(l.event.end_ts))
            });
        (e.start_ts, e.end_ts) = span;
        e.service.clone_from(&self.service);
        e.flows = self
            .legs
            .iter()
            .flat_map(|l| l.event.flows.iter().cloned())
            .collect();
        e.bytes_out = self.legs.iter().map(|l| l.event.bytes_out).sum();
        e.bytes_in = self.legs.iter().map(|l| l.event.bytes_in).sum();
        e.packets_out = self.legs.iter().map(|l| l.event.packets_out).sum();
        e.packets_in = self.legs.iter().map(|l| l.event.packets_in).sum();
        if any_call {
            let (media, big) = self
                .legs
                .iter()
                .filter(|l| l.is_call)
                .fold((0u32, 0u32), |(m, b), l| (m + l.media, b + l.big));
            e.kind = if f64::from(big) / f64::from(media.max(1)) >= VIDEO_SHARE {
                EventKind::VideoCall
            } else {
                EventKind::VoiceCall
            };
        }
        let listed: Vec<String> = self
            .legs
            .iter()
            .take(LEGS_LISTED)
            .map(|l| {
                let path = match l.event.peer_kind {
                    Some(PeerKind::Relay) => "relay",
                    Some(PeerKind::Direct) => "direct",
                    _ => "unknown path",
                };
                let what = if l.is_call {
                    "media"
                } else if l.media > 0 {
                    "checks and some media"
                } else {
                    "checks"
                };
                format!("{path} {} ({what})", l.remote)
            })
            .collect();
        let more = self.legs.len().saturating_sub(LEGS_LISTED);
        e.evidence = format!(
            "{} legs: {}{}, one device and {} overlapping in time are one {}; main leg: {}",
            self.legs.len(),
            listed.join(" then "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            },
            if self.service.is_some() {
                "service"
            } else {
                "no service named"
            },
            if any_call { "call" } else { "attempt" },
            main.event.evidence
        );
        Some(e)
    }
}

/// The calls and attempts of all legs, one per device, service and time window (see
/// [`Window`]); legs that are only a pre-warm make no event.
pub(super) fn one_per_window(mut legs: Vec<Leg>, out: &mut Vec<Event>) {
    sort_then_by_flows(&mut legs, leg_flows, |a, b| {
        a.flows_span
            .0
            .total_cmp(&b.flows_span.0)
            .then(a.event.start_ts.total_cmp(&b.event.start_ts))
    });
    let mut open: Vec<Window> = Vec::new();
    for leg in legs {
        // Windows no later leg can join are done (legs come in order of their first packet).
        if open.iter().any(|w| w.open_until() < leg.flows_span.0) {
            let (done, still): (Vec<Window>, Vec<Window>) = open
                .into_iter()
                .partition(|w| w.open_until() < leg.flows_span.0);
            out.extend(done.into_iter().filter_map(Window::into_event));
            open = still;
        }
        match open.iter().rposition(|w| w.takes(&leg)) {
            Some(i) => open[i].add(leg),
            None => open.push(Window::new(leg)),
        }
    }
    out.extend(open.into_iter().filter_map(Window::into_event));
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

    /// A call's media both ways between `device` and `remote` (ports `ports`), `service`'s.
    fn media(
        service: &str,
        (start, dur): (f64, f64),
        (device, remote): (&str, &str),
        ports: (u16, u16),
    ) -> FlowSummary {
        let t = Trace::udp(ports.0, ports.1)
            .rtp((start, dur), 50, Dir::Up, 0x1111, 120)
            .rtp((start + 0.01, dur), 50, Dir::Down, 0x2222, 120);
        named(t.flow(device, remote), service, Role::Call)
    }

    /// A STUN or TURN message of type `ty` (RFC 8489 §5) with these attributes.
    fn stun(ty: u16, attrs: &[(u16, &[u8])]) -> Vec<u8> {
        let mut p = crate::scenario::stun_binding_request([4; 12], attrs);
        p[..2].copy_from_slice(&ty.to_be_bytes());
        p
    }

    #[test]
    fn parallel_ipv4_and_ipv6_legs_are_one_call() {
        let v4 = media(
            "WhatsApp",
            (0.0, 20.0),
            ("192.168.1.10", "203.0.113.7"),
            (40_000, 50_000),
        );
        let v6 = media(
            "WhatsApp",
            (0.5, 19.0),
            ("2001:db8::10", "2001:db8:1::7"),
            (40_002, 50_002),
        );
        let e = events(&[v4.clone(), v6.clone()]);
        assert_eq!(e.len(), 1, "{e:#?}");
        assert_eq!(e[0].kind, EventKind::VoiceCall);
        assert_eq!(e[0].flows.len(), 2);
        assert!(e[0].evidence.starts_with("2 legs: "), "{}", e[0].evidence);
        assert!((e[0].end_ts - secs(20.0)).abs() < 0.05, "{}", e[0].end_ts);
        // Unnamed, the two addresses are two devices for all the observer knows.
        let mut a = v4;
        let mut b = v6;
        for f in [&mut a, &mut b] {
            f.record.service = None;
        }
        assert_eq!(events(&[a, b]).len(), 2);
    }

    #[test]
    fn a_relay_then_direct_switch_is_one_call_listing_both_legs() {
        // The relay on a cloud network (Amazon's AS16509, where Signal's TURN servers run), the
        // peer on the device's own network.
        let mut relay = media(
            "Signal",
            (0.0, 10.0),
            ("192.168.1.10", "198.51.100.1"),
            (40_000, 3478),
        );
        relay.record.asn = Some(16509);
        relay.record.as_org = Some("Amazon.com, Inc.".into());
        let direct = media(
            "Signal",
            (10.5, 50.0),
            ("192.168.1.10", "192.168.1.20"),
            (40_002, 50_000),
        );
        let e = events(&[relay.clone(), direct]);
        assert_eq!(e.len(), 1, "{e:#?}");
        assert!(
            e[0].evidence.starts_with(
                "2 legs: relay 198.51.100.1:3478 (media) then direct 192.168.1.20:50000 (media)"
            ),
            "{}",
            e[0].evidence
        );
        assert!((e[0].start_ts - secs(0.0)).abs() < 0.05);
        assert!((e[0].end_ts - secs(60.5)).abs() < 0.05, "{}", e[0].end_ts);
        // The main leg (most media) gives the peer.
        assert_eq!(
            e[0].peer_ip,
            Some(super::super::fixtures::ip("192.168.1.20"))
        );
        // A second call 30 s after the first ended is another call.
        let later = media(
            "Signal",
            (40.0, 10.0),
            ("192.168.1.10", "192.168.1.20"),
            (40_004, 50_000),
        );
        assert_eq!(events(&[relay, later]).len(), 2);
    }

    #[test]
    fn checks_beside_a_call_are_its_legs_not_attempts() {
        // Telegram gathers candidates on several sockets while the call runs on another.
        let call = media(
            "Telegram",
            (1.0, 5.0),
            ("192.168.1.10", "203.0.113.7"),
            (40_000, 50_000),
        );
        let mut flows = vec![call];
        for (i, server) in ["91.108.9.35", "91.108.13.23", "91.108.17.2"]
            .iter()
            .enumerate()
        {
            let t = Trace::udp(41_000 + i as u16, 1400)
                .send(0.0, Dir::Up, &stun(0x0001, &[]))
                .send(0.05, Dir::Down, &stun(0x0101, &[]))
                .send(12.0, Dir::Up, &stun(0x0001, &[]))
                .send(12.05, Dir::Down, &stun(0x0101, &[]));
            flows.push(named(
                t.flow("192.168.1.10", server),
                "Telegram",
                Role::Call,
            ));
        }
        let e = events(&flows);
        assert_eq!(e.len(), 1, "{e:#?}");
        assert_eq!(e[0].kind, EventKind::VoiceCall);
        assert_eq!(e[0].flows.len(), 4);
        assert!(
            (e[0].start_ts - secs(1.0)).abs() < 0.05,
            "{}",
            e[0].start_ts
        );
        // Without the call, gathering addresses from STUN servers is no attempt (RFC 8445
        // §5.1.1.2: no check went to a peer)...
        assert!(events(&flows[1..]).is_empty());
        // ...and with a connectivity check towards a peer it is one attempt, not four.
        let check = Trace::udp(40_000, 50_000)
            .send(0.5, Dir::Up, &stun(0x0001, &[(0x0024, &[0, 0, 0, 1])]))
            .flow("192.168.1.10", "203.0.113.7");
        flows[0] = named(check, "Telegram", Role::Call);
        let e = events(&flows);
        assert_eq!(e.len(), 1, "{e:#?}");
        assert_eq!(e[0].kind, EventKind::CallAttempt);
        assert!(e[0].evidence.starts_with("4 legs: "), "{}", e[0].evidence);
    }

    #[test]
    fn a_lone_turn_allocate_is_no_attempt() {
        // Allocate, 401 challenge, authenticated Allocate, success (RFC 8656 §7.2).
        let allocate = || {
            Trace::udp(40_000, 3478)
                .send(0.0, Dir::Up, &stun(0x0003, &[]))
                .send(0.05, Dir::Down, &stun(0x0113, &[]))
                .send(0.1, Dir::Up, &stun(0x0003, &[]))
                .send(0.15, Dir::Down, &stun(0x0103, &[]))
        };
        let f = |t: Trace| named(t.flow("192.168.1.10", "198.51.100.1"), "Signal", Role::Call);
        assert!(events(&[f(allocate())]).is_empty());
        // A permission for a peer (CreatePermission, RFC 8656 §9) is a call being placed.
        let e = events(&[f(allocate().send(0.2, Dir::Up, &stun(0x0008, &[])).send(
            0.25,
            Dir::Down,
            &stun(0x0108, &[]),
        ))]);
        assert_eq!(e.len(), 1, "{e:#?}");
        assert_eq!(e[0].kind, EventKind::CallAttempt);
        // So is an ICE connectivity check (PRIORITY, RFC 8445 §7.1.1) towards a peer.
        let check = Trace::udp(40_000, 50_000)
            .send(0.3, Dir::Up, &stun(0x0001, &[(0x0024, &[0, 0, 0, 1])]))
            .flow("192.168.1.10", "203.0.113.7");
        let e = events(&[f(allocate()), named(check, "Signal", Role::Call)]);
        assert_eq!(e.len(), 1, "{e:#?}");
        assert_eq!(e[0].kind, EventKind::CallAttempt);
    }
}
