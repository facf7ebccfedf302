//! The copy-as popup: the format menu, then the copied text with its notes, drawn from
//! `CopyState` alone.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use crate::app::copy::{Clipboard, CopyStage, CopyState};
use crate::copy::Format;
use crate::ui::layout;
use crate::ui::theme::Theme;

/// The menu's size: the longest format name, its key hints, and the borders.
const MENU_WIDTH: u16 = 36;

pub fn render(frame: &mut Frame, area: Rect, state: &CopyState, theme: &Theme) {
    match &state.stage {
        CopyStage::Menu { selected } => menu(frame, area, *selected, theme),
        CopyStage::Shown {
            format,
            reveal,
            result,
            clipboard,
        } => {
            let mut lines: Vec<Line> = Vec::new();
            match result {
                Ok(copied) => {
                    lines.extend(copied.text.lines().map(|l| Line::from(l.to_owned())));
                    lines.push(Line::from(""));
                    for note in &copied.notes {
                        lines.push(Line::from(Span::styled(format!("note: {note}"), theme.dim)));
                    }
                }
                Err(e) => lines.push(Line::from(Span::styled(
                    format!("cannot copy as {}: {e}", format.title()),
                    theme.warning,
                ))),
            }
            match clipboard {
                Clipboard::Pending => {
                    lines.push(Line::from(Span::styled("copying…", theme.dim)));
                }
                Clipboard::Sent { message, hint } => {
                    let style = if hint.is_some() {
                        theme.warning
                    } else {
                        theme.status_ok
                    };
                    lines.push(Line::from(Span::styled(message.clone(), style)));
                    if let Some(hint) = hint {
                        lines.push(Line::from(Span::styled(*hint, theme.dim)));
                    }
                }
                Clipboard::NotSent(why) => {
                    lines.push(Line::from(Span::styled(why.clone(), theme.warning)));
                }
            }
            let popup = layout::centered(area, 90, 70);
            let reveal = if *reveal { "r: mask" } else { "r: reveal" };
            let block = Block::bordered()
                .title(Span::styled(
                    format!(" Copied as {} ", format.title()),
                    theme.title,
                ))
                .title_bottom(Line::from(format!(" {reveal} · Esc: close ")).right_aligned())
                .border_style(theme.border_focused);
            frame.render_widget(Clear, popup);
            frame.render_widget(
                Paragraph::new(lines)
                    .block(block)
                    .wrap(Wrap { trim: false }),
                popup,
            );
        }
    }
}

fn menu(frame: &mut Frame, area: Rect, selected: usize, theme: &Theme) {
    let height = u16::try_from(Format::ALL.len()).unwrap_or(u16::MAX) + 2;
    let width = MENU_WIDTH.min(area.width);
    let popup = Rect::new(
        area.x + area.width.saturating_sub(width) / 2,
        area.y + area.height.saturating_sub(height) / 2,
        width,
        height.min(area.height),
    );
    let lines: Vec<Line> = Format::ALL
        .iter()
        .enumerate()
        .map(|(i, format)| {
            let style = if i == selected {
                theme.selected
            } else {
                theme.text
            };
            Line::from(Span::styled(
                format!(" {:<width$}", format.title(), width = usize::from(width)),
                style,
            ))
        })
        .collect();
    let block = Block::bordered()
        .title(Span::styled(" Copy request as ", theme.title))
        .title_bottom(Line::from(" Enter · Esc ").right_aligned())
        .border_style(theme.border_focused);
    frame.render_widget(Clear, popup);
    frame.render_widget(Paragraph::new(lines).block(block), popup);
}
