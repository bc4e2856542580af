//! `rd_kafka_event_t`, and the delivery reports a DR event carries.

use std::ptr::NonNull;

use libc::c_char;
use rdkafka_sys::bindings as rd;

use super::client::ClientRef;
use super::convert::cstr_lossy;
use super::error::err_description;
use super::message::{bytes, header_at};
use super::ptr::NativePtr;
use super::sys::{self, RawMessage};
use super::tpl::{read_list, TplEntry};

/// An owned `rd_kafka_event_t`.
pub(crate) struct NativeEvent {
    pub(super) ptr: NativePtr<rd::rd_kafka_event_t, ClientRef>,
}

// SAFETY: an event is owned by whoever polled it and may be moved between
// threads; librdkafka does not touch it again until it is destroyed.
unsafe impl Send for NativeEvent {}

/// A reusable buffer for the message pointers of delivery events. It is
/// empty between calls, so it never holds a pointer past its event.
#[derive(Default)]
pub(crate) struct DrBuffer(Vec<*const rd::rd_kafka_message_t>);

// SAFETY: the buffer only holds pointers during one for_each_delivery call,
// on the calling thread; between calls it is empty.
unsafe impl Send for DrBuffer {}

/// Capacity of the buffer that delivery reports are extracted into.
pub(crate) const DR_BATCH: usize = 1024;

impl NativeEvent {
    /// `RD_KAFKA_EVENT_*` type, as an integer.
    pub(crate) fn kind(&self) -> i32 {
        // SAFETY: the event is valid.
        unsafe { rd::rd_kafka_event_type(self.ptr.as_ptr()) }
    }

    /// Calls `f` with the delivery reports of a DR event, in batches of at
    /// most [`DR_BATCH`] read with `rd_kafka_event_message_array`.
    pub(crate) fn for_each_delivery_batch(
        &self,
        buf: &mut DrBuffer,
        mut f: impl FnMut(DeliveryBatch<'_>),
    ) {
        let buf = &mut buf.0;
        buf.clear();
        buf.resize(DR_BATCH, std::ptr::null());
        loop {
            // SAFETY: the event is valid and buf holds DR_BATCH writable slots.
            let n = unsafe {
                rd::rd_kafka_event_message_array(self.ptr.as_ptr(), buf.as_mut_ptr(), buf.len())
            };
            if n > 0 {
                f(DeliveryBatch {
                    msgs: &buf[..n.min(buf.len())],
                    _event: std::marker::PhantomData,
                });
            }
            if n < buf.len() {
                break;
            }
        }
        buf.clear();
    }

    /// A log event's (level, facility, message).
    pub(crate) fn log(&self) -> Option<(i32, String, String)> {
        let mut fac: *const c_char = std::ptr::null();
        let mut text: *const c_char = std::ptr::null();
        let mut level: libc::c_int = 0;
        // SAFETY: the event is valid; the out-pointers are valid and the
        // strings they receive live as long as the event, and are copied.
        unsafe {
            if rd::rd_kafka_event_log(self.ptr.as_ptr(), &mut fac, &mut text, &mut level) != 0 {
                return None;
            }
            Some((level, cstr_lossy(fac), cstr_lossy(text)))
        }
    }

    /// An error event's (code, description, is fatal).
    pub(crate) fn error(&self) -> (i32, String, bool) {
        // SAFETY: the event is valid; the string lives as long as the event
        // and is copied.
        unsafe {
            (
                sys::rd_kafka_event_error(self.ptr.as_ptr()),
                cstr_lossy(rd::rd_kafka_event_error_string(self.ptr.as_ptr())),
                rd::rd_kafka_event_error_is_fatal(self.ptr.as_ptr()) != 0,
            )
        }
    }

    /// The opaque value of an event (set by the call that caused it).
    pub(crate) fn opaque(&self) -> usize {
        // SAFETY: the event is valid.
        unsafe { rd::rd_kafka_event_opaque(self.ptr.as_ptr()) as usize }
    }

    /// An offset-commit result: the error code and the partitions with
    /// their own error codes.
    pub(crate) fn offset_commit(&self) -> (i32, Vec<TplEntry>) {
        // SAFETY: the event is valid; the list belongs to the event and is
        // copied before it is destroyed.
        unsafe {
            (
                sys::rd_kafka_event_error(self.ptr.as_ptr()),
                read_list(rd::rd_kafka_event_topic_partition_list(self.ptr.as_ptr())),
            )
        }
    }

    /// A statistics event's JSON document.
    pub(crate) fn stats(&self) -> String {
        // SAFETY: the event is valid; the JSON lives as long as the event and
        // is copied.
        unsafe { cstr_lossy(rd::rd_kafka_event_stats(self.ptr.as_ptr())) }
    }
}

/// Delivery reports borrowed from their event.
pub(crate) struct DeliveryBatch<'a> {
    msgs: &'a [*const rd::rd_kafka_message_t],
    _event: std::marker::PhantomData<&'a NativeEvent>,
}

