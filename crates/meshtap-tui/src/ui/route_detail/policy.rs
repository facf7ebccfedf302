//! The route detail's first lines for a policy route: which route, rule and backend the row
//! stands for, what the rule configures, and that retries are tapped as requests of their own.

use std::fmt::Write as _;

use ratatui::text::{Line, Span};

use crate::app::theme::Theme;
use crate::model::policy::MatchedRoute;
use crate::model::routes::RouteKey;

/// `HTTPRoute catalogue-split (gateway.networking.k8s.io) on Service sock-shop/catalogue:80 ·
/// rule 1 · backend catalogue, weight 90 of 100`, then the rule's timeout and retry policy.
pub(super) fn lines(key: &RouteKey, matched: &MatchedRoute, theme: &Theme) -> Vec<Line<'static>> {
    let mut what = String::new();
    if let Some(route) = &matched.route {
        let _ = write!(what, "{} {}", route.kind, route.name);
        if !route.group.is_empty() {
            let _ = write!(what, " ({})", route.group);
        }
    }
    if let Some(parent) = &matched.parent {
        let _ = write!(what, " on {} {}/{parent}", parent.kind, parent.namespace);
    }
    if let Some(rule) = key.rule {
        let _ = write!(what, " · rule {rule}");
    }
    if !key.backend.is_empty() {
        let _ = write!(what, " · backend {}", key.backend);
        if let Some(weight) = matched.weight_label() {
            let _ = write!(what, ", weight {weight}");
        }
    }
    let timeout = matched.config.timeout_label();
    let retry = matched.config.retry_label();
    let mut config = vec![
        Span::styled("timeout ", theme.dim),
        Span::styled(none_if_empty(timeout), theme.text),
        Span::styled(" · retry ", theme.dim),
        Span::styled(none_if_empty(retry), theme.text),
    ];
    config.push(Span::styled(
        " · each retry is tapped as a request of its own (tap sits below the retry layer)",
        theme.dim,
    ));
    vec![Line::styled(what, theme.text), Line::from(config)]
}

fn none_if_empty(text: String) -> String {
    if text.is_empty() {
        "none".to_owned()
    } else {
        text
    }
}
