//! A `serde_json` formatter that writes what Go's `json.MarshalIndent(v, "", "  ")` writes:
//! two-space indents, and `<`, `>`, `&`, U+2028 and U+2029 escaped as `\u003c` and so on (Go's
//! HTML-safe default), so our bytes match Linkerd's. C1 controls and bidirectional overrides are
//! escaped the same way (Go leaves them raw): the one escaping rule for what a terminal shows.

use std::io;

use serde_json::ser::{Formatter, PrettyFormatter};

pub struct GoFormatter {
    pretty: PrettyFormatter<'static>,
    /// Go's HTML-safe escapes (`<`, `>`, `&`); off for JSON that only has to be terminal-safe.
    html_safe: bool,
}

impl GoFormatter {
    pub fn new() -> Self {
        Self {
            pretty: PrettyFormatter::with_indent(b"  "),
            html_safe: true,
        }
    }

    /// Two-space indents and terminal-safe strings, `<`, `>` and `&` left as they are
    /// (`map -o json`).
    pub fn terminal_safe() -> Self {
        Self {
            html_safe: false,
            ..Self::new()
        }
    }
}

impl Default for GoFormatter {
    fn default() -> Self {
        Self::new()
    }
}

impl Formatter for GoFormatter {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        // Go's HTML-safe characters, and (beyond Go, for the terminal `-o json` is read on) every
        // terminal-unsafe one; U+2028 and U+2029 are both.
        let html = self.html_safe;
        crate::terminal::write_json_fragment(writer, fragment, |c| {
            html && matches!(c, '<' | '>' | '&')
        })
    }

    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.begin_array(w)
    }
    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.end_array(w)
    }
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.pretty.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.end_array_value(w)
    }
    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.begin_object(w)
    }
    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.end_object(w)
    }
    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.pretty.begin_object_key(w, first)
    }
    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.end_object_value(w)
    }
}
