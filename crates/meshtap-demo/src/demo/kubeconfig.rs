//! Kubeconfigs pointing at the simulated control plane.
//!
//! meshtap reaches the demo server exactly as it reaches a cluster: through a kubeconfig. The
//! value is built here; [`write`] puts it on disk for other clients (`kubectl`, a second
//! meshtap) and [`for_server`] hands it straight to kube-rs in tests, without a file.

use std::path::Path;

use anyhow::Context as _;
use base64::Engine as _;
use kube::config::{Cluster, Context, Kubeconfig, NamedAuthInfo, NamedCluster, NamedContext};

use super::server::RunningServer;

/// The context (and cluster and user) name written into demo kubeconfigs.
pub const CONTEXT_NAME: &str = "meshtap-demo";

/// Builds a kubeconfig for a server at `server_url`, trusting `ca_pem` when given (HTTPS),
/// authenticating with `token`, and defaulting to `namespace` when given.
pub fn build(
    server_url: &str,
    ca_pem: Option<&str>,
    token: &str,
    namespace: Option<&str>,
) -> anyhow::Result<Kubeconfig> {
    let cluster = Cluster {
        server: Some(server_url.to_owned()),
        certificate_authority_data: ca_pem
            .map(|pem| base64::engine::general_purpose::STANDARD.encode(pem)),
        ..Cluster::default()
    };
    // AuthInfo keeps the token in a secrecy type that meshtap does not depend on; going
    // through serde builds it without naming that crate.
    let auth_info = serde_json::from_value(serde_json::json!({ "token": token }))
        .context("building the kubeconfig user")?;
    Ok(Kubeconfig {
        clusters: vec![NamedCluster {
            name: CONTEXT_NAME.to_owned(),
            cluster: Some(cluster),
            ..NamedCluster::default()
        }],
        auth_infos: vec![NamedAuthInfo {
            name: CONTEXT_NAME.to_owned(),
            auth_info: Some(auth_info),
            ..NamedAuthInfo::default()
        }],
        contexts: vec![NamedContext {
            name: CONTEXT_NAME.to_owned(),
            context: Some(Context {
                cluster: CONTEXT_NAME.to_owned(),
                user: Some(CONTEXT_NAME.to_owned()),
                namespace: namespace.map(str::to_owned),
                ..Context::default()
            }),
            ..NamedContext::default()
        }],
        current_context: Some(CONTEXT_NAME.to_owned()),
        kind: Some("Config".to_owned()),
        api_version: Some("v1".to_owned()),
        ..Kubeconfig::default()
    })
}

/// The kubeconfig for a running demo server.
pub fn for_server(server: &RunningServer, namespace: Option<&str>) -> anyhow::Result<Kubeconfig> {
    build(
        server.base_url(),
        server.ca_pem(),
        server.token(),
        namespace,
    )
}

/// Writes `config` to `path` as JSON (which every YAML reader, kubectl included, accepts),
/// private and whole (`crate::files`) because it holds a token; an existing file is replaced only
/// with `force`.
pub fn write(path: &Path, config: &Kubeconfig, force: bool) -> anyhow::Result<()> {
    let mut text = serde_json::to_vec_pretty(config).context("serialising the kubeconfig")?;
    text.push(b'\n');
    crate::files::write_file(path, &text, force)?;
    Ok(())
}
