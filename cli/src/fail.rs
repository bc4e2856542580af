//! How a command fails: a message for stderr and an exit code per kind.

use std::fmt;
use std::io::{self, Write};

/// Exit code of a usage error: a bad flag, argument or property (clap uses
/// the same code for the errors it finds).
pub const EXIT_USAGE: i32 = 2;
/// Exit code when no broker could be reached.
pub const EXIT_CONNECT: i32 = 3;
/// Exit code when Kafka refused or failed an operation (a failed delivery,
/// a missing topic, an error from the broker).
pub const EXIT_KAFKA: i32 = 1;
/// Exit code when a local file or stream could not be read or written.
pub const EXIT_IO: i32 = 4;

/// Why a command stopped.
#[derive(Debug)]
pub enum Fail {
    /// Bad input from the command line or the configuration.
    Usage(String),
    /// No broker answered (from the connection check).
    Connect(String),
    /// Kafka (a broker or librdkafka) failed an operation.
    Kafka(String),
    /// Reading input or writing output failed.
    Io(String),
    /// Whoever read our standard output closed it (`kafkit consume t |
    /// head`): stop at once, quietly, with success.
    Closed,
}

impl Fail {
    /// The process exit code for this failure.
    pub fn exit_code(&self) -> i32 {
        match self {
            Fail::Usage(_) => EXIT_USAGE,
            Fail::Connect(_) => EXIT_CONNECT,
            Fail::Kafka(_) => EXIT_KAFKA,
            Fail::Io(_) => EXIT_IO,
            Fail::Closed => 0,
        }
    }

    /// A usage error from anything printable.
    pub fn usage(message: impl fmt::Display) -> Fail {
        Fail::Usage(message.to_string())
    }

    /// A Kafka error from anything printable.
    pub fn kafka(message: impl fmt::Display) -> Fail {
        Fail::Kafka(message.to_string())
    }

    /// A failed write to standard output: `Closed` when the reader went
    /// away, an I/O error otherwise.
    pub fn output(error: io::Error) -> Fail {
        if error.kind() == io::ErrorKind::BrokenPipe {
            Fail::Closed
        } else {
            Fail::Io(format!("cannot write the output: {error}"))
        }
    }
}

impl fmt::Display for Fail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fail::Usage(m) | Fail::Connect(m) | Fail::Kafka(m) | Fail::Io(m) => f.write_str(m),
            Fail::Closed => f.write_str("standard output was closed"),
        }
    }
}

impl From<kafkit::Error> for Fail {
    fn from(error: kafkit::Error) -> Fail {
        match error {
            kafkit::Error::Config { .. } | kafkit::Error::InvalidArgument(_) => {
                Fail::Usage(error.to_string())
            }
            kafkit::Error::Io { .. } => Fail::Io(error.to_string()),
            other => Fail::Kafka(other.to_string()),
        }
    }
}

/// What every command returns.
pub type Outcome<T = ()> = Result<T, Fail>;

/// Writes `text` to standard output and flushes it; a closed output is
/// [`Fail::Closed`].
pub fn print(text: impl AsRef<str>) -> Outcome {
    let mut stdout = io::stdout().lock();
    stdout
        .write_all(text.as_ref().as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(Fail::output)
}
