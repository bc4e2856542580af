//! The rebalance callback: librdkafka calls it from inside a consumer poll,
//! on the application's polling thread, when the group assigns or revokes
//! partitions. It is a C callback because librdkafka has no rebalance event
//! that works with `rd_kafka_consumer_poll` and
//! `rd_kafka_consume_batch_queue`.
//!
//! The trampoline casts its opaque to a shared reference (never `&mut`) and
//! runs its whole body under `catch_unwind` (see `trampoline`), so no panic
//! unwinds into C.

use std::cell::Cell;
use std::ffi::CStr;

use libc::{c_int, c_void};
use rdkafka_sys::bindings as rd;

use super::conf::NativeConf;
use super::convert::cstr_borrowed;
use super::error::{code, code_result, error_result, RawError};
use super::sys;
use super::tpl::{read_list, TplEntry};
use super::trampoline::{no_unwind, panicked};

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
        self.code == code::ASSIGN_PARTITIONS
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
        // SAFETY: rk is valid; the result is NULL (the group handler could
        // not be asked, as while the consumer closes, or there is none) or a
        // static string.
        let protocol = unsafe { cstr_borrowed(rd::rd_kafka_rebalance_protocol(self.rk)) };
        match protocol.map(CStr::to_bytes) {
            Some(b"COOPERATIVE") => self.apply_incremental(),
            Some(_) => self.apply_eager(),
            // Unknown: the group accepts one form and rejects the other with
            // _STATE, changing nothing. A terminating group takes the eager
            // form whatever its protocol, so that goes first.
            None => match self.apply_eager() {
                Err(e) if e.code == code::STATE => self.apply_incremental(),
                other => other,
            },
        }
    }

    /// Applies the rebalance with `rd_kafka_assign` (eager protocols).
    fn apply_eager(&self) -> Result<(), RawError> {
        let partitions = if self.is_assign() {
            self.partitions as *const _
        } else {
            std::ptr::null()
        };
        // SAFETY: rk and the partition list are valid for the callback;
        // librdkafka copies the list.
        code_result(unsafe { sys::rd_kafka_assign(self.rk, partitions) })
    }

    /// Applies the rebalance with the incremental calls (the cooperative
    /// protocol).
    fn apply_incremental(&self) -> Result<(), RawError> {
        // SAFETY: rk and the partition list are valid for the callback;
        // librdkafka copies the list; the result is NULL or an owned error.
        unsafe {
            error_result(if self.is_assign() {
                rd::rd_kafka_incremental_assign(self.rk, self.partitions)
            } else {
                rd::rd_kafka_incremental_unassign(self.rk, self.partitions)
            })
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
    let hook_panicked = panicked(|| hook(&call));
    // Applied before anything is logged, which could panic.
    let applied = call.apply();
    if hook_panicked {
        tracing::error!("the rebalance handler panicked; the rebalance is applied anyway");
    }
    if let Err(e) = applied {
        tracing::warn!("applying a rebalance failed: {}", e.message);
    }
}

/// Serves a rebalance polled as an event (while closing): through `hook`
/// when the client has one, otherwise by applying it.
///
/// # Safety
/// `rk` must be a valid consumer and `partitions` NULL or a list valid for
/// the call, made on the thread that polls the consumer.
pub(super) unsafe fn serve_rebalance(
    hook: Option<&RebalanceHook>,
    rk: *mut rd::rd_kafka_t,
    code: c_int,
    partitions: *mut rd::rd_kafka_topic_partition_list_t,
) {
    match hook {
        Some(hook) => run_rebalance(hook, rk, code, partitions),
        None => {
            let applied = Cell::new(false);
            let call = RebalanceCall {
                rk,
                code,
                partitions,
                applied: &applied,
            };
            let _ = call.apply();
        }
    }
}

/// The C rebalance callback. `opaque` is the client's `Box<RebalanceHook>`.
unsafe extern "C" fn rebalance_trampoline(
    rk: *mut rd::rd_kafka_t,
    code: c_int,
    partitions: *mut rd::rd_kafka_topic_partition_list_t,
    opaque: *mut c_void,
) {
    no_unwind("the rebalance callback", || {
        if opaque.is_null() {
            return;
        }
        // SAFETY: the opaque is the Box<RebalanceHook> owned by the client's
        // handle, which frees it only after rd_kafka_destroy has returned,
        // and it is only ever read through a shared reference.
        let hook = unsafe { &*(opaque as *const RebalanceHook) };
        run_rebalance(hook, rk, code, partitions);
    });
}

impl NativeConf {
    /// Routes rebalances to `hook`. The hook must stay at its address for
    /// the life of the client made from this conf (NativeClient owns it).
    pub(super) fn set_rebalance_hook(&mut self, hook: &RebalanceHook) {
        // SAFETY: the conf is owned and valid; the opaque points to the boxed
        // hook, which the NativeClient keeps alive until after destroy.
        unsafe {
            sys::rd_kafka_conf_set_rebalance_cb(self.ptr.as_ptr(), Some(rebalance_trampoline));
            rd::rd_kafka_conf_set_opaque(
                self.ptr.as_ptr(),
                hook as *const RebalanceHook as *mut c_void,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use rdkafka_sys::bindings as rd;

    use libc::c_void;

    use super::{rebalance_trampoline, RebalanceCall, RebalanceHook};
    use crate::native::error::code;
    use crate::native::trampoline::test_support::with_panicking_logs;
    use crate::native::{ClientKind, NativeClient, NativeConf, TopicPartitionList};

    /// A consumer without a group: librdkafka has no group handler to ask
    /// for the rebalance protocol.
    fn groupless_consumer() -> NativeClient {
        let mut conf = NativeConf::new();
        let _ = conf.set("log_level", "0");
        match NativeClient::new(ClientKind::Consumer, conf) {
            Ok(client) => client,
            Err(e) => panic!("cannot create a consumer: {e}"),
        }
    }

    #[test]
    fn no_panic_leaves_the_trampoline_even_one_while_logging() {
        let client = groupless_consumer();
        let list = TopicPartitionList::new(0);
        let hook: RebalanceHook = Box::new(|_| panic!("the handler panics"));
        with_panicking_logs(|| {
            // SAFETY: a valid consumer and list; the opaque points to a
            // RebalanceHook that outlives the call. A panic unwinding out of
            // the trampoline would abort this test.
            unsafe {
                rebalance_trampoline(
                    client.as_ptr(),
                    code::ASSIGN_PARTITIONS,
                    list.as_ptr(),
                    &hook as *const RebalanceHook as *mut c_void,
                )
            }
        });
    }

    #[test]
    fn applying_without_a_known_protocol_fails_cleanly() {
        let client = groupless_consumer();
        // SAFETY: the client is valid.
        let protocol = unsafe { rd::rd_kafka_rebalance_protocol(client.as_ptr()) };
        assert!(
            protocol.is_null(),
            "the test needs librdkafka to return NULL"
        );
        let list = TopicPartitionList::new(0);
        let applied = Cell::new(false);
        let call = RebalanceCall {
            rk: client.as_ptr(),
            code: code::ASSIGN_PARTITIONS,
            partitions: list.as_ptr(),
            applied: &applied,
        };
        let result = call.apply();
        assert!(result.is_err(), "a consumer without a group cannot assign");
        assert!(call.apply().is_ok(), "only the first call has an effect");
    }
}
