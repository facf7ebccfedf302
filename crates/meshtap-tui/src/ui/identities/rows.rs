//! One line of the identities tree, styled: totals on namespaces and workloads, peer, TLS state,
//! share secured and identity on edges (metrics-only ones marked so nobody mistakes them for
//! sampled traffic), labelled values on detail lines.

use ratatui::style::Style;
use ratatui::text::{Line, Span};

use crate::app::identities::tree::{Row, Tone, Totals};
use crate::app::theme::Theme;
use crate::model::event::Direction;
use crate::model::identities::{Edge, TlsState, short_identity};
use crate::model::metrics::MetricsOnlyEdge;
use crate::ui::routes::format::{count, counted, percent};

pub(super) fn line(row: &Row, theme: &Theme) -> Line<'static> {
    match row {
        Row::Namespace {
            label,
            workloads,
            totals,
        } => {
            let mut spans = vec![Span::styled(label.clone(), theme.header)];
            spans.push(Span::styled(
                format!("  {}", counted(*workloads, "workload", "workloads")),
                theme.dim,
            ));
            spans.extend(totals_spans(totals, theme));
            Line::from(spans)
        }
        Row::Workload { name, totals } => {
            let mut spans = vec![Span::styled(name.clone(), theme.text)];
            spans.extend(totals_spans(totals, theme));
            Line::from(spans)
        }
        Row::Edge {
            edge,
            peer,
            concerns,
            denied,
        } => edge_line(edge, peer, *concerns, *denied, theme),
        Row::MetricsEdge { edge, peer } => metrics_edge_line(edge, peer, theme),
        Row::Tls { state, requests } => {
            let value = format!("{} · {} req", state.describe(), count(*requests));
            labelled("TLS", value, tls_style(*state, theme), theme)
        }
        Row::Detail { label, value, tone } => {
            let style = match tone {
                Tone::Text => theme.text,
                Tone::Warning => theme.warning,
            };
            labelled(label, value.clone(), style, theme)
        }
    }
}

fn labelled(label: &str, value: String, style: Style, theme: &Theme) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("{label:<8}"), theme.label_key),
        Span::styled(value, style),
    ])
}

fn totals_spans(totals: &Totals, theme: &Theme) -> Vec<Span<'static>> {
    // Only edges from the metrics API: no sampled requests to give a share of.
    if totals.requests == 0 {
        return vec![Span::styled("  (metrics only)", theme.dim)];
    }
    let share = totals.mtls as f64 / totals.requests as f64;
    let mut spans = vec![
        Span::styled(format!("  {} req · ", count(totals.requests)), theme.dim),
        Span::styled(
            format!("{} mTLS", percent(share)),
            if share >= 1.0 {
                theme.tls_ok
            } else {
                theme.warning
            },
        ),
    ];
    if totals.concerns > 0 {
        spans.push(Span::styled(
            format!("  ⚠ {}", totals.concerns),
            theme.warning,
        ));
    }
    spans
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

fn arrow(direction: Direction) -> &'static str {
    if direction == Direction::Inbound {
        "← from "
    } else {
        "→ to "
    }
}

/// The mark of an edge whose server's proxy counted refusals of this client (the help's marks
/// say so).
pub const DENIED_MARK: &str = "⊘ denied by its proxy";

fn edge_line(
    edge: &Edge,
    peer: &str,
    concerns: usize,
    denied: bool,
    theme: &Theme,
) -> Line<'static> {
    let tls = edge.dominant_tls();
    let mut spans = vec![
        Span::styled(arrow(edge.key.direction), theme.dim),
        Span::styled(
            peer.to_owned(),
            if concerns == 0 {
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
    if concerns > 0 {
        spans.push(Span::styled(format!("  ⚠ {concerns}"), theme.warning));
    }
    if denied {
        spans.push(Span::styled(format!("  {DENIED_MARK}"), theme.warning));
    }
    if let Some(id) = &edge.identity {
        spans.push(Span::styled(format!("  {}", short_identity(id)), theme.dim));
    }
    Line::from(spans)
}

fn metrics_edge_line(edge: &MetricsOnlyEdge, peer: &str, theme: &Theme) -> Line<'static> {
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
        Span::styled(arrow(edge.direction), theme.dim),
        Span::styled(peer.to_owned(), theme.text),
        Span::raw("  "),
        Span::styled(tls, tls_style),
        Span::styled("  (metrics only)", theme.dim),
    ];
    if let Some(id) = peer_id {
        spans.push(Span::styled(format!("  {}", short_identity(id)), theme.dim));
    }
    Line::from(spans)
}
