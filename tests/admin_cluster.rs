//! The admin client on the three-node KRaft cluster started by
//! `scripts/kafka.sh start cluster`: the cluster's description, a topic
//! replicated three times, and a preferred leader election after a node
//! restart.
//!
//! The tests run when KAFKA_CLUSTER_BOOTSTRAP_SERVERS is set and otherwise
//! print that they were not run. One of them stops and starts a node, so
//! they run one at a time (a lock keeps them apart even without
//! `--test-threads=1`), and they leave all three nodes running, also when
//! they fail.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::tool::{kafka_sh, ToolRun};
use common::unique;
use kafkit::{
    AdminClient, AdminOptions, ClientConfig, ElectionType, ErrorCode, Metadata, NewTopic,
    TopicDescription,
};
use tokio::sync::{Mutex, MutexGuard};

/// The cluster's bootstrap servers, or None (after saying that the test was
/// not run).
fn cluster(test: &str) -> Option<String> {
    match std::env::var("KAFKA_CLUSTER_BOOTSTRAP_SERVERS") {
        Ok(s) if !s.is_empty() => Some(s),
        _ => {
            eprintln!(
                "NOT RUN: {test} needs the three-node cluster; set KAFKA_CLUSTER_BOOTSTRAP_SERVERS \
                 (eval \"$(scripts/kafka.sh start cluster)\")"
            );
            None
        }
    }
}

/// One cluster test at a time: one takes a node down. (tokio's lock, held
/// across awaits; a failed test does not poison it.)
async fn exclusive() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::const_new(());
    LOCK.lock().await
}

fn admin(servers: &str) -> AdminClient {
    let mut config = ClientConfig::new();
    config.bootstrap_servers(servers).expect("bootstrap");
    AdminClient::new(&config).expect("admin client")
}

fn options() -> AdminOptions {
    AdminOptions::new()
        .request_timeout(Duration::from_secs(30))
        .operation_timeout(Duration::from_secs(30))
}

fn describe_options() -> AdminOptions {
    AdminOptions::new().request_timeout(Duration::from_secs(30))
}

