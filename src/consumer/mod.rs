//! The consumer: [`Consumer`], [`Message`], iterators, streams and batches.

mod buffers;
mod builder;
mod commit;
mod message;
mod offsets;
mod read;
mod reader;
mod types;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use builder::ConsumerBuilder;
pub use commit::CommitFuture;
pub use message::Message;
pub use read::{BatchStream, Iter, MessageStream, PartitionStream, ReadUntil};
pub use types::{
    ConsumerGroupMetadata, Offset, PartitionOffset, RebalanceListener, TopicPartition,
};

use crate::client::{ClientCore, Dispatch, Handlers};
use crate::config::ClientConfig;
use crate::native::{code, event_type, NativeEvent, NativeMessage, RawError, TopicPartitionList};
use crate::statistics::Statistics;
use crate::{Error, KafkaError};
use commit::Commits;
use reader::{Reader, Taken};

/// What the consumer's dispatcher thread and its handles share: the client.
pub(crate) struct Shared {
    core: ClientCore,
    stop: AtomicBool,
    commits: Commits,
}

impl Dispatch for Shared {
    fn core(&self) -> &ClientCore {
        &self.core
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }

    fn serve(&self, event: NativeEvent) {
        if event.kind() == event_type::OFFSET_COMMIT {
            self.commits.complete(&event);
        } else {
            self.core.handle_event(&event);
        }
    }
}

/// The state behind every handle of one consumer.
struct Inner {
    /// The consumer queue and its read buffer.
    main: Reader,
    /// Partitions read through their own [`PartitionStream`].
    split: Mutex<Vec<Split>>,
    shared: Arc<Shared>,
    dispatcher: Mutex<Option<std::thread::JoinHandle<()>>>,
    handles: AtomicUsize,
    /// Set when closing starts: reads end.
    closing: AtomicBool,
    /// Set when closing is done: every operation fails.
    closed: AtomicBool,
    close_timeout: Duration,
    /// How often a waiting stream re-polls librdkafka (half of
    /// `max.poll.interval.ms`), so that an idle but attentive stream is not
    /// taken for a stuck application and removed from its group.
    keepalive: Duration,
    /// Partitions paused through this consumer.
    paused: Mutex<BTreeSet<TopicPartition>>,
    /// `enable.auto.offset.store` as the user set it: kafkit then stores
    /// each message's offset when it hands the message out.
    auto_store: bool,
    /// Set by stream processing, whose listener splits every assigned
    /// partition: the queues of partitions being assigned are held apart
    /// until `on_assigned` returned (see the rebalance hook).
    hold_assigned: AtomicBool,
}

/// A partition read through its own queue and buffer.
struct Split {
    topic: String,
    partition: i32,
    reader: Arc<Reader>,
}

/// A Kafka consumer in a consumer group.
///
/// Read with [`poll`](Self::poll), a blocking [`iter`](Self::iter) (with an
/// optional idle timeout), an async [`stream`](Self::stream), or in batches
/// ([`consume_batch`](Self::consume_batch), [`batches`](Self::batches)).
/// [`Message`]s are owned and zero-copy, and may outlive the consumer.
///
/// Handles are cheap to clone and may be used from several threads. Logs,
/// errors and statistics are served on a background thread, so they never
/// take a poll's wake-up away from messages.
///
/// Dropping the last handle closes the consumer as [`close`](Self::close)
/// does: it leaves the group, committing offsets when auto commit is on, for
/// at most `kafkit.close.timeout.ms` (10 s by default), so a drop never
/// hangs, even with the brokers gone.
///
/// ```no_run
/// # fn demo() -> Result<(), kafkit::Error> {
/// use std::time::Duration;
/// use kafkit::{ClientConfig, Consumer};
///
/// let mut config = ClientConfig::new();
/// config.bootstrap_servers("127.0.0.1:9092")?.group_id("readers")?;
/// let consumer = Consumer::new(&config)?;
/// consumer.subscribe(&["events"])?;
/// for message in consumer.iter().idle_timeout(Duration::from_secs(5)) {
///     let message = message?;
///     println!("{} [{}] @{}: {:?}", message.topic(), message.partition(),
///              message.offset(), message.value_str());
/// }
/// consumer.close()?;
/// # Ok(()) }
/// ```
pub struct Consumer {
    inner: Arc<Inner>,
    /// False for the temporary handle given to a rebalance listener, which
    /// does not count as a user handle.
    owner: bool,
}

