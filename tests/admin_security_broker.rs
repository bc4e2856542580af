//! Configs, ACLs, SCRAM users and SASL credentials against the real broker.

mod common;

use std::time::Duration;

use common::tool::kafka_sh;
use common::{unique, Target};
use kafkit::{
    AdminClient, AdminOptions, AlterConfigOp, ConfigResource, ConfigSource, ErrorCode, NewTopic,
};

const TOOL_TIMEOUT: Duration = Duration::from_secs(60);

/// The ACL test puts an ACL on the cluster resource for a few seconds,
/// which changes what every non-super principal may do meanwhile: the tests
/// of this file run one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

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
    let _serial = serial();
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

/// A client config on the SASL listener as `user`.
fn sasl_config(mechanism: &str, user: &str, password: &str) -> kafkit::ClientConfig {
    let servers =
        std::env::var("KAFKA_SASL_BOOTSTRAP_SERVERS").unwrap_or_else(|_| "127.0.0.1:9094".into());
    let mut c = kafkit::ClientConfig::new();
    c.bootstrap_servers(&servers)
        .unwrap()
        .set("security.protocol", "SASL_PLAINTEXT")
        .unwrap()
        .sasl(mechanism, user, password)
        .unwrap()
        .set("enable.idempotence", "false")
        .unwrap()
        .message_timeout(Duration::from_secs(10))
        .unwrap();
    c
}

/// Produces one record as `config`'s user: Ok, or the delivery error's code.
async fn produce_as(config: &kafkit::ClientConfig, topic: &str) -> Result<(), Option<ErrorCode>> {
    let producer = kafkit::Producer::new(config).unwrap();
    let delivery = producer
        .send(kafkit::Record::to(topic).value("v"))
        .await
        .map_err(|e| e.error.code())?;
    delivery.await.map(|_| ()).map_err(|e| e.error.code())
}

