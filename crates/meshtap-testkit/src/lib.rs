//! Test fixtures shared by meshtap's test binaries and benches (a dev-dependency only): the
//! simulated mesh's events as model events, the UI's starting state, tap APIs that answer from a
//! script or stream chunks, and `meshtap demo --serve` as a child process.
//! It has no tests of its own (`test = false`), so it adds no test binary to build.

pub mod events;
pub mod served;
pub mod tap_api;
pub mod ui;

use std::time::Duration;

pub use events::{demo_events, store_of};
pub use served::ServedDemo;
pub use tap_api::{Script, Scripted, stream};
pub use ui::app;

/// Every test waits at most this long for anything.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(20);
