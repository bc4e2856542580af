//! The `confluent-rust` family in `compare`: Confluent's pure-Rust client,
//! the `confluent-kafka` crate (a translation of the Java client), version
//! 1.0.0 (pinned in bench/Cargo.toml).
//!
//! Variants:
//! - produce `producer`: `KafkaProducer::send` with the byte-slice record
//!   (the crate copies the value into its batch buffer, as librdkafka does)
//!   and a delivery callback that counts the outcome; the returned future is
//!   not awaited. When `tuned`, at most `window` records are in flight (the
//!   loop waits for callbacks); otherwise only the crate's own bound
//!   (`buffer.memory`, 32 MiB by default) holds it back. `flush` at the end.
//! - consume `consumer`: `poll(timeout).await` in a loop, subscribed with
//!   the fresh group (the crate knows only the KIP-848 group protocol,
//!   `group.protocol=consumer`).
//! - latency `default`: the producer paced by the clock and a consumer on a
//!   thread of its own, assigned to every partition from the beginning.
//!
//! Settings: `acks`, `enable.idempotence` and `compression.type` always;
//! `linger.ms` and `batch.size` only when `tuned` (the crate's defaults are
//! the Java client's: 5 ms and 16,384 bytes). The crate is built without
//! its compression codecs (bench/Cargo.toml: `default-features = false`,
//! and neither `lz4_flex` nor `zstd` is available to build here), so lz4 and
//! zstd workloads are refused.
//!
//! The producer's sender task is spawned on the caller's tokio runtime, so
//! the producer runs on a multi-threaded runtime (the Java client has its
//! own I/O thread); the consumer runs its network loop on a thread of its
//! own and is driven from a current-thread runtime.
//!
//! The crate does not work against librdkafka's mock cluster: its requests
//! get no usable answer there, and the run fails with the metadata wait's
//! error (see [`MOCK_NOTE`]).

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use confluent_kafka::common::serialization::{ByteArraySerializer, BytesDeserializer};
use confluent_kafka::common::TopicPartition;
use confluent_kafka::consumer::{CloseOptions, Consumer, ConsumerConfig, KafkaConsumer};
use confluent_kafka::producer::{KafkaProducer, Producer, ProducerConfig, ProducerRecord};
use tokio::sync::Notify;

use super::rdkafka::measure::{
    check, due, join_reader, latency_outcome, now_ns, sent_at, start_reader, template,
    warm_up_note, warm_up_payload, Arrivals, Deliveries, Expect, Reads, STALL_LIMIT,
};
use crate::compare::protocol::{Compression, Kind, Outcome, Workload};

/// How long one poll waits.
const POLL_WAIT: Duration = Duration::from_millis(100);

/// How long the untimed metadata wait before the first send may take.
const METADATA_WAIT: Duration = Duration::from_secs(15);

/// How long the end of a produce run (flush and the last callbacks) may take.
const FLUSH_WAIT: Duration = Duration::from_secs(60);

/// Said with a metadata failure, the usual one against the mock cluster.
const MOCK_NOTE: &str = "this client does not work against librdkafka's mock cluster: \
                         use a real broker";

/// Variants for `kind`.
pub fn variants(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Produce => &["producer"],
        Kind::Consume => &["consumer"],
        Kind::Latency => &["default"],
    }
}

/// Runs one variant. Errors do not repeat the family and variant
/// ([`super::main`] puts them in front), except the refusal of a codec.
pub fn run(variant: &str, w: &Workload) -> Result<Outcome, String> {
    check(w)?;
    if w.compression != Compression::None {
        return Err(format!(
            "confluent-rust: compression {} not built in",
            w.compression.name()
        ));
    }
    match (w.kind, variant) {
        (Kind::Produce, "producer") => multi_thread()?.block_on(produce(w)),
        (Kind::Consume, "consumer") => current_thread()?.block_on(consume(w)),
        (Kind::Latency, "default") => latency(w),
        (kind, other) => Err(format!(
            "no {kind:?} variant {other:?} (there are: {})",
            variants(kind).join(", ")
        )),
    }
}

fn multi_thread() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot build the tokio runtime: {e}"))
}

