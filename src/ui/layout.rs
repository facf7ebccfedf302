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
