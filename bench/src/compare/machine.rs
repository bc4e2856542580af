//! What the report says about the machine and the software versions.

use std::path::Path;
use std::process::Command;

/// CPU model, cores, memory, OS and load, from /proc and /etc.
pub fn describe() -> Vec<(String, String)> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .and_then(|r| r.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get().to_string())
        .unwrap_or_else(|_| "unknown".into());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map(|kib| format!("{:.1} GiB", kib / 1024.0 / 1024.0))
        .unwrap_or_else(|| "unknown".into());
    let os_release = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    let os = os_release
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim_matches('"').to_string())
        .unwrap_or_else(|| std::env::consts::OS.to_string());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into());
    vec![
        ("CPU".into(), model),
        ("cores available to the harness".into(), cores),
        ("memory".into(), memory),
        ("OS".into(), format!("{os}, Linux {kernel}")),
        (
            "load average at the start (1, 5, 15 min)".into(),
            crate::common::load_average(),
        ),
    ]
}

/// The `version = "..."` of the `[package]` of a Cargo.toml text.
fn package_version(manifest: &str) -> Option<String> {
    let package = manifest.split("[package]").nth(1)?;
    let line = package
        .lines()
        .find(|l| l.trim_start().starts_with("version"))?;
    Some(line.split('"').nth(1)?.to_string())
}

/// The version pinned for `dependency` in a Cargo.toml text (`=1.2.3`).
fn pinned(manifest: &str, dependency: &str) -> Option<String> {
    let line = manifest
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{dependency} =")))?;
    let after = line.split("version = \"").nth(1)?;
    Some(after.split('"').next()?.trim_start_matches('=').to_string())
}

/// The Rust side's versions, from the manifests this binary was built from.
pub fn rust_versions() -> Vec<(String, String)> {
    let kafkit_manifest = include_str!("../../../Cargo.toml");
    let bench_manifest = include_str!("../../Cargo.toml");
    let unknown = || "unknown".to_string();
    vec![
        (
            "kafkit".into(),
            package_version(kafkit_manifest).unwrap_or_else(unknown),
        ),
        ("librdkafka".into(), kafkit::librdkafka_version()),
        (
            "rdkafka crate (rust-rdkafka)".into(),
            pinned(bench_manifest, "rdkafka").unwrap_or_else(unknown),
        ),
        (
            "confluent-kafka crate (pure Rust)".into(),
            pinned(bench_manifest, "confluent-kafka").unwrap_or_else(unknown),
        ),
        ("rustc".into(), rustc_version()),
    ]
}

fn rustc_version() -> String {
    Command::new("rustc")
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown (rustc not on PATH)".into())
}

/// The Python clients' package versions as the virtualenv's Python reports
/// them.
pub fn python_versions(python: &Path) -> Vec<(String, String)> {
    let script = "import importlib.metadata as m, sys\n\
                  print('python', sys.version.split()[0])\n\
                  for d in ('confluent-kafka', 'kafka-python', 'pykafka'):\n\
                  \x20   try:\n\
                  \x20       print(d, m.version(d))\n\
                  \x20   except Exception:\n\
                  \x20       print(d, 'not installed')\n";
    match Command::new(python).arg("-c").arg(script).output() {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter_map(|l| l.split_once(' '))
            .map(|(k, v)| (format!("{k} (Python)"), v.trim().to_string()))
            .collect(),
        Ok(o) => vec![(
            "Python packages".into(),
            format!("unknown: {}", String::from_utf8_lossy(&o.stderr).trim()),
        )],
        Err(e) => vec![("Python packages".into(), format!("unknown: {e}"))],
    }
}

/// Java's and Kafka's versions (the Kafka version from scripts/kafka.sh).
pub fn java_versions() -> Vec<(String, String)> {
    let java = Command::new("java")
        .arg("-version")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stderr)
                .lines()
                .next()
                .map(str::to_string)
        })
        .unwrap_or_else(|| "unknown (java not on PATH)".into());
    let kafka = crate::common::kafka_sh(&["help"], false)
        .ok()
        .and_then(|o| {
            let text = String::from_utf8_lossy(&o.stdout).into_owned()
                + &String::from_utf8_lossy(&o.stderr);
            text.split("Apache Kafka ")
                .nth(1)?
                .split_whitespace()
                .next()
                .map(str::to_string)
        })
        .unwrap_or_else(|| "unknown".into());
    vec![
        ("Java".into(), java),
        ("Apache Kafka (tools and client)".into(), kafka),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_from_the_manifests() {
        let m = "[package]\nname = \"x\"\nversion = \"1.2.3\"\n\n[dependencies]\nrdkafka = { version = \"=0.39.0\", default-features = false }\n";
        assert_eq!(package_version(m).as_deref(), Some("1.2.3"));
        assert_eq!(pinned(m, "rdkafka").as_deref(), Some("0.39.0"));
        assert_eq!(pinned(m, "serde"), None);
        let v = rust_versions();
        assert_eq!(v[2].1, "0.39.0");
        assert_eq!(v[3].1, "1.0.0");
    }
}
