//! A consumer group member that prints every message it reads, using the
//! async stream. Ctrl-C leaves the group cleanly.
//!
//! ```sh
//! cargo run --example consumer -- TOPIC [GROUP] [--idle-secs N]
//! cargo run --example consumer -- events
//! cargo run --example consumer -- events readers --idle-secs 5
//! KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 cargo run --example consumer -- events
//! ```
//!
//! GROUP defaults to `kafkit-example-consumer`. With `--idle-secs N` it also
//! stops once N seconds passed without a message since partitions were
//! assigned (or 60 s without an assignment), so it can run unattended.
//!
//! With `KAFKA_BOOTSTRAP_SERVERS` set, the broker (and any other setting)
//! comes from the environment through `ClientConfig::from_env`. Otherwise an
//! embedded mock cluster is started and a few records are produced to TOPIC
//! first, so there is something to read.

use std::error::Error;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use kafkit::{
    ClientConfig, Consumer, Message, MockCluster, OffsetReset, Producer, RebalanceListener, Record,
    TopicPartition,
};

const USAGE: &str = "usage: consumer TOPIC [GROUP] [--idle-secs N]";

/// With `--idle-secs`, how long to wait for the first partition assignment.
const JOIN_LIMIT: Duration = Duration::from_secs(60);

/// The command line.
struct Args {
    topic: String,
    group: String,
    idle: Option<Duration>,
}

fn parse_args() -> Result<Args, String> {
    let mut positional = Vec::new();
    let mut idle = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--idle-secs" {
            let value = args.next().ok_or("--idle-secs needs a number of seconds")?;
            let secs: u64 = value
                .parse()
                .map_err(|_| format!("--idle-secs must be a whole number, got {value:?}"))?;
            idle = Some(Duration::from_secs(secs));
        } else if arg.starts_with('-') {
            return Err(format!("unknown option {arg:?}\n{USAGE}"));
        } else {
            positional.push(arg);
        }
    }
    let mut positional = positional.into_iter();
    let topic = positional.next().ok_or(USAGE)?;
    let group = positional
        .next()
        .unwrap_or_else(|| "kafkit-example-consumer".to_string());
    if positional.next().is_some() {
        return Err(USAGE.into());
    }
    Ok(Args { topic, group, idle })
}

/// Produces a few keyed records to `topic`, for the mock cluster demo.
async fn produce_demo(config: &ClientConfig, topic: &str) -> Result<(), Box<dyn Error>> {
    let producer = Producer::new(config)?;
    producer.wait_connected(Duration::from_secs(10))?;
    let orders = [
        ("alice", "2 croissants"),
        ("bob", "1 baguette"),
        ("carol", "3 éclairs"),
        ("alice", "1 brioche"),
        ("dave", "6 macarons"),
        ("erin", "1 tarte tatin"),
    ];
    for (customer, order) in orders {
        let record = Record::to(topic).key(customer).value(order);
        producer.send(record).await?.await?;
    }
    println!("produced {} demo records to {topic:?}", orders.len());
    Ok(())
}

/// Prints the group's changes to this member's partitions, and notes when
/// partitions were last assigned (joining the group takes a while: about
/// 3 s on the mock cluster, which the idle limit should not count).
struct PrintRebalance {
    last_assigned: Arc<Mutex<Option<Instant>>>,
}

fn names(partitions: &[TopicPartition]) -> String {
    partitions
        .iter()
        .map(|tp| format!("{} [{}]", tp.topic, tp.partition))
        .collect::<Vec<_>>()
        .join(", ")
}

impl RebalanceListener for PrintRebalance {
    fn on_assigned(&mut self, _: &Consumer, partitions: &[TopicPartition]) {
        println!("assigned: {}", names(partitions));
        *self.last_assigned.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
    }

    fn on_revoked(&mut self, _: &Consumer, partitions: &[TopicPartition]) {
        println!("revoked: {}", names(partitions));
    }

    fn on_lost(&mut self, _: &Consumer, partitions: &[TopicPartition]) {
        println!("lost: {}", names(partitions));
    }
}

fn print_message(message: &Message) {
    let key = message
        .key()
        .map_or_else(|| "(none)".into(), String::from_utf8_lossy);
    let value = message
        .value()
        .map_or_else(|| "(null)".into(), String::from_utf8_lossy);
    println!(
        "{} [{}] @{}: key={key} value={value}",
        message.topic(),
        message.partition(),
        message.offset()
    );
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    let args = parse_args()?;

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
            cluster.create_topic(&args.topic, 3, 1)?;
            let config = cluster.client_config()?;
            produce_demo(&config, &args.topic).await?;
            _cluster = cluster;
            config
        }
    };

    let mut consumer_config = config.clone();
    consumer_config
        .group_id(&args.group)?
        .auto_offset_reset(OffsetReset::Earliest)?;
    let last_assigned = Arc::new(Mutex::new(None));
    let consumer = Consumer::builder(&consumer_config)
        .rebalance_listener(PrintRebalance {
            last_assigned: last_assigned.clone(),
        })
        .build()?;
    // A wrong address fails here within 10 s, with the broker's error.
    consumer.wait_connected(Duration::from_secs(10))?;
    consumer.subscribe(&[&args.topic])?;
    match args.idle {
        Some(idle) => println!(
            "reading {:?} as group {:?}; Ctrl-C to stop (or {} s without a message)",
            args.topic,
            args.group,
            idle.as_secs()
        ),
        None => println!(
            "reading {:?} as group {:?}; Ctrl-C to stop",
            args.topic, args.group
        ),
    }

    let mut stream = consumer.stream();
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut read = 0u64;
    let started = Instant::now();
    let mut last_message = started;
    // When the idle limit ends the reading: `idle` after the last message or
    // assignment, whichever came later; before the first assignment, the
    // group gets JOIN_LIMIT to form.
    let idle_deadline = |last_message: Instant, idle: Duration| match *last_assigned
        .lock()
        .unwrap_or_else(|p| p.into_inner())
    {
        Some(assigned) => assigned.max(last_message) + idle,
        None => started + idle.max(JOIN_LIMIT),
    };
    loop {
        // The stream is cancellation safe: when Ctrl-C or the idle limit
        // wins the race, no message is lost.
        let next = async {
            match args.idle {
                Some(idle) => {
                    let deadline = idle_deadline(last_message, idle);
                    tokio::time::timeout_at(deadline.into(), stream.next())
                        .await
                        .ok()
                }
                None => Some(stream.next().await),
            }
        };
        let item = tokio::select! {
            signal = &mut ctrl_c => {
                signal?;
                println!("Ctrl-C: leaving the group");
                break;
            }
            item = next => item,
        };
        match item {
            Some(Some(Ok(message))) => {
                print_message(&message);
                read += 1;
                last_message = Instant::now();
            }
            Some(Some(Err(e))) => eprintln!("consumer error: {e}"),
            Some(None) => {
                println!("the consumer was closed");
                break;
            }
            None => {
                let idle = args.idle.unwrap_or_default();
                // An assignment may have moved the deadline meanwhile.
                if idle_deadline(last_message, idle) > Instant::now() {
                    continue;
                }
                if last_assigned
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .is_none()
                {
                    let limit = JOIN_LIMIT.max(idle).as_secs();
                    println!("no partitions assigned within {limit} s: stopping");
                } else {
                    println!("no message for {} s: stopping", idle.as_secs());
                }
                break;
            }
        }
    }
    // Leaves the group and commits the final offsets (auto commit is on by
    // default), within `kafkit.close.timeout.ms`.
    consumer.close()?;
    println!("closed after reading {read} messages");
    Ok(())
}
