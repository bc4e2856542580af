//! Stream processing in the Faust model: an [`App`] runs async agents, one
//! task per assigned partition of their topics, with sinks, batches,
//! timers and tables, at least once or exactly once.
//!
//! - [`App`]: an id (the consumer group and the prefix of transactional
//!   ids), one consumer and one producer, built from a
//!   [`ClientConfig`].
//! - [`App::agent`]: an async function over an [`AgentStream`] of one
//!   topic's decoded events. The app runs it once per assigned partition
//!   (per-partition order, partitions in parallel), starts it when the
//!   partition is assigned and stops it at the next event boundary when the
//!   partition is revoked. [`AgentStream::take`] gives batches of at most
//!   `max` events, waiting at most `within` after the first.
//! - [`Sink`]: a typed topic the agents and timers send to (through the
//!   app's producer, so in exactly-once mode inside its transaction).
//!   Sending to another agent is sending to that agent's topic.
//! - [`App::timer`] and [`App::crontab`]: periodic work, on every worker or
//!   only on the group's leader ([`TimerOptions::on_leader`]).
//! - [`WindowedTable`]: a table of values per key and tumbling or hopping
//!   window of event time ([`Windows`]), windows removed once they expire.
//! - [`Table`]: per-partition key-value state backed by a compacted
//!   changelog topic and restored from it when a partition is assigned,
//!   before the agent resumes.
//! - [`App::run`]: the worker, until SIGINT or SIGTERM, then a bounded
//!   graceful shutdown; [`cli`] parses the app binary's command line.
//!
//! # Guarantees
//! An event counts as processed when its agent asks for the next one (or
//! returns): that is when the event is *acknowledged*.
//!
//! - [`Guarantee::AtLeastOnce`]: every commit interval, the acknowledged
//!   offsets are committed once every record sent before that point has
//!   been delivered. A failed delivery stops the app without committing
//!   past it. After a crash the events since the last commit are processed
//!   again.
//! - [`Guarantee::ExactlyOnce`]: one transaction per commit interval holds
//!   the outputs, the table updates (changelog records) and the input
//!   offsets of every partition of this worker. Commits wait for every
//!   agent to be between events; consumers read `read_committed`. On an
//!   error that aborts the transaction the app stops (after aborting):
//!   started again, it resumes from the last committed transaction, with
//!   its tables restored to the same point.
//!
//! ```no_run
//! # async fn demo() -> Result<(), kafkit::Error> {
//! use futures::StreamExt;
//! use kafkit::streams::App;
//! use kafkit::{ClientConfig, TypedTopic};
//!
//! #[derive(serde::Serialize, serde::Deserialize)]
//! struct Greeting {
//!     from_name: String,
//!     to_name: String,
//! }
//!
//! let config = ClientConfig::from_env()?;
//! let mut app = App::new("hello-app", &config)?;
//! let greetings = TypedTopic::json::<Greeting>("greetings");
//! app.agent("greet", &greetings, |mut stream| async move {
//!     while let Some(event) = stream.next().await {
//!         let greeting = event?.value;
//!         println!("Hello from {} to {}", greeting.from_name, greeting.to_name);
//!     }
//!     Ok(())
//! })?;
//! app.run().await
//! # }
//! ```

mod agent;
pub mod cli;
mod delivery;
mod store;
mod table;
mod timer;
mod window;
mod worker;

use std::borrow::Borrow;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use delivery::{Counted, DeliveryStats};
use futures::future::BoxFuture;

use crate::{ClientConfig, Error, ErrorCode, Producer, Record, TypedTopic};

pub use agent::{AgentStream, Batches, Event};
pub use table::{Table, TablePartition};
pub use timer::{Cron, TimerOptions};
pub use window::{Window, WindowedPartition, WindowedTable, Windows};

