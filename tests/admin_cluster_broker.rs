//! Topics, partitions and the cluster through the admin client, against the
//! real single-node broker: create and delete topics, create partitions,
//! delete records, describe topics and the cluster, elect leaders, and the
//! metadata of every client. Results are checked against Kafka's own
//! `kafka-topics` tool where it shows them.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::tool::kafka_sh;
use common::{unique, Target};
use kafkit::{
    AclOperation, AdminClient, AdminOptions, ClientConfig, Consumer, ElectionType, ErrorCode,
    NewPartitions, NewTopic, Offset, Producer, Record,
};

fn admin(target: &Target) -> AdminClient {
    AdminClient::new(&target.config()).expect("admin client")
}

/// Options for requests that the broker completes in the background.
fn options() -> AdminOptions {
    describe_options().operation_timeout(Duration::from_secs(20))
}

/// Options for requests that take no operation timeout (librdkafka refuses
/// one for them).
fn describe_options() -> AdminOptions {
    AdminOptions::new().request_timeout(Duration::from_secs(30))
}

/// `kafka-topics` with these arguments against `servers`; fails the test
/// when the tool fails.
fn topics_tool(servers: &str, args: &[&str]) -> String {
    let mut all = vec!["topics", "--bootstrap-server", servers];
    all.extend_from_slice(args);
    let run = kafka_sh(&all, None, Duration::from_secs(90));
    assert!(run.ok(), "kafka-topics {args:?} failed: {}", run.describe());
    run.stdout_text()
}

/// The topic names `kafka-topics --list` shows.
fn listed(servers: &str) -> Vec<String> {
    topics_tool(servers, &["--list"])
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

/// Per partition, the fields of a `kafka-topics --describe` line, and the
/// summary line's fields under partition -1.
fn describe(servers: &str, topic: &str) -> BTreeMap<i32, BTreeMap<String, String>> {
    let out = topics_tool(servers, &["--describe", "--topic", topic]);
    let mut rows = BTreeMap::new();
    for line in out.lines() {
        let fields: BTreeMap<String, String> = line
            .split('\t')
            .filter_map(|f| f.split_once(": "))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        if fields.get("Topic").map(String::as_str) != Some(topic) {
            continue;
        }
        let partition = fields
            .get("Partition")
            .and_then(|p| p.parse().ok())
            .unwrap_or(-1);
        rows.insert(partition, fields);
    }
    rows
}

/// Deletes the topics a test made when the test ends, also when it fails
/// (topics that were never created are skipped).
struct Cleanup {
    admin: AdminClient,
    topics: Vec<String>,
}

impl Cleanup {
    fn new(admin: &AdminClient, topics: &[&str]) -> Self {
        Cleanup {
            admin: admin.clone(),
            topics: topics.iter().map(|t| t.to_string()).collect(),
        }
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let names: Vec<&str> = self.topics.iter().map(String::as_str).collect();
        // The admin future needs no runtime: wait for it right here.
        let Ok(results) = futures::executor::block_on(self.admin.delete_topics(&names, &options()))
        else {
            return;
        };
        for r in results {
            if let Err(e) = r.result {
                if e.code() != Some(ErrorCode::UnknownTopicOrPart) {
                    eprintln!("cleanup of {}: {e}", r.name);
                }
            }
        }
    }
}

/// Polls the metadata until `ready` holds for `topic`, within 30 s.
fn wait_for_topic(
    admin: &AdminClient,
    topic: &str,
    ready: impl Fn(Option<&kafkit::TopicMetadata>) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let md = admin
            .metadata(None, Duration::from_secs(10))
            .expect("metadata");
        if ready(md.topic(topic)) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{topic} not as expected after 30 s: {:?}",
            md.topic(topic)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[tokio::test]
async fn broker_admin_create_and_delete_topics_as_the_tool_sees_them() {
    let Some(target) = Target::broker("broker_admin_create_and_delete_topics") else {
        return;
    };
    let servers = target.bootstrap();
    let admin = admin(&target);
    let (a, b) = (unique("admin-create-a"), unique("admin-create-b"));
    let _cleanup = Cleanup::new(&admin, &[&a, &b]);
    let results = admin
        .create_topics(
            &[
                NewTopic::new(&a, 3, 1).config("retention.ms", "3600000"),
                NewTopic::with_broker_defaults(&b),
            ],
            &options(),
        )
        .await
        .expect("create topics");
    let names: Vec<&str> = results.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, [a.as_str(), b.as_str()]);
    for r in &results {
        assert!(r.is_ok(), "{}: {:?}", r.name, r.result);
    }
    let described = describe(&servers, &a);
    assert_eq!(
        described.keys().copied().collect::<Vec<_>>(),
        [-1, 0, 1, 2],
        "{described:?}"
    );
    assert_eq!(described[&-1]["PartitionCount"], "3");
    assert_eq!(described[&-1]["ReplicationFactor"], "1");
    assert!(
        described[&-1]["Configs"].contains("retention.ms=3600000"),
        "{described:?}"
    );
    let list = listed(&servers);
    assert!(list.contains(&a) && list.contains(&b), "{list:?}");

    let deleted = admin
        .delete_topics(&[&a, &b], &options())
        .await
        .expect("delete topics");
    assert_eq!(deleted.len(), 2);
    for r in &deleted {
        assert!(r.is_ok(), "{}: {:?}", r.name, r.result);
    }
    // Deletion completes in the background: poll the tool until both go.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let list = listed(&servers);
        if !list.contains(&a) && !list.contains(&b) {
            break;
        }
        assert!(Instant::now() < deadline, "still listed: {list:?}");
        std::thread::sleep(Duration::from_millis(500));
    }
    // Deleting again: the topics are unknown, each on its own.
    let again = admin
        .delete_topics(&[&a], &options())
        .await
        .expect("delete again");
    assert_eq!(
        again[0].result.as_ref().err().and_then(|e| e.code()),
        Some(ErrorCode::UnknownTopicOrPart)
    );
}

