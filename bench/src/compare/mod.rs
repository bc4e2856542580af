//! `kafkit-bench compare`: kafkit against the clients its users would pick
//! instead, on the same broker and workloads, in alternating rounds, with a
//! Markdown report, the raw figures as CSV and JSON, and SVG charts.
//!
//! The driver ([`run`]) builds the plan ([`plan`]), runs every client of
//! every case once per round in a child process of its own ([`runner`]),
//! on a fresh topic per run ([`topics`]), and writes the report
//! ([`report`], [`charts`]).

pub mod charts;
mod cli;
mod fake;
mod machine;
pub mod plan;
pub mod protocol;
pub mod report;
mod runner;
pub mod stats;
mod topics;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::broker::StartedBroker;
use crate::peers;
use cli::{parse_args, Args, BrokerChoice, USAGE};
use plan::{Case, Client, Group, PlanOptions, ALL_FAMILIES, REAL_BROKER_ONLY};
use protocol::{Kind, Outcome, Workload};
use report::{Context, RunRecord};

/// The `compare` subcommand (and, hidden, the fake client of the driver's
/// own tests: `--fake-peer`).
pub fn main(args: &[String]) -> i32 {
    if args.first().map(String::as_str) == Some("--fake-peer") {
        return fake::main(&args[1..]);
    }
    let a = match parse_args(args) {
        Ok(Some(a)) => a,
        Ok(None) => {
            println!("{USAGE}");
            return 0;
        }
        Err(e) => {
            eprintln!("error: {e}\n\n{USAGE}");
            return 2;
        }
    };
    let command = std::iter::once("kafkit-bench compare".to_string())
        .chain(args.iter().map(|s| crate::common::shell_quote(s)))
        .collect::<Vec<_>>()
        .join(" ");
    match run(&a, command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}

/// The variants of `family` for `kind` in this build.
fn variants(family: &str, kind: Kind) -> Vec<String> {
    if fake::enabled() && (family == "raw" || family == "kafkit") {
        return vec!["fake".into()];
    }
    let list: &[&str] = if peers::python::FAMILIES.contains(&family) {
        peers::python::variants(family, kind)
    } else if family == "java" {
        peers::java::variants(kind)
    } else if peers::RUST_FAMILIES.contains(&family) {
        peers::rust_variants(family, kind)
    } else {
        &[]
    };
    list.iter().map(|s| s.to_string()).collect()
}

/// How to start one client and read its outcome.
struct Launcher {
    exe: PathBuf,
    python: Option<PathBuf>,
}

impl Launcher {
    fn command(&self, client: &Client, w: &Workload) -> Result<Command, String> {
        let json =
            serde_json::to_string(w).map_err(|e| format!("cannot serialize the workload: {e}"))?;
        if client.variant == "fake" && fake::enabled() {
            let mut c = Command::new(&self.exe);
            c.args([
                "compare",
                "--fake-peer",
                &client.family,
                &client.variant,
                &json,
            ]);
            return Ok(c);
        }
        if peers::python::FAMILIES.contains(&client.family.as_str()) {
            let python = self
                .python
                .as_deref()
                .ok_or_else(|| "the Python virtualenv is not ready".to_string())?;
            let mut c = peers::python::command(python, &client.family, &client.variant, w);
            if c.get_current_dir().is_none() {
                c.current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/python"));
            }
            return Ok(c);
        }
        if client.family == "java" {
            return peers::java::command(&client.variant, w);
        }
        let mut c = Command::new(&self.exe);
        c.args(["peer", &client.family, &client.variant, &json]);
        Ok(c)
    }

    fn parse(client: &Client, w: &Workload, stdout: &str) -> Result<Outcome, String> {
        if client.family == "java" {
            peers::java::parse(&client.variant, w, stdout)
        } else {
            Outcome::from_output(stdout)
        }
    }
}

/// The progress bar over all runs (plain lines when stderr is not a
/// terminal).
struct Progress {
    bar: Option<ProgressBar>,
    total: u64,
    done: u64,
}

impl Progress {
    fn new(total: u64) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            if let Ok(style) =
                ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {wide_msg}")
            {
                bar.set_style(style.progress_chars("=> "));
            }
            bar
        });
        Progress {
            bar,
            total,
            done: 0,
        }
    }

    fn start(&self, what: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(what.to_string());
        }
    }

    fn finish(&mut self, what: &str, result: &str) {
        self.done += 1;
        match &self.bar {
            Some(bar) => {
                bar.inc(1);
                if result.starts_with("FAILED") {
                    bar.println(format!("{what}: {result}"));
                }
            }
            None => eprintln!("[{}/{}] {what}: {result}", self.done, self.total),
        }
    }

    fn say(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }

    fn end(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Everything one run needs from the driver.
struct Env<'a> {
    bootstrap: String,
    topics: topics::Topics<'a>,
    launcher: Launcher,
    options: PlanOptions,
    seq: std::cell::Cell<u64>,
}

