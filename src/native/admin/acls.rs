//! Creating, describing and deleting ACL bindings.

use libc::{c_char, c_int};
use rdkafka_sys::bindings as rd;

use super::{borrowed_error, c_string, AdminOptions};
use crate::native::client::NativeClient;
use crate::native::convert::{buf_text, cstr_borrowed};
use crate::native::error::{code, RawError};
use crate::native::event::NativeEvent;
use crate::native::queue::NativeQueue;

extern "C" {
    // Declared with integer enums and results (see sys.rs).
    fn rd_kafka_AclBinding_new(
        restype: c_int,
        name: *const c_char,
        resource_pattern_type: c_int,
        principal: *const c_char,
        host: *const c_char,
        operation: c_int,
        permission_type: c_int,
        errstr: *mut c_char,
        errstr_size: usize,
    ) -> *mut rd::rd_kafka_AclBinding_t;
    fn rd_kafka_AclBindingFilter_new(
        restype: c_int,
        name: *const c_char,
        resource_pattern_type: c_int,
        principal: *const c_char,
        host: *const c_char,
        operation: c_int,
        permission_type: c_int,
        errstr: *mut c_char,
        errstr_size: usize,
    ) -> *mut rd::rd_kafka_AclBinding_t;
    fn rd_kafka_AclBinding_restype(acl: *const rd::rd_kafka_AclBinding_t) -> c_int;
    fn rd_kafka_AclBinding_operation(acl: *const rd::rd_kafka_AclBinding_t) -> c_int;
    fn rd_kafka_AclBinding_permission_type(acl: *const rd::rd_kafka_AclBinding_t) -> c_int;
    fn rd_kafka_AclBinding_resource_pattern_type(acl: *const rd::rd_kafka_AclBinding_t) -> c_int;
}

/// An ACL binding or filter with librdkafka's codes; None strings are
/// "any" in a filter.
#[derive(Debug, Clone)]
pub(crate) struct AclSpec {
    pub restype: i32,
    pub name: Option<String>,
    pub pattern: i32,
    pub principal: Option<String>,
    pub host: Option<String>,
    pub operation: i32,
    pub permission: i32,
}

/// A delete filter's outcome: an error, or the bindings it deleted.
pub(crate) type DeleteAclsOut = Result<Vec<AclSpec>, RawError>;

/// Owned bindings of one call.
struct Bindings(Vec<*mut rd::rd_kafka_AclBinding_t>);

impl Drop for Bindings {
    fn drop(&mut self) {
        for &p in &self.0 {
            // SAFETY: made by rd_kafka_AclBinding(Filter)_new, owned here.
            unsafe { rd::rd_kafka_AclBinding_destroy(p) }
        }
    }
}

fn build(specs: &[AclSpec], filter: bool) -> Result<Bindings, RawError> {
    let mut out = Bindings(Vec::with_capacity(specs.len()));
    for s in specs {
        let opt = |what, v: &Option<String>| v.as_deref().map(|v| c_string(what, v)).transpose();
        let name = opt("ACL resource name", &s.name)?;
        let principal = opt("ACL principal", &s.principal)?;
        let host = opt("ACL host", &s.host)?;
        let ptr =
            |c: &Option<std::ffi::CString>| c.as_ref().map_or(std::ptr::null(), |c| c.as_ptr());
        let mut errstr = [0 as c_char; 512];
        let new = if filter {
            rd_kafka_AclBindingFilter_new
        } else {
            rd_kafka_AclBinding_new
        };
        // SAFETY: valid (or NULL, which librdkafka checks) strings, copied;
        // the result is NULL with a message in errstr, or owned.
        let b = unsafe {
            new(
                s.restype,
                ptr(&name),
                s.pattern,
                ptr(&principal),
                ptr(&host),
                s.operation,
                s.permission,
                errstr.as_mut_ptr(),
                errstr.len(),
            )
        };
        if b.is_null() {
            return Err(RawError {
                message: format!(
                    "ACL binding for resource {:?}, principal {:?}: {}",
                    s.name.as_deref().unwrap_or("(any)"),
                    s.principal.as_deref().unwrap_or("(any)"),
                    buf_text(&errstr)
                ),
                ..RawError::from_code(code::INVALID_ARG)
            });
        }
        out.0.push(b);
    }
    Ok(out)
}

/// Copies a binding out of a result.
///
/// # Safety
/// `b` must be a valid binding of a live event.
unsafe fn read_binding(b: *const rd::rd_kafka_AclBinding_t) -> AclSpec {
    // SAFETY: a valid binding (caller's contract); strings are copied.
    unsafe {
        let text = |p: *const c_char| cstr_borrowed(p).map(|c| c.to_string_lossy().into_owned());
        AclSpec {
            restype: rd_kafka_AclBinding_restype(b),
            name: text(rd::rd_kafka_AclBinding_name(b)),
            pattern: rd_kafka_AclBinding_resource_pattern_type(b),
            principal: text(rd::rd_kafka_AclBinding_principal(b)),
            host: text(rd::rd_kafka_AclBinding_host(b)),
            operation: rd_kafka_AclBinding_operation(b),
            permission: rd_kafka_AclBinding_permission_type(b),
        }
    }
}

