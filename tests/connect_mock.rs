//! `wait_connected` on the mock cluster and on an address nothing listens on.

mod common;

use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::Target;
use kafkit::{AdminClient, ClientConfig, Consumer, Error, ErrorCode, Producer};

/// A local address with nothing listening: a port the system just gave out
/// and that was released again.
fn refused_address() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    let port = listener.local_addr().expect("local address").port();
    drop(listener);
    format!("127.0.0.1:{port}")
}

fn consumer_config(mut config: ClientConfig) -> ClientConfig {
    config.group_id(&common::unique("connect")).expect("group");
    config
}

/// Checks the error of a `wait_connected` that could not reach `address`.
fn assert_refused(what: &str, result: Result<(), Error>, address: &str) {
    let Err(error) = result else {
        panic!("{what}: wait_connected reached a broker at {address}, where nothing listens");
    };
    let text = error.to_string();
    assert!(
        text.contains(address) && text.contains("Connection refused"),
        "{what}: the error should name {address} and the reason: {text}"
    );
    assert_eq!(error.code(), Some(ErrorCode::Transport), "{what}: {text}");
}

#[test]
fn producer_wait_connected_succeeds_on_the_mock_cluster() {
    let target = Target::mock(1);
    let producer = Producer::new(&target.config()).expect("producer");
    let started = Instant::now();
    producer
        .wait_connected(Duration::from_secs(10))
        .expect("the mock cluster answers");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn consumer_wait_connected_succeeds_on_the_mock_cluster() {
    let target = Target::mock(1);
    let consumer = Consumer::new(&consumer_config(target.config())).expect("consumer");
    consumer
        .wait_connected(Duration::from_secs(10))
        .expect("the mock cluster answers");
    consumer.close().expect("close");
}

#[test]
fn producer_wait_connected_reports_the_refused_address() {
    let address = refused_address();
    let mut config = ClientConfig::new();
    config.bootstrap_servers(&address).expect("bootstrap");
    let producer = Producer::new(&config).expect("producer");
    let timeout = Duration::from_secs(2);
    let started = Instant::now();
    let result = producer.wait_connected(timeout);
    let elapsed = started.elapsed();
    assert_refused("producer", result, &address);
    // A generous bound: the point is seconds, not message.timeout.ms.
    assert!(
        elapsed < timeout + Duration::from_secs(5),
        "took {elapsed:?}"
    );
}

#[test]
fn consumer_wait_connected_reports_the_refused_address() {
    let address = refused_address();
    let mut config = ClientConfig::new();
    config.bootstrap_servers(&address).expect("bootstrap");
    let consumer = Consumer::new(&consumer_config(config)).expect("consumer");
    let timeout = Duration::from_secs(2);
    let started = Instant::now();
    let result = consumer.wait_connected(timeout);
    let elapsed = started.elapsed();
    assert_refused("consumer", result, &address);
    assert!(
        elapsed < timeout + Duration::from_secs(5),
        "took {elapsed:?}"
    );
}

#[test]
fn admin_wait_connected_succeeds_on_the_mock_cluster() {
    let target = Target::mock(1);
    let admin = AdminClient::new(&target.config()).expect("admin");
    admin
        .wait_connected(Duration::from_secs(10))
        .expect("the mock cluster answers");
}

#[test]
fn admin_wait_connected_reports_the_refused_address() {
    let address = refused_address();
    let mut config = ClientConfig::new();
    config.bootstrap_servers(&address).expect("bootstrap");
    let admin = AdminClient::new(&config).expect("admin");
    let timeout = Duration::from_secs(2);
    let started = Instant::now();
    let result = admin.wait_connected(timeout);
    let elapsed = started.elapsed();
    assert_refused("admin", result, &address);
    assert!(
        elapsed < timeout + Duration::from_secs(5),
        "took {elapsed:?}"
    );
    // On a producer's connections it answers as the producer does.
    let producer = Producer::new(&config).expect("producer");
    assert_refused(
        "producer.admin()",
        producer.admin().wait_connected(timeout),
        &address,
    );
}

#[test]
fn wait_connected_without_bootstrap_servers_says_so() {
    let producer = Producer::new(&ClientConfig::new()).expect("producer");
    let error = producer
        .wait_connected(Duration::from_millis(200))
        .expect_err("no broker is configured");
    assert!(
        error.to_string().contains("bootstrap.servers is not set"),
        "{error}"
    );
}

#[test]
fn waiting_on_a_refused_address_adds_no_error_events() {
    // librdkafka reports each connection attempt's failure as an error
    // event; the wait must not make it attempt more often than it does on
    // its own (its reconnect backoff), which would flood `on_error`.
    let address = refused_address();
    let mut config = ClientConfig::new();
    config.bootstrap_servers(&address).expect("bootstrap");
    let errors = Arc::new(AtomicUsize::new(0));
    let counted = errors.clone();
    let producer = Producer::builder(&config)
        .on_error(move |_| {
            counted.fetch_add(1, Ordering::Relaxed);
        })
        .build()
        .expect("producer");
    let result = producer.wait_connected(Duration::from_secs(3));
    assert_refused("producer", result, &address);
    let seen = errors.load(Ordering::Relaxed);
    assert!(
        (1..=12).contains(&seen),
        "{seen} error events in a 3 s wait (a few connection attempts expected)"
    );
}

#[test]
fn wait_connected_fails_once_the_broker_is_gone() {
    let target = Target::mock(1);
    let Target::Mock(cluster) = &target else {
        unreachable!()
    };
    let producer = Producer::new(&target.config()).expect("producer");
    producer
        .wait_connected(Duration::from_secs(10))
        .expect("the mock cluster answers");
    cluster.broker_down(1).expect("down");
    let error = producer
        .wait_connected(Duration::from_secs(2))
        .expect_err("the only broker is down");
    assert!(
        matches!(
            error.code(),
            Some(ErrorCode::Transport | ErrorCode::TimedOut | ErrorCode::AllBrokersDown)
        ),
        "{error}"
    );
    cluster.broker_up(1).expect("up");
    producer
        .wait_connected(Duration::from_secs(10))
        .expect("the broker is back");
}
