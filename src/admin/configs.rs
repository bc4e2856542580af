//! Describing and altering configs of topics, brokers and groups.

use super::{AdminClient, AdminFuture, AdminOptions};
use crate::native::{AdminOp, ConfigCall, ConfigChange, ConfigEntryOut, ConfigResourceSpec};
use crate::Error;

/// The kind of a [`ConfigResource`] (librdkafka's
/// `rd_kafka_ResourceType_t`).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceType {
    /// A topic.
    Topic,
    /// A consumer group.
    Group,
    /// A broker, named by its id; in ACLs, the cluster (Kafka's `CLUSTER`
    /// resource, named `kafka-cluster`), which has the same code.
    Broker,
    /// A transactional id (ACLs only).
    TransactionalId,
    /// Any resource type (filters only).
    Any,
    /// A type this version of kafkit does not know, with librdkafka's code.
    Unknown(i32),
}

impl ResourceType {
    pub(crate) fn raw(self) -> i32 {
        match self {
            ResourceType::Unknown(n) => n,
            ResourceType::Any => 1,
            ResourceType::Topic => 2,
            ResourceType::Group => 3,
            ResourceType::Broker => 4,
            ResourceType::TransactionalId => 5,
        }
    }

    pub(crate) fn from_raw(n: i32) -> Self {
        match n {
            1 => ResourceType::Any,
            2 => ResourceType::Topic,
            3 => ResourceType::Group,
            4 => ResourceType::Broker,
            5 => ResourceType::TransactionalId,
            n => ResourceType::Unknown(n),
        }
    }
}

/// A resource whose configs are described or altered.
///
/// ```
/// use kafkit::ConfigResource;
/// let topic = ConfigResource::topic("events");
/// let broker = ConfigResource::broker(1);
/// assert_eq!(broker.name(), "1");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ConfigResource {
    kind: ResourceType,
    name: String,
}

impl ConfigResource {
    /// A topic.
    pub fn topic(name: &str) -> Self {
        ConfigResource {
            kind: ResourceType::Topic,
            name: name.to_string(),
        }
    }

    /// A broker, by its id (`node.id`).
    pub fn broker(id: i32) -> Self {
        ConfigResource {
            kind: ResourceType::Broker,
            name: id.to_string(),
        }
    }

    /// A consumer group's configs (KIP-848 group configs).
    pub fn group(id: &str) -> Self {
        ConfigResource {
            kind: ResourceType::Group,
            name: id.to_string(),
        }
    }

    /// The resource's type.
    pub fn kind(&self) -> ResourceType {
        self.kind
    }

