//! Calls: each call and call attempt as a row and a finding. A call that went direct to the
//! peer ranks first of all findings: it exposes the peer's address, network and place.

use std::net::IpAddr;

use super::build::Builder;
use super::{CallRow, Finding, MAX_FLOW_REFS, score, words};
use crate::model::{Event, EventKind, PeerKind};
use crate::naming::geo::is_local;

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

/// "a WhatsApp", "an Instagram", "a" (no service named) before a noun.
fn with_article(s: Option<&str>) -> String {
    match s {
        Some(name) => format!("{} {name}", words::article(name)),
        None => "a".to_string(),
    }
}

/// What the observer reads of one call before wording it.
struct CallFacts {
    dur: f64,
    /// `relay`, `direct`, or `unknown`.
    path: &'static str,
    /// `voice`, `video`, or `none` for an attempt.
    media: &'static str,
    network: Option<String>,
    place: Option<String>,
    peer: Option<IpAddr>,
}

impl CallFacts {
    fn of(e: &Event) -> Self {
        let dur = (e.end_ts - e.start_ts).max(0.0);
        let path = match e.peer_kind {
            Some(PeerKind::Relay) => "relay",
            Some(PeerKind::Direct) => "direct",
            Some(PeerKind::Unknown) | None => "unknown",
        };
        let media = match e.kind {
            EventKind::VideoCall => "video",
            EventKind::VoiceCall => "voice",
            _ => "none",
        };
        let network = words::network(e.peer_asn, e.peer_as_org.as_deref());
        let place = words::place(e.peer_city.as_deref(), e.peer_country.as_deref());
        let peer = call_peer(e);
        Self {
            dur,
            path,
            media,
            network,
            place,
            peer,
        }
    }

    /// `prefix` followed by the network and the place the other side is in, when known.
    fn where_(&self, prefix: &str) -> String {
        let mut s = prefix.to_string();
        if let Some(n) = &self.network {
            s.push_str(&format!(" on the {n} network"));
        }
        if let Some(p) = &self.place {
            s.push_str(&format!(" in {p}"));
        }
        s
    }
}

/// A finding's sentence, kind, mitigation and score.
type Worded = (String, &'static str, &'static str, f64);

