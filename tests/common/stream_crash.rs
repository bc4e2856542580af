//! Stream-processing workers killed with SIGKILL: a child process (this
//! test binary, run again with the `KAFKIT_STREAM_CHILD*` variables) runs
//! an app until it is killed; the test kills it at random points, starts
//! it again, and checks what came out.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use kafkit::streams::{App, Guarantee};
use kafkit::{ClientConfig, I64Codec, NoKey, StringCodec, TypedTopic};

use super::stream_scenarios::{lag_is_zero, read_all, send_values, send_words, tally};
use super::{unique, Target};

const CHILD_MODE: &str = "KAFKIT_STREAM_CHILD";
const CHILD_BOOTSTRAP: &str = "KAFKIT_STREAM_CHILD_BOOTSTRAP";
const CHILD_ID: &str = "KAFKIT_STREAM_CHILD_ID";
const CHILD_INPUT: &str = "KAFKIT_STREAM_CHILD_INPUT";
const CHILD_OUTPUT: &str = "KAFKIT_STREAM_CHILD_OUTPUT";
/// Starts each line the child reports on.
const CHILD_TAG: &str = "stream-child:";

/// Partitions of the input and output topics.
pub const PARTITIONS: i32 = 3;

/// A worker's client settings: a killed member leaves its group after 6 s
/// (the least a broker accepts), and a rebalance waits at most 15 s for
/// members that are gone.
fn worker_config(bootstrap: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .bootstrap_servers(bootstrap)
        .and_then(|c| c.set("session.timeout.ms", "6000"))
        .and_then(|c| c.set("heartbeat.interval.ms", "500"))
        .and_then(|c| c.set("max.poll.interval.ms", "15000"))
        .expect("worker config");
    config
}

