//! The dashboard's engine on a live source: it reads packets as they come (no pacing), reports
//! the source's kernel drops, and stopping the handle ends a capture that waits for packets
//! (through the stop flag the source was opened with). One test drives a stand-in live source
//! (no privileges needed); one captures on the loopback interface when run as root.
//!
//! Traffic goes only to 127.0.0.1.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use onlooker::analysis::pipeline::PipelineConfig;
use onlooker::capture::memory::OwnedFrame;
use onlooker::capture::{CaptureError, Frame, KernelStats, Next, PacketSource};
use onlooker::naming::catalog::Catalog;
use onlooker::naming::geo::Geo;
use onlooker::session::{self, Control, SessionConfig, SessionHandle, Snapshot, SourceKind, Speed};

const HUNG: Duration = Duration::from_secs(120);

fn config() -> SessionConfig {
    SessionConfig {
        kind: SourceKind::Live,
        source: "lo".into(),
        pipeline: PipelineConfig::default(),
        catalog: Catalog::bundled().unwrap(),
        geo: Geo::bundled(),
        observer: Default::default(),
        // Live ignores the replay speed.
        speed: Speed::X1,
    }
}

fn wait_for(h: &SessionHandle, what: &str, pred: impl Fn(&Snapshot) -> bool) -> Arc<Snapshot> {
    let until = Instant::now() + HUNG;
    loop {
        let s = h.latest();
        if pred(&s) {
            return s;
        }
        assert!(Instant::now() < until, "session hung waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Behaves like `LiveSource`: frames, then idle ticks until its stop flag is set, then the end;
/// the kernel dropped 7 packets.
struct FakeLive {
    frames: Vec<OwnedFrame>,
    next: usize,
    stop: Arc<AtomicBool>,
}

impl PacketSource for FakeLive {
    fn next_frame(&mut self) -> Result<Next<'_>, CaptureError> {
        if self.stop.load(Ordering::Relaxed) {
            return Ok(Next::End);
        }
        let Some(f) = self.frames.get(self.next) else {
            std::thread::sleep(Duration::from_millis(20));
            let ts = self.frames.last().map(|f| f.ts).unwrap_or_default();
            return Ok(Next::Idle(ts));
        };
        self.next += 1;
        Ok(Next::Frame(Frame {
            ts: f.ts,
            wire_len: f.wire_len,
            link: f.link,
            data: &f.data,
        }))
    }

    fn kernel_stats(&mut self) -> Option<KernelStats> {
        Some(KernelStats {
            received: self.next as u64,
            dropped_by_kernel: 7,
            dropped_by_interface: 0,
        })
    }

    fn describe(&self) -> String {
        "fake live".into()
    }
}

#[test]
fn live_session_reads_unpaced_reports_drops_and_stops_through_the_flag() {
    // The demo's frames span ten minutes of capture time: unpaced, they are all read at once.
    let frames = onlooker::scenario::demo().into_frames();
    let total = frames.len() as u64;
    let stop = Arc::new(AtomicBool::new(false));
    let src = FakeLive {
        frames,
        next: 0,
        stop: Arc::clone(&stop),
    };
    let h = session::start_with_stop(Box::new(src), config(), Arc::clone(&stop)).unwrap();
    let s = wait_for(&h, "every frame and the kernel counters", |s| {
        s.packets == total && s.kernel_drops == Some(7)
    });
    assert!(!s.finished, "a live capture goes on until stopped");
    assert!(
        s.events
            .iter()
            .any(|e| e.kind == onlooker::model::EventKind::VoiceCall)
    );
    // A pause freezes the view only; the capture goes on.
    h.send(Control::TogglePause);
    wait_for(&h, "the pause", |s| s.paused);
    let last = h.finish();
    assert!(
        stop.load(Ordering::Relaxed),
        "stopping sets the source's stop flag"
    );
    assert!(last.finished);
    assert_eq!(last.kernel_drops, Some(7));
    assert!(last.flows.iter().all(|f| f.end_reason != session::OPEN));
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

#[test]
fn live_session_on_loopback_shows_flows_as_they_come_and_stops() {
    if !is_root() {
        println!("SKIPPED live_session_on_loopback_shows_flows_as_they_come_and_stops: not root");
        return;
    }
    let receiver = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = receiver.local_addr().unwrap().port();
    let opts = onlooker::capture::live::LiveOptions {
        interface: "lo".into(),
        filter: Some(format!("udp port {port}")),
        promisc: false,
        snaplen: onlooker::capture::live::DEFAULT_SNAPLEN,
        buffer_size: None,
    };
    // Not `session::start_live`: dropping privileges would affect every test of this process.
    let stop = Arc::new(AtomicBool::new(false));
    let src = onlooker::capture::live::LiveSource::open(&opts, Arc::clone(&stop)).unwrap();
    let h = session::start_with_stop(Box::new(src), config(), Arc::clone(&stop)).unwrap();
    let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let until = Instant::now() + HUNG;
    // Send until the session shows the flow open (the handle is already capturing).
    let seen = loop {
        sender.send_to(&[1u8; 100], ("127.0.0.1", port)).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        let s = h.latest();
        if s.flows
            .iter()
            .any(|f| f.end_reason == session::OPEN && f.server.port() == port)
        {
            break s;
        }
        assert!(Instant::now() < until, "no live flow shown");
    };
    assert!(!seen.finished);
    assert!(
        seen.kernel_drops.is_some(),
        "libpcap's counters are reported"
    );
    let last = h.finish();
    assert!(last.finished);
    assert!(stop.load(Ordering::Relaxed));
    assert!(
        last.flows
            .iter()
            .any(|f| f.end_reason == "end_of_input" && f.server.port() == port)
    );
}
