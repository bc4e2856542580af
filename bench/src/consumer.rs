//! `kafkit-bench consumer`: consumer throughput of kafkit against librdkafka
//! driven directly, and, on a real broker, against Confluent's pure-Rust
//! client.
//!
//! The broker is an embedded mock cluster, the one given with `--bootstrap`,
//! or a single node started for the run with `--broker start`
//! (`scripts/kafka.sh`, see [`crate::broker`]).
//!
//! The messages are produced once per run (with kafkit's producer) to a fresh
//! topic, spread evenly over its partitions (on the embedded mock cluster, or
//! on a real broker when `--partitions` is given and the topic is created
//! with that many; else the default partitioner spreads them), and their
//! presence is checked through the partitions' watermarks. Then, in every round, each variant
//! creates a fresh consumer with the same settings ([`SETTINGS`], plus
//! `bootstrap.servers` and a `group.id` of its own), assigns every partition
//! from the beginning (or subscribes, with `--subscribe`) and reads exactly
//! those messages, touching each payload the same way: its length and its
//! first byte are added to running sums, and the offset to a third one. The
//! sums are checked against the produced data afterwards, so a variant that
//! lost, repeated or skipped a message fails loudly. The `confluent` variant
//! (Confluent's pure-Rust client, real brokers only) maps these settings to
//! its own where it can; see [`confluent`].
//!
//! The peak resident set size of the process is taken per run (its
//! high-water mark is reset before the consumer is created).
//!
//! Two timings (`--timing`):
//! - `drain` (the default) measures the consumer API alone: after the first
//!   message the variant waits, untimed, until librdkafka has fetched
//!   everything into its local queue (the process goes idle), then the clock
//!   runs while the variant reads the rest.
//! - `fetch` starts the clock at the first message, so the fetching from the
//!   broker, which runs on librdkafka's threads, overlaps the timed part.
//!
//! Either way the clock stops at the last message, and rates are the
//! messages read while it ran divided by its time.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ::kafkit::MockCluster;

use crate::broker::StartedBroker;
use crate::common::{
    best_median, create_topic_on_broker, delete_topic_on_broker, load_average, parse_number,
    peak_rss_mib, reset_peak_rss, shell_quote, thread_cpu_time,
};
use crate::producer::{Measured, Meter};

mod confluent;

/// Consumer settings applied identically to every variant; everything else
/// is left at librdkafka's defaults.
///
/// The two queue thresholds are raised so that librdkafka may prefetch every
/// message: with the default `queued.min.messages` (100,000, counted over the
/// whole consumer queue) the fetcher stops at that many and then backs off
/// for `fetch.queue.backoff.ms` (1 s), which made runs of the same variant
/// take anywhere between 0.3 and 1.4 s.
pub const SETTINGS: [(&str, &str); 5] = [
    ("auto.offset.reset", "earliest"),
    ("enable.auto.commit", "false"),
    ("enable.partition.eof", "false"),
    ("queued.min.messages", "10000000"),
    ("queued.max.messages.kbytes", "1048576"),
];

/// Producer settings for the messages produced before the rounds: large
/// message sets, so the mock cluster's per-partition limit on message sets
/// is far away.
const PRODUCE_SETTINGS: [(&str, &str); 3] = [
    ("acks", "all"),
    ("linger.ms", "50"),
    ("batch.num.messages", "10000"),
];

/// How much a partition of librdkafka's mock cluster keeps
/// (`rd_kafka_mock_partition_init`: 5 MiB of message sets, 100,000 sets);
/// older message sets are dropped.
const MOCK_PARTITION_BYTES: usize = 5 * 1024 * 1024;

/// Bytes a record of the v2 format needs on top of its value when it has no
/// key and no headers (length, attributes, timestamp and offset deltas, key
/// and value lengths, header count), rounded up.
const RECORD_OVERHEAD: usize = 12;

/// How long a variant may go without reading a message before it is stopped
/// and the round counted as failed.
const STALL_LIMIT: Duration = Duration::from_secs(30);

/// How long a blocking read waits per call (they return at once when a
/// message is there).
const POLL_WAIT: Duration = Duration::from_millis(100);

/// Deliveries kept in flight while producing.
const PRODUCE_WINDOW: usize = 50_000;

/// In `drain` timing, the process counts as idle once it used less than
/// [`IDLE_CPU`] of CPU time in an [`IDLE_SAMPLE`].
const IDLE_SAMPLE: Duration = Duration::from_millis(50);
const IDLE_CPU: Duration = Duration::from_micros(2_500);
/// The longest wait for the prefetch to finish.
const SETTLE_LIMIT: Duration = Duration::from_secs(20);

/// When the clock starts; see the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timing {
    Drain,
    Fetch,
}

impl Timing {
    fn name(self) -> &'static str {
        match self {
            Timing::Drain => "drain",
            Timing::Fetch => "fetch",
        }
    }
}

/// In `drain` timing, waits until the process is idle: librdkafka has
/// fetched everything it will fetch. Returns how long that took.
pub fn settle(timing: Timing) -> Result<Duration, String> {
    let start = std::time::Instant::now();
    if timing == Timing::Fetch {
        return Ok(Duration::ZERO);
    }
    loop {
        let sample = Meter::start();
        std::thread::sleep(IDLE_SAMPLE);
        if sample.stop().cpu < IDLE_CPU {
            return Ok(start.elapsed());
        }
        if start.elapsed() > SETTLE_LIMIT {
            return Err(format!(
                "the process did not go idle within {SETTLE_LIMIT:?} after the first message \
                 (is something else running in it?); try --timing fetch"
            ));
        }
    }
}

/// The variants, in the order they run within the first round (later rounds
/// rotate the order, so none always goes first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variant {
    Raw,
    KafkitIter,
    KafkitStream,
    KafkitBatch,
    /// Confluent's pure-Rust client; real brokers only.
    Confluent,
}

impl Variant {
    const ALL: [Variant; 5] = [
        Variant::Raw,
        Variant::KafkitIter,
        Variant::KafkitStream,
        Variant::KafkitBatch,
        Variant::Confluent,
    ];

    fn name(self) -> &'static str {
        match self {
            Variant::Raw => "raw",
            Variant::KafkitIter => "kafkit-iter",
            Variant::KafkitStream => "kafkit-stream",
            Variant::KafkitBatch => "kafkit-batch",
            Variant::Confluent => "confluent",
        }
    }

    fn parse(s: &str) -> Option<Variant> {
        Variant::ALL.into_iter().find(|v| v.name() == s)
    }
}

/// What one run of a variant gets.
pub struct Run<'a> {
    /// `bootstrap.servers`, `group.id` and [`SETTINGS`].
    pub settings: &'a [(String, String)],
    pub topic: &'a str,
    /// The partitions holding the messages.
    pub partitions: &'a [i32],
    /// Subscribe to the topic (group protocol) instead of assigning.
    pub subscribe: bool,
    pub messages: u64,
    /// Most messages per `consume_batch` call.
    pub batch: usize,
    pub timing: Timing,
    /// The `confluent` variant's own settings ([`confluent::settings`]).
    pub confluent: &'a [(String, String)],
}

