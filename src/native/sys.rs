//! Declarations of the librdkafka functions whose C signatures carry an enum.
//!
//! `rdkafka-sys` binds `rd_kafka_resp_err_t` and friends as Rust enums. A C
//! function returning a value that is not one of the enum's variants (a code
//! added in a newer librdkafka, say) would then be undefined behaviour. These
//! declarations link to the same symbols but keep every such value a plain
//! `c_int`, which the safe layer converts with a complete match.

use libc::{c_char, c_int, c_void};
use rdkafka_sys::bindings as rd;

/// Mirror of `struct rd_kafka_err_desc` with the code kept as an integer.
#[repr(C)]
pub(crate) struct ErrDesc {
    pub code: c_int,
    pub name: *const c_char,
    pub desc: *const c_char,
}

/// Mirror of `rd_kafka_message_t` with the error kept as an integer.
///
/// Layout: `rd_kafka_resp_err_t err; rd_kafka_topic_t *rkt; int32_t partition;
/// void *payload; size_t len; void *key; size_t key_len; int64_t offset;
/// void *_private;` (rdkafka.h). A compile-time check below pins the size.
#[repr(C)]
pub(crate) struct RawMessage {
    pub err: c_int,
    pub rkt: *mut rd::rd_kafka_topic_t,
    pub partition: i32,
    pub payload: *mut c_void,
    pub len: usize,
    pub key: *mut c_void,
    pub key_len: usize,
    pub offset: i64,
    pub private: *mut c_void,
}

const _: () =
    assert!(std::mem::size_of::<RawMessage>() == std::mem::size_of::<rd::rd_kafka_message_t>());

