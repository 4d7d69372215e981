//! Calls: which flows may belong to a call, how they are grouped (a shared socket of the
//! device within a call's time, or an RTP flow with the STUN flows to the same peer), and how
//! one group is judged, always from the device's side of each flow: a voice or video call by
//! one of four rules (two-way media, one-way media with receiver reports, RTP streams both
//! ways, one-way media past a ringing phase with a live receiver), ringback or another call
//! attempt, a pre-warm, or nothing. Groups judged here are joined into calls in
//! [`super::legs`]. It must never take the flow record's client for the device (the first
//! packet's sender may be the remote), nor make an attempt of a pre-warm.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

use super::legs::{Leg, join_legs, merge_concurrent, one_per_window};
use super::plural;
use super::stats::MediaDir;
use super::{FlowSummary, flow_ref};
use crate::capture::Timestamp;
use crate::model::{Direction, Event, EventKind, FlowRecord, FlowRef, PeerKind, Proto, Role};
use crate::naming::geo::is_local;

/// Whether a flow may be part of a call: UDP, not DNS or QUIC, with media or STUN, or named
/// as a call flow of a service.
pub(super) fn call_candidate(f: &FlowSummary) -> bool {
    let r = &f.record;
    let m = &f.media;
    let rtp = m.up.rtp.packets.max(m.down.rtp.packets);
    // QUIC and TLS-named UDP flows are web traffic, unless RTP follows on the same 5-tuple
    // (Snapchat's calls open with QUIC to the media server, `ndpi/snapchat_call_v1.pcapng`):
    // QUIC's first byte (0x40-0x7f short header, 0xc0-0xff long) never starts an RTP header.
    // RTCP alone after the handshake, on a flow the naming calls a call flow, counts too: an
    // unanswered call reports reception but sends no media (`ndpi/snapchat_call.pcapng`).
    let media_followed = rtp >= CALL_MIN_MEDIA_PACKETS
        || (r.service_role == Some(Role::Call) && m.control_packets > 0);
    let web = (r.quic_version.is_some() || r.sni.is_some()) && !media_followed;
    // STUN on TCP: TURN over TCP or ICE-TCP, a call's signalling when UDP is blocked.
    let tcp_stun = r.proto == Proto::TCP && m.stun_packets > 0;
    (r.proto == Proto::UDP || tcp_stun)
        && !web
        && !matches!(r.server.port(), 53 | 5353 | 123)
        && (m.stun_packets > 0
            || r.stun.is_some()
            || r.service_role == Some(Role::Call)
            || m.best_run > 0
            || rtp >= RTP_CALL_MIN_PACKETS)
}

/// A call's flows are linked when they share an endpoint (the device's socket or the peer's)
/// and overlap in time within this margin: relay checks, the direct leg and renegotiations of
/// one call follow each other within seconds.
pub(super) const CALL_LINK_SECS: f64 = 30.0;
/// A call needs media both ways for at least this many seconds in one flow... measured on the
/// corpus: the shortest labelled calls (LINE, Skype, Zoom P2P) carry 1 to 2 s of two-way media.
const CALL_MIN_TWO_WAY_SECS: u32 = 1;
/// ...and at least this many media packets each way over the call: connectivity checks that
/// look like media stay below (measured on the corpus's labelled attempts: 10 to 17 each
/// way), the shortest labelled call (LINE, 1.4 s) has 22.
const CALL_MIN_MEDIA_PACKETS: u32 = 20;
/// ...at a mean rate of at least this many media packets per second each way between the first
/// and last two-way second: labelled calls run at 6 (WhatsApp 2019) to 100 packets/s each way,
/// labelled attempts that exchange a few seconds of keep-alives at 3 to 4.
const CALL_MIN_PPS: f64 = 4.0;
/// A call is also established when each way carries an RTP stream (one SSRC, sequence numbers
/// in order) of at least this many packets at [`CALL_MIN_PPS`]: media flowed both ways, so the
/// callee answered, however short the call. The short WhatsApp calls of `wissamnd/` (answered
/// and hung up within 2 s) carry 5 to 11 such packets each way; the labelled attempts carry
/// RTP one way only (SIP early media in `ndpi/sip.pcap`, Signal's and Teams' first packets in
/// `ndpi/stun_signal.pcapng` and `ndpi/teams.pcap`) or at 1 packet/s (Google Meet's downlink
/// in `ndpi/stun_google_meet.pcapng`).
const RTP_CALL_MIN_PACKETS: u32 = 5;
/// Share of video-sized media packets above which a call carries video (labels: video frames
/// over 500 B make up a large part of video calls and are absent from voice calls).
pub const VIDEO_SHARE: f64 = 0.10;

/// The endpoints a call's flows are linked through: the device's own sockets (private or
/// local addresses), or the client's when neither side is local. Relay servers are shared by
/// many calls and must not link them.
fn link_endpoints(r: &FlowRecord) -> Vec<SocketAddr> {
    let eps: Vec<SocketAddr> = [r.client, r.server]
        .into_iter()
        .filter(|e| is_local(e.ip()))
        .collect();
    if eps.is_empty() { vec![r.client] } else { eps }
}

