//! [`ClientConfig`]: librdkafka properties, validated as they are set.

mod env;
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

/// The partitioner producers use unless `partitioner` is set: the murmur2
/// hash of the key, as Kafka's Java client computes it, with keyless records
/// spread at random. librdkafka's own default, `consistent_random` (CRC32),
/// puts most keys on other partitions than Java producers do.
pub(crate) const DEFAULT_PARTITIONER: &str = "murmur2_random";

/// Configuration for a producer or consumer.
///
/// Any librdkafka property can be set by name with [`set`](Self::set); each
/// is validated by librdkafka when it is set, so an unknown name or a bad
/// value is an error that names the property. Typed helpers cover the common
/// keys. `Debug` output hides passwords, secrets and private keys.
///
/// kafkit departs from one librdkafka default: unless `partitioner` is set,
/// producers use `murmur2_random`, the hash Kafka's Java client (and
/// kafka-python) use, so a key lands on the same partition whichever of them
/// produced it. librdkafka's own default, `consistent_random`, hashes with
/// CRC32 and puts most keys elsewhere. Set `partitioner` to choose another
/// one; consumers are not given the property at all.
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
    token_provider: Option<crate::oauth::TokenProvider>,
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
            token_provider: self.token_provider.clone(),
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
    /// An empty configuration: librdkafka's defaults, except that producers
    /// hash keys as the Java client does (`partitioner=murmur2_random`)
    /// unless `partitioner` is set.
    pub fn new() -> Self {
        ClientConfig {
            native: NativeConf::new(),
            entries: BTreeMap::new(),
            close_timeout: DEFAULT_CLOSE_TIMEOUT,
            token_provider: None,
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
                    reason: with_feature_hint(reason),
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

    /// Sets the SASL/OAUTHBEARER token provider of the clients made from
    /// this configuration (with `sasl.mechanism=OAUTHBEARER`): librdkafka
    /// calls it for a first token and again at 80% of each token's
    /// lifetime. Its future runs on the client's own token thread (see
    /// [`OAuthToken`](crate::OAuthToken)); an error (or a panic) is handed
    /// to librdkafka as the reason there is no token
    /// (`rd_kafka_oauthbearer_set_token_failure`), and reported as an
    /// authentication error.
    ///
    /// The future should finish in bounded time (a provider that never
    /// answers holds up every later refresh of that client), and the
    /// provider must not hold a client made from this configuration (the
    /// client would then keep itself alive). Creating a client fails with
    /// a provider and `sasl.oauthbearer.method=oidc` or
    /// `enable.sasl.oauthbearer.unsecure.jwt=true`, which make librdkafka
    /// produce its own tokens.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// let mut config = kafkit::ClientConfig::new();
    /// config.set("security.protocol", "SASL_PLAINTEXT")?.set("sasl.mechanism", "OAUTHBEARER")?;
    /// config.oauthbearer_token_provider(|| async {
    ///     let expires = SystemTime::now() + Duration::from_secs(3600);
    ///     Ok::<_, String>(kafkit::OAuthToken::new("token", "alice", expires))
    /// });
    /// # Ok::<(), kafkit::Error>(())
    /// ```
    pub fn oauthbearer_token_provider<F, Fut, E>(&mut self, provider: F) -> &mut Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<crate::OAuthToken, E>> + Send + 'static,
        E: std::fmt::Display,
    {
        self.token_provider = Some(crate::oauth::provider(provider));
        self
    }

    /// The token provider, if one is set.
    pub(crate) fn token_provider(&self) -> Option<&crate::oauth::TokenProvider> {
        self.token_provider.as_ref()
    }

    pub(crate) fn native(&self) -> &NativeConf {
        &self.native
    }

    /// The properties kafkit adds to a producer's librdkafka configuration
    /// because they were not set here. They are not in [`iter`](Self::iter):
    /// a consumer given a producer property would log a warning.
    pub(crate) fn producer_defaults(
        &self,
    ) -> impl Iterator<Item = (&'static str, &'static str)> + '_ {
        [("partitioner", DEFAULT_PARTITIONER)]
            .into_iter()
            .filter(|(key, _)| !self.entries.contains_key(*key))
    }

    /// A configuration read from the environment.
    ///
    /// Two kinds of variables are read; all others are ignored (including
    /// other `KAFKIT_*` variables, such as the test scripts' own, which are
    /// logged at debug level), and so are variables that are empty.
    ///
    /// **Well-known names.** These set the property beside them:
    ///
    /// | variable | property | applied when `security.protocol` is |
    /// |---|---|---|
    /// | `KAFKA_BOOTSTRAP_SERVERS` | `bootstrap.servers` | any |
    /// | `KAFKA_CLIENT_ID` | `client.id` | any |
    /// | `KAFKA_SECURITY_PROTOCOL` | `security.protocol` | any |
    /// | `KAFKA_SASL_MECHANISM` | `sasl.mechanism` | `SASL_PLAINTEXT`, `SASL_SSL` |
    /// | `KAFKA_SASL_USERNAME` | `sasl.username` | `SASL_PLAINTEXT`, `SASL_SSL` |
    /// | `KAFKA_SASL_PASSWORD` | `sasl.password` | `SASL_PLAINTEXT`, `SASL_SSL` |
    /// | `KAFKA_SSL_CA_LOCATION` | `ssl.ca.location` | `SSL`, `SASL_SSL` |
    /// | `KAFKA_SSL_CERTIFICATE_LOCATION` | `ssl.certificate.location` | `SSL`, `SASL_SSL` |
    /// | `KAFKA_SSL_KEY_LOCATION` | `ssl.key.location` | `SSL`, `SASL_SSL` |
    /// | `KAFKA_SSL_KEY_PASSWORD` | `ssl.key.password` | `SSL`, `SASL_SSL` |
    /// | `KAFKIT_CLOSE_TIMEOUT_MS` | `kafkit.close.timeout.ms` | any |
    ///
    /// The TLS and SASL variables are skipped when the security protocol
    /// (`plaintext` unless set) does not use them, so an environment that
    /// describes several listeners of one broker still gives a working
    /// plaintext configuration.
    ///
    /// **Any property.** `KAFKIT_PROPERTY_<NAME>` sets the property whose
    /// name `<NAME>` encodes: lower-cased, with a single `_` for `.` and a
    /// doubled `__` for a literal `_`. So `KAFKIT_PROPERTY_LINGER_MS=5` sets
    /// `linger.ms`, `KAFKIT_PROPERTY_KAFKIT_CLOSE_TIMEOUT_MS` sets
    /// `kafkit.close.timeout.ms`, and `KAFKIT_PROPERTY_DR__MSG__CB` would
    /// name `dr_msg_cb`. Three or more underscores in a row, or a single one
    /// at either end, are an error, since they name no property
    /// unambiguously. These variables are always applied, and win over a
    /// well-known variable for the same property.
    ///
    /// Every value is validated as by [`set`](Self::set), and an error names
    /// the variable it came from. When the environment asks for something
    /// this build of librdkafka lacks (`security.protocol=SSL` or a SCRAM
    /// mechanism without the `ssl` cargo feature, say), the error says which
    /// cargo feature provides it. As for [`new`](Self::new), producers hash
    /// keys as the Java client does unless a `partitioner` is given.
    ///
    /// ```no_run
    /// // With KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 and
    /// // KAFKIT_PROPERTY_LINGER_MS=5 in the environment, this sets
    /// // bootstrap.servers and linger.ms.
    /// let config = kafkit::ClientConfig::from_env()?;
    /// # Ok::<(), kafkit::Error>(())
    /// ```
    pub fn from_env() -> Result<Self, Error> {
        Self::from_vars(std::env::vars_os())
    }

    /// [`from_env`](Self::from_env) on the given variables.
    fn from_vars<K, V>(vars: impl IntoIterator<Item = (K, V)>) -> Result<Self, Error>
    where
        K: Into<std::ffi::OsString>,
        V: Into<std::ffi::OsString>,
    {
        let settings = env::settings(vars)?;
        let mut config = ClientConfig::new();
        for s in &settings {
            config.set(&s.key, &s.value).map_err(|e| match e {
                Error::Config { key, reason } => Error::Config {
                    key,
                    reason: format!("{reason} (from {})", s.var),
                },
                other => other,
            })?;
        }
        config.check_sasl_mechanism(&settings)?;
        Ok(config)
    }

    /// Fails, naming the cargo feature to enable, when the security protocol
    /// uses SASL with a mechanism this build of librdkafka lacks (librdkafka
    /// itself only notices when the client is created).
    fn check_sasl_mechanism(&self, settings: &[env::Setting]) -> Result<(), Error> {
        let protocol = self
            .get("security.protocol")
            .unwrap_or("plaintext")
            .trim()
            .to_ascii_lowercase();
        if !protocol.starts_with("sasl_") {
            return Ok(());
        }
        // `sasl.mechanisms` is librdkafka's older name for the same property
        // and sorts after it, so the last one set is the one in force.
        let (key, mechanism, origin) = match settings
            .iter()
            .rev()
            .find(|s| s.key == "sasl.mechanism" || s.key == "sasl.mechanisms")
        {
            Some(s) => (s.key.as_str(), s.value.as_str(), format!("from {}", s.var)),
            None => (
                "sasl.mechanism",
                "GSSAPI",
                "librdkafka's default; set KAFKA_SASL_MECHANISM".to_string(),
            ),
        };
        let Some(feature) = env::sasl_mechanism_feature(mechanism) else {
            return Ok(());
        };
        match NativeConf::new().set("builtin.features", feature) {
            Ok(()) => Ok(()),
            Err(reason) => Err(Error::Config {
                key: key.to_string(),
                reason: format!(
                    "SASL mechanism {mechanism} ({origin}) needs librdkafka's {feature} \
                     support: {}",
                    with_feature_hint(reason)
                ),
            }),
        }
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

/// Libraries that librdkafka reports missing ("... not available at build
/// time"), and the cargo feature that builds each in.
const BUILD_FEATURES: [(&str, &str); 4] = [
    ("OpenSSL", "ssl"),
    ("libzstd", "zstd"),
    ("zlib", "libz"),
    ("cyrus-sasl", "gssapi"),
];

/// librdkafka's `reason`, followed by the cargo feature to enable when it
/// says that a library was not built in.
fn with_feature_hint(reason: String) -> String {
    if !reason.contains("not available at build time") {
        return reason;
    }
    let Some((library, feature)) = BUILD_FEATURES.iter().find(|(l, _)| reason.contains(l)) else {
        return reason;
    };
    if cfg!(feature = "dynamic-linking") {
        format!("{reason} (the system librdkafka this build links was built without {library})")
    } else if *feature == "ssl" && cfg!(feature = "ssl") {
        // TLS is built in, but the OpenSSL found is older than this needs.
        format!("{reason} (the `ssl-vendored` cargo feature builds a current OpenSSL)")
    } else if *feature == "ssl" {
        format!("{reason}; build kafkit with the `ssl` cargo feature (or `ssl-vendored`)")
    } else {
        format!("{reason}; build kafkit with the `{feature}` cargo feature")
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
mod tests;
