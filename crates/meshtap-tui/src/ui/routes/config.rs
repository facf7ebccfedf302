//! The cells of the optional columns: a backend's configured weight and observed share, and the
//! rule's timeout and retry policy, from the policy route the row was matched to.

use ratatui::layout::Alignment;
use ratatui::text::Line;
use ratatui::widgets::Cell;

use super::format::percent;
use super::tree::truncate;
use crate::app::routes::columns::ConfigColumn;
use crate::app::theme::Theme;
use crate::model::routes::RouteRow;

pub(super) fn cell(row: &RouteRow, column: ConfigColumn, theme: &Theme) -> Cell<'static> {
    let matched = row.matched.as_deref();
    let text = match column {
        ConfigColumn::Weight => matched
            .and_then(|m| m.backend.as_ref()?.weight)
            .map(|w| w.to_string()),
        ConfigColumn::Share => row.share.map(percent),
        ConfigColumn::Timeout => matched.map(|m| m.config.timeout_label()),
        ConfigColumn::Retry => matched.map(|m| m.config.retry_label()),
    };
    let text = text.filter(|t| !t.is_empty());
    let width = usize::from(column.width());
    let line = match text {
        Some(text) => Line::styled(truncate(&text, width), theme.text),
        None => Line::styled("-", theme.dim),
    };
    match column {
        ConfigColumn::Weight | ConfigColumn::Share => Cell::from(line.alignment(Alignment::Right)),
        ConfigColumn::Timeout | ConfigColumn::Retry => Cell::from(line),
    }
}
