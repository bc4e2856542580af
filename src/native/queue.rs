//! `rd_kafka_queue_t`: references to a client's queues.

use std::time::Duration;

use rdkafka_sys::bindings as rd;

use super::client::{ClientRef, NativeClient};
use super::convert::timeout_ms;
use super::error::{last_error, RawError};
use super::event::NativeEvent;
use super::message::NativeMessage;
use super::ptr::NativePtr;

thread_local! {
    /// The message pointer array of batch reads, reused between calls.
    static BATCH_BUF: std::cell::RefCell<Vec<*mut rd::rd_kafka_message_t>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

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
    /// Reads up to `max` messages (or consumer errors) from this queue, waiting at most `timeout`
    /// for the batch to fill, and hands each to `each`. Returns how many
    /// were read.
    pub(crate) fn consume_batch(
        &self,
        timeout: Duration,
        max: usize,
        mut each: impl FnMut(NativeMessage),
    ) -> Result<usize, RawError> {
        if max == 0 {
            return Ok(0);
        }
        BATCH_BUF.with(|cell| {
            // A re-entrant call (from a rebalance listener) gets a new buffer.
            let mut own = Vec::new();
            let mut guard = cell.try_borrow_mut();
            let buf = match guard.as_mut() {
                Ok(b) => &mut **b,
                Err(_) => &mut own,
            };
            buf.clear();
            buf.resize(max, std::ptr::null_mut());
            // SAFETY: the queue is valid and buf has room for `max` pointers;
            // each returned pointer is an owned message.
            let n = unsafe {
                rd::rd_kafka_consume_batch_queue(
                    self.ptr.as_ptr(),
                    timeout_ms(timeout),
                    buf.as_mut_ptr(),
                    max,
                )
            };
            if n < 0 {
                buf.clear();
                // SAFETY: right after the failing call, on this thread.
                return Err(RawError::from_code(unsafe { last_error() }));
            }
            let n = usize::try_from(n).unwrap_or(0).min(max);
            // Should `each` read again on this thread, that call finds the
            // buffer borrowed and uses its own.
            for &m in &buf[..n] {
                // SAFETY: an owned message, read from a queue of the client
                // that the queue keeps.
                if let Some(m) = unsafe { NativeMessage::from_raw(m, self.ptr.keep()) } {
                    each(m);
                }
            }
            buf.clear();
            Ok(n)
        })
    }

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

    /// Sends what arrives on this queue on to `dst` from now on (None: keep
    /// it here). Events already queued here move to `dst` too.
    pub(crate) fn forward_to(&self, dst: Option<&NativeQueue>) {
        let dst = dst.map_or(std::ptr::null_mut(), |q| q.ptr.as_ptr());
        // SAFETY: both queues are valid (or dst NULL) and belong to the same
        // client; librdkafka locks both while it changes the forwarding.
        unsafe { rd::rd_kafka_queue_forward(self.ptr.as_ptr(), dst) }
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

    /// The fetch queue of one partition, which librdkafka forwards to the
    /// consumer queue unless told otherwise. None when the client does not
    /// know the partition (not assigned, or an unknown topic).
    pub(crate) fn partition_queue(&self, topic: &str, partition: i32) -> Option<NativeQueue> {
        let topic = std::ffi::CString::new(topic).ok()?;
        // SAFETY: the handle and the name are valid; a non-NULL result is a
        // new reference to the partition's queue.
        let q =
            unsafe { rd::rd_kafka_queue_get_partition(self.as_ptr(), topic.as_ptr(), partition) };
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
