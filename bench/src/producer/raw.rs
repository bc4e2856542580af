//! The `raw` variant: librdkafka driven directly through `rdkafka-sys`, the
//! ceiling the kafkit variants are measured against.
//!
//! One thread produces with `rd_kafka_producev` (payload copied by
//! librdkafka, `RD_KAFKA_MSG_F_COPY`) and, whenever the queue is full, serves
//! the main queue, where delivery reports arrive as `RD_KAFKA_EVENT_DR`
//! events read in batches with `rd_kafka_event_message_array`. After the last
//! message it keeps serving until every delivery report has been seen.

use std::ptr::NonNull;
use std::time::{Duration, Instant};

use libc::{c_int, c_void};
use rdkafka_sys::bindings as rd;

use super::{Meter, Outcome, Run, Tally};
use crate::common::{cstring, new_raw_client};

extern "C" {
    /// `rd_kafka_producev`, the same symbol `rdkafka-sys` binds, declared
    /// here with a plain `int` return: `rdkafka-sys` returns the Rust enum
    /// `rd_kafka_resp_err_t`, and a code that is not one of its variants would
    /// be undefined behaviour.
    #[link_name = "rd_kafka_producev"]
    pub(crate) fn producev(rk: *mut rd::rd_kafka_t, ...) -> c_int;
}

/// `RD_KAFKA_RESP_ERR__QUEUE_FULL`.
pub(crate) const QUEUE_FULL: c_int = -184;
/// How many delivery reports are read from an event at a time.
const DR_BATCH: usize = 1024;
/// How long to wait for the delivery reports after the last message.
const DRAIN_LIMIT: Duration = Duration::from_secs(120);

/// Owns an `rd_kafka_t`.
pub(crate) struct Client(pub(crate) NonNull<rd::rd_kafka_t>);

impl Drop for Client {
    fn drop(&mut self) {
        // SAFETY: the handle is valid and owned; the topic and queue wrappers
        // that refer to it are declared after it and so dropped before it.
        unsafe { rd::rd_kafka_destroy(self.0.as_ptr()) }
    }
}

/// Owns an `rd_kafka_topic_t`.
pub(crate) struct Topic(pub(crate) NonNull<rd::rd_kafka_topic_t>);

impl Drop for Topic {
    fn drop(&mut self) {
        // SAFETY: the topic handle is valid and owned, and its client is
        // still alive (see `Client`).
        unsafe { rd::rd_kafka_topic_destroy(self.0.as_ptr()) }
    }
}

/// Owns a reference to an `rd_kafka_queue_t`.
pub(crate) struct Queue(pub(crate) NonNull<rd::rd_kafka_queue_t>);

impl Drop for Queue {
    fn drop(&mut self) {
        // SAFETY: we own one reference to the queue and release it once.
        unsafe { rd::rd_kafka_queue_destroy(self.0.as_ptr()) }
    }
}

/// Creates the producer from `settings` with delivery reports as events.
pub(crate) fn new_client(settings: &[(String, String)]) -> Result<Client, String> {
    new_raw_client(
        rd::rd_kafka_type_t::RD_KAFKA_PRODUCER,
        settings,
        rd::RD_KAFKA_EVENT_DR,
    )
    .map(Client)
}

/// Waits up to `timeout` for one event on the main queue and, if it is a
/// delivery report event, counts its messages.
pub(crate) fn serve(
    queue: &Queue,
    timeout_ms: c_int,
    buf: &mut [*const rd::rd_kafka_message_t],
    tally: &mut Tally,
) {
    // SAFETY: the queue is valid; a non-NULL result is an owned event.
    let ev = unsafe { rd::rd_kafka_queue_poll(queue.0.as_ptr(), timeout_ms) };
    if ev.is_null() {
        return;
    }
    // SAFETY: ev is a valid event.
    if unsafe { rd::rd_kafka_event_type(ev) } == rd::RD_KAFKA_EVENT_DR {
        loop {
            // SAFETY: ev is a valid DR event and buf has buf.len() writable
            // slots; each call continues after the messages already returned.
            let n = unsafe { rd::rd_kafka_event_message_array(ev, buf.as_mut_ptr(), buf.len()) };
            for &msg in &buf[..n] {
                // SAFETY: msg points to a message owned by ev, alive until the
                // event is destroyed below. `err` is the first member of
                // rd_kafka_message_t, a C enum with the size of an int; it is
                // read as an int because rdkafka-sys binds it as a Rust enum,
                // for which an unlisted value would be undefined behaviour.
                let err = unsafe { (msg as *const c_int).read() };
                tally.report(err);
            }
            if n < buf.len() {
                break;
            }
        }
    }
    // SAFETY: the event is owned and destroyed once; the message pointers in
    // buf are not used after this.
    unsafe { rd::rd_kafka_event_destroy(ev) };
}

