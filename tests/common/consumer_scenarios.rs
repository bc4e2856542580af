//! Consumer scenarios, run on the mock cluster (tests/consumer_mock.rs) and
//! on a real broker (tests/consumer_broker.rs).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use kafkit::{
    ClientConfig, Consumer, ErrorCode, Message, Offset, OffsetReset, Producer, RebalanceListener,
    Record, TopicPartition,
};

use super::{unique, Target};

/// A consumer config in a fresh group, reading from the beginning.
pub fn group_config(target: &Target, group: &str) -> ClientConfig {
    let mut config = target.config();
    config
        .group_id(group)
        .and_then(|c| c.auto_offset_reset(OffsetReset::Earliest))
        .and_then(|c| c.set("session.timeout.ms", "6000"))
        .and_then(|c| c.set("heartbeat.interval.ms", "500"))
        .expect("consumer config");
    config
}

/// Produces `n` records numbered `start..start+n` (value "i", key "k<i>"),
/// spread over the topic's partitions (or all to `partition`), and waits for
/// every delivery.
pub async fn produce(target: &Target, topic: &str, start: usize, n: usize, partition: Option<i32>) {
    let mut config = target.config();
    config.linger(Duration::from_millis(5)).expect("linger");
    let producer = Producer::new(&config).expect("producer");
    let mut pending = Vec::with_capacity(n.min(50_000));
    for i in start..start + n {
        let mut record = Record::to(topic).key(format!("k{i}")).value(i.to_string());
        if let Some(p) = partition {
            record = record.partition(p);
        }
        pending.push(producer.send(record).await.expect("enqueue"));
        if pending.len() >= 50_000 {
            for f in pending.drain(..) {
                f.await.expect("delivered");
            }
        }
    }
    for f in pending {
        f.await.expect("delivered");
    }
}

fn number(m: &Message) -> usize {
    m.value_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("unexpected value in {m:?}"))
}

/// Polls until `want` messages came or `timeout`; consumer errors fail.
fn poll_n(consumer: &Consumer, want: usize, timeout: Duration) -> Vec<Message> {
    let deadline = Instant::now() + timeout;
    let mut out = Vec::new();
    while out.len() < want && Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => out.push(m),
            Some(Err(e)) => panic!("consumer error: {e}"),
            None => {}
        }
    }
    out
}

/// How far (in messages) the producer of [`stream_keeps_up`] may run ahead
/// of the stream. The mock cluster keeps only about 5 MiB per partition and
/// deletes older data as new data comes, so a producer far ahead of a slow
/// (debug build, loaded machine) reader makes the consumer jump to the new
/// start of the log and skip records. 100,000 short records stay well
/// inside that, even if all go to one partition.
const MAX_LEAD: usize = 100_000;

