//! Typed records: a [`TypedTopic`] names a topic and the [`Codec`]s of its
//! keys and values; records are made from it, and consumed messages decoded
//! through it, by a [`TypedStream`], a [`TypedIter`] or
//! [`TypedTopic::decode`]. A message that fails to decode comes back whole
//! in a [`DecodeError`], which a [`DeadLetter`] can forward to another topic.

mod codecs;

use std::borrow::Borrow;
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::Stream;
use serde::de::DeserializeOwned;
use serde::Serialize;

pub use codecs::{
    BytesCodec, Codec, CodecError, F64Codec, I32Codec, I64Codec, JsonCodec, NoKey, Nullable,
    StringCodec,
};

use crate::{Error, Iter, Message, MessageStream, Producer, Record, RecordMetadata, Topic};

/// A topic with the types of its keys and values and their codecs.
///
/// Cheap to clone (the codecs are shared). Build it with
/// [`new`](Self::new), or start from [`json`](Self::json) (no key, JSON
/// values) and change the key's codec with [`key`](Self::key).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), kafkit::Error> {
/// use futures::StreamExt;
/// use kafkit::{ClientConfig, Consumer, MockCluster, Producer, StringCodec, TypedTopic};
///
/// #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
/// struct User {
///     name: String,
///     age: u32,
/// }
///
/// let cluster = MockCluster::new(1)?;
/// let users = TypedTopic::json::<User>("users").key::<StringCodec>();
///
/// let producer = Producer::new(&cluster.client_config()?)?;
/// let user = User { name: "Alice".into(), age: 30 };
/// producer.send(users.record("alice", &user)?).await?.await?;
///
/// let mut config = cluster.client_config()?;
/// config.set("group.id", "doc")?.set("auto.offset.reset", "earliest")?;
/// let consumer = Consumer::new(&config)?;
/// consumer.subscribe(&["users"])?;
/// let mut messages = users.stream(consumer.stream());
/// // The outer result is the consumer's, the inner one the decoding's.
/// match messages.next().await.expect("a message")? {
///     Ok(message) => {
///         assert_eq!(message.key, "alice");
///         assert_eq!(message.value, user);
///     }
///     Err(failed) => panic!("{failed} (at offset {})", failed.message().offset()),
/// }
/// # Ok(()) }
/// ```
pub struct TypedTopic<K, V> {
    topic: Topic,
    key: Arc<dyn Codec<Item = K>>,
    value: Arc<dyn Codec<Item = V>>,
}

impl<K, V> Clone for TypedTopic<K, V> {
    fn clone(&self) -> Self {
        TypedTopic {
            topic: self.topic,
            key: Arc::clone(&self.key),
            value: Arc::clone(&self.value),
        }
    }
}

impl<K, V> fmt::Debug for TypedTopic<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TypedTopic")
            .field("topic", &self.topic)
            .field("key", &std::any::type_name::<K>())
            .field("value", &std::any::type_name::<V>())
            .finish()
    }
}

impl TypedTopic<(), ()> {
    /// `topic` with JSON values of type `V` and no key.
    pub fn json<V: Serialize + DeserializeOwned + 'static>(
        topic: impl Into<Topic>,
    ) -> TypedTopic<(), V> {
        TypedTopic::new(topic, NoKey, JsonCodec::<V>::new())
    }
}

impl<K: 'static, V: 'static> TypedTopic<K, V> {
    /// `topic` with these key and value codecs.
    pub fn new<KC, VC>(topic: impl Into<Topic>, key: KC, value: VC) -> Self
    where
        KC: Codec<Item = K>,
        VC: Codec<Item = V>,
    {
        TypedTopic {
            topic: topic.into(),
            key: Arc::new(key),
            value: Arc::new(value),
        }
    }

    /// The same topic and values with keys through codec `C` (made with its
    /// `Default`).
    pub fn key<C: Codec + Default>(self) -> TypedTopic<C::Item, V> {
        self.key_codec(C::default())
    }