/// What an app promises about each input event's effects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Guarantee {
    /// Every event is processed at least once: offsets are committed only
    /// after the agent acknowledged the event and its outputs were
    /// delivered. After a crash some events are processed again.
    #[default]
    AtLeastOnce,
    /// Outputs, table updates and input offsets are committed in one
    /// transaction: after a crash or a rebalance every event's effects are
    /// seen once by `read_committed` readers.
    ExactlyOnce,
}

/// A stream-processing application; see the [module docs](self).
pub struct App {
    core: Arc<Core>,
    agents: Vec<agent::AgentSpec>,
    timers: Vec<timer::TimerSpec>,
    tables: Vec<Arc<table::TableShared>>,
}

impl fmt::Debug for App {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("App")
            .field("id", &self.core.id)
            .field("guarantee", &self.core.settings.guarantee)
            .field(
                "agents",
                &self.agents.iter().map(|a| &a.name).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// Builds an [`App`] with settings other than the defaults.
#[derive(Debug, Clone)]
pub struct AppBuilder {
    id: String,
    config: ClientConfig,
    settings: Settings,
    instance: Option<String>,
}

/// An app's settings.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) guarantee: Guarantee,
    pub(crate) commit_interval: Duration,
    pub(crate) shutdown_timeout: Duration,
    pub(crate) txn_timeout: Duration,
    #[cfg(feature = "disk-store")]
    pub(crate) state_dir: Option<std::path::PathBuf>,
}

impl AppBuilder {
    /// Keeps the tables' state on disk, in redb files under `dir` (one
    /// folder per worker, one file per table partition), instead of in
    /// memory: for state larger than memory. A partition's file is rebuilt
    /// from its changelog when the partition is assigned and deleted when
    /// it is revoked (the changelog stays the truth; the file is no
    /// checkpoint).
    #[cfg(feature = "disk-store")]
    pub fn state_dir(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.settings.state_dir = Some(dir.into());
        self
    }

    /// At least once (the default) or exactly once.
    pub fn guarantee(mut self, guarantee: Guarantee) -> Self {
        self.settings.guarantee = guarantee;
        self
    }

    /// How often acknowledged offsets are committed (and, exactly once, how
    /// long a transaction stays open): 1 s by default.
    pub fn commit_interval(mut self, interval: Duration) -> Self {
        self.settings.commit_interval = interval;
        self
    }

    /// How long a graceful shutdown may take (finishing the events in
    /// progress, the last commit, leaving the group): 30 s by default.
    /// What is still running then is cancelled, uncommitted.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.settings.shutdown_timeout = timeout;
        self
    }

    /// The name of this worker among the app's workers, for its
    /// transactional id (`{app id}-{instance}`) in exactly-once mode.
    /// Give each worker its own, the same across its restarts: a restarted
    /// worker then aborts what its crashed predecessor left open at once,
    /// instead of after `transaction.timeout.ms`. By default it is made
    /// from the process id and the start time.
    pub fn instance(mut self, instance: impl Into<String>) -> Self {
        self.instance = Some(instance.into());
        self
    }

    /// Creates the app and its producer.
    pub fn build(self) -> Result<App, Error> {
        if self.id.is_empty() || self.id.contains('\0') {
            return Err(Error::InvalidArgument(
                "an app id must be a non-empty string without NUL bytes".into(),
            ));
        }
        if self.settings.commit_interval.is_zero() {
            return Err(Error::InvalidArgument(
                "the commit interval must be more than zero".into(),
            ));
        }
        let settings = self.settings;
        let mut producer_config = self.config.clone();
        let exactly_once = settings.guarantee == Guarantee::ExactlyOnce;
        let instance = self.instance.unwrap_or_else(default_instance);
        let transactional_id = format!("{}-{instance}", self.id);
        if exactly_once {
            producer_config.set("transactional.id", &transactional_id)?;
            if self.config.get("transaction.timeout.ms").is_none() {
                // Kafka Streams' choice for exactly-once: a crashed worker's
                // open transaction blocks read_committed readers of its
                // partitions for at most this long.
                producer_config.set("transaction.timeout.ms", "10000")?;
            }
        }
        let stats = Arc::new(DeliveryStats::default());
        let on_delivery = stats.clone();
        let producer = Producer::builder(&producer_config)
            .on_delivery(move |result, opaque| {
                // Only the app's own records (see `DeliveryStats::sending`):
                // one produced on `App::producer()` by other code is not
                // the app's to count.
                let Some(epoch) = DeliveryStats::epoch_of(opaque) else {
                    return;
                };
                if let Err(e) = result {
                    on_delivery.failed(e.error);
                }
                on_delivery.delivered(epoch);
            })
            .build()?;
        let core = Arc::new(Core {
            id: self.id,
            transactional_id,
            config: self.config,
            settings,
            producer,
            stats,
            state: worker::RunState::default(),
        });
        Ok(App {
            core,
            agents: Vec::new(),
            timers: Vec::new(),
            tables: Vec::new(),
        })
    }
}

