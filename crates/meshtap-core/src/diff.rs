//! `meshtap diff A B`: two captures compared per route (the client's and the server's view), with
//! the change of each figure and whether it is beyond noise, the routes, callers and status codes
//! that came or went, and the identity and TLS changes between them. Pure: the command feeds
//! each capture's finished requests to a [`Side`], then [`compare`]s and renders.

pub mod compare;
pub mod gate;
pub mod rank;
pub mod render;
pub mod side;

pub use compare::{Diff, EdgeChangeKind, Presence, RouteDiff, compare};
pub use gate::{Gate, GateError};
pub use side::Side;

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::model::routes::fixtures::{Req, at};

    /// `n` calls front-end → catalogue (both proxies' views) answering in about `base_ms`, and
    /// `n` front-end → carts, all mTLS unless `plaintext_carts`.
    fn capture(name: &str, n: u64, catalogue_ms: u64, plaintext_carts: bool) -> Side {
        let mut side = Side::new(name);
        for i in 0..n {
            let ms = Duration::from_micros(catalogue_ms * 1_000 + (i * 7_919) % 4_000);
            for req in [
                Req::out(i, "front-end", "catalogue", "GET", "/catalogue"),
                Req::inbound(i, "front-end", "catalogue", "GET", "/catalogue"),
            ] {
                side.record(
                    &req.at(at((i % 60).cast_signed()))
                        .respond(200, ms, 10)
                        .build(),
                );
            }
            let mut carts = Req::inbound(i, "front-end", "carts", "GET", "/carts/1");
            if plaintext_carts {
                carts = carts
                    .label(true, "tls", "no_tls_from_remote")
                    .label(true, "client_id", "");
            }
            let carts = carts.respond(200, Duration::from_millis(3), 5).build();
            side.record(&carts);
        }
        side
    }

    #[test]
    fn a_slower_route_and_a_plaintext_edge_are_reported_and_the_rest_is_not() {
        let before = capture("a.ndjson", 200, 10, false);
        let after = capture("b.ndjson", 200, 30, true);
        let diff = compare(&before, &after);
        let changed: Vec<String> = diff
            .routes
            .iter()
            .filter(|r| r.changed())
            .map(RouteDiff::label)
            .collect();
        // Both proxies' views of the slower route, and nothing else.
        assert_eq!(changed.len(), 2, "{changed:?}");
        assert!(
            changed.iter().all(|l| l.contains("catalogue")),
            "{changed:?}"
        );
        let slower = &diff.routes[0];
        let p99 = slower.p99.expect("p99 on both sides");
        assert!(p99.percent.is_some_and(|p| p > 100.0), "{p99:?}");
        let test = slower.latency_test.expect("tested");
        assert!(
            test.beyond_noise && test.n_a == 200 && test.n_b == 200,
            "{test:?}"
        );
        let carts = diff
            .routes
            .iter()
            .find(|r| r.peer == "carts")
            .expect("carts");
        assert!(!carts.latency_test.expect("tested").beyond_noise);

        assert_eq!(diff.edges.len(), 1, "{:?}", diff.edges);
        let edge = &diff.edges[0];
        assert_eq!(edge.kind, EdgeChangeKind::NewPlaintext);
        assert_eq!(
            (edge.client.as_str(), edge.server.as_str()),
            ("sock-shop/deploy/front-end", "sock-shop/deploy/carts")
        );

        let gate = Gate::parse("p99>+20%").expect("gate");
        assert_eq!(gate.breaches(&diff).len(), 2);
        assert!(
            Gate::parse("p99>+500%")
                .expect("gate")
                .breaches(&diff)
                .is_empty()
        );
        let tls = Gate::parse("new-plaintext").expect("gate").breaches(&diff);
        assert_eq!(tls.len(), 1, "{tls:?}");
        assert!(tls[0].contains("carts"), "{tls:?}");
        // Same captures: nothing to report, no gate fails.
        let same = compare(&before, &capture("a2", 200, 10, false));
        assert!(same.routes.iter().all(|r| !r.changed()));
        assert!(same.edges.is_empty());
        assert!(
            Gate::parse("p99>+20%,new-plaintext,sr<-1%")
                .expect("gate")
                .breaches(&same)
                .is_empty()
        );
    }

    #[test]
    fn new_and_vanished_routes_callers_and_statuses() {
        let mut a = Side::new("a");
        let mut b = Side::new("b");
        for i in 0..90 {
            let ok = Duration::from_millis(5);
            a.record(
                &Req::inbound(i, "front-end", "orders", "GET", "/orders")
                    .respond(200, ok, 1)
                    .build(),
            );
            a.record(
                &Req::inbound(i, "front-end", "user", "GET", "/login")
                    .respond(200, ok, 1)
                    .build(),
            );
            b.record(
                &Req::inbound(i, "front-end", "orders", "GET", "/orders")
                    .respond(200, ok, 1)
                    .build(),
            );
            let status = if i % 3 == 0 { 503 } else { 200 };
            b.record(
                &Req::inbound(i, "queue-master", "orders", "GET", "/orders")
                    .respond(status, ok, 1)
                    .build(),
            );
            b.record(
                &Req::inbound(i, "front-end", "user", "POST", "/register")
                    .respond(200, ok, 1)
                    .build(),
            );
        }
        let diff = compare(&a, &b);
        let by = |p: Presence| -> Vec<String> {
            diff.routes
                .iter()
                .filter(|r| r.presence == p)
                .map(RouteDiff::label)
                .collect()
        };
        assert_eq!(by(Presence::New), ["in user POST /register"]);
        assert_eq!(by(Presence::Vanished), ["in user GET /login"]);
        let orders = diff
            .routes
            .iter()
            .find(|r| r.peer == "orders")
            .expect("orders");
        assert_eq!(orders.new_callers, ["sock-shop/deploy/queue-master"]);
        assert_eq!(orders.new_statuses, ["503"]);
        let fell = orders.success_rate_points.expect("both known");
        assert!(fell < -10.0, "{fell}");
        let breaches = Gate::parse("sr<-1%,new-routes,vanished-routes")
            .expect("gate")
            .breaches(&diff);
        assert_eq!(breaches.len(), 3, "{breaches:?}");

        let text = render::text(&diff);
        assert!(text.contains("+ in user POST /register"), "{text}");
        assert!(text.contains("- in user GET /login"), "{text}");
        assert!(
            text.contains("callers  new: sock-shop/deploy/queue-master"),
            "{text}"
        );
        let json = serde_json::to_value(&diff).expect("json");
        assert_eq!(json["routes"][0]["presence"], "both", "{json}");
    }

    #[test]
    fn markdown_is_a_table_a_parser_reads_and_names_cannot_break_it() {
        use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
        let mut a = Side::new("before|a.ndjson");
        let mut b = Side::new("after.ndjson");
        for i in 0..40 {
            let path = "/x|y<script>";
            a.record(
                &Req::inbound(i, "web", "api", "GET", path)
                    .respond(200, Duration::from_millis(2), 1)
                    .build(),
            );
            b.record(
                &Req::inbound(i, "web", "api", "GET", path)
                    .respond(200, Duration::from_millis(20 + i), 1)
                    .build(),
            );
        }
        let md = render::markdown(&compare(&a, &b));
        let mut tables = 0;
        let mut rows = 0;
        let mut cells_in_row = 0;
        let mut widths = Vec::new();
        let mut html = false;
        for event in Parser::new_ext(&md, Options::ENABLE_TABLES) {
            match event {
                Event::Start(Tag::Table(_)) => tables += 1,
                Event::Start(Tag::TableRow | Tag::TableHead) => cells_in_row = 0,
                Event::Start(Tag::TableCell) => cells_in_row += 1,
                Event::End(TagEnd::TableRow | TagEnd::TableHead) => {
                    rows += 1;
                    widths.push(cells_in_row);
                }
                Event::Html(h) | Event::InlineHtml(h) if h.contains("script") => html = true,
                _ => {}
            }
        }
        assert_eq!(tables, 1, "{md}");
        assert_eq!(rows, 2, "header + the changed route: {md}");
        assert!(widths.iter().all(|w| *w == 8), "{widths:?}\n{md}");
        assert!(!html, "a captured name became HTML: {md}");
    }
}
