//! Media transfers: bulk bursts to a service's media hosts (joined when parallel, with the
//! bursts of unnamed connections on the same networks as context) or inside its chat stream,
//! reported as uploads and downloads with a size class.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

use super::stats::{BULK_GAP_SECS, BULK_MIN_BYTES, BULK_PAYLOAD, Burst};
use super::{FlowSummary, flow_ref, on_flow};
use crate::capture::Timestamp;
use crate::model::{Direction, Event, EventKind, FlowRecord, FlowRef, Role, SizeClass};

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

/// Parts on a service's media hosts, by service, device and direction (up or not).
type Parts<'a> = BTreeMap<(&'a str, IpAddr, bool), Vec<Part<'a>>>;
/// Networks (AS numbers) each service's hosts were seen on, per device.
type MediaNets<'a> = BTreeMap<(IpAddr, u32), Vec<&'a str>>;

/// Media uploads and downloads: bursts on a service's chat connections, each alone, and the
/// bursts on its media hosts (with context parts, see [`context_parts`]) joined into transfers.
pub(super) fn media(flows: &[FlowSummary], out: &mut Vec<Event>) {
    let (mut parts, media_nets) = named_parts(flows, out);
    context_parts(flows, &media_nets, &mut parts);
    for ((service, _, up), v) in parts {
        join_parts(service, up, v, out);
    }
}

/// The bursts of flows named as a service's media hosts, as parts, and the networks each
/// service's hosts were seen on; a burst inside a chat stream is a transfer of its own, given
/// to `out` at once.
fn named_parts<'a>(flows: &'a [FlowSummary], out: &mut Vec<Event>) -> (Parts<'a>, MediaNets<'a>) {
    let mut parts: Parts<'a> = BTreeMap::new();
    let mut media_nets: MediaNets<'a> = BTreeMap::new();
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
    (parts, media_nets)
}

/// Context: bulk bursts on connections nothing named (no server name was seen: caught
/// mid-way, or no SNI), to a network where exactly one service's hosts were seen from the
/// same device, are candidate parts of that service's transfers. They join a transfer
/// only through the grouping of [`join_parts`] (overlapping a named part, or a small piece
/// within BULK_GAP_SECS of one), never make one alone. `ndpi/instagram.pcap`: a feed's photos
/// come over about 12 connections at once, some of them begun before the capture, on the Meta
/// and CDN networks the named hosts use.
fn context_parts<'a>(flows: &'a [FlowSummary], media_nets: &MediaNets<'a>, parts: &mut Parts<'a>) {
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
}

/// The transfers of one service, device and direction, from its parts.
fn join_parts(service: &str, up: bool, mut v: Vec<Part<'_>>, out: &mut Vec<Event>) {
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

#[cfg(test)]
mod tests {
    use super::super::fixtures::{Trace, named};
    use super::*;
    use crate::flow::Dir;

    const PHONE: &str = "192.168.1.10";

    /// `n` packets of 1,400 bytes one way from `start`, 20 ms apart, between the device's
    /// port `port` and port 443 of `server`.
    fn burst(port: u16, server: &str, start: f64, n: u32, dir: Dir) -> FlowSummary {
        Trace::tcp(port, 443)
            .records(start, 0.02, n, dir, 1400)
            .flow(PHONE, server)
    }

    fn events(flows: &[FlowSummary]) -> Vec<Event> {
        let mut out = Vec::new();
        media(flows, &mut out);
        out
    }

    #[test]
    fn a_big_burst_to_a_media_host_is_an_upload_with_its_size_class() {
        let f = burst(50_000, "157.240.1.1", 0.0, 100, Dir::Up);
        let e = events(&[named(f, "WhatsApp", Role::Media)]);
        assert_eq!(e.len(), 1, "{e:#?}");
        assert_eq!(
            (e[0].kind, e[0].direction),
            (EventKind::MediaUpload, Direction::Out)
        );
        assert_eq!(
            (e[0].bytes_out, e[0].packets_out, e[0].bytes_in),
            (140_000, 100, 0)
        );
        assert_eq!(e[0].size_class, Some(SizeClass::Photo));
        assert_eq!(e[0].confidence, 0.7);
        assert!(
            e[0].evidence
                .contains("100 packets over 500 B carrying 140.0 KB of payload up"),
            "{}",
            e[0].evidence
        );
    }

    #[test]
    fn a_small_burst_or_an_unnamed_host_is_no_transfer() {
        let small = burst(50_000, "157.240.1.1", 0.0, 5, Dir::Up);
        assert!(events(&[named(small, "WhatsApp", Role::Media)]).is_empty());
        assert!(events(&[burst(50_000, "157.240.1.1", 0.0, 100, Dir::Up)]).is_empty());
    }

    #[test]
    fn size_classes_follow_the_payload() {
        assert_eq!(size_class(60_000), SizeClass::VoiceNote);
        assert_eq!(size_class(60_001), SizeClass::Photo);
        assert_eq!(size_class(1_500_000), SizeClass::Photo);
        assert_eq!(size_class(1_500_001), SizeClass::Video);
    }

    #[test]
    fn parallel_parts_join_and_an_unnamed_flow_on_the_network_is_context() {
        let on_meta = |mut f: FlowSummary| {
            f.record.asn = Some(32_934);
            f
        };
        let a = named(
            burst(50_000, "157.240.1.1", 0.0, 8, Dir::Down),
            "Instagram",
            Role::Media,
        );
        let b = named(
            burst(50_001, "157.240.1.2", 0.2, 8, Dir::Down),
            "Instagram",
            Role::Media,
        );
        let c = burst(50_002, "157.240.1.3", 0.5, 6, Dir::Down);
        let e = events(&[on_meta(a.clone()), on_meta(b.clone()), on_meta(c)]);
        assert_eq!(e.len(), 1, "{e:#?}");
        assert_eq!(e[0].kind, EventKind::MediaDownload);
        assert_eq!((e[0].bytes_in, e[0].flows.len()), (30_800, 3));
        assert_eq!(e[0].confidence, 0.6);
        assert!(
            e[0].evidence
                .contains("157.240.1.3:443 (AS32934) come over connections that named no host"),
            "{}",
            e[0].evidence
        );
        // Without the context the two named parts still join (each is under 15 KB).
        let e = events(&[a, b]);
        assert_eq!((e.len(), e[0].bytes_in, e[0].confidence), (1, 22_400, 0.7));
    }

    #[test]
    fn a_burst_inside_a_chat_stream_stands_alone() {
        let t = Trace::tcp(50_000, 443)
            .records(0.0, 0.02, 20, Dir::Down, 1400)
            .records(20.0, 0.02, 8, Dir::Down, 1400);
        let e = events(&[named(t.flow(PHONE, "157.240.1.1"), "WhatsApp", Role::Chat)]);
        assert_eq!(e.len(), 1, "{e:#?}");
        assert_eq!(
            (e[0].kind, e[0].bytes_in),
            (EventKind::MediaDownload, 28_000)
        );
        assert_eq!(e[0].size_class, Some(SizeClass::VoiceNote));
    }
}