impl<'a> DeliveryBatch<'a> {
    /// The reports, in the event's order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = DeliveryView<'a>> + '_ {
        self.msgs.iter().filter_map(|&msg| {
            NonNull::new(msg as *mut rd::rd_kafka_message_t).map(|msg| DeliveryView {
                msg,
                _event: std::marker::PhantomData,
            })
        })
    }
}

/// A delivery report borrowed from its event.
pub(crate) struct DeliveryView<'a> {
    msg: NonNull<rd::rd_kafka_message_t>,
    _event: std::marker::PhantomData<&'a NativeEvent>,
}

impl DeliveryView<'_> {
    fn raw(&self) -> &RawMessage {
        // SAFETY: the message is valid while its event lives (the lifetime
        // ties us to it) and RawMessage mirrors rd_kafka_message_t's layout
        // with the error kept as an integer.
        unsafe { &*(self.msg.as_ptr() as *const RawMessage) }
    }

    /// The error code (0 = delivered).
    pub(crate) fn err(&self) -> i32 {
        self.raw().err
    }

    pub(crate) fn partition(&self) -> i32 {
        self.raw().partition
    }

    pub(crate) fn offset(&self) -> i64 {
        self.raw().offset
    }

    /// Identifies the message's topic handle: equal for two reports of one
    /// event when they are of the same topic (a cheap check before
    /// [`topic_name`](Self::topic_name)).
    pub(crate) fn topic_key(&self) -> usize {
        self.raw().rkt as usize
    }

    /// The name of the topic the message was produced to ("" if librdkafka
    /// gives none, which it does not for a delivery report).
    pub(crate) fn topic_name(&self) -> &str {
        let rkt = self.raw().rkt;
        if rkt.is_null() {
            return "";
        }
        // SAFETY: the message holds a reference on its topic while its event
        // lives; the name is a NUL-terminated string owned by the topic,
        // borrowed no longer than this view.
        let name = unsafe { rd::rd_kafka_topic_name(rkt) };
        if name.is_null() {
            return "";
        }
        // SAFETY: non-NULL and NUL-terminated, as above.
        unsafe { std::ffi::CStr::from_ptr(name) }
            .to_str()
            .unwrap_or("")
    }

    /// The opaque value given to produce.
    pub(crate) fn opaque(&self) -> usize {
        self.raw().private as usize
    }

    /// (timestamp type as integer, timestamp in ms).
    pub(crate) fn timestamp(&self) -> (i32, i64) {
        let mut ty: libc::c_int = 0;
        // SAFETY: the message is valid; ty is a valid out-pointer.
        let ts = unsafe { sys::rd_kafka_message_timestamp(self.msg.as_ptr(), &mut ty) };
        (ty, ts)
    }

    /// The key librdkafka copied at produce time, or None for a null key.
    pub(crate) fn key(&self) -> Option<&[u8]> {
        let raw = self.raw();
        bytes(raw.key, raw.key_len)
    }

    /// The value librdkafka copied at produce time (`RD_KAFKA_MSG_F_COPY`),
    /// or None for a null value.
    pub(crate) fn payload(&self) -> Option<&[u8]> {
        let raw = self.raw();
        bytes(raw.payload, raw.len)
    }

    /// Calls `f` with each header (name, value) of the message, in order.
    pub(crate) fn for_each_header(&self, mut f: impl FnMut(&str, Option<&[u8]>)) {
        let mut list: *mut rd::rd_kafka_headers_t = std::ptr::null_mut();
        // SAFETY: the message is valid; for a produced message this only
        // reads the header list it carries (NOENT when there is none).
        let code = unsafe { sys::rd_kafka_message_headers(self.msg.as_ptr(), &mut list) };
        if code != 0 || list.is_null() {
            return;
        }
        // SAFETY: the list belongs to the message, valid while its event lives.
        let count = unsafe { rd::rd_kafka_header_cnt(list) };
        for idx in 0..count {
            // SAFETY: the list stays valid and unmodified during this loop,
            // and the borrows do not escape the call to f.
            if let Some((name, value)) = unsafe { header_at(list, idx) } {
                f(&String::from_utf8_lossy(name), value);
            }
        }
    }

    /// A more detailed error string for a failed delivery.
    ///
    /// `rd_kafka_message_errstr` must not be used here: for a delivery report
    /// it returns the payload (not NUL-terminated). The produce variant
    /// returns the error string or NULL.
    pub(crate) fn errstr(&self) -> String {
        // SAFETY: the message is valid; the result is NULL or a
        // NUL-terminated string that lives with the message, and is copied.
        let text = unsafe { cstr_lossy(rd::rd_kafka_message_produce_errstr(self.msg.as_ptr())) };
        if text.is_empty() {
            err_description(self.err())
        } else {
            text
        }
    }
}
