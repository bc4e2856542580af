//! Read in batches of at most MAX messages, each batch handed over as soon as
//! it is full or WITHIN_MS after its first message: first with the async
//! `consumer.batches(max, within)` stream, then with the blocking
//! `consumer.consume_batch(max, within)`.
//!
//! ```sh
//! cargo run --example batch -- TOPIC [MAX] [WITHIN_MS]
//! cargo run --example batch -- clicks 1000 200
//! KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 cargo run --example batch -- clicks
//! ```
//!
//! MAX defaults to 1000 and WITHIN_MS to 200. It first produces 10,000
//! records to TOPIC, then reads the topic from the beginning twice, once per
//! way, each time as a new consumer group, until it has reached the last
//! record produced in every partition. With `KAFKA_BOOTSTRAP_SERVERS` set,
//! the broker (and any other setting) comes from the environment through
//! `ClientConfig::from_env`; otherwise an embedded mock cluster is started.

use std::collections::BTreeMap;
use std::error::Error;
use std::time::{Duration, Instant};

use futures::StreamExt;
use kafkit::{ClientConfig, Consumer, Message, MockCluster, OffsetReset, Producer, Record};

/// Records produced before reading.
const RECORDS: usize = 10_000;
/// How long to wait for a batch before giving up.
const IDLE_LIMIT: Duration = Duration::from_secs(30);

const USAGE: &str = "usage: batch TOPIC [MAX] [WITHIN_MS]";

fn parse_arg(args: &[String], i: usize, name: &str, default: u64) -> Result<u64, String> {
    match args.get(i) {
        None => Ok(default),
        Some(s) => s
            .replace('_', "")
            .parse()
            .map_err(|_| format!("{name} must be a whole number, got {s:?}\n{USAGE}")),
    }
}

/// Produces [`RECORDS`] records and returns, per partition, the offset after
/// the last one produced there.
async fn produce(config: &ClientConfig, topic: &str) -> Result<BTreeMap<i32, i64>, Box<dyn Error>> {
    let producer = Producer::new(config)?;
    // A wrong address fails here within 10 s, with the broker's error.
    producer.wait_connected(Duration::from_secs(10))?;
    let mut deliveries = Vec::with_capacity(RECORDS);
    for i in 0..RECORDS {
        let record = Record::to(topic)
            .key(format!("user-{}", i % 97))
            .value(format!("click {i}"));
        deliveries.push(producer.send(record).await?);
    }
    let mut ends = BTreeMap::new();
    for delivery in deliveries {
        let meta = delivery.await?;
        let end = ends.entry(meta.partition).or_insert(0);
        *end = (*end).max(meta.offset + 1);
    }
    println!(
        "produced {RECORDS} records to {topic:?} ({} partitions)",
        ends.len()
    );
    Ok(ends)
}

/// Tracks what has been read against the end offsets produced.
struct Progress {
    ends: BTreeMap<i32, i64>,
    /// The highest offset read in each partition, plus one.
    reached: BTreeMap<i32, i64>,
    batches: usize,
    messages: usize,
    started: Instant,
}

impl Progress {
    fn new(ends: &BTreeMap<i32, i64>) -> Self {
        Progress {
            ends: ends.clone(),
            reached: BTreeMap::new(),
            batches: 0,
            messages: 0,
            started: Instant::now(),
        }
    }

    fn done(&self) -> bool {
        self.ends
            .iter()
            .all(|(p, end)| self.reached.get(p).is_some_and(|r| r >= end))
    }

