//! Property tests of the filter language: no input makes the parser panic, every error points
//! inside the input on a char boundary, and canonical text parses back to the same filter.

use meshtap::filter::Filter;
use proptest::prelude::*;

/// Checks the error contract for one input.
fn check(input: &str) -> Result<(), TestCaseError> {
    if let Err(err) = Filter::parse(input) {
        prop_assert!(err.position <= input.len(), "{input:?}: {err:?}");
        prop_assert!(input.is_char_boundary(err.position), "{input:?}: {err:?}");
        prop_assert!(!err.message.is_empty());
    }
    Ok(())
}

/// Pieces of the language, valid and broken, so random sequences reach deep into the parser.
const SOUP: &[&str] = &[
    "(",
    ")",
    "!",
    "not",
    "and",
    "or",
    "&&",
    "||",
    "&",
    "|",
    "=",
    "==",
    "!=",
    "~",
    "!~",
    "<",
    "<=",
    ">",
    ">=",
    "\"",
    "\\",
    "\"a b\"",
    "\"\\\"\"",
    "ns",
    "src.ns",
    "dst.deploy",
    "pod",
    "src",
    "dst",
    "dir",
    "in",
    "out",
    "method",
    "GET",
    "path",
    "/a/*",
    "?",
    "authority",
    "scheme",
    "status",
    "5xx",
    "200",
    "grpc",
    "Unavailable",
    "lat",
    "dur",
    "100ms",
    "1.5s",
    "250µs",
    "100",
    "bytes",
    "1kb",
    "tls",
    "true",
    "id",
    "route",
    "to",
    "deploy/web",
    "header.",
    "header.x-id",
    "ok",
    "failed",
    "inflight",
    "expired",
    "reset",
    "mtls",
    "orphan",
    "stauts",
    "é",
    "µ",
    "日本",
    "\u{200b}",
    "\t",
    " ",
    "  ",
    "",
    ".",
    "*",
    "x",
    "0",
];

fn soup() -> impl Strategy<Value = String> {
    prop::collection::vec((prop::sample::select(SOUP), any::<bool>()), 0..24).prop_map(|parts| {
        let mut text = String::new();
        for (part, space) in parts {
            text.push_str(part);
            if space {
                text.push(' ');
            }
        }
        text
    })
}

/// Valid terms, spelt in various ways.
const TERMS: &[&str] = &[
    "ns=shop",
    "NS = shop",
    "namespace!=kube-system",
    "src.ns~sho",
    "dst.deploy=web",
    "deployment~\"*-end\"",
    "pod!~abc",
    "src=shop/front-end",
    "dst~10.0.",
    "dir=inbound",
    "dir!=out",
    "method=get",
    "path~/api/*",
    "path=\"/a \\\"b\\\" \\\\ c\"",
    "authority=web:80",
    "scheme=HTTPS",
    "status=5XX",
    "status>=400",
    "status<2xx",
    "grpc=unavailable",
    "grpc!=0",
    "grpc=Cancelled",
    "lat>100ms",
    "latency<=1.5s",
    "lat>250µs",
    "dur>=7ns",
    "duration<1m",
    "bytes>1.5kb",
    "bytes=0",
    "tls=true",
    "tls~no_tls",
    "id~\"*.shop.*\"",
    "identity=web.shop",
    "route=\"GET /users/{id}\"",
    "header.X-Request-Id=abc",
    "to=deploy/web",
    "to!=ns/shop",
    "path=\"and\"",
    "path=\"\"",
    "ok",
    "success",
    "failed",
    "inflight",
    "expired",
    "reset",
    "mtls",
    "orphan",
];

fn valid() -> impl Strategy<Value = String> {
    let leaf = prop::sample::select(TERMS).prop_map(str::to_owned);
    leaf.prop_recursive(6, 48, 4, |inner| {
        prop_oneof![
            (
                inner.clone(),
                inner.clone(),
                prop::sample::select(&[" and ", " && ", " ", " AND "][..])
            )
                .prop_map(|(a, b, op)| format!("{a}{op}{b}")),
            (
                inner.clone(),
                inner.clone(),
                prop::sample::select(&[" or ", "||", " OR "][..])
            )
                .prop_map(|(a, b, op)| format!("{a}{op}{b}")),
            (
                inner.clone(),
                prop::sample::select(&["not ", "!", "NOT "][..])
            )
                .prop_map(|(a, not)| format!("{not}{a}")),
            inner.prop_map(|a| format!("( {a})")),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_text_never_panics(input in any::<String>()) {
        check(&input)?;
    }

    #[test]
    fn token_soup_never_panics(input in soup()) {
        check(&input)?;
    }

    #[test]
    fn truncated_valid_filters_never_panic(input in valid(), cut in any::<prop::sample::Index>()) {
        let boundaries: Vec<usize> =
            input.char_indices().map(|(i, _)| i).chain([input.len()]).collect();
        let cut = boundaries[cut.index(boundaries.len())];
        check(&input[..cut])?;
    }

    #[test]
    fn canonical_text_round_trips(input in valid()) {
        let filter = Filter::parse(&input).map_err(|e| TestCaseError::fail(format!("{input:?}: {e}")))?;
        let canonical = filter.to_string();
        let again = Filter::parse(&canonical)
            .map_err(|e| TestCaseError::fail(format!("{canonical:?}: {e}")))?;
        prop_assert_eq!(&again, &filter, "{:?} → {:?}", input, canonical);
        prop_assert_eq!(again.to_string(), canonical);
    }
}