/// The at-least-once worker: forwards each input value to the output,
/// pausing 1 ms every 5 events (so that it is killed after some commits,
/// not before the first).
fn forwarding_app(bootstrap: &str, id: &str, input: &str, output: &str) -> App {
    let mut app = App::builder(id, &worker_config(bootstrap))
        .commit_interval(Duration::from_millis(200))
        .build()
        .expect("app");
    let input = TypedTopic::new(input, NoKey, StringCodec);
    let sink = app.sink(&TypedTopic::new(output, NoKey, StringCodec));
    app.agent("forward", &input, move |mut stream| {
        let sink = sink.clone();
        async move {
            let mut n = 0u64;
            while let Some(event) = stream.next().await {
                sink.send((), &event?.value).await?;
                n += 1;
                if n % 5 == 0 {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
            Ok(())
        }
    })
    .expect("agent");
    app
}

/// The exactly-once worker: counts words (the input's keys) in a table
/// and sends `word count` to the output after each one. Its instance name
/// is fixed, so a restarted worker takes over (and fences) the
/// transactional id of the one killed.
fn counting_app(bootstrap: &str, id: &str, input: &str, output: &str) -> App {
    let mut app = App::builder(id, &worker_config(bootstrap))
        .guarantee(Guarantee::ExactlyOnce)
        .commit_interval(Duration::from_millis(200))
        .instance("w0")
        .build()
        .expect("app");
    let topic = TypedTopic::new(input, StringCodec, StringCodec);
    let table = app
        .table("counts", input, &TypedTopic::new("", StringCodec, I64Codec))
        .expect("table");
    let sink = app.sink(&TypedTopic::new(output, NoKey, StringCodec));
    app.agent("count", &topic, move |mut stream| {
        let (table, sink) = (table.clone(), sink.clone());
        async move {
            let counts = stream.table(&table)?;
            while let Some(event) = stream.next().await {
                let word = event?.key;
                let n = counts.update(&word, |n| n.unwrap_or(0) + 1).await?;
                sink.send((), &format!("{word} {n}")).await?;
            }
            Ok(())
        }
    })
    .expect("agent");
    app
}

/// In a child process started by [`Worker::start`]: runs the worker app
/// until it is killed (or stopped with SIGTERM), reporting how many events
/// it acknowledged every 50 ms, and exits. Elsewhere returns false at once.
pub fn crash_child() -> bool {
    let Ok(mode) = std::env::var(CHILD_MODE) else {
        return false;
    };
    let var = |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("{k} is not set"));
    let (bootstrap, id) = (var(CHILD_BOOTSTRAP), var(CHILD_ID));
    let (input, output) = (var(CHILD_INPUT), var(CHILD_OUTPUT));
    // Logs as `RUST_LOG` says, on the stderr the test shares; without it,
    // the app's own story (assignments, revocations, commits that failed,
    // why it stopped) and librdkafka's warnings, so that a worker that
    // stalls in CI leaves more than its last connection error behind.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,kafkit=info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let code = runtime.block_on(async move {
        let app = match mode.as_str() {
            "forward" => forwarding_app(&bootstrap, &id, &input, &output),
            "count" => counting_app(&bootstrap, &id, &input, &output),
            other => panic!("unknown child mode {other}"),
        };
        let handle = app.handle();
        tokio::spawn(async move {
            loop {
                let mut out = std::io::stdout();
                let _ = writeln!(out, "{CHILD_TAG} acknowledged {}", handle.acknowledged());
                let _ = out.flush();
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        match app.run().await {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("{CHILD_TAG} the app failed: {e}");
                1
            }
        }
    });
    std::process::exit(code);
}

/// A worker in a child process; killed and reaped when dropped.
struct Worker {
    child: Child,
    acknowledged: mpsc::Receiver<u64>,
}

impl Worker {
    /// Starts the worker `mode` of the test `test` (which must call
    /// [`crash_child`] first).
    fn start(test: &str, mode: &str, target: &Target, id: &str, input: &str, output: &str) -> Self {
        let exe = std::env::current_exe().expect("test binary");
        let mut child = Command::new(exe)
            .args(["--exact", test, "--nocapture", "--test-threads=1"])
            .env(CHILD_MODE, mode)
            .env(CHILD_BOOTSTRAP, target.bootstrap())
            .env(CHILD_ID, id)
            .env(CHILD_INPUT, input)
            .env(CHILD_OUTPUT, output)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the worker process");
        let stdout = child.stdout.take().expect("child stdout");
        let (tx, acknowledged) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                // The test harness may print on the same line first.
                let n = line
                    .split_once(CHILD_TAG)
                    .and_then(|(_, r)| r.trim().strip_prefix("acknowledged "))
                    .and_then(|n| n.parse::<u64>().ok());
                if let Some(n) = n {
                    if tx.send(n).is_err() {
                        break;
                    }
                }
            }
        });
        Worker {
            child,
            acknowledged,
        }
    }

    /// Waits until the worker has acknowledged `n` events; returns how
    /// many it had when it reported.
    fn wait_acknowledged(&self, n: u64, within: Duration) -> u64 {
        match self.acknowledged_or_exit(n, within) {
            Ok(m) => m,
            Err(last) => panic!("the worker exited after acknowledging {last} of {n} events"),
        }
    }

    /// [`wait_acknowledged`](Self::wait_acknowledged), or `Err` with the
    /// last count when the worker exited first.
    fn acknowledged_or_exit(&self, n: u64, within: Duration) -> Result<u64, u64> {
        let deadline = Instant::now() + within;
        let mut last = 0;
        while last < n {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.acknowledged.recv_timeout(left) {
                Ok(m) => last = m,
                Err(mpsc::RecvTimeoutError::Disconnected) => return Err(last),
                Err(e) => {
                    panic!("the worker acknowledged {last} of {n} events within {within:?}: {e}")
                }
            }
        }
        Ok(last)
    }

    /// SIGKILL, and reap.
    fn kill(mut self) {
        // A worker that already exited is reaped all the same.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, and the exit status within `bound`.
    fn terminate(mut self, bound: Duration) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill -TERM");
        assert!(sent.success(), "kill -TERM {pid}");
        let deadline = Instant::now() + bound;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the worker did not stop within {bound:?} of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A pseudo-random number in `[low, high)`, different every call and run.
fn random_between(low: u64, high: u64) -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64 ^ (d.as_secs() << 7))
        .unwrap_or(0);
    // A multiplicative hash spreads the low bits.
    let mixed = nanos.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 11;
    low + mixed % (high - low).max(1)
}