    /// The same topic and values with keys through `codec`.
    pub fn key_codec<C: Codec>(self, codec: C) -> TypedTopic<C::Item, V> {
        TypedTopic {
            topic: self.topic,
            key: Arc::new(codec),
            value: self.value,
        }
    }

    /// The same topic and keys with values through codec `C` (made with its
    /// `Default`).
    pub fn value<C: Codec + Default>(self) -> TypedTopic<K, C::Item> {
        self.value_codec(C::default())
    }

    /// The same topic and keys with values through `codec`.
    pub fn value_codec<C: Codec>(self, codec: C) -> TypedTopic<K, C::Item> {
        TypedTopic {
            topic: self.topic,
            key: self.key,
            value: Arc::new(codec),
        }
    }

    /// The topic.
    pub fn topic(&self) -> Topic {
        self.topic
    }

    /// A record for this topic with `key` and `value` encoded, ready for
    /// [`Producer::send`] (and for more headers, a partition, a timestamp).
    ///
    /// The key is taken by value (`"alice"` for a `String` key), the value
    /// by value or reference. An item its codec cannot encode is an
    /// [`Error::Codec`] here, before anything is sent.
    pub fn record(&self, key: impl Into<K>, value: impl Borrow<V>) -> Result<Record, Error> {
        let encode_error = |what, e: CodecError| Error::Codec {
            what,
            topic: self.topic.to_string(),
            partition: None,
            offset: None,
            reason: e.into_reason(),
        };
        let key = self
            .key
            .encode(&key.into())
            .map_err(|e| encode_error("encoding the key", e))?;
        let value = self
            .value
            .encode(value.borrow())
            .map_err(|e| encode_error("encoding the value", e))?;
        let mut record = Record::to(self.topic);
        if let Some(key) = key {
            record = record.key(key);
        }
        if let Some(value) = value {
            record = record.value(value);
        }
        Ok(record)
    }

    /// The key and value codecs.
    #[cfg_attr(not(feature = "streams"), allow(dead_code))]
    pub(crate) fn codecs(&self) -> (Arc<dyn Codec<Item = K>>, Arc<dyn Codec<Item = V>>) {
        (self.key.clone(), self.value.clone())
    }

    /// Decodes a consumed message's key and value. On failure the message
    /// is handed back inside the error. The message's topic is not checked:
    /// the codecs decide.
    pub fn decode(&self, message: Message) -> Result<TypedMessage<K, V>, DecodeError> {
        let decode_error = |what, e: CodecError, message: Message| DecodeError {
            error: Error::Codec {
                what,
                topic: message.topic().to_string(),
                partition: Some(message.partition()),
                offset: Some(message.offset()),
                reason: e.into_reason(),
            },
            message,
        };
        let key = match self.key.decode(message.key()) {
            Ok(key) => key,
            Err(e) => return Err(decode_error("decoding the key", e, message)),
        };
        match self.value.decode(message.value()) {
            Ok(value) => Ok(TypedMessage {
                key,
                value,
                message,
            }),
            Err(e) => Err(decode_error("decoding the value", e, message)),
        }
    }

    /// Decodes the messages of `stream` (from [`Consumer::stream`](crate::Consumer::stream)).
    pub fn stream(&self, stream: MessageStream) -> TypedStream<K, V> {
        TypedStream {
            topic: self.clone(),
            stream,
        }
    }

    /// Decodes the messages of `iter` (from [`Consumer::iter`](crate::Consumer::iter)).
    pub fn iter<'a>(&self, iter: Iter<'a>) -> TypedIter<'a, K, V> {
        TypedIter {
            topic: self.clone(),
            iter,
        }
    }
}

/// A consumed message with its key and value decoded.
pub struct TypedMessage<K, V> {
    /// The decoded key (`()` for [`NoKey`]).
    pub key: K,
    /// The decoded value.
    pub value: V,
    message: Message,
}

