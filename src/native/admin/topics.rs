//! Creating and deleting topics.

use libc::{c_char, c_int};
use rdkafka_sys::bindings as rd;

use super::{c_string, AdminOptions};
use crate::native::client::NativeClient;
use crate::native::convert::{buf_text, cstr_lossy};
use crate::native::error::{code, RawError};
use crate::native::event::NativeEvent;
use crate::native::queue::NativeQueue;

extern "C" {
    // Declared with integer results (see sys.rs).
    fn rd_kafka_NewTopic_set_config(
        new_topic: *mut rd::rd_kafka_NewTopic_t,
        name: *const c_char,
        value: *const c_char,
    ) -> c_int;
    fn rd_kafka_topic_result_error(topicres: *const rd::rd_kafka_topic_result_t) -> c_int;
}

/// A topic to create: partitions and replication factor (-1: the broker's
/// defaults) and topic configs.
#[derive(Debug, Clone)]
pub(crate) struct NewTopicSpec {
    pub name: String,
    pub partitions: i32,
    pub replication_factor: i32,
    pub config: Vec<(String, String)>,
}

/// One topic's outcome in a create or delete result.
#[derive(Debug, Clone)]
pub(crate) struct TopicOutcome {
    pub name: String,
    pub error: Option<RawError>,
}

/// Owned C request objects of one call, destroyed when the call returned
/// (librdkafka copies what it needs).
pub(super) struct Requests<T> {
    pub(super) items: Vec<*mut T>,
    pub(super) destroy: unsafe extern "C" fn(*mut T),
}

impl<T> Requests<T> {
    /// One request object per name, made by `new` (DeleteTopic,
    /// DeleteGroup, ...); `what` names the names in errors.
    pub(super) fn named(
        what: &str,
        names: &[&str],
        new: unsafe extern "C" fn(*const c_char) -> *mut T,
        destroy: unsafe extern "C" fn(*mut T),
    ) -> Result<Self, RawError> {
        let mut requests = Requests {
            items: Vec::with_capacity(names.len()),
            destroy,
        };
        for n in names {
            let name = c_string(what, n)?;
            // SAFETY: a valid string (copied); the result is NULL or an
            // owned object, destroyed with `requests`.
            let item = unsafe { new(name.as_ptr()) };
            if item.is_null() {
                return Err(RawError {
                    message: format!("librdkafka refused the {what} {n:?}"),
                    ..RawError::from_code(code::INVALID_ARG)
                });
            }
            requests.items.push(item);
        }
        Ok(requests)
    }
}

impl<T> Drop for Requests<T> {
    fn drop(&mut self) {
        for &p in &self.items {
            // SAFETY: each pointer was made by the matching _new call and is
            // owned here; librdkafka copied it during the request.
            unsafe { (self.destroy)(p) }
        }
    }
}

/// The topic results of a create or delete result event.
///
/// # Safety
/// `list` and `cnt` must come from that event, which outlives the call.
unsafe fn topic_outcomes(
    list: *mut *const rd::rd_kafka_topic_result_t,
    cnt: usize,
) -> Vec<TopicOutcome> {
    if list.is_null() {
        return Vec::new();
    }
    // SAFETY: librdkafka returns an array of `cnt` results owned by the
    // event (caller's contract).
    let results = unsafe { std::slice::from_raw_parts(list, cnt) };
    results
        .iter()
        .map(|&r| {
            // SAFETY: each result is valid while the event lives; its strings
            // are copied.
            let (err, text, name) = unsafe {
                (
                    rd_kafka_topic_result_error(r),
                    cstr_lossy(rd::rd_kafka_topic_result_error_string(r)),
                    cstr_lossy(rd::rd_kafka_topic_result_name(r)),
                )
            };
            TopicOutcome {
                error: (err != code::NO_ERROR).then(|| RawError {
                    message: if text.is_empty() {
                        crate::native::error::err_description(err)
                    } else {
                        text
                    },
                    ..RawError::from_code(err)
                }),
                name,
            }
        })
        .collect()
}

