//! Typed representation of the statistics that librdkafka emits.
//!
//! When `statistics.interval.ms` is set to a value greater than zero,
//! librdkafka periodically produces a JSON document describing the state of
//! the client: queue depths, per-broker request counters and latency
//! histograms, per-partition offsets and consumer lag, consumer group state
//! and idempotent/transactional producer state. [`Statistics::from_json`]
//! turns that document into the structs defined here.
//!
//! Every struct is annotated with `#[serde(default)]`, so fields that a given
//! librdkafka version does not emit are left at their default value instead
//! of failing the parse, and fields that are not modelled here are ignored.
//!
//! Unless stated otherwise, sizes are in bytes and counters are cumulative
//! since the client was created. Fields described as gauges hold the value
//! at the time the document was produced.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// Partition id librdkafka uses for the internal "unassigned" partition of a
/// topic, where produced messages wait until their partition is known.
pub const UNASSIGNED_PARTITION: i32 = -1;

/// Offset value librdkafka reports when an offset is not known or not set.
pub const INVALID_OFFSET: i64 = -1001;

/// One complete statistics document emitted by a client instance.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct Statistics {
    /// Name of the client instance, such as `rdkafka#producer-1`.
    pub name: String,
    /// The configured (or default) `client.id`.
    pub client_id: String,
    /// Kind of client instance: `"producer"` or `"consumer"`.
    #[serde(rename = "type")]
    pub client_type: String,
    /// librdkafka's internal monotonic clock, in microseconds.
    pub ts: i64,
    /// Wall clock time, in seconds since the Unix epoch.
    pub time: i64,
    /// Time since the client instance was created, in microseconds.
    pub age: i64,
    /// Gauge: operations (callbacks, events, ...) waiting in the queue for the
    /// application to serve by polling.
    pub replyq: i64,
    /// Gauge: number of messages currently held in the producer queues.
    pub msg_cnt: i64,
    /// Gauge: total size of the messages currently held in the producer
    /// queues.
    pub msg_size: i64,
    /// Maximum number of messages allowed in the producer queues.
    pub msg_max: i64,
    /// Maximum total size of messages allowed in the producer queues.
    pub msg_size_max: i64,
    /// Total number of requests sent to brokers.
    pub tx: i64,
    /// Total number of bytes sent to brokers.
    #[serde(alias = "txbytes")]
    pub tx_bytes: i64,
    /// Total number of responses received from brokers.
    pub rx: i64,
    /// Total number of bytes received from brokers.
    #[serde(alias = "rxbytes")]
    pub rx_bytes: i64,
    /// Total number of messages transmitted (produced) to brokers.
    pub txmsgs: i64,
    /// Total number of message bytes transmitted to brokers, including
    /// framing.
    pub txmsg_bytes: i64,
    /// Total number of messages consumed from brokers, not counting messages
    /// that were skipped (for example because of their offset).
    pub rxmsgs: i64,
    /// Total number of message bytes received from brokers, including
    /// framing.
    pub rxmsg_bytes: i64,
    /// Gauge: internal bookkeeping of legacy versus high-level consumer API
    /// usage.
    pub simple_cnt: i64,
    /// Gauge: number of topics held in the metadata cache.
    pub metadata_cache_cnt: i64,
    /// Per-broker statistics, keyed by broker name (`host:port/nodeid`).
    pub brokers: HashMap<String, BrokerStats>,
    /// Per-topic statistics, keyed by topic name.
    pub topics: HashMap<String, TopicStats>,
    /// Consumer group statistics; present only for consumers in a group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cgrp: Option<ConsumerGroupStats>,
    /// Idempotent and transactional producer statistics; present only when
    /// idempotence is enabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eos: Option<EosStats>,
    /// Fatal error information; present only after a fatal error was raised.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fatal: Option<FatalStats>,
}

impl Statistics {
    /// Parses a statistics document as delivered by librdkafka.
    ///
    /// Missing fields take their default value and unknown fields are
    /// ignored, so documents from older or newer librdkafka versions parse
    /// as long as they are valid JSON objects with correctly typed values.
    pub fn from_json(json: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(json)
    }

    /// Returns `true` if the document was emitted by a producer.
    pub fn is_producer(&self) -> bool {
        self.client_type == "producer"
    }

    /// Returns `true` if the document was emitted by a consumer.
    pub fn is_consumer(&self) -> bool {
        self.client_type == "consumer"
    }

