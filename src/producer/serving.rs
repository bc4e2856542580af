//! Who serves the producer's main queue, where delivery reports arrive.
//!
//! A task that awaits a [`DeliveryFuture`](super::DeliveryFuture) which is
//! not ready serves the queue itself, on its own thread, and then becomes
//! the queue's *owner*: when the queue turns non-empty, librdkafka's wake-up
//! hook wakes that task, which serves the reports the next time one of its
//! futures is not ready. This is what a single-threaded librdkafka loop does:
//! each report is read on the thread that sent the record, and no other
//! thread takes a share of the CPU or moves the record's slot between cores.
//!
//! The dispatcher thread serves the queue whenever no task owns it, and
//! takes it back from its owner:
//! - at once when anyone else depends on the reports: another task waits on
//!   a delivery, a sender waits for queue space, a flush or close runs, or
//!   records were sent with callbacks (which always run on the dispatcher);
//! - after [`OWNER_GRACE`] when reports wait and the owner served none of
//!   them meanwhile (it may have finished, or stopped awaiting deliveries).
//!
//! So a report is never left behind: at worst it waits [`OWNER_GRACE`], and
//! only when nobody but the owner waits for it.
//!
//! Events other than delivery reports (logs, errors, statistics) and the
//! callbacks of records sent with one, when a task meets them, are handed to
//! the dispatcher, so user callbacks keep running on the dispatcher thread.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::task::Waker;
use std::time::{Duration, Instant};

use super::delivery::{Callback, Outcome};
use crate::native::NativeEvent;

/// How long reports may wait for their owner to serve them before the
/// dispatcher takes the queue back.
pub(crate) const OWNER_GRACE: Duration = Duration::from_millis(10);

/// No slot.
pub(crate) const NO_SLOT: u32 = u32::MAX;

thread_local! {
    /// Set while this thread runs the wake-up hook, inside librdkafka's
    /// queue lock: a task polled from within a waker must not serve the
    /// queue then.
    static IN_HOOK: Cell<bool> = const { Cell::new(false) };
}

/// Work a task handed to the dispatcher.
pub(crate) enum Deferred {
    /// A callback with its outcome.
    Callback(Callback, Outcome),
    /// An event that is not a delivery report.
    Event(NativeEvent),
}

/// The `pending` flag, on its own cache line.
#[repr(align(64))]
#[derive(Default)]
struct Pending(AtomicBool);

impl std::ops::Deref for Pending {
    type Target = AtomicBool;
    fn deref(&self) -> &AtomicBool {
        &self.0
    }
}

/// A wake-up flag the dispatcher sleeps on.
#[derive(Default)]
struct Bell {
    rung: Mutex<bool>,
    cv: Condvar,
}

impl Bell {
    fn lock(&self) -> MutexGuard<'_, bool> {
        self.rung.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn ring(&self) {
        let mut rung = self.lock();
        if !*rung {
            *rung = true;
            self.cv.notify_one();
        }
    }

    /// Waits until the bell rings or `timeout` passes, and clears it.
    fn wait(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let mut rung = self.lock();
        while !*rung {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            rung = self
                .cv
                .wait_timeout(rung, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        *rung = false;
    }
}

/// The serving state of one producer.
#[derive(Default)]
pub(crate) struct Serving {
    /// Whether a task owns the queue.
    owned: AtomicBool,
    /// The owning task's waker.
    owner: Mutex<Option<Waker>>,
    /// The slot whose future made its task the owner.
    owner_slot: AtomicU32,
    /// Set when the queue turns non-empty; cleared before each poll of it.
    /// Senders read it on every send: it has a cache line of its own.
    pending: Pending,
    /// Serving rounds finished, by anyone.
    rounds: AtomicU64,
    /// Taken by whoever serves the queue: one at a time.
    serving: AtomicBool,
    /// Whether the dispatcher is watching an owner (the hook need not ring).
    watching: AtomicBool,
    /// Whether the dispatcher waits for a task's round to end.
    round_awaited: AtomicBool,
    /// Set for good once a record is sent with a callback: from then on the
    /// dispatcher serves every report.
    callbacks: AtomicBool,
    /// Flushes and closes running: the dispatcher serves meanwhile.
    flushing: AtomicUsize,
    bell: Bell,
    deferred: Mutex<Vec<Deferred>>,
    has_deferred: AtomicBool,
}

impl Serving {
    pub(crate) fn new() -> Self {
        let s = Serving::default();
        s.owner_slot.store(NO_SLOT, Ordering::Relaxed);
        s
    }

    fn owner(&self) -> MutexGuard<'_, Option<Waker>> {
        self.owner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// librdkafka's wake-up hook: the main queue turned non-empty. Runs on
    /// a librdkafka thread, inside the queue's lock.
    pub(crate) fn on_queue_non_empty(&self) {
        self.pending.store(true, Ordering::SeqCst);
        if self.owned.load(Ordering::SeqCst) {
            IN_HOOK.with(|h| h.set(true));
            if let Some(waker) = self.owner().as_ref() {
                waker.wake_by_ref();
            }
            IN_HOOK.with(|h| h.set(false));
            if self.watching.load(Ordering::SeqCst) {
                return;
            }
        }
        self.bell.ring();
    }

    /// Wakes the dispatcher to look again (a flush began, a sender waits
    /// for space, a callback record was sent, shutdown).
    pub(crate) fn ring(&self) {
        self.bell.ring();
    }

    /// Marks that records with callbacks exist.
    pub(crate) fn note_callbacks(&self) {
        if !self.callbacks.load(Ordering::Relaxed) {
            self.callbacks.store(true, Ordering::SeqCst);
            self.bell.ring();
        }
    }

    /// Counts a flush or close for as long as the guard lives.
    pub(crate) fn flushing(&self) -> FlushGuard<'_> {
        self.flushing.fetch_add(1, Ordering::SeqCst);
        self.bell.ring();
        FlushGuard(self)
    }

    /// Whether reports have arrived that nobody has started serving yet.
    #[inline]
    pub(crate) fn pending(&self) -> bool {
        self.pending.load(Ordering::Relaxed)
    }

    /// Starts a serving round for a task, which becomes the owner if it
    /// gives its `waker` (and waits on slot `slot`, or [`NO_SLOT`]); `None`
    /// when it must not serve (another thread is serving, callbacks exist,
    /// a flush runs, or this is a waker called from the hook).
    pub(crate) fn begin_task(&self, waker: Option<&Waker>, slot: u32) -> Option<Round<'_>> {
        if self.callbacks.load(Ordering::Relaxed)
            || self.flushing.load(Ordering::Relaxed) > 0
            || IN_HOOK.with(Cell::get)
        {
            return None;
        }
        let round = self.begin()?;
        let Some(waker) = waker else {
            return Some(round);
        };
        {
            let mut owner = self.owner();
            if !owner.as_ref().is_some_and(|w| w.will_wake(waker)) {
                let old = owner.replace(waker.clone());
                drop(owner);
                drop(old);
            }
        }
        self.owner_slot.store(slot, Ordering::Relaxed);
        self.owned.store(true, Ordering::SeqCst);
        Some(round)
    }

