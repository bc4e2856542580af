//! The read buffer: a librdkafka queue read in batches, its messages handed
//! to the user one at a time (or as batches).
//!
//! Why: on a real broker, one `rd_kafka_consumer_poll` per message cost
//! about 1.6 us (the fetcher threads append to the same queue under its
//! lock), while one `rd_kafka_consume_batch_queue` call takes a whole batch
//! for about the price of one poll. Every read (`poll`, `iter`, `stream`,
//! batches, partition streams) goes through a [`Reader`], so mixing them
//! keeps the partition order.
//!
//! What a reader keeps true:
//! - **Order.** One refill at a time (the refill lock), and a batch enters
//!   the buffer in the order librdkafka gave it. Reads of librdkafka never
//!   block: a reader that finds nothing waits on [`Signal`] instead, so the
//!   refill lock is held only for a non-blocking call, and operations that
//!   must not overlap a refill (pause, seek, assign) can take it.
//! - **At-least-once.** With auto offset store on (kafkit stores, librdkafka's
//!   own store is switched off), an offset is stored when its message is
//!   handed out, never when a batch is read: a commit covers what the user
//!   received (the Java client's rule), and a crash loses no buffered message.
//! - **Ownership.** Buffered messages of a partition that is revoked, lost,
//!   paused, seeked or unassigned are dropped ([`Reader::drop_partitions`]),
//!   and so are those a refill running at that moment read (the drop count
//!   tells it). librdkafka's position for a partition counts what it handed
//!   to the buffer; [`Reader::position`] knows what the user got.
//! - **No lost wake-up.** librdkafka calls the queue's hook when the queue
//!   goes from empty to non-empty; a waiter registers first, then reads once
//!   more, and only then sleeps.

use std::cell::Cell;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::Waker;
use std::time::{Duration, Instant};

use super::Message;
use crate::native::{code, NativeMessage, NativeQueue, RawError, WakingQueue};

/// Most messages one refill takes from librdkafka.
const BATCH: usize = 256;

/// The longest a blocked reader sleeps before reading again: librdkafka
/// counts a read as the application being alive (`max.poll.interval.ms`),
/// and a read also serves rebalances that arrived meanwhile.
const RECHECK: Duration = Duration::from_secs(1);

thread_local! {
    /// Set while this thread refills a buffer. A rebalance listener runs
    /// inside that call: a read it makes sees only what is buffered, and an
    /// operation it calls does not wait for the refill lock this thread
    /// already holds.
    static REFILLING: Cell<bool> = const { Cell::new(false) };
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Marks this thread as refilling until dropped.
struct Refilling;

impl Refilling {
    fn enter() -> Self {
        REFILLING.with(|r| r.set(true));
        Refilling
    }
}

impl Drop for Refilling {
    fn drop(&mut self) {
        REFILLING.with(|r| r.set(false));
    }
}

/// Held by an operation that must not overlap a refill (see
/// [`Reader::exclusive`]).
pub(super) struct Exclusive<'a> {
    _guard: Option<MutexGuard<'a, ()>>,
}

/// Who waits for a queue to become non-empty: async tasks (wakers) and
/// blocked threads (the condition variable).
#[derive(Default)]
pub(super) struct Signal {
    wakers: Mutex<Vec<Waker>>,
    /// Wakers the queue hook has woken, to be dropped by a reader on its
    /// own thread: the hook runs under librdkafka's queue lock, and
    /// dropping a waker there may run a task's destructor, which may drop
    /// the consumer and with it this queue (relocking that lock).
    spent: Mutex<Vec<Waker>>,
    /// Threads in [`Reader::next_blocking`]'s sleep; the hook touches the
    /// condition variable only when there are some.
    blocked: AtomicUsize,
    rounds: Mutex<u64>,
    cond: Condvar,
}

impl Signal {
    /// Wakes every waiter, from a reader's thread: after a refill, and when
    /// reading ends.
    pub(super) fn notify(&self) {
        let wakers = std::mem::take(&mut *lock(&self.wakers));
        let spent = std::mem::take(&mut *lock(&self.spent));
        for w in wakers {
            w.wake();
        }
        drop(spent);
        self.notify_blocked();
    }

    /// Wakes every waiter from the queue hook (on a librdkafka thread,
    /// under the queue's lock): by reference, keeping the wakers for a
    /// reader to drop.
    fn notify_from_hook(&self) {
        let wakers = std::mem::take(&mut *lock(&self.wakers));
        if !wakers.is_empty() {
            for w in &wakers {
                w.wake_by_ref();
            }
            lock(&self.spent).extend(wakers);
        }
        self.notify_blocked();
    }

