//! `wait_connected` against a real broker. Runs when KAFKA_BOOTSTRAP_SERVERS
//! is set (scripts/test.sh starts a broker and sets it) and otherwise prints
//! that it was not run.

mod common;

use std::time::Duration;

use common::Target;
use kafkit::{Consumer, Producer};

#[test]
fn broker_wait_connected_succeeds() {
    let Some(target) = Target::broker("broker_wait_connected_succeeds") else {
        return;
    };
    let producer = Producer::new(&target.config()).expect("producer");
    producer
        .wait_connected(Duration::from_secs(10))
        .expect("the producer reaches the broker");

    let mut config = target.config();
    config.group_id(&common::unique("connect")).expect("group");
    let consumer = Consumer::new(&config).expect("consumer");
    consumer
        .wait_connected(Duration::from_secs(10))
        .expect("the consumer reaches the broker");
    consumer.close().expect("close");
}