impl<K, V> TypedMessage<K, V> {
    /// The message as consumed: topic, partition, offset, headers,
    /// timestamp, and the bytes (to commit or store its offset, for one).
    pub fn message(&self) -> &Message {
        &self.message
    }

    /// The key, the value and the consumed message.
    pub fn into_parts(self) -> (K, V, Message) {
        (self.key, self.value, self.message)
    }
}

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for TypedMessage<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TypedMessage")
            .field("topic", &self.message.topic())
            .field("partition", &self.message.partition())
            .field("offset", &self.message.offset())
            .field("key", &self.key)
            .field("value", &self.value)
            .finish()
    }
}

/// A message whose key or value could not be decoded, handed back whole
/// with the reason: skip it, stop, or forward it (see [`DeadLetter`]).
///
/// `?` converts it into its [`Error`] (an [`Error::Codec`]), dropping the
/// message.
#[derive(Debug)]
pub struct DecodeError {
    error: Error,
    message: Message,
}

impl DecodeError {
    /// Why decoding failed: an [`Error::Codec`] naming the topic,
    /// partition, offset and what failed.
    pub fn error(&self) -> &Error {
        &self.error
    }

    /// The message that failed to decode.
    pub fn message(&self) -> &Message {
        &self.message
    }

    /// The message, for the caller to keep.
    pub fn into_message(self) -> Message {
        self.message
    }

    /// The reason and the message.
    pub fn into_parts(self) -> (Error, Message) {
        (self.error, self.message)
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

impl std::error::Error for DecodeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl From<DecodeError> for Error {
    fn from(e: DecodeError) -> Self {
        e.error
    }
}

/// What a typed stream or iterator yields: the consumer's error (as the
/// untyped stream gives it) outside, the decoding's outcome inside.
pub type TypedItem<K, V> = Result<Result<TypedMessage<K, V>, DecodeError>, Error>;

/// An async stream of decoded messages over a [`MessageStream`]; see
/// [`TypedTopic::stream`]. Cancellation safe, like the stream it wraps.
pub struct TypedStream<K, V> {
    topic: TypedTopic<K, V>,
    stream: MessageStream,
}

impl<K, V> TypedStream<K, V> {
    /// The untyped stream, for its consumer.
    pub fn inner(&self) -> &MessageStream {
        &self.stream
    }

    /// The untyped stream.
    pub fn into_inner(self) -> MessageStream {
        self.stream
    }
}

impl<K: 'static, V: 'static> Stream for TypedStream<K, V> {
    type Item = TypedItem<K, V>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        Pin::new(&mut this.stream)
            .poll_next(cx)
            .map(|item| item.map(|read| read.map(|m| this.topic.decode(m))))
    }
}

/// A blocking iterator of decoded messages over an [`Iter`]; see
/// [`TypedTopic::iter`].
pub struct TypedIter<'a, K, V> {
    topic: TypedTopic<K, V>,
    iter: Iter<'a>,
}

impl<K: 'static, V: 'static> Iterator for TypedIter<'_, K, V> {
    type Item = TypedItem<K, V>;

    fn next(&mut self) -> Option<Self::Item> {
        self.iter
            .next()
            .map(|read| read.map(|m| self.topic.decode(m)))
    }
}

/// Header naming why a dead letter failed to decode (the error's text).
pub const DLQ_ERROR_HEADER: &str = "kafkit.dlq.error";
/// Header naming a dead letter's source topic.
pub const DLQ_TOPIC_HEADER: &str = "kafkit.dlq.topic";
/// Header naming a dead letter's source partition (decimal text).
pub const DLQ_PARTITION_HEADER: &str = "kafkit.dlq.partition";
/// Header naming a dead letter's source offset (decimal text).
pub const DLQ_OFFSET_HEADER: &str = "kafkit.dlq.offset";