/// Copies `cnt` bindings of an array owned by a live event.
///
/// # Safety
/// `list` must be NULL or an array of `cnt` valid bindings.
unsafe fn read_bindings(list: *mut *const rd::rd_kafka_AclBinding_t, cnt: usize) -> Vec<AclSpec> {
    if list.is_null() {
        return Vec::new();
    }
    // SAFETY: caller's contract.
    unsafe { std::slice::from_raw_parts(list, cnt) }
        .iter()
        // SAFETY: each binding is valid while the event lives.
        .map(|&b| unsafe { read_binding(b) })
        .collect()
}

impl NativeClient {
    /// Starts creating ACL bindings.
    pub(crate) fn create_acls(
        &self,
        acls: &[AclSpec],
        options: &AdminOptions,
        queue: &NativeQueue,
    ) -> Result<(), RawError> {
        let mut b = build(acls, false)?;
        // SAFETY: valid client, owned bindings, options and queue; copied.
        unsafe {
            rd::rd_kafka_CreateAcls(
                self.as_ptr(),
                b.0.as_mut_ptr(),
                b.0.len(),
                options.as_ptr(),
                queue.ptr.as_ptr(),
            )
        };
        Ok(())
    }

    /// Starts describing the ACL bindings that match a filter.
    pub(crate) fn describe_acls(
        &self,
        filter: &AclSpec,
        options: &AdminOptions,
        queue: &NativeQueue,
    ) -> Result<(), RawError> {
        let b = build(std::slice::from_ref(filter), true)?;
        // SAFETY: as for create_acls; one owned filter.
        unsafe {
            rd::rd_kafka_DescribeAcls(self.as_ptr(), b.0[0], options.as_ptr(), queue.ptr.as_ptr())
        };
        Ok(())
    }

    /// Starts deleting the ACL bindings that match filters.
    pub(crate) fn delete_acls(
        &self,
        filters: &[AclSpec],
        options: &AdminOptions,
        queue: &NativeQueue,
    ) -> Result<(), RawError> {
        let mut b = build(filters, true)?;
        // SAFETY: as for create_acls.
        unsafe {
            rd::rd_kafka_DeleteAcls(
                self.as_ptr(),
                b.0.as_mut_ptr(),
                b.0.len(),
                options.as_ptr(),
                queue.ptr.as_ptr(),
            )
        };
        Ok(())
    }
}

fn wrong_event() -> RawError {
    RawError {
        message: "not the expected ACL result event".into(),
        ..RawError::from_code(code::INVALID_ARG)
    }
}

impl NativeEvent {
    /// Per binding, in request order: its creation error, if any.
    pub(crate) fn create_acls_result(&self) -> Result<Vec<Option<RawError>>, RawError> {
        if let Some(e) = self.admin_error() {
            return Err(e);
        }
        let mut cnt = 0usize;
        // SAFETY: a valid event; NULL means another type; the array and its
        // errors live with the event and are copied.
        unsafe {
            let r = rd::rd_kafka_event_CreateAcls_result(self.ptr.as_ptr());
            if r.is_null() {
                return Err(wrong_event());
            }
            let list = rd::rd_kafka_CreateAcls_result_acls(r, &mut cnt);
            if list.is_null() {
                return Ok(Vec::new());
            }
            Ok(std::slice::from_raw_parts(list, cnt)
                .iter()
                .map(|&a| borrowed_error(rd::rd_kafka_acl_result_error(a)))
                .collect())
        }
    }

    /// The bindings a describe found.
    pub(crate) fn describe_acls_result(&self) -> Result<Vec<AclSpec>, RawError> {
        if let Some(e) = self.admin_error() {
            return Err(e);
        }
        let mut cnt = 0usize;
        // SAFETY: as for create_acls_result.
        unsafe {
            let r = rd::rd_kafka_event_DescribeAcls_result(self.ptr.as_ptr());
            if r.is_null() {
                return Err(wrong_event());
            }
            Ok(read_bindings(
                rd::rd_kafka_DescribeAcls_result_acls(r, &mut cnt),
                cnt,
            ))
        }
    }

    /// Per filter, in request order: the bindings it deleted, or its error.
    pub(crate) fn delete_acls_result(&self) -> Result<Vec<DeleteAclsOut>, RawError> {
        if let Some(e) = self.admin_error() {
            return Err(e);
        }
        let mut cnt = 0usize;
        // SAFETY: as for create_acls_result.
        unsafe {
            let r = rd::rd_kafka_event_DeleteAcls_result(self.ptr.as_ptr());
            if r.is_null() {
                return Err(wrong_event());
            }
            let list = rd::rd_kafka_DeleteAcls_result_responses(r, &mut cnt);
            if list.is_null() {
                return Ok(Vec::new());
            }
            Ok(std::slice::from_raw_parts(list, cnt)
                .iter()
                .map(|&resp| {
                    if let Some(e) =
                        borrowed_error(rd::rd_kafka_DeleteAcls_result_response_error(resp))
                    {
                        return Err(e);
                    }
                    let mut n = 0usize;
                    let acls = rd::rd_kafka_DeleteAcls_result_response_matching_acls(resp, &mut n);
                    Ok(read_bindings(acls as *mut _, n))
                })
                .collect())
        }
    }
}
