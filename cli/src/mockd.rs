//! `--mock`: librdkafka's mock cluster, shared by every `kafkit --mock`
//! command of a user.
//!
//! A mock cluster lives inside a process, and each `kafkit` command is a
//! process of its own, so `kafkit --mock produce t` followed by `kafkit
//! --mock consume t` needs the cluster to outlive the first command. The
//! first `--mock` command starts `kafkit mock serve` in the background: it
//! holds the cluster and answers on a Unix socket in the mock directory
//! (`$KAFKIT_MOCK_DIR`, or `kafkit-mock-<uid>` in the temporary directory).
//! It stops on `kafkit mock stop`, or when no command has used it for its
//! idle time (30 minutes unless `mock start --idle` says otherwise).
//!
//! The socket speaks one line each way: `bootstrap` (answer `ok
//! <bootstrap.servers>`), `ping`, `create-topic <name> <partitions>
//! <replication factor>` (the mock answers no CreateTopics request) and
//! `stop`; an answer starts with `ok` or `error`.

use std::io::{BufRead, BufReader, Read, Write};
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
/// How often a long-running command tells the cluster it is still used.
const KEEPALIVE: Duration = Duration::from_secs(60);
/// How long a command waits for a starting cluster.
const START_TIMEOUT: Duration = Duration::from_secs(15);
/// Brokers in the shared cluster.
const BROKERS: u16 = 3;

/// The mock directory: `$KAFKIT_MOCK_DIR`, else one per user in the
/// temporary directory.
pub fn dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("KAFKIT_MOCK_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let uid = std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(0);
    std::env::temp_dir().join(format!("kafkit-mock-{uid}"))
}

fn socket(dir: &Path) -> PathBuf {
    dir.join("mock.sock")
}