    /// Sums the consumer lag of every partition of every topic.
    ///
    /// The internal unassigned partition is skipped, as are partitions whose
    /// lag is unknown (reported by librdkafka as a negative value).
    pub fn total_consumer_lag(&self) -> i64 {
        self.topics.values().map(TopicStats::consumer_lag).sum()
    }

    /// Mean broker round-trip time over the current statistics window, in
    /// microseconds.
    ///
    /// The mean is weighted by the number of samples each broker contributed,
    /// so brokers without any sampled request (bootstrap entries, idle or
    /// internal brokers) do not affect it. Returns `None` when no broker has
    /// any round-trip sample.
    pub fn broker_rtt_avg_us(&self) -> Option<f64> {
        let (sum, cnt) = self
            .brokers
            .values()
            .filter_map(|broker| broker.rtt.as_ref())
            .filter(|rtt| rtt.cnt > 0)
            .fold((0_i128, 0_i128), |(sum, cnt), rtt| {
                (sum + i128::from(rtt.sum), cnt + i128::from(rtt.cnt))
            });
        if cnt == 0 {
            None
        } else {
            // Precision loss only matters for sums far beyond any realistic
            // latency window.
            Some(sum as f64 / cnt as f64)
        }
    }

    /// Looks up the statistics of one partition of a topic.
    pub fn partition(&self, topic: &str, partition: i32) -> Option<&PartitionStats> {
        self.topics.get(topic)?.partition(partition)
    }
}

/// Statistics for one broker connection.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct BrokerStats {
    /// Broker name: host name, port and node id (`host:port/nodeid`).
    pub name: String,
    /// Broker node id; `-1` for bootstrap brokers whose id is not yet known.
    pub nodeid: i32,
    /// Broker host name and port.
    pub nodename: String,
    /// How the broker became known: `configured`, `learned`, `internal` or
    /// `logical`.
    pub source: String,
    /// Connection state, such as `INIT`, `DOWN`, `CONNECT`, `AUTH`,
    /// `APIVERSION_QUERY`, `AUTH_HANDSHAKE`, `UP` or `UPDATE`.
    pub state: String,
    /// Gauge: time since the last state change, in microseconds.
    pub stateage: i64,
    /// Gauge: requests waiting to be sent to the broker.
    pub outbuf_cnt: i64,
    /// Gauge: messages waiting to be sent to the broker.
    pub outbuf_msg_cnt: i64,
    /// Gauge: requests sent and awaiting a response.
    pub waitresp_cnt: i64,
    /// Gauge: messages sent and awaiting a response.
    pub waitresp_msg_cnt: i64,
    /// Total number of requests sent.
    pub tx: i64,
    /// Total number of bytes sent.
    pub txbytes: i64,
    /// Total number of transmission errors.
    pub txerrs: i64,
    /// Total number of request retries.
    pub txretries: i64,
    /// Time since the last socket send, in microseconds; `-1` if nothing has
    /// been sent yet or the connection is not up.
    pub txidle: i64,
    /// Total number of requests that timed out.
    pub req_timeouts: i64,
    /// Total number of responses received.
    pub rx: i64,
    /// Total number of bytes received.
    pub rxbytes: i64,
    /// Total number of receive errors.
    pub rxerrs: i64,
    /// Total number of responses whose correlation id matched no outstanding
    /// request (typically responses to requests that already timed out).
    pub rxcorriderrs: i64,
    /// Total number of partial message sets received.
    pub rxpartial: i64,
    /// Time since the last socket receive, in microseconds; `-1` if nothing
    /// has been received yet or the connection is not up.
    pub rxidle: i64,
    /// Total number of times the decompression buffer had to grow.
    pub zbuf_grow: i64,
    /// Total number of buffer size increases (deprecated, always zero in
    /// current versions).
    pub buf_grow: i64,
    /// Number of wakeups of the broker thread's poll loop.
    pub wakeups: i64,
    /// Number of connection attempts, successful or not, including name
    /// resolution failures.
    pub connects: i64,
    /// Number of disconnects, whatever their cause.
    pub disconnects: i64,
    /// Producer queue latency, in microseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub int_latency: Option<Window>,
    /// Time requests spend in the send queue before being written to the
    /// socket, in microseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outbuf_latency: Option<Window>,
    /// Request round-trip time, in microseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rtt: Option<Window>,
    /// Throttle time reported by the broker, in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub throttle: Option<Window>,
    /// Number of requests sent, keyed by protocol request name (for example
    /// `Produce`, `Fetch`, `Metadata`).
    pub req: HashMap<String, i64>,
    /// Partitions currently handled by this broker, keyed by
    /// `topic-partition`.
    pub toppars: HashMap<String, TopicPartitionRef>,
}

