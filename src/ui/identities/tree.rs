//! Builds the identities tree: namespace → workload → edge → details, with totals and concerns.

use std::collections::BTreeMap;

use ratatui::style::Style;
use ratatui::text::{Line, Span};
use tui_tree_widget::TreeItem;

use super::{IdentitySort, metrics_only};
use crate::model::event::Direction;
use crate::model::identities::{
    Concern, Edge, IdentityTable, TlsState, WorkloadId, short_identity,
};
use crate::model::metrics::MetricsOnlyEdge;
use crate::ui::routes::format::{count, counted, percent};
use crate::ui::theme::Theme;

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
        // Only edges from the metrics API: no sampled requests to give a share of.
        if self.requests == 0 {
            return vec![Span::styled("  (metrics only)", theme.dim)];
        }
        let share = if self.requests == 0 {
            0.0
        } else {
            self.mtls as f64 / self.requests as f64
        };
        let mut spans = vec![
            Span::styled(format!("  {} req · ", count(self.requests)), theme.dim),
            Span::styled(
                format!("{} mTLS", percent(share)),
                if share >= 1.0 {
                    theme.tls_ok
                } else {
                    theme.warning
                },
            ),
        ];
        if self.concerns > 0 {
            spans.push(Span::styled(
                format!("  ⚠ {}", self.concerns),
                theme.warning,
            ));
        }
        spans
    }
}

type Grouped<'t> = BTreeMap<&'t str, BTreeMap<&'t str, Vec<(&'t Edge, Vec<Concern>)>>>;

/// The tree; `metrics_only` (sorted) adds edges only the metrics API knows, after each
/// workload's live edges, creating workloads and namespaces the sample has not seen.
pub(super) fn build_items<'t>(
    table: &'t IdentityTable,
    metrics_only: &'t [MetricsOnlyEdge],
    sort: IdentitySort,
    theme: &Theme,
) -> Vec<TreeItem<'static, String>> {
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
    let mut extra: BTreeMap<(&str, &str), Vec<&MetricsOnlyEdge>> = BTreeMap::new();
    for edge in metrics_only {
        let (namespace, name) = (edge.local.namespace.as_ref(), edge.local.name.as_ref());
        grouped
            .entry(namespace)
            .or_default()
            .entry(name)
            .or_default();
        extra.entry((namespace, name)).or_default().push(edge);
    }
    let mut namespaces = Vec::new();
    for (namespace, workloads) in grouped {
        let mut ns_totals = Totals {
            requests: 0,
            mtls: 0,
            concerns: 0,
        };
        let mut children = Vec::new();
        for (workload, mut edges) in workloads {
            let mut totals = Totals {
                requests: 0,
                mtls: 0,
                concerns: 0,
            };
            sort_edges(&mut edges, sort);
            let mut edge_items = Vec::new();
            for (edge, concerns) in &edges {
                totals.add(edge, usize::from(!concerns.is_empty()));
                edge_items.push(edge_item(edge, concerns, table, theme));
            }
            let only = extra
                .get(&(namespace, workload))
                .map_or(&[][..], Vec::as_slice);
            edge_items.extend(only.iter().map(|e| metrics_only::item(e, theme)));
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
        let label = if namespace.is_empty() {
            "(no namespace)"
        } else {
            namespace
        };
        let mut spans = vec![Span::styled(label.to_owned(), theme.header)];
        spans.push(Span::styled(
            format!("  {}", counted(children.len(), "workload", "workloads")),
            theme.dim,
        ));
        spans.extend(ns_totals.spans(theme));
        let key = (ns_totals.concerns, ns_totals.requests);
        let children = children.into_iter().map(|(_, item)| item).collect();
        if let Ok(item) = TreeItem::new(namespace_id(namespace), Line::from(spans), children) {
            namespaces.push((key, item));
        }
    }
    sort_keyed(&mut namespaces, sort);
    namespaces.into_iter().map(|(_, item)| item).collect()
}

/// The tree identifier of a namespace node (prefixed so it never equals a workload's).
pub(super) fn namespace_id(namespace: &str) -> String {
    format!("ns:{namespace}")
}

