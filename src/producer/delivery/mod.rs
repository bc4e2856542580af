//! Delivery slots, and the future that resolves when a record is delivered.
//!
//! Every record in flight has one slot in a slab, indexed by the opaque value
//! given to librdkafka. The sending thread takes a slot, whoever serves the
//! delivery reports completes it (see `Shared::serve` in mod.rs), and the
//! [`DeliveryFuture`], the producer's delivery handler or the record's
//! callback reads the outcome.
//!
//! A slot's life is one atomic state word:
//!
//! ```text
//!       insert, sent          claim (the report's server)       publish
//!   FREE ----------> IDLE -------------------------------> FILLING ----------> READY --> FREE
//!     |               | poll: waker          claim          |  poll: waker               (taken by
//!     |               v                 +------------> FILLING_TASK --publish, wake-->      the future)
//!     |              TASK --------------+                   |  drop
//!     |               | drop                 claim          v
//!     |               v            +---------------> FILLING_DETACHED --publish, free--> FREE
//!     |            DETACHED -------+                        ^
//!     +--------> HANDLER ----------- claim -----------------+ (the outcome goes to the handler)
//! ```
//!
//! Between `insert` and `sent` (the produce call's return) a slot is
//! UNSENT_IDLE or UNSENT_HANDLER: its report may already be claimed, but
//! teardown leaves it alone, as the record may still be produced. The state
//! word also carries the slot's generation, bumped by each `insert` and
//! given to librdkafka in the opaque value, so that nothing from an earlier
//! use of a slot (a late report, a sender's `sent`) touches a later one.
//!
//! Only the thread that claims a slot (one compare-exchange from IDLE, TASK,
//! DETACHED, HANDLER or, for a report that beats its produce call's return,
//! UNSENT_IDLE or UNSENT_HANDLER) writes its report, so a slot is completed exactly
//! once: a second completer (teardown failing what is left while a late
//! report arrives) finds it claimed and backs off. While the claimer fills
//! the slot, the future may still register a waker or go away; the claimer
//! publishes with a compare-exchange that sees either.
//!
//! The report itself (partition, offset, timestamp, error code) is written in
//! relaxed atomics before the state turns READY, which publishes it. A
//! future's waker or a record's callback sits behind a per-slot mutex that
//! is touched only for records with their own callback and for futures
//! polled before their report arrives; the
//! data of failed records go to a shared table, as failures are rare. A
//! slot fills one cache line, so handing it from one thread to another moves
//! one line and disturbs no other slot.
//!
//! The slab grows by segments that never move while it lives, so an index
//! stays valid without a lock; free slots form a lock-free stack whose head
//! carries a change count, so that a stale pop cannot succeed. Futures hold
//! the slab through an `Arc`: it is freed with the last of them.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock, Weak};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use super::payload::Payload;
use super::record::{DeliveryResult, Header, ProduceError, Record, RecordMetadata, Timestamp};
use super::{Shared, Topic};
use crate::native::RawError;
use crate::{Error, ErrorCode, KafkaError};
use sync::{AtomicI32, AtomicI64, AtomicU32, AtomicU64, AtomicUsize, Mutex, MutexGuard, Ordering};

/// The atomics and mutex of the slab: loom's when the state machine is
/// model-checked (`RUSTFLAGS="--cfg kafkit_loom"`), std's otherwise.
mod sync {
    #[cfg(kafkit_loom)]
    pub(crate) use loom::sync::{
        atomic::{AtomicI32, AtomicI64, AtomicU32, AtomicU64, AtomicUsize, Ordering},
        Mutex, MutexGuard,
    };
    #[cfg(not(kafkit_loom))]
    pub(crate) use std::sync::{
        atomic::{AtomicI32, AtomicI64, AtomicU32, AtomicU64, AtomicUsize, Ordering},
        Mutex, MutexGuard,
    };
}

/// A record's own delivery callback (the `send_with_callback` form).
pub(crate) type Callback = Box<dyn FnOnce(DeliveryResult) + Send>;

/// Where the outcome of a record without a future goes.
pub(crate) enum Target {
    /// To the producer's delivery handler, with the record's opaque value.
    Handler(u64),
    /// To the record's own callback.
    Callback(Callback),
}

