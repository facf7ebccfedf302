//! Wires the command line to sources, the headless writer and the terminal UI.

mod demo;
mod headless;
mod map;
mod proxy;
mod replay;
mod ui;

use std::process::ExitCode;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::cli::{Cli, Command, TapArgs, UiArgs};
use crate::export::Redactor;
use crate::session::{SOURCE_CHANNEL_BATCHES, SessionInfo, SourceMsg};
use crate::source::cluster::{Cluster, KubeOptions};
use crate::source::metrics::portforward::PortForward;
use crate::source::metrics_poll::{self, MetricsPoll, MetricsTarget};
use crate::source::target::{Resource, TapSpec};
use crate::source::{live, record};

pub use demo::{DEMO_TARGETS, Demo, start_demo};
pub use ui::rescue_path;

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let ui = match &cli.command {
        Some(Command::Demo(args)) => Some(&args.ui),
        Some(Command::Replay(args)) => Some(&args.ui),
        Some(Command::Proxy(args)) => args.output.is_none().then_some(&args.ui),
        Some(Command::Tap(_) | Command::Map(_)) => None,
        None => Some(&cli.ui),
    };
    let _log = start_logging(ui)?;
    match cli.command {
        Some(Command::Tap(args)) => {
            anyhow::ensure!(
                !args.tap.targets.is_empty(),
                "nothing to tap: give a TARGET such as deploy/web"
            );
            let cluster = Cluster::connect(&kube_options(&args.tap)).await?;
            headless::tap(&cluster, &args.tap, args.output).await
        }
        Some(Command::Demo(args)) => demo::run(args).await,
        Some(Command::Replay(args)) => replay::run(args).await,
        Some(Command::Proxy(args)) => proxy::run(args).await,
        Some(Command::Map(args)) => map::run(args).await,
        None => {
            anyhow::ensure!(
                !cli.tap.targets.is_empty(),
                "nothing to tap: give a TARGET such as deploy/web, or try `meshtap demo`"
            );
            let cluster = Cluster::connect(&kube_options(&cli.tap)).await?;
            live_ui(&cluster, &cli.tap, &cli.ui).await
        }
    }
}

/// Logs go to `--log-file` only: never to the screen while the UI is up.
fn start_logging(ui: Option<&UiArgs>) -> anyhow::Result<Option<()>> {
    let Some(path) = ui.and_then(|ui| ui.log_file.as_ref()) else {
        return Ok(None);
    };
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| anyhow::anyhow!("cannot open log file {}: {e}", path.display()))?;
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

fn kube_options(args: &TapArgs) -> KubeOptions {
    KubeOptions {
        kubeconfig: args.kubeconfig.clone(),
        context: args.context.clone(),
    }
}

fn redactor(no_redact: bool, extra: &[String]) -> Redactor {
    Redactor::new(!no_redact, extra.to_vec())
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
    specs: Vec<TapSpec>,
    reconnect: bool,
) -> mpsc::Receiver<SourceMsg> {
    start_streams(cluster, specs, reconnect, None).0
}

/// Like `spawn_streams`, also handing each stream's raw bytes to `recorder`; returns the tasks
/// so the caller can stop them.
pub fn start_streams(
    cluster: &Cluster,
    specs: Vec<TapSpec>,
    reconnect: bool,
    recorder: Option<&record::Recorder>,
) -> (mpsc::Receiver<SourceMsg>, Vec<JoinHandle<()>>) {
    let (tx, rx) = mpsc::channel(SOURCE_CHANNEL_BATCHES);
    let tasks = specs
        .into_iter()
        .enumerate()
        .map(|(stream, spec)| {
            let (cluster, tx) = (cluster.clone(), tx.clone());
            let raw = recorder.map(record::Recorder::stream);
            tokio::spawn(async move { cluster.tap(spec, stream, reconnect, tx, raw).await })
        })
        .collect();
    (rx, tasks)
}

/// Commands from the UI waiting for the source; a handful is plenty (each restarts the tap).
const COMMAND_CHANNEL: usize = 8;

/// The UI on live taps, restarted on the UI's commands.
async fn live_ui(cluster: &Cluster, args: &TapArgs, ui: &UiArgs) -> anyhow::Result<ExitCode> {
    let specs = specs(args, &cluster.default_namespace, true)?;
    let info = SessionInfo {
        context: cluster.context.clone(),
        targets: specs.iter().map(|s| s.target.display()).collect(),
        sampling: format!(
            "max {} rps per target, split evenly over its pods by Linkerd",
            args.max_rps
        ),
    };
    let (tx, rx) = mpsc::channel(SOURCE_CHANNEL_BATCHES);
    let (commands_tx, commands_rx) = mpsc::channel(COMMAND_CHANNEL);
    // Polls the targets the session started with; `:ns`/`:target` changes only the live tap.
    // Without an address the metrics API is found through the cluster itself.
    let target = match (&args.metrics_api, args.no_metrics) {
        (_, true) => None,
        (Some(addr), false) => Some(MetricsTarget::Addr(addr.clone())),
        (None, false) => Some(MetricsTarget::PortForward(PortForward::new(
            cluster.client.clone(),
        ))),
    };
    let poller = target.map(|target| {
        let poll = MetricsPoll {
            target,
            window: args.metrics_window,
            targets: specs.iter().map(|s| s.target.clone()).collect(),
        };
        tokio::spawn(metrics_poll::run(poll, tx.downgrade()))
    });
    let supervisor = tokio::spawn(live::supervise(
        cluster.clone(),
        specs,
        !args.no_reconnect,
        tx,
        commands_rx,
    ));
    let result = ui::open(
        rx,
        Some(commands_tx),
        info,
        ui,
        &args.export,
        redactor(args.no_redact, &args.redact_header),
    )
    .await;
    supervisor.abort();
    if let Some(poller) = poller {
        poller.abort();
    }
    result
}
