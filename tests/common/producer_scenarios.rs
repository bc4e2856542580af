//! Producer scenarios, run on the mock cluster (tests/producer_mock.rs) and
//! on a real broker (tests/producer_broker.rs).

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use kafkit::{ErrorCode, Producer, Record, Timestamp};

use super::{offsets_by_partition, read_back, Target};

/// 100k messages across 3 partitions: every delivery future resolves and the
/// offsets of each partition are contiguous from 0.
pub async fn hundred_thousand_contiguous(target: &Target) {
    let topic = target.topic("contiguous", 3);
    let producer = Producer::new(&target.config()).expect("producer");
    let n = 100_000usize;
    let mut pending = VecDeque::new();
    let mut delivered = Vec::with_capacity(n);
    for i in 0..n {
        let record = Record::to(topic.as_str())
            .key(format!("k{i}"))
            .value(format!("v{i}"));
        let fut = producer.send(record).await.expect("enqueue");
        pending.push_back(fut);
        if pending.len() >= 20_000 {
            let meta = pending
                .pop_front()
                .expect("front")
                .await
                .expect("delivered");
            delivered.push((meta.partition, meta.offset));
        }
    }
    while let Some(fut) = pending.pop_front() {
        let meta = fut.await.expect("delivered");
        delivered.push((meta.partition, meta.offset));
    }
    assert_eq!(delivered.len(), n);
    let by_partition = offsets_by_partition(delivered);
    assert_eq!(by_partition.len(), 3, "all three partitions used");
    for (partition, offsets) in by_partition {
        let expected: Vec<i64> = (0..offsets.len() as i64).collect();
        assert!(
            offsets == expected,
            "partition {partition}: offsets are not contiguous from 0"
        );
    }
    assert_eq!(producer.in_flight(), 0);
}

/// Keys, headers, explicit partitions and timestamps come back as sent.
pub async fn fields_round_trip(target: &Target) {
    let topic = target.topic("roundtrip", 3);
    let producer = Producer::new(&target.config()).expect("producer");
    let base_ts = 1_700_000_000_000i64;
    let mut sent = Vec::new();
    for i in 0..30i64 {
        let partition = (i % 3) as i32;
        let mut record = Record::to(topic.as_str())
            .value(format!("value-{i}"))
            .header("index", i.to_string())
            .header("bin", vec![0u8, 255, i as u8])
            .null_header("nothing")
            .partition(partition)
            .timestamp(base_ts + i);
        if i % 2 == 0 {
            record = record.key(format!("key-{i}"));
        }
        let meta = producer
            .send(record)
            .await
            .expect("enqueue")
            .await
            .expect("delivered");
        assert_eq!(meta.partition, partition);
        assert_eq!(meta.topic, topic);
        // The mock cluster answers every produce with a fixed log-append
        // time; a real broker leaves the record's create time in place.
        if let Target::Broker(_) = target {
            assert_eq!(meta.timestamp, Timestamp::CreateTime(base_ts + i));
        }
        sent.push(i);
    }
    let messages = read_back(target, &topic, 3, sent.len(), Duration::from_secs(30));
    let mut seen = HashSet::new();
    for m in &messages {
        let i: i64 = m
            .value_str()
            .and_then(|v| v.strip_prefix("value-"))
            .and_then(|v| v.parse().ok())
            .expect("value");
        assert!(seen.insert(i), "message {i} read twice");
        assert_eq!(m.partition(), (i % 3) as i32);
        assert_eq!(m.topic(), topic);
        assert_eq!(m.timestamp(), Timestamp::CreateTime(base_ts + i));
        if i % 2 == 0 {
            assert_eq!(m.key(), Some(format!("key-{i}").as_bytes()));
        } else {
            assert_eq!(m.key(), None);
        }
        let headers: Vec<(String, Option<Vec<u8>>)> = m
            .headers()
            .map(|(n, v)| (n.to_string(), v.map(<[u8]>::to_vec)))
            .collect();
        assert_eq!(
            headers,
            vec![
                ("index".to_string(), Some(i.to_string().into_bytes())),
                ("bin".to_string(), Some(vec![0u8, 255, i as u8])),
                ("nothing".to_string(), None),
            ]
        );
        assert_eq!(m.header("index"), Some(i.to_string().as_bytes()));
    }
}

