//! `kafkit consume`: as a group member or on chosen partitions, to stdout.

use std::collections::HashSet;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use kafkit::{Consumer, Error, Offset, TopicPartition};

use crate::conn::{unreachable, Conn};
use crate::fail::{Fail, Outcome};
use crate::output::{write_json, Format};

/// `consume` flags.
#[derive(Args, Debug)]
pub struct ConsumeArgs {
    /// Topics to read.
    #[arg(required = true)]
    pub topics: Vec<String>,
    /// Read as a member of this consumer group (offsets are committed);
    /// without it the partitions are assigned directly and nothing is
    /// committed.
    #[arg(short = 'g', long)]
    pub group: Option<String>,
    /// Read only these partitions (repeatable or comma-separated; not with
    /// -g).
    #[arg(short = 'p', long = "partition", value_delimiter = ',')]
    pub partitions: Vec<i32>,
    /// Where to start: beginning (the default), end, an OFFSET, -N (N
    /// before the end of each partition) or @TIMESTAMP (milliseconds since
    /// the epoch). With -g, only beginning or end, for partitions the group
    /// has no committed offset for.
    #[arg(short = 'o', long, allow_hyphen_values = true)]
    pub offset: Option<String>,
    /// Stop after COUNT messages.
    #[arg(short = 'c', long)]
    pub count: Option<u64>,
    /// Stop once every partition read has reached its end.
    #[arg(short = 'e', long = "exit")]
    pub exit_at_end: bool,
    /// read_uncommitted (the default) or read_committed (skip aborted
    /// transactions and wait for open ones).
    #[arg(long)]
    pub isolation: Option<String>,
    /// Output format: {key}, {value}, {topic}, {partition}, {offset},
    /// {timestamp}, {headers}; \n, \t escapes.
    #[arg(
        short = 'f',
        long,
        default_value = "{value}\\n",
        conflicts_with = "json"
    )]
    pub format: String,
    /// One JSON object per line (bytes that are not UTF-8 are base64,
    /// marked by a `*_encoding` field).
    #[arg(short = 'J', long)]
    pub json: bool,
}

/// Where reading starts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Start {
    /// The first offset.
    Beginning,
    /// After the last message.
    End,
    /// This offset.
    At(i64),
    /// This many before the end.
    Tail(i64),
    /// The first message at or after this time (ms).
    Time(i64),
}

/// Parses `-o`.
pub fn parse_start(text: &str) -> Result<Start, String> {
    match text {
        "beginning" | "earliest" => return Ok(Start::Beginning),
        "end" | "latest" => return Ok(Start::End),
        _ => {}
    }
    if let Some(ts) = text.strip_prefix('@') {
        return ts
            .parse::<i64>()
            .ok()
            .filter(|t| *t >= 0)
            .map(Start::Time)
            .ok_or_else(|| format!("-o {text}: @TIMESTAMP needs milliseconds since the epoch"));
    }
    match text.parse::<i64>() {
        Ok(n) if n >= 0 => Ok(Start::At(n)),
        Ok(n) => Ok(Start::Tail(n.checked_neg().unwrap_or(i64::MAX))),
        Err(_) => Err(format!(
            "-o {text}: use beginning, end, an offset, -N or @TIMESTAMP"
        )),
    }
}

enum Output {
    Text(Format),
    Json,
}

