//! On the real broker started by scripts/kafka.sh: a key lands on the same
//! partition whether Kafka's Java console producer or kafkit produced it.
//!
//! The test runs when KAFKA_BOOTSTRAP_SERVERS is set (scripts/test.sh starts
//! a broker and sets it) and otherwise prints that it was not run.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::tool::kafka_sh;
use common::{read_back, runtime, Target};
use kafkit::{Producer, Record};

/// Partitions of each topic.
const PARTITIONS: i32 = 6;

/// Keyed records each producer writes.
const RECORDS: usize = 300;

/// Distinct keys of many lengths (so every tail length of the hash is
/// used), some with multi-byte UTF-8, none with a tab or a line break (the
/// console producer's separators).
fn keys() -> Vec<String> {
    const STEMS: [&str; 6] = ["user", "order-", "é", "漢字", "k", "🦀"];
    (0..RECORDS)
        .map(|i| format!("{}{i}", STEMS[i % STEMS.len()].repeat(1 + i % 5)))
        .collect()
}

/// Reads `topic` back and returns the partition of each key, checking that
/// every record carries the value `from`.
fn partitions_read_back(target: &Target, topic: &str, from: &str) -> BTreeMap<String, i32> {
    let messages = read_back(target, topic, PARTITIONS, RECORDS, Duration::from_secs(60));
    let mut out = BTreeMap::new();
    for m in &messages {
        let key = String::from_utf8_lossy(m.key().expect("a key")).into_owned();
        assert_eq!(
            m.value(),
            Some(from.as_bytes()),
            "{topic}: record with key {key:?}"
        );
        assert!(
            out.insert(key.clone(), m.partition()).is_none(),
            "{topic}: key {key:?} read twice"
        );
    }
    out
}

#[test]
fn broker_keys_land_on_the_same_partitions_as_the_java_producer() {
    let Some(target) =
        Target::broker("broker_keys_land_on_the_same_partitions_as_the_java_producer")
    else {
        return;
    };
    let started = Instant::now();
    let keys = keys();
    let java_topic = target.topic("partitioner-java", PARTITIONS);
    let kafkit_topic = target.topic("partitioner-kafkit", PARTITIONS);

    // The Java console producer, with its default partitioner. parse.key
    // splits each line at the first tab (the default key.separator).
    let input: String = keys.iter().map(|k| format!("{k}\tjava\n")).collect();
    let servers = target.bootstrap();
    let run = kafka_sh(
        &[
            "console-producer",
            "--bootstrap-server",
            &servers,
            "--topic",
            &java_topic,
            "--reader-property",
            "parse.key=true",
        ],
        Some(input.into_bytes()),
        Duration::from_secs(90),
    );
    // The console producer exits 0 even when it could not deliver, so what
    // counts is what can be read; its output helps when that fails.
    assert!(
        run.status.is_some(),
        "the console producer did not exit: {}",
        run.describe()
    );

    // kafkit, with its default configuration.
    let delivered: BTreeMap<String, i32> = runtime().block_on(async {
        let producer = Producer::new(&target.config()).expect("producer");
        let mut deliveries = Vec::with_capacity(keys.len());
        for key in &keys {
            let record = Record::to(kafkit_topic.as_str())
                .key(key.clone())
                .value("kafkit");
            deliveries.push((key.clone(), producer.send(record).await.expect("enqueue")));
        }
        let mut out = BTreeMap::new();
        for (key, delivery) in deliveries {
            let meta = match tokio::time::timeout(Duration::from_secs(40), delivery).await {
                Ok(Ok(meta)) => meta,
                Ok(Err(e)) => panic!("key {key:?}: {e}"),
                Err(_) => panic!("key {key:?} not delivered within 40 s"),
            };
            out.insert(key, meta.partition);
        }
        out
    });

    let java = partitions_read_back(&target, &java_topic, "java");
    let kafkit = partitions_read_back(&target, &kafkit_topic, "kafkit");
    assert_eq!(kafkit, delivered, "kafkit's delivery reports and read-back");

    let mut per_partition = [0usize; PARTITIONS as usize];
    let mut moved = Vec::new();
    for key in &keys {
        let (Some(j), Some(k)) = (java.get(key), kafkit.get(key)) else {
            panic!("key {key:?} missing: java {java:?}\nkafkit {kafkit:?}");
        };
        per_partition[*j as usize] += 1;
        if j != k {
            moved.push((key.as_str(), *j, *k));
        }
    }
    eprintln!(
        "{} of {RECORDS} keys on the same partition from both producers; \
         keys per partition {per_partition:?}; {:?}",
        RECORDS - moved.len(),
        started.elapsed()
    );
    assert!(
        per_partition.iter().all(|n| *n > 0),
        "the Java producer left a partition empty: {per_partition:?}\n{}",
        run.describe()
    );
    assert!(
        moved.is_empty(),
        "{} of {RECORDS} keys are on another partition than the Java producer put them \
         (key, java, kafkit): {:?}",
        moved.len(),
        &moved[..moved.len().min(20)]
    );
}
