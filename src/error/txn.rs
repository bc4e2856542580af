//! [`TxnAction`]: what to do after a transactional call failed.

use super::{Error, KafkaError};

/// What a transactional producer should do after a call failed, from the
/// flags librdkafka gives the error (`rd_kafka_error_t`). See
/// [`Error::txn_action`] and the loop in the docs of
/// [`Producer::begin_transaction`](crate::Producer::begin_transaction).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TxnAction {
    /// Call the same operation again (for example a commit that timed out:
    /// librdkafka resumes it where it stopped).
    Retry,
    /// Abort the transaction with
    /// [`abort_transaction`](crate::Producer::abort_transaction), rewind the
    /// input to the last committed offsets and start a new transaction.
    Abort,
    /// The producer can no longer be used (for example it was fenced by a
    /// newer producer with the same `transactional.id`): drop it and create
    /// a new one.
    Fatal,
    /// The call was refused for a reason that retrying does not fix (a call
    /// in the wrong state, such as a commit without a begin, or a bad
    /// argument): a bug in the calling program.
    Permanent,
}

impl KafkaError {
    /// What a transactional producer should do about this error: the
    /// fatal flag wins over txn_requires_abort, which wins over retriable.
    /// Only librdkafka's flags count, not the error code. Meant for the
    /// errors of the transactional calls: a record that failed inside a
    /// transaction makes the transaction's commit fail with an abortable
    /// error, whatever its own delivery error says.
    pub fn txn_action(&self) -> TxnAction {
        if self.fatal {
            TxnAction::Fatal
        } else if self.txn_requires_abort {
            TxnAction::Abort
        } else if self.retriable {
            TxnAction::Retry
        } else {
            TxnAction::Permanent
        }
    }
}

impl Error {
    /// What a transactional producer should do about this error (see
    /// [`TxnAction`]). Errors that do not come from librdkafka are
    /// [`TxnAction::Permanent`].
    pub fn txn_action(&self) -> TxnAction {
        match self {
            Error::Kafka(e) => e.txn_action(),
            _ => TxnAction::Permanent,
        }
    }
}
