//! Running the `kafkit` binary (and Kafka's Java tools) from tests,
//! bounded in time, in an environment with no stray Kafka settings.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The binary under test.
pub const KAFKIT: &str = env!("CARGO_BIN_EXE_kafkit");
/// The repository's broker script.
pub const KAFKA_SH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/kafka.sh");

/// What a run left behind.
pub struct Run {
    /// None when it was killed at the deadline.
    pub status: Option<ExitStatus>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub took: Duration,
}

impl Run {
    /// The exit code (None when killed).
    pub fn code(&self) -> Option<i32> {
        self.status.and_then(|s| s.code())
    }

    /// Standard output as text.
    pub fn out(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Standard error as text.
    pub fn err(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    /// Everything, for failure messages.
    pub fn describe(&self) -> String {
        format!(
            "status {:?} after {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.status,
            self.took,
            clip(&self.out()),
            clip(&self.err())
        )
    }

    /// Panics with the run's output unless it exited with 0.
    pub fn assert_ok(&self, what: &str) -> &Self {
        assert_eq!(self.code(), Some(0), "{what}: {}", self.describe());
        self
    }
}

fn clip(text: &str) -> String {
    const KEEP: usize = 3000;
    if text.len() <= 2 * KEEP {
        return text.to_string();
    }
    let start: String = text.chars().take(KEEP).collect();
    let end: String = text
        .chars()
        .rev()
        .take(KEEP)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("{start}\n[...]\n{end}")
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
pub fn run_command(mut command: Command, stdin: Option<&[u8]>, timeout: Duration) -> Run {
    let started = Instant::now();
    let mut child = command
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the command");
    let feeder = stdin.map(|bytes| {
        let bytes = bytes.to_vec();
        let mut pipe = child.stdin.take().expect("stdin pipe");
        std::thread::spawn(move || {
            let _ = pipe.write_all(&bytes);
        })
    });
    let mut out_pipe = child.stdout.take().expect("stdout pipe");
    let mut err_pipe = child.stderr.take().expect("stderr pipe");
    let out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out_pipe.read_to_end(&mut v);
        v
    });
    let err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err_pipe.read_to_end(&mut v);
        v
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break Some(status);
        }
        if started.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    if let Some(f) = feeder {
        let _ = f.join();
    }
    Run {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
        took: started.elapsed(),
    }
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

/// `scripts/kafka.sh ARGS` (Kafka's Java tools).
pub fn kafka_sh(args: &[&str], stdin: Option<&[u8]>, timeout: Duration) -> Run {
    let mut command = Command::new(KAFKA_SH);
    command.args(args);
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
