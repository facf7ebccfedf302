//! meshtap's simulated mesh, served on loopback to the same clients as a real cluster.

// The layers below, under the names this crate's modules use for them.
pub use meshtap_core::{model, promtext, routestats, session};
pub use meshtap_io::{files, source};
pub use meshtap_proto as proto;

pub mod demo;
