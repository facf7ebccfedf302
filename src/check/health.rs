//! `meshtap check --proxy`: the per-pod tap health of each target, one check per pod (Linkerd's
//! check format has no table, so the verdict is the description, the cause the error and the
//! fix the hint). A pod tap cannot reach is a warning: meshtap itself works.

use chrono::Utc;

use super::{Category, Check, Outcome};
use crate::health::{Observed, TargetHealth, Verdict};
use crate::source::cluster::Cluster;
use crate::source::pods::tap_health;
use crate::source::target::TapSpec;

/// One category per target: its summary, then each pod.
pub async fn run(cluster: &Cluster, label: &str, specs: &[TapSpec]) -> Vec<Category> {
    let mut categories = Vec::with_capacity(specs.len());
    for spec in specs {
        // Nothing tapped yet: the verdicts come from the pods' facts alone.
        let health = tap_health(cluster, spec, &Observed::default(), None, Utc::now()).await;
        let name = format!("meshtap tap health {}", health.target);
        categories.push(super::probes::category(&name, label, checks(&health)));
    }
    categories
}

fn checks(health: &TargetHealth) -> Vec<Check> {
    let summary = match &health.error {
        Some(error) => {
            Check::failed(health.summary.clone(), error.clone(), String::new()).warning()
        }
        None if health.tapped_pods == 0 => Check::failed(
            health.summary.clone(),
            "Linkerd's tap server will answer \"no pods to tap\"",
            "fix the pods below",
        ),
        None => Check::success(health.summary.clone()),
    };
    let mut checks = vec![summary];
    let mut pods: Vec<_> = health.pods.iter().collect();
    pods.sort_by(|a, b| a.pod.cmp(&b.pod));
    for pod in pods {
        let description = format!("pod {}: {}", pod.pod, pod.verdict.name());
        checks.push(if pod.verdict == Verdict::Tappable {
            Check::success(description)
        } else {
            Check {
                description,
                hint: pod.fix.clone(),
                error: pod.cause.clone(),
                result: Outcome::Warning,
            }
        });
    }
    checks
}
