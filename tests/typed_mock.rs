//! Typed records on librdkafka's mock cluster: codecs round trip, encoding
//! fails before sending, decoding failures hand the message back and go to
//! a dead-letter topic.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::{read_back, unique, Target};
use futures::StreamExt;
use kafkit::{
    BytesCodec, Consumer, DeadLetter, Error, F64Codec, I32Codec, I64Codec, NoKey, Nullable, Offset,
    Producer, Record, StringCodec, TypedItem, TypedStream, TypedTopic, DLQ_ERROR_HEADER,
    DLQ_OFFSET_HEADER, DLQ_PARTITION_HEADER, DLQ_TOPIC_HEADER,
};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct User {
    name: String,
    age: u32,
    tags: Vec<String>,
}

/// A consumer reading partition 0 of `topic` from the beginning.
fn reader(target: &Target, topic: &str) -> Consumer {
    let mut config = target.config();
    config
        .group_id(&unique("typed-reader"))
        .and_then(|c| c.enable_auto_commit(false))
        .expect("consumer config");
    let consumer = Consumer::new(&config).expect("consumer");
    consumer
        .assign(&[(topic, 0, Offset::Beginning)])
        .expect("assign");
    consumer
}

/// Sends `records` and waits for their delivery.
async fn send_all(producer: &Producer, records: Vec<Record>) {
    for record in records {
        producer
            .send(record)
            .await
            .expect("send")
            .await
            .expect("delivery");
    }
}

/// Reads `n` typed messages of `topic` through the blocking typed iterator,
/// as (key, value) pairs; any error fails the test.
fn read_typed<K: 'static, V: 'static>(
    target: &Target,
    topic: &TypedTopic<K, V>,
    n: usize,
) -> Vec<(K, V)> {
    let consumer = reader(target, &topic.topic());
    let out: Vec<(K, V)> = topic
        .iter(consumer.iter().idle_timeout(Duration::from_secs(10)))
        .take(n)
        .map(|item| {
            let message = item.expect("consume").expect("decode");
            let (key, value, _) = message.into_parts();
            (key, value)
        })
        .collect();
    assert_eq!(out.len(), n, "read {} of {n} typed messages", out.len());
    out
}

