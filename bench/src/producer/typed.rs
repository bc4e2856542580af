//! The typed variant `kafkit-typed-json`: `kafkit-send`'s loop with each
//! record made by `TypedTopic::json::<Event>(topic).record((), &event)`, so
//! every record's value is serialized to JSON (one `Vec` per record, which
//! the codec forces) instead of taken from the static template. The JSON is
//! exactly `--size` bytes, so the rate compares with `kafkit-send`'s raw
//! payload of the same size. The serialization cost is measured apart, in
//! the same process, with no sending.

use std::collections::VecDeque;
use std::hint::black_box;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use kafkit::{Payload, Producer, Record, Topic, TypedTopic};
use serde::{Deserialize, Serialize};

use super::kafkit::{drain_window, tally_result};
use super::{Meter, Outcome, Run, Tally};
use crate::alloc::Snapshot;

/// The record value: an id, a timestamp and a text padded so that the JSON
/// encoding has the requested size.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Event {
    id: u64,
    ts_ns: u64,
    text: String,
}

/// The first id: every id of a run has 13 digits (up to 9 * 10^12 records),
/// so every encoding has the same length.
const FIRST_ID: u64 = 1_000_000_000_000;

impl Event {
    /// The first event of a run whose encoding is `size` bytes, or why none
    /// can be. The timestamp, nanoseconds since the UNIX epoch, has 19
    /// digits for centuries, and grows by one per record.
    fn sized(size: usize) -> Result<Event, String> {
        let ts_ns = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|e| format!("the clock is before the UNIX epoch: {e}"))?
            .as_nanos() as u64;
        let mut event = Event {
            id: FIRST_ID,
            ts_ns,
            text: String::new(),
        };
        let bare = encoded_len(&event)?;
        if size < bare {
            return Err(format!(
                "kafkit-typed-json needs --size of at least {bare} B (its JSON with an empty text)"
            ));
        }
        event.text = "x".repeat(size - bare);
        Ok(event)
    }

    /// Makes this the `i`-th event of the run.
    fn set_index(&mut self, first: &Event, i: usize) {
        self.id = first.id + i as u64;
        self.ts_ns = first.ts_ns + i as u64;
    }
}

fn encoded_len(event: &Event) -> Result<usize, String> {
    serde_json::to_vec(event)
        .map(|v| v.len())
        .map_err(|e| format!("cannot encode the event as JSON: {e}"))
}

/// The serialization cost, measured without sending.
#[derive(Debug, Clone, Copy, Default)]
pub struct Cost {
    /// The JSON value's size, bytes.
    pub encoded: usize,
    /// Nanoseconds per `TypedTopic::record` call (the event updated, JSON
    /// encoded, the record built and dropped).
    pub record_ns: f64,
    /// Nanoseconds per raw-bytes record (`Record::to(topic).value(static
    /// template)`, built and dropped), what `kafkit-send` does instead.
    pub raw_record_ns: f64,
    /// Rust allocations per `TypedTopic::record` call.
    pub record_allocs: f64,
}

impl Cost {
    /// The remark for the per-run line.
    pub fn note(&self, window: usize) -> String {
        format!(
            "window {window} futures; JSON value {} B; apart from sending: record() {:.0} ns/record \
             ({:.1} allocs), a raw-bytes Record {:.0} ns/record",
            self.encoded, self.record_ns, self.record_allocs, self.raw_record_ns
        )
    }
}

/// The summary line of `kafkit-typed-json`: the serialization cost (median
/// over the successful rounds) beside the end-to-end time per record of it
/// and of `kafkit-send` (from their median rates).
pub fn summary(rounds: &[&Cost], typed_rate: Option<f64>, send_rate: Option<f64>) -> String {
    let median = |f: fn(&Cost) -> f64| {
        let values: Vec<f64> = rounds.iter().map(|c| f(c)).collect();
        if values.is_empty() {
            0.0
        } else {
            crate::common::best_median(&values).1
        }
    };
    let record_ns = median(|c| c.record_ns);
    let raw_ns = median(|c| c.raw_record_ns);
    let allocs = median(|c| c.record_allocs);
    let encoded = rounds.first().map_or(0, |c| c.encoded);
    let mut line = format!(
        "serialization, measured apart from sending (median of {} rounds): TypedTopic::record {record_ns:.0} ns/record \
         ({allocs:.1} allocs), a raw-bytes Record {raw_ns:.0} ns/record, so a {encoded} B JSON value costs {:.0} ns/record more",
        rounds.len(),
        record_ns - raw_ns
    );
    if let (Some(t), Some(s)) = (typed_rate, send_rate) {
        let (t_ns, s_ns) = (1e9 / t, 1e9 / s);
        let _ = std::fmt::Write::write_fmt(
            &mut line,
            format_args!(
                "; end to end (median rounds): {t_ns:.0} ns/record typed, {s_ns:.0} ns/record kafkit-send with raw \
                 bytes of the same size, a difference of {:.0} ns/record",
                t_ns - s_ns
            ),
        );
    }
    line
}

