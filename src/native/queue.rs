//! `rd_kafka_queue_t`: references to a client's queues.

use std::time::Duration;

use rdkafka_sys::bindings as rd;

use super::client::{ClientRef, NativeClient};
use super::convert::timeout_ms;
use super::event::NativeEvent;
use super::ptr::NativePtr;

/// An owned reference to an `rd_kafka_queue_t`, which keeps its client
/// alive.
pub(crate) struct NativeQueue {
    pub(super) ptr: NativePtr<rd::rd_kafka_queue_t, ClientRef>,
}

// SAFETY: librdkafka queues are internally locked and may be polled, yielded
// and destroyed from any thread.
unsafe impl Send for NativeQueue {}
// SAFETY: see Send above.
unsafe impl Sync for NativeQueue {}

impl NativeQueue {
    /// Takes a queue reference that must exist.
    ///
    /// # Safety
    /// `ptr` must be NULL or a new queue reference that the caller owns, of
    /// the client `client` refers to.
    unsafe fn existing(ptr: *mut rd::rd_kafka_queue_t, client: ClientRef) -> Self {
        // The calls that use this return NULL only when memory is exhausted
        // (where librdkafka aborts) or for a queue that does not exist on
        // this client type, which kafkit never asks for.
        // SAFETY: per the contract.
        let ptr = unsafe { NativePtr::from_raw(ptr, client) };
        NativeQueue {
            ptr: ptr.unwrap_or_else(|| std::process::abort()),
        }
    }

    /// Waits up to `timeout` for the next event.
    pub(crate) fn poll(&self, timeout: Duration) -> Option<NativeEvent> {
        // SAFETY: the queue is valid; a non-NULL result is an owned event,
        // which keeps the queue's client alive.
        unsafe {
            let ev = rd::rd_kafka_queue_poll(self.ptr.as_ptr(), timeout_ms(timeout));
            if ev.is_null() {
                return None;
            }
            NativePtr::from_raw(ev, self.ptr.keep().clone()).map(|ptr| NativeEvent { ptr })
        }
    }

    /// Wakes a thread blocked in `poll` on this queue.
    pub(crate) fn wake(&self) {
        // SAFETY: the queue is valid; yield may be called from any thread.
        unsafe { rd::rd_kafka_queue_yield(self.ptr.as_ptr()) }
    }
}

impl NativeClient {
    /// The main queue (logs, errors, statistics, delivery reports).
    pub(crate) fn main_queue(&self) -> NativeQueue {
        // SAFETY: the handle is valid; get_main returns a new reference.
        unsafe {
            NativeQueue::existing(
                rd::rd_kafka_queue_get_main(self.as_ptr()),
                self.handle().clone(),
            )
        }
    }

    /// The consumer queue (messages, consumer errors, rebalances). None when
    /// the client has no consumer group.
    pub(crate) fn consumer_queue(&self) -> Option<NativeQueue> {
        // SAFETY: the handle is valid; a non-NULL result is a new reference.
        let q = unsafe { rd::rd_kafka_queue_get_consumer(self.as_ptr()) };
        // SAFETY: see above; the queue keeps its client.
        unsafe { NativePtr::from_raw(q, self.handle().clone()) }.map(|ptr| NativeQueue { ptr })
    }

    /// A new, empty queue of this client.
    pub(crate) fn new_queue(&self) -> NativeQueue {
        // SAFETY: the handle is valid; the result is an owned queue.
        unsafe {
            NativeQueue::existing(rd::rd_kafka_queue_new(self.as_ptr()), self.handle().clone())
        }
    }
}
