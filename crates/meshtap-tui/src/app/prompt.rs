//! The one-line prompts (`/` filter, `:` command): editing, history, and live validation.

use crate::filter::{Filter, FilterError};

/// Entries kept per history, oldest dropped first.
pub const PROMPT_HISTORY_CAP: usize = 100;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PromptKind {
    Filter,
    Command,
    /// The map's `/`: a node by name.
    Find,
}

/// A prompt being typed.
#[derive(Clone, Debug, PartialEq)]
pub struct Prompt {
    pub kind: PromptKind,
    pub input: String,
    /// Byte offset of the cursor, always on a char boundary.
    pub cursor: usize,
    /// Which history entry is shown, counted from the newest; `None` while editing a fresh line.
    history_pos: Option<usize>,
    /// The line being edited before walking into the history.
    draft: String,
    /// For filters: the parse result of `input`, updated on every edit.
    pub validation: Option<Result<(), FilterError>>,
}

impl Prompt {
    pub fn new(kind: PromptKind, input: &str) -> Self {
        let mut prompt = Self {
            kind,
            input: input.to_owned(),
            cursor: input.len(),
            history_pos: None,
            draft: String::new(),
            validation: None,
        };
        prompt.validate();
        prompt
    }

    fn validate(&mut self) {
        self.validation = match self.kind {
            PromptKind::Filter if self.input.trim().is_empty() => None,
            PromptKind::Filter => Some(Filter::parse(&self.input).map(|_| ())),
            PromptKind::Command | PromptKind::Find => None,
        };
    }

    pub fn insert(&mut self, c: char) {
        self.input.insert(self.cursor, c);
        self.cursor += c.len_utf8();
        self.edited();
    }

    pub fn delete_back(&mut self) {
        if let Some(c) = self.input[..self.cursor].chars().next_back() {
            self.cursor -= c.len_utf8();
            self.input.remove(self.cursor);
            self.edited();
        }
    }

    pub fn delete_forward(&mut self) {
        if self.cursor < self.input.len() {
            self.input.remove(self.cursor);
            self.edited();
        }
    }

    pub fn clear(&mut self) {
        self.input.clear();
        self.cursor = 0;
        self.edited();
    }

    pub fn left(&mut self) {
        if let Some(c) = self.input[..self.cursor].chars().next_back() {
            self.cursor -= c.len_utf8();
        }
    }

    pub fn right(&mut self) {
        if let Some(c) = self.input[self.cursor..].chars().next() {
            self.cursor += c.len_utf8();
        }
    }

    pub fn home(&mut self) {
        self.cursor = 0;
    }

    pub fn end(&mut self) {
        self.cursor = self.input.len();
    }

    fn edited(&mut self) {
        self.history_pos = None;
        self.validate();
    }

    /// Shows the previous (older) history entry; the first step saves the line being typed.
    pub fn history_prev(&mut self, history: &[String]) {
        let next = self.history_pos.map_or(0, |p| p + 1);
        if next >= history.len() {
            return;
        }
        if self.history_pos.is_none() {
            self.draft.clone_from(&self.input);
        }
        self.show_history(history, Some(next));
    }

    /// Shows the next (newer) history entry, and finally the line that was being typed.
    pub fn history_next(&mut self, history: &[String]) {
        match self.history_pos {
            None => {}
            Some(0) => {
                self.input = std::mem::take(&mut self.draft);
                self.cursor = self.input.len();
                self.history_pos = None;
                self.validate();
            }
            Some(p) => self.show_history(history, Some(p - 1)),
        }
    }

    fn show_history(&mut self, history: &[String], pos: Option<usize>) {
        if let Some(entry) = pos.and_then(|p| history.iter().rev().nth(p)) {
            self.input.clone_from(entry);
            self.cursor = self.input.len();
            self.history_pos = pos;
            self.validate();
        }
    }
}

/// Appends `entry` to a history, moving a repeat to the end and keeping the bound.
pub fn remember(history: &mut Vec<String>, entry: &str) {
    let entry = entry.trim();
    if entry.is_empty() {
        return;
    }
    history.retain(|e| e != entry);
    history.push(entry.to_owned());
    if history.len() > PROMPT_HISTORY_CAP {
        history.remove(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn editing_respects_char_boundaries() {
        let mut prompt = Prompt::new(PromptKind::Command, "");
        for c in "né".chars() {
            prompt.insert(c);
        }
        prompt.left();
        prompt.insert('x');
        assert_eq!(prompt.input, "nxé");
        prompt.end();
        prompt.delete_back();
        assert_eq!(prompt.input, "nx");
        prompt.home();
        prompt.delete_forward();
        assert_eq!(prompt.input, "x");
    }

    #[test]
    fn history_walks_back_and_returns_to_the_draft() {
        let history = vec!["a".to_owned(), "b".to_owned()];
        let mut prompt = Prompt::new(PromptKind::Command, "dra");
        prompt.history_prev(&history);
        assert_eq!(prompt.input, "b");
        prompt.history_prev(&history);
        assert_eq!(prompt.input, "a");
        prompt.history_prev(&history);
        assert_eq!(prompt.input, "a");
        prompt.history_next(&history);
        assert_eq!(prompt.input, "b");
        prompt.history_next(&history);
        assert_eq!(prompt.input, "dra");
    }

    #[test]
    fn remember_dedups_and_bounds() {
        let mut history = Vec::new();
        for i in 0..PROMPT_HISTORY_CAP + 5 {
            remember(&mut history, &i.to_string());
        }
        remember(&mut history, "7");
        remember(&mut history, "  ");
        assert_eq!(history.len(), PROMPT_HISTORY_CAP);
        assert_eq!(history.last().map(String::as_str), Some("7"));
    }
}
