//! `meshtap check`: what meshtap needs from a cluster, as Linkerd-style results grouped in
//! categories, printed as a `√`/`×`/`‼` table or as Linkerd's extension check JSON.

pub mod probes;

use serde::Serialize;

use crate::terminal::escape;

/// The outcome of one check, spelled as Linkerd's `CheckResultStr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Success,
    /// Worth knowing, but meshtap works: does not fail the run.
    Warning,
    Error,
}

impl Outcome {
    /// The mark `linkerd check` prints before a line.
    pub fn mark(self) -> char {
        match self {
            Outcome::Success => '√',
            Outcome::Warning => '‼',
            Outcome::Error => '×',
        }
    }
}

/// One check line: what was checked, and for a failure why and what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub description: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub hint: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub error: String,
    pub result: Outcome,
}

impl Check {
    pub fn success(description: impl Into<String>) -> Self {
        Self {
            description: description.into(),
            hint: String::new(),
            error: String::new(),
            result: Outcome::Success,
        }
    }

    pub fn failed(
        description: impl Into<String>,
        error: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Self {
            description: description.into(),
            hint: hint.into(),
            error: error.into(),
            result: Outcome::Error,
        }
    }

    /// The same failure, downgraded to a warning.
    pub fn warning(mut self) -> Self {
        self.result = Outcome::Warning;
        self
    }
}

/// Checks grouped under one heading.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Category {
    #[serde(rename = "categoryName")]
    pub name: String,
    pub checks: Vec<Check>,
}

/// Every category of one run; `success` when no check failed (warnings allowed).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub success: bool,
    pub categories: Vec<Category>,
}

impl Report {
    pub fn new(categories: Vec<Category>) -> Self {
        let success = categories
            .iter()
            .flat_map(|c| &c.checks)
            .all(|c| c.result != Outcome::Error);
        Self {
            success,
            categories,
        }
    }

    /// Linkerd's extension check JSON (`linkerd check` reads it from `check -o json`), written as
    /// Go writes it, terminal-safe: an error can quote a hostile API server.
    pub fn to_json(&self) -> String {
        let mut out = Vec::new();
        let mut ser = serde_json::Serializer::with_formatter(
            &mut out,
            crate::export::gojson::GoFormatter::new(),
        );
        // A struct of strings, bools and enums always serializes, as UTF-8.
        let _ = self.serialize(&mut ser);
        String::from_utf8(out).unwrap_or_default()
    }

    /// The table `linkerd check` prints: a heading per category, one marked line per check, the
    /// error and hint indented under a failure, and the summary line last.
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        for category in &self.categories {
            // Names and errors can quote an API server: the one escaping rule, line by line.
            let name = escape(&category.name);
            out.push_str(&name);
            out.push('\n');
            out.push_str(&"-".repeat(name.chars().count()));
            out.push('\n');
            for check in &category.checks {
                out.push(check.result.mark());
                out.push(' ');
                out.push_str(&escape(&check.description));
                out.push('\n');
                for line in check.error.lines() {
                    out.push_str("    ");
                    out.push_str(&escape(line));
                    out.push('\n');
                }
                if !check.hint.is_empty() {
                    out.push_str("    see: ");
                    out.push_str(&escape(&check.hint));
                    out.push('\n');
                }
            }
            out.push('\n');
        }
        let mark = if self.success { '√' } else { '×' };
        out.push_str("Status check results are ");
        out.push(mark);
        out.push('\n');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_warning_does_not_fail_the_report_but_an_error_does() {
        let warn = Check::failed("w", "no events", "generate traffic").warning();
        let report = Report::new(vec![Category {
            name: "c".into(),
            checks: vec![Check::success("ok"), warn.clone()],
        }]);
        assert!(report.success);
        assert!(report.to_table().ends_with("Status check results are √\n"));
        let failed = Report::new(vec![Category {
            name: "c".into(),
            checks: vec![warn, Check::failed("e", "boom", "fix it")],
        }]);
        assert!(!failed.success);
        let table = failed.to_table();
        assert!(
            table.contains("× e\n    boom\n    see: fix it\n"),
            "{table}"
        );
        assert!(table.ends_with("Status check results are ×\n"));
    }

    /// An API server's message is quoted in the table and the JSON `check` prints on stdout:
    /// neither carries a character a terminal would act on, and the JSON keeps the value.
    #[test]
    fn hostile_messages_are_escaped_on_stdout() {
        let hostile = "forbidden: \u{1b}]0;PWNED\u{7}\u{1b}[2J\u{9b}31m\u{202e}x";
        let report = Report::new(vec![Category {
            name: format!("c{hostile}"),
            checks: vec![Check::failed(
                hostile,
                format!("{hostile}\nline 2"),
                hostile,
            )],
        }]);
        let unsafe_in = |text: &str| {
            text.chars()
                .filter(|c| *c != '\n' && crate::terminal::is_terminal_unsafe(*c))
                .count()
        };
        let table = report.to_table();
        assert_eq!(unsafe_in(&table), 0, "{table:?}");
        assert!(table.contains("    line 2\n"), "{table}");
        let json = report.to_json();
        assert_eq!(unsafe_in(&json), 0, "{json:?}");
        let value: serde_json::Value = serde_json::from_str(&json).expect("json");
        assert_eq!(value["categories"][0]["checks"][0]["description"], hostile);
    }

    #[test]
    fn json_uses_linkerds_field_names_and_omits_empty_hints() {
        let report = Report::new(vec![Category {
            name: "meshtap".into(),
            checks: vec![Check::success("ok")],
        }]);
        let value: serde_json::Value = serde_json::from_str(&report.to_json()).expect("json");
        assert_eq!(
            value,
            serde_json::json!({"success": true, "categories": [
                {"categoryName": "meshtap", "checks": [{"description": "ok", "result": "success"}]}
            ]})
        );
    }
}
