//! Group offset scenarios of the admin client, run on the mock cluster
//! (tests/admin_groups_mock.rs) and on a real broker
//! (tests/admin_groups_broker.rs).

use std::time::{Duration, Instant};

use kafkit::{
    AdminClient, AdminOptions, Consumer, ErrorCode, GroupOffset, IsolationLevel, Offset,
    OffsetSpec, Producer, Record, TopicPartition,
};

use super::{unique, Target};

/// Options with a bound, so that a test never waits for librdkafka's
/// default socket timeout.
pub fn options() -> AdminOptions {
    AdminOptions::new().request_timeout(Duration::from_secs(20))
}

pub fn admin(target: &Target) -> AdminClient {
    AdminClient::new(&target.config()).expect("admin client")
}

/// Produces `n` records to `partition`, the i-th with timestamp
/// `first_ts + i * 1000` when `first_ts` is given; waits for each delivery.
pub async fn produce_to(
    target: &Target,
    topic: &str,
    partition: i32,
    n: usize,
    first_ts: Option<i64>,
) {
    let producer = Producer::new(&target.config()).expect("producer");
    let mut pending = Vec::with_capacity(n);
    for i in 0..n {
        let mut record = Record::to(topic).partition(partition).value(i.to_string());
        if let Some(ts) = first_ts {
            record = record.timestamp(ts + i as i64 * 1000);
        }
        pending.push(producer.send(record).await.expect("enqueue"));
    }
    for f in pending {
        f.await.expect("delivered");
    }
}

/// Reads `counts[p]` records of each partition `p` in `group` (assigned,
/// not subscribed: no active members remain) and commits what was read.
pub fn consume_and_commit(target: &Target, group: &str, topic: &str, counts: &[usize]) {
    let mut config = target.config();
    config
        .group_id(group)
        .and_then(|c| c.enable_auto_commit(false))
        .expect("config");
    let consumer = Consumer::new(&config).expect("consumer");
    for (p, &want) in counts.iter().enumerate() {
        let p = p as i32;
        consumer
            .assign(&[(topic, p, Offset::Beginning)])
            .expect("assign");
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut last = None;
        let mut got = 0;
        while got < want && Instant::now() < deadline {
            match consumer.poll(Duration::from_millis(100)) {
                Some(Ok(m)) => {
                    assert_eq!(m.partition(), p);
                    got += 1;
                    last = Some(m.offset());
                }
                Some(Err(e)) => panic!("consumer error: {e}"),
                None => {}
            }
        }
        assert_eq!(got, want, "read {got} of {want} records of partition {p}");
        if let Some(last) = last {
            consumer
                .commit_offsets(&[(topic, p, Offset::At(last + 1))])
                .expect("commit");
        }
    }
    consumer.close().expect("close");
}

