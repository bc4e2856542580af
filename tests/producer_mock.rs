//! Producer behaviour on librdkafka's mock cluster.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{producer_scenarios as scenario, read_back, Target};
use kafkit::{ErrorCode, Producer, Record};

#[tokio::test]
async fn hundred_thousand_messages_three_partitions_contiguous() {
    scenario::hundred_thousand_contiguous(&Target::mock(1)).await;
}

#[tokio::test]
async fn keys_headers_partitions_timestamps_round_trip() {
    scenario::fields_round_trip(&Target::mock(1)).await;
}

#[tokio::test]
async fn backpressure_200k_with_queue_of_1000() {
    scenario::backpressure_never_fails(&Target::mock(1)).await;
}

#[tokio::test]
async fn try_send_returns_record_on_full_queue() {
    scenario::try_send_reports_queue_full(&Target::mock(1)).await;
}

#[tokio::test]
async fn message_too_large_hands_record_back() {
    scenario::oversized_record_is_returned(&Target::mock(1)).await;
}

#[test]
fn producer_code_path_has_no_fixed_sleep() {
    // Backpressure must come from wake-ups, not from sleeping and retrying.
    for (file, text) in [
        ("producer/mod.rs", include_str!("../src/producer/mod.rs")),
        (
            "producer/delivery/mod.rs",
            include_str!("../src/producer/delivery/mod.rs"),
        ),
        ("client.rs", include_str!("../src/client.rs")),
    ] {
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            assert!(
                !code.contains("sleep("),
                "src/{file}:{} sleeps: {line}",
                n + 1
            );
        }
    }
}

#[tokio::test]
async fn idempotent_producer_survives_broker_restart_without_duplicates() {
    let target = Target::mock(3);
    let Target::Mock(cluster) = &target else {
        unreachable!()
    };
    let topic = target.topic("idempotent", 1);
    cluster
        .set_partition_leader(&topic, 0, 1)
        .expect("leader on broker 1");
    let mut config = target.config();
    config
        .enable_idempotence(true)
        .and_then(|c| c.linger(Duration::from_millis(2)))
        .expect("config");
    let producer = Producer::new(&config).expect("producer");
    let n = 30_000usize;
    let mut futures = Vec::with_capacity(n);
    for i in 0..n {
        if i == n / 3 {
            cluster.broker_down(1).expect("down");
        }
        if i == n / 2 {
            // Let the producer notice and retry for a while, then recover.
            tokio::time::sleep(Duration::from_secs(2)).await;
            cluster.broker_up(1).expect("up");
        }
        let fut = producer
            .send(Record::to(topic.as_str()).value(i.to_string()))
            .await
            .expect("enqueue");
        futures.push(fut);
    }
    let mut offsets = Vec::with_capacity(n);
    for (i, fut) in futures.into_iter().enumerate() {
        let meta = fut
            .await
            .unwrap_or_else(|e| panic!("message {i} not delivered: {e}"));
        offsets.push(meta.offset);
    }
    // In order, each exactly once.
    assert!(
        offsets.windows(2).all(|w| w[1] == w[0] + 1),
        "offsets not contiguous"
    );
    let messages = read_back(&target, &topic, 1, n, Duration::from_secs(60));
    for (i, m) in messages.iter().enumerate() {
        assert_eq!(
            m.value_str(),
            Some(i.to_string().as_str()),
            "at offset {}",
            m.offset()
        );
    }
}

#[tokio::test]
async fn delivery_callback_panic_does_not_abort() {
    let target = Target::mock(1);
    let topic = target.topic("panics", 1);
    let producer = Producer::new(&target.config()).expect("producer");
    let calls = Arc::new(AtomicUsize::new(0));
    for i in 0..10 {
        let calls = calls.clone();
        producer
            .send_with_callback(Record::to(topic.as_str()).value("x"), move |result| {
                calls.fetch_add(1, Ordering::SeqCst);
                assert!(result.is_ok());
                if i % 2 == 0 {
                    panic!("user callback panics on purpose");
                }
            })
            .expect("enqueue");
    }
    producer.flush(Duration::from_secs(10)).expect("flush");
    assert_eq!(calls.load(Ordering::SeqCst), 10);
    // The dispatcher survived: later deliveries still complete.
    let meta = producer
        .send(Record::to(topic.as_str()).value("after"))
        .await
        .expect("enqueue")
        .await
        .expect("delivered after panics");
    assert_eq!(meta.offset, 10);
}

