//! Consumer calls on `rd_kafka_t`, the rebalance callback, the consumer
//! queue with its wake-up hook, and consumer group metadata.
//!
//! Two C callbacks exist here, because librdkafka offers no event for them
//! that works with `rd_kafka_consumer_poll` and `rd_kafka_consume_batch_queue`:
//! - the rebalance callback, which librdkafka calls from inside a poll on the
//!   application's polling thread;
//! - the queue wake-up callback (`rd_kafka_queue_cb_event_enable`), which a
//!   librdkafka thread calls when the consumer queue becomes non-empty.
//!
//! Both cast their opaque to a shared reference (never `&mut`) and run the
//! Rust side under `catch_unwind`, so no panic unwinds into C.

use std::cell::Cell;
use std::ffi::{CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use libc::{c_int, c_void};
use rdkafka_sys::bindings as rd;

use super::client::{code_result, rd_code};
use super::ptr::NativePtr;
use super::tpl::{read_list, TopicPartitionList, TplEntry};
use super::{
    cstr_lossy, sys, timeout_ms, NativeClient, NativeConf, NativeEvent, NativeMessage, NativeQueue,
    RawError,
};

thread_local! {
    /// The message pointer array of batch reads, reused between calls.
    static BATCH_BUF: std::cell::RefCell<Vec<*mut rd::rd_kafka_message_t>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// `RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS`.
const ASSIGN_PARTITIONS: i32 = -175;

/// What the consumer runs when the group assigns or revokes partitions.
pub(crate) type RebalanceHook = Box<dyn Fn(&RebalanceCall<'_>) + Send + Sync>;

/// One rebalance, as handed to the [`RebalanceHook`].
pub(crate) struct RebalanceCall<'a> {
    rk: *mut rd::rd_kafka_t,
    code: i32,
    partitions: *mut rd::rd_kafka_topic_partition_list_t,
    applied: &'a Cell<bool>,
}

impl RebalanceCall<'_> {
    /// True when partitions are assigned, false when they are revoked.
    pub(crate) fn is_assign(&self) -> bool {
        self.code == ASSIGN_PARTITIONS
    }

    /// True when a revoked assignment was lost (the member was fenced or
    /// timed out) rather than given up in an orderly rebalance.
    pub(crate) fn is_lost(&self) -> bool {
        // SAFETY: rk is the valid client the callback was called for.
        !self.is_assign() && unsafe { rd::rd_kafka_assignment_lost(self.rk) } != 0
    }

    /// The partitions being assigned or revoked.
    pub(crate) fn partitions(&self) -> Vec<TplEntry> {
        // SAFETY: the list is valid for the duration of the callback.
        unsafe { read_list(self.partitions) }
    }

    /// Applies the rebalance: (incrementally) assigns or unassigns the
    /// partitions, following the group's rebalance protocol. Only the first
    /// call has an effect.
    pub(crate) fn apply(&self) -> Result<(), RawError> {
        if self.applied.replace(true) {
            return Ok(());
        }
        // SAFETY: rk is valid; the protocol name is a static string.
        let protocol = unsafe { CStr::from_ptr(rd::rd_kafka_rebalance_protocol(self.rk)) };
        let cooperative = protocol.to_bytes() == b"COOPERATIVE";
        // SAFETY: rk and the partition list are valid for the callback;
        // librdkafka copies the list.
        unsafe {
            if cooperative {
                let error = if self.is_assign() {
                    rd::rd_kafka_incremental_assign(self.rk, self.partitions)
                } else {
                    rd::rd_kafka_incremental_unassign(self.rk, self.partitions)
                };
                if error.is_null() {
                    Ok(())
                } else {
                    Err(RawError::from_owned_error(error))
                }
            } else if self.is_assign() {
                code_result(sys::rd_kafka_assign(self.rk, self.partitions))
            } else {
                code_result(sys::rd_kafka_assign(self.rk, std::ptr::null()))
            }
        }
    }
}

/// Runs a rebalance through `hook`, then applies it if the hook did not.
fn run_rebalance(
    hook: &RebalanceHook,
    rk: *mut rd::rd_kafka_t,
    code: c_int,
    partitions: *mut rd::rd_kafka_topic_partition_list_t,
) {
    let applied = Cell::new(false);
    let call = RebalanceCall {
        rk,
        code,
        partitions,
        applied: &applied,
    };
    if catch_unwind(AssertUnwindSafe(|| hook(&call))).is_err() {
        tracing::error!("the rebalance handler panicked; the rebalance is applied anyway");
    }
    if let Err(e) = call.apply() {
        tracing::warn!("applying a rebalance failed: {}", e.message);
    }
}

/// The C rebalance callback. `opaque` is the client's `Box<RebalanceHook>`.
unsafe extern "C" fn rebalance_trampoline(
    rk: *mut rd::rd_kafka_t,
    code: c_int,
    partitions: *mut rd::rd_kafka_topic_partition_list_t,
    opaque: *mut c_void,
) {
    if opaque.is_null() {
        return;
    }
    // SAFETY: the opaque is the Box<RebalanceHook> owned by the NativeClient,
    // which frees it only after rd_kafka_destroy has returned, and it is only
    // ever read through a shared reference.
    let hook = unsafe { &*(opaque as *const RebalanceHook) };
    run_rebalance(hook, rk, code, partitions);
}

extern "C" {
    /// `rd_kafka_conf_set_rebalance_cb`, declared with the error code as an
    /// integer (see `sys`).
    fn rd_kafka_conf_set_rebalance_cb(
        conf: *mut rd::rd_kafka_conf_t,
        cb: Option<
            unsafe extern "C" fn(
                *mut rd::rd_kafka_t,
                c_int,
                *mut rd::rd_kafka_topic_partition_list_t,
                *mut c_void,
            ),
        >,
    );
}

impl NativeConf {
    /// Routes rebalances to `hook`. The hook must stay at its address for
    /// the life of the client made from this conf (NativeClient owns it).
    pub(super) fn set_rebalance_hook(&mut self, hook: &RebalanceHook) {
        // SAFETY: the conf is owned and valid; the opaque points to the boxed
        // hook, which the NativeClient keeps alive until after destroy.
        unsafe {
            rd_kafka_conf_set_rebalance_cb(self.ptr.as_ptr(), Some(rebalance_trampoline));
            rd::rd_kafka_conf_set_opaque(
                self.ptr.as_ptr(),
                hook as *const RebalanceHook as *mut c_void,
            );
        }
    }
}

/// A function called (on a librdkafka thread, with the queue's lock held)
/// whenever the queue goes from empty to non-empty. It must only record the
/// fact and wake someone; it must not call librdkafka.
pub(crate) type WakeHook = Box<dyn Fn() + Send + Sync>;

/// A queue reference with a wake-up hook installed.
pub(crate) struct WakingQueue {
    queue: NativeQueue,
    hook: Box<WakeHook>,
}

unsafe extern "C" fn wake_trampoline(_rk: *mut rd::rd_kafka_t, opaque: *mut c_void) {
    if opaque.is_null() {
        return;
    }
    // SAFETY: the opaque is the Box<WakeHook> owned by the WakingQueue, which
    // uninstalls the callback (under the queue lock, which librdkafka also
    // holds while calling us) before freeing it.
    let hook = unsafe { &*(opaque as *const WakeHook) };
    if catch_unwind(AssertUnwindSafe(hook)).is_err() {
        tracing::error!("a queue wake-up hook panicked");
    }
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
        WakingQueue { queue, hook }
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
        // Fields drop after this: the hook, then the queue reference.
        let _ = &self.hook;
    }
}

