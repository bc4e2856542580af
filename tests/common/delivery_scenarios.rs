//! What every read path must keep while librdkafka has fetched far ahead of
//! the application: at-least-once across a crash, no message of a revoked
//! partition handed out, seek and pause honoured at once, the end of a
//! partition and consumer errors reported in place, and positions and
//! commits that cover exactly what was handed out. Run on the mock cluster
//! (tests/consumer_delivery_mock.rs) and on a real broker
//! (tests/consumer_delivery_broker.rs).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use kafkit::{
    BatchStream, ClientConfig, Consumer, Error, Message, MessageStream, Offset, OffsetReset,
    Producer, RebalanceListener, Record, TopicPartition,
};

use super::consumer_scenarios::produce;
use super::{runtime, unique, Target};

/// A way of reading from a consumer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Api {
    /// `poll(timeout)`.
    Poll,
    /// `recv().await`.
    Recv,
    /// `iter()` with an idle timeout.
    Iter,
    /// `stream()`, one stream for the whole test.
    Stream,
    /// `consume_batch(max, within)`.
    ConsumeBatch,
    /// `batches(max, within)`, one stream for the whole test.
    Batches,
}

impl Api {
    pub fn name(self) -> &'static str {
        match self {
            Api::Poll => "poll",
            Api::Recv => "recv",
            Api::Iter => "iter",
            Api::Stream => "stream",
            Api::ConsumeBatch => "consume_batch",
            Api::Batches => "batches",
        }
    }

    fn from_name(name: &str) -> Option<Api> {
        [
            Api::Poll,
            Api::Recv,
            Api::Iter,
            Api::Stream,
            Api::ConsumeBatch,
            Api::Batches,
        ]
        .into_iter()
        .find(|a| a.name() == name)
    }

    /// Whether the API hands out one message per call (the batch APIs hand
    /// out many, which the test then holds).
    pub fn one_at_a_time(self) -> bool {
        !matches!(self, Api::ConsumeBatch | Api::Batches)
    }
}

/// The largest batch the batch APIs are asked for.
const BATCH_MAX: usize = 100;

/// Reads messages one at a time through any [`Api`]; with the batch APIs it
/// hands out the messages of a batch one by one.
pub struct Reader<'c> {
    consumer: &'c Consumer,
    api: Api,
    rt: tokio::runtime::Runtime,
    stream: Option<MessageStream>,
    batches: Option<BatchStream>,
    /// Messages of the last batch not handed out yet.
    held: VecDeque<Message>,
}

impl<'c> Reader<'c> {
    pub fn new(consumer: &'c Consumer, api: Api) -> Self {
        Reader {
            consumer,
            api,
            rt: runtime(),
            stream: (api == Api::Stream).then(|| consumer.stream()),
            batches: (api == Api::Batches)
                .then(|| consumer.batches(BATCH_MAX, Duration::from_millis(50))),
            held: VecDeque::new(),
        }
    }

    /// The next message or consumer error, waiting at most about `wait`;
    /// `None` when nothing came.
    pub fn next(&mut self, wait: Duration) -> Option<Result<Message, Error>> {
        if let Some(m) = self.held.pop_front() {
            return Some(Ok(m));
        }
        match self.api {
            Api::Poll => self.consumer.poll(wait),
            Api::Iter => self.consumer.iter().idle_timeout(wait).next(),
            Api::Recv => {
                let consumer = self.consumer;
                self.rt
                    .block_on(async { tokio::time::timeout(wait, consumer.recv()).await })
                    .ok()
            }
            Api::Stream => {
                let stream = self.stream.as_mut().expect("stream");
                match self
                    .rt
                    .block_on(async { tokio::time::timeout(wait, stream.next()).await })
                {
                    Ok(Some(item)) => Some(item),
                    Ok(None) => panic!("the message stream ended"),
                    Err(_) => None,
                }
            }
            Api::ConsumeBatch => {
                let deadline = Instant::now() + wait;
                loop {
                    let within = deadline
                        .saturating_duration_since(Instant::now())
                        .min(Duration::from_millis(100));
                    match self.consumer.consume_batch(BATCH_MAX, within) {
                        Err(e) => return Some(Err(e)),
                        Ok(batch) if !batch.is_empty() => {
                            self.held.extend(batch);
                            return self.held.pop_front().map(Ok);
                        }
                        Ok(_) if Instant::now() >= deadline => return None,
                        Ok(_) => {}
                    }
                }
            }
            Api::Batches => {
                let batches = self.batches.as_mut().expect("batch stream");
                match self
                    .rt
                    .block_on(async { tokio::time::timeout(wait, batches.next()).await })
                {
                    Ok(Some(Ok(batch))) => {
                        self.held.extend(batch);
                        self.held.pop_front().map(Ok)
                    }
                    Ok(Some(Err(e))) => Some(Err(e)),
                    Ok(None) => panic!("the batch stream ended"),
                    Err(_) => None,
                }
            }
        }
    }

    /// True when every message taken from the consumer has been handed out
    /// (false in the middle of a batch).
    pub fn drained(&self) -> bool {
        self.held.is_empty()
    }
}

/// Offsets of each partition's messages, checked as they come: each must be
/// the one after the previous (or where a seek sent the partition).
#[derive(Default)]
pub struct Expected {
    /// The offset each partition's next message must have.
    pub next: BTreeMap<i32, i64>,
    /// Partitions sought or assigned again since their last message, whose
    /// position librdkafka does not know until the next one.
    restarted: BTreeSet<i32>,
    pub problems: Vec<String>,
}

