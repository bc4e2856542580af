//! The admin API: options, requests and their result events.
//!
//! Every admin call takes an `rd_kafka_AdminOptions_t` (timeouts, validate
//! only, the opaque value that ties the result to its request) and a queue;
//! librdkafka puts the result there as one event, whose result object and
//! every array in it live as long as the event. The files in this folder
//! each hold one family of operations: they build the C request objects,
//! call librdkafka, and copy the result into plain Rust values before the
//! event is dropped.

mod acls;
mod cluster;
mod configs;
mod groups;
mod offsets;
mod scram;
mod topics;

use std::ffi::CString;
use std::time::Duration;

use libc::{c_char, c_int, c_void};
use rdkafka_sys::bindings as rd;

use super::client::NativeClient;
use super::convert::{buf_text, cstr_lossy, timeout_ms};
use super::error::{code, err_description, RawError};
use super::event::NativeEvent;
use super::ptr::NativePtr;
use super::sys;

pub(crate) use acls::AclSpec;
pub(crate) use cluster::{ClusterInfo, NewPartitionsSpec, NodeInfo, TopicInfo};
pub(crate) use configs::{ConfigCall, ConfigChange, ConfigEntryOut, ConfigResourceSpec};
pub(crate) use groups::{GroupInfo, GroupListings, GroupOutcome, MemberInfo};
pub(crate) use offsets::OffsetToCommit;
pub(crate) use scram::ScramChange;
pub(crate) use topics::{NewTopicSpec, TopicOutcome};

extern "C" {
    // Declared with integer results (see sys.rs).
    fn rd_kafka_AdminOptions_set_request_timeout(
        options: *mut rd::rd_kafka_AdminOptions_t,
        timeout_ms: c_int,
        errstr: *mut c_char,
        errstr_size: usize,
    ) -> c_int;
    fn rd_kafka_AdminOptions_set_operation_timeout(
        options: *mut rd::rd_kafka_AdminOptions_t,
        timeout_ms: c_int,
        errstr: *mut c_char,
        errstr_size: usize,
    ) -> c_int;
    fn rd_kafka_AdminOptions_set_validate_only(
        options: *mut rd::rd_kafka_AdminOptions_t,
        true_or_false: c_int,
        errstr: *mut c_char,
        errstr_size: usize,
    ) -> c_int;
    fn rd_kafka_event_error(rkev: *mut rd::rd_kafka_event_t) -> c_int;
}

/// The admin operations, as librdkafka numbers them (for the options).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(dead_code)] // each is used by its operation's file
pub(crate) enum AdminOp {
    Any,
    CreateTopics,
    DeleteTopics,
    CreatePartitions,
    AlterConfigs,
    DescribeConfigs,
    DeleteRecords,
    DeleteGroups,
    DeleteConsumerGroupOffsets,
    CreateAcls,
    DescribeAcls,
    DeleteAcls,
    ListConsumerGroups,
    DescribeConsumerGroups,
    ListConsumerGroupOffsets,
    AlterConsumerGroupOffsets,
    IncrementalAlterConfigs,
    DescribeUserScramCredentials,
    AlterUserScramCredentials,
    DescribeTopics,
    DescribeCluster,
    ListOffsets,
    ElectLeaders,
}

