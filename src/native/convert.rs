//! Conversions at the C boundary: C strings to Rust strings, durations to
//! librdkafka's millisecond timeouts.

use std::ffi::CStr;

use libc::c_char;

/// Copies a C string into a `String`, replacing invalid UTF-8; NULL gives "".
///
/// # Safety
/// `ptr` must be NULL or point to a NUL-terminated string valid for the call.
pub(crate) unsafe fn cstr_lossy(ptr: *const c_char) -> String {
    // SAFETY: the caller's contract is cstr_borrowed's, for this call.
    unsafe { cstr_borrowed(ptr) }
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Borrows a C string; NULL gives None.
///
/// # Safety
/// `ptr` must be NULL or point to a NUL-terminated string that stays valid
/// and unmodified for `'a`.
pub(crate) unsafe fn cstr_borrowed<'a>(ptr: *const c_char) -> Option<&'a CStr> {
    if ptr.is_null() {
        None
    } else {
        // SAFETY: non-NULL, NUL-terminated and valid for 'a per the contract.
        Some(unsafe { CStr::from_ptr(ptr) })
    }
}

/// Borrows a C string as UTF-8; NULL or invalid UTF-8 gives "".
///
/// # Safety
/// As for [`cstr_borrowed`].
pub(crate) unsafe fn cstr_str<'a>(ptr: *const c_char) -> &'a str {
    // SAFETY: the caller's contract is cstr_borrowed's.
    unsafe { cstr_borrowed(ptr) }
        .and_then(|s| s.to_str().ok())
        .unwrap_or("")
}

/// The text librdkafka wrote into an error buffer, read up to its first NUL
/// and never past its end, whether or not librdkafka terminated it.
pub(crate) fn buf_text(buf: &[c_char]) -> String {
    // c_char is i8 or u8 depending on the target; either way one byte.
    let bytes: Vec<u8> = buf
        .iter()
        .map(|&c| c as u8)
        .take_while(|&b| b != 0)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Converts a duration to librdkafka's millisecond timeout, saturating.
pub(crate) fn timeout_ms(timeout: std::time::Duration) -> i32 {
    i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use libc::c_char;

    use super::{buf_text, cstr_borrowed, cstr_lossy, cstr_str};

    #[test]
    fn null_c_strings_read_as_nothing() {
        // SAFETY: NULL is allowed by every one of these.
        unsafe {
            assert!(cstr_borrowed(std::ptr::null()).is_none());
            assert_eq!(cstr_str(std::ptr::null()), "");
            assert_eq!(cstr_lossy(std::ptr::null()), "");
        }
    }

    #[test]
    fn an_error_buffer_is_read_within_its_length() {
        let mut buf = [b'x' as c_char; 8];
        assert_eq!(buf_text(&buf), "xxxxxxxx", "no NUL: the whole buffer");
        buf[3] = 0;
        assert_eq!(buf_text(&buf), "xxx");
        assert_eq!(buf_text(&[]), "");
    }
}
