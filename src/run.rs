//! Wires each mode to the session pipeline: a mode picks a source and a sink; everything else
//! (record, export, stats, redaction, the clock, Ctrl-C) is the pipeline's.

mod advise;
pub mod check;
mod clusters;
mod demo;
mod diff;
pub mod extension;
mod k9s;
mod load;
mod map;
mod mcp;
mod proxy;
mod replay;
mod routes;
pub mod stdout;

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::cli::{Cli, Command, PolicyArgs, SessionArgs, TapArgs, UiArgs};
use crate::model::event::ClusterName;
use crate::pipeline::headless::Output;
use crate::pipeline::outputs::Outputs;
use crate::pipeline::{self, Sink};
use crate::session::{SOURCE_CHANNEL_BATCHES, SourceMsg};
use crate::source::cluster::{Cluster, KubeOptions};
use crate::source::live;
use crate::source::metrics::portforward::PortForward;
use crate::source::metrics_poll::MetricsTarget;
use crate::source::policy::PolicyClient;
use crate::source::target::{Resource, TapSpec};
use meshtap_io::pipeline::attribute::Controller;

pub use demo::{ClustersDemo, DEMO_TARGETS, Demo, start_clusters, start_demo};
pub(crate) use diff::{side as diff_side, side_quietly as diff_side_quietly};
pub use proxy::proxy_spec;

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    // `--log-file` means the same in every mode that has a session, UI or headless.
    let session = match &cli.command {
        Some(Command::Tap(args)) => Some(&args.session),
        Some(Command::Demo(args)) => Some(&args.session),
        Some(Command::Replay(args)) => Some(&args.session),
        Some(Command::Proxy(args)) => Some(&args.session),
        Some(Command::Map(args)) => Some(&args.session),
        Some(Command::Advise(crate::cli::AdviseCommand::Authz(args))) => Some(&args.session),
        Some(
            Command::Routes(_)
            | Command::Diff(_)
            | Command::Mcp(_)
            | Command::Check(_)
            | Command::Completions { .. }
            | Command::Man
            | Command::K9sPlugin,
        ) => None,
        None => Some(&cli.session),
    };
    let _log = start_logging(session.and_then(|s| s.log_file.as_deref()))?;
    match cli.command {
        Some(Command::Tap(args)) => {
            let mut outputs = Outputs::open(&args.session)?;
            outputs.stop_after = args.duration;
            live(
                &args.tap,
                &args.session,
                Sink::Headless(args.output),
                outputs,
            )
            .await
        }
        Some(Command::Demo(args)) => demo::session(args).await,
        Some(Command::Replay(args)) => replay::session(args).await,
        Some(Command::Proxy(args)) => proxy::session(args).await,
        Some(Command::Map(args)) => Box::pin(map::run(args)).await,
        Some(Command::Advise(crate::cli::AdviseCommand::Authz(args))) => {
            Box::pin(advise::authz(args)).await
        }
        Some(Command::Routes(args)) => routes::run(args).await,
        Some(Command::Diff(args)) => diff::run(args).await,
        Some(Command::Mcp(args)) => Box::pin(mcp::run(args)).await,
        Some(Command::Check(args)) => check::run(&args).await,
        Some(Command::Completions { shell }) => extension::completions(shell),
        Some(Command::Man) => extension::man(),
        Some(Command::K9sPlugin) => Ok(k9s::print()),
        None => {
            let outputs = Outputs::open(&cli.session)?;
            live(&cli.tap, &cli.session, Sink::Ui(&cli.ui), outputs).await
        }
    }
}

/// A live tap through the control plane named by the kubeconfig, into `sink`.
async fn live(
    args: &TapArgs,
    session: &SessionArgs,
    sink: Sink<'_>,
    outputs: Outputs,
) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        !args.targets.is_empty(),
        "nothing to tap: give a TARGET such as deploy/web, or try `meshtap demo`"
    );
    let clusters = clusters::connect_all(args).await?;
    let source = clusters::source(&clusters, args, session, &sink)?;
    pipeline::run_session(source, sink, outputs).await
}

/// The sink for `-o` (headless) or the UI; UI-only flags are refused with `-o` rather than
/// silently ignored.
fn sink(output: Option<Output>, ui: &UiArgs) -> anyhow::Result<Sink<'_>> {
    let Some(output) = output else {
        return Ok(Sink::Ui(ui));
    };
    for (set, flag) in [
        (ui.no_color, "--no-color"),
        (ui.config.is_some(), "--config"),
    ] {
        anyhow::ensure!(
            !set,
            "{flag} applies to the terminal UI, which -o {} does not open",
            output.name()
        );
    }
    Ok(Sink::Headless(output))
}

