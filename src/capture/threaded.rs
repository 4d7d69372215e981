//! Reading on a thread of its own: a source that runs another source on a reader thread and
//! hands its frames over in batches.
//!
//! Reading a capture file (system calls, copies out of the page cache, libpcap's record
//! parsing) costs about as much as analysing it; on separate cores the two overlap. Frames are
//! copied into reusable batch buffers: a batch goes to the analysis thread through a bounded
//! channel and comes back empty through another, so after the first few batches nothing is
//! allocated per packet, and a slow analysis makes the reader wait instead of growing memory.
//!
//! Order is kept exactly, errors (a damaged file) and idle ticks included, so results are the
//! same as reading on one thread.
//!
//! A live capture uses the same hand-over ([`ThreadedSource::spawn_live`]): the capture thread
//! only copies frames out of the kernel ring, so a burst of analysis work (a handshake, a
//! flush of expired flows) never keeps the ring from being emptied. A live batch is also sent
//! on an idle tick and once it is [`LIVE_FLUSH`] old, so flows still end promptly at low rates.
//! When the analysis falls behind for longer than the batches in flight last, the capture thread
//! waits and the kernel ring fills: what is lost then is counted by the kernel (its drop
//! counter), never dropped here, and the waits are counted ([`ThreadedSource::reader_waits`]).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TryRecvError, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{
    CaptureError, Frame, KernelStats, LinkType, Next, PacketSource, RecordAnomalies, Timestamp,
};

/// Bytes of frame data per batch: large enough that channel costs vanish per packet, small
/// enough that a few batches in flight stay a few megabytes.
const BATCH_BYTES: usize = 1 << 20;
/// Frames per batch at most (small frames).
const BATCH_FRAMES: usize = 4096;
/// Batches in flight (full ones queued plus the ones being filled and drained).
const BATCHES: usize = 4;
/// How often a source with a stop flag looks at it while waiting for the reader: a reader
/// blocked on a pipe that stays silent must not keep Ctrl-C from ending the run.
const STOP_POLL: Duration = Duration::from_millis(100);
/// How long a stopped source waits for its reader to end (a live capture ends within its read
/// timeout of 100 ms).
const READER_GRACE: Duration = Duration::from_secs(1);
/// Age at which a live batch is handed over even if not full: frames reach the analysis (and
/// ended flows the output) within about this long plus the kernel's block timeout at any rate.
pub const LIVE_FLUSH: Duration = Duration::from_millis(50);

/// One item read.
#[derive(Debug)]
enum Item {
    Frame {
        ts: Timestamp,
        wire_len: u32,
        link: LinkType,
        start: usize,
        len: usize,
    },
    Idle(Timestamp),
    Error(CaptureError),
}

#[derive(Debug, Default)]
struct Batch {
    data: Vec<u8>,
    items: Vec<Item>,
}

/// Runs a source on a reader thread.
pub struct ThreadedSource {
    full: Receiver<Batch>,
    empty: SyncSender<Batch>,
    current: Batch,
    pos: usize,
    description: String,
    reader: Option<JoinHandle<(Option<KernelStats>, RecordAnomalies)>>,
    /// The source's kernel counters, refreshed by the reader with every batch it sends (and
    /// before the last one), so they are current mid-run and complete after a failure.
    kernel: Arc<Mutex<Option<KernelStats>>>,
    waits: Arc<AtomicU64>,
    anomalies: RecordAnomalies,
    /// When set, the next wait for a batch ends the source ([`ThreadedSource::stop_on`]).
    stop: Option<Arc<AtomicBool>>,
    /// Time of the latest frame or tick handed out (the time of a quiet stream's idle tick).
    last_ts: Option<Timestamp>,
}

impl std::fmt::Debug for ThreadedSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThreadedSource")
            .field("source", &self.description)
            .finish_non_exhaustive()
    }
}

