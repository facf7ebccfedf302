//! Tree items for edges only the metrics API knows: Prometheus saw the two workloads talk over
//! its window, the live sample has not (yet). Marked "(metrics only)" so nobody mistakes them
//! for sampled traffic; they carry identities but no request counts.

use ratatui::text::{Line, Span};
use tui_tree_widget::TreeItem;

use crate::model::event::Direction;
use crate::model::identities::{WorkloadId, short_identity};
use crate::model::metrics::MetricsOnlyEdge;
use crate::ui::theme::Theme;

/// The tree identifier, apart from live edges' (`in|ns/name`) so the two never collide.
pub(super) fn edge_id(edge: &MetricsOnlyEdge) -> String {
    format!(
        "metrics|{}|{}/{}",
        edge.direction.short(),
        edge.peer.namespace,
        edge.peer.name
    )
}

fn peer_label(local: &WorkloadId, peer: &WorkloadId) -> String {
    if peer.namespace == local.namespace || peer.namespace.is_empty() {
        peer.name.to_string()
    } else {
        format!("{}/{}", peer.namespace, peer.name)
    }
}

pub(super) fn item(edge: &MetricsOnlyEdge, theme: &Theme) -> TreeItem<'static, String> {
    let arrow = if edge.direction == Direction::Inbound {
        "← from "
    } else {
        "→ to "
    };
    let secured = edge.client_id.is_some() && edge.server_id.is_some();
    let (tls, tls_style) = if secured {
        ("mTLS", theme.tls_ok)
    } else {
        ("no identity", theme.tls_plain)
    };
    // The identity of the other end, as live edges show it.
    let peer_id = match edge.direction {
        Direction::Inbound => edge.client_id.as_deref(),
        Direction::Outbound | Direction::Unknown => edge.server_id.as_deref(),
    };
    let mut spans = vec![
        Span::styled(arrow, theme.dim),
        Span::styled(peer_label(&edge.local, &edge.peer), theme.text),
        Span::raw("  "),
        Span::styled(tls, tls_style),
        Span::styled("  (metrics only)", theme.dim),
    ];
    if let Some(id) = peer_id {
        spans.push(Span::styled(format!("  {}", short_identity(id)), theme.dim));
    }
    let leaf = |id: &str, label: &str, value: String| {
        TreeItem::new_leaf(
            id.to_owned(),
            Line::from(vec![
                Span::styled(format!("{label:<8}"), theme.label_key),
                Span::styled(value, theme.text),
            ]),
        )
    };
    let none = || "none".to_owned();
    let mut children = vec![
        leaf(
            "client",
            "client",
            edge.client_id.clone().unwrap_or_else(none),
        ),
        leaf(
            "server",
            "server",
            edge.server_id.clone().unwrap_or_else(none),
        ),
    ];
    if let Some(why) = &edge.no_identity_msg {
        children.push(leaf("why", "why", why.clone()));
    }
    children.push(leaf(
        "source",
        "source",
        "the metrics API's Edges; not seen in the live sample yet".to_owned(),
    ));
    let id = edge_id(edge);
    TreeItem::new(id.clone(), Line::from(spans), children)
        .unwrap_or_else(|_| TreeItem::new_leaf(id, "?"))
}
