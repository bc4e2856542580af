//! Transaction scenarios run against the mock cluster and the real broker.

use std::time::{Duration, Instant};

use kafkit::{Consumer, ErrorCode, Offset, Producer, Record, TxnAction};

use super::{unique, Target};

pub const TIMEOUT: Duration = Duration::from_secs(30);

/// A transactional producer with a fresh `transactional.id`, initialized.
pub fn txn_producer(target: &Target, id: &str) -> Producer {
    let mut config = target.config();
    config
        .set("transactional.id", id)
        .expect("transactional.id");
    let producer = Producer::new(&config).expect("producer");
    producer
        .init_transactions(TIMEOUT)
        .expect("init_transactions");
    producer
}

/// Every value in `topic` partition 0, read from the beginning with the
/// given isolation level until `expected` values arrived and then nothing
/// more for a moment (or the deadline passed).
pub fn read_values(target: &Target, topic: &str, isolation: &str, expected: usize) -> Vec<String> {
    let mut config = target.config();
    config
        .group_id(&unique("txn-reader"))
        .and_then(|c| c.enable_auto_commit(false))
        .and_then(|c| c.set("isolation.level", isolation))
        .expect("consumer config");
    let consumer = Consumer::new(&config).expect("consumer");
    consumer
        .assign(&[(topic, 0, Offset::Beginning)])
        .expect("assign");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut out = Vec::new();
    while out.len() < expected && Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => out.push(m.value_str().unwrap_or("").to_string()),
            Some(Err(e)) => panic!("consumer error: {e}"),
            None => {}
        }
    }
    // Anything beyond what was expected is wrong: look a little longer.
    let quiet = Instant::now() + Duration::from_millis(500);
    while Instant::now() < quiet {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(100)) {
            out.push(m.value_str().unwrap_or("").to_string());
        }
    }
    out
}

fn send_values(producer: &Producer, topic: &str, values: &[&str]) -> Vec<kafkit::DeliveryFuture> {
    values
        .iter()
        .map(|v| {
            producer
                .send_blocking(Record::to(topic).value(v.as_bytes().to_vec()), TIMEOUT)
                .expect("send")
        })
        .collect()
}

/// Commits one transaction, aborts the next, commits a third; returns the
/// values of the committed ones in order and of the aborted one. With
/// `written`, the aborted records are delivered (written to the log)
/// before the abort; otherwise the producer holds them back (`linger.ms`)
/// and the abort purges them.
pub fn commit_then_abort(
    target: &Target,
    topic: &str,
    written: bool,
) -> (Vec<String>, Vec<String>) {
    let mut config = target.config();
    config
        .set("transactional.id", unique("txn-commit-abort"))
        .and_then(|c| c.set("linger.ms", if written { "5" } else { "30000" }))
        .expect("config");
    let producer = Producer::new(&config).expect("producer");
    producer
        .init_transactions(TIMEOUT)
        .expect("init_transactions");
    producer.begin_transaction().expect("begin 1");
    let first = send_values(&producer, topic, &["c1", "c2", "c3"]);
    producer.commit_transaction(TIMEOUT).expect("commit 1");
    // The commit waited for every delivery: no one polled these futures,
    // the dispatcher served their reports.
    for f in first {
        let meta = futures::executor::block_on(f).expect("delivered in the committed transaction");
        assert_eq!(meta.partition, 0);
    }
    producer.begin_transaction().expect("begin 2");
    let aborted = send_values(&producer, topic, &["a1", "a2"]);
    if written {
        for f in aborted {
            futures::executor::block_on(f).expect("delivered before the abort");
        }
        producer.abort_transaction(TIMEOUT).expect("abort");
    } else {
        producer.abort_transaction(TIMEOUT).expect("abort");
        for f in aborted {
            let err = futures::executor::block_on(f).expect_err("purged by the abort");
            assert_eq!(
                err.error.code(),
                Some(ErrorCode::PurgeQueue),
                "{}",
                err.error
            );
        }
    }
    producer.begin_transaction().expect("begin 3");
    let _ = send_values(&producer, topic, &["c4"]);
    producer.commit_transaction(TIMEOUT).expect("commit 3");
    (
        vec!["c1".into(), "c2".into(), "c3".into(), "c4".into()],
        vec!["a1".into(), "a2".into()],
    )
}

