//! [`MockCluster`]: librdkafka's in-process Kafka cluster, for tests, examples
//! and benchmarks without a broker.

use std::time::Duration;

use crate::native::NativeMock;
use crate::{ClientConfig, Error, ErrorCode};

/// A Kafka protocol request type, for [`MockCluster::push_request_errors`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ApiKey(pub i16);

impl ApiKey {
    /// Produce.
    pub const PRODUCE: ApiKey = ApiKey(0);
    /// Fetch.
    pub const FETCH: ApiKey = ApiKey(1);
    /// ListOffsets.
    pub const LIST_OFFSETS: ApiKey = ApiKey(2);
    /// Metadata.
    pub const METADATA: ApiKey = ApiKey(3);
    /// OffsetCommit.
    pub const OFFSET_COMMIT: ApiKey = ApiKey(8);
    /// OffsetFetch.
    pub const OFFSET_FETCH: ApiKey = ApiKey(9);
    /// FindCoordinator.
    pub const FIND_COORDINATOR: ApiKey = ApiKey(10);
    /// JoinGroup.
    pub const JOIN_GROUP: ApiKey = ApiKey(11);
    /// Heartbeat.
    pub const HEARTBEAT: ApiKey = ApiKey(12);
    /// LeaveGroup.
    pub const LEAVE_GROUP: ApiKey = ApiKey(13);
    /// SyncGroup.
    pub const SYNC_GROUP: ApiKey = ApiKey(14);
    /// InitProducerId.
    pub const INIT_PRODUCER_ID: ApiKey = ApiKey(22);
}

/// librdkafka's mock Kafka cluster, running inside this process.
///
/// It speaks the Kafka protocol on local ports, so any client (kafkit or
/// another) can connect to [`bootstrap_servers`](Self::bootstrap_servers).
/// Topics are created automatically on first use, or explicitly with
/// [`create_topic`](Self::create_topic). It keeps only a limited amount of
/// data per partition and has no admin API or SASL.
///
/// ```
/// let cluster = kafkit::MockCluster::new(3)?;
/// cluster.create_topic("orders", 3, 1)?;
/// let config = cluster.client_config()?;
/// assert_eq!(config.get("bootstrap.servers"), Some(cluster.bootstrap_servers().as_str()));
/// # Ok::<(), kafkit::Error>(())
/// ```
pub struct MockCluster {
    native: NativeMock,
    brokers: i32,
}

fn mock_err(op: &'static str) -> impl FnOnce(crate::native::RawError) -> Error {
    move |raw| Error::kafka(op, raw)
}

impl MockCluster {
    /// Starts a cluster of `brokers` brokers (ids 1 to `brokers`).
    pub fn new(brokers: u16) -> Result<Self, Error> {
        if brokers == 0 {
            return Err(Error::InvalidArgument(
                "a mock cluster needs at least one broker".into(),
            ));
        }
        Ok(MockCluster {
            native: NativeMock::new(i32::from(brokers)).map_err(mock_err("mock cluster"))?,
            brokers: i32::from(brokers),
        })
    }

    /// The `bootstrap.servers` value for clients.
    pub fn bootstrap_servers(&self) -> String {
        self.native.bootstrap_servers()
    }

    /// A client configuration with `bootstrap.servers` set to this cluster.
    pub fn client_config(&self) -> Result<ClientConfig, Error> {
        let mut config = ClientConfig::new();
        config.bootstrap_servers(&self.bootstrap_servers())?;
        Ok(config)
    }

    /// The number of brokers.
    pub fn broker_count(&self) -> i32 {
        self.brokers
    }

    /// Creates a topic.
    pub fn create_topic(
        &self,
        topic: &str,
        partitions: i32,
        replication_factor: i32,
    ) -> Result<(), Error> {
        if partitions < 1 || replication_factor < 1 || replication_factor > self.brokers {
            return Err(Error::InvalidArgument(format!(
                "topic {topic:?}: need partitions >= 1 and 1 <= replication factor <= {} brokers \
                 (got {partitions} partitions, replication factor {replication_factor})",
                self.brokers
            )));
        }
        self.native
            .create_topic(topic, partitions, replication_factor)
            .map_err(mock_err("mock create topic"))
    }

    fn check_broker(&self, broker: i32) -> Result<(), Error> {
        if (1..=self.brokers).contains(&broker) {
            Ok(())
        } else {
            Err(Error::InvalidArgument(format!(
                "no broker {broker}: this cluster has brokers 1 to {}",
                self.brokers
            )))
        }
    }

    /// Takes a broker down: its connections are closed and new ones refused.
    pub fn broker_down(&self, broker: i32) -> Result<(), Error> {
        self.check_broker(broker)?;
        self.native
            .broker_down(broker)
            .map_err(mock_err("mock broker down"))
    }

    /// Brings a broker back up.
    pub fn broker_up(&self, broker: i32) -> Result<(), Error> {
        self.check_broker(broker)?;
        self.native
            .broker_up(broker)
            .map_err(mock_err("mock broker up"))
    }

    /// Delays every response of a broker by `rtt`.
    pub fn set_rtt(&self, broker: i32, rtt: Duration) -> Result<(), Error> {
        self.check_broker(broker)?;
        self.native
            .broker_rtt(broker, rtt)
            .map_err(mock_err("mock set rtt"))
    }

    /// How long a classic consumer group's first join waits for more
    /// members before the group forms (the broker's
    /// `group.initial.rebalance.delay.ms`; 3 s by default in the mock).
    pub fn set_group_initial_rebalance_delay(&self, delay: Duration) {
        self.native.group_initial_rebalance_delay(delay);
    }

    /// Makes `broker` the leader of a partition.
    pub fn set_partition_leader(
        &self,
        topic: &str,
        partition: i32,
        broker: i32,
    ) -> Result<(), Error> {
        self.check_broker(broker)?;
        self.native
            .partition_leader(topic, partition, broker)
            .map_err(mock_err("mock set leader"))
    }

    /// Makes the next requests of type `api` fail with `errors`, one error
    /// per request, in order, on whichever broker receives them.
    pub fn push_request_errors(&self, api: ApiKey, errors: &[ErrorCode]) {
        let codes: Vec<i32> = errors.iter().map(|e| e.raw()).collect();
        self.native.push_request_errors(api.0, &codes);
    }

    /// Makes metadata requests report `error` for `topic`
    /// (`ErrorCode::NoError` clears it).
    pub fn set_topic_error(&self, topic: &str, error: ErrorCode) -> Result<(), Error> {
        self.native
            .topic_error(topic, error.raw())
            .map_err(mock_err("mock topic error"))
    }
}

impl std::fmt::Debug for MockCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockCluster")
            .field("bootstrap_servers", &self.bootstrap_servers())
            .field("brokers", &self.brokers)
            .finish()
    }
}
