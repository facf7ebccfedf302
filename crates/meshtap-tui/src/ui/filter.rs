//! The prompt line for `/` filters and `:` commands: the text, the cursor, and for filters a live
//! verdict with the error position highlighted.

use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use crate::app::prompt::{Prompt, PromptKind};
use crate::app::theme::Theme;

pub fn render(frame: &mut Frame, area: Rect, prompt: &Prompt, theme: &Theme) {
    // The find prompt says what it is: `/` is the filter in every pane, the map included.
    let sigil = match prompt.kind {
        PromptKind::Filter => "/",
        PromptKind::Find => "find node: ",
        PromptKind::Command => ":",
    };
    let error_at = match &prompt.validation {
        Some(Err(e)) => Some(e.position.min(prompt.input.len())),
        _ => None,
    };
    let mut spans = vec![Span::styled(sigil, theme.prompt)];
    match error_at {
        Some(at) if prompt.input.is_char_boundary(at) => {
            let (before, rest) = prompt.input.split_at(at);
            let mut rest_chars = rest.chars();
            let bad = rest_chars
                .next()
                .map_or_else(|| " ".to_owned(), String::from);
            spans.push(Span::raw(before.to_owned()));
            spans.push(Span::styled(bad, theme.error_position));
            spans.push(Span::raw(rest_chars.as_str().to_owned()));
        }
        _ => spans.push(Span::raw(prompt.input.clone())),
    }
    let verdict = match &prompt.validation {
        Some(Ok(())) => Some(Span::styled("valid", theme.prompt_valid)),
        Some(Err(e)) => Some(Span::styled(
            format!("{} (column {})", e.message, e.position + 1),
            theme.prompt_invalid,
        )),
        None => None,
    };
    // Display columns up to the cursor (the sigil included); a long line scrolls so the cursor
    // stays on screen.
    let cursor =
        u16::try_from(Span::raw(sigil).width() + Span::raw(&prompt.input[..prompt.cursor]).width())
            .unwrap_or(u16::MAX);
    let offset = cursor.saturating_sub(area.width.saturating_sub(1));
    frame.render_widget(Clear, area);
    frame.render_widget(Paragraph::new(Line::from(spans)).scroll((0, offset)), area);
    if let Some(verdict) = verdict {
        let width = u16::try_from(verdict.content.chars().count() + 1).unwrap_or(u16::MAX);
        let input_end = u16::try_from(prompt.input.chars().count() + 3).unwrap_or(u16::MAX);
        // Only when it does not cover the text being typed.
        if width + input_end <= area.width {
            let right = Rect::new(area.right() - width, area.y, width, 1);
            frame.render_widget(Line::from(verdict), right);
        }
    }
    frame.set_cursor_position(Position::new(
        area.x
            .saturating_add(cursor - offset)
            .min(area.right().saturating_sub(1)),
        area.y,
    ));
}
