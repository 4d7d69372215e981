//! The per-packet counters of one flow ([`MediaStats`]) and the thresholds they apply: media
//! each way, two-way seconds, RTP streams, bulk bursts, message exchanges, wakeups after idle
//! and runs of answered small records. Everything here is updated in O(1) per packet and kept
//! in bounded space; the families of rules (calls, transfers, messages, background) read the
//! finished counters.

use crate::capture::Timestamp;
use crate::decode::{Packet, proto};
use crate::dissect::h225::{H225_PORT, H225Calls};
use crate::dissect::iax::{IAX_PORT, IaxCalls};
use crate::dissect::rtp::{self, UdpMediaKind};
use crate::dissect::sip::{SIP_PORT, SipDialogs};
use crate::flow::Dir;

use super::signalling::StunSignals;

/// UDP payloads up to this size are not media: keep-alives, receipts and control messages of
/// call protocols are shorter; the smallest audio frames (Opus at 6 kbit/s, 20 ms, plus RTP and
/// SRTP overhead) are larger. The corpus labels use the same cut (labels-method.md: "more than
/// 12 B of payload").
pub const MEDIA_MIN_PAYLOAD: u32 = 12;
/// A media packet larger than this carries video: audio frames stay well below (the labels
/// saw no voice packet above ~550 B in WhatsApp calls), video frames are split at the MTU.
pub const VIDEO_PAYLOAD: u32 = 500;
/// A second counts as "two-way media" with at least this many media packets each way. Voice
/// codecs send 16 to 50 packets a second; WhatsApp's 2015 calls in the corpus ran at 4 to 8.
pub const TWO_WAY_PPS: u16 = 2;
/// A TCP or UDP packet with more payload than this belongs to a bulk transfer (the labels'
/// media_transfer rows use the same threshold, labels-method.md).
pub const BULK_PAYLOAD: u32 = 500;
/// A bulk burst ends after this much silence in its direction (labels-method.md splits bursts
/// on idle gaps; uploads on mobile links pause for seconds while the sender waits for window
/// updates, as the corpus's WhatsApp uploads show, while two media sent by hand are further
/// apart).
pub const BULK_GAP_SECS: i64 = 5;
/// Bursts smaller than this are not reported as media: a text message, a receipt or a profile
/// thumbnail stays below (measured on the corpus: message bursts are under 2 KB).
pub const BULK_MIN_BYTES: u64 = 15_000;
/// Bursts smaller than [`BULK_MIN_BYTES`] are kept from this size on, as parts of a transfer
/// spread over parallel connections (an app fetching a feed's photos over about 12
/// connections at once, `ndpi/instagram.pcap`: 3.5 to 58 KB each); one packet of bulk size
/// alone is not a part.
pub const BULK_PART_MIN_BYTES: u64 = 1_500;
/// Bulk bursts kept apart per flow and direction: a chat connection's media of a busy hour (a
/// few dozen photos and voice notes) stays separate transfers. Past it, the two bursts closest
/// in time are merged into one (counted in [`MediaStats::bursts_merged`]), so no byte is lost
/// and sizes stay right; a burst costs 32 bytes, so a flow holds at most 4 KiB of them.
pub const MAX_BURSTS: usize = 64;
/// A message exchange (the message, its acknowledgement, delivery and read receipts) ends after
/// this much silence: in the corpus's labelled WhatsApp, Viber and Threema messages the records
/// of one exchange follow each other within 0.1 to 0.6 s, and separate messages are seconds
/// apart.
pub const MSG_GAP_NANOS: i64 = 1_000_000_000;
/// The record that starts a message carries at least this much payload: in the labelled
/// exchanges, messages are 150 B and more while typing indicators, receipts and acks are 38 to
/// 80 B (WhatsApp pads records only lightly).
pub const MSG_MIN_PAYLOAD: u32 = 120;
/// Message exchanges kept per flow (a chat connection of an evening holds dozens); further
/// ones are counted in [`MediaStats::messages_dropped`].
pub const MAX_MESSAGES: usize = 64;
/// Records up to this size are typing indicators, receipts and acks rather than messages
/// (labelled WhatsApp exchanges in `wissamnd/whatsappCall.pcapng`: 41-B and 55-B chat-state
/// records, 60-79-B receipts and acks, messages from 188 B).
pub const SMALL_RECORD: u32 = 100;
/// A push channel is idle after this much silence; an inbound exchange after it is a push.
/// APNs and vendor push channels in the corpus send heartbeats every 50 to 300 s
/// (`ndpi/jabber.pcap`, `wissamnd/whatsappCall.pcapng`'s TCP/5223) and otherwise stay silent.
pub const PUSH_IDLE_NANOS: i64 = 30_000_000_000;
/// Inbound exchanges smaller than this are heartbeats, not pushes: the vendor heartbeats of
/// the corpus are 32-37 B each way, Apple's pushes 100-309 B (`ndpi/whatsapp_login_chat.pcap`).
pub const PUSH_MIN_PAYLOAD: u64 = 64;
/// Wakeups kept per flow (a push channel of a day holds a few hundred at most).
pub const MAX_WAKEUPS: usize = 64;
/// "Careless Whisper" (Gegenhuber et al., RAID 2025): an attacker sends silent messages
/// (reactions to nonexistent messages, deletes) that show nothing to the victim, whose device
/// still answers each with a delivery receipt; round-trip times leak the device's state. The
/// inbound records stay up to this size (a reaction or delete is a short message)...
pub const PROBE_IN_MAX: u32 = 600;
/// ...the answer up to this size (receipts of the corpus: 60-79 B)...
pub const RECEIPT_MAX: u32 = 150;
/// ...comes within this time of the inbound record (the labelled receipts follow within
/// 0.1-0.6 s)...
pub const RECEIPT_ANSWER_NANOS: i64 = 1_000_000_000;
/// ...and the next inbound record comes within this time: the paper probes at one per second
/// or faster, while people's messages come seconds to minutes apart.
pub const PROBE_PERIOD_NANOS: i64 = 2_000_000_000;
/// A run needs at least this many answered records: ten seconds of probing at 1/s; a burst of
/// a group chat's messages rarely gives ten answered records in a row at that pace.
pub const PROBE_MIN_PAIRS: u32 = 10;
/// ...lasts at least this long: the attack tracks a victim's device state continuously, for
/// minutes to hours, at about one probe a second (Gegenhuber et al., RAID 2025), while a burst
/// of a group chat's messages, or a history sync, lasts seconds. A minute at the paper's rate
/// is 60 answered records.
pub const PROBE_MIN_SECS: f64 = 60.0;
/// ...and comes at a steady pace: the coefficient of variation (standard deviation over mean)
/// of the intervals between inbound records stays below this. A prober's timer is periodic
/// (CV near 0, plus network jitter); people's messages arrive in bursts, at least as irregular
/// as a Poisson process (CV 1).
pub const PROBE_MAX_CV: f64 = 0.5;
/// Receipt runs kept per flow.
pub const MAX_RECEIPT_RUNS: usize = 16;
/// An RTP stream's sequence number advances by at most this much between captured packets:
/// losses of a few packets in a row are common on mobile links, a random 16-bit value lands
/// in this window once in 4096 packets.
pub const RTP_SEQ_STEP_MAX: u16 = 16;
/// An RTP stream is settled (a new SSRC no longer replaces it) after this many packets in
/// sequence; before, a packet that only looks like RTP does not lock the stream.
const RTP_STREAM_SETTLED: u32 = 3;
/// Media before a silence this long is a bandwidth probe, not the call, when it lasted less
/// than [`PROBE_MAX_NANOS`] and was the flow's first media: LINE (`ndpi/line.pcap`: 18 x 549 B
/// each way, then 7 s of ringing) and WhatsApp (`ndpi/wa_video.pcap`: 480-B burst both ways,
/// then 8 s of ringing) probe the path before the callee answers.
pub const PROBE_GAP_NANOS: i64 = 5_000_000_000;
/// See [`PROBE_GAP_NANOS`]: the probes in the corpus last 0.1 to 0.6 s.
pub const PROBE_MAX_NANOS: i64 = 2_000_000_000;

