//! The demo's orders → payment refusal, end to end: a bare 403 on orders' outbound side only,
//! counted by payment's proxy, and explain saying both what tap cannot know and what that proxy
//! counted.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use meshtap::demo::mesh::Mesh;
use meshtap::demo::proxy_metrics::ledger::Ledger;
use meshtap::explain::{Topic, explain_with};
use meshtap::model::event::Direction;
use meshtap::promtext::parse;
use meshtap::routestats::{self, DenialsOrigin, DenialsReading, Watched, Window};
use meshtap_testkit::{demo_events, store_of};

const SEED: u64 = 1;
/// Enough of the default-rate stream (about 200 s) for several refunds.
const EVENTS: usize = 60_000;
const REFUND: &str = "/paymentRefund";

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2024-05-01T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// Every refusal payment's proxies counted in the demo's first minute.
fn payment_denials() -> Vec<routestats::Denial> {
    let mesh = Arc::new(Mesh::demo());
    let mut ledger = Ledger::new(mesh.clone(), SEED, meshtap::demo::sim::DEFAULT_RATE * 8.0);
    ledger.advance(60_000_000_000);
    let families = routestats::families();
    let mut window = Window::new(60.0);
    let payment = mesh.workload_named("payment").unwrap();
    for &pod in &mesh.workloads[payment].pods {
        let labels = [
            ("namespace", "sock-shop"),
            ("deployment", "payment"),
            ("pod", mesh.pods[pod].name.as_str()),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        let exposition = parse(&ledger.render(pod)).unwrap();
        window.add_scrapes(&labels, None, &exposition, &families);
    }
    routestats::denials(&window)
}

#[test]
fn a_refused_refund_shows_on_orders_side_only_and_explain_says_what_payment_counted() {
    let store = store_of(100_000, demo_events(SEED, EVENTS, t0()));
    let refunds: Vec<_> = store
        .requests()
        .iter()
        .filter(|r| r.path() == REFUND)
        .collect();
    assert!(!refunds.is_empty(), "no refund in {} requests", store.len());
    assert!(
        refunds.iter().all(|r| r.direction() == Direction::Outbound),
        "the policy check sits outside inbound tap: {refunds:#?}"
    );
    let refused = refunds
        .iter()
        .find(|r| r.http_status() == Some(403))
        .unwrap();
    assert_eq!(refused.source.labels.get("deployment"), Some("orders"));

    // A reading whose span covers the refusal, as a live session's would.
    let reading = DenialsReading {
        cluster: None,
        denials: payment_denials(),
        watched: vec![Watched {
            namespace: "sock-shop".to_owned(),
            workload: "payment".to_owned(),
            since: refused.started - chrono::TimeDelta::seconds(1),
        }],
        until: refused.started + chrono::TimeDelta::seconds(60),
        origin: DenialsOrigin::Scraped { pods: 1 },
    };
    let statements = explain_with(refused, Some(&reading));
    let said = |words: &str| {
        statements
            .iter()
            .any(|s| s.topic == Topic::Policy && s.text.contains(words))
    };
    assert!(said("cause is unknown from tap alone"), "{statements:#?}");
    assert!(said("payment's proxy refused"), "{statements:#?}");
    assert!(
        said("Server payment-http, HTTPRoute payment-refunds"),
        "{statements:#?}"
    );
}
