//! The bundled demo capture is exactly what the project's scenario writer produces, and reads
//! back into the flows the scenario scripted.

use onlooker::analysis::pipeline::{Pipeline, PipelineConfig};
use onlooker::capture::memory::MemorySource;
use onlooker::capture::offline::FileSource;
use onlooker::model::{FlowRecord, Proto};

fn flows_of(source: &mut dyn onlooker::capture::PacketSource) -> Vec<FlowRecord> {
    let mut out = Vec::new();
    let mut p: Pipeline<()> = Pipeline::new(PipelineConfig::default());
    p.run(source, &mut |_, _, _| {}, &mut |f, r| {
        out.push(FlowRecord::from_flow(&f, r))
    });
    out
}

#[test]
fn bundled_demo_is_what_the_writer_writes() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo.pcap");
    let committed = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut fresh = Vec::new();
    onlooker::scenario::demo()
        .write_pcap(&mut fresh)
        .unwrap_or_else(|e| panic!("writing the demo: {e}"));
    assert!(
        committed == fresh,
        "assets/demo.pcap is stale: run `cargo run --example write-demo`"
    );
}

#[test]
fn demo_file_and_memory_replay_give_the_same_flows() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo.pcap");
    let mut file = FileSource::new(&[path]).unwrap_or_else(|e| panic!("{e}"));
    let from_file = flows_of(&mut file);
    let mut mem = MemorySource::new(onlooker::scenario::demo().into_frames());
    let from_memory = flows_of(&mut mem);
    assert_eq!(from_file, from_memory);
    // The scenario scripts three DNS lookups, three TLS connections and one call.
    let udp53 = from_file.iter().filter(|f| f.server.port() == 53).count();
    let tls = from_file
        .iter()
        .filter(|f| f.proto == Proto::TCP && f.server.port() == 443)
        .count();
    let call = from_file.iter().filter(|f| f.server.port() == 3478).count();
    assert_eq!((udp53, tls, call), (3, 3, 1), "{from_file:#?}");
}

/// The activities the demo scenario scripts come back as events: a 95 s WhatsApp voice call
/// through a relay (media from 200 s + 3 s), and a 182,000-byte photo download.
#[test]
fn demo_scenario_events_are_found() {
    use onlooker::activity::infer;
    use onlooker::analysis::summarize;
    use onlooker::model::{EventKind, PeerKind, SizeClass};
    use onlooker::naming::catalog::Catalog;
    use onlooker::naming::geo::Geo;
    let mut src = MemorySource::new(onlooker::scenario::demo().into_frames());
    let catalog = Catalog::bundled().unwrap_or_else(|e| panic!("{e}"));
    let (flows, _) = summarize(&mut src, catalog, Geo::bundled(), PipelineConfig::default());
    let events = infer(&flows);
    let t0 = 1_772_571_480.0;
    let call = events
        .iter()
        .find(|e| e.kind == EventKind::VoiceCall)
        .unwrap_or_else(|| panic!("no voice call in {events:#?}"));
    assert_eq!(call.service.as_deref(), Some("WhatsApp"));
    assert_eq!(call.peer_kind, Some(PeerKind::Relay));
    assert!((call.start_ts - (t0 + 203.0)).abs() < 2.0, "{call:?}");
    assert!((call.end_ts - call.start_ts - 95.0).abs() < 2.0, "{call:?}");
    let photo = events
        .iter()
        .find(|e| e.kind == EventKind::MediaDownload)
        .unwrap_or_else(|| panic!("no download in {events:#?}"));
    // 182,000 bytes of application data in TLS records of at most 16 KiB plus 5-byte headers.
    let expected = 182_000.0;
    assert!(
        ((photo.bytes_in as f64) - expected).abs() <= 0.05 * expected,
        "{photo:?}"
    );
    assert_eq!(photo.size_class, Some(SizeClass::Photo));
    assert!(!events.iter().any(|e| e.kind == EventKind::VideoCall));
    // The scenario uses WhatsApp, then Signal three minutes after WhatsApp's call ends.
    let sessions: Vec<_> = events
        .iter()
        .filter(|e| e.kind == EventKind::OnlineSession)
        .filter_map(|e| e.service.as_deref())
        .collect();
    assert_eq!(sessions, ["WhatsApp", "Signal"]);
    let signal_out = events
        .iter()
        .filter(|e| e.kind == EventKind::MessageOut && e.service.as_deref() == Some("Signal"))
        .count();
    assert_eq!(signal_out, 4, "the scenario sends four Signal messages");
}

