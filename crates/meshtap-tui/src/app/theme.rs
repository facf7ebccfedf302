//! Semantic styles. Render code names a meaning (`status_server_err`), never a colour; the user's
//! config can restyle any name, and `NO_COLOR` strips colours but keeps bold/reverse so the
//! selection and emphasis stay visible.

use std::str::FromStr;

use ratatui::style::{Color, Modifier, Style};

macro_rules! theme {
    ($($name:ident: $style:expr,)*) => {
        /// Every style the UI uses, by meaning.
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub struct Theme {
            $(pub $name: Style,)*
        }

        impl Theme {
            /// The default palette: 16 ANSI colours so it follows the terminal's own scheme.
            pub fn colored() -> Self {
                Self { $($name: $style,)* }
            }

            /// Every style name, for config validation and docs.
            pub const NAMES: &[&str] = &[$(stringify!($name),)*];

            fn slot_mut(&mut self, name: &str) -> Option<&mut Style> {
                match name {
                    $(stringify!($name) => Some(&mut self.$name),)*
                    _ => None,
                }
            }
        }
    };
}

theme! {
    text: Style::new(),
    dim: Style::new().fg(Color::DarkGray),
    header: Style::new().add_modifier(Modifier::BOLD),
    border: Style::new().fg(Color::DarkGray),
    border_focused: Style::new().fg(Color::Cyan),
    title: Style::new().add_modifier(Modifier::BOLD),
    selected: Style::new().add_modifier(Modifier::REVERSED),
    status_ok: Style::new().fg(Color::Green),
    status_client_err: Style::new().fg(Color::Yellow),
    status_server_err: Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
    slow: Style::new().fg(Color::Magenta),
    inflight: Style::new().fg(Color::Cyan),
    expired: Style::new().fg(Color::DarkGray).add_modifier(Modifier::ITALIC),
    tls_ok: Style::new().fg(Color::Green),
    tls_plain: Style::new().fg(Color::Red),
    tab: Style::new().fg(Color::Gray),
    tab_active: Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD.union(Modifier::UNDERLINED)),
    status_bar: Style::new(),
    paused: Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD.union(Modifier::REVERSED)),
    following: Style::new().fg(Color::Green).add_modifier(Modifier::BOLD),
    connected: Style::new().fg(Color::Green),
    warning: Style::new().fg(Color::Yellow),
    error: Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
    prompt: Style::new().add_modifier(Modifier::BOLD),
    prompt_valid: Style::new().fg(Color::Green),
    prompt_invalid: Style::new().fg(Color::Red),
    error_position: Style::new().fg(Color::Red).add_modifier(Modifier::REVERSED),
    key: Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
    redacted: Style::new().fg(Color::DarkGray).add_modifier(Modifier::ITALIC),
    label_key: Style::new().fg(Color::Blue),
    map_node: Style::new().add_modifier(Modifier::BOLD),
    map_node_unmeshed: Style::new().fg(Color::Yellow).add_modifier(Modifier::ITALIC),
    map_namespace: Style::new().fg(Color::Blue).add_modifier(Modifier::BOLD),
    map_edge_selected: Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
}

impl Default for Theme {
    fn default() -> Self {
        Self::colored()
    }
}

impl Theme {
    /// The palette with colours removed, for `NO_COLOR` (<https://no-color.org>).
    pub fn monochrome() -> Self {
        let mut theme = Self::colored();
        for name in Self::NAMES {
            if let Some(style) = theme.slot_mut(name) {
                *style = strip_colors(*style);
            }
        }
        theme
    }

    /// Applies `theme NAME SPEC` from the config; the error says what was wrong.
    pub fn set(&mut self, name: &str, spec: &str, no_color: bool) -> Result<(), String> {
        let style = parse_style(spec)?;
        let style = if no_color { strip_colors(style) } else { style };
        let slot = self
            .slot_mut(name)
            .ok_or_else(|| format!("unknown theme name {name:?}"))?;
        *slot = style;
        Ok(())
    }
}

fn strip_colors(style: Style) -> Style {
    let mut plain = Style::new();
    plain.add_modifier = style.add_modifier;
    plain.sub_modifier = style.sub_modifier;
    plain
}

/// Parses `[FG] [on BG] [bold] [dim] [italic] [underlined] [reversed]`; colours are ratatui names
/// (`red`, `lightblue`), `#rrggbb` or an index `0`–`255`.
pub fn parse_style(spec: &str) -> Result<Style, String> {
    let mut style = Style::new();
    let mut words = spec.split_whitespace();
    while let Some(word) = words.next() {
        let modifier = match word {
            "bold" => Some(Modifier::BOLD),
            "dim" => Some(Modifier::DIM),
            "italic" => Some(Modifier::ITALIC),
            "underlined" => Some(Modifier::UNDERLINED),
            "reversed" => Some(Modifier::REVERSED),
            _ => None,
        };
        if let Some(modifier) = modifier {
            style = style.add_modifier(modifier);
        } else if word == "on" {
            let bg = words.next().ok_or("`on` needs a colour")?;
            style = style.bg(color(bg)?);
        } else {
            style = style.fg(color(word)?);
        }
    }
    Ok(style)
}

fn color(word: &str) -> Result<Color, String> {
    Color::from_str(word).map_err(|_| format!("unknown colour {word:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monochrome_has_no_colours_but_keeps_emphasis() {
        let theme = Theme::monochrome();
        assert_eq!(theme.status_server_err.fg, None);
        assert!(theme.selected.add_modifier.contains(Modifier::REVERSED));
    }

    #[test]
    fn styles_parse() {
        let mut theme = Theme::colored();
        theme
            .set("status_ok", "lightgreen on black bold", false)
            .expect("valid");
        assert_eq!(theme.status_ok.fg, Some(Color::LightGreen));
        assert_eq!(theme.status_ok.bg, Some(Color::Black));
        assert!(theme.set("nope", "red", false).is_err());
        assert!(theme.set("slow", "sparkly", false).is_err());
        theme.set("slow", "#ff0000", true).expect("valid");
        assert_eq!(theme.slow.fg, None);
    }
}
