//! The transactional producer calls (`rd_kafka_init_transactions` and the
//! rest). Each blocks until done or its timeout and returns an owned
//! `rd_kafka_error_t` (NULL on success), read here with its fatal,
//! retriable and txn_requires_abort flags.

use std::time::Duration;

use super::client::NativeClient;
use super::consumer::NativeGroupMetadata;
use super::convert::timeout_ms;
use super::error::{error_result, RawError};
use super::tpl::TopicPartitionList;

use rdkafka_sys::bindings as rd;

impl NativeClient {
    /// `rd_kafka_init_transactions`.
    pub(crate) fn init_transactions(&self, timeout: Duration) -> Result<(), RawError> {
        // SAFETY: the handle is valid; the call blocks and returns NULL or
        // an owned error object, which error_result reads and destroys.
        unsafe {
            error_result(rd::rd_kafka_init_transactions(
                self.as_ptr(),
                timeout_ms(timeout),
            ))
        }
    }

    /// `rd_kafka_begin_transaction` (local, returns at once).
    pub(crate) fn begin_transaction(&self) -> Result<(), RawError> {
        // SAFETY: as for init_transactions.
        unsafe { error_result(rd::rd_kafka_begin_transaction(self.as_ptr())) }
    }

    /// `rd_kafka_commit_transaction`: flushes, then commits.
    pub(crate) fn commit_transaction(&self, timeout: Duration) -> Result<(), RawError> {
        // SAFETY: as for init_transactions.
        unsafe {
            error_result(rd::rd_kafka_commit_transaction(
                self.as_ptr(),
                timeout_ms(timeout),
            ))
        }
    }

    /// `rd_kafka_abort_transaction`: purges, waits for the purged reports,
    /// then aborts.
    pub(crate) fn abort_transaction(&self, timeout: Duration) -> Result<(), RawError> {
        // SAFETY: as for init_transactions.
        unsafe {
            error_result(rd::rd_kafka_abort_transaction(
                self.as_ptr(),
                timeout_ms(timeout),
            ))
        }
    }

    /// `rd_kafka_send_offsets_to_transaction`. librdkafka only reads the
    /// list and the group metadata during the call.
    pub(crate) fn send_offsets_to_transaction(
        &self,
        offsets: &TopicPartitionList,
        group: &NativeGroupMetadata,
        timeout: Duration,
    ) -> Result<(), RawError> {
        // SAFETY: handle, list and metadata are valid for the whole call;
        // the result is NULL or an owned error object.
        unsafe {
            error_result(rd::rd_kafka_send_offsets_to_transaction(
                self.as_ptr(),
                offsets.as_ptr(),
                group.as_ptr(),
                timeout_ms(timeout),
            ))
        }
    }
}
