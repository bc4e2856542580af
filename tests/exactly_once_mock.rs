//! The consume-transform-produce helper on librdkafka's mock cluster: what
//! happens when the abort of a failed batch cannot reach the transaction
//! coordinator in time.

mod common;

use std::time::Duration;

use common::txn_scenarios::TIMEOUT;
use common::{unique, Target};
use kafkit::{BatchOutcome, Consumer, Error, ErrorCode, ExactlyOnce, Producer, Record};

const INPUTS: usize = 20;

/// A batch fails, and its abort times out (every broker is down; the
/// helper tries for 1 s, ten times). The error is returned; the next call finishes
/// the abort and rewinds before it reads, so the same inputs come again
/// and are committed: none is skipped.
#[test]
fn mock_exactly_once_finishes_a_timed_out_abort_before_reading_on() {
    let target = Target::mock(3);
    let Target::Mock(mock) = &target else {
        unreachable!("a mock target")
    };
    let input = target.topic("eos-abort-in", 1);
    let output = target.topic("eos-abort-out", 1);
    let producer = Producer::new(&target.config()).expect("producer");
    for n in 0..INPUTS {
        drop(
            producer
                .send_blocking(Record::to(input.as_str()).value(n.to_string()), TIMEOUT)
                .expect("send"),
        );
    }
    producer.flush(TIMEOUT).expect("flush");

    let mut consumer_config = target.config();
    consumer_config
        .group_id(&unique("eos-abort-group"))
        .and_then(|c| c.enable_auto_commit(false))
        .and_then(|c| c.set("auto.offset.reset", "earliest"))
        .expect("consumer config");
    let consumer = Consumer::new(&consumer_config).expect("consumer");
    consumer.subscribe(&[input.as_str()]).expect("subscribe");
    let mut producer_config = target.config();
    producer_config
        .set("transactional.id", unique("eos-abort-txn"))
        .expect("transactional.id");
    let txn = Producer::new(&producer_config).expect("transactional producer");
    let eos = ExactlyOnce::new(consumer, txn, Duration::from_secs(1)).expect("init");

    // Read until the first batch arrives. Its first input makes a record
    // (so the transaction has a partition the coordinator must be told to
    // abort); the second takes every broker down and fails.
    let mut first_offsets = Vec::new();
    let failed = loop {
        let outcome = eos.process(100, Duration::from_millis(500), |m| {
            first_offsets.push(m.offset());
            if first_offsets.len() == 1 {
                return Ok(vec![Record::to(output.as_str()).value("lost")]);
            }
            // Once that record is delivered (its partition is in the
            // transaction on the coordinator's side), no broker answers.
            let deadline = std::time::Instant::now() + TIMEOUT;
            while eos.producer().in_flight() > 0 {
                assert!(
                    std::time::Instant::now() < deadline,
                    "the record was not delivered"
                );
                std::thread::sleep(Duration::from_millis(5));
            }
            for broker in 1..=3 {
                mock.broker_down(broker).expect("broker down");
            }
            Err(Error::InvalidArgument("the transform fails".into()))
        });
        match outcome {
            Ok(BatchOutcome::Empty) => continue,
            other => break other,
        }
    };
    let err = failed.expect_err("the abort cannot finish without brokers");
    eprintln!("abort with the brokers down: {err}");
    assert_eq!(err.code(), Some(ErrorCode::TimedOut), "{err}");
    assert_eq!(
        first_offsets,
        vec![0, 1],
        "the transform failed at the second input"
    );

    // The brokers are back: the next calls abort, rewind and read the
    // same inputs from the first one.
    for broker in 1..=3 {
        mock.broker_up(broker).expect("broker up");
    }
    let mut offsets = Vec::new();
    let mut committed = 0;
    let mut empty = 0;
    while committed < INPUTS && empty < 20 {
        match eos
            .process(100, Duration::from_millis(500), |m| {
                offsets.push(m.offset());
                Ok(vec![
                    Record::to(output.as_str()).value(m.value().unwrap_or_default().to_vec())
                ])
            })
            .expect("a batch after the abort")
        {
            BatchOutcome::Committed { inputs, outputs } => {
                assert_eq!(inputs, outputs);
                committed += inputs;
            }
            BatchOutcome::Empty => empty += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    let expected: Vec<i64> = (0..INPUTS as i64).collect();
    assert_eq!(offsets, expected, "every input once, from the first");
    assert_eq!(committed, INPUTS);
}
