//! First contact: where the kubeconfig comes from (`--kubeconfig`, `KUBECONFIG` merged like
//! kubectl, `~/.kube/config`, a mounted service account), and why it cannot be used, as a kind.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use kube::config::{
    AuthInfo, Cluster as KubeCluster, Context, Kubeconfig, KubeconfigError, NamedAuthInfo,
    NamedCluster, NamedContext,
};

use crate::session::{ErrorKind, StreamError};

/// Where Kubernetes mounts a pod's service account (token, CA, namespace).
pub const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// The parts of the process environment that decide where configuration comes from; tests
/// build one by hand instead of changing the process's variables.
#[derive(Clone, Debug, Default)]
pub struct Environment {
    /// `KUBECONFIG`: a list of files joined like `PATH`; set but empty counts as unset.
    pub kubeconfig: Option<OsString>,
    /// The home directory (`~/.kube/config`).
    pub home: Option<PathBuf>,
    /// Where a service account would be mounted.
    pub service_account_dir: PathBuf,
    /// `KUBERNETES_SERVICE_HOST` / `KUBERNETES_SERVICE_PORT`, set inside a pod.
    pub service_host: Option<String>,
    pub service_port: Option<String>,
}

impl Environment {
    pub fn from_process() -> Self {
        Self {
            kubeconfig: std::env::var_os("KUBECONFIG"),
            home: std::env::home_dir(),
            service_account_dir: PathBuf::from(SERVICE_ACCOUNT_DIR),
            service_host: std::env::var("KUBERNETES_SERVICE_HOST").ok(),
            service_port: std::env::var("KUBERNETES_SERVICE_PORT").ok(),
        }
    }
}

/// Reads the kubeconfig kubectl would use: the `--kubeconfig` file, else every file in
/// `KUBECONFIG` merged (first one to set a value wins), else `~/.kube/config`, else the mounted
/// service account.
pub fn load(flag: Option<&Path>, env: &Environment) -> Result<Kubeconfig, StreamError> {
    if let Some(path) = flag {
        return read(path);
    }
    let listed: Vec<PathBuf> = env
        .kubeconfig
        .as_ref()
        .map(|value| {
            std::env::split_paths(value)
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        })
        .unwrap_or_default();
    if !listed.is_empty() {
        // Like kubectl, files in KUBECONFIG that don't exist are skipped.
        let present: Vec<&PathBuf> = listed.iter().filter(|p| p.exists()).collect();
        if present.is_empty() {
            return Err(StreamError::new(
                ErrorKind::NoKubeconfig,
                format!(
                    "none of the files in KUBECONFIG exist: {}",
                    display_paths(&listed)
                ),
            ));
        }
        return present
            .into_iter()
            .try_fold(Kubeconfig::default(), |merged, path| {
                merged.merge(read(path)?).map_err(|e| {
                    StreamError::new(
                        ErrorKind::Config,
                        format!("cannot merge kubeconfig {}: {e}", path.display()),
                    )
                })
            });
    }
    let default = env
        .home
        .as_ref()
        .map(|home| home.join(".kube").join("config"));
    if let Some(path) = default.as_ref().filter(|p| p.exists()) {
        return read(path);
    }
    if let Some(config) = in_cluster(env)? {
        return Ok(config);
    }
    Err(StreamError::new(
        ErrorKind::NoKubeconfig,
        format!(
            "no kubeconfig found: no --kubeconfig, KUBECONFIG is unset, {} does not exist, and no service account is mounted at {}",
            default.map_or_else(|| "~/.kube/config".to_owned(), |p| p.display().to_string()),
            env.service_account_dir.display()
        ),
    ))
}

fn read(path: &Path) -> Result<Kubeconfig, StreamError> {
    Kubeconfig::read_from(path).map_err(|e| match e {
        KubeconfigError::ReadConfig(err, _) if err.kind() == std::io::ErrorKind::NotFound => {
            StreamError::new(
                ErrorKind::NoKubeconfig,
                format!("the kubeconfig {} does not exist", path.display()),
            )
        }
        // The parser's message carries the line and column.
        KubeconfigError::Parse(err) => StreamError::new(
            ErrorKind::Config,
            format!("cannot parse the kubeconfig {}: {err}", path.display()),
        ),
        other => StreamError::new(
            ErrorKind::Config,
            format!("cannot read the kubeconfig {}: {other}", path.display()),
        ),
    })
}

