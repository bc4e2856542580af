//! `kafkit produce`: records from stdin or files, one per delimiter.

use std::fs::File;
use std::future::Future;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use futures::channel::mpsc::{unbounded, UnboundedReceiver};
use futures::executor::block_on;
use futures::stream::{FuturesUnordered, StreamExt};
use kafkit::{Compression, DeliveryFuture, Producer, Record};

use crate::conn::{unreachable, Conn};
use crate::fail::{Fail, Outcome};
use crate::output::unescape;

/// `produce` flags.
#[derive(Args, Debug)]
pub struct ProduceArgs {
    /// The topic to write to.
    pub topic: String,
    /// Files to read records from instead of stdin (`-` is stdin).
    pub files: Vec<PathBuf>,
    /// Split each record at the first SEP into key and value (a record
    /// without SEP has no key).
    #[arg(short = 'K', long = "key-delimiter", value_name = "SEP")]
    pub key_delimiter: Option<String>,
    /// The byte that ends each record (`\n` by default; `\0`, `\t` and
    /// `\r` escapes are understood).
    #[arg(short = 'D', long, value_name = "BYTE", default_value = "\\n")]
    pub delimiter: String,
    /// A header for every record, `name=value` (repeatable).
    #[arg(short = 'H', long = "header", value_name = "NAME=VALUE")]
    pub headers: Vec<String>,
    /// Write to this partition instead of the partitioner's choice.
    #[arg(short = 'p', long)]
    pub partition: Option<i32>,
    /// Compression codec: none, gzip, snappy, lz4 or zstd.
    #[arg(short = 'z', long)]
    pub compression: Option<String>,
    /// Fail each record whose value is not valid JSON (it is not sent).
    #[arg(long)]
    pub json: bool,
    /// Wait for each record's delivery before sending the next.
    #[arg(long)]
    pub sync: bool,
}

/// How long produce waits for deliveries after its last record before it
/// gives up on the rest (they count as failed).
const CLOSE_LIMIT: Duration = Duration::from_secs(60);

/// What became of the records.
#[derive(Default)]
struct Tally {
    delivered: u64,
    bytes: u64,
    failed: u64,
    /// The failure of the earliest record in the input: (its sequence
    /// number, what happened).
    first_error: Option<(u64, String)>,
}

impl Tally {
    fn fail(&mut self, origin: &Origin, what: impl std::fmt::Display) {
        self.failed += 1;
        if self
            .first_error
            .as_ref()
            .is_none_or(|(seq, _)| origin.seq < *seq)
        {
            self.first_error = Some((origin.seq, format!("{origin}: {what}")));
        }
    }

    fn record(&mut self, origin: &Origin, result: Result<usize, kafkit::Error>) {
        match result {
            Ok(size) => {
                self.delivered += 1;
                self.bytes += size as u64;
            }
            Err(e) => self.fail(origin, e),
        }
    }

    fn merge(&mut self, other: Tally) {
        self.delivered += other.delivered;
        self.bytes += other.bytes;
        self.failed += other.failed;
        if let Some((seq, what)) = other.first_error {
            if self
                .first_error
                .as_ref()
                .is_none_or(|(mine, _)| seq < *mine)
            {
                self.first_error = Some((seq, what));
            }
        }
    }
}

/// Where a record came from, for error messages.
#[derive(Clone)]
struct Origin {
    /// Its place among all records of the command.
    seq: u64,
    /// The file (or stdin) it was read from.
    input: Arc<str>,
    /// Its place in that file, from 1.
    record: u64,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "record {} of {}", self.record, self.input)
    }
}

