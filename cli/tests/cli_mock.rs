//! The `kafkit` binary on librdkafka's mock cluster: round trips with keys,
//! headers, formats, JSON lines and offsets; the shared `--mock` cluster;
//! bad input; a closed stdout.

mod common;

use std::io::Read;
use std::net::TcpListener;
use std::process::Stdio;
use std::time::{Duration, Instant};

use base64::Engine;
use common::{kafkit, kafkit_in, unique, MockDir};
use kafkit::{MockCluster, Producer, Record};
use serde_json::Value;

fn cluster_with(topic: &str, partitions: i32) -> (MockCluster, String) {
    let cluster = MockCluster::new(3).expect("mock cluster");
    cluster.create_topic(topic, partitions, 1).expect("topic");
    let servers = cluster.bootstrap_servers();
    (cluster, servers)
}

fn lines(text: &str) -> Vec<&str> {
    text.lines().collect()
}

#[test]
fn mock_cli_round_trip_with_keys_headers_and_a_format() {
    let topic = unique("cli-rt");
    let (_cluster, servers) = cluster_with(&topic, 3);
    let input = b"k1:v1\nk2:value:with:colons\nnokey\n:empty-key\nk5:\n";
    let produced = kafkit(
        &[
            "-b", &servers, "produce", &topic, "-K", ":", "-H", "app=cli", "-H", "n=1", "-p", "2",
        ],
        Some(input),
    );
    produced.assert_ok("produce");
    assert!(
        produced.err().contains("produced 5 records") && produced.err().contains("0 failed"),
        "{}",
        produced.describe()
    );
    let consumed = kafkit(
        &[
            "-b",
            &servers,
            "consume",
            &topic,
            "-e",
            "-f",
            "{topic}|{partition}|{offset}|{key}|{value}|{headers}\\n",
        ],
        None,
    );
    consumed.assert_ok("consume");
    let expected: Vec<String> = [
        ("k1", "v1"),
        ("k2", "value:with:colons"),
        ("", "nokey"),
        ("", "empty-key"),
        ("k5", ""),
    ]
    .iter()
    .enumerate()
    .map(|(i, (k, v))| format!("{topic}|2|{i}|{k}|{v}|app=cli,n=1"))
    .collect();
    assert_eq!(lines(&consumed.out()), expected, "{}", consumed.describe());

    // The record without a separator has no key (not an empty one), the
    // one with an empty key before `:` has an empty key.
    let json = kafkit(&["-b", &servers, "consume", &topic, "-e", "-J"], None);
    json.assert_ok("consume -J");
    let keys: Vec<Value> = json
        .out()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("a JSON line")["key"].clone())
        .collect();
    assert_eq!(
        keys,
        vec![
            Value::from("k1"),
            Value::from("k2"),
            Value::Null,
            Value::from(""),
            Value::from("k5")
        ]
    );
}

