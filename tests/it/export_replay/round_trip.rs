//! Every replayable format reads back as the capture it was written from.

use super::*;

#[tokio::test]
async fn every_format_round_trips_the_demo_capture() {
    let dir = tempfile::tempdir().unwrap();
    let original = demo_store();
    assert!(
        original.len() > 300,
        "a realistic capture: {}",
        original.len()
    );
    for format in FORMATS {
        let path = dir.path().join(format!("capture.{}", format.name()));
        let report = write(&path, &original, format, false).unwrap();
        assert_eq!(report.written, original.len(), "{format:?}");
        let (detected, store, loaded) = replayed(&path).await;
        assert_eq!(loaded.skipped, 0, "{format:?}: {:?}", loaded.warnings);
        assert_eq!(store.len(), original.len(), "{format:?}");
        // Linkerd's format has no timestamps, and prints gRPC OK like "no status".
        let exact = format != ExportFormat::LinkerdJson;
        let (want, got) = (projection(&original, exact), projection(&store, exact));
        for (key, value) in &want {
            assert_eq!(got.get(key), Some(value), "{format:?} request {key}");
        }
        assert_eq!(
            route_stats(&store),
            route_stats(&original),
            "{format:?} route stats"
        );
        assert_eq!(
            identities(&store),
            identities(&original),
            "{format:?} identities"
        );
        let expected_format = match format {
            ExportFormat::Ndjson => ReplayFormat::Ndjson,
            ExportFormat::LinkerdJson => ReplayFormat::LinkerdJson,
            ExportFormat::Har => ReplayFormat::Har,
            // Spans for a collector, not a capture: replay does not read them (not in FORMATS).
            ExportFormat::OtlpJson => panic!("otlp-json is not replayable"),
            ExportFormat::Pcapng => panic!("pcapng is not a replay format"),
        };
        assert_eq!(detected, expected_format);
    }
}

#[tokio::test]
async fn the_ndjson_header_describes_the_capture() {
    let dir = tempfile::tempdir().unwrap();
    let original = demo_store();
    let path = dir.path().join("capture.ndjson");
    write(&path, &original, ExportFormat::Ndjson, true).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    let capture = &first["meshtap_capture"];
    assert_eq!(capture["format"], "meshtap-ndjson");
    assert_eq!(capture["version"], 1);
    assert_eq!(capture["meshtap_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(capture["targets"], serde_json::json!(["ns/sock-shop"]));
    assert_eq!(capture["requests"], original.len());
    assert_eq!(capture["evicted"], 3);
    assert_eq!(capture["filter"], serde_json::Value::Null);
    let open = original
        .requests()
        .iter()
        .filter(|r| r.end.is_none())
        .count();
    assert_eq!(capture["never_ended"], open);
    assert_eq!(text.lines().count(), original.len() + 1);
    let (_, _, loaded) = replayed(&path).await;
    assert_eq!(loaded.capture.unwrap().context, "demo");
}

/// Durations are written from integer nanoseconds: `6.469734`, never `6.469734000000001`, and
/// exactly the nanoseconds the proxy measured.
#[test]
fn ndjson_durations_print_exactly() {
    let original = demo_store();
    let redactor = Redactor::new(false, Vec::new());
    let mut checked = 0;
    for request in original.requests() {
        let mut line = Vec::new();
        ndjson::write_request(&mut line, request, &redactor).unwrap();
        let line = String::from_utf8(line).unwrap();
        let Some(latency) = request.latency() else {
            continue;
        };
        let field = line.split("\"latency_ms\":").nth(1).unwrap();
        let text = &field[..field.find(',').unwrap()];
        let nanos = latency.as_nanos();
        let exact = format!("{}.{:06}", nanos / 1_000_000, nanos % 1_000_000);
        let exact = exact.trim_end_matches('0').trim_end_matches('.');
        assert_eq!(text.trim_end_matches(".0"), exact, "{line}");
        checked += 1;
    }
    assert!(checked > 300, "{checked} latencies checked");
}

#[tokio::test]
async fn linkerd_json_export_matches_linkerd_golden_bytes() {
    let events = model_events(golden_events());
    let store = store_of(events.clone());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("golden.json");
    write(&path, &store, ExportFormat::LinkerdJson, true).unwrap();
    let out = std::fs::read_to_string(&path).unwrap();
    assert!(out.starts_with(support::golden_json_request()), "{out}");
    // The rest is what `linkerd viz tap -o json` prints for the same events, except that the
    // `unknown` event belongs to no request and the 1:0 end carries its request's labels (a
    // joined request keeps one label set; real proxies label every event alike).
    let mut expected_events: Vec<TapEvent> = events[..5].to_vec();
    expected_events[1].destination.labels = expected_events[0].destination.labels.clone();
    let mut expected = Vec::new();
    for event in &expected_events {
        linkerd_json::write_event(&mut expected, event, &|_| false).unwrap();
    }
    assert_eq!(out, String::from_utf8(expected.clone()).unwrap());
    // Reading it back and writing it again gives the same bytes.
    let (format, _, loaded) = replayed(&path).await;
    assert_eq!(format, ReplayFormat::LinkerdJson);
    let mut again = Vec::new();
    for event in &loaded.events {
        linkerd_json::write_event(&mut again, event, &|_| false).unwrap();
    }
    assert_eq!(again, expected);
}
