//! The admin client's consumer group and offset operations on a real
//! Apache Kafka broker, checked against Kafka's own
//! `kafka-consumer-groups` tool. They run when KAFKA_BOOTSTRAP_SERVERS is
//! set and otherwise print that they were not run.
//!
//! Not covered: `IsolationLevel::ReadCommitted` against an open
//! transaction (kafkit has no transactional producer yet); it is only
//! checked that it gives the high watermark when there are no
//! transactions.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::group_scenarios::{self as scenario, options};
use common::{tool, unique, Target};
use kafkit::{
    AclOperation, AdminClient, Consumer, ConsumerGroupDescription, ConsumerGroupState,
    ConsumerGroupType, ErrorCode, GroupOffset, OffsetReset, TopicPartition,
};

const SERVERS: &str = "127.0.0.1:9092";

/// `kafka-consumer-groups --describe --group G`: per partition of `topic`,
/// (current offset, log end offset, lag, consumer id, client id) as the
/// tool prints them ("-" for none).
fn tool_describe(group: &str, topic: &str) -> (String, HashMap<i32, Vec<String>>) {
    let run = tool::kafka_sh(
        &[
            "consumer-groups",
            "--bootstrap-server",
            SERVERS,
            "--describe",
            "--group",
            group,
        ],
        None,
        Duration::from_secs(90),
    );
    assert!(run.ok(), "describe group {group}: {}", run.describe());
    let text = run.stdout_text();
    let mut rows = HashMap::new();
    for line in text.lines() {
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.len() >= 9 && cols[0] == group && cols[1] == topic {
            let partition: i32 = cols[2].parse().expect("partition column");
            rows.insert(
                partition,
                cols[3..9].iter().map(|c| c.to_string()).collect(),
            );
        }
    }
    (text, rows)
}

/// `kafka-consumer-groups --list`.
fn tool_list() -> Vec<String> {
    let run = tool::kafka_sh(
        &["consumer-groups", "--bootstrap-server", SERVERS, "--list"],
        None,
        Duration::from_secs(90),
    );
    assert!(run.ok(), "list groups: {}", run.describe());
    run.stdout_text()
        .lines()
        .map(|l| l.trim().to_string())
        .collect()
}

async fn delete_topic(admin: &AdminClient, topic: &str) {
    let deleted = admin
        .delete_topics(&[topic], &options())
        .await
        .expect("delete topic");
    assert!(deleted.iter().all(|t| t.is_ok()), "{deleted:?}");
}

/// A subscribed consumer in `group` that has read at least one record.
fn member(target: &Target, group: &str, topic: &str, protocol: &str, client_id: &str) -> Consumer {
    let mut config = target.config();
    config
        .group_id(group)
        .and_then(|c| c.client_id(client_id))
        .and_then(|c| c.auto_offset_reset(OffsetReset::Earliest))
        .and_then(|c| c.enable_auto_commit(false))
        .and_then(|c| c.set("group.protocol", protocol))
        .expect("config");
    let consumer = Consumer::new(&config).expect("consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < deadline, "{group}: no record within 60 s");
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(_)) => return consumer,
            Some(Err(e)) => panic!("consumer error: {e}"),
            None => {}
        }
    }
}

/// Describes `group` until `done` accepts the description.
async fn describe_until(
    admin: &AdminClient,
    group: &str,
    done: impl Fn(&ConsumerGroupDescription) -> bool,
) -> ConsumerGroupDescription {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut described = admin
            .describe_consumer_groups(&[group], &options().include_authorized_operations(true))
            .await
            .expect("describe groups");
        assert_eq!(described.len(), 1);
        let d = described.remove(0).result.expect("group described");
        if done(&d) {
            return d;
        }
        assert!(Instant::now() < deadline, "{group} never got there: {d:?}");
        futures_timer::Delay::new(Duration::from_millis(200)).await;
    }
}

