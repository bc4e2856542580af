//! The stream-processing tutorial's app in kafkit: typed greetings, an
//! agent that prints them and forwards them to a sink topic, a batch agent
//! reading that topic with `take(100, 5 s)`, a timer that sends a greeting
//! every 5 s, and a word count kept in a table (the names of each greeting
//! are sent, keyed by name, to a `words` topic whose agent counts them).
//!
//! By default it runs a bounded demo: it sends the tutorial's greetings,
//! processes them, prints what the agents saw and the word count, and
//! exits. It runs on an embedded mock cluster with no setup, or on the
//! broker of `KAFKA_BOOTSTRAP_SERVERS` (fresh topics each run).
//!
//! ```sh
//! cargo run --example stream_app
//! eval "$(scripts/kafka.sh start single)" && cargo run --example stream_app
//! ```
//!
//! `worker` runs the same app on a broker until SIGINT or SIGTERM, on the
//! topics `greetings`, `greetings-seen` and `greeting-words` (created when
//! missing):
//!
//! ```sh
//! cargo run --example stream_app -- worker [--id APP_ID] [--bootstrap SERVERS] [--instance NAME]
//! ```

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use kafkit::streams::cli::{Action, Command};
use kafkit::streams::{App, Table};
use kafkit::{
    AdminClient, AdminOptions, ClientConfig, Error, I64Codec, MockCluster, NewTopic, NoKey,
    Producer, StringCodec, TypedTopic,
};
use serde::{Deserialize, Serialize};

/// The tutorial's record.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Greeting {
    from_name: String,
    to_name: String,
}

/// The app's topics.
struct Topics {
    greetings: String,
    seen: String,
    words: String,
}

/// What the agents saw, for the demo's report.
#[derive(Default)]
struct Seen {
    greetings: AtomicU64,
    batches: AtomicU64,
    batched: AtomicU64,
    largest_batch: AtomicU64,
    words: AtomicU64,
    timer: AtomicU64,
}

