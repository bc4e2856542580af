//! The producer: [`Producer`], [`Record`], [`DeliveryFuture`].

mod delivery;
mod payload;
mod record;
mod sent;
mod serving;
mod spent;
mod topics;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

pub use delivery::DeliveryFuture;
pub use payload::Payload;
pub use record::{DeliveryResult, Header, ProduceError, Record, RecordMetadata, Timestamp, Topic};

use crate::client::{spawn_dispatcher, ClientCore, Dispatch, Handlers};
use crate::config::ClientConfig;
use crate::native::{
    event_type, ClientKind, DeliveryView, DrBuffer, NativeEvent, NativeHeaders, NativeTopic,
    ProduceArgs, RawError, WakingQueue, PARTITION_UA,
};
use crate::statistics::Statistics;
use crate::{Error, ErrorCode, KafkaError};
use delivery::{
    new_callback, run_callbacks, Callback, Choices, Failure, Origin, Outcome, Report, Slots,
    ThreadWaker,
};
use serving::{Deferred, Serving, NO_SLOT};
use spent::Spent;
use topics::Topics;

/// `RD_KAFKA_RESP_ERR__QUEUE_FULL`.
const QUEUE_FULL: i32 = -184;
/// `RD_KAFKA_RESP_ERR__PURGE_QUEUE` and `_PURGE_INFLIGHT`.
const PURGE_QUEUE: i32 = -152;
const PURGE_INFLIGHT: i32 = -151;
/// `RD_KAFKA_RESP_ERR__DESTROY`.
const DESTROY: i32 = -197;
/// How long teardown waits for the reports of purged messages.
const PURGE_WAIT: Duration = Duration::from_secs(5);

/// State shared by the producer handles, their delivery futures and the
/// dispatcher thread.
pub(crate) struct Shared {
    // Field order is drop order: events and topic handles go before the
    // client.
    spent: Spent,
    topics: Topics,
    /// The main queue with the wake-up hook that tells `serving` when it
    /// turns non-empty (dropped before the client).
    _hooked: WakingQueue,
    serving: Arc<Serving>,
    core: ClientCore,
    pub(crate) slots: &'static Slots,
    scratch: Mutex<Scratch>,
    space_waiters: Mutex<Vec<Waker>>,
    space_waiting: AtomicUsize,
    stop: AtomicBool,
    closed: AtomicBool,
    purged: AtomicUsize,
}

/// Buffers the dispatcher reuses from one delivery event to the next.
#[derive(Default)]
struct Scratch {
    messages: DrBuffer,
    /// Slots freed while serving a batch, released together.
    freed: Vec<u32>,
    /// Callbacks of the batch, with their outcomes.
    callbacks: Vec<(Callback, Outcome)>,
    /// The boxes of the callbacks called, for senders to free.
    called: Vec<Callback>,
}

impl Dispatch for Shared {
    fn core(&self) -> &ClientCore {
        &self.core
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }

    fn serve(&self, event: NativeEvent) {
        if event.kind() == event_type::DR {
            self.deliver(&event, true);
            // Destroying the event frees its messages and their queue space.
            // A sender blocked on a full queue needs that now; otherwise the
            // next send destroys it (see spent.rs).
            if self.space_waiting.load(Ordering::Acquire) > 0 {
                drop(event);
                self.wake_space_waiters();
            } else {
                let excess = self.spent.keep(event);
                if !excess.is_empty() {
                    drop(excess);
                    self.wake_space_waiters();
                }
            }
        } else {
            self.core.handle_event(&event);
        }
    }

    fn poll_timeout(&self) -> Duration {
        if self.spent.any() || self.spent.any_called() {
            spent::MAX_AGE
        } else {
            Duration::from_secs(1)
        }
    }

    fn after_poll(&self) {
        if self.spent.any_called() {
            drop(self.spent.take_stale_called(false));
        }
        if self.spent.any() {
            let stale = self.spent.take_stale(false);
            if !stale.is_empty() {
                drop(stale);
                self.wake_space_waiters();
            }
        }
    }

