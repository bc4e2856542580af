//! `--mock`: librdkafka's mock cluster, shared by every `kafkit --mock`
//! command of a user.
//!
//! A mock cluster lives inside a process, and each `kafkit` command is a
//! process of its own, so `kafkit --mock produce t` followed by `kafkit
//! --mock consume t` needs the cluster to outlive the first command. The
//! first `--mock` command starts `kafkit mock serve` in the background: it
//! holds the cluster and answers on a Unix socket in the mock directory
//! (`$KAFKIT_MOCK_DIR`, else `kafkit-mock` in `$XDG_RUNTIME_DIR`, else
//! `kafkit-mock-<uid>` in the temporary directory; it must belong to the
//! user and be closed to others). One server per directory: it holds an
//! exclusive lock on `lock` there for its whole life, so two commands that
//! start one at the same moment end up on the same cluster.
//!
//! Each running command holds a connection open (`hold`); the server stops
//! on `kafkit mock stop`, or once no command holds it and none has asked
//! anything for its idle time (30 minutes unless `mock start --idle` says
//! otherwise).
//!
//! The socket speaks one line each way: `bootstrap` (answer `ok
//! <bootstrap.servers>`), `hold` (answer `ok`, then the connection stays
//! open until the command ends), `create-topic <name> <partitions>
//! <replication factor>` (the mock answers no CreateTopics request) and
//! `stop`; an answer starts with `ok` or `error`.

use std::fs::{File, TryLockError};
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::fail::{Fail, Outcome};

/// How long the shared cluster waits for a command before it stops.
pub const DEFAULT_IDLE: Duration = Duration::from_secs(30 * 60);
/// How long a command waits for a starting cluster.
const START_TIMEOUT: Duration = Duration::from_secs(15);
/// Brokers in the shared cluster.
const BROKERS: u16 = 3;
/// The most partitions `topics create` may ask of the shared cluster.
pub const MAX_PARTITIONS: i32 = 10_000;

/// The mock directory.
pub fn dir() -> PathBuf {
    let var = |name| std::env::var_os(name).filter(|d| !d.is_empty());
    if let Some(dir) = var("KAFKIT_MOCK_DIR") {
        return PathBuf::from(dir);
    }
    if let Some(runtime) = var("XDG_RUNTIME_DIR") {
        return PathBuf::from(runtime).join("kafkit-mock");
    }
    let user = match std::fs::metadata("/proc/self") {
        Ok(m) => m.uid().to_string(),
        Err(_) => std::env::var("USER").unwrap_or_else(|_| "user".into()),
    };
    std::env::temp_dir().join(format!("kafkit-mock-{user}"))
}

fn socket(dir: &Path) -> PathBuf {
    dir.join("mock.sock")
}

/// Creates the directory (mode 0700) if needed and refuses one that
/// another user owns or can write to: its socket would hand out that
/// user's brokers.
fn private_dir(dir: &Path) -> Outcome {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| Fail::Io(format!("cannot create {}: {e}", dir.display())))?;
    check_private(dir)
}

/// This user's id, when the system says.
fn my_uid() -> Option<u32> {
    std::fs::metadata("/proc/self").map(|m| m.uid()).ok()
}

/// Refuses a mock directory (or its socket) that is not this user's alone;
/// a missing one means no cluster runs.
fn check_private(dir: &Path) -> Outcome {
    let meta = match std::fs::symlink_metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return Err(Fail::Connect(format!(
                "no mock cluster is running in {}; start one with `kafkit mock start`",
                dir.display()
            )))
        }
        Err(e) => return Err(Fail::Io(format!("cannot read {}: {e}", dir.display()))),
    };
    let mine = |uid: u32| my_uid().is_none_or(|me| uid == me);
    if !meta.is_dir() || !mine(meta.uid()) || meta.mode() & 0o022 != 0 {
        return Err(Fail::Io(format!(
            "{} must be a directory of yours that others cannot write to \
             (or set KAFKIT_MOCK_DIR)",
            dir.display()
        )));
    }
    if let Ok(sock) = std::fs::symlink_metadata(socket(dir)) {
        if !mine(sock.uid()) {
            return Err(Fail::Io(format!(
                "{} belongs to another user",
                socket(dir).display()
            )));
        }
    }
    Ok(())
}