pub(super) fn calls(flows: &[FlowSummary], out: &mut Vec<Event>) {
    let cands: Vec<&FlowSummary> = flows.iter().filter(|f| call_candidate(f)).collect();
    // Union-find over candidates sharing an endpoint within the link margin.
    let mut parent: Vec<usize> = (0..cands.len()).collect();
    fn find(p: &mut [usize], i: usize) -> usize {
        let mut r = i;
        while p[r] != r {
            r = p[r];
        }
        let mut j = i;
        while p[j] != r {
            let n = p[j];
            p[j] = r;
            j = n;
        }
        r
    }
    let mut by_ep: BTreeMap<SocketAddr, Vec<usize>> = BTreeMap::new();
    for (i, f) in cands.iter().enumerate() {
        for ep in link_endpoints(&f.record) {
            by_ep.entry(ep).or_default().push(i);
        }
    }
    let near = |a: &FlowRecord, b: &FlowRecord| {
        a.first_ts <= b.last_ts + CALL_LINK_SECS && b.first_ts <= a.last_ts + CALL_LINK_SECS
    };
    for idx in by_ep.values() {
        for w in idx.windows(2) {
            if near(&cands[w[0]].record, &cands[w[1]].record) {
                let (ra, rb) = (find(&mut parent, w[0]), find(&mut parent, w[1]));
                if ra != rb {
                    parent[ra] = rb;
                }
            }
        }
    }
    // An RTP flow that carried no STUN joins the STUN flows between the same device address
    // and the same remote address within the link margin: ICE may check one socket pair and
    // the media then flow on another (RTP and RTCP on their own ports, RFC 8445 §5.1.1.1's
    // one candidate per component, or a peer that changed its port).
    let mut by_hosts: BTreeMap<(IpAddr, IpAddr), (Vec<usize>, Vec<usize>)> = BTreeMap::new();
    for (i, f) in cands.iter().enumerate() {
        let (remote, device) = remote_and_device(f);
        let entry = by_hosts.entry((device.ip(), remote.ip())).or_default();
        let m = &f.media;
        if m.stun_packets > 0 {
            entry.0.push(i);
        } else if m.up.rtp.packets.max(m.down.rtp.packets) >= RTP_CALL_MIN_PACKETS {
            entry.1.push(i);
        }
    }
    for (stun, rtp) in by_hosts.values() {
        for &r in rtp {
            if let Some(&s) = stun
                .iter()
                .find(|&&s| near(&cands[s].record, &cands[r].record))
            {
                let (ra, rb) = (find(&mut parent, r), find(&mut parent, s));
                if ra != rb {
                    parent[ra] = rb;
                }
            }
        }
    }
    let mut groups: BTreeMap<usize, Vec<&FlowSummary>> = BTreeMap::new();
    for (i, f) in cands.iter().enumerate() {
        let r = find(&mut parent, i);
        groups.entry(r).or_default().push(*f);
    }
    let legs: Vec<Leg> = groups.values().filter_map(|g| call_event(g)).collect();
    one_per_window(join_legs(merge_concurrent(legs)), out);
}

/// Packets and time extent of one direction summed over a call's flows.
#[derive(Clone, Copy, Debug, Default)]
struct Extent {
    packets: u32,
    first: Option<Timestamp>,
    last: Option<Timestamp>,
}

impl Extent {
    fn add(&mut self, packets: u32, first: Option<Timestamp>, last: Option<Timestamp>) {
        if packets == 0 {
            return;
        }
        self.packets += packets;
        if let Some(t) = first {
            self.first = Some(self.first.map_or(t, |x| x.min(t)));
        }
        if let Some(t) = last {
            self.last = Some(self.last.map_or(t, |x| x.max(t)));
        }
    }

    fn span(&self) -> Option<(f64, f64)> {
        Some((self.first?.as_secs_f64(), self.last?.as_secs_f64()))
    }

    fn duration(&self) -> f64 {
        self.span().map_or(0.0, |(a, b)| b - a)
    }

    fn secs(&self) -> f64 {
        self.span().map_or(0.0, |(a, b)| (b - a).max(1.0))
    }

    /// An RTP stream of a call: enough packets at a call's rate.
    fn established(&self) -> bool {
        let d = self.duration();
        // A stream shorter than MEDIA_MIN_SECS counts only at a codec's framing rate: what
        // comes faster in a fraction of a second is a padding probe.
        let paced = d >= MEDIA_MIN_SECS
            || (d > 0.0 && f64::from(self.packets.saturating_sub(1)) / d <= CODEC_MAX_PPS);
        self.packets >= RTP_CALL_MIN_PACKETS
            && paced
            && f64::from(self.packets) / self.secs() >= CALL_MIN_PPS
    }

    fn overlaps(&self, o: &Extent) -> bool {
        match (self.span(), o.span()) {
            (Some((a, b)), Some((c, d))) => {
                a <= d + CALL_OVERLAP_SECS && c <= b + CALL_OVERLAP_SECS
            }
            _ => false,
        }
    }
}

