//! Transactions on the [`Producer`]: `init_transactions`, `begin_transaction`,
//! `send_offsets_to_transaction`, `commit_transaction`, `abort_transaction`,
//! each blocking, and async forms of the ones that wait for a broker.
//!
//! librdkafka's transactional calls block the calling thread until the
//! broker answered or the timeout passed. The async forms run the same call
//! on a thread of its own and resolve a [`TxnFuture`] through a oneshot
//! channel, so they work on any executor and never block its thread. One
//! short-lived thread per call rather than a transaction thread per
//! producer: these calls come a few per transaction, each waits for at
//! least one broker round trip (milliseconds), so starting a thread costs
//! little beside it, a producer that never uses them owns no extra thread,
//! and there is no thread to stop at teardown (the call's thread holds a
//! handle to the producer until the call returns). librdkafka runs one
//! transactional call at a time anyway: a second one while the first runs
//! fails with [`ErrorCode::Conflict`](crate::ErrorCode::Conflict).
//!
//! Commit and abort wait for the delivery reports of the transaction's
//! records (librdkafka flushes before it commits, and purges and waits for
//! the purged reports before it aborts). kafkit's dispatcher thread serves
//! those reports meanwhile, as for [`Producer::flush`]. Inside a delivery
//! callback of the same producer the reports cannot be served (this very
//! thread serves them, after the callback returns), so there commit and
//! abort fail at once with [`ErrorCode::State`](crate::ErrorCode::State)
//! instead of waiting for their timeout.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::channel::oneshot;

use super::{Producer, Shared};
use crate::consumer::{ConsumerGroupMetadata, Offset};
use crate::native::{RawError, TopicPartitionList};
use crate::{Error, ErrorCode, KafkaError};

const INIT: &str = "init transactions";
const BEGIN: &str = "begin transaction";
const COMMIT: &str = "commit transaction";
const ABORT: &str = "abort transaction";
const SEND_OFFSETS: &str = "send offsets to transaction";

/// The outcome of an async transactional call
/// ([`Producer::commit_transaction_async`] and the others).
///
/// The call runs on a thread of its own whether or not the future is
/// polled; dropping the future does not stop it (librdkafka cannot cancel
/// a transactional call), it only drops the outcome. Classify an error
/// with [`Error::txn_action`].
#[must_use = "the call runs anyway; the future carries its outcome"]
pub struct TxnFuture {
    state: State,
}

enum State {
    Ready(Option<Result<(), Error>>),
    Running(&'static str, oneshot::Receiver<Result<(), Error>>),
}

impl TxnFuture {
    fn ready(result: Result<(), Error>) -> Self {
        TxnFuture {
            state: State::Ready(Some(result)),
        }
    }
}

impl Future for TxnFuture {
    type Output = Result<(), Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.state {
            State::Ready(result) => Poll::Ready(result.take().unwrap_or_else(|| {
                Err(Error::InvalidArgument(
                    "TxnFuture polled after it completed".into(),
                ))
            })),
            State::Running(op, rx) => match Pin::new(rx).poll(cx) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(Ok(result)) => Poll::Ready(result),
                Poll::Ready(Err(oneshot::Canceled)) => Poll::Ready(Err(Error::kafka(
                    op,
                    RawError {
                        message: "the thread running the call ended without an outcome".into(),
                        ..RawError::from_code(ErrorCode::Fail.raw())
                    },
                ))),
            },
        }
    }
}

impl std::fmt::Debug for TxnFuture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &self.state {
            State::Ready(_) => "ready",
            State::Running(op, _) => op,
        };
        f.debug_struct("TxnFuture").field("state", &state).finish()
    }
}

/// The error of a commit or abort called from a delivery callback.
fn in_callback(op: &'static str) -> Error {
    Error::Kafka(KafkaError::from_raw(
        op,
        RawError {
            message: format!(
                "{op} was called from a delivery callback of the same producer: it waits for \
                 delivery reports that this thread serves, after the callback returns"
            ),
            ..RawError::from_code(ErrorCode::State.raw())
        },
    ))
}

/// The partition list for `send_offsets_to_transaction`: every offset must
/// be an exact one (the next offset to read, as a consumer commits it).
fn offsets_list(offsets: &[(&str, i32, Offset)]) -> Result<TopicPartitionList, Error> {
    let mut entries = Vec::with_capacity(offsets.len());
    for &(topic, partition, offset) in offsets {
        if topic.is_empty() {
            return Err(Error::InvalidArgument(format!(
                "{SEND_OFFSETS}: an empty topic name (partition {partition})"
            )));
        }
        if partition < 0 {
            return Err(Error::InvalidArgument(format!(
                "{SEND_OFFSETS}: partition {partition} of {topic:?} is negative"
            )));
        }
        match offset {
            Offset::At(o) if o >= 0 => entries.push((topic, partition, o)),
            other => {
                return Err(Error::InvalidArgument(format!(
                    "{SEND_OFFSETS}: {topic} [{partition}] has offset {other:?}; the offsets to \
                     commit must be exact (Offset::At, the next offset to read)"
                )))
            }
        }
    }
    TopicPartitionList::from_entries(entries).map_err(|raw| Error::kafka(SEND_OFFSETS, raw))
}