/// What a delivery report says about one record.
#[derive(Clone, Copy)]
pub(crate) struct Report {
    /// 0 when delivered.
    pub err: i32,
    pub partition: i32,
    pub offset: i64,
    pub ts_type: i32,
    pub timestamp: i64,
}

impl Report {
    /// The report of a record that can no longer be delivered because the
    /// producer was torn down.
    pub(crate) fn destroyed() -> Self {
        Report {
            err: ErrorCode::Destroy.raw(),
            partition: -1,
            offset: -1,
            ts_type: 0,
            timestamp: 0,
        }
    }
}

/// A failed delivery: the error and the record's key, value and headers, as
/// librdkafka copied them.
pub(crate) struct Failure {
    pub error: Error,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<Header>,
}

impl Failure {
    /// A failure whose record data could not be recovered.
    pub(crate) fn bare(code: i32) -> Self {
        Failure {
            error: Error::Kafka(KafkaError::delivery(
                code,
                RawError::from_code(code).message,
            )),
            key: None,
            value: None,
            headers: Vec::new(),
        }
    }

    /// The failure of a record whose report never came before teardown.
    pub(crate) fn lost() -> Self {
        let code = ErrorCode::Destroy.raw();
        Failure {
            error: Error::Kafka(KafkaError::delivery(
                code,
                "the producer was torn down before librdkafka reported this record: it may or may \
                 not have been written, and its key, value and headers (for a record sent with a \
                 callback or to the delivery handler, also its topic) could not be recovered"
                    .into(),
            )),
            key: None,
            value: None,
            headers: Vec::new(),
        }
    }
}

/// The caller's choices of partition and timestamp for a record: needed
/// only to rebuild it if its delivery fails.
#[derive(Clone, Copy, Default)]
pub(crate) struct Choices {
    pub partition: Option<i32>,
    pub timestamp: Option<i64>,
}

impl Choices {
    pub(crate) fn of(record: &Record) -> Self {
        Choices {
            partition: record.partition,
            timestamp: record.timestamp,
        }
    }
}

/// The delivery result of a record of `topic`: its metadata, or the error
/// with the record rebuilt from `failure` and the caller's choices.
pub(crate) fn finish(
    topic: Topic,
    choices: Choices,
    report: &Report,
    failure: impl FnOnce() -> Failure,
) -> DeliveryResult {
    if report.err == 0 {
        return Ok(RecordMetadata {
            topic,
            partition: report.partition,
            offset: report.offset,
            timestamp: Timestamp::from_raw(report.ts_type, report.timestamp),
        });
    }
    Err(rebuild(topic, choices, failure()))
}

fn rebuild(topic: Topic, choices: Choices, failure: Failure) -> ProduceError {
    ProduceError {
        error: failure.error,
        record: Record {
            topic,
            key: failure.key.map(Payload::from),
            value: failure.value.map(Payload::from),
            headers: failure.headers,
            partition: choices.partition,
            timestamp: choices.timestamp,
        },
    }
}

/// Slot states, in the low byte of the state word. A READY word also holds
/// the timestamp type of the report in its second byte.
pub(crate) mod state {
    /// In the free stack.
    pub const FREE: u32 = 0;
    /// Produced; its future has not registered a waker.
    pub const IDLE: u32 = 1;
    /// Produced; its future registered a waker in the slot's side data.
    pub const TASK: u32 = 2;
    /// Produced; its future was dropped, the outcome will be discarded.
    pub const DETACHED: u32 = 3;
    /// Produced for the delivery handler or a callback: no future.
    pub const HANDLER: u32 = 4;
    /// Claimed by the report's server, which is writing the report; the
    /// future has no waker in the slot.
    pub const FILLING: u32 = 5;
    /// Claimed; the future registered a waker.
    pub const FILLING_TASK: u32 = 6;
    /// Claimed; nobody will take the outcome (future dropped, or a handler
    /// record whose claimer delivers the outcome itself).
    pub const FILLING_DETACHED: u32 = 7;
    /// The report is in the slot, waiting for its future to take it.
    pub const READY: u32 = 8;
    /// Taken for a record whose produce call has not returned yet (IDLE or
    /// HANDLER once it has). Its report may already arrive; teardown leaves
    /// it alone, as the record may still be produced.
    pub const UNSENT_IDLE: u32 = 9;
    pub const UNSENT_HANDLER: u32 = 10;