fn onlooker_in(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_onlooker"))
        .args(args)
        .current_dir(dir)
        .env("TZ", "UTC")
        .output()
        .unwrap_or_else(|e| panic!("running onlooker: {e}"))
}

/// What the report's header says of a synthetic capture.
const SYNTHETIC: &str = "Synthetic capture: onlooker's bundled demo";

/// An installed binary shows the demo as text from any directory, and its report says in its
/// body that the capture is synthetic.
#[test]
fn demo_report_works_from_any_directory_and_says_synthetic() {
    let elsewhere = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = onlooker_in(elsewhere.path(), &["demo", "--report"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(SYNTHETIC), "{text}");
    assert!(text.contains("WhatsApp voice call"), "{text}");
    // Counts agree with their nouns, and no "(s)" hedges them.
    assert!(text.contains("; 7 flows, 14 activities inferred"), "{text}");
    assert!(!text.contains("(s)"), "{text}");
    // The same report as `report` on the bundled file, which says it too.
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo.pcap");
    let from_file = onlooker_in(
        elsewhere.path(),
        &["report", path.to_str().unwrap_or_default()],
    );
    assert!(from_file.status.success());
    assert_eq!(String::from_utf8_lossy(&from_file.stdout), text);
    // JSON marks it for scripts.
    let json = onlooker_in(elsewhere.path(), &["demo", "--report", "json"]);
    let v: serde_json::Value =
        serde_json::from_slice(&json.stdout).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v["inputs"]["synthetic"], true);
}

/// A capture that is not the demo is not called synthetic, even when it holds most of the
/// demo's packets.
#[test]
fn a_report_of_other_traffic_does_not_say_synthetic() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut frames = onlooker::scenario::demo().into_frames();
    frames.pop();
    let path = dir.path().join("demo.pcap");
    let mut w = onlooker::capture::writer::PcapWriter::new(
        std::fs::File::create(&path).unwrap_or_else(|e| panic!("{e}")),
        onlooker::capture::LinkType::ETHERNET,
        65_535,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    for f in frames {
        w.write(f.ts, &f.data).unwrap_or_else(|e| panic!("{e}"));
    }
    w.finish().unwrap_or_else(|e| panic!("{e}"));
    let out = onlooker_in(dir.path(), &["report", "demo.pcap"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Captures: demo.pcap"), "{text}");
    assert!(!text.contains("Synthetic"), "{text}");
}

/// `demo --events` prints the demo's activities as a table: kinds in words, byte counts in
/// the report's units, one line per activity and a count.
#[test]
fn demo_events_is_a_readable_table() {
    let elsewhere = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = onlooker_in(elsewhere.path(), &["demo", "--events"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("when (UTC)"), "{text}");
    assert!(text.contains("voice call via a relay"), "{text}");
    assert!(text.contains("media download (a photo)"), "{text}");
    assert!(
        !text.contains("voice_call") && !text.contains('{'),
        "{text}"
    );
    let events = lines.iter().filter(|l| l.starts_with("Tue ")).count();
    assert_eq!(lines.last(), Some(&format!("{events} activities").as_str()));
    assert!(text.lines().all(|l| l.chars().count() <= 100), "{text}");
    // No statistics block: no file was read.
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
