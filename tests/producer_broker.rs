//! The producer scenarios of tests/producer_mock.rs, on a real Apache Kafka
//! broker. They run when KAFKA_BOOTSTRAP_SERVERS is set (scripts/test.sh
//! starts a broker and sets it) and otherwise print that they were not run.

mod common;

use common::{producer_scenarios as scenario, Target};

#[tokio::test]
async fn broker_hundred_thousand_messages_three_partitions_contiguous() {
    if let Some(target) = Target::broker("broker_hundred_thousand_messages") {
        scenario::hundred_thousand_contiguous(&target).await;
    }
}

#[tokio::test]
async fn broker_keys_headers_partitions_timestamps_round_trip() {
    if let Some(target) = Target::broker("broker_keys_headers_partitions_timestamps") {
        scenario::fields_round_trip(&target).await;
    }
}

#[tokio::test]
async fn broker_backpressure_200k_with_queue_of_1000() {
    if let Some(target) = Target::broker("broker_backpressure") {
        scenario::backpressure_never_fails(&target).await;
    }
}

#[tokio::test]
async fn broker_try_send_returns_record_on_full_queue() {
    if let Some(target) = Target::broker("broker_try_send") {
        scenario::try_send_reports_queue_full(&target).await;
    }
}

#[tokio::test]
async fn broker_message_too_large_hands_record_back() {
    if let Some(target) = Target::broker("broker_message_too_large") {
        scenario::oversized_record_is_returned(&target).await;
    }
}
