//! The mTLS identities pane: a summary line, then a tree of namespace → workload → each peer it
//! talked to (both directions) with client and server identity, TLS state in plain words, request
//! count and share secured. Edges that should worry a user are marked ⚠ and say why.

use std::collections::HashSet;
use std::fmt::Write as _;

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, StatefulWidget, Widget};
use tui_tree_widget::{Tree, TreeItem, TreeState};

use self::tree::build_items;
use crate::model::identities::{Edge, IdentityTable, WorkloadId};
use crate::model::metrics::{MetricsView, metrics_only_edges};
use crate::ui::routes::format::{count, counted, percent};
use crate::ui::theme::Theme;

/// How siblings in the tree are ordered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IdentitySort {
    #[default]
    Name,
    Requests,
    /// Edges with concerns first, then by requests.
    Concerns,
}

impl IdentitySort {
    pub fn next(self) -> Self {
        match self {
            IdentitySort::Name => IdentitySort::Requests,
            IdentitySort::Requests => IdentitySort::Concerns,
            IdentitySort::Concerns => IdentitySort::Name,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            IdentitySort::Name => "name",
            IdentitySort::Requests => "requests",
            IdentitySort::Concerns => "concerns first",
        }
    }
}

/// Tree selection and open nodes (held by identifier paths, so they survive new edges), and sort.
#[derive(Debug, Default)]
pub struct IdentitiesState {
    /// Drive it directly: `key_up`, `key_down`, `key_left`, `key_right`, `toggle_selected`.
    pub tree: TreeState<String>,
    pub sort: IdentitySort,
    /// Nodes opened automatically once; a node the user closes stays closed.
    seen: HashSet<Vec<String>>,
}

impl IdentitiesState {
    pub fn new() -> Self {
        Self::default()
    }

    /// The selected node's path: `[namespace, workload, edge, detail]`, as deep as selected.
    pub fn selected(&self) -> &[String] {
        self.tree.selected()
    }

    /// What the cursor is on, resolved against `table`: the edge when on an edge row or one of
    /// its detail lines, else the workload, else the namespace.
    pub fn selected_node<'t>(&self, table: &'t IdentityTable) -> Option<SelectedNode<'t>> {
        let (namespace, rest) = self.selected().split_first()?;
        let mut local = table
            .edges()
            .iter()
            .filter(|e| tree::namespace_id(&e.key.local.namespace) == *namespace);
        match rest {
            [] => local
                .next()
                .map(|e| SelectedNode::Namespace(&e.key.local.namespace)),
            [workload] => local
                .find(|e| e.key.local.name.as_ref() == workload)
                .map(|e| SelectedNode::Workload(&e.key.local)),
            [workload, edge, ..] => local
                .find(|e| e.key.local.name.as_ref() == workload && tree::edge_id(e) == *edge)
                .map(SelectedNode::Edge),
        }
    }
}

/// A node of the identities tree, as the model knows it.
#[derive(Clone, Copy, Debug)]
pub enum SelectedNode<'t> {
    Namespace(&'t str),
    Workload(&'t WorkloadId),
    Edge(&'t Edge),
}

mod metrics_only;
mod tree;

pub struct IdentitiesPane<'a> {
    table: &'a IdentityTable,
    theme: &'a Theme,
    focused: bool,
    metrics: Option<&'a MetricsView>,
}

impl<'a> IdentitiesPane<'a> {
    pub fn new(table: &'a IdentityTable, theme: &'a Theme) -> Self {
        Self {
            table,
            theme,
            focused: true,
            metrics: None,
        }
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

impl StatefulWidget for IdentitiesPane<'_> {
    type State = IdentitiesState;

    fn render(self, area: Rect, buf: &mut Buffer, state: &mut IdentitiesState) {
        let theme = self.theme;
        let metrics_only = self.metrics.map_or_else(Vec::new, |m| {
            metrics_only_edges(self.table, &m.snapshot.edges)
        });
        let mut title = format!(
            " Identities · {} · by {} ",
            counted(self.table.len(), "edge", "edges"),
            state.sort.label()
        );
        if !metrics_only.is_empty() {
            // Each edge shows under both of its workloads.
            let _ = write!(title, "· {} metrics only ", metrics_only.len() / 2);
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
        if self.table.is_empty() && metrics_only.is_empty() {
            Paragraph::new("No finished requests yet.")
                .style(theme.dim)
                .render(body, buf);
            return;
        }
        let items = build_items(self.table, &metrics_only, state.sort, theme);
        open_new_nodes(&items, state);
        if state.tree.selected().is_empty()
            && let Some(first) = items.first()
        {
            state.tree.select(vec![first.identifier().clone()]);
        }
        // Identifiers are unique by construction (map keys); an error would only blank the tree.
        if let Ok(tree) = Tree::new(&items) {
            let tree = tree.highlight_style(theme.selected).style(theme.text);
            StatefulWidget::render(tree, body, buf, &mut state.tree);
        }
    }
}

/// Opens namespaces and workloads the first time they appear.
fn open_new_nodes(items: &[TreeItem<'_, String>], state: &mut IdentitiesState) {
    for namespace in items {
        let ns_path = vec![namespace.identifier().clone()];
        for workload in namespace.children() {
            let path = vec![ns_path[0].clone(), workload.identifier().clone()];
            if state.seen.insert(path.clone()) {
                state.tree.open(path);
            }
        }
        if state.seen.insert(ns_path.clone()) {
            state.tree.open(ns_path);
        }
    }
}

#[cfg(test)]
mod tests;
