//! The `rdkafka` family in `compare`: rust-rdkafka 0.39, which links the
//! same librdkafka as kafkit (one `rdkafka-sys` in the binary).
//!
//! Variants:
//! - produce `base`: `BaseProducer::send` in a loop, `poll(0)` after every
//!   send to serve the delivery reports, which the context counts; on
//!   `QueueFull` it polls and sends again; `flush` at the end.
//! - produce `future`: `FutureProducer::send_result` on a current-thread
//!   tokio runtime, at most `window` delivery futures kept; when the window
//!   is full or the queue is, the oldest is awaited.
//! - consume `base`: a `BaseConsumer::poll` loop; consume `stream`:
//!   `StreamConsumer::stream()` and `StreamExt::next` on a tokio runtime.
//! - latency `future`: a `FutureProducer` paced by the clock, and a
//!   `StreamConsumer` on a thread of its own, assigned to every partition
//!   and fetching before the first send.
//!
//! Settings ([`producer_config`], [`consumer_config`]): what every client
//! gets (acks, idempotence, compression), and when `tuned` the linger, batch
//! size and a queue that holds the window, as the `kafkit-bench producer`
//! variants ([`crate::producer::SETTINGS`]).
//!
//! Before the timed part each producer fetches the topic's metadata and
//! sends one warm-up record (untimed, see [`warm_up_future`]); the clock
//! does not run while the first connection is made or the idempotent
//! producer gets its id. A run that gets no record or no delivery report
//! for [`STALL_LIMIT`] fails. What both this family and confluent-rust
//! measure the same way lives in [`measure`].

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{
    BaseProducer, BaseRecord, DeliveryFuture, DeliveryResult, FutureProducer, FutureRecord,
    Producer, ProducerContext,
};
use rdkafka::{ClientContext, Offset, TopicPartitionList};

use crate::compare::protocol::{Kind, Outcome, Workload};

pub(crate) mod measure;

use measure::{
    check, due, join_reader, latency_outcome, now_ns, sent_at, start_reader, template,
    warm_up_note, warm_up_payload, Arrivals, Deliveries, Expect, Reads, STALL_LIMIT,
};

/// How long one blocking read waits (it returns at once when a record is
/// there).
const POLL_WAIT: Duration = Duration::from_millis(100);

/// How long the untimed metadata fetch before a produce run may take.
const METADATA_WAIT: Duration = Duration::from_secs(15);

/// How long `flush` at the end of a produce run may take.
const FLUSH_WAIT: Duration = Duration::from_secs(60);

/// Variants for `kind`.
pub fn variants(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Produce => &["base", "future"],
        Kind::Consume => &["base", "stream"],
        Kind::Latency => &["future"],
    }
}

/// Runs one variant. Errors do not repeat the family and variant:
/// [`super::main`] puts them in front.
pub fn run(variant: &str, w: &Workload) -> Result<Outcome, String> {
    check(w)?;
    match (w.kind, variant) {
        (Kind::Produce, "base") => produce_base(w),
        (Kind::Produce, "future") => runtime()?.block_on(produce_future(w)),
        (Kind::Consume, "base") => consume_base(w),
        (Kind::Consume, "stream") => runtime()?.block_on(consume_stream(w)),
        (Kind::Latency, "future") => latency_future(w),
        (kind, other) => Err(format!(
            "no {kind:?} variant {other:?} (there are: {})",
            variants(kind).join(", ")
        )),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot build the tokio runtime: {e}"))
}

/// The producer settings of a run.
pub(crate) fn producer_config(w: &Workload) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", &w.bootstrap)
        .set("acks", w.acks.to_string())
        .set("enable.idempotence", w.idempotence.to_string())
        .set("compression.type", w.compression.name());
    if w.tuned {
        // The queue holds the whole window with room to spare, so the
        // window bounds the records in flight, not librdkafka's queue.
        let queue = w.window.saturating_mul(2).max(100_000);
        c.set("linger.ms", w.linger_ms.to_string())
            .set("batch.size", w.batch_size.to_string())
            .set("queue.buffering.max.messages", queue.to_string());
    }
    c
}

