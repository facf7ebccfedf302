//! The help overlay, generated from the keymap in force (so user overrides show up), plus the
//! `:` commands.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use crate::app::Action;
use crate::app::AppState;
use crate::app::command::USAGE;
use crate::app::keymap::Context;
use crate::app::layout;

/// Sections in the order they are shown, with their headings; the section of the place the help
/// was opened from comes first (a pane's keys are what its user is looking for).
const SECTIONS: [(Context, &str); 14] = [
    (Context::Global, "Everywhere"),
    (Context::Requests, "Requests pane"),
    (Context::Detail, "Request detail"),
    (Context::Routes, "Routes pane"),
    (Context::RouteDetail, "Route detail"),
    (Context::Identities, "Identities pane"),
    (Context::Map, "Map pane"),
    (Context::Copy, "Copy popup (y)"),
    (Context::Explain, "Explain view (i)"),
    (Context::Trace, "Trace waterfall (t)"),
    (Context::Triggers, "Trigger firings (:triggers)"),
    (Context::Why, "Tap health (:why)"),
    (Context::Prompt, "Filter and command prompts"),
    (Context::Help, "This help"),
];

/// The help text, one line per action: keys for the same action and description are merged.
pub fn lines(state: &AppState) -> Vec<Line<'static>> {
    let theme = &state.theme;
    let mut out = Vec::new();
    let here = state.context_under_help();
    let sections = SECTIONS
        .iter()
        .filter(|(c, _)| *c == here)
        .chain(SECTIONS.iter().filter(|(c, _)| *c != here));
    for &(context, heading) in sections {
        let mut rows: Vec<(String, String)> = Vec::new();
        for binding in state
            .keymap
            .bindings()
            .iter()
            .filter(|b| b.context == context)
        {
            match rows.iter_mut().find(|(_, d)| *d == binding.description) {
                Some((keys, _)) => {
                    keys.push_str(", ");
                    keys.push_str(&binding.key.to_string());
                }
                None => rows.push((binding.key.to_string(), binding.description.clone())),
            }
        }
        if rows.is_empty() {
            continue;
        }
        let heading = if context == here {
            format!("{heading} (you are here)")
        } else {
            heading.to_owned()
        };
        out.push(Line::from(Span::styled(heading, theme.header)));
        for (keys, description) in rows {
            out.push(Line::from(vec![
                Span::styled(format!("  {keys:<18} "), theme.key),
                Span::raw(description),
            ]));
        }
        out.push(Line::from(""));
    }
    out.push(Line::from(Span::styled("Identities marks", theme.header)));
    out.extend(identities_marks().into_iter().map(Line::from));
    out.push(Line::from(""));
    out.push(Line::from(Span::styled("Commands (:)", theme.header)));
    for (_, usage) in USAGE {
        out.push(Line::from(format!("  {usage}")));
    }
    out.push(Line::from(""));
    out.push(Line::from(Span::styled(
        "Filter language (/)",
        theme.header,
    )));
    out.extend(filter_language().into_iter().map(Line::from));
    out
}

/// What the identities pane's marks on an edge mean.
fn identities_marks() -> Vec<String> {
    vec![
        "  ⚠ N      something on the edge to check; what, on the lines under it".to_owned(),
        format!(
            "  {}  the client got 403s here and the server's proxy counted",
            crate::ui::identities::rows::DENIED_MARK
        ),
        "      refusals of its identity (a policy denial; read every 10 s, live only)".to_owned(),
    ]
}

/// The filter language's summary: the field names and keywords come from the parser itself.
fn filter_language() -> Vec<String> {
    let mut out = Vec::new();
    let mut line = String::from("  fields:");
    let names = crate::filter::field_names().chain(["header.NAME", "(src./dst. ns deploy pod)"]);
    for name in names {
        if line.len() + 1 + name.len() > 74 {
            out.push(std::mem::replace(&mut line, "         ".to_owned()));
        }
        line.push(' ');
        line.push_str(name);
    }
    out.push(line);
    let keywords: Vec<&str> = crate::filter::keywords().collect();
    out.push(format!("  keywords: {}", keywords.join(" ")));
    out.extend(
        [
            "  operators: = != ~ !~ < <= > >=   combine with and, or, not/!, ( )",
            "  time: since=16:49:00 until=16:50 (UTC; or RFC 3339, or -2m) age<2m",
            "        -2m and age count back from now: live the clock, replay the last event",
            "  e.g. status=5xx and lat>100ms      method=GET and path~/api/*",
            "       since=-5m failed               dst.deploy=orders age<30s",
        ]
        .map(str::to_owned),
    );
    out
}

pub fn render(frame: &mut Frame, area: Rect, state: &AppState, scroll: usize) {
    let popup = layout::centered(area, 84, 84);
    let lines = lines(state);
    let inner_height = usize::from(popup.height.saturating_sub(2));
    let scroll = scroll.min(lines.len().saturating_sub(inner_height));
    let block = Block::bordered()
        .title(Span::styled(" Help ", state.theme.title))
        .title_bottom(Line::from(footer(state)).right_aligned())
        .border_style(state.theme.border_focused);
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .scroll((u16::try_from(scroll).unwrap_or(u16::MAX), 0)),
        popup,
    );
}

/// ` Esc/?/F1: close · j/k: scroll `, from the keys in force in the help.
fn footer(state: &AppState) -> String {
    let keys = |action: &Action| {
        state
            .keymap
            .bindings()
            .iter()
            .filter(|b| b.action == *action && matches!(b.context, Context::Help | Context::Global))
            .filter(|b| {
                state
                    .keymap
                    .lookup(&[Context::Help, Context::Global], b.key)
                    .as_ref()
                    == Some(action)
            })
            .map(|b| b.key.to_string())
            .filter(|k| k.chars().count() <= 3)
            .collect::<Vec<_>>()
            .join("/")
    };
    let mut close = keys(&Action::Back);
    let help = keys(&Action::Help);
    if !help.is_empty() {
        close = format!("{close}/{help}");
    }
    let scroll = [keys(&Action::Down), keys(&Action::Up)]
        .iter()
        .filter_map(|k| k.split('/').next().map(str::to_owned))
        .collect::<Vec<_>>()
        .join("/");
    format!(" {close}: close · {scroll}: scroll ")
}
