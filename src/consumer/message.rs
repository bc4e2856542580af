//! [`Message`]: an owned, zero-copy consumed message.

use std::borrow::Cow;

use serde::de::DeserializeOwned;

use crate::native::NativeMessage;
use crate::producer::Timestamp;
use crate::Error;

/// A consumed message.
///
/// It owns librdkafka's message (no payload byte is copied), which keeps the
/// consumer's client alive, so it is `'static`, `Send` and `Sync`: it can be
/// moved into tasks, kept in batches, and outlive the consumer handle.
pub struct Message {
    native: NativeMessage,
}

impl Message {
    pub(crate) fn new(native: NativeMessage) -> Self {
        Message { native }
    }

    pub(crate) fn native(&self) -> &NativeMessage {
        &self.native
    }

    /// The topic.
    pub fn topic(&self) -> &str {
        self.native.topic()
    }

    /// The partition.
    pub fn partition(&self) -> i32 {
        self.native.partition()
    }

    /// The offset in the partition.
    pub fn offset(&self) -> i64 {
        self.native.offset()
    }

    /// The key, if the message has one.
    pub fn key(&self) -> Option<&[u8]> {
        self.native.key()
    }

    /// The value (`None` for a tombstone).
    pub fn value(&self) -> Option<&[u8]> {
        self.native.payload()
    }

    /// The value decoded as UTF-8, if it is valid UTF-8.
    pub fn value_str(&self) -> Option<&str> {
        self.value().and_then(|v| std::str::from_utf8(v).ok())
    }

    /// Decodes the value as JSON. On a decode error the message is still
    /// the caller's to inspect.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        Ok(serde_json::from_slice(self.value().unwrap_or(b"null"))?)
    }

    /// The timestamp and its type.
    pub fn timestamp(&self) -> Timestamp {
        let (kind, millis) = self.native.timestamp();
        Timestamp::from_raw(kind, millis)
    }

    /// The partition leader's epoch when the message was fetched, if known.
    pub fn leader_epoch(&self) -> Option<i32> {
        Some(self.native.leader_epoch()).filter(|e| *e >= 0)
    }

    /// The headers, in order, as (name, value) pairs. A name that is not
    /// UTF-8 (other clients may write one) comes with U+FFFD in place of its
    /// invalid bytes, so it never reads as another valid name; see
    /// [`raw_headers`](Self::raw_headers) for the bytes.
    pub fn headers(&self) -> impl Iterator<Item = (Cow<'_, str>, Option<&[u8]>)> + '_ {
        self.raw_headers()
            .map(|(name, value)| (String::from_utf8_lossy(name), value))
    }

    /// The headers, in order, with each name as the bytes it was written
    /// with, up to its first NUL byte (librdkafka hands names over as C
    /// strings).
    pub fn raw_headers(&self) -> impl Iterator<Item = (&[u8], Option<&[u8]>)> + '_ {
        (0..self.native.header_count()).filter_map(move |i| self.native.header(i))
    }

    /// The value of the last header called `name`.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.raw_headers()
            .filter(|(n, _)| *n == name.as_bytes())
            .last()
            .and_then(|(_, v)| v)
    }
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Message")
            .field("topic", &self.topic())
            .field("partition", &self.partition())
            .field("offset", &self.offset())
            .field("key_len", &self.key().map(<[u8]>::len))
            .field("value_len", &self.value().map(<[u8]>::len))
            .finish()
    }
}