    fn notify_blocked(&self) {
        if self.blocked.load(Ordering::SeqCst) > 0 {
            *lock(&self.rounds) += 1;
            self.cond.notify_all();
        }
    }

    pub(super) fn register(&self, waker: &Waker) {
        {
            let mut list = lock(&self.wakers);
            if !list.iter().any(|w| w.will_wake(waker)) {
                list.push(waker.clone());
            }
        }
        // What the hook woke is dropped here, on the reader's thread.
        let spent = std::mem::take(&mut *lock(&self.spent));
        drop(spent);
    }
}

/// Why [`Reader::take_batch`] stopped.
pub(super) enum Taken {
    /// Nothing more is there now.
    Drained,
    /// The batch holds `max` messages.
    Full,
    /// A consumer error is next; it waits for the next read.
    ErrorNext,
    /// A consumer error came before any message (the batch is empty).
    Error(NativeMessage),
}

/// A partition a refill must not let into the buffer.
#[derive(PartialEq)]
enum Dropped {
    All,
    One(String, i32),
}

/// The next offset to hand out of one partition: after the last message
/// handed out, or the end of the partition once its EOF was.
struct Handed {
    topic: String,
    partition: i32,
    next: i64,
}

/// What the state lock guards.
#[derive(Default)]
struct Buffered {
    messages: VecDeque<NativeMessage>,
    /// True while a refill reads from librdkafka (with the state unlocked).
    refilling: bool,
    /// Bumped by every drop; a refill that sees it change filters what it
    /// read against `dropped`.
    drops: u64,
    /// Partitions dropped while the current refill ran.
    dropped: Vec<Dropped>,
    /// Paused partitions: whatever a refill brings of them is dropped.
    paused: Vec<(String, i32)>,
    handed: Vec<Handed>,
    /// Index in `handed` of the partition handed out last.
    last: usize,
}

fn is(m: &NativeMessage, topic: &str, partition: i32) -> bool {
    m.partition() == partition && m.topic_is(topic)
}

impl Buffered {
    fn note_handed(&mut self, m: &NativeMessage) {
        let partition = m.partition();
        if partition < 0 || m.offset() < 0 {
            return;
        }
        // A message moves the position past it. An end of partition or a
        // partition's error carries the offset the next fetch asks for,
        // which is where the position is (librdkafka's batch reads put it
        // one past that).
        let (next, data) = match m.err() {
            0 => (m.offset() + 1, true),
            _ => (m.offset(), false),
        };
        let set = |h: &mut Handed| h.next = if data { next } else { h.next.max(next) };
        if let Some(h) = self.handed.get_mut(self.last) {
            if h.partition == partition && m.topic_is(&h.topic) {
                set(h);
                return;
            }
        }
        match self
            .handed
            .iter()
            .position(|h| h.partition == partition && m.topic_is(&h.topic))
        {
            Some(i) => {
                set(&mut self.handed[i]);
                self.last = i;
            }
            None => {
                self.last = self.handed.len();
                self.handed.push(Handed {
                    topic: m.topic().to_string(),
                    partition,
                    next,
                });
            }
        }
    }

    fn pop(&mut self) -> Option<NativeMessage> {
        let m = self.messages.pop_front()?;
        self.note_handed(&m);
        Some(m)
    }

    /// The offset the user reads next from a partition, when known.
    fn position(&self, topic: &str, partition: i32) -> Option<i64> {
        let buffered = self
            .messages
            .iter()
            .find(|m| is(m, topic, partition) && m.offset() >= 0);
        if let Some(m) = buffered {
            return Some(m.offset());
        }
        self.handed
            .iter()
            .find(|h| h.partition == partition && h.topic == topic)
            .map(|h| h.next)
    }

    /// Whether a refill that began at drop count `since` must drop `m`.
    fn excludes(&self, m: &NativeMessage, since: u64) -> bool {
        if m.partition() < 0 {
            return false;
        }
        let dropped = self.drops != since
            && self.dropped.iter().any(|d| match d {
                Dropped::All => true,
                Dropped::One(t, p) => is(m, t, *p),
            });
        dropped || self.paused.iter().any(|(t, p)| is(m, t, *p))
    }