/// Runs workers one after another, each killed with SIGKILL after a random
/// number of acknowledged events (between `low` and `high`), `kills` times;
/// then one more until the group has committed every input, which is
/// stopped with SIGTERM and must exit cleanly. `disrupt(round)` is called
/// once a worker reached its number; when it returns true the worker must
/// acknowledge 5 000 more events before it is killed, or stop by itself
/// with an error (exactly once, a transaction that fails while the
/// brokers fail over stops the app, which a supervisor starts again; the
/// next round's worker does).
#[allow(clippy::too_many_arguments)]
fn kill_and_restart(
    test: &str,
    mode: &str,
    target: &Target,
    id: &str,
    input: &str,
    output: &str,
    kills: usize,
    (low, high): (u64, u64),
    disrupt: &mut dyn FnMut(usize) -> bool,
) {
    for round in 1..=kills {
        let worker = Worker::start(test, mode, target, id, input, output);
        let at = random_between(low, high);
        let mut reached = worker.wait_acknowledged(at, Duration::from_secs(120));
        if disrupt(round) {
            match worker.acknowledged_or_exit(reached + 5_000, Duration::from_secs(180)) {
                Ok(n) => reached = n,
                Err(n) => {
                    eprintln!(
                        "round {round}: the worker stopped by itself after {n} events (its \
                         error is above); the next one takes over"
                    );
                    reached = n;
                }
            }
        }
        worker.kill();
        eprintln!("round {round}: killed the worker after {reached} acknowledged events");
    }
    let worker = Worker::start(test, mode, target, id, input, output);
    let deadline = Instant::now() + Duration::from_secs(180);
    while !lag_is_zero(target, id, input, PARTITIONS) {
        assert!(
            Instant::now() < deadline,
            "the last worker did not commit every input within 180 s"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let status = worker.terminate(Duration::from_secs(40));
    assert!(status.success(), "the last worker exited with {status}");
}

/// At least once across SIGKILL: a forwarding worker is killed twice
/// mid-stream and restarted; every input comes out at least once (the
/// duplicates are counted and printed).
pub fn at_least_once_worker_killed(target: &Target, test: &str) {
    const N: usize = 30_000;
    let input = target.topic("st-kill-in", PARTITIONS);
    let output = target.topic("st-kill-out", PARTITIONS);
    let id = unique("st-kill-app");
    super::runtime().block_on(send_values(target, &input, (0..N).map(|i| i.to_string())));
    kill_and_restart(
        test,
        "forward",
        target,
        &id,
        &input,
        &output,
        2,
        (2_000, 12_000),
        &mut |_| false,
    );
    let out = read_all(target, &output, PARTITIONS, false);
    let counts = tally(
        "outputs after two SIGKILLs",
        out.iter()
            .map(|m| m.value_str().unwrap_or_default().to_string()),
    );
    let missing: Vec<usize> = (0..N)
        .filter(|i| !counts.contains_key(&i.to_string()))
        .collect();
    assert!(
        missing.is_empty(),
        "{} inputs never processed, first {:?}",
        missing.len(),
        &missing[..missing.len().min(10)]
    );
    assert_eq!(counts.len(), N, "only the inputs come out");
}

/// Exactly once across SIGKILL: a word count over `N` events, its worker
/// killed three times at random points and restarted. The output, read
/// committed, holds each word's counts 1..=n exactly once, and the table's
/// changelog ends at n for every word.
pub fn exactly_once_word_count_killed(target: &Target, test: &str) {
    let input = target.topic("st-eos-kill-words", PARTITIONS);
    let output = target.topic("st-eos-kill-out", PARTITIONS);
    let id = unique("st-eos-kill-app");
    word_count_killed(target, test, &id, (&input, &output), &mut |_| false);
}

/// [`exactly_once_word_count_killed`] on topics the caller made (the input
/// and output, [`PARTITIONS`] partitions each), with `disrupt` as in
/// `kill_and_restart`.
pub fn word_count_killed(
    target: &Target,
    test: &str,
    id: &str,
    (input, output): (&str, &str),
    disrupt: &mut dyn FnMut(usize) -> bool,
) {
    const N: usize = 100_000;
    const WORDS: usize = 100;
    let words: Vec<String> = (0..N).map(|i| format!("w{:03}", i % WORDS)).collect();
    super::runtime().block_on(send_words(target, input, &words));
    kill_and_restart(
        test,
        "count",
        target,
        id,
        input,
        output,
        3,
        (5_000, 25_000),
        disrupt,
    );

    let per_word = (N / WORDS) as i64;
    let out = read_all(target, output, PARTITIONS, true);
    let mut seen: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for m in &out {
        let text = m.value_str().unwrap_or_default();
        let (word, n) = text.split_once(' ').expect("`word count`");
        seen.entry(word.to_string())
            .or_default()
            .push(n.parse().expect("a count"));
    }
    assert_eq!(seen.len(), WORDS, "every word came out");
    for (word, counts) in &mut seen {
        counts.sort_unstable();
        let expected: Vec<i64> = (1..=per_word).collect();
        if *counts != expected {
            let twice = counts.windows(2).filter(|w| w[0] == w[1]).count();
            panic!(
                "{word}: {} outputs ({twice} repeated), not 1..={per_word} once each",
                counts.len()
            );
        }
    }
    assert_eq!(out.len(), N, "one committed output per input");

    let changelog = format!("{id}-counts-changelog");
    let mut last: BTreeMap<String, i64> = BTreeMap::new();
    for m in read_all(target, &changelog, PARTITIONS, true) {
        let key = String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned();
        let value = m.value().map(|v| {
            let bytes: [u8; 8] = v.try_into().expect("an 8-byte count");
            i64::from_be_bytes(bytes)
        });
        last.insert(key, value.unwrap_or(0));
    }
    assert_eq!(last.len(), WORDS, "the changelog holds every word");
    assert!(
        last.values().all(|n| *n == per_word),
        "the changelog ends at {per_word} for every word: {last:?}"
    );
    eprintln!("exactly once: {N} outputs, {WORDS} words at {per_word} each");
}
