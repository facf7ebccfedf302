//! Parse errors: the message and the byte position the prompt underlines.

use crate::filter::Filter;

#[test]
fn table() {
    let cases: &[(&str, usize, &str)] = &[
        ("stauts=500", 0, "unknown field \"stauts\" (did you mean \"status\"?)"),
        ("ok lattency>1s", 3, "unknown field \"lattency\" (did you mean \"lat\"?)"),
        ("nope=1", 0, "unknown field \"nope\" (did you mean \"ns\"?)"),
        ("frobnicate=1", 0, "unknown field \"frobnicate\": write field=value"),
        ("faild", 0, "unknown keyword \"faild\" (did you mean \"failed\"?)"),
        ("status=", 7, "expected a value after \"=\""),
        ("status= )", 8, "expected a value after \"=\""),
        ("(ok", 0, "unclosed \"(\""),
        ("ok (ok or (ok)", 3, "unclosed \"(\""),
        ("ok)", 2, "unmatched \")\""),
        ("()", 0, "empty \"()\""),
        ("lat>100", 4, "latency needs a unit: 100ms"),
        ("dur<2", 4, "duration needs a unit: 2ms"),
        ("lat>100parsecs", 4, "unknown unit \"parsecs\""),
        ("status=abc", 7, "expected an HTTP status like 200 or 5xx"),
        ("status~5", 6, "\"status\" does not support \"~\""),
        ("path>3", 4, "\"path\" does not support \">\""),
        ("dir<in", 3, "\"dir\" does not support \"<\""),
        ("dir=sideways", 4, "expected a direction"),
        ("grpc=Sad", 5, "unknown gRPC status"),
        ("grpc>1", 4, "\"grpc\" does not support \">\""),
        ("to=web", 3, "expected a resource like deploy/web"),
        ("to=blob/web", 3, "unknown resource type \"blob\""),
        ("bytes>lots", 6, "expected a byte count"),
        ("status", 6, "expected an operator after \"status\""),
        ("header.=1", 0, "header needs a name"),
        ("ok and", 6, "expected a filter term after \"and\""),
        ("ok or", 5, "expected a filter term after \"or\""),
        ("not", 3, "expected a filter term after \"not\""),
        ("ok !", 4, "expected a filter term after \"!\""),
        ("and ok", 0, "expected a filter term, found \"and\""),
        ("=5", 0, "expected a filter term, found \"=\""),
        ("path=\"/a", 5, "unclosed string"),
        ("\"x\"", 0, "expected a field name before the quoted value"),
        ("ok & ok", 3, "unexpected character '&'"),
        ("ok ; ok", 3, "unexpected character ';'"),
        ("é ; ok", 3, "unexpected character ';'"),
        ("ok ok=", 6, "expected a value after \"=\""),
    ];
    for (text, position, message) in cases {
        let err = Filter::parse(text).expect_err(text);
        assert!(
            err.message.starts_with(message),
            "{text:?}: got {:?}, want {message:?}",
            err.message
        );
        assert_eq!(err.position, *position, "{text:?}: {}", err.message);
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let deep = "(".repeat(10_000) + "ok" + &")".repeat(10_000);
    let err = Filter::parse(&deep).expect_err("too deep");
    assert!(err.message.contains("nested too deeply"), "{}", err.message);
    let nots = "!".repeat(10_000) + "ok";
    assert!(Filter::parse(&nots).is_err());
    // Moderate nesting is fine.
    let ok = "(".repeat(20) + "ok" + &")".repeat(20);
    assert!(Filter::parse(&ok).is_ok());
}

#[test]
fn display_of_error_mentions_the_position() {
    let err = Filter::parse("stauts=1").expect_err("typo");
    assert_eq!(
        err.to_string(),
        "unknown field \"stauts\" (did you mean \"status\"?) (at byte 0)"
    );
}
