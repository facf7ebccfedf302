//! Which columns of the routes pane fit a width: live ones drop from the right; the metrics API's
//! go beside the live P99 when there is room, else into a footer line. The app sizes its scroll
//! window with the same numbers the pane is drawn with.

use ratatui::layout::Rect;

use super::SortColumn;

/// Narrowest the Route column gets before columns are dropped from the right.
pub const MIN_NAME_WIDTH: u16 = 30;

/// A column of the pane: a live, sortable one or a metrics API one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Column {
    Live(SortColumn),
    Prom(PromColumn),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PromColumn {
    Success,
    Rps,
    P99,
}

impl PromColumn {
    const ALL: [PromColumn; 3] = [PromColumn::Success, PromColumn::Rps, PromColumn::P99];
    /// Wide enough for the header and `100.0%` / `1.2k` / `999ms`.
    pub const WIDTH: u16 = 8;

    pub fn header(self) -> &'static str {
        match self {
            PromColumn::Success => "Prom SR",
            PromColumn::Rps => "Prom RPS",
            PromColumn::P99 => "Prom P99",
        }
    }
}

/// Live columns that fit in `width`, dropping from the right.
pub fn fitting_columns(width: u16) -> Vec<SortColumn> {
    let mut columns: Vec<SortColumn> = SortColumn::ALL.to_vec();
    while columns.len() > 2 {
        let fixed: u16 = columns.iter().map(|c| c.width() + 1).sum();
        if fixed + MIN_NAME_WIDTH <= width {
            break;
        }
        columns.pop();
    }
    columns
}

/// The columns for `width`, and whether the metrics figures need the footer line instead. The
/// Prometheus columns go right after the live P99 they compare with, and only when every live
/// column up to P99 still fits beside them: a pane that drops live latency to make room would
/// trade the sample for the averages.
pub fn layout(width: u16, with_prom: bool) -> (Vec<Column>, bool) {
    let live = || {
        fitting_columns(width)
            .into_iter()
            .map(Column::Live)
            .collect()
    };
    if !with_prom {
        return (live(), false);
    }
    let extra = (PromColumn::WIDTH + 1) * PromColumn::ALL.len() as u16;
    let narrower = fitting_columns(width.saturating_sub(extra));
    if !narrower.contains(&SortColumn::P99) {
        return (live(), true);
    }
    let mut columns = Vec::new();
    for column in narrower {
        columns.push(Column::Live(column));
        if column == SortColumn::P99 {
            columns.extend(PromColumn::ALL.map(Column::Prom));
        }
    }
    (columns, false)
}

/// Rows of routes a pane drawn in `area` shows: inside the border, less the header row and the
/// metrics footer when `metrics` (figures to show) needs one.
pub fn table_rows(area: Rect, metrics: bool) -> usize {
    let inner = ratatui::widgets::Block::bordered().inner(area);
    let footer = metrics && layout(inner.width, true).1 && inner.height > 2;
    usize::from(inner.height.saturating_sub(1 + u16::from(footer)))
}