fn default_instance() -> String {
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    format!("{}-{started}", std::process::id())
}

impl App {
    /// An app with the default settings: at least once, 1 s commit
    /// interval, 30 s shutdown bound. `id` is its consumer group.
    pub fn new(id: impl Into<String>, config: &ClientConfig) -> Result<App, Error> {
        App::builder(id, config).build()
    }

    /// A builder for an app named `id`, with the connection settings (and
    /// any other librdkafka property) of `config`.
    pub fn builder(id: impl Into<String>, config: &ClientConfig) -> AppBuilder {
        AppBuilder {
            id: id.into(),
            config: config.clone(),
            settings: Settings {
                guarantee: Guarantee::AtLeastOnce,
                commit_interval: Duration::from_secs(1),
                shutdown_timeout: Duration::from_secs(30),
                txn_timeout: Duration::from_secs(30),
                #[cfg(feature = "disk-store")]
                state_dir: None,
            },
            instance: None,
        }
    }

    /// The app's id (its consumer group).
    pub fn id(&self) -> &str {
        &self.core.id
    }

    /// The app's guarantee.
    pub fn guarantee(&self) -> Guarantee {
        self.core.settings.guarantee
    }

    /// The transactional id of this worker's producer (exactly-once mode).
    pub fn transactional_id(&self) -> &str {
        &self.core.transactional_id
    }

    /// The app's producer: records sent through it outside agents and
    /// timers are not part of any transaction or commit.
    pub fn producer(&self) -> &Producer {
        &self.core.producer
    }

    /// Declares an agent named `name` on `topic`: `agent` is called once
    /// per assigned partition with that partition's stream of decoded
    /// events, in a task of its own, and should read it to the end. An
    /// agent that returns an error (or panics) stops the app with that
    /// error, its event unacknowledged.
    ///
    /// One agent per topic.
    pub fn agent<K, V, F, Fut>(
        &mut self,
        name: &str,
        topic: &TypedTopic<K, V>,
        agent: F,
    ) -> Result<&mut Self, Error>
    where
        K: Send + 'static,
        V: Send + 'static,
        F: Fn(AgentStream<K, V>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), Error>> + Send + 'static,
    {
        self.agent_with(name, topic, None, agent)
    }

    /// One agent over several topics of the same key and value types: the
    /// app runs `agent` once per assigned partition of each of them (each
    /// stream reads one partition of one topic; [`AgentStream::topic`]
    /// says which).
    pub fn agent_on<K, V, F, Fut>(
        &mut self,
        name: &str,
        topics: &[&TypedTopic<K, V>],
        agent: F,
    ) -> Result<&mut Self, Error>
    where
        K: Send + 'static,
        V: Send + 'static,
        F: Fn(AgentStream<K, V>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), Error>> + Send + 'static,
    {
        if topics.is_empty() {
            return Err(Error::InvalidArgument(format!(
                "agent {name} needs at least one topic"
            )));
        }
        let agent = Arc::new(agent);
        for topic in topics {
            let agent = agent.clone();
            self.agent_with(name, topic, None, move |stream| agent(stream))?;
        }
        Ok(self)
    }

