//! The worker: the consumer's own thread (rebalances, commits, the final
//! commit and the leave), and the async loop that runs one task per
//! assigned partition and the timers.
//!
//! Everything that commits runs on the consumer's thread, so a periodic
//! commit, a revocation and the shutdown never overlap. In exactly-once
//! mode a commit takes the commit gate for writing: it waits until every
//! agent is between events (an agent holds the gate for reading while it
//! works on what it was handed).

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::runtime::Handle;
use tokio::sync::{mpsc, watch, OwnedRwLockWriteGuard, RwLock};
use tokio::task::JoinSet;
use tracing::Instrument;

use super::agent::{AgentSpec, PartitionInput};
use super::table::TableShared;
use super::{lock, AgentFn, App, Core, PartKey, PartMap, PartState};
use crate::{
    AdminClient, AdminOptions, ClientConfig, Consumer, Error, ErrorCode, NewTopic, Offset,
    RebalanceListener, TopicPartition, TxnAction,
};

/// How long one wait for deliveries lasts before the commit checks whether
/// it should give up.
const FLUSH_SLICE: Duration = Duration::from_millis(100);

/// How many times a retriable transaction commit is tried.
const COMMIT_ATTEMPTS: usize = 5;

/// The running app's shared state.
pub(crate) struct RunState {
    /// The commit gate (see the module docs).
    pub(crate) gate: Arc<RwLock<()>>,
    stop: watch::Sender<bool>,
    /// Something was sent since the last transaction commit.
    pub(crate) dirty: AtomicBool,
    pub(crate) acknowledged: AtomicU64,
    parts: Mutex<PartMap>,
    leader: AtomicBool,
    fault: Mutex<Option<Error>>,
    stopped_at: Mutex<Option<Instant>>,
    /// At least once: offsets taken for a commit whose records were not
    /// all delivered yet by its deadline (see `DeliveryStats`).
    prepared: Mutex<Option<Prepared>>,
}

/// Offsets to commit once every record of `epoch` is delivered.
struct Prepared {
    offsets: Vec<(Arc<PartState>, i64)>,
    epoch: u64,
}

impl Default for RunState {
    fn default() -> Self {
        RunState {
            gate: Arc::new(RwLock::new(())),
            stop: watch::Sender::new(false),
            dirty: AtomicBool::new(false),
            acknowledged: AtomicU64::new(0),
            parts: Mutex::new(HashMap::new()),
            leader: AtomicBool::new(false),
            fault: Mutex::new(None),
            stopped_at: Mutex::new(None),
            prepared: Mutex::new(None),
        }
    }
}

impl RunState {
    pub(crate) fn stop(&self) {
        lock(&self.stopped_at).get_or_insert_with(Instant::now);
        self.stop.send_replace(true);
    }

    /// When the whole shutdown should be over: the last commit and the
    /// leave may each take `bound`.
    fn shutdown_deadline(&self, bound: Duration) -> Instant {
        let stopped = lock(&self.stopped_at).unwrap_or_else(Instant::now);
        (stopped + 2 * bound).max(Instant::now() + Duration::from_millis(100))
    }

    pub(crate) fn is_stopping(&self) -> bool {
        *self.stop.borrow()
    }

    pub(crate) fn stop_signal(&self) -> watch::Receiver<bool> {
        self.stop.subscribe()
    }

    pub(crate) fn is_leader(&self) -> bool {
        self.leader.load(Ordering::Acquire)
    }

    pub(crate) fn is_ready(&self) -> bool {
        let parts = lock(&self.parts);
        !parts.is_empty() && parts.values().all(|p| p.started.load(Ordering::Acquire))
    }

    /// Records the first error that stops the app, and stops it.
    fn fault(&self, error: Error) {
        tracing::error!("the app stops: {error}");
        let mut fault = lock(&self.fault);
        if fault.is_none() {
            *fault = Some(error);
        }
        drop(fault);
        self.stop();
    }

    fn has_fault(&self) -> bool {
        lock(&self.fault).is_some()
    }
}

