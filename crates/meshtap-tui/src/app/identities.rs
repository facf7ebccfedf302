//! The identities pane's state and keys: the tree (built by [`tree`] when the table, the
//! metrics or the sort changed), which nodes are open and selected (held by identifier paths, so
//! they survive new edges), and the scroll that keeps the selection in view.

pub mod tree;

use std::collections::HashSet;

use self::tree::Node;
use super::action::Action;
use super::panes::Handoff;
use super::state::AppState;
use crate::model::identities::{Edge, IdentityTable, WorkloadId};
use crate::model::metrics::{MetricsView, metrics_only_edges};
use crate::routestats::Readings;

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

/// What the cached tree was built from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Inputs {
    edges: usize,
    requests: u64,
    metrics: u64,
    denials: u64,
    sort: IdentitySort,
}

/// Tree selection and open nodes, sort, the tree itself and its scroll.
#[derive(Debug, Default)]
pub struct IdentitiesState {
    pub sort: IdentitySort,
    nodes: Vec<Node>,
    /// Sides of edges only the metrics API knows (each edge shows under both its workloads).
    metrics_only: usize,
    selected: Vec<String>,
    opened: HashSet<Vec<String>>,
    /// Nodes opened automatically once; a node the user closes stays closed.
    seen: HashSet<Vec<String>>,
    /// The first visible line shown.
    offset: usize,
    /// The selection moved: scroll it into view at the next fit.
    reveal: bool,
    /// The page the scroll was last fitted to, while nothing shown has changed since: the next
    /// fit to the same page has nothing to do (ticks fit 30 times a second).
    fitted: Option<usize>,
    /// Lines on screen at the last fit: how far PageUp/PageDown move.
    page: usize,
    inputs: Option<Inputs>,
}

impl IdentitiesState {
    pub fn new() -> Self {
        Self::default()
    }

    /// The tree, as of the last refresh.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// Sides of metrics-only edges in the tree (two per edge).
    pub fn metrics_only(&self) -> usize {
        self.metrics_only
    }

    /// The selected node's path: `[namespace, workload, edge, detail]`, as deep as selected.
    pub fn selected(&self) -> &[String] {
        &self.selected
    }

    pub fn is_open(&self, path: &[String]) -> bool {
        self.opened.contains(path)
    }