impl AdminOp {
    fn raw(self) -> rd::rd_kafka_admin_op_t {
        use rd::rd_kafka_admin_op_t as O;
        match self {
            AdminOp::Any => O::RD_KAFKA_ADMIN_OP_ANY,
            AdminOp::CreateTopics => O::RD_KAFKA_ADMIN_OP_CREATETOPICS,
            AdminOp::DeleteTopics => O::RD_KAFKA_ADMIN_OP_DELETETOPICS,
            AdminOp::CreatePartitions => O::RD_KAFKA_ADMIN_OP_CREATEPARTITIONS,
            AdminOp::AlterConfigs => O::RD_KAFKA_ADMIN_OP_ALTERCONFIGS,
            AdminOp::DescribeConfigs => O::RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS,
            AdminOp::DeleteRecords => O::RD_KAFKA_ADMIN_OP_DELETERECORDS,
            AdminOp::DeleteGroups => O::RD_KAFKA_ADMIN_OP_DELETEGROUPS,
            AdminOp::DeleteConsumerGroupOffsets => O::RD_KAFKA_ADMIN_OP_DELETECONSUMERGROUPOFFSETS,
            AdminOp::CreateAcls => O::RD_KAFKA_ADMIN_OP_CREATEACLS,
            AdminOp::DescribeAcls => O::RD_KAFKA_ADMIN_OP_DESCRIBEACLS,
            AdminOp::DeleteAcls => O::RD_KAFKA_ADMIN_OP_DELETEACLS,
            AdminOp::ListConsumerGroups => O::RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS,
            AdminOp::DescribeConsumerGroups => O::RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS,
            AdminOp::ListConsumerGroupOffsets => O::RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS,
            AdminOp::AlterConsumerGroupOffsets => O::RD_KAFKA_ADMIN_OP_ALTERCONSUMERGROUPOFFSETS,
            AdminOp::IncrementalAlterConfigs => O::RD_KAFKA_ADMIN_OP_INCREMENTALALTERCONFIGS,
            AdminOp::DescribeUserScramCredentials => {
                O::RD_KAFKA_ADMIN_OP_DESCRIBEUSERSCRAMCREDENTIALS
            }
            AdminOp::AlterUserScramCredentials => O::RD_KAFKA_ADMIN_OP_ALTERUSERSCRAMCREDENTIALS,
            AdminOp::DescribeTopics => O::RD_KAFKA_ADMIN_OP_DESCRIBETOPICS,
            AdminOp::DescribeCluster => O::RD_KAFKA_ADMIN_OP_DESCRIBECLUSTER,
            AdminOp::ListOffsets => O::RD_KAFKA_ADMIN_OP_LISTOFFSETS,
            AdminOp::ElectLeaders => O::RD_KAFKA_ADMIN_OP_ELECTLEADERS,
        }
    }
}

/// What every admin request may set.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RequestSettings {
    pub request_timeout: Option<Duration>,
    pub operation_timeout: Option<Duration>,
    pub validate_only: bool,
    pub include_authorized_operations: bool,
}

// SAFETY: rd_kafka_AdminOptions_destroy releases options made by
// rd_kafka_AdminOptions_new.
unsafe impl super::ptr::Destroy for rd::rd_kafka_AdminOptions_t {
    unsafe fn destroy(ptr: std::ptr::NonNull<Self>) {
        // SAFETY: the caller owns the options and drops them once.
        unsafe { rd::rd_kafka_AdminOptions_destroy(ptr.as_ptr()) }
    }
}

/// Owned `rd_kafka_AdminOptions_t` for one request.
pub(crate) struct AdminOptions {
    ptr: NativePtr<rd::rd_kafka_AdminOptions_t>,
}

/// Turns an options setter's result into a `RawError` naming the setting.
fn setting(what: &str, code: c_int, errstr: &[c_char]) -> Result<(), RawError> {
    if code == code::NO_ERROR {
        return Ok(());
    }
    Err(RawError {
        message: format!("admin option {what}: {}", buf_text(errstr)),
        ..RawError::from_code(code)
    })
}

