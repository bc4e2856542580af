//! A stand-in client for testing the driver itself: with
//! `KAFKIT_BENCH_FAKE_PEERS=1`, the `raw` and `kafkit` families have one
//! variant, `fake`, run as `kafkit-bench compare --fake-peer FAMILY fake
//! WORKLOAD` in a child process. It talks to no broker: it prints made-up
//! figures (marked as such in its note), so that the plan, the child
//! processes, the statistics, the report and the charts can be exercised
//! without the real clients.

use super::protocol::{Kind, Latency, Outcome, Workload};
use super::stats;

/// The environment variable that turns the fake family on.
pub const ENV: &str = "KAFKIT_BENCH_FAKE_PEERS";

/// Whether the fake family is on.
pub fn enabled() -> bool {
    std::env::var_os(ENV).is_some_and(|v| v == "1")
}

/// `--fake-peer FAMILY VARIANT WORKLOAD_JSON`.
pub fn main(args: &[String]) -> i32 {
    let [family, _variant, workload] = args else {
        eprintln!("usage: kafkit-bench compare --fake-peer FAMILY VARIANT WORKLOAD_JSON");
        return 2;
    };
    let w: Workload = match serde_json::from_str(workload) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("error: bad workload: {e}");
            return 2;
        }
    };
    let per_second = if family == "raw" { 1.2e6 } else { 1.0e6 } / (1.0 + w.size as f64 / 1000.0);
    let seconds = match w.kind {
        Kind::Latency => w.messages as f64 / w.rate.max(1) as f64,
        _ => w.messages as f64 / per_second,
    };
    // Some real work and memory, so that CPU time and RSS are not all zero:
    // made-up latencies around 1 ms, sorted for the percentiles.
    let mut samples: Vec<f64> = (0..w.messages.min(100_000))
        .map(|i| 500.0 + ((i * 7919) % 1000) as f64 * if i % 997 == 0 { 8.0 } else { 1.0 })
        .collect();
    samples.sort_by(|a, b| a.total_cmp(b));
    let pct = |p| stats::percentile(&samples, p).unwrap_or(0.0);
    std::thread::sleep(std::time::Duration::from_secs_f64(seconds.min(0.05)));
    let outcome = Outcome {
        messages: w.messages,
        bytes: w.messages * w.size as u64,
        seconds,
        failed: 0,
        latency: (w.kind == Kind::Latency).then(|| Latency {
            p50_us: pct(50.0),
            p99_us: pct(99.0),
            p999_us: pct(99.9),
            max_us: pct(100.0),
        }),
        warmup_seconds: None,
        note: Some("fake client: made-up figures, not a measurement".into()),
    };
    println!("{}", outcome.to_line());
    0
}
