//! One tap's view of the crossing calls: the calls of the epochs it spans, rebased to its own
//! clock, and their events encoded with the other cluster's addresses and labels.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};

use super::crossing::{Crossings, EPOCH_NS, Member};
use super::topology::{self, GATEWAY_PORT};
use crate::demo::mesh::Mesh;
use crate::demo::sim::events::{self, Key, Metas, Parts, Phase};
use crate::demo::sim::{Call, Side};
use crate::demo::tapper::crossing::{CrossFeed, Crossing};
use crate::proto::tap::tap_event::http::StreamId;

/// Hands each new tap of cluster `me` its [`Feed`].
#[derive(Debug)]
pub(super) struct ClusterCrossing {
    pub(super) all: Arc<Crossings>,
    pub(super) me: usize,
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

    /// A `--to` match on the mirrored Service keeps only east's crossing calls, reported by the
    /// tapped front-end proxies like their local calls.
    #[test]
    fn a_session_matches_and_samples_crossing_calls_like_local_ones() {
        use crate::demo::tapper::{Condition, Plan, Session, fresh_bases};

        let all = crossings();
        let mesh = Arc::new(all.mesh(0).expect("east").clone());
        let front_end = mesh.workload_named("front-end").expect("front-end");
        let plan = Plan {
            pods: mesh.workloads[front_end].pods.clone(),
            limit: u32::MAX,
            conditions: vec![Condition::DestinationLabel(
                "service".into(),
                "catalogue-west".into(),
            )],
            headers: false,
        };
        let bases = fresh_bases(&mesh);
        let mut session =
            Session::new(mesh, 3, 500.0, plan, bases).with_crossing(Box::new(feed(&all, 0, 0)));
        let mut out = BytesMut::new();
        session.advance(3 * EPOCH_NS, &mut out);
        let mut events = Vec::new();
        // Bounded by the bytes produced.
        while out.len() >= 4 {
            let len = u32::from_le_bytes([out[0], out[1], out[2], out[3]]) as usize;
            let frame = out.split_to(4 + len);
            events.push(TapEvent::decode(&frame[4..]).expect("event"));
        }
        assert!(events.len() >= 3, "{}", events.len());
        for event in &events {
            let dst = &event.destination_meta.as_ref().expect("dst").labels;
            assert_eq!(dst["service"], "catalogue-west");
        }
    }
}
