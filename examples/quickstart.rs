//! Produce a few JSON "user" records, await each delivery, and read them back.
//!
//! With `KAFKA_BOOTSTRAP_SERVERS` unset it starts an embedded mock cluster;
//! otherwise it uses that broker.
//!
//! ```sh
//! cargo run --example quickstart
//! KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 cargo run --example quickstart
//! ```

use std::time::Duration;

use kafkit::{ClientConfig, Consumer, MockCluster, OffsetReset, Producer, Record};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
struct User {
    name: String,
    profession: String,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    // The error's message, not its structure, for whoever runs this.
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    // Use the broker from the environment, or an embedded mock cluster.
    let _cluster;
    let config = match std::env::var("KAFKA_BOOTSTRAP_SERVERS") {
        Ok(servers) if !servers.is_empty() => {
            println!("using the broker at {servers}");
            ClientConfig::from_env()?
        }
        _ => {
            let cluster = MockCluster::new(1)?;
            println!(
                "using an embedded mock cluster at {}",
                cluster.bootstrap_servers()
            );
            let config = cluster.client_config()?;
            _cluster = cluster;
            config
        }
    };

    // A fresh topic per run, so the read-back sees exactly this run's records.
    let topic = format!(
        "kafkit-quickstart-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis()
    );
    let users = [
        ("alice", "engineer"),
        ("bob", "baker"),
        ("carol", "pilot"),
        ("dave", "teacher"),
        ("erin", "surgeon"),
    ];

    let producer = Producer::new(&config)?;
    // A wrong address fails here within 10 s, with the broker's error,
    // rather than as a delivery that times out minutes later. The call blocks
    // this thread: fine here, before any other work runs.
    producer.wait_connected(Duration::from_secs(10))?;
    for (name, profession) in users {
        let user = User {
            name: name.to_string(),
            profession: profession.to_string(),
        };
        let record = Record::to(&topic).key(name).json(&user)?;
        let meta = producer.send(record).await?.await?;
        println!(
            "delivered {name:>5} to {} partition {} offset {}",
            meta.topic, meta.partition, meta.offset
        );
    }

    // Read them back: join a group on the topic, starting from the beginning.
    let mut consumer_config = config.clone();
    consumer_config
        .group_id(&format!("{topic}-readers"))?
        .auto_offset_reset(OffsetReset::Earliest)?;
    let consumer = Consumer::new(&consumer_config)?;
    consumer.wait_connected(Duration::from_secs(10))?;
    consumer.subscribe(&[&topic])?;
    // The iteration ends if nothing comes for 10 s.
    let mut read = 0;
    for message in consumer.iter().idle_timeout(Duration::from_secs(10)) {
        let message = match message {
            Ok(message) => message,
            Err(e) => {
                eprintln!("consumer error: {e}");
                continue;
            }
        };
        let user: User = message.json()?;
        println!(
            "read {:>5} ({}) from partition {} offset {}",
            user.name,
            user.profession,
            message.partition(),
            message.offset()
        );
        read += 1;
        if read == users.len() {
            break;
        }
    }
    consumer.close()?;
    if read < users.len() {
        return Err(format!("read back only {read} of {} records", users.len()).into());
    }
    println!("done: {read} records produced and read back");
    Ok(())
}
