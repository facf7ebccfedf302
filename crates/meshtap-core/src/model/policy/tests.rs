//! The matcher against a table of Gateway API precedence cases (each case: a match that must
//! outrank another for a request), placed in every arrangement proptest can think of.

use std::time::Duration;

use proptest::prelude::*;

use super::*;
use crate::model::event::{Header, Headers};

fn text(s: &str) -> Text {
    Text::from(s)
}

#[allow(
    clippy::unnecessary_wraps,
    reason = "a match's path is optional; these read as one"
)]
fn exact(p: &str) -> Option<PathMatch> {
    Some(PathMatch::Exact(p.into()))
}

#[allow(
    clippy::unnecessary_wraps,
    reason = "a match's path is optional; these read as one"
)]
fn prefix(p: &str) -> Option<PathMatch> {
    Some(PathMatch::Prefix(p.into()))
}

#[allow(
    clippy::unnecessary_wraps,
    reason = "a match's path is optional; these read as one"
)]
fn regex(p: &str) -> Option<PathMatch> {
    Some(PathMatch::regex(p).expect("valid regex"))
}

fn header(name: &str, value: &str) -> HeaderMatch {
    HeaderMatch {
        name: text(name),
        value: ValueMatch::Exact(value.as_bytes().into()),
    }
}

fn query(name: &str, value: &str) -> QueryMatch {
    QueryMatch {
        name: text(name),
        value: ValueMatch::Exact(value.as_bytes().into()),
    }
}

fn m(path: Option<PathMatch>) -> HttpMatch {
    HttpMatch {
        path,
        ..HttpMatch::default()
    }
}

fn with_method(mut m: HttpMatch, method: &str) -> HttpMatch {
    m.method = Some(text(method));
    m
}

fn with_headers(mut m: HttpMatch, headers: &[(&str, &str)]) -> HttpMatch {
    m.headers = headers.iter().map(|(n, v)| header(n, v)).collect();
    m
}

fn with_query(mut m: HttpMatch, params: &[(&str, &str)]) -> HttpMatch {
    m.query = params.iter().map(|(n, v)| query(n, v)).collect();
    m
}

/// A request: method, path with query, headers.
#[derive(Clone, Debug)]
struct Req {
    method: &'static str,
    path: &'static str,
    headers: Vec<(&'static str, &'static str)>,
}

fn req(method: &'static str, path: &'static str, headers: &[(&'static str, &'static str)]) -> Req {
    Req {
        method,
        path,
        headers: headers.to_vec(),
    }
}

impl Req {
    fn headers(&self) -> Headers {
        self.headers
            .iter()
            .map(|(n, v)| Header::str(n, v))
            .collect::<Vec<_>>()
            .into()
    }
}

/// (case name, the match that must win, the one that must lose, the request both match)
fn precedence_table() -> Vec<(&'static str, HttpMatch, HttpMatch, Req)> {
    vec![
        (
            "exact beats a shorter prefix",
            m(exact("/foo/bar")),
            m(prefix("/foo")),
            req("GET", "/foo/bar", &[]),
        ),
        (
            "exact beats a prefix of equal length",
            m(exact("/foo")),
            m(prefix("/foo")),
            req("GET", "/foo", &[]),
        ),
        (
            "exact beats a regex",
            m(exact("/foo/1")),
            m(regex("/foo/[0-9]+")),
            req("GET", "/foo/1", &[]),
        ),
        (
            "longer prefix beats shorter",
            m(prefix("/foo/bar")),
            m(prefix("/foo")),
            req("GET", "/foo/bar/baz", &[]),
        ),
        (
            "prefix beats regex",
            m(prefix("/foo")),
            m(regex("/foo/.*")),
            req("GET", "/foo/x", &[]),
        ),
        (
            "a prefix with a trailing slash is the same segment",
            m(prefix("/carts/")),
            m(prefix("/")),
            req("POST", "/carts/7/items", &[]),
        ),
        (
            "no path is the implicit prefix /, beaten by any longer prefix",
            m(prefix("/a")),
            m(None),
            req("GET", "/a/b", &[]),
        ),
        (
            "path beats method, headers and query together",
            m(exact("/foo")),
            with_query(
                with_headers(
                    with_method(m(prefix("/")), "GET"),
                    &[("x-a", "1"), ("x-b", "2")],
                ),
                &[("a", "1")],
            ),
            req("GET", "/foo?a=1", &[("x-a", "1"), ("x-b", "2")]),
        ),
        (
            "method beats no method",
            with_method(m(exact("/foo")), "GET"),
            m(exact("/foo")),
            req("GET", "/foo", &[]),
        ),
        (
            "method beats headers and query",
            with_method(m(exact("/foo")), "POST"),
            with_query(
                with_headers(m(exact("/foo")), &[("x-a", "1")]),
                &[("a", "1")],
            ),
            req("POST", "/foo?a=1", &[("x-a", "1")]),
        ),
        (
            "more headers beat fewer",
            with_headers(m(prefix("/")), &[("x-a", "1"), ("x-b", "2")]),
            with_headers(m(prefix("/")), &[("x-a", "1")]),
            req("GET", "/", &[("x-a", "1"), ("x-b", "2")]),
        ),
        (
            "headers beat query params",
            with_headers(m(prefix("/")), &[("x-canary", "true")]),
            with_query(m(prefix("/")), &[("a", "1"), ("b", "2")]),
            req("GET", "/?a=1&b=2", &[("x-canary", "true")]),
        ),
        (
            "more query params beat fewer",
            with_query(m(prefix("/")), &[("a", "1"), ("b", "2")]),
            with_query(m(prefix("/")), &[("a", "1")]),
            req("GET", "/?b=2&a=1", &[]),
        ),
        (
            "the canary header rule beats the catch-all",
            with_headers(m(None), &[("x-canary", "true")]),
            m(prefix("/")),
            req("GET", "/catalogue", &[("X-Canary", "true")]),
        ),
    ]
}

