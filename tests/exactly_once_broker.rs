//! The consume-transform-produce helper on the real broker: every input
//! number reaches the output exactly once, across an aborted transaction
//! (a transform that fails once), a restart of the processing instance,
//! and the example's process killed with SIGKILL three times.

mod common;

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::txn_scenarios::{read_values, TIMEOUT};
use common::{unique, Target};
use kafkit::{BatchOutcome, Consumer, Error, ExactlyOnce, Offset, Producer, Record};

const INPUTS: usize = 300;

fn instance(target: &Target, group: &str, txn_id: &str, input: &str) -> ExactlyOnce {
    let mut consumer_config = target.config();
    consumer_config
        .group_id(group)
        .and_then(|c| c.enable_auto_commit(false))
        .and_then(|c| c.set("auto.offset.reset", "earliest"))
        .expect("consumer config");
    let consumer = Consumer::new(&consumer_config).expect("consumer");
    consumer.subscribe(&[input]).expect("subscribe");
    let mut producer_config = target.config();
    producer_config
        .set("transactional.id", txn_id)
        .expect("transactional.id");
    let producer = Producer::new(&producer_config).expect("producer");
    ExactlyOnce::new(consumer, producer, TIMEOUT).expect("init transactions")
}

/// Runs until `stop_after` inputs were committed (or the input is done).
fn run(eos: &ExactlyOnce, output: &str, stop_after: usize, fail_at: &mut Option<i64>) -> usize {
    let mut committed = 0;
    let mut empty = 0;
    while committed < stop_after && empty < 20 {
        let outcome = eos.process(40, Duration::from_millis(250), |m| {
            let n: i64 = m.value_str().unwrap_or("").parse().expect("a number");
            if *fail_at == Some(n) {
                *fail_at = None;
                return Err(Error::InvalidArgument(format!(
                    "transform fails once at {n}"
                )));
            }
            Ok(vec![Record::to(output).value(format!("{n}:{}", n * n))])
        });
        match outcome {
            Ok(BatchOutcome::Committed { inputs, outputs }) => {
                assert_eq!(inputs, outputs);
                committed += inputs;
                empty = 0;
            }
            Ok(BatchOutcome::Empty) => empty += 1,
            Ok(other) => panic!("unexpected {other:?}"),
            Err(e) => assert!(e.to_string().contains("fails once"), "{e}"),
        }
    }
    committed
}

#[test]
fn broker_exactly_once_every_input_once_across_an_abort_and_a_restart() {
    let Some(target) = Target::broker("broker_exactly_once") else {
        return;
    };
    let input = target.topic("eos-in", 1);
    let output = target.topic("eos-out", 1);
    let producer = Producer::new(&target.config()).expect("producer");
    let deliveries: Vec<_> = (0..INPUTS)
        .map(|n| {
            producer
                .send_blocking(Record::to(input.as_str()).value(n.to_string()), TIMEOUT)
                .expect("send")
        })
        .collect();
    for mut d in deliveries {
        d.wait(TIMEOUT).expect("in time").expect("delivered");
    }
    let group = unique("eos-group");
    let txn_id = unique("eos-txn");

    // The first instance fails once in the middle of a batch, then stops
    // after about half the input, as if it were stopped.
    let first = instance(&target, &group, &txn_id, &input);
    let mut fail_at = Some(100);
    let half = run(&first, &output, INPUTS / 2, &mut fail_at);
    assert!(fail_at.is_none(), "the failing transform was reached");
    assert!((INPUTS / 2..INPUTS).contains(&half), "{half}");
    first.consumer().close().expect("close");
    drop(first);

    // A new instance with the same transactional id and group goes on.
    let second = instance(&target, &group, &txn_id, &input);
    let rest = run(&second, &output, INPUTS - half, &mut None);
    assert_eq!(half + rest, INPUTS, "every input committed once");
    second.consumer().close().expect("close");

    let values = read_values(&target, &output, "read_committed", INPUTS);
    let mut seen: BTreeMap<i64, usize> = BTreeMap::new();
    for v in &values {
        let n: i64 = v.split(':').next().unwrap().parse().unwrap();
        *seen.entry(n).or_default() += 1;
    }
    let missing: Vec<i64> = (0..INPUTS as i64)
        .filter(|n| !seen.contains_key(n))
        .collect();
    let twice: Vec<(&i64, &usize)> = seen.iter().filter(|(_, c)| **c > 1).collect();
    assert!(missing.is_empty(), "missing: {missing:?}");
    assert!(twice.is_empty(), "more than once: {twice:?}");
    assert_eq!(values.len(), INPUTS);

    // The group's committed offset went with the transactions.
    let committed = Consumer::new(&{
        let mut c = target.config();
        c.group_id(&group)
            .and_then(|c| c.set("isolation.level", "read_uncommitted"))
            .expect("config");
        c
    })
    .expect("consumer")
    .committed(&[(input.as_str(), 0)], TIMEOUT)
    .expect("committed");
    assert_eq!(committed[0].offset, Offset::At(INPUTS as i64));
}

/// Numbers in the crash test's input.
const CRASH_INPUTS: usize = 100_000;

/// The `exactly_once` example's binary, which `cargo test` builds beside
/// the tests (target/debug/examples).
fn example_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target directory");
    let path = dir.join("examples").join("exactly_once");
    assert!(
        path.exists(),
        "{} is missing: build it with `cargo build --example exactly_once` (plain `cargo test` \
         builds it)",
        path.display()
    );
    path
}

