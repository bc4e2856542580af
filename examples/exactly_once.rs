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
//!
//! The processing instance alone, as it would run in a deployment (on the
//! broker of `KAFKA_BOOTSTRAP_SERVERS`): it joins `GROUP`, processes until
//! `TOTAL` input records are committed in the group, and exits. Kill it at
//! any point and start it again with the same arguments: it goes on where
//! the last committed transaction ended, and the output still has every
//! input once.
//!
//! ```sh
//! cargo run --example exactly_once -- process INPUT OUTPUT GROUP TRANSACTIONAL_ID TOTAL
//! ```

use std::collections::HashSet;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use kafkit::{
    AdminClient, AdminOptions, BatchOutcome, ClientConfig, Consumer, Error, ExactlyOnce, Message,
    MockCluster, NewTopic, Offset, Producer, Record,
};

/// The bound of every transactional call.
const TIMEOUT: Duration = Duration::from_secs(30);

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("process") => process_command(&args[1..]),
        _ => demo(args.first()),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The record made of one input: "n:n²".
fn transform(m: &Message, output: &str) -> Result<Vec<Record>, Error> {
    let n: u64 = m
        .value_str()
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| Error::InvalidArgument(format!("not a number at offset {}", m.offset())))?;
    Ok(vec![Record::to(output).value(format!("{n}:{}", n * n))])
}

/// One processing instance: a group consumer of `input` and a producer
/// with `transactional_id`.
fn instance(
    config: &ClientConfig,
    input: &str,
    group: &str,
    transactional_id: &str,
) -> Result<ExactlyOnce, Error> {
    let mut consumer_config = config.clone();
    consumer_config
        .group_id(group)?
        .enable_auto_commit(false)?
        .set("auto.offset.reset", "earliest")?
        // A restarted instance joins while the group still counts the one
        // it replaces: the shortest session a broker accepts lets the
        // group drop the dead member sooner.
        .set("session.timeout.ms", "6000")?;
    let consumer = Consumer::new(&consumer_config)?;
    consumer.subscribe(&[input])?;
    let mut producer_config = config.clone();
    producer_config.set("transactional.id", transactional_id)?;
    // Initialising fences an older producer with the same transactional id
    // and aborts the transaction it left open.
    ExactlyOnce::new(consumer, Producer::new(&producer_config)?, TIMEOUT)
}

/// Inputs committed in the group so far: the sum of the group's committed
/// offsets over the assigned partitions (a partition that an earlier
/// instance finished has no position in this one, but has its offset).
fn consumed(eos: &ExactlyOnce) -> Result<u64, Error> {
    let assigned: Vec<(String, i32)> = eos
        .consumer()
        .assignment()?
        .into_iter()
        .map(|tp| (tp.topic, tp.partition))
        .collect();
    let partitions: Vec<(&str, i32)> = assigned.iter().map(|(t, p)| (t.as_str(), *p)).collect();
    let mut total = 0;
    for p in eos.consumer().committed(&partitions, TIMEOUT)? {
        if let Offset::At(n) = p.offset {
            total += n.max(0) as u64;
        }
    }
    Ok(total)
}

/// `process INPUT OUTPUT GROUP TRANSACTIONAL_ID TOTAL`.
fn process_command(args: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let [input, output, group, transactional_id, total] = args else {
        return Err("usage: exactly_once process INPUT OUTPUT GROUP TRANSACTIONAL_ID TOTAL".into());
    };
    let total: u64 = total
        .parse()
        .map_err(|_| format!("TOTAL must be a number, not {total:?}"))?;
    let config = ClientConfig::from_env()?;
    let eos = instance(&config, input, group, transactional_id)?;
    let started = Instant::now();
    let mut transactions = 0;
    loop {
        match eos.process(1000, Duration::from_millis(200), |m| transform(m, output))? {
            BatchOutcome::Committed { inputs, .. } => {
                transactions += 1;
                println!("committed {inputs} inputs");
            }
            BatchOutcome::Aborted { inputs } => println!("aborted {inputs} inputs"),
            _ => {
                // Idle (no transaction open): all input is read when the
                // committed offsets of a full assignment add up to the
                // total.
                if consumed(&eos)? >= total {
                    break;
                }
            }
        }
    }
    eos.consumer().close()?;
    println!(
        "done: {total} inputs committed in the group; this instance committed {transactions} \
         transactions in {:.2?}",
        started.elapsed()
    );
    Ok(())
}

/// The whole demonstration: input, processing, check.
fn demo(count: Option<&String>) -> Result<(), Box<dyn std::error::Error>> {
    let count: usize = match count {
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

    // The input: the numbers 0..count.
    let producer = Producer::new(&config)?;
    for n in 0..count {
        drop(producer.send_blocking(Record::to(&input).value(n.to_string()), TIMEOUT)?);
    }
    producer.flush(TIMEOUT)?;
    println!("wrote {count} numbers to {input}");

    // The processing instance: a group consumer and a transactional producer.
    let eos = instance(
        &config,
        &input,
        &format!("eos-group-{stamp}"),
        &format!("eos-example-{stamp}"),
    )?;
    let started = Instant::now();
    let (mut done, mut transactions) = (0, 0);
    while done < count {
        match eos.process(1000, Duration::from_millis(200), |m| transform(m, &output))? {
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
