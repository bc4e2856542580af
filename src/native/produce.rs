//! Producing: `rd_kafka_produce`, `rd_kafka_produceva` and the header
//! lists they take.

use std::mem::MaybeUninit;

use libc::{c_char, c_void};
use rdkafka_sys::bindings as rd;

use super::client::NativeClient;
use super::error::{code, last_error, RawError};
use super::ptr::NativePtr;
use super::sys;
use super::topic::{NativeTopic, PARTITION_UA};

/// What one message passes to `rd_kafka_produceva`.
pub(crate) struct ProduceArgs<'a> {
    pub topic: &'a NativeTopic,
    pub partition: i32,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    pub timestamp: i64,
    pub headers: Option<NativeHeaders>,
    pub opaque: usize,
}

/// An owned `rd_kafka_headers_t` being built for a produce call.
pub(crate) struct NativeHeaders {
    ptr: NativePtr<rd::rd_kafka_headers_t>,
}

// SAFETY: a header list is plain data owned by this value.
unsafe impl Send for NativeHeaders {}

impl NativeHeaders {
    pub(crate) fn new(capacity: usize) -> Self {
        // SAFETY: no preconditions; the result is a new list that we own
        // (allocation failure aborts in librdkafka).
        let ptr = unsafe { NativePtr::from_raw(rd::rd_kafka_headers_new(capacity), ()) };
        NativeHeaders {
            ptr: ptr.unwrap_or_else(|| std::process::abort()),
        }
    }

    /// Adds one header (librdkafka copies name and value).
    pub(crate) fn add(&mut self, name: &[u8], value: Option<&[u8]>) {
        let (vptr, vlen) = match value {
            Some(v) => (v.as_ptr() as *const c_void, v.len() as isize),
            None => (std::ptr::null(), 0),
        };
        // SAFETY: the list is owned and valid; name and value pointers are
        // valid for the given lengths and are copied by librdkafka.
        unsafe {
            sys::rd_kafka_header_add(
                self.ptr.as_ptr(),
                name.as_ptr() as *const c_char,
                name.len() as isize,
                vptr,
                vlen,
            );
        }
    }
}

impl NativeClient {
    /// Enqueues one message. librdkafka copies the key, the value and the
    /// headers during the call (`RD_KAFKA_MSG_F_COPY`), so the caller's
    /// buffers are free to go as soon as it returns.
    ///
    /// A message without headers or an explicit timestamp goes through
    /// `rd_kafka_produce`, which does the same work as `rd_kafka_produceva`
    /// minus parsing a tagged argument list, zeroing a message on the stack
    /// and taking and releasing a topic reference; others through
    /// `rd_kafka_produceva`.
    #[inline]
    pub(crate) fn produce(&self, args: ProduceArgs<'_>) -> Result<(), RawError> {
        if args.headers.is_some() || args.timestamp != 0 {
            return self.produceva(args);
        }
        let (key, key_len) = match args.key {
            Some(key) => (key.as_ptr() as *const c_void, key.len()),
            None => (std::ptr::null(), 0),
        };
        let (value, value_len) = match args.value {
            Some(value) => (value.as_ptr() as *mut c_void, value.len()),
            None => (std::ptr::null_mut(), 0),
        };
        // SAFETY: the topic handle is valid (it belongs to this client, which
        // outlives it); key and value are NULL or valid for their lengths
        // during the call, and with RD_KAFKA_MSG_F_COPY librdkafka copies
        // both (the key is always copied), so neither is read afterwards.
        // The opaque is an integer carried back in the delivery report.
        let rc = unsafe {
            rd::rd_kafka_produce(
                args.topic.ptr.as_ptr(),
                args.partition,
                rd::RD_KAFKA_MSG_F_COPY,
                value,
                value_len,
                key,
                key_len,
                args.opaque as *mut c_void,
            )
        };
        if rc == 0 {
            return Ok(());
        }
        // SAFETY: called right after the failing rd_kafka_produce on this
        // thread, as last_error requires.
        let code = unsafe { last_error() };
        if code == code::FATAL {
            if let Some(fatal) = self.fatal_error() {
                return Err(RawError {
                    message: format!(
                        "producing is not allowed after a fatal error: {}",
                        fatal.message
                    ),
                    fatal: true,
                    ..RawError::from_code(fatal.code)
                });
            }
        }
        Err(RawError {
            fatal: code == code::FATAL,
            ..RawError::from_code(code)
        })
    }

