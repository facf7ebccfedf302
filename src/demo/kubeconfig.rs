//! Kubeconfigs pointing at the simulated control plane.
//!
//! meshtap reaches the demo server exactly as it reaches a cluster: through a kubeconfig. The
//! value is built here; [`write`] puts it on disk for other clients (`kubectl`, a second
//! meshtap) and [`for_server`] hands it straight to kube-rs in tests, without a file.

use std::io::Write as _;
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
/// readable by the owner only because it holds a token. The file is written beside its final
/// name and renamed into place, so a reader never sees half a kubeconfig.
pub fn write(path: &Path, config: &Kubeconfig) -> anyhow::Result<()> {
    let mut text = serde_json::to_vec_pretty(config).context("serialising the kubeconfig")?;
    text.push(b'\n');
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let file_name = path
        .file_name()
        .with_context(|| format!("{} has no file name", path.display()))?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let temp = dir.join(format!(
        ".{}.{}.{nanos}.tmp",
        file_name.to_string_lossy(),
        std::process::id()
    ));
    let result = write_new(&temp, &text).and_then(|()| {
        std::fs::rename(&temp, path)
            .with_context(|| format!("renaming {} to {}", temp.display(), path.display()))
    });
    if result.is_err() {
        // Best effort: do not leave a stray temp file holding a token.
        let _ = std::fs::remove_file(&temp);
    }
    result
}

fn write_new(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", path.display()))
}
