//! An agent's view of one partition: the stream of decoded events, the
//! acknowledgement of each event when the next is asked for, and the
//! commit gate that keeps exactly-once commits between events.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use futures::future::BoxFuture;
use futures::{Stream, StreamExt};
use tokio::sync::OwnedRwLockReadGuard;

use super::{AgentFn, Core, PartState, Table, TablePartition, WindowedPartition, WindowedTable};
use crate::{DeadLetter, DecodeError, Error, PartitionStream, Topic, TypedMessage, TypedTopic};

/// One decoded input event: its key, its value and the consumed message
/// (topic, partition, offset, headers, timestamp).
pub type Event<K, V> = TypedMessage<K, V>;

/// A declared agent.
pub(crate) struct AgentSpec {
    pub(crate) name: String,
    pub(crate) topic: String,
    pub(crate) run: AgentFn,
}

/// What the app hands an agent task for one partition.
pub(crate) struct PartitionInput {
    pub(crate) core: Arc<Core>,
    pub(crate) part: Arc<PartState>,
    pub(crate) stream: PartitionStream,
}

type GateFuture = Pin<Box<dyn Future<Output = OwnedRwLockReadGuard<()>> + Send>>;

/// The partition's messages, decoded, and the commit gate.
struct Source<K, V> {
    topic: TypedTopic<K, V>,
    dead_letters: Option<Topic>,
    input: PartitionInput,
    /// Held from the moment an event is handed out until the next one is
    /// asked for: an exactly-once commit (or a revocation) waits for every
    /// agent to be between events.
    guard: Option<OwnedRwLockReadGuard<()>>,
    acquiring: Option<GateFuture>,
    /// The offset to acknowledge, and how many events, when the guard is
    /// released.
    ack: (i64, u64),
}

/// What one read of the partition gave.
enum Pulled<K, V> {
    Event(Event<K, V>),
    Bad(DecodeError),
    Error(Error),
    End,
}

impl<K: 'static, V: 'static> Source<K, V> {
    fn new(topic: TypedTopic<K, V>, dead_letters: Option<Topic>, input: PartitionInput) -> Self {
        Source {
            topic,
            dead_letters,
            input,
            guard: None,
            acquiring: None,
            ack: (-1, 0),
        }
    }

    /// The agent finished what it was handed: acknowledge it.
    fn release(&mut self) {
        if let Some(guard) = self.guard.take() {
            let (offset, n) = self.ack;
            self.input.part.acked.store(offset, Ordering::Release);
            self.input
                .core
                .state
                .acknowledged
                .fetch_add(n, Ordering::Relaxed);
            drop(guard);
        }
    }

    /// Whether the partition was revoked or the app is stopping.
    fn stopped(&self) -> bool {
        self.input.part.revoked.load(Ordering::Acquire) || self.input.core.state.is_stopping()
    }

    fn poll_pull(&mut self, cx: &mut Context<'_>) -> Poll<Pulled<K, V>> {
        loop {
            return Poll::Ready(match ready!(self.input.stream.poll_next_unpin(cx)) {
                None => Pulled::End,
                // The end of a partition is not an event.
                Some(Err(Error::PartitionEof { .. })) => continue,
                Some(Err(e)) => Pulled::Error(e),
                Some(Ok(m)) => match self.topic.decode(m) {
                    Ok(event) => Pulled::Event(event),
                    Err(bad) => Pulled::Bad(bad),
                },
            });
        }
    }

    /// Takes the commit gate; false when the partition was revoked or the
    /// app stops meanwhile (what was read is then not handed out, and not
    /// acknowledged).
    fn poll_admit(&mut self, cx: &mut Context<'_>) -> Poll<bool> {
        if self.guard.is_none() {
            if self.acquiring.is_none() {
                let gate = self.input.core.state.gate.clone();
                match gate.clone().try_read_owned() {
                    Ok(guard) => self.guard = Some(guard),
                    Err(_) => self.acquiring = Some(Box::pin(gate.read_owned())),
                }
            }
            if let Some(acquiring) = self.acquiring.as_mut() {
                let guard = ready!(acquiring.as_mut().poll(cx));
                self.acquiring = None;
                self.guard = Some(guard);
            }
        }
        if self.stopped() {
            self.guard = None;
            return Poll::Ready(false);
        }
        Poll::Ready(true)
    }

