//! Ways to read: a blocking iterator, an async stream, batch streams,
//! partition streams and a read-until iterator, all through the read
//! buffers of `reader`.
//!
//! The async types never poll on a timer. They read without waiting; when
//! nothing is there they register their waker with the queue's signal, which
//! librdkafka's hook fires when the queue becomes non-empty, and then read
//! once more, so a message that arrived in between is not missed.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::Stream;
use futures_timer::Delay;

use super::reader::{Reader, Taken};
use super::{Consumer, Message, Offset};
use crate::native::{NativeMessage, RawError};
use crate::Error;

/// A blocking iterator over a consumer's messages; see [`Consumer::iter`].
pub struct Iter<'a> {
    consumer: &'a Consumer,
    idle: Option<Duration>,
}

impl<'a> Iter<'a> {
    pub(super) fn new(consumer: &'a Consumer) -> Self {
        Iter {
            consumer,
            idle: None,
        }
    }

    /// Ends the iteration when no message or error came for `idle`
    /// (kafka-python's `consumer_timeout_ms`).
    pub fn idle_timeout(mut self, idle: Duration) -> Self {
        self.idle = Some(idle);
        self
    }
}

impl Iterator for Iter<'_> {
    type Item = Result<Message, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        let deadline = self.idle.and_then(|d| Instant::now().checked_add(d));
        if self.consumer.is_closed() {
            return None;
        }
        match self.consumer.inner.main.next_blocking(deadline) {
            Ok(Some(m)) => Some(self.consumer.wrap(m)),
            Ok(None) => None,
            Err(e) => Some(Err(Error::kafka("consume", e))),
        }
    }
}

/// One non-waiting read of `reader` for an async stream: a message, an
/// error, or nothing, in which case the waker is registered and the reader
/// read once more.
fn poll_reader(
    consumer: &Consumer,
    reader: &Reader,
    cx: &mut Context<'_>,
) -> Option<Result<Message, Error>> {
    let item = |read: Result<Option<NativeMessage>, RawError>| match read {
        Ok(Some(m)) => Some(consumer.wrap(m)),
        Ok(None) => None,
        Err(e) => Some(Err(Error::kafka("consume", e))),
    };
    if let Some(found) = item(reader.try_next(false)) {
        return Some(found);
    }
    reader.signal().register(cx.waker());
    // The hook fires only when the queue goes from empty to non-empty: read
    // again now that the waker is registered.
    item(reader.try_next(false))
}

/// An async stream of a consumer's messages; see [`Consumer::stream`].
///
/// Cancellation safe: a message is only taken from librdkafka inside a poll
/// that returns it, so dropping a pending `next()` loses nothing.
pub struct MessageStream {
    consumer: Consumer,
    keepalive: Keepalive,
}

/// While a stream waits, librdkafka sees no poll; past
/// `max.poll.interval.ms` it would leave the group. A timer at half that
/// interval makes the waiting task read (and so poll) again.
#[derive(Default)]
struct Keepalive(Option<Delay>);

impl Keepalive {
    /// Arms the timer if needed; true if it fired (the caller reads again).
    fn fired(&mut self, every: Duration, cx: &mut Context<'_>) -> bool {
        let timer = self.0.get_or_insert_with(|| Delay::new(every));
        if Pin::new(timer).poll(cx).is_ready() {
            self.0 = None;
            true
        } else {
            false
        }
    }

    fn reset(&mut self) {
        self.0 = None;
    }
}

impl MessageStream {
    pub(super) fn new(consumer: Consumer) -> Self {
        MessageStream {
            consumer,
            keepalive: Keepalive::default(),
        }
    }

    /// The consumer this stream reads from.
    pub fn consumer(&self) -> &Consumer {
        &self.consumer
    }
}

impl Stream for MessageStream {
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if this.consumer.is_closed() {
                return Poll::Ready(None);
            }
            if let Some(item) = poll_reader(&this.consumer, &this.consumer.inner.main, cx) {
                this.keepalive.reset();
                return Poll::Ready(Some(item));
            }
            if this.consumer.is_closed() {
                return Poll::Ready(None);
            }
            if !this.keepalive.fired(this.consumer.inner.keepalive, cx) {
                return Poll::Pending;
            }
        }
    }
}

/// An async stream of message batches; see [`Consumer::batches`].
pub struct BatchStream {
    consumer: Consumer,
    max: usize,
    within: Duration,
    batch: Vec<Message>,
    /// Started with the batch's first message.
    timer: Option<Delay>,
    keepalive: Keepalive,
}

