//! Delivery slots and the future that resolves when a record is delivered.
//!
//! Every record in flight has one slot in a slab, indexed by the opaque value
//! given to librdkafka. The sending thread takes a slot, whoever serves the
//! delivery reports (a task awaiting a delivery, or the dispatcher: see
//! serving.rs) fills it, and the [`DeliveryFuture`] (or the callback) reads
//! it. None of them takes a lock on the way:
//!
//! - the slab grows by segments that are never moved or freed while the
//!   producer lives, so a slot index stays valid without a lock;
//! - free slots form a lock-free stack (a tagged head, so a stale pop cannot
//!   succeed), and each thread keeps the last slot it freed for its next
//!   send, so a loop that awaits a delivery and sends again does not touch
//!   the shared stack at all;
//! - a slot's life is one atomic state word; the report itself (partition,
//!   offset, timestamp, error code) is written in plain atomics before the
//!   state turns `READY`, which publishes it;
//! - a task's waker or a callback sits behind a per-slot mutex that is not
//!   touched at all when a future is polled only once it is ready; the data
//!   of failed records go to a shared table, as failures are rare;
//! - a slot fills one cache line, so handing it from one thread to another
//!   moves one line and disturbs no other slot.
//!
//! A task is woken only if it polled a future that was not ready yet, so a
//! window of futures awaited in order costs one wake-up per wait, not one
//! per record.

use std::cell::Cell;
use std::collections::HashMap;
use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;
use std::sync::atomic::{AtomicI32, AtomicI64, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use super::payload::Payload;
use super::record::{
    DeliveryResult, Header, ProduceError, Record, RecordMetadata, Timestamp, Topic,
};
use super::sent::SentCount;
use super::Shared;
use crate::client::guarded;
use crate::Error;

/// `RD_KAFKA_RESP_ERR__DESTROY`.
const DESTROY: i32 = -197;

/// A callback run on the dispatcher thread with the outcome of one delivery.
pub(crate) type Callback = Box<dyn OnDelivery>;

/// A delivery callback, called through `&mut` so that its box outlives the
/// call: the dispatcher calls it, and the box goes back to a sending thread
/// to be freed where it was allocated (see spent.rs).
pub(crate) trait OnDelivery: Send + 'static {
    /// Calls the callback; a second call does nothing.
    fn deliver(&mut self, outcome: Outcome);
}

/// A callback that has not been called yet (`Some`).
struct Once<F>(Option<F>);

impl<F: FnOnce(Outcome) + Send + 'static> OnDelivery for Once<F> {
    fn deliver(&mut self, outcome: Outcome) {
        if let Some(f) = self.0.take() {
            f(outcome);
        }
    }
}

/// Boxes `f` as a delivery callback.
pub(crate) fn new_callback(f: impl FnOnce(Outcome) + Send + 'static) -> Callback {
    Box::new(Once(Some(f)))
}

/// What a delivery report says about one record.
pub(crate) struct Report {
    /// 0 when delivered.
    pub err: i32,
    pub partition: i32,
    pub offset: i64,
    pub ts_type: i32,
    pub timestamp: i64,
}

/// Where a delivered record was written (the topic is added by [`Origin`]).
pub(crate) struct Delivered {
    partition: i32,
    offset: i64,
    timestamp: Timestamp,
}

/// A failed delivery: the error and the record's key, value and headers, as
/// librdkafka copied them (the rest of the record is in its [`Origin`]).
pub(crate) struct Failure {
    pub error: Error,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<Header>,
}

impl Failure {
    /// A failure whose record data could not be recovered.
    fn bare(code: i32) -> Self {
        Failure {
            error: Error::kafka_code("delivery", code),
            key: None,
            value: None,
            headers: Vec::new(),
        }
    }
}

/// The outcome of one delivery, before it is joined with the record's origin.
pub(crate) type Outcome = Result<Delivered, Box<Failure>>;

/// The caller's choices of partition and timestamp for a record: needed
/// only to rebuild it if its delivery fails.
#[derive(Clone, Copy, Default)]
pub(crate) struct Choices {
    partition: Option<i32>,
    timestamp: Option<i64>,
}

impl Choices {
    pub(crate) fn of(record: &Record) -> Self {
        Choices {
            partition: record.partition,
            timestamp: record.timestamp,
        }
    }
}

/// What is kept of a record to build its delivery result: the topic and
/// the caller's choices.
pub(crate) struct Origin {
    topic: Topic,
    choices: Choices,
}

impl Origin {
    /// The origin of `record`, sharing its topic.
    pub(crate) fn of(record: &Record) -> Self {
        Origin {
            topic: record.topic,
            choices: Choices::of(record),
        }
    }

    /// The delivery result: metadata, or the error with the record rebuilt.
    pub(crate) fn finish(self, outcome: Outcome) -> DeliveryResult {
        match outcome {
            Ok(d) => Ok(RecordMetadata {
                topic: self.topic,
                partition: d.partition,
                offset: d.offset,
                timestamp: d.timestamp,
            }),
            Err(failure) => {
                let Failure {
                    error,
                    key,
                    value,
                    headers,
                } = *failure;
                Err(ProduceError {
                    error,
                    record: Record {
                        topic: self.topic,
                        key: key.map(Payload::from),
                        value: value.map(Payload::from),
                        headers,
                        partition: self.choices.partition,
                        timestamp: self.choices.timestamp,
                    },
                })
            }
        }
    }
}