/// Rolling-window statistics over a histogram of sampled values.
///
/// The unit depends on the field holding the window; latencies are in
/// microseconds unless documented otherwise.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct Window {
    /// Smallest sampled value.
    pub min: i64,
    /// Largest sampled value.
    pub max: i64,
    /// Mean of the sampled values.
    pub avg: i64,
    /// Sum of the sampled values.
    pub sum: i64,
    /// Number of values sampled.
    pub cnt: i64,
    /// Standard deviation, derived from the histogram.
    pub stddev: i64,
    /// Memory used by the histogram, in bytes.
    pub hdrsize: i64,
    /// 50th percentile (median).
    pub p50: i64,
    /// 75th percentile.
    pub p75: i64,
    /// 90th percentile.
    pub p90: i64,
    /// 95th percentile.
    pub p95: i64,
    /// 99th percentile.
    pub p99: i64,
    /// 99.99th percentile.
    pub p99_99: i64,
    /// Number of values that fell outside the histogram's range.
    pub outofrange: i64,
}

/// A topic partition handled by a broker, as listed in
/// [`BrokerStats::toppars`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct TopicPartitionRef {
    /// Topic name.
    pub topic: String,
    /// Partition id.
    pub partition: i32,
}

/// Statistics for one topic.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct TopicStats {
    /// Topic name.
    pub topic: String,
    /// Time since the client started tracking the topic, in milliseconds.
    pub age: i64,
    /// Gauge: age of the topic's metadata, in milliseconds.
    pub metadata_age: i64,
    /// Produced batch sizes, in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batchsize: Option<Window>,
    /// Produced batch message counts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batchcnt: Option<Window>,
    /// Per-partition statistics, keyed by partition id as a string; the key
    /// `"-1"` is the internal unassigned partition.
    pub partitions: HashMap<String, PartitionStats>,
}

impl TopicStats {
    /// Sums the consumer lag of the topic's partitions, skipping the internal
    /// unassigned partition and partitions whose lag is unknown.
    pub fn consumer_lag(&self) -> i64 {
        self.partitions
            .iter()
            .filter(|(key, p)| key.as_str() != "-1" && p.partition != UNASSIGNED_PARTITION)
            .map(|(_, p)| p.consumer_lag.max(0))
            .sum()
    }

    /// Looks up the statistics of one partition by id.
    pub fn partition(&self, partition: i32) -> Option<&PartitionStats> {
        self.partitions.get(&partition.to_string())
    }
}

