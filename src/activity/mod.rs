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

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

use crate::capture::Timestamp;
use crate::decode::{Packet, proto};
use crate::dissect::h225::{H225_PORT, H225Calls};
use crate::dissect::rtp::{self, UdpMediaKind};
use crate::dissect::sip::{SIP_PORT, SipDialogs};
use crate::flow::Dir;
use crate::naming::geo::is_local;
use crate::model::{Direction, Event, EventKind, FlowRecord, FlowRef, PeerKind, Proto, Role, SizeClass};

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
/// Bulk bursts kept per flow (parts below [`BULK_MIN_BYTES`] make room for bursts above it).
/// Further bursts are counted in [`MediaStats::bursts_dropped`].
pub const MAX_BURSTS: usize = 8;
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
    /// DTLS and RTCP packets.
    pub control_packets: u32,
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
    /// Completed bulk bursts of at least [`BULK_MIN_BYTES`], per direction.
    pub bursts_up: Vec<Burst>,
    pub bursts_down: Vec<Burst>,
    /// Bulk bursts beyond [`MAX_BURSTS`] and message exchanges beyond [`MAX_MESSAGES`] that
    /// were not kept.
    pub bursts_dropped: u32,
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
    /// SIP requests and responses seen on the flow (port [`SIP_PORT`]).
    pub sip: SipDialogs,
    /// H.225.0 call signalling seen on the flow (TCP port [`H225_PORT`]).
    pub h225: H225Calls,
}