/// Slot states, in the low byte of the state word. A READY word also holds
/// the timestamp type of the report in its second byte.
mod state {
    /// In the free stack.
    pub const FREE: u32 = 0;
    /// Produced; a `DeliveryFuture` exists and has not registered a waker.
    pub const IDLE: u32 = 1;
    /// Produced; the future registered a waker in the slot's side data.
    pub const TASK: u32 = 2;
    /// Produced with a callback in the slot's side data.
    pub const CALLBACK: u32 = 3;
    /// Produced; the future was dropped, the outcome will be discarded.
    pub const DETACHED: u32 = 4;
    /// The report is in the slot, waiting for the future to take it.
    pub const READY: u32 = 5;

    /// The state of a state word.
    pub fn of(word: u32) -> u32 {
        word & 0xff
    }

    /// A READY word with the report's timestamp type.
    pub fn ready(ts_type: i32) -> u32 {
        READY | ((ts_type as u32 & 0xff) << 8)
    }

    /// The timestamp type of a READY word.
    pub fn ts_type(word: u32) -> i32 {
        ((word >> 8) & 0xff) as i32
    }
}

/// Who is told about a slot's outcome, besides what the state says.
#[derive(Default)]
enum Side {
    #[default]
    Empty,
    /// The task waiting on the slot's future.
    Waker(Waker),
    /// The callback of a record sent with one.
    Callback(Callback),
}

impl Side {
    fn take_waker(&mut self) -> Option<Waker> {
        match std::mem::take(self) {
            Side::Waker(waker) => Some(waker),
            other => {
                *self = other;
                None
            }
        }
    }

    fn take_callback(&mut self) -> Option<Callback> {
        match std::mem::take(self) {
            Side::Callback(callback) => Some(callback),
            other => {
                *self = other;
                None
            }
        }
    }
}

/// One record in flight, on a cache line of its own.
#[repr(align(64))]
#[derive(Default)]
struct Slot {
    state: AtomicU32,
    /// While the slot is free, the next slot in the free stack; while it is
    /// in flight, which of the caller's choices `partition` and `timestamp`
    /// hold (until a successful report replaces them).
    next_free: AtomicU32,
    err: AtomicI32,
    partition: AtomicI32,
    offset: AtomicI64,
    timestamp: AtomicI64,
    side: Mutex<Side>,
}

impl Slot {
    fn side(&self) -> MutexGuard<'_, Side> {
        // User code never runs under this lock; recover the data after a
        // panic elsewhere anyway.
        self.side.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Keeps a value on a cache line of its own, so that counters written by
/// different threads do not slow each other down.
#[repr(align(64))]
#[derive(Default)]
struct CacheLine<T>(T);

impl<T> Deref for CacheLine<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// Flags in an in-flight slot's `next_free`: the caller chose a partition,
/// a timestamp.
const CHOSE_PARTITION: u32 = 1;
const CHOSE_TIMESTAMP: u32 = 2;

/// Slots in the first segment; segment `k` holds `FIRST << k`.
const FIRST_BITS: u32 = 8;
/// Segments: together they hold just under 2^32 slots, so that every index
/// fits in a `u32` and `NIL` is none of them.
const SEGMENTS: usize = 24;
const MAX_SLOTS: usize = ((1usize << SEGMENTS) - 1) << FIRST_BITS;
/// The end of the free stack.
const NIL: u32 = u32::MAX;

/// Segment and offset of slot `idx`.
fn locate(idx: u32) -> (usize, usize) {
    let shifted = u64::from(idx) + (1u64 << FIRST_BITS);
    let segment = (63 - shifted.leading_zeros()) - FIRST_BITS;
    let offset = shifted - (1u64 << (segment + FIRST_BITS));
    (segment as usize, offset as usize)
}

/// Source of slab ids, never reused, so that a slot a thread keeps is only
/// ever given back to its own slab.
static NEXT_SLAB: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// The slab id and index of one free slot this thread keeps for its
    /// next insert into that slab (index `NIL`: none). A slot kept by a
    /// thread that never sends to its slab again is simply not reused.
    static SPARE: Cell<(u64, u32)> = const { Cell::new((0, NIL)) };
}

/// Slabs no producer uses now, for the next producers to take.
static POOL: Mutex<Vec<&'static Slots>> = Mutex::new(Vec::new());

