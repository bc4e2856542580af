//! `kafkit-bench producer`: producer throughput of kafkit against librdkafka
//! driven directly.
//!
//! Every variant, in every round, gets a fresh topic and a fresh producer
//! with the same settings ([`SETTINGS`], plus `bootstrap.servers`). The timed
//! part runs from the first message to the last delivery report. In every
//! variant librdkafka copies each message's payload from one template buffer
//! inside the timed loop (`RD_KAFKA_MSG_F_COPY`): `raw` passes the template's
//! pointer, the kafkit variants pass the same template as a static
//! [`kafkit::Payload`] (`Payload::from_static`: the same pointer, no
//! allocation and no reference count), so both copy each payload once.

pub(crate) mod kafkit;
pub(crate) mod raw;
mod txn;
mod typed;

use std::fmt::Write as _;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ::kafkit::{ErrorCode, MockCluster};

use crate::alloc::Snapshot;
use crate::common::{
    best_median, create_topic_on_broker, delete_topic_on_broker, load_average, parse_number,
    peak_rss_mib, reset_peak_rss, shell_quote, thread_cpu_time,
};

/// Settings applied identically to every variant; everything else is left at
/// librdkafka's defaults.
pub const SETTINGS: [(&str, &str); 3] = [
    ("acks", "all"),
    ("linger.ms", "5"),
    ("queue.buffering.max.messages", "100000"),
];

/// Records in flight in the kafkit variants (below
/// `queue.buffering.max.messages`, so the queue does not fill up).
const WINDOW: usize = 50_000;

/// The variants, in the order they run in the first round (each round starts
/// one further along).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variant {
    Raw,
    KafkitSend,
    KafkitCallback,
    KafkitHandler,
    /// `kafkit-send`'s loop in transactions of this many records.
    KafkitTxn(usize),
    KafkitTypedJson,
}

impl Variant {
    const ALL: [Variant; 8] = [
        Variant::Raw,
        Variant::KafkitSend,
        Variant::KafkitCallback,
        Variant::KafkitHandler,
        Variant::KafkitTxn(1_000),
        Variant::KafkitTxn(10_000),
        Variant::KafkitTxn(100_000),
        Variant::KafkitTypedJson,
    ];

    /// What runs without `--variants`.
    const DEFAULT: [Variant; 4] = [
        Variant::Raw,
        Variant::KafkitSend,
        Variant::KafkitCallback,
        Variant::KafkitHandler,
    ];

    fn name(self) -> &'static str {
        match self {
            Variant::Raw => "raw",
            Variant::KafkitSend => "kafkit-send",
            Variant::KafkitCallback => "kafkit-callback",
            Variant::KafkitHandler => "kafkit-handler",
            Variant::KafkitTxn(1_000) => "kafkit-txn-1k",
            Variant::KafkitTxn(10_000) => "kafkit-txn-10k",
            Variant::KafkitTxn(100_000) => "kafkit-txn-100k",
            Variant::KafkitTxn(_) => "kafkit-txn",
            Variant::KafkitTypedJson => "kafkit-typed-json",
        }
    }

    fn parse(s: &str) -> Option<Variant> {
        Variant::ALL.into_iter().find(|v| v.name() == s)
    }
}

/// What one run of a variant gets.
pub struct Run<'a> {
    /// `bootstrap.servers` followed by [`SETTINGS`].
    pub settings: &'a [(String, String)],
    pub topic: &'a str,
    /// The payload every message carries (leaked once per process, so
    /// kafkit can take it as a static payload, as raw takes its pointer).
    pub template: &'static [u8],
    pub messages: usize,
    /// In-flight bound of the kafkit variants.
    pub window: usize,
    /// Send one record and wait for its delivery before the clock starts
    /// (`compare` does, for every client: an idempotent producer's first
    /// delivery waits for its producer id, about 0.5 s here). Not for the
    /// delivery-handler variant, whose handler would count it.
    pub warm_up: bool,
}

