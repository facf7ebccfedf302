//! Several clusters in one session (`--context A,B`, `--all-contexts`): the kubeconfig is read
//! once, each context gets its own client, and each cluster its name for the events it reports.

use kube::config::Kubeconfig;

use super::{Cluster, Environment, KubeOptions, load_kubeconfig};
use crate::model::event::ClusterName;
use crate::session::{ErrorKind, StreamError};

/// Which contexts a session opens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Contexts {
    /// The kubeconfig's current context (no `--context`).
    Current,
    /// `--context A --context B` / `--context A,B`, in that order, repeats dropped.
    Named(Vec<String>),
    /// `--all-contexts`: every context of the kubeconfig, in its order.
    All,
}

impl Contexts {
    pub fn new(named: &[String], all: bool) -> Self {
        if all {
            return Self::All;
        }
        let mut unique: Vec<String> = Vec::new();
        for name in named.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
            if !unique.iter().any(|u| u == name) {
                unique.push(name.to_owned());
            }
        }
        if unique.is_empty() {
            Self::Current
        } else {
            Self::Named(unique)
        }
    }
}

/// One cluster per context. With one context nothing is named, so a single-cluster session is
/// exactly what it was before several existed; with more, every cluster is named (its context,
/// or the `--cluster-name CONTEXT=NAME` given) and numbered for its streams.
pub async fn connect_several(
    options: &KubeOptions,
    env: &Environment,
    contexts: &Contexts,
    renames: &[(String, String)],
) -> Result<Vec<Cluster>, StreamError> {
    let kubeconfig = load_kubeconfig(options, env)?;
    open_contexts(kubeconfig, contexts, renames).await
}

/// [`connect_several`] over a kubeconfig already in hand (the demo's own, built in memory).
pub async fn open_contexts(
    kubeconfig: Kubeconfig,
    contexts: &Contexts,
    renames: &[(String, String)],
) -> Result<Vec<Cluster>, StreamError> {
    let names: Vec<Option<String>> = match contexts {
        Contexts::Current => vec![None],
        Contexts::Named(names) => names.iter().cloned().map(Some).collect(),
        Contexts::All => {
            if kubeconfig.contexts.is_empty() {
                return Err(StreamError::new(
                    ErrorKind::UnknownContext,
                    "--all-contexts: the kubeconfig has no contexts",
                ));
            }
            kubeconfig
                .contexts
                .iter()
                .map(|c| Some(c.name.clone()))
                .collect()
        }
    };
    let mut clusters = Vec::with_capacity(names.len());
    for context in names {
        clusters.push(Cluster::from_kubeconfig(kubeconfig.clone(), context).await?);
    }
    if let Some((context, _)) = renames
        .iter()
        .find(|(context, _)| !clusters.iter().any(|c| &c.context == context))
    {
        return Err(StreamError::new(
            ErrorKind::UnknownContext,
            format!(
                "--cluster-name names the context {context:?}, which this session does not open"
            ),
        ));
    }
    if clusters.len() > 1 {
        name_clusters(&mut clusters, renames)?;
    }
    Ok(clusters)
}

/// Names and numbers each cluster; two clusters may not end up with one name.
fn name_clusters(
    clusters: &mut [Cluster],
    renames: &[(String, String)],
) -> Result<(), StreamError> {
    let mut seen: Vec<String> = Vec::with_capacity(clusters.len());
    for (index, cluster) in clusters.iter_mut().enumerate() {
        let name = renames
            .iter()
            .rev()
            .find(|(context, _)| *context == cluster.context)
            .map_or_else(|| cluster.context.clone(), |(_, name)| name.clone());
        if seen.contains(&name) {
            return Err(StreamError::new(
                ErrorKind::Config,
                format!(
                    "two clusters would both be called {name:?}: give one another --cluster-name"
                ),
            ));
        }
        cluster.name = Some(ClusterName::new(&name));
        cluster.index = index;
        seen.push(name);
    }
    Ok(())
}
