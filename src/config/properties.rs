//! Parser for Java-style `.properties` files.
//!
//! Kafka's Java clients read their configuration from `.properties` files,
//! and many deployments ship those files to every client regardless of
//! language. [`parse`] reads that format following the rules of
//! `java.util.Properties.load`:
//!
//! * Lines are terminated by `\n`, `\r\n` or `\r`.
//! * Blank lines are ignored, as are comment lines: lines whose first
//!   non-whitespace character is `#` or `!`.
//! * Leading whitespace (space, tab, form feed) of every line is ignored.
//! * The key ends at the first unescaped `=`, `:` or whitespace character.
//!   Whitespace around the separator is skipped, and a `=` or `:` following
//!   a whitespace separator is part of the separator, so `key = value`,
//!   `key:value` and `key value` are equivalent.
//! * A line ending in an odd number of backslashes continues on the next
//!   line; the final backslash is removed and the continuation line's
//!   leading whitespace is dropped. A comment line never continues.
//! * In keys and values, `\t`, `\n`, `\r` and `\f` stand for tab, newline,
//!   carriage return and form feed, `\uXXXX` for the UTF-16 code unit with
//!   hexadecimal value `XXXX`, and a backslash before any other character
//!   stands for that character (so `\\`, `\=`, `\:`, `\#`, `\!` and `\ `
//!   produce `\`, `=`, `:`, `#`, `!` and a space).
//! * A key without a value gets the empty string as its value.
//!
//! The input is already-decoded text, so there is no ISO-8859-1 handling;
//! non-ASCII characters can be written directly or with `\u` escapes. A byte
//! order mark at the very start of the input is ignored. Differences from
//! Java: a malformed `\u` escape is reported as an error instead of an
//! exception, and so is a `\u` escape that yields an unpaired UTF-16
//! surrogate, since it cannot be represented in a Rust string. Escaped
//! surrogate pairs (`\uD83D\uDE00`) are combined into one character.

use std::error::Error;
use std::fmt;

/// Error returned by [`parse`] for input that is not valid `.properties`
/// text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertiesError {
    /// One-based number of the line on which the problem was found.
    pub line: usize,
    /// Description of the problem.
    pub message: String,
}

impl fmt::Display for PropertiesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl Error for PropertiesError {}

/// Parses the text of a `.properties` file into key/value pairs.
///
/// Pairs are returned in the order in which they appear. Keys that occur
/// more than once are returned every time; applying the pairs in order
/// gives the usual "last one wins" behaviour.
///
/// # Errors
///
/// Returns a [`PropertiesError`] carrying the offending line number when a
/// `\u` escape is not followed by four hexadecimal digits or encodes an
/// unpaired UTF-16 surrogate.
pub fn parse(text: &str) -> Result<Vec<(String, String)>, PropertiesError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut pairs = Vec::new();
    let mut lines = NaturalLines::new(text);

    while let Some((number, raw)) = lines.next() {
        let first = trim_leading_whitespace(raw);
        if first.is_empty() || first.starts_with('#') || first.starts_with('!') {
            continue;
        }

        let mut logical = LogicalLine::default();
        let mut segment = first;
        let mut segment_line = number;
        loop {
            match segment.strip_suffix('\\') {
                Some(head) if ends_with_odd_backslashes(segment) => {
                    logical.push(head, segment_line);
                    match lines.next() {
                        Some((next_number, next)) => {
                            segment = trim_leading_whitespace(next);
                            segment_line = next_number;
                        }
                        None => break,
                    }
                }
                _ => {
                    logical.push(segment, segment_line);
                    break;
                }
            }
        }

        // Like Java, an entry that is empty once joined (a lone backslash
        // followed by a blank line) is skipped.
        if !logical.chars.is_empty() {
            pairs.push(logical.key_value()?);
        }
    }

    Ok(pairs)
}

/// Whitespace as understood by the `.properties` format.
fn is_whitespace(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\u{c}')
}

fn trim_leading_whitespace(s: &str) -> &str {
    s.trim_start_matches(is_whitespace)
}

fn ends_with_odd_backslashes(s: &str) -> bool {
    s.chars().rev().take_while(|&c| c == '\\').count() % 2 == 1
}

/// Iterator over the physical lines of the input, with one-based line
/// numbers, accepting `\n`, `\r\n` and `\r` as terminators.
struct NaturalLines<'a> {
    rest: Option<&'a str>,
    number: usize,
}

impl<'a> NaturalLines<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            rest: Some(text),
            number: 0,
        }
    }
}