/// Delivery outcomes of one run.
#[derive(Debug, Default)]
pub struct Tally {
    pub delivered: u64,
    pub failed: u64,
    pub first_error: Option<String>,
}

impl Tally {
    /// Counts one delivery report by its raw error code.
    pub fn report(&mut self, err: i32) {
        if err == 0 {
            self.delivered += 1;
        } else {
            self.fail(|| {
                let code = ErrorCode::from_raw(err);
                format!("{code} ({err}): {}", code.description())
            });
        }
    }

    /// Counts one failure; `why` is only evaluated for the first.
    pub fn fail(&mut self, why: impl FnOnce() -> String) {
        self.failed += 1;
        if self.first_error.is_none() {
            self.first_error = Some(why());
        }
    }

    /// Reports seen so far.
    pub fn seen(&self) -> u64 {
        self.delivered + self.failed
    }
}

/// CPU time used so far by this whole process (all threads, user and
/// system), or zero where it cannot be read.
fn process_cpu_time() -> Duration {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: `usage` is writable memory for one rusage, and RUSAGE_SELF is
    // a valid target.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) } != 0 {
        return Duration::ZERO;
    }
    // SAFETY: getrusage succeeded and filled the struct (which was zeroed,
    // a valid value for this plain C struct, to begin with).
    let usage = unsafe { usage.assume_init() };
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Measures the timed part of a run: wall time, process CPU time and Rust
/// allocations.
pub struct Meter {
    start: Instant,
    cpu: Duration,
    allocs: Snapshot,
    sender: Duration,
}

/// What a [`Meter`] measured.
pub struct Measured {
    pub elapsed: Duration,
    /// CPU time of the whole process (all threads, including librdkafka's
    /// and, when embedded, the mock broker's).
    pub cpu: Duration,
    /// Rust allocations, all threads.
    pub allocs: Snapshot,
    /// CPU time of the thread that started and stopped the meter (the
    /// sending thread).
    pub sender: Duration,
}

impl Meter {
    pub fn start() -> Self {
        let allocs = Snapshot::now();
        let cpu = process_cpu_time();
        Meter {
            start: Instant::now(),
            cpu,
            sender: thread_cpu_time(),
            allocs,
        }
    }

    pub fn stop(self) -> Measured {
        let elapsed = self.start.elapsed();
        let cpu = process_cpu_time().saturating_sub(self.cpu);
        Measured {
            elapsed,
            cpu,
            allocs: Snapshot::now().since(self.allocs),
            sender: thread_cpu_time().saturating_sub(self.sender),
        }
    }
}

/// The result of one run.
pub struct Outcome {
    pub measured: Measured,
    pub tally: Tally,
    /// A variant-specific remark for the per-run line.
    pub note: String,
}

struct Options {
    messages: usize,
    size: usize,
    partitions: i32,
    rounds: usize,
    bootstrap: Option<String>,
    variants: Vec<Variant>,
    check_ratio: Option<f64>,
    window: usize,
    /// Extra librdkafka properties (`--set`), applied after [`SETTINGS`].
    extra: Vec<(String, String)>,
    /// Whether `--partitions` was given (with `--bootstrap`, the topics are
    /// then created with that many partitions).
    partitions_given: bool,
}

const USAGE: &str = "\
usage: kafkit-bench producer [options]

  --messages N        messages per run (default 5000000)
  --size S            payload bytes per message (default 100)
  --partitions P      partitions of each topic (default 3; with --bootstrap the
                      topics are created with scripts/kafka.sh topics when given)
  --rounds R          rounds; best and median are reported (default 3)
  --bootstrap H:P     use this broker instead of an embedded mock cluster
                      (topics are then auto-created by the broker; each is deleted
                      after its run)
  --variants LIST     comma-separated, from raw,kafkit-send,kafkit-callback,kafkit-handler
                      (the default), and kafkit-txn-1k,kafkit-txn-10k,kafkit-txn-100k
                      (kafkit-send's loop in transactions of 1000/10000/100000 records,
                      a commit_transaction after each; commit latencies reported) and
                      kafkit-typed-json (records from TypedTopic::json, a JSON value of
                      --size bytes; serialization ns/record measured apart), each
                      compared with kafkit-send when that runs too
  --window W          records in flight in the kafkit variants (default 50000)
  --set K=V           a librdkafka property for every variant, after the defaults
                      (repeatable), e.g. --set queue.buffering.max.kbytes=8000000
  --check-ratio X     exit 1 if kafkit-send's best msg/s divided by raw's best
                      is below X (needs both variants)";