/// TCP's SYN flag (RFC 9293 section 3.1).
const TCP_SYN: u8 = 0x02;

/// The kinds of XMPP stanza a record can begin with (RFC 6120 section 8): a message for a
/// person, or the others (presence and info/query).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stanza {
    Message,
    Other,
}

/// The stanza a cleartext XMPP record begins with, from its first bytes only. A record of an
/// encrypted stream (TLS after STARTTLS, or any other protocol) begins with no such tag.
fn xmpp_stanza(payload: &[u8]) -> Option<Stanza> {
    let tag = |name: &[u8]| {
        payload.len() > name.len()
            && payload.starts_with(name)
            && matches!(
                payload[name.len()],
                b' ' | b'>' | b'/' | b'\t' | b'\r' | b'\n'
            )
    };
    if tag(b"<message") {
        Some(Stanza::Message)
    } else if tag(b"<presence") || tag(b"<iq") {
        Some(Stanza::Other)
    } else {
        None
    }
}

/// One exchange of records on a chat connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MsgBurst {
    pub start: Timestamp,
    pub end: Timestamp,
    pub bytes_up: u64,
    pub bytes_down: u64,
    pub packets_up: u32,
    pub packets_down: u32,
    /// Direction and size of the first record of at least [`MSG_MIN_PAYLOAD`] bytes.
    pub lead: Option<(Dir, u32)>,
    /// The exchange began with a record from the server.
    pub first_down: bool,
    /// The lead record came from the server right after a record of the device's (the last
    /// record before it in the exchange went up): the answer to the device's request.
    pub answer: bool,
    /// The latest record of the exchange went up (the device spoke last).
    pub last_up: bool,
    /// For an exchange whose lead came down and that the device left unanswered: nanoseconds
    /// from the exchange's end to the device's next record on the connection (`None` while it
    /// sent none). A late delivery receipt shows here.
    pub next_up_after: Option<i64>,
    /// A record of the exchange began with an XMPP stanza's tag in clear text (RFC 6120
    /// section 8: `<message`, `<presence`, `<iq`).
    pub xmpp: bool,
    /// The first cleartext XMPP `<message` stanza of the exchange: its direction and size.
    pub xmpp_message: Option<(Dir, u32)>,
    /// The first record the other side sent after the lead (0 when none did): a message is
    /// acknowledged with a small record or not at all, a request is answered.
    pub reply: u32,
    /// Silence on the connection before the exchange, in nanoseconds (0 for the first).
    pub idle_before: i64,
    /// Records of this exchange, by size: up to [`SMALL_RECORD`] (typing indicators,
    /// receipts, acks) and above, per direction (up, down).
    pub small: (u32, u32),
    /// Largest record per direction (up, down).
    pub max: (u32, u32),
}

/// An inbound exchange on a push channel after a silence.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Wakeup {
    pub start: Timestamp,
    pub end: Timestamp,
    pub idle_secs: u32,
    pub bytes_down: u64,
    pub bytes_up: u64,
}

/// A run of small inbound records, each answered by a small outbound one, at a steady pace.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReceiptRun {
    pub start: Timestamp,
    pub end: Timestamp,
    /// Inbound records answered within [`RECEIPT_ANSWER_NANOS`].
    pub pairs: u32,
    pub bytes_down: u64,
    pub bytes_up: u64,
    /// Largest inbound record and largest answer.
    pub max_down: u32,
    pub max_up: u32,
    /// Intervals between consecutive inbound records of the run: count, sum and sum of
    /// squares in milliseconds (their mean and spread, in constant space; an interval is at
    /// most `PROBE_PERIOD_NANOS`, so the sums cannot overflow in any capture).
    pub intervals: u32,
    pub interval_sum_ms: u64,
    pub interval_sq_sum_ms: u64,
    /// The run's latest inbound record.
    pub last_in: Timestamp,
}

