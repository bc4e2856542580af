use super::*;
use std::sync::atomic::AtomicUsize as StdCount;

fn slab() -> Arc<Slots> {
    Arc::new(Slots::new(Weak::new()))
}

fn delivered(offset: i64) -> Report {
    Report {
        err: 0,
        partition: 2,
        offset,
        ts_type: 1,
        timestamp: 1000,
    }
}

/// A waker that counts its wake-ups.
struct Counting(StdCount);
impl Wake for Counting {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

#[test]
fn a_slot_fills_one_cache_line() {
    assert_eq!(std::mem::size_of::<Slot>(), 64);
}

#[test]
fn locate_covers_every_index_once() {
    let mut expected = (0usize, 0usize);
    for idx in 0..(1u32 << 12) {
        let (segment, offset) = locate(idx);
        assert_eq!((segment, offset), expected, "index {idx}");
        expected.1 += 1;
        if expected.1 == 1 << (FIRST_BITS as usize + expected.0) {
            expected = (expected.0 + 1, 0);
        }
    }
}

#[test]
fn free_slots_are_reused_in_last_in_first_out_order() {
    let slots = slab();
    let a = slots.take(None, Choices::default()).expect("slot");
    let b = slots.take(None, Choices::default()).expect("slot");
    assert_eq!((a, b), (0, 1));
    slots.cancel(a);
    slots.cancel(b);
    assert_eq!(slots.take(None, Choices::default()), Some(b));
    assert_eq!(slots.take(None, Choices::default()), Some(a));
    assert_eq!(slots.take(None, Choices::default()), Some(2));
    assert_eq!(slots.in_flight(), 3);
}

#[test]
fn a_slot_is_completed_once_and_the_second_claim_backs_off() {
    let slots = slab();
    let idx = slots.take_sent(None, Choices::default()).expect("slot");
    let mut future = DeliveryFuture::new(slots.clone(), idx, Topic::new("t"));
    assert!(matches!(
        slots.claim(slots.opaque(idx), &delivered(42), || Failure::bare(-1)),
        Claimed::Future
    ));
    // Teardown arriving late must not overwrite the real report.
    assert_eq!(slots.fail_all(&Report::destroyed(), |_, _| {}), 0);
    let meta = future
        .wait(Duration::from_secs(1))
        .expect("ready")
        .expect("delivered");
    assert_eq!((meta.partition, meta.offset), (2, 42));
    assert_eq!(slots.in_flight(), 0);
}

#[test]
fn a_waiting_future_is_woken_once_by_its_report() {
    let slots = slab();
    let idx = slots.take_sent(None, Choices::default()).expect("slot");
    let mut future = DeliveryFuture::new(slots.clone(), idx, Topic::new("t"));
    let count = Arc::new(Counting(StdCount::new(0)));
    let waker = Waker::from(count.clone());
    let mut cx = Context::from_waker(&waker);
    assert!(Pin::new(&mut future).poll(&mut cx).is_pending());
    assert!(Pin::new(&mut future).poll(&mut cx).is_pending());
    assert_eq!(slots.waiting(), 1);
    slots.claim(slots.opaque(idx), &delivered(7), || Failure::bare(-1));
    assert_eq!(count.0.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(slots.waiting(), 0);
    match Pin::new(&mut future).poll(&mut cx) {
        Poll::Ready(Ok(meta)) => assert_eq!(meta.offset, 7),
        other => panic!("expected a delivery, got {other:?}"),
    }
}

#[test]
fn a_failed_record_comes_back_with_its_choices() {
    let slots = slab();
    let choices = Choices {
        partition: Some(3),
        timestamp: Some(99),
    };
    let idx = slots.take_sent(None, choices).expect("slot");
    let mut future = DeliveryFuture::new(slots.clone(), idx, Topic::new("t"));
    let report = Report {
        err: ErrorCode::MsgSizeTooLarge.raw(),
        ..delivered(-1)
    };
    slots.claim(slots.opaque(idx), &report, || Failure {
        error: Failure::bare(report.err).error,
        key: Some(b"k".to_vec()),
        value: Some(b"v".to_vec()),
        headers: Vec::new(),
    });
    let failed = future
        .wait(Duration::from_secs(1))
        .expect("ready")
        .expect_err("failed");
    assert_eq!(failed.record.partition_choice(), Some(3));
    assert_eq!(failed.record.timestamp_choice(), Some(99));
    assert_eq!(failed.record.key_bytes(), Some(&b"k"[..]));
    assert_eq!(failed.record.value_bytes(), Some(&b"v"[..]));
}

#[test]
fn a_dropped_future_frees_its_slot_when_the_report_comes() {
    let slots = slab();
    let idx = slots.take_sent(None, Choices::default()).expect("slot");
    drop(DeliveryFuture::new(slots.clone(), idx, Topic::new("t")));
    slots.claim(slots.opaque(idx), &delivered(1), || Failure::bare(-1));
    assert_eq!(slots.take_sent(None, Choices::default()), Some(idx));
}

#[test]
fn a_handler_record_hands_its_opaque_and_frees_its_slot() {
    let slots = slab();
    let idx = slots
        .take_sent(Some(Target::Handler(u64::MAX - 1)), Choices::default())
        .expect("slot");
    match slots.claim(slots.opaque(idx), &delivered(5), || Failure::bare(-1)) {
        Claimed::Handler(Target::Handler(opaque), _) => assert_eq!(opaque, u64::MAX - 1),
        _ => panic!("expected the handler's opaque"),
    }
    assert!(matches!(
        slots.claim(slots.opaque(idx), &delivered(5), || Failure::bare(-1)),
        Claimed::No
    ));
    assert_eq!(slots.take_sent(None, Choices::default()), Some(idx));
}

#[test]
fn teardown_fails_what_is_left_and_calls_each_callback_once() {
    let slots = slab();
    let called = Arc::new(StdCount::new(0));
    let c = called.clone();
    slots
        .take_sent(
            Some(Target::Callback(Box::new(move |r: DeliveryResult| {
                assert!(r.is_err());
                c.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }))),
            Choices::default(),
        )
        .expect("slot");
    let idx = slots.take_sent(None, Choices::default()).expect("slot");
    let mut future = DeliveryFuture::new(slots.clone(), idx, Topic::new("t"));
    let failed = slots.fail_all(&Report::destroyed(), |target, choices| {
        if let Target::Callback(callback) = target {
            callback(Err(rebuild(
                Topic::new("t"),
                choices,
                Failure::bare(ErrorCode::Destroy.raw()),
            )));
        }
    });
    assert_eq!(failed, 2);
    assert_eq!(called.load(std::sync::atomic::Ordering::SeqCst), 1);
    let err = future
        .wait(Duration::from_secs(1))
        .expect("ready")
        .expect_err("destroyed");
    assert_eq!(err.error.code(), Some(ErrorCode::Destroy));
    assert_eq!(slots.fail_all(&Report::destroyed(), |_, _| {}), 0);
}

#[test]
fn a_report_from_an_earlier_use_of_a_slot_is_ignored() {
    let slots = slab();
    let idx = slots.take_sent(None, Choices::default()).expect("slot");
    let old = slots.opaque(idx);
    drop(DeliveryFuture::new(slots.clone(), idx, Topic::new("t")));
    slots.claim(old, &delivered(1), || Failure::bare(-1));
    // The slot's next record.
    assert_eq!(slots.take_sent(None, Choices::default()), Some(idx));
    let mut future = DeliveryFuture::new(slots.clone(), idx, Topic::new("t"));
    assert!(matches!(
        slots.claim(old, &delivered(1), || Failure::bare(-1)),
        Claimed::No
    ));
    slots.claim(slots.opaque(idx), &delivered(2), || Failure::bare(-1));
    let meta = future
        .wait(Duration::from_secs(1))
        .expect("ready")
        .expect("ok");
    assert_eq!(meta.offset, 2);
}

#[test]
fn teardown_leaves_a_record_whose_produce_call_has_not_returned() {
    let slots = slab();
    let (idx, opaque) = slots.insert(None, Choices::default()).expect("slot");
    assert_eq!(slots.fail_all(&Report::destroyed(), |_, _| {}), 0);
    // Its produce call succeeded after all: the real report completes it.
    slots.sent(idx, opaque);
    let mut future = DeliveryFuture::new(slots.clone(), idx, Topic::new("t"));
    slots.claim(opaque, &delivered(9), || Failure::bare(-1));
    let meta = future
        .wait(Duration::from_secs(1))
        .expect("ready")
        .expect("ok");
    assert_eq!(meta.offset, 9);
    // And one whose produce call failed is given back once.
    let (idx, _) = slots.insert(None, Choices::default()).expect("slot");
    assert_eq!(slots.fail_all(&Report::destroyed(), |_, _| {}), 0);
    slots.cancel(idx);
    assert_eq!(slots.in_flight(), 0);
    assert_eq!(slots.take(None, Choices::default()), Some(idx));
    assert_eq!(slots.take(None, Choices::default()), Some(idx + 1));
}

#[test]
fn concurrent_senders_each_get_their_own_outcome() {
    let slots = slab();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let slots = slots.clone();
            std::thread::spawn(move || {
                for i in 0..2000i64 {
                    let offset = t * 1_000_000 + i;
                    let idx = slots.take_sent(None, Choices::default()).expect("slot");
                    let mut future = DeliveryFuture::new(slots.clone(), idx, Topic::new("t"));
                    let completer = {
                        let slots = slots.clone();
                        std::thread::spawn(move || {
                            slots
                                .claim(slots.opaque(idx), &delivered(offset), || Failure::bare(-1));
                        })
                    };
                    let meta = future
                        .wait(Duration::from_secs(10))
                        .expect("ready")
                        .expect("delivered");
                    assert_eq!(meta.offset, offset);
                    completer.join().expect("completer");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("sender");
    }
    assert_eq!(slots.in_flight(), 0);
    assert_eq!(slots.waiting(), 0);
}
