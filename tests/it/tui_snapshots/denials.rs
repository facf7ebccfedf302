//! Denials told in the UI: explain on a bare 403 once a reading of the proxies' refusal
//! counters arrived (and before: what tap alone knows, and nothing about the counters), and the
//! identities pane's mark on the pair whose server's proxy counted refusals of the client.

use meshtap::app::{Action, AppState, Pane};
use meshtap::model::event::Labels;
use meshtap::routestats::{Denial, DenialKind, DenialsOrigin, DenialsReading, Watched};
use meshtap::session::SourceMsg;

use super::{SIZES, at, call, events, render, snapshot, state};

const CLIENT_ID: &str = "front-end.sock-shop.serviceaccount.identity.linkerd.cluster.local";

/// A few calls to payment, the last one refused with a bare 403, the client's service account
/// known (as tap's labels give it).
fn refused(width: u16, height: u16) -> AppState {
    let mut state = state(width, height);
    state.tick(at(0));
    for stream in 0..4 {
        let status = if stream == 3 { 403 } else { 200 };
        let mut batch = events(
            &call(stream, "payment", "/paymentRefund", status),
            100 * i64::try_from(stream).expect("small"),
        );
        for event in &mut batch {
            event.source.labels = event
                .source
                .labels
                .iter()
                .chain([("serviceaccount", "front-end")])
                .collect::<Labels>();
        }
        state.ingest(
            SourceMsg::Events(batch),
            at(100 * i64::try_from(stream).expect("small")),
        );
    }
    state.tick(at(1_200));
    state
}

/// What payment's proxies counted since the session's first scrape, covering every call above.
fn reading() -> DenialsReading {
    DenialsReading {
        cluster: None,
        denials: vec![Denial {
            kind: DenialKind::Unauthorized,
            namespace: "sock-shop".to_owned(),
            workload: "payment".to_owned(),
            srv_kind: "server".to_owned(),
            srv_name: "payment-http".to_owned(),
            route_kind: "HTTPRoute".to_owned(),
            route_name: "payment-refunds".to_owned(),
            target_port: "8080".to_owned(),
            client_id: CLIENT_ID.to_owned(),
            count: 4.0,
        }],
        watched: vec![Watched {
            namespace: "sock-shop".to_owned(),
            workload: "payment".to_owned(),
            since: at(-20_000),
        }],
        until: at(1_400),
        origin: DenialsOrigin::Scraped { pods: 3 },
    }
}

#[test]
fn explain_says_what_the_servers_proxy_counted_once_read() {
    for (width, height) in SIZES {
        let mut state = refused(width, height);
        state.handle(Action::Explain, at(1_300));
        let said = |state: &AppState| {
            let open = state.overlays.explain().expect("explain open");
            open.statements
                .iter()
                .map(|s| s.text.clone())
                .collect::<Vec<_>>()
                .join("\n")
        };
        let before = said(&state);
        assert!(before.contains("cause is unknown"), "{before}");
        assert!(!before.contains("payment's proxy"), "{before}");
        // The reading arrives while explain is open: it says again what it knows.
        state.ingest(SourceMsg::Denials(Box::new(reading())), at(1_400));
        let after = said(&state);
        assert!(after.contains("payment's proxy refused 4"), "{after}");
        // Scrolled down to the policy statements.
        let lines = render(&state, at(1_400));
        for _ in 0..40 {
            if render(&state, at(1_400)).contains("payment-refunds") {
                break;
            }
            state.handle(Action::Down, at(1_400));
        }
        let shown = render(&state, at(1_400));
        assert!(shown.contains("payment-refunds"), "{lines}\n{shown}");
        snapshot("explain_denied", &state);
    }
}

#[test]
fn identities_mark_the_pair_whose_servers_proxy_counted_refusals() {
    for (width, height) in SIZES {
        let mut state = refused(width, height);
        state.handle(Action::ShowPane(Pane::Identities), at(1_300));
        let unmarked = render(&state, at(1_300));
        assert!(!unmarked.contains("denied by its proxy"), "{unmarked}");
        // Payment refused another client: not this pair's mark.
        let mut other = reading();
        other.denials[0].client_id =
            "orders.sock-shop.serviceaccount.identity.linkerd.cluster.local".to_owned();
        state.ingest(SourceMsg::Denials(Box::new(other)), at(1_350));
        state.tick(at(1_350));
        let still = render(&state, at(1_350));
        assert!(!still.contains("denied by its proxy"), "{still}");
        state.ingest(SourceMsg::Denials(Box::new(reading())), at(1_400));
        // Down to front-end's edge to payment, and open it.
        for _ in 0..2 {
            state.handle(Action::Down, at(1_400));
        }
        state.handle(Action::Open, at(1_400));
        state.tick(at(1_400));
        let marked = render(&state, at(1_400));
        assert!(marked.contains("denied by its proxy"), "{marked}");
        assert!(marked.contains("payment's proxy refused 4"), "{marked}");
        snapshot("identities_denied", &state);
    }
}
