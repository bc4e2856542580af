//! Cluster metadata: waiting for the metadata librdkafka fetches by itself,
//! and one metadata request, used to check that a broker answers.

use std::time::Duration;

use libc::c_int;
use rdkafka_sys::bindings as rd;

use super::convert::{cstr_lossy, timeout_ms};
use super::ptr::NativePtr;
use super::{NativeClient, RawError};

extern "C" {
    // Declared here with an integer result rather than the binding's enum,
    // for the reason given in sys.rs.
    fn rd_kafka_metadata(
        rk: *mut rd::rd_kafka_t,
        all_topics: c_int,
        only_rkt: *mut rd::rd_kafka_topic_t,
        metadatap: *mut *const rd::rd_kafka_metadata,
        timeout_ms: c_int,
    ) -> c_int;
}

/// The broker that answered a metadata request.
#[derive(Debug, Clone)]
pub(crate) struct MetadataAnswer {
    /// The broker's node id.
    pub broker_id: i32,
    /// librdkafka's name for it (`host:port/id`).
    pub broker_name: String,
    /// How many brokers the cluster reported.
    pub brokers: usize,
}

impl NativeClient {
    /// The controller's broker id from the metadata librdkafka has received,
    /// waiting up to `timeout` for metadata when none has arrived yet. The
    /// wait sends no request: librdkafka asks for metadata by itself when its
    /// first broker connection comes up. `None` when the wait timed out, and
    /// also when the metadata names no controller (librdkafka returns -1 for
    /// both).
    pub(crate) fn controller_id(&self, timeout: Duration) -> Option<i32> {
        // SAFETY: the handle is valid; the call only reads cached state and
        // waits on librdkafka's broker state changes, from any thread.
        let id = unsafe { rd::rd_kafka_controllerid(self.as_ptr(), timeout_ms(timeout)) };
        (id >= 0).then_some(id)
    }

    /// Sends one metadata request to any broker and waits for the answer.
    ///
    /// The request names only the topics this client already knows (none
    /// for a new client, which makes it a request for the broker list). The
    /// wait covers both getting a usable broker connection and the reply;
    /// `_TRANSPORT` means no connection came up within `timeout`, and
    /// `_TIMED_OUT` that the request got no answer in time.
    pub(crate) fn request_metadata(&self, timeout: Duration) -> Result<MetadataAnswer, RawError> {
        let mut out: *const rd::rd_kafka_metadata = std::ptr::null();
        // SAFETY: the handle is valid; a NULL topic handle with all_topics=0
        // means "the locally known topics"; `out` is a valid out-pointer that
        // librdkafka sets only on success. The call may block for up to the
        // timeout and may be made from any application thread.
        let code = unsafe {
            rd_kafka_metadata(
                self.as_ptr(),
                0,
                std::ptr::null_mut(),
                &mut out,
                timeout_ms(timeout),
            )
        };
        if code != 0 {
            return Err(RawError::from_code(code));
        }
        // SAFETY: on success `out` is a metadata result that this call owns
        // and that depends on nothing else.
        let Some(metadata) = (unsafe { NativePtr::from_raw(out.cast_mut(), ()) }) else {
            return Err(RawError {
                message: "metadata request returned no result".into(),
                ..RawError::from_code(crate::ErrorCode::UnknownServerError.raw())
            });
        };
        // SAFETY: the result is valid until `metadata` is dropped, at the end
        // of this function; the name is NULL or NUL-terminated and is copied.
        let answer = unsafe {
            let md = &*metadata.as_ptr();
            MetadataAnswer {
                broker_id: md.orig_broker_id,
                broker_name: cstr_lossy(md.orig_broker_name),
                brokers: usize::try_from(md.broker_cnt).unwrap_or(0),
            }
        };
        drop(metadata);
        Ok(answer)
    }
}
