//! SASL/SCRAM and TLS against the real broker started by scripts/kafka.sh.
//! Needs the `ssl` feature (scripts/test.sh builds with it) and the
//! KAFKA_SASL_* / KAFKA_SSL_* variables that `kafka.sh start single` prints;
//! without them each test prints that it was not run.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kafkit::{ClientConfig, Error, ErrorCode, Producer, Record, SecurityProtocol};

fn env(name: &str, test: &str) -> Option<String> {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => Some(v),
        _ => {
            eprintln!("NOT RUN: {test} needs {name} (scripts/test.sh sets it)");
            None
        }
    }
}

fn scram_config(test: &str, password: Option<&str>) -> Option<ClientConfig> {
    let servers = env("KAFKA_SASL_BOOTSTRAP_SERVERS", test)?;
    let user = env("KAFKA_SASL_USERNAME", test)?;
    let real_password = env("KAFKA_SASL_PASSWORD", test)?;
    let mut c = ClientConfig::new();
    c.bootstrap_servers(&servers)
        .and_then(|c| c.security_protocol(SecurityProtocol::SaslPlaintext))
        .and_then(|c| c.sasl("SCRAM-SHA-256", &user, password.unwrap_or(&real_password)))
        .and_then(|c| c.message_timeout(Duration::from_secs(10)))
        .expect("SCRAM config (build with --features ssl)");
    Some(c)
}

fn tls_config(test: &str, ca: Option<&str>) -> Option<ClientConfig> {
    let servers = env("KAFKA_SSL_BOOTSTRAP_SERVERS", test)?;
    let real_ca = env("KAFKA_SSL_CA_LOCATION", test)?;
    let mut c = ClientConfig::new();
    c.bootstrap_servers(&servers)
        .and_then(|c| c.security_protocol(SecurityProtocol::Ssl))
        .and_then(|c| c.ssl_ca_location(ca.unwrap_or(&real_ca)))
        .and_then(|c| c.message_timeout(Duration::from_secs(10)))
        .expect("TLS config (build with --features ssl)");
    Some(c)
}

/// Produces one record and expects it delivered.
async fn produce_ok(config: &ClientConfig) {
    let producer = Producer::new(config).expect("producer");
    let topic = common::unique("secure");
    let meta = tokio::time::timeout(Duration::from_secs(30), async {
        producer
            .send(Record::to(topic.as_str()).value("secret"))
            .await
            .expect("enqueue")
            .await
    })
    .await
    .expect("delivery within 30 s")
    .expect("delivered");
    assert_eq!(meta.offset, 0);
}

/// Produces one record and expects a clear error, reported through the
/// error callback, within a bound; the delivery fails rather than hangs.
async fn produce_fails(
    config: &ClientConfig,
    accept: impl Fn(&Error) -> bool + Send + Sync + 'static,
) {
    let errors: Arc<Mutex<Vec<String>>> = Arc::default();
    let matched = Arc::new(Mutex::new(None::<Duration>));
    let started = Instant::now();
    let (errors2, matched2) = (errors.clone(), matched.clone());
    let producer = Producer::builder(config)
        .on_error(move |e| {
            if let Ok(mut v) = errors2.lock() {
                v.push(e.to_string());
            }
            if accept(e) {
                if let Ok(mut m) = matched2.lock() {
                    m.get_or_insert(started.elapsed());
                }
            }
        })
        .build()
        .expect("producer");
    let topic = common::unique("secure-fail");
    let delivery = producer
        .send(Record::to(topic.as_str()).value("x"))
        .await
        .expect("enqueue");
    let result = tokio::time::timeout(Duration::from_secs(30), delivery)
        .await
        .expect("the delivery must fail within 30 s, not hang");
    let err = result.expect_err("must not be delivered");
    assert_eq!(err.record.value_bytes(), Some(&b"x"[..]));
    let when = matched.lock().ok().and_then(|m| *m);
    let seen = errors.lock().map(|v| v.clone()).unwrap_or_default();
    let when = when.unwrap_or_else(|| panic!("no matching error reported; saw {seen:?}"));
    assert!(when < Duration::from_secs(15), "error took {when:?}");
}

