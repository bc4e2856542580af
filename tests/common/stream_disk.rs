//! Tables kept on disk (`AppBuilder::state_dir`, the `disk-store`
//! feature).
#![cfg(feature = "disk-store")]

use std::path::Path;
use std::time::Duration;

use futures::StreamExt;
use kafkit::streams::App;
use kafkit::{I64Codec, StringCodec, TypedTopic};

use super::stream_scenarios::{app_config, logs, send_words, wait_for};
use super::{unique, Target};

/// Files under `dir`, recursively.
fn files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let path = e.path();
            if path.is_dir() {
                out.extend(files(&path));
            } else {
                out.push(path.file_name().unwrap().to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    out
}

/// A word count whose table lives in redb files: the files exist while
/// the app runs (one per partition), the counts are right, they go on
/// after a restart (rebuilt from the changelog), and the files are removed
/// when the app stops.
pub async fn table_on_disk_survives_a_restart(target: &Target) {
    logs();
    let words = target.topic("st-disk-words", 2);
    let id = unique("st-disk-app");
    if let Target::Mock(mock) = target {
        mock.create_topic(&format!("{id}-counts-changelog"), 2, 1)
            .expect("changelog");
    }
    let dir = std::env::temp_dir().join(unique("kafkit-state"));
    let batch: Vec<String> = ["ant", "bee", "cat", "dog"]
        .iter()
        .cycle()
        .take(400)
        .map(|w| w.to_string())
        .collect();
    for round in 1..=2i64 {
        send_words(target, &words, &batch).await;
        let mut app = App::builder(&id, &app_config(target))
            .commit_interval(Duration::from_millis(100))
            .instance("disk")
            .state_dir(&dir)
            .build()
            .expect("app");
        let table = app
            .table(
                "counts",
                &words,
                &TypedTopic::new("", StringCodec, I64Codec),
            )
            .expect("table");
        let t = table.clone();
        let topic = TypedTopic::new(words.as_str(), StringCodec, StringCodec);
        app.agent("count", &topic, move |mut stream| {
            let t = t.clone();
            async move {
                let counts = stream.table(&t)?;
                while let Some(event) = stream.next().await {
                    counts.update(&event?.key, |n| n.unwrap_or(0) + 1).await?;
                }
                Ok(())
            }
        })
        .expect("agent");
        let handle = app.handle();
        let run = tokio::spawn(app.run_until(std::future::pending()));
        let expected = 100 * round;
        let t = table.clone();
        wait_for("every word counted", Duration::from_secs(60), || {
            t.entries()
                .map(|e| e.len() == 4 && e.iter().all(|(_, n)| *n >= expected))
                .unwrap_or(false)
        })
        .await;
        let on_disk = files(&dir);
        let mut counts = table.entries().expect("entries");
        counts.sort();
        handle.stop();
        run.await.expect("join").expect("clean stop");
        eprintln!("round {round}: {counts:?}, files {on_disk:?}");
        assert_eq!(
            on_disk,
            vec!["counts-0.redb".to_string(), "counts-1.redb".to_string()]
        );
        assert!(
            counts.iter().all(|(_, n)| *n == expected),
            "round {round}: every word {expected} times, not {counts:?}"
        );
        assert!(files(&dir).is_empty(), "the files are removed at the stop");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
