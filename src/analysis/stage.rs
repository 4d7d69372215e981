//! A later step of a run on a thread of its own: items sent in batches through a bounded
//! channel, in order, to a function that consumes them all and returns a result.
//!
//! It exists because deciding a flow's service, building its record and writing or collecting
//! it is about a third of the work per flow; done beside the analysis thread instead of after
//! it, a run over files takes that much less time. The channel is bounded, so a slow consumer
//! slows the analysis down instead of growing memory. It must never reorder or drop an item.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

/// Batches in flight between the analysis and the stage's thread.
const QUEUE: usize = 16;

/// The sending side of a stage.
pub struct Stage<T: Send + 'static, R: Send + 'static> {
    tx: Option<SyncSender<Vec<T>>>,
    batch: Vec<T>,
    batch_size: usize,
    handle: Option<JoinHandle<R>>,
}

impl<T: Send + 'static, R: Send + 'static> std::fmt::Debug for Stage<T, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stage")
            .field("batch_size", &self.batch_size)
            .finish_non_exhaustive()
    }
}

/// What the stage's function reads: every item, in the order pushed.
pub type Items<T> = std::iter::Flatten<std::sync::mpsc::IntoIter<Vec<T>>>;

impl<T: Send + 'static, R: Send + 'static> Stage<T, R> {
    /// Start thread `name` running `consume` over the items pushed, sent in batches of
    /// `batch_size` (1 sends each item at once, as live capture wants).
    pub fn spawn(
        name: &str,
        batch_size: usize,
        consume: impl FnOnce(Items<T>) -> R + Send + 'static,
    ) -> std::io::Result<Self> {
        let (tx, rx): (SyncSender<Vec<T>>, Receiver<Vec<T>>) = sync_channel(QUEUE);
        let handle = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || consume(rx.into_iter().flatten()))?;
        let batch_size = batch_size.max(1);
        Ok(Self {
            tx: Some(tx),
            batch: Vec::with_capacity(batch_size),
            batch_size,
            handle: Some(handle),
        })
    }

    /// Queue one item.
    pub fn push(&mut self, item: T) {
        self.batch.push(item);
        if self.batch.len() >= self.batch_size {
            self.send();
        }
    }

    fn send(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let full = std::mem::replace(&mut self.batch, Vec::with_capacity(self.batch_size));
        if let Some(tx) = &self.tx {
            // A send fails only when the consumer has stopped; `finish` reports why.
            let _ = tx.send(full);
        }
    }

    /// Send what is queued, let the consumer finish, and take its result (`None` when its
    /// thread panicked).
    pub fn finish(mut self) -> Option<R> {
        self.send();
        self.tx = None;
        self.handle.take().and_then(|h| h.join().ok())
    }
}
