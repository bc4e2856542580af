//! SASL at runtime against the real broker of `scripts/kafka.sh start
//! single`: an OAUTHBEARER token provider (the SASL listener accepts
//! OAUTHBEARER with Kafka's unsecured JWT validator) and new SCRAM
//! credentials set on a running client. Needs the `ssl` feature and the
//! KAFKA_SASL_* variables; without them each test prints that it was not
//! run.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use kafkit::{ClientConfig, OAuthToken, Producer, Record, SecurityProtocol};

fn env(name: &str, test: &str) -> Option<String> {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => Some(v),
        _ => {
            eprintln!("NOT RUN: {test} needs {name} (scripts/test.sh sets it)");
            None
        }
    }
}

/// Base64url without padding (RFC 4648 §5), as JWTs are encoded.
fn base64url(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | (u32::from(b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ABC[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// An unsecured JWT (`alg: none`) for `sub`, valid for `lifetime`.
fn unsecured_jwt(sub: &str, lifetime: Duration) -> (String, SystemTime) {
    let now = SystemTime::now();
    let expires = now + lifetime;
    let secs = |t: SystemTime| t.duration_since(UNIX_EPOCH).unwrap().as_secs_f64();
    let header = base64url(br#"{"alg":"none"}"#);
    let claims = format!(
        r#"{{"sub":"{sub}","iat":{:.3},"exp":{:.3}}}"#,
        secs(now),
        secs(expires)
    );
    (
        format!("{header}.{}.", base64url(claims.as_bytes())),
        expires,
    )
}

fn oauth_config(test: &str) -> Option<ClientConfig> {
    let servers = env("KAFKA_SASL_BOOTSTRAP_SERVERS", test)?;
    let mut c = ClientConfig::new();
    c.bootstrap_servers(&servers)
        .and_then(|c| c.security_protocol(SecurityProtocol::SaslPlaintext))
        .and_then(|c| c.set("sasl.mechanism", "OAUTHBEARER"))
        .and_then(|c| c.message_timeout(Duration::from_secs(10)))
        .expect("OAUTHBEARER config (build with --features ssl)");
    Some(c)
}

async fn produce_one(producer: &Producer, topic: &str) -> Result<i64, kafkit::Error> {
    let delivery = producer.send(Record::to(topic).value("token")).await?;
    Ok(delivery.await?.offset)
}

#[tokio::test]
async fn broker_sasl_oauthbearer_provider_gives_and_refreshes_tokens() {
    let Some(mut config) = oauth_config("broker_sasl_oauthbearer_provider") else {
        return;
    };
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    // Tokens live 3 s: librdkafka asks for the next one at 80% of that.
    config.oauthbearer_token_provider(move || {
        let calls = counted.clone();
        async move {
            calls.fetch_add(1, Ordering::SeqCst);
            // The provider may await: a short async pause stands for a
            // request to an identity provider.
            futures::future::ready(()).await;
            let (token, expires) = unsecured_jwt("oauth-service", Duration::from_secs(3));
            Ok::<_, String>(OAuthToken::new(token, expires, "oauth-service"))
        }
    });
    let producer = Producer::new(&config).expect("producer");
    producer
        .wait_connected(Duration::from_secs(20))
        .expect("authenticated with the provider's token");
    let topic = common::unique("oauth");
    produce_one(&producer, &topic)
        .await
        .expect("produce with an OAUTHBEARER token");
    assert!(calls.load(Ordering::SeqCst) >= 1);

    // The provider is asked again before each token expires.
    let deadline = Instant::now() + Duration::from_secs(30);
    while calls.load(Ordering::SeqCst) < 3 {
        assert!(
            Instant::now() < deadline,
            "the provider was called {} times in 30 s with 3 s tokens",
            calls.load(Ordering::SeqCst)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A new connection authenticates with the refreshed token.
    let second = Producer::new(&config).expect("second producer");
    second
        .wait_connected(Duration::from_secs(20))
        .expect("second client authenticated");
    produce_one(&second, &topic)
        .await
        .expect("produce after refreshes");
    produce_one(&producer, &topic)
        .await
        .expect("the first producer still produces after its refreshes");

    // Consumers and admin clients take the provider from the same config.
    let mut consumer_config = config.clone();
    consumer_config
        .group_id(&common::unique("oauth-group"))
        .expect("group id");
    let consumer = kafkit::Consumer::new(&consumer_config).expect("consumer");
    consumer
        .wait_connected(Duration::from_secs(20))
        .expect("consumer authenticated with the provider's token");
    let admin = kafkit::AdminClient::new(&config).expect("admin client");
    let metadata = admin
        .metadata(Some(&topic), Duration::from_secs(20))
        .expect("admin client authenticated with the provider's token");
    assert_eq!(metadata.topics.len(), 1);
}

#[tokio::test]
async fn broker_sasl_oauthbearer_provider_failure_is_reported() {
    let Some(mut config) = oauth_config("broker_sasl_oauthbearer_provider_failure") else {
        return;
    };
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    config.oauthbearer_token_provider(move || {
        counted.fetch_add(1, Ordering::SeqCst);
        async { Err::<OAuthToken, _>("the identity provider is down") }
    });
    let errors = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = errors.clone();
    let producer = Producer::builder(&config)
        .on_error(move |e| seen.lock().unwrap().push(e.to_string()))
        .build()
        .expect("producer");
    let started = Instant::now();
    let err = producer
        .wait_connected(Duration::from_secs(5))
        .expect_err("no token, no connection");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "bounded: {err}"
    );
    assert!(calls.load(Ordering::SeqCst) >= 1, "the provider was asked");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let found = errors
            .lock()
            .unwrap()
            .iter()
            .any(|e| e.contains("the identity provider is down"));
        if found {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the provider's failure was not reported; errors: {:?}",
            errors.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn broker_sasl_set_credentials_fixes_a_wrong_password() {
    let test = "broker_sasl_set_credentials";
    let (Some(servers), Some(user), Some(password)) = (
        env("KAFKA_SASL_BOOTSTRAP_SERVERS", test),
        env("KAFKA_SASL_USERNAME", test),
        env("KAFKA_SASL_PASSWORD", test),
    ) else {
        return;
    };
    let mut config = ClientConfig::new();
    config
        .bootstrap_servers(&servers)
        .and_then(|c| c.security_protocol(SecurityProtocol::SaslPlaintext))
        .and_then(|c| c.sasl("SCRAM-SHA-256", &user, "not-the-password"))
        .and_then(|c| c.set("reconnect.backoff.max.ms", "500"))
        .and_then(|c| c.message_timeout(Duration::from_secs(20)))
        .expect("SCRAM config");
    let producer = Producer::new(&config).expect("producer");
    producer
        .wait_connected(Duration::from_secs(3))
        .expect_err("a wrong password does not authenticate");
    producer
        .set_sasl_credentials(&user, &password)
        .expect("set credentials");
    producer
        .wait_connected(Duration::from_secs(20))
        .expect("authenticated after set_sasl_credentials");
    let topic = common::unique("creds");
    produce_one(&producer, &topic)
        .await
        .expect("produce with the new credentials");

    // A NUL byte cannot reach C: a clear error, nothing changed.
    let err = producer
        .set_sasl_credentials("al\0ice", "x")
        .expect_err("NUL in a username");
    assert!(err.to_string().contains("NUL"), "{err}");
}
