//! What a producer sends and what it gets back.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

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

/// A topic name that is cheap to clone (a shared string).
///
/// [`Record::to`] accepts a `&str` or a `String` too, but then allocates a
/// new name for every record. Building the `Topic` once and handing a
/// reference or a clone to each record sends without allocating a name, and
/// the [`RecordMetadata`] of each delivery shares the same string.
///
/// ```
/// use kafkit::{Record, Topic};
///
/// let users = Topic::new("users");
/// let a = Record::to(&users).value("alice");
/// let b = Record::to(&users).value("bob");
/// assert_eq!(a.topic(), "users");
/// assert_eq!(users, "users");
/// # let _ = b;
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Topic(Arc<str>);

impl Topic {
    /// A topic name. The name is checked when a record is sent to it.
    pub fn new(name: impl Into<Topic>) -> Self {
        name.into()
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether both share one string (then they are equal).
    pub(crate) fn same(&self, other: &Topic) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Deref for Topic {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Topic {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for Topic {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl From<&str> for Topic {
    fn from(name: &str) -> Self {
        Topic(Arc::from(name))
    }
}

impl From<String> for Topic {
    fn from(name: String) -> Self {
        Topic(Arc::from(name))
    }
}

impl From<&String> for Topic {
    fn from(name: &String) -> Self {
        Topic(Arc::from(name.as_str()))
    }
}

impl From<Arc<str>> for Topic {
    fn from(name: Arc<str>) -> Self {
        Topic(name)
    }
}

impl From<&Topic> for Topic {
    fn from(topic: &Topic) -> Self {
        topic.clone()
    }
}

impl From<Topic> for String {
    fn from(topic: Topic) -> Self {
        topic.0.to_string()
    }
}

impl PartialEq<str> for Topic {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for Topic {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl PartialEq<String> for Topic {
    fn eq(&self, other: &String) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<Topic> for str {
    fn eq(&self, other: &Topic) -> bool {
        self == &*other.0
    }
}

impl PartialEq<Topic> for &str {
    fn eq(&self, other: &Topic) -> bool {
        *self == &*other.0
    }
}

impl PartialEq<Topic> for String {
    fn eq(&self, other: &Topic) -> bool {
        **self == *other.0
    }
}

/// A record to produce: topic, optional key, value, headers, partition and
/// timestamp.
///
/// Sending copies the key, value and headers into librdkafka's queue and
/// drops the record at once, on the sending thread. If the delivery fails,
/// the record is rebuilt from that copy and handed back whole, so nothing is
/// lost.
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
    pub(crate) topic: Topic,
    pub(crate) key: Option<Vec<u8>>,
    pub(crate) value: Option<Vec<u8>>,
    pub(crate) headers: Vec<Header>,
    pub(crate) partition: Option<i32>,
    pub(crate) timestamp: Option<i64>,
}

impl Record {
    /// A record for `topic` with no key, no value and no headers.
    ///
    /// Pass a [`Topic`] (or `&Topic`) to avoid allocating the name for
    /// every record.
    pub fn to(topic: impl Into<Topic>) -> Self {
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

    /// The topic, as the shared name.
    pub fn topic_name(&self) -> &Topic {
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
    pub topic: Topic,
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
