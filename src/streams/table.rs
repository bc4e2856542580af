//! Tables: per-partition key-value state of an app, each change written to
//! a compacted changelog topic and restored from it when the partition is
//! assigned.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{lock, Core};
use crate::{Codec, CodecError, Consumer, Error, Offset, Record, TypedTopic};

use super::store::Store;

/// What the app keeps of a declared table.
pub(crate) struct TableShared {
    pub(crate) name: String,
    pub(crate) changelog: String,
    pub(crate) source: String,
    parts: Mutex<HashMap<i32, Arc<Mutex<Store>>>>,
}

impl TableShared {
    pub(crate) fn new(name: &str, changelog: String, source: &str) -> Self {
        TableShared {
            name: name.to_string(),
            changelog,
            source: source.to_string(),
            parts: Mutex::new(HashMap::new()),
        }
    }

    /// Reads partition `partition` of the changelog from its beginning to
    /// its end (`read_committed` for an exactly-once app) and makes it the
    /// partition's state, unless the partition was revoked meanwhile
    /// (`revoked`). Blocking. Returns how many records were applied.
    pub(crate) fn restore(
        &self,
        core: &Core,
        partition: i32,
        revoked: &AtomicBool,
    ) -> Result<usize, Error> {
        let mut config = core.config.clone();
        config
            .set("group.id", format!("{}-restore", core.id))?
            .set("enable.auto.commit", "false")?
            // The end of a partition written in transactions is a control
            // record, which no reader is handed: the end-of-partition event
            // says where the reader stands past it.
            .set("enable.partition.eof", "true")?
            .set("isolation.level", "read_uncommitted")?;
        // The end to reach: the partition's high watermark, asked read
        // uncommitted (a read_committed query gives the last stable offset,
        // which is short of a transaction that is committing right now).
        let timeout = core.settings.txn_timeout;
        let (_, high) =
            Consumer::new(&config)?.fetch_watermarks(&self.changelog, partition, timeout)?;
        if core.exactly_once() {
            config.set("isolation.level", "read_committed")?;
        }
        let mut store = self.new_store(core, partition)?;
        let mut applied = 0;
        if high > 0 {
            let consumer = Consumer::new(&config)?;
            consumer.assign(&[(self.changelog.as_str(), partition, Offset::Beginning)])?;
            // Read committed, an open transaction holds the reader back
            // until it ends (a crashed worker's is aborted when its
            // transaction times out): give up only after that long without
            // progress.
            let patience = timeout + Duration::from_secs(60);
            let mut progress = Instant::now();
            loop {
                match consumer.poll(Duration::from_millis(100)) {
                    Some(Ok(m)) => {
                        progress = Instant::now();
                        applied += 1;
                        let key = m.key().unwrap_or_default().to_vec();
                        match m.value() {
                            Some(value) => store.insert(key, value.to_vec())?,
                            None => store.remove(&key)?,
                        }
                        if m.offset() + 1 >= high {
                            break;
                        }
                    }
                    Some(Err(Error::PartitionEof { offset, .. })) if offset >= high => break,
                    Some(Err(Error::PartitionEof { .. })) => progress = Instant::now(),
                    None => {}
                    Some(Err(e)) => return Err(e),
                }
                if progress.elapsed() >= patience {
                    return Err(Error::Stream(format!(
                        "restoring table {} partition {partition} from {}: no progress towards \
                         offset {high} in {patience:?}",
                        self.name, self.changelog
                    )));
                }
            }
            let _ = consumer.close();
        }
        // Under the lock that forgetting a revoked partition takes, after
        // it marks the partition revoked: a late restore leaves nothing.
        let mut parts = lock(&self.parts);
        if !revoked.load(Ordering::Acquire) {
            parts.insert(partition, Arc::new(Mutex::new(store)));
        }
        Ok(applied)
    }

    /// The partition left this worker: its state goes with it.
    pub(crate) fn drop_partition(&self, partition: i32) {
        lock(&self.parts).remove(&partition);
    }

