//! The mTLS identities pane: a summary line, then a tree of namespace → workload → each peer it
//! talked to (both directions) with client and server identity, TLS state in plain words, request
//! count and share secured. Edges that should worry a user are marked ⚠ and say why.

pub(crate) mod rows;

use std::fmt::Write as _;

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Paragraph, Widget};

use crate::app::identities::IdentitiesState;
use crate::app::sides::SideView;
use crate::app::theme::Theme;
use crate::model::identities::IdentityTable;
use crate::model::metrics::MetricsView;
use crate::ui::routes::format::{count, counted, percent};

/// Before a node with children, open or closed, and before a leaf.
const OPEN: &str = "\u{25bc} ";
const CLOSED: &str = "\u{25b6} ";
const LEAF: &str = "  ";

/// The identities pane: the tree the app built, open, selected and scrolled as it says.
pub struct IdentitiesPane<'a> {
    table: &'a IdentityTable,
    state: &'a IdentitiesState,
    theme: &'a Theme,
    focused: bool,
    metrics: Option<&'a MetricsView>,
    /// Which side of each meshed call is counted (`D`), said in the title.
    side: SideView,
}

impl<'a> IdentitiesPane<'a> {
    pub fn new(table: &'a IdentityTable, state: &'a IdentitiesState, theme: &'a Theme) -> Self {
        Self {
            table,
            state,
            theme,
            focused: true,
            metrics: None,
            side: SideView::Both,
        }
    }

    #[must_use]
    pub fn side(mut self, side: SideView) -> Self {
        self.side = side;
        self
    }

    /// The latest metrics API poll: its edges the sample has not seen join the tree.
    #[must_use]
    pub fn metrics(mut self, metrics: Option<&'a MetricsView>) -> Self {
        self.metrics = metrics;
        self
    }

    #[must_use]
    pub fn focused(mut self, focused: bool) -> Self {
        self.focused = focused;
        self
    }

    fn summary(&self) -> Line<'static> {
        let theme = self.theme;
        let s = self.table.summary();
        let share = if s.requests == 0 {
            1.0
        } else {
            s.mtls as f64 / s.requests as f64
        };
        let share_style = if share >= 1.0 {
            theme.tls_ok
        } else {
            theme.warning
        };
        let mut spans = vec![
            Span::styled(format!("mTLS {}", percent(share)), share_style),
            Span::styled(format!(" of {} req", count(s.requests)), theme.text),
            Span::styled(" · ", theme.dim),
            Span::styled(counted(s.identities, "identity", "identities"), theme.text),
            Span::styled(" · ", theme.dim),
            Span::styled(
                counted(s.plaintext_edges, "plaintext edge", "plaintext edges"),
                if s.plaintext_edges > 0 {
                    theme.tls_plain
                } else {
                    theme.text
                },
            ),
        ];
        if s.edges_with_concerns > 0 {
            spans.push(Span::styled(" · ", theme.dim));
            spans.push(Span::styled(
                format!("⚠ {} to check", s.edges_with_concerns),
                theme.warning,
            ));
        }
        if s.dropped_requests > 0 {
            spans.push(Span::styled(
                format!(
                    " · {} requests on untracked edges",
                    count(s.dropped_requests)
                ),
                theme.dim,
            ));
        }
        Line::from(spans)
    }
}

impl Widget for IdentitiesPane<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let theme = self.theme;
        let state = self.state;
        let mut title = format!(
            " Identities · {} · {} · by {} ",
            self.side.label(),
            counted(self.table.len(), "edge", "edges"),
            state.sort.label()
        );
        if state.metrics_only() > 0 {
            // Each edge shows under both of its workloads.
            let _ = write!(title, "· {} metrics only ", state.metrics_only() / 2);
        }
        let border = if self.focused {
            theme.border_focused
        } else {
            theme.border
        };
        let mut block = Block::bordered()
            .border_style(border)
            .title(Line::styled(title, theme.title));
        if let Some(metrics) = self.metrics {
            block = block.title_bottom(crate::ui::routes::prom::status(metrics, theme));
        }
        let inner = block.inner(area);
        block.render(area, buf);
        let [summary, body] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(inner);
        Paragraph::new(self.summary()).render(summary, buf);
        if state.nodes().is_empty() {
            Paragraph::new("No finished requests yet.")
                .style(theme.dim)
                .render(body, buf);
            return;
        }
        render_tree(state, body, buf, theme);
    }
}

/// The visible lines from the app's offset: indented two cells a level, an open/closed mark on
/// nodes with children, the selected line highlighted across the pane.
fn render_tree(state: &IdentitiesState, area: Rect, buf: &mut Buffer, theme: &Theme) {
    buf.set_style(area, theme.text);
    let visible = state.visible();
    let Some(last) = visible.len().checked_sub(1) else {
        return;
    };
    let rows = visible
        .iter()
        .skip(state.offset().min(last))
        .take(usize::from(area.height));
    for ((path, node), y) in rows.zip(area.y..) {
        let row = Rect::new(area.x, y, area.width, 1);
        let indent = (path.len() - 1) * 2;
        let (x, _) = buf.set_stringn(area.x, y, " ".repeat(indent), indent, Style::new());
        let mark = if node.children.is_empty() {
            LEAF
        } else if state.is_open(path) {
            OPEN
        } else {
            CLOSED
        };
        let room = area.width.saturating_sub(x - area.x);
        let (x, _) = buf.set_stringn(x, y, mark, usize::from(room), Style::new());
        let text = Rect::new(x, y, area.width.saturating_sub(x - area.x), 1);
        Text::from(rows::line(&node.row, theme)).render(text, buf);
        if path.as_slice() == state.selected() {
            buf.set_style(row, theme.selected);
        }
    }
}

#[cfg(test)]
mod tests;
