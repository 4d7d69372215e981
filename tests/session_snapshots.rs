//! Snapshots built incrementally (records of open flows rebuilt only when they saw packets)
//! show the same flows and events as a snapshot built from scratch at the same point, and the
//! flow table's walk over recently touched flows visits exactly the flows that saw packets.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use onlooker::analysis::pipeline::PipelineConfig;
use onlooker::capture::memory::{MemorySource, OwnedFrame};
use onlooker::capture::{PacketSource, Timestamp};
use onlooker::flow::{FlowTable, Timeouts};
use onlooker::naming::catalog::Catalog;
use onlooker::naming::geo::Geo;
use onlooker::session::{Analysis, SessionConfig, Snapshot, SourceKind, Speed};

fn config() -> SessionConfig {
    SessionConfig {
        kind: SourceKind::Replay,
        source: "test".into(),
        pipeline: PipelineConfig::default(),
        catalog: Catalog::bundled().unwrap(),
        geo: Geo::bundled(),
        observer: Default::default(),
        speed: Speed::Max,
    }
}

fn flows_json(s: &Snapshot) -> Vec<String> {
    s.flows
        .iter()
        .map(|f| serde_json::to_string(f.as_ref()).unwrap())
        .collect()
}

fn events_json(s: &Snapshot) -> Vec<String> {
    s.events
        .iter()
        .map(|e| serde_json::to_string(e).unwrap())
        .collect()
}

fn analysed(frames: &[OwnedFrame]) -> (Analysis, MemorySource) {
    let mut a = Analysis::new(config());
    let mut src = MemorySource::new(frames.to_vec());
    for _ in 0..frames.len() {
        a.feed(src.next_frame());
    }
    (a, src)
}

#[test]
fn incremental_snapshots_equal_snapshots_from_scratch() {
    let frames = onlooker::scenario::demo().into_frames();
    let mut live = Analysis::new(config());
    let mut src = MemorySource::new(frames.clone());
    // Snapshot at uneven points through the capture, including inside the call and right
    // after flows end.
    let points: Vec<usize> = [1, 2, 7, 40, 41, 300, 2_000, 5_000, 9_000]
        .into_iter()
        .filter(|&p| p < frames.len())
        .chain([frames.len()])
        .collect();
    let mut done = 0;
    let mut compared = 0;
    for p in points {
        while done < p {
            live.feed(src.next_frame());
            done += 1;
        }
        let incremental = live.snapshot(false);
        let (mut fresh, _) = analysed(&frames[..p]);
        let scratch = fresh.snapshot(false);
        assert_eq!(incremental.packets, p as u64);
        assert_eq!(
            flows_json(&incremental),
            flows_json(&scratch),
            "flows after {p} frames"
        );
        assert_eq!(
            events_json(&incremental),
            events_json(&scratch),
            "events after {p} frames"
        );
        // Asking again with nothing new changes nothing.
        let again = live.snapshot(false);
        assert_eq!(flows_json(&again), flows_json(&incremental));
        compared += 1;
    }
    assert!(compared >= 5);
}

#[test]
fn open_flows_are_shown_open_with_names_and_the_flows_table_is_ordered() {
    let frames = onlooker::scenario::demo().into_frames();
    // Halfway through the call: the chat connection and the call are open.
    let t0 = frames[0].ts.as_nanos();
    let mid = frames
        .iter()
        .position(|f| f.ts.as_nanos() >= t0 + 250 * Timestamp::NANOS_PER_SEC)
        .unwrap();
    let (mut a, _) = analysed(&frames[..mid]);
    let s = a.snapshot(false);
    let open: Vec<_> = s
        .flows
        .iter()
        .filter(|f| f.end_reason == onlooker::session::OPEN)
        .collect();
    assert!(
        open.iter()
            .any(|f| f.sni.as_deref() == Some("g.whatsapp.net") && f.service.is_some()),
        "the open chat connection is named: {open:#?}"
    );
    assert!(open.iter().any(|f| f.server.port() == 3478));
    assert!(s.flows.windows(2).all(|w| w[0].first_ts <= w[1].first_ts));
    assert_eq!(
        open.len(),
        a.open_flows(),
        "every flow of the table is shown open"
    );
}