/// An owned `rd_kafka_consumer_group_metadata_t`.
pub(crate) struct NativeGroupMetadata {
    ptr: NativePtr<rd::rd_kafka_consumer_group_metadata_t>,
}

// SAFETY: the metadata is an immutable value owned by this handle.
unsafe impl Send for NativeGroupMetadata {}
// SAFETY: see Send; it is only read.
unsafe impl Sync for NativeGroupMetadata {}

impl NativeGroupMetadata {
    #[allow(dead_code)] // used by transactions
    pub(crate) fn as_ptr(&self) -> *const rd::rd_kafka_consumer_group_metadata_t {
        self.ptr.as_ptr()
    }
}

fn error_result(error: *mut rd::rd_kafka_error_t) -> Result<(), RawError> {
    if error.is_null() {
        Ok(())
    } else {
        // SAFETY: a non-NULL return of the calls using this is an owned error.
        Err(unsafe { RawError::from_owned_error(error) })
    }
}

/// Checks a list's per-partition errors after a call that succeeded overall.
fn list_result(code: i32, list: &TopicPartitionList) -> Result<Vec<TplEntry>, RawError> {
    code_result(code)?;
    let entries = list.entries();
    match entries.iter().find(|e| e.err != 0) {
        Some(e) => Err(RawError {
            message: format!(
                "{} [{}]: {}",
                e.topic,
                e.partition,
                super::err_description(e.err)
            ),
            ..RawError::from_code(e.err)
        }),
        None => Ok(entries),
    }
}