impl AdminOptions {
    /// Options for `op` with `settings`, whose result carries `opaque`.
    pub(crate) fn new(
        client: &NativeClient,
        op: AdminOp,
        settings: &RequestSettings,
        opaque: usize,
    ) -> Result<Self, RawError> {
        // SAFETY: the handle is valid; the result is NULL or owned options.
        let raw = unsafe { rd::rd_kafka_AdminOptions_new(client.as_ptr(), op.raw()) };
        // SAFETY: see above; options keep nothing alive.
        let Some(ptr) = (unsafe { NativePtr::from_raw(raw, ()) }) else {
            return Err(RawError {
                message: format!("librdkafka refused admin options for {op:?}"),
                ..RawError::from_code(code::INVALID_ARG)
            });
        };
        let options = AdminOptions { ptr };
        let mut errstr = [0 as c_char; 256];
        let p = options.ptr.as_ptr();
        if let Some(t) = settings.request_timeout {
            // SAFETY: valid options and error buffer of the given size.
            let code = unsafe {
                rd_kafka_AdminOptions_set_request_timeout(
                    p,
                    timeout_ms(t),
                    errstr.as_mut_ptr(),
                    errstr.len(),
                )
            };
            setting("request timeout", code, &errstr)?;
        }
        if let Some(t) = settings.operation_timeout {
            // SAFETY: as above.
            let code = unsafe {
                rd_kafka_AdminOptions_set_operation_timeout(
                    p,
                    timeout_ms(t),
                    errstr.as_mut_ptr(),
                    errstr.len(),
                )
            };
            setting("operation timeout", code, &errstr)?;
        }
        if settings.validate_only {
            // SAFETY: as above.
            let code = unsafe {
                rd_kafka_AdminOptions_set_validate_only(p, 1, errstr.as_mut_ptr(), errstr.len())
            };
            setting("validate only", code, &errstr)?;
        }
        if settings.include_authorized_operations {
            options.include_authorized_operations()?;
        }
        // SAFETY: valid options; the opaque is an integer id, never
        // dereferenced.
        unsafe { rd::rd_kafka_AdminOptions_set_opaque(p, opaque as *mut c_void) };
        Ok(options)
    }

    pub(crate) fn as_ptr(&self) -> *mut rd::rd_kafka_AdminOptions_t {
        self.ptr.as_ptr()
    }
}

/// A C string for a request, or an error naming what held a NUL byte.
pub(crate) fn c_string(what: &str, value: &str) -> Result<CString, RawError> {
    CString::new(value).map_err(|_| RawError {
        message: format!("{what} {value:?} contains a NUL byte"),
        ..RawError::from_code(code::INVALID_ARG)
    })
}

impl NativeEvent {
    /// An admin result event's request-level error, if any.
    pub(crate) fn admin_error(&self) -> Option<RawError> {
        // SAFETY: the event is valid; the string lives as long as the event
        // and is copied.
        let (code, text) = unsafe {
            (
                rd_kafka_event_error(self.ptr.as_ptr()),
                cstr_lossy(rd::rd_kafka_event_error_string(self.ptr.as_ptr())),
            )
        };
        (code != code::NO_ERROR).then(|| RawError {
            message: text,
            ..RawError::from_code(code)
        })
    }
}

/// Reads a borrowed `rd_kafka_error_t` (NULL: no error).
///
/// # Safety
/// `error` must be NULL or valid for the duration of the call.
pub(super) unsafe fn borrowed_error(error: *const rd::rd_kafka_error_t) -> Option<RawError> {
    if error.is_null() {
        return None;
    }
    // SAFETY: a valid error per the contract; its string is copied.
    unsafe {
        let code = sys::rd_kafka_error_code(error);
        let text = cstr_lossy(rd::rd_kafka_error_string(error));
        (code != code::NO_ERROR).then(|| RawError {
            message: if text.is_empty() {
                err_description(code)
            } else {
                text
            },
            fatal: rd::rd_kafka_error_is_fatal(error) != 0,
            retriable: rd::rd_kafka_error_is_retriable(error) != 0,
            txn_requires_abort: rd::rd_kafka_error_txn_requires_abort(error) != 0,
            ..RawError::from_code(code)
        })
    }
}

/// Copies an array of authorized operations; NULL (not asked for) is None.
///
/// # Safety
/// `ops` must be NULL or `cnt` integers valid for the call.
pub(super) unsafe fn operations(ops: *const c_int, cnt: usize) -> Option<Vec<i32>> {
    if ops.is_null() {
        return None;
    }
    // SAFETY: `cnt` integers (caller's contract).
    Some(unsafe { std::slice::from_raw_parts(ops, cnt) }.to_vec())
}

/// A C string that may be NULL.
///
/// # Safety
/// As for `cstr_lossy`.
pub(super) unsafe fn opt_string(ptr: *const c_char) -> Option<String> {
    // SAFETY: per the contract.
    (!ptr.is_null()).then(|| unsafe { cstr_lossy(ptr) })
}
