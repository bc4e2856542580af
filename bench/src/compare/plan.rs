//! What `compare` runs: the workload cases, the clients of each, and how
//! many records each run moves.

use serde::Serialize;

use super::protocol::{Compression, Kind, Workload};

/// Every client family, in the order the report lists them.
pub const ALL_FAMILIES: [&str; 8] = [
    "raw",
    "kafkit",
    "rdkafka",
    "confluent-rust",
    "java",
    "confluent-python",
    "kafka-python",
    "pykafka",
];

/// Families that need a real broker (the Java tools and the Python clients
/// are not pointed at the in-process mock cluster).
pub const REAL_BROKER_ONLY: [&str; 4] = ["java", "confluent-python", "kafka-python", "pykafka"];

/// Families whose own defaults differ from the tuned settings enough to be
/// worth a "defaults" row (librdkafka-based Rust clients share
/// librdkafka's defaults, which the tuned settings are close to).
pub const DEFAULTS_ROWS: [&str; 5] = [
    "confluent-rust",
    "java",
    "confluent-python",
    "kafka-python",
    "pykafka",
];

/// `linger.ms` of every tuned run.
pub const LINGER_MS: u64 = 5;
/// `batch.size` of every tuned run (librdkafka's default, 1 MB).
pub const BATCH_SIZE: u64 = 1_000_000;
/// At most this many records in flight (clients that bound it themselves)...
pub const WINDOW: u64 = 50_000;
/// ...and at most about this many payload bytes in flight.
pub const WINDOW_BYTES: u64 = 64_000_000;

/// How fast a family is expected to go, for the message counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Speed {
    /// librdkafka-based, the pure-Rust client and Java.
    Fast,
    /// librdkafka under Python's per-record overhead.
    Medium,
    /// The pure-Python clients, 10-100x slower than librdkafka.
    Slow,
}

fn speed(family: &str) -> Speed {
    match family {
        "confluent-python" => Speed::Medium,
        "kafka-python" | "pykafka" => Speed::Slow,
        _ => Speed::Fast,
    }
}

/// A group of cases the report shows in one table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Group {
    /// 100 B, acks=all with idempotence, no compression, 3 partitions: the
    /// tutorials' figure, for every variant of every client.
    Headline,
    /// Message sizes (acks=all).
    Sizes,
    /// acks=1 without idempotence.
    Acks,
    /// lz4 and zstd.
    Compression,
    /// 48 partitions.
    Partitions,
    /// End-to-end latency at fixed rates.
    Latency,
}

impl Group {
    pub fn title(self) -> &'static str {
        match self {
            Group::Headline => {
                "Headline: 100-byte records, acks=all + idempotence, no compression, 3 partitions"
            }
            Group::Sizes => "Message sizes (acks=all + idempotence, no compression, 3 partitions)",
            Group::Acks => "acks=1 (no idempotence) against acks=all + idempotence, 100 B",
            Group::Compression => "Compression (acks=all + idempotence, 3 partitions)",
            Group::Partitions => "48 partitions (100 B, acks=all + idempotence)",
            Group::Latency => "End-to-end latency at fixed rates (100 B, acks=all + idempotence)",
        }
    }
}

/// One client: a variant of a family, tuned or with its defaults.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Client {
    pub family: String,
    pub variant: String,
    pub tuned: bool,
}

impl Client {
    pub fn label(&self) -> String {
        if self.tuned {
            format!("{} {}", self.family, self.variant)
        } else {
            format!("{} {} (defaults)", self.family, self.variant)
        }
    }
}

/// One workload and the clients that run it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Case {
    /// Unique within the plan, e.g. `produce 100B acks=all none p3`.
    pub id: String,
    pub group: Group,
    pub kind: Kind,
    pub size: usize,
    pub acks: i32,
    pub idempotence: bool,
    pub compression: Compression,
    pub partitions: i32,
    /// Latency runs: the fraction of the slowest family's headline produce
    /// rate; 0 otherwise.
    pub rate_fraction: f64,
    pub clients: Vec<Client>,
}

