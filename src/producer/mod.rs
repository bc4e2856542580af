//! The producer: [`Producer`], [`Record`], [`DeliveryFuture`].
//!
//! One record's path, in three files: [`Producer::send`] (here) takes a slot
//! in the slab of records in flight (delivery/mod.rs) and hands the record to
//! librdkafka (`NativeClient::produce`, native/produce.rs) with the slot's
//! index as its opaque value. Whoever serves the main queue next
//! ([`Shared::serve`], here) claims the slot named by each delivery report
//! and fills it in; the [`DeliveryFuture`] (delivery/mod.rs) reads it, or the
//! producer's delivery handler or the record's callback is called with it.
//!
//! Serving the main queue: whoever polls serves. One thread at a time holds
//! the `serving` mutex and serves every event on the main queue. A task that
//! sends, or polls a delivery future that is not ready, takes it without
//! waiting if it is free and reports have arrived (`try_lock`), as a
//! single-threaded librdkafka loop would, so a task that sends and awaits
//! needs no other thread and its slots never leave its core. The
//! dispatcher thread serves otherwise: librdkafka's wake-up hook on the main
//! queue (see [`Signal`]) marks reports as pending and wakes the dispatcher
//! when someone depends on it — a future that registered a waker, a sender
//! waiting for queue space, records with callbacks in flight — or, at the
//! latest, after [`IDLE_TICK`]. Delivery callbacks, the delivery handler and
//! the error and statistics callbacks run on the serving thread.
//!
//! Teardown ([`Shared::shutdown`]) is one path for drop and `close`: stop
//! sends, flush until everything is reported or the close timeout passes
//! (the dispatcher serves meanwhile), purge and wait for the purged reports,
//! then take the serving mutex, serve what is left and fail whatever can no
//! longer be reported. A thread that is serving (a callback dropped the last
//! handle) cannot wait for its own reports, so it hands the teardown to a
//! thread of its own.

mod delivery;
mod payload;
mod record;
mod topics;
mod transactions;

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, TryLockError};
use std::task::{Context, Poll, Waker};
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, Instant};

pub use delivery::DeliveryFuture;
pub use payload::Payload;
pub use record::{DeliveryResult, Header, ProduceError, Record, RecordMetadata, Timestamp, Topic};
pub use transactions::TxnFuture;

use crate::client::{guarded, ClientCore, Handlers};
use crate::config::ClientConfig;
use crate::native::{
    event_type, ClientKind, DeliveryView, DrBuffer, NativeEvent, NativeHeaders, NativeTopic,
    ProduceArgs, RawError, WakingQueue, PARTITION_UA,
};
use crate::statistics::Statistics;
use crate::{Error, ErrorCode, KafkaError};
use delivery::{finish, Choices, Claimed, Failure, Report, Slots, Target, ThreadWaker};
use topics::Topics;

const QUEUE_FULL: i32 = ErrorCode::QueueFull.raw();
/// How long teardown waits for the reports of purged records.
const PURGE_WAIT: Duration = Duration::from_secs(5);
/// How often an idle dispatcher looks at the main queue when nobody depends
/// on it (logs, errors and statistics wait at most this long).
const IDLE_TICK: Duration = Duration::from_millis(100);

/// A producer-level delivery handler: the outcome and the record's opaque
/// value.
type DeliveryHandler = Arc<dyn Fn(DeliveryResult, u64) + Send + Sync>;