    fn record_drop(&mut self, d: Dropped) {
        self.drops += 1;
        if self.refilling {
            self.dropped.push(d);
        }
    }
}

/// One librdkafka queue (the consumer queue, or one partition's queue) and
/// its buffer.
pub(super) struct Reader {
    queue: WakingQueue,
    signal: Arc<Signal>,
    state: Mutex<Buffered>,
    /// The refill lock.
    refill: Mutex<()>,
    /// Store each message's offset when it is handed out.
    auto_store: bool,
    /// Set when this reader hands out nothing more: the consumer is
    /// closing, or a partition stream's partition was revoked.
    ended: AtomicBool,
}

impl Reader {
    pub(super) fn new(queue: NativeQueue, auto_store: bool) -> Self {
        let signal = Arc::new(Signal::default());
        let hook = signal.clone();
        Reader {
            queue: WakingQueue::new(queue, Box::new(move || hook.notify_from_hook())),
            signal,
            state: Mutex::new(Buffered::default()),
            refill: Mutex::new(()),
            auto_store,
            ended: AtomicBool::new(false),
        }
    }

    pub(super) fn queue(&self) -> &NativeQueue {
        self.queue.queue()
    }

    pub(super) fn signal(&self) -> &Signal {
        &self.signal
    }

    pub(super) fn is_ended(&self) -> bool {
        self.ended.load(Ordering::Acquire)
    }

    /// Hands out nothing more: drops the buffer and wakes every waiter.
    pub(super) fn end(&self) {
        self.ended.store(true, Ordering::Release);
        self.drop_all();
        self.signal.notify();
        self.queue.queue().wake();
    }

