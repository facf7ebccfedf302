//! Every copy format; `paste` proves that hostile captured values stay inside their argument.

mod httpie;
mod paste;

use chrono::{DateTime, Utc};

use super::{CopyError, Format, Secrets, render};
use crate::capture::ndjson::RequestRecord;
use crate::model::event::{
    Direction, Endpoint, Header, HeaderValue, Headers, Labels, RequestInit, StreamId,
};
use crate::model::request::Request;
use crate::session::Redactor;

fn endpoint(addr: &str, labels: &[(&str, &str)]) -> Endpoint {
    Endpoint {
        addr: addr.parse().ok(),
        labels: labels.iter().copied().collect(),
    }
}

pub(crate) fn request(
    direction: Direction,
    method: &str,
    authority: &str,
    path: &str,
    headers: Vec<Header<'_>>,
) -> Request {
    Request {
        cluster: None,
        seq: 1,
        direction,
        source: endpoint(
            "10.0.0.1:40000",
            &[
                ("namespace", "shop"),
                ("deployment", "web"),
                ("pod", "web-1"),
            ],
        ),
        destination: endpoint(
            "10.0.0.2:8080",
            &[
                ("namespace", "pay"),
                ("deployment", "api"),
                ("pod", "api-1"),
            ],
        ),
        route: Labels::default(),
        started: DateTime::<Utc>::UNIX_EPOCH,
        ended_at: None,
        init: Some(RequestInit {
            id: StreamId::default(),
            method: Some(method.into()),
            scheme: Some("http".into()),
            authority: authority.into(),
            path: path.into(),
            headers: headers.into_iter().collect::<Headers>(),
            matched_route: None,
        }),
        response: None,
        end: None,
        expired: false,
        superseded: false,
        other_side: None,
    }
}

pub(super) fn masked() -> Secrets<'static> {
    static REDACTOR: std::sync::LazyLock<Redactor> = std::sync::LazyLock::new(Redactor::default);
    Secrets {
        redactor: &REDACTOR,
        reveal: false,
    }
}

pub(super) fn revealed() -> Secrets<'static> {
    Secrets {
        reveal: true,
        ..masked()
    }
}

fn get_with_auth() -> Request {
    request(
        Direction::Outbound,
        "GET",
        "api.pay:8080",
        "/users/7?x=[1]",
        vec![
            Header::str("accept", "*/*"),
            Header::str("authorization", "Bearer s3cret"),
            Header::str("content-length", "0"),
            Header::str("x-empty", ""),
        ],
    )
}

#[test]
fn curl_command() {
    let copied = render(Format::Curl, &get_with_auth(), masked()).expect("curl");
    assert_eq!(
        copied.text,
        "curl -g --path-as-is 'http://api.pay:8080/users/7?x=[1]' \\\n  \
         -H 'accept: */*' \\\n  -H 'authorization: <redacted>' \\\n  -H 'x-empty;'\n"
    );
    assert_eq!(
        copied.notes,
        ["authorization shown as <redacted>: r reveals"]
    );
    let revealed = render(Format::Curl, &get_with_auth(), revealed()).expect("curl");
    assert!(revealed.text.contains("-H 'authorization: Bearer s3cret'"));
    assert!(revealed.notes.is_empty(), "{:?}", revealed.notes);
}

#[test]
fn a_secret_redacted_when_the_capture_was_written_is_never_pretended() {
    let mut request = get_with_auth();
    request.init.as_mut().expect("init").headers = [Header::str("authorization", "<redacted>")]
        .into_iter()
        .collect();
    let copied = render(Format::Curl, &request, revealed()).expect("curl");
    assert!(copied.text.contains("authorization: <redacted>"));
    assert_eq!(
        copied.notes,
        ["authorization: the capture holds no secret to reveal (it was redacted when written)"]
    );
}

#[test]
fn methods_with_a_body_say_it_was_not_captured() {
    for (method, note) in [
        ("POST", true),
        ("put", true),
        ("PATCH", true),
        ("GET", false),
        ("DELETE", false),
    ] {
        let request = request(Direction::Outbound, method, "a", "/", Vec::new());
        for format in [Format::Curl, Format::Httpie] {
            let text = render(format, &request, masked()).expect("render").text;
            assert_eq!(
                text.starts_with("# body not captured by tap\n"),
                note,
                "{method} {format:?}: {text}"
            );
        }
    }
    let head = request(Direction::Outbound, "HEAD", "a", "/", Vec::new());
    let text = render(Format::Curl, &head, masked()).expect("curl").text;
    assert!(text.contains(" -I ") && !text.contains("-X"), "{text}");
}

