//! Interoperability with Apache Kafka's own Java clients on the real broker
//! started by scripts/kafka.sh: what kafkit produces (with every compression
//! codec) is read back byte for byte by the Java console consumer, and what
//! the Java console producer writes is read back by kafkit.
//!
//! The tests run when KAFKA_BOOTSTRAP_SERVERS is set (scripts/test.sh starts
//! a broker and sets it) and otherwise print that they were not run.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::tool::kafka_sh;
use common::{read_back, Target};
use kafkit::{Compression, Producer, Record};

/// Records per codec test.
const RECORDS: usize = 50;

/// A small deterministic generator, so that every record differs and a
/// failure can be reproduced.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Multi-byte UTF-8 characters mixed into the text (none of them is a
/// separator the console tools use).
const WIDE: [&str; 8] = ["é", "ß", "Ж", "漢", "字", "€", "🚀", "🦀"];

/// Repeated runs mixed into the text.
const RUNS: [&str; 5] = [
    "abcabcabc",
    "0000000000",
    "<kafka>",
    "{\"k\":[1,2]}",
    "\\\"'`",
];

/// Printable text without tabs, line breaks or `except`: every printable
/// ASCII character, multi-byte UTF-8, and repeated runs (so compression has
/// something to do).
fn text(rng: &mut Lcg, len: usize, except: &[char]) -> String {
    let mut s = String::with_capacity(len + 8);
    while s.chars().count() < len {
        match rng.below(10) {
            0 => s.push_str(WIDE[rng.below(WIDE.len())]),
            1 => {
                let run = RUNS[rng.below(RUNS.len())];
                if !run.contains(except) {
                    s.push_str(run);
                }
            }
            _ => {
                let c = (0x20u8 + rng.below(0x7f - 0x20) as u8) as char;
                if !except.contains(&c) {
                    s.push(c);
                }
            }
        }
    }
    s
}

/// Like [`text`], 1 to `max` characters long.
fn short(rng: &mut Lcg, max: usize, except: &[char]) -> String {
    let len = 1 + rng.below(max);
    text(rng, len, except)
}

/// One record as sent and as expected back.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Expected {
    key: Vec<u8>,
    value: Vec<u8>,
    headers: Vec<(String, Vec<u8>)>,
}

fn records_for(codec: &str) -> Vec<Expected> {
    let mut rng = Lcg(codec.bytes().fold(17, |h, b| h * 31 + u64::from(b)));
    (0..RECORDS)
        .map(|i| {
            // Lengths from 0 to a few kilobytes, so that some batches hold many
            // small records and some few large ones.
            let len = match i % 5 {
                0 => 0,
                1 => 1 + rng.below(8),
                2 => 20 + rng.below(100),
                3 => 500 + rng.below(1500),
                _ => 3000 + rng.below(2000),
            };
            let key = format!("key-{i}-{}", short(&mut rng, 12, &[]));
            let value = format!("{i}:{}", text(&mut rng, len, &[]));
            // The console consumer prints headers as name:value joined by
            // commas, so header values here carry no commas.
            let headers = vec![
                ("index".to_string(), i.to_string().into_bytes()),
                ("codec".to_string(), codec.as_bytes().to_vec()),
                ("text".to_string(), short(&mut rng, 40, &[',']).into_bytes()),
                ("colon".to_string(), b"a:b::c".to_vec()),
                ("empty".to_string(), Vec::new()),
            ];
            Expected {
                key: key.into_bytes(),
                value: value.into_bytes(),
                headers,
            }
        })
        .collect()
}

/// Parses one line printed by the console consumer with print.headers and
/// print.key: `name:value,name:value<TAB>key<TAB>value`.
fn parse_console_line(line: &[u8]) -> Result<Expected, String> {
    let mut fields = line.splitn(3, |b| *b == b'\t');
    let (Some(headers), Some(key), Some(value)) = (fields.next(), fields.next(), fields.next())
    else {
        return Err(format!(
            "not three tab separated fields: {:?}",
            String::from_utf8_lossy(line)
        ));
    };
    let mut parsed = Vec::new();
    if headers != b"NO_HEADERS" {
        for header in headers.split(|b| *b == b',') {
            let colon = header.iter().position(|b| *b == b':').ok_or_else(|| {
                format!(
                    "header without colon: {:?}",
                    String::from_utf8_lossy(header)
                )
            })?;
            let name = std::str::from_utf8(&header[..colon])
                .map_err(|e| format!("header name is not UTF-8: {e}"))?;
            parsed.push((name.to_string(), header[colon + 1..].to_vec()));
        }
    }
    Ok(Expected {
        key: key.to_vec(),
        value: value.to_vec(),
        headers: parsed,
    })
}

