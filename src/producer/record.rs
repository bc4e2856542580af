//! What a producer sends and what it gets back.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;

use serde::Serialize;

use super::Payload;
use crate::Error;

/// One header of a record: a name and an optional value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The header's name.
    pub name: String,
    /// The header's value (`None` is a null value).
    pub value: Option<Vec<u8>>,
}

/// A topic name, interned: `Copy`, compared by pointer, free to pass around.
///
/// Each distinct name is stored once for the life of the process and never
/// freed (Kafka topics are few; a program that invents an unbounded number
/// of names would keep them all). Building a `Topic` looks the name up, so
/// keep one when sending many records, although [`Record::to`] with a `&str`
/// is cheap too: each thread remembers the last name it looked up.
///
/// ```
/// use kafkit::{Record, Topic};
///
/// let users = Topic::new("users");
/// let a = Record::to(users).value("alice");
/// let b = Record::to("users").value("bob");
/// assert_eq!(a.topic_name(), b.topic_name());
/// assert_eq!(users, "users");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Topic(&'static names::Name);

impl Topic {
    /// The interned topic `name`. The name is checked when a record is sent
    /// to it.
    pub fn new(name: impl Into<Topic>) -> Self {
        name.into()
    }

    /// The name.
    pub fn as_str(&self) -> &'static str {
        &self.0 .0
    }

    /// Whether both are the same interned name: a pointer comparison, with
    /// the same answer as `==`.
    pub(crate) fn same(&self, other: &Topic) -> bool {
        std::ptr::eq(self.0, other.0)
    }

    fn intern(name: &str) -> Topic {
        Topic(names::intern(name))
    }
}

/// The process-wide set of topic names.
mod names {
    use std::cell::Cell;
    use std::collections::HashMap;
    use std::sync::{OnceLock, RwLock};

    /// A stored name (a thin pointer to it is a `Topic`).
    #[derive(PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub struct Name(pub(super) Box<str>);

    type Set = HashMap<&'static str, &'static Name>;

    static NAMES: OnceLock<RwLock<Set>> = OnceLock::new();

    thread_local! {
        /// The name this thread interned last: most threads send to one
        /// topic at a time, so this skips the shared set.
        static LAST: Cell<Option<&'static Name>> = const { Cell::new(None) };
    }

    /// The stored copy of `name`, stored now if new.
    pub(super) fn intern(name: &str) -> &'static Name {
        let last = LAST.try_with(Cell::get).ok().flatten();
        if let Some(last) = last.filter(|last| *last.0 == *name) {
            return last;
        }
        let set = NAMES.get_or_init(|| RwLock::new(Set::default()));
        let found = set
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .copied();
        let stored = match found {
            Some(stored) => stored,
            None => {
                let mut set = set.write().unwrap_or_else(|p| p.into_inner());
                match set.get(name) {
                    Some(stored) => *stored,
                    None => {
                        let stored: &'static Name = Box::leak(Box::new(Name(name.into())));
                        set.insert(&stored.0, stored);
                        stored
                    }
                }
            }
        };
        let _ = LAST.try_with(|last| last.set(Some(stored)));
        stored
    }
}

impl Deref for Topic {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Topic {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for Topic {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl From<&str> for Topic {
    fn from(name: &str) -> Self {
        Topic::intern(name)
    }
}

impl From<String> for Topic {
    fn from(name: String) -> Self {
        Topic::intern(&name)
    }
}

impl From<&String> for Topic {
    fn from(name: &String) -> Self {
        Topic::intern(name)
    }
}

impl From<&Topic> for Topic {
    fn from(topic: &Topic) -> Self {
        *topic
    }
}

impl From<Topic> for String {
    fn from(topic: Topic) -> Self {
        topic.as_str().to_string()
    }
}

impl PartialEq<str> for Topic {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Topic {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Topic {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other.as_str()
    }
}

impl PartialEq<Topic> for str {
    fn eq(&self, other: &Topic) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<Topic> for &str {
    fn eq(&self, other: &Topic) -> bool {
        *self == other.as_str()
    }
}

impl PartialEq<Topic> for String {
    fn eq(&self, other: &Topic) -> bool {
        self.as_str() == other.as_str()
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
    pub(crate) key: Option<Payload>,
    pub(crate) value: Option<Payload>,
    pub(crate) headers: Vec<Header>,
    pub(crate) partition: Option<i32>,
    pub(crate) timestamp: Option<i64>,
}

impl Record {
    /// A record for `topic` (a [`Topic`], or a name) with no key, no value
    /// and no headers.
    #[inline(always)]
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

    /// Sets the key (used by the partitioner and by log compaction). Any
    /// [`Payload`] form works: owned, static or shared bytes.
    #[inline(always)]
    pub fn key(mut self, key: impl Into<Payload>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Sets the value. Any [`Payload`] form works: owned bytes or text,
    /// or, to send the same bytes many times without allocating, static or
    /// shared (`Arc<[u8]>`) bytes.
    #[inline(always)]
    pub fn value(mut self, value: impl Into<Payload>) -> Self {
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
        self.value = Some(serde_json::to_vec(value)?.into());
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
    ///
    /// `0` is not the epoch here: librdkafka reads a timestamp of 0 as "not
    /// set" and stamps the record with the time of sending instead, as it
    /// does without this call. A record that must carry the epoch itself
    /// cannot be written through librdkafka.
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

    /// Takes the key, value and headers out of the record (static or
    /// shared bytes are copied into the vectors).
    pub fn into_parts(self) -> (Option<Vec<u8>>, Option<Vec<u8>>, Vec<Header>) {
        (
            self.key.map(Payload::into_vec),
            self.value.map(Payload::into_vec),
            self.headers,
        )
    }
}

impl fmt::Debug for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Record")
            .field("topic", &self.topic)
            .field("key_len", &self.key.as_ref().map(|k| k.len()))
            .field("value_len", &self.value.as_ref().map(|v| v.len()))
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
    /// The record, as it was given (for a record still unreported when the
    /// producer was torn down, error code `Destroy`, only what kafkit kept
    /// of it: its key, value and headers stayed inside librdkafka).
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_are_interned_once_per_name() {
        let a = Topic::new("interned-a");
        let b = Topic::from(String::from("interned-a"));
        let c = Topic::from(&String::from("interned-a"));
        let other = Topic::new("interned-b");
        assert!(a.same(&b) && a.same(&c));
        assert!(!a.same(&other));
        assert_eq!(a, "interned-a");
        assert_ne!(a, other);
        // From another thread, with its own last-name cache.
        let d = std::thread::spawn(|| Topic::new("interned-a"))
            .join()
            .expect("thread");
        assert!(a.same(&d));
        assert_eq!(format!("{a} {a:?}"), "interned-a \"interned-a\"");
    }
}
