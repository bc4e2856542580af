//! Metadata on librdkafka's mock cluster, which answers Metadata requests,
//! and a bounded, named error for the admin requests it does not answer.
//!
//! The mock never sets its controller id: its metadata names controller 0,
//! which is no broker. Every admin request librdkafka sends to the
//! controller (CreateTopics, DeleteTopics, CreatePartitions, ElectLeaders,
//! and DescribeTopics and DescribeCluster, although those are Metadata
//! requests) waits for it until the request timeout; DeleteRecords, sent to
//! the partition leaders, fails at once as unsupported.

mod common;

use std::time::{Duration, Instant};

use common::unique;
use kafkit::{
    AdminClient, AdminOptions, Consumer, ElectionType, Error, ErrorCode, MockCluster,
    NewPartitions, NewTopic, Offset, Producer,
};

fn mock_with_topic(partitions: i32) -> (MockCluster, String) {
    let cluster = MockCluster::new(3).expect("mock cluster");
    let topic = unique("mock-admin");
    cluster
        .create_topic(&topic, partitions, 3)
        .expect("mock topic");
    (cluster, topic)
}

#[test]
fn mock_admin_metadata_lists_brokers_topics_and_leaders() {
    let (cluster, topic) = mock_with_topic(4);
    let config = cluster.client_config().expect("config");
    let admin = AdminClient::new(&config).expect("admin");
    let producer = Producer::new(&config).expect("producer");
    let mut consumer_config = config.clone();
    consumer_config.group_id("mock-admin").expect("group");
    let consumer = Consumer::new(&consumer_config).expect("consumer");
    let timeout = Duration::from_secs(10);
    for md in [
        admin.metadata(None, timeout).expect("admin metadata"),
        producer
            .metadata(Some(&topic), timeout)
            .expect("producer metadata"),
        consumer.metadata(None, timeout).expect("consumer metadata"),
    ] {
        let mut ids: Vec<i32> = md.brokers.iter().map(|b| b.id).collect();
        ids.sort_unstable();
        assert_eq!(ids, [1, 2, 3], "{md:?}");
        assert!(md.brokers.iter().all(|b| b.port > 0 && !b.host.is_empty()));
        // Not one of the brokers on the mock (see the top of the file).
        assert!(md.controller_id.is_some(), "{md:?}");
        assert!(md.cluster_id.is_some(), "{md:?}");
        let t = md.topic(&topic).expect("the topic");
        assert_eq!(t.error, None);
        assert_eq!(
            t.partitions.iter().map(|p| p.id).collect::<Vec<_>>(),
            [0, 1, 2, 3]
        );
        for p in &t.partitions {
            let leader = p.leader.expect("a leader");
            assert!(ids.contains(&leader), "{p:?}");
            assert_eq!(p.replicas.len(), 3, "{p:?}");
            assert!(p.replicas.contains(&leader), "{p:?}");
            assert!(md.broker(leader).is_some());
        }
    }
    // The metadata follows a leader change.
    let md = admin.metadata(Some(&topic), timeout).expect("metadata");
    let before = md.topic(&topic).and_then(|t| t.partitions[0].leader);
    let next = if before == Some(2) { 3 } else { 2 };
    cluster
        .set_partition_leader(&topic, 0, next)
        .expect("set leader");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let md = admin.metadata(Some(&topic), timeout).expect("metadata");
        let leader = md.topic(&topic).and_then(|t| t.partitions[0].leader);
        if leader == Some(next) {
            break;
        }
        assert!(Instant::now() < deadline, "leader is {leader:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn mock_admin_metadata_reports_a_topic_error() {
    let (cluster, topic) = mock_with_topic(1);
    let admin = AdminClient::new(&cluster.client_config().expect("config")).expect("admin");
    let missing = unique("mock-admin-missing");
    let md = admin
        .metadata(Some(&missing), Duration::from_secs(10))
        .expect("metadata");
    assert_eq!(
        md.topic(&missing).and_then(|t| t.error),
        Some(ErrorCode::UnknownTopicOrPart),
        "{md:?}"
    );
    cluster
        .set_topic_error(&topic, ErrorCode::TopicAuthorizationFailed)
        .expect("topic error");
    let md = admin
        .metadata(Some(&topic), Duration::from_secs(10))
        .expect("metadata");
    assert_eq!(
        md.topic(&topic).and_then(|t| t.error),
        Some(ErrorCode::TopicAuthorizationFailed),
        "{md:?}"
    );
}

/// A request the mock does not answer fails within `bound` with an error
/// that names the operation.
fn assert_bounded(what: &str, started: Instant, result: Result<impl std::fmt::Debug, Error>) {
    let took = started.elapsed();
    let bound = Duration::from_secs(10);
    let err = match result {
        Err(e) => e,
        Ok(v) => panic!("{what} on the mock: expected an error, got {v:?}"),
    };
    assert!(took < bound, "{what} took {took:?}: {err}");
    assert!(err.to_string().contains(what), "{err}");
    assert!(err.code().is_some(), "{err}");
    eprintln!("{what} on the mock: {err} after {took:?}");
}

/// The first per-entity error, or the request's.
fn first_error<T: std::fmt::Debug>(
    result: Result<Vec<T>, Error>,
    error: impl Fn(T) -> Option<Error>,
) -> Result<Vec<()>, Error> {
    match result {
        Err(e) => Err(e),
        Ok(items) => match items.into_iter().find_map(error) {
            Some(e) => Err(e),
            None => Ok(Vec::new()),
        },
    }
}

#[tokio::test]
async fn mock_admin_unanswered_requests_fail_in_bounded_time() {
    let (cluster, topic) = mock_with_topic(1);
    let admin = AdminClient::new(&cluster.client_config().expect("config")).expect("admin");
    let options = AdminOptions::new()
        .request_timeout(Duration::from_secs(3))
        .operation_timeout(Duration::from_secs(3));
    let describe = AdminOptions::new().request_timeout(Duration::from_secs(3));
    let entity = |r: kafkit::EntityResult| r.result.err();
    let partition = |r: kafkit::PartitionResult<i64>| r.result.err();
    let elected = |r: kafkit::PartitionResult| r.result.err();

    // All at once: each waits for the controller until its own timeout.
    let started = Instant::now();
    let new_topic = [NewTopic::new(&unique("mock-new"), 1, 1)];
    let more = [NewPartitions::new(&topic, 3)];
    let before = [(topic.as_str(), 0, Offset::End)];
    let elect = [(topic.as_str(), 0)];
    let (created, deleted, partitioned, records, described, cluster_description, leaders) = tokio::join!(
        admin.create_topics(&new_topic, &options),
        admin.delete_topics(&[&topic], &options),
        admin.create_partitions(&more, &options),
        admin.delete_records(&before, &options),
        admin.describe_topics(&[&topic], &describe),
        admin.describe_cluster(&describe),
        admin.elect_leaders(ElectionType::Preferred, Some(&elect), &options),
    );
    let description = |r: kafkit::EntityResult<kafkit::TopicDescription>| r.result.err();
    assert_bounded("create topic", started, first_error(created, entity));
    assert_bounded("delete topic", started, first_error(deleted, entity));
    assert_bounded(
        "create partitions",
        started,
        first_error(partitioned, entity),
    );
    assert_bounded("delete records", started, first_error(records, partition));
    assert_bounded(
        "describe topic",
        started,
        first_error(described, description),
    );
    assert_bounded("describe cluster", started, cluster_description);
    assert_bounded("elect leader", started, first_error(leaders, elected));
}