impl ReceiptRun {
    /// Seconds from the first inbound record to the last answer.
    pub fn secs(&self) -> f64 {
        (self.end.as_secs_f64() - self.start.as_secs_f64()).max(0.0)
    }

    /// Coefficient of variation of the intervals between inbound records (0: perfectly
    /// periodic); `None` with fewer than two intervals.
    pub fn interval_cv(&self) -> Option<f64> {
        if self.intervals < 2 {
            return None;
        }
        let n = f64::from(self.intervals);
        let mean = self.interval_sum_ms as f64 / n;
        let var = (self.interval_sq_sum_ms as f64 / n - mean * mean).max(0.0);
        (mean > 0.0).then(|| var.sqrt() / mean)
    }

    /// Whether the run has the shape of silent-receipt probing: enough answered records,
    /// for long enough, at a steady pace.
    pub fn is_probe_like(&self) -> bool {
        self.pairs >= PROBE_MIN_PAIRS
            && self.secs() >= PROBE_MIN_SECS
            && self.interval_cv().is_some_and(|cv| cv <= PROBE_MAX_CV)
    }
}

/// One bulk burst.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Burst {
    pub start: Timestamp,
    pub end: Timestamp,
    pub packets: u32,
    /// Payload bytes of the burst's large packets.
    pub bytes: u64,
}

/// Per-direction media counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MediaDir {
    pub packets: u32,
    pub big: u32,
    pub bytes: u64,
    pub min_payload: u32,
    pub max_payload: u32,
    /// First and last media packet this way.
    pub first: Option<Timestamp>,
    pub last: Option<Timestamp>,
    /// RTCP packets this way: a receiver's reports show it is listening even when it sends
    /// no media (one-way video, a muted conference leg).
    pub rtcp: u32,
    /// First and last RTCP packet this way: reports spread over the other side's media show
    /// a live receiver (RFC 3550 §6.2: one report per 5 s interval at least).
    pub rtcp_first: Option<Timestamp>,
    pub rtcp_last: Option<Timestamp>,
    /// The RTP stream this way: packets of one SSRC whose sequence numbers advance by 1 to
    /// [`RTP_SEQ_STEP_MAX`] (encrypted payloads that merely start like RTP never line up).
    pub rtp: RtpStream,
    bin_packets: u16,
    bin_rtcp: u16,
    burst: Option<Burst>,
}

/// One direction's RTP stream, bounded to the first SSRC that repeats.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RtpStream {
    pub ssrc: u32,
    last_seq: u16,
    /// Packets of the stream in sequence (duplicates not counted).
    pub packets: u32,
    pub first: Option<Timestamp>,
    pub last: Option<Timestamp>,
}

impl RtpStream {
    fn observe(&mut self, ssrc: u32, seq: u16, ts: Timestamp) {
        if self.packets == 0 || (self.ssrc != ssrc && self.packets < RTP_STREAM_SETTLED) {
            *self = RtpStream {
                ssrc,
                last_seq: seq,
                packets: 1,
                first: Some(ts),
                last: Some(ts),
            };
            return;
        }
        if self.ssrc != ssrc {
            return;
        }
        let step = seq.wrapping_sub(self.last_seq);
        if (1..=RTP_SEQ_STEP_MAX).contains(&step) {
            self.packets += 1;
            self.last_seq = seq;
            self.last = Some(ts);
        }
    }
}

/// What the activity model needs of one flow, updated per packet.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MediaStats {
    pub up: MediaDir,
    pub down: MediaDir,
    pub first_media: Option<Timestamp>,
    pub last_media: Option<Timestamp>,
    pub stun_packets: u32,
    /// STUN messages each way, ICE checks and TURN peer messages (see [`StunSignals`]).
    pub signals: StunSignals,
    /// DTLS and RTCP packets.
    pub control_packets: u32,
    /// QUIC packets on UDP/443 (web traffic, not media).
    pub quic_packets: u32,
    /// First and last media packet inside a two-way media second: a call's media, as opposed
    /// to the relay exchanges and checks around it.
    pub first_two_way: Option<Timestamp>,
    pub last_two_way: Option<Timestamp>,
    bin_first: Option<Timestamp>,
    bin_last: Option<Timestamp>,
    /// Current one-second bin (seconds since the epoch).
    bin: i64,
    run_start: i64,
    run_len: u32,
    /// Longest run of consecutive two-way media seconds, and where it started.
    pub best_run: u32,
    pub best_run_start: i64,
    /// Media packets (up, down) inside two-way seconds: the call's media, without the probe
    /// bursts and keep-alives between them.
    pub two_way_packets: (u32, u32),
    /// Two-way media seconds in all (not only the longest run).
    pub two_way_secs: u32,
    /// Exchanges of records (payload-carrying packets separated by less than the message gap).
    pub messages: Vec<MsgBurst>,
    msg: Option<MsgBurst>,
    /// Exchanges seen so far (the first, the handshake and login, is not a message).
    msg_count: u32,
    /// The flow's first packet has been seen.
    started: bool,
    /// A TCP connection captured after its SYN: its first exchange is no login when the
    /// server began it (a client logs in; a server pushes on a connection already open).
    mid_stream: bool,
    /// Completed bulk bursts of at least [`BULK_MIN_BYTES`], per direction.
    pub bursts_up: Vec<Burst>,
    pub bursts_down: Vec<Burst>,
    /// Bulk bursts past [`MAX_BURSTS`] merged with a neighbour (their bytes kept), and message
    /// exchanges beyond [`MAX_MESSAGES`] that were not kept.
    pub bursts_merged: u32,
    pub messages_dropped: u32,
    /// Exchanges of small records only (none of [`MSG_MIN_PAYLOAD`]) after the login: typing
    /// indicators, read receipts, heartbeats (at most [`MAX_MESSAGES`]; further ones counted
    /// in `chatter_dropped`).
    pub chatter: Vec<MsgBurst>,
    pub chatter_dropped: u32,
    /// A probe burst that was set aside (first media, start and packets both ways).
    pub probe: Option<(Timestamp, u32)>,
    /// Inbound exchanges after at least [`PUSH_IDLE_NANOS`] of silence (at most
    /// [`MAX_WAKEUPS`]; further ones counted in `wakeups_dropped`).
    pub wakeups: Vec<Wakeup>,
    pub wakeups_dropped: u32,
    /// Runs of answered small inbound records (at most [`MAX_RECEIPT_RUNS`]; further ones
    /// counted in `receipt_runs_dropped`).
    pub receipt_runs: Vec<ReceiptRun>,
    pub receipt_runs_dropped: u32,
    run: Option<ReceiptRun>,
    pending_in: Option<(Timestamp, u32)>,
    /// The kept exchange (index in `messages`) whose lead came down and that the device has
    /// not answered yet.
    unanswered: Option<usize>,
    /// SIP requests and responses seen on the flow (port [`SIP_PORT`]).
    pub sip: SipDialogs,
    /// H.225.0 call signalling seen on the flow (TCP port [`H225_PORT`]).
    pub h225: H225Calls,
    /// IAX2 call set-up and voice frames seen on the flow (UDP port [`IAX_PORT`]), allocated
    /// at the flow's first packet on that port: other flows pay one pointer.
    pub iax: Option<Box<IaxCalls>>,
    /// TURN relays, peer candidates and Binding requests seen on the flow (a call's path).
    pub turn: super::turn::TurnFacts,
}