/// Stops a variant that stops making progress: its loop records the number
/// of messages read, and if that number stays the same for [`STALL_LIMIT`],
/// the watchdog sets the stalled flag and runs the variant's stop action.
pub struct Watchdog {
    progress: Arc<AtomicU64>,
    stalled: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Watchdog {
    pub fn start(on_stall: impl FnOnce() + Send + 'static) -> Result<Self, String> {
        let progress = Arc::new(AtomicU64::new(0));
        let stalled = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, s, st) = (progress.clone(), stalled.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("bench-watchdog".into())
            .spawn(move || {
                let mut last = p.load(Ordering::Relaxed);
                let mut since = std::time::Instant::now();
                loop {
                    std::thread::park_timeout(Duration::from_millis(200));
                    if st.load(Ordering::Acquire) {
                        return;
                    }
                    let now = p.load(Ordering::Relaxed);
                    if now != last {
                        last = now;
                        since = std::time::Instant::now();
                    } else if since.elapsed() >= STALL_LIMIT {
                        s.store(true, Ordering::Release);
                        on_stall();
                        return;
                    }
                }
            })
            .map_err(|e| format!("cannot start the watchdog thread: {e}"))?;
        Ok(Watchdog {
            progress,
            stalled,
            stop,
            thread: Some(thread),
        })
    }

    pub fn stalled(&self) -> bool {
        self.stalled.load(Ordering::Acquire)
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}

/// What a variant read, in a form that can be checked against what was
/// produced.
pub struct Tally {
    pub read: u64,
    /// Sum of the payload lengths.
    pub bytes: u64,
    /// Sum of the payloads' first bytes.
    pub first_bytes: u64,
    /// Sum of the offsets.
    pub offsets: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    progress: Arc<AtomicU64>,
}

impl Tally {
    pub fn new(watchdog: &Watchdog) -> Self {
        Tally {
            read: 0,
            bytes: 0,
            first_bytes: 0,
            offsets: 0,
            errors: 0,
            first_error: None,
            progress: watchdog.progress.clone(),
        }
    }

    /// The per-message work, identical in every variant: read the payload's
    /// length and first byte, and the offset.
    #[inline(always)]
    pub fn touch(&mut self, payload: Option<&[u8]>, offset: i64) {
        let payload = payload.unwrap_or_default();
        self.read += 1;
        self.bytes += payload.len() as u64;
        self.first_bytes += u64::from(payload.first().copied().unwrap_or(0));
        self.offsets = self.offsets.wrapping_add(offset as u64);
        self.progress.store(self.read, Ordering::Relaxed);
    }

    /// Counts a consumer error; `why` is only evaluated for the first.
    pub fn error(&mut self, why: impl FnOnce() -> String) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(why());
        }
    }
}

/// Measures the timed part of a run: what [`Meter`] measures, plus the CPU
/// time of the reading thread alone, which other work on the machine
/// disturbs much less than the wall time.
pub struct Clock {
    meter: Meter,
    thread: Duration,
}

impl Clock {
    pub fn start() -> Self {
        let thread = thread_cpu_time();
        Clock {
            meter: Meter::start(),
            thread,
        }
    }

    pub fn stop(self) -> (Measured, Duration) {
        let measured = self.meter.stop();
        (measured, thread_cpu_time().saturating_sub(self.thread))
    }
}

/// The result of one run.
pub struct Outcome {
    pub measured: Measured,
    /// CPU time of the reading thread during the timed part.
    pub reader_cpu: Duration,
    pub tally: Tally,
    /// Messages read inside the timed part.
    pub timed: u64,
    /// A variant-specific remark for the per-run line.
    pub note: String,
}

/// What the produced data adds up to, to check each variant's [`Tally`].
struct Expected {
    messages: u64,
    bytes: u64,
    first_bytes: u64,
    offsets: u64,
}

impl Expected {
    fn new(counts: &[(i32, u64)], template: &[u8]) -> Self {
        let messages: u64 = counts.iter().map(|(_, c)| c).sum();
        Expected {
            messages,
            bytes: messages * template.len() as u64,
            first_bytes: messages * u64::from(template.first().copied().unwrap_or(0)),
            // Each partition holds offsets 0 to count - 1.
            offsets: counts
                .iter()
                .map(|(_, c)| c * c.saturating_sub(1) / 2)
                .fold(0u64, u64::wrapping_add),
        }
    }

    /// Why `tally` does not match, if it does not.
    fn check(&self, tally: &Tally) -> Option<String> {
        let mut why = Vec::new();
        if tally.read != self.messages {
            why.push(format!("read {} of {} messages", tally.read, self.messages));
        } else {
            if tally.bytes != self.bytes {
                why.push(format!(
                    "payload bytes sum {} instead of {}",
                    tally.bytes, self.bytes
                ));
            }
            if tally.first_bytes != self.first_bytes {
                why.push(format!(
                    "first-byte sum {} instead of {}",
                    tally.first_bytes, self.first_bytes
                ));
            }
            if tally.offsets != self.offsets {
                why.push(format!(
                    "offset sum {} instead of {} (a message missed or read twice)",
                    tally.offsets, self.offsets
                ));
            }
        }
        if tally.errors > 0 {
            why.push(format!(
                "{} consumer errors, the first: {}",
                tally.errors,
                tally.first_error.as_deref().unwrap_or("?")
            ));
        }
        (!why.is_empty()).then(|| why.join("; "))
    }
}

/// What `--check-ratio` compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Metric {
    /// Best msg/s over best msg/s.
    Best,
    /// Median msg/s over median msg/s.
    Median,
    /// Raw's lowest reading-thread CPU time per message over the variant's:
    /// the msg/s ratio with other load on the machine mostly taken out.
    Cpu,
}

impl Metric {
    fn name(self) -> &'static str {
        match self {
            Metric::Best => "best msg/s",
            Metric::Median => "median msg/s",
            Metric::Cpu => "lowest reading-thread CPU per message",
        }
    }
}

struct Options {
    messages: usize,
    size: usize,
    partitions: i32,
    /// Whether `--partitions` was given (on a real broker, the topic is then
    /// created with that many partitions).
    partitions_given: bool,
    rounds: usize,
    bootstrap: Option<String>,
    /// `--broker start`: start a single-node broker for the run.
    start_broker: bool,
    variants: Vec<Variant>,
    batch: usize,
    subscribe: bool,
    timing: Timing,
    check_ratio: Option<f64>,
    check_batch_ratio: Option<f64>,
    check_metric: Metric,
    /// `--confluent-set`: settings of the confluent variant.
    confluent_extra: Vec<(String, String)>,
    /// `--set`: librdkafka settings for raw and kafkit, over [`SETTINGS`].
    extra: Vec<(String, String)>,
}

impl Options {
    /// Whether the broker is a real one (not the embedded mock cluster).
    fn real_broker(&self) -> bool {
        self.bootstrap.is_some() || self.start_broker
    }
}

