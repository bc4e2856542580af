//! Latency runs of the `raw` (`latency`) and `kafkit` (`send-stream`)
//! families: a producer paced by a clock and a consumer in the same
//! process.
//!
//! The consumer runs on a thread of its own, assigned every partition of the
//! fresh topic from the beginning. Before the timed part the producer sends
//! one warm-up record to each partition (its stamp is zero), and the timed
//! sends start only once the consumer has received all of them: then every
//! partition's fetcher is running at the end of its log. Record `i` is due
//! `i / rate` seconds after the start; the producer sleeps until then, writes
//! the time (nanoseconds since the UNIX epoch, little-endian) into the first
//! 8 bytes of its payload and sends it. The consumer takes the time again at
//! arrival; the difference is the record's latency.
//!
//! `raw`: `rd_kafka_producev` with `RD_KAFKA_MSG_F_COPY` from one buffer
//! restamped per record, delivery reports served from the main queue while
//! the producer waits for the next due time; the consumer loops on
//! `rd_kafka_consumer_poll`. `kafkit`: `send(record).await` with a window of
//! delivery futures (its payload a `Vec` per record: the stamp makes each
//! payload different, and kafkit takes an owned value), and
//! `Consumer::stream` on a current-thread runtime.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::compare::protocol::{Latency, Outcome, Workload};
use crate::producer::Tally;

use super::{consumer_settings, producer_settings, window};

/// The longest the consumer may go without a record before the run fails,
/// and the longest wait for it to be ready.
const STALL_LIMIT: Duration = Duration::from_secs(30);
/// How long one read of the consumer waits before it looks at the stop flag.
const POLL_WAIT: Duration = Duration::from_millis(100);
/// How long the end of a run may wait for outstanding deliveries.
const DRAIN_LIMIT: Duration = Duration::from_secs(120);

/// Runs a latency workload for `family`.
pub fn run(family: &str, w: &Workload) -> Result<Outcome, String> {
    if w.rate == 0 {
        return Err("a latency run needs a rate above 0 records/s".into());
    }
    if w.size < 8 {
        return Err(format!(
            "a latency run needs payloads of at least 8 bytes for the send time, not {}",
            w.size
        ));
    }
    if w.partitions < 1 {
        return Err(format!("the topic has {} partitions", w.partitions));
    }
    let shared = Shared {
        expected: AtomicU64::new(w.messages),
        stop: AtomicBool::new(false),
    };
    let (ready_tx, ready_rx) = mpsc::channel();
    let (sent, received) = std::thread::scope(|s| {
        let consumer = std::thread::Builder::new()
            .name("latency-consumer".into())
            .spawn_scoped(s, || {
                let result = if family == "raw" {
                    raw::consume(w, &shared, ready_tx)
                } else {
                    kafkit::consume(w, &shared, ready_tx)
                };
                // Whatever happened, the producer need not go on.
                shared.stop.store(true, Ordering::Release);
                result
            })
            .map_err(|e| format!("cannot start the consumer thread: {e}"));
        let consumer = match consumer {
            Ok(c) => c,
            Err(e) => return (Err(e), Err(String::new())),
        };
        let sent = if family == "raw" {
            raw::produce(w, &shared, &ready_rx)
        } else {
            kafkit::produce(w, &shared, &ready_rx)
        };
        match &sent {
            // Records that failed will not arrive.
            Ok(s) => {
                shared
                    .expected
                    .store(w.messages - s.tally.failed, Ordering::Release);
            }
            Err(_) => shared.stop.store(true, Ordering::Release),
        }
        let received = consumer
            .join()
            .unwrap_or_else(|_| Err("the consumer thread panicked".into()));
        (sent, received)
    });
    // When both sides failed, the consumer's error is the cause (the
    // producer stops when the consumer does).
    let (sent, mut received) = match (sent, received) {
        (Ok(s), Ok(r)) => (s, r),
        (Err(s), Err(r)) if !r.is_empty() => return Err(format!("consumer: {r}; producer: {s}")),
        (Err(s), _) => return Err(s),
        (Ok(_), Err(r)) => return Err(format!("consumer: {r}")),
    };
    let latency = percentiles(&mut received.samples_ns)
        .ok_or_else(|| "no record arrived in the timed part".to_string())?;
    let messages = received.samples_ns.len() as u64;
    let seconds = received.last.map_or(Duration::ZERO, |last| {
        last.saturating_duration_since(sent.start)
    });
    let mut note = format!(
        "{} records/s paced; {} sent in {:.3} s",
        w.rate,
        w.messages,
        sent.elapsed.as_secs_f64()
    );
    if let Some(e) = &sent.tally.first_error {
        note.push_str(&format!("; first delivery error: {e}"));
    }
    if let Some(e) = &received.first_error {
        note.push_str(&format!("; first consumer error: {e}"));
    }
    Ok(Outcome {
        messages,
        bytes: messages * w.size as u64,
        seconds: seconds.as_secs_f64(),
        failed: sent.tally.failed + received.errors,
        latency: Some(latency),
        warmup_seconds: None,
        note: Some(note),
    })
}