    /// Records a batch and describes it: its size and, per partition, the
    /// range of offsets it holds.
    fn record(&mut self, batch: &[Message]) -> String {
        let mut ranges: BTreeMap<i32, (i64, i64)> = BTreeMap::new();
        for m in batch {
            let range = ranges
                .entry(m.partition())
                .or_insert((m.offset(), m.offset()));
            range.0 = range.0.min(m.offset());
            range.1 = range.1.max(m.offset());
            let reached = self.reached.entry(m.partition()).or_insert(0);
            *reached = (*reached).max(m.offset() + 1);
        }
        self.batches += 1;
        self.messages += batch.len();
        let ranges = ranges
            .iter()
            .map(|(p, (first, last))| format!("p{p} {first}..={last}"))
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "batch {:>3}: {:>5} messages  {ranges}",
            self.batches,
            batch.len()
        )
    }

    fn summary(&self) -> String {
        format!(
            "read {} messages in {} batches in {:.2} s",
            self.messages,
            self.batches,
            self.started.elapsed().as_secs_f64()
        )
    }
}

/// A consumer in a new group, reading `topic` from the beginning.
fn consumer(config: &ClientConfig, topic: &str, way: &str) -> Result<Consumer, Box<dyn Error>> {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis();
    let mut config = config.clone();
    config
        .group_id(&format!("kafkit-example-batch-{way}-{millis}"))?
        .auto_offset_reset(OffsetReset::Earliest)?;
    let consumer = Consumer::new(&config)?;
    consumer.wait_connected(Duration::from_secs(10))?;
    consumer.subscribe(&[topic])?;
    Ok(consumer)
}

/// The async way: a stream of batches.
async fn read_async(
    config: &ClientConfig,
    topic: &str,
    ends: &BTreeMap<i32, i64>,
    max: usize,
    within: Duration,
) -> Result<(), Box<dyn Error>> {
    println!("\nasync: consumer.batches({max}, {within:?})");
    let consumer = consumer(config, topic, "async")?;
    let mut progress = Progress::new(ends);
    let mut batches = consumer.batches(max, within);
    while !progress.done() {
        match tokio::time::timeout(IDLE_LIMIT, batches.next()).await {
            Ok(Some(Ok(batch))) => println!("{}", progress.record(&batch)),
            Ok(Some(Err(e))) => eprintln!("consumer error: {e}"),
            Ok(None) => return Err("the consumer was closed".into()),
            Err(_) => return Err(format!("no batch for {IDLE_LIMIT:?}").into()),
        }
    }
    println!("{}", progress.summary());
    drop(batches);
    consumer.close()?;
    Ok(())
}

/// The blocking way: one call per batch.
fn read_blocking(
    config: &ClientConfig,
    topic: &str,
    ends: &BTreeMap<i32, i64>,
    max: usize,
    within: Duration,
) -> Result<(), Box<dyn Error>> {
    println!("\nblocking: consumer.consume_batch({max}, {within:?}) in a loop");
    let consumer = consumer(config, topic, "blocking")?;
    let mut progress = Progress::new(ends);
    let mut last_batch = Instant::now();
    while !progress.done() {
        match consumer.consume_batch(max, within) {
            // Nothing came within the time limit (such as while joining
            // the group): a batch may be empty.
            Ok(batch) if batch.is_empty() => {
                if last_batch.elapsed() > IDLE_LIMIT {
                    return Err(format!("no batch for {IDLE_LIMIT:?}").into());
                }
            }
            Ok(batch) => {
                last_batch = Instant::now();
                println!("{}", progress.record(&batch));
            }
            Err(e) => eprintln!("consumer error: {e}"),
        }
    }
    println!("{}", progress.summary());
    consumer.close()?;
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let topic = match args.first() {
        Some(t) if !t.starts_with('-') => t.clone(),
        _ => return Err(USAGE.into()),
    };
    if args.len() > 3 {
        return Err(USAGE.into());
    }
    let max = parse_arg(&args, 1, "MAX", 1000)?.max(1) as usize;
    let within = Duration::from_millis(parse_arg(&args, 2, "WITHIN_MS", 200)?);

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

    let runtime = tokio::runtime::Runtime::new()?;
    let ends = runtime.block_on(produce(&config, &topic))?;
    runtime.block_on(read_async(&config, &topic, &ends, max, within))?;
    // The blocking reads need no runtime.
    read_blocking(&config, &topic, &ends, max, within)?;
    Ok(())
}
