//! Configs, ACLs, SCRAM users and SASL credentials against the real broker.

mod common;

use std::time::Duration;

use common::tool::kafka_sh;
use common::{unique, Target};
use kafkit::{
    AdminClient, AdminOptions, AlterConfigOp, ConfigResource, ConfigSource, ErrorCode, NewTopic,
};

const TOOL_TIMEOUT: Duration = Duration::from_secs(60);

fn admin(target: &Target) -> AdminClient {
    AdminClient::new(&target.config()).unwrap()
}

fn opts() -> AdminOptions {
    AdminOptions::new().request_timeout(Duration::from_secs(30))
}

async fn create_topic(admin: &AdminClient, name: &str) {
    let res = admin
        .create_topics(&[NewTopic::new(name, 1, 1)], &opts())
        .await
        .unwrap();
    assert!(res[0].is_ok(), "{:?}", res[0].result);
}

async fn delete_topic(admin: &AdminClient, name: &str) {
    let _ = admin.delete_topics(&[name], &opts()).await;
}

/// The topic's configs as `kafka-configs --describe` prints them.
fn tool_topic_configs(bootstrap: &str, topic: &str) -> String {
    let run = kafka_sh(
        &[
            "configs",
            "--bootstrap-server",
            bootstrap,
            "--entity-type",
            "topics",
            "--entity-name",
            topic,
            "--describe",
        ],
        None,
        TOOL_TIMEOUT,
    );
    assert!(run.ok(), "{}", run.describe());
    run.stdout_text()
}

async fn topic_value(admin: &AdminClient, topic: &str, name: &str) -> Option<String> {
    let res = admin
        .describe_configs(&[ConfigResource::topic(topic)], &opts())
        .await
        .unwrap();
    let entries = res.into_iter().next().unwrap().result.unwrap();
    entries
        .into_iter()
        .find(|e| e.name == name)
        .and_then(|e| e.value)
}

#[test]
fn broker_admin_describe_and_alter_configs() {
    let Some(target) = Target::broker("broker_admin_describe_and_alter_configs") else {
        return;
    };
    let bootstrap = target.bootstrap();
    common::runtime().block_on(async {
        let admin = admin(&target);
        let topic = unique("cfg");
        let res = admin
            .create_topics(
                &[NewTopic::new(&topic, 1, 1).config("retention.ms", "7200000")],
                &opts(),
            )
            .await
            .unwrap();
        assert!(res[0].is_ok(), "{:?}", res[0].result);

        // Describe a topic and broker 1.
        let res = admin
            .describe_configs(
                &[ConfigResource::topic(&topic), ConfigResource::broker(1)],
                &opts(),
            )
            .await
            .unwrap();
        assert_eq!(res.len(), 2);
        assert_eq!(res[0].resource, ConfigResource::topic(&topic));
        let topic_entries = res[0].result.as_ref().unwrap();
        let retention = topic_entries
            .iter()
            .find(|e| e.name == "retention.ms")
            .unwrap();
        assert_eq!(retention.value.as_deref(), Some("7200000"));
        assert_eq!(retention.source, ConfigSource::DynamicTopic);
        assert!(!retention.default && !retention.read_only && !retention.sensitive);
        let cleanup = topic_entries
            .iter()
            .find(|e| e.name == "cleanup.policy")
            .unwrap();
        assert!(cleanup.default, "{cleanup:?}");
        assert_eq!(res[1].resource, ConfigResource::broker(1));
        let broker_entries = res[1].result.as_ref().unwrap();
        let node = broker_entries.iter().find(|e| e.name == "node.id").unwrap();
        assert_eq!(node.value.as_deref(), Some("1"));
        assert!(node.read_only);
        assert_eq!(node.source, ConfigSource::StaticBroker);
        assert!(
            node.synonyms
                .iter()
                .any(|s| s.source == ConfigSource::StaticBroker),
            "{node:?}"
        );
        let tool = tool_topic_configs(&bootstrap, &topic);
        assert!(tool.contains("retention.ms=7200000"), "{tool}");

        // Incremental alter: set retention.ms.
        let changes = [(
            ConfigResource::topic(&topic),
            vec![("retention.ms", AlterConfigOp::Set("3600000".into()))],
        )];
        let res = admin
            .incremental_alter_configs(&changes, &opts())
            .await
            .unwrap();
        assert!(res[0].is_ok(), "{:?}", res[0].result);
        let tool = tool_topic_configs(&bootstrap, &topic);
        assert!(tool.contains("retention.ms=3600000"), "{tool}");

        // validate_only changes nothing.
        let changes = [(
            ConfigResource::topic(&topic),
            vec![("retention.ms", AlterConfigOp::Set("1000".into()))],
        )];
        let res = admin
            .incremental_alter_configs(&changes, &opts().validate_only(true))
            .await
            .unwrap();
        assert!(res[0].is_ok(), "{:?}", res[0].result);
        assert_eq!(
            topic_value(&admin, &topic, "retention.ms").await.as_deref(),
            Some("3600000")
        );

        // An unknown name and a bad value: per-resource errors, nothing
        // changed.
        for (name, value) in [("no.such.config", "1"), ("retention.ms", "not-a-number")] {
            let changes = [(
                ConfigResource::topic(&topic),
                vec![
                    ("segment.ms", AlterConfigOp::Set("100000".into())),
                    (name, AlterConfigOp::Set(value.into())),
                ],
            )];
            let res = admin
                .incremental_alter_configs(&changes, &opts())
                .await
                .unwrap();
            let err = res[0].result.as_ref().unwrap_err();
            assert_eq!(err.code(), Some(ErrorCode::InvalidConfig), "{err}");
            assert_eq!(
                topic_value(&admin, &topic, "retention.ms").await.as_deref(),
                Some("3600000")
            );
            assert_ne!(
                topic_value(&admin, &topic, "segment.ms").await.as_deref(),
                Some("100000")
            );
        }

        // Delete goes back to the default.
        let changes = [(
            ConfigResource::topic(&topic),
            vec![("retention.ms", AlterConfigOp::Delete)],
        )];
        let res = admin
            .incremental_alter_configs(&changes, &opts())
            .await
            .unwrap();
        assert!(res[0].is_ok(), "{:?}", res[0].result);
        assert_eq!(
            topic_value(&admin, &topic, "retention.ms").await.as_deref(),
            Some("604800000")
        );

        // The whole-set form: max.message.bytes set, nothing else dynamic.
        let res = admin
            .alter_configs(
                &[(
                    ConfigResource::topic(&topic),
                    vec![("max.message.bytes", "200000")],
                )],
                &opts(),
            )
            .await
            .unwrap();
        assert!(res[0].is_ok(), "{:?}", res[0].result);
        let tool = tool_topic_configs(&bootstrap, &topic);
        assert!(tool.contains("max.message.bytes=200000"), "{tool}");
        let res = admin
            .alter_configs(
                &[(
                    ConfigResource::topic(&topic),
                    vec![("max.message.bytes", "x")],
                )],
                &opts(),
            )
            .await
            .unwrap();
        let err = res[0].result.as_ref().unwrap_err();
        assert_eq!(err.code(), Some(ErrorCode::InvalidConfig), "{err}");
        assert_eq!(
            topic_value(&admin, &topic, "max.message.bytes")
                .await
                .as_deref(),
            Some("200000")
        );

        delete_topic(&admin, &topic).await;
    });
}
