//! Offsets: a group's committed offsets (list, alter, delete) and the
//! offsets of partitions by time or position (ListOffsets).

use libc::c_int;
use rdkafka_sys::bindings as rd;

use super::groups::{c_array, owned_result, GroupOutcome};
use super::topics::Requests;
use super::{c_string, AdminOptions};
use crate::native::client::NativeClient;
use crate::native::convert::cstr_lossy;
use crate::native::error::{code, RawError};
use crate::native::event::NativeEvent;
use crate::native::queue::NativeQueue;
use crate::native::tpl::{TopicPartitionList, TplEntry};

extern "C" {
    // Declared with integer enums (see sys.rs).
    fn rd_kafka_AdminOptions_set_isolation_level(
        options: *mut rd::rd_kafka_AdminOptions_t,
        value: c_int,
    ) -> *mut rd::rd_kafka_error_t;
}

/// An offset to commit for a group: the partition, the offset, the leader
/// epoch (-1: unknown) and the commit metadata.
#[derive(Debug, Clone)]
pub(crate) struct OffsetToCommit {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub leader_epoch: i32,
    pub metadata: String,
}

/// One partition of a ListOffsets result.
#[derive(Debug, Clone)]
pub(crate) struct ListedOffsetInfo {
    pub entry: TplEntry,
    pub timestamp: i64,
}

impl AdminOptions {
    /// Sets the isolation level of a ListOffsets request (librdkafka's
    /// integer code).
    pub(crate) fn isolation_level(&self, level: i32) -> Result<(), RawError> {
        // SAFETY: valid options; the error is owned.
        unsafe {
            owned_result(rd_kafka_AdminOptions_set_isolation_level(
                self.as_ptr(),
                level,
            ))
        }
    }
}

/// A partition list of `(topic, partition)` pairs.
fn partition_list(partitions: &[(String, i32)]) -> Result<TopicPartitionList, RawError> {
    let list = TopicPartitionList::new(partitions.len());
    for (topic, partition) in partitions {
        list.add(topic, *partition, None)?;
    }
    Ok(list)
}

impl NativeClient {
    /// Starts listing `group`'s committed offsets for `partitions` (None:
    /// all of them); the result arrives on `queue`.
    pub(crate) fn list_consumer_group_offsets(
        &self,
        group: &str,
        partitions: Option<&[(String, i32)]>,
        options: &AdminOptions,
        queue: &NativeQueue,
    ) -> Result<(), RawError> {
        let name = c_string("group id", group)?;
        let list = partitions.map(partition_list).transpose()?;
        let list_ptr = list
            .as_ref()
            .map_or(std::ptr::null_mut(), TopicPartitionList::as_ptr);
        // SAFETY: a valid string and NULL or a valid list, both copied; the
        // result is an owned request object.
        let request = unsafe { rd::rd_kafka_ListConsumerGroupOffsets_new(name.as_ptr(), list_ptr) };
        if request.is_null() {
            return Err(RawError::from_code(code::INVALID_ARG));
        }
        let mut requests = Requests {
            items: vec![request],
            destroy: rd::rd_kafka_ListConsumerGroupOffsets_destroy,
        };
        // SAFETY: valid client, an array of one owned request (librdkafka
        // takes one group per call), options and queue; the request is
        // copied.
        unsafe {
            rd::rd_kafka_ListConsumerGroupOffsets(
                self.as_ptr(),
                requests.items.as_mut_ptr(),
                1,
                options.as_ptr(),
                queue.ptr.as_ptr(),
            )
        };
        Ok(())
    }

    /// Starts committing `offsets` for `group` (which must have no active
    /// members); the result arrives on `queue`.
    pub(crate) fn alter_consumer_group_offsets(
        &self,
        group: &str,
        offsets: &[OffsetToCommit],
        options: &AdminOptions,
        queue: &NativeQueue,
    ) -> Result<(), RawError> {
        let name = c_string("group id", group)?;
        let list = TopicPartitionList::new(offsets.len());
        for o in offsets {
            list.add(&o.topic, o.partition, Some(o.offset))?;
        }
        for (i, o) in offsets.iter().enumerate() {
            // SAFETY: the list we own holds one element per offset, in
            // order, so element `i` exists and nothing else uses it.
            unsafe {
                let elem = (*list.as_ptr()).elems.add(i);
                rd::rd_kafka_topic_partition_set_leader_epoch(elem, o.leader_epoch);
                if !o.metadata.is_empty() {
                    // librdkafka frees an element's metadata with free():
                    // allocate it with malloc.
                    let data = libc::malloc(o.metadata.len());
                    if data.is_null() {
                        return Err(RawError::from_code(code::INVALID_ARG));
                    }
                    std::ptr::copy_nonoverlapping(
                        o.metadata.as_ptr(),
                        data as *mut u8,
                        o.metadata.len(),
                    );
                    (*elem).metadata = data;
                    (*elem).metadata_size = o.metadata.len();
                }
            }
        }
        // SAFETY: a valid string and list, both copied; the result is an
        // owned request object.
        let request =
            unsafe { rd::rd_kafka_AlterConsumerGroupOffsets_new(name.as_ptr(), list.as_ptr()) };
        if request.is_null() {
            return Err(RawError::from_code(code::INVALID_ARG));
        }
        let mut requests = Requests {
            items: vec![request],
            destroy: rd::rd_kafka_AlterConsumerGroupOffsets_destroy,
        };
        // SAFETY: as for list_consumer_group_offsets.
        unsafe {
            rd::rd_kafka_AlterConsumerGroupOffsets(
                self.as_ptr(),
                requests.items.as_mut_ptr(),
                1,
                options.as_ptr(),
                queue.ptr.as_ptr(),
            )
        };
        Ok(())
    }

