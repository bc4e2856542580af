//! The consume-transform-produce helper on the real broker: every input
//! number reaches the output exactly once, across an aborted transaction
//! (a transform that fails once) and a restart of the processing instance.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::txn_scenarios::{read_values, TIMEOUT};
use common::{unique, Target};
use kafkit::{BatchOutcome, Consumer, Error, ExactlyOnce, Offset, Producer, Record};

const INPUTS: usize = 300;

fn instance(target: &Target, group: &str, txn_id: &str, input: &str) -> ExactlyOnce {
    let mut consumer_config = target.config();
    consumer_config
        .group_id(group)
        .and_then(|c| c.enable_auto_commit(false))
        .and_then(|c| c.set("auto.offset.reset", "earliest"))
        .expect("consumer config");
    let consumer = Consumer::new(&consumer_config).expect("consumer");
    consumer.subscribe(&[input]).expect("subscribe");
    let mut producer_config = target.config();
    producer_config
        .set("transactional.id", txn_id)
        .expect("transactional.id");
    let producer = Producer::new(&producer_config).expect("producer");
    ExactlyOnce::new(consumer, producer, TIMEOUT).expect("init transactions")
}

/// Runs until `stop_after` inputs were committed (or the input is done).
fn run(eos: &ExactlyOnce, output: &str, stop_after: usize, fail_at: &mut Option<i64>) -> usize {
    let mut committed = 0;
    let mut empty = 0;
    while committed < stop_after && empty < 20 {
        let outcome = eos.process(40, Duration::from_millis(250), |m| {
            let n: i64 = m.value_str().unwrap_or("").parse().expect("a number");
            if *fail_at == Some(n) {
                *fail_at = None;
                return Err(Error::InvalidArgument(format!(
                    "transform fails once at {n}"
                )));
            }
            Ok(vec![Record::to(output).value(format!("{n}:{}", n * n))])
        });
        match outcome {
            Ok(BatchOutcome::Committed { inputs, outputs }) => {
                assert_eq!(inputs, outputs);
                committed += inputs;
                empty = 0;
            }
            Ok(BatchOutcome::Empty) => empty += 1,
            Ok(other) => panic!("unexpected {other:?}"),
            Err(e) => assert!(e.to_string().contains("fails once"), "{e}"),
        }
    }
    committed
}

#[test]
fn broker_exactly_once_every_input_once_across_an_abort_and_a_restart() {
    let Some(target) = Target::broker("broker_exactly_once") else {
        return;
    };
    let input = target.topic("eos-in", 1);
    let output = target.topic("eos-out", 1);
    let producer = Producer::new(&target.config()).expect("producer");
    let deliveries: Vec<_> = (0..INPUTS)
        .map(|n| {
            producer
                .send_blocking(Record::to(input.as_str()).value(n.to_string()), TIMEOUT)
                .expect("send")
        })
        .collect();
    for mut d in deliveries {
        d.wait(TIMEOUT).expect("in time").expect("delivered");
    }
    let group = unique("eos-group");
    let txn_id = unique("eos-txn");

    // The first instance fails once in the middle of a batch, then stops
    // after about half the input, as if it were stopped.
    let first = instance(&target, &group, &txn_id, &input);
    let mut fail_at = Some(100);
    let half = run(&first, &output, INPUTS / 2, &mut fail_at);
    assert!(fail_at.is_none(), "the failing transform was reached");
    assert!((INPUTS / 2..INPUTS).contains(&half), "{half}");
    first.consumer().close().expect("close");
    drop(first);

    // A new instance with the same transactional id and group goes on.
    let second = instance(&target, &group, &txn_id, &input);
    let rest = run(&second, &output, INPUTS - half, &mut None);
    assert_eq!(half + rest, INPUTS, "every input committed once");
    second.consumer().close().expect("close");

    let values = read_values(&target, &output, "read_committed", INPUTS);
    let mut seen: BTreeMap<i64, usize> = BTreeMap::new();
    for v in &values {
        let n: i64 = v.split(':').next().unwrap().parse().unwrap();
        *seen.entry(n).or_default() += 1;
    }
    let missing: Vec<i64> = (0..INPUTS as i64)
        .filter(|n| !seen.contains_key(n))
        .collect();
    let twice: Vec<(&i64, &usize)> = seen.iter().filter(|(_, c)| **c > 1).collect();
    assert!(missing.is_empty(), "missing: {missing:?}");
    assert!(twice.is_empty(), "more than once: {twice:?}");
    assert_eq!(values.len(), INPUTS);

    // The group's committed offset went with the transactions.
    let committed = Consumer::new(&{
        let mut c = target.config();
        c.group_id(&group)
            .and_then(|c| c.set("isolation.level", "read_uncommitted"))
            .expect("config");
        c
    })
    .expect("consumer")
    .committed(&[(input.as_str(), 0)], TIMEOUT)
    .expect("committed");
    assert_eq!(committed[0].offset, Offset::At(INPUTS as i64));
}