fn current_thread() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot build the tokio runtime: {e}"))
}

/// The producer's settings: see the module documentation.
pub fn producer_props(w: &Workload) -> HashMap<String, String> {
    let acks = if w.acks < 0 {
        "all".to_string()
    } else {
        w.acks.to_string()
    };
    let mut props = HashMap::from([
        ("bootstrap.servers".to_string(), w.bootstrap.clone()),
        ("acks".to_string(), acks),
        ("enable.idempotence".to_string(), w.idempotence.to_string()),
        (
            "compression.type".to_string(),
            w.compression.name().to_string(),
        ),
    ]);
    if w.tuned {
        props.insert("linger.ms".into(), w.linger_ms.to_string());
        props.insert("batch.size".into(), w.batch_size.to_string());
    }
    props
}

/// The consumer's settings: the fresh group, from the beginning, no
/// commits, the only group protocol the crate has.
pub fn consumer_props(w: &Workload) -> HashMap<String, String> {
    HashMap::from([
        ("bootstrap.servers".to_string(), w.bootstrap.clone()),
        ("group.id".to_string(), w.group.clone()),
        ("auto.offset.reset".to_string(), "earliest".to_string()),
        ("enable.auto.commit".to_string(), "false".to_string()),
        ("group.protocol".to_string(), "consumer".to_string()),
    ])
}

type BytesProducer = KafkaProducer<Vec<u8>, Vec<u8>>;

fn new_producer(w: &Workload) -> Result<BytesProducer, String> {
    let config = ProducerConfig::new(&producer_props(w)).map_err(|e| format!("config: {e}"))?;
    KafkaProducer::new(
        config,
        ByteArraySerializer::new(),
        ByteArraySerializer::new(),
    )
    .map_err(|e| format!("cannot create the producer: {e}"))
}

/// Waits, untimed, for the topic's partitions, so that the first send does
/// not wait for the connection and the metadata.
async fn warm_up(producer: &BytesProducer, topic: &str) -> Result<(), String> {
    match tokio::time::timeout(METADATA_WAIT, producer.partitions_for(topic)).await {
        Ok(Ok(partitions)) if !partitions.is_empty() => Ok(()),
        Ok(Ok(_)) => Err(format!("no partitions of {topic:?} ({MOCK_NOTE})")),
        Ok(Err(e)) => Err(format!("metadata of {topic:?}: {e} ({MOCK_NOTE})")),
        Err(_) => Err(format!(
            "no metadata of {topic:?} within {} s ({MOCK_NOTE})",
            METADATA_WAIT.as_secs()
        )),
    }
}

/// Sends one record and awaits its delivery, untimed, as the rdkafka
/// variants do (see `super::rdkafka`): the producer id and the first
/// produce request stay out of the timed part.
async fn warm_up_record(producer: &BytesProducer, w: &Workload) -> Result<Duration, String> {
    let payload = warm_up_payload(w.size);
    let started = Instant::now();
    let record = ProducerRecord::new(w.topic.clone(), Some(&payload[..]));
    let future = producer
        .send(record, None)
        .await
        .map_err(|e| format!("warm-up record: {e}"))?;
    match tokio::time::timeout(METADATA_WAIT, future.get()).await {
        Ok(Ok(_)) => Ok(started.elapsed()),
        Ok(Err(e)) => Err(format!("warm-up record: {e}")),
        Err(_) => Err(format!(
            "warm-up record: not delivered within {} s",
            METADATA_WAIT.as_secs()
        )),
    }
}

/// Delivery outcomes, counted by the callbacks, and a wake-up for a sender
/// that waits for room in its window.
#[derive(Default)]
struct Shared {
    deliveries: Deliveries,
    completed: Notify,
}

