//! Which environment variables [`ClientConfig::from_env`] reads, and which
//! property each one sets.
//!
//! [`ClientConfig::from_env`]: super::ClientConfig::from_env

use std::collections::BTreeMap;
use std::ffi::OsString;

use crate::Error;

/// The prefix of a variable that sets any property by name.
pub(super) const PROPERTY_PREFIX: &str = "KAFKIT_PROPERTY_";

/// When a well-known variable is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Applies {
    /// Whatever the security protocol.
    Always,
    /// Only when `security.protocol` is `ssl` or `sasl_ssl`.
    Tls,
    /// Only when `security.protocol` is `sasl_plaintext` or `sasl_ssl`.
    Sasl,
}

/// The well-known variables and the property each one sets.
const NAMED: [(&str, &str, Applies); 11] = [
    (
        "KAFKA_BOOTSTRAP_SERVERS",
        "bootstrap.servers",
        Applies::Always,
    ),
    ("KAFKA_CLIENT_ID", "client.id", Applies::Always),
    (
        "KAFKA_SECURITY_PROTOCOL",
        "security.protocol",
        Applies::Always,
    ),
    ("KAFKA_SASL_MECHANISM", "sasl.mechanism", Applies::Sasl),
    ("KAFKA_SASL_USERNAME", "sasl.username", Applies::Sasl),
    ("KAFKA_SASL_PASSWORD", "sasl.password", Applies::Sasl),
    ("KAFKA_SSL_CA_LOCATION", "ssl.ca.location", Applies::Tls),
    (
        "KAFKA_SSL_CERTIFICATE_LOCATION",
        "ssl.certificate.location",
        Applies::Tls,
    ),
    ("KAFKA_SSL_KEY_LOCATION", "ssl.key.location", Applies::Tls),
    ("KAFKA_SSL_KEY_PASSWORD", "ssl.key.password", Applies::Tls),
    (
        "KAFKIT_CLOSE_TIMEOUT_MS",
        "kafkit.close.timeout.ms",
        Applies::Always,
    ),
];

/// One property to set, and the variable it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Setting {
    /// The property's name.
    pub(super) key: String,
    /// Its value.
    pub(super) value: String,
    /// The variable that gave it.
    pub(super) var: String,
}

/// The property named by what follows [`PROPERTY_PREFIX`]: lower-cased, a
/// single `_` stands for `.` and a doubled `__` for a literal `_`.
///
/// A longer run of underscores could be read two ways (`___` is `_.` or
/// `._`), and a lone `_` at either end would give an empty name part, so
/// both are rejected.
pub(super) fn property_name(encoded: &str) -> Result<String, String> {
    if encoded.is_empty() {
        return Err(format!("no property name after {PROPERTY_PREFIX}"));
    }
    let mut name = String::with_capacity(encoded.len());
    let mut chars = encoded.chars().peekable();
    let mut at_start = true;
    while let Some(c) = chars.next() {
        if c != '_' {
            name.extend(c.to_lowercase());
            at_start = false;
            continue;
        }
        let mut run = 1;
        while chars.next_if_eq(&'_').is_some() {
            run += 1;
        }
        let at_end = chars.peek().is_none();
        match run {
            1 if at_start || at_end => {
                return Err(format!(
                    "`{encoded}` starts or ends with a single `_`, which would be an empty \
                     part of the property name"
                ))
            }
            1 => name.push('.'),
            2 => name.push('_'),
            _ => {
                return Err(format!(
                    "`{encoded}` has {run} underscores in a row; write `_` for `.` and `__` \
                     for `_`"
                ))
            }
        }
        at_start = false;
    }
    Ok(name)
}