impl NativeClient {
    /// The consumer queue (messages, consumer errors, rebalances). None when
    /// the client has no consumer group.
    pub(crate) fn consumer_queue(&self) -> Option<NativeQueue> {
        // SAFETY: the handle is valid; a non-NULL result is a new reference.
        let q = unsafe { rd::rd_kafka_queue_get_consumer(self.as_ptr()) };
        // SAFETY: see above.
        unsafe { NativePtr::from_raw(q, ()) }.map(|ptr| NativeQueue { ptr })
    }

    /// A new, empty queue of this client.
    pub(crate) fn new_queue(&self) -> NativeQueue {
        // SAFETY: the handle is valid; the result is an owned queue.
        let q = unsafe { rd::rd_kafka_queue_new(self.as_ptr()) };
        NativeQueue::from_raw(q)
    }

    /// Subscribes to topic names or `^regex` patterns.
    pub(crate) fn subscribe(&self, topics: &[&str]) -> Result<(), RawError> {
        let list = TopicPartitionList::new(topics.len());
        for t in topics {
            list.add(t, super::PARTITION_UA, None)?;
        }
        // SAFETY: handle and list are valid; librdkafka copies the list.
        code_result(unsafe { sys::rd_kafka_subscribe(self.as_ptr(), list.as_ptr()) })
    }

    pub(crate) fn unsubscribe(&self) -> Result<(), RawError> {
        // SAFETY: the handle is valid.
        code_result(unsafe { sys::rd_kafka_unsubscribe(self.as_ptr()) })
    }

    /// The current subscription's topic names and patterns.
    pub(crate) fn subscription(&self) -> Result<Vec<String>, RawError> {
        let mut out = std::ptr::null_mut();
        // SAFETY: the handle and out-pointer are valid; on success *out is an
        // owned list.
        let code = unsafe { sys::rd_kafka_subscription(self.as_ptr(), &mut out) };
        code_result(code)?;
        // SAFETY: owned list returned by librdkafka.
        let list = unsafe { TopicPartitionList::from_owned(out) };
        Ok(list
            .map(|l| l.entries().into_iter().map(|e| e.topic).collect())
            .unwrap_or_default())
    }

    /// Replaces the assignment (None: unassign everything).
    pub(crate) fn assign(&self, list: Option<&TopicPartitionList>) -> Result<(), RawError> {
        let ptr = list.map_or(std::ptr::null(), |l| l.as_ptr() as *const _);
        // SAFETY: handle valid; ptr NULL or a valid list, copied by librdkafka.
        code_result(unsafe { sys::rd_kafka_assign(self.as_ptr(), ptr) })
    }

    pub(crate) fn incremental_assign(&self, list: &TopicPartitionList) -> Result<(), RawError> {
        // SAFETY: handle and list valid; the list is copied.
        error_result(unsafe { rd::rd_kafka_incremental_assign(self.as_ptr(), list.as_ptr()) })
    }

    pub(crate) fn incremental_unassign(&self, list: &TopicPartitionList) -> Result<(), RawError> {
        // SAFETY: handle and list valid; the list is copied.
        error_result(unsafe { rd::rd_kafka_incremental_unassign(self.as_ptr(), list.as_ptr()) })
    }

    pub(crate) fn assignment(&self) -> Result<Vec<TplEntry>, RawError> {
        let mut out = std::ptr::null_mut();
        // SAFETY: valid handle and out-pointer; *out is owned on success.
        let code = unsafe { sys::rd_kafka_assignment(self.as_ptr(), &mut out) };
        code_result(code)?;
        // SAFETY: owned list returned by librdkafka.
        let list = unsafe { TopicPartitionList::from_owned(out) };
        Ok(list.map(|l| l.entries()).unwrap_or_default())
    }

    /// Polls the consumer queue for one message or consumer error.
    pub(crate) fn consumer_poll(&self, timeout: Duration) -> Option<NativeMessage> {
        // SAFETY: the handle is a consumer; a non-NULL return is owned.
        let msg = unsafe { rd::rd_kafka_consumer_poll(self.as_ptr(), timeout_ms(timeout)) };
        NativeMessage::from_raw(msg)
    }

