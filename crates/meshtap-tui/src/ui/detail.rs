//! The detail pane: the selected request as a tui-tree-widget tree.

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, StatefulWidget as _};
use tui_tree_widget::{Tree, TreeItem, TreeState};

use crate::app::AppState;
use crate::app::detail::{DetailState, Node};
use crate::app::theme::Theme;

pub fn render(frame: &mut Frame, area: Rect, state: &AppState) {
    let Some(detail) = state.overlays.detail() else {
        return;
    };
    let theme = &state.theme;
    let reveal_hint = if detail.reveal {
        "r: mask"
    } else {
        "r: reveal"
    };
    let block = Block::bordered()
        .title(Span::styled(
            format!(" Request #{}{} ", detail.seq, detail.progress.label()),
            theme.title,
        ))
        .title_bottom(
            Line::from(format!(" Esc: back · Enter: open/close · {reveal_hint} ")).right_aligned(),
        )
        .border_style(theme.border_focused);
    let Some(request) = state.store.get(detail.seq) else {
        let gone = format!(
            "Request #{} is no longer held: newer requests pushed it out (capacity {}).",
            detail.seq,
            state.store.capacity()
        );
        frame.render_widget(Paragraph::new(gone).style(theme.dim).block(block), area);
        return;
    };
    let nodes = crate::app::clusters::nodes(
        request,
        &state.store,
        &state.clusters,
        &state.redactor,
        detail.reveal,
    );
    let items: Vec<TreeItem<'static, String>> = nodes.iter().map(|n| item(n, theme)).collect();
    let Ok(tree) = Tree::new(&items) else { return };
    let tree = tree
        .block(block)
        .highlight_style(theme.selected)
        .node_closed_symbol("+ ")
        .node_open_symbol("- ")
        .node_no_children_symbol("  ");
    let mut tree_state = tree_state(detail, tree.clone(), area);
    frame.render_stateful_widget(tree, area, &mut tree_state);
}

/// Rebuilds the widget's state from ours. The widget only scrolls within what it has rendered
/// once, so a throwaway render into a scratch buffer teaches it the tree's length before the
/// saved offset is applied.
fn tree_state(detail: &DetailState, tree: Tree<'_, String>, area: Rect) -> TreeState<String> {
    let mut state = TreeState::default();
    for path in &detail.opened {
        state.open(path.clone());
    }
    let mut scratch = Buffer::empty(area);
    tree.render(area, &mut scratch, &mut state);
    state.scroll_down(detail.offset);
    state.select(detail.selected.clone());
    state
}

fn item(node: &Node, theme: &Theme) -> TreeItem<'static, String> {
    let mut spans = vec![Span::styled(
        node.key.clone(),
        if node.children.is_empty() {
            theme.label_key
        } else {
            theme.header
        },
    )];
    if !node.value.is_empty() {
        spans.push(Span::raw(": "));
        let style = if node.redacted {
            theme.redacted
        } else {
            theme.text
        };
        spans.push(Span::styled(node.value.clone(), style));
    }
    let line = Line::from(spans);
    if node.children.is_empty() {
        TreeItem::new_leaf(node.id.clone(), line)
    } else {
        let children = node.children.iter().map(|c| item(c, theme)).collect();
        // Ids are unique among siblings by construction; fall back to a leaf rather than fail.
        TreeItem::new(node.id.clone(), line.clone(), children)
            .unwrap_or_else(|_| TreeItem::new_leaf(node.id.clone(), line))
    }
}
