//! Cluster metadata: waiting for the metadata librdkafka fetches by itself,
//! one metadata request, used to check that a broker answers, and the
//! metadata of the cluster and its topics, copied out for applications.

use std::time::Duration;

use libc::{c_char, c_int};
use rdkafka_sys::bindings as rd;

use super::convert::{cstr_lossy, timeout_ms};
use super::ptr::NativePtr;
use super::{NativeClient, RawError};

extern "C" {
    // Declared here with an integer result rather than the binding's enum,
    // for the reason given in sys.rs.
    fn rd_kafka_metadata(
        rk: *mut rd::rd_kafka_t,
        all_topics: c_int,
        only_rkt: *mut rd::rd_kafka_topic_t,
        metadatap: *mut *const rd::rd_kafka_metadata,
        timeout_ms: c_int,
    ) -> c_int;
}

/// The broker that answered a metadata request.
#[derive(Debug, Clone)]
pub(crate) struct MetadataAnswer {
    /// The broker's node id.
    pub broker_id: i32,
    /// librdkafka's name for it (`host:port/id`).
    pub broker_name: String,
    /// How many brokers the cluster reported.
    pub brokers: usize,
}

impl NativeClient {
    /// The controller's broker id from the metadata librdkafka has received,
    /// waiting up to `timeout` for metadata when none has arrived yet. The
    /// wait sends no request: librdkafka asks for metadata by itself when its
    /// first broker connection comes up. `None` when the wait timed out, and
    /// also when the metadata names no controller (librdkafka returns -1 for
    /// both).
    pub(crate) fn controller_id(&self, timeout: Duration) -> Option<i32> {
        // SAFETY: the handle is valid; the call only reads cached state and
        // waits on librdkafka's broker state changes, from any thread.
        let id = unsafe { rd::rd_kafka_controllerid(self.as_ptr(), timeout_ms(timeout)) };
        (id >= 0).then_some(id)
    }

    /// Sends one metadata request to any broker and waits for the answer.
    ///
    /// The request names only the topics this client already knows (none
    /// for a new client, which makes it a request for the broker list). The
    /// wait covers both getting a usable broker connection and the reply;
    /// `_TRANSPORT` means no connection came up within `timeout`, and
    /// `_TIMED_OUT` that the request got no answer in time.
    pub(crate) fn request_metadata(&self, timeout: Duration) -> Result<MetadataAnswer, RawError> {
        let mut out: *const rd::rd_kafka_metadata = std::ptr::null();
        // SAFETY: the handle is valid; a NULL topic handle with all_topics=0
        // means "the locally known topics"; `out` is a valid out-pointer that
        // librdkafka sets only on success. The call may block for up to the
        // timeout and may be made from any application thread.
        let code = unsafe {
            rd_kafka_metadata(
                self.as_ptr(),
                0,
                std::ptr::null_mut(),
                &mut out,
                timeout_ms(timeout),
            )
        };
        if code != 0 {
            return Err(RawError::from_code(code));
        }
        // SAFETY: on success `out` is a metadata result that this call owns
        // and that depends on nothing else.
        let Some(metadata) = (unsafe { NativePtr::from_raw(out.cast_mut(), ()) }) else {
            return Err(RawError {
                message: "metadata request returned no result".into(),
                ..RawError::from_code(crate::ErrorCode::UnknownServerError.raw())
            });
        };
        // SAFETY: the result is valid until `metadata` is dropped, at the end
        // of this function; the name is NULL or NUL-terminated and is copied.
        let answer = unsafe {
            let md = &*metadata.as_ptr();
            MetadataAnswer {
                broker_id: md.orig_broker_id,
                broker_name: cstr_lossy(md.orig_broker_name),
                brokers: usize::try_from(md.broker_cnt).unwrap_or(0),
            }
        };
        drop(metadata);
        Ok(answer)
    }
}

/// Mirror of `rd_kafka_metadata_broker_t`: `int32_t id; char *host; int
/// port;` (rdkafka.h).
#[repr(C)]
struct RawBroker {
    id: i32,
    host: *mut c_char,
    port: c_int,
}

/// Mirror of `rd_kafka_metadata_partition_t` with the error kept as an
/// integer: `int32_t id; rd_kafka_resp_err_t err; int32_t leader; int
/// replica_cnt; int32_t *replicas; int isr_cnt; int32_t *isrs;`.
#[repr(C)]
struct RawPartition {
    id: i32,
    err: c_int,
    leader: i32,
    replica_cnt: c_int,
    replicas: *mut i32,
    isr_cnt: c_int,
    isrs: *mut i32,
}

/// Mirror of `rd_kafka_metadata_topic_t` with the error kept as an
/// integer: `char *topic; int partition_cnt; rd_kafka_metadata_partition_t
/// *partitions; rd_kafka_resp_err_t err;`.
#[repr(C)]
struct RawTopic {
    topic: *mut c_char,
    partition_cnt: c_int,
    partitions: *mut RawPartition,
    err: c_int,
}

/// Mirror of `rd_kafka_metadata_t`: `int broker_cnt; ... *brokers; int
/// topic_cnt; ... *topics; int32_t orig_broker_id; char *orig_broker_name;`.
#[repr(C)]
struct RawMetadata {
    broker_cnt: c_int,
    brokers: *mut RawBroker,
    topic_cnt: c_int,
    topics: *mut RawTopic,
    orig_broker_id: i32,
    orig_broker_name: *mut c_char,
}

