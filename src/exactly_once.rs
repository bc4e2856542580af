//! Consume-transform-produce, exactly once: each batch of input, the
//! records made from it and the input's offsets go in one transaction.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use crate::{Consumer, Error, Message, Offset, Producer, Record, TxnAction};

/// How many times a retriable commit or abort is tried before its error is
/// returned.
const ATTEMPTS: usize = 10;

/// What [`ExactlyOnce::process`] did with one batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BatchOutcome {
    /// Nothing arrived within the wait.
    Empty,
    /// The outputs and the input offsets were committed together.
    Committed {
        /// Input messages consumed.
        inputs: usize,
        /// Records produced from them.
        outputs: usize,
    },
    /// The transaction was aborted (an abortable error) and the consumer
    /// rewound to the batch's first offsets: the next call reads the same
    /// input again.
    Aborted {
        /// Input messages that will be read again.
        inputs: usize,
    },
}

/// The consume-transform-produce loop in transactions.
///
/// Make the consumer with a `group.id`, `enable.auto.commit=false` and
/// `isolation.level=read_committed` (the default), and the producer with a
/// `transactional.id` that stays the same across restarts of this instance
/// (a restarted instance fences the old one). Then call
/// [`process`](Self::process) in a loop:
///
/// - each call reads a batch, turns every message into records, sends them,
///   adds the batch's offsets to the transaction and commits;
/// - on an abortable error it aborts and seeks the consumer back to the
///   batch's first offsets, so the same input is read again
///   ([`BatchOutcome::Aborted`]);
/// - an error of the transform also aborts and rewinds, and is returned;
/// - a fatal error (this producer was fenced) is returned: make a new
///   producer.
/// - when the abort itself fails (the transaction coordinator cannot be
///   reached in time), the error is returned and the abort and the rewind
///   are done again at the start of the next call, before anything is
///   read: call [`process`](Self::process) again (after a pause) and
///   nothing is skipped.
///
/// The transaction is opened after the batch is read and closed before the
/// next read, and rebalances happen only inside reads: no partition is
/// revoked while a transaction is open.
///
/// ```no_run
/// # fn demo(consumer: kafkit::Consumer, producer: kafkit::Producer) -> Result<(), kafkit::Error> {
/// use std::time::Duration;
/// use kafkit::{ExactlyOnce, Record};
///
/// consumer.subscribe(&["numbers"])?;
/// let eos = ExactlyOnce::new(consumer, producer, Duration::from_secs(30))?;
/// loop {
///     eos.process(500, Duration::from_millis(100), |m| {
///         let n: i64 = m.value_str().unwrap_or("0").parse().unwrap_or(0);
///         Ok(vec![Record::to("squares").value((n * n).to_string())])
///     })?;
/// }
/// # }
/// ```
pub struct ExactlyOnce {
    consumer: Consumer,
    producer: Producer,
    timeout: Duration,
    /// A batch whose abort did not finish, to be finished before the next
    /// read.
    unfinished: Mutex<Option<Unfinished>>,
}

/// What is left to do of a failed batch.
struct Unfinished {
    /// Whether its transaction was aborted already.
    aborted: bool,
    /// Each partition of the batch and the batch's first offset in it.
    rewind: Vec<(String, i32, i64)>,
}

