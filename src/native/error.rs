//! Errors read from librdkafka: codes, `rd_kafka_error_t` objects and the
//! thread-local last error.

use rdkafka_sys::bindings as rd;

use super::convert::cstr_lossy;
use super::sys;

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
    pub(super) unsafe fn from_owned_error(error: *mut rd::rd_kafka_error_t) -> Self {
        // SAFETY: the caller hands us a valid owned error object; each accessor
        // only reads it, and it is destroyed exactly once, after the reads.
        unsafe {
            let raw = RawError {
                code: sys::rd_kafka_error_code(error),
                message: cstr_lossy(rd::rd_kafka_error_string(error)),
                fatal: rd::rd_kafka_error_is_fatal(error) != 0,
                retriable: rd::rd_kafka_error_is_retriable(error) != 0,
                txn_requires_abort: rd::rd_kafka_error_txn_requires_abort(error) != 0,
            };
            rd::rd_kafka_error_destroy(error);
            raw
        }
    }
}

/// librdkafka's human readable description of an error code.
pub(crate) fn err_description(code: i32) -> String {
    // SAFETY: any integer is accepted; the result is a static string (a
    // generic one for unknown codes), copied here.
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

/// The error codes kafkit's own code compares with or reports, as the
/// integers they are at the C boundary: each is librdkafka's
/// `rd_kafka_resp_err_t` value (the same numbers as the generated
/// `ErrorCode` table, which a unit test checks). Other modules take their
/// codes from here instead of spelling out numbers.
pub(crate) mod code {
    use rdkafka_sys::bindings::rd_kafka_resp_err_t as E;

    /// Success.
    pub(crate) const NO_ERROR: i32 = E::RD_KAFKA_RESP_ERR_NO_ERROR as i32;
    /// First of the codes raised inside librdkafka (exclusive).
    pub(crate) const LOCAL_BEGIN: i32 = E::RD_KAFKA_RESP_ERR__BEGIN as i32;
    /// Last of the codes raised inside librdkafka (exclusive).
    pub(crate) const LOCAL_END: i32 = E::RD_KAFKA_RESP_ERR__END as i32;
    /// The consumer reached the end of a partition.
    pub(crate) const PARTITION_EOF: i32 = E::RD_KAFKA_RESP_ERR__PARTITION_EOF as i32;
    /// An invalid argument or configuration.
    pub(crate) const INVALID_ARG: i32 = E::RD_KAFKA_RESP_ERR__INVALID_ARG as i32;
    /// An operation timed out.
    pub(crate) const TIMED_OUT: i32 = E::RD_KAFKA_RESP_ERR__TIMED_OUT as i32;
    /// A rebalance assigns partitions.
    pub(crate) const ASSIGN_PARTITIONS: i32 = E::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS as i32;
    /// An operation in the wrong state (such as an eager assign in a
    /// cooperative group).
    pub(crate) const STATE: i32 = E::RD_KAFKA_RESP_ERR__STATE as i32;
    /// A seek without a timeout was started; its result is not awaited.
    pub(crate) const IN_PROGRESS: i32 = E::RD_KAFKA_RESP_ERR__IN_PROGRESS as i32;
    /// No offset to commit.
    pub(crate) const NO_OFFSET: i32 = E::RD_KAFKA_RESP_ERR__NO_OFFSET as i32;
    /// The client is in a fatal error state.
    pub(crate) const FATAL: i32 = E::RD_KAFKA_RESP_ERR__FATAL as i32;
}

/// `Ok` for code 0, otherwise the error with that code.
pub(super) fn code_result(code: i32) -> Result<(), RawError> {
    if code == code::NO_ERROR {
        Ok(())
    } else {
        Err(RawError::from_code(code))
    }
}

/// Reads librdkafka's thread-local last error.
///
/// # Safety
/// Must be called right after the failing librdkafka call on the same thread.
pub(super) unsafe fn last_error() -> i32 {
    // SAFETY: reads a thread-local integer; no preconditions.
    unsafe { sys::rd_kafka_last_error() }
}

/// `Ok` for NULL, otherwise the error object, read and destroyed.
///
/// # Safety
/// `error` must be NULL or an owned `rd_kafka_error_t` that nothing else
/// destroys.
pub(super) unsafe fn error_result(error: *mut rd::rd_kafka_error_t) -> Result<(), RawError> {
    if error.is_null() {
        Ok(())
    } else {
        // SAFETY: non-NULL, so an owned error per the contract.
        Err(unsafe { RawError::from_owned_error(error) })
    }
}
