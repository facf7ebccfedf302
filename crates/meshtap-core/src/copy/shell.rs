//! Shell quoting that a paste cannot escape from: every word is quoted, so nothing in a captured
//! value (quotes, `$()`, backticks, newlines, control bytes, invalid UTF-8) is ever read by the
//! shell as anything but the bytes of one argument.

use std::fmt::Write as _;

use crate::terminal::is_terminal_unsafe;

/// Quotes `bytes` as one shell word. Printable text goes in single quotes, where the shell
/// interprets nothing, with each `'` written as `'\''`. Text with terminal-unsafe characters
/// (controls, bidirectional overrides) or bytes that are not UTF-8 goes in `$'…'` (bash, zsh,
/// ksh; POSIX since 2024) with every such byte as `\xNN`: a raw newline or escape byte in a
/// pasted line would end the command or drive the terminal, and an override would make the
/// command shown differ from the command pasted.
pub fn quote(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) if !text.chars().any(is_terminal_unsafe) => {
            let mut out = String::with_capacity(text.len() + 2);
            out.push('\'');
            out.push_str(&text.replace('\'', r"'\''"));
            out.push('\'');
            out
        }
        _ => ansi_c(bytes),
    }
}

fn ansi_c(bytes: &[u8]) -> String {
    let mut out = String::from("$'");
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str(r"\\"),
                '\'' => out.push_str(r"\'"),
                c if is_terminal_unsafe(c) => {
                    let mut buf = [0; 4];
                    for byte in c.encode_utf8(&mut buf).bytes() {
                        let _ = write!(out, "\\x{byte:02x}");
                    }
                }
                c => out.push(c),
            }
        }
        for byte in chunk.invalid() {
            let _ = write!(out, "\\x{byte:02x}");
        }
    }
    out.push('\'');
    out
}

/// A command being built: words (already quoted) grouped into lines joined by ` \`, after
/// optional `#` comment lines.
#[derive(Debug, Default)]
pub struct Command {
    comments: Vec<String>,
    lines: Vec<String>,
}

impl Command {
    /// A command starting with `program` (meshtap's own word, left bare).
    pub fn new(program: &str) -> Self {
        Self {
            comments: Vec::new(),
            lines: vec![program.to_owned()],
        }
    }

    /// Appends a bare word of meshtap's own (a flag) to the current line.
    pub fn word(&mut self, word: &str) {
        self.push(word);
    }

    /// Appends captured bytes, quoted, to the current line.
    pub fn value(&mut self, value: &[u8]) {
        self.push(&quote(value));
    }

    fn push(&mut self, word: &str) {
        if let Some(line) = self.lines.last_mut() {
            line.push(' ');
            line.push_str(word);
        }
    }

    /// A `# …` line before the command. The text is meshtap's own, but control characters are
    /// dropped anyway so that a comment can never end early.
    pub fn comment(&mut self, text: &str) {
        let clean: String = text.chars().filter(|c| !c.is_control()).collect();
        self.comments.push(format!("# {clean}"));
    }

    /// A continuation line of quoted words: `flag` is meshtap's own (left bare), `value` is
    /// captured bytes (quoted).
    pub fn arg(&mut self, flag: &str, value: &[u8]) {
        let line = if flag.is_empty() {
            quote(value)
        } else {
            format!("{flag} {}", quote(value))
        };
        self.lines.push(line);
    }

    /// A bare flag of meshtap's own on its own line.
    pub fn flag(&mut self, flag: &str) {
        self.lines.push(flag.to_owned());
    }

    pub fn finish(self) -> String {
        let mut out = String::new();
        for comment in self.comments {
            out.push_str(&comment);
            out.push('\n');
        }
        out.push_str(&self.lines.join(" \\\n  "));
        out.push('\n');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_single_quoted() {
        assert_eq!(quote(b"hello world"), "'hello world'");
        assert_eq!(quote(b"it's"), r"'it'\''s'");
        assert_eq!(quote(b"$(id) `id` ${HOME}"), "'$(id) `id` ${HOME}'");
        assert_eq!(quote(b""), "''");
        assert_eq!(quote("héllo".as_bytes()), "'héllo'");
    }

    #[test]
    fn control_bytes_and_invalid_utf8_use_ansi_c_quoting() {
        assert_eq!(quote(b"a\nb"), r"$'a\x0ab'");
        assert_eq!(quote(b"\x1b[2J'\\"), r"$'\x1b[2J\'\\'");
        assert_eq!(quote(b"\xff\xfe"), r"$'\xff\xfe'");
        assert_eq!(quote("a\u{85}".as_bytes()), r"$'a\xc2\x85'");
        assert_eq!(quote(b"\t"), r"$'\x09'");
        // A bidirectional override would make the pasted command differ from the one shown.
        assert_eq!(quote("a\u{202e}b".as_bytes()), r"$'a\xe2\x80\xaeb'");
    }

    #[test]
    fn commands_join_lines_with_continuations() {
        let mut command = Command::new("curl");
        command.word("-g");
        command.value(b"http://x/");
        command.comment("note\nrm -rf /");
        command.arg("-H", b"a: b");
        command.flag("--path-as-is");
        assert_eq!(
            command.finish(),
            "# noterm -rf /\ncurl -g 'http://x/' \\\n  -H 'a: b' \\\n  --path-as-is\n"
        );
    }
}
