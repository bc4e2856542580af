use super::*;
use loom::thread;
use std::sync::atomic::{AtomicUsize as StdCount, Ordering as StdOrdering};

struct Counting(StdCount);
impl Wake for Counting {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, StdOrdering::SeqCst);
    }
}

fn report(offset: i64) -> Report {
    Report {
        err: 0,
        partition: 0,
        offset,
        ts_type: 1,
        timestamp: 0,
    }
}

/// A future polled (and so registering its waker) while its report is
/// being filled in: it ends with exactly the real report, never a lost
/// wake-up, and the slot is freed exactly once.
#[test]
fn loom_report_against_a_polling_future() {
    loom::model(|| {
        let slots = Arc::new(Slots::new(Weak::new()));
        let idx = slots.take_sent(None, Choices::default()).expect("slot");
        let completer = {
            let slots = slots.clone();
            thread::spawn(move || {
                slots.claim(slots.opaque(idx), &report(42), || Failure::bare(-1));
            })
        };
        let count = Arc::new(Counting(StdCount::new(0)));
        let waker = Waker::from(count.clone());
        let mut registered = false;
        let first = slots.poll_slot(idx, &waker, &mut registered);
        completer.join().expect("completer");
        let outcome = match first {
            Some(outcome) => outcome,
            None => {
                // Pending: the completer must have woken us.
                assert_eq!(count.0.load(StdOrdering::SeqCst), 1);
                slots
                    .poll_slot(idx, &waker, &mut registered)
                    .expect("ready after the wake-up")
            }
        };
        assert_eq!(outcome.0.offset, 42);
        assert_eq!(slots.waiting(), 0);
        assert_eq!(slots.in_flight(), 0);
        // Freed once: the next two inserts get the slot, then a new one.
        assert_eq!(slots.take_sent(None, Choices::default()), Some(idx));
        assert_eq!(slots.take_sent(None, Choices::default()), Some(idx + 1));
    });
}

/// The real report and teardown's failure race for one slot while the
/// future is dropped: exactly one claim wins, and the slot is freed once.
#[test]
fn loom_two_completers_and_a_dropped_future() {
    loom::model(|| {
        let slots = Arc::new(Slots::new(Weak::new()));
        let idx = slots.take_sent(None, Choices::default()).expect("slot");
        let future = DeliveryFuture::new(slots.clone(), idx, Topic::new("t"));
        let won = Arc::new(StdCount::new(0));
        let completers: Vec<_> = [report(42), Report::destroyed()]
            .into_iter()
            .map(|r| {
                let slots = slots.clone();
                let won = won.clone();
                thread::spawn(move || {
                    if matches!(
                        slots.claim(slots.opaque(idx), &r, || Failure::bare(r.err)),
                        Claimed::Future
                    ) {
                        won.fetch_add(1, StdOrdering::SeqCst);
                    }
                })
            })
            .collect();
        drop(future);
        for c in completers {
            c.join().expect("completer");
        }
        assert_eq!(won.load(StdOrdering::SeqCst), 1);
        assert_eq!(slots.take_sent(None, Choices::default()), Some(idx));
        assert_eq!(slots.take_sent(None, Choices::default()), Some(idx + 1));
    });
}

/// Two threads free and take slots concurrently: the free stack never
/// hands one slot out twice.
#[test]
fn loom_free_stack_hands_each_slot_out_once() {
    loom::model(|| {
        let slots = Arc::new(Slots::new(Weak::new()));
        let a = slots.take(None, Choices::default()).expect("slot");
        let b = slots.take(None, Choices::default()).expect("slot");
        slots.cancel(a);
        let t = {
            let slots = slots.clone();
            thread::spawn(move || {
                slots.cancel(b);
                slots.take(None, Choices::default()).expect("slot")
            })
        };
        let mine = slots.take(None, Choices::default()).expect("slot");
        let theirs = t.join().expect("thread");
        assert_ne!(mine, theirs);
        assert!([a, b].contains(&mine) && [a, b].contains(&theirs));
    });
}

