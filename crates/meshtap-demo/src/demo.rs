//! The built-in simulated control plane: a loopback server speaking Linkerd's aggregated tap
//! API, reached through a generated kubeconfig by the ordinary cluster source.

pub mod api;
pub mod checks;
pub mod core_api;
pub mod discovery;
pub mod kubeconfig;
pub mod mesh;
pub mod metrics_api;
pub mod multicluster;
pub mod pods;
pub mod policy;
pub mod policy_api;
pub mod policy_objects;
pub mod portforward;
pub mod proxy_metrics;
pub mod proxy_tap;
pub mod server;
pub mod sim;
pub mod tapper;
pub mod tls;
pub mod troubled;
