//! Stream processing on the three-node cluster of `scripts/kafka.sh start
//! cluster`: an exactly-once word count whose worker is killed with
//! SIGKILL three times, with the leader of an input partition killed with
//! `kill -9` while the second worker runs. Runs when
//! KAFKA_CLUSTER_BOOTSTRAP_SERVERS is set (scripts/test.sh starts the
//! cluster and sets it), and otherwise prints that it was not run.

mod common;

use common::cluster::{cluster, create_topic, exclusive, wait_fully_replicated, NodeDown};
use common::stream_crash::{self, PARTITIONS};
use common::{unique, Target};

#[test]
fn cluster_streams_exactly_once_word_count_survives_worker_and_leader_kills() {
    if stream_crash::crash_child() {
        return;
    }
    let test = "cluster_streams_exactly_once_word_count_survives_worker_and_leader_kills";
    let Some(servers) = cluster(test) else {
        return;
    };
    let _one_at_a_time = exclusive();
    let target = Target::Broker(servers.clone());
    let (input, output) = (unique("st-cluster-words"), unique("st-cluster-out"));
    let id = unique("st-cluster-app");
    // Every topic of the app with three replicas, the changelog included
    // (the app would create it with the broker's default, one).
    let changelog = format!("{id}-counts-changelog");
    for topic in [&input, &output, &changelog] {
        create_topic(&servers, topic, PARTITIONS);
    }
    let layout = wait_fully_replicated(&servers, &input, PARTITIONS);
    let leader = layout[&0].leader.expect("partition 0 has a leader");
    let mut down: Option<NodeDown> = None;
    stream_crash::word_count_killed(&target, test, &id, (&input, &output), &mut |round| {
        if round != 2 {
            return false;
        }
        eprintln!("killing node {leader}, the leader of {input} [0]");
        let run = NodeDown::take_down(leader, "kill-node");
        assert!(run.ok(), "kill-node {leader}: {}", run.describe());
        down = Some(NodeDown::new(leader));
        true
    });
    // The node comes back before the next test (and is checked to).
    if let Some(mut node) = down {
        let run = node.restart();
        assert!(run.ok(), "start-node {leader}: {}", run.describe());
    }
}