    /// The first visible line shown.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// Every line the tree shows when scrolled through: open nodes' children under them.
    pub fn visible(&self) -> Vec<(Vec<String>, &Node)> {
        fn walk<'a>(
            opened: &HashSet<Vec<String>>,
            nodes: &'a [Node],
            parent: &[String],
            out: &mut Vec<(Vec<String>, &'a Node)>,
        ) {
            for node in nodes {
                let mut path = parent.to_vec();
                path.push(node.id.clone());
                let open = opened.contains(&path);
                out.push((path.clone(), node));
                if open {
                    walk(opened, &node.children, &path, out);
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.opened, &self.nodes, &[], &mut out);
        out
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

    /// Forget the cached tree: call after replacing the table (the filter changed).
    pub fn invalidate(&mut self) {
        self.inputs = None;
    }

    /// Rebuilds the tree when the table, the metrics (`generation` counts snapshots), the
    /// refusal counters' readings or the sort changed; opens namespaces and workloads the first time they appear, and selects the first
    /// line when nothing is selected.
    pub fn refresh(
        &mut self,
        table: &IdentityTable,
        metrics: Option<&MetricsView>,
        generation: u64,
        denials: &Readings,
    ) {
        let inputs = Inputs {
            edges: table.len(),
            requests: table.requests(),
            metrics: generation,
            denials: denials.generation,
            sort: self.sort,
        };
        if self.inputs != Some(inputs) {
            let only =
                metrics.map_or_else(Vec::new, |m| metrics_only_edges(table, &m.snapshot.edges));
            self.metrics_only = only.len();
            self.nodes = tree::build(table, &only, self.sort, denials);
            self.open_new_nodes();
            self.inputs = Some(inputs);
            self.fitted = None;
        }
        if self.selected.is_empty()
            && let Some(first) = self.nodes.first()
        {
            self.select(vec![first.id.clone()]);
        }
    }

    fn open_new_nodes(&mut self) {
        for namespace in &self.nodes {
            let ns_path = vec![namespace.id.clone()];
            for workload in &namespace.children {
                let path = vec![namespace.id.clone(), workload.id.clone()];
                if self.seen.insert(path.clone()) {
                    self.opened.insert(path);
                }
            }
            if self.seen.insert(ns_path.clone()) {
                self.opened.insert(ns_path);
            }
        }
    }

    /// Scrolls a window of `page` lines just enough to show a selection that moved.
    pub fn fit(&mut self, page: usize) {
        self.page = page;
        if page == 0 || (self.fitted == Some(page) && !self.reveal) {
            return;
        }
        let visible = self.visible();
        let Some(last) = visible.len().checked_sub(1) else {
            return;
        };
        let reveal = if self.reveal && !self.selected.is_empty() {
            visible.iter().position(|(path, _)| *path == self.selected)
        } else {
            None
        };
        let mut start = self.offset.min(last);
        if let Some(index) = reveal {
            start = start.min(index);
            if index >= start + page {
                start = index + 1 - page;
            }
        }
        self.offset = start;
        self.reveal = false;
        self.fitted = Some(page);
    }

    fn select(&mut self, path: Vec<String>) {
        self.reveal = true;
        self.selected = path;
    }

    /// Moves to the visible line `to(current index)` picks, clamped to the last.
    fn select_relative(&mut self, to: impl FnOnce(Option<usize>) -> usize) {
        let visible = self.visible();
        let current = visible.iter().position(|(path, _)| *path == self.selected);
        let index = to(current).min(visible.len().saturating_sub(1));
        let path = visible
            .into_iter()
            .nth(index)
            .map(|(path, _)| path)
            .unwrap_or_default();
        self.select(path);
    }

    pub fn key_up(&mut self) {
        self.select_relative(|current| current.map_or(usize::MAX, |c| c.saturating_sub(1)));
    }

    pub fn key_down(&mut self) {
        self.select_relative(|current| current.map_or(0, |c| c.saturating_add(1)));
    }

    /// A screenful down (at least one line, before the first fit).
    pub fn page_down(&mut self) {
        let page = self.page.max(1);
        self.select_relative(|current| current.map_or(0, |c| c.saturating_add(page)));
    }

    pub fn page_up(&mut self) {
        let page = self.page.max(1);
        self.select_relative(|current| current.map_or(0, |c| c.saturating_sub(page)));
    }

    pub fn select_first(&mut self) {
        self.select_relative(|_| 0);
    }

    pub fn select_last(&mut self) {
        self.select_relative(|_| usize::MAX);
    }

    /// Closes the selected node, or when it is closed moves to its parent.
    pub fn key_left(&mut self) {
        self.reveal = true;
        self.fitted = None;
        if !self.opened.remove(&self.selected) {
            self.selected.pop();
        }
    }

    /// Opens the selected node.
    pub fn key_right(&mut self) {
        if !self.selected.is_empty() {
            self.reveal = true;
            self.fitted = None;
            self.opened.insert(self.selected.clone());
        }
    }

    pub fn toggle_selected(&mut self) {
        if self.selected.is_empty() {
            return;
        }
        self.reveal = true;
        self.fitted = None;
        if !self.opened.remove(&self.selected) {
            self.opened.insert(self.selected.clone());
        }
    }

    pub fn close(&mut self, path: &[String]) {
        self.fitted = None;
        self.opened.remove(path);
    }
}

/// A node of the identities tree, as the model knows it.
#[derive(Clone, Copy, Debug)]
pub enum SelectedNode<'t> {
    Namespace(&'t str),
    Workload(&'t WorkloadId),
    Edge(&'t Edge),
}

impl IdentitiesState {
    /// The identities pane's keys: moving through the tree, opening and closing, sorting.
    pub fn on_key(&mut self, action: &Action) -> Handoff {
        match action {
            Action::Down | Action::ScrollDown(_) => self.key_down(),
            Action::Up | Action::ScrollUp(_) => self.key_up(),
            Action::Open => self.toggle_selected(),
            Action::Expand => self.key_right(),
            Action::Collapse => self.key_left(),
            Action::PageDown => self.page_down(),
            Action::PageUp => self.page_up(),
            Action::Top => self.select_first(),
            Action::Bottom => self.select_last(),
            Action::SortNext => self.sort = self.sort.next(),
            _ => {}
        }
        Handoff::Done
    }
}

impl AppState {
    /// Brings the identities tree and its scroll up to date.
    pub(super) fn refresh_identities(&mut self) {
        let Some(list) = super::layout::areas(self.area(), false).list else {
            return;
        };
        let generation = self.map_view.metrics_generation;
        let view = &mut self.identities_view;
        view.refresh(
            &self.identities,
            self.metrics.as_ref(),
            generation,
            &self.denials,
        );
        // Inside the border, under the summary line.
        let inner = ratatui::widgets::Block::bordered().inner(list);
        view.fit(usize::from(inner.height.saturating_sub(1)));
    }
}