    /// What happens to an event that does not decode, once admitted: the
    /// dead-letter record is sent (or the event is logged and skipped),
    /// and it is acknowledged with the next release.
    fn dead_letter(&mut self, bad: DecodeError) -> BoxFuture<'static, Result<(), Error>> {
        let m = bad.message();
        self.ack = (m.offset() + 1, 0);
        match self.dead_letters {
            Some(topic) => {
                let record = DeadLetter::new(self.input.core.producer.clone(), topic).record(&bad);
                let core = self.input.core.clone();
                Box::pin(async move { core.send(record).await })
            }
            None => {
                tracing::warn!(
                    topic = m.topic(),
                    partition = m.partition(),
                    offset = m.offset(),
                    "skipping an event that does not decode (the agent has no dead-letter \
                     topic): {}",
                    bad.error()
                );
                Box::pin(async { Ok(()) })
            }
        }
    }

    fn table<K2: 'static, V2: 'static>(
        &self,
        table: &Table<K2, V2>,
    ) -> Result<TablePartition<K2, V2>, Error> {
        table.partition_for(&self.input.part.topic, self.input.part.partition)
    }
}

impl<K, V> Drop for Source<K, V> {
    /// An agent that stops reading keeps its last event unacknowledged
    /// here; its task acknowledges it when the agent returns `Ok`.
    fn drop(&mut self) {
        if self.guard.take().is_some() {
            let (offset, n) = self.ack;
            self.input.part.pending.store(offset, Ordering::Release);
            self.input.part.pending_count.store(n, Ordering::Release);
        }
    }
}

/// Where an [`AgentStream`] or a [`Batches`] is.
enum Phase<T> {
    /// Reading the next event.
    Read,
    /// Waiting for the commit gate before handing `T` out.
    Admit(T),
    /// Sending a dead letter, the gate held.
    DeadLetter(BoxFuture<'static, Result<(), Error>>),
    Done,
}

/// An agent's stream of one partition's decoded events, in offset order.
///
/// Asking for the next event acknowledges the previous one: its offset may
/// then be committed (once what the agent sent for it is delivered, or in
/// the same transaction). An agent that returns `Ok` acknowledges the last
/// event it was given; one that returns an error or panics does not.
/// Combinators that only look at one event at a time (`filter`, `map`,
/// `then`) keep this meaning; ones that run events concurrently
/// (`buffer_unordered`) would acknowledge events before they are done.
///
/// Events whose key or value does not decode go to the agent's dead-letter
/// topic, or are logged and skipped; errors of the consumer come as `Err`.
/// The stream ends when the partition is revoked or the app stops.
pub struct AgentStream<K, V> {
    source: Source<K, V>,
    phase: Phase<Pulled<K, V>>,
}

impl<K: 'static, V: 'static> AgentStream<K, V> {
    pub(crate) fn new(
        topic: TypedTopic<K, V>,
        dead_letters: Option<Topic>,
        input: PartitionInput,
    ) -> Self {
        AgentStream {
            source: Source::new(topic, dead_letters, input),
            phase: Phase::Read,
        }
    }

    /// The input topic.
    pub fn topic(&self) -> &str {
        &self.source.input.part.topic
    }

    /// The partition this stream reads.
    pub fn partition(&self) -> i32 {
        self.source.input.part.partition
    }

    /// This partition's part of `table` (declared with this stream's topic
    /// as its source), restored before the agent started.
    pub fn table<K2: 'static, V2: 'static>(
        &self,
        table: &Table<K2, V2>,
    ) -> Result<TablePartition<K2, V2>, Error> {
        self.source.table(table)
    }

