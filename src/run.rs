//! Wires the command line to sources, the headless writer and the terminal UI.

use std::io;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::sync::mpsc;

use crate::app::{self, run::RunParams};
use crate::cli::{Cli, Command, DemoArgs, ExportArgs, HeadlessArgs, ReplayArgs, TapArgs, UiArgs};
use crate::demo;
use crate::export::Redactor;
use crate::export::file::{CaptureHeader, ExportOptions, Recorder};
use crate::headless::{self, Output};
use crate::source::cluster::{Cluster, KubeOptions};
use crate::source::target::{Resource, TapSpec};
use crate::source::{HttpMatch, SOURCE_CHANNEL_BATCHES, SessionInfo, SourceMsg, live};

/// Targets `meshtap demo` taps when none are given: every simulated namespace.
pub const DEMO_TARGETS: [&str; 2] = ["ns/sock-shop", "ns/emojivoto"];

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Some(Command::Tap(args)) => tap(args).await,
        Some(Command::Demo(args)) => demo(args).await,
        Some(Command::Replay(args)) => replay(args).await,
        None => {
            anyhow::ensure!(
                !cli.tap.targets.is_empty(),
                "nothing to tap: give a TARGET such as deploy/web, or try `meshtap demo`"
            );
            let cluster = Cluster::connect(&kube_options(&cli.tap)).await?;
            tui(&cluster, &cli.tap, &cli.ui).await
        }
    }
}

fn kube_options(args: &TapArgs) -> KubeOptions {
    KubeOptions {
        kubeconfig: args.kubeconfig.clone(),
        context: args.context.clone(),
    }
}

fn redactor(args: &TapArgs) -> Redactor {
    Redactor::new(!args.no_redact, args.redact_header.clone())
}