#[tokio::test]
async fn broker_admin_create_topics_rejects_bad_inputs_one_by_one() {
    let Some(target) = Target::broker("broker_admin_create_topics_rejects_bad_inputs") else {
        return;
    };
    let servers = target.bootstrap();
    let admin = admin(&target);
    let good = unique("admin-good");
    let zero = unique("admin-zero-partitions");
    let replicated = unique("admin-rf-above-brokers");
    let bad_names = ["bad name!".to_string(), "..".to_string(), "x".repeat(250)];
    let mut request = vec![
        NewTopic::new(&good, 1, 1),
        NewTopic::new(&zero, 0, 1),
        NewTopic::new(&replicated, 1, 2),
    ];
    request.extend(bad_names.iter().map(|n| NewTopic::new(n, 1, 1)));
    let results = admin
        .create_topics(&request, &options())
        .await
        .expect("create topics");
    let by_name: BTreeMap<&str, Option<ErrorCode>> = results
        .iter()
        .map(|r| {
            (
                r.name.as_str(),
                r.result
                    .as_ref()
                    .err()
                    .map(|e| e.code().expect("a Kafka error")),
            )
        })
        .collect();
    assert_eq!(by_name.len(), 6, "{results:?}");
    assert_eq!(by_name[good.as_str()], None, "{results:?}");
    assert_eq!(
        by_name[zero.as_str()],
        Some(ErrorCode::InvalidPartitions),
        "{results:?}"
    );
    assert_eq!(
        by_name[replicated.as_str()],
        Some(ErrorCode::InvalidReplicationFactor),
        "{results:?}"
    );
    for name in &bad_names {
        assert_eq!(
            by_name[name.as_str()],
            Some(ErrorCode::TopicException),
            "{name}: {results:?}"
        );
    }
    // A negative count is refused before anything is sent: the whole
    // request fails, naming the topic, and creates nothing.
    let negative = unique("admin-negative");
    let with_it = unique("admin-beside-negative");
    let _cleanup = Cleanup::new(&admin, &[&good, &zero, &replicated, &negative, &with_it]);
    let err = admin
        .create_topics(
            &[
                NewTopic::new(&with_it, 1, 1),
                NewTopic::new(&negative, -5, 1),
            ],
            &options(),
        )
        .await
        .expect_err("negative partitions");
    assert_eq!(err.code(), Some(ErrorCode::InvalidArg), "{err}");
    assert!(
        err.to_string().contains(&negative) && err.to_string().contains("num_partitions"),
        "{err}"
    );
    let list = listed(&servers);
    assert!(list.contains(&good), "{list:?}");
    for absent in [&zero, &replicated, &negative, &with_it] {
        assert!(!list.contains(absent), "{absent} was created: {list:?}");
    }
}

