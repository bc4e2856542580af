//! [`ClientConfig`]: librdkafka properties, validated as they are set.

mod properties;

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use crate::native::NativeConf;
use crate::Error;

/// Properties handled by kafkit itself rather than librdkafka.
const KAFKIT_CLOSE_TIMEOUT: &str = "kafkit.close.timeout.ms";

/// Default bound on how long dropping a client may take to deliver what it
/// still holds.
pub(crate) const DEFAULT_CLOSE_TIMEOUT: Duration = Duration::from_secs(10);

/// Configuration for a producer or consumer.
///
/// Any librdkafka property can be set by name with [`set`](Self::set); each
/// is validated by librdkafka when it is set, so an unknown name or a bad
/// value is an error that names the property. Typed helpers cover the common
/// keys. `Debug` output hides passwords, secrets and private keys.
///
/// ```
/// use kafkit::{Acks, ClientConfig};
/// use std::time::Duration;
///
/// let mut config = ClientConfig::new();
/// config
///     .bootstrap_servers("127.0.0.1:9092")?
///     .acks(Acks::All)?
///     .linger(Duration::from_millis(5))?;
/// assert!(config.set("no.such.property", "1").is_err());
/// # Ok::<(), kafkit::Error>(())
/// ```
pub struct ClientConfig {
    native: NativeConf,
    entries: BTreeMap<String, String>,
    close_timeout: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl Clone for ClientConfig {
    fn clone(&self) -> Self {
        ClientConfig {
            native: self.native.dup(),
            entries: self.entries.clone(),
            close_timeout: self.close_timeout,
        }
    }
}

/// Producer acknowledgement level (`acks`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acks {
    /// Do not wait for the broker (`acks=0`).
    None,
    /// Wait for the partition leader (`acks=1`).
    Leader,
    /// Wait for all in-sync replicas (`acks=all`).
    All,
}

/// Compression codec for produced batches (`compression.codec`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// No compression.
    None,
    /// gzip (needs the `libz` feature, on by default).
    Gzip,
    /// Snappy.
    Snappy,
    /// LZ4.
    Lz4,
    /// Zstandard (needs the `zstd` feature, on by default).
    Zstd,
}

/// Protocol used to talk to brokers (`security.protocol`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecurityProtocol {
    /// No encryption, no authentication.
    Plaintext,
    /// TLS (needs the `ssl` feature).
    Ssl,
    /// SASL authentication without encryption.
    SaslPlaintext,
    /// SASL authentication over TLS (needs the `ssl` feature).
    SaslSsl,
}

/// Where a consumer starts when it has no committed offset
/// (`auto.offset.reset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetReset {
    /// The oldest message still kept.
    Earliest,
    /// Only messages produced from now on.
    Latest,
    /// Fail with an error.
    Error,
}

fn ms(d: Duration) -> String {
    d.as_millis().to_string()
}

impl ClientConfig {
    /// An empty configuration (librdkafka's defaults).
    pub fn new() -> Self {
        ClientConfig {
            native: NativeConf::new(),
            entries: BTreeMap::new(),
            close_timeout: DEFAULT_CLOSE_TIMEOUT,
        }
    }

    /// Sets any librdkafka property (see librdkafka's CONFIGURATION.md), or
    /// one of kafkit's own (`kafkit.close.timeout.ms`).
    ///
    /// Fails with [`Error::Config`] naming the key when librdkafka does not
    /// know the property or rejects the value.
    pub fn set(&mut self, key: &str, value: impl AsRef<str>) -> Result<&mut Self, Error> {
        let value = value.as_ref();
        if let Some(own) = key.strip_prefix("kafkit.") {
            match key {
                KAFKIT_CLOSE_TIMEOUT => {
                    let millis: u64 = value.trim().parse().map_err(|_| Error::Config {
                        key: key.to_string(),
                        reason: format!("expected milliseconds as a whole number, got {value:?}"),
                    })?;
                    self.close_timeout = Duration::from_millis(millis);
                }
                _ => {
                    return Err(Error::Config {
                        key: key.to_string(),
                        reason: format!(
                            "no such kafkit property `{own}` (known: {KAFKIT_CLOSE_TIMEOUT})"
                        ),
                    })
                }
            }
        } else {
            self.native
                .set(key, value)
                .map_err(|reason| Error::Config {
                    key: key.to_string(),
                    reason,
                })?;
        }
        self.entries.insert(key.to_string(), value.to_string());
        Ok(self)
    }

