//! Tap events written back as tap API frames (the demo's server, trigger files): every simulated
//! event survives the round trip, and values not kept are replaced.

use meshtap::model::event::{HttpEvent, TapEvent};
use meshtap::source::frames::{self, ModelFrame};
use meshtap::source::wire::{Interner, frame};

#[test]
fn every_simulated_event_survives_a_round_trip() {
    let arrived = chrono::Utc::now();
    let mut interner = Interner::default();
    let events: Vec<TapEvent> = meshtap_testkit::demo_events(7, 400, arrived);
    assert!(events.len() > 100, "the simulation should give events");
    let mut bytes = Vec::new();
    for event in &events {
        frame(event, &|_| true, "", &mut bytes);
    }
    let mut decoder = frames::FrameDecoder::default();
    decoder.push(&bytes);
    let mut back = Vec::new();
    while let Some(frame) = decoder.next_frame().expect("frame") {
        match frames::decode_fast(&mut interner, &frame, arrived).expect("decode") {
            ModelFrame::Event(event) => back.push(event),
            ModelFrame::ApiError(text) => panic!("unexpected api error {text}"),
        }
    }
    assert_eq!(back, events);
}

#[test]
fn values_not_kept_are_replaced() {
    let event = meshtap_testkit::demo_events(3, 400, chrono::Utc::now())
        .into_iter()
        .find(|e| {
            matches!(&e.http, Some(HttpEvent::RequestInit(init))
                if init.headers.iter().any(|h| h.name == "authorization"))
        })
        .expect("a request with an authorization header");
    let mut bytes = Vec::new();
    frame(
        &event,
        &|name| name != "authorization",
        "<redacted>",
        &mut bytes,
    );
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains("<redacted>"));
    assert!(!text.contains("Bearer"), "{text}");
}
