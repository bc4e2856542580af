//! [`NativePtr`]: the one owner of every librdkafka object kafkit holds.
//!
//! Each C type that kafkit owns implements [`Destroy`] with the C function
//! that releases it, and is held as a `NativePtr<T>`. That gives every
//! handle exactly one `Drop`, here.
//!
//! A handle that must not outlive another one (a queue, a topic, an event or
//! a message and the client they came from) carries what keeps the other
//! alive as its `keep` value. A type's `Drop` runs before its fields are
//! dropped, so the handle is always destroyed before `keep` is released,
//! whatever the order of the fields of the structs that hold it.

use std::mem::ManuallyDrop;
use std::ptr::NonNull;

use rdkafka_sys::bindings as rd;

/// A librdkafka object type and the call that releases it.
///
/// # Safety
/// `destroy` must release exactly the object or reference that the call
/// which returned the pointer handed out, and nothing else.
pub(crate) unsafe trait Destroy {
    /// Releases the object.
    ///
    /// # Safety
    /// `ptr` must be an object of this type owned by the caller; it is not
    /// used again afterwards.
    unsafe fn destroy(ptr: NonNull<Self>);
}

/// An owned librdkafka object, destroyed on drop, and `keep`: what must
/// stay alive until it is destroyed.
///
/// Neither `Send` nor `Sync` by itself: the types that wrap one opt in, each
/// with the librdkafka guarantee that allows it.
pub(crate) struct NativePtr<T: Destroy, K = ()> {
    ptr: NonNull<T>,
    /// Released after the object is destroyed (by the drop glue that runs
    /// once `Drop::drop` below has returned).
    keep: K,
}

impl<T: Destroy, K> NativePtr<T, K> {
    /// Takes ownership of `ptr`; None when it is NULL (and `keep` is
    /// dropped).
    ///
    /// # Safety
    /// `ptr` must be NULL or an object of type `T` that the caller owns and
    /// that nothing else destroys. If it depends on another object staying
    /// alive, `keep` must keep that object alive.
    pub(crate) unsafe fn from_raw(ptr: *mut T, keep: K) -> Option<Self> {
        NonNull::new(ptr).map(|ptr| NativePtr { ptr, keep })
    }

    /// The raw pointer, for passing to librdkafka; it stays owned by `self`.
    pub(crate) fn as_ptr(&self) -> *mut T {
        self.ptr.as_ptr()
    }

    /// What the object keeps alive.
    pub(crate) fn keep(&self) -> &K {
        &self.keep
    }
}

impl<T: Destroy> NativePtr<T> {
    /// Gives up ownership without destroying the object (librdkafka took it
    /// over).
    pub(crate) fn into_raw(self) -> *mut T {
        ManuallyDrop::new(self).ptr.as_ptr()
    }
}

impl<T: Destroy, K> Drop for NativePtr<T, K> {
    fn drop(&mut self) {
        // SAFETY: we own the object (from_raw's contract), and it is
        // destroyed exactly once, here; `keep` is dropped only after this.
        unsafe { T::destroy(self.ptr) }
    }
}

/// Implements [`Destroy`] for C types released by a single C function.
macro_rules! destroyed_by {
    ($($ty:ty => $destroy:ident;)*) => {$(
        // SAFETY: librdkafka documents this function as the one that
        // releases an object (or the reference) of this type.
        unsafe impl Destroy for $ty {
            unsafe fn destroy(ptr: NonNull<Self>) {
                // SAFETY: the caller owns the object and drops it once.
                unsafe { rd::$destroy(ptr.as_ptr()) }
            }
        }
    )*};
}

destroyed_by! {
    rd::rd_kafka_conf_t => rd_kafka_conf_destroy;
    rd::rd_kafka_queue_t => rd_kafka_queue_destroy;
    rd::rd_kafka_event_t => rd_kafka_event_destroy;
    rd::rd_kafka_message_t => rd_kafka_message_destroy;
    rd::rd_kafka_topic_t => rd_kafka_topic_destroy;
    rd::rd_kafka_headers_t => rd_kafka_headers_destroy;
    rd::rd_kafka_topic_partition_list_t => rd_kafka_topic_partition_list_destroy;
    rd::rd_kafka_consumer_group_metadata_t => rd_kafka_consumer_group_metadata_destroy;
    rd::rd_kafka_mock_cluster_t => rd_kafka_mock_cluster_destroy;
    rd::rd_kafka_metadata => rd_kafka_metadata_destroy;
}

// SAFETY: rd_kafka_destroy_flags is the call that releases a client
// instance; it is passed one of librdkafka's flag constants.
unsafe impl Destroy for rd::rd_kafka_t {
    unsafe fn destroy(ptr: NonNull<Self>) {
        // kafkit closes a consumer itself, within a bound, before the last
        // reference to its client goes, so librdkafka is told not to close it
        // a second time (which could block for as long as the brokers take).
        // The flag means nothing to a producer.
        // SAFETY: the caller owns the client and drops it once, on a thread
        // that is not one of librdkafka's own.
        unsafe {
            rd::rd_kafka_destroy_flags(ptr.as_ptr(), rd::RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE)
        }
    }
}
