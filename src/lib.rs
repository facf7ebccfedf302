//! meshtap: a terminal UI for live Linkerd service-mesh traffic. This crate is the command line
//! and the wiring of a session; the layers live in the workspace's crates, re-exported here under
//! the names the rest of meshtap uses for them.

pub use meshtap_core::{
    capture, copy, diff, explain, filter, model, promtext, routestats, session, stats, terminal,
    trace, units,
};
pub use meshtap_demo::demo;
pub use meshtap_io::{export, files, source, trigger};
pub use meshtap_proto as proto;
pub use meshtap_tui::{app, tui, ui};

pub mod check;
pub mod cli;
pub mod mcp;
pub mod pipeline;
mod run;
pub mod shutdown;

pub use run::check::report as check_report;
pub use run::extension::{
    INSTALL_MANIFEST, Invocation, UNINSTALL_MANIFEST, completion_script, invocation, man_page,
};
pub use run::stdout::print as print_stdout;
pub use run::{
    ClustersDemo, DEMO_TARGETS, Demo, proxy_spec, run, spawn_streams, specs, start_clusters,
    start_demo,
};
