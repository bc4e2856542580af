//! Typed records against the real broker: numbers and strings written by
//! kafkit's codecs read by Kafka's Java console consumer with Java's own
//! deserializers, and JSON values read back as the same struct.

mod common;

use std::time::Duration;

use common::tool::kafka_sh;
use common::{unique, Target};
use kafkit::{
    AdminClient, AdminOptions, Consumer, F64Codec, I32Codec, I64Codec, NewTopic, Offset, Producer,
    Record, StringCodec, TypedTopic,
};
use serde::{Deserialize, Serialize};

const DESERIALIZERS: &str = "org.apache.kafka.common.serialization.";

fn options() -> AdminOptions {
    AdminOptions::new()
        .request_timeout(Duration::from_secs(30))
        .operation_timeout(Duration::from_secs(20))
}

/// Creates one single-partition topic per prefix, with unique names.
async fn create_topics(admin: &AdminClient, prefixes: &[&str]) -> Vec<String> {
    let names: Vec<String> = prefixes.iter().map(|p| unique(p)).collect();
    let new: Vec<NewTopic> = names.iter().map(|n| NewTopic::new(n, 1, 1)).collect();
    let created = admin
        .create_topics(&new, &options())
        .await
        .expect("create topics");
    assert!(created.iter().all(|t| t.is_ok()), "{created:?}");
    names
}

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

/// The `key|value` lines Java's console consumer prints for `topic`, read
/// with these deserializers (`IntegerDeserializer`, ...).
fn java_reads(topic: &str, n: usize, key: &str, value: &str) -> Vec<String> {
    let n_text = n.to_string();
    let key = format!("{DESERIALIZERS}{key}");
    let value = format!("{DESERIALIZERS}{value}");
    let run = kafka_sh(
        &[
            "console-consumer",
            "--bootstrap-server",
            "127.0.0.1:9092",
            "--topic",
            topic,
            "--from-beginning",
            "--max-messages",
            &n_text,
            "--timeout-ms",
            "20000",
            "--key-deserializer",
            &key,
            "--value-deserializer",
            &value,
            "--formatter-property",
            "print.key=true",
            "--formatter-property",
            "key.separator=|",
        ],
        None,
        Duration::from_secs(90),
    );
    assert!(run.ok(), "console consumer on {topic}: {}", run.describe());
    run.stdout_text().lines().map(str::to_string).collect()
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Order {
    id: u64,
    customer: String,
    total: f64,
    lines: Vec<(String, u32)>,
    note: Option<String>,
}

#[tokio::test]
async fn broker_typed_numbers_and_strings_read_by_javas_deserializers() {
    let Some(target) = Target::broker("broker_typed_numbers_and_strings") else {
        return;
    };
    let admin = AdminClient::new(&target.config()).unwrap();
    let names = create_topics(
        &admin,
        &[
            "typed-ints",
            "typed-longs",
            "typed-doubles",
            "typed-strings",
        ],
    )
    .await;
    let producer = Producer::new(&target.config()).unwrap();

    // Each topic's keys through another codec, read with its deserializer.
    let ints = TypedTopic::new(&names[0], I64Codec, I32Codec);
    let longs = TypedTopic::new(&names[1], I32Codec, I64Codec);
    let doubles = TypedTopic::new(&names[2], StringCodec, F64Codec);
    let strings = TypedTopic::new(&names[3], F64Codec, StringCodec);
    let mut records = Vec::new();
    for (k, v) in [
        (1_i64, 0_i32),
        (-1, 42),
        (i64::MAX, i32::MIN),
        (7, i32::MAX),
    ] {
        records.push(ints.record(k, v).unwrap());
    }
    for (k, v) in [(0, 1_i64 << 40), (-5, i64::MIN), (i32::MAX, -1)] {
        records.push(longs.record(k, v).unwrap());
    }
    for (k, v) in [
        ("a", 1.5),
        ("b", -0.0),
        ("c", 0.1),
        ("d", 1e10),
        ("e", f64::NAN),
        ("f", f64::NEG_INFINITY),
    ] {
        records.push(doubles.record(k, v).unwrap());
    }
    for (k, v) in [(2.5, "plain"), (-1.0, "héllo wörld ✓"), (1e-7, "")] {
        records.push(strings.record(k, v.to_string()).unwrap());
    }
    send_all(&producer, records).await;

    // What Java's toString prints for the same values.
    assert_eq!(
        java_reads(&names[0], 4, "LongDeserializer", "IntegerDeserializer"),
        [
            "1|0",
            "-1|42",
            "9223372036854775807|-2147483648",
            "7|2147483647"
        ]
    );
    assert_eq!(
        java_reads(&names[1], 3, "IntegerDeserializer", "LongDeserializer"),
        [
            "0|1099511627776",
            "-5|-9223372036854775808",
            "2147483647|-1"
        ]
    );
    assert_eq!(
        java_reads(&names[2], 6, "StringDeserializer", "DoubleDeserializer"),
        [
            "a|1.5",
            "b|-0.0",
            "c|0.1",
            "d|1.0E10",
            "e|NaN",
            "f|-Infinity"
        ]
    );
    assert_eq!(
        java_reads(&names[3], 3, "DoubleDeserializer", "StringDeserializer"),
        ["2.5|plain", "-1.0|héllo wörld ✓", "1.0E-7|"]
    );

    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let deleted = admin.delete_topics(&names, &options()).await.unwrap();
    assert!(deleted.iter().all(|t| t.is_ok()), "{deleted:?}");
}

#[tokio::test]
async fn broker_typed_json_values_read_back_as_the_same_struct() {
    let Some(target) = Target::broker("broker_typed_json_values") else {
        return;
    };
    let admin = AdminClient::new(&target.config()).unwrap();
    let names = create_topics(&admin, &["typed-json"]).await;
    let orders = TypedTopic::json::<Order>(&names[0]).key::<StringCodec>();
    let producer = Producer::new(&target.config()).unwrap();
    let sent: Vec<Order> = (0..20)
        .map(|i| Order {
            id: i,
            customer: format!("customer-{i} «ü»"),
            total: i as f64 * 1.25,
            lines: (0..i % 4)
                .map(|l| (format!("item-{l}"), l as u32))
                .collect(),
            note: (i % 3 == 0).then(|| "fragile \"glass\"\n".to_string()),
        })
        .collect();
    let records = sent
        .iter()
        .map(|o| orders.record(o.customer.clone(), o).unwrap())
        .collect();
    send_all(&producer, records).await;

    let mut config = target.config();
    config
        .group_id(&unique("typed-json-reader"))
        .and_then(|c| c.enable_auto_commit(false))
        .unwrap();
    let consumer = Consumer::new(&config).unwrap();
    consumer
        .assign(&[(names[0].as_str(), 0, Offset::Beginning)])
        .unwrap();
    let got: Vec<(String, Order)> = orders
        .iter(consumer.iter().idle_timeout(Duration::from_secs(20)))
        .take(sent.len())
        .map(|item| {
            let message = item.expect("consume").expect("decode");
            (message.key, message.value)
        })
        .collect();
    let want: Vec<(String, Order)> = sent
        .iter()
        .map(|o| (o.customer.clone(), o.clone()))
        .collect();
    assert_eq!(got, want);
    drop(consumer);

    let deleted = admin
        .delete_topics(&[names[0].as_str()], &options())
        .await
        .unwrap();
    assert!(deleted.iter().all(|t| t.is_ok()), "{deleted:?}");
}