impl MediaStats {
    /// Account one packet of the flow.
    pub fn observe(&mut self, pkt: &Packet<'_>, dir: Dir) {
        if !self.started {
            self.started = true;
            self.mid_stream = pkt.tcp.is_some_and(|t| t.flags & TCP_SYN == 0);
        }
        let secs = pkt.ts.0.div_euclid(Timestamp::NANOS_PER_SEC);
        if pkt.payload_len > BULK_PAYLOAD {
            self.bulk(pkt, dir);
        }
        if pkt.payload_len > 0 {
            self.message(pkt, dir);
            if pkt.src_port == SIP_PORT || pkt.dst_port == SIP_PORT {
                self.sip.observe(pkt.payload, pkt.ts);
            }
            if pkt.proto == proto::TCP && (pkt.src_port == H225_PORT || pkt.dst_port == H225_PORT) {
                self.h225.observe(pkt.payload, pkt.ts);
            }
            if pkt.proto == proto::UDP && (pkt.src_port == IAX_PORT || pkt.dst_port == IAX_PORT) {
                self.iax.get_or_insert_with(Box::default).observe(
                    pkt.payload,
                    dir == Dir::Up,
                    pkt.ts,
                );
                // IAX2 frames are neither RTP nor STUN: the media rules leave them alone.
                return;
            }
        }
        if pkt.proto == proto::TCP && pkt.payload_len as usize >= crate::dissect::stun::HEADER_LEN {
            // STUN over TCP: TURN's TCP transport and ICE-TCP candidates carry a call's
            // signalling (and TURN's Send and Data indications its media) when UDP is blocked.
            for m in crate::dissect::stun::tcp_segment_messages(pkt.payload) {
                self.stun_packets += 1;
                self.signals.observe(m, dir, pkt.ts);
                self.turn.observe(m, dir);
            }
        }
        if pkt.proto != proto::UDP || pkt.payload_len <= MEDIA_MIN_PAYLOAD {
            return;
        }
        let kind = rtp::classify(pkt.payload);
        if kind == UdpMediaKind::Stun
            || (kind == UdpMediaKind::Other && crate::dissect::stun::looks_like_stun(pkt.payload))
        {
            self.signals.observe(pkt.payload, dir, pkt.ts);
        }
        match kind {
            UdpMediaKind::Stun => {
                self.stun_packets += 1;
                self.turn.observe(pkt.payload, dir);
                return;
            }
            // Vendor STUN methods outside RFC 7983's first-byte range (WhatsApp's 0x0800
            // teardown, `wissamnd/whatsappCall.pcapng`) still carry the magic cookie and a
            // length field that matches: signalling, not media.
            UdpMediaKind::Other if crate::dissect::stun::looks_like_stun(pkt.payload) => {
                self.stun_packets += 1;
                return;
            }
            // Key exchange and control, not media: DTLS handshakes precede the media of a call
            // that may never come, RTCP reports accompany it. The first byte alone is not
            // enough (encrypted media of Telegram or WhatsApp starts with any byte), so DTLS
            // needs its version field too (RFC 9147 §4: 0xFEFF or 0xFEFD).
            UdpMediaKind::Dtls if is_dtls_record(pkt.payload) => {
                self.control_packets += 1;
                return;
            }
            // QUIC on UDP/443 (RFC 9000 §17: long headers start 0b11, short headers 0b01;
            // Google QUIC up to Q043 starts with a public flags byte whose top bit is 0) is web
            // traffic, never call media, whatever its rate: a download's short-header packets
            // would otherwise read as video. RTP and RTCP (0b10), STUN (recognised above by its
            // cookie and length) and TURN ChannelData (0x40-0x4F, recognised by its length
            // field) are outside it; a gQUIC flags byte of 0x20-0x3F looks like a DTLS 1.3
            // header but carries no DTLS record.
            UdpMediaKind::Other | UdpMediaKind::Dtls if quic_on_443(pkt) => {
                self.quic_packets += 1;
                return;
            }
            UdpMediaKind::Rtcp { .. } => {
                self.control_packets += 1;
                if secs != self.bin {
                    self.close_bin(secs);
                }
                let d = self.dir_mut(dir);
                d.rtcp += 1;
                d.rtcp_first.get_or_insert(pkt.ts);
                d.rtcp_last = Some(pkt.ts);
                d.bin_rtcp = d.bin_rtcp.saturating_add(1);
                return;
            }
            _ => {}
        }
        if let Some(last) = self.last_media {
            self.drop_probe(pkt.ts, last, secs);
        }
        if secs != self.bin {
            self.close_bin(secs);
        }
        let d = self.dir_mut(dir);
        if let UdpMediaKind::Rtp { ssrc, seq, .. } = kind {
            d.rtp.observe(ssrc, seq, pkt.ts);
        }
        d.first.get_or_insert(pkt.ts);
        d.last = Some(pkt.ts);
        let p = pkt.payload_len;
        if d.packets == 0 || p < d.min_payload {
            d.min_payload = p;
        }
        d.max_payload = d.max_payload.max(p);
        d.packets += 1;
        d.bytes += u64::from(p);
        d.bin_packets = d.bin_packets.saturating_add(1);
        if p > VIDEO_PAYLOAD {
            d.big += 1;
        }
        self.bin_first.get_or_insert(pkt.ts);
        self.bin_last = Some(self.bin_last.map_or(pkt.ts, |t| t.max(pkt.ts)));
        self.first_media.get_or_insert(pkt.ts);
        self.last_media = Some(self.last_media.map_or(pkt.ts, |t| t.max(pkt.ts)));
    }