/// Logs go to `--log-file` only: never to the screen (the UI's, or stdout's capture).
fn start_logging(path: Option<&std::path::Path>) -> anyhow::Result<Option<()>> {
    let Some(path) = path else {
        return Ok(None);
    };
    let file = crate::files::open_append(path)
        .map_err(|e| anyhow::anyhow!("cannot open the log file: {e}"))?;
    tracing_subscriber::fmt()
        .with_writer(std::sync::Mutex::new(file))
        .with_ansi(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("MESHTAP_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .try_init()
        .map_err(|e| anyhow::anyhow!("cannot start logging: {e}"))?;
    Ok(Some(()))
}

/// Connects to the cluster; a failure comes back as its message plus the hint of its kind.
/// Modes that tap one cluster (`map`) refuse several.
async fn connect(args: &TapArgs) -> anyhow::Result<Cluster> {
    let mut clusters = clusters::connect_all(args).await?;
    anyhow::ensure!(
        clusters.len() == 1,
        "this mode taps one cluster: give one --context"
    );
    Ok(clusters.remove(0))
}

/// Where the kubeconfig comes from and who to act as, for `context`.
fn kube_options(args: &TapArgs, context: Option<String>) -> KubeOptions {
    KubeOptions {
        kubeconfig: args.kubeconfig.clone(),
        context,
        impersonate: args.impersonate.clone(),
        impersonate_groups: args.impersonate_groups.clone(),
    }
}

/// One spec per target, built exactly as Linkerd's CLI builds its request.
pub fn specs(
    args: &TapArgs,
    default_namespace: &str,
    headers: bool,
) -> anyhow::Result<Vec<TapSpec>> {
    let namespace = args.namespace.as_deref().unwrap_or(default_namespace);
    let to = args
        .to
        .as_deref()
        .map(|to| Resource::parse(to, args.to_namespace.as_deref().unwrap_or("")))
        .transpose()
        .map_err(|e| anyhow::anyhow!("--to: {e}"))?;
    args.targets
        .iter()
        .map(|target| {
            Ok(TapSpec {
                target: Resource::parse_target(target, namespace)?,
                label_selector: args.selector.clone().unwrap_or_default(),
                to: to.clone(),
                http: args.http.to_match(),
                max_rps: args.max_rps,
                extract_headers: headers,
            })
        })
        .collect()
}

/// Starts one task per stream; the receiver closes when every stream has ended for good.
pub fn spawn_streams(
    cluster: &Cluster,
    specs: &[TapSpec],
    reconnect: bool,
) -> mpsc::Receiver<SourceMsg> {
    let (tx, rx) = mpsc::channel(SOURCE_CHANNEL_BATCHES);
    live::spawn(cluster, specs, reconnect, &tx, None);
    rx
}

/// Commands from the UI waiting for the source; a handful is plenty (each restarts the tap).
const COMMAND_CHANNEL: usize = 8;

fn metrics_target(cluster: &Cluster, args: &TapArgs) -> Option<MetricsTarget> {
    match (&args.metrics_api, args.no_metrics) {
        (_, true) => None,
        (Some(addr), false) => Some(MetricsTarget::Addr(addr.clone())),
        (None, false) => Some(MetricsTarget::PortForward(PortForward::new(
            cluster.client.clone(),
        ))),
    }
}

/// The policy controller a cluster's outbound requests are attributed by: `--policy-api`, else a
/// port-forward to its `linkerd-destination` pod (`cluster` is `None` for `meshtap proxy`, which
/// has no cluster to forward through); `None` with `--no-policy`.
fn policy_controller(
    args: &PolicyArgs,
    name: Option<ClusterName>,
    cluster: Option<&Cluster>,
) -> anyhow::Result<Option<Controller>> {
    let client = match (&args.policy_api, args.no_policy, cluster) {
        (_, true, _) | (None, false, None) => return Ok(None),
        (Some(addr), false, _) => {
            PolicyClient::lazy(addr).map_err(|e| anyhow::anyhow!("--policy-api: {e}"))?
        }
        (None, false, Some(cluster)) => {
            PolicyClient::port_forward(&PortForward::policy(cluster.client.clone()))
        }
    };
    Ok(Some(Controller {
        cluster: name,
        client,
    }))
}

/// A sender for a stream's raw bytes that only counts them (`--stats`).
fn counting_sender(counter: &Arc<AtomicU64>) -> mpsc::Sender<Bytes> {
    let (tx, mut rx) = mpsc::channel::<Bytes>(SOURCE_CHANNEL_BATCHES);
    let counter = counter.clone();
    tokio::spawn(async move {
        while let Some(chunk) = rx.recv().await {
            counter.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        }
    });
    tx
}
