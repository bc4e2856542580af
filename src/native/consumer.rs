//! Consumer calls on `rd_kafka_t` (subscribing, assigning, reading,
//! committing, seeking, closing) and consumer group metadata.

use std::ffi::CString;
use std::time::Duration;

use libc::c_void;
use rdkafka_sys::bindings as rd;

use super::client::NativeClient;
use super::convert::{cstr_lossy, timeout_ms};
use super::error::{code, code_result, err_description, error_result, RawError};
use super::event::NativeEvent;
use super::ptr::NativePtr;
use super::queue::NativeQueue;
use super::rebalance::serve_rebalance;
use super::sys;
use super::topic::PARTITION_UA;
use super::tpl::{TopicPartitionList, TplEntry};

/// An owned `rd_kafka_consumer_group_metadata_t`.
pub(crate) struct NativeGroupMetadata {
    ptr: NativePtr<rd::rd_kafka_consumer_group_metadata_t>,
}

// SAFETY: the metadata is an immutable value owned by this handle.
unsafe impl Send for NativeGroupMetadata {}
// SAFETY: see Send; it is only read.
unsafe impl Sync for NativeGroupMetadata {}

impl NativeGroupMetadata {
    pub(crate) fn as_ptr(&self) -> *const rd::rd_kafka_consumer_group_metadata_t {
        self.ptr.as_ptr()
    }
}

/// Checks a list's per-partition errors after a call that succeeded overall.
fn list_result(code: i32, list: &TopicPartitionList) -> Result<Vec<TplEntry>, RawError> {
    code_result(code)?;
    let entries = list.entries();
    match entries.iter().find(|e| e.err != 0) {
        Some(e) => Err(RawError {
            message: format!("{} [{}]: {}", e.topic, e.partition, err_description(e.err)),
            ..RawError::from_code(e.err)
        }),
        None => Ok(entries),
    }
}

impl NativeClient {
    /// Subscribes to topic names or `^regex` patterns.
    pub(crate) fn subscribe(&self, topics: &[&str]) -> Result<(), RawError> {
        let list = TopicPartitionList::new(topics.len());
        for t in topics {
            list.add(t, PARTITION_UA, None)?;
        }
        // SAFETY: handle and list are valid; librdkafka copies the list.
        code_result(unsafe { sys::rd_kafka_subscribe(self.as_ptr(), list.as_ptr()) })
    }

    pub(crate) fn unsubscribe(&self) -> Result<(), RawError> {
        // SAFETY: the handle is valid.
        code_result(unsafe { sys::rd_kafka_unsubscribe(self.as_ptr()) })
    }

    /// The current subscription's topic names and patterns.
    pub(crate) fn subscription(&self) -> Result<Vec<String>, RawError> {
        let mut out = std::ptr::null_mut();
        // SAFETY: the handle and out-pointer are valid; on success *out is an
        // owned list.
        let code = unsafe { sys::rd_kafka_subscription(self.as_ptr(), &mut out) };
        code_result(code)?;
        // SAFETY: owned list returned by librdkafka.
        let list = unsafe { TopicPartitionList::from_owned(out) };
        Ok(list
            .map(|l| l.entries().into_iter().map(|e| e.topic).collect())
            .unwrap_or_default())
    }

    /// Replaces the assignment (None: unassign everything).
    pub(crate) fn assign(&self, list: Option<&TopicPartitionList>) -> Result<(), RawError> {
        let ptr = list.map_or(std::ptr::null(), |l| l.as_ptr() as *const _);
        // SAFETY: handle valid; ptr NULL or a valid list, copied by librdkafka.
        code_result(unsafe { sys::rd_kafka_assign(self.as_ptr(), ptr) })
    }

    pub(crate) fn incremental_assign(&self, list: &TopicPartitionList) -> Result<(), RawError> {
        // SAFETY: handle and list valid; the list is copied; the result is
        // NULL or an owned error.
        unsafe {
            error_result(rd::rd_kafka_incremental_assign(
                self.as_ptr(),
                list.as_ptr(),
            ))
        }
    }

    pub(crate) fn incremental_unassign(&self, list: &TopicPartitionList) -> Result<(), RawError> {
        // SAFETY: handle and list valid; the list is copied; the result is
        // NULL or an owned error.
        unsafe {
            error_result(rd::rd_kafka_incremental_unassign(
                self.as_ptr(),
                list.as_ptr(),
            ))
        }
    }

