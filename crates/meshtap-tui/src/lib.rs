//! meshtap's terminal UI: app state (`app`), rendering (`ui`) and the terminal loop (`tui`).
//! It sees the tap only through the session vocabulary, never a source's internals.

// The layers below, under the names this crate's modules use for them.
pub use meshtap_core::{
    copy, diff, explain, filter, health, model, routestats, session, terminal, trace, units,
};
pub use meshtap_io::{export, trigger};

pub mod app;
pub mod tui;
pub mod ui;
