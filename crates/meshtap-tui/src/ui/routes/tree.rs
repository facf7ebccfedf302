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
/// only the branch. Cut with `…` so a cut name never passes for another; the rule number is
/// the last thing cut (the route's name goes first), since it is what tells a head row from the
/// rows beneath it.
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
    let (rule, backend) = key.branch_parts();
    let (rule_w, peer_w, route_w) = (width_of(&rule), width_of(&key.peer), width_of(&key.route));
    // The rule is never cut; the backend gives way to the route's first letters, down to ` → …`
    // (it is said in full on the rows beneath, and in the detail).
    let backend_room = width.saturating_sub(rule_w + peer_w + 1 + route_w.min(16));
    let backend = if width_of(&backend) > backend_room {
        truncate(&backend, backend_room.max(4))
    } else {
        backend
    };
    let tail = format!("{rule}{backend}");
    let room = width.saturating_sub(width_of(&tail));
    if key.route.is_empty() {
        return Line::styled(format!("{}{tail}", truncate(&key.peer, room)), theme.text);
    }
    // The parent gives way to the route's first letters.
    let route_start = route_w.min(8) + 1;
    let peer = truncate(&key.peer, room.saturating_sub(route_start).max(1));
    let rest = room.saturating_sub(width_of(&peer) + 1);
    Line::from(vec![
        Span::styled(peer, theme.dim),
        Span::raw(" "),
        Span::styled(format!("{}{tail}", truncate(&key.route, rest)), theme.text),
    ])
}

fn width_of(text: &str) -> usize {
    text.chars().count()
}

pub fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}