/// A running instance of the example; killed and reaped when dropped.
struct Instance {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Instance {
    fn start(bootstrap: &str, args: &[&str]) -> Instance {
        let mut child = Command::new(example_binary())
            .arg("process")
            .args(args)
            .env("KAFKA_BOOTSTRAP_SERVERS", bootstrap)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the example");
        let stdout = child.stdout.take().expect("child stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Instance { child, lines }
    }

    /// Waits until the instance has reported `commits` committed
    /// transactions, and returns the inputs they held.
    fn wait_for_commits(&self, commits: usize, within: Duration) -> usize {
        let deadline = Instant::now() + within;
        let (mut seen, mut inputs) = (0, 0);
        while seen < commits {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    if let Some(n) = line
                        .strip_prefix("committed ")
                        .and_then(|r| r.split_whitespace().next())
                        .and_then(|n| n.parse::<usize>().ok())
                    {
                        seen += 1;
                        inputs += n;
                    }
                }
                Err(e) => panic!(
                    "the example committed {seen} of {commits} transactions within {within:?}: {e}"
                ),
            }
        }
        inputs
    }

    /// Inputs this instance reported committed so far.
    fn committed_so_far(&self) -> usize {
        self.lines
            .try_iter()
            .filter_map(|l| {
                l.strip_prefix("committed ")
                    .and_then(|r| r.split_whitespace().next())
                    .and_then(|n| n.parse::<usize>().ok())
            })
            .sum()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A pseudo-random duration in `[0, max)`, different every call and run.
fn random_below(max: Duration) -> Duration {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64 ^ (d.as_secs() << 7))
        .unwrap_or(0);
    // A multiplicative hash spreads the low bits.
    let mixed = nanos.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 11;
    Duration::from_nanos(mixed % max.as_nanos().max(1) as u64)
}

#[test]
fn broker_exactly_once_example_killed_three_times_still_writes_every_number_once() {
    let Some(target) = Target::broker("broker_exactly_once_example_killed_three_times") else {
        return;
    };
    let input = target.topic("eos-crash-in", 3);
    let output = target.topic("eos-crash-out", 1);
    let producer = Producer::new(&target.config()).expect("producer");
    let mut deliveries = Vec::with_capacity(CRASH_INPUTS);
    for n in 0..CRASH_INPUTS {
        deliveries.push(
            producer
                .send_blocking(Record::to(input.as_str()).value(n.to_string()), TIMEOUT)
                .expect("send"),
        );
    }
    for mut d in deliveries {
        d.wait(TIMEOUT).expect("in time").expect("delivered");
    }
    let group = unique("eos-crash-group");
    let txn_id = unique("eos-crash-txn");
    let total = CRASH_INPUTS.to_string();
    let args = [
        input.as_str(),
        output.as_str(),
        group.as_str(),
        txn_id.as_str(),
        total.as_str(),
    ];
    let bootstrap = target.bootstrap();

    // Three instances, each killed at a random point: after a random number
    // of its committed transactions (1 to 20 of at most 1000 inputs each,
    // so that input is left for the next instance however fast this
    // machine is), plus up to 50 ms, most likely inside an open
    // transaction (the instance spends most of its time between begin and
    // commit).
    for round in 1..=3 {
        let mut instance = Instance::start(&bootstrap, &args);
        let commits = 1 + random_below(Duration::from_nanos(20)).as_nanos() as usize;
        let inputs = instance.wait_for_commits(commits, Duration::from_secs(90));
        let wait = random_below(Duration::from_millis(50));
        std::thread::sleep(wait);
        instance.child.kill().expect("SIGKILL the example");
        instance.child.wait().expect("reap the example");
        let more = instance.committed_so_far();
        eprintln!(
            "instance {round}: killed {wait:?} after {commits} commits ({inputs} inputs; \
             {more} more inputs reported)"
        );
    }

    // The fourth instance finishes the input and exits by itself.
    let mut last = Instance::start(&bootstrap, &args);
    let deadline = Instant::now() + Duration::from_secs(240);
    let status = loop {
        if let Some(status) = last.child.try_wait().expect("wait for the example") {
            break status;
        }
        if Instant::now() >= deadline {
            let said: Vec<String> = last.lines.try_iter().collect();
            let tail = &said[said.len().saturating_sub(10)..];
            panic!("the last instance did not finish; it said last: {tail:#?}");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(status.success(), "the last instance failed: {status}");

    let values = read_values(&target, &output, "read_committed", CRASH_INPUTS);
    let mut seen: BTreeMap<u64, usize> = BTreeMap::new();
    for v in &values {
        let (n, square) = v.split_once(':').expect("n:n²");
        let n: u64 = n.parse().expect("a number");
        assert_eq!(square.parse::<u64>().expect("a square"), n * n);
        *seen.entry(n).or_default() += 1;
    }
    let missing = (0..CRASH_INPUTS as u64)
        .filter(|n| !seen.contains_key(n))
        .count();
    let twice = seen.values().filter(|c| **c > 1).count();
    eprintln!(
        "after 3 kills: {} output records, {} distinct numbers, {missing} missing, {twice} more than once",
        values.len(),
        seen.len()
    );
    assert_eq!(missing, 0, "numbers missing from the output");
    assert_eq!(twice, 0, "numbers in the output more than once");
    assert_eq!(values.len(), CRASH_INPUTS);
}