    /// An empty store for a partition: in memory, or on disk under the
    /// app's state folder.
    fn new_store(&self, core: &Core, partition: i32) -> Result<Store, Error> {
        #[cfg(feature = "disk-store")]
        if let Some(dir) = &core.settings.state_dir {
            let path = dir
                .join(&core.transactional_id)
                .join(format!("{}-{partition}.redb", self.name));
            return Ok(Store::Disk(super::store::disk::DiskStore::create(path)?));
        }
        let _ = (core, partition);
        Ok(Store::memory())
    }

    fn store(&self, partition: i32) -> Option<Arc<Mutex<Store>>> {
        lock(&self.parts).get(&partition).cloned()
    }
}

/// A table of an [`App`](super::App): per-partition key-value state that
/// an agent reads and updates through its partition's [`TablePartition`]
/// ([`AgentStream::table`](super::AgentStream::table)). Every change is
/// also written to the table's compacted changelog topic (in the app's
/// transaction when it is exactly once); when a partition is assigned to a
/// worker its state is restored from the changelog before the agent
/// starts. Held in memory.
pub struct Table<K, V> {
    shared: Arc<TableShared>,
    key: Arc<dyn Codec<Item = K>>,
    value: Arc<dyn Codec<Item = V>>,
    core: Arc<Core>,
}

impl<K, V> Clone for Table<K, V> {
    fn clone(&self) -> Self {
        Table {
            shared: self.shared.clone(),
            key: self.key.clone(),
            value: self.value.clone(),
            core: self.core.clone(),
        }
    }
}

impl<K, V> fmt::Debug for Table<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Table")
            .field("name", &self.shared.name)
            .field("changelog", &self.shared.changelog)
            .finish_non_exhaustive()
    }
}

impl<K: 'static, V: 'static> Table<K, V> {
    pub(crate) fn new(
        shared: Arc<TableShared>,
        codecs: &TypedTopic<K, V>,
        core: Arc<Core>,
    ) -> Self {
        let (key, value) = codecs.codecs();
        Table::with_codecs(shared, key, value, core)
    }

    pub(crate) fn with_codecs(
        shared: Arc<TableShared>,
        key: Arc<dyn Codec<Item = K>>,
        value: Arc<dyn Codec<Item = V>>,
        core: Arc<Core>,
    ) -> Self {
        Table {
            shared,
            key,
            value,
            core,
        }
    }

    pub(crate) fn value_codec(&self) -> Arc<dyn Codec<Item = V>> {
        self.value.clone()
    }

    /// The table's name.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    pub(crate) fn shared(&self) -> Arc<TableShared> {
        self.shared.clone()
    }

    /// The changelog topic.
    pub fn changelog(&self) -> &str {
        &self.shared.changelog
    }

    /// The topic whose partitions the table's partitions follow.
    pub fn source(&self) -> &str {
        &self.shared.source
    }

    pub(crate) fn partition_for(
        &self,
        topic: &str,
        partition: i32,
    ) -> Result<TablePartition<K, V>, Error> {
        if topic != self.shared.source {
            return Err(Error::InvalidArgument(format!(
                "table {} follows the partitions of {}, not of {topic}",
                self.shared.name, self.shared.source
            )));
        }
        let Some(store) = self.shared.store(partition) else {
            return Err(Error::InvalidArgument(format!(
                "table {} has no partition {partition} on this worker",
                self.shared.name
            )));
        };
        Ok(TablePartition {
            table: self.clone(),
            partition,
            store,
        })
    }

    /// Every entry of every partition this worker holds now, decoded (for
    /// reports and tests; agents use their [`TablePartition`]).
    pub fn entries(&self) -> Result<Vec<(K, V)>, Error> {
        let stores: Vec<_> = lock(&self.shared.parts).values().cloned().collect();
        let mut out = Vec::new();
        for store in stores {
            for (k, v) in lock(&store).entries()? {
                out.push((self.decode_key(&k)?, self.decode_value(&v)?));
            }
        }
        Ok(out)
    }

    fn codec_error(&self, what: &'static str, partition: i32, e: CodecError) -> Error {
        Error::Codec {
            what,
            topic: self.shared.changelog.clone(),
            partition: Some(partition),
            offset: None,
            reason: e.into_reason(),
        }
    }

    fn decode_key(&self, bytes: &[u8]) -> Result<K, Error> {
        self.key
            .decode(Some(bytes))
            .map_err(|e| self.codec_error("decoding a table key", -1, e))
    }

    fn decode_value(&self, bytes: &[u8]) -> Result<V, Error> {
        self.value
            .decode(Some(bytes))
            .map_err(|e| self.codec_error("decoding a table value", -1, e))
    }
}

