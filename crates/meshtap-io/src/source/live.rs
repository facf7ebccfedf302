//! A live tap session: one stream task per target, restarted when the UI asks for a different
//! tap (`:ns`, `:target`, `:to`, `:maxrps`, a filter pushed down to Linkerd's server).

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::cluster::Cluster;
use super::target::{Resource, TapSpec};
use crate::session::{HttpMatch, SourceMsg, TapCommand};

/// Runs the streams for `specs` until `commands` closes (the UI quit), restarting them for every
/// command. A command that makes no sense is reported as a warning and changes nothing.
pub async fn supervise(
    cluster: Cluster,
    mut specs: Vec<TapSpec>,
    reconnect: bool,
    tx: mpsc::Sender<SourceMsg>,
    mut commands: mpsc::Receiver<TapCommand>,
    raw: Option<mpsc::Sender<Bytes>>,
) {
    let cli = CliMatches::of(&specs);
    let mut tasks = spawn(&cluster, &specs, reconnect, &tx, raw.as_ref());
    tasks.extend(spawn_pods(&cluster, &specs, &tx));
    while let Some(command) = commands.recv().await {
        match apply(&specs, &cli, command) {
            Ok(next) => {
                for task in tasks.drain(..) {
                    task.abort();
                }
                specs = next;
                tasks = spawn(&cluster, &specs, reconnect, &tx, raw.as_ref());
                tasks.extend(spawn_pods(&cluster, &specs, &tx));
            }
            Err(message) => {
                let stream = first_stream(&cluster, specs.len());
                let _ = tx.send(SourceMsg::Warning { stream, message }).await;
            }
        }
    }
    for task in tasks {
        task.abort();
    }
}

/// Where `cluster`'s streams start: every cluster taps the same targets, so cluster `i`'s
/// streams follow the `i × targets` streams of the clusters before it.
pub fn first_stream(cluster: &Cluster, targets: usize) -> usize {
    cluster.index * targets
}

/// One task per spec, each tapping until its stream ends for good (headless runs use this
/// alone; the supervisor restarts them on the UI's commands).
pub fn spawn(
    cluster: &Cluster,
    specs: &[TapSpec],
    reconnect: bool,
    tx: &mpsc::Sender<SourceMsg>,
    raw: Option<&mpsc::Sender<Bytes>>,
) -> Vec<JoinHandle<()>> {
    let first = first_stream(cluster, specs.len());
    specs
        .iter()
        .enumerate()
        .map(|(i, spec)| {
            let stream = first + i;
            let (cluster, spec, tx) = (cluster.clone(), spec.clone(), tx.clone());
            let raw = raw.cloned();
            tokio::spawn(async move { cluster.tap(spec, stream, reconnect, tx, raw).await })
        })
        .collect()
}

/// One task per spec listing its target's pods for tap health (see [`super::pods::watch`]),
/// numbered like the streams of [`spawn`].
pub fn spawn_pods(
    cluster: &Cluster,
    specs: &[TapSpec],
    tx: &mpsc::Sender<SourceMsg>,
) -> Vec<JoinHandle<()>> {
    let first = first_stream(cluster, specs.len());
    specs
        .iter()
        .enumerate()
        .map(|(i, spec)| {
            let watch = super::pods::watch(cluster.clone(), spec.clone(), first + i, tx.clone());
            tokio::spawn(watch)
        })
        .collect()
}

/// The server-side matches given on the command line. A filter pushed down from the UI applies
/// on top of them: clearing the filter brings them back rather than dropping them.
#[derive(Clone, Debug, Default)]
pub struct CliMatches {
    http: HttpMatch,
    to: Option<Resource>,
}

impl CliMatches {
    pub fn of(specs: &[TapSpec]) -> Self {
        specs.first().map_or_else(Self::default, |s| Self {
            http: s.http.clone(),
            to: s.to.clone(),
        })
    }
}

/// The specs after `command`, or why it cannot apply.
pub fn apply(
    specs: &[TapSpec],
    cli: &CliMatches,
    command: TapCommand,
) -> Result<Vec<TapSpec>, String> {
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
            let to = match to {
                Some(t) => Some(Resource::parse(&t, &namespace).map_err(|e| e.to_string())?),
                None => cli.to.clone(),
            };
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
            let merged = HttpMatch {
                method: http.method.or_else(|| cli.http.method.clone()),
                path: http.path.or_else(|| cli.http.path.clone()),
                authority: http.authority.or_else(|| cli.http.authority.clone()),
                scheme: http.scheme.or_else(|| cli.http.scheme.clone()),
            };
            for spec in &mut next {
                spec.http = merged.clone();
            }
        }
    }
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let ns = apply(
            &specs(),
            &CliMatches::default(),
            TapCommand::Namespace("prod".into()),
        )
        .expect("ns");
        assert_eq!(ns[0].target.namespace, "prod");
        let targets = apply(
            &specs(),
            &CliMatches::default(),
            TapCommand::Targets(vec!["po/a".into(), "ns/x".into()]),
        )
        .expect("targets");
        assert_eq!(targets.len(), 2);
        assert_eq!(targets[0].target.namespace, "shop");
        assert!(targets[1].extract_headers);
        let to = apply(
            &specs(),
            &CliMatches::default(),
            TapCommand::To(Some("svc/api".into())),
        )
        .expect("to");
        assert_eq!(to[0].to.as_ref().map(|r| r.kind), Some("service"));
        let rps = apply(&specs(), &CliMatches::default(), TapCommand::MaxRps(5.0)).expect("rps");
        assert!((rps[0].max_rps - 5.0).abs() < f32::EPSILON);
    }

    #[test]
    fn pushed_down_filters_apply_on_top_of_the_command_line() {
        let mut base = specs();
        base[0].http.method = Some("GET".into());
        base[0].to = Some(Resource::parse("deploy/api", "shop").expect("to"));
        let cli = CliMatches::of(&base);
        let pushed = HttpMatch {
            path: Some("/v1".into()),
            ..HttpMatch::default()
        };
        let next = apply(&base, &cli, TapCommand::Http(pushed)).expect("http");
        assert_eq!(
            next[0].http.method.as_deref(),
            Some("GET"),
            "--method survives"
        );
        assert_eq!(next[0].http.path.as_deref(), Some("/v1"));
        let cleared = apply(&next, &cli, TapCommand::Http(HttpMatch::default())).expect("clear");
        assert_eq!(cleared[0].http, base[0].http);
        let to = apply(&next, &cli, TapCommand::To(None)).expect("to");
        assert_eq!(to[0].to, base[0].to, "clearing to= brings --to back");
    }

    #[test]
    fn bad_commands_are_explained() {
        assert!(
            apply(
                &specs(),
                &CliMatches::default(),
                TapCommand::Targets(vec!["widget/x".into()])
            )
            .is_err()
        );
        assert!(
            apply(
                &specs(),
                &CliMatches::default(),
                TapCommand::MaxRps(f32::NAN)
            )
            .is_err()
        );
        assert!(
            apply(
                &specs(),
                &CliMatches::default(),
                TapCommand::Targets(Vec::new())
            )
            .is_err()
        );
    }
}
