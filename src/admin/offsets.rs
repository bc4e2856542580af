//! Offsets: a group's committed offsets (list, alter, delete), the offsets
//! of partitions by position or time, and a group's lag.

use std::collections::HashMap;
use std::future::Future;

use super::{AdminClient, AdminFuture, AdminOptions, PartitionResult};
use crate::native::{code, AdminOp, GroupOutcome, OffsetToCommit, RawError, TplEntry};
use crate::{Error, TopicPartition};

/// Which offset [`AdminClient::list_offsets`] looks up in a partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OffsetSpec {
    /// The first offset kept (the log start offset).
    Earliest,
    /// The offset the next record will get (the high watermark, or the last
    /// stable offset with [`IsolationLevel::ReadCommitted`]).
    Latest,
    /// The offset of the record with the largest timestamp.
    MaxTimestamp,
    /// The first offset whose record's timestamp is at or after this time,
    /// in milliseconds since the Unix epoch.
    Timestamp(i64),
}

impl OffsetSpec {
    fn raw(self) -> Result<i64, RawError> {
        match self {
            OffsetSpec::Earliest => Ok(-2),
            OffsetSpec::Latest => Ok(-1),
            OffsetSpec::MaxTimestamp => Ok(-3),
            OffsetSpec::Timestamp(t) if t >= 0 => Ok(t),
            OffsetSpec::Timestamp(t) => {
                Err(invalid(format!("offset spec: timestamp {t} is negative")))
            }
        }
    }
}

/// Which records a read (or an offset lookup) sees of open transactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum IsolationLevel {
    /// Every record, committed or not.
    #[default]
    ReadUncommitted,
    /// Only records of committed transactions: the end is the last stable
    /// offset.
    ReadCommitted,
}

impl IsolationLevel {
    fn raw(self) -> i32 {
        match self {
            IsolationLevel::ReadUncommitted => 0,
            IsolationLevel::ReadCommitted => 1,
        }
    }
}

/// One partition's answer of [`AdminClient::list_offsets`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListedOffset {
    /// The offset; None when no record is at or after the asked timestamp.
    pub offset: Option<i64>,
    /// The record's timestamp for [`OffsetSpec::Timestamp`] and
    /// [`OffsetSpec::MaxTimestamp`], when the broker gives one.
    pub timestamp: Option<i64>,
    /// The partition leader's epoch, when the broker gives it.
    pub leader_epoch: Option<i32>,
}

/// A group's committed offset of one partition
/// ([`AdminClient::list_consumer_group_offsets`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedOffset {
    /// The offset; None when the group has committed none.
    pub offset: Option<i64>,
    /// The metadata committed with it.
    pub metadata: String,
    /// The leader epoch committed with it, if any.
    pub leader_epoch: Option<i32>,
}

/// An offset to commit for a group with
/// [`AdminClient::alter_consumer_group_offsets`].
///
/// ```
/// let offset = kafkit::GroupOffset::new("orders", 0, 42).metadata("replayed");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupOffset {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The offset the group resumes from.
    pub offset: i64,
    /// Metadata stored with the offset.
    pub metadata: String,
    /// The leader epoch of the offset's record, if known.
    pub leader_epoch: Option<i32>,
}

impl GroupOffset {
    /// `offset` for `topic` / `partition`, without metadata.
    pub fn new(topic: impl Into<String>, partition: i32, offset: i64) -> Self {
        GroupOffset {
            topic: topic.into(),
            partition,
            offset,
            metadata: String::new(),
            leader_epoch: None,
        }
    }

    /// Sets the metadata stored with the offset.
    pub fn metadata(mut self, metadata: impl Into<String>) -> Self {
        self.metadata = metadata.into();
        self
    }

    /// Sets the leader epoch of the offset's record.
    pub fn leader_epoch(mut self, epoch: i32) -> Self {
        self.leader_epoch = Some(epoch);
        self
    }
}