#[test]
fn mock_cli_json_lines_mark_binary_bytes_as_base64() {
    let topic = unique("cli-json");
    let (cluster, servers) = cluster_with(&topic, 1);
    let producer = Producer::new(&cluster.client_config().expect("config")).expect("producer");
    let binary = vec![0xff, 0x00, 0xfe, b'a'];
    futures::executor::block_on(async {
        let first = producer
            .send(
                Record::to(topic.as_str())
                    .key(binary.clone())
                    .value(binary.clone())
                    .header("bin", binary.clone())
                    .timestamp(1_700_000_000_123),
            )
            .await
            .expect("enqueue");
        first.await.expect("delivered");
        let second = producer
            .send(Record::to(topic.as_str()).value("plain text"))
            .await
            .expect("enqueue");
        second.await.expect("delivered");
    });
    let run = kafkit(&["-b", &servers, "consume", &topic, "-e", "--json"], None);
    run.assert_ok("consume --json");
    let rows: Vec<Value> = run
        .out()
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(rows.len(), 2, "{}", run.describe());
    let b64 = base64::engine::general_purpose::STANDARD.encode(&binary);
    let first = &rows[0];
    assert_eq!(first["topic"], Value::from(topic.as_str()));
    assert_eq!(first["partition"], Value::from(0));
    assert_eq!(first["offset"], Value::from(0));
    assert_eq!(first["timestamp"], Value::from(1_700_000_000_123i64));
    assert_eq!(first["timestamp_type"], Value::from("create"));
    assert_eq!(first["key"], Value::from(b64.as_str()));
    assert_eq!(first["key_encoding"], Value::from("base64"));
    assert_eq!(first["value"], Value::from(b64.as_str()));
    assert_eq!(first["value_encoding"], Value::from("base64"));
    assert_eq!(first["headers"][0]["name"], Value::from("bin"));
    assert_eq!(first["headers"][0]["value"], Value::from(b64.as_str()));
    assert_eq!(first["headers"][0]["value_encoding"], Value::from("base64"));
    let second = &rows[1];
    assert_eq!(second["value"], Value::from("plain text"));
    assert!(second.get("value_encoding").is_none(), "{second}");
    assert_eq!(second["key"], Value::Null);
}

#[test]
fn mock_cli_offsets_counts_and_partitions() {
    let topic = unique("cli-offsets");
    let (_cluster, servers) = cluster_with(&topic, 2);
    let input: String = (0..10).map(|i| format!("m{i}\n")).collect();
    kafkit(
        &["-b", &servers, "produce", &topic, "-p", "0"],
        Some(input.as_bytes()),
    )
    .assert_ok("produce p0");
    kafkit(
        &["-b", &servers, "produce", &topic, "-p", "1"],
        Some(b"other\n"),
    )
    .assert_ok("produce p1");
    let read = |extra: &[&str]| {
        let mut args = vec![
            "-b",
            servers.as_str(),
            "consume",
            topic.as_str(),
            "-f",
            "{partition}:{offset}:{value}\\n",
        ];
        args.extend_from_slice(extra);
        let run = kafkit(&args, None);
        run.assert_ok(&format!("consume {extra:?}"));
        run.out()
    };
    assert_eq!(
        lines(&read(&["-p", "0", "-o", "7", "-e"])),
        ["0:7:m7", "0:8:m8", "0:9:m9"]
    );
    assert_eq!(
        lines(&read(&["-p", "0", "-o", "-2", "-e"])),
        ["0:8:m8", "0:9:m9"]
    );
    assert_eq!(
        lines(&read(&["-p", "0", "-o", "end", "-e"])),
        Vec::<&str>::new()
    );
    assert_eq!(lines(&read(&["-p", "0", "-c", "2"])), ["0:0:m0", "0:1:m1"]);
    assert_eq!(lines(&read(&["-p", "1", "-e"])), ["1:0:other"]);
    // Both partitions, to the end of each: all eleven.
    let all = read(&["-e"]);
    assert_eq!(all.lines().count(), 11, "{all}");
    // -p for a partition the topic does not have.
    let run = kafkit(&["-b", &servers, "consume", &topic, "-p", "5", "-e"], None);
    assert_eq!(run.code(), Some(1), "{}", run.describe());
    assert!(run.err().contains("no partition 5"), "{}", run.describe());
}

