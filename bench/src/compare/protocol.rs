//! What the comparison harness tells a client process to do, and what the
//! process tells it back.
//!
//! Every client of `kafkit-bench compare` runs in a process of its own (a
//! `kafkit-bench peer` child for the Rust clients, a Python script for the
//! Python clients, Kafka's tools for Java), so that its CPU time and peak
//! memory can be read from the operating system when it exits, and so that
//! no client warms caches or allocators for the next one.
//!
//! The harness hands the process a [`Workload`] as one JSON argument. The
//! process does the work and prints, as its last line of standard output,
//! [`RESULT_PREFIX`] followed by an [`Outcome`] as JSON. Anything else it
//! prints is shown to the user only when the run fails.

use serde::{Deserialize, Serialize};

/// The start of the line that carries a client's [`Outcome`].
pub const RESULT_PREFIX: &str = "KAFKIT-BENCH-RESULT ";

/// What one client process measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Send `messages` records of `size` bytes to `topic` as fast as the
    /// client can, timed from the first send to the last delivery report.
    Produce,
    /// Read `messages` records from the beginning of `topic` (filled by the
    /// harness beforehand) as a member of the fresh group `group`, timed
    /// from the first record received to the last.
    Consume,
    /// Send `messages` records at `rate` records per second to `topic` and
    /// read them back in the same process; each record's latency is the
    /// time from its send call to its arrival at the consumer.
    Latency,
}

/// Compression codec for the producer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Compression {
    None,
    Lz4,
    Zstd,
}

impl Compression {
    /// The name Kafka's and librdkafka's `compression.type` use.
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }
}

/// One run of one client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Workload {
    pub kind: Kind,
    /// `host:port` list of the broker(s).
    pub bootstrap: String,
    pub topic: String,
    /// Partitions of `topic` (the harness creates it).
    pub partitions: i32,
    /// Records to send or to read.
    pub messages: u64,
    /// Payload bytes per record (no key).
    pub size: usize,
    /// `acks`: 1 or -1 (all).
    pub acks: i32,
    /// `enable.idempotence`.
    pub idempotence: bool,
    pub compression: Compression,
    /// Consumer group of a `Consume` or `Latency` run (fresh per run).
    pub group: String,
    /// Records per second of a `Latency` run; 0 otherwise.
    pub rate: u64,
    /// true: the settings below, the same for every client (linger, batch
    /// size, in-flight window). false: the client's own defaults for
    /// everything but acks, idempotence and compression.
    pub tuned: bool,
    /// `linger.ms` when `tuned`.
    pub linger_ms: u64,
    /// `batch.size` in bytes when `tuned`.
    pub batch_size: u64,
    /// Records in flight at most (clients that bound it themselves).
    pub window: u64,
}

/// End-to-end latency percentiles of a `Latency` run, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    pub p50_us: f64,
    pub p99_us: f64,
    pub p999_us: f64,
    pub max_us: f64,
}

/// What a client process reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// Records sent and acknowledged, or received.
    pub messages: u64,
    /// Payload bytes of those records.
    pub bytes: u64,
    /// The timed part, in seconds.
    pub seconds: f64,
    /// Records that failed (delivery errors, consume errors).
    #[serde(default)]
    pub failed: u64,
    /// Set by `Latency` runs.
    #[serde(default)]
    pub latency: Option<Latency>,
    /// Time spent before the timed part that the client needed to get going
    /// (the JVM's start and warm-up for the Java tools), in seconds.
    #[serde(default)]
    pub warmup_seconds: Option<f64>,
    /// Anything the report should say beside the figure.
    #[serde(default)]
    pub note: Option<String>,
}

impl Outcome {
    /// Records per second of the timed part.
    pub fn rate(&self) -> f64 {
        if self.seconds > 0.0 {
            self.messages as f64 / self.seconds
        } else {
            0.0
        }
    }

    /// Payload megabytes (10^6 bytes) per second of the timed part.
    pub fn mb_per_s(&self) -> f64 {
        if self.seconds > 0.0 {
            self.bytes as f64 / 1e6 / self.seconds
        } else {
            0.0
        }
    }

    /// The line a client process prints last.
    pub fn to_line(&self) -> String {
        // Serializing plain numbers, strings and options cannot fail.
        let json = serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
        format!("{RESULT_PREFIX}{json}")
    }

    /// The outcome in a client process's standard output (its last result
    /// line), or why there is none.
    pub fn from_output(stdout: &str) -> Result<Outcome, String> {
        let line = stdout
            .lines()
            .rev()
            .find_map(|l| l.trim().strip_prefix(RESULT_PREFIX.trim_end()))
            .ok_or_else(|| "the client printed no result line".to_string())?;
        serde_json::from_str(line.trim()).map_err(|e| format!("bad result line {line:?}: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workload() -> Workload {
        Workload {
            kind: Kind::Produce,
            bootstrap: "127.0.0.1:9092".into(),
            topic: "t".into(),
            partitions: 3,
            messages: 1000,
            size: 100,
            acks: -1,
            idempotence: true,
            compression: Compression::Lz4,
            group: "g".into(),
            rate: 0,
            tuned: true,
            linger_ms: 5,
            batch_size: 1_000_000,
            window: 50_000,
        }
    }

    #[test]
    fn a_workload_round_trips_through_json() {
        let w = workload();
        let json = serde_json::to_string(&w).unwrap();
        assert!(json.contains("\"kind\":\"produce\""), "{json}");
        assert!(json.contains("\"compression\":\"lz4\""), "{json}");
        assert_eq!(serde_json::from_str::<Workload>(&json).unwrap(), w);
    }

    #[test]
    fn the_last_result_line_is_the_outcome() {
        let first = Outcome {
            messages: 1,
            bytes: 100,
            seconds: 1.0,
            failed: 0,
            latency: None,
            warmup_seconds: None,
            note: None,
        };
        let second = Outcome {
            messages: 2_000_000,
            bytes: 200_000_000,
            seconds: 2.0,
            ..first.clone()
        };
        let out = format!(
            "noise\n{}\nmore noise\n{}\n",
            first.to_line(),
            second.to_line()
        );
        let got = Outcome::from_output(&out).unwrap();
        assert_eq!(got, second);
        assert_eq!(got.rate(), 1_000_000.0);
        assert_eq!(got.mb_per_s(), 100.0);
    }

    #[test]
    fn fields_a_script_leaves_out_default() {
        let got = Outcome::from_output(
            "KAFKIT-BENCH-RESULT {\"messages\":10,\"bytes\":1000,\"seconds\":0.5}",
        )
        .unwrap();
        assert_eq!(got.failed, 0);
        assert_eq!(got.latency, None);
    }

    #[test]
    fn no_result_line_is_an_error() {
        assert!(Outcome::from_output("Traceback (most recent call last):\n").is_err());
        assert!(Outcome::from_output("KAFKIT-BENCH-RESULT {not json").is_err());
    }
}
