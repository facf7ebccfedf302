//! One simulated request: both halves of it (the client proxy's OUTBOUND view and the server
//! proxy's INBOUND view) on the virtual clock, and how it ended.

use super::HANG_RELEASE_NS;
use super::routes::{ROUTES, Route};
use super::routing::Routed;
use super::spans::TraceLink;
use crate::demo::mesh::PodId;

/// Which proxy reports a half of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The client pod's proxy (absent when the client is not meshed).
    Outbound,
    /// The server pod's proxy.
    Inbound,
}

/// How a request finishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A normal end of stream.
    Complete,
    /// The stream is reset with an HTTP/2 error code, before or after the response began.
    Reset { code: u32, after_response: bool },
    /// The request never ends while tapped (optionally after its response headers).
    Hang { with_response: bool },
    /// The client's proxy gave up after `after_ns` (a route's request timeout): the endpoint
    /// request is dropped, so neither proxy's tap reports a response or an end.
    Cancelled { after_ns: u64 },
}

/// One simulated request between two pods. Times are nanoseconds on the virtual clock.
#[derive(Debug, Clone, Copy)]
pub struct Call {
    /// Index in [`ROUTES`].
    pub route: usize,
    pub client: PodId,
    pub server: PodId,
    /// When the client proxy sees the request (OUTBOUND `request_init`).
    pub start: u64,
    /// Ephemeral source ports: app → client proxy, and client proxy → server proxy.
    pub out_port: u16,
    pub in_port: u16,
    /// Client proxy → server proxy delay.
    pub in_delay: u64,
    /// Server time until response headers, and then until the end of the body.
    pub server_ns: u64,
    pub body_ns: u64,
    /// Server proxy → client proxy delay on the way back.
    pub hop_ns: u64,
    pub http_status: u32,
    /// The `grpc-status` trailer for gRPC routes.
    pub grpc_status: Option<u32>,
    pub outcome: Outcome,
    pub bytes: u64,
    /// Drives request ids, path parameters and tokens so they are seeded too.
    pub token: u64,
    /// For a call crossing clusters (`demo --clusters`), the index of the other cluster.
    pub peer: Option<u8>,
    /// The trace it belongs to: the client joins the trace of the request it is serving.
    pub trace: TraceLink,
    /// What the proxies' routing and policy did with it.
    pub routed: Routed,
}

/// A half of a call as one proxy sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeline {
    /// Absolute time of `request_init`.
    pub request_at: u64,
    /// `since_request_init` of `response_init`, if there is a response.
    pub response: Option<u64>,
    /// `since_request_init` of `response_end`, if the request ends.
    pub end: Option<u64>,
    /// Absolute time after which the proxy no longer holds the request (it ended or was dropped).
    pub release_at: u64,
}

impl Call {
    pub fn route(&self) -> &'static Route {
        &ROUTES[self.route]
    }

    /// The OUTBOUND or INBOUND view of this call.
    pub fn timeline(&self, side: Side) -> Timeline {
        // The outbound proxy waits for the trip to the server and back on top of the server time.
        let (request_at, extra) = match side {
            Side::Inbound => (self.start + self.in_delay, 0),
            Side::Outbound => (self.start, self.in_delay + self.hop_ns),
        };
        let headers = self.server_ns + extra;
        let full = headers + self.body_ns;
        let (response, end) = match self.outcome {
            Outcome::Complete => (Some(headers), Some(full)),
            Outcome::Reset {
                after_response: true,
                ..
            } => (Some(headers), Some(headers + self.body_ns / 2)),
            Outcome::Reset {
                after_response: false,
                ..
            } => (None, Some(headers)),
            Outcome::Hang { with_response } => (with_response.then_some(headers), None),
            Outcome::Cancelled { .. } => (None, None),
        };
        let held = match self.outcome {
            // Both proxies drop it when the client's gives up (the reset's trip ignored), so
            // the server's side stays inside the client's.
            Outcome::Cancelled { after_ns } => after_ns.saturating_sub(request_at - self.start),
            _ => end.unwrap_or(HANG_RELEASE_NS),
        };
        let release_at = request_at + held;
        Timeline {
            request_at,
            response,
            end,
            release_at,
        }
    }

    /// When the client's proxy is done with it, since it started: its end, or the moment its
    /// proxy gave up; `None` for a request that never ends.
    pub fn finished_after(&self) -> Option<u64> {
        match self.outcome {
            Outcome::Cancelled { after_ns } => Some(after_ns),
            _ => self.timeline(Side::Outbound).end,
        }
    }
}