#[test]
fn blocking_wait_with_timeout() {
    let target = Target::mock(1);
    let Target::Mock(cluster) = &target else {
        unreachable!()
    };
    let topic = target.topic("blocking", 1);
    let producer = Producer::new(&target.config()).expect("producer");
    let mut fut = producer
        .send_blocking(
            Record::to(topic.as_str()).value("a"),
            Duration::from_secs(5),
        )
        .expect("enqueue");
    let meta = fut
        .wait(Duration::from_secs(10))
        .expect("in time")
        .expect("delivered");
    assert_eq!(meta.offset, 0);
    // With a slow broker the wait times out and the future stays usable.
    cluster
        .set_rtt(1, Duration::from_millis(1500))
        .expect("rtt");
    let mut slow = producer
        .send_blocking(
            Record::to(topic.as_str()).value("b"),
            Duration::from_secs(5),
        )
        .expect("enqueue");
    let started = Instant::now();
    assert!(
        slow.wait(Duration::from_millis(200)).is_none(),
        "should time out"
    );
    assert!(started.elapsed() < Duration::from_secs(1));
    let meta = slow
        .wait(Duration::from_secs(20))
        .expect("in time")
        .expect("delivered");
    assert_eq!(meta.offset, 1);
}

#[tokio::test]
async fn purge_hands_records_back() {
    let target = Target::mock(1);
    let Target::Mock(cluster) = &target else {
        unreachable!()
    };
    let topic = target.topic("purge", 1);
    let producer = Producer::new(&target.config()).expect("producer");
    // Make sure metadata is known, then stop the broker so records queue up.
    producer
        .send(Record::to(topic.as_str()).value("warmup"))
        .await
        .expect("enqueue")
        .await
        .expect("delivered");
    cluster.broker_down(1).expect("down");
    let mut futures = Vec::new();
    for i in 0..100 {
        futures.push(
            producer
                .send(Record::to(topic.as_str()).value(format!("r{i}")))
                .await
                .expect("enqueue"),
        );
    }
    producer.purge();
    for (i, fut) in futures.into_iter().enumerate() {
        let err = fut.await.expect_err("purged");
        assert!(
            matches!(
                err.error.code(),
                Some(ErrorCode::PurgeQueue | ErrorCode::PurgeInflight)
            ),
            "{err}"
        );
        assert_eq!(err.record.value_bytes(), Some(format!("r{i}").as_bytes()));
    }
}

#[tokio::test]
async fn failed_delivery_hands_back_an_equal_record() {
    let target = Target::mock(1);
    let Target::Mock(cluster) = &target else {
        unreachable!()
    };
    let topic = kafkit::Topic::new(target.topic("rebuilt", 2));
    let producer = Producer::new(&target.config()).expect("producer");
    producer
        .send(Record::to(topic).value("warmup"))
        .await
        .expect("enqueue")
        .await
        .expect("delivered");
    cluster.broker_down(1).expect("down");
    let records = [
        Record::to(topic)
            .key("k")
            .value("v")
            .header("h1", "x")
            .null_header("h2")
            .header("h1", "")
            .partition(1)
            .timestamp(1_700_000_000_123),
        Record::to(topic).key(Vec::new()),
        Record::to(topic).value(Vec::new()),
        Record::to(topic),
        // Static and shared bytes come back as equal owned bytes.
        Record::to(topic)
            .key(kafkit::Payload::from_static(b"static-key"))
            .value(std::sync::Arc::<[u8]>::from(&b"shared-value"[..])),
    ];
    let mut futures = Vec::new();
    for record in &records {
        futures.push(producer.send(record.clone()).await.expect("enqueue"));
    }
    let (tx, rx) = std::sync::mpsc::channel();
    producer
        .send_with_callback(records[0].clone(), move |result| {
            let _ = tx.send(result);
        })
        .expect("enqueue");
    producer.purge();
    for (fut, record) in futures.into_iter().zip(&records) {
        let err = fut.await.expect_err("purged");
        assert_eq!(&err.record, record);
    }
    let result = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("callback called");
    assert_eq!(result.expect_err("purged").record, records[0]);
}

