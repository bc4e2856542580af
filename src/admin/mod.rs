//! The admin client: topics, configs, groups, ACLs, records, SCRAM users
//! and the cluster, as librdkafka's admin API offers them.
//!
//! Every operation is async and runtime-agnostic: it starts the request and
//! returns an [`AdminFuture`], which resolves when librdkafka puts the result
//! on the admin client's own result queue. Futures read that queue
//! themselves when polled (no thread per call, no polling loop); librdkafka's
//! wake-up hook on the queue wakes them. Results are per entity: one topic's
//! failure does not hide another's success.
//!
//! In code that is not async, wait with any executor, for example
//! `futures::executor::block_on(admin.create_topics(..))`.

mod acls;
mod cluster;
mod configs;
mod groups;
mod offsets;
mod partitions;
mod scram;
mod topics;

use std::collections::HashMap;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

pub use acls::{AclBinding, AclBindingFilter, AclOperation, AclPermissionType, PatternType};
pub use cluster::{ClusterDescription, Node, TopicDescription, TopicPartitionInfo};
pub use configs::{
    AlterConfigOp, ConfigChanges, ConfigEntry, ConfigResource, ConfigResult, ConfigSource,
    ResourceType,
};
pub use groups::{
    ConsumerGroupDescription, ConsumerGroupListing, ConsumerGroupListings, ConsumerGroupState,
    ConsumerGroupType, MemberDescription,
};
pub use offsets::{
    CommittedOffset, GroupLag, GroupOffset, IsolationLevel, ListedOffset, OffsetSpec, PartitionLag,
};
pub use partitions::{ElectionType, NewPartitions};
pub use scram::{ScramCredentialAlteration, ScramCredentialInfo, ScramMechanism};
pub use topics::NewTopic;

use crate::client::{spawn_dispatcher, ClientCore, Dispatch, Handlers};
use crate::config::ClientConfig;
use crate::native::{
    AdminOp, ClientKind, NativeAdminOptions, NativeClient, NativeEvent, NativeQueue, RawError,
    RequestSettings, WakingQueue,
};
use crate::{Consumer, Error, Producer};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Settings of one admin request.
///
/// ```
/// use std::time::Duration;
/// let options = kafkit::AdminOptions::new()
///     .request_timeout(Duration::from_secs(10))
///     .validate_only(true);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct AdminOptions {
    settings: RequestSettings,
}

impl AdminOptions {
    /// librdkafka's defaults: the request times out after `socket.timeout.ms`.
    pub fn new() -> Self {
        Self::default()
    }

    /// How long to wait for the broker's answer, in all.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.settings.request_timeout = Some(timeout);
        self
    }

    /// How long the broker may take to finish an operation that it
    /// completes in the background (creating or deleting topics, creating
    /// partitions, electing leaders) before it answers; 0 answers at once.
    pub fn operation_timeout(mut self, timeout: Duration) -> Self {
        self.settings.operation_timeout = Some(timeout);
        self
    }

    /// Only checks the request on the broker, changing nothing (topic and
    /// partition creation, config changes).
    pub fn validate_only(mut self, on: bool) -> Self {
        self.settings.validate_only = on;
        self
    }

    /// Asks the broker for what the client may do with each described
    /// resource (describing topics, the cluster, consumer groups).
    pub fn include_authorized_operations(mut self, on: bool) -> Self {
        self.settings.include_authorized_operations = on;
        self
    }
}

/// One entity's outcome in an admin result (a topic, a group, a config
/// resource, ...): its name and whether the operation succeeded for it.
#[derive(Debug)]
pub struct EntityResult<T = ()> {
    /// The entity's name (topic name, group id, ...).
    pub name: String,
    /// What the operation gave for it.
    pub result: Result<T, Error>,
}

impl<T> EntityResult<T> {
    /// True when the operation succeeded for this entity.
    pub fn is_ok(&self) -> bool {
        self.result.is_ok()
    }
}

/// One partition's outcome in an admin result (records deleted, offsets
/// listed or altered, a leader elected, ...).
#[derive(Debug)]
pub struct PartitionResult<T = ()> {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// What the operation gave for it.
    pub result: Result<T, Error>,
}

impl<T> PartitionResult<T> {
    /// True when the operation succeeded for this partition.
    pub fn is_ok(&self) -> bool {
        self.result.is_ok()
    }
}

/// The `PartitionResult`s of a partition list from a result event: an
/// element with an error code fails, the others give `ok(entry)`.
fn partition_results<T>(
    what: &'static str,
    entries: Vec<crate::native::TplEntry>,
    ok: impl Fn(&crate::native::TplEntry) -> T,
) -> Vec<PartitionResult<T>> {
    entries
        .into_iter()
        .map(|e| {
            let result = if e.err == 0 {
                Ok(ok(&e))
            } else {
                Err(Error::kafka(
                    what,
                    crate::native::RawError::from_code(e.err),
                ))
            };
            PartitionResult {
                topic: e.topic,
                partition: e.partition,
                result,
            }
        })
        .collect()
}

