//! Crossing requests recognised from their labels and names, and linked only when one fits.

use std::collections::VecDeque;

use chrono::{DateTime, TimeDelta, Utc};

use super::*;
use crate::model::event::{ClusterName, Endpoint, Labels, RequestInit, StreamId};

const GATEWAY_ID: &str =
    "linkerd-gateway.linkerd-multicluster.serviceaccount.identity.linkerd.cluster.local";
const FRONT_ID: &str = "front-end.sock-shop.serviceaccount.identity.linkerd.cluster.local";

fn at(ms: i64) -> DateTime<Utc> {
    DateTime::<Utc>::UNIX_EPOCH + TimeDelta::milliseconds(ms)
}

fn clusters() -> Vec<String> {
    vec!["east".to_owned(), "west".to_owned()]
}

/// Label pairs of one endpoint.
type Pairs<'a> = &'a [(&'a str, &'a str)];

fn request(
    seq: u64,
    cluster: &str,
    direction: Direction,
    authority: &str,
    (src, dst): (Pairs, Pairs),
    (started, ended): (i64, i64),
) -> Request {
    Request {
        cluster: Some(ClusterName::new(cluster)),
        seq,
        direction,
        source: Endpoint {
            addr: None,
            labels: src.iter().copied().collect::<Labels>(),
        },
        destination: Endpoint {
            addr: None,
            labels: dst.iter().copied().collect::<Labels>(),
        },
        route: Labels::default(),
        started: at(started),
        ended_at: Some(at(ended)),
        init: Some(RequestInit {
            id: StreamId::default(),
            method: Some("GET".into()),
            scheme: None,
            authority: authority.into(),
            path: "/carts/1".into(),
            headers: crate::model::event::Headers::default(),
            matched_route: None,
        }),
        response: None,
        end: None,
        expired: false,
        superseded: false,
        other_side: None,
    }
}

/// east's front-end calling west's carts through the mirrored service `carts-west`.
fn leaving(seq: u64, started: i64) -> Request {
    request(
        seq,
        "east",
        Direction::Outbound,
        "carts-west.sock-shop.svc.cluster.local:80",
        (
            &[("deployment", "front-end"), ("namespace", "sock-shop")],
            &[("server_id", GATEWAY_ID), ("tls", "true")],
        ),
        (started, started + 50),
    )
}

/// west's carts receiving it from west's gateway.
fn arriving(seq: u64, started: i64) -> Request {
    request(
        seq,
        "west",
        Direction::Inbound,
        "carts.sock-shop.svc.cluster.local:80",
        (
            &[("client_id", GATEWAY_ID), ("tls", "true")],
            &[("deployment", "carts"), ("namespace", "sock-shop")],
        ),
        (started, started + 20),
    )
}

#[test]
fn leaving_and_arriving_are_recognised() {
    assert_eq!(
        crossing(&leaving(0, 0), &clusters()),
        Some(Crossing::Leaving {
            to: Some("west".into())
        })
    );
    assert_eq!(
        crossing(&arriving(1, 10), &clusters()),
        Some(Crossing::Arriving)
    );
    // The mirror label names the cluster even when it is not open in this session.
    let mut labelled = leaving(0, 0);
    labelled.destination.labels = [(MIRROR_CLUSTER_LABEL, "south")].into_iter().collect();
    assert_eq!(
        crossing(&labelled, &clusters()),
        Some(Crossing::Leaving {
            to: Some("south".into())
        })
    );
    // As a real proxy reports it: the authority already rewritten to the remote service, the
    // cluster named by the destination controller's label or the mirrored service's name.
    for dst in [
        [("target_cluster", "west"), ("server_id", GATEWAY_ID)],
        [("service", "carts-west"), ("server_id", GATEWAY_ID)],
    ] {
        let mut rewritten = leaving(0, 0);
        rewritten.destination.labels = dst.into_iter().collect();
        if let Some(init) = rewritten.init.as_mut() {
            init.authority = "carts.sock-shop.svc.cluster.local:80".into();
        }
        assert_eq!(
            crossing(&rewritten, &clusters()),
            Some(Crossing::Leaving {
                to: Some("west".into())
            }),
            "{dst:?}"
        );
    }
    // An ordinary call between two meshed workloads crosses nothing.
    let mut local = leaving(0, 0);
    local.destination.labels = [("server_id", FRONT_ID)].into_iter().collect();
    if let Some(init) = local.init.as_mut() {
        init.authority = "carts.sock-shop.svc.cluster.local:80".into();
    }
    assert_eq!(crossing(&local, &clusters()), None);
    // A service whose name merely ends like a cluster is a mirror only when that cluster is open.
    let mut named = leaving(0, 0);
    named.destination.labels = [("server_id", FRONT_ID)].into_iter().collect();
    assert_eq!(
        crossing(&named, &clusters()),
        Some(Crossing::Leaving {
            to: Some("west".into())
        })
    );
    assert_eq!(crossing(&named, &["east".to_owned()]), None);
    let mut inbound = arriving(1, 10);
    inbound.source.labels = [("client_id", FRONT_ID)].into_iter().collect();
    assert_eq!(crossing(&inbound, &clusters()), None);
}

#[test]
fn the_two_halves_link_when_exactly_one_fits() {
    let stored: VecDeque<Request> = [leaving(0, 0), arriving(1, 10)].into_iter().collect();
    assert_eq!(counterpart(&stored, &stored[0], &clusters()), Some(1));
    assert_eq!(counterpart(&stored, &stored[1], &clusters()), Some(0));
}

#[test]
fn doubt_links_nothing() {
    // Two calls that fit equally: say nothing rather than guess.
    let two: VecDeque<Request> = [leaving(0, 0), arriving(1, 10), arriving(2, 20)]
        .into_iter()
        .collect();
    assert_eq!(counterpart(&two, &two[0], &clusters()), None);
    // Arriving after the outbound side ended.
    let late: VecDeque<Request> = [leaving(0, 0), arriving(1, 60)].into_iter().collect();
    assert_eq!(counterpart(&late, &late[0], &clusters()), None);
    // Another path.
    let mut other = arriving(1, 10);
    if let Some(init) = other.init.as_mut() {
        init.path = "/orders".into();
    }
    let path: VecDeque<Request> = [leaving(0, 0), other].into_iter().collect();
    assert_eq!(counterpart(&path, &path[0], &clusters()), None);
    // Identities that do not match.
    let mut stranger = arriving(1, 10);
    stranger.source.labels = [(
        "client_id",
        "linkerd-gateway.linkerd-multicluster.serviceaccount.identity.linkerd.other.domain",
    )]
    .into_iter()
    .collect();
    let ids: VecDeque<Request> = [leaving(0, 0), stranger].into_iter().collect();
    assert_eq!(counterpart(&ids, &ids[0], &clusters()), None);
    // Both in one cluster.
    let mut same = arriving(1, 10);
    same.cluster = Some(ClusterName::new("east"));
    let one: VecDeque<Request> = [leaving(0, 0), same].into_iter().collect();
    assert_eq!(counterpart(&one, &one[0], &clusters()), None);
}