/// The slab of records in flight.
///
/// A producer leases a slab for its lifetime ([`Slots::lease`]); when the
/// producer is freed the slab goes back to a pool for the next producer,
/// and it is never deallocated. So a [`DeliveryFuture`] refers to its slot
/// with a plain `&'static` reference, and neither sending nor awaiting
/// touches a reference count. The memory kept is the most slots that
/// producers alive at the same time ever had in flight. Futures of a
/// producer that is gone keep only their slots, which are all completed
/// by then (see [`Slots::fail_all`]): a new producer on the slab leaves
/// them alone until those futures take their outcomes and free them.
pub(crate) struct Slots {
    id: u64,
    /// The producer that leases the slab (empty while it is in the pool).
    owner: Mutex<Weak<Shared>>,
    segments: [OnceLock<Box<[Slot]>>; SEGMENTS],
    /// Head of the free stack: a change count (high 32 bits) and a slot index.
    free: CacheLine<AtomicU64>,
    /// Slots ever handed out; the next new slot has this index.
    fresh: CacheLine<AtomicUsize>,
    /// Records enqueued (counted by each sending thread on its own).
    sent: SentCount,
    /// Records reported (written by whoever serves the reports).
    reported: CacheLine<AtomicUsize>,
    /// Slots whose future registered a waker and waits (state `TASK`).
    waiting: CacheLine<AtomicUsize>,
    /// The data of failed records, by slot, until their futures take them.
    failures: Mutex<HashMap<u32, Box<Failure>>>,
}

impl Slots {
    pub(crate) fn new() -> Self {
        let id = NEXT_SLAB.fetch_add(1, Ordering::Relaxed);
        Slots {
            id,
            owner: Mutex::new(Weak::new()),
            segments: std::array::from_fn(|_| OnceLock::new()),
            free: CacheLine(AtomicU64::new(u64::from(NIL))),
            fresh: CacheLine::default(),
            sent: SentCount::new(id),
            reported: CacheLine::default(),
            waiting: CacheLine::default(),
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// A slab for the producer `owner`: one from the pool, or a new one.
    pub(crate) fn lease(owner: Weak<Shared>) -> &'static Slots {
        let pooled = POOL.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let slots = match pooled {
            Some(slots) => {
                slots.sort_free();
                slots
            }
            None => Box::leak(Box::new(Slots::new())),
        };
        *slots.owner_lock() = owner;
        slots
    }

    /// Restacks the free slots of a pooled slab in index order, lowest on
    /// top, so that a new producer hands them out in the order a fresh slab
    /// would. Otherwise it would inherit the order in which the last
    /// producer's records happened to be freed, and its records in flight
    /// would be spread over the whole slab rather than packed together.
    /// Futures of the last producer may still free slots meanwhile: they
    /// only push, so they interleave safely with the pops here.
    fn sort_free(&self) {
        let mut free = Vec::new();
        while let Some(idx) = self.pop() {
            free.push(idx);
        }
        free.sort_unstable();
        self.release_all(&free);
    }

    /// Returns the slab to the pool; its producer is being freed.
    pub(crate) fn give_back(&'static self) {
        *self.owner_lock() = Weak::new();
        POOL.lock().unwrap_or_else(|p| p.into_inner()).push(self);
    }

    fn owner_lock(&self) -> MutexGuard<'_, Weak<Shared>> {
        self.owner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The producer that leases the slab, if it is alive.
    fn owner(&self) -> Option<Arc<Shared>> {
        self.owner_lock().upgrade()
    }

    fn failures(&self) -> MutexGuard<'_, HashMap<u32, Box<Failure>>> {
        self.failures.lock().unwrap_or_else(|p| p.into_inner())
    }

    #[inline]
    fn get(&self, idx: u32) -> Option<&Slot> {
        let (segment, offset) = locate(idx);
        self.segments.get(segment)?.get()?.get(offset)
    }

    /// Number of records enqueued and not yet reported.
    pub(crate) fn in_flight(&self) -> usize {
        // Reports are counted before their slots complete, so read them
        // first: the difference is then never below the truth.
        let reported = self.reported.load(Ordering::Acquire);
        self.sent.total().saturating_sub(reported)
    }

    /// Number of futures waiting with a registered waker.
    pub(crate) fn waiting(&self) -> usize {
        self.waiting.load(Ordering::SeqCst)
    }

    /// Whether slot `idx` has a future waiting on it with a waker.
    pub(crate) fn is_awaited(&self, idx: u32) -> bool {
        self.get(idx)
            .is_some_and(|slot| state::of(slot.state.load(Ordering::Acquire)) == state::TASK)
    }

    /// Counts one record handed to librdkafka.
    #[inline]
    pub(crate) fn count_sent(&self) {
        self.sent.add_one();
    }

    /// Counts `n` reports, before their slots are completed.
    pub(crate) fn count_reported(&self, n: usize) {
        self.reported.fetch_add(n, Ordering::Release);
    }

    /// Takes a slot for a record about to be produced, with its callback if
    /// it has one and the caller's choices. `None` when the slab is
    /// exhausted (billions of slots).
    #[inline]
    pub(crate) fn insert(&self, callback: Option<Callback>, choices: Choices) -> Option<u32> {
        let idx = match self.take_spare().or_else(|| self.pop()) {
            Some(idx) => idx,
            None => self.grow()?,
        };
        let slot = self.get(idx)?;
        let mut chosen = 0;
        if let Some(partition) = choices.partition {
            slot.partition.store(partition, Ordering::Relaxed);
            chosen |= CHOSE_PARTITION;
        }
        if let Some(timestamp) = choices.timestamp {
            slot.timestamp.store(timestamp, Ordering::Relaxed);
            chosen |= CHOSE_TIMESTAMP;
        }
        slot.next_free.store(chosen, Ordering::Relaxed);
        let next = match callback {
            Some(callback) => {
                *slot.side() = Side::Callback(callback);
                state::CALLBACK
            }
            None => state::IDLE,
        };
        // Published to the report's server by the produce call that follows
        // (librdkafka's queues synchronise), and by this release anyway.
        slot.state.store(next, Ordering::Release);
        Some(idx)
    }

