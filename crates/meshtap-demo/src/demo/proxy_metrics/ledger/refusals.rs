//! The server proxies' refusal counters, kept consistent with what tap showed.
//!
//! The ledger counts its own seeded stream of calls, and each tap session simulates its own:
//! statistically the same traffic, not the same calls. For most figures that is what a scrape
//! of a busy mesh looks like, but a refusal is rare and explain reasons about single ones ("the
//! destination's proxy counted no refusal of this client"), so a refusal a tap showed must be
//! in the counters too. Each `inbound_http_authz_deny_total` series is therefore the larger of
//! the ledger's own count and the refusals the taps witnessed: never fewer than either, never
//! their sum (one traffic, seen twice).

use super::Ledger;
use crate::demo::mesh::PodId;
use crate::demo::proxy_metrics::attribution::attribute;
use crate::demo::proxy_metrics::families::{self, Labels};
use crate::demo::sim::Call;

/// Who saw a refusal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Seen {
    /// The ledger's own stream.
    Counted,
    /// A tap session showed it.
    Tapped,
}

/// Per (server pod, deny labels): the ledger's own count and the taps' count.
pub(super) type Refusals = std::collections::BTreeMap<(PodId, Labels), (u64, u64)>;

impl Ledger {
    /// A refusal a tap session showed (`call` was denied by its server's proxy).
    pub fn witness_refusal(&mut self, call: &Call) {
        if !call.routed.denied {
            return;
        }
        let a = attribute(&self.mesh, self.traffic.routing(), call);
        if let Some(labels) = a.denied {
            self.refused(call.server, labels, Seen::Tapped);
        }
    }

    /// Counts one refusal by `pod`'s proxy; the series shows the larger of the two counts.
    pub(super) fn refused(&mut self, pod: PodId, labels: Labels, seen: Seen) {
        let counts = self.refusals.entry((pod, labels.clone())).or_default();
        let before = counts.0.max(counts.1);
        match seen {
            Seen::Counted => counts.0 += 1,
            Seen::Tapped => counts.1 += 1,
        }
        let raised = counts.0.max(counts.1) - before;
        if raised > 0
            && let Some(series) = self.pods.get_mut(pod)
        {
            series.count(families::AUTHZ_DENY, labels, raised);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::super::tests::total;
    use super::*;
    use crate::demo::mesh::Mesh;
    use crate::demo::sim::Traffic;

    const RATE: f64 = 2_000.0;
    /// Long enough for the ledger's own stream to refuse several calls.
    const UNTIL_NS: u64 = 20_000_000_000;

    /// Refused calls of another seeded stream (a tap's), at most `n`.
    fn tapped_refusals(mesh: &Arc<Mesh>, n: usize) -> Vec<Call> {
        let mut traffic = Traffic::new(mesh.clone(), 99, RATE);
        let mut out = Vec::new();
        while out.len() < n
            && let Some(call) = traffic.next_before(UNTIL_NS)
        {
            if call.routed.denied {
                out.push(call);
            }
        }
        out
    }

    #[test]
    fn a_refusal_a_tap_showed_is_counted_and_never_twice() {
        let mesh = Arc::new(Mesh::demo());
        let deny = |ledger: &Ledger| total(ledger, &mesh, "inbound_http_authz_deny_total", &[]);
        // Before the ledger's own stream refused anything, what taps showed is counted.
        let mut ledger = Ledger::new(mesh.clone(), 5, RATE);
        let shown = tapped_refusals(&mesh, 2);
        assert_eq!(
            shown.len(),
            2,
            "the demo refuses some orders → payment calls"
        );
        for call in &shown {
            ledger.witness_refusal(call);
        }
        assert!(
            (deny(&ledger) - 2.0).abs() < f64::EPSILON,
            "{}",
            deny(&ledger)
        );
        // The ledger's own refusals of the same series are not added on top: one traffic.
        ledger.advance(UNTIL_NS);
        let own: u64 = ledger.refusals.values().map(|(own, _)| own).sum();
        let expected: u64 = ledger.refusals.values().map(|(o, t)| *o.max(t)).sum();
        assert!(own > 2, "{own}");
        assert!((deny(&ledger) - expected as f64).abs() < f64::EPSILON);
        let summed: u64 = ledger.refusals.values().map(|(o, t)| o + t).sum();
        assert!(expected < summed, "{expected} {summed}");
    }
}