/// The consumer settings of a run: the fresh group, from the beginning, no
/// commits.
pub(crate) fn consumer_config(w: &Workload) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", &w.bootstrap)
        .set("group.id", &w.group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false");
    c
}

/// The produce outcome for `delivered` records of `size` bytes.
fn produce_outcome(w: &Workload, d: &Deliveries, seconds: f64, notes: Vec<String>) -> Outcome {
    let delivered = d.delivered.load(Ordering::Relaxed);
    let notes: Vec<String> = notes.into_iter().chain(d.note()).collect();
    Outcome {
        messages: delivered,
        bytes: delivered * w.size as u64,
        seconds,
        failed: d.failed.load(Ordering::Relaxed),
        latency: None,
        warmup_seconds: None,
        note: (!notes.is_empty()).then(|| notes.join("; ")),
    }
}

/// Counts the delivery reports of a `BaseProducer`, and notes when the
/// latest came: the end of the timed part. (`BaseProducer::flush` polls in
/// steps of 100 ms that run to their end, so the time `flush` returns is up
/// to 100 ms after the last report.)
struct Counting {
    deliveries: Arc<Deliveries>,
    created: Instant,
    /// Nanoseconds from `created` to the latest report.
    latest: AtomicU64,
}

impl ClientContext for Counting {}

impl ProducerContext for Counting {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(_) => self.deliveries.ok(),
            Err((e, _)) => self.deliveries.fail(|| e.to_string()),
        }
        let at = self.created.elapsed().as_nanos() as u64;
        self.latest.store(at, Ordering::Relaxed);
    }
}

/// Fetches `topic`'s metadata through `client`, untimed, so that the first
/// send does not wait for the connection.
fn warm_up<C: ClientContext>(
    client: &rdkafka::client::Client<C>,
    topic: &str,
) -> Result<(), String> {
    let metadata = client
        .fetch_metadata(Some(topic), METADATA_WAIT)
        .map_err(|e| format!("metadata of {topic:?}: {e}"))?;
    match metadata.topics().first().and_then(|t| t.error()) {
        Some(e) => Err(format!(
            "metadata of {topic:?}: {:?}",
            RDKafkaErrorCode::from(e)
        )),
        None => Ok(()),
    }
}

fn is_queue_full(e: &KafkaError) -> bool {
    matches!(
        e,
        KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull)
    )
}

/// Sends one record and waits for its delivery, untimed, so that the timed
/// part does not include what the producer does once (the producer id of an
/// idempotent producer, the first produce request: on the local broker the
/// first delivery took 500 ms in about half the runs, the later ones 5 ms).
async fn warm_up_future(producer: &FutureProducer, w: &Workload) -> Result<Duration, String> {
    let payload = warm_up_payload(w.size);
    let started = Instant::now();
    let record = FutureRecord::<(), [u8]>::to(&w.topic).payload(&payload[..]);
    let future = producer
        .send_result(record)
        .map_err(|(e, _)| format!("warm-up record: {e}"))?;
    match tokio::time::timeout(METADATA_WAIT, future).await {
        Ok(Ok(Ok(_))) => Ok(started.elapsed()),
        Ok(Ok(Err((e, _)))) => Err(format!("warm-up record: {e}")),
        Ok(Err(_)) => Err("warm-up record: the delivery future was cancelled".into()),
        Err(_) => Err(format!(
            "warm-up record: not delivered within {} s",
            METADATA_WAIT.as_secs()
        )),
    }
}

/// [`warm_up_future`] for the base producer: the context counts the
/// warm-up record, and its counters are reset afterwards.
fn warm_up_base(producer: &BaseProducer<Counting>, w: &Workload) -> Result<Duration, String> {
    let payload = warm_up_payload(w.size);
    let started = Instant::now();
    let record = BaseRecord::<(), [u8], ()>::to(&w.topic).payload(&payload[..]);
    producer
        .send(record)
        .map_err(|(e, _)| format!("warm-up record: {e}"))?;
    let d = &producer.context().deliveries;
    while d.seen() == 0 {
        if started.elapsed() >= METADATA_WAIT {
            return Err(format!(
                "warm-up record: not delivered within {} s",
                METADATA_WAIT.as_secs()
            ));
        }
        serve(producer);
    }
    if d.failed.load(Ordering::Relaxed) > 0 {
        let why = d.note().unwrap_or_default();
        return Err(format!("warm-up record failed: {why}"));
    }
    let took = started.elapsed();
    d.delivered.store(0, Ordering::Relaxed);
    Ok(took)
}

