use std::time::Duration;

use chrono::{DateTime, Utc};

use super::fixtures::{Req, at, sock_shop};
use super::*;
use crate::model::event::Eos;

fn key(table: &RouteTable, label: &str, direction: Direction) -> RouteKey {
    table
        .rows(at(59), Window::Capture)
        .into_iter()
        .map(|row| row.key)
        .find(|k| k.label() == label && k.direction == direction)
        .unwrap_or_else(|| panic!("no row {label}"))
}

fn row(table: &RouteTable, key: &RouteKey, now: DateTime<Utc>, window: Window) -> Summary {
    table
        .rows(now, window)
        .into_iter()
        .find(|r| &r.key == key)
        .map(|r| r.summary)
        .expect("row")
}

fn get(seq: u64, ms: u64) -> Request {
    Req::out(seq, "front-end", "catalogue", "GET", "/catalogue/size")
        .respond(200, Duration::from_millis(ms), 10)
        .build()
}

#[test]
fn route_names_follow_the_precedence() {
    let mut table = RouteTable::new(Grouping::Route);
    table.record(
        &Req::out(
            1,
            "front-end",
            "catalogue",
            "GET",
            "/catalogue/3395a43e-2d88-40de-b95f-e00e1502085b",
        )
        .respond(200, Duration::from_millis(1), 1)
        .build(),
    );
    table.record(
        &Req::out(2, "front-end", "catalogue", "GET", "/x")
            .route("list")
            .respond(200, Duration::from_millis(1), 1)
            .build(),
    );
    let policy = Req::inbound(3, "front-end", "user", "GET", "/customers/1")
        .label(false, "route_kind", "HTTPRoute")
        .label(false, "route_name", "user-read");
    table.record(&policy.respond(200, Duration::from_millis(1), 1).build());
    // The default policy route says nothing, so the template is used.
    table.record(
        &Req::inbound(
            4,
            "front-end",
            "user",
            "GET",
            "/customers/57a98d98e4b00679b4a830af",
        )
        .respond(200, Duration::from_millis(1), 1)
        .build(),
    );
    let mut orphan = Req::out(5, "front-end", "carts", "GET", "/")
        .respond(200, Duration::from_millis(1), 1)
        .build();
    orphan.init = None;
    table.record(&orphan);
    let mut labels: Vec<String> = table
        .rows(at(0), Window::Capture)
        .iter()
        .map(|r| format!("{} {}", r.key.direction.short(), r.key.label()))
        .collect();
    labels.sort();
    assert_eq!(
        labels,
        [
            "in user GET /customers/{id}",
            "in user HTTPRoute/user-read",
            "out carts (request not seen)",
            "out catalogue GET /catalogue/{id}",
            "out catalogue list",
        ]
    );
    assert!(
        table
            .rows(at(0), Window::Capture)
            .iter()
            .all(|r| r.key.namespace.as_ref() == "sock-shop")
    );
}

#[test]
fn groupings_name_rows_by_workload() {
    let requests = sock_shop();
    let by_dest = RouteTable::rebuild(Grouping::Destination, &requests);
    let mut names: Vec<String> = by_dest
        .rows(at(59), Window::Capture)
        .iter()
        .map(|r| r.key.label())
        .collect();
    names.sort();
    names.dedup();
    assert_eq!(
        names,
        [
            "carts",
            "catalogue",
            "front-end",
            "orders",
            "payment",
            "session-db",
            "shipping",
            "user"
        ]
    );
    let pairs = RouteTable::rebuild(Grouping::SourceDestination, &requests);
    let labels: Vec<String> = pairs
        .rows(at(59), Window::Capture)
        .iter()
        .map(|r| r.key.label())
        .collect();
    assert!(
        labels.contains(&"front-end → catalogue".to_owned()),
        "{labels:?}"
    );
    assert!(
        labels.contains(&"locust-5f6d7c9b8-abcde.loadtest → front-end".to_owned()),
        "{labels:?}"
    );
}

#[test]
fn percentiles_match_a_uniform_distribution_within_hdr_precision() {
    let mut table = RouteTable::new(Grouping::Route);
    for ms in 1..=1_000 {
        table.record(&get(ms, ms));
    }
    let k = key(&table, "catalogue GET /catalogue/size", Direction::Outbound);
    let capture = row(&table, &k, at(0), Window::Capture);
    let near = |got: Option<u64>, want_ms: u64, precision: f64| {
        let got = got.expect("value") as f64;
        let want = (want_ms * 1_000) as f64;
        assert!(
            (got - want).abs() <= want * precision,
            "got {got}, want {want}"
        );
    };
    near(capture.p50_us, 500, 0.01);
    near(capture.p95_us, 950, 0.01);
    near(capture.p99_us, 990, 0.01);
    assert_eq!(capture.max_us, Some(1_000_000));
    assert_eq!(capture.requests, 1_000);
    assert_eq!(capture.bytes, 10_000);
    // The window histograms are coarser (1 significant digit).
    let minute = row(&table, &k, at(0), Window::Last1m);
    near(minute.p50_us, 500, 0.07);
    near(minute.p99_us, 990, 0.07);
    assert_eq!(minute.max_us, Some(1_000_000));
}

