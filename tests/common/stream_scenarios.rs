//! Stream-processing scenarios, run on the mock cluster and on the real
//! broker.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use kafkit::streams::{App, AppHandle, Guarantee, Table, TimerOptions};
use kafkit::{
    Consumer, Error, I64Codec, NoKey, Offset, Producer, Record, StringCodec, TypedTopic,
    DLQ_ERROR_HEADER, DLQ_OFFSET_HEADER,
};

use super::{unique, Target};

/// The apps' configuration. librdkafka's mock cluster keeps a member that
/// left its group until the member's session times out, so on the mock a
/// restarted app waits that long to rejoin: keep it short there.
pub fn app_config(target: &Target) -> kafkit::ClientConfig {
    let mut config = target.config();
    if let Target::Mock(_) = target {
        config
            .set("session.timeout.ms", "3000")
            .and_then(|c| c.set("heartbeat.interval.ms", "500"))
            .expect("session timeout");
    }
    config
}

/// Logs to stderr as `RUST_LOG` says (for a failing test's story).
pub fn logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

/// Sends `values` (as text values, no key) to `topic`, spread over its
/// partitions, and waits for their delivery.
pub async fn send_values(target: &Target, topic: &str, values: impl IntoIterator<Item = String>) {
    let producer = Producer::new(&target.config()).expect("producer");
    let mut deliveries = Vec::new();
    for v in values {
        deliveries.push(
            producer
                .send(Record::to(topic).value(v))
                .await
                .expect("send"),
        );
    }
    for d in deliveries {
        d.await.expect("delivered");
    }
}

/// Sends `words` keyed by themselves (the key picks the partition).
pub async fn send_words(target: &Target, topic: &str, words: &[String]) {
    let producer = Producer::new(&target.config()).expect("producer");
    let mut deliveries = Vec::new();
    for w in words {
        let record = Record::to(topic).key(w.clone()).value(w.clone());
        deliveries.push(producer.send(record).await.expect("send"));
    }
    for d in deliveries {
        d.await.expect("delivered");
    }
}

/// Every message of `topic` from the beginning, read until nothing came
/// for `idle` (`read_committed` when `committed`).
pub fn read_all(
    target: &Target,
    topic: &str,
    partitions: i32,
    committed: bool,
) -> Vec<kafkit::Message> {
    let mut config = target.config();
    config
        .group_id(&unique("stream-reader"))
        .and_then(|c| c.enable_auto_commit(false))
        .and_then(|c| {
            c.set(
                "isolation.level",
                if committed {
                    "read_committed"
                } else {
                    "read_uncommitted"
                },
            )
        })
        .expect("consumer config");
    let consumer = Consumer::new(&config).expect("consumer");
    let assignment: Vec<(&str, i32, Offset)> = (0..partitions)
        .map(|p| (topic, p, Offset::Beginning))
        .collect();
    consumer.assign(&assignment).expect("assign");
    let mut out = Vec::new();
    let mut last = Instant::now();
    while last.elapsed() < Duration::from_secs(3) {
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => {
                out.push(m);
                last = Instant::now();
            }
            Some(Err(e)) => panic!("consumer error: {e}"),
            None => {}
        }
    }
    out
}

/// Counts of each value; prints the ones seen more than once.
pub fn tally(what: &str, values: impl IntoIterator<Item = String>) -> HashMap<String, usize> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for v in values {
        *counts.entry(v).or_default() += 1;
    }
    let duplicates: usize = counts.values().map(|n| n - 1).sum();
    eprintln!("{what}: {} distinct, {duplicates} duplicates", counts.len());
    counts
}

