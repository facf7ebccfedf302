//! The live source over one cluster or several (`--context A,B`, `--all-contexts`): every
//! cluster's streams feed one channel, which is the merged timeline (each event stamped with its
//! arrival time and its cluster); each stream keeps its own reconnect state; the UI's commands go
//! to every cluster; the metrics API is asked per cluster.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use kube::config::Kubeconfig;
use tokio::sync::mpsc;

use crate::cli::{SessionArgs, TapArgs};
use crate::pipeline::{BytesRead, Sink, Source};
use crate::session::{SOURCE_CHANNEL_BATCHES, SessionInfo, StreamError, TapCommand};
use crate::source::cluster::{Cluster, Contexts, Environment, connect_several, open_contexts};
use crate::source::denials_poll::{self, DenialsPoll};
use crate::source::metrics_poll::{self, MetricsPoll};
use crate::source::proxy_metrics::prometheus::PrometheusAddr;
use crate::source::{live, metrics_merge};

/// Connects to every context the flags name (the current one without `--context`); a failure
/// comes back as its message plus the hint of its kind.
pub async fn connect_all(args: &TapArgs) -> anyhow::Result<Vec<Cluster>> {
    let options = super::kube_options(args, None);
    let contexts = Contexts::new(&args.context, args.all_contexts);
    let env = Environment::from_process();
    with_hint(connect_several(&options, &env, &contexts, &args.cluster_name).await)
}

/// The demo's clusters: every context of its own kubeconfig (only those `--context` names, if
/// any), opened exactly as [`connect_all`] opens a user's.
pub async fn connect_kubeconfig(
    kubeconfig: Kubeconfig,
    args: &TapArgs,
) -> anyhow::Result<Vec<Cluster>> {
    let contexts = Contexts::new(&args.context, args.all_contexts || args.context.is_empty());
    with_hint(open_contexts(kubeconfig, &contexts, &args.cluster_name).await)
}

/// A connect failure as its message plus the hint of its kind.
fn with_hint(result: Result<Vec<Cluster>, StreamError>) -> anyhow::Result<Vec<Cluster>> {
    result.map_err(|e| match e.kind.hint() {
        Some(hint) => anyhow::anyhow!("{e}\n  {hint}"),
        None => anyhow::Error::new(e),
    })
}

/// The source for `clusters`. For the UI it restarts on the UI's commands and polls the metrics
/// API beside the tap; headless it runs the streams until they end.
pub fn source(
    clusters: &[Cluster],
    args: &TapArgs,
    session: &SessionArgs,
    sink: &Sink<'_>,
) -> anyhow::Result<Source> {
    let ui = matches!(sink, Sink::Ui(_));
    let headers = sink.wants_headers(session, !args.policy.no_policy);
    // Namespaces default per context.
    let specs = clusters
        .iter()
        .map(|cluster| super::specs(args, &cluster.default_namespace, headers))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let info = info(clusters, &specs, args);
    let (tx, rx) = mpsc::channel(SOURCE_CHANNEL_BATCHES);
    let counter = session.stats.then(|| Arc::new(AtomicU64::new(0)));
    let raw = counter.as_ref().map(super::counting_sender);
    let mut source = Source::new(rx, info);
    if clusters.len() > 1 {
        // Messages on stderr name the cluster of the stream: a gap is that cluster's alone.
        let per_cluster = specs.first().map_or(0, Vec::len);
        for (i, stream) in source.streams.iter_mut().enumerate() {
            let cluster = source.info.clusters.get(i / per_cluster.max(1));
            *stream = format!("[{}] {stream}", cluster.map_or("", String::as_str));
        }
    }
    source.bytes = counter.map_or(BytesRead::Unknown, BytesRead::Counted);
    source.policy = clusters
        .iter()
        .map(|cluster| super::policy_controller(&args.policy, cluster.name.clone(), Some(cluster)))
        .collect::<anyhow::Result<Vec<_>>>()?
        .into_iter()
        .flatten()
        .collect();
    // Here, not only in the session: `meshtap routes` reads the source itself.
    source.attribute_routes();
    let reconnect = !args.no_reconnect;
    // The panes and the map show the metrics API's figures beside the sample; headless
    // `--stats` compares the sampled rate with the real one.
    if !matches!(sink, Sink::Headless(_)) || session.stats {
        spawn_polls(clusters, &specs, args, &tx, &mut source);
    }
    // Explain (the UI's, MCP's) cites what the destinations' proxies refused.
    if matches!(sink, Sink::Ui(_) | Sink::Mcp(_)) && !args.no_metrics {
        spawn_denials(clusters, &specs, args, &tx, &mut source)?;
    }
    if !ui {
        for (cluster, specs) in clusters.iter().zip(&specs) {
            source
                .tasks
                .extend(live::spawn(cluster, specs, reconnect, &tx, raw.as_ref()));
            source.tasks.extend(live::spawn_pods(cluster, specs, &tx));
        }
        return Ok(source);
    }
    let (commands_tx, commands_rx) = mpsc::channel(super::COMMAND_CHANNEL);
    source.commands = Some(commands_tx);
    let mut supervisors = Vec::with_capacity(clusters.len());
    for (cluster, specs) in clusters.iter().zip(specs) {
        let (cluster_tx, cluster_rx) = mpsc::channel(super::COMMAND_CHANNEL);
        supervisors.push(cluster_tx);
        let supervisor = live::supervise(
            cluster.clone(),
            specs,
            reconnect,
            tx.clone(),
            cluster_rx,
            raw.clone(),
        );
        source.tasks.push(tokio::spawn(supervisor));
    }
    source
        .tasks
        .push(tokio::spawn(fan_out(commands_rx, supervisors)));
    Ok(source)
}

