//! Every `raw` and `kafkit` variant against the embedded mock cluster, with
//! few records (correctness only: no timing is checked).

use std::time::Duration;

use kafkit::MockCluster;

use super::*;
use crate::compare::protocol::Compression;

const RECORDS: u64 = 5_000;
const PARTITIONS: i32 = 3;

fn cluster() -> MockCluster {
    let cluster = MockCluster::new(1).expect("mock cluster");
    // The group forms at once (the mock waits 3 s by default).
    cluster.set_group_initial_rebalance_delay(Duration::ZERO);
    cluster
}

fn workload(cluster: &MockCluster, kind: Kind, topic: &str) -> Workload {
    Workload {
        kind,
        bootstrap: cluster.bootstrap_servers(),
        topic: topic.into(),
        partitions: PARTITIONS,
        messages: RECORDS,
        size: 100,
        acks: -1,
        idempotence: false,
        compression: Compression::None,
        group: format!("{topic}-group"),
        rate: 0,
        tuned: true,
        linger_ms: 5,
        batch_size: 1_000_000,
        window: 10_000,
    }
}

fn new_topic(cluster: &MockCluster, name: &str) -> String {
    cluster
        .create_topic(name, PARTITIONS, 1)
        .expect("create topic");
    name.to_string()
}

#[test]
fn settings_follow_the_workload() {
    let cluster = cluster();
    let mut w = workload(&cluster, Kind::Produce, "t");
    let get = |s: &[(String, String)], k: &str| {
        s.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone())
    };
    let s = producer_settings(&w);
    assert_eq!(get(&s, "acks").as_deref(), Some("all"));
    assert_eq!(get(&s, "linger.ms").as_deref(), Some("5"));
    assert_eq!(get(&s, "batch.size").as_deref(), Some("1000000"));
    assert_eq!(
        get(&s, "queue.buffering.max.messages").as_deref(),
        Some("10000")
    );
    w.tuned = false;
    w.acks = 1;
    w.window = 500_000;
    w.compression = Compression::Zstd;
    let s = producer_settings(&w);
    assert_eq!(get(&s, "acks").as_deref(), Some("1"));
    assert_eq!(get(&s, "compression.type").as_deref(), Some("zstd"));
    assert_eq!(get(&s, "linger.ms"), None);
    assert_eq!(window(&w), 100_000);
    let c = consumer_settings(&w);
    assert_eq!(get(&c, "group.id").as_deref(), Some("t-group"));
    assert_eq!(get(&c, "auto.offset.reset").as_deref(), Some("earliest"));
}

#[test]
fn unknown_variants_are_errors() {
    let cluster = cluster();
    let w = workload(&cluster, Kind::Produce, "t");
    assert!(run("kafkit", "stream", &w).is_err());
    assert!(run("raw", "send", &w).is_err());
    assert!(variants("rdkafka", Kind::Produce).is_empty());
}

#[test]
fn every_producer_variant_delivers_every_record() {
    let cluster = cluster();
    for family in ["raw", "kafkit"] {
        for variant in variants(family, Kind::Produce) {
            let topic = new_topic(&cluster, &format!("produce-{family}-{variant}"));
            let w = workload(&cluster, Kind::Produce, &topic);
            let out =
                run(family, variant, &w).unwrap_or_else(|e| panic!("{family} {variant}: {e}"));
            assert_eq!(out.messages, RECORDS, "{family} {variant}: {out:?}");
            assert_eq!(out.bytes, RECORDS * 100, "{family} {variant}");
            assert_eq!(out.failed, 0, "{family} {variant}: {out:?}");
            assert!(out.seconds > 0.0, "{family} {variant}");
        }
    }
}

#[test]
fn every_consumer_variant_reads_every_record() {
    let cluster = cluster();
    let topic = new_topic(&cluster, "consume");
    let fill = workload(&cluster, Kind::Produce, &topic);
    let filled = run("kafkit", "send", &fill).expect("fill the topic");
    assert_eq!(filled.messages, RECORDS);
    for family in ["raw", "kafkit"] {
        for variant in variants(family, Kind::Consume) {
            let mut w = workload(&cluster, Kind::Consume, &topic);
            w.group = format!("consume-{family}-{variant}");
            let out =
                run(family, variant, &w).unwrap_or_else(|e| panic!("{family} {variant}: {e}"));
            assert_eq!(out.messages, RECORDS, "{family} {variant}: {out:?}");
            assert_eq!(out.bytes, RECORDS * 100, "{family} {variant}");
            assert_eq!(out.failed, 0, "{family} {variant}: {out:?}");
        }
    }
}

#[test]
fn every_latency_variant_measures_every_record() {
    let cluster = cluster();
    for family in ["raw", "kafkit"] {
        for variant in variants(family, Kind::Latency) {
            let topic = new_topic(&cluster, &format!("latency-{family}-{variant}"));
            let mut w = workload(&cluster, Kind::Latency, &topic);
            w.rate = 20_000;
            let out =
                run(family, variant, &w).unwrap_or_else(|e| panic!("{family} {variant}: {e}"));
            assert_eq!(out.messages, RECORDS, "{family} {variant}: {out:?}");
            assert_eq!(out.failed, 0, "{family} {variant}: {out:?}");
            let l = out
                .latency
                .unwrap_or_else(|| panic!("{family} {variant}: no latency"));
            assert!(
                l.p50_us <= l.p99_us && l.p99_us <= l.p999_us && l.p999_us <= l.max_us,
                "{family} {variant}: {l:?}"
            );
        }
    }
}

#[test]
fn compression_idempotence_and_defaults_are_accepted() {
    let cluster = cluster();
    let cases = [
        ("raw", "produce", Compression::Zstd, -1, true, true),
        ("kafkit", "send", Compression::Lz4, 1, false, true),
        ("kafkit", "blocking", Compression::None, -1, true, false),
    ];
    for (family, variant, compression, acks, idempotence, tuned) in cases {
        let topic = new_topic(&cluster, &format!("settings-{family}-{variant}"));
        let mut w = workload(&cluster, Kind::Produce, &topic);
        w.messages = 1_000;
        w.compression = compression;
        w.acks = acks;
        w.idempotence = idempotence;
        w.tuned = tuned;
        let out = run(family, variant, &w).unwrap_or_else(|e| panic!("{family} {variant}: {e}"));
        assert_eq!(out.messages, 1_000, "{family} {variant}: {out:?}");
        assert_eq!(out.failed, 0, "{family} {variant}: {out:?}");
    }
}
