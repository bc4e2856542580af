//! Partition streams: one stream per assigned partition, made in the
//! rebalance listener. Run on the mock cluster
//! (tests/partition_stream_mock.rs) and on a real broker
//! (tests/partition_stream_broker.rs).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use kafkit::{
    ClientConfig, Consumer, Message, Offset, OffsetReset, PartitionStream, RebalanceListener,
    TopicPartition,
};

use super::consumer_scenarios::{group_config, produce};
use super::{unique, Target};

/// What every reader saw: (reader, partition, offset, value), in the order
/// each reader got them.
type Seen = Arc<Mutex<Vec<(String, i32, i64, usize)>>>;

fn value(m: &Message) -> usize {
    m.value_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("unexpected value in {m:?}"))
}

/// Makes a partition stream for every assigned partition and hands it
/// over; records revocations.
struct Splitter {
    streams: Mutex<mpsc::Sender<PartitionStream>>,
    revoked: Arc<Mutex<Vec<TopicPartition>>>,
}

impl RebalanceListener for Splitter {
    fn on_assigned(&mut self, consumer: &Consumer, partitions: &[TopicPartition]) {
        for tp in partitions {
            let stream = consumer
                .partition_stream(&tp.topic, tp.partition)
                .expect("a partition stream for an assigned partition");
            let _ = self.streams.lock().unwrap().send(stream);
        }
    }

    fn on_revoked(&mut self, _consumer: &Consumer, partitions: &[TopicPartition]) {
        self.revoked.lock().unwrap().extend_from_slice(partitions);
    }

    fn on_lost(&mut self, consumer: &Consumer, partitions: &[TopicPartition]) {
        self.on_revoked(consumer, partitions);
    }
}

/// Reads `stream` until it ends, recording what it got; marks the
/// partition's stream (by its number among the streams) as ended.
async fn drain(
    mut stream: PartitionStream,
    id: String,
    seen: Seen,
    ended: Arc<Mutex<Vec<String>>>,
) {
    while let Some(item) = stream.next().await {
        let m = item.expect("no consumer error on a partition stream");
        assert_eq!(
            m.partition(),
            stream.partition(),
            "{id}: another partition's message"
        );
        seen.lock()
            .unwrap()
            .push((id.clone(), m.partition(), m.offset(), value(&m)));
    }
    ended.lock().unwrap().push(id);
}

