//! Stream processing (`kafkit::streams`) on a real Apache Kafka broker:
//! the scenarios of tests/streams_mock.rs, exactly-once tables and
//! rebalances with exact counts, and workers killed with SIGKILL. They run
//! when KAFKA_BOOTSTRAP_SERVERS is set (scripts/test.sh starts a broker and
//! sets it) and otherwise print that they were not run.

mod common;

use common::stream_crash;
use common::stream_scenarios as scenarios;
use common::Target;
use kafkit::streams::Guarantee;

fn broker(test: &str) -> Option<Target> {
    Target::broker(test)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_streams_agent_panic_then_restart_processes_everything() {
    if let Some(target) = broker("broker_streams_agent_panic_then_restart") {
        scenarios::agent_panic_then_restart(&target).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_streams_take_respects_max_and_within() {
    if let Some(target) = broker("broker_streams_take_respects_max_and_within") {
        scenarios::take_respects_both_limits(&target).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_streams_timers_fire_until_stopped() {
    if let Some(target) = broker("broker_streams_timers_fire_until_stopped") {
        scenarios::timers_fire_until_stopped(&target).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_streams_table_survives_a_restart() {
    if let Some(target) = broker("broker_streams_table_survives_a_restart") {
        scenarios::table_survives_a_restart(&target, Guarantee::AtLeastOnce).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_streams_table_survives_a_restart_exactly_once() {
    if let Some(target) = broker("broker_streams_table_survives_a_restart_exactly_once") {
        scenarios::table_survives_a_restart(&target, Guarantee::ExactlyOnce).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_streams_rebalance_moves_table_state() {
    if let Some(target) = broker("broker_streams_rebalance_moves_table_state") {
        scenarios::rebalance_moves_table_state(&target, Guarantee::AtLeastOnce).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_streams_rebalance_moves_table_state_exactly_once() {
    if let Some(target) = broker("broker_streams_rebalance_moves_table_state_exactly_once") {
        scenarios::rebalance_moves_table_state(&target, Guarantee::ExactlyOnce).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_streams_bad_events_go_to_dead_letters() {
    if let Some(target) = broker("broker_streams_bad_events_go_to_dead_letters") {
        scenarios::bad_events_go_to_dead_letters(&target).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_streams_exactly_once_forwarding() {
    if let Some(target) = broker("broker_streams_exactly_once_forwarding") {
        scenarios::exactly_once_forwarding(&target).await;
    }
}

#[test]
fn broker_streams_at_least_once_worker_killed_twice() {
    if stream_crash::crash_child() {
        return;
    }
    let test = "broker_streams_at_least_once_worker_killed_twice";
    if let Some(target) = broker(test) {
        stream_crash::at_least_once_worker_killed(&target, test);
    }
}

#[test]
fn broker_streams_exactly_once_word_count_killed_three_times() {
    if stream_crash::crash_child() {
        return;
    }
    let test = "broker_streams_exactly_once_word_count_killed_three_times";
    if let Some(target) = broker(test) {
        stream_crash::exactly_once_word_count_killed(&target, test);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_streams_windowed_counts_expire_and_restore() {
    if let Some(target) = broker("broker_streams_windowed_counts_expire_and_restore") {
        common::stream_windows::windowed_counts(&target).await;
    }
}

#[cfg(feature = "disk-store")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_streams_table_on_disk_survives_a_restart() {
    if let Some(target) = broker("broker_streams_table_on_disk_survives_a_restart") {
        common::stream_disk::table_on_disk_survives_a_restart(&target).await;
    }
}
