//! Broker failures on the three-node KRaft cluster started by
//! `scripts/kafka.sh start cluster`: a node is killed or restarted while
//! kafkit clients work, and nothing may be lost.
//!
//! The tests run when KAFKA_CLUSTER_BOOTSTRAP_SERVERS is set (scripts/test.sh
//! starts the cluster and sets it) and otherwise print that they were not
//! run. They stop and start cluster nodes, so they run one at a time (a lock
//! keeps them apart even without `--test-threads=1`), and they leave all
//! three nodes running, also when they fail.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::cluster::{
    cluster, create_topic, exclusive, group_coordinator, parse_describe, runtime,
    wait_fully_replicated, NodeDown,
};
use common::tool::kafka_sh;
use common::unique;
use kafkit::{
    Acks, BatchOutcome, ClientConfig, Consumer, DeliveryFuture, ExactlyOnce, Offset, OffsetReset,
    Producer, Record,
};

/// Reads partitions `0..partitions` of `topic` from the beginning until
/// `total` messages came or `timeout` passed, then a little longer to catch
/// extra copies, and returns how often each number was read.
fn count_numbers(
    servers: &str,
    topic: &str,
    partitions: i32,
    total: usize,
    timeout: Duration,
) -> Vec<u32> {
    let mut config = ClientConfig::new();
    config
        .bootstrap_servers(servers)
        .and_then(|c| c.group_id(&unique("verify")))
        .and_then(|c| c.enable_auto_commit(false))
        .expect("consumer config");
    let consumer = Consumer::new(&config).expect("consumer");
    let assignment: Vec<(&str, i32, Offset)> = (0..partitions)
        .map(|p| (topic, p, Offset::Beginning))
        .collect();
    consumer.assign(&assignment).expect("assign");
    let mut counts = vec![0u32; total];
    let mut read = 0usize;
    let deadline = Instant::now() + timeout;
    let mut settle: Option<Instant> = None;
    loop {
        let now = Instant::now();
        if settle.is_some_and(|s| now >= s) || now >= deadline {
            break;
        }
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => {
                let n: usize = m
                    .value_str()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| panic!("unexpected value in {m:?}"));
                assert!(n < total, "number {n} was never sent");
                counts[n] += 1;
                read += 1;
                if read == total {
                    settle = Some(Instant::now() + Duration::from_secs(2));
                }
            }
            Some(Err(e)) => eprintln!("verifying consumer: {e}"),
            None => {}
        }
    }
    let _ = consumer.close();
    counts
}

/// A few examples from a list of numbers, for failure messages.
fn sample(numbers: &[usize]) -> String {
    let shown: Vec<String> = numbers.iter().take(10).map(usize::to_string).collect();
    format!("{} (first: {})", numbers.len(), shown.join(", "))
}

