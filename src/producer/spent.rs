//! Delivery report events that have been served and wait to be destroyed.
//!
//! Destroying a DR event frees its messages, which librdkafka allocated in
//! `rd_kafka_produceva` on the sending thread. When the dispatcher thread
//! frees them while a sender allocates new ones, the two threads fight over
//! the allocator's lock (glibc takes an arena lock for each of these calls
//! and puts the loser to sleep) and over librdkafka's message counter lock.
//! So a sending thread destroys spent events when it next enqueues a record,
//! the way a single-threaded librdkafka loop frees its own messages, and the
//! dispatcher destroys only those that no sender took within [`MAX_AGE`]
//! (when nothing is being sent, so that `flush` and the queue's space do not
//! wait on a sender).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, TryLockError};
use std::time::{Duration, Instant};

use crate::native::NativeEvent;

/// How long a spent event waits for a sender before the dispatcher destroys
/// it itself.
pub(crate) const MAX_AGE: Duration = Duration::from_millis(2);
/// Spent events kept at most; beyond that the dispatcher destroys the oldest.
const MAX_KEPT: usize = 64;

#[derive(Default)]
pub(crate) struct Spent {
    events: Mutex<VecDeque<(Instant, NativeEvent)>>,
    /// The number of events held, readable without the lock.
    count: AtomicUsize,
}

impl Spent {
    fn lock(&self) -> MutexGuard<'_, VecDeque<(Instant, NativeEvent)>> {
        self.events.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether any event waits.
    pub(crate) fn any(&self) -> bool {
        self.count.load(Ordering::Relaxed) != 0
    }

    /// Keeps a served event for a sender to destroy; returns the events that
    /// must be destroyed now to stay within the bound.
    pub(crate) fn keep(&self, event: NativeEvent) -> Vec<NativeEvent> {
        let mut events = self.lock();
        events.push_back((Instant::now(), event));
        let excess = events.len().saturating_sub(MAX_KEPT);
        let old: Vec<NativeEvent> = events.drain(..excess).map(|(_, e)| e).collect();
        self.count.store(events.len(), Ordering::Relaxed);
        old
    }

    /// The oldest event, for a sender to destroy; `None` if there is none or
    /// another thread holds the list (a sender never waits here).
    pub(crate) fn take_one(&self) -> Option<NativeEvent> {
        let mut events = match self.events.try_lock() {
            Ok(events) => events,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => return None,
        };
        let event = events.pop_front().map(|(_, e)| e);
        self.count.store(events.len(), Ordering::Relaxed);
        event
    }

    /// The events older than `MAX_AGE` (all of them with `all`).
    pub(crate) fn take_stale(&self, all: bool) -> Vec<NativeEvent> {
        let mut events = self.lock();
        let now = Instant::now();
        let stale = if all {
            events.len()
        } else {
            events
                .iter()
                .take_while(|(at, _)| now.duration_since(*at) >= MAX_AGE)
                .count()
        };
        let taken = events.drain(..stale).map(|(_, e)| e).collect();
        self.count.store(events.len(), Ordering::Relaxed);
        taken
    }
}
