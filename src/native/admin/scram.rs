//! SCRAM credentials of users, and changing a client's SASL credentials.

use libc::{c_char, c_int};
use rdkafka_sys::bindings as rd;

use super::borrowed_error;
use super::{c_string, AdminOptions};
use crate::native::client::NativeClient;
use crate::native::convert::cstr_lossy;
use crate::native::error::{code, error_result, RawError};
use crate::native::event::NativeEvent;
use crate::native::queue::NativeQueue;

extern "C" {
    // Declared with integer enums (see sys.rs).
    fn rd_kafka_ScramCredentialInfo_mechanism(
        info: *const rd::rd_kafka_ScramCredentialInfo_t,
    ) -> c_int;
    fn rd_kafka_UserScramCredentialUpsertion_new(
        username: *const c_char,
        mechanism: c_int,
        iterations: i32,
        password: *const u8,
        password_size: usize,
        salt: *const u8,
        salt_size: usize,
    ) -> *mut rd::rd_kafka_UserScramCredentialAlteration_t;
    fn rd_kafka_UserScramCredentialDeletion_new(
        username: *const c_char,
        mechanism: c_int,
    ) -> *mut rd::rd_kafka_UserScramCredentialAlteration_t;
}

/// A change to a user's SCRAM credential (librdkafka's mechanism code).
#[derive(Debug, Clone)]
pub(crate) enum ScramChange {
    Upsert {
        user: String,
        mechanism: i32,
        iterations: i32,
        password: Vec<u8>,
        salt: Option<Vec<u8>>,
    },
    Delete {
        user: String,
        mechanism: i32,
    },
}

/// A user's credentials as described: (mechanism code, iterations) each,
/// or the user's error.
pub(crate) type ScramUserOut = (String, Result<Vec<(i32, i32)>, RawError>);

struct Alterations(Vec<*mut rd::rd_kafka_UserScramCredentialAlteration_t>);

impl Drop for Alterations {
    fn drop(&mut self) {
        for &p in &self.0 {
            // SAFETY: made by the matching _new call and owned here.
            unsafe { rd::rd_kafka_UserScramCredentialAlteration_destroy(p) }
        }
    }
}

fn wrong_event() -> RawError {
    RawError {
        message: "not the expected SCRAM result event".into(),
        ..RawError::from_code(code::INVALID_ARG)
    }
}

impl NativeClient {
    /// Starts describing the SCRAM credentials of `users` (all: empty).
    pub(crate) fn describe_user_scram_credentials(
        &self,
        users: &[String],
        options: &AdminOptions,
        queue: &NativeQueue,
    ) -> Result<(), RawError> {
        let names = users
            .iter()
            .map(|u| c_string("user name", u))
            .collect::<Result<Vec<_>, _>>()?;
        let mut ptrs: Vec<*const c_char> = names.iter().map(|n| n.as_ptr()).collect();
        // SAFETY: valid client, strings (copied), options and queue.
        unsafe {
            rd::rd_kafka_DescribeUserScramCredentials(
                self.as_ptr(),
                ptrs.as_mut_ptr(),
                ptrs.len(),
                options.as_ptr(),
                queue.ptr.as_ptr(),
            )
        };
        Ok(())
    }

    /// Starts altering SCRAM credentials.
    ///
    /// Checked here, because librdkafka computes the salted password on a
    /// broker thread and asserts there: only SHA-256 (1) and SHA-512 (2),
    /// Kafka's iteration range, and salt and password of a sane size (the
    /// salt goes on that thread's stack).
    pub(crate) fn alter_user_scram_credentials(
        &self,
        changes: &[ScramChange],
        options: &AdminOptions,
        queue: &NativeQueue,
    ) -> Result<(), RawError> {
        let mut alts = Alterations(Vec::with_capacity(changes.len()));
        for c in changes {
            check_scram(c)?;
            let a = match c {
                ScramChange::Upsert {
                    user,
                    mechanism,
                    iterations,
                    password,
                    salt,
                } => {
                    let name = c_string("user name", user)?;
                    let (salt_ptr, salt_len) = salt
                        .as_ref()
                        .map_or((std::ptr::null(), 0), |s| (s.as_ptr(), s.len()));
                    // SAFETY: valid string and byte buffers of the given
                    // sizes (copied); the result is owned.
                    unsafe {
                        rd_kafka_UserScramCredentialUpsertion_new(
                            name.as_ptr(),
                            *mechanism,
                            *iterations,
                            password.as_ptr(),
                            password.len(),
                            salt_ptr,
                            salt_len,
                        )
                    }
                }
                ScramChange::Delete { user, mechanism } => {
                    let name = c_string("user name", user)?;
                    // SAFETY: a valid string (copied); the result is owned.
                    unsafe { rd_kafka_UserScramCredentialDeletion_new(name.as_ptr(), *mechanism) }
                }
            };
            if a.is_null() {
                return Err(RawError::from_code(code::INVALID_ARG));
            }
            alts.0.push(a);
        }
        // SAFETY: valid client, owned alterations, options and queue.
        unsafe {
            rd::rd_kafka_AlterUserScramCredentials(
                self.as_ptr(),
                alts.0.as_mut_ptr(),
                alts.0.len(),
                options.as_ptr(),
                queue.ptr.as_ptr(),
            )
        };
        Ok(())
    }

