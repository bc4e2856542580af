//! Windowed tables: tumbling and hopping counts over event time, expiry,
//! and restore after a restart.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::StreamExt;
use kafkit::streams::{App, WindowedTable, Windows};
use kafkit::{I64Codec, Producer, Record, StringCodec, TypedTopic};

use super::stream_scenarios::{app_config, lag_is_zero, logs, read_all, wait_for};
use super::{unique, Target};

/// A base time on a 10 s boundary.
const T0: i64 = 1_700_000_000_000;

type Counts = BTreeMap<(String, i64), i64>;

fn counts(table: &WindowedTable<String, i64>) -> Counts {
    table
        .entries()
        .expect("entries")
        .into_iter()
        .map(|(k, w, n)| {
            assert_eq!(w.end - w.start, 10_000, "a 10 s window");
            ((k, w.start - T0), n)
        })
        .collect()
}

fn expected(pairs: &[(&str, i64, i64)]) -> Counts {
    pairs
        .iter()
        .map(|(k, s, n)| ((k.to_string(), *s), *n))
        .collect()
}

/// Counts words in 10 s tumbling windows (kept 5 s after their end) and in
/// 10 s windows hopping by 5 s; the events' timestamps are event time.
fn counter(
    target: &Target,
    id: &str,
    words: &str,
) -> (App, WindowedTable<String, i64>, WindowedTable<String, i64>) {
    let mut app = App::builder(id, &app_config(target))
        .commit_interval(Duration::from_millis(100))
        .build()
        .expect("app");
    let codecs = TypedTopic::new("", StringCodec, I64Codec);
    let tumbling = app
        .windowed_table(
            "tumbling",
            words,
            &codecs,
            Windows::tumbling(Duration::from_secs(10)).expires(Duration::from_secs(5)),
        )
        .expect("tumbling table");
    let hopping = app
        .windowed_table(
            "hopping",
            words,
            &codecs,
            Windows::hopping(Duration::from_secs(10), Duration::from_secs(5)),
        )
        .expect("hopping table");
    let topic = TypedTopic::new(words, StringCodec, StringCodec);
    let (t, h) = (tumbling.clone(), hopping.clone());
    app.agent("count", &topic, move |mut stream| {
        let (t, h) = (t.clone(), h.clone());
        async move {
            let (t, h) = (stream.windowed(&t)?, stream.windowed(&h)?);
            while let Some(event) = stream.next().await {
                let event = event?;
                let at = event.message().timestamp().millis().unwrap_or(0);
                t.update(&event.key, at, |n| n.unwrap_or(0) + 1).await?;
                h.update(&event.key, at, |n| n.unwrap_or(0) + 1).await?;
            }
            Ok(())
        }
    })
    .expect("agent");
    (app, tumbling, hopping)
}

/// Tumbling and hopping windows count each event in the windows that hold
/// its timestamp; windows are removed once stream time passes their end
/// plus their expiry, and a late event for an expired window is ignored;
/// started again, the app restores every window from the changelogs.
pub async fn windowed_counts(target: &Target) {
    logs();
    let words = target.topic("st-win-words", 1);
    let id = unique("st-win-app");
    if let Target::Mock(mock) = target {
        for table in ["tumbling", "hopping"] {
            mock.create_topic(&format!("{id}-{table}-changelog"), 1, 1)
                .expect("changelog");
        }
    }
    let producer = Producer::new(&target.config()).expect("producer");
    let events = [
        ("ant", 1_000),
        ("ant", 2_000),
        ("bee", 3_000),
        ("ant", 12_000),
        ("bee", 16_000),
        ("cat", 23_000),
        ("ant", 4_000), // late: its windows have expired
    ];
    for (word, at) in events {
        let record = Record::to(words.as_str())
            .key(word)
            .value(word)
            .timestamp(T0 + at);
        producer
            .send(record)
            .await
            .expect("send")
            .await
            .expect("delivered");
    }
    let want_tumbling = expected(&[("ant", 10_000, 1), ("bee", 10_000, 1), ("cat", 20_000, 1)]);
    let want_hopping = expected(&[
        ("ant", 5_000, 1),
        ("ant", 10_000, 1),
        ("bee", 10_000, 1),
        ("bee", 15_000, 1),
        ("cat", 15_000, 1),
        ("cat", 20_000, 1),
    ]);
    for round in 1..=2 {
        let (app, tumbling, hopping) = counter(target, &id, &words);
        let handle = app.handle();
        let run = tokio::spawn(app.run_until(std::future::pending()));
        wait_for("every event processed", Duration::from_secs(60), || {
            handle.is_ready() && lag_is_zero(target, &id, &words, 1)
        })
        .await;
        let (t, h) = (counts(&tumbling), counts(&hopping));
        handle.stop();
        run.await.expect("join").expect("clean stop");
        eprintln!("round {round}: tumbling {t:?}, hopping {h:?}");
        assert_eq!(t, want_tumbling, "round {round}: tumbling windows");
        assert_eq!(h, want_hopping, "round {round}: hopping windows");
    }
    // The expired windows left tombstones in the changelog.
    let changelog = read_all(target, &format!("{id}-tumbling-changelog"), 1, false);
    let tombstones = changelog.iter().filter(|m| m.value().is_none()).count();
    assert_eq!(
        tombstones, 2,
        "ant and bee of the first window were removed"
    );
}