/// A short, readable description of the first difference between two byte
/// strings.
fn first_difference(what: &str, want: &[u8], got: &[u8]) -> String {
    let at = want
        .iter()
        .zip(got)
        .position(|(a, b)| a != b)
        .unwrap_or(want.len().min(got.len()));
    let around = |b: &[u8]| {
        String::from_utf8_lossy(&b[at.saturating_sub(10)..(at + 20).min(b.len())]).into_owned()
    };
    format!(
        "{what}: lengths {} (sent) and {} (read), first difference at byte {at}: sent {:?}, read {:?}",
        want.len(),
        got.len(),
        around(want),
        around(got)
    )
}

/// The single node's data folder, where scripts/kafka.sh keeps it (it
/// resolves KAFKIT_RUN_DIR and KAFKIT_CACHE the same way).
fn single_node_data_dir() -> Option<PathBuf> {
    let run = match std::env::var_os("KAFKIT_RUN_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => match std::env::var_os("KAFKIT_CACHE") {
            Some(cache) => PathBuf::from(cache).join("run"),
            None => PathBuf::from(std::env::var_os("HOME")?).join(".cache/kafkit/run"),
        },
    };
    Some(run.join("single/data"))
}

/// Checks with Kafka's DumpLogSegments that the broker stored the records in
/// batches compressed with `codec` (so the round trip really went through
/// it), or uncompressed where compressing would not have saved space.
/// Skipped, with a note, when the log is not on this machine where kafka.sh
/// keeps it.
fn assert_stored_with_codec(topic: &str, codec: &str) {
    let Some(segment) =
        single_node_data_dir().map(|d| d.join(format!("{topic}-0/00000000000000000000.log")))
    else {
        eprintln!("note: HOME is not set; the stored codec was not checked");
        return;
    };
    if !segment.exists() {
        eprintln!(
            "note: {} does not exist (broker not started by scripts/kafka.sh?); \
             the stored codec was not checked",
            segment.display()
        );
        return;
    }
    let file = segment.to_string_lossy().into_owned();
    let run = kafka_sh(
        &[
            "run",
            "org.apache.kafka.tools.DumpLogSegments",
            "--files",
            &file,
        ],
        None,
        Duration::from_secs(60),
    );
    assert!(
        run.status.is_some_and(|s| s.success()),
        "DumpLogSegments failed: {}",
        run.describe()
    );
    let out = String::from_utf8_lossy(&run.stdout);
    let batches: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("baseOffset:") && l.contains("compresscodec:"))
        .collect();
    assert!(
        !batches.is_empty(),
        "DumpLogSegments listed no batches: {}",
        run.describe()
    );
    // librdkafka sends a batch uncompressed when compressing does not make it
    // smaller (a lone small record, say), so `none` may appear too.
    let codec_of = |batch: &str| -> String {
        batch
            .split("compresscodec: ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_default()
            .to_ascii_lowercase()
    };
    for batch in &batches {
        let stored = codec_of(batch);
        assert!(
            stored == codec || stored == "none",
            "a batch of {topic} is stored with {stored:?}, not {codec}: {batch}"
        );
    }
    let compressed = batches.iter().filter(|b| codec_of(b) == codec).count();
    assert!(
        compressed > 0,
        "no batch of {topic} is stored with {codec}: {batches:#?}"
    );
    let records: usize = batches
        .iter()
        .filter_map(|l| l.split("count: ").nth(1))
        .filter_map(|rest| rest.split_whitespace().next())
        .filter_map(|n| n.parse::<usize>().ok())
        .sum();
    assert_eq!(records, RECORDS, "batches of {topic}: {batches:#?}");
    eprintln!(
        "{topic}: {compressed} of {} batches stored with {codec}",
        batches.len()
    );
}

