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

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use bytes::{Bytes, BytesMut};

use super::topology::{self, EXPORTED, GATEWAY_PORT, Gateway};
use crate::demo::mesh::{Mesh, PodId};
use crate::demo::sim::events::{self, Key, Metas, Parts, Phase};
use crate::demo::sim::{Call, Side, Traffic};
use crate::demo::tapper::crossing::{CrossFeed, Crossing};
use crate::proto::tap::tap_event::http::StreamId;

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
struct Member {
    name: String,
    mesh: Arc<Mesh>,
    gateway: Gateway,
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
    members: Vec<Member>,
    /// Per route: the authority the caller's proxy rewrites a mirrored call to (empty for
    /// routes that never cross).
    authorities: Vec<String>,
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
        Arc::new(ClusterCrossing {
            all: self.clone(),
            me: index,
        })
    }

    /// The crossing calls of epoch `k` that cluster `me` reports, in start order, with starts
    /// on the demo's clock: the first cluster's outbound side of every link, or the inbound
    /// side of the link to `me`.
    fn epoch_calls(&self, me: usize, k: u64) -> Vec<(Call, Side)> {
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

    fn nanos_since_start(&self) -> u64 {
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

#[derive(Debug)]
struct ClusterCrossing {
    all: Arc<Crossings>,
    me: usize,
}

impl Crossing for ClusterCrossing {
    fn feed(&self) -> Box<dyn CrossFeed> {
        let t0 = self.all.nanos_since_start();
        Box::new(Feed {
            all: self.all.clone(),
            me: self.me,
            t0,
            next_epoch: t0 / EPOCH_NS,
            queue: VecDeque::new(),
            metas: Metas::default(),
        })
    }
}

/// One tap's view of the crossings.
#[derive(Debug)]
struct Feed {
    all: Arc<Crossings>,
    me: usize,
    /// When the tap began, on the demo's clock.
    t0: u64,
    next_epoch: u64,
    /// Generated calls not yet offered, starts on the demo's clock.
    queue: VecDeque<(Call, Side)>,
    /// This cluster's own label sets (the caller's source, the server's destination).
    metas: Metas,
}

impl CrossFeed for Feed {
    fn next_before(&mut self, until: u64) -> Option<(Call, Side)> {
        let until = until.saturating_add(self.t0);
        // Bounded: every pass returns or loads one more epoch that begins before `until`.
        loop {
            if let Some(&(mut call, side)) = self.queue.front() {
                if call.start >= until {
                    return None;
                }
                self.queue.pop_front();
                // A tap never sees requests that began before it.
                if call.start < self.t0 {
                    continue;
                }
                call.start -= self.t0;
                return Some((call, side));
            }
            if self.next_epoch.saturating_mul(EPOCH_NS) >= until {
                return None;
            }
            let calls = self.all.epoch_calls(self.me, self.next_epoch);
            self.queue.extend(calls);
            self.next_epoch += 1;
        }
    }

    fn encode(
        &mut self,
        out: &mut BytesMut,
        call: &Call,
        side: Side,
        phase: Phase,
        id: StreamId,
        with_headers: bool,
    ) {
        let all = &self.all;
        let me = &all.members[self.me];
        let mesh = me.mesh.as_ref();
        let authority = all.authorities.get(call.route).map_or("", String::as_str);
        let parts = match side {
            Side::Outbound => {
                let remote = peer_of(all, call);
                Parts {
                    src: events::address(mesh.pods[call.client].ip, call.out_port),
                    dst: events::address(remote.gateway.public_ip, GATEWAY_PORT),
                    src_meta: self.metas.field(mesh, Key::Src(side, call.client)),
                    dst_meta: meta(4, &mirror_labels(mesh, call, &remote.name)),
                    // No ServiceProfile names the mirrored Service.
                    route_meta: meta(7, &BTreeMap::new()),
                    authority,
                }
            }
            Side::Inbound => {
                let port = mesh.workload_of(call.server).container_port;
                Parts {
                    src: events::address(me.gateway.pod_ip, call.in_port),
                    dst: events::address(mesh.pods[call.server].ip, port),
                    src_meta: meta(5, &me.gateway.source_labels()),
                    dst_meta: self
                        .metas
                        .field(mesh, Key::Dst(side, call.server, call.route)),
                    route_meta: self.metas.field(mesh, Key::Route(call.route)),
                    authority,
                }
            }
        };
        events::encode_parts(out, &parts, call, side, phase, id, with_headers);
    }

    fn authority(&self, call: &Call, _side: Side) -> String {
        self.all
            .authorities
            .get(call.route)
            .cloned()
            .unwrap_or_default()
    }

    fn destination_labels(&mut self, call: &Call, side: Side) -> BTreeMap<String, String> {
        match side {
            Side::Outbound => {
                let mesh = self.all.members[self.me].mesh.as_ref();
                mirror_labels(mesh, call, &peer_of(&self.all, call).name)
            }
            // An inbound proxy's own destination labels never hold these (see `Session`).
            Side::Inbound => BTreeMap::new(),
        }
    }

    fn wall_now(&self) -> u64 {
        self.all.nanos_since_start().saturating_sub(self.t0)
    }
}

/// The other cluster of a crossing call.
fn peer_of<'a>(all: &'a Crossings, call: &Call) -> &'a Member {
    let index = usize::from(call.peer.unwrap_or(0));
    &all.members[index.min(all.members.len().saturating_sub(1))]
}

