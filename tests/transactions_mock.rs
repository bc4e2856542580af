//! Transactions on librdkafka's mock cluster (which implements the
//! transaction coordinator, transactional offset commits and
//! `read_committed` fetching).

mod common;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::txn_scenarios::{self, read_values, txn_producer, TIMEOUT};
use common::{unique, Target};
use kafkit::{Consumer, Error, ErrorCode, Offset, Producer, Record, TxnAction};

/// Three brokers, as librdkafka's own transaction tests use (the mock's
/// transaction state log wants a replication factor of 3).
fn cluster() -> Target {
    Target::mock(3)
}

// What the mock cluster does not do, so the broker tier tests it
// (tests/transactions_broker.rs): it does not filter aborted records for
// `read_committed` fetches (no last stable offset, no aborted transaction
// list), does not store the offsets of a TxnOffsetCommit, and does not fence
// an older producer when a newer one with the same `transactional.id`
// initializes.

/// Committed records reach a `read_committed` consumer; records an abort
/// purged before they were sent never reach the log.
#[test]
fn mock_txn_commit_is_visible_and_abort_is_hidden() {
    let target = cluster();
    let topic = target.topic("txn-visible", 1);
    let (committed, _) = txn_scenarios::commit_then_abort(&target, &topic, false);
    let seen = read_values(&target, &topic, "read_committed", committed.len());
    assert_eq!(
        seen, committed,
        "read_committed sees exactly the committed records"
    );
    let all = read_values(&target, &topic, "read_uncommitted", committed.len());
    assert_eq!(all, committed, "the aborted records were never written");
}

/// send_offsets_to_transaction is accepted inside a transaction and commits
/// nothing before the commit or with an abort (the mock stores nothing for
/// the commit either; the broker test checks that).
#[test]
fn mock_txn_send_offsets_commits_nothing_before_the_commit() {
    let target = cluster();
    let input = target.topic("txn-in", 1);
    let output = target.topic("txn-out", 1);
    let ([pending, after_abort, _], _) =
        txn_scenarios::offsets_with_transaction(&target, &input, &output);
    assert_eq!(pending, Offset::Invalid, "not committed before the commit");
    assert_eq!(after_abort, Offset::Invalid, "an abort commits no offsets");
}

fn assert_state_error(result: Result<(), Error>, op: &str) -> Error {
    let err = result.expect_err(op);
    assert_eq!(err.code(), Some(ErrorCode::State), "{op}: {err}");
    assert_eq!(err.txn_action(), TxnAction::Permanent, "{op}: {err}");
    err
}

