//! The topics of `compare`'s runs: created fresh for every run, filled for
//! consume runs, deleted after.

use std::time::{Duration, Instant};

use kafkit::{AdminClient, AdminOptions, ClientConfig, MockCluster, NewTopic, Producer, Record};

use super::protocol::Compression;

/// Where topics are made.
pub enum Topics<'a> {
    /// The in-process mock cluster (its topics go when it does).
    Mock(&'a MockCluster),
    /// A real broker, through kafkit's admin client.
    Real { admin: AdminClient },
}

impl<'a> Topics<'a> {
    pub fn mock(cluster: &'a MockCluster) -> Self {
        Topics::Mock(cluster)
    }

    pub fn real(bootstrap: &str) -> Result<Self, String> {
        let mut config = ClientConfig::new();
        config
            .bootstrap_servers(bootstrap)
            .map_err(|e| format!("admin client config: {e}"))?;
        let admin = AdminClient::new(&config)
            .map_err(|e| format!("cannot create the admin client: {e}"))?;
        Ok(Topics::Real { admin })
    }

    /// Creates `topic` with `partitions` partitions (replication factor 1)
    /// and waits until every partition has a leader.
    pub fn create(&self, topic: &str, partitions: i32) -> Result<(), String> {
        match self {
            Topics::Mock(cluster) => cluster
                .create_topic(topic, partitions, 1)
                .map_err(|e| format!("cannot create topic {topic} on the mock cluster: {e}")),
            Topics::Real { admin } => {
                let options = AdminOptions::new().operation_timeout(Duration::from_secs(30));
                let results = futures::executor::block_on(
                    admin.create_topics(&[NewTopic::new(topic, partitions, 1)], &options),
                )
                .map_err(|e| format!("cannot create topic {topic}: {e}"))?;
                for r in results {
                    r.result
                        .map_err(|e| format!("cannot create topic {}: {e}", r.name))?;
                }
                self.wait_for_leaders(admin, topic, partitions)
            }
        }
    }

    fn wait_for_leaders(
        &self,
        admin: &AdminClient,
        topic: &str,
        partitions: i32,
    ) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = admin
                .metadata(Some(topic), Duration::from_secs(5))
                .map(|m| {
                    m.topics.iter().any(|t| {
                        t.name == topic
                            && t.error.is_none()
                            && t.partitions.len() == partitions as usize
                            && t.partitions
                                .iter()
                                .all(|p| p.leader.is_some() && p.error.is_none())
                    })
                })
                .unwrap_or(false);
            if ready {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "topic {topic}: partitions without a leader after 30 s"
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Deletes `topic` (nothing to do on the mock cluster).
    pub fn delete(&self, topic: &str) -> Result<(), String> {
        match self {
            Topics::Mock(_) => Ok(()),
            Topics::Real { admin } => {
                let options = AdminOptions::new().operation_timeout(Duration::from_secs(30));
                let results = futures::executor::block_on(admin.delete_topics(&[topic], &options))
                    .map_err(|e| format!("cannot delete topic {topic}: {e}"))?;
                for r in results {
                    r.result
                        .map_err(|e| format!("cannot delete topic {}: {e}", r.name))?;
                }
                Ok(())
            }
        }
    }
}

/// Records in flight at most while filling a topic.
const FILL_WINDOW: usize = 20_000;

/// Fills `topic` with `messages` records of `size` bytes, round robin over
/// its `partitions`, with acks=all and `compression` (so that a consume
/// run decompresses what a producer with that codec would have written),
/// and waits for every delivery report.
pub fn fill(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    messages: u64,
    size: usize,
    compression: Compression,
) -> Result<(), String> {
    let mut config = ClientConfig::new();
    config
        .bootstrap_servers(bootstrap)
        .map_err(|e| format!("fill producer config: {e}"))?;
    for (key, value) in [
        ("acks", "all"),
        ("linger.ms", "20"),
        ("compression.type", compression.name()),
    ] {
        config
            .set(key, value)
            .map_err(|e| format!("fill producer: cannot set {key}={value}: {e}"))?;
    }
    let producer =
        Producer::new(&config).map_err(|e| format!("cannot create the fill producer: {e}"))?;
    let template = vec![b'x'; size];
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| format!("cannot build the tokio runtime: {e}"))?;
    rt.block_on(async {
        let mut window = std::collections::VecDeque::with_capacity(FILL_WINDOW);
        for i in 0..messages {
            let record = Record::to(topic)
                .value(template.clone())
                .partition((i % partitions.max(1) as u64) as i32);
            let delivery = producer
                .send(record)
                .await
                .map_err(|e| format!("fill: cannot send record {i}: {}", e.error))?;
            window.push_back(delivery);
            if window.len() >= FILL_WINDOW {
                if let Some(oldest) = window.pop_front() {
                    oldest
                        .await
                        .map_err(|e| format!("fill: a delivery failed: {}", e.error))?;
                }
            }
        }
        while let Some(delivery) = window.pop_front() {
            delivery
                .await
                .map_err(|e| format!("fill: a delivery failed: {}", e.error))?;
        }
        Ok::<(), String>(())
    })?;
    producer
        .flush(Duration::from_secs(30))
        .map_err(|e| format!("fill: flush: {e}"))
}
