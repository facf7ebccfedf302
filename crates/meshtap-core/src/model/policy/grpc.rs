//! `GRPCRoute` matches (`grpc_route.proto`): service and method of `/service/method`, and
//! headers, ranked as linkerd2-proxy ranks them.

use super::http::{HeaderMatch, Verdict, headers_hold};
use super::select::RequestLine;
use crate::model::event::Text;

/// One `GRPCRouteMatch`; an absent service or method matches any.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GrpcMatch {
    pub service: Option<Text>,
    pub method: Option<Text>,
    pub headers: Vec<HeaderMatch>,
}

/// How well a call meets a [`GrpcMatch`]: characters of service and method matched, then
/// headers; greater is better.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct GrpcRank {
    service: usize,
    method: usize,
    headers: usize,
}

impl GrpcRank {
    /// A rule without matches applies to every call.
    pub(super) const IMPLICIT: Self = Self {
        service: 0,
        method: 0,
        headers: 0,
    };
}

impl GrpcMatch {
    pub(super) fn rank(&self, request: &RequestLine<'_>) -> Verdict<GrpcRank> {
        // gRPC is POST only: anything else is not a call the route can match.
        if !request.method().eq_ignore_ascii_case("POST") {
            return Verdict::No;
        }
        let (path, _) = request.path_and_query();
        let mut parts = path.split('/');
        let (Some(""), Some(service), Some(method)) = (parts.next(), parts.next(), parts.next())
        else {
            return Verdict::No;
        };
        let mut rank = GrpcRank {
            headers: self.headers.len(),
            ..GrpcRank::default()
        };
        if let Some(want) = &self.service {
            if want.as_ref() != service {
                return Verdict::No;
            }
            rank.service = want.len();
        }
        if let Some(want) = &self.method {
            if want.as_ref() != method {
                return Verdict::No;
            }
            rank.method = want.len();
        }
        match headers_hold(&self.headers, request) {
            Some(true) => Verdict::Yes(rank),
            Some(false) => Verdict::No,
            None => Verdict::Unknown(rank),
        }
    }
}
