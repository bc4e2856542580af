//! The transactional variants `kafkit-txn-1k`, `kafkit-txn-10k` and
//! `kafkit-txn-100k`: `kafkit-send`'s loop (`send().await` with a window of
//! delivery futures) inside transactions of a fixed number of records, each
//! closed by a blocking `commit_transaction`.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use kafkit::{Payload, Producer, Record, Topic};

use super::kafkit::tally_result;
use super::{Meter, Outcome, Run, Tally};

/// How long `init_transactions` and each commit may take.
const TXN_TIMEOUT: Duration = Duration::from_secs(60);

/// What the commits of one run took.
#[derive(Debug, Clone, Default)]
pub struct Commits {
    /// Records per transaction (the last one may be shorter).
    pub size: usize,
    /// Each commit's latency, from the `commit_transaction` call to its
    /// return. The call comes right after the transaction's last send, with
    /// nothing awaited in between, so this is also the time from the last
    /// send to the commit: it includes flushing the records still in flight.
    pub latencies: Vec<Duration>,
    /// Records still in flight (not yet reported) at each commit call.
    pub in_flight: Vec<usize>,
}

impl Commits {
    /// p50, p99 and max of the latencies, in milliseconds (nearest rank).
    pub fn percentiles_ms(latencies: &[Duration]) -> Option<(f64, f64, f64)> {
        if latencies.is_empty() {
            return None;
        }
        let mut ms: Vec<f64> = latencies.iter().map(|d| d.as_secs_f64() * 1e3).collect();
        ms.sort_by(|a, b| a.total_cmp(b));
        let rank = |p: f64| ms[((p * ms.len() as f64).ceil() as usize).clamp(1, ms.len()) - 1];
        Some((rank(0.50), rank(0.99), ms[ms.len() - 1]))
    }

    /// Mean of the records in flight at the commit calls.
    pub fn mean_in_flight(&self) -> f64 {
        self.in_flight.iter().sum::<usize>() as f64 / self.in_flight.len().max(1) as f64
    }

    /// The remark for the per-run line.
    pub fn note(&self, window: usize) -> String {
        let (p50, p99, max) = Commits::percentiles_ms(&self.latencies).unwrap_or_default();
        format!(
            "{} transactions of {} records, window {window}; commit p50 {p50:.2} ms, p99 {p99:.2} ms, \
             max {max:.2} ms (commit call to return, called right after the last send, so it \
             includes flushing {:.0} records in flight on average)",
            self.latencies.len(),
            self.size,
            self.mean_in_flight()
        )
    }
}

/// The summary line of a transactional variant: its commits over all
/// successful rounds, pooled.
pub fn summary(rounds: &[&Commits], window: usize) -> String {
    let size = rounds.first().map_or(0, |c| c.size);
    let latencies: Vec<Duration> = rounds
        .iter()
        .flat_map(|c| c.latencies.iter().copied())
        .collect();
    let in_flight =
        rounds.iter().map(|c| c.mean_in_flight()).sum::<f64>() / rounds.len().max(1) as f64;
    let per_run = latencies.len() / rounds.len().max(1);
    match Commits::percentiles_ms(&latencies) {
        Some((p50, p99, max)) => format!(
            "{per_run} transactions of {size} records per run (the last may be shorter), window {}; \
             commit latency over {} commits of {} rounds: p50 {p50:.2} ms, p99 {p99:.2} ms, max {max:.2} ms \
             (from the commit_transaction call to its return; it is called right after the transaction's \
             last send with nothing awaited in between, so this is also the time from the last send to the \
             commit, and includes flushing the {in_flight:.0} records in flight on average); a transactional.id \
             per run, so librdkafka enables idempotence, which kafkit-send runs without",
            window.min(size),
            latencies.len(),
            rounds.len()
        ),
        None => "no commits".into(),
    }
}