thread_local! {
    /// The producers whose main queue this thread is serving right now (a
    /// callback of one may send to another, which then serves too).
    static SERVING: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

/// What the main queue's wake-up hook, the serving threads and the
/// dispatcher tell each other.
#[derive(Default)]
struct Signal {
    /// Events arrived on the main queue since a server last emptied it. Set
    /// by librdkafka's hook when the queue turns non-empty; cleared by the
    /// server before each poll, so an event that arrives after a poll that
    /// found nothing sets it again.
    pending: AtomicBool,
    /// Senders registered to be woken when queue space frees up.
    space_waiters: AtomicUsize,
    /// Threads waiting in a flush for the dispatcher to serve.
    flushing: AtomicUsize,
    /// Whether records with callbacks (or for the delivery handler) were
    /// ever sent: their reports are served promptly even if no task is
    /// around to serve them.
    callbacks: AtomicBool,
    /// The dispatcher must exit.
    stop: AtomicBool,
    dispatcher: OnceLock<Thread>,
}

impl Signal {
    /// Whether someone waits for the dispatcher to serve.
    fn armed(&self, slots: &Slots) -> bool {
        self.stop.load(Ordering::SeqCst)
            || slots.waiting() > 0
            || self.space_waiters.load(Ordering::SeqCst) > 0
            || self.flushing.load(Ordering::SeqCst) > 0
            || (self.callbacks.load(Ordering::Relaxed) && slots.in_flight() > 0)
    }

    /// Wakes the dispatcher.
    fn ring(&self) {
        if let Some(thread) = self.dispatcher.get() {
            thread.unpark();
        }
    }

    /// librdkafka's hook: the main queue turned non-empty. It only stores a
    /// flag and may unpark a thread: no user code runs under librdkafka's
    /// queue lock.
    fn on_queue_non_empty(&self, slots: &Slots) {
        self.pending.store(true, Ordering::SeqCst);
        if self.armed(slots) {
            self.ring();
        }
    }
}

/// State shared by the producer handles and the dispatcher thread. Delivery
/// futures hold only its slab.
pub(crate) struct Shared {
    slots: Arc<Slots>,
    topics: Topics,
    signal: Arc<Signal>,
    /// The main queue's wake-up hook, installed for the producer's life.
    _hook: WakingQueue,
    core: ClientCore,
    /// The serving token, with the buffer delivery reports are read into.
    serving: Mutex<DrBuffer>,
    space_waiters: Mutex<Vec<Waker>>,
    handler: Option<DeliveryHandler>,
    closed: AtomicBool,
}

/// The serving token, held: the holder serves the main queue.
struct ServeGuard<'a> {
    shared: &'a Shared,
    buffer: Option<MutexGuard<'a, DrBuffer>>,
}

impl Drop for ServeGuard<'_> {
    fn drop(&mut self) {
        let id = self.shared.id();
        let _ = SERVING.try_with(|s| {
            let mut s = s.borrow_mut();
            if let Some(at) = s.iter().rposition(|&p| p == id) {
                s.remove(at);
            }
        });
        drop(self.buffer.take());
        // Ordered against a waiter's count-then-check (`after_registering`),
        // which the unlock's release alone does not order.
        std::sync::atomic::fence(Ordering::SeqCst);
        // An event that arrived after this thread's last poll found the
        // queue empty: if someone waits for it, the dispatcher serves it.
        let signal = &self.shared.signal;
        if signal.pending.load(Ordering::SeqCst) && signal.armed(&self.shared.slots) {
            signal.ring();
        }
    }
}

impl Shared {
    fn id(&self) -> usize {
        self as *const Shared as usize
    }

    /// Whether this thread is serving this producer's main queue (it is
    /// running one of its callbacks).
    pub(crate) fn serves_here(&self) -> bool {
        let id = self.id();
        SERVING
            .try_with(|s| s.borrow().contains(&id))
            .unwrap_or(false)
    }

    fn hold<'a>(&'a self, buffer: MutexGuard<'a, DrBuffer>) -> ServeGuard<'a> {
        let id = self.id();
        let _ = SERVING.try_with(|s| s.borrow_mut().push(id));
        ServeGuard {
            shared: self,
            buffer: Some(buffer),
        }
    }