impl Expected {
    pub fn from_start(partitions: i32) -> Self {
        Expected {
            next: (0..partitions).map(|p| (p, 0)).collect(),
            ..Expected::default()
        }
    }

    /// The application moved `partition` to `offset` (a seek or an
    /// assignment).
    pub fn restart(&mut self, partition: i32, offset: i64) {
        self.next.insert(partition, offset);
        self.restarted.insert(partition);
    }

    pub fn take(&mut self, m: &Message) {
        let (p, o) = (m.partition(), m.offset());
        self.restarted.remove(&p);
        let want = self.next.get(&p).copied().unwrap_or(0);
        if o != want {
            let what = if o < want { "repeat" } else { "gap" };
            self.problems.push(format!(
                "partition {p}: got offset {o} where {want} was due ({what})"
            ));
        }
        self.next.insert(p, o + 1);
    }

    /// Checks that `position()` names the offset after the last message
    /// handed out, for every partition that has one.
    pub fn check_positions(&mut self, consumer: &Consumer, topic: &str, when: &str) {
        let parts: Vec<(&str, i32)> = self.next.keys().map(|p| (topic, *p)).collect();
        let positions = consumer.position(&parts).expect("position");
        for pos in positions {
            let want = self.next[&pos.partition];
            let unknown = want == 0 || self.restarted.contains(&pos.partition);
            let fine = pos.offset == Offset::At(want) || (unknown && pos.offset == Offset::Invalid);
            if !fine {
                self.problems.push(format!(
                    "{when}: position of partition {} is {:?}, but the next offset to hand out is {want}",
                    pos.partition, pos.offset
                ));
            }
        }
    }

    /// Commits the current offsets and checks that the group's committed
    /// offsets are those after the last messages handed out.
    pub fn check_commit(&mut self, consumer: &Consumer, topic: &str, when: &str) {
        if let Err(e) = consumer.commit() {
            self.problems.push(format!("{when}: commit failed: {e}"));
            return;
        }
        let parts: Vec<(&str, i32)> = self.next.keys().map(|p| (topic, *p)).collect();
        let committed = consumer
            .committed(&parts, Duration::from_secs(10))
            .expect("committed");
        for c in committed {
            let want = self.next[&c.partition];
            let fine = c.offset == Offset::At(want) || (want == 0 && c.offset == Offset::Invalid);
            if !fine {
                self.problems.push(format!(
                    "{when}: committed offset of partition {} is {:?}, but only messages before {want} were handed out",
                    c.partition, c.offset
                ));
            }
        }
    }

    pub fn assert_clean(&self, what: &str) {
        assert!(
            self.problems.is_empty(),
            "{what}: {} problem(s):\n  {}",
            self.problems.len(),
            self.problems.join("\n  ")
        );
    }
}

/// Produces `per_partition` records to each of `partitions` partitions.
pub fn fill(target: &Target, topic: &str, partitions: i32, per_partition: usize) {
    let rt = runtime();
    for p in 0..partitions {
        let start = p as usize * per_partition;
        rt.block_on(produce(target, topic, start, per_partition, Some(p)));
    }
}

/// Like [`fill`], in producer batches of `batch` records. The mock cluster
/// answers a fetch with one producer batch per partition, so small batches
/// make a consumer fetch a long log in many requests.
pub fn fill_in_small_batches(
    target: &Target,
    topic: &str,
    partitions: i32,
    per_partition: usize,
    batch: usize,
) {
    let mut config = target.config();
    config
        .linger(Duration::from_millis(5))
        .and_then(|c| c.set("batch.num.messages", batch.to_string()))
        .expect("producer config");
    let producer = Producer::new(&config).expect("producer");
    runtime().block_on(async {
        let mut pending = Vec::new();
        for p in 0..partitions {
            for i in 0..per_partition {
                let n = p as usize * per_partition + i;
                let record = Record::to(topic)
                    .key(format!("k{n}"))
                    .value(n.to_string())
                    .partition(p);
                pending.push(producer.send(record).await.expect("enqueue"));
            }
        }
        for f in pending {
            f.await.expect("delivered");
        }
    });
}

/// The next offset librdkafka will fetch for a partition, from the latest
/// statistics (`statistics.interval.ms` must be set).
fn fetched_to(consumer: &Consumer, topic: &str, partition: i32) -> Option<i64> {
    let stats = consumer.statistics()?;
    let next = stats.partition(topic, partition)?.next_offset;
    (next >= 0).then_some(next)
}