impl BatchStream {
    pub(super) fn new(consumer: Consumer, max: usize, within: Duration) -> Self {
        let max = max.max(1);
        BatchStream {
            consumer,
            max,
            within,
            batch: Vec::with_capacity(max),
            timer: None,
            keepalive: Keepalive::default(),
        }
    }

    /// Reads what is there without waiting.
    fn fill(&mut self) -> Result<Taken, Error> {
        let before = self.batch.len();
        let taken = self
            .consumer
            .inner
            .main
            .take_batch(self.max, &mut self.batch, false)
            .map_err(|e| Error::kafka("consume batch", e))?;
        if before == 0 && !self.batch.is_empty() {
            self.timer = Some(Delay::new(self.within));
        }
        if self.batch.len() > before {
            self.keepalive.reset();
        }
        Ok(taken)
    }

    /// The batch, handed to the user: its offsets are stored now.
    fn take(&mut self) -> Vec<Message> {
        self.timer = None;
        let mut batch = std::mem::replace(&mut self.batch, Vec::with_capacity(self.max));
        self.consumer.inner.main.store_batch(&mut batch);
        batch
    }
}

impl Stream for BatchStream {
    type Item = Result<Vec<Message>, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let mut registered = false;
        loop {
            if this.consumer.is_closed() {
                if this.batch.is_empty() {
                    return Poll::Ready(None);
                }
                return Poll::Ready(Some(Ok(this.take())));
            }
            let before = this.batch.len();
            match this.fill() {
                Err(e) => return Poll::Ready(Some(Err(e))),
                Ok(Taken::Error(m)) => return Poll::Ready(Some(Err(this.consumer.wrap_err(m)))),
                // An error waits behind the batch: the batch goes first.
                Ok(Taken::Full | Taken::ErrorNext) => return Poll::Ready(Some(Ok(this.take()))),
                Ok(Taken::Drained) => {}
            }
            if let Some(timer) = this.timer.as_mut() {
                if Pin::new(timer).poll(cx).is_ready() {
                    return Poll::Ready(Some(Ok(this.take())));
                }
            }
            if registered && this.batch.len() == before {
                if this.keepalive.fired(this.consumer.inner.keepalive, cx) {
                    registered = false;
                    continue;
                }
                return Poll::Pending;
            }
            // Register, then read once more before sleeping (the hook fires
            // only when the queue goes from empty to non-empty).
            this.consumer.inner.main.signal().register(cx.waker());
            registered = true;
        }
    }
}

impl Drop for BatchStream {
    /// A partial batch is given back: its partitions are rewound to their
    /// first unread message, so a dropped stream loses nothing.
    fn drop(&mut self) {
        if self.batch.is_empty() || self.consumer.is_closed() {
            return;
        }
        let mut first: HashMap<(&str, i32), i64> = HashMap::new();
        for m in &self.batch {
            let e = first
                .entry((m.topic(), m.partition()))
                .or_insert(m.offset());
            *e = (*e).min(m.offset());
        }
        let offsets: Vec<(&str, i32, Offset)> = first
            .into_iter()
            .map(|((t, p), o)| (t, p, Offset::At(o)))
            .collect();
        if let Err(e) = self
            .consumer
            .seek_partitions(&offsets, Duration::from_secs(5))
        {
            tracing::warn!("rewinding a dropped partial batch failed: {e}");
        }
    }
}

/// An async stream of one partition's messages; see
/// [`Consumer::partition_stream`].
///
/// It ends when the partition is revoked, lost or unassigned, or the
/// consumer closes. Cancellation safe, like [`MessageStream`].
pub struct PartitionStream {
    consumer: Consumer,
    topic: String,
    partition: i32,
    reader: Arc<Reader>,
}

impl PartitionStream {
    pub(super) fn new(
        consumer: Consumer,
        topic: &str,
        partition: i32,
        reader: Arc<Reader>,
    ) -> Self {
        PartitionStream {
            consumer,
            topic: topic.to_string(),
            partition,
            reader,
        }
    }

    /// The partition's topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The partition.
    pub fn partition(&self) -> i32 {
        self.partition
    }

    /// The consumer this stream reads from.
    pub fn consumer(&self) -> &Consumer {
        &self.consumer
    }
}

impl Stream for PartitionStream {
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.consumer.is_closed() || this.reader.is_ended() {
            return Poll::Ready(None);
        }
        match poll_reader(&this.consumer, &this.reader, cx) {
            Some(item) => Poll::Ready(Some(item)),
            None if this.reader.is_ended() => Poll::Ready(None),
            None => Poll::Pending,
        }
    }
}

