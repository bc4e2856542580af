//! Describing and altering configs of topics, brokers and groups.

use libc::{c_char, c_int};
use rdkafka_sys::bindings as rd;

use super::{c_string, AdminOptions};
use crate::native::client::NativeClient;
use crate::native::convert::{cstr_borrowed, cstr_lossy};
use crate::native::error::{code, err_description, error_result, RawError};
use crate::native::event::NativeEvent;
use crate::native::queue::NativeQueue;

extern "C" {
    // Declared with integer enums and results (see sys.rs).
    fn rd_kafka_ConfigResource_new(
        restype: c_int,
        name: *const c_char,
    ) -> *mut rd::rd_kafka_ConfigResource_t;
    fn rd_kafka_ConfigResource_set_config(
        config: *mut rd::rd_kafka_ConfigResource_t,
        name: *const c_char,
        value: *const c_char,
    ) -> c_int;
    fn rd_kafka_ConfigResource_add_incremental_config(
        config: *mut rd::rd_kafka_ConfigResource_t,
        name: *const c_char,
        op_type: c_int,
        value: *const c_char,
    ) -> *mut rd::rd_kafka_error_t;
    fn rd_kafka_ConfigResource_type(config: *const rd::rd_kafka_ConfigResource_t) -> c_int;
    fn rd_kafka_ConfigResource_error(config: *const rd::rd_kafka_ConfigResource_t) -> c_int;
    fn rd_kafka_ConfigEntry_source(entry: *const rd::rd_kafka_ConfigEntry_t) -> c_int;
}

/// A change to one config entry: its name, librdkafka's
/// `rd_kafka_AlterConfigOpType_t` (None: the whole-set AlterConfigs form)
/// and the value (None only for a delete).
#[derive(Debug, Clone)]
pub(crate) struct ConfigChange {
    pub name: String,
    pub op: Option<i32>,
    pub value: Option<String>,
}

/// A resource in a config request: librdkafka's resource type, its name
/// and the changes (empty to describe it).
#[derive(Debug, Clone)]
pub(crate) struct ConfigResourceSpec {
    pub restype: i32,
    pub name: String,
    pub changes: Vec<ConfigChange>,
}

/// One config entry read from a result.
#[derive(Debug, Clone)]
pub(crate) struct ConfigEntryOut {
    pub name: String,
    pub value: Option<String>,
    pub source: i32,
    pub read_only: bool,
    pub default: bool,
    pub sensitive: bool,
    pub synonym: bool,
    pub synonyms: Vec<ConfigEntryOut>,
}

/// One resource's outcome in a config result.
#[derive(Debug, Clone)]
pub(crate) struct ConfigResourceOut {
    pub restype: i32,
    pub name: String,
    pub error: Option<RawError>,
    pub entries: Vec<ConfigEntryOut>,
}

/// Owned `rd_kafka_ConfigResource_t`s of one call, destroyed when it
/// returned (librdkafka copies what it needs).
struct Resources(Vec<*mut rd::rd_kafka_ConfigResource_t>);

impl Drop for Resources {
    fn drop(&mut self) {
        for &p in &self.0 {
            // SAFETY: each pointer was made by rd_kafka_ConfigResource_new
            // and is owned here.
            unsafe { rd::rd_kafka_ConfigResource_destroy(p) }
        }
    }
}

fn invalid(message: String) -> RawError {
    RawError {
        message,
        ..RawError::from_code(code::INVALID_ARG)
    }
}

/// Builds the C resources of a request.
fn build(specs: &[ConfigResourceSpec]) -> Result<Resources, RawError> {
    let mut out = Resources(Vec::with_capacity(specs.len()));
    for spec in specs {
        let name = c_string("config resource name", &spec.name)?;
        // SAFETY: a valid string (copied); the result is NULL (bad type) or
        // an owned resource.
        let res = unsafe { rd_kafka_ConfigResource_new(spec.restype, name.as_ptr()) };
        if res.is_null() {
            return Err(invalid(format!(
                "config resource {:?} of type {}: refused by librdkafka",
                spec.name, spec.restype
            )));
        }
        out.0.push(res);
        for change in &spec.changes {
            let key = c_string("config name", &change.name)?;
            let value = change
                .value
                .as_deref()
                .map(|v| c_string("config value", v))
                .transpose()?;
            let value_ptr = value.as_ref().map_or(std::ptr::null(), |v| v.as_ptr());
            let what = format!("config resource {:?}: config {}", spec.name, change.name);
            match change.op {
                None => {
                    // SAFETY: a valid resource and strings (copied).
                    let err =
                        unsafe { rd_kafka_ConfigResource_set_config(res, key.as_ptr(), value_ptr) };
                    if err != code::NO_ERROR {
                        return Err(RawError {
                            message: format!("{what}: {}", err_description(err)),
                            ..RawError::from_code(err)
                        });
                    }
                }
                Some(op) => {
                    // SAFETY: a valid resource and strings (copied); the
                    // result is NULL or an owned error, read and destroyed.
                    unsafe {
                        error_result(rd_kafka_ConfigResource_add_incremental_config(
                            res,
                            key.as_ptr(),
                            op,
                            value_ptr,
                        ))
                    }
                    .map_err(|e| RawError {
                        message: format!("{what}: {}", e.message),
                        ..e
                    })?;
                }
            }
        }
    }
    Ok(out)
}