    /// Takes the refill lock (unless this thread is the refiller, inside a
    /// rebalance listener), so that no refill overlaps what follows.
    pub(super) fn exclusive(&self) -> Exclusive<'_> {
        let guard = if REFILLING.with(Cell::get) {
            None
        } else {
            Some(lock(&self.refill))
        };
        Exclusive { _guard: guard }
    }

    /// Reads what librdkafka has (without waiting) into the buffer. Returns
    /// how many messages it took, 0 when the queue was empty or the refill
    /// lock busy and `wait_for_lock` false.
    fn refill(&self, wait_for_lock: bool) -> Result<usize, RawError> {
        self.refill_into(wait_for_lock, BATCH, None)
    }

    /// A refill of up to `max` messages. With `out`, messages go straight
    /// into it (a batch read, called when the buffer is empty), up to the
    /// first consumer error; the error and what follows it are buffered.
    fn refill_into(
        &self,
        wait_for_lock: bool,
        max: usize,
        mut out: Option<&mut Vec<Message>>,
    ) -> Result<usize, RawError> {
        if REFILLING.with(Cell::get) {
            return Ok(0);
        }
        let _refill = if wait_for_lock {
            lock(&self.refill)
        } else {
            match self.refill.try_lock() {
                Ok(g) => g,
                Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
                Err(std::sync::TryLockError::WouldBlock) => return Ok(0),
            }
        };
        let since = {
            let mut s = lock(&self.state);
            s.refilling = true;
            s.dropped.clear();
            s.drops
        };
        // Locked on the first message, once librdkafka has returned: a
        // rebalance listener runs inside the call and may need the state.
        let mut state: Option<(MutexGuard<'_, Buffered>, bool)> = None;
        let mut to_buffer = out.is_none();
        let read = {
            let _refilling = Refilling::enter();
            self.queue.queue().consume_batch(Duration::ZERO, max, |m| {
                let (s, filter) = state.get_or_insert_with(|| {
                    let s = lock(&self.state);
                    let filter = s.drops != since || !s.paused.is_empty();
                    (s, filter)
                });
                if *filter && s.excludes(&m, since) {
                    return;
                }
                if m.err() != 0 {
                    to_buffer = true;
                }
                match out.as_deref_mut() {
                    Some(out) if !to_buffer => out.push(Message::new(m)),
                    _ => s.messages.push_back(m),
                }
            })
        };
        let mut s = match state {
            Some((s, _)) => s,
            None => lock(&self.state),
        };
        s.refilling = false;
        s.dropped.clear();
        drop(s);
        let n = read?;
        if n > 0 {
            // Someone who found the refill lock busy may be waiting.
            self.signal.notify();
        }
        Ok(n)
    }

    /// Stores `m`'s offset if it is a message and auto store is on. False
    /// when its partition is no longer assigned: it must not be handed out.
    fn store(&self, m: &NativeMessage) -> bool {
        if !self.auto_store || m.err() != 0 {
            return true;
        }
        match m.store_offset() {
            Ok(()) => true,
            Err(e) if e.code == code::STATE => false,
            Err(e) => {
                tracing::warn!(
                    "storing the offset of {} [{}] @{}: {}",
                    m.topic(),
                    m.partition(),
                    m.offset(),
                    e.message
                );
                true
            }
        }
    }

    /// The next message or consumer error, without waiting; `None` when
    /// there is none (or, with `wait_for_lock` false, when another thread is
    /// refilling: it notifies the signal when done).
    pub(super) fn try_next(&self, wait_for_lock: bool) -> Result<Option<NativeMessage>, RawError> {
        loop {
            if self.is_ended() {
                return Ok(None);
            }
            let popped = lock(&self.state).pop();
            if let Some(m) = popped {
                if self.store(&m) {
                    return Ok(Some(m));
                }
                continue;
            }
            if self.refill(wait_for_lock)? == 0 {
                return Ok(None);
            }
        }
    }

    /// Waits until `deadline` (None: no limit) for the next message or
    /// consumer error. `None` when the deadline passed or reading ended.
    pub(super) fn next_blocking(
        &self,
        deadline: Option<Instant>,
    ) -> Result<Option<NativeMessage>, RawError> {
        self.block(deadline, || self.try_next(true))
    }

    /// Calls `attempt` until it gives something, sleeping in between until
    /// the queue's hook signals that something arrived. `None` when the
    /// deadline passed or reading ended.
    pub(super) fn block<T>(
        &self,
        deadline: Option<Instant>,
        mut attempt: impl FnMut() -> Result<Option<T>, RawError>,
    ) -> Result<Option<T>, RawError> {
        let signal = &*self.signal;
        loop {
            if let Some(t) = attempt()? {
                return Ok(Some(t));
            }
            if self.is_ended() {
                return Ok(None);
            }
            let wait = match deadline {
                Some(d) => match d.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => left.min(RECHECK),
                    _ => return Ok(None),
                },
                None => RECHECK,
            };
            signal.blocked.fetch_add(1, Ordering::SeqCst);
            let seen = *lock(&signal.rounds);
            // Announced as blocked: whatever arrives from now on bumps the
            // rounds. Try once more for what came before.
            let again = attempt();
            if !matches!(again, Ok(None)) {
                signal.blocked.fetch_sub(1, Ordering::SeqCst);
                return again;
            }
            let rounds = lock(&signal.rounds);
            let _ = signal
                .cond
                .wait_timeout_while(rounds, wait, |r| *r == seen && !self.is_ended());
            signal.blocked.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Moves messages into `out`, until it holds `max`, without waiting.
    /// A consumer error ends a batch: it is taken only when `out` is empty.
    /// Their offsets are stored when the batch reaches the user
    /// ([`store_batch`](Self::store_batch)), not here.
    pub(super) fn take_batch(
        &self,
        max: usize,
        out: &mut Vec<Message>,
        wait_for_lock: bool,
    ) -> Result<Taken, RawError> {
        let start = out.len();
        let taken = loop {
            if self.is_ended() {
                break Taken::Drained;
            }
            let stopped = {
                let mut s = lock(&self.state);
                loop {
                    if out.len() >= max {
                        break Some(Taken::Full);
                    }
                    match s.messages.front() {
                        None => break None,
                        Some(m) if m.err() != 0 && out.is_empty() => {
                            break s.pop().map(Taken::Error);
                        }
                        Some(m) if m.err() != 0 => break Some(Taken::ErrorNext),
                        Some(_) => {}
                    }
                    if let Some(m) = s.messages.pop_front() {
                        out.push(Message::new(m));
                    }
                }
            };
            if let Some(taken) = stopped {
                break taken;
            }
            // The buffer is empty: read straight into the batch.
            let room = max - out.len();
            match self.refill_into(wait_for_lock, room, Some(out)) {
                Ok(0) => break Taken::Drained,
                Ok(_) => {}
                Err(e) => {
                    self.note_batch(&out[start..]);
                    return Err(e);
                }
            }
        };
        self.note_batch(&out[start..]);
        Ok(taken)
    }

    /// Records where the batch leaves each partition: its last message of
    /// each run of one partition.
    fn note_batch(&self, batch: &[Message]) {
        if batch.is_empty() {
            return;
        }
        let mut s = lock(&self.state);
        for (i, m) in batch.iter().enumerate() {
            let last = i + 1 == batch.len() || !batch[i + 1].native().same_partition(m.native());
            if last {
                s.note_handed(m.native());
            }
        }
    }

    /// Stores the offsets of a batch about to reach the user: the last
    /// message of each run of one partition is enough. Drops the runs of
    /// partitions no longer assigned.
    pub(super) fn store_batch(&self, out: &mut Vec<Message>) {
        if !self.auto_store {
            return;
        }
        let mut unassigned = Vec::new();
        let mut run = 0;
        for i in 0..out.len() {
            let last = i + 1 == out.len() || !out[i].native().same_partition(out[i + 1].native());
            if last {
                if !self.store(out[i].native()) {
                    unassigned.push(run..i + 1);
                }
                run = i + 1;
            }
        }
        for range in unassigned.into_iter().rev() {
            out.drain(range);
        }
    }

    /// Drops the buffered messages of `partitions`, and those a running
    /// refill reads. Returns, for each, the offset the user would have read
    /// next, when known. `forget`: the partitions left this reader (revoked,
    /// unassigned, split off), so their positions are forgotten too;
    /// otherwise a known position is kept as the next one.
    pub(super) fn drop_partitions(
        &self,
        partitions: &[(&str, i32)],
        forget: bool,
    ) -> Vec<Option<i64>> {
        let mut s = lock(&self.state);
        let positions: Vec<Option<i64>> =
            partitions.iter().map(|(t, p)| s.position(t, *p)).collect();
        s.messages
            .retain(|m| !partitions.iter().any(|(t, p)| is(m, t, *p)));
        for (t, p) in partitions {
            s.record_drop(Dropped::One(t.to_string(), *p));
        }
        if forget {
            s.handed.retain(|h| {
                !partitions
                    .iter()
                    .any(|(t, p)| h.partition == *p && h.topic == *t)
            });
        } else {
            for ((t, p), pos) in partitions.iter().zip(&positions) {
                if let Some(next) = pos {
                    match s
                        .handed
                        .iter_mut()
                        .find(|h| h.partition == *p && h.topic == *t)
                    {
                        Some(h) => h.next = *next,
                        None => s.handed.push(Handed {
                            topic: t.to_string(),
                            partition: *p,
                            next: *next,
                        }),
                    }
                }
            }
        }
        s.last = 0;
        positions
    }

    /// Drops every buffered message and forgets every position (the
    /// assignment was replaced or reading ended).
    pub(super) fn drop_all(&self) {
        let mut s = lock(&self.state);
        s.messages.clear();
        s.handed.clear();
        s.last = 0;
        s.record_drop(Dropped::All);
    }

    /// Marks partitions paused (true) or resumed: while paused, what a
    /// refill brings of them is dropped.
    pub(super) fn set_paused(&self, partitions: &[(&str, i32)], paused: bool) {
        let mut s = lock(&self.state);
        for (t, p) in partitions {
            let at = s.paused.iter().position(|(pt, pp)| pp == p && pt == t);
            match (paused, at) {
                (true, None) => s.paused.push((t.to_string(), *p)),
                (false, Some(i)) => {
                    s.paused.swap_remove(i);
                }
                _ => {}
            }
        }
    }

    /// The application reads these partitions next from these offsets (an
    /// assignment with explicit offsets): until their messages arrive,
    /// librdkafka's position still tells where the old assignment was.
    pub(super) fn start_at(&self, partitions: &[(&str, i32, i64)]) {
        let mut s = lock(&self.state);
        for (t, p, next) in partitions {
            s.handed.retain(|h| !(h.partition == *p && h.topic == *t));
            s.handed.push(Handed {
                topic: t.to_string(),
                partition: *p,
                next: *next,
            });
        }
    }

    /// Removes `partitions` from the drops the running refill applies (they
    /// were assigned again inside it).
    pub(super) fn undrop(&self, partitions: &[(&str, i32)]) {
        let mut s = lock(&self.state);
        s.dropped.retain(|d| match d {
            Dropped::All => true,
            Dropped::One(t, p) => !partitions.iter().any(|(pt, pp)| pp == p && pt == t),
        });
    }

    /// The offset the user reads next from a partition, when this reader
    /// knows it better than librdkafka does (it has buffered or handed out
    /// messages of the partition).
    pub(super) fn position(&self, topic: &str, partition: i32) -> Option<i64> {
        lock(&self.state).position(topic, partition)
    }
}