    /// [`agent`](Self::agent) with a dead-letter topic: events whose key or
    /// value does not decode are forwarded there (with the headers of
    /// [`DeadLetter`](crate::DeadLetter)) instead of being logged and
    /// skipped.
    pub fn agent_with_dead_letters<K, V, F, Fut>(
        &mut self,
        name: &str,
        topic: &TypedTopic<K, V>,
        dead_letters: &str,
        agent: F,
    ) -> Result<&mut Self, Error>
    where
        K: Send + 'static,
        V: Send + 'static,
        F: Fn(AgentStream<K, V>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), Error>> + Send + 'static,
    {
        self.agent_with(name, topic, Some(dead_letters), agent)
    }

    fn agent_with<K, V, F, Fut>(
        &mut self,
        name: &str,
        topic: &TypedTopic<K, V>,
        dead_letters: Option<&str>,
        agent: F,
    ) -> Result<&mut Self, Error>
    where
        K: Send + 'static,
        V: Send + 'static,
        F: Fn(AgentStream<K, V>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), Error>> + Send + 'static,
    {
        let name_of_topic = topic.topic().as_str();
        if let Some(other) = self.agents.iter().find(|a| a.topic == name_of_topic) {
            return Err(Error::InvalidArgument(format!(
                "topic {name_of_topic} already has agent {}: one agent per topic",
                other.name
            )));
        }
        let topic = topic.clone();
        let dead_letters = dead_letters.map(crate::Topic::new);
        let run = move |input: agent::PartitionInput| -> BoxFuture<'static, Result<(), Error>> {
            let stream = AgentStream::new(topic.clone(), dead_letters, input);
            Box::pin(agent(stream))
        };
        self.agents.push(agent::AgentSpec {
            name: name.to_string(),
            topic: name_of_topic.to_string(),
            run: Arc::new(run),
        });
        Ok(self)
    }

    /// A sink for `topic`: agents and timers send typed records through it.
    pub fn sink<K: 'static, V: 'static>(&self, topic: &TypedTopic<K, V>) -> Sink<K, V> {
        Sink {
            topic: topic.clone(),
            core: self.core.clone(),
        }
    }

    /// Declares a table named `name` whose partition `p` holds state of
    /// partition `p` of `source` (the topic of the agent that updates it).
    /// Its changelog is the compacted topic `{app id}-{name}-changelog`,
    /// with as many partitions as `source`; the app creates it on a real
    /// broker when it is missing. `codecs` gives the key and value codecs
    /// (its topic name is not used).
    pub fn table<K, V>(
        &mut self,
        name: &str,
        source: &str,
        codecs: &TypedTopic<K, V>,
    ) -> Result<Table<K, V>, Error>
    where
        K: 'static,
        V: 'static,
    {
        if self.tables.iter().any(|t| t.name == name) {
            return Err(Error::InvalidArgument(format!(
                "the app already has a table named {name}"
            )));
        }
        let shared = Arc::new(table::TableShared::new(
            name,
            format!("{}-{name}-changelog", self.core.id),
            source,
        ));
        self.tables.push(shared.clone());
        Ok(Table::new(shared, codecs, self.core.clone()))
    }

    /// Declares a windowed table: values per key and window of event time
    /// (tumbling or hopping [`Windows`], removed once they expire), kept
    /// like a [`table`](Self::table) (changelog `{app id}-{name}-changelog`,
    /// partitions following `source`). Agents update it through
    /// [`AgentStream::windowed`].
    pub fn windowed_table<K, V>(
        &mut self,
        name: &str,
        source: &str,
        codecs: &TypedTopic<K, V>,
        windows: Windows,
    ) -> Result<WindowedTable<K, V>, Error>
    where
        K: 'static,
        V: 'static,
    {
        windows.check()?;
        let plain = self.table(name, source, codecs)?;
        let (key, _) = codecs.codecs();
        let table = Table::with_codecs(
            plain.shared(),
            Arc::new(window::WindowKeyCodec::new(key)),
            plain.value_codec(),
            self.core.clone(),
        );
        Ok(WindowedTable { table, windows })
    }

    /// Runs `body` every `interval` on this worker (the first time one
    /// interval after the start). See [`timer_with`](Self::timer_with).
    pub fn timer<F, Fut>(&mut self, interval: Duration, body: F) -> Result<&mut Self, Error>
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), Error>> + Send + 'static,
    {
        self.timer_with(interval, TimerOptions::default(), body)
    }

    /// Runs `body` every `interval`, with options (only on the leader).
    /// Records it sends through a [`Sink`] are part of the current
    /// transaction in exactly-once mode. An error stops the app.
    pub fn timer_with<F, Fut>(
        &mut self,
        interval: Duration,
        options: TimerOptions,
        body: F,
    ) -> Result<&mut Self, Error>
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), Error>> + Send + 'static,
    {
        if interval.is_zero() {
            return Err(Error::InvalidArgument(
                "a timer's interval must be more than zero".into(),
            ));
        }
        self.timers.push(timer::TimerSpec::new(
            timer::Schedule::Every(interval),
            options,
            body,
        ));
        Ok(self)
    }

    /// Runs `body` at the minutes a cron expression names (five fields:
    /// minute, hour, day of month, month, day of week; UTC), with options.
    pub fn crontab<F, Fut>(
        &mut self,
        schedule: &str,
        options: TimerOptions,
        body: F,
    ) -> Result<&mut Self, Error>
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), Error>> + Send + 'static,
    {
        let cron = Cron::parse(schedule)?;
        self.timers.push(timer::TimerSpec::new(
            timer::Schedule::Cron(cron),
            options,
            body,
        ));
        Ok(self)
    }

    /// A handle that stops the running app from another task.
    pub fn handle(&self) -> AppHandle {
        AppHandle {
            core: self.core.clone(),
        }
    }

    /// Runs the worker until SIGINT or SIGTERM (or an error), then shuts
    /// down gracefully: stops fetching, lets the agents finish the events
    /// they are on, commits, leaves the group and flushes the producer,
    /// within the shutdown timeout. Needs a tokio runtime with the time
    /// driver enabled (`#[tokio::main]`).
    pub async fn run(self) -> Result<(), Error> {
        self.run_until(worker::termination()).await
    }

    /// [`run`](Self::run) until `stop` completes (or [`AppHandle::stop`]
    /// is called, or an error stops it).
    pub async fn run_until(self, stop: impl Future<Output = ()> + Send) -> Result<(), Error> {
        worker::run(self, stop).await
    }
}

