//! Test fixtures shared by meshtap's test binaries and benches (a dev-dependency only): tap APIs
//! that answer from a script or stream chunks, and `meshtap demo --serve` as a child process.
//! It has no tests of its own (`test = false`), so it adds no test binary to build.

pub mod served;
pub mod tap_api;

use std::time::Duration;

pub use served::ServedDemo;
pub use tap_api::{Script, Scripted, stream};

/// Every test waits at most this long for anything.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(20);
