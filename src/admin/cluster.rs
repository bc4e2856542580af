//! Describing topics and the cluster (librdkafka's DescribeTopics and
//! DescribeCluster).

use super::{AclOperation, AdminClient, AdminFuture, AdminOptions, EntityResult};
use crate::native::{AdminOp, ClusterInfo, NativeClient, NodeInfo, TopicInfo};
use crate::Error;

/// A broker, as admin results name it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Node {
    /// The broker's node id.
    pub id: i32,
    /// The host it advertises.
    pub host: String,
    /// The port it advertises.
    pub port: u16,
    /// Its rack (`broker.rack`), if it has one.
    pub rack: Option<String>,
}

impl From<NodeInfo> for Node {
    fn from(n: NodeInfo) -> Self {
        Node {
            id: n.id,
            host: n.host,
            port: n.port,
            rack: n.rack,
        }
    }
}

fn operations(raw: Option<Vec<i32>>) -> Option<Vec<AclOperation>> {
    raw.map(|ops| ops.into_iter().map(AclOperation::from_raw).collect())
}

/// A topic as DescribeTopics describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicDescription {
    /// The topic's name.
    pub name: String,
    /// The topic id, as Kafka's tools print it (URL-safe base64 without
    /// padding, the form of Java's `Uuid.toString()`).
    pub topic_id: String,
    /// Whether the topic is internal to Kafka (`__consumer_offsets`, ...).
    pub is_internal: bool,
    /// The partitions, ordered by id.
    pub partitions: Vec<TopicPartitionInfo>,
    /// What the client may do with the topic; None unless asked for with
    /// [`AdminOptions::include_authorized_operations`].
    pub authorized_operations: Option<Vec<AclOperation>>,
}

/// A partition of a described topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicPartitionInfo {
    /// The partition's id.
    pub partition: i32,
    /// The leader, if the partition has one.
    pub leader: Option<Node>,
    /// The replicas, the preferred leader first.
    pub replicas: Vec<Node>,
    /// The replicas in sync with the leader.
    pub isr: Vec<Node>,
}

impl From<TopicInfo> for TopicDescription {
    fn from(t: TopicInfo) -> Self {
        let mut partitions: Vec<TopicPartitionInfo> = t
            .partitions
            .into_iter()
            .map(|p| TopicPartitionInfo {
                partition: p.partition,
                leader: p.leader.map(Node::from),
                replicas: p.replicas.into_iter().map(Node::from).collect(),
                isr: p.isr.into_iter().map(Node::from).collect(),
            })
            .collect();
        partitions.sort_by_key(|p| p.partition);
        TopicDescription {
            name: t.name,
            topic_id: t.topic_id,
            is_internal: t.internal,
            partitions,
            authorized_operations: operations(t.authorized_operations),
        }
    }
}

/// The cluster as DescribeCluster describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterDescription {
    /// The cluster id.
    pub cluster_id: Option<String>,
    /// The controller (in KRaft mode, a broker chosen to answer as one).
    pub controller: Option<Node>,
    /// The brokers.
    pub nodes: Vec<Node>,
    /// What the client may do with the cluster; None unless asked for with
    /// [`AdminOptions::include_authorized_operations`].
    pub authorized_operations: Option<Vec<AclOperation>>,
}

impl From<ClusterInfo> for ClusterDescription {
    fn from(c: ClusterInfo) -> Self {
        ClusterDescription {
            cluster_id: c.cluster_id,
            controller: c.controller.map(Node::from),
            nodes: c.nodes.into_iter().map(Node::from).collect(),
            authorized_operations: operations(c.authorized_operations),
        }
    }
}

impl AdminClient {
    /// The librdkafka client the requests run on.
    pub(crate) fn native_client(&self) -> &NativeClient {
        self.inner.native()
    }

    /// Describes topics: id, internal flag, and each partition's leader,
    /// replicas and in-sync replicas; with
    /// [`AdminOptions::include_authorized_operations`], also what the client
    /// may do with each. A topic that does not exist fails alone, with
    /// [`UnknownTopicOrPart`](crate::ErrorCode::UnknownTopicOrPart).
    /// librdkafka refuses an [`AdminOptions::operation_timeout`] here
    /// ([`InvalidArg`](crate::ErrorCode::InvalidArg)): set only the request
    /// timeout.
    ///
    /// ```no_run
    /// # async fn demo(admin: &kafkit::AdminClient) -> Result<(), kafkit::Error> {
    /// for topic in admin.describe_topics(&["Users"], &kafkit::AdminOptions::new()).await? {
    ///     let description = topic.result?;
    ///     println!("{}: {} partitions", description.name, description.partitions.len());
    /// }
    /// # Ok(()) }
    /// ```
    pub fn describe_topics(
        &self,
        topics: &[&str],
        options: &AdminOptions,
    ) -> AdminFuture<Vec<EntityResult<TopicDescription>>> {
        let names: Vec<String> = topics.iter().map(|t| t.to_string()).collect();
        self.request(
            AdminOp::DescribeTopics,
            "describe topics",
            options,
            move |native, opts, queue| native.describe_topics(&names, opts, queue),
            |event| {
                let topics = event
                    .describe_topics_result()
                    .map_err(|e| Error::kafka("describe topics", e))?;
                Ok(topics
                    .into_iter()
                    .map(|t| EntityResult {
                        name: t.name.clone(),
                        result: match t.error.clone() {
                            Some(e) => Err(Error::kafka("describe topic", e)),
                            None => Ok(TopicDescription::from(t)),
                        },
                    })
                    .collect())
            },
        )
    }

    /// Describes the cluster: its id, the controller and the brokers; with
    /// [`AdminOptions::include_authorized_operations`], also what the client
    /// may do with the cluster. As for [`describe_topics`](Self::describe_topics),
    /// only the request timeout applies.
    pub fn describe_cluster(&self, options: &AdminOptions) -> AdminFuture<ClusterDescription> {
        self.request(
            AdminOp::DescribeCluster,
            "describe cluster",
            options,
            |native, opts, queue| native.describe_cluster(opts, queue),
            |event| {
                event
                    .describe_cluster_result()
                    .map(ClusterDescription::from)
                    .map_err(|e| Error::kafka("describe cluster", e))
            },
        )
    }
}