fn http_rule(matches: Vec<HttpMatch>, backend: &str) -> PolicyRule {
    PolicyRule {
        matches: RuleMatches::Http(matches),
        backends: vec![BackendRef {
            namespace: text("ns"),
            name: text(backend),
            port: Some(80),
            weight: None,
        }],
        config: RuleConfig::default(),
    }
}

fn route(name: &str, rules: Vec<PolicyRule>) -> PolicyRoute {
    PolicyRoute {
        route: RouteRef {
            group: text("gateway.networking.k8s.io"),
            kind: text("HTTPRoute"),
            namespace: text("ns"),
            name: text(name),
        },
        hosts: Vec::new(),
        rules,
    }
}

fn policy(routes: Vec<PolicyRoute>) -> OutboundPolicy {
    OutboundPolicy {
        parent: None,
        protocol: PolicyProtocol::Http,
        routes,
    }
}

/// The backend name of the rule `policy` picks for `r` (backends name the rules here).
fn pick(policy: &OutboundPolicy, r: &Req, headers_known: bool) -> Option<String> {
    let headers = r.headers();
    let line = RequestLine {
        method: Some(r.method),
        authority: "svc.ns.svc.cluster.local:80",
        path: r.path,
        headers: headers_known.then_some(&headers),
    };
    let selected = policy.select(&line)?;
    Some(
        policy.routes[selected.route].rules[selected.rule].backends[0]
            .name
            .to_string(),
    )
}

/// A rule no request of the table can match (a path none of them has).
fn decoy(n: usize) -> PolicyRule {
    http_rule(
        vec![m(exact(&format!("/never/{n}")))],
        &format!("decoy-{n}"),
    )
}

/// Where the winner and the loser go: same rule (as two matches), same route (two rules, in
/// either order), or two routes (in either order); plus decoy rules before each.
#[derive(Clone, Debug)]
struct Arrangement {
    layout: u8,
    decoys_before: usize,
    decoys_between: usize,
}

fn arrangements() -> impl Strategy<Value = Arrangement> {
    (0u8..5, 0usize..3, 0usize..3).prop_map(|(layout, decoys_before, decoys_between)| Arrangement {
        layout,
        decoys_before,
        decoys_between,
    })
}

fn arrange(at: &Arrangement, win: &HttpMatch, lose: &HttpMatch) -> OutboundPolicy {
    let mut first: Vec<PolicyRule> = (0..at.decoys_before).map(decoy).collect();
    let between: Vec<PolicyRule> = (10..10 + at.decoys_between).map(decoy).collect();
    match at.layout {
        // One rule holding both matches: the rule matches; both names are the winner's.
        0 => {
            first.push(http_rule(vec![lose.clone(), win.clone()], "win"));
            policy(vec![route("r", first)])
        }
        1 | 2 => {
            let (first_match, first_name) = if at.layout == 1 {
                (win, "win")
            } else {
                (lose, "lose")
            };
            let (second_match, second_name) = if at.layout == 1 {
                (lose, "lose")
            } else {
                (win, "win")
            };
            first.push(http_rule(vec![first_match.clone()], first_name));
            first.extend(between);
            first.push(http_rule(vec![second_match.clone()], second_name));
            policy(vec![route("r", first)])
        }
        _ => {
            let (first_match, first_name) = if at.layout == 3 {
                (win, "win")
            } else {
                (lose, "lose")
            };
            let (second_match, second_name) = if at.layout == 3 {
                (lose, "lose")
            } else {
                (win, "win")
            };
            first.push(http_rule(vec![first_match.clone()], first_name));
            let mut second = between;
            second.push(http_rule(vec![second_match.clone()], second_name));
            policy(vec![route("a", first), route("b", second)])
        }
    }
}

