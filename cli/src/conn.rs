//! The client configuration every command starts from: the `KAFKA_*`
//! environment, then `-F` properties files, then `-b`, then each `-X` (a
//! later source wins); or the shared mock cluster with `--mock`.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use kafkit::ClientConfig;

use crate::fail::{Fail, Outcome};
use crate::mockd;

/// Connection flags, accepted before or after the command.
#[derive(Args, Debug, Clone)]
pub struct Connection {
    /// Bootstrap brokers, `host:port[,host:port...]`.
    #[arg(short = 'b', long = "brokers", global = true, value_name = "LIST")]
    pub brokers: Option<String>,
    /// A librdkafka property, `name=value` (repeatable); see librdkafka's
    /// CONFIGURATION.md.
    #[arg(short = 'X', global = true, value_name = "NAME=VALUE")]
    pub properties: Vec<String>,
    /// A Java-style client.properties file (repeatable).
    #[arg(short = 'F', long = "config-file", global = true, value_name = "FILE")]
    pub config_files: Vec<PathBuf>,
    /// Use a mock cluster shared by every `kafkit --mock` command (started
    /// in the background when none runs; `kafkit mock stop` ends it). The
    /// environment's KAFKA_* variables are not read.
    #[arg(long, global = true)]
    pub mock: bool,
    /// Seconds to wait for a broker to answer before failing, and for
    /// admin requests.
    #[arg(
        long,
        global = true,
        value_name = "SECS",
        default_value_t = 10.0,
        allow_negative_numbers = true
    )]
    pub timeout: f64,
}

/// A configuration ready for a client, and where it points.
pub struct Conn {
    /// The merged configuration.
    pub config: ClientConfig,
    /// Set when the shared mock cluster is used.
    pub mock: Option<mockd::Session>,
    /// The `--timeout`.
    pub timeout: Duration,
}

impl Connection {
    /// Merges the sources into one configuration.
    pub fn resolve(&self) -> Outcome<Conn> {
        if !(self.timeout.is_finite() && self.timeout > 0.0 && self.timeout < 1e6) {
            return Err(Fail::usage(format!(
                "--timeout must be a positive number of seconds, not {}",
                self.timeout
            )));
        }
        let timeout = Duration::from_secs_f64(self.timeout);
        let (mut config, mock) = if self.mock {
            if self.brokers.is_some() {
                return Err(Fail::usage("--mock and --brokers cannot be used together"));
            }
            let session = mockd::session()?;
            let mut config = ClientConfig::new();
            config.bootstrap_servers(&session.bootstrap)?;
            (config, Some(session))
        } else {
            let config = ClientConfig::from_env()
                .map_err(|e| Fail::usage(format!("in the environment: {e}")))?;
            (config, None)
        };
        for file in &self.config_files {
            let text = std::fs::read_to_string(file)
                .map_err(|e| Fail::Io(format!("cannot read {}: {e}", file.display())))?;
            config
                .load_properties(&text)
                .map_err(|e| Fail::usage(format!("in {}: {e}", file.display())))?;
        }
        if let Some(brokers) = &self.brokers {
            config.bootstrap_servers(brokers)?;
        }
        for property in &self.properties {
            let Some((name, value)) = property.split_once('=') else {
                return Err(Fail::usage(format!("-X {property}: expected name=value")));
            };
            config
                .set(name.trim(), value)
                .map_err(|e| Fail::usage(format!("-X {property}: {e}")))?;
        }
        if config.get("bootstrap.servers").is_none() {
            return Err(Fail::usage(
                "no brokers: give -b HOST:PORT, set KAFKA_BOOTSTRAP_SERVERS, or try --mock",
            ));
        }
        Ok(Conn {
            config,
            mock,
            timeout,
        })
    }
}

/// The connection check's error, as a connection failure.
pub fn unreachable(error: kafkit::Error) -> Fail {
    Fail::Connect(format!("cannot reach a broker: {error}"))
}

impl Conn {
    /// A configuration for a consumer: this one plus `extra`.
    pub fn with(&self, extra: &[(&str, &str)]) -> Outcome<ClientConfig> {
        let mut config = self.config.clone();
        for (name, value) in extra {
            config.set(name, value)?;
        }
        Ok(config)
    }

    /// An admin client that has reached a broker.
    pub fn admin(&self) -> Outcome<kafkit::AdminClient> {
        let admin = kafkit::AdminClient::new(&self.config)?;
        admin.wait_connected(self.timeout).map_err(unreachable)?;
        Ok(admin)
    }

    /// Admin options with the `--timeout` as request timeout.
    pub fn admin_options(&self) -> kafkit::AdminOptions {
        kafkit::AdminOptions::new().request_timeout(self.timeout)
    }

    /// Admin options for requests the controller carries out (creating and
    /// deleting topics): the `--timeout` also bounds the wait for it.
    pub fn controller_options(&self) -> kafkit::AdminOptions {
        self.admin_options().operation_timeout(self.timeout)
    }
}
