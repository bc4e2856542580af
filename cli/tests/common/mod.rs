//! Running the `kafkit` binary (and Kafka's Java tools) from tests,
//! bounded in time, in an environment with no stray Kafka settings.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

#[path = "../../../tests/common/tool.rs"]
mod tool;

#[allow(unused_imports)]
pub use tool::kafka_sh;
pub use tool::ToolRun as Run;

/// The binary under test.
pub const KAFKIT: &str = env!("CARGO_BIN_EXE_kafkit");

impl Run {
    /// The exit code (None when killed).
    pub fn code(&self) -> Option<i32> {
        self.status.and_then(|s| s.code())
    }

    /// Standard output as text.
    pub fn out(&self) -> String {
        self.stdout_text()
    }

    /// Standard error as text.
    pub fn err(&self) -> String {
        self.stderr_text()
    }

    /// Panics with the run's output unless it exited with 0.
    pub fn assert_ok(&self, what: &str) -> &Self {
        assert_eq!(self.code(), Some(0), "{what}: {}", self.describe());
        self
    }
}

/// A command with Kafka-related variables removed from its environment,
/// so that only what a test passes counts.
pub fn clean(program: &str) -> Command {
    let mut command = Command::new(program);
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        if key.starts_with("KAFKA_") || key.starts_with("KAFKIT_") {
            command.env_remove(&key);
        }
    }
    command
}

/// Runs `command` with `stdin`, killing it after `timeout`.
pub fn run_command(command: Command, stdin: Option<&[u8]>, timeout: Duration) -> Run {
    tool::run(command, stdin.map(<[u8]>::to_vec), timeout)
}

/// Runs `kafkit ARGS` with `stdin` and at most 60 seconds.
pub fn kafkit(args: &[&str], stdin: Option<&[u8]>) -> Run {
    kafkit_in(None, args, stdin, Duration::from_secs(60))
}

/// Runs `kafkit ARGS` with its shared mock cluster in `mock_dir`.
pub fn kafkit_in(
    mock_dir: Option<&Path>,
    args: &[&str],
    stdin: Option<&[u8]>,
    timeout: Duration,
) -> Run {
    let mut command = clean(KAFKIT);
    command.args(args);
    if let Some(dir) = mock_dir {
        command.env("KAFKIT_MOCK_DIR", dir);
    }
    run_command(command, stdin, timeout)
}

/// A name no other test or run uses.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}-{}-{}-{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A fresh directory for a shared mock cluster, removed (with the cluster
/// stopped) on drop.
pub struct MockDir(pub PathBuf);

impl MockDir {
    pub fn new() -> MockDir {
        let dir = std::env::temp_dir().join(unique("kafkit-cli-mock"));
        std::fs::create_dir_all(&dir).expect("mock dir");
        // kafkit refuses a mock directory others can write to (a umask of
        // 002 would make this one so).
        std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .expect("mode 0700");
        MockDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for MockDir {
    fn drop(&mut self) {
        let _ = kafkit_in(
            Some(&self.0),
            &["mock", "stop"],
            None,
            Duration::from_secs(10),
        );
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The real broker named by KAFKA_BOOTSTRAP_SERVERS, or None (after
/// saying loudly that the test was not run).
pub fn broker(test: &str) -> Option<String> {
    match std::env::var("KAFKA_BOOTSTRAP_SERVERS") {
        Ok(s) if !s.is_empty() => Some(s),
        _ => {
            eprintln!(
                "NOT RUN: {test} needs a real broker; set KAFKA_BOOTSTRAP_SERVERS \
                 (scripts/test.sh starts one)"
            );
            None
        }
    }
}
