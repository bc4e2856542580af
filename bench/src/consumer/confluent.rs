//! The `confluent` variant: the consumer of Confluent's pure-Rust client
//! (the `confluent-kafka` crate, a translation of the Java client), doing
//! the same per-message work as the other variants.
//!
//! It knows only the KIP-848 group protocol (`group.protocol=consumer`), and
//! it does not work against librdkafka's mock cluster, so the variant needs a
//! real broker. Its API is async: the reading loop awaits `poll` on a
//! current-thread tokio runtime (as `kafkit-stream` does), while the client
//! runs its network loop on a thread of its own, as librdkafka does on its
//! broker threads.
//!
//! Settings: the librdkafka settings that the Java client has under the same
//! name and meaning are passed on ([`SAME_NAME`]); the others have no
//! counterpart ([`UNMAPPED`]). [`SETTINGS`] then sets what the Java
//! client's defaults would make differ from librdkafka's, and the fetch
//! sizes; `--confluent-set` overrides any of it.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use confluent_kafka::common::serialization::BytesDeserializer;
use confluent_kafka::common::TopicPartition;
use confluent_kafka::consumer::{CloseOptions, Consumer, ConsumerConfig, KafkaConsumer};

use super::{settle, settled_note, Clock, Outcome, Run, Tally, Watchdog, POLL_WAIT};

/// The client's version: the one bench/Cargo.toml pins.
pub const VERSION: &str = "1.0.0";

/// The librdkafka settings of a run (`bootstrap.servers`, `group.id` and
/// the bench's own) that the Java client has with the same meaning.
const SAME_NAME: [&str; 4] = [
    "bootstrap.servers",
    "group.id",
    "auto.offset.reset",
    "enable.auto.commit",
];

/// The librdkafka settings of the bench that have no counterpart here, with
/// what the client does instead.
pub const UNMAPPED: [(&str, &str); 3] = [
    (
        "enable.partition.eof",
        "the client reports no end of partition, as with false",
    ),
    (
        "queued.min.messages",
        "no prefetch bound: a broker's partitions are fetched again once \
         the data of the previous fetch from it has been handed out",
    ),
    ("queued.max.messages.kbytes", "the same"),
];

/// Settings of this variant on top of the mapped ones. The fetch sizes
/// (`fetch.min.bytes`, `fetch.max.bytes`, `fetch.max.wait.ms`) are left at
/// the defaults, which are librdkafka's (1 B, 50 MiB, 500 ms).
pub const SETTINGS: [(&str, &str); 5] = [
    // The only group protocol the client has.
    ("group.protocol", "consumer"),
    // librdkafka's default; the Java client checks every batch's CRC32C by
    // default.
    ("check.crcs", "false"),
    // The system's socket buffer size, as librdkafka's
    // socket.receive.buffer.bytes=0; the Java default is 64 KiB.
    ("receive.buffer.bytes", "-1"),
    // librdkafka fetches at most 1 MiB per partition too
    // (fetch.message.max.bytes), but it sends the next fetch as soon as a
    // response is in, up to queued.min.messages; this client has one fetch
    // per broker outstanding or buffered at a time, so each fetch may bring
    // more (fetch.max.bytes, 50 MiB, still bounds a whole response).
    // Measured on one local broker, 3 partitions, fetch timing, median
    // msg/s: 1M x 100 B: 2.1M with 1 MiB, 2.8M with 4 MiB, 2.6-3.1M with
    // 16 MiB; 10k x 64 KiB: 45k with 1 MiB, 32k with 4 MiB, 15k with 16 MiB
    // (large responses cost it CPU). 4 MiB is near the best for small
    // messages; for large ones pass
    // --confluent-set max.partition.fetch.bytes=1048576.
    ("max.partition.fetch.bytes", "4194304"),
    // Set from --batch in `settings`; this value is a placeholder.
    ("max.poll.records", "1000"),
];

/// The variant's own settings: [`SETTINGS`] with `max.poll.records` set to
/// `batch` (the most records one `poll` returns, as `kafkit-batch` asks for
/// at most `batch`), then `overrides`.
pub fn settings(batch: usize, overrides: &[(String, String)]) -> Vec<(String, String)> {
    let mut settings: Vec<(String, String)> = SETTINGS
        .iter()
        .map(|(k, v)| {
            let v = if *k == "max.poll.records" {
                batch.to_string()
            } else {
                v.to_string()
            };
            (k.to_string(), v)
        })
        .collect();
    for (key, value) in overrides {
        match settings.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value.clone(),
            None => settings.push((key.clone(), value.clone())),
        }
    }
    settings
}

