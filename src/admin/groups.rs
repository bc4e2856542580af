//! Consumer groups: listing, describing and deleting them.

use super::{AclOperation, AdminClient, AdminFuture, AdminOptions, EntityResult, Node};
use crate::native::{code, AdminOp, GroupInfo, GroupListings, MemberInfo, RawError, TplEntry};
use crate::{Error, TopicPartition};

/// The state of a consumer group, as librdkafka reports it.
///
/// Groups of the KIP-848 `consumer` protocol have states of their own
/// (`Assigning`, `Reconciling`); librdkafka 2.12 reports those as
/// `Unknown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConsumerGroupState {
    /// A state librdkafka does not know.
    Unknown,
    /// Members are joining (classic protocol).
    PreparingRebalance,
    /// Members wait for their assignment (classic protocol).
    CompletingRebalance,
    /// Every member has its assignment.
    Stable,
    /// The group is being removed.
    Dead,
    /// The group has no members (it may still have committed offsets).
    Empty,
}

impl ConsumerGroupState {
    fn from_raw(raw: i32) -> Self {
        match raw {
            1 => Self::PreparingRebalance,
            2 => Self::CompletingRebalance,
            3 => Self::Stable,
            4 => Self::Dead,
            5 => Self::Empty,
            _ => Self::Unknown,
        }
    }

    fn raw(self) -> Option<i32> {
        match self {
            Self::Unknown => None,
            Self::PreparingRebalance => Some(1),
            Self::CompletingRebalance => Some(2),
            Self::Stable => Some(3),
            Self::Dead => Some(4),
            Self::Empty => Some(5),
        }
    }
}

/// The protocol of a consumer group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConsumerGroupType {
    /// A type librdkafka does not know (or the broker did not say).
    Unknown,
    /// The KIP-848 protocol (`group.protocol=consumer`).
    Consumer,
    /// The classic protocol (JoinGroup / SyncGroup).
    Classic,
}

impl ConsumerGroupType {
    fn from_raw(raw: i32) -> Self {
        match raw {
            1 => Self::Consumer,
            2 => Self::Classic,
            _ => Self::Unknown,
        }
    }

    fn raw(self) -> Option<i32> {
        match self {
            Self::Unknown => None,
            Self::Consumer => Some(1),
            Self::Classic => Some(2),
        }
    }
}

/// One group of [`AdminClient::list_consumer_groups`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerGroupListing {
    /// The group id.
    pub id: String,
    /// True for a group that only commits offsets (no members, no
    /// protocol), as a consumer with `assign` and a `group.id` makes.
    pub is_simple: bool,
    /// The group's state.
    pub state: ConsumerGroupState,
    /// The group's protocol.
    pub group_type: ConsumerGroupType,
}

/// The result of [`AdminClient::list_consumer_groups`]: the groups found,
/// and the errors of the brokers that could not list theirs (the list is
/// then incomplete).
#[derive(Debug)]
pub struct ConsumerGroupListings {
    /// The groups the brokers listed.
    pub groups: Vec<ConsumerGroupListing>,
    /// One error per broker that failed.
    pub errors: Vec<Error>,
}

/// A member of a described group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberDescription {
    /// The member id the coordinator gave it.
    pub member_id: String,
    /// Its `group.instance.id` (static membership), if set.
    pub group_instance_id: Option<String>,
    /// Its `client.id`.
    pub client_id: String,
    /// The host it connects from, as the broker sees it.
    pub host: String,
    /// The partitions assigned to it.
    pub assignment: Vec<TopicPartition>,
    /// For `consumer` (KIP-848) groups, the partitions the coordinator
    /// means it to own once it has reconciled; None for classic groups.
    pub target_assignment: Option<Vec<TopicPartition>>,
}

fn partitions(list: Vec<TplEntry>) -> Vec<TopicPartition> {
    list.into_iter().map(TopicPartition::from).collect()
}

impl From<MemberInfo> for MemberDescription {
    fn from(m: MemberInfo) -> Self {
        MemberDescription {
            member_id: m.member_id,
            group_instance_id: m.group_instance_id,
            client_id: m.client_id,
            host: m.host,
            assignment: partitions(m.assignment),
            target_assignment: m.target_assignment.map(partitions),
        }
    }
}

/// A group of [`AdminClient::describe_consumer_groups`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerGroupDescription {
    /// The group id.
    pub id: String,
    /// True for a group that only commits offsets.
    pub is_simple: bool,
    /// The partition assignor the group uses (`range`, `cooperative-sticky`,
    /// `uniform`, ...); empty when the group has none.
    pub partition_assignor: String,
    /// The group's state.
    pub state: ConsumerGroupState,
    /// The group's protocol.
    pub group_type: ConsumerGroupType,
    /// The broker that coordinates the group.
    pub coordinator: Option<Node>,
    /// The members.
    pub members: Vec<MemberDescription>,
    /// What this client may do with the group, when asked for.
    pub authorized_operations: Option<Vec<AclOperation>>,
}