impl ThreadedSource {
    /// Start reading `source` (a file) on its own thread.
    pub fn spawn<S: PacketSource + Send + 'static>(source: S) -> std::io::Result<Self> {
        Self::start(source, None)
    }

    /// Start capturing from `source` (a live interface) on its own thread: as [`Self::spawn`],
    /// and a batch is also handed over on an idle tick and once it is [`LIVE_FLUSH`] old. Call
    /// it only after privileges were dropped: a thread started before keeps them.
    pub fn spawn_live<S: PacketSource + Send + 'static>(source: S) -> std::io::Result<Self> {
        Self::start(source, Some(LIVE_FLUSH))
    }

    /// How many times the reader found no empty batch and had to wait for the analysis (the
    /// analysis was behind by every batch in flight).
    pub fn reader_waits(&self) -> u64 {
        self.waits.load(Ordering::Relaxed)
    }

    fn start<S: PacketSource + Send + 'static>(
        mut source: S,
        flush_after: Option<Duration>,
    ) -> std::io::Result<Self> {
        let description = source.describe();
        let (full_tx, full_rx) = sync_channel::<Batch>(BATCHES);
        let (empty_tx, empty_rx) = sync_channel::<Batch>(BATCHES + 1);
        for _ in 0..BATCHES {
            let _ = empty_tx.send(Batch {
                data: Vec::with_capacity(BATCH_BYTES),
                items: Vec::with_capacity(BATCH_FRAMES),
            });
        }
        let kernel = Arc::new(Mutex::new(None));
        let waits = Arc::new(AtomicU64::new(0));
        let (kernel_w, waits_w) = (Arc::clone(&kernel), Arc::clone(&waits));
        let reader = std::thread::Builder::new()
            .name("reader".into())
            .spawn(move || {
                let refresh = |source: &mut S| {
                    if let Ok(mut k) = kernel_w.lock() {
                        *k = source.kernel_stats();
                    }
                };
                let mut batch = match empty_rx.recv() {
                    Ok(b) => b,
                    Err(_) => return (None, RecordAnomalies::default()),
                };
                // When the batch being filled got its first item (live only).
                let mut opened: Option<Instant> = None;
                loop {
                    if !batch.items.is_empty() && source.stream_fd().is_some_and(|fd| !readable(fd))
                    {
                        // A stream with nothing more to read yet: what is held goes now, not
                        // after the wait for the writer's next packet.
                        opened = None;
                        refresh(&mut source);
                        if full_tx.send(batch).is_err() {
                            return (source.kernel_stats(), source.record_anomalies());
                        }
                        batch = match next_empty(&empty_rx, &waits_w) {
                            Some(b) => b,
                            None => return (source.kernel_stats(), source.record_anomalies()),
                        };
                    }
                    let (end, idle) = match source.next_frame() {
                        Ok(Next::Frame(f)) => {
                            let start = batch.data.len();
                            batch.data.extend_from_slice(f.data);
                            batch.items.push(Item::Frame {
                                ts: f.ts,
                                wire_len: f.wire_len,
                                link: f.link,
                                start,
                                len: f.data.len(),
                            });
                            (false, false)
                        }
                        Ok(Next::Idle(ts)) => {
                            batch.items.push(Item::Idle(ts));
                            (false, true)
                        }
                        Ok(Next::End) => (true, false),
                        Err(e) => {
                            let fatal = !matches!(e, CaptureError::Partial { .. });
                            batch.items.push(Item::Error(e));
                            (fatal, false)
                        }
                    };
                    let mut full =
                        batch.data.len() >= BATCH_BYTES || batch.items.len() >= BATCH_FRAMES;
                    if let Some(age) = flush_after {
                        let now = Instant::now();
                        let first = *opened.get_or_insert(now);
                        full |= idle || now.duration_since(first) >= age;
                    }
                    if end || full {
                        opened = None;
                        refresh(&mut source);
                        if full_tx.send(batch).is_err() || end {
                            return (source.kernel_stats(), source.record_anomalies());
                        }
                        batch = match next_empty(&empty_rx, &waits_w) {
                            Some(b) => b,
                            None => return (source.kernel_stats(), source.record_anomalies()),
                        };
                    }
                }
            })?;
        Ok(Self {
            full: full_rx,
            empty: empty_tx,
            current: Batch::default(),
            pos: 0,
            description,
            reader: Some(reader),
            kernel,
            waits,
            anomalies: RecordAnomalies::default(),
            stop: None,
            last_ts: None,
        })
    }

    /// End at the next wait for the reader once `stop` is set, even while the reader is still
    /// blocked (a pipe whose writer has not closed it): frames already handed over are read
    /// first only if they are in the batch at hand. The reader thread is then left to end with
    /// the process.
    pub fn stop_on(&mut self, stop: Arc<AtomicBool>) {
        self.stop = Some(stop);
    }

    /// After a stop, give the reader a moment to end on its own (a live capture sees the same
    /// flag within its read timeout), handing its batches back so it never waits for one; a
    /// reader still blocked then (a silent pipe) is left behind.
    fn let_reader_end(&mut self) {
        // Without a stop flag the channel closed: the reader has ended or is ending.
        let (Some(h), Some(_)) = (&self.reader, &self.stop) else {
            return;
        };
        let deadline = Instant::now() + READER_GRACE;
        while !h.is_finished() && Instant::now() < deadline {
            while let Ok(mut b) = self.full.try_recv() {
                b.data.clear();
                b.items.clear();
                let _ = self.empty.send(b);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The next full batch; `Err(true)` at the end of the reader (or when stopped),
    /// `Err(false)` when a source with a stop flag stayed quiet for [`STOP_POLL`].
    fn next_batch(&mut self) -> Result<Batch, bool> {
        let Some(stop) = &self.stop else {
            return self.full.recv().map_err(|_| true);
        };
        if stop.load(Ordering::Relaxed) {
            // What was read before the stop is still analysed; nothing more is awaited.
            return self.full.try_recv().map_err(|_| true);
        }
        match self.full.recv_timeout(STOP_POLL) {
            Ok(b) => Ok(b),
            Err(RecvTimeoutError::Timeout) => Err(false),
            Err(RecvTimeoutError::Disconnected) => Err(true),
        }
    }
}

/// An empty batch to fill, counting a wait when none was ready; `None` once the reading side
/// is gone.
fn next_empty(empty: &Receiver<Batch>, waits: &AtomicU64) -> Option<Batch> {
    match empty.try_recv() {
        Ok(b) => Some(b),
        Err(TryRecvError::Empty) => {
            waits.fetch_add(1, Ordering::Relaxed);
            empty.recv().ok()
        }
        Err(TryRecvError::Disconnected) => None,
    }
}

/// Whether `fd` has input waiting (poll with no timeout); an error counts as readable, so the
/// read that follows reports it.
fn readable(fd: std::os::fd::RawFd) -> bool {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd for the duration of the call.
    unsafe { libc::poll(&mut pfd, 1, 0) != 0 }
}

impl PacketSource for ThreadedSource {
    fn next_frame(&mut self) -> Result<Next<'_>, CaptureError> {
        while self.pos >= self.current.items.len() {
            let mut done = std::mem::take(&mut self.current);
            if done.items.capacity() > 0 {
                done.data.clear();
                done.items.clear();
                let _ = self.empty.send(done);
            }
            match self.next_batch() {
                Ok(b) => {
                    self.current = b;
                    self.pos = 0;
                }
                Err(false) => {
                    // A quiet stream: an idle tick at the time of the last frame lets the
                    // caller look up (publish, see the stop) without moving packet time on.
                    if let Some(ts) = self.last_ts {
                        return Ok(Next::Idle(ts));
                    }
                }
                Err(true) => {
                    self.let_reader_end();
                    let stopped = self.stop.is_some();
                    if let Some(h) = self.reader.take().filter(|h| !stopped || h.is_finished())
                        && let Ok((kernel, anomalies)) = h.join()
                    {
                        if let Ok(mut k) = self.kernel.lock() {
                            *k = kernel;
                        }
                        self.anomalies = anomalies;
                    }
                    return Ok(Next::End);
                }
            }
        }
        let i = self.pos;
        self.pos += 1;
        // An error is moved out (it is reported once); a placeholder idle tick keeps the slot.
        if matches!(self.current.items[i], Item::Error(_)) {
            let item = std::mem::replace(&mut self.current.items[i], Item::Idle(Timestamp(0)));
            if let Item::Error(e) = item {
                return Err(e);
            }
        }
        if let Item::Frame { ts, .. } | Item::Idle(ts) = &self.current.items[i] {
            self.last_ts = Some(self.last_ts.map_or(*ts, |l| l.max(*ts)));
        }
        match &self.current.items[i] {
            Item::Frame {
                ts,
                wire_len,
                link,
                start,
                len,
            } => Ok(Next::Frame(Frame {
                ts: *ts,
                wire_len: *wire_len,
                link: *link,
                data: self.current.data.get(*start..*start + *len).unwrap_or(&[]),
            })),
            Item::Idle(ts) => Ok(Next::Idle(*ts)),
            Item::Error(_) => Ok(Next::Idle(Timestamp(0))),
        }
    }

    fn kernel_stats(&mut self) -> Option<KernelStats> {
        self.kernel.lock().ok().and_then(|k| *k)
    }

    fn record_anomalies(&mut self) -> RecordAnomalies {
        self.anomalies
    }

    fn describe(&self) -> String {
        self.description.clone()
    }
}