/// Whether a failed connection means no server is there (rather than one
/// that is slow or broken).
fn nobody_there(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        ErrorKind::NotFound | ErrorKind::ConnectionRefused
    )
}

fn connect(dir: &Path) -> Outcome<UnixStream> {
    check_private(dir)?;
    UnixStream::connect(socket(dir)).map_err(|e| {
        if nobody_there(&e) {
            Fail::Connect(format!(
                "no mock cluster is running in {}; start one with `kafkit mock start`",
                dir.display()
            ))
        } else {
            Fail::Io(format!(
                "cannot reach the mock cluster in {}: {e}",
                dir.display()
            ))
        }
    })
}

/// Sends one request line on `stream` and returns what follows `ok` in the
/// answer.
fn ask(stream: &mut UnixStream, line: &str) -> Outcome<String> {
    let io = |e: std::io::Error| Fail::Io(format!("the mock cluster did not answer: {e}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(io)?;
    stream
        .write_all(format!("{line}\n").as_bytes())
        .map_err(io)?;
    let mut answer = String::new();
    let mut reader = BufReader::new(&mut *stream);
    reader.read_line(&mut answer).map_err(io)?;
    let answer = answer.trim_end();
    if let Some(rest) = answer.strip_prefix("ok") {
        Ok(rest.trim_start().to_string())
    } else if let Some(rest) = answer.strip_prefix("error ") {
        Err(Fail::kafka(format!("mock cluster: {rest}")))
    } else {
        Err(Fail::Io(format!(
            "the mock cluster gave an unexpected answer: {answer:?}"
        )))
    }
}

/// Sends one request to the cluster in `dir`.
pub fn request(dir: &Path, line: &str) -> Outcome<String> {
    ask(&mut connect(dir)?, line)
}

/// A command's use of the shared cluster: its address, and the connection
/// that keeps the cluster running while the command does.
pub struct Session {
    /// The mock directory.
    pub dir: PathBuf,
    /// The cluster's `bootstrap.servers`.
    pub bootstrap: String,
    _hold: UnixStream,
}

/// Connects to the shared cluster, starting it when none runs.
pub fn session() -> Outcome<Session> {
    let dir = dir();
    let bootstrap = match request(&dir, "bootstrap") {
        Ok(b) => b,
        Err(Fail::Connect(_)) => start(&dir, DEFAULT_IDLE)?,
        // A server that was stopping as it was asked: ask again.
        Err(Fail::Io(_)) => {
            std::thread::sleep(Duration::from_millis(200));
            match request(&dir, "bootstrap") {
                Ok(b) => b,
                Err(Fail::Connect(_)) => start(&dir, DEFAULT_IDLE)?,
                Err(other) => return Err(other),
            }
        }
        Err(other) => return Err(other),
    };
    let mut hold = connect(&dir)?;
    ask(&mut hold, "hold")?;
    Ok(Session {
        dir,
        bootstrap,
        _hold: hold,
    })
}

/// Starts `kafkit mock serve` in the background and waits until it
/// answers; returns its bootstrap servers.
pub fn start(dir: &Path, idle: Duration) -> Outcome<String> {
    private_dir(dir)?;
    let exe = std::env::current_exe()
        .map_err(|e| Fail::Io(format!("cannot find the kafkit executable: {e}")))?;
    let mut child = Command::new(exe)
        .arg("mock")
        .arg("serve")
        .arg("--dir")
        .arg(dir)
        .arg("--idle")
        .arg(idle.as_secs().to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        // Its own process group: Ctrl-C in the terminal that started it
        // stops the command, not the cluster other commands share.
        .process_group(0)
        .spawn()
        .map_err(|e| Fail::Io(format!("cannot start the mock cluster: {e}")))?;
    // The server writes one line once it listens (or why it cannot), then
    // never writes to this pipe again.
    let Some(stdout) = child.stdout.take() else {
        return Err(Fail::Io("the mock cluster's output is missing".into()));
    };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let Ok(line) = rx.recv_timeout(START_TIMEOUT) else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(Fail::Connect(format!(
            "the mock cluster did not start within {START_TIMEOUT:?} (see {})",
            dir.join("mock.log").display()
        )));
    };
    // Reap it if it exited at once; a running server is left to itself.
    let _ = child.try_wait();
    match line.trim_end().strip_prefix("ready ") {
        Some(bootstrap) => Ok(bootstrap.to_string()),
        None => Err(Fail::Connect(format!(
            "the mock cluster did not start: {} (see {})",
            line.trim_end(),
            dir.join("mock.log").display()
        ))),
    }
}

/// Activity the idle check reads.
#[derive(Default)]
struct Use {
    holders: usize,
    last: Option<Instant>,
}

/// `kafkit mock serve`: holds a mock cluster and answers on the socket
/// until told to stop, or idle for `idle`.
pub fn serve(dir: &Path, idle: Duration) -> Outcome {
    let announce = |line: String| {
        let mut ready = std::io::stdout();
        let _ = writeln!(ready, "{line}");
        let _ = ready.flush();
    };
    let failed = |message: String| {
        announce(format!("error {message}"));
        Fail::Io(message)
    };
    private_dir(dir).map_err(|e| failed(e.to_string()))?;
    let lock = File::create(dir.join("lock"))
        .map_err(|e| failed(format!("cannot open {}: {e}", dir.join("lock").display())))?;
    // Become the server, or hand out the address of the one that is (it
    // may still be starting, or stopping and about to free the lock).
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        match lock.try_lock() {
            Ok(()) => break,
            Err(TryLockError::WouldBlock) => {
                if let Ok(bootstrap) = request(dir, "bootstrap") {
                    announce(format!("ready {bootstrap}"));
                    return Ok(());
                }
                if Instant::now() > deadline {
                    return Err(failed(
                        "another server holds the lock but does not answer".into(),
                    ));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(TryLockError::Error(e)) => return Err(failed(format!("cannot lock: {e}"))),
        }
    }
    // The lock is ours: a socket left behind is a dead server's.
    let path = socket(dir);
    let _ = std::fs::remove_file(&path);
    let listener = UnixListener::bind(&path)
        .map_err(|e| failed(format!("cannot listen on {}: {e}", path.display())))?;
    let log = File::create(dir.join("mock.log")).ok();
    let cluster = match kafkit::MockCluster::new(BROKERS) {
        Ok(c) => c,
        Err(e) => {
            let _ = std::fs::remove_file(&path);
            return Err(failed(e.to_string()));
        }
    };
    let activity = Arc::new(Mutex::new(Use {
        holders: 0,
        last: Some(Instant::now()),
    }));
    let watched = activity.clone();
    let idle_path = path.clone();
    std::thread::spawn(move || loop {
        std::thread::sleep(Duration::from_millis(200));
        let Ok(state) = watched.lock() else { continue };
        let since = state.last.map(|t| t.elapsed()).unwrap_or_default();
        if state.holders == 0 && since > idle {
            // Still holding the activity lock: no request is answered
            // between this decision and the exit.
            let _ = std::fs::remove_file(&idle_path);
            std::process::exit(0);
        }
    });
    if let Some(mut log) = log {
        let _ = writeln!(
            log,
            "mock cluster at {} listening on {} (pid {})",
            cluster.bootstrap_servers(),
            path.display(),
            std::process::id()
        );
    }
    announce(format!("ready {}", cluster.bootstrap_servers()));
    let mut stopper = loop {
        let stream = match listener.accept() {
            Ok((stream, _)) => stream,
            // Out of file descriptors, say: wait rather than spin.
            Err(_) => {
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
        };
        if let Ok(mut state) = activity.lock() {
            state.last = Some(Instant::now());
        }
        if let Answered::Stop(stream) = answer(stream, &cluster, &activity) {
            break stream;
        }
    };
    // Gone before the answer: a command that asks after it starts a new
    // server (which waits for this one's lock) instead of reaching this one.
    let _ = std::fs::remove_file(&path);
    drop(listener);
    drop(cluster);
    let _ = stopper.write_all(b"ok\n");
    drop(lock);
    Ok(())
}

/// `kafkit mock stop`: stops the server and returns once it is gone.
pub fn stop(dir: &Path) -> Outcome {
    request(dir, "stop")?;
    // The server frees its lock as it exits.
    let lock = File::create(dir.join("lock"))
        .map_err(|e| Fail::Io(format!("cannot open {}: {e}", dir.join("lock").display())))?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while let Err(TryLockError::WouldBlock) = lock.try_lock() {
        if Instant::now() > deadline {
            return Err(Fail::Io("the mock cluster did not exit within 10 s".into()));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

enum Answered {
    Continue,
    /// Told to stop: the connection to answer once the server is down.
    Stop(UnixStream),
}

fn answer(
    stream: UnixStream,
    cluster: &kafkit::MockCluster,
    activity: &Arc<Mutex<Use>>,
) -> Answered {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut line = String::new();
    let mut reader = BufReader::new(stream.take(4096));
    if reader.read_line(&mut line).is_err() {
        return Answered::Continue;
    }
    let mut stream = reader.into_inner().into_inner();
    let words: Vec<&str> = line.split_whitespace().collect();
    let (reply, then) = match words.as_slice() {
        ["bootstrap"] => (
            format!("ok {}", cluster.bootstrap_servers()),
            Answered::Continue,
        ),
        ["hold"] => {
            hold(stream, activity.clone());
            return Answered::Continue;
        }
        ["stop"] => return Answered::Stop(stream),
        ["create-topic", name, partitions, replicas] => (
            create_topic(cluster, name, partitions, replicas),
            Answered::Continue,
        ),
        _ => (
            format!("error unknown request {:?}", line.trim_end()),
            Answered::Continue,
        ),
    };
    let _ = stream.write_all(format!("{reply}\n").as_bytes());
    then
}

/// Counts a command as a holder until its connection closes (when the
/// command ends, however it ends).
fn hold(mut stream: UnixStream, activity: Arc<Mutex<Use>>) {
    if let Ok(mut state) = activity.lock() {
        state.holders += 1;
    }
    let counted = activity.clone();
    let started = std::thread::Builder::new().spawn(move || {
        let _ = stream.write_all(b"ok\n");
        let _ = stream.set_read_timeout(None);
        let mut sink = [0u8; 64];
        while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
        if let Ok(mut state) = activity.lock() {
            state.holders = state.holders.saturating_sub(1);
            state.last = Some(Instant::now());
        }
    });
    if started.is_err() {
        // No thread to watch it: do not count it (its stream is dropped,
        // so the command sees the cluster go and reports it).
        if let Ok(mut state) = counted.lock() {
            state.holders = state.holders.saturating_sub(1);
        }
    }
}

fn create_topic(
    cluster: &kafkit::MockCluster,
    name: &str,
    partitions: &str,
    replicas: &str,
) -> String {
    let (Ok(p), Ok(r)) = (partitions.parse::<i32>(), replicas.parse::<i32>()) else {
        return "error partitions and replication factor must be numbers".into();
    };
    if let Err(e) = check_topic(name, p, r) {
        return format!("error {e}");
    }
    match cluster.create_topic(name, p, r) {
        Ok(()) => "ok".into(),
        Err(e) => format!("error {e}"),
    }
}

/// What Kafka accepts as a topic name, and a partition count the shared
/// cluster can hold.
pub fn check_topic(name: &str, partitions: i32, replicas: i32) -> Result<(), String> {
    let legal = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if name.is_empty()
        || name.len() > 249
        || name == "."
        || name == ".."
        || !name.chars().all(legal)
    {
        return Err(format!(
            "{name:?} is not a topic name (1 to 249 of a-z, A-Z, 0-9, '.', '_' and '-')"
        ));
    }
    if !(1..=i32::from(BROKERS)).contains(&replicas) {
        return Err(format!(
            "the mock cluster has {BROKERS} brokers: a replication factor of 1 to {BROKERS}, not {replicas}"
        ));
    }
    if !(1..=MAX_PARTITIONS).contains(&partitions) {
        return Err(format!(
            "the mock cluster takes 1 to {MAX_PARTITIONS} partitions, not {partitions}"
        ));
    }
    Ok(())
}
