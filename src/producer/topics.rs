//! The producer's topic handles, created on first use and kept for its life.
//!
//! Every send looks its topic up, so the common case costs no lock and no
//! hash: the first [`EARLY`] topics live in slots that are written once and
//! then only read, and the slot used last is tried first (a producer usually
//! sends to one topic for a while). The guess is checked, so it is never
//! wrong, only sometimes missed (then a map by name decides): by pointer when
//! the record shares the slot's [`Topic`], by name otherwise.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{OnceLock, RwLock};

use super::record::Topic;
use crate::native::{NativeTopic, RawError};

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
    map: HashMap<Box<str>, Place, BuildHasherDefault<NameHasher>>,
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
                None => Err(RawError::from_code(UNKNOWN_TOPIC)),
            },
            Some(Place::Late(handle)) => Ok(f(handle)),
            None => Err(RawError::from_code(UNKNOWN_TOPIC)),
        }
    }
}

/// `RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC`.
const UNKNOWN_TOPIC: i32 = -188;

/// Hashes topic names, one 8-byte word at a time (multiply and rotate, as
/// FxHash does): several times faster than the default SipHash on short
/// names. The names come from the application, not from the network, so
/// resistance to crafted collisions is not needed.
#[derive(Default)]
pub(crate) struct NameHasher(u64);

impl NameHasher {
    fn mix(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

/// The 8 bytes at `at` as a word (`bytes` must hold them).
fn word(bytes: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    if let Some(chunk) = bytes.get(at..at + 8) {
        w.copy_from_slice(chunk);
    }
    u64::from_le_bytes(w)
}

impl Hasher for NameHasher {
    fn write(&mut self, bytes: &[u8]) {
        let len = bytes.len();
        if len < 8 {
            let mut w = 0u64;
            for &b in bytes {
                w = (w << 8) | u64::from(b);
            }
            self.mix(w ^ ((len as u64) << 56));
            return;
        }
        let mut at = 0;
        while at + 8 <= len {
            self.mix(word(bytes, at));
            at += 8;
        }
        if at < len {
            // The last 8 bytes, overlapping the previous word.
            self.mix(word(bytes, len - 8));
        }
        self.mix(len as u64);
    }

    fn write_u8(&mut self, byte: u8) {
        self.mix(u64::from(byte));
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn names_hash_apart() {
        let build = BuildHasherDefault::<NameHasher>::default();
        let names = [
            "",
            "a",
            "b",
            "ab",
            "ba",
            "orders",
            "orders-1",
            "orders-2",
            "orders-10",
            "a.very.long.topic.name.with.many.parts-1",
            "a.very.long.topic.name.with.many.parts-2",
        ];
        let hashes: std::collections::HashSet<u64> =
            names.iter().map(|n| build.hash_one(n)).collect();
        assert_eq!(hashes.len(), names.len());
    }
}