/// Produces until the outcome is `want` (ACL changes reach the authorizer
/// through the metadata log), for at most 30 s.
async fn produce_until(
    config: &kafkit::ClientConfig,
    topic: &str,
    want: Result<(), Option<ErrorCode>>,
) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let got = produce_as(config, topic).await;
        if got == want {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "produce gave {got:?}, want {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

fn acl(topic: &str, principal: &str, op: kafkit::AclOperation) -> kafkit::AclBinding {
    kafkit::AclBinding {
        resource_type: kafkit::ResourceType::Topic,
        name: topic.into(),
        pattern_type: kafkit::PatternType::Literal,
        principal: principal.into(),
        host: "*".into(),
        operation: op,
        permission_type: kafkit::AclPermissionType::Allow,
    }
}

#[test]
fn broker_admin_acls_grant_and_revoke_produce() {
    let _serial = serial();
    use kafkit::{AclBindingFilter, AclOperation};
    let Some(target) = Target::broker("broker_admin_acls_grant_and_revoke_produce") else {
        return;
    };
    let bootstrap = target.bootstrap();
    common::runtime().block_on(async {
        let admin = admin(&target);
        let topic = unique("acl");
        create_topic(&admin, &topic).await;
        let alice = sasl_config("SCRAM-SHA-256", "alice", "alice-secret");
        produce_until(&alice, &topic, Ok(())).await;

        // An ACL for someone else: alice now has none that allows her.
        let other = acl(&topic, "User:nobody", AclOperation::Read);
        let res = admin
            .create_acls(std::slice::from_ref(&other), &opts())
            .await
            .unwrap();
        assert!(res.iter().all(Result::is_ok), "{res:?}");
        produce_until(
            &alice,
            &topic,
            Err(Some(ErrorCode::TopicAuthorizationFailed)),
        )
        .await;

        let grants = [
            acl(&topic, "User:alice", AclOperation::Write),
            acl(&topic, "User:alice", AclOperation::Describe),
        ];
        let res = admin.create_acls(&grants, &opts()).await.unwrap();
        assert_eq!(res.len(), 2);
        assert!(res.iter().all(Result::is_ok), "{res:?}");
        produce_until(&alice, &topic, Ok(())).await;

        // describe_acls finds the three bindings, and so does the tool.
        let filter = AclBindingFilter {
            name: Some(topic.clone()),
            resource_type: kafkit::ResourceType::Topic,
            ..AclBindingFilter::any()
        };
        let mut found = admin.describe_acls(&filter, &opts()).await.unwrap();
        found.sort_by_key(|b| format!("{b:?}"));
        let mut want = vec![other.clone(), grants[0].clone(), grants[1].clone()];
        want.sort_by_key(|b| format!("{b:?}"));
        assert_eq!(found, want);
        let run = kafka_sh(
            &[
                "acls",
                "--bootstrap-server",
                &bootstrap,
                "--list",
                "--topic",
                &topic,
            ],
            None,
            TOOL_TIMEOUT,
        );
        assert!(run.ok(), "{}", run.describe());
        let out = run.stdout_text();
        assert_eq!(out.matches("principal=User:alice").count(), 2, "{out}");
        assert!(
            out.contains("operation=WRITE") && out.contains("operation=DESCRIBE"),
            "{out}"
        );
        assert!(out.contains("principal=User:nobody"), "{out}");

        // Delete alice's bindings: she is denied again.
        let alice_filter = AclBindingFilter {
            principal: Some("User:alice".into()),
            ..filter.clone()
        };
        let res = admin.delete_acls(&[alice_filter], &opts()).await.unwrap();
        assert_eq!(res.len(), 1);
        let mut deleted = res.into_iter().next().unwrap().unwrap();
        deleted.sort_by_key(|b| format!("{b:?}"));
        let mut want = grants.to_vec();
        want.sort_by_key(|b| format!("{b:?}"));
        assert_eq!(deleted, want);
        produce_until(
            &alice,
            &topic,
            Err(Some(ErrorCode::TopicAuthorizationFailed)),
        )
        .await;

        // ACL operations as alice are refused once the cluster resource has
        // an ACL (without one, `allow.everyone.if.no.acl.found` lets her):
        // a DENY of ALTER for alice alone, removed at once after.
        let deny = kafkit::AclBinding {
            resource_type: kafkit::ResourceType::Broker,
            name: "kafka-cluster".into(),
            permission_type: kafkit::AclPermissionType::Deny,
            ..acl("kafka-cluster", "User:alice", AclOperation::Alter)
        };
        let res = admin
            .create_acls(std::slice::from_ref(&deny), &opts())
            .await;
        assert!(res.unwrap().iter().all(Result::is_ok));
        let alice_admin = AdminClient::new(&alice).unwrap();
        let grant = [acl(&topic, "User:alice", AclOperation::Write)];
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let refused = loop {
            let res = alice_admin.create_acls(&grant, &opts()).await.unwrap();
            match &res[0] {
                Err(e) => break e.code(),
                Ok(()) => {
                    let _ = admin.delete_acls(&[(&grant[0]).into()], &opts()).await;
                    assert!(
                        std::time::Instant::now() < deadline,
                        "alice may create ACLs"
                    );
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
            }
        };
        let describe = alice_admin.describe_acls(&filter, &opts()).await;
        let delete = alice_admin
            .delete_acls(std::slice::from_ref(&filter), &opts())
            .await;
        let res = admin.delete_acls(&[(&deny).into()], &opts()).await.unwrap();
        assert_eq!(res[0].as_ref().unwrap().len(), 1, "{res:?}");
        assert_eq!(refused, Some(ErrorCode::ClusterAuthorizationFailed));
        // DESCRIBE is not denied: the broker answers, but shows alice none
        // of the bindings.
        eprintln!("describe as alice: {describe:?}");
        let delete = delete.unwrap();
        assert_eq!(
            delete[0].as_ref().unwrap_err().code(),
            Some(ErrorCode::ClusterAuthorizationFailed)
        );

        let res = admin.delete_acls(&[filter], &opts()).await.unwrap();
        assert_eq!(res[0].as_ref().unwrap(), &vec![other]);
        delete_topic(&admin, &topic).await;
    });
}

/// A producer as `config`'s user whose background errors are counted:
/// waits (at most 30 s) for an authentication failure.
fn wait_auth_failure(errors: &std::sync::mpsc::Receiver<Option<ErrorCode>>) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match errors.recv_timeout(left) {
            Ok(Some(ErrorCode::Authentication)) => return,
            Ok(_) => {}
            Err(e) => panic!("no authentication failure within 30 s: {e}"),
        }
    }
}

fn counting_producer(
    config: &kafkit::ClientConfig,
) -> (
    kafkit::Producer,
    std::sync::mpsc::Receiver<Option<ErrorCode>>,
) {
    let (tx, rx) = std::sync::mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let producer = kafkit::Producer::builder(config)
        .on_error(move |e| {
            let _ = tx.lock().unwrap().send(e.code());
        })
        .build()
        .unwrap();
    (producer, rx)
}

