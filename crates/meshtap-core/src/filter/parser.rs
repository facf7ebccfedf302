//! Recursive-descent parser: tokens to an [`Expr`].
//!
//! ```text
//! filter  := or?
//! or      := and (("or" | "||") and)*
//! and     := unary (("and" | "&&")? unary)*      juxtaposition means "and"
//! unary   := ("not" | "!") unary | primary
//! primary := "(" or ")" | FIELD OP VALUE | KEYWORD
//! ```

use super::FilterError;
use super::ast::Expr;
use super::field::{self, Operator, TermError};
use super::lexer::{Token, TokenKind, tokenize};

/// Deeper nesting than this is refused, so hostile input cannot overflow the stack.
const MAX_DEPTH: usize = 64;

pub(super) fn parse(input: &str) -> Result<Option<Expr>, FilterError> {
    let tokens = tokenize(input)?;
    if tokens.is_empty() {
        return Ok(None);
    }
    let mut parser = Parser {
        tokens,
        next: 0,
        end: input.len(),
        depth: 0,
    };
    let expr = parser.or()?;
    match parser.peek() {
        None => Ok(Some(expr)),
        Some(token) if token.kind == TokenKind::RParen => {
            Err(FilterError::new(token.start, "unmatched \")\"".to_owned()))
        }
        Some(token) => Err(FilterError::new(
            token.start,
            format!("unexpected {}", describe(token)),
        )),
    }
}

struct Parser {
    tokens: Vec<Token>,
    next: usize,
    /// Input length: the position of errors at the end of input.
    end: usize,
    depth: usize,
}

fn is_word(token: &Token, keyword: &str) -> bool {
    matches!(&token.kind, TokenKind::Word(w) if w.eq_ignore_ascii_case(keyword))
}