    pub(crate) fn assignment(&self) -> Result<Vec<TplEntry>, RawError> {
        let mut out = std::ptr::null_mut();
        // SAFETY: valid handle and out-pointer; *out is owned on success.
        let code = unsafe { sys::rd_kafka_assignment(self.as_ptr(), &mut out) };
        code_result(code)?;
        // SAFETY: owned list returned by librdkafka.
        let list = unsafe { TopicPartitionList::from_owned(out) };
        Ok(list.map(|l| l.entries()).unwrap_or_default())
    }

    /// Commits offsets (None: the current positions), waiting for the result.
    pub(crate) fn commit_sync(&self, list: Option<&TopicPartitionList>) -> Result<(), RawError> {
        let ptr = list.map_or(std::ptr::null(), |l| l.as_ptr() as *const _);
        // SAFETY: valid handle; ptr NULL or a valid list.
        code_result(unsafe { sys::rd_kafka_commit(self.as_ptr(), ptr, 0) })
    }

    /// Starts a commit whose result arrives on `queue` as an offset-commit
    /// event carrying `opaque`.
    pub(crate) fn commit_to_queue(
        &self,
        list: Option<&TopicPartitionList>,
        queue: &NativeQueue,
        opaque: usize,
    ) -> Result<(), RawError> {
        let ptr = list.map_or(std::ptr::null(), |l| l.as_ptr() as *const _);
        // SAFETY: valid handle, queue and list (or NULL); with no callback
        // the result is enqueued on `queue` as an event.
        code_result(unsafe {
            sys::rd_kafka_commit_queue(
                self.as_ptr(),
                ptr,
                queue.ptr.as_ptr(),
                None,
                opaque as *mut c_void,
            )
        })
    }

    /// Stores offsets for the next commit.
    pub(crate) fn offsets_store(&self, list: &TopicPartitionList) -> Result<(), RawError> {
        // SAFETY: valid handle and list; per-partition errors are written
        // into the list.
        let code = unsafe { sys::rd_kafka_offsets_store(self.as_ptr(), list.as_ptr()) };
        list_result(code, list).map(|_| ())
    }

    /// The group's committed offsets for the partitions in `list`.
    pub(crate) fn committed(
        &self,
        list: &TopicPartitionList,
        timeout: Duration,
    ) -> Result<Vec<TplEntry>, RawError> {
        // SAFETY: valid handle and list; offsets are written into the list.
        let code =
            unsafe { sys::rd_kafka_committed(self.as_ptr(), list.as_ptr(), timeout_ms(timeout)) };
        list_result(code, list)
    }

    /// The consume positions for the partitions in `list`.
    pub(crate) fn position(&self, list: &TopicPartitionList) -> Result<Vec<TplEntry>, RawError> {
        // SAFETY: valid handle and list; offsets are written into the list.
        let code = unsafe { sys::rd_kafka_position(self.as_ptr(), list.as_ptr()) };
        list_result(code, list)
    }