    /// Runs what tasks handed over, then serves the main queue unless a
    /// task owns it (see serving.rs).
    fn dispatch_once(&self) {
        self.run_deferred();
        let idle = self.poll_timeout();
        let serves = self
            .serving
            .dispatcher_serves(idle, |owner_slot| self.others_wait(owner_slot));
        if serves {
            match self.serving.begin() {
                Some(round) => {
                    loop {
                        round.before_poll();
                        match self.core.main_queue.poll(Duration::ZERO) {
                            Some(event) => self.serve(event),
                            None => break,
                        }
                    }
                    drop(round);
                    self.run_deferred();
                    self.after_poll();
                    self.serving.dispatcher_idle(self.poll_timeout());
                }
                // A task is serving: wait for its round to end.
                None => self.serving.wait_for_round(idle),
            }
        } else {
            self.after_poll();
        }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // Every slot in flight was completed when the last handle was
        // dropped; the futures still holding completed slots keep them.
        self.slots.give_back();
    }
}

impl Shared {
    /// Serves the reports that have arrived, on a task's thread, if no
    /// other thread is serving them; the task (waiting on slot `slot`)
    /// becomes the queue's owner. Events that are not delivery reports, and
    /// callbacks, go to the dispatcher.
    #[inline(never)]
    fn serve_as_task(&self, waker: Option<&Waker>, slot: u32) {
        let Some(round) = self.serving.begin_task(waker, slot) else {
            return;
        };
        loop {
            round.before_poll();
            let Some(event) = self.core.main_queue.poll(Duration::ZERO) else {
                break;
            };
            if event.kind() == event_type::DR {
                self.deliver(&event, false);
                // This thread sent the records: it frees them too.
                drop(event);
                self.wake_space_waiters();
            } else {
                self.serving.defer(Deferred::Event(event));
            }
        }
    }

    /// Whether anyone but the queue's owner (waiting on `owner_slot`, or on
    /// nothing) waits for reports.
    fn others_wait(&self, owner_slot: u32) -> bool {
        let owner_waits = owner_slot != NO_SLOT && self.slots.is_awaited(owner_slot);
        self.slots.waiting() > usize::from(owner_waits)
            || self.space_waiting.load(Ordering::Acquire) > 0
    }

    /// Runs the events and callbacks tasks handed to the dispatcher.
    fn run_deferred(&self) {
        let deferred = self.serving.take_deferred();
        if deferred.is_empty() {
            return;
        }
        let mut callbacks = Vec::new();
        for work in deferred {
            match work {
                Deferred::Event(event) => self.core.handle_event(&event),
                Deferred::Callback(callback, outcome) => callbacks.push((callback, outcome)),
            }
        }
        let mut called = Vec::new();
        run_callbacks(&mut callbacks, &mut called);
        self.spent.keep_called(&mut called);
    }

    /// Completes the slots of one delivery report event. Callbacks run now
    /// on the dispatcher, or are handed to it from a task.
    fn deliver(&self, event: &NativeEvent, on_dispatcher: bool) {
        let mut scratch = self.scratch.lock().unwrap_or_else(|p| p.into_inner());
        let Scratch {
            messages,
            freed,
            callbacks,
            called,
        } = &mut *scratch;
        event.for_each_delivery_batch(messages, |batch| {
            // Counted first, so that a resolved future never sees its record
            // still in flight.
            self.slots.count_reported(batch.len());
            for dr in batch.iter() {
                let (ts_type, timestamp) = dr.timestamp();
                let report = Report {
                    err: dr.err(),
                    partition: dr.partition(),
                    offset: dr.offset(),
                    ts_type,
                    timestamp,
                };
                if report.err == PURGE_QUEUE || report.err == PURGE_INFLIGHT {
                    self.purged.fetch_add(1, Ordering::Relaxed);
                }
                let found =
                    self.slots
                        .complete(dr.opaque(), &report, || failure_of(&dr), freed, callbacks);
                if !found {
                    tracing::error!(slot = dr.opaque(), "delivery report for an unknown slot");
                }
            }
            self.slots.release_all(freed);
            freed.clear();
            if on_dispatcher {
                run_callbacks(callbacks, called);
            } else {
                for (callback, outcome) in callbacks.drain(..) {
                    self.serving.defer(Deferred::Callback(callback, outcome));
                }
            }
        });
        self.spent.keep_called(called);
    }

    fn wake_space_waiters(&self) {
        if self.space_waiting.load(Ordering::Acquire) == 0 {
            return;
        }
        let waiters = {
            let mut list = self.space_waiters.lock().unwrap_or_else(|p| p.into_inner());
            self.space_waiting.store(0, Ordering::Release);
            std::mem::take(&mut *list)
        };
        for w in waiters {
            w.wake();
        }
    }