/// Each direction of a call carries media for at least this long: bandwidth probes and
/// padding bursts last 0.07 to 0.2 s (Google Meet's downlink probes in
/// `ndpi/stun_google_meet.pcapng`), the shortest answered calls 0.8 s and more each way
/// (`wissamnd/whatsAppCallAnsered.pcapng`'s incoming audio).
const MEDIA_MIN_SECS: f64 = 0.5;
/// The fastest packet rate of an audio codec's stream: frames of 10 ms at the shortest
/// (RFC 7587: Opus frames of 2.5-60 ms, 20 ms by default; 50/s is typical). Discord's voice
/// legs (`ndpi/discord.pcap`, trimmed to 15 packets each) show 40-50 packets/s each way over
/// 0.15 s; Google Meet's padding probes run at 155 to 500 packets/s.
const CODEC_MAX_PPS: f64 = 100.0;
/// Media one way with only receiver reports coming back is a call when it runs at this rate:
/// a codec's full rate (16-50 packets/s for voice, more for video; Skype's conference leg in
/// `ndpi/skype-conference-call.pcap` 20/s of RTP, Snapchat's one-way video in
/// `ndpi/snapchat_call_v1.pcapng` 40/s), not the 5/s of a sender in discontinuous
/// transmission waiting for an answer (Google Meet's uplink in `ndpi/stun_google_meet.pcapng`).
const ONE_WAY_MIN_PPS: f64 = 10.0;
/// A ringing phase lasts less than this: media one way for longer, with a live receiver
/// answering, is an answered call (a one-way video, a muted listener); shorter media one way
/// whose other side sends only small packets is ringback or early media (RFC 3960: early media
/// flows before the callee answers). 30 s is a choice within the time phones ring before a
/// call is given up (SIP's INVITE transaction waits for a final answer up to Timer C, more than
/// 3 min, RFC 3261 §16.6; messengers ring for about 30 to 60 s), kept short so that a one-way
/// call is not missed.
pub(super) const RINGING_MAX_SECS: f64 = 30.0;
/// A live receiver answers at least once in this many seconds: RTCP receiver reports come at
/// least every 5 s (RFC 3550 §6.2, the recommended minimum interval; §6.3.1 randomises it to
/// 0.5-1.5 times, so 7.5 s at most), and ICE consent checks every 5 s, randomised to 4-6 s,
/// each answered (RFC 7675 §5.1).
pub(super) const LIVE_REPORT_MAX_GAP_SECS: f64 = 7.5;
/// Ringback: the other side's packets stay this small (payload bytes)... comfort noise (RFC
/// 3389: a noise level and at most 10 spectral coefficients) or a codec's silence frame (AMR
/// SID, 5 B; Opus DTX, 1-3 B) under RTP's 12-B header, an SRTP tag of 10 B (RFC 3711 §5.2),
/// an MKI and a header extension; speech frames at a call's bit rate are larger (Opus at 24
/// kbit/s: 60 B of frame every 20 ms).
pub(super) const RINGBACK_BACK_MAX_PAYLOAD: u32 = 48;
/// ...and come no faster than this (packets/s): a silence descriptor is updated every 8
/// frames, 160 ms (3GPP TS 26.093 §5.1 for AMR), while speech comes every 20 ms.
pub(super) const RINGBACK_BACK_MAX_PPS: f64 = 6.25;
/// A pre-warm is lone: STUN to one remote address, answered at most this many times (an
/// Allocate's 401 challenge and its authenticated retry, RFC 8656 §7.2 and RFC 8489 §9.2; a
/// Binding's one answer, RFC 8489 §6.3).
pub(super) const PREWARM_MAX_ANSWERS: u32 = 2;
/// The two directions of an RTP call overlap within this margin (the callee's first packet
/// answers the caller's within a round trip; 2 s allows for jitter buffers and relays).
pub(super) const CALL_OVERLAP_SECS: f64 = 2.0;

/// One direction of a flow carries media at a call's rate throughout: enough packets, at
/// [`CALL_MIN_PPS`] between its first and last media packet.
fn dense(d: &MediaDir) -> bool {
    let secs = match (d.first, d.last) {
        (Some(a), Some(b)) => (b.as_secs_f64() - a.as_secs_f64()).max(1.0),
        _ => return false,
    };
    d.packets >= CALL_MIN_MEDIA_PACKETS && f64::from(d.packets) / secs >= CALL_MIN_PPS
}

/// The service a flow gives its call group, if any. A name that only the network gave (the
/// flow's AS is a company's; naming then lists in `company_services` the services that company
/// runs) is the company's, not the app's the call was made with: Meta's network carries
/// WhatsApp, Messenger and Instagram. It names no call, unless the company's name is itself one
/// of its services (Telegram's and Zoom's networks run Telegram and Zoom).
///
/// This replaces a test of the names "Google", "Meta" and "Microsoft" with the catalog's data
/// (assets/catalog/asns.tsv), which gives the same answer for those three and for Telegram and
/// Zoom. It differs for Apple, Cisco, LY Corporation and Tencent, whose names are none of their
/// services: such a name no longer names a call either. No event of the corpus changes (no call
/// group there holds a flow that only their networks named; the golden check is byte for byte).
fn call_service(r: &FlowRecord) -> Option<String> {
    let s = r.service.as_ref()?;
    (r.company_services.is_empty() || r.company_services.contains(s)).then(|| s.clone())
}

/// The counters of a call group's flows, summed: what [`call_event`] judges.
#[derive(Default)]
struct GroupMedia<'a> {
    /// Media packets each way and video-sized ones, over the flows.
    up: u32,
    down: u32,
    big: u32,
    /// The longest run of two-way media seconds of any one flow.
    best: u32,
    /// RTCP packets each way.
    rtcp_up: u32,
    rtcp_down: u32,
    /// Bytes and packets of the flows, whatever they carried.
    bytes_out: u64,
    bytes_in: u64,
    pk_out: u64,
    pk_in: u64,
    /// First and last media packet inside a two-way second, over the flows.
    first: Option<Timestamp>,
    last: Option<Timestamp>,
    rtp_up: Extent,
    rtp_down: Extent,
    media_up: Extent,
    media_down: Extent,
    /// Media of the directions that are [`dense`] on their own flow.
    dense_up: Extent,
    dense_down: Extent,
    /// RTCP and STUN messages each way, with their extent: the other side's proves a live
    /// receiver when they keep coming while media flows one way.
    alive_up: Extent,
    alive_down: Extent,
    /// Largest media payload each way.
    max_up: u32,
    max_down: u32,
    /// Some flow carried ICE checks or TURN peer messages (see [`super::signalling::StunSignals::placed_a_call`]).
    placed: bool,
    /// STUN messages the remote sides sent.
    stun_in: u32,
    /// The flow with the most media packets (the first of them on a tie).
    main: Option<&'a FlowSummary>,
}

