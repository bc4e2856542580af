//! Creating and deleting topics.

use super::{entities, AdminClient, AdminFuture, AdminOptions, EntityResult};
use crate::native::{AdminOp, NewTopicSpec};
use crate::Error;

/// A topic to create (kafka-python's `NewTopic`).
///
/// ```
/// let topic = kafkit::NewTopic::new("Users", 1, 1).config("retention.ms", "86400000");
/// ```
#[derive(Debug, Clone)]
pub struct NewTopic {
    spec: NewTopicSpec,
}

impl NewTopic {
    /// A topic with `partitions` partitions and `replication_factor`
    /// replicas of each.
    pub fn new(name: &str, partitions: i32, replication_factor: i32) -> Self {
        NewTopic {
            spec: NewTopicSpec {
                name: name.to_string(),
                partitions,
                replication_factor,
                config: Vec::new(),
            },
        }
    }

    /// A topic with the broker's default partition count and replication
    /// factor (`num.partitions`, `default.replication.factor`).
    pub fn with_broker_defaults(name: &str) -> Self {
        Self::new(name, -1, -1)
    }

    /// Sets a topic config, such as `cleanup.policy` or `retention.ms`.
    pub fn config(mut self, name: &str, value: &str) -> Self {
        self.spec.config.push((name.to_string(), value.to_string()));
        self
    }

    /// The topic's name.
    pub fn name(&self) -> &str {
        &self.spec.name
    }
}

impl AdminClient {
    /// Creates topics. Each topic has its own result: an existing topic is
    /// [`TopicAlreadyExists`](crate::ErrorCode::TopicAlreadyExists) for that
    /// topic only. With [`AdminOptions::validate_only`] the broker only
    /// checks the request.
    pub fn create_topics(
        &self,
        topics: &[NewTopic],
        options: &AdminOptions,
    ) -> AdminFuture<Vec<EntityResult>> {
        let specs: Vec<NewTopicSpec> = topics.iter().map(|t| t.spec.clone()).collect();
        self.request(
            AdminOp::CreateTopics,
            "create topics",
            options,
            move |native, opts, queue| native.create_topics(&specs, opts, queue),
            |event| {
                event
                    .create_topics_result()
                    .map(|o| entities("create topic", o))
                    .map_err(|e| Error::kafka("create topics", e))
            },
        )
    }

    /// Deletes topics, each with its own result.
    pub fn delete_topics(
        &self,
        topics: &[&str],
        options: &AdminOptions,
    ) -> AdminFuture<Vec<EntityResult>> {
        let names: Vec<String> = topics.iter().map(|t| t.to_string()).collect();
        self.request(
            AdminOp::DeleteTopics,
            "delete topics",
            options,
            move |native, opts, queue| {
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                native.delete_topics(&names, opts, queue)
            },
            |event| {
                event
                    .delete_topics_result()
                    .map(|o| entities("delete topic", o))
                    .map_err(|e| Error::kafka("delete topics", e))
            },
        )
    }
}
