//! Teardown from inside a delivery callback, and teardown racing tasks that
//! poll their delivery futures: bounded, nothing completed twice, every
//! future resolved, the client freed.
//!
//! In its own binary, because it counts the process's live librdkafka
//! clients.

mod common;

use std::collections::HashSet;
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

use common::{read_back, Target};
use kafkit::{Producer, Record};

/// The tests count the process's live clients: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

/// Waits until the live-client count is back to `baseline`.
fn clients_back_to(baseline: usize, within: Duration) {
    let deadline = Instant::now() + within;
    while kafkit::__live_clients() != baseline {
        assert!(
            Instant::now() < deadline,
            "{} live clients, expected {baseline}",
            kafkit::__live_clients()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn dropping_the_last_handle_inside_a_callback_returns_at_once() {
    let _serial = serial();
    let target = Target::mock(1);
    let topic = target.topic("drop-in-callback", 1);
    let baseline = kafkit::__live_clients();
    let producer = Producer::new(&target.config()).expect("producer");
    // Records in flight that teardown must still deliver.
    let futures: Vec<_> = (0..200)
        .map(|i| {
            producer
                .try_send(Record::to(topic.as_str()).value(format!("r{i}")))
                .expect("enqueue")
        })
        .collect();
    let (tx, rx) = mpsc::channel();
    let last = producer.clone();
    producer
        .send_with_callback(Record::to(topic.as_str()).value("last"), move |result| {
            let started = Instant::now();
            // The producer's last handle, dropped on the serving thread.
            drop(last);
            let _ = tx.send((result.is_ok(), started.elapsed()));
        })
        .expect("enqueue");
    drop(producer);
    let (delivered, took) = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the callback returned");
    assert!(delivered, "the callback's record failed");
    assert!(
        took < Duration::from_secs(1),
        "drop in a callback took {took:?}"
    );
    for (i, mut future) in futures.into_iter().enumerate() {
        let result = future.wait(Duration::from_secs(10)).expect("resolved");
        assert!(result.is_ok(), "record {i} failed: {result:?}");
    }
    clients_back_to(baseline, Duration::from_secs(10));
}

#[test]
fn flush_inside_a_callback_fails_at_once_and_says_why() {
    let _serial = serial();
    let target = Target::mock(1);
    let topic = target.topic("flush-in-callback", 1);
    let producer = Producer::new(&target.config()).expect("producer");
    let (tx, rx) = mpsc::channel();
    let inner = producer.clone();
    producer
        .send_with_callback(Record::to(topic.as_str()).value("x"), move |_| {
            let started = Instant::now();
            let flushed = inner.flush(Duration::from_secs(10));
            let _ = tx.send((flushed.map_err(|e| e.to_string()), started.elapsed()));
        })
        .expect("enqueue");
    let (flushed, took) = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the callback returned");
    let message = flushed.expect_err("flush inside a callback cannot wait");
    assert!(message.contains("delivery callback"), "{message}");
    assert!(took < Duration::from_millis(500), "flush took {took:?}");
    // Outside the callback, flush works.
    producer.flush(Duration::from_secs(10)).expect("flushed");
}

#[test]
fn drop_while_other_threads_poll_their_futures_completes_each_record_once() {
    let _serial = serial();
    let target = Target::mock(1);
    let topic = target.topic("drop-racing-futures", 1);
    let baseline = kafkit::__live_clients();
    let producer = Producer::new(&target.config()).expect("producer");
    let n = 20_000;
    let mut futures: Vec<_> = (0..n)
        .map(|i| {
            producer
                .send_blocking(
                    Record::to(topic.as_str()).value(format!("r{i}")),
                    Duration::from_secs(10),
                )
                .expect("enqueue")
        })
        .collect();
    // Four threads poll their share of the futures while the producer is
    // dropped: teardown and their polls race for the same slots.
    let mut pollers = Vec::new();
    for _ in 0..4 {
        let share: Vec<_> = futures.drain(..n / 4).collect();
        pollers.push(std::thread::spawn(move || {
            share
                .into_iter()
                .map(|mut f| match f.wait(Duration::from_secs(30)) {
                    Some(Ok(meta)) => Ok(meta.offset),
                    Some(Err(e)) => Err(e.error.to_string()),
                    None => Err("not resolved in 30 s".to_string()),
                })
                .collect::<Vec<_>>()
        }));
    }
    drop(producer);
    let mut offsets = HashSet::new();
    for poller in pollers {
        for result in poller.join().expect("poller") {
            let offset = result.expect("a delivered record resolved as a failure");
            assert!(offsets.insert(offset), "offset {offset} twice");
        }
    }
    assert_eq!(offsets.len(), n);
    clients_back_to(baseline, Duration::from_secs(10));
    // What the futures say matches the log.
    let written = read_back(&target, &topic, 1, n, Duration::from_secs(30));
    assert_eq!(written.len(), n);
}
