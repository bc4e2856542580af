//! The Java family in `compare`: Kafka's own clients, measured by Kafka's
//! tools run through `scripts/kafka.sh` with the broker's jars:
//! ProducerPerformance (`producer-perf`), ConsumerPerformance
//! (`consumer-perf`) and EndToEndLatency (`e2e-latency`).
//!
//! The tool runs under a small `bash` wrapper that notes the wall-clock
//! time around it and prints it as a last line ([`WALL_PREFIX`]), so that
//! [`parse`] can report the JVM's start and warm-up (everything outside the
//! tool's own timed part) as `warmup_seconds` instead of hiding it. For
//! `e2e-latency` the wrapper also writes the producer settings to a
//! temporary `--command-config` file (the tool has no option for them) and
//! removes it afterwards.

use std::process::Command;

use crate::common::KAFKA_SH;
use crate::compare::protocol::{Kind, Latency, Outcome, Workload};

/// The line the wrapper prints after the tool: start and end of the tool's
/// process in seconds since the UNIX epoch.
const WALL_PREFIX: &str = "KAFKIT-JAVA-WALL ";

/// Runs `"$@"` (the tool) and prints [`WALL_PREFIX`] with its start and end
/// times. `$1` is a space-separated list of `key=value` settings that, when
/// not empty, go to a temporary file passed as `--command-config`.
const WRAPPER: &str = r#"props=$1; shift
cfg=
if [ -n "$props" ]; then
  cfg=$(mktemp) || exit 1
  printf '%s\n' $props >"$cfg"
  set -- "$@" --command-config "$cfg"
fi
start=$EPOCHREALTIME
"$@"
rc=$?
end=$EPOCHREALTIME
if [ -n "$cfg" ]; then rm -f "$cfg"; fi
echo "KAFKIT-JAVA-WALL $start $end"
exit $rc"#;

/// Variants for `kind`: the `scripts/kafka.sh` subcommand that does it.
pub fn variants(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Produce => &["producer-perf"],
        Kind::Consume => &["consumer-perf"],
        Kind::Latency => &["e2e-latency"],
    }
}

/// `acks` as the Java client and the tools spell it.
fn acks(w: &Workload) -> String {
    if w.acks < 0 {
        "all".into()
    } else {
        w.acks.to_string()
    }
}

/// The producer settings of `w`: acks, idempotence and compression always;
/// linger and batch size only when `tuned` (the Java client's defaults are
/// linger.ms=5 and batch.size=16384 otherwise).
fn producer_settings(w: &Workload) -> Vec<String> {
    let mut s = vec![
        format!("acks={}", acks(w)),
        format!("enable.idempotence={}", w.idempotence),
        format!("compression.type={}", w.compression.name()),
    ];
    if w.tuned {
        s.push(format!("linger.ms={}", w.linger_ms));
        s.push(format!("batch.size={}", w.batch_size));
    }
    s
}

/// The tool's arguments for `variant` (after `scripts/kafka.sh`), and the
/// settings the wrapper writes to a `--command-config` file.
fn tool_args(variant: &str, w: &Workload) -> Result<(Vec<String>, Vec<String>), String> {
    if !variants(w.kind).contains(&variant) {
        return Err(format!(
            "java: no variant {variant:?} for {:?} runs (there is {:?})",
            w.kind,
            variants(w.kind)
        ));
    }
    let mut args: Vec<String> = vec![variant.into()];
    let mut config = Vec::new();
    let mut push = |a: &str, b: String| {
        args.push(a.into());
        args.push(b);
    };
    push("--bootstrap-server", w.bootstrap.clone());
    push("--topic", w.topic.clone());
    push("--num-records", records(w).to_string());
    match w.kind {
        Kind::Produce => {
            push("--record-size", w.size.to_string());
            push("--throughput", "-1".into());
            args.push("--command-property".into());
            args.extend(producer_settings(w));
        }
        Kind::Consume => {
            push("--group", w.group.clone());
            push("--command-property", "auto.offset.reset=earliest".into());
        }
        Kind::Latency => {
            push("--producer-acks", acks(w));
            push("--record-size", w.size.to_string());
            config = producer_settings(w)
                .into_iter()
                .filter(|s| !s.starts_with("acks="))
                .collect();
        }
    }
    Ok((args, config))
}

