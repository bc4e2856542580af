//! `kafkit-bench streams`: events per second of a consume-transform-produce
//! pipeline on a real broker: kafkit's stream-processing `App` at least
//! once and exactly once, beside a hand-written kafkit loop doing the same
//! work (the ceiling) and faust-streaming running the same pipeline.
//!
//! The input (`--events` values of `--size` bytes over `--partitions`
//! partitions) is produced once. Every run reads it from the beginning as
//! a fresh consumer group and writes each value upper-cased to a fresh
//! output topic. The clock (wall and the process's CPU time) starts at the
//! first event and stops when the last one was processed and every output
//! delivered (a transaction still open then is not waited for). Variants
//! run in rotated order each round; the report gives the best and median
//! rates, CPU per event, and the ratios of kafkit's rows to the loop.
//!
//! - `loop`: `Consumer::stream()` and `Producer::produce` by hand, offsets
//!   committed by librdkafka's auto commit, which waits for no delivery:
//!   the same work with weaker guarantees (an output that fails after its
//!   input was committed is lost), so the ceiling. A loop that flushes
//!   before each commit stalls at every one (about 0.4x of this here).
//! - `alo`, `eos`: an `App` with one agent that sends through a `Sink`,
//!   `Guarantee::AtLeastOnce` / `ExactlyOnce`, commit interval 1 s.
//! - `faust`: faust-streaming (`bench/python/faust_pipeline.py`, its own
//!   virtualenv from `bench/python/faust-requirements.txt`), an agent that
//!   sends to an output topic, at least once, on `--faust-events` events
//!   (it is much slower); CPU is the Python process's own.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use kafkit::streams::{App, Guarantee};
use kafkit::{BytesCodec, ClientConfig, Consumer, ErrorCode, NoKey, Producer, Record};

use crate::broker::StartedBroker;
use crate::common::{best_median, create_topic_on_broker, load_average, parse_number};

const USAGE: &str = "\
usage: kafkit-bench streams (--bootstrap HOST:PORT | --broker start) [options]

  --events N          input events (default 1000000)
  --faust-events N    events faust-streaming processes (default 30000)
  --size BYTES        value size (default 100)
  --partitions P      input and output partitions (default 3)
  --rounds R          rounds, variants rotated each round (default 3)
  --variants LIST     of loop,alo,eos,faust (default all)";

const ALL: [&str; 4] = ["loop", "alo", "eos", "faust"];

struct Args {
    bootstrap: Option<String>,
    start_broker: bool,
    events: u64,
    faust_events: u64,
    size: usize,
    partitions: i32,
    rounds: usize,
    variants: Vec<String>,
}