    /// This partition's part of the windowed `table` (declared with this
    /// stream's topic as its source), restored before the agent started.
    pub fn windowed<K2: 'static, V2: 'static>(
        &self,
        table: &WindowedTable<K2, V2>,
    ) -> Result<WindowedPartition<K2, V2>, Error> {
        Ok(table.partition(self.source.table(&table.table)?))
    }

    /// Batches of at most `max` events, each handed out once it is full or
    /// `within` after its first event arrived, whichever comes first
    /// (Faust's `stream.take(max, within)`). A batch is acknowledged when
    /// the next one is asked for.
    pub fn take(self, max: usize, within: Duration) -> Batches<K, V> {
        Batches {
            source: self.source,
            phase: Phase::Read,
            max: max.max(1),
            within,
            batch: Vec::new(),
            deadline: None,
            held_back: None,
        }
    }
}

// Nothing of a stream is pinned in place (its futures are boxed), and
// events are only moved out, never borrowed across polls.
impl<K, V> Unpin for AgentStream<K, V> {}
impl<K, V> Unpin for Batches<K, V> {}

impl<K: 'static, V: 'static> Stream for AgentStream<K, V> {
    type Item = Result<Event<K, V>, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            match &mut this.phase {
                Phase::Read => {
                    this.source.release();
                    if this.source.stopped() {
                        this.phase = Phase::Done;
                        continue;
                    }
                    match ready!(this.source.poll_pull(cx)) {
                        Pulled::End => this.phase = Phase::Done,
                        Pulled::Error(e) => return Poll::Ready(Some(Err(e))),
                        pulled => this.phase = Phase::Admit(pulled),
                    }
                }
                Phase::Admit(_) => {
                    if !ready!(this.source.poll_admit(cx)) {
                        this.phase = Phase::Done;
                        continue;
                    }
                    match std::mem::replace(&mut this.phase, Phase::Read) {
                        Phase::Admit(Pulled::Event(event)) => {
                            this.source.ack = (event.message().offset() + 1, 1);
                            return Poll::Ready(Some(Ok(event)));
                        }
                        Phase::Admit(Pulled::Bad(bad)) => {
                            this.phase = Phase::DeadLetter(this.source.dead_letter(bad));
                        }
                        _ => {}
                    }
                }
                Phase::DeadLetter(sending) => {
                    let sent = ready!(sending.as_mut().poll(cx));
                    this.phase = Phase::Read;
                    if let Err(e) = sent {
                        this.source.guard = None;
                        return Poll::Ready(Some(Err(e)));
                    }
                }
                Phase::Done => {
                    this.source.guard = None;
                    return Poll::Ready(None);
                }
            }
        }
    }
}

impl<K, V> fmt::Debug for AgentStream<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgentStream")
            .field("topic", &self.source.input.part.topic)
            .field("partition", &self.source.input.part.partition)
            .finish_non_exhaustive()
    }
}

/// What a [`Batches`] hands out once admitted.
enum Out<K, V> {
    Batch(Vec<Event<K, V>>),
    Bad(DecodeError),
}

/// Batches of an agent's events; see [`AgentStream::take`].
pub struct Batches<K, V> {
    source: Source<K, V>,
    phase: Phase<Out<K, V>>,
    max: usize,
    within: Duration,
    batch: Vec<Event<K, V>>,
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
    /// What ended a batch early, handed out after it.
    held_back: Option<Pulled<K, V>>,
}

impl<K: 'static, V: 'static> Batches<K, V> {
    /// The input topic.
    pub fn topic(&self) -> &str {
        &self.source.input.part.topic
    }

    /// The partition these batches come from.
    pub fn partition(&self) -> i32 {
        self.source.input.part.partition
    }