#[test]
fn one_request_shows_the_same_latency_everywhere() {
    let mut table = RouteTable::new(Grouping::Route);
    table.record(&get(1, 12));
    let k = key(&table, "catalogue GET /catalogue/size", Direction::Outbound);
    for window in [Window::Last10s, Window::Last1m, Window::Capture] {
        let s = row(&table, &k, at(0), window);
        assert_eq!(
            (s.p50_us, s.p99_us, s.max_us),
            (Some(12_000), Some(12_000), Some(12_000)),
            "{window:?}"
        );
    }
}

#[test]
fn success_is_classified_like_linkerd() {
    let mut table = RouteTable::new(Grouping::Route);
    let base = || Req::out(0, "front-end", "orders", "POST", "/orders");
    let ms = Duration::from_millis(5);
    table.record(&base().respond(200, ms, 1).build());
    table.record(&base().respond(404, ms, 1).build());
    table.record(&base().respond(503, ms, 1).build());
    table.record(&base().respond(200, ms, 1).eos(Eos::Grpc(5)).build());
    table.record(&base().respond(200, ms, 1).eos(Eos::Grpc(14)).build());
    table.record(&base().reset(ms).build());
    let mut expired = base().build();
    expired.expired = true;
    table.record(&expired);
    let k = key(&table, "orders POST /orders", Direction::Outbound);
    let s = row(&table, &k, at(0), Window::Capture);
    assert_eq!(s.requests, 7);
    let rate = s.success_rate.expect("rate");
    assert!((rate - 3.0 / 7.0).abs() < 1e-9, "{rate}");
    let stats = table.get(&k).expect("stats");
    assert_eq!(stats.resets, 1);
    assert_eq!(stats.no_response, 2);
    assert_eq!(stats.grpc[14], 1);
    assert_eq!(
        stats.recent_failures().count(),
        3,
        "expired request has no latency"
    );
    assert!(stats.statuses.contains(&(503, 1)));
}

#[test]
fn windows_roll_with_the_time_passed_in() {
    let mut table = RouteTable::new(Grouping::Route);
    // 5 requests per second for 100 seconds, the first 50 s slow, the rest fast.
    let mut seq = 0;
    for second in 0..100 {
        for _ in 0..5 {
            seq += 1;
            let ms = if second < 50 { 100 } else { 10 };
            table.record(
                &Req::out(seq, "front-end", "carts", "GET", "/cart")
                    .at(at(second))
                    .respond(200, Duration::from_millis(ms), 1)
                    .build(),
            );
        }
    }
    let k = key(&table, "carts GET /cart", Direction::Outbound);
    let now = at(99);
    let last10 = row(&table, &k, now, Window::Last10s);
    assert_eq!(last10.requests, 50);
    assert!((last10.rps - 5.0).abs() < 1e-9);
    assert_eq!(last10.max_us, Some(10_000));
    let minute = row(&table, &k, now, Window::Last1m);
    assert_eq!(minute.requests, 300);
    assert!((minute.rps - 5.0).abs() < 1e-9, "{}", minute.rps);
    // The whole capture: its requests over its length (99 s since the first request).
    let whole = row(&table, &k, now, Window::Capture);
    assert!((whole.rps - 500.0 / 99.0).abs() < 1e-9, "{}", whole.rps);
    assert_eq!(minute.max_us, Some(100_000), "seconds 40–49 were slow");
    assert_eq!(row(&table, &k, now, Window::Capture).requests, 500);
    // Time passes with no traffic: the windows empty, the capture stays.
    let later = at(200);
    let idle = row(&table, &k, later, Window::Last1m);
    assert_eq!(
        (idle.requests, idle.rps, idle.p50_us, idle.success_rate),
        (0, 0.0, None, None)
    );
    assert_eq!(row(&table, &k, later, Window::Capture).requests, 500);
    let spark = table.rows(now, Window::Capture)[0].sparkline;
    assert_eq!(spark[RING_SECONDS - 1], 5);
    assert_eq!(
        table.rows(at(130), Window::Capture)[0].sparkline[..29],
        [5; 29]
    );
}

#[test]
fn late_requests_older_than_the_ring_count_in_the_capture_only() {
    let mut table = RouteTable::new(Grouping::Route);
    table.record(&get(1, 5).clone_at(at(100)));
    table.record(&get(2, 5).clone_at(at(10)));
    let k = key(&table, "catalogue GET /catalogue/size", Direction::Outbound);
    assert_eq!(row(&table, &k, at(100), Window::Last1m).requests, 1);
    assert_eq!(row(&table, &k, at(100), Window::Capture).requests, 2);
}

trait At {
    fn clone_at(self, when: DateTime<Utc>) -> Self;
}

impl At for Request {
    fn clone_at(mut self, when: DateTime<Utc>) -> Self {
        self.started = when;
        self
    }
}