/// The labels the caller's proxy reports for the mirrored Service of `call`'s server.
fn mirror_labels(mesh: &Mesh, call: &Call, remote: &str) -> BTreeMap<String, String> {
    let w = mesh.workload_of(call.server);
    topology::mirror_labels(w.service.unwrap_or(w.name), w.namespace, remote)
}

fn meta(tag: u32, labels: &BTreeMap<String, String>) -> Bytes {
    events::meta_field(tag, labels)
}

#[cfg(test)]
mod tests {
    use prost::Message as _;

    use super::*;
    use crate::proto::tap::TapEvent;

    fn crossings() -> Arc<Crossings> {
        let names = ["east", "west", "north"].map(str::to_owned);
        Crossings::new(&names, 7, 500.0)
    }

    fn feed(all: &Arc<Crossings>, me: usize, t0: u64) -> Feed {
        Feed {
            all: all.clone(),
            me,
            t0,
            next_epoch: t0 / EPOCH_NS,
            queue: VecDeque::new(),
            metas: Metas::default(),
        }
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

    #[test]
    fn a_tap_sees_only_calls_from_its_start_on_its_own_clock() {
        let all = crossings();
        let t0 = 2 * EPOCH_NS + EPOCH_NS / 2;
        let mut tap = feed(&all, 1, t0);
        let mut seen = Vec::new();
        // Bounded: two seconds of calls at a few hundred per second.
        while let Some((call, side)) = tap.next_before(2 * EPOCH_NS) {
            assert_eq!(side, Side::Inbound);
            seen.push(call.start);
            assert!(seen.len() < 10_000);
        }
        assert!(!seen.is_empty());
        assert!(seen.windows(2).all(|w| w[0] <= w[1]), "in start order");
        let expected: Vec<u64> = (2..5)
            .flat_map(|k| all.epoch_calls(1, k))
            .map(|(c, _)| c.start)
            .filter(|&s| s >= t0 && s < t0 + 2 * EPOCH_NS)
            .map(|s| s - t0)
            .collect();
        assert_eq!(seen, expected);
    }

    #[test]
    fn outbound_goes_to_the_mirror_through_the_gateway_inbound_comes_from_it() {
        let all = crossings();
        let (call, _) = all.epoch_calls(1, 0)[0];
        let decode = |me: usize, side: Side, call: &Call| {
            let mut out = BytesMut::new();
            let id = StreamId { base: 0, stream: 0 };
            feed(&all, me, 0).encode(&mut out, call, side, Phase::RequestInit, id, true);
            TapEvent::decode(&out[4..]).expect("event")
        };
        let mut outbound_call = call;
        outbound_call.peer = Some(1);
        let east = decode(0, Side::Outbound, &outbound_call);
        let dst = east.destination_meta.expect("dst").labels;
        assert!(dst["service"].ends_with("-west"), "{dst:?}");
        assert_eq!(dst["target_cluster"], "west");
        let gateway = all.gateway(1).expect("west");
        let to = east.destination.expect("addr");
        assert_eq!(to.port, u32::from(GATEWAY_PORT));
        assert_eq!(
            to.ip.and_then(|ip| ip.ip),
            Some(crate::proto::net::ip_address::Ip::Ipv4(u32::from(
                gateway.public_ip
            )))
        );
        let west = decode(1, Side::Inbound, &call);
        let src = west.source_meta.expect("src").labels;
        assert_eq!(src["client_id"], topology::gateway_identity());
        assert_eq!(src["pod"], gateway.pod);
    }
}
