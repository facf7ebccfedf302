//! What the user can ask for: the `Action` enum the reducer consumes, and the stable kebab-case
//! names the keymap file uses for them.

/// A quick filter built from the selected row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuickField {
    Namespace,
    Deployment,
    Path,
    Status,
    /// Source → destination and direction; in the identities pane, the selected node.
    Edge,
}

/// The top-level panes, in tab order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Pane {
    #[default]
    Requests,
    Routes,
    Identities,
    Map,
}

impl Pane {
    pub const ALL: [Pane; 4] = [Pane::Requests, Pane::Routes, Pane::Identities, Pane::Map];

    pub fn title(self) -> &'static str {
        match self {
            Pane::Requests => "Requests",
            Pane::Routes => "Routes",
            Pane::Identities => "Identities",
            Pane::Map => "Map",
        }
    }

    pub fn index(self) -> usize {
        match self {
            Pane::Requests => 0,
            Pane::Routes => 1,
            Pane::Identities => 2,
            Pane::Map => 3,
        }
    }

    /// The keymap context of the pane, when nothing is open over it.
    pub fn context(self) -> super::keymap::Context {
        use super::keymap::Context;
        match self {
            Pane::Requests => Context::Requests,
            Pane::Routes => Context::Routes,
            Pane::Identities => Context::Identities,
            Pane::Map => Context::Map,
        }
    }
}

/// Everything the reducer can do. Keys, mouse, resize and prompt typing all become actions, so the
/// whole UI can be driven in tests without a terminal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Quit,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    NextPane,
    PrevPane,
    ShowPane(Pane),
    /// Open the detail of the selected request, or toggle the selected tree node.
    Open,
    /// Close the innermost thing open: help, prompt, detail.
    Back,
    Pause,
    Follow,
    FilterPrompt,
    CommandPrompt,
    Help,
    SortNext,
    SortReverse,
    Quick(QuickField),
    ClearFilter,
    /// Count both sides of each meshed call, the client's or the server's (`super::sides`).
    CycleSide,
    /// Select the request that is the other side of the selected one's call.
    OtherSide,
    /// Show or mask sensitive header values in the detail (and the copy popup).
    Reveal,
    /// Copy the request as curl, grpcurl, `HTTPie`, the tap command or NDJSON (a menu).
    Copy,
    /// Explain the request from its labels.
    Explain,
    /// The waterfall of the selected request's trace (`crate::app::trace`).
    Trace,
    Expand,
    Collapse,
    /// Routes pane: the next time window (10 s, 1 min, whole capture).
    CycleWindow,
    /// Routes pane: group by route, destination, or source → destination.
    CycleGrouping,
    /// Routes pane: split rows by the backend that served them (weight vs observed share).
    ToggleBackends,
    /// Map: along an edge to a caller (left) or a callee (right).
    Left,
    Right,
    /// Map: the selected node's next edge.
    NextEdge,
    /// Map: fold the selected node's namespace into one node, or unfold it.
    ToggleNamespace,
    /// Map: workloads (in) or namespaces only (out).
    ZoomIn,
    ZoomOut,
    /// Map: find a node by name.
    FindPrompt,
    // Prompt editing.
    Submit,
    HistoryPrev,
    HistoryNext,
    CursorLeft,
    CursorRight,
    CursorHome,
    CursorEnd,
    DeleteBack,
    DeleteForward,
    ClearLine,
    Input(char),
    // Mouse and terminal.
    ScrollUp(u16),
    ScrollDown(u16),
    Click {
        column: u16,
        row: u16,
    },
    Resize {
        width: u16,
        height: u16,
    },
}

/// Keymap names of the actions a key can be bound to.
const NAMED: &[(&str, Action)] = &[
    ("quit", Action::Quit),
    ("up", Action::Up),
    ("down", Action::Down),
    ("page-up", Action::PageUp),
    ("page-down", Action::PageDown),
    ("top", Action::Top),
    ("bottom", Action::Bottom),
    ("next-pane", Action::NextPane),
    ("prev-pane", Action::PrevPane),
    ("pane-requests", Action::ShowPane(Pane::Requests)),
    ("pane-routes", Action::ShowPane(Pane::Routes)),
    ("pane-identities", Action::ShowPane(Pane::Identities)),
    ("pane-map", Action::ShowPane(Pane::Map)),
    ("open", Action::Open),
    ("back", Action::Back),
    ("pause", Action::Pause),
    ("follow", Action::Follow),
    ("filter", Action::FilterPrompt),
    ("command", Action::CommandPrompt),
    ("help", Action::Help),
    ("sort-next", Action::SortNext),
    ("sort-reverse", Action::SortReverse),
    ("quick-namespace", Action::Quick(QuickField::Namespace)),
    ("quick-deployment", Action::Quick(QuickField::Deployment)),
    ("quick-path", Action::Quick(QuickField::Path)),
    ("quick-status", Action::Quick(QuickField::Status)),
    ("quick-edge", Action::Quick(QuickField::Edge)),
    ("clear-filter", Action::ClearFilter),
    ("sides", Action::CycleSide),
    ("other-side", Action::OtherSide),
    ("reveal", Action::Reveal),
    ("copy", Action::Copy),
    ("explain", Action::Explain),
    ("trace", Action::Trace),
    ("expand", Action::Expand),
    ("collapse", Action::Collapse),
    ("window", Action::CycleWindow),
    ("group", Action::CycleGrouping),
    ("backends", Action::ToggleBackends),
    ("left", Action::Left),
    ("right", Action::Right),
    ("next-edge", Action::NextEdge),
    ("toggle-namespace", Action::ToggleNamespace),
    ("zoom-in", Action::ZoomIn),
    ("zoom-out", Action::ZoomOut),
    ("find", Action::FindPrompt),
    ("submit", Action::Submit),
    ("history-prev", Action::HistoryPrev),
    ("history-next", Action::HistoryNext),
    ("cursor-left", Action::CursorLeft),
    ("cursor-right", Action::CursorRight),
    ("cursor-home", Action::CursorHome),
    ("cursor-end", Action::CursorEnd),
    ("delete-back", Action::DeleteBack),
    ("delete-forward", Action::DeleteForward),
    ("clear-line", Action::ClearLine),
];

impl Action {
    /// The action a keymap name stands for.
    pub fn from_name(name: &str) -> Option<Action> {
        NAMED
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, action)| action.clone())
    }

    /// The keymap name of a bindable action.
    pub fn name(&self) -> Option<&'static str> {
        NAMED.iter().find(|(_, a)| a == self).map(|(n, _)| *n)
    }

    /// Moves `selected` in a popup's list of `last + 1` rows (the trace waterfall, the
    /// `:triggers` list); `false` when this action is not a movement.
    pub fn move_in_list(&self, selected: &mut usize, last: usize) -> bool {
        *selected = match self {
            Action::Down | Action::ScrollDown(_) => (*selected + 1).min(last),
            Action::Up | Action::ScrollUp(_) => selected.saturating_sub(1),
            Action::Top => 0,
            Action::Bottom => last,
            _ => return false,
        };
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for (name, action) in NAMED {
            assert_eq!(Action::from_name(name).as_ref(), Some(action));
            assert_eq!(action.name(), Some(*name));
        }
        assert_eq!(Action::from_name("explode"), None);
    }
}