/// Waits until librdkafka has fetched `partition` up to `offset`.
fn wait_fetched(consumer: &Consumer, topic: &str, partition: i32, offset: i64) -> i64 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got = fetched_to(consumer, topic, partition);
        if let Some(next) = got.filter(|n| *n >= offset) {
            return next;
        }
        assert!(
            Instant::now() < deadline,
            "librdkafka fetched partition {partition} only to {got:?}, not to {offset}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

// ---------------------------------------------------------------------------
// At-least-once across a crash.

/// Set in the child process of [`at_least_once_across_a_crash`]: the name of
/// the API it reads with.
const CHILD_API: &str = "KAFKIT_CRASH_CHILD_API";
const CHILD_BOOTSTRAP: &str = "KAFKIT_CRASH_CHILD_BOOTSTRAP";
const CHILD_TOPIC: &str = "KAFKIT_CRASH_CHILD_TOPIC";
const CHILD_GROUP: &str = "KAFKIT_CRASH_CHILD_GROUP";
const CHILD_SESSION_MS: &str = "KAFKIT_CRASH_CHILD_SESSION_MS";
/// Starts each line the child reports on.
const CHILD_TAG: &str = "crash-child:";

const CRASH_PARTITIONS: i32 = 3;
const CRASH_MESSAGES: usize = 20_000;
/// How many messages the crashing consumer reads before it stops: a prime,
/// so that it is not a whole number of batches of any likely size.
const CRASH_READ: usize = 3_001;
/// How many more messages than it read librdkafka must have fetched.
const CRASH_MIN_AHEAD: i64 = 1_000;

/// A mock cluster whose consumer groups form as soon as their first member
/// joins (the mock waits 3 s by default, a real broker in these tests not
/// at all).
pub fn mock() -> Target {
    let target = Target::mock(1);
    if let Target::Mock(cluster) = &target {
        cluster.set_group_initial_rebalance_delay(Duration::from_millis(100));
    }
    target
}

/// The shortest session timeout the target accepts (a real broker refuses
/// less than 6 s; the mock takes less, which makes the dead member leave
/// sooner).
fn session_ms(target: &Target) -> u32 {
    match target {
        Target::Mock(_) => 3000,
        Target::Broker(_) => 6000,
    }
}

fn crash_config(bootstrap: &str, group: &str, session_ms: u32) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .bootstrap_servers(bootstrap)
        .and_then(|c| c.group_id(group))
        .and_then(|c| c.auto_offset_reset(OffsetReset::Earliest))
        .and_then(|c| c.set("session.timeout.ms", session_ms.to_string()))
        .and_then(|c| c.set("heartbeat.interval.ms", "500"))
        // The rebalance timeout of a classic group: how long a join may
        // wait for a member that is gone.
        .and_then(|c| c.set("max.poll.interval.ms", "15000"))
        .expect("consumer config");
    config
}

/// Kills the child process when dropped, so a failing test leaves none.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// In the child process of [`at_least_once_across_a_crash`]: reads, then
/// waits to be killed, and never returns. Elsewhere returns false at once.
pub fn crash_child() -> bool {
    let Ok(api) = std::env::var(CHILD_API) else {
        return false;
    };
    let api = Api::from_name(&api).expect("API name");
    let var = |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("{k} is not set"));
    let topic = var(CHILD_TOPIC);
    let session: u32 = var(CHILD_SESSION_MS).parse().expect("session timeout");
    let mut config = crash_config(&var(CHILD_BOOTSTRAP), &var(CHILD_GROUP), session);
    config
        .enable_auto_commit(true)
        .and_then(|c| c.set("auto.commit.interval.ms", "100"))
        .and_then(|c| c.set("statistics.interval.ms", "100"))
        .expect("consumer config");
    let consumer = Consumer::new(&config).expect("consumer");
    consumer.subscribe(&[&topic]).expect("subscribe");
    let mut reader = Reader::new(&consumer, api);
    let mut out = std::io::stdout();
    let mut next: BTreeMap<i32, i64> = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut read = 0;
    while read < CRASH_READ {
        assert!(Instant::now() < deadline, "read only {read} messages");
        match reader.next(Duration::from_secs(1)) {
            Some(Ok(m)) => {
                // Reported before the next read, so the parent knows every
                // message this process was handed.
                writeln!(out, "{CHILD_TAG} received {} {}", m.partition(), m.offset())
                    .expect("stdout");
                out.flush().expect("stdout");
                next.insert(m.partition(), m.offset() + 1);
                read += 1;
            }
            Some(Err(e)) => panic!("consumer error: {e}"),
            None => {}
        }
    }
    // Read no more, but keep the reader (and whatever it holds) alive, as a
    // busy application would, while librdkafka fetches ahead and auto
    // commit runs. Wait until the statistics show both.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let ready = consumer.statistics().is_some_and(|stats| {
            let mut ahead = 0;
            let mut committed = true;
            for p in 0..CRASH_PARTITIONS {
                let Some(ps) = stats.partition(&topic, p) else {
                    return false;
                };
                let received = next.get(&p).copied().unwrap_or(0);
                ahead += ps.next_offset.max(0) - received;
                committed &= received == 0 || ps.committed_offset >= received;
            }
            ahead >= CRASH_MIN_AHEAD && committed
        });
        if ready || Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let stats = consumer.statistics();
    for p in 0..CRASH_PARTITIONS {
        let ps = stats.as_ref().and_then(|s| s.partition(&topic, p));
        let fetched = ps.map_or(-1, |ps| ps.next_offset);
        writeln!(out, "{CHILD_TAG} fetched {p} {fetched}").expect("stdout");
    }
    writeln!(out, "{CHILD_TAG} waiting").expect("stdout");
    out.flush().expect("stdout");
    // The parent kills this process; should it not, leave in a while.
    std::thread::sleep(Duration::from_secs(120));
    drop(reader);
    std::process::exit(3);
}

