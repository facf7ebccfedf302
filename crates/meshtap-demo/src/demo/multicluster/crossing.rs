//! The calls that cross clusters in `demo --clusters`: the first cluster's front-end calls the
//! Services every other cluster exports, through their mirrored Services and gateways.
//!
//! Both sides of one call must show up in two independent taps of two control planes, so the
//! calls cannot come from a tap's own seeded stream (which starts at the tap). They are a
//! function of the demo's start instant instead: time is cut into one-second epochs, each
//! epoch's calls per link are drawn from a generator seeded by (seed, link, epoch), and a tap
//! beginning at any moment regenerates exactly the calls that any other cluster's tap sees.
//! Crossing taps run their virtual clocks on the wall clock (`CrossFeed::wall_now`), so the
//! server's inbound side is delivered inside the client's outbound span.

use std::sync::Arc;
use std::time::Instant;

use super::topology::{self, EXPORTED, Gateway};
use crate::demo::mesh::{Mesh, PodId};
use crate::demo::sim::{Call, Side, Traffic};
use crate::demo::tapper::crossing::Crossing;

/// Length of one epoch of crossing calls.
pub const EPOCH_NS: u64 = 1_000_000_000;
/// Each link carries this share of the mesh's request rate.
pub const LINK_RATE_SHARE: f64 = 0.1;
/// Extra one-way delay between clusters (source proxy → remote gateway → server), on each way:
/// two regions apart. Longer than a tap tick, so the server's side of a call also arrives
/// inside the client's side.
const WAN_NS: (u64, u64) = (20_000_000, 35_000_000);
/// The workload that calls other clusters.
const CALLER: &str = "front-end";

/// One cluster of the demo.
#[derive(Debug)]
pub(super) struct Member {
    pub(super) name: String,
    pub(super) mesh: Arc<Mesh>,
    pub(super) gateway: Gateway,
}

/// Every crossing call of the demo, shared by all its clusters.
#[derive(Debug)]
pub struct Crossings {
    started: Instant,
    seed: u64,
    rate: f64,
    /// The caller and the exported workloads only: the calls are drawn on this mesh.
    sub: Arc<Mesh>,
    /// `sub`'s pods as pods of the full topology (the same in every cluster).
    to_full: Vec<PodId>,
    pub(super) members: Vec<Member>,
    /// Per route: the authority the caller's proxy rewrites a mirrored call to (empty for
    /// routes that never cross).
    pub(super) authorities: Vec<String>,
}

impl Crossings {
    /// The crossings between clusters `names` (the first calls all the others) at `rate`
    /// requests per second per link, starting now.
    pub fn new(names: &[String], seed: u64, rate: f64) -> Arc<Self> {
        let (sub, to_full) = callers_and_exports();
        let members = names
            .iter()
            .enumerate()
            .map(|(index, name)| Member {
                name: name.clone(),
                mesh: Arc::new(topology::mesh(index, name)),
                gateway: Gateway::of(index, name),
            })
            .collect();
        let authorities = crate::demo::sim::routes::ROUTES
            .iter()
            .map(|route| {
                let exported = (route.client == CALLER && EXPORTED.contains(&route.server))
                    .then(|| sub.workload_named(route.server))
                    .flatten();
                exported.map_or_else(String::new, |w| {
                    let w = &sub.workloads[w];
                    let service = w.service.unwrap_or(w.name);
                    // The destination controller's authority override: the remote Service's
                    // fully qualified name and the port the caller dialled.
                    let fq = topology::remote_fq_name(service, w.namespace);
                    format!("{fq}:{}", w.service_port)
                })
            })
            .collect();
        Arc::new(Self {
            started: Instant::now(),
            seed,
            rate: rate * LINK_RATE_SHARE,
            sub: Arc::new(sub),
            to_full,
            members,
            authorities,
        })
    }

    /// Cluster `index`'s mesh.
    pub fn mesh(&self, index: usize) -> Option<&Mesh> {
        self.members.get(index).map(|m| m.mesh.as_ref())
    }

    /// Cluster `index`'s gateway.
    pub fn gateway(&self, index: usize) -> Option<&Gateway> {
        self.members.get(index).map(|m| &m.gateway)
    }