fn kafka(op: &'static str) -> impl FnOnce(RawError) -> Error {
    move |e| Error::kafka(op, e)
}

fn list_of<'a>(
    entries: impl IntoIterator<Item = (&'a str, i32, i64)>,
) -> Result<TopicPartitionList, Error> {
    TopicPartitionList::from_entries(entries).map_err(kafka("build partition list"))
}

fn partitions_list(partitions: &[(&str, i32)]) -> Result<TopicPartitionList, Error> {
    list_of(
        partitions
            .iter()
            .map(|(t, p)| (*t, *p, Offset::Invalid.raw())),
    )
}

fn offsets_list(partitions: &[(&str, i32, Offset)]) -> Result<TopicPartitionList, Error> {
    list_of(partitions.iter().map(|(t, p, o)| (*t, *p, o.raw())))
}

impl Consumer {
    /// Creates a consumer. `group.id` must be set.
    pub fn new(config: &ClientConfig) -> Result<Self, Error> {
        Self::builder(config).build()
    }

    /// A builder, to add a rebalance listener and error and statistics
    /// callbacks.
    pub fn builder(config: &ClientConfig) -> ConsumerBuilder {
        ConsumerBuilder {
            config: config.clone(),
            handlers: Handlers::default(),
            listener: None,
        }
    }

    /// Creates a consumer whose statistics reports are passed to `f`.
    pub fn with_statistics(
        config: &ClientConfig,
        f: impl Fn(&Statistics) + Send + Sync + 'static,
    ) -> Result<Self, Error> {
        Self::builder(config).on_statistics(f).build()
    }

    /// The librdkafka client, for admin requests on this consumer.
    pub(crate) fn native_client(&self) -> &crate::native::NativeClient {
        self.native()
    }

    fn native(&self) -> &crate::native::NativeClient {
        &self.inner.shared.core.native
    }

    /// Fails once closing is complete (a rebalance listener running during
    /// `close` may still commit).
    fn check_open(&self) -> Result<(), Error> {
        if self.inner.closed.load(Ordering::Acquire) {
            Err(Error::Closed("consumer"))
        } else {
            Ok(())
        }
    }

    /// Whether [`close`](Self::close) has been called.
    pub fn is_closed(&self) -> bool {
        self.inner.closing.load(Ordering::Acquire)
    }

    /// The client's instance name.
    pub fn name(&self) -> &str {
        &self.inner.shared.core.name
    }

    /// Subscribes to topics by name; names starting with `^` are regular
    /// expressions. Replaces the previous subscription. A topic that does not
    /// exist is reported as an error from the reads (code
    /// [`UnknownTopicOrPart`](crate::ErrorCode::UnknownTopicOrPart)).
    pub fn subscribe(&self, topics: &[&str]) -> Result<(), Error> {
        self.check_open()?;
        if topics.is_empty() {
            return Err(Error::InvalidArgument(
                "subscribe needs at least one topic".into(),
            ));
        }
        if let Some(t) = topics.iter().find(|t| t.is_empty()) {
            return Err(Error::InvalidArgument(format!(
                "empty topic name in subscription {topics:?} (at {t:?})"
            )));
        }
        self.native().subscribe(topics).map_err(kafka("subscribe"))
    }

    /// Drops the subscription (and with it the assignment).
    pub fn unsubscribe(&self) -> Result<(), Error> {
        self.check_open()?;
        self.native().unsubscribe().map_err(kafka("unsubscribe"))
    }

    /// The topics and patterns subscribed to.
    pub fn subscription(&self) -> Result<Vec<String>, Error> {
        self.native().subscription().map_err(kafka("subscription"))
    }

    /// Reads exactly these partitions from the given offsets, outside of
    /// group rebalancing. Replaces the current assignment.
    pub fn assign(&self, partitions: &[(&str, i32, Offset)]) -> Result<(), Error> {
        self.check_open()?;
        let list = offsets_list(partitions)?;
        let _refills = self.inner.main.exclusive();
        self.native().assign(Some(&list)).map_err(kafka("assign"))?;
        self.leave_all_partitions();
        let explicit: Vec<(&str, i32, i64)> = partitions
            .iter()
            .filter_map(|(t, p, o)| match o {
                Offset::At(at) if *at >= 0 => Some((*t, *p, *at)),
                _ => None,
            })
            .collect();
        self.inner.main.start_at(&explicit);
        Ok(())
    }

