//! Views that follow a request in flight: the explain view and the request detail open on a
//! request that has not ended yet say so, are brought up to date as its events arrive
//! (response headers, end, trailers, expiry), and say when it finished. One mechanism for both.

use super::state::AppState;
use crate::model::request::Request;

/// Where a followed request is, as its view says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Finished (or expired) before the view opened: nothing to follow.
    Done,
    /// Still in flight: the view is told again as its events arrive.
    InFlight,
    /// It finished while the view was open.
    FinishedWhileOpen,
    /// No end arrived in time ([`crate::model::store::OPEN_REQUEST_TTL`]) while it was open: a
    /// request the client's proxy cancelled (a route timeout) is never ended in tap.
    ExpiredWhileOpen,
}

impl Progress {
    /// A view opening on `request` (`None`: no longer held).
    pub fn of(request: Option<&Request>) -> Self {
        if request.is_some_and(Request::is_open) {
            Progress::InFlight
        } else {
            Progress::Done
        }
    }

    /// `request` changed: whether a view in this state follows it (it was in flight), moving
    /// on to [`Progress::FinishedWhileOpen`] when it no longer is.
    pub fn follow(&mut self, request: &Request) -> bool {
        if *self != Progress::InFlight {
            return false;
        }
        if request.expired {
            *self = Progress::ExpiredWhileOpen;
        } else if !request.is_open() {
            *self = Progress::FinishedWhileOpen;
        }
        true
    }

    /// Said in the view's title, after its name.
    pub fn label(self) -> &'static str {
        match self {
            Progress::Done => "",
            Progress::InFlight => " · in flight, following",
            Progress::FinishedWhileOpen => " · finished",
            Progress::ExpiredWhileOpen => " · expired, no end arrived",
        }
    }
}

impl AppState {
    /// Request `seq` changed: the views following it in flight say again what they know.
    pub(super) fn follow_request(&mut self, seq: u64) {
        let Some(request) = self.store.get(seq) else {
            return;
        };
        if let Some(open) = self.overlays.explain_mut()
            && open.seq == seq
            && open.progress.follow(request)
        {
            open.statements = super::denials::statements(&self.denials, request);
        }
        if let Some(open) = self.overlays.detail_mut()
            && open.seq == seq
        {
            open.follow(request);
        }
    }
}
