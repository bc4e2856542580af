use super::*;

/// A consumer document with idempotence-related fields, as produced by a
/// recent librdkafka, pretty-printed for readability.
const SAMPLE: &str = r#"{
  "name": "orders-svc#consumer-1",
  "client_id": "orders-svc",
  "type": "consumer",
  "ts": 912837465120,
  "time": 1718035200,
  "age": 60012345,
  "replyq": 2,
  "msg_cnt": 15,
  "msg_size": 4096,
  "msg_max": 100000,
  "msg_size_max": 1073741824,
  "simple_cnt": 0,
  "metadata_cache_cnt": 1,
  "brokers": {
"kafka-1.internal:9092/1": {
  "name": "kafka-1.internal:9092/1",
  "nodeid": 1,
  "nodename": "kafka-1.internal:9092",
  "source": "learned",
  "state": "UP",
  "stateage": 59876543,
  "outbuf_cnt": 0,
  "outbuf_msg_cnt": 0,
  "waitresp_cnt": 1,
  "waitresp_msg_cnt": 0,
  "tx": 812,
  "txbytes": 104233,
  "txerrs": 0,
  "txretries": 1,
  "txidle": 1520,
  "req_timeouts": 0,
  "rx": 811,
  "rxbytes": 9834512,
  "rxerrs": 0,
  "rxcorriderrs": 0,
  "rxpartial": 3,
  "rxidle": 980,
  "zbuf_grow": 0,
  "buf_grow": 0,
  "wakeups": 4410,
  "connects": 1,
  "disconnects": 0,
  "int_latency": {
    "min": 0, "max": 0, "avg": 0, "sum": 0, "stddev": 0,
    "p50": 0, "p75": 0, "p90": 0, "p95": 0, "p99": 0, "p99_99": 0,
    "outofrange": 0, "hdrsize": 11376, "cnt": 0
  },
  "outbuf_latency": {
    "min": 12, "max": 230, "avg": 41, "sum": 4100, "stddev": 22,
    "p50": 37, "p75": 49, "p90": 71, "p95": 95, "p99": 199, "p99_99": 231,
    "outofrange": 0, "hdrsize": 11376, "cnt": 100
  },
  "rtt": {
    "min": 1200, "max": 50000, "avg": 2000, "sum": 200000, "stddev": 4800,
    "p50": 1790, "p75": 2100, "p90": 2600, "p95": 3100, "p99": 49663,
    "p99_99": 50175, "outofrange": 0, "hdrsize": 13424, "cnt": 100
  },
  "throttle": {
    "min": 0, "max": 0, "avg": 0, "sum": 0, "stddev": 0,
    "p50": 0, "p75": 0, "p90": 0, "p95": 0, "p99": 0, "p99_99": 0,
    "outofrange": 0, "hdrsize": 17520, "cnt": 100
  },
  "req": {
    "Fetch": 790, "OffsetCommit": 6, "Metadata": 3, "Heartbeat": 20,
    "ApiVersion": 1
  },
  "toppars": {
    "orders-0": { "topic": "orders", "partition": 0 }
  }
},
"kafka-2.internal:9092/2": {
  "name": "kafka-2.internal:9092/2",
  "nodeid": 2,
  "nodename": "kafka-2.internal:9092",
  "source": "learned",
  "state": "UP",
  "stateage": 59870000,
  "tx": 30,
  "rtt": {
    "min": 2500, "max": 9000, "avg": 4000, "sum": 200000, "stddev": 900,
    "p50": 3900, "p75": 4300, "p90": 5100, "p95": 6000, "p99": 8900,
    "p99_99": 9000, "outofrange": 0, "hdrsize": 13424, "cnt": 50
  },
  "req": {},
  "toppars": {}
},
"GroupCoordinator": {
  "name": "GroupCoordinator",
  "nodeid": -1,
  "nodename": "",
  "source": "logical",
  "state": "INIT",
  "stateage": 60000000,
  "txidle": -1,
  "rxidle": -1,
  "rtt": {
    "min": 0, "max": 0, "avg": 0, "sum": 0, "stddev": 0,
    "p50": 0, "p75": 0, "p90": 0, "p95": 0, "p99": 0, "p99_99": 0,
    "outofrange": 0, "hdrsize": 13424, "cnt": 0
  },
  "req": {},
  "toppars": {}
}
  },
  "topics": {
"orders": {
  "topic": "orders",
  "age": 59990,
  "metadata_age": 12004,
  "batchsize": {
    "min": 0, "max": 0, "avg": 0, "sum": 0, "stddev": 0,
    "p50": 0, "p75": 0, "p90": 0, "p95": 0, "p99": 0, "p99_99": 0,
    "outofrange": 0, "hdrsize": 14448, "cnt": 0
  },
  "batchcnt": {
    "min": 0, "max": 0, "avg": 0, "sum": 0, "stddev": 0,
    "p50": 0, "p75": 0, "p90": 0, "p95": 0, "p99": 0, "p99_99": 0,
    "outofrange": 0, "hdrsize": 8304, "cnt": 0
  },
  "partitions": {
    "0": {
      "partition": 0,
      "broker": 1,
      "leader": 1,
      "desired": true,
      "unknown": false,
      "msgq_cnt": 0,
      "msgq_bytes": 0,
      "xmit_msgq_cnt": 0,
      "xmit_msgq_bytes": 0,
      "fetchq_cnt": 42,
      "fetchq_size": 65536,
      "fetch_state": "active",
      "query_offset": -1001,
      "next_offset": 15342,
      "app_offset": 15300,
      "stored_offset": 15300,
      "stored_leader_epoch": 7,
      "commited_offset": 15250,
      "committed_offset": 15250,
      "committed_leader_epoch": 7,
      "eof_offset": 15000,
      "lo_offset": 0,
      "hi_offset": 15400,
      "ls_offset": 15400,
      "consumer_lag": 150,
      "consumer_lag_stored": 100,
      "leader_epoch": 7,
      "txmsgs": 0,
      "txbytes": 0,
      "rxmsgs": 15342,
      "rxbytes": 9512040,
      "msgs": 15342,
      "rx_ver_drops": 0,
      "msgs_inflight": 0,
      "next_ack_seq": 0,
      "next_err_seq": 0,
      "acked_msgid": 0
    },
    "-1": {
      "partition": -1,
      "broker": -1,
      "leader": -1,
      "desired": false,
      "unknown": false,
      "msgq_cnt": 0,
      "msgq_bytes": 0,
      "xmit_msgq_cnt": 0,
      "xmit_msgq_bytes": 0,
      "fetchq_cnt": 0,
      "fetchq_size": 0,
      "fetch_state": "none",
      "query_offset": -1001,
      "next_offset": 0,
      "app_offset": -1001,
      "stored_offset": -1001,
      "stored_leader_epoch": -1,
      "commited_offset": -1001,
      "committed_offset": -1001,
      "committed_leader_epoch": -1,
      "eof_offset": -1001,
      "lo_offset": -1001,
      "hi_offset": -1001,
      "ls_offset": -1001,
      "consumer_lag": 999,
      "consumer_lag_stored": -1,
      "leader_epoch": -1,
      "txmsgs": 0,
      "txbytes": 0,
      "rxmsgs": 0,
      "rxbytes": 0,
      "msgs": 0,
      "rx_ver_drops": 0,
      "msgs_inflight": 0,
      "next_ack_seq": 0,
      "next_err_seq": 0,
      "acked_msgid": 0
    }
  }
},
"payments": {
  "topic": "payments",
  "age": 30000,
  "metadata_age": 12004,
  "partitions": {
    "0": { "partition": 0, "consumer_lag": 25 },
    "1": { "partition": 1, "consumer_lag": -1 }
  }
}
  },
  "cgrp": {
"state": "up",
"stateage": 58001,
"join_state": "steady",
"rebalance_age": 57990,
"rebalance_cnt": 1,
"rebalance_reason": "group is rebalancing",
"assignment_size": 1
  },
  "eos": {
"idemp_state": "Assigned",
"idemp_stateage": 59001,
"txn_state": "InTransaction",
"txn_stateage": 120,
"txn_may_enq": true,
"producer_id": 4021,
"producer_epoch": 3,
"epoch_cnt": 1
  },
  "tx": 842,
  "tx_bytes": 105233,
  "rx": 841,
  "rx_bytes": 9835012,
  "txmsgs": 0,
  "txmsg_bytes": 0,
  "rxmsgs": 15342,
  "rxmsg_bytes": 9512040,
  "some_future_field": { "nested": [1, 2, 3] }
}"#;