/// What the producer and the consumer thread share.
struct Shared {
    /// Timed records the consumer is to receive (lowered by the failed
    /// deliveries once the producer is done).
    expected: AtomicU64,
    /// Set when either side gives up, or the consumer is done.
    stop: AtomicBool,
}

/// What the producer did.
struct Sent {
    /// When the first timed record was due.
    start: Instant,
    /// From `start` to the last delivery report.
    elapsed: Duration,
    tally: Tally,
}

/// What the consumer received in the timed part.
#[derive(Default)]
struct Received {
    samples_ns: Vec<u64>,
    errors: u64,
    first_error: Option<String>,
    last: Option<Instant>,
}

/// The consumer's two phases: until a warm-up record came from every
/// partition, then the timed records.
struct Collector {
    warm: Vec<bool>,
    warm_left: usize,
    received: Received,
}

/// What one record meant to the [`Collector`].
#[derive(Debug, PartialEq, Eq)]
enum Step {
    /// Still warming up, or a record of the timed part.
    Continue,
    /// The last warm-up record: the consumer is ready.
    Ready,
}

impl Collector {
    fn new(partitions: i32) -> Self {
        let n = usize::try_from(partitions).unwrap_or(0);
        Collector {
            warm: vec![false; n],
            warm_left: n,
            received: Received::default(),
        }
    }

    fn ready(&self) -> bool {
        self.warm_left == 0
    }

    /// Counts one record of `partition` that arrived at `arrived_ns`.
    fn record(&mut self, partition: i32, payload: Option<&[u8]>, arrived_ns: u64) -> Step {
        let stamp = payload
            .and_then(|p| p.get(..8))
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map(u64::from_le_bytes);
        match stamp {
            Some(0) => {
                // A warm-up record.
                if let Some(seen) = usize::try_from(partition)
                    .ok()
                    .and_then(|p| self.warm.get_mut(p))
                {
                    if !*seen {
                        *seen = true;
                        self.warm_left -= 1;
                        if self.warm_left == 0 {
                            return Step::Ready;
                        }
                    }
                }
            }
            Some(sent_ns) => {
                self.received
                    .samples_ns
                    .push(arrived_ns.saturating_sub(sent_ns));
                self.received.last = Some(Instant::now());
            }
            None => self.error(|| {
                format!(
                    "a record of {} bytes, too short for a send time",
                    payload.map_or(0, <[u8]>::len)
                )
            }),
        }
        Step::Continue
    }

    fn error(&mut self, why: impl FnOnce() -> String) {
        self.received.errors += 1;
        if self.received.first_error.is_none() {
            self.received.first_error = Some(why());
        }
    }

    /// Whether the timed part has all it is to receive.
    fn done(&self, shared: &Shared) -> bool {
        self.ready()
            && self.received.samples_ns.len() as u64 >= shared.expected.load(Ordering::Acquire)
    }
}

/// Nanoseconds since the UNIX epoch.
fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Writes the send time into the first 8 bytes of `payload`.
fn stamp(payload: &mut [u8]) {
    payload[..8].copy_from_slice(&now_ns().to_le_bytes());
}

/// The due times of a run at `rate` records per second.
struct Pacer {
    start: Instant,
    rate: u64,
}

impl Pacer {
    fn new(rate: u64) -> Self {
        Pacer {
            start: Instant::now(),
            rate,
        }
    }

    /// When record `i` is due.
    fn due(&self, i: u64) -> Instant {
        let nanos = u128::from(i) * 1_000_000_000 / u128::from(self.rate);
        self.start + Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }
}

