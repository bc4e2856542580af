//! The command line of an app binary: `APP [worker] [--id ID]
//! [--bootstrap SERVERS] [--instance NAME]`.
//!
//! ```
//! use kafkit::streams::cli::{Action, Command};
//!
//! let command = Command::parse(["worker", "--bootstrap", "127.0.0.1:9092"])?;
//! assert_eq!(command.action, Action::Worker);
//! assert_eq!(command.bootstrap.as_deref(), Some("127.0.0.1:9092"));
//! # Ok::<(), kafkit::Error>(())
//! ```

use crate::{ClientConfig, Error};

/// What the binary was asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// No subcommand: the binary's default (a demo, say).
    Default,
    /// `worker`: run the app until SIGINT or SIGTERM.
    Worker,
    /// `-h` or `--help`: print [`Command::usage`].
    Help,
}

/// A parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Command {
    /// The subcommand.
    pub action: Action,
    /// `--id`: the app id (its consumer group).
    pub id: Option<String>,
    /// `--bootstrap`: the brokers, overriding the environment.
    pub bootstrap: Option<String>,
    /// `--instance`: this worker's name among the app's workers.
    pub instance: Option<String>,
}

impl Command {
    /// Parses the process's arguments (without the program name).
    pub fn from_env() -> Result<Command, Error> {
        Command::parse(std::env::args().skip(1))
    }

    /// Parses `args` (without the program name).
    pub fn parse<I, S>(args: I) -> Result<Command, Error>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut command = Command {
            action: Action::Default,
            id: None,
            bootstrap: None,
            instance: None,
        };
        let mut args = args.into_iter().map(Into::into);
        while let Some(arg) = args.next() {
            let mut value = |flag: &str| {
                args.next()
                    .filter(|v| !v.starts_with('-'))
                    .ok_or_else(|| Error::InvalidArgument(format!("{flag} needs a value")))
            };
            match arg.as_str() {
                "worker" if command.action == Action::Default => command.action = Action::Worker,
                "-h" | "--help" => command.action = Action::Help,
                "--id" => command.id = Some(value("--id")?),
                "--bootstrap" | "-b" => command.bootstrap = Some(value("--bootstrap")?),
                "--instance" => command.instance = Some(value("--instance")?),
                other => {
                    return Err(Error::InvalidArgument(format!(
                        "unknown argument {other:?} (try --help)"
                    )))
                }
            }
        }
        Ok(command)
    }

    /// The help text for `program`.
    pub fn usage(program: &str) -> String {
        format!(
            "usage: {program} [worker] [--id APP_ID] [--bootstrap SERVERS] [--instance NAME]\n\
             \n\
             without a subcommand: the program's default run\n\
             worker        run until SIGINT or SIGTERM, then shut down gracefully\n\
             --id          the app id (its consumer group)\n\
             --bootstrap   the brokers (default: KAFKA_BOOTSTRAP_SERVERS)\n\
             --instance    this worker's name among the app's workers (exactly once)"
        )
    }

    /// The client configuration: the `KAFKA_*` environment
    /// ([`ClientConfig::from_env`]) with `--bootstrap` applied.
    pub fn client_config(&self) -> Result<ClientConfig, Error> {
        let mut config = ClientConfig::from_env()?;
        if let Some(servers) = &self.bootstrap {
            config.bootstrap_servers(servers)?;
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_and_errors() {
        let c = Command::parse(["--id", "a", "worker", "--instance", "w1"]).unwrap();
        assert_eq!(c.action, Action::Worker);
        assert_eq!(
            (c.id.as_deref(), c.instance.as_deref()),
            (Some("a"), Some("w1"))
        );
        assert_eq!(Command::parse(["-h"]).unwrap().action, Action::Help);
        assert_eq!(
            Command::parse(Vec::<String>::new()).unwrap().action,
            Action::Default
        );
        for bad in [
            &["--id"][..],
            &["--nope"],
            &["--id", "--bootstrap"],
            &["worker", "worker"],
        ] {
            assert!(Command::parse(bad.iter().copied()).is_err(), "{bad:?}");
        }
    }
}