/// What the plan is made from.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    pub quick: bool,
    /// Families selected and applicable to the broker, in report order.
    pub families: Vec<String>,
    /// Message sizes of the sweep.
    pub sizes: Vec<usize>,
    /// Whether the broker is the in-process mock cluster (which keeps only
    /// about 5 MiB per partition: consume runs must fit).
    pub mock: bool,
}

/// The default `--sizes`.
pub fn default_sizes(quick: bool) -> Vec<usize> {
    if quick {
        vec![100, 10_240]
    } else {
        vec![10, 100, 1024, 10_240, 65_536]
    }
}

/// Parses `--sizes`: a comma list of byte counts with optional `k` (1024).
pub fn parse_sizes(list: &str) -> Result<Vec<usize>, String> {
    let mut sizes = Vec::new();
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let lower = item.to_ascii_lowercase();
        let (digits, scale) = match lower.strip_suffix('k') {
            Some(d) => (d, 1024),
            None => (lower.as_str(), 1),
        };
        let n: usize = digits
            .parse()
            .map_err(|_| format!("--sizes: {item:?} is not a size (e.g. 10,100,1k,64k)"))?;
        if n == 0 || n * scale < 8 {
            return Err(format!(
                "--sizes: {item:?} is too small (at least 8 bytes, the latency runs' timestamp)"
            ));
        }
        if n * scale > 1_000_000 {
            return Err(format!("--sizes: {item:?} is over 1 MB"));
        }
        if !sizes.contains(&(n * scale)) {
            sizes.push(n * scale);
        }
    }
    if sizes.is_empty() {
        return Err("--sizes: no size given".into());
    }
    Ok(sizes)
}

/// `size` for a table: `100 B`, `1 KiB`, `64 KiB`.
pub fn size_label(size: usize) -> String {
    if size >= 1024 && size.is_multiple_of(1024) {
        format!("{} KiB", size / 1024)
    } else {
        format!("{size} B")
    }
}

/// The plan: every case with its clients. `variants(family, kind)` gives a
/// family's variants (the first one is its main variant).
pub fn build(o: &PlanOptions, variants: &dyn Fn(&str, Kind) -> Vec<String>) -> Vec<Case> {
    let mut cases = Vec::new();
    let all = |kind: Kind| -> Vec<Client> {
        let mut clients = Vec::new();
        for family in &o.families {
            for v in variants(family, kind) {
                clients.push(Client {
                    family: family.clone(),
                    variant: v.clone(),
                    tuned: true,
                });
            }
        }
        for family in o
            .families
            .iter()
            .filter(|f| DEFAULTS_ROWS.contains(&f.as_str()))
        {
            for v in variants(family, kind) {
                clients.push(Client {
                    family: family.clone(),
                    variant: v,
                    tuned: false,
                });
            }
        }
        clients
    };
    let main = |kind: Kind| -> Vec<Client> {
        o.families
            .iter()
            .filter_map(|family| {
                variants(family, kind).into_iter().next().map(|v| Client {
                    family: family.clone(),
                    variant: v,
                    tuned: true,
                })
            })
            .collect()
    };
    let mut add = |group: Group,
                   kind: Kind,
                   size: usize,
                   acks: i32,
                   compression: Compression,
                   partitions: i32,
                   rate_fraction: f64,
                   clients: Vec<Client>| {
        if clients.is_empty() {
            return;
        }
        let kind_name = match kind {
            Kind::Produce => "produce",
            Kind::Consume => "consume",
            Kind::Latency => "latency",
        };
        let acks_name = if acks == 1 { "acks=1" } else { "acks=all" };
        let mut id = format!(
            "{kind_name} {} {acks_name} {} p{partitions}",
            size_label(size).replace(' ', ""),
            compression.name()
        );
        if kind == Kind::Latency {
            id.push_str(&format!(" at {:.0}%", rate_fraction * 100.0));
        }
        cases.push(Case {
            id,
            group,
            kind,
            size,
            acks,
            idempotence: acks != 1,
            compression,
            partitions,
            rate_fraction,
            clients,
        });
    };
    let none = Compression::None;
    for kind in [Kind::Produce, Kind::Consume] {
        add(Group::Headline, kind, 100, -1, none, 3, 0.0, all(kind));
    }
    for &size in o.sizes.iter().filter(|&&s| s != 100) {
        for kind in [Kind::Produce, Kind::Consume] {
            add(Group::Sizes, kind, size, -1, none, 3, 0.0, main(kind));
        }
    }
    if o.quick {
        add(
            Group::Compression,
            Kind::Produce,
            100,
            -1,
            Compression::Lz4,
            3,
            0.0,
            main(Kind::Produce),
        );
        add(
            Group::Latency,
            Kind::Latency,
            100,
            -1,
            none,
            3,
            0.5,
            main(Kind::Latency),
        );
        return cases;
    }
    add(
        Group::Acks,
        Kind::Produce,
        100,
        1,
        none,
        3,
        0.0,
        main(Kind::Produce),
    );
    for compression in [Compression::Lz4, Compression::Zstd] {
        for size in [100, 1024] {
            for kind in [Kind::Produce, Kind::Consume] {
                add(
                    Group::Compression,
                    kind,
                    size,
                    -1,
                    compression,
                    3,
                    0.0,
                    main(kind),
                );
            }
        }
    }
    for kind in [Kind::Produce, Kind::Consume] {
        add(Group::Partitions, kind, 100, -1, none, 48, 0.0, main(kind));
    }
    for fraction in [0.1, 0.5, 0.9] {
        add(
            Group::Latency,
            Kind::Latency,
            100,
            -1,
            none,
            3,
            fraction,
            main(Kind::Latency),
        );
    }
    cases
}

