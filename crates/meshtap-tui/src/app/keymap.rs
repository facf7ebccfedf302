//! Keys are data: the default table lives in `assets/keymap.conf`, user overrides come from the
//! config file, and the help overlay is generated from whatever table is in force.

use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::Action;

/// The default keymap, compiled in so the binary needs no files at run time.
pub const DEFAULT_KEYMAP: &str = include_str!("../../../../assets/keymap.conf");

/// Where a binding applies. Lookups try the innermost context first, then `Global`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Context {
    Global,
    Requests,
    Detail,
    Routes,
    RouteDetail,
    Identities,
    Map,
    Help,
    Prompt,
    /// The copy-as popup.
    Copy,
    /// The explain view.
    Explain,
    /// The `:triggers` list.
    Triggers,
    /// The trace waterfall (`t`).
    Trace,
    /// The `:why` view.
    Why,
    /// The `:diff FILE` view.
    Diff,
}

impl Context {
    pub const ALL: [Context; 15] = [
        Context::Global,
        Context::Requests,
        Context::Detail,
        Context::Routes,
        Context::RouteDetail,
        Context::Identities,
        Context::Map,
        Context::Help,
        Context::Prompt,
        Context::Copy,
        Context::Explain,
        Context::Triggers,
        Context::Trace,
        Context::Why,
        Context::Diff,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Context::Global => "global",
            Context::Requests => "requests",
            Context::Detail => "detail",
            Context::Routes => "routes",
            Context::RouteDetail => "route-detail",
            Context::Identities => "identities",
            Context::Map => "map",
            Context::Help => "help",
            Context::Prompt => "prompt",
            Context::Copy => "copy",
            Context::Explain => "explain",
            Context::Triggers => "triggers",
            Context::Trace => "trace",
            Context::Why => "why",
            Context::Diff => "diff",
        }
    }

    pub fn from_name(name: &str) -> Option<Context> {
        Context::ALL.into_iter().find(|c| c.name() == name)
    }
}

/// A key with its modifiers, normalised so that `G` and `Shift-g` are the same key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub modifiers: KeyModifiers,
}

const NAMED_KEYS: &[(&str, KeyCode)] = &[
    ("Enter", KeyCode::Enter),
    ("Esc", KeyCode::Esc),
    ("Tab", KeyCode::Tab),
    ("BackTab", KeyCode::BackTab),
    ("Space", KeyCode::Char(' ')),
    ("Backspace", KeyCode::Backspace),
    ("Delete", KeyCode::Delete),
    ("Up", KeyCode::Up),
    ("Down", KeyCode::Down),
    ("Left", KeyCode::Left),
    ("Right", KeyCode::Right),
    ("Home", KeyCode::Home),
    ("End", KeyCode::End),
    ("PageUp", KeyCode::PageUp),
    ("PageDown", KeyCode::PageDown),
];

impl Key {
    pub fn new(code: KeyCode, modifiers: KeyModifiers) -> Self {
        // Terminals report Shift with upper-case letters and BackTab inconsistently; the character
        // itself already says it, so Shift is dropped for those.
        let modifiers = match code {
            KeyCode::Char(_) | KeyCode::BackTab => modifiers - KeyModifiers::SHIFT,
            _ => modifiers,
        };
        let code = match code {
            KeyCode::Char(c) if modifiers.contains(KeyModifiers::CONTROL) => {
                KeyCode::Char(c.to_ascii_lowercase())
            }
            other => other,
        };
        Self {
            code,
            modifiers: modifiers
                & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT),
        }
    }

    pub fn from_event(event: &KeyEvent) -> Self {
        Self::new(event.code, event.modifiers)
    }

    /// Parses `q`, `G`, `Ctrl-c`, `Alt-x`, `PageDown`, `F5`.
    pub fn parse(text: &str) -> Option<Key> {
        let mut modifiers = KeyModifiers::NONE;
        let mut rest = text;
        loop {
            if let Some(r) = rest.strip_prefix("Ctrl-") {
                modifiers |= KeyModifiers::CONTROL;
                rest = r;
            } else if let Some(r) = rest.strip_prefix("Alt-") {
                modifiers |= KeyModifiers::ALT;
                rest = r;
            } else if let Some(r) = rest.strip_prefix("Shift-").filter(|r| !r.is_empty()) {
                modifiers |= KeyModifiers::SHIFT;
                rest = r;
            } else {
                break;
            }
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) => KeyCode::Char(c),
            _ => {
                if let Some((_, code)) = NAMED_KEYS.iter().find(|(n, _)| *n == rest) {
                    *code
                } else {
                    let n = rest.strip_prefix('F')?.parse::<u8>().ok()?;
                    if !(1..=12).contains(&n) {
                        return None;
                    }
                    KeyCode::F(n)
                }
            }
        };
        Some(Key::new(code, modifiers))
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.modifiers.contains(KeyModifiers::CONTROL) {
            f.write_str("Ctrl-")?;
        }
        if self.modifiers.contains(KeyModifiers::ALT) {
            f.write_str("Alt-")?;
        }
        if self.modifiers.contains(KeyModifiers::SHIFT) {
            f.write_str("Shift-")?;
        }
        if let Some((name, _)) = NAMED_KEYS.iter().find(|(_, c)| *c == self.code) {
            return f.write_str(name);
        }
        match self.code {
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::F(n) => write!(f, "F{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// One row of the table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    pub context: Context,
    pub key: Key,
    pub action: Action,
    pub description: String,
}

/// The bindings in force, in table order (the help overlay keeps that order).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Keymap {
    bindings: Vec<Binding>,
}

