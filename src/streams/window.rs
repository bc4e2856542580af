//! Windowed tables: a table whose keys are (key, window) pairs, for counts
//! and aggregates over tumbling or hopping windows of event time, with
//! windows dropped once they expire.
//!
//! A windowed table is an ordinary [`Table`] underneath: each (key, window
//! start) is one entry, its changelog key the key's bytes followed by the
//! window's start (8 bytes, big-endian milliseconds), so restoring,
//! exactly-once commits and rebalances work as for any table.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{lock, Table, TablePartition};
use crate::{Codec, CodecError, Error};

/// The windows of a [`WindowedTable`]: their size, the step between their
/// starts, and how long a window is kept after it ends.
///
/// Windows start at multiples of the step (in milliseconds since the Unix
/// epoch) and include their start, not their end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Windows {
    size: i64,
    step: i64,
    expires: i64,
}

impl Windows {
    /// Windows of `size` one after another (each event is in exactly one),
    /// kept for `size` after they end unless [`expires`](Self::expires)
    /// says otherwise.
    pub fn tumbling(size: Duration) -> Windows {
        let size = millis(size);
        Windows {
            size,
            step: size,
            expires: size,
        }
    }

    /// Windows of `size` starting every `step` (each event is in
    /// `size / step` of them, rounded up), kept for `size` after they end
    /// unless [`expires`](Self::expires) says otherwise.
    pub fn hopping(size: Duration, step: Duration) -> Windows {
        let size = millis(size);
        Windows {
            size,
            step: millis(step),
            expires: size,
        }
    }

    /// Keeps a window for `expires` after its end: until then late events
    /// still update it; after that it is removed (a tombstone in the
    /// changelog) and events that would fall in it are ignored.
    pub fn expires(mut self, expires: Duration) -> Windows {
        self.expires = millis(expires);
        self
    }

    pub(crate) fn check(&self) -> Result<(), Error> {
        if self.size <= 0 || self.step <= 0 {
            return Err(Error::InvalidArgument(
                "windows need a size and a step of at least a millisecond".into(),
            ));
        }
        if self.step > self.size {
            return Err(Error::InvalidArgument(format!(
                "a hopping window's step ({} ms) is longer than its size ({} ms): events \
                 between windows would be in none",
                self.step, self.size
            )));
        }
        Ok(())
    }

    /// The windows that hold an event at `timestamp` (ms), latest first.
    pub fn containing(&self, timestamp: i64) -> Vec<Window> {
        let mut out = Vec::new();
        let mut start = timestamp.div_euclid(self.step) * self.step;
        while start > timestamp - self.size {
            out.push(Window {
                start,
                end: start + self.size,
            });
            start -= self.step;
        }
        out
    }

    /// Whether `window` has expired once stream time reached `now`.
    fn expired(&self, window_start: i64, now: i64) -> bool {
        window_start + self.size + self.expires <= now
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// One window: from `start` (included) to `end` (excluded), milliseconds
/// since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Window {
    /// The first millisecond in the window.
    pub start: i64,
    /// The first millisecond after it.
    pub end: i64,
}

/// A key and a window start, as a windowed table's changelog keys them.
pub(crate) struct WindowKeyCodec<K> {
    inner: Arc<dyn Codec<Item = K>>,
}

impl<K> WindowKeyCodec<K> {
    pub(crate) fn new(inner: Arc<dyn Codec<Item = K>>) -> Self {
        WindowKeyCodec { inner }
    }
}

impl<K: 'static> Codec for WindowKeyCodec<K> {
    type Item = (K, i64);

    fn encode(&self, item: &(K, i64)) -> Result<Option<Vec<u8>>, CodecError> {
        let mut bytes = self
            .inner
            .encode(&item.0)?
            .ok_or_else(|| CodecError::new("a windowed table needs keys"))?;
        bytes.extend_from_slice(&item.1.to_be_bytes());
        Ok(Some(bytes))
    }

