//! The send path allocates nothing per record when the record's bytes are
//! shared and its topic interned (a counting global allocator watches every
//! thread of this test binary).

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{read_back, Target};
use kafkit::{Payload, Producer, Record, Topic};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is passed on to the system allocator unchanged; the
// counter is only an atomic increment.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn sending_shared_bytes_allocates_nothing_per_record() {
    let target = Target::mock(1);
    let name = target.topic("no-alloc", 3);
    let topic = Topic::new(&name);
    let producer = Producer::new(&target.config()).expect("producer");
    let shared: Arc<[u8]> = Arc::from(&[7u8; 100][..]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let n = 20_000;
    // Room for every future, allocated before counting starts.
    let mut futures = Vec::with_capacity(n);
    let send_all = |count: usize, futures: &mut Vec<kafkit::DeliveryFuture>| {
        rt.block_on(async {
            for _ in 0..count {
                let record = Record::to(topic)
                    .key(Payload::from_static(b"k"))
                    .value(&shared);
                futures.push(producer.send(record).await.expect("enqueue"));
            }
            for f in futures.drain(..) {
                f.await.expect("delivered");
            }
        })
    };
    // Warm up: the topic handle, the first slots, the thread's caches.
    send_all(1_000, &mut futures);
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    send_all(n, &mut futures);
    let counted = ALLOCATIONS.load(Ordering::SeqCst) - before;
    // Allocations that do not grow with the record count (a new slot
    // segment, the dispatcher's buffers, librdkafka's log lines) are fine;
    // one per record is not.
    assert!(
        counted < n / 20,
        "{counted} allocations for {n} records sent"
    );
    let messages = read_back(&target, &name, 3, n + 1_000, Duration::from_secs(60));
    assert_eq!(messages.len(), n + 1_000);
    assert!(messages
        .iter()
        .all(|m| m.value() == Some(&shared[..]) && m.key() == Some(&b"k"[..])));
}
