//! `rd_kafka_topic_partition_list_t`: owned lists and read-only views.

use std::ffi::CString;
use std::ptr::NonNull;

use libc::{c_char, c_int, c_void};
use rdkafka_sys::bindings as rd;

use super::convert::cstr_lossy;
use super::error::{code, err_description, RawError};
use super::ptr::NativePtr;

/// Mirror of `rd_kafka_topic_partition_t` with the error kept as an integer.
///
/// Layout: `char *topic; int32_t partition; int64_t offset; void *metadata;
/// size_t metadata_size; void *opaque; rd_kafka_resp_err_t err;
/// void *_private;` (rdkafka.h). A compile-time check pins the size.
#[repr(C)]
struct RawTopicPartition {
    topic: *mut c_char,
    partition: i32,
    offset: i64,
    metadata: *mut c_void,
    metadata_size: usize,
    opaque: *mut c_void,
    err: c_int,
    private: *mut c_void,
}

const _: () = assert!(
    std::mem::size_of::<RawTopicPartition>()
        == std::mem::size_of::<rd::rd_kafka_topic_partition_t>()
);

/// One element of a partition list, copied out of C memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TplEntry {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    /// The per-partition error code (0 for none).
    pub err: i32,
    /// The partition leader's epoch, or -1 when unknown.
    pub leader_epoch: i32,
}

/// An owned `rd_kafka_topic_partition_list_t`.
pub(crate) struct TopicPartitionList {
    pub(super) ptr: NativePtr<rd::rd_kafka_topic_partition_list_t>,
}

// SAFETY: the list is plain data owned by this value; librdkafka only reads
// it during the calls it is passed to.
unsafe impl Send for TopicPartitionList {}

impl TopicPartitionList {
    pub(crate) fn new(capacity: usize) -> Self {
        let cap = i32::try_from(capacity).unwrap_or(i32::MAX);
        // SAFETY: no preconditions; the result is a new list that we own.
        let ptr = unsafe { NativePtr::from_raw(rd::rd_kafka_topic_partition_list_new(cap), ()) };
        TopicPartitionList {
            ptr: ptr.unwrap_or_else(|| std::process::abort()),
        }
    }

    /// A list of (topic, partition, offset) triples.
    pub(crate) fn from_entries<'a>(
        entries: impl IntoIterator<Item = (&'a str, i32, i64)>,
    ) -> Result<Self, RawError> {
        let list = Self::new(0);
        for (topic, partition, offset) in entries {
            list.add(topic, partition, Some(offset))?;
        }
        Ok(list)
    }

    /// Takes ownership of a list librdkafka returned.
    ///
    /// # Safety
    /// `ptr` must be NULL or an owned list that nothing else destroys.
    pub(super) unsafe fn from_owned(ptr: *mut rd::rd_kafka_topic_partition_list_t) -> Option<Self> {
        // SAFETY: NULL or an owned list, per the contract.
        unsafe { NativePtr::from_raw(ptr, ()) }.map(|ptr| TopicPartitionList { ptr })
    }

    pub(crate) fn add(
        &self,
        topic: &str,
        partition: i32,
        offset: Option<i64>,
    ) -> Result<(), RawError> {
        let topic_c = CString::new(topic).map_err(|_| RawError {
            message: format!("topic name {topic:?} contains a NUL byte"),
            ..RawError::from_code(code::INVALID_ARG)
        })?;
        // SAFETY: list and name are valid; add copies the name and returns a
        // pointer to the new element inside the list.
        let elem = unsafe {
            rd::rd_kafka_topic_partition_list_add(self.ptr.as_ptr(), topic_c.as_ptr(), partition)
        };
        if let (Some(offset), Some(elem)) = (offset, NonNull::new(elem)) {
            // SAFETY: elem points into the list we own, valid until the next
            // mutation of the list.
            unsafe { (*elem.as_ptr()).offset = offset };
        }
        Ok(())
    }

    pub(crate) fn as_ptr(&self) -> *mut rd::rd_kafka_topic_partition_list_t {
        self.ptr.as_ptr()
    }

    /// Copies the elements out.
    pub(crate) fn entries(&self) -> Vec<TplEntry> {
        // SAFETY: the list is owned and valid.
        unsafe { read_list(self.ptr.as_ptr()) }
    }

    /// The first per-partition error, if any element carries one.
    pub(crate) fn first_error(&self) -> Option<RawError> {
        self.entries()
            .into_iter()
            .find(|e| e.err != 0)
            .map(|e| RawError {
                message: format!("{} [{}]: {}", e.topic, e.partition, err_description(e.err)),
                ..RawError::from_code(e.err)
            })
    }
}

/// Copies the elements of a list owned by someone else.
///
/// # Safety
/// `list` must be NULL or a valid list for the duration of the call.
pub(super) unsafe fn read_list(list: *const rd::rd_kafka_topic_partition_list_t) -> Vec<TplEntry> {
    if list.is_null() {
        return Vec::new();
    }
    // SAFETY: per the contract the list is valid; `elems` points to `cnt`
    // elements laid out as RawTopicPartition (size checked above).
    unsafe {
        let cnt = usize::try_from((*list).cnt).unwrap_or(0);
        let elems = (*list).elems as *const RawTopicPartition;
        if elems.is_null() || cnt == 0 {
            return Vec::new();
        }
        (0..cnt)
            .map(|i| {
                let e = &*elems.add(i);
                TplEntry {
                    topic: cstr_lossy(e.topic),
                    partition: e.partition,
                    offset: e.offset,
                    err: e.err,
                    leader_epoch: rd::rd_kafka_topic_partition_get_leader_epoch(
                        (e as *const RawTopicPartition).cast(),
                    ),
                }
            })
            .collect()
    }
}
