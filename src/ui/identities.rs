//! The mTLS identities pane: a summary line, then a tree of namespace → workload → each peer it
//! talked to (both directions) with client and server identity, TLS state in plain words, request
//! count and share secured. Edges that should worry a user are marked ⚠ and say why.

use std::collections::{BTreeMap, HashSet};

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, StatefulWidget, Widget};
use tui_tree_widget::{Tree, TreeItem, TreeState};

use crate::model::event::Direction;
use crate::model::identities::{Concern, Edge, IdentityTable, TlsState, WorkloadId, short_identity};
use crate::ui::routes::format::{count, percent};
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
}

pub struct IdentitiesPane<'a> {
    table: &'a IdentityTable,
    theme: &'a Theme,
    focused: bool,
}

impl<'a> IdentitiesPane<'a> {
    pub fn new(table: &'a IdentityTable, theme: &'a Theme) -> Self {
        Self { table, theme, focused: true }
    }

    #[must_use]
    pub fn focused(mut self, focused: bool) -> Self {
        self.focused = focused;
        self
    }

    fn summary(&self) -> Line<'static> {
        let theme = self.theme;
        let s = self.table.summary();
        let share = if s.requests == 0 { 1.0 } else { s.mtls as f64 / s.requests as f64 };
        let share_style = if share >= 1.0 { theme.tls_ok } else { theme.warning };
        let mut spans = vec![
            Span::styled(format!("mTLS {}", percent(share)), share_style),
            Span::styled(format!(" of {} requests", count(s.requests)), theme.text),
            Span::styled(" · ", theme.dim),
            Span::styled(format!("{} identities", s.identities), theme.text),
            Span::styled(" · ", theme.dim),
            Span::styled(
                format!("{} plaintext edges", s.plaintext_edges),
                if s.plaintext_edges > 0 { theme.tls_plain } else { theme.text },
            ),
        ];
        if s.edges_with_concerns > 0 {
            spans.push(Span::styled(" · ", theme.dim));
            spans.push(Span::styled(format!("⚠ {} need attention", s.edges_with_concerns), theme.warning));
        }
        if s.dropped_requests > 0 {
            spans.push(Span::styled(format!(" · {} requests on untracked edges", count(s.dropped_requests)), theme.dim));
        }
        Line::from(spans)
    }
}

impl StatefulWidget for IdentitiesPane<'_> {
    type State = IdentitiesState;

    fn render(self, area: Rect, buf: &mut Buffer, state: &mut IdentitiesState) {
        let theme = self.theme;
        let title = format!(" Identities · {} edges · by {} ", self.table.len(), state.sort.label());
        let border = if self.focused { theme.border_focused } else { theme.border };
        let block = Block::bordered().border_style(border).title(Line::styled(title, theme.title));
        let inner = block.inner(area);
        block.render(area, buf);
        let [summary, body] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(inner);
        Paragraph::new(self.summary()).render(summary, buf);
        if self.table.is_empty() {
            Paragraph::new("No finished requests yet.").style(theme.dim).render(body, buf);
            return;
        }
        let items = build_items(self.table, state.sort, theme);
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

struct Totals {
    requests: u64,
    mtls: u64,
    concerns: usize,
}

impl Totals {
    fn add(&mut self, edge: &Edge, concerns: usize) {
        self.requests += edge.requests;
        self.mtls += edge.mtls();
        self.concerns += concerns;
    }

    fn spans(&self, theme: &Theme) -> Vec<Span<'static>> {
        let share = if self.requests == 0 { 0.0 } else { self.mtls as f64 / self.requests as f64 };
        let mut spans = vec![
            Span::styled(format!("  {} req · ", count(self.requests)), theme.dim),
            Span::styled(format!("{} mTLS", percent(share)), if share >= 1.0 { theme.tls_ok } else { theme.warning }),
        ];
        if self.concerns > 0 {
            spans.push(Span::styled(format!("  ⚠ {}", self.concerns), theme.warning));
        }
        spans
    }
}

type Grouped<'t> = BTreeMap<&'t str, BTreeMap<&'t str, Vec<(&'t Edge, Vec<Concern>)>>>;

fn build_items<'t>(table: &'t IdentityTable, sort: IdentitySort, theme: &Theme) -> Vec<TreeItem<'static, String>> {
    let meshed = table.meshed();
    let mut grouped: Grouped<'t> = BTreeMap::new();
    for edge in table.edges() {
        let concerns = IdentityTable::concerns(edge, &meshed);
        grouped
            .entry(&edge.key.local.namespace)
            .or_default()
            .entry(&edge.key.local.name)
            .or_default()
            .push((edge, concerns));
    }
    let mut namespaces = Vec::new();
    for (namespace, workloads) in grouped {
        let mut ns_totals = Totals { requests: 0, mtls: 0, concerns: 0 };
        let mut children = Vec::new();
        for (workload, mut edges) in workloads {
            let mut totals = Totals { requests: 0, mtls: 0, concerns: 0 };
            sort_edges(&mut edges, sort);
            let mut edge_items = Vec::new();
            for (edge, concerns) in &edges {
                totals.add(edge, usize::from(!concerns.is_empty()));
                edge_items.push(edge_item(edge, concerns, theme));
            }
            ns_totals.requests += totals.requests;
            ns_totals.mtls += totals.mtls;
            ns_totals.concerns += totals.concerns;
            let mut spans = vec![Span::styled(workload.to_owned(), theme.text)];
            spans.extend(totals.spans(theme));
            let key = (totals.concerns, totals.requests);
            if let Ok(item) = TreeItem::new(workload.to_owned(), Line::from(spans), edge_items) {
                children.push((key, item));
            }
        }
        sort_keyed(&mut children, sort);
        let label = if namespace.is_empty() { "(no namespace)" } else { namespace };
        let mut spans = vec![Span::styled(label.to_owned(), theme.header)];
        spans.push(Span::styled(format!("  {} workloads", children.len()), theme.dim));
        spans.extend(ns_totals.spans(theme));
        let key = (ns_totals.concerns, ns_totals.requests);
        let children = children.into_iter().map(|(_, item)| item).collect();
        if let Ok(item) = TreeItem::new(format!("ns:{namespace}"), Line::from(spans), children) {
            namespaces.push((key, item));
        }
    }
    sort_keyed(&mut namespaces, sort);
    namespaces.into_iter().map(|(_, item)| item).collect()
}