/// SIGINT or SIGTERM (Ctrl-C only, where there are no Unix signals).
pub(crate) async fn termination() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) {
            (Ok(mut int), Ok(mut term)) => {
                tokio::select! {
                    _ = int.recv() => tracing::info!("SIGINT: shutting down"),
                    _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
                }
            }
            _ => {
                tracing::warn!("no signal handlers: the app runs until stopped");
                std::future::pending::<()>().await
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// A partition handed to the async loop by the rebalance listener.
struct Assigned {
    name: String,
    run: AgentFn,
    input: PartitionInput,
}

pub(crate) async fn run(app: App, stop: impl Future<Output = ()> + Send) -> Result<(), Error> {
    let App {
        core,
        agents,
        timers,
        tables,
    } = app;
    if agents.is_empty() {
        return Err(Error::InvalidArgument(
            "an app needs at least one agent to run".into(),
        ));
    }
    let runtime = Handle::current();
    let timeout = core.settings.txn_timeout;
    if core.exactly_once() {
        core.producer.init_transactions_async(timeout).await?;
        core.producer.begin_transaction()?;
    }
    {
        let (core, tables) = (core.clone(), tables.clone());
        spawn_blocking(move || ensure_changelogs(&core, &tables)).await??;
    }
    let topics: Vec<String> = agents.iter().map(|a| a.topic.clone()).collect();
    let (assigned_tx, mut assigned) = mpsc::unbounded_channel();
    let listener = Listener {
        core: core.clone(),
        runtime: runtime.clone(),
        agents: agents.into_iter().map(|a| (a.topic.clone(), a)).collect(),
        tables: tables.clone(),
        leader: (topics[0].clone(), 0),
        assigned: assigned_tx,
    };
    let consumer = Consumer::builder(&consumer_config(&core)?)
        .rebalance_listener(listener)
        .build()?;
    consumer.hold_assigned_queues();
    let refs: Vec<&str> = topics.iter().map(String::as_str).collect();
    consumer.subscribe(&refs)?;
    tracing::info!(
        app = core.id.as_str(),
        guarantee = ?core.settings.guarantee,
        "started; agents on {}",
        topics.join(", ")
    );

    let (done_tx, mut done) = tokio::sync::oneshot::channel();
    {
        let (core, runtime) = (core.clone(), runtime.clone());
        std::thread::Builder::new()
            .name(format!("kafkit-app-{}", core.id))
            .spawn(move || {
                consume(&core, &consumer, &runtime);
                let _ = done_tx.send(());
            })
            .map_err(|e| Error::Stream(format!("cannot start the consumer's thread: {e}")))?;
    }

    let mut tasks = JoinSet::new();
    let mut labels = HashMap::new();
    for timer in timers {
        let id = tasks.spawn(timer.run(core.clone())).id();
        labels.insert(id, "a timer".to_string());
    }
    tokio::pin!(stop);
    let mut stop_asked = false;
    loop {
        tokio::select! {
            _ = &mut stop, if !stop_asked => {
                stop_asked = true;
                core.state.stop();
            }
            Some(a) = assigned.recv() => {
                let label = format!(
                    "agent {} on {} [{}]",
                    a.name, a.input.part.topic, a.input.part.partition
                );
                let task = partition_task(core.clone(), tables.clone(), a);
                let id = tasks.spawn(task.instrument(tracing::info_span!("agent"))).id();
                labels.insert(id, label);
            }
            Some(joined) = tasks.join_next_with_id() => {
                check_task(&core, &labels, joined);
            }
            _ = &mut done => break,
        }
    }

    // The consumer's thread made the last commit and left the group: the
    // tasks end at their next event boundary, or are cancelled.
    let finish = async {
        while let Some(joined) = tasks.join_next_with_id().await {
            check_task(&core, &labels, joined);
        }
    };
    let deadline = core.state.shutdown_deadline(core.settings.shutdown_timeout);
    if tokio::time::timeout_at(deadline.into(), finish)
        .await
        .is_err()
    {
        tracing::warn!("cancelling the tasks still running after the shutdown timeout");
        tasks.abort_all();
    }
    let producer = core.producer.clone();
    let remaining = deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_millis(100))
        .min(timeout);
    let flushed = spawn_blocking(move || producer.flush(remaining)).await?;
    let fault = lock(&core.state.fault).take();
    match fault {
        Some(e) => Err(e),
        None => flushed,
    }
}

async fn spawn_blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Stream(format!("a blocking task failed: {e}")))
}

