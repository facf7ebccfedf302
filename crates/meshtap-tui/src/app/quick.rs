//! Quick filters: one key turns what is under the cursor (a request's namespace, deployment, path,
//! status or edge; an identities node) into a filter clause and narrows the requests with it.

use chrono::{DateTime, Utc};

use super::action::{Pane, QuickField};
use super::identities::SelectedNode;
use super::prompt::remember;
use super::state::{AppState, Level};
use crate::model::event::{Direction, Endpoint};
use crate::model::identities::WorkloadId;
use crate::model::request::workload;

impl AppState {
    pub(super) fn quick_filter(&mut self, field: QuickField, now: DateTime<Utc>) {
        let clause = match self.pane {
            Pane::Identities => match self.identity_clause() {
                Ok(clause) => clause,
                Err(why) => return self.notify(Level::Warning, why, now),
            },
            Pane::Map => match self.map_clause() {
                Ok(clause) => clause,
                Err(why) => return self.notify(Level::Warning, why, now),
            },
            Pane::Requests | Pane::Routes => match self.request_clause(field) {
                Ok(clause) => clause,
                Err(why) => return self.notify(Level::Warning, why, now),
            },
        };
        // Narrow what is shown: the stats panes count the filtered requests too, so the node the
        // user picked is still there, now alone.
        let text = match &self.filter {
            Some(f) => format!("({}) and {clause}", f.text),
            None => clause,
        };
        remember(&mut self.filter_history, &text);
        self.apply_filter(&text, now);
        if super::map::shows_requests_after_quick_filter(self.pane) {
            // The point of filtering on an edge is to see its requests.
            self.pane = Pane::Requests;
        }
    }

    fn request_clause(&self, field: QuickField) -> Result<String, &'static str> {
        let request = self
            .view
            .selected
            .and_then(|s| self.store.get(s))
            .ok_or("no request selected")?;
        // The destination names the workload being called; fall back to the caller.
        let workload = workload(&request.destination).or_else(|| workload(&request.source));
        let clause = match field {
            QuickField::Namespace => workload.map(|(ns, _, _)| format!("ns={}", quote(ns))),
            QuickField::Deployment => workload
                .filter(|(_, kind, _)| *kind == "deploy")
                .map(|(_, _, name)| format!("deploy={}", quote(name))),
            QuickField::Path => request
                .init
                .as_ref()
                .map(|_| format!("path={}", quote(request.path()))),
            QuickField::Status => request.http_status().map(|s| format!("status={s}")),
            QuickField::Edge => edge_clause(
                endpoint_term(&request.source),
                endpoint_term(&request.destination),
                request.direction(),
            ),
        };
        clause.ok_or("the selected request has no such field")
    }

    fn identity_clause(&self) -> Result<String, &'static str> {
        let node = self
            .identities_view
            .selected_node(&self.identities)
            .ok_or("nothing selected")?;
        let clause = match node {
            SelectedNode::Namespace(ns) => Some(format!("ns={}", quote(ns))),
            // What the tree counts under a workload: what its own proxy reported, both ways.
            SelectedNode::Workload(id) => workload_term(id)
                .map(|w| format!("((src={w} and dir=out) or (dst={w} and dir=in))")),
            SelectedNode::Edge(edge) => {
                let (client, server) = edge.key.client_server();
                edge_clause(
                    workload_term(client),
                    workload_term(server),
                    edge.key.direction,
                )
            }
        };
        clause.ok_or("this node names no workload or address to filter on")
    }
}

/// `src=… dst=… dir=…`, with whichever ends are known (at least one).
fn edge_clause(src: Option<String>, dst: Option<String>, direction: Direction) -> Option<String> {
    if src.is_none() && dst.is_none() {
        return None;
    }
    let mut terms = Vec::new();
    terms.extend(src.map(|s| format!("src={s}")));
    terms.extend(dst.map(|d| format!("dst={d}")));
    // Both proxies report a meshed call; the direction picks the one the user is looking at.
    if direction != Direction::Unknown {
        terms.push(format!("dir={}", direction.short()));
    }
    Some(terms.join(" and "))
}

/// An endpoint as `src`/`dst` match it: `ns/name` of its workload, else its IP.
fn endpoint_term(endpoint: &Endpoint) -> Option<String> {
    match workload(endpoint) {
        Some(("", kind, name)) => Some(quote(&format!("{kind}/{name}"))),
        Some((ns, _, name)) => Some(quote(&format!("{ns}/{name}"))),
        None => endpoint.addr.map(|a| a.ip().to_string()),
    }
}

/// A workload of the identities table (`kind/name` or an IP, in a namespace) as `src`/`dst`
/// match it.
pub(super) fn workload_term(id: &WorkloadId) -> Option<String> {
    match id.name.split_once('/') {
        Some((_, name)) if !id.namespace.is_empty() => {
            Some(quote(&format!("{}/{name}", id.namespace)))
        }
        Some(_) => Some(quote(&id.name)),
        // An address: the identities table writes `?` when it had none either.
        None if !id.name.is_empty() && id.name.as_ref() != "?" => Some(quote(&id.name)),
        None => None,
    }
}

/// Quotes a filter value unless it is a plain word.
pub(super) fn quote(value: &str) -> String {
    if !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:".contains(c))
    {
        value.to_owned()
    } else {
        format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
    }
}