/// A consumer in a child process reads part of a topic through `api` with
/// auto commit on, stops while librdkafka has fetched thousands more, and is
/// killed with SIGKILL. A new member of the group must then start each
/// partition at or before the offset after the last message the dead one
/// was handed: auto commit covers only what reached the application.
///
/// `test` is the name of the calling test, which the child process runs;
/// the test must call [`crash_child`] first.
pub fn at_least_once_across_a_crash(target: &Target, test: &str, api: Api) {
    let started = Instant::now();
    let topic = target.topic("crash", CRASH_PARTITIONS);
    runtime().block_on(produce(target, &topic, 0, CRASH_MESSAGES, None));
    let group = unique("g-crash");
    let session = session_ms(target);
    let exe = std::env::current_exe().expect("test binary");
    let mut child = ChildGuard(
        Command::new(exe)
            .args(["--exact", test, "--nocapture", "--test-threads=1"])
            .env(CHILD_API, api.name())
            .env(CHILD_BOOTSTRAP, target.bootstrap())
            .env(CHILD_TOPIC, &topic)
            .env(CHILD_GROUP, &group)
            .env(CHILD_SESSION_MS, session.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the child process"),
    );
    let stdout = child.0.stdout.take().expect("child stdout");
    let mut stderr = child.0.stderr.take().expect("child stderr");
    let (tx, lines) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let errors = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });

    let mut last: BTreeMap<i32, i64> = BTreeMap::new();
    let mut fetched: BTreeMap<i32, i64> = BTreeMap::new();
    let mut received = 0usize;
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(line) = lines.recv_timeout(left) else {
            drop(child);
            panic!(
                "the child never got to wait (it reported {received} messages); its stderr:\n{}",
                errors.join().unwrap_or_default()
            );
        };
        // The test harness may print on the same line before the tag.
        let Some((_, report)) = line.split_once(CHILD_TAG) else {
            continue;
        };
        let words: Vec<&str> = report.split_whitespace().collect();
        match words.as_slice() {
            ["received", p, o] => {
                let (p, o): (i32, i64) = (p.parse().unwrap(), o.parse().unwrap());
                if let Some(prev) = last.insert(p, o) {
                    assert!(
                        o > prev,
                        "the child got partition {p} out of order: {prev} then {o}"
                    );
                }
                received += 1;
            }
            ["fetched", p, o] => {
                fetched.insert(p.parse().unwrap(), o.parse().unwrap());
            }
            ["waiting"] => break,
            _ => {}
        }
    }
    // A few more auto commits with everything fetched, then the crash.
    std::thread::sleep(Duration::from_millis(300));
    child.0.kill().expect("kill the child");
    let _ = child.0.wait();
    let killed_at = started.elapsed();
    assert_eq!(received, CRASH_READ, "messages the child reported");

    let mut config = crash_config(&target.bootstrap(), &group, session);
    config.enable_auto_commit(false).expect("config");
    let consumer = Consumer::new(&config).expect("consumer");
    consumer.subscribe(&[&topic]).expect("subscribe");
    let mut first: BTreeMap<i32, i64> = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while first.len() < CRASH_PARTITIONS as usize {
        assert!(
            Instant::now() < deadline,
            "the new member got only partitions {:?}",
            first.keys()
        );
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => {
                first.entry(m.partition()).or_insert(m.offset());
            }
            Some(Err(e)) => panic!("consumer error: {e}"),
            None => {}
        }
    }
    let parts: Vec<(&str, i32)> = (0..CRASH_PARTITIONS).map(|p| (topic.as_str(), p)).collect();
    let committed = consumer
        .committed(&parts, Duration::from_secs(10))
        .expect("committed");
    println!(
        "crash through {}: killed after {killed_at:?}, new member read all partitions after {:?}",
        api.name(),
        started.elapsed()
    );
    let mut any_commit = false;
    let mut ahead = 0;
    for c in &committed {
        let p = c.partition;
        let next = last.get(&p).map_or(0, |o| o + 1);
        let fetched_to = fetched.get(&p).copied().unwrap_or(-1);
        let committed_at = c.offset.value();
        println!(
            "  partition {p}: the dead consumer was handed offsets below {next}, librdkafka had \
             fetched to {fetched_to}; committed {committed_at:?}; the new member starts at {}",
            first[&p]
        );
        ahead += fetched_to - next;
        any_commit |= committed_at.unwrap_or(0) > 0;
        assert!(
            committed_at.unwrap_or(0) <= next,
            "partition {p}: committed {committed_at:?} is past {next}, the offset after the last \
             message handed out: messages {next}.. were lost"
        );
        assert!(
            first[&p] <= next,
            "partition {p}: the new member starts at {} but the dead one was handed only the \
             messages before {next}",
            first[&p]
        );
        assert_eq!(
            first[&p],
            committed_at.unwrap_or(0),
            "partition {p}: the new member starts at the committed offset"
        );
    }
    assert!(
        any_commit,
        "no auto commit of the dead consumer reached the group, so the test proved nothing"
    );
    assert!(
        ahead >= CRASH_MIN_AHEAD,
        "librdkafka had fetched only {ahead} messages beyond those handed out (want at least \
         {CRASH_MIN_AHEAD}), so the test proved little"
    );
    consumer.close().expect("close");
}

// ---------------------------------------------------------------------------
// Rebalances while one member's queue is full.

/// The group protocol of [`rebalance_with_a_full_queue`].
#[derive(Clone, Copy, Debug)]
pub enum Protocol {
    /// Classic, `range` assignor: every partition revoked on each rebalance.
    Eager,
    /// Classic, `cooperative-sticky`: only the moving partitions revoked.
    Cooperative,
    /// KIP-848, `group.protocol=consumer`.
    Consumer,
}

#[derive(Debug)]
enum Event {
    Assigned(Vec<i32>),
    /// The partitions, and how many of their messages librdkafka had
    /// fetched that the member had not been handed.
    Revoked(Vec<i32>, i64),
    Lost(Vec<i32>, i64),
    Message(i32, i64),
}

/// One member's events in order, each stamped from a clock shared by the
/// members.
#[derive(Clone)]
struct Log {
    clock: Arc<AtomicU64>,
    events: Arc<Mutex<Vec<(u64, Event)>>>,
}

impl Log {
    fn new(clock: &Arc<AtomicU64>) -> Self {
        Log {
            clock: clock.clone(),
            events: Arc::default(),
        }
    }

    fn push(&self, event: Event) {
        let mut events = self.events.lock().unwrap();
        let t = self.clock.fetch_add(1, Ordering::SeqCst);
        events.push((t, event));
    }

