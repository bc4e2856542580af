//! The crate's one error type, and every librdkafka error code.

use std::fmt;

use crate::native::{self, RawError};

mod txn;
pub use txn::TxnAction;

macro_rules! error_codes {
    ($( ($code:literal, $variant:ident, $name:literal, $desc:literal) ),* $(,)?) => {
        /// An error code from librdkafka or a Kafka broker.
        ///
        /// Negative codes are raised inside librdkafka (their names start with
        /// `_`); positive ones come from brokers. The list is generated from
        /// librdkafka's own table; a code it does not contain (from a newer
        /// broker, say) becomes [`ErrorCode::Unknown`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $(
                #[doc = $desc]
                $variant,
            )*
            /// A code that is not in librdkafka's table.
            Unknown(i32),
        }

        impl ErrorCode {
            /// The code for an integer from librdkafka or the wire.
            pub fn from_raw(code: i32) -> Self {
                match code {
                    $( $code => ErrorCode::$variant, )*
                    other => ErrorCode::Unknown(other),
                }
            }

            /// The integer value of the code.
            pub const fn raw(self) -> i32 {
                match self {
                    $( ErrorCode::$variant => $code, )*
                    ErrorCode::Unknown(code) => code,
                }
            }

            /// librdkafka's name for the code, for example `"MSG_SIZE_TOO_LARGE"`.
            pub fn name(self) -> &'static str {
                match self {
                    $( ErrorCode::$variant => $name, )*
                    ErrorCode::Unknown(_) => "UNKNOWN_CODE",
                }
            }

            /// librdkafka's description of the code.
            pub fn description(self) -> &'static str {
                match self {
                    $( ErrorCode::$variant => $desc, )*
                    ErrorCode::Unknown(_) => "Unknown error code",
                }
            }
        }
    };
}

include!("codes.rs");

impl ErrorCode {
    /// True for codes raised inside librdkafka rather than by a broker.
    pub fn is_local(self) -> bool {
        let raw = self.raw();
        native::code::LOCAL_BEGIN < raw && raw < native::code::LOCAL_END
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorCode::Unknown(code) => write!(f, "unknown error code {code}"),
            other => f.write_str(other.name()),
        }
    }
}

/// An error reported by librdkafka or a broker, with the flags librdkafka
/// gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaError {
    op: &'static str,
    code: ErrorCode,
    message: String,
    fatal: bool,
    retriable: bool,
    txn_requires_abort: bool,
}

impl KafkaError {
    pub(crate) fn from_raw(op: &'static str, raw: RawError) -> Self {
        KafkaError {
            op,
            code: ErrorCode::from_raw(raw.code),
            message: raw.message,
            fatal: raw.fatal,
            retriable: raw.retriable,
            txn_requires_abort: raw.txn_requires_abort,
        }
    }

    /// The error of a failed delivery report, classified as librdkafka
    /// itself treats its code (see [`delivery_is_retriable`]).
    pub(crate) fn delivery(code: i32, message: String) -> Self {
        let code = ErrorCode::from_raw(code);
        KafkaError {
            op: DELIVERY,
            code,
            message,
            fatal: code == ErrorCode::Fatal,
            retriable: delivery_is_retriable(code),
            txn_requires_abort: false,
        }
    }

    /// The error code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The operation that failed, such as `"produce"` or `"delivery"`.
    pub fn operation(&self) -> &'static str {
        self.op
    }

    /// librdkafka's or the broker's message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether the client can no longer be used (idempotence or transaction
    /// guarantees were lost); create a new client.
    pub fn is_fatal(&self) -> bool {
        self.fatal
    }

    /// Whether retrying the operation may succeed.
    ///
    /// For a failed delivery (operation `"delivery"`) this follows
    /// librdkafka's own handling of the code: true only for codes librdkafka
    /// itself retries, so the record ran out of retries or of
    /// `message.timeout.ms`. Some of them (`_TRANSPORT`, `_TIMED_OUT`,
    /// `REQUEST_TIMED_OUT`, `NOT_ENOUGH_REPLICAS_AFTER_APPEND`) may have left
    /// the record written, so a resend can duplicate it. Codes librdkafka
    /// treats as permanent (such as `NETWORK_EXCEPTION`, which fails a whole
    /// batch at once, or `MSG_TIMED_OUT`) are not retriable: resending them
    /// would give up the ordering and the idempotence the producer was
    /// configured with.
    pub fn is_retriable(&self) -> bool {
        if self.op == DELIVERY {
            return self.retriable;
        }
        self.retriable || is_retriable_code(self.code)
    }

    /// Whether the current transaction must be aborted.
    pub fn txn_requires_abort(&self) -> bool {
        self.txn_requires_abort
    }
}

