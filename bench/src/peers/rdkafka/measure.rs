//! What the rdkafka and confluent-rust families measure the same way: the
//! payloads, the tallies of deliveries and reads, and the two sides of a
//! latency run (the send time in a record's first 8 bytes, the consumer on
//! a thread of its own, the percentiles).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::compare::protocol::{Kind, Latency, Outcome, Workload};

/// How long the consumer side of a latency run may take to get ready.
const READY_WAIT: Duration = Duration::from_secs(30);

/// How long a consumer may go without a record, or a producer without a
/// delivery report, before the run fails.
pub(crate) const STALL_LIMIT: Duration = Duration::from_secs(30);

/// The workloads both families refuse up front.
pub(crate) fn check(w: &Workload) -> Result<(), String> {
    if w.messages == 0 {
        return Err("the workload has 0 messages".into());
    }
    if w.kind == Kind::Latency {
        if w.rate == 0 {
            return Err("a latency workload needs a rate above 0".into());
        }
        if w.size < 8 {
            return Err(format!(
                "a latency record carries its 8-byte send time: size {} is too small",
                w.size
            ));
        }
    }
    Ok(())
}

/// The payload every record carries (copied by the client per record).
pub(crate) fn template(size: usize) -> Vec<u8> {
    vec![b'x'; size]
}

/// Delivery outcomes, shared with the client's delivery callback.
#[derive(Default)]
pub(crate) struct Deliveries {
    pub delivered: AtomicU64,
    pub failed: AtomicU64,
    pub first_error: Mutex<Option<String>>,
}

impl Deliveries {
    pub fn ok(&self) {
        self.delivered.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a failure; `why` is only evaluated for the first.
    pub fn fail(&self, why: impl FnOnce() -> String) {
        if self.failed.fetch_add(1, Ordering::Relaxed) == 0 {
            if let Ok(mut first) = self.first_error.lock() {
                *first = Some(why());
            }
        }
    }

    pub fn seen(&self) -> u64 {
        self.delivered.load(Ordering::Relaxed) + self.failed.load(Ordering::Relaxed)
    }

    /// The first error, as a note for the report.
    pub fn note(&self) -> Option<String> {
        let first = self.first_error.lock().ok()?.clone()?;
        Some(format!("first delivery error: {first}"))
    }
}

/// The payload of the warm-up record: the template with a send time of 0,
/// which the latency consumers skip.
pub(crate) fn warm_up_payload(size: usize) -> Vec<u8> {
    let mut p = template(size.max(8));
    p[..8].fill(0);
    p.truncate(size);
    p
}

/// Says how long the warm-up record took, for the report.
pub(crate) fn warm_up_note(took: Duration) -> String {
    format!(
        "warm-up record delivered {} ms after the first send (untimed)",
        took.as_millis()
    )
}

/// What a consume run read.
#[derive(Default)]
pub(crate) struct Reads {
    pub read: u64,
    pub bytes: u64,
    pub errors: u64,
    pub first_error: Option<String>,
}

impl Reads {
    pub fn record(&mut self, payload: Option<&[u8]>) {
        self.read += 1;
        self.bytes += payload.map_or(0, |p| p.len() as u64);
    }

    pub fn error(&mut self, why: impl FnOnce() -> String) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(why());
        }
    }

    pub fn stalled(&self, w: &Workload) -> String {
        let mut s = format!(
            "stalled after {} of {} records (nothing for {} s)",
            self.read,
            w.messages,
            STALL_LIMIT.as_secs()
        );
        if let Some(e) = &self.first_error {
            s.push_str(&format!("; first error: {e}"));
        }
        s
    }

    /// The consume outcome: the timed part ran from `first` (the first
    /// record) to now; `waited` is how long the first record took after
    /// subscribing.
    pub fn outcome(self, first: Instant, waited: Duration) -> Outcome {
        let mut notes = vec![format!(
            "first record {} ms after subscribing (untimed)",
            waited.as_millis()
        )];
        if let Some(e) = &self.first_error {
            notes.push(format!("first consume error: {e}"));
        }
        Outcome {
            messages: self.read,
            bytes: self.bytes,
            seconds: first.elapsed().as_secs_f64(),
            failed: self.errors,
            latency: None,
            warmup_seconds: None,
            note: Some(notes.join("; ")),
        }
    }
}

/// Nanoseconds since the UNIX epoch.
pub(crate) fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// The send time a latency record carries in its first 8 bytes.
pub(crate) fn sent_at(payload: &[u8]) -> Option<u64> {
    let head: [u8; 8] = payload.get(..8)?.try_into().ok()?;
    Some(u64::from_le_bytes(head))
}

