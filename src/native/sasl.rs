//! SASL credentials set at runtime: OAUTHBEARER tokens from the
//! application's token provider, and a new username and password.

use std::sync::{Arc, Weak};

use libc::{c_char, c_int};
use rdkafka_sys::bindings as rd;

use super::client::{ClientHandle, NativeClient};
use super::convert::buf_text;
use super::error::{code, RawError};

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

/// A C string, or an error naming what held a NUL byte.
fn c_text(what: &str, value: &str) -> Result<std::ffi::CString, RawError> {
    std::ffi::CString::new(value).map_err(|_| RawError {
        message: format!("{what} contains a NUL byte"),
        ..RawError::from_code(code::INVALID_ARG)
    })
}

/// Where a token provider's answers go: the client, if it still exists.
/// It does not keep the client alive.
pub(crate) struct TokenSink {
    client: Weak<ClientHandle>,
}

/// An OAUTHBEARER token as librdkafka takes it.
pub(crate) struct TokenParts<'a> {
    pub value: &'a str,
    /// When the token expires, in milliseconds since the Unix epoch.
    pub lifetime_ms: i64,
    pub principal: &'a str,
    pub extensions: &'a [(String, String)],
}

impl NativeClient {
    /// A sink for OAUTHBEARER tokens of this client.
    pub(crate) fn token_sink(&self) -> TokenSink {
        TokenSink {
            client: Arc::downgrade(self.handle()),
        }
    }

    /// Sets the SASL username and password used from the next
    /// authentication on (`rd_kafka_sasl_set_credentials`).
    pub(crate) fn sasl_set_credentials(
        &self,
        username: &str,
        password: &str,
    ) -> Result<(), RawError> {
        let (user, pass) = (
            c_text("SASL username", username)?,
            c_text("SASL password", password)?,
        );
        // SAFETY: valid client and strings (copied by librdkafka); the
        // result is NULL or an owned error, read and destroyed once.
        unsafe {
            let error =
                rd::rd_kafka_sasl_set_credentials(self.as_ptr(), user.as_ptr(), pass.as_ptr());
            if error.is_null() {
                Ok(())
            } else {
                Err(RawError::from_owned_error(error))
            }
        }
    }
}

impl TokenSink {
    /// Hands a token to librdkafka. `Ok(false)` when the client is gone.
    pub(crate) fn set_token(&self, token: &TokenParts<'_>) -> Result<bool, RawError> {
        let Some(client) = self.client.upgrade() else {
            return Ok(false);
        };
        let value = c_text("OAUTHBEARER token", token.value)?;
        let principal = c_text("OAUTHBEARER principal", token.principal)?;
        let mut owned = Vec::with_capacity(token.extensions.len() * 2);
        for (k, v) in token.extensions {
            owned.push(c_text("OAUTHBEARER extension name", k)?);
            owned.push(c_text("OAUTHBEARER extension value", v)?);
        }
        let mut pointers: Vec<*const c_char> = owned.iter().map(|s| s.as_ptr()).collect();
        let mut errstr = [0 as c_char; 512];
        // SAFETY: the client is alive (upgraded above); strings and the
        // array of extension pointers live until the call returns, and
        // librdkafka copies them; the error buffer has the size given.
        let err = unsafe {
            rd_kafka_oauthbearer_set_token(
                client.as_ptr(),
                value.as_ptr(),
                token.lifetime_ms,
                principal.as_ptr(),
                pointers.as_mut_ptr(),
                pointers.len(),
                errstr.as_mut_ptr(),
                errstr.len(),
            )
        };
        if err == code::NO_ERROR {
            Ok(true)
        } else {
            Err(RawError {
                message: buf_text(&errstr),
                ..RawError::from_code(err)
            })
        }
    }

    /// Tells librdkafka that no token could be had, and why.
    pub(crate) fn set_failure(&self, message: &str) {
        let Some(client) = self.client.upgrade() else {
            return;
        };
        // An interior NUL cannot go to C: cut the message there.
        let text = message.split('\0').next().unwrap_or_default();
        let Ok(text) = std::ffi::CString::new(text) else {
            return;
        };
        // SAFETY: the client is alive; the string is copied by librdkafka.
        let err = unsafe { rd_kafka_oauthbearer_set_token_failure(client.as_ptr(), text.as_ptr()) };
        if err != code::NO_ERROR {
            tracing::warn!(
                "librdkafka refused the token failure: {}",
                RawError::from_code(err).message
            );
        }
    }
}