    /// What cluster `index`'s taps see of the crossings.
    pub fn for_cluster(self: &Arc<Self>, index: usize) -> Arc<dyn Crossing> {
        Arc::new(super::feed::ClusterCrossing {
            all: self.clone(),
            me: index,
        })
    }

    /// The crossing calls of epoch `k` that cluster `me` reports, in start order, with starts
    /// on the demo's clock: the first cluster's outbound side of every link, or the inbound
    /// side of the link to `me`.
    pub(super) fn epoch_calls(&self, me: usize, k: u64) -> Vec<(Call, Side)> {
        let remotes = if me == 0 {
            1..self.members.len()
        } else {
            me..me + 1
        };
        let mut out = Vec::new();
        for remote in remotes {
            // Seeded by link and epoch only, never by the reporting cluster: both ends agree.
            let seed = self.seed
                ^ (remote as u64).wrapping_mul(0xa076_1d64_78bd_642f)
                ^ k.wrapping_mul(0x9e37_79b9_7f4a_7c15);
            let mut traffic = Traffic::new(self.sub.clone(), seed, self.rate);
            // Bounded: the stream ends at the end of the epoch.
            while let Some(mut call) = traffic.next_before(EPOCH_NS) {
                call.client = self.to_full[call.client];
                call.server = self.to_full[call.server];
                call.start += k * EPOCH_NS;
                let wan = WAN_NS.0 + call.token % (WAN_NS.1 - WAN_NS.0);
                call.in_delay += wan;
                call.hop_ns += wan;
                let (side, peer) = if me == 0 {
                    (Side::Outbound, remote)
                } else {
                    (Side::Inbound, 0)
                };
                call.peer = u8::try_from(peer).ok();
                out.push((call, side));
            }
        }
        out.sort_by_key(|(call, _)| call.start);
        out
    }

    pub(super) fn nanos_since_start(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

/// The calling workload and the exported ones, as a mesh of their own, with each pod's index
/// in the full topology.
fn callers_and_exports() -> (Mesh, Vec<PodId>) {
    let full = Mesh::demo();
    let mut sub = Mesh {
        workloads: Vec::new(),
        pods: Vec::new(),
    };
    let mut to_full = Vec::new();
    let kept = full
        .workloads
        .iter()
        .filter(|w| w.name == CALLER || EXPORTED.contains(&w.name));
    for workload in kept {
        let id = sub.workloads.len();
        let mut copy = workload.clone();
        copy.pods.clear();
        for &pod in &workload.pods {
            let mut p = full.pods[pod].clone();
            p.workload = id;
            copy.pods.push(sub.pods.len());
            sub.pods.push(p);
            to_full.push(pod);
        }
        sub.workloads.push(copy);
    }
    (sub, to_full)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crossings() -> Arc<Crossings> {
        let names = ["east", "west", "north"].map(str::to_owned);
        Crossings::new(&names, 7, 500.0)
    }

    #[test]
    fn both_ends_draw_the_same_calls() {
        let all = crossings();
        for k in [0, 5, 1_000] {
            let from_east: Vec<_> = all
                .epoch_calls(0, k)
                .into_iter()
                .filter(|(c, _)| c.peer == Some(1))
                .collect();
            let at_west = all.epoch_calls(1, k);
            assert!(!from_east.is_empty());
            assert_eq!(from_east.len(), at_west.len());
            for ((a, sa), (b, sb)) in from_east.iter().zip(&at_west) {
                assert_eq!((sa, sb), (&Side::Outbound, &Side::Inbound));
                assert_eq!(b.peer, Some(0));
                let key = |c: &Call| (c.start, c.token, c.route, c.client, c.server);
                assert_eq!(key(a), key(b));
                assert!(a.start >= k * EPOCH_NS && a.start < (k + 1) * EPOCH_NS);
                // The server's side lies inside the client's.
                let (out, inb) = (a.timeline(Side::Outbound), a.timeline(Side::Inbound));
                assert!(inb.request_at >= out.request_at + WAN_NS.0);
                assert!(inb.release_at <= out.release_at);
            }
        }
    }
}