#[tokio::test]
async fn many_topics_interleaved_each_get_their_records() {
    let target = Target::mock(1);
    // More topics than the producer keeps in its lock-free slots.
    let topics: Vec<kafkit::Topic> = (0..40)
        .map(|i| kafkit::Topic::new(target.topic(&format!("many{i}"), 1)))
        .collect();
    let producer = Producer::new(&target.config()).expect("producer");
    let mut futures = Vec::new();
    for round in 0..3 {
        for topic in topics.iter().chain(topics.iter().rev()) {
            let fut = producer
                .send(Record::to(topic).value(format!("{round}")))
                .await
                .expect("enqueue");
            futures.push((*topic, fut));
        }
    }
    let mut per_topic = std::collections::HashMap::new();
    for (topic, fut) in futures {
        let meta = fut.await.expect("delivered");
        assert_eq!(meta.topic, topic);
        let next = per_topic.entry(topic).or_insert(0i64);
        assert_eq!(meta.offset, *next);
        *next += 1;
    }
    assert!(per_topic.values().all(|&n| n == 6));
}

#[tokio::test]
async fn delivered_messages_are_released_without_further_sends() {
    // Spent delivery events are destroyed by the next send, or by the
    // dispatcher when none comes: flush must not wait for a send.
    let target = Target::mock(1);
    let topic = kafkit::Topic::new(target.topic("released", 1));
    let producer = Producer::new(&target.config()).expect("producer");
    let mut futures = Vec::new();
    for i in 0..1000 {
        futures.push(
            producer
                .send(Record::to(topic).value(format!("{i}")))
                .await
                .expect("enqueue"),
        );
    }
    for fut in futures {
        fut.await.expect("delivered");
    }
    let started = Instant::now();
    producer.flush(Duration::from_secs(5)).expect("flush");
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "flush took {:?}",
        started.elapsed()
    );
    assert_eq!(producer.in_flight(), 0);
}

#[tokio::test]
async fn unknown_partition_is_an_error_that_hands_the_record_back() {
    let target = Target::mock(1);
    let topic = kafkit::Topic::new(target.topic("partitions", 1));
    let producer = Producer::new(&target.config()).expect("producer");
    // Once the topic's metadata is known, a missing partition fails at once.
    producer
        .send(Record::to(topic).value("warmup"))
        .await
        .expect("enqueue")
        .await
        .expect("delivered");
    for record in [
        Record::to(topic).value("plain").partition(5),
        Record::to(topic)
            .value("with header")
            .header("h", "v")
            .partition(5),
    ] {
        let err = producer
            .send(record.clone())
            .await
            .expect_err("no such partition");
        assert_eq!(err.error.code(), Some(ErrorCode::UnknownPartition), "{err}");
        assert_eq!(err.record, record);
    }
}

#[tokio::test]
async fn invalid_topic_name_is_a_clear_error() {
    let target = Target::mock(1);
    let producer = Producer::new(&target.config()).expect("producer");
    let err = producer
        .send(Record::to("bad topic!").value("x"))
        .await
        .expect_err("invalid name");
    assert_eq!(err.error.code(), Some(ErrorCode::InvalidArg));
    assert!(err.to_string().contains("bad topic!"), "{err}");
    assert_eq!(err.record.value_bytes(), Some(&b"x"[..]));
}

#[tokio::test]
async fn json_values_round_trip() {
    #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    struct User {
        name: String,
        profession: String,
    }
    let target = Target::mock(1);
    let topic = target.topic("json", 1);
    let producer = Producer::new(&target.config()).expect("producer");
    let user = User {
        name: "ada".into(),
        profession: "mathematician".into(),
    };
    let record = Record::to(topic.as_str()).json(&user).expect("encode");
    producer
        .send(record)
        .await
        .expect("enqueue")
        .await
        .expect("delivered");
    let messages = read_back(&target, &topic, 1, 1, Duration::from_secs(20));
    assert_eq!(messages[0].json::<User>().expect("decode"), user);
    assert!(messages[0].json::<Vec<u32>>().is_err());
}

