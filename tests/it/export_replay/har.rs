//! HAR: its `_meshtap` block, the former layout, and an independent reader.

use super::*;

/// A HAR entry's `_meshtap` is the request's NDJSON record (one type) with its number, but for
/// the header lists, which HAR holds in its own `request.headers` and `response.headers`.
#[test]
fn har_meshtap_is_the_ndjson_record_without_its_header_lists() {
    let original = demo_store();
    let redactor = Redactor::new(true, Vec::new());
    for request in original.requests() {
        let entry = serde_json::to_value(meshtap::export::har::entry(request, &redactor)).unwrap();
        let mut meshtap = entry["_meshtap"].clone();
        let fields = meshtap.as_object_mut().unwrap();
        assert_eq!(fields.remove("seq"), Some(serde_json::json!(request.seq)));
        let mut line = Vec::new();
        ndjson::write_request(&mut line, request, &redactor).unwrap();
        let mut record: serde_json::Value = serde_json::from_slice(&line).unwrap();
        let record_fields = record.as_object_mut().unwrap();
        for (list, har_list) in [
            ("request_headers", &entry["request"]["headers"]),
            ("response_headers", &entry["response"]["headers"]),
        ] {
            let headers = record_fields.remove(list).unwrap();
            let names = |v: &serde_json::Value| -> Vec<serde_json::Value> {
                v.as_array()
                    .unwrap()
                    .iter()
                    .map(|h| h["name"].clone())
                    .collect()
            };
            assert_eq!(names(&headers), names(har_list), "{list}");
        }
        assert_eq!(meshtap, record, "request {}", request.seq);
    }
}

/// A HAR file written before `_meshtap` held the whole record (no `v`, no `started`) replays as
/// it did: the start comes from the entry's `startedDateTime`.
#[tokio::test]
async fn a_har_meshtap_block_of_the_former_layout_still_replays() {
    let dir = tempfile::tempdir().unwrap();
    let original = demo_store();
    let path = dir.path().join("capture.har");
    write(&path, &original, ExportFormat::Har, true).unwrap();
    let mut document: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    for entry in document["log"]["entries"].as_array_mut().unwrap() {
        let fields = entry["_meshtap"].as_object_mut().unwrap();
        assert!(fields.remove("v").is_some() && fields.remove("started").is_some());
    }
    let former = dir.path().join("former.har");
    std::fs::write(&former, serde_json::to_vec(&document).unwrap()).unwrap();
    let (_, _, now) = replayed(&path).await;
    let (format, _, then) = replayed(&former).await;
    assert_eq!(format, ReplayFormat::Har);
    assert!(then.warnings.is_empty(), "{:?}", then.warnings);
    assert_eq!(then.events.len(), now.events.len());
    assert_eq!(then.events, now.events);
}

#[tokio::test]
async fn har_export_is_read_by_an_independent_har_reader() {
    let dir = tempfile::tempdir().unwrap();
    let original = demo_store();
    let path = dir.path().join("capture.har");
    write(&path, &original, ExportFormat::Har, true).unwrap();
    let parsed = ::har::from_path(&path).unwrap();
    let ::har::Spec::V1_2(log) = parsed.log else {
        panic!("not HAR 1.2");
    };
    assert_eq!(log.creator.name, "meshtap");
    assert_eq!(log.creator.version, env!("CARGO_PKG_VERSION"));
    assert_eq!(log.entries.len(), original.len());
    for (entry, request) in log.entries.iter().zip(original.requests()) {
        if request.init.is_some() {
            assert_eq!(entry.request.method, request.method());
            assert!(
                entry.request.url.ends_with(request.path()),
                "{}",
                entry.request.url
            );
            assert!(entry.request.url.contains(request.authority()));
        }
        assert_eq!(
            entry.response.status,
            i64::from(request.http_status().unwrap_or(0))
        );
        let wait_ns = (entry.timings.wait * 1e6).round() as u128;
        let latency_ns = request.latency().map_or(0, |l| l.as_nanos());
        assert!(
            wait_ns.abs_diff(latency_ns) < 1000,
            "{wait_ns} {latency_ns}"
        );
        assert!(entry.time >= 0.0 && entry.timings.receive >= 0.0);
        assert!(entry.started_date_time.starts_with("2025-03-01T12:"));
        assert_eq!(entry.request.headers_size, -1);
    }
}