/// Runs `consume`.
pub fn run(conn: &Conn, args: &ConsumeArgs) -> Outcome {
    let output = if args.json {
        Output::Json
    } else {
        Output::Text(
            Format::parse(&args.format).map_err(|e| Fail::usage(format!("--format: {e}")))?,
        )
    };
    let start = args
        .offset
        .as_deref()
        .map(parse_start)
        .transpose()
        .map_err(Fail::usage)?;
    let isolation = match args.isolation.as_deref() {
        None => None,
        Some(i @ ("read_committed" | "read_uncommitted")) => Some(i),
        Some(other) => {
            return Err(Fail::usage(format!(
                "--isolation {other}: use read_committed or read_uncommitted"
            )))
        }
    };
    let mut extra: Vec<(&str, String)> = Vec::new();
    if let Some(i) = isolation {
        extra.push(("isolation.level", i.to_string()));
    }
    if args.exit_at_end {
        extra.push(("enable.partition.eof", "true".into()));
    }
    match &args.group {
        Some(group) => {
            if !args.partitions.is_empty() {
                return Err(Fail::usage(
                    "-p chooses partitions without a group: not with -g",
                ));
            }
            let reset = match start {
                // Without -o, a reset policy given with -X stands.
                None if conn.config.get("auto.offset.reset").is_some() => None,
                None | Some(Start::Beginning) => Some("earliest"),
                Some(Start::End) => Some("latest"),
                Some(_) => {
                    return Err(Fail::usage(
                        "with -g, -o can only be beginning or end (where partitions without a \
                         committed offset start); reset a group with `kafkit groups reset-offsets`",
                    ))
                }
            };
            extra.push(("group.id", group.clone()));
            if let Some(reset) = reset {
                extra.push(("auto.offset.reset", reset.into()));
            }
        }
        None => {
            // A group id only to satisfy librdkafka: assigned partitions
            // join no group, and nothing is committed (unless -X says so).
            if conn.config.get("group.id").is_none() {
                extra.push(("group.id", format!("kafkit-cli-{}", std::process::id())));
            }
            if conn.config.get("enable.auto.commit").is_none() {
                extra.push(("enable.auto.commit", "false".into()));
            }
        }
    }
    let extra: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let consumer = Consumer::new(&conn.with(&extra)?)?;
    consumer.wait_connected(conn.timeout).map_err(unreachable)?;

    let topics: Vec<&str> = args.topics.iter().map(String::as_str).collect();
    if args.group.is_some() {
        check_topics(&consumer, &topics, conn.timeout)?;
        consumer.subscribe(&topics)?;
    } else {
        assign(
            &consumer,
            args,
            start.unwrap_or(Start::Beginning),
            conn.timeout,
        )?;
    }

    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    // Ctrl-C (or SIGTERM) stops the reading: the consumer then commits and
    // leaves its group, and the command exits with 0. A second one exits at
    // once with 130, for a close that cannot reach the coordinator. Only
    // one handler per process; without one Ctrl-C kills the process, which
    // is still correct, so a failure to install it is not fatal.
    let _ = ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
    });

    let result = read(&consumer, args, &output, &stop);
    let closed = consumer.close();
    result?;
    closed.map_err(Fail::from)
}

/// Fails when a topic does not exist (a subscription would wait for it
/// silently).
fn check_topics(consumer: &Consumer, topics: &[&str], timeout: Duration) -> Outcome {
    for topic in topics {
        if topic.starts_with('^') {
            continue;
        }
        partitions_of(consumer, topic, timeout)?;
    }
    Ok(())
}

/// The partitions of `topic`, or an error naming the topic.
fn partitions_of(consumer: &Consumer, topic: &str, timeout: Duration) -> Outcome<Vec<i32>> {
    let metadata = consumer.metadata(Some(topic), timeout)?;
    let found = metadata.topic(topic);
    match found {
        Some(t) if t.error.is_none() && !t.partitions.is_empty() => {
            Ok(t.partitions.iter().map(|p| p.id).collect())
        }
        Some(t) => Err(Fail::kafka(match t.error {
            Some(kafkit::ErrorCode::UnknownTopicOrPart) | Some(kafkit::ErrorCode::UnknownTopic) => {
                format!("topic {topic} does not exist")
            }
            Some(e) => format!("topic {topic}: {e}"),
            None => format!("topic {topic} has no partitions"),
        })),
        None => Err(Fail::kafka(format!("topic {topic} does not exist"))),
    }
}

fn assign(consumer: &Consumer, args: &ConsumeArgs, start: Start, timeout: Duration) -> Outcome {
    let mut chosen: Vec<(String, i32, Offset)> = Vec::new();
    for topic in &args.topics {
        let all = partitions_of(consumer, topic, timeout)?;
        let partitions = if args.partitions.is_empty() {
            all
        } else {
            for p in &args.partitions {
                if !all.contains(p) {
                    return Err(Fail::kafka(format!(
                        "topic {topic} has no partition {p} (it has {})",
                        all.len()
                    )));
                }
            }
            args.partitions.clone()
        };
        for p in partitions {
            let offset = match start {
                Start::Beginning => Offset::Beginning,
                Start::End => Offset::End,
                Start::At(o) => {
                    // Outside the partition's offsets librdkafka would jump
                    // to its reset policy (the end) without a word.
                    let (low, high) = consumer.fetch_watermarks(topic, p, timeout)?;
                    Offset::At(o.max(low).min(high))
                }
                Start::Tail(n) => {
                    let (low, high) = consumer.fetch_watermarks(topic, p, timeout)?;
                    Offset::At(high.saturating_sub(n).max(low))
                }
                Start::Time(ms) => {
                    let found = consumer.offsets_for_times(&[(topic.as_str(), p, ms)], timeout)?;
                    // No message that late: start at the end.
                    found.first().map(|f| f.offset).unwrap_or(Offset::End)
                }
            };
            let offset = match offset {
                Offset::At(o) if o < 0 => Offset::End,
                Offset::Invalid => Offset::End,
                other => other,
            };
            chosen.push((topic.clone(), p, offset));
        }
    }
    let list: Vec<(&str, i32, Offset)> = chosen
        .iter()
        .map(|(t, p, o)| (t.as_str(), *p, *o))
        .collect();
    consumer.assign(&list)?;
    Ok(())
}

