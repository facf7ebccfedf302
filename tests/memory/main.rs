//! Memory tests, measured with a counting global allocator: this binary's alone, so the other
//! tests' allocations can't disturb the counts.

#![allow(clippy::unwrap_used, reason = "test code")]

mod har;
mod replay;
mod segments;
mod store;

use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<std::alloc::System> = &INSTRUMENTED_SYSTEM;

/// Tests in one binary run on parallel threads and the counters are global, so measurements
/// take turns (the async replay tests and the blocking store tests alike).
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
