//! Shared test helpers: where to find a cluster, and how to read back what
//! was produced.
#![allow(dead_code)]

pub mod cluster;
pub mod consumer_scenarios;
pub mod delivery_scenarios;
pub mod group_scenarios;
pub mod partition_scenarios;
pub mod producer_scenarios;
pub mod stream_crash;
pub mod stream_disk;
pub mod stream_scenarios;
pub mod stream_windows;
pub mod tool;
pub mod txn_scenarios;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use kafkit::{ClientConfig, Consumer, Message, MockCluster, Offset};

/// The cluster a test runs against.
pub enum Target {
    /// librdkafka's in-process mock cluster.
    Mock(MockCluster),
    /// A real broker at these bootstrap servers.
    Broker(String),
}

impl Target {
    pub fn mock(brokers: u16) -> Target {
        Target::Mock(MockCluster::new(brokers).expect("mock cluster"))
    }

    /// The real broker named by KAFKA_BOOTSTRAP_SERVERS, or None (after
    /// saying loudly that the broker tests were not run).
    pub fn broker(test: &str) -> Option<Target> {
        match std::env::var("KAFKA_BOOTSTRAP_SERVERS") {
            Ok(s) if !s.is_empty() => Some(Target::Broker(s)),
            _ => {
                eprintln!(
                    "NOT RUN: {test} needs a real broker; set KAFKA_BOOTSTRAP_SERVERS \
                     (scripts/test.sh starts one)"
                );
                None
            }
        }
    }

    pub fn bootstrap(&self) -> String {
        match self {
            Target::Mock(c) => c.bootstrap_servers(),
            Target::Broker(s) => s.clone(),
        }
    }

    pub fn config(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.bootstrap_servers(&self.bootstrap()).expect("bootstrap");
        c
    }

    /// Creates a topic with a unique name and `partitions` partitions.
    pub fn topic(&self, prefix: &str, partitions: i32) -> String {
        let name = unique(prefix);
        match self {
            Target::Mock(c) => c.create_topic(&name, partitions, 1).expect("create topic"),
            Target::Broker(servers) => create_topic_with_tool(servers, &name, partitions),
        }
        name
    }
}

/// A topic name that no other test or run uses.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}-{}-{nanos}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Creates a topic on a real broker with Kafka's own tool.
fn create_topic_with_tool(servers: &str, name: &str, partitions: i32) {
    let partitions = partitions.to_string();
    let run = tool::kafka_sh(
        &[
            "topics",
            "--bootstrap-server",
            servers,
            "--create",
            "--topic",
            name,
            "--partitions",
            &partitions,
        ],
        None,
        Duration::from_secs(60),
    );
    assert!(run.ok(), "creating topic {name} failed: {}", run.describe());
}

/// Reads `expected` messages from partitions 0..partitions of `topic`, from
/// the beginning, within `timeout`.
pub fn read_back(
    target: &Target,
    topic: &str,
    partitions: i32,
    expected: usize,
    timeout: Duration,
) -> Vec<Message> {
    let mut config = target.config();
    config
        .group_id(&unique("reader"))
        .and_then(|c| c.enable_auto_commit(false))
        .expect("consumer config");
    let consumer = Consumer::new(&config).expect("consumer");
    let assignment: Vec<(&str, i32, Offset)> = (0..partitions)
        .map(|p| (topic, p, Offset::Beginning))
        .collect();
    consumer.assign(&assignment).expect("assign");
    let deadline = Instant::now() + timeout;
    let mut out = Vec::with_capacity(expected);
    while out.len() < expected && Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => out.push(m),
            Some(Err(e)) => panic!("consumer error: {e}"),
            None => {}
        }
    }
    assert_eq!(
        out.len(),
        expected,
        "read back {} of {expected} messages from {topic} within {timeout:?}",
        out.len()
    );
    // Nothing more should be there.
    if let Some(Ok(extra)) = consumer.poll(Duration::from_millis(300)) {
        panic!("unexpected extra message {extra:?}");
    }
    out
}

/// Offsets per partition, sorted.
pub fn offsets_by_partition(pairs: impl IntoIterator<Item = (i32, i64)>) -> HashMap<i32, Vec<i64>> {
    let mut map: HashMap<i32, Vec<i64>> = HashMap::new();
    for (p, o) in pairs {
        map.entry(p).or_default().push(o);
    }
    for v in map.values_mut() {
        v.sort_unstable();
    }
    map
}

/// A current-thread tokio runtime for tests that are not async fns.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}
