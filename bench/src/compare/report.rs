//! The report of `compare`: every run's raw figures (`results.csv`,
//! `results.json`) and the summary a reader reads (`REPORT.md`).

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use super::plan::{size_label, Case, Client, Group, BATCH_SIZE, LINGER_MS, WINDOW, WINDOW_BYTES};
use super::protocol::{Compression, Kind};
use super::stats::{self, Spread};

/// One run of one client on one case, as measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunRecord {
    pub round: usize,
    pub case: String,
    pub group: Group,
    pub kind: Kind,
    pub size: usize,
    pub acks: i32,
    pub idempotence: bool,
    pub compression: Compression,
    pub partitions: i32,
    pub family: String,
    pub variant: String,
    pub tuned: bool,
    pub client: String,
    /// Records the workload asked for.
    pub messages_planned: u64,
    /// Records/s of a latency run; 0 otherwise.
    pub rate: u64,
    pub ok: bool,
    pub error: Option<String>,
    pub messages: u64,
    pub bytes: u64,
    pub seconds: f64,
    pub failed: u64,
    pub msgs_per_s: f64,
    pub mb_per_s: f64,
    pub cpu_seconds: Option<f64>,
    pub peak_rss_mib: Option<f64>,
    pub wall_seconds: f64,
    pub p50_us: Option<f64>,
    pub p99_us: Option<f64>,
    pub p999_us: Option<f64>,
    pub max_us: Option<f64>,
    pub warmup_seconds: Option<f64>,
    pub note: Option<String>,
}

/// What the report says about where and how it was measured.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// The command line that made it.
    pub command: String,
    /// UTC start time.
    pub started: String,
    pub wall_seconds: f64,
    pub rounds: usize,
    pub quick: bool,
    pub broker: String,
    pub machine: Vec<(String, String)>,
    pub versions: Vec<(String, String)>,
    /// Lines saying which clients were left out and why.
    pub skipped: Vec<String>,
}

/// One client's figures on one case, over the rounds.
#[derive(Debug, Clone)]
pub struct Row {
    pub client: Client,
    pub runs: usize,
    pub ok: usize,
    pub messages: u64,
    pub rate: u64,
    pub msgs_per_s: Option<Spread>,
    pub mb_per_s: Option<Spread>,
    pub cpu_seconds: Option<Spread>,
    pub peak_rss_mib: Option<Spread>,
    pub p50_us: Option<Spread>,
    pub p99_us: Option<Spread>,
    pub p999_us: Option<Spread>,
    pub max_us: Option<Spread>,
    pub warmup_seconds: Option<Spread>,
    /// Median msgs/s over the best kafkit variant's median.
    pub vs_kafkit: Option<f64>,
    pub notes: Vec<String>,
}

/// The rows of `case`, one per client in the plan's order.
pub fn rows(case: &Case, records: &[RunRecord]) -> Vec<Row> {
    let mut rows: Vec<Row> = case
        .clients
        .iter()
        .map(|client| {
            let runs: Vec<&RunRecord> = records
                .iter()
                .filter(|r| {
                    r.case == case.id
                        && r.family == client.family
                        && r.variant == client.variant
                        && r.tuned == client.tuned
                })
                .collect();
            let good: Vec<&&RunRecord> = runs.iter().filter(|r| r.ok).collect();
            let spread = |f: &dyn Fn(&RunRecord) -> Option<f64>| {
                Spread::of(&good.iter().filter_map(|r| f(r)).collect::<Vec<f64>>())
            };
            let mut notes: Vec<String> = good.iter().filter_map(|r| r.note.clone()).collect();
            notes.dedup();
            Row {
                client: client.clone(),
                runs: runs.len(),
                ok: good.len(),
                messages: runs.iter().map(|r| r.messages_planned).max().unwrap_or(0),
                rate: runs.iter().map(|r| r.rate).max().unwrap_or(0),
                msgs_per_s: spread(&|r| Some(r.msgs_per_s)),
                mb_per_s: spread(&|r| Some(r.mb_per_s)),
                cpu_seconds: spread(&|r| r.cpu_seconds),
                peak_rss_mib: spread(&|r| r.peak_rss_mib),
                p50_us: spread(&|r| r.p50_us),
                p99_us: spread(&|r| r.p99_us),
                p999_us: spread(&|r| r.p999_us),
                max_us: spread(&|r| r.max_us),
                warmup_seconds: spread(&|r| r.warmup_seconds),
                vs_kafkit: None,
                notes,
            }
        })
        .collect();
    let kafkit_best = stats::best(
        rows.iter()
            .filter(|r| r.client.family == "kafkit")
            .filter_map(|r| r.msgs_per_s.map(|s| s.median)),
    );
    if let Some(reference) = kafkit_best {
        for row in &mut rows {
            row.vs_kafkit = row
                .msgs_per_s
                .and_then(|s| stats::ratio(s.median, reference));
        }
    }
    rows
}

