//! The `raw` (librdkafka driven directly through `rdkafka-sys`) and `kafkit`
//! families of `compare`.
//!
//! Throughput runs reuse the loops of `kafkit-bench producer` and
//! `kafkit-bench consumer` ([`crate::producer`], [`crate::consumer`]), given
//! the workload's settings instead of those benches' own; the latency runs
//! are in [`latency`].
//!
//! Settings. Producers: `bootstrap.servers`, `acks`, `enable.idempotence`
//! and `compression.type` from the workload; when it is `tuned`, also
//! `linger.ms`, `batch.size` and `queue.buffering.max.messages` = `window`
//! (raw's in-flight bound is librdkafka's queue, kafkit's variants keep at
//! most `window` records in flight, so both have the same window). Not
//! tuned: librdkafka's defaults for the rest, and kafkit's windows at most
//! librdkafka's default queue of 100,000 records. Consumers:
//! `bootstrap.servers`, `group.id` = `group`, `auto.offset.reset=earliest`,
//! `enable.auto.commit=false`, librdkafka's defaults for the rest.
//!
//! kafkit sets no librdkafka property that changes producing or fetching
//! (its consumer sets `enable.auto.offset.store=false` and stores offsets
//! itself, which with `enable.auto.commit=false` changes nothing here), so
//! `raw` and `kafkit` have the same defaults: a `tuned=false` row of either
//! family is a `tuned=true` row with librdkafka's default linger, batch size
//! and queue, and the driver need not run `tuned=false` rows for them.
//!
//! Payloads: one template of `size` bytes, leaked once per process; `raw`
//! passes its pointer with `RD_KAFKA_MSG_F_COPY`, kafkit the same pointer as
//! `Payload::from_static`, so librdkafka copies each payload once and
//! nothing is allocated per record for it.

mod latency;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::time::Duration;

use kafkit::{Payload, Producer, Record, Topic};

use crate::compare::protocol::{Kind, Outcome, Workload};
use crate::consumer::{self, Timing};
use crate::producer::{self, Meter, Tally};

/// librdkafka's default `queue.buffering.max.messages`.
const DEFAULT_QUEUE: u64 = 100_000;

/// Most messages per `consume_batch` call in `kafkit batch` (the default of
/// `kafkit-bench consumer`).
const CONSUME_BATCH: usize = 1000;

/// How long `send_blocking` may wait for queue space, and the end of a run
/// for outstanding deliveries.
const DRAIN_LIMIT: Duration = Duration::from_secs(120);

/// Variants of `family` (`raw` or `kafkit`) for `kind`.
pub fn variants(family: &str, kind: Kind) -> &'static [&'static str] {
    match (family, kind) {
        ("raw", Kind::Produce) => &["produce"],
        ("raw", Kind::Consume) => &["poll"],
        ("raw", Kind::Latency) => &["latency"],
        ("kafkit", Kind::Produce) => &["send", "callback", "blocking"],
        ("kafkit", Kind::Consume) => &["stream", "iter", "batch"],
        ("kafkit", Kind::Latency) => &["send-stream"],
        _ => &[],
    }
}

/// Runs one variant.
pub fn run(family: &str, variant: &str, w: &Workload) -> Result<Outcome, String> {
    if !variants(family, w.kind).contains(&variant) {
        return Err(format!(
            "{family} has no {:?} variant {variant:?} (known: {})",
            w.kind,
            variants(family, w.kind).join(", ")
        ));
    }
    if w.messages == 0 {
        return Err("the workload has no messages".into());
    }
    match w.kind {
        Kind::Produce => produce(family, variant, w),
        Kind::Consume => consume(family, variant, w),
        Kind::Latency => latency::run(family, w),
    }
}

/// `acks` as librdkafka spells it.
fn acks(w: &Workload) -> String {
    if w.acks < 0 {
        "all".into()
    } else {
        w.acks.to_string()
    }
}

/// The producer settings of `w` (see the module documentation).
pub(crate) fn producer_settings(w: &Workload) -> Vec<(String, String)> {
    let mut settings = vec![
        ("bootstrap.servers".to_string(), w.bootstrap.clone()),
        ("acks".to_string(), acks(w)),
        ("enable.idempotence".to_string(), w.idempotence.to_string()),
        (
            "compression.type".to_string(),
            w.compression.name().to_string(),
        ),
    ];
    if w.tuned {
        settings.extend([
            ("linger.ms".to_string(), w.linger_ms.to_string()),
            ("batch.size".to_string(), w.batch_size.to_string()),
            (
                "queue.buffering.max.messages".to_string(),
                window(w).to_string(),
            ),
        ]);
    }
    settings
}