    /// Starts deleting `group`'s committed offsets of `partitions`; the
    /// result arrives on `queue`.
    pub(crate) fn delete_consumer_group_offsets(
        &self,
        group: &str,
        partitions: &[(String, i32)],
        options: &AdminOptions,
        queue: &NativeQueue,
    ) -> Result<(), RawError> {
        let name = c_string("group id", group)?;
        let list = partition_list(partitions)?;
        // SAFETY: a valid string and list, both copied; the result is an
        // owned request object.
        let request =
            unsafe { rd::rd_kafka_DeleteConsumerGroupOffsets_new(name.as_ptr(), list.as_ptr()) };
        if request.is_null() {
            return Err(RawError::from_code(code::INVALID_ARG));
        }
        let mut requests = Requests {
            items: vec![request],
            destroy: rd::rd_kafka_DeleteConsumerGroupOffsets_destroy,
        };
        // SAFETY: as for list_consumer_group_offsets.
        unsafe {
            rd::rd_kafka_DeleteConsumerGroupOffsets(
                self.as_ptr(),
                requests.items.as_mut_ptr(),
                1,
                options.as_ptr(),
                queue.ptr.as_ptr(),
            )
        };
        Ok(())
    }

    /// Starts listing offsets: each `(topic, partition, spec)` with spec
    /// -1 latest, -2 earliest, -3 max timestamp, or a timestamp in ms.
    pub(crate) fn list_offsets(
        &self,
        specs: &[(String, i32, i64)],
        options: &AdminOptions,
        queue: &NativeQueue,
    ) -> Result<(), RawError> {
        let list =
            TopicPartitionList::from_entries(specs.iter().map(|(t, p, o)| (t.as_str(), *p, *o)))?;
        // SAFETY: valid client, list (copied), options and queue.
        unsafe {
            rd::rd_kafka_ListOffsets(
                self.as_ptr(),
                list.as_ptr(),
                options.as_ptr(),
                queue.ptr.as_ptr(),
            )
        };
        Ok(())
    }
}

impl NativeEvent {
    /// The group result of a ListConsumerGroupOffsets result event.
    pub(crate) fn list_consumer_group_offsets_result(&self) -> Result<Vec<GroupOutcome>, RawError> {
        // SAFETY: the event is valid; NULL means another type; the array
        // lives with the event.
        self.group_results(|ev, cnt| unsafe {
            let result = rd::rd_kafka_event_ListConsumerGroupOffsets_result(ev);
            (!result.is_null())
                .then(|| rd::rd_kafka_ListConsumerGroupOffsets_result_groups(result, cnt))
        })
    }

    /// The group result of an AlterConsumerGroupOffsets result event.
    pub(crate) fn alter_consumer_group_offsets_result(
        &self,
    ) -> Result<Vec<GroupOutcome>, RawError> {
        // SAFETY: as for list_consumer_group_offsets_result.
        self.group_results(|ev, cnt| unsafe {
            let result = rd::rd_kafka_event_AlterConsumerGroupOffsets_result(ev);
            (!result.is_null())
                .then(|| rd::rd_kafka_AlterConsumerGroupOffsets_result_groups(result, cnt))
        })
    }

    /// The group result of a DeleteConsumerGroupOffsets result event.
    pub(crate) fn delete_consumer_group_offsets_result(
        &self,
    ) -> Result<Vec<GroupOutcome>, RawError> {
        // SAFETY: as for list_consumer_group_offsets_result.
        self.group_results(|ev, cnt| unsafe {
            let result = rd::rd_kafka_event_DeleteConsumerGroupOffsets_result(ev);
            (!result.is_null())
                .then(|| rd::rd_kafka_DeleteConsumerGroupOffsets_result_groups(result, cnt))
        })
    }

    /// The partitions of a ListOffsets result event.
    pub(crate) fn list_offsets_result(&self) -> Result<Vec<ListedOffsetInfo>, RawError> {
        if let Some(e) = self.admin_error() {
            return Err(e);
        }
        // SAFETY: the event is valid; NULL means another event type.
        let result = unsafe { rd::rd_kafka_event_ListOffsets_result(self.ptr.as_ptr()) };
        if result.is_null() {
            return Err(RawError::from_code(code::INVALID_ARG));
        }
        let mut cnt = 0usize;
        // SAFETY: the array and the partitions it points to live with the
        // event; every value is copied.
        unsafe {
            let infos = c_array(rd::rd_kafka_ListOffsets_result_infos(result, &mut cnt), cnt);
            Ok(infos
                .iter()
                .filter_map(|&info| {
                    let tp = rd::rd_kafka_ListOffsetsResultInfo_topic_partition(info);
                    if tp.is_null() {
                        return None;
                    }
                    Some(ListedOffsetInfo {
                        entry: read_element(tp),
                        timestamp: rd::rd_kafka_ListOffsetsResultInfo_timestamp(info),
                    })
                })
                .collect())
        }
    }
}

/// Copies one partition list element that is not in a list we hold.
///
/// # Safety
/// `tp` must be valid for the duration of the call.
unsafe fn read_element(tp: *const rd::rd_kafka_topic_partition_t) -> TplEntry {
    // SAFETY: a valid element per the contract. Fields are read one by one
    // through the raw pointer (no reference to the element is made); the
    // error code is read as the C int it is, not as the bindings' enum.
    unsafe {
        let err_ptr = (tp as *const u8)
            .add(std::mem::offset_of!(rd::rd_kafka_topic_partition_t, err))
            as *const c_int;
        TplEntry {
            topic: cstr_lossy((*tp).topic),
            partition: (*tp).partition,
            offset: (*tp).offset,
            err: err_ptr.read(),
            leader_epoch: rd::rd_kafka_topic_partition_get_leader_epoch(tp),
        }
    }
}
