//! The `:triggers` list: every flight-recorder firing (time, trigger, request, file, further
//! matches) in a popup over the panes; Enter jumps to the highlighted firing's request.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Clear, Row, Table, TableState};

use crate::app::TriggersView;
use crate::ui::layout;
use crate::ui::theme::Theme;

pub fn render(frame: &mut Frame, area: Rect, view: &TriggersView, theme: &Theme) {
    let popup = layout::centered(area, 96, 60);
    let block = Block::bordered()
        .title(Span::styled(
            format!(" Trigger firings ({}) ", view.rows.len()),
            theme.title,
        ))
        .title_bottom(Line::from(" Enter: go to request · j/k: move · Esc: close ").right_aligned())
        .border_style(theme.border_focused);
    let header = Row::new(["time", "trigger", "request", "more", "file"]).style(theme.header);
    let rows = view.rows.iter().map(|row| {
        Row::new([
            Cell::from(row.time.clone()),
            Cell::from(row.trigger.clone()),
            Cell::from(format!("#{}", row.request)),
            Cell::from(format!("+{}", row.further)),
            Cell::from(row.file.clone()),
        ])
    });
    let widths = [
        Constraint::Length(12),
        Constraint::Fill(1),
        Constraint::Length(8),
        Constraint::Length(5),
        Constraint::Fill(3),
    ];
    let table = Table::new(rows, widths)
        .header(header)
        .block(block)
        .row_highlight_style(theme.selected)
        .highlight_symbol("> ");
    let mut state = TableState::default().with_selected(Some(view.selected));
    frame.render_widget(Clear, popup);
    frame.render_stateful_widget(table, popup, &mut state);
}
