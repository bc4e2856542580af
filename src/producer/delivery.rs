//! Delivery slots and the future that resolves when a record is delivered.
//!
//! Every record in flight lives in one slot of a slab, indexed by the opaque
//! value given to librdkafka. The dispatcher fills a slot from its delivery
//! report and wakes the waiting task, if there is one. No allocation, channel
//! or wake-up happens per message unless a task is actually waiting.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use super::record::{DeliveryResult, Record};
use super::Shared;

/// A callback run with the outcome of one delivery.
pub(crate) type Callback = Box<dyn FnOnce(DeliveryResult) + Send + 'static>;

/// Who is told about the outcome of a slot's delivery.
pub(crate) enum Waiter {
    /// Nobody yet: a `DeliveryFuture` exists but has not been polled.
    Idle,
    /// A task polled the future and waits.
    Task(Waker),
    /// A callback runs on the dispatcher thread.
    Callback(Callback),
    /// The future was dropped: the outcome is discarded.
    Detached,
}

pub(crate) enum Entry {
    Free,
    Pending { record: Record, waiter: Waiter },
    Ready(DeliveryResult),
}

/// The slab of records in flight.
pub(crate) struct Slots {
    entries: Vec<Entry>,
    free: Vec<usize>,
    in_flight: usize,
}

/// What completing a slot leaves the dispatcher to do outside the lock.
#[derive(Default)]
pub(crate) struct Completions {
    pub wakers: Vec<Waker>,
    pub callbacks: Vec<(Callback, DeliveryResult)>,
    pub garbage: Vec<DeliveryResult>,
}

impl Slots {
    pub(crate) fn new() -> Self {
        Slots {
            entries: Vec::new(),
            free: Vec::new(),
            in_flight: 0,
        }
    }

    /// Number of records sent and not yet reported.
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// Stores a record about to be produced; returns its slot.
    pub(crate) fn insert(&mut self, record: Record, waiter: Waiter) -> usize {
        self.in_flight += 1;
        let entry = Entry::Pending { record, waiter };
        match self.free.pop() {
            Some(idx) => {
                self.entries[idx] = entry;
                idx
            }
            None => {
                self.entries.push(entry);
                self.entries.len() - 1
            }
        }
    }

    /// The record in a pending slot.
    pub(crate) fn record(&self, idx: usize) -> Option<&Record> {
        match self.entries.get(idx) {
            Some(Entry::Pending { record, .. }) => Some(record),
            _ => None,
        }
    }

    /// Takes back a record whose produce call failed.
    pub(crate) fn remove(&mut self, idx: usize) -> Option<(Record, Waiter)> {
        let entry = self.entries.get_mut(idx)?;
        match std::mem::replace(entry, Entry::Free) {
            Entry::Pending { record, waiter } => {
                self.free.push(idx);
                self.in_flight -= 1;
                Some((record, waiter))
            }
            other => {
                *entry = other;
                None
            }
        }
    }

    /// Completes a pending slot with the outcome built from its record.
    /// Returns false if the slot was not pending (a report for an unknown
    /// opaque value, which would be a bug).
    pub(crate) fn complete(
        &mut self,
        idx: usize,
        outcome: impl FnOnce(Record) -> DeliveryResult,
        out: &mut Completions,
    ) -> bool {
        let Some(entry) = self.entries.get_mut(idx) else {
            return false;
        };
        let (record, waiter) = match std::mem::replace(entry, Entry::Free) {
            Entry::Pending { record, waiter } => (record, waiter),
            other => {
                *entry = other;
                return false;
            }
        };
        self.in_flight -= 1;
        let result = outcome(record);
        match waiter {
            Waiter::Idle => *entry = Entry::Ready(result),
            Waiter::Task(waker) => {
                *entry = Entry::Ready(result);
                out.wakers.push(waker);
            }
            Waiter::Callback(cb) => {
                self.free.push(idx);
                out.callbacks.push((cb, result));
            }
            Waiter::Detached => {
                self.free.push(idx);
                out.garbage.push(result);
            }
        }
        true
    }

