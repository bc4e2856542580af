//! `rd_kafka_t` (a client instance), `rd_kafka_topic_t` and producer headers.

use std::ffi::CString;
use std::mem::{ManuallyDrop, MaybeUninit};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use libc::{c_char, c_void};
use rdkafka_sys::bindings as rd;

use super::consumer::RebalanceHook;
use super::ptr::NativePtr;
use super::{cstr_lossy, sys, timeout_ms, NativeConf, NativeQueue, RawError};

/// Which kind of client to create.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClientKind {
    Producer,
    Consumer,
}

/// Number of librdkafka client instances alive in this process.
pub(crate) static LIVE_CLIENTS: AtomicUsize = AtomicUsize::new(0);

/// An owned `rd_kafka_t`.
pub(crate) struct NativeClient {
    /// The handle and what goes with it; taken once, by Drop.
    teardown: ManuallyDrop<Teardown>,
    /// Destroy on a background thread (see `destroy_in_background`).
    detach: AtomicBool,
}

// SAFETY: librdkafka documents rd_kafka_t as thread safe: every public API on
// a client instance may be called from any thread concurrently.
unsafe impl Send for NativeClient {}
// SAFETY: see Send above.
unsafe impl Sync for NativeClient {}

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

impl NativeClient {
    /// Creates a client from `conf` (consumed in every case).
    pub(crate) fn new(kind: ClientKind, conf: NativeConf) -> Result<Self, String> {
        Self::with_rebalance(kind, conf, None)
    }

    /// Creates a client whose group rebalances call `rebalance` on the
    /// thread that polls the consumer.
    pub(crate) fn with_rebalance(
        kind: ClientKind,
        mut conf: NativeConf,
        rebalance: Option<RebalanceHook>,
    ) -> Result<Self, String> {
        let rebalance = rebalance.map(Box::new);
        if let Some(hook) = &rebalance {
            conf.set_rebalance_hook(hook);
        }
        let ty = match kind {
            ClientKind::Producer => rd::rd_kafka_type_t::RD_KAFKA_PRODUCER,
            ClientKind::Consumer => rd::rd_kafka_type_t::RD_KAFKA_CONSUMER,
        };
        let mut errstr = [0 as c_char; 512];
        let raw_conf = conf.into_raw();
        // SAFETY: raw_conf is a valid owned conf; rd_kafka_new takes ownership
        // on success; errstr is valid for its length.
        let ptr = unsafe { rd::rd_kafka_new(ty, raw_conf, errstr.as_mut_ptr(), errstr.len()) };
        // SAFETY: a non-NULL result is a new client that we own.
        match unsafe { NativePtr::from_raw(ptr, ()) } {
            Some(rk) => {
                LIVE_CLIENTS.fetch_add(1, Ordering::Relaxed);
                Ok(NativeClient {
                    teardown: ManuallyDrop::new(Teardown { rk, rebalance }),
                    detach: AtomicBool::new(false),
                })
            }
            None => {
                // SAFETY: on failure the conf is still ours to destroy, and
                // errstr has been NUL-terminated by librdkafka.
                let reason = unsafe {
                    rd::rd_kafka_conf_destroy(raw_conf);
                    cstr_lossy(errstr.as_ptr())
                };
                Err(reason)
            }
        }
    }

    pub(crate) fn as_ptr(&self) -> *mut rd::rd_kafka_t {
        self.teardown.rk.as_ptr()
    }

    /// Makes the final drop hand the handle to a new thread to destroy, so
    /// the drop returns at once. For a consumer whose close did not finish
    /// (brokers gone): librdkafka's destroy then waits for its group
    /// handler to give up, which can take seconds.
    pub(crate) fn destroy_in_background(&self) {
        self.detach.store(true, Ordering::Release);
    }

    /// The rebalance hook the client was created with.
    pub(super) fn rebalance_hook(&self) -> Option<&RebalanceHook> {
        self.teardown.rebalance.as_deref()
    }

    /// The client's instance name ("rdkafka#producer-1").
    pub(crate) fn name(&self) -> String {
        // SAFETY: the handle is valid; the name is owned by it and copied.
        unsafe { cstr_lossy(rd::rd_kafka_name(self.as_ptr())) }
    }

    /// The main queue (logs, errors, statistics, delivery reports).
    pub(crate) fn main_queue(&self) -> NativeQueue {
        // SAFETY: the handle is valid; get_main returns a new reference.
        let q = unsafe { rd::rd_kafka_queue_get_main(self.as_ptr()) };
        NativeQueue::from_raw(q)
    }

    /// Forwards librdkafka's logs to the main queue (needs `log.queue=true`).
    pub(crate) fn forward_logs_to_main_queue(&self) -> Result<(), RawError> {
        // SAFETY: the handle is valid; NULL means "the main queue".
        let code = unsafe { sys::rd_kafka_set_log_queue(self.as_ptr(), std::ptr::null_mut()) };
        if code == 0 {
            Ok(())
        } else {
            Err(RawError::from_code(code))
        }
    }

