//! Events for tests of the store and of the layers above it.

use chrono::{DateTime, Utc};

use crate::model::event::{Direction, Endpoint, HttpEvent, Labels, TapEvent};

/// An outbound event from 10.0.0.1:4000 (shared with the pipeline's tests).
pub fn event(http: HttpEvent, arrived: DateTime<Utc>) -> TapEvent {
    TapEvent {
        cluster: None,
        arrived,
        source: Endpoint {
            addr: Some("10.0.0.1:4000".parse().expect("addr")),
            labels: Labels::default(),
        },
        destination: Endpoint::default(),
        direction: Direction::Outbound,
        route: Labels::default(),
        http: Some(http),
    }
}
