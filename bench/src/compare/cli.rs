//! The command line of `kafkit-bench compare`.

use std::path::PathBuf;

use super::plan::{self, ALL_FAMILIES};

pub(super) const USAGE: &str = "\
usage: kafkit-bench compare [options]

Runs the same workloads against the same broker with every client, each run
in a child process of its own, in rounds (the client order rotated every
round), and writes REPORT.md, results.csv, results.json and *.svg charts.

options:
  --quick                 fewer records and cases, 1 round (a few minutes with
                          every client on a real broker)
  --clients LIST          client families, comma separated, from: raw, kafkit,
                          rdkafka, confluent-rust, java, confluent-python,
                          kafka-python, pykafka (default: all that apply to
                          the broker; java and the Python clients need a
                          real broker)
  --sizes LIST            payload sizes of the size sweep, e.g. 10,100,1k,10k,64k
                          (default 10,100,1k,10k,64k; --quick: 100,10k)
  --rounds N              rounds (default 3; --quick: 1)
  --bootstrap HOST:PORT   a running broker (default: $KAFKA_BOOTSTRAP_SERVERS
                          if set, else the embedded mock cluster)
  --broker mock|start     mock: the embedded mock cluster; start: start
                          scripts/kafka.sh start single for the run and stop
                          it after
  --out DIR               where to write the report (default bench/results)
  -h, --help              this text";

/// The parsed command line.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Args {
    pub(super) quick: bool,
    pub(super) clients: Option<Vec<String>>,
    pub(super) sizes: Option<Vec<usize>>,
    pub(super) rounds: Option<usize>,
    pub(super) broker: BrokerChoice,
    pub(super) out: PathBuf,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum BrokerChoice {
    /// `--bootstrap`, else `KAFKA_BOOTSTRAP_SERVERS`, else the mock.
    Default,
    Bootstrap(String),
    Mock,
    Start,
}

/// The command line, or `None` for `--help`.
pub(super) fn parse_args(args: &[String]) -> Result<Option<Args>, String> {
    let mut a = Args {
        quick: false,
        clients: None,
        sizes: None,
        rounds: None,
        broker: BrokerChoice::Default,
        out: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/results")),
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--quick" => a.quick = true,
            "--clients" => {
                let list = value()?;
                let mut families = Vec::new();
                for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    if !ALL_FAMILIES.contains(&name) {
                        return Err(format!(
                            "--clients: unknown client {name:?} (known: {})",
                            ALL_FAMILIES.join(", ")
                        ));
                    }
                    if !families.iter().any(|f| f == name) {
                        families.push(name.to_string());
                    }
                }
                if families.is_empty() {
                    return Err("--clients: no client given".into());
                }
                a.clients = Some(families);
            }
            "--sizes" => a.sizes = Some(plan::parse_sizes(&value()?)?),
            "--rounds" => {
                let n: usize = crate::common::parse_number("--rounds", &value()?)?;
                if n == 0 || n > 100 {
                    return Err("--rounds: between 1 and 100".into());
                }
                a.rounds = Some(n);
            }
            "--bootstrap" => {
                if a.broker != BrokerChoice::Default {
                    return Err("give one of --bootstrap and --broker".into());
                }
                let v = value()?;
                if v.trim().is_empty() {
                    return Err("--bootstrap: empty address".into());
                }
                a.broker = BrokerChoice::Bootstrap(v);
            }
            "--broker" => {
                if a.broker != BrokerChoice::Default {
                    return Err("give one of --bootstrap and --broker".into());
                }
                a.broker = match value()?.as_str() {
                    "mock" => BrokerChoice::Mock,
                    "start" => BrokerChoice::Start,
                    other => return Err(format!("--broker: {other:?} is not mock or start")),
                };
            }
            "--out" => a.out = PathBuf::from(value()?),
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    Ok(Some(a))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<Option<Args>, String> {
        parse_args(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn the_command_line_parses() {
        let a = args(&[
            "--quick",
            "--clients",
            "kafkit,raw,kafkit",
            "--sizes",
            "10,1k",
            "--rounds",
            "2",
            "--broker",
            "mock",
            "--out",
            "/tmp/x",
        ])
        .unwrap()
        .unwrap();
        assert!(a.quick);
        assert_eq!(a.clients.unwrap(), ["kafkit", "raw"]);
        assert_eq!(a.sizes.unwrap(), [10, 1024]);
        assert_eq!(a.rounds, Some(2));
        assert_eq!(a.broker, BrokerChoice::Mock);
        assert_eq!(a.out, PathBuf::from("/tmp/x"));
        let d = args(&[]).unwrap().unwrap();
        assert!(d.out.ends_with("bench/results"), "{}", d.out.display());
        assert_eq!(
            args(&["--bootstrap", "h:1"]).unwrap().unwrap().broker,
            BrokerChoice::Bootstrap("h:1".into())
        );
        assert_eq!(args(&["--help"]).unwrap(), None);
    }

    #[test]
    fn bad_arguments_are_errors() {
        for bad in [
            &["--clients", "kafka-go"][..],
            &["--clients", ","],
            &["--rounds", "0"],
            &["--rounds", "x"],
            &["--sizes", "big"],
            &["--broker", "docker"],
            &["--bootstrap", "h:1", "--broker", "mock"],
            &["--out"],
            &["--frobnicate"],
        ] {
            assert!(args(bad).is_err(), "{bad:?}");
        }
    }
}
