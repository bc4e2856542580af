//! Committing and storing offsets, and reading committed offsets and
//! positions.

use super::{
    kafka, offsets_list, partitions_list, CommitFuture, Consumer, Message, Offset, PartitionOffset,
};
use std::time::Duration;

use crate::native::{code, TopicPartitionList};
use crate::Error;

impl Consumer {
    /// Commits the current positions of all assigned partitions and waits
    /// for the result. Nothing to commit is not an error.
    pub fn commit(&self) -> Result<(), Error> {
        self.check_open()?;
        match self.native().commit_sync(None) {
            Err(e) if e.code == code::NO_OFFSET => Ok(()),
            other => other.map_err(kafka("commit")),
        }
    }

    /// Commits these offsets (the next offset to read, as Kafka counts) and
    /// waits for the result.
    pub fn commit_offsets(&self, offsets: &[(&str, i32, Offset)]) -> Result<(), Error> {
        self.check_open()?;
        let list = offsets_list(offsets)?;
        self.native()
            .commit_sync(Some(&list))
            .map_err(kafka("commit"))?;
        list.first_error()
            .map_or(Ok(()), |e| Err(Error::kafka("commit", e)))
    }

    /// Commits the offset after `message` and waits for the result.
    pub fn commit_message(&self, message: &Message) -> Result<(), Error> {
        self.commit_offsets(&[(
            message.topic(),
            message.partition(),
            Offset::At(message.offset() + 1),
        )])
    }

    /// Starts committing the current positions; the future resolves with
    /// the committed offsets. The request is sent whether or not the future
    /// is awaited.
    pub fn commit_async(&self) -> CommitFuture {
        self.start_commit(None)
    }

    /// Starts committing these offsets; see [`commit_async`](Self::commit_async).
    pub fn commit_offsets_async(&self, offsets: &[(&str, i32, Offset)]) -> CommitFuture {
        match offsets_list(offsets) {
            Ok(list) => self.start_commit(Some(list)),
            Err(e) => CommitFuture::failed(e),
        }
    }

    pub(super) fn start_commit(&self, list: Option<TopicPartitionList>) -> CommitFuture {
        if let Err(e) = self.check_open() {
            return CommitFuture::failed(e);
        }
        let shared = &self.inner.shared;
        let (id, future) = shared.commits.register(list.is_none());
        if let Err(e) = self
            .native()
            .commit_to_queue(list.as_ref(), &shared.core.main_queue, id)
        {
            shared.commits.fail(id, e);
        }
        future
    }

    /// Stores the offset after `message`, to be committed by the next
    /// (auto) commit. For at-least-once processing, set
    /// `enable.auto.offset.store=false` and store each message once it is
    /// processed.
    pub fn store_offset(&self, message: &Message) -> Result<(), Error> {
        self.check_open()?;
        message
            .native()
            .store_offset()
            .map_err(kafka("store offset"))
    }

    /// Stores these offsets (the next offset to read) for the next commit.
    pub fn store_offsets(&self, offsets: &[(&str, i32, Offset)]) -> Result<(), Error> {
        self.check_open()?;
        if self.inner.auto_store {
            return Err(Error::InvalidArgument(
                "store_offsets needs enable.auto.offset.store=false: with it on, \
                 each message's offset is stored when the message is handed out"
                    .into(),
            ));
        }
        let list = offsets_list(offsets)?;
        self.native()
            .offsets_store(&list)
            .map_err(kafka("store offsets"))
    }

    /// The group's committed offsets for `partitions` ([`Offset::Invalid`]
    /// where nothing is committed).
    pub fn committed(
        &self,
        partitions: &[(&str, i32)],
        timeout: Duration,
    ) -> Result<Vec<PartitionOffset>, Error> {
        self.check_open()?;
        let list = partitions_list(partitions)?;
        let entries = self
            .native()
            .committed(&list, timeout)
            .map_err(kafka("committed"))?;
        Ok(entries.into_iter().map(PartitionOffset::from).collect())
    }

    /// The next offset this consumer reads from each of `partitions`
    /// ([`Offset::Invalid`] before the first message).
    pub fn position(&self, partitions: &[(&str, i32)]) -> Result<Vec<PartitionOffset>, Error> {
        let list = partitions_list(partitions)?;
        let entries = self.native().position(&list).map_err(kafka("position"))?;
        // librdkafka counts what it gave the read buffer; the buffer knows
        // what the application got.
        Ok(entries
            .into_iter()
            .map(|e| {
                let mut p = PartitionOffset::from(e);
                if let Some(next) = self.buffered_position(&p.topic, p.partition) {
                    p.offset = Offset::At(next);
                }
                p
            })
            .collect())
    }
}