/// Stops a running [`App`] from elsewhere (a test, a signal handler of
/// your own).
#[derive(Clone)]
pub struct AppHandle {
    core: Arc<Core>,
}

impl AppHandle {
    /// Starts the graceful shutdown; [`App::run`] returns once it is done.
    pub fn stop(&self) {
        self.core.state.stop();
    }

    /// Whether the app has partitions assigned and every agent task of
    /// them has started (its tables restored).
    pub fn is_ready(&self) -> bool {
        self.core.state.is_ready()
    }

    /// Events acknowledged since the app started, over all partitions.
    pub fn acknowledged(&self) -> u64 {
        self.core.state.acknowledged.load(Ordering::Relaxed)
    }
}

impl fmt::Debug for AppHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppHandle")
            .field("id", &self.core.id)
            .finish_non_exhaustive()
    }
}

/// Sends typed records from agents and timers; see [`App::sink`].
pub struct Sink<K, V> {
    topic: TypedTopic<K, V>,
    core: Arc<Core>,
}

impl<K, V> Clone for Sink<K, V> {
    fn clone(&self) -> Self {
        Sink {
            topic: self.topic.clone(),
            core: self.core.clone(),
        }
    }
}

impl<K: 'static, V: 'static> fmt::Debug for Sink<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sink")
            .field("topic", &self.topic.topic())
            .finish_non_exhaustive()
    }
}