/// What a variable's name says about it.
enum Kind {
    /// A well-known variable.
    Named(&'static str, Applies),
    /// `KAFKIT_PROPERTY_<NAME>`, naming this property.
    Property(String),
}

/// How `name` is used, `None` when it is not a configuration variable.
fn kind(name: &str) -> Result<Option<Kind>, Error> {
    if let Some((_, key, applies)) = NAMED.iter().find(|(n, _, _)| *n == name) {
        return Ok(Some(Kind::Named(key, *applies)));
    }
    if let Some(encoded) = name.strip_prefix(PROPERTY_PREFIX) {
        let key = property_name(encoded).map_err(|reason| Error::Config {
            key: name.to_string(),
            reason,
        })?;
        return Ok(Some(Kind::Property(key)));
    }
    if name.starts_with("KAFKIT_") {
        tracing::debug!(
            variable = name,
            "not a configuration variable, ignored (any property is set with \
             {PROPERTY_PREFIX}<NAME>)"
        );
    }
    Ok(None)
}

/// The protocol named by `value`, lower-cased, as librdkafka spells it.
fn protocol(value: Option<&Setting>) -> String {
    value.map_or_else(
        || "plaintext".to_string(),
        |s| s.value.trim().to_ascii_lowercase(),
    )
}

/// The properties that `vars` set, `security.protocol` first and the rest
/// sorted by name (so the result does not depend on the environment's
/// order).
///
/// A `KAFKIT_PROPERTY_` variable wins over a well-known one for the same
/// property; two `KAFKIT_PROPERTY_` variables that give one property
/// different values are an error. Well-known TLS and SASL variables are
/// dropped when the security protocol does not use them.
pub(super) fn settings<K, V>(vars: impl IntoIterator<Item = (K, V)>) -> Result<Vec<Setting>, Error>
where
    K: Into<OsString>,
    V: Into<OsString>,
{
    let mut named: BTreeMap<String, (Setting, Applies)> = BTreeMap::new();
    let mut explicit: BTreeMap<String, Setting> = BTreeMap::new();
    for (name, value) in vars {
        // No variable kafkit reads has a name that is not UTF-8.
        let Ok(name) = name.into().into_string() else {
            continue;
        };
        let Some(kind) = kind(&name)? else {
            continue;
        };
        let key = match &kind {
            Kind::Named(key, _) => key.to_string(),
            Kind::Property(key) => key.clone(),
        };
        let value = value.into().into_string().map_err(|_| Error::Config {
            key: key.clone(),
            reason: format!("the value of {name} is not valid UTF-8"),
        })?;
        if value.is_empty() {
            continue;
        }
        let setting = Setting {
            key: key.clone(),
            value,
            var: name,
        };
        match kind {
            Kind::Named(_, applies) => {
                named.insert(key, (setting, applies));
            }
            Kind::Property(_) => {
                if let Some(other) = explicit.get(&key) {
                    if other.value != setting.value {
                        let (first, second) = if other.var < setting.var {
                            (&other.var, &setting.var)
                        } else {
                            (&setting.var, &other.var)
                        };
                        return Err(Error::Config {
                            key,
                            reason: format!("set to different values by {first} and {second}"),
                        });
                    }
                }
                explicit.insert(key, setting);
            }
        }
    }

    let protocol = protocol(
        explicit
            .get("security.protocol")
            .or_else(|| named.get("security.protocol").map(|(s, _)| s)),
    );
    let tls = matches!(protocol.as_str(), "ssl" | "sasl_ssl");
    let sasl = matches!(protocol.as_str(), "sasl_plaintext" | "sasl_ssl");

    let mut out: BTreeMap<String, Setting> = BTreeMap::new();
    for (key, (setting, applies)) in named {
        let used = match applies {
            Applies::Always => true,
            Applies::Tls => tls,
            Applies::Sasl => sasl,
        };
        if let Some(over) = explicit.get(&key) {
            tracing::debug!(
                variable = setting.var,
                "{key} is set by {} instead, which wins",
                over.var
            );
        } else if !used {
            tracing::debug!(
                variable = setting.var,
                "ignored: security.protocol is {protocol}, which does not use {key}"
            );
        } else {
            out.insert(key, setting);
        }
    }
    out.extend(explicit);
    let mut settings: Vec<Setting> = out.into_values().collect();
    // Stable, so the rest stays sorted by name.
    settings.sort_by_key(|s| s.key != "security.protocol");
    Ok(settings)
}

/// The librdkafka feature (a `builtin.features` value) that a SASL
/// mechanism needs, if any.
pub(super) fn sasl_mechanism_feature(mechanism: &str) -> Option<&'static str> {
    let mechanism = mechanism.trim().to_ascii_uppercase();
    if mechanism.starts_with("SCRAM-SHA-") {
        Some("sasl_scram")
    } else if mechanism == "OAUTHBEARER" {
        Some("sasl_oauthbearer")
    } else if mechanism == "GSSAPI" {
        Some("sasl_gssapi")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn property_names_decode() {
        let cases = [
            ("LINGER_MS", "linger.ms"),
            ("linger_ms", "linger.ms"),
            ("BATCH_NUM_MESSAGES", "batch.num.messages"),
            (
                "SSL_ENDPOINT_IDENTIFICATION_ALGORITHM",
                "ssl.endpoint.identification.algorithm",
            ),
            ("KAFKIT_CLOSE_TIMEOUT_MS", "kafkit.close.timeout.ms"),
            ("DR__MSG__CB", "dr_msg_cb"),
            ("SSL_CERTIFICATE_VERIFY__CB", "ssl.certificate.verify_cb"),
            ("__X", "_x"),
            ("ACKS", "acks"),
        ];
        for (encoded, want) in cases {
            assert_eq!(property_name(encoded).as_deref(), Ok(want), "{encoded}");
        }
        for bad in ["", "_LINGER_MS", "LINGER_MS_", "_", "A___B", "A____B"] {
            assert!(property_name(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn other_variables_are_ignored() {
        let vars = [
            ("KAFKIT_SKIP_BROKER", "1"),
            ("KAFKIT_RUN_DIR", "/tmp/run"),
            ("KAFKIT_LINGER_MS", "5"),
            ("KAFKA_SASL_BOOTSTRAP_SERVERS", "127.0.0.1:9094"),
            ("KAFKA_HEAP_OPTS", "-Xmx1g"),
            ("PATH", "/usr/bin"),
        ];
        assert_eq!(settings(vars).ok(), Some(Vec::new()));
    }

    #[test]
    fn security_protocol_comes_first() {
        let vars = [
            ("KAFKIT_PROPERTY_ACKS", "all"),
            ("KAFKA_SECURITY_PROTOCOL", "ssl"),
            ("KAFKA_BOOTSTRAP_SERVERS", "b:1"),
            ("KAFKA_SSL_CA_LOCATION", "/ca.pem"),
        ];
        let keys: Vec<String> = settings(vars)
            .unwrap_or_default()
            .into_iter()
            .map(|s| s.key)
            .collect();
        assert_eq!(
            keys,
            [
                "security.protocol",
                "acks",
                "bootstrap.servers",
                "ssl.ca.location"
            ]
        );
    }

    #[test]
    fn sasl_mechanisms_map_to_features() {
        assert_eq!(sasl_mechanism_feature("SCRAM-SHA-256"), Some("sasl_scram"));
        assert_eq!(sasl_mechanism_feature("scram-sha-512"), Some("sasl_scram"));
        assert_eq!(
            sasl_mechanism_feature("OAUTHBEARER"),
            Some("sasl_oauthbearer")
        );
        assert_eq!(sasl_mechanism_feature("GSSAPI"), Some("sasl_gssapi"));
        assert_eq!(sasl_mechanism_feature("PLAIN"), None);
    }
}
