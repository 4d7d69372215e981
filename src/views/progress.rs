//! A progress line on stderr for long runs over capture files (`flows`, `events`, `report`):
//! bytes read of the total, packets per second, and the time left, redrawn in place.
//!
//! It exists so that a run over gigabytes does not look hung. It is drawn only when stderr is
//! a terminal, never on stdout (the output stays clean for pipes and files), and at most
//! [`REDRAWS_PER_SEC`] times a second by the wall clock. The wall clock is used here, in the
//! view, and only here: the analysis runs on packet time and never sees this module. It wraps
//! the packet source and must never change, drop or reorder a frame.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::capture::{CaptureError, KernelStats, Next, PacketSource, RecordAnomalies};
use crate::observer::words;

/// Redraws per second at most: often enough to look alive, rarely enough to cost nothing.
pub const REDRAWS_PER_SEC: u32 = 4;
/// The clock is read once per this many frames (reading it per frame would show in
/// `flows --no-names` throughput).
const FRAMES_PER_CLOCK_READ: u64 = 256;
/// No line before the run has taken this long: short runs stay silent.
const FIRST_DRAW_AFTER: Duration = Duration::from_millis(500);
/// Bytes a classic pcap record header takes in the file, added to each frame's captured
/// length to estimate the bytes read (pcapng blocks take a little more: the figure is an
/// estimate, shown as one).
const RECORD_HEADER: u64 = 16;

/// What the line counts so far.
#[derive(Debug)]
struct Meter {
    /// Sum of the input files' sizes; None when one is a stream (standard input, a FIFO).
    total: Option<u64>,
    bytes: u64,
    frames: u64,
    started: Instant,
    next_draw: Instant,
    drawn: bool,
}

/// A packet source that draws a progress line on stderr while it is read.
pub struct Progress<S> {
    inner: S,
    meter: Option<Meter>,
}

impl<S> Progress<S> {
    /// Wrap `inner`, read from `files`; the line is drawn only when stderr is a terminal.
    pub fn new(inner: S, files: &[PathBuf]) -> Self {
        Self::with(inner, files, std::io::stderr().is_terminal())
    }

    /// Wrap `inner`, drawing the line when `draw` is true.
    pub fn with(inner: S, files: &[PathBuf], draw: bool) -> Self {
        let total = files.iter().try_fold(0u64, |sum, f| {
            let m = std::fs::metadata(f).ok()?;
            m.is_file().then(|| sum + m.len())
        });
        let now = Instant::now();
        Self {
            inner,
            meter: draw.then_some(Meter {
                total,
                bytes: 0,
                frames: 0,
                started: now,
                next_draw: now + FIRST_DRAW_AFTER,
                drawn: false,
            }),
        }
    }

    /// Erase the line, if one was drawn, so what follows on stderr starts on a clean line.
    pub fn finish(&mut self) {
        if let Some(m) = &mut self.meter
            && m.drawn
        {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[K");
            let _ = err.flush();
            m.drawn = false;
        }
    }
}

impl<S> Drop for Progress<S> {
    fn drop(&mut self) {
        self.finish();
    }
}

impl Meter {
    fn count(&mut self, caplen: usize) {
        self.frames += 1;
        self.bytes += caplen as u64 + RECORD_HEADER;
        if self.frames % FRAMES_PER_CLOCK_READ != 0 {
            return;
        }
        let now = Instant::now();
        if now < self.next_draw {
            return;
        }
        self.next_draw = now + Duration::from_secs(1) / REDRAWS_PER_SEC;
        let line = line(self.bytes, self.total, self.frames, now - self.started);
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r{line}\x1b[K");
        let _ = err.flush();
        self.drawn = true;
    }
}

/// The progress line: "read 412 MB of 1.3 GB (31%), 480000 packets/s, about 2 min left".
pub fn line(bytes: u64, total: Option<u64>, frames: u64, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64().max(1e-3);
    let rate = (frames as f64 / secs).round() as u64;
    match total {
        Some(total) if total > 0 => {
            let bytes = bytes.min(total);
            let left = (total - bytes) as f64 / (bytes as f64 / secs).max(1.0);
            format!(
                "onlooker: read {} of {} ({}%), {rate} packets/s, about {} left",
                words::bytes(bytes),
                words::bytes(total),
                bytes * 100 / total,
                words::duration(left)
            )
        }
        _ => format!("onlooker: read {}, {rate} packets/s", words::bytes(bytes)),
    }
}

impl<S: PacketSource> PacketSource for Progress<S> {
    fn next_frame(&mut self) -> Result<Next<'_>, CaptureError> {
        let next = self.inner.next_frame();
        if let (Some(m), Ok(Next::Frame(f))) = (&mut self.meter, &next) {
            m.count(f.data.len());
        }
        if !matches!(next, Ok(Next::Frame(_)))
            && let Some(m) = &mut self.meter
            && m.drawn
        {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[K");
            let _ = err.flush();
            m.drawn = false;
        }
        next
    }

    fn kernel_stats(&mut self) -> Option<KernelStats> {
        self.inner.kernel_stats()
    }

    fn record_anomalies(&mut self) -> RecordAnomalies {
        self.inner.record_anomalies()
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_says_bytes_of_total_rate_and_time_left() {
        let l = line(
            500_000_000,
            Some(1_000_000_000),
            1_000_000,
            Duration::from_secs(10),
        );
        let want = format!(
            "onlooker: read {} of {} (50%), 100000 packets/s, about 10 s left",
            words::bytes(500_000_000),
            words::bytes(1_000_000_000)
        );
        assert_eq!(l, want);
    }

    #[test]
    fn a_stream_has_no_total_and_no_time_left() {
        let l = line(2_000_000, None, 500, Duration::from_secs(1));
        assert!(l.contains("500 packets/s"), "{l}");
        assert!(!l.contains("left") && !l.contains('%'), "{l}");
    }
}