/// One partition of a [`GroupLag`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionLag {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The group's committed offset, if it has one.
    pub committed: Option<i64>,
    /// The partition's high watermark (the offset of the next record).
    pub high_watermark: i64,
    /// How many records the group has still to read: the high watermark
    /// minus the committed offset (never below 0); None without a commit.
    pub lag: Option<i64>,
}

/// A consumer group's lag ([`AdminClient::consumer_group_lag`]).
#[derive(Debug)]
pub struct GroupLag {
    /// Every partition the group has committed offsets for, with its lag.
    pub partitions: Vec<PartitionLag>,
    /// The sum of the partitions' lags.
    pub total: i64,
    /// Partitions whose high watermark could not be read (a deleted topic,
    /// say), left out of `partitions` and `total`.
    pub errors: Vec<(TopicPartition, Error)>,
}

fn invalid(message: String) -> RawError {
    RawError {
        message,
        ..RawError::from_code(code::INVALID_ARG)
    }
}

fn pairs(partitions: &[TopicPartition]) -> Vec<(String, i32)> {
    partitions
        .iter()
        .map(|p| (p.topic.clone(), p.partition))
        .collect()
}

/// The partitions of the one group a group offsets request is about; the
/// group's own error fails the request.
fn group_partitions(
    what: &'static str,
    groups: Result<Vec<GroupOutcome>, RawError>,
) -> Result<Vec<(TplEntry, String)>, Error> {
    let group = groups
        .map_err(|e| Error::kafka(what, e))?
        .into_iter()
        .next()
        .ok_or_else(|| Error::kafka(what, invalid("the result names no group".into())))?;
    match group.error {
        Some(e) => Err(Error::kafka(what, e)),
        None => Ok(group.partitions),
    }
}

fn partition_result<T>(
    what: &'static str,
    e: TplEntry,
    ok: impl FnOnce(&TplEntry) -> T,
) -> PartitionResult<T> {
    let result = if e.err == code::NO_ERROR {
        Ok(ok(&e))
    } else {
        Err(Error::kafka(what, RawError::from_code(e.err)))
    };
    PartitionResult {
        topic: e.topic,
        partition: e.partition,
        result,
    }
}

fn unit_results(what: &'static str, partitions: Vec<(TplEntry, String)>) -> Vec<PartitionResult> {
    partitions
        .into_iter()
        .map(|(e, _)| partition_result(what, e, |_| ()))
        .collect()
}

impl AdminClient {
    /// A group's committed offsets: of every partition it has committed
    /// for (`partitions` None), or of the given ones (a partition without a
    /// commit then has offset None). Each partition has its own result; an
    /// error of the group itself (such as a coordinator that cannot be
    /// reached) fails the request.
    pub fn list_consumer_group_offsets(
        &self,
        group: &str,
        partitions: Option<&[TopicPartition]>,
        options: &AdminOptions,
    ) -> AdminFuture<Vec<PartitionResult<CommittedOffset>>> {
        let group = group.to_string();
        let partitions = partitions.map(pairs);
        self.request(
            AdminOp::ListConsumerGroupOffsets,
            "list consumer group offsets",
            options,
            move |native, opts, queue| {
                if partitions.as_ref().is_some_and(Vec::is_empty) {
                    return Err(invalid(
                        "partitions: an empty list (use None for all partitions)".into(),
                    ));
                }
                native.list_consumer_group_offsets(&group, partitions.as_deref(), opts, queue)
            },
            |event| {
                let what = "list consumer group offsets";
                let partitions =
                    group_partitions(what, event.list_consumer_group_offsets_result())?;
                Ok(partitions
                    .into_iter()
                    .map(|(e, metadata)| {
                        partition_result(what, e, |e| CommittedOffset {
                            offset: (e.offset >= 0).then_some(e.offset),
                            metadata,
                            leader_epoch: (e.leader_epoch >= 0).then_some(e.leader_epoch),
                        })
                    })
                    .collect())
            },
        )
    }

