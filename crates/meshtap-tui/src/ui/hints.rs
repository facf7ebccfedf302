//! The key hints on the tab bar (k9s shows its hints in the header): the few actions that matter
//! where the user is, each with the key the keymap in force gives it, so the hints follow
//! overrides and never name a key that does something else here.

use ratatui::text::{Line, Span};

use crate::app::action::QuickField;
use crate::app::{Action, AppState};

/// What is worth a hint, most useful first: the ones that do not fit are dropped from the end.
const HINTED: [Action; 14] = [
    Action::Help,
    Action::Explain,
    Action::FilterPrompt,
    Action::Open,
    Action::Copy,
    Action::Trace,
    Action::FindPrompt,
    Action::CycleWindow,
    Action::CycleGrouping,
    Action::ToggleBackends,
    Action::Quick(QuickField::Edge),
    Action::SortNext,
    Action::CommandPrompt,
    Action::Back,
];

/// `<?> help  <i> explain  </> filter …`, cut to `width` columns by dropping whole hints.
pub fn line(state: &AppState, width: usize) -> Line<'static> {
    let contexts = [
        state.context_under_help(),
        crate::app::keymap::Context::Global,
    ];
    let mut spans = Vec::new();
    let mut used = 0;
    for action in &HINTED {
        let (Some(key), Some(name)) = (state.keymap.hint_key(&contexts, action), action.name())
        else {
            continue;
        };
        let key = format!("<{key}>");
        let label = format!(" {name}  ");
        let needed = key.chars().count() + label.chars().count();
        if used + needed > width {
            break;
        }
        used += needed;
        spans.push(Span::styled(key, state.theme.key));
        spans.push(Span::styled(label, state.theme.dim));
    }
    Line::from(spans)
}