fn display_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The name meshtap gives the context it builds from a mounted service account.
pub const IN_CLUSTER_CONTEXT: &str = "in-cluster";

/// A kubeconfig equivalent to the pod's service account, as client-go's in-cluster config: the
/// API server from `KUBERNETES_SERVICE_HOST`/`_PORT`, the mounted CA and token (re-read when it
/// rotates), the mounted namespace. `None` when no service account is mounted.
fn in_cluster(env: &Environment) -> Result<Option<Kubeconfig>, StreamError> {
    let dir = &env.service_account_dir;
    let token = dir.join("token");
    if !token.exists() {
        return Ok(None);
    }
    let (Some(host), Some(port)) = (env.service_host.as_deref(), env.service_port.as_deref())
    else {
        return Err(StreamError::new(
            ErrorKind::NoKubeconfig,
            format!(
                "a service account is mounted at {}, but KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT are not set",
                dir.display()
            ),
        ));
    };
    let host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_owned()
    };
    let namespace = std::fs::read_to_string(dir.join("namespace"))
        .ok()
        .map(|ns| ns.trim().to_owned());
    let name = IN_CLUSTER_CONTEXT.to_owned();
    Ok(Some(Kubeconfig {
        clusters: vec![NamedCluster {
            name: name.clone(),
            cluster: Some(KubeCluster {
                server: Some(format!("https://{host}:{port}")),
                certificate_authority: Some(dir.join("ca.crt").display().to_string()),
                ..KubeCluster::default()
            }),
            other: std::collections::BTreeMap::default(),
        }],
        auth_infos: vec![NamedAuthInfo {
            name: name.clone(),
            auth_info: Some(AuthInfo {
                token_file: Some(token.display().to_string()),
                ..AuthInfo::default()
            }),
            other: std::collections::BTreeMap::default(),
        }],
        contexts: vec![NamedContext {
            name: name.clone(),
            context: Some(Context {
                cluster: name.clone(),
                user: Some(name.clone()),
                namespace,
                ..Context::default()
            }),
            other: std::collections::BTreeMap::default(),
        }],
        current_context: Some(name),
        ..Kubeconfig::default()
    }))
}

/// What one context resolves to, for messages: its name, server, user entry and proxy.
#[derive(Clone, Debug, Default)]
pub struct Resolved {
    pub context: String,
    pub server: String,
    pub user: String,
    /// The proxy the client goes through (`HTTPS_PROXY` or `proxy-url`); empty for none.
    pub proxy: String,
    /// The user's exec credential plugin command; empty for none.
    pub exec: String,
}

/// Finds the context to use (`--context`, else current-context) and what it names; an unknown
/// context lists the ones that exist.
pub fn resolve(kubeconfig: &Kubeconfig, context: Option<&str>) -> Result<Resolved, StreamError> {
    let names: Vec<&str> = kubeconfig
        .contexts
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    let known = if names.is_empty() {
        "the kubeconfig has no contexts".to_owned()
    } else {
        format!("contexts: {}", names.join(", "))
    };
    let Some(name) = context.or(kubeconfig.current_context.as_deref()) else {
        return Err(StreamError::new(
            ErrorKind::UnknownContext,
            format!("no --context given and the kubeconfig sets no current-context ({known})"),
        ));
    };
    let Some(found) = kubeconfig
        .contexts
        .iter()
        .find(|c| c.name == name)
        .and_then(|c| c.context.as_ref())
    else {
        let source = if context.is_some() {
            "--context"
        } else {
            "current-context"
        };
        return Err(StreamError::new(
            ErrorKind::UnknownContext,
            format!("{source} {name:?} is not in the kubeconfig ({known})"),
        ));
    };
    let server = kubeconfig
        .clusters
        .iter()
        .find(|c| c.name == found.cluster)
        .and_then(|c| c.cluster.as_ref())
        .and_then(|c| c.server.clone())
        .unwrap_or_default();
    let user = found.user.clone().unwrap_or_default();
    let exec = kubeconfig
        .auth_infos
        .iter()
        .find(|a| a.name == user)
        .and_then(|a| a.auth_info.as_ref()?.exec.as_ref()?.command.clone())
        .unwrap_or_default();
    Ok(Resolved {
        context: name.to_owned(),
        server,
        user,
        proxy: String::new(),
        exec,
    })
}