    /// Polls a slot for its outcome, registering `waker` if not ready.
    fn poll_slot(&mut self, idx: usize, waker: &Waker) -> Option<DeliveryResult> {
        let entry = self.entries.get_mut(idx)?;
        match entry {
            Entry::Ready(_) => match std::mem::replace(entry, Entry::Free) {
                Entry::Ready(result) => {
                    self.free.push(idx);
                    Some(result)
                }
                _ => None,
            },
            Entry::Pending { waiter, .. } => {
                match waiter {
                    Waiter::Task(w) if w.will_wake(waker) => {}
                    _ => *waiter = Waiter::Task(waker.clone()),
                }
                None
            }
            Entry::Free => None,
        }
    }

    /// Forgets the future of a slot: a ready outcome is returned to be
    /// dropped outside the lock, a pending one is discarded when it arrives.
    fn detach(&mut self, idx: usize) -> Option<DeliveryResult> {
        let entry = self.entries.get_mut(idx)?;
        match entry {
            Entry::Pending { waiter, .. } => {
                *waiter = Waiter::Detached;
                None
            }
            Entry::Ready(_) => {
                let old = std::mem::replace(entry, Entry::Free);
                self.free.push(idx);
                match old {
                    Entry::Ready(result) => Some(result),
                    _ => None,
                }
            }
            Entry::Free => None,
        }
    }

    /// Completes every pending slot with `outcome` (used when the client is
    /// torn down with reports that will never come).
    pub(crate) fn fail_all(
        &mut self,
        outcome: impl Fn(Record) -> DeliveryResult,
        out: &mut Completions,
    ) {
        for idx in 0..self.entries.len() {
            if matches!(self.entries[idx], Entry::Pending { .. }) {
                self.complete(idx, &outcome, out);
            }
        }
    }
}

pub(crate) fn lock(slots: &Mutex<Slots>) -> MutexGuard<'_, Slots> {
    // A panic while holding this lock can only come from a bug in this
    // module (user code never runs under it); recover the data either way.
    slots
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Resolves to the outcome of one record's delivery.
///
/// Await it in async code, or call [`wait`](Self::wait) from blocking code.
/// Dropping it does not cancel the delivery; the outcome is then discarded.
#[must_use = "a DeliveryFuture reports whether the record was delivered"]
pub struct DeliveryFuture {
    shared: Arc<Shared>,
    idx: Option<usize>,
}

impl DeliveryFuture {
    pub(crate) fn new(shared: Arc<Shared>, idx: usize) -> Self {
        DeliveryFuture {
            shared,
            idx: Some(idx),
        }
    }

    /// Blocks the current thread until the record is delivered or fails, or
    /// until `timeout` passes (then `None`, and the future can still be
    /// waited on or awaited).
    pub fn wait(&mut self, timeout: Duration) -> Option<DeliveryResult> {
        let deadline = Instant::now() + timeout;
        let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
        let mut cx = Context::from_waker(&waker);
        loop {
            if let Poll::Ready(result) = Pin::new(&mut *self).poll(&mut cx) {
                return Some(result);
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            std::thread::park_timeout(deadline - now);
        }
    }
}

impl Future for DeliveryFuture {
    type Output = DeliveryResult;

    /// # Panics
    /// If polled again after it returned `Ready`, as futures may.
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<DeliveryResult> {
        let Some(idx) = self.idx else {
            panic!("DeliveryFuture polled after completion");
        };
        let polled = lock(&self.shared.slots).poll_slot(idx, cx.waker());
        match polled {
            Some(result) => {
                self.idx = None;
                Poll::Ready(result)
            }
            None => Poll::Pending,
        }
    }
}

impl Drop for DeliveryFuture {
    fn drop(&mut self) {
        if let Some(idx) = self.idx.take() {
            let leftover = lock(&self.shared.slots).detach(idx);
            drop(leftover);
        }
    }
}

impl std::fmt::Debug for DeliveryFuture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliveryFuture")
            .field("slot", &self.idx)
            .finish()
    }
}

/// Wakes a blocked thread.
pub(crate) struct ThreadWaker(pub std::thread::Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}