#[test]
fn mock_cli_delimiters_files_and_json_validation() {
    let topic = unique("cli-input");
    let (_cluster, servers) = cluster_with(&topic, 1);
    // NUL-delimited records may hold newlines.
    kafkit(
        &["-b", &servers, "produce", &topic, "-D", "\\0"],
        Some(b"a\nb\0c\0"),
    )
    .assert_ok("produce -D \\0");
    let dir = std::env::temp_dir().join(unique("cli-files"));
    std::fs::create_dir_all(&dir).expect("dir");
    let f1 = dir.join("one.txt");
    let f2 = dir.join("two.txt");
    std::fs::write(&f1, "{\"n\":1}\n{\"n\":2}\n").expect("write");
    std::fs::write(&f2, "not json\n{\"n\":3}").expect("write");
    let run = kafkit(
        &[
            "-b",
            &servers,
            "produce",
            &topic,
            "--json",
            f1.to_str().expect("path"),
            f2.to_str().expect("path"),
        ],
        None,
    );
    // One value is not JSON: it is not sent, the rest are, and the exit
    // code and message say so.
    assert_eq!(run.code(), Some(1), "{}", run.describe());
    assert!(
        run.err().contains("produced 3 records"),
        "{}",
        run.describe()
    );
    assert!(run.err().contains("1 failed"), "{}", run.describe());
    assert!(
        run.err().contains(&format!("record 1 of {}", f2.display()))
            && run.err().contains("not JSON"),
        "{}",
        run.describe()
    );
    let read = kafkit(
        &["-b", &servers, "consume", &topic, "-e", "-f", "[{value}]"],
        None,
    );
    read.assert_ok("consume");
    assert_eq!(read.out(), "[a\nb][c][{\"n\":1}][{\"n\":2}][{\"n\":3}]");
    let _ = std::fs::remove_dir_all(&dir);

    // A file that does not exist.
    let run = kafkit(
        &["-b", &servers, "produce", &topic, "/nonexistent/file"],
        None,
    );
    assert_eq!(run.code(), Some(4), "{}", run.describe());
    assert!(
        run.err().contains("/nonexistent/file"),
        "{}",
        run.describe()
    );
}

#[test]
fn mock_cli_sync_and_compression_deliver_every_record() {
    let topic = unique("cli-sync");
    let (_cluster, servers) = cluster_with(&topic, 2);
    let input: String = (0..50).map(|i| format!("r{i}\n")).collect();
    for extra in [
        &["--sync"][..],
        &["-z", "zstd"][..],
        &["-z", "gzip", "--sync"][..],
    ] {
        let mut args = vec!["-b", servers.as_str(), "produce", topic.as_str()];
        args.extend_from_slice(extra);
        let run = kafkit(&args, Some(input.as_bytes()));
        run.assert_ok(&format!("produce {extra:?}"));
        assert!(
            run.err().contains("produced 50 records"),
            "{}",
            run.describe()
        );
    }
    let read = kafkit(&["-b", &servers, "consume", &topic, "-e"], None);
    read.assert_ok("consume");
    assert_eq!(read.out().lines().count(), 150);
    let run = kafkit(
        &["-b", &servers, "produce", &topic, "-z", "brotli"],
        Some(b"x\n"),
    );
    assert_eq!(run.code(), Some(2), "{}", run.describe());
    assert!(run.err().contains("brotli"), "{}", run.describe());
}

#[test]
fn mock_cli_group_consumption_commits_what_it_printed() {
    let topic = unique("cli-group");
    let group = unique("cli-g");
    let (_cluster, servers) = cluster_with(&topic, 1);
    let input: String = (0..6).map(|i| format!("g{i}\n")).collect();
    kafkit(&["-b", &servers, "produce", &topic], Some(input.as_bytes())).assert_ok("produce");
    let first = kafkit(
        &["-b", &servers, "consume", &topic, "-g", &group, "-c", "4"],
        None,
    );
    first.assert_ok("first member");
    assert_eq!(lines(&first.out()), ["g0", "g1", "g2", "g3"]);
    // The next member of the group goes on where the first stopped.
    let second = kafkit(
        &["-b", &servers, "consume", &topic, "-g", &group, "-e"],
        None,
    );
    second.assert_ok("second member");
    assert_eq!(lines(&second.out()), ["g4", "g5"]);
    let shown = kafkit(
        &[
            "-b",
            &servers,
            "groups",
            "reset-offsets",
            &group,
            "-t",
            &topic,
            "--to-earliest",
            "--dry-run",
        ],
        None,
    );
    shown.assert_ok("reset-offsets --dry-run");
    assert!(
        shown.out().contains(&format!("{topic}\t0\t6\t0")) && shown.out().contains("dry run"),
        "{}",
        shown.describe()
    );
    // With -g, -o can only say where a partition without a commit starts.
    let run = kafkit(
        &["-b", &servers, "consume", &topic, "-g", &group, "-o", "3"],
        None,
    );
    assert_eq!(run.code(), Some(2), "{}", run.describe());
    assert!(run.err().contains("reset-offsets"), "{}", run.describe());
}