impl Keymap {
    /// The built-in table. It is tested to parse cleanly, so warnings here would be a bug.
    pub fn default_table() -> Self {
        let mut keymap = Keymap::default();
        let mut warnings = Vec::new();
        keymap.apply_table(DEFAULT_KEYMAP, "default keymap", &mut warnings);
        keymap
    }

    pub fn bindings(&self) -> &[Binding] {
        &self.bindings
    }

    /// Parses `CONTEXT KEY ACTION DESCRIPTION…` lines, adding or replacing bindings; problems
    /// become warnings naming `origin` and the line.
    pub fn apply_table(&mut self, text: &str, origin: &str, warnings: &mut Vec<String>) {
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            match parse_binding(line) {
                Ok(binding) => self.bind(binding),
                Err(why) => warnings.push(format!("{origin}:{}: {why}", number + 1)),
            }
        }
    }

    /// Adds a binding, replacing whatever the key did in that context before.
    pub fn bind(&mut self, binding: Binding) {
        if let Some(old) = self
            .bindings
            .iter_mut()
            .find(|b| b.context == binding.context && b.key == binding.key)
        {
            *old = binding;
        } else {
            self.bindings.push(binding);
        }
    }

    /// Removes a binding; `false` when there was none.
    pub fn unbind(&mut self, context: Context, key: Key) -> bool {
        let before = self.bindings.len();
        self.bindings
            .retain(|b| !(b.context == context && b.key == key));
        before != self.bindings.len()
    }

    /// The action for `key` in the innermost of `contexts` that binds it.
    pub fn lookup(&self, contexts: &[Context], key: Key) -> Option<Action> {
        contexts.iter().find_map(|context| {
            self.bindings
                .iter()
                .find(|b| b.context == *context && b.key == key)
                .map(|b| b.action.clone())
        })
    }

    /// The first key bound to `action` in `context`, for hints like "press ? for help".
    pub fn key_for(&self, context: Context, action: &Action) -> Option<Key> {
        self.bindings
            .iter()
            .find(|b| b.context == context && &b.action == action)
            .map(|b| b.key)
    }
}

impl Keymap {
    /// The key that does `action` where `contexts` apply (innermost first): the first key bound
    /// to it that no inner binding shadows. For the footer's hints.
    pub fn hint_key(&self, contexts: &[Context], action: &Action) -> Option<Key> {
        contexts.iter().find_map(|context| {
            self.bindings
                .iter()
                .filter(|b| b.context == *context && &b.action == action)
                .map(|b| b.key)
                .find(|key| self.lookup(contexts, *key).as_ref() == Some(action))
        })
    }
}