    /// The resource's name (topic name, broker id, group id).
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Where a config value comes from (librdkafka's `rd_kafka_ConfigSource_t`).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigSource {
    /// A topic config set on the topic.
    DynamicTopic,
    /// A broker config set dynamically for this broker.
    DynamicBroker,
    /// A broker config set dynamically as the cluster-wide default.
    DynamicDefaultBroker,
    /// A broker config from the broker's properties file.
    StaticBroker,
    /// The built-in default.
    Default,
    /// A group config set on the group.
    Group,
    /// A source the broker did not name, or one kafkit does not know (the
    /// code).
    Unknown(i32),
}

impl ConfigSource {
    fn from_raw(n: i32) -> Self {
        match n {
            1 => ConfigSource::DynamicTopic,
            2 => ConfigSource::DynamicBroker,
            3 => ConfigSource::DynamicDefaultBroker,
            4 => ConfigSource::StaticBroker,
            5 => ConfigSource::Default,
            8 => ConfigSource::Group,
            n => ConfigSource::Unknown(n),
        }
    }
}

/// One config entry of a described resource.
#[derive(Debug, Clone)]
pub struct ConfigEntry {
    /// The config's name.
    pub name: String,
    /// Its value; None when it is sensitive or has none.
    pub value: Option<String>,
    /// Where the value comes from.
    pub source: ConfigSource,
    /// Whether it cannot be altered.
    pub read_only: bool,
    /// Whether it has its default value.
    pub default: bool,
    /// Whether its value is hidden (passwords, keys).
    pub sensitive: bool,
    /// Whether this entry is a synonym of another.
    pub synonym: bool,
    /// The values it would take from other sources, most specific first.
    pub synonyms: Vec<ConfigEntry>,
}

impl From<ConfigEntryOut> for ConfigEntry {
    fn from(e: ConfigEntryOut) -> Self {
        ConfigEntry {
            name: e.name,
            value: e.value,
            source: ConfigSource::from_raw(e.source),
            read_only: e.read_only,
            default: e.default,
            sensitive: e.sensitive,
            synonym: e.synonym,
            synonyms: e.synonyms.into_iter().map(ConfigEntry::from).collect(),
        }
    }
}

/// One resource's outcome in a config request.
#[derive(Debug)]
pub struct ConfigResult<T> {
    /// The resource.
    pub resource: ConfigResource,
    /// What the request gave for it.
    pub result: Result<T, Error>,
}

impl<T> ConfigResult<T> {
    /// True when the request succeeded for this resource.
    pub fn is_ok(&self) -> bool {
        self.result.is_ok()
    }
}

/// How an incremental config change alters an entry
/// (`IncrementalAlterConfigs` operations).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AlterConfigOp {
    /// Sets the value.
    Set(String),
    /// Deletes the entry (back to its default or inherited value).
    Delete,
    /// Appends to a list value.
    Append(String),
    /// Removes from a list value.
    Subtract(String),
}

/// The resources and changes of an [`AdminClient::incremental_alter_configs`]
/// request.
pub type ConfigChanges<'a> = [(ConfigResource, Vec<(&'a str, AlterConfigOp)>)];

fn results<T>(
    what: &'static str,
    call: ConfigCall,
    event: &crate::native::NativeEvent,
    ok: impl Fn(Vec<ConfigEntryOut>) -> T,
) -> Result<Vec<ConfigResult<T>>, Error> {
    let out = event
        .config_result(call)
        .map_err(|e| Error::kafka(what, e))?;
    Ok(out
        .into_iter()
        .map(|r| ConfigResult {
            resource: ConfigResource {
                kind: ResourceType::from_raw(r.restype),
                name: r.name,
            },
            result: match r.error {
                Some(e) => Err(Error::kafka(what, e)),
                None => Ok(ok(r.entries)),
            },
        })
        .collect())
}

fn describe_result(
    event: &crate::native::NativeEvent,
) -> Result<Vec<ConfigResult<Vec<ConfigEntry>>>, Error> {
    results("describe configs", ConfigCall::Describe, event, |entries| {
        entries.into_iter().map(ConfigEntry::from).collect()
    })
}

fn alter_result(event: &crate::native::NativeEvent) -> Result<Vec<ConfigResult<()>>, Error> {
    results("alter configs", ConfigCall::Alter, event, |_| ())
}

fn incremental_result(event: &crate::native::NativeEvent) -> Result<Vec<ConfigResult<()>>, Error> {
    results(
        "incremental alter configs",
        ConfigCall::IncrementalAlter,
        event,
        |_| (),
    )
}