/// A stream woken only by new data keeps up with a concurrent producer for
/// `n` messages: every number arrives once and no gap between two messages
/// is longer than a few seconds.
pub async fn stream_keeps_up(target: &Target, n: usize) {
    let topic = target.topic("stream-keeps-up", 3);
    let consumer = Consumer::new(&group_config(target, &unique("g"))).expect("consumer");
    consumer.subscribe(&[&topic]).expect("subscribe");
    let mut stream = consumer.stream();

    // The stream publishes how many messages it read; the producer waits
    // for it when it is MAX_LEAD ahead.
    let (read_tx, mut read_rx) = tokio::sync::watch::channel(0usize);
    let producer_target = target.config();
    let topic_p = topic.clone();
    let producer = tokio::spawn(async move {
        // Start once the consumer had time to join, so the stream is
        // woken by new data rather than reading a backlog.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let mut config = producer_target;
        config.linger(Duration::from_millis(5)).expect("linger");
        let producer = Producer::new(&config).expect("producer");
        let mut pending = Vec::new();
        for i in 0..n {
            while i >= *read_rx.borrow_and_update() + MAX_LEAD {
                read_rx.changed().await.expect("the stream stopped early");
            }
            let record = Record::to(topic_p.as_str()).value(i.to_string());
            pending.push(producer.send(record).await.expect("enqueue"));
            if pending.len() >= 20_000 {
                for f in pending.drain(..) {
                    f.await.expect("delivered");
                }
            }
        }
        for f in pending {
            f.await.expect("delivered");
        }
    });

    let mut seen = vec![false; n];
    let mut count = 0usize;
    let mut longest_gap = Duration::ZERO;
    let mut last = Instant::now();
    let stall = Duration::from_secs(20);
    while count < n {
        let Ok(next) = tokio::time::timeout(stall, stream.next()).await else {
            // Say where the missing records are: not produced, skipped
            // (log start moved past them) or fetched but not handed out.
            let positions = consumer.position(&[(&topic, 0), (&topic, 1), (&topic, 2)]);
            let marks: Vec<_> = (0..3)
                .map(|p| consumer.fetch_watermarks(&topic, p, Duration::from_secs(5)))
                .collect();
            panic!(
                "stream stalled for {stall:?} after {count} of {n}; producer done: {}; \
                 positions {positions:?}; watermarks (low, high) {marks:?}",
                producer.is_finished()
            );
        };
        let m = next.expect("stream ended").expect("message");
        let now = Instant::now();
        if count > 0 {
            longest_gap = longest_gap.max(now - last);
        }
        last = now;
        let i = number(&m);
        assert!(!seen[i], "message {i} read twice");
        seen[i] = true;
        count += 1;
        if count % 1000 == 0 {
            read_tx.send_replace(count);
        }
    }
    producer.await.expect("producer task");
    assert!(
        longest_gap < Duration::from_secs(5),
        "a gap of {longest_gap:?} between two messages"
    );
    drop(stream);
    consumer.close().expect("close");
}