    /// Sets the SASL username and password used from the next
    /// authentication on (`rd_kafka_sasl_set_credentials`).
    pub(crate) fn sasl_set_credentials(&self, user: &str, password: &str) -> Result<(), RawError> {
        let (u, p) = (
            c_string("SASL username", user)?,
            c_string("SASL password", password)?,
        );
        // SAFETY: valid client and strings (copied); the result is NULL or
        // an owned error, read and destroyed.
        unsafe {
            error_result(rd::rd_kafka_sasl_set_credentials(
                self.as_ptr(),
                u.as_ptr(),
                p.as_ptr(),
            ))
        }
    }
}

impl NativeEvent {
    /// Per user: its credentials or its error.
    pub(crate) fn describe_scram_result(&self) -> Result<Vec<ScramUserOut>, RawError> {
        if let Some(e) = self.admin_error() {
            return Err(e);
        }
        let mut cnt = 0usize;
        // SAFETY: a valid event; NULL means another type; descriptions live
        // with the event and are copied.
        unsafe {
            let r = rd::rd_kafka_event_DescribeUserScramCredentials_result(self.ptr.as_ptr());
            if r.is_null() {
                return Err(wrong_event());
            }
            let list = rd::rd_kafka_DescribeUserScramCredentials_result_descriptions(r, &mut cnt);
            if list.is_null() {
                return Ok(Vec::new());
            }
            Ok(std::slice::from_raw_parts(list, cnt)
                .iter()
                .map(|&d| {
                    let user = cstr_lossy(rd::rd_kafka_UserScramCredentialsDescription_user(d));
                    if let Some(e) =
                        borrowed_error(rd::rd_kafka_UserScramCredentialsDescription_error(d))
                    {
                        return (user, Err(e));
                    }
                    let n =
                        rd::rd_kafka_UserScramCredentialsDescription_scramcredentialinfo_count(d);
                    let infos = (0..n)
                        .map(|i| {
                            rd::rd_kafka_UserScramCredentialsDescription_scramcredentialinfo(d, i)
                        })
                        .filter(|i| !i.is_null())
                        .map(|i| {
                            (
                                rd_kafka_ScramCredentialInfo_mechanism(i),
                                rd::rd_kafka_ScramCredentialInfo_iterations(i),
                            )
                        })
                        .collect();
                    (user, Ok(infos))
                })
                .collect())
        }
    }

    /// Per user: its alteration's error, if any.
    pub(crate) fn alter_scram_result(&self) -> Result<Vec<(String, Option<RawError>)>, RawError> {
        if let Some(e) = self.admin_error() {
            return Err(e);
        }
        let mut cnt = 0usize;
        // SAFETY: as for describe_scram_result.
        unsafe {
            let r = rd::rd_kafka_event_AlterUserScramCredentials_result(self.ptr.as_ptr());
            if r.is_null() {
                return Err(wrong_event());
            }
            let list = rd::rd_kafka_AlterUserScramCredentials_result_responses(r, &mut cnt);
            if list.is_null() {
                return Ok(Vec::new());
            }
            Ok(std::slice::from_raw_parts(list, cnt)
                .iter()
                .map(|&resp| {
                    (
                        cstr_lossy(rd::rd_kafka_AlterUserScramCredentials_result_response_user(
                            resp,
                        )),
                        borrowed_error(
                            rd::rd_kafka_AlterUserScramCredentials_result_response_error(resp),
                        ),
                    )
                })
                .collect())
        }
    }
}

/// Kafka's bounds for SCRAM iterations.
const ITERATIONS: std::ops::RangeInclusive<i32> = 4096..=16384;
/// The longest salt or password sent (far above any real one).
const MAX_SECRET: usize = 1024;

fn check_scram(change: &ScramChange) -> Result<(), RawError> {
    let invalid = |message: String| RawError {
        message,
        ..RawError::from_code(code::INVALID_ARG)
    };
    let (user, mechanism) = match change {
        ScramChange::Upsert {
            user, mechanism, ..
        }
        | ScramChange::Delete { user, mechanism } => (user, *mechanism),
    };
    if !(1..=2).contains(&mechanism) {
        return Err(invalid(format!(
            "user {user:?}: SCRAM mechanism {mechanism} is neither SCRAM-SHA-256 nor SCRAM-SHA-512"
        )));
    }
    if let ScramChange::Upsert {
        iterations,
        password,
        salt,
        ..
    } = change
    {
        if !ITERATIONS.contains(iterations) {
            return Err(invalid(format!(
                "user {user:?}: {iterations} SCRAM iterations; Kafka accepts {} to {}",
                ITERATIONS.start(),
                ITERATIONS.end()
            )));
        }
        if password.len() > MAX_SECRET || salt.as_ref().is_some_and(|s| s.len() > MAX_SECRET) {
            return Err(invalid(format!(
                "user {user:?}: SCRAM password and salt are limited to {MAX_SECRET} bytes"
            )));
        }
    }
    Ok(())
}
