//! kafkit's producers put each key on the partition Kafka's Java client
//! would (librdkafka's `murmur2_random`) unless `partitioner` is set; checked
//! on librdkafka's mock cluster against the Java client's hash, written out
//! below.

mod common;

use common::Target;
use kafkit::{ClientConfig, Producer, Record};

/// Partitions of the test topics.
const PARTITIONS: i32 = 6;

/// The 32-bit murmur2 hash as Kafka's Java client computes it
/// (`org.apache.kafka.common.utils.Utils.murmur2`): seed 0x9747b28c, the
/// input read as little-endian 32-bit words, the last 1 to 3 bytes mixed in
/// on their own.
fn java_murmur2(data: &[u8]) -> u32 {
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let mut h: u32 = 0x9747_b28c ^ data.len() as u32;
    let mut words = data.chunks_exact(4);
    for word in &mut words {
        let mut k = u32::from_le_bytes([word[0], word[1], word[2], word[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = words.remainder();
    if !tail.is_empty() {
        for (i, b) in tail.iter().enumerate() {
            h ^= u32::from(*b) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h
}

/// The partition the Java client's default partitioner picks for a key.
fn java_partition(key: &[u8], partitions: i32) -> i32 {
    ((java_murmur2(key) & 0x7fff_ffff) % partitions as u32) as i32
}

/// Keys of every length from 1 to a few dozen bytes (so every tail length
/// of the hash is used), some with multi-byte UTF-8.
fn keys() -> Vec<String> {
    const STEMS: [&str; 5] = ["user", "order-", "é", "漢字", "k"];
    (0..200)
        .map(|i| format!("{}{i}", STEMS[i % STEMS.len()].repeat(1 + i % 7)))
        .collect()
}

/// Sends one record per key to a new topic; returns (key, partition) as
/// delivered.
async fn deliver(target: &Target, config: &ClientConfig) -> Vec<(String, i32)> {
    let topic = target.topic("partitioner", PARTITIONS);
    let producer = Producer::new(config).expect("producer");
    let mut deliveries = Vec::new();
    for key in keys() {
        let record = Record::to(topic.as_str()).key(key.clone()).value("v");
        deliveries.push((key, producer.send(record).await.expect("enqueue")));
    }
    let mut out = Vec::new();
    for (key, delivery) in deliveries {
        let meta = delivery.await.expect("delivery");
        out.push((key, meta.partition));
    }
    out
}

#[test]
fn java_murmur2_matches_kafkas_own_test_vectors() {
    // The hashes Kafka's UtilsTest.testMurmur2 expects (as Java ints), so the
    // tests below compare against the Java client's hash and not a look-alike.
    let cases: [(&[u8], i32); 6] = [
        (b"21", -973_932_308),
        (b"foobar", -790_332_482),
        (b"a-little-bit-long-string", -985_981_536),
        (b"a-little-bit-longer-string", -1_486_304_829),
        (
            b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
            -58_897_971,
        ),
        (b"abc", 479_470_107),
    ];
    for (data, want) in cases {
        assert_eq!(
            java_murmur2(data) as i32,
            want,
            "{:?}",
            String::from_utf8_lossy(data)
        );
    }
}

#[tokio::test]
async fn keys_go_to_the_java_clients_partitions_by_default() {
    let target = Target::mock(1);
    let delivered = deliver(&target, &target.config()).await;
    let wrong: Vec<_> = delivered
        .iter()
        .filter(|(key, p)| *p != java_partition(key.as_bytes(), PARTITIONS))
        .collect();
    assert!(
        wrong.is_empty(),
        "{} of {} keys are not on the Java client's partition: {wrong:?}",
        wrong.len(),
        delivered.len()
    );
}

#[tokio::test]
async fn a_partitioner_set_by_the_user_is_used() {
    let target = Target::mock(1);
    let mut config = target.config();
    config
        .set("partitioner", "consistent_random")
        .expect("partitioner");
    let delivered = deliver(&target, &config).await;
    let differ = delivered
        .iter()
        .filter(|(key, p)| *p != java_partition(key.as_bytes(), PARTITIONS))
        .count();
    // CRC32 and murmur2 agree on about one key in six here.
    assert!(
        differ > delivered.len() / 2,
        "only {differ} of {} keys moved with consistent_random",
        delivered.len()
    );
}