/// Dropping pending `next()` futures, over and over, loses no message.
pub async fn dropped_next_loses_nothing(target: &Target) {
    let topic = target.topic("drop-next", 2);
    let n = 2_000;
    let consumer = Consumer::new(&group_config(target, &unique("g"))).expect("consumer");
    consumer.subscribe(&[&topic]).expect("subscribe");
    let mut stream = consumer.stream();
    let producer = {
        let target_config = target.config();
        let topic = topic.clone();
        tokio::spawn(async move {
            let producer = Producer::new(&target_config).expect("producer");
            for i in 0..n {
                let f = producer
                    .send(Record::to(topic.as_str()).value(i.to_string()))
                    .await
                    .expect("enqueue");
                if i % 100 == 0 {
                    f.await.expect("delivered");
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
            producer.flush(Duration::from_secs(30)).expect("flush");
        })
    };
    let mut seen = BTreeSet::new();
    let mut dropped = 0usize;
    let deadline = Instant::now() + Duration::from_secs(60);
    while seen.len() < n && Instant::now() < deadline {
        // A timeout that often fires while the future is pending, dropping it.
        match tokio::time::timeout(Duration::from_micros(200), stream.next()).await {
            Ok(Some(Ok(m))) => {
                assert!(seen.insert(number(&m)), "message read twice");
            }
            Ok(Some(Err(e))) => panic!("consumer error: {e}"),
            Ok(None) => panic!("stream ended"),
            Err(_) => dropped += 1,
        }
    }
    producer.await.expect("producer");
    assert_eq!(seen.len(), n, "read {} of {n}", seen.len());
    assert!(
        dropped > 0,
        "no pending next() was dropped; the test proved nothing"
    );
}

/// Records rebalances, commits in `on_revoked`.
#[derive(Clone, Default)]
pub struct Recorder {
    pub assigned: Arc<Mutex<Vec<TopicPartition>>>,
    pub revoked: Arc<Mutex<Vec<TopicPartition>>>,
    pub commit_on_revoke: bool,
    pub revoke_commit_errors: Arc<Mutex<Vec<String>>>,
}

impl RebalanceListener for Recorder {
    fn on_assigned(&mut self, _consumer: &Consumer, partitions: &[TopicPartition]) {
        self.assigned.lock().unwrap().extend_from_slice(partitions);
    }

    fn on_revoked(&mut self, consumer: &Consumer, partitions: &[TopicPartition]) {
        self.revoked.lock().unwrap().extend_from_slice(partitions);
        if self.commit_on_revoke {
            if let Err(e) = consumer.commit() {
                self.revoke_commit_errors
                    .lock()
                    .unwrap()
                    .push(e.to_string());
            }
        }
    }
}

/// Two consumers in one group split the partitions; when one leaves, the
/// other takes them all and reads nothing twice past the committed offsets.
pub async fn group_split_and_takeover(target: &Target, protocol: Option<&str>) {
    let partitions = 4;
    let topic = target.topic("group-split", partitions);
    let group = unique("g");
    let mut config = group_config(target, &group);
    config.enable_auto_commit(false).expect("auto commit");
    if let Some(p) = protocol {
        config.set("group.protocol", p).expect("group.protocol");
        if p == "consumer" {
            // The broker owns session and heartbeat settings with KIP-848.
            let mut c = target.config();
            c.group_id(&group)
                .and_then(|c| c.auto_offset_reset(OffsetReset::Earliest))
                .and_then(|c| c.enable_auto_commit(false))
                .and_then(|c| c.set("group.protocol", "consumer"))
                .expect("config");
            config = c;
        }
    } else {
        config
            .set("partition.assignment.strategy", "cooperative-sticky")
            .expect("strategy");
    }
    let rec_a = Recorder {
        commit_on_revoke: true,
        ..Recorder::default()
    };
    // Both commit in on_revoked, as an at-least-once consumer does: with the
    // eager protocol b's own partitions are revoked too when a leaves.
    let rec_b = Recorder {
        commit_on_revoke: true,
        ..Recorder::default()
    };
    let a = Consumer::builder(&config)
        .rebalance_listener(rec_a.clone())
        .build()
        .expect("consumer a");
    let b = Consumer::builder(&config)
        .rebalance_listener(rec_b.clone())
        .build()
        .expect("consumer b");
    a.subscribe(&[&topic]).expect("subscribe a");
    b.subscribe(&[&topic]).expect("subscribe b");

    // Poll both until each has a share of the partitions.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut read_a: Vec<Message> = Vec::new();
    let mut read_b: Vec<Message> = Vec::new();
    loop {
        for (c, out) in [(&a, &mut read_a), (&b, &mut read_b)] {
            if let Some(r) = c.poll(Duration::from_millis(50)) {
                out.push(r.expect("message"));
            }
        }
        let (sa, sb) = (a.assignment().unwrap(), b.assignment().unwrap());
        if !sa.is_empty() && !sb.is_empty() && sa.len() + sb.len() == partitions as usize {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the group never split: a={sa:?} b={sb:?}"
        );
    }
    let sa: BTreeSet<_> = a.assignment().unwrap().into_iter().collect();
    let sb: BTreeSet<_> = b.assignment().unwrap().into_iter().collect();
    assert!(sa.is_disjoint(&sb), "both own a partition: {sa:?} {sb:?}");
    assert!(a.member_id().is_some(), "a has a member id");

    produce(target, &topic, 0, 400, None).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while read_a.len() + read_b.len() < 400 && Instant::now() < deadline {
        for (c, out) in [(&a, &mut read_a), (&b, &mut read_b)] {
            if let Some(r) = c.poll(Duration::from_millis(20)) {
                out.push(r.expect("message"));
            }
        }
    }
    assert_eq!(
        read_a.len() + read_b.len(),
        400,
        "first 400 read by the pair"
    );
    assert!(
        !read_a.is_empty() && !read_b.is_empty(),
        "both read records"
    );
    for m in &read_a {
        assert!(sa.contains(&TopicPartition::new(m.topic(), m.partition())));
    }
    // b commits what it read; a commits in its revoke callback when leaving.
    b.commit().expect("b commits");
    let committed_by_a: Vec<(String, i32)> = sa
        .iter()
        .map(|tp| (tp.topic.clone(), tp.partition))
        .collect();
    drop(read_b);
    a.close().expect("a leaves");
    assert!(
        !rec_a.revoked.lock().unwrap().is_empty(),
        "a's listener saw its partitions revoked"
    );
    assert!(
        rec_a.revoke_commit_errors.lock().unwrap().is_empty(),
        "commit in on_revoked failed: {:?}",
        rec_a.revoke_commit_errors.lock().unwrap()
    );
    let parts: Vec<(&str, i32)> = committed_by_a
        .iter()
        .map(|(t, p)| (t.as_str(), *p))
        .collect();
    let committed = b
        .committed(&parts, Duration::from_secs(10))
        .expect("committed");
    let mut a_last: HashMap<i32, i64> = HashMap::new();
    for m in &read_a {
        let e = a_last.entry(m.partition()).or_insert(-1);
        *e = (*e).max(m.offset());
    }
    for c in &committed {
        let want = a_last
            .get(&c.partition)
            .map_or(Offset::Invalid, |o| Offset::At(o + 1));
        if want != Offset::Invalid {
            assert_eq!(
                c.offset, want,
                "a's revoke-time commit for partition {}",
                c.partition
            );
        }
    }

    // b takes over every partition. Nothing new is produced yet, so any
    // message b reads while the group settles is a re-read. (New records
    // are produced only after the takeover: a record b read during an eager
    // rebalance could only be committed in on_revoked, and a coordinator
    // answers that commit with REBALANCE_IN_PROGRESS once the group has
    // moved on to joining; then re-reading it is correct at-least-once.)
    let deadline = Instant::now() + Duration::from_secs(60);
    while b.assignment().map_or(0, |a| a.len()) < partitions as usize {
        assert!(
            Instant::now() < deadline,
            "b never took over: {:?}",
            b.assignment()
        );
        if let Some(r) = b.poll(Duration::from_millis(100)) {
            panic!("read past the committed offsets during the takeover: {r:?}");
        }
    }
    // Then it reads only what is new.
    produce(target, &topic, 400, 200, None).await;
    let mut later: Vec<Message> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline && later.len() < 200 {
        if let Some(r) = b.poll(Duration::from_millis(100)) {
            later.push(r.expect("message"));
        }
    }
    // Anything more would be a re-read.
    if let Some(Ok(extra)) = b.poll(Duration::from_millis(1500)) {
        panic!("read past the committed offsets again: {extra:?}");
    }
    assert_eq!(
        b.assignment().unwrap().len(),
        partitions as usize,
        "b owns all"
    );
    let numbers: BTreeSet<usize> = later.iter().map(number).collect();
    assert_eq!(later.len(), 200, "b read the 200 new records once each");
    assert_eq!(numbers, (400..600).collect(), "exactly the new records");
    assert!(
        rec_b.assigned.lock().unwrap().len() >= partitions as usize,
        "b's listener saw the takeover: {:?}",
        rec_b.assigned.lock().unwrap()
    );
    b.close().expect("close b");
}

/// At-least-once with stored offsets: a consumer that processed 100 records
/// but stored offsets for only the first 60 is dropped without committing;
/// the next one re-reads exactly the 40-record tail.
pub async fn stored_offsets_reread_tail(target: &Target) {
    let topic = target.topic("stored", 1);
    produce(target, &topic, 0, 100, Some(0)).await;
    let group = unique("g");
    let mut config = group_config(target, &group);
    config
        .set("enable.auto.offset.store", "false")
        .and_then(|c| c.set("auto.commit.interval.ms", "200"))
        .expect("config");
    {
        let first = Consumer::new(&config).expect("consumer");
        first.subscribe(&[&topic]).expect("subscribe");
        let read = poll_n(&first, 100, Duration::from_secs(30));
        assert_eq!(read.len(), 100);
        for m in &read[..60] {
            first.store_offset(m).expect("store");
        }
        // Dropped here: no explicit commit (auto commit sends what is stored).
    }
    let second = Consumer::new(&config).expect("consumer");
    second.subscribe(&[&topic]).expect("subscribe");
    let read = poll_n(&second, 40, Duration::from_secs(30));
    let offsets: Vec<i64> = read.iter().map(Message::offset).collect();
    assert_eq!(offsets, (60..100).collect::<Vec<i64>>(), "re-read the tail");
    if let Some(Ok(extra)) = second.poll(Duration::from_millis(1000)) {
        panic!("read more than the tail: {extra:?}");
    }
}

/// The idle timeout ends the iterator; an iterator reads what is there.
pub async fn idle_timeout_ends_iterator(target: &Target) {
    let topic = target.topic("idle", 1);
    produce(target, &topic, 0, 20, None).await;
    let consumer = Consumer::new(&group_config(target, &unique("g"))).expect("consumer");
    consumer.subscribe(&[&topic]).expect("subscribe");
    let idle = Duration::from_millis(1500);
    let start = Instant::now();
    let mut last_message = start;
    let mut n = 0;
    for m in consumer.iter().idle_timeout(Duration::from_secs(15)) {
        m.expect("message");
        n += 1;
        last_message = Instant::now();
        if n == 20 {
            break;
        }
    }
    assert_eq!(n, 20);
    let mut more = 0;
    let before = Instant::now();
    for m in consumer.iter().idle_timeout(idle) {
        m.expect("message");
        more += 1;
    }
    let waited = before.elapsed();
    assert_eq!(more, 0, "nothing more to read");
    assert!(
        waited >= idle && waited < idle + Duration::from_secs(3),
        "iterator ended after {waited:?} for an idle timeout of {idle:?}"
    );
    let _ = last_message;
}

/// Batches respect max and within, blocking and as a stream.
pub async fn batches_respect_max_and_within(target: &Target) {
    let topic = target.topic("batches", 1);
    produce(target, &topic, 0, 250, Some(0)).await;
    let consumer = Consumer::new(&group_config(target, &unique("g"))).expect("consumer");
    consumer
        .assign(&[(&topic, 0, Offset::Beginning)])
        .expect("assign");
    let mut sizes = Vec::new();
    let mut total = 0;
    let deadline = Instant::now() + Duration::from_secs(30);
    while total < 250 && Instant::now() < deadline {
        let batch = consumer
            .consume_batch(100, Duration::from_secs(2))
            .expect("batch");
        assert!(batch.len() <= 100, "a batch of {} > max", batch.len());
        total += batch.len();
        if !batch.is_empty() {
            sizes.push(batch.len());
        }
    }
    assert_eq!(total, 250);
    assert!(
        sizes.iter().filter(|s| **s == 100).count() >= 2,
        "full batches: {sizes:?}"
    );
    // Nothing left: the call returns an empty batch after `within`.
    let within = Duration::from_millis(400);
    let start = Instant::now();
    let empty = consumer.consume_batch(100, within).expect("batch");
    let took = start.elapsed();
    assert!(empty.is_empty());
    assert!(
        took >= within - Duration::from_millis(20) && took < within + Duration::from_secs(2),
        "an empty batch took {took:?} for within {within:?}"
    );

    // As a stream: 250 new records in batches of at most 100; the partial
    // last batch comes `within` after its first message.
    produce(target, &topic, 250, 250, Some(0)).await;
    let within = Duration::from_millis(800);
    let mut batches = consumer.batches(100, within);
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while got.iter().map(Vec::len).sum::<usize>() < 250 && Instant::now() < deadline {
        let start = Instant::now();
        let batch = tokio::time::timeout(Duration::from_secs(10), batches.next())
            .await
            .expect("a batch within 10 s")
            .expect("stream")
            .expect("batch");
        assert!(!batch.is_empty() && batch.len() <= 100);
        if batch.len() < 100 {
            assert!(
                start.elapsed() < within + Duration::from_secs(2),
                "partial batch held too long"
            );
        }
        got.push(batch);
    }
    let all: Vec<usize> = got.iter().flatten().map(number).collect();
    assert_eq!(all, (250..500).collect::<Vec<_>>(), "in order, once each");
}

/// seek, pause and resume behave; watermarks and offsets for times answer.
pub async fn seek_pause_resume(target: &Target) {
    let topic = target.topic("seek", 1);
    produce(target, &topic, 0, 50, Some(0)).await;
    let consumer = Consumer::new(&group_config(target, &unique("g"))).expect("consumer");
    consumer
        .assign(&[(&topic, 0, Offset::Beginning)])
        .expect("assign");
    let first = poll_n(&consumer, 10, Duration::from_secs(20));
    assert_eq!(first.len(), 10);
    assert_eq!(first[0].offset(), 0);
    let (low, high) = consumer
        .fetch_watermarks(&topic, 0, Duration::from_secs(10))
        .expect("watermarks");
    assert_eq!((low, high), (0, 50));
    assert!(
        consumer.cached_watermarks(&topic, 0).is_some(),
        "cached after fetching"
    );

    consumer
        .seek(&topic, 0, Offset::At(5), Duration::from_secs(10))
        .expect("seek");
    let after_seek = poll_n(&consumer, 1, Duration::from_secs(10));
    assert_eq!(after_seek[0].offset(), 5, "read resumes at the seek offset");
    let pos = consumer.position(&[(&topic, 0)]).expect("position");
    assert_eq!(pos[0].offset, Offset::At(6));

    consumer.pause(&[(&topic, 0)]).expect("pause");
    assert_eq!(
        consumer.paused().unwrap(),
        vec![TopicPartition::new(&topic, 0)]
    );
    if let Some(r) = consumer.poll(Duration::from_millis(1500)) {
        panic!("read while paused: {r:?}");
    }
    consumer.resume(&[(&topic, 0)]).expect("resume");
    assert!(consumer.paused().unwrap().is_empty());
    let resumed = poll_n(&consumer, 1, Duration::from_secs(10));
    assert_eq!(resumed[0].offset(), 6, "nothing skipped across the pause");

    consumer
        .seek_to_end(&[(&topic, 0)], Duration::from_secs(10))
        .expect("seek to end");
    if let Some(r) = consumer.poll(Duration::from_millis(800)) {
        panic!("read after seeking to the end: {r:?}");
    }
    consumer
        .seek_to_beginning(&[(&topic, 0)], Duration::from_secs(10))
        .expect("seek to beginning");
    let again = poll_n(&consumer, 1, Duration::from_secs(10));
    assert_eq!(again[0].offset(), 0);

    // offsets_for_times: a timestamp in the future has no offset yet; one
    // in the past gives the first message.
    let future = first[0].timestamp().millis().unwrap_or(0) + 3_600_000;
    if matches!(target, Target::Broker(_)) {
        // The mock cluster answers only the special timestamps.
        let answer = consumer
            .offsets_for_times(&[(&topic, 0, 0)], Duration::from_secs(10))
            .expect("offsets for times");
        assert_eq!(answer[0].offset, Offset::At(0));
    }
    let answer = consumer
        .offsets_for_times(&[(&topic, 0, future)], Duration::from_secs(10))
        .expect("offsets for times");
    assert_eq!(answer[0].offset, Offset::End);
}

/// Commits: async with a result, sync per message, committed reads them.
pub async fn commits(target: &Target) {
    let topic = target.topic("commits", 2);
    produce(target, &topic, 0, 40, None).await;
    let mut config = group_config(target, &unique("g"));
    config.enable_auto_commit(false).expect("config");
    let consumer = Consumer::new(&config).expect("consumer");
    consumer.subscribe(&[&topic]).expect("subscribe");
    let read = poll_n(&consumer, 40, Duration::from_secs(30));
    assert_eq!(read.len(), 40);
    let committed = consumer.commit_async().await.expect("async commit");
    let mut want: BTreeMap<i32, i64> = BTreeMap::new();
    for m in &read {
        let e = want.entry(m.partition()).or_insert(0);
        *e = (*e).max(m.offset() + 1);
    }
    let got: BTreeMap<i32, i64> = committed
        .iter()
        .filter_map(|c| c.offset.value().map(|o| (c.partition, o)))
        .collect();
    assert_eq!(got, want, "the async commit reports the positions");
    let parts: Vec<(&str, i32)> = want.keys().map(|p| (topic.as_str(), *p)).collect();
    let stored = consumer
        .committed(&parts, Duration::from_secs(10))
        .expect("committed");
    let stored: BTreeMap<i32, i64> = stored
        .iter()
        .filter_map(|c| c.offset.value().map(|o| (c.partition, o)))
        .collect();
    assert_eq!(stored, want);

    // commit_message moves one partition back to just after a message.
    let m = read
        .iter()
        .find(|m| m.offset() == 3)
        .expect("offset 3 read");
    consumer.commit_message(m).expect("commit message");
    let stored = consumer
        .committed(&[(&topic, m.partition())], Duration::from_secs(10))
        .expect("committed");
    assert_eq!(stored[0].offset, Offset::At(4));
    // Nothing new consumed: commit() is not an error.
    consumer.commit().expect("empty commit");
    consumer.close().expect("close");
    assert!(consumer.commit().is_err(), "commit after close fails");
    assert!(matches!(
        consumer.commit_async().await,
        Err(kafkit::Error::Closed(_))
    ));
}

/// read_to_end reads what the assigned partitions hold, then ends; a JSON
/// decode error leaves the message to the caller.
pub async fn read_to_end_and_json(target: &Target) {
    let topic = target.topic("to-end", 3);
    produce(target, &topic, 0, 90, None).await;
    let consumer = Consumer::new(&group_config(target, &unique("g"))).expect("consumer");
    consumer
        .assign(&[
            (&topic, 0, Offset::Beginning),
            (&topic, 1, Offset::Beginning),
            (&topic, 2, Offset::Beginning),
        ])
        .expect("assign");
    let read: Vec<Message> = consumer
        .read_to_end(Duration::from_secs(10))
        .expect("read to end")
        .idle_timeout(Duration::from_secs(20))
        .map(|r| r.expect("message"))
        .collect();
    let numbers: BTreeSet<usize> = read.iter().map(number).collect();
    assert_eq!(read.len(), 90);
    assert_eq!(numbers, (0..90).collect());
    // Values are numbers: JSON decodes them; as a struct it fails, and the
    // message is still there.
    let n: usize = read[0].json().expect("json number");
    assert_eq!(n, number(&read[0]));
    #[derive(serde::Deserialize, Debug)]
    struct User {
        #[allow(dead_code)]
        name: String,
    }
    assert!(read[0].json::<User>().is_err());
    assert_eq!(
        read[0].key().map(|k| k.to_vec()),
        Some(format!("k{n}").into_bytes())
    );
    // Partitions were resumed: new records are read.
    produce(target, &topic, 90, 3, Some(1)).await;
    let more = poll_n(&consumer, 3, Duration::from_secs(20));
    assert_eq!(more.len(), 3);
}

/// Subscribing to a missing topic yields a clear error rather than a hang.
pub async fn missing_topic_is_reported(target: &Target) {
    let topic = unique("missing");
    let mut config = group_config(target, &unique("g"));
    config
        .set("topic.metadata.propagation.max.ms", "1000")
        .expect("config");
    let consumer = Consumer::new(&config).expect("consumer");
    consumer.subscribe(&[&topic]).expect("subscribe");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        assert!(Instant::now() < deadline, "no error for a missing topic");
        match consumer.poll(Duration::from_millis(200)) {
            Some(Err(e)) => {
                assert_eq!(e.code(), Some(ErrorCode::UnknownTopicOrPart), "{e}");
                assert!(
                    e.to_string().contains(&topic),
                    "the error names the topic: {e}"
                );
                break;
            }
            Some(Ok(m)) => panic!("a message from a missing topic: {m:?}"),
            None => {}
        }
    }
}
