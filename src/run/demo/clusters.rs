//! `meshtap demo --clusters east,west`: every simulated cluster's control plane, one kubeconfig
//! with a context per cluster, and what `--serve` prints to reach them.

use std::io::Write as _;
use std::path::PathBuf;

use crate::cli::DemoArgs;
use crate::demo::multicluster::{self, ClusterNames, Planes};

/// The running clusters and the kubeconfig file reaching them.
pub struct ClustersDemo {
    pub planes: Planes,
    pub kubeconfig_path: PathBuf,
    /// The demo's private directory (0700), removed when the demo ends.
    pub dir: tempfile::TempDir,
}

/// Starts a control plane per cluster of `names` and writes their kubeconfig.
pub async fn start_clusters(args: &DemoArgs, names: &ClusterNames) -> anyhow::Result<ClustersDemo> {
    anyhow::ensure!(
        args.addr.port() == 0 || names.0.len() == 1,
        "--addr {} names a port, but each of the {} clusters needs its own: give only an \
         address (127.0.0.1:0)",
        args.addr,
        names.0.len()
    );
    let options = multicluster::Options {
        names: names.clone(),
        ip: args.addr.ip(),
        tls: !args.plain_http,
        seed: args.seed,
        rate: args.rate,
    };
    let planes = multicluster::start(&options).await?;
    let (dir, kubeconfig_path) = super::write_kubeconfig(args, &planes.kubeconfig)?;
    Ok(ClustersDemo {
        planes,
        kubeconfig_path,
        dir,
    })
}

/// `demo --serve --clusters …`: the control planes until Ctrl-C, and how to reach them.
pub async fn serve(args: &DemoArgs, names: &ClusterNames) -> anyhow::Result<()> {
    let stop = super::private::Stop::listen()?;
    let demo = start_clusters(args, names).await?;
    let path = demo.kubeconfig_path.display();
    let mut out = Vec::new();
    writeln!(
        out,
        "meshtap demo: {} simulated clusters, one kubeconfig: {path}",
        demo.planes.planes.len()
    )?;
    for plane in &demo.planes.planes {
        writeln!(
            out,
            "  context {:<12} control plane {}  metrics API {}  gateway {}:{}",
            plane.name,
            plane.server.base_url(),
            plane.metrics_api.addr(),
            plane.gateway.public_ip,
            multicluster::topology::GATEWAY_PORT
        )?;
    }
    let first = names.first();
    let last = names.0.last().map_or(first, String::as_str);
    let contexts = names.0.iter().fold(String::new(), |mut all, name| {
        all.push_str(" --context ");
        all.push_str(name);
        all
    });
    writeln!(
        out,
        "try: meshtap --kubeconfig {path}{contexts} deploy/front-end -n sock-shop"
    )?;
    writeln!(
        out,
        "     meshtap tap deploy/front-end -n sock-shop --kubeconfig {path} --context {first} -o ndjson"
    )?;
    writeln!(
        out,
        "     kubectl --kubeconfig {path} --context {last} get --raw /apis/tap.linkerd.io/v1alpha1"
    )?;
    if let [_, remotes @ ..] = names.0.as_slice()
        && !remotes.is_empty()
    {
        let mirrored: Vec<String> = remotes
            .iter()
            .flat_map(|remote| {
                multicluster::topology::EXPORTED
                    .map(|service| multicluster::topology::mirrored_name(service, remote))
            })
            .collect();
        writeln!(
            out,
            "{first}'s front-end calls {} through the exporting cluster's linkerd-gateway",
            mirrored.join(", ")
        )?;
    }
    if !crate::run::stdout::print(&out)? {
        // Nobody reads what it serves (`| head` took its line): end quietly.
        return Ok(());
    }
    stop.wait().await;
    drop(demo);
    Ok(())
}
