//! The admin client's first steps: create the topic "Users", list topics,
//! describe the topic and its configs, produce a few JSON users, read some
//! of them in a consumer group, print the group's lag, delete the topic.
//!
//! With `KAFKA_BOOTSTRAP_SERVERS` unset it starts an embedded mock cluster.
//! librdkafka's mock cluster answers only a few admin requests (metadata,
//! list offsets, group offsets); the steps it cannot do are said so and
//! skipped, and the topic is created through the mock's own API.
//!
//! ```sh
//! cargo run --example admin
//! eval "$(scripts/kafka.sh start single)" && cargo run --example admin
//! ```

use std::time::Duration;

use kafkit::{
    AdminClient, AdminOptions, ClientConfig, ConfigResource, Consumer, ErrorCode, MockCluster,
    NewTopic, OffsetReset, Producer, Record, TopicPartition,
};
use serde::{Deserialize, Serialize};

const TOPIC: &str = "Users";

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
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut cluster = None;
    let config = match std::env::var("KAFKA_BOOTSTRAP_SERVERS") {
        Ok(servers) if !servers.is_empty() => {
            println!("using the broker at {servers}");
            ClientConfig::from_env()?
        }
        _ => {
            let mock = MockCluster::new(1)?;
            println!(
                "using an embedded mock cluster at {} (set KAFKA_BOOTSTRAP_SERVERS for a real broker)",
                mock.bootstrap_servers()
            );
            let config = mock.client_config()?;
            cluster = Some(mock);
            config
        }
    };
    let on_mock = cluster.is_some();
    let admin = AdminClient::new(&config)?;
    let options = AdminOptions::new().request_timeout(Duration::from_secs(15));

    // 1. Create "Users" with 1 partition and replication factor 1.
    match &cluster {
        Some(mock) => {
            mock.create_topic(TOPIC, 1, 1)?;
            println!(
                "created {TOPIC} with the mock's own API (the mock does not answer CreateTopics)"
            );
        }
        None => {
            let created = admin
                .create_topics(&[NewTopic::new(TOPIC, 1, 1)], &options)
                .await?;
            for topic in created {
                match topic.result {
                    Ok(()) => println!("created topic {}", topic.name),
                    Err(e) if e.code() == Some(ErrorCode::TopicAlreadyExists) => {
                        println!(
                            "topic {} exists already (left by an earlier run)",
                            topic.name
                        )
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }

    // 2. List topics: cluster metadata, which every client has.
    let metadata = admin.metadata(None, Duration::from_secs(10))?;
    let mut names: Vec<&str> = metadata.topics.iter().map(|t| t.name.as_str()).collect();
    names.sort_unstable();
    println!(
        "{} broker(s), controller {:?}; topics: {}",
        metadata.brokers.len(),
        metadata.controller_id,
        names.join(", ")
    );

    // 3. Describe the topic and its configs.
    if on_mock {
        println!("skipped: describe_topics and describe_configs (the mock answers neither)");
    } else {
        for topic in admin.describe_topics(&[TOPIC], &options).await? {
            let topic = topic.result?;
            println!("topic {} (id {}):", topic.name, topic.topic_id);
            for p in &topic.partitions {
                let ids = |nodes: &[kafkit::Node]| nodes.iter().map(|n| n.id).collect::<Vec<_>>();
                println!(
                    "  partition {}: leader {:?}, replicas {:?}, in sync {:?}",
                    p.partition,
                    p.leader.as_ref().map(|n| n.id),
                    ids(&p.replicas),
                    ids(&p.isr)
                );
            }
        }
        for resource in admin
            .describe_configs(&[ConfigResource::topic(TOPIC)], &options)
            .await?
        {
            let entries = resource.result?;
            for name in ["cleanup.policy", "retention.ms", "segment.bytes"] {
                if let Some(entry) = entries.iter().find(|e| e.name == name) {
                    println!(
                        "  config {name} = {}",
                        entry.value.as_deref().unwrap_or("-")
                    );
                }
            }
        }
    }

    // 4. Produce a few JSON users.
    let users = [
        ("alice", "engineer"),
        ("bob", "baker"),
        ("carol", "pilot"),
        ("dave", "teacher"),
        ("erin", "surgeon"),
    ];
    let producer = Producer::new(&config)?;
    producer.wait_connected(Duration::from_secs(10))?;
    let mut high = 0;
    for (name, profession) in users {
        let user = User {
            name: name.into(),
            profession: profession.into(),
        };
        let meta = producer
            .send(Record::to(TOPIC).key(name).json(&user)?)
            .await?
            .await?;
        high = meta.offset + 1;
    }
    println!(
        "produced {} users; the partition ends at offset {high}",
        users.len()
    );

    // 5. Read three of them in a group and commit.
    let group = format!(
        "kafkit-admin-example-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis()
    );
    let mut consumer_config = config.clone();
    consumer_config
        .group_id(&group)?
        .auto_offset_reset(OffsetReset::Earliest)?
        .enable_auto_commit(false)?;
    let consumer = Consumer::new(&consumer_config)?;
    consumer.subscribe(&[TOPIC])?;
    let mut read = 0;
    for message in consumer.iter().idle_timeout(Duration::from_secs(15)) {
        let user: User = message?.json()?;
        println!("read {} ({})", user.name, user.profession);
        read += 1;
        if read == 3 {
            break;
        }
    }
    if read < 3 {
        return Err(format!("read only {read} of 3 users").into());
    }
    consumer.commit()?;
    consumer.close()?;

    // 6. The group's lag: what it has still to read.
    let lag = if on_mock {
        // The mock answers offset fetches only for named partitions.
        admin
            .consumer_group_lag_for(&group, &[TopicPartition::new(TOPIC, 0)], &options)
            .await?
    } else {
        admin.consumer_group_lag(&group, &options).await?
    };
    for p in &lag.partitions {
        println!(
            "group {group} on {} [{}]: committed {:?}, high watermark {}, lag {:?}",
            p.topic, p.partition, p.committed, p.high_watermark, p.lag
        );
    }
    println!("total lag {}", lag.total);

    // 7. Delete the topic.
    if on_mock {
        println!("skipped: delete_topics (the mock does not answer DeleteTopics)");
    } else {
        for topic in admin.delete_topics(&[TOPIC], &options).await? {
            topic.result?;
            println!("deleted topic {}", topic.name);
        }
        admin
            .delete_consumer_groups(&[group.as_str()], &options)
            .await?
            .into_iter()
            .try_for_each(|g| g.result)?;
        println!("deleted group {group}");
    }
    Ok(())
}
