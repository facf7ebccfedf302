//! The pure model: no IO, no clock (time is passed in), no terminal.

pub mod event;
pub mod request;
pub mod store;
pub mod identities;
pub mod routes;
