//! Cluster metadata: the brokers, the controller, the cluster id, and the
//! topics with their partitions, leaders, replicas and in-sync replicas, as
//! one Metadata request returns them.
//!
//! Every client has `metadata(topic, timeout)`: [`Producer::metadata`],
//! [`Consumer::metadata`] and [`AdminClient::metadata`]. It is librdkafka's
//! `rd_kafka_metadata`, a blocking call.

use std::time::Duration;

use crate::native::{ClusterMeta, NativeClient};
use crate::{AdminClient, Consumer, Error, ErrorCode, Producer};

/// What a Metadata request returned.
///
/// ```
/// # fn main() -> Result<(), kafkit::Error> {
/// use std::time::Duration;
///
/// let cluster = kafkit::MockCluster::new(3)?;
/// cluster.create_topic("Users", 2, 3)?;
/// let producer = kafkit::Producer::new(&cluster.client_config()?)?;
/// let metadata = producer.metadata(Some("Users"), Duration::from_secs(10))?;
/// assert_eq!(metadata.brokers.len(), 3);
/// let users = metadata.topic("Users").expect("asked for");
/// assert_eq!(users.partitions.len(), 2);
/// assert!(users.partitions.iter().all(|p| p.replicas.len() == 3));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    /// The brokers of the cluster.
    pub brokers: Vec<BrokerMetadata>,
    /// The topics asked for (all of them, or the one named).
    pub topics: Vec<TopicMetadata>,
    /// The id of the controller, when the broker named one.
    pub controller_id: Option<i32>,
    /// The cluster id, when the broker sent one.
    pub cluster_id: Option<String>,
    /// The id of the broker that answered; None when it answered on a
    /// bootstrap connection, whose broker id librdkafka does not know.
    pub orig_broker_id: Option<i32>,
    /// librdkafka's name for the broker that answered (`host:port/id`, or
    /// `host:port/bootstrap`).
    pub orig_broker_name: String,
}

impl Metadata {
    /// The topic named `name`, if the answer has it.
    pub fn topic(&self, name: &str) -> Option<&TopicMetadata> {
        self.topics.iter().find(|t| t.name == name)
    }

    /// The broker with id `id`, if the answer has it.
    pub fn broker(&self, id: i32) -> Option<&BrokerMetadata> {
        self.brokers.iter().find(|b| b.id == id)
    }
}

/// A broker of the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerMetadata {
    /// The broker's node id.
    pub id: i32,
    /// The host it advertises.
    pub host: String,
    /// The port it advertises.
    pub port: i32,
}

/// A topic, with its partitions or its error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicMetadata {
    /// The topic's name.
    pub name: String,
    /// The topic's error, such as
    /// [`UnknownTopicOrPart`](ErrorCode::UnknownTopicOrPart) for a topic
    /// that does not exist, or
    /// [`TopicAuthorizationFailed`](ErrorCode::TopicAuthorizationFailed).
    pub error: Option<ErrorCode>,
    /// The partitions, ordered by id.
    pub partitions: Vec<PartitionMetadata>,
}

/// A partition of a topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionMetadata {
    /// The partition's id.
    pub id: i32,
    /// The partition's error, such as
    /// [`LeaderNotAvailable`](ErrorCode::LeaderNotAvailable).
    pub error: Option<ErrorCode>,
    /// The leader's broker id; None when the partition has no leader.
    pub leader: Option<i32>,
    /// The brokers holding a replica, the preferred leader first.
    pub replicas: Vec<i32>,
    /// The replicas in sync with the leader.
    pub isr: Vec<i32>,
}

fn error_of(code: i32) -> Option<ErrorCode> {
    (code != 0).then(|| ErrorCode::from_raw(code))
}

impl From<ClusterMeta> for Metadata {
    fn from(m: ClusterMeta) -> Self {
        Metadata {
            brokers: m
                .brokers
                .into_iter()
                .map(|b| BrokerMetadata {
                    id: b.id,
                    host: b.host,
                    port: b.port,
                })
                .collect(),
            topics: m
                .topics
                .into_iter()
                .map(|t| {
                    let mut partitions: Vec<PartitionMetadata> = t
                        .partitions
                        .into_iter()
                        .map(|p| PartitionMetadata {
                            id: p.id,
                            error: error_of(p.err),
                            leader: (p.leader >= 0).then_some(p.leader),
                            replicas: p.replicas,
                            isr: p.isr,
                        })
                        .collect();
                    partitions.sort_by_key(|p| p.id);
                    TopicMetadata {
                        name: t.name,
                        error: error_of(t.err),
                        partitions,
                    }
                })
                .collect(),
            controller_id: m.controller_id,
            cluster_id: m.cluster_id,
            orig_broker_id: (m.orig_broker_id >= 0).then_some(m.orig_broker_id),
            orig_broker_name: m.orig_broker_name,
        }
    }
}

/// The metadata request every client makes.
pub(crate) fn fetch(
    native: &NativeClient,
    topic: Option<&str>,
    timeout: Duration,
) -> Result<Metadata, Error> {
    let handle = match topic {
        Some(name) => Some(
            native
                .topic(name)
                .map_err(|e| Error::kafka("metadata", e))?,
        ),
        None => None,
    };
    native
        .metadata(handle.as_ref(), timeout)
        .map(Metadata::from)
        .map_err(|mut e| {
            if e.code == ErrorCode::TimedOut.raw() || e.code == ErrorCode::Transport.raw() {
                e.message = format!(
                    "no answer to the metadata request within {timeout:?}: {}",
                    e.message
                );
            }
            Error::kafka("metadata", e)
        })
}

macro_rules! metadata_doc {
    () => {
        "Asks a broker for the cluster's metadata: brokers, controller, \
         cluster id, and the topics with their partitions, leaders, replicas \
         and in-sync replicas. `topic: None` asks for every topic; \
         `Some(name)` for that one only (a topic that does not exist comes \
         back with [`UnknownTopicOrPart`](crate::ErrorCode::UnknownTopicOrPart) \
         as its error, unless the client's `allow.auto.create.topics`, true \
         by default for a producer, and the broker let the request create \
         it). Naming a topic makes a topic handle for it, so the \
         client knows the topic from then on.\n\n\
         This blocks the calling thread for up to `timeout` (librdkafka's \
         `rd_kafka_metadata`): the wait covers getting a broker connection \
         and the answer, and ends with [`TimedOut`](crate::ErrorCode::TimedOut) \
         or [`Transport`](crate::ErrorCode::Transport). In async code, call \
         it through your runtime's `spawn_blocking`."
    };
}

impl Producer {
    #[doc = metadata_doc!()]
    pub fn metadata(&self, topic: Option<&str>, timeout: Duration) -> Result<Metadata, Error> {
        fetch(self.native_client(), topic, timeout)
    }
}

impl Consumer {
    #[doc = metadata_doc!()]
    pub fn metadata(&self, topic: Option<&str>, timeout: Duration) -> Result<Metadata, Error> {
        fetch(self.native_client(), topic, timeout)
    }
}

impl AdminClient {
    #[doc = metadata_doc!()]
    pub fn metadata(&self, topic: Option<&str>, timeout: Duration) -> Result<Metadata, Error> {
        fetch(self.native_client(), topic, timeout)
    }
}
