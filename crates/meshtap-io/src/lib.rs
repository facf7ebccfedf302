//! meshtap's inputs and outputs: the tap sources (cluster, proxy, replay), exports, the session's
//! tees (recording, OTLP, map), triggers and private files.

// The layers below, under the names this crate's modules use for them.
pub use meshtap_core::{
    advise, capture, copy, explain, filter, health, model, promtext, routestats, session, stats,
    terminal, trace, units,
};
pub use meshtap_proto as proto;

pub mod export;
pub mod files;
pub mod pipeline;
pub mod source;
pub mod trigger;
