//! Counting the records sent through a slab without a locked instruction
//! per record.
//!
//! Each sending thread counts its own records on a counter it owns, with a
//! plain load and store: only its owner writes a counter, so no update is
//! lost, and the reader of the total adds all counters up. A thread keeps
//! the counter it used last in a thread-local, so a send touches no shared
//! cache line but its own. A thread that exits gives its counters up (their
//! counts stay part of the total) for the next threads to take over, so the
//! counters of a slab are as many as the threads that send through it at
//! the same time. A thread that sends while it is being torn down, when its
//! thread-locals are gone, counts on a shared atomic instead.

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

/// One thread's count of the records it sent through one slab. A counter
/// is never freed, so threads keep plain `&'static` references to it.
#[repr(align(64))]
struct ThreadCount {
    /// The owning thread's token; 0 while no thread owns the counter.
    owner: AtomicU64,
    count: AtomicUsize,
}

/// Source of thread tokens (0 means none).
static NEXT_THREAD: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// The slab id and counter this thread counted on last. It has no
    /// destructor, so it can be read while the thread is torn down.
    static LAST: Cell<(u64, Option<&'static ThreadCount>)> = const { Cell::new((0, None)) };
    /// Every counter this thread owns, given up when it exits.
    static OWNED: Owned = Owned {
        token: NEXT_THREAD.fetch_add(1, Ordering::Relaxed),
        counts: RefCell::new(Vec::new()),
    };
}

struct Owned {
    token: u64,
    /// Slab ids and this thread's counter in each.
    counts: RefCell<Vec<(u64, &'static ThreadCount)>>,
}

impl Drop for Owned {
    fn drop(&mut self) {
        // Later sends from this thread must not use a counter given up.
        let _ = LAST.try_with(|last| last.set((0, None)));
        for (_, count) in self.counts.get_mut().drain(..) {
            // Publishes the last count to the next owner (see `claim`).
            count.owner.store(0, Ordering::Release);
        }
    }
}

/// The records sent through one slab.
pub(crate) struct SentCount {
    /// The slab's id (never reused), which keys the thread-local caches.
    id: u64,
    /// Counts from threads that could not own a counter.
    shared: AtomicUsize,
    /// Every thread counter of the slab, owned or not.
    threads: Mutex<Vec<&'static ThreadCount>>,
}

impl SentCount {
    /// Counters for the slab `id`.
    pub(crate) fn new(id: u64) -> Self {
        SentCount {
            id,
            shared: AtomicUsize::new(0),
            threads: Mutex::new(Vec::new()),
        }
    }

    /// Counts one record sent by this thread.
    #[inline]
    pub(crate) fn add_one(&self) {
        match LAST.try_with(Cell::get) {
            Ok((id, Some(count))) if id == self.id => bump(count),
            _ => self.add_one_slow(),
        }
    }

    #[cold]
    #[inline(never)]
    fn add_one_slow(&self) {
        match self.own_count() {
            Some(count) => {
                let _ = LAST.try_with(|last| last.set((self.id, Some(count))));
                bump(count);
            }
            None => {
                self.shared.fetch_add(1, Ordering::Release);
            }
        }
    }

    /// This thread's counter in this slab, taken now if it has none; `None`
    /// while the thread is torn down.
    fn own_count(&self) -> Option<&'static ThreadCount> {
        OWNED
            .try_with(|owned| {
                let mut counts = owned.counts.try_borrow_mut().ok()?;
                if let Some(&(_, count)) = counts.iter().find(|(id, _)| *id == self.id) {
                    return Some(count);
                }
                let count = self.claim(owned.token);
                counts.push((self.id, count));
                Some(count)
            })
            .ok()
            .flatten()
    }

    /// Takes a counter no thread owns for the thread `token`, or adds one.
    fn claim(&self, token: u64) -> &'static ThreadCount {
        let mut threads = self.threads();
        for &count in threads.iter() {
            // Acquire: the count the last owner left is seen before it is
            // carried on.
            if count
                .owner
                .compare_exchange(0, token, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                return count;
            }
        }
        let count: &'static ThreadCount = Box::leak(Box::new(ThreadCount {
            owner: AtomicU64::new(token),
            count: AtomicUsize::new(0),
        }));
        threads.push(count);
        count
    }

    fn threads(&self) -> std::sync::MutexGuard<'_, Vec<&'static ThreadCount>> {
        self.threads.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records counted so far, by every thread.
    pub(crate) fn total(&self) -> usize {
        let threads = self.threads();
        threads
            .iter()
            .fold(self.shared.load(Ordering::Acquire), |sum, count| {
                sum.wrapping_add(count.count.load(Ordering::Acquire))
            })
    }

    /// Number of thread counters the slab has (for tests).
    #[cfg(test)]
    fn counters(&self) -> usize {
        self.threads().len()
    }
}

/// Adds one to a counter this thread owns.
#[inline]
fn bump(count: &ThreadCount) {
    // Only the owner writes the count, so a plain load and store lose
    // nothing; the store publishes it to readers of the total.
    let now = count.count.load(Ordering::Relaxed).wrapping_add(1);
    count.count.store(now, Ordering::Release);
}

#[cfg(test)]
mod tests {
    use super::*;

    static NEXT_ID: AtomicU64 = AtomicU64::new(u64::MAX / 2);

    fn counts() -> SentCount {
        SentCount::new(NEXT_ID.fetch_add(1, Ordering::Relaxed))
    }

    #[test]
    fn counts_from_many_threads_add_up() {
        let sent = counts();
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..10_000 {
                        sent.add_one();
                    }
                });
            }
        });
        assert_eq!(sent.total(), 40_000);
        assert!(sent.counters() <= 4);
    }

    #[test]
    fn an_exited_threads_counter_is_taken_over_with_its_count() {
        let sent: &'static SentCount = Box::leak(Box::new(counts()));
        for round in 1..=5 {
            // join, unlike a scope's end, waits for the thread's
            // thread-locals to be dropped.
            std::thread::spawn(move || {
                for _ in 0..1000 {
                    sent.add_one();
                }
            })
            .join()
            .expect("the counting thread ran");
            assert_eq!(sent.total(), round * 1000);
        }
        // One thread at a time: each took over the counter of the last.
        assert_eq!(sent.counters(), 1);
    }

    #[test]
    fn one_thread_alternating_between_slabs_counts_each_right() {
        let (a, b) = (counts(), counts());
        for i in 0..1000 {
            a.add_one();
            if i % 3 == 0 {
                b.add_one();
            }
        }
        assert_eq!((a.total(), b.total()), (1000, 334));
        assert_eq!((a.counters(), b.counters()), (1, 1));
    }
}