const USAGE: &str = "\
usage: kafkit-bench consumer [options]

  --messages N        messages produced once and read by every run (default 500000)
  --size S            payload bytes per message (default 100)
  --partitions P      partitions of the topic (default 16 on the embedded
                      cluster; on a real broker the topic is created with P
                      partitions by scripts/kafka.sh topics when given, else
                      auto-created with the broker's default count)
  --rounds R          rounds; best and median are reported (default 7)
  --bootstrap H:P     use this broker instead of an embedded mock cluster
  --broker start      start a single-node Apache Kafka for the run with
                      scripts/kafka.sh start single (refused when one started
                      by that script already runs), use it, and stop it
                      afterwards (scripts/kafka.sh stop single), also when the
                      run fails; a run killed by a signal leaves it running
  --variants LIST     comma-separated, from raw,kafkit-iter,kafkit-stream,
                      kafkit-batch,confluent (default all; confluent, the
                      confluent-kafka crate's consumer, needs a real broker
                      and is left out on the embedded cluster)
  --batch MAX         most messages per consume_batch call, and confluent's
                      max.poll.records (default 1000)
  --confluent-set K=V a setting of the confluent variant, over its defaults
                      (repeatable), e.g. --confluent-set max.partition.fetch.bytes=1048576
  --set K=V           a librdkafka setting of the raw and kafkit variants, over
                      the fixed ones (repeatable), e.g. --set enable.auto.offset.store=false
  --subscribe         join a consumer group on the topic instead of assigning
                      its partitions (the join is not timed)
  --timing T          drain: let librdkafka prefetch everything after the first
                      message, then time reading the rest (the consumer API
                      alone; default); fetch: time from the first message, with
                      the fetching from the broker overlapping
  --check-ratio X     exit 1 if kafkit-iter's or kafkit-stream's msg/s divided
                      by raw's is below X (see --check-metric)
  --check-batch-ratio Y
                      the same for kafkit-batch (default: X when --check-ratio
                      is given)
  --check-metric M    the msg/s ratio the checks use: cpu (default) = raw's
                      lowest CPU time of the reading thread per message divided
                      by the variant's, which other load on the machine changes
                      less than the wall time; best = best msg/s over best;
                      median = median msg/s over median

The embedded mock cluster keeps about 5 MiB per partition and drops older
data, so messages x (size + ~12 B) / partitions must stay below that.";

fn parse_ratio(flag: &str, value: &str) -> Result<f64, String> {
    let x: f64 = parse_number(flag, value)?;
    if x.is_finite() && x > 0.0 {
        Ok(x)
    } else {
        Err(format!("{flag} must be a positive number"))
    }
}

/// A `KEY=VALUE` argument of `flag`.
fn key_value(flag: &str, pair: &str) -> Result<(String, String), String> {
    let (k, v) = pair
        .split_once('=')
        .ok_or_else(|| format!("{flag} needs KEY=VALUE, got {pair:?}"))?;
    Ok((k.to_string(), v.to_string()))
}

fn parse_options(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        messages: 500_000,
        size: 100,
        partitions: 16,
        partitions_given: false,
        rounds: 7,
        bootstrap: None,
        start_broker: false,
        variants: Vec::new(),
        batch: 1000,
        subscribe: false,
        timing: Timing::Drain,
        check_ratio: None,
        check_batch_ratio: None,
        check_metric: Metric::Cpu,
        confluent_extra: Vec::new(),
        extra: Vec::new(),
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        if arg == "-h" || arg == "--help" {
            return Err(String::new());
        }
        if arg == "--subscribe" {
            o.subscribe = true;
            continue;
        }
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next().cloned())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag {
            "--messages" => o.messages = parse_number(flag, &value()?)?,
            "--size" => o.size = parse_number(flag, &value()?)?,
            "--partitions" => {
                o.partitions = parse_number(flag, &value()?)?;
                o.partitions_given = true;
            }
            "--rounds" => o.rounds = parse_number(flag, &value()?)?,
            "--bootstrap" => o.bootstrap = Some(value()?),
            "--broker" => match value()?.as_str() {
                "start" => o.start_broker = true,
                other => {
                    return Err(format!(
                        "--broker: {other:?} is not start (to use a running broker, give --bootstrap H:P)"
                    ));
                }
            },
            "--confluent-set" => o.confluent_extra.push(key_value(flag, &value()?)?),
            "--set" => o.extra.push(key_value(flag, &value()?)?),
            "--batch" => o.batch = parse_number(flag, &value()?)?,
            "--timing" => {
                o.timing = match value()?.as_str() {
                    "drain" => Timing::Drain,
                    "fetch" => Timing::Fetch,
                    other => {
                        return Err(format!("--timing: {other:?} is not drain or fetch"));
                    }
                }
            }
            "--check-ratio" => o.check_ratio = Some(parse_ratio(flag, &value()?)?),
            "--check-batch-ratio" => o.check_batch_ratio = Some(parse_ratio(flag, &value()?)?),
            "--check-metric" => {
                o.check_metric = match value()?.as_str() {
                    "best" => Metric::Best,
                    "median" => Metric::Median,
                    "cpu" => Metric::Cpu,
                    other => {
                        return Err(format!(
                            "--check-metric: {other:?} is not best, median or cpu"
                        ));
                    }
                }
            }
            "--variants" => {
                let list = value()?;
                let mut variants = Vec::new();
                for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    let v = Variant::parse(name).ok_or_else(|| {
                        format!(
                            "--variants: unknown variant {name:?} \
                             (known: raw, kafkit-iter, kafkit-stream, kafkit-batch, confluent)"
                        )
                    })?;
                    if !variants.contains(&v) {
                        variants.push(v);
                    }
                }
                if variants.is_empty() {
                    return Err("--variants: empty list".into());
                }
                o.variants = Variant::ALL
                    .into_iter()
                    .filter(|v| variants.contains(v))
                    .collect();
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if o.bootstrap.is_some() && o.start_broker {
        return Err("--bootstrap and --broker start exclude each other".into());
    }
    if o.variants.is_empty() {
        o.variants = Variant::ALL
            .into_iter()
            .filter(|&v| v != Variant::Confluent || o.real_broker())
            .collect();
    } else if o.variants.contains(&Variant::Confluent) && !o.real_broker() {
        return Err(
            "the confluent variant needs a real broker (--bootstrap H:P or --broker start): \
             the confluent-kafka client does not work against librdkafka's embedded mock \
             cluster"
                .into(),
        );
    }
    if o.messages < 2 {
        return Err("--messages must be at least 2 (the first one starts the clock)".into());
    }
    if o.size == 0 {
        return Err("--size must be at least 1".into());
    }
    if o.rounds == 0 {
        return Err("--rounds must be at least 1".into());
    }
    if o.partitions < 1 {
        return Err("--partitions must be at least 1".into());
    }
    if o.batch == 0 {
        return Err("--batch must be at least 1".into());
    }
    if o.check_batch_ratio.is_none() {
        o.check_batch_ratio = o.check_ratio;
    }
    if (o.check_ratio.is_some() || o.check_batch_ratio.is_some())
        && !o.variants.contains(&Variant::Raw)
    {
        return Err("--check-ratio and --check-batch-ratio need the raw variant".into());
    }
    if !o.real_broker() {
        let per_partition = o.messages.div_ceil(o.partitions as usize);
        let bytes = per_partition * (o.size + RECORD_OVERHEAD);
        if bytes > MOCK_PARTITION_BYTES * 9 / 10 {
            return Err(format!(
                "{} messages of {} B over {} partitions is about {} KiB per partition, too \
                 close to the {} KiB the mock cluster keeps per partition (older data is \
                 dropped): use fewer --messages, a smaller --size or more --partitions",
                o.messages,
                o.size,
                o.partitions,
                bytes / 1024,
                MOCK_PARTITION_BYTES / 1024
            ));
        }
    }
    Ok(o)
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len().max(1) as f64
}

/// The figures of one variant over all its rounds.
struct Summary {
    variant: Variant,
    /// msg/s of each successful round.
    rates: Vec<f64>,
    /// Process CPU microseconds per message of each successful round.
    cpu_us_per_msg: Vec<f64>,
    /// Reading thread CPU nanoseconds per message of each successful round.
    reader_ns_per_msg: Vec<f64>,
    allocs_per_msg: Vec<f64>,
    bytes_per_msg: Vec<f64>,
    /// Peak resident memory of the process during each successful round,
    /// MiB.
    rss_mib: Vec<f64>,
    failures: Vec<String>,
}

impl Summary {
    fn rates(&self) -> Option<(f64, f64)> {
        (!self.rates.is_empty()).then(|| best_median(&self.rates))
    }

    /// Median CPU microseconds per message.
    fn cpu(&self) -> Option<f64> {
        (!self.cpu_us_per_msg.is_empty()).then(|| best_median(&self.cpu_us_per_msg).1)
    }

    /// Lowest and median reading thread CPU nanoseconds per message.
    fn reader(&self) -> Option<(f64, f64)> {
        (!self.reader_ns_per_msg.is_empty()).then(|| {
            let (_, median) = best_median(&self.reader_ns_per_msg);
            let lowest = self
                .reader_ns_per_msg
                .iter()
                .copied()
                .fold(f64::INFINITY, f64::min);
            (lowest, median)
        })
    }

    /// This variant's msg/s divided by `raw`'s, by `metric`.
    fn ratio(&self, raw: &Summary, metric: Metric) -> Option<f64> {
        match metric {
            Metric::Best => Some(self.rates()?.0 / raw.rates()?.0),
            Metric::Median => Some(self.rates()?.1 / raw.rates()?.1),
            Metric::Cpu => {
                let (mine, _) = self.reader()?;
                let (raws, _) = raw.reader()?;
                (mine > 0.0).then(|| raws / mine)
            }
        }
    }
}

/// Produces `messages` copies of `template` to `topic` (round robin over
/// `partitions` when given, else the default partitioner) and returns the
/// messages per partition, from the delivery reports.
fn produce(
    bootstrap: &str,
    topic: &str,
    partitions: Option<i32>,
    messages: usize,
    template: &[u8],
) -> Result<Vec<(i32, u64)>, String> {
    use ::kafkit::{ClientConfig, Producer, Record};
    use std::collections::{BTreeMap, VecDeque};

    let mut config = ClientConfig::new();
    config
        .bootstrap_servers(bootstrap)
        .map_err(|e| format!("producer config: {e}"))?;
    for (key, value) in PRODUCE_SETTINGS {
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
    let counts = rt.block_on(async {
        let mut counts: BTreeMap<i32, u64> = BTreeMap::new();
        let mut window = VecDeque::with_capacity(PRODUCE_WINDOW);
        let mut tally = |result: ::kafkit::DeliveryResult| match result {
            Ok(meta) => {
                *counts.entry(meta.partition).or_default() += 1;
                Ok(())
            }
            Err(e) => Err(format!("a delivery failed: {}", e.error)),
        };
        for i in 0..messages {
            let mut record = Record::to(topic).value(template.to_vec());
            if let Some(p) = partitions {
                record = record.partition((i % p as usize) as i32);
            }
            let delivery = producer
                .send(record)
                .await
                .map_err(|e| format!("cannot send message {i}: {}", e.error))?;
            window.push_back(delivery);
            if window.len() >= PRODUCE_WINDOW {
                if let Some(oldest) = window.pop_front() {
                    tally(oldest.await)?;
                }
            }
        }
        while let Some(delivery) = window.pop_front() {
            tally(delivery.await)?;
        }
        Ok::<_, String>(counts)
    })?;
    producer
        .flush(Duration::from_secs(30))
        .map_err(|e| format!("flush: {e}"))?;
    Ok(counts.into_iter().collect())
}

/// Checks through the watermarks that every partition still holds all the
/// messages produced to it, from offset 0.
fn check_retained(
    settings: &[(String, String)],
    topic: &str,
    counts: &[(i32, u64)],
) -> Result<(), String> {
    let consumer = kafkit::consumer(settings)?;
    let mut problems = Vec::new();
    for &(partition, count) in counts {
        let (low, high) = consumer
            .fetch_watermarks(topic, partition, Duration::from_secs(10))
            .map_err(|e| format!("watermarks of {topic} [{partition}]: {e}"))?;
        if low != 0 || high != count as i64 {
            problems.push(format!(
                "partition {partition} holds offsets {low}..{high}, expected 0..{count}"
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the broker does not hold every produced message (the mock cluster drops the \
             oldest data beyond about 5 MiB per partition): {}",
            problems.join("; ")
        ))
    }
}

/// Runs the `consumer` subcommand; returns the process exit code.
pub fn main(args: &[String]) -> i32 {
    let o = match parse_options(args) {
        Ok(o) => o,
        Err(e) if e.is_empty() => {
            println!("{USAGE}");
            return 0;
        }
        Err(e) => {
            eprintln!("error: {e}\n\n{USAGE}");
            return 2;
        }
    };
    let command = std::iter::once("kafkit-bench consumer".to_string())
        .chain(args.iter().map(|a| shell_quote(a)))
        .collect::<Vec<_>>()
        .join(" ");

    // The broker: the one given, one started for the run, or an embedded
    // mock cluster. A started broker is stopped when `started` is dropped,
    // whichever way this function returns.
    let started = if o.start_broker {
        match StartedBroker::start() {
            Ok(b) => Some(b),
            Err(e) => {
                eprintln!("error: {e}");
                return 2;
            }
        }
    } else {
        None
    };
    let real = o
        .bootstrap
        .clone()
        .or_else(|| started.as_ref().map(|b| b.bootstrap().to_string()));
    let cluster = match &real {
        Some(_) => None,
        None => match MockCluster::new(1) {
            Ok(c) => Some(c),
            Err(e) => {
                eprintln!("error: cannot start the embedded mock cluster: {e}");
                return 2;
            }
        },
    };
    let (bootstrap, broker_desc) = match (&real, &cluster) {
        (Some(b), _) => {
            let origin = if started.is_some() {
                "single node started for this run by scripts/kafka.sh start single, stopped after it; "
            } else {
                ""
            };
            let topic = if o.partitions_given {
                format!(
                    "topic created with {} partitions, replication factor 1",
                    o.partitions
                )
            } else {
                "topic auto-created by the broker with its default partition count".into()
            };
            (b.clone(), format!("{b} ({origin}{topic})"))
        }
        (None, Some(c)) => (
            c.bootstrap_servers(),
            format!(
                "embedded MockCluster, 1 broker at {}, {} partitions, replication factor 1",
                c.bootstrap_servers(),
                o.partitions
            ),
        ),
        (None, None) => unreachable!("a cluster is started when no broker is given"),
    };
    let confluent_settings = confluent::settings(o.batch, &o.confluent_extra);
    let settings_desc = consumer_settings("", "", &o.extra)
        .iter()
        .skip(2)
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ");
    let produce_desc = PRODUCE_SETTINGS
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ");
    let run_id = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let load_before = load_average();
    let read_mode = if o.subscribe {
        "subscribe (consumer group join, not timed)"
    } else {
        "assign every partition from the beginning"
    };

    println!("kafkit-bench consumer");
    println!("  librdkafka {}", ::kafkit::librdkafka_version());
    println!("  broker     {broker_desc}");
    println!("  load avg   {load_before} (1/5/15 min, {cores} cores)");
    println!("  settings   {settings_desc} (the rest: librdkafka defaults)");
    if o.variants.contains(&Variant::Confluent) {
        println!("  confluent  {}", confluent_desc(&confluent_settings));
    }
    println!("  reading    {read_mode}");
    println!("  timing     {}", o.timing.name());
    println!(
        "  runs       {} messages x {} B, {} rounds of {}; batch max {}",
        o.messages,
        o.size,
        o.rounds,
        o.variants
            .iter()
            .map(|v| v.name())
            .collect::<Vec<_>>()
            .join(", "),
        o.batch
    );
    if cfg!(debug_assertions) {
        println!("  WARNING: debug build; use --release for meaningful figures");
    }

    // The messages, produced once.
    let topic = format!("kafkit-bench-consume-{run_id}");
    // A first byte that is not zero, so the first-byte sum checks something.
    let template: Vec<u8> = (0..o.size).map(|i| (i % 250 + 1) as u8).collect();
    // On a broker that outlives the run, the topic is deleted when the run
    // ends, so that runs do not pile up data there.
    let _drop_topic = (real.is_some() && started.is_none()).then(|| DropTopic {
        bootstrap: bootstrap.clone(),
        topic: topic.clone(),
    });
    let prepared = (|| {
        match &cluster {
            Some(c) => c
                .create_topic(&topic, o.partitions, 1)
                .map_err(|e| format!("cannot create topic {topic}: {e}"))?,
            None if o.partitions_given => create_topic_on_broker(&bootstrap, &topic, o.partitions)?,
            None => {}
        }
        let started = std::time::Instant::now();
        let explicit = (cluster.is_some() || o.partitions_given).then_some(o.partitions);
        let counts = produce(&bootstrap, &topic, explicit, o.messages, &template)?;
        let took = started.elapsed();
        let check_settings = consumer_settings(&bootstrap, &format!("{topic}-check"), &[]);
        check_retained(&check_settings, &topic, &counts)?;
        Ok::<_, String>((counts, took))
    })();
    let (counts, took) = match prepared {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: preparing the messages: {e}");
            return 1;
        }
    };
    let partitions: Vec<i32> = counts.iter().map(|(p, _)| *p).collect();
    let expected = Expected::new(&counts, &template);
    let (least, most) = counts
        .iter()
        .fold((u64::MAX, 0), |(lo, hi), (_, c)| (lo.min(*c), hi.max(*c)));
    println!(
        "  produced   {} messages to {topic} in {:.2} s ({produce_desc}); partitions: {}, \
         holding {least}..{most} messages each, all still on the broker (watermarks checked)",
        expected.messages,
        took.as_secs_f64(),
        partitions.len()
    );
    println!();

    let mut summaries: Vec<Summary> = o
        .variants
        .iter()
        .map(|&variant| Summary {
            variant,
            rates: Vec::new(),
            cpu_us_per_msg: Vec::new(),
            reader_ns_per_msg: Vec::new(),
            allocs_per_msg: Vec::new(),
            bytes_per_msg: Vec::new(),
            rss_mib: Vec::new(),
            failures: Vec::new(),
        })
        .collect();

    let count = summaries.len();
    for round in 1..=o.rounds {
        for i in 0..count {
            let summary = &mut summaries[(i + round - 1) % count];
            let variant = summary.variant;
            let group = format!("kafkit-bench-{run_id}-{}-r{round}", variant.name());
            let settings = consumer_settings(&bootstrap, &group, &o.extra);
            let run = Run {
                settings: &settings,
                topic: &topic,
                partitions: &partitions,
                subscribe: o.subscribe,
                messages: expected.messages,
                batch: o.batch,
                timing: o.timing,
                confluent: &confluent_settings,
            };
            let rss_start = reset_peak_rss();
            let result = match variant {
                Variant::Raw => raw::run(&run),
                Variant::KafkitIter => kafkit::run_iter(&run),
                Variant::KafkitStream => kafkit::run_stream(&run),
                Variant::KafkitBatch => kafkit::run_batch(&run),
                Variant::Confluent => confluent::run(&run),
            };
            let rss_peak = peak_rss_mib();
            let label = format!("round {round}/{} {:<14}", o.rounds, variant.name());
            match result {
                Ok(out) => {
                    let m = &out.measured;
                    let secs = m.elapsed.as_secs_f64();
                    let n = out.timed as f64;
                    let rate = n / secs;
                    let cpu_us = m.cpu.as_secs_f64() * 1e6 / n;
                    let reader_ns = out.reader_cpu.as_secs_f64() * 1e9 / n;
                    let allocs = m.allocs.calls as f64 / n;
                    let bytes = m.allocs.bytes as f64 / n;
                    let rss = match (rss_peak, rss_start) {
                        (Some(peak), Some(start)) => {
                            format!("peak RSS {peak:.0} MiB (from {start:.0})")
                        }
                        (Some(peak), None) => format!("peak RSS {peak:.0} MiB"),
                        _ => "peak RSS ?".into(),
                    };
                    println!(
                        "{label} {secs:>7.3} s {rate:>11.0} msg/s  cpu {cpu_us:.3} us/msg  \
                         reader {reader_ns:.0} ns/msg  allocs/msg {allocs:.3} ({bytes:.1} B/msg)  \
                         {rss}  {}",
                        out.note
                    );
                    match expected.check(&out.tally) {
                        None => {
                            if let Some(peak) = rss_peak {
                                summary.rss_mib.push(peak);
                            }
                            summary.rates.push(rate);
                            summary.cpu_us_per_msg.push(cpu_us);
                            summary.reader_ns_per_msg.push(reader_ns);
                            summary.allocs_per_msg.push(allocs);
                            summary.bytes_per_msg.push(bytes);
                        }
                        Some(why) => {
                            println!("{label} FAILED: {why}");
                            summary.failures.push(format!("round {round}: {why}"));
                        }
                    }
                }
                Err(e) => {
                    println!("{label} FAILED: {e}");
                    summary.failures.push(format!("round {round}: {e}"));
                }
            }
        }
    }

    // The summary block.
    let raw_rates = summaries
        .iter()
        .find(|s| s.variant == Variant::Raw)
        .and_then(Summary::rates);
    let raw_summary = summaries.iter().find(|s| s.variant == Variant::Raw);
    let raw_cpu = raw_summary.and_then(Summary::cpu);
    let raw_reader = raw_summary
        .and_then(Summary::reader)
        .map(|(lowest, _)| lowest);
    let mut out = String::new();
    let _ = writeln!(out, "\n==== kafkit-bench consumer: summary ====");
    let _ = writeln!(out, "command:    {command}");
    let _ = writeln!(out, "librdkafka: {}", ::kafkit::librdkafka_version());
    let _ = writeln!(
        out,
        "machine:    {cores} cores ({} {}); load average {load_before} before, {} after",
        std::env::consts::OS,
        std::env::consts::ARCH,
        load_average()
    );
    let _ = writeln!(out, "broker:     {broker_desc}");
    let _ = writeln!(
        out,
        "messages:   {} produced once ({} B payload, no key, no compression), read by every \
         run; {} rounds, the order of the variants rotating; fresh consumer and group per run",
        expected.messages, o.size, o.rounds
    );
    let _ = writeln!(
        out,
        "settings:   {settings_desc}; everything else librdkafka defaults; {read_mode}"
    );
    let timing_desc = match o.timing {
        Timing::Drain => {
            "drain: after the first message each variant waits (untimed) until the process \
             is idle, librdkafka having prefetched the rest; the clock then runs until the \
             last message: the consumer API alone"
        }
        Timing::Fetch => {
            "fetch: from the first message handed to the variant to the last; fetching from \
             the broker (librdkafka's threads) overlaps the timed part"
        }
    };
    let timing_desc = if o.variants.contains(&Variant::Confluent) && o.timing == Timing::Drain {
        format!(
            "{timing_desc} (not for confluent: it holds one fetch response per broker, so \
             the rest of its fetching is timed)"
        )
    } else {
        timing_desc.to_string()
    };
    let _ = writeln!(
        out,
        "timing:     {timing_desc}; rate = the other {} messages / time",
        expected.messages - 1
    );
    let _ = writeln!(
        out,
        "per msg:    every variant adds the payload's length, first byte and offset to sums \
         (checked against the produced data) and drops the message"
    );
    let _ = writeln!(
        out,
        "raw:        rd_kafka_poll_set_consumer + rd_kafka_consumer_poll loop + \
         rd_kafka_message_destroy"
    );
    let _ = writeln!(
        out,
        "kafkit:     iter: for m in consumer.iter(); stream: consumer.stream().next().await \
         on a current-thread tokio runtime; batch: consumer.consume_batch(min({}, left), {} ms)",
        o.batch,
        POLL_WAIT.as_millis()
    );
    if o.variants.contains(&Variant::Confluent) {
        let _ = writeln!(
            out,
            "confluent:  confluent-kafka {}, KafkaConsumer<Bytes, Bytes> (BytesDeserializer: \
             no copy), consumer.poll({} ms).await on a current-thread tokio runtime, each \
             record of the batch touched by reference; {}",
            confluent::VERSION,
            POLL_WAIT.as_millis(),
            confluent_desc(&confluent_settings)
        );
    }
    let _ = writeln!(
        out,
        "{:<14} {:>12} {:>13} {:>11} {:>10} {:>11} {:>17} {:>10} {:>11} {:>9}",
        "variant",
        "best msg/s",
        "median msg/s",
        "vs raw best",
        "vs raw med",
        "cpu us/msg",
        "reader ns/msg",
        "allocs/msg",
        "alloc B/msg",
        "peak RSS"
    );
    let _ = writeln!(
        out,
        "{:<14} {:>12} {:>13} {:>11} {:>10} {:>11} {:>17} {:>10} {:>11} {:>9}",
        "", "", "", "", "", "median", "lowest / median", "mean", "mean", "MiB, max"
    );
    for s in &summaries {
        match s.rates() {
            Some((best, median)) => {
                let (vs_best, vs_median) = match raw_rates {
                    Some((rb, rm)) => {
                        (format!("{:.2}x", best / rb), format!("{:.2}x", median / rm))
                    }
                    None => ("-".into(), "-".into()),
                };
                let rss = s
                    .rss_mib
                    .iter()
                    .copied()
                    .reduce(f64::max)
                    .map_or("-".into(), |r| format!("{r:.0}"));
                let _ = writeln!(
                    out,
                    "{:<14} {:>12.0} {:>13.0} {:>11} {:>10} {:>11.3} {:>17} {:>10.3} {:>11.1} {:>9}",
                    s.variant.name(),
                    best,
                    median,
                    vs_best,
                    vs_median,
                    s.cpu().unwrap_or(0.0),
                    s.reader()
                        .map_or("-".into(), |(lo, med)| format!("{lo:.0} / {med:.0}")),
                    mean(&s.allocs_per_msg),
                    mean(&s.bytes_per_msg),
                    rss
                );
            }
            None => {
                let _ = writeln!(out, "{:<14} no successful round", s.variant.name());
            }
        }
    }
    if let (Some((rb, rm)), Some(raw)) = (raw_rates, raw_summary) {
        for s in summaries.iter().filter(|s| s.variant != Variant::Raw) {
            if let Some((best, median)) = s.rates() {
                let mut cpu = String::new();
                if let (Some((c, _)), Some(rc), Some(ratio)) =
                    (s.reader(), raw_reader, s.ratio(raw, Metric::Cpu))
                {
                    let _ = write!(
                        cpu,
                        ", {ratio:.2}x (by lowest reading-thread CPU per message: {c:.0} vs \
                         {rc:.0} ns, {:+.0} ns)",
                        c - rc
                    );
                }
                if let (Some(c), Some(rc)) = (s.cpu(), raw_cpu) {
                    if rc > 0.0 {
                        let _ = write!(cpu, "; process CPU per message {:.2}x raw's", c / rc);
                    }
                }
                let _ = writeln!(
                    out,
                    "{} / raw msg/s = {:.2}x (best), {:.2}x (median){cpu}",
                    s.variant.name(),
                    best / rb,
                    median / rm
                );
            }
        }
    }
    let _ = writeln!(
        out,
        "  (cpu us/msg = median CPU time of the whole process during the timed part, all \
         threads{}, divided by the messages; reader ns/msg = the same for the reading thread \
         alone, lowest and median over the rounds, which other load on the machine disturbs \
         less than msg/s)",
        if cluster.is_some() {
            ", the embedded broker's included"
        } else {
            ""
        }
    );
    let _ = writeln!(
        out,
        "  (allocations: Rust heap, counted by a #[global_allocator] wrapper during the timed \
         part, all threads, alloc+alloc_zeroed+realloc; librdkafka's C mallocs are not counted{})",
        if o.variants.contains(&Variant::Confluent) {
            "; confluent is all Rust, so its figures include its network buffers, the \
             fetched bytes among them"
        } else {
            ""
        }
    );
    let _ = writeln!(
        out,
        "  (peak RSS: the process's resident set high-water mark during the run, consumer \
         creation to close, reset before it after freed memory was handed back to the \
         system; the produced data is not held{}; librdkafka may prefetch up to \
         queued.max.messages.kbytes)",
        if cluster.is_some() {
            ", except by the embedded broker, whose memory is included"
        } else {
            ""
        }
    );
    for s in summaries
        .iter()
        .filter(|s| !matches!(s.variant, Variant::Raw | Variant::Confluent))
    {
        if s.bytes_per_msg.is_empty() {
            continue;
        }
        let worst = s.bytes_per_msg.iter().copied().fold(0.0, f64::max);
        let verdict = if worst < o.size as f64 {
            format!(
                "payload bytes copied: 0 (at most {worst:.1} B of Rust heap allocated per \
                 message in any round, less than one {} B payload)",
                o.size
            )
        } else {
            format!(
                "payload bytes copied: cannot rule out ({worst:.1} B of Rust heap allocated per \
                 message, at least one {} B payload)",
                o.size
            )
        };
        let _ = writeln!(out, "{}: {verdict}", s.variant.name());
    }

    let mut code = 0;
    for s in &summaries {
        for f in &s.failures {
            let _ = writeln!(out, "FAILED {}: {f}", s.variant.name());
            code = 1;
        }
    }
    let checks = [
        (Variant::KafkitIter, o.check_ratio),
        (Variant::KafkitStream, o.check_ratio),
        (Variant::KafkitBatch, o.check_batch_ratio),
    ];
    for (variant, min) in checks {
        let Some(min) = min else { continue };
        if !o.variants.contains(&variant) {
            continue;
        }
        let ratio = summaries
            .iter()
            .find(|s| s.variant == variant)
            .zip(raw_summary)
            .and_then(|(s, raw)| s.ratio(raw, o.check_metric));
        let metric = o.check_metric.name();
        match ratio {
            Some(ratio) => {
                if ratio < min {
                    let _ = writeln!(
                        out,
                        "CHECK FAILED: {} / raw = {ratio:.3}x by {metric}, below the required {min}x",
                        variant.name()
                    );
                    code = 1;
                } else {
                    let _ = writeln!(
                        out,
                        "check passed: {} / raw = {ratio:.3}x by {metric} >= {min}x",
                        variant.name()
                    );
                }
            }
            _ => {
                let _ = writeln!(
                    out,
                    "CHECK FAILED: no successful raw and {} rounds to compare",
                    variant.name()
                );
                code = 1;
            }
        }
    }
    let _ = writeln!(
        out,
        "result:     {}",
        if code == 0 { "OK" } else { "FAILED" }
    );
    let _ = write!(out, "========================================");
    println!("{out}");
    drop(cluster);
    code
}

/// The confluent variant's settings, for the header and the summary.
fn confluent_desc(settings: &[(String, String)]) -> String {
    let own = settings
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ");
    let unmapped = confluent::UNMAPPED
        .iter()
        .map(|(k, why)| format!("{k} ({why})"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "settings {own}, plus bootstrap.servers, group.id, auto.offset.reset and \
         enable.auto.commit as for the others; the rest: the client's defaults; without a \
         counterpart: {unmapped}"
    )
}

/// Deletes the bench's topic from a real broker when dropped.
struct DropTopic {
    bootstrap: String,
    topic: String,
}

impl Drop for DropTopic {
    fn drop(&mut self) {
        match delete_topic_on_broker(&self.bootstrap, &self.topic) {
            Ok(()) => eprintln!("deleted topic {}", self.topic),
            Err(e) => eprintln!("warning: {e}"),
        }
    }
}

/// The per-run remark on the untimed wait of `drain` timing.
fn settled_note(settled: Duration) -> String {
    if settled.is_zero() {
        String::new()
    } else {
        format!("prefetch wait {} ms", settled.as_millis())
    }
}

/// `bootstrap.servers`, `group.id` and [`SETTINGS`].
fn consumer_settings(
    bootstrap: &str,
    group: &str,
    extra: &[(String, String)],
) -> Vec<(String, String)> {
    let mut settings = vec![
        ("bootstrap.servers".to_string(), bootstrap.to_string()),
        ("group.id".to_string(), group.to_string()),
    ];
    settings.extend(SETTINGS.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    for (k, v) in extra {
        settings.retain(|(key, _)| key != k);
        settings.push((k.clone(), v.clone()));
    }
    settings
}

/// The kafkit variants.
pub(crate) mod kafkit {
    use futures::StreamExt;
    use kafkit::{ClientConfig, Consumer, Error, Offset};

    use super::{settle, settled_note, Clock, Outcome, Run, Tally, Watchdog, POLL_WAIT};

    /// A consumer with these settings.
    pub fn consumer(settings: &[(String, String)]) -> Result<Consumer, String> {
        let mut config = ClientConfig::new();
        for (key, value) in settings {
            config
                .set(key, value)
                .map_err(|e| format!("cannot set {key}={value}: {e}"))?;
        }
        Consumer::new(&config).map_err(|e| format!("cannot create the consumer: {e}"))
    }

    /// A consumer reading the run's partitions from the beginning, and a
    /// watchdog that closes it (ending its reads) if it stalls.
    fn start(run: &Run<'_>) -> Result<(Consumer, Watchdog), String> {
        let consumer = consumer(run.settings)?;
        if run.subscribe {
            consumer
                .subscribe(&[run.topic])
                .map_err(|e| format!("subscribe: {e}"))?;
        } else {
            let list: Vec<(&str, i32, Offset)> = run
                .partitions
                .iter()
                .map(|p| (run.topic, *p, Offset::Beginning))
                .collect();
            consumer.assign(&list).map_err(|e| format!("assign: {e}"))?;
        }
        let closer = consumer.clone();
        let watchdog = Watchdog::start(move || {
            let _ = closer.close();
        })?;
        Ok((consumer, watchdog))
    }

    fn record_error(tally: &mut Tally, e: &Error) {
        tally.error(|| e.to_string());
    }

    fn stalled(tally: &Tally, run: &Run<'_>) -> String {
        format!(
            "stalled after {} of {} messages (nothing for {:?})",
            tally.read,
            run.messages,
            super::STALL_LIMIT
        )
    }

    /// `kafkit-iter`: `for item in consumer.iter()`.
    pub fn run_iter(run: &Run<'_>) -> Result<Outcome, String> {
        let (consumer, watchdog) = start(run)?;
        let mut tally = Tally::new(&watchdog);
        let mut iter = consumer.iter();
        while tally.read == 0 {
            match iter.next() {
                Some(Ok(m)) => tally.touch(m.value(), m.offset()),
                Some(Err(e)) => record_error(&mut tally, &e),
                None => return Err(stalled(&tally, run)),
            }
        }
        let settled = settle(run.timing)?;
        let clock = Clock::start();
        for item in iter.by_ref() {
            match item {
                Ok(m) => tally.touch(m.value(), m.offset()),
                Err(e) => record_error(&mut tally, &e),
            }
            if tally.read >= run.messages {
                break;
            }
        }
        let (measured, reader_cpu) = clock.stop();
        if watchdog.stalled() {
            return Err(stalled(&tally, run));
        }
        drop(watchdog);
        drop(consumer);
        Ok(Outcome {
            measured,
            reader_cpu,
            timed: tally.read - 1,
            tally,
            note: settled_note(settled),
        })
    }

    /// `kafkit-stream`: `consumer.stream().next().await` on a current-thread
    /// tokio runtime.
    pub fn run_stream(run: &Run<'_>) -> Result<Outcome, String> {
        let (consumer, watchdog) = start(run)?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .map_err(|e| format!("cannot build the tokio runtime: {e}"))?;
        let mut tally = Tally::new(&watchdog);
        let ((measured, reader_cpu), settled) = rt.block_on(async {
            let mut stream = consumer.stream();
            while tally.read == 0 {
                match stream.next().await {
                    Some(Ok(m)) => tally.touch(m.value(), m.offset()),
                    Some(Err(e)) => record_error(&mut tally, &e),
                    None => return Err(stalled(&tally, run)),
                }
            }
            let settled = settle(run.timing)?;
            let clock = Clock::start();
            while tally.read < run.messages {
                match stream.next().await {
                    Some(Ok(m)) => tally.touch(m.value(), m.offset()),
                    Some(Err(e)) => record_error(&mut tally, &e),
                    None => break,
                }
            }
            Ok((clock.stop(), settled))
        })?;
        if watchdog.stalled() {
            return Err(stalled(&tally, run));
        }
        drop(watchdog);
        drop(consumer);
        Ok(Outcome {
            measured,
            reader_cpu,
            timed: tally.read - 1,
            tally,
            note: settled_note(settled),
        })
    }

    /// `kafkit-batch`: `consumer.consume_batch(max, within)` asking for at
    /// most the messages still to read, so the last batch does not wait.
    pub fn run_batch(run: &Run<'_>) -> Result<Outcome, String> {
        let (consumer, watchdog) = start(run)?;
        let mut tally = Tally::new(&watchdog);
        // The first message alone, as the other variants start the clock
        // after exactly one message.
        while tally.read == 0 {
            match consumer.consume_batch(1, POLL_WAIT) {
                Ok(batch) => {
                    for m in batch {
                        tally.touch(m.value(), m.offset());
                    }
                }
                Err(Error::Closed(_)) => return Err(stalled(&tally, run)),
                Err(e) => record_error(&mut tally, &e),
            }
        }
        let settled = settle(run.timing)?;
        let clock = Clock::start();
        while tally.read < run.messages {
            let want = run.batch.min((run.messages - tally.read) as usize);
            match consumer.consume_batch(want, POLL_WAIT) {
                Ok(batch) => {
                    for m in batch {
                        tally.touch(m.value(), m.offset());
                    }
                }
                Err(Error::Closed(_)) => break,
                Err(e) => record_error(&mut tally, &e),
            }
        }
        let (measured, reader_cpu) = clock.stop();
        if watchdog.stalled() {
            return Err(stalled(&tally, run));
        }
        drop(watchdog);
        drop(consumer);
        Ok(Outcome {
            measured,
            reader_cpu,
            timed: tally.read - 1,
            tally,
            note: settled_note(settled),
        })
    }
}

/// The `raw` variant: librdkafka driven directly through `rdkafka-sys`, the
/// ceiling the kafkit variants are measured against.
///
/// The main queue is forwarded to the consumer queue
/// (`rd_kafka_poll_set_consumer`), and one thread loops on
/// `rd_kafka_consumer_poll`, reading each message's fields in place and
/// destroying it with `rd_kafka_message_destroy`.
pub(crate) mod raw {
    use std::ffi::CStr;
    use std::ptr::NonNull;

    use libc::c_int;
    use rdkafka_sys::bindings as rd;

    use crate::common::{cstring, new_raw_client};

    use super::{settle, settled_note, Clock, Outcome, Run, Tally, Watchdog, POLL_WAIT};

    extern "C" {
        // The same symbols `rdkafka-sys` binds, declared here with a plain
        // `int` return: `rdkafka-sys` returns the Rust enum
        // `rd_kafka_resp_err_t`, and a code that is not one of its variants
        // would be undefined behaviour.
        #[link_name = "rd_kafka_poll_set_consumer"]
        pub(crate) fn poll_set_consumer(rk: *mut rd::rd_kafka_t) -> c_int;
        #[link_name = "rd_kafka_assign"]
        pub(crate) fn assign(
            rk: *mut rd::rd_kafka_t,
            partitions: *const rd::rd_kafka_topic_partition_list_t,
        ) -> c_int;
        #[link_name = "rd_kafka_subscribe"]
        fn subscribe(
            rk: *mut rd::rd_kafka_t,
            topics: *const rd::rd_kafka_topic_partition_list_t,
        ) -> c_int;
        #[link_name = "rd_kafka_consumer_close"]
        fn consumer_close(rk: *mut rd::rd_kafka_t) -> c_int;
    }

    /// `RD_KAFKA_OFFSET_BEGINNING`.
    pub(crate) const OFFSET_BEGINNING: i64 = -2;
    /// `RD_KAFKA_PARTITION_UA`.
    const PARTITION_UA: i32 = -1;

    /// Owns an `rd_kafka_t` consumer.
    pub(crate) struct Client(NonNull<rd::rd_kafka_t>);

    impl Client {
        pub(crate) fn ptr(&self) -> *mut rd::rd_kafka_t {
            self.0.as_ptr()
        }

        /// The length of the consumer queue: the messages prefetched (plus
        /// any other event waiting there).
        fn queued(&self) -> usize {
            // SAFETY: the client is a valid consumer; a non-NULL result is a
            // new queue reference, released below.
            let q = unsafe { rd::rd_kafka_queue_get_consumer(self.ptr()) };
            if q.is_null() {
                return 0;
            }
            // SAFETY: q is a valid queue reference, released once here.
            unsafe {
                let len = rd::rd_kafka_queue_length(q);
                rd::rd_kafka_queue_destroy(q);
                len
            }
        }
    }

    impl Drop for Client {
        fn drop(&mut self) {
            // SAFETY: the handle is valid and owned, and every message polled
            // from it has been destroyed. Closing first leaves the group in
            // order; its result does not matter here.
            unsafe {
                consumer_close(self.ptr());
                rd::rd_kafka_destroy(self.ptr());
            }
        }
    }

    /// Owns an `rd_kafka_topic_partition_list_t`.
    pub(crate) struct List(pub(crate) NonNull<rd::rd_kafka_topic_partition_list_t>);

    impl List {
        pub(crate) fn new(
            topic: &CStr,
            partitions: &[i32],
            offset: Option<i64>,
        ) -> Result<Self, String> {
            let size = c_int::try_from(partitions.len()).map_err(|_| "too many partitions")?;
            // SAFETY: no preconditions; the result is an owned list.
            let list = unsafe { rd::rd_kafka_topic_partition_list_new(size) };
            let list = List(NonNull::new(list).ok_or("raw: cannot allocate a partition list")?);
            for &p in partitions {
                // SAFETY: the list is valid and the name NUL-terminated (it is
                // copied); the returned element belongs to the list.
                let tp = unsafe {
                    rd::rd_kafka_topic_partition_list_add(list.0.as_ptr(), topic.as_ptr(), p)
                };
                if tp.is_null() {
                    return Err("raw: cannot add to a partition list".into());
                }
                if let Some(offset) = offset {
                    // SAFETY: tp points to the element just added, owned by
                    // the list, which is alive and not shared.
                    unsafe { (*tp).offset = offset };
                }
            }
            Ok(list)
        }
    }

    impl Drop for List {
        fn drop(&mut self) {
            // SAFETY: the list is valid and owned.
            unsafe { rd::rd_kafka_topic_partition_list_destroy(self.0.as_ptr()) }
        }
    }

    pub(crate) fn check(op: &str, code: c_int) -> Result<(), String> {
        if code == 0 {
            Ok(())
        } else {
            let code = kafkit::ErrorCode::from_raw(code);
            Err(format!("raw: {op} failed: {code}: {}", code.description()))
        }
    }

    /// Creates a consumer from `settings`.
    pub(crate) fn new_consumer(settings: &[(String, String)]) -> Result<Client, String> {
        new_raw_client(rd::rd_kafka_type_t::RD_KAFKA_CONSUMER, settings, 0).map(Client)
    }

    /// Polls one message (waiting up to `timeout_ms`), touches or counts
    /// it, and destroys it. False when none came.
    #[inline(always)]
    fn poll_one(client: &Client, timeout_ms: c_int, tally: &mut Tally) -> bool {
        // SAFETY: the client is a valid consumer; a non-NULL result is an
        // owned message.
        let msg = unsafe { rd::rd_kafka_consumer_poll(client.ptr(), timeout_ms) };
        if msg.is_null() {
            return false;
        }
        // SAFETY: msg is a valid message. `err` is its first member, a C enum
        // with the size of an int, read as an int because rdkafka-sys binds it
        // as a Rust enum (an unlisted value would be undefined behaviour). The
        // other fields are read in place, one by one.
        let (err, payload, len, offset) = unsafe {
            (
                (msg as *const c_int).read(),
                (*msg).payload as *const u8,
                (*msg).len,
                (*msg).offset,
            )
        };
        if err == 0 {
            let value = if payload.is_null() {
                None
            } else {
                // SAFETY: librdkafka's payload points to `len` readable bytes
                // that live until the message is destroyed below.
                Some(unsafe { std::slice::from_raw_parts(payload, len) })
            };
            tally.touch(value, offset);
        } else {
            tally.error(|| {
                let text = if payload.is_null() {
                    String::new()
                } else {
                    // SAFETY: for an error message the payload holds `len`
                    // bytes of error text, alive until the destroy below.
                    let bytes = unsafe { std::slice::from_raw_parts(payload, len) };
                    String::from_utf8_lossy(bytes).into_owned()
                };
                let code = kafkit::ErrorCode::from_raw(err);
                format!("{code}: {text}")
            });
        }
        // SAFETY: the message is owned and destroyed once; `value` is not
        // used after this.
        unsafe { rd::rd_kafka_message_destroy(msg) };
        true
    }

    /// Runs the variant once.
    pub fn run(run: &Run<'_>) -> Result<Outcome, String> {
        let client = new_consumer(run.settings)?;
        // SAFETY: the client is a valid consumer.
        check("rd_kafka_poll_set_consumer", unsafe {
            poll_set_consumer(client.ptr())
        })?;
        let topic = cstring("topic", run.topic)?;
        if run.subscribe {
            let list = List::new(&topic, &[PARTITION_UA], None)?;
            // SAFETY: client and list are valid; the list is copied.
            check("rd_kafka_subscribe", unsafe {
                subscribe(client.ptr(), list.0.as_ptr())
            })?;
        } else {
            let list = List::new(&topic, run.partitions, Some(OFFSET_BEGINNING))?;
            // SAFETY: client and list are valid; the list is copied.
            check("rd_kafka_assign", unsafe {
                assign(client.ptr(), list.0.as_ptr())
            })?;
        }
        // Nothing to stop from outside: the loops below check the flag
        // whenever a poll comes back empty.
        let watchdog = Watchdog::start(|| {})?;
        let mut tally = Tally::new(&watchdog);
        let wait = c_int::try_from(POLL_WAIT.as_millis()).unwrap_or(c_int::MAX);
        let stalled = |tally: &Tally| {
            format!(
                "stalled after {} of {} messages (nothing for {:?})",
                tally.read,
                run.messages,
                super::STALL_LIMIT
            )
        };
        while tally.read == 0 {
            if !poll_one(&client, wait, &mut tally) && watchdog.stalled() {
                return Err(stalled(&tally));
            }
        }
        let settled = settle(run.timing)?;
        let queued = client.queued();
        let clock = Clock::start();
        while tally.read < run.messages {
            if !poll_one(&client, wait, &mut tally) && watchdog.stalled() {
                break;
            }
        }
        let (measured, reader_cpu) = clock.stop();
        if watchdog.stalled() {
            return Err(stalled(&tally));
        }
        drop(watchdog);
        drop(client);
        Ok(Outcome {
            measured,
            reader_cpu,
            timed: tally.read - 1,
            tally,
            note: [
                settled_note(settled),
                format!("consumer queue length {queued} at the start"),
            ]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(", "),
        })
    }
}
