//! The trigger engine: where a window sits in time.

use chrono::{DateTime, Utc};

use super::*;
use crate::model::store::Store;

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::seconds(1_000_000 + secs)
}

/// A replay delivers a batch whose latest event is seconds after the request that matches: the
/// window must still be centred on that request, so its own file holds it.
#[test]
fn a_window_is_centred_on_the_matching_request_not_on_the_batch() {
    let mut store = Store::new(16);
    let seq = run::tests::finish(&mut store, 1, at(0), at(1), 500);
    let request = store.get(seq).expect("request");
    let trigger = Trigger::parse("status>=500").expect("trigger");
    let mut engine = Engine::new(vec![trigger], std::time::Duration::from_secs(1));
    // The session clock has already moved on to the batch's last event.
    engine.finished(request, at(5));
    assert!(
        engine.due(at(1)).is_empty(),
        "the after part has not passed"
    );
    let windows = engine.due(at(2));
    assert_eq!(windows.len(), 1, "due once the after part has passed");
    let window = &windows[0];
    assert_eq!((window.at, window.from, window.to), (at(1), at(0), at(2)));
    assert!(
        window.holds(request),
        "the matching request is in its own window"
    );
}

/// Item 8 (F3): a replay at full speed hands over many requests in one batch; a match after the
/// open window's end starts a window of its own instead of counting as a further match of one
/// that has already closed.
#[test]
fn matches_in_one_batch_past_a_window_get_their_own() {
    let mut store = Store::new(16);
    let first = run::tests::finish(&mut store, 1, at(0), at(1), 500);
    let near = run::tests::finish(&mut store, 2, at(1), at(2), 500);
    let far = run::tests::finish(&mut store, 3, at(9), at(10), 500);
    let trigger = Trigger::parse("status>=500").expect("trigger");
    let mut engine = Engine::new(vec![trigger], std::time::Duration::from_secs(1));
    for seq in [first, near, far] {
        engine.finished(store.get(seq).expect("request"), at(10));
    }
    let due = engine.due(at(10));
    assert_eq!(due.len(), 1, "{due:?}");
    assert_eq!((due[0].request, due[0].further), (first, 1));
    let rest = engine.flush();
    assert_eq!(rest.len(), 1, "{rest:?}");
    assert_eq!((rest[0].request, rest[0].at), (far, at(10)));
}
