//! `kafkit bench produce|consume`: a quick throughput check against the
//! configured cluster.

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use futures::channel::mpsc::{unbounded, UnboundedReceiver};
use futures::executor::block_on;
use kafkit::{Consumer, DeliveryResult, Error, Offset, Producer, Record};

use crate::conn::{unreachable, Conn};
use crate::fail::{Fail, Outcome};
use crate::produce::await_each;

/// `bench` commands.
#[derive(Subcommand, Debug)]
pub enum BenchCmd {
    /// Sends records as fast as the producer takes them; prints records/s,
    /// MB/s and the delivery latency (send to acknowledgement).
    Produce(BenchProduce),
    /// Reads a topic from the beginning; prints records/s and MB/s.
    Consume(BenchConsume),
}

/// `bench produce` flags.
#[derive(Args, Debug)]
pub struct BenchProduce {
    /// The topic to write to.
    pub topic: String,
    /// How many records.
    #[arg(short = 'n', long, default_value_t = 1_000_000)]
    pub records: u64,
    /// Value size in bytes.
    #[arg(short = 's', long, default_value_t = 100)]
    pub size: usize,
}

/// `bench consume` flags.
#[derive(Args, Debug)]
pub struct BenchConsume {
    /// The topic to read.
    pub topic: String,
    /// Stop after this many records (else at the end of every partition).
    #[arg(short = 'n', long)]
    pub records: Option<u64>,
}

/// Runs a `bench` command.
pub fn run(conn: &Conn, cmd: &BenchCmd) -> Outcome {
    match cmd {
        BenchCmd::Produce(args) => produce(conn, args),
        BenchCmd::Consume(args) => consume(conn, args),
    }
}

fn bar(total: u64) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(total);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} records {per_sec} eta {eta}")
    {
        bar.set_style(style);
    }
    bar
}

fn produce(conn: &Conn, args: &BenchProduce) -> Outcome {
    if args.records == 0 {
        return Err(Fail::usage("--records must be at least 1"));
    }
    let producer = Producer::new(&conn.config)?;
    producer.wait_connected(conn.timeout).map_err(unreachable)?;
    let value: Arc<[u8]> = (0..args.size).map(|i| b'a' + (i % 26) as u8).collect();
    let progress = bar(args.records);
    // Deliveries are awaited on their own thread, which notes the time
    // each one took the moment its report wakes it.
    let (tx, rx) = unbounded();
    let waiter = std::thread::spawn(move || latencies(rx));
    let started = Instant::now();
    let mut refused = None;
    for i in 0..args.records {
        let record = Record::to(args.topic.as_str()).value(value.clone());
        match block_on(producer.send(record)) {
            Ok(delivery) => {
                let sent = Instant::now();
                let _ = tx.unbounded_send(async move { (delivery.await, sent.elapsed()) });
            }
            Err(e) => {
                refused = Some(e.error);
                break;
            }
        }
        if i % 1024 == 0 {
            progress.set_position(i);
        }
    }
    drop(tx);
    let (mut took, failed, first_error) = waiter
        .join()
        .map_err(|_| Fail::Io("the delivery thread panicked".into()))?;
    let elapsed = started.elapsed();
    progress.finish_and_clear();
    if let Some(e) = refused.or(first_error) {
        return Err(Fail::kafka(format!("{failed} records failed; first: {e}")));
    }
    if took.is_empty() {
        return Err(Fail::kafka("no record was delivered"));
    }
    took.sort_unstable();
    let n = took.len() as f64;
    let secs = elapsed.as_secs_f64();
    let at = |q: f64| took[((n * q) as usize).min(took.len() - 1)];
    crate::fail::print(format!(
        "produced {} records of {} B in {:.2} s: {:.0} records/s, {:.1} MB/s; delivery latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms\n",
        took.len(),
        args.size,
        secs,
        n / secs,
        n * args.size as f64 / secs / 1e6,
        ms(at(0.5)),
        ms(at(0.99)),
                ms(took[took.len() - 1]),
    ))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

type Latencies = (Vec<Duration>, u64, Option<Error>);

fn latencies<F>(rx: UnboundedReceiver<F>) -> Latencies
where
    F: Future<Output = (DeliveryResult, Duration)>,
{
    let mut took = Vec::new();
    let mut failed = 0;
    let mut first_error = None;
    await_each(rx, |(result, t)| match result {
        Ok(_) => took.push(t),
        Err(e) => {
            failed += 1;
            first_error.get_or_insert(e.error);
        }
    });
    (took, failed, first_error)
}

fn consume(conn: &Conn, args: &BenchConsume) -> Outcome {
    if args.records == Some(0) {
        return Err(Fail::usage("--records must be at least 1"));
    }
    let group = format!("kafkit-bench-{}", std::process::id());
    let config = conn.with(&[
        ("group.id", &group),
        ("enable.auto.commit", "false"),
        ("enable.partition.eof", "true"),
    ])?;
    let consumer = Consumer::new(&config)?;
    consumer.wait_connected(conn.timeout).map_err(unreachable)?;
    let metadata = consumer.metadata(Some(&args.topic), conn.timeout)?;
    let partitions: Vec<i32> = match metadata.topic(&args.topic) {
        Some(t) if t.error.is_none() && !t.partitions.is_empty() => {
            t.partitions.iter().map(|p| p.id).collect()
        }
        _ => return Err(Fail::kafka(format!("topic {} does not exist", args.topic))),
    };
    let mut total = 0u64;
    for p in &partitions {
        let (low, high) = consumer.fetch_watermarks(&args.topic, *p, conn.timeout)?;
        total += (high - low).max(0) as u64;
    }
    let wanted = args.records.unwrap_or(total).min(total);
    if wanted == 0 {
        return Err(Fail::kafka(format!("topic {} is empty", args.topic)));
    }
    let list: Vec<(&str, i32, Offset)> = partitions
        .iter()
        .map(|p| (args.topic.as_str(), *p, Offset::Beginning))
        .collect();
    consumer.assign(&list)?;
    let progress = bar(wanted);
    let mut at_end = HashSet::new();
    let (mut read, mut bytes) = (0u64, 0u64);
    let mut started = None;
    let mut last = Instant::now();
    while read < wanted && at_end.len() < partitions.len() {
        let batch = consumer.consume_batch(10_000, Duration::from_millis(100));
        let batch = match batch {
            Ok(b) => b,
            Err(Error::PartitionEof { partition, .. }) => {
                at_end.insert(partition);
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        if !batch.is_empty() {
            let now = Instant::now();
            started.get_or_insert(now);
            last = now;
        }
        for m in &batch {
            at_end.remove(&m.partition());
            bytes += (m.value().map_or(0, <[u8]>::len) + m.key().map_or(0, <[u8]>::len)) as u64;
        }
        read += batch.len() as u64;
        progress.set_position(read);
    }
    progress.finish_and_clear();
    // From the first message to the last: the wait for the end-of-partition
    // events after it is not reading.
    let secs = started.map_or(0.0, |s| (last - s).as_secs_f64()).max(1e-6);
    consumer.close()?;
    crate::fail::print(format!(
        "consumed {read} records ({bytes} bytes) in {secs:.2} s: {:.0} records/s, {:.1} MB/s\n",
        read as f64 / secs,
        bytes as f64 / secs / 1e6
    ))
}