    /// Starts a serving round, unless another thread is serving.
    pub(crate) fn begin(&self) -> Option<Round<'_>> {
        if self.serving.swap(true, Ordering::AcqRel) {
            None
        } else {
            Some(Round(self))
        }
    }

    /// Whether the dispatcher serves the queue now; if a task owns it, the
    /// dispatcher first waits up to `idle` for a reason to look again
    /// (`others_wait`: someone but the owner waits for reports, given
    /// whether the owner's own slot is awaited).
    pub(crate) fn dispatcher_serves(
        &self,
        idle: Duration,
        others_wait: impl Fn(u32) -> bool,
    ) -> bool {
        if !self.owned.load(Ordering::SeqCst) {
            return true;
        }
        let must_take = || {
            self.callbacks.load(Ordering::SeqCst)
                || self.flushing.load(Ordering::SeqCst) > 0
                || (self.pending.load(Ordering::SeqCst)
                    && others_wait(self.owner_slot.load(Ordering::Relaxed)))
        };
        if must_take() {
            self.disown();
            return true;
        }
        if !self.pending.load(Ordering::SeqCst) {
            self.bell.wait(idle);
            return false;
        }
        // Reports wait for the owner: give it the grace period.
        let seen = self.rounds.load(Ordering::SeqCst);
        self.watching.store(true, Ordering::SeqCst);
        self.bell.wait(OWNER_GRACE);
        self.watching.store(false, Ordering::SeqCst);
        if must_take() {
            self.disown();
            return true;
        }
        // Reports the owner left for the whole grace period are served for
        // it, and it stays the owner: it may just be busy sending.
        let served = self.rounds.load(Ordering::SeqCst) != seen;
        !served && self.pending.load(Ordering::SeqCst)
    }

    /// Waits (for at most `timeout`) until the round a task is serving ends.
    pub(crate) fn wait_for_round(&self, timeout: Duration) {
        self.round_awaited.store(true, Ordering::SeqCst);
        if self.serving.load(Ordering::SeqCst) {
            self.bell.wait(timeout);
        }
        self.round_awaited.store(false, Ordering::SeqCst);
    }

    /// Waits for the hook (or `timeout`) after the dispatcher served.
    pub(crate) fn dispatcher_idle(&self, timeout: Duration) {
        if !self.pending.load(Ordering::SeqCst) {
            self.bell.wait(timeout);
        }
    }

    /// Takes the queue back from its owner.
    pub(crate) fn disown(&self) {
        self.owned.store(false, Ordering::SeqCst);
        let old = self.owner().take();
        drop(old);
    }

    /// Hands work to the dispatcher.
    pub(crate) fn defer(&self, work: Deferred) {
        let mut deferred = self.deferred.lock().unwrap_or_else(|p| p.into_inner());
        deferred.push(work);
        self.has_deferred.store(true, Ordering::SeqCst);
        drop(deferred);
        self.bell.ring();
    }

    /// The work handed to the dispatcher so far.
    pub(crate) fn take_deferred(&self) -> Vec<Deferred> {
        if !self.has_deferred.load(Ordering::SeqCst) {
            return Vec::new();
        }
        let mut deferred = self.deferred.lock().unwrap_or_else(|p| p.into_inner());
        self.has_deferred.store(false, Ordering::SeqCst);
        std::mem::take(&mut *deferred)
    }
}

/// One serving round: the holder polls the queue until it is empty.
pub(crate) struct Round<'a>(&'a Serving);

impl Round<'_> {
    /// Call before each poll of the queue: a report enqueued after the
    /// poll finds the queue empty sets the flag again.
    pub(crate) fn before_poll(&self) {
        self.0.pending.store(false, Ordering::SeqCst);
    }
}

impl Drop for Round<'_> {
    fn drop(&mut self) {
        self.0.rounds.fetch_add(1, Ordering::SeqCst);
        self.0.serving.store(false, Ordering::SeqCst);
        if self.0.round_awaited.load(Ordering::SeqCst) {
            self.0.bell.ring();
        }
    }
}

/// Marks a flush or close as running.
pub(crate) struct FlushGuard<'a>(&'a Serving);

impl Drop for FlushGuard<'_> {
    fn drop(&mut self) {
        self.0.flushing.fetch_sub(1, Ordering::SeqCst);
    }
}
