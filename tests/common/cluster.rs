//! Helpers of the cluster tier: the three-node cluster of
//! `scripts/kafka.sh start cluster`, topics with three replicas, partition
//! leaders, and nodes taken down and started again.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::tool::{kafka_sh, ToolRun};

/// The cluster's bootstrap servers, or None (after saying that the test was
/// not run).
pub fn cluster(test: &str) -> Option<String> {
    match std::env::var("KAFKA_CLUSTER_BOOTSTRAP_SERVERS") {
        Ok(s) if !s.is_empty() => Some(s),
        _ => {
            eprintln!(
                "NOT RUN: {test} needs the three-node cluster; set KAFKA_CLUSTER_BOOTSTRAP_SERVERS \
                 (scripts/test.sh starts one; or eval \"$(scripts/kafka.sh start cluster)\")"
            );
            None
        }
    }
}

/// One cluster test at a time: they take nodes down.
pub fn exclusive() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Creates a topic with three replicas. A node that was just restarted may
/// not be registered again yet (then three replicas cannot be placed), so
/// this retries for a while.
pub fn create_topic(servers: &str, topic: &str, partitions: i32) {
    let deadline = Instant::now() + Duration::from_secs(90);
    let partitions = partitions.to_string();
    loop {
        let run = kafka_sh(
            &[
                "topics",
                "--bootstrap-server",
                servers,
                "--create",
                "--topic",
                topic,
                "--partitions",
                &partitions,
                "--replication-factor",
                "3",
            ],
            None,
            Duration::from_secs(60),
        );
        if run.ok()
            || run.stdout_text().contains("already exists")
            || run.stderr_text().contains("already exists")
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "creating topic {topic} failed: {}",
            run.describe()
        );
        eprintln!(
            "creating {topic} failed, retrying: {}",
            run.stderr_text().trim()
        );
        std::thread::sleep(Duration::from_secs(2));
    }
}

/// One partition as `topics --describe` shows it.
#[derive(Debug, Clone)]
pub struct PartitionState {
    pub leader: Option<u32>,
    pub replicas: Vec<u32>,
    pub isr: Vec<u32>,
}

/// Parses `topics --describe` lines such as
/// `Topic: t  TopicId: ..  Partition: 0  Leader: 2  Replicas: 2,3,1  Isr: 2,3,1`.
pub fn parse_describe(out: &str) -> BTreeMap<i32, PartitionState> {
    let ids =
        |s: &str| -> Vec<u32> { s.split(',').filter_map(|n| n.trim().parse().ok()).collect() };
    let mut partitions = BTreeMap::new();
    for line in out.lines() {
        let fields: BTreeMap<&str, &str> = line
            .split('\t')
            .filter_map(|f| f.split_once(": "))
            .map(|(k, v)| (k.trim(), v.trim()))
            .collect();
        let Some(partition) = fields.get("Partition").and_then(|p| p.parse().ok()) else {
            continue;
        };
        partitions.insert(
            partition,
            PartitionState {
                leader: fields.get("Leader").and_then(|l| l.parse().ok()),
                replicas: fields.get("Replicas").map(|r| ids(r)).unwrap_or_default(),
                isr: fields.get("Isr").map(|r| ids(r)).unwrap_or_default(),
            },
        );
    }
    partitions
}

/// Waits until every partition of `topic` has a leader and all three
/// replicas in sync, and returns their state.
pub fn wait_fully_replicated(
    servers: &str,
    topic: &str,
    partitions: i32,
) -> BTreeMap<i32, PartitionState> {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let run = kafka_sh(
            &[
                "topics",
                "--bootstrap-server",
                servers,
                "--describe",
                "--topic",
                topic,
            ],
            None,
            Duration::from_secs(60),
        );
        let state = parse_describe(&run.stdout_text());
        let ready = state.len() == partitions as usize
            && state
                .values()
                .all(|p| p.leader.is_some() && p.isr.len() == 3 && p.replicas.len() == 3);
        if ready {
            return state;
        }
        assert!(
            Instant::now() < deadline,
            "{topic} is not fully replicated after 90 s: {state:#?}\n{}",
            run.describe()
        );
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// The group's coordinator, from `consumer-groups --describe --state`
/// (`GROUP COORDINATOR (ID) ...` with the coordinator as `host:port (ID)`).
pub fn group_coordinator(servers: &str, group: &str) -> Option<u32> {
    let run = kafka_sh(
        &[
            "consumer-groups",
            "--bootstrap-server",
            servers,
            "--describe",
            "--group",
            group,
            "--state",
        ],
        None,
        Duration::from_secs(60),
    );
    let stdout = run.stdout_text();
    let line = stdout
        .lines()
        .find(|l| l.split_whitespace().next() == Some(group))?;
    eprintln!("group state: {}", line.trim());
    let open = line.find('(')?;
    let close = open + line[open..].find(')')?;
    line[open + 1..close].trim().parse().ok()
}

/// A cluster node this test took down. Until `restart` succeeds, dropping
/// the guard (also while a failed test unwinds) starts the node again, so
/// the next test finds three nodes.
pub struct NodeDown {
    id: u32,
    down: bool,
}

impl NodeDown {
    pub fn new(id: u32) -> Self {
        NodeDown { id, down: true }
    }

    /// `kill-node` (SIGKILL) or `stop-node` (SIGTERM).
    pub fn take_down(id: u32, how: &str) -> ToolRun {
        let started = Instant::now();
        let run = kafka_sh(&[how, &id.to_string()], None, Duration::from_secs(60));
        eprintln!(
            "{how} {id}: {} after {:?} ({})",
            if run.ok() { "done" } else { "FAILED" },
            started.elapsed(),
            run.stderr_text().trim()
        );
        run
    }

    pub fn restart(&mut self) -> ToolRun {
        let run = kafka_sh(
            &["start-node", &self.id.to_string()],
            None,
            Duration::from_secs(150),
        );
        if run.ok() {
            self.down = false;
        }
        eprintln!(
            "start-node {}: {} after {:?}",
            self.id,
            if run.ok() { "up" } else { "FAILED" },
            run.took
        );
        run
    }
}

impl Drop for NodeDown {
    fn drop(&mut self) {
        if self.down {
            let run = self.restart();
            if !run.ok() {
                eprintln!("could not restart node {}: {}", self.id, run.describe());
            }
        }
    }
}