#[tokio::test]
async fn broker_admin_existing_topic_fails_alone() {
    let Some(target) = Target::broker("broker_admin_existing_topic_fails_alone") else {
        return;
    };
    let admin = admin(&target);
    let (old, new) = (unique("admin-existing"), unique("admin-new"));
    let _cleanup = Cleanup::new(&admin, &[&old, &new]);
    let first = admin
        .create_topics(&[NewTopic::new(&old, 1, 1)], &options())
        .await
        .expect("create");
    assert!(first[0].is_ok(), "{first:?}");
    let second = admin
        .create_topics(
            &[NewTopic::new(&old, 1, 1), NewTopic::new(&new, 2, 1)],
            &options(),
        )
        .await
        .expect("create again");
    assert_eq!(second[0].name, old);
    assert_eq!(
        second[0].result.as_ref().err().and_then(|e| e.code()),
        Some(ErrorCode::TopicAlreadyExists),
        "{second:?}"
    );
    assert_eq!(second[1].name, new);
    assert!(second[1].is_ok(), "{second:?}");
    wait_for_topic(&admin, &new, |t| t.is_some_and(|t| t.partitions.len() == 2));
}

#[tokio::test]
async fn broker_admin_validate_only_creates_nothing() {
    let Some(target) = Target::broker("broker_admin_validate_only_creates_nothing") else {
        return;
    };
    let admin = admin(&target);
    let name = unique("admin-validate");
    let _cleanup = Cleanup::new(&admin, &[&name]);
    let results = admin
        .create_topics(
            &[NewTopic::new(&name, 2, 1)],
            &options().validate_only(true),
        )
        .await
        .expect("validate");
    assert!(results[0].is_ok(), "{results:?}");
    // Still invalid input is reported when only validating.
    let bad = admin
        .create_topics(
            &[NewTopic::new(&name, 1, 3)],
            &options().validate_only(true),
        )
        .await
        .expect("validate bad");
    assert_eq!(
        bad[0].result.as_ref().err().and_then(|e| e.code()),
        Some(ErrorCode::InvalidReplicationFactor)
    );
    let md = admin
        .metadata(Some(&name), Duration::from_secs(10))
        .expect("metadata");
    let topic = md.topic(&name).expect("the topic asked for");
    assert_eq!(
        topic.error,
        Some(ErrorCode::UnknownTopicOrPart),
        "{topic:?}"
    );
    assert!(!listed(&target.bootstrap()).contains(&name));
}

#[tokio::test]
async fn broker_admin_request_to_a_down_broker_fails_in_bounded_time() {
    // Needs no broker; kept in this tier beside the other create tests.
    let mut config = ClientConfig::new();
    config.bootstrap_servers("127.0.0.1:1").expect("bootstrap");
    config.set("log_level", "0").expect("log level");
    let admin = AdminClient::new(&config).expect("admin client");
    let started = Instant::now();
    let err = admin
        .create_topics(
            &[NewTopic::new(&unique("admin-nowhere"), 1, 1)],
            &AdminOptions::new().request_timeout(Duration::from_secs(2)),
        )
        .await
        .expect_err("no broker");
    let took = started.elapsed();
    eprintln!("down broker: {err} after {took:?}");
    assert!(took < Duration::from_secs(10), "took {took:?}: {err}");
    assert!(
        matches!(
            err.code(),
            Some(ErrorCode::TimedOut | ErrorCode::Transport | ErrorCode::AllBrokersDown)
        ),
        "{err}"
    );
    assert!(err.to_string().contains("create topics"), "{err}");
    let started = Instant::now();
    let err = admin
        .metadata(None, Duration::from_secs(2))
        .expect_err("no broker");
    assert!(started.elapsed() < Duration::from_secs(10), "{err}");
    assert!(err.to_string().contains("metadata"), "{err}");
}

