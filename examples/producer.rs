//! Produce many messages as fast as possible and report the throughput.
//!
//! Records are sent with `send().await`, keeping up to 50,000 deliveries in
//! flight, then the producer is flushed. Failed deliveries are counted and
//! the first error is printed.
//!
//! ```sh
//! cargo run --release --example producer -- TOPIC [COUNT] [SIZE]
//! cargo run --release --example producer -- bench-topic 200000 100
//! KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 cargo run --release --example producer -- events
//! ```
//!
//! COUNT defaults to 100,000 messages and SIZE to 100 payload bytes. With
//! `KAFKA_BOOTSTRAP_SERVERS` set, the broker (and any other setting) comes
//! from the environment through `ClientConfig::from_env`; otherwise an
//! embedded mock cluster with one broker is started.

use std::collections::VecDeque;
use std::error::Error;
use std::time::{Duration, Instant};

use kafkit::{ClientConfig, MockCluster, Producer, Record, Topic};

/// Deliveries kept in flight before the oldest one is awaited.
const IN_FLIGHT: usize = 50_000;

fn parse_arg(args: &[String], i: usize, name: &str, default: usize) -> Result<usize, String> {
    match args.get(i) {
        None => Ok(default),
        Some(s) => s
            .replace('_', "")
            .parse()
            .map_err(|_| format!("{name} must be a whole number, got {s:?}")),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: producer TOPIC [COUNT] [SIZE]";
    let topic = match args.first() {
        Some(t) if !t.starts_with('-') => t.clone(),
        _ => return Err(usage.into()),
    };
    if args.len() > 3 {
        return Err(usage.into());
    }
    let count = parse_arg(&args, 1, "COUNT", 100_000)?;
    let size = parse_arg(&args, 2, "SIZE", 100)?;

    // The broker from the environment, or an embedded mock cluster.
    let _cluster;
    let config = match std::env::var("KAFKA_BOOTSTRAP_SERVERS") {
        Ok(servers) if !servers.is_empty() => {
            println!("using the broker at {servers} (from KAFKA_BOOTSTRAP_SERVERS)");
            ClientConfig::from_env()?
        }
        _ => {
            let cluster = MockCluster::new(1)?;
            println!(
                "KAFKA_BOOTSTRAP_SERVERS is not set: using an embedded mock cluster at {}",
                cluster.bootstrap_servers()
            );
            cluster.create_topic(&topic, 3, 1)?;
            let config = cluster.client_config()?;
            _cluster = cluster;
            config
        }
    };

    let producer = Producer::new(&config)?;
    // A wrong address fails here within 10 s, with the broker's error.
    producer.wait_connected(Duration::from_secs(10))?;
    let payload = vec![b'x'; size];
    let mut in_flight = VecDeque::with_capacity(IN_FLIGHT);
    let mut delivered = 0usize;
    let mut failed = 0usize;
    let mut first_error: Option<String> = None;
    let mut note = |error: &dyn std::fmt::Display, failed: &mut usize| {
        *failed += 1;
        if first_error.is_none() {
            first_error = Some(error.to_string());
        }
    };

    println!("producing {count} messages of {size} bytes to {topic:?}");
    // A shared topic name: records built from it do not allocate a name each.
    let topic = Topic::new(topic);
    let start = Instant::now();
    for _ in 0..count {
        let record = Record::to(topic).value(payload.clone());
        match producer.send(record).await {
            Ok(delivery) => in_flight.push_back(delivery),
            Err(e) => note(&e.error, &mut failed),
        }
        if in_flight.len() >= IN_FLIGHT {
            if let Some(oldest) = in_flight.pop_front() {
                match oldest.await {
                    Ok(_) => delivered += 1,
                    Err(e) => note(&e.error, &mut failed),
                }
            }
        }
    }
    while let Some(delivery) = in_flight.pop_front() {
        match delivery.await {
            Ok(_) => delivered += 1,
            Err(e) => note(&e.error, &mut failed),
        }
    }
    producer.flush(Duration::from_secs(30))?;
    let secs = start.elapsed().as_secs_f64();

    let rate = delivered as f64 / secs;
    println!(
        "delivered {delivered} of {count} in {secs:.3} s: {rate:.0} msg/s, {:.1} MB/s of payload; {failed} failed",
        rate * size as f64 / 1e6
    );
    if let Some(e) = first_error {
        println!("first error: {e}");
    }
    if failed > 0 {
        return Err(format!("{failed} of {count} messages were not delivered").into());
    }
    Ok(())
}