/// The group's committed offset for `input` partition 0: after
/// `send_offsets_to_transaction` (before the commit), after an abort, and
/// after a commit of offset 3; and the group's name.
pub fn offsets_with_transaction(
    target: &Target,
    input: &str,
    output: &str,
) -> ([Offset; 3], String) {
    let group = unique("txn-group");
    let mut config = target.config();
    config
        .group_id(&group)
        .and_then(|c| c.enable_auto_commit(false))
        .expect("consumer config");
    let consumer = Consumer::new(&config).expect("consumer");
    consumer
        .assign(&[(input, 0, Offset::Beginning)])
        .expect("assign");
    // A read_committed consumer (the default) asks for stable offsets
    // (KIP-447): while a transaction holds offsets of the group, the broker
    // answers UNSTABLE_OFFSET_COMMIT and librdkafka retries until its
    // timeout. A read_uncommitted one gets the last committed offset at
    // once, so it looks at the group while the transaction is open.
    let peeker = {
        let mut c = target.config();
        c.group_id(&group)
            .and_then(|c| c.enable_auto_commit(false))
            .and_then(|c| c.set("isolation.level", "read_uncommitted"))
            .expect("consumer config");
        Consumer::new(&c).expect("consumer")
    };
    let committed = |consumer: &Consumer| {
        consumer
            .committed(&[(input, 0)], TIMEOUT)
            .expect("committed")[0]
            .offset
    };
    assert_eq!(committed(&consumer), Offset::Invalid);
    let meta = consumer.group_metadata().expect("group metadata");
    let producer = txn_producer(target, &unique("txn-offsets"));

    producer.begin_transaction().expect("begin");
    let _ = send_values(&producer, output, &["x"]);
    producer
        .send_offsets_to_transaction(&[(input, 0, Offset::At(3))], &meta, TIMEOUT)
        .expect("send offsets");
    let pending = committed(&peeker);
    producer.abort_transaction(TIMEOUT).expect("abort");
    let after_abort = committed(&consumer);

    producer.begin_transaction().expect("begin");
    let _ = send_values(&producer, output, &["y"]);
    futures::executor::block_on(producer.send_offsets_to_transaction_async(
        &[(input, 0, Offset::At(3))],
        consumer.group_metadata().expect("group metadata"),
        TIMEOUT,
    ))
    .expect("send offsets (async)");
    producer.commit_transaction(TIMEOUT).expect("commit");
    ([pending, after_abort, committed(&consumer)], group)
}

/// A second producer with the same `transactional.id` fences the first:
/// the first's next transactional call is a fatal error saying so.
pub fn fencing(target: &Target, topic: &str) -> kafkit::Error {
    let id = unique("txn-fence");
    let old = txn_producer(target, &id);
    old.begin_transaction().expect("begin (old)");
    let _ = send_values(&old, topic, &["old"]);
    let new = txn_producer(target, &id);
    new.begin_transaction().expect("begin (new)");
    let _ = send_values(&new, topic, &["new"]);
    new.commit_transaction(TIMEOUT).expect("commit (new)");

    let err = old
        .commit_transaction(TIMEOUT)
        .expect_err("the fenced producer's commit must fail");
    assert_eq!(err.txn_action(), TxnAction::Fatal, "{err}");
    assert!(err.is_fatal(), "{err}");
    assert!(
        matches!(
            err.code(),
            Some(ErrorCode::Fenced | ErrorCode::ProducerFenced | ErrorCode::InvalidProducerEpoch)
        ),
        "{err}"
    );
    assert!(
        old.fatal_error().is_some(),
        "the old producer is in a fatal state"
    );
    // Once fatal, every call says so at once.
    let started = Instant::now();
    let again = old.begin_transaction().expect_err("begin after fencing");
    assert!(again.is_fatal(), "{again}");
    assert!(started.elapsed() < Duration::from_secs(1));
    err
}