/// Creates a topic with three replicas. A node that was just restarted may
/// not be registered again yet (then three replicas cannot be placed), so
/// this retries for a while.
async fn create_replicated(admin: &AdminClient, topic: &str, partitions: i32, min_isr: bool) {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let mut new = NewTopic::new(topic, partitions, 3);
        if min_isr {
            new = new.config("min.insync.replicas", "2");
        }
        let results = admin
            .create_topics(&[new], &options())
            .await
            .expect("create topics");
        match &results[0].result {
            Ok(()) => return,
            Err(e) => {
                assert!(
                    Instant::now() < deadline,
                    "creating {topic} failed for 90 s: {e}"
                );
                eprintln!("creating {topic} failed, retrying: {e}");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// Describes `topic` until every partition has a leader and three replicas
/// in sync, within 90 s.
async fn wait_fully_replicated(admin: &AdminClient, topic: &str) -> TopicDescription {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let described = admin
            .describe_topics(&[topic], &describe_options())
            .await
            .ok()
            .and_then(|mut r| r.pop())
            .and_then(|r| r.result.ok());
        if let Some(d) = &described {
            let ready = !d.partitions.is_empty()
                && d.partitions
                    .iter()
                    .all(|p| p.leader.is_some() && p.replicas.len() == 3 && p.isr.len() == 3);
            if ready {
                return d.clone();
            }
        }
        assert!(
            Instant::now() < deadline,
            "{topic} not fully replicated after 90 s: {described:#?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Asks for `topic`'s metadata until `ready` holds, within `limit`.
fn wait_metadata(
    admin: &AdminClient,
    topic: &str,
    limit: Duration,
    what: &str,
    ready: impl Fn(&Metadata) -> bool,
) -> Metadata {
    let deadline = Instant::now() + limit;
    loop {
        let md = admin.metadata(Some(topic), Duration::from_secs(10));
        if let Ok(md) = &md {
            if ready(md) {
                return md.clone();
            }
        }
        assert!(Instant::now() < deadline, "{what} within {limit:?}: {md:?}");
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// A cluster node this test took down. Until `restart` succeeds, dropping
/// the guard (also while a failed test unwinds) starts the node again, so
/// the next test finds three nodes.
struct NodeDown {
    id: i32,
    down: bool,
}

impl NodeDown {
    fn stop(id: i32) -> Self {
        let run = kafka_sh(
            &["stop-node", &id.to_string()],
            None,
            Duration::from_secs(90),
        );
        assert!(run.ok(), "stop-node {id}: {}", run.describe());
        eprintln!("stop-node {id}: done after {:?}", run.took);
        NodeDown { id, down: true }
    }

    fn restart(&mut self) -> ToolRun {
        let run = kafka_sh(
            &["start-node", &self.id.to_string()],
            None,
            Duration::from_secs(150),
        );
        if run.ok() {
            self.down = false;
        }
        eprintln!("start-node {}: {} after {:?}", self.id, run.ok(), run.took);
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

#[tokio::test]
async fn cluster_admin_describe_shows_three_nodes_and_the_controller() {
    let Some(servers) = cluster("cluster_admin_describe_shows_three_nodes") else {
        return;
    };
    let _one = exclusive().await;
    let admin = admin(&servers);
    let described = admin
        .describe_cluster(&describe_options())
        .await
        .expect("describe cluster");
    let nodes: BTreeSet<(i32, String, u16)> = described
        .nodes
        .iter()
        .map(|n| (n.id, n.host.clone(), n.port))
        .collect();
    let expected: BTreeSet<(i32, String, u16)> = [(1, 9192), (2, 9292), (3, 9392)]
        .into_iter()
        .map(|(id, port)| (id, "127.0.0.1".to_string(), port))
        .collect();
    assert_eq!(nodes, expected, "{described:?}");
    let controller = described.controller.as_ref().expect("a controller");
    assert!(described.nodes.contains(controller), "{described:?}");

    let md = admin
        .metadata(None, Duration::from_secs(10))
        .expect("metadata");
    let mut ids: Vec<i32> = md.brokers.iter().map(|b| b.id).collect();
    ids.sort_unstable();
    assert_eq!(ids, [1, 2, 3], "{md:?}");
    assert!(md.controller_id.is_some_and(|c| ids.contains(&c)), "{md:?}");
    assert!(described.cluster_id.is_some());
    assert_eq!(described.cluster_id, md.cluster_id);
}

#[tokio::test]
async fn cluster_admin_topic_with_three_replicas_and_two_in_sync_minimum() {
    let Some(servers) = cluster("cluster_admin_topic_with_three_replicas") else {
        return;
    };
    let _one = exclusive().await;
    let admin = admin(&servers);
    let topic = unique("cluster-admin-replicated");
    create_replicated(&admin, &topic, 2, true).await;
    let described = wait_fully_replicated(&admin, &topic).await;
    assert_eq!(described.partitions.len(), 2);
    for p in &described.partitions {
        let replicas: BTreeSet<i32> = p.replicas.iter().map(|n| n.id).collect();
        let isr: BTreeSet<i32> = p.isr.iter().map(|n| n.id).collect();
        assert_eq!(replicas, BTreeSet::from([1, 2, 3]), "{p:?}");
        assert_eq!(isr, replicas, "{p:?}");
    }
    let md = wait_metadata(
        &admin,
        &topic,
        Duration::from_secs(30),
        "three replicas in sync in the metadata",
        |md| {
            md.topic(&topic).is_some_and(|t| {
                t.partitions.len() == 2
                    && t.partitions
                        .iter()
                        .all(|p| p.replicas.len() == 3 && p.isr.len() == 3 && p.leader.is_some())
            })
        },
    );
    for p in &md.topic(&topic).expect("topic").partitions {
        assert_eq!(p.error, None);
        // The metadata and the description agree on the preferred order.
        let d = &described.partitions[p.id as usize];
        assert_eq!(
            p.replicas,
            d.replicas.iter().map(|n| n.id).collect::<Vec<_>>()
        );
    }
    // The topic config, as Kafka's tool shows it.
    let run = kafka_sh(
        &[
            "topics",
            "--bootstrap-server",
            &servers,
            "--describe",
            "--topic",
            &topic,
        ],
        None,
        Duration::from_secs(60),
    );
    assert!(run.ok(), "{}", run.describe());
    let out = run.stdout_text();
    assert!(out.contains("ReplicationFactor: 3"), "{out}");
    assert!(out.contains("min.insync.replicas=2"), "{out}");
    // A third partition, placed by hand with node 3 as preferred leader.
    let more = admin
        .create_partitions(
            &[kafkit::NewPartitions::new(&topic, 3).replica_assignment(&[&[3, 1, 2]])],
            &options(),
        )
        .await
        .expect("create partitions");
    assert!(more[0].is_ok(), "{more:?}");
    let md = wait_metadata(
        &admin,
        &topic,
        Duration::from_secs(30),
        "the new partition on 3, 1, 2",
        |md| {
            md.topic(&topic)
                .and_then(|t| t.partitions.get(2))
                .is_some_and(|p| p.replicas == [3, 1, 2] && p.isr.len() == 3)
        },
    );
    assert_eq!(md.topic(&topic).map(|t| t.partitions.len()), Some(3));
    let deleted = admin.delete_topics(&[&topic], &options()).await;
    assert!(deleted.is_ok_and(|r| r[0].is_ok()));
}

#[tokio::test]
async fn cluster_admin_elect_preferred_leader_after_node_restart() {
    let Some(servers) = cluster("cluster_admin_elect_preferred_leader") else {
        return;
    };
    let _one = exclusive().await;
    let admin = admin(&servers);
    let topic = unique("cluster-admin-elect");
    create_replicated(&admin, &topic, 1, false).await;
    let described = wait_fully_replicated(&admin, &topic).await;
    let partition = &described.partitions[0];
    let preferred = partition.replicas[0].id;
    let leader = partition.leader.as_ref().expect("a leader").id;
    eprintln!(
        "{topic}: replicas {:?}, leader {leader}",
        partition.replicas
    );
    // A new partition starts with its preferred replica as leader; if not,
    // elect it first so that the test starts from there.
    if leader != preferred {
        let _ = admin
            .elect_leaders(
                ElectionType::Preferred,
                Some(&[(topic.as_str(), 0)]),
                &options(),
            )
            .await;
    }
    let leader_of = |md: &Metadata| {
        md.topic(&topic)
            .and_then(|t| t.partitions.first())
            .and_then(|p| p.leader)
    };
    wait_metadata(
        &admin,
        &topic,
        Duration::from_secs(30),
        "the preferred replica leads",
        |md| leader_of(md) == Some(preferred),
    );

    let mut down = NodeDown::stop(preferred);
    let moved = wait_metadata(
        &admin,
        &topic,
        Duration::from_secs(60),
        "leadership moves off the stopped node",
        |md| leader_of(md).is_some_and(|l| l != preferred),
    );
    eprintln!(
        "leader while node {preferred} is down: {:?}",
        leader_of(&moved)
    );
    let run = down.restart();
    assert!(run.ok(), "start-node {preferred}: {}", run.describe());
    // Back in sync, but not leading: Kafka moves leadership back only by an
    // election (or its periodic rebalance, every 5 minutes by default).
    let back = wait_fully_replicated(&admin, &topic).await;
    eprintln!(
        "after the restart: leader {:?}, isr {:?}",
        back.partitions[0].leader.as_ref().map(|n| n.id),
        back.partitions[0]
            .isr
            .iter()
            .map(|n| n.id)
            .collect::<Vec<_>>()
    );

    let results = admin
        .elect_leaders(
            ElectionType::Preferred,
            Some(&[(topic.as_str(), 0)]),
            &options(),
        )
        .await
        .expect("elect leaders");
    assert_eq!(results.len(), 1, "{results:?}");
    assert_eq!(
        (results[0].topic.as_str(), results[0].partition),
        (topic.as_str(), 0)
    );
    match &results[0].result {
        Ok(()) => {}
        // Kafka's own periodic rebalance got there first.
        Err(e) if e.code() == Some(ErrorCode::ElectionNotNeeded) => {
            eprintln!("election not needed: {e}")
        }
        Err(e) => panic!("electing the preferred leader failed: {e}"),
    }
    wait_metadata(
        &admin,
        &topic,
        Duration::from_secs(30),
        "the preferred replica leads again",
        |md| leader_of(md) == Some(preferred),
    );
    let after = admin
        .describe_topics(&[&topic], &describe_options())
        .await
        .expect("describe");
    let p = &after[0].result.as_ref().expect("described").partitions[0];
    assert_eq!(p.leader.as_ref().map(|n| n.id), Some(p.replicas[0].id));
    let again = admin
        .elect_leaders(
            ElectionType::Preferred,
            Some(&[(topic.as_str(), 0)]),
            &options(),
        )
        .await
        .expect("elect again");
    assert_eq!(
        again[0].result.as_ref().err().and_then(|e| e.code()),
        Some(ErrorCode::ElectionNotNeeded),
        "{again:?}"
    );
    let _ = admin.delete_topics(&[&topic], &options()).await;
}