/// Runs the variant once: `consumer.poll(timeout).await`, each record of
/// each batch touched by reference.
pub fn run(run: &Run<'_>) -> Result<Outcome, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot build the tokio runtime: {e}"))?;
    rt.block_on(read(run))
}

async fn read(run: &Run<'_>) -> Result<Outcome, String> {
    let mut props: HashMap<String, String> = run
        .settings
        .iter()
        .filter(|(k, _)| SAME_NAME.contains(&k.as_str()))
        .cloned()
        .collect();
    props.extend(run.confluent.iter().cloned());
    let config = ConsumerConfig::new(&props).map_err(|e| format!("confluent: config: {e}"))?;
    let mut consumer =
        KafkaConsumer::new(config, BytesDeserializer::new(), BytesDeserializer::new())
            .map_err(|e| format!("confluent: cannot create the consumer: {e}"))?;
    let started = Instant::now();
    if run.subscribe {
        consumer
            .subscribe_with_topics(vec![run.topic.to_string()])
            .await
            .map_err(|e| format!("confluent: subscribe: {e}"))?;
    } else {
        let list: Vec<TopicPartition> = run
            .partitions
            .iter()
            .map(|&p| TopicPartition::new(run.topic, p))
            .collect();
        consumer
            .assign(list.clone())
            .await
            .map_err(|e| format!("confluent: assign: {e}"))?;
        consumer
            .seek_to_beginning(&list)
            .await
            .map_err(|e| format!("confluent: seek_to_beginning: {e}"))?;
    }
    // Nothing to stop from outside: the loops below check the flag whenever
    // a poll comes back empty or failed.
    let watchdog = Watchdog::start(|| {})?;
    let mut tally = Tally::new(&watchdog);
    let stalled = |tally: &Tally| {
        format!(
            "stalled after {} of {} messages (nothing for {:?})",
            tally.read,
            run.messages,
            super::STALL_LIMIT
        )
    };

    // The first batch. Its first record alone comes before the clock, as in
    // the other variants; the rest of it is read inside the timed part.
    let first = loop {
        match consumer.poll(POLL_WAIT).await {
            Ok(records) if !records.is_empty() => break records,
            Ok(_) => {}
            Err(e) => tally.error(|| e.to_string()),
        }
        if watchdog.stalled() {
            return Err(stalled(&tally));
        }
    };
    let first_after = started.elapsed();
    let mut records = (&first).into_iter();
    if let Some(r) = records.next() {
        tally.touch(r.value().map(|v| &v[..]), r.offset());
    }
    let settled = settle(run.timing)?;
    let before = tally.read;
    let clock = Clock::start();
    for r in records {
        tally.touch(r.value().map(|v| &v[..]), r.offset());
    }
    drop(first);
    while tally.read < run.messages {
        match consumer.poll(POLL_WAIT).await {
            Ok(batch) if !batch.is_empty() => {
                for r in &batch {
                    tally.touch(r.value().map(|v| &v[..]), r.offset());
                }
                continue;
            }
            Ok(_) => {}
            Err(e) => tally.error(|| e.to_string()),
        }
        if watchdog.stalled() {
            break;
        }
    }
    let (measured, reader_cpu) = clock.stop();
    if watchdog.stalled() {
        return Err(stalled(&tally));
    }
    drop(watchdog);
    let closed = consumer
        .close_with_options(CloseOptions::new_with_timeout(Duration::from_secs(10)))
        .await;
    let mut note = vec![
        settled_note(settled),
        format!(
            "first message {} ms after {} (untimed)",
            first_after.as_millis(),
            if run.subscribe {
                "subscribing"
            } else {
                "assigning"
            }
        ),
    ];
    if let Err(e) = closed {
        note.push(format!("close failed: {e}"));
    }
    Ok(Outcome {
        measured,
        reader_cpu,
        timed: tally.read - before,
        tally,
        note: note
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(", "),
    })
}