const _: () = {
    use std::mem::size_of;
    assert!(size_of::<RawBroker>() == size_of::<rd::rd_kafka_metadata_broker>());
    assert!(size_of::<RawPartition>() == size_of::<rd::rd_kafka_metadata_partition>());
    assert!(size_of::<RawTopic>() == size_of::<rd::rd_kafka_metadata_topic>());
    assert!(size_of::<RawMetadata>() == size_of::<rd::rd_kafka_metadata>());
};

/// A broker of a metadata answer.
#[derive(Debug, Clone)]
pub(crate) struct BrokerMeta {
    pub id: i32,
    pub host: String,
    pub port: i32,
}

/// A partition of a metadata answer; `err` is 0 for none.
#[derive(Debug, Clone)]
pub(crate) struct PartitionMeta {
    pub id: i32,
    pub err: i32,
    pub leader: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
}

/// A topic of a metadata answer; `err` is 0 for none.
#[derive(Debug, Clone)]
pub(crate) struct TopicMeta {
    pub name: String,
    pub err: i32,
    pub partitions: Vec<PartitionMeta>,
}

/// A metadata answer, copied out of librdkafka's result.
#[derive(Debug, Clone)]
pub(crate) struct ClusterMeta {
    pub brokers: Vec<BrokerMeta>,
    pub topics: Vec<TopicMeta>,
    pub orig_broker_id: i32,
    pub orig_broker_name: String,
    pub controller_id: Option<i32>,
    pub cluster_id: Option<String>,
}

/// A C array as a slice; NULL or a non-positive count is empty.
///
/// # Safety
/// `ptr` must be NULL or point to `cnt` valid elements for `'a`.
unsafe fn array<'a, T>(ptr: *const T, cnt: c_int) -> &'a [T] {
    let len = usize::try_from(cnt).unwrap_or(0);
    if ptr.is_null() || len == 0 {
        return &[];
    }
    // SAFETY: `len` valid elements (caller's contract).
    unsafe { std::slice::from_raw_parts(ptr, len) }
}

impl NativeClient {
    /// Sends one metadata request for every topic in the cluster, or for
    /// `topic` only, and waits up to `timeout` for the answer (blocking the
    /// calling thread).
    pub(crate) fn metadata(
        &self,
        topic: Option<&super::NativeTopic>,
        timeout: Duration,
    ) -> Result<ClusterMeta, RawError> {
        let mut out: *const rd::rd_kafka_metadata = std::ptr::null();
        let only = topic.map_or(std::ptr::null_mut(), |t| t.ptr.as_ptr());
        // SAFETY: the handle is valid; `only` is NULL or a topic handle of
        // this client that outlives the call; `out` is a valid out-pointer
        // set only on success. The call blocks for up to the timeout and may
        // be made from any application thread.
        let code = unsafe {
            rd_kafka_metadata(
                self.as_ptr(),
                c_int::from(topic.is_none()),
                only,
                &mut out,
                timeout_ms(timeout),
            )
        };
        if code != 0 {
            return Err(RawError::from_code(code));
        }
        // SAFETY: on success `out` is a metadata result that this call owns
        // and that depends on nothing else.
        let Some(owned) = (unsafe { NativePtr::from_raw(out.cast_mut(), ()) }) else {
            return Err(RawError {
                message: "metadata request returned no result".into(),
                ..RawError::from_code(crate::ErrorCode::UnknownServerError.raw())
            });
        };
        // SAFETY: the result is valid until `owned` drops, after the copy;
        // it is laid out as RawMetadata (sizes checked above), every array
        // holds its count of elements and every string is NULL or
        // NUL-terminated.
        let mut meta = unsafe {
            let md = &*(owned.as_ptr() as *const RawMetadata);
            ClusterMeta {
                brokers: array(md.brokers, md.broker_cnt)
                    .iter()
                    .map(|b| BrokerMeta {
                        id: b.id,
                        host: cstr_lossy(b.host),
                        port: b.port,
                    })
                    .collect(),
                topics: array(md.topics, md.topic_cnt)
                    .iter()
                    .map(|t| TopicMeta {
                        name: cstr_lossy(t.topic),
                        err: t.err,
                        partitions: array(t.partitions, t.partition_cnt)
                            .iter()
                            .map(|p| PartitionMeta {
                                id: p.id,
                                err: p.err,
                                leader: p.leader,
                                replicas: array(p.replicas, p.replica_cnt).to_vec(),
                                isr: array(p.isrs, p.isr_cnt).to_vec(),
                            })
                            .collect(),
                    })
                    .collect(),
                orig_broker_id: md.orig_broker_id,
                orig_broker_name: cstr_lossy(md.orig_broker_name),
                controller_id: None,
                cluster_id: None,
            }
        };
        drop(owned);
        // Both come from the metadata just received, cached on the client.
        meta.controller_id = self.controller_id(Duration::ZERO);
        meta.cluster_id = self.cluster_id();
        Ok(meta)
    }

    /// The cluster id from the metadata the client has, without waiting.
    pub(crate) fn cluster_id(&self) -> Option<String> {
        // SAFETY: the handle is valid; the result is NULL or a copy that
        // this call owns and frees with rd_kafka_mem_free after copying it.
        unsafe {
            let id = rd::rd_kafka_clusterid(self.as_ptr(), 0);
            if id.is_null() {
                return None;
            }
            let copy = cstr_lossy(id);
            rd::rd_kafka_mem_free(self.as_ptr(), id.cast());
            Some(copy)
        }
    }
}