/// Records of an EndToEndLatency run at most: the tool sends one record at
/// a time and waits for it (about 1-2 ms each here), so it cannot keep the
/// workload's rate and would take minutes over the other clients' counts.
pub const E2E_RECORDS: u64 = 5_000;

/// Records the tool is asked to send or read.
fn records(w: &Workload) -> u64 {
    match w.kind {
        Kind::Latency => w.messages.min(E2E_RECORDS),
        _ => w.messages,
    }
}

/// The command that runs one variant.
pub fn command(variant: &str, w: &Workload) -> Result<Command, String> {
    let (args, config) = tool_args(variant, w)?;
    if let Some(bad) = config.iter().find(|s| s.contains(char::is_whitespace)) {
        return Err(format!(
            "java {variant}: setting {bad:?} contains white space"
        ));
    }
    let mut c = Command::new("bash");
    c.arg("-c")
        .arg(WRAPPER)
        .arg("kafkit-java")
        .arg(config.join(" "))
        .arg(KAFKA_SH)
        .args(args)
        // EPOCHREALTIME uses the locale's decimal point.
        .env("LC_ALL", "C");
    Ok(c)
}

/// The wall-clock seconds of the tool's process, from the wrapper's line.
fn wall_seconds(stdout: &str) -> Option<f64> {
    let line = stdout
        .lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix(WALL_PREFIX.trim_end()))?;
    let mut it = line
        .split_whitespace()
        .map(|t| t.replace(',', ".").parse::<f64>());
    match (it.next(), it.next()) {
        (Some(Ok(start)), Some(Ok(end))) if end >= start => Some(end - start),
        _ => None,
    }
}

/// The time outside the tool's timed part, when the wrapper gave the wall time.
fn warmup(stdout: &str, timed: f64) -> Option<f64> {
    wall_seconds(stdout).map(|wall| (wall - timed).max(0.0))
}

fn number<T: std::str::FromStr>(what: &str, text: &str) -> Result<T, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("cannot read {what} from {text:?}"))
}

/// The number before `suffix` in one `, `-separated field of `line`, e.g.
/// `field(line, " records/sec")`.
fn field<'a>(line: &'a str, suffix: &str) -> Option<&'a str> {
    line.split(", ").find_map(|f| {
        let f = f.trim().trim_end_matches('.');
        let at = f.find(suffix)?;
        Some(f[..at].trim())
    })
}

/// ProducerPerformance's total line, e.g. `500000 records sent, 147145.379635
/// records/sec (14.03 MB/sec), 791.70 ms avg latency, 1213.00 ms max latency,
/// 982 ms 50th, 1177 ms 95th, 1200 ms 99th, 1212 ms 99.9th.` (its MB are
/// 2^20 bytes; the outcome counts payload bytes itself).
fn parse_producer(w: &Workload, stdout: &str) -> Result<Outcome, String> {
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.contains(" records sent, ") && l.contains(" ms 99.9th"))
        .ok_or("no total line (\"... records sent, ... ms 99.9th.\") in its output")?;
    let get = |suffix: &str| {
        field(line, suffix).ok_or_else(|| format!("no \"{}\" in {line:?}", suffix.trim()))
    };
    let sent: u64 = number("records sent", get(" records sent")?)?;
    let rate: f64 = number("records/sec", get(" records/sec")?)?;
    let seconds = if rate > 0.0 { sent as f64 / rate } else { 0.0 };
    let note = format!(
        "Kafka ProducerPerformance; send to acknowledgement: avg {} ms, p50 {} ms, p99 {} ms, \
         max {} ms",
        get(" ms avg latency")?,
        get(" ms 50th")?,
        get(" ms 99th")?,
        get(" ms max latency")?
    );
    Ok(Outcome {
        messages: sent,
        bytes: sent * w.size as u64,
        seconds,
        // The tool counts only acknowledged records.
        failed: w.messages.saturating_sub(sent),
        latency: None,
        warmup_seconds: warmup(stdout, seconds),
        note: Some(note),
    })
}