impl MediaStats {
    /// Account one packet of the flow.
    pub fn observe(&mut self, pkt: &Packet<'_>, dir: Dir) {
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
        }
        if pkt.proto != proto::UDP || pkt.payload_len <= MEDIA_MIN_PAYLOAD {
            return;
        }
        let kind = rtp::classify(pkt.payload);
        match kind {
            UdpMediaKind::Stun => {
                self.stun_packets += 1;
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
            UdpMediaKind::Rtcp { .. } => {
                self.control_packets += 1;
                if secs != self.bin {
                    self.close_bin(secs);
                }
                let d = self.dir_mut(dir);
                d.rtcp += 1;
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
        let dropped = &mut self.bursts_dropped;
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
                    keep_burst(done, b, dropped);
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
            if m.lead.is_none() && p >= MSG_MIN_PAYLOAD {
                m.lead = Some((dir, p));
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
            if self.msg_count > 1 && m.lead.is_some() && small {
                if self.messages.len() < MAX_MESSAGES {
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
                        ..ReceiptRun::default()
                    });
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
            if r.pairs >= PROBE_MIN_PAIRS {
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
            keep_burst(&mut self.bursts_up, b, &mut self.bursts_dropped);
        }
        if let Some(b) = self.down.burst.take() {
            keep_burst(&mut self.bursts_down, b, &mut self.bursts_dropped);
        }
    }
}

fn is_dtls_record(p: &[u8]) -> bool {
    matches!(p, [20..=25, 0xfe, 0xff | 0xfd, ..])
}

fn keep_burst(done: &mut Vec<Burst>, b: Burst, dropped: &mut u32) {
    if b.bytes < BULK_PART_MIN_BYTES {
        return;
    }
    if done.len() < MAX_BURSTS {
        done.push(b);
        return;
    }
    // Full: a transfer of its own displaces the smallest part of one, if any.
    let smallest = done
        .iter()
        .enumerate()
        .filter(|(_, x)| x.bytes < BULK_MIN_BYTES && x.bytes < b.bytes)
        .min_by_key(|(_, x)| x.bytes)
        .map(|(i, _)| i);
    match smallest {
        Some(i) if b.bytes >= BULK_MIN_BYTES => {
            done.remove(i);
            done.push(b);
        }
        _ => {}
    }
    *dropped += 1;
}

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
}

/// A connection that carries pushes: named as a push service, on the push ports of Apple
/// (TCP 5223) or Google (TCP 5228-5230), or a messaging service's chat connection.
fn push_channel(r: &FlowRecord) -> bool {
    r.proto == Proto::TCP
        && (matches!(r.service_role, Some(Role::Push | Role::Chat))
            || matches!(r.server.port(), 5223 | 5228..=5230))
}

/// Whether a flow may be part of a call: UDP, not DNS or QUIC, with media or STUN, or named
/// as a call flow of a service.
fn call_candidate(f: &FlowSummary) -> bool {
    let r = &f.record;
    let m = &f.media;
    let rtp = m.up.rtp.packets.max(m.down.rtp.packets);
    // QUIC and TLS-named UDP flows are web traffic, unless RTP follows on the same 5-tuple
    // (Snapchat's calls open with QUIC to the media server, `ndpi/snapchat_call_v1.pcapng`):
    // QUIC's first byte (0x40-0x7f short header, 0xc0-0xff long) never starts an RTP header.
    // RTCP alone after the handshake, on a flow the naming calls a call flow, counts too: an
    // unanswered call reports reception but sends no media (`ndpi/snapchat_call.pcapng`).
    let media_followed =
        rtp >= CALL_MIN_MEDIA_PACKETS || (r.service_role == Some(Role::Call) && m.control_packets > 0);
    let web = (r.quic_version.is_some() || r.sni.is_some()) && !media_followed;
    r.proto == Proto::UDP
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
const CALL_LINK_SECS: f64 = 30.0;
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
const VIDEO_SHARE: f64 = 0.10;

/// Infer events from finished flows (in any order; output is sorted by start time).
pub fn infer(flows: &[FlowSummary]) -> Vec<Event> {
    let mut events = Vec::new();
    calls(flows, &mut events);
    media(flows, &mut events);
    messages(flows, &mut events);
    sip_attempts(flows, &mut events);
    h225_attempts(flows, &mut events);
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
    events.sort_by(|a, b| {
        a.start_ts
            .total_cmp(&b.start_ts)
            .then(a.kind.cmp(&b.kind))
            .then(a.flows.cmp(&b.flows))
    });
    for (i, e) in events.iter_mut().enumerate() {
        e.id = i as u64 + 1;
    }
    events
}

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

fn calls(flows: &[FlowSummary], out: &mut Vec<Event>) {
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
    for idx in by_ep.values() {
        for w in idx.windows(2) {
            let (a, b) = (&cands[w[0]].record, &cands[w[1]].record);
            let overlap = a.first_ts <= b.last_ts + CALL_LINK_SECS
                && b.first_ts <= a.last_ts + CALL_LINK_SECS;
            if overlap {
                let (ra, rb) = (find(&mut parent, w[0]), find(&mut parent, w[1]));
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
    join_legs(merge_concurrent(legs), out);
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
fn merge_concurrent(mut legs: Vec<Leg>) -> Vec<Leg> {
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
    e.kind = if video { EventKind::VideoCall } else { EventKind::VoiceCall };
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
struct Leg {
    event: Event,
    /// Service, device address and remote endpoint (the media server or the peer).
    key: Option<(String, IpAddr, SocketAddr)>,
    is_call: bool,
    /// Media packets in all and video-sized ones.
    media: u32,
    big: u32,
    /// First and last media packet, for attempts that carried media.
    media_span: Option<(f64, f64)>,
    /// Device address and the remote's address (no ports), whatever the service.
    hosts: Option<(IpAddr, IpAddr)>,
}

fn join_legs(mut legs: Vec<Leg>, out: &mut Vec<Event>) {
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
    e.kind = if video { EventKind::VideoCall } else { EventKind::VoiceCall };
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
/// The two directions of an RTP call overlap within this margin (the callee's first packet
/// answers the caller's within a round trip; 2 s allows for jitter buffers and relays).
const CALL_OVERLAP_SECS: f64 = 2.0;

/// One direction of a flow carries media at a call's rate throughout: enough packets, at
/// [`CALL_MIN_PPS`] between its first and last media packet.
fn dense(d: &MediaDir) -> bool {
    let secs = match (d.first, d.last) {
        (Some(a), Some(b)) => (b.as_secs_f64() - a.as_secs_f64()).max(1.0),
        _ => return false,
    };
    d.packets >= CALL_MIN_MEDIA_PACKETS && f64::from(d.packets) / secs >= CALL_MIN_PPS
}

fn call_event(group: &[&FlowSummary]) -> Option<Leg> {
    let service = group
        .iter()
        .filter_map(|f| f.record.service.clone())
        .find(|s| s != "Google" && s != "Meta" && s != "Microsoft");
    let any_marker = group.iter().any(|f| {
        f.record.stun.is_some() || f.media.stun_packets > 0 || f.record.service_role == Some(Role::Call)
    });
    let (mut up, mut down, mut big, mut best) = (0u32, 0u32, 0u32, 0u32);
    let (mut rtcp_up, mut rtcp_down) = (0u32, 0u32);
    let (mut bytes_out, mut bytes_in, mut pk_out, mut pk_in) = (0u64, 0u64, 0u64, 0u64);
    let (mut first, mut last): (Option<Timestamp>, Option<Timestamp>) = (None, None);
    let mut rtp_up = Extent::default();
    let mut rtp_down = Extent::default();
    let mut media_up = Extent::default();
    let mut media_down = Extent::default();
    let mut dense_up = Extent::default();
    let mut dense_down = Extent::default();
    let mut main: Option<&FlowSummary> = None;
    for f in group {
        let m = &f.media;
        up += m.up.packets;
        down += m.down.packets;
        rtcp_up += m.up.rtcp;
        rtcp_down += m.down.rtcp;
        big += m.up.big + m.down.big;
        best = best.max(m.best_run);
        bytes_out += f.record.bytes_up;
        bytes_in += f.record.bytes_down;
        pk_out += f.record.packets_up;
        pk_in += f.record.packets_down;
        if let Some(t) = m.first_two_way {
            first = Some(first.map_or(t, |x| x.min(t)));
        }
        if let Some(t) = m.last_two_way {
            last = Some(last.map_or(t, |x| x.max(t)));
        }
        rtp_up.add(m.up.rtp.packets, m.up.rtp.first, m.up.rtp.last);
        rtp_down.add(m.down.rtp.packets, m.down.rtp.first, m.down.rtp.last);
        media_up.add(m.up.packets, m.up.first, m.up.last);
        media_down.add(m.down.packets, m.down.first, m.down.last);
        if dense(&m.up) {
            dense_up.add(m.up.packets, m.up.first, m.up.last);
        }
        if dense(&m.down) {
            dense_down.add(m.down.packets, m.down.first, m.down.last);
        }
        if main.is_none_or(|b| {
            m.up.packets + m.down.packets > b.media.up.packets + b.media.down.packets
        }) {
            main = Some(f);
        }
    }
    let main = main?;
    let span = match (first, last) {
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
        && lasts(&media_up)
        && lasts(&media_down);
    // ...or one way at a codec's full rate while the other side sends receiver reports.
    let (lead, lead_ext, reports) = if up >= down {
        (up, &media_up, rtcp_down)
    } else {
        (down, &media_down, rtcp_up)
    };
    let one_way = !two_way
        && best >= CALL_MIN_TWO_WAY_SECS
        && lead >= CALL_MIN_MEDIA_PACKETS
        && f64::from(lead) / span >= ONE_WAY_MIN_PPS
        && f64::from(reports) / span >= CALL_MIN_PPS
        && lasts(lead_ext);
    let media_call = two_way || one_way;
    let rtp_call =
        !media_call && rtp_up.established() && rtp_down.established() && rtp_up.overlaps(&rtp_down);
    let is_call = media_call || rtp_call;
    if !is_call && !any_marker {
        return None;
    }
    if !is_call && service.is_none() {
        // Unnamed STUN with no media: connectivity checks of something unknown.
        return None;
    }
    let flows: Vec<FlowRef> = group.iter().map(|f| flow_ref(&f.record)).collect();
    let r = &main.record;
    let (start, end) = if media_call {
        let (mut a, mut b) = (first?.as_secs_f64(), last?.as_secs_f64());
        // A call whose two directions travel on different flows (Telegram sends up to one
        // reflector and receives from another, `ndpi/telegram.pcap`) has two-way seconds only
        // where the flows' checks overlap: its media lasts as long as both directions do.
        if let (Some((ua, ub)), Some((da, db))) = (dense_up.span(), dense_down.span()) {
            a = a.min(ua.max(da));
            b = b.max(ub.min(db));
        }
        (a, b)
    } else if rtp_call {
        let ((ua, ub), (da, db)) = (rtp_up.span()?, rtp_down.span()?);
        (ua.min(da), ub.max(db))
    } else {
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
    };
    let media_total = f64::from(up + down).max(1.0);
    let video = is_call && f64::from(big) / media_total >= VIDEO_SHARE;
    // The remote side, as flow records define it (docs/formats.md): the server, or the client
    // when the server is on a local address and the client is not (a direct leg opened by the
    // other party towards the device).
    let local = |ep: &SocketAddr| is_local(ep.ip());
    let remote = if local(&r.server) && !local(&r.client) {
        r.client
    } else {
        r.server
    };
    let relay = r
        .service_evidence
        .iter()
        // A vendor STUN marker or a service's own protocol prologue (Discord's voice IP
        // discovery, WhatsApp's edge routing) is spoken to the service's servers, not to a peer.
        .any(|e| {
            use crate::model::EvidenceKind as K;
            matches!(
                e.kind,
                K::IpList
                    | K::StunAttr
                    | K::StunType
                    | K::StunRealm
                    | K::StunSoftware
                    | K::Prologue
            )
        })
        || matches!(remote.port(), 3478 | 443 | 19302);
    let peer = remote;
    let dur = (end - start).max(0.0);
    let kind = match (is_call, video) {
        (false, _) => EventKind::CallAttempt,
        (true, true) => EventKind::VideoCall,
        (true, false) => EventKind::VoiceCall,
    };
    let m = &main.media;
    let pps = |n: u32| if dur > 0.0 { f64::from(n) / dur } else { 0.0 };
    let evidence = if is_call {
        format!(
            "UDP {} <-> {}: {}; {:.0} media packets/s out ({}-{} B) and {:.0}/s in ({}-{} B) over {:.1} s, {} s of unbroken two-way media, {:.0}% video-sized packets{}",
            r.client,
            r.server,
            if two_way {
                format!(
                    "{up} media packets out and {down} in across {} flow(s)",
                    group.len()
                )
            } else if one_way {
                format!(
                    "{lead} media packets one way while the other side sent {reports} RTCP receiver reports"
                )
            } else {
                format!(
                    "RTP streams both ways ({} packets out, {} in, sequence numbers in order)",
                    rtp_up.packets, rtp_down.packets
                )
            },
            pps(m.up.packets),
            m.up.min_payload,
            m.up.max_payload,
            pps(m.down.packets),
            m.down.min_payload,
            m.down.max_payload,
            dur,
            best,
            100.0 * f64::from(big) / media_total,
            r.stun
                .as_ref()
                .map(|s| format!(", after STUN ({s})"))
                .unwrap_or_default()
        )
    } else {
        format!(
            "{} flow(s) of call signalling and connectivity checks ({} STUN packets) over {:.1} s without sustained two-way media ({} media packets out, {} in)",
            group.len(),
            group.iter().map(|f| f.media.stun_packets).sum::<u32>(),
            dur,
            up,
            down
        )
    };
    let media_span = (!is_call && (up.max(down) >= RTP_CALL_MIN_PACKETS)).then(|| {
        let a = media_up
            .span()
            .map(|s| s.0)
            .into_iter()
            .chain(media_down.span().map(|s| s.0));
        let b = media_up
            .span()
            .map(|s| s.1)
            .into_iter()
            .chain(media_down.span().map(|s| s.1));
        (a.fold(f64::MAX, f64::min), b.fold(f64::MIN, f64::max))
    });
    let device = if local(&r.server) && !local(&r.client) {
        r.server
    } else {
        r.client
    };
    let key = service.as_ref().map(|s| (s.clone(), device.ip(), remote));
    let event = Event {
        id: 0,
        kind,
        service,
        start_ts: start,
        end_ts: end,
        direction: Direction::Both,
        bytes_out,
        bytes_in,
        packets_out: pk_out,
        packets_in: pk_in,
        flows,
        peer_ip: Some(peer.ip()),
        peer_asn: r.asn,
        peer_as_org: r.as_org.clone(),
        peer_country: r.country.clone(),
        peer_city: r.city.clone(),
        peer_kind: Some(if relay {
            PeerKind::Relay
        } else {
            PeerKind::Direct
        }),
        size_class: None,
        confidence: if is_call { 0.8 } else { 0.6 },
        evidence,
    };
    let hosts = Some((device.ip(), peer.ip()));
    Some(Leg {
        event,
        key,
        is_call,
        media: up + down,
        big,
        media_span,
        hosts,
    })
}

/// SIP dialogs that never connected: INVITEs with no 2xx answer on the flow are a call
/// attempt (missed, declined, cancelled or refused), from the first INVITE to the last SIP
/// message after it. A dialog that was answered is left to the media rules.
fn sip_attempts(flows: &[FlowSummary], out: &mut Vec<Event>) {
    for f in flows {
        let (r, sip) = (&f.record, &f.media.sip);
        let (Some(first), Some(last)) = (sip.first_invite, sip.last) else {
            continue;
        };
        if sip.answered > 0 {
            continue;
        }
        let service = r.service.as_deref().unwrap_or("SIP");
        let (start, end) = (first.as_secs_f64(), last.as_secs_f64());
        out.push(Event {
            confidence: 0.7,
            evidence: format!(
                "{} {} {}: {} SIP INVITE(s), {} CANCEL, {} BYE, {} final refusal(s) and no 2xx answer to an INVITE over {:.1} s (SIP start lines and CSeq, RFC 3261)",
                r.proto,
                r.client,
                r.server,
                sip.invites,
                sip.cancels,
                sip.byes,
                sip.refused,
                end - start
            ),
            ..on_flow(r, EventKind::CallAttempt, service, (start, end), Direction::Both)
        });
    }
}

/// H.323 calls set up with no media call at the same time: a SETUP on the flow, and no voice
/// or video call found by the media rules overlapping the signalling, is a call attempt. A
/// CONNECT does not make it a call (`ndpi/h323.pcap`: SETUP, CALL PROCEEDING, ALERTING and
/// CONNECT, then H.245, but no RTP in the capture): what the observer sees is a call set up
/// and nothing spoken, and the evidence says whether it was answered.
fn h225_attempts(flows: &[FlowSummary], out: &mut Vec<Event>) {
    for f in flows {
        let (r, h) = (&f.record, &f.media.h225);
        let (Some(first), Some(last)) = (h.first_setup, h.last) else {
            continue;
        };
        let (start, end) = (first.as_secs_f64(), last.as_secs_f64());
        let media_call = out.iter().any(|e| {
            matches!(e.kind, EventKind::VoiceCall | EventKind::VideoCall)
                && e.start_ts <= end + CALL_LINK_SECS
                && start <= e.end_ts + CALL_LINK_SECS
        });
        if media_call {
            continue;
        }
        let answered = if h.connects > 0 {
            "answered (CONNECT) but no media call seen"
        } else {
            "never answered (no CONNECT)"
        };
        let service = r.service.as_deref().unwrap_or("H.323");
        out.push(Event {
            confidence: if h.connects > 0 { 0.6 } else { 0.7 },
            evidence: format!(
                "{} {} {}: {} H.225.0 SETUP, {} ALERTING, {} CONNECT, {} RELEASE COMPLETE over {:.1} s, {answered} (TPKT and Q.931 message types, ITU-T H.225.0)",
                r.proto,
                r.client,
                r.server,
                h.setups,
                h.alerting,
                h.connects,
                h.releases,
                end - start
            ),
            ..on_flow(r, EventKind::CallAttempt, service, (start, end), Direction::Both)
        });
    }
}

/// Size class of a transfer (payload bytes): voice notes are tens of KB (Opus at ~16 kbit/s is
/// 2 KB/s), photos as sent by messengers 50 KB to 500 KB after recompression, videos beyond
/// 2 MB; documents fall in between or anywhere, so a size alone stays a guess.
fn size_class(bytes: u64) -> SizeClass {
    match bytes {
        0..=60_000 => SizeClass::VoiceNote,
        60_001..=1_500_000 => SizeClass::Photo,
        _ => SizeClass::Video,
    }
}

/// Activities of one service closer than this belong to one stretch of use. Background traffic
/// (keep-alives, push) is not an activity, so it does not extend a session. The value is a
/// choice, not a measurement: five minutes joins a conversation's messages (minutes apart in
/// the corpus) while separating uses of an app an hour apart.
pub const SESSION_GAP_SECS: f64 = 300.0;

/// Stretches of active use: a service's calls, messages and media joined when less than
/// [`SESSION_GAP_SECS`] apart.
fn online_sessions(events: &[Event]) -> Vec<Event> {
    let mut by_service: BTreeMap<&str, Vec<&Event>> = BTreeMap::new();
    for e in events {
        if let Some(s) = e.service.as_deref() {
            // Attempts, pushes and probes happen without the user: they do not make a session.
            // Typing indicators and read receipts accompany messages and are too uncertain
            // to make a session of their own.
            if !matches!(
                e.kind,
                EventKind::CallAttempt
                    | EventKind::PushWakeup
                    | EventKind::ProbingSuspected
                    | EventKind::TypingIndicator
                    | EventKind::ReadReceipt
            ) {
                by_service.entry(s).or_default().push(e);
            }
        }
    }
    let mut out = Vec::new();
    for (service, mut evs) in by_service {
        evs.sort_by(|a, b| a.start_ts.total_cmp(&b.start_ts));
        let mut i = 0;
        while i < evs.len() {
            let mut j = i;
            let mut end = evs[i].end_ts;
            while j + 1 < evs.len() && evs[j + 1].start_ts <= end + SESSION_GAP_SECS {
                j += 1;
                end = end.max(evs[j].end_ts);
            }
            let part = &evs[i..=j];
            let count = |is: fn(EventKind) -> bool| part.iter().filter(|e| is(e.kind)).count();
            out.push(Event {
                id: 0,
                kind: EventKind::OnlineSession,
                service: Some(service.to_string()),
                start_ts: evs[i].start_ts,
                end_ts: end,
                direction: Direction::Both,
                bytes_out: part.iter().map(|e| e.bytes_out).sum(),
                bytes_in: part.iter().map(|e| e.bytes_in).sum(),
                packets_out: part.iter().map(|e| e.packets_out).sum(),
                packets_in: part.iter().map(|e| e.packets_in).sum(),
                flows: Vec::new(),
                peer_ip: None,
                peer_asn: None,
                peer_as_org: None,
                peer_country: None,
                peer_city: None,
                peer_kind: None,
                size_class: None,
                confidence: 0.5,
                evidence: format!(
                    "{} activities of {service} without a pause of {} min: {} messages, {} calls, {} media transfers, over {:.0} min",
                    part.len(),
                    SESSION_GAP_SECS / 60.0,
                    count(EventKind::is_message),
                    count(EventKind::is_call),
                    count(EventKind::is_media),
                    (end - evs[i].start_ts) / 60.0
                ),
            });
            i = j + 1;
        }
    }
    out
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

fn messages(flows: &[FlowSummary], out: &mut Vec<Event>) {
    for f in flows {
        let r = &f.record;
        if r.service_role != Some(Role::Chat) {
            continue;
        }
        let Some(service) = r.service.clone() else {
            continue;
        };
        chatter(f, &service, out);
        for m in &f.media.messages {
            let Some((dir, lead)) = m.lead else { continue };
            let (kind, direction) = match dir {
                Dir::Up => (EventKind::MessageOut, Direction::Out),
                Dir::Down => (EventKind::MessageIn, Direction::In),
            };
            let (start, end) = (m.start.as_secs_f64(), m.end.as_secs_f64());
            out.push(Event {
                bytes_out: m.bytes_up,
                bytes_in: m.bytes_down,
                packets_out: u64::from(m.packets_up),
                packets_in: u64::from(m.packets_down),
                evidence: format!(
                    "{} {} {}: a {lead}-byte record {} then {} packets up / {} down ({} B / {} B of payload) within {:.2} s on the chat connection, {} of them small (up to {SMALL_RECORD} B: receipt-, ack- or typing-sized, which sizes alone cannot tell apart); {}",
                    r.proto,
                    r.client,
                    r.server,
                    if dir == Dir::Up { "sent" } else { "received" },
                    m.packets_up,
                    m.packets_down,
                    m.bytes_up,
                    m.bytes_down,
                    end - start,
                    m.small.0 + m.small.1,
                    padding_note(&service)
                ),
                confidence: if lead >= 2 * MSG_MIN_PAYLOAD { 0.7 } else { 0.5 },
                ..on_flow(r, kind, &service, (start, end), direction)
            });
        }
    }
}

/// A typing indicator precedes the message it announces by at most this long when it is
/// reported with more confidence: in `wissamnd/whatsappCall.pcapng` the unanswered 41-B and
/// 55-B chat-state records come 1.5 to 26 s before the next message the same way.
pub const TYPING_LEAD_SECS: f64 = 30.0;
/// A small answered exchange this soon after a message the other way is its read receipt:
/// the corpus's receipt-sized exchanges that are not part of a message's own exchange follow
/// it by 1.3 to 29 s (`wissamnd/whatsappCall.pcapng`); later ones cannot be told from
/// heartbeats by size or timing.
pub const READ_RECEIPT_SECS: f64 = 60.0;
/// A typing indicator names the chat and a read receipt the messages it answers, under an
/// AEAD tag (16 B): the corpus's chat-state records are 41-55 B and its receipts 60-79 B
/// (`wissamnd/whatsappCall.pcapng`), while heartbeats are 25-37 B
/// (`matousp/ma4__WhatsApp1.pcapng`'s 33/37-B pings, `ndpi/wa_voice.pcap`'s 25-B ping). The
/// initiating side's largest record must reach these sizes.
pub const CHAT_STATE_MIN: u32 = 40;
/// See [`CHAT_STATE_MIN`].
pub const RECEIPT_MIN: u32 = 48;

/// Typing indicators and read receipts on a chat connection, from the exchanges of small
/// records only. Chat-state notifications are sent without an answer (XMPP's XEP-0085, from
/// which WhatsApp's protocol descends, acknowledges none), so records of one direction with no
/// answer are typing indicators; an answered small exchange started by one side shortly after
/// a message from the other is a read receipt. Sizes alone cannot confirm either, so their
/// confidence stays low; a heartbeat can look alike.
fn chatter(f: &FlowSummary, service: &str, out: &mut Vec<Event>) {
    let r = &f.record;
    let m = &f.media;
    for x in &m.chatter {
        let all_small = x.small.0 + x.small.1 == x.packets_up + x.packets_down;
        if !all_small {
            continue;
        }
        let dir = if x.first_down { Dir::Down } else { Dir::Up };
        let direction = if dir == Dir::Up {
            Direction::Out
        } else {
            Direction::In
        };
        let largest = if dir == Dir::Up { x.max.0 } else { x.max.1 };
        let (start, end) = (x.start.as_secs_f64(), x.end.as_secs_f64());
        let one_way = (x.packets_up == 0) != (x.packets_down == 0);
        if largest < if one_way { CHAT_STATE_MIN } else { RECEIPT_MIN } {
            continue;
        }
        let (kind, confidence, why) = if one_way {
            let next = m.messages.iter().find(|n| {
                n.lead.map(|l| l.0) == Some(dir)
                    && n.start > x.end
                    && n.start.as_secs_f64() <= end + TYPING_LEAD_SECS
            });
            match next {
                Some(n) => (
                    EventKind::TypingIndicator,
                    0.5,
                    format!(
                        "unanswered, as chat-state notifications are, and followed {:.1} s later by a message the same way",
                        n.start.as_secs_f64() - end
                    ),
                ),
                None => (
                    EventKind::TypingIndicator,
                    0.3,
                    format!(
                        "unanswered, as chat-state notifications are; no message followed the same way within {TYPING_LEAD_SECS:.0} s (typing given up, or a keep-alive)"
                    ),
                ),
            }
        } else {
            let before = m.messages.iter().rev().find(|n| {
                n.lead.is_some_and(|l| l.0 != dir)
                    && n.end < x.start
                    && start - n.end.as_secs_f64() <= READ_RECEIPT_SECS
            });
            let Some(n) = before else { continue };
            (
                EventKind::ReadReceipt,
                0.3,
                format!(
                    "answered, {:.1} s after a message the other way (a read receipt, or a heartbeat of the same size)",
                    start - n.end.as_secs_f64()
                ),
            )
        };
        out.push(Event {
            bytes_out: x.bytes_up,
            bytes_in: x.bytes_down,
            packets_out: u64::from(x.packets_up),
            packets_in: u64::from(x.packets_down),
            confidence,
            evidence: format!(
                "{} {} {}: {} record(s) up ({} B) and {} down ({} B), none over {SMALL_RECORD} B, on the chat connection, {why}",
                r.proto, r.client, r.server, x.packets_up, x.bytes_up, x.packets_down, x.bytes_down
            ),
            ..on_flow(r, kind, service, (start, end), direction)
        });
    }
}

/// What a record's length still says about the message, by the service's padding.
fn padding_note(service: &str) -> &'static str {
    match service {
        // Signal pads the plaintext to multiples of 160 bytes (libsignal's padding of
        // message content before encryption).
        "Signal" => {
            "Signal pads messages to 160-byte blocks, so the record gives the length to within 160 B"
        }
        // MTProto 2.0 adds 12 to 1024 bytes of random padding (core.telegram.org/mtproto).
        "Telegram" => {
            "Telegram adds 12 to 1024 B of random padding, so the record gives only an upper bound on the length"
        }
        // Noise frames carry the protobuf with little padding (WhatsApp security whitepaper).
        "WhatsApp" => {
            "WhatsApp pads only a little, so the record's length is close to the message's"
        }
        _ => "encryption adds a fixed overhead, so the record bounds the message's length",
    }
}

/// One burst of one flow, for joining a service's parallel transfers.
#[derive(Clone, Copy)]
struct Part<'a> {
    flow: &'a FlowRecord,
    burst: Burst,
    /// The flow is named as the service's media host (not joined by context alone).
    named: bool,
}

/// The device end of a flow record (its client's address, without the port).
fn device_of(r: &FlowRecord) -> IpAddr {
    r.client.ip()
}

/// A socket's address without its port, as written in a socket (IPv6 in brackets).
fn host_text(s: SocketAddr) -> String {
    match s {
        SocketAddr::V4(a) => a.ip().to_string(),
        SocketAddr::V6(a) => format!("[{}]", a.ip()),
    }
}

fn media(flows: &[FlowSummary], out: &mut Vec<Event>) {
    // Parts on a service's media hosts, by service, device and direction.
    let mut parts: BTreeMap<(&str, IpAddr, bool), Vec<Part<'_>>> = BTreeMap::new();
    // Networks (AS numbers) each service's hosts were seen on, per device.
    let mut media_nets: BTreeMap<(IpAddr, u32), Vec<&str>> = BTreeMap::new();
    for f in flows {
        let r = &f.record;
        // Bulk transfers to a messaging service's media or chat hosts.
        let Some(service) = r.service.as_deref() else {
            continue;
        };
        let device = device_of(r);
        // The service's own hosts, whatever they serve; a resolver's network is not one.
        if let (Some(role), Some(asn)) = (r.service_role, r.asn)
            && role != Role::Dns
        {
            let v = media_nets.entry((device, asn)).or_default();
            if !v.contains(&service) {
                v.push(service);
            }
        }
        for (bursts, up) in [(&f.media.bursts_up, true), (&f.media.bursts_down, false)] {
            match r.service_role {
                Some(Role::Media) => {
                    parts
                        .entry((service, device, up))
                        .or_default()
                        .extend(bursts.iter().map(|&burst| Part {
                            flow: r,
                            burst,
                            named: true,
                        }))
                }
                // Inside the chat stream, each transfer stands alone.
                Some(Role::Chat) => {
                    for &burst in bursts.iter().filter(|b| b.bytes >= BULK_MIN_BYTES) {
                        out.push(transfer(
                            service,
                            up,
                            &[Part {
                                flow: r,
                                burst,
                                named: true,
                            }],
                        ));
                    }
                }
                _ => {}
            }
        }
    }
    // Context: bulk bursts on connections nothing named (no server name was seen: caught
    // mid-way, or no SNI), to a network where exactly one service's hosts were seen from the
    // same device, are candidate parts of that service's transfers. They join a transfer
    // only through the grouping below (overlapping a named part, or a small piece within
    // BULK_GAP_SECS of one), never make one alone. `ndpi/instagram.pcap`: a feed's photos come
    // over about 12 connections at once, some of them begun before the capture, on the Meta and
    // CDN networks the named hosts use.
    for f in flows {
        let r = &f.record;
        if r.service_role.is_some() {
            continue;
        }
        let device = device_of(r);
        let by_net = r
            .asn
            .and_then(|asn| media_nets.get(&(device, asn)))
            .map_or(&[][..], Vec::as_slice);
        for (bursts, up) in [(&f.media.bursts_up, true), (&f.media.bursts_down, false)] {
            if bursts.is_empty() {
                continue;
            }
            // The services this flow may belong to: the one whose hosts share its network, or
            // those its network's company runs that are transferring on this device; only an
            // unambiguous one takes it.
            let mut cands: Vec<&str> = by_net.to_vec();
            if cands.is_empty() {
                cands = r
                    .company_services
                    .iter()
                    .map(String::as_str)
                    .filter(|s| parts.contains_key(&(*s, device, up)))
                    .collect();
            }
            let [service] = cands[..] else {
                continue;
            };
            if let Some(v) = parts.get_mut(&(service, device, up)) {
                v.extend(bursts.iter().map(|&burst| Part {
                    flow: r,
                    burst,
                    named: false,
                }));
            }
        }
    }
    for ((service, _, up), mut v) in parts {
        v.sort_by(|a, b| {
            a.burst
                .start
                .cmp(&b.burst.start)
                .then(a.burst.end.cmp(&b.burst.end))
                .then(a.flow.client.cmp(&b.flow.client))
        });
        // Parts that overlap in time are one transfer, and so are small parts (below
        // BULK_MIN_BYTES, pieces of a feed or a page) within BULK_GAP_SECS of each other, as
        // if the service's connections were one (see BULK_PART_MIN_BYTES). Transfers big
        // enough to stand alone stay apart when one follows the other:
        // `matousp/ma4__WhatsApp1.pcapng`'s downloads of 386 KB and 76 KB on two connections
        // 0.24 s apart are two media.
        let gap = Timestamp::NANOS_PER_SEC * BULK_GAP_SECS;
        let mut i = 0;
        while i < v.len() {
            let mut j = i;
            let mut end = v[i].burst.end;
            let mut bytes = v[i].burst.bytes;
            while j + 1 < v.len() {
                let next = &v[j + 1].burst;
                // A context part (see above) is a piece of whatever it adjoins, whatever its size.
                let piece = bytes < BULK_MIN_BYTES
                    || next.bytes < BULK_MIN_BYTES
                    || !v[j].named
                    || !v[j + 1].named;
                if next.start > end && !(piece && next.start.0 - end.0 <= gap) {
                    break;
                }
                j += 1;
                end = end.max(next.end);
                bytes += next.bytes;
            }
            // Leading and trailing context parts that touch no named part stay out.
            let group = &v[i..=j];
            let first = group.iter().position(|p| p.named);
            let last = group.iter().rposition(|p| p.named);
            if let (Some(a), Some(b)) = (first, last) {
                let group = trim_context(group, a, b);
                if group.iter().map(|p| p.burst.bytes).sum::<u64>() >= BULK_MIN_BYTES {
                    out.push(transfer(service, up, &group));
                }
            }
            i = j + 1;
        }
    }
}

/// The parts of a group from its first named part (`a`) to its last (`b`), and the context
/// parts outside them within [`BULK_GAP_SECS`] of the named parts' time span: a context part
/// reached only through another context part is not evidence of the service.
fn trim_context<'a>(group: &[Part<'a>], a: usize, b: usize) -> Vec<Part<'a>> {
    let gap = Timestamp::NANOS_PER_SEC * BULK_GAP_SECS;
    let named = group.iter().filter(|p| p.named);
    let start = named
        .clone()
        .map(|p| p.burst.start.0)
        .min()
        .unwrap_or_default();
    let end = named.map(|p| p.burst.end.0).max().unwrap_or_default();
    group
        .iter()
        .enumerate()
        .filter(|(i, p)| {
            (a..=b).contains(i)
                || (p.burst.start.0 <= end.saturating_add(gap)
                    && p.burst.end.0.saturating_add(gap) >= start)
        })
        .map(|(_, p)| *p)
        .collect()
}

/// A media transfer from the bursts that make it (one, or parallel ones of one service).
fn transfer(service: &str, up: bool, parts: &[Part<'_>]) -> Event {
    let (kind, direction) = if up {
        (EventKind::MediaUpload, Direction::Out)
    } else {
        (EventKind::MediaDownload, Direction::In)
    };
    let bytes: u64 = parts.iter().map(|p| p.burst.bytes).sum();
    let packets: u64 = parts.iter().map(|p| u64::from(p.burst.packets)).sum();
    let start = parts
        .iter()
        .map(|p| p.burst.start)
        .min()
        .unwrap_or_default();
    let end = parts.iter().map(|p| p.burst.end).max().unwrap_or_default();
    let (start, end) = (start.as_secs_f64(), end.as_secs_f64());
    let r = parts[0].flow;
    let way = if up { "up" } else { "down" };
    let evidence = if let [p] = parts {
        format!(
            "{} {} {}: {} packets over {} B carrying {:.1} KB of payload {way} in {:.1} s ({})",
            r.proto,
            r.client,
            r.server,
            p.burst.packets,
            BULK_PAYLOAD,
            bytes as f64 / 1000.0,
            end - start,
            r.service_evidence
                .first()
                .map_or_else(String::new, ToString::to_string)
        )
    } else {
        let mut servers: Vec<String> = parts.iter().map(|p| p.flow.server.to_string()).collect();
        servers.sort_unstable();
        servers.dedup();
        format!(
            "{} bursts on {} connections of {service}'s media hosts from {} ({}), overlapping in time or pieces under {} KB within {BULK_GAP_SECS} s of each other: {packets} packets over {} B carrying {:.1} KB of payload {way} in {:.1} s",
            parts.len(),
            {
                let mut c: Vec<(SocketAddr, SocketAddr)> = parts
                    .iter()
                    .map(|p| (p.flow.client, p.flow.server))
                    .collect();
                c.sort_unstable();
                c.dedup();
                c.len()
            },
            host_text(r.client),
            servers.join(", "),
            BULK_MIN_BYTES / 1000,
            BULK_PAYLOAD,
            bytes as f64 / 1000.0,
            end - start
        )
    };
    let mut context: Vec<String> = parts
        .iter()
        .filter(|p| !p.named)
        .map(|p| {
            let asn = p.flow.asn.map_or(String::new(), |n| format!(" (AS{n})"));
            format!("{}{asn}", p.flow.server)
        })
        .collect();
    context.sort();
    context.dedup();
    let evidence = if context.is_empty() {
        evidence
    } else {
        format!(
            "{evidence}; of these, bursts from {} come over connections that named no host, at the same time, to networks where {service}'s hosts were seen or that its company runs",
            context.join(", ")
        )
    };
    let mut flows: Vec<FlowRef> = parts.iter().map(|p| flow_ref(p.flow)).collect();
    flows.sort();
    flows.dedup();
    Event {
        bytes_out: if up { bytes } else { 0 },
        bytes_in: if up { 0 } else { bytes },
        packets_out: if up { packets } else { 0 },
        packets_in: if up { 0 } else { packets },
        size_class: Some(size_class(bytes)),
        // Parts joined by context alone are a likelier mistake than named ones.
        confidence: if context.is_empty() { 0.7 } else { 0.6 },
        evidence,
        flows,
        ..on_flow(r, kind, service, (start, end), direction)
    }
}

/// App activity this soon after a push counts as its consequence (an app woken by a push
/// connects and syncs within seconds; 30 s allows for a phone waking its radio).
pub const PUSH_FOLLOW_SECS: f64 = 30.0;

fn push_wakeups(flows: &[FlowSummary], activity: &[Event]) -> Vec<Event> {
    // Events by start time, for the "what followed" look-up in O(log n) per push.
    let mut by_start: Vec<&Event> = activity
        .iter()
        .filter(|e| e.kind != EventKind::OnlineSession)
        .collect();
    by_start.sort_by(|a, b| a.start_ts.total_cmp(&b.start_ts));
    let mut out = Vec::new();
    for f in flows {
        let r = &f.record;
        if f.media.wakeups.is_empty() || !push_channel(r) {
            continue;
        }
        let own = flow_ref(r);
        let service = r
            .service
            .clone()
            .unwrap_or_else(|| "push channel".to_string());
        for w in &f.media.wakeups {
            let (start, end) = (w.start.as_secs_f64(), w.end.as_secs_f64());
            // On a chat connection, an exchange that carried a message is that message.
            if r.service_role == Some(Role::Chat) && f.media.messages.iter().any(|m| m.start == w.start)
            {
                continue;
            }
            let from = by_start.partition_point(|e| e.start_ts < start);
            let next = by_start[from..]
                .iter()
                .take_while(|e| e.start_ts <= start + PUSH_FOLLOW_SECS)
                .find(|e| e.flows.first() != Some(&own));
            let followed = match next {
                Some(e) => format!(
                    "followed {:.1} s later by {} of {}",
                    e.start_ts - start,
                    e.kind,
                    e.service.as_deref().unwrap_or("an unnamed service")
                ),
                None => format!("no app activity followed within {PUSH_FOLLOW_SECS:.0} s"),
            };
            out.push(Event {
                bytes_out: w.bytes_up,
                bytes_in: w.bytes_down,
                confidence: if next.is_some() { 0.7 } else { 0.5 },
                evidence: format!(
                    "{} {} {}: {} B in (and {} B out) after {} s of silence on the push channel; {followed}",
                    r.proto, r.client, r.server, w.bytes_down, w.bytes_up, w.idle_secs
                ),
                ..on_flow(r, EventKind::PushWakeup, &service, (start, end), Direction::In)
            });
        }
    }
    out
}

/// Activity of a service that shows the user at the device: what a silent probe is not.
fn user_activity(e: &Event) -> bool {
    matches!(
        e.kind,
        EventKind::MessageOut | EventKind::MediaUpload | EventKind::VoiceCall | EventKind::VideoCall | EventKind::CallAttempt
    )
}

/// User activity this close to a run of receipts explains it (the user is chatting).
const PROBE_QUIET_SECS: f64 = 10.0;

fn probing(flows: &[FlowSummary], activity: &[Event]) -> Vec<Event> {
    let mut out = Vec::new();
    if flows.iter().all(|f| f.media.receipt_runs.is_empty()) {
        return out;
    }
    // The user's own activity per service, as time intervals.
    let mut busy_of: BTreeMap<&str, Vec<(f64, f64)>> = BTreeMap::new();
    for e in activity.iter().filter(|e| user_activity(e)) {
        if let Some(s) = e.service.as_deref() {
            busy_of.entry(s).or_default().push((e.start_ts, e.end_ts));
        }
    }
    for f in flows {
        let r = &f.record;
        let Some(service) = r.service.clone() else {
            continue;
        };
        for run in &f.media.receipt_runs {
            let (start, end) = (run.start.as_secs_f64(), run.end.as_secs_f64());
            let busy = busy_of.get(service.as_str()).is_some_and(|v| {
                v.iter()
                    .any(|&(a, b)| a <= end + PROBE_QUIET_SECS && start <= b + PROBE_QUIET_SECS)
            });
            if busy {
                continue;
            }
            let secs = (end - start).max(0.001);
            out.push(Event {
                bytes_out: run.bytes_up,
                bytes_in: run.bytes_down,
                packets_out: u64::from(run.pairs),
                packets_in: u64::from(run.pairs),
                confidence: if run.pairs >= 3 * PROBE_MIN_PAIRS { 0.6 } else { 0.4 },
                evidence: format!(
                    "{} {} {}: {} inbound records of at most {} B in {:.0} s ({:.1}/s), each answered within {:.0} s by an outbound record of at most {} B, with no message sent, call or upload of {service} within {PROBE_QUIET_SECS:.0} s: the pattern of silent delivery-receipt probing (Careless Whisper, RAID 2025)",
                    r.proto,
                    r.client,
                    r.server,
                    run.pairs,
                    run.max_down,
                    secs,
                    f64::from(run.pairs) / secs,
                    RECEIPT_ANSWER_NANOS as f64 / 1e9,
                    run.max_up
                ),
                ..on_flow(r, EventKind::ProbingSuspected, &service, (start, end), Direction::In)
            });
        }
    }
    out
}