impl Builder<'_> {
    pub(super) fn calls(&mut self) -> Vec<CallRow> {
        let mut rows = Vec::new();
        for e in self.events_of(|e| e.kind.is_call() || e.kind == EventKind::CallAttempt) {
            let facts = CallFacts::of(e);
            let (sentence, kind, mitigation, score) = if e.kind == EventKind::CallAttempt {
                self.attempt_words(e, &facts)
            } else {
                self.call_words(e, &facts)
            };
            self.push(Finding {
                score: score.min(1.0),
                sentence,
                events: vec![e.id],
                flows: e
                    .flows
                    .iter()
                    .take(MAX_FLOW_REFS)
                    .map(ToString::to_string)
                    .collect(),
                kind: kind.into(),
                mitigation: mitigation.into(),
                start_ts: Some(e.start_ts),
            });
            let CallFacts {
                dur,
                path,
                media,
                network,
                peer,
                ..
            } = facts;
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
                flows: e
                    .flows
                    .iter()
                    .map(|f| self.red.text(&f.to_string()))
                    .collect(),
            });
        }
        rows
    }

    /// A call attempt: set-up without media.
    fn attempt_words(&self, e: &Event, facts: &CallFacts) -> Worded {
        (
            format!(
                "{}: {} call attempt, {} of call set-up and connectivity checks without \
                 media (a call placed or received but not answered, or one that failed).",
                self.zone.day_time(e.start_ts),
                with_article(e.service.as_deref()),
                words::duration(facts.dur)
            ),
            "call_attempt",
            "timing_volume",
            score::CALL_ATTEMPT,
        )
    }

    /// A call with media: direct to a public peer (what it exposes), direct to a private one,
    /// through a relay, or by an unknown path.
    fn call_words(&self, e: &Event, facts: &CallFacts) -> Worded {
        let CallFacts {
            dur,
            path,
            media,
            network,
            place,
            peer,
        } = facts;
        let (dur, path, media, peer) = (*dur, *path, *media, *peer);
        // A private peer address names no network or place: the peer is on the same local
        // network (or reached through a VPN).
        let private_peer = peer.is_some_and(is_local);
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
                    format!("{what}, {}: {exposed}.", facts.where_(&at)),
                    "direct_call",
                    "relay_calls",
                    score::DIRECT_CALL + bonus,
                )
            }
            "relay" => (
                format!("{what}, {}.", facts.where_("through a relay")),
                "call",
                "timing_volume",
                if media == "video" {
                    score::VIDEO_CALL
                } else {
                    score::VOICE_CALL
                } + bonus,
            ),
            // No evidence either way: neither an exposure nor a relay is claimed.
            _ => (
                format!(
                    "{what}, by an unknown path: {} is neither a known relay nor an access \
                     network, so whether it is the peer's device is not known.",
                    facts.where_(&peer.map_or_else(
                        || "the remote".to_string(),
                        |ip| format!("the remote at {ip}")
                    ))
                ),
                "call",
                "timing_volume",
                score::VOICE_CALL + bonus,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observer::digest::Digest;
    use crate::observer::testkit::{HOUR, MONDAY, build, event, finding};
    use std::net::SocketAddr;

    /// A 20-minute voice call at Monday 21:00 along `path`, to `peer`.
    fn call(id: u64, path: PeerKind, peer: [u8; 4]) -> Event {
        let start = MONDAY + 21.0 * HOUR;
        let mut e = event(id, EventKind::VoiceCall, start, start + 1200.0);
        e.peer_kind = Some(path);
        e.peer_ip = Some(IpAddr::from(peer));
        e.flows[0].server = SocketAddr::from((peer, 3478));
        e
    }

    #[test]
    fn a_direct_call_with_a_public_peer_ranks_above_a_relayed_one_and_names_the_peers_network() {
        let events = [
            call(1, PeerKind::Relay, [198, 51, 100, 7]),
            call(2, PeerKind::Direct, [203, 0, 113, 9]),
        ];
        let m = build(&Digest::default(), &events, false);
        let direct = finding(&m, "direct_call", "direct to a device at 203.0.113.9");
        assert_eq!(
            direct.sentence,
            "Mon 21:00-21:20: a 20-minute WhatsApp voice call, direct to a device at 203.0.113.9 \
             on the Example Mobile network in Porto, Portugal: the peer's address, network and \
             place are exposed."
        );
        assert_eq!(direct.mitigation, "relay_calls");
        let relayed = finding(&m, "call", "through a relay");
        assert_eq!(relayed.mitigation, "timing_volume");
        assert!(direct.score > relayed.score);
        assert_eq!(m.headline[0].events, vec![2]);
        let paths: Vec<(&str, Option<&str>)> = m
            .calls
            .iter()
            .map(|c| (c.path, c.peer_ip.as_deref()))
            .collect();
        assert_eq!(
            paths,
            [
                ("relay", Some("198.51.100.7")),
                ("direct", Some("203.0.113.9"))
            ]
        );
        assert_eq!(m.leaks.direct_peers.len(), 1);
        assert_eq!(
            m.leaks.direct_peers[0].network.as_deref(),
            Some("Example Mobile")
        );
    }

    #[test]
    fn a_call_by_an_unknown_path_claims_neither_exposure_nor_relay() {
        let events = [call(1, PeerKind::Unknown, [203, 0, 113, 9])];
        let m = build(&Digest::default(), &events, false);
        let f = finding(&m, "call", "unknown path");
        assert!(!f.sentence.contains("exposed"), "{}", f.sentence);
        assert!(!f.sentence.contains("through a relay"), "{}", f.sentence);
        assert!(
            f.sentence
                .contains("the remote at 203.0.113.9 on the Example Mobile network"),
            "{}",
            f.sentence
        );
        assert_eq!(m.calls[0].path, "unknown");
        assert!(m.leaks.direct_peers.is_empty());
    }

    #[test]
    fn a_redacted_report_hides_the_direct_peer_and_keeps_the_relay() {
        let events = [
            call(1, PeerKind::Relay, [198, 51, 100, 7]),
            call(2, PeerKind::Direct, [203, 0, 113, 9]),
        ];
        let m = build(&Digest::default(), &events, true);
        let direct = &m.calls[1];
        assert_eq!(direct.peer_ip.as_deref(), Some("peer-1"));
        assert!(direct.flows.iter().all(|f| !f.contains("203.0.113.9")));
        assert_eq!(m.calls[0].peer_ip.as_deref(), Some("198.51.100.7"));
        let f = finding(&m, "direct_call", "peer-1");
        assert!(!f.sentence.contains("203.0.113.9"), "{}", f.sentence);
        // The network and the place stay: they are what the finding is about.
        assert!(f.sentence.contains("Example Mobile network in Porto"));
        assert_eq!(m.leaks.direct_peers[0].ip.as_deref(), Some("peer-1"));
    }

    #[test]
    fn a_direct_call_to_a_private_address_ranks_between_relayed_and_public() {
        let mut private = call(3, PeerKind::Direct, [192, 168, 1, 9]);
        private.peer_asn = None;
        private.peer_as_org = None;
        private.peer_country = None;
        private.peer_city = None;
        let events = [
            call(1, PeerKind::Relay, [198, 51, 100, 7]),
            call(2, PeerKind::Direct, [203, 0, 113, 9]),
            private,
        ];
        let m = build(&Digest::default(), &events, false);
        let score = |id: u64| {
            m.findings
                .iter()
                .find(|f| f.events == [id])
                .map_or(0.0, |f| f.score)
        };
        assert!(score(1) < score(3) && score(3) < score(2));
        let f = finding(&m, "direct_call", "192.168.1.9");
        assert!(
            f.sentence
                .contains("a private address: the peer is on the same local network")
        );
    }

    #[test]
    fn the_peer_of_a_leg_opened_from_outside_is_the_flows_client() {
        let mut e = call(1, PeerKind::Direct, [192, 168, 1, 5]);
        e.flows[0].client = SocketAddr::from(([203, 0, 113, 77], 50000));
        e.flows[0].server = SocketAddr::from(([192, 168, 1, 5], 4000));
        assert_eq!(call_peer(&e), Some(IpAddr::from([203, 0, 113, 77])));
        // Through a relay, the event's address is the relay's, whatever the flows say.
        e.peer_kind = Some(PeerKind::Relay);
        assert_eq!(call_peer(&e), Some(IpAddr::from([192, 168, 1, 5])));
    }

    #[test]
    fn an_attempt_is_worded_without_media_and_ranks_below_calls() {
        let mut attempt = event(
            1,
            EventKind::CallAttempt,
            MONDAY + HOUR,
            MONDAY + HOUR + 12.0,
        );
        attempt.service = Some("Instagram".into());
        let events = [attempt, call(2, PeerKind::Relay, [198, 51, 100, 7])];
        let m = build(&Digest::default(), &events, false);
        let f = finding(&m, "call_attempt", "call attempt");
        assert!(
            f.sentence
                .starts_with("Mon 01:00: an Instagram call attempt, 12 s of call set-up"),
            "{}",
            f.sentence
        );
        assert_eq!(m.calls[0].media, "none");
        assert!(f.score < finding(&m, "call", "relay").score);
    }
}
