//! The consumer scenarios of tests/consumer_mock.rs on a real Apache Kafka
//! broker, plus the KIP-848 group protocol, which needs one. They run when
//! KAFKA_BOOTSTRAP_SERVERS is set (scripts/test.sh starts a broker and sets
//! it) and otherwise print that they were not run.

mod common;

use common::{consumer_scenarios as scenario, Target};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_stream_keeps_up_with_a_producer() {
    if let Some(target) = Target::broker("broker_stream_keeps_up") {
        scenario::stream_keeps_up(&target, 1_000_000).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_dropping_a_pending_next_loses_no_message() {
    if let Some(target) = Target::broker("broker_dropping_a_pending_next") {
        scenario::dropped_next_loses_nothing(&target).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_cooperative_group_split_and_takeover() {
    if let Some(target) = Target::broker("broker_cooperative_group") {
        scenario::group_split_and_takeover(&target, None).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_eager_group_split_and_takeover() {
    if let Some(target) = Target::broker("broker_eager_group") {
        scenario::group_split_and_takeover(&target, Some("classic")).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_kip848_group_protocol_with_two_members() {
    if let Some(target) = Target::broker("broker_kip848_group_protocol") {
        scenario::group_split_and_takeover(&target, Some("consumer")).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_stored_offsets_give_at_least_once() {
    if let Some(target) = Target::broker("broker_stored_offsets") {
        scenario::stored_offsets_reread_tail(&target).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_idle_timeout_ends_the_iterator() {
    if let Some(target) = Target::broker("broker_idle_timeout") {
        scenario::idle_timeout_ends_iterator(&target).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_batches_respect_max_and_within() {
    if let Some(target) = Target::broker("broker_batches") {
        scenario::batches_respect_max_and_within(&target).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_seek_pause_resume_watermarks_offsets_for_times() {
    if let Some(target) = Target::broker("broker_seek_pause_resume") {
        scenario::seek_pause_resume(&target).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_sync_and_async_commits() {
    if let Some(target) = Target::broker("broker_commits") {
        scenario::commits(&target).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_read_to_end_then_stop() {
    if let Some(target) = Target::broker("broker_read_to_end") {
        scenario::read_to_end_and_json(&target).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_subscribing_to_a_missing_topic_is_an_error() {
    if let Some(target) = Target::broker("broker_missing_topic") {
        scenario::missing_topic_is_reported(&target).await;
    }
}
