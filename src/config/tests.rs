use super::*;

#[test]
fn unknown_key_is_rejected_with_its_name() {
    let mut c = ClientConfig::new();
    let err = c.set("bootstrap.servres", "x").err().map(|e| e.to_string());
    let text = err.unwrap_or_default();
    assert!(text.contains("bootstrap.servres"), "{text}");
    assert!(text.contains("No such configuration property"), "{text}");
}

#[test]
fn bad_value_is_rejected_with_name_and_reason() {
    let mut c = ClientConfig::new();
    let err = c.set("linger.ms", "soon").err();
    match err {
        Some(Error::Config { key, reason }) => {
            assert_eq!(key, "linger.ms");
            assert!(
                reason.contains("soon") || reason.contains("Invalid"),
                "{reason}"
            );
        }
        other => panic!("expected a config error, got {other:?}"),
    }
    assert!(c.get("linger.ms").is_none());
}

#[test]
fn unknown_kafkit_key_is_rejected() {
    let mut c = ClientConfig::new();
    assert!(matches!(
        c.set("kafkit.nope", "1"),
        Err(Error::Config { key, .. }) if key == "kafkit.nope"
    ));
    assert!(c.set("kafkit.close.timeout.ms", "x").is_err());
    c.set("kafkit.close.timeout.ms", "250")
        .map(|_| ())
        .unwrap_or_default();
    assert_eq!(c.close_timeout_value(), Duration::from_millis(250));
}

