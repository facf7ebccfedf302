//! Reads the text format line by line: `# HELP` / `# TYPE` comments, other comments, and sample
//! lines `name{label="value",…} value [timestamp]`, with the format's escapes (`\\`, `\"`, `\n`
//! in label values; `\\`, `\n` in help), `+Inf`/`-Inf`/`NaN` values and optional timestamps.
//! Anything else is an error naming the line: a scrape that cannot be read is reported, never
//! half-used.

use super::{Exposition, MetricType, Sample};

/// Why a line could not be read; `line` counts from 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {kind}")]
pub struct ParseError {
    pub line: usize,
    pub kind: ParseErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseErrorKind {
    #[error("expected a metric name")]
    MetricName,
    #[error("expected a label name")]
    LabelName,
    #[error("expected '=' after label {0}")]
    Equals(String),
    #[error("expected a quoted value for label {0}")]
    Quote(String),
    #[error("unknown escape \\{0} in a quoted value")]
    Escape(char),
    #[error("unterminated quoted value")]
    Unterminated,
    #[error("label {0} given twice")]
    DuplicateLabel(String),
    #[error("expected ',' or '}}' in the label set")]
    LabelSeparator,
    #[error("expected a value")]
    MissingValue,
    #[error("{0:?} is not a number")]
    Value(String),
    #[error("{0:?} is not a timestamp in milliseconds")]
    Timestamp(String),
    #[error("unexpected {0:?} after the timestamp")]
    Trailing(String),
    #[error("unknown metric type {0:?}")]
    Type(String),
    #[error("a # {0} line needs a metric name")]
    CommentName(&'static str),
}

/// Parses a whole exposition.
pub fn parse(text: &str) -> Result<Exposition, ParseError> {
    let mut out = Exposition::default();
    for (index, raw) in text.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let at = |kind| ParseError {
            line: index + 1,
            kind,
        };
        let trimmed = line.trim_start_matches([' ', '\t']);
        if trimmed.trim_end_matches([' ', '\t']).is_empty() {
            continue;
        }
        if let Some(comment) = trimmed.strip_prefix('#') {
            comment_line(comment, &mut out).map_err(at)?;
            continue;
        }
        out.samples.push(sample_line(trimmed).map_err(at)?);
    }
    Ok(out)
}

/// `# HELP name text`, `# TYPE name type`; any other comment is ignored.
fn comment_line(comment: &str, out: &mut Exposition) -> Result<(), ParseErrorKind> {
    let rest = comment.trim_start_matches([' ', '\t']);
    let (keyword, rest) = split_word(rest);
    match keyword {
        "HELP" => {
            let (name, text) = split_word(rest.trim_start_matches([' ', '\t']));
            if !is_metric_name(name) {
                return Err(ParseErrorKind::CommentName("HELP"));
            }
            out.help.push((name.to_owned(), unescape_help(text)));
        }
        "TYPE" => {
            let (name, kind) = split_word(rest.trim_start_matches([' ', '\t']));
            if !is_metric_name(name) {
                return Err(ParseErrorKind::CommentName("TYPE"));
            }
            let kind = kind.trim_matches([' ', '\t']);
            let kind = MetricType::from_keyword(kind)
                .ok_or_else(|| ParseErrorKind::Type(kind.to_owned()))?;
            out.types.push((name.to_owned(), kind));
        }
        _ => {}
    }
    Ok(())
}

/// The first whitespace-separated word and the rest after one separator.
fn split_word(text: &str) -> (&str, &str) {
    match text.find([' ', '\t']) {
        Some(at) => (&text[..at], &text[at + 1..]),
        None => (text, ""),
    }
}

/// Help text escapes only the backslash and the line feed; anything else stays as written.
fn unescape_help(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some(other) if other != '\\' => {
                out.push('\\');
                out.push(other);
            }
            _ => out.push('\\'),
        }
    }
    out
}

fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// The length of the name at the start of `text` (`colon` allows ':', as metric names do).
fn name_len(text: &str, colon: bool) -> usize {
    let ok_first = |c: char| c.is_ascii_alphabetic() || c == '_' || (colon && c == ':');
    let ok_rest = |c: char| c.is_ascii_alphanumeric() || c == '_' || (colon && c == ':');
    let mut chars = text.char_indices();
    match chars.next() {
        Some((_, c)) if ok_first(c) => {}
        _ => return 0,
    }
    chars
        .find(|&(_, c)| !ok_rest(c))
        .map_or(text.len(), |(at, _)| at)
}