    /// Removes every partition from the assignment.
    pub fn unassign(&self) -> Result<(), Error> {
        let _refills = self.inner.main.exclusive();
        self.native().assign(None).map_err(kafka("unassign"))?;
        self.leave_all_partitions();
        Ok(())
    }

    /// Adds partitions to the assignment (cooperative protocols, or a
    /// manual assignment).
    pub fn incremental_assign(&self, partitions: &[(&str, i32, Offset)]) -> Result<(), Error> {
        self.check_open()?;
        let list = offsets_list(partitions)?;
        self.native()
            .incremental_assign(&list)
            .map_err(kafka("incremental assign"))
    }

    /// Removes partitions from the assignment.
    pub fn incremental_unassign(&self, partitions: &[(&str, i32)]) -> Result<(), Error> {
        let list = partitions_list(partitions)?;
        let _refills = self.inner.main.exclusive();
        self.native()
            .incremental_unassign(&list)
            .map_err(kafka("incremental unassign"))?;
        self.leave_partitions(partitions);
        Ok(())
    }

    /// The partitions currently assigned.
    pub fn assignment(&self) -> Result<Vec<TopicPartition>, Error> {
        Ok(self
            .native()
            .assignment()
            .map_err(kafka("assignment"))?
            .into_iter()
            .map(TopicPartition::from)
            .collect())
    }

    /// Waits up to `timeout` for the next message. `None` when none came;
    /// `Some(Err(_))` for a consumer error (such as a topic that does not
    /// exist) or, with `enable.partition.eof=true`, the end of a partition
    /// ([`Error::PartitionEof`]).
    ///
    /// Messages come from librdkafka in batches through a small buffer;
    /// one is returned as soon as it is there. With auto offset store on
    /// (the default), a message's offset is stored when it is returned, so
    /// a commit never covers a message the application has not received.
    pub fn poll(&self, timeout: Duration) -> Option<Result<Message, Error>> {
        if self.is_closed() {
            return Some(Err(Error::Closed("consumer")));
        }
        let deadline = Instant::now().checked_add(timeout);
        match self.inner.main.next_blocking(deadline) {
            Ok(Some(m)) => Some(self.wrap(m)),
            Ok(None) if self.is_closed() => Some(Err(Error::Closed("consumer"))),
            Ok(None) => None,
            Err(e) => Some(Err(Error::kafka("consume", e))),
        }
    }

    /// Waits for the next message (async). Cancellation safe: dropping the
    /// future loses no message.
    pub async fn recv(&self) -> Result<Message, Error> {
        use futures::StreamExt;
        let mut stream = self.stream();
        match stream.next().await {
            Some(item) => item,
            None => Err(Error::Closed("consumer")),
        }
    }

    /// Turns a polled message into a [`Message`] or the error it carries.
    fn wrap(&self, msg: NativeMessage) -> Result<Message, Error> {
        if msg.err() == 0 {
            Ok(Message::new(msg))
        } else {
            Err(self.wrap_err(msg))
        }
    }

    /// The error a consumer error message carries.
    fn wrap_err(&self, msg: NativeMessage) -> Error {
        let code = msg.err();
        if code == code::PARTITION_EOF {
            return Error::PartitionEof {
                topic: msg.topic().to_string(),
                partition: msg.partition(),
                offset: msg.offset(),
            };
        }
        let topic = msg.topic();
        let mut message = msg.errstr();
        if !topic.is_empty() && !message.contains(topic) {
            message = if msg.partition() >= 0 {
                format!("{topic} [{}]: {message}", msg.partition())
            } else {
                format!("{topic}: {message}")
            };
        }
        Error::Kafka(KafkaError::from_raw(
            "consume",
            RawError {
                message,
                ..RawError::from_code(code)
            },
        ))
    }

