//! `rd_kafka_topic_t`: topic handles, which producing takes.

use std::ffi::CString;

use rdkafka_sys::bindings as rd;

use super::client::{ClientRef, NativeClient};
use super::error::{code, last_error, RawError};
use super::ptr::NativePtr;

/// An owned reference to an `rd_kafka_topic_t`, which keeps its client
/// alive.
pub(crate) struct NativeTopic {
    pub(super) ptr: NativePtr<rd::rd_kafka_topic_t, ClientRef>,
}

// SAFETY: topic handles are reference counted and documented as usable from
// any thread; librdkafka synchronises their internal state.
unsafe impl Send for NativeTopic {}
// SAFETY: see Send above.
unsafe impl Sync for NativeTopic {}

/// `RD_KAFKA_PARTITION_UA`: let the partitioner choose.
pub(crate) const PARTITION_UA: i32 = -1;

impl NativeClient {
    /// A topic handle, shared with librdkafka's own per-name cache.
    pub(crate) fn topic(&self, name: &str) -> Result<NativeTopic, RawError> {
        let name_c = CString::new(name).map_err(|_| RawError {
            message: format!("topic name {name:?} contains a NUL byte"),
            ..RawError::from_code(code::INVALID_ARG)
        })?;
        // SAFETY: handle and name are valid; NULL conf means defaults.
        let ptr =
            unsafe { rd::rd_kafka_topic_new(self.as_ptr(), name_c.as_ptr(), std::ptr::null_mut()) };
        // SAFETY: a non-NULL result is a new topic reference that we own; it
        // keeps its client.
        match unsafe { NativePtr::from_raw(ptr, self.handle().clone()) } {
            Some(ptr) => Ok(NativeTopic { ptr }),
            None => {
                // SAFETY: called right after the failing rd_kafka_topic_new on
                // this thread, as last_error requires.
                let code = unsafe { last_error() };
                Err(RawError {
                    message: format!("cannot create topic handle for {name:?}"),
                    ..RawError::from_code(code)
                })
            }
        }
    }
}
