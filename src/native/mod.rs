//! The native layer: the only module of kafkit that contains `unsafe`.
//!
//! Every librdkafka handle is owned through one generic type,
//! `ptr::NativePtr` (a `NonNull` plus the C function that destroys it),
//! which has the layer's one `Drop` for C handles. A handle made from a
//! client (queue, topic, event, message) holds a reference to the client's
//! handle, which is destroyed when the last of them goes. Integer codes
//! coming from C stay integers until the safe layer converts them with a
//! complete match; the ones kafkit's code names are in `code`.
//!
//! librdkafka's event API hands delivery reports, logs, errors and
//! statistics to Rust threads that poll a queue. Rust runs under a C stack
//! frame only in two trampolines, the queue wake-up hook (`wake`) and the
//! rebalance callback (`rebalance`), each wholly under `catch_unwind`.
//!
//! Modules depend on each other in one direction only: the building blocks
//! (`ptr`, `sys`, `convert`, `error`, `trampoline`) on nothing else, `client`
//! on those and on `conf` and `rebalance`, and the files that add calls to a
//! client (`queue`, `topic`, `produce`, `consumer`) on `client`. This file
//! declares and re-exports them; it holds only the event type constants and
//! the version.

mod admin;
mod client;
mod conf;
mod consumer;
mod convert;
mod error;
mod event;
mod message;
mod metadata;
mod mock;
mod oauth;
mod produce;
mod ptr;
mod queue;
mod rebalance;
mod sys;
mod topic;
mod tpl;
mod trampoline;
mod txn;
mod wake;

pub(crate) use admin::AclSpec;
pub(crate) use admin::ScramChange;
pub(crate) use admin::{
    AdminOp, AdminOptions as NativeAdminOptions, NewTopicSpec, RequestSettings, TopicOutcome,
};
pub(crate) use admin::{
    ClusterInfo, GroupInfo, GroupListings, GroupOutcome, MemberInfo, NewPartitionsSpec, NodeInfo,
    OffsetToCommit, TopicInfo,
};
pub(crate) use admin::{ConfigCall, ConfigChange, ConfigEntryOut, ConfigResourceSpec};
pub(crate) use client::{ClientKind, NativeClient, LIVE_CLIENTS};
pub(crate) use conf::NativeConf;
pub(crate) use consumer::NativeGroupMetadata;
pub(crate) use error::{code, error_table, RawError};
pub(crate) use event::{DeliveryView, DrBuffer, NativeEvent};
pub(crate) use message::NativeMessage;
pub(crate) use metadata::ClusterMeta;
pub(crate) use mock::NativeMock;
pub(crate) use oauth::WeakClient;
pub(crate) use produce::{NativeHeaders, ProduceArgs};
pub(crate) use queue::NativeQueue;
pub(crate) use rebalance::{RebalanceCall, RebalanceHook};
pub(crate) use topic::{NativeTopic, PARTITION_UA};
pub(crate) use tpl::{TopicPartitionList, TplEntry};
pub(crate) use wake::WakingQueue;

/// Event type constants (`RD_KAFKA_EVENT_*`), kept as integers.
pub(crate) mod event_type {
    pub(crate) const DR: i32 = rdkafka_sys::bindings::RD_KAFKA_EVENT_DR;
    pub(crate) const LOG: i32 = rdkafka_sys::bindings::RD_KAFKA_EVENT_LOG;
    pub(crate) const ERROR: i32 = rdkafka_sys::bindings::RD_KAFKA_EVENT_ERROR;
    pub(crate) const STATS: i32 = rdkafka_sys::bindings::RD_KAFKA_EVENT_STATS;
    pub(crate) const OFFSET_COMMIT: i32 = rdkafka_sys::bindings::RD_KAFKA_EVENT_OFFSET_COMMIT;
    pub(crate) const OAUTHBEARER_TOKEN_REFRESH: i32 =
        rdkafka_sys::bindings::RD_KAFKA_EVENT_OAUTHBEARER_TOKEN_REFRESH;
}

/// The version string of the linked librdkafka.
pub(crate) fn librdkafka_version() -> String {
    // SAFETY: rd_kafka_version_str returns a static NUL-terminated string.
    unsafe { convert::cstr_lossy(rdkafka_sys::bindings::rd_kafka_version_str()) }
}