/// Serves the delivery reports that are there, or sleeps a little when
/// there are none, while the base producer waits for room.
///
/// Not `poll(1 ms)`: `BaseProducer::poll` keeps polling until its deadline,
/// and once less than a millisecond is left it passes a timeout of 0 to
/// librdkafka, so a short poll spins. Measured on the local broker, 200,000
/// x 100 B: poll(1 ms) spent half the process's CPU time in
/// `clock_gettime` and ran at 0.3M msg/s whenever it had to wait, against
/// about 1M msg/s with this.
fn serve(producer: &BaseProducer<Counting>) {
    let before = producer.context().deliveries.seen();
    producer.poll(Duration::ZERO);
    if producer.context().deliveries.seen() == before {
        std::thread::sleep(Duration::from_micros(100));
    }
}

fn produce_base(w: &Workload) -> Result<Outcome, String> {
    let deliveries = Arc::new(Deliveries::default());
    let producer: BaseProducer<Counting> = producer_config(w)
        .create_with_context(Counting {
            deliveries: deliveries.clone(),
            created: Instant::now(),
            latest: AtomicU64::new(0),
        })
        .map_err(|e| format!("cannot create the producer: {e}"))?;
    warm_up(producer.client(), &w.topic)?;
    let warm = warm_up_base(&producer, w)?;
    let payload = template(w.size);
    // Tuned runs keep at most `window` records in flight, as the others.
    let window = if w.tuned { w.window.max(1) } else { u64::MAX };
    let started = Instant::now();
    let mut sent = 0u64;
    let mut progress = Progress::new();
    while sent < w.messages {
        while sent - deliveries.seen() >= window {
            serve(&producer);
            progress.check(deliveries.seen())?;
        }
        let mut record = BaseRecord::<(), [u8], ()>::to(&w.topic).payload(&payload[..]);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((e, back)) if is_queue_full(&e) => {
                    record = back;
                    serve(&producer);
                    progress.check(deliveries.seen())?;
                }
                Err((e, _)) => {
                    // Not queued: no delivery report will come for it.
                    deliveries.fail(|| format!("send: {e}"));
                    break;
                }
            }
        }
        sent += 1;
        producer.poll(Duration::ZERO);
    }
    let flushed = producer.flush(FLUSH_WAIT);
    flushed.map_err(|e| format!("flush: {e}"))?;
    let context = producer.context();
    let latest = context.created + Duration::from_nanos(context.latest.load(Ordering::Relaxed));
    let seconds = latest.saturating_duration_since(started).as_secs_f64();
    if deliveries.seen() < sent {
        return Err(format!(
            "{} of {sent} delivery reports missing after flush",
            sent - deliveries.seen()
        ));
    }
    Ok(produce_outcome(
        w,
        &deliveries,
        seconds,
        vec![warm_up_note(warm)],
    ))
}

/// Awaits one delivery future and counts its outcome; an error when it
/// takes longer than [`STALL_LIMIT`] (librdkafka's own `message.timeout.ms`
/// is 5 minutes).
async fn settle(d: &Deliveries, future: DeliveryFuture) -> Result<(), String> {
    match tokio::time::timeout(STALL_LIMIT, future).await {
        Ok(Ok(Ok(_))) => d.ok(),
        Ok(Ok(Err((e, _)))) => d.fail(|| e.to_string()),
        Ok(Err(_)) => d.fail(|| "the delivery future was cancelled".into()),
        Err(_) => {
            return Err(format!(
                "stalled: no delivery report for {} s",
                STALL_LIMIT.as_secs()
            ))
        }
    }
    Ok(())
}

/// Notices a base producer that waits for room and gets no delivery
/// report for [`STALL_LIMIT`].
struct Progress {
    seen: u64,
    since: Instant,
}

impl Progress {
    fn new() -> Self {
        Progress {
            seen: 0,
            since: Instant::now(),
        }
    }