/// Committed offsets, lag, alter and delete of offsets, delete of the
/// group: on a group without members, checked with the tool.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_admin_group_offsets_lag_alter_delete() {
    let Some(target) = Target::broker("broker_admin_group_offsets_lag_alter_delete") else {
        return;
    };
    let (topic, group) = scenario::offsets_and_lag(&target, true).await;
    let admin = scenario::admin(&target);
    // The scenario left partition 0 at 2 ("rewound"), partition 1 at 6.
    let deleted = admin
        .delete_consumer_group_offsets(
            &group,
            &[TopicPartition::new(topic.as_str(), 1)],
            &options(),
        )
        .await
        .expect("delete group offsets");
    assert_eq!(deleted.len(), 1);
    assert_eq!(
        (deleted[0].topic.as_str(), deleted[0].partition),
        (topic.as_str(), 1)
    );
    assert!(deleted[0].is_ok(), "{deleted:?}");
    let listed = admin
        .list_consumer_group_offsets(&group, None, &options())
        .await
        .expect("list group offsets");
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].partition, 0);
    let lag = admin
        .consumer_group_lag(&group, &options())
        .await
        .expect("lag");
    assert_eq!(lag.partitions.len(), 1);
    assert_eq!(lag.partitions[0].lag, Some(8));
    assert_eq!(lag.total, 8);

    // Kafka's tool sees the altered offset, the lag, and no offset of
    // partition 1.
    let (text, rows) = tool_describe(&group, &topic);
    let p0 = rows
        .get(&0)
        .unwrap_or_else(|| panic!("no partition 0 in\n{text}"));
    assert_eq!(&p0[..3], &["2", "10", "8"], "tool output:\n{text}");
    assert!(
        rows.get(&1).is_none_or(|p1| p1[0] == "-"),
        "partition 1 still has an offset:\n{text}"
    );

    let missing = unique("admin-no-such-group");
    let deleted = admin
        .delete_consumer_groups(&[group.as_str(), missing.as_str()], &options())
        .await
        .expect("delete groups");
    assert_eq!(deleted.len(), 2);
    let by_name: HashMap<&str, _> = deleted.iter().map(|d| (d.name.as_str(), d)).collect();
    assert!(by_name[group.as_str()].is_ok(), "{deleted:?}");
    let err = by_name[missing.as_str()]
        .result
        .as_ref()
        .expect_err("missing group");
    assert_eq!(err.code(), Some(ErrorCode::GroupIdNotFound), "{err}");
    let groups = tool_list();
    assert!(!groups.contains(&group), "{group} still listed");
    delete_topic(&admin, &topic).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_admin_list_offsets_by_time() {
    let Some(target) = Target::broker("broker_admin_list_offsets_by_time") else {
        return;
    };
    let topic = scenario::list_offsets_by_time(&target).await;
    let admin = scenario::admin(&target);
    // A partition that does not exist fails alone.
    let listed = admin
        .list_offsets(
            &[
                (topic.as_str(), 0, kafkit::OffsetSpec::Latest),
                (topic.as_str(), 7, kafkit::OffsetSpec::Latest),
            ],
            kafkit::IsolationLevel::ReadUncommitted,
            &options(),
        )
        .await;
    let listed = listed.expect("list offsets");
    assert_eq!(listed.len(), 2);
    let by_partition: HashMap<i32, _> = listed.iter().map(|l| (l.partition, l)).collect();
    let end = by_partition[&0].result.as_ref().expect("partition 0");
    assert_eq!(end.offset, Some(5));
    assert_eq!(end.leader_epoch, Some(0));
    let err = by_partition[&7].result.as_ref().expect_err("partition 7");
    assert_eq!(err.code(), Some(ErrorCode::UnknownPartition), "{err}");
    delete_topic(&admin, &topic).await;
}