    /// Gives back the slot of a record whose produce call failed; its
    /// callback, if any, is dropped without being called.
    pub(crate) fn cancel(&self, idx: u32) {
        if let Some(slot) = self.get(idx) {
            let side = std::mem::take(&mut *slot.side());
            drop(side);
            self.release(idx, slot);
        }
    }

    /// Completes the slot of one delivery report: wakes its task, or adds
    /// its callback with the outcome to `callbacks` (for the caller to run),
    /// or frees it if its future is gone. `failure` builds the failed
    /// record's data (called only when `report.err` is not 0).
    /// Freed slots are added to `freed`, to be released in one go with
    /// [`release_all`](Self::release_all). Returns false if the slot was not
    /// in flight (a report for an unknown opaque value, which would be a bug).
    pub(crate) fn complete(
        &self,
        idx: usize,
        report: &Report,
        failure: impl FnOnce() -> Failure,
        freed: &mut Vec<u32>,
        callbacks: &mut Vec<(Callback, Outcome)>,
    ) -> bool {
        let Some((idx, slot)) = u32::try_from(idx)
            .ok()
            .and_then(|i| Some((i, self.get(i)?)))
        else {
            return false;
        };
        match state::of(slot.state.load(Ordering::Acquire)) {
            state::CALLBACK => {
                // The callback's record has no future: the slot is ours alone.
                let callback = slot.side().take_callback();
                slot.state.store(state::FREE, Ordering::Relaxed);
                freed.push(idx);
                if let Some(callback) = callback {
                    callbacks.push((callback, outcome_of(report, failure)));
                }
                return true;
            }
            state::IDLE | state::TASK | state::DETACHED => {}
            _ => return false,
        }
        if report.err == 0 {
            slot.partition.store(report.partition, Ordering::Relaxed);
            slot.offset.store(report.offset, Ordering::Relaxed);
            slot.timestamp.store(report.timestamp, Ordering::Relaxed);
        } else {
            // The caller's choices stay in the slot, to rebuild the record.
            let failure = Box::new(failure());
            self.failures().insert(idx, failure);
        }
        slot.err.store(report.err, Ordering::Relaxed);
        let ready = state::ready(report.ts_type);
        match state::of(slot.state.swap(ready, Ordering::AcqRel)) {
            state::TASK => {
                self.waiting.fetch_sub(1, Ordering::SeqCst);
                let waker = slot.side().take_waker();
                if let Some(waker) = waker {
                    waker.wake();
                }
            }
            state::DETACHED => {
                if report.err != 0 {
                    let failure = self.failures().remove(&idx);
                    drop(failure);
                }
                slot.state.store(state::FREE, Ordering::Relaxed);
                freed.push(idx);
            }
            _ => {}
        }
        true
    }

    /// The report of a slot delivered without a task ever waiting on it,
    /// the common case: read inline so its numbers stay in registers, and
    /// the slot freed. `None` in every other case (see [`Self::poll_slot`]).
    #[inline]
    fn take_delivered(&self, idx: u32) -> Option<Delivered> {
        let slot = self.get(idx)?;
        let word = slot.state.load(Ordering::Acquire);
        if state::of(word) != state::READY || slot.err.load(Ordering::Relaxed) != 0 {
            return None;
        }
        let delivered = Delivered {
            partition: slot.partition.load(Ordering::Relaxed),
            offset: slot.offset.load(Ordering::Relaxed),
            timestamp: Timestamp::from_raw(
                state::ts_type(word),
                slot.timestamp.load(Ordering::Relaxed),
            ),
        };
        self.release(idx, slot);
        Some(delivered)
    }

