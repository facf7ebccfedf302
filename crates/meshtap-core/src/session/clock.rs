//! Which time the model runs on. Live sources age their requests by the wall clock; a replay by
//! the capture's own time, so a capture dated a year back is not expired on arrival — in the UI
//! and headless alike.

use chrono::{DateTime, Utc};

use crate::model::event::TapEvent;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ClockKind {
    /// Now is the wall clock (live taps, the demo, a direct proxy tap).
    #[default]
    Wall,
    /// Now is the time of the latest event seen (replay).
    Event,
}

/// The session's clock: the wall clock, or the latest event time for a replay.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Clock {
    kind: ClockKind,
    latest: Option<DateTime<Utc>>,
}

impl Clock {
    pub fn new(kind: ClockKind) -> Self {
        Self { kind, latest: None }
    }

    pub fn kind(self) -> ClockKind {
        self.kind
    }

    /// Notes the events that arrived; an event clock moves on to the latest of them.
    pub fn observe(&mut self, events: &[TapEvent]) {
        if let Some(max) = events.iter().map(|e| e.arrived).max() {
            self.latest = self.latest.max(Some(max));
        }
    }

    /// The model's now, given the wall clock's. An event clock that has seen nothing yet has
    /// nothing to age, so the wall clock serves.
    pub fn now(self, wall: DateTime<Utc>) -> DateTime<Utc> {
        match (self.kind, self.latest) {
            (ClockKind::Event, Some(latest)) => latest,
            _ => wall,
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;

    fn event_at(at: DateTime<Utc>) -> TapEvent {
        TapEvent {
            cluster: None,
            arrived: at,
            source: crate::model::event::Endpoint::default(),
            destination: crate::model::event::Endpoint::default(),
            direction: crate::model::event::Direction::Inbound,
            route: crate::model::event::Labels::default(),
            http: None,
        }
    }

    #[test]
    fn an_event_clock_follows_the_latest_event_and_never_goes_back() {
        let then = Utc
            .with_ymd_and_hms(2025, 1, 1, 0, 0, 0)
            .single()
            .expect("time");
        let wall = Utc::now();
        let mut clock = Clock::new(ClockKind::Event);
        assert_eq!(clock.now(wall), wall);
        clock.observe(&[
            event_at(then),
            event_at(then + chrono::Duration::seconds(5)),
        ]);
        assert_eq!(clock.now(wall), then + chrono::Duration::seconds(5));
        clock.observe(&[event_at(then)]);
        assert_eq!(clock.now(wall), then + chrono::Duration::seconds(5));
    }

    #[test]
    fn a_wall_clock_ignores_event_times() {
        let then = Utc
            .with_ymd_and_hms(2025, 1, 1, 0, 0, 0)
            .single()
            .expect("time");
        let wall = Utc::now();
        let mut clock = Clock::new(ClockKind::Wall);
        clock.observe(&[event_at(then)]);
        assert_eq!(clock.now(wall), wall);
    }
}
