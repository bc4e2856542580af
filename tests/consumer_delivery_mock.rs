//! Delivery guarantees of every read path while librdkafka holds far more
//! than the application has read, on the mock cluster: at-least-once across
//! a crash, rebalances, seek and pause, the end of a partition, and fetch
//! errors injected by the mock. The scenarios that need no mock are shared
//! with the real-broker tier (tests/consumer_delivery_broker.rs).

mod common;

use std::time::{Duration, Instant};

use common::delivery_scenarios::{self as scenario, Api, Expected, Protocol, Reader};
use common::{unique, Target};
use kafkit::{ApiKey, Consumer, ErrorCode, Offset, OffsetReset};

#[test]
fn at_least_once_across_a_crash_through_stream() {
    if scenario::crash_child() {
        return;
    }
    scenario::at_least_once_across_a_crash(
        &scenario::mock(),
        "at_least_once_across_a_crash_through_stream",
        Api::Stream,
    );
}

#[test]
fn at_least_once_across_a_crash_through_iter() {
    if scenario::crash_child() {
        return;
    }
    scenario::at_least_once_across_a_crash(
        &scenario::mock(),
        "at_least_once_across_a_crash_through_iter",
        Api::Iter,
    );
}

#[test]
fn eager_rebalance_with_a_full_queue() {
    scenario::rebalance_with_a_full_queue(&scenario::mock(), Protocol::Eager);
}

#[test]
fn cooperative_rebalance_with_a_full_queue() {
    scenario::rebalance_with_a_full_queue(&scenario::mock(), Protocol::Cooperative);
}

#[test]
fn kip848_rebalance_with_a_full_queue() {
    scenario::rebalance_with_a_full_queue(&scenario::mock(), Protocol::Consumer);
}

#[test]
fn seek_and_pause_with_a_full_queue_through_poll() {
    scenario::seek_and_pause_with_a_full_queue(&scenario::mock(), Api::Poll);
}

#[test]
fn seek_and_pause_with_a_full_queue_through_recv() {
    scenario::seek_and_pause_with_a_full_queue(&scenario::mock(), Api::Recv);
}

#[test]
fn seek_and_pause_with_a_full_queue_through_iter() {
    scenario::seek_and_pause_with_a_full_queue(&scenario::mock(), Api::Iter);
}

#[test]
fn seek_and_pause_with_a_full_queue_through_stream() {
    scenario::seek_and_pause_with_a_full_queue(&scenario::mock(), Api::Stream);
}

#[test]
fn eof_at_the_high_watermark_through_consume_batch() {
    scenario::eof_at_the_high_watermark(&scenario::mock(), Api::ConsumeBatch);
}

#[test]
fn eof_at_the_high_watermark_through_batches() {
    scenario::eof_at_the_high_watermark(&scenario::mock(), Api::Batches);
}

#[test]
fn eof_at_the_high_watermark_through_stream() {
    scenario::eof_at_the_high_watermark(&scenario::mock(), Api::Stream);
}

#[test]
fn eof_at_the_high_watermark_through_iter() {
    scenario::eof_at_the_high_watermark(&scenario::mock(), Api::Iter);
}

/// What librdkafka does with an injected fetch error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Injected {
    /// NOT_LEADER_OR_FOLLOWER and UNKNOWN_TOPIC_OR_PART: librdkafka
    /// refreshes metadata and fetches again.
    Retried,
    /// INVALID_MSG (CORRUPT_MESSAGE): reported to the application, then
    /// fetched again from the same offset.
    Reported,
    /// OFFSET_OUT_OF_RANGE with `auto.offset.reset=error`: reported as
    /// `_AUTO_OFFSET_RESET`, and the partition stops until the application
    /// assigns it again; here from the offset after the last message it
    /// read.
    OutOfRange,
}