/// Produces one record with `payload` as its value (copied by librdkafka)
/// and returns librdkafka's error code.
#[inline]
fn produce_copy(client: &Client, topic: &Topic, payload: &[u8]) -> c_int {
    // SAFETY: the client and topic handles are valid. The variadic list
    // follows rdkafka.h's RD_KAFKA_V_* macros: each vtype is promoted to an
    // int, RKT takes the topic pointer, VALUE a pointer and a size_t,
    // MSGFLAGS an int, and END closes the list. With RD_KAFKA_MSG_F_COPY
    // librdkafka copies the payload during the call, so it only has to
    // outlive the call.
    unsafe {
        producev(
            client.0.as_ptr(),
            rd::rd_kafka_vtype_t::RD_KAFKA_VTYPE_RKT as c_int,
            topic.0.as_ptr(),
            rd::rd_kafka_vtype_t::RD_KAFKA_VTYPE_VALUE as c_int,
            payload.as_ptr() as *mut c_void,
            payload.len(),
            rd::rd_kafka_vtype_t::RD_KAFKA_VTYPE_MSGFLAGS as c_int,
            rd::RD_KAFKA_MSG_F_COPY as c_int,
            rd::rd_kafka_vtype_t::RD_KAFKA_VTYPE_END as c_int,
        )
    }
}

/// Runs the variant once.
pub fn run(run: &Run<'_>) -> Result<Outcome, String> {
    let client = new_client(run.settings)?;
    let topic_name = cstring("topic", run.topic)?;
    // SAFETY: the client and name are valid; NULL conf means defaults.
    let rkt = unsafe {
        rd::rd_kafka_topic_new(client.0.as_ptr(), topic_name.as_ptr(), std::ptr::null_mut())
    };
    let topic = Topic(
        NonNull::new(rkt)
            .ok_or_else(|| format!("raw: cannot create topic handle for {:?}", run.topic))?,
    );
    // SAFETY: the client is valid; get_main returns a new queue reference.
    let q = unsafe { rd::rd_kafka_queue_get_main(client.0.as_ptr()) };
    let queue = Queue(NonNull::new(q).ok_or("raw: no main queue")?);

    let mut buf = vec![std::ptr::null::<rd::rd_kafka_message_t>(); DR_BATCH];
    let mut tally = Tally::default();
    let mut queue_full = 0u64;
    let template = run.template;
    let n = run.messages as u64;

    if run.warm_up {
        // One record, delivered, before the clock starts; then a fresh tally.
        let err = produce_copy(&client, &topic, template);
        if err != 0 {
            return Err(format!(
                "raw: the warm-up record: {}",
                kafkit::ErrorCode::from_raw(err)
            ));
        }
        let deadline = Instant::now() + DRAIN_LIMIT;
        while tally.seen() < 1 {
            if Instant::now() > deadline {
                return Err("raw: the warm-up record was not delivered".into());
            }
            serve(&queue, 100, &mut buf, &mut tally);
        }
        if let Some(e) = tally.first_error.take() {
            return Err(format!("raw: the warm-up record: {e}"));
        }
        tally = Tally::default();
    }

    let meter = Meter::start();
    let mut produced = 0u64;
    while produced < n {
        let err = produce_copy(&client, &topic, template);
        match err {
            0 => produced += 1,
            QUEUE_FULL => {
                queue_full += 1;
                serve(&queue, 100, &mut buf, &mut tally);
            }
            code => {
                return Err(format!(
                    "raw: rd_kafka_producev failed after {produced} messages: {}",
                    kafkit::ErrorCode::from_raw(code)
                ))
            }
        }
    }
    let drain_deadline = Instant::now() + DRAIN_LIMIT;
    while tally.seen() < n {
        if Instant::now() > drain_deadline {
            return Err(format!(
                "raw: only {} of {n} delivery reports after waiting {DRAIN_LIMIT:?}",
                tally.seen()
            ));
        }
        serve(&queue, 100, &mut buf, &mut tally);
    }
    let measured = meter.stop();

    drop(queue);
    drop(topic);
    drop(client);
    Ok(Outcome {
        measured,
        tally,
        note: format!("queue full {queue_full} times"),
    })
}
