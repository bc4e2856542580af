//! The consumer's reading state: the read buffers of the consumer queue and
//! of partition streams, kept in step with assignment changes, pauses and
//! seeks.

use std::sync::Arc;
use std::time::Duration;

use super::reader::Reader;
use super::{kafka, list_of, lock, Consumer, PartitionStream, Split, TopicPartition};
use crate::native::NativeQueue;
use crate::Error;

/// Reading state: the read buffers of the consumer queue and of partition
/// streams.
impl Consumer {
    /// The split-off partitions among `partitions`.
    pub(super) fn splits_of(&self, partitions: &[(&str, i32)]) -> Vec<Arc<Reader>> {
        lock(&self.inner.split)
            .iter()
            .filter(|s| {
                partitions
                    .iter()
                    .any(|(t, p)| *p == s.partition && *t == s.topic)
            })
            .map(|s| s.reader.clone())
            .collect()
    }

    /// Drops what the read buffers hold of `partitions` (see
    /// [`Reader::drop_partitions`]); returns where each would have been
    /// read next, when known.
    pub(super) fn drop_buffered(
        &self,
        partitions: &[(&str, i32)],
        forget: bool,
    ) -> Vec<Option<i64>> {
        let mut positions = self.inner.main.drop_partitions(partitions, forget);
        for reader in self.splits_of(partitions) {
            let theirs = reader.drop_partitions(partitions, forget);
            for (mine, theirs) in positions.iter_mut().zip(theirs) {
                *mine = mine.or(theirs);
            }
        }
        positions
    }

    pub(super) fn set_paused(&self, partitions: &[(&str, i32)], paused: bool) {
        self.inner.main.set_paused(partitions, paused);
        for reader in self.splits_of(partitions) {
            reader.set_paused(partitions, paused);
        }
    }

    /// The next offset the application reads from a partition, when a
    /// read buffer knows it.
    pub(super) fn buffered_position(&self, topic: &str, partition: i32) -> Option<i64> {
        let pair = [(topic, partition)];
        self.splits_of(&pair)
            .iter()
            .find_map(|r| r.position(topic, partition))
            .or_else(|| self.inner.main.position(topic, partition))
    }

    /// Holds the queues of partitions being assigned apart until the
    /// rebalance listener's `on_assigned` returned, for a listener that
    /// splits every assigned partition into a partition stream.
    #[cfg(feature = "streams")]
    pub(crate) fn hold_assigned_queues(&self) {
        self.inner
            .hold_assigned
            .store(true, std::sync::atomic::Ordering::Release);
    }

    /// Cuts the queues of `partitions` from the consumer queue (see the
    /// rebalance hook); returns them, to be joined back with
    /// [`release_partition_queues`](Self::release_partition_queues).
    pub(super) fn hold_partition_queues(
        &self,
        partitions: &[(&str, i32)],
    ) -> Vec<(String, i32, NativeQueue)> {
        partitions
            .iter()
            .filter_map(|(t, p)| {
                let queue = self.native().partition_queue(t, *p)?;
                queue.forward_to(None);
                Some((t.to_string(), *p, queue))
            })
            .collect()
    }

    /// Forwards the held queues that no partition stream took to the
    /// consumer queue again (what they gathered meanwhile goes first).
    pub(super) fn release_partition_queues(&self, held: Vec<(String, i32, NativeQueue)>) {
        if held.is_empty() {
            return;
        }
        let split = lock(&self.inner.split);
        for (topic, partition, queue) in held {
            if !split
                .iter()
                .any(|s| s.partition == partition && s.topic == topic)
            {
                queue.forward_to(Some(self.inner.main.queue()));
            }
        }
    }

    /// Partitions left this consumer (revoked, lost, unassigned): nothing
    /// more of them is handed out, and their partition streams end.
    pub(super) fn leave_partitions(&self, partitions: &[(&str, i32)]) {
        {
            let mut paused = lock(&self.inner.paused);
            for (t, p) in partitions {
                paused.remove(&TopicPartition::new(*t, *p));
            }
        }
        self.set_paused(partitions, false);
        self.inner.main.drop_partitions(partitions, true);
        let ended: Vec<Split> = {
            let mut split = lock(&self.inner.split);
            let (ended, kept) = std::mem::take(&mut *split).into_iter().partition(|s| {
                partitions
                    .iter()
                    .any(|(t, p)| *p == s.partition && *t == s.topic)
            });
            *split = kept;
            ended
        };
        for s in ended {
            self.end_split(&s, false);
        }
    }