/// Two partitions of 1500 messages, fetched a little at a time (the mock
/// answers each fetch with one producer batch, here of 25 records, and the
/// queue is kept short), so that errors injected while reading hit the
/// middle of the log. Every message must be read once, in order; errors
/// that reach the application come as `Err` items, and when one does,
/// `position()` and the offset `commit()` stores are still the offset after
/// the last message handed out.
fn fetch_errors(api: Api, injected: Injected) {
    const PER_PARTITION: i64 = 1500;
    let target = scenario::mock();
    let Target::Mock(cluster) = &target else {
        unreachable!()
    };
    let topic = target.topic("fetch-errors", 2);
    scenario::fill_in_small_batches(&target, &topic, 2, PER_PARTITION as usize, 25);
    let mut config = target.config();
    config
        .group_id(&unique("g-fetch-errors"))
        .and_then(|c| c.enable_auto_commit(false))
        .and_then(|c| c.set("queued.min.messages", "20"))
        .and_then(|c| c.set("fetch.queue.backoff.ms", "5"))
        .expect("config");
    // After a reported error librdkafka fetches the partition again once
    // this backoff is over: longer than a batch read waits, so the error
    // ends its batch rather than being followed by the retried messages.
    let backoff = if injected == Injected::Reported {
        "300"
    } else {
        "20"
    };
    config
        .set("fetch.error.backoff.ms", backoff)
        .expect("config");
    if std::env::var("DEBUG_FETCH").is_ok() {
        config
            .set("debug", "fetch,consumer,topic,metadata")
            .unwrap();
        let _ = tracing_subscriber::fmt()
            .with_max_level(tracing_subscriber::filter::LevelFilter::DEBUG)
            .with_test_writer()
            .try_init();
    }
    if injected == Injected::OutOfRange {
        config
            .auto_offset_reset(OffsetReset::Error)
            .expect("config");
    }
    let codes: &[ErrorCode] = match injected {
        Injected::Retried => &[
            ErrorCode::NotLeaderForPartition,
            ErrorCode::UnknownTopicOrPart,
        ],
        Injected::Reported => &[ErrorCode::InvalidMsg],
        Injected::OutOfRange => &[ErrorCode::OffsetOutOfRange],
    };
    let consumer = Consumer::new(&config).expect("consumer");
    consumer
        .assign(&[(&topic, 0, Offset::At(0)), (&topic, 1, Offset::At(0))])
        .expect("assign");
    let mut reader = Reader::new(&consumer, api);
    let mut expected = Expected::from_start(2);
    // Inject when this many messages have been read.
    let mut inject_at = vec![300, 1000, 1700];
    let mut read = 0;
    let mut errors: Vec<String> = Vec::new();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(30);
    while expected.next[&0] < PER_PARTITION || expected.next[&1] < PER_PARTITION {
        assert!(
            Instant::now() < deadline,
            "read only to {:?}; errors: {errors:?}",
            expected.next
        );
        if inject_at.first().is_some_and(|n| read >= *n) {
            inject_at.remove(0);
            cluster.push_request_errors(ApiKey::FETCH, codes);
        }
        match reader.next(Duration::from_millis(500)) {
            Some(Ok(m)) => {
                expected.take(&m);
                read += 1;
            }
            Some(Err(e)) => {
                errors.push(e.to_string());
                let want = match injected {
                    Injected::Retried => None,
                    Injected::Reported => Some(ErrorCode::InvalidMsg),
                    Injected::OutOfRange => Some(ErrorCode::AutoOffsetReset),
                };
                if want.is_some_and(|w| e.code() != Some(w)) {
                    expected
                        .problems
                        .push(format!("expected a {want:?} error, got: {e}"));
                }
                let when = format!("at the error \"{e}\"");
                expected.check_positions(&consumer, &topic, &when);
                expected.check_commit(&consumer, &topic, &when);
                if injected == Injected::OutOfRange {
                    // The partition's fetcher has stopped, and librdkafka
                    // refuses to seek it: assign again from the offsets
                    // after the last messages handed out.
                    let next: Vec<(i32, i64)> =
                        expected.next.iter().map(|(p, o)| (*p, *o)).collect();
                    let offsets: Vec<(&str, i32, Offset)> = next
                        .iter()
                        .map(|(p, o)| (topic.as_str(), *p, Offset::At(*o)))
                        .collect();
                    consumer.assign(&offsets).expect("assign after the error");
                    for (p, o) in next {
                        expected.restart(p, o);
                    }
                }
            }
            None => {}
        }
    }
    assert!(reader.drained());
    expected.check_positions(&consumer, &topic, "at the end");
    expected.check_commit(&consumer, &topic, "at the end");
    match reader.next(Duration::from_millis(300)) {
        Some(Ok(m)) => expected.problems.push(format!(
            "read past the end: {}@{}",
            m.partition(),
            m.offset()
        )),
        Some(Err(e)) => errors.push(e.to_string()),
        None => {}
    }
    println!(
        "{injected:?} through {}: {read} messages in {:?}, {} error(s) reported{}",
        api.name(),
        started.elapsed(),
        errors.len(),
        errors
            .iter()
            .map(|e| format!("\n  {e}"))
            .collect::<String>()
    );
    if injected != Injected::Retried {
        assert!(
            errors.len() >= 3,
            "the injected errors did not reach the application: {errors:?}"
        );
    }
    expected.assert_clean(&format!("{injected:?} fetch errors through {}", api.name()));
}

#[test]
fn retried_fetch_errors_through_stream() {
    fetch_errors(Api::Stream, Injected::Retried);
}

#[test]
fn retried_fetch_errors_through_consume_batch() {
    fetch_errors(Api::ConsumeBatch, Injected::Retried);
}

#[test]
fn reported_fetch_errors_through_poll() {
    fetch_errors(Api::Poll, Injected::Reported);
}

#[test]
fn reported_fetch_errors_through_stream() {
    fetch_errors(Api::Stream, Injected::Reported);
}

#[test]
fn reported_fetch_errors_through_consume_batch() {
    fetch_errors(Api::ConsumeBatch, Injected::Reported);
}

#[test]
fn reported_fetch_errors_through_batches() {
    fetch_errors(Api::Batches, Injected::Reported);
}

#[test]
fn offset_out_of_range_through_iter() {
    fetch_errors(Api::Iter, Injected::OutOfRange);
}

#[test]
fn offset_out_of_range_through_consume_batch() {
    fetch_errors(Api::ConsumeBatch, Injected::OutOfRange);
}
