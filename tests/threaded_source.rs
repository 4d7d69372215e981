//! Reading on a reader thread gives exactly what reading on one thread gives: the same flows in
//! the same order, the same statistics, and the same error for a damaged file.

mod common;

use onlooker::analysis::pipeline::{Pipeline, PipelineConfig, RunStats};
use onlooker::capture::PacketSource;
use onlooker::capture::offline::FileSource;
use onlooker::capture::threaded::ThreadedSource;
use onlooker::model::FlowRecord;

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

/// A live-like source: one frame, then idle ticks until the consumer has seen the frame (or
/// 10,000 ticks), then the end; and kernel counters that say how many ticks it gave.
struct Trickle {
    seen: std::sync::Arc<std::sync::atomic::AtomicBool>,
    ticks: u64,
    frame: Vec<u8>,
}

impl PacketSource for Trickle {
    fn next_frame(
        &mut self,
    ) -> Result<onlooker::capture::Next<'_>, onlooker::capture::CaptureError> {
        use onlooker::capture::{Frame, LinkType, Next, Timestamp};
        self.ticks += 1;
        if self.ticks == 1 {
            return Ok(Next::Frame(Frame {
                ts: Timestamp::from_secs(1),
                wire_len: self.frame.len() as u32,
                link: LinkType::ETHERNET,
                data: &self.frame,
            }));
        }
        if self.seen.load(std::sync::atomic::Ordering::SeqCst) || self.ticks > 10_000 {
            return Ok(Next::End);
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
        Ok(Next::Idle(Timestamp::from_secs(1)))
    }

    fn kernel_stats(&mut self) -> Option<onlooker::capture::KernelStats> {
        Some(onlooker::capture::KernelStats {
            received: self.ticks,
            ..Default::default()
        })
    }

    fn describe(&self) -> String {
        "trickle".into()
    }
}

#[test]
fn a_live_batch_is_handed_over_before_it_fills() {
    use onlooker::capture::Next;
    let seen = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let source = Trickle {
        seen: std::sync::Arc::clone(&seen),
        ticks: 0,
        frame: vec![0; 60],
    };
    let mut live = ThreadedSource::spawn_live(source).unwrap_or_else(|e| panic!("{e}"));
    // The first item is the frame, handed over on the next idle tick, while the source is
    // still running (it ends only once the frame was seen, or after 10,000 ticks).
    match live.next_frame() {
        Ok(Next::Frame(f)) => assert_eq!(f.data.len(), 60),
        other => panic!("expected the frame, got {other:?}"),
    }
    let early = live.kernel_stats().map(|k| k.received);
    assert!(
        early.is_some_and(|n| n < 10_000),
        "the frame came before the source gave up: kernel counters {early:?}"
    );
    seen.store(true, std::sync::atomic::Ordering::SeqCst);
    loop {
        match live.next_frame() {
            Ok(Next::Idle(_)) => {}
            Ok(Next::End) => break,
            other => panic!("expected idle ticks then the end, got {other:?}"),
        }
    }
    // After the end, the counters are the source's last.
    assert!(
        live.kernel_stats()
            .is_some_and(|k| k.received > early.unwrap_or(0))
    );
}