#[tokio::test]
async fn broker_scram_sha_256_connects() {
    if let Some(config) = scram_config("broker_scram_sha_256_connects", None) {
        produce_ok(&config).await;
    }
}

#[tokio::test]
async fn broker_scram_wrong_password_fails_with_authentication_error() {
    let test = "broker_scram_wrong_password";
    if let Some(config) = scram_config(test, Some("not-the-password")) {
        produce_fails(&config, |e| e.code() == Some(ErrorCode::Authentication)).await;
    }
}

#[tokio::test]
async fn broker_tls_connects() {
    if let Some(config) = tls_config("broker_tls_connects", None) {
        produce_ok(&config).await;
    }
}

#[tokio::test]
async fn broker_tls_wrong_ca_fails_with_tls_error() {
    // A CA bundle that does not contain the broker's self-signed CA.
    let wrong_ca = std::env::temp_dir().join(format!("kafkit-wrong-ca-{}.pem", std::process::id()));
    std::fs::write(&wrong_ca, WRONG_CA).expect("write CA");
    let wrong_ca = wrong_ca.to_string_lossy().into_owned();
    if let Some(config) = tls_config("broker_tls_wrong_ca", Some(&wrong_ca)) {
        produce_fails(&config, |e| {
            e.code() == Some(ErrorCode::Ssl) || e.to_string().contains("certificate verify failed")
        })
        .await;
    }
}

/// A self-signed CA certificate made for this test only (its key is not kept).
const WRONG_CA: &str = "\
-----BEGIN CERTIFICATE-----\n\
MIIDITCCAgmgAwIBAgIUBuk9J6nolbojq3AulWwuyY+4yZQwDQYJKoZIhvcNAQEL\n\
BQAwHzEdMBsGA1UEAwwUa2Fma2l0IHdyb25nIHRlc3QgQ0EwIBcNMjYxMTIyMTE0\n\
NzA3WhgPMjEyNjEwMjkxMTQ3MDdaMB8xHTAbBgNVBAMMFGthZmtpdCB3cm9uZyB0\n\
ZXN0IENBMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAq5eAiT+LOkxj\n\
xcQmOjKO9zDmZjpEWbqiJmSRPDZRZ4n6VGDYofWswvj7SmWG6RiLp7oSqHAncJMg\n\
iTWSKoB9PwDDK6It9hgOkfYjRwenLFX63bUNtlwTm24hY+FEgo3soFQ1cqCcdo9u\n\
fZd8rqP5Un0mmVjFE5F3/7yeT4jAV1C4zX4R0ospE3ALDX6EoftHRbKy92Q2iUbk\n\
VvHtKFA9E3KCLck09NNrvwiffRjJgExg8A0hXP4QD/Umj0KE7iRm1wlq7bXur2We\n\
smDRPC6lO1UkNQaIFnEF0jW7UMWPoPSeJLpLxHAGaLFcV4b8XN3r0NL2wyqXSwE7\n\
8wikBT+86QIDAQABo1MwUTAdBgNVHQ4EFgQUfLeL+Xe9a/xscfpRhL9YPjFuv+0w\n\
HwYDVR0jBBgwFoAUfLeL+Xe9a/xscfpRhL9YPjFuv+0wDwYDVR0TAQH/BAUwAwEB\n\
/zANBgkqhkiG9w0BAQsFAAOCAQEAo7bAXZZGXX4YuldiZhytBNSsJWaUBGM3/Nij\n\
CyXp8gc/t9ofZoEHEhxfvA5LkLKJYd9QkSSUFmA96exGtj5AXe+1ByfIDB4qAs3A\n\
BfJN79UBL9rc/4xU9cAdGzCXtb9QheL7BZyKLlr2oAlGNSnhe2UqA1erxo0v50gH\n\
fbGCgj36dzirhZ/ZZUo6zl12OA6hsbt6VV+pjpix6enSwv5PAbe00DXzAoDZbiqC\n\
PNPq7oy2FyVOu1nHQmTuae1DQ5oGrXPWyICFTm2rrvs3yLdCy6zCKIqzGZKeG+c0\n\
YJssVWuigT47JlfO5Di2/SuKejmv7+GFnnFsO0TeeQIn8w2DDA==\n\
-----END CERTIFICATE-----\n\
";
