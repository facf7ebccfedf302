//! The session pipeline's pieces that are not the command line: the headless and map sinks, the
//! tees (recording, OTLP) and the writer threads that keep blocking IO off the async workers. The
//! binary wires them into one session (`meshtap::pipeline`).

pub mod attribute;
pub mod headless;
pub mod map;
pub mod otlp;
pub mod record;
pub mod segments;
pub mod writer;
