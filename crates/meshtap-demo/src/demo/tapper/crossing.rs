//! The hook through which calls crossing clusters (`meshtap demo --clusters`) join one
//! cluster's simulated tap: generated outside the cluster's own traffic, admitted and sampled by
//! the reporting proxy like any other request, and encoded by their owner with the other
//! cluster's addresses and labels.

use std::collections::BTreeMap;

use bytes::BytesMut;

use crate::demo::sim::events::Phase;
use crate::demo::sim::{Call, Side};
use crate::proto::tap::tap_event::http::StreamId;

/// The crossing calls one tap of one cluster sees.
pub trait CrossFeed: Send + std::fmt::Debug {
    /// The next crossing call starting before `until` (virtual nanoseconds since this tap
    /// began), in start order, with the side this cluster's proxy reports. `call.client` is a pod
    /// of this cluster for [`Side::Outbound`], `call.server` one for [`Side::Inbound`].
    fn next_before(&mut self, until: u64) -> Option<(Call, Side)>;

    /// Appends the framed event for `phase` of the call's `side`.
    #[allow(
        clippy::too_many_arguments,
        reason = "the same pieces as the local encoder's"
    )]
    fn encode(
        &mut self,
        out: &mut BytesMut,
        call: &Call,
        side: Side,
        phase: Phase,
        id: StreamId,
        with_headers: bool,
    );

    /// The `:authority` the reporting proxy sees, for `--authority` matches.
    fn authority(&self, call: &Call, side: Side) -> String;

    /// The destination labels the reporting proxy attaches, for `--to` matches.
    fn destination_labels(&mut self, call: &Call, side: Side) -> BTreeMap<String, String>;

    /// How far this tap's virtual clock should be by now: the wall-clock time since it began.
    /// Taps of different clusters stay in step this way, so both sides of a crossing call are
    /// delivered when they happen.
    fn wall_now(&self) -> u64;
}

/// Hands each new tap of one cluster its [`CrossFeed`].
pub trait Crossing: Send + Sync + std::fmt::Debug + 'static {
    fn feed(&self) -> Box<dyn CrossFeed>;
}
