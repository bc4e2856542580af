//! The producer's topic handles, created on first use and kept for its life.
//!
//! Every send looks its topic up, so the common case costs no lock and no
//! hash: the first [`EARLY`] topics live in slots that are written once and
//! then only read, and the slot used last is tried first (a producer usually
//! sends to one topic for a while). The guess is checked, so it is never
//! wrong, only sometimes missed (then a map by name decides): by pointer when
//! the record shares the slot's [`Topic`], by name otherwise.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{OnceLock, RwLock};

use super::record::Topic;
use crate::native::{NativeTopic, RawError};
use crate::ErrorCode;

/// Topics kept in lock-free slots; later ones are only in the map.
const EARLY: usize = 32;

struct Entry {
    /// The name, as the first record sent to it shared it.
    topic: Topic,
    handle: NativeTopic,
}

/// Where a topic's handle is.
enum Place {
    Early(usize),
    Late(NativeTopic),
}

#[derive(Default)]
struct Names {
    map: HashMap<Box<str>, Place>,
    early_used: usize,
}

pub(crate) struct Topics {
    early: [OnceLock<Entry>; EARLY],
    /// The early slot used last.
    last: AtomicUsize,
    names: RwLock<Names>,
}

impl Topics {
    pub(crate) fn new() -> Self {
        Topics {
            early: std::array::from_fn(|_| OnceLock::new()),
            last: AtomicUsize::new(0),
            names: RwLock::new(Names::default()),
        }
    }

    /// The handle of `topic` if it is the one used last: the common case,
    /// with no lock, no hash and (for a shared [`Topic`]) no string
    /// comparison.
    #[inline]
    pub(crate) fn last(&self, topic: &Topic) -> Option<&NativeTopic> {
        let entry = self.early.get(self.last.load(Ordering::Relaxed))?.get()?;
        (entry.topic.same(topic) || entry.topic.as_str() == topic.as_str()).then_some(&entry.handle)
    }

    /// Calls `f` with the handle of `topic`, creating the handle with
    /// `create` (which also validates the name) on first use.
    pub(crate) fn with<R>(
        &self,
        topic: &Topic,
        create: impl FnOnce(&str) -> Result<NativeTopic, RawError>,
        f: impl FnOnce(&NativeTopic) -> R,
    ) -> Result<R, RawError> {
        if let Some(handle) = self.last(topic) {
            return Ok(f(handle));
        }
        let name = topic.as_str();
        {
            let names = self.names.read().unwrap_or_else(|p| p.into_inner());
            match names.map.get(name) {
                Some(Place::Early(i)) => {
                    if let Some(entry) = self.early.get(*i).and_then(OnceLock::get) {
                        self.last.store(*i, Ordering::Relaxed);
                        return Ok(f(&entry.handle));
                    }
                }
                Some(Place::Late(handle)) => return Ok(f(handle)),
                None => {}
            }
        }
        let mut names = self.names.write().unwrap_or_else(|p| p.into_inner());
        let names = &mut *names;
        if !names.map.contains_key(name) {
            let handle = create(name)?;
            let place = match self.early.get(names.early_used) {
                Some(slot) => {
                    let i = names.early_used;
                    // Slots are filled in order under the write lock, so
                    // this one is empty.
                    let _ = slot.set(Entry {
                        topic: *topic,
                        handle,
                    });
                    names.early_used += 1;
                    Place::Early(i)
                }
                None => Place::Late(handle),
            };
            names.map.insert(name.into(), place);
        }
        match names.map.get(name) {
            Some(Place::Early(i)) => match self.early.get(*i).and_then(OnceLock::get) {
                Some(entry) => {
                    self.last.store(*i, Ordering::Relaxed);
                    Ok(f(&entry.handle))
                }
                None => Err(RawError::from_code(ErrorCode::UnknownTopic.raw())),
            },
            Some(Place::Late(handle)) => Ok(f(handle)),
            None => Err(RawError::from_code(ErrorCode::UnknownTopic.raw())),
        }
    }
}