    fn dir_mut(&mut self, dir: Dir) -> &mut MediaDir {
        match dir {
            Dir::Up => &mut self.up,
            Dir::Down => &mut self.down,
        }
    }

    /// Set aside the flow's first media when it was a short probe followed by a long silence
    /// (see [`PROBE_GAP_NANOS`]): the call starts after it, and its padded packets say nothing
    /// about video.
    fn drop_probe(&mut self, now: Timestamp, last: Timestamp, secs: i64) {
        let Some(first) = self.first_media else {
            return;
        };
        if self.probe.is_some()
            || now.0 - last.0 < PROBE_GAP_NANOS
            || last.0 - first.0 >= PROBE_MAX_NANOS
        {
            return;
        }
        self.close_bin(secs);
        self.probe = Some((first, self.up.packets + self.down.packets));
        for d in [&mut self.up, &mut self.down] {
            *d = MediaDir {
                rtp: d.rtp,
                burst: d.burst,
                ..MediaDir::default()
            };
        }
        self.first_media = None;
        self.last_media = None;
        self.first_two_way = None;
        self.last_two_way = None;
        self.run_len = 0;
        self.best_run = 0;
        self.two_way_packets = (0, 0);
        self.two_way_secs = 0;
    }

    fn close_bin(&mut self, next: i64) {
        // A second is two-way when media flows one way and the other side sends media or its
        // receiver reports (RTCP): a listener that sends nothing still reports what it gets.
        let present = |d: &MediaDir| d.bin_packets.saturating_add(d.bin_rtcp) >= TWO_WAY_PPS;
        let two_way = (self.up.bin_packets >= TWO_WAY_PPS || self.down.bin_packets >= TWO_WAY_PPS)
            && present(&self.up)
            && present(&self.down);
        if two_way {
            self.two_way_packets.0 += u32::from(self.up.bin_packets);
            self.two_way_packets.1 += u32::from(self.down.bin_packets);
            self.two_way_secs += 1;
            if self.first_two_way.is_none() {
                self.first_two_way = self.bin_first;
            }
            if self.bin_last.is_some() {
                self.last_two_way = self.bin_last;
            }
            if self.run_len > 0 && self.bin == self.run_start + i64::from(self.run_len) {
                self.run_len += 1;
            } else {
                self.run_start = self.bin;
                self.run_len = 1;
            }
            if self.run_len > self.best_run {
                self.best_run = self.run_len;
                self.best_run_start = self.run_start;
            }
        }
        self.up.bin_packets = 0;
        self.down.bin_packets = 0;
        self.up.bin_rtcp = 0;
        self.down.bin_rtcp = 0;
        self.bin_first = None;
        self.bin_last = None;
        self.bin = next;
    }

    fn bulk(&mut self, pkt: &Packet<'_>, dir: Dir) {
        let merged = &mut self.bursts_merged;
        let (d, done) = match dir {
            Dir::Up => (&mut self.up, &mut self.bursts_up),
            Dir::Down => (&mut self.down, &mut self.bursts_down),
        };
        let gap = Timestamp::NANOS_PER_SEC * BULK_GAP_SECS;
        match &mut d.burst {
            Some(b) if pkt.ts.0 - b.end.0 <= gap => {
                b.end = b.end.max(pkt.ts);
                b.packets += 1;
                b.bytes += u64::from(pkt.payload_len);
            }
            slot => {
                if let Some(b) = slot.take() {
                    keep_burst(done, b, merged);
                }
                *slot = Some(Burst {
                    start: pkt.ts,
                    end: pkt.ts,
                    packets: 1,
                    bytes: u64::from(pkt.payload_len),
                });
            }
        }
    }

    fn message(&mut self, pkt: &Packet<'_>, dir: Dir) {
        let cont = self
            .msg
            .as_ref()
            .is_some_and(|m| pkt.ts.0 - m.end.0 <= MSG_GAP_NANOS);
        self.receipts(pkt, dir);
        if !cont {
            let idle_before = self.msg.as_ref().map_or(0, |m| pkt.ts.0 - m.end.0);
            self.close_message();
            self.msg = Some(MsgBurst {
                start: pkt.ts,
                end: pkt.ts,
                first_down: dir == Dir::Down,
                idle_before,
                ..MsgBurst::default()
            });
        }
        if dir == Dir::Up
            && let Some(i) = self.unanswered.take()
            && let Some(m) = self.messages.get_mut(i)
        {
            m.next_up_after = Some(pkt.ts.0 - m.end.0);
        }
        if let Some(m) = &mut self.msg {
            m.end = m.end.max(pkt.ts);
            let p = pkt.payload_len;
            match dir {
                Dir::Up => {
                    m.bytes_up += u64::from(p);
                    m.packets_up += 1;
                }
                Dir::Down => {
                    m.bytes_down += u64::from(p);
                    m.packets_down += 1;
                }
            }
            match dir {
                Dir::Up => m.max.0 = m.max.0.max(p),
                Dir::Down => m.max.1 = m.max.1.max(p),
            }
            if m.reply == 0 && m.lead.is_some_and(|(d, _)| d != dir) {
                m.reply = p;
            }
            if m.lead.is_none() && p >= MSG_MIN_PAYLOAD {
                m.lead = Some((dir, p));
                m.answer = dir == Dir::Down && m.last_up;
            }
            m.last_up = dir == Dir::Up;
            match xmpp_stanza(pkt.payload) {
                Some(Stanza::Message) => {
                    m.xmpp = true;
                    m.xmpp_message.get_or_insert((dir, p));
                }
                Some(Stanza::Other) => m.xmpp = true,
                None => {}
            }
            if p <= SMALL_RECORD {
                match dir {
                    Dir::Up => m.small.0 += 1,
                    Dir::Down => m.small.1 += 1,
                }
            }
        }
    }

