//! One client run in a child process: spawn it, bound its time, and read
//! its CPU time and peak memory from `wait4` when it exits.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::protocol::Outcome;

/// What a child run gave.
#[derive(Debug)]
pub struct Finished {
    /// The parsed outcome, or why there is none (exit code, timeout, no
    /// result line; with the first lines of its standard error).
    pub outcome: Result<Outcome, String>,
    /// User + system CPU seconds of the child (and of the descendants it
    /// waited for).
    pub cpu_seconds: Option<f64>,
    /// Peak resident set size in MiB: the highest `VmHWM` seen, polling
    /// while it ran, among the processes of its process group.
    pub peak_rss_mib: Option<f64>,
    /// Wall time from spawn to exit, in seconds.
    pub wall_seconds: f64,
}

/// The first `lines` non-empty lines of `text`, joined by " | ".
pub fn head(text: &str, lines: usize) -> String {
    let picked: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(lines)
        .collect();
    picked.join(" | ")
}

/// Runs `command` to its end or until `timeout` (then its process group is
/// killed), and parses its standard output with `parse`.
pub fn run(
    mut command: Command,
    timeout: Duration,
    parse: &dyn Fn(&str) -> Result<Outcome, String>,
) -> Finished {
    let started = Instant::now();
    let failed = |why: String| Finished {
        outcome: Err(why),
        cpu_seconds: None,
        peak_rss_mib: None,
        wall_seconds: started.elapsed().as_secs_f64(),
    };
    // A process group of its own, so that a timeout also ends what the
    // client started (the JVM under scripts/kafka.sh).
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = match command.spawn() {
        Ok(c) => c,
        Err(e) => return failed(format!("cannot start {:?}: {e}", command.get_program())),
    };
    let pid = child.id() as libc::pid_t;
    let reader = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let stdout = reader(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = reader(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );

    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain old data; all-zero is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let mut timed_out = false;
    let mut peak_kib: Option<u64> = None;
    let mut polls: u64 = 0;
    let waited = loop {
        // The child's own high-water mark, and every 20th poll those of the
        // whole group (a client's real work may run in a grandchild, as the
        // JVM under scripts/kafka.sh does).
        let sample = if polls.is_multiple_of(20) {
            group_peak_kib(pid)
        } else {
            vm_hwm_kib(pid)
        };
        polls += 1;
        if let Some(kib) = sample {
            peak_kib = Some(peak_kib.map_or(kib, |p| p.max(kib)));
        }
        // SAFETY: `pid` is our child, not yet reaped (std's Child is never
        // waited on); status and usage are valid for writes.
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if r == pid {
            break Ok(());
        }
        if r < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            break Err(format!("wait4 on the client failed: {e}"));
        }
        if !timed_out && started.elapsed() > timeout {
            timed_out = true;
            // SAFETY: signalling our child's process group; a group that
            // is already gone makes kill fail harmlessly.
            unsafe { libc::kill(-pid, libc::SIGKILL) };
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let wall_seconds = started.elapsed().as_secs_f64();
    // The pipes close when the process group is gone.
    let out = stdout.join().unwrap_or_default();
    let err = stderr.join().unwrap_or_default();
    if let Err(e) = waited {
        return failed(e);
    }
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    let cpu_seconds = Some(tv(usage.ru_utime) + tv(usage.ru_stime));
    // `ru_maxrss` is not used: Linux counts into it the resident size of
    // the process image that exec replaced, i.e. this driver's at spawn.
    let _ = usage.ru_maxrss;
    let peak_rss_mib = peak_kib.map(|kib| kib as f64 / 1024.0);
    let stderr_head = head(&err, 5);
    let with_stderr = |why: String| {
        if stderr_head.is_empty() {
            why
        } else {
            format!("{why}; stderr: {stderr_head}")
        }
    };
    let outcome = if timed_out {
        Err(with_stderr(format!(
            "timed out after {} s and was killed",
            timeout.as_secs()
        )))
    } else if libc::WIFSIGNALED(status) {
        Err(with_stderr(format!(
            "killed by signal {}",
            libc::WTERMSIG(status)
        )))
    } else if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) != 0 {
        Err(with_stderr(format!(
            "exited with code {}",
            libc::WEXITSTATUS(status)
        )))
    } else {
        parse(&out).map_err(with_stderr)
    };
    Finished {
        outcome,
        cpu_seconds,
        peak_rss_mib,
        wall_seconds,
    }
}

/// `VmHWM` (peak resident set size since exec) of process `pid`, in KiB;
/// `None` once it has exited.
fn vm_hwm_kib(pid: libc::pid_t) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The highest `VmHWM` among the processes of process group `pgid`.
fn group_peak_kib(pgid: libc::pid_t) -> Option<u64> {
    let mut peak = vm_hwm_kib(pgid);
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return peak;
    };
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<libc::pid_t>().ok())
        else {
            continue;
        };
        if pid == pgid {
            continue;
        }
        // Field 5 of /proc/PID/stat, after the parenthesized command name.
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let group = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(2))
            .and_then(|g| g.parse::<libc::pid_t>().ok());
        if group == Some(pgid) {
            if let Some(kib) = vm_hwm_kib(pid) {
                peak = Some(peak.map_or(kib, |p| p.max(kib)));
            }
        }
    }
    peak
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Command {
        let mut c = Command::new("sh");
        c.arg("-c").arg(script);
        c
    }

    #[test]
    fn a_result_line_is_parsed_and_usage_read() {
        let f = run(
            sh("echo noise; echo 'KAFKIT-BENCH-RESULT {\"messages\":5,\"bytes\":50,\"seconds\":0.5}'"),
            Duration::from_secs(20),
            &Outcome::from_output,
        );
        let o = f.outcome.unwrap();
        assert_eq!(o.messages, 5);
        assert!(f.cpu_seconds.is_some());
        // sh may exit before the first sample: the peak is optional.
        assert!(f.peak_rss_mib.is_none_or(|m| m > 0.0));
    }

    #[test]
    fn the_peak_memory_of_a_grandchild_is_seen() {
        // A grandchild that holds about 40 MiB for a moment.
        let f = run(
            sh("python3 -c 'import time; b = bytearray(40 << 20); b[::4096] = b\"x\" * len(b[::4096]); time.sleep(0.5)' ; echo 'KAFKIT-BENCH-RESULT {\"messages\":1,\"bytes\":1,\"seconds\":1}'"),
            Duration::from_secs(20),
            &Outcome::from_output,
        );
        assert!(f.outcome.is_ok(), "{:?}", f.outcome);
        let mib = f.peak_rss_mib.unwrap();
        assert!(mib > 35.0, "{mib}");
    }

    #[test]
    fn a_failing_child_reports_its_code_and_stderr() {
        let f = run(
            sh("echo boom >&2; exit 3"),
            Duration::from_secs(20),
            &Outcome::from_output,
        );
        let e = f.outcome.unwrap_err();
        assert!(e.contains("code 3") && e.contains("boom"), "{e}");
    }

    #[test]
    fn a_child_past_its_timeout_is_killed() {
        let f = run(
            sh("sleep 30"),
            Duration::from_millis(200),
            &Outcome::from_output,
        );
        let e = f.outcome.unwrap_err();
        assert!(e.contains("timed out"), "{e}");
        assert!(f.wall_seconds < 10.0);
    }
}
