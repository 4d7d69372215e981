//! The bundled demo capture is exactly what the project's scenario writer produces, and reads
//! back into the flows the scenario scripted.

use onlooker::capture::memory::MemorySource;
use onlooker::capture::offline::FileSource;
use onlooker::pipeline::{Pipeline, PipelineConfig};
use onlooker::views::export::FlowRecord;

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
    let udp53 = from_file
        .iter()
        .filter(|f| f.server.ends_with(":53"))
        .count();
    let tls = from_file
        .iter()
        .filter(|f| f.proto == "tcp" && f.server.ends_with(":443"))
        .count();
    let call = from_file
        .iter()
        .filter(|f| f.server.ends_with(":3478"))
        .count();
    assert_eq!((udp53, tls, call), (3, 3, 1), "{from_file:#?}");
}