#[test]
fn the_walk_over_touched_flows_visits_exactly_those() {
    let frames = onlooker::scenario::demo().into_frames();
    let mut table: FlowTable<()> = FlowTable::new(Timeouts::default(), 1 << 16);
    let mut sink = |_f: onlooker::flow::Flow<()>, _r: onlooker::flow::EndReason| {};
    let cut = frames.len() / 2;
    for f in &frames[..cut] {
        let frame = onlooker::capture::Frame {
            ts: f.ts,
            wire_len: f.wire_len,
            link: f.link,
            data: &f.data,
        };
        if let Ok(p) = onlooker::decode::decode(&frame) {
            table.observe(&p, &mut sink);
        }
    }
    let since = table.now();
    // Packets of later frames: the flows they touch are the ones the walk must visit.
    let mut touched = std::collections::BTreeSet::new();
    let mut touched_later = std::collections::BTreeSet::new();
    for f in &frames[cut..cut + 50] {
        let frame = onlooker::capture::Frame {
            ts: f.ts,
            wire_len: f.wire_len,
            link: f.link,
            data: &f.data,
        };
        if let Ok(p) = onlooker::decode::decode(&frame) {
            let o = table.observe(&p, &mut sink);
            if let Some(fl) = table.get(o.id) {
                touched.insert(format!("{:?}", fl.key));
                if since.is_some_and(|t| p.ts > t) {
                    touched_later.insert(format!("{:?}", fl.key));
                }
            }
        }
    }
    let mut visited = std::collections::BTreeSet::new();
    table.for_each_touched_since_mut(since.map(|t| Timestamp(t.0 + 1)), |f| {
        visited.insert(format!("{:?}", f.key));
    });
    assert!(!touched_later.is_empty());
    // Every flow touched after the clock moved past `since` is visited; nothing older is.
    assert!(
        touched_later.is_subset(&visited),
        "{touched_later:?} vs {visited:?}"
    );
    assert!(visited.is_subset(&touched), "{visited:?} vs {touched:?}");
    let mut all = 0;
    table.for_each_touched_since_mut(None, |_| all += 1);
    assert_eq!(all, table.len());
}

#[test]
fn flows_beyond_the_naming_budget_are_shown_at_once_and_named_later() {
    let n = onlooker::session::NAME_BUDGET + 2_000;
    let mut s = onlooker::scenario::Scenario::new(3);
    let base = 1_772_571_480i64 * Timestamp::NANOS_PER_SEC;
    let server: std::net::SocketAddr = "157.240.21.60:4000".parse().unwrap();
    for i in 0..n {
        let i = i as u32;
        let client = std::net::SocketAddr::new(
            std::net::IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + (i / 40_000))),
            (20_000 + i % 40_000) as u16,
        );
        s.udp(
            Timestamp(base + i64::from(i) * 1_000_000),
            client,
            server,
            &[0x17; 40],
        );
    }
    let frames = s.into_frames();
    let (mut a, _) = analysed(&frames);
    let first = a.snapshot(false);
    assert_eq!(first.flows.len(), n, "every open flow is shown at once");
    let named = |s: &Snapshot| s.flows.iter().filter(|f| f.asn.is_some()).count();
    assert_eq!(named(&first), onlooker::session::NAME_BUDGET);
    let second = a.snapshot(false);
    assert_eq!(second.flows.len(), n);
    assert_eq!(named(&second), n, "the rest are named by the next refresh");
    assert!(
        second
            .flows
            .windows(2)
            .all(|w| w[0].first_ts <= w[1].first_ts)
    );
}
