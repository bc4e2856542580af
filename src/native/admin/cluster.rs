//! Partitions and the cluster: creating partitions, deleting records,
//! electing leaders, describing topics and the cluster.

use libc::{c_char, c_int};
use rdkafka_sys::bindings as rd;

use super::{borrowed_error, c_string, operations, opt_string, AdminOptions};
use crate::native::client::NativeClient;
use crate::native::convert::{buf_text, cstr_lossy};
use crate::native::error::{code, RawError};
use crate::native::event::NativeEvent;
use crate::native::queue::NativeQueue;
use crate::native::tpl::{read_list, TopicPartitionList, TplEntry};

extern "C" {
    // Declared with integer results (see sys.rs).
    fn rd_kafka_NewPartitions_set_replica_assignment(
        new_parts: *mut rd::rd_kafka_NewPartitions_t,
        new_partition_idx: i32,
        broker_ids: *mut i32,
        broker_id_cnt: usize,
        errstr: *mut c_char,
        errstr_size: usize,
    ) -> c_int;
    // The arrays hold
    // `rd_kafka_AclOperation_t` values, which a newer broker may extend.
    fn rd_kafka_TopicDescription_authorized_operations(
        topicdesc: *const rd::rd_kafka_TopicDescription_t,
        cntp: *mut usize,
    ) -> *const c_int;
    fn rd_kafka_DescribeCluster_result_authorized_operations(
        result: *const rd::rd_kafka_DescribeCluster_result_t,
        cntp: *mut usize,
    ) -> *const c_int;
}

/// A topic's new partition count, and optionally the replicas (broker ids)
/// of each new partition, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NewPartitionsSpec {
    pub topic: String,
    pub total: usize,
    pub assignment: Vec<Vec<i32>>,
}

/// A broker as an admin result names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NodeInfo {
    pub id: i32,
    pub host: String,
    pub port: u16,
    pub rack: Option<String>,
}

/// One partition of a described topic.
#[derive(Debug, Clone)]
pub(crate) struct PartitionInfo {
    pub partition: i32,
    pub leader: Option<NodeInfo>,
    pub replicas: Vec<NodeInfo>,
    pub isr: Vec<NodeInfo>,
}

/// One topic of a DescribeTopics result.
#[derive(Debug, Clone)]
pub(crate) struct TopicInfo {
    pub name: String,
    pub error: Option<RawError>,
    /// The topic id in Kafka's form (URL-safe base64, no padding), as its
    /// tools print it.
    pub topic_id: String,
    pub internal: bool,
    pub partitions: Vec<PartitionInfo>,
    /// `rd_kafka_AclOperation_t` values; None when not asked for.
    pub authorized_operations: Option<Vec<i32>>,
}

/// A DescribeCluster result.
#[derive(Debug, Clone)]
pub(crate) struct ClusterInfo {
    pub cluster_id: Option<String>,
    pub controller: Option<NodeInfo>,
    pub nodes: Vec<NodeInfo>,
    pub authorized_operations: Option<Vec<i32>>,
}

/// One partition's outcome in an ElectLeaders result.
#[derive(Debug, Clone)]
pub(crate) struct PartitionOutcome {
    pub topic: String,
    pub partition: i32,
    pub error: Option<RawError>,
}

/// Copies a node out of a result.
///
/// # Safety
/// `node` must be NULL or a node valid for the call.
pub(super) unsafe fn node(node: *const rd::rd_kafka_Node_t) -> Option<NodeInfo> {
    if node.is_null() {
        return None;
    }
    // SAFETY: a valid node (caller's contract); its strings are copied.
    unsafe {
        let rack = rd::rd_kafka_Node_rack(node);
        Some(NodeInfo {
            id: rd::rd_kafka_Node_id(node),
            host: cstr_lossy(rd::rd_kafka_Node_host(node)),
            port: rd::rd_kafka_Node_port(node),
            rack: opt_string(rack),
        })
    }
}

/// Copies an array of nodes.
///
/// # Safety
/// `list` must be NULL or `cnt` nodes valid for the call.
unsafe fn nodes(list: *mut *const rd::rd_kafka_Node_t, cnt: usize) -> Vec<NodeInfo> {
    if list.is_null() {
        return Vec::new();
    }
    // SAFETY: `cnt` node pointers (caller's contract).
    let list = unsafe { std::slice::from_raw_parts(list, cnt) };
    // SAFETY: each is a valid node.
    list.iter().filter_map(|&n| unsafe { node(n) }).collect()
}

impl AdminOptions {
    /// Asks the broker for the authorized operations (DescribeTopics,
    /// DescribeCluster, DescribeConsumerGroups).
    pub(crate) fn include_authorized_operations(&self) -> Result<(), RawError> {
        // SAFETY: valid options; the result is NULL or an owned error,
        // which error_result destroys.
        unsafe {
            crate::native::error::error_result(
                rd::rd_kafka_AdminOptions_set_include_authorized_operations(self.as_ptr(), 1),
            )
        }
    }
}

