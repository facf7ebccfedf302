//! What several clusters add to the screen: the requests pane's cluster column and the status
//! bar's one compact word per cluster (its streams summed up), drawn from the session's clusters.

use ratatui::text::Span;
use ratatui::widgets::Cell;

use crate::app::AppState;
use crate::model::request::Request;
use crate::session::StreamState;

/// The cluster column is as wide as the longest name, within these bounds.
pub const CLUSTER_COLUMN_MIN_WIDTH: u16 = 7;
pub const CLUSTER_COLUMN_MAX_WIDTH: u16 = 12;

/// The cluster column's width, when the session shows more than one cluster.
pub fn column_width(state: &AppState) -> Option<u16> {
    if !state.clusters.several() {
        return None;
    }
    let widest = state
        .clusters
        .names()
        .iter()
        .map(|n| n.chars().count())
        .max()
        .unwrap_or(0);
    Some(
        u16::try_from(widest)
            .unwrap_or(u16::MAX)
            .clamp(CLUSTER_COLUMN_MIN_WIDTH, CLUSTER_COLUMN_MAX_WIDTH),
    )
}

pub fn cell(request: &Request) -> Cell<'static> {
    Cell::from(
        request
            .cluster
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
    )
}

/// One summary per cluster of the streams it runs (`east ok`, `west down`, `south 1/2 ok`),
/// when the session opened several; `None` otherwise. A cluster whose streams are all down is
/// one red word, however many targets it taps.
pub fn status_spans(state: &AppState) -> Option<Vec<Span<'static>>> {
    let clusters = &state.info.clusters;
    if clusters.len() < 2 {
        return None;
    }
    let theme = &state.theme;
    let per_cluster = (state.info.targets.len() / clusters.len()).max(1);
    let mut spans = Vec::with_capacity(clusters.len() * 2);
    for (index, name) in clusters.iter().enumerate() {
        let streams: Vec<&StreamState> = state
            .streams
            .iter()
            .skip(index * per_cluster)
            .take(per_cluster)
            .collect();
        let gaps: u32 = state
            .gaps
            .iter()
            .skip(index * per_cluster)
            .take(per_cluster)
            .map(|g| g.count)
            .sum();
        let up = streams
            .iter()
            .filter(|s| matches!(s, StreamState::Connected))
            .count();
        let connecting = streams
            .iter()
            .filter(|s| matches!(s, StreamState::Connecting))
            .count();
        let (text, style) = if up == streams.len() && gaps == 0 {
            (format!("{name} ok"), theme.connected)
        } else if up == streams.len() {
            let plural = if gaps == 1 { "" } else { "s" };
            (format!("{name} ok, {gaps} gap{plural}"), theme.warning)
        } else if connecting == streams.len() {
            (format!("{name} connecting…"), theme.inflight)
        } else if up == 0 && connecting == 0 {
            (format!("{name} down"), theme.error)
        } else {
            (format!("{name} {up}/{} ok", streams.len()), theme.warning)
        };
        if index > 0 {
            spans.push(Span::raw(", "));
        }
        spans.push(Span::styled(text, style));
    }
    Some(spans)
}