fn describe(token: &Token) -> String {
    match &token.kind {
        TokenKind::Word(w) => format!("{w:?}"),
        TokenKind::Quoted(_) => "a quoted string".to_owned(),
        TokenKind::Op(cmp) => format!("{:?}", cmp.symbol()),
        TokenKind::Tilde { not: false } => "\"~\"".to_owned(),
        TokenKind::Tilde { not: true } => "\"!~\"".to_owned(),
        TokenKind::LParen => "\"(\"".to_owned(),
        TokenKind::RParen => "\")\"".to_owned(),
        TokenKind::Bang => "\"!\"".to_owned(),
        TokenKind::AndAnd => "\"&&\"".to_owned(),
        TokenKind::OrOr => "\"||\"".to_owned(),
    }
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.next)
    }

    fn bump(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.next).cloned();
        self.next += 1;
        token
    }

    /// Where the next token starts, or the end of input.
    fn here(&self) -> usize {
        self.peek().map_or(self.end, |t| t.start)
    }

    fn or(&mut self) -> Result<Expr, FilterError> {
        let mut items = vec![self.and()?];
        while let Some(token) = self.peek() {
            if !(token.kind == TokenKind::OrOr || is_word(token, "or")) {
                break;
            }
            let token = token.clone();
            self.bump();
            self.expect_operand_after(&token)?;
            items.push(self.and()?);
        }
        Ok(join(items, false))
    }

    fn and(&mut self) -> Result<Expr, FilterError> {
        let mut items = vec![self.unary()?];
        while let Some(token) = self.peek() {
            if token.kind == TokenKind::AndAnd || is_word(token, "and") {
                let token = token.clone();
                self.bump();
                self.expect_operand_after(&token)?;
                items.push(self.unary()?);
            } else if self.starts_operand() {
                items.push(self.unary()?);
            } else {
                break;
            }
        }
        Ok(join(items, true))
    }

    /// After `and`/`or`/`not`, checks that an operand follows; the error names the connective.
    fn expect_operand_after(&self, token: &Token) -> Result<(), FilterError> {
        if self.starts_operand() {
            return Ok(());
        }
        Err(FilterError::new(
            self.here(),
            format!("expected a filter term after {}", describe(token)),
        ))
    }

    fn starts_operand(&self) -> bool {
        self.peek().is_some_and(|token| match &token.kind {
            TokenKind::Word(_) => !is_word(token, "and") && !is_word(token, "or"),
            TokenKind::Quoted(_) | TokenKind::LParen | TokenKind::Bang => true,
            _ => false,
        })
    }

    fn unary(&mut self) -> Result<Expr, FilterError> {
        let Some(token) = self.peek().cloned() else {
            return Err(FilterError::new(
                self.end,
                "expected a filter term".to_owned(),
            ));
        };
        if self.depth >= MAX_DEPTH {
            return Err(FilterError::new(
                token.start,
                "filter nested too deeply".to_owned(),
            ));
        }
        self.depth += 1;
        let result = if token.kind == TokenKind::Bang || is_word(&token, "not") {
            self.bump();
            self.expect_operand_after(&token)
                .and_then(|()| self.unary())
                .map(|inner| Expr::Not(Box::new(inner)))
        } else {
            self.primary()
        };
        self.depth -= 1;
        result
    }

    fn primary(&mut self) -> Result<Expr, FilterError> {
        let Some(token) = self.bump() else {
            return Err(FilterError::new(
                self.end,
                "expected a filter term".to_owned(),
            ));
        };
        match &token.kind {
            TokenKind::LParen => {
                if self.peek().is_some_and(|t| t.kind == TokenKind::RParen) {
                    return Err(FilterError::new(token.start, "empty \"()\"".to_owned()));
                }
                let inner = self.or()?;
                match self.bump() {
                    Some(close) if close.kind == TokenKind::RParen => Ok(inner),
                    _ => Err(FilterError::new(token.start, "unclosed \"(\"".to_owned())),
                }
            }
            TokenKind::Word(_) if is_word(&token, "and") || is_word(&token, "or") => {
                Err(FilterError::new(
                    token.start,
                    format!("expected a filter term, found {}", describe(&token)),
                ))
            }
            TokenKind::Word(word) => self.term(word, &token),
            TokenKind::Quoted(_) => Err(FilterError::new(
                token.start,
                "expected a field name before the quoted value, like path=\"/a b\"".to_owned(),
            )),
            _ => Err(FilterError::new(
                token.start,
                format!("expected a filter term, found {}", describe(&token)),
            )),
        }
    }

    fn term(&mut self, word: &str, token: &Token) -> Result<Expr, FilterError> {
        let op = match self.peek().map(|t| &t.kind) {
            Some(TokenKind::Op(cmp)) => Some(Operator::Cmp(*cmp)),
            Some(TokenKind::Tilde { not }) => Some(Operator::Match { not: *not }),
            _ => None,
        };
        let resolved = field::resolve(word).map_err(|msg| FilterError::new(token.start, msg))?;
        let Some(op) = op else {
            if let Some(flag) = field::flag(word) {
                return Ok(Expr::Flag(flag));
            }
            let message = if resolved.is_some() {
                format!("expected an operator after {word:?}: =, !=, ~, !~, <, >, <= or >=")
            } else {
                unknown(word, "unknown keyword")
            };
            let at = if resolved.is_some() {
                token.end
            } else {
                token.start
            };
            return Err(FilterError::new(at, message));
        };
        let Some(field) = resolved else {
            let message = if field::flag(word).is_some() {
                format!("{word:?} is a keyword and takes no value: write just {word}")
            } else {
                unknown(word, "unknown field")
            };
            return Err(FilterError::new(token.start, message));
        };
        let op_token = self.bump();
        let op_start = op_token.map_or(self.end, |t| t.start);
        // A bare `and`/`or`/`not` here is the user still typing (`ns= and ok`), not a value.
        let connective = self
            .peek()
            .is_some_and(|t| ["and", "or", "not"].iter().any(|k| is_word(t, k)));
        let value = match self.peek() {
            Some(Token {
                kind: TokenKind::Word(v) | TokenKind::Quoted(v),
                start,
                ..
            }) if !connective => (v.clone(), *start),
            _ => {
                return Err(FilterError::new(
                    self.here(),
                    format!("expected a value after {:?}", op.symbol()),
                ));
            }
        };
        self.bump();
        match field::build(field, word, op, &value.0) {
            Ok(term) => Ok(Expr::Term(term)),
            Err(TermError::Operator(msg)) => Err(FilterError::new(op_start, msg)),
            Err(TermError::Value(msg)) => Err(FilterError::new(value.1, msg)),
        }
    }
}

fn unknown(word: &str, what: &str) -> String {
    match field::suggest(word) {
        Some(name) => format!("{what} {word:?} (did you mean {name:?}?)"),
        None => format!("{what} {word:?}: write field=value (like status=5xx) or a keyword"),
    }
}

/// One item stays itself; several are joined, splicing in operands of the same connective so
/// `(a and b) and c` and `a and b and c` are the same tree.
fn join(mut items: Vec<Expr>, and: bool) -> Expr {
    if items.len() == 1
        && let Some(only) = items.pop()
    {
        return only;
    }
    let mut flat = Vec::with_capacity(items.len());
    for item in items {
        match item {
            Expr::And(inner) if and => flat.extend(inner),
            Expr::Or(inner) if !and => flat.extend(inner),
            item => flat.push(item),
        }
    }
    if and { Expr::And(flat) } else { Expr::Or(flat) }
}
