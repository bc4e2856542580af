//! Partition streams on a real Apache Kafka broker, with the classic and the
//! KIP-848 group protocols. They run when KAFKA_BOOTSTRAP_SERVERS is set
//! (scripts/test.sh starts a broker and sets it) and otherwise print that
//! they were not run.

mod common;

use common::{partition_scenarios as scenario, Target};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn broker_six_partition_streams_and_a_cooperative_revocation() {
    if let Some(target) = Target::broker("broker_six_partition_streams_cooperative") {
        scenario::six_streams_and_a_revocation(&target, None).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn broker_six_partition_streams_and_a_kip848_revocation() {
    if let Some(target) = Target::broker("broker_six_partition_streams_kip848") {
        scenario::six_streams_and_a_revocation(&target, Some("consumer")).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_a_partition_stream_splits_off_and_hands_back() {
    if let Some(target) = Target::broker("broker_partition_stream_hand_back") {
        scenario::split_off_and_hand_back(&target).await;
    }
}