/// Waits until `done` holds, failing after `timeout`.
pub async fn wait_for(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within {timeout:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn value_of(m: &kafkit::Message) -> String {
    m.value_str().unwrap_or_default().to_string()
}

/// An app that forwards each input value to `output`, panicking once on
/// the value `panic_on` (when given).
fn forwarder(
    target: &Target,
    id: &str,
    guarantee: Guarantee,
    input: &str,
    output: &str,
    panic_on: Option<(String, Arc<AtomicBool>)>,
) -> App {
    let mut app = App::builder(id, &app_config(target))
        .guarantee(guarantee)
        .commit_interval(Duration::from_millis(100))
        .shutdown_timeout(Duration::from_secs(10))
        .instance(unique("worker"))
        .build()
        .expect("app");
    let input = TypedTopic::new(input, NoKey, StringCodec);
    let sink = app.sink(&TypedTopic::new(output, NoKey, StringCodec));
    app.agent("forward", &input, move |mut stream| {
        let (sink, panic_on) = (sink.clone(), panic_on.clone());
        async move {
            while let Some(event) = stream.next().await {
                let value = event?.value;
                if let Some((bad, panicked)) = &panic_on {
                    if *bad == value && !panicked.swap(true, Ordering::SeqCst) {
                        panic!("the agent panics on {value}");
                    }
                }
                sink.send((), &value).await?;
            }
            Ok(())
        }
    })
    .expect("agent");
    app
}

/// At least once: an agent panics on one event, which stops the app with
/// the panic; started again, the app processes every event (the one it
/// panicked on included) at least once.
pub async fn agent_panic_then_restart(target: &Target) {
    logs();
    const N: usize = 3000;
    let input = target.topic("st-panic-in", 3);
    let output = target.topic("st-panic-out", 3);
    let id = unique("st-panic-app");
    send_values(target, &input, (0..N).map(|i| i.to_string())).await;

    let panicked = Arc::new(AtomicBool::new(false));
    let app = forwarder(
        target,
        &id,
        Guarantee::AtLeastOnce,
        &input,
        &output,
        Some(("1500".into(), panicked.clone())),
    );
    let result = tokio::time::timeout(
        Duration::from_secs(60),
        app.run_until(std::future::pending()),
    )
    .await
    .expect("the app stops by itself after the panic");
    let e = result.expect_err("the panic stops the app with an error");
    assert!(
        e.to_string().contains("panicked") && e.to_string().contains("panics on 1500"),
        "{e}"
    );
    assert!(panicked.load(Ordering::SeqCst));

    let app = forwarder(target, &id, Guarantee::AtLeastOnce, &input, &output, None);
    let handle = app.handle();
    let run = tokio::spawn(app.run_until(std::future::pending()));
    let mut polls = 0;
    wait_for(
        "restarted app reads to the end",
        Duration::from_secs(60),
        || {
            polls += 1;
            if polls % 20 == 0 && std::env::var("KAFKIT_TEST_DEBUG").is_ok() {
                eprintln!(
                    "acknowledged {} ready {}",
                    handle.acknowledged(),
                    handle.is_ready()
                );
            }
            handle.acknowledged() >= 1 && lag_is_zero(target, &id, &input, 3)
        },
    )
    .await;
    handle.stop();
    run.await
        .expect("join")
        .expect("the second run ends cleanly");

    let out = read_all(target, &output, 3, false);
    let counts = tally(
        "outputs after the panic and the restart",
        out.iter().map(value_of),
    );
    for i in 0..N {
        assert!(
            counts.contains_key(&i.to_string()),
            "{i} was never processed"
        );
    }
    assert_eq!(counts.len(), N, "only the inputs come out");
}

/// Whether the group committed up to the end of every partition.
pub fn lag_is_zero(target: &Target, group: &str, topic: &str, partitions: i32) -> bool {
    let mut config = target.config();
    config
        .group_id(group)
        .and_then(|c| c.enable_auto_commit(false))
        .expect("config");
    let Ok(consumer) = Consumer::new(&config) else {
        return false;
    };
    let pairs: Vec<(&str, i32)> = (0..partitions).map(|p| (topic, p)).collect();
    let Ok(committed) = consumer.committed(&pairs, Duration::from_secs(5)) else {
        return false;
    };
    committed.iter().all(|c| {
        let (low, high) = consumer
            .fetch_watermarks(topic, c.partition, Duration::from_secs(5))
            .unwrap_or((0, i64::MAX));
        // Nothing committed: done when the partition is empty.
        let at = c.offset.value().unwrap_or(low);
        if at < high && std::env::var("KAFKIT_TEST_DEBUG").is_ok() {
            eprintln!("{topic} [{}]: committed {at}, end {high}", c.partition);
        }
        at >= high
    })
}

/// `take(max, within)`: no batch is larger than `max`; a batch that does
/// not fill is handed out `within` after its first event, not before.
pub async fn take_respects_both_limits(target: &Target) {
    logs();
    let input = target.topic("st-take-in", 1);
    let id = unique("st-take-app");
    let within = Duration::from_millis(700);
    let batches: Arc<Mutex<Vec<(usize, Instant)>>> = Arc::default();
    let mut app = App::builder(&id, &app_config(target))
        .commit_interval(Duration::from_millis(100))
        .build()
        .expect("app");
    let topic = TypedTopic::new(input.as_str(), NoKey, StringCodec);
    let seen = batches.clone();
    app.agent("batches", &topic, move |stream| {
        let seen = seen.clone();
        async move {
            let mut batches = stream.take(10, within);
            while let Some(batch) = batches.next().await {
                seen.lock().unwrap().push((batch?.len(), Instant::now()));
            }
            Ok(())
        }
    })
    .expect("agent");
    let handle = app.handle();
    let run = tokio::spawn(app.run_until(std::future::pending()));
    wait_for("the app is ready", Duration::from_secs(30), || {
        handle.is_ready()
    })
    .await;

    // 25 at once: two full batches at once, then 5 after `within`.
    let sent = Instant::now();
    send_values(target, &input, (0..25).map(|i| i.to_string())).await;
    wait_for("three batches", Duration::from_secs(20), || {
        batches.lock().unwrap().len() >= 3
    })
    .await;
    // 3 more, later: one batch of 3, `within` after they arrive.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let sent_late = Instant::now();
    send_values(target, &input, (25..28).map(|i| i.to_string())).await;
    wait_for("four batches", Duration::from_secs(20), || {
        batches.lock().unwrap().len() >= 4
    })
    .await;
    handle.stop();
    run.await.expect("join").expect("clean stop");

    let batches = batches.lock().unwrap().clone();
    let sizes: Vec<usize> = batches.iter().map(|b| b.0).collect();
    eprintln!(
        "batches: {sizes:?} at {:?} after the first send",
        batches.iter().map(|b| b.1 - sent).collect::<Vec<_>>()
    );
    assert_eq!(sizes, vec![10, 10, 5, 3]);
    assert!(
        batches[2].1 - sent >= within,
        "the partial batch came early"
    );
    assert!(
        batches[3].1 - sent_late >= within,
        "the late batch came early"
    );
    assert!(
        batches[3].1 - sent_late < within + Duration::from_secs(3),
        "the late batch came long after `within`"
    );
}

/// A timer fires at its interval until the app stops, and not after.
pub async fn timers_fire_until_stopped(target: &Target) {
    logs();
    let input = target.topic("st-timer-in", 1);
    let id = unique("st-timer-app");
    let mut app = App::new(&id, &app_config(target)).expect("app");
    let topic = TypedTopic::new(input.as_str(), NoKey, StringCodec);
    app.agent("idle", &topic, |mut stream| async move {
        while let Some(e) = stream.next().await {
            e?;
        }
        Ok(())
    })
    .expect("agent");
    let fired = Arc::new(AtomicU64::new(0));
    let f = fired.clone();
    app.timer(Duration::from_millis(200), move || {
        let f = f.clone();
        async move {
            f.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    })
    .expect("timer");
    let handle = app.handle();
    let run = tokio::spawn(app.run_until(tokio::time::sleep(Duration::from_millis(2100))));
    run.await.expect("join").expect("clean stop");
    let n = fired.load(Ordering::SeqCst);
    eprintln!("the 200 ms timer fired {n} times in 2.1 s");
    assert!((8..=11).contains(&n), "fired {n} times");
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(fired.load(Ordering::SeqCst), n, "fired after the stop");
    drop(handle);
}

/// The word-count app: `words` (key: the word) counted in a table.
fn word_counter(
    target: &Target,
    id: &str,
    guarantee: Guarantee,
    words: &str,
    instance: &str,
) -> (App, Table<String, i64>, Arc<AtomicU64>) {
    let mut app = App::builder(id, &app_config(target))
        .guarantee(guarantee)
        .commit_interval(Duration::from_millis(200))
        .instance(instance)
        .build()
        .expect("app");
    let topic = TypedTopic::new(words, StringCodec, StringCodec);
    let table = app
        .table("counts", words, &TypedTopic::new("", StringCodec, I64Codec))
        .expect("table");
    let leader_fires = Arc::new(AtomicU64::new(0));
    let t = table.clone();
    app.agent("count", &topic, move |mut stream| {
        let t = t.clone();
        async move {
            let counts = stream.table(&t)?;
            while let Some(event) = stream.next().await {
                counts.update(&event?.key, |n| n.unwrap_or(0) + 1).await?;
            }
            Ok(())
        }
    })
    .expect("agent");
    let f = leader_fires.clone();
    app.timer_with(
        Duration::from_millis(100),
        TimerOptions::default().on_leader(),
        move || {
            let f = f.clone();
            async move {
                f.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
        },
    )
    .expect("timer");
    (app, table, leader_fires)
}

fn words(rounds: usize) -> Vec<String> {
    let vocabulary = [
        "ant", "bee", "cat", "dog", "eel", "fox", "gnu", "hen", "ibis",
    ];
    (0..rounds)
        .flat_map(|_| vocabulary.iter().map(|w| w.to_string()))
        .collect()
}

fn as_map(entries: Vec<(String, i64)>) -> BTreeMap<String, i64> {
    let mut map = BTreeMap::new();
    for (k, v) in entries {
        assert!(
            map.insert(k.clone(), v).is_none(),
            "{k} is in two partitions"
        );
    }
    map
}

/// A table's state is restored from its changelog when the app starts
/// again: counts go on from where they were.
pub async fn table_survives_a_restart(target: &Target, guarantee: Guarantee) {
    logs();
    let topic = target.topic("st-table-words", 3);
    let id = unique("st-table-app");
    target_changelog(target, &id, 3);
    let batch = words(50);
    for round in 1..=2u64 {
        send_words(target, &topic, &batch).await;
        let (app, table, _) = word_counter(target, &id, guarantee, &topic, "w0");
        let handle = app.handle();
        let run = tokio::spawn(app.run_until(std::future::pending()));
        let expected = 50 * round as i64;
        let t = table.clone();
        wait_for("every word counted", Duration::from_secs(60), || {
            t.entries()
                .map(|e| e.len() == 9 && e.iter().all(|(_, n)| *n >= expected))
                .unwrap_or(false)
        })
        .await;
        let counts = as_map(table.entries().expect("entries"));
        handle.stop();
        run.await.expect("join").expect("clean stop");
        eprintln!("round {round}: {counts:?}");
        assert!(
            counts.values().all(|n| *n == expected),
            "round {round}: every word {expected} times, not {counts:?}"
        );
    }
}

/// Creates the word counter's changelog where the app cannot (the mock
/// answers no CreateTopics).
fn target_changelog(target: &Target, id: &str, partitions: i32) {
    if let Target::Mock(mock) = target {
        mock.create_topic(&format!("{id}-counts-changelog"), partitions, 1)
            .expect("changelog");
    }
}

/// Two workers of one app: partitions move to the second while words
/// flow; each table partition follows (restored on its new owner), every
/// word is counted once, and the on_leader timer runs on one worker.
///
/// At least once, an event whose offset was not committed when its
/// partition moved is counted again by the new owner (the surplus is
/// printed); exactly once, every count is exact.
pub async fn rebalance_moves_table_state(target: &Target, guarantee: Guarantee) {
    logs();
    let topic = target.topic("st-rebalance-words", 6);
    let id = unique("st-rebalance-app");
    target_changelog(target, &id, 6);
    let (a, table_a, leader_a) = word_counter(target, &id, guarantee, &topic, "a");
    let handle_a = a.handle();
    let run_a = tokio::spawn(a.run_until(std::future::pending()));
    wait_for("worker a is ready", Duration::from_secs(30), || {
        handle_a.is_ready()
    })
    .await;
    send_words(target, &topic, &words(100)).await;

    let (b, table_b, leader_b) = word_counter(target, &id, guarantee, &topic, "b");
    let handle_b = b.handle();
    let run_b = tokio::spawn(b.run_until(std::future::pending()));
    let sender = {
        let (target_bootstrap, topic) = (target.bootstrap(), topic.clone());
        tokio::spawn(async move {
            let target = Target::Broker(target_bootstrap);
            for _ in 0..10 {
                send_words(&target, &topic, &words(10)).await;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };
    wait_for("worker b is ready", Duration::from_secs(60), || {
        handle_b.is_ready()
    })
    .await;
    sender.await.expect("sender");
    let total = |t: &Table<String, i64>| {
        t.entries()
            .map_or(0, |e| e.iter().map(|(_, n)| *n).sum::<i64>())
    };
    wait_for(
        "every word counted by one worker or the other",
        Duration::from_secs(60),
        || total(&table_a) + total(&table_b) >= 200 * 9,
    )
    .await;
    // Both hold partitions now; the leader timer runs on one of them.
    let (la, lb) = (
        leader_a.load(Ordering::SeqCst),
        leader_b.load(Ordering::SeqCst),
    );
    tokio::time::sleep(Duration::from_millis(800)).await;
    let (da, db) = (
        leader_a.load(Ordering::SeqCst) - la,
        leader_b.load(Ordering::SeqCst) - lb,
    );
    let mut counts = as_map(table_a.entries().expect("a"));
    let from_b = as_map(table_b.entries().expect("b"));
    eprintln!(
        "a holds {} words, b {}; leader timer fired a {da}, b {db} times in 0.8 s",
        counts.len(),
        from_b.len()
    );
    assert!(
        !counts.is_empty() && !from_b.is_empty(),
        "both workers hold partitions"
    );
    for (k, v) in from_b {
        assert!(
            counts.insert(k.clone(), v).is_none(),
            "{k} is counted on both workers"
        );
    }
    assert!(
        (da == 0) != (db == 0),
        "the on_leader timer runs on exactly one worker (a {da}, b {db})"
    );
    handle_a.stop();
    handle_b.stop();
    run_a.await.expect("join").expect("a stops cleanly");
    run_b.await.expect("join").expect("b stops cleanly");
    // At least once: an event whose offset was not committed when its
    // partition moved (a commit refused during the rebalance) is counted
    // again by the new owner.
    let over: i64 = counts.values().map(|n| n - 200).sum();
    eprintln!("counts after the rebalance: {counts:?} ({over} counted twice)");
    assert_eq!(counts.len(), 9);
    assert!(
        counts.values().all(|n| *n >= 200),
        "a word was lost: {counts:?}"
    );
    if guarantee == Guarantee::ExactlyOnce {
        assert_eq!(over, 0, "exactly once, no word is counted twice");
    }
}

/// An event that does not decode goes to the dead-letter topic, with the
/// reason and its place in headers; the agent goes on with the next.
pub async fn bad_events_go_to_dead_letters(target: &Target) {
    logs();
    let input = target.topic("st-dlq-in", 1);
    let dlq = target.topic("st-dlq-dead", 1);
    let id = unique("st-dlq-app");
    let mut values: Vec<String> = (0..10).map(|i| i.to_string()).collect();
    values.insert(4, "not a number".into());
    send_values(target, &input, values).await;
    let seen: Arc<Mutex<Vec<i64>>> = Arc::default();
    let mut app = App::builder(&id, &app_config(target))
        .commit_interval(Duration::from_millis(100))
        .build()
        .expect("app");
    // JSON numbers: the text "not a number" does not decode.
    let topic = TypedTopic::json::<i64>(input.as_str());
    let s = seen.clone();
    app.agent_with_dead_letters("numbers", &topic, &dlq, move |mut stream| {
        let s = s.clone();
        async move {
            while let Some(event) = stream.next().await {
                s.lock().unwrap().push(event?.value);
            }
            Ok(())
        }
    })
    .expect("agent");
    let handle = app.handle();
    let run = tokio::spawn(app.run_until(std::future::pending()));
    wait_for("every event acknowledged", Duration::from_secs(30), || {
        lag_is_zero(target, &id, &input, 1)
    })
    .await;
    handle.stop();
    run.await.expect("join").expect("clean stop");
    assert_eq!(*seen.lock().unwrap(), (0..10).collect::<Vec<i64>>());
    let dead = read_all(target, &dlq, 1, false);
    assert_eq!(dead.len(), 1, "one dead letter");
    assert_eq!(dead[0].value_str(), Some("not a number"));
    assert_eq!(dead[0].header(DLQ_OFFSET_HEADER), Some(&b"4"[..]));
    let reason = String::from_utf8_lossy(dead[0].header(DLQ_ERROR_HEADER).unwrap_or_default());
    assert!(reason.contains("decoding the value"), "{reason}");
}

/// Exactly once, without failures: every input's output is committed
/// once.
pub async fn exactly_once_forwarding(target: &Target) {
    logs();
    const N: usize = 2000;
    let input = target.topic("st-eos-in", 3);
    let output = target.topic("st-eos-out", 3);
    let id = unique("st-eos-app");
    send_values(target, &input, (0..N).map(|i| i.to_string())).await;
    let app = forwarder(target, &id, Guarantee::ExactlyOnce, &input, &output, None);
    let handle = app.handle();
    let run = tokio::spawn(app.run_until(std::future::pending()));
    // (The mock stores no offsets committed in a transaction: count the
    // acknowledged events instead.)
    wait_for("every input processed", Duration::from_secs(60), || {
        handle.acknowledged() >= N as u64
    })
    .await;
    handle.stop();
    run.await.expect("join").expect("clean stop");
    let out = read_all(target, &output, 3, true);
    let counts = tally("exactly-once outputs", out.iter().map(value_of));
    assert_eq!(counts.len(), N);
    assert!(counts.values().all(|n| *n == 1), "an output came twice");
}

/// Stops `handle`'s app and waits at most `bound` for it.
pub async fn stop_within(
    handle: &AppHandle,
    run: tokio::task::JoinHandle<Result<(), Error>>,
    bound: Duration,
) -> (Duration, Result<(), Error>) {
    let started = Instant::now();
    handle.stop();
    let result = tokio::time::timeout(bound, run)
        .await
        .unwrap_or_else(|_| panic!("the app did not stop within {bound:?}"))
        .expect("join");
    (started.elapsed(), result)
}