/// A classic group with a member next to an empty one: describe, list with
/// filters, and the operations the broker refuses while members are there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_admin_classic_group_with_members() {
    let Some(target) = Target::broker("broker_admin_classic_group_with_members") else {
        return;
    };
    let admin = scenario::admin(&target);
    let topic = target.topic("admin-classic", 1);
    scenario::produce_to(&target, &topic, 0, 3, None).await;
    let active = unique("admin-active");
    let idle = unique("admin-idle");
    let consumer = member(&target, &active, &topic, "classic", "admin-member-a");
    scenario::consume_and_commit(&target, &idle, &topic, &[2]);

    let d = describe_until(&admin, &active, |d| {
        d.state == ConsumerGroupState::Stable && d.members.len() == 1
    })
    .await;
    assert_eq!(d.id, active);
    assert_eq!(d.group_type, ConsumerGroupType::Classic);
    assert!(!d.is_simple);
    assert_eq!(d.partition_assignor, "range");
    assert_eq!(d.coordinator.as_ref().map(|c| c.port), Some(9092));
    let m = &d.members[0];
    assert_eq!(m.client_id, "admin-member-a");
    assert_eq!(m.assignment, vec![TopicPartition::new(topic.as_str(), 0)]);
    assert_eq!(m.target_assignment, None);
    assert_eq!(Some(m.member_id.clone()), consumer.member_id());
    let ops = d
        .authorized_operations
        .as_ref()
        .expect("operations asked for");
    assert!(
        ops.contains(&AclOperation::Read) && ops.contains(&AclOperation::Delete),
        "{ops:?}"
    );

    let missing = unique("admin-no-such-group");
    let described = admin
        .describe_consumer_groups(&[missing.as_str()], &options())
        .await
        .expect("describe");
    // The broker describes a group it does not know as Dead and empty.
    let d = described[0]
        .result
        .as_ref()
        .expect("missing group described");
    assert_eq!((d.state, d.members.len()), (ConsumerGroupState::Dead, 0));
    let described = admin
        .describe_consumer_groups(&[idle.as_str()], &options())
        .await
        .expect("describe");
    let d = described[0].result.as_ref().expect("idle group");
    assert_eq!(d.state, ConsumerGroupState::Empty);
    assert!(d.members.is_empty());
    assert_eq!(d.authorized_operations, None);

    // Kafka's tool sees the member.
    let (text, rows) = tool_describe(&active, &topic);
    let row = rows
        .get(&0)
        .unwrap_or_else(|| panic!("no partition 0 in\n{text}"));
    assert_eq!(row[3], m.member_id, "tool output:\n{text}");
    assert_eq!(row[5], "admin-member-a", "tool output:\n{text}");

    // Filters.
    let stable = admin
        .list_consumer_groups(&[ConsumerGroupState::Stable], &[], &options())
        .await
        .expect("list");
    assert!(stable.errors.is_empty(), "{:?}", stable.errors);
    let ids: Vec<&str> = stable.groups.iter().map(|g| g.id.as_str()).collect();
    assert!(
        ids.contains(&active.as_str()) && !ids.contains(&idle.as_str()),
        "{ids:?}"
    );
    let classic = admin
        .list_consumer_groups(&[], &[ConsumerGroupType::Classic], &options())
        .await
        .expect("list");
    let listing = classic
        .groups
        .iter()
        .find(|g| g.id == idle)
        .expect("idle listed");
    assert_eq!(listing.state, ConsumerGroupState::Empty);
    assert_eq!(listing.group_type, ConsumerGroupType::Classic);
    assert!(classic.groups.iter().any(|g| g.id == active));
    let err = admin
        .list_consumer_groups(&[ConsumerGroupState::Unknown], &[], &options())
        .await
        .expect_err("Unknown is no filter");
    assert_eq!(err.code(), Some(ErrorCode::InvalidArg), "{err}");
    let listed = tool_list();
    assert!(listed.contains(&active) && listed.contains(&idle));

    // What the broker refuses while the group has a member.
    let altered = admin
        .alter_consumer_group_offsets(
            &active,
            &[GroupOffset::new(topic.as_str(), 0, 0)],
            &options(),
        )
        .await;
    let err = match altered {
        Err(e) => e,
        Ok(mut parts) => parts.remove(0).result.expect_err("altered an active group"),
    };
    assert_eq!(err.code(), Some(ErrorCode::UnknownMemberId), "{err}");
    let deleted = admin
        .delete_consumer_group_offsets(
            &active,
            &[TopicPartition::new(topic.as_str(), 0)],
            &options(),
        )
        .await
        .expect("delete offsets");
    let err = deleted[0]
        .result
        .as_ref()
        .expect_err("deleted offsets of an active group");
    assert_eq!(err.code(), Some(ErrorCode::GroupSubscribedToTopic), "{err}");

    let deleted = admin
        .delete_consumer_groups(&[active.as_str(), idle.as_str()], &options())
        .await
        .expect("delete groups");
    let by_name: HashMap<&str, _> = deleted.iter().map(|d| (d.name.as_str(), d)).collect();
    let err = by_name[active.as_str()]
        .result
        .as_ref()
        .expect_err("deleted a group with members");
    assert_eq!(err.code(), Some(ErrorCode::NonEmptyGroup), "{err}");
    assert!(by_name[idle.as_str()].is_ok(), "{deleted:?}");
    let listed = tool_list();
    assert!(listed.contains(&active), "the active group was deleted");
    assert!(!listed.contains(&idle), "the idle group is still there");

    consumer.close().expect("close");
    let deleted = admin
        .delete_consumer_groups(&[active.as_str()], &options())
        .await
        .expect("delete group");
    assert!(deleted[0].is_ok(), "{deleted:?}");
    delete_topic(&admin, &topic).await;
}