    /// Sets a group's committed offsets, each partition with its own
    /// result. The group must have no active members: Kafka 4.3 refuses
    /// the partitions of a group with members, classic or KIP-848, with
    /// [`UnknownMemberId`](crate::ErrorCode::UnknownMemberId).
    pub fn alter_consumer_group_offsets(
        &self,
        group: &str,
        offsets: &[GroupOffset],
        options: &AdminOptions,
    ) -> AdminFuture<Vec<PartitionResult>> {
        let group = group.to_string();
        let offsets: Vec<OffsetToCommit> = offsets
            .iter()
            .map(|o| OffsetToCommit {
                topic: o.topic.clone(),
                partition: o.partition,
                offset: o.offset,
                leader_epoch: o.leader_epoch.unwrap_or(-1),
                metadata: o.metadata.clone(),
            })
            .collect();
        self.request(
            AdminOp::AlterConsumerGroupOffsets,
            "alter consumer group offsets",
            options,
            move |native, opts, queue| {
                if let Some(o) = offsets.iter().find(|o| o.offset < 0) {
                    return Err(invalid(format!(
                        "offset {} for {} [{}] is negative",
                        o.offset, o.topic, o.partition
                    )));
                }
                native.alter_consumer_group_offsets(&group, &offsets, opts, queue)
            },
            |event| {
                let what = "alter consumer group offsets";
                Ok(unit_results(
                    what,
                    group_partitions(what, event.alter_consumer_group_offsets_result())?,
                ))
            },
        )
    }

    /// Deletes a group's committed offsets of `partitions`, each partition
    /// with its own result. A partition of a topic the group's members are
    /// subscribed to is refused
    /// ([`GroupSubscribedToTopic`](crate::ErrorCode::GroupSubscribedToTopic)).
    ///
    /// librdkafka 2.12 aborts the process when the group's coordinator
    /// lacks the OffsetDelete API (Kafka before 2.4, and librdkafka's mock
    /// cluster): do not call it there.
    pub fn delete_consumer_group_offsets(
        &self,
        group: &str,
        partitions: &[TopicPartition],
        options: &AdminOptions,
    ) -> AdminFuture<Vec<PartitionResult>> {
        let group = group.to_string();
        let partitions = pairs(partitions);
        self.request(
            AdminOp::DeleteConsumerGroupOffsets,
            "delete consumer group offsets",
            options,
            move |native, opts, queue| {
                native.delete_consumer_group_offsets(&group, &partitions, opts, queue)
            },
            |event| {
                let what = "delete consumer group offsets";
                Ok(unit_results(
                    what,
                    group_partitions(what, event.delete_consumer_group_offsets_result())?,
                ))
            },
        )
    }

    /// Looks up offsets of partitions: the earliest, the latest, the one
    /// with the largest timestamp, or the first at or after a time. Each
    /// partition has its own result.
    ///
    /// ```no_run
    /// # async fn demo(admin: kafkit::AdminClient) -> Result<(), kafkit::Error> {
    /// use kafkit::{AdminOptions, IsolationLevel, OffsetSpec};
    /// let ends = admin
    ///     .list_offsets(&[("orders", 0, OffsetSpec::Latest)], IsolationLevel::ReadCommitted, &AdminOptions::new())
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn list_offsets(
        &self,
        partitions: &[(&str, i32, OffsetSpec)],
        isolation_level: IsolationLevel,
        options: &AdminOptions,
    ) -> AdminFuture<Vec<PartitionResult<ListedOffset>>> {
        let specs: Result<Vec<(String, i32, i64)>, RawError> = partitions
            .iter()
            .map(|(t, p, s)| Ok((t.to_string(), *p, s.raw()?)))
            .collect();
        self.request(
            AdminOp::ListOffsets,
            "list offsets",
            options,
            move |native, opts, queue| {
                let specs = specs?;
                opts.isolation_level(isolation_level.raw())?;
                native.list_offsets(&specs, opts, queue)
            },
            |event| {
                let what = "list offsets";
                let infos = event
                    .list_offsets_result()
                    .map_err(|e| Error::kafka(what, e))?;
                Ok(infos
                    .into_iter()
                    .map(|info| {
                        let timestamp = info.timestamp;
                        partition_result(what, info.entry, |e| ListedOffset {
                            offset: (e.offset >= 0).then_some(e.offset),
                            timestamp: (timestamp >= 0).then_some(timestamp),
                            leader_epoch: (e.leader_epoch >= 0).then_some(e.leader_epoch),
                        })
                    })
                    .collect())
            },
        )
    }