    /// The state of a state word (its low byte; the second byte holds a
    /// READY report's timestamp type, the high half the slot's generation).
    pub fn of(word: u32) -> u32 {
        word & 0xff
    }

    /// The generation of a state word: bumped each time the slot is taken,
    /// so that a report or a sender from an earlier use never matches.
    pub fn generation(word: u32) -> u32 {
        word >> 16
    }

    /// `word` with its state replaced (the generation is kept).
    pub fn with(word: u32, state: u32) -> u32 {
        (word & 0xffff_0000) | state
    }

    /// A READY word of `word`'s generation, with the report's timestamp type.
    pub fn ready(word: u32, ts_type: i32) -> u32 {
        (word & 0xffff_0000) | READY | ((ts_type as u32 & 0xff) << 8)
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

/// One record in flight, on a cache line of its own.
#[repr(align(64))]
struct Slot {
    state: AtomicU32,
    /// While the slot is free, the next slot in the free stack; while it is
    /// in flight, which of the caller's choices `partition` and `timestamp`
    /// hold, and whether a callback is in `side`.
    next: AtomicU32,
    err: AtomicI32,
    partition: AtomicI32,
    /// The offset once delivered; the record's opaque value while a
    /// handler record is in flight.
    offset: AtomicI64,
    timestamp: AtomicI64,
    side: Mutex<Side>,
}

impl Default for Slot {
    fn default() -> Self {
        Slot {
            state: AtomicU32::new(state::FREE),
            next: AtomicU32::new(NIL),
            err: AtomicI32::new(0),
            partition: AtomicI32::new(0),
            offset: AtomicI64::new(0),
            timestamp: AtomicI64::new(0),
            side: Mutex::new(Side::Empty),
        }
    }
}

impl Slot {
    fn side(&self) -> MutexGuard<'_, Side> {
        // User code never runs under this lock; recover the data after a
        // panic elsewhere anyway.
        self.side.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn take_waker(&self) -> Option<Waker> {
        let mut side = self.side();
        match std::mem::take(&mut *side) {
            Side::Waker(waker) => Some(waker),
            other => {
                *side = other;
                None
            }
        }
    }

    /// The caller's choices, as `insert` stored them.
    fn choices(&self) -> Choices {
        let chosen = self.next.load(Ordering::Relaxed);
        Choices {
            partition: (chosen & CHOSE_PARTITION != 0)
                .then(|| self.partition.load(Ordering::Relaxed)),
            timestamp: (chosen & CHOSE_TIMESTAMP != 0)
                .then(|| self.timestamp.load(Ordering::Relaxed)),
        }
    }
}

/// Flags in an in-flight slot's `next`: the caller chose a partition, a
/// timestamp; the record has its own callback in `side`.
const CHOSE_PARTITION: u32 = 1;
const CHOSE_TIMESTAMP: u32 = 2;
const HAS_CALLBACK: u32 = 4;

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

/// The opaque value of slot `idx` in the use whose state word is `word`:
/// the index, and the generation above it.
fn opaque_of(idx: u32, word: u32) -> usize {
    (u64::from(idx) | (u64::from(state::generation(word)) << 32)) as usize
}

/// Keeps a value on a cache line of its own, so that counters written by
/// different threads do not slow each other down.
#[repr(align(64))]
struct CacheLine<T>(T);

impl<T> std::ops::Deref for CacheLine<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// What claiming a slot for its report found.
pub(crate) enum Claimed {
    /// A future's slot: completed, its future woken if it waits.
    Future,
    /// A record without a future: its slot is free again, and the outcome
    /// goes to `target`.
    Handler(Target, Choices),
    /// Not in flight (free, or completed already): nothing was done.
    No,
}

/// The slab of records in flight.
pub(crate) struct Slots {
    /// The producer, for a future that serves reports while it waits.
    owner: Weak<Shared>,
    segments: [OnceLock<Box<[Slot]>>; SEGMENTS],
    /// Head of the free stack: a change count (high 32 bits) and a slot index.
    free: CacheLine<AtomicU64>,
    /// Slots ever handed out; the next new slot has this index.
    fresh: CacheLine<AtomicUsize>,
    /// Records handed to librdkafka and not yet reported.
    in_flight: CacheLine<AtomicUsize>,
    /// Futures waiting with a registered waker.
    waiting: CacheLine<AtomicUsize>,
    /// The data of failed records, by slot, until their futures take them.
    failures: std::sync::Mutex<HashMap<u32, Box<Failure>>>,
}

impl Slots {
    pub(crate) fn new(owner: Weak<Shared>) -> Self {
        Slots {
            owner,
            segments: std::array::from_fn(|_| OnceLock::new()),
            free: CacheLine(AtomicU64::new(u64::from(NIL))),
            fresh: CacheLine(AtomicUsize::new(0)),
            in_flight: CacheLine(AtomicUsize::new(0)),
            waiting: CacheLine(AtomicUsize::new(0)),
            failures: std::sync::Mutex::new(HashMap::new()),
        }
    }

    fn failures(&self) -> std::sync::MutexGuard<'_, HashMap<u32, Box<Failure>>> {
        self.failures.lock().unwrap_or_else(|p| p.into_inner())
    }

    #[inline]
    fn get(&self, idx: u32) -> Option<&Slot> {
        let (segment, offset) = locate(idx);
        self.segments.get(segment)?.get()?.get(offset)
    }

    /// Records handed to librdkafka and not yet reported.
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }

    /// Futures waiting with a registered waker.
    pub(crate) fn waiting(&self) -> usize {
        self.waiting.load(Ordering::SeqCst)
    }

    /// Takes a slot for a record about to be produced: for its future
    /// (`target` `None`) or for a record without one. Returns the slot and
    /// the opaque value to give librdkafka (the slot and its generation);
    /// `None` when the slab is exhausted (billions of slots). The record
    /// counts as in flight until its report is claimed or
    /// [`cancel`](Self::cancel) is called; once its produce call returned,
    /// call [`sent`](Self::sent).
    #[inline]
    pub(crate) fn insert(&self, target: Option<Target>, choices: Choices) -> Option<(u32, usize)> {
        let idx = match self.pop() {
            Some(idx) => idx,
            None => self.grow()?,
        };
        let slot = self.get(idx)?;
        let mut flags = 0;
        if let Some(partition) = choices.partition {
            slot.partition.store(partition, Ordering::Relaxed);
            flags |= CHOSE_PARTITION;
        }
        if let Some(timestamp) = choices.timestamp {
            slot.timestamp.store(timestamp, Ordering::Relaxed);
            flags |= CHOSE_TIMESTAMP;
        }
        let next = match target {
            None => state::UNSENT_IDLE,
            Some(Target::Handler(opaque)) => {
                slot.offset.store(opaque as i64, Ordering::Relaxed);
                state::UNSENT_HANDLER
            }
            Some(Target::Callback(callback)) => {
                *slot.side() = Side::Callback(callback);
                flags |= HAS_CALLBACK;
                state::UNSENT_HANDLER
            }
        };
        slot.next.store(flags, Ordering::Relaxed);
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        // A free slot is this thread's alone: a plain store takes it.
        let generation = (state::generation(slot.state.load(Ordering::Relaxed)) + 1) & 0xffff;
        let word = (generation << 16) | next;
        // Published to the report's server by the produce call that follows
        // (librdkafka's queues synchronise), and by this release anyway.
        slot.state.store(word, Ordering::Release);
        Some((idx, opaque_of(idx, word)))
    }

    /// Marks the record of slot `idx` (taken as `opaque`) as handed to
    /// librdkafka, unless its report was claimed already.
    #[inline]
    pub(crate) fn sent(&self, idx: u32, opaque: usize) {
        let Some(slot) = self.get(idx) else {
            return;
        };
        let word = slot.state.load(Ordering::Acquire);
        let produced = match state::of(word) {
            state::UNSENT_IDLE => state::IDLE,
            state::UNSENT_HANDLER => state::HANDLER,
            _ => return,
        };
        if opaque_of(idx, word) == opaque {
            // Fails if the report was claimed meanwhile, which is fine; the
            // generation keeps it from touching a later use of the slot.
            let _ = slot.state.compare_exchange(
                word,
                state::with(word, produced),
                Ordering::AcqRel,
                Ordering::Relaxed,
            );
        }
    }

