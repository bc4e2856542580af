//! What a producer sends and what it gets back.

use std::fmt;

use serde::Serialize;

use crate::Error;

/// One header of a record: a name and an optional value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The header's name.
    pub name: String,
    /// The header's value (`None` is a null value).
    pub value: Option<Vec<u8>>,
}

/// A record to produce: topic, optional key, value, headers, partition and
/// timestamp.
///
/// The producer does not copy the key and value buffers: it keeps the record
/// until the broker acknowledges it, and a failed delivery hands the whole
/// record back, so nothing is lost.
///
/// ```
/// use kafkit::Record;
///
/// let record = Record::to("users")
///     .key("alice")
///     .value(r#"{"name":"alice"}"#)
///     .header("source", "signup")
///     .partition(0);
/// assert_eq!(record.topic(), "users");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Record {
    pub(crate) topic: String,
    pub(crate) key: Option<Vec<u8>>,
    pub(crate) value: Option<Vec<u8>>,
    pub(crate) headers: Vec<Header>,
    pub(crate) partition: Option<i32>,
    pub(crate) timestamp: Option<i64>,
}

impl Record {
    /// A record for `topic` with no key, no value and no headers.
    pub fn to(topic: impl Into<String>) -> Self {
        Record {
            topic: topic.into(),
            key: None,
            value: None,
            headers: Vec::new(),
            partition: None,
            timestamp: None,
        }
    }

    /// Sets the key (used by the partitioner and by log compaction).
    pub fn key(mut self, key: impl Into<Vec<u8>>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Sets the value.
    pub fn value(mut self, value: impl Into<Vec<u8>>) -> Self {
        self.value = Some(value.into());
        self
    }

    /// Sets the value to the JSON encoding of `value`.
    ///
    /// ```
    /// #[derive(serde::Serialize)]
    /// struct User { name: String }
    /// let r = kafkit::Record::to("users").json(&User { name: "bo".into() })?;
    /// assert_eq!(r.value_bytes(), Some(&br#"{"name":"bo"}"#[..]));
    /// # Ok::<(), kafkit::Error>(())
    /// ```
    pub fn json<T: Serialize + ?Sized>(mut self, value: &T) -> Result<Self, Error> {
        self.value = Some(serde_json::to_vec(value)?);
        Ok(self)
    }

    /// Adds a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        self.headers.push(Header {
            name: name.into(),
            value: Some(value.into()),
        });
        self
    }

    /// Adds a header with a null value.
    pub fn null_header(mut self, name: impl Into<String>) -> Self {
        self.headers.push(Header {
            name: name.into(),
            value: None,
        });
        self
    }

    /// Sends to this partition instead of letting the partitioner choose.
    pub fn partition(mut self, partition: i32) -> Self {
        self.partition = Some(partition);
        self
    }

    /// Sets the record's timestamp, in milliseconds since the Unix epoch
    /// (default: the time of sending).
    pub fn timestamp(mut self, millis: i64) -> Self {
        self.timestamp = Some(millis);
        self
    }

    /// The topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The key, if any.
    pub fn key_bytes(&self) -> Option<&[u8]> {
        self.key.as_deref()
    }

    /// The value, if any.
    pub fn value_bytes(&self) -> Option<&[u8]> {
        self.value.as_deref()
    }

    /// The headers, in order.
    pub fn headers(&self) -> &[Header] {
        &self.headers
    }

    /// The partition chosen by the caller, if any.
    pub fn partition_choice(&self) -> Option<i32> {
        self.partition
    }

    /// The timestamp chosen by the caller, if any.
    pub fn timestamp_choice(&self) -> Option<i64> {
        self.timestamp
    }

    /// Takes the key and value out of the record.
    pub fn into_parts(self) -> (Option<Vec<u8>>, Option<Vec<u8>>, Vec<Header>) {
        (self.key, self.value, self.headers)
    }
}

impl fmt::Debug for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Record")
            .field("topic", &self.topic)
            .field("key_len", &self.key.as_ref().map(Vec::len))
            .field("value_len", &self.value.as_ref().map(Vec::len))
            .field("headers", &self.headers.len())
            .field("partition", &self.partition)
            .field("timestamp", &self.timestamp)
            .finish()
    }
}

/// A message timestamp and what it means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timestamp {
    /// The broker did not give one.
    NotAvailable,
    /// Set by the producer (milliseconds since the Unix epoch).
    CreateTime(i64),
    /// Set by the broker when it appended the message.
    LogAppendTime(i64),
}

impl Timestamp {
    pub(crate) fn from_raw(kind: i32, millis: i64) -> Self {
        match kind {
            1 => Timestamp::CreateTime(millis),
            2 => Timestamp::LogAppendTime(millis),
            _ => Timestamp::NotAvailable,
        }
    }

    /// Milliseconds since the Unix epoch, if available.
    pub fn millis(self) -> Option<i64> {
        match self {
            Timestamp::NotAvailable => None,
            Timestamp::CreateTime(t) | Timestamp::LogAppendTime(t) => Some(t),
        }
    }
}

/// Where a delivered record was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordMetadata {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The record's offset in the partition (-1 when `acks=0`).
    pub offset: i64,
    /// The record's timestamp.
    pub timestamp: Timestamp,
}

/// A record that could not be sent or delivered, with the reason.
///
/// The record is handed back whole, so the caller can retry it, store it or
/// drop it knowingly. `?` converts it into an [`Error`] (dropping the record).
#[derive(Debug)]
pub struct ProduceError {
    /// Why the record was not delivered.
    pub error: Error,
    /// The record, as it was given.
    pub record: Record,
}

impl ProduceError {
    /// The record, for a retry.
    pub fn into_record(self) -> Record {
        self.record
    }
}

impl fmt::Display for ProduceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "record for topic {:?} not delivered: {}",
            self.record.topic, self.error
        )
    }
}

impl std::error::Error for ProduceError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl From<ProduceError> for Error {
    fn from(e: ProduceError) -> Self {
        e.error
    }
}

/// The outcome of one delivery.
pub type DeliveryResult = Result<RecordMetadata, ProduceError>;
