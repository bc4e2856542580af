//! Transactions against the real broker: commit and abort as a
//! `read_committed` reader (kafkit's and Kafka's Java console consumer)
//! sees them, offsets committed with the transaction (checked with
//! `kafka-consumer-groups`), and fencing by a newer producer.

mod common;

use std::time::Duration;

use common::tool::kafka_sh;
use common::txn_scenarios::{self, read_values};
use common::Target;
use kafkit::{AdminClient, AdminOptions, Offset};

/// Deletes the test's topics when the test ends, pass or fail.
struct Cleanup {
    admin: AdminClient,
    topics: Vec<String>,
}

impl Cleanup {
    fn new(target: &Target, topics: &[&str]) -> Self {
        Cleanup {
            admin: AdminClient::new(&target.config()).expect("admin client"),
            topics: topics.iter().map(|t| t.to_string()).collect(),
        }
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let names: Vec<&str> = self.topics.iter().map(String::as_str).collect();
        let options = AdminOptions::new().request_timeout(Duration::from_secs(20));
        if let Ok(results) = futures::executor::block_on(self.admin.delete_topics(&names, &options))
        {
            for r in results {
                if let Err(e) = r.result {
                    eprintln!("cleanup of {}: {e}", r.name);
                }
            }
        }
    }
}

#[test]
fn broker_txn_commit_is_visible_and_abort_is_hidden() {
    let Some(target) = Target::broker("broker_txn_commit_is_visible_and_abort_is_hidden") else {
        return;
    };
    let topic = target.topic("txn-visible", 1);
    let _cleanup = Cleanup::new(&target, &[&topic]);
    let (committed, aborted) = txn_scenarios::commit_then_abort(&target, &topic, true);

    let seen = read_values(&target, &topic, "read_committed", committed.len());
    assert_eq!(
        seen, committed,
        "read_committed sees exactly the committed records"
    );
    // The aborted records are in the log: read_uncommitted sees them.
    let all = read_values(
        &target,
        &topic,
        "read_uncommitted",
        committed.len() + aborted.len(),
    );
    assert_eq!(all, ["c1", "c2", "c3", "a1", "a2", "c4"]);

    // Kafka's own read_committed consumer agrees.
    let servers = target.bootstrap();
    let run = kafka_sh(
        &[
            "console-consumer",
            "--bootstrap-server",
            &servers,
            "--topic",
            &topic,
            "--from-beginning",
            "--isolation-level",
            "read_committed",
            "--timeout-ms",
            "10000",
        ],
        None,
        Duration::from_secs(90),
    );
    assert!(
        run.status.is_some(),
        "the console consumer did not exit: {}",
        run.describe()
    );
    let text = run.stdout_text();
    let lines: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(lines, committed, "console consumer: {}", run.describe());
}

#[test]
fn broker_txn_send_offsets_commits_only_with_the_transaction() {
    let Some(target) = Target::broker("broker_txn_send_offsets_commits_only_with_the_transaction")
    else {
        return;
    };
    let input = target.topic("txn-in", 1);
    let output = target.topic("txn-out", 1);
    let _cleanup = Cleanup::new(&target, &[&input, &output]);
    let (offsets, group) = txn_scenarios::offsets_with_transaction(&target, &input, &output);
    assert_eq!(
        offsets,
        [Offset::Invalid, Offset::Invalid, Offset::At(3)],
        "[before the commit, after the abort, after the commit]"
    );

    // Kafka's own tool sees the offset the transaction committed.
    let servers = target.bootstrap();
    let run = kafka_sh(
        &[
            "consumer-groups",
            "--bootstrap-server",
            &servers,
            "--describe",
            "--group",
            &group,
        ],
        None,
        Duration::from_secs(60),
    );
    assert!(run.ok(), "{}", run.describe());
    let text = run.stdout_text();
    let row: Vec<&str> = text
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some(input.as_str()))
        .unwrap_or_else(|| panic!("no row for {input}: {}", run.describe()))
        .split_whitespace()
        .collect();
    // GROUP TOPIC PARTITION CURRENT-OFFSET ...
    assert_eq!((row[2], row[3]), ("0", "3"), "{}", run.describe());
}

#[test]
fn broker_txn_fencing_is_fatal() {
    let Some(target) = Target::broker("broker_txn_fencing_is_fatal") else {
        return;
    };
    let topic = target.topic("txn-fence", 1);
    let _cleanup = Cleanup::new(&target, &[&topic]);
    let err = txn_scenarios::fencing(&target, &topic);
    eprintln!("fenced producer's commit: {err}");
    assert!(err.to_string().to_lowercase().contains("fenced"), "{err}");
    // Only the newer producer's record was committed.
    assert_eq!(read_values(&target, &topic, "read_committed", 1), ["new"]);
}