/// One partition of a [`Table`], for the agent task of that partition.
pub struct TablePartition<K, V> {
    table: Table<K, V>,
    partition: i32,
    store: Arc<Mutex<Store>>,
}

impl<K, V> fmt::Debug for TablePartition<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TablePartition")
            .field("table", &self.table.shared.name)
            .field("partition", &self.partition)
            .finish_non_exhaustive()
    }
}

impl<K: 'static, V: 'static> TablePartition<K, V> {
    /// The partition.
    pub fn partition(&self) -> i32 {
        self.partition
    }

    /// How many keys the partition holds.
    pub fn len(&self) -> Result<usize, Error> {
        lock(&self.store).len()
    }

    /// Whether the partition holds no key.
    pub fn is_empty(&self) -> Result<bool, Error> {
        Ok(self.len()? == 0)
    }

    fn key_bytes(&self, key: &K) -> Result<Vec<u8>, Error> {
        match self.table.key.encode(key) {
            Ok(Some(bytes)) => Ok(bytes),
            Ok(None) => Err(Error::InvalidArgument(format!(
                "table {} needs keys: its key codec encoded none",
                self.table.shared.name
            ))),
            Err(e) => Err(self
                .table
                .codec_error("encoding a table key", self.partition, e)),
        }
    }

    /// The value of `key`.
    pub fn get(&self, key: &K) -> Result<Option<V>, Error> {
        let k = self.key_bytes(key)?;
        let bytes = lock(&self.store).get(&k)?;
        bytes.map(|v| self.table.decode_value(&v)).transpose()
    }

    /// Sets `key` to `value` and writes the change to the changelog.
    pub async fn insert(&self, key: &K, value: &V) -> Result<(), Error> {
        let k = self.key_bytes(key)?;
        let v = self.value_bytes(value)?;
        self.write(k, Some(v)).await
    }

    /// Removes `key` (a tombstone in the changelog).
    pub async fn remove(&self, key: &K) -> Result<(), Error> {
        let k = self.key_bytes(key)?;
        self.write(k, None).await
    }

    /// Sets `key` to what `f` makes of its current value, and returns the
    /// new value.
    pub async fn update(&self, key: &K, f: impl FnOnce(Option<V>) -> V) -> Result<V, Error> {
        let k = self.key_bytes(key)?;
        let old = lock(&self.store).get(&k)?;
        let old = old.map(|v| self.table.decode_value(&v)).transpose()?;
        let new = f(old);
        let v = self.value_bytes(&new)?;
        self.write(k, Some(v)).await?;
        Ok(new)
    }

    /// Every key's bytes, as the changelog holds them.
    pub(crate) fn raw_keys(&self) -> Result<Vec<Vec<u8>>, Error> {
        Ok(lock(&self.store)
            .entries()?
            .into_iter()
            .map(|(k, _)| k)
            .collect())
    }

    /// Removes the key of these bytes (a tombstone in the changelog).
    pub(crate) async fn remove_raw(&self, key: Vec<u8>) -> Result<(), Error> {
        self.write(key, None).await
    }

    fn value_bytes(&self, value: &V) -> Result<Vec<u8>, Error> {
        match self.table.value.encode(value) {
            Ok(Some(bytes)) => Ok(bytes),
            Ok(None) => Err(Error::InvalidArgument(format!(
                "table {}: use remove to delete a key (the value codec encoded a tombstone)",
                self.table.shared.name
            ))),
            Err(e) => Err(self
                .table
                .codec_error("encoding a table value", self.partition, e)),
        }
    }

    async fn write(&self, key: Vec<u8>, value: Option<Vec<u8>>) -> Result<(), Error> {
        let mut record = Record::to(self.table.shared.changelog.as_str())
            .key(key.clone())
            .partition(self.partition);
        {
            let mut store = lock(&self.store);
            match value {
                Some(v) => {
                    record = record.value(v.clone());
                    store.insert(key, v)?;
                }
                None => store.remove(&key)?,
            }
        }
        self.table.core.send(record).await
    }
}