/// `1234567.8` as `1,234,568`.
pub fn thousands(x: f64) -> String {
    let n = x.round() as i64;
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// A figure with its range when there was more than one round:
/// `median (min-max)`.
fn with_range(s: Option<Spread>, fmt: &dyn Fn(f64) -> String) -> String {
    match s {
        None => "-".into(),
        Some(s) if s.n > 1 => format!("{} ({}-{})", fmt(s.median), fmt(s.min), fmt(s.max)),
        Some(s) => fmt(s.median),
    }
}

fn median_only(s: Option<Spread>, fmt: &dyn Fn(f64) -> String) -> String {
    s.map(|s| fmt(s.median)).unwrap_or_else(|| "-".into())
}

fn two(x: f64) -> String {
    format!("{x:.2}")
}

fn one(x: f64) -> String {
    format!("{x:.1}")
}

/// Markdown table cell: no pipes or newlines inside.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The Markdown report.
pub fn markdown(ctx: &Context, cases: &[Case], records: &[RunRecord], charts: &[String]) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# kafkit compared with other Kafka clients\n");
    let _ = writeln!(
        md,
        "Made by `{}` on {} in {:.0} s ({} round{}{}).\n",
        ctx.command,
        ctx.started,
        ctx.wall_seconds,
        ctx.rounds,
        if ctx.rounds == 1 { "" } else { "s" },
        if ctx.quick {
            ", --quick: fewer records and cases"
        } else {
            ""
        }
    );
    let _ = writeln!(md, "## Machine\n");
    for (k, v) in &ctx.machine {
        let _ = writeln!(md, "- {k}: {v}");
    }
    let _ = writeln!(md, "\n## Versions\n");
    for (k, v) in &ctx.versions {
        let _ = writeln!(md, "- {k}: {v}");
    }
    let _ = writeln!(md, "\n## Broker\n\n{}\n", ctx.broker);
    let _ = writeln!(md, "## Settings and fairness\n");
    let _ = writeln!(
        md,
        "- Every client runs in a process of its own; its CPU time (user + system) and peak \
         resident memory come from `wait4` when it exits, so they cover the whole process \
         (start, connection, the run, shutdown), not only the timed part.\n\
         - One fresh topic per run, created before and deleted after it; consume runs read a \
         topic the harness filled beforehand, from the beginning, in a fresh consumer group \
         (`auto.offset.reset=earliest`).\n\
         - Produce runs are timed from the first send to the last delivery report (every record \
         acknowledged); consume runs from the first record received to the last. Before the \
         clock starts, every producer but Java's ProducerPerformance (which has no such option) \
         sends one record and waits for its delivery: an idempotent producer's first delivery \
         waits for its producer id, about 0.5 s with librdkafka.\n\
         - Tuned rows: the same settings for every client: linger {LINGER_MS} ms, batch size \
         {BATCH_SIZE} bytes, at most {WINDOW} records (and about {} MB) in flight, and the case's \
         acks, idempotence and compression.\n\
         - Defaults rows (\"(defaults)\"): the client's own defaults for everything except acks, \
         idempotence and compression, for the clients whose defaults differ from the tuned \
         settings.\n\
         - Payloads: one template buffer per run, copied once per record by the client; no key.\n\
         - Latency runs send at a fixed rate paced by a clock (a fraction of the slowest \
         tuned variant's headline produce rate in this run, among the latency clients' families; variants whose headline runs all failed are \
         left out), each payload starting with its send time; \
         a consumer in the same process measures arrival minus send time.\n\
         - Throughput is the median over the rounds with the range (min-max) in brackets; the \
         client order is rotated by one every round. \"vs kafkit\" is the row's median msgs/s \
         over the best kafkit variant's median in the same table.\n\
         - MB means 10^6 bytes; MiB 2^20 bytes.\n",
        WINDOW_BYTES / 1_000_000
    );
    if !ctx.skipped.is_empty() {
        let _ = writeln!(md, "Left out:\n");
        for s in &ctx.skipped {
            let _ = writeln!(md, "- {s}");
        }
        let _ = writeln!(md);
    }
    let mut groups: Vec<Group> = Vec::new();
    for case in cases {
        if !groups.contains(&case.group) {
            groups.push(case.group);
        }
    }
    for group in groups {
        let _ = writeln!(md, "## {}\n", group.title());
        for case in cases.iter().filter(|c| c.group == group) {
            let rows = rows(case, records);
            let _ = writeln!(md, "### {}\n", case_title(case, &rows));
            if case.kind == Kind::Latency {
                latency_table(&mut md, &rows);
            } else {
                throughput_table(&mut md, &rows);
            }
            let mut notes: Vec<String> = rows
                .iter()
                .filter_map(|r| {
                    r.warmup_seconds.map(|w| {
                        format!(
                            "{}: {:.2} s of start-up and warm-up before the timed part (median)",
                            r.client.label(),
                            w.median
                        )
                    })
                })
                .collect();
            notes.extend(rows.iter().flat_map(|r| {
                r.notes
                    .iter()
                    .map(move |n| format!("{}: {n}", r.client.label()))
            }));
            for n in notes {
                let _ = writeln!(md, "- {}", cell(&n));
            }
            let _ = writeln!(md);
        }
    }
    if !charts.is_empty() {
        let _ = writeln!(md, "## Charts\n");
        for c in charts {
            let _ = writeln!(md, "![{c}]({c})\n");
        }
    }
    let failures: Vec<&RunRecord> = records.iter().filter(|r| !r.ok).collect();
    let _ = writeln!(md, "## Failed runs\n");
    if failures.is_empty() {
        let _ = writeln!(md, "None.");
    } else {
        let _ = writeln!(md, "| round | case | client | error |\n|---|---|---|---|");
        for r in failures {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} |",
                r.round,
                cell(&r.case),
                cell(&r.client),
                cell(r.error.as_deref().unwrap_or("failed"))
            );
        }
    }
    md
}