/// The tree identifier of an edge node, unique among its workload's edges.
pub(super) fn edge_id(edge: &Edge) -> String {
    format!(
        "{}|{}/{}",
        edge.key.direction.short(),
        edge.key.peer.namespace,
        edge.key.peer.name
    )
}

fn sort_edges(edges: &mut [(&Edge, Vec<Concern>)], sort: IdentitySort) {
    match sort {
        IdentitySort::Name => edges.sort_by(|a, b| {
            (&a.0.key.peer, a.0.key.direction).cmp(&(&b.0.key.peer, b.0.key.direction))
        }),
        IdentitySort::Requests => edges.sort_by(|a, b| {
            b.0.requests
                .cmp(&a.0.requests)
                .then_with(|| a.0.key.cmp(&b.0.key))
        }),
        IdentitySort::Concerns => edges.sort_by(|a, b| {
            (b.1.len(), b.0.requests)
                .cmp(&(a.1.len(), a.0.requests))
                .then_with(|| a.0.key.cmp(&b.0.key))
        }),
    }
}

/// Sorts items keyed by (concerns, requests); by name the input order (a `BTreeMap`'s) stays.
fn sort_keyed<T>(items: &mut [((usize, u64), T)], sort: IdentitySort) {
    match sort {
        IdentitySort::Name => {}
        IdentitySort::Requests => items.sort_by_key(|item| std::cmp::Reverse(item.0.1)),
        IdentitySort::Concerns => items.sort_by_key(|item| std::cmp::Reverse(item.0)),
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

fn edge_item(
    edge: &Edge,
    concerns: &[Concern],
    table: &IdentityTable,
    theme: &Theme,
) -> TreeItem<'static, String> {
    let arrow = if edge.key.direction == Direction::Inbound {
        "← from "
    } else {
        "→ to "
    };
    let tls = edge.dominant_tls();
    let mut spans = vec![
        Span::styled(arrow, theme.dim),
        Span::styled(
            peer_label(edge),
            if concerns.is_empty() {
                theme.text
            } else {
                theme.warning
            },
        ),
        Span::raw("  "),
        Span::styled(tls.short(), tls_style(tls, theme)),
        Span::styled(
            format!(" {} secured", percent(edge.secured_share())),
            theme.dim,
        ),
        Span::styled(format!("  {} req", count(edge.requests)), theme.text),
    ];
    if !concerns.is_empty() {
        spans.push(Span::styled(
            format!("  ⚠ {}", concerns.len()),
            theme.warning,
        ));
    }
    if let Some(id) = &edge.identity {
        spans.push(Span::styled(format!("  {}", short_identity(id)), theme.dim));
    }
    let mut children = Vec::new();
    let observed = edge
        .identity
        .as_ref()
        .map_or_else(|| "none".to_owned(), ToString::to_string);
    let local = table
        .expected_identity(edge, true)
        .map_or_else(|| "unknown".to_owned(), |id| format!("{id} (this proxy)"));
    let (client, server) = if edge.key.direction == Direction::Inbound {
        (observed, local)
    } else {
        (local, observed)
    };
    let leaf = |id: &str, label: &str, value: String, style: Style| {
        TreeItem::new_leaf(
            id.to_owned(),
            Line::from(vec![
                Span::styled(format!("{label:<8}"), theme.label_key),
                Span::styled(value, style),
            ]),
        )
    };
    children.push(leaf("client", "client", client, theme.text));
    children.push(leaf("server", "server", server, theme.text));
    for state in TlsState::ALL {
        let n = edge.tls[state.index()];
        if n > 0 {
            let value = format!("{} · {} req", state.describe(), count(n));
            children.push(leaf(
                &format!("tls:{}", state.index()),
                "TLS",
                value,
                tls_style(state, theme),
            ));
        }
    }
    if let Some((kind, name)) = &edge.authz {
        children.push(leaf("authz", "authz", format!("{kind}/{name}"), theme.text));
    }
    for (i, concern) in concerns.iter().enumerate() {
        children.push(leaf(
            &format!("concern:{i}"),
            "⚠",
            concern.describe(edge),
            theme.warning,
        ));
    }
    let id = edge_id(edge);
    TreeItem::new(id.clone(), Line::from(spans), children)
        .unwrap_or_else(|_| TreeItem::new_leaf(id, "?"))
}