/// ConsumerPerformance's header and figures, e.g.
/// `start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg,
/// nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec`
/// and a line of values. The timed part is `fetch.time.ms`: the run minus
/// the group join (`rebalance.time.ms`).
fn parse_consumer(w: &Workload, stdout: &str) -> Result<Outcome, String> {
    let lines: Vec<&str> = stdout.lines().collect();
    let at = lines
        .iter()
        .rposition(|l| l.trim_start().starts_with("start.time,"))
        .ok_or("no \"start.time, end.time, ...\" header in its output")?;
    let header: Vec<&str> = lines[at].split(',').map(str::trim).collect();
    let values: Vec<&str> = lines
        .get(at + 1)
        .ok_or("no figures after the header")?
        .split(',')
        .map(str::trim)
        .collect();
    if values.len() != header.len() {
        return Err(format!(
            "{} figures for {} columns: {:?}",
            values.len(),
            header.len(),
            lines[at + 1]
        ));
    }
    let get = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .map(|i| values[i])
            .ok_or_else(|| format!("no column {name} in {:?}", lines[at]))
    };
    let received: u64 = number("data.consumed.in.nMsg", get("data.consumed.in.nMsg")?)?;
    let fetch_ms: f64 = number("fetch.time.ms", get("fetch.time.ms")?)?;
    let rebalance_ms: f64 = number("rebalance.time.ms", get("rebalance.time.ms")?)?;
    let seconds = fetch_ms / 1000.0;
    Ok(Outcome {
        messages: received,
        bytes: received * w.size as u64,
        seconds,
        failed: 0,
        latency: None,
        warmup_seconds: warmup(stdout, seconds),
        note: Some(format!(
            "Kafka ConsumerPerformance; timed: fetch.time.ms (group join of {rebalance_ms} ms \
             not timed, in the warm-up)"
        )),
    })
}

/// EndToEndLatency's summary: `Avg latency: 2.5458 ms` and `Percentiles:
/// 50th = 1, 99th = 17, 99.9th = 74` (whole milliseconds), after lines
/// `i<TAB>ms` for every 1000th record. It sends one record, waits for it to
/// come back, then sends the next: it cannot send at a fixed rate.
fn parse_latency(w: &Workload, stdout: &str) -> Result<Outcome, String> {
    let avg_ms: f64 = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("Avg latency:"))
        .and_then(|v| v.trim().strip_suffix("ms"))
        .ok_or_else(|| "no \"Avg latency: ... ms\" line in its output".to_string())
        .and_then(|v| number("avg latency", v))?;
    let pct = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("Percentiles:"))
        .ok_or("no \"Percentiles: ...\" line in its output")?;
    let percentile = |name: &str| -> Result<f64, String> {
        let v = pct
            .split(',')
            .find_map(|f| f.trim().strip_prefix(name)?.trim().strip_prefix('='))
            .ok_or_else(|| format!("no {name} percentile in {pct:?}"))?;
        number(name, v).map(|ms: f64| ms * 1000.0)
    };
    let (p50_us, p99_us, p999_us) = (
        percentile("50th")?,
        percentile("99th")?,
        percentile("99.9th")?,
    );
    // The tool prints no maximum: the largest of p99.9 and the sampled
    // records is the best lower bound there is.
    let sampled_max_us = stdout
        .lines()
        .filter_map(|l| {
            let (i, ms) = l.split_once('\t')?;
            i.trim().parse::<u64>().ok()?;
            ms.trim().parse::<f64>().ok()
        })
        .fold(0.0, f64::max)
        * 1000.0;
    let sent = records(w);
    let seconds = sent as f64 * avg_ms / 1000.0;
    Ok(Outcome {
        messages: sent,
        bytes: sent * w.size as u64,
        seconds,
        failed: 0,
        latency: Some(Latency {
            p50_us,
            p99_us,
            p999_us,
            max_us: sampled_max_us.max(p999_us),
        }),
        warmup_seconds: warmup(stdout, seconds),
        note: Some(format!(
            "Kafka EndToEndLatency: one record at a time, each sent after the previous came back \
             (no fixed rate; {} records/s asked; {sent} records, at most {E2E_RECORDS}); \
             percentiles in whole ms; max only of p99.9 and every 1000th record; timed part = \
             records x avg latency {avg_ms} ms",
            w.rate
        )),
    })
}

