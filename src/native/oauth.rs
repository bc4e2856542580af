//! SASL/OAUTHBEARER: handing librdkafka a token, or the reason there is
//! none.

use std::sync::{Arc, Weak};

use libc::{c_char, c_int};
use rdkafka_sys::bindings as rd;

use super::admin::c_string;
use super::client::{ClientHandle, NativeClient};
use super::convert::buf_text;
use super::error::{code, err_description, RawError};

extern "C" {
    // Declared with integer results (see sys.rs).
    fn rd_kafka_oauthbearer_set_token(
        rk: *mut rd::rd_kafka_t,
        token_value: *const c_char,
        md_lifetime_ms: i64,
        md_principal_name: *const c_char,
        extensions: *mut *const c_char,
        extension_size: usize,
        errstr: *mut c_char,
        errstr_size: usize,
    ) -> c_int;
    fn rd_kafka_oauthbearer_set_token_failure(
        rk: *mut rd::rd_kafka_t,
        errstr: *const c_char,
    ) -> c_int;
}

/// A client reference that does not keep the client alive.
pub(crate) struct WeakClient(Weak<ClientHandle>);

impl WeakClient {
    /// The client, if it is still alive.
    pub(crate) fn upgrade(&self) -> Option<NativeClient> {
        self.0.upgrade().map(NativeClient::from_handle)
    }
}

impl NativeClient {
    /// A reference that does not keep this client alive.
    pub(crate) fn downgrade(&self) -> WeakClient {
        WeakClient(Arc::downgrade(self.handle()))
    }

    /// Hands librdkafka a token valid until `lifetime_ms` (wall clock, ms
    /// since the epoch) for `principal`, with SASL extensions.
    pub(crate) fn oauthbearer_set_token(
        &self,
        value: &str,
        lifetime_ms: i64,
        principal: &str,
        extensions: &[(String, String)],
    ) -> Result<(), RawError> {
        let value = c_string("OAUTHBEARER token", value)?;
        let principal = c_string("OAUTHBEARER principal", principal)?;
        let mut ext = Vec::with_capacity(extensions.len() * 2);
        for (k, v) in extensions {
            ext.push(c_string("OAUTHBEARER extension key", k)?);
            ext.push(c_string("OAUTHBEARER extension value", v)?);
        }
        let mut ptrs: Vec<*const c_char> = ext.iter().map(|c| c.as_ptr()).collect();
        let mut errstr = [0 as c_char; 512];
        // SAFETY: a valid client, strings and an array of 2n strings
        // (copied), and an error buffer of the given size.
        let err = unsafe {
            rd_kafka_oauthbearer_set_token(
                self.as_ptr(),
                value.as_ptr(),
                lifetime_ms,
                principal.as_ptr(),
                if ptrs.is_empty() {
                    std::ptr::null_mut()
                } else {
                    ptrs.as_mut_ptr()
                },
                ptrs.len(),
                errstr.as_mut_ptr(),
                errstr.len(),
            )
        };
        if err == code::NO_ERROR {
            return Ok(());
        }
        let text = buf_text(&errstr);
        Err(RawError {
            message: if text.is_empty() {
                err_description(err)
            } else {
                text
            },
            ..RawError::from_code(err)
        })
    }

    /// Tells librdkafka that no token could be had, and why.
    pub(crate) fn oauthbearer_set_token_failure(&self, reason: &str) -> Result<(), RawError> {
        // A NUL in the reason would cut it: replace it rather than fail.
        let reason = c_string("reason", &reason.replace('\0', " "))?;
        // SAFETY: a valid client and string (copied).
        let err = unsafe { rd_kafka_oauthbearer_set_token_failure(self.as_ptr(), reason.as_ptr()) };
        if err == code::NO_ERROR {
            Ok(())
        } else {
            Err(RawError::from_code(err))
        }
    }
}