/// A future that registered is dropped while its report is served; the
/// slot is freed and taken by a new future that registers: the new
/// future's report must wake it (dropping the first future must not
/// take the second one's waker).
#[test]
fn loom_a_dropped_future_does_not_take_the_next_futures_waker() {
    loom::model(|| {
        let slots = Arc::new(Slots::new(Weak::new()));
        let idx = slots.take_sent(None, Choices::default()).expect("slot");
        let mut first = DeliveryFuture::new(slots.clone(), idx, Topic::new("t"));
        let count = Arc::new(Counting(StdCount::new(0)));
        let waker = Waker::from(count.clone());
        assert!(slots
            .poll_slot(idx, &waker, &mut first.registered)
            .is_none());
        let dropper = thread::spawn(move || drop(first));
        let opaque = slots.opaque(idx);
        let server = {
            let slots = slots.clone();
            thread::spawn(move || {
                slots.claim(opaque, &report(1), || Failure::bare(-1));
            })
        };
        server.join().expect("server");
        let again = slots.take_sent(None, Choices::default()).expect("slot");
        if again == idx {
            let count = Arc::new(Counting(StdCount::new(0)));
            let waker = Waker::from(count.clone());
            let mut registered = false;
            if slots.poll_slot(idx, &waker, &mut registered).is_none() {
                dropper.join().expect("dropper");
                slots.claim(slots.opaque(idx), &report(2), || Failure::bare(-1));
                assert_eq!(count.0.load(StdOrdering::SeqCst), 1, "not woken");
                return;
            }
        }
        dropper.join().expect("dropper");
    });
}

/// Teardown runs while a sender has taken a callback record's slot and
/// its produce call fails: the callback is not called, and the slot is
/// given back exactly once.
#[test]
fn loom_teardown_against_a_record_being_produced() {
    loom::model(|| {
        let slots = Arc::new(Slots::new(Weak::new()));
        // A slot exists already, so teardown's range covers the next one.
        let first = slots.take(None, Choices::default()).expect("slot");
        slots.cancel(first);
        let called = Arc::new(StdCount::new(0));
        let sender = {
            let slots = slots.clone();
            let called = called.clone();
            thread::spawn(move || {
                let callback = Box::new(move |_: DeliveryResult| {
                    called.fetch_add(1, StdOrdering::SeqCst);
                });
                let idx = slots
                    .take(Some(Target::Callback(callback)), Choices::default())
                    .expect("slot");
                slots.cancel(idx);
            })
        };
        let failed = slots.fail_all(&Report::destroyed(), |_, _| {
            panic!("teardown claimed a record being produced")
        });
        sender.join().expect("sender");
        assert_eq!(failed, 0);
        assert_eq!(called.load(StdOrdering::SeqCst), 0);
        assert_eq!(slots.in_flight(), 0);
        let x = slots.take(None, Choices::default()).expect("slot");
        let y = slots.take(None, Choices::default()).expect("slot");
        assert_ne!(x, y, "one slot handed out twice");
    });
}

/// The free stack's ABA case: one thread pops, pops and pushes back
/// while the other is in the middle of a pop; the change count makes
/// the stale pop fail.
#[test]
fn loom_free_stack_survives_a_pop_pop_push_in_between() {
    loom::model(|| {
        let slots = Arc::new(Slots::new(Weak::new()));
        let a = slots.take(None, Choices::default()).expect("slot");
        let b = slots.take(None, Choices::default()).expect("slot");
        slots.cancel(b);
        slots.cancel(a);
        let other = {
            let slots = slots.clone();
            thread::spawn(move || {
                let x = slots.take(None, Choices::default()).expect("slot");
                let y = slots.take(None, Choices::default()).expect("slot");
                slots.cancel(x);
                y
            })
        };
        let m = slots.take(None, Choices::default()).expect("slot");
        let y = other.join().expect("thread");
        let n = slots.take(None, Choices::default()).expect("slot");
        assert!(m != y && n != y && m != n, "{m} {y} {n}");
    });
}