    /// A consumer group's lag: for every partition the group has committed
    /// offsets for, the high watermark minus the committed offset, and the
    /// total. It lists the group's offsets, then the partitions' latest
    /// offsets (read uncommitted), so `options` apply to each of the two
    /// requests.
    ///
    /// ```no_run
    /// # async fn demo(admin: kafkit::AdminClient) -> Result<(), kafkit::Error> {
    /// let lag = admin.consumer_group_lag("billing", &kafkit::AdminOptions::new()).await?;
    /// println!("billing is {} records behind", lag.total);
    /// # Ok(()) }
    /// ```
    pub fn consumer_group_lag(
        &self,
        group: &str,
        options: &AdminOptions,
    ) -> impl Future<Output = Result<GroupLag, Error>> + Send + 'static {
        self.lag(group, None, options)
    }

    /// A consumer group's lag on the given partitions, committed or not: a
    /// partition without a commit has `committed` and `lag` None and does
    /// not count in the total.
    pub fn consumer_group_lag_for(
        &self,
        group: &str,
        partitions: &[TopicPartition],
        options: &AdminOptions,
    ) -> impl Future<Output = Result<GroupLag, Error>> + Send + 'static {
        self.lag(group, Some(partitions), options)
    }

    fn lag(
        &self,
        group: &str,
        partitions: Option<&[TopicPartition]>,
        options: &AdminOptions,
    ) -> impl Future<Output = Result<GroupLag, Error>> + Send + 'static {
        let admin = self.clone();
        let options = *options;
        let committed = self.list_consumer_group_offsets(group, partitions, &options);
        async move {
            let mut errors = Vec::new();
            let mut committed_by_partition = Vec::new();
            for p in committed.await? {
                match p.result {
                    Ok(c) => committed_by_partition.push((p.topic, p.partition, c.offset)),
                    Err(e) => errors.push((TopicPartition::new(p.topic, p.partition), e)),
                }
            }
            if committed_by_partition.is_empty() {
                return Ok(GroupLag {
                    partitions: Vec::new(),
                    total: 0,
                    errors,
                });
            }
            let specs: Vec<(&str, i32, OffsetSpec)> = committed_by_partition
                .iter()
                .map(|(t, p, _)| (t.as_str(), *p, OffsetSpec::Latest))
                .collect();
            let ends = admin
                .list_offsets(&specs, IsolationLevel::ReadUncommitted, &options)
                .await?;
            let mut ends: HashMap<(String, i32), Result<ListedOffset, Error>> = ends
                .into_iter()
                .map(|e| ((e.topic, e.partition), e.result))
                .collect();
            let mut partitions = Vec::with_capacity(committed_by_partition.len());
            for (topic, partition, committed) in committed_by_partition {
                match ends.remove(&(topic.clone(), partition)) {
                    Some(Ok(ListedOffset {
                        offset: Some(hw), ..
                    })) => partitions.push(PartitionLag {
                        lag: committed.map(|c| (hw - c).max(0)),
                        topic,
                        partition,
                        committed,
                        high_watermark: hw,
                    }),
                    Some(Err(e)) => errors.push((TopicPartition::new(topic, partition), e)),
                    _ => {
                        let e = invalid(format!("no high watermark for {topic} [{partition}]"));
                        errors.push((
                            TopicPartition::new(topic, partition),
                            Error::kafka("consumer group lag", e),
                        ));
                    }
                }
            }
            partitions.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
            let total = partitions
                .iter()
                .filter_map(|p| p.lag)
                .fold(0i64, i64::saturating_add);
            Ok(GroupLag {
                partitions,
                total,
                errors,
            })
        }
    }
}