#[test]
fn debug_redacts_secrets() {
    let mut c = ClientConfig::new();
    c.sasl("SCRAM-SHA-256", "alice", "hunter2")
        .map(|_| ())
        .unwrap_or_default();
    c.set("sasl.oauthbearer.client.secret", "s3cr3t")
        .map(|_| ())
        .unwrap_or_default();
    let shown = format!("{c:?}");
    assert!(shown.contains("alice"), "{shown}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(!shown.contains("s3cr3t"), "{shown}");
    assert_eq!(c.get("sasl.password"), Some("hunter2"));
}

/// `from_vars` on `vars`, panicking with the error.
fn env(vars: &[(&str, &str)]) -> ClientConfig {
    ClientConfig::from_vars(vars.iter().copied())
        .unwrap_or_else(|e| panic!("from_vars({vars:?}): {e}"))
}

/// The error `from_vars` gives for `vars`, as text.
fn env_error(vars: &[(&str, &str)]) -> String {
    match ClientConfig::from_vars(vars.iter().copied()) {
        Ok(c) => panic!("from_vars({vars:?}) succeeded: {c:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn from_vars_maps_well_known_names() {
    let c = env(&[
        ("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1"),
        ("KAFKA_CLIENT_ID", ""),
        ("KAFKA_UNRELATED", "x"),
        ("KAFKIT_CLOSE_TIMEOUT_MS", "1500"),
    ]);
    assert_eq!(c.get("bootstrap.servers"), Some("127.0.0.1:1"));
    assert_eq!(c.get("client.id"), None);
    assert_eq!(c.close_timeout_value(), Duration::from_millis(1500));
    assert_eq!(c.iter().count(), 2, "{c:?}");
}

#[test]
fn from_vars_ignores_other_kafkit_variables() {
    // The test scripts' own variables, and the old unprefixed form.
    let c = env(&[
        ("KAFKIT_SKIP_BROKER", "1"),
        ("KAFKIT_RUN_DIR", "/tmp/kafkit-run"),
        ("KAFKIT_CACHE", "/tmp/kafkit-cache"),
        ("KAFKIT_TOOL_JAVA_OPTS", "-Xmx256m"),
        ("KAFKIT_LINGER_MS", "7"),
        ("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1"),
    ]);
    assert_eq!(c.iter().count(), 1, "{c:?}");
    assert_eq!(c.get("linger.ms"), None);
}

#[test]
fn from_vars_sets_any_property_with_the_prefix() {
    let c = env(&[
        ("KAFKIT_PROPERTY_LINGER_MS", "7"),
        ("KAFKIT_PROPERTY_BATCH_NUM_MESSAGES", "500"),
        ("KAFKIT_PROPERTY_ENABLE_IDEMPOTENCE", "true"),
        ("KAFKIT_PROPERTY_KAFKIT_CLOSE_TIMEOUT_MS", "250"),
    ]);
    assert_eq!(c.get("linger.ms"), Some("7"));
    assert_eq!(c.get("batch.num.messages"), Some("500"));
    assert_eq!(c.get("enable.idempotence"), Some("true"));
    assert_eq!(c.close_timeout_value(), Duration::from_millis(250));
}

#[test]
fn from_vars_errors_name_the_variable() {
    let text = env_error(&[("KAFKIT_PROPERTY_LINGER_MS", "soon")]);
    assert!(text.contains("linger.ms"), "{text}");
    assert!(text.contains("KAFKIT_PROPERTY_LINGER_MS"), "{text}");
    let text = env_error(&[("KAFKIT_PROPERTY_NO_SUCH_THING", "1")]);
    assert!(text.contains("no.such.thing"), "{text}");
    assert!(text.contains("KAFKIT_PROPERTY_NO_SUCH_THING"), "{text}");
    let text = env_error(&[("KAFKIT_PROPERTY_LINGER___MS", "1")]);
    assert!(text.contains("KAFKIT_PROPERTY_LINGER___MS"), "{text}");
    assert!(text.contains("3 underscores"), "{text}");
    let text = env_error(&[("KAFKIT_PROPERTY_", "1")]);
    assert!(text.contains("no property name"), "{text}");
    let text = env_error(&[("KAFKIT_CLOSE_TIMEOUT_MS", "long")]);
    assert!(text.contains("KAFKIT_CLOSE_TIMEOUT_MS"), "{text}");
}

#[test]
fn from_vars_prefixed_variable_wins_over_well_known_name() {
    let c = env(&[
        ("KAFKA_BOOTSTRAP_SERVERS", "a:1"),
        ("KAFKIT_PROPERTY_BOOTSTRAP_SERVERS", "b:2"),
    ]);
    assert_eq!(c.get("bootstrap.servers"), Some("b:2"));
    // The same the other way round: the environment's order does not
    // matter.
    let c = env(&[
        ("KAFKIT_PROPERTY_BOOTSTRAP_SERVERS", "b:2"),
        ("KAFKA_BOOTSTRAP_SERVERS", "a:1"),
    ]);
    assert_eq!(c.get("bootstrap.servers"), Some("b:2"));
}

#[test]
fn from_vars_two_prefixed_variables_must_agree() {
    let c = env(&[
        ("KAFKIT_PROPERTY_LINGER_MS", "5"),
        ("KAFKIT_PROPERTY_linger_ms", "5"),
    ]);
    assert_eq!(c.get("linger.ms"), Some("5"));
    let text = env_error(&[
        ("KAFKIT_PROPERTY_LINGER_MS", "5"),
        ("KAFKIT_PROPERTY_linger_ms", "6"),
    ]);
    assert!(
        text.contains("KAFKIT_PROPERTY_LINGER_MS and KAFKIT_PROPERTY_linger_ms"),
        "{text}"
    );
}

/// What scripts/kafka.sh exports for its single node: one bootstrap
/// address per listener, the CA and the SASL user.
const DEV_BROKER: [(&str, &str); 7] = [
    ("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
    ("KAFKA_SASL_BOOTSTRAP_SERVERS", "127.0.0.1:9094"),
    ("KAFKA_SSL_BOOTSTRAP_SERVERS", "127.0.0.1:9095"),
    ("KAFKA_SSL_CA_LOCATION", "/tmp/certs/ca.pem"),
    ("KAFKA_SASL_USERNAME", "alice"),
    ("KAFKA_SASL_PASSWORD", "alice-secret"),
    ("KAFKA_SASL_MECHANISM", "SCRAM-SHA-256"),
];

#[test]
fn from_vars_plaintext_skips_tls_and_sasl_variables() {
    // Works in every build, TLS or not.
    let c = env(&DEV_BROKER);
    let keys: Vec<&str> = c.iter().map(|(k, _)| k).collect();
    assert_eq!(keys, ["bootstrap.servers"]);
    let mut vars = DEV_BROKER.to_vec();
    vars.push(("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT"));
    let c = env(&vars);
    let keys: Vec<&str> = c.iter().map(|(k, _)| k).collect();
    assert_eq!(keys, ["bootstrap.servers", "security.protocol"]);
}

#[test]
fn from_vars_sasl_plaintext_takes_sasl_but_not_tls_variables() {
    // PLAIN is built into every librdkafka.
    let c = env(&[
        ("KAFKA_SECURITY_PROTOCOL", "sasl_plaintext"),
        ("KAFKA_SASL_MECHANISM", "PLAIN"),
        ("KAFKA_SASL_USERNAME", "alice"),
        ("KAFKA_SASL_PASSWORD", "alice-secret"),
        ("KAFKA_SSL_CA_LOCATION", "/tmp/certs/ca.pem"),
    ]);
    assert_eq!(c.get("sasl.mechanism"), Some("PLAIN"));
    assert_eq!(c.get("sasl.username"), Some("alice"));
    assert_eq!(c.get("sasl.password"), Some("alice-secret"));
    assert_eq!(c.get("ssl.ca.location"), None);
}

#[test]
fn from_vars_prefixed_tls_variable_is_applied_whatever_the_protocol() {
    // Asked for by name, so it is set (and needs TLS in the build).
    let result =
        ClientConfig::from_vars([("KAFKIT_PROPERTY_SSL_CA_LOCATION", "/tmp/certs/ca.pem")]);
    if cfg!(feature = "ssl") {
        assert!(result.is_ok(), "{result:?}");
    } else if !cfg!(feature = "dynamic-linking") {
        let text = result.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(text.contains("`ssl` cargo feature"), "{text}");
    }
}

#[cfg(feature = "ssl")]
#[test]
fn from_vars_tls_protocols_take_their_variables() {
    let mut vars = DEV_BROKER.to_vec();
    vars.push(("KAFKA_SECURITY_PROTOCOL", "SSL"));
    let c = env(&vars);
    assert_eq!(c.get("security.protocol"), Some("SSL"));
    assert_eq!(c.get("ssl.ca.location"), Some("/tmp/certs/ca.pem"));
    assert_eq!(c.get("sasl.username"), None);

    let mut vars = DEV_BROKER.to_vec();
    vars.push(("KAFKA_SECURITY_PROTOCOL", "SASL_SSL"));
    let c = env(&vars);
    assert_eq!(c.get("ssl.ca.location"), Some("/tmp/certs/ca.pem"));
    assert_eq!(c.get("sasl.mechanism"), Some("SCRAM-SHA-256"));
    assert_eq!(c.get("sasl.username"), Some("alice"));

    // The protocol may also come from the prefixed form.
    let mut vars = DEV_BROKER.to_vec();
    vars.push(("KAFKIT_PROPERTY_SECURITY_PROTOCOL", "sasl_plaintext"));
    let c = env(&vars);
    assert_eq!(c.get("sasl.mechanism"), Some("SCRAM-SHA-256"));
    assert_eq!(c.get("ssl.ca.location"), None);
}

// Without the `ssl` feature (and without a system librdkafka, which may
// have TLS whatever kafkit's features say), asking for TLS or SCRAM is
// an error that names the feature.
#[cfg(not(any(feature = "ssl", feature = "dynamic-linking")))]
#[test]
fn from_vars_without_tls_names_the_ssl_feature() {
    let mut vars = DEV_BROKER.to_vec();
    vars.push(("KAFKA_SECURITY_PROTOCOL", "SSL"));
    let text = env_error(&vars);
    assert!(text.contains("security.protocol"), "{text}");
    assert!(text.contains("KAFKA_SECURITY_PROTOCOL"), "{text}");
    assert!(text.contains("`ssl` cargo feature"), "{text}");

    let mut vars = DEV_BROKER.to_vec();
    vars.push(("KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT"));
    let text = env_error(&vars);
    assert!(text.contains("SCRAM-SHA-256"), "{text}");
    assert!(text.contains("KAFKA_SASL_MECHANISM"), "{text}");
    assert!(text.contains("`ssl` cargo feature"), "{text}");

    let mut c = ClientConfig::new();
    let text = c
        .security_protocol(SecurityProtocol::SaslSsl)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(text.contains("`ssl` cargo feature"), "{text}");
}

#[test]
fn from_vars_sasl_without_a_mechanism_checks_librdkafkas_default() {
    // librdkafka's default mechanism is GSSAPI, which needs Cyrus SASL.
    let result = ClientConfig::from_vars([("KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")]);
    if !cfg!(any(feature = "gssapi", feature = "dynamic-linking")) {
        let text = result.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(text.contains("GSSAPI"), "{text}");
        assert!(text.contains("KAFKA_SASL_MECHANISM"), "{text}");
        assert!(text.contains("`gssapi` cargo feature"), "{text}");
    }
}

#[cfg(unix)]
#[test]
fn from_vars_non_utf8() {
    use std::ffi::OsString;
    use std::os::unix::ffi::OsStringExt;
    let bad = || OsString::from_vec(vec![b'a', 0xff]);
    // Ignored where kafkit does not read the variable ...
    let c = ClientConfig::from_vars([
        (OsString::from("OTHER"), bad()),
        (bad(), OsString::from("1")),
    ]);
    assert!(c.is_ok(), "{c:?}");
    // ... an error where it does.
    let text = ClientConfig::from_vars([(OsString::from("KAFKA_CLIENT_ID"), bad())])
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(text.contains("KAFKA_CLIENT_ID"), "{text}");
    assert!(text.contains("UTF-8"), "{text}");
}

#[test]
fn missing_library_errors_name_the_cargo_feature() {
    let hint = |reason: &str| with_feature_hint(reason.to_string());
    let plain = "Invalid value for configuration property \"linger.ms\"";
    assert_eq!(hint(plain), plain);
    if !cfg!(feature = "dynamic-linking") {
        let zstd = hint(
            "Unsupported value \"zstd\" for configuration property \"compression.codec\": \
             libzstd not available at build time",
        );
        assert!(zstd.ends_with("`zstd` cargo feature"), "{zstd}");
        let gzip = hint("Unsupported value \"gzip\" ...: zlib not available at build time");
        assert!(gzip.ends_with("`libz` cargo feature"), "{gzip}");
        let gssapi = hint("...: cyrus-sasl/libsasl2 not available at build time");
        assert!(gssapi.ends_with("`gssapi` cargo feature"), "{gssapi}");
        let tls = hint(
            "Configuration property \"ssl.ca.location\" not supported in this build: \
             OpenSSL not available at build time",
        );
        if cfg!(feature = "ssl") {
            assert!(tls.contains("ssl-vendored"), "{tls}");
        } else {
            assert!(tls.contains("`ssl` cargo feature"), "{tls}");
        }
    }
}

#[test]
fn producers_default_to_the_java_partitioner() {
    let defaults = |c: &ClientConfig| c.producer_defaults().collect::<Vec<_>>();
    assert_eq!(
        defaults(&ClientConfig::new()),
        [("partitioner", "murmur2_random")]
    );
    // The default is not listed as something set.
    assert_eq!(ClientConfig::new().get("partitioner"), None);
    // Whatever way the configuration was made.
    let c = env(&[("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")]);
    assert_eq!(defaults(&c), [("partitioner", "murmur2_random")]);
    let mut c = ClientConfig::new();
    c.load_properties("bootstrap.servers=127.0.0.1:1\n")
        .map(|_| ())
        .unwrap_or_default();
    assert_eq!(defaults(&c), [("partitioner", "murmur2_random")]);
    let path = std::env::temp_dir().join(format!(
        "kafkit-partitioner-{}.properties",
        std::process::id()
    ));
    std::fs::write(&path, "bootstrap.servers=127.0.0.1:1\n").unwrap();
    let c = ClientConfig::from_properties_file(&path);
    let _ = std::fs::remove_file(&path);
    let c = c.unwrap();
    assert_eq!(c.get("bootstrap.servers"), Some("127.0.0.1:1"));
    assert_eq!(defaults(&c), [("partitioner", "murmur2_random")]);
}

#[test]
fn a_partitioner_set_by_the_user_wins() {
    let mut c = ClientConfig::new();
    c.set("partitioner", "consistent_random")
        .map(|_| ())
        .unwrap_or_default();
    assert_eq!(c.producer_defaults().count(), 0);
    assert_eq!(c.get("partitioner"), Some("consistent_random"));
    let c = env(&[("KAFKIT_PROPERTY_PARTITIONER", "random")]);
    assert_eq!(c.producer_defaults().count(), 0);
    assert_eq!(c.get("partitioner"), Some("random"));
    let mut c = ClientConfig::new();
    c.load_properties("partitioner=murmur2\n")
        .map(|_| ())
        .unwrap_or_default();
    assert_eq!(c.producer_defaults().count(), 0);
}

#[test]
fn properties_text_is_loaded_and_validated() {
    let mut c = ClientConfig::new();
    c.load_properties("# client\nbootstrap.servers=127.0.0.1:9092\nlinger.ms : 3\n")
        .map(|_| ())
        .unwrap_or_default();
    assert_eq!(c.get("linger.ms"), Some("3"));
    let mut c = ClientConfig::new();
    let err = c.load_properties("key.serializer=org.apache.Foo\n").err();
    assert!(matches!(err, Some(Error::Config { key, .. }) if key == "key.serializer"));
}

#[test]
fn typed_helpers_set_librdkafka_values() {
    let mut c = ClientConfig::new();
    c.acks(Acks::All)
        .and_then(|c| c.compression(Compression::Lz4))
        .and_then(|c| c.linger(Duration::from_millis(5)))
        .map(|_| ())
        .unwrap_or_default();
    assert_eq!(c.get("acks"), Some("all"));
    assert_eq!(c.get("compression.codec"), Some("lz4"));
    assert_eq!(c.get("linger.ms"), Some("5"));
}
