//! `rd_kafka_conf_t`: an owned configuration object.

use std::ffi::CString;

use libc::c_char;
use rdkafka_sys::bindings as rd;

use super::convert::buf_text;
use super::ptr::NativePtr;
use super::sys;

/// An owned `rd_kafka_conf_t`.
pub(crate) struct NativeConf {
    pub(super) ptr: NativePtr<rd::rd_kafka_conf_t>,
}

// SAFETY: a conf object is plain data owned by this value; librdkafka does not
// share it between threads, so moving it to another thread is sound.
unsafe impl Send for NativeConf {}
// SAFETY: the only `&self` method (`dup`) reads the object; librdkafka's conf
// reads do not mutate shared state.
unsafe impl Sync for NativeConf {}

impl NativeConf {
    /// A configuration with librdkafka's defaults.
    pub(crate) fn new() -> Self {
        // SAFETY: rd_kafka_conf_new has no preconditions and returns a new
        // object that we own.
        let ptr = unsafe { NativePtr::from_raw(rd::rd_kafka_conf_new(), ()) };
        // rd_kafka_conf_new only fails when memory is exhausted, where
        // librdkafka itself aborts; a NULL here is therefore unreachable.
        NativeConf {
            ptr: ptr.unwrap_or_else(|| std::process::abort()),
        }
    }

    /// Sets one property; on failure returns librdkafka's reason.
    pub(crate) fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        let key_c = CString::new(key).map_err(|_| "the name contains a NUL byte".to_string())?;
        let value_c =
            CString::new(value).map_err(|_| "the value contains a NUL byte".to_string())?;
        let mut errstr = [0 as c_char; 512];
        // SAFETY: the conf pointer is owned and valid; key, value and errstr
        // are valid for the duration of the call and errstr's size is passed.
        let res = unsafe {
            sys::rd_kafka_conf_set(
                self.ptr.as_ptr(),
                key_c.as_ptr(),
                value_c.as_ptr(),
                errstr.as_mut_ptr(),
                errstr.len(),
            )
        };
        // RD_KAFKA_CONF_OK is 0; UNKNOWN (-2) and INVALID (-1) carry errstr.
        if res == 0 {
            Ok(())
        } else {
            let reason = buf_text(&errstr);
            Err(if reason.is_empty() {
                format!("rejected by librdkafka (code {res})")
            } else {
                reason
            })
        }
    }

    /// Enables event sourcing for the given `RD_KAFKA_EVENT_*` mask.
    pub(crate) fn set_events(&mut self, mask: i32) {
        // SAFETY: the conf pointer is owned and valid.
        unsafe { rd::rd_kafka_conf_set_events(self.ptr.as_ptr(), mask) }
    }

    /// An independent copy.
    pub(crate) fn dup(&self) -> Self {
        // SAFETY: the conf pointer is valid; dup returns a new owned object.
        let ptr = unsafe { NativePtr::from_raw(rd::rd_kafka_conf_dup(self.ptr.as_ptr()), ()) };
        NativeConf {
            ptr: ptr.unwrap_or_else(|| std::process::abort()),
        }
    }

    /// Gives up ownership, once librdkafka has taken the conf over (as a
    /// successful rd_kafka_new does).
    pub(super) fn into_raw(self) -> *mut rd::rd_kafka_conf_t {
        self.ptr.into_raw()
    }
}