impl<K: 'static, V: 'static> Sink<K, V> {
    /// Encodes and enqueues a record, waiting while the producer's queue is
    /// full. Its delivery is checked before the event that sent it is
    /// committed (at least once), or by the transaction's commit (exactly
    /// once).
    pub async fn send(&self, key: impl Into<K>, value: impl Borrow<V>) -> Result<(), Error> {
        let record = self.topic.record(key, value)?;
        self.core.send(record).await
    }

    /// Enqueues a record made by hand (for a partition, headers or a
    /// timestamp); its topic may be any.
    pub async fn send_record(&self, record: Record) -> Result<(), Error> {
        self.core.send(record).await
    }

    /// The sink's typed topic.
    pub fn topic(&self) -> &TypedTopic<K, V> {
        &self.topic
    }
}

/// What the app's parts share.
pub(crate) struct Core {
    pub(crate) id: String,
    pub(crate) transactional_id: String,
    pub(crate) config: ClientConfig,
    pub(crate) settings: Settings,
    pub(crate) producer: Producer,
    pub(crate) stats: Arc<DeliveryStats>,
    pub(crate) state: worker::RunState,
}

impl Core {
    /// Enqueues `record` on the app's producer; a full queue is waited out.
    pub(crate) async fn send(&self, mut record: Record) -> Result<(), Error> {
        // Uncounted again unless enqueued: also when this future is dropped
        // while it waits for queue space.
        let counted = Counted {
            stats: &self.stats,
            opaque: self.stats.sending(),
            enqueued: false,
        };
        loop {
            match self.producer.produce(record, counted.opaque) {
                Ok(()) => {
                    let mut counted = counted;
                    counted.enqueued = true;
                    self.state.dirty.store(true, Ordering::Relaxed);
                    return Ok(());
                }
                Err(e) if e.error.code() == Some(ErrorCode::QueueFull) => {
                    record = e.into_record();
                    // The queue frees as deliveries arrive; a millisecond
                    // holds about a thousand of them at full speed.
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    pub(crate) fn exactly_once(&self) -> bool {
        self.settings.guarantee == Guarantee::ExactlyOnce
    }
}

/// One assigned partition's progress.
pub(crate) struct PartState {
    pub(crate) topic: String,
    pub(crate) partition: i32,
    /// The next offset to commit (one past the last acknowledged event),
    /// or -1.
    pub(crate) acked: AtomicI64,
    /// The offset last committed, or -1.
    pub(crate) committed: AtomicI64,
    /// Set when the partition is revoked or the app stops: the agent's
    /// stream ends at its next event boundary.
    pub(crate) revoked: AtomicBool,
    /// Set once the agent task has started (tables restored).
    pub(crate) started: AtomicBool,
    /// The acknowledgement an agent's stream left when it was dropped
    /// (offset, events), applied if the agent returns `Ok`.
    pub(crate) pending: AtomicI64,
    pub(crate) pending_count: AtomicU64,
}

impl PartState {
    pub(crate) fn new(topic: &str, partition: i32) -> Self {
        PartState {
            topic: topic.to_string(),
            partition,
            acked: AtomicI64::new(-1),
            committed: AtomicI64::new(-1),
            revoked: AtomicBool::new(false),
            started: AtomicBool::new(false),
            pending: AtomicI64::new(-1),
            pending_count: AtomicU64::new(0),
        }
    }
}

type PartKey = (String, i32);
type PartMap = HashMap<PartKey, Arc<PartState>>;

/// An agent's type-erased body.
pub(crate) type AgentFn =
    Arc<dyn Fn(agent::PartitionInput) -> BoxFuture<'static, Result<(), Error>> + Send + Sync>;

/// A timer's type-erased body.
pub(crate) type TimerFn =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<(), Error>> + Send>> + Send + Sync>;

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
