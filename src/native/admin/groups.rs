//! Consumer groups: listing, describing and deleting them.

use libc::{c_char, c_int};
use rdkafka_sys::bindings as rd;

use super::cluster::{node, NodeInfo};
use super::topics::Requests;
use super::{borrowed_error, c_string, operations, opt_string, AdminOptions};
use crate::native::client::NativeClient;
use crate::native::convert::cstr_lossy;
use crate::native::error::{code, RawError};
use crate::native::event::NativeEvent;
use crate::native::queue::NativeQueue;
use crate::native::tpl::{read_list, TplEntry};

extern "C" {
    // Declared with integer enums (see sys.rs).
    fn rd_kafka_AdminOptions_set_match_consumer_group_states(
        options: *mut rd::rd_kafka_AdminOptions_t,
        states: *const c_int,
        cnt: usize,
    ) -> *mut rd::rd_kafka_error_t;
    fn rd_kafka_AdminOptions_set_match_consumer_group_types(
        options: *mut rd::rd_kafka_AdminOptions_t,
        types: *const c_int,
        cnt: usize,
    ) -> *mut rd::rd_kafka_error_t;
    fn rd_kafka_ConsumerGroupListing_state(
        listing: *const rd::rd_kafka_ConsumerGroupListing_t,
    ) -> c_int;
    fn rd_kafka_ConsumerGroupListing_type(
        listing: *const rd::rd_kafka_ConsumerGroupListing_t,
    ) -> c_int;
    fn rd_kafka_ConsumerGroupDescription_state(
        desc: *const rd::rd_kafka_ConsumerGroupDescription_t,
    ) -> c_int;
    fn rd_kafka_ConsumerGroupDescription_type(
        desc: *const rd::rd_kafka_ConsumerGroupDescription_t,
    ) -> c_int;
    fn rd_kafka_ConsumerGroupDescription_authorized_operations(
        desc: *const rd::rd_kafka_ConsumerGroupDescription_t,
        cntp: *mut usize,
    ) -> *const c_int;
}

/// One group of a ListConsumerGroups result; state and type are
/// librdkafka's integer codes.
#[derive(Debug, Clone)]
pub(crate) struct GroupListing {
    pub id: String,
    pub is_simple: bool,
    pub state: i32,
    pub group_type: i32,
}

/// A ListConsumerGroups result: the groups found and the errors of the
/// brokers that could not be asked.
#[derive(Debug, Clone)]
pub(crate) struct GroupListings {
    pub valid: Vec<GroupListing>,
    pub errors: Vec<RawError>,
}

/// One member of a described group.
#[derive(Debug, Clone)]
pub(crate) struct MemberInfo {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub host: String,
    pub assignment: Vec<TplEntry>,
    pub target_assignment: Option<Vec<TplEntry>>,
}

/// One group of a DescribeConsumerGroups result.
#[derive(Debug, Clone)]
pub(crate) struct GroupInfo {
    pub id: String,
    pub error: Option<RawError>,
    pub is_simple: bool,
    pub partition_assignor: String,
    pub state: i32,
    pub group_type: i32,
    pub coordinator: Option<NodeInfo>,
    pub members: Vec<MemberInfo>,
    /// Integer `rd_kafka_AclOperation_t` codes; None when not asked for.
    pub authorized_operations: Option<Vec<i32>>,
}

/// Turns an owned error returned by an options setter into a result.
///
/// # Safety
/// `error` must be NULL or an owned error, which is destroyed here.
pub(super) unsafe fn owned_result(error: *mut rd::rd_kafka_error_t) -> Result<(), RawError> {
    if error.is_null() {
        Ok(())
    } else {
        // SAFETY: an owned error per the contract.
        Err(unsafe { RawError::from_owned_error(error) })
    }
}

/// A slice of C pointers from a result array (NULL gives an empty slice).
///
/// # Safety
/// `list` must be NULL or point to `cnt` elements that outlive `'a`.
pub(super) unsafe fn c_array<'a, T>(list: *const *const T, cnt: usize) -> &'a [*const T] {
    if list.is_null() || cnt == 0 {
        &[]
    } else {
        // SAFETY: per the contract.
        unsafe { std::slice::from_raw_parts(list, cnt) }
    }
}

impl AdminOptions {
    /// Lists only groups in these states (integer codes).
    pub(crate) fn match_group_states(&self, states: &[i32]) -> Result<(), RawError> {
        if states.is_empty() {
            return Ok(());
        }
        // SAFETY: valid options and an array of `len` integers (the enum's
        // representation), copied by librdkafka; the error is owned.
        unsafe {
            owned_result(rd_kafka_AdminOptions_set_match_consumer_group_states(
                self.as_ptr(),
                states.as_ptr(),
                states.len(),
            ))
        }
    }

    /// Lists only groups of these types (integer codes).
    pub(crate) fn match_group_types(&self, types: &[i32]) -> Result<(), RawError> {
        if types.is_empty() {
            return Ok(());
        }
        // SAFETY: as for match_group_states.
        unsafe {
            owned_result(rd_kafka_AdminOptions_set_match_consumer_group_types(
                self.as_ptr(),
                types.as_ptr(),
                types.len(),
            ))
        }
    }
}