#[test]
fn mock_cli_metadata_and_topic_listing() {
    let topic = unique("cli-meta");
    let (_cluster, servers) = cluster_with(&topic, 4);
    let run = kafkit(&["-b", &servers, "metadata", &topic], None);
    run.assert_ok("metadata");
    let out = run.out();
    assert!(out.contains("brokers (3):"), "{out}");
    for id in 1..=3 {
        assert!(out.contains(&format!("broker {id} at 127.0.0.1:")), "{out}");
    }
    assert!(
        out.contains(&format!("topic {topic}: 4 partitions")),
        "{out}"
    );
    for p in 0..4 {
        assert!(out.contains(&format!("partition {p}\tleader ")), "{out}");
    }
    let listed = kafkit(&["-b", &servers, "topics", "list"], None);
    listed.assert_ok("topics list");
    assert!(
        listed.out().contains(&format!("{topic}\t4 partitions")),
        "{}",
        listed.describe()
    );
    let described = kafkit(&["-b", &servers, "topics", "describe", &topic], None);
    described.assert_ok("topics describe");
    assert_eq!(
        described.out().matches("replicas [").count(),
        4,
        "{}",
        described.describe()
    );
    let missing = kafkit(
        &["-b", &servers, "topics", "describe", "no-such-topic"],
        None,
    );
    assert_eq!(missing.code(), Some(1), "{}", missing.describe());
    assert!(
        missing.err().contains("no-such-topic"),
        "{}",
        missing.describe()
    );
}

#[test]
fn mock_cli_shared_mock_cluster_across_commands() {
    let dir = MockDir::new();
    let t = Duration::from_secs(60);
    let topic = unique("shared");
    let produced = kafkit_in(
        Some(dir.path()),
        &["--mock", "produce", &topic],
        Some(b"hello\n"),
        t,
    );
    produced.assert_ok("--mock produce");
    let consumed = kafkit_in(
        Some(dir.path()),
        &["--mock", "consume", &topic, "-e"],
        None,
        t,
    );
    consumed.assert_ok("--mock consume");
    assert_eq!(consumed.out(), "hello\n");
    let created = kafkit_in(
        Some(dir.path()),
        &["--mock", "topics", "create", "orders", "-p", "6"],
        None,
        t,
    );
    created.assert_ok("--mock topics create");
    let listed = kafkit_in(Some(dir.path()), &["--mock", "topics", "list"], None, t);
    listed.assert_ok("--mock topics list");
    assert!(
        listed.out().contains("orders\t6 partitions"),
        "{}",
        listed.describe()
    );
    // What the mock cannot do fails at once, saying so.
    let deleted = kafkit_in(
        Some(dir.path()),
        &["--mock", "topics", "delete", "orders"],
        None,
        t,
    );
    assert_eq!(deleted.code(), Some(1), "{}", deleted.describe());
    assert!(
        deleted.err().contains("mock cluster does not support"),
        "{}",
        deleted.describe()
    );
    assert!(
        deleted.took < Duration::from_secs(8),
        "{}",
        deleted.describe()
    );
    let status = kafkit_in(Some(dir.path()), &["mock", "status"], None, t);
    status.assert_ok("mock status");
    assert!(
        status.out().contains("running at 127.0.0.1:"),
        "{}",
        status.describe()
    );
    kafkit_in(Some(dir.path()), &["mock", "stop"], None, t).assert_ok("mock stop");
    let status = kafkit_in(Some(dir.path()), &["mock", "status"], None, t);
    assert_eq!(status.code(), Some(3), "{}", status.describe());
    // The next --mock command right after a stop starts a new, empty one.
    let fresh = kafkit_in(Some(dir.path()), &["--mock", "topics", "list"], None, t);
    fresh.assert_ok("--mock after stop");
    assert!(!fresh.out().contains("orders"), "{}", fresh.describe());
    // --mock with --brokers is a usage error.
    let both = kafkit_in(
        Some(dir.path()),
        &["--mock", "-b", "x:1", "topics", "list"],
        None,
        t,
    );
    assert_eq!(both.code(), Some(2), "{}", both.describe());
}

