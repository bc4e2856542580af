//! The delivery scenarios of tests/consumer_delivery_mock.rs on a real
//! Apache Kafka broker, KIP-848 included. They run when
//! KAFKA_BOOTSTRAP_SERVERS is set (scripts/test.sh starts a broker and sets
//! it) and otherwise print that they were not run.

mod common;

use common::delivery_scenarios::{self as scenario, Api, Protocol};
use common::Target;

#[test]
fn broker_at_least_once_across_a_crash_through_stream() {
    if scenario::crash_child() {
        return;
    }
    let test = "broker_at_least_once_across_a_crash_through_stream";
    if let Some(target) = Target::broker(test) {
        scenario::at_least_once_across_a_crash(&target, test, Api::Stream);
    }
}

#[test]
fn broker_at_least_once_across_a_crash_through_iter() {
    if scenario::crash_child() {
        return;
    }
    let test = "broker_at_least_once_across_a_crash_through_iter";
    if let Some(target) = Target::broker(test) {
        scenario::at_least_once_across_a_crash(&target, test, Api::Iter);
    }
}

#[test]
fn broker_eager_rebalance_with_a_full_queue() {
    if let Some(target) = Target::broker("broker_eager_rebalance_with_a_full_queue") {
        scenario::rebalance_with_a_full_queue(&target, Protocol::Eager);
    }
}

#[test]
fn broker_cooperative_rebalance_with_a_full_queue() {
    if let Some(target) = Target::broker("broker_cooperative_rebalance_with_a_full_queue") {
        scenario::rebalance_with_a_full_queue(&target, Protocol::Cooperative);
    }
}

#[test]
fn broker_kip848_rebalance_with_a_full_queue() {
    if let Some(target) = Target::broker("broker_kip848_rebalance_with_a_full_queue") {
        scenario::rebalance_with_a_full_queue(&target, Protocol::Consumer);
    }
}

#[test]
fn broker_seek_and_pause_with_a_full_queue_through_stream() {
    if let Some(target) = Target::broker("broker_seek_and_pause_with_a_full_queue_through_stream") {
        scenario::seek_and_pause_with_a_full_queue(&target, Api::Stream);
    }
}

#[test]
fn broker_seek_and_pause_with_a_full_queue_through_iter() {
    if let Some(target) = Target::broker("broker_seek_and_pause_with_a_full_queue_through_iter") {
        scenario::seek_and_pause_with_a_full_queue(&target, Api::Iter);
    }
}

#[test]
fn broker_eof_at_the_high_watermark_through_consume_batch() {
    if let Some(target) = Target::broker("broker_eof_at_the_high_watermark_through_consume_batch") {
        scenario::eof_at_the_high_watermark(&target, Api::ConsumeBatch);
    }
}

#[test]
fn broker_eof_at_the_high_watermark_through_batches() {
    if let Some(target) = Target::broker("broker_eof_at_the_high_watermark_through_batches") {
        scenario::eof_at_the_high_watermark(&target, Api::Batches);
    }
}

#[test]
fn broker_eof_at_the_high_watermark_through_stream() {
    if let Some(target) = Target::broker("broker_eof_at_the_high_watermark_through_stream") {
        scenario::eof_at_the_high_watermark(&target, Api::Stream);
    }
}

#[test]
fn broker_eof_at_the_high_watermark_through_iter() {
    if let Some(target) = Target::broker("broker_eof_at_the_high_watermark_through_iter") {
        scenario::eof_at_the_high_watermark(&target, Api::Iter);
    }
}
