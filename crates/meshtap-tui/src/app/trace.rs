//! The trace view state (`t`): every captured request of the selected request's trace, in time
//! order, gathered once when opened (`t` again gathers anew). The waterfall (`crate::ui::trace`)
//! draws it.

use super::action::{Action, Pane};
use super::detail::DetailState;
use super::overlay::{Layer, Overlay};
use super::state::{AppState, Level};
use crate::model::request::Request;
use crate::model::store::Store;
use crate::trace::{TraceId, trace_id};

/// Requests a trace view holds; a trace with more shows its first ones and counts the rest.
pub const TRACE_VIEW_MAX_REQUESTS: usize = 200;

/// An open trace view.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceState {
    pub trace_id: TraceId,
    /// The request it was opened from.
    pub anchor: u64,
    /// The trace's requests, oldest first (copies: the view stays whole while the ring turns).
    pub requests: Vec<Request>,
    /// Requests of the trace beyond [`TRACE_VIEW_MAX_REQUESTS`].
    pub more: usize,
    /// The highlighted row (an index into `requests`): j/k move it, Enter opens its detail.
    pub selected: usize,
}

impl TraceState {
    /// The trace of the request `anchor`, gathered from `store`; `None` when that request
    /// carries no trace header.
    pub fn gather(store: &Store, anchor: u64) -> Option<Self> {
        let wanted = trace_id(store.get(anchor)?)?;
        let mut requests: Vec<Request> = Vec::new();
        let mut more = 0;
        for request in store.requests() {
            if trace_id(request) == Some(wanted) {
                if requests.len() < TRACE_VIEW_MAX_REQUESTS {
                    requests.push(request.clone());
                } else {
                    more += 1;
                }
            }
        }
        requests.sort_by_key(|r| (r.started, r.seq));
        let selected = requests.iter().position(|r| r.seq == anchor).unwrap_or(0);
        Some(Self {
            trace_id: wanted,
            anchor,
            requests,
            more,
            selected,
        })
    }
}

impl AppState {
    /// `t`: opens (or gathers anew) the trace of the selected request, or says why not.
    pub(super) fn open_trace(&mut self, now: chrono::DateTime<chrono::Utc>) {
        let selected = self.overlays.detail().map(|d| d.seq).or(self.view.selected);
        let Some(seq) = selected else {
            return self.notify(Level::Info, "select a request first".to_owned(), now);
        };
        match TraceState::gather(&self.store, seq) {
            Some(trace) => self.overlays.open(Overlay::Trace(trace)),
            None => self.notify(
                Level::Info,
                "no trace header (traceparent, b3, x-b3-traceid, grpc-trace-bin) on this request"
                    .to_owned(),
                now,
            ),
        }
    }
}

impl AppState {
    /// Keys while the waterfall is open (the `trace` keymap context): move the highlight, Enter
    /// opens the highlighted request's detail, Esc closes. Returns whether the action was the
    /// waterfall's; others act as usual.
    pub(super) fn trace_action(&mut self, action: &Action) -> bool {
        let Some(trace) = self.overlays.trace_mut() else {
            return false;
        };
        let last = trace.requests.len().saturating_sub(1);
        if action.move_in_list(&mut trace.selected, last) {
            return true;
        }
        match action {
            Action::Back => {
                self.overlays.close(Layer::Trace);
            }
            Action::Open => {
                let seq = trace.requests.get(trace.selected).map(|r| r.seq);
                self.overlays.close(Layer::Trace);
                if let Some(seq) = seq {
                    self.pane = Pane::Requests;
                    // Selected in the list when it is listed; the detail opens either way.
                    self.view.select_seq(&self.store, seq);
                    let detail = DetailState::new(seq, self.store.get(seq));
                    self.overlays.open(Overlay::Detail(detail));
                }
            }
            _ => return false,
        }
        true
    }
}