#[test]
fn statistics_reach_the_callback_and_the_latest_value() {
    let target = Target::mock(1);
    let mut config = target.config();
    config
        .statistics_interval(Duration::from_millis(100))
        .expect("config");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    let producer = Producer::builder(&config)
        .on_statistics(move |s| {
            if let Ok(mut v) = seen2.lock() {
                v.push(s.client_type.clone());
            }
        })
        .build()
        .expect("producer");
    let deadline = Instant::now() + Duration::from_secs(10);
    while seen.lock().map(|v| v.len()).unwrap_or(0) < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let types = seen.lock().map(|v| v.clone()).unwrap_or_default();
    assert!(types.len() >= 2, "got {} statistics reports", types.len());
    assert!(types.iter().all(|t| t == "producer"));
    let latest = producer.statistics().expect("latest statistics");
    assert_eq!(latest.client_type, "producer");
    assert_eq!(latest.name, producer.name());
}

#[tokio::test]
async fn failed_delivery_reports_the_error_text_not_the_payload() {
    let target = Target::mock(1);
    let Target::Mock(cluster) = &target else {
        unreachable!()
    };
    let topic = target.topic("timeout", 1);
    let mut config = target.config();
    config
        .message_timeout(Duration::from_millis(800))
        .expect("config");
    let producer = Producer::new(&config).expect("producer");
    cluster.broker_down(1).expect("down");
    let err = producer
        .send(Record::to(topic.as_str()).value("PAYLOAD-NOT-AN-ERROR"))
        .await
        .expect("enqueue")
        .await
        .expect_err("timed out");
    assert_eq!(err.error.code(), Some(ErrorCode::MsgTimedOut), "{err}");
    let text = err.error.to_string();
    assert!(
        !text.contains("PAYLOAD"),
        "error text shows the payload: {text}"
    );
    assert!(text.contains("timed out"), "{text}");
    assert_eq!(err.record.value_bytes(), Some(&b"PAYLOAD-NOT-AN-ERROR"[..]));
}

// Who serves delivery reports: a task awaiting a delivery serves them on its
// own thread and becomes the queue's owner; the dispatcher takes over
// whenever the owner stops. These tests check that no report is left behind
// and that user callbacks still run on the dispatcher thread.