    /// Polls a slot for its outcome, registering `waker` if it is not ready.
    /// `registered` remembers that a waker was left in the slot.
    #[inline(never)]
    fn poll_slot(
        &self,
        idx: u32,
        waker: &Waker,
        registered: &mut bool,
    ) -> Option<(Outcome, Choices)> {
        let Some(slot) = self.get(idx) else {
            return Some((Err(Box::new(Failure::bare(DESTROY))), Choices::default()));
        };
        let word = slot.state.load(Ordering::Acquire);
        if state::of(word) == state::READY {
            return Some(self.take_ready(idx, slot, word, *registered));
        }
        {
            let mut side = slot.side();
            match &*side {
                Side::Waker(w) if w.will_wake(waker) => {}
                _ => *side = Side::Waker(waker.clone()),
            }
        }
        *registered = true;
        let now = if state::of(word) == state::IDLE {
            match slot.state.compare_exchange(
                state::IDLE,
                state::TASK,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    self.waiting.fetch_add(1, Ordering::SeqCst);
                    state::TASK
                }
                Err(actual) => actual,
            }
        } else {
            // The report's server turns the state READY before it takes the
            // waker: if it took the old one, this load sees READY.
            slot.state.load(Ordering::Acquire)
        };
        (state::of(now) == state::READY).then(|| self.take_ready(idx, slot, now, true))
    }

    /// Takes the outcome of a READY slot (`word` is its state word), with
    /// the caller's choices if it failed, and frees the slot.
    fn take_ready(&self, idx: u32, slot: &Slot, word: u32, registered: bool) -> (Outcome, Choices) {
        if registered {
            let waker = slot.side().take_waker();
            drop(waker);
        }
        let err = slot.err.load(Ordering::Relaxed);
        let taken = if err == 0 {
            let delivered = Delivered {
                partition: slot.partition.load(Ordering::Relaxed),
                offset: slot.offset.load(Ordering::Relaxed),
                timestamp: Timestamp::from_raw(
                    state::ts_type(word),
                    slot.timestamp.load(Ordering::Relaxed),
                ),
            };
            (Ok(delivered), Choices::default())
        } else {
            let chosen = slot.next_free.load(Ordering::Relaxed);
            let choices = Choices {
                partition: (chosen & CHOSE_PARTITION != 0)
                    .then(|| slot.partition.load(Ordering::Relaxed)),
                timestamp: (chosen & CHOSE_TIMESTAMP != 0)
                    .then(|| slot.timestamp.load(Ordering::Relaxed)),
            };
            let failure = self.failures().remove(&idx);
            (
                Err(failure.unwrap_or_else(|| Box::new(Failure::bare(err)))),
                choices,
            )
        };
        self.release(idx, slot);
        taken
    }

    /// Forgets the future of a slot: a ready outcome is dropped now, a
    /// pending one when it arrives.
    fn detach(&self, idx: u32, registered: bool) {
        let Some(slot) = self.get(idx) else {
            return;
        };
        if registered {
            let waker = slot.side().take_waker();
            drop(waker);
        }
        let mut current = slot.state.load(Ordering::Acquire);
        loop {
            match state::of(current) {
                state::READY => {
                    drop(self.take_ready(idx, slot, current, false));
                    return;
                }
                state::IDLE | state::TASK => {
                    match slot.state.compare_exchange_weak(
                        current,
                        state::DETACHED,
                        Ordering::AcqRel,
                        Ordering::Acquire,
                    ) {
                        Ok(_) => {
                            if state::of(current) == state::TASK {
                                self.waiting.fetch_sub(1, Ordering::SeqCst);
                            }
                            return;
                        }
                        Err(actual) => current = actual,
                    }
                }
                _ => return,
            }
        }
    }

    /// Completes every slot still in flight with a `Destroy` error (used
    /// when the client is torn down with reports that will never come).
    pub(crate) fn fail_all(&self) {
        let report = Report {
            err: DESTROY,
            partition: -1,
            offset: -1,
            ts_type: 0,
            timestamp: 0,
        };
        let mut freed = Vec::new();
        let mut callbacks = Vec::new();
        let end = self.fresh.load(Ordering::Acquire).min(MAX_SLOTS);
        for idx in 0..end {
            let pending = u32::try_from(idx)
                .ok()
                .and_then(|i| self.get(i))
                .map(|slot| state::of(slot.state.load(Ordering::Acquire)))
                .is_some_and(|s| {
                    matches!(
                        s,
                        state::IDLE | state::TASK | state::CALLBACK | state::DETACHED
                    )
                });
            if pending {
                self.count_reported(1);
                self.complete(
                    idx,
                    &report,
                    || Failure::bare(DESTROY),
                    &mut freed,
                    &mut callbacks,
                );
            }
        }
        self.release_all(&freed);
        run_callbacks(&mut callbacks, &mut Vec::new());
    }

    /// A never used slot.
    #[inline(never)]
    fn grow(&self) -> Option<u32> {
        let idx = self.fresh.fetch_add(1, Ordering::AcqRel);
        if idx >= MAX_SLOTS {
            self.fresh.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        let idx = u32::try_from(idx).ok()?;
        let (segment, _) = locate(idx);
        self.segments.get(segment)?.get_or_init(|| {
            (0..(1usize << (FIRST_BITS as usize + segment)))
                .map(|_| Slot::default())
                .collect()
        });
        Some(idx)
    }

    /// Pops a free slot.
    #[inline(never)]
    fn pop(&self) -> Option<u32> {
        let mut head = self.free.load(Ordering::Acquire);
        loop {
            let idx = head as u32;
            if idx == NIL {
                return None;
            }
            // Slots are never deallocated, so reading a stale link is
            // harmless: the tag makes the exchange below fail then.
            let next = self.get(idx)?.next_free.load(Ordering::Relaxed);
            let new = (((head >> 32) + 1) << 32) | u64::from(next);
            match self
                .free
                .compare_exchange_weak(head, new, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return Some(idx),
                Err(actual) => head = actual,
            }
        }
    }

    /// The free slot this thread keeps for this slab, if any.
    #[inline]
    fn take_spare(&self) -> Option<u32> {
        SPARE
            .try_with(|spare| match spare.get() {
                (id, idx) if id == self.id && idx != NIL => {
                    spare.set((0, NIL));
                    Some(idx)
                }
                _ => None,
            })
            .ok()
            .flatten()
    }

    /// Frees one slot: this thread keeps it if it keeps none yet, else it
    /// goes on the free stack.
    #[inline]
    fn release(&self, idx: u32, slot: &Slot) {
        slot.state.store(state::FREE, Ordering::Relaxed);
        let kept = SPARE
            .try_with(|spare| {
                let empty = spare.get().1 == NIL;
                if empty {
                    spare.set((self.id, idx));
                }
                empty
            })
            .unwrap_or(false);
        if !kept {
            self.push_chain(idx, slot);
        }
    }

    /// Frees slots whose state is already FREE, with one exchange.
    pub(crate) fn release_all(&self, freed: &[u32]) {
        let (Some(&first), Some(&last)) = (freed.first(), freed.last()) else {
            return;
        };
        for pair in freed.windows(2) {
            if let Some(slot) = self.get(pair[0]) {
                slot.next_free.store(pair[1], Ordering::Relaxed);
            }
        }
        if let Some(last_slot) = self.get(last) {
            self.push_chain(first, last_slot);
        }
    }

    /// Pushes the chain of free slots from `first` to `last` (linked through
    /// `next_free`) on the free stack.
    fn push_chain(&self, first: u32, last: &Slot) {
        let mut head = self.free.load(Ordering::Relaxed);
        loop {
            last.next_free.store(head as u32, Ordering::Relaxed);
            let new = (((head >> 32) + 1) << 32) | u64::from(first);
            match self
                .free
                .compare_exchange_weak(head, new, Ordering::Release, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(actual) => head = actual,
            }
        }
    }
}

