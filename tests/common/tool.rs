//! Running `scripts/kafka.sh` (Kafka's Java tools), or any command, from
//! tests, bounded in time. (Also included by the `cli` crate's tests.)

#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The repository's broker script: `scripts/kafka.sh` in the package's
/// folder or the nearest one above it (the workspace root for `cli`).
pub fn kafka_sh_path() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .map(|dir| dir.join("scripts/kafka.sh"))
        .find(|p| p.exists())
        .unwrap_or_else(|| manifest.join("scripts/kafka.sh"))
}

/// What a tool run left behind.
pub struct ToolRun {
    /// None when the tool was killed at the deadline.
    pub status: Option<ExitStatus>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub took: Duration,
}

impl ToolRun {
    /// Whether the tool exited successfully.
    pub fn ok(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }

    /// Standard output as text.
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Standard error as text.
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    /// Status, time and (clipped) output, for failure messages.
    pub fn describe(&self) -> String {
        format!(
            "status {:?} after {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.status,
            self.took,
            clip(&self.stdout),
            clip(&self.stderr)
        )
    }
}

/// Tool output for a failure message: all of it when short, else its start
/// and end.
fn clip(bytes: &[u8]) -> String {
    const KEEP: usize = 2000;
    if bytes.len() <= 2 * KEEP {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    format!(
        "{}\n[... {} bytes ...]\n{}",
        String::from_utf8_lossy(&bytes[..KEEP]),
        bytes.len() - 2 * KEEP,
        String::from_utf8_lossy(&bytes[bytes.len() - KEEP..])
    )
}

pub fn kafka_sh(args: &[&str], stdin: Option<Vec<u8>>, timeout: Duration) -> ToolRun {
    let mut java_opts = std::env::var("KAFKIT_TOOL_JAVA_OPTS").unwrap_or_default();
    java_opts
        .push_str(" -Dfile.encoding=UTF-8 -Dstdout.encoding=UTF-8 -Dsun.stdout.encoding=UTF-8");
    let mut command = Command::new(kafka_sh_path());
    command
        .args(args)
        .env("KAFKIT_TOOL_JAVA_OPTS", java_opts.trim());
    run(command, stdin, timeout)
}

/// Runs `command` with `stdin` (none: /dev/null), killing it at `timeout`.
pub fn run(mut command: Command, stdin: Option<Vec<u8>>, timeout: Duration) -> ToolRun {
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
        .unwrap_or_else(|e| panic!("cannot run {:?}: {e}", command.get_program()));
    let writer = stdin.map(|data| {
        let mut pipe = child.stdin.take().expect("stdin pipe");
        // Dropping the pipe at the end closes the tool's standard input.
        std::thread::spawn(move || {
            let _ = pipe.write_all(&data);
        })
    });
    let mut out_pipe = child.stdout.take().expect("stdout pipe");
    let mut err_pipe = child.stderr.take().expect("stderr pipe");
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out_pipe.read_to_end(&mut buf);
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err_pipe.read_to_end(&mut buf);
        buf
    });
    let deadline = started + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            _ => {
                // The script execs java, so this kills the tool itself.
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    if let Some(writer) = writer {
        let _ = writer.join();
    }
    ToolRun {
        status,
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
        took: started.elapsed(),
    }
}
