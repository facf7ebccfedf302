//! Splits filter text into tokens that remember their byte span, so every later error can point
//! at the exact place in the input.

use super::FilterError;
use super::ast::Cmp;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum TokenKind {
    /// A bare word: a field name, keyword, `and`/`or`/`not`, or an unquoted value.
    Word(String),
    /// A double-quoted string with its escapes resolved. Never a keyword.
    Quoted(String),
    Op(Cmp),
    /// `~` (`not` = false) or `!~` (`not` = true).
    Tilde {
        not: bool,
    },
    LParen,
    RParen,
    /// `!` on its own.
    Bang,
    /// `&&`.
    AndAnd,
    /// `||`.
    OrOr,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Token {
    pub kind: TokenKind,
    /// Byte offsets into the input; both are char boundaries.
    pub start: usize,
    pub end: usize,
}

/// Characters a bare word may hold: enough for names, paths, IPs, globs and durations (`µs`).
pub(super) fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || "/._-:*?{}@+%,#[]".contains(c)
}

pub(super) fn tokenize(input: &str) -> Result<Vec<Token>, FilterError> {
    let mut tokens = Vec::new();
    let mut chars = input.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        // Whether the next char is `want`; consumes it when it is.
        let mut next_is = |want: char| chars.next_if(|&(_, n)| n == want).is_some();
        let kind = match c {
            c if c.is_whitespace() => continue,
            '(' => TokenKind::LParen,
            ')' => TokenKind::RParen,
            '=' => {
                // `==` is accepted as a courtesy to programmers.
                next_is('=');
                TokenKind::Op(Cmp::Eq)
            }
            '~' => TokenKind::Tilde { not: false },
            '!' if next_is('=') => TokenKind::Op(Cmp::Ne),
            '!' if next_is('~') => TokenKind::Tilde { not: true },
            '!' => TokenKind::Bang,
            '<' if next_is('=') => TokenKind::Op(Cmp::Le),
            '<' => TokenKind::Op(Cmp::Lt),
            '>' if next_is('=') => TokenKind::Op(Cmp::Ge),
            '>' => TokenKind::Op(Cmp::Gt),
            '&' if next_is('&') => TokenKind::AndAnd,
            '|' if next_is('|') => TokenKind::OrOr,
            '"' => TokenKind::Quoted(quoted(start, &mut chars)?),
            c if is_word_char(c) => {
                let mut end = start + c.len_utf8();
                while let Some((i, n)) = chars.next_if(|&(_, n)| is_word_char(n)) {
                    end = i + n.len_utf8();
                }
                TokenKind::Word(input[start..end].to_owned())
            }
            other => {
                let hint = match other {
                    '&' => " (use \"and\" or \"&&\")",
                    '|' => " (use \"or\" or \"||\")",
                    '\'' => " (quote values with \")",
                    _ => " (quote values that contain it)",
                };
                return Err(FilterError::new(
                    start,
                    format!("unexpected character {other:?}{hint}"),
                ));
            }
        };
        let end = chars.peek().map_or(input.len(), |&(i, _)| i);
        tokens.push(Token { kind, start, end });
    }
    Ok(tokens)
}

/// Reads a quoted string after its opening `"`; `\"` and `\\` are escapes, any other backslash
/// is kept as written so Windows-ish or regex-ish values survive.
fn quoted(
    open: usize,
    chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>,
) -> Result<String, FilterError> {
    let mut value = String::new();
    while let Some((_, c)) = chars.next() {
        match c {
            '"' => return Ok(value),
            '\\' => match chars.next_if(|&(_, n)| n == '"' || n == '\\') {
                Some((_, escaped)) => value.push(escaped),
                None => value.push('\\'),
            },
            c => value.push(c),
        }
    }
    Err(FilterError::new(
        open,
        "unclosed string: add a closing \"".to_owned(),
    ))
}

/// Writes `value` so that the lexer reads it back as the same single value token.
pub(super) fn write_value(f: &mut std::fmt::Formatter<'_>, value: &str) -> std::fmt::Result {
    let bare = !value.is_empty()
        && value.chars().all(is_word_char)
        && !["and", "or", "not"]
            .iter()
            .any(|k| k.eq_ignore_ascii_case(value));
    if bare {
        return f.write_str(value);
    }
    f.write_str("\"")?;
    for c in value.chars() {
        if c == '"' || c == '\\' {
            f.write_str("\\")?;
        }
        write!(f, "{c}")?;
    }
    f.write_str("\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(input: &str) -> Vec<TokenKind> {
        tokenize(input)
            .expect("tokenizes")
            .into_iter()
            .map(|t| t.kind)
            .collect()
    }

    #[test]
    fn operators_and_words() {
        use TokenKind::*;
        assert_eq!(
            kinds("status>=400 !ok lat<1.5s"),
            [
                Word("status".into()),
                Op(Cmp::Ge),
                Word("400".into()),
                Bang,
                Word("ok".into()),
                Word("lat".into()),
                Op(Cmp::Lt),
                Word("1.5s".into()),
            ]
        );
        assert_eq!(
            kinds(r#"path!~"a \"b\" \\ \x""#),
            [
                Word("path".into()),
                Tilde { not: true },
                Quoted(r#"a "b" \ \x"#.into())
            ]
        );
    }

    #[test]
    fn spans_are_byte_offsets() {
        let tokens = tokenize("µs = \"é\"").expect("tokenizes");
        let spans: Vec<_> = tokens.iter().map(|t| (t.start, t.end)).collect();
        assert_eq!(spans, [(0, 3), (4, 5), (6, 10)]);
    }

    #[test]
    fn unclosed_string_points_at_its_quote() {
        let err = tokenize("path=\"abc").expect_err("unclosed");
        assert_eq!(err.position, 5);
    }
}