/// list_consumer_group_offsets, the lag helper, alter_consumer_group_offsets
/// and list_offsets on a group without members: produce N per partition,
/// commit M, lag = N - M. With `all_partitions` the group's offsets are
/// listed without naming partitions (the mock cluster answers only for
/// named ones). Returns (topic, group) for checks of the caller.
pub async fn offsets_and_lag(target: &Target, all_partitions: bool) -> (String, String) {
    let topic = target.topic("admin-lag", 2);
    let group = unique("admin-lag-g");
    let admin = admin(target);
    let produced = [10usize, 6];
    let consumed = [4usize, 6];
    for (p, &n) in produced.iter().enumerate() {
        produce_to(target, &topic, p as i32, n, None).await;
    }
    consume_and_commit(target, &group, &topic, &consumed);

    let both = [
        TopicPartition::new(topic.as_str(), 0),
        TopicPartition::new(topic.as_str(), 1),
    ];
    let which = (!all_partitions).then_some(&both[..]);
    let lag_of = |admin: &kafkit::AdminClient| {
        if all_partitions {
            futures::future::Either::Left(admin.consumer_group_lag(&group, &options()))
        } else {
            futures::future::Either::Right(admin.consumer_group_lag_for(&group, &both, &options()))
        }
    };
    let mut committed = admin
        .list_consumer_group_offsets(&group, which, &options())
        .await
        .expect("list group offsets");
    committed.sort_by_key(|p| (p.topic.clone(), p.partition));
    assert_eq!(committed.len(), 2, "{committed:?}");
    for (p, c) in committed.iter().enumerate() {
        assert_eq!((c.topic.as_str(), c.partition), (topic.as_str(), p as i32));
        let c = c.result.as_ref().expect("partition committed");
        assert_eq!(c.offset, Some(consumed[p] as i64));
        assert_eq!(c.metadata, "");
    }

    let lag = lag_of(&admin).await.expect("lag");
    assert!(lag.errors.is_empty(), "{:?}", lag.errors);
    assert_eq!(lag.partitions.len(), 2);
    for (p, l) in lag.partitions.iter().enumerate() {
        assert_eq!((l.topic.as_str(), l.partition), (topic.as_str(), p as i32));
        assert_eq!(l.committed, Some(consumed[p] as i64));
        assert_eq!(l.high_watermark, produced[p] as i64);
        assert_eq!(l.lag, Some((produced[p] - consumed[p]) as i64));
    }
    assert_eq!(lag.total, 6);

    // Rewind partition 0 to 2 with metadata; the group has no members.
    let altered = admin
        .alter_consumer_group_offsets(
            &group,
            &[GroupOffset::new(topic.as_str(), 0, 2).metadata("rewound")],
            &options(),
        )
        .await
        .expect("alter group offsets");
    assert_eq!(altered.len(), 1);
    assert!(altered[0].is_ok(), "{altered:?}");
    let p0 = [TopicPartition::new(topic.as_str(), 0)];
    let listed = admin
        .list_consumer_group_offsets(&group, Some(&p0), &options())
        .await
        .expect("list group offsets");
    assert_eq!(listed.len(), 1);
    let c = listed[0].result.as_ref().expect("partition 0");
    assert_eq!(c.offset, Some(2));
    assert_eq!(c.metadata, "rewound");
    let lag = lag_of(&admin).await.expect("lag");
    assert_eq!(lag.total, 8, "{lag:?}");

    // list_offsets: earliest, latest (both isolation levels: without
    // transactions the last stable offset is the high watermark).
    for level in [
        IsolationLevel::ReadUncommitted,
        IsolationLevel::ReadCommitted,
    ] {
        let ends = admin
            .list_offsets(
                &[
                    (topic.as_str(), 0, OffsetSpec::Earliest),
                    (topic.as_str(), 1, OffsetSpec::Latest),
                ],
                level,
                &options(),
            )
            .await
            .expect("list offsets");
        assert_eq!(ends.len(), 2);
        for e in ends {
            let listed = e.result.expect("offset listed");
            let want = if e.partition == 0 {
                0
            } else {
                produced[1] as i64
            };
            assert_eq!(
                listed.offset,
                Some(want),
                "{level:?} partition {}",
                e.partition
            );
        }
    }

    // Bad input is refused before anything is sent.
    let err = admin
        .alter_consumer_group_offsets(
            &group,
            &[GroupOffset::new(topic.as_str(), 0, -5)],
            &options(),
        )
        .await
        .expect_err("negative offset");
    assert_eq!(err.code(), Some(ErrorCode::InvalidArg), "{err}");
    assert!(err.to_string().contains("negative"), "{err}");
    let err = admin
        .list_offsets(
            &[(topic.as_str(), 0, OffsetSpec::Timestamp(-7))],
            IsolationLevel::ReadUncommitted,
            &options(),
        )
        .await
        .expect_err("negative timestamp");
    assert!(err.to_string().contains("-7"), "{err}");
    let err = admin
        .list_consumer_group_offsets("bad\0group", None, &options())
        .await
        .expect_err("NUL in group id");
    assert!(err.to_string().contains("NUL"), "{err}");
    // A partition without a commit has no lag.
    let empty = unique("admin-lag-none");
    let lag = admin
        .consumer_group_lag_for(&empty, &p0, &options())
        .await
        .expect("lag");
    assert_eq!(lag.partitions.len(), 1, "{lag:?}");
    assert_eq!(lag.partitions[0].committed, None);
    assert_eq!(lag.partitions[0].lag, None);
    assert_eq!(lag.partitions[0].high_watermark, produced[0] as i64);
    assert_eq!(lag.total, 0);
    (topic, group)
}

/// list_offsets by time finds the first record at or after a timestamp.
pub async fn list_offsets_by_time(target: &Target) -> String {
    let topic = target.topic("admin-time", 1);
    let admin = admin(target);
    let t0 = 1_700_000_000_000i64;
    produce_to(target, &topic, 0, 5, Some(t0)).await; // t0, t0+1s, .., t0+4s
    let specs = [
        (topic.as_str(), 0, OffsetSpec::Timestamp(t0 + 1500)),
        (topic.as_str(), 0, OffsetSpec::Timestamp(t0 + 2000)),
    ];
    for (spec, want_offset, want_ts) in [
        (specs[0], Some(2), Some(t0 + 2000)),
        (specs[1], Some(2), Some(t0 + 2000)),
        (
            (topic.as_str(), 0, OffsetSpec::Timestamp(0)),
            Some(0),
            Some(t0),
        ),
        (
            (topic.as_str(), 0, OffsetSpec::MaxTimestamp),
            Some(4),
            Some(t0 + 4000),
        ),
        (
            (topic.as_str(), 0, OffsetSpec::Timestamp(t0 + 60_000)),
            None,
            None,
        ),
    ] {
        let listed = admin
            .list_offsets(&[spec], IsolationLevel::ReadUncommitted, &options())
            .await
            .expect("list offsets");
        assert_eq!(listed.len(), 1);
        let l = listed[0].result.as_ref().expect("partition listed");
        assert_eq!(l.offset, want_offset, "{spec:?}: {l:?}");
        assert_eq!(l.timestamp, want_ts, "{spec:?}: {l:?}");
    }
    topic
}