    /// How many messages of `partitions` the consumer has fetched beyond the
    /// last one this member was handed. Each partition holds `fetched`
    /// messages, all fetched before the second member joins; the latest
    /// statistics may say more. (At a revocation inside a batch read, the
    /// statistics may already show the revoked partitions reset.)
    fn unread(&self, consumer: &Consumer, topic: &str, partitions: &[i32], fetched: i64) -> i64 {
        let events = self.events.lock().unwrap();
        partitions
            .iter()
            .map(|p| {
                let handed = events
                    .iter()
                    .rev()
                    .find_map(|(_, e)| match e {
                        Event::Message(q, o) if q == p => Some(o + 1),
                        _ => None,
                    })
                    .unwrap_or(0);
                let f = fetched_to(consumer, topic, *p).unwrap_or(0).max(fetched);
                (f - handed).max(0)
            })
            .sum()
    }

    fn messages(&self) -> usize {
        let events = self.events.lock().unwrap();
        events
            .iter()
            .filter(|(_, e)| matches!(e, Event::Message(..)))
            .count()
    }
}

struct Listener {
    log: Log,
    topic: String,
    /// Messages per partition, all fetched before a revocation.
    fetched: i64,
}

fn numbers(partitions: &[TopicPartition]) -> Vec<i32> {
    partitions.iter().map(|tp| tp.partition).collect()
}

impl RebalanceListener for Listener {
    fn on_assigned(&mut self, _consumer: &Consumer, partitions: &[TopicPartition]) {
        self.log.push(Event::Assigned(numbers(partitions)));
    }

    fn on_revoked(&mut self, consumer: &Consumer, partitions: &[TopicPartition]) {
        let ps = numbers(partitions);
        let unread = self.log.unread(consumer, &self.topic, &ps, self.fetched);
        self.log.push(Event::Revoked(ps, unread));
    }

    fn on_lost(&mut self, consumer: &Consumer, partitions: &[TopicPartition]) {
        let ps = numbers(partitions);
        let unread = self.log.unread(consumer, &self.topic, &ps, self.fetched);
        self.log.push(Event::Lost(ps, unread));
    }
}

/// What the members of [`rebalance_with_a_full_queue`] share.
struct Group {
    /// Which offsets of each partition someone has read.
    seen: Mutex<Vec<Vec<bool>>>,
    /// Offsets nobody has read yet.
    unread: AtomicUsize,
    slow: AtomicBool,
    stop: AtomicBool,
    /// The slow member's latest statistics.
    slow_stats: Mutex<Option<Arc<kafkit::Statistics>>>,
}

