//! Configs, ACLs and SCRAM requests on librdkafka's mock cluster, which
//! answers none of them: the error must be clear and bounded. Bad input is
//! refused before anything is sent.

mod common;

use std::time::{Duration, Instant};

use common::Target;
use kafkit::{
    AclBinding, AclBindingFilter, AclOperation, AclPermissionType, AdminClient, AdminOptions,
    AlterConfigOp, ConfigResource, Error, PatternType, ResourceType, ScramCredentialAlteration,
    ScramMechanism,
};

fn admin(target: &Target) -> AdminClient {
    AdminClient::new(&target.config()).unwrap()
}

fn opts() -> AdminOptions {
    AdminOptions::new().request_timeout(Duration::from_secs(3))
}

/// Runs `fut`, which must fail within 10 s; returns its error.
fn bounded_failure<T: std::fmt::Debug>(
    what: &str,
    fut: impl std::future::Future<Output = Result<T, Error>>,
) -> Error {
    let started = Instant::now();
    let out = common::runtime().block_on(async {
        tokio::time::timeout(Duration::from_secs(10), fut)
            .await
            .unwrap_or_else(|_| panic!("{what}: no answer within 10 s"))
    });
    let err = out.expect_err(what);
    eprintln!(
        "{what}: {err} (code {:?}) after {:?}",
        err.code(),
        started.elapsed()
    );
    assert!(!err.to_string().is_empty());
    err
}

fn topic_acl() -> AclBinding {
    AclBinding {
        resource_type: ResourceType::Topic,
        name: "t".into(),
        pattern_type: PatternType::Literal,
        principal: "User:alice".into(),
        host: "*".into(),
        operation: AclOperation::Write,
        permission_type: AclPermissionType::Allow,
    }
}

/// The mock names no controller: the request times out after its
/// request timeout.
fn assert_timed_out(err: &Error) {
    assert_eq!(err.code(), Some(kafkit::ErrorCode::TimedOut), "{err}");
}

#[test]
fn admin_configs_on_the_mock_fail_in_bounded_time() {
    let target = Target::mock(1);
    let admin = admin(&target);
    let err = bounded_failure(
        "describe configs",
        admin.describe_configs(&[ConfigResource::topic("t")], &opts()),
    );
    assert!(err.to_string().contains("describe configs"), "{err}");
    assert_timed_out(&err);
    let changes = [(
        ConfigResource::topic("t"),
        vec![("retention.ms", AlterConfigOp::Set("1".into()))],
    )];
    assert_timed_out(&bounded_failure(
        "incremental alter configs",
        admin.incremental_alter_configs(&changes, &opts()),
    ));
    assert_timed_out(&bounded_failure(
        "alter configs",
        admin.alter_configs(&[(ConfigResource::topic("t"), vec![("a", "b")])], &opts()),
    ));
}

#[test]
fn admin_acls_on_the_mock_fail_in_bounded_time() {
    let target = Target::mock(1);
    let admin = admin(&target);
    assert_timed_out(&bounded_failure(
        "create ACLs",
        admin.create_acls(&[topic_acl()], &opts()),
    ));
    assert_timed_out(&bounded_failure(
        "describe ACLs",
        admin.describe_acls(&AclBindingFilter::any(), &opts()),
    ));
    assert_timed_out(&bounded_failure(
        "delete ACLs",
        admin.delete_acls(&[AclBindingFilter::any()], &opts()),
    ));
}

#[test]
fn admin_scram_on_the_mock_fails_in_bounded_time() {
    let target = Target::mock(1);
    let admin = admin(&target);
    assert_timed_out(&bounded_failure(
        "describe SCRAM",
        admin.describe_user_scram_credentials(&["alice"], &opts()),
    ));
    assert_timed_out(&bounded_failure(
        "alter SCRAM",
        admin.alter_user_scram_credentials(
            &[ScramCredentialAlteration::upsert(
                "alice",
                ScramMechanism::Sha256,
                4096,
                "pw",
            )],
            &opts(),
        ),
    ));
}

#[test]
fn admin_security_bad_input_is_refused_before_sending() {
    let target = Target::mock(1);
    let admin = admin(&target);
    let err = bounded_failure(
        "NUL in a config name",
        admin.incremental_alter_configs(
            &[(
                ConfigResource::topic("t"),
                vec![("a\0b", AlterConfigOp::Set("1".into()))],
            )],
            &opts(),
        ),
    );
    assert!(err.to_string().contains("NUL"), "{err}");
    // A binding to create cannot have an "any" resource type.
    let acl = AclBinding {
        resource_type: ResourceType::Any,
        ..topic_acl()
    };
    let err = bounded_failure(
        "create an ACL of any type",
        admin.create_acls(&[acl], &opts()),
    );
    assert!(err.to_string().contains("ACL binding"), "{err}");
    let err = bounded_failure(
        "NUL in a SCRAM user",
        admin.describe_user_scram_credentials(&["a\0"], &opts()),
    );
    assert!(err.to_string().contains("user name"), "{err}");
    // librdkafka would assert on a broker thread for these: refused here.
    use kafkit::{ScramCredentialAlteration as Alt, ScramMechanism};
    for (what, alteration, says) in [
        (
            "an unknown SCRAM mechanism",
            Alt::upsert("u", ScramMechanism::Unknown(7), 8192, "pw"),
            "neither",
        ),
        (
            "too few iterations",
            Alt::upsert("u", ScramMechanism::Sha256, 100, "pw"),
            "iterations",
        ),
        (
            "a huge password",
            Alt::upsert("u", ScramMechanism::Sha512, 8192, &"x".repeat(4096)),
            "limited",
        ),
    ] {
        let err = bounded_failure(
            what,
            admin.alter_user_scram_credentials(&[alteration], &opts()),
        );
        assert!(err.to_string().contains(says), "{what}: {err}");
    }
}

#[test]
fn admin_token_provider_with_librdkafka_own_tokens_is_a_config_error() {
    for (key, value) in [
        ("sasl.oauthbearer.method", "oidc"),
        ("enable.sasl.oauthbearer.unsecure.jwt", "true"),
    ] {
        let mut config = kafkit::ClientConfig::new();
        config
            .set("security.protocol", "SASL_PLAINTEXT")
            .and_then(|c| c.set("sasl.mechanism", "OAUTHBEARER"))
            .expect("config");
        if let Err(e) = config.set(key, value) {
            // OIDC needs libcurl, which this build may lack: then the
            // setting itself is refused, which is as good.
            eprintln!("{key}={value} refused by this build: {e}");
            continue;
        }
        config
            .oauthbearer_token_provider(|| async { Err::<kafkit::OAuthToken, _>("never called") });
        let err = kafkit::Producer::new(&config).expect_err("provider and librdkafka's own tokens");
        assert!(err.to_string().contains(key), "{key}: {err}");
    }
}
