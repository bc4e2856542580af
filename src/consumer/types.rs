//! Plain types of the consumer API: offsets, partitions, rebalance listener.

use crate::native::{NativeGroupMetadata, TplEntry};

use super::Consumer;

/// Where to read from in a partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Offset {
    /// The oldest message kept.
    Beginning,
    /// The end: only messages produced from now on. As a result of
    /// [`Consumer::offsets_for_times`] it means no message is that recent.
    End,
    /// The group's committed offset (or `auto.offset.reset` without one).
    Stored,
    /// No offset: nothing committed, or no position yet.
    Invalid,
    /// This exact offset.
    At(i64),
}

impl Offset {
    pub(crate) fn raw(self) -> i64 {
        match self {
            Offset::Beginning => -2,
            Offset::End => -1,
            Offset::Stored => -1000,
            Offset::Invalid => -1001,
            Offset::At(o) => o,
        }
    }

    pub(crate) fn from_raw(raw: i64) -> Self {
        match raw {
            -2 => Offset::Beginning,
            -1 => Offset::End,
            -1000 => Offset::Stored,
            o if o >= 0 => Offset::At(o),
            _ => Offset::Invalid,
        }
    }

    /// The offset as a number, for [`Offset::At`].
    pub fn value(self) -> Option<i64> {
        match self {
            Offset::At(o) => Some(o),
            _ => None,
        }
    }
}

/// A partition of a topic.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
}

impl TopicPartition {
    /// A topic partition.
    pub fn new(topic: impl Into<String>, partition: i32) -> Self {
        TopicPartition {
            topic: topic.into(),
            partition,
        }
    }
}

impl From<TplEntry> for TopicPartition {
    fn from(e: TplEntry) -> Self {
        TopicPartition {
            topic: e.topic,
            partition: e.partition,
        }
    }
}

/// A partition with an offset: a position, a committed offset, or the
/// answer of an offsets-for-times lookup.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PartitionOffset {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The offset.
    pub offset: Offset,
    /// The partition leader's epoch that goes with the offset, if known.
    pub leader_epoch: Option<i32>,
}

impl From<TplEntry> for PartitionOffset {
    fn from(e: TplEntry) -> Self {
        PartitionOffset {
            topic: e.topic,
            partition: e.partition,
            offset: Offset::from_raw(e.offset),
            leader_epoch: Some(e.leader_epoch).filter(|e| *e >= 0),
        }
    }
}

/// The consumer group's state needed to commit offsets inside a producer's
/// transaction. Get it from [`Consumer::group_metadata`].
pub struct ConsumerGroupMetadata {
    pub(crate) native: NativeGroupMetadata,
}

impl std::fmt::Debug for ConsumerGroupMetadata {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsumerGroupMetadata")
            .finish_non_exhaustive()
    }
}

/// Told about partitions the group assigns to this consumer or takes away.
///
/// The methods run on the thread that polls the consumer (inside `poll`, an
/// iterator's `next`, a stream's poll, a batch read, or `close`), with the
/// consumer at hand, so they can commit, seek or store offsets. A panic is
/// caught and logged; the rebalance is applied in every case. This works the
/// same for the eager and cooperative protocols and for the KIP-848
/// `group.protocol=consumer`: with incremental protocols the partitions are
/// the ones added or removed, not the whole assignment.
pub trait RebalanceListener: Send + 'static {
    /// `partitions` were added to the assignment (already applied, so the
    /// consumer can seek them).
    fn on_assigned(&mut self, consumer: &Consumer, partitions: &[TopicPartition]) {
        let _ = (consumer, partitions);
    }

    /// `partitions` are about to be taken away in an orderly rebalance:
    /// the last chance to commit their offsets.
    fn on_revoked(&mut self, consumer: &Consumer, partitions: &[TopicPartition]) {
        let _ = (consumer, partitions);
    }

    /// `partitions` were lost (the session timed out or the member was
    /// fenced): other members may already own them, so committing fails.
    fn on_lost(&mut self, consumer: &Consumer, partitions: &[TopicPartition]) {
        let _ = (consumer, partitions);
    }
}