    fn check(&mut self, seen: u64) -> Result<(), String> {
        if seen != self.seen {
            self.seen = seen;
            self.since = Instant::now();
        } else if self.since.elapsed() >= STALL_LIMIT {
            return Err(format!(
                "stalled: no delivery report for {} s",
                STALL_LIMIT.as_secs()
            ));
        }
        Ok(())
    }
}

async fn produce_future(w: &Workload) -> Result<Outcome, String> {
    let producer: FutureProducer = producer_config(w)
        .create()
        .map_err(|e| format!("cannot create the producer: {e}"))?;
    warm_up(producer.client(), &w.topic)?;
    let warm = warm_up_future(&producer, w).await?;
    let payload = template(w.size);
    let deliveries = Deliveries::default();
    let window = w.window.max(1) as usize;
    let mut in_flight: VecDeque<DeliveryFuture> = VecDeque::with_capacity(window);
    let started = Instant::now();
    for _ in 0..w.messages {
        if in_flight.len() >= window {
            if let Some(oldest) = in_flight.pop_front() {
                settle(&deliveries, oldest).await?;
            }
        }
        let mut record = FutureRecord::<(), [u8]>::to(&w.topic).payload(&payload[..]);
        loop {
            match producer.send_result(record) {
                Ok(future) => {
                    in_flight.push_back(future);
                    break;
                }
                Err((e, back)) if is_queue_full(&e) => {
                    record = back;
                    match in_flight.pop_front() {
                        Some(oldest) => settle(&deliveries, oldest).await?,
                        None => tokio::time::sleep(Duration::from_millis(1)).await,
                    }
                }
                Err((e, _)) => {
                    deliveries.fail(|| format!("send: {e}"));
                    break;
                }
            }
        }
    }
    while let Some(oldest) = in_flight.pop_front() {
        settle(&deliveries, oldest).await?;
    }
    let seconds = started.elapsed().as_secs_f64();
    Ok(produce_outcome(
        w,
        &deliveries,
        seconds,
        vec![warm_up_note(warm)],
    ))
}

fn consume_base(w: &Workload) -> Result<Outcome, String> {
    let consumer: BaseConsumer = consumer_config(w)
        .create()
        .map_err(|e| format!("cannot create the consumer: {e}"))?;
    consumer
        .subscribe(&[&w.topic])
        .map_err(|e| format!("subscribe: {e}"))?;
    let subscribed = Instant::now();
    let mut reads = Reads::default();
    let mut first: Option<(Instant, Duration)> = None;
    let mut last = Instant::now();
    while reads.read < w.messages {
        match consumer.poll(POLL_WAIT) {
            Some(Ok(m)) => {
                if first.is_none() {
                    first = Some((Instant::now(), subscribed.elapsed()));
                }
                reads.record(m.payload());
                last = Instant::now();
            }
            Some(Err(e)) => reads.error(|| e.to_string()),
            None => {}
        }
        if last.elapsed() >= STALL_LIMIT {
            return Err(reads.stalled(w));
        }
    }
    let (start, waited) = first.unwrap_or((Instant::now(), Duration::ZERO));
    Ok(reads.outcome(start, waited))
}

async fn consume_stream(w: &Workload) -> Result<Outcome, String> {
    let consumer: StreamConsumer = consumer_config(w)
        .create()
        .map_err(|e| format!("cannot create the consumer: {e}"))?;
    consumer
        .subscribe(&[&w.topic])
        .map_err(|e| format!("subscribe: {e}"))?;
    let subscribed = Instant::now();
    let mut stream = consumer.stream();
    let mut reads = Reads::default();
    let mut first: Option<(Instant, Duration)> = None;
    while reads.read < w.messages {
        match tokio::time::timeout(STALL_LIMIT, stream.next()).await {
            Ok(Some(Ok(m))) => {
                if first.is_none() {
                    first = Some((Instant::now(), subscribed.elapsed()));
                }
                reads.record(m.payload());
            }
            Ok(Some(Err(e))) => reads.error(|| e.to_string()),
            Ok(None) => return Err("the message stream ended".into()),
            Err(_) => return Err(reads.stalled(w)),
        }
    }
    let (start, waited) = first.unwrap_or((Instant::now(), Duration::ZERO));
    Ok(reads.outcome(start, waited))
}