    /// This partition's part of `table`; see [`AgentStream::table`].
    pub fn table<K2: 'static, V2: 'static>(
        &self,
        table: &Table<K2, V2>,
    ) -> Result<TablePartition<K2, V2>, Error> {
        self.source.table(table)
    }

    /// This partition's part of the windowed `table`; see
    /// [`AgentStream::windowed`].
    pub fn windowed<K2: 'static, V2: 'static>(
        &self,
        table: &WindowedTable<K2, V2>,
    ) -> Result<WindowedPartition<K2, V2>, Error> {
        Ok(table.partition(self.source.table(&table.table)?))
    }

    /// Reads until the batch is full, `within` has passed since its first
    /// event, or something other than an event arrives. Ready(true): hand
    /// the batch out.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<bool> {
        loop {
            match self.source.poll_pull(cx) {
                Poll::Ready(Pulled::Event(event)) => {
                    if self.batch.is_empty() {
                        let at = tokio::time::Instant::now() + self.within;
                        match self.deadline.as_mut() {
                            Some(sleep) => sleep.as_mut().reset(at),
                            None => self.deadline = Some(Box::pin(tokio::time::sleep_until(at))),
                        }
                    }
                    self.batch.push(event);
                    if self.batch.len() >= self.max {
                        return Poll::Ready(true);
                    }
                }
                Poll::Ready(other) => {
                    let empty = self.batch.is_empty();
                    self.held_back = Some(other);
                    return Poll::Ready(!empty);
                }
                Poll::Pending => {
                    if let (false, Some(sleep)) = (self.batch.is_empty(), self.deadline.as_mut()) {
                        if sleep.as_mut().poll(cx).is_ready() {
                            return Poll::Ready(true);
                        }
                    }
                    return Poll::Pending;
                }
            }
        }
    }
}

impl<K: 'static, V: 'static> Stream for Batches<K, V> {
    type Item = Result<Vec<Event<K, V>>, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            match &mut this.phase {
                Phase::Read => {
                    this.source.release();
                    if this.source.stopped() {
                        this.phase = Phase::Done;
                        continue;
                    }
                    match this.held_back.take() {
                        Some(Pulled::End) => this.phase = Phase::Done,
                        Some(Pulled::Error(e)) => return Poll::Ready(Some(Err(e))),
                        Some(Pulled::Bad(bad)) => this.phase = Phase::Admit(Out::Bad(bad)),
                        Some(Pulled::Event(event)) => this.batch.push(event),
                        None => {
                            if ready!(this.poll_fill(cx)) {
                                let batch = std::mem::take(&mut this.batch);
                                this.phase = Phase::Admit(Out::Batch(batch));
                            }
                        }
                    }
                }
                Phase::Admit(_) => {
                    if !ready!(this.source.poll_admit(cx)) {
                        this.phase = Phase::Done;
                        continue;
                    }
                    match std::mem::replace(&mut this.phase, Phase::Read) {
                        Phase::Admit(Out::Batch(batch)) => {
                            let last = batch.last().map_or(-1, |e| e.message().offset());
                            this.source.ack = (last + 1, batch.len() as u64);
                            return Poll::Ready(Some(Ok(batch)));
                        }
                        Phase::Admit(Out::Bad(bad)) => {
                            this.phase = Phase::DeadLetter(this.source.dead_letter(bad));
                        }
                        _ => {}
                    }
                }
                Phase::DeadLetter(sending) => {
                    let sent = ready!(sending.as_mut().poll(cx));
                    this.phase = Phase::Read;
                    if let Err(e) = sent {
                        this.source.guard = None;
                        return Poll::Ready(Some(Err(e)));
                    }
                }
                Phase::Done => {
                    this.source.guard = None;
                    return Poll::Ready(None);
                }
            }
        }
    }
}

impl<K, V> fmt::Debug for Batches<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Batches")
            .field("topic", &self.source.input.part.topic)
            .field("partition", &self.source.input.part.partition)
            .field("max", &self.max)
            .field("within", &self.within)
            .finish_non_exhaustive()
    }
}
