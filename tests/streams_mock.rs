//! Stream processing (`kafkit::streams`) on librdkafka's mock cluster.

mod common;

use std::time::Duration;

use common::stream_scenarios as scenarios;
use common::{unique, Target};
use futures::StreamExt;
use kafkit::streams::{App, Guarantee};
use kafkit::{NoKey, StringCodec, TypedTopic};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mock_streams_agent_panic_then_restart_processes_everything() {
    scenarios::agent_panic_then_restart(&Target::mock(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mock_streams_take_respects_max_and_within() {
    scenarios::take_respects_both_limits(&Target::mock(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mock_streams_timers_fire_until_stopped() {
    scenarios::timers_fire_until_stopped(&Target::mock(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mock_streams_table_survives_a_restart() {
    scenarios::table_survives_a_restart(&Target::mock(1), Guarantee::AtLeastOnce).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mock_streams_rebalance_moves_table_state() {
    scenarios::rebalance_moves_table_state(&Target::mock(1), Guarantee::AtLeastOnce).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mock_streams_bad_events_go_to_dead_letters() {
    scenarios::bad_events_go_to_dead_letters(&Target::mock(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mock_streams_exactly_once_forwarding() {
    scenarios::exactly_once_forwarding(&Target::mock(3)).await;
}

/// With every broker gone, stopping still ends within the shutdown bound:
/// the commit and the leave give up at it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mock_streams_shutdown_is_bounded_with_the_broker_gone() {
    let target = Target::mock(1);
    let Target::Mock(mock) = &target else {
        unreachable!()
    };
    let input = target.topic("st-gone-in", 2);
    let output = target.topic("st-gone-out", 2);
    scenarios::send_values(&target, &input, (0..100).map(|i| i.to_string())).await;
    let bound = Duration::from_secs(3);
    let mut app = App::builder(unique("st-gone-app"), &scenarios::app_config(&target))
        .commit_interval(Duration::from_millis(100))
        .shutdown_timeout(bound)
        .build()
        .expect("app");
    let topic = TypedTopic::new(input.as_str(), NoKey, StringCodec);
    let sink = app.sink(&TypedTopic::new(output.as_str(), NoKey, StringCodec));
    app.agent("forward", &topic, move |mut stream| {
        let sink = sink.clone();
        async move {
            while let Some(event) = stream.next().await {
                sink.send((), &event?.value).await?;
            }
            Ok(())
        }
    })
    .expect("agent");
    let handle = app.handle();
    let run = tokio::spawn(app.run_until(std::future::pending()));
    scenarios::wait_for("100 events", Duration::from_secs(30), || {
        handle.acknowledged() >= 100
    })
    .await;
    mock.broker_down(1).expect("broker down");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (took, result) = scenarios::stop_within(&handle, run, bound * 4).await;
    eprintln!("stopped in {took:?} with the broker gone: {result:?}");
    assert!(took < bound * 3, "took {took:?}");
}

#[test]
fn mock_streams_bad_declarations_are_refused() {
    let target = Target::mock(1);
    let config = target.config();
    assert!(App::new("", &config).is_err());
    let mut app = App::new("st-bad", &config).expect("app");
    let topic = TypedTopic::new("t", NoKey, StringCodec);
    let agent = |mut s: kafkit::streams::AgentStream<(), String>| async move {
        while s.next().await.is_some() {}
        Ok(())
    };
    app.agent("one", &topic, agent).expect("first agent");
    let e = app
        .agent("two", &topic, agent)
        .expect_err("two agents on one topic");
    assert!(e.to_string().contains("already has agent one"), "{e}");
    let e = app
        .timer(Duration::ZERO, || async { Ok(()) })
        .expect_err("zero interval");
    assert!(e.to_string().contains("more than zero"), "{e}");
    let e = app
        .crontab("61 * * * *", Default::default(), || async { Ok(()) })
        .expect_err("bad cron");
    assert!(e.to_string().contains("outside 0-59"), "{e}");
    let codecs = TypedTopic::new("", StringCodec, StringCodec);
    app.table("t1", "t", &codecs).expect("table");
    assert!(
        app.table("t1", "t", &codecs).is_err(),
        "two tables of one name"
    );
}

/// At least once, offsets are committed while the agent keeps sending:
/// the commit waits for the records sent before its events were
/// acknowledged, not for an empty queue (which never comes while events
/// flow and deliveries take 200 ms).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mock_streams_commits_while_events_flow() {
    const N: usize = 20_000;
    let target = Target::mock(2);
    let Target::Mock(mock) = &target else {
        unreachable!()
    };
    let input = target.topic("st-flow-in", 1);
    let output = target.topic("st-flow-out", 1);
    mock.set_partition_leader(&input, 0, 1).expect("leader");
    mock.set_partition_leader(&output, 0, 2).expect("leader");
    scenarios::send_values(&target, &input, (0..N).map(|i| i.to_string())).await;
    mock.set_rtt(2, Duration::from_millis(200)).expect("rtt");
    let id = unique("st-flow-app");
    let mut app = App::builder(&id, &scenarios::app_config(&target))
        .commit_interval(Duration::from_millis(100))
        .build()
        .expect("app");
    let topic = TypedTopic::new(input.as_str(), NoKey, StringCodec);
    let sink = app.sink(&TypedTopic::new(output.as_str(), NoKey, StringCodec));
    // About 5 000 events a second: records to the output are always in
    // flight while the input lasts.
    app.agent("forward", &topic, move |mut stream| {
        let sink = sink.clone();
        async move {
            let mut n = 0u64;
            while let Some(event) = stream.next().await {
                sink.send((), &event?.value).await?;
                n += 1;
                if n % 5 == 0 {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
            Ok(())
        }
    })
    .expect("agent");
    let handle = app.handle();
    let run = tokio::spawn(app.run_until(std::future::pending()));
    scenarios::wait_for("2 000 events", Duration::from_secs(30), || {
        handle.acknowledged() >= 2000
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let committed = committed_offset(&target, &id, &input);
    let acknowledged = handle.acknowledged();
    eprintln!("{acknowledged} acknowledged, committed offset {committed}");
    assert!(
        acknowledged < N as u64,
        "the input ended early: nothing is proven"
    );
    assert!(
        committed > 0,
        "no offset committed while events flow ({acknowledged} acknowledged)"
    );
    handle.stop();
    run.await.expect("join").expect("clean stop");
}

fn committed_offset(target: &Target, group: &str, topic: &str) -> i64 {
    let mut config = target.config();
    config
        .group_id(group)
        .and_then(|c| c.enable_auto_commit(false))
        .expect("config");
    let consumer = kafkit::Consumer::new(&config).expect("consumer");
    let committed = consumer
        .committed(&[(topic, 0)], Duration::from_secs(5))
        .expect("committed");
    committed[0].offset.value().unwrap_or(-1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mock_streams_windowed_counts_expire_and_restore() {
    common::stream_windows::windowed_counts(&Target::mock(1)).await;
}

#[cfg(feature = "disk-store")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mock_streams_table_on_disk_survives_a_restart() {
    common::stream_disk::table_on_disk_survives_a_restart(&Target::mock(1)).await;
}

/// One agent over two topics, with stream combinators inside it: every
/// event of both topics that passes the filter is counted once, and the
/// offsets of both topics are committed (filtered events included).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mock_streams_one_agent_on_two_topics_with_combinators() {
    use std::sync::{Arc, Mutex};
    let target = Target::mock(1);
    let (a, b) = (target.topic("st-two-a", 2), target.topic("st-two-b", 1));
    scenarios::send_values(&target, &a, (0..100).map(|i| i.to_string())).await;
    scenarios::send_values(&target, &b, (100..150).map(|i| i.to_string())).await;
    let id = unique("st-two-app");
    let mut app = App::builder(&id, &scenarios::app_config(&target))
        .commit_interval(Duration::from_millis(100))
        .build()
        .expect("app");
    let seen: Arc<Mutex<Vec<(String, i64)>>> = Arc::default();
    let (ta, tb) = (
        TypedTopic::new(a.as_str(), NoKey, StringCodec),
        TypedTopic::new(b.as_str(), NoKey, StringCodec),
    );
    let s = seen.clone();
    app.agent_on("evens", &[&ta, &tb], move |stream| {
        let s = s.clone();
        async move {
            let topic = stream.topic().to_string();
            // Only even numbers, parsed: filter_map and map on the stream.
            let mut evens = Box::pin(
                stream
                    .filter_map(|e| async move {
                        e.map(|e| e.value.parse::<i64>().ok().filter(|n| n % 2 == 0))
                            .transpose()
                    })
                    .map(|n| n.map(|n| n * 10)),
            );
            while let Some(n) = evens.next().await {
                s.lock().unwrap().push((topic.clone(), n?));
            }
            Ok(())
        }
    })
    .expect("agent on two topics");
    assert!(app
        .agent_on(
            "none",
            &[],
            |_s: kafkit::streams::AgentStream<(), String>| async { Ok(()) }
        )
        .is_err());
    let handle = app.handle();
    let run = tokio::spawn(app.run_until(std::future::pending()));
    scenarios::wait_for("both topics committed", Duration::from_secs(30), || {
        scenarios::lag_is_zero(&target, &id, &a, 2) && scenarios::lag_is_zero(&target, &id, &b, 1)
    })
    .await;
    handle.stop();
    run.await.expect("join").expect("clean stop");
    let mut got = seen.lock().unwrap().clone();
    got.sort_by_key(|(_, n)| *n);
    let want: Vec<(String, i64)> = (0..150)
        .filter(|n| n % 2 == 0)
        .map(|n| (if n < 100 { a.clone() } else { b.clone() }, n * 10))
        .collect();
    assert_eq!(got, want);
}
