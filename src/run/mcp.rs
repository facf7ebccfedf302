//! `meshtap mcp`: a session (a cluster or several, the simulated demo mesh, or a replayed
//! capture) whose sink is the MCP server on stdio. The session flags mean what they mean for
//! `tap`; those that have no meaning here (`--filter`, `--trigger`) are refused by the pipeline.

use std::process::ExitCode;

use crate::cli::McpArgs;
use crate::pipeline::outputs::Outputs;
use crate::pipeline::{self, McpSink, Sink};
use crate::source::cluster::Cluster;

pub async fn run(args: McpArgs) -> anyhow::Result<ExitCode> {
    let recordings = [args.session.record.clone(), args.session.record_dir.clone()]
        .into_iter()
        .flatten()
        .collect();
    if let Some(file) = &args.replay {
        anyhow::ensure!(
            args.tap.targets.is_empty(),
            "TARGET chooses what a live tap taps; --replay serves every request of the capture"
        );
        let sink = Sink::Mcp(McpSink {
            max_rps: None,
            recordings,
        });
        let replay = super::map::replay_args(file, args.session)?;
        return super::replay::into(&replay, sink).await;
    }
    let sink = Sink::Mcp(McpSink {
        max_rps: Some(args.tap.max_rps),
        recordings,
    });
    let outputs = Outputs::open(&args.session)?;
    let mut tap = args.tap.clone();
    // The demo's control plane must live as long as the session.
    let mut _demo = None;
    let clusters = if args.demo {
        let demo = super::start_demo(&super::map::demo_args(&tap)?).await?;
        let cluster = Cluster::from_kubeconfig(demo.kubeconfig.clone(), None).await?;
        _demo = Some(demo);
        if tap.targets.is_empty() {
            tap.targets = super::DEMO_TARGETS
                .iter()
                .map(ToString::to_string)
                .collect();
        }
        vec![cluster]
    } else {
        anyhow::ensure!(
            !tap.targets.is_empty(),
            "nothing to tap: give a TARGET such as ns/emojivoto, or --demo, or --replay FILE|DIR"
        );
        super::clusters::connect_all(&tap).await?
    };
    let source = super::clusters::source(&clusters, &tap, &args.session, &sink)?;
    pipeline::run_session(source, sink, outputs).await
}