/// Records one throughput run of `family` moves: about the same byte volume
/// for every size, capped by the family's speed so that a run lasts
/// seconds, not minutes.
pub fn messages(o: &PlanOptions, family: &str, size: usize) -> u64 {
    let mut volume: f64 = if o.quick { 20e6 } else { 100e6 };
    if o.mock {
        // librdkafka's mock partitions keep about 5 MiB each; a consume run
        // reads what the fill left.
        volume = volume.min(if o.quick { 3e6 } else { 10e6 });
    }
    let cap: u64 = match (speed(family), o.quick) {
        (Speed::Fast, false) => 1_000_000,
        (Speed::Fast, true) => 200_000,
        (Speed::Medium, false) => 300_000,
        (Speed::Medium, true) => 50_000,
        (Speed::Slow, false) => 60_000,
        (Speed::Slow, true) => 15_000,
    };
    let floor: u64 = if o.quick { 200 } else { 1000 };
    ((volume / size as f64) as u64).clamp(floor, cap)
}

/// Records of a latency run at `rate` records/s: a few seconds' worth.
pub fn latency_messages(o: &PlanOptions, rate: u64) -> u64 {
    let (seconds, cap) = if o.quick { (2, 50_000) } else { (8, 500_000) };
    (rate * seconds).clamp(100, cap)
}