#[tokio::test]
async fn broker_admin_create_partitions_raises_the_count() {
    let Some(target) = Target::broker("broker_admin_create_partitions") else {
        return;
    };
    let servers = target.bootstrap();
    let admin = admin(&target);
    let topic = unique("admin-partitions");
    let missing = unique("admin-partitions-missing");
    let _cleanup = Cleanup::new(&admin, &[&topic]);
    let created = admin
        .create_topics(&[NewTopic::new(&topic, 1, 1)], &options())
        .await
        .expect("create");
    assert!(created[0].is_ok(), "{created:?}");

    let checked = admin
        .create_partitions(
            &[NewPartitions::new(&topic, 5)],
            &options().validate_only(true),
        )
        .await
        .expect("validate");
    assert!(checked[0].is_ok(), "{checked:?}");
    let results = admin
        .create_partitions(
            &[
                NewPartitions::new(&topic, 3),
                NewPartitions::new(&missing, 2),
            ],
            &options(),
        )
        .await
        .expect("create partitions");
    assert_eq!(results[0].name, topic);
    assert!(results[0].is_ok(), "{results:?}");
    assert_eq!(results[1].name, missing);
    assert_eq!(
        results[1].result.as_ref().err().and_then(|e| e.code()),
        Some(ErrorCode::UnknownTopicOrPart),
        "{results:?}"
    );
    // validate_only added nothing: 3, not 5.
    assert_eq!(describe(&servers, &topic)[&-1]["PartitionCount"], "3");

    let fewer = admin
        .create_partitions(&[NewPartitions::new(&topic, 2)], &options())
        .await
        .expect("fewer");
    assert_eq!(
        fewer[0].result.as_ref().err().and_then(|e| e.code()),
        Some(ErrorCode::InvalidPartitions),
        "{fewer:?}"
    );
    let zero = admin
        .create_partitions(&[NewPartitions::new(&topic, 0)], &options())
        .await;
    match zero {
        Err(e) => assert_eq!(e.code(), Some(ErrorCode::InvalidArg), "{e}"),
        Ok(r) => assert_eq!(
            r[0].result.as_ref().err().and_then(|e| e.code()),
            Some(ErrorCode::InvalidPartitions),
            "{r:?}"
        ),
    }
    wait_for_topic(&admin, &topic, |t| {
        t.is_some_and(|t| t.partitions.len() == 3)
    });
    // A replica on a broker that does not exist.
    let nowhere = admin
        .create_partitions(
            &[NewPartitions::new(&topic, 4).replica_assignment(&[&[42]])],
            &options(),
        )
        .await
        .expect("assignment to no broker");
    assert_eq!(
        nowhere[0].result.as_ref().err().and_then(|e| e.code()),
        Some(ErrorCode::InvalidReplicaAssignment),
        "{nowhere:?}"
    );
    // One on the broker there is.
    let placed = admin
        .create_partitions(
            &[NewPartitions::new(&topic, 4).replica_assignment(&[&[1]])],
            &options(),
        )
        .await
        .expect("assignment");
    assert!(placed[0].is_ok(), "{placed:?}");
    wait_for_topic(&admin, &topic, |t| {
        t.is_some_and(|t| t.partitions.len() == 4)
    });
    assert_eq!(describe(&servers, &topic)[&3]["Replicas"], "1");
}