    fn decode(&self, bytes: Option<&[u8]>) -> Result<(K, i64), CodecError> {
        let bytes = bytes.unwrap_or_default();
        let Some(split) = bytes.len().checked_sub(8) else {
            return Err(CodecError::new(format!(
                "a windowed key is at least 8 bytes, not {}",
                bytes.len()
            )));
        };
        let (key, start) = bytes.split_at(split);
        let start = window_start(start).ok_or_else(|| CodecError::new("no window start"))?;
        Ok((self.inner.decode(Some(key))?, start))
    }
}

/// The window start at the end of a windowed changelog key.
fn window_start(key: &[u8]) -> Option<i64> {
    let tail = key.get(key.len().checked_sub(8)?..)?;
    Some(i64::from_be_bytes(tail.try_into().ok()?))
}

/// A table of values per key and window (declared with
/// [`App::windowed_table`](super::App::windowed_table)); agents use their
/// partition's [`WindowedPartition`]
/// ([`AgentStream::windowed`](super::AgentStream::windowed)).
pub struct WindowedTable<K, V> {
    pub(crate) table: Table<(K, i64), V>,
    pub(crate) windows: Windows,
}

impl<K, V> Clone for WindowedTable<K, V> {
    fn clone(&self) -> Self {
        WindowedTable {
            table: self.table.clone(),
            windows: self.windows,
        }
    }
}

impl<K, V> fmt::Debug for WindowedTable<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WindowedTable")
            .field("table", &self.table)
            .field("windows", &self.windows)
            .finish()
    }
}

impl<K: 'static, V: 'static> WindowedTable<K, V> {
    /// The table's name.
    pub fn name(&self) -> &str {
        self.table.name()
    }

    /// The changelog topic.
    pub fn changelog(&self) -> &str {
        self.table.changelog()
    }

    /// The windows.
    pub fn windows(&self) -> Windows {
        self.windows
    }

    /// Every (key, window, value) of every partition this worker holds now
    /// (for reports and tests).
    pub fn entries(&self) -> Result<Vec<(K, Window, V)>, Error> {
        let size = self.windows.size;
        Ok(self
            .table
            .entries()?
            .into_iter()
            .map(|((k, start), v)| {
                (
                    k,
                    Window {
                        start,
                        end: start + size,
                    },
                    v,
                )
            })
            .collect())
    }

    pub(crate) fn partition(&self, part: TablePartition<(K, i64), V>) -> WindowedPartition<K, V> {
        WindowedPartition {
            part,
            windows: self.windows,
            time: Mutex::new(StreamTime::default()),
        }
    }
}

/// The latest event time seen and the next time to look for expired
/// windows.
#[derive(Default)]
struct StreamTime {
    now: Option<i64>,
    next_sweep: i64,
}

/// One partition of a [`WindowedTable`], for the agent task of that
/// partition. Its stream time is the latest event timestamp given to
/// [`update`](Self::update); windows expire against it.
pub struct WindowedPartition<K, V> {
    part: TablePartition<(K, i64), V>,
    windows: Windows,
    time: Mutex<StreamTime>,
}

impl<K, V> fmt::Debug for WindowedPartition<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WindowedPartition")
            .field("part", &self.part)
            .field("windows", &self.windows)
            .finish_non_exhaustive()
    }
}

impl<K: Clone + 'static, V: 'static> WindowedPartition<K, V> {
    /// The latest event time (ms) this partition has seen, if any.
    pub fn stream_time(&self) -> Option<i64> {
        lock(&self.time).now
    }

    /// The value of `key` in the window starting at `start`.
    pub fn get(&self, key: &K, start: i64) -> Result<Option<V>, Error> {
        self.part.get(&(key.clone(), start))
    }

    /// The values of `key` in the windows that hold `timestamp`, latest
    /// window first (windows without a value are left out).
    pub fn at(&self, key: &K, timestamp: i64) -> Result<Vec<(Window, V)>, Error> {
        let mut out = Vec::new();
        for w in self.windows.containing(timestamp) {
            if let Some(v) = self.get(key, w.start)? {
                out.push((w, v));
            }
        }
        Ok(out)
    }