fn check_task(
    core: &Core,
    labels: &HashMap<tokio::task::Id, String>,
    joined: Result<(tokio::task::Id, Result<(), Error>), tokio::task::JoinError>,
) {
    match joined {
        Ok((_, Ok(()))) => {}
        Ok((id, Err(e))) => {
            let label = labels.get(&id).map_or("a task", String::as_str);
            tracing::error!("{label} failed: {e}");
            core.state.fault(e);
        }
        Err(e) if e.is_panic() => {
            let label = labels.get(&e.id()).map_or("a task", String::as_str);
            core.state.fault(Error::Stream(format!(
                "{label} panicked: {}",
                panic_text(e)
            )));
        }
        Err(_) => {}
    }
}

fn panic_text(e: tokio::task::JoinError) -> String {
    let payload = e.into_panic();
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_string())
}

/// One partition's task: restore its tables, then run the agent.
async fn partition_task(
    core: Arc<Core>,
    tables: Vec<Arc<TableShared>>,
    assigned: Assigned,
) -> Result<(), Error> {
    let part = assigned.input.part.clone();
    for table in tables.iter().filter(|t| t.source == part.topic) {
        let (core, table, p, state) = (core.clone(), table.clone(), part.partition, part.clone());
        let started = Instant::now();
        let name = table.name.clone();
        let applied = spawn_blocking(move || table.restore(&core, p, &state.revoked)).await??;
        tracing::info!(
            "table {name} partition {p}: {applied} changelog records restored in {:?}",
            started.elapsed()
        );
    }
    part.started.store(true, Ordering::Release);
    let result = (assigned.run)(assigned.input).await;
    if result.is_ok() {
        // The agent returned: the event it was on is done.
        let pending = part.pending.swap(-1, Ordering::AcqRel);
        if pending >= 0 {
            part.acked.fetch_max(pending, Ordering::AcqRel);
            let n = part.pending_count.swap(0, Ordering::AcqRel);
            core.state.acknowledged.fetch_add(n, Ordering::Relaxed);
        }
    }
    result
}

fn consumer_config(core: &Core) -> Result<ClientConfig, Error> {
    let mut config = core.config.clone();
    config
        .set("group.id", &core.id)?
        .set("enable.auto.commit", "false")?
        .set("enable.auto.offset.store", "false")?;
    if config.get("auto.offset.reset").is_none() {
        config.set("auto.offset.reset", "earliest")?;
    }
    let classic = config
        .get("group.protocol")
        .map_or(true, |p| p.eq_ignore_ascii_case("classic"));
    if classic && config.get("partition.assignment.strategy").is_none() {
        // A rebalance then stops and restores only the partitions that move.
        config.set("partition.assignment.strategy", "cooperative-sticky")?;
    }
    if core.exactly_once() {
        config.set("isolation.level", "read_committed")?;
    }
    if core.config.get("kafkit.close.timeout.ms").is_none() {
        // Leaving the group is the last step of a bounded shutdown.
        let millis = core.settings.shutdown_timeout.as_millis().max(1);
        config.set("kafkit.close.timeout.ms", millis.to_string())?;
    }
    Ok(config)
}