fn sample_line(line: &str) -> Result<Sample, ParseErrorKind> {
    let len = name_len(line, true);
    if len == 0 {
        return Err(ParseErrorKind::MetricName);
    }
    let name = line[..len].to_owned();
    let mut rest = line[len..].trim_start_matches([' ', '\t']);
    let mut labels = Vec::new();
    if let Some(after) = rest.strip_prefix('{') {
        rest = label_set(after, &mut labels)?;
    }
    let mut words = rest.split([' ', '\t']).filter(|w| !w.is_empty());
    let value = words.next().ok_or(ParseErrorKind::MissingValue)?;
    let value = parse_value(value).ok_or_else(|| ParseErrorKind::Value(value.to_owned()))?;
    let timestamp_ms = match words.next() {
        Some(word) => Some(
            word.parse::<i64>()
                .map_err(|_| ParseErrorKind::Timestamp(word.to_owned()))?,
        ),
        None => None,
    };
    if let Some(extra) = words.next() {
        return Err(ParseErrorKind::Trailing(extra.to_owned()));
    }
    Ok(Sample {
        name,
        labels,
        value,
        timestamp_ms,
    })
}

/// Go's `strconv.ParseFloat` spellings, which is what Prometheus accepts: decimal and exponent
/// forms, `Inf`/`+Inf`/`-Inf` and `NaN` in any case. Rust's parser takes the same words.
fn parse_value(word: &str) -> Option<f64> {
    word.parse::<f64>().ok()
}

/// Reads `name="value",…}` after the opening brace; returns what follows the closing brace.
fn label_set<'a>(
    mut rest: &'a str,
    labels: &mut Vec<(String, String)>,
) -> Result<&'a str, ParseErrorKind> {
    loop {
        rest = rest.trim_start_matches([' ', '\t']);
        if let Some(after) = rest.strip_prefix('}') {
            return Ok(after);
        }
        let len = name_len(rest, false);
        if len == 0 {
            return Err(ParseErrorKind::LabelName);
        }
        let key = &rest[..len];
        rest = rest[len..].trim_start_matches([' ', '\t']);
        rest = rest
            .strip_prefix('=')
            .ok_or_else(|| ParseErrorKind::Equals(key.to_owned()))?
            .trim_start_matches([' ', '\t']);
        rest = rest
            .strip_prefix('"')
            .ok_or_else(|| ParseErrorKind::Quote(key.to_owned()))?;
        let (value, after) = quoted(rest)?;
        if labels.iter().any(|(k, _)| k == key) {
            return Err(ParseErrorKind::DuplicateLabel(key.to_owned()));
        }
        labels.push((key.to_owned(), value));
        rest = after.trim_start_matches([' ', '\t']);
        if let Some(after) = rest.strip_prefix(',') {
            rest = after;
        } else if !rest.starts_with('}') {
            return Err(ParseErrorKind::LabelSeparator);
        }
    }
}