/// Sends one record; its callback counts the outcome. A record the client
/// refuses outright (an error from `send` itself) gets no callback and is
/// counted here.
async fn send_one(producer: &BytesProducer, shared: &Arc<Shared>, topic: &str, payload: &[u8]) {
    let s = shared.clone();
    let callback = Box::new(
        move |_: Option<&confluent_kafka::producer::RecordMetadata>,
              e: Option<&confluent_kafka::common::Error>| {
            match e {
                None => s.deliveries.ok(),
                Some(e) => s.deliveries.fail(|| e.to_string()),
            }
            s.completed.notify_one();
        },
    );
    // The crate takes the topic as an owned String per record.
    let record = ProducerRecord::new(topic.to_string(), Some(payload));
    if let Err(e) = producer.send(record, Some(callback)).await {
        shared.deliveries.fail(|| format!("send: {e}"));
    }
}

/// Waits until fewer than `limit` of the `sent` records are unanswered, or
/// until `deadline`. Returns whether it got there.
async fn wait_below(shared: &Shared, sent: u64, limit: u64, deadline: Instant) -> bool {
    loop {
        if sent - shared.deliveries.seen() < limit {
            return true;
        }
        let notified = shared.completed.notified();
        if sent - shared.deliveries.seen() < limit {
            return true;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || tokio::time::timeout(left, notified).await.is_err() {
            return sent - shared.deliveries.seen() < limit;
        }
    }
}

/// Flushes and waits for every callback. Returns an error on a failed flush
/// or missing callbacks.
async fn finish(producer: &BytesProducer, shared: &Shared, sent: u64) -> Result<(), String> {
    let deadline = Instant::now() + FLUSH_WAIT;
    match tokio::time::timeout(FLUSH_WAIT, producer.flush()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(format!("flush: {e}")),
        Err(_) => return Err(format!("flush: not done in {} s", FLUSH_WAIT.as_secs())),
    }
    if !wait_below(shared, sent, 1, deadline).await {
        return Err(format!(
            "{} of {sent} delivery callbacks missing after flush",
            sent - shared.deliveries.seen()
        ));
    }
    Ok(())
}

async fn close(producer: &BytesProducer) -> Option<String> {
    producer
        .close_with_timeout(Duration::from_secs(10))
        .await
        .err()
        .map(|e| format!("close failed: {e}"))
}

async fn produce(w: &Workload) -> Result<Outcome, String> {
    let producer = new_producer(w)?;
    warm_up(&producer, &w.topic).await?;
    let warm = warm_up_record(&producer, w).await?;
    let payload = template(w.size);
    let shared = Arc::new(Shared::default());
    let window = if w.tuned { w.window.max(1) } else { u64::MAX };
    let started = Instant::now();
    let mut sent = 0u64;
    while sent < w.messages {
        if !wait_below(&shared, sent, window, Instant::now() + STALL_LIMIT).await {
            return Err(format!(
                "no delivery callback for {} s with {window} records in flight",
                STALL_LIMIT.as_secs()
            ));
        }
        send_one(&producer, &shared, &w.topic, &payload).await;
        sent += 1;
    }
    finish(&producer, &shared, sent).await?;
    let seconds = started.elapsed().as_secs_f64();
    let d = &shared.deliveries;
    let delivered = d.delivered.load(Ordering::Relaxed);
    let notes: Vec<String> = std::iter::once(warm_up_note(warm))
        .chain(close(&producer).await)
        .chain(d.note())
        .collect();
    Ok(Outcome {
        messages: delivered,
        bytes: delivered * w.size as u64,
        seconds,
        failed: d.failed.load(Ordering::Relaxed),
        latency: None,
        warmup_seconds: None,
        note: (!notes.is_empty()).then(|| notes.join("; ")),
    })
}

type BytesConsumer = KafkaConsumer<bytes::Bytes, bytes::Bytes>;

fn new_consumer(w: &Workload) -> Result<BytesConsumer, String> {
    let config = ConsumerConfig::new(&consumer_props(w)).map_err(|e| format!("config: {e}"))?;
    KafkaConsumer::new(config, BytesDeserializer::new(), BytesDeserializer::new())
        .map_err(|e| format!("cannot create the consumer: {e}"))
}

async fn close_consumer(consumer: &mut BytesConsumer) -> Option<String> {
    consumer
        .close_with_options(CloseOptions::new_with_timeout(Duration::from_secs(10)))
        .await
        .err()
        .map(|e| format!("close failed: {e}"))
}

async fn consume(w: &Workload) -> Result<Outcome, String> {
    let mut consumer = new_consumer(w)?;
    consumer
        .subscribe_with_topics(vec![w.topic.clone()])
        .await
        .map_err(|e| format!("subscribe: {e}"))?;
    let subscribed = Instant::now();
    let mut reads = Reads::default();
    let mut first: Option<(Instant, Duration)> = None;
    let mut last = Instant::now();
    while reads.read < w.messages {
        match consumer.poll(POLL_WAIT).await {
            Ok(records) => {
                // The clock stops at the `messages`-th record, even within a
                // batch that brings more.
                for r in (&records)
                    .into_iter()
                    .take((w.messages - reads.read) as usize)
                {
                    reads.record(r.value().map(|v| &v[..]));
                }
                if !records.is_empty() {
                    first.get_or_insert_with(|| (Instant::now(), subscribed.elapsed()));
                    last = Instant::now();
                }
            }
            Err(e) => reads.error(|| e.to_string()),
        }
        if last.elapsed() >= STALL_LIMIT {
            let mut e = reads.stalled(w);
            if reads.read == 0 {
                e.push_str(&format!(" ({MOCK_NOTE})"));
            }
            return Err(e);
        }
    }
    let (start, waited) = first.unwrap_or((Instant::now(), Duration::ZERO));
    let mut outcome = reads.outcome(start, waited);
    if let Some(e) = close_consumer(&mut consumer).await {
        outcome.note = Some(match outcome.note {
            Some(n) => format!("{n}; {e}"),
            None => e,
        });
    }
    Ok(outcome)
}

fn latency(w: &Workload) -> Result<Outcome, String> {
    let expect = Expect::new();
    let reader = {
        let (w, expect) = (w.clone(), expect.clone());
        start_reader("latency-consumer", move |ready| {
            current_thread()?.block_on(latency_reader(w, expect, ready))
        })?
    };
    let shared = Arc::new(Shared::default());
    match multi_thread()?.block_on(latency_send(w, &shared)) {
        Ok((started, warm)) => {
            let delivered = shared.deliveries.delivered.load(Ordering::Relaxed);
            expect.records.store(delivered, Ordering::Release);
            let arrivals = join_reader(reader)?;
            Ok(latency_outcome(
                started,
                arrivals,
                &shared.deliveries,
                vec![warm_up_note(warm)],
            ))
        }
        Err(e) => {
            expect.abort.store(true, Ordering::Release);
            let _ = join_reader(reader);
            Err(e)
        }
    }
}

/// The producer side of a latency run: `messages` records at `rate`, each
/// stamped with its send time. Returns when the first was sent.
async fn latency_send(w: &Workload, shared: &Arc<Shared>) -> Result<(Instant, Duration), String> {
    let producer = new_producer(w)?;
    warm_up(&producer, &w.topic).await?;
    let warm = warm_up_record(&producer, w).await?;
    let mut payload = template(w.size);
    let window = w.window.max(1);
    let started = Instant::now();
    let mut sent = 0u64;
    while sent < w.messages {
        let at = due(started, sent, w.rate);
        if Instant::now() < at {
            tokio::time::sleep_until(at.into()).await;
        }
        if !wait_below(shared, sent, window, Instant::now() + STALL_LIMIT).await {
            return Err(format!(
                "no delivery callback for {} s with {window} records in flight",
                STALL_LIMIT.as_secs()
            ));
        }
        payload[..8].copy_from_slice(&now_ns().to_le_bytes());
        send_one(&producer, shared, &w.topic, &payload).await;
        sent += 1;
    }
    finish(&producer, shared, sent).await?;
    let _ = close(&producer).await;
    Ok((started, warm))
}

/// The consumer side of a latency run: assigned to every partition from
/// the beginning (the topic is fresh), its start offsets resolved, one
/// empty poll, then ready.
async fn latency_reader(
    w: Workload,
    expect: Arc<Expect>,
    ready: std::sync::mpsc::Sender<Result<(), String>>,
) -> Result<Arrivals, String> {
    let start = async {
        let mut consumer = new_consumer(&w)?;
        let list: Vec<TopicPartition> = (0..w.partitions)
            .map(|p| TopicPartition::new(w.topic.as_str(), p))
            .collect();
        consumer
            .assign(list.clone())
            .await
            .map_err(|e| format!("assign: {e}"))?;
        consumer
            .seek_to_beginning(&list)
            .await
            .map_err(|e| format!("seek_to_beginning: {e}"))?;
        // Resolves the start offsets (the seek is lazy), then lets the
        // fetches start; nothing arrives yet.
        for tp in &list {
            consumer
                .position_with_timeout(tp, METADATA_WAIT)
                .await
                .map_err(|e| format!("position of {tp:?}: {e}"))?;
        }
        consumer
            .poll(POLL_WAIT)
            .await
            .map_err(|e| format!("first poll: {e}"))?;
        Ok::<_, String>(consumer)
    };
    let mut consumer = match start.await {
        Ok(c) => c,
        Err(e) => {
            let _ = ready.send(Err(e.clone()));
            return Err(e);
        }
    };
    let _ = ready.send(Ok(()));
    let mut a = Arrivals {
        latencies: Vec::with_capacity(w.messages as usize),
        bytes: 0,
        errors: 0,
        first_error: None,
        last: Instant::now(),
    };
    let mut quiet = Instant::now();
    while (a.latencies.len() as u64) < expect.records.load(Ordering::Acquire) {
        if expect.abort.load(Ordering::Acquire) {
            return Err("stopped: the producer side failed".into());
        }
        match consumer.poll(POLL_WAIT).await {
            Ok(records) => {
                let now = now_ns();
                for r in &records {
                    let payload = r.value().map(|v| &v[..]).unwrap_or_default();
                    match sent_at(payload) {
                        // The warm-up record.
                        Some(0) => {}
                        Some(t) => {
                            a.latencies.push(now.saturating_sub(t));
                            a.bytes += payload.len() as u64;
                        }
                        None => {
                            a.errors += 1;
                            a.first_error
                                .get_or_insert_with(|| "a record without its send time".into());
                        }
                    }
                }
                if !records.is_empty() {
                    a.last = Instant::now();
                    quiet = a.last;
                }
            }
            Err(e) => {
                a.errors += 1;
                a.first_error.get_or_insert_with(|| e.to_string());
            }
        }
        if quiet.elapsed() >= STALL_LIMIT {
            return Err(format!(
                "stalled after {} of {} records (nothing for {} s)",
                a.latencies.len(),
                w.messages,
                STALL_LIMIT.as_secs()
            ));
        }
    }
    let _ = close_consumer(&mut consumer).await;
    Ok(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workload(tuned: bool) -> Workload {
        Workload {
            kind: Kind::Produce,
            bootstrap: "127.0.0.1:9092".into(),
            topic: "t".into(),
            partitions: 3,
            messages: 10,
            size: 100,
            acks: -1,
            idempotence: true,
            compression: Compression::None,
            group: "g".into(),
            rate: 0,
            tuned,
            linger_ms: 7,
            batch_size: 1_000_000,
            window: 50_000,
        }
    }

    #[test]
    fn only_tuned_runs_set_linger_and_batch_size() {
        let defaults = producer_props(&workload(false));
        assert_eq!(defaults.get("acks").map(String::as_str), Some("all"));
        assert_eq!(
            defaults.get("enable.idempotence").map(String::as_str),
            Some("true")
        );
        assert!(!defaults.contains_key("linger.ms"));
        assert!(!defaults.contains_key("batch.size"));
        let tuned = producer_props(&workload(true));
        assert_eq!(tuned.get("linger.ms").map(String::as_str), Some("7"));
        assert_eq!(tuned.get("batch.size").map(String::as_str), Some("1000000"));
        // The crate accepts every name it is given.
        assert!(ProducerConfig::new(&tuned).is_ok());
        assert!(ConsumerConfig::new(&consumer_props(&workload(true))).is_ok());
    }

    #[test]
    fn codecs_not_built_in_are_refused() {
        let mut w = workload(true);
        w.compression = Compression::Lz4;
        assert_eq!(
            run("producer", &w).unwrap_err(),
            "confluent-rust: compression lz4 not built in"
        );
    }
}
