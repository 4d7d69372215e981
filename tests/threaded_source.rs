//! Reading on a reader thread gives exactly what reading on one thread gives: the same flows in
//! the same order, the same statistics, and the same error for a damaged file.

mod common;

use onlooker::capture::PacketSource;
use onlooker::capture::offline::FileSource;
use onlooker::capture::threaded::ThreadedSource;
use onlooker::pipeline::{Pipeline, PipelineConfig, RunStats};
use onlooker::views::export::FlowRecord;

fn run(source: &mut dyn PacketSource) -> (Vec<FlowRecord>, RunStats) {
    let mut out = Vec::new();
    let mut p: Pipeline<()> = Pipeline::new(PipelineConfig::default());
    p.run(source, &mut |_, _, _| {}, &mut |f, r| {
        out.push(FlowRecord::from_flow(&f, r))
    });
    (out, p.stats())
}

fn same_both_ways(paths: &[std::path::PathBuf]) {
    let mut direct = FileSource::new(paths).unwrap_or_else(|e| panic!("{e}"));
    let (a, sa) = run(&mut direct);
    let file = FileSource::new(paths).unwrap_or_else(|e| panic!("{e}"));
    let mut threaded = ThreadedSource::spawn(file).unwrap_or_else(|e| panic!("{e}"));
    let (b, sb) = run(&mut threaded);
    assert_eq!(a, b, "{paths:?}");
    assert_eq!(sa.frames, sb.frames);
    assert_eq!(sa.undecodable, sb.undecodable);
    assert_eq!(sa.partial_inputs, sb.partial_inputs);
}

#[test]
fn threaded_reading_matches_direct_reading_on_the_demo() {
    let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo.pcap");
    same_both_ways(&[demo]);
}

#[test]
fn threaded_reading_matches_direct_reading_on_a_cut_file() {
    let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo.pcap");
    let bytes = std::fs::read(&demo).unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let cut = dir.path().join("cut.pcap");
    // Cut inside a record in the middle of the file, then read it followed by the whole file.
    std::fs::write(&cut, &bytes[..bytes.len() / 2 + 7]).unwrap_or_else(|e| panic!("{e}"));
    same_both_ways(&[cut, demo]);
}

#[test]
fn threaded_reading_matches_direct_reading_on_the_corpus() {
    let Some(corpus) = common::corpus() else {
        common::skip("threaded_reading_matches_direct_reading_on_the_corpus");
        return;
    };
    let mut n = 0;
    for (_, _, path) in common::captures(&corpus) {
        if FileSource::new(std::slice::from_ref(&path)).is_ok() {
            same_both_ways(std::slice::from_ref(&path));
            n += 1;
        }
    }
    assert!(n > 600, "only {n} captures compared");
}
