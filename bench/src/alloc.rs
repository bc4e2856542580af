//! A global allocator that counts Rust heap allocations.
//!
//! Only allocations made through Rust's global allocator are seen: the C
//! mallocs inside librdkafka (message structs, copied payloads, protocol
//! buffers) are not counted.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

/// Wraps [`System`] and counts allocation calls (`alloc`, `alloc_zeroed`
/// and `realloc`) and the bytes they ask for.
pub struct Counting;

/// The two counters, on one cache line of their own so that they do not
/// share a line with unrelated data.
#[repr(align(64))]
struct Counters {
    calls: AtomicU64,
    bytes: AtomicU64,
}

static COUNTERS: Counters = Counters {
    calls: AtomicU64::new(0),
    bytes: AtomicU64::new(0),
};

#[inline]
fn count(bytes: usize) {
    COUNTERS.calls.fetch_add(1, Ordering::Relaxed);
    COUNTERS.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
}

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged, so `System`'s guarantees hold; the counters have no effect on
// the memory handed out.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: forwarded unchanged; the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: forwarded unchanged; the caller upholds the contract.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` (every allocation goes
        // through this wrapper) with `layout`, as the caller guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size);
        // SAFETY: forwarded unchanged; `ptr` came from `System` with `layout`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// A reading of the counters.
#[derive(Debug, Clone, Copy, Default)]
pub struct Snapshot {
    /// Allocation calls so far.
    pub calls: u64,
    /// Bytes requested so far.
    pub bytes: u64,
}

impl Snapshot {
    /// The counters now.
    pub fn now() -> Self {
        Snapshot {
            calls: COUNTERS.calls.load(Ordering::Relaxed),
            bytes: COUNTERS.bytes.load(Ordering::Relaxed),
        }
    }

    /// What was counted between `earlier` and `self`.
    pub fn since(self, earlier: Snapshot) -> Snapshot {
        Snapshot {
            calls: self.calls - earlier.calls,
            bytes: self.bytes - earlier.bytes,
        }
    }
}