/// The operation name of delivery errors.
const DELIVERY: &str = "delivery";

/// Whether librdkafka 2.12 retries a Produce request that failed with
/// `code`: the codes `rd_kafka_handle_Produce_error` (rdkafka_request.c)
/// maps to the RETRY or REFRESH action, explicitly or through the defaults
/// of `rd_kafka_err_action`. A delivery report with one of them means the
/// record ran out of retries or time while librdkafka kept it unwritten or
/// could retry it safely; every other code is permanent there.
pub(crate) fn delivery_is_retriable(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::Transport
            | ErrorCode::Ssl
            | ErrorCode::TimedOutQueue
            | ErrorCode::TimedOut
            | ErrorCode::Retry
            | ErrorCode::WaitCoord
            | ErrorCode::DestroyBroker
            | ErrorCode::UnknownTopicOrPart
            | ErrorCode::KafkaStorageError
            | ErrorCode::NotEnoughReplicas
            | ErrorCode::NotEnoughReplicasAfterAppend
            | ErrorCode::LeaderNotAvailable
            | ErrorCode::NotLeaderForPartition
            | ErrorCode::BrokerNotAvailable
            | ErrorCode::ReplicaNotAvailable
            | ErrorCode::CoordinatorNotAvailable
            | ErrorCode::NotCoordinator
            | ErrorCode::CoordinatorLoadInProgress
            | ErrorCode::RequestTimedOut
            | ErrorCode::InvalidMsg
    )
}

/// Codes that are retriable whatever the flags say (librdkafka only sets the
/// flag on `rd_kafka_error_t` objects, not on plain codes).
fn is_retriable_code(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::QueueFull
            | ErrorCode::MsgTimedOut
            | ErrorCode::TimedOut
            | ErrorCode::Transport
            | ErrorCode::AllBrokersDown
            | ErrorCode::LeaderNotAvailable
            | ErrorCode::NotLeaderForPartition
            | ErrorCode::RequestTimedOut
            | ErrorCode::NetworkException
            | ErrorCode::NotEnoughReplicas
            | ErrorCode::NotEnoughReplicasAfterAppend
            | ErrorCode::NotCoordinator
            | ErrorCode::CoordinatorNotAvailable
            | ErrorCode::CoordinatorLoadInProgress
            | ErrorCode::UnknownTopicOrPart
    )
}

impl fmt::Display for KafkaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed: {} ({})", self.op, self.message, self.code)?;
        if self.fatal {
            f.write_str(" [fatal]")?;
        }
        Ok(())
    }
}

impl std::error::Error for KafkaError {}