fn wait_for(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Checks that each reader got each partition in increasing offsets, and
/// returns the values seen per partition (with repeats).
fn per_partition(seen: &[(String, i32, i64, usize)]) -> BTreeMap<i32, Vec<usize>> {
    let mut last: BTreeMap<(String, i32), i64> = BTreeMap::new();
    let mut values: BTreeMap<i32, Vec<usize>> = BTreeMap::new();
    for (reader, p, o, v) in seen {
        if let Some(prev) = last.insert((reader.clone(), *p), *o) {
            assert!(
                prev < *o,
                "{reader}: partition {p} went from offset {prev} to {o}"
            );
        }
        values.entry(*p).or_default().push(*v);
    }
    values
}

/// Six partitions read by six partition streams at once on a multi-thread
/// runtime, each in offset order, every message once; then a second member
/// joins and the partitions taken from the first end their streams, while
/// the others go on. `protocol`: the group protocol (`None`: classic with
/// cooperative-sticky).
pub async fn six_streams_and_a_revocation(target: &Target, protocol: Option<&str>) {
    let partitions = 6;
    let per = 500;
    let topic = target.topic("partition-streams", partitions);
    for p in 0..partitions {
        produce(target, &topic, p as usize * per, per, Some(p)).await;
    }
    let group = unique("partition-streams");
    let config = |target: &Target| -> ClientConfig {
        let mut c = group_config(target, &group);
        match protocol {
            // The session and heartbeat settle on the broker side.
            Some(p) => {
                c = target.config();
                c.group_id(&group)
                    .and_then(|c| c.auto_offset_reset(OffsetReset::Earliest))
                    .and_then(|c| c.set("group.protocol", p))
                    .map(|_| ())
            }
            None => c
                .set("partition.assignment.strategy", "cooperative-sticky")
                .map(|_| ()),
        }
        .expect("protocol");
        c
    };

    let (tx, rx) = mpsc::channel();
    let revoked = Arc::new(Mutex::new(Vec::new()));
    let a = Consumer::builder(&config(target))
        .rebalance_listener(Splitter {
            streams: Mutex::new(tx),
            revoked: revoked.clone(),
        })
        .build()
        .expect("consumer A");
    a.subscribe(&[&topic]).expect("subscribe");

    let seen: Seen = Arc::default();
    let ended: Arc<Mutex<Vec<String>>> = Arc::default();
    // The main stream serves the group's rebalances; every partition is
    // split off as it is assigned, so it hands out no message.
    let main_seen: Seen = Arc::default();
    let main = {
        let mut stream = a.stream();
        let main_seen = main_seen.clone();
        tokio::spawn(async move {
            while let Some(item) = stream.next().await {
                let m = item.expect("no consumer error on the main stream");
                main_seen.lock().unwrap().push((
                    "main".into(),
                    m.partition(),
                    m.offset(),
                    value(&m),
                ));
            }
        })
    };
    // Hands each new partition stream to a task of its own.
    let streams_by_partition: Arc<Mutex<BTreeMap<String, i32>>> = Arc::default();
    let spawner = {
        let (seen, ended, ids) = (seen.clone(), ended.clone(), streams_by_partition.clone());
        let runtime = tokio::runtime::Handle::current();
        std::thread::spawn(move || {
            let mut tasks = Vec::new();
            for (n, stream) in rx.into_iter().enumerate() {
                let id = format!("stream{n}-p{}", stream.partition());
                ids.lock().unwrap().insert(id.clone(), stream.partition());
                tasks.push(runtime.spawn(drain(stream, id, seen.clone(), ended.clone())));
            }
            tasks
        })
    };

    let total = partitions as usize * per;
    wait_for(
        "the six streams to read everything",
        Duration::from_secs(60),
        || seen.lock().unwrap().len() >= total,
    );
    {
        let seen = seen.lock().unwrap();
        let values = per_partition(&seen);
        for p in 0..partitions {
            let got = values.get(&p).cloned().unwrap_or_default();
            let want: Vec<usize> = (p as usize * per..(p as usize + 1) * per).collect();
            assert_eq!(got, want, "partition {p}: every message once, in order");
        }
        let readers: BTreeSet<&String> = seen.iter().map(|(r, ..)| r).collect();
        assert_eq!(
            readers.len(),
            partitions as usize,
            "one stream per partition"
        );
    }
    assert!(
        main_seen.lock().unwrap().is_empty(),
        "the main stream handed out messages of split partitions"
    );

    // A second member: some partitions move to it.
    let b_seen: Seen = Arc::default();
    let b = Consumer::new(&config(target)).expect("consumer B");
    b.subscribe(&[&topic]).expect("subscribe B");
    let b_task = {
        let mut stream = b.stream();
        let b_seen = b_seen.clone();
        tokio::spawn(async move {
            while let Some(item) = stream.next().await {
                let m = item.expect("no consumer error on B");
                b_seen
                    .lock()
                    .unwrap()
                    .push(("b".into(), m.partition(), m.offset(), value(&m)));
            }
        })
    };
    wait_for("B to get partitions", Duration::from_secs(60), || {
        b.assignment().map(|a| !a.is_empty()).unwrap_or(false)
    });
    let taken: BTreeSet<i32> = b
        .assignment()
        .expect("assignment")
        .iter()
        .map(|tp| tp.partition)
        .collect();
    wait_for(
        "A's revoked streams to end",
        Duration::from_secs(30),
        || {
            let ended = ended.lock().unwrap();
            let ids = streams_by_partition.lock().unwrap();
            taken
                .iter()
                .all(|p| ids.iter().any(|(id, q)| q == p && ended.contains(id)))
        },
    );
    let revoked_partitions: BTreeSet<i32> = revoked
        .lock()
        .unwrap()
        .iter()
        .map(|tp| tp.partition)
        .collect();
    assert!(
        taken.is_subset(&revoked_partitions),
        "A was told of the revocation of {taken:?} (got {revoked_partitions:?})"
    );

    // New messages on every partition: A's remaining streams and B share them.
    produce(target, &topic, total, partitions as usize * 100, None).await;
    let want_new: BTreeSet<usize> = (total..total + partitions as usize * 100).collect();
    wait_for("the new messages", Duration::from_secs(60), || {
        let all: BTreeSet<usize> = seen
            .lock()
            .unwrap()
            .iter()
            .chain(b_seen.lock().unwrap().iter())
            .chain(main_seen.lock().unwrap().iter())
            .map(|(.., v)| *v)
            .filter(|v| *v >= total)
            .collect();
        all == want_new
    });
    let mut everything = seen.lock().unwrap().clone();
    everything.extend(b_seen.lock().unwrap().iter().cloned());
    everything.extend(main_seen.lock().unwrap().iter().cloned());
    let values = per_partition(&everything);
    let repeats: usize = values
        .values()
        .map(|v| v.len() - v.iter().collect::<BTreeSet<_>>().len())
        .sum();
    // Produced after the revocation: A must not have read any of them.
    let after_revocation = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, p, _, v)| taken.contains(p) && *v >= total)
        .count();
    println!(
        "moved to B: {taken:?}; repeated messages (at-least-once window): {repeats}; \
         new messages of moved partitions read by A: {after_revocation}"
    );
    assert_eq!(
        after_revocation, 0,
        "A read a moved partition after its revocation"
    );

    drop(b);
    drop(a);
    let _ = tokio::time::timeout(Duration::from_secs(20), b_task).await;
    let _ = tokio::time::timeout(Duration::from_secs(20), main).await;
    drop(spawner);
}