    /// The value set for `key` through this object, if any (librdkafka's
    /// defaults are not listed).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.get(key).map(String::as_str)
    }

    /// The properties set so far, secrets included, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// How long dropping or closing a client may spend delivering what it
    /// still holds (`kafkit.close.timeout.ms`, 10 s by default).
    pub fn close_timeout_value(&self) -> Duration {
        self.close_timeout
    }

    pub(crate) fn native(&self) -> &NativeConf {
        &self.native
    }

    /// A configuration read from the environment.
    ///
    /// `KAFKA_BOOTSTRAP_SERVERS`, `KAFKA_CLIENT_ID`, `KAFKA_SECURITY_PROTOCOL`,
    /// `KAFKA_SASL_MECHANISM`, `KAFKA_SASL_USERNAME`, `KAFKA_SASL_PASSWORD`
    /// and `KAFKA_SSL_CA_LOCATION` map to their librdkafka properties. Any
    /// other property can be given as `KAFKIT_` followed by its name in upper
    /// case with `_` for `.` (`KAFKIT_LINGER_MS=5` sets `linger.ms`). Variables
    /// that are unset or empty are skipped.
    pub fn from_env() -> Result<Self, Error> {
        Self::from_vars(std::env::vars())
    }

    fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Result<Self, Error> {
        const NAMED: [(&str, &str); 7] = [
            ("KAFKA_BOOTSTRAP_SERVERS", "bootstrap.servers"),
            ("KAFKA_CLIENT_ID", "client.id"),
            ("KAFKA_SECURITY_PROTOCOL", "security.protocol"),
            ("KAFKA_SASL_MECHANISM", "sasl.mechanism"),
            ("KAFKA_SASL_USERNAME", "sasl.username"),
            ("KAFKA_SASL_PASSWORD", "sasl.password"),
            ("KAFKA_SSL_CA_LOCATION", "ssl.ca.location"),
        ];
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (name, value) in vars {
            if value.is_empty() {
                continue;
            }
            if let Some((_, key)) = NAMED.iter().find(|(n, _)| *n == name) {
                pairs.push((key.to_string(), value));
            } else if let Some(rest) = name.strip_prefix("KAFKIT_") {
                pairs.push((rest.to_ascii_lowercase().replace('_', "."), value));
            }
        }
        // Sort so that the result does not depend on the environment's order.
        pairs.sort();
        let mut config = ClientConfig::new();
        for (key, value) in pairs {
            config.set(&key, value)?;
        }
        Ok(config)
    }

    /// Reads a Java-style `.properties` file, as used by Kafka's own tools,
    /// and sets every property in it.
    pub fn from_properties_file(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.display().to_string(),
            source,
        })?;
        let mut config = ClientConfig::new();
        config.load_properties(&text).map_err(|e| match e {
            Error::Config { key, reason } => Error::Config {
                key,
                reason: format!("{reason} (in {})", path.display()),
            },
            other => other,
        })?;
        Ok(config)
    }

    /// Sets every property of a Java-style `.properties` text.
    pub fn load_properties(&mut self, text: &str) -> Result<&mut Self, Error> {
        let pairs = properties::parse(text).map_err(|e| Error::Config {
            key: format!("line {}", e.line),
            reason: e.message,
        })?;
        for (key, value) in pairs {
            self.set(&key, value)?;
        }
        Ok(self)
    }

    /// `bootstrap.servers`: comma-separated `host:port` list.
    pub fn bootstrap_servers(&mut self, servers: &str) -> Result<&mut Self, Error> {
        self.set("bootstrap.servers", servers)
    }

    /// `client.id`.
    pub fn client_id(&mut self, id: &str) -> Result<&mut Self, Error> {
        self.set("client.id", id)
    }

    /// `group.id` (consumers).
    pub fn group_id(&mut self, group: &str) -> Result<&mut Self, Error> {
        self.set("group.id", group)
    }

    /// `acks`.
    pub fn acks(&mut self, acks: Acks) -> Result<&mut Self, Error> {
        let v = match acks {
            Acks::None => "0",
            Acks::Leader => "1",
            Acks::All => "all",
        };
        self.set("acks", v)
    }

    /// `compression.codec`. Fails if the codec was not built in.
    pub fn compression(&mut self, codec: Compression) -> Result<&mut Self, Error> {
        let v = match codec {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        };
        self.set("compression.codec", v)
    }

    /// `linger.ms`: how long to wait to fill a batch.
    pub fn linger(&mut self, linger: Duration) -> Result<&mut Self, Error> {
        self.set("linger.ms", ms(linger))
    }

    /// `enable.idempotence`: exactly-once, in-order delivery per partition.
    pub fn enable_idempotence(&mut self, on: bool) -> Result<&mut Self, Error> {
        self.set("enable.idempotence", if on { "true" } else { "false" })
    }

    /// `message.timeout.ms`: how long a message may wait for delivery.
    pub fn message_timeout(&mut self, timeout: Duration) -> Result<&mut Self, Error> {
        self.set("message.timeout.ms", ms(timeout))
    }

    /// `queue.buffering.max.messages`: producer queue bound.
    pub fn queue_buffering_max_messages(&mut self, max: usize) -> Result<&mut Self, Error> {
        self.set("queue.buffering.max.messages", max.to_string())
    }

    /// `statistics.interval.ms`: how often statistics are emitted (0 = off).
    pub fn statistics_interval(&mut self, interval: Duration) -> Result<&mut Self, Error> {
        self.set("statistics.interval.ms", ms(interval))
    }

    /// `security.protocol`.
    pub fn security_protocol(&mut self, protocol: SecurityProtocol) -> Result<&mut Self, Error> {
        let v = match protocol {
            SecurityProtocol::Plaintext => "plaintext",
            SecurityProtocol::Ssl => "ssl",
            SecurityProtocol::SaslPlaintext => "sasl_plaintext",
            SecurityProtocol::SaslSsl => "sasl_ssl",
        };
        self.set("security.protocol", v)
    }

    /// `sasl.mechanism`, `sasl.username` and `sasl.password` together
    /// (mechanism such as `SCRAM-SHA-256` or `PLAIN`).
    pub fn sasl(
        &mut self,
        mechanism: &str,
        username: &str,
        password: &str,
    ) -> Result<&mut Self, Error> {
        self.set("sasl.mechanism", mechanism)?
            .set("sasl.username", username)?
            .set("sasl.password", password)
    }

    /// `ssl.ca.location`: the CA certificate(s) to trust, a PEM file.
    pub fn ssl_ca_location(&mut self, path: &str) -> Result<&mut Self, Error> {
        self.set("ssl.ca.location", path)
    }

    /// `auto.offset.reset` (consumers).
    pub fn auto_offset_reset(&mut self, reset: OffsetReset) -> Result<&mut Self, Error> {
        let v = match reset {
            OffsetReset::Earliest => "earliest",
            OffsetReset::Latest => "latest",
            OffsetReset::Error => "error",
        };
        self.set("auto.offset.reset", v)
    }

    /// `enable.auto.commit` (consumers).
    pub fn enable_auto_commit(&mut self, on: bool) -> Result<&mut Self, Error> {
        self.set("enable.auto.commit", if on { "true" } else { "false" })
    }

    /// `kafkit.close.timeout.ms`: how long dropping a client may spend
    /// delivering what it still holds before giving up and reporting it.
    pub fn close_timeout(&mut self, timeout: Duration) -> Result<&mut Self, Error> {
        self.set(KAFKIT_CLOSE_TIMEOUT, ms(timeout))
    }
}