const PARTITIONS: i32 = 3;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let result = match Command::from_env() {
        Ok(command) => match command.action {
            Action::Help => {
                println!("{}", Command::usage("stream_app"));
                Ok(())
            }
            Action::Worker => worker(&command).await,
            _ => demo(&command).await,
        },
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Declares the app: its agents, timer and table.
fn build(
    id: &str,
    config: &ClientConfig,
    topics: &Topics,
    seen: Arc<Seen>,
    command: &Command,
    quiet: bool,
) -> Result<(App, Table<String, i64>), Error> {
    let mut builder = App::builder(id, config);
    if let Some(instance) = &command.instance {
        builder = builder.instance(instance);
    }
    let mut app = builder.build()?;
    let greetings = TypedTopic::json::<Greeting>(topics.greetings.as_str());
    let seen_topic = TypedTopic::json::<Greeting>(topics.seen.as_str());
    let words = TypedTopic::new(topics.words.as_str(), StringCodec, NoKey);
    let counts_codecs = TypedTopic::new("", StringCodec, I64Codec);
    let counts = app.table("word-counts", &topics.words, &counts_codecs)?;

    // Prints each greeting, forwards it, and sends its two names as words.
    let (to_seen, to_words, s) = (app.sink(&seen_topic), app.sink(&words), seen.clone());
    app.agent("greet", &greetings, move |mut stream| {
        let (to_seen, to_words, seen) = (to_seen.clone(), to_words.clone(), s.clone());
        async move {
            while let Some(event) = stream.next().await {
                let greeting = event?.value;
                if !quiet {
                    println!(
                        "[greet p{}] Hello from {} to {}",
                        stream.partition(),
                        greeting.from_name,
                        greeting.to_name
                    );
                }
                to_words.send(greeting.from_name.clone(), ()).await?;
                to_words.send(greeting.to_name.clone(), ()).await?;
                to_seen.send((), &greeting).await?;
                seen.greetings.fetch_add(1, Ordering::Relaxed);
            }
            Ok(())
        }
    })?;

    // Reads the forwarded greetings in batches.
    let s = seen.clone();
    app.agent("log", &seen_topic, move |stream| {
        let seen = s.clone();
        async move {
            let partition = stream.partition();
            let mut batches = stream.take(100, Duration::from_secs(5));
            while let Some(batch) = batches.next().await {
                let batch = batch?;
                let n = batch.len() as u64;
                seen.batches.fetch_add(1, Ordering::Relaxed);
                seen.batched.fetch_add(n, Ordering::Relaxed);
                seen.largest_batch.fetch_max(n, Ordering::Relaxed);
                if !quiet {
                    println!("[log p{partition}] a batch of {n} greetings");
                }
            }
            Ok(())
        }
    })?;

    // Counts the words in the table.
    let (table, s) = (counts.clone(), seen.clone());
    app.agent("count", &words, move |mut stream| {
        let (table, seen) = (table.clone(), s.clone());
        async move {
            let counts = stream.table(&table)?;
            while let Some(event) = stream.next().await {
                let word = event?.key;
                counts.update(&word, |n| n.unwrap_or(0) + 1).await?;
                seen.words.fetch_add(1, Ordering::Relaxed);
            }
            Ok(())
        }
    })?;

    // Every 5 s, on one worker of the group, a greeting of its own.
    let (to_greetings, s) = (app.sink(&greetings), seen);
    app.timer_with(
        Duration::from_secs(5),
        kafkit::streams::TimerOptions::default().on_leader(),
        move || {
            let (to_greetings, seen) = (to_greetings.clone(), s.clone());
            async move {
                let greeting = Greeting {
                    from_name: "timer".into(),
                    to_name: "world".into(),
                };
                to_greetings.send((), &greeting).await?;
                seen.timer.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
        },
    )?;
    Ok((app, counts))
}

/// The tutorial's inputs: every name greets the next.
fn inputs() -> Vec<Greeting> {
    let names = ["Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace"];
    (0..names.len() * 30)
        .map(|i| Greeting {
            from_name: names[i % names.len()].into(),
            to_name: names[(i + 1) % names.len()].into(),
        })
        .collect()
}

async fn demo(command: &Command) -> Result<(), Error> {
    let mut _mock = None;
    let (config, suffix) = match command.bootstrap.clone().or_else(|| {
        std::env::var("KAFKA_BOOTSTRAP_SERVERS")
            .ok()
            .filter(|s| !s.is_empty())
    }) {
        Some(_) => {
            let stamp = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis());
            (command.client_config()?, format!("-{stamp}"))
        }
        None => {
            println!("KAFKA_BOOTSTRAP_SERVERS is not set: running on an embedded mock cluster");
            let mock = MockCluster::new(1)?;
            let config = mock.client_config()?;
            _mock = Some(mock);
            (config, String::new())
        }
    };
    let id = command
        .id
        .clone()
        .unwrap_or_else(|| format!("stream-demo{suffix}"));
    let topics = Topics {
        greetings: format!("greetings{suffix}"),
        seen: format!("greetings-seen{suffix}"),
        words: format!("greeting-words{suffix}"),
    };
    let changelog = format!("{id}-word-counts-changelog");
    let all = [&topics.greetings, &topics.seen, &topics.words, &changelog];
    match &_mock {
        Some(mock) => {
            for topic in all {
                mock.create_topic(topic, PARTITIONS, 1)?;
            }
        }
        None => create_topics(&config, &all[..3])?,
    }

    let producer = Producer::new(&config)?;
    producer.wait_connected(Duration::from_secs(10))?;
    let greetings = TypedTopic::json::<Greeting>(topics.greetings.as_str());
    let inputs = inputs();
    for greeting in &inputs {
        let record = greetings.record((), greeting)?;
        drop(producer.send(record).await?);
    }
    producer.flush(Duration::from_secs(30))?;
    println!("sent {} greetings to {}", inputs.len(), topics.greetings);

    let seen = Arc::new(Seen::default());
    let (app, counts) = build(&id, &config, &topics, seen.clone(), command, false)?;
    let handle = app.handle();
    let run = tokio::spawn(app.run());
    // Done when every greeting (the timer's too, after it fired once) was
    // greeted, logged in batches and both its names counted.
    let started = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let timer = seen.timer.load(Ordering::Relaxed);
        let expected = inputs.len() as u64 + timer;
        let greeted = seen.greetings.load(Ordering::Relaxed);
        let done = timer > 0
            && greeted >= expected
            && seen.batched.load(Ordering::Relaxed) >= expected
            && seen.words.load(Ordering::Relaxed) >= 2 * expected;
        if done || run.is_finished() {
            break;
        }
        if started.elapsed() > Duration::from_secs(120) {
            handle.stop();
            return Err(Error::Stream("the demo did not finish in 120 s".into()));
        }
    }
    // The table's partitions leave this worker with the shutdown.
    let table: BTreeMap<String, i64> = counts.entries()?.into_iter().collect();
    handle.stop();
    run.await
        .map_err(|e| Error::Stream(format!("the app's task failed: {e}")))??;

    println!(
        "greet: {} greetings ({} from the timer); log: {} greetings in {} batches (largest {}); \
         count: {} words",
        seen.greetings.load(Ordering::Relaxed),
        seen.timer.load(Ordering::Relaxed),
        seen.batched.load(Ordering::Relaxed),
        seen.batches.load(Ordering::Relaxed),
        seen.largest_batch.load(Ordering::Relaxed),
        seen.words.load(Ordering::Relaxed),
    );
    println!("word count ({}):", counts.changelog());
    for (word, n) in &table {
        println!("  {word:>6} {n}");
    }
    Ok(())
}

async fn worker(command: &Command) -> Result<(), Error> {
    let config = command.client_config()?;
    let id = command.id.clone().unwrap_or_else(|| "stream-app".into());
    let topics = Topics {
        greetings: "greetings".into(),
        seen: "greetings-seen".into(),
        words: "greeting-words".into(),
    };
    create_topics(&config, &[&topics.greetings, &topics.seen, &topics.words])?;
    let (app, _) = build(
        &id,
        &config,
        &topics,
        Arc::new(Seen::default()),
        command,
        false,
    )?;
    println!("worker of {id}: Ctrl-C or SIGTERM stops it");
    app.run().await
}

/// Creates the topics on a real broker where they are missing.
fn create_topics(config: &ClientConfig, names: &[&String]) -> Result<(), Error> {
    let admin = AdminClient::new(config)?;
    let topics: Vec<NewTopic> = names
        .iter()
        .map(|n| NewTopic::new(n, PARTITIONS, 1))
        .collect();
    let results = futures::executor::block_on(admin.create_topics(&topics, &AdminOptions::new()))?;
    for r in results {
        if let Err(e) = r.result {
            if e.code() != Some(kafkit::ErrorCode::TopicAlreadyExists) {
                return Err(e);
            }
        }
    }
    Ok(())
}
