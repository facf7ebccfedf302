//! meshtap's core: the model of tapped traffic and the vocabulary every layer shares. Pure and
//! bounded: no IO, no async runtime, no terminal, no network client.

pub mod advise;
pub mod capture;
pub mod copy;
pub mod diff;
pub mod explain;
pub mod filter;
pub mod health;
pub mod model;
pub mod promtext;
pub mod routestats;
pub mod session;
pub mod stats;
pub mod terminal;
pub mod trace;
pub mod units;