    /// The whole assignment was replaced.
    pub(super) fn leave_all_partitions(&self) {
        lock(&self.inner.paused).clear();
        self.inner.main.drop_all();
        for s in std::mem::take(&mut *lock(&self.inner.split)) {
            self.end_split(&s, false);
        }
    }

    /// Ends a partition stream and sends the partition's messages back to
    /// the consumer queue. `resume`: the partition stays assigned, so it is
    /// read again from after the last message the stream handed out.
    pub(super) fn end_split(&self, split: &Split, resume: bool) {
        let at = split.reader.position(&split.topic, split.partition);
        split.reader.end();
        split
            .reader
            .queue()
            .forward_to(Some(self.inner.main.queue()));
        if let (true, Some(offset)) = (resume, at) {
            let seek = list_of([(split.topic.as_str(), split.partition, offset)]).and_then(|l| {
                self.native()
                    .seek(&l, Duration::ZERO)
                    .map_err(kafka("seek"))
            });
            if let Err(e) = seek {
                tracing::warn!(
                    "resuming {} [{}] after its partition stream: {e}",
                    split.topic,
                    split.partition
                );
            }
        }
    }

    /// A stream of one assigned partition's messages, read through the
    /// partition's own queue: for one worker per partition, each in offset
    /// order, while [`stream`](Self::stream) (or any other read of this
    /// consumer) goes on with the other partitions and serves the group's
    /// rebalances — keep one of those running.
    ///
    /// The stream ends when the partition is revoked, lost or unassigned,
    /// or the consumer closes; a new one may be made when it is assigned
    /// again. The usual place to make one is
    /// [`RebalanceListener::on_assigned`], before the partition's first
    /// message arrives. Made later, it starts after the last message read
    /// from the partition by the consumer's other reads. Dropping it while
    /// the partition is still assigned hands the partition back to them,
    /// from after the last message the stream gave out.
    ///
    /// Offsets are stored as the stream hands messages out, as for the
    /// consumer's other reads.
    pub fn partition_stream(&self, topic: &str, partition: i32) -> Result<PartitionStream, Error> {
        self.check_open()?;
        let assigned = self
            .assignment()?
            .iter()
            .any(|tp| tp.partition == partition && tp.topic == topic);
        if !assigned {
            return Err(Error::InvalidArgument(format!(
                "{topic} [{partition}] is not assigned to this consumer: a partition stream \
                 is made for an assigned partition (in on_assigned, for example)"
            )));
        }
        // The refill lock first, as in a rebalance (which takes the list).
        let _refills = self.inner.main.exclusive();
        let mut split = lock(&self.inner.split);
        if split
            .iter()
            .any(|s| s.partition == partition && s.topic == topic)
        {
            return Err(Error::InvalidArgument(format!(
                "{topic} [{partition}] already has a partition stream"
            )));
        }
        let Some(queue) = self.native().partition_queue(topic, partition) else {
            return Err(Error::InvalidArgument(format!(
                "{topic} [{partition}] is unknown to this consumer"
            )));
        };
        queue.forward_to(None);
        let pair = [(topic, partition)];
        let at = self.inner.main.drop_partitions(&pair, true)[0];
        if let Some(offset) = at {
            // What the consumer queue still holds of it is discarded by the
            // seek and fetched again, into the new queue.
            list_of([(topic, partition, offset)]).and_then(|l| {
                self.native()
                    .seek(&l, Duration::ZERO)
                    .map_err(kafka("seek"))
            })?;
        }
        let reader = Arc::new(Reader::new(queue, self.inner.auto_store));
        split.push(Split {
            topic: topic.to_string(),
            partition,
            reader: reader.clone(),
        });
        Ok(PartitionStream::new(self.clone(), topic, partition, reader))
    }

    /// A partition stream was dropped.
    pub(super) fn drop_split(&self, reader: &Arc<Reader>) {
        let split = {
            let mut split = lock(&self.inner.split);
            let Some(i) = split.iter().position(|s| Arc::ptr_eq(&s.reader, reader)) else {
                return;
            };
            split.swap_remove(i)
        };
        let _refills = self.inner.main.exclusive();
        self.end_split(&split, !self.is_closed());
    }
}