/// One spec per target, built exactly as Linkerd's CLI builds its request.
pub fn specs(args: &TapArgs, default_namespace: &str, headers: bool) -> anyhow::Result<Vec<TapSpec>> {
    let namespace = args.namespace.as_deref().unwrap_or(default_namespace);
    let to = args
        .to
        .as_deref()
        .map(|to| Resource::parse(to, args.to_namespace.as_deref().unwrap_or("")))
        .transpose()
        .context("--to")?;
    args.targets
        .iter()
        .map(|target| {
            Ok(TapSpec {
                target: Resource::parse_target(target, namespace)?,
                label_selector: args.selector.clone().unwrap_or_default(),
                to: to.clone(),
                http: HttpMatch {
                    method: args.method.clone(),
                    path: args.path.clone(),
                    authority: args.authority.clone(),
                    scheme: args.scheme.clone(),
                },
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
    let (tx, rx) = mpsc::channel(SOURCE_CHANNEL_BATCHES);
    for (stream, spec) in specs.into_iter().enumerate() {
        let cluster = cluster.clone();
        let tx = tx.clone();
        tokio::spawn(async move { cluster.tap(spec, stream, reconnect, tx, None).await });
    }
    rx
}

async fn tap(args: HeadlessArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        !args.tap.targets.is_empty(),
        "nothing to tap: give a TARGET such as deploy/web"
    );
    let cluster = Cluster::connect(&kube_options(&args.tap)).await?;
    headless(&cluster, &args.tap, args.output).await
}

async fn headless(cluster: &Cluster, args: &TapArgs, output: Output) -> anyhow::Result<ExitCode> {
    let exporting = args.export.export.is_some();
    let specs = specs(args, &cluster.default_namespace, output.wants_headers() || exporting)?;
    let names: Vec<String> = specs.iter().map(|s| s.target.display()).collect();
    let header = CaptureHeader {
        targets: names.clone(),
        context: cluster.context.clone(),
        sampling: format!("max {} rps per target", args.max_rps),
        ..CaptureHeader::default()
    };
    let rx = spawn_streams(cluster, specs, !args.no_reconnect);
    write_headless(rx, output, &names, &redactor(args), &args.export, header).await
}

/// The headless writer; with `--export`, Ctrl-C ends the run cleanly and the capture is
/// exported when it ends.
async fn write_headless(
    rx: mpsc::Receiver<SourceMsg>,
    output: Output,
    names: &[String],
    redactor: &Redactor,
    export: &ExportArgs,
    header: CaptureHeader,
) -> anyhow::Result<ExitCode> {
    let (rx, recorder) = match export.export {
        Some(_) => {
            let (rx, recorder) =
                Recorder::spawn(rx, crate::model::store::DEFAULT_CAPACITY_REQUESTS, true);
            (rx, Some(recorder))
        }
        None => (rx, None),
    };
    let outcome = headless::run(
        rx,
        output,
        names,
        redactor,
        &mut io::BufWriter::new(io::stdout()),
        &mut io::stderr(),
    )
    .await;
    if let (Some(recorder), Some(path)) = (recorder, &export.export) {
        let options = ExportOptions {
            format: export.export_format,
            filtered: false,
            force: export.force,
            redactor: redactor.clone(),
        };
        let report = recorder.finish(path, header, &options).await?;
        eprintln!(
            "meshtap: exported {} requests to {} ({})",
            report.written,
            report.path.display(),
            report.format.name()
        );
    }
    match outcome {
        Ok(outcome) if outcome.failures.is_empty() => Ok(ExitCode::SUCCESS),
        Ok(_) => Ok(ExitCode::FAILURE),
        // A closed stdout (`meshtap tap … | head`) is a normal way to stop.
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(err) => Err(err.into()),
    }
}

async fn replay(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    use crate::source::replay;
    // An unusable file is an error before anything starts.
    let opened = replay::open(&args.file).await?;
    let Some(output) = args.output else {
        anyhow::bail!("the replay UI is not wired yet; use `meshtap replay FILE -o text`");
    };
    let name = opened.name.clone();
    let capture = opened.loaded.capture.clone();
    let header = CaptureHeader {
        targets: capture.as_ref().map_or_else(|| vec![name.clone()], |c| c.targets.clone()),
        context: replay::context(&args.file),
        sampling: capture.map(|c| c.sampling).unwrap_or_default(),
        ..CaptureHeader::default()
    };
    let (tx, rx) = mpsc::channel(SOURCE_CHANNEL_BATCHES);
    let player = tokio::spawn(replay::play(opened, args.speed, tx));
    let redactor = Redactor::new(!args.no_redact, args.redact_header.clone());
    let code = write_headless(rx, output, &[name], &redactor, &args.export, header).await;
    player.abort();
    code
}

/// Commands from the UI waiting for the source; a handful is plenty (each restarts the tap).
const COMMAND_CHANNEL: usize = 8;

async fn tui(cluster: &Cluster, args: &TapArgs, ui: &UiArgs) -> anyhow::Result<ExitCode> {
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
    let supervisor = tokio::spawn(live::supervise(
        cluster.clone(),
        specs,
        !args.no_reconnect,
        tx,
        commands_rx,
    ));
    let mut params = RunParams::new(rx, info);
    params.commands = Some(commands_tx);
    params.capacity = ui.capacity;
    let result = app::run::run(params).await;
    supervisor.abort();
    result.map(|()| ExitCode::SUCCESS)
}

/// A running simulated control plane and the kubeconfig that reaches it.
pub struct Demo {
    pub server: demo::server::RunningServer,
    pub kubeconfig: kube::config::Kubeconfig,
    pub kubeconfig_path: std::path::PathBuf,
}

pub async fn start_demo(args: &DemoArgs) -> anyhow::Result<Demo> {
    anyhow::ensure!(
        args.addr.ip().is_loopback(),
        "the demo serves on loopback only (127.0.0.1 or [::1]), not {}",
        args.addr
    );
    let api = Arc::new(demo::tapper::SimTapApi::new(args.seed, args.rate));
    let options = demo::server::ServerOptions {
        addr: args.addr,
        tls: !args.plain_http,
        token: None,
    };
    let server = demo::server::spawn(options, api).await?;
    let kubeconfig = demo::kubeconfig::for_server(&server, Some("sock-shop"))?;
    let kubeconfig_path = match &args.kubeconfig_out {
        Some(path) => path.clone(),
        None => std::env::temp_dir()
            .join(format!("meshtap-demo-{}", std::process::id()))
            .join("kubeconfig"),
    };
    if let Some(dir) = kubeconfig_path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    demo::kubeconfig::write(&kubeconfig_path, &kubeconfig)?;
    Ok(Demo {
        server,
        kubeconfig,
        kubeconfig_path,
    })
}

async fn demo(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let demo = start_demo(&args).await?;
    if args.serve {
        println!("meshtap demo control plane on {}", demo.server.base_url());
        println!("kubeconfig: {}", demo.kubeconfig_path.display());
        println!(
            "try: kubectl --kubeconfig {} get --raw /apis/tap.linkerd.io/v1alpha1",
            demo.kubeconfig_path.display()
        );
        println!(
            "     meshtap tap deploy/front-end -n sock-shop --kubeconfig {} -o ndjson",
            demo.kubeconfig_path.display()
        );
        tokio::signal::ctrl_c().await.context("waiting for Ctrl-C")?;
        return Ok(ExitCode::SUCCESS);
    }
    let cluster = Cluster::from_kubeconfig(demo.kubeconfig.clone(), None).await?;
    let mut tap = args.tap.clone();
    if tap.targets.is_empty() {
        tap.targets = DEMO_TARGETS.iter().map(ToString::to_string).collect();
    }
    match args.output {
        Some(output) => headless(&cluster, &tap, output).await,
        None => tui(&cluster, &tap, &args.ui).await,
    }
}
