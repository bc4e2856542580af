//! Operations on partitions: creating more of them, deleting records, and
//! electing leaders.

use super::{entities, partition_results, AdminClient, AdminFuture, AdminOptions};
use super::{EntityResult, PartitionResult};
use crate::native::{code, AdminOp, NewPartitionsSpec, RawError, TopicPartitionList};
use crate::{Error, Offset};

/// A topic's new partition count, for [`AdminClient::create_partitions`]
/// (Kafka's `NewPartitions`).
///
/// ```
/// let more = kafkit::NewPartitions::new("Users", 6);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPartitions {
    spec: NewPartitionsSpec,
}

impl NewPartitions {
    /// Raises `topic`'s partition count to `total_count` (the new total,
    /// not the number added; it must be above the current count).
    pub fn new(topic: &str, total_count: usize) -> Self {
        NewPartitions {
            spec: NewPartitionsSpec {
                topic: topic.to_string(),
                total: total_count,
                assignment: Vec::new(),
            },
        }
    }

    /// Places the new partitions on these brokers: one list of broker ids
    /// per new partition, in order, each as long as the replication factor,
    /// the preferred leader first. Without it the broker places them. Give
    /// a list for every new partition or for none.
    ///
    /// ```
    /// // Two more partitions (4 in all) of a topic with two replicas.
    /// let more = kafkit::NewPartitions::new("Users", 4).replica_assignment(&[&[1, 2], &[2, 3]]);
    /// ```
    pub fn replica_assignment(mut self, replicas: &[&[i32]]) -> Self {
        self.spec.assignment = replicas.iter().map(|r| r.to_vec()).collect();
        self
    }

    /// The topic.
    pub fn topic(&self) -> &str {
        &self.spec.topic
    }

    /// The new total partition count.
    pub fn total_count(&self) -> usize {
        self.spec.total
    }
}

/// Which replica a leader election may pick.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ElectionType {
    /// The preferred replica (the first of the replica list), if it is in
    /// sync.
    Preferred,
    /// Any replica, also one that is not in sync, when the partition has no
    /// leader: records may be lost.
    Unclean,
}

/// An argument error at the C boundary, for a request that fails to start.
fn invalid(message: String) -> RawError {
    RawError {
        message,
        ..RawError::from_code(code::INVALID_ARG)
    }
}

impl AdminClient {
    /// Raises the partition counts of topics, each with its own result. With
    /// [`AdminOptions::validate_only`] the broker only checks the request.
    ///
    /// ```no_run
    /// # async fn demo(admin: &kafkit::AdminClient) -> Result<(), kafkit::Error> {
    /// use kafkit::{AdminOptions, NewPartitions};
    /// for topic in admin
    ///     .create_partitions(&[NewPartitions::new("Users", 6)], &AdminOptions::new())
    ///     .await?
    /// {
    ///     topic.result?;
    /// }
    /// # Ok(()) }
    /// ```
    pub fn create_partitions(
        &self,
        topics: &[NewPartitions],
        options: &AdminOptions,
    ) -> AdminFuture<Vec<EntityResult>> {
        let specs: Vec<NewPartitionsSpec> = topics.iter().map(|t| t.spec.clone()).collect();
        self.request(
            AdminOp::CreatePartitions,
            "create partitions",
            options,
            move |native, opts, queue| native.create_partitions(&specs, opts, queue),
            |event| {
                event
                    .create_partitions_result()
                    .map(|o| entities("create partitions", o))
                    .map_err(|e| Error::kafka("create partitions", e))
            },
        )
    }

    /// Deletes the records of each partition before the given offset:
    /// [`Offset::At`] keeps that offset and later ones, [`Offset::End`]
    /// deletes everything up to the high watermark. Each partition's result
    /// is its low watermark after the deletion.
    ///
    /// ```no_run
    /// # async fn demo(admin: &kafkit::AdminClient) -> Result<(), kafkit::Error> {
    /// use kafkit::{AdminOptions, Offset};
    /// for p in admin.delete_records(&[("Users", 0, Offset::At(100))], &AdminOptions::new()).await? {
    ///     println!("{} [{}] now starts at {}", p.topic, p.partition, p.result?);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn delete_records(
        &self,
        before: &[(&str, i32, Offset)],
        options: &AdminOptions,
    ) -> AdminFuture<Vec<PartitionResult<i64>>> {
        let before: Vec<(String, i32, Offset)> = before
            .iter()
            .map(|(t, p, o)| (t.to_string(), *p, *o))
            .collect();
        self.request(
            AdminOp::DeleteRecords,
            "delete records",
            options,
            move |native, opts, queue| {
                let list = TopicPartitionList::new(before.len());
                for (topic, partition, offset) in &before {
                    let raw = match offset {
                        Offset::At(o) if *o >= 0 => *o,
                        Offset::End => Offset::End.raw(),
                        other => {
                            return Err(invalid(format!(
                                "{topic} [{partition}]: records can be deleted before an \
                                 offset (Offset::At(n), n >= 0) or Offset::End, not {other:?}"
                            )))
                        }
                    };
                    list.add(topic, *partition, Some(raw))?;
                }
                native.delete_records(&list, opts, queue)
            },
            |event| {
                event
                    .delete_records_result()
                    .map(|entries| partition_results("delete records", entries, |e| e.offset))
                    .map_err(|e| Error::kafka("delete records", e))
            },
        )
    }

    /// Elects leaders for `partitions`, or with None for every partition
    /// whose leader is not its preferred replica (the result then lists only
    /// the partitions that had an election or an error). A partition that
    /// already has the leader the election would give fails alone with
    /// [`ElectionNotNeeded`](crate::ErrorCode::ElectionNotNeeded).
    pub fn elect_leaders(
        &self,
        election: ElectionType,
        partitions: Option<&[(&str, i32)]>,
        options: &AdminOptions,
    ) -> AdminFuture<Vec<PartitionResult>> {
        let partitions: Option<Vec<(String, i32)>> =
            partitions.map(|ps| ps.iter().map(|(t, p)| (t.to_string(), *p)).collect());
        self.request(
            AdminOp::ElectLeaders,
            "elect leaders",
            options,
            move |native, opts, queue| {
                let list = match &partitions {
                    Some(ps) => {
                        let list = TopicPartitionList::new(ps.len());
                        for (topic, partition) in ps {
                            list.add(topic, *partition, None)?;
                        }
                        Some(list)
                    }
                    None => None,
                };
                let unclean = match election {
                    ElectionType::Preferred => false,
                    ElectionType::Unclean => true,
                };
                native.elect_leaders(unclean, list.as_ref(), opts, queue)
            },
            |event| {
                let outcomes = event
                    .elect_leaders_result()
                    .map_err(|e| Error::kafka("elect leaders", e))?;
                Ok(outcomes
                    .into_iter()
                    .map(|o| PartitionResult {
                        topic: o.topic,
                        partition: o.partition,
                        result: o
                            .error
                            .map_or(Ok(()), |e| Err(Error::kafka("elect leader", e))),
                    })
                    .collect())
            },
        )
    }
}