    /// Reads up to `max` messages, waiting at most `within` for the batch
    /// to fill (Faust's `take(max, within)`); the batch may be empty. A
    /// consumer error ends a batch: it is returned by the next read, after
    /// the messages before it.
    pub fn consume_batch(&self, max: usize, within: Duration) -> Result<Vec<Message>, Error> {
        if self.is_closed() {
            return Err(Error::Closed("consumer"));
        }
        let max = max.max(1);
        let deadline = Instant::now().checked_add(within);
        let mut batch = Vec::with_capacity(max.min(4096));
        let main = &self.inner.main;
        let outcome = main
            .block(deadline, || {
                Ok(match main.take_batch(max, &mut batch, true)? {
                    Taken::Drained => None,
                    other => Some(other),
                })
            })
            .map_err(kafka("consume batch"))?;
        match outcome {
            Some(Taken::Error(m)) => Err(self.wrap_err(m)),
            _ => {
                main.store_batch(&mut batch);
                Ok(batch)
            }
        }
    }

    /// A blocking iterator over messages and consumer errors. It ends when
    /// the consumer is closed or, with [`Iter::idle_timeout`], when no
    /// message came for that long.
    pub fn iter(&self) -> Iter<'_> {
        Iter::new(self)
    }

    /// An async stream of messages and consumer errors, woken by librdkafka
    /// when messages arrive (no polling loop). It is cancellation safe and
    /// ends when the consumer is closed.
    pub fn stream(&self) -> MessageStream {
        MessageStream::new(self.clone())
    }

    /// An async stream of batches of up to `max` messages: a batch is
    /// yielded as soon as it is full, or `within` after its first message.
    /// Batches are never empty.
    pub fn batches(&self, max: usize, within: Duration) -> BatchStream {
        BatchStream::new(self.clone(), max, within)
    }

    /// A blocking iterator that ends once every partition in `targets` has
    /// delivered the message before its offset (`offset` is exclusive, like
    /// a high watermark). Partitions are paused as they reach their target
    /// and resumed when the iterator ends, so nothing past a target is read.
    pub fn read_until(&self, targets: &[(&str, i32, i64)]) -> Result<ReadUntil<'_>, Error> {
        ReadUntil::new(self, targets)
    }

    /// [`read_until`](Self::read_until) the high watermarks of the current
    /// assignment, queried with `timeout`: reads what the assigned
    /// partitions hold now, then ends.
    pub fn read_to_end(&self, timeout: Duration) -> Result<ReadUntil<'_>, Error> {
        let assignment = self.assignment()?;
        let mut targets = Vec::with_capacity(assignment.len());
        for tp in &assignment {
            let (_, high) = self.fetch_watermarks(&tp.topic, tp.partition, timeout)?;
            targets.push((tp.topic.as_str(), tp.partition, high));
        }
        ReadUntil::new(self, &targets)
    }

    /// Moves the next read of an assigned partition to `offset`.
    pub fn seek(
        &self,
        topic: &str,
        partition: i32,
        offset: Offset,
        timeout: Duration,
    ) -> Result<(), Error> {
        self.seek_partitions(&[(topic, partition, offset)], timeout)
    }

    /// Moves the next reads of assigned partitions.
    pub fn seek_partitions(
        &self,
        offsets: &[(&str, i32, Offset)],
        timeout: Duration,
    ) -> Result<(), Error> {
        self.check_open()?;
        let list = offsets_list(offsets)?;
        let partitions: Vec<(&str, i32)> = offsets.iter().map(|(t, p, _)| (*t, *p)).collect();
        let _refills = self.inner.main.exclusive();
        self.native().seek(&list, timeout).map_err(kafka("seek"))?;
        self.drop_buffered(&partitions, true);
        Ok(())
    }

    /// Seeks `partitions` to the oldest message kept.
    pub fn seek_to_beginning(
        &self,
        partitions: &[(&str, i32)],
        timeout: Duration,
    ) -> Result<(), Error> {
        let offsets: Vec<_> = partitions
            .iter()
            .map(|(t, p)| (*t, *p, Offset::Beginning))
            .collect();
        self.seek_partitions(&offsets, timeout)
    }

    /// Seeks `partitions` to their end: only new messages are read.
    pub fn seek_to_end(&self, partitions: &[(&str, i32)], timeout: Duration) -> Result<(), Error> {
        let offsets: Vec<_> = partitions
            .iter()
            .map(|(t, p)| (*t, *p, Offset::End))
            .collect();
        self.seek_partitions(&offsets, timeout)
    }

    /// Stops fetching from `partitions` until [`resume`](Self::resume).
    /// Messages already fetched for them are discarded and fetched again
    /// after resuming, so none is lost.
    pub fn pause(&self, partitions: &[(&str, i32)]) -> Result<(), Error> {
        self.check_open()?;
        let list = partitions_list(partitions)?;
        let _refills = self.inner.main.exclusive();
        self.native().pause(&list).map_err(kafka("pause"))?;
        self.set_paused(partitions, true);
        // librdkafka resumes after the last message it handed to the read
        // buffer; what the buffer held is dropped, so resume after the last
        // one the application got.
        let positions = self.drop_buffered(partitions, false);
        let resume_at: Vec<(&str, i32, i64)> = partitions
            .iter()
            .zip(positions)
            .filter_map(|((t, p), pos)| pos.map(|o| (*t, *p, o)))
            .collect();
        if !resume_at.is_empty() {
            // Asynchronous: applied after the pause, in order.
            if let Err(e) = list_of(resume_at.iter().copied()).and_then(|l| {
                self.native()
                    .seek(&l, Duration::ZERO)
                    .map_err(kafka("seek"))
            }) {
                tracing::warn!("setting where paused partitions resume: {e}");
            }
        }
        let mut paused = self.inner.paused.lock().unwrap_or_else(|p| p.into_inner());
        paused.extend(partitions.iter().map(|(t, p)| TopicPartition::new(*t, *p)));
        Ok(())
    }

    /// Resumes fetching from paused partitions.
    pub fn resume(&self, partitions: &[(&str, i32)]) -> Result<(), Error> {
        self.check_open()?;
        let list = partitions_list(partitions)?;
        self.native().resume(&list).map_err(kafka("resume"))?;
        self.set_paused(partitions, false);
        let mut paused = self.inner.paused.lock().unwrap_or_else(|p| p.into_inner());
        for (t, p) in partitions {
            paused.remove(&TopicPartition::new(*t, *p));
        }
        Ok(())
    }

    /// The assigned partitions that are paused.
    pub fn paused(&self) -> Result<Vec<TopicPartition>, Error> {
        let assigned: BTreeSet<TopicPartition> = self.assignment()?.into_iter().collect();
        let paused = self.inner.paused.lock().unwrap_or_else(|p| p.into_inner());
        Ok(paused.intersection(&assigned).cloned().collect())
    }

    /// Asks the partition's leader for its (low, high) watermarks: the
    /// oldest offset kept and the offset the next message will get.
    pub fn fetch_watermarks(
        &self,
        topic: &str,
        partition: i32,
        timeout: Duration,
    ) -> Result<(i64, i64), Error> {
        self.native()
            .query_watermarks(topic, partition, timeout)
            .map_err(kafka("query watermarks"))
    }

    /// The (low, high) watermarks last seen in fetch responses, without a
    /// request; `None` before the partition has been fetched from.
    pub fn cached_watermarks(&self, topic: &str, partition: i32) -> Option<(i64, i64)> {
        match self.native().cached_watermarks(topic, partition) {
            Ok((low, high)) if low >= 0 || high >= 0 => Some((low, high)),
            _ => None,
        }
    }

    /// For each `(topic, partition, timestamp_ms)`, the earliest offset whose
    /// timestamp is at least `timestamp_ms` ([`Offset::End`] when no message
    /// is that recent).
    pub fn offsets_for_times(
        &self,
        timestamps: &[(&str, i32, i64)],
        timeout: Duration,
    ) -> Result<Vec<PartitionOffset>, Error> {
        let list = list_of(timestamps.iter().copied())?;
        let entries = self
            .native()
            .offsets_for_times(&list, timeout)
            .map_err(kafka("offsets for times"))?;
        Ok(entries.into_iter().map(PartitionOffset::from).collect())
    }

    /// The group metadata, to commit offsets within a producer transaction.
    pub fn group_metadata(&self) -> Option<ConsumerGroupMetadata> {
        self.native()
            .group_metadata()
            .map(|native| ConsumerGroupMetadata { native })
    }

    /// The member id the group coordinator gave this consumer, once it has
    /// joined.
    pub fn member_id(&self) -> Option<String> {
        self.native().member_id()
    }

    /// The latest statistics report (needs `statistics.interval.ms`).
    pub fn statistics(&self) -> Option<Arc<Statistics>> {
        self.inner.shared.core.statistics()
    }

    /// Waits until a broker answers, for at most `timeout` (kafka-python's
    /// `bootstrap_connected`). Call it right after creating the consumer: a
    /// wrong address then fails in seconds with the reason, instead of reads
    /// that return nothing while the connection errors go only to the logs
    /// or [`on_error`](ConsumerBuilder::on_error).
    ///
    /// A new consumer gets cluster metadata from the first broker it
    /// connects to; the wait returns when that arrives and sends nothing
    /// itself. Called again later, it asks a broker with one metadata
    /// request, so the answer says whether a broker answers now. It does not
    /// join the group.
    ///
    /// On timeout the error carries the last connection error librdkafka
    /// reported, which names the broker's address and the reason, such as
    /// "Connection refused", with its code
    /// ([`Transport`](crate::ErrorCode::Transport),
    /// [`Resolve`](crate::ErrorCode::Resolve), ...).
    ///
    /// This blocks the calling thread for up to `timeout`. In async code,
    /// call it before the work starts or through your runtime's
    /// `spawn_blocking`.
    ///
    /// ```
    /// # fn main() -> Result<(), kafkit::Error> {
    /// use std::time::Duration;
    ///
    /// let cluster = kafkit::MockCluster::new(1)?;
    /// let mut config = cluster.client_config()?;
    /// config.group_id("readers")?;
    /// let consumer = kafkit::Consumer::new(&config)?;
    /// consumer.wait_connected(Duration::from_secs(10))?;
    /// # Ok(()) }
    /// ```
    pub fn wait_connected(&self, timeout: Duration) -> Result<(), Error> {
        self.inner.shared.core.wait_connected(timeout)
    }

    /// Leaves the group, committing final offsets when auto commit is on
    /// (the rebalance listener is told the partitions are revoked), within
    /// `kafkit.close.timeout.ms`. Reads fail afterwards, and iterators and
    /// streams end. If the bound is reached (brokers gone) it returns a
    /// [`TimedOut`](crate::ErrorCode::TimedOut) error; the group then notices
    /// the departure when the session times out, and the librdkafka handle is
    /// released on a background thread so that dropping the consumer does
    /// not wait either. Later calls do nothing.
    pub fn close(&self) -> Result<(), Error> {
        if self.inner.closing.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        self.inner.main.end();
        for split in std::mem::take(&mut *lock(&self.inner.split)) {
            split.reader.end();
        }
        let result = self.leave_group();
        self.inner.closed.store(true, Ordering::Release);
        let shared = &self.inner.shared;
        shared.stop.store(true, Ordering::Release);
        shared.core.main_queue.wake();
        let thread = self
            .inner
            .dispatcher
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(thread) = thread {
            if thread.join().is_err() {
                tracing::error!("the consumer's dispatcher thread panicked");
            }
        }
        shared.commits.fail_all();
        result
    }

    fn leave_group(&self) -> Result<(), Error> {
        let native = self.native();
        let queue = native.new_queue();
        native
            .consumer_close_queue(&queue)
            .map_err(kafka("close"))?;
        let deadline = Instant::now() + self.inner.close_timeout;
        while !native.consumer_closed() {
            let now = Instant::now();
            if now >= deadline {
                let bound = self.inner.close_timeout;
                native.destroy_in_background();
                tracing::warn!(
                    client = %self.name(),
                    "closing the consumer did not finish within {bound:?}; giving up"
                );
                return Err(Error::Kafka(KafkaError::from_raw(
                    "close",
                    RawError {
                        message: format!(
                            "leaving the group did not finish within {bound:?} \
                             (kafkit.close.timeout.ms)"
                        ),
                        ..RawError::from_code(code::TIMED_OUT)
                    },
                )));
            }
            let wait = (deadline - now).min(Duration::from_millis(100));
            if let Some(event) = queue.poll(wait) {
                native.serve_close_event(&event);
            }
        }
        Ok(())
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Clone for Consumer {
    fn clone(&self) -> Self {
        self.inner.handles.fetch_add(1, Ordering::AcqRel);
        Consumer {
            inner: self.inner.clone(),
            owner: true,
        }
    }
}

impl Drop for Consumer {
    fn drop(&mut self) {
        if !self.owner || self.inner.handles.fetch_sub(1, Ordering::AcqRel) != 1 {
            return;
        }
        if let Err(e) = self.close() {
            tracing::warn!(client = %self.name(), "closing the consumer: {e}");
        }
    }
}

impl std::fmt::Debug for Consumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer")
            .field("name", &self.inner.shared.core.name)
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}
