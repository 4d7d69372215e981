//! The dashboard's worker thread: it prepares each snapshot's work (counters, places, lanes,
//! the filtered and sorted rows) so the UI thread does not.
//!
//! It exists because with 100,000 flows that work takes 50 to 130 ms, and a key must be answered
//! within 50 ms even while a replay runs at full speed. The UI thread hands over the latest job
//! (a snapshot and the view parameters of the moment) and swaps in the result when it is there.
//! The worker must never be waited for by the UI thread, never hold a job the UI has replaced
//! (one slot: a new job replaces one not started), and never decide what is shown: results
//! that are stale when they arrive are dropped by [`super::App`]. It knows the jobs and results
//! ([`super::prepare`]), never the App.

use std::any::Any;
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use super::derive::Derived;
use super::prepare::{Job, Prepared, prepare};
use crate::session::Snapshot;

/// What the UI thread leaves for the worker: the latest job, and what left the screen (freed
/// on the worker's side).
#[derive(Debug, Default)]
struct Slot {
    job: Option<Job>,
    retired: Vec<Box<dyn Any + Send>>,
    stop: bool,
}

#[derive(Debug, Default)]
struct Shared {
    slot: Mutex<Slot>,
    wake: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Slot> {
        // Nothing in the slot can be left half-written, so a poisoned lock is still usable.
        self.slot.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The UI's end of the worker.
#[derive(Debug)]
pub struct Worker {
    shared: Arc<Shared>,
    results: Receiver<Prepared>,
    thread: JoinHandle<()>,
}

impl Worker {
    /// Start the thread; `ready` is called after each result is sent.
    pub(super) fn spawn(ready: Box<dyn Fn() + Send>) -> std::io::Result<Self> {
        let shared = Arc::new(Shared::default());
        let (tx, results) = mpsc::channel();
        let theirs = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("dashboard".into())
            .spawn(move || run(&theirs, &tx, &*ready))?;
        Ok(Self {
            shared,
            results,
            thread,
        })
    }

    /// Hand over a job, replacing one the worker has not started.
    pub(super) fn submit(&self, job: Job) {
        let replaced = self.shared.lock().job.replace(job);
        self.shared.wake.notify_one();
        // A replaced job holds a snapshot: let the worker free it.
        if let Some(j) = replaced {
            self.retire(Box::new(j));
        }
    }

    /// Let the worker free `t`.
    pub(super) fn retire(&self, t: Box<dyn Any + Send>) {
        self.shared.lock().retired.push(t);
        self.shared.wake.notify_one();
    }

    /// The results waiting, oldest first, and whether the worker still runs.
    pub(super) fn collect(&self) -> (Vec<Prepared>, bool) {
        let mut out = Vec::new();
        loop {
            match self.results.try_recv() {
                Ok(p) => out.push(p),
                Err(TryRecvError::Empty) => return (out, !self.thread.is_finished()),
                Err(TryRecvError::Disconnected) => return (out, false),
            }
        }
    }

    /// The next result, waiting at most `timeout`.
    pub(super) fn recv_timeout(&self, timeout: Duration) -> Option<Prepared> {
        self.results.recv_timeout(timeout).ok()
    }
}

impl Drop for Worker {
    /// Ask the thread to end without waiting for it (it ends after the job in hand).
    fn drop(&mut self) {
        self.shared.lock().stop = true;
        self.shared.wake.notify_one();
    }
}

fn run(shared: &Shared, tx: &Sender<Prepared>, ready: &dyn Fn()) {
    // The last snapshot prepared and its derived work: a sort or filter change on the same
    // snapshot redoes only the rows.
    let mut last: Option<(Arc<Snapshot>, Arc<Derived>)> = None;
    loop {
        let (job, retired) = {
            let mut slot = shared.lock();
            while slot.job.is_none() && slot.retired.is_empty() && !slot.stop {
                slot = shared.wake.wait(slot).unwrap_or_else(|p| p.into_inner());
            }
            if slot.stop {
                return;
            }
            (slot.job.take(), std::mem::take(&mut slot.retired))
        };
        drop(retired);
        let Some(job) = job else { continue };
        let derived = last
            .as_ref()
            .filter(|(s, _)| Arc::ptr_eq(s, &job.snap))
            .map(|(_, d)| Arc::clone(d));
        let p = prepare(job, derived);
        last = Some((Arc::clone(&p.snap), Arc::clone(&p.derived)));
        if tx.send(p).is_err() {
            return;
        }
        ready();
    }
}