/// Waits (with a bound) until `done` holds, sleeping between checks.
async fn eventually(what: &str, limit: Duration, done: impl Fn() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[test]
fn reports_are_served_after_the_awaiting_task_is_gone() {
    let target = Target::mock(1);
    let topic = kafkit::Topic::new(target.topic("owner-gone", 3));
    let producer = Producer::new(&target.config()).expect("producer");
    let rt = common::runtime();
    // A task awaits deliveries, serving their reports itself, then ends.
    rt.block_on(async {
        for i in 0..20 {
            producer
                .send(Record::to(topic).value(format!("awaited {i}")))
                .await
                .expect("enqueue")
                .await
                .expect("delivered");
        }
    });
    drop(rt);
    // Records whose futures are dropped at once, from a thread without a
    // runtime: only the dispatcher can serve the last of their reports.
    for i in 0..500 {
        let delivery = producer
            .try_send(Record::to(topic).value(format!("detached {i}")))
            .expect("enqueue");
        drop(delivery);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while producer.in_flight() > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        producer.in_flight(),
        0,
        "reports left unserved after the owner task ended"
    );
}

#[tokio::test]
async fn callbacks_are_called_once_each_between_awaited_sends() {
    let target = Target::mock(1);
    let topic = kafkit::Topic::new(target.topic("callback-thread", 1));
    let producer = Producer::new(&target.config()).expect("producer");
    for i in 0..20 {
        producer
            .send(Record::to(topic).value(format!("awaited {i}")))
            .await
            .expect("enqueue")
            .await
            .expect("delivered");
    }
    let threads = Arc::new(Mutex::new(Vec::new()));
    let mut awaited = Vec::new();
    for i in 0..50 {
        let threads = threads.clone();
        producer
            .send_with_callback(Record::to(topic).value(format!("cb {i}")), move |r| {
                let name = std::thread::current().name().map(str::to_string);
                if let Ok(mut v) = threads.lock() {
                    v.push((name, r.is_ok()));
                }
            })
            .expect("enqueue");
        // Futures awaited in between give this task every chance to serve.
        awaited.push(
            producer
                .send(Record::to(topic).value(format!("future {i}")))
                .await
                .expect("enqueue"),
        );
    }
    for delivery in awaited {
        delivery.await.expect("delivered");
    }
    let count = || threads.lock().map(|v| v.len()).unwrap_or(0);
    eventually("50 callbacks", Duration::from_secs(10), || count() == 50).await;
    // Callbacks run on whichever thread serves the reports (this task's, or
    // the dispatcher), each exactly once.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let seen = threads.lock().map(|v| v.clone()).unwrap_or_default();
    assert_eq!(seen.len(), 50, "a callback was called twice");
    for (_, ok) in seen {
        assert!(ok, "a callback record failed");
    }
}

#[tokio::test]
async fn statistics_arrive_while_the_awaiting_task_is_idle() {
    let target = Target::mock(1);
    let topic = kafkit::Topic::new(target.topic("idle-owner", 1));
    let mut config = target.config();
    config
        .statistics_interval(Duration::from_millis(100))
        .expect("config");
    let reports = Arc::new(AtomicUsize::new(0));
    let seen = reports.clone();
    let producer = Producer::builder(&config)
        .on_statistics(move |_| {
            seen.fetch_add(1, Ordering::SeqCst);
        })
        .build()
        .expect("producer");
    // This task serves a report, becoming the owner, then only sleeps.
    producer
        .send(Record::to(topic).value("x"))
        .await
        .expect("enqueue")
        .await
        .expect("delivered");
    let before = reports.load(Ordering::SeqCst);
    eventually("3 statistics reports", Duration::from_secs(10), || {
        reports.load(Ordering::SeqCst) >= before + 3
    })
    .await;
}

#[test]
fn many_tasks_each_awaiting_their_own_deliveries() {
    let target = Target::mock(1);
    let topic = kafkit::Topic::new(target.topic("many-tasks", 3));
    let producer = Producer::new(&target.config()).expect("producer");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("runtime");
    let offsets = rt.block_on(async {
        let tasks: Vec<_> = (0..16)
            .map(|t| {
                let producer = producer.clone();
                tokio::spawn(async move {
                    let mut got = Vec::new();
                    for i in 0..300 {
                        let meta = producer
                            .send(Record::to(topic).value(format!("{t}/{i}")))
                            .await
                            .expect("enqueue")
                            .await
                            .expect("delivered");
                        got.push((meta.partition, meta.offset));
                    }
                    got
                })
            })
            .collect();
        // A bound against a hang, far above the normal run time.
        tokio::time::timeout(Duration::from_secs(120), async {
            let mut all = Vec::new();
            for task in tasks {
                all.extend(task.await.expect("task"));
            }
            all
        })
        .await
        .expect("every task finished")
    });
    assert_eq!(offsets.len(), 16 * 300);
    for (partition, list) in common::offsets_by_partition(offsets) {
        let expected: Vec<i64> = (0..list.len() as i64).collect();
        assert_eq!(list, expected, "partition {partition}");
    }
}

/// A waker that counts its wake-ups and unparks the thread that polls.
struct CountingWaker {
    wakes: AtomicUsize,
    thread: std::thread::Thread,
}

impl std::task::Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
        self.thread.unpark();
    }
}

#[test]
fn a_window_of_awaited_deliveries_costs_far_fewer_wake_ups_than_records() {
    use std::future::Future;
    let target = Target::mock(1);
    let topic = kafkit::Topic::new(target.topic("wake-ups", 3));
    let producer = Producer::new(&target.config()).expect("producer");
    let (n, window) = (50_000usize, 5_000usize);
    let counter = Arc::new(CountingWaker {
        wakes: AtomicUsize::new(0),
        thread: std::thread::current(),
    });
    let waker = std::task::Waker::from(counter.clone());
    let mut cx = std::task::Context::from_waker(&waker);
    // The benchmark's loop: send, and await the oldest delivery once
    // `window` are in flight; polled here by hand with the counting waker.
    let work = async {
        let mut in_flight = std::collections::VecDeque::with_capacity(window);
        let mut delivered = 0usize;
        for i in 0..n {
            let record = Record::to(topic).value(format!("record {i}"));
            in_flight.push_back(producer.send(record).await.expect("enqueue"));
            if in_flight.len() >= window {
                if let Some(oldest) = in_flight.pop_front() {
                    oldest.await.expect("delivered");
                    delivered += 1;
                }
            }
        }
        for delivery in in_flight {
            delivery.await.expect("delivered");
            delivered += 1;
        }
        delivered
    };
    let mut work = std::pin::pin!(work);
    let deadline = Instant::now() + Duration::from_secs(120);
    let delivered = loop {
        if let std::task::Poll::Ready(delivered) = work.as_mut().poll(&mut cx) {
            break delivered;
        }
        assert!(Instant::now() < deadline, "deliveries not done in time");
        std::thread::park_timeout(Duration::from_millis(100));
    };
    assert_eq!(delivered, n);
    let wakes = counter.wakes.load(Ordering::SeqCst);
    // A wake-up per record would be `n`; a task is woken only when the
    // delivery it waits for is not there yet, about once per batch.
    assert!(
        wakes * 20 < n,
        "{wakes} wake-ups for {n} records: more than one per 20 records"
    );
    eprintln!("{wakes} wake-ups for {n} records");
}