impl<'a> GroupMedia<'a> {
    fn gather(group: &[&'a FlowSummary]) -> Self {
        let mut g = GroupMedia::default();
        for f in group {
            let m = &f.media;
            let (up, down) = sides(f);
            let r = &f.record;
            let swap = device_is_server(f);
            g.up += up.packets;
            g.down += down.packets;
            g.rtcp_up += up.rtcp;
            g.rtcp_down += down.rtcp;
            g.big += up.big + down.big;
            g.best = g.best.max(m.best_run);
            let (b_out, b_in, p_out, p_in) = if swap {
                (r.bytes_down, r.bytes_up, r.packets_down, r.packets_up)
            } else {
                (r.bytes_up, r.bytes_down, r.packets_up, r.packets_down)
            };
            g.bytes_out += b_out;
            g.bytes_in += b_in;
            g.pk_out += p_out;
            g.pk_in += p_in;
            let s = &m.signals;
            let (s_out, s_in) = if swap {
                (
                    (s.down, s.first_down, s.last_down),
                    (s.up, s.first_up, s.last_up),
                )
            } else {
                (
                    (s.up, s.first_up, s.last_up),
                    (s.down, s.first_down, s.last_down),
                )
            };
            g.alive_up.add(up.rtcp, up.rtcp_first, up.rtcp_last);
            g.alive_up.add(s_out.0, s_out.1, s_out.2);
            g.alive_down.add(down.rtcp, down.rtcp_first, down.rtcp_last);
            g.alive_down.add(s_in.0, s_in.1, s_in.2);
            g.stun_in += s_in.0;
            g.placed |= s.placed_a_call();
            if up.packets > 0 {
                g.max_up = g.max_up.max(up.max_payload);
            }
            if down.packets > 0 {
                g.max_down = g.max_down.max(down.max_payload);
            }
            if let Some(t) = m.first_two_way {
                g.first = Some(g.first.map_or(t, |x| x.min(t)));
            }
            if let Some(t) = m.last_two_way {
                g.last = Some(g.last.map_or(t, |x| x.max(t)));
            }
            g.rtp_up.add(up.rtp.packets, up.rtp.first, up.rtp.last);
            g.rtp_down
                .add(down.rtp.packets, down.rtp.first, down.rtp.last);
            g.media_up.add(up.packets, up.first, up.last);
            g.media_down.add(down.packets, down.first, down.last);
            if dense(up) {
                g.dense_up.add(up.packets, up.first, up.last);
            }
            if dense(down) {
                g.dense_down.add(down.packets, down.first, down.last);
            }
            if g.main.is_none_or(|b| {
                m.up.packets + m.down.packets > b.media.up.packets + b.media.down.packets
            }) {
                g.main = Some(*f);
            }
        }
        g
    }
}

/// Which rule, if any, makes a group a call.
struct Verdict {
    /// Media both ways at a call's rate.
    two_way: bool,
    /// Media one way at a codec's full rate while the other side sends receiver reports.
    one_way: bool,
    /// An RTP stream each way, in sequence and at a call's rate, the two overlapping.
    rtp_call: bool,
    /// Media one way at a codec's rate for longer than a ringing phase, while the other side
    /// kept answering (RTCP reports, STUN consent) throughout: a live receiver.
    live: bool,
    /// Media one way for less than a ringing phase, the other side sending only small packets
    /// at a silence descriptor's rate and no answered media: ringback or early media.
    ringback: bool,
    /// Media packets of the direction with more of them, and the other side's RTCP packets.
    lead: u32,
    reports: u32,
}

impl Verdict {
    fn media_call(&self) -> bool {
        (self.two_way || self.one_way) && !self.ringback
    }