proptest! {
    #[test]
    fn the_higher_precedence_match_wins_in_any_arrangement(case in 0usize..14, a in arrangements()) {
        let table = precedence_table();
        let (name, win, lose, r) = &table[case % table.len()];
        // Both really match on their own: the case tests precedence, not matching.
        for single in [win, lose] {
            let alone = policy(vec![route("r", vec![http_rule(vec![single.clone()], "x")])]);
            let got = pick(&alone, r, true);
            prop_assert_eq!(got.as_deref(), Some("x"), "{}: {:?} must match", name, single);
        }
        let p = arrange(&a, win, lose);
        let got = pick(&p, r, true);
        prop_assert_eq!(got.as_deref(), Some("win"), "{} in {:?}", name, a);
    }

    #[test]
    fn equal_matches_go_to_the_earlier_rule_or_route(case in 0usize..14, a in arrangements()) {
        let table = precedence_table();
        let (_, win, _, r) = &table[case % table.len()];
        let p = arrange(&a, win, win);
        let expected = match a.layout {
            0 | 1 | 3 => "win",
            _ => "lose",
        };
        let got = pick(&p, r, true);
        prop_assert_eq!(got.as_deref(), Some(expected), "{:?}", a);
    }

    #[test]
    fn a_rule_resting_on_unseen_headers_is_never_guessed(case in 0usize..14, a in arrangements()) {
        let table = precedence_table();
        let (name, win, lose, r) = &table[case % table.len()];
        let p = arrange(&a, win, lose);
        let got = pick(&p, r, false);
        if win.headers.is_empty() && lose.headers.is_empty() {
            prop_assert_eq!(got.as_deref(), Some("win"), "{}", name);
        } else if !win.headers.is_empty() {
            // The winner needs headers tap did not carry: no choice is made.
            prop_assert_eq!(got, None, "{}", name);
        } else {
            // Only the loser needs headers: the winner is certain either way.
            prop_assert_eq!(got.as_deref(), Some("win"), "{}", name);
        }
    }

    #[test]
    fn paths_the_rules_do_not_match_select_nothing(seg in "[a-z]{1,8}") {
        let p = policy(vec![route("r", vec![
            http_rule(vec![m(exact("/only"))], "a"),
            http_rule(vec![m(prefix("/api"))], "b"),
        ])]);
        let path: &'static str = Box::leak(format!("/{seg}x").into_boxed_str());
        prop_assume!(!path.starts_with("/api/") && path != "/api" && path != "/only");
        prop_assert_eq!(pick(&p, &req("GET", path, &[]), true), None);
    }
}

#[test]
fn prefixes_match_whole_segments_only() {
    let p = policy(vec![route(
        "r",
        vec![http_rule(vec![m(prefix("/foo"))], "foo")],
    )]);
    for (path, hit) in [
        ("/foo", true),
        ("/foo/", true),
        ("/foo/bar", true),
        ("/foo?x=1", true),
        ("/foobar", false),
        ("/fo", false),
    ] {
        let path: &'static str = Box::leak(path.to_owned().into_boxed_str());
        assert_eq!(
            pick(&p, &req("GET", path, &[]), true).is_some(),
            hit,
            "{path}"
        );
    }
}

#[test]
fn regexes_are_anchored() {
    let p = policy(vec![route(
        "r",
        vec![http_rule(vec![m(regex("/foo/[0-9]+"))], "re")],
    )]);
    assert!(pick(&p, &req("GET", "/foo/42", &[]), true).is_some());
    assert!(pick(&p, &req("GET", "/x/foo/42", &[]), true).is_none());
    assert!(pick(&p, &req("GET", "/foo/42/x", &[]), true).is_none());
    assert!(matches!(
        PathMatch::regex("("),
        Err(PolicyError::Regex { .. })
    ));
}