/// The consumer settings of `w` (see the module documentation).
pub(crate) fn consumer_settings(w: &Workload) -> Vec<(String, String)> {
    [
        ("bootstrap.servers", w.bootstrap.as_str()),
        ("group.id", w.group.as_str()),
        ("auto.offset.reset", "earliest"),
        ("enable.auto.commit", "false"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// Records in flight at most.
pub(crate) fn window(w: &Workload) -> u64 {
    let window = if w.tuned {
        w.window
    } else {
        w.window.min(DEFAULT_QUEUE)
    };
    window.max(1)
}

/// The payload template: `size` bytes, leaked so that kafkit can take it as
/// a static payload.
fn template(size: usize) -> &'static [u8] {
    Box::leak((0..size).map(|i| (i % 251) as u8).collect())
}

fn produce(family: &str, variant: &str, w: &Workload) -> Result<Outcome, String> {
    let settings = producer_settings(w);
    let messages = usize::try_from(w.messages).map_err(|_| "too many messages")?;
    let run = producer::Run {
        settings: &settings,
        topic: &w.topic,
        template: template(w.size),
        messages,
        window: usize::try_from(window(w)).map_err(|_| "window too large")?,
        // Every client of `compare` starts its clock after one delivered
        // record (an idempotent producer waits for its producer id first).
        warm_up: true,
    };
    let out = match (family, variant) {
        ("raw", _) => producer::raw::run(&run),
        (_, "send") => producer::kafkit::run_send(&run),
        (_, "callback") => producer::kafkit::run_callback(&run, false),
        _ => run_blocking(&run),
    }?;
    let t = &out.tally;
    let mut note = out.note;
    if let Some(e) = &t.first_error {
        note.push_str(&format!("; first delivery error: {e}"));
    }
    Ok(Outcome {
        messages: t.delivered,
        bytes: t.delivered * w.size as u64,
        seconds: out.measured.elapsed.as_secs_f64(),
        failed: t.failed,
        latency: None,
        warmup_seconds: None,
        note: Some(note),
    })
}

/// `kafkit blocking`: `send_blocking` from the calling thread, no runtime;
/// its `DeliveryFuture`s join a window of `run.window`, and when the window
/// is full the thread blocks on the oldest (`DeliveryFuture::wait`).
fn run_blocking(run: &producer::Run<'_>) -> Result<producer::Outcome, String> {
    let producer = Producer::new(&producer::kafkit::config(run)?)
        .map_err(|e| format!("cannot create the producer: {e}"))?;
    let topic = Topic::new(run.topic);
    let template = Payload::from_static(run.template);
    let mut window = VecDeque::with_capacity(run.window + 1);
    let mut tally = Tally::default();
    producer::kafkit::warm_up(&producer, run)?;
    let wait_oldest = |window: &mut VecDeque<kafkit::DeliveryFuture>, tally: &mut Tally| {
        if let Some(mut oldest) = window.pop_front() {
            match oldest.wait(DRAIN_LIMIT) {
                Some(result) => producer::kafkit::tally_result(tally, result),
                None => {
                    return Err(format!(
                        "a delivery still pending after waiting {DRAIN_LIMIT:?}"
                    ))
                }
            }
        }
        Ok(())
    };

    let meter = Meter::start();
    for _ in 0..run.messages {
        let record = Record::to(topic).value(template.clone());
        match producer.send_blocking(record, DRAIN_LIMIT) {
            Ok(delivery) => window.push_back(delivery),
            Err(e) => tally.fail(|| e.error.to_string()),
        }
        if window.len() >= run.window {
            wait_oldest(&mut window, &mut tally)?;
        }
    }
    while !window.is_empty() {
        wait_oldest(&mut window, &mut tally)?;
    }
    let measured = meter.stop();
    drop(producer);
    Ok(producer::Outcome {
        measured,
        tally,
        note: format!("window {} futures", run.window),
    })
}

fn consume(family: &str, variant: &str, w: &Workload) -> Result<Outcome, String> {
    let settings = consumer_settings(w);
    let partitions: Vec<i32> = (0..w.partitions).collect();
    let run = consumer::Run {
        settings: &settings,
        topic: &w.topic,
        partitions: &partitions,
        // A member of the fresh group, as every client of `compare`.
        subscribe: true,
        messages: w.messages,
        batch: CONSUME_BATCH,
        // The clock starts at the first record, as for every client.
        timing: Timing::Fetch,
        confluent: &[],
    };
    let out = match (family, variant) {
        ("raw", _) => consumer::raw::run(&run),
        (_, "stream") => consumer::kafkit::run_stream(&run),
        (_, "iter") => consumer::kafkit::run_iter(&run),
        _ => consumer::kafkit::run_batch(&run),
    }?;
    let t = &out.tally;
    if t.read != w.messages {
        return Err(format!("read {} of {} records", t.read, w.messages));
    }
    let expected = t.read * w.size as u64;
    if t.bytes != expected {
        return Err(format!(
            "the records read hold {} payload bytes, not {expected}",
            t.bytes
        ));
    }
    let mut note = out.note;
    if let Some(e) = &t.first_error {
        note.push_str(&format!("; first consumer error: {e}"));
    }
    Ok(Outcome {
        messages: t.read,
        bytes: t.bytes,
        seconds: out.measured.elapsed.as_secs_f64(),
        failed: t.errors,
        latency: None,
        warmup_seconds: None,
        note: (!note.is_empty()).then_some(note),
    })
}
