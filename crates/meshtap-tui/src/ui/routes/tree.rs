//! The Route column as a tree: a route's first row names the parent and the route, the rows
//! beneath it only their rule and backend, so `catalogue:80 HTTPRoute catalogue-split` is read
//! once and its rules line up under it.

use ratatui::text::{Line, Span};

use crate::app::theme::Theme;
use crate::model::routes::RouteKey;

/// Where a row sits in its route's group, from its neighbours in display order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// The first row of its route on screen: shown in full.
    Head,
    /// Beneath the head, with more rows of the route after it.
    Middle,
    /// The route's last row.
    Last,
}

impl Place {
    /// `key`'s place, given the rows before and after it on screen (`None` off screen).
    pub fn of(previous: Option<&RouteKey>, key: &RouteKey, next: Option<&RouteKey>) -> Self {
        if !previous.is_some_and(|p| p.same_route(key)) {
            Place::Head
        } else if next.is_some_and(|n| n.same_route(key)) {
            Place::Middle
        } else {
            Place::Last
        }
    }
}

/// The workload or parent dimmed, then the route, then the rule and backend; beneath a head
/// only the branch. Cut with `…` so a cut name never passes for another.
pub fn name(key: &RouteKey, place: Place, width: usize, theme: &Theme) -> Line<'static> {
    let branch = key.branch();
    if place != Place::Head && !branch.is_empty() {
        let glyph = if place == Place::Middle {
            "  ├"
        } else {
            "  └"
        };
        return Line::from(vec![
            Span::styled(glyph, theme.dim),
            Span::styled(truncate(&branch, width.saturating_sub(3)), theme.text),
        ]);
    }
    if key.route.is_empty() {
        return Line::styled(
            truncate(&format!("{}{branch}", key.peer), width),
            theme.text,
        );
    }
    let peer = truncate(&key.peer, width);
    let rest = width.saturating_sub(peer.chars().count() + 1);
    Line::from(vec![
        Span::styled(peer, theme.dim),
        Span::raw(" "),
        Span::styled(
            truncate(&format!("{}{branch}", key.route), rest),
            theme.text,
        ),
    ])
}

pub fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}