    fn register_space_waiter(&self, waker: &Waker) {
        let mut list = self.space_waiters.lock().unwrap_or_else(|p| p.into_inner());
        if !list.iter().any(|w| w.will_wake(waker)) {
            list.push(waker.clone());
        }
        self.space_waiting.store(list.len(), Ordering::Release);
        drop(list);
        // The dispatcher serves while a sender waits for space.
        self.serving.ring();
    }

    /// Enqueues a record for a `SendFuture`: on a full queue, registers the
    /// task to be woken when deliveries free space, then tries once more (so
    /// that space freed in between cannot be missed) before it returns
    /// `Pending`.
    #[inline]
    fn enqueue_or_wait(
        &self,
        record: &Record,
        cx: &mut Context<'_>,
    ) -> Poll<Result<u32, RawError>> {
        // Reports that arrived since the last send are served first, on
        // this thread (see serving.rs).
        if self.serving.pending() {
            self.serve_as_task(Some(cx.waker()), NO_SLOT);
        }
        match self.enqueue(record, None) {
            Err(raw) if raw.code == QUEUE_FULL => {
                // Serving the reports that have arrived frees their space.
                self.serve_as_task(Some(cx.waker()), NO_SLOT);
                match self.enqueue(record, None) {
                    Err(raw) if raw.code == QUEUE_FULL => {}
                    other => return Poll::Ready(other),
                }
                self.register_space_waiter(cx.waker());
                match self.enqueue(record, None) {
                    Err(raw) if raw.code == QUEUE_FULL => Poll::Pending,
                    other => Poll::Ready(other),
                }
            }
            other => Poll::Ready(other),
        }
    }

    /// Enqueues one record (with its callback, if any) and returns its
    /// slot. librdkafka copies the record's buffers: the caller may drop it
    /// as soon as this returns.
    #[inline]
    fn enqueue(&self, record: &Record, callback: Option<Callback>) -> Result<u32, RawError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(RawError {
                message: "the producer is closed".into(),
                ..RawError::from_code(DESTROY)
            });
        }
        if self.spent.any() {
            if let Some(event) = self.spent.take_one() {
                drop(event);
                self.wake_space_waiters();
            }
        }
        if let Some(topic) = self.topics.last(&record.topic) {
            return self.produce(record, topic, callback);
        }
        self.topics.with(
            &record.topic,
            |name| {
                validate_topic_name(name)?;
                self.core.native.topic(name)
            },
            |topic| self.produce(record, topic, callback),
        )?
    }

    #[inline]
    fn produce(
        &self,
        record: &Record,
        topic: &NativeTopic,
        callback: Option<Callback>,
    ) -> Result<u32, RawError> {
        let headers = if record.headers.is_empty() {
            None
        } else {
            let mut h = NativeHeaders::new(record.headers.len());
            for header in &record.headers {
                h.add(&header.name, header.value.as_deref());
            }
            Some(h)
        };
        let Some(idx) = self.slots.insert(callback, Choices::of(record)) else {
            return Err(RawError {
                message: "too many records in flight".into(),
                ..RawError::from_code(QUEUE_FULL)
            });
        };
        let produced = self.core.native.produce(ProduceArgs {
            topic,
            partition: record.partition.unwrap_or(PARTITION_UA),
            key: record.key.as_deref(),
            value: record.value.as_deref(),
            timestamp: record.timestamp.unwrap_or(0),
            headers,
            opaque: idx as usize,
        });
        match produced {
            Ok(()) => {
                self.slots.count_sent();
                Ok(idx)
            }
            Err(e) => {
                self.slots.cancel(idx);
                Err(e)
            }
        }
    }
}

