//! A live tap session: one stream task per target, restarted when the UI asks for a different
//! tap (`:ns`, `:target`, `:to`, `:maxrps`, a filter pushed down to Linkerd's server).

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::cluster::Cluster;
use super::target::{Resource, TapSpec};
use super::{SourceMsg, TapCommand};

/// Runs the streams for `specs` until `commands` closes (the UI quit), restarting them for every
/// command. A command that makes no sense is reported as a warning and changes nothing.
pub async fn supervise(
    cluster: Cluster,
    mut specs: Vec<TapSpec>,
    reconnect: bool,
    tx: mpsc::Sender<SourceMsg>,
    mut commands: mpsc::Receiver<TapCommand>,
) {
    let mut tasks = spawn(&cluster, &specs, reconnect, &tx);
    while let Some(command) = commands.recv().await {
        match apply(&specs, command) {
            Ok(next) => {
                for task in tasks.drain(..) {
                    task.abort();
                }
                specs = next;
                tasks = spawn(&cluster, &specs, reconnect, &tx);
            }
            Err(message) => {
                let _ = tx.send(SourceMsg::Warning { stream: 0, message }).await;
            }
        }
    }
    for task in tasks {
        task.abort();
    }
}

fn spawn(
    cluster: &Cluster,
    specs: &[TapSpec],
    reconnect: bool,
    tx: &mpsc::Sender<SourceMsg>,
) -> Vec<JoinHandle<()>> {
    specs
        .iter()
        .enumerate()
        .map(|(stream, spec)| {
            let (cluster, spec, tx) = (cluster.clone(), spec.clone(), tx.clone());
            tokio::spawn(async move { cluster.tap(spec, stream, reconnect, tx, None).await })
        })
        .collect()
}

/// The specs after `command`, or why it cannot apply.
pub fn apply(specs: &[TapSpec], command: TapCommand) -> Result<Vec<TapSpec>, String> {
    let Some(first) = specs.first() else {
        return Err("nothing is being tapped".into());
    };
    let namespace = specs
        .iter()
        .map(|s| s.target.namespace.as_str())
        .find(|ns| !ns.is_empty())
        .unwrap_or("default")
        .to_string();
    let mut next = specs.to_vec();
    match command {
        TapCommand::Namespace(ns) => {
            for spec in &mut next {
                if spec.target.kind != "namespace" {
                    spec.target.namespace.clone_from(&ns);
                }
            }
        }
        TapCommand::Targets(targets) => {
            if targets.is_empty() {
                return Err(":target needs at least one TARGET such as deploy/web".into());
            }
            next = targets
                .iter()
                .map(|t| {
                    Resource::parse_target(t, &namespace).map(|target| TapSpec {
                        target,
                        ..first.clone()
                    })
                })
                .collect::<Result<_, _>>()
                .map_err(|e| e.to_string())?;
        }
        TapCommand::To(to) => {
            let to = to
                .map(|t| Resource::parse(&t, &namespace))
                .transpose()
                .map_err(|e| e.to_string())?;
            for spec in &mut next {
                spec.to.clone_from(&to);
            }
        }
        TapCommand::MaxRps(rps) => {
            if !(rps.is_finite() && rps >= 0.0) {
                return Err(format!("max rps must be a positive number, not {rps}"));
            }
            for spec in &mut next {
                spec.max_rps = rps;
            }
        }
        TapCommand::Http(http) => {
            for spec in &mut next {
                spec.http = http.clone();
            }
        }
    }
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::HttpMatch;

    fn specs() -> Vec<TapSpec> {
        vec![TapSpec {
            target: Resource::parse("deploy/web", "shop").expect("target"),
            label_selector: String::new(),
            to: None,
            http: HttpMatch::default(),
            max_rps: 100.0,
            extract_headers: true,
        }]
    }

    #[test]
    fn commands_change_the_specs() {
        let ns = apply(&specs(), TapCommand::Namespace("prod".into())).expect("ns");
        assert_eq!(ns[0].target.namespace, "prod");
        let targets = apply(&specs(), TapCommand::Targets(vec!["po/a".into(), "ns/x".into()])).expect("targets");
        assert_eq!(targets.len(), 2);
        assert_eq!(targets[0].target.namespace, "shop");
        assert!(targets[1].extract_headers);
        let to = apply(&specs(), TapCommand::To(Some("svc/api".into()))).expect("to");
        assert_eq!(to[0].to.as_ref().map(|r| r.kind), Some("service"));
        let rps = apply(&specs(), TapCommand::MaxRps(5.0)).expect("rps");
        assert!((rps[0].max_rps - 5.0).abs() < f32::EPSILON);
    }

    #[test]
    fn bad_commands_are_explained() {
        assert!(apply(&specs(), TapCommand::Targets(vec!["widget/x".into()])).is_err());
        assert!(apply(&specs(), TapCommand::MaxRps(f32::NAN)).is_err());
        assert!(apply(&specs(), TapCommand::Targets(Vec::new())).is_err());
    }
}
