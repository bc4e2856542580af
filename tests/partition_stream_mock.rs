//! Partition streams on librdkafka's mock cluster; the same scenarios run on
//! a real broker in tests/partition_stream_broker.rs.

mod common;

use common::{partition_scenarios as scenario, Target};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn six_partition_streams_and_a_cooperative_revocation() {
    scenario::six_streams_and_a_revocation(&Target::mock(1), None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_stream_splits_off_and_hands_back() {
    scenario::split_off_and_hand_back(&Target::mock(1)).await;
}
