//! Turns joined requests back into the tap events they were joined from, for exports in
//! Linkerd's event format.
//!
//! A `Request` keeps the endpoints and route labels of its first event only, so every rebuilt
//! event carries those: real proxies attach the same metadata to all three events of a stream.
//! The store does not keep when the response headers arrived, so a response-init event is dated
//! `started + latency`, which is when the proxy saw it.

use chrono::{DateTime, Utc};

use crate::capture::response_arrived;
use crate::model::event::{HttpEvent, TapEvent};
use crate::model::request::Request;

/// The events of one request in the order the proxy sent them: request init, response init and
/// response end, each only when it was seen.
pub fn events_of(request: &Request) -> Vec<TapEvent> {
    let mut events = Vec::with_capacity(3);
    let event = |http: HttpEvent, arrived: DateTime<Utc>| TapEvent {
        cluster: None,
        arrived,
        source: request.source.clone(),
        destination: request.destination.clone(),
        direction: request.direction(),
        route: request.route.clone(),
        http: Some(http),
    };
    if let Some(init) = &request.init {
        events.push(event(HttpEvent::RequestInit(init.clone()), request.started));
    }
    if let Some(response) = &request.response {
        let arrived = response_arrived(
            request.started,
            response.since_request_init,
            request.init.is_some(),
            request.ended_at,
        );
        events.push(event(HttpEvent::ResponseInit(response.clone()), arrived));
    }
    if let Some(end) = &request.end {
        let arrived = request.ended_at.unwrap_or(request.started);
        events.push(event(HttpEvent::ResponseEnd(end.clone()), arrived));
    }
    events
}

/// Every event of `requests`, ordered by arrival (stable, so one request's events keep their
/// order when they share a timestamp): the stream as Linkerd would have printed it.
pub fn stream_of<'a>(requests: impl IntoIterator<Item = &'a Request>) -> Vec<TapEvent> {
    let mut events: Vec<TapEvent> = requests.into_iter().flat_map(events_of).collect();
    events.sort_by_key(|e| e.arrived);
    events
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::model::event::{
        Direction, Endpoint, Headers, Labels, RequestInit, ResponseEnd, ResponseInit, StreamId,
    };
    use crate::model::store::Store;

    fn at(ms: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::milliseconds(ms)
    }

    fn tap(http: HttpEvent, arrived: DateTime<Utc>) -> TapEvent {
        TapEvent {
            cluster: None,
            arrived,
            source: Endpoint {
                addr: Some("10.0.0.1:4000".parse().expect("addr")),
                labels: [("deployment", "web")].into_iter().collect(),
            },
            destination: Endpoint::default(),
            direction: Direction::Outbound,
            route: Labels::default(),
            http: Some(http),
        }
    }

    #[test]
    fn a_joined_request_splits_back_into_its_events() {
        let id = StreamId { base: 1, stream: 2 };
        let original = vec![
            tap(
                HttpEvent::RequestInit(RequestInit {
                    id,
                    method: Some("GET".into()),
                    scheme: None,
                    authority: "web".into(),
                    path: "/".into(),
                    headers: Headers::default(),
                    matched_route: None,
                }),
                at(0),
            ),
            tap(
                HttpEvent::ResponseInit(ResponseInit {
                    id,
                    since_request_init: Some(Duration::from_millis(5)),
                    http_status: 200,
                    headers: Headers::default(),
                }),
                at(5),
            ),
            tap(
                HttpEvent::ResponseEnd(ResponseEnd {
                    id,
                    since_request_init: Some(Duration::from_millis(7)),
                    since_response_init: Some(Duration::from_millis(2)),
                    response_bytes: 9,
                    eos: None,
                    trailers: Headers::default(),
                }),
                at(7),
            ),
        ];
        let mut store = Store::new(10);
        for event in original.clone() {
            store.ingest(event);
        }
        let request = store.get(0).expect("request");
        assert_eq!(events_of(request), original);
    }
}