fn read(consumer: &Consumer, args: &ConsumeArgs, output: &Output, stop: &AtomicBool) -> Outcome {
    let stdout = std::io::stdout();
    let interactive = stdout.is_terminal();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut read = 0u64;
    let mut ends = Ends::default();
    let limit = args.count.unwrap_or(u64::MAX);
    while read < limit && !stop.load(Ordering::SeqCst) {
        // Write out what is buffered before waiting, so a reader of a pipe
        // sees each message without delay once the stream goes quiet.
        let next = match consumer.poll(Duration::ZERO) {
            Some(n) => Some(n),
            None => {
                out.flush().map_err(Fail::output)?;
                consumer.poll(Duration::from_millis(200))
            }
        };
        match next {
            None => {
                // A rebalance can leave every partition at its end without
                // a new end-of-partition event.
                if args.exit_at_end && ends.all(consumer)? {
                    break;
                }
            }
            Some(Ok(message)) => {
                if args.exit_at_end {
                    ends.unmark(message.topic(), message.partition());
                }
                match output {
                    Output::Text(f) => f.write(&message, &mut out),
                    Output::Json => write_json(&message, &mut out),
                }
                .map_err(Fail::output)?;
                if interactive {
                    out.flush().map_err(Fail::output)?;
                }
                read += 1;
            }
            Some(Err(Error::PartitionEof {
                topic, partition, ..
            })) => {
                // Marks belong to the assignment in force now.
                ends.sync(consumer)?;
                ends.mark(topic, partition);
                if args.exit_at_end && ends.all(consumer)? {
                    break;
                }
            }
            Some(Err(e)) if !e.is_fatal() && e.code().is_some_and(|c| !is_fatal_read_error(c)) => {
                eprintln!("kafkit: {e}");
            }
            Some(Err(e)) => {
                out.flush().map_err(Fail::output)?;
                return Err(e.into());
            }
        }
    }
    out.flush().map_err(Fail::output)?;
    Ok(())
}

/// Errors that end the read: the topic or partition is gone, or access is
/// denied. Others (a broker restarting, say) are printed and reading goes on.
fn is_fatal_read_error(code: kafkit::ErrorCode) -> bool {
    use kafkit::ErrorCode as C;
    matches!(
        code,
        C::UnknownTopicOrPart
            | C::UnknownTopic
            | C::UnknownPartition
            | C::TopicAuthorizationFailed
            | C::GroupAuthorizationFailed
            | C::Fatal
    )
}

/// Which partitions have reached their end, for `-e`.
#[derive(Default)]
struct Ends {
    /// The assignment the marks belong to.
    assignment: Vec<TopicPartition>,
    /// Partitions whose end-of-partition event came and no message since.
    marked: HashSet<(String, i32)>,
}

impl Ends {
    /// Takes the current assignment; on a change the marks go (a partition
    /// given back and assigned again starts over).
    fn sync(&mut self, consumer: &Consumer) -> Outcome {
        let mut now = consumer.assignment()?;
        now.sort();
        if now != self.assignment {
            self.marked.clear();
            self.assignment = now;
        }
        Ok(())
    }

    fn mark(&mut self, topic: String, partition: i32) {
        self.marked.insert((topic, partition));
    }

    fn unmark(&mut self, topic: &str, partition: i32) {
        if !self.marked.is_empty() {
            self.marked.remove(&(topic.to_string(), partition));
        }
    }

    /// Whether every assigned partition is at its end: marked by its event
    /// in the current assignment, or read up to its last known high
    /// watermark (a partition a cooperative rebalance let it keep).
    fn all(&mut self, consumer: &Consumer) -> Outcome<bool> {
        self.sync(consumer)?;
        if self.assignment.is_empty() {
            return Ok(false);
        }
        let pairs: Vec<(&str, i32)> = self
            .assignment
            .iter()
            .map(|tp| (tp.topic.as_str(), tp.partition))
            .collect();
        let positions = consumer.position(&pairs)?;
        Ok(self.assignment.iter().all(|tp| {
            if self.marked.contains(&(tp.topic.clone(), tp.partition)) {
                return true;
            }
            let position = positions
                .iter()
                .find(|p| p.topic == tp.topic && p.partition == tp.partition)
                .map(|p| p.offset);
            match (
                position,
                consumer.cached_watermarks(&tp.topic, tp.partition),
            ) {
                (Some(Offset::At(at)), Some((_, high))) => at >= high,
                _ => false,
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_positions_parse() {
        assert_eq!(parse_start("beginning"), Ok(Start::Beginning));
        assert_eq!(parse_start("end"), Ok(Start::End));
        assert_eq!(parse_start("42"), Ok(Start::At(42)));
        assert_eq!(parse_start("-5"), Ok(Start::Tail(5)));
        assert_eq!(
            parse_start("@1700000000000"),
            Ok(Start::Time(1_700_000_000_000))
        );
        assert!(parse_start("@x").is_err());
        assert!(parse_start("soon").expect_err("bad").contains("beginning"));
    }
}