#[test]
fn parses_top_level_fields() {
    let stats = Statistics::from_json(SAMPLE).unwrap();
    assert_eq!(stats.name, "orders-svc#consumer-1");
    assert_eq!(stats.client_id, "orders-svc");
    assert_eq!(stats.client_type, "consumer");
    assert!(stats.is_consumer());
    assert!(!stats.is_producer());
    assert_eq!(stats.ts, 912_837_465_120);
    assert_eq!(stats.time, 1_718_035_200);
    assert_eq!(stats.age, 60_012_345);
    assert_eq!(stats.replyq, 2);
    assert_eq!(stats.msg_cnt, 15);
    assert_eq!(stats.msg_size, 4096);
    assert_eq!(stats.msg_max, 100_000);
    assert_eq!(stats.msg_size_max, 1_073_741_824);
    assert_eq!(stats.tx, 842);
    assert_eq!(stats.tx_bytes, 105_233);
    assert_eq!(stats.rx, 841);
    assert_eq!(stats.rx_bytes, 9_835_012);
    assert_eq!(stats.txmsgs, 0);
    assert_eq!(stats.txmsg_bytes, 0);
    assert_eq!(stats.rxmsgs, 15_342);
    assert_eq!(stats.rxmsg_bytes, 9_512_040);
    assert_eq!(stats.simple_cnt, 0);
    assert_eq!(stats.metadata_cache_cnt, 1);
    assert_eq!(stats.brokers.len(), 3);
    assert_eq!(stats.topics.len(), 2);
    assert!(stats.fatal.is_none());
}