impl<'a> Iterator for NaturalLines<'a> {
    type Item = (usize, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.rest?;
        self.number += 1;
        match rest.find(['\n', '\r']) {
            Some(end) => {
                let after = &rest[end..];
                let terminator = if after.starts_with("\r\n") { 2 } else { 1 };
                let remaining = &after[terminator..];
                // A final terminator does not start another (empty) line.
                self.rest = if remaining.is_empty() {
                    None
                } else {
                    Some(remaining)
                };
                Some((self.number, &rest[..end]))
            }
            None => {
                self.rest = None;
                Some((self.number, rest))
            }
        }
    }
}

/// A key/value entry after continuation lines have been joined, remembering
/// which physical line each character came from for error reporting.
#[derive(Default)]
struct LogicalLine {
    chars: Vec<char>,
    /// `(index into chars, line number)` for the start of every segment.
    segments: Vec<(usize, usize)>,
}

impl LogicalLine {
    fn push(&mut self, segment: &str, line: usize) {
        self.segments.push((self.chars.len(), line));
        self.chars.extend(segment.chars());
    }

    fn line_of(&self, index: usize) -> usize {
        self.segments
            .iter()
            .rev()
            .find(|&&(start, _)| start <= index)
            .map_or(0, |&(_, line)| line)
    }

    fn key_value(&self) -> Result<(String, String), PropertiesError> {
        let chars = &self.chars;
        let mut key_end = chars.len();
        let mut value_start = chars.len();
        let mut has_separator = false;
        let mut escaped = false;

        for (i, &c) in chars.iter().enumerate() {
            if !escaped {
                if c == '=' || c == ':' {
                    key_end = i;
                    value_start = i + 1;
                    has_separator = true;
                    break;
                }
                if is_whitespace(c) {
                    key_end = i;
                    value_start = i + 1;
                    break;
                }
            }
            escaped = c == '\\' && !escaped;
        }

        while let Some(&c) = chars.get(value_start) {
            if is_whitespace(c) {
                value_start += 1;
            } else if !has_separator && (c == '=' || c == ':') {
                has_separator = true;
                value_start += 1;
            } else {
                break;
            }
        }

        let key = self.unescape(0, key_end)?;
        let value = self.unescape(value_start, chars.len())?;
        Ok((key, value))
    }

    /// Resolves escape sequences in `chars[start..end]`.
    fn unescape(&self, start: usize, end: usize) -> Result<String, PropertiesError> {
        let mut out = String::with_capacity(end.saturating_sub(start));
        let mut i = start;
        while i < end {
            let c = self.chars[i];
            i += 1;
            if c != '\\' {
                out.push(c);
                continue;
            }
            let Some(&escaped) = self.chars[..end].get(i) else {
                // A lone trailing backslash cannot normally survive line
                // joining; treat it as escaping nothing.
                break;
            };
            i += 1;
            match escaped {
                't' => out.push('\t'),
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                'f' => out.push('\u{c}'),
                'u' => {
                    let escape_start = i - 2;
                    let unit = self.hex_unit(i, end, escape_start)?;
                    i += 4;
                    let decoded = if (0xD800..0xDC00).contains(&unit) {
                        self.low_surrogate_at(i, end).and_then(|low| {
                            i += 6;
                            char::from_u32(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))
                        })
                    } else {
                        char::from_u32(unit)
                    };
                    match decoded {
                        Some(ch) => out.push(ch),
                        None => {
                            return Err(PropertiesError {
                                line: self.line_of(escape_start),
                                message: format!(
                                    "\\u{unit:04X} escape is an unpaired UTF-16 surrogate"
                                ),
                            })
                        }
                    }
                }
                other => out.push(other),
            }
        }
        Ok(out)
    }

    /// Reads the four hexadecimal digits of a `\u` escape starting at `at`.
    fn hex_unit(&self, at: usize, end: usize, escape_start: usize) -> Result<u32, PropertiesError> {
        let digits = &self.chars[at.min(end)..(at + 4).min(end)];
        match parse_hex4(digits) {
            Some(unit) => Ok(unit),
            None => Err(PropertiesError {
                line: self.line_of(escape_start),
                message: format!(
                    "malformed \\uXXXX escape: expected four hexadecimal digits, found {:?}",
                    digits.iter().collect::<String>()
                ),
            }),
        }
    }

    /// Returns the code unit of a `\uXXXX` low-surrogate escape at `at`, if
    /// there is one.
    fn low_surrogate_at(&self, at: usize, end: usize) -> Option<u32> {
        let escape = self.chars.get(at..at + 6).filter(|_| at + 6 <= end)?;
        if escape[0] != '\\' || escape[1] != 'u' {
            return None;
        }
        parse_hex4(&escape[2..]).filter(|unit| (0xDC00..0xE000).contains(unit))
    }
}