/// A standalone admin client's librdkafka handle and its dispatcher (logs,
/// errors and statistics of the client).
struct OwnClient {
    shared: Arc<OwnShared>,
    dispatcher: Option<std::thread::JoinHandle<()>>,
}

struct OwnShared {
    core: ClientCore,
    stop: AtomicBool,
}

impl Dispatch for OwnShared {
    fn core(&self) -> &ClientCore {
        &self.core
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }

    fn serve(&self, event: NativeEvent) {
        self.core.handle_event(&event);
    }
}

impl Drop for OwnClient {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        self.shared.core.main_queue.wake();
        if let Some(thread) = self.dispatcher.take() {
            if thread.join().is_err() {
                tracing::error!("the admin client's dispatcher thread panicked");
            }
        }
    }
}

/// Whose librdkafka handle the admin requests run on.
enum Owner {
    Own(OwnClient),
    Producer(Producer),
    Consumer(Consumer),
}

/// Requests waiting for their result event, by id.
///
/// librdkafka's wake-up hook locks this from inside its queue lock, so no
/// C call is ever made while it is held (events are taken out and
/// dropped after the guard), and the hook only wakes by reference: it never
/// drops a waker, which could drop a task and with it this client.
#[derive(Default)]
struct Pending {
    next: usize,
    slots: HashMap<usize, Slot>,
}

#[derive(Default)]
struct Slot {
    event: Option<NativeEvent>,
    waker: Option<Waker>,
}

impl Pending {
    fn wake(&self) {
        for waker in self.slots.values().filter_map(|s| s.waker.as_ref()) {
            waker.wake_by_ref();
        }
    }
}

struct Inner {
    /// Declared first so that it is dropped before the client it belongs
    /// to (it also holds a reference that keeps the client alive).
    results: WakingQueue,
    pending: Arc<Mutex<Pending>>,
    owner: Owner,
}

impl Inner {
    fn native(&self) -> &NativeClient {
        match &self.owner {
            Owner::Own(own) => &own.shared.core.native,
            Owner::Producer(p) => p.native_client(),
            Owner::Consumer(c) => c.native_client(),
        }
    }

    /// Moves every result event that has arrived to its request's slot.
    fn serve(&self) {
        while let Some(event) = self.results.queue().poll(Duration::ZERO) {
            let mut pending = lock(&self.pending);
            // A request whose future was dropped has no slot: its result is
            // dropped with the event, after the guard.
            let unclaimed = match pending.slots.get_mut(&event.opaque()) {
                Some(slot) => {
                    slot.event = Some(event);
                    if let Some(w) = &slot.waker {
                        w.wake_by_ref();
                    }
                    None
                }
                None => Some(event),
            };
            drop(pending);
            drop(unclaimed);
        }
    }
}

/// A client for Kafka's admin operations. Cheap to clone, `Send` and
/// `Sync`.
///
/// Make one from a [`ClientConfig`], or reuse a producer's or consumer's
/// connections with [`Producer::admin`] / [`Consumer::admin`].
///
/// ```no_run
/// # async fn demo() -> Result<(), kafkit::Error> {
/// use kafkit::{AdminClient, AdminOptions, ClientConfig, NewTopic};
///
/// let mut config = ClientConfig::new();
/// config.bootstrap_servers("127.0.0.1:9092")?;
/// let admin = AdminClient::new(&config)?;
/// for topic in admin
///     .create_topics(&[NewTopic::new("Users", 1, 1)], &AdminOptions::new())
///     .await?
/// {
///     println!("{}: {:?}", topic.name, topic.result);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct AdminClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for AdminClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminClient").finish_non_exhaustive()
    }
}

impl AdminClient {
    /// Creates an admin client with its own connections. Unless `config`
    /// says otherwise, its metadata requests never create topics
    /// (`allow.auto.create.topics=false`, which librdkafka defaults to true
    /// for the producer-type handle an admin client runs on).
    pub fn new(config: &ClientConfig) -> Result<Self, Error> {
        let mut config = config.clone();
        if config.get("allow.auto.create.topics").is_none() {
            config.set("allow.auto.create.topics", "false")?;
        }
        let core = ClientCore::new(ClientKind::Producer, &config, 0, Handlers::default())?;
        let shared = Arc::new(OwnShared {
            core,
            stop: AtomicBool::new(false),
        });
        let dispatcher = spawn_dispatcher(shared.clone())?;
        Ok(Self::with_owner(Owner::Own(OwnClient {
            shared,
            dispatcher: Some(dispatcher),
        })))
    }

    /// Waits until a broker answers, for at most `timeout`, as
    /// [`Producer::wait_connected`] does: a wrong address fails in seconds
    /// with the last connection error librdkafka reported ("Connection
    /// refused", with its code) instead of the first request timing out.
    /// Blocks the calling thread.
    pub fn wait_connected(&self, timeout: Duration) -> Result<(), Error> {
        match &self.inner.owner {
            Owner::Own(own) => own.shared.core.wait_connected(timeout),
            Owner::Producer(p) => p.wait_connected(timeout),
            Owner::Consumer(c) => c.wait_connected(timeout),
        }
    }