/// The kind of config request.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ConfigCall {
    Describe,
    Alter,
    IncrementalAlter,
}

impl NativeClient {
    /// Starts a config request on `resources`; the result arrives on
    /// `queue`.
    pub(crate) fn config_request(
        &self,
        call: ConfigCall,
        resources: &[ConfigResourceSpec],
        options: &AdminOptions,
        queue: &NativeQueue,
    ) -> Result<(), RawError> {
        let mut res = build(resources)?;
        let (rk, arr, cnt, opts, q) = (
            self.as_ptr(),
            res.0.as_mut_ptr(),
            res.0.len(),
            options.as_ptr(),
            queue.ptr.as_ptr(),
        );
        // SAFETY: valid client, array of owned resources, options and
        // queue; librdkafka copies the request.
        unsafe {
            match call {
                ConfigCall::Describe => rd::rd_kafka_DescribeConfigs(rk, arr, cnt, opts, q),
                ConfigCall::Alter => rd::rd_kafka_AlterConfigs(rk, arr, cnt, opts, q),
                ConfigCall::IncrementalAlter => {
                    rd::rd_kafka_IncrementalAlterConfigs(rk, arr, cnt, opts, q)
                }
            }
        };
        Ok(())
    }
}

/// Copies a config entry (and its synonyms) out of a result.
///
/// # Safety
/// `e` must be a valid entry of a live result event.
unsafe fn read_entry(e: *const rd::rd_kafka_ConfigEntry_t, depth: u32) -> ConfigEntryOut {
    // SAFETY: the entry is valid (caller's contract); strings are copied.
    unsafe {
        let mut cnt = 0usize;
        let syn = rd::rd_kafka_ConfigEntry_synonyms(e, &mut cnt);
        let synonyms = if syn.is_null() || depth > 0 {
            Vec::new()
        } else {
            std::slice::from_raw_parts(syn, cnt)
                .iter()
                .map(|&s| read_entry(s, depth + 1))
                .collect()
        };
        ConfigEntryOut {
            name: cstr_lossy(rd::rd_kafka_ConfigEntry_name(e)),
            value: cstr_borrowed(rd::rd_kafka_ConfigEntry_value(e))
                .map(|v| v.to_string_lossy().into_owned()),
            source: rd_kafka_ConfigEntry_source(e),
            read_only: rd::rd_kafka_ConfigEntry_is_read_only(e) != 0,
            default: rd::rd_kafka_ConfigEntry_is_default(e) != 0,
            sensitive: rd::rd_kafka_ConfigEntry_is_sensitive(e) != 0,
            synonym: rd::rd_kafka_ConfigEntry_is_synonym(e) != 0,
            synonyms,
        }
    }
}

impl NativeEvent {
    /// The per-resource outcomes of a config result event.
    pub(crate) fn config_result(
        &self,
        call: ConfigCall,
    ) -> Result<Vec<ConfigResourceOut>, RawError> {
        if let Some(e) = self.admin_error() {
            return Err(e);
        }
        let ev = self.ptr.as_ptr();
        let mut cnt = 0usize;
        // SAFETY: the event is valid; a NULL result means another type. The
        // array lives with the event.
        let list = unsafe {
            match call {
                ConfigCall::Describe => {
                    let r = rd::rd_kafka_event_DescribeConfigs_result(ev);
                    (!r.is_null())
                        .then(|| rd::rd_kafka_DescribeConfigs_result_resources(r, &mut cnt))
                }
                ConfigCall::Alter => {
                    let r = rd::rd_kafka_event_AlterConfigs_result(ev);
                    (!r.is_null()).then(|| rd::rd_kafka_AlterConfigs_result_resources(r, &mut cnt))
                }
                ConfigCall::IncrementalAlter => {
                    let r = rd::rd_kafka_event_IncrementalAlterConfigs_result(ev);
                    (!r.is_null())
                        .then(|| rd::rd_kafka_IncrementalAlterConfigs_result_resources(r, &mut cnt))
                }
            }
        };
        let Some(list) = list else {
            return Err(invalid("not a config result event".into()));
        };
        if list.is_null() {
            return Ok(Vec::new());
        }
        // SAFETY: `cnt` resources owned by the event, alive here.
        let resources = unsafe { std::slice::from_raw_parts(list, cnt) };
        Ok(resources
            .iter()
            .map(|&r| {
                // SAFETY: each resource is valid while the event lives; its
                // strings and entries are copied.
                unsafe {
                    let err = rd_kafka_ConfigResource_error(r);
                    let text = cstr_lossy(rd::rd_kafka_ConfigResource_error_string(r));
                    let mut n = 0usize;
                    let entries = rd::rd_kafka_ConfigResource_configs(r, &mut n);
                    let entries = if entries.is_null() {
                        Vec::new()
                    } else {
                        std::slice::from_raw_parts(entries, n)
                            .iter()
                            .map(|&e| read_entry(e, 0))
                            .collect()
                    };
                    ConfigResourceOut {
                        restype: rd_kafka_ConfigResource_type(r),
                        name: cstr_lossy(rd::rd_kafka_ConfigResource_name(r)),
                        error: (err != code::NO_ERROR).then(|| RawError {
                            message: if text.is_empty() {
                                err_description(err)
                            } else {
                                text
                            },
                            ..RawError::from_code(err)
                        }),
                        entries,
                    }
                }
            })
            .collect())
    }
}