/// Kafka's rule for topic names: 1 to 249 of `[a-zA-Z0-9._-]`, not `.`/`..`.
fn validate_topic_name(name: &str) -> Result<(), RawError> {
    let bad = |why: &str| RawError {
        message: format!("invalid topic name {name:?}: {why}"),
        ..RawError::from_code(-186)
    };
    if name.is_empty() {
        return Err(bad("it is empty"));
    }
    if name.len() > 249 {
        return Err(bad("longer than 249 characters"));
    }
    if name == "." || name == ".." {
        return Err(bad("'.' and '..' are reserved"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(bad(&format!(
            "character {c:?} is not allowed (use a-z, A-Z, 0-9, '.', '_', '-')"
        )));
    }
    Ok(())
}

/// The error and record data of a failed delivery report.
fn failure_of(dr: &DeliveryView<'_>) -> Failure {
    let code = dr.err();
    let mut headers = Vec::new();
    dr.for_each_header(|name, value| {
        headers.push(Header {
            name: name.to_string(),
            value: value.map(<[u8]>::to_vec),
        })
    });
    Failure {
        error: Error::Kafka(KafkaError::from_raw(
            "delivery",
            RawError {
                message: dr.errstr(),
                ..RawError::from_code(code)
            },
        )),
        key: dr.key().map(<[u8]>::to_vec),
        value: dr.payload().map(<[u8]>::to_vec),
        headers,
    }
}

fn produce_error(op: &'static str, raw: RawError, record: Record) -> ProduceError {
    ProduceError {
        error: Error::kafka(op, raw),
        record,
    }
}

/// A Kafka producer: cheap to clone, shareable across tasks and threads.
///
/// ```no_run
/// # async fn demo() -> Result<(), kafkit::Error> {
/// use kafkit::{ClientConfig, Producer, Record};
///
/// let mut config = ClientConfig::new();
/// config.bootstrap_servers("127.0.0.1:9092")?;
/// let producer = Producer::new(&config)?;
/// let delivery = producer.send(Record::to("events").value("hello")).await?;
/// let meta = delivery.await?;
/// println!("written to partition {} at offset {}", meta.partition, meta.offset);
/// # Ok(()) }
/// ```
///
/// Dropping the last handle delivers what is still queued for at most
/// `kafkit.close.timeout.ms` (10 s by default), then purges the rest, logs
/// how many records were not delivered, and frees everything.
#[derive(Clone)]
pub struct Producer {
    handle: Arc<Handle>,
}

/// The user-facing owner: its drop closes the producer.
struct Handle {
    shared: Arc<Shared>,
    dispatcher: Mutex<Option<std::thread::JoinHandle<()>>>,
    close_timeout: Duration,
}

/// Builds a [`Producer`] with callbacks for errors and statistics.
pub struct ProducerBuilder {
    config: ClientConfig,
    handlers: Handlers,
}

impl ProducerBuilder {
    /// Calls `f` (on the producer's dispatcher thread) for errors reported
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

    /// Creates the producer.
    pub fn build(self) -> Result<Producer, Error> {
        let core = ClientCore::new(
            ClientKind::Producer,
            &self.config,
            event_type::DR,
            self.handlers,
        )?;
        let serving = Arc::new(Serving::new());
        let hooked = {
            let serving = serving.clone();
            WakingQueue::new(
                core.native.main_queue(),
                Box::new(move || serving.on_queue_non_empty()),
            )
        };
        let shared = Arc::new_cyclic(|me| Shared {
            spent: Spent::default(),
            topics: Topics::new(),
            _hooked: hooked,
            serving,
            core,
            slots: Slots::lease(me.clone()),
            scratch: Mutex::new(Scratch::default()),
            space_waiters: Mutex::new(Vec::new()),
            space_waiting: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            purged: AtomicUsize::new(0),
        });
        let dispatcher = spawn_dispatcher(shared.clone())?;
        Ok(Producer {
            handle: Arc::new(Handle {
                shared,
                dispatcher: Mutex::new(Some(dispatcher)),
                close_timeout: self.config.close_timeout_value(),
            }),
        })
    }
}

impl Producer {
    /// Creates a producer from `config`.
    pub fn new(config: &ClientConfig) -> Result<Self, Error> {
        Self::builder(config).build()
    }

    /// A builder, to add error and statistics callbacks.
    pub fn builder(config: &ClientConfig) -> ProducerBuilder {
        ProducerBuilder {
            config: config.clone(),
            handlers: Handlers::default(),
        }
    }

    fn shared(&self) -> &Arc<Shared> {
        &self.handle.shared
    }

    /// Enqueues a record, waiting for space while librdkafka's queue is full
    /// (woken when deliveries free space; no polling). Resolves to a
    /// [`DeliveryFuture`] for the record's delivery.
    ///
    /// Records sent one after the other from one task are enqueued in that
    /// order. An error (an unknown partition, a record over
    /// `message.max.bytes`, a closed producer) hands the record back.
    /// Dropping the returned future before it completes sends nothing.
    pub fn send(&self, record: Record) -> SendFuture<'_> {
        SendFuture {
            producer: self,
            record: Some(record),
        }
    }

    /// Enqueues a record without waiting: a full queue is an error with code
    /// [`ErrorCode::QueueFull`] that hands the record back. Delivery reports
    /// that have arrived are read first, on this thread, freeing their
    /// space.
    pub fn try_send(&self, record: Record) -> Result<DeliveryFuture, ProduceError> {
        if self.shared().serving.pending() {
            self.shared().serve_as_task(None, NO_SLOT);
        }
        match self.shared().enqueue(&record, None) {
            Ok(idx) => Ok(DeliveryFuture::new(self.shared().slots, idx, record.topic)),
            Err(raw) => Err(produce_error("produce", raw, record)),
        }
    }

    /// Enqueues a record and calls `on_delivery` with its outcome, on the
    /// producer's dispatcher thread (keep it short). A panic in the callback
    /// is caught and logged. A full queue is an immediate error, as for
    /// [`try_send`](Self::try_send); the callback is then not called.
    pub fn send_with_callback(
        &self,
        record: Record,
        on_delivery: impl FnOnce(DeliveryResult) + Send + 'static,
    ) -> Result<(), ProduceError> {
        self.shared().serving.note_callbacks();
        let origin = Origin::of(&record);
        spent::free_one_called(&self.shared().spent);
        let callback = new_callback(move |outcome| on_delivery(origin.finish(outcome)));
        match self.shared().enqueue(&record, Some(callback)) {
            Ok(_) => Ok(()),
            Err(raw) => Err(produce_error("produce", raw, record)),
        }
    }

    /// For code that is not async: enqueues a record, blocking the thread for
    /// at most `timeout` while the queue is full.
    pub fn send_blocking(
        &self,
        record: Record,
        timeout: Duration,
    ) -> Result<DeliveryFuture, ProduceError> {
        let deadline = Instant::now() + timeout;
        let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
        let mut cx = Context::from_waker(&waker);
        let mut fut = self.send(record);
        loop {
            if let Poll::Ready(result) = Pin::new(&mut fut).poll(&mut cx) {
                return result;
            }
            let now = Instant::now();
            if now >= deadline {
                let record = fut
                    .record
                    .take()
                    .unwrap_or_else(|| Record::to(String::new()));
                return Err(produce_error(
                    "produce",
                    RawError::from_code(QUEUE_FULL),
                    record,
                ));
            }
            std::thread::park_timeout(deadline - now);
        }
    }

    /// Waits until every record sent so far is delivered or has failed, for
    /// at most `timeout`. On timeout the error says how many remain.
    pub fn flush(&self, timeout: Duration) -> Result<(), Error> {
        // librdkafka's flush waits for the reports to be served: by the
        // dispatcher, meanwhile.
        let flushing = self.shared().serving.flushing();
        let code = self.shared().core.native.flush(timeout);
        drop(flushing);
        if code == 0 {
            Ok(())
        } else {
            let left = self.in_flight();
            Err(Error::Kafka(KafkaError::from_raw(
                "flush",
                RawError {
                    message: format!("{left} records still in flight after {timeout:?}"),
                    ..RawError::from_code(code)
                },
            )))
        }
    }

    /// Cancels every queued and in-flight record. Their deliveries fail with
    /// [`ErrorCode::PurgeQueue`] or [`ErrorCode::PurgeInflight`], handing
    /// the records back.
    pub fn purge(&self) {
        self.shared().core.native.purge();
    }

    /// Delivers what is queued for at most `timeout`, purges the rest, and
    /// returns how many records were not delivered. Afterwards every send on
    /// any clone of this producer fails.
    pub fn close(&self, timeout: Duration) -> usize {
        close_shared(self.shared(), timeout)
    }

    /// Records sent and not yet reported delivered or failed.
    pub fn in_flight(&self) -> usize {
        self.shared().slots.in_flight()
    }

    /// The latest statistics report (needs `statistics.interval.ms`).
    pub fn statistics(&self) -> Option<Arc<Statistics>> {
        self.shared().core.statistics()
    }

    /// The client's name, as librdkafka reports it.
    pub fn name(&self) -> &str {
        &self.shared().core.name
    }

    /// The fatal error the producer is in, if any (idempotent producers can
    /// enter one, after which nothing can be sent).
    pub fn fatal_error(&self) -> Option<Error> {
        self.shared()
            .core
            .native
            .fatal_error()
            .map(|raw| Error::kafka("producer", raw))
    }

    /// Waits until a broker answers, for at most `timeout` (kafka-python's
    /// `bootstrap_connected`). Call it right after creating the producer:
    /// a wrong address then fails in seconds with the reason, instead of
    /// the first delivery failing after `message.timeout.ms` (5 minutes by
    /// default) while the connection errors go only to the logs or
    /// [`on_error`](ProducerBuilder::on_error).
    ///
    /// A new producer gets cluster metadata from the first broker it
    /// connects to; the wait returns when that arrives and sends nothing
    /// itself. Called again later, it asks a broker with one metadata
    /// request, so the answer says whether a broker answers now.
    ///
    /// On timeout the error carries the last connection error librdkafka
    /// reported, which names the broker's address and the reason, such as
    /// "Connection refused", with its code ([`ErrorCode::Transport`],
    /// [`ErrorCode::Resolve`], ...).
    ///
    /// This blocks the calling thread for up to `timeout`. In async code,
    /// call it before the work starts or through your runtime's
    /// `spawn_blocking`.
    ///
    /// ```
    /// # fn main() -> Result<(), kafkit::Error> {
    /// use std::time::Duration;
    ///
    /// let cluster = kafkit::MockCluster::new(1)?;
    /// let producer = kafkit::Producer::new(&cluster.client_config()?)?;
    /// producer.wait_connected(Duration::from_secs(10))?;
    /// # Ok(()) }
    /// ```
    pub fn wait_connected(&self, timeout: Duration) -> Result<(), Error> {
        self.shared().core.wait_connected(timeout)
    }
}

/// Flushes for `timeout`, then purges; returns the number of purged records.
fn close_shared(shared: &Shared, timeout: Duration) -> usize {
    shared.closed.store(true, Ordering::Release);
    let _flushing = shared.serving.flushing();
    if shared.core.native.flush(timeout) == 0 {
        return 0;
    }
    let before = shared.purged.load(Ordering::Acquire);
    shared.core.native.purge();
    // The purged records' reports are served by the dispatcher; wait for them.
    shared.core.native.flush(PURGE_WAIT);
    shared.purged.load(Ordering::Acquire) - before
}

impl Drop for Handle {
    fn drop(&mut self) {
        let undelivered = close_shared(&self.shared, self.close_timeout);
        if undelivered > 0 {
            tracing::warn!(
                client = %self.shared.core.name,
                undelivered,
                "producer dropped: {undelivered} records were not delivered within {:?} and were purged",
                self.close_timeout
            );
        }
        self.shared.stop.store(true, Ordering::Release);
        self.shared.serving.disown();
        self.shared.serving.ring();
        self.shared.core.main_queue.wake();
        let thread = self
            .dispatcher
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(thread) = thread {
            if thread.join().is_err() {
                tracing::error!("the producer's dispatcher thread panicked");
            }
        }
        // Serve the reports that arrived after the dispatcher stopped, then
        // fail the ones that can no longer arrive, so no future is left
        // hanging.
        while let Some(event) = self.shared.core.main_queue.poll(Duration::ZERO) {
            self.shared.serve(event);
        }
        self.shared.run_deferred();
        drop(self.shared.spent.take_stale(true));
        self.shared.slots.fail_all();
    }
}

/// The future returned by [`Producer::send`].
#[must_use = "a SendFuture does nothing unless awaited"]
pub struct SendFuture<'a> {
    producer: &'a Producer,
    record: Option<Record>,
}

