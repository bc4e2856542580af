//! Consumer tests on librdkafka's mock cluster. The scenarios are shared
//! with the real-broker tier (tests/consumer_broker.rs).

mod common;

use std::time::{Duration, Instant};

use common::consumer_scenarios::{self as scenario, group_config, produce};
use common::{unique, Target};
use kafkit::{Consumer, Error, ErrorCode, Offset, RebalanceListener, TopicPartition};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_keeps_up_with_a_producer_for_a_million_messages() {
    scenario::stream_keeps_up(&Target::mock(1), 1_000_000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_pending_next_loses_no_message() {
    scenario::dropped_next_loses_nothing(&Target::mock(1)).await;
}

/// With the cooperative-sticky assignor (incremental rebalances).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_consumers_split_partitions_and_one_takes_over() {
    scenario::group_split_and_takeover(&Target::mock(1), None).await;
}

/// With the default (eager) assignors of the classic protocol.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eager_group_split_and_takeover() {
    scenario::group_split_and_takeover(&Target::mock(1), Some("classic")).await;
}

/// The KIP-848 protocol as far as the mock cluster implements it (the
/// real-broker tier runs the same scenario on Kafka 4).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kip848_group_split_and_takeover_on_mock() {
    scenario::group_split_and_takeover(&Target::mock(1), Some("consumer")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_offsets_give_at_least_once() {
    scenario::stored_offsets_reread_tail(&Target::mock(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_timeout_ends_the_iterator() {
    scenario::idle_timeout_ends_iterator(&Target::mock(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_respect_max_and_within() {
    scenario::batches_respect_max_and_within(&Target::mock(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seek_pause_resume_watermarks_offsets_for_times() {
    scenario::seek_pause_resume(&Target::mock(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_and_async_commits() {
    scenario::commits(&Target::mock(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_to_end_then_stop() {
    scenario::read_to_end_and_json(&Target::mock(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribing_to_a_missing_topic_is_an_error() {
    scenario::missing_topic_is_reported(&Target::mock(1)).await;
}

#[test]
fn a_consumer_needs_a_group_id() {
    let target = Target::mock(1);
    let err = Consumer::new(&target.config()).expect_err("no group id");
    assert!(
        matches!(&err, Error::Config { key, .. } if key == "group.id"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_with_the_broker_down_returns_within_its_bound() {
    let target = Target::mock(1);
    let topic = target.topic("close-down", 2);
    produce(&target, &topic, 0, 10, None).await;
    let mut config = group_config(&target, &unique("g"));
    config
        .close_timeout(Duration::from_secs(2))
        .expect("close timeout");
    if std::env::var("DEBUG_CLOSE").is_ok() {
        config.set("debug", "cgrp,broker,generic").unwrap();
        let _ = tracing_subscriber::fmt()
            .with_max_level(tracing_subscriber::filter::LevelFilter::DEBUG)
            .with_test_writer()
            .try_init();
    }
    let consumer = Consumer::new(&config).expect("consumer");
    consumer.subscribe(&[&topic]).expect("subscribe");
    let mut n = 0;
    for m in consumer.iter().idle_timeout(Duration::from_secs(20)) {
        m.expect("message");
        n += 1;
        if n == 10 {
            break;
        }
    }
    assert_eq!(n, 10);
    let Target::Mock(cluster) = &target else {
        unreachable!()
    };
    cluster.broker_down(1).expect("broker down");
    let start = Instant::now();
    let result = consumer.close();
    let took = start.elapsed();
    assert!(
        took < Duration::from_secs(4),
        "close took {took:?} with a bound of 2 s ({result:?})"
    );
    // Drop after close is immediate too, and so is dropping a second
    // consumer that never closed explicitly.
    let start = Instant::now();
    drop(consumer);
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "drop after close: {:?}",
        start.elapsed()
    );
    let second = Consumer::new(&config).expect("consumer");
    second.subscribe(&[&topic]).expect("subscribe");
    let _ = second.poll(Duration::from_millis(500));
    let start = Instant::now();
    drop(second);
    let took = start.elapsed();
    assert!(
        took < Duration::from_secs(4),
        "dropping an open consumer took {took:?}"
    );
}

struct Panicker;

impl RebalanceListener for Panicker {
    fn on_assigned(&mut self, _consumer: &Consumer, _partitions: &[TopicPartition]) {
        panic!("listener panics on purpose");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_rebalance_listener_does_not_abort() {
    let target = Target::mock(1);
    let topic = target.topic("panicky", 1);
    produce(&target, &topic, 0, 5, None).await;
    let consumer = Consumer::builder(&group_config(&target, &unique("g")))
        .rebalance_listener(Panicker)
        .build()
        .expect("consumer");
    consumer.subscribe(&[&topic]).expect("subscribe");
    let read: Vec<_> = consumer
        .iter()
        .idle_timeout(Duration::from_secs(10))
        .take(5)
        .collect();
    assert_eq!(
        read.len(),
        5,
        "the assignment was applied despite the panic"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partition_eof_is_reported_when_enabled() {
    let target = Target::mock(1);
    let topic = target.topic("eof", 1);
    produce(&target, &topic, 0, 3, None).await;
    let mut config = group_config(&target, &unique("g"));
    config.set("enable.partition.eof", "true").expect("config");
    let consumer = Consumer::new(&config).expect("consumer");
    consumer
        .assign(&[(&topic, 0, Offset::Beginning)])
        .expect("assign");
    let mut messages = 0;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        assert!(Instant::now() < deadline, "no end-of-partition event");
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(_)) => messages += 1,
            Some(Err(e @ Error::PartitionEof { .. })) => {
                assert_eq!(e.code(), Some(ErrorCode::PartitionEof));
                let Error::PartitionEof {
                    offset, partition, ..
                } = e
                else {
                    unreachable!()
                };
                assert_eq!((partition, offset, messages), (0, 3, 3));
                break;
            }
            Some(Err(e)) => panic!("{e}"),
            None => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_outlive_the_consumer_and_cross_threads() {
    let target = Target::mock(1);
    let topic = target.topic("outlive", 1);
    produce(&target, &topic, 0, 10, None).await;
    let consumer = Consumer::new(&group_config(&target, &unique("g"))).expect("consumer");
    consumer
        .assign(&[(&topic, 0, Offset::Beginning)])
        .expect("assign");
    let batch = consumer
        .consume_batch(10, Duration::from_secs(10))
        .expect("batch");
    assert_eq!(batch.len(), 10);
    drop(consumer);
    let values = std::thread::spawn(move || {
        batch
            .iter()
            .map(|m| m.value_str().unwrap_or("").to_string())
            .collect::<Vec<_>>()
    })
    .join()
    .expect("thread");
    assert_eq!(values, (0..10).map(|i| i.to_string()).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regex_subscription_and_unsubscribe() {
    let target = Target::mock(1);
    let prefix = unique("rx");
    let cluster = match &target {
        Target::Mock(c) => c,
        Target::Broker(_) => unreachable!(),
    };
    let topic = format!("{prefix}-orders");
    cluster.create_topic(&topic, 1, 1).expect("topic");
    produce(&target, &topic, 0, 5, None).await;
    let consumer = Consumer::new(&group_config(&target, &unique("g"))).expect("consumer");
    let pattern = format!("^{prefix}-.*");
    consumer.subscribe(&[&pattern]).expect("subscribe");
    assert_eq!(
        consumer.subscription().expect("subscription"),
        vec![pattern]
    );
    let read: Vec<_> = consumer
        .iter()
        .idle_timeout(Duration::from_secs(15))
        .take(5)
        .map(|m| m.expect("message"))
        .collect();
    assert_eq!(read.len(), 5);
    assert!(read.iter().all(|m| m.topic() == topic));
    assert!(consumer.group_metadata().is_some());
    consumer.unsubscribe().expect("unsubscribe");
    assert!(consumer.subscription().expect("subscription").is_empty());
    assert!(
        consumer.subscribe(&[]).is_err(),
        "an empty subscription is refused"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_assign_and_unassign() {
    let target = Target::mock(1);
    let topic = target.topic("incr", 2);
    produce(&target, &topic, 0, 10, Some(0)).await;
    produce(&target, &topic, 10, 10, Some(1)).await;
    let consumer = Consumer::new(&group_config(&target, &unique("g"))).expect("consumer");
    consumer
        .incremental_assign(&[(&topic, 0, Offset::Beginning)])
        .expect("assign 0");
    consumer
        .incremental_assign(&[(&topic, 1, Offset::At(5))])
        .expect("assign 1");
    let mut assignment = consumer.assignment().expect("assignment");
    assignment.sort();
    assert_eq!(
        assignment,
        vec![
            TopicPartition::new(&topic, 0),
            TopicPartition::new(&topic, 1)
        ]
    );
    let read: Vec<_> = consumer
        .iter()
        .idle_timeout(Duration::from_secs(15))
        .take(15)
        .map(|m| m.expect("message"))
        .collect();
    assert_eq!(
        read.len(),
        15,
        "10 from partition 0 and 5 from offset 5 of partition 1"
    );
    assert_eq!(read.iter().filter(|m| m.partition() == 1).count(), 5);
    consumer
        .incremental_unassign(&[(&topic, 0)])
        .expect("unassign 0");
    assert_eq!(
        consumer.assignment().expect("assignment"),
        vec![TopicPartition::new(&topic, 1)]
    );
    consumer.unassign().expect("unassign");
    assert!(consumer.assignment().expect("assignment").is_empty());
}

/// A stream that waits (its task is pending in `next()`) longer than
/// `max.poll.interval.ms` stays in its group: no "max poll exceeded" error,
/// the same member id, and it reads what comes next.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_stream_stays_in_its_group() {
    use futures::StreamExt;
    let target = Target::mock(1);
    let topic = target.topic("idle-stream", 1);
    produce(&target, &topic, 0, 1, None).await;
    let mut config = group_config(&target, &unique("g"));
    config
        .set("max.poll.interval.ms", "7000")
        .expect("max.poll.interval.ms");
    let consumer = Consumer::new(&config).expect("consumer");
    consumer.subscribe(&[&topic]).expect("subscribe");
    let mut stream = consumer.stream();
    let first = tokio::time::timeout(Duration::from_secs(20), stream.next())
        .await
        .expect("first message")
        .expect("stream")
        .expect("message");
    assert_eq!(first.offset(), 0);
    let member = consumer.member_id().expect("member id");
    // Twice the poll interval with nothing to read.
    match tokio::time::timeout(Duration::from_secs(15), stream.next()).await {
        Err(_) => {}
        Ok(item) => panic!("an idle stream produced {item:?}"),
    }
    produce(&target, &topic, 1, 1, None).await;
    let second = tokio::time::timeout(Duration::from_secs(20), stream.next())
        .await
        .expect("second message")
        .expect("stream")
        .expect("message, not an error");
    assert_eq!(second.offset(), 1);
    assert_eq!(
        consumer.member_id().as_deref(),
        Some(member.as_str()),
        "same member"
    );
}

/// The queue's wake-up hook runs on a librdkafka thread under the queue's
/// lock. Dropping a waker there could run a task's destructor, and that
/// could drop the consumer (relocking the same lock, and destroying the
/// client on one of its own threads): the hook wakes by reference only (a
/// wake by value consumes, that is drops, the waker), and the waker is
/// dropped later, on a reader's thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_hook_wakes_by_reference_only() {
    use futures::{Stream, StreamExt};
    use std::pin::Pin;
    use std::sync::{Arc, Mutex};
    use std::task::{Context, Wake, Waker};

    #[derive(Default)]
    struct Witness {
        /// Threads that woke it, and how.
        wakes: Mutex<Vec<(String, &'static str)>>,
    }
    impl Witness {
        fn note(&self, how: &'static str) {
            // librdkafka names its threads (rdk:broker1, ...) through the
            // OS, which std does not see.
            let name = std::fs::read_to_string("/proc/thread-self/comm")
                .map(|n| n.trim().to_string())
                .unwrap_or_default();
            self.wakes.lock().unwrap().push((name, how));
        }
    }
    impl Wake for Witness {
        fn wake(self: Arc<Self>) {
            self.note("by value");
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.note("by reference");
        }
    }

    let target = Target::mock(1);
    let topic = target.topic("hook-wake", 1);
    let consumer = Consumer::new(&group_config(&target, &unique("hook-wake"))).expect("consumer");
    consumer
        .assign(&[(topic.as_str(), 0, Offset::Beginning)])
        .expect("assign");
    let mut stream = consumer.stream();
    let witness = Arc::new(Witness::default());
    let waker = Waker::from(witness.clone());
    assert!(
        Pin::new(&mut stream)
            .poll_next(&mut Context::from_waker(&waker))
            .is_pending(),
        "nothing produced yet"
    );
    drop(waker);
    produce(&target, &topic, 0, 1, Some(0)).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let wakes = loop {
        let wakes = witness.wakes.lock().unwrap().clone();
        if wakes.iter().any(|(thread, _)| thread.starts_with("rdk:")) {
            break wakes;
        }
        assert!(
            Instant::now() < deadline,
            "the hook did not wake: {wakes:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    for (thread, how) in &wakes {
        assert!(
            !(thread.starts_with("rdk:") && *how == "by value"),
            "woken {how} (so dropped) on librdkafka's thread {thread}: {wakes:?}"
        );
    }
    let message = stream.next().await.expect("a message").expect("no error");
    assert_eq!(message.offset(), 0);
}