    /// The serving token, if no other thread holds it.
    fn try_serving(&self) -> Option<ServeGuard<'_>> {
        match self.serving.try_lock() {
            Ok(buffer) => Some(self.hold(buffer)),
            Err(TryLockError::Poisoned(p)) => Some(self.hold(p.into_inner())),
            Err(TryLockError::WouldBlock) => None,
        }
    }

    /// The serving token, waiting for the thread that holds it.
    fn lock_serving(&self) -> ServeGuard<'_> {
        let buffer = self.serving.lock().unwrap_or_else(|p| p.into_inner());
        self.hold(buffer)
    }

    /// Serves the events that have arrived, on this thread, unless another
    /// thread is serving them.
    #[inline(never)]
    pub(crate) fn serve_inline(&self) {
        match self.try_serving() {
            Some(mut guard) => self.drain(&mut guard),
            // Another thread serves; it checks for pending events and
            // waiters when it lets go (see ServeGuard::drop).
            None => std::sync::atomic::fence(Ordering::SeqCst),
        }
    }

    /// Called by a future or a sender that registered to be woken: if
    /// events are waiting and nobody serves them, serve them now (a server
    /// that is busy checks again when it lets go of the token).
    pub(crate) fn after_registering(&self) {
        if self.signal.pending.load(Ordering::SeqCst) {
            self.serve_inline();
        }
    }

    /// Serves every event on the main queue.
    fn drain(&self, guard: &mut ServeGuard<'_>) {
        loop {
            self.signal.pending.store(false, Ordering::SeqCst);
            match self.core.main_queue.poll(Duration::ZERO) {
                Some(event) => self.serve(event, guard),
                None => break,
            }
        }
    }

    /// Serves one event.
    fn serve(&self, event: NativeEvent, guard: &mut ServeGuard<'_>) {
        if event.kind() != event_type::DR {
            self.core.handle_event(&event);
            return;
        }
        let Some(buffer) = guard.buffer.as_deref_mut() else {
            // The token holds its buffer until it is dropped.
            tracing::error!("a delivery report event served without the serving token's buffer");
            return;
        };
        // The topic of the last handler record: reports come in runs of one
        // topic, and reading and interning the name for every record cost
        // about 160 instructions a message (kafkit-handler under callgrind,
        // whole process: 3848 -> 3691 per message).
        let mut last_topic: Option<(usize, Topic)> = None;
        event.for_each_delivery_batch(buffer, |batch| {
            for dr in batch.iter() {
                let (ts_type, timestamp) = dr.timestamp();
                let report = Report {
                    err: dr.err(),
                    partition: dr.partition(),
                    offset: dr.offset(),
                    ts_type,
                    timestamp,
                };
                match self.slots.claim(dr.opaque(), &report, || failure_of(&dr)) {
                    Claimed::Future => {}
                    Claimed::Handler(target, choices) => {
                        let key = dr.topic_key();
                        let topic = match last_topic {
                            Some((k, topic)) if k == key => topic,
                            _ => {
                                let topic = Topic::from(dr.topic_name());
                                last_topic = Some((key, topic));
                                topic
                            }
                        };
                        self.call(target, finish(topic, choices, &report, || failure_of(&dr)));
                    }
                    Claimed::No => {
                        tracing::error!(
                            slot = dr.opaque(),
                            "delivery report for no record in flight"
                        )
                    }
                }
            }
        });
        // Destroying the event frees its messages and their queue space.
        drop(event);
        self.wake_space_waiters();
    }

    /// Calls a record's callback or the producer's delivery handler.
    fn call(&self, target: Target, result: DeliveryResult) {
        match target {
            Target::Callback(callback) => guarded("delivery callback", || callback(result)),
            Target::Handler(opaque) => {
                if let Some(handler) = &self.handler {
                    guarded("delivery handler", || handler(result, opaque));
                }
            }
        }
    }

    fn wake_space_waiters(&self) {
        if self.signal.space_waiters.load(Ordering::SeqCst) == 0 {
            return;
        }
        let waiters = {
            let mut list = self.space_waiters.lock().unwrap_or_else(|p| p.into_inner());
            self.signal.space_waiters.store(0, Ordering::SeqCst);
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
        self.signal
            .space_waiters
            .store(list.len(), Ordering::SeqCst);
    }

    /// Enqueues a record for a `SendFuture`: on a full queue, serves what
    /// has arrived, registers the task to be woken when deliveries free
    /// space, then tries once more (so that space freed in between cannot be
    /// missed) before it returns `Pending`.
    #[inline]
    fn enqueue_or_wait(
        &self,
        record: &Record,
        cx: &mut Context<'_>,
    ) -> Poll<Result<u32, RawError>> {
        if self.signal.pending.load(Ordering::Relaxed) {
            self.serve_inline();
        }
        match self.enqueue(record, None) {
            Err(raw) if raw.code == QUEUE_FULL => self.wait_for_space(record, cx),
            other => Poll::Ready(other),
        }
    }

    #[inline(never)]
    fn wait_for_space(&self, record: &Record, cx: &mut Context<'_>) -> Poll<Result<u32, RawError>> {
        self.serve_inline();
        match self.enqueue(record, None) {
            Err(raw) if raw.code == QUEUE_FULL => {}
            other => return Poll::Ready(other),
        }
        self.register_space_waiter(cx.waker());
        match self.enqueue(record, None) {
            Err(raw) if raw.code == QUEUE_FULL => {
                self.after_registering();
                Poll::Pending
            }
            other => Poll::Ready(other),
        }
    }

    /// Enqueues one record for its future (`target` `None`) or for a
    /// callback, and returns its slot. librdkafka copies the record's
    /// bytes: the caller may drop it as soon as this returns.
    #[inline]
    fn enqueue(&self, record: &Record, target: Option<Target>) -> Result<u32, RawError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(RawError {
                message: "the producer is closed".into(),
                ..RawError::from_code(ErrorCode::Destroy.raw())
            });
        }
        if let Some(topic) = self.topics.last(&record.topic) {
            return self.produce(record, topic, target);
        }
        self.topics.with(
            &record.topic,
            |name| {
                validate_topic_name(name)?;
                self.core.native.topic(name)
            },
            |topic| self.produce(record, topic, target),
        )?
    }

    #[inline]
    fn produce(
        &self,
        record: &Record,
        topic: &NativeTopic,
        target: Option<Target>,
    ) -> Result<u32, RawError> {
        let headers = if record.headers.is_empty() {
            None
        } else {
            Some(native_headers(&record.headers)?)
        };
        let Some((idx, opaque)) = self.slots.insert(target, Choices::of(record)) else {
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
            opaque,
        });
        match produced {
            Ok(()) => {
                self.slots.sent(idx, opaque);
                Ok(idx)
            }
            Err(e) => {
                self.slots.cancel(idx);
                Err(e)
            }
        }
    }

    /// Waits, for at most `timeout`, until librdkafka holds no record: all
    /// reported and their reports served, by the dispatcher meanwhile.
    /// librdkafka's flush also sends at once what `linger.ms` would hold
    /// back. Must not run on a thread that is serving this producer.
    fn flush_all(&self, timeout: Duration) -> bool {
        self.signal.flushing.fetch_add(1, Ordering::SeqCst);
        self.signal.ring();
        let code = self.core.native.flush(timeout);
        self.signal.flushing.fetch_sub(1, Ordering::SeqCst);
        code == 0
    }

    /// The one teardown path: stops sends, flushes for at most `timeout`,
    /// purges the rest and waits for the purged reports, then takes the
    /// serving token, serves what is left and fails whatever can no longer
    /// be reported. Returns how many records were not delivered in time.
    /// Must not run on a thread that is serving this producer.
    fn shutdown(&self, timeout: Duration) -> usize {
        self.closed.store(true, Ordering::Release);
        let mut undelivered = 0;
        if !self.flush_all(timeout) {
            undelivered = self.slots.in_flight();
            self.core.native.purge();
            self.flush_all(PURGE_WAIT);
        }
        let mut guard = self.lock_serving();
        self.drain(&mut guard);
        self.fail_rest();
        drop(guard);
        undelivered
    }

    /// Fails every record still in flight: its report can no longer come.
    /// A slot claimed by a real report first keeps that report.
    fn fail_rest(&self) {
        let report = Report::destroyed();
        let failed = self.slots.fail_all(&report, |target, choices| {
            let result = finish(Topic::new(""), choices, &report, Failure::lost);
            self.call(target, result);
        });
        if failed > 0 {
            tracing::warn!(
                client = %self.core.name,
                failed,
                "{failed} records got no delivery report before the producer was freed"
            );
        }
    }
}

