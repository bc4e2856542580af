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
//!
//! The boxes of delivery callbacks the dispatcher has called go back to the
//! senders too. A sender takes them in bulk into a thread-local stash and
//! frees one each time it boxes a new callback, so the allocation it makes
//! reuses the memory it has just freed in the allocator's per-thread cache,
//! instead of the allocator's shared bins.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, TryLockError};
use std::time::{Duration, Instant};

use super::delivery::Callback;
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
    /// Called callbacks' boxes, and when the oldest of them was added.
    called: Mutex<(Option<Instant>, Vec<Callback>)>,
    /// The number of boxes held, readable without the lock.
    called_count: AtomicUsize,
}

/// Boxes of called callbacks a thread keeps at most.
const MAX_STASHED: usize = 1024;

thread_local! {
    /// Boxes of called callbacks this thread took, to free one per new
    /// callback it boxes.
    static STASH: RefCell<Vec<Callback>> = const { RefCell::new(Vec::new()) };
}

/// Frees one box of a called callback this sending thread took, taking more
/// from `spent` when it has none; called just before boxing a callback.
pub(crate) fn free_one_called(spent: &Spent) {
    let _ = STASH.try_with(|stash| {
        let Ok(mut stash) = stash.try_borrow_mut() else {
            return;
        };
        if stash.is_empty() && spent.called_count.load(Ordering::Relaxed) != 0 {
            let mut taken = spent.take_called();
            // The rest are freed now, so that a thread that stops sending
            // keeps little memory.
            taken.truncate(MAX_STASHED);
            std::mem::swap(&mut *stash, &mut taken);
        }
        let one = stash.pop();
        drop(stash);
        drop(one);
    });
}

impl Spent {
    fn lock(&self) -> MutexGuard<'_, VecDeque<(Instant, NativeEvent)>> {
        self.events.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether any event waits.
    pub(crate) fn any(&self) -> bool {
        self.count.load(Ordering::Relaxed) != 0
    }

    fn lock_called(&self) -> MutexGuard<'_, (Option<Instant>, Vec<Callback>)> {
        self.called.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether boxes of called callbacks wait.
    pub(crate) fn any_called(&self) -> bool {
        self.called_count.load(Ordering::Relaxed) != 0
    }

    /// Keeps the boxes of called callbacks (taken from `called`, which
    /// keeps its capacity) for senders to free.
    pub(crate) fn keep_called(&self, called: &mut Vec<Callback>) {
        if called.is_empty() {
            return;
        }
        let mut kept = self.lock_called();
        kept.0.get_or_insert_with(Instant::now);
        kept.1.append(called);
        self.called_count.store(kept.1.len(), Ordering::Relaxed);
    }

    /// The boxes of called callbacks; none if another thread holds the list
    /// (a sender never waits here).
    fn take_called(&self) -> Vec<Callback> {
        let mut kept = match self.called.try_lock() {
            Ok(kept) => kept,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => return Vec::new(),
        };
        self.empty_called(&mut kept)
    }

    /// The boxes of called callbacks if they waited `MAX_AGE` (or `all`), for
    /// the dispatcher to free when no sender took them.
    pub(crate) fn take_stale_called(&self, all: bool) -> Vec<Callback> {
        let mut kept = self.lock_called();
        let stale = kept.0.is_some_and(|at| at.elapsed() >= MAX_AGE);
        if !(all || stale) {
            return Vec::new();
        }
        self.empty_called(&mut kept)
    }

    /// Takes every box out of the locked list `kept`.
    fn empty_called(&self, kept: &mut (Option<Instant>, Vec<Callback>)) -> Vec<Callback> {
        self.called_count.store(0, Ordering::Relaxed);
        kept.0 = None;
        std::mem::take(&mut kept.1)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::producer::delivery::{OnDelivery, Outcome};
    use std::sync::Arc;
    use std::thread::ThreadId;

    /// A called callback's box that records the thread it is freed on.
    struct Recorded(Arc<Mutex<Vec<ThreadId>>>);

    impl OnDelivery for Recorded {
        fn deliver(&mut self, _: Outcome) {}
    }

    impl Drop for Recorded {
        fn drop(&mut self) {
            let mut freed = self.0.lock().unwrap_or_else(|p| p.into_inner());
            freed.push(std::thread::current().id());
        }
    }

    #[test]
    fn a_sender_frees_called_boxes_one_per_new_callback() {
        let spent = Spent::default();
        let freed = Arc::new(Mutex::new(Vec::new()));
        let count = || freed.lock().map(|f| f.len()).unwrap_or(0);
        // The dispatcher keeps more boxes than a thread stashes.
        std::thread::scope(|s| {
            s.spawn(|| {
                let mut called: Vec<Callback> = (0..MAX_STASHED + 100)
                    .map(|_| Box::new(Recorded(freed.clone())) as Callback)
                    .collect();
                spent.keep_called(&mut called);
                assert!(called.is_empty());
            });
        });
        assert!(spent.any_called());
        assert_eq!(count(), 0);
        // The first sender call takes them: the excess is freed at once, and
        // then one box per call.
        free_one_called(&spent);
        assert!(!spent.any_called());
        assert_eq!(count(), 101);
        free_one_called(&spent);
        free_one_called(&spent);
        assert_eq!(count(), 103);
        let me = std::thread::current().id();
        assert!(freed
            .lock()
            .map(|f| f.iter().all(|id| *id == me))
            .unwrap_or(false));
        // Nothing is freed by the dispatcher before the boxes are stale.
        let mut more: Vec<Callback> = vec![Box::new(Recorded(freed.clone()))];
        spent.keep_called(&mut more);
        assert!(spent.take_stale_called(false).is_empty());
        assert_eq!(spent.take_stale_called(true).len(), 1);
        assert!(!spent.any_called());
    }
}