fn parse_args(args: &[String]) -> Result<Option<Args>, String> {
    let mut a = Args {
        bootstrap: None,
        start_broker: false,
        events: 1_000_000,
        faust_events: 30_000,
        size: 100,
        partitions: 3,
        rounds: 3,
        variants: ALL.iter().map(|s| s.to_string()).collect(),
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--bootstrap" => a.bootstrap = Some(value()?),
            "--broker" => match value()?.as_str() {
                "start" => a.start_broker = true,
                other => return Err(format!("--broker takes `start`, not {other:?}")),
            },
            "--events" => a.events = parse_number(flag, &value()?)?,
            "--faust-events" => a.faust_events = parse_number(flag, &value()?)?,
            "--size" => a.size = parse_number(flag, &value()?)?,
            "--partitions" => a.partitions = parse_number(flag, &value()?)?,
            "--rounds" => a.rounds = parse_number(flag, &value()?)?,
            "--variants" => {
                a.variants = value()?.split(',').map(|s| s.trim().to_string()).collect();
                if let Some(bad) = a.variants.iter().find(|v| !ALL.contains(&v.as_str())) {
                    return Err(format!("unknown variant {bad:?} (of {})", ALL.join(",")));
                }
            }
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    if a.events == 0 || a.faust_events == 0 || a.rounds == 0 || a.partitions < 1 {
        return Err("--events, --faust-events, --rounds and --partitions must be positive".into());
    }
    if a.bootstrap.is_some() == a.start_broker {
        return Err("give one of --bootstrap HOST:PORT or --broker start".into());
    }
    Ok(Some(a))
}

/// The `streams` subcommand.
pub fn main(args: &[String]) -> i32 {
    let a = match parse_args(args) {
        Ok(Some(a)) => a,
        Ok(None) => {
            println!("{USAGE}");
            return 0;
        }
        Err(e) => {
            eprintln!("error: {e}\n\n{USAGE}");
            return 2;
        }
    };
    match run(&a) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}

/// One run's figures.
#[derive(Clone, Copy)]
struct Measured {
    events: u64,
    secs: f64,
    cpu_secs: f64,
}

impl Measured {
    fn rate(&self) -> f64 {
        self.events as f64 / self.secs
    }
    fn cpu_us_per_event(&self) -> f64 {
        self.cpu_secs * 1e6 / self.events as f64
    }
}

fn run(a: &Args) -> Result<(), String> {
    let started;
    let bootstrap = match &a.bootstrap {
        Some(b) => b.clone(),
        None => {
            started = StartedBroker::start()?;
            started.bootstrap().to_string()
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    let input = unique("bench-streams-in");
    create_topic_on_broker(&bootstrap, &input, a.partitions)?;
    eprintln!(
        "producing {} events of {} B to {input} ({} partitions)",
        a.events, a.size, a.partitions
    );
    runtime.block_on(fill(&bootstrap, &input, a.events, a.size))?;
    let faust = if a.variants.iter().any(|v| v == "faust") {
        Some(faust_python()?)
    } else {
        None
    };

    let mut results: Vec<(String, Vec<Measured>)> =
        a.variants.iter().map(|v| (v.clone(), Vec::new())).collect();
    for round in 0..a.rounds {
        let n = results.len();
        for i in 0..n {
            let index = (i + round) % n;
            let variant = results[index].0.clone();
            let output = unique("bench-streams-out");
            create_topic_on_broker(&bootstrap, &output, a.partitions)?;
            let events = if variant == "faust" {
                a.faust_events.min(a.events)
            } else {
                a.events
            };
            let m = match variant.as_str() {
                "loop" => runtime.block_on(hand_loop(&bootstrap, &input, &output, events))?,
                "alo" => runtime.block_on(app(
                    &bootstrap,
                    &input,
                    &output,
                    events,
                    Guarantee::AtLeastOnce,
                ))?,
                "eos" => runtime.block_on(app(
                    &bootstrap,
                    &input,
                    &output,
                    events,
                    Guarantee::ExactlyOnce,
                ))?,
                "faust" => run_faust(
                    faust.as_deref().ok_or("no faust python")?,
                    &bootstrap,
                    &input,
                    &output,
                    events,
                    a.partitions,
                )?,
                other => return Err(format!("unknown variant {other}")),
            };
            eprintln!(
                "round {} {variant:>5}: {:>10.0} events/s, {:.2} us CPU per event ({} events in {:.2} s)",
                round + 1,
                m.rate(),
                m.cpu_us_per_event(),
                m.events,
                m.secs
            );
            results[index].1.push(m);
        }
    }
    print_report(a, &bootstrap, &results);
    Ok(())
}

fn print_report(a: &Args, bootstrap: &str, results: &[(String, Vec<Measured>)]) {
    println!(
        "\nkafkit-bench streams: {} events of {} B, {} partitions, {} rounds, broker {bootstrap}, \
         load average {}",
        a.events,
        a.size,
        a.partitions,
        a.rounds,
        load_average()
    );
    println!(
        "| variant | events | events/s best | events/s median | CPU us/event (median) | events per CPU-second (median) |"
    );
    println!("|---|---|---|---|---|---|");
    let mut medians = Vec::new();
    for (name, runs) in results {
        if runs.is_empty() {
            continue;
        }
        let rates: Vec<f64> = runs.iter().map(Measured::rate).collect();
        let (best, median) = best_median(&rates);
        let mut cpu: Vec<f64> = runs.iter().map(Measured::cpu_us_per_event).collect();
        cpu.sort_by(f64::total_cmp);
        let cpu_median = cpu[cpu.len() / 2];
        println!(
            "| {name} | {} | {best:.0} | {median:.0} | {cpu_median:.2} | {:.0} |",
            runs[0].events,
            1e6 / cpu_median
        );
        medians.push((name.as_str(), median, 1e6 / cpu_median));
    }
    let find = |n: &str| medians.iter().find(|m| m.0 == n).copied();
    if let Some((_, loop_rate, _)) = find("loop") {
        for v in ["alo", "eos"] {
            if let Some((_, rate, _)) = find(v) {
                println!("{v} / loop (median events/s): {:.2}x", rate / loop_rate);
            }
        }
    }
    if let Some((_, faust_rate, faust_per_cpu)) = find("faust") {
        for v in ["alo", "eos"] {
            if let Some((_, rate, per_cpu)) = find(v) {
                println!(
                    "{v} / faust: {:.1}x events/s, {:.1}x events per CPU-second",
                    rate / faust_rate,
                    per_cpu / faust_per_cpu
                );
            }
        }
    }
}

fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{prefix}-{}-{nanos}", std::process::id())
}

/// CPU time (user and system) of this process so far.
fn process_cpu() -> Duration {
    // SAFETY: an all-zero rusage is a valid value for getrusage to fill.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is writable memory for one rusage.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return Duration::ZERO;
    }
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

fn config(bootstrap: &str) -> Result<ClientConfig, String> {
    let mut c = ClientConfig::new();
    c.bootstrap_servers(bootstrap).map_err(|e| e.to_string())?;
    Ok(c)
}

/// The consumers' settings, the same for the loop and the apps: with the
/// default `queued.min.messages` (100 000) librdkafka stops fetching a
/// partition at that many queued messages and backs off for
/// `fetch.queue.backoff.ms` (1 s), which left both idle most of the time
/// here (loop 0.17M events/s, at-least-once app 0.36M; with this 0.54M
/// and 0.53M).
fn consumer_config(bootstrap: &str) -> Result<ClientConfig, String> {
    let mut c = config(bootstrap)?;
    c.set("queued.min.messages", "10000000")
        .map_err(|e| e.to_string())?;
    Ok(c)
}

async fn fill(bootstrap: &str, topic: &str, events: u64, size: usize) -> Result<(), String> {
    let mut c = config(bootstrap)?;
    c.set("linger.ms", "5").map_err(|e| e.to_string())?;
    let producer = Producer::new(&c).map_err(|e| e.to_string())?;
    for i in 0..events {
        let mut value = format!("event {i:010} ").into_bytes();
        value.resize(size.max(value.len()), b'x');
        // Delivery is checked by the flush below.
        let _delivery = producer
            .send(Record::to(topic).value(value))
            .await
            .map_err(|e| e.to_string())?;
    }
    producer
        .flush(Duration::from_secs(120))
        .map_err(|e| e.to_string())
}

/// The pipeline's work on one value.
fn transform(value: &[u8]) -> Vec<u8> {
    value.to_ascii_uppercase()
}

/// Enqueues `record`, waiting out a full queue (as the App's sink does).
async fn produce(producer: &Producer, mut record: Record) -> Result<(), String> {
    loop {
        match producer.produce(record, 0) {
            Ok(()) => return Ok(()),
            Err(e) if e.error.code() == Some(ErrorCode::QueueFull) => {
                record = e.into_record();
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            Err(e) => return Err(e.error.to_string()),
        }
    }
}

async fn hand_loop(
    bootstrap: &str,
    input: &str,
    output: &str,
    events: u64,
) -> Result<Measured, String> {
    let mut c = consumer_config(bootstrap)?;
    c.set("group.id", unique("bench-loop"))
        .and_then(|c| c.set("auto.offset.reset", "earliest"))
        .map_err(|e| e.to_string())?;
    let consumer = Consumer::new(&c).map_err(|e| e.to_string())?;
    let failed = Arc::new(AtomicU64::new(0));
    let f = failed.clone();
    let producer = Producer::builder(&config(bootstrap)?)
        .on_delivery(move |result, _| {
            if result.is_err() {
                f.fetch_add(1, Ordering::Relaxed);
            }
        })
        .build()
        .map_err(|e| e.to_string())?;
    consumer.subscribe(&[input]).map_err(|e| e.to_string())?;
    let mut stream = consumer.stream();
    let mut start = None;
    let mut n = 0;
    let work = async {
        while n < events {
            let m = match stream.next().await {
                Some(Ok(m)) => m,
                Some(Err(e)) => return Err(format!("loop: {e}")),
                None => return Err("loop: the stream ended".to_string()),
            };
            start.get_or_insert_with(|| (Instant::now(), process_cpu()));
            let record = Record::to(output).value(transform(m.value().unwrap_or_default()));
            produce(&producer, record).await?;
            n += 1;
        }
        Ok(())
    };
    tokio::time::timeout(Duration::from_secs(300), work)
        .await
        .map_err(|_| format!("loop: only {n} of {events} events in 300 s"))??;
    producer
        .flush(Duration::from_secs(30))
        .map_err(|e| e.to_string())?;
    let (t0, cpu0) = start.ok_or("no event")?;
    if failed.load(Ordering::Relaxed) > 0 {
        return Err(format!(
            "loop: {} outputs failed",
            failed.load(Ordering::Relaxed)
        ));
    }
    let measured = Measured {
        events,
        secs: t0.elapsed().as_secs_f64(),
        cpu_secs: (process_cpu() - cpu0).as_secs_f64(),
    };
    drop(stream);
    let _ = consumer.close();
    Ok(measured)
}

async fn app(
    bootstrap: &str,
    input: &str,
    output: &str,
    events: u64,
    guarantee: Guarantee,
) -> Result<Measured, String> {
    let mut app = App::builder(unique("bench-app"), &consumer_config(bootstrap)?)
        .guarantee(guarantee)
        .build()
        .map_err(|e| e.to_string())?;
    let topic = kafkit::TypedTopic::new(input, NoKey, BytesCodec);
    let sink = app.sink(&kafkit::TypedTopic::new(output, NoKey, BytesCodec));
    let done = Arc::new(AtomicU64::new(0));
    let start: Arc<Mutex<Option<(Instant, Duration)>>> = Arc::default();
    let (finished_tx, finished) = tokio::sync::watch::channel(false);
    let (d, s) = (done.clone(), start.clone());
    app.agent("upper", &topic, move |mut stream| {
        let (sink, done, start, finished) =
            (sink.clone(), d.clone(), s.clone(), finished_tx.clone());
        async move {
            while let Some(event) = stream.next().await {
                let value = event?.value;
                if let Ok(mut s) = start.lock() {
                    s.get_or_insert_with(|| (Instant::now(), process_cpu()));
                }
                sink.send((), &transform(&value)).await?;
                if done.fetch_add(1, Ordering::AcqRel) + 1 == events {
                    let _ = finished.send(true);
                }
            }
            Ok(())
        }
    })
    .map_err(|e| e.to_string())?;
    let producer = app.producer().clone();
    let handle = app.handle();
    let run = tokio::spawn(app.run_until(std::future::pending()));
    let mut finished = finished;
    let waited = tokio::time::timeout(Duration::from_secs(300), finished.wait_for(|f| *f)).await;
    if waited.is_err() {
        handle.stop();
        return Err(format!(
            "app: only {} of {events} events in 300 s",
            done.load(Ordering::Acquire)
        ));
    }
    // Every output delivered (in exactly-once mode: written, in the open
    // transaction).
    while producer.in_flight() > 0 {
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    let (t0, cpu0) = start.lock().map_err(|_| "poisoned")?.ok_or("no event")?;
    let measured = Measured {
        events,
        secs: t0.elapsed().as_secs_f64(),
        cpu_secs: (process_cpu() - cpu0).as_secs_f64(),
    };
    handle.stop();
    run.await
        .map_err(|e| format!("app task: {e}"))?
        .map_err(|e| format!("app: {e}"))?;
    Ok(measured)
}

const PYTHON_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/python");

/// faust-streaming's own virtualenv (`<target dir>/faust-venv`), made from
/// `faust-requirements.txt` when missing; returns its python.
fn faust_python() -> Result<PathBuf, String> {
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
    };
    let venv = target.join("faust-venv");
    let python = venv.join("bin").join("python");
    let requirements = Path::new(PYTHON_DIR).join("faust-requirements.txt");
    let stamp = venv.join("installed.txt");
    let wanted = std::fs::read_to_string(&requirements)
        .map_err(|e| format!("{}: {e}", requirements.display()))?;
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) {
        return Ok(python);
    }
    eprintln!("installing faust-streaming into {}", venv.display());
    let ok = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .map_err(|e| format!("python3 -m venv: {e}"))?
        .success()
        && Command::new(&python)
            .args(["-m", "pip", "install", "-q", "-r"])
            .arg(&requirements)
            .status()
            .map_err(|e| format!("pip: {e}"))?
            .success();
    if !ok {
        return Err("installing faust-streaming failed".into());
    }
    std::fs::write(&stamp, wanted).map_err(|e| format!("{}: {e}", stamp.display()))?;
    Ok(python)
}

fn run_faust(
    python: &Path,
    bootstrap: &str,
    input: &str,
    output: &str,
    events: u64,
    partitions: i32,
) -> Result<Measured, String> {
    let dir = std::env::temp_dir().join(unique("bench-faust"));
    let out = Command::new(python)
        .arg(Path::new(PYTHON_DIR).join("faust_pipeline.py"))
        .args(["worker", "--loglevel", "warn"])
        .env("BENCH_BOOTSTRAP", bootstrap)
        .env("BENCH_INPUT", input)
        .env("BENCH_OUTPUT", output)
        .env("BENCH_EVENTS", events.to_string())
        .env("BENCH_PARTITIONS", partitions.to_string())
        .env("BENCH_APP", unique("bench-faust"))
        .env("BENCH_DATADIR", &dir)
        .output()
        .map_err(|e| format!("faust: {e}"))?;
    let _ = std::fs::remove_dir_all(&dir);
    // Faust's worker sends what the script prints to its log (stderr).
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let line = text
        .lines()
        .find_map(|l| l.split_once("RESULT ").map(|(_, r)| r.trim()))
        .ok_or_else(|| {
            format!(
                "faust printed no result ({}); stderr:\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
    let v: serde_json::Value = serde_json::from_str(line).map_err(|e| format!("faust: {e}"))?;
    let field = |k: &str| {
        v[k].as_f64()
            .ok_or_else(|| format!("faust result has no {k}"))
    };
    Ok(Measured {
        events: field("events")? as u64,
        secs: field("secs")?,
        cpu_secs: field("cpu_secs")?,
    })
}
