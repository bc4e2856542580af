//! `kafkit-bench peer FAMILY VARIANT WORKLOAD`: one client's run of one
//! workload in this process, for `kafkit-bench compare` (which starts one
//! such process per run and reads its result line; see
//! [`crate::compare::protocol`]).
//!
//! The Rust clients run here; the Python clients (`python`) and Kafka's
//! Java tools (`java`) run in their own processes and only their command
//! lines and outputs are handled in this module's submodules.

pub mod confluent;
pub mod java;
pub mod kafkit;
pub mod python;
pub mod rdkafka;

use crate::compare::protocol::{Kind, Outcome, Workload};

/// The client families that run inside `kafkit-bench peer`.
pub const RUST_FAMILIES: [&str; 4] = ["raw", "kafkit", "rdkafka", "confluent-rust"];

/// The variants of a Rust family for `kind` (empty when the family does not
/// do that kind of work, or is not a Rust family).
pub fn rust_variants(family: &str, kind: Kind) -> &'static [&'static str] {
    match family {
        "raw" | "kafkit" => kafkit::variants(family, kind),
        "rdkafka" => rdkafka::variants(kind),
        "confluent-rust" => confluent::variants(kind),
        _ => &[],
    }
}

/// Runs one variant of a Rust family.
pub fn run(family: &str, variant: &str, w: &Workload) -> Result<Outcome, String> {
    match family {
        "raw" | "kafkit" => kafkit::run(family, variant, w),
        "rdkafka" => rdkafka::run(variant, w),
        "confluent-rust" => confluent::run(variant, w),
        other => Err(format!("no Rust client family {other:?}")),
    }
}

/// The `peer` subcommand: `FAMILY VARIANT WORKLOAD_JSON`. Prints the result
/// line and returns 0, or prints the error and returns 1.
pub fn main(args: &[String]) -> i32 {
    let [family, variant, workload] = args else {
        eprintln!("usage: kafkit-bench peer FAMILY VARIANT WORKLOAD_JSON (run by `compare`)");
        return 2;
    };
    let w: Workload = match serde_json::from_str(workload) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("error: bad workload {workload:?}: {e}");
            return 2;
        }
    };
    match run(family, variant, &w) {
        Ok(outcome) => {
            println!("{}", outcome.to_line());
            0
        }
        Err(e) => {
            eprintln!("error: {family} {variant}: {e}");
            1
        }
    }
}
