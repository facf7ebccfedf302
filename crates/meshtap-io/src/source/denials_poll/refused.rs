//! Which workloads refused the session's clients: a pass-through stage on the source channel
//! that notes the destination of every outbound 403 / gRPC `PermissionDenied` tap delivers, so
//! the refusal-counter poller also reads workloads outside the tapped namespaces (a
//! `deploy/web` target's refusals come from the services it calls, wherever they run).

use std::collections::BTreeSet;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::model::event::{Direction, Eos, HttpEvent, TapEvent};
use crate::session::{SOURCE_CHANNEL_BATCHES, SourceMsg};

/// Most refusing workloads remembered; later ones are not read (the tapped namespaces still
/// are).
pub const MAX_REFUSING_WORKLOADS: usize = 64;
/// gRPC `PermissionDenied`.
const GRPC_PERMISSION_DENIED: u32 = 7;

/// A workload that refused a client: its cluster (with several), namespace and deployment.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Refusing {
    pub cluster: Option<String>,
    pub namespace: String,
    pub deployment: String,
}

pub type RefusingSet = BTreeSet<Refusing>;

/// Puts the stage between `rx` and its reader: every message passes unchanged, in order.
pub fn attach(
    mut rx: mpsc::Receiver<SourceMsg>,
) -> (
    mpsc::Receiver<SourceMsg>,
    JoinHandle<()>,
    watch::Receiver<RefusingSet>,
) {
    let (tx, out) = mpsc::channel(SOURCE_CHANNEL_BATCHES);
    let (seen_tx, seen_rx) = watch::channel(RefusingSet::new());
    let task = tokio::spawn(async move {
        while let Some(msg) = rx.recv().await {
            if let SourceMsg::Events(events) = &msg {
                seen_tx.send_if_modified(|seen| note(events, seen));
            }
            if tx.send(msg).await.is_err() {
                return;
            }
        }
    });
    (out, task, seen_rx)
}

/// Adds the refusing destinations of `events` to `seen`; whether any was new.
fn note(events: &[TapEvent], seen: &mut RefusingSet) -> bool {
    let mut added = false;
    for event in events {
        let refused = match &event.http {
            Some(HttpEvent::ResponseInit(r)) => r.http_status == 403,
            Some(HttpEvent::ResponseEnd(e)) => e.eos == Some(Eos::Grpc(GRPC_PERMISSION_DENIED)),
            _ => false,
        };
        if !refused
            || event.direction != Direction::Outbound
            || seen.len() >= MAX_REFUSING_WORKLOADS
        {
            continue;
        }
        let labels = &event.destination.labels;
        let (Some(namespace), Some(deployment)) =
            (labels.get("namespace"), labels.get("deployment"))
        else {
            continue;
        };
        added |= seen.insert(Refusing {
            cluster: event.cluster.as_ref().map(|c| c.as_str().to_owned()),
            namespace: namespace.to_owned(),
            deployment: deployment.to_owned(),
        });
    }
    added
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::event::{Endpoint, Headers, Labels, ResponseEnd, ResponseInit, StreamId};

    fn event(direction: Direction, deployment: &str, http: HttpEvent) -> TapEvent {
        let endpoint = |deployment: &str| Endpoint {
            addr: None,
            labels: [("namespace", "shop"), ("deployment", deployment)]
                .into_iter()
                .collect::<Labels>(),
        };
        TapEvent {
            cluster: None,
            arrived: chrono::DateTime::default(),
            source: endpoint("web"),
            destination: endpoint(deployment),
            direction,
            route: Labels::default(),
            http: Some(http),
        }
    }

    fn status(code: u32) -> HttpEvent {
        HttpEvent::ResponseInit(ResponseInit {
            id: StreamId::default(),
            since_request_init: None,
            http_status: code,
            headers: Headers::default(),
        })
    }

    fn grpc(code: u32) -> HttpEvent {
        HttpEvent::ResponseEnd(ResponseEnd {
            id: StreamId::default(),
            since_request_init: None,
            since_response_init: None,
            response_bytes: 0,
            eos: Some(Eos::Grpc(code)),
            trailers: Headers::default(),
        })
    }

    #[test]
    fn only_outbound_refusals_name_their_destination() {
        let mut seen = RefusingSet::new();
        let events = [
            event(Direction::Outbound, "payment", status(403)),
            event(Direction::Outbound, "voting", grpc(7)),
            event(Direction::Outbound, "carts", status(200)),
            event(Direction::Outbound, "user", grpc(14)),
            // The server's side: its proxy's refusals never reach inbound tap anyway.
            event(Direction::Inbound, "orders", status(403)),
        ];
        assert!(note(&events, &mut seen));
        let names: Vec<&str> = seen.iter().map(|r| r.deployment.as_str()).collect();
        assert_eq!(names, ["payment", "voting"]);
        // Seen again: nothing new, so the poller is not woken.
        assert!(!note(&events[..1], &mut seen));
    }

    #[test]
    fn the_set_is_bounded() {
        let mut seen = RefusingSet::new();
        for i in 0..=MAX_REFUSING_WORKLOADS {
            note(
                &[event(Direction::Outbound, &format!("w{i}"), status(403))],
                &mut seen,
            );
        }
        assert_eq!(seen.len(), MAX_REFUSING_WORKLOADS);
    }

    #[tokio::test]
    async fn the_stage_passes_every_message_on_in_order() {
        let (tx, rx) = mpsc::channel(4);
        let (mut out, task, seen) = attach(rx);
        tx.send(SourceMsg::Notice("a".into())).await.expect("send");
        let refusal = vec![event(Direction::Outbound, "payment", status(403))];
        tx.send(SourceMsg::Events(refusal.clone()))
            .await
            .expect("send");
        drop(tx);
        assert_eq!(out.recv().await, Some(SourceMsg::Notice("a".into())));
        assert_eq!(out.recv().await, Some(SourceMsg::Events(refusal)));
        assert_eq!(out.recv().await, None);
        task.await.expect("stage ends with its input");
        assert_eq!(seen.borrow().len(), 1);
    }
}