/// kafkit produces keyed records with headers, compressed with `codec`; the
/// Java console consumer reads every one back byte for byte, in order.
async fn kafkit_to_console_consumer(test: &str, codec: &str, compression: Compression) {
    let Some(target) = Target::broker(test) else {
        return;
    };
    let started = Instant::now();
    let topic = target.topic(&format!("interop-{codec}"), 1);
    let sent = records_for(codec);

    let mut config = target.config();
    config
        .compression(compression)
        .and_then(|c| c.linger(Duration::from_millis(20)))
        .and_then(|c| c.message_timeout(Duration::from_secs(30)))
        .expect("producer config");
    assert_eq!(config.get("compression.codec"), Some(codec));
    let producer = Producer::new(&config).expect("producer");
    let mut deliveries = Vec::with_capacity(sent.len());
    for r in &sent {
        let mut record = Record::to(topic.as_str())
            .key(r.key.clone())
            .value(r.value.clone());
        for (name, value) in &r.headers {
            record = record.header(name.clone(), value.clone());
        }
        deliveries.push(producer.send(record).await.expect("enqueue"));
    }
    for (i, delivery) in deliveries.into_iter().enumerate() {
        let meta = match tokio::time::timeout(Duration::from_secs(40), delivery).await {
            Ok(Ok(meta)) => meta,
            Ok(Err(e)) => panic!("record {i}: {e}"),
            Err(_) => panic!("record {i} not delivered within 40 s"),
        };
        assert_eq!((meta.partition, meta.offset), (0, i as i64));
    }

    drop(producer);
    let max = RECORDS.to_string();
    let servers = target.bootstrap();
    let consumed_topic = topic.clone();
    let run = tokio::task::spawn_blocking(move || {
        kafka_sh(
            &[
                "console-consumer",
                "--bootstrap-server",
                &servers,
                "--topic",
                &consumed_topic,
                "--from-beginning",
                "--max-messages",
                &max,
                "--timeout-ms",
                "30000",
                "--formatter-property",
                "print.key=true",
                "--formatter-property",
                "print.headers=true",
                "--formatter-property",
                "print.value=true",
            ],
            None,
            Duration::from_secs(90),
        )
    })
    .await
    .expect("console consumer thread");
    assert!(
        run.status.is_some(),
        "the console consumer did not exit: {}",
        run.describe()
    );

    let mut lines: Vec<&[u8]> = run.stdout.split(|b| *b == b'\n').collect();
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    assert_eq!(
        lines.len(),
        RECORDS,
        "the console consumer printed {} records, not {RECORDS}: {}",
        lines.len(),
        run.describe()
    );
    for (i, (line, want)) in lines.iter().zip(&sent).enumerate() {
        let got = parse_console_line(line)
            .unwrap_or_else(|e| panic!("record {i}: {e}\n{}", run.describe()));
        if got.key != want.key {
            panic!(
                "{}",
                first_difference(&format!("record {i} key"), &want.key, &got.key)
            );
        }
        if got.value != want.value {
            panic!(
                "{}",
                first_difference(&format!("record {i} value"), &want.value, &got.value)
            );
        }
        assert_eq!(got.headers, want.headers, "record {i} headers");
    }
    let codec = codec.to_string();
    tokio::task::spawn_blocking(move || assert_stored_with_codec(&topic, &codec))
        .await
        .expect("stored codec check");
    eprintln!(
        "{test}: {RECORDS} records read back by the console consumer in {:?} \
         (console consumer {:?})",
        started.elapsed(),
        run.took
    );
}

#[tokio::test]
async fn broker_interop_gzip_kafkit_to_console_consumer() {
    kafkit_to_console_consumer("broker_interop_gzip", "gzip", Compression::Gzip).await;
}

#[tokio::test]
async fn broker_interop_snappy_kafkit_to_console_consumer() {
    kafkit_to_console_consumer("broker_interop_snappy", "snappy", Compression::Snappy).await;
}

#[tokio::test]
async fn broker_interop_lz4_kafkit_to_console_consumer() {
    kafkit_to_console_consumer("broker_interop_lz4", "lz4", Compression::Lz4).await;
}

#[tokio::test]
async fn broker_interop_zstd_kafkit_to_console_consumer() {
    kafkit_to_console_consumer("broker_interop_zstd", "zstd", Compression::Zstd).await;
}