/// Waits for the consumer to be ready (it has read every warm-up record).
fn wait_ready(ready: &mpsc::Receiver<()>) -> Result<(), String> {
    ready.recv_timeout(STALL_LIMIT).map_err(|e| match e {
        mpsc::RecvTimeoutError::Timeout => {
            format!("the consumer did not receive the warm-up records within {STALL_LIMIT:?}")
        }
        mpsc::RecvTimeoutError::Disconnected => {
            "the consumer stopped before it received the warm-up records".to_string()
        }
    })
}

/// p50, p99, p99.9 and max of `samples_ns` (sorted in place), in
/// microseconds; the nearest-rank percentile. `None` when empty.
fn percentiles(samples_ns: &mut [u64]) -> Option<Latency> {
    let n = samples_ns.len();
    let max = *samples_ns.iter().max()?;
    samples_ns.sort_unstable();
    let at = |q: f64| {
        let rank = (q * n as f64).ceil() as usize;
        samples_ns[rank.clamp(1, n) - 1] as f64 / 1e3
    };
    Some(Latency {
        p50_us: at(0.50),
        p99_us: at(0.99),
        p999_us: at(0.999),
        max_us: max as f64 / 1e3,
    })
}

/// The `raw` side: librdkafka through `rdkafka-sys`, with the handles of
/// the raw producer and consumer benches.
mod raw {
    use libc::{c_int, c_void};
    use rdkafka_sys::bindings as rd;

    use super::*;
    use crate::common::cstring;
    use crate::consumer::raw as consumer;
    use crate::producer::raw::{new_client, producev, serve, Queue, Topic, QUEUE_FULL};

    /// Delivery reports read from an event at a time.
    const DR_BATCH: usize = 1024;
    /// `RD_KAFKA_PARTITION_UA`: the partitioner chooses.
    const PARTITION_UA: i32 = -1;

    /// Produces `value` to `partition` (`RD_KAFKA_PARTITION_UA`: the
    /// partitioner's choice), copied by librdkafka.
    fn produce_one(rk: *mut rd::rd_kafka_t, topic: &Topic, partition: i32, value: &[u8]) -> c_int {
        // SAFETY: the client and topic handles are valid. The variadic list
        // follows rdkafka.h's RD_KAFKA_V_* macros: each vtype is promoted to
        // an int, RKT takes the topic pointer, PARTITION an int32, VALUE a
        // pointer and a size_t, MSGFLAGS an int, and END closes the list.
        // With RD_KAFKA_MSG_F_COPY librdkafka copies the payload during the
        // call.
        unsafe {
            producev(
                rk,
                rd::rd_kafka_vtype_t::RD_KAFKA_VTYPE_RKT as c_int,
                topic.0.as_ptr(),
                rd::rd_kafka_vtype_t::RD_KAFKA_VTYPE_PARTITION as c_int,
                partition as c_int,
                rd::rd_kafka_vtype_t::RD_KAFKA_VTYPE_VALUE as c_int,
                value.as_ptr() as *mut c_void,
                value.len(),
                rd::rd_kafka_vtype_t::RD_KAFKA_VTYPE_MSGFLAGS as c_int,
                rd::RD_KAFKA_MSG_F_COPY as c_int,
                rd::rd_kafka_vtype_t::RD_KAFKA_VTYPE_END as c_int,
            )
        }
    }

    fn produce_error(code: c_int) -> String {
        let code = ::kafkit::ErrorCode::from_raw(code);
        format!(
            "raw: rd_kafka_producev failed: {code}: {}",
            code.description()
        )
    }