    fn close_message(&mut self) {
        if let Some(m) = self.msg.take() {
            self.msg_count += 1;
            let push = m.first_down
                && self.msg_count > 1
                && m.idle_before >= PUSH_IDLE_NANOS
                && m.bytes_down >= PUSH_MIN_PAYLOAD;
            if push {
                if self.wakeups.len() < MAX_WAKEUPS {
                    self.wakeups.push(Wakeup {
                        start: m.start,
                        end: m.end,
                        idle_secs: u32::try_from(m.idle_before / Timestamp::NANOS_PER_SEC)
                            .unwrap_or(u32::MAX),
                        bytes_down: m.bytes_down,
                        bytes_up: m.bytes_up,
                    });
                } else {
                    self.wakeups_dropped += 1;
                }
            }
            let small = m.bytes_up + m.bytes_down < BULK_MIN_BYTES;
            // A cleartext `<message` stanza is one even inside the login's exchange: offline
            // messages are delivered right after it (RFC 6121 section 8.5.2.2).
            let after_login =
                self.msg_count > 1 || (self.mid_stream && m.first_down) || m.xmpp_message.is_some();
            if after_login && (m.lead.is_some() || m.xmpp_message.is_some()) && small {
                if self.messages.len() < MAX_MESSAGES {
                    if m.reply == 0 && m.lead.is_some_and(|(d, _)| d == Dir::Down) {
                        self.unanswered = Some(self.messages.len());
                    }
                    self.messages.push(m);
                } else {
                    self.messages_dropped += 1;
                }
            } else if self.msg_count > 1 && m.lead.is_none() && !push {
                if self.chatter.len() < MAX_MESSAGES {
                    self.chatter.push(m);
                } else {
                    self.chatter_dropped += 1;
                }
            }
        }
    }

    /// Track small inbound records answered by small outbound ones (see [`PROBE_IN_MAX`]).
    fn receipts(&mut self, pkt: &Packet<'_>, dir: Dir) {
        let p = pkt.payload_len;
        match dir {
            Dir::Down if p <= PROBE_IN_MAX => {
                // The answer follows the latest inbound record.
                self.pending_in = Some((pkt.ts, p));
            }
            Dir::Down => {
                // A large inbound record: a real message or media, not a probe.
                self.close_run();
                self.pending_in = None;
            }
            Dir::Up if p <= RECEIPT_MAX => {
                let Some((t_in, p_in)) = self.pending_in.take() else {
                    return;
                };
                if pkt.ts.0 - t_in.0 > RECEIPT_ANSWER_NANOS {
                    return;
                }
                let cont = self
                    .run
                    .as_ref()
                    .is_some_and(|r| t_in.0 - r.end.0 <= PROBE_PERIOD_NANOS);
                if !cont {
                    self.close_run();
                    self.run = Some(ReceiptRun {
                        start: t_in,
                        end: t_in,
                        last_in: t_in,
                        ..ReceiptRun::default()
                    });
                } else if let Some(r) = &mut self.run {
                    let gap = u64::try_from((t_in.0 - r.last_in.0) / 1_000_000).unwrap_or(0);
                    r.intervals += 1;
                    r.interval_sum_ms = r.interval_sum_ms.saturating_add(gap);
                    r.interval_sq_sum_ms = r.interval_sq_sum_ms.saturating_add(gap * gap);
                    r.last_in = t_in;
                }
                if let Some(r) = &mut self.run {
                    r.end = pkt.ts;
                    r.pairs += 1;
                    r.bytes_down += u64::from(p_in);
                    r.bytes_up += u64::from(p);
                    r.max_down = r.max_down.max(p_in);
                    r.max_up = r.max_up.max(p);
                }
            }
            Dir::Up => {
                // The user wrote something: not a silent probe.
                self.close_run();
                self.pending_in = None;
            }
        }
    }

    fn close_run(&mut self) {
        if let Some(r) = self.run.take() {
            if r.is_probe_like() {
                if self.receipt_runs.len() < MAX_RECEIPT_RUNS {
                    self.receipt_runs.push(r);
                } else {
                    self.receipt_runs_dropped += 1;
                }
            }
        }
    }

    /// Close the open bin and bursts (the flow ended).
    pub fn finish(&mut self) {
        self.close_run();
        self.close_message();
        let next = self.bin + 1;
        self.close_bin(next);
        if let Some(b) = self.up.burst.take() {
            keep_burst(&mut self.bursts_up, b, &mut self.bursts_merged);
        }
        if let Some(b) = self.down.burst.take() {
            keep_burst(&mut self.bursts_down, b, &mut self.bursts_merged);
        }
    }
}

fn is_dtls_record(p: &[u8]) -> bool {
    matches!(p, [20..=25, 0xfe, 0xff | 0xfd, ..])
}