    pub(crate) fn of_producer(producer: Producer) -> Self {
        Self::with_owner(Owner::Producer(producer))
    }

    pub(crate) fn of_consumer(consumer: Consumer) -> Self {
        Self::with_owner(Owner::Consumer(consumer))
    }

    fn with_owner(owner: Owner) -> Self {
        let pending: Arc<Mutex<Pending>> = Arc::default();
        let hook = pending.clone();
        let native = match &owner {
            Owner::Own(own) => &own.shared.core.native,
            Owner::Producer(p) => p.native_client(),
            Owner::Consumer(c) => c.native_client(),
        };
        let results = WakingQueue::new(native.new_queue(), Box::new(move || lock(&hook).wake()));
        AdminClient {
            inner: Arc::new(Inner {
                results,
                pending,
                owner,
            }),
        }
    }

    /// Starts one request: `start` makes the C call with options carrying
    /// the request's id; `decode` reads the result event.
    fn request<T>(
        &self,
        op: AdminOp,
        what: &'static str,
        options: &AdminOptions,
        start: impl FnOnce(&NativeClient, &NativeAdminOptions, &NativeQueue) -> Result<(), RawError>,
        decode: fn(&NativeEvent) -> Result<T, Error>,
    ) -> AdminFuture<T> {
        let inner = &self.inner;
        let id = {
            let mut pending = lock(&inner.pending);
            pending.next = pending.next.wrapping_add(1).max(1);
            let id = pending.next;
            pending.slots.insert(id, Slot::default());
            id
        };
        let started = NativeAdminOptions::new(inner.native(), op, &options.settings, id)
            .and_then(|opts| start(inner.native(), &opts, inner.results.queue()));
        let failed = started.err().map(|e| {
            let slot = lock(&inner.pending).slots.remove(&id);
            drop(slot);
            Error::kafka(what, e)
        });
        AdminFuture {
            inner: inner.clone(),
            id,
            decode,
            failed,
            _result: PhantomData,
        }
    }
}

impl Producer {
    /// An admin client that runs its requests on this producer's
    /// connections. It keeps the producer open while it exists.
    pub fn admin(&self) -> AdminClient {
        AdminClient::of_producer(self.clone())
    }
}

impl Consumer {
    /// An admin client that runs its requests on this consumer's
    /// connections. It keeps the consumer open while it exists.
    pub fn admin(&self) -> AdminClient {
        AdminClient::of_consumer(self.clone())
    }
}

/// The result of an admin request; see [`AdminClient`]. Dropping it does
/// not cancel the request on the broker; its result is then discarded.
#[must_use = "an admin future does nothing visible unless awaited"]
pub struct AdminFuture<T> {
    inner: Arc<Inner>,
    id: usize,
    decode: fn(&NativeEvent) -> Result<T, Error>,
    /// The request could not be started.
    failed: Option<Error>,
    _result: PhantomData<fn() -> T>,
}

impl<T> AdminFuture<T> {
    fn take(&mut self) -> Option<Result<T, Error>> {
        if let Some(e) = self.failed.take() {
            return Some(Err(e));
        }
        let event = {
            let mut pending = lock(&self.inner.pending);
            pending.slots.get_mut(&self.id)?.event.take()?
        };
        Some((self.decode)(&event))
    }
}

impl<T> Future for AdminFuture<T> {
    type Output = Result<T, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        this.inner.serve();
        if let Some(out) = this.take() {
            return Poll::Ready(out);
        }
        let old = {
            let mut pending = lock(&this.inner.pending);
            pending
                .slots
                .get_mut(&this.id)
                .and_then(|slot| match &slot.waker {
                    Some(w) if w.will_wake(cx.waker()) => None,
                    _ => slot.waker.replace(cx.waker().clone()),
                })
        };
        drop(old);
        // The hook fires when the queue goes from empty to non-empty: read
        // it again now that the waker is registered.
        this.inner.serve();
        match this.take() {
            Some(out) => Poll::Ready(out),
            None => Poll::Pending,
        }
    }
}

impl<T> Drop for AdminFuture<T> {
    fn drop(&mut self) {
        // Taken out under the guard, dropped (event and waker) after it.
        let slot = lock(&self.inner.pending).slots.remove(&self.id);
        drop(slot);
    }
}

impl<T> std::fmt::Debug for AdminFuture<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminFuture")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// The `EntityResult`s of per-entity outcomes from the native layer.
fn entities(what: &'static str, outcomes: Vec<crate::native::TopicOutcome>) -> Vec<EntityResult> {
    outcomes
        .into_iter()
        .map(|o| EntityResult {
            name: o.name,
            result: o.error.map_or(Ok(()), |e| Err(Error::kafka(what, e))),
        })
        .collect()
}