#[test]
fn httpie_command() {
    let copied = render(Format::Httpie, &get_with_auth(), masked()).expect("http");
    assert_eq!(
        copied.text,
        "http --ignore-stdin 'GET' 'http://api.pay:8080/users/7?x=[1]' \\\n  \
         'accept:*/*' \\\n  'authorization:<redacted>' \\\n  'x-empty;'\n"
    );
}

fn grpc_request() -> Request {
    request(
        Direction::Outbound,
        "POST",
        "payment.pay.svc.cluster.local",
        "/pay.v1.Payments/Charge",
        vec![
            Header::str("content-type", "application/grpc+proto"),
            Header::str("te", "trailers"),
            Header::str("grpc-timeout", "5S"),
            Header::str("x-tenant", "acme"),
            Header {
                name: "trace-bin",
                value: HeaderValue::Bin(b"\x00\x01"),
            },
        ],
    )
}

#[test]
fn grpcurl_command_is_structured_from_path_and_metadata() {
    let copied = render(Format::Grpcurl, &grpc_request(), masked()).expect("grpcurl");
    let lines: Vec<&str> = copied.text.lines().collect();
    assert!(
        lines[0].starts_with("# request message body not captured by tap"),
        "{lines:?}"
    );
    assert!(lines[1].starts_with('#'));
    assert_eq!(
        &lines[2..],
        [
            "grpcurl \\",
            "  -authority 'payment.pay.svc.cluster.local' \\",
            "  -H 'x-tenant: acme' \\",
            r"  -H $'trace-bin: \x00\x01' \",
            "  'payment.pay.svc.cluster.local:80' \\",
            "  'pay.v1.Payments/Charge'",
        ]
    );
    assert!(!lines[2..].iter().any(|l| l.contains("-plaintext")));
    let not_grpc = render(Format::Grpcurl, &get_with_auth(), masked());
    assert_eq!(not_grpc, Err(CopyError::NotGrpc));
}

#[test]
fn grpc_detection_and_service_method() {
    use super::grpcurl::{is_grpc, service_method};
    let init = |ct: &str| RequestInit {
        id: StreamId::default(),
        method: None,
        scheme: None,
        authority: "a".into(),
        path: "/".into(),
        headers: [Header::str("Content-Type", ct)].into_iter().collect(),
        matched_route: None,
    };
    assert!(is_grpc(&init("application/grpc")));
    assert!(is_grpc(&init("application/grpc+json")));
    assert!(!is_grpc(&init("application/grpc-web")));
    assert!(!is_grpc(&init("application/json")));
    assert_eq!(service_method("/a.B/C"), Some("a.B/C"));
    assert_eq!(service_method("/a.B/C/D"), None);
    assert_eq!(service_method("/a.B/"), None);
}

#[test]
fn tap_command_targets_the_reporting_side() {
    let outbound = render(Format::TapCommand, &get_with_auth(), masked()).expect("tap");
    assert_eq!(
        outbound.text,
        "# linkerd viz tap 'deploy/web' -n 'shop' --to 'deploy/api' --to-namespace 'pay' \
         --method 'GET' --path '/users/7'\n\
         meshtap tap 'deploy/web' -n 'shop' --to 'deploy/api' --to-namespace 'pay' \
         --method 'GET' --path '/users/7'\n"
    );
    // An unmeshed client's proxy reports nothing: tap the destination, whose inbound side saw it.
    let mut inbound = get_with_auth();
    inbound.direction = Direction::Inbound;
    let text = render(Format::TapCommand, &inbound, masked())
        .expect("tap")
        .text;
    assert!(
        text.ends_with("meshtap tap 'deploy/api' -n 'pay' --method 'GET' --path '/users/7'\n"),
        "{text}"
    );
    let mut nothing = get_with_auth();
    nothing.source.labels = Labels::default();
    nothing.destination.labels = Labels::default();
    assert_eq!(
        render(Format::TapCommand, &nothing, masked()),
        Err(CopyError::NoTarget)
    );
}

#[test]
fn ndjson_record_is_redacted_unless_revealed() {
    let parse = |secrets| {
        let copied = render(Format::Ndjson, &get_with_auth(), secrets).expect("ndjson");
        assert_eq!(copied.text.lines().count(), 1);
        let record: RequestRecord = serde_json::from_str(&copied.text).expect("record");
        record
            .request_headers
            .unwrap_or_default()
            .into_iter()
            .find(|h| h.name == "authorization")
            .and_then(|h| h.value)
    };
    assert_eq!(parse(masked()).as_deref(), Some("<redacted>"));
    assert_eq!(parse(revealed()).as_deref(), Some("Bearer s3cret"));
}

#[test]
fn an_orphan_cannot_be_sent_again() {
    let mut orphan = get_with_auth();
    orphan.init = None;
    for format in [Format::Curl, Format::Grpcurl, Format::Httpie] {
        assert_eq!(render(format, &orphan, masked()), Err(CopyError::NoRequest));
    }
}