fn parse_options(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        messages: 5_000_000,
        size: 100,
        partitions: 3,
        rounds: 3,
        bootstrap: None,
        variants: Variant::DEFAULT.to_vec(),
        check_ratio: None,
        window: WINDOW,
        extra: Vec::new(),
        partitions_given: false,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        if arg == "-h" || arg == "--help" {
            return Err(String::new());
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
            "--set" => {
                let pair = value()?;
                let (k, v) = pair
                    .split_once('=')
                    .ok_or_else(|| format!("--set needs KEY=VALUE, got {pair:?}"))?;
                o.extra.push((k.to_string(), v.to_string()));
            }
            "--rounds" => o.rounds = parse_number(flag, &value()?)?,
            "--bootstrap" => o.bootstrap = Some(value()?),
            "--check-ratio" => o.check_ratio = Some(parse_number(flag, &value()?)?),
            "--window" => o.window = parse_number(flag, &value()?)?,
            "--variants" => {
                let list = value()?;
                let mut variants = Vec::new();
                for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    let v = Variant::parse(name).ok_or_else(|| {
                        let known: Vec<&str> = Variant::ALL.iter().map(|v| v.name()).collect();
                        format!(
                            "--variants: unknown variant {name:?} (known: {})",
                            known.join(", ")
                        )
                    })?;
                    if !variants.contains(&v) {
                        variants.push(v);
                    }
                }
                if variants.is_empty() {
                    return Err("--variants: empty list".into());
                }
                // Keep the canonical order, whatever the order given.
                o.variants = Variant::ALL
                    .into_iter()
                    .filter(|v| variants.contains(v))
                    .collect();
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if o.messages == 0 {
        return Err("--messages must be at least 1".into());
    }
    if o.rounds == 0 {
        return Err("--rounds must be at least 1".into());
    }
    if o.partitions < 1 {
        return Err("--partitions must be at least 1".into());
    }
    if let Some(x) = o.check_ratio {
        if !(x.is_finite() && x > 0.0) {
            return Err("--check-ratio must be a positive number".into());
        }
        if !o.variants.contains(&Variant::Raw) || !o.variants.contains(&Variant::KafkitSend) {
            return Err("--check-ratio needs the raw and kafkit-send variants".into());
        }
    }
    Ok(o)
}

/// The figures of one variant over all its rounds.
struct Summary {
    variant: Variant,
    /// msg/s of each successful round.
    rates: Vec<f64>,
    /// msg/s by round (`None` for a failed round), to pair with raw's.
    by_round: Vec<Option<f64>>,
    /// Process CPU microseconds per message of each successful round.
    cpu_us_per_msg: Vec<f64>,
    allocs_per_msg: Vec<f64>,
    bytes_per_msg: Vec<f64>,
    /// Peak resident memory of the process during each round, MiB.
    rss_mib: Vec<f64>,
    /// The variant's own figures from each successful round.
    extras: Vec<Extra>,
    failures: Vec<String>,
}

/// Figures only some variants have.
enum Extra {
    None,
    Txn(txn::Commits),
    Typed(typed::Cost),
}

impl Summary {
    fn rates(&self) -> Option<(f64, f64)> {
        (!self.rates.is_empty()).then(|| best_median(&self.rates))
    }
    /// Median CPU microseconds per message.
    fn cpu(&self) -> Option<f64> {
        (!self.cpu_us_per_msg.is_empty()).then(|| best_median(&self.cpu_us_per_msg).1)
    }
    fn mean(values: &[f64]) -> f64 {
        values.iter().sum::<f64>() / values.len().max(1) as f64
    }
}

/// `s`'s rate against `base`'s: of the best and the median rounds, and
/// within each round where both succeeded.
fn ratio_line(s: &Summary, base: &Summary) -> Option<String> {
    let (best, median) = s.rates()?;
    let (base_best, base_median) = base.rates()?;
    let mut line = format!(
        "{:.2}x (best), {:.2}x (median)",
        best / base_best,
        median / base_median
    );
    let paired: Vec<f64> = base
        .by_round
        .iter()
        .zip(&s.by_round)
        .filter_map(|(b, k)| Some((*k)? / (*b)?))
        .collect();
    if !paired.is_empty() {
        let (max, median) = best_median(&paired);
        let min = paired.iter().copied().fold(f64::INFINITY, f64::min);
        let _ = write!(
            line,
            ", within each round median {median:.2}x, range {min:.2}x..{max:.2}x ({} rounds)",
            paired.len()
        );
    }
    Some(line)
}

fn mb_per_s(msgs_per_s: f64, size: usize) -> f64 {
    msgs_per_s * size as f64 / 1e6
}

/// Runs the `producer` subcommand; returns the process exit code.
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
    let command = std::iter::once("kafkit-bench producer".to_string())
        .chain(args.iter().map(|a| shell_quote(a)))
        .collect::<Vec<_>>()
        .join(" ");

    // The broker: the one given, or an embedded mock cluster.
    let cluster = match &o.bootstrap {
        Some(_) => None,
        None => match MockCluster::new(1) {
            Ok(c) => Some(c),
            Err(e) => {
                eprintln!("error: cannot start the embedded mock cluster: {e}");
                return 2;
            }
        },
    };
    let (bootstrap, broker_desc) = match (&o.bootstrap, &cluster) {
        (Some(b), _) if o.partitions_given => (
            b.clone(),
            format!(
                "{b} (topics created with {} partitions, replication factor 1)",
                o.partitions
            ),
        ),
        (Some(b), _) => (
            b.clone(),
            format!("{b} (topics auto-created by the broker with its default partition count)"),
        ),
        (None, Some(c)) => (
            c.bootstrap_servers(),
            format!(
                "embedded MockCluster, 1 broker at {}, {} partitions, replication factor 1",
                c.bootstrap_servers(),
                o.partitions
            ),
        ),
        (None, None) => unreachable!("a cluster is started when no bootstrap is given"),
    };
    let mut settings = vec![("bootstrap.servers".to_string(), bootstrap)];
    settings.extend(SETTINGS.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    settings.extend(o.extra.iter().cloned());
    let settings_desc = settings
        .iter()
        .skip(1)
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ");

    let template: &'static [u8] = Box::leak((0..o.size).map(|i| (i % 251) as u8).collect());
    let run_id = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let load_before = load_average();

    println!("kafkit-bench producer");
    println!("  librdkafka {}", ::kafkit::librdkafka_version());
    println!("  broker     {broker_desc}");
    println!("  load avg   {load_before} (1/5/15 min, {cores} cores)");
    println!("  settings   {settings_desc} (the rest: librdkafka defaults)");
    println!(
        "  runs       {} messages x {} B, {} rounds of {}",
        o.messages,
        o.size,
        o.rounds,
        o.variants
            .iter()
            .map(|v| v.name())
            .collect::<Vec<_>>()
            .join(", ")
    );
    if cfg!(debug_assertions) {
        println!("  WARNING: debug build; use --release for meaningful figures");
    }
    println!();

    let mut summaries: Vec<Summary> = o
        .variants
        .iter()
        .map(|&variant| Summary {
            variant,
            rates: Vec::new(),
            by_round: Vec::new(),
            cpu_us_per_msg: Vec::new(),
            allocs_per_msg: Vec::new(),
            bytes_per_msg: Vec::new(),
            rss_mib: Vec::new(),
            extras: Vec::new(),
            failures: Vec::new(),
        })
        .collect();

    let count = summaries.len();
    for round in 1..=o.rounds {
        // Each round starts with the next variant, so none always runs
        // first (or right after another one).
        for k in 0..count {
            let summary = &mut summaries[(k + round - 1) % count];
            summary.by_round.push(None);
            let variant = summary.variant;
            let topic = format!("kafkit-bench-{run_id}-{}-r{round}", variant.name());
            let result = (|| {
                match (&cluster, &o.bootstrap) {
                    (Some(c), _) => c
                        .create_topic(&topic, o.partitions, 1)
                        .map_err(|e| format!("cannot create topic {topic}: {e}"))?,
                    (None, Some(b)) if o.partitions_given => {
                        create_topic_on_broker(b, &topic, o.partitions)?
                    }
                    _ => {}
                }
                reset_peak_rss();
                let run = Run {
                    settings: &settings,
                    topic: &topic,
                    template,
                    messages: o.messages,
                    window: o.window,
                    warm_up: false,
                };
                let plain = |out: Outcome| (out, Extra::None);
                match variant {
                    Variant::Raw => raw::run(&run).map(plain),
                    Variant::KafkitSend => kafkit::run_send(&run).map(plain),
                    Variant::KafkitCallback => kafkit::run_callback(&run, false).map(plain),
                    Variant::KafkitHandler => kafkit::run_callback(&run, true).map(plain),
                    Variant::KafkitTxn(n) => txn::run(&run, n).map(|(o, c)| (o, Extra::Txn(c))),
                    Variant::KafkitTypedJson => typed::run(&run).map(|(o, c)| (o, Extra::Typed(c))),
                }
            })();
            let label = format!("round {round}/{} {:<17}", o.rounds, variant.name());
            // A real broker keeps the topic: delete it (between runs, untimed).
            if let Some(b) = &o.bootstrap {
                if let Err(e) = delete_topic_on_broker(b, &topic) {
                    println!("{label} warning: {e}");
                }
            }
            match result {
                Ok((out, extra)) => {
                    let m = &out.measured;
                    let secs = m.elapsed.as_secs_f64();
                    let rate = o.messages as f64 / secs;
                    let n = o.messages as f64;
                    let cpu_us = m.cpu.as_secs_f64() * 1e6 / n;
                    let busy = 100.0 * m.sender.as_secs_f64() / secs.max(f64::MIN_POSITIVE);
                    let sender_ns = m.sender.as_secs_f64() * 1e9 / n;
                    let rss = peak_rss_mib();
                    println!(
                        "{label} {secs:>7.3} s {rate:>11.0} msg/s {:>8.1} MB/s  cpu {cpu_us:.2} us/msg  \
                         sender busy {busy:.0}% ({sender_ns:.0} ns/msg)  allocs/msg {:.2}  peak RSS {} MiB  ({})",
                        mb_per_s(rate, o.size),
                        m.allocs.calls as f64 / n,
                        rss.map_or("?".to_string(), |r| format!("{r:.0}")),
                        out.note
                    );
                    if let Some(r) = rss {
                        summary.rss_mib.push(r);
                    }
                    let t = &out.tally;
                    if t.delivered == o.messages as u64 && t.failed == 0 {
                        summary.rates.push(rate);
                        if let Some(last) = summary.by_round.last_mut() {
                            *last = Some(rate);
                        }
                        summary.cpu_us_per_msg.push(cpu_us);
                        summary.allocs_per_msg.push(m.allocs.calls as f64 / n);
                        summary.bytes_per_msg.push(m.allocs.bytes as f64 / n);
                        summary.extras.push(extra);
                    } else {
                        let why = format!(
                            "round {round}: delivered {} of {}, {} failed; first error: {}",
                            t.delivered,
                            o.messages,
                            t.failed,
                            t.first_error.as_deref().unwrap_or("(none)")
                        );
                        println!("{label} FAILED: {why}");
                        summary.failures.push(why);
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
    let mut out = String::new();
    let _ = writeln!(out, "\n==== kafkit-bench producer: summary ====");
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
        "messages:   {} per run, payload {} B, {} rounds; fresh topic and producer per run; the variant that runs first rotates each round",
        o.messages, o.size, o.rounds
    );
    let _ = writeln!(
        out,
        "settings:   {settings_desc}; everything else librdkafka defaults"
    );
    let _ = writeln!(
        out,
        "payload:    copied once per message from one template by librdkafka \
         (RD_KAFKA_MSG_F_COPY) inside the timed loop; raw passes the template's pointer, \
         kafkit the same pointer as a static Payload"
    );
    let _ = writeln!(
        out,
        "raw:        one thread; produces until librdkafka's queue is full, then serves \
         delivery report events from the main queue"
    );
    let _ = writeln!(
        out,
        "kafkit:     {} records in flight; kafkit-send awaits the oldest DeliveryFuture, \
         kafkit-callback blocks on a condvar until half the window is delivered",
        o.window
    );
    let _ = writeln!(
        out,
        "{:<17} {:>12} {:>9} {:>13} {:>11} {:>11} {:>10} {:>11} {:>10}",
        "variant",
        "best msg/s",
        "best MB/s",
        "median msg/s",
        "median MB/s",
        "vs raw best",
        "vs raw med",
        "cpu us/msg",
        "allocs/msg"
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
                let _ = writeln!(
                    out,
                    "{:<17} {:>12.0} {:>9.1} {:>13.0} {:>11.1} {:>11} {:>10} {:>11.2} {:>10.2}",
                    s.variant.name(),
                    best,
                    mb_per_s(best, o.size),
                    median,
                    mb_per_s(median, o.size),
                    vs_best,
                    vs_median,
                    s.cpu().unwrap_or(0.0),
                    Summary::mean(&s.allocs_per_msg)
                );
            }
            None => {
                let _ = writeln!(out, "{:<17} no successful round", s.variant.name());
            }
        }
    }
    let raw_cpu = summaries
        .iter()
        .find(|s| s.variant == Variant::Raw)
        .and_then(Summary::cpu);
    if let Some((rb, rm)) = raw_rates {
        for s in summaries.iter().filter(|s| s.variant != Variant::Raw) {
            if let Some((best, median)) = s.rates() {
                let cpu = match (s.cpu(), raw_cpu) {
                    (Some(c), Some(rc)) if rc > 0.0 => {
                        format!("; CPU per message {:.2}x raw's", c / rc)
                    }
                    _ => String::new(),
                };
                let _ = writeln!(
                    out,
                    "{} / raw = {:.2}x (best), {:.2}x (median){cpu}",
                    s.variant.name(),
                    best / rb,
                    median / rm
                );
                if let Some(raw) = summaries.iter().find(|s| s.variant == Variant::Raw) {
                    let paired: Vec<f64> = raw
                        .by_round
                        .iter()
                        .zip(&s.by_round)
                        .filter_map(|(r, k)| Some((*k)? / (*r)?))
                        .collect();
                    if !paired.is_empty() {
                        let (max, median) = best_median(&paired);
                        let min = paired.iter().copied().fold(f64::INFINITY, f64::min);
                        let _ = writeln!(
                            out,
                            "  {} / raw within each round: median {median:.2}x, range {min:.2}x..{max:.2}x \
                             ({} rounds; raw and it ran in the same round, seconds apart, which cancels slow drift in the machine's speed)",
                            s.variant.name(),
                            paired.len()
                        );
                    }
                }
            }
        }
    }
    let send = summaries.iter().find(|s| s.variant == Variant::KafkitSend);
    for s in &summaries {
        let vs_send = match send.and_then(|base| ratio_line(s, base)) {
            Some(r) => format!("rate / kafkit-send in the same run = {r}"),
            None => {
                "no successful kafkit-send rounds to compare with (add it to --variants)".into()
            }
        };
        match s.variant {
            Variant::KafkitTxn(_) => {
                let commits: Vec<&txn::Commits> = s
                    .extras
                    .iter()
                    .filter_map(|e| match e {
                        Extra::Txn(c) => Some(c),
                        _ => None,
                    })
                    .collect();
                if !commits.is_empty() {
                    let _ = writeln!(out, "{}: {vs_send}", s.variant.name());
                    let _ = writeln!(out, "  {}", txn::summary(&commits, o.window));
                }
            }
            Variant::KafkitTypedJson => {
                let costs: Vec<&typed::Cost> = s
                    .extras
                    .iter()
                    .filter_map(|e| match e {
                        Extra::Typed(c) => Some(c),
                        _ => None,
                    })
                    .collect();
                if !costs.is_empty() {
                    let median = |s: &Summary| s.rates().map(|r| r.1);
                    let _ = writeln!(out, "{}: {vs_send}", s.variant.name());
                    let _ = writeln!(
                        out,
                        "  {}",
                        typed::summary(&costs, median(s), send.and_then(median))
                    );
                }
            }
            _ => {}
        }
    }
    for s in &summaries {
        if !s.rss_mib.is_empty() {
            let max = s.rss_mib.iter().copied().fold(0.0, f64::max);
            let _ = writeln!(
                out,
                "peak RSS, {}: {max:.0} MiB (highest round; the resident set's high-water mark, reset before each round)",
                s.variant.name()
            );
        }
    }
    for s in &summaries {
        if !s.allocs_per_msg.is_empty() {
            let _ = writeln!(
                out,
                "rust allocations per message, {}: {:.2} ({:.0} bytes)",
                s.variant.name(),
                Summary::mean(&s.allocs_per_msg),
                Summary::mean(&s.bytes_per_msg)
            );
        }
    }
    let _ = writeln!(
        out,
        "  (counted by a #[global_allocator] wrapper over System during the timed part, all threads, \
         alloc+alloc_zeroed+realloc; a kafkit Record with a static or shared value and an \
         interned kafkit::Topic costs none; librdkafka's C mallocs are not counted)"
    );
    let _ = writeln!(
        out,
        "  (MB/s = payload bytes / 10^6 per second; cpu us/msg = median CPU time of the whole \
         process during the timed part, all threads{}, divided by the messages; it is less \
         sensitive than msg/s to other load on the machine)",
        if cluster.is_some() {
            ", the embedded broker's included"
        } else {
            ""
        }
    );

    let _ = writeln!(
        out,
        "  (sender busy, per round = CPU time of the sending thread / wall time; below 100% that thread \
         waited for deliveries or queue space, or was preempted by the other threads)"
    );

    let mut code = 0;
    for s in &summaries {
        for f in &s.failures {
            let _ = writeln!(out, "FAILED {}: {f}", s.variant.name());
            code = 1;
        }
    }
    if let Some(min) = o.check_ratio {
        let send = summaries
            .iter()
            .find(|s| s.variant == Variant::KafkitSend)
            .and_then(Summary::rates);
        match (send, raw_rates) {
            (Some((sb, _)), Some((rb, _))) => {
                let ratio = sb / rb;
                if ratio < min {
                    let _ = writeln!(
                        out,
                        "CHECK FAILED: kafkit-send best / raw best = {ratio:.3}x, below the required {min}x"
                    );
                    code = 1;
                } else {
                    let _ = writeln!(
                        out,
                        "check passed: kafkit-send best / raw best = {ratio:.3}x >= {min}x"
                    );
                }
            }
            _ => {
                let _ = writeln!(
                    out,
                    "CHECK FAILED: no successful raw and kafkit-send rounds to compare"
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