fn description(g: GroupInfo) -> EntityResult<ConsumerGroupDescription> {
    let result = match g.error {
        Some(e) => Err(Error::kafka("describe consumer group", e)),
        None => Ok(ConsumerGroupDescription {
            id: g.id.clone(),
            is_simple: g.is_simple,
            partition_assignor: g.partition_assignor,
            state: ConsumerGroupState::from_raw(g.state),
            group_type: ConsumerGroupType::from_raw(g.group_type),
            coordinator: g.coordinator.map(Node::from),
            members: g.members.into_iter().map(MemberDescription::from).collect(),
            authorized_operations: g
                .authorized_operations
                .map(|ops| ops.into_iter().map(AclOperation::from_raw).collect()),
        }),
    };
    EntityResult { name: g.id, result }
}

fn listings(l: GroupListings) -> ConsumerGroupListings {
    ConsumerGroupListings {
        groups: l
            .valid
            .into_iter()
            .map(|g| ConsumerGroupListing {
                id: g.id,
                is_simple: g.is_simple,
                state: ConsumerGroupState::from_raw(g.state),
                group_type: ConsumerGroupType::from_raw(g.group_type),
            })
            .collect(),
        errors: l
            .errors
            .into_iter()
            .map(|e| Error::kafka("list consumer groups", e))
            .collect(),
    }
}

/// An invalid-argument error for a request that is refused before it starts.
fn invalid(message: String) -> RawError {
    RawError {
        message,
        ..RawError::from_code(code::INVALID_ARG)
    }
}

impl AdminClient {
    /// Lists the cluster's consumer groups. Empty `states` and `types`
    /// match every group; otherwise only groups in one of `states` and of
    /// one of `types` are listed (`Unknown` is not a valid filter).
    ///
    /// A broker that cannot answer adds an error to
    /// [`ConsumerGroupListings::errors`] and the others' groups are still
    /// listed.
    pub fn list_consumer_groups(
        &self,
        states: &[ConsumerGroupState],
        types: &[ConsumerGroupType],
        options: &AdminOptions,
    ) -> AdminFuture<ConsumerGroupListings> {
        let states: Option<Vec<i32>> = states.iter().map(|s| s.raw()).collect();
        let types: Option<Vec<i32>> = types.iter().map(|t| t.raw()).collect();
        self.request(
            AdminOp::ListConsumerGroups,
            "list consumer groups",
            options,
            move |native, opts, queue| {
                let states = states
                    .ok_or_else(|| invalid("group state filter: Unknown is no state".into()))?;
                let types =
                    types.ok_or_else(|| invalid("group type filter: Unknown is no type".into()))?;
                opts.match_group_states(&states)?;
                opts.match_group_types(&types)?;
                native.list_consumer_groups(opts, queue);
                Ok(())
            },
            |event| {
                event
                    .list_consumer_groups_result()
                    .map(listings)
                    .map_err(|e| Error::kafka("list consumer groups", e))
            },
        )
    }

    /// Describes consumer groups, each with its own result. A group that
    /// does not exist is described as `Dead` with no members (that is how
    /// the broker answers for classic groups).
    ///
    /// With [`AdminOptions::include_authorized_operations`], each
    /// description says what this client may do with the group.
    pub fn describe_consumer_groups(
        &self,
        groups: &[&str],
        options: &AdminOptions,
    ) -> AdminFuture<Vec<EntityResult<ConsumerGroupDescription>>> {
        let names: Vec<String> = groups.iter().map(|g| g.to_string()).collect();
        self.request(
            AdminOp::DescribeConsumerGroups,
            "describe consumer groups",
            options,
            move |native, opts, queue| {
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                native.describe_consumer_groups(&names, opts, queue)
            },
            |event| {
                event
                    .describe_consumer_groups_result()
                    .map(|groups| groups.into_iter().map(description).collect())
                    .map_err(|e| Error::kafka("describe consumer groups", e))
            },
        )
    }

    /// Deletes consumer groups and their committed offsets, each group with
    /// its own result. A group with active members is not deleted: its
    /// result is [`NonEmptyGroup`](crate::ErrorCode::NonEmptyGroup).
    ///
    /// librdkafka 2.12 aborts the process when the group's coordinator
    /// lacks the DeleteGroups API (Kafka before 1.1, and librdkafka's mock
    /// cluster): do not call it there.
    pub fn delete_consumer_groups(
        &self,
        groups: &[&str],
        options: &AdminOptions,
    ) -> AdminFuture<Vec<EntityResult>> {
        let names: Vec<String> = groups.iter().map(|g| g.to_string()).collect();
        self.request(
            AdminOp::DeleteGroups,
            "delete consumer groups",
            options,
            move |native, opts, queue| {
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                native.delete_groups(&names, opts, queue)
            },
            |event| {
                event
                    .delete_groups_result()
                    .map(|groups| {
                        groups
                            .into_iter()
                            .map(|g| EntityResult {
                                name: g.name,
                                result: g.error.map_or(Ok(()), |e| {
                                    Err(Error::kafka("delete consumer group", e))
                                }),
                            })
                            .collect()
                    })
                    .map_err(|e| Error::kafka("delete consumer groups", e))
            },
        )
    }
}