/// A transactional producer for `run`: its settings plus a
/// `transactional.id` of its own (librdkafka then turns on idempotence,
/// which needs `acks=all`, already among the settings), transactions
/// initialized.
fn producer(run: &Run<'_>) -> Result<Producer, String> {
    let mut config = super::kafkit::config(run)?;
    let id = format!("{}-txn", run.topic);
    config
        .set("transactional.id", &id)
        .map_err(|e| format!("cannot set transactional.id={id}: {e}"))?;
    let producer =
        Producer::new(&config).map_err(|e| format!("cannot create the producer: {e}"))?;
    producer
        .init_transactions(TXN_TIMEOUT)
        .map_err(|e| format!("init_transactions (transactional.id {id}) failed: {e}"))?;
    Ok(producer)
}

/// Runs one transactional variant with `per_txn` records per transaction.
/// The window is `run.window` capped at `per_txn` (so with the default
/// window a transaction of 1000 or 10 000 records is sent without waiting
/// for any of its deliveries). Timed from before the
/// first send (the first `begin_transaction` is already done) to the return
/// of the last commit; after each commit the window's futures, all resolved
/// by then, are collected.
pub fn run(run: &Run<'_>, per_txn: usize) -> Result<(Outcome, Commits), String> {
    let producer = producer(run)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| format!("cannot build the tokio runtime: {e}"))?;
    let topic = Topic::new(run.topic);
    let template = Payload::from_static(run.template);
    let window_size = run.window.min(per_txn).max(1);
    let mut window = VecDeque::with_capacity(window_size + 1);
    let transactions = run.messages.div_ceil(per_txn);
    let mut commits = Commits {
        size: per_txn,
        latencies: Vec::with_capacity(transactions),
        in_flight: Vec::with_capacity(transactions),
    };

    producer
        .begin_transaction()
        .map_err(|e| format!("begin_transaction failed: {e}"))?;
    let meter = Meter::start();
    let tally = rt.block_on(async {
        let mut tally = Tally::default();
        for i in 0..run.messages {
            if i > 0 && i % per_txn == 0 {
                producer
                    .begin_transaction()
                    .map_err(|e| format!("begin_transaction failed: {e}"))?;
            }
            // The window is checked before a send, not after: after a
            // transaction's last send the commit is called at once, and it
            // alone waits for the deliveries still in flight.
            if window.len() >= window_size {
                if let Some(oldest) = window.pop_front() {
                    tally_result(&mut tally, oldest.await);
                }
            }
            let record = Record::to(topic).value(template.clone());
            match producer.send(record).await {
                Ok(delivery) => window.push_back(delivery),
                Err(e) => tally.fail(|| e.error.to_string()),
            }
            if (i + 1) % per_txn == 0 || i + 1 == run.messages {
                commits.in_flight.push(producer.in_flight());
                let start = Instant::now();
                // Blocking is fine here: this runtime runs nothing else, and
                // the delivery futures are completed by kafkit's own thread.
                let committed = producer.commit_transaction(TXN_TIMEOUT);
                commits.latencies.push(start.elapsed());
                if let Err(e) = committed {
                    return Err(format!(
                        "commit of transaction {} of {transactions} failed ({:?}): {e}",
                        commits.latencies.len(),
                        e.txn_action()
                    ));
                }
                // The commit waited for every delivery: these are ready.
                while let Some(delivery) = window.pop_front() {
                    tally_result(&mut tally, delivery.await);
                }
            }
        }
        Ok(tally)
    })?;
    let measured = meter.stop();
    drop(producer);
    let note = commits.note(window_size);
    Ok((
        Outcome {
            measured,
            tally,
            note,
        },
        commits,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let ms = |v: u64| Duration::from_millis(v);
        let latencies: Vec<Duration> = (1..=100).map(ms).collect();
        assert_eq!(
            Commits::percentiles_ms(&latencies),
            Some((50.0, 99.0, 100.0))
        );
        assert_eq!(Commits::percentiles_ms(&[ms(3)]), Some((3.0, 3.0, 3.0)));
        assert_eq!(Commits::percentiles_ms(&[]), None);
    }
}