/// Forwards messages that failed to decode to a dead-letter topic.
///
/// The forwarded record has the message's key, value and headers as they
/// were, and four more headers: [`DLQ_ERROR_HEADER`] (the error's text),
/// [`DLQ_TOPIC_HEADER`], [`DLQ_PARTITION_HEADER`] and
/// [`DLQ_OFFSET_HEADER`] (the source topic, partition and offset).
///
/// ```no_run
/// # async fn run(consumer: kafkit::Consumer, producer: kafkit::Producer) -> Result<(), kafkit::Error> {
/// use futures::StreamExt;
/// use kafkit::{DeadLetter, TypedTopic};
///
/// let counts = TypedTopic::json::<u64>("counts");
/// let dead_letters = DeadLetter::new(producer, "counts.dlq");
/// let mut messages = counts.stream(consumer.stream());
/// while let Some(item) = messages.next().await {
///     match item? {
///         Ok(count) => println!("{}", count.value),
///         Err(failed) => {
///             dead_letters.forward(&failed).await?;
///         }
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct DeadLetter {
    producer: Producer,
    topic: Topic,
}

impl DeadLetter {
    /// Forwards to `topic` through `producer`.
    pub fn new(producer: Producer, topic: impl Into<Topic>) -> Self {
        DeadLetter {
            producer,
            topic: topic.into(),
        }
    }

    /// The dead-letter topic.
    pub fn topic(&self) -> Topic {
        self.topic
    }

    /// The record [`forward`](Self::forward) sends for `failed`.
    pub fn record(&self, failed: &DecodeError) -> Record {
        let message = failed.message();
        let mut record = Record::to(self.topic);
        if let Some(key) = message.key() {
            record = record.key(key);
        }
        if let Some(value) = message.value() {
            record = record.value(value);
        }
        for (name, value) in message.headers() {
            record = match value {
                Some(value) => record.header(name, value),
                None => record.null_header(name),
            };
        }
        record
            .header(DLQ_ERROR_HEADER, failed.error().to_string())
            .header(DLQ_TOPIC_HEADER, message.topic())
            .header(DLQ_PARTITION_HEADER, message.partition().to_string())
            .header(DLQ_OFFSET_HEADER, message.offset().to_string())
    }

    /// Sends `failed`'s message to the dead-letter topic and waits for its
    /// delivery. The caller keeps `failed` (to commit past it, say).
    pub async fn forward(&self, failed: &DecodeError) -> Result<RecordMetadata, Error> {
        let delivery = self.producer.send(self.record(failed)).await?;
        Ok(delivery.await?)
    }
}

impl fmt::Debug for DeadLetter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeadLetter")
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_values_can_move_between_threads() {
        fn send_sync<T: Send + Sync + Clone>() {}
        send_sync::<TypedTopic<String, serde_json::Value>>();
        send_sync::<DeadLetter>();
        fn send<T: Send>() {}
        send::<TypedMessage<String, Vec<u8>>>();
        send::<DecodeError>();
        send::<TypedStream<i32, f64>>();
    }

    #[test]
    fn records_carry_the_encoded_key_and_value() {
        let topic = TypedTopic::new("t", I32Codec, StringCodec);
        let record = topic.record(7, "seven".to_string()).unwrap();
        assert_eq!(record.topic(), "t");
        assert_eq!(record.key_bytes(), Some(&[0, 0, 0, 7][..]));
        assert_eq!(record.value_bytes(), Some(&b"seven"[..]));
        let no_key = TypedTopic::json::<Option<u8>>("t");
        let tombstone = no_key.record((), None).unwrap();
        assert_eq!(
            (tombstone.key_bytes(), tombstone.value_bytes()),
            (None, Some(&b"null"[..]))
        );
        let nullable = TypedTopic::new("t", NoKey, Nullable(StringCodec));
        let tombstone = nullable.record((), None).unwrap();
        assert_eq!(tombstone.value_bytes(), None);
    }
}
