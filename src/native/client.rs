//! `rd_kafka_t`: a client instance, its creation and its destruction.
//!
//! The calls on a client live with what they are about: queues in `queue`,
//! topics in `topic`, producing in `produce`, consumer calls in `consumer`.

use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use libc::c_char;
use rdkafka_sys::bindings as rd;

use super::conf::NativeConf;
use super::convert::{buf_text, cstr_lossy, timeout_ms};
use super::error::{code, code_result, RawError};
use super::ptr::NativePtr;
use super::rebalance::RebalanceHook;
use super::sys;

/// Which kind of client to create.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClientKind {
    Producer,
    Consumer,
}

/// Number of librdkafka client instances alive in this process.
pub(crate) static LIVE_CLIENTS: AtomicUsize = AtomicUsize::new(0);

/// A client instance (`rd_kafka_t`).
///
/// The handle is shared: every queue, topic, event and message made from it
/// holds a reference (see [`ClientRef`]), and the handle is destroyed when
/// the last of them and this value are gone, whatever order they go in.
pub(crate) struct NativeClient {
    handle: ClientRef,
}

/// What a handle made from a client holds to keep the client alive.
pub(crate) type ClientRef = Arc<ClientHandle>;

/// The owner of an `rd_kafka_t`, shared by a [`NativeClient`] and everything
/// made from it.
pub(crate) struct ClientHandle {
    /// The handle and what goes with it; taken once, by Drop.
    teardown: ManuallyDrop<Teardown>,
    /// Destroy on a background thread (see `destroy_in_background`).
    detach: AtomicBool,
}

// SAFETY: librdkafka documents rd_kafka_t as thread safe: every public API on
// a client instance may be called from any thread concurrently. The hook is
// Send + Sync.
unsafe impl Send for ClientHandle {}
// SAFETY: see Send above.
unsafe impl Sync for ClientHandle {}

impl ClientHandle {
    pub(crate) fn as_ptr(&self) -> *mut rd::rd_kafka_t {
        self.teardown.rk.as_ptr()
    }
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
        // SAFETY: the conf is valid and owned; errstr is valid for its
        // length.
        let ptr =
            unsafe { rd::rd_kafka_new(ty, conf.ptr.as_ptr(), errstr.as_mut_ptr(), errstr.len()) };
        // SAFETY: a non-NULL result is a new client that we own.
        match unsafe { NativePtr::from_raw(ptr, ()) } {
            Some(rk) => {
                // On success rd_kafka_new took the conf over.
                conf.into_raw();
                LIVE_CLIENTS.fetch_add(1, Ordering::Relaxed);
                Ok(NativeClient {
                    handle: Arc::new(ClientHandle {
                        teardown: ManuallyDrop::new(Teardown { rk, rebalance }),
                        detach: AtomicBool::new(false),
                    }),
                })
            }
            // On failure the conf is still ours, and is dropped.
            None => Err(buf_text(&errstr)),
        }
    }

    pub(crate) fn as_ptr(&self) -> *mut rd::rd_kafka_t {
        self.handle.as_ptr()
    }

    /// The shared handle, for what is made from the client to hold.
    pub(super) fn handle(&self) -> &ClientRef {
        &self.handle
    }

    /// A client from a shared handle (another reference to the same one).
    pub(super) fn from_handle(handle: ClientRef) -> Self {
        NativeClient { handle }
    }

    /// Makes the final drop hand the handle to a new thread to destroy, so
    /// the drop returns at once. For a consumer whose close did not finish
    /// (brokers gone): librdkafka's destroy then waits for its group
    /// handler to give up, which can take seconds.
    pub(crate) fn destroy_in_background(&self) {
        self.handle.detach.store(true, Ordering::Release);
    }

    /// The rebalance hook the client was created with.
    pub(super) fn rebalance_hook(&self) -> Option<&RebalanceHook> {
        self.handle.teardown.rebalance.as_deref()
    }

    /// The client's instance name ("rdkafka#producer-1").
    pub(crate) fn name(&self) -> String {
        // SAFETY: the handle is valid; the name is owned by it and copied.
        unsafe { cstr_lossy(rd::rd_kafka_name(self.as_ptr())) }
    }

    /// Forwards librdkafka's logs to the main queue (needs `log.queue=true`).
    pub(crate) fn forward_logs_to_main_queue(&self) -> Result<(), RawError> {
        // SAFETY: the handle is valid; NULL means "the main queue".
        code_result(unsafe { sys::rd_kafka_set_log_queue(self.as_ptr(), std::ptr::null_mut()) })
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
        if code == code::NO_ERROR {
            return None;
        }
        Some(RawError {
            code,
            message: buf_text(&errstr),
            fatal: true,
            retriable: false,
            txn_requires_abort: false,
        })
    }
}

impl Drop for ClientHandle {
    /// Runs when the last reference goes: destroys the handle here or, after
    /// `destroy_in_background`, on a new thread.
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::{ClientKind, NativeClient};
    use crate::native::NativeConf;

    fn quiet_conf() -> NativeConf {
        let mut conf = NativeConf::new();
        let _ = conf.set("log_level", "0");
        conf
    }

    #[test]
    fn what_is_made_from_a_client_keeps_it_alive_in_any_drop_order() {
        let Ok(client) = NativeClient::new(ClientKind::Producer, quiet_conf()) else {
            panic!("cannot create a client");
        };
        let alive = Arc::downgrade(client.handle());
        let queue = client.main_queue();
        let topic = client.topic("kept");
        assert!(topic.is_ok());
        drop(client);
        // The queue is still usable without the client.
        queue.wake();
        let _ = queue.poll(Duration::ZERO);
        assert!(alive.upgrade().is_some(), "dropped with a queue left");
        drop(queue);
        assert!(alive.upgrade().is_some(), "dropped with a topic left");
        drop(topic);
        assert!(alive.upgrade().is_none(), "kept after its last handle");
    }

    #[test]
    fn a_client_destroyed_in_the_background_goes_with_its_last_handle() {
        let Ok(client) = NativeClient::new(ClientKind::Producer, quiet_conf()) else {
            panic!("cannot create a client");
        };
        let alive = Arc::downgrade(client.handle());
        let queue = client.main_queue();
        client.destroy_in_background();
        drop(client);
        drop(queue);
        assert!(alive.upgrade().is_none());
    }
}