/// A UDP packet to or from port 443 whose first byte may start a QUIC packet: IETF QUIC sets
/// the fixed bit (RFC 9000 §17.2 and §17.3: 0x40-0x7F short header, 0xC0-0xFF long header,
/// and Google QUIC from Q046 on uses the same invariant header, RFC 8999); Google QUIC up to
/// Q043 starts with public flags whose top bit is unused and 0 (0x00-0x7F: version 0x01,
/// 8-byte connection ID 0x08, nonce 0x04, packet number length 0x30). Everything but
/// RTP/RTCP version 2 (0x80-0xBF, RFC 3550 §5.1) is then QUIC's.
fn quic_on_443(pkt: &Packet<'_>) -> bool {
    (pkt.src_port == QUIC_PORT || pkt.dst_port == QUIC_PORT)
        && pkt
            .payload
            .first()
            .is_some_and(|b| !(0x80..=0xbf).contains(b))
}

/// HTTP/3 and other QUIC services listen on UDP 443 (RFC 9114 §3.1).
const QUIC_PORT: u16 = 443;

fn keep_burst(done: &mut Vec<Burst>, b: Burst, merged: &mut u32) {
    if b.bytes < BULK_PART_MIN_BYTES {
        return;
    }
    if done.len() >= MAX_BURSTS {
        // Full: the two kept bursts closest in time become one (bursts close in the order they
        // started), so every byte still counts.
        let closest = (0..done.len() - 1).min_by_key(|&i| done[i + 1].start.0 - done[i].end.0);
        if let Some(i) = closest {
            let next = done.remove(i + 1);
            let d = &mut done[i];
            d.end = d.end.max(next.end);
            d.packets = d.packets.saturating_add(next.packets);
            d.bytes += next.bytes;
        }
        *merged += 1;
    }
    done.push(b);
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{Trace, at};
    use super::*;
    use crate::scenario::stun_binding_request;

    /// A receipt run whose inbound records come at these offsets (ms), each answered 150 ms
    /// later.
    fn run_at(offsets_ms: &[i64]) -> ReceiptRun {
        let mut r = ReceiptRun::default();
        for (i, &ms) in offsets_ms.iter().enumerate() {
            let t = Timestamp(ms * 1_000_000);
            if i == 0 {
                r.start = t;
            } else {
                let gap = u64::try_from((t.0 - r.last_in.0) / 1_000_000).unwrap_or(0);
                r.intervals += 1;
                r.interval_sum_ms += gap;
                r.interval_sq_sum_ms += gap * gap;
            }
            r.last_in = t;
            r.end = Timestamp(t.0 + 150_000_000);
            r.pairs += 1;
        }
        r
    }

    #[test]
    fn quic_on_443_is_never_media_but_rtp_on_443_is() {
        // A download's short-header packets (first byte 0x40-0x7F) at a video call's rate.
        let mut t = Trace::udp(50_000, 443);
        for i in 0..200 {
            let mut p = vec![0x45u8; 1200];
            p[1] = i as u8;
            t = t.send(0.01 * f64::from(i), Dir::Down, &p);
        }
        let m = t.stats();
        assert_eq!((m.down.packets, m.quic_packets), (0, 200));
        // RTP to the same port (first byte 0b10) is media.
        let m = Trace::udp(50_001, 443)
            .rtp((0.0, 2.0), 50, Dir::Up, 0x2222, 160)
            .stats();
        assert_eq!((m.up.packets, m.quic_packets), (100, 0));
        // Google QUIC's public header (Q043 and older): a client's first packet (flags 0x0D:
        // version, 8-byte connection ID, nonce), a server's (0x28: no connection ID, 6-byte
        // packet number, which also looks like a DTLS 1.3 header).
        let mut t = Trace::udp(50_003, 443);
        for i in 0..100 {
            let mut p = vec![if i % 2 == 0 { 0x0du8 } else { 0x28 }; 1350];
            p[1] = i as u8;
            t = t.send(0.01 * f64::from(i), Dir::Down, &p);
        }
        let m = t.stats();
        assert_eq!((m.down.packets, m.quic_packets), (0, 100));
        // The same first bytes on another port are not QUIC's to claim.
        let m = Trace::udp(50_002, 3478)
            .send(0.0, Dir::Down, &[0x45u8; 200])
            .stats();
        assert_eq!((m.down.packets, m.quic_packets), (1, 0));
    }

    #[test]
    fn bursts_past_the_cap_merge_and_keep_every_byte() {
        let burst = |i: i64| Burst {
            start: Timestamp(i * 60_000_000_000),
            end: Timestamp(i * 60_000_000_000 + 2_000_000_000),
            packets: 20,
            bytes: 20_000 + i as u64,
        };
        let mut done = Vec::new();
        let mut merged = 0;
        let n = MAX_BURSTS as i64 + 5;
        for i in 0..n {
            keep_burst(&mut done, burst(i), &mut merged);
        }
        assert_eq!(done.len(), MAX_BURSTS);
        assert_eq!(merged, 5);
        let total: u64 = (0..n).map(|i| burst(i).bytes).sum();
        assert_eq!(done.iter().map(|b| b.bytes).sum::<u64>(), total);
        assert!(done.windows(2).all(|w| w[0].end <= w[1].start));
    }

    #[test]
    fn probing_needs_a_minute_at_a_steady_pace() {
        // The paper's prober: one a second, with up to 100 ms of network jitter.
        let steady: Vec<i64> = (0..90).map(|i| i * 1000 + (i * 37) % 100).collect();
        let r = run_at(&steady);
        assert!(
            r.interval_cv().is_some_and(|cv| cv < 0.1),
            "{:?}",
            r.interval_cv()
        );
        assert!(r.is_probe_like());
        // The same pace for half a minute: not yet.
        assert!(!run_at(&steady[..30]).is_probe_like());
        // A group chat's burst as long, answered alike, but bursty: short and long gaps.
        let mut t = 0;
        let bursty: Vec<i64> = (0..90)
            .map(|i| {
                t += if i % 3 == 0 { 1900 } else { 150 };
                t
            })
            .collect();
        let b = run_at(&bursty);
        assert!(b.secs() >= PROBE_MIN_SECS);
        assert!(b.interval_cv().is_some_and(|cv| cv > PROBE_MAX_CV));
        assert!(!b.is_probe_like());
    }

    #[test]
    fn media_is_counted_each_way_apart_from_stun_and_receiver_reports() {
        let m = Trace::udp(40_000, 3478)
            .send(0.0, Dir::Up, &stun_binding_request([7; 12], &[]))
            .rtp((1.0, 2.0), 50, Dir::Up, 0x1111, 120)
            .rtcp((1.0, 2.0), 5, Dir::Down)
            .stats();
        assert_eq!((m.up.packets, m.down.packets), (100, 0));
        assert_eq!(
            (m.up.min_payload, m.up.max_payload, m.up.big),
            (120, 120, 0)
        );
        assert_eq!(m.up.bytes, 12_000);
        assert_eq!(
            (m.stun_packets, m.control_packets, m.down.rtcp),
            (1, 10, 10)
        );
        assert_eq!((m.up.rtp.ssrc, m.up.rtp.packets), (0x1111, 100));
        // Receiver reports make the seconds two-way although no media comes back.
        assert!(m.best_run >= 1, "{m:?}");
    }

    #[test]
    fn media_both_ways_makes_a_run_of_two_way_seconds() {
        let m = Trace::udp(40_000, 50_000)
            .rtp((0.0, 5.0), 50, Dir::Up, 1, 900)
            .rtp((0.01, 5.0), 50, Dir::Down, 2, 140)
            .stats();
        assert_eq!(m.best_run, 5);
        assert_eq!(m.two_way_secs, 5);
        assert_eq!(m.two_way_packets, (250, 250));
        assert_eq!((m.up.big, m.down.big), (250, 0));
        assert_eq!(m.first_two_way, Some(at(0.0)));
        // Media one way only never makes a two-way second.
        let one_way = Trace::udp(40_000, 50_000)
            .rtp((0.0, 5.0), 50, Dir::Up, 1, 140)
            .stats();
        assert_eq!((one_way.best_run, one_way.first_two_way), (0, None));
    }

    #[test]
    fn bulk_bursts_split_on_silence_and_a_lone_packet_is_no_part() {
        let m = Trace::tcp(50_000, 443)
            .records(0.0, 0.05, 20, Dir::Down, 1400)
            .records(10.0, 0.05, 5, Dir::Down, 1400)
            .opaque(30.0, Dir::Down, 1000)
            .stats();
        let bytes: Vec<u64> = m.bursts_down.iter().map(|b| b.bytes).collect();
        assert_eq!(bytes, [28_000, 7_000]);
        assert_eq!(m.bursts_down[0].packets, 20);
        assert!(m.bursts_up.is_empty());
        assert_eq!(m.bursts_merged, 0);
    }

    #[test]
    fn exchanges_after_the_login_are_messages_or_small_chatter() {
        let m = Trace::tcp(50_000, 5222)
            .opaque(0.0, Dir::Up, 300)
            .opaque(0.1, Dir::Down, 300)
            .opaque(10.0, Dir::Up, 200)
            .opaque(10.2, Dir::Down, 60)
            .opaque(20.0, Dir::Up, 45)
            .stats();
        assert_eq!(m.messages.len(), 1, "{m:?}");
        let msg = m.messages[0];
        assert_eq!(msg.lead, Some((Dir::Up, 200)));
        assert_eq!((msg.bytes_up, msg.bytes_down, msg.small), (200, 60, (0, 1)));
        assert_eq!(m.chatter.len(), 1);
        assert_eq!((m.chatter[0].packets_up, m.chatter[0].max.0), (1, 45));
    }

    #[test]
    fn a_record_from_the_server_after_idle_is_a_wakeup() {
        let m = Trace::tcp(50_000, 5223)
            .opaque(0.0, Dir::Up, 100)
            .opaque(0.1, Dir::Down, 100)
            .opaque(100.0, Dir::Down, 200)
            .opaque(100.2, Dir::Up, 50)
            .stats();
        assert_eq!(m.wakeups.len(), 1);
        let w = m.wakeups[0];
        assert_eq!((w.idle_secs, w.bytes_down, w.bytes_up), (99, 200, 50));
        // A heartbeat after the same silence is too small to be a push.
        let m = Trace::tcp(50_000, 5223)
            .opaque(0.0, Dir::Up, 100)
            .opaque(100.0, Dir::Down, 40)
            .stats();
        assert!(m.wakeups.is_empty(), "{m:?}");
    }

    #[test]
    fn answered_small_records_at_a_steady_pace_make_a_receipt_run() {
        let probe = |n: u32| {
            let mut t = Trace::tcp(50_000, 443);
            for i in 0..n {
                let s = 1.5 * f64::from(i);
                t = t.opaque(s, Dir::Down, 200).opaque(s + 0.2, Dir::Up, 60);
            }
            t.stats()
        };
        // 50 records over 73.5 s: past PROBE_MIN_SECS.
        let m = probe(50);
        assert_eq!(m.receipt_runs.len(), 1);
        let r = m.receipt_runs[0];
        assert_eq!((r.pairs, r.max_down, r.max_up), (50, 200, 60));
        assert!(probe(PROBE_MIN_PAIRS - 1).receipt_runs.is_empty());
        // 30 records over 43.5 s: steady, but not for long enough.
        assert!(probe(30).receipt_runs.is_empty());
    }

    #[test]
    fn a_cleartext_stanza_is_told_by_its_tag_alone() {
        assert_eq!(xmpp_stanza(b"<message type='chat'>"), Some(Stanza::Message));
        assert_eq!(xmpp_stanza(b"<message>hi"), Some(Stanza::Message));
        assert_eq!(xmpp_stanza(b"<presence/>"), Some(Stanza::Other));
        assert_eq!(xmpp_stanza(b"<iq type='get'"), Some(Stanza::Other));
        // Other elements, a bare tag name, and a TLS record are no stanzas.
        assert_eq!(xmpp_stanza(b"<messages>"), None);
        assert_eq!(xmpp_stanza(b"<message"), None);
        assert_eq!(xmpp_stanza(b"<stream:features>"), None);
        assert_eq!(xmpp_stanza(&[0x17, 0x03, 0x03, 0x00, 0x20]), None);
    }
}