/// With a 1000-message queue, 200k sends never fail: send().await waits for
/// space instead. The queue is observed full at some point (so backpressure
/// was really exercised) and never over its bound.
pub async fn backpressure_never_fails(target: &Target) {
    let topic = target.topic("backpressure", 3);
    let mut config = target.config();
    config.queue_buffering_max_messages(1000).expect("config");
    let producer = Producer::new(&config).expect("producer");
    let n = 200_000usize;
    let mut max_in_flight = 0;
    let mut futures = VecDeque::new();
    let mut ok = 0usize;
    for i in 0..n {
        let fut = producer
            .send(Record::to(topic.as_str()).value(i.to_string()))
            .await
            .unwrap_or_else(|e| panic!("send {i} failed: {e}"));
        futures.push_back(fut);
        max_in_flight = max_in_flight.max(producer.in_flight());
        // Keep many futures, but release memory as we go.
        while futures.len() > 5_000 {
            futures
                .pop_front()
                .expect("front")
                .await
                .expect("delivered");
            ok += 1;
        }
    }
    for fut in futures {
        fut.await.expect("delivered");
        ok += 1;
    }
    assert_eq!(ok, n);
    assert!(
        max_in_flight <= 1000,
        "queue bound exceeded: {max_in_flight}"
    );
    assert!(
        max_in_flight >= 900,
        "the queue never filled ({max_in_flight}): backpressure was not exercised"
    );
}

/// try_send hands the record back with QueueFull when the queue is full.
pub async fn try_send_reports_queue_full(target: &Target) {
    let topic = target.topic("trysend", 1);
    let mut config = target.config();
    config
        .queue_buffering_max_messages(10)
        .and_then(|c| c.linger(Duration::from_millis(500)))
        .expect("config");
    let producer = Producer::new(&config).expect("producer");
    let mut futures = Vec::new();
    let mut full = None;
    for i in 0..1000 {
        match producer.try_send(Record::to(topic.as_str()).value(format!("m{i}"))) {
            Ok(f) => futures.push(f),
            Err(e) => {
                full = Some((i, e));
                break;
            }
        }
    }
    let (i, err) = full.expect("the queue of 10 must fill up");
    assert_eq!(err.error.code(), Some(ErrorCode::QueueFull));
    assert_eq!(err.record.value_bytes(), Some(format!("m{i}").as_bytes()));
    for f in futures {
        f.await.expect("delivered");
    }
}

/// A record over message.max.bytes fails with MsgSizeTooLarge and is handed
/// back intact.
pub async fn oversized_record_is_returned(target: &Target) {
    let topic = target.topic("toolarge", 1);
    let mut config = target.config();
    config.set("message.max.bytes", "10000").expect("config");
    let producer = Producer::new(&config).expect("producer");
    let big = vec![7u8; 20_000];
    let err = producer
        .send(
            Record::to(topic.as_str())
                .key("k")
                .value(big.clone())
                .header("h", "v"),
        )
        .await
        .expect_err("a 20 kB record over a 10 kB limit must fail");
    assert_eq!(err.error.code(), Some(ErrorCode::MsgSizeTooLarge), "{err}");
    assert_eq!(err.record.value_bytes(), Some(&big[..]));
    assert_eq!(err.record.key_bytes(), Some(&b"k"[..]));
    assert_eq!(err.record.headers().len(), 1);
    // The producer still works afterwards.
    producer
        .send(Record::to(topic.as_str()).value("small"))
        .await
        .expect("enqueue")
        .await
        .expect("delivered");
}