    /// Seeks the partitions in `list` to their offsets.
    pub(crate) fn seek(
        &self,
        list: &TopicPartitionList,
        timeout: Duration,
    ) -> Result<(), RawError> {
        // SAFETY: valid handle and list; errors are written into the list;
        // the result is NULL or an owned error.
        unsafe {
            error_result(rd::rd_kafka_seek_partitions(
                self.as_ptr(),
                list.as_ptr(),
                timeout_ms(timeout),
            ))?
        };
        match list.first_error() {
            // A seek with no timeout is started, not awaited.
            Some(e) if e.code == code::IN_PROGRESS && timeout.is_zero() => Ok(()),
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    pub(crate) fn pause(&self, list: &TopicPartitionList) -> Result<(), RawError> {
        // SAFETY: valid handle and list.
        let code = unsafe { sys::rd_kafka_pause_partitions(self.as_ptr(), list.as_ptr()) };
        list_result(code, list).map(|_| ())
    }

    pub(crate) fn resume(&self, list: &TopicPartitionList) -> Result<(), RawError> {
        // SAFETY: valid handle and list.
        let code = unsafe { sys::rd_kafka_resume_partitions(self.as_ptr(), list.as_ptr()) };
        list_result(code, list).map(|_| ())
    }

    /// Asks the partition leader for the low and high watermarks.
    pub(crate) fn query_watermarks(
        &self,
        topic: &str,
        partition: i32,
        timeout: Duration,
    ) -> Result<(i64, i64), RawError> {
        let topic_c = CString::new(topic).map_err(|_| RawError::from_code(code::INVALID_ARG))?;
        let (mut low, mut high) = (-1i64, -1i64);
        // SAFETY: valid handle, name and out-pointers.
        let code = unsafe {
            sys::rd_kafka_query_watermark_offsets(
                self.as_ptr(),
                topic_c.as_ptr(),
                partition,
                &mut low,
                &mut high,
                timeout_ms(timeout),
            )
        };
        code_result(code).map(|()| (low, high))
    }

    /// The watermarks last seen in fetch responses, without a request.
    pub(crate) fn cached_watermarks(
        &self,
        topic: &str,
        partition: i32,
    ) -> Result<(i64, i64), RawError> {
        let topic_c = CString::new(topic).map_err(|_| RawError::from_code(code::INVALID_ARG))?;
        let (mut low, mut high) = (-1i64, -1i64);
        // SAFETY: valid handle, name and out-pointers.
        let code = unsafe {
            sys::rd_kafka_get_watermark_offsets(
                self.as_ptr(),
                topic_c.as_ptr(),
                partition,
                &mut low,
                &mut high,
            )
        };
        code_result(code).map(|()| (low, high))
    }

    /// For each partition in `list` (whose offsets hold timestamps in ms),
    /// the earliest offset whose timestamp is at least that.
    pub(crate) fn offsets_for_times(
        &self,
        list: &TopicPartitionList,
        timeout: Duration,
    ) -> Result<Vec<TplEntry>, RawError> {
        // SAFETY: valid handle and list; offsets are written into the list.
        let code = unsafe {
            sys::rd_kafka_offsets_for_times(self.as_ptr(), list.as_ptr(), timeout_ms(timeout))
        };
        list_result(code, list)
    }

    /// The consumer's group metadata (for sending offsets in a transaction).
    pub(crate) fn group_metadata(&self) -> Option<NativeGroupMetadata> {
        // SAFETY: valid handle; a non-NULL result is owned.
        let ptr = unsafe { rd::rd_kafka_consumer_group_metadata(self.as_ptr()) };
        // SAFETY: see above.
        unsafe { NativePtr::from_raw(ptr, ()) }.map(|ptr| NativeGroupMetadata { ptr })
    }

    /// The member id the group coordinator gave this consumer.
    pub(crate) fn member_id(&self) -> Option<String> {
        // SAFETY: valid handle; a non-NULL result is an owned string freed
        // with rd_kafka_mem_free after it is copied.
        unsafe {
            let ptr = rd::rd_kafka_memberid(self.as_ptr());
            if ptr.is_null() {
                return None;
            }
            let id = cstr_lossy(ptr);
            rd::rd_kafka_mem_free(self.as_ptr(), ptr as *mut c_void);
            Some(id).filter(|s| !s.is_empty())
        }
    }

    /// Starts closing the consumer: leaving the group and committing are
    /// reported on `queue`, which the caller polls with [`Self::serve_close_event`]
    /// until [`Self::consumer_closed`].
    pub(crate) fn consumer_close_queue(&self, queue: &NativeQueue) -> Result<(), RawError> {
        // SAFETY: valid handle and queue; the result is NULL or an owned
        // error.
        unsafe {
            error_result(rd::rd_kafka_consumer_close_queue(
                self.as_ptr(),
                queue.ptr.as_ptr(),
            ))
        }
    }

    pub(crate) fn consumer_closed(&self) -> bool {
        // SAFETY: valid handle.
        unsafe { rd::rd_kafka_consumer_closed(self.as_ptr()) != 0 }
    }

    /// Serves an event polled from a close queue: rebalances go through the
    /// client's rebalance hook (or are applied directly without one).
    pub(crate) fn serve_close_event(&self, event: &NativeEvent) {
        if event.kind() != rd::RD_KAFKA_EVENT_REBALANCE {
            return;
        }
        // SAFETY: the event is a valid rebalance event; its error code and
        // partition list live as long as it.
        let (code, list) = unsafe {
            (
                sys::rd_kafka_event_error(event.ptr.as_ptr()),
                rd::rd_kafka_event_topic_partition_list(event.ptr.as_ptr()),
            )
        };
        // SAFETY: the client and the event's list are valid for the call,
        // which is made on the thread that polls the consumer.
        unsafe { serve_rebalance(self.rebalance_hook(), self.as_ptr(), code, list) }
    }
}
