//! Conversions at the C boundary: C strings to Rust strings, durations to
//! librdkafka's millisecond timeouts.

use std::ffi::CStr;

use libc::c_char;

/// Copies a C string into a `String`, replacing invalid UTF-8; NULL gives "".
///
/// # Safety
/// `ptr` must be NULL or point to a NUL-terminated string valid for the call.
pub(crate) unsafe fn cstr_lossy(ptr: *const c_char) -> String {
    if ptr.is_null() {
        return String::new();
    }
    // SAFETY: non-NULL and NUL-terminated per the caller's contract.
    unsafe { CStr::from_ptr(ptr) }
        .to_string_lossy()
        .into_owned()
}

/// Converts a duration to librdkafka's millisecond timeout, saturating.
pub(crate) fn timeout_ms(timeout: std::time::Duration) -> i32 {
    i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX)
}