/// When the `i`-th record of a run at `rate` records/s is due.
pub(crate) fn due(start: Instant, i: u64, rate: u64) -> Instant {
    start + Duration::from_nanos((i as u128 * 1_000_000_000 / rate.max(1) as u128) as u64)
}

/// The percentiles of `latencies` (nanoseconds), nearest rank, in
/// microseconds; `None` when there are none.
pub(crate) fn percentiles(latencies: &mut [u64]) -> Option<Latency> {
    if latencies.is_empty() {
        return None;
    }
    latencies.sort_unstable();
    let n = latencies.len();
    let at = |q: f64| {
        let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
        latencies[rank - 1] as f64 / 1_000.0
    };
    Some(Latency {
        p50_us: at(0.50),
        p99_us: at(0.99),
        p999_us: at(0.999),
        max_us: latencies[n - 1] as f64 / 1_000.0,
    })
}

/// What the consumer side of a latency run shares with the producer side.
#[derive(Default)]
pub(crate) struct Expect {
    /// Records the consumer waits for: `u64::MAX` until the producer side
    /// knows how many were delivered.
    pub records: AtomicU64,
    /// Set when the producer side gives up: the consumer stops.
    pub abort: AtomicBool,
}

impl Expect {
    pub fn new() -> Arc<Self> {
        let e = Expect::default();
        e.records.store(u64::MAX, Ordering::Relaxed);
        Arc::new(e)
    }
}

/// What the consumer side of a latency run measured.
pub(crate) struct Arrivals {
    /// Arrival minus send time of every record, in nanoseconds.
    pub latencies: Vec<u64>,
    pub bytes: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    /// When the last record arrived.
    pub last: Instant,
}

/// Builds the latency outcome from both sides.
pub(crate) fn latency_outcome(
    started: Instant,
    mut arrivals: Arrivals,
    d: &Deliveries,
    notes: Vec<String>,
) -> Outcome {
    let seconds = arrivals
        .last
        .saturating_duration_since(started)
        .as_secs_f64();
    let mut notes: Vec<String> = notes.into_iter().chain(d.note()).collect();
    if let Some(e) = &arrivals.first_error {
        notes.push(format!("first consume error: {e}"));
    }
    Outcome {
        messages: arrivals.latencies.len() as u64,
        bytes: arrivals.bytes,
        seconds,
        failed: d.failed.load(Ordering::Relaxed) + arrivals.errors,
        latency: percentiles(&mut arrivals.latencies),
        warmup_seconds: None,
        note: (!notes.is_empty()).then(|| notes.join("; ")),
    }
}

/// Starts the consumer side of a latency run on its own thread and waits
/// until it is ready.
pub(crate) fn start_reader<F>(
    name: &str,
    reader: F,
) -> Result<std::thread::JoinHandle<Result<Arrivals, String>>, String>
where
    F: FnOnce(std::sync::mpsc::Sender<Result<(), String>>) -> Result<Arrivals, String>
        + Send
        + 'static,
{
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = std::thread::Builder::new()
        .name(name.into())
        .spawn(move || reader(tx))
        .map_err(|e| format!("cannot start the consumer thread: {e}"))?;
    match rx.recv_timeout(READY_WAIT) {
        Ok(Ok(())) => Ok(handle),
        Ok(Err(e)) => Err(e),
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            Err("the consumer was not ready in time".into())
        }
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => Err(match handle.join() {
            Ok(Err(e)) => e,
            Ok(Ok(_)) => "the consumer stopped before it was ready".into(),
            Err(_) => "the consumer thread panicked".into(),
        }),
    }
}

/// Waits for the consumer side of a latency run.
pub(crate) fn join_reader(
    handle: std::thread::JoinHandle<Result<Arrivals, String>>,
) -> Result<Arrivals, String> {
    handle
        .join()
        .map_err(|_| "the consumer thread panicked".to_string())?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_take_the_nearest_rank() {
        let mut v: Vec<u64> = (1..=1000).rev().map(|i| i * 1_000).collect();
        let l = percentiles(&mut v).unwrap();
        assert_eq!(l.p50_us, 500.0);
        assert_eq!(l.p99_us, 990.0);
        assert_eq!(l.p999_us, 999.0);
        assert_eq!(l.max_us, 1000.0);
        assert!(percentiles(&mut []).is_none());
    }

    #[test]
    fn a_send_time_round_trips_through_a_payload() {
        let mut p = template(10);
        p[..8].copy_from_slice(&123_456_789u64.to_le_bytes());
        assert_eq!(sent_at(&p), Some(123_456_789));
        assert_eq!(sent_at(&p[..7]), None);
    }

    #[test]
    fn records_are_due_at_the_rate() {
        let t = Instant::now();
        assert_eq!(due(t, 0, 1000), t);
        assert_eq!(due(t, 1500, 1000), t + Duration::from_millis(1500));
    }
}