#[test]
fn parses_broker_fields() {
    let stats = Statistics::from_json(SAMPLE).unwrap();
    let broker = &stats.brokers["kafka-1.internal:9092/1"];
    assert_eq!(broker.name, "kafka-1.internal:9092/1");
    assert_eq!(broker.nodeid, 1);
    assert_eq!(broker.nodename, "kafka-1.internal:9092");
    assert_eq!(broker.source, "learned");
    assert_eq!(broker.state, "UP");
    assert_eq!(broker.stateage, 59_876_543);
    assert_eq!(broker.waitresp_cnt, 1);
    assert_eq!(broker.tx, 812);
    assert_eq!(broker.txbytes, 104_233);
    assert_eq!(broker.txretries, 1);
    assert_eq!(broker.txidle, 1520);
    assert_eq!(broker.rx, 811);
    assert_eq!(broker.rxbytes, 9_834_512);
    assert_eq!(broker.rxpartial, 3);
    assert_eq!(broker.rxidle, 980);
    assert_eq!(broker.wakeups, 4410);
    assert_eq!(broker.connects, 1);
    assert_eq!(broker.disconnects, 0);
    assert_eq!(broker.req["Fetch"], 790);
    assert_eq!(broker.req["Heartbeat"], 20);
    assert_eq!(
        broker.toppars["orders-0"],
        TopicPartitionRef {
            topic: "orders".to_owned(),
            partition: 0
        }
    );

    let rtt = broker.rtt.as_ref().unwrap();
    assert_eq!(rtt.min, 1200);
    assert_eq!(rtt.max, 50_000);
    assert_eq!(rtt.avg, 2000);
    assert_eq!(rtt.sum, 200_000);
    assert_eq!(rtt.cnt, 100);
    assert_eq!(rtt.stddev, 4800);
    assert_eq!(rtt.hdrsize, 13_424);
    assert_eq!(rtt.p50, 1790);
    assert_eq!(rtt.p75, 2100);
    assert_eq!(rtt.p90, 2600);
    assert_eq!(rtt.p95, 3100);
    assert_eq!(rtt.p99, 49_663);
    assert_eq!(rtt.p99_99, 50_175);
    assert_eq!(rtt.outofrange, 0);
    assert_eq!(broker.outbuf_latency.as_ref().unwrap().p99, 199);
    assert_eq!(broker.throttle.as_ref().unwrap().cnt, 100);
    assert_eq!(broker.int_latency.as_ref().unwrap().hdrsize, 11_376);

    // A sparsely populated broker entry still parses.
    let sparse = &stats.brokers["kafka-2.internal:9092/2"];
    assert_eq!(sparse.tx, 30);
    assert_eq!(sparse.rxbytes, 0);
    assert!(sparse.throttle.is_none());

    let logical = &stats.brokers["GroupCoordinator"];
    assert_eq!(logical.nodeid, -1);
    assert_eq!(logical.source, "logical");
    assert_eq!(logical.txidle, -1);
}

