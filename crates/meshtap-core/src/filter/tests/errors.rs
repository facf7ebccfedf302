//! Parse errors: the message and the byte position the prompt underlines.

use crate::filter::Filter;

#[test]
fn table() {
    let cases: &[(&str, usize, &str)] = &[
        (
            "stauts=500",
            0,
            "unknown field \"stauts\" (did you mean \"status\"?)",
        ),
        (
            "ok lattency>1s",
            3,
            "unknown field \"lattency\" (did you mean \"latency\"?)",
        ),
        (
            "methd=GET",
            0,
            "unknown field \"methd\" (did you mean \"method\"?)",
        ),
        (
            "frobnicate=1",
            0,
            "unknown field \"frobnicate\": write field=value",
        ),
        (
            "faild",
            0,
            "unknown keyword \"faild\" (did you mean \"failed\"?)",
        ),
        ("status=", 7, "expected a value after \"=\""),
        ("status= and ok", 8, "expected a value after \"=\""),
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
        ("side=both", 5, "expected a side (client or server)"),
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
        ("ok ok=", 3, "\"ok\" is a keyword and takes no value"),
        ("ok status=", 10, "expected a value after \"=\""),
        ("since=yesterday", 6, "expected a time like 16:49:00 (UTC)"),
        ("ok since=25:00", 9, "expected a time like"),
        ("since=-5", 6, "since needs a unit: -5m"),
        ("until=-5y", 6, "unknown unit \"y\" in until"),
        ("since>16:00", 5, "\"since\" does not support \">\"; use ="),
        ("until!=16:00", 5, "\"until\" does not support \"!=\""),
        (
            "age=5m",
            3,
            "\"age\" does not support \"=\"; use <, <=, > or >=",
        ),
        ("age<5", 4, "age needs a unit: 5ms"),
        ("age<soon", 4, "expected an age like 100ms"),
        (
            "sinse=-5m",
            0,
            "unknown field \"sinse\" (did you mean \"since\"?)",
        ),
    ];
    let mut wrong = Vec::new();
    for (text, position, message) in cases {
        match Filter::parse(text) {
            Err(err) if err.position == *position && err.message.starts_with(message) => {}
            other => wrong.push(format!(
                "{text:?}: got {other:?}, want {position} {message:?}"
            )),
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
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