impl Group {
    fn saw(&self, p: i32, o: i64) {
        let mut seen = self.seen.lock().unwrap();
        if let Some(slot) = seen.get_mut(p as usize).and_then(|v| v.get_mut(o as usize)) {
            if !*slot {
                *slot = true;
                self.unread.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }
}

fn run_member(
    config: ClientConfig,
    topic: String,
    api: Api,
    log: Log,
    group: Arc<Group>,
    slow: bool,
) {
    let fetched = group
        .seen
        .lock()
        .unwrap()
        .first()
        .map_or(0, |p| p.len() as i64);
    let consumer = Consumer::builder(&config)
        .rebalance_listener(Listener {
            log: log.clone(),
            topic: topic.clone(),
            fetched,
        })
        .build()
        .expect("consumer");
    consumer.subscribe(&[&topic]).expect("subscribe");
    let mut reader = Reader::new(&consumer, api);
    while !group.stop.load(Ordering::SeqCst) {
        match reader.next(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                log.push(Event::Message(m.partition(), m.offset()));
                group.saw(m.partition(), m.offset());
                if slow {
                    *group.slow_stats.lock().unwrap() = consumer.statistics();
                }
                if slow && group.slow.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
            Some(Err(e)) => panic!("consumer error: {e}"),
            None => {}
        }
    }
    drop(reader);
    let _ = consumer.close();
}

/// A partition owned by one member from an assignment to a revocation.
struct Run {
    member: &'static str,
    partition: i32,
    from: u64,
    until: u64,
    offsets: Vec<i64>,
}

/// Splits a member's log into runs, and lists messages handed out while the
/// member did not own their partition.
fn runs(member: &'static str, events: &[(u64, Event)], problems: &mut Vec<String>) -> Vec<Run> {
    let mut runs: Vec<Run> = Vec::new();
    let mut owned: BTreeMap<i32, usize> = BTreeMap::new();
    let mut revoked_at: BTreeMap<i32, u64> = BTreeMap::new();
    for (t, event) in events {
        match event {
            Event::Assigned(ps) => {
                for p in ps {
                    owned.entry(*p).or_insert_with(|| {
                        runs.push(Run {
                            member,
                            partition: *p,
                            from: *t,
                            until: u64::MAX,
                            offsets: Vec::new(),
                        });
                        runs.len() - 1
                    });
                }
            }
            Event::Revoked(ps, _) | Event::Lost(ps, _) => {
                for p in ps {
                    if let Some(i) = owned.remove(p) {
                        runs[i].until = *t;
                    }
                    revoked_at.insert(*p, *t);
                }
            }
            Event::Message(p, o) => match owned.get(p) {
                Some(i) => runs[*i].offsets.push(*o),
                None => problems.push(format!(
                    "{member} was handed {p}@{o} at event {t}, but partition {p} was not \
                     assigned to it (revoked at event {:?})",
                    revoked_at.get(p)
                )),
            },
        }
    }
    runs
}

/// Two members of a group share a 6-partition topic; member A reads slowly,
/// so its queue is full of prefetched messages when member B joins. No
/// message of a partition may reach A after A's listener was told it was
/// revoked (or lost); each owner reads a partition in order without gaps;
/// a new owner starts between the previous owner's first offset and the one
/// after its last; and together they read every message. Duplicates (the
/// at-least-once window at a handover) are counted and printed.
pub fn rebalance_with_a_full_queue(target: &Target, protocol: Protocol) {
    const PARTITIONS: i32 = 6;
    const PER_PARTITION: usize = 3000;
    let started = Instant::now();
    let topic = target.topic("rebalance-full", PARTITIONS);
    fill(target, &topic, PARTITIONS, PER_PARTITION);
    let group_id = unique("g-rebalance");
    let mut config = target.config();
    config
        .group_id(&group_id)
        .and_then(|c| c.auto_offset_reset(OffsetReset::Earliest))
        .and_then(|c| c.enable_auto_commit(true))
        .and_then(|c| c.set("auto.commit.interval.ms", "200"))
        .and_then(|c| c.set("statistics.interval.ms", "100"))
        .expect("config");
    let session = session_ms(target).to_string();
    let strategy = match protocol {
        Protocol::Eager => Some("range"),
        Protocol::Cooperative => Some("cooperative-sticky"),
        Protocol::Consumer => None,
    };
    match strategy {
        Some(strategy) => config
            .set("partition.assignment.strategy", strategy)
            .and_then(|c| c.set("session.timeout.ms", &session))
            .and_then(|c| c.set("heartbeat.interval.ms", "500"))
            .map(|_| ()),
        // The broker owns the session and the assignor with KIP-848.
        None => config.set("group.protocol", "consumer").map(|_| ()),
    }
    .expect("group config");

    let group = Arc::new(Group {
        seen: Mutex::new(vec![vec![false; PER_PARTITION]; PARTITIONS as usize]),
        unread: AtomicUsize::new(PER_PARTITION * PARTITIONS as usize),
        slow: AtomicBool::new(true),
        stop: AtomicBool::new(false),
        slow_stats: Mutex::new(None),
    });
    let clock = Arc::new(AtomicU64::new(0));
    let (log_a, log_b) = (Log::new(&clock), Log::new(&clock));
    let a = {
        let (config, topic, log, group) =
            (config.clone(), topic.clone(), log_a.clone(), group.clone());
        std::thread::spawn(move || run_member(config, topic, Api::Stream, log, group, true))
    };
    let wait_for = |what: &str, done: &dyn Fn() -> bool| {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !done() {
            assert!(Instant::now() < deadline, "timed out waiting until {what}");
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    wait_for("A reads", &|| log_a.messages() >= 200);
    // Whichever partitions move to B, librdkafka must hold messages of them
    // for A when they do: every partition fetched well past what A read.
    wait_for("A's consumer fetched every partition", &|| {
        let stats = group.slow_stats.lock().unwrap();
        stats.as_ref().is_some_and(|s| {
            (0..PARTITIONS).all(|p| {
                s.partition(&topic, p)
                    .is_some_and(|ps| ps.next_offset >= PER_PARTITION as i64)
            })
        })
    });
    let b = {
        let (topic, log, group) = (topic.clone(), log_b.clone(), group.clone());
        std::thread::spawn(move || run_member(config, topic, Api::Poll, log, group, false))
    };
    wait_for("B reads", &|| log_b.messages() >= 1);
    let b_joined = started.elapsed();
    group.slow.store(false, Ordering::SeqCst);
    wait_for("every message was read", &|| {
        group.unread.load(Ordering::SeqCst) == 0
    });
    group.stop.store(true, Ordering::SeqCst);
    a.join().expect("member A");
    b.join().expect("member B");

    let mut problems = Vec::new();
    let events_a = std::mem::take(&mut *log_a.events.lock().unwrap());
    let events_b = std::mem::take(&mut *log_b.events.lock().unwrap());
    let mut all = runs("A", &events_a, &mut problems);
    all.extend(runs("B", &events_b, &mut problems));
    let mut duplicates = 0;
    let mut handovers = 0;
    for p in 0..PARTITIONS {
        let mut mine: Vec<&Run> = all.iter().filter(|r| r.partition == p).collect();
        mine.sort_by_key(|r| r.from);
        for pair in mine.windows(2) {
            if pair[1].from < pair[0].until {
                problems.push(format!(
                    "partition {p} was assigned to {} (event {}) before {} gave it up (event {})",
                    pair[1].member, pair[1].from, pair[0].member, pair[0].until
                ));
            }
        }
        let mut previous: Option<&Run> = None;
        for run in mine.iter().filter(|r| !r.offsets.is_empty()) {
            for w in run.offsets.windows(2) {
                if w[1] != w[0] + 1 {
                    problems.push(format!(
                        "{} read partition {p} out of order: {} then {}",
                        run.member, w[0], w[1]
                    ));
                }
            }
            let first = run.offsets[0];
            match previous {
                None if first != 0 => problems.push(format!(
                    "{} started partition {p} at {first}, not at 0",
                    run.member
                )),
                None => {}
                Some(prev) => {
                    handovers += 1;
                    let (prev_first, prev_last) = (prev.offsets[0], *prev.offsets.last().unwrap());
                    if first > prev_last + 1 {
                        problems.push(format!(
                            "partition {p}: {} started at {first}, after {} had read only to \
                             {prev_last}",
                            run.member, prev.member
                        ));
                    }
                    if first < prev_first {
                        problems.push(format!(
                            "partition {p}: {} started at {first}, before {} started ({prev_first})",
                            run.member, prev.member
                        ));
                    }
                    duplicates += (prev_last + 1 - first).max(0);
                }
            }
            previous = Some(run);
        }
    }
    let count = |events: &[(u64, Event)], f: fn(&Event) -> bool| {
        events.iter().filter(|(_, e)| f(e)).count()
    };
    let is_message = |e: &Event| matches!(e, Event::Message(..));
    let is_revoke = |e: &Event| matches!(e, Event::Revoked(..) | Event::Lost(..));
    // A's first revocation: the one B's arrival caused (later ones come
    // from closing).
    let first_revoke = events_a.iter().find_map(|(_, e)| match e {
        Event::Revoked(ps, unread) | Event::Lost(ps, unread) => Some((ps.clone(), *unread)),
        _ => None,
    });
    println!(
        "{protocol:?}: A read {} messages and had {} revocations (the first of {:?}), B read {} \
         and had {}; {handovers} handovers, {duplicates} duplicates; B read after \
         {b_joined:?}, all read after {:?}",
        count(&events_a, is_message),
        count(&events_a, is_revoke),
        first_revoke,
        count(&events_b, is_message),
        count(&events_b, is_revoke),
        started.elapsed()
    );
    let Some((revoked, unread)) = first_revoke else {
        panic!("A never had a partition revoked, so the test proved nothing");
    };
    assert!(
        unread > 0,
        "when partitions {revoked:?} were revoked, librdkafka held none of their messages for A, \
         so the test proved nothing"
    );
    assert!(
        problems.is_empty(),
        "{protocol:?}: {} problem(s):\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}

// ---------------------------------------------------------------------------
// Seek and pause while the queue is full.

/// Reads until a message of `partition` comes (others are checked on the
/// way); returns its offset.
fn next_of(reader: &mut Reader<'_>, expected: &mut Expected, partition: i32) -> i64 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        assert!(
            Instant::now() < deadline,
            "no message of partition {partition} came"
        );
        match reader.next(Duration::from_millis(500)) {
            Some(Ok(m)) => {
                expected.take(&m);
                if m.partition() == partition {
                    return m.offset();
                }
            }
            Some(Err(e)) => panic!("consumer error: {e}"),
            None => {}
        }
    }
}

/// Two partitions of 3000 messages each, all fetched by librdkafka early
/// on. After a few messages of one of them: `seek` back and forth makes its
/// next message the one sought; `pause` stops its messages at once (while
/// the other partition goes on), and `resume` continues with the offset
/// after the last one handed out before the pause. The other partition is
/// read once, in order, throughout. `position()` follows what was handed
/// out.
pub fn seek_and_pause_with_a_full_queue(target: &Target, api: Api) {
    const PER_PARTITION: i64 = 3000;
    assert!(api.one_at_a_time(), "the test holds no batch of its own");
    let topic = target.topic("seek-full", 2);
    fill(target, &topic, 2, PER_PARTITION as usize);
    let mut config = target.config();
    config
        .group_id(&unique("g-seek"))
        .and_then(|c| c.enable_auto_commit(false))
        .and_then(|c| c.set("statistics.interval.ms", "100"))
        .expect("config");
    let consumer = Consumer::new(&config).expect("consumer");
    consumer
        .assign(&[
            (&topic, 0, Offset::Beginning),
            (&topic, 1, Offset::Beginning),
        ])
        .expect("assign");
    let mut reader = Reader::new(&consumer, api);
    let mut expected = Expected::from_start(2);

    // A few messages of the partition that comes first.
    let p = match reader.next(Duration::from_secs(10)) {
        Some(Ok(m)) => {
            expected.take(&m);
            m.partition()
        }
        Some(Err(e)) => panic!("consumer error: {e}"),
        None => panic!("no message came"),
    };
    let q = 1 - p;
    while expected.next[&p] < 20 {
        next_of(&mut reader, &mut expected, p);
    }
    let fetched = wait_fetched(&consumer, &topic, p, 1000);
    println!(
        "{}: read {} of partition {p}, librdkafka fetched to {fetched}",
        api.name(),
        expected.next[&p]
    );
    expected.check_positions(&consumer, &topic, "after the first messages");

    // Back, then forward into what is already fetched.
    for target_offset in [5, 2000] {
        consumer
            .seek(
                &topic,
                p,
                Offset::At(target_offset),
                Duration::from_secs(10),
            )
            .expect("seek");
        expected.restart(p, target_offset);
        for _ in 0..10 {
            next_of(&mut reader, &mut expected, p);
        }
        expected.check_positions(
            &consumer,
            &topic,
            &format!("after seeking to {target_offset}"),
        );
    }

    // Paused: nothing of p, while q goes on.
    let before_pause = expected.next[&p];
    consumer.pause(&[(&topic, p)]).expect("pause");
    let until = Instant::now() + Duration::from_millis(1500);
    while Instant::now() < until {
        match reader.next(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                if m.partition() == p {
                    expected.problems.push(format!(
                        "paused partition {p} handed out offset {}",
                        m.offset()
                    ));
                }
                expected.take(&m);
            }
            Some(Err(e)) => panic!("consumer error: {e}"),
            None => {}
        }
    }
    consumer.resume(&[(&topic, p)]).expect("resume");
    let resumed_at = next_of(&mut reader, &mut expected, p);
    if resumed_at != before_pause {
        expected.problems.push(format!(
            "after resuming, partition {p} went on at {resumed_at}, not at {before_pause}"
        ));
    }

    // The rest of both, once each.
    let deadline = Instant::now() + Duration::from_secs(30);
    while expected.next[&p] < PER_PARTITION || expected.next[&q] < PER_PARTITION {
        assert!(
            Instant::now() < deadline,
            "read only to {:?}",
            expected.next
        );
        match reader.next(Duration::from_millis(500)) {
            Some(Ok(m)) => expected.take(&m),
            Some(Err(e)) => panic!("consumer error: {e}"),
            None => {}
        }
    }
    expected.check_positions(&consumer, &topic, "at the end");
    if let Some(Ok(m)) = reader.next(Duration::from_millis(300)) {
        expected.problems.push(format!(
            "read past the end: {}@{}",
            m.partition(),
            m.offset()
        ));
    }
    expected.assert_clean(api.name());
}

// ---------------------------------------------------------------------------
// The end of a partition.

/// Reads until the end of both partitions has been reported at `ends`;
/// every end must come at the offset after the last message handed out.
fn read_to_eof(reader: &mut Reader<'_>, expected: &mut Expected, ends: [i64; 2]) {
    let mut reported: [Option<i64>; 2] = [None; 2];
    let deadline = Instant::now() + Duration::from_secs(20);
    while (0..2).any(|p| reported[p] != Some(ends[p])) {
        assert!(
            Instant::now() < deadline,
            "no end of partition at {ends:?} (ends seen {reported:?}, read to {:?})",
            expected.next
        );
        match reader.next(Duration::from_millis(500)) {
            Some(Ok(m)) => expected.take(&m),
            Some(Err(Error::PartitionEof {
                partition, offset, ..
            })) => {
                let want = expected.next[&partition];
                if offset != want {
                    expected.problems.push(format!(
                        "end of partition {partition} reported at {offset}, after the message \
                         before {want}"
                    ));
                }
                if offset > ends[partition as usize] {
                    expected.problems.push(format!(
                        "end of partition {partition} reported at {offset}, past the high \
                         watermark {}",
                        ends[partition as usize]
                    ));
                }
                reported[partition as usize] = Some(offset);
            }
            Some(Err(e)) => panic!("consumer error: {e}"),
            None => {}
        }
    }
}

/// With `enable.partition.eof=true`: reads two partitions to their ends,
/// produces more and reads on. Each end is reported at the high watermark,
/// no message is skipped or repeated around it, and right after it
/// `position()` and the offset committed by `commit()` are the high
/// watermark, not one past it. A new consumer of the group then starts
/// exactly at the next new message.
pub fn eof_at_the_high_watermark(target: &Target, api: Api) {
    let topic = target.topic("eof-position", 2);
    let rt = runtime();
    rt.block_on(produce(target, &topic, 0, 50, Some(0)));
    rt.block_on(produce(target, &topic, 50, 30, Some(1)));
    let group = unique("g-eof");
    let mut config = target.config();
    config
        .group_id(&group)
        .and_then(|c| c.enable_auto_commit(false))
        .and_then(|c| c.set("enable.partition.eof", "true"))
        .expect("config");
    let consumer = Consumer::new(&config).expect("consumer");
    consumer
        .assign(&[
            (&topic, 0, Offset::Beginning),
            (&topic, 1, Offset::Beginning),
        ])
        .expect("assign");
    let mut reader = Reader::new(&consumer, api);
    let mut expected = Expected::from_start(2);
    let highs = |consumer: &Consumer| -> [i64; 2] {
        [0, 1].map(|p| {
            consumer
                .fetch_watermarks(&topic, p, Duration::from_secs(10))
                .expect("watermarks")
                .1
        })
    };

    let ends = highs(&consumer);
    assert_eq!(ends, [50, 30], "high watermarks");
    read_to_eof(&mut reader, &mut expected, ends);
    assert!(reader.drained());
    expected.check_positions(&consumer, &topic, "right after the first ends");
    expected.check_commit(&consumer, &topic, "right after the first ends");

    rt.block_on(produce(target, &topic, 80, 20, Some(0)));
    rt.block_on(produce(target, &topic, 100, 10, Some(1)));
    let ends = highs(&consumer);
    assert_eq!(ends, [70, 40], "high watermarks");
    read_to_eof(&mut reader, &mut expected, ends);
    expected.check_positions(&consumer, &topic, "right after the second ends");
    expected.check_commit(&consumer, &topic, "right after the second ends");
    drop(reader);
    consumer.close().expect("close");

    // What the commit means: the next consumer of the group starts at the
    // first message it has not seen.
    rt.block_on(produce(target, &topic, 110, 1, Some(0)));
    rt.block_on(produce(target, &topic, 111, 1, Some(1)));
    let next = Consumer::new(&config).expect("consumer");
    next.assign(&[(&topic, 0, Offset::Stored), (&topic, 1, Offset::Stored)])
        .expect("assign");
    let mut first: BTreeMap<i32, String> = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while first.len() < 2 {
        assert!(
            Instant::now() < deadline,
            "the next consumer read {first:?}"
        );
        match next.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => {
                first
                    .entry(m.partition())
                    .or_insert_with(|| format!("message at {}", m.offset()));
            }
            Some(Err(Error::PartitionEof {
                partition, offset, ..
            })) => {
                first
                    .entry(partition)
                    .or_insert_with(|| format!("end of partition at {offset}"));
            }
            Some(Err(e)) => panic!("consumer error: {e}"),
            None => {}
        }
    }
    for (p, want) in [(0, 70), (1, 40)] {
        let want = format!("message at {want}");
        if first[&p] != want {
            expected.problems.push(format!(
                "a new consumer of the group read partition {p} from the commit: first came the \
                 {}, not the {want}",
                first[&p]
            ));
        }
    }
    expected.assert_clean(&format!("end of partition through {}", api.name()));
}
