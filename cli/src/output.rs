//! How `consume` writes a message: a format string, or a JSON line.

use std::io::{self, Write};

use base64::Engine;
use kafkit::{Message, Timestamp};
use serde_json::{json, Map, Value};

/// The fields a format string can name.
const FIELDS: &str = "{key}, {value}, {topic}, {partition}, {offset}, {timestamp}, {headers}";

#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(Vec<u8>),
    Key,
    Value,
    Topic,
    Partition,
    Offset,
    Timestamp,
    Headers,
}

/// A parsed `--format`: text with `{field}` placeholders, `{{` and `}}`
/// for braces, and the escapes `\n`, `\t`, `\r`, `\0` and `\\`.
#[derive(Debug, Clone, PartialEq)]
pub struct Format(Vec<Piece>);

impl Format {
    /// Parses a format string; the error names what is wrong.
    pub fn parse(text: &str) -> Result<Format, String> {
        let mut pieces = Vec::new();
        let mut literal = Vec::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    let escaped = match chars.next() {
                        Some('n') => '\n',
                        Some('t') => '\t',
                        Some('r') => '\r',
                        Some('0') => '\0',
                        Some('\\') => '\\',
                        other => {
                            return Err(format!(
                                "unknown escape \\{} (use \\n, \\t, \\r, \\0 or \\\\)",
                                other.map(String::from).unwrap_or_default()
                            ))
                        }
                    };
                    push_char(&mut literal, escaped);
                }
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    literal.push(b'{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    literal.push(b'}');
                }
                '{' => {
                    let name: String = chars.by_ref().take_while(|c| *c != '}').collect();
                    let piece = match name.as_str() {
                        "key" => Piece::Key,
                        "value" => Piece::Value,
                        "topic" => Piece::Topic,
                        "partition" => Piece::Partition,
                        "offset" => Piece::Offset,
                        "timestamp" => Piece::Timestamp,
                        "headers" => Piece::Headers,
                        _ => {
                            return Err(format!(
                                "unknown field {{{name}}}; the fields are {FIELDS}"
                            ))
                        }
                    };
                    if !literal.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut literal)));
                    }
                    pieces.push(piece);
                }
                '}' => return Err("a lone `}` (write `}}` for a brace)".to_string()),
                c => push_char(&mut literal, c),
            }
        }
        if !literal.is_empty() {
            pieces.push(Piece::Text(literal));
        }
        Ok(Format(pieces))
    }

    /// Writes one message. A missing key or value writes nothing; headers
    /// are `name=value` pairs joined by `,`; the timestamp is milliseconds
    /// since the epoch (empty when the message has none).
    pub fn write(&self, message: &Message, out: &mut impl Write) -> io::Result<()> {
        for piece in &self.0 {
            match piece {
                Piece::Text(t) => out.write_all(t)?,
                Piece::Key => out.write_all(message.key().unwrap_or_default())?,
                Piece::Value => out.write_all(message.value().unwrap_or_default())?,
                Piece::Topic => out.write_all(message.topic().as_bytes())?,
                Piece::Partition => write!(out, "{}", message.partition())?,
                Piece::Offset => write!(out, "{}", message.offset())?,
                Piece::Timestamp => {
                    if let Some(ms) = message.timestamp().millis() {
                        write!(out, "{ms}")?;
                    }
                }
                Piece::Headers => {
                    for (i, (name, value)) in message.raw_headers().enumerate() {
                        if i > 0 {
                            out.write_all(b",")?;
                        }
                        out.write_all(name)?;
                        out.write_all(b"=")?;
                        out.write_all(value.unwrap_or_default())?;
                    }
                }
            }
        }
        Ok(())
    }
}

fn push_char(into: &mut Vec<u8>, c: char) {
    let mut buf = [0; 4];
    into.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
}

/// Puts `bytes` under `field`: a JSON string when it is UTF-8, else its
/// base64 with `<field>_encoding: "base64"` beside it; `null` when absent.
fn put_bytes(object: &mut Map<String, Value>, field: &str, bytes: Option<&[u8]>) {
    let value = match bytes {
        None => Value::Null,
        Some(b) => match std::str::from_utf8(b) {
            Ok(text) => Value::String(text.to_string()),
            Err(_) => {
                object.insert(format!("{field}_encoding"), json!("base64"));
                Value::String(base64::engine::general_purpose::STANDARD.encode(b))
            }
        },
    };
    object.insert(field.to_string(), value);
}

/// The JSON line for a message: topic, partition, offset, timestamp and
/// its type, key, value and headers. Keys, values and header names and
/// values that are not UTF-8 are base64, flagged by a `*_encoding` field.
pub fn json_line(message: &Message) -> Value {
    let mut object = Map::new();
    object.insert("topic".into(), json!(message.topic()));
    object.insert("partition".into(), json!(message.partition()));
    object.insert("offset".into(), json!(message.offset()));
    let (timestamp, kind) = match message.timestamp() {
        Timestamp::CreateTime(ms) => (json!(ms), json!("create")),
        Timestamp::LogAppendTime(ms) => (json!(ms), json!("log_append")),
        Timestamp::NotAvailable => (Value::Null, Value::Null),
    };
    object.insert("timestamp".into(), timestamp);
    object.insert("timestamp_type".into(), kind);
    put_bytes(&mut object, "key", message.key());
    put_bytes(&mut object, "value", message.value());
    let headers: Vec<Value> = message
        .raw_headers()
        .map(|(name, value)| {
            let mut header = Map::new();
            put_bytes(&mut header, "name", Some(name));
            put_bytes(&mut header, "value", value);
            Value::Object(header)
        })
        .collect();
    object.insert("headers".into(), Value::Array(headers));
    Value::Object(object)
}

/// Writes the JSON line for a message, with its newline.
pub fn write_json(message: &Message, out: &mut impl Write) -> io::Result<()> {
    serde_json::to_writer(&mut *out, &json_line(message))?;
    out.write_all(b"\n")
}

/// Turns `\n`, `\t`, `\r`, `\0` and `\\` in a flag's value into the bytes
/// they name (for `--delimiter` and `-K`).
pub fn unescape(text: &str) -> Result<Vec<u8>, String> {
    let format = Format::parse(&text.replace('{', "{{").replace('}', "}}"))?;
    let mut out = Vec::new();
    for piece in format.0 {
        if let Piece::Text(t) = piece {
            out.extend_from_slice(&t);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse_fields_escapes_and_braces() {
        let f = Format::parse("{key}={value}\\t{{x}}\\n").expect("parses");
        assert_eq!(
            f.0,
            vec![
                Piece::Key,
                Piece::Text(b"=".to_vec()),
                Piece::Value,
                Piece::Text(b"\t{x}\n".to_vec()),
            ]
        );
    }

    #[test]
    fn bad_formats_say_what_is_wrong() {
        let unknown = Format::parse("{nope}").expect_err("unknown field");
        assert!(
            unknown.contains("{nope}") && unknown.contains("{value}"),
            "{unknown}"
        );
        assert!(Format::parse("a}b").expect_err("lone brace").contains("}}"));
        assert!(Format::parse("\\q")
            .expect_err("bad escape")
            .contains("\\q"));
    }

    #[test]
    fn unescape_gives_bytes() {
        assert_eq!(unescape("\\0").expect("ok"), vec![0]);
        assert_eq!(unescape("::").expect("ok"), b"::".to_vec());
        assert_eq!(unescape("{\\t}").expect("ok"), b"{\t}".to_vec());
    }
}
