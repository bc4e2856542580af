//! Building a consumer: [`ConsumerBuilder`], and the rebalance hook that
//! applies librdkafka's assignment changes and tells the listener.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use super::commit::Commits;
use super::reader::Reader;
use super::{Consumer, Inner, RebalanceListener, Shared, TopicPartition};
use crate::client::{guarded, spawn_dispatcher, ClientCore, Handlers};
use crate::config::ClientConfig;
use crate::native::{ClientKind, RebalanceCall, RebalanceHook};
use crate::statistics::Statistics;
use crate::Error;

/// Builds a [`Consumer`] with a rebalance listener and callbacks.
pub struct ConsumerBuilder {
    pub(super) config: ClientConfig,
    pub(super) handlers: Handlers,
    pub(super) listener: Option<Box<dyn RebalanceListener>>,
}

impl ConsumerBuilder {
    /// Calls `f` (on the consumer's dispatcher thread) for errors reported
    /// in the background, such as lost broker connections. Without it they
    /// are logged.
    pub fn on_error(mut self, f: impl Fn(&Error) + Send + Sync + 'static) -> Self {
        self.handlers.on_error = Some(Arc::new(f));
        self
    }

    /// Calls `f` (on the dispatcher thread) with each statistics report;
    /// enable them with `statistics.interval.ms`.
    pub fn on_statistics(mut self, f: impl Fn(&Statistics) + Send + Sync + 'static) -> Self {
        self.handlers.on_statistics = Some(Arc::new(f));
        self
    }

    /// Tells `listener` about partitions assigned, revoked and lost.
    pub fn rebalance_listener(mut self, listener: impl RebalanceListener) -> Self {
        self.listener = Some(Box::new(listener));
        self
    }

    /// Creates the consumer.
    pub fn build(self) -> Result<Consumer, Error> {
        if self.config.get("group.id").map_or(true, str::is_empty) {
            return Err(Error::Config {
                key: "group.id".into(),
                reason: "a consumer needs a group id, even to assign partitions itself".into(),
            });
        }
        // kafkit stores offsets itself, as messages reach the user; librdkafka
        // would store them when it hands a batch to the read buffer.
        let auto_store = self
            .config
            .get("enable.auto.offset.store")
            .map_or(true, parse_bool);
        let mut config = self.config.clone();
        config.set("enable.auto.offset.store", "false")?;
        let target: Arc<OnceLock<Weak<Inner>>> = Arc::new(OnceLock::new());
        let hook = rebalance_hook(target.clone(), self.listener);
        let core = ClientCore::with_rebalance(
            ClientKind::Consumer,
            &config,
            0,
            self.handlers,
            Some(hook),
        )?;
        let Some(queue) = core.native.consumer_queue() else {
            return Err(Error::Config {
                key: "group.id".into(),
                reason: "librdkafka created no consumer queue".into(),
            });
        };
        let shared = Arc::new(Shared {
            core,
            stop: AtomicBool::new(false),
            commits: Commits::default(),
        });
        let dispatcher = spawn_dispatcher(shared.clone())?;
        let inner = Arc::new(Inner {
            main: Reader::new(queue, auto_store),
            split: Mutex::new(Vec::new()),
            auto_store,
            shared,
            dispatcher: Mutex::new(Some(dispatcher)),
            handles: AtomicUsize::new(1),
            closing: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            close_timeout: self.config.close_timeout_value(),
            keepalive: keepalive_interval(&self.config),
            paused: Mutex::new(BTreeSet::new()),
            hold_assigned: AtomicBool::new(false),
        });
        let _ = target.set(Arc::downgrade(&inner));
        Ok(Consumer { inner, owner: true })
    }
}

/// A boolean property's value as librdkafka reads it.
fn parse_bool(value: &str) -> bool {
    let v = value.trim();
    v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("t") || v == "1"
}

/// Half of `max.poll.interval.ms` (librdkafka's default: 300 000).
fn keepalive_interval(config: &ClientConfig) -> Duration {
    let max_poll = config
        .get("max.poll.interval.ms")
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(300_000);
    Duration::from_millis((max_poll / 2).max(100))
}

/// The hook librdkafka calls on rebalances: it applies the change and tells
/// the listener, giving it a handle to the consumer.
fn rebalance_hook(
    target: Arc<OnceLock<Weak<Inner>>>,
    listener: Option<Box<dyn RebalanceListener>>,
) -> RebalanceHook {
    let listener = Mutex::new(listener);
    Box::new(move |call: &RebalanceCall<'_>| {
        let partitions: Vec<TopicPartition> = call
            .partitions()
            .into_iter()
            .map(TopicPartition::from)
            .collect();
        let consumer = target.get().and_then(Weak::upgrade).map(|inner| Consumer {
            inner,
            owner: false,
        });
        let pairs: Vec<(&str, i32)> = partitions
            .iter()
            .map(|tp| (tp.topic.as_str(), tp.partition))
            .collect();
        if let (Some(consumer), false) = (&consumer, call.is_assign()) {
            // Before the listener hears of it: nothing of these partitions
            // is handed out from now on.
            consumer.leave_partitions(&pairs);
        }
        // For a consumer whose listener splits the partitions it is given
        // (stream processing), partitions being assigned have their queues
        // cut from the consumer queue before fetching starts: otherwise a
        // fast first fetch could reach the consumer queue before a
        // partition stream made in on_assigned splits the partition off
        // (librdkafka keeps a forward the application set). The ones not
        // split are joined back after. Only there: with it, a plain
        // consumer's exactly-once loop stopped receiving after the group
        // coordinator was killed (the cluster tier's coordinator test).
        let held = match &consumer {
            Some(c) if call.is_assign() && c.inner.hold_assigned.load(Ordering::Acquire) => {
                c.hold_partition_queues(&pairs)
            }
            _ => Vec::new(),
        };
        if call.is_assign() {
            if let Err(e) = call.apply() {
                tracing::warn!(
                    "assigning {} partitions failed: {}",
                    partitions.len(),
                    e.message
                );
            }
            if let Some(consumer) = &consumer {
                consumer.inner.main.undrop(&pairs);
            }
        }
        let Some(consumer) = consumer else {
            return;
        };
        if let Ok(mut listener) = listener.try_lock() {
            if let Some(listener) = listener.as_mut() {
                guarded("rebalance listener", || {
                    if call.is_assign() {
                        listener.on_assigned(&consumer, &partitions);
                    } else if call.is_lost() {
                        listener.on_lost(&consumer, &partitions);
                    } else {
                        listener.on_revoked(&consumer, &partitions);
                    }
                });
            }
        }
        consumer.release_partition_queues(held);
        // Revocations are applied by the caller after this returns.
    })
}