#[tokio::test]
async fn broker_admin_delete_records_moves_the_low_watermark() {
    let Some(target) = Target::broker("broker_admin_delete_records") else {
        return;
    };
    let admin = admin(&target);
    let topic = unique("admin-delete-records");
    let _cleanup = Cleanup::new(&admin, &[&topic]);
    let created = admin
        .create_topics(&[NewTopic::new(&topic, 2, 1)], &options())
        .await
        .expect("create");
    assert!(created[0].is_ok(), "{created:?}");
    let producer = Producer::new(&target.config()).expect("producer");
    for i in 0..10 {
        for partition in 0..2 {
            let delivery = producer
                .send(
                    Record::to(&topic)
                        .partition(partition)
                        .value(format!("{i}")),
                )
                .await
                .expect("send");
            delivery.await.expect("delivered");
        }
    }
    let results = admin
        .delete_records(
            &[
                (topic.as_str(), 0, Offset::At(4)),
                (topic.as_str(), 1, Offset::End),
                (topic.as_str(), 7, Offset::At(1)),
            ],
            &options(),
        )
        .await
        .expect("delete records");
    let by_partition: BTreeMap<i32, &kafkit::PartitionResult<i64>> =
        results.iter().map(|r| (r.partition, r)).collect();
    assert_eq!(by_partition.len(), 3, "{results:?}");
    assert_eq!(
        by_partition[&0].result.as_ref().ok(),
        Some(&4),
        "{results:?}"
    );
    assert_eq!(
        by_partition[&1].result.as_ref().ok(),
        Some(&10),
        "{results:?}"
    );
    assert_eq!(
        by_partition[&7]
            .result
            .as_ref()
            .err()
            .and_then(|e| e.code()),
        Some(ErrorCode::UnknownPartition),
        "{results:?}"
    );
    let mut config = target.config();
    config.group_id(&unique("admin-watermarks")).expect("group");
    let consumer = Consumer::new(&config).expect("consumer");
    let timeout = Duration::from_secs(10);
    assert_eq!(
        consumer.fetch_watermarks(&topic, 0, timeout).expect("wm"),
        (4, 10)
    );
    assert_eq!(
        consumer.fetch_watermarks(&topic, 1, timeout).expect("wm"),
        (10, 10)
    );

    // Past the high watermark: that partition fails, nothing is deleted.
    let beyond = admin
        .delete_records(&[(topic.as_str(), 0, Offset::At(100))], &options())
        .await
        .expect("delete beyond the end");
    assert_eq!(
        beyond[0].result.as_ref().err().and_then(|e| e.code()),
        Some(ErrorCode::OffsetOutOfRange),
        "{beyond:?}"
    );
    assert_eq!(
        consumer.fetch_watermarks(&topic, 0, timeout).expect("wm"),
        (4, 10)
    );

    // Offsets that say nothing about where to cut are refused before a
    // request is sent.
    let err = admin
        .delete_records(&[(topic.as_str(), 0, Offset::Beginning)], &options())
        .await
        .expect_err("Offset::Beginning");
    assert_eq!(err.code(), Some(ErrorCode::InvalidArg), "{err}");
    assert!(err.to_string().contains("Beginning"), "{err}");
    assert_eq!(
        consumer.fetch_watermarks(&topic, 0, timeout).expect("wm"),
        (4, 10)
    );
}

