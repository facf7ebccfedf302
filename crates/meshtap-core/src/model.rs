//! The pure model: no IO, no clock (time is passed in), no terminal.

pub mod crossing;
pub mod event;
pub mod figures;
pub mod identities;
pub mod map;
pub mod metrics;
pub mod policy;
pub mod request;
pub mod routes;
pub mod store;