impl Drop for PartitionStream {
    /// Hands the partition back to the consumer's other reads, if it is
    /// still assigned.
    fn drop(&mut self) {
        self.consumer.drop_split(&self.reader);
    }
}

impl std::fmt::Debug for PartitionStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartitionStream")
            .field("topic", &self.topic)
            .field("partition", &self.partition)
            .finish_non_exhaustive()
    }
}

/// A blocking iterator that stops at given offsets; see
/// [`Consumer::read_until`].
pub struct ReadUntil<'a> {
    consumer: &'a Consumer,
    /// Partitions still to reach their target (exclusive end offset).
    remaining: HashMap<(String, i32), i64>,
    /// Partitions this iterator paused, resumed when it ends.
    paused: Vec<(String, i32)>,
    idle: Option<Duration>,
    done: bool,
}

impl<'a> ReadUntil<'a> {
    pub(super) fn new(consumer: &'a Consumer, targets: &[(&str, i32, i64)]) -> Result<Self, Error> {
        let mut remaining = HashMap::new();
        let partitions: Vec<(&str, i32)> = targets.iter().map(|(t, p, _)| (*t, *p)).collect();
        let positions = consumer.position(&partitions)?;
        let mut unknown = Vec::new();
        for ((topic, partition, target), pos) in targets.iter().zip(&positions) {
            match pos.offset {
                Offset::At(p) if p >= *target => {}
                Offset::At(_) => {
                    remaining.insert((topic.to_string(), *partition), *target);
                }
                _ if *target <= 0 => {}
                _ => unknown.push((*topic, *partition, *target)),
            }
        }
        if !unknown.is_empty() {
            // No position yet: the read starts at the committed offset, if
            // any; a partition committed at or past its target is done.
            let parts: Vec<(&str, i32)> = unknown.iter().map(|(t, p, _)| (*t, *p)).collect();
            let committed = consumer
                .committed(&parts, Duration::from_secs(10))
                .unwrap_or_default();
            for (topic, partition, target) in unknown {
                let done = committed.iter().any(|c| {
                    c.topic == topic
                        && c.partition == partition
                        && matches!(c.offset, Offset::At(o) if o >= target)
                });
                if !done {
                    remaining.insert((topic.to_string(), partition), target);
                }
            }
        }
        Ok(ReadUntil {
            consumer,
            remaining,
            paused: Vec::new(),
            idle: None,
            done: false,
        })
    }

    /// Also ends the iteration when no message came for `idle`.
    pub fn idle_timeout(mut self, idle: Duration) -> Self {
        self.idle = Some(idle);
        self
    }

    /// Partitions that have not reached their target yet.
    pub fn remaining(&self) -> Vec<(String, i32, i64)> {
        self.remaining
            .iter()
            .map(|((t, p), o)| (t.clone(), *p, *o))
            .collect()
    }

    fn finish(&mut self) {
        if self.done {
            return;
        }
        self.done = true;
        if self.paused.is_empty() || self.consumer.is_closed() {
            return;
        }
        let parts: Vec<(&str, i32)> = self.paused.iter().map(|(t, p)| (t.as_str(), *p)).collect();
        if let Err(e) = self.consumer.resume(&parts) {
            tracing::warn!("resuming partitions after read_until: {e}");
        }
    }

    fn reached(&mut self, message: &Message) {
        let key = (message.topic().to_string(), message.partition());
        if let Some(target) = self.remaining.get(&key) {
            if message.offset() + 1 >= *target {
                self.remaining.remove(&key);
                let part = [(key.0.as_str(), key.1)];
                match self.consumer.pause(&part) {
                    Ok(()) => self.paused.push(key),
                    Err(e) => tracing::warn!("pausing a finished partition: {e}"),
                }
            }
        }
    }
}

impl Iterator for ReadUntil<'_> {
    type Item = Result<Message, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if self.remaining.is_empty() {
            self.finish();
            return None;
        }
        let mut iter = self.consumer.iter();
        if let Some(idle) = self.idle {
            iter = iter.idle_timeout(idle);
        }
        loop {
            match iter.next() {
                None => {
                    self.finish();
                    return None;
                }
                Some(Ok(message)) => {
                    self.reached(&message);
                    return Some(Ok(message));
                }
                // The end of a partition is not news here.
                Some(Err(Error::PartitionEof { .. })) => continue,
                Some(Err(e)) => return Some(Err(e)),
            }
        }
    }
}

impl Drop for ReadUntil<'_> {
    fn drop(&mut self) {
        self.finish();
    }
}
