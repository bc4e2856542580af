//! `rd_kafka_mock_cluster_t`: librdkafka's in-process mock Kafka cluster.

use std::ffi::CString;
use std::time::Duration;

use rdkafka_sys::bindings as rd;

use super::client::{ClientKind, NativeClient};
use super::conf::NativeConf;
use super::convert::{cstr_lossy, timeout_ms};
use super::error::{code, code_result, RawError};
use super::ptr::NativePtr;
use super::sys;

/// An owned mock cluster, which keeps the client instance that hosts it.
pub(crate) struct NativeMock {
    ptr: NativePtr<rd::rd_kafka_mock_cluster_t, NativeClient>,
}

// SAFETY: the mock cluster runs on its own thread and every mock API call is
// marshalled to it through an internal queue, so calls from any thread are
// safe.
unsafe impl Send for NativeMock {}
// SAFETY: see Send above.
unsafe impl Sync for NativeMock {}

fn c_string(s: &str) -> Result<CString, RawError> {
    CString::new(s).map_err(|_| RawError {
        message: format!("{s:?} contains a NUL byte"),
        ..RawError::from_code(code::INVALID_ARG)
    })
}

impl NativeMock {
    pub(crate) fn new(brokers: i32) -> Result<Self, RawError> {
        let mut conf = NativeConf::new();
        // The host client only carries the cluster; keep it quiet.
        let _ = conf.set("log_level", "3");
        let host = NativeClient::new(ClientKind::Producer, conf).map_err(|reason| RawError {
            message: format!("cannot create the mock cluster's host client: {reason}"),
            ..RawError::from_code(code::INVALID_ARG)
        })?;
        // SAFETY: the host handle is valid. A non-NULL result is a new
        // cluster that we own; it keeps its host, which is destroyed after it.
        let ptr = unsafe {
            let ptr = rd::rd_kafka_mock_cluster_new(host.as_ptr(), brokers);
            NativePtr::from_raw(ptr, host)
        };
        let ptr = ptr.ok_or_else(|| RawError {
            message: format!("cannot create a mock cluster with {brokers} brokers"),
            ..RawError::from_code(code::INVALID_ARG)
        })?;
        Ok(NativeMock { ptr })
    }

    pub(crate) fn bootstrap_servers(&self) -> String {
        // SAFETY: the cluster is valid; the string lives with it and is copied.
        unsafe { cstr_lossy(rd::rd_kafka_mock_cluster_bootstraps(self.ptr.as_ptr())) }
    }

    pub(crate) fn create_topic(
        &self,
        topic: &str,
        partitions: i32,
        rf: i32,
    ) -> Result<(), RawError> {
        let t = c_string(topic)?;
        // SAFETY: the cluster and name are valid for the call.
        code_result(unsafe {
            sys::rd_kafka_mock_topic_create(self.ptr.as_ptr(), t.as_ptr(), partitions, rf)
        })
    }

    pub(crate) fn broker_down(&self, broker: i32) -> Result<(), RawError> {
        // SAFETY: the cluster is valid.
        code_result(unsafe { sys::rd_kafka_mock_broker_set_down(self.ptr.as_ptr(), broker) })
    }

    pub(crate) fn broker_up(&self, broker: i32) -> Result<(), RawError> {
        // SAFETY: the cluster is valid.
        code_result(unsafe { sys::rd_kafka_mock_broker_set_up(self.ptr.as_ptr(), broker) })
    }

    pub(crate) fn broker_rtt(&self, broker: i32, rtt: Duration) -> Result<(), RawError> {
        // SAFETY: the cluster is valid.
        code_result(unsafe {
            sys::rd_kafka_mock_broker_set_rtt(self.ptr.as_ptr(), broker, timeout_ms(rtt))
        })
    }

    pub(crate) fn group_initial_rebalance_delay(&self, delay: Duration) {
        // SAFETY: the cluster is valid; the call only sets a default.
        unsafe {
            rd::rd_kafka_mock_group_initial_rebalance_delay_ms(self.ptr.as_ptr(), timeout_ms(delay))
        }
    }

    pub(crate) fn partition_leader(
        &self,
        topic: &str,
        partition: i32,
        broker: i32,
    ) -> Result<(), RawError> {
        let t = c_string(topic)?;
        // SAFETY: the cluster and name are valid for the call.
        code_result(unsafe {
            sys::rd_kafka_mock_partition_set_leader(
                self.ptr.as_ptr(),
                t.as_ptr(),
                partition,
                broker,
            )
        })
    }

    pub(crate) fn push_request_errors(&self, api_key: i16, errors: &[i32]) {
        // SAFETY: the cluster is valid; `errors` is a valid array of
        // `errors.len()` integers, copied by librdkafka.
        unsafe {
            sys::rd_kafka_mock_push_request_errors_array(
                self.ptr.as_ptr(),
                api_key,
                errors.len(),
                errors.as_ptr(),
            )
        }
    }

    pub(crate) fn topic_error(&self, topic: &str, code: i32) -> Result<(), RawError> {
        let t = c_string(topic)?;
        // SAFETY: the cluster and name are valid for the call.
        unsafe { sys::rd_kafka_mock_topic_set_error(self.ptr.as_ptr(), t.as_ptr(), code) };
        Ok(())
    }
}
