//! The admin client's group and offset operations on librdkafka's mock
//! cluster. The mock answers ListOffsets, OffsetFetch and OffsetCommit, so
//! list_offsets, list_consumer_group_offsets, alter_consumer_group_offsets
//! and the lag helper work on it; it does not answer ListGroups,
//! DescribeGroups, DeleteGroups or OffsetDelete, which must fail in bounded
//! time with a clear error. Its ListOffsets ignores timestamps (it answers
//! -1 for any), so offsets by time are tested on the broker only.

mod common;

use std::time::{Duration, Instant};

use common::{group_scenarios as scenario, Target};
use kafkit::{AdminOptions, ErrorCode};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mock_admin_group_offsets_lag_and_list_offsets() {
    let target = Target::mock(1);
    scenario::offsets_and_lag(&target, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mock_admin_lag_of_an_unknown_group_is_empty() {
    let target = Target::mock(1);
    let admin = scenario::admin(&target);
    let lag = admin
        .consumer_group_lag(&common::unique("nobody"), &scenario::options())
        .await
        .expect("lag");
    assert!(
        lag.partitions.is_empty() && lag.errors.is_empty(),
        "{lag:?}"
    );
    assert_eq!(lag.total, 0);
}

/// Requests the mock does not answer fail at once with a clear error.
///
/// DeleteGroups and OffsetDelete are not tried here: on a broker without
/// those APIs librdkafka 2.12.1 fails the request and then aborts the
/// process on a queue refcount assertion when the client is destroyed
/// (rdkafka_queue.h `rkq->rkq_refcnt > 0`; librdkafka issue #3663).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mock_admin_unanswered_group_requests_fail_in_bounded_time() {
    let target = Target::mock(1);
    let admin = scenario::admin(&target);
    let options = AdminOptions::new().request_timeout(Duration::from_secs(3));
    let bound = Duration::from_secs(10);
    let group = common::unique("g");

    let started = Instant::now();
    let listed = admin
        .list_consumer_groups(&[], &[], &options)
        .await
        .expect("a result with per-broker errors");
    assert!(listed.groups.is_empty());
    assert_eq!(listed.errors.len(), 1, "{:?}", listed.errors);
    assert_eq!(listed.errors[0].code(), Some(ErrorCode::UnsupportedFeature));
    assert!(started.elapsed() < bound);

    let started = Instant::now();
    let mut described = admin
        .describe_consumer_groups(&[group.as_str()], &options)
        .await
        .expect("a result per group");
    assert_eq!(described.len(), 1);
    let d = described.remove(0);
    assert_eq!(d.name, group);
    let err = d.result.expect_err("the mock described a group");
    assert_eq!(err.code(), Some(ErrorCode::UnsupportedFeature), "{err}");
    assert!(err.to_string().contains("not supported"), "{err}");
    assert!(started.elapsed() < bound);
}

/// Many requests in flight on one admin client, from several tasks of a
/// multi-thread runtime, some futures dropped before their answer: every
/// kept future resolves (no lost wake-up), and a dropped one's answer does
/// not reach another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mock_admin_many_requests_in_flight_all_resolve() {
    use kafkit::{IsolationLevel, OffsetSpec};
    let target = Target::mock(1);
    let Target::Mock(cluster) = &target else {
        unreachable!()
    };
    cluster.create_topic("many", 4, 1).expect("topic");
    let admin = scenario::admin(&target);
    let mut tasks = Vec::new();
    for i in 0..64 {
        let admin = admin.clone();
        tasks.push(tokio::spawn(async move {
            let partition = i % 4;
            let request = admin.list_offsets(
                &[("many", partition, OffsetSpec::Latest)],
                IsolationLevel::ReadUncommitted,
                &scenario::options(),
            );
            if i % 3 == 0 {
                // Dropped before its answer arrives.
                drop(request);
                return None;
            }
            let answer = tokio::time::timeout(Duration::from_secs(20), request)
                .await
                .expect("answered within 20 s")
                .expect("list offsets");
            assert_eq!(answer.len(), 1);
            assert_eq!(answer[0].partition, partition, "another request's answer");
            Some(answer[0].result.as_ref().map(|o| o.offset).expect("offset"))
        }));
    }
    let mut answered = 0;
    for task in tasks {
        if let Some(offset) = task.await.expect("task") {
            assert_eq!(offset, Some(0), "an empty partition ends at 0");
            answered += 1;
        }
    }
    assert_eq!(answered, 64 - 22);
}
