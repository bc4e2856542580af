//! Helpers shared by the benchmark subcommands.

use std::time::Duration;

/// CPU time used so far by the calling thread, or zero where it cannot be
/// read.
pub(crate) fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is writable memory for one timespec, and
    // CLOCK_THREAD_CPUTIME_ID is a valid clock for the calling thread.
    if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// `arg` quoted for a POSIX shell when it needs quoting, to print the command.
pub(crate) fn shell_quote(arg: &str) -> String {
    if !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.,:=/@+".contains(c))
    {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// Best and median of a list of values (higher is better).
pub(crate) fn best_median(values: &[f64]) -> (f64, f64) {
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let best = v[v.len() - 1];
    let mid = v.len() / 2;
    let median = if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    };
    (best, median)
}

/// The 1, 5 and 15 minute load averages, where the system reports them:
/// other work on the machine skews the figures.
pub(crate) fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".into())
}

pub(crate) fn parse_number<T: std::str::FromStr>(flag: &str, value: &str) -> Result<T, String> {
    value
        .replace('_', "")
        .parse()
        .map_err(|_| format!("{flag}: cannot parse {value:?}"))
}

/// `s` as a C string, or an error naming `what` if it holds a NUL byte.
pub(crate) fn cstring(what: &str, s: &str) -> Result<std::ffi::CString, String> {
    std::ffi::CString::new(s).map_err(|_| format!("{what} {s:?} contains a NUL byte"))
}

/// Creates a raw librdkafka client of `kind` from `settings`, for the `raw`
/// variants. `events` is passed to `rd_kafka_conf_set_events` (0: none).
pub(crate) fn new_raw_client(
    kind: rdkafka_sys::bindings::rd_kafka_type_t,
    settings: &[(String, String)],
    events: i32,
) -> Result<std::ptr::NonNull<rdkafka_sys::bindings::rd_kafka_t>, String> {
    use rdkafka_sys::bindings as rd;
    use std::ffi::CStr;

    // SAFETY: rd_kafka_conf_new has no preconditions and returns an owned conf.
    let conf = unsafe { rd::rd_kafka_conf_new() };
    let mut errstr = [0 as libc::c_char; 512];
    for (key, value) in settings {
        let (k, v) = match (cstring("key", key), cstring("value", value)) {
            (Ok(k), Ok(v)) => (k, v),
            (Err(e), _) | (_, Err(e)) => {
                // SAFETY: conf is owned and not used again.
                unsafe { rd::rd_kafka_conf_destroy(conf) };
                return Err(e);
            }
        };
        // SAFETY: conf is valid, the strings are NUL-terminated and errstr is
        // writable for its length.
        let res = unsafe {
            rd::rd_kafka_conf_set(
                conf,
                k.as_ptr(),
                v.as_ptr(),
                errstr.as_mut_ptr(),
                errstr.len(),
            )
        };
        if res != rd::rd_kafka_conf_res_t::RD_KAFKA_CONF_OK {
            // SAFETY: librdkafka NUL-terminated errstr; conf is owned and not
            // used again.
            let why = unsafe {
                rd::rd_kafka_conf_destroy(conf);
                CStr::from_ptr(errstr.as_ptr())
                    .to_string_lossy()
                    .into_owned()
            };
            return Err(format!("raw: cannot set {key}={value}: {why}"));
        }
    }
    if events != 0 {
        // SAFETY: conf is valid; the caller passes documented event flags.
        unsafe { rd::rd_kafka_conf_set_events(conf, events) };
    }
    // SAFETY: conf is valid and owned; on success rd_kafka_new takes it.
    let rk = unsafe { rd::rd_kafka_new(kind, conf, errstr.as_mut_ptr(), errstr.len()) };
    std::ptr::NonNull::new(rk).ok_or_else(|| {
        // SAFETY: on failure the conf is still ours, and errstr has been
        // NUL-terminated by librdkafka.
        let why = unsafe {
            rd::rd_kafka_conf_destroy(conf);
            CStr::from_ptr(errstr.as_ptr())
                .to_string_lossy()
                .into_owned()
        };
        format!("raw: rd_kafka_new failed: {why}")
    })
}

/// Resets the process's peak resident set size (Linux: writing 5 to
/// `/proc/self/clear_refs`), so that each round reports its own peak, and
/// returns the resident set size it starts from, in MiB.
///
/// Memory that earlier rounds freed is first handed back to the system
/// (`malloc_trim`; glibc keeps freed memory resident otherwise), so that a
/// round's peak is not the previous round's leftovers.
pub(crate) fn reset_peak_rss() -> Option<f64> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: malloc_trim has no preconditions; it only releases free
        // memory of the allocator's arenas.
        unsafe { libc::malloc_trim(0) };
    }
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    status_mib("VmRSS:")
}

/// The process's peak resident set size since the last reset, in MiB
/// (`VmHWM` in `/proc/self/status`).
pub(crate) fn peak_rss_mib() -> Option<f64> {
    status_mib("VmHWM:")
}

/// A `kB` field of `/proc/self/status`, in MiB.
fn status_mib(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// The repository's broker script, which installs, starts and stops a local
/// Apache Kafka and runs its command-line tools.
pub(crate) const KAFKA_SH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/kafka.sh");

/// Runs `scripts/kafka.sh` with `args`, its standard error passed through
/// when `show_progress` (the script reports progress there), else captured.
pub(crate) fn kafka_sh(args: &[&str], show_progress: bool) -> Result<std::process::Output, String> {
    let mut command = std::process::Command::new(KAFKA_SH);
    command.args(args).stdin(std::process::Stdio::null());
    if show_progress {
        command.stderr(std::process::Stdio::inherit());
    }
    command
        .output()
        .map_err(|e| format!("cannot run {KAFKA_SH}: {e}"))
}

/// Creates `topic` with `partitions` partitions on a real broker, with
/// Kafka's own topic tool (scripts/kafka.sh).
pub(crate) fn create_topic_on_broker(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
) -> Result<(), String> {
    let partitions = partitions.to_string();
    let out = kafka_sh(
        &[
            "topics",
            "--bootstrap-server",
            bootstrap,
            "--create",
            "--topic",
            topic,
            "--partitions",
            &partitions,
            "--replication-factor",
            "1",
        ],
        false,
    )?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "cannot create topic {topic}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Deletes `topic` from a real broker (scripts/kafka.sh).
pub(crate) fn delete_topic_on_broker(bootstrap: &str, topic: &str) -> Result<(), String> {
    let out = kafka_sh(
        &[
            "topics",
            "--bootstrap-server",
            bootstrap,
            "--delete",
            "--topic",
            topic,
        ],
        false,
    )?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "cannot delete topic {topic}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}