fn sort_edges(edges: &mut [(&Edge, Vec<Concern>)], sort: IdentitySort) {
    match sort {
        IdentitySort::Name => edges.sort_by(|a, b| (&a.0.key.peer, a.0.key.direction).cmp(&(&b.0.key.peer, b.0.key.direction))),
        IdentitySort::Requests => edges.sort_by(|a, b| b.0.requests.cmp(&a.0.requests).then_with(|| a.0.key.cmp(&b.0.key))),
        IdentitySort::Concerns => edges.sort_by(|a, b| {
            (b.1.len(), b.0.requests).cmp(&(a.1.len(), a.0.requests)).then_with(|| a.0.key.cmp(&b.0.key))
        }),
    }
}

/// Sorts items keyed by (concerns, requests); by name the input order (a BTreeMap's) stays.
fn sort_keyed<T>(items: &mut [((usize, u64), T)], sort: IdentitySort) {
    match sort {
        IdentitySort::Name => {}
        IdentitySort::Requests => items.sort_by(|a, b| b.0.1.cmp(&a.0.1)),
        IdentitySort::Concerns => items.sort_by(|a, b| b.0.cmp(&a.0)),
    }
}

fn peer_label(edge: &Edge) -> String {
    let peer: &WorkloadId = &edge.key.peer;
    if peer.namespace == edge.key.local.namespace || peer.namespace.is_empty() {
        peer.name.to_string()
    } else {
        format!("{}/{}", peer.namespace, peer.name)
    }
}

fn tls_style(state: TlsState, theme: &Theme) -> Style {
    if state.is_mtls() {
        theme.tls_ok
    } else if state.is_plaintext() {
        theme.tls_plain
    } else {
        theme.dim
    }
}

fn edge_item(edge: &Edge, concerns: &[Concern], theme: &Theme) -> TreeItem<'static, String> {
    let arrow = if edge.key.direction == Direction::Inbound { "← from " } else { "→ to " };
    let tls = edge.dominant_tls();
    let mut spans = vec![
        Span::styled(arrow, theme.dim),
        Span::styled(peer_label(edge), if concerns.is_empty() { theme.text } else { theme.warning }),
        Span::raw("  "),
        Span::styled(tls.short(), tls_style(tls, theme)),
        Span::styled(format!(" {} secured", percent(edge.secured_share())), theme.dim),
        Span::styled(format!("  {} req", count(edge.requests)), theme.text),
    ];
    if !concerns.is_empty() {
        spans.push(Span::styled(format!("  ⚠ {}", concerns.len()), theme.warning));
    }
    if let Some(id) = &edge.identity {
        spans.push(Span::styled(format!("  {}", short_identity(id)), theme.dim));
    }
    let mut children = Vec::new();
    let observed = edge.identity.as_ref().map_or_else(|| "none".to_owned(), ToString::to_string);
    let local = IdentityTable::expected_identity(edge, true).map_or_else(|| "unknown".to_owned(), |id| format!("{id} (this proxy)"));
    let (client, server) = if edge.key.direction == Direction::Inbound { (observed, local) } else { (local, observed) };
    let leaf = |id: &str, label: &str, value: String, style: Style| {
        TreeItem::new_leaf(id.to_owned(), Line::from(vec![Span::styled(format!("{label:<8}"), theme.label_key), Span::styled(value, style)]))
    };
    children.push(leaf("client", "client", client, theme.text));
    children.push(leaf("server", "server", server, theme.text));
    for state in TlsState::ALL {
        let n = edge.tls[state.index()];
        if n > 0 {
            let value = format!("{} · {} req", state.describe(), count(n));
            children.push(leaf(&format!("tls:{}", state.index()), "TLS", value, tls_style(state, theme)));
        }
    }
    if let Some((kind, name)) = &edge.authz {
        children.push(leaf("authz", "authz", format!("{kind}/{name}"), theme.text));
    }
    for (i, concern) in concerns.iter().enumerate() {
        children.push(leaf(&format!("concern:{i}"), "⚠", concern.describe(edge), theme.warning));
    }
    let id = format!("{}|{}/{}", edge.key.direction.short(), edge.key.peer.namespace, edge.key.peer.name);
    TreeItem::new(id.clone(), Line::from(spans), children).unwrap_or_else(|_| TreeItem::new_leaf(id, "?"))
}

#[cfg(test)]
mod tests;