impl Env<'_> {
    fn unique(&self, what: &str) -> String {
        let n = self.seq.get();
        self.seq.set(n + 1);
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        format!("kafkit-compare-{what}-{secs}-{}-{n}", std::process::id())
    }

    /// Runs `client` on `case` once and records it, whatever happens.
    fn run_one(
        &self,
        round: usize,
        case: &Case,
        client: &Client,
        rate: Result<u64, String>,
    ) -> RunRecord {
        let messages = match (case.kind, &rate) {
            // Kafka's EndToEndLatency sends one record at a time: fewer.
            (Kind::Latency, Ok(r)) if client.family == "java" => {
                plan::latency_messages(&self.options, *r).min(crate::peers::java::E2E_RECORDS)
            }
            (Kind::Latency, Ok(r)) => plan::latency_messages(&self.options, *r),
            _ => plan::messages(&self.options, &client.family, case.size),
        };
        let mut w = plan::workload(
            case,
            client,
            &self.bootstrap,
            messages,
            *rate.as_ref().unwrap_or(&0),
        );
        w.topic = self.unique("topic");
        w.group = self.unique("group");
        let mut record = empty_record(round, case, client, &w);
        let finished = match rate {
            Err(e) => Err(e),
            Ok(_) => self.run_on_topic(&w, client),
        };
        match finished {
            Err(e) => record.error = Some(e),
            Ok(f) => {
                record.cpu_seconds = f.cpu_seconds;
                record.peak_rss_mib = f.peak_rss_mib;
                record.wall_seconds = f.wall_seconds;
                match f.outcome {
                    Err(e) => record.error = Some(e),
                    Ok(o) => fill_record(&mut record, &o),
                }
            }
        }
        record
    }

    fn run_on_topic(&self, w: &Workload, client: &Client) -> Result<runner::Finished, String> {
        self.topics.create(&w.topic, w.partitions)?;
        let result = (|| {
            if w.kind == Kind::Consume {
                topics::fill(
                    &self.bootstrap,
                    &w.topic,
                    w.partitions,
                    w.messages,
                    w.size,
                    w.compression,
                )?;
            }
            let command = self.launcher.command(client, w)?;
            let timeout = run_timeout(&self.options, w);
            Ok(runner::run(command, timeout, &|out| {
                Launcher::parse(client, w, out)
            }))
        })();
        if let Err(e) = self.topics.delete(&w.topic) {
            eprintln!("warning: {e}");
        }
        result
    }
}

/// How long one run may take before it is killed.
fn run_timeout(o: &PlanOptions, w: &Workload) -> Duration {
    let base = if o.quick { 60.0 } else { 180.0 };
    let paced = if w.kind == Kind::Latency && w.rate > 0 {
        3.0 * w.messages as f64 / w.rate as f64
    } else {
        0.0
    };
    Duration::from_secs_f64(base + paced)
}