#[test]
fn parses_topic_and_partition_fields() {
    let stats = Statistics::from_json(SAMPLE).unwrap();
    let topic = &stats.topics["orders"];
    assert_eq!(topic.topic, "orders");
    assert_eq!(topic.age, 59_990);
    assert_eq!(topic.metadata_age, 12_004);
    assert_eq!(topic.batchsize.as_ref().unwrap().hdrsize, 14_448);
    assert_eq!(topic.batchcnt.as_ref().unwrap().hdrsize, 8304);
    assert_eq!(topic.partitions.len(), 2);

    let p0 = stats.partition("orders", 0).unwrap();
    assert_eq!(p0.partition, 0);
    assert_eq!(p0.broker, 1);
    assert_eq!(p0.leader, 1);
    assert!(p0.desired);
    assert!(!p0.unknown);
    assert!(!p0.is_unassigned());
    assert_eq!(p0.fetchq_cnt, 42);
    assert_eq!(p0.fetchq_size, 65_536);
    assert_eq!(p0.fetch_state, "active");
    assert_eq!(p0.query_offset, INVALID_OFFSET);
    assert_eq!(p0.next_offset, 15_342);
    assert_eq!(p0.app_offset, 15_300);
    assert_eq!(p0.stored_offset, 15_300);
    assert_eq!(p0.stored_leader_epoch, 7);
    assert_eq!(p0.committed_offset, 15_250);
    assert_eq!(p0.committed_leader_epoch, 7);
    assert_eq!(p0.eof_offset, 15_000);
    assert_eq!(p0.lo_offset, 0);
    assert_eq!(p0.hi_offset, 15_400);
    assert_eq!(p0.ls_offset, 15_400);
    assert_eq!(p0.consumer_lag, 150);
    assert_eq!(p0.consumer_lag_stored, 100);
    assert_eq!(p0.leader_epoch, 7);
    assert_eq!(p0.rxmsgs, 15_342);
    assert_eq!(p0.rxbytes, 9_512_040);
    assert_eq!(p0.msgs, 15_342);

    let ua = stats.partition("orders", UNASSIGNED_PARTITION).unwrap();
    assert!(ua.is_unassigned());
    assert_eq!(ua.fetch_state, "none");
    assert_eq!(ua.stored_leader_epoch, -1);
    assert_eq!(ua.hi_offset, INVALID_OFFSET);

    assert!(stats.partition("orders", 7).is_none());
    assert!(stats.partition("missing", 0).is_none());

    // Partitions with only a few fields get defaults for the rest.
    let sparse = stats.partition("payments", 1).unwrap();
    assert_eq!(sparse.consumer_lag, -1);
    assert_eq!(sparse.fetch_state, "");
    assert!(topic.batchsize.is_some());
    assert!(stats.topics["payments"].batchsize.is_none());
}