/// Polls the metrics API of each cluster for the targets the session started with
/// (`:ns`/`:target` changes only the live tap). Without an address the metrics API is found
/// through each cluster itself.
fn spawn_polls(
    clusters: &[Cluster],
    specs: &[Vec<crate::source::target::TapSpec>],
    args: &TapArgs,
    tx: &mpsc::Sender<crate::session::SourceMsg>,
    source: &mut Source,
) {
    let polls: Vec<(String, MetricsPoll)> = clusters
        .iter()
        .zip(specs)
        .filter_map(|(cluster, specs)| {
            let target = super::metrics_target(cluster, args)?;
            let poll = MetricsPoll {
                target,
                window: args.metrics_window,
                targets: specs.iter().map(|s| s.target.clone()).collect(),
            };
            Some((display_name(cluster), poll))
        })
        .collect();
    if polls.len() > 1 {
        source.tasks.extend(metrics_merge::spawn(polls, tx));
    } else if let Some((_, poll)) = polls.into_iter().next() {
        source
            .tasks
            .push(tokio::spawn(metrics_poll::poll_until_closed(
                poll,
                tx.downgrade(),
            )));
    }
}

/// Reads each cluster's proxies' refusal counters for the namespaces the session taps (its
/// targets' and `--to`'s) and the workloads seen refusing its clients.
fn spawn_denials(
    clusters: &[Cluster],
    specs: &[Vec<crate::source::target::TapSpec>],
    args: &TapArgs,
    tx: &mpsc::Sender<crate::session::SourceMsg>,
    source: &mut Source,
) -> anyhow::Result<()> {
    let prometheus = args
        .prometheus
        .as_deref()
        .map(PrometheusAddr::parse_url)
        .transpose()?;
    let several = clusters.len() > 1;
    // After route attribution, like every stage: the poller learns who refused whom.
    let (_, closed) = mpsc::channel(1);
    let rx = std::mem::replace(&mut source.rx, closed);
    let (rx, task, refusing) = denials_poll::refused::attach(rx);
    source.rx = rx;
    source.tasks.push(task);
    for (cluster, specs) in clusters.iter().zip(specs) {
        let namespaces = specs
            .iter()
            .flat_map(|s| [Some(&s.target), s.to.as_ref()])
            .flatten()
            .map(|r| {
                if r.kind == "namespace" {
                    r.name.clone()
                } else {
                    r.namespace.clone()
                }
            })
            .filter(|ns| !ns.is_empty())
            .collect();
        let poll = DenialsPoll {
            client: cluster.client.clone(),
            cluster: several.then(|| display_name(cluster)),
            namespaces,
            prometheus: prometheus.clone(),
            refusing: Some(refusing.clone()),
            interval: denials_poll::POLL_INTERVAL,
        };
        source
            .tasks
            .push(tokio::spawn(denials_poll::poll_until_closed(
                poll,
                tx.downgrade(),
            )));
    }
    Ok(())
}

/// Hands every UI command to every cluster's supervisor; ends (and so stops them) when the UI
/// drops its sender.
async fn fan_out(
    mut commands: mpsc::Receiver<TapCommand>,
    clusters: Vec<mpsc::Sender<TapCommand>>,
) {
    while let Some(command) = commands.recv().await {
        for cluster in &clusters {
            let _ = cluster.send(command.clone()).await;
        }
    }
}

/// What the UI is told: with one cluster exactly what it always was; with several, the streams
/// of each cluster in turn (`targets` repeats per cluster) and the clusters' names.
fn info(
    clusters: &[Cluster],
    specs: &[Vec<crate::source::target::TapSpec>],
    args: &TapArgs,
) -> SessionInfo {
    let sampling = format!(
        "max {} rps per target, split evenly over its pods by Linkerd",
        args.max_rps
    );
    let several = clusters.len() > 1;
    SessionInfo {
        context: clusters
            .iter()
            .map(display_name)
            .collect::<Vec<_>>()
            .join(","),
        targets: specs.iter().flatten().map(|s| s.target.display()).collect(),
        sampling,
        clusters: if several {
            clusters.iter().map(display_name).collect()
        } else {
            Vec::new()
        },
    }
}

/// The name a cluster is shown by: its `--cluster-name`, else its context.
fn display_name(cluster: &Cluster) -> String {
    cluster
        .name
        .as_ref()
        .map_or_else(|| cluster.context.clone(), ToString::to_string)
}
