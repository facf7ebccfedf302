//! `meshtap routes`: per-route figures over a window from the proxies' own metrics — from a
//! Prometheus (`--prometheus`, else linkerd-viz's through a port-forward) or, when none
//! answers, the target pods' admin `/metrics` scraped directly — with tap's exact latencies
//! over the same window beside them, and the destination proxies' denials.

mod render;
mod rules;
mod tap;

use std::process::ExitCode;

use crate::cli::RoutesArgs;
use crate::routestats;
use crate::source::cluster::Cluster;
use crate::source::metrics::portforward::VIZ_NAMESPACE;
use crate::source::proxy_metrics::prometheus::{self, PrometheusAddr};
use crate::source::proxy_metrics::{ProxyWindow, scrape};
use crate::source::target::Resource;

pub use render::Report;

pub async fn run(args: RoutesArgs) -> anyhow::Result<ExitCode> {
    // A bad address is refused before anything is contacted.
    anyhow::ensure!(
        !(args.demo && args.tap.prometheus.is_some()),
        "--prometheus and --demo: the demo runs no Prometheus (demo --serve --file-sd feeds one)"
    );
    let url = args
        .tap
        .prometheus
        .as_deref()
        .map(PrometheusAddr::parse_url)
        .transpose()?;
    let mut tap = args.tap.clone();
    // Whatever starts the demo must live until the report is printed.
    let mut _demo = None;
    let cluster = if args.demo {
        let demo = super::start_demo(&super::map::demo_args(&tap)?).await?;
        let cluster = Cluster::from_kubeconfig(demo.kubeconfig.clone(), None).await?;
        _demo = Some(demo);
        if tap.targets.is_empty() {
            tap.targets = super::DEMO_TARGETS
                .iter()
                .map(ToString::to_string)
                .collect();
        }
        cluster
    } else {
        anyhow::ensure!(
            !tap.targets.is_empty(),
            "nothing to report: give a TARGET such as ns/emojivoto or deploy/web, or --demo"
        );
        super::connect(&tap).await?
    };
    let namespace = tap
        .namespace
        .clone()
        .unwrap_or_else(|| cluster.default_namespace.clone());
    let targets = tap
        .targets
        .iter()
        .map(|t| Resource::parse_target(t, &namespace))
        .collect::<Result<Vec<_>, _>>()?;
    let prometheus = match url {
        Some(url) => Some(url),
        None => viz_prometheus(&cluster.client).await,
    };
    // Tap runs through the window while the metrics are gathered.
    let session = tap::default_session()?;
    let tapping = tap::gather(&cluster, &tap, &session, &targets, args.window);
    let metrics = gather(&cluster, prometheus.as_ref(), &targets, args.window);
    let (tapped, windows) = tokio::join!(tapping, metrics);
    let tapped = tapped?;
    let mut report = Report::default();
    for (index, (target, window)) in targets.iter().zip(windows).enumerate() {
        report.add(target, window?, &tapped, index);
    }
    let text = match args.output {
        crate::cli::RoutesFormat::Json => report.json()?,
        crate::cli::RoutesFormat::Table => report.table(false),
        crate::cli::RoutesFormat::Wide => report.table(true),
    };
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}

/// linkerd-viz's Prometheus, if a pod of it is running; `None` sends meshtap to the pods.
async fn viz_prometheus(client: &kube::Client) -> Option<PrometheusAddr> {
    prometheus::viz(client, VIZ_NAMESPACE)
        .await
        .unwrap_or_else(|error| {
            eprintln!("meshtap: linkerd-viz's Prometheus: {error}; scraping the pods directly");
            None
        })
}

/// Each target's window, from Prometheus at the window's end, or from two scrapes.
async fn gather(
    cluster: &Cluster,
    prometheus: Option<&PrometheusAddr>,
    targets: &[Resource],
    window: std::time::Duration,
) -> Vec<anyhow::Result<ProxyWindow>> {
    let families = routestats::families();
    let mut out = Vec::new();
    if let Some(prometheus) = prometheus {
        // Prometheus looks back: asked at the end, its window is the one tap ran through.
        tokio::time::sleep(window).await;
        for target in targets {
            out.push(
                prometheus::window(prometheus, target, window, &families)
                    .await
                    .map_err(anyhow::Error::from),
            );
        }
        return out;
    }
    let mut pods = Vec::new();
    for target in targets {
        pods.push(scrape::target_pods(&cluster.client, target).await);
    }
    let all: Vec<scrape::MeshedPod> = pods.iter().flatten().flatten().cloned().collect();
    let scraped = scrape::window(&cluster.client, &all, window, &families).await;
    for found in pods {
        out.push(match found {
            Ok(pods) => Ok(scraped.only(&pods)),
            Err(error) => Err(error.into()),
        });
    }
    out
}
