//! The kafkit variants: `kafkit-send` (async `send().await` with a window of
//! delivery futures), `kafkit-callback` (`send_with_callback`, a boxed
//! callback per record) and `kafkit-handler` (`produce` with the producer's
//! delivery handler), the last two with an in-flight bound kept by the
//! callbacks.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use kafkit::{ClientConfig, DeliveryResult, ErrorCode, Payload, Producer, Record, Topic};

use super::{Meter, Outcome, Run, Tally};

/// How long the end of a run may wait for outstanding deliveries.
const DRAIN_LIMIT: Duration = Duration::from_secs(120);

pub(crate) fn config(run: &Run<'_>) -> Result<ClientConfig, String> {
    let mut config = ClientConfig::new();
    for (key, value) in run.settings {
        config
            .set(key, value)
            .map_err(|e| format!("cannot set {key}={value}: {e}"))?;
    }
    Ok(config)
}

/// With `run.warm_up`, sends one record and waits for its delivery.
pub(crate) fn warm_up(producer: &Producer, run: &Run<'_>) -> Result<(), String> {
    if !run.warm_up {
        return Ok(());
    }
    let record = Record::to(run.topic).value(Payload::from_static(run.template));
    let mut delivery = producer
        .send_blocking(record, DRAIN_LIMIT)
        .map_err(|e| format!("warm-up record: {}", e.error))?;
    match delivery.wait(DRAIN_LIMIT) {
        Some(Ok(_)) => Ok(()),
        Some(Err(e)) => Err(format!("warm-up record: {}", e.error)),
        None => Err(format!(
            "warm-up record: not delivered within {DRAIN_LIMIT:?}"
        )),
    }
}

fn producer(run: &Run<'_>) -> Result<Producer, String> {
    Producer::new(&config(run)?).map_err(|e| format!("cannot create the producer: {e}"))
}

pub(crate) fn tally_result(tally: &mut Tally, result: DeliveryResult) {
    match result {
        Ok(_) => tally.delivered += 1,
        Err(e) => tally.fail(|| e.error.to_string()),
    }
}

/// Awaits every delivery left in `window` into `tally`, for at most
/// [`DRAIN_LIMIT`].
pub(crate) async fn drain_window(
    window: &mut VecDeque<kafkit::DeliveryFuture>,
    tally: &mut Tally,
) -> Result<(), String> {
    let drained = tokio::time::timeout(DRAIN_LIMIT, async {
        while let Some(delivery) = window.pop_front() {
            tally_result(tally, delivery.await);
        }
    })
    .await;
    drained.map_err(|_| {
        format!(
            "at least {} deliveries still pending after waiting {DRAIN_LIMIT:?}",
            window.len() + 1
        )
    })
}