    pub(super) fn produce(
        w: &Workload,
        shared: &Shared,
        ready: &mpsc::Receiver<()>,
    ) -> Result<Sent, String> {
        let client = new_client(&producer_settings(w))?;
        let rk = client.0.as_ptr();
        let name = cstring("topic", &w.topic)?;
        // SAFETY: the client and name are valid; NULL conf means defaults.
        let rkt = unsafe { rd::rd_kafka_topic_new(rk, name.as_ptr(), std::ptr::null_mut()) };
        let topic = Topic(
            std::ptr::NonNull::new(rkt)
                .ok_or_else(|| format!("raw: cannot create topic handle for {:?}", w.topic))?,
        );
        // SAFETY: the client is valid; get_main returns a new queue reference.
        let q = unsafe { rd::rd_kafka_queue_get_main(rk) };
        let queue = Queue(std::ptr::NonNull::new(q).ok_or("raw: no main queue")?);
        let mut buf = vec![std::ptr::null::<rd::rd_kafka_message_t>(); DR_BATCH];
        let mut payload = super::super::template(w.size).to_vec();

        // Warm-up: one record with a zero stamp per partition.
        payload[..8].fill(0);
        let mut warm = Tally::default();
        for p in 0..w.partitions {
            let err = produce_one(rk, &topic, p, &payload);
            if err != 0 {
                return Err(produce_error(err));
            }
        }
        let ready_by = Instant::now() + STALL_LIMIT;
        while warm.seen() < w.partitions as u64 && Instant::now() < ready_by {
            serve(&queue, 100, &mut buf, &mut warm);
        }
        if let Some(e) = warm.first_error {
            return Err(format!("raw: a warm-up record failed: {e}"));
        }
        wait_ready(ready)?;

        let mut tally = Tally::default();
        let pacer = Pacer::new(w.rate);
        for i in 0..w.messages {
            let due = pacer.due(i);
            loop {
                let now = Instant::now();
                if now >= due {
                    break;
                }
                let left = due - now;
                if left > Duration::from_millis(2) {
                    // Serve delivery reports while waiting.
                    let ms = c_int::try_from(left.as_millis() - 1).unwrap_or(c_int::MAX);
                    serve(&queue, ms, &mut buf, &mut tally);
                } else {
                    std::thread::sleep(left);
                }
            }
            if shared.stop.load(Ordering::Acquire) {
                return Err("raw: the consumer stopped before every record was sent".into());
            }
            loop {
                stamp(&mut payload);
                match produce_one(rk, &topic, PARTITION_UA, &payload) {
                    0 => break,
                    QUEUE_FULL => serve(&queue, 10, &mut buf, &mut tally),
                    code => return Err(produce_error(code)),
                }
            }
            serve(&queue, 0, &mut buf, &mut tally);
        }
        let drain_by = Instant::now() + DRAIN_LIMIT;
        while tally.seen() < w.messages {
            if Instant::now() > drain_by {
                return Err(format!(
                    "raw: only {} of {} delivery reports after waiting {DRAIN_LIMIT:?}",
                    tally.seen(),
                    w.messages
                ));
            }
            serve(&queue, 100, &mut buf, &mut tally);
        }
        let elapsed = pacer.start.elapsed();
        drop(queue);
        drop(topic);
        drop(client);
        Ok(Sent {
            start: pacer.start,
            elapsed,
            tally,
        })
    }

    /// Polls one message into `collector`; `None` when none came.
    fn poll_one(client: &consumer::Client, timeout_ms: c_int, c: &mut Collector) -> Option<Step> {
        // SAFETY: the client is a valid consumer; a non-NULL result is an
        // owned message.
        let msg = unsafe { rd::rd_kafka_consumer_poll(client.ptr(), timeout_ms) };
        if msg.is_null() {
            return None;
        }
        let arrived = now_ns();
        // SAFETY: msg is a valid message. `err` is its first member, a C enum
        // with the size of an int, read as an int because rdkafka-sys binds it
        // as a Rust enum (an unlisted value would be undefined behaviour).
        let (err, partition, payload, len) = unsafe {
            (
                (msg as *const c_int).read(),
                (*msg).partition,
                (*msg).payload as *const u8,
                (*msg).len,
            )
        };
        let value = (!payload.is_null()).then(|| {
            // SAFETY: librdkafka's payload points to `len` readable bytes
            // that live until the message is destroyed below.
            unsafe { std::slice::from_raw_parts(payload, len) }
        });
        let step = if err == 0 {
            c.record(partition, value, arrived)
        } else {
            c.error(|| {
                let code = ::kafkit::ErrorCode::from_raw(err);
                let text = value.map(String::from_utf8_lossy).unwrap_or_default();
                format!("{code}: {text}")
            });
            Step::Continue
        };
        // SAFETY: the message is owned and destroyed once; `value` is not
        // used after this.
        unsafe { rd::rd_kafka_message_destroy(msg) };
        Some(step)
    }