    /// Gives back the slot of a record whose produce call failed; its
    /// callback, if any, is dropped without being called. Nothing else
    /// touches an UNSENT slot of a record librdkafka refused: no report
    /// comes for it, and teardown leaves UNSENT slots alone.
    pub(crate) fn cancel(&self, idx: u32) {
        let Some(slot) = self.get(idx) else {
            return;
        };
        let word = slot.state.load(Ordering::Acquire);
        if matches!(state::of(word), state::UNSENT_IDLE | state::UNSENT_HANDLER) {
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            self.free_slot(idx, slot);
        } else {
            tracing::error!(slot = idx, "cancelling a record that is not unsent");
        }
    }

    /// Completes the slot named by a report's `opaque` with `report`, if
    /// that record is in flight and nobody claimed it first. `failure`
    /// builds the failed record's data; it is called only for a future's
    /// slot when `report.err` is not 0 (for a handler record the caller
    /// builds the result itself).
    pub(crate) fn claim(
        &self,
        opaque: usize,
        report: &Report,
        failure: impl FnOnce() -> Failure,
    ) -> Claimed {
        let (idx, generation) = (opaque as u32, (opaque >> 32) as u32);
        self.claim_slot(idx, Some(generation), report, failure)
    }

    /// The claim and completion of slot `idx`: for a report (of the use of
    /// the slot with `generation`), or for teardown (`None`, which leaves
    /// unsent records alone).
    fn claim_slot(
        &self,
        idx: u32,
        generation: Option<u32>,
        report: &Report,
        failure: impl FnOnce() -> Failure,
    ) -> Claimed {
        let Some(slot) = self.get(idx) else {
            return Claimed::No;
        };
        // The claim: exactly one completer moves the slot out of an
        // in-flight state; any other backs off.
        let mut current = slot.state.load(Ordering::Acquire);
        loop {
            if generation.is_some_and(|g| g != state::generation(current)) {
                return Claimed::No;
            }
            let claimed = match (state::of(current), generation.is_some()) {
                (state::IDLE, _) | (state::UNSENT_IDLE, true) => state::FILLING,
                (state::TASK, _) => state::FILLING_TASK,
                (state::DETACHED | state::HANDLER, _) | (state::UNSENT_HANDLER, true) => {
                    state::FILLING_DETACHED
                }
                _ => return Claimed::No,
            };
            match slot.state.compare_exchange_weak(
                current,
                state::with(current, claimed),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(actual) => current = actual,
            }
        }
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        if matches!(state::of(current), state::HANDLER | state::UNSENT_HANDLER) {
            let choices = slot.choices();
            let target = if slot.next.load(Ordering::Relaxed) & HAS_CALLBACK != 0 {
                match std::mem::take(&mut *slot.side()) {
                    Side::Callback(callback) => Some(Target::Callback(callback)),
                    _ => None,
                }
            } else {
                Some(Target::Handler(slot.offset.load(Ordering::Relaxed) as u64))
            };
            // The side data was taken above, or never set.
            self.release(idx, slot);
            return match target {
                Some(target) => Claimed::Handler(target, choices),
                None => Claimed::No,
            };
        }
        // Fill: the caller's choices stay in the slot if the record failed,
        // to rebuild it.
        if report.err == 0 {
            slot.partition.store(report.partition, Ordering::Relaxed);
            slot.offset.store(report.offset, Ordering::Relaxed);
            slot.timestamp.store(report.timestamp, Ordering::Relaxed);
        } else if state::of(current) != state::DETACHED {
            let failure = Box::new(failure());
            self.failures().insert(idx, failure);
        }
        slot.err.store(report.err, Ordering::Relaxed);
        // Publish, whatever the future did meanwhile: a slot whose future
        // went away is READY for an instant with nobody to take it (a second
        // completer backs off from READY too), then freed below.
        let filling = slot
            .state
            .swap(state::ready(current, report.ts_type), Ordering::AcqRel);
        match state::of(filling) {
            state::FILLING_TASK => {
                self.waiting.fetch_sub(1, Ordering::SeqCst);
                if let Some(waker) = slot.take_waker() {
                    waker.wake();
                }
            }
            state::FILLING_DETACHED => {
                if report.err != 0 {
                    drop(self.failures().remove(&idx));
                }
                self.free_slot(idx, slot);
            }
            _ => {}
        }
        Claimed::Future
    }