fn empty_record(round: usize, case: &Case, client: &Client, w: &Workload) -> RunRecord {
    RunRecord {
        round,
        case: case.id.clone(),
        group: case.group,
        kind: case.kind,
        size: case.size,
        acks: case.acks,
        idempotence: case.idempotence,
        compression: case.compression,
        partitions: case.partitions,
        family: client.family.clone(),
        variant: client.variant.clone(),
        tuned: client.tuned,
        client: client.label(),
        messages_planned: w.messages,
        rate: w.rate,
        ok: false,
        error: None,
        messages: 0,
        bytes: 0,
        seconds: 0.0,
        failed: 0,
        msgs_per_s: 0.0,
        mb_per_s: 0.0,
        cpu_seconds: None,
        peak_rss_mib: None,
        wall_seconds: 0.0,
        p50_us: None,
        p99_us: None,
        p999_us: None,
        max_us: None,
        warmup_seconds: None,
        note: None,
    }
}

/// Copies an outcome into its record; a run that moved fewer records than
/// asked, or reported no timed part, is a failed run.
fn fill_record(r: &mut RunRecord, o: &Outcome) {
    r.messages = o.messages;
    r.bytes = o.bytes;
    r.seconds = o.seconds;
    r.failed = o.failed;
    r.msgs_per_s = o.rate();
    r.mb_per_s = o.mb_per_s();
    r.warmup_seconds = o.warmup_seconds;
    r.note = o.note.clone();
    if let Some(l) = o.latency {
        r.p50_us = Some(l.p50_us);
        r.p99_us = Some(l.p99_us);
        r.p999_us = Some(l.p999_us);
        r.max_us = Some(l.max_us);
    }
    if o.seconds <= 0.0 {
        r.error = Some("the client reported no timed part (0 s)".into());
    } else if o.messages < r.messages_planned {
        r.error = Some(format!(
            "the client moved {} of {} records ({} failed)",
            o.messages, r.messages_planned, o.failed
        ));
    } else if r.kind == Kind::Latency && o.latency.is_none() {
        r.error = Some("a latency run reported no latency".into());
    } else {
        r.ok = true;
        if o.failed > 0 {
            let n = format!("{} records failed", o.failed);
            r.note = Some(match r.note.take() {
                Some(note) => format!("{note}; {n}"),
                None => n,
            });
        }
    }
}

/// The rate of a latency case: its fraction of the slowest headline
/// produce rate among the tuned variants of the latency case's families
/// (median over the rounds). The slowest variant, not the slowest family's
/// best one: a latency client must not be driven past what its own
/// family's slower variants can sustain, or the figure measures a queue.
fn latency_rate(cases: &[Case], records: &[RunRecord], latency_case: &Case) -> Result<u64, String> {
    let Some(headline) = cases
        .iter()
        .find(|c| c.group == Group::Headline && c.kind == Kind::Produce)
    else {
        return Err("no headline produce case to take the rate from".into());
    };
    let rows = report::rows(headline, records);
    let mut slowest: Option<f64> = None;
    for family in latency_case.clients.iter().map(|c| &c.family) {
        let family_rows: Vec<&report::Row> = rows
            .iter()
            .filter(|r| &r.client.family == family && r.client.tuned)
            .collect();
        // A variant whose headline runs all failed has no rate; its
        // failures are in the report, and it does not set the pace.
        for rate in family_rows
            .iter()
            .filter_map(|r| r.msgs_per_s.map(|s| s.median))
        {
            slowest = Some(slowest.map_or(rate, |s: f64| s.min(rate)));
        }
    }
    let max = slowest.ok_or_else(|| {
        "no headline produce rate for the latency clients (their headline runs failed)".to_string()
    })?;
    Ok(((max * latency_case.rate_fraction) as u64).max(10))
}

