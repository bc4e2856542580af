//! kafkit's performance harness.
//!
//! ```sh
//! cargo run --release -p kafkit-bench -- producer [--messages N] [--size S] ...
//! cargo run --release -p kafkit-bench -- producer --help
//! cargo run --release -p kafkit-bench -- consumer [--messages N] [--size S] ...
//! cargo run --release -p kafkit-bench -- consumer --help
//! ```

mod alloc;
mod broker;
mod common;
mod compare;
mod consumer;
mod peers;
mod producer;
mod streams;

#[global_allocator]
static GLOBAL: alloc::Counting = alloc::Counting;

const USAGE: &str = "\
usage: kafkit-bench <subcommand> [options]

subcommands:
  producer    producer throughput: kafkit against librdkafka used directly
              (kafkit-bench producer --help for its options)
  consumer    consumer throughput: kafkit's iterator, stream and batches against
              librdkafka used directly and, on a real broker, the confluent-kafka
              crate's consumer (kafkit-bench consumer --help)
  compare     kafkit against rdkafka, confluent-kafka (Rust and Python),
              kafka-python, pykafka and the Java client, with a report and
              charts (kafkit-bench compare --help)
  streams     events/s of a consume-transform-produce pipeline on a real broker:
              kafkit's stream-processing App (at least once, exactly once), a
              hand-written kafkit loop and faust-streaming
              (kafkit-bench streams --help)
  peer        one client's run of one workload (started by compare)";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = match args.first().map(String::as_str) {
        Some("producer") => producer::main(&args[1..]),
        Some("consumer") => consumer::main(&args[1..]),
        Some("compare") => compare::main(&args[1..]),
        Some("streams") => streams::main(&args[1..]),
        Some("peer") => peers::main(&args[1..]),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            0
        }
        Some(other) => {
            eprintln!("error: unknown subcommand {other:?}\n\n{USAGE}");
            2
        }
        None => {
            eprintln!("{USAGE}");
            2
        }
    };
    std::process::exit(code);
}