/// What the console producer is given for a null key or value.
const NULL_MARKER: &str = "(null)";

/// The Java console producer writes keyed records with headers (one line
/// each: `name:value,name:value<TAB>key<TAB>value`, with a null marker for a
/// null key or value); kafkit reads every one back byte for byte, in order.
#[test]
fn broker_interop_console_producer_to_kafkit() {
    let Some(target) = Target::broker("broker_interop_console_producer_to_kafkit") else {
        return;
    };
    let started = Instant::now();
    let topic = target.topic("interop-console", 1);
    let mut rng = Lcg(4242);
    type Line = (Option<Vec<u8>>, Option<Vec<u8>>, Vec<(String, Vec<u8>)>);
    let mut expected: Vec<Line> = Vec::with_capacity(RECORDS);
    let mut input = String::new();
    for i in 0..RECORDS {
        let key = match i {
            3 => None,
            _ => Some(format!("ck-{i}-{}", short(&mut rng, 12, &[]))),
        };
        let len = [1, 10, 100, 1000, 4000][i % 5] + rng.below(10);
        let value = match i {
            5 => None,
            7 => Some(String::new()),
            _ => Some(format!("{i}={}", text(&mut rng, len, &[]))),
        };
        // The reader splits headers at commas and each header at its first
        // colon, so header values carry no commas (colons are fine).
        let headers = vec![
            ("index".to_string(), i.to_string()),
            ("text".to_string(), short(&mut rng, 30, &[','])),
            ("colon".to_string(), "x:y:".to_string()),
        ];
        let header_text: Vec<String> = headers.iter().map(|(n, v)| format!("{n}:{v}")).collect();
        input.push_str(&format!(
            "{}\t{}\t{}\n",
            header_text.join(","),
            key.as_deref().unwrap_or(NULL_MARKER),
            value.as_deref().unwrap_or(NULL_MARKER)
        ));
        expected.push((
            key.map(String::into_bytes),
            value.map(String::into_bytes),
            headers
                .into_iter()
                .map(|(n, v)| (n, v.into_bytes()))
                .collect(),
        ));
    }

    let servers = target.bootstrap();
    let null_marker = format!("null.marker={NULL_MARKER}");
    let run = kafka_sh(
        &[
            "console-producer",
            "--bootstrap-server",
            &servers,
            "--topic",
            &topic,
            "--reader-property",
            "parse.key=true",
            "--reader-property",
            "parse.headers=true",
            "--reader-property",
            &null_marker,
        ],
        Some(input.into_bytes()),
        Duration::from_secs(90),
    );
    // The console producer exits 0 even when it could not deliver, so what
    // counts is what can be read; its output helps when that fails.
    eprintln!("console producer: {}", run.describe());
    assert!(run.status.is_some(), "the console producer did not exit");

    let messages = read_back(&target, &topic, 1, RECORDS, Duration::from_secs(30));
    for (i, (m, (key, value, headers))) in messages.iter().zip(&expected).enumerate() {
        assert_eq!(m.offset(), i as i64, "record {i} offset");
        if m.key() != key.as_deref() {
            panic!(
                "{}",
                first_difference(
                    &format!(
                        "record {i} key (null: sent {}, read {})",
                        key.is_none(),
                        m.key().is_none()
                    ),
                    key.as_deref().unwrap_or_default(),
                    m.key().unwrap_or_default()
                )
            );
        }
        if m.value() != value.as_deref() {
            panic!(
                "{}",
                first_difference(
                    &format!(
                        "record {i} value (null: sent {}, read {})",
                        value.is_none(),
                        m.value().is_none()
                    ),
                    value.as_deref().unwrap_or_default(),
                    m.value().unwrap_or_default()
                )
            );
        }
        let got: Vec<(String, Option<Vec<u8>>)> = m
            .headers()
            .map(|(n, v)| (n.to_string(), v.map(<[u8]>::to_vec)))
            .collect();
        let want: Vec<(String, Option<Vec<u8>>)> = headers
            .iter()
            .map(|(n, v)| (n.clone(), Some(v.clone())))
            .collect();
        assert_eq!(got, want, "record {i} headers");
    }
    eprintln!(
        "broker_interop_console_producer_to_kafkit: {RECORDS} records in {:?} (console producer {:?})",
        started.elapsed(),
        run.took
    );
}