fn case_title(case: &Case, rows: &[Row]) -> String {
    let kind = match case.kind {
        Kind::Produce => "Produce",
        Kind::Consume => "Consume",
        Kind::Latency => "Latency",
    };
    let acks = if case.acks == 1 {
        "acks=1"
    } else {
        "acks=all + idempotence"
    };
    let mut title = format!(
        "{kind}, {}, {acks}, compression {}, {} partitions",
        size_label(case.size),
        case.compression.name(),
        case.partitions
    );
    if case.kind == Kind::Latency {
        let rate = rows.iter().map(|r| r.rate).max().unwrap_or(0);
        let _ = write!(
            title,
            ", {} records/s ({:.0}% of the slowest headline produce rate)",
            thousands(rate as f64),
            case.rate_fraction * 100.0
        );
    }
    title
}

fn throughput_table(md: &mut String, rows: &[Row]) {
    let _ = writeln!(
        md,
        "| client | records | msgs/s | MB/s | vs kafkit | CPU s | peak RSS MiB | ok runs |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|"
    );
    for r in rows {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {}/{} |",
            cell(&r.client.label()),
            thousands(r.messages as f64),
            with_range(r.msgs_per_s, &thousands),
            with_range(r.mb_per_s, &two),
            r.vs_kafkit
                .map(|x| format!("{x:.2}x"))
                .unwrap_or_else(|| "-".into()),
            median_only(r.cpu_seconds, &two),
            median_only(r.peak_rss_mib, &one),
            r.ok,
            r.runs
        );
    }
    let _ = writeln!(md);
}

fn latency_table(md: &mut String, rows: &[Row]) {
    let _ = writeln!(
        md,
        "| client | records | p50 µs | p99 µs | p99.9 µs | max µs | CPU s | peak RSS MiB | ok runs |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for r in rows {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {}/{} |",
            cell(&r.client.label()),
            thousands(r.messages as f64),
            with_range(r.p50_us, &thousands),
            with_range(r.p99_us, &thousands),
            with_range(r.p999_us, &thousands),
            median_only(r.max_us, &thousands),
            median_only(r.cpu_seconds, &two),
            median_only(r.peak_rss_mib, &one),
            r.ok,
            r.runs
        );
    }
    let _ = writeln!(md);
}

