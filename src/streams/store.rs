//! Where a table partition's entries live: in memory (the default), or,
//! with the `disk-store` feature and [`AppBuilder::state_dir`]
//! (super::AppBuilder::state_dir), in a redb file per table partition.
//!
//! Either way the changelog is the truth: a partition's store is emptied
//! and rebuilt from its changelog when the partition is assigned, and the
//! file of a revoked partition is deleted. The disk holds state larger
//! than memory; it is not a checkpoint.

use std::collections::HashMap;

use crate::Error;

/// An encoded key and its encoded value.
pub(crate) type Entry = (Vec<u8>, Vec<u8>);

/// A table partition's entries: encoded keys to encoded values.
pub(crate) enum Store {
    Memory(HashMap<Vec<u8>, Vec<u8>>),
    #[cfg(feature = "disk-store")]
    Disk(disk::DiskStore),
}

impl Store {
    pub(crate) fn memory() -> Store {
        Store::Memory(HashMap::new())
    }

    pub(crate) fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        match self {
            Store::Memory(m) => Ok(m.get(key).cloned()),
            #[cfg(feature = "disk-store")]
            Store::Disk(d) => d.get(key),
        }
    }

    pub(crate) fn insert(&mut self, key: Vec<u8>, value: Vec<u8>) -> Result<(), Error> {
        match self {
            Store::Memory(m) => {
                m.insert(key, value);
                Ok(())
            }
            #[cfg(feature = "disk-store")]
            Store::Disk(d) => d.write(&key, Some(&value)),
        }
    }

    pub(crate) fn remove(&mut self, key: &[u8]) -> Result<(), Error> {
        match self {
            Store::Memory(m) => {
                m.remove(key);
                Ok(())
            }
            #[cfg(feature = "disk-store")]
            Store::Disk(d) => d.write(key, None),
        }
    }

    pub(crate) fn len(&self) -> Result<usize, Error> {
        match self {
            Store::Memory(m) => Ok(m.len()),
            #[cfg(feature = "disk-store")]
            Store::Disk(d) => d.len(),
        }
    }

    /// Every entry (for reports and expiry sweeps).
    pub(crate) fn entries(&self) -> Result<Vec<Entry>, Error> {
        match self {
            Store::Memory(m) => Ok(m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
            #[cfg(feature = "disk-store")]
            Store::Disk(d) => d.entries(),
        }
    }
}

#[cfg(feature = "disk-store")]
pub(crate) mod disk {
    use std::path::{Path, PathBuf};

    use redb::{
        Database, Durability, ReadOnlyTable, ReadableDatabase, ReadableTable,
        ReadableTableMetadata, TableDefinition,
    };

    use crate::Error;

    const ENTRIES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("entries");

    /// Writes between two durable commits. redb frees the pages that
    /// non-durable commits leave behind only at a durable one, so without
    /// them the file would only grow; one fsync per this many writes.
    const WRITES_PER_SYNC: u32 = 10_000;

    /// One table partition's redb file.
    pub(crate) struct DiskStore {
        db: Database,
        path: PathBuf,
        unsynced: u32,
    }

    fn err(path: &Path, what: &str, e: impl std::fmt::Display) -> Error {
        Error::Stream(format!("table store {}: {what}: {e}", path.display()))
    }

    impl DiskStore {
        /// A new, empty store at `path` (an existing file there is
        /// replaced: the changelog rebuilds the state).
        pub(crate) fn create(path: PathBuf) -> Result<DiskStore, Error> {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| err(dir, "creating the folder", e))?;
            }
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(err(&path, "removing the old file", e)),
            }
            let db = Database::create(&path).map_err(|e| err(&path, "creating", e))?;
            // The table exists from the start, so reads need not ask.
            let txn = db.begin_write().map_err(|e| err(&path, "creating", e))?;
            txn.open_table(ENTRIES)
                .map_err(|e| err(&path, "creating", e))?;
            txn.commit().map_err(|e| err(&path, "creating", e))?;
            Ok(DiskStore {
                db,
                path,
                unsynced: 0,
            })
        }

        /// The entries table, read-only, as of now.
        fn read(&self) -> Result<ReadOnlyTable<&'static [u8], &'static [u8]>, Error> {
            let reading = |e: &dyn std::fmt::Display| err(&self.path, "reading", e);
            let txn = self.db.begin_read().map_err(|e| reading(&e))?;
            txn.open_table(ENTRIES).map_err(|e| reading(&e))
        }

        pub(crate) fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
            let table = self.read()?;
            let value = table.get(key).map_err(|e| err(&self.path, "reading", e))?;
            Ok(value.map(|v| v.value().to_vec()))
        }

        /// Sets (`Some`) or removes (`None`) a key in a transaction of its
        /// own, durable every [`WRITES_PER_SYNC`] writes.
        pub(crate) fn write(&mut self, key: &[u8], value: Option<&[u8]>) -> Result<(), Error> {
            let path = &self.path;
            let mut txn = self.db.begin_write().map_err(|e| err(path, "writing", e))?;
            self.unsynced += 1;
            let durability = if self.unsynced >= WRITES_PER_SYNC {
                self.unsynced = 0;
                Durability::Immediate
            } else {
                Durability::None
            };
            txn.set_durability(durability)
                .map_err(|e| err(path, "writing", e))?;
            {
                let mut table = txn
                    .open_table(ENTRIES)
                    .map_err(|e| err(path, "writing", e))?;
                match value {
                    Some(v) => {
                        table.insert(key, v).map_err(|e| err(path, "writing", e))?;
                    }
                    None => {
                        table.remove(key).map_err(|e| err(path, "writing", e))?;
                    }
                }
            }
            txn.commit().map_err(|e| err(path, "committing", e))
        }

        pub(crate) fn len(&self) -> Result<usize, Error> {
            let n = self
                .read()?
                .len()
                .map_err(|e| err(&self.path, "reading", e))?;
            Ok(n as usize)
        }

        pub(crate) fn entries(&self) -> Result<Vec<super::Entry>, Error> {
            let table = self.read()?;
            let mut out = Vec::new();
            for entry in table.iter().map_err(|e| err(&self.path, "reading", e))? {
                let (k, v) = entry.map_err(|e| err(&self.path, "reading", e))?;
                out.push((k.value().to_vec(), v.value().to_vec()));
            }
            Ok(out)
        }
    }

    impl Drop for DiskStore {
        /// The partition left this worker (or the app stopped): its file
        /// goes; the next owner rebuilds it from the changelog.
        fn drop(&mut self) {
            if let Err(e) = std::fs::remove_file(&self.path) {
                tracing::debug!("removing {}: {e}", self.path.display());
            }
        }
    }
}