/// A partition stream made after the consumer read part of the partition
/// starts after the last message handed out; dropped, it hands the
/// partition back to the consumer's reads, from after its own last one.
pub async fn split_off_and_hand_back(target: &Target) {
    let topic = target.topic("partition-handback", 1);
    produce(target, &topic, 0, 100, Some(0)).await;
    let consumer = Consumer::new(&group_config(target, &unique("handback"))).expect("consumer");
    consumer
        .assign(&[(&topic, 0, Offset::Beginning)])
        .expect("assign");

    let mut offsets = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while offsets.len() < 10 {
        assert!(Instant::now() < deadline, "timed out reading the first ten");
        if let Some(item) = consumer.poll(Duration::from_millis(200)) {
            offsets.push(item.expect("message").offset());
        }
    }
    // librdkafka has fetched far more than ten into the read buffer by now.
    let mut stream = consumer.partition_stream(&topic, 0).expect("split");
    assert!(
        consumer.partition_stream(&topic, 0).is_err(),
        "a second stream for the same partition"
    );
    while offsets.len() < 30 {
        let item = tokio::time::timeout(Duration::from_secs(30), stream.next())
            .await
            .expect("the partition stream stalled")
            .expect("the partition stream ended");
        offsets.push(item.expect("message").offset());
    }
    drop(stream);
    let deadline = Instant::now() + Duration::from_secs(30);
    while offsets.len() < 100 {
        assert!(Instant::now() < deadline, "timed out reading the rest");
        if let Some(item) = consumer.poll(Duration::from_millis(200)) {
            offsets.push(item.expect("message").offset());
        }
    }
    let want: Vec<i64> = (0..100).collect();
    assert_eq!(
        offsets, want,
        "every message once, in order, across the hand-overs"
    );
    assert!(
        consumer.partition_stream(&topic, 7).is_err(),
        "a stream for a partition that is not assigned"
    );
}