/// Statistics for one topic partition.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct PartitionStats {
    /// Partition id; `-1` for the internal unassigned partition.
    pub partition: i32,
    /// Node id of the broker the client fetches from or produces to; `-1` if
    /// none.
    pub broker: i32,
    /// Node id of the current partition leader; `-1` if unknown.
    pub leader: i32,
    /// Whether the application explicitly asked for this partition.
    pub desired: bool,
    /// Whether the partition is missing from the broker's topic metadata.
    pub unknown: bool,
    /// Gauge: messages waiting in the first-level producer queue.
    pub msgq_cnt: i64,
    /// Gauge: bytes waiting in the first-level producer queue.
    pub msgq_bytes: i64,
    /// Gauge: messages ready in the transmit queue.
    pub xmit_msgq_cnt: i64,
    /// Gauge: bytes ready in the transmit queue.
    pub xmit_msgq_bytes: i64,
    /// Gauge: pre-fetched messages waiting in the fetch queue.
    pub fetchq_cnt: i64,
    /// Gauge: bytes waiting in the fetch queue.
    pub fetchq_size: i64,
    /// Fetch state: `none`, `stopping`, `stopped`, `offset-query`,
    /// `offset-wait` or `active`.
    pub fetch_state: String,
    /// Gauge: current or last logical offset queried.
    pub query_offset: i64,
    /// Gauge: next offset to fetch.
    pub next_offset: i64,
    /// Gauge: offset of the last message handed to the application, plus
    /// one.
    pub app_offset: i64,
    /// Gauge: offset stored for the next commit.
    pub stored_offset: i64,
    /// Leader epoch belonging to [`stored_offset`](Self::stored_offset).
    pub stored_leader_epoch: i32,
    /// Gauge: last committed offset.
    pub committed_offset: i64,
    /// Leader epoch belonging to
    /// [`committed_offset`](Self::committed_offset).
    pub committed_leader_epoch: i32,
    /// Gauge: offset at which end-of-partition was last signalled.
    pub eof_offset: i64,
    /// Gauge: low watermark offset on the broker.
    pub lo_offset: i64,
    /// Gauge: high watermark offset on the broker.
    pub hi_offset: i64,
    /// Gauge: last stable offset on the broker (same as the high watermark
    /// for brokers without transaction support).
    pub ls_offset: i64,
    /// Gauge: difference between the end offset (high watermark, or last
    /// stable offset with `read_committed`) and the committed offset; `-1`
    /// when unknown.
    pub consumer_lag: i64,
    /// Gauge: difference between the end offset and the stored offset; `-1`
    /// when unknown.
    pub consumer_lag_stored: i64,
    /// Last known leader epoch of the partition; `-1` when unknown.
    pub leader_epoch: i32,
    /// Total number of messages transmitted (produced).
    pub txmsgs: i64,
    /// Total number of bytes transmitted for [`txmsgs`](Self::txmsgs).
    pub txbytes: i64,
    /// Total number of messages consumed, not counting skipped messages.
    pub rxmsgs: i64,
    /// Total number of bytes received for [`rxmsgs`](Self::rxmsgs).
    pub rxbytes: i64,
    /// For consumers, the same as [`rxmsgs`](Self::rxmsgs); for producers,
    /// the number of messages produced, whether transmitted yet or not.
    pub msgs: i64,
    /// Number of outdated messages that were dropped.
    pub rx_ver_drops: i64,
    /// Gauge: messages in flight to or from the broker.
    pub msgs_inflight: i64,
    /// Gauge: next sequence number expected to be acknowledged (idempotent
    /// producer).
    pub next_ack_seq: i64,
    /// Gauge: next sequence number expected to fail (idempotent producer).
    pub next_err_seq: i64,
    /// Internal id of the last acknowledged message (idempotent producer).
    pub acked_msgid: i64,
}

impl PartitionStats {
    /// Returns `true` for the internal unassigned partition.
    pub fn is_unassigned(&self) -> bool {
        self.partition == UNASSIGNED_PARTITION
    }
}

/// Consumer group state of a consumer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct ConsumerGroupStats {
    /// State of the local group handler, such as `up`.
    pub state: String,
    /// Gauge: time since the last state change, in milliseconds.
    pub stateage: i64,
    /// Join state of the local group handler, such as `steady`.
    #[serde(alias = "joinstate")]
    pub join_state: String,
    /// Gauge: time since the last rebalance (assignment or revocation), in
    /// milliseconds.
    pub rebalance_age: i64,
    /// Total number of rebalances (assignments or revocations).
    pub rebalance_cnt: i64,
    /// Reason for the last rebalance, or an empty string.
    pub rebalance_reason: String,
    /// Gauge: number of partitions in the current assignment.
    pub assignment_size: i64,
}

/// Idempotent and transactional producer state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct EosStats {
    /// State of the idempotent producer id acquisition, such as `Assigned`.
    pub idemp_state: String,
    /// Gauge: time since the last change of
    /// [`idemp_state`](Self::idemp_state), in milliseconds.
    pub idemp_stateage: i64,
    /// Transaction state, such as `Init`, `Ready` or `InTransaction`.
    pub txn_state: String,
    /// Gauge: time since the last change of [`txn_state`](Self::txn_state),
    /// in milliseconds.
    pub txn_stateage: i64,
    /// Whether the transaction state currently allows producing messages.
    pub txn_may_enq: bool,
    /// Gauge: currently assigned producer id, or `-1`.
    pub producer_id: i64,
    /// Gauge: current producer epoch, or `-1`.
    pub producer_epoch: i32,
    /// Number of producer id assignments since the client started.
    pub epoch_cnt: i64,
}

/// Information about a fatal error raised by the client.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct FatalStats {
    /// Name of the fatal error code.
    pub error: String,
    /// Human-readable description of the error.
    pub reason: String,
    /// Number of fatal errors raised.
    pub cnt: i64,
}

#[cfg(test)]
mod tests;