/// UTC date and time of `t` as `YYYY-MM-DD HH:MM:SS UTC`.
fn utc(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The whole comparison; returns the exit code.
fn run(a: &Args, command: String) -> Result<i32, String> {
    let started_at = SystemTime::now();
    let clock = Instant::now();
    // The broker, kept for the whole run.
    let bootstrap_env = std::env::var("KAFKA_BOOTSTRAP_SERVERS")
        .ok()
        .filter(|s| !s.trim().is_empty());
    let mut started: Option<StartedBroker> = None;
    let mut cluster: Option<kafkit::MockCluster> = None;
    let (bootstrap, broker_desc) = match (&a.broker, bootstrap_env) {
        (BrokerChoice::Bootstrap(b), _) => {
            (b.clone(), format!("a running broker at {b} (--bootstrap)"))
        }
        (BrokerChoice::Default, Some(b)) => (
            b.clone(),
            format!("a running broker at {b} (KAFKA_BOOTSTRAP_SERVERS)"),
        ),
        (BrokerChoice::Start, _) => {
            let b = StartedBroker::start()?;
            let addr = b.bootstrap().to_string();
            started = Some(b);
            (
                addr.clone(),
                format!("a single Kafka node at {addr} started for this run by scripts/kafka.sh start single (stopped after it), on the same machine"),
            )
        }
        (BrokerChoice::Mock | BrokerChoice::Default, _) => {
            let c = kafkit::MockCluster::new(1)
                .map_err(|e| format!("cannot start the embedded mock cluster: {e}"))?;
            let addr = c.bootstrap_servers();
            cluster = Some(c);
            (
                addr.clone(),
                format!("librdkafka's embedded mock cluster (1 broker at {addr}, in the harness's process; the clients connect to it over TCP). Not a real Kafka: figures show client overhead, not broker behaviour."),
            )
        }
    };
    let mock = cluster.is_some();
    let mut skipped = Vec::new();
    let selected: Vec<String> = match &a.clients {
        Some(list) => list.clone(),
        None => ALL_FAMILIES.iter().map(|s| s.to_string()).collect(),
    };
    let mut families: Vec<String> = Vec::new();
    for family in ALL_FAMILIES
        .iter()
        .filter(|f| selected.iter().any(|s| s == *f))
    {
        if mock && REAL_BROKER_ONLY.contains(family) {
            skipped.push(format!(
                "{family}: skipped on the mock cluster (it runs against a real broker only; give --bootstrap or --broker start)"
            ));
            continue;
        }
        if [Kind::Produce, Kind::Consume, Kind::Latency]
            .iter()
            .all(|&k| variants(family, k).is_empty())
        {
            skipped.push(format!("{family}: no variant of it in this build"));
            continue;
        }
        families.push(family.to_string());
    }
    let mut versions = machine::rust_versions();
    let mut python = None;
    if families
        .iter()
        .any(|f| peers::python::FAMILIES.contains(&f.as_str()))
    {
        eprintln!("preparing the Python clients' virtualenv");
        match peers::python::ensure_venv(&|what| eprintln!("  {what}")) {
            Ok(p) => {
                versions.extend(machine::python_versions(&p));
                python = Some(p);
            }
            Err(e) => {
                for f in peers::python::FAMILIES {
                    if families.iter().any(|x| x == f) {
                        skipped.push(format!(
                            "{f}: skipped, its virtualenv could not be made: {e}"
                        ));
                    }
                }
                families.retain(|f| !peers::python::FAMILIES.contains(&f.as_str()));
            }
        }
    }
    if families.iter().any(|f| f == "java") {
        versions.extend(machine::java_versions());
    }
    let options = PlanOptions {
        quick: a.quick,
        families,
        sizes: a
            .sizes
            .clone()
            .unwrap_or_else(|| plan::default_sizes(a.quick)),
        mock,
    };
    let cases = plan::build(&options, &variants);
    if cases.is_empty() {
        for s in &skipped {
            eprintln!("  {s}");
        }
        return Err("nothing to run: no selected client has a variant for these workloads".into());
    }
    let rounds = a.rounds.unwrap_or(if a.quick { 1 } else { 3 });
    std::fs::create_dir_all(&a.out)
        .map_err(|e| format!("cannot create {}: {e}", a.out.display()))?;
    let topics = match &cluster {
        Some(c) => topics::Topics::mock(c),
        None => topics::Topics::real(&bootstrap)?,
    };
    let env = Env {
        bootstrap: bootstrap.clone(),
        topics,
        launcher: Launcher {
            exe: std::env::current_exe()
                .map_err(|e| format!("cannot find this program's path: {e}"))?,
            python,
        },
        options,
        seq: std::cell::Cell::new(0),
    };
    let total: usize = cases.iter().map(|c| c.clients.len()).sum::<usize>() * rounds;
    let mut progress = Progress::new(total as u64);
    progress.say(&format!(
        "compare: {} cases, {total} runs ({rounds} round{}), broker {bootstrap}",
        cases.len(),
        if rounds == 1 { "" } else { "s" }
    ));
    let mut records: Vec<RunRecord> = Vec::new();
    // Throughput first, every round; then latency, whose rates come from
    // the headline produce figures.
    for latency_phase in [false, true] {
        for round in 0..rounds {
            for case in cases
                .iter()
                .filter(|c| (c.kind == Kind::Latency) == latency_phase)
            {
                let rate = if latency_phase {
                    latency_rate(&cases, &records, case)
                } else {
                    Ok(0)
                };
                let mut order = case.clients.clone();
                let n = order.len();
                order.rotate_left(round % n.max(1));
                for client in &order {
                    let what = format!(
                        "round {}/{rounds} {} {}",
                        round + 1,
                        case.id,
                        client.label()
                    );
                    progress.start(&what);
                    let r = env.run_one(round + 1, case, client, rate.clone());
                    let result = if r.ok {
                        if r.kind == Kind::Latency {
                            format!(
                                "p50 {:.0} us p99 {:.0} us",
                                r.p50_us.unwrap_or(0.0),
                                r.p99_us.unwrap_or(0.0)
                            )
                        } else {
                            format!(
                                "{} msgs/s, {:.2} MB/s",
                                report::thousands(r.msgs_per_s),
                                r.mb_per_s
                            )
                        }
                    } else {
                        format!("FAILED: {}", r.error.as_deref().unwrap_or("?"))
                    };
                    progress.finish(&what, &result);
                    records.push(r);
                }
            }
        }
    }
    progress.end();
    drop(env);
    let ctx = Context {
        command,
        started: utc(started_at),
        wall_seconds: clock.elapsed().as_secs_f64(),
        rounds,
        quick: a.quick,
        broker: broker_desc,
        machine: machine::describe(),
        versions,
        skipped,
    };
    let charts = match charts::write_all(&a.out, &cases, &records) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("warning: {e}");
            Vec::new()
        }
    };
    report::write(&a.out, &ctx, &cases, &records, &charts)?;
    print_summary(&a.out, &cases, &records, &charts);
    drop(cluster);
    drop(started);
    let ok = records.iter().filter(|r| r.ok).count();
    Ok(if ok == 0 { 1 } else { 0 })
}

