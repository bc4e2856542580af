//! The queue wake-up hook: `rd_kafka_queue_cb_event_enable` makes a
//! librdkafka thread call a C function whenever a queue goes from empty to
//! non-empty, which is how an async reader learns that a queue it waits on
//! has something to poll.
//!
//! The trampoline casts its opaque to a shared reference (never `&mut`) and
//! runs its whole body under `catch_unwind` (see `trampoline`), so no panic
//! unwinds into C.

use libc::c_void;
use rdkafka_sys::bindings as rd;

use super::queue::NativeQueue;
use super::trampoline::{no_unwind, panicked};

/// A function called (on a librdkafka thread, with the queue's lock held)
/// whenever the queue goes from empty to non-empty. It must only record the
/// fact and wake someone; it must not call librdkafka.
pub(crate) type WakeHook = Box<dyn Fn() + Send + Sync>;

/// A queue reference with a wake-up hook installed.
pub(crate) struct WakingQueue {
    queue: NativeQueue,
    /// Read only by the trampoline, through the opaque.
    _hook: Box<WakeHook>,
}

/// The C wake-up callback. `opaque` is the WakingQueue's `Box<WakeHook>`.
unsafe extern "C" fn wake_trampoline(_rk: *mut rd::rd_kafka_t, opaque: *mut c_void) {
    no_unwind("a queue wake-up hook", || {
        if opaque.is_null() {
            return;
        }
        // SAFETY: the opaque is the Box<WakeHook> owned by the WakingQueue,
        // which uninstalls the callback (under the queue lock, which
        // librdkafka also holds while calling us) before freeing it.
        let hook = unsafe { &*(opaque as *const WakeHook) };
        if panicked(hook) {
            tracing::error!("a queue wake-up hook panicked");
        }
    });
}

impl WakingQueue {
    pub(crate) fn new(queue: NativeQueue, hook: WakeHook) -> Self {
        let hook = Box::new(hook);
        // SAFETY: the queue is valid; the opaque points to the boxed hook,
        // which lives until Drop uninstalls the callback.
        unsafe {
            rd::rd_kafka_queue_cb_event_enable(
                queue.ptr.as_ptr(),
                Some(wake_trampoline),
                &*hook as *const WakeHook as *mut c_void,
            )
        };
        WakingQueue { queue, _hook: hook }
    }

    pub(crate) fn queue(&self) -> &NativeQueue {
        &self.queue
    }
}

impl Drop for WakingQueue {
    fn drop(&mut self) {
        // SAFETY: the queue is valid; disabling takes the queue lock, so no
        // call of the hook is running once this returns.
        unsafe {
            rd::rd_kafka_queue_cb_event_enable(self.queue.ptr.as_ptr(), None, std::ptr::null_mut())
        };
        // The hook box and the queue reference are dropped after this
        // returns, in either order: nothing calls the hook any more.
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use libc::c_void;

    use super::{wake_trampoline, WakeHook};
    use crate::native::trampoline::test_support::with_panicking_logs;

    #[test]
    fn no_panic_leaves_the_trampoline_even_one_while_logging() {
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = calls.clone();
        let hook: WakeHook = Box::new(move || {
            counted.fetch_add(1, Ordering::Relaxed);
            panic!("the hook panics");
        });
        with_panicking_logs(|| {
            // SAFETY: the opaque points to a WakeHook that outlives the
            // call; the client pointer is not used. A panic unwinding out of
            // the trampoline would abort this test.
            unsafe {
                wake_trampoline(
                    std::ptr::null_mut(),
                    &hook as *const WakeHook as *mut c_void,
                )
            }
        });
        assert_eq!(calls.load(Ordering::Relaxed), 1);
    }
}