    pub(super) fn consume(
        w: &Workload,
        shared: &Shared,
        ready: mpsc::Sender<()>,
    ) -> Result<Received, String> {
        let client = consumer::new_consumer(&consumer_settings(w))?;
        // SAFETY: the client is a valid consumer.
        consumer::check("rd_kafka_poll_set_consumer", unsafe {
            consumer::poll_set_consumer(client.ptr())
        })?;
        let topic = cstring("topic", &w.topic)?;
        let partitions: Vec<i32> = (0..w.partitions).collect();
        let list = consumer::List::new(&topic, &partitions, Some(consumer::OFFSET_BEGINNING))?;
        // SAFETY: client and list are valid; the list is copied.
        consumer::check("rd_kafka_assign", unsafe {
            consumer::assign(client.ptr(), list.0.as_ptr())
        })?;
        drop(list);
        let mut c = Collector::new(w.partitions);
        let wait = c_int::try_from(POLL_WAIT.as_millis()).unwrap_or(c_int::MAX);
        let mut last_record = Instant::now();
        while !c.done(shared) {
            match poll_one(&client, wait, &mut c) {
                Some(step) => {
                    last_record = Instant::now();
                    if step == Step::Ready {
                        // The producer may have given up: then nobody listens.
                        let _ = ready.send(());
                    }
                }
                None if shared.stop.load(Ordering::Acquire) => {
                    return Err("raw: stopped by the producer".into())
                }
                None if last_record.elapsed() > STALL_LIMIT => {
                    return Err(stalled(&c, w));
                }
                None => {}
            }
        }
        drop(client);
        Ok(c.received)
    }
}

fn stalled(c: &Collector, w: &Workload) -> String {
    if c.ready() {
        format!(
            "stalled after {} of {} records (nothing for {STALL_LIMIT:?})",
            c.received.samples_ns.len(),
            w.messages
        )
    } else {
        format!(
            "warm-up records from {} of {} partitions within {STALL_LIMIT:?}",
            c.warm.len() - c.warm_left,
            c.warm.len()
        )
    }
}

/// The `kafkit` side: `send(record).await` and `Consumer::stream`.
mod kafkit {
    use ::kafkit::{ClientConfig, Consumer, Offset, Producer, Record, Topic};
    use futures::StreamExt;

    use super::*;
    use crate::producer::kafkit::tally_result;

    fn config(settings: &[(String, String)]) -> Result<ClientConfig, String> {
        let mut config = ClientConfig::new();
        for (key, value) in settings {
            config
                .set(key, value)
                .map_err(|e| format!("cannot set {key}={value}: {e}"))?;
        }
        Ok(config)
    }

    pub(super) fn produce(
        w: &Workload,
        shared: &Shared,
        ready: &mpsc::Receiver<()>,
    ) -> Result<Sent, String> {
        let producer = Producer::new(&config(&producer_settings(w))?)
            .map_err(|e| format!("cannot create the producer: {e}"))?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .map_err(|e| format!("cannot build the tokio runtime: {e}"))?;
        let topic = Topic::new(&w.topic);
        let template = super::super::template(w.size);
        let limit = usize::try_from(window(w)).unwrap_or(usize::MAX);

        // Warm-up: one record with a zero stamp per partition.
        rt.block_on(async {
            let mut zero = template.to_vec();
            zero[..8].fill(0);
            for p in 0..w.partitions {
                let record = Record::to(topic).partition(p).value(zero.clone());
                let delivery = producer
                    .send(record)
                    .await
                    .map_err(|e| format!("a warm-up record failed: {}", e.error))?;
                let delivered = tokio::time::timeout(STALL_LIMIT, delivery)
                    .await
                    .map_err(|_| "a warm-up record was not delivered in time".to_string())?;
                delivered.map_err(|e| format!("a warm-up record failed: {}", e.error))?;
            }
            Ok::<(), String>(())
        })?;
        wait_ready(ready)?;

        let pacer = Pacer::new(w.rate);
        let tally = rt.block_on(async {
            let mut tally = Tally::default();
            let mut window = VecDeque::with_capacity(limit.min(1 << 16));
            for i in 0..w.messages {
                // The only task of this runtime sleeps the thread until the
                // record is due (as `raw` does; tokio's timer has a 1 ms
                // tick); kafkit's dispatcher thread serves the delivery
                // reports meanwhile.
                let now = Instant::now();
                let due = pacer.due(i);
                if due > now {
                    std::thread::sleep(due - now);
                }
                if shared.stop.load(Ordering::Acquire) {
                    return Err("the consumer stopped before every record was sent".to_string());
                }
                let mut value = template.to_vec();
                stamp(&mut value);
                match producer.send(Record::to(topic).value(value)).await {
                    Ok(delivery) => window.push_back(delivery),
                    Err(e) => tally.fail(|| e.error.to_string()),
                }
                if window.len() >= limit {
                    if let Some(oldest) = window.pop_front() {
                        tally_result(&mut tally, oldest.await);
                    }
                }
            }
            let drained = tokio::time::timeout(DRAIN_LIMIT, async {
                while let Some(delivery) = window.pop_front() {
                    tally_result(&mut tally, delivery.await);
                }
            })
            .await;
            match drained {
                Ok(()) => Ok(tally),
                Err(_) => Err(format!(
                    "deliveries still pending after waiting {DRAIN_LIMIT:?}"
                )),
            }
        })?;
        let elapsed = pacer.start.elapsed();
        drop(producer);
        Ok(Sent {
            start: pacer.start,
            elapsed,
            tally,
        })
    }