impl Future for SendFuture<'_> {
    type Output = Result<DeliveryFuture, ProduceError>;

    // Inlined into the caller's state machine, so the delivery future is
    // built in place; the work is in Shared::enqueue_or_wait.
    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let shared = this.producer.shared();
        let Some(record) = this.record.as_ref() else {
            panic!("SendFuture polled after completion");
        };
        // The record is enqueued where it lies; it is moved only once the
        // outcome is known.
        match shared.enqueue_or_wait(record, cx) {
            Poll::Ready(Ok(idx)) => {
                let topic = record.topic;
                // Dropped where it lies: moving it out would copy it.
                this.record = None;
                Poll::Ready(Ok(DeliveryFuture::new(shared.slots, idx, topic)))
            }
            Poll::Ready(Err(raw)) => {
                let record = this.record.take().unwrap_or_else(|| Record::to(""));
                Poll::Ready(Err(produce_error("produce", raw, record)))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl std::fmt::Debug for Producer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Producer")
            .field("name", &self.name())
            .finish_non_exhaustive()
    }
}

#[allow(unused)]
fn _assert_traits() {
    fn is<T: Send + Sync + Clone>() {}
    is::<Producer>();
    fn owned<T: Send + Sync + 'static>() {}
    owned::<DeliveryFuture>();
    owned::<RecordMetadata>();
    owned::<Record>();
    fn copy<T: Copy + Send + Sync + 'static>() {}
    copy::<Topic>();
    let _ = ErrorCode::QueueFull;
}