#[tokio::test]
async fn every_codec_round_trips_through_the_mock_cluster() {
    let target = Target::mock(1);
    let producer = Producer::new(&target.config()).unwrap();

    // i32 keys, UTF-8 values.
    let t = target.topic("typed-i32-str", 1);
    let ints = TypedTopic::new(&t, I32Codec, StringCodec);
    let sent = [(0, "zero"), (-1, "minus one"), (i32::MAX, "héllo wörld ✓")];
    let records = sent
        .iter()
        .map(|(k, v)| ints.record(*k, v.to_string()).unwrap())
        .collect();
    send_all(&producer, records).await;
    let got = read_typed(&target, &ints, sent.len());
    let want: Vec<(i32, String)> = sent.iter().map(|(k, v)| (*k, v.to_string())).collect();
    assert_eq!(got, want);
    // The bytes on the wire are Java's IntegerSerializer's.
    let raw = read_back(&target, &t, 1, sent.len(), Duration::from_secs(10));
    assert_eq!(raw[1].key(), Some(&[0xff, 0xff, 0xff, 0xff][..]));
    assert_eq!(raw[2].key(), Some(&[0x7f, 0xff, 0xff, 0xff][..]));

    // i64 keys, f64 values (NaN compared by its bits).
    let t = target.topic("typed-i64-f64", 1);
    let longs = TypedTopic::new(&t, I64Codec, F64Codec);
    let sent = [
        (1_i64 << 40, 1.5_f64),
        (i64::MIN, -0.0),
        (7, f64::NAN),
        (8, f64::INFINITY),
    ];
    let records = sent
        .iter()
        .map(|(k, v)| longs.record(*k, v).unwrap())
        .collect();
    send_all(&producer, records).await;
    let got = read_typed(&target, &longs, sent.len());
    for ((k, v), (gk, gv)) in sent.iter().zip(&got) {
        assert_eq!(k, gk);
        assert_eq!(v.to_bits(), gv.to_bits(), "{v} came back as {gv}");
    }
    let raw = read_back(&target, &t, 1, sent.len(), Duration::from_secs(10));
    assert_eq!(raw[0].key(), Some(&[0, 0, 1, 0, 0, 0, 0, 0][..]));
    assert_eq!(raw[0].value(), Some(&[0x3f, 0xf8, 0, 0, 0, 0, 0, 0][..]));
    assert_eq!(raw[2].value(), Some(&[0x7f, 0xf8, 0, 0, 0, 0, 0, 0][..]));

    // No key, JSON values.
    let t = target.topic("typed-json", 1);
    let users = TypedTopic::json::<User>(&t);
    let alice = User {
        name: "Alice".into(),
        age: 30,
        tags: vec!["admin".into()],
    };
    send_all(&producer, vec![users.record((), &alice).unwrap()]).await;
    assert_eq!(read_typed(&target, &users, 1), vec![((), alice.clone())]);
    let raw = read_back(&target, &t, 1, 1, Duration::from_secs(10));
    assert_eq!(raw[0].key(), None, "NoKey sends no key");
    assert_eq!(
        raw[0].value(),
        Some(&br#"{"name":"Alice","age":30,"tags":["admin"]}"#[..])
    );

    // String keys and JSON values, as in the docs; raw bytes; tombstones.
    let t = target.topic("typed-mixed", 1);
    let keyed = TypedTopic::json::<User>(&t).key::<StringCodec>();
    let bytes = TypedTopic::new(&t, BytesCodec, Nullable(BytesCodec));
    send_all(
        &producer,
        vec![
            keyed.record("alice", &alice).unwrap(),
            bytes.record(vec![0, 0xff], Some(vec![1, 2, 3])).unwrap(),
            bytes.record(vec![9], None).unwrap(),
        ],
    )
    .await;
    let consumer = reader(&target, &t);
    let mut iter = consumer.iter().idle_timeout(Duration::from_secs(10));
    let first = keyed.decode(iter.next().unwrap().unwrap()).unwrap();
    assert_eq!((first.key.as_str(), &first.value), ("alice", &alice));
    let second = bytes.decode(iter.next().unwrap().unwrap()).unwrap();
    assert_eq!(
        (second.key, second.value),
        (vec![0, 0xff], Some(vec![1, 2, 3]))
    );
    let third = iter.next().unwrap().unwrap();
    assert_eq!(third.value(), None, "a tombstone");
    let third = bytes.decode(third).unwrap();
    assert_eq!((third.key, third.value), (vec![9], None));
}

#[tokio::test]
async fn a_record_that_cannot_be_encoded_fails_before_anything_is_sent() {
    let target = Target::mock(1);
    let producer = Producer::new(&target.config()).unwrap();
    let t = target.topic("typed-unencodable", 1);
    // JSON has no form for a map whose keys are not strings.
    let maps = TypedTopic::json::<HashMap<Vec<u8>, u32>>(&t).key::<StringCodec>();
    let bad: HashMap<Vec<u8>, u32> = [(vec![1, 2], 3)].into();
    let err = maps.record("k", &bad).unwrap_err();
    match &err {
        Error::Codec {
            what,
            topic,
            partition,
            offset,
            reason,
        } => {
            assert_eq!(*what, "encoding the value");
            assert_eq!(topic, &t);
            assert_eq!((*partition, *offset), (None, None));
            assert!(reason.contains("key must be a string"), "{reason}");
        }
        other => panic!("expected a codec error, got {other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("encoding the value failed for topic {t}: JSON: ")),
        "{text}"
    );
    assert_eq!(producer.in_flight(), 0);

    // Only the good record reaches the topic, at offset 0.
    let good: HashMap<Vec<u8>, u32> = HashMap::new();
    send_all(&producer, vec![maps.record("k", &good).unwrap()]).await;
    let raw = read_back(&target, &t, 1, 1, Duration::from_secs(10));
    assert_eq!((raw[0].offset(), raw[0].value()), (0, Some(&b"{}"[..])));
}

/// The next item of a typed stream, within 10 s.
async fn next<K: 'static, V: 'static>(s: &mut TypedStream<K, V>) -> TypedItem<K, V> {
    tokio::time::timeout(Duration::from_secs(10), s.next())
        .await
        .expect("a message in time")
        .expect("stream open")
}

#[tokio::test]
async fn undecodable_messages_come_back_whole_and_go_to_the_dead_letter_topic() {
    let target = Target::mock(1);
    let producer = Producer::new(&target.config()).unwrap();
    let t = target.topic("typed-undecodable", 1);
    let dlq = target.topic("typed-undecodable-dlq", 1);
    let users = TypedTopic::json::<User>(&t).key::<StringCodec>();
    let bob = User {
        name: "Bob".into(),
        age: 41,
        tags: vec![],
    };
    send_all(
        &producer,
        vec![
            Record::to(&t)
                .key("mallory")
                .value("not json")
                .header("trace", "abc"),
            users.record("bob", &bob).unwrap(),
            // A key that is not UTF-8.
            Record::to(&t).key(vec![0xff]).value(r#"{"name":"x"}"#),
        ],
    )
    .await;

    let consumer = reader(&target, &t);
    let mut stream = users.stream(consumer.stream());

    let failed = next(&mut stream).await.unwrap().unwrap_err();
    let m = failed.message();
    assert_eq!((m.topic(), m.partition(), m.offset()), (t.as_str(), 0, 0));
    assert_eq!(m.value(), Some(&b"not json"[..]));
    match failed.error() {
        Error::Codec {
            what,
            topic,
            partition,
            offset,
            ..
        } => {
            assert_eq!(*what, "decoding the value");
            assert_eq!((topic, *partition, *offset), (&t, Some(0), Some(0)));
        }
        other => panic!("expected a codec error, got {other:?}"),
    }
    let reason = failed.to_string();
    assert!(
        reason.starts_with(&format!(
            "decoding the value failed for topic {t} partition 0 offset 0: JSON: "
        )),
        "{reason}"
    );

    let dead_letters = DeadLetter::new(producer.clone(), &dlq);
    let meta = dead_letters.forward(&failed).await.unwrap();
    assert_eq!((meta.topic.as_str(), meta.offset), (dlq.as_str(), 0));

    let good = next(&mut stream).await.unwrap().unwrap();
    assert_eq!((good.key.as_str(), &good.value), ("bob", &bob));
    assert_eq!(good.message().offset(), 1);

    let bad_key = next(&mut stream).await.unwrap().unwrap_err();
    assert!(
        bad_key.to_string().starts_with(&format!(
            "decoding the key failed for topic {t} partition 0 offset 2: not UTF-8"
        )),
        "{bad_key}"
    );
    assert_eq!(bad_key.into_message().key(), Some(&[0xff][..]));

    // The dead letter: the same key, value and headers, and the four more.
    let letters = read_back(&target, &dlq, 1, 1, Duration::from_secs(10));
    let letter = &letters[0];
    assert_eq!(letter.key(), Some(&b"mallory"[..]));
    assert_eq!(letter.value(), Some(&b"not json"[..]));
    assert_eq!(letter.header("trace"), Some(&b"abc"[..]));
    assert_eq!(letter.header(DLQ_TOPIC_HEADER), Some(t.as_bytes()));
    assert_eq!(letter.header(DLQ_PARTITION_HEADER), Some(&b"0"[..]));
    assert_eq!(letter.header(DLQ_OFFSET_HEADER), Some(&b"0"[..]));
    assert_eq!(letter.header(DLQ_ERROR_HEADER), Some(reason.as_bytes()));
    let names: Vec<String> = letter.headers().map(|(n, _)| n.into_owned()).collect();
    assert_eq!(
        names,
        [
            "trace",
            DLQ_ERROR_HEADER,
            DLQ_TOPIC_HEADER,
            DLQ_PARTITION_HEADER,
            DLQ_OFFSET_HEADER
        ]
    );
}

#[tokio::test]
async fn numbers_of_the_wrong_length_are_decode_errors() {
    let target = Target::mock(1);
    let producer = Producer::new(&target.config()).unwrap();
    let t = target.topic("typed-lengths", 1);
    send_all(
        &producer,
        vec![
            Record::to(&t).value(vec![0, 0, 1]),
            Record::to(&t),
            Record::to(&t).value(vec![0, 0, 0, 5]),
        ],
    )
    .await;
    let numbers = TypedTopic::new(&t, NoKey, I32Codec);
    let consumer = reader(&target, &t);
    let items: Vec<_> = numbers
        .iter(consumer.iter().idle_timeout(Duration::from_secs(10)))
        .take(3)
        .map(|item| item.expect("consume"))
        .collect();
    let reasons: Vec<String> = items
        .iter()
        .map(|i| match i {
            Ok(m) => format!("ok {}", m.value),
            Err(e) => e.to_string(),
        })
        .collect();
    assert_eq!(
        reasons,
        [
            format!(
                "decoding the value failed for topic {t} partition 0 offset 0: 3 bytes where \
                 Integer (Java's IntegerDeserializer) takes exactly 4"
            ),
            format!(
                "decoding the value failed for topic {t} partition 0 offset 1: there are no \
                 bytes (an absent key or a tombstone value)"
            ),
            "ok 5".to_string(),
        ]
    );
}
