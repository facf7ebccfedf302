//! The user's config file: key binding and theme overrides. Every bad line becomes a warning the
//! status bar shows; nothing here can stop the program.

use std::path::{Path, PathBuf};

use super::keymap::{Context, Key, Keymap, parse_binding};
use crate::app::theme::Theme;

/// File name looked up in the meshtap config directory.
pub const CONFIG_FILE_NAME: &str = "meshtap.conf";

/// What the UI runs with: the keymap, the theme and what was wrong with the user's file.
#[derive(Clone, Debug, Default)]
pub struct UiConfig {
    pub keymap: Keymap,
    pub theme: Theme,
    pub warnings: Vec<String>,
}

/// `$XDG_CONFIG_HOME/meshtap/meshtap.conf`, else `~/.config/meshtap/meshtap.conf`.
pub fn default_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|home| PathBuf::from(home).join(".config"))
        })?;
    Some(base.join("meshtap").join(CONFIG_FILE_NAME))
}

/// Whether `NO_COLOR` asks for no colour: set and non-empty, per no-color.org.
pub fn no_color_env() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// Loads the config. An explicit `path` that cannot be read is a warning; a missing default file
/// is normal.
pub fn load(path: Option<&Path>, no_color: bool) -> UiConfig {
    let (path, explicit) = match path {
        Some(p) => (Some(p.to_path_buf()), true),
        None => (default_path(), false),
    };
    let text = match &path {
        Some(p) => match std::fs::read_to_string(p) {
            Ok(text) => Some(text),
            Err(e) if !explicit && e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                let mut config = from_text("", "", no_color);
                config.warnings.push(format!("config {}: {e}", p.display()));
                return config;
            }
        },
        None => None,
    };
    let origin = path.map(|p| p.display().to_string()).unwrap_or_default();
    from_text(text.as_deref().unwrap_or(""), &origin, no_color)
}

/// Applies config text over the defaults.
pub fn from_text(text: &str, origin: &str, no_color: bool) -> UiConfig {
    let mut config = UiConfig {
        keymap: Keymap::default_table(),
        theme: if no_color {
            Theme::monochrome()
        } else {
            Theme::colored()
        },
        warnings: Vec::new(),
    };
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (verb, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let rest = rest.trim();
        let result = match verb {
            "bind" => parse_binding(rest).map(|b| config.keymap.bind(b)),
            "unbind" => unbind(&mut config.keymap, rest),
            "theme" => {
                let (name, spec) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
                config.theme.set(name, spec, no_color)
            }
            other => Err(format!(
                "unknown setting {other:?} (expected bind, unbind or theme)"
            )),
        };
        if let Err(why) = result {
            config
                .warnings
                .push(format!("{origin}:{}: {why}", number + 1));
        }
    }
    config
}

fn unbind(keymap: &mut Keymap, rest: &str) -> Result<(), String> {
    let mut words = rest.split_whitespace();
    let (Some(context), Some(key), None) = (words.next(), words.next(), words.next()) else {
        return Err("expected unbind CONTEXT KEY".to_owned());
    };
    let context =
        Context::from_name(context).ok_or_else(|| format!("unknown context {context:?}"))?;
    let key = Key::parse(key).ok_or_else(|| format!("unknown key {key:?}"))?;
    if keymap.unbind(context, key) {
        Ok(())
    } else {
        Err(format!("{key} is not bound in {}", context.name()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::action::Action;

    #[test]
    fn overrides_apply_and_bad_lines_warn() {
        let text = "# mine\nbind requests J bottom\nunbind requests j\nunbind requests j\n\
                    theme slow red bold\ntheme slow glitter\nfrobnicate\n";
        let config = from_text(text, "f", false);
        let j = Key::parse("j").expect("j");
        let big_j = Key::parse("J").expect("J");
        assert_eq!(config.keymap.lookup(&[Context::Requests], j), None);
        assert_eq!(
            config.keymap.lookup(&[Context::Requests], big_j),
            Some(Action::Bottom)
        );
        assert_eq!(config.warnings.len(), 3, "{:?}", config.warnings);
        assert!(config.warnings[0].starts_with("f:4:"));
    }

    #[test]
    fn unreadable_explicit_file_is_a_warning() {
        let config = load(Some(Path::new("/nonexistent/meshtap.conf")), true);
        assert_eq!(config.warnings.len(), 1);
        assert_eq!(config.keymap, Keymap::default_table());
    }
}
