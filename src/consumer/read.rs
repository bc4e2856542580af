//! Ways to read: a blocking iterator, an async stream, batch streams and a
//! read-until iterator.
//!
//! The async types never poll on a timer. They read with a zero timeout; when
//! the queue is empty they register their waker with the consumer queue's
//! wake-up hook, which librdkafka calls when the queue becomes non-empty, and
//! then read once more, so a message that arrived in between is not missed.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::Stream;
use futures_timer::Delay;

use super::{Consumer, Message, Offset};
use crate::Error;

/// How long a blocking read waits before checking whether the consumer was
/// closed from another thread (a close also wakes it at once).
const CLOSE_CHECK: Duration = Duration::from_secs(1);

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
        // Messages are usually waiting: a read without a timeout is cheaper
        // for librdkafka than a blocking one.
        match self.consumer.poll(Duration::ZERO) {
            Some(Err(Error::Closed(_))) => return None,
            Some(item) => return Some(item),
            None => {}
        }
        let deadline = self.idle.map(|d| Instant::now() + d);
        loop {
            if self.consumer.is_closed() {
                return None;
            }
            let wait = match deadline {
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return None;
                    }
                    (deadline - now).min(CLOSE_CHECK)
                }
                None => CLOSE_CHECK,
            };
            if let Some(item) = self.consumer.poll(wait) {
                if matches!(item, Err(Error::Closed(_))) {
                    return None;
                }
                return Some(item);
            }
        }
    }
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

    fn try_read(&self) -> Option<Result<Message, Error>> {
        self.consumer.poll(Duration::ZERO)
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
            if let Some(item) = this.try_read() {
                this.keepalive.reset();
                return Poll::Ready(Some(item));
            }
            this.consumer.inner.wakers.register(cx.waker());
            // The hook fires only when the queue goes from empty to
            // non-empty: read again now that the waker is registered.
            if this.consumer.is_closed() {
                return Poll::Ready(None);
            }
            if let Some(item) = this.try_read() {
                this.keepalive.reset();
                return Poll::Ready(Some(item));
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

    /// Reads what is available without waiting; true if anything came.
    fn fill(&mut self) -> Result<bool, Error> {
        let before = self.batch.len();
        let room = self.max - before;
        self.consumer
            .read_batch(Duration::ZERO, room, &mut self.batch)?;
        if before == 0 && !self.batch.is_empty() {
            self.timer = Some(Delay::new(self.within));
        }
        if self.batch.len() > before {
            self.keepalive.reset();
        }
        Ok(self.batch.len() > before)
    }

    fn take(&mut self) -> Vec<Message> {
        self.timer = None;
        std::mem::replace(&mut self.batch, Vec::with_capacity(self.max))
    }
}

impl Stream for BatchStream {
    type Item = Result<Vec<Message>, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if this.consumer.is_closed() {
                if this.batch.is_empty() {
                    return Poll::Ready(None);
                }
                return Poll::Ready(Some(Ok(this.take())));
            }
            if let Some(e) = this.consumer.take_pending() {
                if this.batch.is_empty() {
                    return Poll::Ready(Some(Err(e)));
                }
                // Deliver the messages read before the error first.
                this.consumer.inner.pending.push_front(e);
                return Poll::Ready(Some(Ok(this.take())));
            }
            if let Err(e) = this.fill() {
                return Poll::Ready(Some(Err(e)));
            }
            if this.batch.len() >= this.max {
                return Poll::Ready(Some(Ok(this.take())));
            }
            if let Some(timer) = this.timer.as_mut() {
                if Pin::new(timer).poll(cx).is_ready() {
                    return Poll::Ready(Some(Ok(this.take())));
                }
            }
            this.consumer.inner.wakers.register(cx.waker());
            match this.fill() {
                Err(e) => return Poll::Ready(Some(Err(e))),
                // More came in between: go round again.
                Ok(true) => continue,
                Ok(false) => {
                    if this.consumer.inner.pending.is_empty()
                        && !this.keepalive.fired(this.consumer.inner.keepalive, cx)
                    {
                        return Poll::Pending;
                    }
                }
            }
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