    /// Completes every slot still in flight with `report` (teardown: their
    /// reports can no longer arrive), except records whose produce call has
    /// not returned. Calls `handled` for each record without a future.
    /// Returns how many slots it completed.
    pub(crate) fn fail_all(
        &self,
        report: &Report,
        mut handled: impl FnMut(Target, Choices),
    ) -> usize {
        let end = self.fresh.load(Ordering::Acquire).min(MAX_SLOTS);
        let mut failed = 0;
        for idx in (0..end).filter_map(|i| u32::try_from(i).ok()) {
            match self.claim_slot(idx, None, report, Failure::lost) {
                Claimed::Future => failed += 1,
                Claimed::Handler(target, choices) => {
                    failed += 1;
                    handled(target, choices);
                }
                Claimed::No => {}
            }
        }
        failed
    }

    /// Polls slot `idx` for its outcome, registering `waker` if it is not
    /// ready; `registered` remembers that a waker was left in the slot.
    fn poll_slot(
        &self,
        idx: u32,
        waker: &Waker,
        registered: &mut bool,
    ) -> Option<(Report, Choices, Option<Box<Failure>>)> {
        let Some(slot) = self.get(idx) else {
            let report = Report::destroyed();
            return Some((report, Choices::default(), None));
        };
        let mut current = slot.state.load(Ordering::Acquire);
        loop {
            match state::of(current) {
                state::READY => return Some(self.take_ready(idx, slot, current)),
                state::IDLE | state::FILLING => {
                    *slot.side() = Side::Waker(waker.clone());
                    let next = if state::of(current) == state::IDLE {
                        state::TASK
                    } else {
                        state::FILLING_TASK
                    };
                    // Counted before the state says so: a completer that
                    // sees TASK always finds the count to decrement.
                    self.waiting.fetch_add(1, Ordering::SeqCst);
                    match slot.state.compare_exchange(
                        current,
                        state::with(current, next),
                        Ordering::AcqRel,
                        Ordering::Acquire,
                    ) {
                        Ok(_) => {
                            *registered = true;
                            return None;
                        }
                        Err(actual) => {
                            self.waiting.fetch_sub(1, Ordering::SeqCst);
                            current = actual;
                        }
                    }
                }
                state::TASK | state::FILLING_TASK => {
                    {
                        let mut side = slot.side();
                        match &*side {
                            Side::Waker(w) if w.will_wake(waker) => {}
                            _ => *side = Side::Waker(waker.clone()),
                        }
                    }
                    // The completer publishes READY before it takes the
                    // waker: if it took the old one, this load sees READY.
                    let now = slot.state.load(Ordering::Acquire);
                    return (state::of(now) == state::READY)
                        .then(|| self.take_ready(idx, slot, now));
                }
                _ => {
                    // Not this future's slot any more: cannot happen while
                    // the future lives; fail rather than hang.
                    let report = Report::destroyed();
                    return Some((report, Choices::default(), None));
                }
            }
        }
    }

    /// The report of a READY slot (`word` is its state word), with the
    /// caller's choices and the failure data if it failed; frees the slot.
    fn take_ready(
        &self,
        idx: u32,
        slot: &Slot,
        word: u32,
    ) -> (Report, Choices, Option<Box<Failure>>) {
        let report = Report {
            err: slot.err.load(Ordering::Relaxed),
            partition: slot.partition.load(Ordering::Relaxed),
            offset: slot.offset.load(Ordering::Relaxed),
            ts_type: state::ts_type(word),
            timestamp: slot.timestamp.load(Ordering::Relaxed),
        };
        let (choices, failure) = if report.err == 0 {
            (Choices::default(), None)
        } else {
            (slot.choices(), self.failures().remove(&idx))
        };
        self.free_slot(idx, slot);
        (report, choices, failure)
    }