/// Parses exactly four hexadecimal digits.
fn parse_hex4(digits: &[char]) -> Option<u32> {
    if digits.len() != 4 {
        return None;
    }
    digits
        .iter()
        .try_fold(0_u32, |acc, c| Some((acc << 4) | c.to_digit(16)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String)> {
        parse(text).unwrap()
    }

    fn kv(key: &str, value: &str) -> (String, String) {
        (key.to_owned(), value.to_owned())
    }

    #[test]
    fn empty_input() {
        assert!(pairs("").is_empty());
        assert!(pairs("\n\n\r\n").is_empty());
    }

    #[test]
    fn comments_and_blank_lines_are_skipped() {
        let text = "# a comment\n! another comment\n   # indented comment\n\n \t \nkey=value\n";
        assert_eq!(pairs(text), vec![kv("key", "value")]);
    }

    #[test]
    fn comment_marker_inside_value_is_kept() {
        assert_eq!(
            pairs("key=value # not a comment"),
            vec![kv("key", "value # not a comment")]
        );
        assert_eq!(pairs("key=#value"), vec![kv("key", "#value")]);
    }

    #[test]
    fn comment_lines_do_not_continue() {
        let text = "# comment ending in backslash \\\nkey=value\n";
        assert_eq!(pairs(text), vec![kv("key", "value")]);
    }

    #[test]
    fn separators() {
        let text = "a=1\nb:2\nc 3\nd\t4\ne = 5\nf : 6\ng   7\nh =  = 8\ni \t:\t9\n";
        assert_eq!(
            pairs(text),
            vec![
                kv("a", "1"),
                kv("b", "2"),
                kv("c", "3"),
                kv("d", "4"),
                kv("e", "5"),
                kv("f", "6"),
                kv("g", "7"),
                kv("h", "= 8"),
                kv("i", "9"),
            ]
        );
    }

    #[test]
    fn only_first_separator_splits() {
        assert_eq!(pairs("a=b=c:d"), vec![kv("a", "b=c:d")]);
        assert_eq!(pairs("a:b=c"), vec![kv("a", "b=c")]);
    }

    #[test]
    fn leading_whitespace_is_ignored_and_trailing_kept() {
        assert_eq!(pairs("   \t key = value  "), vec![kv("key", "value  ")]);
    }

    #[test]
    fn key_without_value() {
        assert_eq!(
            pairs("lonely\nwith.eq=\nwith.colon:\nwith.space   \n"),
            vec![
                kv("lonely", ""),
                kv("with.eq", ""),
                kv("with.colon", ""),
                kv("with.space", ""),
            ]
        );
    }

    #[test]
    fn empty_key() {
        assert_eq!(pairs("=value"), vec![kv("", "value")]);
    }

    #[test]
    fn continuation_lines() {
        let text = "list = a, \\\n       b, \\\n\t\tc\nnext=1\n";
        assert_eq!(pairs(text), vec![kv("list", "a, b, c"), kv("next", "1")]);
    }

    #[test]
    fn continuation_in_key() {
        assert_eq!(pairs("lo\\\n   ng.key=v"), vec![kv("long.key", "v")]);
    }

    #[test]
    fn continuation_line_starting_with_comment_marker_is_content() {
        assert_eq!(pairs("key=a\\\n  # b"), vec![kv("key", "a# b")]);
    }

    #[test]
    fn continuation_at_end_of_input() {
        assert_eq!(pairs("key=value\\"), vec![kv("key", "value")]);
        assert_eq!(pairs("key=value\\\n"), vec![kv("key", "value")]);
    }

    #[test]
    fn continuation_onto_blank_line_ends_entry() {
        let text = "key=value\\\n\nother=x";
        assert_eq!(pairs(text), vec![kv("key", "value"), kv("other", "x")]);
    }

    #[test]
    fn even_number_of_backslashes_does_not_continue() {
        let text = "path=C:\\\\dir\\\\\nnext=1";
        assert_eq!(pairs(text), vec![kv("path", "C:\\dir\\"), kv("next", "1")]);
        let text = "odd=a\\\\\\\nb";
        assert_eq!(pairs(text), vec![kv("odd", "a\\b")]);
    }

    #[test]
    fn escapes() {
        let text = r"esc=tab\there\nnl\rcr\fff\\bs\=eq\:colon\#hash\!bang\ sp\qq";
        assert_eq!(
            pairs(text),
            vec![kv(
                "esc",
                "tab\there\nnl\rcr\u{c}ff\\bs=eq:colon#hash!bang spqq"
            )]
        );
    }

    #[test]
    fn escaped_separators_in_key() {
        assert_eq!(pairs(r"a\=b\:c\ d = value"), vec![kv("a=b:c d", "value")]);
    }

    #[test]
    fn escaped_leading_space_in_value() {
        assert_eq!(pairs(r"key = \  padded"), vec![kv("key", "  padded")]);
    }

    #[test]
    fn unicode_escapes() {
        assert_eq!(
            pairs(r"greeting=gr\u00fc\u00DF dich \u20ac"),
            vec![kv("greeting", "grüß dich €")]
        );
        assert_eq!(pairs(r"k\u0041y=v"), vec![kv("kAy", "v")]);
        assert_eq!(pairs(r"emoji=\uD83D\uDE00!"), vec![kv("emoji", "😀!")]);
        assert_eq!(pairs("raw=grüß"), vec![kv("raw", "grüß")]);
    }

    #[test]
    fn unicode_escape_split_by_continuation() {
        assert_eq!(pairs("k=\\u00\\\n   e9"), vec![kv("k", "é")]);
    }

    #[test]
    fn malformed_unicode_escape_reports_line() {
        let err = parse("ok=1\n\n# comment\nbad=\\u12G4\n").unwrap_err();
        assert_eq!(err.line, 4);
        assert!(err.message.contains("malformed"), "{}", err.message);

        let err = parse("a=1\nbad=\\u12").unwrap_err();
        assert_eq!(err.line, 2);

        let err = parse("a=1\nbad\\u=x").unwrap_err();
        assert_eq!(err.line, 2);

        let err = parse("a=1\nb=first \\\n   second \\uZZZZ").unwrap_err();
        assert_eq!(err.line, 3);
        assert_eq!(err.to_string(), format!("line 3: {}", err.message));
    }

    #[test]
    fn unpaired_surrogate_is_an_error() {
        let err = parse("x=1\ns=\\uD83D alone").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.message.contains("surrogate"), "{}", err.message);
        assert!(parse(r"s=\uDE00").is_err());
    }

    #[test]
    fn crlf_and_cr_line_endings() {
        let text = "# comment\r\na=1\r\nb = two \\\r\n    parts\r\n\r\nc:3\rd=4";
        assert_eq!(
            pairs(text),
            vec![
                kv("a", "1"),
                kv("b", "two parts"),
                kv("c", "3"),
                kv("d", "4"),
            ]
        );
        let err = parse("a=1\r\n\r\nb=\\u00\r\n").unwrap_err();
        assert_eq!(err.line, 3);
    }

    #[test]
    fn byte_order_mark_is_ignored() {
        assert_eq!(pairs("\u{feff}key=value"), vec![kv("key", "value")]);
    }

    #[test]
    fn duplicates_are_kept_in_order() {
        assert_eq!(
            pairs("a=1\nb=2\na=3"),
            vec![kv("a", "1"), kv("b", "2"), kv("a", "3")]
        );
    }

    #[test]
    fn typical_client_config() {
        let text = "\
# Client configuration for the production cluster
bootstrap.servers=broker-1.example.com:9093,\\
                  broker-2.example.com:9093,\\
                  broker-3.example.com:9093
security.protocol = SASL_SSL
sasl.mechanism: SCRAM-SHA-512
sasl.username=svc-orders
sasl.password=p4ss=w0rd==
! Java-only settings are returned as well
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \\
    username=\"svc-orders\" \\
    password=\"p4ss=w0rd==\";
client.id     orders-service
enable.auto.commit=false
";
        assert_eq!(
            pairs(text),
            vec![
                kv(
                    "bootstrap.servers",
                    "broker-1.example.com:9093,broker-2.example.com:9093,broker-3.example.com:9093"
                ),
                kv("security.protocol", "SASL_SSL"),
                kv("sasl.mechanism", "SCRAM-SHA-512"),
                kv("sasl.username", "svc-orders"),
                kv("sasl.password", "p4ss=w0rd=="),
                kv(
                    "sasl.jaas.config",
                    "org.apache.kafka.common.security.scram.ScramLoginModule required \
                     username=\"svc-orders\" password=\"p4ss=w0rd==\";"
                ),
                kv("client.id", "orders-service"),
                kv("enable.auto.commit", "false"),
            ]
        );
    }

    #[test]
    fn error_is_std_error() {
        let err: Box<dyn Error> = Box::new(PropertiesError {
            line: 7,
            message: "boom".to_owned(),
        });
        assert_eq!(err.to_string(), "line 7: boom");
    }
}
