//! The per-second failure buckets behind the error-rate sparkline: the success column's
//! classification, per second, in the same bounded ring as the RPS sparkline.

use std::time::Duration;

use super::super::fixtures::{Req, at};
use super::super::stats::{ERROR_RATE_SCALE, RING_SECONDS, RouteStats};
use crate::model::event::Eos;
use crate::model::request::Request;

fn call(seq: u64, second: i64, status: u32) -> Request {
    Req::out(seq, "front-end", "carts", "GET", "/carts/1")
        .at(at(second))
        .respond(status, Duration::from_millis(3), 10)
        .build()
}

#[test]
fn each_second_says_its_share_of_failures() {
    let mut stats = RouteStats::new();
    // Second 10: 1 failure in 4; second 11: none of 2; second 12: 2 of 3 (rounded up);
    // second 13: everything failed.
    let outcomes: [(i64, u32); 10] = [
        (10, 200),
        (10, 200),
        (10, 503),
        (10, 200),
        (11, 200),
        (11, 201),
        (12, 500),
        (12, 200),
        (12, 502),
        (13, 504),
    ];
    for (seq, (second, status)) in (1..).zip(outcomes) {
        stats.record(&call(seq, second, status));
    }
    let errors = stats.error_sparkline(at(13));
    let last = RING_SECONDS - 1;
    assert_eq!(
        errors[last - 3..],
        [ERROR_RATE_SCALE / 4, 0, 667, ERROR_RATE_SCALE]
    );
    assert!(errors[..last - 3].iter().all(|&e| e == 0));
    // The RPS sparkline reads the same seconds.
    assert_eq!(stats.sparkline(at(13))[last - 3..], [4, 2, 3, 1]);
}

#[test]
fn failures_follow_the_success_classification() {
    let mut stats = RouteStats::new();
    // A gRPC error under HTTP 200 fails, a reset fails, a 404 does not (Linkerd counts only
    // 5xx and gRPC errors as failures).
    stats.record(
        &Req::out(1, "web", "voting", "POST", "/Vote")
            .at(at(5))
            .respond(200, Duration::from_millis(1), 1)
            .eos(Eos::Grpc(14))
            .build(),
    );
    stats.record(
        &Req::out(2, "web", "voting", "POST", "/Vote")
            .at(at(5))
            .reset(Duration::from_millis(1))
            .build(),
    );
    stats.record(&call(3, 5, 404));
    stats.record(&call(4, 5, 200));
    let errors = stats.error_sparkline(at(5));
    assert_eq!(errors[RING_SECONDS - 1], ERROR_RATE_SCALE / 2);
    assert_eq!(stats.failures, 2);
}

#[test]
fn the_ring_forgets_seconds_older_than_a_minute() {
    let mut stats = RouteStats::new();
    stats.record(&call(1, 0, 500));
    let ring = i64::try_from(RING_SECONDS).expect("small");
    assert_eq!(
        stats.error_sparkline(at(0))[RING_SECONDS - 1],
        ERROR_RATE_SCALE
    );
    assert_eq!(stats.error_sparkline(at(ring - 1))[0], ERROR_RATE_SCALE);
    assert!(stats.error_sparkline(at(ring)).iter().all(|&e| e == 0));
    // A later second reuses the slot: the old failure is not counted again.
    stats.record(&call(2, ring, 200));
    assert_eq!(stats.error_sparkline(at(ring))[RING_SECONDS - 1], 0);
    assert_eq!(stats.failures, 1, "the capture keeps it");
}