impl NativeClient {
    /// Starts creating `topics`; the result arrives on `queue`.
    pub(crate) fn create_topics(
        &self,
        topics: &[NewTopicSpec],
        options: &AdminOptions,
        queue: &NativeQueue,
    ) -> Result<(), RawError> {
        let mut requests = Requests {
            items: Vec::with_capacity(topics.len()),
            destroy: rd::rd_kafka_NewTopic_destroy,
        };
        for t in topics {
            let name = c_string("topic name", &t.name)?;
            let mut errstr = [0 as c_char; 512];
            // SAFETY: valid strings and error buffer; the result is NULL or
            // an owned NewTopic.
            let nt = unsafe {
                rd::rd_kafka_NewTopic_new(
                    name.as_ptr(),
                    t.partitions,
                    t.replication_factor,
                    errstr.as_mut_ptr(),
                    errstr.len(),
                )
            };
            if nt.is_null() {
                return Err(RawError {
                    message: format!("topic {:?}: {}", t.name, buf_text(&errstr)),
                    ..RawError::from_code(code::INVALID_ARG)
                });
            }
            requests.items.push(nt);
            for (k, v) in &t.config {
                let (key, value) = (c_string("config name", k)?, c_string("config value", v)?);
                // SAFETY: a valid NewTopic and strings (copied).
                let err = unsafe { rd_kafka_NewTopic_set_config(nt, key.as_ptr(), value.as_ptr()) };
                if err != code::NO_ERROR {
                    return Err(RawError {
                        message: format!("topic {:?}: config {k}={v}", t.name),
                        ..RawError::from_code(err)
                    });
                }
            }
        }
        // SAFETY: valid client, array of owned NewTopics, options and queue;
        // librdkafka copies the request.
        unsafe {
            rd::rd_kafka_CreateTopics(
                self.as_ptr(),
                requests.items.as_mut_ptr(),
                requests.items.len(),
                options.as_ptr(),
                queue.ptr.as_ptr(),
            )
        };
        Ok(())
    }

    /// Starts deleting `topics`; the result arrives on `queue`.
    pub(crate) fn delete_topics(
        &self,
        topics: &[&str],
        options: &AdminOptions,
        queue: &NativeQueue,
    ) -> Result<(), RawError> {
        let mut requests = Requests::named(
            "topic name",
            topics,
            rd::rd_kafka_DeleteTopic_new,
            rd::rd_kafka_DeleteTopic_destroy,
        )?;
        // SAFETY: as for create_topics.
        unsafe {
            rd::rd_kafka_DeleteTopics(
                self.as_ptr(),
                requests.items.as_mut_ptr(),
                requests.items.len(),
                options.as_ptr(),
                queue.ptr.as_ptr(),
            )
        };
        Ok(())
    }
}

impl NativeEvent {
    /// The per-topic outcomes of a CreateTopics result event.
    pub(crate) fn create_topics_result(&self) -> Result<Vec<TopicOutcome>, RawError> {
        // SAFETY: the event is valid; a NULL result means another type. The
        // array lives with the event.
        self.topic_results(|ev, cnt| unsafe {
            let result = rd::rd_kafka_event_CreateTopics_result(ev);
            (!result.is_null())
                .then(|| rd::rd_kafka_CreateTopics_result_topics(result, cnt) as *mut _)
        })
    }

    /// The per-topic outcomes of a DeleteTopics result event.
    pub(crate) fn delete_topics_result(&self) -> Result<Vec<TopicOutcome>, RawError> {
        // SAFETY: as for create_topics_result.
        self.topic_results(|ev, cnt| unsafe {
            let result = rd::rd_kafka_event_DeleteTopics_result(ev);
            (!result.is_null())
                .then(|| rd::rd_kafka_DeleteTopics_result_topics(result, cnt) as *mut _)
        })
    }

    /// The request error, or the topic results `list` finds in this event
    /// (None: the event is of another type).
    pub(super) fn topic_results(
        &self,
        list: impl FnOnce(
            *mut rd::rd_kafka_event_t,
            &mut usize,
        ) -> Option<*mut *const rd::rd_kafka_topic_result_t>,
    ) -> Result<Vec<TopicOutcome>, RawError> {
        if let Some(e) = self.admin_error() {
            return Err(e);
        }
        let mut cnt = 0usize;
        let Some(results) = list(self.ptr.as_ptr(), &mut cnt) else {
            return Err(RawError::from_code(code::INVALID_ARG));
        };
        // SAFETY: the array and its count come from this event, alive here.
        Ok(unsafe { topic_outcomes(results, cnt) })
    }
}