/// Creates each table's changelog (compacted, as many partitions as its
/// source) where it is missing; refuses one with another partition count.
fn ensure_changelogs(core: &Core, tables: &[Arc<TableShared>]) -> Result<(), Error> {
    if tables.is_empty() {
        return Ok(());
    }
    let timeout = Duration::from_secs(10);
    let admin = AdminClient::new(&core.config)?;
    for table in tables {
        let partitions_of = |topic: &str| -> Result<Option<usize>, Error> {
            let metadata = admin.metadata(Some(topic), timeout)?;
            Ok(metadata
                .topic(topic)
                .filter(|t| t.error.is_none())
                .map(|t| t.partitions.len()))
        };
        let Some(source) = partitions_of(&table.source)? else {
            return Err(Error::InvalidArgument(format!(
                "table {}: its source topic {} does not exist",
                table.name, table.source
            )));
        };
        match partitions_of(&table.changelog)? {
            Some(n) if n == source => {}
            Some(n) => {
                return Err(Error::InvalidArgument(format!(
                    "table {}: changelog {} has {n} partitions, its source {} has {source}",
                    table.name, table.changelog, table.source
                )))
            }
            None => {
                tracing::info!("creating changelog {}", table.changelog);
                let topic = NewTopic::new(&table.changelog, source as i32, -1)
                    .config("cleanup.policy", "compact");
                let options = AdminOptions::new().request_timeout(timeout);
                let results = futures::executor::block_on(admin.create_topics(&[topic], &options))?;
                for r in results {
                    match r.result {
                        Err(e) if e.code() != Some(ErrorCode::TopicAlreadyExists) => {
                            return Err(e);
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    Ok(())
}

/// The consumer's thread: serves rebalances and commits every commit
/// interval until the app stops; then the last commit and the leave.
fn consume(core: &Arc<Core>, consumer: &Consumer, runtime: &Handle) {
    let interval = core.settings.commit_interval;
    let mut last = Instant::now();
    let mut strays = HashSet::new();
    while !core.state.is_stopping() {
        match consumer.poll(Duration::from_millis(50)) {
            // A partition whose agent returned early comes back to the
            // consumer's queue: its events are not processed (nor
            // committed) until the app starts again.
            Some(Ok(m)) if strays.insert((m.topic().to_string(), m.partition())) => {
                tracing::warn!(
                    "{} [{}] from offset {} has no agent task (did it return?): its \
                     events wait for a restart",
                    m.topic(),
                    m.partition(),
                    m.offset()
                );
            }
            Some(Ok(_)) => {}
            Some(Err(e)) if e.is_fatal() => core.state.fault(e),
            Some(Err(e)) => tracing::warn!("consumer: {e}"),
            None => {}
        }
        if last.elapsed() >= interval {
            last = Instant::now();
            let bound = core
                .settings
                .txn_timeout
                .min(core.settings.shutdown_timeout);
            if let Err(e) = commit_between_events(core, consumer, runtime, bound) {
                core.state.fault(e);
            }
        }
    }
    let bound = core.settings.shutdown_timeout;
    if let Err(e) = commit_between_events(core, consumer, runtime, bound) {
        core.state.fault(e);
    }
    if let Err(e) = consumer.close() {
        tracing::warn!("closing the consumer: {e}");
    }
}

/// Takes the commit gate (exactly once: waits for every agent to be
/// between events) and commits. After a fault an exactly-once app aborts
/// instead: the failed event's outputs may be in the transaction.
/// Every step is bounded by `bound` in all.
fn commit_between_events(
    core: &Core,
    consumer: &Consumer,
    runtime: &Handle,
    bound: Duration,
) -> Result<(), Error> {
    let deadline = Instant::now() + bound;
    if !core.exactly_once() {
        return commit(core, consumer, runtime, deadline);
    }
    let gate = take_gate(core, runtime, bound);
    if gate.is_none() || core.state.has_fault() {
        return abort(core);
    }
    commit(core, consumer, runtime, deadline)
}

fn take_gate(core: &Core, runtime: &Handle, bound: Duration) -> Option<OwnedRwLockWriteGuard<()>> {
    let gate = core.state.gate.clone();
    // The timer is made inside block_on, in the runtime's context.
    match runtime.block_on(async move { tokio::time::timeout(bound, gate.write_owned()).await }) {
        Ok(guard) => Some(guard),
        Err(_) => {
            core.state.fault(Error::Stream(format!(
                "an agent or timer stayed inside an event for more than {bound:?}, so no \
                 commit could be made between events"
            )));
            None
        }
    }
}

fn abort(core: &Core) -> Result<(), Error> {
    if !core.state.dirty.swap(false, Ordering::AcqRel) {
        return Ok(());
    }
    tracing::warn!("aborting the open transaction");
    core.producer.abort_transaction(core.settings.txn_timeout)
}

/// The acknowledged offsets not committed yet.
fn snapshot(core: &Core) -> Vec<(Arc<PartState>, i64)> {
    lock(&core.state.parts)
        .values()
        .filter_map(|p| {
            let acked = p.acked.load(Ordering::Acquire);
            (acked > p.committed.load(Ordering::Acquire)).then(|| (p.clone(), acked))
        })
        .collect()
}

/// Commits what the agents acknowledged. At least once: after the records
/// sent before those events were acknowledged are delivered. Exactly once
/// (the gate held): the open transaction with the offsets, then a new one.
fn commit(
    core: &Core,
    consumer: &Consumer,
    runtime: &Handle,
    deadline: Instant,
) -> Result<(), Error> {
    if !core.exactly_once() {
        // An older round whose records were still in flight goes first;
        // then one with what is acknowledged now.
        let stale = lock(&core.state.prepared).is_some();
        let done = commit_acknowledged(core, consumer, runtime, deadline)?;
        if stale && done {
            commit_acknowledged(core, consumer, runtime, deadline)?;
        }
        return Ok(());
    }
    let offsets = snapshot(core);
    let list: Vec<(&str, i32, Offset)> = offsets
        .iter()
        .map(|(p, o)| (p.topic.as_str(), p.partition, Offset::At(*o)))
        .collect();
    let timeout = deadline.saturating_duration_since(Instant::now());
    let dirty = core.state.dirty.swap(false, Ordering::AcqRel);
    if list.is_empty() && !dirty {
        return Ok(());
    }
    if !list.is_empty() {
        let group = consumer.group_metadata().ok_or_else(|| {
            Error::Stream("the consumer has no group metadata to commit with".into())
        })?;
        if let Err(e) = core
            .producer
            .send_offsets_to_transaction(&list, &group, timeout)
        {
            return Err(abort_after(core, e));
        }
    }
    let mut attempt = 1;
    loop {
        let timeout = deadline.saturating_duration_since(Instant::now());
        match core.producer.commit_transaction(timeout) {
            Ok(()) => break,
            Err(e) if e.txn_action() == TxnAction::Retry && attempt < COMMIT_ATTEMPTS => {
                attempt += 1;
            }
            Err(e) => return Err(abort_after(core, e)),
        }
    }
    core.producer.begin_transaction()?;
    mark_committed(&offsets);
    Ok(())
}

fn mark_committed(offsets: &[(Arc<PartState>, i64)]) {
    for (p, o) in offsets {
        p.committed.fetch_max(*o, Ordering::AcqRel);
    }
    tracing::debug!("committed {} partition offsets", offsets.len());
}

/// At least once: commits the prepared offsets, or takes new ones, once
/// their records are delivered. A commit that cannot be made in time is
/// left to the next one: until then the events are only read again after
/// a crash, never skipped. Returns whether it committed (or had nothing to
/// commit).
fn commit_acknowledged(
    core: &Core,
    consumer: &Consumer,
    runtime: &Handle,
    deadline: Instant,
) -> Result<bool, Error> {
    let mut prepared = lock(&core.state.prepared);
    let round = match prepared.take() {
        Some(round) => round,
        None => {
            let offsets = snapshot(core);
            if offsets.is_empty() {
                return Ok(true);
            }
            // Every record these events sent was counted before their
            // acknowledgement, so before this switch.
            let epoch = core.stats.next_epoch();
            Prepared { offsets, epoch }
        }
    };
    let periodic = !core.state.is_stopping();
    // A periodic commit gives up at the stop, for the final one.
    loop {
        let slice = (Instant::now() + FLUSH_SLICE).min(deadline);
        if core.stats.wait_drained(round.epoch, slice) {
            break;
        }
        if Instant::now() >= deadline || (periodic && core.state.is_stopping()) {
            tracing::debug!("deliveries still pending: offsets not committed this time");
            *prepared = Some(round);
            return Ok(false);
        }
    }
    drop(prepared);
    if let Some(e) = core.stats.first_failure() {
        return Err(e);
    }
    if round.offsets.is_empty() {
        return Ok(true);
    }
    let list: Vec<(&str, i32, Offset)> = round
        .offsets
        .iter()
        .map(|(p, o)| (p.topic.as_str(), p.partition, Offset::At(*o)))
        .collect();
    let commit = consumer.commit_offsets_async(&list);
    let mut stop = core.state.stop_signal();
    let waited = runtime.block_on(async move {
        tokio::select! {
            result = commit => Some(result),
            _ = tokio::time::sleep_until(deadline.into()) => None,
            _ = stop.wait_for(|s| *s), if periodic => None,
        }
    });
    match waited {
        Some(Ok(_)) => {
            mark_committed(&round.offsets);
            Ok(true)
        }
        Some(Err(e)) => {
            // A rebalance in progress, say: the next commit (or the new
            // owner) starts from the last committed offsets.
            tracing::warn!("offsets not committed this time: {e}");
            Ok(false)
        }
        None => {
            tracing::warn!("the offset commit did not finish in time; left to the next one");
            Ok(false)
        }
    }
}

/// A transactional call failed: abort where that is what the error asks
/// for, and return the error (the app stops; started again it resumes from
/// the last commit).
fn abort_after(core: &Core, e: Error) -> Error {
    if e.txn_action() == TxnAction::Abort {
        if let Err(abort) = core.producer.abort_transaction(core.settings.txn_timeout) {
            tracing::error!("aborting after {e}: {abort}");
        }
    }
    e
}

/// Starts agent tasks for assigned partitions and ends them (at an event
/// boundary, after a commit) for revoked ones.
struct Listener {
    core: Arc<Core>,
    runtime: Handle,
    agents: HashMap<String, AgentSpec>,
    tables: Vec<Arc<TableShared>>,
    leader: PartKey,
    assigned: mpsc::UnboundedSender<Assigned>,
}

impl Listener {
    /// Marks `partitions` revoked and forgets them and their tables.
    fn forget(&self, partitions: &[TopicPartition]) {
        let keys: HashSet<PartKey> = partitions
            .iter()
            .map(|tp| (tp.topic.clone(), tp.partition))
            .collect();
        // A commit left pending must not write these partitions' offsets
        // once another member owns them.
        if let Some(round) = lock(&self.core.state.prepared).as_mut() {
            round
                .offsets
                .retain(|(p, _)| !keys.contains(&(p.topic.clone(), p.partition)));
        }
        let mut parts = lock(&self.core.state.parts);
        for key in &keys {
            if let Some(p) = parts.remove(key) {
                p.revoked.store(true, Ordering::Release);
            }
            for table in self.tables.iter().filter(|t| t.source == key.0) {
                table.drop_partition(key.1);
            }
            if *key == self.leader {
                self.core.state.leader.store(false, Ordering::Release);
            }
        }
    }
}

impl RebalanceListener for Listener {
    fn on_assigned(&mut self, consumer: &Consumer, partitions: &[TopicPartition]) {
        for tp in partitions {
            let Some(agent) = self.agents.get(&tp.topic) else {
                continue;
            };
            let stream = match consumer.partition_stream(&tp.topic, tp.partition) {
                Ok(stream) => stream,
                Err(e) => {
                    self.core.state.fault(e);
                    return;
                }
            };
            let part = Arc::new(PartState::new(&tp.topic, tp.partition));
            lock(&self.core.state.parts).insert((tp.topic.clone(), tp.partition), part.clone());
            if (tp.topic.as_str(), tp.partition) == (self.leader.0.as_str(), self.leader.1) {
                self.core.state.leader.store(true, Ordering::Release);
            }
            let _ = self.assigned.send(Assigned {
                name: agent.name.clone(),
                run: agent.run.clone(),
                input: PartitionInput {
                    core: self.core.clone(),
                    part,
                    stream,
                },
            });
        }
        if !partitions.is_empty() {
            tracing::info!("assigned {}", names(partitions));
        }
    }

    fn on_revoked(&mut self, consumer: &Consumer, partitions: &[TopicPartition]) {
        // The agents of the revoked partitions stop at their next event
        // boundary; the gate waits for it, then their work is committed.
        let bound = self.core.settings.shutdown_timeout;
        let gate = take_gate(&self.core, &self.runtime, bound);
        for tp in partitions {
            if let Some(p) = lock(&self.core.state.parts).get(&(tp.topic.clone(), tp.partition)) {
                p.revoked.store(true, Ordering::Release);
            }
        }
        let committed =
            if self.core.exactly_once() && (gate.is_none() || self.core.state.has_fault()) {
                abort(&self.core)
            } else {
                let deadline = Instant::now() + bound;
                commit(&self.core, consumer, &self.runtime, deadline)
            };
        if let Err(e) = committed {
            self.core.state.fault(e);
        }
        self.forget(partitions);
        drop(gate);
        tracing::info!("revoked {}", names(partitions));
    }

    fn on_lost(&mut self, _consumer: &Consumer, partitions: &[TopicPartition]) {
        self.forget(partitions);
        tracing::warn!("lost {}", names(partitions));
        if self.core.exactly_once() {
            // Their events' outputs are in the open transaction, which can
            // no longer commit their offsets.
            self.core.state.fault(Error::Stream(format!(
                "partitions were lost ({}); start the worker again to resume from the last \
                 committed transaction",
                names(partitions)
            )));
        }
    }
}

fn names(partitions: &[TopicPartition]) -> String {
    partitions
        .iter()
        .map(|tp| format!("{} [{}]", tp.topic, tp.partition))
        .collect::<Vec<_>>()
        .join(", ")
}