/// Times `n` typed records and `n` raw-bytes records, each built and
/// dropped without being sent.
fn measure_cost(
    typed: &TypedTopic<(), Event>,
    first: &Event,
    template: &'static [u8],
    n: usize,
) -> Result<Cost, String> {
    let mut event = first.clone();
    let allocs = Snapshot::now();
    let start = Instant::now();
    for i in 0..n {
        event.set_index(first, i);
        let record = typed
            .record((), black_box(&event))
            .map_err(|e| format!("cannot make a typed record: {e}"))?;
        black_box(record);
    }
    let typed_elapsed = start.elapsed();
    let allocs = Snapshot::now().since(allocs);

    let topic = typed.topic();
    let payload = Payload::from_static(template);
    let start = Instant::now();
    for _ in 0..n {
        black_box(Record::to(black_box(topic)).value(payload.clone()));
    }
    let raw_elapsed = start.elapsed();
    let n = n.max(1) as f64;
    Ok(Cost {
        encoded: template.len(),
        record_ns: typed_elapsed.as_secs_f64() * 1e9 / n,
        raw_record_ns: raw_elapsed.as_secs_f64() * 1e9 / n,
        record_allocs: allocs.calls as f64 / n,
    })
}

/// Runs `kafkit-typed-json`: the timed part is `kafkit-send`'s (first send
/// to last delivery), then the serialization cost is measured with as many
/// records, untimed by the meter.
pub fn run(run: &Run<'_>) -> Result<(Outcome, Cost), String> {
    let first = Event::sized(run.template.len())?;
    let encoded = encoded_len(&first)?;
    if encoded != run.template.len() {
        return Err(format!(
            "the JSON value is {encoded} B, not the {} B asked for",
            run.template.len()
        ));
    }
    let mut config = kafkit::ClientConfig::new();
    for (key, value) in run.settings {
        config
            .set(key, value)
            .map_err(|e| format!("cannot set {key}={value}: {e}"))?;
    }
    let producer =
        Producer::new(&config).map_err(|e| format!("cannot create the producer: {e}"))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| format!("cannot build the tokio runtime: {e}"))?;
    let typed = TypedTopic::json::<Event>(Topic::new(run.topic));
    let mut event = first.clone();
    let mut window = VecDeque::with_capacity(run.window + 1);

    let meter = Meter::start();
    let tally = rt.block_on(async {
        let mut tally = Tally::default();
        for i in 0..run.messages {
            event.set_index(&first, i);
            let record = typed
                .record((), &event)
                .map_err(|e| format!("cannot make a typed record: {e}"))?;
            match producer.send(record).await {
                Ok(delivery) => window.push_back(delivery),
                Err(e) => tally.fail(|| e.error.to_string()),
            }
            if window.len() >= run.window {
                if let Some(oldest) = window.pop_front() {
                    tally_result(&mut tally, oldest.await);
                }
            }
        }
        drain_window(&mut window, &mut tally).await?;
        Ok::<_, String>(tally)
    })?;
    let measured = meter.stop();
    drop(producer);

    let cost = measure_cost(&typed, &first, run.template, run.messages)?;
    Ok((
        Outcome {
            measured,
            tally,
            note: cost.note(run.window),
        },
        cost,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_of_a_run_encodes_to_the_size_asked() {
        let first = Event::sized(100).unwrap();
        let mut event = first.clone();
        for i in [0, 1, 9, 10, 99_999, 5_000_000] {
            event.set_index(&first, i);
            assert_eq!(encoded_len(&event).unwrap(), 100, "record {i}");
        }
        assert!(Event::sized(10).is_err());
    }
}
