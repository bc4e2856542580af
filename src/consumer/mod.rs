//! The consumer: [`Consumer`] and [`Message`].

mod message;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use message::Message;

use crate::client::{spawn_dispatcher, ClientCore, Dispatch, Handlers};
use crate::config::ClientConfig;
use crate::native::ClientKind;
use crate::statistics::Statistics;
use crate::{Error, KafkaError};

/// Where to start reading an assigned partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offset {
    /// The oldest message kept.
    Beginning,
    /// Only messages produced after the assignment.
    End,
    /// The group's committed offset (or `auto.offset.reset` without one).
    Stored,
    /// This exact offset.
    At(i64),
}

impl Offset {
    fn raw(self) -> i64 {
        match self {
            Offset::Beginning => -2,
            Offset::End => -1,
            Offset::Stored => -1000,
            Offset::At(o) => o,
        }
    }
}

struct Shared {
    core: ClientCore,
    stop: AtomicBool,
}

impl Dispatch for Shared {
    fn core(&self) -> &ClientCore {
        &self.core
    }
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }
}

/// A Kafka consumer.
///
/// Logs, errors and statistics are served on a background thread, so they
/// never take a poll's wake-up away from messages.
pub struct Consumer {
    shared: Arc<Shared>,
    dispatcher: Mutex<Option<std::thread::JoinHandle<()>>>,
    closed: AtomicBool,
}

impl Consumer {
    /// Creates a consumer. Set `group.id` to subscribe or commit.
    pub fn new(config: &ClientConfig) -> Result<Self, Error> {
        Self::with_handlers(config, Handlers::default())
    }

    /// Creates a consumer whose statistics reports are passed to `f`.
    pub fn with_statistics(
        config: &ClientConfig,
        f: impl Fn(&Statistics) + Send + Sync + 'static,
    ) -> Result<Self, Error> {
        Self::with_handlers(
            config,
            Handlers {
                on_statistics: Some(Arc::new(f)),
                ..Handlers::default()
            },
        )
    }

    fn with_handlers(config: &ClientConfig, handlers: Handlers) -> Result<Self, Error> {
        let core = ClientCore::new(ClientKind::Consumer, config, 0, handlers)?;
        let shared = Arc::new(Shared {
            core,
            stop: AtomicBool::new(false),
        });
        let dispatcher = spawn_dispatcher(shared.clone())?;
        Ok(Consumer {
            shared,
            dispatcher: Mutex::new(Some(dispatcher)),
            closed: AtomicBool::new(false),
        })
    }

    /// Subscribes to topics by name; names starting with `^` are regular
    /// expressions. Replaces the previous subscription.
    pub fn subscribe(&self, topics: &[&str]) -> Result<(), Error> {
        if topics.is_empty() {
            return Err(Error::InvalidArgument(
                "subscribe needs at least one topic".into(),
            ));
        }
        self.shared
            .core
            .native
            .subscribe(topics)
            .map_err(|e| Error::kafka("subscribe", e))
    }

    /// Reads exactly these partitions, from the given offsets, outside of
    /// any group rebalancing.
    pub fn assign(&self, partitions: &[(&str, i32, Offset)]) -> Result<(), Error> {
        let raw: Vec<(&str, i32, i64)> = partitions
            .iter()
            .map(|(t, p, o)| (*t, *p, o.raw()))
            .collect();
        self.shared
            .core
            .native
            .assign(&raw)
            .map_err(|e| Error::kafka("assign", e))
    }

    /// Waits up to `timeout` for the next message. `None` when none came;
    /// `Some(Err(_))` for a consumer error (such as a partition that does not
    /// exist).
    pub fn poll(&self, timeout: Duration) -> Option<Result<Message, Error>> {
        let msg = self.shared.core.native.consumer_poll(timeout)?;
        let code = msg.err();
        if code != 0 {
            let message = msg.errstr();
            return Some(Err(Error::Kafka(KafkaError::from_raw(
                "consume",
                crate::native::RawError {
                    message,
                    ..crate::native::RawError::from_code(code)
                },
            ))));
        }
        Some(Ok(Message::new(msg, self.shared.clone())))
    }

    /// The latest statistics report (needs `statistics.interval.ms`).
    pub fn statistics(&self) -> Option<Arc<Statistics>> {
        self.shared.core.statistics()
    }

    /// Leaves the group, committing offsets if auto commit is on.
    pub fn close(&self) -> Result<(), Error> {
        if self.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        self.shared
            .core
            .native
            .consumer_close()
            .map_err(|e| Error::kafka("close", e))
    }
}

impl Drop for Consumer {
    fn drop(&mut self) {
        if let Err(e) = self.close() {
            tracing::warn!("closing the consumer failed: {e}");
        }
        self.shared.stop.store(true, Ordering::Release);
        self.shared.core.main_queue.wake();
        let thread = self
            .dispatcher
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }
}

impl std::fmt::Debug for Consumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer")
            .field("name", &self.shared.core.name)
            .finish_non_exhaustive()
    }
}
