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
    scenarios::rebalance_moves_table_state(&Target::mock(1)).await;
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