/// A KIP-848 group (`group.protocol=consumer`): its type, members and
/// target assignment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_admin_kip848_group() {
    let Some(target) = Target::broker("broker_admin_kip848_group") else {
        return;
    };
    let admin = scenario::admin(&target);
    let topic = target.topic("admin-kip848", 2);
    scenario::produce_to(&target, &topic, 0, 2, None).await;
    scenario::produce_to(&target, &topic, 1, 2, None).await;
    let group = unique("admin-848");
    let consumer = member(&target, &group, &topic, "consumer", "admin-member-848");

    let want = vec![
        TopicPartition::new(topic.as_str(), 0),
        TopicPartition::new(topic.as_str(), 1),
    ];
    let d = describe_until(&admin, &group, |d| {
        d.members.len() == 1 && {
            let mut a = d.members[0].assignment.clone();
            a.sort();
            a == want
        }
    })
    .await;
    assert_eq!(d.group_type, ConsumerGroupType::Consumer);
    assert!(!d.partition_assignor.is_empty());
    let m = &d.members[0];
    assert_eq!(m.client_id, "admin-member-848");
    let mut target_assignment = m.target_assignment.clone().expect("a KIP-848 target");
    target_assignment.sort();
    assert_eq!(target_assignment, want);

    let consumers = admin
        .list_consumer_groups(&[], &[ConsumerGroupType::Consumer], &options())
        .await
        .expect("list");
    let listing = consumers
        .groups
        .iter()
        .find(|g| g.id == group)
        .expect("listed");
    assert_eq!(listing.group_type, ConsumerGroupType::Consumer);
    let classic = admin
        .list_consumer_groups(&[], &[ConsumerGroupType::Classic], &options())
        .await
        .expect("list");
    assert!(!classic.groups.iter().any(|g| g.id == group));

    let (text, rows) = tool_describe(&group, &topic);
    assert_eq!(rows.len(), 2, "tool output:\n{text}");
    assert!(
        rows.values().all(|r| r[3] == m.member_id),
        "tool output:\n{text}"
    );

    let altered = admin
        .alter_consumer_group_offsets(
            &group,
            &[GroupOffset::new(topic.as_str(), 0, 0)],
            &options(),
        )
        .await;
    let err = match altered {
        Err(e) => e,
        Ok(mut parts) => parts.remove(0).result.expect_err("altered an active group"),
    };
    assert_eq!(err.code(), Some(ErrorCode::UnknownMemberId), "{err}");

    let deleted = admin
        .delete_consumer_groups(&[group.as_str()], &options())
        .await
        .expect("delete group");
    let err = deleted[0]
        .result
        .as_ref()
        .expect_err("deleted a group with members");
    assert_eq!(err.code(), Some(ErrorCode::NonEmptyGroup), "{err}");
    consumer.close().expect("close");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let deleted = admin
            .delete_consumer_groups(&[group.as_str()], &options())
            .await
            .expect("delete group");
        match &deleted[0].result {
            Ok(()) => break,
            Err(e) if e.code() == Some(ErrorCode::NonEmptyGroup) && Instant::now() < deadline => {
                futures_timer::Delay::new(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("delete {group}: {e}"),
        }
    }
    delete_topic(&admin, &topic).await;
}