/// Parses one `CONTEXT KEY ACTION [DESCRIPTION…]` line.
pub fn parse_binding(line: &str) -> Result<Binding, String> {
    let mut words = line.split_whitespace();
    let (Some(context), Some(key), Some(action)) = (words.next(), words.next(), words.next())
    else {
        return Err(format!("expected CONTEXT KEY ACTION, got {line:?}"));
    };
    let context =
        Context::from_name(context).ok_or_else(|| format!("unknown context {context:?}"))?;
    let key = Key::parse(key).ok_or_else(|| format!("unknown key {key:?}"))?;
    let action = Action::from_name(action).ok_or_else(|| format!("unknown action {action:?}"))?;
    let description = words.collect::<Vec<_>>().join(" ");
    let description = if description.is_empty() {
        action.name().unwrap_or_default().replace('-', " ")
    } else {
        description
    };
    Ok(Binding {
        context,
        key,
        action,
        description,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_table_parses_without_warnings() {
        let mut keymap = Keymap::default();
        let mut warnings = Vec::new();
        keymap.apply_table(DEFAULT_KEYMAP, "default", &mut warnings);
        assert_eq!(warnings, Vec::<String>::new());
        assert!(keymap.bindings().len() > 40);
    }

    #[test]
    fn keys_parse_and_print() {
        for text in [
            "q", "G", "?", "Ctrl-c", "PageDown", "BackTab", "Space", "F5", "Alt-x",
        ] {
            let key = Key::parse(text).expect(text);
            assert_eq!(key.to_string(), text);
        }
        assert_eq!(Key::parse("Shift-g"), Key::parse("g"));
        assert_eq!(Key::parse("F13"), None);
        assert_eq!(Key::parse("Hyper-x"), None);
    }

    #[test]
    fn shifted_letters_match_their_character() {
        let event = KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT);
        assert_eq!(Some(Key::from_event(&event)), Key::parse("G"));
        let ctrl = KeyEvent::new(
            KeyCode::Char('C'),
            KeyModifiers::CONTROL | KeyModifiers::SHIFT,
        );
        assert_eq!(Some(Key::from_event(&ctrl)), Key::parse("Ctrl-c"));
    }

    #[test]
    fn lookup_prefers_inner_context() {
        let keymap = Keymap::default_table();
        let esc = Key::parse("Esc").expect("esc");
        let space = Key::parse("Space").expect("space");
        assert_eq!(
            keymap.lookup(&[Context::Detail, Context::Global], esc),
            Some(Action::Back)
        );
        assert_eq!(
            keymap.lookup(&[Context::Requests, Context::Global], space),
            Some(Action::Pause)
        );
        assert_eq!(keymap.lookup(&[Context::Prompt], space), None);
    }

    /// The panes, each as the keymap sees it with nothing open over it.
    const PANES: [Context; 4] = [
        Context::Requests,
        Context::Routes,
        Context::Identities,
        Context::Map,
    ];

    /// k9s habits hold everywhere: `?` is help and `/` the filter in every pane and every
    /// detail, whatever else a pane binds.
    #[test]
    fn help_and_filter_keys_mean_the_same_in_every_pane() {
        let keymap = Keymap::default_table();
        let question = Key::parse("?").expect("?");
        let slash = Key::parse("/").expect("/");
        for context in PANES
            .into_iter()
            .chain([Context::Detail, Context::RouteDetail])
        {
            let contexts = [context, Context::Global];
            assert_eq!(
                keymap.lookup(&contexts, question),
                Some(Action::Help),
                "{context:?}"
            );
            assert_eq!(
                keymap.lookup(&contexts, slash),
                Some(Action::FilterPrompt),
                "{context:?}"
            );
        }
        // Explain and find have keys of their own, shown in the hints.
        let requests = [Context::Requests, Context::Global];
        assert_eq!(
            keymap.hint_key(&requests, &Action::Explain),
            Key::parse("i")
        );
        let map = [Context::Map, Context::Global];
        assert_eq!(keymap.hint_key(&map, &Action::FindPrompt), Key::parse("F"));
    }

    /// Every list moves with the same keys (the identities pane used to ignore half of them).
    #[test]
    fn every_list_moves_with_the_same_keys() {
        let keymap = Keymap::default_table();
        let moves = [
            ("j", Action::Down),
            ("Down", Action::Down),
            ("k", Action::Up),
            ("Up", Action::Up),
            ("g", Action::Top),
            ("Home", Action::Top),
            ("G", Action::Bottom),
            ("End", Action::Bottom),
            ("PageUp", Action::PageUp),
            ("PageDown", Action::PageDown),
            ("Ctrl-u", Action::PageUp),
            ("Ctrl-d", Action::PageDown),
        ];
        for context in [
            Context::Requests,
            Context::Routes,
            Context::Identities,
            Context::Detail,
            Context::RouteDetail,
            Context::Help,
        ] {
            for (key, action) in &moves {
                let found = keymap.lookup(&[context, Context::Global], Key::parse(key).expect(key));
                assert_eq!(found.as_ref(), Some(action), "{context:?} {key}");
            }
        }
    }

    #[test]
    fn hints_skip_shadowed_keys() {
        let mut keymap = Keymap::default_table();
        let mut warnings = Vec::new();
        // `?` in the requests pane now explains: help is still reachable with F1.
        keymap.apply_table("requests ? explain Explain", "user", &mut warnings);
        let contexts = [Context::Requests, Context::Global];
        assert_eq!(keymap.hint_key(&contexts, &Action::Help), Key::parse("F1"));
        assert_eq!(
            keymap.hint_key(&contexts, &Action::Explain),
            Key::parse("i")
        );
    }

    #[test]
    fn bad_lines_become_warnings() {
        let mut keymap = Keymap::default_table();
        let mut warnings = Vec::new();
        keymap.apply_table(
            "requests Q quit Really quit\nbogus q quit\nrequests Hyper-q quit\nrequests q fly\nshort",
            "user",
            &mut warnings,
        );
        assert_eq!(warnings.len(), 4, "{warnings:?}");
        assert!(warnings[0].starts_with("user:2: unknown context"));
        let q = Key::parse("Q").expect("Q");
        assert_eq!(keymap.lookup(&[Context::Requests], q), Some(Action::Quit));
    }
}