#[test]
fn broker_admin_scram_users_created_described_deleted() {
    let _serial = serial();
    use kafkit::{ScramCredentialAlteration as Alt, ScramMechanism};
    let Some(target) = Target::broker("broker_admin_scram_users_created_described_deleted") else {
        return;
    };
    common::runtime().block_on(async {
        let admin = admin(&target);
        let topic = unique("scram");
        create_topic(&admin, &topic).await;
        let user = unique("user");
        let res = admin
            .alter_user_scram_credentials(
                &[Alt::upsert(&user, ScramMechanism::Sha512, 8192, "s3cret")],
                &opts(),
            )
            .await
            .unwrap();
        assert_eq!(res.len(), 1);
        assert_eq!(res[0].name, user);
        assert!(res[0].is_ok(), "{:?}", res[0].result);

        let res = admin
            .describe_user_scram_credentials(&[&user, "no-such-user-x"], &opts())
            .await
            .unwrap();
        assert_eq!(res.len(), 2);
        let mine = res.iter().find(|r| r.name == user).unwrap();
        assert_eq!(
            mine.result.as_ref().unwrap(),
            &vec![kafkit::ScramCredentialInfo {
                mechanism: ScramMechanism::Sha512,
                iterations: 8192
            }]
        );
        let missing = res.iter().find(|r| r.name == "no-such-user-x").unwrap();
        assert_eq!(
            missing.result.as_ref().unwrap_err().code(),
            Some(ErrorCode::ResourceNotFound)
        );
        let all = admin
            .describe_user_scram_credentials(&[], &opts())
            .await
            .unwrap();
        assert!(all.iter().any(|r| r.name == user), "{all:?}");

        // The new user authenticates and produces.
        let config = sasl_config("SCRAM-SHA-512", &user, "s3cret");
        produce_until(&config, &topic, Ok(())).await;

        // Without its credential it cannot authenticate.
        let res = admin
            .alter_user_scram_credentials(&[Alt::delete(&user, ScramMechanism::Sha512)], &opts())
            .await
            .unwrap();
        assert!(res[0].is_ok(), "{:?}", res[0].result);
        // The broker applies the deletion through its metadata log, so a
        // describe right after it may still see the credential.
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        loop {
            let res = admin
                .describe_user_scram_credentials(&[&user], &opts())
                .await
                .unwrap();
            match &res[0].result {
                Err(e) => {
                    assert_eq!(e.code(), Some(ErrorCode::ResourceNotFound), "{e}");
                    break;
                }
                Ok(still) => assert!(
                    std::time::Instant::now() < deadline,
                    "the deleted credential is still described after 15 s: {still:?}"
                ),
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let (producer, errors) = counting_producer(&config);
        wait_auth_failure(&errors);
        drop(producer);

        delete_topic(&admin, &topic).await;
    });
}

#[test]
fn broker_admin_set_sasl_credentials_fixes_a_wrong_password() {
    let _serial = serial();
    let Some(target) = Target::broker("broker_admin_set_sasl_credentials_fixes_a_wrong_password")
    else {
        return;
    };
    common::runtime().block_on(async {
        let admin = admin(&target);
        let topic = unique("sasl-cred");
        create_topic(&admin, &topic).await;
        let mut config = sasl_config("SCRAM-SHA-256", "alice", "wrong");
        config.message_timeout(Duration::from_secs(60)).unwrap();
        let (producer, errors) = counting_producer(&config);
        wait_auth_failure(&errors);
        producer
            .set_sasl_credentials("alice", "alice-secret")
            .unwrap();
        let delivery = producer
            .send(kafkit::Record::to(&topic).value("v"))
            .await
            .unwrap();
        let meta = delivery.await.unwrap();
        assert_eq!(meta.offset, 0);
        drop(producer);
        delete_topic(&admin, &topic).await;
    });
}

fn base64url(data: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..=chunk.len() {
            out.push(ABC[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// An unsecured JWT (`alg: none`) for `principal`, valid for `lifetime`.
fn unsecured_token(principal: &str, lifetime: Duration) -> kafkit::OAuthToken {
    let now = std::time::SystemTime::now();
    let secs = now.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let exp = secs + lifetime.as_secs();
    let claims = format!(
        r#"{{"sub":"{principal}","iat":{},"exp":{exp},"scope":"test"}}"#,
        secs - 1
    );
    let jwt = format!(
        "{}.{}.",
        base64url(br#"{"alg":"none"}"#),
        base64url(claims.as_bytes())
    );
    kafkit::OAuthToken::new(
        &jwt,
        principal,
        std::time::UNIX_EPOCH + Duration::from_secs(exp),
    )
}

/// An OAUTHBEARER config whose provider counts its calls.
fn oauth_config(
    calls: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    fail: Option<&'static str>,
) -> kafkit::ClientConfig {
    let servers =
        std::env::var("KAFKA_SASL_BOOTSTRAP_SERVERS").unwrap_or_else(|_| "127.0.0.1:9094".into());
    let mut c = kafkit::ClientConfig::new();
    c.bootstrap_servers(&servers)
        .unwrap()
        .set("security.protocol", "SASL_PLAINTEXT")
        .unwrap()
        .set("sasl.mechanism", "OAUTHBEARER")
        .unwrap()
        .message_timeout(Duration::from_secs(20))
        .unwrap();
    c.oauthbearer_token_provider(move || {
        calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        async move {
            // An async provider: it waits before answering.
            futures_timer_delay(Duration::from_millis(20)).await;
            match fail {
                Some(reason) => Err(reason.to_string()),
                None => Ok(unsecured_token("oauth-user", Duration::from_secs(4))),
            }
        }
    });
    c
}

/// A runtime-free delay (the provider runs on kafkit's token thread).
async fn futures_timer_delay(d: Duration) {
    let (tx, rx) = futures::channel::oneshot::channel::<()>();
    std::thread::spawn(move || {
        std::thread::sleep(d);
        let _ = tx.send(());
    });
    let _ = rx.await;
}

#[test]
fn broker_admin_oauthbearer_token_provider_produces_consumes_and_refreshes() {
    let _serial = serial();
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let Some(target) =
        Target::broker("broker_admin_oauthbearer_token_provider_produces_consumes_and_refreshes")
    else {
        return;
    };
    common::runtime().block_on(async {
        let admin = admin(&target);
        let topic = unique("oauth");
        create_topic(&admin, &topic).await;

        let producer_calls = Arc::new(AtomicUsize::new(0));
        let producer = kafkit::Producer::new(&oauth_config(producer_calls.clone(), None)).unwrap();
        let delivery = producer
            .send(kafkit::Record::to(&topic).value("first"))
            .await
            .unwrap();
        assert_eq!(delivery.await.unwrap().offset, 0);

        // A consumer that has not polled yet gets its token and connects.
        let consumer_calls = Arc::new(AtomicUsize::new(0));
        let mut config = oauth_config(consumer_calls.clone(), None);
        config.group_id(&unique("oauth-group")).unwrap();
        let consumer = kafkit::Consumer::new(&config).unwrap();
        consumer.wait_connected(Duration::from_secs(20)).unwrap();
        assert!(consumer_calls.load(Ordering::SeqCst) >= 1);
        consumer
            .assign(&[(&topic, 0, kafkit::Offset::Beginning)])
            .unwrap();

        // The 4 s tokens are refreshed at about 3.2 s.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while producer_calls.load(Ordering::SeqCst) < 2 || consumer_calls.load(Ordering::SeqCst) < 2
        {
            assert!(
                std::time::Instant::now() < deadline,
                "no refresh: producer {} calls, consumer {}",
                producer_calls.load(Ordering::SeqCst),
                consumer_calls.load(Ordering::SeqCst)
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let delivery = producer
            .send(kafkit::Record::to(&topic).value("second"))
            .await
            .unwrap();
        assert_eq!(delivery.await.unwrap().offset, 1);
        let mut values = Vec::new();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while values.len() < 2 && std::time::Instant::now() < deadline {
            if let Some(m) = consumer.poll(Duration::from_millis(200)) {
                values.push(m.unwrap().value_str().unwrap().to_string());
            }
        }
        assert_eq!(values, ["first", "second"]);
        drop(consumer);
        drop(producer);

        // An admin client with the provider works too.
        let calls = Arc::new(AtomicUsize::new(0));
        let oauth_admin = AdminClient::new(&oauth_config(calls.clone(), None)).unwrap();
        let res = oauth_admin
            .describe_configs(&[ConfigResource::topic(&topic)], &opts())
            .await
            .unwrap();
        assert!(res[0].is_ok(), "{:?}", res[0].result);
        assert!(calls.load(Ordering::SeqCst) >= 1);
        drop(oauth_admin);

        delete_topic(&admin, &topic).await;
    });
}

#[test]
fn broker_admin_oauthbearer_provider_failure_is_an_error() {
    let _serial = serial();
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    if Target::broker("broker_admin_oauthbearer_provider_failure_is_an_error").is_none() {
        return;
    }
    let calls = Arc::new(AtomicUsize::new(0));
    let config = oauth_config(calls.clone(), Some("no token today"));
    let (tx, rx) = std::sync::mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let producer = kafkit::Producer::builder(&config)
        .on_error(move |e| {
            let _ = tx.lock().unwrap().send((e.code(), e.to_string()));
        })
        .build()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let (code, text) = loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok((code, text)) if text.contains("no token today") => break (code, text),
            Ok(_) => {}
            Err(e) => panic!("the provider's failure was not reported within 30 s: {e}"),
        }
    };
    assert_eq!(code, Some(ErrorCode::Authentication), "{text}");
    assert!(calls.load(Ordering::SeqCst) >= 1);
    let err = producer.wait_connected(Duration::from_secs(2)).unwrap_err();
    assert!(err.to_string().contains("no token today"), "{err}");
}
