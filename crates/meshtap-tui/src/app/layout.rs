//! Where everything goes, as a pure function of the terminal size and what is open. The reducer
//! uses the same numbers to keep the selection on screen.

use ratatui::layout::{Constraint, Layout, Rect};

/// Below this the UI shows "terminal too small" instead of a broken layout.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 12;
/// From this width the detail opens beside the list instead of over it.
pub const SPLIT_DETAIL_MIN_WIDTH: u16 = 140;
/// Rows of the status bar at the bottom.
const STATUS_ROWS: u16 = 2;

/// The areas of one frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Areas {
    pub tabs: Rect,
    /// The list (or the placeholder pane), including its border.
    pub list: Option<Rect>,
    /// The detail, including its border.
    pub detail: Option<Rect>,
    pub status: Rect,
}

pub fn too_small(width: u16, height: u16) -> bool {
    width < MIN_WIDTH || height < MIN_HEIGHT
}

/// Lays out a frame of `area`; `detail` says whether the request detail is open.
pub fn areas(area: Rect, detail: bool) -> Areas {
    let [tabs, body, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(STATUS_ROWS),
    ])
    .areas(area);
    let (list, detail) = if !detail {
        (Some(body), None)
    } else if area.width >= SPLIT_DETAIL_MIN_WIDTH {
        let [list, detail] =
            Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)])
                .areas(body);
        (Some(list), Some(detail))
    } else {
        (None, Some(body))
    };
    Areas {
        tabs,
        list,
        detail,
        status,
    }
}

/// Request rows that fit in the list: its height less borders and the header row.
pub fn list_rows(width: u16, height: u16, detail: bool) -> usize {
    areas(Rect::new(0, 0, width, height), detail)
        .list
        .map_or(1, |r| usize::from(r.height.saturating_sub(3)).max(1))
}

/// Tree lines that fit in the detail: its height less borders.
pub fn detail_rows(width: u16, height: u16) -> usize {
    areas(Rect::new(0, 0, width, height), true)
        .detail
        .map_or(1, |r| usize::from(r.height.saturating_sub(2)).max(1))
}

/// A centred rectangle of the given share of `area`, for overlays.
pub fn centered(area: Rect, width_percent: u16, height_percent: u16) -> Rect {
    let [_, v, _] = Layout::vertical([
        Constraint::Percentage((100 - height_percent) / 2),
        Constraint::Percentage(height_percent),
        Constraint::Percentage((100 - height_percent) / 2),
    ])
    .areas(area);
    let [_, h, _] = Layout::horizontal([
        Constraint::Percentage((100 - width_percent) / 2),
        Constraint::Percentage(width_percent),
        Constraint::Percentage((100 - width_percent) / 2),
    ])
    .areas(v);
    h
}

/// Map: from this inner width the panel sits beside the graph; below, under it.
pub const PANEL_BESIDE_MIN_WIDTH: usize = 110;
/// Columns of the panel beside the graph.
const PANEL_COLUMNS: usize = 46;
/// Rows of the panel under the graph.
const PANEL_ROWS: usize = 6;

/// The graph's room in cells at a terminal size (the legend's row excluded): the app folds
/// namespaces until the layout fits it.
pub fn map_graph_size(width: u16, height: u16) -> (usize, usize) {
    let (graph, _, _) = map_split(map_body(width, height));
    (usize::from(graph.width), usize::from(graph.height))
}

fn map_body(width: u16, height: u16) -> Rect {
    let area = Rect::new(0, 0, width, height);
    let body = areas(area, false).list.unwrap_or(area);
    ratatui::widgets::Block::bordered().inner(body)
}

/// The map's graph, legend and panel areas inside the pane's border.
pub fn map_split(inner: Rect) -> (Rect, Rect, Rect) {
    let (left, panel) = if usize::from(inner.width) >= PANEL_BESIDE_MIN_WIDTH {
        let [left, panel] =
            Layout::horizontal([Constraint::Min(1), Constraint::Length(PANEL_COLUMNS as u16)])
                .areas(inner);
        (left, panel)
    } else {
        let [left, panel] =
            Layout::vertical([Constraint::Min(1), Constraint::Length(PANEL_ROWS as u16)])
                .areas(inner);
        (left, panel)
    };
    let [graph, legend] = Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(left);
    (graph, legend, panel)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_follow_size() {
        assert_eq!(list_rows(80, 24, false), 24 - 1 - 2 - 3);
        assert_eq!(list_rows(80, 24, true), 1);
        assert!(list_rows(160, 48, true) > 30);
        assert_eq!(detail_rows(80, 24), 24 - 1 - 2 - 2);
        assert!(too_small(59, 24));
        assert!(!too_small(60, 12));
    }
}