/// `kafkit-send`: a current-thread tokio runtime; each record is built in the
/// loop (an interned [`Topic`] and the static template as its value),
/// `send(record).await` enqueues it, and its `DeliveryFuture` joins a window
/// of `run.window` futures; when the window is full the oldest one is
/// awaited. The rest are awaited at the end.
pub fn run_send(run: &Run<'_>) -> Result<Outcome, String> {
    let producer = producer(run)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| format!("cannot build the tokio runtime: {e}"))?;
    let topic = Topic::new(run.topic);
    let template = Payload::from_static(run.template);
    let mut window = VecDeque::with_capacity(run.window + 1);
    let mut max_in_flight = 0;

    warm_up(&producer, run)?;
    let meter = Meter::start();
    let tally = rt.block_on(async {
        let mut tally = Tally::default();
        // Without a broker, deliveries fail only after `message.timeout.ms`;
        // the loop relies on that, and the drain has its own limit.
        for i in 0..run.messages {
            if i % 1024 == 0 {
                max_in_flight = max_in_flight.max(producer.in_flight());
            }
            let record = Record::to(topic).value(template.clone());
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
    Ok(Outcome {
        measured,
        tally,
        note: format!(
            "window {} futures; at most {max_in_flight} records ({:.0} MiB of payload) in flight in librdkafka, sampled",
            run.window,
            (max_in_flight * run.template.len()) as f64 / (1024.0 * 1024.0)
        ),
    })
}

/// Progress shared by the producing thread and the delivery callbacks.
struct Progress {
    /// Reports seen (delivered or failed).
    done: AtomicU64,
    failed: AtomicU64,
    first_error: Mutex<Option<String>>,
    /// The `done` value at which a callback must wake the producing thread
    /// (`u64::MAX`: nobody waits).
    wake_at: AtomicU64,
    lock: Mutex<()>,
    cv: Condvar,
}

impl Progress {
    fn new() -> Self {
        Progress {
            done: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            first_error: Mutex::new(None),
            wake_at: AtomicU64::new(u64::MAX),
            lock: Mutex::new(()),
            cv: Condvar::new(),
        }
    }

    /// Called by each delivery callback, on the thread serving the reports.
    fn report(&self, result: DeliveryResult) {
        if let Err(e) = result {
            self.failed.fetch_add(1, Ordering::Relaxed);
            let mut first = self.first_error.lock().unwrap_or_else(|p| p.into_inner());
            first.get_or_insert_with(|| e.error.to_string());
        }
        let done = self.done.fetch_add(1, Ordering::SeqCst) + 1;
        // Exactly one callback sees the target value: no notification storm.
        if done == self.wake_at.load(Ordering::SeqCst) {
            let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
            self.cv.notify_one();
        }
    }

    /// Blocks until `done >= target`, or fails after `limit`.
    fn wait_until(&self, target: u64, limit: Duration) -> Result<(), String> {
        if self.done.load(Ordering::SeqCst) >= target {
            return Ok(());
        }
        let deadline = Instant::now() + limit;
        let mut guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        // Publish the target, then re-check: a callback that reaches the
        // target after the store takes the lock, which it only gets once this
        // thread waits, so its notification cannot be missed.
        self.wake_at.store(target, Ordering::SeqCst);
        let mut result = Ok(());
        while self.done.load(Ordering::SeqCst) < target {
            let now = Instant::now();
            if now >= deadline {
                result = Err(format!(
                    "only {} delivery reports after waiting {limit:?} for {target}",
                    self.done.load(Ordering::SeqCst)
                ));
                break;
            }
            guard = self
                .cv
                .wait_timeout(guard, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        self.wake_at.store(u64::MAX, Ordering::SeqCst);
        result
    }
}

/// `kafkit-callback` (`send_with_callback`) and, with `handler`,
/// `kafkit-handler` (`produce` with the producer's delivery handler), from
/// the calling thread, no runtime. The callback counts the outcome in shared
/// atomics. The thread
/// keeps at most `run.window` records in flight: at the bound it blocks on a
/// condition variable until the callbacks have brought the count down to
/// half the window (one wake-up per half window, no sleeping or polling).
/// The window is below `queue.buffering.max.messages`, so librdkafka's queue
/// should never be full; if it is, the thread waits for the next report and
/// retries, and the count of such retries is printed.
pub fn run_callback(run: &Run<'_>, handler: bool) -> Result<Outcome, String> {
    let progress = Arc::new(Progress::new());
    let producer = if handler {
        let p = progress.clone();
        Producer::builder(&config(run)?)
            .on_delivery(move |result, _| p.report(result))
            .build()
            .map_err(|e| format!("cannot create the producer: {e}"))?
    } else {
        producer(run)?
    };
    let topic = Topic::new(run.topic);
    let template = Payload::from_static(run.template);
    let n = run.messages as u64;
    let window = run.window as u64;
    let mut queue_full = 0u64;
    let mut waits = 0u64;
    let mut send_failed = Tally::default();

    if !handler {
        warm_up(&producer, run)?;
    }
    let meter = Meter::start();
    let mut sent = 0u64;
    while sent < n {
        if sent - progress.done.load(Ordering::SeqCst) >= window {
            waits += 1;
            progress.wait_until(sent - window / 2, DRAIN_LIMIT)?;
        }
        let mut record = Record::to(topic).value(template.clone());
        loop {
            let sent_one = if handler {
                producer.produce(record, sent)
            } else {
                let p = progress.clone();
                producer.send_with_callback(record, move |result| p.report(result))
            };
            match sent_one {
                Ok(()) => break,
                Err(e) if e.error.code() == Some(ErrorCode::QueueFull) => {
                    queue_full += 1;
                    let seen = progress.done.load(Ordering::SeqCst);
                    progress.wait_until(seen + 1, DRAIN_LIMIT)?;
                    record = e.into_record();
                }
                Err(e) => {
                    send_failed.fail(|| e.error.to_string());
                    break;
                }
            }
        }
        sent += 1;
    }
    // Records that failed to enqueue get no callback.
    let expected = n - send_failed.failed;
    progress.wait_until(expected, DRAIN_LIMIT)?;
    let measured = meter.stop();
    drop(producer);

    let failed = progress.failed.load(Ordering::SeqCst);
    let mut tally = Tally {
        delivered: progress.done.load(Ordering::SeqCst) - failed,
        failed: failed + send_failed.failed,
        first_error: send_failed.first_error,
    };
    if tally.first_error.is_none() {
        tally.first_error = progress
            .first_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
    }
    Ok(Outcome {
        measured,
        tally,
        note: format!(
            "window {} records, blocked {waits} times, queue full {queue_full} times",
            run.window
        ),
    })
}