/// The outcome in the tool's standard output.
pub fn parse(variant: &str, w: &Workload, stdout: &str) -> Result<Outcome, String> {
    let parsed = match (variant, w.kind) {
        ("producer-perf", Kind::Produce) => parse_producer(w, stdout),
        ("consumer-perf", Kind::Consume) => parse_consumer(w, stdout),
        ("e2e-latency", Kind::Latency) => parse_latency(w, stdout),
        _ => Err(format!("no variant {variant:?} for {:?} runs", w.kind)),
    };
    parsed.map_err(|e| format!("java {variant}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::{create_topic_on_broker, delete_topic_on_broker};
    use crate::compare::protocol::Compression;

    // Outputs of Kafka 4.3.1's tools against a local broker: under the
    // wrapper (its last line), and one run by hand without it.
    const PRODUCER_OUT: &str = "\
1765460 records sent, 352880.3 records/sec (33.65 MB/sec), 407.0 ms avg latency, 1112.0 ms max latency.
2000000 records sent, 374601.985391 records/sec (35.72 MB/sec), 408.57 ms avg latency, 1112.00 ms max latency, 380 ms 50th, 962 ms 95th, 1059 ms 99th, 1103 ms 99.9th.
KAFKIT-JAVA-WALL 1796222625.661779 1796222632.768687
";
    const PRODUCER_BY_HAND_OUT: &str = "\
500000 records sent, 147145.379635 records/sec (14.03 MB/sec), 791.70 ms avg latency, 1213.00 ms max latency, 982 ms 50th, 1177 ms 95th, 1200 ms 99th, 1212 ms 99.9th.
";
    const CONSUMER_OUT: &str = "\
start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
2026-12-02 14:43:53:929, 2026-12-02 14:43:55:753, 190.7349, 104.5696, 2000000, 1096491.2281, 560, 1264, 150.8978, 1582278.4810
KAFKIT-JAVA-WALL 1796222632.773733 1796222636.316683
";
    const LATENCY_OUT: &str = "\
0\t138.525739
1000\t4.5595810000000006
Avg latency: 1.5065 ms
Percentiles: 50th = 0, 99th = 12, 99.9th = 120
KAFKIT-JAVA-WALL 1796222638.440644 1796222643.278739
";

    fn workload(kind: Kind) -> Workload {
        Workload {
            kind,
            bootstrap: "127.0.0.1:9092".into(),
            topic: "t".into(),
            partitions: 3,
            messages: 500_000,
            size: 100,
            acks: -1,
            idempotence: true,
            compression: Compression::Lz4,
            group: "g".into(),
            rate: 0,
            tuned: true,
            linger_ms: 5,
            batch_size: 1_000_000,
            window: 50_000,
        }
    }

    fn args(c: &Command) -> Vec<String> {
        c.get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn producer_perf_arguments_follow_the_workload() {
        let w = workload(Kind::Produce);
        let a = args(&command("producer-perf", &w).unwrap());
        assert_eq!(a[0], "-c");
        assert_eq!(a[3], "", "no config file for producer-perf");
        assert!(a[4].ends_with("scripts/kafka.sh"), "{}", a[4]);
        let tool = a[5..].join(" ");
        assert!(tool.starts_with("producer-perf "), "{tool}");
        assert!(
            tool.contains("--num-records 500000 --record-size 100 --throughput -1"),
            "{tool}"
        );
        assert!(
            tool.ends_with(
                "--command-property acks=all enable.idempotence=true compression.type=lz4 \
                 linger.ms=5 batch.size=1000000"
            ),
            "{tool}"
        );

        let defaults = Workload {
            tuned: false,
            acks: 1,
            idempotence: false,
            ..w
        };
        let tool = args(&command("producer-perf", &defaults).unwrap())[5..].join(" ");
        assert!(
            tool.ends_with(
                "--command-property acks=1 enable.idempotence=false compression.type=lz4"
            ),
            "{tool}"
        );
    }

    #[test]
    fn consumer_perf_and_e2e_arguments_follow_the_workload() {
        let a = args(&command("consumer-perf", &workload(Kind::Consume)).unwrap());
        assert_eq!(
            a[5..].join(" "),
            "consumer-perf --bootstrap-server 127.0.0.1:9092 --topic t --num-records 500000 \
             --group g --command-property auto.offset.reset=earliest"
        );
        let a = args(&command("e2e-latency", &workload(Kind::Latency)).unwrap());
        assert_eq!(
            a[3],
            "enable.idempotence=true compression.type=lz4 linger.ms=5 batch.size=1000000"
        );
        assert_eq!(
            a[5..].join(" "),
            "e2e-latency --bootstrap-server 127.0.0.1:9092 --topic t --num-records 5000 \
             --producer-acks all --record-size 100",
            "the one-at-a-time tool gets at most 5000 records"
        );
        assert!(command("e2e-latency", &workload(Kind::Produce)).is_err());
        assert!(command("nope", &workload(Kind::Produce)).is_err());
    }

    #[test]
    fn producer_perf_output_is_parsed() {
        let w = Workload {
            messages: 2_000_000,
            ..workload(Kind::Produce)
        };
        let o = parse("producer-perf", &w, PRODUCER_OUT).unwrap();
        assert_eq!(o.messages, 2_000_000);
        assert_eq!(o.bytes, 200_000_000);
        assert_eq!(o.failed, 0);
        assert!(
            (o.seconds - 2_000_000.0 / 374_601.985391).abs() < 1e-9,
            "{}",
            o.seconds
        );
        let warmup = o.warmup_seconds.unwrap();
        assert!((warmup - (7.106908 - o.seconds)).abs() < 1e-5, "{warmup}");
        let note = o.note.unwrap();
        assert!(
            note.contains("p99 1059 ms") && note.contains("max 1112.00 ms"),
            "{note}"
        );

        let w = Workload {
            messages: 500_010,
            ..w
        };
        let o = parse("producer-perf", &w, PRODUCER_BY_HAND_OUT).unwrap();
        assert_eq!(o.messages, 500_000);
        assert_eq!(o.failed, 10, "the tool counts acknowledged records only");
        assert_eq!(o.warmup_seconds, None, "no wrapper line");
    }

    #[test]
    fn consumer_perf_output_is_parsed() {
        let w = Workload {
            messages: 2_000_000,
            ..workload(Kind::Consume)
        };
        let o = parse("consumer-perf", &w, CONSUMER_OUT).unwrap();
        assert_eq!(o.messages, 2_000_000);
        assert_eq!(o.bytes, 200_000_000);
        assert_eq!(o.seconds, 1.264);
        let warmup = o.warmup_seconds.unwrap();
        assert!((warmup - (3.54295 - 1.264)).abs() < 1e-5, "{warmup}");
        assert!(o.note.unwrap().contains("group join of 560 ms"));
    }

    #[test]
    fn e2e_latency_output_is_parsed() {
        let w = Workload {
            messages: 2000,
            rate: 1000,
            ..workload(Kind::Latency)
        };
        let o = parse("e2e-latency", &w, LATENCY_OUT).unwrap();
        let l = o.latency.unwrap();
        assert_eq!((l.p50_us, l.p99_us, l.p999_us), (0.0, 12_000.0, 120_000.0));
        assert!((l.max_us - 138_525.739).abs() < 1e-3, "{}", l.max_us);
        assert_eq!(o.messages, 2000);
        assert!((o.seconds - 2000.0 * 1.5065e-3).abs() < 1e-9);
        let warmup = o.warmup_seconds.unwrap();
        assert!((warmup - (4.838095 - o.seconds)).abs() < 1e-5, "{warmup}");
        assert!(o.note.unwrap().contains("no fixed rate"));
    }

    #[test]
    fn output_without_figures_is_an_error() {
        let w = workload(Kind::Produce);
        let err = parse("producer-perf", &w, "Exception in thread \"main\"\n").unwrap_err();
        assert!(err.contains("no total line"), "{err}");
        let w = workload(Kind::Consume);
        assert!(parse("consumer-perf", &w, "start.time, end.time\n").is_err());
        let w = workload(Kind::Latency);
        assert!(parse("e2e-latency", &w, "Avg latency: x ms\n").is_err());
        assert!(parse("consumer-perf", &workload(Kind::Produce), PRODUCER_OUT).is_err());
    }

    /// Kafka's tools on a real broker: PEERS_MESSAGES records of 100 B
    /// (default 20000) produced and consumed, then 2000 end-to-end, e.g.
    /// `KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 PEERS_MESSAGES=500000 cargo
    /// test -p kafkit-bench java_tools_on_a_broker -- --ignored --nocapture`.
    #[test]
    #[ignore = "needs a broker at KAFKA_BOOTSTRAP_SERVERS"]
    fn java_tools_on_a_broker() {
        let Ok(bootstrap) = std::env::var("KAFKA_BOOTSTRAP_SERVERS") else {
            eprintln!("KAFKA_BOOTSTRAP_SERVERS is not set: skipped");
            return;
        };
        let messages = std::env::var("PEERS_MESSAGES")
            .ok()
            .and_then(|m| m.parse().ok())
            .unwrap_or(20_000);
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let run = |variant: &str, w: &Workload| {
            let out = command(variant, w).unwrap().output().unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            eprintln!("--- {variant} stdout:\n{stdout}");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let o = parse(variant, w, &stdout).unwrap();
            eprintln!(
                "{variant}: {} records in {:.3} s: {:.0} records/s, {:.2} MB/s, failed {}, \
                 warm-up {:?} s, latency {:?}\n",
                o.messages,
                o.seconds,
                o.rate(),
                o.mb_per_s(),
                o.failed,
                o.warmup_seconds,
                o.latency
            );
            o
        };
        let topic = format!("kafkit-bench-java-{stamp}");
        create_topic_on_broker(&bootstrap, &topic, 3).unwrap();
        let w = Workload {
            kind: Kind::Produce,
            bootstrap: bootstrap.clone(),
            topic: topic.clone(),
            messages,
            acks: 1,
            idempotence: false,
            compression: Compression::None,
            ..workload(Kind::Produce)
        };
        assert_eq!(run("producer-perf", &w).messages, messages);
        let consume = Workload {
            kind: Kind::Consume,
            group: format!("{topic}-g"),
            ..w.clone()
        };
        assert_eq!(run("consumer-perf", &consume).messages, messages);
        delete_topic_on_broker(&bootstrap, &topic).unwrap();

        let topic = format!("{topic}-e2e");
        create_topic_on_broker(&bootstrap, &topic, 3).unwrap();
        let latency = Workload {
            kind: Kind::Latency,
            topic: topic.clone(),
            messages: 2000,
            rate: 1000,
            ..w
        };
        assert!(run("e2e-latency", &latency).latency.is_some());
        delete_topic_on_broker(&bootstrap, &topic).unwrap();
    }
}