impl NativeClient {
    /// Starts listing consumer groups; the result arrives on `queue`.
    pub(crate) fn list_consumer_groups(&self, options: &AdminOptions, queue: &NativeQueue) {
        // SAFETY: valid client, options and queue.
        unsafe {
            rd::rd_kafka_ListConsumerGroups(self.as_ptr(), options.as_ptr(), queue.ptr.as_ptr())
        };
    }

    /// Starts describing `groups`; the result arrives on `queue`.
    pub(crate) fn describe_consumer_groups(
        &self,
        groups: &[&str],
        options: &AdminOptions,
        queue: &NativeQueue,
    ) -> Result<(), RawError> {
        let names = groups
            .iter()
            .map(|g| c_string("group id", g))
            .collect::<Result<Vec<_>, _>>()?;
        let mut ptrs: Vec<*const c_char> = names.iter().map(|n| n.as_ptr()).collect();
        // SAFETY: valid client, options and queue; an array of valid
        // strings, which librdkafka copies.
        unsafe {
            rd::rd_kafka_DescribeConsumerGroups(
                self.as_ptr(),
                ptrs.as_mut_ptr(),
                ptrs.len(),
                options.as_ptr(),
                queue.ptr.as_ptr(),
            )
        };
        Ok(())
    }

    /// Starts deleting `groups`; the result arrives on `queue`.
    pub(crate) fn delete_groups(
        &self,
        groups: &[&str],
        options: &AdminOptions,
        queue: &NativeQueue,
    ) -> Result<(), RawError> {
        let mut requests = Requests::named(
            "group id",
            groups,
            rd::rd_kafka_DeleteGroup_new,
            rd::rd_kafka_DeleteGroup_destroy,
        )?;
        // SAFETY: valid client, array of owned DeleteGroups, options and
        // queue; librdkafka copies the request.
        unsafe {
            rd::rd_kafka_DeleteGroups(
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
    /// The groups of a ListConsumerGroups result event.
    pub(crate) fn list_consumer_groups_result(&self) -> Result<GroupListings, RawError> {
        if let Some(e) = self.admin_error() {
            return Err(e);
        }
        // SAFETY: the event is valid; NULL means another event type.
        let result = unsafe { rd::rd_kafka_event_ListConsumerGroups_result(self.ptr.as_ptr()) };
        if result.is_null() {
            return Err(RawError::from_code(code::INVALID_ARG));
        }
        let (mut nvalid, mut nerrors) = (0usize, 0usize);
        // SAFETY: the arrays and everything in them live with the event,
        // which outlives this call; strings are copied.
        unsafe {
            let valid = c_array(
                rd::rd_kafka_ListConsumerGroups_result_valid(result, &mut nvalid),
                nvalid,
            );
            let errors = c_array(
                rd::rd_kafka_ListConsumerGroups_result_errors(result, &mut nerrors),
                nerrors,
            );
            Ok(GroupListings {
                valid: valid
                    .iter()
                    .map(|&g| GroupListing {
                        id: cstr_lossy(rd::rd_kafka_ConsumerGroupListing_group_id(g)),
                        is_simple: rd::rd_kafka_ConsumerGroupListing_is_simple_consumer_group(g)
                            != 0,
                        state: rd_kafka_ConsumerGroupListing_state(g),
                        group_type: rd_kafka_ConsumerGroupListing_type(g),
                    })
                    .collect(),
                errors: errors.iter().filter_map(|&e| borrowed_error(e)).collect(),
            })
        }
    }

    /// The groups of a DescribeConsumerGroups result event.
    pub(crate) fn describe_consumer_groups_result(&self) -> Result<Vec<GroupInfo>, RawError> {
        if let Some(e) = self.admin_error() {
            return Err(e);
        }
        // SAFETY: the event is valid; NULL means another event type.
        let result = unsafe { rd::rd_kafka_event_DescribeConsumerGroups_result(self.ptr.as_ptr()) };
        if result.is_null() {
            return Err(RawError::from_code(code::INVALID_ARG));
        }
        let mut cnt = 0usize;
        // SAFETY: the array and everything it points to live with the
        // event; every value is copied.
        unsafe {
            let groups = c_array(
                rd::rd_kafka_DescribeConsumerGroups_result_groups(result, &mut cnt),
                cnt,
            );
            Ok(groups.iter().map(|&g| describe_group(g)).collect())
        }
    }

    /// The per-group outcomes of a DeleteGroups result event.
    pub(crate) fn delete_groups_result(&self) -> Result<Vec<GroupOutcome>, RawError> {
        // SAFETY: the event is valid; NULL means another type; the array
        // lives with the event.
        self.group_results(|ev, cnt| unsafe {
            let result = rd::rd_kafka_event_DeleteGroups_result(ev);
            (!result.is_null()).then(|| rd::rd_kafka_DeleteGroups_result_groups(result, cnt))
        })
    }

    /// The request error, or the group results `list` finds in this event
    /// (None: the event is of another type).
    pub(super) fn group_results(
        &self,
        list: impl FnOnce(
            *mut rd::rd_kafka_event_t,
            &mut usize,
        ) -> Option<*mut *const rd::rd_kafka_group_result_t>,
    ) -> Result<Vec<GroupOutcome>, RawError> {
        if let Some(e) = self.admin_error() {
            return Err(e);
        }
        let mut cnt = 0usize;
        let Some(results) = list(self.ptr.as_ptr(), &mut cnt) else {
            return Err(RawError::from_code(code::INVALID_ARG));
        };
        // SAFETY: the array and its count come from this event, alive here;
        // each group result's name, error and list are copied.
        unsafe {
            Ok(c_array(results as *const *const _, cnt)
                .iter()
                .map(|&g| GroupOutcome {
                    name: cstr_lossy(rd::rd_kafka_group_result_name(g)),
                    error: borrowed_error(rd::rd_kafka_group_result_error(g)),
                    partitions: read_list_with_metadata(rd::rd_kafka_group_result_partitions(g)),
                })
                .collect())
        }
    }
}

/// One group's outcome in a DeleteGroups or group offsets result, with its
/// partitions (and their commit metadata) where the request has them.
#[derive(Debug, Clone)]
pub(crate) struct GroupOutcome {
    pub name: String,
    pub error: Option<RawError>,
    pub partitions: Vec<(TplEntry, String)>,
}

/// The elements of a partition list with each one's commit metadata.
///
/// # Safety
/// `list` must be NULL or valid for the duration of the call.
unsafe fn read_list_with_metadata(
    list: *const rd::rd_kafka_topic_partition_list_t,
) -> Vec<(TplEntry, String)> {
    // SAFETY: per the contract.
    let entries = unsafe { read_list(list) };
    entries
        .into_iter()
        .enumerate()
        .map(|(i, e)| {
            // SAFETY: read_list gave `cnt` entries, so element `i` exists;
            // only its metadata pointer and size are read (no reference to
            // the element is made), and the bytes are copied.
            let metadata = unsafe {
                let elem = (*list).elems.add(i);
                let (data, size) = ((*elem).metadata, (*elem).metadata_size);
                if data.is_null() || size == 0 {
                    String::new()
                } else {
                    let bytes = std::slice::from_raw_parts(data as *const u8, size);
                    String::from_utf8_lossy(bytes).into_owned()
                }
            };
            (e, metadata)
        })
        .collect()
}

/// Copies one group description.
///
/// # Safety
/// `g` must be a valid description for the duration of the call.
unsafe fn describe_group(g: *const rd::rd_kafka_ConsumerGroupDescription_t) -> GroupInfo {
    // SAFETY: everything read belongs to the description, valid per the
    // contract; strings, lists and arrays are copied.
    unsafe {
        let coordinator = node(rd::rd_kafka_ConsumerGroupDescription_coordinator(g));
        let members = (0..rd::rd_kafka_ConsumerGroupDescription_member_count(g))
            .filter_map(|i| {
                let m = rd::rd_kafka_ConsumerGroupDescription_member(g, i);
                if m.is_null() {
                    return None;
                }
                let assignment = rd::rd_kafka_MemberDescription_assignment(m);
                let target = rd::rd_kafka_MemberDescription_target_assignment(m);
                Some(MemberInfo {
                    member_id: cstr_lossy(rd::rd_kafka_MemberDescription_consumer_id(m)),
                    group_instance_id: opt_string(
                        rd::rd_kafka_MemberDescription_group_instance_id(m),
                    ),
                    client_id: cstr_lossy(rd::rd_kafka_MemberDescription_client_id(m)),
                    host: cstr_lossy(rd::rd_kafka_MemberDescription_host(m)),
                    assignment: if assignment.is_null() {
                        Vec::new()
                    } else {
                        read_list(rd::rd_kafka_MemberAssignment_partitions(assignment))
                    },
                    target_assignment: (!target.is_null())
                        .then(|| read_list(rd::rd_kafka_MemberAssignment_partitions(target))),
                })
            })
            .collect();
        let mut nops = 0usize;
        let ops = rd_kafka_ConsumerGroupDescription_authorized_operations(g, &mut nops);
        let authorized_operations = operations(ops, nops);
        GroupInfo {
            id: cstr_lossy(rd::rd_kafka_ConsumerGroupDescription_group_id(g)),
            error: borrowed_error(rd::rd_kafka_ConsumerGroupDescription_error(g)),
            is_simple: rd::rd_kafka_ConsumerGroupDescription_is_simple_consumer_group(g) != 0,
            partition_assignor: cstr_lossy(
                rd::rd_kafka_ConsumerGroupDescription_partition_assignor(g),
            ),
            state: rd_kafka_ConsumerGroupDescription_state(g),
            group_type: rd_kafka_ConsumerGroupDescription_type(g),
            coordinator,
            members,
            authorized_operations,
        }
    }
}