/// Runs delivery callbacks, each guarded against panics. Their boxes,
/// called, are added to `called`, to be freed by a sender.
pub(crate) fn run_callbacks(callbacks: &mut Vec<(Callback, Outcome)>, called: &mut Vec<Callback>) {
    for (mut callback, outcome) in callbacks.drain(..) {
        guarded("delivery callback", || callback.deliver(outcome));
        called.push(callback);
    }
}

/// The outcome a report describes.
fn outcome_of(report: &Report, failure: impl FnOnce() -> Failure) -> Outcome {
    if report.err == 0 {
        Ok(Delivered {
            partition: report.partition,
            offset: report.offset,
            timestamp: Timestamp::from_raw(report.ts_type, report.timestamp),
        })
    } else {
        Err(Box::new(failure()))
    }
}

/// Resolves to the outcome of one record's delivery.
///
/// Await it in async code, or call [`wait`](Self::wait) from blocking code.
/// Dropping it does not cancel the delivery; the outcome is then discarded.
///
/// Polling a future whose report has not been read yet first reads the
/// producer's reports that have arrived, on the polling thread (as a
/// librdkafka poll loop would), so a task that sends and awaits needs no
/// other thread; the producer's dispatcher thread reads them whenever no
/// such task does.
#[must_use = "a DeliveryFuture reports whether the record was delivered"]
pub struct DeliveryFuture {
    /// The producer's slab (never freed: see [`Slots`]).
    slots: &'static Slots,
    /// The record's topic; `None` once the future has returned its result.
    topic: Option<Topic>,
    /// The slot index, and [`REGISTERED`] once a waker was left in the slot
    /// (one word, written at once: callers copy futures around).
    slot: u64,
}

/// Set in [`DeliveryFuture::slot`] once a waker was left in the slot.
const REGISTERED: u64 = 1 << 32;

impl DeliveryFuture {
    pub(crate) fn new(slots: &'static Slots, idx: u32, topic: Topic) -> Self {
        DeliveryFuture {
            slots,
            topic: Some(topic),
            slot: u64::from(idx),
        }
    }

    fn idx(&self) -> u32 {
        self.slot as u32
    }

    fn registered(&self) -> bool {
        self.slot & REGISTERED != 0
    }