impl AdminClient {
    /// Describes the configs of resources: every entry with its value,
    /// source, flags and synonyms. Each resource has its own result.
    ///
    /// ```no_run
    /// # async fn demo(admin: &kafkit::AdminClient) -> Result<(), kafkit::Error> {
    /// use kafkit::{AdminOptions, ConfigResource};
    /// for res in admin
    ///     .describe_configs(&[ConfigResource::topic("events")], &AdminOptions::new())
    ///     .await?
    /// {
    ///     for entry in res.result? {
    ///         println!("{} = {:?} ({:?})", entry.name, entry.value, entry.source);
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn describe_configs(
        &self,
        resources: &[ConfigResource],
        options: &AdminOptions,
    ) -> AdminFuture<Vec<ConfigResult<Vec<ConfigEntry>>>> {
        let specs: Vec<ConfigResourceSpec> = resources
            .iter()
            .map(|r| ConfigResourceSpec {
                restype: r.kind.raw(),
                name: r.name.clone(),
                changes: Vec::new(),
            })
            .collect();
        self.request(
            AdminOp::DescribeConfigs,
            "describe configs",
            options,
            move |native, opts, queue| {
                native.config_request(ConfigCall::Describe, &specs, opts, queue)
            },
            describe_result,
        )
    }

    /// Replaces the dynamic configs of resources with the given set (the
    /// deprecated `AlterConfigs` request: entries not given go back to
    /// their defaults). Prefer
    /// [`incremental_alter_configs`](Self::incremental_alter_configs).
    /// With [`AdminOptions::validate_only`] the broker only checks it.
    pub fn alter_configs(
        &self,
        resources: &[(ConfigResource, Vec<(&str, &str)>)],
        options: &AdminOptions,
    ) -> AdminFuture<Vec<ConfigResult<()>>> {
        let specs: Vec<ConfigResourceSpec> = resources
            .iter()
            .map(|(r, entries)| ConfigResourceSpec {
                restype: r.kind.raw(),
                name: r.name.clone(),
                changes: entries
                    .iter()
                    .map(|(k, v)| ConfigChange {
                        name: k.to_string(),
                        op: None,
                        value: Some(v.to_string()),
                    })
                    .collect(),
            })
            .collect();
        self.request(
            AdminOp::AlterConfigs,
            "alter configs",
            options,
            move |native, opts, queue| {
                native.config_request(ConfigCall::Alter, &specs, opts, queue)
            },
            alter_result,
        )
    }

    /// Changes single config entries of resources: set, delete, append to
    /// or subtract from a list. Each resource has its own result; a
    /// resource whose change fails (unknown name, bad value) is left as it
    /// was. With [`AdminOptions::validate_only`] the broker only checks it.
    ///
    /// ```no_run
    /// # async fn demo(admin: &kafkit::AdminClient) -> Result<(), kafkit::Error> {
    /// use kafkit::{AdminOptions, AlterConfigOp, ConfigResource};
    /// let changes = [(
    ///     ConfigResource::topic("events"),
    ///     vec![("retention.ms", AlterConfigOp::Set("3600000".into()))],
    /// )];
    /// admin.incremental_alter_configs(&changes, &AdminOptions::new()).await?;
    /// # Ok(()) }
    /// ```
    pub fn incremental_alter_configs(
        &self,
        changes: &ConfigChanges<'_>,
        options: &AdminOptions,
    ) -> AdminFuture<Vec<ConfigResult<()>>> {
        let specs: Vec<ConfigResourceSpec> = changes
            .iter()
            .map(|(r, entries)| ConfigResourceSpec {
                restype: r.kind.raw(),
                name: r.name.clone(),
                changes: entries
                    .iter()
                    .map(|(k, op)| {
                        let (op, value) = match op {
                            AlterConfigOp::Set(v) => (0, Some(v.clone())),
                            AlterConfigOp::Delete => (1, None),
                            AlterConfigOp::Append(v) => (2, Some(v.clone())),
                            AlterConfigOp::Subtract(v) => (3, Some(v.clone())),
                        };
                        ConfigChange {
                            name: k.to_string(),
                            op: Some(op),
                            value,
                        }
                    })
                    .collect(),
            })
            .collect();
        self.request(
            AdminOp::IncrementalAlterConfigs,
            "incremental alter configs",
            options,
            move |native, opts, queue| {
                native.config_request(ConfigCall::IncrementalAlter, &specs, opts, queue)
            },
            incremental_result,
        )
    }
}