/// A label value after its opening quote: the unescaped value and what follows the closing quote.
fn quoted(text: &str) -> Result<(String, &str), ParseErrorKind> {
    let mut value = String::new();
    let mut chars = text.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => return Ok((value, &text[at + 1..])),
            '\\' => match chars.next() {
                Some((_, '\\')) => value.push('\\'),
                Some((_, '"')) => value.push('"'),
                Some((_, 'n')) => value.push('\n'),
                Some((_, other)) => return Err(ParseErrorKind::Escape(other)),
                None => return Err(ParseErrorKind::Unterminated),
            },
            other => value.push(other),
        }
    }
    Err(ParseErrorKind::Unterminated)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(sample: &Sample) -> Vec<(&str, &str)> {
        sample
            .labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    #[test]
    fn reads_a_proxy_route_family() {
        let text = "# HELP outbound_http_route_request_duration_seconds The time between request initialization and response completion.\n\
# TYPE outbound_http_route_request_duration_seconds histogram\n\
outbound_http_route_request_duration_seconds_bucket{parent_name=\"carts\",route_name=\"carts-timeouts\",le=\"0.05\"} 12\n\
outbound_http_route_request_duration_seconds_bucket{parent_name=\"carts\",route_name=\"carts-timeouts\",le=\"+Inf\"} 15\n\
outbound_http_route_request_duration_seconds_sum{parent_name=\"carts\",route_name=\"carts-timeouts\"} 6.25\n";
        let exp = parse(text).expect("parses");
        assert_eq!(exp.samples.len(), 3);
        assert_eq!(
            exp.type_of("outbound_http_route_request_duration_seconds"),
            MetricType::Histogram
        );
        assert_eq!(exp.samples[1].label("le"), Some("+Inf"));
        assert!((exp.samples[2].value - 6.25).abs() < f64::EPSILON);
        assert_eq!(
            exp.help[0].1,
            "The time between request initialization and response completion."
        );
    }

    #[test]
    fn label_values_unescape() {
        let exp = parse("m{a=\"x\\\\y\",b=\"say \\\"hi\\\"\",c=\"two\\nlines\",d=\"\"} 1\n")
            .expect("parses");
        assert_eq!(
            labels(&exp.samples[0]),
            [
                ("a", "x\\y"),
                ("b", "say \"hi\""),
                ("c", "two\nlines"),
                ("d", "")
            ]
        );
    }

    #[test]
    fn special_values_and_timestamps() {
        let exp = parse("a +Inf\nb -Inf 1700000000000\nc NaN\nd 1.5e3 -5\ne 0\n").expect("parses");
        let v: Vec<f64> = exp.samples.iter().map(|s| s.value).collect();
        assert!(v[0].is_infinite() && v[0] > 0.0);
        assert!(v[1].is_infinite() && v[1] < 0.0);
        assert!(v[2].is_nan());
        assert!((v[3] - 1500.0).abs() < f64::EPSILON);
        assert_eq!(exp.samples[1].timestamp_ms, Some(1_700_000_000_000));
        assert_eq!(exp.samples[3].timestamp_ms, Some(-5));
        assert_eq!(exp.samples[0].timestamp_ms, None);
    }

    #[test]
    fn whitespace_comments_crlf_and_trailing_comma() {
        let exp = parse(
            "# a free comment\r\n\n  \t\nm{ a = \"1\" , b=\"2\", }\t 3 \r\n# TYPE m counter\n",
        )
        .expect("parses");
        assert_eq!(labels(&exp.samples[0]), [("a", "1"), ("b", "2")]);
        assert!((exp.samples[0].value - 3.0).abs() < f64::EPSILON);
        assert_eq!(exp.type_of("m"), MetricType::Counter);
    }

    #[test]
    fn help_escapes() {
        let exp = parse("# HELP m a \\\\ b\\nc \\q\n").expect("parses");
        assert_eq!(exp.help[0].1, "a \\ b\nc \\q");
    }

    #[test]
    fn errors_name_the_line() {
        let cases: &[(&str, ParseErrorKind)] = &[
            ("ok 1\n{a=\"b\"} 1", ParseErrorKind::MetricName),
            ("m{a=\"b} 1", ParseErrorKind::Unterminated),
            ("m{a=\"\\t\"} 1", ParseErrorKind::Escape('t')),
            (
                "m{a=\"1\",a=\"2\"} 1",
                ParseErrorKind::DuplicateLabel("a".into()),
            ),
            ("m{a=\"1\" b=\"2\"} 1", ParseErrorKind::LabelSeparator),
            ("m{a 1", ParseErrorKind::Equals("a".into())),
            ("m{a=1} 1", ParseErrorKind::Quote("a".into())),
            ("m{1a=\"x\"} 1", ParseErrorKind::LabelName),
            ("m", ParseErrorKind::MissingValue),
            ("m one", ParseErrorKind::Value("one".into())),
            ("m 1 12.5", ParseErrorKind::Timestamp("12.5".into())),
            ("m 1 2 3", ParseErrorKind::Trailing("3".into())),
            ("# TYPE m counters", ParseErrorKind::Type("counters".into())),
            ("# TYPE", ParseErrorKind::CommentName("TYPE")),
        ];
        for (text, kind) in cases {
            let error = parse(text).expect_err(text);
            let line = if text.starts_with("ok") { 2 } else { 1 };
            assert_eq!(
                error,
                ParseError {
                    line,
                    kind: kind.clone()
                },
                "{text:?}"
            );
        }
    }
}