/// The consumer side of the `future` latency variant, on its own thread:
/// assigned to every partition from offset 0 (the topic is fresh), fetching
/// (one empty poll) before it reports ready on `ready`.
fn latency_reader(
    w: Workload,
    expect: Arc<Expect>,
    ready: std::sync::mpsc::Sender<Result<(), String>>,
) -> Result<Arrivals, String> {
    let start = || -> Result<StreamConsumer, String> {
        let consumer: StreamConsumer = consumer_config(&w)
            .create()
            .map_err(|e| format!("cannot create the consumer: {e}"))?;
        let mut list = TopicPartitionList::new();
        for p in 0..w.partitions {
            list.add_partition_offset(&w.topic, p, Offset::Offset(0))
                .map_err(|e| format!("assignment: {e}"))?;
        }
        consumer.assign(&list).map_err(|e| format!("assign: {e}"))?;
        // Connects to the partitions' leaders before the first send.
        for p in 0..w.partitions {
            consumer
                .fetch_watermarks(&w.topic, p, METADATA_WAIT)
                .map_err(|e| format!("watermarks of partition {p}: {e}"))?;
        }
        Ok(consumer)
    };
    let rt = runtime()?;
    // The StreamConsumer needs the runtime from its creation on.
    let _entered = rt.enter();
    let consumer = match start() {
        Ok(c) => c,
        Err(e) => {
            let _ = ready.send(Err(e.clone()));
            return Err(e);
        }
    };
    rt.block_on(async {
        let mut stream = consumer.stream();
        // One short wait lets the fetchers start; nothing arrives yet.
        let _ = tokio::time::timeout(POLL_WAIT, stream.next()).await;
        let _ = ready.send(Ok(()));
        let mut a = Arrivals {
            latencies: Vec::with_capacity(w.messages as usize),
            bytes: 0,
            errors: 0,
            first_error: None,
            last: Instant::now(),
        };
        let mut quiet = Duration::ZERO;
        while (a.latencies.len() as u64) < expect.records.load(Ordering::Acquire) {
            if expect.abort.load(Ordering::Acquire) {
                return Err("stopped: the producer side failed".to_string());
            }
            match tokio::time::timeout(POLL_WAIT, stream.next()).await {
                Ok(Some(Ok(m))) => {
                    let now = now_ns();
                    a.last = Instant::now();
                    quiet = Duration::ZERO;
                    let payload = m.payload().unwrap_or_default();
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
                Ok(Some(Err(e))) => {
                    a.errors += 1;
                    a.first_error.get_or_insert_with(|| e.to_string());
                }
                Ok(None) => return Err("the message stream ended".to_string()),
                Err(_) => {
                    quiet += POLL_WAIT;
                    if quiet >= STALL_LIMIT {
                        return Err(format!(
                            "stalled after {} of {} records (nothing for {} s)",
                            a.latencies.len(),
                            w.messages,
                            STALL_LIMIT.as_secs()
                        ));
                    }
                }
            }
        }
        Ok(a)
    })
}

fn latency_future(w: &Workload) -> Result<Outcome, String> {
    let expect = Expect::new();
    let reader = {
        let (w, expect) = (w.clone(), expect.clone());
        start_reader("latency-consumer", move |ready| {
            latency_reader(w, expect, ready)
        })?
    };
    let deliveries = Deliveries::default();
    let sent = runtime()?.block_on(latency_send(w, &deliveries));
    match sent {
        Ok((started, warm)) => {
            expect.records.store(
                deliveries.delivered.load(Ordering::Relaxed),
                Ordering::Release,
            );
            let arrivals = join_reader(reader)?;
            let notes = vec![warm_up_note(warm)];
            Ok(latency_outcome(started, arrivals, &deliveries, notes))
        }
        Err(e) => {
            expect.abort.store(true, Ordering::Release);
            let _ = join_reader(reader);
            Err(e)
        }
    }
}

/// The producer side of the `future` latency variant: `messages` records at
/// `rate`, each stamped with its send time. Returns when the first was sent.
async fn latency_send(
    w: &Workload,
    deliveries: &Deliveries,
) -> Result<(Instant, Duration), String> {
    let producer: FutureProducer = producer_config(w)
        .create()
        .map_err(|e| format!("cannot create the producer: {e}"))?;
    warm_up(producer.client(), &w.topic)?;
    let warm = warm_up_future(&producer, w).await?;
    let mut payload = template(w.size);
    let window = w.window.max(1) as usize;
    let mut in_flight: VecDeque<DeliveryFuture> = VecDeque::with_capacity(window.min(1 << 16));
    let started = Instant::now();
    for i in 0..w.messages {
        let at = due(started, i, w.rate);
        if Instant::now() < at {
            tokio::time::sleep_until(at.into()).await;
        }
        // Collect finished deliveries without waiting.
        while in_flight.len() >= window {
            if let Some(oldest) = in_flight.pop_front() {
                settle(deliveries, oldest).await?;
            }
        }
        payload[..8].copy_from_slice(&now_ns().to_le_bytes());
        let mut record = FutureRecord::<(), [u8]>::to(&w.topic).payload(&payload[..]);
        loop {
            match producer.send_result(record) {
                Ok(future) => {
                    in_flight.push_back(future);
                    break;
                }
                Err((e, back)) if is_queue_full(&e) => {
                    record = back;
                    match in_flight.pop_front() {
                        Some(oldest) => settle(deliveries, oldest).await?,
                        None => tokio::time::sleep(Duration::from_millis(1)).await,
                    }
                }
                Err((e, _)) => {
                    deliveries.fail(|| format!("send: {e}"));
                    break;
                }
            }
        }
    }
    while let Some(oldest) = in_flight.pop_front() {
        settle(deliveries, oldest).await?;
    }
    Ok((started, warm))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A workload on `mock`'s fresh topic `topic` (3 partitions), tuned.
    fn mock_workload(
        mock: &kafkit::MockCluster,
        kind: Kind,
        topic: &str,
        messages: u64,
    ) -> Workload {
        mock.create_topic(topic, 3, 1).unwrap();
        Workload {
            kind,
            bootstrap: mock.bootstrap_servers(),
            topic: topic.into(),
            partitions: 3,
            messages,
            size: 100,
            acks: -1,
            idempotence: false,
            compression: crate::compare::protocol::Compression::None,
            group: format!("{topic}-group"),
            rate: 0,
            tuned: true,
            linger_ms: 5,
            batch_size: 1_000_000,
            window: 1_000,
        }
    }

    fn assert_all(o: &Outcome, w: &Workload) {
        assert_eq!(o.messages, w.messages, "{o:?}");
        assert_eq!(o.bytes, w.messages * w.size as u64, "{o:?}");
        assert_eq!(o.failed, 0, "{o:?}");
    }

    #[test]
    fn every_variant_runs_against_the_mock_cluster() {
        let mock = kafkit::MockCluster::new(1).unwrap();
        let mut w = mock_workload(&mock, Kind::Produce, "rdkafka-peer", 3_000);
        for variant in variants(Kind::Produce) {
            assert_all(&run(variant, &w).unwrap(), &w);
            w.tuned = false;
        }
        // Both produce runs wrote to the topic: 6,000 records.
        w.kind = Kind::Consume;
        w.messages = 6_000;
        for variant in variants(Kind::Consume) {
            w.group = format!("rdkafka-peer-{variant}");
            assert_all(&run(variant, &w).unwrap(), &w);
        }
        let mut w = mock_workload(&mock, Kind::Latency, "rdkafka-peer-latency", 500);
        w.rate = 5_000;
        let o = run("future", &w).unwrap();
        assert_all(&o, &w);
        let l = o.latency.unwrap();
        assert!(
            l.p50_us > 0.0 && l.p50_us <= l.p99_us && l.p99_us <= l.max_us,
            "{l:?}"
        );
    }

    #[test]
    fn unknown_variants_and_empty_workloads_are_errors() {
        let mock = kafkit::MockCluster::new(1).unwrap();
        let mut w = mock_workload(&mock, Kind::Produce, "rdkafka-peer-bad", 0);
        assert!(run("base", &w).unwrap_err().contains("0 messages"));
        w.messages = 1;
        assert!(run("stream", &w)
            .unwrap_err()
            .contains("no Produce variant"));
    }
}