impl NativeClient {
    /// Starts raising the partition counts of topics; the result arrives on
    /// `queue`.
    pub(crate) fn create_partitions(
        &self,
        topics: &[NewPartitionsSpec],
        options: &AdminOptions,
        queue: &NativeQueue,
    ) -> Result<(), RawError> {
        let mut requests = super::topics::Requests {
            items: Vec::with_capacity(topics.len()),
            destroy: rd::rd_kafka_NewPartitions_destroy,
        };
        for NewPartitionsSpec {
            topic,
            total,
            assignment,
        } in topics
        {
            let name = c_string("topic name", topic)?;
            let mut errstr = [0 as c_char; 512];
            // SAFETY: a valid string and error buffer; the result is NULL or
            // an owned NewPartitions.
            let np = unsafe {
                rd::rd_kafka_NewPartitions_new(
                    name.as_ptr(),
                    *total,
                    errstr.as_mut_ptr(),
                    errstr.len(),
                )
            };
            if np.is_null() {
                return Err(RawError {
                    message: format!("topic {topic:?}: {}", buf_text(&errstr)),
                    ..RawError::from_code(code::INVALID_ARG)
                });
            }
            requests.items.push(np);
            for (index, replicas) in assignment.iter().enumerate() {
                let mut ids = replicas.clone();
                let index = i32::try_from(index).unwrap_or(i32::MAX);
                // SAFETY: a valid NewPartitions, an array of `ids.len()`
                // broker ids (copied) and an error buffer of its size.
                let err = unsafe {
                    rd_kafka_NewPartitions_set_replica_assignment(
                        np,
                        index,
                        ids.as_mut_ptr(),
                        ids.len(),
                        errstr.as_mut_ptr(),
                        errstr.len(),
                    )
                };
                if err != code::NO_ERROR {
                    return Err(RawError {
                        message: format!(
                            "topic {topic:?}: replicas {replicas:?} of new partition {index}: {}",
                            buf_text(&errstr)
                        ),
                        ..RawError::from_code(err)
                    });
                }
            }
        }
        // SAFETY: valid client, array of owned NewPartitions, options and
        // queue; librdkafka copies the request.
        unsafe {
            rd::rd_kafka_CreatePartitions(
                self.as_ptr(),
                requests.items.as_mut_ptr(),
                requests.items.len(),
                options.as_ptr(),
                queue.ptr.as_ptr(),
            )
        };
        Ok(())
    }

    /// Starts deleting the records before each element's offset; the result
    /// arrives on `queue`.
    pub(crate) fn delete_records(
        &self,
        before: &TopicPartitionList,
        options: &AdminOptions,
        queue: &NativeQueue,
    ) -> Result<(), RawError> {
        // SAFETY: a valid list (copied); the result is an owned object.
        let dr = unsafe { rd::rd_kafka_DeleteRecords_new(before.as_ptr()) };
        if dr.is_null() {
            return Err(RawError::from_code(code::INVALID_ARG));
        }
        let mut requests = super::topics::Requests {
            items: vec![dr],
            destroy: rd::rd_kafka_DeleteRecords_destroy,
        };
        // SAFETY: valid client, one owned DeleteRecords (librdkafka takes
        // exactly one), options and queue; librdkafka copies the request.
        unsafe {
            rd::rd_kafka_DeleteRecords(
                self.as_ptr(),
                requests.items.as_mut_ptr(),
                1,
                options.as_ptr(),
                queue.ptr.as_ptr(),
            )
        };
        Ok(())
    }

    /// Starts describing `topics`; the result arrives on `queue`.
    pub(crate) fn describe_topics(
        &self,
        topics: &[String],
        options: &AdminOptions,
        queue: &NativeQueue,
    ) -> Result<(), RawError> {
        let names = topics
            .iter()
            .map(|t| c_string("topic name", t))
            .collect::<Result<Vec<_>, _>>()?;
        let mut ptrs: Vec<*const c_char> = names.iter().map(|n| n.as_ptr()).collect();
        // SAFETY: an array of valid strings (copied); the result is an owned
        // collection.
        let collection =
            unsafe { rd::rd_kafka_TopicCollection_of_topic_names(ptrs.as_mut_ptr(), ptrs.len()) };
        if collection.is_null() {
            return Err(RawError::from_code(code::INVALID_ARG));
        }
        let requests = super::topics::Requests {
            items: vec![collection],
            destroy: rd::rd_kafka_TopicCollection_destroy,
        };
        // SAFETY: valid client, collection, options and queue; librdkafka
        // copies the collection.
        unsafe {
            rd::rd_kafka_DescribeTopics(
                self.as_ptr(),
                requests.items[0],
                options.as_ptr(),
                queue.ptr.as_ptr(),
            )
        };
        drop(requests);
        Ok(())
    }