/// The workload of one run (topic and group are filled in by the driver).
pub fn workload(
    case: &Case,
    client: &Client,
    bootstrap: &str,
    messages: u64,
    rate: u64,
) -> Workload {
    Workload {
        kind: case.kind,
        bootstrap: bootstrap.to_string(),
        topic: String::new(),
        partitions: case.partitions,
        messages,
        size: case.size,
        acks: case.acks,
        idempotence: case.idempotence,
        compression: case.compression,
        group: String::new(),
        rate,
        tuned: client.tuned,
        linger_ms: LINGER_MS,
        batch_size: BATCH_SIZE,
        window: (WINDOW_BYTES / case.size.max(1) as u64).clamp(1000, WINDOW),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn variants(family: &str, kind: Kind) -> Vec<String> {
        match (family, kind) {
            ("kafkit", Kind::Produce) => vec!["send".into(), "callback".into()],
            ("kafkit", _) => vec!["stream".into()],
            ("raw", Kind::Latency) => vec![],
            ("raw", _) => vec!["raw".into()],
            ("java", _) => vec!["perf".into()],
            _ => vec![],
        }
    }

    fn options(quick: bool) -> PlanOptions {
        PlanOptions {
            quick,
            families: vec!["raw".into(), "kafkit".into(), "java".into()],
            sizes: default_sizes(quick),
            mock: false,
        }
    }

    #[test]
    fn the_headline_has_every_variant_and_defaults_rows() {
        let plan = build(&options(false), &variants);
        let headline = &plan[0];
        assert_eq!(headline.id, "produce 100B acks=all none p3");
        let labels: Vec<String> = headline.clients.iter().map(Client::label).collect();
        assert_eq!(
            labels,
            [
                "raw raw",
                "kafkit send",
                "kafkit callback",
                "java perf",
                "java perf (defaults)"
            ]
        );
        assert!(headline.idempotence);
    }

    #[test]
    fn other_cases_use_main_variants_and_skip_empty_ones() {
        let plan = build(&options(false), &variants);
        let sizes: Vec<&Case> = plan.iter().filter(|c| c.group == Group::Sizes).collect();
        // 4 sizes besides 100 B, produce and consume.
        assert_eq!(sizes.len(), 8);
        for case in &sizes {
            assert_eq!(case.clients.len(), 3, "{}", case.id);
            assert!(case.clients.iter().all(|c| c.tuned));
        }
        let acks = plan.iter().find(|c| c.group == Group::Acks).unwrap();
        assert_eq!((acks.acks, acks.idempotence), (1, false));
        let latency: Vec<&Case> = plan.iter().filter(|c| c.group == Group::Latency).collect();
        assert_eq!(latency.len(), 3);
        // raw has no latency variant here.
        assert_eq!(latency[0].clients.len(), 2);
        let ids: std::collections::HashSet<&str> = plan.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids.len(), plan.len(), "case ids are unique");
    }

    #[test]
    fn quick_is_smaller() {
        let full = build(&options(false), &variants);
        let quick = build(&options(true), &variants);
        assert!(
            quick.len() < full.len() / 2,
            "{} vs {}",
            quick.len(),
            full.len()
        );
        assert_eq!(
            quick.iter().filter(|c| c.group == Group::Latency).count(),
            1
        );
    }

    #[test]
    fn message_counts_keep_volume_and_respect_caps() {
        let o = options(false);
        assert_eq!(messages(&o, "kafkit", 100), 1_000_000);
        assert_eq!(messages(&o, "kafkit", 10_000), 10_000);
        assert_eq!(messages(&o, "kafkit", 10), 1_000_000);
        assert_eq!(messages(&o, "pykafka", 100), 60_000);
        assert_eq!(messages(&o, "kafkit", 1_000_000), 1000);
        let mock = PlanOptions {
            mock: true,
            ..o.clone()
        };
        assert_eq!(messages(&mock, "kafkit", 100), 100_000);
        let quick = options(true);
        assert_eq!(messages(&quick, "kafka-python", 100), 15_000);
        assert_eq!(latency_messages(&quick, 1000), 2000);
        assert_eq!(latency_messages(&quick, 10_000_000), 50_000);
    }

    #[test]
    fn sizes_parse_with_k_and_reject_nonsense() {
        assert_eq!(
            parse_sizes("10,100,1k,10k,64K").unwrap(),
            [10, 100, 1024, 10_240, 65_536]
        );
        assert_eq!(parse_sizes("100,100").unwrap(), [100]);
        assert!(parse_sizes("").is_err());
        assert!(parse_sizes("abc").is_err());
        assert!(parse_sizes("4").is_err());
        assert!(parse_sizes("2000k").is_err());
        assert_eq!(size_label(65_536), "64 KiB");
        assert_eq!(size_label(100), "100 B");
    }

    #[test]
    fn tuned_settings_are_the_same_for_every_client_and_the_window_bounds_bytes() {
        let plan = build(&options(false), &variants);
        let case = &plan[0];
        let a = workload(case, &case.clients[0], "b:1", 10, 0);
        let b = workload(case, &case.clients[3], "b:1", 10, 0);
        assert_eq!(
            (a.linger_ms, a.batch_size, a.window),
            (b.linger_ms, b.batch_size, b.window)
        );
        assert_eq!(
            (a.acks, a.idempotence, a.compression),
            (-1, true, Compression::None)
        );
        let defaults = workload(case, &case.clients[4], "b:1", 10, 0);
        assert!(!defaults.tuned);
        let big = Case {
            size: 65_536,
            ..case.clone()
        };
        assert_eq!(workload(&big, &case.clients[0], "b:1", 10, 0).window, 1000);
    }
}
