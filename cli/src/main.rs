//! `kafkit`: a command-line Kafka client on the kafkit library — produce,
//! consume, topics, groups, lag, metadata and a quick benchmark.
//!
//! Exit codes: 0 success, 1 a Kafka error (a failed delivery, a missing
//! topic, a refused request), 2 a usage error (a bad flag, argument or
//! property), 3 no broker reachable, 4 a local input or output error. A
//! closed standard output (`kafkit consume t | head`) ends a command with
//! 0 and no message.

mod admin;
mod bench;
mod conn;
mod consume;
mod fail;
mod mockd;
mod output;
mod produce;
mod reset;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::fail::{Fail, Outcome};

/// A command-line Kafka client: produce, consume, topics, groups, lag,
/// metadata and a quick benchmark. Try any command with --mock (a local
/// mock cluster, no broker needed).
#[derive(Parser, Debug)]
#[command(name = "kafkit", version, about, long_about = None)]
#[command(
    after_help = "Connection: -b HOST:PORT, -X name=value, -F client.properties, \
    the KAFKA_* environment (KAFKA_BOOTSTRAP_SERVERS, ...), or --mock.\n\
    Exit codes: 0 ok, 1 Kafka error, 2 usage error, 3 no broker reachable, 4 I/O error."
)]
struct Cli {
    #[command(flatten)]
    connection: conn::Connection,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Sends records read from stdin or files, one per line.
    Produce(produce::ProduceArgs),
    /// Reads records to stdout, as text or JSON lines.
    Consume(consume::ConsumeArgs),
    /// Lists, describes, creates, deletes and configures topics.
    Topics {
        #[command(subcommand)]
        command: admin::TopicsCmd,
    },
    /// Lists, describes and deletes consumer groups; lag; resets offsets.
    Groups {
        #[command(subcommand)]
        command: admin::GroupsCmd,
    },
    /// Brokers, controller, topics, partitions, leaders and ISR.
    Metadata(admin::MetadataArgs),
    /// A quick throughput check against the configured cluster.
    Bench {
        #[command(subcommand)]
        command: bench::BenchCmd,
    },
    /// The shared mock cluster that --mock uses.
    Mock {
        #[command(subcommand)]
        command: MockCmd,
    },
}

#[derive(Subcommand, Debug)]
enum MockCmd {
    /// Starts it (if it is not running) and prints its bootstrap servers.
    Start {
        /// Stop after this many seconds without a command.
        #[arg(long, default_value_t = mockd::DEFAULT_IDLE.as_secs())]
        idle: u64,
    },
    /// Stops it.
    Stop,
    /// Says whether it runs, and where.
    Status,
    /// Runs it in the foreground (what `start` runs in the background).
    #[command(hide = true)]
    Serve {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long)]
        idle: u64,
    },
}

fn run(cli: Cli) -> Outcome {
    if let Command::Mock { command } = &cli.command {
        return mock(command);
    }
    let conn = cli.connection.resolve()?;
    match &cli.command {
        Command::Produce(args) => produce::run(&conn, args),
        Command::Consume(args) => consume::run(&conn, args),
        Command::Topics { command } => admin::topics(&conn, command),
        Command::Groups { command } => admin::groups(&conn, command),
        Command::Metadata(args) => admin::metadata(&conn, args),
        Command::Bench { command } => bench::run(&conn, command),
        Command::Mock { .. } => Ok(()),
    }
}

fn mock(command: &MockCmd) -> Outcome {
    let dir = mockd::dir();
    match command {
        MockCmd::Start { idle } => {
            if *idle == 0 {
                return Err(Fail::usage("--idle must be at least 1 second"));
            }
            let bootstrap = match mockd::request(&dir, "bootstrap") {
                Ok(b) => b,
                Err(_) => mockd::start(&dir, Duration::from_secs(*idle))?,
            };
            fail::print(format!("{bootstrap}\n"))
        }
        MockCmd::Stop => {
            mockd::stop(&dir)?;
            eprintln!("mock cluster stopped");
            Ok(())
        }
        MockCmd::Status => match mockd::request(&dir, "bootstrap") {
            Ok(b) => fail::print(format!("running at {b} (in {})\n", dir.display())),
            Err(Fail::Connect(_)) => Err(Fail::Connect(format!(
                "no mock cluster is running (in {})",
                dir.display()
            ))),
            Err(other) => Err(other),
        },
        MockCmd::Serve { dir, idle } => mockd::serve(dir, Duration::from_secs(*idle)),
    }
}

fn main() {
    let cli = Cli::parse();
    // librdkafka logs through `tracing`; without a subscriber they are
    // dropped, and errors reach the user through the commands' results.
    match run(cli) {
        Ok(()) => {}
        Err(Fail::Closed) => {}
        Err(failure) => {
            eprintln!("kafkit: {failure}");
            std::process::exit(failure.exit_code());
        }
    }
}