#[test]
fn parses_group_and_eos_fields() {
    let stats = Statistics::from_json(SAMPLE).unwrap();
    let cgrp = stats.cgrp.as_ref().unwrap();
    assert_eq!(cgrp.state, "up");
    assert_eq!(cgrp.stateage, 58_001);
    assert_eq!(cgrp.join_state, "steady");
    assert_eq!(cgrp.rebalance_age, 57_990);
    assert_eq!(cgrp.rebalance_cnt, 1);
    assert_eq!(cgrp.rebalance_reason, "group is rebalancing");
    assert_eq!(cgrp.assignment_size, 1);

    let eos = stats.eos.as_ref().unwrap();
    assert_eq!(eos.idemp_state, "Assigned");
    assert_eq!(eos.idemp_stateage, 59_001);
    assert_eq!(eos.txn_state, "InTransaction");
    assert_eq!(eos.txn_stateage, 120);
    assert!(eos.txn_may_enq);
    assert_eq!(eos.producer_id, 4021);
    assert_eq!(eos.producer_epoch, 3);
    assert_eq!(eos.epoch_cnt, 1);
}

#[test]
fn total_consumer_lag_skips_unassigned_and_unknown() {
    let stats = Statistics::from_json(SAMPLE).unwrap();
    // orders/0 = 150, orders/-1 ignored, payments/0 = 25, payments/1 = -1
    // ignored.
    assert_eq!(stats.topics["orders"].consumer_lag(), 150);
    assert_eq!(stats.topics["payments"].consumer_lag(), 25);
    assert_eq!(stats.total_consumer_lag(), 175);
}

#[test]
fn broker_rtt_average_is_weighted_by_samples() {
    let stats = Statistics::from_json(SAMPLE).unwrap();
    // (200000 + 200000) / (100 + 50); the coordinator has no samples.
    let avg = stats.broker_rtt_avg_us().unwrap();
    assert!((avg - 400_000.0 / 150.0).abs() < 1e-9, "{avg}");
}

#[test]
fn parses_empty_object() {
    let stats = Statistics::from_json("{}").unwrap();
    assert_eq!(stats, Statistics::default());
    assert!(stats.brokers.is_empty());
    assert!(stats.topics.is_empty());
    assert!(stats.cgrp.is_none());
    assert!(stats.eos.is_none());
    assert_eq!(stats.total_consumer_lag(), 0);
    assert_eq!(stats.broker_rtt_avg_us(), None);
}

#[test]
fn parses_minimal_producer_document() {
    let json = r#"{
        "name": "rdkafka#producer-1",
        "client_id": "rdkafka",
        "type": "producer",
        "txbytes": 1234,
        "topics": {
            "events": {
                "topic": "events",
                "partitions": {
                    "-1": { "partition": -1, "msgq_cnt": 3, "msgs": 3 },
                    "0": {
                        "partition": 0,
                        "txmsgs": 10,
                        "txbytes": 640,
                        "msgs_inflight": 2,
                        "next_ack_seq": 8,
                        "next_err_seq": 8,
                        "acked_msgid": 7
                    }
                }
            }
        },
        "fatal": { "error": "Local: Fatal error", "reason": "epoch fenced", "cnt": 1 }
    }"#;
    let stats = Statistics::from_json(json).unwrap();
    assert!(stats.is_producer());
    assert_eq!(stats.tx_bytes, 1234);
    assert!(stats.cgrp.is_none());
    let p0 = stats.partition("events", 0).unwrap();
    assert_eq!(p0.txmsgs, 10);
    assert_eq!(p0.msgs_inflight, 2);
    assert_eq!(p0.next_ack_seq, 8);
    assert_eq!(p0.acked_msgid, 7);
    assert_eq!(stats.partition("events", -1).unwrap().msgq_cnt, 3);
    assert_eq!(stats.fatal.as_ref().unwrap().cnt, 1);
    assert_eq!(stats.total_consumer_lag(), 0);
}

#[test]
fn round_trips_through_serialize() {
    let stats = Statistics::from_json(SAMPLE).unwrap();
    let json = serde_json::to_string(&stats).unwrap();
    assert!(json.contains("\"type\":\"consumer\""));
    let again = Statistics::from_json(&json).unwrap();
    assert_eq!(stats, again);
}

#[test]
fn rejects_malformed_documents() {
    assert!(Statistics::from_json("").is_err());
    assert!(Statistics::from_json("null").is_err());
    assert!(Statistics::from_json("42").is_err());
    assert!(Statistics::from_json(r#"{"tx": "many"}"#).is_err());
}
