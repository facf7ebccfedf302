//! meshtap: a terminal UI for live Linkerd service-mesh traffic.

pub mod app;
pub mod capture;
pub mod check;
pub mod cli;
pub mod copy;
pub mod demo;
pub mod explain;
pub mod export;
pub mod files;
pub mod filter;
pub mod model;
pub mod pipeline;
pub mod proto;
mod run;
pub mod session;
pub mod source;
pub mod stats;
pub mod trace;
pub mod trigger;
pub mod tui;
pub mod ui;

pub use run::check::report as check_report;
pub use run::extension::{
    INSTALL_MANIFEST, Invocation, UNINSTALL_MANIFEST, completion_script, invocation, man_page,
};
pub use run::{
    ClustersDemo, DEMO_TARGETS, Demo, proxy_spec, run, spawn_streams, specs, start_clusters,
    start_demo,
};