    /// Forgets the future of slot `idx`: a ready outcome is dropped now, a
    /// pending one when it arrives.
    fn detach(&self, idx: u32, registered: bool) {
        let Some(slot) = self.get(idx) else {
            return;
        };
        // A registered future clears its waker under the side lock, held
        // across the hand-off: whoever frees the slot takes that lock first,
        // so the slot cannot be reused, and another future's waker taken by
        // mistake, before this is done.
        let mut side = registered.then(|| slot.side());
        let mut current = slot.state.load(Ordering::Acquire);
        loop {
            let next = match state::of(current) {
                state::READY => {
                    drop(side);
                    drop(self.take_ready(idx, slot, current));
                    return;
                }
                state::IDLE | state::TASK => state::DETACHED,
                state::FILLING | state::FILLING_TASK => state::FILLING_DETACHED,
                _ => return,
            };
            match slot.state.compare_exchange_weak(
                current,
                state::with(current, next),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    if matches!(state::of(current), state::TASK | state::FILLING_TASK) {
                        self.waiting.fetch_sub(1, Ordering::SeqCst);
                        if let Some(side) = side.as_deref_mut() {
                            if matches!(side, Side::Waker(_)) {
                                *side = Side::Empty;
                            }
                        }
                    }
                    return;
                }
                Err(actual) => current = actual,
            }
        }
    }

    /// Frees a slot nobody else refers to any more.
    fn free_slot(&self, idx: u32, slot: &Slot) {
        let side = std::mem::take(&mut *slot.side());
        drop(side);
        self.release(idx, slot);
    }

    /// Frees a slot whose side data is known to be empty (a future that
    /// never left a waker), without touching its mutex.
    #[inline]
    fn release(&self, idx: u32, slot: &Slot) {
        let word = slot.state.load(Ordering::Relaxed);
        slot.state
            .store(state::with(word, state::FREE), Ordering::Relaxed);
        self.push_free(idx, slot);
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
    #[inline]
    fn pop(&self) -> Option<u32> {
        let mut head = self.free.load(Ordering::Acquire);
        loop {
            let idx = head as u32;
            if idx == NIL {
                return None;
            }
            // Slots never move while the slab lives, so reading a stale
            // link is harmless: the change count makes the exchange fail.
            let next = self.get(idx)?.next.load(Ordering::Relaxed);
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

    /// Pushes a FREE slot on the free stack.
    fn push_free(&self, idx: u32, slot: &Slot) {
        let mut head = self.free.load(Ordering::Relaxed);
        loop {
            slot.next.store(head as u32, Ordering::Relaxed);
            let new = (((head >> 32) + 1) << 32) | u64::from(idx);
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

/// Resolves to the outcome of one record's delivery.
///
/// Await it in async code, or call [`wait`](Self::wait) from blocking code.
/// Dropping it does not cancel the delivery; the outcome is then discarded.
///
/// Polling a future whose report has not arrived yet first serves the
/// producer's delivery reports that have arrived, on the polling thread, if
/// no other thread is serving them (as a librdkafka poll loop would); the
/// producer's dispatcher thread serves them whenever no task does. The
/// future holds the producer's slab of slots, not the producer: the
/// librdkafka client is freed when the last producer handle goes.
#[must_use = "a DeliveryFuture reports whether the record was delivered"]
pub struct DeliveryFuture {
    slots: Arc<Slots>,
    /// The record's topic; `None` once the future has returned its result.
    topic: Option<Topic>,
    idx: u32,
    /// Whether a waker was left in the slot.
    registered: bool,
}

impl DeliveryFuture {
    pub(crate) fn new(slots: Arc<Slots>, idx: u32, topic: Topic) -> Self {
        DeliveryFuture {
            slots,
            topic: Some(topic),
            idx,
            registered: false,
        }
    }

    /// Every case but a delivered record that no task waited for.
    #[inline(never)]
    fn poll_slow(&mut self, topic: Topic, cx: &mut Context<'_>) -> Poll<DeliveryResult> {
        // Not ready: serve the reports that have arrived on this thread,
        // then look again.
        if let Some(shared) = self.slots.owner.upgrade() {
            shared.serve_inline();
        }
        let mut registered = self.registered;
        let polled = self.slots.poll_slot(self.idx, cx.waker(), &mut registered);
        self.registered = registered;
        match polled {
            Some((report, choices, failure)) => {
                self.topic = None;
                Poll::Ready(finish(topic, choices, &report, || match failure {
                    Some(failure) => *failure,
                    None => Failure::bare(report.err),
                }))
            }
            None => {
                // Registered: if reports arrived meanwhile and no one is
                // serving them, make sure someone does.
                if let Some(shared) = self.slots.owner.upgrade() {
                    shared.after_registering();
                }
                Poll::Pending
            }
        }
    }

    /// Blocks the current thread until the record is delivered or fails, or
    /// until `timeout` passes (then `None`, and the future can still be
    /// waited on or awaited). Called from a delivery callback of the same
    /// producer it returns `None` at once if the report is not there yet:
    /// the report would be served by that very thread, after the callback.
    pub fn wait(&mut self, timeout: Duration) -> Option<DeliveryResult> {
        let deadline = Instant::now() + timeout;
        let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
        let mut cx = Context::from_waker(&waker);
        loop {
            if let Poll::Ready(result) = Pin::new(&mut *self).poll(&mut cx) {
                return Some(result);
            }
            let now = Instant::now();
            if now >= deadline || self.serving_here() {
                return None;
            }
            std::thread::park_timeout(deadline - now);
        }
    }

    /// Whether this thread serves the producer's reports right now (it runs
    /// one of its callbacks): then waiting here could never end.
    fn serving_here(&self) -> bool {
        self.slots
            .owner
            .upgrade()
            .is_some_and(|shared| shared.serves_here())
    }
}

impl Future for DeliveryFuture {
    type Output = DeliveryResult;

    /// # Panics
    /// If polled again after it returned `Ready`, as futures may.
    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<DeliveryResult> {
        let this = &mut *self;
        let Some(topic) = this.topic else {
            panic!("DeliveryFuture polled after completion");
        };
        // The common case, inline: delivered before anyone waited (so the
        // slot holds no waker of this future's).
        if let Some(slot) = this.slots.get(this.idx).filter(|_| !this.registered) {
            let word = slot.state.load(Ordering::Acquire);
            if state::of(word) == state::READY && slot.err.load(Ordering::Relaxed) == 0 {
                let meta = RecordMetadata {
                    topic,
                    partition: slot.partition.load(Ordering::Relaxed),
                    offset: slot.offset.load(Ordering::Relaxed),
                    timestamp: Timestamp::from_raw(
                        state::ts_type(word),
                        slot.timestamp.load(Ordering::Relaxed),
                    ),
                };
                this.topic = None;
                this.slots.release(this.idx, slot);
                return Poll::Ready(Ok(meta));
            }
        }
        this.poll_slow(topic, cx)
    }
}

impl Drop for DeliveryFuture {
    fn drop(&mut self) {
        if self.topic.take().is_some() {
            self.slots.detach(self.idx, self.registered);
        }
    }
}

impl std::fmt::Debug for DeliveryFuture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliveryFuture")
            .field("slot", &self.idx)
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

/// Test shorthands for the sender's steps.
#[cfg(test)]
impl Slots {
    /// Takes a slot as a sender does before its produce call.
    fn take(&self, target: Option<Target>, choices: Choices) -> Option<u32> {
        self.insert(target, choices).map(|(idx, _)| idx)
    }

    /// Takes a slot and marks its record produced.
    fn take_sent(&self, target: Option<Target>, choices: Choices) -> Option<u32> {
        let (idx, opaque) = self.insert(target, choices)?;
        self.sent(idx, opaque);
        Some(idx)
    }

    /// The opaque value of the current use of slot `idx`.
    fn opaque(&self, idx: u32) -> usize {
        opaque_of(
            idx,
            self.get(idx).map_or(0, |s| s.state.load(Ordering::Relaxed)),
        )
    }
}

#[cfg(all(test, not(kafkit_loom)))]
mod tests;

/// Model checks of the slot state machine and the free stack, run with
/// `RUSTFLAGS="--cfg kafkit_loom" cargo test --release --lib loom`.
#[cfg(all(test, kafkit_loom))]
mod loom_model;