#[test]
fn mock_cli_idle_mock_cluster_stops_by_itself() {
    let dir = MockDir::new();
    let t = Duration::from_secs(30);
    kafkit_in(Some(dir.path()), &["mock", "start", "--idle", "5"], None, t).assert_ok("mock start");
    kafkit_in(Some(dir.path()), &["mock", "status"], None, t).assert_ok("status while running");
    // Asking for its status is a use: watch its socket instead.
    let socket = dir.path().join("mock.sock");
    let deadline = Instant::now() + Duration::from_secs(20);
    while socket.exists() {
        assert!(Instant::now() < deadline, "still running after 20 s");
        std::thread::sleep(Duration::from_millis(200));
    }
    let status = kafkit_in(Some(dir.path()), &["mock", "status"], None, t);
    assert_eq!(status.code(), Some(3), "{}", status.describe());
}

#[test]
fn mock_cli_bad_input_fails_with_a_message_and_a_code() {
    let topic = unique("cli-bad");
    let (_cluster, servers) = cluster_with(&topic, 1);
    let check = |args: &[&str], code: i32, says: &str| {
        let run = kafkit(args, None);
        assert_eq!(run.code(), Some(code), "{args:?}: {}", run.describe());
        assert!(
            run.err().contains(says),
            "{args:?} should say {says:?}: {}",
            run.describe()
        );
        assert!(
            !run.err().contains("panicked") && !run.err().contains("RUST_BACKTRACE"),
            "{args:?}: {}",
            run.describe()
        );
    };
    check(
        &["-b", &servers, "consume", &topic, "--no-such-flag"],
        2,
        "--no-such-flag",
    );
    check(
        &["-b", &servers, "-X", "no.such.property=1", "metadata"],
        2,
        "no.such.property",
    );
    check(
        &["-b", &servers, "-X", "linger.ms", "metadata"],
        2,
        "name=value",
    );
    check(
        &["-b", &servers, "consume", &topic, "-o", "soon"],
        2,
        "beginning",
    );
    check(
        &["-b", &servers, "consume", &topic, "-f", "{nope}"],
        2,
        "{nope}",
    );
    check(
        &["-b", &servers, "consume", "no-such-topic", "-e"],
        1,
        "no-such-topic",
    );
    check(
        &["-b", &servers, "produce", &topic, "-H", "novalue"],
        2,
        "name=value",
    );
    check(&["metadata"], 2, "no brokers");
    check(
        &["-b", &servers, "--timeout", "-1", "metadata"],
        2,
        "--timeout",
    );

    // Nothing listens: a connection error within seconds, naming the
    // address and the reason.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("addr").to_string();
    drop(listener);
    for args in [
        vec!["-b", address.as_str(), "--timeout", "2", "metadata"],
        vec!["-b", address.as_str(), "--timeout", "2", "produce", "t"],
        vec!["-b", address.as_str(), "--timeout", "2", "consume", "t"],
    ] {
        let run = kafkit(&args, Some(b"x\n"));
        assert_eq!(run.code(), Some(3), "{args:?}: {}", run.describe());
        assert!(
            run.err().contains(&address) && run.err().contains("Connection refused"),
            "{args:?}: {}",
            run.describe()
        );
        assert!(
            run.took < Duration::from_secs(10),
            "{args:?}: {}",
            run.describe()
        );
    }
}

