//! The interactive terminal UI's state: panes, reducer and keymap. The state and reducer are pure
//! (time is passed in) so tests drive them without a terminal; every view cache (sorted route
//! rows, the identities tree, the map's layout) is refreshed here, so drawing only reads. The
//! terminal, the clock and the channels belong to `tui`.

pub mod action;
pub mod clusters;
pub mod command;
pub mod config;
pub mod copy;
mod denials;
pub mod detail;
pub mod diff_view;
pub mod identities;
pub mod keymap;
pub mod layout;
pub mod map;
pub mod overlay;
mod panes;
pub mod progress;
pub mod prompt;
mod quick;
pub mod rates;
mod reducer;
mod requests;
pub mod route_detail;
pub mod routes;
pub mod sides;
pub mod state;
#[cfg(test)]
mod tests;
pub mod theme;
pub mod trace;
mod triggers;
pub mod view;
pub mod why;

pub use action::{Action, Pane};
pub use overlay::{Layer, Overlay, Overlays};
pub use state::{AppState, Effect, ExportRequest, RouteDetailOpen};
pub use triggers::{TriggerRow, TriggersList, TriggersView};
