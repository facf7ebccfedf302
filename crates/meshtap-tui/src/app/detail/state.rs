//! Where the user is in a request's detail: the open sections, the selection and scroll, and,
//! for a request in flight, which sections it has grown since the detail opened.

use std::collections::HashSet;

use super::{Node, nodes};
use crate::app::progress::Progress;
use crate::model::request::Request;
use crate::session::Redactor;

/// Where the user is in the detail of request `seq`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DetailState {
    pub seq: u64,
    pub opened: HashSet<Vec<String>>,
    pub selected: Vec<String>,
    /// First visible line.
    pub offset: usize,
    pub reveal: bool,
    /// Whether the request was in flight when the detail opened, and is still.
    pub progress: Progress,
    /// Every section (node with children) the tree has had: one that appears later (response
    /// headers, trailers) opens by itself, one the user closed stays closed.
    seen: HashSet<Vec<String>>,
}

impl DetailState {
    /// Opens the detail with every section expanded: the point is to see it all at a glance.
    pub fn new(seq: u64, request: Option<&Request>) -> Self {
        let seen = request.map(sections).unwrap_or_default();
        Self {
            seq,
            opened: seen.clone(),
            selected: vec!["request".to_owned()],
            offset: 0,
            reveal: false,
            progress: Progress::of(request),
            seen,
        }
    }

    /// `request`, open in this detail, changed: while it was in flight, the sections it grew
    /// open (unless the user closed them before), and the title learns when it finished.
    pub fn follow(&mut self, request: &Request) {
        if !self.progress.follow(request) {
            return;
        }
        for section in sections(request) {
            if self.seen.insert(section.clone()) {
                self.opened.insert(section);
            }
        }
    }

    /// The paths of the lines currently shown, top to bottom.
    pub fn visible(&self, nodes: &[Node]) -> Vec<Vec<String>> {
        fn walk(
            nodes: &[Node],
            prefix: &[String],
            opened: &HashSet<Vec<String>>,
            out: &mut Vec<Vec<String>>,
        ) {
            for node in nodes {
                let mut path = prefix.to_vec();
                path.push(node.id.clone());
                let open = opened.contains(&path);
                out.push(path.clone());
                if open {
                    walk(&node.children, &path, opened, out);
                }
            }
        }
        let mut out = Vec::new();
        walk(nodes, &[], &self.opened, &mut out);
        out
    }

    /// Moves the selection by `delta` lines and keeps it within a window of `height`.
    pub fn move_by(&mut self, nodes: &[Node], delta: isize, height: usize) {
        let visible = self.visible(nodes);
        if visible.is_empty() {
            return;
        }
        let current = visible
            .iter()
            .position(|p| *p == self.selected)
            .unwrap_or(0);
        let target = current.saturating_add_signed(delta).min(visible.len() - 1);
        self.selected.clone_from(&visible[target]);
        self.keep_in_view(target, visible.len(), height);
    }

    /// Opens (`Some(true)`), closes (`Some(false)`) or toggles (`None`) the selected node. Closing a
    /// leaf moves to its parent, like a file tree.
    pub fn set_open(&mut self, nodes: &[Node], open: Option<bool>, height: usize) {
        let has_children = find(nodes, &self.selected).is_some_and(|n| !n.children.is_empty());
        let is_open = self.opened.contains(&self.selected);
        let want = open.unwrap_or(!is_open);
        if has_children && want != is_open {
            if want {
                self.opened.insert(self.selected.clone());
            } else {
                self.opened.remove(&self.selected);
            }
        } else if open == Some(false) && self.selected.len() > 1 {
            self.selected.pop();
        }
        let visible = self.visible(nodes);
        let index = visible
            .iter()
            .position(|p| *p == self.selected)
            .unwrap_or(0);
        self.keep_in_view(index, visible.len(), height);
    }

    fn keep_in_view(&mut self, index: usize, len: usize, height: usize) {
        let height = height.max(1);
        if index < self.offset {
            self.offset = index;
        } else if index >= self.offset + height {
            self.offset = index + 1 - height;
        }
        self.offset = self.offset.min(len.saturating_sub(height));
    }
}

fn find<'a>(nodes: &'a [Node], path: &[String]) -> Option<&'a Node> {
    let (first, rest) = path.split_first()?;
    let node = nodes.iter().find(|n| &n.id == first)?;
    if rest.is_empty() {
        Some(node)
    } else {
        find(&node.children, rest)
    }
}

/// The paths of every node with children in `request`'s tree (which exist does not depend on
/// what is masked).
fn sections(request: &Request) -> HashSet<Vec<String>> {
    fn walk(nodes: &[Node], prefix: &[String], out: &mut HashSet<Vec<String>>) {
        for node in nodes.iter().filter(|n| !n.children.is_empty()) {
            let mut path = prefix.to_vec();
            path.push(node.id.clone());
            walk(&node.children, &path, out);
            out.insert(path);
        }
    }
    let mut out = HashSet::new();
    walk(&nodes(request, &Redactor::default(), false), &[], &mut out);
    out
}
