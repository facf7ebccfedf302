//! Observed backend shares: with rows split by backend, each row's part of its rule's requests
//! in the window — what a user compares with the rule's configured weights.

use std::collections::HashMap;

use super::RouteRow;
use crate::model::event::{Direction, Text};

/// The rule a backend row belongs to (the key without its backend).
type RuleOf = (Direction, Text, Text, Text, Option<u32>);

fn rule_of(row: &RouteRow) -> RuleOf {
    let k = &row.key;
    (
        k.direction,
        k.namespace.clone(),
        k.peer.clone(),
        k.route.clone(),
        k.rule,
    )
}

/// Sets `share` on every row that names a backend and whose rule had requests in the window.
pub(super) fn fill(rows: &mut [RouteRow]) {
    let mut totals: HashMap<RuleOf, u64> = HashMap::new();
    for row in rows.iter().filter(|r| !r.key.backend.is_empty()) {
        *totals.entry(rule_of(row)).or_default() += row.summary.requests;
    }
    for row in rows.iter_mut().filter(|r| !r.key.backend.is_empty()) {
        let total = totals.get(&rule_of(row)).copied().unwrap_or(0);
        row.share = (total > 0).then(|| row.summary.requests as f64 / total as f64);
    }
}