/// An idempotent producer (acks=all) keeps many records in flight while
/// the leader of partition 0 is killed with SIGKILL; every delivery succeeds
/// and every record is in the log exactly once.
#[test]
fn cluster_idempotent_producer_survives_leader_kill() {
    let Some(servers) = cluster("cluster_idempotent_producer_survives_leader_kill") else {
        return;
    };
    let _exclusive = exclusive();
    let started = Instant::now();
    const TOTAL: usize = 200_000;
    let topic = unique("idempotent-kill");
    create_topic(&servers, &topic, 3);
    let layout = wait_fully_replicated(&servers, &topic, 3);
    let leader = layout[&0].leader.expect("partition 0 has a leader");
    eprintln!("{topic}: {layout:?}; killing node {leader}, the leader of partition 0");

    let mut config = ClientConfig::new();
    config
        .bootstrap_servers(&servers)
        .and_then(|c| c.enable_idempotence(true))
        .and_then(|c| c.acks(Acks::All))
        .and_then(|c| c.linger(Duration::from_millis(5)))
        .expect("producer config");
    let producer = Producer::new(&config).expect("producer");

    // Armed from the start: restarting a node that is still up is a no-op.
    let mut node = NodeDown::new(leader);
    let rt = runtime();
    let produced = rt.block_on(async {
        let work = async {
            let mut deliveries: Vec<DeliveryFuture> = Vec::with_capacity(TOTAL);
            let mut killer = None;
            let mut killed_at = None;
            for i in 0..TOTAL {
                if i == TOTAL / 4 {
                    killed_at = Some(Instant::now());
                    killer = Some(std::thread::spawn(move || {
                        NodeDown::take_down(leader, "kill-node")
                    }));
                }
                let record = Record::to(topic.as_str()).value(i.to_string());
                match producer.send(record).await {
                    Ok(d) => deliveries.push(d),
                    Err(e) => panic!("enqueueing {i} failed: {e}"),
                }
            }
            let enqueued = started.elapsed();
            let kill = tokio::task::spawn_blocking(move || killer.map(|k| k.join()))
                .await
                .expect("kill thread");
            match kill {
                Some(Ok(run)) => assert!(run.ok(), "kill-node {leader} failed: {}", run.describe()),
                _ => panic!("the kill thread did not run"),
            }
            let mut failed = Vec::new();
            let mut per_partition = BTreeMap::<i32, usize>::new();
            for (i, d) in deliveries.into_iter().enumerate() {
                match d.await {
                    Ok(meta) => *per_partition.entry(meta.partition).or_default() += 1,
                    Err(e) => failed.push(format!("{i}: {e}")),
                }
            }
            (enqueued, killed_at, failed, per_partition)
        };
        tokio::time::timeout(Duration::from_secs(300), work).await
    });
    let (enqueued, killed_at, failed, per_partition) =
        produced.expect("sending and delivering 200k records took over 300 s");
    eprintln!(
        "{TOTAL} enqueued after {enqueued:?}, all reported after {:?} (node {leader} killed {:?} in); \
         deliveries per partition {per_partition:?}",
        started.elapsed(),
        killed_at.map(|k| k.duration_since(started))
    );
    assert!(
        failed.is_empty(),
        "{} of {TOTAL} deliveries failed, e.g. {:?}",
        failed.len(),
        &failed[..failed.len().min(5)]
    );
    if let Some(e) = producer.fatal_error() {
        panic!("the idempotent producer is in a fatal error: {e}");
    }
    drop(producer);

    // The records went through a leader change: partition 0 is led by
    // another node now.
    let after = parse_describe(
        &kafka_sh(
            &[
                "topics",
                "--bootstrap-server",
                &servers,
                "--describe",
                "--topic",
                &topic,
            ],
            None,
            Duration::from_secs(60),
        )
        .stdout_text(),
    );
    eprintln!("after the kill: {after:?}");
    assert!(
        after
            .get(&0)
            .is_some_and(|p| p.leader.is_some_and(|l| l != leader)),
        "partition 0 is not led by another node after killing node {leader}: {after:?}"
    );

    // Restore the cluster for the next test, then check the log.
    let run = node.restart();
    assert!(run.ok(), "start-node {leader} failed: {}", run.describe());

    let counts = count_numbers(&servers, &topic, 3, TOTAL, Duration::from_secs(120));
    let missing: Vec<usize> = (0..TOTAL).filter(|n| counts[*n] == 0).collect();
    let repeated: Vec<usize> = (0..TOTAL).filter(|n| counts[*n] > 1).collect();
    assert!(
        missing.is_empty() && repeated.is_empty(),
        "after killing node {leader}: missing {}, more than once {}",
        sample(&missing),
        sample(&repeated)
    );
    eprintln!(
        "cluster_idempotent_producer_survives_leader_kill: {TOTAL} records exactly once in {:?}",
        started.elapsed()
    );
}

/// Numbers read by one group member.
type Seen = Arc<Mutex<Vec<u64>>>;