#[test]
fn in_flight_counts_records_from_threads_that_come_and_go() {
    let target = Target::mock(1);
    let topic = kafkit::Topic::new(target.topic("threads-come-and-go", 3));
    let mut config = target.config();
    // Records wait in librdkafka's queue until the flush below, so that the
    // count in flight is known exactly.
    config.set("linger.ms", "60000").expect("linger.ms");
    let producer = Producer::new(&config).expect("producer");
    let (waves, threads, per_thread) = (3, 6, 500);
    let mut deliveries = Vec::new();
    for wave in 0..waves {
        // Each wave's threads send and exit; the next wave's threads take
        // over their send counters, with the counts in them.
        let sent: Vec<_> = (0..threads)
            .map(|t| {
                let producer = producer.clone();
                std::thread::spawn(move || {
                    (0..per_thread)
                        .map(|i| {
                            let record = Record::to(topic).value(format!("{wave}/{t}/{i}"));
                            producer
                                .send_blocking(record, Duration::from_secs(10))
                                .expect("enqueue")
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for thread in sent {
            deliveries.extend(thread.join().expect("sending thread"));
        }
        assert_eq!(
            producer.in_flight(),
            (wave + 1) * threads * per_thread,
            "after wave {wave}"
        );
    }
    producer.flush(Duration::from_secs(30)).expect("flushed");
    assert_eq!(producer.in_flight(), 0);
    for mut delivery in deliveries {
        let delivered = delivery.wait(Duration::from_secs(30)).expect("in time");
        delivered.expect("delivered");
    }
}

/// Every broker error code the mock cluster can put in a Produce response,
/// injected once into an idempotent producer's first request: each record
/// is delivered, or fails with an error whose `is_retriable()` says what
/// librdkafka did with the code. A retriable delivery error means librdkafka
/// itself retries that code, so one injected error alone can never make a
/// record fail with it: a record that failed with the injected code must
/// not be called retriable (NETWORK_EXCEPTION, for one, fails its whole
/// batch at once in librdkafka 2.12).
#[tokio::test]
async fn delivery_errors_are_retriable_only_where_librdkafka_retries() {
    let target = Target::mock(1);
    let Target::Mock(cluster) = &target else {
        unreachable!()
    };
    let codes: Vec<ErrorCode> = kafkit::__librdkafka_error_table()
        .into_iter()
        .map(|(code, _, _)| ErrorCode::from_raw(code))
        .filter(|code| code.raw() > 0)
        .collect();
    assert!(codes.len() > 80, "only {} broker codes", codes.len());
    let mut failed_codes = Vec::new();
    let mut delivered_codes = 0;
    for code in codes {
        let topic = target.topic("inject", 1);
        let mut config = target.config();
        config
            .set("enable.idempotence", "true")
            .and_then(|c| c.set("message.timeout.ms", "10000"))
            .and_then(|c| c.set("retry.backoff.ms", "10"))
            .expect("config");
        let producer = Producer::new(&config).expect("producer");
        cluster.push_request_errors(kafkit::ApiKey::PRODUCE, &[code]);
        let mut futures = Vec::new();
        for i in 0..5 {
            futures.push(
                producer
                    .send(Record::to(topic.as_str()).value(format!("{i}")))
                    .await
                    .expect("enqueue"),
            );
        }
        let mut any_failed = false;
        for fut in futures {
            let Ok(result) = tokio::time::timeout(Duration::from_secs(30), fut).await else {
                panic!("{code:?}: no delivery report in 30 s");
            };
            if let Err(e) = result {
                any_failed = true;
                if e.error.code() == Some(code) {
                    assert!(
                        !e.error.is_retriable(),
                        "{code:?}: a record failed with it after a single injected error, \
                         yet the error is called retriable"
                    );
                }
            }
        }
        if any_failed {
            failed_codes.push(code);
        } else {
            delivered_codes += 1;
        }
        // Do not leave the injected error for the next producer.
        drop(producer);
    }
    eprintln!("delivered after one error: {delivered_codes} codes; failed: {failed_codes:?}");
    assert!(
        failed_codes.contains(&ErrorCode::NetworkException),
        "NETWORK_EXCEPTION no longer fails its batch: recheck the classification"
    );
    assert!(delivered_codes > 0);
}

#[tokio::test]
async fn a_header_name_with_a_nul_byte_is_refused_with_the_record_back() {
    let target = Target::mock(1);
    let topic = target.topic("nul-header", 1);
    let producer = Producer::new(&target.config()).expect("producer");
    let record = Record::to(topic.as_str()).value("v").header("a\0b", "x");
    let err = producer
        .send(record.clone())
        .await
        .expect_err("a NUL in a header name");
    assert_eq!(err.error.code(), Some(ErrorCode::InvalidArg));
    assert!(err.error.to_string().contains("NUL"), "{}", err.error);
    assert_eq!(err.record, record);
    // Nothing was sent.
    assert_eq!(producer.in_flight(), 0);
}

#[tokio::test]
async fn a_timestamp_of_zero_means_the_time_of_sending() {
    let target = Target::mock(1);
    let topic = target.topic("zero-timestamp", 1);
    let producer = Producer::new(&target.config()).expect("producer");
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    producer
        .send(Record::to(topic.as_str()).value("v").timestamp(0))
        .await
        .expect("enqueue")
        .await
        .expect("delivered");
    // The record as written (the mock's Produce response carries a made-up
    // append time, so read the record itself).
    let written = read_back(&target, &topic, 1, 1, Duration::from_secs(10));
    let millis = written[0].timestamp().millis().expect("a timestamp");
    assert!(
        millis >= before,
        "timestamp {millis} is before the send at {before}"
    );
}

#[test]
fn delivery_reports_for_errors_only_are_refused() {
    let target = Target::mock(1);
    let mut config = target.config();
    config
        .set("delivery.report.only.error", "true")
        .expect("a valid librdkafka property");
    let err = Producer::new(&config).expect_err("refused");
    assert!(
        err.to_string().contains("delivery.report.only.error"),
        "{err}"
    );
}

#[test]
fn the_delivery_handler_gets_each_record_once_with_its_opaque_and_topic() {
    let target = Target::mock(1);
    let topics = [target.topic("handler-a", 2), target.topic("handler-b", 1)];
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let producer = Producer::builder(&target.config())
        .on_delivery(move |result, opaque| {
            let topic = result.as_ref().map(|m| m.topic.to_string()).ok();
            if let Ok(mut v) = sink.lock() {
                v.push((opaque, topic));
            }
        })
        .build()
        .expect("producer");
    let n = 2000u64;
    for i in 0..n {
        let topic = &topics[(i % 3 == 0) as usize];
        producer
            .produce(Record::to(topic.as_str()).value(format!("{i}")), i)
            .expect("enqueue");
    }
    producer.flush(Duration::from_secs(30)).expect("flushed");
    let mut seen = seen.lock().map(|v| v.clone()).unwrap_or_default();
    seen.sort();
    assert_eq!(seen.len() as u64, n, "each record reported once");
    for (i, (opaque, topic)) in seen.into_iter().enumerate() {
        assert_eq!(opaque, i as u64);
        let want = &topics[(i % 3 == 0) as usize];
        assert_eq!(topic.as_deref(), Some(want.as_str()), "record {i}");
    }
    // Without a handler, produce() refuses and hands the record back.
    let plain = Producer::new(&target.config()).expect("producer");
    let err = plain
        .produce(Record::to(topics[0].as_str()).value("x"), 7)
        .expect_err("no handler");
    assert_eq!(err.error.code(), Some(ErrorCode::InvalidArg));
    assert_eq!(err.record.value_bytes(), Some(&b"x"[..]));
}