#[test]
fn mock_cli_closed_stdout_ends_consume_cleanly() {
    let topic = unique("cli-pipe");
    let (_cluster, servers) = cluster_with(&topic, 1);
    let input: String = (0..20_000).map(|i| format!("line {i}\n")).collect();
    kafkit(&["-b", &servers, "produce", &topic], Some(input.as_bytes())).assert_ok("produce");
    // `kafkit consume t | head -c 100`: the reader takes a little and
    // closes the pipe while kafkit still has thousands of lines to write
    // (without -e it would otherwise wait for more forever).
    let mut child = common::clean(common::KAFKIT)
        .args(["-b", &servers, "consume", &topic])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut first = [0u8; 100];
    stdout.read_exact(&mut first).expect("some output");
    assert!(first.starts_with(b"line 0\n"));
    drop(stdout);
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if started.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("consume did not exit after its stdout closed");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err)
        .expect("stderr");
    assert!(status.success(), "{status:?}: {err}");
    assert!(err.is_empty(), "nothing on stderr for a closed pipe: {err}");
}

#[test]
fn mock_cli_bench_reports_rates_and_latency() {
    let topic = unique("cli-bench");
    let (_cluster, servers) = cluster_with(&topic, 2);
    let produced = kafkit(
        &[
            "-b", &servers, "bench", "produce", &topic, "-n", "20000", "-s", "64",
        ],
        None,
    );
    produced.assert_ok("bench produce");
    let out = produced.out();
    assert!(out.contains("produced 20000 records of 64 B"), "{out}");
    for field in ["records/s", "MB/s", "p50", "p99"] {
        assert!(out.contains(field), "{field}: {out}");
    }
    let consumed = kafkit(&["-b", &servers, "bench", "consume", &topic], None);
    consumed.assert_ok("bench consume");
    assert!(
        consumed
            .out()
            .contains("consumed 20000 records (1280000 bytes)"),
        "{}",
        consumed.describe()
    );
}

