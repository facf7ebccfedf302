//! Canonical text and server-side pushdown.

use super::{fleet, now};
use crate::filter::Filter;
use crate::session::HttpMatch;

#[test]
fn canonical_text() {
    let cases = [
        ("", ""),
        ("  ns=shop   status=5xx ", "ns=shop and status=5xx"),
        ("NS = shop && Status >= 400", "ns=shop and status>=400"),
        (
            "namespace=a deployment=b latency>1.5s duration<=2000ms",
            "ns=a and deploy=b and lat>1500ms and dur<=2s",
        ),
        (
            "source.ns=a destination.deploy=b",
            "src.ns=a and dst.deploy=b",
        ),
        ("ok || reset failed", "ok or reset and failed"),
        ("(ok or reset) failed", "(ok or reset) and failed"),
        ("((ok and reset) and failed)", "ok and reset and failed"),
        (
            "(ok or reset) or (failed or expired)",
            "ok or reset or failed or expired",
        ),
        ("!(ok reset)", "not (ok and reset)"),
        ("!!ok", "not not ok"),
        ("not (not ok)", "not not ok"),
        (
            "grpc=14 grpc!=0 grpc=99",
            "grpc=Unavailable and grpc!=OK and grpc=99",
        ),
        ("dir=inbound dir!=OUT", "dir=in and dir!=out"),
        ("status=5XX status=404", "status=5xx and status=404"),
        (
            "lat<250µs lat>1.5ms lat>7ns lat>1m",
            "lat<250us and lat>1500us and lat>7ns and lat>60s",
        ),
        ("bytes>1.5kb", "bytes>1500"),
        (
            "path=\"/a b\" header.X-Id~\"q\\\"uote\"",
            "path=\"/a b\" and header.x-id~\"q\\\"uote\"",
        ),
        ("path=\"and\" path=\"\"", "path=\"and\" and path=\"\""),
        ("success failure", "ok and failed"),
        ("to=deploy/web", "to=deploy/web"),
        (
            "since=16:49 until=16:50:30.5",
            "since=16:49:00 and until=16:50:30.5",
        ),
        ("SINCE=-120s age<90s", "since=-2m and age<90s"),
        ("age>=1.5h", "age>=90m"),
        (
            "since=2026-12-02T17:49:40+01:00",
            "since=2026-12-02T16:49:40Z",
        ),
    ];
    for (input, canonical) in cases {
        let filter = Filter::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(filter.to_string(), canonical, "{input:?}");
        let again = Filter::parse(canonical).unwrap_or_else(|e| panic!("{canonical:?}: {e}"));
        assert_eq!(again, filter, "{input:?}");
    }
}

#[test]
fn canonical_text_matches_the_same_requests() {
    let fleet = fleet();
    for input in [
        "ns=shop status=5xx or not (ok or dir=in)",
        "!ok lat>1ms || path~\"/c*\"",
    ] {
        let filter = Filter::parse(input).expect("parses");
        let again = Filter::parse(&filter.to_string()).expect("reparses");
        for request in &fleet {
            assert_eq!(
                filter.matches(request, now()),
                again.matches(request, now()),
                "{input:?}"
            );
        }
    }
}

fn split(input: &str) -> (HttpMatch, Option<String>, String) {
    let filter = Filter::parse(input).expect("parses");
    let (http, to, rest) = filter.split_server_side();
    (http, to, rest.to_string())
}

fn http(
    method: Option<&str>,
    path: Option<&str>,
    authority: Option<&str>,
    scheme: Option<&str>,
) -> HttpMatch {
    HttpMatch {
        method: method.map(str::to_owned),
        path: path.map(str::to_owned),
        authority: authority.map(str::to_owned),
        scheme: scheme.map(str::to_owned),
    }
}

#[test]
fn server_side_split() {
    assert_eq!(split(""), (HttpMatch::default(), None, String::new()));
    assert_eq!(
        split("method=get path~/api/* ns=shop"),
        (
            http(Some("GET"), Some("/api/"), None, None),
            None,
            "ns=shop".to_owned()
        )
    );
    assert_eq!(
        split("authority=web:80 scheme=HTTP to=deploy/web status=5xx lat>1s"),
        (
            http(None, None, Some("web:80"), Some("http")),
            Some("deploy/web".to_owned()),
            "status=5xx and lat>1s".to_owned()
        )
    );
    // A lone term is a one-operand `and`.
    assert_eq!(
        split("method=POST"),
        (http(Some("POST"), None, None, None), None, String::new())
    );
    // An exact path narrows the server stream by prefix and stays client-side.
    assert_eq!(
        split("path=/login"),
        (
            http(None, Some("/login"), None, None),
            None,
            "path=/login".to_owned()
        )
    );
    // Each slot once; the second stays client-side.
    assert_eq!(
        split("method=GET method=POST"),
        (
            http(Some("GET"), None, None, None),
            None,
            "method=POST".to_owned()
        )
    );
    // Nothing under `or` or `not`, no negations, no substrings or non-prefix globs.
    for kept in [
        "method=GET or ok",
        "not method=GET",
        "method!=GET",
        "path~/api",
        "path~/a*b*",
        "path~*",
        "authority~web",
        "to!=deploy/web",
    ] {
        let (http, to, rest) = split(kept);
        assert_eq!((http, to), (HttpMatch::default(), None), "{kept:?}");
        assert_eq!(rest, Filter::parse(kept).expect("parses").to_string());
    }
}
