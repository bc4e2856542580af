//! Asynchronous commits: each commit's result arrives on the client's main
//! queue as an offset-commit event carrying the commit's id, where the
//! dispatcher completes the matching [`CommitFuture`].

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use super::PartitionOffset;
use crate::native::code::NO_OFFSET;
use crate::native::{NativeEvent, RawError};
use crate::Error;

type Outcome = Result<Vec<PartitionOffset>, Error>;

#[derive(Default)]
struct Slot {
    outcome: Option<Outcome>,
    waker: Option<Waker>,
}

/// One commit in flight.
struct Pending {
    slot: Arc<Mutex<Slot>>,
    /// A commit of the current positions: nothing to commit is success.
    positions: bool,
}

/// The commits in flight, by id.
#[derive(Default)]
pub(super) struct Commits {
    inner: Mutex<(usize, HashMap<usize, Pending>)>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Commits {
    /// Registers a commit; returns its id (never 0) and its future.
    pub(super) fn register(&self, positions: bool) -> (usize, CommitFuture) {
        let slot = Arc::new(Mutex::new(Slot::default()));
        let mut inner = lock(&self.inner);
        inner.0 += 1;
        let id = inner.0;
        inner.1.insert(
            id,
            Pending {
                slot: slot.clone(),
                positions,
            },
        );
        (id, CommitFuture { slot })
    }

    fn finish(&self, id: usize, outcome: impl FnOnce(bool) -> Outcome) {
        let Some(pending) = lock(&self.inner).1.remove(&id) else {
            return;
        };
        let waker = {
            let mut slot = lock(&pending.slot);
            slot.outcome = Some(outcome(pending.positions));
            slot.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// The commit could not be started.
    pub(super) fn fail(&self, id: usize, error: RawError) {
        self.finish(id, |positions| {
            if positions && error.code == NO_OFFSET {
                Ok(Vec::new())
            } else {
                Err(Error::kafka("commit", error))
            }
        });
    }

    /// Completes the commit an offset-commit event reports.
    pub(super) fn complete(&self, event: &NativeEvent) {
        let id = event.opaque();
        let (code, entries) = event.offset_commit();
        self.finish(id, |positions| {
            if code == NO_OFFSET && positions {
                return Ok(Vec::new());
            }
            if code != 0 {
                return Err(Error::kafka("commit", RawError::from_code(code)));
            }
            if let Some(e) = entries.iter().find(|e| e.err != 0) {
                return Err(Error::kafka(
                    "commit",
                    RawError {
                        message: format!(
                            "{} [{}]: {}",
                            e.topic,
                            e.partition,
                            crate::ErrorCode::from_raw(e.err).description()
                        ),
                        ..RawError::from_code(e.err)
                    },
                ));
            }
            Ok(entries.into_iter().map(PartitionOffset::from).collect())
        });
    }

    /// Fails every commit still in flight (the consumer closed).
    pub(super) fn fail_all(&self) {
        let ids: Vec<usize> = lock(&self.inner).1.keys().copied().collect();
        for id in ids {
            self.finish(id, |_| Err(Error::Closed("consumer")));
        }
    }
}

/// The result of an asynchronous commit: the offsets committed.
///
/// The commit is sent when it is started, whether or not this future is
/// awaited.
#[must_use = "the commit is sent anyway; await the future to learn its result"]
pub struct CommitFuture {
    slot: Arc<Mutex<Slot>>,
}

impl CommitFuture {
    pub(super) fn failed(error: Error) -> Self {
        CommitFuture {
            slot: Arc::new(Mutex::new(Slot {
                outcome: Some(Err(error)),
                waker: None,
            })),
        }
    }
}

impl Future for CommitFuture {
    type Output = Result<Vec<PartitionOffset>, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut slot = lock(&self.slot);
        match slot.outcome.take() {
            Some(outcome) => Poll::Ready(outcome),
            None => {
                slot.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl std::fmt::Debug for CommitFuture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommitFuture").finish_non_exhaustive()
    }
}
