//! `meshtap demo`: the simulated control plane on loopback, tapped through the ordinary cluster
//! source (or served alone with `--serve`); `--clusters` runs several (`demo/clusters.rs`).

mod clusters;
mod private;

use std::io::Write as _;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;

use crate::cli::DemoArgs;
use crate::demo;
use crate::pipeline::{self, outputs::Outputs};

pub use clusters::{ClustersDemo, start_clusters};

/// Targets `meshtap demo` taps when none are given: every simulated namespace.
pub const DEMO_TARGETS: [&str; 2] = ["ns/sock-shop", "ns/emojivoto"];

/// A running simulated control plane and the kubeconfig that reaches it.
pub struct Demo {
    pub server: demo::server::RunningServer,
    pub kubeconfig: kube::config::Kubeconfig,
    pub kubeconfig_path: std::path::PathBuf,
    /// The demo's private directory (0700): the kubeconfig unless `--kubeconfig-out` says
    /// otherwise, and the proxy tap client files. Removed when the demo ends.
    pub dir: tempfile::TempDir,
    /// The simulated metrics API (`linkerd2.viz.Api`): port-forwarded to through the control
    /// plane, and reachable directly with `--metrics-api`.
    pub metrics_api: demo::metrics_api::RunningMetricsApi,
    /// Every meshed pod's proxy admin server (`/metrics`), port-forwarded to on port 4191.
    pub admin: demo::proxy_metrics::AdminServers,
    /// The simulated policy controller (OutboundPolicies): port-forwarded to on the
    /// `linkerd-destination` pod's port 8090, and reachable directly with `--policy-api`.
    pub policy_api: demo::policy_api::DemoPolicyApi,
}

pub async fn start_demo(args: &DemoArgs) -> anyhow::Result<Demo> {
    anyhow::ensure!(
        args.addr.ip().is_loopback(),
        "the demo serves on loopback only (127.0.0.1 or [::1]), not {}",
        args.addr
    );
    // Same loopback IP as the control plane, any free port: the two never collide. Started
    // first so the control plane can port-forward to it like a kube-apiserver to a pod.
    let metrics_addr = std::net::SocketAddr::new(args.addr.ip(), 0);
    let metrics_api = demo::metrics_api::spawn(metrics_addr, args.rate).await?;
    let sim = Arc::new(demo::tapper::SimTapApi::new(args.seed, args.rate));
    let mesh = sim.mesh().clone();
    let counters = Arc::new(demo::proxy_metrics::ProxyMetrics::new(
        mesh.clone(),
        args.seed,
        args.rate,
    ));
    sim.count_refusals_in(counters.clone());
    let admin = demo::proxy_metrics::spawn(args.addr.ip(), &mesh, counters).await?;
    let policy_api = demo::policy_api::spawn(args.addr.ip(), mesh.clone()).await?;
    let mut pods = demo::portforward::PodTable::from_admin(&mesh, &admin);
    pods.pods.push(policy_api.pod());
    let pods = Arc::new(pods);
    let options = demo::server::ServerOptions {
        addr: args.addr,
        tls: !args.plain_http,
        token: None,
        metrics_pod: (args.broken != Some(demo::checks::Break::Metrics)).then(|| {
            demo::portforward::MetricsApiPod {
                addr: metrics_api.addr(),
                forbid_port_forward: false,
            }
        }),
        pods,
        broken: args.broken,
    };
    // The main mesh, with the namespace `troubled` (taps that go quiet for a reason) beside it.
    let api = Arc::new(demo::troubled::TroubledTapApi::new(sim));
    let server = demo::server::spawn(options, api).await?;
    let kubeconfig = demo::kubeconfig::for_server(&server, Some("sock-shop"))?;
    let (dir, kubeconfig_path) = write_kubeconfig(args, &kubeconfig)?;
    Ok(Demo {
        server,
        kubeconfig,
        kubeconfig_path,
        dir,
        metrics_api,
        admin,
        policy_api,
    })
}

/// Writes the demo's kubeconfig, private, to `--kubeconfig-out` or into a fresh private
/// directory (never a predictable name another user could have prepared), which it returns.
fn write_kubeconfig(
    args: &DemoArgs,
    kubeconfig: &kube::config::Kubeconfig,
) -> anyhow::Result<(tempfile::TempDir, std::path::PathBuf)> {
    let dir = private::create()?;
    let kubeconfig_path = match &args.kubeconfig_out {
        Some(path) => path.clone(),
        None => dir.path().join("kubeconfig"),
    };
    demo::kubeconfig::write(&kubeconfig_path, kubeconfig, args.session.export.force)?;
    Ok((dir, kubeconfig_path))
}