/// The headline figures and where the report is, on stdout.
fn print_summary(out: &Path, cases: &[Case], records: &[RunRecord], charts: &[String]) {
    for case in cases
        .iter()
        .filter(|c| c.group == Group::Headline || c.group == Group::Latency)
    {
        println!("{}", case.id);
        for row in report::rows(case, records) {
            let figure = if case.kind == Kind::Latency {
                match (row.p50_us, row.p99_us, row.p999_us) {
                    (Some(a), Some(b), Some(c)) => format!(
                        "p50 {:.0} us, p99 {:.0} us, p99.9 {:.0} us at {} records/s",
                        a.median, b.median, c.median, row.rate
                    ),
                    _ => "failed".into(),
                }
            } else {
                match (row.msgs_per_s, row.mb_per_s) {
                    (Some(m), Some(b)) => format!(
                        "{:>12} msgs/s {:>9.2} MB/s",
                        report::thousands(m.median),
                        b.median
                    ),
                    _ => "failed".into(),
                }
            };
            println!(
                "  {:<40} {figure}  ({}/{} runs ok)",
                row.client.label(),
                row.ok,
                row.runs
            );
        }
    }
    let failed = records.iter().filter(|r| !r.ok).count();
    println!(
        "{} runs, {failed} failed; report: {}, charts: {}",
        records.len(),
        out.join("REPORT.md").display(),
        if charts.is_empty() {
            "none".to_string()
        } else {
            charts.join(", ")
        }
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_or_empty_outcomes_fail_the_run() {
        let c = report::tests::client("kafkit", "send", true);
        let case = report::tests::case(Kind::Produce, 100, vec![c.clone()]);
        let w = plan::workload(&case, &c, "b", 1000, 0);
        let outcome = Outcome {
            messages: 1000,
            bytes: 100_000,
            seconds: 0.5,
            failed: 2,
            latency: None,
            warmup_seconds: None,
            note: None,
        };
        let mut r = empty_record(1, &case, &c, &w);
        fill_record(&mut r, &outcome);
        assert!(r.ok);
        assert_eq!(r.msgs_per_s, 2000.0);
        assert_eq!(r.note.as_deref(), Some("2 records failed"));
        let mut r = empty_record(1, &case, &c, &w);
        fill_record(
            &mut r,
            &Outcome {
                messages: 10,
                ..outcome.clone()
            },
        );
        assert!(!r.ok);
        assert!(r.error.unwrap().contains("10 of 1000"));
        let mut r = empty_record(1, &case, &c, &w);
        fill_record(
            &mut r,
            &Outcome {
                seconds: 0.0,
                ..outcome
            },
        );
        assert!(!r.ok);
    }

    #[test]
    fn latency_rates_come_from_the_slowest_family() {
        let k = report::tests::client("kafkit", "send", true);
        let r = report::tests::client("raw", "raw", true);
        let lat = report::tests::case(Kind::Latency, 100, vec![k.clone(), r.clone()]);
        let k2 = report::tests::client("kafkit", "callback", true);
        let slow_defaults = report::tests::client("kafkit", "send", false);
        let headline = report::tests::case(
            Kind::Produce,
            100,
            vec![k.clone(), k2.clone(), r.clone(), slow_defaults.clone()],
        );
        let records = vec![
            report::tests::record(&headline, &k, 1, 400_000.0),
            report::tests::record(&headline, &k2, 1, 300_000.0),
            report::tests::record(&headline, &r, 1, 900_000.0),
            report::tests::record(&headline, &slow_defaults, 1, 1000.0),
        ];
        let cases = vec![headline, lat.clone()];
        // Half of kafkit callback's 300,000: the slowest tuned variant.
        assert_eq!(latency_rate(&cases, &records, &lat), Ok(150_000));
        // raw's headline failed: kafkit sets the pace alone.
        let mut failed = records.clone();
        failed[2].ok = false;
        failed[2].msgs_per_s = 1.0;
        assert_eq!(latency_rate(&cases, &failed, &lat), Ok(150_000));
        assert!(latency_rate(&cases, &[], &lat).is_err());
    }

    #[test]
    fn utc_dates() {
        assert_eq!(utc(UNIX_EPOCH), "1970-01-01 00:00:00 UTC");
        assert_eq!(
            utc(UNIX_EPOCH + Duration::from_secs(1_796_222_147)),
            "2026-12-02 14:35:47 UTC"
        );
    }
}