#[test]
fn the_table_is_bounded_and_counts_what_it_folds() {
    let mut table = RouteTable::new(Grouping::Route);
    for i in 0..(MAX_ROUTES as u64 + 50) {
        let path = format!("/r{i}");
        table.record(
            &Req::out(i, "front-end", "catalogue", "GET", &path)
                .respond(200, Duration::from_millis(1), 1)
                .build(),
        );
    }
    assert_eq!(table.len(), MAX_ROUTES + 1);
    assert_eq!(table.stats().overflowed, 50);
    let other = table
        .rows(at(0), Window::Capture)
        .into_iter()
        .find(|r| r.key.is_other())
        .expect("other row");
    assert_eq!(other.summary.requests, 50);
}

#[test]
fn slowest_and_failing_requests_are_remembered_by_seq() {
    let mut table = RouteTable::new(Grouping::Route);
    for seq in 0..40_u64 {
        let status = if seq % 10 == 3 { 500 } else { 200 };
        let ms = (seq * 37) % 40 + 1;
        table.record(
            &Req::out(seq, "front-end", "catalogue", "GET", "/catalogue/size")
                .respond(status, Duration::from_millis(ms), 1)
                .build(),
        );
    }
    let k = key(&table, "catalogue GET /catalogue/size", Direction::Outbound);
    let stats = table.get(&k).expect("stats");
    let slowest: Vec<u64> = stats
        .slowest
        .iter()
        .map(|s| s.latency_us.unwrap_or(0) / 1_000)
        .collect();
    assert_eq!(slowest, [40, 39, 38, 37, 36, 35, 34, 33]);
    let failing: Vec<u64> = stats.recent_failures().map(|s| s.seq).collect();
    assert_eq!(failing, [33, 23, 13, 3]);
}

#[test]
fn sock_shop_rows_look_right() {
    let table = RouteTable::rebuild(Grouping::Route, &sock_shop());
    let rows = table.rows(at(59), Window::Capture);
    let find = |label: &str, d: Direction| {
        rows.iter()
            .find(|r| r.key.label() == label && r.key.direction == d)
            .map(|r| r.summary)
    };
    let list = find("catalogue GET /catalogue", Direction::Outbound).expect("SP route");
    assert_eq!(list.requests, 100);
    let items = find("catalogue GET /catalogue/{id}", Direction::Inbound).expect("template");
    assert_eq!(items.requests, 200);
    let orders = find("orders POST /orders", Direction::Outbound).expect("orders");
    assert!(orders.success_rate.is_some_and(|r| r < 1.0));
    assert!(
        find(
            "session-db POST /grpc.health.v1.Health/Check",
            Direction::Outbound
        )
        .is_some()
    );
}

#[test]
fn huge_response_sizes_saturate_instead_of_overflowing() {
    // A replayed file or a corrupt frame can carry any u64 as response_bytes.
    let huge = |seq| {
        Req::out(seq, "front-end", "catalogue", "GET", "/catalogue/size")
            .respond(200, Duration::from_millis(1), u64::MAX)
            .build()
    };
    let mut stats = RouteStats::new();
    stats.record(&huge(1));
    stats.record(&huge(2));
    assert_eq!(stats.bytes, u64::MAX);
    let mut scratch = super::stats::latency_scratch().expect("histogram");
    let summary = stats.summary(at(0), Window::Capture, None, &mut scratch);
    assert_eq!(summary.bytes, u64::MAX);
    let summary = stats.summary(at(0), Window::Last1m, None, &mut scratch);
    assert_eq!(summary.bytes, u64::MAX);
}

/// A 30 s capture seen in every window: the same requests give the same percentiles (one
/// method everywhere), and the rate is the requests over the 30 s, whatever the window's label
/// (the review's 124 requests in 30 s showed 3.7 rps from the last 10 s alone).
#[test]
fn every_window_agrees_over_the_same_requests() {
    let mut table = RouteTable::new(Grouping::Route);
    let mut seq = 0;
    for second in 0..30 {
        for i in 0..4 {
            seq += 1;
            // Latencies spread over two decades, so bucket precision shows if it differs.
            let us = 1_000 + (seq * 7_919 + i * 104_729) % 390_000;
            table.record(
                &Req::out(seq, "front-end", "catalogue", "GET", "/catalogue")
                    .at(at(second))
                    .respond(200, Duration::from_micros(us), 1)
                    .build(),
            );
        }
    }
    let k = key(&table, "catalogue GET /catalogue", Direction::Outbound);
    let now = at(30);
    let minute = row(&table, &k, now, Window::Last1m);
    let whole = row(&table, &k, now, Window::Capture);
    assert_eq!((minute.requests, whole.requests), (120, 120));
    assert_eq!(
        (minute.p50_us, minute.p95_us, minute.p99_us, minute.max_us),
        (whole.p50_us, whole.p95_us, whole.p99_us, whole.max_us)
    );
    assert!((whole.rps - 4.0).abs() < 1e-9, "{}", whole.rps);
    assert!((minute.rps - 4.0).abs() < 1e-9, "{}", minute.rps);
    let ten = row(&table, &k, now, Window::Last10s);
    assert_eq!(ten.requests, 36, "seconds 21–29 (30 has none yet)");
    assert!((ten.rps - 3.6).abs() < 1e-9, "{}", ten.rps);
}

mod errors;
mod policy;