    /// Every case but a delivered record that no task waited for.
    #[inline(never)]
    fn poll_slow(&mut self, topic: Topic, cx: &mut Context<'_>) -> Poll<DeliveryResult> {
        // Not ready: serve the reports that have arrived, on this thread
        // (see serving.rs), then look again. Without a producer, the slot
        // was completed when it was torn down.
        if let Some(shared) = self.slots.owner() {
            shared.serve_as_task(Some(cx.waker()), self.idx());
        }
        let mut registered = self.registered();
        let polled = self
            .slots
            .poll_slot(self.idx(), cx.waker(), &mut registered);
        if registered {
            self.slot |= REGISTERED;
        }
        match polled {
            Some((outcome, choices)) => {
                self.topic = None;
                Poll::Ready(Origin { topic, choices }.finish(outcome))
            }
            None => Poll::Pending,
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
    // Inlined into the caller's state machine, so the result is built in
    // place; the work is in Slots::poll_slot.
    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<DeliveryResult> {
        let this = &mut *self;
        let Some(topic) = this.topic else {
            panic!("DeliveryFuture polled after completion");
        };
        if !this.registered() {
            if let Some(d) = this.slots.take_delivered(this.idx()) {
                this.topic = None;
                return Poll::Ready(Ok(RecordMetadata {
                    topic,
                    partition: d.partition,
                    offset: d.offset,
                    timestamp: d.timestamp,
                }));
            }
        }
        this.poll_slow(topic, cx)
    }
}

impl Drop for DeliveryFuture {
    fn drop(&mut self) {
        if self.topic.take().is_some() {
            self.slots.detach(self.idx(), self.registered());
        }
    }
}

impl std::fmt::Debug for DeliveryFuture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliveryFuture")
            .field("slot", &self.idx())
            .field("done", &self.topic.is_none())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_fills_one_cache_line() {
        assert_eq!(std::mem::size_of::<Slot>(), 64);
    }

    #[test]
    fn a_delivery_future_is_small() {
        // Programs keep many in flight: every byte counts in their memory.
        assert!(std::mem::size_of::<DeliveryFuture>() <= 24);
    }

    #[test]
    fn locate_covers_every_index_once() {
        assert_eq!(locate(0), (0, 0));
        assert_eq!(locate(255), (0, 255));
        assert_eq!(locate(256), (1, 0));
        assert_eq!(locate(767), (1, 511));
        assert_eq!(locate(768), (2, 0));
        let last = u32::try_from(MAX_SLOTS - 1).expect("fits");
        let (segment, offset) = locate(last);
        assert_eq!(segment, SEGMENTS - 1);
        assert_eq!(offset, (1usize << (FIRST_BITS as usize + segment)) - 1);
    }

    #[test]
    fn free_slots_are_reused_and_chains_release_at_once() {
        let slots = Slots::new();
        let a = slots.insert(None, Choices::default()).expect("slot");
        let b = slots.insert(None, Choices::default()).expect("slot");
        let c = slots.insert(None, Choices::default()).expect("slot");
        assert_eq!((a, b, c), (0, 1, 2));
        slots.cancel(b);
        assert_eq!(slots.insert(None, Choices::default()), Some(b));
        // Complete all three as detached, released as one chain.
        let report = Report {
            err: 0,
            partition: 0,
            offset: 7,
            ts_type: 1,
            timestamp: 5,
        };
        let mut freed = Vec::new();
        for idx in [a, b, c] {
            slots.detach(idx, false);
            assert!(slots.complete(
                idx as usize,
                &report,
                || Failure::bare(-1),
                &mut freed,
                &mut Vec::new()
            ));
        }
        slots.release_all(&freed);
        let mut again: Vec<u32> = (0..3)
            .filter_map(|_| slots.insert(None, Choices::default()))
            .collect();
        again.sort_unstable();
        assert_eq!(again, vec![0, 1, 2]);
        assert_eq!(slots.insert(None, Choices::default()), Some(3));
        // An unknown or free slot is not completed.
        assert!(!slots.complete(
            1 << 30,
            &report,
            || Failure::bare(-1),
            &mut freed,
            &mut Vec::new()
        ));
    }

    #[test]
    fn a_kept_slot_goes_back_to_its_own_slab_only() {
        let first = Slots::new();
        let second = Slots::new();
        let a = first.insert(None, Choices::default()).expect("slot");
        first.cancel(a); // kept by this thread for `first`
        let b = second.insert(None, Choices::default()).expect("slot");
        assert_eq!(b, 0, "a fresh slot of the second slab");
        assert_eq!(first.insert(None, Choices::default()), Some(a));
    }

    /// Completes slot `idx` as delivered; returns whether it was in flight.
    fn complete_delivered(
        slots: &Slots,
        idx: u32,
        partition: i32,
        offset: i64,
        freed: &mut Vec<u32>,
    ) -> bool {
        let report = Report {
            err: 0,
            partition,
            offset,
            ts_type: 1,
            timestamp: 7,
        };
        slots.complete(
            idx as usize,
            &report,
            || Failure::bare(-1),
            freed,
            &mut Vec::new(),
        )
    }

    #[test]
    fn a_completed_slot_stays_with_its_future_until_taken() {
        // A slab passes to a new producer while futures of the old one may
        // still hold completed slots: those are never handed out again
        // until their futures take the outcome.
        let slots = Slots::new();
        let held = slots.insert(None, Choices::default()).expect("slot");
        let mut freed = Vec::new();
        assert!(complete_delivered(&slots, held, 1, 42, &mut freed));
        assert!(freed.is_empty(), "a slot with a future is not freed");
        let others: Vec<u32> = (0..1000)
            .filter_map(|_| slots.insert(None, Choices::default()))
            .collect();
        assert!(!others.contains(&held));
        let delivered = slots.take_delivered(held).expect("ready");
        assert_eq!((delivered.partition, delivered.offset), (1, 42));
        assert_eq!(slots.insert(None, Choices::default()), Some(held));
    }

    #[test]
    fn a_leased_slab_hands_out_its_free_slots_in_index_order() {
        let slots = Slots::new();
        let taken: Vec<u32> = (0..5)
            .filter_map(|_| slots.insert(None, Choices::default()))
            .collect();
        assert_eq!(taken, vec![0, 1, 2, 3, 4]);
        // Freed in a scrambled order, with slot 4 still held by its future.
        let scrambled = [2, 0, 3, 1];
        for &idx in &scrambled {
            let slot = slots.get(idx).expect("slot");
            slot.state.store(state::FREE, Ordering::Relaxed);
        }
        slots.release_all(&scrambled);
        slots.sort_free();
        let again: Vec<u32> = (0..5)
            .filter_map(|_| slots.insert(None, Choices::default()))
            .collect();
        assert_eq!(again, vec![0, 1, 2, 3, 5]);
    }

    #[test]
    fn a_slab_given_back_is_leased_again() {
        let first = Slots::lease(Weak::new());
        let idx = first.insert(None, Choices::default()).expect("slot");
        first.cancel(idx);
        first.give_back();
        // Other tests may lease slabs meanwhile: look for ours among a few.
        let leased: Vec<&'static Slots> = (0..8).map(|_| Slots::lease(Weak::new())).collect();
        assert!(leased.iter().any(|s| std::ptr::eq(*s, first)));
        assert!(leased.iter().all(|s| s.owner().is_none()));
        for slots in leased {
            slots.give_back();
        }
    }

    #[test]
    fn concurrent_senders_each_get_their_own_outcome() {
        // Senders take slots and wait for them; one thread completes them
        // with an offset unique to each send. A slot handed out twice, or a
        // report published before its data, shows as a wrong offset.
        let slots = Arc::new(Slots::new());
        let (tx, rx) = std::sync::mpsc::channel::<(u32, i64)>();
        let completer = {
            let slots = slots.clone();
            std::thread::spawn(move || {
                let mut freed = Vec::new();
                for (idx, offset) in rx {
                    let report = Report {
                        err: 0,
                        partition: 1,
                        offset,
                        ts_type: 1,
                        timestamp: offset,
                    };
                    assert!(slots.complete(
                        idx as usize,
                        &report,
                        || Failure::bare(-1),
                        &mut freed,
                        &mut Vec::new()
                    ));
                    slots.release_all(&freed);
                    freed.clear();
                }
            })
        };
        let senders: Vec<_> = (0..4i64)
            .map(|t| {
                let slots = slots.clone();
                let tx = tx.clone();
                std::thread::spawn(move || {
                    let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
                    for i in 0..5_000i64 {
                        let offset = t * 1_000_000 + i;
                        let idx = slots.insert(None, Choices::default()).expect("slot");
                        tx.send((idx, offset)).expect("completer alive");
                        let mut registered = false;
                        let outcome = loop {
                            if let Some(outcome) = slots.poll_slot(idx, &waker, &mut registered) {
                                break outcome;
                            }
                            std::thread::park_timeout(Duration::from_millis(10));
                        };
                        match outcome {
                            (Ok(d), _) => assert_eq!(d.offset, offset),
                            (Err(_), _) => panic!("failed"),
                        }
                    }
                })
            })
            .collect();
        drop(tx);
        for sender in senders {
            sender.join().expect("sender");
        }
        completer.join().expect("completer");
        assert_eq!(slots.in_flight(), 0);
    }

    #[test]
    fn poll_before_and_after_the_report() {
        struct Count(AtomicUsize);
        impl Wake for Count {
            fn wake(self: Arc<Self>) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let slots = Slots::new();
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let idx = slots.insert(None, Choices::default()).expect("slot");
        let mut registered = false;
        assert!(slots.poll_slot(idx, &waker, &mut registered).is_none());
        assert!(registered);
        assert_eq!(slots.waiting(), 1);
        assert!(slots.is_awaited(idx));
        let report = Report {
            err: 0,
            partition: 2,
            offset: 9,
            ts_type: 1,
            timestamp: 5,
        };
        let mut freed = Vec::new();
        assert!(slots.complete(
            idx as usize,
            &report,
            || Failure::bare(-1),
            &mut freed,
            &mut Vec::new()
        ));
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert_eq!(slots.waiting(), 0);
        match slots.poll_slot(idx, &waker, &mut registered) {
            Some((Ok(d), _)) => {
                assert_eq!((d.partition, d.offset), (2, 9));
                assert_eq!(d.timestamp, Timestamp::CreateTime(5));
            }
            _ => panic!("not ready"),
        }
        // A failure keeps the data until the future takes it.
        let idx = slots.insert(None, Choices::default()).expect("slot");
        let failed = Report {
            err: -192,
            ..report
        };
        let failure = || Failure {
            value: Some(b"v".to_vec()),
            ..Failure::bare(-192)
        };
        assert!(slots.complete(idx as usize, &failed, failure, &mut freed, &mut Vec::new()));
        let mut registered = false;
        match slots.poll_slot(idx, &waker, &mut registered) {
            Some((Err(f), _)) => assert_eq!(f.value.as_deref(), Some(&b"v"[..])),
            _ => panic!("not failed"),
        }
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
    }
}