#[tokio::test]
async fn broker_admin_describe_topics_matches_the_tool() {
    let Some(target) = Target::broker("broker_admin_describe_topics") else {
        return;
    };
    let servers = target.bootstrap();
    let admin = admin(&target);
    let topic = unique("admin-describe");
    let missing = unique("admin-describe-missing");
    let _cleanup = Cleanup::new(&admin, &[&topic]);
    let created = admin
        .create_topics(&[NewTopic::new(&topic, 2, 1)], &options())
        .await
        .expect("create");
    assert!(created[0].is_ok(), "{created:?}");
    wait_for_topic(&admin, &topic, |t| {
        t.is_some_and(|t| {
            t.partitions.len() == 2 && t.partitions.iter().all(|p| p.leader.is_some())
        })
    });
    let results = admin
        .describe_topics(&[&topic, &missing], &describe_options())
        .await
        .expect("describe");
    assert_eq!(results.len(), 2, "{results:?}");
    let found = results.iter().find(|r| r.name == topic).expect("the topic");
    let description = found.result.as_ref().expect("described");
    assert!(!description.is_internal);
    assert_eq!(description.authorized_operations, None);
    assert_eq!(description.partitions.len(), 2);
    let tool = describe(&servers, &topic);
    assert_eq!(description.topic_id, tool[&-1]["TopicId"], "{tool:?}");
    for p in &description.partitions {
        let row = &tool[&p.partition];
        let leader = p.leader.as_ref().expect("a leader");
        assert_eq!(leader.id.to_string(), row["Leader"]);
        assert_eq!(leader.port, 9092);
        let ids = |nodes: &[kafkit::Node]| {
            nodes
                .iter()
                .map(|n| n.id.to_string())
                .collect::<Vec<_>>()
                .join(",")
        };
        assert_eq!(ids(&p.replicas), row["Replicas"]);
        assert_eq!(ids(&p.isr), row["Isr"]);
    }
    let absent = results.iter().find(|r| r.name == missing).expect("missing");
    assert_eq!(
        absent.result.as_ref().err().and_then(|e| e.code()),
        Some(ErrorCode::UnknownTopicOrPart),
        "{absent:?}"
    );

    let bad = admin
        .describe_topics(&["bad name!"], &describe_options())
        .await;
    let bad = bad.expect("describe a bad name");
    assert_eq!(
        bad[0].result.as_ref().err().and_then(|e| e.code()),
        Some(ErrorCode::TopicException),
        "{bad:?}"
    );
    let with_ops = admin
        .describe_topics(
            &[&topic],
            &describe_options().include_authorized_operations(true),
        )
        .await
        .expect("describe with operations");
    let ops = with_ops[0]
        .result
        .as_ref()
        .expect("described")
        .authorized_operations
        .clone()
        .expect("operations asked for");
    // The client is the super user: everything a topic allows.
    for op in [
        AclOperation::Read,
        AclOperation::Write,
        AclOperation::Describe,
        AclOperation::Delete,
    ] {
        assert!(ops.contains(&op), "{op:?} missing from {ops:?}");
    }
}

#[tokio::test]
async fn broker_admin_describes_the_single_node_cluster() {
    let Some(target) = Target::broker("broker_admin_describe_cluster") else {
        return;
    };
    let admin = admin(&target);
    let cluster = admin
        .describe_cluster(&describe_options())
        .await
        .expect("describe cluster");
    assert_eq!(cluster.nodes.len(), 1, "{cluster:?}");
    let node = &cluster.nodes[0];
    assert_eq!((node.host.as_str(), node.port), ("127.0.0.1", 9092));
    assert_eq!(cluster.controller.as_ref(), Some(node));
    assert_eq!(cluster.authorized_operations, None);
    let md = admin
        .metadata(None, Duration::from_secs(10))
        .expect("metadata");
    assert!(cluster.cluster_id.is_some());
    assert_eq!(cluster.cluster_id, md.cluster_id);

    let with_ops = admin
        .describe_cluster(&describe_options().include_authorized_operations(true))
        .await
        .expect("describe cluster with operations");
    let ops = with_ops.authorized_operations.expect("asked for");
    assert!(ops.contains(&AclOperation::Describe), "{ops:?}");
    assert!(ops.contains(&AclOperation::Alter), "{ops:?}");
}

