//! The sortable columns of the routes pane and how each orders rows.

use crate::model::routes::RouteRow;

/// A sortable column; `Spark` sorts like `Rps`, `ErrorSpark` by the window's error rate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SortColumn {
    Name,
    Direction,
    #[default]
    Requests,
    Rps,
    Success,
    P50,
    P95,
    P99,
    Max,
    Bytes,
    Spark,
    /// The error-rate sparkline, beside the RPS one and dropped before it.
    ErrorSpark,
}

impl SortColumn {
    pub const ALL: [SortColumn; 12] = [
        SortColumn::Name,
        SortColumn::Direction,
        SortColumn::Requests,
        SortColumn::Rps,
        SortColumn::Success,
        SortColumn::P50,
        SortColumn::P95,
        SortColumn::P99,
        SortColumn::Max,
        SortColumn::Bytes,
        SortColumn::Spark,
        SortColumn::ErrorSpark,
    ];

    pub fn header(self) -> &'static str {
        match self {
            SortColumn::Name => "Route",
            SortColumn::Direction => "Dir",
            SortColumn::Requests => "Reqs",
            SortColumn::Rps => "RPS",
            SortColumn::Success => "Success",
            SortColumn::P50 => "P50",
            SortColumn::P95 => "P95",
            SortColumn::P99 => "P99",
            SortColumn::Max => "Max",
            SortColumn::Bytes => "Bytes",
            SortColumn::Spark => "RPS last 20 s",
            SortColumn::ErrorSpark => "Error % last 20 s",
        }
    }

    /// Fixed width; `Name` takes what is left.
    pub fn width(self) -> u16 {
        match self {
            SortColumn::Name => 0,
            SortColumn::Direction => 3,
            SortColumn::Success => 7,
            SortColumn::Spark | SortColumn::ErrorSpark => 20,
            _ => 6,
        }
    }

    /// The next column, for a key that cycles the sort.
    pub fn next(self) -> Self {
        let i = Self::ALL.iter().position(|c| *c == self).unwrap_or(0);
        Self::ALL[(i + 1) % Self::ALL.len()]
    }

    /// Numbers read best largest-first; names and directions A–Z.
    pub(super) fn default_descending(self) -> bool {
        !matches!(self, SortColumn::Name | SortColumn::Direction)
    }

    pub fn compare(self, a: &RouteRow, b: &RouteRow) -> std::cmp::Ordering {
        let (x, y) = (&a.summary, &b.summary);
        let by_f64 = |p: f64, q: f64| p.total_cmp(&q);
        match self {
            SortColumn::Name => a
                .key
                .peer
                .cmp(&b.key.peer)
                .then_with(|| a.key.route.cmp(&b.key.route)),
            SortColumn::Direction => a.key.direction.cmp(&b.key.direction),
            SortColumn::Requests => x.requests.cmp(&y.requests),
            SortColumn::Rps | SortColumn::Spark => by_f64(x.rps, y.rps),
            SortColumn::Success => by_f64(
                x.success_rate.unwrap_or(-1.0),
                y.success_rate.unwrap_or(-1.0),
            ),
            SortColumn::P50 => x.p50_us.cmp(&y.p50_us),
            SortColumn::P95 => x.p95_us.cmp(&y.p95_us),
            SortColumn::P99 => x.p99_us.cmp(&y.p99_us),
            SortColumn::Max => x.max_us.cmp(&y.max_us),
            SortColumn::Bytes => x.bytes.cmp(&y.bytes),
            // Most failing first when descending; rows with no known outcome last.
            SortColumn::ErrorSpark => by_f64(
                x.success_rate.map_or(-1.0, |s| 1.0 - s),
                y.success_rate.map_or(-1.0, |s| 1.0 - s),
            ),
        }
    }
}

/// Puts the rows of one route together, each route where its first row sorted and its rows in
/// rule then backend order beneath it, so a route's rules (and backends) read as a tree whatever
/// the sort.
pub fn gather_routes(rows: &mut Vec<RouteRow>) {
    use std::collections::HashMap;
    // The route part of a key: everything but the rule and the backend.
    let route_of = |row: &RouteRow| {
        let k = &row.key;
        (
            k.direction,
            k.namespace.clone(),
            k.peer.clone(),
            k.route.clone(),
        )
    };
    let mut group_of = HashMap::new();
    let mut groups: Vec<Vec<RouteRow>> = Vec::new();
    for row in rows.drain(..) {
        let index = *group_of.entry(route_of(&row)).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[index].push(row);
    }
    for group in &mut groups {
        // Only the rule and the backend differ within a group.
        group.sort_by(|a, b| a.key.cmp(&b.key));
    }
    rows.extend(groups.into_iter().flatten());
}