    /// Starts describing the cluster; the result arrives on `queue`.
    pub(crate) fn describe_cluster(
        &self,
        options: &AdminOptions,
        queue: &NativeQueue,
    ) -> Result<(), RawError> {
        // SAFETY: valid client, options and queue.
        unsafe {
            rd::rd_kafka_DescribeCluster(self.as_ptr(), options.as_ptr(), queue.ptr.as_ptr())
        };
        Ok(())
    }

    /// Starts a leader election (`unclean`: among all replicas, else the
    /// preferred one) for `partitions`, or for every partition with None;
    /// the result arrives on `queue`.
    pub(crate) fn elect_leaders(
        &self,
        unclean: bool,
        partitions: Option<&TopicPartitionList>,
        options: &AdminOptions,
        queue: &NativeQueue,
    ) -> Result<(), RawError> {
        let election = if unclean {
            rd::rd_kafka_ElectionType_t::RD_KAFKA_ELECTION_TYPE_UNCLEAN
        } else {
            rd::rd_kafka_ElectionType_t::RD_KAFKA_ELECTION_TYPE_PREFERRED
        };
        let list = partitions.map_or(std::ptr::null_mut(), |l| l.as_ptr());
        // SAFETY: a valid election type and NULL or a valid list (copied);
        // the result is NULL or an owned object.
        let el = unsafe { rd::rd_kafka_ElectLeaders_new(election, list) };
        if el.is_null() {
            return Err(RawError::from_code(code::INVALID_ARG));
        }
        let requests = super::topics::Requests {
            items: vec![el],
            destroy: rd::rd_kafka_ElectLeaders_destroy,
        };
        // SAFETY: valid client, request, options and queue; librdkafka
        // copies the request.
        unsafe {
            rd::rd_kafka_ElectLeaders(
                self.as_ptr(),
                requests.items[0],
                options.as_ptr(),
                queue.ptr.as_ptr(),
            )
        };
        drop(requests);
        Ok(())
    }
}

/// The error for an event that is not of the expected result type.
fn wrong_event(what: &str) -> RawError {
    RawError {
        message: format!("the admin result is not a {what} result"),
        ..RawError::from_code(code::INVALID_ARG)
    }
}

impl NativeEvent {
    /// The per-topic outcomes of a CreatePartitions result event.
    pub(crate) fn create_partitions_result(&self) -> Result<Vec<super::TopicOutcome>, RawError> {
        // SAFETY: the event is valid; a NULL result means another type. The
        // array lives with the event.
        self.topic_results(|ev, cnt| unsafe {
            let result = rd::rd_kafka_event_CreatePartitions_result(ev);
            (!result.is_null())
                .then(|| rd::rd_kafka_CreatePartitions_result_topics(result, cnt) as *mut _)
        })
    }

    /// The partitions of a DeleteRecords result event, each with its low
    /// watermark after the deletion as its offset, or its error.
    pub(crate) fn delete_records_result(&self) -> Result<Vec<TplEntry>, RawError> {
        if let Some(e) = self.admin_error() {
            return Err(e);
        }
        // SAFETY: the event is valid; the result and its list live with the
        // event, and the list is copied here.
        unsafe {
            let result = rd::rd_kafka_event_DeleteRecords_result(self.ptr.as_ptr());
            if result.is_null() {
                return Err(wrong_event("DeleteRecords"));
            }
            Ok(read_list(rd::rd_kafka_DeleteRecords_result_offsets(result)))
        }
    }

    /// The topics of a DescribeTopics result event.
    pub(crate) fn describe_topics_result(&self) -> Result<Vec<TopicInfo>, RawError> {
        if let Some(e) = self.admin_error() {
            return Err(e);
        }
        // SAFETY: the event is valid; every object and array read here lives
        // with the event and is copied.
        unsafe {
            let result = rd::rd_kafka_event_DescribeTopics_result(self.ptr.as_ptr());
            if result.is_null() {
                return Err(wrong_event("DescribeTopics"));
            }
            let mut cnt = 0usize;
            let list = rd::rd_kafka_DescribeTopics_result_topics(result, &mut cnt);
            if list.is_null() {
                return Ok(Vec::new());
            }
            Ok(std::slice::from_raw_parts(list, cnt)
                .iter()
                .map(|&t| topic_info(t))
                .collect())
        }
    }