    /// A topic handle, shared with librdkafka's own per-name cache.
    pub(crate) fn topic(&self, name: &str) -> Result<NativeTopic, RawError> {
        let name_c = CString::new(name).map_err(|_| RawError {
            message: format!("topic name {name:?} contains a NUL byte"),
            ..RawError::from_code(rd_code::INVALID_ARG)
        })?;
        // SAFETY: handle and name are valid; NULL conf means defaults.
        let ptr =
            unsafe { rd::rd_kafka_topic_new(self.as_ptr(), name_c.as_ptr(), std::ptr::null_mut()) };
        // SAFETY: a non-NULL result is a new topic reference that we own.
        match unsafe { NativePtr::from_raw(ptr, ()) } {
            Some(ptr) => Ok(NativeTopic { ptr }),
            None => {
                // SAFETY: called right after the failing rd_kafka_topic_new on
                // this thread, as last_error requires.
                let code = unsafe { last_error() };
                Err(RawError {
                    message: format!("cannot create topic handle for {name:?}"),
                    ..RawError::from_code(code)
                })
            }
        }
    }

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
        if code == rd_code::FATAL {
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
            fatal: code == rd_code::FATAL,
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

    /// Waits until all messages are delivered or `timeout`; returns the code.
    pub(crate) fn flush(&self, timeout: Duration) -> i32 {
        // SAFETY: the handle is valid; flush may be called from any thread.
        unsafe { sys::rd_kafka_flush(self.as_ptr(), timeout_ms(timeout)) }
    }

    /// Purges queued and in-flight messages; they get delivery reports with a
    /// purge error code.
    pub(crate) fn purge(&self) -> i32 {
        // SAFETY: the handle is valid; the flags are librdkafka's constants.
        unsafe {
            sys::rd_kafka_purge(
                self.as_ptr(),
                rd::RD_KAFKA_PURGE_F_QUEUE | rd::RD_KAFKA_PURGE_F_INFLIGHT,
            )
        }
    }

    /// The fatal error the client is in, if any.
    pub(crate) fn fatal_error(&self) -> Option<RawError> {
        let mut errstr = [0 as c_char; 512];
        // SAFETY: the handle and errstr are valid; errstr's size is passed.
        let code =
            unsafe { sys::rd_kafka_fatal_error(self.as_ptr(), errstr.as_mut_ptr(), errstr.len()) };
        if code == 0 {
            return None;
        }
        Some(RawError {
            code,
            // SAFETY: NUL-terminated by librdkafka within its size.
            message: unsafe { cstr_lossy(errstr.as_ptr()) },
            fatal: true,
            retriable: false,
            txn_requires_abort: false,
        })
    }
}

impl Drop for NativeClient {
    fn drop(&mut self) {
        // SAFETY: the only place that takes the teardown, and self is not
        // used after it.
        let teardown = unsafe { ManuallyDrop::take(&mut self.teardown) };
        if !self.detach.load(Ordering::Acquire) {
            return teardown.run();
        }
        // The thread receives the teardown only once it runs: a spawn that
        // fails leaves it here, to run on this thread.
        let (tx, rx) = mpsc::channel::<Teardown>();
        let spawned = std::thread::Builder::new()
            .name("kafkit-destroy".into())
            .spawn(move || {
                if let Ok(teardown) = rx.recv() {
                    teardown.run();
                }
            });
        match spawned {
            Ok(_) => {
                if let Err(mpsc::SendError(teardown)) = tx.send(teardown) {
                    teardown.run();
                }
            }
            Err(e) => {
                tracing::warn!("destroying the client on this thread: {e}");
                teardown.run();
            }
        }
    }
}

/// A client handle and the rebalance hook its conf's opaque points at.
struct Teardown {
    rk: NativePtr<rd::rd_kafka_t>,
    /// Freed only after the handle is destroyed: librdkafka may call the
    /// hook until then.
    rebalance: Option<Box<RebalanceHook>>,
}

// SAFETY: rd_kafka_destroy may be called from any thread that is not one of
// librdkafka's own (a new thread is not); the hook is Send + Sync.
unsafe impl Send for Teardown {}

impl Teardown {
    /// Destroys the handle, then frees the hook.
    fn run(self) {
        let Teardown { rk, rebalance } = self;
        drop(rk);
        drop(rebalance);
        LIVE_CLIENTS.fetch_sub(1, Ordering::Relaxed);
    }
}

pub(crate) mod rd_code {
    /// `RD_KAFKA_RESP_ERR__INVALID_ARG`.
    pub(crate) const INVALID_ARG: i32 = -186;
    /// `RD_KAFKA_RESP_ERR__FATAL`.
    pub(crate) const FATAL: i32 = -150;
}

pub(super) fn code_result(code: i32) -> Result<(), RawError> {
    if code == 0 {
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
    extern "C" {
        fn rd_kafka_last_error() -> libc::c_int;
    }
    // SAFETY: reads a thread-local integer; no preconditions.
    unsafe { rd_kafka_last_error() }
}

/// An owned reference to an `rd_kafka_topic_t`.
pub(crate) struct NativeTopic {
    ptr: NativePtr<rd::rd_kafka_topic_t>,
}

// SAFETY: topic handles are reference counted and documented as usable from
// any thread; librdkafka synchronises their internal state.
unsafe impl Send for NativeTopic {}
// SAFETY: see Send above.
unsafe impl Sync for NativeTopic {}

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
    pub(crate) fn add(&mut self, name: &str, value: Option<&[u8]>) {
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

/// `RD_KAFKA_PARTITION_UA`: let the partitioner choose.
pub(crate) const PARTITION_UA: i32 = -1;