    fn is_call(&self) -> bool {
        !self.ringback && (self.two_way || self.one_way || self.rtp_call || self.live)
    }
}

/// Judge a group's counters by the three rules of a call.
fn judge(g: &GroupMedia<'_>) -> Verdict {
    let (up, down, best) = (g.up, g.down, g.best);
    let span = match (g.first, g.last) {
        (Some(a), Some(b)) => (b.as_secs_f64() - a.as_secs_f64()).max(1.0),
        _ => f64::MAX,
    };
    let lasts = |e: &Extent| e.duration() >= MEDIA_MIN_SECS;
    // Media both ways at a call's rate...
    let two_way = best >= CALL_MIN_TWO_WAY_SECS
        && up >= CALL_MIN_MEDIA_PACKETS
        && down >= CALL_MIN_MEDIA_PACKETS
        && f64::from(up) / span >= CALL_MIN_PPS
        && f64::from(down) / span >= CALL_MIN_PPS
        && lasts(&g.media_up)
        && lasts(&g.media_down);
    // ...or one way at a codec's full rate while the other side sends receiver reports.
    let (lead, lead_ext, reports) = if up >= down {
        (up, &g.media_up, g.rtcp_down)
    } else {
        (down, &g.media_down, g.rtcp_up)
    };
    let one_way = !two_way
        && best >= CALL_MIN_TWO_WAY_SECS
        && lead >= CALL_MIN_MEDIA_PACKETS
        && f64::from(lead) / span >= ONE_WAY_MIN_PPS
        && f64::from(reports) / span >= CALL_MIN_PPS
        && lasts(lead_ext);
    let media_call = two_way || one_way;
    let rtp_call = !media_call
        && g.rtp_up.established()
        && g.rtp_down.established()
        && g.rtp_up.overlaps(&g.rtp_down);
    let (lead_e, back_e, back_max, back_alive) = if up >= down {
        (&g.media_up, &g.media_down, g.max_down, &g.alive_down)
    } else {
        (&g.media_down, &g.media_up, g.max_up, &g.alive_up)
    };
    let lead_secs = lead_e.duration();
    let codec_rate = lead_e.packets >= CALL_MIN_MEDIA_PACKETS
        && lead_secs > 0.0
        && f64::from(lead_e.packets) / lead_secs >= ONE_WAY_MIN_PPS;
    // A live receiver: its reports or consent answers keep coming, at least one per report
    // interval, from the start of the media to its end.
    let covered = match (back_alive.span(), lead_e.span()) {
        (Some((a, b)), Some((c, d))) => {
            a <= c + LIVE_REPORT_MAX_GAP_SECS && b >= d - LIVE_REPORT_MAX_GAP_SECS
        }
        _ => false,
    };
    let needed = (lead_secs / LIVE_REPORT_MAX_GAP_SECS).floor().max(2.0);
    let live = !media_call
        && !rtp_call
        && codec_rate
        && lead_secs >= RINGING_MAX_SECS
        && f64::from(back_alive.packets) >= needed
        && covered;
    // Ringback: shorter than a ringing phase, the other side's media only silence-sized
    // packets at a silence descriptor's rate (none at all counts too), and no receiver
    // reports at a call's rate (the one-way rule's).
    let ringback = codec_rate
        && !one_way
        && lead_secs < RINGING_MAX_SECS
        && (back_e.packets == 0
            || (back_max <= RINGBACK_BACK_MAX_PAYLOAD
                && f64::from(back_e.packets) / back_e.secs() <= RINGBACK_BACK_MAX_PPS));
    Verdict {
        two_way,
        one_way,
        rtp_call,
        live,
        ringback,
        lead,
        reports,
    }
}

/// Start and end of a group's call: its media inside two-way seconds (widened where the two
/// directions travel on different flows), or its RTP streams; for an attempt, its flows.
fn call_span(group: &[&FlowSummary], g: &GroupMedia<'_>, v: &Verdict) -> Option<(f64, f64)> {
    if v.live {
        let lead = if g.up >= g.down {
            &g.media_up
        } else {
            &g.media_down
        };
        lead.span()
    } else if v.media_call() {
        let (mut a, mut b) = (g.first?.as_secs_f64(), g.last?.as_secs_f64());
        // A call whose two directions travel on different flows (Telegram sends up to one
        // reflector and receives from another, `ndpi/telegram.pcap`) has two-way seconds only
        // where the flows' checks overlap: its media lasts as long as both directions do.
        if let (Some((ua, ub)), Some((da, db))) = (g.dense_up.span(), g.dense_down.span()) {
            a = a.min(ua.max(da));
            b = b.max(ub.min(db));
        }
        Some((a, b))
    } else if v.rtp_call && !v.ringback {
        let ((ua, ub), (da, db)) = (g.rtp_up.span()?, g.rtp_down.span()?);
        Some((ua.min(da), ub.max(db)))
    } else {
        Some(flows_span(group))
    }
}

/// Whether the device is the server side of a flow's record. The flow table names the sender
/// of a UDP flow's first packet its client (docs/formats.md), which is the remote for a leg the
/// other party opened and for a flow caught mid-stream. The device's own side is the one on a
/// local (private, link-local) address when only one is; otherwise the side that sent the STUN
/// requests, when only one did (a client asks a STUN or TURN server, RFC 8489 §6.1); otherwise
/// the flow's client. Every count the call rules read is taken from the device's side.
pub(super) fn device_is_server(f: &FlowSummary) -> bool {
    let r = &f.record;
    let (c, s) = (is_local(r.client.ip()), is_local(r.server.ip()));
    if c != s {
        return s;
    }
    let g = &f.media.signals;
    g.req_up == 0 && g.req_down > 0
}

/// The remote side and the device's side of a flow (see [`device_is_server`]).
fn remote_and_device(f: &FlowSummary) -> (SocketAddr, SocketAddr) {
    let r = &f.record;
    if device_is_server(f) {
        (r.client, r.server)
    } else {
        (r.server, r.client)
    }
}

/// A flow's media each way seen from the device: what it sent, then what it received.
fn sides(f: &FlowSummary) -> (&MediaDir, &MediaDir) {
    if device_is_server(f) {
        (&f.media.down, &f.media.up)
    } else {
        (&f.media.up, &f.media.down)
    }
}

/// The path to a call's remote as far as its main flow tells (who the remote is:
/// [`super::path`]); `infer` settles it with the capture's TURN facts and the call's legs.
fn via_relay(r: &FlowRecord, remote: SocketAddr) -> PeerKind {
    super::path::judge(r, remote, &super::turn::CaptureTurn::default(), 0).kind
}

/// The sentence that says why a group is a call (the rule and its numbers, on the main flow)
/// or an attempt.
fn call_evidence(
    group: &[&FlowSummary],
    g: &GroupMedia<'_>,
    v: &Verdict,
    main: &FlowSummary,
    dur: f64,
) -> String {
    let (up, down, big, best) = (g.up, g.down, g.big, g.best);
    if v.ringback && up.max(down) > 0 {
        let (lead, back, back_max) = if up >= down {
            (&g.media_up, &g.media_down, g.max_down)
        } else {
            (&g.media_down, &g.media_up, g.max_up)
        };
        return format!(
            "ringback or early media: {} media packets one way at {:.0}/s for {:.1} s (less than a ringing phase of {RINGING_MAX_SECS:.0} s) while the other side sent {} media packets of at most {} B, and no answered media; {}, {}",
            lead.packets,
            f64::from(lead.packets) / lead.duration().max(1e-3),
            lead.duration(),
            back.packets,
            back_max,
            plural(group.len() as u64, "flow"),
            plural(
                group.iter().map(|f| f.media.stun_packets).sum::<u32>(),
                "STUN packet"
            ),
        );
    }
    if !v.is_call() {
        return format!(
            "{} of call signalling and connectivity checks ({}) over {:.1} s without sustained two-way media ({} media packets out, {} in)",
            plural(group.len() as u64, "flow"),
            plural(
                group.iter().map(|f| f.media.stun_packets).sum::<u32>(),
                "STUN packet"
            ),
            dur,
            up,
            down
        );
    }
    let r = &main.record;
    let (m_up, m_down) = sides(main);
    let media_total = f64::from(up + down).max(1.0);
    let pps = |n: u32| if dur > 0.0 { f64::from(n) / dur } else { 0.0 };
    let (lead, reports) = (v.lead, v.reports);
    format!(
        "UDP {} <-> {}: {}; {:.0} media packets/s out ({}-{} B) and {:.0}/s in ({}-{} B) over {:.1} s, {} s of unbroken two-way media, {:.0}% video-sized packets{}",
        r.client,
        r.server,
        if v.two_way {
            format!(
                "{up} media packets out and {down} in across {}",
                plural(group.len() as u64, "flow")
            )
        } else if v.one_way {
            format!(
                "{lead} media packets one way while the other side sent {reports} RTCP receiver reports"
            )
        } else if v.live {
            let back = if up >= down {
                &g.alive_down
            } else {
                &g.alive_up
            };
            format!(
                "{lead} media packets one way for longer than a ringing phase ({RINGING_MAX_SECS:.0} s) while the other side answered throughout with {} RTCP reports and STUN messages, at least one per {LIVE_REPORT_MAX_GAP_SECS} s (a live receiver: RFC 3550 §6.2, RFC 7675 §5.1)",
                back.packets
            )
        } else {
            format!(
                "RTP streams both ways ({} packets out, {} in, sequence numbers in order)",
                g.rtp_up.packets, g.rtp_down.packets
            )
        },
        pps(m_up.packets),
        m_up.min_payload,
        m_up.max_payload,
        pps(m_down.packets),
        m_down.min_payload,
        m_down.max_payload,
        dur,
        best,
        100.0 * f64::from(big) / media_total,
        r.stun
            .as_ref()
            .map(|s| format!(", after STUN ({s})"))
            .unwrap_or_default()
    )
}

/// First and last packet of a group's flows.
fn flows_span(group: &[&FlowSummary]) -> (f64, f64) {
    (
        group
            .iter()
            .map(|f| f.record.first_ts)
            .fold(f64::MAX, f64::min),
        group
            .iter()
            .map(|f| f.record.last_ts)
            .fold(f64::MIN, f64::max),
    )
}

/// First and last media packet of an attempt's media, either way.
fn media_span(g: &GroupMedia<'_>) -> (f64, f64) {
    let a = g
        .media_up
        .span()
        .map(|s| s.0)
        .into_iter()
        .chain(g.media_down.span().map(|s| s.0));
    let b = g
        .media_up
        .span()
        .map(|s| s.1)
        .into_iter()
        .chain(g.media_down.span().map(|s| s.1));
    (a.fold(f64::MAX, f64::min), b.fold(f64::MIN, f64::max))
}

/// Judge one group of call flows: a call, an attempt of a named service, or nothing.
fn call_event(group: &[&FlowSummary]) -> Option<Leg> {
    let service = group.iter().find_map(|f| call_service(&f.record));
    let any_marker = group.iter().any(|f| {
        f.record.stun.is_some()
            || f.media.stun_packets > 0
            || f.record.service_role == Some(Role::Call)
    });
    let g = GroupMedia::gather(group);
    let main = g.main?;
    let v = judge(&g);
    let is_call = v.is_call();
    if !is_call && !any_marker {
        return None;
    }
    let flows: Vec<FlowRef> = group.iter().map(|f| flow_ref(&f.record)).collect();
    let r = &main.record;
    let (start, end) = call_span(group, &g, &v)?;
    let media_total = f64::from(g.up + g.down).max(1.0);
    let video = is_call && f64::from(g.big) / media_total >= VIDEO_SHARE;
    let (remote, device) = remote_and_device(main);
    let relay = via_relay(r, remote);
    let peer = remote;
    let dur = (end - start).max(0.0);
    let kind = match (is_call, video) {
        (false, _) => EventKind::CallAttempt,
        (true, true) => EventKind::VideoCall,
        (true, false) => EventKind::VoiceCall,
    };
    let evidence = call_evidence(group, &g, &v, main, dur);
    let media_span =
        (!is_call && (g.up.max(g.down) >= RTP_CALL_MIN_PACKETS)).then(|| media_span(&g));
    let key = service.as_ref().map(|s| (s.clone(), device.ip(), remote));
    let event = Event {
        id: 0,
        kind,
        service,
        start_ts: start,
        end_ts: end,
        direction: Direction::Both,
        bytes_out: g.bytes_out,
        bytes_in: g.bytes_in,
        packets_out: g.pk_out,
        packets_in: g.pk_in,
        flows,
        peer_ip: Some(peer.ip()),
        peer_asn: r.asn,
        peer_as_org: r.as_org.clone(),
        peer_country: r.country.clone(),
        peer_city: r.city.clone(),
        peer_kind: Some(relay),
        size_class: None,
        confidence: if is_call { 0.8 } else { 0.6 },
        evidence,
    };
    let hosts = Some((device.ip(), peer.ip()));
    // A pre-warm: STUN alone (no media, RTCP or DTLS, no ICE check, no TURN permission for a
    // peer) to one remote address, answered at most twice; or nothing at all but packets too
    // small for media (latency pings to a service's voice servers, `ndpi/discord.pcap`). An app allocates a relay or learns
    // its public address ahead of a call it may never place (RFC 8656 §7: an allocation names
    // no peer until CreatePermission or ChannelBind; RFC 8445 §5.1.1.2: gathering asks a STUN
    // server, checks go to the peer).
    let remotes: std::collections::BTreeSet<IpAddr> =
        group.iter().map(|f| remote_and_device(f).0.ip()).collect();
    let prewarm = !is_call
        && g.up + g.down == 0
        && !g.placed
        && group.iter().all(|f| f.media.control_packets == 0)
        && (group.iter().all(|f| f.media.stun_packets == 0)
            || (remotes.len() == 1 && g.stun_in <= PREWARM_MAX_ANSWERS));
    // Unnamed STUN without a call: checks of something unknown, a leg of a call of the same
    // device and time (which lends it its service), never an attempt of its own; unless both
    // sides sent STUN requests on one flow: two ICE agents checking each other's candidates
    // (RFC 8445 §7.2), which is how a real-time media session of any service is set up
    // (`zeek/tls__webrtc-stun.pcap`: ICE checks each way, then DTLS-SRTP keying).
    let checked_each_way = group
        .iter()
        .any(|f| f.media.turn.requests_up > 0 && f.media.turn.requests_down > 0);
    let bare = prewarm || (!is_call && event.service.is_none() && !checked_each_way);
    let flows_span = flows_span(group);
    Some(Leg {
        event,
        key,
        is_call,
        media: g.up + g.down,
        big: g.big,
        media_span,
        hosts,
        remote,
        flows_span,
        bare,
    })
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{Trace, ip, named, secs};
    use super::*;
    use crate::flow::Dir;

    const PHONE: &str = "192.168.1.10";
    const PEER: &str = "203.0.113.7";

    /// Voice both ways for `dur` seconds from `start`: RTP at 50 packets a second of `len`
    /// bytes each way, between the client port `ports.0` and the server port `ports.1`.
    fn call(start: f64, dur: f64, ports: (u16, u16), len: usize) -> Trace {
        Trace::udp(ports.0, ports.1)
            .rtp((start, dur), 50, Dir::Up, 0x1111, len)
            .rtp((start + 0.01, dur), 50, Dir::Down, 0x2222, len)
    }

    fn events(flows: &[FlowSummary]) -> Vec<Event> {
        let mut out = Vec::new();
        calls(flows, &mut out);
        out
    }

    #[test]
    fn two_way_rtp_at_a_codecs_rate_is_a_voice_call() {
        let e = events(&[call(0.0, 5.0, (40_000, 50_000), 120).flow(PHONE, PEER)]);
        assert_eq!(e.len(), 1, "{e:#?}");
        assert_eq!(e[0].kind, EventKind::VoiceCall);
        assert_eq!(e[0].peer_ip, Some(ip(PEER)));
        // A documentation address is neither a known relay nor an access network.
        assert_eq!(e[0].peer_kind, Some(PeerKind::Unknown));
        assert!(
            (e[0].start_ts - secs(0.0)).abs() < 0.05,
            "{}",
            e[0].start_ts
        );
        assert!((e[0].end_ts - secs(5.0)).abs() < 0.05, "{}", e[0].end_ts);
        assert!(
            e[0].evidence
                .contains("250 media packets out and 250 in across 1 flow"),
            "{}",
            e[0].evidence
        );
        // The same call with video-sized packets is a video call.
        let e = events(&[call(0.0, 5.0, (40_000, 50_000), 900).flow(PHONE, PEER)]);
        assert_eq!(e[0].kind, EventKind::VideoCall);
    }

    #[test]
    fn media_one_way_is_an_attempt_of_a_named_service_and_nothing_unnamed() {
        let one_way = || {
            Trace::udp(40_000, 50_000)
                .rtp((0.0, 3.0), 50, Dir::Up, 0x1111, 120)
                .flow(PHONE, PEER)
        };
        let e = events(&[named(one_way(), "WhatsApp", Role::Call)]);
        assert_eq!(e.len(), 1, "{e:#?}");
        assert_eq!(e[0].kind, EventKind::CallAttempt);
        assert_eq!(e[0].service.as_deref(), Some("WhatsApp"));
        assert!(events(&[one_way()]).is_empty());
    }

    #[test]
    fn a_relay_port_or_a_service_marker_alone_says_nothing_of_the_path() {
        let e = events(&[call(0.0, 5.0, (40_000, 3478), 120).flow(PHONE, PEER)]);
        assert_eq!(e[0].peer_kind, Some(PeerKind::Unknown));
        let mut f = call(0.0, 5.0, (40_000, 50_000), 120).flow(PHONE, PEER);
        f.record.service_evidence = vec![crate::model::Evidence::new(
            crate::model::EvidenceKind::StunAttr,
            "0x4000",
        )];
        assert_eq!(events(&[f])[0].peer_kind, Some(PeerKind::Unknown));
    }

    #[test]
    fn a_peer_on_a_private_address_is_direct() {
        let e = events(&[call(0.0, 5.0, (40_000, 50_000), 120).flow(PHONE, "192.168.1.20")]);
        assert_eq!(e[0].peer_kind, Some(PeerKind::Direct));
        assert_eq!(e[0].peer_ip, Some(ip("192.168.1.20")));
    }

    #[test]
    fn a_leg_the_other_party_opened_names_it_as_the_peer() {
        // The server side is the device: the remote is the client.
        let e = events(&[call(0.0, 5.0, (50_000, 40_000), 120).flow(PEER, PHONE)]);
        assert_eq!(e[0].peer_ip, Some(ip(PEER)));
        assert_eq!(e[0].peer_kind, Some(PeerKind::Unknown));
    }

    #[test]
    fn a_name_only_the_network_gave_does_not_name_the_call() {
        let company = |name: &str, services: &[&str]| FlowRecord {
            service: Some(name.into()),
            company_services: services.iter().map(|s| s.to_string()).collect(),
            ..FlowRecord::default()
        };
        let meta = company("Meta", &["WhatsApp", "Messenger", "Instagram"]);
        assert_eq!(call_service(&meta), None);
        assert_eq!(
            call_service(&company("Telegram", &["Telegram"])).as_deref(),
            Some("Telegram")
        );
        assert_eq!(
            call_service(&company("WhatsApp", &[])).as_deref(),
            Some("WhatsApp")
        );
        // Apple's network runs Apple Push and iMessage: "Apple" names no app.
        assert_eq!(
            call_service(&company("Apple", &["Apple Push", "iMessage"])),
            None
        );
        // A check to Meta's network on the device's socket, then the call on the same socket:
        // the call is WhatsApp's, not Meta's, though the check comes first.
        let mut check = Trace::udp(40_000, 3478)
            .send(
                0.0,
                Dir::Up,
                &crate::scenario::stun_binding_request([1; 12], &[]),
            )
            .flow(PHONE, "157.240.1.1");
        check.record.service = meta.service.clone();
        check.record.company_services = meta.company_services.clone();
        let media = named(
            call(1.0, 5.0, (40_000, 50_000), 120).flow(PHONE, PEER),
            "WhatsApp",
            Role::Call,
        );
        let e = events(&[check, media]);
        assert_eq!(e.len(), 1, "{e:#?}");
        assert_eq!(e[0].service.as_deref(), Some("WhatsApp"));
        assert_eq!(e[0].flows.len(), 2);
    }

    /// `n` RTCP receiver reports `dir`, one every `gap` seconds from `start`.
    fn reports(mut t: Trace, start: f64, gap: f64, n: u32, dir: Dir) -> Trace {
        for i in 0..n {
            let p = crate::scenario::rtcp_receiver_report(0x5151, 0x1111);
            t = t.send(start + gap * f64::from(i), dir, &p);
        }
        t
    }

    #[test]
    fn one_way_media_answered_by_sparse_receiver_reports_is_a_call() {
        // RTP one way for 60 s, an RTCP receiver report back every 5 s (RFC 3550 §6.2).
        let t = Trace::udp(40_000, 50_000).rtp((0.0, 60.0), 50, Dir::Up, 0x1111, 160);
        let e = events(&[reports(t, 2.5, 5.0, 12, Dir::Down).flow(PHONE, PEER)]);
        assert_eq!(e.len(), 1, "{e:#?}");
        assert_eq!(e[0].kind, EventKind::VoiceCall);
        assert!((e[0].end_ts - e[0].start_ts - 60.0).abs() < 0.1, "{e:#?}");
        assert!(
            e[0].evidence.contains("a live receiver"),
            "{}",
            e[0].evidence
        );
        // The reports stop after 10 s: nobody is listening to the rest, no call.
        let t = Trace::udp(40_000, 50_000).rtp((0.0, 60.0), 50, Dir::Up, 0x1111, 160);
        let e = events(&[named(
            reports(t, 2.5, 5.0, 2, Dir::Down).flow(PHONE, PEER),
            "WhatsApp",
            Role::Call,
        )]);
        assert_eq!(e.len(), 1, "{e:#?}");
        assert_eq!(e[0].kind, EventKind::CallAttempt);
    }

    #[test]
    fn ringback_is_an_attempt() {
        // 50 packets/s one way for 15 s, a small packet back every 2 s, then nothing.
        let mut t = Trace::udp(40_000, 50_000).rtp((0.0, 15.0), 50, Dir::Up, 0x1111, 160);
        for i in 0..8 {
            t = t.opaque(1.0 + 2.0 * f64::from(i), Dir::Down, 30);
        }
        let e = events(&[named(t.flow(PHONE, PEER), "WhatsApp", Role::Call)]);
        assert_eq!(e.len(), 1, "{e:#?}");
        assert_eq!(e[0].kind, EventKind::CallAttempt);
        assert!(
            e[0].evidence.starts_with("ringback or early media"),
            "{}",
            e[0].evidence
        );
        // Silence descriptors at 4/s would make two-way seconds: still ringback.
        let t = Trace::udp(40_000, 50_000)
            .rtp((0.0, 15.0), 50, Dir::Up, 0x1111, 160)
            .records(0.1, 0.25, 60, Dir::Down, 30);
        let e = events(&[named(t.flow(PHONE, PEER), "WhatsApp", Role::Call)]);
        assert_eq!(e[0].kind, EventKind::CallAttempt, "{e:#?}");
        // Speech-sized packets back at a codec's rate: an answered call.
        let e = events(&[call(0.0, 15.0, (40_000, 50_000), 160).flow(PHONE, PEER)]);
        assert_eq!(e[0].kind, EventKind::VoiceCall, "{e:#?}");
    }

    #[test]
    fn a_quic_download_on_443_is_not_call_media() {
        // Short-header packets (first byte 0x40-0x7F) at a video call's rate both ways.
        let mut t = Trace::udp(50_000, 443);
        for i in 0..1000 {
            let s = 0.01 * f64::from(i);
            t = t.send(s, Dir::Down, &[0x45; 1200]);
            if i % 4 == 0 {
                t = t.send(s + 0.005, Dir::Up, &[0x52; 40]);
            }
        }
        let f = t.flow(PHONE, PEER);
        assert_eq!((f.media.up.packets, f.media.down.packets), (0, 0));
        assert!(!call_candidate(&f));
        // Even on an address range a naming gives the role "call", no call and no attempt.
        assert!(events(&[named(f, "WhatsApp", Role::Call)]).is_empty());
    }

    #[test]
    fn counts_are_taken_from_the_devices_side() {
        // Caught mid-stream: the first packet came from the peer, so the record's client is the
        // peer. The device sends video (Down in the record) and receives voice.
        let t = Trace::udp(50_000, 40_000)
            .rtp((0.0, 10.0), 50, Dir::Down, 0x1111, 900)
            .rtp((0.01, 10.0), 50, Dir::Up, 0x2222, 120);
        let e = events(&[t.flow(PEER, PHONE)]);
        assert_eq!(e.len(), 1, "{e:#?}");
        assert_eq!(e[0].peer_ip, Some(ip(PEER)));
        assert!(e[0].bytes_out > 5 * e[0].bytes_in, "{e:#?}");
        assert!(
            e[0].evidence.contains("/s out (900-900 B)"),
            "{}",
            e[0].evidence
        );
        // Neither side local: the device is the side that sent the STUN requests.
        let stun = crate::scenario::stun_binding_request([5; 12], &[]);
        let f = Trace::udp(3478, 40_000)
            .send(0.0, Dir::Down, &stun)
            .flow("198.51.100.9", "203.0.113.50");
        assert!(device_is_server(&f));
        assert_eq!(remote_and_device(&f).0.ip(), ip("198.51.100.9"));
    }

    #[test]
    fn rtp_on_another_socket_pair_joins_the_peers_checks() {
        // ICE checks on one pair of ports, then the media on another pair to the same peer.
        let check = crate::scenario::stun_binding_request([9; 12], &[(0x0024, &[0, 0, 0, 1])]);
        let stun = Trace::udp(40_000, 50_000)
            .send(0.0, Dir::Up, &check)
            .send(5.0, Dir::Up, &check)
            .flow(PHONE, PEER);
        let media = call(1.0, 10.0, (40_002, 50_002), 120).flow(PHONE, PEER);
        let e = events(&[stun, media]);
        assert_eq!(e.len(), 1, "{e:#?}");
        assert_eq!(e[0].flows.len(), 2, "{e:#?}");
        // Another peer's checks stay apart.
        let stun = Trace::udp(40_000, 50_000)
            .send(0.0, Dir::Up, &check)
            .flow(PHONE, "198.51.100.77");
        let media = call(1.0, 10.0, (40_002, 50_002), 120).flow(PHONE, PEER);
        let e = events(&[stun, media]);
        assert_eq!(e[0].flows.len(), 1, "{e:#?}");
    }
}