    /// The description in a DescribeCluster result event.
    pub(crate) fn describe_cluster_result(&self) -> Result<ClusterInfo, RawError> {
        if let Some(e) = self.admin_error() {
            return Err(e);
        }
        // SAFETY: the event is valid; everything read lives with the event
        // and is copied.
        unsafe {
            let result = rd::rd_kafka_event_DescribeCluster_result(self.ptr.as_ptr());
            if result.is_null() {
                return Err(wrong_event("DescribeCluster"));
            }
            let mut cnt = 0usize;
            let list = rd::rd_kafka_DescribeCluster_result_nodes(result, &mut cnt);
            let all = nodes(list, cnt);
            let mut ops_cnt = 0usize;
            let ops = rd_kafka_DescribeCluster_result_authorized_operations(result, &mut ops_cnt);
            let id = rd::rd_kafka_DescribeCluster_result_cluster_id(result);
            Ok(ClusterInfo {
                cluster_id: (!id.is_null()).then(|| cstr_lossy(id)),
                controller: node(rd::rd_kafka_DescribeCluster_result_controller(result)),
                nodes: all,
                authorized_operations: operations(ops, ops_cnt),
            })
        }
    }

    /// The per-partition outcomes of an ElectLeaders result event.
    pub(crate) fn elect_leaders_result(&self) -> Result<Vec<PartitionOutcome>, RawError> {
        if let Some(e) = self.admin_error() {
            return Err(e);
        }
        // SAFETY: the event is valid; the results live with the event and
        // are copied. The partition is read field by field through its
        // pointer (its error field is an enum in the bindings).
        unsafe {
            let result = rd::rd_kafka_event_ElectLeaders_result(self.ptr.as_ptr());
            if result.is_null() {
                return Err(wrong_event("ElectLeaders"));
            }
            let mut cnt = 0usize;
            let list = rd::rd_kafka_ElectLeaders_result_partitions(result, &mut cnt);
            if list.is_null() {
                return Ok(Vec::new());
            }
            Ok(std::slice::from_raw_parts(list, cnt)
                .iter()
                .filter_map(|&r| {
                    let tp = rd::rd_kafka_topic_partition_result_partition(r);
                    if tp.is_null() {
                        return None;
                    }
                    Some(PartitionOutcome {
                        topic: cstr_lossy(std::ptr::addr_of!((*tp).topic).read()),
                        partition: std::ptr::addr_of!((*tp).partition).read(),
                        error: borrowed_error(rd::rd_kafka_topic_partition_result_error(r)),
                    })
                })
                .collect())
        }
    }
}

/// Copies one topic description.
///
/// # Safety
/// `t` must be a description valid for the call.
unsafe fn topic_info(t: *const rd::rd_kafka_TopicDescription_t) -> TopicInfo {
    // SAFETY: a valid description (caller's contract); everything it points
    // to lives as long as it and is copied.
    unsafe {
        let mut cnt = 0usize;
        let parts = rd::rd_kafka_TopicDescription_partitions(t, &mut cnt);
        let partitions = if parts.is_null() {
            Vec::new()
        } else {
            std::slice::from_raw_parts(parts, cnt)
                .iter()
                .map(|&p| {
                    let (mut isr_cnt, mut rep_cnt) = (0usize, 0usize);
                    let isr = rd::rd_kafka_TopicPartitionInfo_isr(p, &mut isr_cnt);
                    let replicas = rd::rd_kafka_TopicPartitionInfo_replicas(p, &mut rep_cnt);
                    PartitionInfo {
                        partition: rd::rd_kafka_TopicPartitionInfo_partition(p),
                        leader: node(rd::rd_kafka_TopicPartitionInfo_leader(p)),
                        replicas: nodes(replicas, rep_cnt),
                        isr: nodes(isr, isr_cnt),
                    }
                })
                .collect()
        };
        let uuid = rd::rd_kafka_TopicDescription_topic_id(t);
        // librdkafka writes standard base64 with padding; Kafka (its
        // `Uuid.toString()`, its tools) the URL-safe alphabet without it.
        let topic_id = if uuid.is_null() {
            String::new()
        } else {
            cstr_lossy(rd::rd_kafka_Uuid_base64str(uuid))
                .chars()
                .filter(|&c| c != '=')
                .map(|c| match c {
                    '+' => '-',
                    '/' => '_',
                    c => c,
                })
                .collect()
        };
        let mut ops_cnt = 0usize;
        let ops = rd_kafka_TopicDescription_authorized_operations(t, &mut ops_cnt);
        TopicInfo {
            name: cstr_lossy(rd::rd_kafka_TopicDescription_name(t)),
            error: borrowed_error(rd::rd_kafka_TopicDescription_error(t)),
            topic_id,
            internal: rd::rd_kafka_TopicDescription_is_internal(t) != 0,
            partitions,
            authorized_operations: operations(ops, ops_cnt),
        }
    }
}
