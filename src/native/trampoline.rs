//! Running Rust code under a C stack frame.
//!
//! A panic must never unwind out of a function that librdkafka calls: the
//! whole body of every trampoline runs inside [`no_unwind`], logging
//! included (a `tracing` subscriber may panic too).

use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs `body`, stopping any panic in it. What a stopped panic leads to
/// cannot itself panic: the payload is leaked (dropping it could panic
/// again) and one line goes to stderr, ignoring errors.
pub(super) fn no_unwind(what: &str, body: impl FnOnce()) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(body)) {
        std::mem::forget(payload);
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(b"kafkit: a panic in ");
        let _ = err.write_all(what.as_bytes());
        let _ = err.write_all(b" was stopped before it reached librdkafka\n");
    }
}

/// Runs user code, returning whether it panicked; the payload is leaked, as
/// in [`no_unwind`], so that the caller goes on whatever it holds.
pub(super) fn panicked(body: impl FnOnce()) -> bool {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(()) => false,
        Err(payload) => {
            std::mem::forget(payload);
            true
        }
    }
}

#[cfg(test)]
pub(super) mod test_support {
    //! A `tracing` subscriber that panics on every event, to check that no
    //! trampoline lets a panic in its logging escape.

    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Metadata, Subscriber};

    pub(crate) struct PanickingSubscriber;

    impl Subscriber for PanickingSubscriber {
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, _: &Attributes<'_>) -> Id {
            Id::from_u64(1)
        }
        fn record(&self, _: &Id, _: &Record<'_>) {}
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, _: &Event<'_>) {
            panic!("the subscriber panics");
        }
        fn enter(&self, _: &Id) {}
        fn exit(&self, _: &Id) {}
    }

    /// Runs `f` with the panicking subscriber as this thread's default.
    pub(crate) fn with_panicking_logs(f: impl FnOnce()) {
        tracing::subscriber::with_default(PanickingSubscriber, f);
    }
}