impl std::fmt::Debug for ExactlyOnce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExactlyOnce")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl ExactlyOnce {
    /// Initialises the producer's transactions (`init_transactions`) and
    /// keeps both clients. `timeout` bounds each transactional call.
    pub fn new(consumer: Consumer, producer: Producer, timeout: Duration) -> Result<Self, Error> {
        producer.init_transactions(timeout)?;
        Ok(ExactlyOnce {
            consumer,
            producer,
            timeout,
            unfinished: Mutex::new(None),
        })
    }

    /// The consumer (to subscribe, assign or close it).
    pub fn consumer(&self) -> &Consumer {
        &self.consumer
    }

    /// The producer.
    pub fn producer(&self) -> &Producer {
        &self.producer
    }

    /// Reads up to `max` messages (waiting at most `within`), sends what
    /// `transform` makes of each, and commits them with the input offsets in
    /// one transaction. See [`ExactlyOnce`] for what happens on errors.
    pub fn process<F>(
        &self,
        max: usize,
        within: Duration,
        mut transform: F,
    ) -> Result<BatchOutcome, Error>
    where
        F: FnMut(&Message) -> Result<Vec<Record>, Error>,
    {
        self.finish_abort()?;
        let batch = self.consumer.consume_batch(max, within)?;
        if batch.is_empty() {
            return Ok(BatchOutcome::Empty);
        }
        let group = self.consumer.group_metadata().ok_or_else(|| {
            Error::InvalidArgument(
                "exactly-once processing needs a consumer with a group.id".into(),
            )
        })?;
        // Each partition's first and last offset in the batch.
        let mut spans: BTreeMap<(String, i32), (i64, i64)> = BTreeMap::new();
        for m in &batch {
            let span = spans
                .entry((m.topic().to_string(), m.partition()))
                .or_insert((m.offset(), m.offset()));
            span.0 = span.0.min(m.offset());
            span.1 = span.1.max(m.offset());
        }
        self.producer.begin_transaction()?;
        let mut outputs = 0;
        let run = (|| {
            for m in &batch {
                for record in transform(m)? {
                    // The commit fails (abortably) if a record of the
                    // transaction is not delivered: no need to await each.
                    drop(self.producer.send_blocking(record, self.timeout)?);
                    outputs += 1;
                }
            }
            let next: Vec<(&str, i32, Offset)> = spans
                .iter()
                .map(|((t, p), (_, last))| (t.as_str(), *p, Offset::At(last + 1)))
                .collect();
            self.producer
                .send_offsets_to_transaction(&next, &group, self.timeout)?;
            self.commit()
        })();
        let error = match run {
            Ok(()) => {
                return Ok(BatchOutcome::Committed {
                    inputs: batch.len(),
                    outputs,
                })
            }
            Err(e) => e,
        };
        if error.txn_action() == TxnAction::Fatal {
            return Err(error);
        }
        let rewind = spans
            .into_iter()
            .map(|((topic, partition), (first, _))| (topic, partition, first))
            .collect();
        *self.lock_unfinished() = Some(Unfinished {
            aborted: false,
            rewind,
        });
        self.finish_abort()?;
        match error.txn_action() {
            TxnAction::Abort => Ok(BatchOutcome::Aborted {
                inputs: batch.len(),
            }),
            _ => Err(error),
        }
    }

    fn lock_unfinished(&self) -> std::sync::MutexGuard<'_, Option<Unfinished>> {
        self.unfinished
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Aborts the transaction of a failed batch and rewinds the consumer to
    /// the batch's first offsets, if a batch failed; keeps it for the next
    /// call when the abort or a seek fails.
    fn finish_abort(&self) -> Result<(), Error> {
        let mut unfinished = self.lock_unfinished();
        let Some(left) = unfinished.as_mut() else {
            return Ok(());
        };
        let mut attempt = 1;
        while !left.aborted {
            match self.producer.abort_transaction(self.timeout) {
                Ok(()) => left.aborted = true,
                Err(e) if e.txn_action() == TxnAction::Retry && attempt < ATTEMPTS => {
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
        for (topic, partition, first) in &left.rewind {
            self.consumer
                .seek(topic, *partition, Offset::At(*first), self.timeout)?;
        }
        *unfinished = None;
        Ok(())
    }

    /// Commits, calling again while librdkafka says the call may be retried.
    fn commit(&self) -> Result<(), Error> {
        let mut attempt = 1;
        loop {
            match self.producer.commit_transaction(self.timeout) {
                Err(e) if e.txn_action() == TxnAction::Retry && attempt < ATTEMPTS => {
                    attempt += 1;
                }
                other => return other,
            }
        }
    }
}