/// The librdkafka header list of a record; a name with a NUL byte is an
/// error (librdkafka's header API would cut the name there).
fn native_headers(headers: &[Header]) -> Result<NativeHeaders, RawError> {
    let mut list = NativeHeaders::new(headers.len());
    for header in headers {
        if header.name.contains('\0') {
            return Err(RawError {
                message: format!(
                    "header name {:?} contains a NUL byte: librdkafka passes header names as C \
                     strings and would cut it there",
                    header.name
                ),
                ..RawError::from_code(ErrorCode::InvalidArg.raw())
            });
        }
        list.add(header.name.as_bytes(), header.value.as_deref());
    }
    Ok(list)
}

/// Kafka's rule for topic names: 1 to 249 of `[a-zA-Z0-9._-]`, not `.`/`..`.
fn validate_topic_name(name: &str) -> Result<(), RawError> {
    let bad = |why: &str| RawError {
        message: format!("invalid topic name {name:?}: {why}"),
        ..RawError::from_code(ErrorCode::InvalidArg.raw())
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
    let mut headers = Vec::new();
    dr.for_each_header(|name, value| {
        headers.push(Header {
            name: name.to_string(),
            value: value.map(<[u8]>::to_vec),
        })
    });
    Failure {
        error: Error::Kafka(KafkaError::delivery(dr.err(), dr.errstr())),
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
/// how many records were not delivered, and frees everything. Every
/// delivery future resolves, and every callback is called, by then. Dropped
/// inside a delivery callback, the last handle returns at once and the same
/// teardown runs on a thread of its own.
#[derive(Clone)]
pub struct Producer {
    handle: Arc<Handle>,
}

/// The user-facing owner: its drop closes the producer.
struct Handle {
    shared: Arc<Shared>,
    dispatcher: Mutex<Option<JoinHandle<()>>>,
    close_timeout: Duration,
}

/// Builds a [`Producer`] with callbacks for deliveries, errors and
/// statistics.
pub struct ProducerBuilder {
    config: ClientConfig,
    handlers: Handlers,
    delivery: Option<DeliveryHandler>,
}

impl ProducerBuilder {
    /// Calls `f` for errors reported in the background, such as lost broker
    /// connections, on the thread serving the producer's events. Without it
    /// they are logged.
    pub fn on_error(mut self, f: impl Fn(&Error) + Send + Sync + 'static) -> Self {
        self.handlers.on_error = Some(Arc::new(f));
        self
    }

    /// Calls `f` with each statistics report, on the thread serving the
    /// producer's events; enable them with `statistics.interval.ms`.
    pub fn on_statistics(mut self, f: impl Fn(&Statistics) + Send + Sync + 'static) -> Self {
        self.handlers.on_statistics = Some(Arc::new(f));
        self
    }

    /// Sets the producer's delivery handler: `f` is called with the outcome
    /// of every record sent with [`Producer::produce`], and that record's
    /// opaque value (librdkafka's `dr_msg_cb` with the message opaque). It
    /// runs on the thread serving the delivery reports: a thread that sends
    /// or waits on this producer, or its dispatcher thread. Keep it short; a
    /// panic in it is caught and logged.
    ///
    /// ```no_run
    /// # fn demo(config: &kafkit::ClientConfig) -> Result<(), kafkit::Error> {
    /// use kafkit::{Producer, Record};
    ///
    /// let producer = Producer::builder(config)
    ///     .on_delivery(|result, id| match result {
    ///         Ok(meta) => println!("record {id} at offset {}", meta.offset),
    ///         Err(e) => eprintln!("record {id} failed: {}", e.error),
    ///     })
    ///     .build()?;
    /// producer.produce(Record::to("events").value("hello"), 1)?;
    /// # Ok(()) }
    /// ```
    pub fn on_delivery(mut self, f: impl Fn(DeliveryResult, u64) + Send + Sync + 'static) -> Self {
        self.delivery = Some(Arc::new(f));
        self
    }

    /// Creates the producer.
    ///
    /// `delivery.report.only.error=true` is refused: librdkafka then drops
    /// the reports of delivered records, so their futures and callbacks
    /// could never learn the outcome.
    pub fn build(self) -> Result<Producer, Error> {
        if self
            .config
            .get("delivery.report.only.error")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
        {
            return Err(Error::Config {
                key: "delivery.report.only.error".into(),
                reason: "kafkit needs a report for every record to resolve its delivery future or \
                         call its callback; leave it false and ignore successful outcomes instead"
                    .into(),
            });
        }
        let core = ClientCore::new(
            ClientKind::Producer,
            &self.config,
            event_type::DR,
            self.handlers,
        )?;
        let delivery = self.delivery;
        let shared = Arc::new_cyclic(|me| {
            let slots = Arc::new(Slots::new(me.clone()));
            let signal = Arc::new(Signal::default());
            let hook = {
                let (signal, slots) = (signal.clone(), slots.clone());
                WakingQueue::new(
                    core.native.main_queue(),
                    Box::new(move || signal.on_queue_non_empty(&slots)),
                )
            };
            Shared {
                slots,
                topics: Topics::new(),
                signal,
                _hook: hook,
                core,
                serving: Mutex::new(DrBuffer::default()),
                space_waiters: Mutex::new(Vec::new()),
                handler: delivery,
                closed: AtomicBool::new(false),
            }
        });
        let dispatcher = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name(format!("kafkit-{}", shared.core.name))
                .spawn(move || dispatch(&shared))
                .map_err(|e| Error::Io {
                    path: "(dispatcher thread)".into(),
                    source: e,
                })?
        };
        let _ = shared.signal.dispatcher.set(dispatcher.thread().clone());
        Ok(Producer {
            handle: Arc::new(Handle {
                shared,
                dispatcher: Mutex::new(Some(dispatcher)),
                close_timeout: self.config.close_timeout_value(),
            }),
        })
    }
}

/// The dispatcher thread: serves the main queue when events are pending
/// and no task serves them (see the module docs), until the producer stops.
fn dispatch(shared: &Shared) {
    while !shared.signal.stop.load(Ordering::Acquire) {
        if shared.signal.pending.load(Ordering::SeqCst) {
            let mut guard = shared.lock_serving();
            shared.drain(&mut guard);
        } else {
            std::thread::park_timeout(IDLE_TICK);
            // Look at the queue on every tick anyway: librdkafka calls the
            // hook only when the queue turns non-empty, so events left
            // behind by a poll that returned nothing would otherwise wait
            // for the next one (a producer waiting to connect saw none of
            // its connection errors while tests ran in parallel).
            shared.serve_inline();
        }
    }
    // Teardown has failed what was left, unless it could not run: then do
    // it here, so no future is left hanging.
    let mut guard = shared.lock_serving();
    shared.drain(&mut guard);
    shared.fail_rest();
}

impl Producer {
    /// Creates a producer from `config`.
    pub fn new(config: &ClientConfig) -> Result<Self, Error> {
        Self::builder(config).build()
    }

    /// A builder, to add delivery, error and statistics callbacks.
    pub fn builder(config: &ClientConfig) -> ProducerBuilder {
        ProducerBuilder {
            config: config.clone(),
            handlers: Handlers::default(),
            delivery: None,
        }
    }

    fn shared(&self) -> &Arc<Shared> {
        &self.handle.shared
    }

    /// The librdkafka client, for admin requests on this producer.
    pub(crate) fn native_client(&self) -> &crate::native::NativeClient {
        &self.shared().core.native
    }

    /// Enqueues a record, waiting for space while librdkafka's queue is full
    /// (woken when deliveries free space; no polling). Resolves to a
    /// [`DeliveryFuture`] for the record's delivery.
    ///
    /// Records sent one after the other from one task are enqueued in that
    /// order. An error (an unknown partition, a record over
    /// `message.max.bytes`, a header name with a NUL byte, a closed
    /// producer) hands the record back. Dropping the returned future before
    /// it completes sends nothing.
    pub fn send(&self, record: Record) -> SendFuture<'_> {
        SendFuture {
            producer: self,
            record: Some(record),
        }
    }

    /// Enqueues a record without waiting: a full queue is an error with code
    /// [`ErrorCode::QueueFull`] that hands the record back. Delivery reports
    /// that have arrived are served first, on this thread, freeing their
    /// space.
    pub fn try_send(&self, record: Record) -> Result<DeliveryFuture, ProduceError> {
        let shared = self.shared();
        if shared.signal.pending.load(Ordering::Relaxed) {
            shared.serve_inline();
        }
        match shared.enqueue(&record, None) {
            Ok(idx) => Ok(DeliveryFuture::new(shared.slots.clone(), idx, record.topic)),
            Err(raw) => Err(produce_error("produce", raw, record)),
        }
    }

    /// Enqueues a record without waiting; its outcome goes to the delivery
    /// handler set with [`ProducerBuilder::on_delivery`], with `opaque`.
    /// Nothing is allocated per record for the callback. A full queue is an
    /// immediate error, as for [`try_send`](Self::try_send), and the handler
    /// is then not called. On a producer built without
    /// [`ProducerBuilder::on_delivery`] every call fails with
    /// [`ErrorCode::InvalidArg`].
    pub fn produce(&self, record: Record, opaque: u64) -> Result<(), ProduceError> {
        let shared = self.shared();
        if shared.handler.is_none() {
            let raw = RawError {
                message: "produce() reports to the producer's delivery handler, and none was \
                          set: build the producer with ProducerBuilder::on_delivery"
                    .into(),
                ..RawError::from_code(ErrorCode::InvalidArg.raw())
            };
            return Err(produce_error("produce", raw, record));
        }
        self.enqueue_with(record, Target::Handler(opaque))
    }

    /// Enqueues a record and calls `on_delivery` with its outcome, on the
    /// thread serving the delivery reports (a thread that sends or waits on
    /// this producer, or its dispatcher thread; keep it short). A panic in
    /// the callback is caught and logged. A full queue is an immediate
    /// error, as for [`try_send`](Self::try_send); the callback is then not
    /// called. Boxes the callback: [`produce`](Self::produce) with a
    /// delivery handler does not.
    pub fn send_with_callback(
        &self,
        record: Record,
        on_delivery: impl FnOnce(DeliveryResult) + Send + 'static,
    ) -> Result<(), ProduceError> {
        self.enqueue_with(record, Target::Callback(Box::new(on_delivery)))
    }

    #[inline]
    fn enqueue_with(&self, record: Record, target: Target) -> Result<(), ProduceError> {
        let shared = self.shared();
        if !shared.signal.callbacks.load(Ordering::Relaxed) {
            shared.signal.callbacks.store(true, Ordering::Relaxed);
        }
        if shared.signal.pending.load(Ordering::Relaxed) {
            shared.serve_inline();
        }
        match shared.enqueue(&record, Some(target)) {
            Ok(_) => Ok(()),
            Err(raw) => Err(produce_error("produce", raw, record)),
        }
    }

    /// For code that is not async: enqueues a record, blocking the thread for
    /// at most `timeout` while the queue is full. Inside a delivery callback
    /// of this producer a full queue is an error at once: the reports that
    /// would free space are served by that very thread.
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
            if now >= deadline || self.shared().serves_here() {
                let record = fut.record.take().unwrap_or_else(|| Record::to(""));
                let message = if now >= deadline {
                    format!("the producer's queue stayed full for {timeout:?}")
                } else {
                    "the queue is full, and the reports that would free it are served by this \
                     thread, after the delivery callback returns"
                        .to_string()
                };
                let raw = RawError {
                    message,
                    ..RawError::from_code(QUEUE_FULL)
                };
                return Err(produce_error("produce", raw, record));
            }
            std::thread::park_timeout(deadline - now);
        }
    }

    /// Waits until every record sent so far is delivered or has failed, for
    /// at most `timeout` (sending at once what `linger.ms` holds back). On
    /// timeout the error says how many remain. Called from a delivery
    /// callback of this producer it fails at once: the reports it would wait
    /// for are served by that very thread.
    pub fn flush(&self, timeout: Duration) -> Result<(), Error> {
        let shared = self.shared();
        if shared.serves_here() {
            return Err(Error::Kafka(KafkaError::from_raw(
                "flush",
                RawError {
                    message: "flush was called from a delivery callback of the same producer: \
                              the reports it would wait for are served by this thread, after the \
                              callback returns"
                        .into(),
                    ..RawError::from_code(ErrorCode::State.raw())
                },
            )));
        }
        let flushed = shared.flush_all(timeout);
        if !flushed {
            // Serve what the dispatcher has not yet, for an exact count.
            shared.serve_inline();
        }
        match shared.slots.in_flight() {
            0 => Ok(()),
            // Only records sent by other threads during the flush remain.
            _ if flushed => Ok(()),
            left => Err(Error::Kafka(KafkaError::from_raw(
                "flush",
                RawError {
                    message: format!("{left} records still in flight after {timeout:?}"),
                    ..RawError::from_code(ErrorCode::TimedOut.raw())
                },
            ))),
        }
    }

    /// Cancels every queued and in-flight record. Their deliveries fail with
    /// [`ErrorCode::PurgeQueue`] or [`ErrorCode::PurgeInflight`], handing
    /// the records back.
    pub fn purge(&self) {
        self.shared().core.native.purge();
    }

    /// Delivers what is queued for at most `timeout`, purges the rest, and
    /// returns how many records were not delivered in time; every delivery
    /// future has resolved when it returns. Afterwards every send on any
    /// clone of this producer fails. Called from a delivery callback of this
    /// producer it cannot wait: it purges at once and returns how many
    /// records were in flight.
    pub fn close(&self, timeout: Duration) -> usize {
        let shared = self.shared();
        if shared.serves_here() {
            shared.closed.store(true, Ordering::Release);
            let in_flight = shared.slots.in_flight();
            shared.core.native.purge();
            return in_flight;
        }
        shared.shutdown(timeout)
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

impl Drop for Handle {
    fn drop(&mut self) {
        let shared = self.shared.clone();
        let dispatcher = self
            .dispatcher
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        let timeout = self.close_timeout;
        if !shared.serves_here() {
            teardown(&shared, dispatcher, timeout);
            return;
        }
        // Dropped by a delivery callback: this thread serves the reports
        // teardown waits for, so teardown waits for it on a thread of its
        // own (and starts once the callback has returned).
        let spawned = std::thread::Builder::new()
            .name("kafkit-close".into())
            .spawn(move || teardown(&shared, dispatcher, timeout));
        if let Err(e) = spawned {
            // The closure, with the dispatcher's handle, is gone: stop the
            // dispatcher, which fails what is left as it exits.
            tracing::error!("cannot start a thread to close the producer: {e}");
            self.shared.closed.store(true, Ordering::Release);
            self.shared.core.native.purge();
            self.shared.signal.stop.store(true, Ordering::SeqCst);
            self.shared.signal.ring();
        }
    }
}

/// Closes the producer and stops its dispatcher.
fn teardown(shared: &Shared, dispatcher: Option<JoinHandle<()>>, timeout: Duration) {
    let undelivered = shared.shutdown(timeout);
    if undelivered > 0 {
        tracing::warn!(
            client = %shared.core.name,
            undelivered,
            "producer dropped: {undelivered} records were not delivered within {timeout:?} and were purged"
        );
    }
    shared.signal.stop.store(true, Ordering::SeqCst);
    shared.signal.ring();
    if let Some(thread) = dispatcher {
        if thread.join().is_err() {
            tracing::error!("the producer's dispatcher thread panicked");
        }
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

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let shared = this.producer.shared();
        let Some(record) = this.record.as_ref() else {
            panic!("SendFuture polled after completion");
        };
        match shared.enqueue_or_wait(record, cx) {
            Poll::Ready(Ok(idx)) => {
                let topic = record.topic;
                // Dropped where it lies: moving it out would copy it.
                this.record = None;
                Poll::Ready(Ok(DeliveryFuture::new(shared.slots.clone(), idx, topic)))
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
}
