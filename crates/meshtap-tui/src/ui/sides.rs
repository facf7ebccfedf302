//! How the panes say which side of each meshed call they count (`D`, `crate::app::sides`) and
//! mark a request whose call the other proxy reported too.

use crate::app::AppState;
use crate::model::request::Request;

/// The mark of a request whose other side is held paired with it (the legend is in the
/// requests pane's title).
pub const BOTH_SIDES_MARK: &str = "⇄";

/// The requests pane's `dir` cell: the direction, then the mark when the call was seen by both
/// proxies.
pub fn dir_cell(request: &Request, paired: bool) -> String {
    format!(
        "{:<3}{}",
        request.direction().short(),
        if paired { BOTH_SIDES_MARK } else { "" }
    )
}

/// Whether `request`'s other side is known: paired by the store (O(1)), or, in a session of
/// several clusters, a crossing request whose other half the bounded multicluster search finds
/// (only drawn rows are asked, and only crossing ones search).
pub fn paired(state: &AppState, request: &Request) -> bool {
    crate::app::sides::other_side(&state.store, &state.clusters, request).is_some()
}

/// The requests pane's title after the counts: the side view and the mark's legend.
pub fn requests_title_tail(state: &AppState) -> String {
    format!(
        "· {} · {BOTH_SIDES_MARK} seen by both proxies ",
        state.side.label()
    )
}
