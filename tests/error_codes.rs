//! `src/error/codes.rs` is generated from librdkafka's own error table
//! (`rd_kafka_get_err_descs`). This test fails when the two disagree, for
//! example after a librdkafka upgrade; regenerate the file with
//! `KAFKIT_REGENERATE_ERROR_CODES=1 cargo test --test error_codes`.

use kafkit::ErrorCode;

/// Turns librdkafka's name ("_MSG_TIMED_OUT") into a variant ("MsgTimedOut").
fn variant_name(name: &str) -> String {
    let camel: String = name
        .trim_start_matches('_')
        .split('_')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let lower = w.to_ascii_lowercase();
            let mut chars = lower.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect();
    // `Unknown(i32)` is the fallback for codes this table does not know, so
    // the broker's generic -1 takes Kafka's own name for it.
    if camel == "Unknown" {
        "UnknownServerError".to_string()
    } else {
        camel
    }
}

fn generate() -> String {
    let table = kafkit::__librdkafka_error_table();
    let mut seen = std::collections::HashSet::new();
    let mut out = String::new();
    out.push_str(
        "// Generated from librdkafka's error table (rd_kafka_get_err_descs) by\n\
         // tests/error_codes.rs; do not edit by hand. Regenerate with\n\
         // `KAFKIT_REGENERATE_ERROR_CODES=1 cargo test --test error_codes`.\n\n\
         error_codes! {\n",
    );
    for (code, name, desc) in table {
        // The markers _BEGIN and _END delimit the local range; they are not errors.
        if name == "_BEGIN" || name == "_END" {
            continue;
        }
        let mut variant = variant_name(&name);
        if !seen.insert(variant.clone()) {
            variant = format!("Local{variant}");
            assert!(seen.insert(variant.clone()), "duplicate variant {variant}");
        }
        out.push_str(&format!("    ({code}, {variant}, {name:?}, {desc:?}),\n"));
    }
    out.push_str("}\n");
    out
}

#[test]
fn codes_match_librdkafka_table() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/error/codes.rs");
    let generated = generate();
    if std::env::var_os("KAFKIT_REGENERATE_ERROR_CODES").is_some() {
        std::fs::write(path, &generated).expect("write codes.rs");
        return;
    }
    let current = std::fs::read_to_string(path).expect("read codes.rs");
    assert!(
        current == generated,
        "src/error/codes.rs differs from librdkafka's table; regenerate it \
         with KAFKIT_REGENERATE_ERROR_CODES=1 cargo test --test error_codes"
    );
}

#[test]
fn every_code_round_trips_and_unknown_falls_back() {
    for (code, name, desc) in kafkit::__librdkafka_error_table() {
        if name == "_BEGIN" || name == "_END" {
            continue;
        }
        let ec = ErrorCode::from_raw(code);
        assert!(
            !matches!(ec, ErrorCode::Unknown(_)),
            "{code} {name} unknown"
        );
        assert_eq!(ec.raw(), code);
        assert_eq!(ec.name(), name);
        assert_eq!(ec.description(), desc);
    }
    assert_eq!(ErrorCode::from_raw(123_456), ErrorCode::Unknown(123_456));
    assert_eq!(ErrorCode::Unknown(123_456).raw(), 123_456);
    assert_eq!(ErrorCode::from_raw(10), ErrorCode::MsgSizeTooLarge);
    assert_eq!(ErrorCode::from_raw(-184), ErrorCode::QueueFull);
}
