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

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

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
    kernel: Option<KernelStats>,
    anomalies: RecordAnomalies,
}

impl std::fmt::Debug for ThreadedSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThreadedSource")
            .field("source", &self.description)
            .finish_non_exhaustive()
    }
}

impl ThreadedSource {
    /// Start reading `source` on its own thread.
    pub fn spawn<S: PacketSource + Send + 'static>(mut source: S) -> std::io::Result<Self> {
        let description = source.describe();
        let (full_tx, full_rx) = sync_channel::<Batch>(BATCHES);
        let (empty_tx, empty_rx) = sync_channel::<Batch>(BATCHES + 1);
        for _ in 0..BATCHES {
            let _ = empty_tx.send(Batch {
                data: Vec::with_capacity(BATCH_BYTES),
                items: Vec::with_capacity(BATCH_FRAMES),
            });
        }
        let reader = std::thread::Builder::new()
            .name("reader".into())
            .spawn(move || {
                let mut batch = match empty_rx.recv() {
                    Ok(b) => b,
                    Err(_) => return (None, RecordAnomalies::default()),
                };
                loop {
                    let end = match source.next_frame() {
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
                            false
                        }
                        Ok(Next::Idle(ts)) => {
                            batch.items.push(Item::Idle(ts));
                            false
                        }
                        Ok(Next::End) => true,
                        Err(e) => {
                            let fatal = !matches!(e, CaptureError::Partial { .. });
                            batch.items.push(Item::Error(e));
                            fatal
                        }
                    };
                    let full = batch.data.len() >= BATCH_BYTES || batch.items.len() >= BATCH_FRAMES;
                    if end || full {
                        if full_tx.send(batch).is_err() {
                            return (source.kernel_stats(), source.record_anomalies());
                        }
                        if end {
                            return (source.kernel_stats(), source.record_anomalies());
                        }
                        batch = match empty_rx.recv() {
                            Ok(b) => b,
                            Err(_) => return (source.kernel_stats(), source.record_anomalies()),
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
            kernel: None,
            anomalies: RecordAnomalies::default(),
        })
    }
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
            match self.full.recv() {
                Ok(b) => {
                    self.current = b;
                    self.pos = 0;
                }
                Err(_) => {
                    if let Some(h) = self.reader.take()
                        && let Ok((kernel, anomalies)) = h.join()
                    {
                        self.kernel = kernel;
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
        self.kernel
    }

    fn record_anomalies(&mut self) -> RecordAnomalies {
        self.anomalies
    }

    fn describe(&self) -> String {
        self.description.clone()
    }
}