/// The columns of `results.csv`.
const CSV_HEADER: &str = "round,case,group,kind,size,acks,idempotence,compression,partitions,\
family,variant,tuned,client,messages_planned,rate,ok,error,messages,bytes,seconds,failed,\
msgs_per_s,mb_per_s,cpu_seconds,peak_rss_mib,wall_seconds,p50_us,p99_us,p999_us,max_us,\
warmup_seconds,note";

/// A CSV field, quoted when it needs to be.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Every run as CSV, one line each after the header.
pub fn csv(records: &[RunRecord]) -> String {
    let opt = |x: Option<f64>| x.map(|v| v.to_string()).unwrap_or_default();
    let mut out = String::from(CSV_HEADER);
    out.push('\n');
    for r in records {
        let group = serde_json::to_value(r.group)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default();
        let kind = serde_json::to_value(r.kind)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default();
        let fields = [
            r.round.to_string(),
            r.case.clone(),
            group,
            kind,
            r.size.to_string(),
            r.acks.to_string(),
            r.idempotence.to_string(),
            r.compression.name().to_string(),
            r.partitions.to_string(),
            r.family.clone(),
            r.variant.clone(),
            r.tuned.to_string(),
            r.client.clone(),
            r.messages_planned.to_string(),
            r.rate.to_string(),
            r.ok.to_string(),
            r.error.clone().unwrap_or_default(),
            r.messages.to_string(),
            r.bytes.to_string(),
            r.seconds.to_string(),
            r.failed.to_string(),
            r.msgs_per_s.to_string(),
            r.mb_per_s.to_string(),
            opt(r.cpu_seconds),
            opt(r.peak_rss_mib),
            r.wall_seconds.to_string(),
            opt(r.p50_us),
            opt(r.p99_us),
            opt(r.p999_us),
            opt(r.max_us),
            opt(r.warmup_seconds),
            r.note.clone().unwrap_or_default(),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    out
}

/// Writes REPORT.md, results.csv and results.json into `dir`.
pub fn write(
    dir: &Path,
    ctx: &Context,
    cases: &[Case],
    records: &[RunRecord],
    charts: &[String],
) -> Result<(), String> {
    let put = |name: &str, text: &str| {
        std::fs::write(dir.join(name), text)
            .map_err(|e| format!("cannot write {}: {e}", dir.join(name).display()))
    };
    put("REPORT.md", &markdown(ctx, cases, records, charts))?;
    put("results.csv", &csv(records))?;
    let json = serde_json::to_string_pretty(&serde_json::json!({
        "command": ctx.command,
        "started": ctx.started,
        "broker": ctx.broker,
        "rounds": ctx.rounds,
        "machine": ctx.machine,
        "versions": ctx.versions,
        "cases": cases,
        "runs": records,
    }))
    .map_err(|e| format!("cannot serialize results.json: {e}"))?;
    put("results.json", &json)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::compare::plan::Client;

    pub(crate) fn client(family: &str, variant: &str, tuned: bool) -> Client {
        Client {
            family: family.into(),
            variant: variant.into(),
            tuned,
        }
    }

    pub(crate) fn case(kind: Kind, size: usize, clients: Vec<Client>) -> Case {
        Case {
            id: format!("{kind:?} {size}"),
            group: if kind == Kind::Latency {
                Group::Latency
            } else if size == 100 {
                Group::Headline
            } else {
                Group::Sizes
            },
            kind,
            size,
            acks: -1,
            idempotence: true,
            compression: Compression::None,
            partitions: 3,
            rate_fraction: if kind == Kind::Latency { 0.5 } else { 0.0 },
            clients,
        }
    }

    pub(crate) fn record(case: &Case, c: &Client, round: usize, msgs_per_s: f64) -> RunRecord {
        let latency = case.kind == Kind::Latency;
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
            family: c.family.clone(),
            variant: c.variant.clone(),
            tuned: c.tuned,
            client: c.label(),
            messages_planned: 1000,
            rate: if latency { 5000 } else { 0 },
            ok: true,
            error: None,
            messages: 1000,
            bytes: 1000 * case.size as u64,
            seconds: 1000.0 / msgs_per_s,
            failed: 0,
            msgs_per_s,
            mb_per_s: msgs_per_s * case.size as f64 / 1e6,
            cpu_seconds: Some(1.5),
            peak_rss_mib: Some(20.0),
            wall_seconds: 2.0,
            p50_us: latency.then_some(msgs_per_s / 100.0),
            p99_us: latency.then_some(msgs_per_s / 10.0),
            p999_us: latency.then_some(msgs_per_s / 5.0),
            max_us: latency.then_some(msgs_per_s),
            warmup_seconds: None,
            note: None,
        }
    }

    #[test]
    fn rows_take_medians_and_compare_with_the_best_kafkit_variant() {
        let clients = vec![
            client("kafkit", "send", true),
            client("kafkit", "callback", true),
            client("raw", "raw", true),
        ];
        let c = case(Kind::Produce, 100, clients.clone());
        let mut records = Vec::new();
        for (round, base) in [(0, 1.0), (1, 3.0), (2, 2.0)] {
            records.push(record(&c, &clients[0], round, 100_000.0 * base));
            records.push(record(&c, &clients[1], round, 50_000.0 * base));
            records.push(record(&c, &clients[2], round, 300_000.0 * base));
        }
        let mut failed = record(&c, &clients[2], 3, 1.0);
        failed.ok = false;
        failed.error = Some("boom".into());
        records.push(failed);
        let rows = rows(&c, &records);
        assert_eq!(rows.len(), 3);
        let send = rows[0].msgs_per_s.unwrap();
        assert_eq!(
            (send.median, send.min, send.max),
            (200_000.0, 100_000.0, 300_000.0)
        );
        assert_eq!(rows[0].vs_kafkit, Some(1.0));
        assert_eq!(rows[1].vs_kafkit, Some(0.5));
        assert_eq!(rows[2].vs_kafkit, Some(3.0));
        assert_eq!((rows[2].ok, rows[2].runs), (3, 4));
    }

    #[test]
    fn the_markdown_has_a_row_per_client_the_fairness_rules_and_the_failures() {
        let clients = vec![
            client("kafkit", "send", true),
            client("java", "perf", false),
        ];
        let c = case(Kind::Produce, 100, clients.clone());
        let l = case(Kind::Latency, 100, clients.clone());
        let mut records = vec![
            record(&c, &clients[0], 0, 1_234_567.0),
            record(&c, &clients[1], 0, 617_283.5),
            record(&l, &clients[0], 0, 5000.0),
        ];
        let mut failed = record(&l, &clients[1], 0, 1.0);
        failed.ok = false;
        failed.error = Some("exited with code 1 | a|b".into());
        records.push(failed);
        let ctx = Context {
            command: "kafkit-bench compare --quick".into(),
            rounds: 1,
            broker: "mock".into(),
            skipped: vec!["java: needs a real broker".into()],
            ..Context::default()
        };
        let md = markdown(&ctx, &[c, l], &records, &["produce.svg".into()]);
        assert!(
            md.contains("| kafkit send | 1,000 | 1,234,567 | 123.46 | 1.00x | 1.50 | 20.0 | 1/1 |"),
            "{md}"
        );
        assert!(
            md.contains("| java perf (defaults) | 1,000 | 617,284 | 61.73 | 0.50x |"),
            "{md}"
        );
        assert!(
            md.contains("| kafkit send | 1,000 | 50 | 500 | 1,000 | 5,000 |"),
            "{md}"
        );
        assert!(md.contains("MB means 10^6 bytes"));
        assert!(md.contains("linger 5 ms"));
        assert!(md.contains("- java: needs a real broker"));
        assert!(md.contains("exited with code 1 \\| a\\|b"), "{md}");
        assert!(md.contains("![produce.svg](produce.svg)"));
    }

    #[test]
    fn ranges_show_with_more_than_one_round() {
        let s = Spread::of(&[1000.0, 3000.0, 2000.0]);
        assert_eq!(with_range(s, &thousands), "2,000 (1,000-3,000)");
        assert_eq!(with_range(Spread::of(&[5.0]), &two), "5.00");
        assert_eq!(with_range(None, &two), "-");
        assert_eq!(thousands(999.6), "1,000");
        assert_eq!(thousands(12.0), "12");
    }

    #[test]
    fn the_csv_has_a_header_and_one_quoted_line_per_run() {
        let clients = vec![client("kafkit", "send", true)];
        let c = case(Kind::Produce, 100, clients.clone());
        let mut r = record(&c, &clients[0], 2, 1000.0);
        r.ok = false;
        r.error = Some("said \"no\", twice".into());
        let text = csv(&[r]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].split(',').count(), 32);
        assert!(lines[1].starts_with("2,Produce 100,headline,produce,100,-1,true,none,3,kafkit,send,true,kafkit send,1000,0,false,\"said \"\"no\"\", twice\",1000,"), "{}", lines[1]);
    }
}