/// Every error kafkit returns.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// librdkafka or a broker reported an error.
    #[error(transparent)]
    Kafka(#[from] KafkaError),
    /// A configuration property was rejected when it was set.
    #[error("invalid configuration property `{key}`: {reason}")]
    Config {
        /// The property's name.
        key: String,
        /// Why it was rejected (librdkafka's words where it gave any).
        reason: String,
    },
    /// An argument was not valid (an empty topic name, a NUL byte, ...).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// Encoding or decoding JSON failed.
    #[error("JSON error: {0}")]
    Json(#[from] serde_json::Error),
    /// Reading a file failed.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The consumer reached the end of a partition (only reported with
    /// `enable.partition.eof=true`). Not a failure: more messages may come.
    #[error("reached the end of {topic} [{partition}] at offset {offset}")]
    PartitionEof {
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
        /// The offset the next message will get.
        offset: i64,
    },
    /// The client was closed; no more operations are accepted.
    #[error("the {0} is closed")]
    Closed(&'static str),
    /// A [`Codec`](crate::Codec) could not encode a record's key or value
    /// (before anything was sent), or decode a message's.
    #[error("{what} failed for topic {topic}{}: {reason}", at(*.partition, *.offset))]
    Codec {
        /// What failed, such as `"encoding the key"` or `"decoding the value"`.
        what: &'static str,
        /// The topic of the record or message.
        topic: String,
        /// The message's partition (`None` for a record not sent yet).
        partition: Option<i32>,
        /// The message's offset (`None` for a record not sent yet).
        offset: Option<i64>,
        /// The codec's reason.
        reason: String,
    },
    /// A stream-processing [`App`](crate::streams::App) stopped: an agent
    /// or timer panicked, a commit could not be made in time, or the app
    /// could not keep its guarantee.
    #[error("stream processing: {0}")]
    Stream(String),
}

/// " partition P offset O" for the codec error's message, as far as known.
fn at(partition: Option<i32>, offset: Option<i64>) -> String {
    let mut s = String::new();
    if let Some(p) = partition {
        s.push_str(&format!(" partition {p}"));
    }
    if let Some(o) = offset {
        s.push_str(&format!(" offset {o}"));
    }
    s
}

impl Error {
    pub(crate) fn kafka(op: &'static str, raw: RawError) -> Self {
        Error::Kafka(KafkaError::from_raw(op, raw))
    }

    /// The Kafka error code, for errors that come from librdkafka or a broker.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Error::Kafka(e) => Some(e.code),
            Error::PartitionEof { .. } => Some(ErrorCode::PartitionEof),
            _ => None,
        }
    }

    /// Whether retrying the operation may succeed.
    pub fn is_retriable(&self) -> bool {
        matches!(self, Error::Kafka(e) if e.is_retriable())
    }

    /// Whether the client is in an unrecoverable state.
    pub fn is_fatal(&self) -> bool {
        matches!(self, Error::Kafka(e) if e.is_fatal())
    }

    /// Whether the current transaction must be aborted.
    pub fn txn_requires_abort(&self) -> bool {
        matches!(self, Error::Kafka(e) if e.txn_requires_abort())
    }
}

/// librdkafka's error table as (code, name, description). Used by the test
/// that keeps `src/error/codes.rs` in step with librdkafka.
#[doc(hidden)]
pub fn __librdkafka_error_table() -> Vec<(i32, String, String)> {
    native::error_table()
}

#[cfg(test)]
mod tests {
    use super::ErrorCode;
    use crate::native::code;

    #[test]
    fn named_codes_are_the_table_codes() {
        let pairs = [
            (code::NO_ERROR, ErrorCode::NoError),
            (code::PARTITION_EOF, ErrorCode::PartitionEof),
            (code::INVALID_ARG, ErrorCode::InvalidArg),
            (code::TIMED_OUT, ErrorCode::TimedOut),
            (code::ASSIGN_PARTITIONS, ErrorCode::AssignPartitions),
            (code::STATE, ErrorCode::State),
            (code::NO_OFFSET, ErrorCode::NoOffset),
            (code::FATAL, ErrorCode::Fatal),
        ];
        for (raw, named) in pairs {
            assert_eq!(ErrorCode::from_raw(raw), named, "code {raw}");
        }
    }

    #[test]
    fn local_codes_are_the_ones_librdkafka_names_with_an_underscore() {
        for (raw, name, _) in crate::native::error_table() {
            if name == "_BEGIN" || name == "_END" {
                continue; // the range markers themselves
            }
            assert_eq!(
                ErrorCode::from_raw(raw).is_local(),
                name.starts_with('_'),
                "{name} ({raw})"
            );
        }
        // Outside librdkafka's range for its own codes, a code is not local.
        assert!(!ErrorCode::from_raw(-500).is_local());
        assert!(!ErrorCode::from_raw(-1).is_local());
        assert!(!ErrorCode::from_raw(-50).is_local());
    }
}