    /// For an event of `key` at `timestamp` (ms since the Unix epoch, say
    /// the message's timestamp): sets the value of each window holding it
    /// that has not expired to what `f` makes of its current value, writes
    /// the changes to the changelog, and returns the windows and their new
    /// values (latest first; empty for an event too late for any window).
    /// Windows that expired as stream time moved on are removed.
    pub async fn update(
        &self,
        key: &K,
        timestamp: i64,
        f: impl Fn(Option<V>) -> V,
    ) -> Result<Vec<(Window, V)>, Error> {
        let (now, sweep) = {
            let mut time = lock(&self.time);
            let now = time.now.map_or(timestamp, |t| t.max(timestamp));
            time.now = Some(now);
            let sweep = now >= time.next_sweep;
            if sweep {
                time.next_sweep = now + self.windows.step;
            }
            (now, sweep)
        };
        let mut out = Vec::new();
        for w in self.windows.containing(timestamp) {
            if self.windows.expired(w.start, now) {
                continue;
            }
            let v = self.part.update(&(key.clone(), w.start), &f).await?;
            out.push((w, v));
        }
        if sweep {
            self.expire(now).await?;
        }
        Ok(out)
    }

    /// Removes every window that expired by `now`.
    async fn expire(&self, now: i64) -> Result<(), Error> {
        let expired: Vec<Vec<u8>> = self
            .part
            .raw_keys()?
            .into_iter()
            .filter(|k| window_start(k).is_some_and(|s| self.windows.expired(s, now)))
            .collect();
        for key in expired {
            self.part.remove_raw(key).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn starts(w: Windows, t: i64) -> Vec<i64> {
        w.containing(t).iter().map(|w| w.start).collect()
    }

    #[test]
    fn tumbling_windows_hold_each_time_once() {
        let w = Windows::tumbling(Duration::from_secs(10));
        assert_eq!(starts(w, 0), vec![0]);
        assert_eq!(starts(w, 9_999), vec![0]);
        assert_eq!(starts(w, 10_000), vec![10_000]);
        assert_eq!(starts(w, -1), vec![-10_000]);
        assert_eq!(w.containing(25_000)[0].end, 30_000);
    }

    #[test]
    fn hopping_windows_overlap() {
        let w = Windows::hopping(Duration::from_secs(10), Duration::from_secs(5));
        assert_eq!(starts(w, 12_000), vec![10_000, 5_000]);
        assert_eq!(starts(w, 10_000), vec![10_000, 5_000]);
        assert_eq!(starts(w, 9_999), vec![5_000, 0]);
        let uneven = Windows::hopping(Duration::from_secs(10), Duration::from_secs(3));
        assert_eq!(starts(uneven, 10_000), vec![9_000, 6_000, 3_000]);
        for t in [0, 1, 2_999, 10_000, 123_456] {
            for s in starts(uneven, t) {
                assert!(s <= t && t < s + 10_000, "{t} in [{s}, {})", s + 10_000);
            }
        }
    }

    #[test]
    fn windows_expire_after_their_end() {
        let w = Windows::tumbling(Duration::from_secs(10)).expires(Duration::from_secs(5));
        assert!(!w.expired(0, 14_999));
        assert!(w.expired(0, 15_000));
    }

    #[test]
    fn bad_windows_are_refused() {
        assert!(Windows::tumbling(Duration::ZERO).check().is_err());
        let e = Windows::hopping(Duration::from_secs(1), Duration::from_secs(2))
            .check()
            .unwrap_err();
        assert!(e.to_string().contains("longer than its size"), "{e}");
        assert!(
            Windows::hopping(Duration::from_secs(2), Duration::from_secs(1))
                .check()
                .is_ok()
        );
    }

    #[test]
    fn window_keys_round_trip() {
        let codec = WindowKeyCodec::new(Arc::new(crate::StringCodec));
        let bytes = codec.encode(&("ant".to_string(), -5)).unwrap().unwrap();
        assert_eq!(window_start(&bytes), Some(-5));
        assert_eq!(codec.decode(Some(&bytes)).unwrap(), ("ant".to_string(), -5));
        assert!(codec.decode(Some(b"short")).is_err());
    }
}