extern "C" {
    pub(crate) fn rd_kafka_get_err_descs(errdescs: *mut *const ErrDesc, cntp: *mut usize);
    pub(crate) fn rd_kafka_err2str(err: c_int) -> *const c_char;
    pub(crate) fn rd_kafka_last_error() -> c_int;
    pub(crate) fn rd_kafka_error_code(error: *const rd::rd_kafka_error_t) -> c_int;
    pub(crate) fn rd_kafka_fatal_error(
        rk: *mut rd::rd_kafka_t,
        errstr: *mut c_char,
        errstr_size: usize,
    ) -> c_int;
    pub(crate) fn rd_kafka_conf_set(
        conf: *mut rd::rd_kafka_conf_t,
        name: *const c_char,
        value: *const c_char,
        errstr: *mut c_char,
        errstr_size: usize,
    ) -> c_int;
    pub(crate) fn rd_kafka_conf_set_rebalance_cb(
        conf: *mut rd::rd_kafka_conf_t,
        rebalance_cb: Option<
            unsafe extern "C" fn(
                *mut rd::rd_kafka_t,
                c_int,
                *mut rd::rd_kafka_topic_partition_list_t,
                *mut c_void,
            ),
        >,
    );
    pub(crate) fn rd_kafka_flush(rk: *mut rd::rd_kafka_t, timeout_ms: c_int) -> c_int;
    pub(crate) fn rd_kafka_purge(rk: *mut rd::rd_kafka_t, purge_flags: c_int) -> c_int;
    pub(crate) fn rd_kafka_event_error(rkev: *mut rd::rd_kafka_event_t) -> c_int;
    pub(crate) fn rd_kafka_set_log_queue(
        rk: *mut rd::rd_kafka_t,
        rkqu: *mut rd::rd_kafka_queue_t,
    ) -> c_int;
    pub(crate) fn rd_kafka_message_timestamp(
        rkmessage: *const rd::rd_kafka_message_t,
        tstype: *mut c_int,
    ) -> i64;
    pub(crate) fn rd_kafka_header_add(
        hdrs: *mut rd::rd_kafka_headers_t,
        name: *const c_char,
        name_size: isize,
        value: *const c_void,
        value_size: isize,
    ) -> c_int;
    pub(crate) fn rd_kafka_header_get_all(
        hdrs: *const rd::rd_kafka_headers_t,
        idx: usize,
        namep: *mut *const c_char,
        valuep: *mut *const c_void,
        sizep: *mut usize,
    ) -> c_int;
    pub(crate) fn rd_kafka_message_headers(
        rkmessage: *const rd::rd_kafka_message_t,
        hdrsp: *mut *mut rd::rd_kafka_headers_t,
    ) -> c_int;
    pub(crate) fn rd_kafka_subscribe(
        rk: *mut rd::rd_kafka_t,
        topics: *const rd::rd_kafka_topic_partition_list_t,
    ) -> c_int;
    pub(crate) fn rd_kafka_assign(
        rk: *mut rd::rd_kafka_t,
        partitions: *const rd::rd_kafka_topic_partition_list_t,
    ) -> c_int;
    pub(crate) fn rd_kafka_unsubscribe(rk: *mut rd::rd_kafka_t) -> c_int;
    pub(crate) fn rd_kafka_subscription(
        rk: *mut rd::rd_kafka_t,
        topics: *mut *mut rd::rd_kafka_topic_partition_list_t,
    ) -> c_int;
    pub(crate) fn rd_kafka_assignment(
        rk: *mut rd::rd_kafka_t,
        partitions: *mut *mut rd::rd_kafka_topic_partition_list_t,
    ) -> c_int;
    pub(crate) fn rd_kafka_commit(
        rk: *mut rd::rd_kafka_t,
        offsets: *const rd::rd_kafka_topic_partition_list_t,
        async_: c_int,
    ) -> c_int;
    pub(crate) fn rd_kafka_commit_queue(
        rk: *mut rd::rd_kafka_t,
        offsets: *const rd::rd_kafka_topic_partition_list_t,
        rkqu: *mut rd::rd_kafka_queue_t,
        cb: Option<
            unsafe extern "C" fn(
                *mut rd::rd_kafka_t,
                c_int,
                *mut rd::rd_kafka_topic_partition_list_t,
                *mut c_void,
            ),
        >,
        opaque: *mut c_void,
    ) -> c_int;
    pub(crate) fn rd_kafka_offsets_store(
        rk: *mut rd::rd_kafka_t,
        offsets: *mut rd::rd_kafka_topic_partition_list_t,
    ) -> c_int;
    pub(crate) fn rd_kafka_committed(
        rk: *mut rd::rd_kafka_t,
        partitions: *mut rd::rd_kafka_topic_partition_list_t,
        timeout_ms: c_int,
    ) -> c_int;
    pub(crate) fn rd_kafka_position(
        rk: *mut rd::rd_kafka_t,
        partitions: *mut rd::rd_kafka_topic_partition_list_t,
    ) -> c_int;
    pub(crate) fn rd_kafka_pause_partitions(
        rk: *mut rd::rd_kafka_t,
        partitions: *mut rd::rd_kafka_topic_partition_list_t,
    ) -> c_int;
    pub(crate) fn rd_kafka_resume_partitions(
        rk: *mut rd::rd_kafka_t,
        partitions: *mut rd::rd_kafka_topic_partition_list_t,
    ) -> c_int;
    pub(crate) fn rd_kafka_query_watermark_offsets(
        rk: *mut rd::rd_kafka_t,
        topic: *const c_char,
        partition: i32,
        low: *mut i64,
        high: *mut i64,
        timeout_ms: c_int,
    ) -> c_int;
    pub(crate) fn rd_kafka_get_watermark_offsets(
        rk: *mut rd::rd_kafka_t,
        topic: *const c_char,
        partition: i32,
        low: *mut i64,
        high: *mut i64,
    ) -> c_int;
    pub(crate) fn rd_kafka_offsets_for_times(
        rk: *mut rd::rd_kafka_t,
        offsets: *mut rd::rd_kafka_topic_partition_list_t,
        timeout_ms: c_int,
    ) -> c_int;
    pub(crate) fn rd_kafka_mock_topic_create(
        mcluster: *mut rd::rd_kafka_mock_cluster_t,
        topic: *const c_char,
        partition_cnt: c_int,
        replication_factor: c_int,
    ) -> c_int;
    pub(crate) fn rd_kafka_mock_broker_set_down(
        mcluster: *mut rd::rd_kafka_mock_cluster_t,
        broker_id: i32,
    ) -> c_int;
    pub(crate) fn rd_kafka_mock_broker_set_up(
        mcluster: *mut rd::rd_kafka_mock_cluster_t,
        broker_id: i32,
    ) -> c_int;
    pub(crate) fn rd_kafka_mock_broker_set_rtt(
        mcluster: *mut rd::rd_kafka_mock_cluster_t,
        broker_id: i32,
        rtt_ms: c_int,
    ) -> c_int;
    pub(crate) fn rd_kafka_mock_partition_set_leader(
        mcluster: *mut rd::rd_kafka_mock_cluster_t,
        topic: *const c_char,
        partition: i32,
        broker_id: i32,
    ) -> c_int;
    pub(crate) fn rd_kafka_mock_push_request_errors_array(
        mcluster: *mut rd::rd_kafka_mock_cluster_t,
        api_key: i16,
        cnt: usize,
        errors: *const c_int,
    );
    pub(crate) fn rd_kafka_mock_topic_set_error(
        mcluster: *mut rd::rd_kafka_mock_cluster_t,
        topic: *const c_char,
        err: c_int,
    );
}
