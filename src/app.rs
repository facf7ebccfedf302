//! The interactive terminal UI: state, reducer, keymap and the main loop. The state and reducer
//! are pure (time is passed in) so tests drive them without a terminal; `run` is the only part
//! that touches the terminal, the clock and the channels.

pub mod action;
pub mod command;
pub mod config;
pub mod detail;
pub mod keymap;
mod map;
mod panes;
pub mod prompt;
mod quick;
pub mod rates;
mod reducer;
pub mod run;
pub mod state;
#[cfg(test)]
mod tests;
mod triggers;
pub mod view;

pub use action::{Action, Pane};
pub use run::{ExportHook, RunParams, run};
pub use state::{AppState, Effect, ExportRequest, RouteDetailOpen};
pub use triggers::{TriggerRow, TriggersList, TriggersView};
