//! `--broker start`: a single-node Apache Kafka started for one run with
//! the repository's `scripts/kafka.sh start single`, and stopped again
//! (`scripts/kafka.sh stop single`) when the run ends, however it ends,
//! short of a signal that kills the process.

use crate::common::{kafka_sh, KAFKA_SH};

/// A broker this process started; dropping it stops it.
pub(crate) struct StartedBroker {
    bootstrap: String,
}

impl StartedBroker {
    /// Starts the single node and reads its plaintext address from the
    /// `export KAFKA_BOOTSTRAP_SERVERS=...` line the script prints.
    ///
    /// Refused when the script's single node already runs: `start single`
    /// then succeeds without starting anything, and stopping afterwards
    /// would stop a broker this process did not start.
    pub(crate) fn start() -> Result<Self, String> {
        if single_node_running()? {
            return Err(format!(
                "--broker start: a single node started by {KAFKA_SH} is already running; \
                 use it with --bootstrap (scripts/kafka.sh env single prints its address)"
            ));
        }
        eprintln!("starting a single-node broker: {KAFKA_SH} start single");
        let out = kafka_sh(&["start", "single"], true)?;
        if !out.status.success() {
            // The script stops what it started when the node does not come
            // up; nothing is left to stop here.
            return Err(format!("{KAFKA_SH} start single failed ({})", out.status));
        }
        // From here on the node runs, and dropping `broker` stops it.
        let mut broker = StartedBroker {
            bootstrap: String::new(),
        };
        let stdout = String::from_utf8_lossy(&out.stdout);
        broker.bootstrap = stdout
            .lines()
            .find_map(|line| {
                line.trim()
                    .strip_prefix("export KAFKA_BOOTSTRAP_SERVERS=")
                    .map(|v| v.trim_matches(|c| c == '\'' || c == '"').to_string())
            })
            .filter(|v| !v.is_empty())
            .ok_or_else(|| {
                format!(
                    "{KAFKA_SH} start single printed no KAFKA_BOOTSTRAP_SERVERS line: {:?}",
                    stdout.trim()
                )
            })?;
        Ok(broker)
    }

    /// The broker's plaintext `host:port`.
    pub(crate) fn bootstrap(&self) -> &str {
        &self.bootstrap
    }
}

impl Drop for StartedBroker {
    fn drop(&mut self) {
        eprintln!("stopping the broker started for the run: {KAFKA_SH} stop single");
        match kafka_sh(&["stop", "single"], true) {
            Ok(out) if out.status.success() => {}
            Ok(out) => eprintln!(
                "warning: {KAFKA_SH} stop single failed ({}); stop it by hand",
                out.status
            ),
            Err(e) => eprintln!("warning: {e}; stop the broker by hand"),
        }
    }
}

/// Whether `scripts/kafka.sh status` reports its single node running.
fn single_node_running() -> Result<bool, String> {
    let out = kafka_sh(&["status"], false)?;
    if !out.status.success() {
        return Err(format!(
            "{KAFKA_SH} status failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).lines().any(|line| {
        let mut words = line.split_whitespace();
        words.next() == Some("single") && words.next() == Some("running")
    }))
}
