//! Writing files safely: redaction, no clobbering, nothing left behind on failure.

use super::*;

#[tokio::test]
async fn sensitive_headers_are_redacted_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    let original = demo_store();
    let secrets: Vec<String> = original
        .requests()
        .iter()
        .flat_map(|r| {
            let request = r.init.iter().flat_map(|i| i.headers.iter());
            let response = r.response.iter().flat_map(|i| i.headers.iter());
            request.chain(response).collect::<Vec<_>>()
        })
        .filter(|h| ["authorization", "cookie", "set-cookie"].contains(&h.name))
        .filter_map(|h| match h.value {
            meshtap::model::event::HeaderValue::Str(s) => Some(s.to_string()),
            meshtap::model::event::HeaderValue::Bin(_) => None,
        })
        .collect();
    assert!(
        secrets.len() > 10,
        "the demo sends credentials: {}",
        secrets.len()
    );
    for format in FORMATS {
        for redact in [true, false] {
            let path = dir.path().join(format!("{}-{redact}", format.name()));
            write(&path, &original, format, redact).unwrap();
            let text = std::fs::read_to_string(&path).unwrap();
            let leaked = secrets.iter().filter(|s| text.contains(s.as_str())).count();
            if redact {
                assert_eq!(leaked, 0, "{format:?} leaks credentials");
                // Linkerd's JSON escapes `<` and `>` as Go does.
                let marker = match format {
                    ExportFormat::LinkerdJson => "\\u003credacted\\u003e",
                    _ => "<redacted>",
                };
                assert!(text.contains(marker), "{format:?}");
            } else {
                assert_eq!(leaked, secrets.len(), "{format:?} --no-redact keeps them");
            }
        }
    }
}

#[test]
fn an_existing_file_is_never_overwritten_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("capture.ndjson");
    std::fs::write(&path, "precious\n").unwrap();
    let store = store_of(model_events(golden_events()));
    let err = write(&path, &store, ExportFormat::Ndjson, true).unwrap_err();
    assert!(matches!(err, ExportError::Exists { .. }), "{err}");
    assert!(err.to_string().contains("--force"), "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "precious\n");
    let mut forced = options(ExportFormat::Ndjson, true);
    forced.force = true;
    let report = export(&path, store.requests(), &header(), &forced).unwrap();
    assert_eq!(report.written, store.len());
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .starts_with("{\"meshtap_capture\"")
    );
    // Only the export itself is left in the directory: no temporary files.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

/// The tests run as root, which ignores directory permissions, so an unwritable place is made
/// with a missing directory and with a parent that is a regular file.
#[test]
fn a_failed_export_leaves_nothing_and_the_capture_intact() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_of(model_events(golden_events()));
    let before = store.len();
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, "").unwrap();
    for format in FORMATS {
        let missing = dir.path().join("missing").join("out");
        let err = write(&missing, &store, format, true).unwrap_err();
        assert!(matches!(err, ExportError::NoDirectory { .. }), "{err}");
        assert!(err.to_string().contains("does not exist"), "{err}");
        let under_file = blocker.join("out");
        let err = write(&under_file, &store, format, true).unwrap_err();
        assert!(matches!(err, ExportError::NotADirectory { .. }), "{err}");
        let err = write(dir.path(), &store, format, true).unwrap_err();
        assert!(matches!(err, ExportError::IsDirectory { .. }), "{err}");
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "nothing left behind"
    );
    // The capture is untouched and the user can retry elsewhere.
    assert_eq!(store.len(), before);
    let retry = dir.path().join("retry.ndjson");
    let report = write(&retry, &store, ExportFormat::Ndjson, true).unwrap();
    assert_eq!(report.written, before);
}