/// Sends one request line to the cluster in `dir` and returns what follows
/// `ok` in the answer.
pub fn request(dir: &Path, line: &str) -> Outcome<String> {
    let mut stream = UnixStream::connect(socket(dir)).map_err(|e| {
        Fail::Connect(format!(
            "no mock cluster is running in {} ({e}); start one with `kafkit mock start`",
            dir.display()
        ))
    })?;
    let io = |e: std::io::Error| Fail::Connect(format!("the mock cluster did not answer: {e}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(io)?;
    stream
        .write_all(format!("{line}\n").as_bytes())
        .map_err(io)?;
    let mut answer = String::new();
    BufReader::new(stream).read_line(&mut answer).map_err(io)?;
    let answer = answer.trim_end();
    if let Some(rest) = answer.strip_prefix("ok") {
        Ok(rest.trim_start().to_string())
    } else if let Some(rest) = answer.strip_prefix("error ") {
        Err(Fail::kafka(format!("mock cluster: {rest}")))
    } else {
        Err(Fail::Connect(format!(
            "the mock cluster gave an unexpected answer: {answer:?}"
        )))
    }
}

/// A command's use of the shared cluster: its address, kept alive while
/// the command runs.
pub struct Session {
    /// The mock directory.
    pub dir: PathBuf,
    /// The cluster's `bootstrap.servers`.
    pub bootstrap: String,
}

/// Connects to the shared cluster, starting it when none runs.
pub fn session() -> Outcome<Session> {
    let dir = dir();
    let bootstrap = match request(&dir, "bootstrap") {
        Ok(b) => b,
        Err(Fail::Connect(_)) => start(&dir, DEFAULT_IDLE)?,
        Err(other) => return Err(other),
    };
    let kept = dir.clone();
    // The thread ends with the process; a failed ping only means the
    // cluster is gone, which the command's own requests will report.
    std::thread::Builder::new()
        .name("kafkit-mock-keepalive".into())
        .spawn(move || loop {
            std::thread::sleep(KEEPALIVE);
            let _ = request(&kept, "ping");
        })
        .map_err(|e| Fail::Io(format!("cannot start a thread: {e}")))?;
    Ok(Session { dir, bootstrap })
}

/// Starts `kafkit mock serve` in the background and waits until it
/// answers; returns its bootstrap servers.
pub fn start(dir: &Path, idle: Duration) -> Outcome<String> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| Fail::Io(format!("cannot create {}: {e}", dir.display())))?;
    let exe = std::env::current_exe()
        .map_err(|e| Fail::Io(format!("cannot find the kafkit executable: {e}")))?;
    let log = std::fs::File::create(dir.join("mock.log"))
        .map_err(|e| Fail::Io(format!("cannot write {}: {e}", dir.display())))?;
    let mut child = Command::new(exe)
        .arg("mock")
        .arg("serve")
        .arg("--dir")
        .arg(dir)
        .arg("--idle")
        .arg(idle.as_secs().to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log)
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
    let line = rx.recv_timeout(START_TIMEOUT).map_err(|_| {
        Fail::Connect(format!(
            "the mock cluster did not start within {START_TIMEOUT:?} (see {})",
            dir.join("mock.log").display()
        ))
    })?;
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

/// `kafkit mock serve`: holds a mock cluster and answers on the socket
/// until told to stop or idle for `idle`.
pub fn serve(dir: &Path, idle: Duration) -> Outcome {
    let mut ready = std::io::stdout();
    let announce = |ready: &mut std::io::Stdout, line: String| {
        let _ = writeln!(ready, "{line}");
        let _ = ready.flush();
    };
    let path = socket(dir);
    if let Ok(bootstrap) = request(dir, "bootstrap") {
        // Another server won a race to start: use it.
        announce(&mut ready, format!("ready {bootstrap}"));
        return Ok(());
    }
    let _ = std::fs::remove_file(&path);
    let listener = match UnixListener::bind(&path) {
        Ok(l) => l,
        Err(e) => {
            announce(
                &mut ready,
                format!("error cannot listen on {}: {e}", path.display()),
            );
            return Err(Fail::Io(e.to_string()));
        }
    };
    let cluster = match kafkit::MockCluster::new(BROKERS) {
        Ok(c) => c,
        Err(e) => {
            let _ = std::fs::remove_file(&path);
            announce(&mut ready, format!("error {e}"));
            return Err(e.into());
        }
    };
    let last_use = Arc::new(Mutex::new(Instant::now()));
    let watched = last_use.clone();
    let idle_path = path.clone();
    std::thread::spawn(move || loop {
        std::thread::sleep(Duration::from_secs(1));
        let since = watched.lock().map(|t| t.elapsed()).unwrap_or_default();
        if since > idle {
            eprintln!("idle for {idle:?}: stopping");
            let _ = std::fs::remove_file(&idle_path);
            std::process::exit(0);
        }
    });
    eprintln!(
        "mock cluster at {} listening on {}",
        cluster.bootstrap_servers(),
        path.display()
    );
    announce(&mut ready, format!("ready {}", cluster.bootstrap_servers()));
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        if let Ok(mut t) = last_use.lock() {
            *t = Instant::now();
        }
        if answer(stream, &cluster) == Answered::Stop {
            let _ = std::fs::remove_file(&path);
            return Ok(());
        }
    }
    Ok(())
}

#[derive(PartialEq)]
enum Answered {
    Continue,
    Stop,
}

fn answer(stream: UnixStream, cluster: &kafkit::MockCluster) -> Answered {
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
        ["ping"] => ("ok".to_string(), Answered::Continue),
        ["stop"] => ("ok".to_string(), Answered::Stop),
        ["create-topic", name, partitions, replicas] => {
            let reply = match (partitions.parse::<i32>(), replicas.parse::<i32>()) {
                (Ok(p), Ok(r)) => match cluster.create_topic(name, p, r) {
                    Ok(()) => "ok".to_string(),
                    Err(e) => format!("error {e}"),
                },
                _ => "error partitions and replication factor must be numbers".to_string(),
            };
            (reply, Answered::Continue)
        }
        _ => (
            format!("error unknown request {:?}", line.trim_end()),
            Answered::Continue,
        ),
    };
    let _ = stream.write_all(format!("{reply}\n").as_bytes());
    then
}
