//! Dropping and closing a producer with undelivered records: bounded time,
//! a report of what was lost, futures resolved, and every handle freed.
//!
//! One test in its own binary, because it counts the process's live
//! librdkafka clients.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::Target;
use kafkit::{ErrorCode, Producer, Record};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut v) = self.0.lock() {
            v.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        self.0
            .lock()
            .map(|v| String::from_utf8_lossy(&v).into_owned())
            .unwrap_or_default()
    }
}

/// A producer whose broker is down, holding `n` undelivered records.
async fn stuck_producer(
    target: &Target,
    topic: &str,
    n: usize,
) -> (Producer, Vec<kafkit::DeliveryFuture>) {
    let Target::Mock(cluster) = target else {
        unreachable!()
    };
    let mut config = target.config();
    config
        .close_timeout(Duration::from_millis(500))
        .expect("config");
    let producer = Producer::new(&config).expect("producer");
    producer
        .send(Record::to(topic).value("warmup"))
        .await
        .expect("enqueue")
        .await
        .expect("delivered");
    cluster.broker_down(1).expect("down");
    let mut futures = Vec::new();
    for i in 0..n {
        futures.push(
            producer
                .send(Record::to(topic).value(format!("r{i}")))
                .await
                .expect("enqueue"),
        );
    }
    (producer, futures)
}

async fn assert_all_purged(futures: Vec<kafkit::DeliveryFuture>) {
    for (i, fut) in futures.into_iter().enumerate() {
        let err = tokio::time::timeout(Duration::from_secs(5), fut)
            .await
            .expect("a future left hanging")
            .expect_err("undelivered");
        assert!(
            matches!(
                err.error.code(),
                Some(ErrorCode::PurgeQueue | ErrorCode::PurgeInflight | ErrorCode::Destroy)
            ),
            "{err}"
        );
        assert_eq!(err.record.value_bytes(), Some(format!("r{i}").as_bytes()));
    }
}

#[tokio::test]
async fn drop_and_close_are_bounded_report_losses_and_free_everything() {
    let logs = Captured::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();

    let target = Target::mock(1);
    let Target::Mock(cluster) = &target else {
        unreachable!()
    };
    let baseline = kafkit::__live_clients();
    let topic = target.topic("drop", 1);

    // Drop: bounded, logs the count, resolves the futures, frees the client.
    let (producer, futures) = stuck_producer(&target, &topic, 1000).await;
    assert_eq!(kafkit::__live_clients(), baseline + 1);
    let started = Instant::now();
    drop(producer);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(4), "drop took {took:?}");
    assert!(
        took >= Duration::from_millis(450),
        "drop did not try to deliver: {took:?}"
    );
    assert!(
        logs.text().contains("1000 records were not delivered"),
        "log was: {}",
        logs.text()
    );
    // The futures hold no reference to the client: it is freed with the
    // last handle, before they are awaited.
    assert_eq!(
        kafkit::__live_clients(),
        baseline,
        "client not freed while delivery futures remain"
    );
    assert_all_purged(futures).await;

    // close(): same, returning the count; later sends fail; drop is then quick.
    cluster.broker_up(1).expect("up");
    let (producer, futures) = stuck_producer(&target, &topic, 300).await;
    let undelivered = producer.close(Duration::from_millis(300));
    assert_eq!(undelivered, 300);
    assert_all_purged(futures).await;
    let err = producer
        .send(Record::to(topic.as_str()).value("late"))
        .await
        .expect_err("closed");
    assert_eq!(err.record.value_bytes(), Some(&b"late"[..]));
    let started = Instant::now();
    drop(producer);
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(kafkit::__live_clients(), baseline, "client not freed");

    // A producer with everything delivered drops at once, silently.
    cluster.broker_up(1).expect("up");
    let before = logs.text().matches("not delivered").count();
    let producer = Producer::new(&target.config()).expect("producer");
    producer
        .send(Record::to(topic.as_str()).value("fine"))
        .await
        .expect("enqueue")
        .await
        .expect("delivered");
    let started = Instant::now();
    drop(producer);
    assert!(started.elapsed() < Duration::from_millis(500));
    assert_eq!(logs.text().matches("not delivered").count(), before);
    assert_eq!(kafkit::__live_clients(), baseline);
}
