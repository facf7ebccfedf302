//! What replay makes of damaged, foreign and raw input, and its pacing.

use super::*;

#[tokio::test]
async fn malformed_lines_are_reported_with_their_number_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let original = demo_store();
    let path = dir.path().join("capture.ndjson");
    write(&path, &original, ExportFormat::Ndjson, true).unwrap();
    let mut lines: Vec<String> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    lines[2] = "{not json".into();
    lines[4] = lines[4].replace("\"started\":\"", "\"started\":\"yesterday");
    let broken = dir.path().join("broken.ndjson");
    std::fs::write(&broken, lines.join("\n")).unwrap();
    let loaded = tokio::time::timeout(TEST_TIMEOUT, async {
        play_all(replay::open(&broken).await.unwrap()).await
    })
    .await
    .unwrap();
    assert_eq!(loaded.skipped, 2);
    let warnings = loaded.warnings;
    let store = store_of(loaded.events);
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings[0].starts_with("line 3: "), "{warnings:?}");
    assert!(warnings[1].starts_with("line 5: bad time"), "{warnings:?}");
    assert_eq!(store.len(), original.len() - 2);

    // Linkerd's format: a broken object is skipped and the next one found again.
    let json = dir.path().join("capture.json");
    write(&json, &original, ExportFormat::LinkerdJson, true).unwrap();
    let text = std::fs::read_to_string(&json).unwrap();
    let second = text.match_indices("\n{").next().unwrap().0 + 1;
    let line = text[..second].lines().count() + 1;
    let broken = format!(
        "{}{{ \"source\": oops\n{}",
        &text[..second],
        &text[second + 1..]
    );
    let broken_path = dir.path().join("broken.json");
    std::fs::write(&broken_path, broken).unwrap();
    let (_, _, loaded) = replayed(&broken_path).await;
    assert_eq!(loaded.skipped, 1);
    assert!(
        loaded.warnings[0].starts_with(&format!("line {line}: ")),
        "{:?}",
        loaded.warnings
    );
    let total = text.matches("\n{").count() + 1;
    assert_eq!(loaded.events.len(), total - 1);
}

#[tokio::test]
async fn empty_unreadable_and_foreign_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "").unwrap();
    let blank = dir.path().join("blank");
    std::fs::write(&blank, "\n  \n").unwrap();
    let foreign = dir.path().join("foreign");
    std::fs::write(&foreign, "hello, world\n").unwrap();
    let useless = dir.path().join("useless.ndjson");
    std::fs::write(&useless, "{\"phase\": 1}\n{nope\n").unwrap();
    for path in [&empty, &blank] {
        let err = replay::open(path).await.unwrap_err();
        assert!(matches!(err, ReplayError::Empty { .. }), "{err}");
        assert!(err.to_string().contains("is empty"), "{err}");
    }
    let err = replay::open(&dir.path().join("nope")).await.unwrap_err();
    assert!(matches!(err, ReplayError::Read { .. }), "{err}");
    let err = replay::open(&foreign).await.unwrap_err();
    assert!(matches!(err, ReplayError::UnknownFormat { .. }), "{err}");
    let err = replay::open(&useless).await.unwrap_err();
    assert!(
        matches!(err, ReplayError::NothingLoaded { skipped: 2, .. }),
        "{err}"
    );
}

#[tokio::test]
async fn raw_frames_and_headerless_ndjson_replay_too() {
    let dir = tempfile::tempdir().unwrap();
    let frames = dir.path().join("tap.bin");
    std::fs::write(&frames, framed(&golden_events())).unwrap();
    let (format, store, loaded) = replayed(&frames).await;
    assert_eq!(format, ReplayFormat::Framed);
    assert_eq!(loaded.events.len(), 6);
    let text: String = loaded
        .events
        .iter()
        .map(|e| meshtap::export::text::line(e, false) + "\n")
        .collect();
    assert_eq!(text, GOLDEN_TEXT);
    assert_eq!(store.len(), 2);

    // `meshtap tap -o ndjson` writes records without a header line.
    let original = demo_store();
    let mut out = Vec::new();
    for request in original.requests() {
        ndjson::write_request(&mut out, request, &Redactor::new(false, Vec::new())).unwrap();
    }
    let path = dir.path().join("headless.ndjson");
    std::fs::write(&path, out).unwrap();
    let (format, store, loaded) = replayed(&path).await;
    assert_eq!(format, ReplayFormat::Ndjson);
    assert!(loaded.capture.is_none());
    assert_eq!(projection(&store, true), projection(&original, true));
}

#[tokio::test]
async fn a_speed_factor_reproduces_the_gaps() {
    let dir = tempfile::tempdir().unwrap();
    let store = demo_store();
    let path = dir.path().join("capture.ndjson");
    export(
        &path,
        store.requests().iter().take(20),
        &header(),
        &options(ExportFormat::Ndjson, true),
    )
    .unwrap();
    let (_, _, loaded) = replayed(&path).await;
    let first = loaded.events.first().unwrap().arrived;
    let last = loaded.events.last().unwrap().arrived;
    let opened = replay::open(&path).await.unwrap();
    let span = (last - first).to_std().unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
    let started = std::time::Instant::now();
    let player = tokio::spawn(replay::play(opened, Speed::Factor(4.0), tx));
    while tokio::time::timeout(TEST_TIMEOUT, rx.recv())
        .await
        .unwrap()
        .is_some()
    {}
    let elapsed = started.elapsed();
    assert!(elapsed >= span / 4, "{elapsed:?} < {span:?} / 4");
    assert!(elapsed < span / 4 + Duration::from_secs(5), "{elapsed:?}");
    assert!(player.await.unwrap().events > 0);
}

/// A small HAR cut short (under the 1 MiB head, so the whole file is read before deciding) is
/// still a HAR: the entries before the cut replay and the error says where it broke off.
#[tokio::test]
async fn a_small_har_cut_short_replays_up_to_the_cut() {
    let dir = tempfile::tempdir().unwrap();
    let original = store_of(model_events(meshtap::demo::sim::generate(7, 200)));
    let path = dir.path().join("capture.har");
    write(&path, &original, ExportFormat::Har, true).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert!(bytes.len() < 1024 * 1024, "{} bytes", bytes.len());
    let cut = dir.path().join("cut.har");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let opened = replay::open(&cut).await.unwrap();
    assert_eq!(opened.format, ReplayFormat::Har);
    let loaded = play_all(opened).await;
    let delivered = store_of(loaded.events.clone()).len();
    assert!(
        delivered > 0 && delivered < original.len(),
        "{delivered} of {}",
        original.len()
    );
    let said = loaded.warnings.join("\n");
    assert!(said.contains("breaks off"), "{said}");
}
