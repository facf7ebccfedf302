//! Which columns of the routes pane fit a width: live ones drop from the right (the error-rate
//! sparkline first, P95 before P99 and P50, and a route's rule number outranks them: with rules
//! on screen the Route column keeps room for it); the metrics API's
//! go beside the live P99 when there is room, else into a footer line; split by backend, the
//! configured weight and observed share follow the direction and stay; the rules' Timeout and
//! Retry come last and are the first to go. The app sizes its scroll window with the same numbers
//! the pane is drawn with.

use ratatui::layout::Rect;

use super::SortColumn;
use crate::model::routes::{RouteRow, RouteTable};

/// Narrowest the Route column gets before columns are dropped from the right.
pub const MIN_NAME_WIDTH: u16 = 30;
/// What the Route column needs on top when rows name rules: a route's first row ends with
/// ` rule N`, which must not be cut for a percentile (the width of one latency column).
const RULE_NAME_WIDTH: u16 = 7;

/// Live columns in the order they give up their place: from the right, except that P95 goes
/// before P99 (the middle percentile says least of the three).
const DROP_ORDER: [SortColumn; 10] = [
    SortColumn::ErrorSpark,
    SortColumn::Spark,
    SortColumn::Bytes,
    SortColumn::Max,
    SortColumn::P95,
    SortColumn::P99,
    SortColumn::P50,
    SortColumn::Success,
    SortColumn::Rps,
    SortColumn::Requests,
];

/// A column of the pane: a live, sortable one or a metrics API one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Column {
    Live(SortColumn),
    Prom(PromColumn),
    Config(ConfigColumn),
}

/// What a rule configures and how its traffic split: not sortable, shown only when some row has
/// something to say in them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigColumn {
    /// The backend's configured weight.
    Weight,
    /// The backend's observed share of its rule's requests.
    Share,
    Timeout,
    Retry,
}

impl ConfigColumn {
    pub fn header(self) -> &'static str {
        match self {
            ConfigColumn::Weight => "Weight",
            ConfigColumn::Share => "Share",
            ConfigColumn::Timeout => "Timeout",
            ConfigColumn::Retry => "Retry",
        }
    }

    /// Wide enough for `request 2s` and `2× on unavailable`; longer labels are cut with `…`.
    pub fn width(self) -> u16 {
        match self {
            ConfigColumn::Weight | ConfigColumn::Share => 6,
            ConfigColumn::Timeout => 14,
            ConfigColumn::Retry => 18,
        }
    }
}

/// The optional columns the rows call for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Extras {
    /// Rows split by backend: Weight and Share.
    pub backends: bool,
    /// Some row's rule sets a timeout or a retry policy: Timeout and Retry.
    pub config: bool,
    /// Some row names a rule: the Route column keeps room for it.
    pub rules: bool,
}

impl Extras {
    pub fn of(table: &RouteTable, rows: &[RouteRow]) -> Self {
        Self {
            backends: table.backends(),
            config: rows.iter().any(|r| {
                r.matched
                    .as_ref()
                    .is_some_and(|m| !m.config.timeouts.is_empty() || m.config.retry.is_some())
            }),
            rules: rows.iter().any(|r| r.key.rule.is_some()),
        }
    }
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

/// Live columns that fit in `width` beside a Route column of at least [`MIN_NAME_WIDTH`], in
/// [`DROP_ORDER`]; Route and Dir always stay. With `rules` on screen the Route column also gets
/// room for ` rule N` when that costs at most P95 (never P50 or P99: the name is cut instead,
/// the rule still shown).
pub fn fitting_columns(width: u16, rules: bool) -> Vec<SortColumn> {
    let mut columns: Vec<SortColumn> = SortColumn::ALL.to_vec();
    drop_until_fit(&mut columns, width, MIN_NAME_WIDTH, &DROP_ORDER);
    if rules {
        let upto = DROP_ORDER
            .iter()
            .position(|c| *c == SortColumn::P95)
            .map_or(0, |i| i + 1);
        drop_until_fit(
            &mut columns,
            width,
            MIN_NAME_WIDTH + RULE_NAME_WIDTH,
            &DROP_ORDER[..upto],
        );
    }
    columns
}

/// Drops `columns` in `order` until they fit in `width` beside a Route column of `name_width`.
fn drop_until_fit(
    columns: &mut Vec<SortColumn>,
    width: u16,
    name_width: u16,
    order: &[SortColumn],
) {
    for drop in order {
        let fixed: u16 = columns.iter().map(|c| c.width() + 1).sum();
        if fixed + name_width <= width {
            break;
        }
        columns.retain(|c| c != drop);
    }
}

/// The columns for `width`, and whether the metrics figures need the footer line instead. The
/// Prometheus columns go right after the live P99 they compare with, and only when every live
/// column up to P99 still fits beside them: a pane that drops live latency to make room would
/// trade the sample for the averages.
pub fn layout(width: u16, with_prom: bool, extras: Extras) -> (Vec<Column>, bool) {
    let split = [ConfigColumn::Weight, ConfigColumn::Share];
    let kept: u16 = if extras.backends {
        split.iter().map(|c| c.width() + 1).sum()
    } else {
        0
    };
    let (mut columns, footer) = live_and_prom(width.saturating_sub(kept), with_prom, extras.rules);
    if extras.backends {
        let at = columns
            .iter()
            .position(|c| *c == Column::Live(SortColumn::Direction))
            .map_or(columns.len(), |i| i + 1);
        columns.splice(at..at, split.map(Column::Config));
    }
    if extras.config && columns.contains(&Column::Live(SortColumn::Spark)) {
        let mut used: u16 =
            columns.iter().map(|c| column_width(*c) + 1).sum::<u16>() + MIN_NAME_WIDTH;
        for column in [ConfigColumn::Timeout, ConfigColumn::Retry] {
            if used + column.width() < width {
                used += column.width() + 1;
                columns.push(Column::Config(column));
            }
        }
    }
    (columns, footer)
}

/// A column's fixed width (`Name` takes what is left).
pub fn column_width(column: Column) -> u16 {
    match column {
        Column::Live(c) => c.width(),
        Column::Prom(_) => PromColumn::WIDTH,
        Column::Config(c) => c.width(),
    }
}

/// The live and metrics columns for `width`, and whether the metrics need the footer.
fn live_and_prom(width: u16, with_prom: bool, rules: bool) -> (Vec<Column>, bool) {
    let live = || {
        fitting_columns(width, rules)
            .into_iter()
            .map(Column::Live)
            .collect()
    };
    if !with_prom {
        return (live(), false);
    }
    let extra = (PromColumn::WIDTH + 1) * PromColumn::ALL.len() as u16;
    let narrower = fitting_columns(width.saturating_sub(extra), rules);
    if ![SortColumn::P95, SortColumn::P99]
        .iter()
        .all(|c| narrower.contains(c))
    {
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
pub fn table_rows(area: Rect, metrics: bool, extras: Extras) -> usize {
    let inner = ratatui::widgets::Block::bordered().inner(area);
    let footer = metrics && layout(inner.width, true, extras).1 && inner.height > 2;
    usize::from(inner.height.saturating_sub(1 + u16::from(footer)))
}