/// Calls in the wrong state fail at once with librdkafka's state error.
#[test]
fn mock_txn_wrong_state_is_an_error_at_once() {
    let target = cluster();
    let mut config = target.config();
    config
        .set("transactional.id", unique("txn-state"))
        .expect("config");
    let producer = Producer::new(&config).expect("producer");
    let consumer = {
        let mut c = target.config();
        c.group_id(&unique("txn-state-group")).expect("group");
        Consumer::new(&c).expect("consumer")
    };
    let meta = consumer.group_metadata().expect("group metadata");
    let started = Instant::now();

    let err = assert_state_error(producer.begin_transaction(), "begin before init");
    eprintln!("begin before init: {err}");
    let err = assert_state_error(producer.commit_transaction(TIMEOUT), "commit before init");
    eprintln!("commit before init: {err}");
    let err = assert_state_error(
        producer.send_offsets_to_transaction(&[("t", 0, Offset::At(1))], &meta, TIMEOUT),
        "send offsets before init",
    );
    eprintln!("send offsets before init: {err}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );

    producer.init_transactions(TIMEOUT).expect("init");
    let started = Instant::now();
    let err = assert_state_error(producer.commit_transaction(TIMEOUT), "commit without begin");
    eprintln!("commit without begin: {err}");
    assert_state_error(producer.abort_transaction(TIMEOUT), "abort without begin");
    assert_state_error(
        producer.send_offsets_to_transaction(&[("t", 0, Offset::At(1))], &meta, TIMEOUT),
        "send offsets without begin",
    );
    producer.begin_transaction().expect("begin");
    assert_state_error(producer.begin_transaction(), "begin twice");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    // The producer still works after all that.
    producer
        .commit_transaction(TIMEOUT)
        .expect("commit of the empty transaction");
}

#[test]
fn mock_txn_bad_input_and_missing_config() {
    let target = cluster();
    // Without transactional.id librdkafka refuses at once.
    let plain = Producer::new(&target.config()).expect("producer");
    let err = plain
        .init_transactions(TIMEOUT)
        .expect_err("no transactional.id");
    assert_eq!(err.code(), Some(ErrorCode::NotConfigured), "{err}");

    let producer = txn_producer(&target, &unique("txn-bad-input"));
    let consumer = {
        let mut c = target.config();
        c.group_id(&unique("txn-bad-group")).expect("group");
        Consumer::new(&c).expect("consumer")
    };
    let meta = consumer.group_metadata().expect("group metadata");
    producer.begin_transaction().expect("begin");
    for (offsets, what) in [
        (vec![("t", 0, Offset::End)], "Offset::End"),
        (vec![("t", 0, Offset::At(-5))], "a negative offset"),
        (vec![("", 0, Offset::At(1))], "an empty topic"),
        (vec![("t", -1, Offset::At(1))], "a negative partition"),
    ] {
        let err = producer
            .send_offsets_to_transaction(&offsets, &meta, TIMEOUT)
            .expect_err(what);
        assert!(matches!(err, Error::InvalidArgument(_)), "{what}: {err}");
    }
    producer
        .send_offsets_to_transaction(&[], &meta, TIMEOUT)
        .expect("an empty list does nothing");
    producer.commit_transaction(TIMEOUT).expect("commit");
}

/// A commit or abort called from a delivery callback of the same producer
/// fails at once (it would wait for reports served by this very thread).
#[test]
fn mock_txn_commit_inside_a_delivery_callback_fails_at_once() {
    let target = cluster();
    let topic = target.topic("txn-callback", 1);
    let producer = txn_producer(&target, &unique("txn-callback"));
    producer.begin_transaction().expect("begin");
    let (tx, rx) = mpsc::channel();
    let inner = producer.clone();
    producer
        .send_with_callback(Record::to(topic.as_str()).value(b"v".to_vec()), move |_| {
            let started = Instant::now();
            let commit = inner.commit_transaction(TIMEOUT);
            let abort = inner.abort_transaction(TIMEOUT);
            let commit_async = futures::executor::block_on(inner.commit_transaction_async(TIMEOUT));
            let _ = tx.send((commit, abort, commit_async, started.elapsed()));
        })
        .expect("send");
    let (commit, abort, commit_async, took) = rx.recv_timeout(TIMEOUT).expect("callback ran");
    for (result, op) in [
        (commit, "commit"),
        (abort, "abort"),
        (commit_async, "commit async"),
    ] {
        let err = assert_state_error(result, op);
        assert!(err.to_string().contains("delivery callback"), "{op}: {err}");
    }
    assert!(took < Duration::from_secs(1), "took {took:?}");
    producer
        .commit_transaction(TIMEOUT)
        .expect("commit outside the callback");
}

/// The async forms run on a thread of their own: the executor's one
/// thread keeps running other tasks while a commit waits, and deliveries
/// awaited by those tasks resolve.
#[test]
fn mock_txn_async_forms_do_not_block_the_executor() {
    let target = cluster();
    let topic = target.topic("txn-async", 1);
    let mut config = target.config();
    config
        .set("transactional.id", unique("txn-async"))
        .and_then(|c| c.set("linger.ms", "200"))
        .expect("config");
    let producer = Producer::new(&config).expect("producer");
    common::runtime().block_on(async {
        producer
            .init_transactions_async(TIMEOUT)
            .await
            .expect("init");
        for round in 0..2 {
            producer.begin_transaction().expect("begin");
            let mut deliveries = Vec::new();
            for i in 0..50 {
                let record = Record::to(topic.as_str()).value(format!("{round}-{i}").into_bytes());
                deliveries.push(producer.send(record).await.expect("send"));
            }
            // A ticking task on the same (single) thread keeps running
            // while the commit waits.
            let ticks = tokio::spawn(async {
                let mut n = 0u32;
                for _ in 0..5 {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    n += 1;
                }
                n
            });
            let waiting = tokio::spawn(async move {
                for d in deliveries {
                    d.await.expect("delivered");
                }
            });
            if round == 0 {
                producer
                    .commit_transaction_async(TIMEOUT)
                    .await
                    .expect("commit");
            } else {
                producer
                    .abort_transaction_async(TIMEOUT)
                    .await
                    .expect("abort");
            }
            assert_eq!(ticks.await.expect("ticks"), 5);
            if round == 0 {
                waiting
                    .await
                    .expect("deliveries of the committed transaction");
            } else {
                drop(waiting);
            }
        }
    });
    let seen = read_values(&target, &topic, "read_committed", 50);
    assert_eq!(seen.len(), 50);
    assert!(seen.iter().all(|v| v.starts_with("0-")), "{seen:?}");
}

/// A commit that times out is retriable, and calling it again completes the
/// same transaction (librdkafka resumes the commit).
#[test]
fn mock_txn_commit_timeout_is_retriable() {
    let target = cluster();
    let topic = target.topic("txn-timeout", 1);
    let producer = txn_producer(&target, &unique("txn-timeout"));
    producer.begin_transaction().expect("begin");
    let delivery = producer
        .send_blocking(Record::to(topic.as_str()).value(b"v".to_vec()), TIMEOUT)
        .expect("send");
    futures::executor::block_on(delivery).expect("delivered");
    let Target::Mock(mock) = &target else {
        unreachable!("a mock target")
    };
    for broker in 1..=3 {
        mock.set_rtt(broker, Duration::from_secs(3)).expect("rtt");
    }
    let started = Instant::now();
    let err = producer
        .commit_transaction(Duration::from_millis(500))
        .expect_err("the commit cannot finish within 500 ms");
    eprintln!("commit with a short timeout: {err}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(err.code(), Some(ErrorCode::TimedOut), "{err}");
    assert_eq!(err.txn_action(), TxnAction::Retry, "{err}");
    for broker in 1..=3 {
        mock.set_rtt(broker, Duration::ZERO).expect("rtt");
    }
    producer
        .commit_transaction(TIMEOUT)
        .expect("the retried commit");
    // The transaction is done: a new one can begin.
    producer
        .begin_transaction()
        .expect("begin after the commit");
    producer.abort_transaction(TIMEOUT).expect("abort");
}

/// A record that fails in a transaction makes its commit an abortable
/// error, and the abort clears it.
#[test]
fn mock_txn_failed_record_requires_abort() {
    let target = cluster();
    let topic = target.topic("txn-abortable", 1);
    let producer = txn_producer(&target, &unique("txn-abortable"));
    let Target::Mock(mock) = &target else {
        unreachable!("a mock target")
    };
    producer.begin_transaction().expect("begin");
    mock.push_request_errors(kafkit::ApiKey::PRODUCE, &[ErrorCode::MsgSizeTooLarge]);
    let delivery = producer
        .send_blocking(Record::to(topic.as_str()).value(b"v".to_vec()), TIMEOUT)
        .expect("send");
    let failed = futures::executor::block_on(delivery).expect_err("the broker refused it");
    assert_eq!(failed.error.code(), Some(ErrorCode::MsgSizeTooLarge));
    let err = producer
        .commit_transaction(TIMEOUT)
        .expect_err("a transaction with a failed record cannot commit");
    eprintln!("commit after a failed record: {err}");
    assert!(err.txn_requires_abort(), "{err}");
    assert_eq!(err.txn_action(), TxnAction::Abort, "{err}");
    producer.abort_transaction(TIMEOUT).expect("abort");
    // The producer takes a new transaction. (Producing in it is not
    // checked here: after the refused batch the mock cluster refuses the
    // next one with OUT_OF_ORDER_SEQUENCE_NUMBER, an artefact of its
    // sequence tracking.)
    producer.begin_transaction().expect("begin again");
    producer
        .abort_transaction(TIMEOUT)
        .expect("abort the empty transaction");
}