#[tokio::test]
async fn broker_admin_metadata_on_every_client() {
    let Some(target) = Target::broker("broker_admin_metadata_on_every_client") else {
        return;
    };
    let admin = admin(&target);
    let topic = unique("admin-metadata");
    let _cleanup = Cleanup::new(&admin, &[&topic]);
    let created = admin
        .create_topics(&[NewTopic::new(&topic, 3, 1)], &options())
        .await
        .expect("create");
    assert!(created[0].is_ok(), "{created:?}");
    let producer = Producer::new(&target.config()).expect("producer");
    let mut config = target.config();
    config.group_id(&unique("admin-metadata")).expect("group");
    let consumer = Consumer::new(&config).expect("consumer");
    let timeout = Duration::from_secs(10);
    wait_for_topic(&admin, &topic, |t| {
        t.is_some_and(|t| t.partitions.iter().filter(|p| p.leader.is_some()).count() == 3)
    });
    let all = [
        admin.metadata(None, timeout).expect("admin metadata"),
        producer.metadata(None, timeout).expect("producer metadata"),
        consumer.metadata(None, timeout).expect("consumer metadata"),
    ];
    for md in &all {
        assert_eq!(md.brokers.len(), 1, "{md:?}");
        let broker = &md.brokers[0];
        assert_eq!((broker.host.as_str(), broker.port), ("127.0.0.1", 9092));
        assert_eq!(md.controller_id, Some(broker.id));
        // None when a bootstrap connection answered.
        assert!(
            md.orig_broker_id.map_or(true, |id| id == broker.id),
            "{md:?}"
        );
        assert!(md.orig_broker_name.contains("127.0.0.1:9092"), "{md:?}");
        assert!(md.cluster_id.as_ref().is_some_and(|id| !id.is_empty()));
        let t = md.topic(&topic).expect("every topic is listed");
        assert_eq!(t.error, None);
        assert_eq!(
            t.partitions.iter().map(|p| p.id).collect::<Vec<_>>(),
            [0, 1, 2]
        );
        for p in &t.partitions {
            assert_eq!(p.error, None);
            assert_eq!(p.leader, Some(broker.id));
            assert_eq!(p.replicas, [broker.id]);
            assert_eq!(p.isr, [broker.id]);
        }
    }
    assert_eq!(all[0].cluster_id, all[1].cluster_id);
    // One topic only.
    let one = consumer.metadata(Some(&topic), timeout).expect("one topic");
    assert_eq!(one.topics.len(), 1);
    assert_eq!(one.topics[0].partitions.len(), 3);
    // A consumer does not create topics by asking about them.
    let missing = unique("admin-metadata-missing");
    let none = consumer
        .metadata(Some(&missing), timeout)
        .expect("missing topic");
    assert_eq!(
        none.topic(&missing).and_then(|t| t.error),
        Some(ErrorCode::UnknownTopicOrPart),
        "{none:?}"
    );
}

#[tokio::test]
async fn broker_admin_elect_leaders_on_one_node_needs_no_election() {
    let Some(target) = Target::broker("broker_admin_elect_leaders") else {
        return;
    };
    let admin = admin(&target);
    let topic = unique("admin-elect");
    let missing = unique("admin-elect-missing");
    let _cleanup = Cleanup::new(&admin, &[&topic]);
    let created = admin
        .create_topics(&[NewTopic::new(&topic, 1, 1)], &options())
        .await
        .expect("create");
    assert!(created[0].is_ok(), "{created:?}");
    wait_for_topic(&admin, &topic, |t| {
        t.is_some_and(|t| t.partitions.first().is_some_and(|p| p.leader.is_some()))
    });
    let results = admin
        .elect_leaders(
            ElectionType::Preferred,
            Some(&[(topic.as_str(), 0), (missing.as_str(), 0)]),
            &options(),
        )
        .await
        .expect("elect leaders");
    let by_topic: BTreeMap<&str, Option<ErrorCode>> = results
        .iter()
        .map(|r| {
            (
                r.topic.as_str(),
                r.result.as_ref().err().and_then(|e| e.code()),
            )
        })
        .collect();
    assert_eq!(
        by_topic[topic.as_str()],
        Some(ErrorCode::ElectionNotNeeded),
        "{results:?}"
    );
    assert_eq!(
        by_topic[missing.as_str()],
        Some(ErrorCode::UnknownTopicOrPart),
        "{results:?}"
    );
    let unclean = admin
        .elect_leaders(
            ElectionType::Unclean,
            Some(&[(topic.as_str(), 0)]),
            &options(),
        )
        .await
        .expect("unclean election");
    assert_eq!(
        unclean[0].result.as_ref().err().and_then(|e| e.code()),
        Some(ErrorCode::ElectionNotNeeded),
        "a partition with a leader needs no unclean election: {unclean:?}"
    );
    // Every partition: on a single node each leader is its preferred
    // replica, so none is listed (only elections held or failed are).
    let all = admin
        .elect_leaders(ElectionType::Preferred, None, &options())
        .await
        .expect("elect all");
    assert!(all.iter().all(|r| r.topic != topic), "{all:?}");
}
