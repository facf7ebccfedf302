//! `meshtap check`: connects to each context asked, runs the probes, prints the table or
//! Linkerd's JSON, and exits 1 when a required check failed.

use std::process::ExitCode;

use crate::check::probes::{self, Wanted};
use crate::check::{Category, Report};
use crate::cli::{CheckArgs, CheckOutput};
use crate::source::cluster::{Cluster, Contexts, Environment, load_kubeconfig};
use crate::source::target::Resource;

pub async fn run(args: &CheckArgs) -> anyhow::Result<ExitCode> {
    let report = match report(args).await {
        Ok(report) => report,
        // `linkerd check` reads stdout as JSON: an input error is a failed check there too,
        // never an empty stdout.
        Err(error) if matches!(args.output, CheckOutput::Json) => {
            Report::new(vec![probes::refused(&format!("{error:#}"))])
        }
        Err(error) => return Err(error),
    };
    let text = match args.output {
        CheckOutput::Json => format!("{}\n", report.to_json()),
        CheckOutput::Table => report.to_table(),
    };
    // A reader that went away (`| head`) has what it wanted; the exit status still says how
    // the checks went.
    super::stdout::print(text)?;
    Ok(if report.success {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Every context of `--context A,B` or `--all-contexts` (or the current one), each checked in turn.
pub async fn report(args: &CheckArgs) -> anyhow::Result<Report> {
    let contexts: Vec<Option<String>> =
        match Contexts::new(&args.tap.context, args.tap.all_contexts) {
            Contexts::Current => vec![None],
            Contexts::Named(names) => names.into_iter().map(Some).collect(),
            Contexts::All => {
                let options = super::kube_options(&args.tap, None);
                load_kubeconfig(&options, &Environment::from_process())
                    .map_err(anyhow::Error::new)?
                    .contexts
                    .into_iter()
                    .map(|c| Some(c.name))
                    .collect()
            }
        };
    let several = contexts.len() > 1;
    let mut categories: Vec<Category> = Vec::new();
    for context in contexts {
        let label = if several {
            context.clone().unwrap_or_default()
        } else {
            String::new()
        };
        let options = super::kube_options(&args.tap, context.clone());
        match Cluster::connect(&options).await {
            Ok(cluster) => {
                let wanted = wanted(args, &cluster)?;
                categories.extend(probes::run(&cluster, &label, &wanted).await);
            }
            Err(error) => {
                let name = context.as_deref().unwrap_or("(current)");
                categories.push(probes::unreachable(&label, name, &error));
            }
        }
    }
    Ok(Report::new(categories))
}

/// The taps the user means: the targets given, else deployments in the namespace.
fn wanted(args: &CheckArgs, cluster: &Cluster) -> anyhow::Result<Wanted> {
    let mut tap = args.tap.clone();
    let namespace = tap
        .namespace
        .clone()
        .unwrap_or_else(|| cluster.default_namespace.clone());
    if tap.targets.is_empty() {
        tap.targets = vec![format!("ns/{namespace}")];
    }
    let specs = super::specs(&tap, &cluster.default_namespace, false)?;
    let mut taps: Vec<(String, String)> = if args.tap.targets.is_empty() {
        vec![(namespace, "deployments".to_owned())]
    } else {
        specs.iter().map(|s| plural_in(&s.target)).collect()
    };
    taps.dedup();
    let tap_test = args.tap_test.then(|| specs.into_iter().next()).flatten();
    Ok(Wanted { taps, tap_test })
}

/// The tap subresource's (namespace, plural) for a target, as RBAC names it.
fn plural_in(target: &Resource) -> (String, String) {
    let namespace = if target.kind == "namespace" {
        target.name.clone()
    } else {
        target.namespace.clone()
    };
    (namespace, format!("{}s", target.kind))
}
