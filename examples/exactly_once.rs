//! Exactly-once consume-transform-produce: numbered records are read from
//! an input topic and each becomes one record "n:n²" on an output topic,
//! the outputs and the input offsets committed in one transaction per
//! batch. At the end a `read_committed` consumer checks that every number
//! is in the output exactly once.
//!
//! With `KAFKA_BOOTSTRAP_SERVERS` unset it runs on an embedded mock cluster.
//!
//! ```sh
//! cargo run --example exactly_once [COUNT]
//! eval "$(scripts/kafka.sh start single)" && cargo run --example exactly_once 100000
//! ```

use std::collections::HashSet;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use kafkit::{
    AdminClient, AdminOptions, BatchOutcome, ClientConfig, Consumer, ExactlyOnce, MockCluster,
    NewTopic, Offset, Producer, Record,
};

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let count: usize = match std::env::args().nth(1) {
        Some(n) => n
            .parse()
            .map_err(|_| format!("COUNT must be a number, not {n:?}"))?,
        None => 10_000,
    };
    let stamp = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis();
    let (input, output) = (format!("eos-input-{stamp}"), format!("eos-output-{stamp}"));
    let mut cluster = None;
    let config = match std::env::var("KAFKA_BOOTSTRAP_SERVERS") {
        Ok(servers) if !servers.is_empty() => {
            println!("using the broker at {servers}");
            let config = ClientConfig::from_env()?;
            let admin = AdminClient::new(&config)?;
            let topics = [NewTopic::new(&input, 1, 1), NewTopic::new(&output, 1, 1)];
            for t in
                futures::executor::block_on(admin.create_topics(&topics, &AdminOptions::new()))?
            {
                t.result?;
            }
            config
        }
        _ => {
            let mock = MockCluster::new(3)?;
            println!(
                "using an embedded mock cluster at {}",
                mock.bootstrap_servers()
            );
            mock.create_topic(&input, 1, 3)?;
            mock.create_topic(&output, 1, 3)?;
            let config = mock.client_config()?;
            cluster = Some(mock);
            config
        }
    };
    let timeout = Duration::from_secs(30);

    // The input: the numbers 0..count.
    let producer = Producer::new(&config)?;
    for n in 0..count {
        drop(producer.send_blocking(Record::to(&input).value(n.to_string()), timeout)?);
    }
    producer.flush(timeout)?;
    println!("wrote {count} numbers to {input}");

    // The processing instance: a group consumer and a transactional producer.
    let mut consumer_config = config.clone();
    consumer_config
        .group_id(&format!("eos-group-{stamp}"))?
        .enable_auto_commit(false)?
        .set("auto.offset.reset", "earliest")?;
    let consumer = Consumer::new(&consumer_config)?;
    consumer.subscribe(&[&input])?;
    let mut producer_config = config.clone();
    producer_config.set("transactional.id", format!("eos-example-{stamp}"))?;
    let eos = ExactlyOnce::new(consumer, Producer::new(&producer_config)?, timeout)?;
    let started = Instant::now();
    let (mut done, mut transactions) = (0, 0);
    while done < count {
        let outcome = eos.process(1000, Duration::from_millis(200), |m| {
            let n: u64 = m.value_str().and_then(|v| v.parse().ok()).ok_or_else(|| {
                kafkit::Error::InvalidArgument(format!("not a number at offset {}", m.offset()))
            })?;
            Ok(vec![Record::to(&output).value(format!("{n}:{}", n * n))])
        })?;
        match outcome {
            BatchOutcome::Committed { inputs, .. } => {
                done += inputs;
                transactions += 1;
            }
            BatchOutcome::Aborted { inputs } => {
                println!("aborted a batch of {inputs}; reading it again")
            }
            _ => {}
        }
    }
    let took = started.elapsed();
    println!(
        "processed {done} records in {transactions} transactions in {took:.2?} ({:.0} records/s)",
        done as f64 / took.as_secs_f64()
    );
    eos.consumer().close()?;

    // Check: every number once in the committed output.
    let mut check_config = config.clone();
    check_config
        .group_id(&format!("eos-check-{stamp}"))?
        .set("isolation.level", "read_committed")?;
    let checker = Consumer::new(&check_config)?;
    checker.assign(&[(output.as_str(), 0, Offset::Beginning)])?;
    let mut seen = HashSet::new();
    let mut duplicates = 0;
    for message in checker.iter().idle_timeout(Duration::from_secs(5)) {
        let message = message?;
        let n: u64 = message
            .value_str()
            .and_then(|v| v.split(':').next())
            .and_then(|v| v.parse().ok())
            .ok_or("an output record that is not n:n²")?;
        if !seen.insert(n) {
            duplicates += 1;
        }
        if seen.len() == count && duplicates == 0 && n as usize == count - 1 {
            break;
        }
    }
    let missing = count - seen.len();
    println!(
        "output: {} distinct numbers, {missing} missing, {duplicates} duplicates",
        seen.len()
    );
    drop(cluster);
    if missing > 0 || duplicates > 0 {
        return Err("the output is not exactly once".into());
    }
    println!("exactly once: every number in the output once");
    Ok(())
}