    /// Enqueues one message with `rd_kafka_produceva`, see [`produce`](Self::produce).
    #[inline(never)]
    fn produceva(&self, args: ProduceArgs<'_>) -> Result<(), RawError> {
        use rd::rd_kafka_vtype_t as T;
        use rd::rd_kafka_vu_s__bindgen_ty_1 as U;
        let mem = |bytes: &[u8]| U {
            mem: rd::rd_kafka_vu_s__bindgen_ty_1__bindgen_ty_1 {
                ptr: bytes.as_ptr() as *mut c_void,
                size: bytes.len(),
            },
        };
        // Only the entries in use are written (each one whole): filling all
        // of them first costs more than the rest of this function.
        let mut vus = [const { MaybeUninit::<rd::rd_kafka_vu_t>::uninit() }; 8];
        let mut n = 0;
        let mut push = |vtype: T, u: U| {
            if let Some(slot) = vus.get_mut(n) {
                slot.write(rd::rd_kafka_vu_t { vtype, u });
                n += 1;
            }
        };
        push(
            T::RD_KAFKA_VTYPE_RKT,
            U {
                rkt: args.topic.ptr.as_ptr(),
            },
        );
        if args.partition != PARTITION_UA {
            push(
                T::RD_KAFKA_VTYPE_PARTITION,
                U {
                    i32_: args.partition,
                },
            );
        }
        push(
            T::RD_KAFKA_VTYPE_MSGFLAGS,
            U {
                i32_: rd::RD_KAFKA_MSG_F_COPY,
            },
        );
        if let Some(value) = args.value {
            push(T::RD_KAFKA_VTYPE_VALUE, mem(value));
        }
        if let Some(key) = args.key {
            push(T::RD_KAFKA_VTYPE_KEY, mem(key));
        }
        push(
            T::RD_KAFKA_VTYPE_OPAQUE,
            U {
                ptr: args.opaque as *mut c_void,
            },
        );
        if args.timestamp != 0 {
            push(
                T::RD_KAFKA_VTYPE_TIMESTAMP,
                U {
                    i64_: args.timestamp,
                },
            );
        }
        let headers = args.headers;
        if let Some(h) = &headers {
            push(
                T::RD_KAFKA_VTYPE_HEADERS,
                U {
                    headers: h.ptr.as_ptr(),
                },
            );
        }
        // SAFETY: the handle is valid; `vus[..n]` are initialised, properly
        // tagged entries (MaybeUninit<T> has T's layout) whose pointers
        // (topic handle, key, value, headers) are valid for the call, and
        // librdkafka reads only those n entries, each through the union
        // field its tag names. With RD_KAFKA_MSG_F_COPY librdkafka copies
        // the value (the key is always copied) into the message it
        // allocates, so neither buffer is read after the call returns.
        let error = unsafe {
            rd::rd_kafka_produceva(self.as_ptr(), vus.as_ptr() as *const rd::rd_kafka_vu_t, n)
        };
        if error.is_null() {
            // On success librdkafka owns the headers.
            if let Some(h) = headers {
                h.ptr.into_raw();
            }
            Ok(())
        } else {
            // On failure the headers stay ours and are dropped (destroyed).
            drop(headers);
            // SAFETY: a non-NULL return is an owned rd_kafka_error_t.
            Err(unsafe { RawError::from_owned_error(error) })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_names_read_back_as_the_bytes_written() {
        let mut list = NativeHeaders::new(2);
        // Another client may write a name that is not UTF-8.
        list.add(&[0xff, b'a'], Some(b"v"));
        list.add(b"plain", None);
        // SAFETY: the list is owned here and outlives the borrows.
        let first = unsafe { super::super::message::header_at(list.ptr.as_ptr(), 0) };
        assert_eq!(first, Some((&[0xff, b'a'][..], Some(&b"v"[..]))));
        // SAFETY: as above.
        let second = unsafe { super::super::message::header_at(list.ptr.as_ptr(), 1) };
        assert_eq!(second, Some((&b"plain"[..], None)));
    }
}