    pub(super) fn consume(
        w: &Workload,
        shared: &Shared,
        ready: mpsc::Sender<()>,
    ) -> Result<Received, String> {
        let consumer = Consumer::new(&config(&consumer_settings(w))?)
            .map_err(|e| format!("cannot create the consumer: {e}"))?;
        let list: Vec<(&str, i32, Offset)> = (0..w.partitions)
            .map(|p| (w.topic.as_str(), p, Offset::Beginning))
            .collect();
        consumer.assign(&list).map_err(|e| format!("assign: {e}"))?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .map_err(|e| format!("cannot build the tokio runtime: {e}"))?;
        let mut c = Collector::new(w.partitions);
        rt.block_on(async {
            let mut stream = consumer.stream();
            let mut last_record = Instant::now();
            while !c.done(shared) {
                match tokio::time::timeout(POLL_WAIT, stream.next()).await {
                    Ok(Some(Ok(m))) => {
                        last_record = Instant::now();
                        if c.record(m.partition(), m.value(), now_ns()) == Step::Ready {
                            // The producer may have given up: then nobody
                            // listens.
                            let _ = ready.send(());
                        }
                    }
                    Ok(Some(Err(e))) => c.error(|| e.to_string()),
                    Ok(None) => return Err("the consumer's stream ended".to_string()),
                    Err(_) if shared.stop.load(Ordering::Acquire) => {
                        return Err("stopped by the producer".to_string())
                    }
                    Err(_) if last_record.elapsed() > STALL_LIMIT => {
                        return Err(stalled(&c, w));
                    }
                    Err(_) => {}
                }
            }
            Ok(())
        })?;
        drop(consumer);
        Ok(c.received)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_take_the_nearest_rank() {
        let mut samples: Vec<u64> = (1..=1000).map(|i| i * 1000).collect();
        samples.reverse();
        let l = percentiles(&mut samples).unwrap();
        assert_eq!(l.p50_us, 500.0);
        assert_eq!(l.p99_us, 990.0);
        assert_eq!(l.p999_us, 999.0);
        assert_eq!(l.max_us, 1000.0);
        assert!(percentiles(&mut []).is_none());
        let l = percentiles(&mut [7_000]).unwrap();
        assert_eq!((l.p50_us, l.p999_us, l.max_us), (7.0, 7.0, 7.0));
    }

    #[test]
    fn the_collector_is_ready_after_a_warm_up_from_every_partition() {
        let shared = Shared {
            expected: AtomicU64::new(2),
            stop: AtomicBool::new(false),
        };
        let mut c = Collector::new(2);
        let zero = [0u8; 10];
        assert_eq!(c.record(0, Some(&zero), 5), Step::Continue);
        assert_eq!(c.record(0, Some(&zero), 5), Step::Continue);
        assert!(!c.ready());
        assert_eq!(c.record(1, Some(&zero), 5), Step::Ready);
        let mut timed = [0u8; 10];
        timed[..8].copy_from_slice(&1_000u64.to_le_bytes());
        c.record(1, Some(&timed), 4_000);
        assert!(!c.done(&shared));
        c.record(0, Some(&[1, 2]), 4_000);
        assert_eq!(c.received.errors, 1);
        c.record(0, Some(&timed), 1_500);
        assert!(c.done(&shared));
        assert_eq!(c.received.samples_ns, vec![3_000, 500]);
    }

    #[test]
    fn records_are_due_at_the_rate() {
        let p = Pacer::new(4);
        assert_eq!(p.due(0), p.start);
        assert_eq!(p.due(6) - p.start, Duration::from_millis(1500));
    }
}