/// Runs `produce`.
pub fn run(conn: &Conn, args: &ProduceArgs) -> Outcome {
    let delimiter = match unescape(&args.delimiter).map_err(Fail::usage)?.as_slice() {
        [byte] => *byte,
        _ => {
            return Err(Fail::usage(format!(
                "--delimiter must be one byte, not {:?}",
                args.delimiter
            )))
        }
    };
    let key_delimiter = match &args.key_delimiter {
        Some(k) => {
            let k = unescape(k).map_err(Fail::usage)?;
            if k.is_empty() {
                return Err(Fail::usage("-K needs a non-empty separator"));
            }
            Some(k)
        }
        None => None,
    };
    let mut headers = Vec::new();
    for h in &args.headers {
        let Some((name, value)) = h.split_once('=') else {
            return Err(Fail::usage(format!("-H {h}: expected name=value")));
        };
        if name.contains('\0') {
            return Err(Fail::usage(format!(
                "-H {h:?}: a header name cannot hold a NUL byte"
            )));
        }
        headers.push((name.to_string(), value.as_bytes().to_vec()));
    }
    let mut config = conn.config.clone();
    if let Some(codec) = &args.compression {
        let codec = match codec.as_str() {
            "none" => Compression::None,
            "gzip" => Compression::Gzip,
            "snappy" => Compression::Snappy,
            "lz4" => Compression::Lz4,
            "zstd" => Compression::Zstd,
            other => {
                return Err(Fail::usage(format!(
                    "--compression {other}: use none, gzip, snappy, lz4 or zstd"
                )))
            }
        };
        config.compression(codec)?;
    }
    let producer = Producer::new(&config)?;
    producer.wait_connected(conn.timeout).map_err(unreachable)?;

    let inputs = open_inputs(&args.files)?;
    let total: u64 = inputs.iter().filter_map(|i| i.size).sum();
    let bar = progress(&args.files, total);

    // Deliveries are awaited on their own thread, so sending never stops
    // for them unless the queue is full (`send` then waits for space).
    let (tx, rx) = unbounded();
    let waiter = std::thread::spawn(move || {
        let mut tally = Tally::default();
        await_each(rx, |(origin, result)| tally.record(&origin, result));
        tally
    });
    let mut tally = Tally::default();
    let mut seq = 0u64;
    let mut read_error = None;
    'inputs: for input in inputs {
        let name: Arc<str> = input.name.into();
        let mut reader = BufReader::with_capacity(1 << 16, input.reader);
        let mut line = Vec::new();
        let mut record_in_file = 0u64;
        loop {
            line.clear();
            let read = match reader.read_until(delimiter, &mut line) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) => {
                    // Stop reading, but account for what was sent.
                    read_error = Some(Fail::Io(format!("cannot read {name}: {e}")));
                    break 'inputs;
                }
            };
            bar.inc(read as u64);
            if line.last() == Some(&delimiter) {
                line.pop();
            }
            seq += 1;
            record_in_file += 1;
            let origin = Origin {
                seq,
                input: name.clone(),
                record: record_in_file,
            };
            let (key, value) = split_key(&line, key_delimiter.as_deref());
            if args.json {
                if let Err(e) = serde_json::from_slice::<serde_json::Value>(value) {
                    tally.fail(&origin, format!("the value is not JSON: {e}"));
                    continue;
                }
            }
            let size = value.len() + key.map_or(0, |k| k.len());
            let mut record = Record::to(args.topic.as_str()).value(value.to_vec());
            if let Some(k) = key {
                record = record.key(k.to_vec());
            }
            if let Some(p) = args.partition {
                record = record.partition(p);
            }
            for (n, v) in &headers {
                record = record.header(n.clone(), v.clone());
            }
            match block_on(producer.send(record)) {
                Ok(delivery) if args.sync => {
                    let (origin, result) = block_on(wait_one(delivery, origin, size));
                    tally.record(&origin, result);
                }
                Ok(delivery) => {
                    // The waiter only stops when this sender is dropped.
                    let _ = tx.unbounded_send(wait_one(delivery, origin, size));
                }
                Err(e) => tally.fail(&origin, e.error),
            }
        }
    }
    drop(tx);
    // Closing resolves every delivery future: delivered, failed, or purged
    // at the limit (a failure the waiter counts).
    let left = producer.close(CLOSE_LIMIT);
    let waited = waiter
        .join()
        .map_err(|_| Fail::Io("the delivery thread panicked".into()))?;
    tally.merge(waited);
    bar.finish_and_clear();
    eprintln!(
        "produced {} record{} ({} bytes) to {}; {} failed{}",
        tally.delivered,
        if tally.delivered == 1 { "" } else { "s" },
        tally.bytes,
        args.topic,
        tally.failed,
        if left > 0 {
            format!(" ({left} not delivered within {CLOSE_LIMIT:?} of the last send)")
        } else {
            String::new()
        }
    );
    if let Some(e) = read_error {
        return Err(e);
    }
    match tally.first_error {
        Some((_, e)) => Err(Fail::kafka(format!("first failure: {e}"))),
        None => Ok(()),
    }
}

