//! The integration tests, one module per concern, in one test binary (one link for all).

#![allow(clippy::unwrap_used, reason = "tests fail loudly on the unexpected")]

mod advise_cli;
mod backpressure;
mod capture;
mod check;
mod cluster;
mod copy_headless;
mod demo;
mod demo_clusters;
mod demo_private;
mod diff_cli;
mod export_replay;
mod extension;
mod files;
mod filter_props;
mod first_contact;
mod house;
mod keepalive;
mod lifecycle;
mod map_sink;
mod mcp_cli;
mod metrics_api;
mod metrics_poll;
mod metrics_portforward;
mod multicluster;
mod otlp;
mod pipeline;
mod policy_routes;
mod proxy_metrics;
mod proxy_tap;
mod proxy_tap_tls;
mod record_stats;
mod recording;
mod routes_cmd;
mod routes_rules;
mod segments_hostile;
mod server;
mod several_contexts;
mod sim;
mod support;
mod tap_health;
mod terminal;
mod time_filter;
mod tui_snapshots;
mod wire_encode;