#[test]
fn mock_cli_reads_properties_files_and_the_environment() {
    let topic = unique("cli-conf");
    let (_cluster, servers) = cluster_with(&topic, 1);
    let dir = std::env::temp_dir().join(unique("cli-props"));
    std::fs::create_dir_all(&dir).expect("dir");
    let props = dir.join("client.properties");
    std::fs::write(
        &props,
        format!("# a Java-style file\nbootstrap.servers={servers}\nclient.id=from-file\n"),
    )
    .expect("write");
    let path = props.to_str().expect("path");
    kafkit(&["-F", path, "produce", &topic], Some(b"via-file\n")).assert_ok("produce -F");
    // KAFKA_BOOTSTRAP_SERVERS, as ClientConfig::from_env reads it.
    let mut command = common::clean(common::KAFKIT);
    command
        .args(["consume", &topic, "-e"])
        .env("KAFKA_BOOTSTRAP_SERVERS", &servers);
    let run = common::run_command(command, None, Duration::from_secs(60));
    run.assert_ok("consume with KAFKA_BOOTSTRAP_SERVERS");
    assert_eq!(run.out(), "via-file\n");
    // A bad line in the file names the file.
    std::fs::write(&props, "no.such.property=1\n").expect("write");
    let run = kafkit(&["-F", path, "-b", &servers, "metadata"], None);
    assert_eq!(run.code(), Some(2), "{}", run.describe());
    assert!(
        run.err().contains("client.properties") && run.err().contains("no.such.property"),
        "{}",
        run.describe()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn mock_cli_concurrent_first_commands_share_one_cluster() {
    let dir = MockDir::new();
    let topic = unique("race");
    // Four commands at once, none finding a cluster: one server wins the
    // directory's lock, the others hand out its address.
    let runs: Vec<_> = (0..4)
        .map(|i| {
            let dir = dir.path().to_path_buf();
            let topic = topic.clone();
            std::thread::spawn(move || {
                let line = format!("from-{i}\n");
                kafkit_in(
                    Some(&dir),
                    &["--mock", "produce", &topic],
                    Some(line.as_bytes()),
                    Duration::from_secs(60),
                )
            })
        })
        .collect();
    for run in runs {
        run.join()
            .expect("thread")
            .assert_ok("concurrent --mock produce");
    }
    let read = kafkit_in(
        Some(dir.path()),
        &["--mock", "consume", &topic, "-e"],
        None,
        Duration::from_secs(60),
    );
    read.assert_ok("consume");
    let text = read.out();
    let mut got: Vec<&str> = text.lines().collect();
    got.sort_unstable();
    assert_eq!(
        got,
        ["from-0", "from-1", "from-2", "from-3"],
        "{}",
        read.describe()
    );
}

#[test]
fn mock_cli_lag_and_reset_offsets_of_named_partitions() {
    let dir = MockDir::new();
    let t = Duration::from_secs(60);
    let topic = unique("lag");
    let group = unique("lag-g");
    let run = |args: &[&str]| kafkit_in(Some(dir.path()), args, None, t);
    run(&["--mock", "topics", "create", &topic, "-p", "2"]).assert_ok("create");
    let input: String = (0..10).map(|i| format!("{i}\n")).collect();
    kafkit_in(
        Some(dir.path()),
        &["--mock", "produce", &topic, "-p", "0"],
        Some(input.as_bytes()),
        t,
    )
    .assert_ok("produce");
    run(&["--mock", "consume", &topic, "-g", &group, "-c", "4"]).assert_ok("consume 4");
    let lag = run(&["--mock", "groups", "lag", &group, "-t", &topic]);
    lag.assert_ok("lag -t");
    let out = lag.out();
    assert!(out.contains(&format!("{topic}\t0\t4\t10\t6")), "{out}");
    assert!(out.contains(&format!("{topic}\t1\t-\t0\t-")), "{out}");
    assert!(out.contains("total lag 6"), "{out}");
    // Without partitions the mock would answer with none: said at once.
    let all = run(&["--mock", "groups", "lag", &group]);
    assert_eq!(all.code(), Some(2), "{}", all.describe());
    assert!(all.err().contains("-t"), "{}", all.describe());
    // An offset past the end is kept at the end.
    let shown = run(&[
        "--mock",
        "groups",
        "reset-offsets",
        &group,
        "-t",
        &format!("{topic}:0"),
        "--to-offset",
        "99",
        "--dry-run",
    ]);
    shown.assert_ok("reset --to-offset --dry-run");
    assert!(
        shown.out().contains(&format!("{topic}\t0\t4\t10")),
        "{}",
        shown.describe()
    );
    // Bad targets are usage errors.
    for bad in [
        &["--to-offset=-1"][..],
        &["--to-datetime", "2026-02-30T00:00:00"][..],
        &[][..],
    ] {
        let mut args = vec![
            "--mock",
            "groups",
            "reset-offsets",
            group.as_str(),
            "-t",
            topic.as_str(),
        ];
        args.extend_from_slice(bad);
        let r = run(&args);
        assert_eq!(r.code(), Some(2), "{bad:?}: {}", r.describe());
    }
    // Topic names and partition counts the mock would choke on.
    for (name, partitions, replicas) in [
        ("bad name", "1", "1"),
        ("ok", "100000000", "1"),
        ("ok", "1", "4"),
    ] {
        let r = run(&[
            "--mock", "topics", "create", name, "-p", partitions, "-r", replicas,
        ]);
        assert_eq!(r.code(), Some(2), "{name} {partitions}: {}", r.describe());
    }
}