#[test]
fn a_route_with_hosts_outranks_one_without_and_excludes_other_hosts() {
    let mut with_host = route("hosted", vec![http_rule(vec![], "hosted")]);
    with_host.hosts = vec![HostMatch::Suffix("svc.cluster.local".into())];
    let p = policy(vec![
        route("any", vec![http_rule(vec![], "any")]),
        with_host.clone(),
    ]);
    assert_eq!(
        pick(&p, &req("GET", "/", &[]), true).as_deref(),
        Some("hosted")
    );
    with_host.hosts = vec![HostMatch::Exact("other.example".into())];
    let p = policy(vec![
        with_host,
        route("any", vec![http_rule(vec![], "any")]),
    ]);
    assert_eq!(
        pick(&p, &req("GET", "/", &[]), true).as_deref(),
        Some("any")
    );
}

#[test]
fn grpc_rules_rank_service_and_method() {
    let rule = |service: Option<&str>, method: Option<&str>, name: &str| PolicyRule {
        matches: RuleMatches::Grpc(vec![GrpcMatch {
            service: service.map(text),
            method: method.map(text),
            headers: Vec::new(),
        }]),
        ..http_rule(Vec::new(), name)
    };
    let p = policy(vec![route(
        "voting-retries",
        vec![
            rule(Some("emojivoto.v1.VotingService"), None, "every-method"),
            rule(
                Some("emojivoto.v1.VotingService"),
                Some("VoteDoughnut"),
                "doughnut",
            ),
        ],
    )]);
    let call = |path: &'static str| pick(&p, &req("POST", path, &[]), true);
    assert_eq!(
        call("/emojivoto.v1.VotingService/VoteDoughnut").as_deref(),
        Some("doughnut")
    );
    assert_eq!(
        call("/emojivoto.v1.VotingService/VoteJoy").as_deref(),
        Some("every-method")
    );
    assert_eq!(call("/emojivoto.v1.EmojiService/ListAll"), None);
    // gRPC is POST: a GET is not a call.
    assert_eq!(
        pick(
            &p,
            &req("GET", "/emojivoto.v1.VotingService/VoteJoy", &[]),
            true
        ),
        None
    );
}

#[test]
fn attribution_names_the_backend_that_served_with_its_weight() {
    let weighted = |name: &str, weight| BackendRef {
        namespace: text("sock-shop"),
        name: text(name),
        port: Some(80),
        weight: Some(weight),
    };
    let p = OutboundPolicy {
        parent: Some(ParentRef {
            kind: text("Service"),
            namespace: text("sock-shop"),
            name: text("catalogue"),
            port: Some(80),
        }),
        protocol: PolicyProtocol::Http,
        routes: vec![route(
            "catalogue-split",
            vec![PolicyRule {
                matches: RuleMatches::Http(vec![m(prefix("/"))]),
                backends: vec![weighted("catalogue", 90), weighted("catalogue-v2", 10)],
                config: RuleConfig {
                    timeouts: Timeouts {
                        request: Some(Duration::from_secs(2)),
                        ..Timeouts::default()
                    },
                    retry: None,
                },
            }],
        )],
    };
    let headers = Headers::default();
    let line = RequestLine {
        method: Some("GET"),
        authority: "catalogue.sock-shop.svc.cluster.local:80",
        path: "/tags",
        headers: Some(&headers),
    };
    let got = p.attribute(&line, Some("catalogue-v2")).expect("matched");
    assert_eq!(got.source, RouteSource::Policy);
    assert_eq!(got.name(), "catalogue-split");
    assert_eq!(got.rule, Some(0));
    assert_eq!(got.parent_label(), "catalogue:80");
    assert_eq!(got.backend.as_ref().and_then(|b| b.weight), Some(10));
    assert_eq!(got.config.timeout_label(), "request 2s");
    // A Service the rule does not name is still what served it, without a weight.
    let other = p.attribute(&line, Some("legacy")).expect("matched");
    assert_eq!(other.backend_name(), "legacy");
    assert_eq!(other.backend.and_then(|b| b.weight), None);
}

#[test]
fn retry_labels_say_what_is_retried() {
    let grpc = RetryPolicy {
        max_retries: 2,
        on: RetryOn::Grpc(GrpcRetryOn {
            unavailable: true,
            ..GrpcRetryOn::default()
        }),
        timeout: None,
    };
    assert_eq!(grpc.label(), "2× on unavailable");
    let http = RetryPolicy {
        max_retries: 1,
        on: RetryOn::Statuses(vec![(500, 599), (429, 429)]),
        timeout: Some(Duration::from_millis(1500)),
    };
    assert_eq!(http.label(), "1× on 5xx,429 (each 1.5s)");
}