    /// Reads up to `max` messages from `queue`, waiting at most `timeout`
    /// for the batch to fill, and hands each to `each`. Returns how many
    /// were read.
    pub(crate) fn consume_batch(
        &self,
        queue: &NativeQueue,
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
                    queue.ptr.as_ptr(),
                    timeout_ms(timeout),
                    buf.as_mut_ptr(),
                    max,
                )
            };
            if n < 0 {
                buf.clear();
                // SAFETY: right after the failing call, on this thread.
                return Err(RawError::from_code(unsafe { super::client::last_error() }));
            }
            let n = usize::try_from(n).unwrap_or(0).min(max);
            // Should `each` read again on this thread, that call finds the
            // buffer borrowed and uses its own.
            for &m in &buf[..n] {
                if let Some(m) = NativeMessage::from_raw(m) {
                    each(m);
                }
            }
            buf.clear();
            Ok(n)
        })
    }

    /// Commits offsets (None: the current positions), waiting for the result.
    pub(crate) fn commit_sync(&self, list: Option<&TopicPartitionList>) -> Result<(), RawError> {
        let ptr = list.map_or(std::ptr::null(), |l| l.as_ptr() as *const _);
        // SAFETY: valid handle; ptr NULL or a valid list.
        code_result(unsafe { sys::rd_kafka_commit(self.as_ptr(), ptr, 0) })
    }

    /// Starts a commit whose result arrives on `queue` as an offset-commit
    /// event carrying `opaque`.
    pub(crate) fn commit_to_queue(
        &self,
        list: Option<&TopicPartitionList>,
        queue: &NativeQueue,
        opaque: usize,
    ) -> Result<(), RawError> {
        let ptr = list.map_or(std::ptr::null(), |l| l.as_ptr() as *const _);
        // SAFETY: valid handle, queue and list (or NULL); with no callback
        // the result is enqueued on `queue` as an event.
        code_result(unsafe {
            sys::rd_kafka_commit_queue(
                self.as_ptr(),
                ptr,
                queue.ptr.as_ptr(),
                None,
                opaque as *mut c_void,
            )
        })
    }

    /// Stores offsets for the next commit.
    pub(crate) fn offsets_store(&self, list: &TopicPartitionList) -> Result<(), RawError> {
        // SAFETY: valid handle and list; per-partition errors are written
        // into the list.
        let code = unsafe { sys::rd_kafka_offsets_store(self.as_ptr(), list.as_ptr()) };
        list_result(code, list).map(|_| ())
    }

    /// Stores the offset after `msg` (with its leader epoch).
    pub(crate) fn store_message(&self, msg: &NativeMessage) -> Result<(), RawError> {
        // SAFETY: the message is valid and belongs to this consumer.
        error_result(unsafe { rd::rd_kafka_offset_store_message(msg.as_ptr()) })
    }

    /// The group's committed offsets for the partitions in `list`.
    pub(crate) fn committed(
        &self,
        list: &TopicPartitionList,
        timeout: Duration,
    ) -> Result<Vec<TplEntry>, RawError> {
        // SAFETY: valid handle and list; offsets are written into the list.
        let code =
            unsafe { sys::rd_kafka_committed(self.as_ptr(), list.as_ptr(), timeout_ms(timeout)) };
        list_result(code, list)
    }

    /// The consume positions for the partitions in `list`.
    pub(crate) fn position(&self, list: &TopicPartitionList) -> Result<Vec<TplEntry>, RawError> {
        // SAFETY: valid handle and list; offsets are written into the list.
        let code = unsafe { sys::rd_kafka_position(self.as_ptr(), list.as_ptr()) };
        list_result(code, list)
    }

    /// Seeks the partitions in `list` to their offsets.
    pub(crate) fn seek(
        &self,
        list: &TopicPartitionList,
        timeout: Duration,
    ) -> Result<(), RawError> {
        // SAFETY: valid handle and list; errors are written into the list.
        let error = unsafe {
            rd::rd_kafka_seek_partitions(self.as_ptr(), list.as_ptr(), timeout_ms(timeout))
        };
        error_result(error)?;
        match list.first_error() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    pub(crate) fn pause(&self, list: &TopicPartitionList) -> Result<(), RawError> {
        // SAFETY: valid handle and list.
        let code = unsafe { sys::rd_kafka_pause_partitions(self.as_ptr(), list.as_ptr()) };
        list_result(code, list).map(|_| ())
    }

    pub(crate) fn resume(&self, list: &TopicPartitionList) -> Result<(), RawError> {
        // SAFETY: valid handle and list.
        let code = unsafe { sys::rd_kafka_resume_partitions(self.as_ptr(), list.as_ptr()) };
        list_result(code, list).map(|_| ())
    }

    /// Asks the partition leader for the low and high watermarks.
    pub(crate) fn query_watermarks(
        &self,
        topic: &str,
        partition: i32,
        timeout: Duration,
    ) -> Result<(i64, i64), RawError> {
        let topic_c = CString::new(topic).map_err(|_| RawError::from_code(rd_code::INVALID_ARG))?;
        let (mut low, mut high) = (-1i64, -1i64);
        // SAFETY: valid handle, name and out-pointers.
        let code = unsafe {
            sys::rd_kafka_query_watermark_offsets(
                self.as_ptr(),
                topic_c.as_ptr(),
                partition,
                &mut low,
                &mut high,
                timeout_ms(timeout),
            )
        };
        code_result(code).map(|()| (low, high))
    }

    /// The watermarks last seen in fetch responses, without a request.
    pub(crate) fn cached_watermarks(
        &self,
        topic: &str,
        partition: i32,
    ) -> Result<(i64, i64), RawError> {
        let topic_c = CString::new(topic).map_err(|_| RawError::from_code(rd_code::INVALID_ARG))?;
        let (mut low, mut high) = (-1i64, -1i64);
        // SAFETY: valid handle, name and out-pointers.
        let code = unsafe {
            sys::rd_kafka_get_watermark_offsets(
                self.as_ptr(),
                topic_c.as_ptr(),
                partition,
                &mut low,
                &mut high,
            )
        };
        code_result(code).map(|()| (low, high))
    }

    /// For each partition in `list` (whose offsets hold timestamps in ms),
    /// the earliest offset whose timestamp is at least that.
    pub(crate) fn offsets_for_times(
        &self,
        list: &TopicPartitionList,
        timeout: Duration,
    ) -> Result<Vec<TplEntry>, RawError> {
        // SAFETY: valid handle and list; offsets are written into the list.
        let code = unsafe {
            sys::rd_kafka_offsets_for_times(self.as_ptr(), list.as_ptr(), timeout_ms(timeout))
        };
        list_result(code, list)
    }

    /// The consumer's group metadata (for sending offsets in a transaction).
    pub(crate) fn group_metadata(&self) -> Option<NativeGroupMetadata> {
        // SAFETY: valid handle; a non-NULL result is owned.
        let ptr = unsafe { rd::rd_kafka_consumer_group_metadata(self.as_ptr()) };
        // SAFETY: see above.
        unsafe { NativePtr::from_raw(ptr, ()) }.map(|ptr| NativeGroupMetadata { ptr })
    }

    /// The member id the group coordinator gave this consumer.
    pub(crate) fn member_id(&self) -> Option<String> {
        // SAFETY: valid handle; a non-NULL result is an owned string freed
        // with rd_kafka_mem_free after it is copied.
        unsafe {
            let ptr = rd::rd_kafka_memberid(self.as_ptr());
            if ptr.is_null() {
                return None;
            }
            let id = cstr_lossy(ptr);
            rd::rd_kafka_mem_free(self.as_ptr(), ptr as *mut c_void);
            Some(id).filter(|s| !s.is_empty())
        }
    }

    /// Starts closing the consumer: leaving the group and committing are
    /// reported on `queue`, which the caller polls with [`Self::serve_close_event`]
    /// until [`Self::consumer_closed`].
    pub(crate) fn consumer_close_queue(&self, queue: &NativeQueue) -> Result<(), RawError> {
        // SAFETY: valid handle and queue.
        error_result(unsafe {
            rd::rd_kafka_consumer_close_queue(self.as_ptr(), queue.ptr.as_ptr())
        })
    }

    pub(crate) fn consumer_closed(&self) -> bool {
        // SAFETY: valid handle.
        unsafe { rd::rd_kafka_consumer_closed(self.as_ptr()) != 0 }
    }

    /// Serves an event polled from a close queue: rebalances go through the
    /// client's rebalance hook (or are applied directly without one).
    pub(crate) fn serve_close_event(&self, event: &NativeEvent) {
        if event.kind() != rd::RD_KAFKA_EVENT_REBALANCE {
            return;
        }
        // SAFETY: the event is a valid rebalance event; its error code and
        // partition list live as long as it.
        let (code, list) = unsafe {
            (
                sys::rd_kafka_event_error(event.ptr.as_ptr()),
                rd::rd_kafka_event_topic_partition_list(event.ptr.as_ptr()),
            )
        };
        match self.rebalance_hook() {
            Some(hook) => run_rebalance(hook, self.as_ptr(), code, list),
            None => {
                let applied = Cell::new(false);
                let call = RebalanceCall {
                    rk: self.as_ptr(),
                    code,
                    partitions: list,
                    applied: &applied,
                };
                let _ = call.apply();
            }
        }
    }
}

impl NativeMessage {
    pub(crate) fn as_ptr(&self) -> *mut rd::rd_kafka_message_t {
        self.ptr.as_ptr()
    }
}
