//! The native layer: the only module of kafkit that contains `unsafe`.
//!
//! Every librdkafka handle is owned through one generic type,
//! [`ptr::NativePtr`] (a `NonNull` plus the C function that destroys it),
//! which has the layer's one `Drop` for C handles. Integer codes coming
//! from C stay integers until the safe layer converts them with a complete
//! match. No Rust code is ever called from a C stack frame: librdkafka's event
//! API hands everything (delivery reports, logs, errors, statistics) to Rust
//! threads that poll a queue.

mod client;
mod conf;
mod consumer;
mod event;
mod message;
mod mock;
mod ptr;
mod sys;
mod tpl;

use std::ffi::CStr;

use libc::c_char;

pub(crate) use client::{
    ClientKind, NativeClient, NativeHeaders, NativeTopic, ProduceArgs, LIVE_CLIENTS, PARTITION_UA,
};
pub(crate) use conf::NativeConf;
pub(crate) use consumer::{NativeGroupMetadata, RebalanceCall, RebalanceHook, WakingQueue};
pub(crate) use event::{DeliveryView, DrBuffer, NativeEvent, NativeQueue};
pub(crate) use message::NativeMessage;
pub(crate) use mock::NativeMock;
pub(crate) use tpl::{TopicPartitionList, TplEntry};

/// Event type constants (`RD_KAFKA_EVENT_*`), kept as integers.
pub(crate) mod event_type {
    pub(crate) const DR: i32 = rdkafka_sys::bindings::RD_KAFKA_EVENT_DR;
    pub(crate) const LOG: i32 = rdkafka_sys::bindings::RD_KAFKA_EVENT_LOG;
    pub(crate) const ERROR: i32 = rdkafka_sys::bindings::RD_KAFKA_EVENT_ERROR;
    pub(crate) const STATS: i32 = rdkafka_sys::bindings::RD_KAFKA_EVENT_STATS;
    pub(crate) const OFFSET_COMMIT: i32 = rdkafka_sys::bindings::RD_KAFKA_EVENT_OFFSET_COMMIT;
}

/// An error read from librdkafka at the moment it was reported.
#[derive(Debug, Clone)]
pub(crate) struct RawError {
    pub code: i32,
    pub message: String,
    pub fatal: bool,
    pub retriable: bool,
    pub txn_requires_abort: bool,
}

impl RawError {
    /// An error with only a code; the message is librdkafka's description of it.
    pub(crate) fn from_code(code: i32) -> Self {
        RawError {
            code,
            message: err_description(code),
            fatal: false,
            retriable: false,
            txn_requires_abort: false,
        }
    }

    /// Reads and destroys an `rd_kafka_error_t`.
    ///
    /// # Safety
    /// `error` must be a valid, owned `rd_kafka_error_t` pointer; it is
    /// destroyed by this call.
    unsafe fn from_owned_error(error: *mut rdkafka_sys::bindings::rd_kafka_error_t) -> Self {
        // SAFETY: the caller hands us a valid owned error object; each accessor
        // only reads it, and it is destroyed exactly once, after the reads.
        unsafe {
            let raw = RawError {
                code: sys::rd_kafka_error_code(error),
                message: cstr_lossy(rdkafka_sys::bindings::rd_kafka_error_string(error)),
                fatal: rdkafka_sys::bindings::rd_kafka_error_is_fatal(error) != 0,
                retriable: rdkafka_sys::bindings::rd_kafka_error_is_retriable(error) != 0,
                txn_requires_abort: rdkafka_sys::bindings::rd_kafka_error_txn_requires_abort(error)
                    != 0,
            };
            rdkafka_sys::bindings::rd_kafka_error_destroy(error);
            raw
        }
    }
}

/// Copies a C string into a `String`, replacing invalid UTF-8; NULL gives "".
///
/// # Safety
/// `ptr` must be NULL or point to a NUL-terminated string valid for the call.
pub(crate) unsafe fn cstr_lossy(ptr: *const c_char) -> String {
    if ptr.is_null() {
        return String::new();
    }
    // SAFETY: non-NULL and NUL-terminated per the caller's contract.
    unsafe { CStr::from_ptr(ptr) }
        .to_string_lossy()
        .into_owned()
}

/// librdkafka's human readable description of an error code.
pub(crate) fn err_description(code: i32) -> String {
    // SAFETY: as for err_name: any integer is accepted and the result is
    // copied before any other librdkafka call on this thread.
    unsafe { cstr_lossy(sys::rd_kafka_err2str(code)) }
}

/// librdkafka's own table of error codes: (code, name, description).
pub(crate) fn error_table() -> Vec<(i32, String, String)> {
    let mut descs: *const sys::ErrDesc = std::ptr::null();
    let mut count: usize = 0;
    // SAFETY: both out-pointers are valid; librdkafka stores a pointer to its
    // static table and the table's length.
    unsafe { sys::rd_kafka_get_err_descs(&mut descs, &mut count) };
    if descs.is_null() {
        return Vec::new();
    }
    // SAFETY: librdkafka guarantees `descs` points to `count` static entries.
    let entries = unsafe { std::slice::from_raw_parts(descs, count) };
    entries
        .iter()
        .filter(|e| !e.name.is_null())
        // SAFETY: name and desc are NULL or static NUL-terminated strings.
        .map(|e| unsafe { (e.code, cstr_lossy(e.name), cstr_lossy(e.desc)) })
        .collect()
}

/// The version string of the linked librdkafka.
pub(crate) fn librdkafka_version() -> String {
    // SAFETY: rd_kafka_version_str returns a static NUL-terminated string.
    unsafe { cstr_lossy(rdkafka_sys::bindings::rd_kafka_version_str()) }
}

/// Converts a duration to librdkafka's millisecond timeout, saturating.
pub(crate) fn timeout_ms(timeout: std::time::Duration) -> i32 {
    i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX)
}