pub async fn session(args: DemoArgs) -> anyhow::Result<ExitCode> {
    if args.serve {
        if let Some(names) = &args.clusters {
            clusters::serve(&args, names).await?;
            return Ok(ExitCode::SUCCESS);
        }
        return serve(&args).await;
    }
    let sink = super::sink(args.output, &args.ui)?;
    let outputs = Outputs::open(&args.session)?;
    // Every cluster's servers and the kubeconfig stay up until the session ends; the session
    // opens every context of that kubeconfig through the same path as `--all-contexts`.
    let (kubeconfig, _running): (_, Box<dyn std::any::Any + Send>) =
        if let Some(names) = &args.clusters {
            let demo = start_clusters(&args, names).await?;
            (demo.planes.kubeconfig.clone(), Box::new(demo))
        } else {
            let demo = start_demo(&args).await?;
            (demo.kubeconfig.clone(), Box::new(demo))
        };
    let clusters = super::clusters::connect_kubeconfig(kubeconfig, &args.tap).await?;
    let mut tap = args.tap.clone();
    if tap.targets.is_empty() {
        tap.targets = DEMO_TARGETS.iter().map(ToString::to_string).collect();
    }
    // No `--metrics-api`: the live UI port-forwards to each simulated metrics API pod through
    // its control plane, exactly as in a cluster.
    let source = super::clusters::source(&clusters, &tap, &args.session, &sink)?;
    pipeline::run_session(source, sink, outputs).await
}

/// `demo --serve`: only the simulated control plane (and the proxies' tap ports), until Ctrl-C.
async fn serve(args: &DemoArgs) -> anyhow::Result<ExitCode> {
    let stop = private::Stop::listen()?;
    let demo = start_demo(args).await?;
    let mut out = Vec::new();
    writeln!(
        out,
        "meshtap demo control plane on {}",
        demo.server.base_url()
    )?;
    writeln!(out, "kubeconfig: {}", demo.kubeconfig_path.display())?;
    writeln!(
        out,
        "try: kubectl --kubeconfig {} get --raw /apis/tap.linkerd.io/v1alpha1",
        demo.kubeconfig_path.display()
    )?;
    writeln!(
        out,
        "     meshtap tap deploy/front-end -n sock-shop --kubeconfig {} -o ndjson",
        demo.kubeconfig_path.display()
    )?;
    writeln!(
        out,
        "metrics API (linkerd2.viz.Api, plaintext gRPC): {}",
        demo.metrics_api.addr()
    )?;
    writeln!(
        out,
        "policy controller (OutboundPolicies, plaintext gRPC; linkerd-destination:8090): {}",
        demo.policy_api.addr()
    )?;
    writeln!(
        out,
        "proxy admin servers (/metrics, also port-forwarded as POD:4191): {}",
        demo.admin.pods.len()
    )?;
    if let Some(path) = &args.file_sd {
        let mesh = demo::mesh::Mesh::demo();
        let targets = demo::proxy_metrics::file_sd(&mesh, &demo.admin);
        let text = serde_json::to_string_pretty(&targets)?;
        crate::files::write_file(path, text.as_bytes(), args.session.export.force)
            .with_context(|| format!("writing the Prometheus target list {}", path.display()))?;
        writeln!(out, "prometheus file_sd targets: {}", path.display())?;
    }
    let proxies = serve_proxy_taps(args, &demo, &mut out).await?;
    if !super::stdout::print(&out)? {
        // Nobody reads what it serves (`| head` took its line): end quietly.
        return Ok(ExitCode::SUCCESS);
    }
    stop.wait().await;
    drop(proxies);
    Ok(ExitCode::SUCCESS)
}

/// The simulated pods' own tap ports (`meshtap proxy`), with the client files written in the
/// demo's private directory; lists them and prints an example.
async fn serve_proxy_taps(
    args: &DemoArgs,
    demo: &Demo,
    out: &mut Vec<u8>,
) -> anyhow::Result<demo::proxy_tap::ProxyTaps> {
    let taps = demo::proxy_tap::ProxyTaps::spawn(args.seed, args.rate).await?;
    let files = taps.write_client_files(demo.dir.path())?;
    writeln!(
        out,
        "proxy tap ports (io.linkerd.proxy.tap.Tap, mTLS as {}):",
        demo::proxy_tap::TAP_IDENTITY
    )?;
    for proxy in &taps.proxies {
        writeln!(
            out,
            "  {:<40} {}  {}",
            proxy.pod, proxy.addr, proxy.identity
        )?;
    }
    if let Some(first) = taps.proxies.first() {
        writeln!(
            out,
            "try: meshtap proxy {} --ca {} --cert {} --key {} --server-name {} -o text",
            first.addr,
            files.ca.display(),
            files.cert.display(),
            files.key.display(),
            first.identity
        )?;
    }
    Ok(taps)
}
