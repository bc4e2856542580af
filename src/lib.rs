//! # kafkit — a fast, safe Kafka client for Rust
//!
//! kafkit wraps [librdkafka] (compiled from the source vendored in the
//! `rdkafka-sys` crate) in thin safe types:
//!
//! - [`Producer`]: `send(record).await` with backpressure, a
//!   [`DeliveryFuture`] per record, callbacks, blocking waits, `flush`,
//!   `purge`, `close`; failed deliveries hand the [`Record`] back.
//! - [`Consumer`]: owned, zero-copy [`Message`]s read with `poll`, a blocking
//!   iterator with an idle timeout, an async [`MessageStream`], or batches;
//!   group rebalances through a [`RebalanceListener`]; commits, stored
//!   offsets, seek, pause and resume, watermarks; a bounded `close`.
//! - [`ClientConfig`]: any librdkafka property, validated as it is set.
//! - [`TypedTopic`]: typed keys and values through a [`Codec`] (JSON, UTF-8,
//!   Java-compatible numbers, bytes); undecodable messages handed back whole
//!   and forwarded by a [`DeadLetter`].
//! - [`MockCluster`]: librdkafka's in-process broker for tests and examples.
//! - [`Error`] and [`ErrorCode`]: every librdkafka error code.
//!
//! Logs from librdkafka are emitted as [`tracing`] events with the target
//! `librdkafka`; errors and [`Statistics`] reach callbacks.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), kafkit::Error> {
//! use kafkit::{MockCluster, Producer, Record};
//!
//! let cluster = MockCluster::new(1)?;
//! let producer = Producer::new(&cluster.client_config()?)?;
//! let delivery = producer.send(Record::to("greetings").value("hello")).await?;
//! let meta = delivery.await?;
//! assert_eq!(meta.offset, 0);
//! # Ok(()) }
//! ```
//!
//! [librdkafka]: https://github.com/confluentinc/librdkafka
#![deny(unsafe_code, clippy::undocumented_unsafe_blocks)]
#![warn(missing_docs)]
// A failed send hands the record back by value inside the error. Boxing it
// would add an allocation to the queue-full path, which backpressure takes
// often; moving ~180 bytes is cheaper.
#![allow(clippy::result_large_err)]

pub mod admin;
mod client;
mod config;
mod consumer;
mod error;
mod exactly_once;
mod metadata;
mod mock;
// The native layer is the one module exempt from the unsafe_code lint.
#[allow(unsafe_code)]
mod native;
mod oauth;
mod producer;
pub mod statistics;
#[cfg(feature = "streams")]
pub mod streams;
mod typed;

pub use admin::{AclBinding, AclBindingFilter, AclOperation, AclPermissionType, PatternType};
pub use admin::{AdminClient, AdminFuture, AdminOptions, EntityResult, NewTopic, PartitionResult};
pub use admin::{
    AlterConfigOp, ConfigChanges, ConfigEntry, ConfigResource, ConfigResult, ConfigSource,
    ResourceType,
};
pub use admin::{
    ClusterDescription, CommittedOffset, ConsumerGroupDescription, ConsumerGroupListing,
    ConsumerGroupListings, ConsumerGroupState, ConsumerGroupType, ElectionType, GroupLag,
    GroupOffset, IsolationLevel, ListedOffset, MemberDescription, NewPartitions, Node, OffsetSpec,
    PartitionLag, TopicDescription, TopicPartitionInfo,
};
pub use admin::{ScramCredentialAlteration, ScramCredentialInfo, ScramMechanism};
pub use config::{Acks, ClientConfig, Compression, OffsetReset, SecurityProtocol};
pub use consumer::{
    BatchStream, CommitFuture, Consumer, ConsumerBuilder, ConsumerGroupMetadata, Iter, Message,
    MessageStream, Offset, PartitionOffset, PartitionStream, ReadUntil, RebalanceListener,
    TopicPartition,
};
#[doc(hidden)]
pub use error::__librdkafka_error_table;
pub use error::TxnAction;
pub use error::{Error, ErrorCode, KafkaError};
pub use exactly_once::{BatchOutcome, ExactlyOnce};
pub use metadata::{BrokerMetadata, Metadata, PartitionMetadata, TopicMetadata};
pub use mock::{ApiKey, MockCluster};
pub use oauth::OAuthToken;
pub use producer::TxnFuture;
pub use producer::{
    DeliveryFuture, DeliveryResult, Header, Payload, ProduceError, Producer, ProducerBuilder,
    Record, RecordMetadata, SendFuture, Timestamp, Topic,
};
pub use statistics::Statistics;
pub use typed::{
    BytesCodec, Codec, CodecError, DeadLetter, DecodeError, F64Codec, I32Codec, I64Codec,
    JsonCodec, NoKey, Nullable, StringCodec, TypedItem, TypedIter, TypedMessage, TypedStream,
    TypedTopic, DLQ_ERROR_HEADER, DLQ_OFFSET_HEADER, DLQ_PARTITION_HEADER, DLQ_TOPIC_HEADER,
};

/// The version of the librdkafka linked into this build.
pub fn librdkafka_version() -> String {
    native::librdkafka_version()
}

/// Number of librdkafka client instances alive in this process (including
/// the ones hosting mock clusters). For leak checks in tests.
#[doc(hidden)]
pub fn __live_clients() -> usize {
    native::LIVE_CLIENTS.load(std::sync::atomic::Ordering::Relaxed)
}