/// A group member polling on its own thread until `stop`.
fn group_member(
    servers: &str,
    topic: &str,
    group: &str,
    stop: Arc<AtomicBool>,
    seen: Seen,
) -> std::thread::JoinHandle<()> {
    let mut config = ClientConfig::new();
    config
        .bootstrap_servers(servers)
        .and_then(|c| c.group_id(group))
        .and_then(|c| c.auto_offset_reset(OffsetReset::Earliest))
        .expect("consumer config");
    let consumer = Consumer::new(&config).expect("consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    std::thread::spawn(move || {
        while !stop.load(Ordering::Acquire) {
            match consumer.poll(Duration::from_millis(100)) {
                Some(Ok(m)) => {
                    let n = m
                        .value_str()
                        .and_then(|v| v.parse().ok())
                        .unwrap_or_else(|| panic!("unexpected value in {m:?}"));
                    seen.lock().unwrap_or_else(|p| p.into_inner()).push(n);
                }
                // Errors while a node restarts are expected (and retried by
                // librdkafka); what counts is what is read in the end.
                Some(Err(e)) => eprintln!("group member: {e}"),
                None => {}
            }
        }
        if let Err(e) = consumer.close() {
            eprintln!("closing a group member: {e}");
        }
    })
}

/// Sets a flag when dropped, so that threads watching it stop also when the
/// test fails.
struct SetOnDrop(Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

fn len(seen: &Seen) -> usize {
    seen.lock().unwrap_or_else(|p| p.into_inner()).len()
}

/// Two consumers in one group share a six-partition topic while numbered
/// records are produced continuously; the group coordinator (or node 2) is
/// stopped and started again in the middle. Together they read every record,
/// including all produced after the restart, and both take part.
#[test]
fn cluster_group_of_two_keeps_consuming_across_node_restart() {
    let Some(servers) = cluster("cluster_group_of_two_keeps_consuming_across_node_restart") else {
        return;
    };
    let _exclusive = exclusive();
    let started = Instant::now();
    let topic = unique("group-restart");
    let group = unique("group");
    create_topic(&servers, &topic, 6);
    wait_fully_replicated(&servers, &topic, 6);

    let stop_members = Arc::new(AtomicBool::new(false));
    let _stop_members_on_failure = SetOnDrop(stop_members.clone());
    let seen: [Seen; 2] = [Arc::default(), Arc::default()];
    let members: Vec<_> = seen
        .iter()
        .map(|s| group_member(&servers, &topic, &group, stop_members.clone(), s.clone()))
        .collect();

    let mut config = ClientConfig::new();
    config
        .bootstrap_servers(&servers)
        .and_then(|c| c.enable_idempotence(true))
        .and_then(|c| c.acks(Acks::All))
        .expect("producer config");
    let producer = Producer::new(&config).expect("producer");
    let next = Arc::new(AtomicU64::new(0));
    let stop_producing = Arc::new(AtomicBool::new(false));
    let _stop_producing_on_failure = SetOnDrop(stop_producing.clone());

    let rt = runtime();
    let outcome = rt.block_on(async {
        // About 1000 records a second, spread over the six partitions.
        let producing = {
            let (producer, topic, next, stop) = (
                producer.clone(),
                topic.clone(),
                next.clone(),
                stop_producing.clone(),
            );
            tokio::spawn(async move {
                let mut deliveries = Vec::new();
                while !stop.load(Ordering::Acquire) {
                    for _ in 0..20 {
                        let n = next.fetch_add(1, Ordering::AcqRel);
                        let record = Record::to(topic.as_str())
                            .partition((n % 6) as i32)
                            .value(n.to_string());
                        match producer.send(record).await {
                            Ok(d) => deliveries.push((n, d)),
                            Err(e) => panic!("enqueueing {n} failed: {e}"),
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                deliveries
            })
        };

        // Phase 1: both members take part (the group split the partitions).
        let joined = Instant::now();
        while seen.iter().any(|s| len(s) == 0) || joined.elapsed() < Duration::from_secs(3) {
            assert!(
                joined.elapsed() < Duration::from_secs(90),
                "after 90 s the members read {} and {} records",
                len(&seen[0]),
                len(&seen[1])
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        eprintln!(
            "both members reading after {:?} ({} and {} records)",
            joined.elapsed(),
            len(&seen[0]),
            len(&seen[1])
        );

        // Phase 2: stop the coordinator, keep producing, start it again.
        let (s, g) = (servers.clone(), group.clone());
        let coordinator = tokio::task::spawn_blocking(move || group_coordinator(&s, &g))
            .await
            .expect("coordinator lookup");
        let node_id = coordinator.unwrap_or(2);
        eprintln!(
            "stopping node {node_id} ({})",
            if coordinator.is_some() {
                "the group coordinator"
            } else {
                "coordinator unknown"
            }
        );
        let mut node = NodeDown::new(node_id);
        let stop_run =
            tokio::task::spawn_blocking(move || NodeDown::take_down(node_id, "stop-node"))
                .await
                .expect("stop-node");
        assert!(
            stop_run.ok(),
            "stop-node {node_id} failed: {}",
            stop_run.describe()
        );
        let stopped_at = next.load(Ordering::Acquire);
        tokio::time::sleep(Duration::from_secs(3)).await;
        let (restart_run, node) = tokio::task::spawn_blocking(move || (node.restart(), node))
            .await
            .expect("start-node");
        assert!(
            restart_run.ok(),
            "start-node {node_id} failed: {}",
            restart_run.describe()
        );
        let restarted_at = next.load(Ordering::Acquire);

        // Phase 3: keep producing after the restart, then stop and collect
        // every delivery.
        tokio::time::sleep(Duration::from_secs(8)).await;
        stop_producing.store(true, Ordering::Release);
        let deliveries = producing.await.expect("producing task");
        let total = deliveries.len() as u64;
        let mut failed = Vec::new();
        for (n, d) in deliveries {
            match tokio::time::timeout(Duration::from_secs(120), d).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => failed.push(format!("{n}: {e}")),
                Err(_) => failed.push(format!("{n}: not reported within 120 s")),
            }
        }
        assert!(
            failed.is_empty(),
            "{} of {total} deliveries failed, e.g. {:?}",
            failed.len(),
            &failed[..failed.len().min(5)]
        );

        // Everything is read within a bound.
        let drained = Instant::now();
        loop {
            let mut have = vec![false; total as usize];
            for s in &seen {
                for n in s.lock().unwrap_or_else(|p| p.into_inner()).iter() {
                    if let Some(h) = have.get_mut(*n as usize) {
                        *h = true;
                    }
                }
            }
            let missing: Vec<usize> = (0..total as usize).filter(|n| !have[*n]).collect();
            if missing.is_empty() {
                break;
            }
            if drained.elapsed() > Duration::from_secs(120) {
                let after: Vec<usize> = missing
                    .iter()
                    .copied()
                    .filter(|n| *n as u64 >= restarted_at)
                    .collect();
                panic!(
                    "120 s after the last delivery the group has not read {} of {total} records; \
                     of those produced after the restart (from {restarted_at}) it is missing {}",
                    sample(&missing),
                    sample(&after)
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        (node, total, stopped_at, restarted_at, drained.elapsed())
    });
    let (node, total, stopped_at, restarted_at, drain_time) = outcome;
    drop(node);
    stop_members.store(true, Ordering::Release);
    for m in members {
        m.join().expect("group member thread");
    }

    let per_member: Vec<Vec<u64>> = seen
        .iter()
        .map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).clone())
        .collect();
    let read: usize = per_member.iter().map(Vec::len).sum();
    let after_restart: Vec<usize> = per_member
        .iter()
        .map(|v| v.iter().filter(|n| **n >= restarted_at).count())
        .collect();
    eprintln!(
        "cluster_group_of_two_keeps_consuming_across_node_restart: {total} records \
         (node stopped at {stopped_at}, back at {restarted_at}), read {read} times \
         ({} duplicates) by members {:?}, after the restart {:?}; drained in {drain_time:?}, \
         test took {:?}",
        read as u64 - total,
        per_member.iter().map(Vec::len).collect::<Vec<_>>(),
        after_restart,
        started.elapsed()
    );
    assert!(
        restarted_at < total,
        "nothing was produced after the restart"
    );
    for (i, count) in after_restart.iter().enumerate() {
        assert!(
            *count > 0,
            "member {i} read nothing produced after the restart (members: {after_restart:?})"
        );
    }
}

/// The transaction coordinator of `transactional_id`, from Kafka's
/// `TransactionsCommand describe` (its first column is `CoordinatorId`).
fn transaction_coordinator(servers: &str, transactional_id: &str) -> Option<u32> {
    let run = kafka_sh(
        &[
            "run",
            "org.apache.kafka.tools.TransactionsCommand",
            "--bootstrap-server",
            servers,
            "describe",
            "--transactional-id",
            transactional_id,
        ],
        None,
        Duration::from_secs(60),
    );
    let stdout = run.stdout_text();
    let line = stdout
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some(transactional_id))?;
    eprintln!("transaction state: {}", line.trim());
    line.split_whitespace().next()?.parse().ok()
}

/// One exactly-once processing instance: the output value of input `n` is
/// `n` again, so [`count_numbers`] can check the output.
fn eos_instance(servers: &str, input: &str, group: &str, txn_id: &str) -> ExactlyOnce {
    let mut consumer_config = ClientConfig::new();
    consumer_config
        .bootstrap_servers(servers)
        .and_then(|c| c.group_id(group))
        .and_then(|c| c.enable_auto_commit(false))
        .and_then(|c| c.auto_offset_reset(OffsetReset::Earliest))
        .and_then(|c| c.set("session.timeout.ms", "6000"))
        .expect("consumer config");
    let consumer = Consumer::new(&consumer_config).expect("consumer");
    consumer.subscribe(&[input]).expect("subscribe");
    let mut producer_config = ClientConfig::new();
    producer_config
        .bootstrap_servers(servers)
        .and_then(|c| c.set("transactional.id", txn_id))
        .expect("producer config");
    let producer = Producer::new(&producer_config).expect("producer");
    ExactlyOnce::new(consumer, producer, Duration::from_secs(30)).expect("init transactions")
}

/// The group's committed offsets over the instance's assignment, summed.
fn eos_committed(eos: &ExactlyOnce) -> Result<u64, kafkit::Error> {
    let assigned: Vec<(String, i32)> = eos
        .consumer()
        .assignment()?
        .into_iter()
        .map(|tp| (tp.topic, tp.partition))
        .collect();
    let partitions: Vec<(&str, i32)> = assigned.iter().map(|(t, p)| (t.as_str(), *p)).collect();
    let mut total = 0;
    for p in eos
        .consumer()
        .committed(&partitions, Duration::from_secs(30))?
    {
        if let Offset::At(n) = p.offset {
            total += n.max(0) as u64;
        }
    }
    Ok(total)
}

/// The consume-transform-produce loop runs in transactions while the node
/// that coordinates its transactions is killed with SIGKILL. The loop goes
/// on through the errors the kill causes (a fatal one would need a new
/// producer, and gets one), and at the end the `read_committed` output has
/// every input exactly once.
#[test]
fn cluster_exactly_once_survives_transaction_coordinator_kill() {
    let Some(servers) = cluster("cluster_exactly_once_survives_transaction_coordinator_kill")
    else {
        return;
    };
    let _exclusive = exclusive();
    let started = Instant::now();
    const TOTAL: usize = 40_000;
    let input = unique("eos-kill-in");
    let output = unique("eos-kill-out");
    create_topic(&servers, &input, 3);
    create_topic(&servers, &output, 1);
    wait_fully_replicated(&servers, &input, 3);
    wait_fully_replicated(&servers, &output, 1);

    let mut config = ClientConfig::new();
    config
        .bootstrap_servers(&servers)
        .and_then(|c| c.enable_idempotence(true))
        .expect("producer config");
    let producer = Producer::new(&config).expect("producer");
    for n in 0..TOTAL {
        drop(
            producer
                .send_blocking(
                    Record::to(input.as_str()).value(n.to_string()),
                    Duration::from_secs(30),
                )
                .expect("send"),
        );
    }
    producer
        .flush(Duration::from_secs(60))
        .expect("flush the input");
    drop(producer);

    let group = unique("eos-kill-group");
    let txn_id = unique("eos-kill-txn");
    let committed = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let worker = {
        let (servers, input, output, group, txn_id) = (
            servers.clone(),
            input.clone(),
            output.clone(),
            group.clone(),
            txn_id.clone(),
        );
        let (committed, stop) = (committed.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut eos = eos_instance(&servers, &input, &group, &txn_id);
            let (mut errors, mut rebuilt) = (Vec::new(), 0);
            while !stop.load(Ordering::Relaxed) {
                let outcome = eos.process(500, Duration::from_millis(200), |m| {
                    Ok(vec![
                        Record::to(output.as_str()).value(m.value().unwrap_or_default().to_vec())
                    ])
                });
                match outcome {
                    Ok(BatchOutcome::Committed { inputs, .. }) => {
                        committed.fetch_add(inputs as u64, Ordering::Relaxed);
                    }
                    Ok(BatchOutcome::Empty) => {
                        if eos_committed(&eos).is_ok_and(|c| c >= TOTAL as u64) {
                            break;
                        }
                    }
                    Ok(other) => eprintln!("batch: {other:?}"),
                    Err(e) => {
                        eprintln!("process: {e} ({:?})", e.txn_action());
                        let fatal = e.txn_action() == kafkit::TxnAction::Fatal;
                        errors.push(e.to_string());
                        if fatal {
                            // A fenced or broken producer: a new instance
                            // with the same transactional id goes on.
                            let _ = eos.consumer().close();
                            drop(eos);
                            eos = eos_instance(&servers, &input, &group, &txn_id);
                            rebuilt += 1;
                        } else {
                            std::thread::sleep(Duration::from_millis(500));
                        }
                    }
                }
            }
            let _ = eos.consumer().close();
            (errors, rebuilt)
        })
    };

    // Kill the coordinator once a quarter of the input is committed.
    let wait_for = |n: u64, what: &str| {
        let deadline = Instant::now() + Duration::from_secs(180);
        while committed.load(Ordering::Relaxed) < n {
            if Instant::now() >= deadline || worker.is_finished() {
                stop.store(true, Ordering::Relaxed);
                panic!(
                    "{what}: only {} inputs committed",
                    committed.load(Ordering::Relaxed)
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    wait_for(TOTAL as u64 / 4, "before the kill");
    let coordinator = transaction_coordinator(&servers, &txn_id)
        .expect("the transaction coordinator of the running loop");
    let mut node = NodeDown::new(coordinator);
    let at_kill = committed.load(Ordering::Relaxed);
    let run = NodeDown::take_down(coordinator, "kill-node");
    assert!(
        run.ok(),
        "kill-node {coordinator} failed: {}",
        run.describe()
    );
    // It goes on without the node.
    wait_for(at_kill + 5_000, "after the kill");
    let moved = transaction_coordinator(&servers, &txn_id);
    eprintln!(
        "coordinator {coordinator} killed at {at_kill} committed inputs; the coordinator is now {moved:?}"
    );
    let run = node.restart();
    assert!(
        run.ok(),
        "start-node {coordinator} failed: {}",
        run.describe()
    );

    let deadline = Instant::now() + Duration::from_secs(240);
    while !worker.is_finished() {
        if Instant::now() >= deadline {
            stop.store(true, Ordering::Relaxed);
            panic!(
                "the loop did not finish: {} committed",
                committed.load(Ordering::Relaxed)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let (errors, rebuilt) = worker.join().expect("the loop's thread");
    eprintln!(
        "the loop saw {} errors ({rebuilt} new producers): {errors:?}",
        errors.len()
    );
    assert_ne!(
        moved,
        Some(coordinator),
        "the coordinator moved to a live node"
    );

    let counts = count_numbers(&servers, &output, 1, TOTAL, Duration::from_secs(120));
    let missing: Vec<usize> = (0..TOTAL).filter(|n| counts[*n] == 0).collect();
    let repeated: Vec<usize> = (0..TOTAL).filter(|n| counts[*n] > 1).collect();
    assert!(
        missing.is_empty() && repeated.is_empty(),
        "after killing coordinator {coordinator}: missing {}, more than once {}",
        sample(&missing),
        sample(&repeated)
    );
    eprintln!(
        "cluster_exactly_once_survives_transaction_coordinator_kill: {TOTAL} inputs exactly once \
         in the output in {:?}",
        started.elapsed()
    );
}