/// Whether a property's value must not be shown.
fn is_secret(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.contains("password")
        || k.contains("secret")
        || k.contains("jaas")
        || k.contains("token")
        || k.ends_with(".pem")
        || k.ends_with("key")
        || k == "ssl.key.location.password"
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (k, v) in &self.entries {
            if is_secret(k) {
                map.entry(k, &"[redacted]");
            } else {
                map.entry(k, v);
            }
        }
        map.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_key_is_rejected_with_its_name() {
        let mut c = ClientConfig::new();
        let err = c.set("bootstrap.servres", "x").err().map(|e| e.to_string());
        let text = err.unwrap_or_default();
        assert!(text.contains("bootstrap.servres"), "{text}");
        assert!(text.contains("No such configuration property"), "{text}");
    }

    #[test]
    fn bad_value_is_rejected_with_name_and_reason() {
        let mut c = ClientConfig::new();
        let err = c.set("linger.ms", "soon").err();
        match err {
            Some(Error::Config { key, reason }) => {
                assert_eq!(key, "linger.ms");
                assert!(
                    reason.contains("soon") || reason.contains("Invalid"),
                    "{reason}"
                );
            }
            other => panic!("expected a config error, got {other:?}"),
        }
        assert!(c.get("linger.ms").is_none());
    }

    #[test]
    fn unknown_kafkit_key_is_rejected() {
        let mut c = ClientConfig::new();
        assert!(matches!(
            c.set("kafkit.nope", "1"),
            Err(Error::Config { key, .. }) if key == "kafkit.nope"
        ));
        assert!(c.set("kafkit.close.timeout.ms", "x").is_err());
        c.set("kafkit.close.timeout.ms", "250")
            .map(|_| ())
            .unwrap_or_default();
        assert_eq!(c.close_timeout_value(), Duration::from_millis(250));
    }

    #[test]
    fn debug_redacts_secrets() {
        let mut c = ClientConfig::new();
        c.sasl("SCRAM-SHA-256", "alice", "hunter2")
            .map(|_| ())
            .unwrap_or_default();
        c.set("sasl.oauthbearer.client.secret", "s3cr3t")
            .map(|_| ())
            .unwrap_or_default();
        let shown = format!("{c:?}");
        assert!(shown.contains("alice"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert_eq!(c.get("sasl.password"), Some("hunter2"));
    }

    #[test]
    fn from_vars_maps_names() {
        let vars = vec![
            (
                "KAFKA_BOOTSTRAP_SERVERS".to_string(),
                "127.0.0.1:1".to_string(),
            ),
            ("KAFKIT_LINGER_MS".to_string(), "7".to_string()),
            ("KAFKA_UNRELATED".to_string(), "x".to_string()),
            ("KAFKA_CLIENT_ID".to_string(), String::new()),
        ];
        let c = ClientConfig::from_vars(vars).unwrap_or_default();
        assert_eq!(c.get("bootstrap.servers"), Some("127.0.0.1:1"));
        assert_eq!(c.get("linger.ms"), Some("7"));
        assert_eq!(c.get("client.id"), None);
        let bad = vec![("KAFKIT_LINGER_MS".to_string(), "x".to_string())];
        assert!(ClientConfig::from_vars(bad).is_err());
    }

    #[test]
    fn properties_text_is_loaded_and_validated() {
        let mut c = ClientConfig::new();
        c.load_properties("# client\nbootstrap.servers=127.0.0.1:9092\nlinger.ms : 3\n")
            .map(|_| ())
            .unwrap_or_default();
        assert_eq!(c.get("linger.ms"), Some("3"));
        let mut c = ClientConfig::new();
        let err = c.load_properties("key.serializer=org.apache.Foo\n").err();
        assert!(matches!(err, Some(Error::Config { key, .. }) if key == "key.serializer"));
    }

    #[test]
    fn typed_helpers_set_librdkafka_values() {
        let mut c = ClientConfig::new();
        c.acks(Acks::All)
            .and_then(|c| c.compression(Compression::Lz4))
            .and_then(|c| c.linger(Duration::from_millis(5)))
            .map(|_| ())
            .unwrap_or_default();
        assert_eq!(c.get("acks"), Some("all"));
        assert_eq!(c.get("compression.codec"), Some("lz4"));
        assert_eq!(c.get("linger.ms"), Some("5"));
    }
}
