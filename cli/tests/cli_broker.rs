//! The `kafkit` binary on a real Kafka broker (KAFKA_BOOTSTRAP_SERVERS),
//! checked with Kafka's own Java tools: topics, groups, lag and
//! reset-offsets, read_committed, and records exchanged byte for byte with
//! the console producer and consumer.

mod common;

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{broker, kafka_sh, kafkit, unique, Run};
use kafkit::{ClientConfig, Producer, Record};
use serde_json::Value;

const TOOL_TIMEOUT: Duration = Duration::from_secs(90);

fn b(servers: &str) -> Vec<&str> {
    vec!["-b", servers]
}

fn with<'a>(servers: &'a str, args: &[&'a str]) -> Vec<&'a str> {
    let mut all = b(servers);
    all.extend_from_slice(args);
    all
}

/// `kafkit -b SERVERS ARGS`, which must succeed.
fn ok(servers: &str, args: &[&str]) -> Run {
    let run = kafkit(&with(servers, args), None);
    run.assert_ok(&format!("kafkit {args:?}"));
    run
}

/// `kafkit groups reset-offsets GROUP ARGS`, which must succeed.
fn reset(servers: &str, group: &str, args: &[&str]) -> Run {
    let mut all = vec!["groups", "reset-offsets", group];
    all.extend_from_slice(args);
    ok(servers, &all)
}

/// A new topic with `partitions` partitions, made by `kafkit topics create`.
fn create_topic(servers: &str, prefix: &str, partitions: i32) -> String {
    let topic = unique(prefix);
    ok(
        servers,
        &[
            "topics",
            "create",
            &topic,
            "-p",
            &partitions.to_string(),
            "-r",
            "1",
        ],
    );
    topic
}

fn tool(args: &[&str]) -> Run {
    let run = kafka_sh(args, None, TOOL_TIMEOUT);
    run.assert_ok(&format!("kafka.sh {args:?}"));
    run
}

/// `kafka-topics --describe`: its whole output.
fn tool_describe_topic(servers: &str, topic: &str) -> String {
    tool(&[
        "topics",
        "--bootstrap-server",
        servers,
        "--describe",
        "--topic",
        topic,
    ])
    .out()
}

fn tool_topics(servers: &str) -> Vec<String> {
    tool(&["topics", "--bootstrap-server", servers, "--list"])
        .out()
        .lines()
        .map(|l| l.trim().to_string())
        .collect()
}

/// `kafka-consumer-groups --describe`: per partition of `topic`, (current
/// offset, log end offset, lag) as the tool prints them.
fn tool_group_offsets(
    servers: &str,
    group: &str,
    topic: &str,
) -> HashMap<i32, (String, String, String)> {
    let run = tool(&[
        "consumer-groups",
        "--bootstrap-server",
        servers,
        "--describe",
        "--group",
        group,
    ]);
    let mut rows = HashMap::new();
    for line in run.out().lines() {
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.len() >= 6 && cols[0] == group && cols[1] == topic {
            let partition: i32 = cols[2].parse().expect("partition column");
            rows.insert(partition, (cols[3].into(), cols[4].into(), cols[5].into()));
        }
    }
    rows
}

/// kafkit's `groups lag` rows: partition -> (committed, end, lag).
fn kafkit_lag(
    servers: &str,
    group: &str,
    topic: &str,
) -> (HashMap<i32, (String, String, String)>, i64) {
    let run = kafkit(&with(servers, &["groups", "lag", group]), None);
    run.assert_ok("groups lag");
    let mut rows = HashMap::new();
    let mut total = None;
    for line in run.out().lines() {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() == 5 && cols[0] == topic {
            rows.insert(
                cols[1].parse().expect("partition"),
                (cols[2].into(), cols[3].into(), cols[4].into()),
            );
        }
        if let Some(t) = line.strip_prefix("total lag ") {
            total = Some(t.parse().expect("total"));
        }
    }
    (rows, total.expect("a total line"))
}

fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn broker_cli_topics_lifecycle_checked_with_kafka_topics() {
    let Some(servers) = broker("broker_cli_topics_lifecycle_checked_with_kafka_topics") else {
        return;
    };
    let topic = unique("cli-topic");
    let created = ok(
        &servers,
        &[
            "topics",
            "create",
            &topic,
            "-p",
            "3",
            "-r",
            "1",
            "-c",
            "retention.ms=3600000",
        ],
    );
    assert_eq!(created.out(), format!("created topic {topic}\n"));
    let described = tool_describe_topic(&servers, &topic);
    assert!(described.contains("PartitionCount: 3"), "{described}");
    assert!(described.contains("retention.ms=3600000"), "{described}");

    let ours = ok(&servers, &["topics", "describe", &topic, "--configs"]);
    assert!(
        ours.out().contains(&format!("topic {topic}: 3 partitions")),
        "{}",
        ours.describe()
    );
    assert!(
        ours.out().contains("retention.ms=3600000"),
        "{}",
        ours.describe()
    );
    let listed = ok(&servers, &["topics", "list"]);
    assert!(
        listed.out().contains(&format!("{topic}\t3 partitions")),
        "{}",
        listed.describe()
    );

    let again = kafkit(
        &with(&servers, &["topics", "create", &topic, "-p", "1"]),
        None,
    );
    assert_eq!(again.code(), Some(1), "{}", again.describe());
    assert!(
        again.err().contains("already exists"),
        "{}",
        again.describe()
    );

    ok(
        &servers,
        &[
            "topics",
            "alter-config",
            &topic,
            "--set",
            "cleanup.policy=compact",
            "--delete",
            "retention.ms",
        ],
    );
    // The change reaches the broker's metadata a moment after the answer.
    wait_until(
        "kafka-topics shows the change",
        Duration::from_secs(30),
        || {
            let described = tool_describe_topic(&servers, &topic);
            described.contains("cleanup.policy=compact") && !described.contains("retention.ms")
        },
    );

    ok(&servers, &["topics", "delete", &topic]);
    wait_until("the topic is gone", Duration::from_secs(30), || {
        !tool_topics(&servers).contains(&topic)
    });
    let gone = kafkit(&with(&servers, &["topics", "delete", &topic]), None);
    assert_eq!(gone.code(), Some(1), "{}", gone.describe());
}

#[test]
fn broker_cli_metadata_names_the_broker_and_leaders() {
    let Some(servers) = broker("broker_cli_metadata_names_the_broker_and_leaders") else {
        return;
    };
    let topic = create_topic(&servers, "cli-meta", 2);
    let run = ok(&servers, &["metadata", &topic]);
    let out = run.out();
    let port = servers.rsplit(':').next().expect("port");
    assert!(
        out.contains(&format!(":{port}\n")),
        "the bootstrap broker is listed: {out}"
    );
    assert!(out.contains("controller "), "{out}");
    assert!(!out.contains("controller unknown"), "{out}");
    assert!(
        out.contains(&format!("topic {topic}: 2 partitions")),
        "{out}"
    );
    assert_eq!(out.matches("\tisr [").count(), 2, "{out}");
    ok(&servers, &["topics", "delete", &topic]);
}

/// A long-running `kafkit consume -g` member.
struct Member(Child);

impl Member {
    fn start(servers: &str, topic: &str, group: &str) -> Member {
        let child = common::clean(common::KAFKIT)
            .args(["-b", servers, "consume", topic, "-g", group])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start a member");
        Member(child)
    }

    /// Ctrl-C: the member leaves its group and exits with success.
    fn interrupt(mut self) {
        let pid = self.0.id().to_string();
        let sent = Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .expect("kill -INT");
        assert!(sent.success());
        let started = Instant::now();
        loop {
            if let Some(status) = self.0.try_wait().expect("wait") {
                assert!(
                    status.success(),
                    "the member exited with {status:?} on SIGINT"
                );
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "the member ignored SIGINT"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn broker_cli_groups_lag_and_reset_offsets_checked_with_kafka_consumer_groups() {
    let Some(servers) =
        broker("broker_cli_groups_lag_and_reset_offsets_checked_with_kafka_consumer_groups")
    else {
        return;
    };
    let topic = unique("cli-lag");
    let group = unique("cli-group");
    ok(
        &servers,
        &["topics", "create", &topic, "-p", "3", "-r", "1"],
    );
    let input: String = (0..30).map(|i| format!("k{i}:v{i}\n")).collect();
    kafkit(
        &with(&servers, &["produce", &topic, "-K", ":"]),
        Some(input.as_bytes()),
    )
    .assert_ok("produce");
    let read = ok(&servers, &["consume", &topic, "-g", &group, "-c", "10"]);
    assert_eq!(read.out().lines().count(), 10);

    // kafkit's lag and Kafka's tool agree, partition by partition (both
    // show the partitions the group has committed offsets for).
    let (ours, total) = kafkit_lag(&servers, &group, &topic);
    let theirs = tool_group_offsets(&servers, &group, &topic);
    assert_eq!(ours, theirs, "kafkit groups lag vs kafka-consumer-groups");
    let committed: i64 = ours
        .values()
        .map(|r| r.0.parse::<i64>().expect("committed"))
        .sum();
    let lags: i64 = ours
        .values()
        .map(|r| r.2.parse::<i64>().expect("lag"))
        .sum();
    assert_eq!(committed, 10, "{ours:?}");
    assert_eq!(total, lags, "{ours:?}");

    let listed = ok(&servers, &["groups", "list"]);
    assert!(
        listed.out().contains(&format!("{group}\tEmpty")),
        "{}",
        listed.describe()
    );
    let described = ok(&servers, &["groups", "describe", &group]);
    assert!(
        described.out().contains("Empty"),
        "{}",
        described.describe()
    );

    // A dry run changes nothing.
    let dry = reset(
        &servers,
        &group,
        &["-t", &topic, "--to-earliest", "--dry-run"],
    );
    assert!(dry.out().contains("dry run"), "{}", dry.describe());
    assert_eq!(tool_group_offsets(&servers, &group, &topic), theirs);

    // To the earliest: the tool sees offset 0 everywhere, lag 30.
    reset(&servers, &group, &["-t", &topic, "--to-earliest"]);
    let after = tool_group_offsets(&servers, &group, &topic);
    for (p, (current, end, lag)) in &after {
        assert_eq!(current, "0", "partition {p}: {after:?}");
        assert_eq!(lag, end, "partition {p}: {after:?}");
    }
    assert_eq!(kafkit_lag(&servers, &group, &topic).1, 30);

    // To an offset, on one partition, kept within its offsets.
    let end0: i64 = after[&0].1.parse().expect("end");
    reset(
        &servers,
        &group,
        &["-t", &format!("{topic}:0"), "--to-offset", "1000000"],
    );
    let after = tool_group_offsets(&servers, &group, &topic);
    assert_eq!(after[&0].0, end0.to_string(), "{after:?}");
    assert_eq!(after[&1].0, "0", "other partitions untouched: {after:?}");

    // To a time: the first message of partition 1 at or after the
    // timestamp of its second message.
    let rows: Vec<Value> = kafkit(
        &with(&servers, &["consume", &topic, "-p", "1", "-e", "-J"]),
        None,
    )
    .out()
    .lines()
    .map(|l| serde_json::from_str(l).expect("JSON"))
    .collect();
    assert!(rows.len() >= 2, "partition 1 has {} messages", rows.len());
    let ts = rows[1]["timestamp"].as_i64().expect("timestamp");
    let expected = rows
        .iter()
        .position(|r| r["timestamp"].as_i64().is_some_and(|t| t >= ts))
        .expect("a message at that time");
    reset(
        &servers,
        &group,
        &[
            "-t",
            &format!("{topic}:1"),
            "--to-timestamp",
            &ts.to_string(),
        ],
    );
    assert_eq!(
        tool_group_offsets(&servers, &group, &topic)[&1].0,
        expected.to_string()
    );
    // consume -o @TIMESTAMP starts at the same message.
    let from_time = ok(
        &servers,
        &[
            "consume",
            &topic,
            "-p",
            "1",
            "-o",
            &format!("@{ts}"),
            "-e",
            "-f",
            "{offset}\\n",
        ],
    );
    assert_eq!(
        from_time.out().lines().next(),
        Some(expected.to_string().as_str()),
        "{}",
        from_time.describe()
    );
    // A time after every message: the end.
    reset(
        &servers,
        &group,
        &["--all-topics", "--to-datetime", "2100-01-01T00:00:00Z"],
    );
    assert_eq!(kafkit_lag(&servers, &group, &topic).1, 0);

    // With a member running, the reset is refused with a reason; the
    // member leaves on Ctrl-C.
    let member = Member::start(&servers, &topic, &group);
    wait_until("the member joins", Duration::from_secs(60), || {
        let d = kafkit(&with(&servers, &["groups", "describe", &group]), None);
        d.out().contains("Stable")
    });
    let refused = kafkit(
        &with(
            &servers,
            &[
                "groups",
                "reset-offsets",
                &group,
                "-t",
                &topic,
                "--to-earliest",
            ],
        ),
        None,
    );
    assert_eq!(refused.code(), Some(1), "{}", refused.describe());
    assert!(
        refused.err().contains("active member"),
        "{}",
        refused.describe()
    );
    member.interrupt();

    wait_until("the group is empty", Duration::from_secs(60), || {
        kafkit(&with(&servers, &["groups", "describe", &group]), None)
            .out()
            .contains("Empty")
    });
    ok(&servers, &["groups", "delete", &group]);
    let left = tool(&["consumer-groups", "--bootstrap-server", &servers, "--list"]).out();
    assert!(!left.lines().any(|l| l.trim() == group), "{left}");
    ok(&servers, &["topics", "delete", &topic]);
}

#[test]
fn broker_cli_records_cross_with_kafka_console_tools_byte_for_byte() {
    let Some(servers) = broker("broker_cli_records_cross_with_kafka_console_tools_byte_for_byte")
    else {
        return;
    };
    let lines = [
        "k1:plain",
        "k2:ünïcødé ✓",
        "k3:{\"json\": [1, 2]}",
        "k4:tab\there",
        "k5:",
    ];
    let input: String = lines.iter().map(|l| format!("{l}\n")).collect();

    // kafkit produce -> Kafka's console consumer.
    let topic = create_topic(&servers, "cli-to-java", 1);
    kafkit(
        &with(&servers, &["produce", &topic, "-K", ":"]),
        Some(input.as_bytes()),
    )
    .assert_ok("produce");
    let java = tool(&[
        "console-consumer",
        "--bootstrap-server",
        &servers,
        "--topic",
        &topic,
        "--from-beginning",
        "--max-messages",
        &lines.len().to_string(),
        "--formatter-property",
        "print.key=true",
        "--formatter-property",
        "key.separator=:",
    ]);
    assert_eq!(java.stdout, input.as_bytes(), "{}", java.describe());

    // Kafka's console producer -> kafkit consume.
    let topic = create_topic(&servers, "java-to-cli", 1);
    let produced = kafka_sh(
        &[
            "console-producer",
            "--bootstrap-server",
            &servers,
            "--topic",
            &topic,
            "--reader-property",
            "parse.key=true",
            "--reader-property",
            "key.separator=:",
        ],
        Some(input.clone().into_bytes()),
        TOOL_TIMEOUT,
    );
    produced.assert_ok("console-producer");
    let ours = ok(
        &servers,
        &["consume", &topic, "-e", "-f", "{key}:{value}\\n"],
    );
    assert_eq!(ours.out(), input);
}

#[test]
fn broker_cli_isolation_read_committed_hides_aborted_records() {
    let Some(servers) = broker("broker_cli_isolation_read_committed_hides_aborted_records") else {
        return;
    };
    let topic = create_topic(&servers, "cli-txn", 1);
    let mut config = ClientConfig::new();
    config.bootstrap_servers(&servers).expect("servers");
    config
        .set("transactional.id", unique("cli-txn-id"))
        .expect("txn id");
    let producer = Producer::new(&config).expect("producer");
    let t = Duration::from_secs(30);
    producer.init_transactions(t).expect("init");
    for (value, commit) in [("aborted", false), ("committed", true)] {
        producer.begin_transaction().expect("begin");
        let mut sent = producer
            .send_blocking(Record::to(topic.as_str()).value(value), t)
            .expect("send");
        sent.wait(t).expect("a report in time").expect("delivered");
        if commit {
            producer.commit_transaction(t).expect("commit");
        } else {
            producer.abort_transaction(t).expect("abort");
        }
    }
    let committed = ok(
        &servers,
        &["consume", &topic, "-e", "--isolation", "read_committed"],
    );
    assert_eq!(committed.out(), "committed\n");
    let all = ok(
        &servers,
        &["consume", &topic, "-e", "--isolation", "read_uncommitted"],
    );
    assert_eq!(all.out(), "aborted\ncommitted\n");

    // With a transaction left open, a read_committed reader's end is the
    // last stable offset, below the high watermark: -e still ends there.
    producer.begin_transaction().expect("begin");
    let mut sent = producer
        .send_blocking(Record::to(topic.as_str()).value("open"), t)
        .expect("send");
    sent.wait(t).expect("a report in time").expect("delivered");
    let stable = ok(
        &servers,
        &["consume", &topic, "-e", "--isolation", "read_committed"],
    );
    assert_eq!(stable.out(), "committed\n");
    producer.abort_transaction(t).expect("abort");
}