impl Shared {
    /// Runs a call that waits for delivery reports (commit, abort), with
    /// the dispatcher serving them meanwhile, as `flush_all` does.
    fn serving_reports<T>(&self, call: impl FnOnce() -> T) -> T {
        self.signal.flushing.fetch_add(1, Ordering::SeqCst);
        self.signal.ring();
        let out = call();
        self.signal.flushing.fetch_sub(1, Ordering::SeqCst);
        out
    }
}

impl Producer {
    /// Runs `call` on a thread of its own; the future resolves with its
    /// outcome.
    fn on_txn_thread(
        &self,
        op: &'static str,
        call: impl FnOnce(&Producer) -> Result<(), Error> + Send + 'static,
    ) -> TxnFuture {
        let (tx, rx) = oneshot::channel();
        let producer = self.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("kafkit-txn-{}", self.name()))
            .spawn(move || {
                let result = call(&producer);
                // The future may have been dropped: then nobody wants it.
                let _ = tx.send(result);
            });
        match spawned {
            Ok(_) => TxnFuture {
                state: State::Running(op, rx),
            },
            Err(e) => TxnFuture::ready(Err(Error::Io {
                path: format!("({op} thread)"),
                source: e,
            })),
        }
    }

    /// Initializes transactions: registers the producer's
    /// `transactional.id` with the transaction coordinator, fences any older
    /// producer with the same id, and completes or aborts the transaction
    /// such a producer left open. Call it once, before the first
    /// [`begin_transaction`](Self::begin_transaction). Blocks for at most
    /// `timeout`; a timeout is [`TxnAction::Retry`](crate::TxnAction::Retry):
    /// call it again. Without `transactional.id` in the configuration it
    /// fails at once.
    pub fn init_transactions(&self, timeout: Duration) -> Result<(), Error> {
        self.shared()
            .core
            .native
            .init_transactions(timeout)
            .map_err(|raw| Error::kafka(INIT, raw))
    }

    /// [`init_transactions`](Self::init_transactions) on a thread of its
    /// own: never blocks the caller.
    pub fn init_transactions_async(&self, timeout: Duration) -> TxnFuture {
        self.on_txn_thread(INIT, move |p| p.init_transactions(timeout))
    }

    /// Starts a transaction: every record sent from now until the commit or
    /// abort belongs to it. Local to the producer, it returns at once.
    /// Before [`init_transactions`](Self::init_transactions), or while a
    /// transaction is open, it fails with
    /// [`ErrorCode::State`](crate::ErrorCode::State).
    ///
    /// The loop a transactional program runs: begin, send, add the input
    /// offsets, commit; then react to an error as [`Error::txn_action`]
    /// says: retry the same call ([`TxnAction::Retry`](crate::TxnAction::Retry)),
    /// abort and redo the transaction from the last committed input
    /// ([`TxnAction::Abort`](crate::TxnAction::Abort)), or drop the
    /// producer and make a new one ([`TxnAction::Fatal`](crate::TxnAction::Fatal),
    /// for example when a newer producer with the same `transactional.id`
    /// fenced this one).
    ///
    /// ```
    /// use std::time::Duration;
    /// use kafkit::{Error, Producer, Record, TxnAction};
    ///
    /// /// Sends `values` in one transaction; false if it was aborted (the
    /// /// caller then rewinds its input and tries again).
    /// fn send_all(producer: &Producer, topic: &str, values: &[&str]) -> Result<bool, Error> {
    ///     let timeout = Duration::from_secs(30);
    ///     producer.begin_transaction()?;
    ///     for value in values {
    ///         let record = Record::to(topic).value(value.as_bytes().to_vec());
    ///         if let Err(e) = producer.send_blocking(record, timeout) {
    ///             producer.abort_transaction(timeout)?;
    ///             return Err(e.into());
    ///         }
    ///     }
    ///     // Here a consume-transform-produce loop also adds its input offsets:
    ///     // producer.send_offsets_to_transaction(&offsets, &group, timeout)?;
    ///     loop {
    ///         match producer.commit_transaction(timeout) {
    ///             Ok(()) => return Ok(true),
    ///             Err(e) => match e.txn_action() {
    ///                 TxnAction::Retry => continue,
    ///                 TxnAction::Abort => {
    ///                     producer.abort_transaction(timeout)?;
    ///                     return Ok(false);
    ///                 }
    ///                 // Fatal: make a new producer. Permanent: a bug.
    ///                 _ => return Err(e),
    ///             },
    ///         }
    ///     }
    /// }
    ///
    /// # fn main() -> Result<(), Error> {
    /// let cluster = kafkit::MockCluster::new(3)?;
    /// let mut config = cluster.client_config()?;
    /// config.set("transactional.id", "doc-example")?;
    /// let producer = Producer::new(&config)?;
    /// producer.init_transactions(Duration::from_secs(30))?;
    /// assert!(send_all(&producer, "doc-topic", &["a", "b"])?);
    /// # Ok(()) }
    /// ```
    pub fn begin_transaction(&self) -> Result<(), Error> {
        self.shared()
            .core
            .native
            .begin_transaction()
            .map_err(|raw| Error::kafka(BEGIN, raw))
    }

    /// Adds a consumer group's offsets to the open transaction: they are
    /// committed with it, and only if it commits. `offsets` are the next
    /// offsets to read ([`Offset::At`], one past the last record processed),
    /// as a consumer commits them; `group` comes from
    /// [`Consumer::group_metadata`](crate::Consumer::group_metadata). The
    /// consumer should run with `enable.auto.commit=false`. Blocks for at
    /// most `timeout`. An offset that is not exact, an empty topic name or
    /// a negative partition is an [`Error::InvalidArgument`] and nothing is
    /// sent; an empty list does nothing.
    pub fn send_offsets_to_transaction(
        &self,
        offsets: &[(&str, i32, Offset)],
        group: &ConsumerGroupMetadata,
        timeout: Duration,
    ) -> Result<(), Error> {
        let list = offsets_list(offsets)?;
        self.shared()
            .core
            .native
            .send_offsets_to_transaction(&list, &group.native, timeout)
            .map_err(|raw| Error::kafka(SEND_OFFSETS, raw))
    }

    /// [`send_offsets_to_transaction`](Self::send_offsets_to_transaction) on
    /// a thread of its own: never blocks the caller. Takes the group
    /// metadata by value ([`Consumer::group_metadata`](crate::Consumer::group_metadata)
    /// returns a new one each call); bad offsets fail before anything runs.
    pub fn send_offsets_to_transaction_async(
        &self,
        offsets: &[(&str, i32, Offset)],
        group: ConsumerGroupMetadata,
        timeout: Duration,
    ) -> TxnFuture {
        let list = match offsets_list(offsets) {
            Ok(list) => list,
            Err(e) => return TxnFuture::ready(Err(e)),
        };
        self.on_txn_thread(SEND_OFFSETS, move |p| {
            p.shared()
                .core
                .native
                .send_offsets_to_transaction(&list, &group.native, timeout)
                .map_err(|raw| Error::kafka(SEND_OFFSETS, raw))
        })
    }

    /// Commits the open transaction: waits for every record sent in it to
    /// be delivered (their delivery futures and callbacks complete
    /// meanwhile), then commits it and the offsets added with
    /// [`send_offsets_to_transaction`](Self::send_offsets_to_transaction).
    /// Blocks for at most `timeout`. Without an open transaction it fails
    /// at once with [`ErrorCode::State`](crate::ErrorCode::State); called
    /// from a delivery callback of this producer, too (see the module
    /// docs). On a timeout ([`TxnAction::Retry`](crate::TxnAction::Retry))
    /// call it again: librdkafka resumes the commit. See
    /// [`begin_transaction`](Self::begin_transaction) for the whole loop.
    pub fn commit_transaction(&self, timeout: Duration) -> Result<(), Error> {
        let shared = self.shared();
        if shared.serves_here() {
            return Err(in_callback(COMMIT));
        }
        shared
            .serving_reports(|| shared.core.native.commit_transaction(timeout))
            .map_err(|raw| Error::kafka(COMMIT, raw))
    }

    /// [`commit_transaction`](Self::commit_transaction) on a thread of its
    /// own: never blocks the caller.
    pub fn commit_transaction_async(&self, timeout: Duration) -> TxnFuture {
        if self.shared().serves_here() {
            return TxnFuture::ready(Err(in_callback(COMMIT)));
        }
        self.on_txn_thread(COMMIT, move |p| p.commit_transaction(timeout))
    }

    /// Aborts the open transaction: purges its records not yet sent (their
    /// deliveries fail with [`ErrorCode::PurgeQueue`](crate::ErrorCode::PurgeQueue)),
    /// waits for the reports of those in flight, and tells the coordinator,
    /// so `read_committed` consumers never see them. Blocks for at most
    /// `timeout`. Without an open transaction, or from a delivery callback
    /// of this producer, it fails at once with
    /// [`ErrorCode::State`](crate::ErrorCode::State).
    pub fn abort_transaction(&self, timeout: Duration) -> Result<(), Error> {
        let shared = self.shared();
        if shared.serves_here() {
            return Err(in_callback(ABORT));
        }
        shared
            .serving_reports(|| shared.core.native.abort_transaction(timeout))
            .map_err(|raw| Error::kafka(ABORT, raw))
    }

    /// [`abort_transaction`](Self::abort_transaction) on a thread of its
    /// own: never blocks the caller.
    pub fn abort_transaction_async(&self, timeout: Duration) -> TxnFuture {
        if self.shared().serves_here() {
            return TxnFuture::ready(Err(in_callback(ABORT)));
        }
        self.on_txn_thread(ABORT, move |p| p.abort_transaction(timeout))
    }
}
