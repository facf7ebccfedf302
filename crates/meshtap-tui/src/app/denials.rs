//! The proxies' refusal counters in the UI: the latest reading of each cluster
//! (`SourceMsg::Denials`), which explain reads for a bare 403 and which flags the identities
//! pane's pairs. A new reading re-renders an open explain view: what it says may have changed
//! from "the next reading will say" to what the proxy counted.

use super::state::AppState;
use crate::explain::{Statement, explain_with};
use crate::model::request::Request;
use crate::routestats::{DenialsReading, Readings};

/// What explain says about `request`, with the counters once a first reading arrived.
pub(super) fn statements(denials: &Readings, request: &Request) -> Vec<Statement> {
    explain_with(request, denials.for_request(request))
}

impl AppState {
    /// A reading arrived: kept, and an open explain view says again what it knows.
    pub(super) fn on_denials(&mut self, reading: DenialsReading) {
        self.denials.update(reading);
        let Some(seq) = self.overlays.explain().map(|open| open.seq) else {
            return;
        };
        let Some(request) = self.store.get(seq) else {
            return;
        };
        let fresh = statements(&self.denials, request);
        if let Some(open) = self.overlays.explain_mut() {
            open.statements = fresh;
        }
    }
}