async fn wait_one(
    delivery: DeliveryFuture,
    origin: Origin,
    size: usize,
) -> (Origin, Result<usize, kafkit::Error>) {
    match delivery.await {
        Ok(_) => (origin, Ok(size)),
        Err(e) => (origin, Err(e.error)),
    }
}

/// Awaits every future the sender hands over, until it hangs up, calling
/// `done` with each output the moment its future completes (delivery
/// futures here, awaited off the sending thread so that sending never waits
/// for them): new futures and completions are both waited for at once.
pub fn await_each<F: Future>(rx: UnboundedReceiver<F>, mut done: impl FnMut(F::Output)) {
    let mut rx = rx;
    let mut pending = FuturesUnordered::new();
    block_on(async {
        loop {
            futures::select! {
                future = rx.next() => {
                    if let Some(future) = future {
                        pending.push(future);
                    }
                }
                output = pending.select_next_some() => done(output),
                complete => break,
            }
        }
    });
}

/// Splits a record at the first `sep`: (key, value).
fn split_key<'a>(line: &'a [u8], sep: Option<&[u8]>) -> (Option<&'a [u8]>, &'a [u8]) {
    let Some(sep) = sep else { return (None, line) };
    match line.windows(sep.len()).position(|w| w == sep) {
        Some(at) => (Some(&line[..at]), &line[at + sep.len()..]),
        None => (None, line),
    }
}

struct Input {
    name: String,
    size: Option<u64>,
    reader: Box<dyn Read>,
}

fn open_inputs(files: &[PathBuf]) -> Outcome<Vec<Input>> {
    if files.is_empty() {
        return Ok(vec![Input {
            name: "stdin".into(),
            size: None,
            reader: Box::new(std::io::stdin()),
        }]);
    }
    files
        .iter()
        .map(|path| {
            if path.as_os_str() == "-" {
                return Ok(Input {
                    name: "stdin".into(),
                    size: None,
                    reader: Box::new(std::io::stdin()),
                });
            }
            let file = File::open(path)
                .map_err(|e| Fail::Io(format!("cannot open {}: {e}", path.display())))?;
            let size = file.metadata().ok().map(|m| m.len());
            Ok(Input {
                name: path.display().to_string(),
                size,
                reader: Box::new(file),
            })
        })
        .collect()
}

/// A byte progress bar on stderr for file input (none for stdin, and none
/// when stderr is not a terminal).
fn progress(files: &[PathBuf], total: u64) -> indicatif::ProgressBar {
    if files.is_empty() || total == 0 {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(total);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    ) {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

#[cfg(test)]
mod tests {
    use super::split_key;

    #[test]
    fn keys_split_at_the_first_separator() {
        assert_eq!(
            split_key(b"k:v:w", Some(b":")),
            (Some(&b"k"[..]), &b"v:w"[..])
        );
        assert_eq!(split_key(b"novalue", Some(b"::")), (None, &b"novalue"[..]));
        assert_eq!(split_key(b"a::", Some(b"::")), (Some(&b"a"[..]), &b""[..]));
        assert_eq!(split_key(b"plain", None), (None, &b"plain"[..]));
    }
}
